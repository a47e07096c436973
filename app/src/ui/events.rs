//! The browser's one way of following server-sent events: an `EventSource` with a handler per
//! event name, closed when the page that opened it goes.

#[cfg(feature = "hydrate")]
use leptos::prelude::*;

/// An open event source and the listeners it calls.
#[cfg(feature = "hydrate")]
type Listening = (
    web_sys::EventSource,
    Vec<wasm_bindgen::closure::Closure<dyn FnMut(web_sys::Event)>>,
);

/// What hears an event's data; `false` closes the source.
pub type Handler = Box<dyn FnMut(String) -> bool>;

/// Follows `url` from the browser (nothing happens on the server): each `(name, handler)`
/// hears the data of the events called `name`. Closed when the calling component goes, or
/// when a handler returns `false`.
pub fn follow(url: String, handlers: Vec<(&'static str, Handler)>) {
    #[cfg(feature = "hydrate")]
    {
        use wasm_bindgen::{JsCast, closure::Closure};

        let held = StoredValue::new_local(None::<Listening>);
        let close = move || {
            held.update_value(|held| {
                if let Some((source, _)) = held.take() {
                    source.close();
                }
            });
        };
        let Ok(source) = web_sys::EventSource::new(&url) else {
            return;
        };
        let mut listeners = Vec::new();
        for (name, mut handler) in handlers {
            let listener = Closure::<dyn FnMut(web_sys::Event)>::new(move |ev: web_sys::Event| {
                let data = ev
                    .dyn_ref::<web_sys::MessageEvent>()
                    .and_then(|m| m.data().as_string())
                    .unwrap_or_default();
                if !handler(data) {
                    close();
                }
            });
            let _ =
                source.add_event_listener_with_callback(name, listener.as_ref().unchecked_ref());
            listeners.push(listener);
        }
        held.set_value(Some((source, listeners)));
        on_cleanup(close);
    }
    #[cfg(not(feature = "hydrate"))]
    let _ = (url, handlers);
}
