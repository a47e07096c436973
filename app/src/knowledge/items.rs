//! A repository's items, followed live through the pipeline: status and progress, the
//! chunks each was cut into, reprocess and remove.

use leptos::{prelude::*, task::spawn_local};

use super::{
    api::{item_chunks, remove_item, reprocess_item},
    types::{ChunkView, ItemStatus, ItemView, human_size},
};
use crate::{
    error::AppError,
    ui::{DataTable, ErrorView, confirm},
};

/// Keeps `items` current from the repository's event stream (browser only).
pub(super) fn follow_items(repository: String, items: RwSignal<Vec<ItemView>>) {
    crate::ui::events::follow(
        format!("/api/knowledge/repositories/{repository}/events"),
        vec![(
            super::types::ITEMS_EVENT,
            Box::new(move |data: String| {
                if let Ok(now) = crate::wire::parse::<Vec<ItemView>>(&data) {
                    items.set(now);
                }
                true
            }),
        )],
    );
}

fn status_text(item: &ItemView) -> String {
    match item.status {
        ItemStatus::Uploading => "Uploading".to_owned(),
        ItemStatus::Queued => "Queued".to_owned(),
        ItemStatus::Extracting => "Reading the text".to_owned(),
        ItemStatus::Ocr if item.progress_total > 1 => format!(
            "Recognising text (OCR), page {} of {}",
            item.progress_done, item.progress_total
        ),
        ItemStatus::Ocr => "Recognising text (OCR)".to_owned(),
        ItemStatus::Chunking => "Cutting into chunks".to_owned(),
        ItemStatus::Embedding if item.progress_total > 0 => format!(
            "Embedding {} of {}",
            item.progress_done, item.progress_total
        ),
        ItemStatus::Embedding => "Embedding".to_owned(),
        ItemStatus::Ready => format!(
            "Ready · {}",
            crate::ui::counted(item.chunk_count, "chunk", "chunks")
        ),
        ItemStatus::Failed => "Failed".to_owned(),
    }
}

#[component]
pub(super) fn ItemTable(
    repo_id: StoredValue<String>,
    items: RwSignal<Vec<ItemView>>,
    is_owner: bool,
    set_status: WriteSignal<Option<(bool, String)>>,
    chunks_of: RwSignal<Option<(String, String)>>,
) -> impl IntoView {
    let columns = ["Name", "Type", "Size", "Status", "Actions"]
        .map(str::to_owned)
        .to_vec();
    view! {
        <Show
            when=move || items.with(|i| !i.is_empty())
            fallback=|| view! { <p class="empty">"Nothing here yet."</p> }
        >
            <DataTable label="Items" columns=columns.clone() class="items">
                <For
                    each=move || items.get()
                    key=|item| {
                        (
                            item.id.clone(),
                            item.status,
                            item.progress_done,
                            item.error.clone(),
                            item.chunk_count,
                        )
                    }
                    let:item
                >
                    <ItemRow repo_id item is_owner set_status chunks_of />
                </For>
            </DataTable>
        </Show>
    }
}

