//! The header's bell: a link to the notifications with the unread count, kept up to date by
//! `GET /api/notifications/events` while the page is open.

use leptos::prelude::*;
use leptos_router::components::A;

use super::types::{UNREAD, Unread};
use crate::auth::UserResource;

/// Shown to signed-in people only.
#[component]
pub fn Bell() -> impl IntoView {
    let user = expect_context::<UserResource>();
    let signed_in = move || user.get().and_then(Result::ok).flatten().is_some();
    view! {
        <Transition fallback=|| ()>
            <Show when=signed_in>
                <BellLink />
            </Show>
        </Transition>
    }
}

#[component]
fn BellLink() -> impl IntoView {
    let count = RwSignal::new(0i64);
    crate::ui::events::follow(
        "/api/notifications/events".to_owned(),
        vec![(
            UNREAD,
            Box::new(move |data: String| {
                if let Ok(unread) = crate::wire::parse::<Unread>(&data) {
                    count.set(unread.count);
                }
                true
            }),
        )],
    );
    let label = move || match count.get() {
        0 => "Notifications".to_owned(),
        1 => "Notifications: 1 unread".to_owned(),
        n => format!("Notifications: {n} unread"),
    };
    let has_unread = move || count.get() > 0;
    let shown = move || {
        let n = count.get();
        if n > 99 {
            "99+".to_owned()
        } else {
            n.to_string()
        }
    };
    view! {
        <A href="/notifications" attr:class="icon-button bell" attr:aria-label=label>
            <svg aria-hidden="true" viewBox="0 0 24 24" width="22" height="22">
                <path d="M6 16V11a6 6 0 0 1 12 0v5l2 2H4zM10 20a2 2 0 0 0 4 0" />
            </svg>
            <Show when=has_unread>
                <span class="badge" aria-hidden="true">
                    {shown}
                </span>
            </Show>
        </A>
    }
}
