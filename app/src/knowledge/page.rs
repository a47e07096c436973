//! `/knowledge`: the repositories a user can read, a new one, and search across them all.
//! `/knowledge/:id`: one repository: its items followed live through the pipeline, uploads
//! with progress, pasted text, sharing, chunks, and search inside it. Each part is in its own
//! file (`items.rs`, `upload.rs`, `settings.rs`, `search.rs`); this one puts them together.

use leptos::{prelude::*, task::spawn_local};
use leptos_meta::Title;
use leptos_router::hooks::{use_navigate, use_params_map};

use super::{
    api::{create_repository, get_repository, list_repositories},
    items::{Chunks, ItemTable, follow_items},
    search::SearchPanel,
    settings::{RepositoryFields, Settings},
    types::{ItemView, RepositoryView},
    upload::AddItems,
};
use crate::{
    error::AppError,
    ui::{DataTable, ErrorView, StatusLine},
};

#[component]
pub fn KnowledgePage() -> impl IntoView {
    let repositories = crate::wire::load(|| (), |()| list_repositories());
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
                Err(err) => set_status.set(Some((false, err.for_person()))),
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
                    // Someone who may not use knowledge sees why, and nothing to fill in.
                    {move || {
                        let create = create.clone();
                        Suspend::new(async move {
                            let list = repositories.await?;
                            Ok::<
                                _,
                                AppError,
                            >(
                                view! {
                                    <RepositoryList list />
                                    <details class="panel">
                                        <summary>"New repository"</summary>
                                        <form class="form" on:submit=create>
                                            <RepositoryFields
                                                prefix="repo"
                                                name
                                                description
                                                is_public
                                            />
                                            <div class="form-actions">
                                                <button class="button" type="submit">
                                                    "Create repository"
                                                </button>
                                                <StatusLine status />
                                            </div>
                                        </form>
                                    </details>
                                    <h2>"Search everything"</h2>
                                    <SearchPanel repository=None />
                                },
                            )
                        })
                    }}
                </ErrorBoundary>
            </Transition>
        </section>
    }
}

/// The name, description and visibility of a repository, for creating and editing one.
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
                        <tr role="row">
                            <td role="cell">
                                <a href=format!("/knowledge/{}", r.id)>{r.name}</a>
                                <div class="muted small">{r.description}</div>
                            </td>
                            <td role="cell" data-label="Access">
                                {r.access_label}
                                {r.is_public.then_some(" · public")}
                            </td>
                            <td role="cell" data-label="Owner">
                                {r.owner_name}
                            </td>
                            <td role="cell" data-label="Items">
                                {items}
                            </td>
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
    let detail = crate::wire::load(move || (id(), version.get()), |(id, _)| get_repository(id));

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
                    <Settings repository=repository.clone() set_version />
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
