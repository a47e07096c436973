//! The home page: for a visitor, what AI Studio is and how to get in; for someone signed in,
//! where to start.

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::components::A;

use crate::auth::{CurrentUser, UserResource, get_sign_in_options};

#[component]
pub fn HomePage() -> impl IntoView {
    let user = expect_context::<UserResource>();
    view! {
        <Title text="Home" />
        <section class="page">
            <h1>"Welcome to AI Studio"</h1>
            <Suspense fallback=|| ()>
                {move || {
                    user.get()
                        .map(|who| match who {
                            Ok(Some(user)) => view! { <Welcome user /> }.into_any(),
                            _ => view! { <Visitor /> }.into_any(),
                        })
                }}
            </Suspense>
        </section>
    }
}

/// Signed out: what this is, and the way in.
#[component]
fn Visitor() -> impl IntoView {
    let options = crate::wire::load(|| (), |()| get_sign_in_options());
    let sign_up_open = move || {
        options
            .get()
            .and_then(Result::ok)
            .is_some_and(|options| options.local_sign_up_open)
    };
    view! {
        <p class="lead">
            "Your organisation's AI workspace: chat with the models your administrators chose, "
            "and ask questions of your own documents."
        </p>
        <div class="actions">
            // A full page load: signed out, the server sends it through the sign-in page,
            // which comes back to the chat.
            <a href="/chat" class="button" rel="external">
                "Start a chat"
            </a>
            <Suspense fallback=|| ()>
                <Show when=sign_up_open>
                    <A href="/sign-up" attr:class="button secondary">
                        "Create an account"
                    </A>
                </Show>
            </Suspense>
        </div>
    }
}

/// Signed in: where to start.
#[component]
fn Welcome(user: CurrentUser) -> impl IntoView {
    let knowledge = user.can_use("knowledge-repositories");
    let chat = user.can_use("chat");
    let first_name = user
        .display_name
        .split_whitespace()
        .next()
        .unwrap_or_default()
        .to_owned();
    view! {
        <p class="lead">{format!("Hello, {first_name}. Where would you like to start?")}</p>
        <Show
            when=move || chat || knowledge
            fallback=|| {
                view! {
                    <p class="lead">
                        "Your account has no tools yet. An administrator decides what each role may use."
                    </p>
                }
            }
        >
            <div class="cards">
                <Show when=move || chat>
                    <article class="card">
                        <h2>"Chat"</h2>
                        <p>
                            "Ask a question, draft a letter, explain a topic: the models your school chose answer."
                        </p>
                        <A href="/chat" attr:class="button">
                            "Start a chat"
                        </A>
                    </article>
                </Show>
                <Show when=move || knowledge>
                    <article class="card">
                        <h2>"Knowledge"</h2>
                        <p>
                            "Upload documents or add web pages, then use them in a chat; answers cite where they found it."
                        </p>
                        <A href="/knowledge" attr:class="button secondary">
                            "Your knowledge"
                        </A>
                    </article>
                </Show>
            </div>
        </Show>
    }
}
