//! `/schedules`: the person's schedules, when each runs next, and run now, pause, resume,
//! edit and delete.

use leptos::{prelude::*, task::spawn_local};
use leptos_meta::Title;
use leptos_router::hooks::use_navigate;

use super::{
    api::{delete_schedule, list_schedules, pause_schedule, run_schedule_now},
    types::ScheduleRow,
};
use crate::{
    error::AppError,
    ui::{DataTable, StatusLine, WhenLoaded, confirm},
};

#[component]
pub fn SchedulesPage() -> impl IntoView {
    let changed = RwSignal::new(0u32);
    let schedules = crate::wire::load(move || changed.get(), |_| list_schedules());
    let (status, set_status) = signal(None::<(bool, String)>);
    view! {
        <Title text="Schedules" />
        <section class="page wide">
            <div class="panel-head">
                <h1>"Schedules"</h1>
                <a class="button" href="/schedules/new">
                    "New schedule"
                </a>
            </div>
            <p class="lead">
                "An assistant runs with the inputs you saved at the times you choose; you are told when each run ends, and mailed its results if you ask."
            </p>
            <StatusLine status />
            <WhenLoaded
                data=schedules
                then=move |rows| view! { <Rows rows changed set_status /> }
            />
        </section>
    }
}

#[component]
fn Rows(
    rows: Vec<ScheduleRow>,
    changed: RwSignal<u32>,
    set_status: WriteSignal<Option<(bool, String)>>,
) -> impl IntoView {
    if rows.is_empty() {
        return view! {
            <p class="muted">
                "No schedule yet. Open an assistant and choose “Schedule”, or make one here."
            </p>
        }
        .into_any();
    }
    view! {
        <DataTable
            label="Your schedules"
            columns=["Name", "Assistant", "When", "Next run", "Actions"].map(String::from).to_vec()
        >
            {rows.into_iter().map(|row| view! { <Row row changed set_status /> }).collect_view()}
        </DataTable>
    }
    .into_any()
}

#[component]
fn Row(
    row: ScheduleRow,
    changed: RwSignal<u32>,
    set_status: WriteSignal<Option<(bool, String)>>,
) -> impl IntoView {
    let ScheduleRow {
        id,
        name,
        assistant_name,
        described,
        next_run,
        paused,
        pause_reason,
        failures,
        email,
    } = row;
    let busy = RwSignal::new(false);
    let navigate = use_navigate();
    let (id, name) = (StoredValue::new(id), StoredValue::new(name));
    // Runs `action`, then says `done` and reloads the list, or says why it failed.
    let act = move |action: std::pin::Pin<Box<dyn Future<Output = Result<(), AppError>>>>,
                    done: String| {
        busy.set(true);
        spawn_local(async move {
            match action.await {
                Ok(()) => {
                    set_status.set(Some((true, done)));
                    changed.update(|n| *n += 1);
                }
                Err(err) => set_status.set(Some((false, err.for_person()))),
            }
            busy.set(false);
        });
    };
    let run_now = move |_| {
        let navigate = navigate.clone();
        busy.set(true);
        spawn_local(async move {
            match run_schedule_now(id.get_value()).await {
                Ok(run) => navigate(&format!("/assistants/runs/{run}"), Default::default()),
                Err(err) => {
                    busy.set(false);
                    set_status.set(Some((false, err.for_person())));
                }
            }
        });
    };
    let toggle = move |_| {
        let said = if paused {
            format!("“{}” runs again.", name.get_value())
        } else {
            format!("“{}” is paused.", name.get_value())
        };
        act(Box::pin(pause_schedule(id.get_value(), !paused)), said);
    };
    let delete = move |_| {
        if confirm(&format!(
            "Delete the schedule “{}”? Its past runs stay.",
            name.get_value()
        )) {
            act(
                Box::pin(delete_schedule(id.get_value())),
                format!("“{}” is deleted.", name.get_value()),
            );
        }
    };
    let is_busy = move || busy.get();
    let next = match (paused, next_run) {
        (true, _) => view! {
            <strong>"Paused"</strong>
            {pause_reason.map(|why| view! { <span class="hint">{why}</span> })}
        }
        .into_any(),
        (false, Some(next)) => next.into_any(),
        (false, None) => "Never again".into_any(),
    };
    let failing = (failures > 0 && !paused).then(|| {
        view! { <span class="hint">{format!("{failures} failed in a row")}</span> }
    });
    view! {
        <tr role="row">
            <th role="rowheader" scope="row" data-label="Name">
                {name.get_value()}
                {email.then(|| view! { <span class="hint">"Results mailed"</span> })}
            </th>
            <td role="cell" data-label="Assistant">
                {assistant_name}
            </td>
            <td role="cell" data-label="When">
                {described}
            </td>
            <td role="cell" data-label="Next run">
                {next}
                {failing}
            </td>
            <td role="cell" data-label="Actions" class="actions">
                <button
                    class="button small"
                    aria-label=format!("Run now “{}”", name.get_value())
                    disabled=is_busy
                    on:click=run_now
                >
                    "Run now"
                </button>
                <button
                    class="button small secondary"
                    aria-label=format!(
                        "{} “{}”",
                        if paused { "Resume" } else { "Pause" },
                        name.get_value(),
                    )
                    disabled=is_busy
                    on:click=toggle
                >
                    {if paused { "Resume" } else { "Pause" }}
                </button>
                <a
                    class="button small secondary"
                    aria-label=format!("Edit “{}”", name.get_value())
                    href=format!("/schedules/{}/edit", id.get_value())
                >
                    "Edit"
                </a>
                <button
                    class="button small danger"
                    aria-label=format!("Delete “{}”", name.get_value())
                    disabled=is_busy
                    on:click=delete
                >
                    "Delete"
                </button>
            </td>
        </tr>
    }
}