#[component]
fn ItemRow(
    repo_id: StoredValue<String>,
    item: ItemView,
    is_owner: bool,
    set_status: WriteSignal<Option<(bool, String)>>,
    chunks_of: RwSignal<Option<(String, String)>>,
) -> impl IntoView {
    let repository = repo_id.get_value();
    let download = format!(
        "/api/knowledge/repositories/{repository}/items/{}/original",
        item.id
    );
    let kind = item
        .content_kind
        .clone()
        .unwrap_or_else(|| item.kind.clone());
    let label = status_text(&item);
    let progress = (matches!(item.status, ItemStatus::Embedding | ItemStatus::Ocr)
        && item.progress_total > 0)
        .then_some((item.progress_done, item.progress_total));
    let failed = item.status == ItemStatus::Failed;
    let ocr_note =
        (!item.pages_without_text.is_empty() && item.status == ItemStatus::Ready).then(|| {
            format!(
                "{} page(s) had no text that could be read and were left out.",
                item.pages_without_text.len()
            )
        });
    let (item_id, name) = (item.id.clone(), item.name.clone());
    let (retry_id, remove_id, remove_name) = (item.id.clone(), item.id.clone(), item.name.clone());
    let is_ready = item.status == ItemStatus::Ready;
    let working = item.is_working();
    let show_chunks = {
        let (item_id, name) = (item_id.clone(), name.clone());
        move |_| chunks_of.set(Some((item_id.clone(), name.clone())))
    };
    let retry = move |_| {
        let (repository, item) = (repo_id.get_value(), retry_id.clone());
        spawn_local(async move {
            match reprocess_item(repository, item).await {
                Ok(()) => set_status.set(Some((true, "Processing again.".into()))),
                Err(err) => set_status.set(Some((false, err.for_person()))),
            }
        });
    };
    let remove = move |_| {
        if !confirm(&format!("Remove {remove_name}? Its chunks go with it.")) {
            return;
        }
        let (repository, item, name) =
            (repo_id.get_value(), remove_id.clone(), remove_name.clone());
        spawn_local(async move {
            match remove_item(repository, item).await {
                Ok(()) => set_status.set(Some((true, format!("{name} removed.")))),
                Err(err) => set_status.set(Some((false, err.for_person()))),
            }
        });
    };
    view! {
        <tr role="row" class:failed=failed data-status=item.status.as_str()>
            <td role="cell" class="break">
                {if item.kind == "url" {
                    view! {
                        <a href=item.name.clone() target="_blank" rel="noopener noreferrer">
                            {item.name.clone()}
                        </a>
                    }
                        .into_any()
                } else {
                    view! {
                        <a href=download download=item.name.clone()>
                            {item.name.clone()}
                        </a>
                    }
                        .into_any()
                }}
            </td>
            <td role="cell" data-label="Type">
                {kind}
            </td>
            <td role="cell" class="nowrap" data-label="Size">
                {human_size(item.size_bytes)}
            </td>
            <td role="cell" class="item-status" data-label="Status">
                <span class="status-label">{label}</span>
                {progress
                    .map(|(done, total)| {
                        view! {
                            <progress
                                max=total
                                value=done
                                aria-label=format!("{} embedding progress", item.name)
                            ></progress>
                        }
                    })}
                {working
                    .then(|| {
                        progress
                            .is_none()
                            .then(|| {
                                view! {
                                    <progress aria-label=format!(
                                        "{} in progress",
                                        item.name,
                                    )></progress>
                                }
                            })
                    })}
                {item.error.clone().map(|e| view! { <p class="error small">{e}</p> })}
                {ocr_note.map(|n| view! { <p class="muted small">{n}</p> })}
            </td>
            <td role="cell" class="actions">
                {is_ready
                    .then(|| {
                        view! {
                            <button class="button secondary" on:click=show_chunks>
                                "Chunks"
                                <span class="visually-hidden">" of " {name.clone()}</span>
                            </button>
                        }
                    })}
                {(is_owner && !working)
                    .then(|| {
                        view! {
                            <button class="button secondary" on:click=retry>
                                {if failed { "Retry" } else { "Re-process" }}
                                <span class="visually-hidden">" " {name.clone()}</span>
                            </button>
                        }
                    })}
                {is_owner
                    .then(|| {
                        view! {
                            <button class="button danger" on:click=remove>
                                "Remove"
                                <span class="visually-hidden">" " {name.clone()}</span>
                            </button>
                        }
                    })}
            </td>
        </tr>
    }
}

#[component]
pub(super) fn Chunks(
    repository: String,
    item: String,
    name: String,
    chunks_of: RwSignal<Option<(String, String)>>,
) -> impl IntoView {
    let chunks = crate::wire::load(
        move || (repository.clone(), item.clone()),
        |(r, i)| item_chunks(r, i),
    );
    view! {
        <section class="panel chunks" aria-labelledby="chunks-heading">
            <div class="panel-head">
                <h2 id="chunks-heading">"Chunks of " {name}</h2>
                <button class="button secondary" on:click=move |_| chunks_of.set(None)>
                    "Close"
                </button>
            </div>
            <Transition fallback=|| view! { <p>"Loading chunks…"</p> }>
                <ErrorBoundary fallback=|errors| {
                    view! { <ErrorView errors /> }
                }>
                    {move || Suspend::new(async move {
                        let list: Vec<ChunkView> = chunks.await?;
                        Ok::<
                            _,
                            AppError,
                        >(
                            view! {
                                <ol class="chunk-list">
                                    {list
                                        .into_iter()
                                        .map(|c| {
                                            view! {
                                                <li id=format!("chunk-{}", c.position)>
                                                    <p class="muted small">
                                                        {format!("#{} · {} tokens", c.position + 1, c.token_count)}
                                                        {c.location.map(|l| format!(" · {l}"))}
                                                    </p>
                                                    <p class="chunk-text">{c.content}</p>
                                                </li>
                                            }
                                        })
                                        .collect_view()}
                                </ol>
                            },
                        )
                    })}
                </ErrorBoundary>
            </Transition>
        </section>
    }
}
