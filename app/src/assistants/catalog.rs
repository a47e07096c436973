//! `/assistants`: the assistants the person may run as tiles (searchable, filtered by
//! category), their own
//! assistants when they build them, and their newest runs.

use leptos::prelude::*;
use leptos_meta::Title;

use super::{
    api::assistants_overview,
    types::{AssistantRow, Overview, RunRow, status_label},
};
use crate::ui::{DataTable, Tile, TileGrid, WhenLoaded};

#[component]
pub fn AssistantsPage() -> impl IntoView {
    let overview = crate::wire::load(|| (), |()| assistants_overview());
    view! {
        <Title text="Assistants" />
        <section class="page wide">
            <h1>"Assistants"</h1>
            <WhenLoaded data=overview then=move |overview| view! { <OverviewView overview /> } />
        </section>
    }
}

#[component]
fn OverviewView(overview: Overview) -> impl IntoView {
    let Overview { catalog, own, runs } = overview;
    let tiles = catalog
        .into_iter()
        .map(|entry| Tile {
            href: format!("/assistants/{}", entry.id),
            icon: entry.icon,
            label: entry.name,
            description: entry.description,
            category: entry.category,
        })
        .collect();
    view! {
        <h2>"Run an assistant"</h2>
        <TileGrid
            tiles
            search_id="assistant-search"
            search_label="Search assistants".to_owned()
            empty="No assistant is shared with you yet. Approved assistants appear here."
            none_match="No assistant matches."
            nested=true
        />
        {own.map(|own| view! { <Own own /> })}
        <Runs runs />
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
