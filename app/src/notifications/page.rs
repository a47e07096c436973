//! `/notifications`: the person's newest notifications, unread ones marked; opening one marks
//! it read, and all can be marked read at once.

use leptos::{prelude::*, task::spawn_local};
use leptos_meta::Title;
use leptos_router::hooks::use_navigate;

use super::{
    api::{list_notifications, mark_read},
    types::NotificationRow,
};
use crate::{
    error::AppError,
    ui::{ErrorView, StatusLine},
};

#[component]
pub fn NotificationsPage() -> impl IntoView {
    let changed = RwSignal::new(0u32);
    let list = crate::wire::load(move || changed.get(), |_| list_notifications());
    let (status, set_status) = signal(None::<(bool, String)>);
    let read_all = move |_| {
        spawn_local(async move {
            match mark_read(None).await {
                Ok(()) => {
                    set_status.set(Some((true, "All read.".into())));
                    changed.update(|n| *n += 1);
                }
                Err(err) => set_status.set(Some((false, err.for_person()))),
            }
        });
    };
    view! {
        <Title text="Notifications" />
        <section class="page">
            <div class="panel-head">
                <h1>"Notifications"</h1>
                <button type="button" class="button secondary" on:click=read_all>
                    "Mark all read"
                </button>
            </div>
            <StatusLine status />
            <Transition fallback=|| view! { <p>"Loading…"</p> }>
                <ErrorBoundary fallback=|errors| {
                    view! { <ErrorView errors /> }
                }>
                    {move || Suspend::new(async move {
                        let rows = list.await?;
                        Ok::<
                            _,
                            AppError,
                        >(
                            if rows.is_empty() {
                                view! {
                                    <p class="muted">
                                        "Nothing yet. You are told here when a scheduled run ends."
                                    </p>
                                }
                                    .into_any()
                            } else {
                                view! {
                                    <ul class="notifications">
                                        {rows
                                            .into_iter()
                                            .map(|row| view! { <Item row set_status /> })
                                            .collect_view()}
                                    </ul>
                                }
                                    .into_any()
                            },
                        )
                    })}
                </ErrorBoundary>
            </Transition>
        </section>
    }
}

#[component]
fn Item(row: NotificationRow, set_status: WriteSignal<Option<(bool, String)>>) -> impl IntoView {
    let NotificationRow {
        id,
        title,
        body,
        link,
        read,
        when,
    } = row;
    let navigate = use_navigate();
    // Opening marks it read first, so the bell is right on the next page.
    let open = {
        let link = link.clone();
        move |ev: leptos::ev::MouseEvent| {
            ev.prevent_default();
            let (id, link, navigate) = (id.clone(), link.clone(), navigate.clone());
            spawn_local(async move {
                if !read && let Err(err) = mark_read(Some(id)).await {
                    set_status.set(Some((false, err.for_person())));
                }
                if let Some(link) = link {
                    navigate(&link, Default::default());
                }
            });
        }
    };
    let heading = match link {
        Some(link) => view! {
            <a href=link on:click=open>
                {title}
            </a>
        }
        .into_any(),
        None => title.into_any(),
    };
    view! {
        <li class="card notification" class:unread=!read>
            <h2>
                {(!read).then(|| view! { <span class="visually-hidden">"Unread: "</span> })}
                {heading}
            </h2>
            <p class="notification-body">{body}</p>
            <p class="hint">{when}</p>
        </li>
    }
}
