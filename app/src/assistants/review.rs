//! `/admin/assistants`: every assistant with a status filter; a chosen one is read whole and
//! approved for chosen roles (and linked from the navigation), rejected with a note, disabled
//! or enabled. Assistants are
//! exported as versioned JSON and imported from such a file. Below, each assistant's use.

use leptos::{prelude::*, task::spawn_local};
use leptos_meta::Title;

use super::{
    api::{
        approve_assistant, disable_assistant, place_assistant, reject_assistant, review_detail,
        review_list,
    },
    graph::PromptGraph,
    types::{AssistantRow, PlaceChoice, Review, status_label},
    usage::AssistantUsage,
};
use crate::{
    error::AppError,
    ui::{ChoiceBox, DataTable, ErrorView, StatusLine, WhenLoaded, toggle},
};

const FILTERS: &[(&str, &str)] = &[
    ("pending", "Waiting for review"),
    ("", "All"),
    ("approved", "Approved"),
    ("draft", "Drafts"),
    ("rejected", "Changes asked"),
];

#[component]
pub fn AdminAssistantsPage() -> impl IntoView {
    let filter = RwSignal::new("pending".to_owned());
    let version = RwSignal::new(0u32);
    let rows = crate::wire::load(
        move || (filter.get(), version.get()),
        |(f, _)| review_list(f),
    );
    let chosen = RwSignal::new(None::<String>);
    let selected = RwSignal::new(Vec::<String>::new());
    let export_href = move || {
        format!(
            "/api/admin/assistants/export?ids={}",
            selected.get().join(",")
        )
    };
    let nothing_selected = move || selected.with(Vec::is_empty);
    view! {
        <Title text="Assistants · Administration" />
        <section class="page wide">
            <h1>"Assistants"</h1>
            <div class="toolbar">
                <label for="assistant-filter">"Show"</label>
                <select
                    id="assistant-filter"
                    on:change=move |ev| {
                        filter.set(event_target_value(&ev));
                        selected.set(Vec::new());
                    }
                    prop:value=move || filter.get()
                >
                    {FILTERS
                        .iter()
                        .map(|(value, label)| view! { <option value=*value>{*label}</option> })
                        .collect_view()}
                </select>
                <a
                    class="button secondary"
                    href=export_href
                    download="assistants.json"
                    aria-disabled=move || nothing_selected().to_string()
                    class:disabled=nothing_selected
                >
                    "Export selected"
                </a>
                <Import version />
            </div>
            <WhenLoaded data=rows then=move |rows| view! { <Rows rows chosen selected /> } />
            {move || {
                chosen
                    .get()
                    .map(|id| {
                        view! { <ReviewPanel id version chosen /> }
                    })
            }}
            <AssistantUsage />
        </section>
    }
}

