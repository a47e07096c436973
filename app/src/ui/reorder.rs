//! The buttons of an entry in a list the user orders: ↑ and ↓ (what phones and keyboards use,
//! beside dragging), then the entry's own buttons.

use leptos::prelude::*;

/// ↑ and ↓ named for screen readers ("Move Field 1 up"), then `children` (the entry's other
/// buttons). `step` moves the entry by -1 or 1 and is given the id of the button pressed, so
/// that button can take the focus back once the list is drawn again and be pressed again.
#[component]
pub fn MoveButtons(
    /// Makes the buttons' ids unique on the page: `{id}-up`, `{id}-down`.
    id: String,
    /// The entry as the buttons name it.
    what: String,
    step: impl Fn(isize, String) + Clone + Send + Sync + 'static,
    children: Children,
) -> impl IntoView {
    let (up_id, down_id) = (format!("{id}-up"), format!("{id}-down"));
    let up = {
        let (step, button) = (step.clone(), up_id.clone());
        move |_| step(-1, button.clone())
    };
    let down = {
        let button = down_id.clone();
        move |_| step(1, button.clone())
    };
    view! {
        <div class="reorder">
            <button
                type="button"
                id=up_id
                class="button secondary small"
                aria-label=format!("Move {what} up")
                on:click=up
            >
                "↑"
            </button>
            <button
                type="button"
                id=down_id
                class="button secondary small"
                aria-label=format!("Move {what} down")
                on:click=down
            >
                "↓"
            </button>
            {children()}
        </div>
    }
}
