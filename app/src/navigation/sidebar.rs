//! The sidebar's entries from the navigation table: links, sections (a heading over their
//! links) and landing pages, as the person may see them.

use leptos::prelude::*;
use leptos_router::components::A;

use super::{api::menu_entries, types::MenuEntry};
use crate::{error::AppError, ui::icon_path};

/// The navigation as the person sees it; the editor reloads it after a change.
#[derive(Clone, Copy)]
pub struct MenuResource(pub crate::wire::Loaded<Result<Vec<MenuEntry>, AppError>>);

impl MenuResource {
    /// Loads the menu and offers it to everything under the caller.
    pub fn provide() {
        provide_context(Self(crate::wire::load(|| (), |()| menu_entries())));
    }

    /// Loads it again (after an administrator changed it).
    pub fn reload(self) {
        self.0.refetch();
    }
}

/// The entries; a click on any link runs `on_navigate` (the drawer closes).
#[component]
pub fn NavigationMenu(on_navigate: impl Fn() + Clone + Send + Sync + 'static) -> impl IntoView {
    let menu = expect_context::<MenuResource>().0;
    view! {
        <Transition fallback=|| ()>
            {
                let on_navigate = on_navigate.clone();
                move || {
                    let on_navigate = on_navigate.clone();
                    Suspend::new(async move {
                        let entries = menu.await.unwrap_or_default();
                        // Without the menu the page still works: the sidebar shows nothing.
                        view! {
                            // The list holds only links: a tap on one closes the drawer, even
                            // when it leads to the page already shown.
                            <ul class="nav-list" on:click=move |_| on_navigate()>
                                {entries
                                    .into_iter()
                                    .map(|entry| view! { <TopEntry entry /> })
                                    .collect_view()}
                            </ul>
                        }
                    })
                }
            }
        </Transition>
    }
}

#[component]
fn TopEntry(entry: MenuEntry) -> impl IntoView {
    if entry.is_section() {
        let heading = format!("nav-{}", entry.id);
        view! {
            <li class="nav-section">
                <h2 class="nav-heading" id=heading.clone()>
                    {entry.label}
                </h2>
                <ul class="nav-list" aria-labelledby=heading>
                    {entry
                        .children
                        .into_iter()
                        .map(|child| view! { <EntryLink entry=child /> })
                        .collect_view()}
                </ul>
            </li>
        }
        .into_any()
    } else {
        view! { <EntryLink entry /> }.into_any()
    }
}

/// A link or a landing page: its icon and label.
#[component]
fn EntryLink(entry: MenuEntry) -> impl IntoView {
    let href = entry.href.unwrap_or_else(|| "/".to_owned());
    let icon = view! {
        <svg aria-hidden="true" viewBox="0 0 24 24" width="20" height="20">
            <path d=icon_path(&entry.icon) />
        </svg>
        <span>{entry.label}</span>
    };
    if href.starts_with('/') {
        // Home is current only on itself, not on every page under it.
        let exact = href == "/";
        view! {
            <li>
                <A href=href exact>
                    {icon}
                </A>
            </li>
        }
        .into_any()
    } else {
        view! {
            <li>
                <a href=href rel="noopener noreferrer">
                    {icon}
                </a>
            </li>
        }
        .into_any()
    }
}
