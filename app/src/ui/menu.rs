//! A menu that opens in the browser's popover layer, above every scrolling list, placed next to
//! its button and kept inside the window. The browser closes it on Escape and on a click
//! outside and then gives focus back to the button; it also closes when the page changes and,
//! where asked, when one of its buttons is chosen. Before the page is interactive the button
//! still opens it (the `popovertarget` attribute needs no script).

use leptos::{html, prelude::*};
use leptos_router::hooks::use_location;

#[component]
pub fn PopoverMenu(
    /// The panel's id, unique on the page.
    #[prop(into)]
    id: String,
    /// Classes of the button that opens the menu.
    button_class: &'static str,
    /// Classes of the panel.
    panel_class: &'static str,
    /// The button's accessible name, where its content does not give one.
    #[prop(optional, into)]
    label: Option<String>,
    /// Whether choosing one of the panel's buttons closes the menu.
    #[prop(optional)]
    close_on_choice: bool,
    /// The button's content.
    #[prop(into)]
    button: ViewFn,
    /// The panel's content.
    children: Children,
) -> impl IntoView {
    let trigger = NodeRef::<html::Button>::new();
    let panel = NodeRef::<html::Div>::new();
    let (is_open, set_open) = signal(false);
    let hide = move || {
        if let Some(panel) = panel.get_untracked() {
            let _ = panel.hide_popover();
        }
    };
    let on_toggle = move |_| {
        let (Some(button), Some(panel)) = (trigger.get_untracked(), panel.get_untracked()) else {
            return;
        };
        let open = panel.matches(":popover-open").unwrap_or(false);
        set_open.set(open);
        if open {
            super::browser::place_next_to(&button, &panel);
        } else if super::browser::focus_is_lost_in(&panel) {
            // Closed with the focus inside it (or nowhere): back to the button.
            let _ = button.focus();
        }
    };
    // A new page closes it.
    let location = use_location();
    Effect::new(move |previous: Option<String>| {
        let path = location.pathname.get();
        if previous.is_some_and(|previous| previous != path) {
            hide();
        }
        path
    });
    let on_click = move |ev: leptos::ev::MouseEvent| {
        if close_on_choice && super::browser::is_inside_button(&ev) {
            hide();
        }
    };
    view! {
        <button
            node_ref=trigger
            type="button"
            class=button_class
            popovertarget=id.clone()
            aria-haspopup="true"
            aria-expanded=move || is_open.get().to_string()
            aria-label=label
        >
            {button.run()}
        </button>
        <div
            node_ref=panel
            id=id
            popover="auto"
            class=format!("popover-menu {panel_class}")
            on:toggle=on_toggle
            on:click=on_click
        >
            {children()}
        </div>
    }
}
