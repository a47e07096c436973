//! A page's data as the page shows it: "Loading…" while it comes, what went wrong when it
//! fails, else the page drawn from it.

use leptos::prelude::*;
use serde::{Serialize, de::DeserializeOwned};

use super::ErrorView;
use crate::{error::AppError, wire::Loaded};

/// Draws `data` with `then` once it has loaded: "Loading…" the first time (a reload keeps
/// what is shown until the new view is ready), the errors in an [`ErrorView`] when it fails.
#[component]
pub fn WhenLoaded<T, V>(
    data: Loaded<Result<T, AppError>>,
    then: impl Fn(T) -> V + Clone + Send + Sync + 'static,
) -> impl IntoView
where
    T: Clone + Serialize + DeserializeOwned + Send + Sync + 'static,
    V: IntoView + 'static,
{
    view! {
        <Transition fallback=|| view! { <p>"Loading…"</p> }>
            <ErrorBoundary fallback=|errors| {
                view! { <ErrorView errors /> }
            }>
                {move || {
                    let then = then.clone();
                    Suspend::new(async move {
                        let value = data.await?;
                        Ok::<_, AppError>(then(value))
                    })
                }}
            </ErrorBoundary>
        </Transition>
    }
}
