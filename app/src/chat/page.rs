//! `/chat` and `/chat/:id`: the conversation list beside the conversation, the model picker
//! and the composer. A reply being written streams into its own message only (see
//! [`LiveReply`]); everything else re-renders when the reply ends.

use leptos::{prelude::*, task::spawn_local};
use leptos_meta::{Stylesheet, Title};
use leptos_router::{
    NavigateOptions,
    components::A,
    hooks::{use_navigate, use_params_map},
};

use super::{
    api::{
        archive_conversation, chat_models, create_folder, delete_conversation, delete_folder,
        get_conversation, list_conversations, list_folders, move_conversation, pin_conversation,
        regenerate, rename_conversation, select_branch, send_message, stop_reply,
    },
    markdown::to_html,
    types::{
        ConversationDetail, ConversationItem, FolderView, MessageView, ModelOption, UsageView,
    },
};
use crate::{
    error::AppError,
    ui::{ErrorView, confirm, prompt},
};

/// What the parts of the page share.
#[derive(Clone, Copy)]
pub(super) struct Chat {
    /// Bumped to reload the conversation list.
    list_version: RwSignal<u32>,
    /// Bumped to reload the open conversation.
    version: RwSignal<u32>,
    /// The model the next message goes to.
    model: RwSignal<String>,
    /// A failure to show above the composer.
    problem: RwSignal<Option<String>>,
    /// The knowledge repositories the conversation answers from (ids).
    pub(super) repositories: RwSignal<Vec<String>>,
    /// The conversation that just had a turn: the list moves its entry to the top instead of
    /// reloading.
    touched: RwSignal<Option<String>>,
}

/// The open conversation's messages as they change turn by turn: a send appends the user's
/// message and the reply being written, the reply's `done` event replaces it with the finished
/// one. Nothing is reloaded for a turn.
#[derive(Clone, Copy)]
struct Turns {
    messages: RwSignal<Vec<MessageView>>,
    totals: RwSignal<UsageView>,
    /// The reply being written, if any: the composer offers Stop instead of Send.
    streaming: RwSignal<Option<String>>,
}

#[cfg(feature = "hydrate")]
impl Turns {
    /// A reply ended: shows it finished, or reloads the conversation when it is not on the
    /// branch shown any more.
    fn finish(self, chat: Chat, reply: &str, done: super::types::events::Done) {
        match (done.message, done.totals) {
            (Some(message), Some(totals)) => {
                self.messages.update(|messages| {
                    if let Some(shown) = messages.iter_mut().find(|m| m.id == reply) {
                        *shown = message;
                    }
                });
                self.totals.set(totals);
            }
            _ => chat.version.update(|v| *v += 1),
        }
        if self.streaming.get_untracked().as_deref() == Some(reply) {
            self.streaming.set(None);
        }
    }
}

/// Moves the conversation `id` to the top of its group (pinned ones stay first), as the list
/// orders by last activity.
fn move_to_top(items: &mut Vec<ConversationItem>, id: &str) {
    let Some(at) = items.iter().position(|item| item.id == id) else {
        return;
    };
    let item = items.remove(at);
    let to = if item.is_pinned {
        0
    } else {
        items.iter().take_while(|other| other.is_pinned).count()
    };
    items.insert(to, item);
}

fn show_problem(chat: Chat, err: AppError) {
    chat.problem.set(Some(match err {
        AppError::Invalid(message) => message,
        other => format!("That did not work: {other}."),
    }));
}

