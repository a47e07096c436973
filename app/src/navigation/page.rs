//! `/page/{id}`: a landing page from the navigation, its links as tiles with a search.

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_params_map;

use super::{api::open_landing_page, types::MenuEntry};
use crate::ui::{Tile, TileGrid, WhenLoaded};

#[component]
pub fn LandingPage() -> impl IntoView {
    let params = use_params_map();
    let page = crate::wire::load(
        move || params.read().get("id").unwrap_or_default(),
        open_landing_page,
    );
    view! {
        <section class="page wide">
            <WhenLoaded data=page then=move |page| view! { <Tiles page /> } />
        </section>
    }
}

#[component]
fn Tiles(page: MenuEntry) -> impl IntoView {
    let MenuEntry {
        label,
        description,
        children,
        ..
    } = page;
    let tiles = children
        .into_iter()
        .map(|entry| Tile {
            href: entry.href.unwrap_or_else(|| "/".to_owned()),
            icon: entry.icon,
            label: entry.label,
            description: entry.description,
            category: String::new(),
        })
        .collect();
    view! {
        <Title text=label.clone() />
        <h1>{label.clone()}</h1>
        {(!description.is_empty()).then(|| view! { <p class="muted">{description}</p> })}
        <TileGrid
            tiles
            search_id="tile-search"
            search_label=format!("Search {label}")
            empty="Nothing is here yet."
            none_match="Nothing matches."
        />
    }
}
