//! What the users page and its onboarding sections share: running a change with its outcome
//! reported, and the role checkboxes.

use leptos::{prelude::*, task::spawn_local};

use crate::error::AppError;

/// Runs an admin change, then reports it in the status line and reloads the lists.
pub(super) fn apply_change<F>(
    change: F,
    done: String,
    set_status: WriteSignal<Option<(bool, String)>>,
    set_version: WriteSignal<u32>,
) where
    F: std::future::Future<Output = Result<(), AppError>> + 'static,
{
    spawn_local(async move {
        match change.await {
            Ok(()) => {
                set_status.set(Some((true, done)));
                set_version.update(|v| *v += 1);
            }
            Err(err) => set_status.set(Some((false, err.for_person()))),
        }
    });
}

/// A checkbox per role; `selected` holds the ids of the checked ones.
#[component]
pub(super) fn RoleChecks(
    /// `(id, name)` of each role, in order.
    roles: Vec<(String, String)>,
    selected: RwSignal<Vec<String>>,
) -> impl IntoView {
    roles
        .into_iter()
        .map(|(role_id, name)| {
            let checked = {
                let role_id = role_id.clone();
                move || selected.read().contains(&role_id)
            };
            view! {
                <label class="check">
                    <input
                        type="checkbox"
                        prop:checked=checked
                        on:change=move |ev| {
                            let on = event_target_checked(&ev);
                            selected
                                .update(|ids| {
                                    ids.retain(|id| *id != role_id);
                                    if on {
                                        ids.push(role_id.clone());
                                    }
                                });
                        }
                    />
                    {name}
                </label>
            }
        })
        .collect_view()
}
