//! `/admin/mail`: the outbox. Every message the server sent or holds, newest first; with no
//! SMTP configured, held messages are where administrators read verification and reset links.

use leptos::prelude::*;
use leptos_meta::Title;

use super::api::list_outbox;
use crate::{
    error::AppError,
    ui::{DataTable, ErrorView},
};

#[component]
pub fn AdminMailPage() -> impl IntoView {
    let before = RwSignal::new(None::<String>);
    let messages = crate::wire::load(move || before.get(), list_outbox);

    view! {
        <Title text="Mail · Administration" />
        <section class="page wide">
            <h1>"Mail"</h1>
            <p class="muted">
                "Held: no SMTP server is configured, so the message stays here; pass its link on to the person yourself. Sent messages keep no body."
            </p>
            <Transition fallback=|| view! { <p>"Loading…"</p> }>
                <ErrorBoundary fallback=|errors| {
                    view! { <ErrorView errors /> }
                }>
                    {move || Suspend::new(async move {
                        let rows = messages.await?;
                        let oldest = rows.last().map(|row| row.at.clone());
                        let full_page = rows.len() == 50;
                        Ok::<
                            _,
                            AppError,
                        >(
                            view! {
                                <DataTable
                                    label="Messages"
                                    columns=["When", "To", "Subject", "Status", "Message"]
                                        .map(String::from)
                                        .to_vec()
                                >
                                    {rows
                                        .into_iter()
                                        .map(|row| view! { <MailRowView row /> })
                                        .collect_view()}
                                </DataTable>
                                <nav class="pager" aria-label="Older messages">
                                    <button
                                        class="button secondary"
                                        disabled=move || before.get().is_none()
                                        on:click=move |_| before.set(None)
                                    >
                                        "Newest"
                                    </button>
                                    <button
                                        class="button secondary"
                                        disabled=!full_page
                                        on:click=move |_| before.set(oldest.clone())
                                    >
                                        "Older"
                                    </button>
                                </nav>
                            },
                        )
                    })}
                </ErrorBoundary>
            </Transition>
        </section>
    }
}

#[component]
fn MailRowView(row: super::types::MailRow) -> impl IntoView {
    let status = match (row.status.as_str(), row.last_error) {
        ("queued", Some(error)) => format!("retrying ({} attempts): {error}", row.attempts),
        ("failed", Some(error)) => format!("failed: {error}"),
        (status, _) => status.to_owned(),
    };
    let body = (!row.body.is_empty()).then(|| {
        view! {
            <details>
                <summary>
                    "Read"<span class="visually-hidden">{format!(" {}", row.subject)}</span>
                </summary>
                <pre class="mail-body">{row.body}</pre>
            </details>
        }
    });
    view! {
        <tr role="row">
            <td role="cell" class="nowrap" data-label="When">
                {row.when}
            </td>
            <td role="cell" class="break" data-label="To">
                {row.to}
            </td>
            <td role="cell" data-label="Subject">
                {row.subject.clone()}
            </td>
            <td role="cell" data-label="Status">
                {status}
            </td>
            <td role="cell" data-label="Message">
                {body}
            </td>
        </tr>
    }
}
