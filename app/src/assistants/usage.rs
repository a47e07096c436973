//! The use of each assistant over a chosen period (runs, people, failures, tokens, cost), on
//! the administrators' assistants page.

use leptos::prelude::*;

use super::{api::assistant_usage, types::UsageRow};
use crate::ui::{DataTable, WhenLoaded};

const PERIODS: &[(&str, &str)] = &[("7", "7 days"), ("30", "30 days"), ("90", "90 days")];

#[component]
pub fn AssistantUsage() -> impl IntoView {
    let days = RwSignal::new("30".to_owned());
    let rows = crate::wire::load(
        move || days.get(),
        |days| assistant_usage(days.parse().unwrap_or(30)),
    );
    view! {
        <div class="panel-head">
            <h2>"Use"</h2>
            <div class="toolbar">
                <label for="usage-period">"Over the last"</label>
                <select
                    id="usage-period"
                    on:change=move |ev| days.set(event_target_value(&ev))
                    prop:value=move || days.get()
                >
                    {PERIODS
                        .iter()
                        .map(|(value, label)| {
                            let chosen = move || days.with(|d| d.as_str() == *value);
                            view! {
                                <option value=*value selected=chosen>
                                    {*label}
                                </option>
                            }
                        })
                        .collect_view()}
                </select>
            </div>
        </div>
        <WhenLoaded data=rows then=move |rows| view! { <UsageTable rows /> } />
    }
}

#[component]
fn UsageTable(rows: Vec<UsageRow>) -> impl IntoView {
    if rows.is_empty() {
        return view! { <p class="muted">"No assistant ran in this period."</p> }.into_any();
    }
    view! {
        <DataTable
            label="Use of each assistant"
            columns=["Assistant", "Runs", "People", "Failed", "Tokens", "Cost"]
                .map(String::from)
                .to_vec()
        >
            {rows
                .into_iter()
                .map(|row| {
                    view! {
                        <tr role="row">
                            <th role="rowheader" scope="row" data-label="Assistant">
                                {row.name}
                            </th>
                            <td role="cell" data-label="Runs">
                                {row.runs}
                            </td>
                            <td role="cell" data-label="People">
                                {row.people}
                            </td>
                            <td role="cell" data-label="Failed">
                                {row.failed}
                            </td>
                            <td role="cell" data-label="Tokens">
                                {row.tokens}
                            </td>
                            <td role="cell" data-label="Cost">
                                {row.cost}
                            </td>
                        </tr>
                    }
                })
                .collect_view()}
        </DataTable>
    }
    .into_any()
}