#[component]
pub fn ChatPage() -> impl IntoView {
    let params = use_params_map();
    let id = Memo::new(move |_| params.read().get("id"));
    let chat = Chat {
        list_version: RwSignal::new(0),
        version: RwSignal::new(0),
        model: RwSignal::new(String::new()),
        problem: RwSignal::new(None),
        repositories: RwSignal::new(Vec::new()),
        touched: RwSignal::new(None),
    };
    provide_context(chat);
    let models = Resource::new(|| (), |()| chat_models());
    let (list_open, set_list_open) = signal(false);
    // Opening another conversation closes the list on phones and clears old problems.
    Effect::new(move |_| {
        id.track();
        set_list_open.set(false);
        chat.problem.set(None);
    });

    view! {
        <Title text="Chat" />
        <Stylesheet id="highlight" href=super::HIGHLIGHT_CSS_URL />
        <div class="chat" class:list-open=list_open>
            <button
                type="button"
                class="button secondary chat-list-toggle"
                aria-expanded=move || list_open.get().to_string()
                aria-controls="chat-list"
                on:click=move |_| set_list_open.update(|open| *open = !*open)
            >
                "Conversations"
            </button>
            <ConversationList current=id />
            <section class="chat-main" aria-label="Conversation">
                <Transition fallback=|| view! { <p class="muted">"Loading…"</p> }>
                    <ErrorBoundary fallback=|errors| {
                        view! { <ErrorView errors /> }
                    }>
                        {move || Suspend::new(async move {
                            let models = models.await?;
                            Ok::<_, AppError>(view! { <Conversation id models /> })
                        })}
                    </ErrorBoundary>
                </Transition>
            </section>
        </div>
    }
}

#[component]
fn ConversationList(current: Memo<Option<String>>) -> impl IntoView {
    let chat = expect_context::<Chat>();
    let (search, set_search) = signal(String::new());
    let (archived, set_archived) = signal(false);
    let (pages, set_pages) = signal(1_i64);
    // The folder shown (None: every conversation).
    let folder = RwSignal::new(None::<String>);
    // Folders change only when one is made or deleted here: moving a conversation or a reply
    // ending must not rebuild the folder picker under the reader's hand.
    let folders_version = RwSignal::new(0_u32);
    let folders = Resource::new(move || folders_version.get(), |_| list_folders());
    let list = Resource::new(
        move || {
            (
                search.get(),
                archived.get(),
                folder.get(),
                pages.get(),
                chat.list_version.get(),
            )
        },
        |(search, archived, folder, pages, _)| async move {
            let mut items = Vec::new();
            let mut has_more = false;
            for page in 0..pages {
                let found = list_conversations(
                    search.clone(),
                    archived,
                    folder.clone(),
                    items.len() as i64,
                )
                .await?;
                has_more = found.has_more;
                items.extend(found.items);
                if !has_more || page + 1 == pages {
                    break;
                }
            }
            Ok::<_, AppError>((items, has_more))
        },
    );
    view! {
        <nav id="chat-list" class="chat-list" aria-label="Conversations">
            <A href="/chat" attr:class="button new-chat">
                "New chat"
            </A>
            <input
                type="search"
                placeholder="Search conversations"
                aria-label="Search conversations"
                on:input=move |ev| {
                    set_pages.set(1);
                    set_search.set(event_target_value(&ev));
                }
            />
            <label class="check">
                <input
                    type="checkbox"
                    prop:checked=archived
                    on:change=move |ev| {
                        set_pages.set(1);
                        set_archived.set(event_target_checked(&ev));
                    }
                />
                "Show archived"
            </label>
            <Transition fallback=|| ()>
                {move || Suspend::new(async move {
                    let folders = folders.await.unwrap_or_default();
                    view! { <FolderPicker folders folder folders_version set_pages /> }
                })}
            </Transition>
            <Transition fallback=|| view! { <p class="muted">"Loading…"</p> }>
                <ErrorBoundary fallback=|errors| {
                    view! { <ErrorView errors /> }
                }>
                    {move || Suspend::new(async move {
                        let (items, has_more) = list.await?;
                        let folders = folders.await.unwrap_or_default();
                        let empty = items.is_empty();
                        let items = RwSignal::new(items);
                        Effect::new(move |_| {
                            if let Some(id) = chat.touched.get() {
                                items.update(|items| move_to_top(items, &id));
                            }
                        });
                        Ok::<
                            _,
                            AppError,
                        >(
                            view! {
                                <Show when=move || empty>
                                    <p class="muted">
                                        {move || {
                                            if search.get().trim().is_empty() {
                                                "No conversations yet."
                                            } else {
                                                "No conversation matches."
                                            }
                                        }}
                                    </p>
                                </Show>
                                <ul class="conversation-items">
                                    <For
                                        each=move || items.get()
                                        key=|item| item.id.clone()
                                        children=move |item| {
                                            view! {
                                                <ConversationEntry item current folders=folders.clone() />
                                            }
                                        }
                                    />
                                </ul>
                                <Show when=move || has_more>
                                    <button
                                        type="button"
                                        class="button secondary"
                                        on:click=move |_| set_pages.update(|p| *p += 1)
                                    >
                                        "Show more"
                                    </button>
                                </Show>
                            },
                        )
                    })}
                </ErrorBoundary>
            </Transition>
        </nav>
    }
}

