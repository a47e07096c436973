//! Adding to a repository: files uploaded with progress (straight to the bucket when it
//! presigns), pasted text and web pages.

use leptos::{prelude::*, task::spawn_local};

use super::{
    api::{add_text_item, add_url_item},
    types::human_size,
};

/// One file being uploaded: its name, how far it got, and how it ended.
#[derive(Clone, Copy)]
struct Upload {
    name: StoredValue<String>,
    sent: RwSignal<f64>,
    /// None while sending; then Ok or the reason it was refused.
    outcome: RwSignal<Option<Result<(), String>>>,
}

#[component]
pub(super) fn AddItems(
    repository: String,
    max_upload_bytes: u64,
    direct_uploads: bool,
    set_status: WriteSignal<Option<(bool, String)>>,
) -> impl IntoView {
    let uploads = RwSignal::new(Vec::<Upload>::new());
    let repository = StoredValue::new(repository);
    let title = RwSignal::new(String::new());
    let text = RwSignal::new(String::new());
    let address = RwSignal::new(String::new());
    let limit = human_size(i64::try_from(max_upload_bytes).unwrap_or(i64::MAX));
    let held = uploader();

    let on_files = move |ev: leptos::ev::Event| {
        start_uploads(
            &ev,
            &repository.get_value(),
            max_upload_bytes,
            direct_uploads,
            uploads,
            held,
        );
    };
    let add_text = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let (t, body) = (title.get_untracked(), text.get_untracked());
        let repository = repository.get_value();
        spawn_local(async move {
            match add_text_item(repository, t, body).await {
                Ok(()) => {
                    title.set(String::new());
                    text.set(String::new());
                    set_status.set(Some((true, "Text added; it is being processed.".into())));
                }
                Err(err) => set_status.set(Some((false, err.for_person()))),
            }
        });
    };

    let add_url = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let url = address.get_untracked();
        let repository = repository.get_value();
        spawn_local(async move {
            match add_url_item(repository, url).await {
                Ok(()) => {
                    address.set(String::new());
                    set_status.set(Some((true, "Page added; it is being fetched.".into())));
                }
                Err(err) => set_status.set(Some((false, err.for_person()))),
            }
        });
    };

    view! {
        <h2>"Add"</h2>
        <div class="add-items">
            <div class="upload">
                <label for="knowledge-files" class="button">
                    "Upload files"
                </label>
                <input
                    id="knowledge-files"
                    class="file-input"
                    type="file"
                    multiple
                    accept=".pdf,.docx,.pptx,.xlsx,.csv,.html,.htm,.md,.markdown,.txt,.json,.png,.jpg,.jpeg,.tif,.tiff,application/pdf,text/*,image/*"
                    on:change=on_files
                />
                <p class="muted small">
                    "PDF, Word, PowerPoint, Excel, CSV, HTML, Markdown, text or JSON, and scans or photos of text (read with OCR where the server has it); up to "
                    {limit} " each."
                </p>
                <ul class="uploads" aria-label="Uploads">
                    <For
                        each=move || uploads.get().into_iter().enumerate()
                        key=|(index, _)| *index
                        let:entry
                    >
                        <UploadRow upload=entry.1 />
                    </For>
                </ul>
            </div>
            <details class="panel">
                <summary>"Add a web page"</summary>
                <form class="form" on:submit=add_url>
                    <label for="page-url">"Address"</label>
                    <input
                        id="page-url"
                        type="text"
                        required
                        inputmode="url"
                        autocomplete="url"
                        placeholder="https://example.org/article"
                        bind:value=address
                    />
                    <div class="form-actions">
                        <button class="button" type="submit">
                            "Add page"
                        </button>
                    </div>
                </form>
            </details>
            <details class="panel">
                <summary>"Paste text"</summary>
                <form class="form" on:submit=add_text>
                    <label for="text-title">"Title"</label>
                    <input id="text-title" type="text" maxlength="200" bind:value=title />
                    <label for="text-body">"Text"</label>
                    <textarea id="text-body" rows="6" required bind:value=text></textarea>
                    <div class="form-actions">
                        <button class="button" type="submit">
                            "Add text"
                        </button>
                    </div>
                </form>
            </details>
        </div>
    }
}

#[component]
fn UploadRow(upload: Upload) -> impl IntoView {
    let name = upload.name.get_value();
    let label = format!("Uploading {name}");
    view! {
        <li class="upload-row" class:error=move || matches!(upload.outcome.get(), Some(Err(_)))>
            <span class="break">{name}</span>
            {move || match upload.outcome.get() {
                None => {
                    view! {
                        <progress
                            max="1"
                            value=move || upload.sent.get()
                            aria-label=label.clone()
                        ></progress>
                    }
                        .into_any()
                }
                Some(Ok(())) => view! { <span class="ok">"Uploaded"</span> }.into_any(),
                Some(Err(reason)) => view! { <span role="alert">{reason}</span> }.into_any(),
            }}
        </li>
    }
}

/// The uploads in flight with their listeners, aborted and dropped when the page goes.
#[cfg(feature = "hydrate")]
type Held = StoredValue<
    Vec<(
        web_sys::XmlHttpRequest,
        Vec<wasm_bindgen::closure::Closure<dyn FnMut(web_sys::Event)>>,
    )>,
    LocalStorage,
>;

#[cfg(not(feature = "hydrate"))]
type Held = std::marker::PhantomData<()>;

fn uploader() -> Held {
    #[cfg(feature = "hydrate")]
    {
        let held: Held = StoredValue::new_local(Vec::new());
        on_cleanup(move || {
            held.update_value(|all| {
                for (xhr, _) in all.drain(..) {
                    if xhr.ready_state() != web_sys::XmlHttpRequest::DONE {
                        let _ = xhr.abort();
                    }
                }
            });
        });
        held
    }
    #[cfg(not(feature = "hydrate"))]
    std::marker::PhantomData
}

