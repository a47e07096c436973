//! Search in one repository or across every one the user can read, with why each hit was
//! found.

use leptos::{prelude::*, task::spawn_local};

use super::{api::search_knowledge, types::HitView};

/// A share as a whole percentage; a positive share under one percent reads "under 1%",
/// never "0%".
fn percent(value: f32) -> String {
    let value = (value * 100.0).clamp(0.0, 100.0);
    if value > 0.0 && value < 0.5 {
        "under 1%".to_owned()
    } else {
        format!("{value:.0}%")
    }
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
            results.set(Some(found.map_err(|e| e.for_person())));
        });
    };
    let balance = move || {
        let meaning = weight.get();
        format!("{meaning}% meaning, {}% words", 100 - meaning)
    };
    let mode_choice = move |value: &'static str, label: &'static str| {
        let chosen = move || mode.get() == value;
        view! {
            <label class="check">
                <input
                    type="radio"
                    name="search-mode"
                    value=value
                    prop:checked=chosen
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
                <label for="semantic-weight">"Meaning or exact words: " {balance}</label>
                <input
                    id="semantic-weight"
                    type="range"
                    min="0"
                    max="100"
                    step="5"
                    aria-describedby="semantic-weight-help"
                    aria-valuetext=balance
                    prop:value=move || weight.get().to_string()
                    on:input=move |ev| {
                        if let Ok(v) = event_target_value(&ev).parse() {
                            weight.set(v);
                        }
                    }
                />
                <p id="semantic-weight-help" class="muted small">
                    "Toward meaning finds passages that say the same in other words; toward words finds the words you typed."
                </p>
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
    let score = format!("{} match", percent(hit.score));
    let source = match &hit.location {
        Some(location) => format!("{} · {location}", hit.item_name),
        None => hit.item_name.clone(),
    };
    view! {
        <li class="hit">
            <p class="hit-head">
                <span class="score">{score}</span>
                <a href=format!("/knowledge/{}", hit.repository_id)>{hit.repository_name}</a>
                " · "
                {source}
            </p>
            <p class="chunk-text">{hit.content}</p>
            <p class="muted small">{why.join(" · ")}</p>
        </li>
    }
}