/// Which folder the list shows, with making and deleting folders.
#[component]
fn FolderPicker(
    folders: Vec<FolderView>,
    folder: RwSignal<Option<String>>,
    folders_version: RwSignal<u32>,
    set_pages: WriteSignal<i64>,
) -> impl IntoView {
    let chat = expect_context::<Chat>();
    let new_folder = move |_| {
        let Some(name) = prompt("Name of the new folder:") else {
            return;
        };
        spawn_local(async move {
            match create_folder(name).await {
                Ok(created) => {
                    folder.set(Some(created.id));
                    folders_version.update(|v| *v += 1);
                }
                Err(err) => show_problem(chat, err),
            }
        });
    };
    let names = StoredValue::new(folders.clone());
    let remove = move |_| {
        let Some(id) = folder.get_untracked() else {
            return;
        };
        let name = names.with_value(|f| {
            f.iter()
                .find(|f| f.id == id)
                .map(|f| f.name.clone())
                .unwrap_or_default()
        });
        if !confirm(&format!(
            "Delete the folder \"{name}\"? Its conversations stay, outside any folder."
        )) {
            return;
        }
        spawn_local(async move {
            match delete_folder(id).await {
                Ok(()) => {
                    folder.set(None);
                    folders_version.update(|v| *v += 1);
                    chat.list_version.update(|v| *v += 1);
                }
                Err(err) => show_problem(chat, err),
            }
        });
    };
    view! {
        <div class="folder-picker">
            <select
                aria-label="Folder"
                prop:value=move || folder.get().unwrap_or_default()
                on:change=move |ev| {
                    let value = event_target_value(&ev);
                    set_pages.set(1);
                    folder.set((!value.is_empty()).then_some(value));
                }
            >
                <option value="">"All conversations"</option>
                {folders
                    .into_iter()
                    .map(|f| {
                        let selected = folder.get_untracked().as_deref() == Some(f.id.as_str());
                        view! {
                            <option value=f.id selected=selected>
                                {f.name}
                            </option>
                        }
                    })
                    .collect_view()}
            </select>
            <button type="button" class="link-button" on:click=new_folder>
                "New folder"
            </button>
            <Show when=move || folder.get().is_some()>
                <button type="button" class="link-button danger" on:click=remove>
                    "Delete folder"
                </button>
            </Show>
        </div>
    }
}

