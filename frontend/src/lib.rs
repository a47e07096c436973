//! The WASM entry point: `hydrate()` attaches the client to the server-rendered page.

use wasm_bindgen::prelude::wasm_bindgen;

/// Called by the script tag the server renders (see `leptos::prelude::HydrationScripts`).
///
/// Hydration waits for the code of a lazily loaded page (see `app::App`'s routes) before it
/// attaches to that page's HTML; only then is the page marked hydrated.
#[wasm_bindgen]
pub fn hydrate() {
    console_error_panic_hook::set_once();
    wasm_bindgen_futures::spawn_local(async {
        let Some(body) = leptos::prelude::document().body() else {
            return;
        };
        let app = leptos::mount::hydrate_from_async(body, app::App).await;
        // The app lives as long as the page.
        app.forget();
        app::hydrated();
    });
}
