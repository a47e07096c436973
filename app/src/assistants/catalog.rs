//! `/assistants`: the assistants the person may run as tiles (searchable), their own
//! assistants when they build them, and their newest runs.

use leptos::prelude::*;
use leptos_meta::Title;

use super::{
    api::assistants_overview,
    types::{AssistantRow, CatalogEntry, Overview, RunRow, icon_path, status_label},
};
use crate::{
    error::AppError,
    ui::{DataTable, ErrorView},
};

#[component]
pub fn AssistantsPage() -> impl IntoView {
    let overview = crate::wire::load(|| (), |()| assistants_overview());
    view! {
        <Title text="Assistants" />
        <section class="page wide">
            <h1>"Assistants"</h1>
            <Transition fallback=|| view! { <p>"Loading…"</p> }>
                <ErrorBoundary fallback=|errors| {
                    view! { <ErrorView errors /> }
                }>
                    {move || Suspend::new(async move {
                        let overview = overview.await?;
                        Ok::<_, AppError>(view! { <OverviewView overview /> })
                    })}
                </ErrorBoundary>
            </Transition>
        </section>
    }
}

#[component]
fn OverviewView(overview: Overview) -> impl IntoView {
    let Overview { catalog, own, runs } = overview;
    let search = RwSignal::new(String::new());
    let catalog = StoredValue::new(catalog);
    let shown = move || {
        let words = search.get().to_lowercase();
        catalog.with_value(|all| {
            all.iter()
                .filter(|a| {
                    words.trim().is_empty()
                        || format!("{} {}", a.name, a.description)
                            .to_lowercase()
                            .contains(words.trim())
                })
                .cloned()
                .collect::<Vec<_>>()
        })
    };
    let none_shown = move || shown().is_empty();
    let catalog_empty = catalog.with_value(Vec::is_empty);
    view! {
        <h2>"Run an assistant"</h2>
        {if catalog_empty {
            view! {
                <p class="muted">
                    "No assistant is shared with you yet. Approved assistants appear here."
                </p>
            }
                .into_any()
        } else {
            view! {
                <div class="search-form" role="search">
                    <label for="assistant-search" class="visually-hidden">
                        "Search assistants"
                    </label>
                    <input
                        id="assistant-search"
                        type="search"
                        placeholder="Search assistants"
                        bind:value=search
                    />
                </div>
                <Show when=none_shown>
                    <p class="muted">"No assistant matches."</p>
                </Show>
                <ul class="cards tiles">
                    {move || {
                        shown().into_iter().map(|entry| view! { <Tile entry /> }).collect_view()
                    }}
                </ul>
            }
                .into_any()
        }}
        {own.map(|own| view! { <Own own /> })}
        <Runs runs />
    }
}

#[component]
fn Tile(entry: CatalogEntry) -> impl IntoView {
    view! {
        <li class="card tile">
            <a href=format!("/assistants/{}", entry.id)>
                <svg aria-hidden="true" viewBox="0 0 24 24" width="28" height="28">
                    <path d=icon_path(&entry.icon) />
                </svg>
                <h3>{entry.name}</h3>
            </a>
            <p>{entry.description}</p>
        </li>
    }
}

#[component]
fn Own(own: Vec<AssistantRow>) -> impl IntoView {
    view! {
        <div class="panel-head">
            <h2>"Your assistants"</h2>
            <a class="button" href="/assistants/new">
                "New assistant"
            </a>
        </div>
        {if own.is_empty() {
            view! {
                <p class="muted">
                    "Turn a job you repeat into a form and a chain of prompts that others can run."
                </p>
            }
                .into_any()
        } else {
            view! {
                <DataTable
                    label="Your assistants"
                    columns=["Name", "Status", "Runs", "Changed"].map(String::from).to_vec()
                >
                    {own
                        .into_iter()
                        .map(|row| {
                            let running = match (row.approved_number, row.disabled) {
                                (_, true) => "disabled".to_owned(),
                                (Some(n), false) => format!("version {n}"),
                                (None, false) => "not yet".to_owned(),
                            };
                            view! {
                                <tr role="row">
                                    <td role="cell" data-label="Name">
                                        <a href=format!(
                                            "/assistants/{}/edit",
                                            row.id,
                                        )>{row.name}</a>
                                    </td>
                                    <td role="cell" data-label="Status">
                                        {status_label(&row.status)}
                                    </td>
                                    <td role="cell" data-label="Runs">
                                        {running}
                                    </td>
                                    <td role="cell" class="nowrap" data-label="Changed">
                                        {row.updated}
                                    </td>
                                </tr>
                            }
                        })
                        .collect_view()}
                </DataTable>
            }
                .into_any()
        }}
    }
}

#[component]
fn Runs(runs: Vec<RunRow>) -> impl IntoView {
    (!runs.is_empty()).then(|| {
        view! {
            <h2>"Your runs"</h2>
            <DataTable
                label="Your runs"
                columns=["Assistant", "Status", "Started"].map(String::from).to_vec()
            >
                {runs
                    .into_iter()
                    .map(|run| {
                        view! {
                            <tr role="row">
                                <td role="cell" data-label="Assistant">
                                    <a href=format!(
                                        "/assistants/runs/{}",
                                        run.id,
                                    )>{run.assistant_name}</a>
                                </td>
                                <td role="cell" data-label="Status">
                                    {status_label(&run.status)}
                                </td>
                                <td role="cell" class="nowrap" data-label="Started">
                                    {run.when}
                                </td>
                            </tr>
                        }
                    })
                    .collect_view()}
            </DataTable>
        }
    })
}
