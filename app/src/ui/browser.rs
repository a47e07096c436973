//! What only a browser can do, in one place: its questions (confirm, prompt), the clipboard,
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

/// Asks the browser for a line of text (`None` if cancelled, and on the server).
pub fn prompt(question: &str) -> Option<String> {
    #[cfg(feature = "hydrate")]
    {
        leptos::prelude::window()
            .prompt_with_message(question)
            .ok()
            .flatten()
    }
    #[cfg(not(feature = "hydrate"))]
    {
        let _ = question;
        None
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
        use wasm_bindgen::JsCast;
        let Some(button) = ev
            .target()
            .and_then(|t| t.dyn_into::<web_sys::Element>().ok())
            .filter(|el| el.class_list().contains("copy-code"))
        else {
            return;
        };
        if let Some(code) = button
            .next_element_sibling()
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
