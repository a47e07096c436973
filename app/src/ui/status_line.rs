//! The line under a page's title saying what just happened, or what went wrong; screen
//! readers announce it.

use leptos::prelude::*;

/// `status`: `(ok, text)`; an error (`ok == false`) is shown as one.
#[component]
pub fn StatusLine(status: ReadSignal<Option<(bool, String)>>) -> impl IntoView {
    view! {
        <p
            class="status-line"
            role="status"
            class:error=move || status.get().is_some_and(|(ok, _)| !ok)
        >
            {move || status.get().map(|(_, text)| text)}
        </p>
    }
}
