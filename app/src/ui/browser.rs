//! What only a browser can do, in one place: its yes/no question (confirm), the clipboard,
//! speech, and the page's scroll position. Each does nothing when rendered on the server.

#[cfg(feature = "hydrate")]
use leptos::prelude::*;

/// Asks the browser's yes/no question (`false` when rendering on the server).
pub fn confirm(question: &str) -> bool {
    #[cfg(feature = "hydrate")]
    {
        leptos::prelude::window()
            .confirm_with_message(question)
            .unwrap_or(false)
    }
    #[cfg(not(feature = "hydrate"))]
    {
        let _ = question;
        false
    }
}

/// `text` with every byte but ASCII letters and digits as `%XX` (for a header value).
pub fn percent_encode(text: &str) -> String {
    text.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

/// Copies a code block when its button is pressed (one listener for every block).
pub fn copy_code(ev: leptos::ev::MouseEvent) {
    #[cfg(feature = "hydrate")]
    {
        let Some(button) = target_closest(&ev, ".copy-code") else {
            return;
        };
        if let Some(code) = button
            .closest(".code-block")
            .ok()
            .flatten()
            .and_then(|block| block.query_selector("pre").ok().flatten())
            .and_then(|pre| pre.text_content())
        {
            copy_text(&code);
            button.set_text_content(Some("Copied"));
        }
    }
    #[cfg(not(feature = "hydrate"))]
    let _ = ev;
}

pub fn copy_text(text: &str) {
    #[cfg(feature = "hydrate")]
    {
        let _ = window().navigator().clipboard().write_text(text);
    }
    #[cfg(not(feature = "hydrate"))]
    let _ = text;
}

pub fn read_aloud(text: &str) {
    #[cfg(feature = "hydrate")]
    {
        if let (Ok(speech), Ok(utterance)) = (
            window().speech_synthesis(),
            web_sys::SpeechSynthesisUtterance::new_with_text(text),
        ) {
            speech.cancel();
            speech.speak(&utterance);
        }
    }
    #[cfg(not(feature = "hydrate"))]
    let _ = text;
}

#[cfg(feature = "hydrate")]
pub fn page_height() -> f64 {
    document()
        .document_element()
        .map_or(0.0, |root| f64::from(root.scroll_height()))
}

/// How far below the window the page goes on, in CSS pixels.
#[cfg(feature = "hydrate")]
pub fn distance_from_bottom() -> f64 {
    let top = window().scroll_y().unwrap_or(0.0);
    let view = window()
        .inner_height()
        .ok()
        .and_then(|h| h.as_f64())
        .unwrap_or(0.0);
    page_height() - top - view
}

#[cfg(feature = "hydrate")]
pub fn scroll_to_bottom() {
    window().scroll_to_with_x_and_y(0.0, page_height());
}

/// Places `panel` (a popover, positioned `fixed`) below `anchor` and aligned with its right
/// edge, or above it where there is no room below, always inside the window.
pub fn place_next_to(anchor: &leptos::web_sys::Element, panel: &leptos::web_sys::HtmlElement) {
    #[cfg(feature = "hydrate")]
    {
        const GAP: f64 = 4.0;
        const MARGIN: f64 = 8.0;
        let size = |value: Result<wasm_bindgen::JsValue, _>| {
            value.ok().and_then(|v| v.as_f64()).unwrap_or(0.0)
        };
        let (width, height) = (size(window().inner_width()), size(window().inner_height()));
        let at = anchor.get_bounding_client_rect();
        let own = panel.get_bounding_client_rect();
        let left = (at.right() - own.width())
            .min(width - own.width() - MARGIN)
            .max(MARGIN);
        let below = at.bottom() + GAP;
        let top = if below + own.height() <= height - MARGIN {
            below
        } else {
            (at.top() - GAP - own.height()).max(MARGIN)
        };
        let style = panel.style();
        let _ = style.set_property("left", &format!("{left}px"));
        let _ = style.set_property("top", &format!("{top}px"));
    }
    #[cfg(not(feature = "hydrate"))]
    let _ = (anchor, panel);
}

/// The element an event landed on, or its nearest ancestor, that matches `selector`.
#[cfg(feature = "hydrate")]
fn target_closest(ev: &web_sys::Event, selector: &str) -> Option<web_sys::Element> {
    use wasm_bindgen::JsCast;
    ev.target()
        .and_then(|t| t.dyn_into::<web_sys::Element>().ok())
        .and_then(|el| el.closest(selector).ok().flatten())
}

/// Whether a click landed on a button (or inside one).
pub fn is_inside_button(ev: &leptos::ev::MouseEvent) -> bool {
    #[cfg(feature = "hydrate")]
    {
        target_closest(ev, "button").is_some()
    }
    #[cfg(not(feature = "hydrate"))]
    {
        let _ = ev;
        false
    }
}

/// Closes the popover menu the event's target is in, if any.
pub fn close_enclosing_menu(ev: &leptos::web_sys::Event) {
    #[cfg(feature = "hydrate")]
    {
        use wasm_bindgen::JsCast;
        if let Some(menu) = target_closest(ev, "[popover]")
            .and_then(|el| el.dyn_into::<web_sys::HtmlElement>().ok())
        {
            let _ = menu.hide_popover();
        }
    }
    #[cfg(not(feature = "hydrate"))]
    let _ = ev;
}

/// What the person typed into the text field `id` before the page became interactive (the
/// server's page has it empty), asked once per page load: the first component to ask is the
/// one taking over the server's field. Empty otherwise.
pub fn typed_before_hydration(id: &str) -> String {
    #[cfg(feature = "hydrate")]
    {
        use wasm_bindgen::JsCast;
        thread_local! {
            static ASKED: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
        }
        if ASKED.with(|asked| asked.replace(true)) {
            return String::new();
        }
        document()
            .get_element_by_id(id)
            .and_then(|el| el.dyn_into::<web_sys::HtmlTextAreaElement>().ok())
            .map(|field| field.value())
            .unwrap_or_default()
    }
    #[cfg(not(feature = "hydrate"))]
    {
        let _ = id;
        String::new()
    }
}

/// Whether the main pointer is a finger: the keyboard is then on the screen.
pub fn is_touch_screen() -> bool {
    #[cfg(feature = "hydrate")]
    {
        window()
            .match_media("(pointer: coarse)")
            .ok()
            .flatten()
            .is_some_and(|query| query.matches())
    }
    #[cfg(not(feature = "hydrate"))]
    false
}

/// Whether a popover menu is open on the page.
pub fn is_menu_open() -> bool {
    #[cfg(feature = "hydrate")]
    {
        document()
            .query_selector(":popover-open")
            .ok()
            .flatten()
            .is_some()
    }
    #[cfg(not(feature = "hydrate"))]
    false
}

/// Whether the keyboard focus is inside `element` or on nothing in particular (the body).
pub fn focus_is_lost_in(element: &leptos::web_sys::Element) -> bool {
    #[cfg(feature = "hydrate")]
    {
        match document().active_element() {
            None => true,
            Some(active) => {
                element.contains(Some(&active))
                    || document()
                        .body()
                        .is_some_and(|body| body.is_same_node(Some(active.as_ref())))
            }
        }
    }
    #[cfg(not(feature = "hydrate"))]
    {
        let _ = element;
        false
    }
}

/// Puts the keyboard focus on the field `id` (a form's first field in error); the browser
/// scrolls it into view.
pub fn focus_field(id: &str) {
    #[cfg(feature = "hydrate")]
    {
        use wasm_bindgen::JsCast;
        if let Some(field) = document()
            .get_element_by_id(id)
            .and_then(|el| el.dyn_into::<web_sys::HtmlElement>().ok())
        {
            let _ = field.focus();
        }
    }
    #[cfg(not(feature = "hydrate"))]
    let _ = id;
}

/// Changes the address shown (and what a reload opens) without leaving the page.
pub fn replace_address(url: &str) {
    #[cfg(feature = "hydrate")]
    {
        if let Ok(history) = window().history() {
            let _ = history.replace_state_with_url(&wasm_bindgen::JsValue::NULL, "", Some(url));
        }
    }
    #[cfg(not(feature = "hydrate"))]
    let _ = url;
}
