//! `/knowledge`: the repositories a user can read, a new one, and search across them all.
//! `/knowledge/:id`: one repository: its items followed live through the pipeline, uploads
//! with progress, pasted text, sharing, chunks, and search inside it.

use leptos::{prelude::*, task::spawn_local};
use leptos_meta::Title;
use leptos_router::hooks::{use_navigate, use_params_map};

use super::{
    api::{
        add_text_item, add_url_item, create_repository, delete_repository, get_repository,
        item_chunks, list_repositories, remove_item, repository_shares, reprocess_item,
        search_knowledge, set_repository_shares, update_repository,
    },
    types::{ChunkView, HitView, ItemView, RepositoryView, human_size},
};
use crate::{
    error::AppError,
    ui::{DataTable, ErrorView, StatusLine, confirm},
};

fn problem(err: &AppError) -> String {
    match err {
        AppError::Invalid(message) => message.clone(),
        other => format!("That did not work: {other}."),
    }
}

#[component]
pub fn KnowledgePage() -> impl IntoView {
    let repositories = Resource::new(|| (), |()| list_repositories());
    let (status, set_status) = signal(None::<(bool, String)>);
    let name = RwSignal::new(String::new());
    let description = RwSignal::new(String::new());
    let is_public = RwSignal::new(false);
    let navigate = use_navigate();

    let create = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let navigate = navigate.clone();
        let (n, d, p) = (
            name.get_untracked(),
            description.get_untracked(),
            is_public.get_untracked(),
        );
        spawn_local(async move {
            match create_repository(n, d, p).await {
                Ok(id) => navigate(&format!("/knowledge/{id}"), Default::default()),
                Err(err) => set_status.set(Some((false, problem(&err)))),
            }
        });
    };

    view! {
        <Title text="Knowledge" />
        <section class="page wide knowledge">
            <h1>"Knowledge"</h1>
            <p class="muted">
                "Upload documents, web pages and notes; search them by meaning or by words, and let chat answer from them."
            </p>
            <Transition fallback=|| view! { <p>"Loading repositories…"</p> }>
                <ErrorBoundary fallback=|errors| {
                    view! { <ErrorView errors /> }
                }>
                    {move || Suspend::new(async move {
                        let list = repositories.await?;
                        Ok::<_, AppError>(view! { <RepositoryList list /> })
                    })}
                </ErrorBoundary>
            </Transition>
            <details class="panel">
                <summary>"New repository"</summary>
                <form class="form" on:submit=create>
                    <RepositoryFields prefix="repo" name description is_public />
                    <div class="form-actions">
                        <button class="button" type="submit">
                            "Create repository"
                        </button>
                    </div>
                </form>
            </details>
            <StatusLine status />
            <h2>"Search everything"</h2>
            <SearchPanel repository=None />
        </section>
    }
}

/// The name, description and visibility of a repository, for creating and editing one.
#[component]
fn RepositoryFields(
    /// Makes the fields' ids unique on the page.
    prefix: &'static str,
    name: RwSignal<String>,
    description: RwSignal<String>,
    is_public: RwSignal<bool>,
) -> impl IntoView {
    let (name_id, description_id) = (format!("{prefix}-name"), format!("{prefix}-description"));
    view! {
        <label for=name_id.clone()>"Name"</label>
        <input id=name_id type="text" required maxlength="100" bind:value=name />
        <label for=description_id.clone()>"Description"</label>
        <textarea id=description_id maxlength="2000" rows="2" bind:value=description></textarea>
        <label class="check">
            <input type="checkbox" bind:checked=is_public />
            "Public: everyone who can use knowledge repositories may search it"
        </label>
    }
}

#[component]
fn RepositoryList(list: Vec<RepositoryView>) -> impl IntoView {
    if list.is_empty() {
        return view! { <p class="empty">"No repositories yet. Create one below to add documents."</p> }
        .into_any();
    }
    let columns = ["Name", "Access", "Owner", "Items"]
        .map(str::to_owned)
        .to_vec();
    view! {
        <DataTable label="Repositories" columns>
            {list
                .into_iter()
                .map(|r| {
                    let items = if r.item_count == r.ready_count {
                        format!("{}", r.item_count)
                    } else {
                        format!("{} ({} ready)", r.item_count, r.ready_count)
                    };
                    view! {
                        <tr>
                            <td>
                                <a href=format!("/knowledge/{}", r.id)>{r.name}</a>
                                <div class="muted small">{r.description}</div>
                            </td>
                            <td>{r.access_label} {r.is_public.then_some(" · public")}</td>
                            <td>{r.owner_name}</td>
                            <td>{items}</td>
                        </tr>
                    }
                })
                .collect_view()}
        </DataTable>
    }
    .into_any()
}

