//! `/schedules/new` (`?assistant=` chooses the assistant) and `/schedules/{id}/edit`: the
//! assistant and its inputs, how often and in which time zone (its next five runs shown as it
//! is written), catch-up and mail.

use std::collections::BTreeMap;

use leptos::{prelude::*, task::spawn_local};
use leptos_meta::Title;
use leptos_router::hooks::{use_navigate, use_params_map, use_query_map};

use super::{
    api::{open_schedule_editor, preview_schedule, save_schedule},
    types::{RecurrenceForm, ScheduleDraft, ScheduleEditor},
};
use crate::{
    assistants::{
        run_form::{Entry, FieldInput},
        types::{FieldForm, InputValue},
    },
    ui::{ChoiceBox, StatusLine, WhenLoaded},
};

const WEEKDAYS: [(&str, &str); 7] = [
    ("mon", "Monday"),
    ("tue", "Tuesday"),
    ("wed", "Wednesday"),
    ("thu", "Thursday"),
    ("fri", "Friday"),
    ("sat", "Saturday"),
    ("sun", "Sunday"),
];

#[component]
pub fn ScheduleEditorPage() -> impl IntoView {
    let params = use_params_map();
    let query = use_query_map();
    let editor = crate::wire::load(
        move || (params.read().get("id"), query.read().get("assistant")),
        |(id, assistant)| open_schedule_editor(id, assistant),
    );
    view! {
        <section class="page">
            <WhenLoaded data=editor then=move |editor| view! { <EditorView editor /> } />
        </section>
    }
}

/// The timing as it is being written.
#[derive(Clone, Copy)]
struct Timing {
    every: RwSignal<String>,
    at: RwSignal<String>,
    days: RwSignal<Vec<String>>,
    month_day: RwSignal<String>,
    pattern: RwSignal<String>,
    zone: RwSignal<String>,
}

impl Timing {
    fn new(form: RecurrenceForm, zone: String) -> Self {
        Self {
            every: RwSignal::new(form.every),
            at: RwSignal::new(form.at),
            days: RwSignal::new(form.days),
            month_day: RwSignal::new(form.month_day),
            pattern: RwSignal::new(form.pattern),
            zone: RwSignal::new(zone),
        }
    }

    fn form(&self) -> RecurrenceForm {
        RecurrenceForm {
            every: self.every.get(),
            at: self.at.get(),
            days: self.days.get(),
            month_day: self.month_day.get(),
            pattern: self.pattern.get(),
        }
    }
}

