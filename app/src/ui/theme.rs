//! Light, dark or follow-the-system theme, remembered in a cookie so the server renders the
//! chosen theme on the first paint (no flash of the wrong colours).

use leptos::prelude::*;
use leptos_meta::Html;

/// The user's theme choice.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Theme {
    /// Follow the operating system (`prefers-color-scheme`).
    #[default]
    System,
    Light,
    Dark,
}

/// The cookie that remembers the choice. Not HttpOnly: the page writes it.
pub const COOKIE: &str = "theme";

impl Theme {
    pub const ALL: [Theme; 3] = [Theme::System, Theme::Light, Theme::Dark];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::System => "system",
            Self::Light => "light",
            Self::Dark => "dark",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Self::System => "System",
            Self::Light => "Light",
            Self::Dark => "Dark",
        }
    }

    pub fn parse(raw: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|theme| theme.as_str() == raw)
    }

    /// The theme named in a `Cookie` header (or `document.cookie`), if any.
    pub fn from_cookie_header(header: &str) -> Option<Self> {
        header
            .split(';')
            .filter_map(|pair| pair.trim().split_once('='))
            .find(|(name, _)| *name == COOKIE)
            .and_then(|(_, value)| Self::parse(value.trim()))
    }
}

/// The current theme, shared through context.
#[derive(Debug, Clone, Copy)]
pub struct ThemeSignal(pub RwSignal<Theme>);

/// Reads the remembered theme (request cookie on the server, `document.cookie` in the
/// browser, so both render the same markup) and provides it to the app.
pub fn provide_theme() {
    provide_context(ThemeSignal(RwSignal::new(initial_theme())));
}

fn initial_theme() -> Theme {
    #[cfg(feature = "ssr")]
    {
        use_context::<http::request::Parts>()
            .and_then(|parts| {
                parts
                    .headers
                    .get_all(http::header::COOKIE)
                    .iter()
                    .filter_map(|value| value.to_str().ok())
                    .find_map(Theme::from_cookie_header)
            })
            .unwrap_or_default()
    }
    #[cfg(all(feature = "hydrate", not(feature = "ssr")))]
    {
        use wasm_bindgen::JsCast;
        document()
            .dyn_into::<web_sys::HtmlDocument>()
            .ok()
            .and_then(|doc| doc.cookie().ok())
            .and_then(|cookie| Theme::from_cookie_header(&cookie))
            .unwrap_or_default()
    }
    #[cfg(not(any(feature = "ssr", feature = "hydrate")))]
    {
        Theme::default()
    }
}

/// Remembers the choice for a year.
fn remember(theme: Theme) {
    #[cfg(feature = "hydrate")]
    {
        use wasm_bindgen::JsCast;
        if let Ok(doc) = document().dyn_into::<web_sys::HtmlDocument>() {
            let secure = window().location().protocol().is_ok_and(|p| p == "https:");
            let cookie = format!(
                "{COOKIE}={}; Path=/; Max-Age=31536000; SameSite=Lax{}",
                theme.as_str(),
                if secure { "; Secure" } else { "" }
            );
            let _ = doc.set_cookie(&cookie);
        }
    }
    #[cfg(not(feature = "hydrate"))]
    let _ = theme;
}

/// Puts `lang` and `data-theme` on `<html>`; the stylesheet keys its colours off the latter.
#[component]
pub fn ThemeAttribute() -> impl IntoView {
    let ThemeSignal(theme) = expect_context();
    view! { <Html {..} lang="en" data-theme=move || theme.get().as_str() /> }
}

/// A labelled select for the theme. Changes apply at once and are remembered.
#[component]
pub fn ThemePicker() -> impl IntoView {
    let ThemeSignal(theme) = expect_context();
    let on_change = move |ev: leptos::ev::Event| {
        if let Some(choice) = Theme::parse(&event_target_value(&ev)) {
            theme.set(choice);
            remember(choice);
        }
    };
    view! {
        <label class="theme-picker">
            <span>"Theme"</span>
            <select name="theme" on:change=on_change prop:value=move || theme.get().as_str()>
                {Theme::ALL
                    .into_iter()
                    .map(|option| {
                        view! {
                            <option value=option.as_str() selected=move || theme.get() == option>
                                {option.label()}
                            </option>
                        }
                    })
                    .collect_view()}
            </select>
        </label>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_theme_is_found_among_other_cookies() {
        assert_eq!(
            Theme::from_cookie_header("a=1; theme=dark; b=2"),
            Some(Theme::Dark)
        );
        assert_eq!(Theme::from_cookie_header("theme=light"), Some(Theme::Light));
    }

    #[test]
    fn unknown_or_missing_themes_are_ignored() {
        assert_eq!(Theme::from_cookie_header("theme=<script>"), None);
        assert_eq!(Theme::from_cookie_header("xtheme=dark"), None);
        assert_eq!(Theme::from_cookie_header(""), None);
    }
}