#[component]
pub fn RepositoryPage() -> impl IntoView {
    let params = use_params_map();
    let id = move || params.with(|p| p.get("id").unwrap_or_default());
    let (version, set_version) = signal(0_u32);
    let detail = Resource::new(move || (id(), version.get()), |(id, _)| get_repository(id));

    view! {
        <section class="page wide knowledge">
            <Transition fallback=|| view! { <p>"Loading the repository…"</p> }>
                <ErrorBoundary fallback=|errors| {
                    view! { <ErrorView errors /> }
                }>
                    {move || Suspend::new(async move {
                        let detail = detail.await?;
                        Ok::<
                            _,
                            AppError,
                        >(
                            view! {
                                <Title text=format!("{} · Knowledge", detail.repository.name) />
                                <Repository
                                    repository=detail.repository
                                    items=detail.items
                                    max_upload_bytes=detail.max_upload_bytes
                                    direct_uploads=detail.direct_uploads
                                    set_version
                                />
                            },
                        )
                    })}
                </ErrorBoundary>
            </Transition>
        </section>
    }
}

#[component]
fn Repository(
    repository: RepositoryView,
    items: Vec<ItemView>,
    max_upload_bytes: u64,
    direct_uploads: bool,
    set_version: WriteSignal<u32>,
) -> impl IntoView {
    let (status, set_status) = signal(None::<(bool, String)>);
    let items = RwSignal::new(items);
    follow_items(repository.id.clone(), items);
    let repo_id = StoredValue::new(repository.id.clone());
    let is_owner = repository.is_owner;
    let chunks_of = RwSignal::new(None::<(String, String)>);

    view! {
        <p class="breadcrumb">
            <a href="/knowledge">"Knowledge"</a>
        </p>
        <h1>{repository.name.clone()}</h1>
        <p class="muted">
            {repository.access_label.clone()} " · owner " {repository.owner_name.clone()}
            {repository.is_public.then_some(" · public")}
        </p>
        {(!repository.description.is_empty())
            .then(|| view! { <p>{repository.description.clone()}</p> })}
        <StatusLine status />
        {is_owner
            .then(|| {
                view! {
                    <AddItems
                        repository=repository.id.clone()
                        max_upload_bytes
                        direct_uploads
                        set_status
                    />
                    <Settings repository=repository.clone() set_status set_version />
                }
            })}
        <h2 id="items-heading">"Items"</h2>
        <ItemTable repo_id items is_owner set_status chunks_of />
        {move || {
            chunks_of
                .get()
                .map(|(item, name)| {
                    view! { <Chunks repository=repo_id.get_value() item name chunks_of /> }
                })
        }}
        <h2>"Search this repository"</h2>
        <SearchPanel repository=Some(repository.id.clone()) />
    }
}

/// Keeps `items` current from the repository's event stream (browser only).
fn follow_items(repository: String, items: RwSignal<Vec<ItemView>>) {
    #[cfg(feature = "hydrate")]
    {
        use wasm_bindgen::{JsCast, closure::Closure};

        let url = format!("/api/knowledge/repositories/{repository}/events");
        let Ok(source) = web_sys::EventSource::new(&url) else {
            return;
        };
        let on_items = Closure::<dyn FnMut(web_sys::Event)>::new(move |ev: web_sys::Event| {
            let data = ev
                .dyn_ref::<web_sys::MessageEvent>()
                .and_then(|m| m.data().as_string())
                .unwrap_or_default();
            if let Ok(now) = serde_json::from_str::<Vec<ItemView>>(&data) {
                items.set(now);
            }
        });
        let _ = source.add_event_listener_with_callback(
            super::types::ITEMS_EVENT,
            on_items.as_ref().unchecked_ref(),
        );
        let held = StoredValue::new_local(Some((source, on_items)));
        on_cleanup(move || {
            held.update_value(|h| {
                if let Some((source, _listener)) = h.take() {
                    source.close();
                }
            });
        });
    }
    #[cfg(not(feature = "hydrate"))]
    let _ = (repository, items);
}