/// Sends each chosen file with `XMLHttpRequest` (it reports upload progress; `fetch` does
/// not), refusing those over the limit at once. With `direct` uploads each file goes straight
/// to object storage under a grant from `begin_upload`, then `finish_upload` has it checked and
/// queued; otherwise it goes to the server's upload route.
fn start_uploads(
    ev: &leptos::ev::Event,
    repository: &str,
    max_upload_bytes: u64,
    direct: bool,
    uploads: RwSignal<Vec<Upload>>,
    held: Held,
) {
    #[cfg(feature = "hydrate")]
    {
        use wasm_bindgen::JsCast;

        use super::api::{begin_upload, finish_upload};

        let Some(input) = ev
            .target()
            .and_then(|t| t.dyn_into::<web_sys::HtmlInputElement>().ok())
        else {
            return;
        };
        let Some(files) = input.files() else {
            return;
        };
        for index in 0..files.length() {
            let Some(file) = files.get(index) else {
                continue;
            };
            let upload = Upload {
                name: StoredValue::new(file.name()),
                sent: RwSignal::new(0.0),
                outcome: RwSignal::new(None),
            };
            uploads.update(|u| u.push(upload));
            if file.size() > max_upload_bytes as f64 {
                upload.outcome.set(Some(Err(super::types::too_large(
                    &file.name(),
                    max_upload_bytes,
                ))));
                continue;
            }
            if !direct {
                let request = Request {
                    method: "POST".into(),
                    url: format!("/api/knowledge/repositories/{repository}/files"),
                    headers: vec![(
                        "x-file-name".into(),
                        crate::ui::browser::percent_encode(&file.name()),
                    )],
                };
                send_file(request, file, upload, held, None);
                continue;
            }
            let repository = repository.to_owned();
            spawn_local(async move {
                #[expect(
                    clippy::cast_possible_truncation,
                    clippy::cast_sign_loss,
                    reason = "a file's size is a whole, non-negative number of bytes"
                )]
                let size = file.size() as u64;
                match begin_upload(repository.clone(), file.name(), size).await {
                    Ok(grant) => {
                        let request = Request {
                            method: grant.method,
                            url: grant.url,
                            headers: grant.headers,
                        };
                        let item = grant.item;
                        let then: Box<dyn FnOnce()> = Box::new(move || {
                            spawn_local(async move {
                                let outcome = finish_upload(repository, item)
                                    .await
                                    .map_err(|err| err.for_person());
                                upload.outcome.set(Some(outcome));
                            });
                        });
                        send_file(request, file, upload, held, Some(then));
                    }
                    Err(err) => upload.outcome.set(Some(Err(err.for_person()))),
                }
            });
        }
        // The same files may be chosen again.
        input.set_value("");
    }
    #[cfg(not(feature = "hydrate"))]
    let _ = (ev, repository, max_upload_bytes, direct, uploads, held);
}

/// Where and how a file is sent.
#[cfg(feature = "hydrate")]
struct Request {
    method: String,
    url: String,
    headers: Vec<(String, String)>,
}

/// Sends `file` as `request` says, following its progress on `upload`. Once the server took
/// it, `then` runs if given (and sets the outcome); otherwise the upload is done.
#[cfg(feature = "hydrate")]
fn send_file(
    request: Request,
    file: web_sys::File,
    upload: Upload,
    held: Held,
    then: Option<Box<dyn FnOnce()>>,
) {
    use wasm_bindgen::{JsCast, closure::Closure};

    let Ok(xhr) = web_sys::XmlHttpRequest::new() else {
        upload
            .outcome
            .set(Some(Err("This browser cannot upload.".into())));
        return;
    };
    let on_progress = Closure::<dyn FnMut(web_sys::Event)>::new(move |ev: web_sys::Event| {
        if let Some(p) = ev.dyn_ref::<web_sys::ProgressEvent>()
            && p.length_computable()
            && p.total() > 0.0
        {
            upload.sent.set(p.loaded() / p.total());
        }
    });
    let on_end = {
        let xhr = xhr.clone();
        let mut then = then;
        Closure::<dyn FnMut(web_sys::Event)>::new(move |ev: web_sys::Event| {
            let status = xhr.status().unwrap_or(0);
            let outcome = if ev.type_() == "load" && (200..300).contains(&status) {
                if let Some(then) = then.take() {
                    upload.sent.set(1.0);
                    then();
                    return;
                }
                Ok(())
            } else if ev.type_() == "load" {
                let text = xhr.response_text().ok().flatten().unwrap_or_default();
                // Object stores answer in XML, which is no use to show.
                Err(
                    if text.trim().is_empty() || text.trim_start().starts_with('<') {
                        format!("Refused ({status}).")
                    } else {
                        text
                    },
                )
            } else {
                Err("The upload failed: check the connection and try again.".into())
            };
            upload.outcome.set(Some(outcome));
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
        .open_with_async(&request.method, &request.url, true)
        .and_then(|()| {
            for (name, value) in &request.headers {
                xhr.set_request_header(name, value)?;
            }
            xhr.send_with_opt_blob(Some(&file))
        });
    if sent.is_err() {
        upload
            .outcome
            .set(Some(Err("The upload could not start.".into())));
    }
    let kept = held.try_update_value(|all| all.push((xhr.clone(), vec![on_progress, on_end])));
    // The page went while the grant was on its way.
    if kept.is_none() {
        let _ = xhr.abort();
    }
}