#[component]
fn ConversationEntry(
    item: ConversationItem,
    current: Memo<Option<String>>,
    folders: Vec<FolderView>,
) -> impl IntoView {
    let chat = expect_context::<Chat>();
    let navigate = use_navigate();
    let renaming = RwSignal::new(false);
    let title = RwSignal::new(item.title.clone());
    let id = StoredValue::new(item.id.clone());
    let href = format!("/chat/{}", item.id);
    let is_current = move || current.get().as_deref() == Some(id.get_value().as_str());
    let done = move |result: Result<(), AppError>| match result {
        Ok(()) => {
            chat.list_version.update(|v| *v += 1);
            chat.version.update(|v| *v += 1);
        }
        Err(err) => show_problem(chat, err),
    };
    let save_title = move || {
        renaming.set(false);
        spawn_local(async move {
            done(rename_conversation(id.get_value(), title.get_untracked()).await);
        });
    };
    let (pinned, archived) = (item.is_pinned, item.is_archived);
    // Choosing an action closes the menu.
    let menu = NodeRef::<leptos::html::Details>::new();
    let close_menu = move |_| {
        if let Some(menu) = menu.get() {
            menu.set_open(false);
        }
    };
    let name = item.title.clone();
    view! {
        <li class="conversation-entry" class:current=is_current>
            <Show
                when=move || renaming.get()
                fallback=move || {
                    view! {
                        <A href=href.clone() attr:class="conversation-link">
                            {pinned
                                .then(|| {
                                    view! {
                                        <span class="pin" title="Pinned">
                                            "📌"
                                            <span class="visually-hidden">"Pinned: "</span>
                                        </span>
                                    }
                                })}
                            {move || title.get()}
                        </A>
                    }
                }
            >
                <form
                    class="rename"
                    on:submit=move |ev| {
                        ev.prevent_default();
                        save_title();
                    }
                >
                    <input
                        aria-label="New title"
                        prop:value=move || title.get()
                        on:input=move |ev| title.set(event_target_value(&ev))
                        on:keydown=move |ev| {
                            if ev.key() == "Escape" {
                                renaming.set(false);
                            }
                        }
                        autofocus
                    />
                    <button type="submit" class="button small-button">
                        "Save"
                    </button>
                </form>
            </Show>
            <details class="entry-menu" node_ref=menu>
                <summary aria-label=format!("Actions for {name}")>"⋯"</summary>
                <div class="entry-menu-panel" on:click=close_menu>
                    <button type="button" on:click=move |_| renaming.set(true)>
                        "Rename"
                    </button>
                    <button
                        type="button"
                        on:click=move |_| {
                            spawn_local(async move {
                                done(pin_conversation(id.get_value(), !pinned).await);
                            })
                        }
                    >
                        {if pinned { "Unpin" } else { "Pin" }}
                    </button>
                    <button
                        type="button"
                        on:click=move |_| {
                            spawn_local(async move {
                                done(archive_conversation(id.get_value(), !archived).await);
                            })
                        }
                    >
                        {if archived { "Unarchive" } else { "Archive" }}
                    </button>
                    {(!folders.is_empty())
                        .then(|| {
                            let current_folder = item.folder_id.clone().unwrap_or_default();
                            view! {
                                <label class="move-to">
                                    "Move to folder"
                                    <select
                                        prop:value=current_folder.clone()
                                        on:click=|ev| ev.stop_propagation()
                                        on:change=move |ev| {
                                            let value = event_target_value(&ev);
                                            let target = (!value.is_empty()).then_some(value);
                                            if let Some(menu) = menu.get() {
                                                menu.set_open(false);
                                            }
                                            spawn_local(async move {
                                                done(move_conversation(id.get_value(), target).await);
                                            });
                                        }
                                    >
                                        <option value="">"No folder"</option>
                                        {folders
                                            .iter()
                                            .map(|f| {
                                                view! {
                                                    <option value=f.id.clone() selected=f.id == current_folder>
                                                        {f.name.clone()}
                                                    </option>
                                                }
                                            })
                                            .collect_view()}
                                    </select>
                                </label>
                            }
                        })}
                    <button
                        type="button"
                        class="danger"
                        on:click={
                            let name = name.clone();
                            let navigate = navigate.clone();
                            move |_| {
                                if !confirm(&format!("Delete the conversation \"{name}\"?")) {
                                    return;
                                }
                                let navigate = navigate.clone();
                                let was_current = is_current();
                                spawn_local(async move {
                                    let result = delete_conversation(id.get_value()).await;
                                    if result.is_ok() && was_current {
                                        navigate("/chat", NavigateOptions::default());
                                    }
                                    done(result);
                                });
                            }
                        }
                    >
                        "Delete"
                    </button>
                </div>
            </details>
        </li>
    }
}

/// The open conversation (or an empty one for `/chat`) and the composer.
#[component]
fn Conversation(id: Memo<Option<String>>, models: Vec<ModelOption>) -> impl IntoView {
    let chat = expect_context::<Chat>();
    let detail = Resource::new(
        move || (id.get(), chat.version.get()),
        |(id, _)| async move {
            match id {
                Some(id) => get_conversation(id, None).await.map(Some),
                None => Ok(None),
            }
        },
    );
    let models = StoredValue::new(models);
    view! {
        <Transition fallback=|| view! { <p class="muted">"Loading…"</p> }>
            <ErrorBoundary fallback=|errors| {
                view! { <ErrorView errors /> }
            }>
                {move || Suspend::new(async move {
                    let detail = detail.await?;
                    Ok::<
                        _,
                        AppError,
                    >(view! { <ConversationBody detail models=models.get_value() /> })
                })}
            </ErrorBoundary>
        </Transition>
    }
}