fn status_text(item: &ItemView) -> String {
    match item.status.as_str() {
        "uploading" => "Uploading".to_owned(),
        "queued" => "Queued".to_owned(),
        "extracting" => "Reading the text".to_owned(),
        "ocr" if item.progress_total > 1 => format!(
            "Recognising text (OCR), page {} of {}",
            item.progress_done, item.progress_total
        ),
        "ocr" => "Recognising text (OCR)".to_owned(),
        "chunking" => "Cutting into chunks".to_owned(),
        "embedding" if item.progress_total > 0 => format!(
            "Embedding {} of {}",
            item.progress_done, item.progress_total
        ),
        "embedding" => "Embedding".to_owned(),
        "ready" => format!(
            "Ready · {} chunk{}",
            item.chunk_count,
            if item.chunk_count == 1 { "" } else { "s" }
        ),
        "failed" => "Failed".to_owned(),
        other => other.to_owned(),
    }
}

#[component]
fn ItemTable(
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
                            item.status.clone(),
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
    let progress = (matches!(item.status.as_str(), "embedding" | "ocr") && item.progress_total > 0)
        .then_some((item.progress_done, item.progress_total));
    let failed = item.status == "failed";
    let ocr_note = (!item.pages_without_text.is_empty() && item.status == "ready").then(|| {
        format!(
            "{} page(s) had no text that could be read and were left out.",
            item.pages_without_text.len()
        )
    });
    let (item_id, name) = (item.id.clone(), item.name.clone());
    let (retry_id, remove_id, remove_name) = (item.id.clone(), item.id.clone(), item.name.clone());
    let is_ready = item.status == "ready";
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
                Err(err) => set_status.set(Some((false, problem(&err)))),
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
                Err(err) => set_status.set(Some((false, problem(&err)))),
            }
        });
    };
    view! {
        <tr class:failed=failed data-status=item.status.clone()>
            <td class="break">
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
            <td>{kind}</td>
            <td class="nowrap">{human_size(item.size_bytes)}</td>
            <td class="item-status">
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
            <td class="actions">
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
fn Chunks(
    repository: String,
    item: String,
    name: String,
    chunks_of: RwSignal<Option<(String, String)>>,
) -> impl IntoView {
    let chunks = Resource::new(
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

/// One file being uploaded: its name, how far it got, and how it ended.
#[derive(Clone, Copy)]
struct Upload {
    name: StoredValue<String>,
    sent: RwSignal<f64>,
    /// None while sending; then Ok or the reason it was refused.
    outcome: RwSignal<Option<Result<(), String>>>,
}

#[component]
fn AddItems(
    repository: String,
    max_upload_bytes: u64,
    direct_uploads: bool,
    set_status: WriteSignal<Option<(bool, String)>>,
) -> impl IntoView {
    let uploads = RwSignal::new(Vec::<Upload>::new());
    let repository = StoredValue::new(repository);
    let title = RwSignal::new(String::new());
    let text = RwSignal::new(String::new());
    let address = RwSignal::new(String::new());
    let limit = human_size(i64::try_from(max_upload_bytes).unwrap_or(i64::MAX));
    let held = uploader();

    let on_files = move |ev: leptos::ev::Event| {
        start_uploads(
            &ev,
            &repository.get_value(),
            max_upload_bytes,
            direct_uploads,
            uploads,
            held,
        );
    };
    let add_text = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let (t, body) = (title.get_untracked(), text.get_untracked());
        let repository = repository.get_value();
        spawn_local(async move {
            match add_text_item(repository, t, body).await {
                Ok(()) => {
                    title.set(String::new());
                    text.set(String::new());
                    set_status.set(Some((true, "Text added; it is being processed.".into())));
                }
                Err(err) => set_status.set(Some((false, problem(&err)))),
            }
        });
    };

    let add_url = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let url = address.get_untracked();
        let repository = repository.get_value();
        spawn_local(async move {
            match add_url_item(repository, url).await {
                Ok(()) => {
                    address.set(String::new());
                    set_status.set(Some((true, "Page added; it is being fetched.".into())));
                }
                Err(err) => set_status.set(Some((false, problem(&err)))),
            }
        });
    };

    view! {
        <h2>"Add"</h2>
        <div class="add-items">
            <div class="upload">
                <label for="knowledge-files" class="button">
                    "Upload files"
                </label>
                <input
                    id="knowledge-files"
                    class="file-input"
                    type="file"
                    multiple
                    accept=".pdf,.docx,.pptx,.xlsx,.csv,.html,.htm,.md,.markdown,.txt,.json,.png,.jpg,.jpeg,.tif,.tiff,application/pdf,text/*,image/*"
                    on:change=on_files
                />
                <p class="muted small">
                    "PDF, Word, PowerPoint, Excel, CSV, HTML, Markdown, text or JSON, and scans or photos of text (read with OCR where the server has it); up to "
                    {limit} " each."
                </p>
                <ul class="uploads" aria-label="Uploads">
                    <For
                        each=move || uploads.get().into_iter().enumerate()
                        key=|(index, _)| *index
                        let:entry
                    >
                        <UploadRow upload=entry.1 />
                    </For>
                </ul>
            </div>
            <details class="panel">
                <summary>"Add a web page"</summary>
                <form class="form" on:submit=add_url>
                    <label for="page-url">"Address"</label>
                    <input
                        id="page-url"
                        type="text"
                        required
                        inputmode="url"
                        autocomplete="url"
                        placeholder="https://example.org/article"
                        bind:value=address
                    />
                    <div class="form-actions">
                        <button class="button" type="submit">
                            "Add page"
                        </button>
                    </div>
                </form>
            </details>
            <details class="panel">
                <summary>"Paste text"</summary>
                <form class="form" on:submit=add_text>
                    <label for="text-title">"Title"</label>
                    <input id="text-title" type="text" maxlength="200" bind:value=title />
                    <label for="text-body">"Text"</label>
                    <textarea id="text-body" rows="6" required bind:value=text></textarea>
                    <div class="form-actions">
                        <button class="button" type="submit">
                            "Add text"
                        </button>
                    </div>
                </form>
            </details>
        </div>
    }
}

#[component]
fn UploadRow(upload: Upload) -> impl IntoView {
    let name = upload.name.get_value();
    let label = format!("Uploading {name}");
    view! {
        <li class="upload-row" class:error=move || matches!(upload.outcome.get(), Some(Err(_)))>
            <span class="break">{name}</span>
            {move || match upload.outcome.get() {
                None => {
                    view! {
                        <progress
                            max="1"
                            value=move || upload.sent.get()
                            aria-label=label.clone()
                        ></progress>
                    }
                        .into_any()
                }
                Some(Ok(())) => view! { <span class="ok">"Uploaded"</span> }.into_any(),
                Some(Err(reason)) => view! { <span role="alert">{reason}</span> }.into_any(),
            }}
        </li>
    }
}

/// The uploads in flight with their listeners, aborted and dropped when the page goes.
#[cfg(feature = "hydrate")]
type Held = StoredValue<
    Vec<(
        web_sys::XmlHttpRequest,
        Vec<wasm_bindgen::closure::Closure<dyn FnMut(web_sys::Event)>>,
    )>,
    LocalStorage,
>;
#[cfg(not(feature = "hydrate"))]
type Held = std::marker::PhantomData<()>;

fn uploader() -> Held {
    #[cfg(feature = "hydrate")]
    {
        let held: Held = StoredValue::new_local(Vec::new());
        on_cleanup(move || {
            held.update_value(|all| {
                for (xhr, _) in all.drain(..) {
                    if xhr.ready_state() != web_sys::XmlHttpRequest::DONE {
                        let _ = xhr.abort();
                    }
                }
            });
        });
        held
    }
    #[cfg(not(feature = "hydrate"))]
    std::marker::PhantomData
}

/// Sends each chosen file with `XMLHttpRequest` (it reports upload progress; `fetch` does
/// not), refusing those over the limit at once. With `direct` uploads each file goes straight
/// to object storage under a grant from `begin_upload`, then `finish_upload` has it checked and
/// queued; otherwise it goes to the server's upload route.
fn start_uploads(
    ev: &leptos::ev::Event,
    repository: &str,
    max_upload_bytes: u64,
    direct: bool,
    uploads: RwSignal<Vec<Upload>>,
    held: Held,
) {
    #[cfg(feature = "hydrate")]
    {
        use wasm_bindgen::JsCast;

        use super::api::{begin_upload, finish_upload};

        let Some(input) = ev
            .target()
            .and_then(|t| t.dyn_into::<web_sys::HtmlInputElement>().ok())
        else {
            return;
        };
        let Some(files) = input.files() else {
            return;
        };
        for index in 0..files.length() {
            let Some(file) = files.get(index) else {
                continue;
            };
            let upload = Upload {
                name: StoredValue::new(file.name()),
                sent: RwSignal::new(0.0),
                outcome: RwSignal::new(None),
            };
            uploads.update(|u| u.push(upload));
            if file.size() > max_upload_bytes as f64 {
                upload.outcome.set(Some(Err(super::types::too_large(
                    &file.name(),
                    max_upload_bytes,
                ))));
                continue;
            }
            if !direct {
                let request = Request {
                    method: "POST".into(),
                    url: format!("/api/knowledge/repositories/{repository}/files"),
                    headers: vec![(
                        "x-file-name".into(),
                        crate::ui::percent_encode(&file.name()),
                    )],
                };
                send_file(request, file, upload, held, None);
                continue;
            }
            let repository = repository.to_owned();
            spawn_local(async move {
                #[expect(
                    clippy::cast_possible_truncation,
                    clippy::cast_sign_loss,
                    reason = "a file's size is a whole, non-negative number of bytes"
                )]
                let size = file.size() as u64;
                match begin_upload(repository.clone(), file.name(), size).await {
                    Ok(grant) => {
                        let request = Request {
                            method: grant.method,
                            url: grant.url,
                            headers: grant.headers,
                        };
                        let item = grant.item;
                        let then: Box<dyn FnOnce()> = Box::new(move || {
                            spawn_local(async move {
                                let outcome = finish_upload(repository, item)
                                    .await
                                    .map_err(|err| problem(&err));
                                upload.outcome.set(Some(outcome));
                            });
                        });
                        send_file(request, file, upload, held, Some(then));
                    }
                    Err(err) => upload.outcome.set(Some(Err(problem(&err)))),
                }
            });
        }
        // The same files may be chosen again.
        input.set_value("");
    }
    #[cfg(not(feature = "hydrate"))]
    let _ = (ev, repository, max_upload_bytes, direct, uploads, held);
}

