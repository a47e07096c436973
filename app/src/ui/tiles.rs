//! A grid of tiles (an icon, a name and a line about each) with a search over their words and,
//! when tiles name categories, a category filter: the assistant catalog and the navigation's
//! landing pages.

use leptos::prelude::*;

use super::icon_path;

/// One tile.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tile {
    pub href: String,
    pub icon: String,
    pub label: String,
    pub description: String,
    /// Its category; empty for none.
    pub category: String,
}

/// The tiles and a search box filtering them as it is typed.
#[component]
pub fn TileGrid(
    tiles: Vec<Tile>,
    /// The search box's id on the page.
    search_id: &'static str,
    /// What the search box is called: "Search assistants".
    search_label: String,
    /// Said when there is no tile at all.
    empty: &'static str,
    /// Said when the search leaves none.
    none_match: &'static str,
    /// The tiles' names are `h3` under a section's `h2` (else `h2`).
    #[prop(optional)]
    nested: bool,
) -> impl IntoView {
    if tiles.is_empty() {
        return view! { <p class="muted">{empty}</p> }.into_any();
    }
    let mut categories: Vec<String> = tiles
        .iter()
        .map(|t| t.category.clone())
        .filter(|c| !c.is_empty())
        .collect();
    categories.sort_by_key(|c| c.to_lowercase());
    categories.dedup();
    let search = RwSignal::new(String::new());
    // Empty: every category.
    let category = RwSignal::new(String::new());
    let tiles = StoredValue::new(tiles);
    let shown = move || {
        let words = search.get().trim().to_lowercase();
        let category = category.get();
        tiles.with_value(|all| {
            all.iter()
                .filter(|t| category.is_empty() || t.category == category)
                .filter(|t| {
                    words.is_empty()
                        || format!("{} {} {}", t.label, t.description, t.category)
                            .to_lowercase()
                            .contains(&words)
                })
                .cloned()
                .collect::<Vec<_>>()
        })
    };
    let filter_id = format!("{search_id}-category");
    let filter = (!categories.is_empty()).then(|| {
        view! {
            <label for=filter_id.clone() class="visually-hidden">
                "Category"
            </label>
            <select id=filter_id bind:value=category>
                <option value="">"All categories"</option>
                {categories
                    .into_iter()
                    .map(|c| {
                        let label = c.clone();
                        view! { <option value=c>{label}</option> }
                    })
                    .collect_view()}
            </select>
        }
    });
    let none_shown = move || shown().is_empty();
    view! {
        <div class="search-form tile-filters" role="search">
            <label for=search_id class="visually-hidden">
                {search_label.clone()}
            </label>
            <input id=search_id type="search" placeholder=search_label bind:value=search />
            {filter}
        </div>
        <Show when=none_shown>
            <p class="muted">{none_match}</p>
        </Show>
        <ul class="cards tiles">
            {move || {
                shown().into_iter().map(|tile| view! { <TileView tile nested /> }).collect_view()
            }}
        </ul>
    }
    .into_any()
}

#[component]
fn TileView(tile: Tile, nested: bool) -> impl IntoView {
    let external = !tile.href.starts_with('/');
    let name = if nested {
        view! { <h3>{tile.label}</h3> }.into_any()
    } else {
        view! { <h2>{tile.label}</h2> }.into_any()
    };
    view! {
        <li class="card tile">
            <a href=tile.href rel=external.then_some("noopener noreferrer")>
                <svg aria-hidden="true" viewBox="0 0 24 24" width="28" height="28">
                    <path d=icon_path(&tile.icon) />
                </svg>
                {name}
            </a>
            {(!tile.category.is_empty())
                .then(|| view! { <p class="tile-category">{tile.category}</p> })}
            <p>{tile.description}</p>
        </li>
    }
}