#[component]
fn ConversationBody(detail: Option<ConversationDetail>, models: Vec<ModelOption>) -> impl IntoView {
    let chat = expect_context::<Chat>();
    // The conversation's model if the user may still use it, else the one they used last,
    // else the first they may.
    let preferred = detail
        .as_ref()
        .and_then(|d| d.model_id.clone())
        .filter(|id| models.iter().any(|m| &m.id == id))
        .or_else(|| models.iter().find(|m| m.last_used).map(|m| m.id.clone()))
        .or_else(|| models.first().map(|m| m.id.clone()))
        .unwrap_or_default();
    if !models.iter().any(|m| m.id == chat.model.get_untracked()) {
        chat.model.set(preferred);
    }
    chat.repositories.set(
        detail
            .as_ref()
            .map(|d| d.repository_ids.clone())
            .unwrap_or_default(),
    );
    let conversation_id = detail.as_ref().map(|d| d.id.clone());
    let streaming = detail.as_ref().and_then(|d| {
        d.messages
            .iter()
            .find(|m| m.status == "streaming")
            .map(|m| m.id.clone())
    });
    let Some(detail) = detail else {
        return view! {
            <div class="chat-empty">
                <h1>"New chat"</h1>
                <p class="muted">"Pick a model, write a message and press Enter."</p>
            </div>
            <Composer conversation_id=None turns=None models />
        }
        .into_any();
    };
    let turns = Turns {
        messages: RwSignal::new(detail.messages.clone()),
        totals: RwSignal::new(detail.totals.clone()),
        streaming: RwSignal::new(streaming),
    };
    provide_context(turns);
    let earlier = RwSignal::new(Vec::<MessageView>::new());
    let has_earlier = RwSignal::new(detail.has_earlier);
    let first_id = StoredValue::new(detail.messages.first().map(|m| m.id.clone()));
    let load_earlier = {
        let id = detail.id.clone();
        move |_| {
            let id = id.clone();
            let before = earlier
                .with_untracked(|e| e.first().map(|m| m.id.clone()))
                .or_else(|| first_id.get_value());
            spawn_local(async move {
                match get_conversation(id, before).await {
                    Ok(page) => {
                        has_earlier.set(page.has_earlier);
                        earlier.update(|e| {
                            let mut older = page.messages;
                            older.append(e);
                            *e = older;
                        });
                    }
                    Err(err) => show_problem(chat, err),
                }
            });
        }
    };
    // Opened (or reloaded after a reply), the conversation shows its end.
    Effect::new(move |_| {
        #[cfg(feature = "hydrate")]
        request_animation_frame(scroll_to_bottom);
    });
    let conversation_key = StoredValue::new(detail.id.clone());
    view! {
        <Title text=detail.title.clone() />
        <header class="chat-head">
            <h1>{detail.title.clone()}</h1>
            <p class="muted small" aria-label="Conversation usage">
                {move || view! { <UsageLine usage=turns.totals.get() /> }}
            </p>
        </header>
        <div class="messages" on:click=copy_code>
            <Show when=move || has_earlier.get()>
                <button type="button" class="button secondary" on:click=load_earlier.clone()>
                    "Show earlier messages"
                </button>
            </Show>
            <For
                each=move || earlier.get()
                key=|m| (m.id.clone(), m.status.clone())
                children=move |message| {
                    view! { <Message message conversation_id=conversation_key.get_value() /> }
                }
            />
            <For
                each=move || turns.messages.get()
                key=|m| (m.id.clone(), m.status.clone())
                children=move |message| {
                    view! { <Message message conversation_id=conversation_key.get_value() /> }
                }
            />
        </div>
        <Composer conversation_id turns=Some(turns) models />
    }
    .into_any()
}