/// Where and how a file is sent.
#[cfg(feature = "hydrate")]
struct Request {
    method: String,
    url: String,
    headers: Vec<(String, String)>,
}

/// Sends `file` as `request` says, following its progress on `upload`. Once the server took
/// it, `then` runs if given (and sets the outcome); otherwise the upload is done.
#[cfg(feature = "hydrate")]
fn send_file(
    request: Request,
    file: web_sys::File,
    upload: Upload,
    held: Held,
    then: Option<Box<dyn FnOnce()>>,
) {
    use wasm_bindgen::{JsCast, closure::Closure};

    let Ok(xhr) = web_sys::XmlHttpRequest::new() else {
        upload
            .outcome
            .set(Some(Err("This browser cannot upload.".into())));
        return;
    };
    let on_progress = Closure::<dyn FnMut(web_sys::Event)>::new(move |ev: web_sys::Event| {
        if let Some(p) = ev.dyn_ref::<web_sys::ProgressEvent>()
            && p.length_computable()
            && p.total() > 0.0
        {
            upload.sent.set(p.loaded() / p.total());
        }
    });
    let on_end = {
        let xhr = xhr.clone();
        let mut then = then;
        Closure::<dyn FnMut(web_sys::Event)>::new(move |ev: web_sys::Event| {
            let status = xhr.status().unwrap_or(0);
            let outcome = if ev.type_() == "load" && (200..300).contains(&status) {
                if let Some(then) = then.take() {
                    upload.sent.set(1.0);
                    then();
                    return;
                }
                Ok(())
            } else if ev.type_() == "load" {
                let text = xhr.response_text().ok().flatten().unwrap_or_default();
                // Object stores answer in XML, which is no use to show.
                Err(
                    if text.trim().is_empty() || text.trim_start().starts_with('<') {
                        format!("Refused ({status}).")
                    } else {
                        text
                    },
                )
            } else {
                Err("The upload failed: check the connection and try again.".into())
            };
            upload.outcome.set(Some(outcome));
        })
    };
    if let Ok(target) = xhr.upload() {
        let _ = target
            .add_event_listener_with_callback("progress", on_progress.as_ref().unchecked_ref());
    }
    for event in ["load", "error", "abort"] {
        let _ = xhr.add_event_listener_with_callback(event, on_end.as_ref().unchecked_ref());
    }
    let sent = xhr
        .open_with_async(&request.method, &request.url, true)
        .and_then(|()| {
            for (name, value) in &request.headers {
                xhr.set_request_header(name, value)?;
            }
            xhr.send_with_opt_blob(Some(&file))
        });
    if sent.is_err() {
        upload
            .outcome
            .set(Some(Err("The upload could not start.".into())));
    }
    let kept = held.try_update_value(|all| all.push((xhr.clone(), vec![on_progress, on_end])));
    // The page went while the grant was on its way.
    if kept.is_none() {
        let _ = xhr.abort();
    }
}

