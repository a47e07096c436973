//! The signed-in user's menu in the top bar: who they are, their roles, the theme, and
//! sign-out.
//! Signed out, a sign-in link takes its place.

use leptos::prelude::*;
use leptos_router::components::A;

use super::{CurrentUser, SignOut};
use crate::ui::{PopoverMenu, theme::ThemePicker};

/// The app-wide resource holding who is signed in.
pub type UserResource = crate::wire::Loaded<Result<Option<CurrentUser>, crate::error::AppError>>;

#[component]
pub fn UserMenu() -> impl IntoView {
    let user = expect_context::<UserResource>();
    let sign_out = ServerAction::<SignOut>::new();
    Effect::new(move |_| {
        if let Some(Ok(_next)) = sign_out.value().get() {
            #[cfg(feature = "hydrate")]
            {
                let _ = window().location().assign(&_next);
            }
        }
    });
    view! {
        <Transition fallback=|| ()>
            {move || {
                user.get()
                    .map(|result| match result {
                        Ok(Some(user)) => {
                            let initial = user
                                .display_name
                                .chars()
                                .next()
                                .unwrap_or('?')
                                .to_uppercase()
                                .to_string();
                            let name = user.display_name.clone();
                            view! {
                                <PopoverMenu
                                    id="account-menu"
                                    button_class="user-menu-button"
                                    panel_class="user-menu-panel"
                                    button=move || {
                                        view! {
                                            <span class="avatar" aria-hidden="true">
                                                {initial.clone()}
                                            </span>
                                            <span class="user-name">{name.clone()}</span>
                                            <span class="visually-hidden">" (account menu)"</span>
                                        }
                                    }
                                >
                                    <p class="user-email">{user.email.clone()}</p>
                                    <p class="user-roles">"Roles: " {user.roles.join(", ")}</p>
                                    <ThemePicker />
                                    <ActionForm action=sign_out>
                                        <button class="button secondary" type="submit">
                                            "Sign out"
                                        </button>
                                    </ActionForm>
                                </PopoverMenu>
                            }
                                .into_any()
                        }
                        _ => {
                            view! {
                                <A href="/sign-in" attr:class="button">
                                    "Sign in"
                                </A>
                            }
                                .into_any()
                        }
                    })
            }}
        </Transition>
    }
}
