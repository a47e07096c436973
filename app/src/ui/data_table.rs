//! The admin pages' tables: a labelled region that scrolls sideways on narrow screens (and
//! can be scrolled with the keyboard), with a header row of column names.

use leptos::prelude::*;

#[component]
pub fn DataTable(
    /// Names the scrolling region for screen readers.
    #[prop(into)]
    label: String,
    /// Header cells, in order.
    columns: Vec<String>,
    /// Extra classes for the table (`matrix` for a checkbox grid).
    #[prop(optional, into)]
    class: String,
    /// The body rows.
    children: Children,
) -> impl IntoView {
    view! {
        <div class="table-scroll" tabindex="0" role="region" aria-label=label>
            <table class=format!("data-table {class}")>
                <thead>
                    <tr>
                        {columns
                            .into_iter()
                            .map(|name| view! { <th scope="col">{name}</th> })
                            .collect_view()}
                    </tr>
                </thead>
                <tbody>{children()}</tbody>
            </table>
        </div>
    }
}