#[component]
fn Settings(
    repository: RepositoryView,
    set_status: WriteSignal<Option<(bool, String)>>,
    set_version: WriteSignal<u32>,
) -> impl IntoView {
    let id = StoredValue::new(repository.id.clone());
    let name = RwSignal::new(repository.name.clone());
    let description = RwSignal::new(repository.description.clone());
    let is_public = RwSignal::new(repository.is_public);
    let navigate = use_navigate();

    let save = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let (n, d, p) = (
            name.get_untracked(),
            description.get_untracked(),
            is_public.get_untracked(),
        );
        spawn_local(async move {
            match update_repository(id.get_value(), n, d, p).await {
                Ok(()) => {
                    set_status.set(Some((true, "Saved.".into())));
                    set_version.update(|v| *v += 1);
                }
                Err(err) => set_status.set(Some((false, problem(&err)))),
            }
        });
    };
    let delete = move |_| {
        if !confirm("Delete this repository with all its items? This cannot be undone.") {
            return;
        }
        let navigate = navigate.clone();
        spawn_local(async move {
            match delete_repository(id.get_value()).await {
                Ok(()) => navigate("/knowledge", Default::default()),
                Err(err) => set_status.set(Some((false, problem(&err)))),
            }
        });
    };

    view! {
        <details class="panel">
            <summary>"Settings and sharing"</summary>
            <form class="form" on:submit=save>
                <RepositoryFields prefix="edit" name description is_public />
                <div class="form-actions">
                    <button class="button" type="submit">
                        "Save"
                    </button>
                    <button class="button danger" type="button" on:click=delete>
                        "Delete repository"
                    </button>
                </div>
            </form>
            <Sharing id=repository.id.clone() set_status />
        </details>
    }
}

