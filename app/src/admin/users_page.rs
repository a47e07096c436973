//! `/admin/users`: accounts waiting for approval, invitations, and every user: search and
//! page through them; change roles, disable, sign out, delete.

use leptos::prelude::*;
use leptos_meta::Title;

use super::{
    api::{
        delete_user, get_roles_overview, list_users, revoke_user_sessions, set_user_disabled,
        set_user_roles,
    },
    types::{RoleRow, UserRow},
    user_controls::{RoleChecks, apply_change},
    users_onboarding::{InviteForm, PendingAccounts},
};
use crate::{
    error::AppError,
    ui::{DataTable, ErrorView, StatusLine, confirm},
};

#[component]
pub fn AdminUsersPage() -> impl IntoView {
    let (search, set_search) = signal(String::new());
    let (offset, set_offset) = signal(0_i64);
    let (version, set_version) = signal(0_u32);
    let (status, set_status) = signal(None::<(bool, String)>);
    let users = crate::wire::load(
        move || (search.get(), offset.get(), version.get()),
        |(s, o, _)| list_users(s, o, false),
    );
    let roles = crate::wire::load(move || version.get(), |_| get_roles_overview());
    // The invitation form keeps its state (and its message) while the lists reload.
    let invite_roles = crate::wire::load(|| (), |()| get_roles_overview());
    let query = RwSignal::new(String::new());

    view! {
        <Title text="Users · Administration" />
        <section class="page wide">
            <h1>"Users"</h1>
            <PendingAccounts version set_version />
            <Transition fallback=|| ()>
                {move || {
                    invite_roles
                        .get()
                        .and_then(Result::ok)
                        .map(|overview| view! { <InviteForm roles=overview.roles set_version /> })
                }}
            </Transition>
            <form
                class="toolbar"
                role="search"
                on:submit=move |ev| {
                    ev.prevent_default();
                    if offset.get_untracked() != 0 {
                        set_offset.set(0);
                    }
                    set_search.set(query.get_untracked());
                }
            >
                <label for="user-search">"Search users"</label>
                <input
                    id="user-search"
                    type="search"
                    bind:value=query
                    placeholder="Name or email"
                    maxlength="200"
                />
                <button class="button" type="submit">
                    "Search"
                </button>
            </form>
            <StatusLine status />
            <Transition fallback=|| view! { <p>"Loading users…"</p> }>
                <ErrorBoundary fallback=|errors| {
                    view! { <ErrorView errors /> }
                }>
                    {move || Suspend::new(async move {
                        let page = users.await?;
                        let all_roles = roles.await?.roles;
                        let first = if page.total == 0 { 0 } else { page.offset + 1 };
                        let last = page.offset + page.users.len() as i64;
                        let has_more = last < page.total;
                        let previous = (page.offset - page.limit).max(0);
                        let next = page.offset + page.limit;
                        let on_first_page = page.offset == 0;
                        Ok::<
                            _,
                            AppError,
                        >(
                            view! {
                                <p class="muted">
                                    {format!("Showing {first}–{last} of {}", page.total)}
                                </p>
                                <DataTable
                                    label="Users"
                                    columns=[
                                        "Name",
                                        "Email",
                                        "Roles",
                                        "Status",
                                        "Last sign-in",
                                        "Actions",
                                    ]
                                        .map(String::from)
                                        .to_vec()
                                >
                                    {page
                                        .users
                                        .into_iter()
                                        .map(|user| {
                                            view! {
                                                <UserRowView
                                                    user
                                                    all_roles=all_roles.clone()
                                                    set_status
                                                    set_version
                                                />
                                            }
                                        })
                                        .collect_view()}
                                </DataTable>
                                <nav class="pager" aria-label="Pages of users">
                                    <button
                                        class="button secondary"
                                        disabled=on_first_page
                                        on:click=move |_| set_offset.set(previous)
                                    >
                                        "Previous"
                                    </button>
                                    <button
                                        class="button secondary"
                                        disabled=!has_more
                                        on:click=move |_| set_offset.set(next)
                                    >
                                        "Next"
                                    </button>
                                </nav>
                            },
                        )
                    })}
                </ErrorBoundary>
            </Transition>
        </section>
    }
}

fn user_status(user: &UserRow) -> &'static str {
    if user.is_disabled {
        "Disabled"
    } else if !user.is_verified {
        "Not verified"
    } else {
        "Active"
    }
}

