//! A repository's settings (name, description, public) and who it is shared with.

use leptos::{prelude::*, task::spawn_local};
use leptos_router::hooks::use_navigate;

use super::{
    api::{delete_repository, repository_shares, set_repository_shares, update_repository},
    types::RepositoryView,
};
use crate::{
    error::AppError,
    ui::{ErrorView, StatusLine, confirm},
};

/// A repository's settings and sharing; what each form's button did is said beside it.
#[component]
pub(super) fn Settings(repository: RepositoryView, set_version: WriteSignal<u32>) -> impl IntoView {
    let (status, set_status) = signal(None::<(bool, String)>);
    let id = StoredValue::new(repository.id.clone());
    let name = RwSignal::new(repository.name.clone());
    let description = RwSignal::new(repository.description.clone());
    let is_public = RwSignal::new(repository.is_public);
    let navigate = use_navigate();

    let save = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let (n, d, p) = (
            name.get_untracked(),
            description.get_untracked(),
            is_public.get_untracked(),
        );
        spawn_local(async move {
            match update_repository(id.get_value(), n, d, p).await {
                Ok(()) => {
                    set_status.set(Some((true, "Saved.".into())));
                    set_version.update(|v| *v += 1);
                }
                Err(err) => set_status.set(Some((false, err.for_person()))),
            }
        });
    };
    let delete = move |_| {
        if !confirm("Delete this repository with all its items? This cannot be undone.") {
            return;
        }
        let navigate = navigate.clone();
        spawn_local(async move {
            match delete_repository(id.get_value()).await {
                Ok(()) => navigate("/knowledge", Default::default()),
                Err(err) => set_status.set(Some((false, err.for_person()))),
            }
        });
    };

    view! {
        <details class="panel">
            <summary>"Settings and sharing"</summary>
            <form class="form" on:submit=save>
                <RepositoryFields prefix="edit" name description is_public />
                <div class="form-actions">
                    <button class="button" type="submit">
                        "Save"
                    </button>
                    <button class="button danger" type="button" on:click=delete>
                        "Delete repository"
                    </button>
                    <StatusLine status />
                </div>
            </form>
            <Sharing id=repository.id.clone() />
        </details>
    }
}

#[component]
fn Sharing(id: String) -> impl IntoView {
    let (status, set_status) = signal(None::<(bool, String)>);
    let id = StoredValue::new(id);
    let shares = crate::wire::load(move || id.get_value(), repository_shares);
    view! {
        <Transition fallback=|| ()>
            <ErrorBoundary fallback=|errors| {
                view! { <ErrorView errors /> }
            }>
                {move || Suspend::new(async move {
                    let current = shares.await?;
                    let emails = RwSignal::new(current.user_emails.join(", "));
                    let roles = RwSignal::new(current.role_names.clone());
                    let save = move |ev: leptos::ev::SubmitEvent| {
                        ev.prevent_default();
                        let (e, r) = (emails.get_untracked(), roles.get_untracked());
                        spawn_local(async move {
                            match set_repository_shares(id.get_value(), e, r).await {
                                Ok(said) => set_status.set(Some((true, said))),
                                Err(err) => set_status.set(Some((false, err.for_person()))),
                            }
                        });
                    };
                    Ok::<
                        _,
                        AppError,
                    >(
                        view! {
                            <form class="form" on:submit=save>
                                <h3>"Share (read-only)"</h3>
                                <label for="share-emails">"With people (email addresses)"</label>
                                <input
                                    id="share-emails"
                                    type="text"
                                    placeholder="name@school.org, other@school.org"
                                    bind:value=emails
                                />
                                <fieldset class="checks">
                                    <legend>"With everyone who has the role"</legend>
                                    {current
                                        .roles
                                        .into_iter()
                                        .map(|role| {
                                            let (checked_role, toggled_role) = (
                                                role.clone(),
                                                role.clone(),
                                            );
                                            view! {
                                                <label class="check">
                                                    <input
                                                        type="checkbox"
                                                        prop:checked=move || {
                                                            roles.with(|r| r.contains(&checked_role))
                                                        }
                                                        on:change=move |ev| {
                                                            let on = event_target_checked(&ev);
                                                            roles
                                                                .update(|r| {
                                                                    r.retain(|x| x != &toggled_role);
                                                                    if on {
                                                                        r.push(toggled_role.clone());
                                                                    }
                                                                });
                                                        }
                                                    />
                                                    {role}
                                                </label>
                                            }
                                        })
                                        .collect_view()}
                                </fieldset>
                                <div class="form-actions">
                                    <button class="button" type="submit">
                                        "Save sharing"
                                    </button>
                                    <StatusLine status />
                                </div>
                            </form>
                        },
                    )
                })}
            </ErrorBoundary>
        </Transition>
    }
}

#[component]
pub(super) fn RepositoryFields(
    /// Makes the fields' ids unique on the page.
    prefix: &'static str,
    name: RwSignal<String>,
    description: RwSignal<String>,
    is_public: RwSignal<bool>,
) -> impl IntoView {
    let (name_id, description_id) = (format!("{prefix}-name"), format!("{prefix}-description"));
    view! {
        <label for=name_id.clone()>"Name"</label>
        <input id=name_id type="text" required maxlength="100" bind:value=name />
        <label for=description_id.clone()>"Description"</label>
        <textarea id=description_id maxlength="2000" rows="2" bind:value=description></textarea>
        <label class="check">
            <input type="checkbox" bind:checked=is_public />
            "Public: everyone who can use knowledge repositories may search it"
        </label>
    }
}