#[component]
fn Sharing(id: String, set_status: WriteSignal<Option<(bool, String)>>) -> impl IntoView {
    let id = StoredValue::new(id);
    let shares = Resource::new(move || id.get_value(), repository_shares);
    view! {
        <Transition fallback=|| ()>
            <ErrorBoundary fallback=|errors| {
                view! { <ErrorView errors /> }
            }>
                {move || Suspend::new(async move {
                    let current = shares.await?;
                    let emails = RwSignal::new(current.user_emails.join(", "));
                    let roles = RwSignal::new(current.role_names.clone());
                    let save = move |ev: leptos::ev::SubmitEvent| {
                        ev.prevent_default();
                        let (e, r) = (emails.get_untracked(), roles.get_untracked());
                        spawn_local(async move {
                            match set_repository_shares(id.get_value(), e, r).await {
                                Ok(()) => set_status.set(Some((true, "Sharing saved.".into()))),
                                Err(err) => set_status.set(Some((false, problem(&err)))),
                            }
                        });
                    };
                    Ok::<
                        _,
                        AppError,
                    >(
                        view! {
                            <form class="form" on:submit=save>
                                <h3>"Share (read-only)"</h3>
                                <label for="share-emails">"With people (email addresses)"</label>
                                <input
                                    id="share-emails"
                                    type="text"
                                    placeholder="name@school.org, other@school.org"
                                    bind:value=emails
                                />
                                <fieldset class="checks">
                                    <legend>"With everyone who has the role"</legend>
                                    {current
                                        .roles
                                        .into_iter()
                                        .map(|role| {
                                            let (checked_role, toggled_role) = (
                                                role.clone(),
                                                role.clone(),
                                            );
                                            view! {
                                                <label class="check">
                                                    <input
                                                        type="checkbox"
                                                        prop:checked=move || {
                                                            roles.with(|r| r.contains(&checked_role))
                                                        }
                                                        on:change=move |ev| {
                                                            let on = event_target_checked(&ev);
                                                            roles
                                                                .update(|r| {
                                                                    r.retain(|x| x != &toggled_role);
                                                                    if on {
                                                                        r.push(toggled_role.clone());
                                                                    }
                                                                });
                                                        }
                                                    />
                                                    {role}
                                                </label>
                                            }
                                        })
                                        .collect_view()}
                                </fieldset>
                                <div class="form-actions">
                                    <button class="button" type="submit">
                                        "Save sharing"
                                    </button>
                                </div>
                            </form>
                        },
                    )
                })}
            </ErrorBoundary>
        </Transition>
    }
}

