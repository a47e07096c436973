//! The composer: the message box, the model picker, attachments and documents, knowledge, and
//! Send or Stop.

use leptos::{prelude::*, task::spawn_local};
use leptos_router::{NavigateOptions, hooks::use_navigate};

use super::{
    api::{send_message, stop_reply},
    state::{Chat, Turns, show_problem},
    types::{MessageView, ModelOption},
};
#[cfg(feature = "hydrate")]
use crate::error::AppError;
use crate::ui::browser;
use crate::ui::upload::Uploader;

/// Uploads the files chosen in a file input to `endpoint`, one request each, and lists them
/// as attached (with the server's note, if any).
pub(super) fn upload_files(
    ev: &leptos::ev::Event,
    endpoint: &'static str,
    attached: RwSignal<Vec<(String, String)>>,
    uploading: RwSignal<usize>,
    chat: Chat,
    uploader: Uploader,
) {
    #[cfg(feature = "hydrate")]
    {
        use super::types::Uploaded;
        for file in crate::ui::upload::take_files(ev) {
            let name = file.name();
            uploading.update(|n| *n += 1);
            let done = move |answer: Result<String, String>| {
                uploading.update(|n| *n -= 1);
                let uploaded = answer.and_then(|body| {
                    crate::wire::parse::<Uploaded>(&body).map_err(|err| err.to_string())
                });
                match uploaded {
                    Ok(uploaded) => {
                        let shown = match uploaded.note {
                            Some(note) => format!("{name} ({note})"),
                            None => name,
                        };
                        attached.update(|a| a.push((uploaded.id, shown)));
                    }
                    Err(reason) => show_problem(chat, AppError::Invalid(reason)),
                }
            };
            let to = crate::ui::upload::Destination::route(endpoint, &file.name());
            uploader.send(to, file, |_| {}, done);
        }
    }
    #[cfg(not(feature = "hydrate"))]
    let _ = (ev, endpoint, attached, uploading, chat, uploader);
}

/// Files uploaded for the next message, each with a button that takes it off again.
#[component]
pub(super) fn Attachments(
    label: &'static str,
    files: RwSignal<Vec<(String, String)>>,
) -> impl IntoView {
    view! {
        <ul class="attachments" aria-label=label>
            <For
                each=move || files.get()
                key=|(id, _)| id.clone()
                children=move |(id, name)| {
                    view! {
                        <li>
                            {name.clone()}
                            <button
                                type="button"
                                class="icon-button"
                                on:click=move |_| {
                                    files.update(|f| f.retain(|(other, _)| *other != id))
                                }
                            >
                                <span aria-hidden="true">"✕"</span>
                                <span class="visually-hidden">{format!("Remove {name}")}</span>
                            </button>
                        </li>
                    }
                }
            />
        </ul>
    }
}