#[component]
fn EditorView(editor: ScheduleEditor) -> impl IntoView {
    let ScheduleEditor {
        id,
        draft,
        assistants,
        fields,
    } = editor;
    let is_new = id.is_none();
    let title = if is_new {
        "New schedule"
    } else {
        "Edit schedule"
    };
    let name = RwSignal::new(draft.name);
    let assistant = RwSignal::new(draft.assistant_id);
    let catch_up = RwSignal::new(draft.catch_up);
    let email = RwSignal::new(draft.email);
    let timing = Timing::new(draft.recurrence, draft.time_zone);
    // A new schedule keeps the time of the browser's zone.
    Effect::new(move |_| {
        if timing.zone.get_untracked().is_empty() {
            timing.zone.set(browser_zone());
        }
    });
    // Entries are made when the assistant changes too: under this component, not the handler.
    let owner = Owner::current().expect("a component has an owner");
    let make_entries = move |fields: Vec<FieldForm>, given: &BTreeMap<String, InputValue>| {
        owner.with(|| {
            fields
                .into_iter()
                .map(|field| {
                    let entry = Entry::new(given.get(&field.name));
                    (field, entry)
                })
                .collect::<Vec<_>>()
        })
    };
    let entries = RwSignal::new(make_entries(fields, &draft.inputs));
    let (status, set_status) = signal(None::<(bool, String)>);
    let busy = RwSignal::new(false);

    // Another assistant brings its own fields; values of fields with the same name stay.
    let choose = move |ev: leptos::ev::Event| {
        let chosen = event_target_value(&ev);
        assistant.set(chosen.clone());
        let kept = current_inputs(entries);
        let make_entries = make_entries.clone();
        spawn_local(async move {
            match open_schedule_editor(None, Some(chosen)).await {
                Ok(editor) => entries.set(make_entries(editor.fields, &kept)),
                Err(err) => set_status.set(Some((false, err.for_person()))),
            }
        });
    };

    // A new schedule's zone is the browser's, known once the page runs there: until then
    // there is nothing to preview (rather than an error about an empty zone).
    let preview = crate::wire::load(
        move || (timing.form(), timing.zone.get()),
        |(form, zone): (RecurrenceForm, String)| async move {
            if zone.trim().is_empty() {
                Ok(None)
            } else {
                preview_schedule(form, zone).await.map(Some)
            }
        },
    );

    let navigate = use_navigate();
    let id = StoredValue::new(id);
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        if busy.get_untracked() {
            return;
        }
        let draft = ScheduleDraft {
            name: name.get_untracked(),
            assistant_id: assistant.get_untracked(),
            inputs: current_inputs(entries),
            recurrence: timing.form(),
            time_zone: timing.zone.get_untracked(),
            catch_up: catch_up.get_untracked(),
            email: email.get_untracked(),
        };
        busy.set(true);
        set_status.set(Some((true, "Saving…".into())));
        let navigate = navigate.clone();
        spawn_local(async move {
            match save_schedule(id.get_value(), draft).await {
                Ok(_) => navigate("/schedules", Default::default()),
                Err(err) => {
                    busy.set(false);
                    set_status.set(Some((false, err.for_person())));
                }
            }
        });
    };

    let no_assistant = assistants.is_empty();
    let every_is = move |kind: &'static str| move || timing.every.with(|every| every == kind);
    let last_day = move || timing.month_day.with(|day| day == "last");
    view! {
        <Title text=title />
        <h1>{title}</h1>
        {no_assistant
            .then(|| {
                view! {
                    <p class="notice info">
                        "No assistant is shared with you yet: a schedule runs an approved assistant."
                    </p>
                }
            })}
        <form class="form schedule-form" on:submit=submit>
            <label for="schedule-name">"Name"</label>
            <input id="schedule-name" type="text" required maxlength="200" bind:value=name />

            <label for="schedule-assistant">"Assistant"</label>
            <select id="schedule-assistant" on:change=choose prop:value=move || assistant.get()>
                {assistants
                    .into_iter()
                    .map(|a| {
                        let value = a.id.clone();
                        let chosen = move || assistant.with(|now| *now == value);
                        view! {
                            <option value=a.id selected=chosen>
                                {a.name}
                            </option>
                        }
                    })
                    .collect_view()}
            </select>

            <fieldset>
                <legend>"Inputs for each run"</legend>
                {move || {
                    entries
                        .get()
                        .into_iter()
                        .map(|(field, entry)| view! { <FieldInput field entry /> })
                        .collect_view()
                }}
            </fieldset>

            <fieldset>
                <legend>"When"</legend>
                <label for="schedule-every">"How often"</label>
                <select
                    id="schedule-every"
                    on:change=move |ev| timing.every.set(event_target_value(&ev))
                    prop:value=move || timing.every.get()
                >
                    <option value="daily" selected=every_is("daily")>
                        "Every day"
                    </option>
                    <option value="weekly" selected=every_is("weekly")>
                        "On chosen weekdays"
                    </option>
                    <option value="monthly" selected=every_is("monthly")>
                        "Every month"
                    </option>
                    <option value="cron" selected=every_is("cron")>
                        "A cron pattern"
                    </option>
                </select>
                <Show when=every_is("weekly")>
                    <fieldset class="choices">
                        <legend>"Weekdays"</legend>
                        {WEEKDAYS
                            .iter()
                            .map(|(value, label)| {
                                view! {
                                    <ChoiceBox
                                        value=(*value).to_owned()
                                        label=(*label).to_owned()
                                        chosen=timing.days
                                    />
                                }
                            })
                            .collect_view()}
                    </fieldset>
                </Show>
                <Show when=every_is("monthly")>
                    <label for="schedule-month-day">"Day of the month"</label>
                    <select
                        id="schedule-month-day"
                        on:change=move |ev| timing.month_day.set(event_target_value(&ev))
                        prop:value=move || timing.month_day.get()
                    >
                        {(1..=28)
                            .map(|day| {
                                let value = day.to_string();
                                let chosen = {
                                    let value = value.clone();
                                    move || timing.month_day.with(|now| *now == value)
                                };
                                view! {
                                    <option value=value.clone() selected=chosen>
                                        {value.clone()}
                                    </option>
                                }
                            })
                            .collect_view()}
                        <option value="last" selected=last_day>
                            "The last day"
                        </option>
                    </select>
                </Show>
                <Show
                    when=every_is("cron")
                    fallback=move || {
                        view! {
                            <label for="schedule-at">"Time"</label>
                            <input id="schedule-at" type="time" required bind:value=timing.at />
                        }
                    }
                >
                    <label for="schedule-pattern">"Cron pattern"</label>
                    <input
                        id="schedule-pattern"
                        type="text"
                        required
                        aria-describedby="schedule-pattern-help"
                        bind:value=timing.pattern
                    />
                    <p class="hint" id="schedule-pattern-help">
                        "Five fields: minute, hour, day of the month, month, day of the week (e.g. 30 7 * * 1-5)."
                    </p>
                </Show>
                <label for="schedule-zone">"Time zone"</label>
                <input
                    id="schedule-zone"
                    type="text"
                    required
                    aria-describedby="schedule-zone-help"
                    bind:value=timing.zone
                />
                <p class="hint" id="schedule-zone-help">
                    "A name such as Europe/London or America/New_York: runs keep their local time when the clocks change."
                </p>
                <div class="preview" aria-live="polite">
                    <Transition fallback=|| {
                        view! { <p class="hint">"Working out the next runs…"</p> }
                    }>
                        {move || Suspend::new(async move {
                            match preview.await {
                                Ok(None) => {
                                    view! {
                                        <p class="hint">
                                            "The next runs show once a time zone is given."
                                        </p>
                                    }
                                        .into_any()
                                }
                                Ok(Some(preview)) => {
                                    view! {
                                        <p>{preview.described}</p>
                                        <p class="hint">"The next runs:"</p>
                                        <ol class="upcoming">
                                            {preview
                                                .upcoming
                                                .into_iter()
                                                .map(|at| view! { <li>{at}</li> })
                                                .collect_view()}
                                        </ol>
                                    }
                                        .into_any()
                                }
                                Err(err) => {
                                    view! { <p class="notice error">{err.for_person()}</p> }
                                        .into_any()
                                }
                            }
                        })}
                    </Transition>
                </div>
            </fieldset>

            <label class="check">
                <input type="checkbox" bind:checked=catch_up />
                "If a run's time is missed (the server was down), run once when it is back"
            </label>
            <label class="check">
                <input type="checkbox" bind:checked=email />
                "Mail me each result"
            </label>
            <div class="form-actions">
                <button class="button" type="submit" disabled=move || busy.get()>
                    "Save schedule"
                </button>
                <a class="button secondary" href="/schedules">
                    "Cancel"
                </a>
                <StatusLine status />
            </div>
        </form>
    }
}

/// The inputs as the entries hold them now.
fn current_inputs(entries: RwSignal<Vec<(FieldForm, Entry)>>) -> BTreeMap<String, InputValue> {
    entries.with_untracked(|all| {
        all.iter()
            .map(|(field, entry)| (field.name.clone(), entry.value(&field.kind)))
            .collect()
    })
}

/// The browser's time zone (`Europe/London`), or UTC when it does not say.
fn browser_zone() -> String {
    #[cfg(feature = "hydrate")]
    {
        use web_sys::js_sys::{Array, Intl, Object, Reflect};
        let options = Intl::DateTimeFormat::new(&Array::new(), &Object::new()).resolved_options();
        if let Some(zone) = Reflect::get(&options, &"timeZone".into())
            .ok()
            .and_then(|zone| zone.as_string())
        {
            return zone;
        }
    }
    "UTC".to_owned()
}
