//! The page frame: header, navigation (a sidebar on wide screens, a drawer on narrow ones; its
//! entries are data, see `crate::navigation`, the administration links are fixed) and the main
//! region.
//!
//! The drawer is a modal region while open: the rest of the page is `inert`, focus moves into
//! the drawer and returns to the menu button when it closes (Escape, the close button, the
//! backdrop, or following a link).

use leptos::{ev, html, prelude::*};
use leptos_router::{components::A, hooks::use_location};

use super::theme::ThemePicker;
use crate::{
    auth::{UserMenu, UserResource},
    navigation::{MenuResource, NavigationMenu},
    notifications::Bell,
};

/// Wider than this, the navigation is a fixed sidebar (keep in step with `style/main.css`).
#[cfg(feature = "hydrate")]
const DESKTOP_QUERY: &str = "(min-width: 56rem)";

#[component]
pub fn Layout(children: Children) -> impl IntoView {
    MenuResource::provide();
    let (is_open, set_open) = signal(false);
    let menu_button = NodeRef::<html::Button>::new();
    let close_button = NodeRef::<html::Button>::new();

    let open = move |_| set_open.set(true);
    let close = move || {
        if is_open.get_untracked() {
            set_open.set(false);
            // After the DOM update: until then the header is still inert and refuses focus.
            request_animation_frame(move || {
                if let Some(button) = menu_button.get_untracked() {
                    let _ = button.focus();
                }
            });
        }
    };

    // Focus the first control of the drawer when it opens.
    Effect::new(move |_| {
        if is_open.get()
            && let Some(button) = close_button.get_untracked()
        {
            let _ = button.focus();
        }
    });

    // Following a link closes the drawer.
    let location = use_location();
    Effect::new(move |_| {
        location.pathname.track();
        set_open.set(false);
    });

    let on_keydown = move |ev: ev::KeyboardEvent| {
        if ev.key() == "Escape" {
            close();
        }
    };

    // Growing past the breakpoint turns the drawer into the sidebar: nothing stays inert.
    #[cfg(feature = "hydrate")]
    {
        let handle = window_event_listener(ev::resize, move |_| {
            let wide = window()
                .match_media(DESKTOP_QUERY)
                .ok()
                .flatten()
                .is_some_and(|query| query.matches());
            if wide {
                set_open.set(false);
            }
        });
        on_cleanup(move || handle.remove());
    }

    view! {
        <a class="skip-link" href="#main">
            "Skip to content"
        </a>
        <div class="frame" class:drawer-open=is_open>
            <header class="topbar" inert=is_open>
                <button
                    node_ref=menu_button
                    class="icon-button menu-button"
                    aria-label="Open navigation"
                    aria-controls="sidebar"
                    aria-expanded=move || is_open.get().to_string()
                    on:click=open
                >
                    <svg aria-hidden="true" viewBox="0 0 24 24" width="24" height="24">
                        <path d="M3 6h18M3 12h18M3 18h18" />
                    </svg>
                </button>
                <A href="/" attr:class="brand">
                    <img src="/icons/icon.svg" alt="" width="28" height="28" />
                    <span>"AI Studio"</span>
                </A>
                <div class="topbar-end">
                    <Bell />
                    <UserMenu />
                </div>
            </header>
            <nav id="sidebar" class="sidebar" aria-label="Main" on:keydown=on_keydown>
                <div class="sidebar-head">
                    <span class="sidebar-title">"Menu"</span>
                    <button
                        node_ref=close_button
                        class="icon-button close-button"
                        aria-label="Close navigation"
                        on:click=move |_| close()
                    >
                        <svg aria-hidden="true" viewBox="0 0 24 24" width="24" height="24">
                            <path d="M6 6l12 12M18 6L6 18" />
                        </svg>
                    </button>
                </div>
                <NavigationMenu on_navigate=move || set_open.set(false) />
                <AdminNav on_navigate=move || set_open.set(false) />
                <SignedOutThemePicker />
            </nav>
            <div class="backdrop" aria-hidden="true" on:click=move |_| close()></div>
            <main id="main" tabindex="-1" inert=is_open>
                <UnverifiedRedirect />
                {children()}
            </main>
        </div>
    }
}

/// Pages an account whose address is not verified may open; every other page sends it to
/// `/verify-email`, which says what to do.
const OPEN_TO_UNVERIFIED: &[&str] = &[
    "/verify-email",
    "/sign-in",
    "/sign-up",
    "/forgot-password",
    "/reset-password",
    "/invitation",
    "/setup",
];

