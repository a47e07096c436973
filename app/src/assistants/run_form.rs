//! `/assistants/{id}`: the form an assistant's run starts from (`?again={run}` fills it with
//! that run's inputs; `?draft=1` tests the version its owner is working on). A file field
//! sends its file to be read and takes the file's text.

use std::collections::BTreeMap;

use leptos::{prelude::*, task::spawn_local};
use leptos_meta::Title;
use leptos_router::hooks::{use_navigate, use_params_map, use_query_map};

use super::{
    api::{open_run_form, start_run},
    types::{FieldForm, InputValue, RunForm, icon_path},
};
use crate::ui::{ChoiceBox, StatusLine, WhenLoaded};

#[component]
pub fn RunFormPage() -> impl IntoView {
    let params = use_params_map();
    let query = use_query_map();
    let form = crate::wire::load(
        move || {
            let query = query.read();
            (
                params.read().get("id").unwrap_or_default(),
                query.get("again"),
                query.get("draft").is_some(),
            )
        },
        |(id, again, draft)| open_run_form(id, again, draft),
    );
    view! {
        <section class="page">
            <WhenLoaded data=form then=move |form| view! { <FormView form /> } />
        </section>
    }
}

/// One field's value as it is being filled in (here and in a schedule's editor).
#[derive(Clone, Copy)]
pub(crate) struct Entry {
    one: RwSignal<String>,
    many: RwSignal<Vec<String>>,
}

impl Entry {
    /// An entry holding `given`, or empty.
    pub(crate) fn new(given: Option<&InputValue>) -> Self {
        let (one, many) = match given {
            Some(InputValue::One(text)) => (text.clone(), Vec::new()),
            Some(InputValue::Many(all)) => (String::new(), all.clone()),
            None => (String::new(), Vec::new()),
        };
        Self {
            one: RwSignal::new(one),
            many: RwSignal::new(many),
        }
    }

    /// What the entry holds now, as a field of `kind` takes it.
    pub(crate) fn value(&self, kind: &str) -> InputValue {
        if kind == "multi_select" {
            InputValue::Many(self.many.get_untracked())
        } else {
            InputValue::One(self.one.get_untracked())
        }
    }
}

#[component]
fn FormView(form: RunForm) -> impl IntoView {
    let RunForm {
        id,
        draft,
        name,
        description,
        icon,
        fields,
        given,
    } = form;
    let entries: Vec<(FieldForm, Entry)> = fields
        .into_iter()
        .map(|field| {
            let entry = Entry::new(given.get(&field.name));
            (field, entry)
        })
        .collect();
    let values = StoredValue::new(
        entries
            .iter()
            .map(|(f, e)| (f.name.clone(), f.kind.clone(), *e))
            .collect::<Vec<_>>(),
    );
    let (status, set_status) = signal(None::<(bool, String)>);
    let busy = RwSignal::new(false);
    let navigate = use_navigate();
    let id = StoredValue::new(id);
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        if busy.get_untracked() {
            return;
        }
        let inputs: BTreeMap<String, InputValue> = values.with_value(|all| {
            all.iter()
                .map(|(name, kind, entry)| (name.clone(), entry.value(kind)))
                .collect()
        });
        busy.set(true);
        set_status.set(Some((true, "Starting…".into())));
        let navigate = navigate.clone();
        spawn_local(async move {
            match start_run(id.get_value(), inputs, draft).await {
                Ok(run) => navigate(&format!("/assistants/runs/{run}"), Default::default()),
                Err(err) => {
                    busy.set(false);
                    set_status.set(Some((false, err.for_person())));
                }
            }
        });
    };
    view! {
        <Title text=name.clone() />
        <h1 class="with-icon">
            <svg aria-hidden="true" viewBox="0 0 24 24" width="28" height="28">
                <path d=icon_path(&icon) />
            </svg>
            {name}
        </h1>
        <p class="lead">{description}</p>
        {draft
            .then(|| {
                view! {
                    <p class="notice info">
                        "A test run of your latest saved version: only you see it, and it is used as it would be once approved."
                    </p>
                }
            })}
        <form class="form run-form" on:submit=submit>
            {entries
                .into_iter()
                .map(|(field, entry)| view! { <FieldInput field entry /> })
                .collect_view()}
            <div class="form-actions">
                <button class="button" type="submit" disabled=move || busy.get()>
                    "Run"
                </button>
                {(!draft)
                    .then(|| {
                        view! {
                            <a
                                class="button secondary"
                                href=format!("/schedules/new?assistant={}", id.get_value())
                            >
                                "Schedule…"
                            </a>
                        }
                    })}
                <StatusLine status />
            </div>
        </form>
    }
}

