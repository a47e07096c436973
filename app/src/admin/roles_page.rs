//! `/admin/roles`: custom roles, the role-by-tool grant matrix, and sign-up settings.

use leptos::prelude::*;
use leptos_meta::Title;

use super::{
    api::{
        create_role, delete_role, get_roles_overview, rename_role, set_local_sign_up,
        set_role_tools,
    },
    types::{RoleRow, ToolRow},
    user_controls::apply_change,
};
use crate::{
    error::AppError,
    ui::{DataTable, ErrorView, StatusLine},
};

#[component]
pub fn AdminRolesPage() -> impl IntoView {
    let (version, set_version) = signal(0_u32);
    let (status, set_status) = signal(None::<(bool, String)>);
    let overview = crate::wire::load(move || version.get(), |_| get_roles_overview());
    let new_name = RwSignal::new(String::new());
    let new_description = RwSignal::new(String::new());

    view! {
        <Title text="Roles · Administration" />
        <section class="page wide">
            <h1>"Roles and tools"</h1>
            <StatusLine status />
            <h2>"New role"</h2>
            <form
                class="form"
                on:submit=move |ev| {
                    ev.prevent_default();
                    let name = new_name.get_untracked();
                    let description = new_description.get_untracked();
                    new_name.set(String::new());
                    new_description.set(String::new());
                    apply_change(
                        create_role(name.clone(), description),
                        format!("Role {name} created."),
                        set_status,
                        set_version,
                    );
                }
            >
                <label for="role-name">"Name"</label>
                <input id="role-name" type="text" required maxlength="60" bind:value=new_name />
                <label for="role-description">"Description"</label>
                <input
                    id="role-description"
                    type="text"
                    maxlength="500"
                    bind:value=new_description
                />
                <button class="button" type="submit">
                    "Create role"
                </button>
            </form>
            <Transition fallback=|| view! { <p>"Loading roles…"</p> }>
                <ErrorBoundary fallback=|errors| {
                    view! { <ErrorView errors /> }
                }>
                    {move || Suspend::new(async move {
                        let overview = overview.await?;
                        let tools = overview.tools.clone();
                        let sign_up_open = overview.local_sign_up;
                        Ok::<
                            _,
                            AppError,
                        >(
                            view! {
                                <h2>"Sign-in settings"</h2>
                                <label class="check">
                                    <input
                                        type="checkbox"
                                        prop:checked=sign_up_open
                                        on:change=move |ev| {
                                            let open = event_target_checked(&ev);
                                            let done = if open {
                                                "Anyone can now create an account with a password."
                                            } else {
                                                "Sign-up with a password is now closed."
                                            };
                                            apply_change(
                                                set_local_sign_up(open),
                                                done.to_owned(),
                                                set_status,
                                                set_version,
                                            );
                                        }
                                    />
                                    "Allow anyone to create an account with email and password"
                                </label>
                                <h2>"Tools each role may use"</h2>
                                <DataTable
                                    label="Tools each role may use"
                                    columns=role_columns(&tools)
                                    class="matrix"
                                >
                                    {overview
                                        .roles
                                        .into_iter()
                                        .map(|role| {
                                            view! {
                                                <RoleRowView
                                                    role
                                                    tools=tools.clone()
                                                    set_status
                                                    set_version
                                                />
                                            }
                                        })
                                        .collect_view()}
                                </DataTable>
                            },
                        )
                    })}
                </ErrorBoundary>
            </Transition>
        </section>
    }
}

#[component]
fn RoleRowView(
    role: RoleRow,
    tools: Vec<ToolRow>,
    set_status: WriteSignal<Option<(bool, String)>>,
    set_version: WriteSignal<u32>,
) -> impl IntoView {
    let granted = role.tools.clone();
    let rename_to = RwSignal::new(role.name.clone());
    let cells = tools
        .into_iter()
        .map(|tool| {
            let is_granted = granted.contains(&tool.slug);
            let (role_id, role_name, granted) =
                (role.id.clone(), role.name.clone(), granted.clone());
            let label = format!("{} for {}", tool.name, role.name);
            let slug = tool.slug.clone();
            let column = tool_column(&tool);
            view! {
                <td role="cell" data-label=column>
                    <input
                        type="checkbox"
                        aria-label=label
                        prop:checked=is_granted
                        on:change=move |ev| {
                            let on = event_target_checked(&ev);
                            let mut next: Vec<String> = granted
                                .iter()
                                .filter(|s| **s != slug)
                                .cloned()
                                .collect();
                            if on {
                                next.push(slug.clone());
                            }
                            apply_change(
                                set_role_tools(role_id.clone(), next),
                                format!("Tools of {role_name} saved."),
                                set_status,
                                set_version,
                            );
                        }
                    />
                </td>
            }
        })
        .collect_view();
    let actions = if role.is_system {
        view! { <span class="muted">"System role"</span> }.into_any()
    } else {
        let (id, name) = (role.id.clone(), role.name.clone());
        let delete = {
            let (id, name) = (id.clone(), name.clone());
            move |_| {
                apply_change(
                    delete_role(id.clone()),
                    format!("Role {name} deleted."),
                    set_status,
                    set_version,
                )
            }
        };
        view! {
            <details class="inline-editor">
                <summary>
                    "Rename" <span class="visually-hidden">{format!(" {name}")}</span>
                </summary>
                <form on:submit=move |ev| {
                    ev.prevent_default();
                    let to = rename_to.get_untracked();
                    apply_change(
                        rename_role(id.clone(), to.clone()),
                        format!("Role renamed to {to}."),
                        set_status,
                        set_version,
                    );
                }>
                    <label>
                        {format!("New name for {name}")}
                        <input type="text" required maxlength="60" bind:value=rename_to />
                    </label>
                    <button class="button" type="submit">
                        "Save name"
                    </button>
                </form>
            </details>
            <button class="button danger" type="button" on:click=delete>
                "Delete"
                <span class="visually-hidden">{format!(" role {}", role.name)}</span>
            </button>
        }
        .into_any()
    };
    view! {
        <tr role="row">
            <th scope="row" role="rowheader">
                {role.name.clone()}
                <span class="muted small">
                    {format!(" · {}", crate::ui::counted(role.user_count, "user", "users"))}
                </span>
            </th>
            {cells}
            <td role="cell" class="actions">
                {actions}
            </td>
        </tr>
    }
}

/// The matrix's header: the role, one column per tool, then actions.
fn role_columns(tools: &[ToolRow]) -> Vec<String> {
    std::iter::once("Role".to_owned())
        .chain(tools.iter().map(tool_column))
        .chain(std::iter::once("Actions".to_owned()))
        .collect()
}

/// A tool's column name, saying so when the tool has no page yet.
fn tool_column(tool: &ToolRow) -> String {
    if crate::app::TOOLS_WITH_PAGES.contains(&tool.slug.as_str()) {
        tool.name.clone()
    } else {
        format!("{} (coming later)", tool.name)
    }
}