#[component]
fn Rows(
    rows: Vec<AssistantRow>,
    chosen: RwSignal<Option<String>>,
    selected: RwSignal<Vec<String>>,
) -> impl IntoView {
    if rows.is_empty() {
        return view! { <p class="muted">"No assistant here."</p> }.into_any();
    }
    view! {
        <DataTable
            label="Assistants"
            columns=["Export", "Name", "Owner", "Status", "Runs", "Changed", ""]
                .map(String::from)
                .to_vec()
        >
            {rows
                .into_iter()
                .map(|row| {
                    let id = row.id.clone();
                    let running = match (row.approved_number, row.disabled) {
                        (_, true) => "disabled".to_owned(),
                        (Some(n), false) => format!("version {n}"),
                        (None, false) => "not yet".to_owned(),
                    };
                    let name = row.name.clone();
                    view! {
                        <tr role="row">
                            <td role="cell" data-label="Export">
                                <input
                                    type="checkbox"
                                    aria-label=format!("Select {name} for export")
                                    on:change={
                                        let id = id.clone();
                                        move |ev| toggle(selected, &id, event_target_checked(&ev))
                                    }
                                />
                            </td>
                            <td role="cell" data-label="Name">
                                {row.name.clone()}
                            </td>
                            <td role="cell" class="break" data-label="Owner">
                                {row.owner}
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
                            <td role="cell">
                                <button
                                    type="button"
                                    class="button secondary small"
                                    aria-label=format!("Review {}", row.name)
                                    on:click=move |_| chosen.set(Some(id.clone()))
                                >
                                    "Review"
                                </button>
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
fn ReviewPanel(
    id: String,
    version: RwSignal<u32>,
    chosen: RwSignal<Option<String>>,
) -> impl IntoView {
    let id = StoredValue::new(id);
    // Outlives the review it speaks of, which is read again after each change.
    let (message, set_message) = signal(None::<(bool, String)>);
    let review = crate::wire::load(
        move || (id.get_value(), version.get()),
        |(id, _)| review_detail(id),
    );
    view! {
        <section class="panel review" aria-labelledby="review-title">
            <Transition fallback=|| view! { <p>"Loading…"</p> }>
                <ErrorBoundary fallback=|errors| {
                    view! { <ErrorView errors /> }
                }>
                    {move || Suspend::new(async move {
                        let review = review.await?;
                        Ok::<
                            _,
                            AppError,
                        >(
                            view! {
                                <ReviewView
                                    review
                                    id=id.get_value()
                                    version
                                    chosen
                                    message
                                    set_message
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
fn ReviewView(
    review: Review,
    id: String,
    version: RwSignal<u32>,
    chosen: RwSignal<Option<String>>,
    message: ReadSignal<Option<(bool, String)>>,
    set_message: WriteSignal<Option<(bool, String)>>,
) -> impl IntoView {
    let Review {
        number,
        status,
        definition,
        models,
        graph,
        roles,
        places,
    } = review;
    let granted = RwSignal::new(
        roles
            .iter()
            .filter(|r| r.granted)
            .map(|r| r.id.clone())
            .collect::<Vec<_>>(),
    );
    let note = RwSignal::new(String::new());
    let id = StoredValue::new(id);
    let pending = status == "pending";
    let done = move |result: Result<(), AppError>, text: &'static str| match result {
        Ok(()) => {
            set_message.set(Some((true, text.into())));
            version.update(|v| *v += 1);
        }
        Err(err) => set_message.set(Some((false, err.for_person()))),
    };
    let approve = move |_| {
        let roles = granted.get_untracked();
        spawn_local(async move {
            done(approve_assistant(id.get_value(), roles).await, "Approved.");
        });
    };
    let reject = move |_| {
        let text = note.get_untracked();
        spawn_local(async move {
            done(
                reject_assistant(id.get_value(), text).await,
                "Rejected; the owner reads your note.",
            );
        });
    };
    let disable = move |on: bool| {
        spawn_local(async move {
            done(
                disable_assistant(id.get_value(), on).await,
                if on { "Disabled." } else { "Enabled." },
            );
        });
    };
    view! {
        <div class="panel-head">
            <h2 id="review-title">
                {format!("{} (version {number}, {})", definition.name, status_label(&status))}
            </h2>
            <button type="button" class="button secondary small" on:click=move |_| chosen.set(None)>
                "Close"
            </button>
        </div>
        <p>{definition.description.clone()}</p>
        {(!definition.category.is_empty())
            .then(|| view! { <p>{format!("Category: {}", definition.category)}</p> })}
        <h3>"Input fields"</h3>
        <ul>
            {definition
                .fields
                .iter()
                .map(|f| {
                    view! { <li>{format!("{} ({{{{{}}}}}, {})", f.label, f.name, f.kind)}</li> }
                })
                .collect_view()}
        </ul>
        <h3>"Prompts"</h3>
        <ol>
            {definition
                .prompts
                .iter()
                .zip(models)
                .map(|(p, model)| {
                    view! {
                        <li>
                            <strong>{p.name.clone()}</strong>
                            {format!(" ({{{{{}}}}}, {model})", p.key)}
                            <pre class="prompt-text">{p.content.clone()}</pre>
                        </li>
                    }
                })
                .collect_view()}
        </ol>
        <PromptGraph nodes=graph />
        <fieldset>
            <legend>"Roles that run it"</legend>
            {roles
                .into_iter()
                .map(|role| view! { <ChoiceBox value=role.id label=role.name chosen=granted /> })
                .collect_view()}
        </fieldset>
        {pending
            .then(|| {
                view! {
                    <div class="form">
                        <button type="button" class="button" on:click=approve>
                            "Approve for these roles"
                        </button>
                        <label for="review-note">"What to change"</label>
                        <textarea
                            id="review-note"
                            rows="3"
                            maxlength="2000"
                            bind:value=note
                        ></textarea>
                        <button type="button" class="button secondary" on:click=reject>
                            "Reject with this note"
                        </button>
                    </div>
                }
            })}
        {(!places.is_empty()).then(|| view! { <Placement places id version set_message /> })}
        <div class="form-actions">
            <button type="button" class="button danger" on:click=move |_| disable(true)>
                "Disable"
            </button>
            <button type="button" class="button secondary" on:click=move |_| disable(false)>
                "Enable"
            </button>
            <StatusLine status=message />
        </div>
    }
}

/// Where the approved assistant is linked from in the navigation, and a link added in one more
/// place (the catalog lists it either way).
#[component]
fn Placement(
    places: Vec<PlaceChoice>,
    id: StoredValue<String>,
    version: RwSignal<u32>,
    set_message: WriteSignal<Option<(bool, String)>>,
) -> impl IntoView {
    let (linked, open): (Vec<_>, Vec<_>) = places.into_iter().partition(|p| p.holds_it);
    let linked = if linked.is_empty() {
        "Only the catalog lists it so far.".to_owned()
    } else {
        format!(
            "Linked from: {}.",
            linked
                .iter()
                .map(|p| p.name.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        )
    };
    let place = RwSignal::new(open.first().map(|p| p.parent.clone()).unwrap_or_default());
    let add = move |_| {
        let parent = place.get_untracked();
        spawn_local(async move {
            match place_assistant(id.get_value(), parent).await {
                Ok(()) => {
                    set_message.set(Some((true, "Link added.".into())));
                    version.update(|v| *v += 1);
                }
                Err(err) => set_message.set(Some((false, err.for_person()))),
            }
        });
    };
    view! {
        <fieldset>
            <legend>"In the navigation"</legend>
            <p>{linked}</p>
            {(!open.is_empty())
                .then(|| {
                    view! {
                        <label for="review-place">"Add a link in"</label>
                        <select id="review-place" bind:value=place>
                            {open
                                .into_iter()
                                .map(|p| view! { <option value=p.parent>{p.name}</option> })
                                .collect_view()}
                        </select>
                        <button type="button" class="button secondary" on:click=add>
                            "Add the link"
                        </button>
                    }
                })}
        </fieldset>
    }
}

/// Imports a file of exported assistants; says what each became.
#[component]
fn Import(version: RwSignal<u32>) -> impl IntoView {
    let (status, set_status) = signal(None::<(bool, String)>);
    let uploader = crate::ui::upload::Uploader::new();
    let _ = &uploader;
    let on_change = move |ev: leptos::ev::Event| {
        #[cfg(feature = "hydrate")]
        {
            let Some(file) = crate::ui::upload::chosen_file(&ev) else {
                return;
            };
            let to =
                crate::ui::upload::Destination::route("/api/admin/assistants/import", &file.name());
            uploader.send(
                to,
                file,
                |_| {},
                move |answer| match answer {
                    Ok(body) => {
                        let lines = crate::wire::parse::<Vec<String>>(&body).unwrap_or_default();
                        set_status.set(Some((true, format!("Imported: {}", lines.join("; ")))));
                        version.update(|v| *v += 1);
                    }
                    Err(reason) => set_status.set(Some((false, reason))),
                },
            );
        }
        #[cfg(not(feature = "hydrate"))]
        let _ = (ev, set_status, version);
    };
    view! {
        <label class="button secondary file-button">
            "Import…"
            <input
                type="file"
                accept="application/json,.json"
                class="visually-hidden"
                on:change=on_change
            />
        </label>
        <StatusLine status />
    }
}