#[component]
pub(super) fn Composer(
    conversation_id: Option<String>,
    turns: Option<Turns>,
    models: Vec<ModelOption>,
) -> impl IntoView {
    let chat = expect_context::<Chat>();
    let navigate = use_navigate();
    // What was typed before the page became interactive is kept.
    let text = RwSignal::new(browser::typed_before_hydration("composer-text"));
    let text_box = NodeRef::<leptos::html::Textarea>::new();
    // On a touch keyboard Enter starts a new line and the Send button sends.
    let touch = RwSignal::new(false);
    Effect::new(move |_| {
        touch.set(browser::is_touch_screen());
        // Where a keyboard is the way in, the message box is ready to type into, on opening
        // the page and after each send that opens a conversation (on a touch screen that would
        // pop the keyboard up unasked), unless the person has already moved the focus
        // elsewhere (a menu opened while the page was loading keeps it).
        if !touch.get_untracked() && text_box.get().is_some() {
            // A composer drawn while the page changes is in the document from the next frame.
            request_animation_frame(move || {
                if let Some(text_box) = text_box.get_untracked()
                    && browser::focus_is_lost_in(&text_box)
                {
                    let _ = text_box.focus();
                }
            });
        }
    });
    let placeholder = move || {
        if touch.get() {
            "Message"
        } else {
            "Message (Enter sends, Shift+Enter for a new line)"
        }
    };
    let sending = RwSignal::new(false);
    // Images uploaded for the next message: (id, file name).
    let attached = RwSignal::new(Vec::<(String, String)>::new());
    let uploading = RwSignal::new(0_usize);
    // Documents read for the next message: (id, file name and note).
    let documents = RwSignal::new(Vec::<(String, String)>::new());
    let reading = RwSignal::new(0_usize);
    let uploader = Uploader::new();
    // The models offered; what the composer shows follows the chosen one.
    let offered = StoredValue::new(models.clone());
    let chosen_model =
        move |id: &str| offered.with_value(|all| all.iter().find(|m| m.id == id).cloned());
    let can_see = move || chosen_model(&chat.model.get()).is_some_and(|m| m.supports_vision);
    let conversation_id = StoredValue::new(conversation_id);
    let streaming = move || turns.and_then(|t| t.streaming.get());
    let no_models = models.is_empty();
    // What the administrator wrote about the chosen model, under the picker.
    let description = move || {
        chosen_model(&chat.model.get())
            .map(|m| m.description)
            .unwrap_or_default()
    };
    let send = move || {
        let message = text.get_untracked();
        let images: Vec<String> =
            attached.with_untracked(|a| a.iter().map(|(id, _)| id.clone()).collect());
        let document_ids: Vec<String> =
            documents.with_untracked(|d| d.iter().map(|(id, _)| id.clone()).collect());
        if (message.trim().is_empty() && images.is_empty() && document_ids.is_empty())
            || sending.get_untracked()
            || uploading.get_untracked() > 0
            || reading.get_untracked() > 0
            || turns.is_some_and(|t| t.streaming.get_untracked().is_some())
        {
            return;
        }
        sending.set(true);
        chat.problem.set(None);
        let navigate = navigate.clone();
        let model_id = chat.model.get_untracked();
        let model_name = chosen_model(&model_id).map(|m| m.name);
        spawn_local(async move {
            let conversation = conversation_id.get_value();
            let with_documents = !document_ids.is_empty();
            let result = send_message(
                conversation.clone(),
                None,
                model_id,
                message.clone(),
                images.clone(),
                document_ids,
                chat.repositories.get_untracked(),
            )
            .await;
            sending.set(false);
            match result {
                Ok(sent) => {
                    text.set(String::new());
                    attached.set(Vec::new());
                    documents.set(Vec::new());
                    match (conversation, turns) {
                        // The list shows the new conversation, the page opens it.
                        (None, _) | (_, None) => {
                            chat.list_version.update(|v| *v += 1);
                            navigate(
                                &format!("/chat/{}", sent.conversation_id),
                                NavigateOptions::default(),
                            );
                        }
                        // Document names are as the server kept them: read them back.
                        (Some(_), Some(_)) if with_documents => {
                            chat.touched.set(Some(sent.conversation_id));
                            chat.version.update(|v| *v += 1);
                        }
                        (Some(_), Some(turns)) => {
                            chat.touched.set(Some(sent.conversation_id));
                            turns.messages.update(|messages| {
                                messages.push(MessageView::sent(sent.message_id, message, images));
                                messages
                                    .push(MessageView::writing(sent.reply_id.clone(), model_name));
                            });
                            turns.streaming.set(Some(sent.reply_id));
                            #[cfg(feature = "hydrate")]
                            request_animation_frame(browser::scroll_to_bottom);
                        }
                    }
                }
                Err(err) => show_problem(chat, err),
            }
        });
    };
    let stop = move |_| {
        if let Some(reply) = turns.and_then(|t| t.streaming.get_untracked()) {
            spawn_local(async move {
                if let Err(err) = stop_reply(reply).await {
                    show_problem(chat, err);
                }
            });
        }
    };
    let is_builtin = move || chosen_model(&chat.model.get()).is_some_and(|m| m.is_builtin);
    let on_keydown = {
        let send = send.clone();
        move |ev: leptos::ev::KeyboardEvent| {
            if ev.key() == "Enter"
                && !ev.shift_key()
                && !ev.is_composing()
                && !touch.get_untracked()
            {
                ev.prevent_default();
                send();
            }
        }
    };
    view! {
        // Before the page is interactive the form is sent as it is (see `send_form.rs`).
        <form
            class="composer"
            method="post"
            action="/chat/send"
            on:submit={
                let send = send.clone();
                move |ev| {
                    ev.prevent_default();
                    send();
                }
            }
        >
            <p class="form-error" role="alert">
                {move || chat.problem.get()}
            </p>
            {no_models
                .then(|| {
                    view! {
                        <p class="notice error">
                            "No model is available to you. Ask an administrator to allow one for your role."
                        </p>
                    }
                })}
            <input
                type="hidden"
                name="conversation_id"
                value=conversation_id.get_value().unwrap_or_default()
            />
            <div class="composer-row composer-tools">
                <label class="visually-hidden" for="composer-model">
                    "Model"
                </label>
                <select
                    id="composer-model"
                    name="model_id"
                    aria-describedby="composer-model-description"
                    prop:value=move || chat.model.get()
                    on:change=move |ev| chat.model.set(event_target_value(&ev))
                >
                    {models
                        .iter()
                        .map(|m| {
                            let chosen = m.id == chat.model.get_untracked();
                            view! {
                                <option value=m.id.clone() selected=chosen>
                                    {m.name.clone()}
                                </option>
                            }
                        })
                        .collect_view()}
                </select>
                <Show when=is_builtin>
                    <span class="muted small">"A tiny demo model: expect odd answers."</span>
                </Show>
                <super::knowledge::KnowledgePicker />
                <Show when=can_see>
                    <label class="button secondary attach">
                        <span class="attach-verb">"Attach "</span>
                        "images"
                        <input
                            type="file"
                            class="visually-hidden"
                            accept="image/png,image/jpeg,image/webp,image/gif"
                            multiple
                            on:change=move |ev| {
                                upload_files(
                                    &ev,
                                    "/api/chat/images",
                                    attached,
                                    uploading,
                                    chat,
                                    uploader,
                                )
                            }
                        />
                    </label>
                </Show>
                <label class="button secondary attach">
                    <span class="attach-verb">"Attach "</span>
                    "documents"
                    <input
                        type="file"
                        class="visually-hidden"
                        accept=".pdf,.docx,.pptx,.xlsx,.csv,.html,.htm,.md,.markdown,.txt,.json,application/pdf,text/*"
                        multiple
                        on:change=move |ev| {
                            upload_files(
                                &ev,
                                "/api/chat/documents",
                                documents,
                                reading,
                                chat,
                                uploader,
                            )
                        }
                    />
                </label>
            </div>
            <p class="muted small model-description" id="composer-model-description">
                {description}
            </p>
            <Attachments label="Documents to send" files=documents />
            <Show when=move || reading.get() != 0>
                <p class="muted small" role="status">
                    "Reading documents…"
                </p>
            </Show>
            <Attachments label="Images to send" files=attached />
            <Show when=move || uploading.get() != 0>
                <p class="muted small" role="status">
                    "Uploading images…"
                </p>
            </Show>
            <div class="composer-row">
                <label class="visually-hidden" for="composer-text">
                    "Message"
                </label>
                <textarea
                    id="composer-text"
                    node_ref=text_box
                    name="text"
                    rows="2"
                    placeholder=placeholder
                    prop:value=move || text.get()
                    on:input=move |ev| text.set(event_target_value(&ev))
                    on:keydown=on_keydown
                ></textarea>
                {move || {
                    if streaming().is_some() {
                        view! {
                            <button type="button" class="button danger-button" on:click=stop>
                                "Stop"
                            </button>
                        }
                            .into_any()
                    } else {
                        view! {
                            <button
                                type="submit"
                                class="button"
                                disabled=move || sending.get() || no_models
                            >
                                "Send"
                            </button>
                        }
                            .into_any()
                    }
                }}
            </div>
        </form>
    }
}