/// Copies a code block when its button is pressed (one listener for every block).
fn copy_code(ev: leptos::ev::MouseEvent) {
    #[cfg(feature = "hydrate")]
    {
        use wasm_bindgen::JsCast;
        let Some(button) = ev
            .target()
            .and_then(|t| t.dyn_into::<web_sys::Element>().ok())
            .filter(|el| el.class_list().contains("copy-code"))
        else {
            return;
        };
        if let Some(code) = button
            .next_element_sibling()
            .and_then(|pre| pre.text_content())
        {
            copy_text(&code);
            button.set_text_content(Some("Copied"));
        }
    }
    #[cfg(not(feature = "hydrate"))]
    let _ = ev;
}

fn copy_text(text: &str) {
    #[cfg(feature = "hydrate")]
    {
        let _ = window().navigator().clipboard().write_text(text);
    }
    #[cfg(not(feature = "hydrate"))]
    let _ = text;
}

fn read_aloud(text: &str) {
    #[cfg(feature = "hydrate")]
    {
        if let (Ok(speech), Ok(utterance)) = (
            window().speech_synthesis(),
            web_sys::SpeechSynthesisUtterance::new_with_text(text),
        ) {
            speech.cancel();
            speech.speak(&utterance);
        }
    }
    #[cfg(not(feature = "hydrate"))]
    let _ = text;
}

