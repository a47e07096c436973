//! The built-in icons (assistants and navigation items name one): SVG paths on a 24-unit grid,
//! and the picker that chooses one.

use leptos::prelude::*;

/// The path of icon `name`; an unknown name draws the sparkles.
pub fn icon_path(name: &str) -> &'static str {
    match name {
        "home" => "M3 11l9-8 9 8v10h-6v-6H9v6H3z",
        "clock" => "M12 3a9 9 0 1 0 0 18 9 9 0 0 0 0-18zM12 7v5l3 3",
        "folder" => "M3 6h6l2 2h10v11H3z",
        "people" => {
            "M16 19v-1a4 4 0 0 0-4-4H6a4 4 0 0 0-4 4v1M9 10a3 3 0 1 0 0-6 3 3 0 0 0 0 6M22 19v-1a4 4 0 0 0-3-3.9M16 4.1a3 3 0 0 1 0 5.8"
        }
        "link" => {
            "M10 14a4 4 0 0 0 6 0l3-3a4 4 0 0 0-6-6l-1 1M14 10a4 4 0 0 0-6 0l-3 3a4 4 0 0 0 6 6l1-1"
        }
        "pencil" => "M4 20h4L19 9l-4-4L4 16zM14 6l4 4",
        "book" => {
            "M4 4h6a2 2 0 0 1 2 2v14a2 2 0 0 0-2-2H4zM20 4h-6a2 2 0 0 0-2 2v14a2 2 0 0 1 2-2h6z"
        }
        "letter" => "M3 5h18v14H3zM3 6l9 7 9-7",
        "checklist" => "M9 6h11M9 12h11M9 18h11M4 6l1 1 2-2M4 12l1 1 2-2M4 18l1 1 2-2",
        "calendar" => "M4 5h16v16H4zM4 10h16M9 3v4M15 3v4",
        "chat" => "M4 5h16v11H9l-5 4z",
        "lightbulb" => "M9 18h6M10 21h4M12 3a6 6 0 0 0-4 10.5V16h8v-2.5A6 6 0 0 0 12 3",
        "globe" => {
            "M12 3a9 9 0 1 0 0 18 9 9 0 0 0 0-18M3 12h18M12 3c3 3 3 15 0 18M12 3c-3 3-3 15 0 18"
        }
        "calculator" => "M6 3h12v18H6zM9 7h6M9 12h1M14 12h1M9 16h1M14 16h1",
        "flask" => "M9 3h6M10 3v6l-5 10h14l-5-10V3M7 15h10",
        "music" => {
            "M9 18V5l11-2v13M9 18a3 3 0 1 1-6 0 3 3 0 0 1 6 0M20 16a3 3 0 1 1-6 0 3 3 0 0 1 6 0"
        }
        _ => "M12 3l2 5 5 2-5 2-2 5-2-5-5-2 5-2zM19 15l1 2 2 1-2 1-1 2-1-2-2-1 2-1z",
    }
}

/// One radio button per icon in `icons`, drawn, named for screen readers; `icon` holds the
/// chosen one.
#[component]
pub fn IconPicker(icons: Vec<String>, icon: RwSignal<String>) -> impl IntoView {
    view! {
        <fieldset class="icon-picker">
            <legend>"Icon"</legend>
            {icons
                .into_iter()
                .map(|choice| {
                    let value = choice.clone();
                    let checked = {
                        let choice = choice.clone();
                        move || icon.get() == choice
                    };
                    view! {
                        <label class="icon-choice">
                            <input
                                type="radio"
                                name="icon"
                                value=value.clone()
                                prop:checked=checked
                                on:change=move |_| icon.set(value.clone())
                            />
                            <svg aria-hidden="true" viewBox="0 0 24 24" width="24" height="24">
                                <path d=icon_path(&choice) />
                            </svg>
                            <span class="visually-hidden">{choice.clone()}</span>
                        </label>
                    }
                })
                .collect_view()}
        </fieldset>
    }
}
