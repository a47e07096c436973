//! The one view for failed data loads: what happened and what the user can do.

use leptos::prelude::*;

use crate::error::AppError;

/// Shows the errors an `ErrorBoundary` caught. `AppError`s speak for themselves; anything else
/// gets a generic line (its detail may not be fit to show).
#[component]
pub fn ErrorView(errors: ArcRwSignal<Errors>) -> impl IntoView {
    // Rendered on the server, a refusal is also an HTTP refusal.
    #[cfg(feature = "ssr")]
    if let Some(response) = use_context::<leptos_axum::ResponseOptions>() {
        let worst = errors.get_untracked().into_iter().find_map(|(_, error)| {
            match error.downcast_ref::<AppError>() {
                Some(AppError::Unauthenticated) => Some(http::StatusCode::UNAUTHORIZED),
                Some(AppError::Forbidden) => Some(http::StatusCode::FORBIDDEN),
                Some(AppError::NotFound) => Some(http::StatusCode::NOT_FOUND),
                _ => None,
            }
        });
        if let Some(status) = worst {
            response.set_status(status);
        }
    }
    // Signed out (a session that ended while the page was open): sign in, then come back.
    let location = leptos_router::hooks::use_location();
    let sign_in = move || {
        let (path, query) = (location.pathname.get(), location.search.get());
        let query = query.trim_start_matches('?');
        let here = if query.is_empty() {
            path
        } else {
            format!("{path}?{query}")
        };
        format!("/sign-in?next={}", super::browser::percent_encode(&here))
    };
    let messages = move || {
        errors
            .get()
            .into_iter()
            .map(|(_, error)| match error.downcast_ref::<AppError>() {
                Some(AppError::Unauthenticated) => {
                    view! { <li>"Please " <a href=sign_in>"sign in"</a> " to see this."</li> }
                        .into_any()
                }
                Some(app_error) => view! { <li>{app_error.to_string()}</li> }.into_any(),
                None => view! { <li>"Something went wrong. Please try again."</li> }.into_any(),
            })
            .collect_view()
    };
    view! {
        <div class="error-view" role="alert">
            <h2>"This could not be shown"</h2>
            <ul>{messages}</ul>
        </div>
    }
}
