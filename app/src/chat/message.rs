//! One message of a conversation: its text, sources, usage and actions (copy, read aloud,
//! edit, regenerate, branches), and a reply being written as its events arrive.

use leptos::{prelude::*, task::spawn_local};

use super::{
    api::{regenerate, select_branch, send_message},
    markdown::to_html,
    state::{Chat, Turns, show_problem},
    types::{MessageView, UsageView},
};
use crate::ui::browser;

#[component]
pub(super) fn UsageLine(usage: UsageView) -> impl IntoView {
    let mut parts = vec![
        format!("{} tokens in", usage.input_tokens),
        format!("{} out", usage.output_tokens),
    ];
    if usage.cached_input_tokens > 0 {
        parts.push(format!("{} cached", usage.cached_input_tokens));
    }
    parts.push(usage.cost);
    parts.join(" · ")
}

#[component]
pub(super) fn Message(message: MessageView, conversation_id: String) -> impl IntoView {
    let chat = expect_context::<Chat>();
    let conversation_id = StoredValue::new(conversation_id);
    let is_user = message.role == "user";
    let content = StoredValue::new(message.content.clone());
    let html = StoredValue::new(message.html.clone());
    let id = StoredValue::new(message.id.clone());
    let editing = RwSignal::new(false);
    let draft = RwSignal::new(message.content.clone());
    let position = message
        .siblings
        .iter()
        .position(|s| *s == message.id)
        .unwrap_or(0);
    let siblings = StoredValue::new(message.siblings.clone());
    let switch = move |to: usize| {
        if let Some(target) = siblings.with_value(|s| s.get(to).cloned()) {
            spawn_local(async move {
                match select_branch(target).await {
                    Ok(()) => chat.version.update(|v| *v += 1),
                    Err(err) => show_problem(chat, err),
                }
            });
        }
    };
    let count = message.siblings.len();
    let streaming = message.status == "streaming";
    let body = move || {
        if streaming {
            view! { <LiveReply id=id.get_value() initial=content.get_value() /> }.into_any()
        } else if is_user {
            view! { <div class="user-text">{content.get_value()}</div> }.into_any()
        } else {
            view! { <div class="markdown" inner_html=html.get_value()></div> }.into_any()
        }
    };
    let label = if is_user {
        "You".to_owned()
    } else {
        message
            .model_name
            .clone()
            .unwrap_or_else(|| "Assistant".into())
    };
    let note = match message.status.as_str() {
        "stopped" => Some(
            message
                .error
                .clone()
                .unwrap_or_else(|| "Stopped. This is what came before.".into()),
        ),
        "failed" => Some(format!(
            "{} What came before is kept.",
            message
                .error
                .clone()
                .unwrap_or_else(|| "The reply failed.".into())
        )),
        _ => None,
    };
    let failed = message.status == "failed";
    let images = message.image_ids.clone();
    let has_images = !images.is_empty();
    let document_names = message.document_names.clone();
    let has_documents = !document_names.is_empty();
    let usage = message.usage.clone();
    let finished = message.status != "streaming";
    let reasoning = Some(message.reasoning_html.clone()).filter(|r| !r.is_empty());
    // Kept out of the attribute: a comparison there is split by formatting into text.
    let at_last = position + 1 >= count;
    let at_first = position == 0;
    view! {
        <article
            class="message"
            class:user=is_user
            class:assistant=!is_user
            aria-label=format!("{label} said")
            data-role=message.role.clone()
        >
            <header class="message-head">
                <span class="message-author">{label.clone()}</span>
                {(count > 1)
                    .then(|| {
                        view! {
                            <span class="branches" role="group" aria-label="Versions">
                                <button
                                    type="button"
                                    class="icon-button"
                                    disabled=at_first
                                    on:click=move |_| switch(position.saturating_sub(1))
                                >
                                    <span aria-hidden="true">"‹"</span>
                                    <span class="visually-hidden">"Previous version"</span>
                                </button>
                                <span>{format!("{} / {count}", position + 1)}</span>
                                <button
                                    type="button"
                                    class="icon-button"
                                    disabled=at_last
                                    on:click=move |_| switch(position + 1)
                                >
                                    <span aria-hidden="true">"›"</span>
                                    <span class="visually-hidden">"Next version"</span>
                                </button>
                            </span>
                        }
                    })}
            </header>
            {reasoning
                .map(|reasoning| {
                    view! {
                        <details class="reasoning">
                            <summary>"Reasoning"</summary>
                            <div class="markdown" inner_html=reasoning></div>
                        </details>
                    }
                })}
            <Show when=move || editing.get() fallback=body>
                <form
                    class="edit"
                    on:submit=move |ev| {
                        ev.prevent_default();
                        let text = draft.get_untracked();
                        editing.set(false);
                        spawn_local(
                            resend(conversation_id.get_value(), id.get_value(), text, chat),
                        );
                    }
                >
                    <textarea
                        aria-label="Edit your message"
                        prop:value=move || draft.get()
                        on:input=move |ev| draft.set(event_target_value(&ev))
                    ></textarea>
                    {has_images
                        .then(|| {
                            view! {
                                <p class="muted small">"The edited message keeps its images."</p>
                            }
                        })}
                    {has_documents
                        .then(|| {
                            view! {
                                <p class="muted small">"The edited message keeps its documents."</p>
                            }
                        })}
                    <div class="edit-actions">
                        <button type="submit" class="button">
                            "Send"
                        </button>
                        <button
                            type="button"
                            class="button secondary"
                            on:click=move |_| editing.set(false)
                        >
                            "Cancel"
                        </button>
                    </div>
                </form>
            </Show>
            <super::knowledge::Sources
                reply=message.id.clone()
                citations=message.citations.clone()
            />
            {(!document_names.is_empty())
                .then(|| {
                    view! {
                        <ul class="message-documents" aria-label="Documents sent with the message">
                            {document_names
                                .iter()
                                .map(|name| view! { <li>{name.clone()}</li> })
                                .collect_view()}
                        </ul>
                    }
                })}
            {(!images.is_empty())
                .then(|| {
                    view! {
                        <div class="message-images">
                            {images
                                .iter()
                                .enumerate()
                                .map(|(n, id)| {
                                    view! {
                                        <a href=format!("/api/chat/images/{id}") target="_blank">
                                            <img
                                                src=format!("/api/chat/images/{id}")
                                                alt=format!("Image {} sent with the message", n + 1)
                                                loading="lazy"
                                            />
                                        </a>
                                    }
                                })
                                .collect_view()}
                        </div>
                    }
                })}
            {note
                .map(|note| {
                    view! {
                        <p class="message-note" class:error=failed role="status">
                            {note}
                        </p>
                    }
                })}
            <footer class="message-actions">
                {usage
                    .map(|usage| {
                        view! {
                            <span class="muted small">
                                <UsageLine usage />
                            </span>
                        }
                    })} <Show when=move || finished>
                    <button
                        type="button"
                        class="link-button"
                        on:click=move |_| content.with_value(|c| browser::copy_text(c))
                    >
                        "Copy"
                    </button>
                    <button
                        type="button"
                        class="link-button"
                        on:click=move |_| content.with_value(|c| browser::read_aloud(c))
                    >
                        "Read aloud"
                    </button>
                    {if is_user {
                        view! {
                            <button
                                type="button"
                                class="link-button"
                                on:click=move |_| editing.set(true)
                            >
                                "Edit"
                            </button>
                        }
                            .into_any()
                    } else {
                        view! {
                            <button
                                type="button"
                                class="link-button"
                                on:click=move |_| {
                                    spawn_local(async move {
                                        match regenerate(id.get_value(), chat.model.get_untracked())
                                            .await
                                        {
                                            Ok(_) => chat.version.update(|v| *v += 1),
                                            Err(err) => show_problem(chat, err),
                                        }
                                    })
                                }
                            >
                                "Regenerate"
                            </button>
                        }
                            .into_any()
                    }}
                </Show>
            </footer>
        </article>
    }
}