fn percent(value: f32) -> String {
    format!("{:.0}%", (value * 100.0).clamp(0.0, 100.0))
}

/// The search form and its results: each hit with its scores and the query words it holds.
#[component]
pub fn SearchPanel(repository: Option<String>) -> impl IntoView {
    let query = RwSignal::new(String::new());
    let mode = RwSignal::new("hybrid".to_owned());
    let weight = RwSignal::new(70_u32);
    let results = RwSignal::new(None::<Result<Vec<HitView>, String>>);
    let searching = RwSignal::new(false);
    let repository = StoredValue::new(repository.unwrap_or_default());

    let run = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let (q, m, w) = (
            query.get_untracked(),
            mode.get_untracked(),
            weight.get_untracked() as f32 / 100.0,
        );
        searching.set(true);
        spawn_local(async move {
            let found = search_knowledge(q, repository.get_value(), m, w).await;
            searching.set(false);
            results.set(Some(found.map_err(|e| problem(&e))));
        });
    };
    let mode_choice = move |value: &'static str, label: &'static str| {
        view! {
            <label class="check">
                <input
                    type="radio"
                    name="search-mode"
                    value=value
                    prop:checked=move || mode.get() == value
                    on:change=move |_| mode.set(value.to_owned())
                />
                {label}
            </label>
        }
    };

    view! {
        <form class="form search-form" role="search" on:submit=run>
            <label for="knowledge-query">"Search for"</label>
            <input
                id="knowledge-query"
                type="search"
                required
                maxlength="2000"
                placeholder="A question or some words"
                bind:value=query
            />
            <fieldset class="checks inline">
                <legend>"Match"</legend>
                {mode_choice("hybrid", "Both")}
                {mode_choice("semantic", "By meaning")}
                {mode_choice("keyword", "By words")}
            </fieldset>
            <Show when=move || mode.get() == "hybrid">
                <label for="semantic-weight">
                    "Weight of meaning: " {move || format!("{}%", weight.get())}
                </label>
                <input
                    id="semantic-weight"
                    type="range"
                    min="0"
                    max="100"
                    step="5"
                    prop:value=move || weight.get().to_string()
                    on:input=move |ev| {
                        if let Ok(v) = event_target_value(&ev).parse() {
                            weight.set(v);
                        }
                    }
                />
            </Show>
            <div class="form-actions">
                <button class="button" type="submit" disabled=move || searching.get()>
                    {move || if searching.get() { "Searching…" } else { "Search" }}
                </button>
            </div>
        </form>
        <div class="search-results" aria-live="polite">
            {move || {
                results
                    .get()
                    .map(|found| match found {
                        Err(message) => view! { <p class="error">{message}</p> }.into_any(),
                        Ok(hits) if hits.is_empty() => {
                            view! { <p class="empty">"Nothing matched."</p> }.into_any()
                        }
                        Ok(hits) => {
                            view! {
                                <ol class="hits">
                                    {hits
                                        .into_iter()
                                        .map(|hit| view! { <Hit hit /> })
                                        .collect_view()}
                                </ol>
                            }
                                .into_any()
                        }
                    })
            }}
        </div>
    }
}

#[component]
fn Hit(hit: HitView) -> impl IntoView {
    let mut why = Vec::new();
    if let Some(s) = hit.semantic {
        why.push(format!("meaning {}", percent(s)));
    }
    if let Some(k) = hit.keyword {
        why.push(format!("words {}", percent(k)));
    }
    if !hit.matched_terms.is_empty() {
        why.push(format!("contains {}", hit.matched_terms.join(", ")));
    }
    let source = match &hit.location {
        Some(location) => format!("{} · {location}", hit.item_name),
        None => hit.item_name.clone(),
    };
    view! {
        <li class="hit">
            <p class="hit-head">
                <span class="score" title="Score">
                    {percent(hit.score)}
                </span>
                <a href=format!("/knowledge/{}", hit.repository_id)>{hit.repository_name}</a>
                " · "
                {source}
            </p>
            <p class="chunk-text">{hit.content}</p>
            <p class="muted small">{why.join(" · ")}</p>
        </li>
    }
}
