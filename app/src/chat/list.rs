//! The conversation list: search, folders, pinned first, and each entry's menu (rename, pin,
//! move, archive, delete).

use leptos::{prelude::*, task::spawn_local};
use leptos_router::{NavigateOptions, components::A, hooks::use_navigate};

use super::{
    api::{
        archive_conversation, create_folder, delete_conversation, delete_folder,
        list_conversations, list_folders, move_conversation, pin_conversation, rename_conversation,
    },
    state::{Chat, move_to_top, show_problem},
    types::{ConversationItem, FolderView},
};
use crate::{
    error::AppError,
    ui::{ErrorView, PopoverMenu, confirm},
};

#[component]
pub(super) fn ConversationList(current: Memo<Option<String>>) -> impl IntoView {
    let chat = expect_context::<Chat>();
    let (search, set_search) = signal(String::new());
    let (archived, set_archived) = signal(false);
    let (pages, set_pages) = signal(1_i64);
    // The folder shown (None: every conversation).
    let folder = RwSignal::new(None::<String>);
    // Folders change only when one is made or deleted here: moving a conversation or a reply
    // ending must not rebuild the folder picker under the reader's hand.
    let folders_version = RwSignal::new(0_u32);
    let folders = crate::wire::load(move || folders_version.get(), |_| list_folders());
    let list = crate::wire::load(
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
                        let grouped = folder.get_untracked().is_none() && !folders.is_empty()
                            && !archived.get_untracked()
                            && search.get_untracked().trim().is_empty();
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
                            // The plain list (no folder chosen, no search, not the archive):
                            // each folder is a group of its own.
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
                                {if grouped {
                                    view! { <FolderGroups items current folders /> }.into_any()
                                } else {
                                    view! { <Entries items only=None current folders /> }.into_any()
                                }}
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

/// The conversations of each folder under its name (a group that folds away), then those
/// in no folder.
#[component]
fn FolderGroups(
    items: RwSignal<Vec<ConversationItem>>,
    current: Memo<Option<String>>,
    folders: Vec<FolderView>,
) -> impl IntoView {
    let groups = folders
        .iter()
        .map(|f| {
            let id = f.id.clone();
            let count = move || {
                let held = items.with(|items| {
                    items
                        .iter()
                        .filter(|item| item.folder_id.as_deref() == Some(id.as_str()))
                        .count()
                });
                crate::ui::counted(
                    i64::try_from(held).unwrap_or(i64::MAX),
                    "conversation",
                    "conversations",
                )
            };
            view! {
                <details class="folder-group" open>
                    <summary>
                        <span class="folder-name">{f.name.clone()}</span>
                        <span class="muted small">{count}</span>
                    </summary>
                    <Entries items only=Some(Some(f.id.clone())) current folders=folders.clone() />
                </details>
            }
        })
        .collect_view();
    view! {
        {groups}
        <Entries items only=Some(None) current folders />
    }
}

/// The entries of `items`: all of them (`only` is `None`), or those in folder `only`
/// (`Some(None)`: in none).
#[component]
fn Entries(
    items: RwSignal<Vec<ConversationItem>>,
    only: Option<Option<String>>,
    current: Memo<Option<String>>,
    folders: Vec<FolderView>,
) -> impl IntoView {
    let shown = move || {
        items.with(|items| {
            items
                .iter()
                .filter(|item| only.as_ref().is_none_or(|folder| item.folder_id == *folder))
                .cloned()
                .collect::<Vec<_>>()
        })
    };
    view! {
        <ul class="conversation-items">
            <For
                each=shown
                key=|item| item.id.clone()
                children=move |item| {
                    view! { <ConversationEntry item current folders=folders.clone() /> }
                }
            />
        </ul>
    }
}

/// Which folder the list shows, with making and deleting folders.
#[component]
pub(super) fn FolderPicker(
    folders: Vec<FolderView>,
    folder: RwSignal<Option<String>>,
    folders_version: RwSignal<u32>,
    set_pages: WriteSignal<i64>,
) -> impl IntoView {
    let chat = expect_context::<Chat>();
    // "New folder" opens a small form in place: a name, Create or Cancel (Escape).
    let naming = RwSignal::new(false);
    let new_name = RwSignal::new(String::new());
    let create = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let name = new_name.get_untracked();
        spawn_local(async move {
            match create_folder(name).await {
                Ok(created) => {
                    naming.set(false);
                    new_name.set(String::new());
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
            <button
                type="button"
                class="link-button"
                aria-expanded=move || naming.get().to_string()
                on:click=move |_| naming.update(|open| *open = !*open)
            >
                "New folder"
            </button>
            <Show when=move || folder.get().is_some()>
                <button type="button" class="link-button danger" on:click=remove>
                    "Delete folder"
                </button>
            </Show>
        </div>
        <Show when=move || naming.get()>
            <form class="new-folder" on:submit=create>
                <label for="new-folder-name">"Name of the new folder"</label>
                <input
                    id="new-folder-name"
                    type="text"
                    required
                    maxlength="100"
                    autofocus
                    bind:value=new_name
                    on:keydown=move |ev| {
                        if ev.key() == "Escape" {
                            ev.stop_propagation();
                            naming.set(false);
                        }
                    }
                />
                <button type="submit" class="button small-button">
                    "Create"
                </button>
                <button type="button" class="link-button" on:click=move |_| naming.set(false)>
                    "Cancel"
                </button>
            </form>
        </Show>
    }
}

#[component]
pub(super) fn ConversationEntry(
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
                                ev.stop_propagation();
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
            <PopoverMenu
                id=format!("conversation-menu-{}", id.get_value())
                button_class="entry-menu-button"
                panel_class="entry-menu-panel"
                label=format!("Actions for {name}")
                close_on_choice=true
                button=|| "⋯"
            >
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
                                        crate::ui::browser::close_enclosing_menu(&ev);
                                        spawn_local(async move {
                                            done(move_conversation(id.get_value(), target).await);
                                        });
                                    }
                                >
                                    <option value="">"No folder"</option>
                                    {folders
                                        .iter()
                                        .map(|f| {
                                            let chosen = f.id == current_folder;
                                            view! {
                                                <option value=f.id.clone() selected=chosen>
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
            </PopoverMenu>
        </li>
    }
}
