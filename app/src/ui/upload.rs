//! The browser's one way of sending a file: `XMLHttpRequest` (it reports upload progress;
//! `fetch` does not), to the server's upload routes or straight to object storage. Chat
//! attachments and knowledge uploads both go through [`Uploader::send`].
#![cfg_attr(
    not(feature = "hydrate"),
    expect(
        dead_code,
        reason = "only the browser sends files; tests check the rest"
    )
)]

#[cfg(feature = "hydrate")]
use leptos::prelude::*;

/// Where and how a file is sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Destination {
    pub method: String,
    pub url: String,
    pub headers: Vec<(String, String)>,
}

impl Destination {
    /// One of our upload routes: the body is the file, its name in `X-File-Name`.
    pub fn route(url: impl Into<String>, file_name: &str) -> Self {
        Self {
            method: "POST".into(),
            url: url.into(),
            headers: vec![(
                "x-file-name".into(),
                super::browser::percent_encode(file_name),
            )],
        }
    }
}

/// What a refused upload shows: the server's own words when it gave some (object stores
/// answer in XML, which is no use to show), else what the status means.
pub fn refusal_text(file_name: &str, status: u16, body: &str) -> String {
    let body = body.trim();
    if !body.is_empty() && !body.starts_with('<') {
        body.to_owned()
    } else if status == 413 {
        format!("{file_name} is too large.")
    } else {
        format!("{file_name} was refused ({status}).")
    }
}

/// The file input `ev` came from.
#[cfg(feature = "hydrate")]
fn file_input(ev: &web_sys::Event) -> Option<web_sys::HtmlInputElement> {
    use wasm_bindgen::JsCast;
    ev.target()?.dyn_into::<web_sys::HtmlInputElement>().ok()
}

/// The first file chosen in the file input `ev` came from, if any (the input keeps showing it).
#[cfg(feature = "hydrate")]
pub fn chosen_file(ev: &web_sys::Event) -> Option<web_sys::File> {
    file_input(ev)?.files()?.get(0)
}

/// Every file chosen in the file input `ev` came from, in order; the input is emptied, so the
/// same files can be chosen again.
#[cfg(feature = "hydrate")]
pub fn take_files(ev: &web_sys::Event) -> Vec<web_sys::File> {
    let Some(input) = file_input(ev) else {
        return Vec::new();
    };
    let files = input.files().map_or_else(Vec::new, |list| {
        (0..list.length()).filter_map(|at| list.get(at)).collect()
    });
    input.set_value("");
    files
}

/// A request in flight with the listeners it calls.
#[cfg(feature = "hydrate")]
type InFlight = (
    web_sys::XmlHttpRequest,
    Vec<wasm_bindgen::closure::Closure<dyn FnMut(web_sys::Event)>>,
);

/// The uploads a page has in flight, aborted when the page goes. Made inside a component.
#[derive(Clone, Copy)]
pub struct Uploader {
    #[cfg(feature = "hydrate")]
    held: StoredValue<Vec<InFlight>, LocalStorage>,
}

impl Uploader {
    pub fn new() -> Self {
        #[cfg(feature = "hydrate")]
        {
            let held = StoredValue::new_local(Vec::new());
            on_cleanup(move || {
                held.update_value(|all: &mut Vec<InFlight>| {
                    for (xhr, _) in all.drain(..) {
                        if xhr.ready_state() != web_sys::XmlHttpRequest::DONE {
                            let _ = xhr.abort();
                        }
                    }
                });
            });
            Self { held }
        }
        #[cfg(not(feature = "hydrate"))]
        Self {}
    }

    /// Sends `file` to `to`; `progress` hears the share sent so far (0 to 1), `done` the
    /// answer's body when it was taken, or the reason, for people, when not.
    #[cfg(feature = "hydrate")]
    pub fn send(
        self,
        to: Destination,
        file: web_sys::File,
        progress: impl Fn(f64) + 'static,
        done: impl FnOnce(Result<String, String>) + 'static,
    ) {
        use wasm_bindgen::{JsCast, closure::Closure};

        let name = file.name();
        // Told once: by the request's end, or at once when it cannot start.
        let done = std::rc::Rc::new(std::cell::Cell::new(Some(
            Box::new(done) as Box<dyn FnOnce(Result<String, String>)>
        )));
        let finish = move |outcome: Result<String, String>| {
            if let Some(done) = done.take() {
                done(outcome);
            }
        };
        let Ok(xhr) = web_sys::XmlHttpRequest::new() else {
            finish(Err("This browser cannot upload.".into()));
            return;
        };
        let on_progress = Closure::<dyn FnMut(web_sys::Event)>::new(move |ev: web_sys::Event| {
            if let Some(p) = ev.dyn_ref::<web_sys::ProgressEvent>()
                && p.length_computable()
                && p.total() > 0.0
            {
                progress(p.loaded() / p.total());
            }
        });
        let on_end = {
            let (xhr, finish) = (xhr.clone(), finish.clone());
            Closure::<dyn FnMut(web_sys::Event)>::new(move |ev: web_sys::Event| {
                let status = xhr.status().unwrap_or(0);
                let body = xhr.response_text().ok().flatten().unwrap_or_default();
                finish(if ev.type_() != "load" {
                    Err("The upload failed: check the connection and try again.".into())
                } else if (200..300).contains(&status) {
                    Ok(body)
                } else {
                    Err(refusal_text(&name, status, &body))
                });
            })
        };
        if let Ok(target) = xhr.upload() {
            let _ = target
                .add_event_listener_with_callback("progress", on_progress.as_ref().unchecked_ref());
        }
        for event in ["load", "error", "abort"] {
            let _ = xhr.add_event_listener_with_callback(event, on_end.as_ref().unchecked_ref());
        }
        let sent = xhr
            .open_with_async(&to.method, &to.url, true)
            .and_then(|()| {
                for (name, value) in &to.headers {
                    xhr.set_request_header(name, value)?;
                }
                xhr.send_with_opt_blob(Some(&file))
            });
        if sent.is_err() {
            finish(Err("The upload could not start.".into()));
            return;
        }
        let kept = self
            .held
            .try_update_value(|all| all.push((xhr.clone(), vec![on_progress, on_end])));
        // The page went while the request was being made.
        if kept.is_none() {
            let _ = xhr.abort();
        }
    }
}

impl Default for Uploader {
    fn default() -> Self {
        Self::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_refusal_shows_the_servers_words_or_what_the_status_means() {
        assert_eq!(
            refusal_text("a.pdf", 415, "a.pdf is not a document.\n"),
            "a.pdf is not a document."
        );
        assert_eq!(
            refusal_text(
                "a.pdf",
                403,
                "<?xml version=\"1.0\"?><Error>AccessDenied</Error>"
            ),
            "a.pdf was refused (403)."
        );
        assert_eq!(refusal_text("a.pdf", 413, ""), "a.pdf is too large.");
    }

    #[test]
    fn a_route_upload_names_its_file_encoded() {
        let to = Destination::route("/api/chat/documents", "Bericht ä.pdf");
        assert_eq!(to.method, "POST");
        assert_eq!(
            to.headers,
            vec![("x-file-name".into(), "Bericht%20%C3%A4%2Epdf".into())]
        );
    }
}
