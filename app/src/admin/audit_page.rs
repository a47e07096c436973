//! `/admin/audit`: sign-ins and administrative changes, newest first.

use leptos::prelude::*;
use leptos_meta::Title;

use super::api::list_audit;
use crate::{
    error::AppError,
    ui::{DataTable, ErrorView},
};

#[component]
pub fn AdminAuditPage() -> impl IntoView {
    let kind = RwSignal::new("all".to_owned());
    let before = RwSignal::new(None::<String>);
    let entries = crate::wire::load(
        move || (kind.get(), before.get()),
        |(k, b)| list_audit(k, b),
    );

    view! {
        <Title text="Audit log · Administration" />
        <section class="page wide">
            <h1>"Audit log"</h1>
            <div class="toolbar">
                <label for="audit-kind">"Show"</label>
                <select
                    id="audit-kind"
                    on:change=move |ev| {
                        before.set(None);
                        kind.set(event_target_value(&ev));
                    }
                    prop:value=move || kind.get()
                >
                    <option value="all">"Everything"</option>
                    <option value="sign-ins">"Sign-ins"</option>
                    <option value="admin">"Administrative changes"</option>
                </select>
            </div>
            <Transition fallback=|| view! { <p>"Loading…"</p> }>
                <ErrorBoundary fallback=|errors| {
                    view! { <ErrorView errors /> }
                }>
                    {move || Suspend::new(async move {
                        let rows = entries.await?;
                        let oldest = rows.last().map(|row| row.at.clone());
                        let full_page = rows.len() == 50;
                        Ok::<
                            _,
                            AppError,
                        >(
                            view! {
                                <DataTable
                                    label="Audit entries"
                                    columns=["When", "Who", "What", "Details", "IP"]
                                        .map(String::from)
                                        .to_vec()
                                >
                                    {rows
                                        .into_iter()
                                        .map(|row| {
                                            view! {
                                                <tr role="row">
                                                    <td role="cell" class="nowrap" data-label="When">
                                                        {row.when}
                                                    </td>
                                                    <td role="cell" class="break" data-label="Who">
                                                        {row.actor}
                                                    </td>
                                                    <td role="cell" class="break" data-label="What">
                                                        {row.summary}
                                                    </td>
                                                    <td role="cell">
                                                        <details class="audit-detail">
                                                            <summary>"Details"</summary>
                                                            <pre class="break code">{row.detail}</pre>
                                                        </details>
                                                    </td>
                                                    <td role="cell" data-label="IP">
                                                        {row.ip.unwrap_or_default()}
                                                    </td>
                                                </tr>
                                            }
                                        })
                                        .collect_view()}
                                </DataTable>
                                <nav class="pager" aria-label="Older entries">
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
