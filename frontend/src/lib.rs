//! The WASM entry point: `hydrate()` attaches the client to the server-rendered page.

use wasm_bindgen::prelude::wasm_bindgen;

/// Called by the script tag the server renders (see `leptos::prelude::HydrationScripts`).
#[wasm_bindgen]
pub fn hydrate() {
    console_error_panic_hook::set_once();
    leptos::mount::hydrate_body(app::App);
}