/// Sends an edited user message as a new branch.
pub(super) async fn resend(conversation_id: String, message_id: String, text: String, chat: Chat) {
    match send_message(
        Some(conversation_id),
        Some(message_id),
        chat.model.get_untracked(),
        text,
        Vec::new(),
        Vec::new(),
        chat.repositories.get_untracked(),
    )
    .await
    {
        Ok(_) => chat.version.update(|v| *v += 1),
        Err(err) => show_problem(chat, err),
    }
}

/// A reply being written: what the server had when the page was made, then what the
/// reply's event stream sends. When it ends, the conversation reloads.
#[component]
pub(super) fn LiveReply(id: String, initial: String) -> impl IntoView {
    let chat = expect_context::<Chat>();
    let use_turns = use_context::<Turns>();
    let content = RwSignal::new(initial);
    // What a reasoning model thinks before it answers, shown as it comes.
    let reasoning = RwSignal::new(String::new());
    #[cfg(feature = "hydrate")]
    {
        use super::types::events;
        use crate::{ui::events::Handler, wire::parse};

        // Follows the reply as it grows, unless the reader scrolled up to read earlier text.
        let last_height = StoredValue::new(0.0_f64);
        Effect::new(move |_| {
            content.track();
            let height = browser::page_height();
            let grown = height - last_height.get_value();
            last_height.set_value(height);
            if browser::distance_from_bottom() - grown < 80.0 {
                browser::scroll_to_bottom();
            }
        });
        // The reply's events: what it has so far, then each piece of text as it comes, until
        // it is done.
        let on_snapshot: Handler = Box::new(move |data| {
            if let Ok(s) = parse::<events::Snapshot>(&data) {
                content.set(s.content);
                reasoning.set(s.reasoning);
            }
            true
        });
        let on_text: Handler = Box::new(move |data| {
            if let Ok(text) = parse::<String>(&data) {
                content.update(|c| c.push_str(&text));
            }
            true
        });
        let on_reasoning: Handler = Box::new(move |data| {
            if let Ok(text) = parse::<String>(&data) {
                reasoning.update(|r| r.push_str(&text));
            }
            true
        });
        let reply = id.clone();
        let on_done: Handler = Box::new(move |data| {
            match (use_turns, parse::<events::Done>(&data).ok()) {
                (Some(turns), Some(done)) => turns.finish(chat, &reply, done),
                _ => chat.version.update(|v| *v += 1),
            }
            false
        });
        crate::ui::events::follow(
            format!("/api/chat/replies/{id}/events"),
            vec![
                (events::SNAPSHOT, on_snapshot),
                (events::TEXT, on_text),
                (events::REASONING, on_reasoning),
                (events::DONE, on_done),
            ],
        );
    }
    #[cfg(not(feature = "hydrate"))]
    let _ = (&id, chat, use_turns);
    view! {
        <Show when=move || !reasoning.with(String::is_empty)>
            <details class="reasoning" open>
                <summary>"Reasoning"</summary>
                <div class="reasoning-text">{move || reasoning.get()}</div>
            </details>
        </Show>
        <div
            class="markdown streaming"
            aria-busy="true"
            inner_html=move || to_html(&content.get())
        ></div>
        <p class="visually-hidden" role="status">
            "Writing a reply…"
        </p>
    }
}
