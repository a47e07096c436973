//! Adding to a repository: files uploaded with progress (straight to the bucket when it
//! presigns), pasted text and web pages.

use leptos::{prelude::*, task::spawn_local};

use super::{
    api::{add_text_item, add_url_item},
    types::human_size,
};
#[cfg(feature = "hydrate")]
use crate::ui::upload::Destination;
use crate::ui::upload::Uploader;

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
    let uploader = Uploader::new();

    let on_files = move |ev: leptos::ev::Event| {
        start_uploads(
            &ev,
            &repository.get_value(),
            max_upload_bytes,
            direct_uploads,
            uploads,
            uploader,
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
    uploader: Uploader,
) {
    #[cfg(feature = "hydrate")]
    {
        use super::api::{begin_upload, finish_upload};

        for file in crate::ui::upload::take_files(ev) {
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
            let progress = move |share| upload.sent.set(share);
            if !direct {
                let to = Destination::route(
                    format!("/api/knowledge/repositories/{repository}/files"),
                    &file.name(),
                );
                let done = move |answer: Result<String, String>| {
                    upload.outcome.set(Some(answer.map(|_| ())));
                };
                uploader.send(to, file, progress, done);
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
                        let to = Destination {
                            method: grant.method,
                            url: grant.url,
                            headers: grant.headers,
                        };
                        let item = grant.item;
                        let done = move |answer: Result<String, String>| match answer {
                            Ok(_) => {
                                upload.sent.set(1.0);
                                spawn_local(async move {
                                    let outcome = finish_upload(repository, item)
                                        .await
                                        .map_err(|err| err.for_person());
                                    upload.outcome.set(Some(outcome));
                                });
                            }
                            Err(reason) => upload.outcome.set(Some(Err(reason))),
                        };
                        uploader.send(to, file, progress, done);
                    }
                    Err(err) => upload.outcome.set(Some(Err(err.for_person()))),
                }
            });
        }
    }
    #[cfg(not(feature = "hydrate"))]
    let _ = (ev, repository, max_upload_bytes, direct, uploads, uploader);
}
