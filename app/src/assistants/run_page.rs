//! `/assistants/runs/{id}`: a run as it happens (its events: the run, each step's start,
//! knowledge, text and end, the run's end) and, once it has ended, its results: copy,
//! download as Markdown, continue in chat, run again. A reload starts from the run as it is.

use leptos::{prelude::*, task::spawn_local};
use leptos_meta::Title;
use leptos_router::hooks::{use_navigate, use_params_map};

use super::{
    api::continue_in_chat,
    types::{Run, RunEnded, Step, StepEvent, run_events as names, status_label},
};
use crate::{chat::to_html, ui::StatusLine};

/// The run as its events left it.
fn on_step(run: RwSignal<Option<Run>>, id: &str, change: impl FnOnce(&mut Step)) {
    run.update(|run| {
        if let Some(step) = run
            .as_mut()
            .and_then(|r| r.steps.iter_mut().find(|s| s.id == id))
        {
            change(step);
        }
    });
}

/// The results as one text for the clipboard.
fn results_text(run: &Run) -> String {
    let mut out = format!("# {}\n\n", run.assistant_name);
    for step in &run.steps {
        out.push_str(&format!("## {}\n\n{}\n\n", step.name, step.output.trim()));
    }
    out.trim_end().to_owned() + "\n"
}

#[component]
pub fn RunPage() -> impl IntoView {
    let params = use_params_map();
    let id = params.read_untracked().get("id").unwrap_or_default();
    let run = RwSignal::new(None::<Run>);
    let gone = RwSignal::new(false);
    let handlers: Vec<(&'static str, crate::ui::events::Handler)> = vec![
        (
            names::RUN,
            Box::new(move |data| {
                match crate::wire::parse::<Run>(&data) {
                    Ok(now) => run.set(Some(now)),
                    Err(_) => gone.set(true),
                }
                true
            }),
        ),
        (
            names::STEP_STARTED,
            Box::new(move |data| {
                if let Ok(ev) = crate::wire::parse::<StepEvent>(&data) {
                    on_step(run, &ev.step, |s| {
                        s.status = "running".into();
                        s.output.clear();
                        s.model = ev.model.clone().or(s.model.take());
                    });
                }
                true
            }),
        ),
        (
            names::STEP_KNOWLEDGE,
            Box::new(move |data| {
                if let Ok(ev) = crate::wire::parse::<StepEvent>(&data) {
                    on_step(run, &ev.step, |s| s.sources = ev.sources.clone());
                }
                true
            }),
        ),
        (
            names::STEP_TEXT,
            Box::new(move |data| {
                if let Ok(ev) = crate::wire::parse::<StepEvent>(&data) {
                    on_step(run, &ev.step, |s| s.output.push_str(&ev.text));
                }
                true
            }),
        ),
        (
            names::STEP_OUTPUT,
            Box::new(move |data| {
                if let Ok(ev) = crate::wire::parse::<StepEvent>(&data) {
                    on_step(run, &ev.step, |s| s.output = ev.text.clone());
                }
                true
            }),
        ),
        (
            names::STEP_FINISHED,
            Box::new(move |data| {
                if let Ok(done) = crate::wire::parse::<Step>(&data) {
                    let step_id = done.id.clone();
                    on_step(run, &step_id, |s| *s = done);
                }
                true
            }),
        ),
        (
            names::RUN_ENDED,
            Box::new(move |data| {
                if let Ok(ended) = crate::wire::parse::<RunEnded>(&data) {
                    run.update(|r| {
                        if let Some(r) = r {
                            r.status = ended.status;
                            r.error = ended.error;
                        }
                    });
                }
                false
            }),
        ),
        (
            "error",
            Box::new(move |_| {
                // The stream refused (not found, signed out) or the connection dropped; the
                // browser reconnects by itself unless the answer was a refusal.
                if run.with_untracked(Option::is_none) {
                    gone.set(true);
                }
                true
            }),
        ),
    ];
    crate::ui::events::follow(format!("/api/assistants/runs/{id}/events"), handlers);
    let id = StoredValue::new(id);
    let title = move || {
        run.with(|r| {
            r.as_ref()
                .map(|r| r.assistant_name.clone())
                .unwrap_or_else(|| "Run".into())
        })
    };
    view! {
        <Title text=title />
        <section class="page wide run-page">
            {move || {
                if gone.get() {
                    return view! {
                        <h1>"Run not found"</h1>
                        <p>"This run is not yours, or it no longer exists."</p>
                    }
                        .into_any();
                }
                match run.get() {
                    None => view! { <p aria-busy="true">"Loading the run…"</p> }.into_any(),
                    Some(now) => view! { <RunView run=now id=id.get_value() all=run /> }.into_any(),
                }
            }}
        </section>
    }
}