/// Sends a signed-in account whose address is not verified to the page that says what to
/// do (it holds no role, so every tool would refuse it anyway): a redirect when the server
/// renders the page, a navigation in the browser.
#[component]
fn UnverifiedRedirect() -> impl IntoView {
    let user = expect_context::<UserResource>();
    let location = use_location();
    let must_verify = move || {
        let path = location.pathname.get();
        let is_unverified = user
            .get()
            .and_then(Result::ok)
            .flatten()
            .is_some_and(|user| !user.is_verified);
        is_unverified && !OPEN_TO_UNVERIFIED.contains(&path.as_str())
    };
    #[cfg(feature = "hydrate")]
    {
        let navigate = leptos_router::hooks::use_navigate();
        Effect::new(move |_| {
            if must_verify() {
                navigate("/verify-email", leptos_router::NavigateOptions::default());
            }
        });
    }
    view! {
        <Transition fallback=|| ()>
            {move || {
                let redirect = must_verify();
                #[cfg(feature = "ssr")]
                if redirect {
                    leptos_axum::redirect("/verify-email");
                }
                let _ = redirect;
            }}
        </Transition>
    }
}

/// Signed in, the theme lives in the account menu; signed out, at the foot of the sidebar.
#[component]
fn SignedOutThemePicker() -> impl IntoView {
    let user = expect_context::<UserResource>();
    view! {
        <Transition fallback=|| ()>
            {move || {
                user.get()
                    .filter(|result| !matches!(result, Ok(Some(_))))
                    .map(|_| {
                        view! {
                            <div class="sidebar-foot">
                                <ThemePicker />
                            </div>
                        }
                    })
            }}
        </Transition>
    }
}

/// The administration links, for users whose roles grant the `admin` tool only.
#[component]
fn AdminNav(on_navigate: impl Fn() + Clone + Send + Sync + 'static) -> impl IntoView {
    let user = expect_context::<UserResource>();
    let is_admin = move || {
        user.get()
            .and_then(Result::ok)
            .flatten()
            .is_some_and(|user| user.can_use("admin"))
    };
    view! {
        <Transition fallback=|| ()>
            <Show when=is_admin>
                <h2 class="nav-heading" id="nav-admin">
                    "Administration"
                </h2>
                <ul
                    class="nav-list"
                    aria-labelledby="nav-admin"
                    on:click={
                        let on_navigate = on_navigate.clone();
                        move |_| on_navigate()
                    }
                >
                    <NavItem
                        href="/admin/users"
                        label="Users"
                        icon="M16 19v-1a4 4 0 0 0-4-4H6a4 4 0 0 0-4 4v1M9 10a3 3 0 1 0 0-6 3 3 0 0 0 0 6M22 19v-1a4 4 0 0 0-3-3.9M16 4.1a3 3 0 0 1 0 5.8"
                    />
                    <NavItem
                        href="/admin/roles"
                        label="Roles"
                        icon="M12 3l8 4v5c0 5-3.5 8-8 9-4.5-1-8-4-8-9V7z"
                    />
                    <NavItem
                        href="/admin/models"
                        label="Models"
                        icon="M12 2l9 5v10l-9 5-9-5V7zM12 12l9-5M12 12v10M12 12L3 7"
                    />
                    <NavItem
                        href="/admin/assistants"
                        label="Assistants"
                        icon="M12 3l2 5 5 2-5 2-2 5-2-5-5-2 5-2zM19 15l1 2 2 1-2 1-1 2-1-2-2-1 2-1z"
                    />
                    <NavItem
                        href="/schedules"
                        label="Schedules"
                        icon="M12 3a9 9 0 1 0 0 18 9 9 0 0 0 0-18zM12 7v5l3 3"
                    />
                    <NavItem
                        href="/admin/navigation"
                        label="Navigation"
                        icon="M3 6h18M3 12h12M3 18h6"
                    />
                    <NavItem
                        href="/admin/audit"
                        label="Audit log"
                        icon="M9 4h6M8 2h8v4H8zM6 4H5v18h14V4h-1M8 11h8M8 15h8M8 19h5"
                    />
                    <NavItem
                        href="/admin/jobs"
                        label="Jobs"
                        icon="M12 7v5l3 3M21 12a9 9 0 1 1-18 0 9 9 0 0 1 18 0"
                    />
                    <NavItem href="/admin/mail" label="Mail" icon="M3 5h18v14H3zM3 6l9 7 9-7" />
                </ul>
            </Show>
        </Transition>
    }
}

/// One navigation link: an icon (an SVG path on a 24-unit grid) and its label.
#[component]
fn NavItem(
    href: &'static str,
    label: &'static str,
    icon: &'static str,
    /// Active only on this exact path (for `/`).
    #[prop(optional)]
    exact: bool,
) -> impl IntoView {
    view! {
        <li>
            <A href=href exact>
                <svg aria-hidden="true" viewBox="0 0 24 24" width="20" height="20">
                    <path d=icon />
                </svg>
                <span>{label}</span>
            </A>
        </li>
    }
}
