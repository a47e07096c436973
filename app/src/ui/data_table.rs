//! The admin and knowledge pages' tables: a labelled region with a header row of column
//! names. On a phone each row is drawn as a card (the CSS gives each cell its column's name
//! from `data-label`); as a browser drops a table's meaning once its parts are displayed as
//! blocks, the table, its rows and cells say their roles themselves (`role="row"`, `"cell"`,
//! `"rowheader"` in the rows each page writes).

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
            <table class=format!("data-table {class}") role="table">
                <thead role="rowgroup">
                    <tr role="row">
                        {columns
                            .into_iter()
                            .map(|name| {
                                view! {
                                    <th scope="col" role="columnheader">
                                        {name}
                                    </th>
                                }
                            })
                            .collect_view()}
                    </tr>
                </thead>
                <tbody role="rowgroup">{children()}</tbody>
            </table>
        </div>
    }
}
