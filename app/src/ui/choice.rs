//! One choice of several, kept by value in a list signal: a checkbox per choice.

use leptos::prelude::*;

/// Adds `item` to `chosen` (`on`) or takes it out; it is never there twice.
pub fn toggle(chosen: RwSignal<Vec<String>>, item: &str, on: bool) {
    chosen.update(|all| {
        all.retain(|x| x != item);
        if on {
            all.push(item.to_owned());
        }
    });
}

/// A labelled checkbox that is ticked while `chosen` holds `value`.
#[component]
pub fn ChoiceBox(value: String, label: String, chosen: RwSignal<Vec<String>>) -> impl IntoView {
    let checked = {
        let value = value.clone();
        move || chosen.with(|all| all.contains(&value))
    };
    view! {
        <label class="check">
            <input
                type="checkbox"
                prop:checked=checked
                on:change=move |ev| toggle(chosen, &value, event_target_checked(&ev))
            />
            {label}
        </label>
    }
}