/// A field's label, control and help.
#[component]
pub(crate) fn FieldInput(field: FieldForm, entry: Entry) -> impl IntoView {
    let id = format!("input-{}", field.name);
    let help_id = format!("{id}-help");
    let help = (!field.help.is_empty()).then(|| {
        view! {
            <p class="hint" id=help_id.clone()>
                {field.help.clone()}
            </p>
        }
    });
    let described = (!field.help.is_empty()).then(|| help_id.clone());
    let label = if field.required {
        field.label.clone()
    } else {
        format!("{} (optional)", field.label)
    };
    let input = match field.kind.as_str() {
        "long_text" => view! {
            <textarea
                id=id.clone()
                rows="6"
                required=field.required
                aria-describedby=described
                bind:value=entry.one
            ></textarea>
        }
        .into_any(),
        "select" => view! {
            <select
                id=id.clone()
                required=field.required
                aria-describedby=described
                on:change=move |ev| entry.one.set(event_target_value(&ev))
                prop:value=move || entry.one.get()
            >
                <option value="">"Choose…"</option>
                {field
                    .options
                    .iter()
                    .map(|o| {
                        let choice = o.clone();
                        let chosen = move || entry.one.with(|one| *one == choice);
                        view! {
                            <option value=o.clone() selected=chosen>
                                {o.clone()}
                            </option>
                        }
                    })
                    .collect_view()}
            </select>
        }
        .into_any(),
        "multi_select" => view! {
            <fieldset id=id.clone() aria-describedby=described>
                <legend class="visually-hidden">{field.label.clone()}</legend>
                {field
                    .options
                    .iter()
                    .map(|o| {
                        view! { <ChoiceBox value=o.clone() label=o.clone() chosen=entry.many /> }
                    })
                    .collect_view()}
            </fieldset>
        }
        .into_any(),
        "file" => view! { <FileInput id=id.clone() text=entry.one /> }.into_any(),
        _ => view! {
            <input
                id=id.clone()
                type="text"
                required=field.required
                aria-describedby=described
                bind:value=entry.one
            />
        }
        .into_any(),
    };
    view! {
        <label for=id>{label}</label>
        {input}
        {help}
    }
}

/// A file field: the chosen file is read on the server and its text becomes the value.
#[component]
fn FileInput(id: String, text: RwSignal<String>) -> impl IntoView {
    let (status, set_status) = signal(None::<(bool, String)>);
    let uploader = crate::ui::upload::Uploader::new();
    let has_text = move || !text.with(String::is_empty);
    let chars = move || {
        format!(
            "{} characters of text taken from the file.",
            text.with(|t| t.chars().count())
        )
    };
    let _ = &uploader;
    let on_change = move |ev: leptos::ev::Event| {
        #[cfg(feature = "hydrate")]
        {
            let Some(file) = crate::ui::upload::chosen_file(&ev) else {
                return;
            };
            let name = file.name();
            set_status.set(Some((true, format!("Reading {name}…"))));
            let to = crate::ui::upload::Destination::route("/api/assistants/files", &name);
            uploader.send(
                to,
                file,
                move |share| {
                    set_status.set(Some((
                        true,
                        format!("Sending {name}: {:.0} %", share * 100.0),
                    )));
                },
                move |answer| match answer {
                    Ok(body) => match crate::wire::parse::<super::types::FileText>(&body) {
                        Ok(read) => {
                            text.set(read.text);
                            let note = read.note.map(|n| format!(" ({n})")).unwrap_or_default();
                            set_status.set(Some((true, format!("Read{note}."))));
                        }
                        Err(_) => {
                            set_status.set(Some((false, "The answer could not be read.".into())))
                        }
                    },
                    Err(reason) => set_status.set(Some((false, reason))),
                },
            );
        }
        #[cfg(not(feature = "hydrate"))]
        let _ = (ev, set_status);
    };
    view! {
        <input id=id type="file" class="file-input" on:change=on_change />
        <Show when=has_text>
            <p class="hint">{chars}</p>
        </Show>
        <StatusLine status />
    }
}