#[component]
fn RunView(run: Run, id: String, all: RwSignal<Option<Run>>) -> impl IntoView {
    let ended = matches!(run.status.as_str(), "succeeded" | "failed");
    let status = status_label(&run.status);
    let error = run.error.clone();
    view! {
        <h1>{run.assistant_name.clone()}</h1>
        <p class="muted" role="status">
            {status}
            {error.map(|e| format!(": {e}"))}
        </p>
        <ol class="run-steps">
            {run.steps.iter().cloned().map(|step| view! { <StepView step /> }).collect_view()}
        </ol>
        {ended
            .then(|| view! { <Actions id assistant=run.assistant_id.clone() test=run.test all /> })}
    }
}

#[component]
fn StepView(step: Step) -> impl IntoView {
    let running = step.status == "running";
    let facts = {
        let mut facts = vec![status_label(&step.status).to_owned()];
        if let Some(model) = &step.model {
            facts.push(model.clone());
        }
        if let (Some(i), Some(o)) = (step.input_tokens, step.output_tokens) {
            facts.push(format!("{} tokens", i + o));
        }
        if let Some(cost) = &step.cost {
            facts.push(format!("${cost}"));
        }
        if let Some(ms) = step.millis {
            facts.push(format!("{:.1} s", ms as f64 / 1000.0));
        }
        facts.join(" · ")
    };
    let sources = (!step.sources.is_empty()).then(|| {
        view! {
            <details class="sources">
                <summary>
                    {crate::ui::counted(step.sources.len() as i64, "source", "sources")}
                </summary>
                <ol>
                    {step
                        .sources
                        .iter()
                        .map(|s| {
                            let at = s
                                .location
                                .clone()
                                .map(|l| format!(" ({l})"))
                                .unwrap_or_default();
                            view! { <li>{format!("[{}] {}{at}", s.number, s.item_name)}</li> }
                        })
                        .collect_view()}
                </ol>
            </details>
        }
    });
    let html = to_html(&step.output);
    view! {
        <li class="run-step" data-status=step.status.clone()>
            <h2>{step.name.clone()}</h2>
            <p class="hint">{facts}</p>
            {step.error.clone().map(|e| view! { <p class="form-error">{e}</p> })}
            <div class="markdown" aria-busy=running.to_string() inner_html=html></div>
            {sources}
        </li>
    }
}

#[component]
fn Actions(
    id: String,
    assistant: String,
    /// A test run: running it again tests the same version.
    test: bool,
    all: RwSignal<Option<Run>>,
) -> impl IntoView {
    let (status, set_status) = signal(None::<(bool, String)>);
    let navigate = use_navigate();
    let run_id = StoredValue::new(id.clone());
    let again = if test {
        format!("/assistants/{assistant}?again={id}&draft=1")
    } else {
        format!("/assistants/{assistant}?again={id}")
    };
    let copy = move |_| {
        if let Some(text) = all.with_untracked(|r| r.as_ref().map(results_text)) {
            crate::ui::browser::copy_text(&text);
            set_status.set(Some((true, "Copied.".into())));
        }
    };
    let chat = move |_| {
        let navigate = navigate.clone();
        spawn_local(async move {
            match continue_in_chat(run_id.get_value()).await {
                Ok(conversation) => navigate(&format!("/chat/{conversation}"), Default::default()),
                Err(err) => set_status.set(Some((false, err.for_person()))),
            }
        });
    };
    view! {
        <div class="form-actions run-actions">
            <button type="button" class="button secondary" on:click=copy>
                "Copy"
            </button>
            <a class="button secondary" href=format!("/api/assistants/runs/{id}/markdown") download>
                "Download Markdown"
            </a>
            <button type="button" class="button secondary" on:click=chat>
                "Continue in chat"
            </button>
            <a class="button" href=again>
                "Run again"
            </a>
            <StatusLine status />
        </div>
    }
}