#[component]
fn UsageLine(usage: UsageView) -> impl IntoView {
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
fn Message(message: MessageView, conversation_id: String) -> impl IntoView {
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
                                    disabled=position == 0
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
            <super::knowledge::Sources citations=message.citations.clone() />
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
                        on:click=move |_| content.with_value(|c| copy_text(c))
                    >
                        "Copy"
                    </button>
                    <button
                        type="button"
                        class="link-button"
                        on:click=move |_| content.with_value(|c| read_aloud(c))
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
async fn resend(conversation_id: String, message_id: String, text: String, chat: Chat) {
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
fn LiveReply(id: String, initial: String) -> impl IntoView {
    let chat = expect_context::<Chat>();
    let use_turns = use_context::<Turns>();
    let content = RwSignal::new(initial);
    // What a reasoning model thinks before it answers, shown as it comes.
    let reasoning = RwSignal::new(String::new());
    #[cfg(feature = "hydrate")]
    {
        use wasm_bindgen::{JsCast, closure::Closure};

        // Follows the reply as it grows, unless the reader scrolled up to read earlier text.
        let last_height = StoredValue::new(0.0_f64);
        Effect::new(move |_| {
            content.track();
            let height = page_height();
            let grown = height - last_height.get_value();
            last_height.set_value(height);
            if distance_from_bottom() - grown < 80.0 {
                scroll_to_bottom();
            }
        });

        use super::types::events;

        // The open event source and its listeners: both live until the reply leaves the page.
        type Listening = (
            web_sys::EventSource,
            Vec<Closure<dyn FnMut(web_sys::Event)>>,
        );
        let source = StoredValue::new_local(None::<Listening>);
        let close = move || {
            source.update_value(|s| {
                if let Some((es, _)) = s.take() {
                    es.close();
                }
            });
        };
        let url = format!("/api/chat/replies/{id}/events");
        let reply = id.clone();
        Effect::new(move |_| {
            let Ok(es) = web_sys::EventSource::new(&url) else {
                return;
            };
            let data = |ev: &web_sys::Event| {
                ev.dyn_ref::<web_sys::MessageEvent>()
                    .and_then(|m| m.data().as_string())
                    .unwrap_or_default()
            };
            let on_snapshot =
                Closure::<dyn FnMut(web_sys::Event)>::new(move |ev: web_sys::Event| {
                    if let Ok(s) = serde_json::from_str::<events::Snapshot>(&data(&ev)) {
                        content.set(s.content);
                        reasoning.set(s.reasoning);
                    }
                });
            let on_reasoning =
                Closure::<dyn FnMut(web_sys::Event)>::new(move |ev: web_sys::Event| {
                    if let Ok(text) = serde_json::from_str::<String>(&data(&ev)) {
                        reasoning.update(|r| r.push_str(&text));
                    }
                });
            let on_text = Closure::<dyn FnMut(web_sys::Event)>::new(move |ev: web_sys::Event| {
                if let Ok(text) = serde_json::from_str::<String>(&data(&ev)) {
                    content.update(|c| c.push_str(&text));
                }
            });
            let reply = reply.clone();
            let on_done = Closure::<dyn FnMut(web_sys::Event)>::new(move |ev: web_sys::Event| {
                source.with_value(|s| {
                    if let Some((es, _)) = s {
                        es.close();
                    }
                });
                let done = serde_json::from_str::<events::Done>(&data(&ev)).ok();
                match (use_turns, done) {
                    (Some(turns), Some(done)) => turns.finish(chat, &reply, done),
                    _ => chat.version.update(|v| *v += 1),
                }
            });
            for (name, handler) in [
                (events::SNAPSHOT, &on_snapshot),
                (events::TEXT, &on_text),
                (events::REASONING, &on_reasoning),
                (events::DONE, &on_done),
            ] {
                let _ = es.add_event_listener_with_callback(name, handler.as_ref().unchecked_ref());
            }
            source.set_value(Some((
                es,
                vec![on_snapshot, on_text, on_reasoning, on_done],
            )));
        });
        on_cleanup(close);
    }
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

#[cfg(feature = "hydrate")]
fn page_height() -> f64 {
    document()
        .document_element()
        .map_or(0.0, |root| f64::from(root.scroll_height()))
}

/// How far below the window the page goes on, in CSS pixels.
#[cfg(feature = "hydrate")]
fn distance_from_bottom() -> f64 {
    let top = window().scroll_y().unwrap_or(0.0);
    let view = window()
        .inner_height()
        .ok()
        .and_then(|h| h.as_f64())
        .unwrap_or(0.0);
    page_height() - top - view
}

#[cfg(feature = "hydrate")]
fn scroll_to_bottom() {
    window().scroll_to_with_x_and_y(0.0, page_height());
}

/// Uploads the files chosen in a file input to `endpoint`, one request each, and lists them
/// as attached (with the server's note, if any).
fn upload_files(
    ev: &leptos::ev::Event,
    endpoint: &'static str,
    attached: RwSignal<Vec<(String, String)>>,
    uploading: RwSignal<usize>,
    chat: Chat,
) {
    #[cfg(feature = "hydrate")]
    {
        use wasm_bindgen::JsCast;

        use super::types::Uploaded;
        let Some(input) = ev
            .target()
            .and_then(|t| t.dyn_into::<web_sys::HtmlInputElement>().ok())
        else {
            return;
        };
        let files = input.files();
        let count = files.as_ref().map_or(0, web_sys::FileList::length);
        for index in 0..count {
            let Some(file) = files.as_ref().and_then(|f| f.get(index)) else {
                continue;
            };
            let name = file.name();
            uploading.update(|n| *n += 1);
            spawn_local(async move {
                let request = gloo_net::http::Request::post(endpoint)
                    .header("x-file-name", &crate::ui::percent_encode(&name))
                    .body(file);
                let result = match request {
                    Ok(request) => request.send().await,
                    Err(err) => Err(err),
                };
                uploading.update(|n| *n -= 1);
                match result {
                    Ok(response) if response.ok() => match response.json::<Uploaded>().await {
                        Ok(uploaded) => {
                            let shown = match uploaded.note {
                                Some(note) => format!("{name} ({note})"),
                                None => name,
                            };
                            attached.update(|a| a.push((uploaded.id, shown)));
                        }
                        Err(err) => show_problem(chat, AppError::Request(err.to_string())),
                    },
                    Ok(response) => {
                        let status = response.status();
                        let message = response.text().await.unwrap_or_default();
                        let message = if !message.trim().is_empty() {
                            message
                        } else if status == 413 {
                            format!("{name} is too large.")
                        } else {
                            format!("{name} was refused ({status}).")
                        };
                        show_problem(chat, AppError::Invalid(message));
                    }
                    Err(err) => show_problem(chat, AppError::Request(err.to_string())),
                }
            });
        }
        // The same file may be chosen again later.
        input.set_value("");
    }
    #[cfg(not(feature = "hydrate"))]
    let _ = (ev, endpoint, attached, uploading, chat);
}

/// Files uploaded for the next message, each with a button that takes it off again.
#[component]
fn Attachments(label: &'static str, files: RwSignal<Vec<(String, String)>>) -> impl IntoView {
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
fn Composer(
    conversation_id: Option<String>,
    turns: Option<Turns>,
    models: Vec<ModelOption>,
) -> impl IntoView {
    let chat = expect_context::<Chat>();
    let navigate = use_navigate();
    let text = RwSignal::new(String::new());
    let sending = RwSignal::new(false);
    // Images uploaded for the next message: (id, file name).
    let attached = RwSignal::new(Vec::<(String, String)>::new());
    let uploading = RwSignal::new(0_usize);
    // Documents read for the next message: (id, file name and note).
    let documents = RwSignal::new(Vec::<(String, String)>::new());
    let reading = RwSignal::new(0_usize);
    let vision = models
        .iter()
        .filter(|m| m.supports_vision)
        .map(|m| m.id.clone())
        .collect::<Vec<_>>();
    let can_see = move || vision.contains(&chat.model.get());
    let conversation_id = StoredValue::new(conversation_id);
    let streaming = move || turns.and_then(|t| t.streaming.get());
    let model_names = StoredValue::new(
        models
            .iter()
            .map(|m| (m.id.clone(), m.name.clone()))
            .collect::<Vec<_>>(),
    );
    let no_models = models.is_empty();
    let builtin = models
        .iter()
        .filter(|m| m.is_builtin)
        .map(|m| m.id.clone())
        .collect::<Vec<_>>();
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
        let model_name = model_names.with_value(|names| {
            names
                .iter()
                .find(|(id, _)| *id == model_id)
                .map(|(_, name)| name.clone())
        });
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
                            request_animation_frame(scroll_to_bottom);
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
    let is_builtin = move || builtin.contains(&chat.model.get());
    let on_keydown = {
        let send = send.clone();
        move |ev: leptos::ev::KeyboardEvent| {
            if ev.key() == "Enter" && !ev.shift_key() && !ev.is_composing() {
                ev.prevent_default();
                send();
            }
        }
    };
    view! {
        <form
            class="composer"
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
            <div class="composer-row">
                <label class="visually-hidden" for="composer-model">
                    "Model"
                </label>
                <select
                    id="composer-model"
                    prop:value=move || chat.model.get()
                    on:change=move |ev| chat.model.set(event_target_value(&ev))
                >
                    {models
                        .iter()
                        .map(|m| {
                            view! {
                                <option
                                    value=m.id.clone()
                                    selected=m.id == chat.model.get_untracked()
                                >
                                    {m.name.clone()}
                                </option>
                            }
                        })
                        .collect_view()}
                </select>
                <Show when=is_builtin.clone()>
                    <span class="muted small">"A tiny demo model: expect odd answers."</span>
                </Show>
                <super::knowledge::KnowledgePicker />
                <Show when=can_see.clone()>
                    <label class="button secondary attach">
                        "Attach images"
                        <input
                            type="file"
                            class="visually-hidden"
                            accept="image/png,image/jpeg,image/webp,image/gif"
                            multiple
                            on:change=move |ev| {
                                upload_files(&ev, "/api/chat/images", attached, uploading, chat)
                            }
                        />
                    </label>
                </Show>
                <label class="button secondary attach">
                    "Attach documents"
                    <input
                        type="file"
                        class="visually-hidden"
                        accept=".pdf,.docx,.pptx,.xlsx,.csv,.html,.htm,.md,.markdown,.txt,.json,application/pdf,text/*"
                        multiple
                        on:change=move |ev| {
                            upload_files(&ev, "/api/chat/documents", documents, reading, chat)
                        }
                    />
                </label>
            </div>
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
                    rows="2"
                    placeholder="Message (Enter sends, Shift+Enter for a new line)"
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
