//! `/chat` and `/chat/:id`: the conversation list beside the conversation, the model picker
//! and the composer (each part in its own file). A reply being written streams into its own
//! message only; everything else re-renders when the reply ends.

use leptos::{prelude::*, task::spawn_local};
use leptos_meta::{Stylesheet, Title};
use leptos_router::hooks::use_params_map;

use super::{
    api::{chat_models, get_conversation},
    composer::Composer,
    list::ConversationList,
    message::{Message, UsageLine},
    state::{Chat, Turns, show_problem},
    types::{ConversationDetail, MessageView, ModelOption},
};
use crate::{
    error::AppError,
    ui::{ErrorView, browser},
};

#[component]
pub fn ChatPage() -> impl IntoView {
    let params = use_params_map();
    let id = Memo::new(move |_| params.read().get("id"));
    let chat = Chat::new();
    provide_context(chat);
    let models = crate::wire::load(|| (), |()| chat_models());
    let (list_open, set_list_open) = signal(false);
    let list_toggle = NodeRef::<leptos::html::Button>::new();
    // Escape closes the list (on phones, where it covers the conversation).
    let on_keydown = move |ev: leptos::ev::KeyboardEvent| {
        // An open menu takes the Escape for itself.
        if ev.key() == "Escape" && list_open.get_untracked() && !crate::ui::browser::is_menu_open()
        {
            set_list_open.set(false);
            if let Some(toggle) = list_toggle.get_untracked() {
                let _ = toggle.focus();
            }
        }
    };
    // Opening another conversation closes the list on phones and clears old problems.
    Effect::new(move |_| {
        id.track();
        set_list_open.set(false);
        chat.problem.set(None);
    });

    view! {
        <Title text="Chat" />
        <Stylesheet id="highlight" href=super::HIGHLIGHT_CSS_URL />
        <div class="chat" class:list-open=list_open on:keydown=on_keydown>
            <button
                node_ref=list_toggle
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

/// The open conversation (or an empty one for `/chat`) and the composer.
#[component]
fn Conversation(id: Memo<Option<String>>, models: Vec<ModelOption>) -> impl IntoView {
    let chat = expect_context::<Chat>();
    let detail = crate::wire::load(
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
    // Opened, the conversation shows its end; drawn again (a reply saved), it stays put.
    let conversation_key = StoredValue::new(detail.id.clone());
    Effect::new(move |_| {
        let id = conversation_key.get_value();
        if chat.opened.get_untracked().as_ref() != Some(&id) {
            chat.opened.set(Some(id));
            #[cfg(feature = "hydrate")]
            request_animation_frame(browser::scroll_to_bottom);
        }
    });
    view! {
        <Title text=detail.title.clone() />
        <header class="chat-head">
            <h1>{detail.title.clone()}</h1>
            <p class="muted small" aria-label="Conversation usage">
                {move || view! { <UsageLine usage=turns.totals.get() /> }}
            </p>
        </header>
        <div class="messages" on:click=browser::copy_code>
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
