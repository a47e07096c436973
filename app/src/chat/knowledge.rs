//! Knowledge in the chat page: the picker of repositories a conversation answers from, and
//! a reply's numbered sources, each opening the text the model was shown.

use leptos::prelude::*;

use super::{state::Chat, types::CitationView};
use crate::{
    auth::UserResource,
    knowledge::api::{TOOL, list_repositories},
};

/// "Knowledge (n)": checkboxes of the repositories the user can read, for users whose roles
/// grant knowledge repositories. The choice goes with the next message.
#[component]
pub fn KnowledgePicker() -> impl IntoView {
    let chat = expect_context::<Chat>();
    let user = expect_context::<UserResource>();
    let allowed = move || {
        user.get()
            .and_then(Result::ok)
            .flatten()
            .is_some_and(|u| u.can_use(TOOL))
    };
    let open = RwSignal::new(false);
    // Loaded the first time the picker is opened.
    let repositories = crate::wire::load(
        move || open.get(),
        |open| async move {
            if open {
                list_repositories().await.map(Some)
            } else {
                Ok(None)
            }
        },
    );
    let summary = move || {
        let count = chat.repositories.with(Vec::len);
        if count == 0 {
            "Knowledge".to_owned()
        } else {
            format!("Knowledge ({count})")
        }
    };
    view! {
        <Show when=allowed>
            <details class="knowledge-picker">
                <summary on:click=move |_| open.set(true)>{summary}</summary>
                <div class="knowledge-options">
                    <Transition fallback=|| {
                        view! { <p class="muted small">"Loading…"</p> }
                    }>
                        {move || Suspend::new(async move {
                            match repositories.await {
                                Ok(Some(list)) if list.is_empty() => {
                                    view! {
                                        <p class="muted small">
                                            "No repositories yet: create one under "
                                            <a href="/knowledge">"Knowledge"</a> "."
                                        </p>
                                    }
                                        .into_any()
                                }
                                Ok(Some(list)) => {
                                    view! {
                                        <fieldset class="checks">
                                            <legend>"Answer from"</legend>
                                            {list
                                                .into_iter()
                                                .map(|r| {
                                                    let (checked_id, toggled_id) = (r.id.clone(), r.id.clone());
                                                    view! {
                                                        <label class="check">
                                                            <input
                                                                type="checkbox"
                                                                prop:checked=move || {
                                                                    chat.repositories.with(|s| s.contains(&checked_id))
                                                                }
                                                                on:change=move |ev| {
                                                                    let on = event_target_checked(&ev);
                                                                    chat.repositories
                                                                        .update(|s| {
                                                                            s.retain(|x| x != &toggled_id);
                                                                            if on {
                                                                                s.push(toggled_id.clone());
                                                                            }
                                                                        });
                                                                }
                                                            />
                                                            {r.name}
                                                        </label>
                                                    }
                                                })
                                                .collect_view()}
                                        </fieldset>
                                    }
                                        .into_any()
                                }
                                Ok(None) => ().into_any(),
                                Err(err) => {
                                    view! { <p class="error small">{err.for_person()}</p> }
                                        .into_any()
                                }
                            }
                        })}
                    </Transition>
                </div>
            </details>
        </Show>
    }
}

/// A reply's sources: "[1] notes.pdf · page 2", each opening the text the model was shown.
#[component]
pub fn Sources(
    /// The reply's id: each source's anchor is `source-{reply}-{number}`.
    reply: String,
    citations: Vec<CitationView>,
) -> impl IntoView {
    if citations.is_empty() {
        return ().into_any();
    }
    view! {
        <section class="sources" aria-label="Sources">
            <h2 class="sources-title">"Sources"</h2>
            <ol>
                {citations
                    .into_iter()
                    .map(|c| {
                        let place = c
                            .location
                            .clone()
                            .map(|l| format!(" · {l}"))
                            .unwrap_or_default();
                        view! {
                            <li id=super::markdown::source_anchor(&reply, c.number)>
                                <details>
                                    <summary>
                                        {format!("[{}] {}{place}", c.number, c.item_name)}
                                        {(!c.cited)
                                            .then(|| {
                                                view! {
                                                    <span class="muted small">
                                                        " · not cited in the answer"
                                                    </span>
                                                }
                                            })}
                                    </summary>
                                    <p class="chunk-text">{c.content}</p>
                                    {c
                                        .repository_id
                                        .map(|r| {
                                            view! {
                                                <a href=format!("/knowledge/{r}")>"Open the repository"</a>
                                            }
                                        })}
                                </details>
                            </li>
                        }
                    })
                    .collect_view()}
            </ol>
        </section>
    }
    .into_any()
}