#[component]
fn UserRowView(
    user: UserRow,
    all_roles: Vec<RoleRow>,
    set_status: WriteSignal<Option<(bool, String)>>,
    set_version: WriteSignal<u32>,
) -> impl IntoView {
    let selected = RwSignal::new(
        all_roles
            .iter()
            .filter(|role| user.roles.contains(&role.name))
            .map(|role| role.id.clone())
            .collect::<Vec<String>>(),
    );
    let id = user.id.clone();
    let name = user.display_name.clone();
    // The server refuses to disable or delete the account doing it: not offered.
    let is_you = expect_context::<crate::auth::UserResource>()
        .get_untracked()
        .and_then(Result::ok)
        .flatten()
        .is_some_and(|me| me.id == user.id);
    let editing = RwSignal::new(false);
    let legend = format!("Roles of {name}");
    let save_roles = {
        let (id, name) = (id.clone(), name.clone());
        move |_| {
            apply_change(
                set_user_roles(id.clone(), selected.get_untracked()),
                format!("Roles of {name} saved."),
                set_status,
                set_version,
            )
        }
    };
    let toggle_disabled = {
        let (id, name, disabled) = (id.clone(), name.clone(), user.is_disabled);
        move |_| {
            let done = if disabled {
                format!("{name} can sign in again.")
            } else {
                format!("{name} is disabled and signed out.")
            };
            apply_change(
                set_user_disabled(id.clone(), !disabled),
                done,
                set_status,
                set_version,
            )
        }
    };
    let sign_out = {
        let (id, name) = (id.clone(), name.clone());
        move |_| {
            let id = id.clone();
            apply_change(
                async move { revoke_user_sessions(id).await.map(|_| ()) },
                format!("{name} is signed out everywhere."),
                set_status,
                set_version,
            )
        }
    };
    let delete = {
        let (id, name) = (id.clone(), name.clone());
        move |_| {
            if confirm(&format!(
                "Delete {name} and everything they own? This cannot be undone."
            )) {
                apply_change(
                    delete_user(id.clone()),
                    format!("{name} was deleted."),
                    set_status,
                    set_version,
                )
            }
        }
    };
    let roles_label = if user.roles.is_empty() {
        "none".to_owned()
    } else {
        user.roles.join(", ")
    };
    view! {
        <tr role="row">
            <td role="cell" data-label="Name">
                {user.display_name.clone()}
            </td>
            <td role="cell" class="break" data-label="Email">
                {user.email.clone()}
            </td>
            <td role="cell" data-label="Roles">
                <span>{roles_label}</span>
                <button
                    class="link-button"
                    type="button"
                    aria-expanded=move || editing.get().to_string()
                    on:click=move |_| editing.update(|open| *open = !*open)
                >
                    "Edit"
                    <span class="visually-hidden">
                        {format!(" roles of {}", user.display_name)}
                    </span>
                </button>
                <Show when=move || editing.get()>
                    <fieldset class="inline-editor">
                        <legend>{legend.clone()}</legend>
                        <RoleChecks
                            roles=all_roles.iter().map(|r| (r.id.clone(), r.name.clone())).collect()
                            selected
                        />
                        <button class="button" type="button" on:click=save_roles.clone()>
                            "Save roles"
                        </button>
                    </fieldset>
                </Show>
            </td>
            <td role="cell" data-label="Status">
                {user_status(&user)}
            </td>
            <td role="cell" data-label="Last sign-in">
                {user.last_sign_in.clone().unwrap_or_else(|| "never".into())}
            </td>
            <td role="cell" class="actions">
                {(!is_you)
                    .then(|| {
                        view! {
                            <button class="button secondary" type="button" on:click=toggle_disabled>
                                {if user.is_disabled { "Enable" } else { "Disable" }}
                                <span class="visually-hidden">
                                    {format!(" {}", user.display_name)}
                                </span>
                            </button>
                        }
                    })}
                <button class="button secondary" type="button" on:click=sign_out>
                    "Sign out"
                    <span class="visually-hidden">
                        {format!(" {} everywhere", user.display_name)}
                    </span>
                </button>
                {(!is_you)
                    .then(|| {
                        view! {
                            <button class="button danger" type="button" on:click=delete>
                                "Delete"
                                <span class="visually-hidden">
                                    {format!(" {}", user.display_name)}
                                </span>
                            </button>
                        }
                    })}
                {is_you.then(|| view! { <span class="muted small">"This is you"</span> })}
            </td>
        </tr>
    }
}
