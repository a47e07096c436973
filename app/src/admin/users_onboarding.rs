//! The top of `/admin/users`: accounts waiting for approval (approve or refuse each) and the
//! form that invites someone by email with roles chosen in advance. Each reports what it did
//! beside itself.

use leptos::prelude::*;

use super::{
    api::{approve_user, invite_user, list_users, refuse_user},
    types::{RoleRow, UserRow},
    user_controls::{RoleChecks, apply_change},
};
use crate::ui::{StatusLine, confirm};

/// Accounts whose address nobody verified yet, with approve and refuse. Shown only when there
/// are some.
#[component]
pub fn PendingAccounts(version: ReadSignal<u32>, set_version: WriteSignal<u32>) -> impl IntoView {
    let (status, set_status) = signal(None::<(bool, String)>);
    let pending = crate::wire::load(
        move || version.get(),
        |_| list_users(String::new(), 0, true),
    );
    view! {
        <Transition fallback=|| ()>
            {move || {
                pending
                    .get()
                    .and_then(Result::ok)
                    .map(|page| {
                        let has_any = !page.users.is_empty();
                        view! {
                            <section
                                class="panel"
                                aria-labelledby="pending-heading"
                                hidden=!has_any
                            >
                                <h2 id="pending-heading">
                                    {format!("Waiting for approval ({})", page.total)}
                                </h2>
                                <p class="muted">
                                    "These accounts have not verified their address. Approve an account only if you know the address is its owner's: approving gives it the role the default rule names."
                                </p>
                                <ul class="pending-list">
                                    {page
                                        .users
                                        .into_iter()
                                        .map(|user| {
                                            view! { <PendingRow user set_status set_version /> }
                                        })
                                        .collect_view()}
                                </ul>
                                <StatusLine status />
                            </section>
                        }
                    })
            }}
        </Transition>
    }
}

#[component]
fn PendingRow(
    user: UserRow,
    set_status: WriteSignal<Option<(bool, String)>>,
    set_version: WriteSignal<u32>,
) -> impl IntoView {
    let approve = {
        let (id, name) = (user.id.clone(), user.display_name.clone());
        move |_| {
            apply_change(
                approve_user(id.clone()),
                format!("{name} is approved."),
                set_status,
                set_version,
            )
        }
    };
    let refuse = {
        let (id, name) = (user.id.clone(), user.display_name.clone());
        move |_| {
            if confirm(&format!("Refuse and delete the account of {name}?")) {
                apply_change(
                    refuse_user(id.clone()),
                    format!("The account of {name} was refused and deleted."),
                    set_status,
                    set_version,
                )
            }
        }
    };
    view! {
        <li>
            <span>
                <strong>{user.display_name.clone()}</strong>
                " · "
                <span class="break">{user.email.clone()}</span>
                " · signed up "
                {user.created.clone()}
            </span>
            <span class="actions">
                <button class="button" type="button" on:click=approve>
                    "Approve"
                    <span class="visually-hidden">{format!(" {}", user.display_name)}</span>
                </button>
                <button class="button danger" type="button" on:click=refuse>
                    "Refuse"
                    <span class="visually-hidden">{format!(" {}", user.display_name)}</span>
                </button>
            </span>
        </li>
    }
}

/// Invites someone by email, with the roles they will hold once they accept.
#[component]
pub fn InviteForm(roles: Vec<RoleRow>, set_version: WriteSignal<u32>) -> impl IntoView {
    let (status, set_status) = signal(None::<(bool, String)>);
    let email = RwSignal::new(String::new());
    let selected = RwSignal::new(
        roles
            .iter()
            .filter(|role| role.name == "staff")
            .map(|role| role.id.clone())
            .collect::<Vec<String>>(),
    );
    let role_names = roles
        .iter()
        .map(|role| (role.id.clone(), role.name.clone()))
        .collect::<Vec<_>>();
    let send = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let address = email.get_untracked();
        let done = format!("Invitation sent to {address}.");
        apply_change(
            invite_user(address, selected.get_untracked()),
            done,
            set_status,
            set_version,
        );
        email.set(String::new());
    };
    view! {
        <details class="panel">
            <summary>"Invite someone"</summary>
            <form class="form" on:submit=send aria-describedby="invite-status">
                <label for="invite-email">"Email"</label>
                <input id="invite-email" type="email" required maxlength="254" bind:value=email />
                <fieldset>
                    <legend>"Roles once they accept"</legend>
                    <RoleChecks roles=role_names selected />
                </fieldset>
                <button class="button" type="submit">
                    "Send invitation"
                </button>
                <div id="invite-status">
                    <StatusLine status />
                </div>
            </form>
        </details>
    }
}
