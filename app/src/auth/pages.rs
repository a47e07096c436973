//! The sign-in and sign-up pages.

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::{components::A, hooks::use_query_map};

use super::{SignIn, SignInProblem, SignUp, get_sign_in_options};
use crate::error::AppError;

/// Sends the browser to `target` with a full page load, so everything rendered for the old
/// session (or none) is replaced.
pub(super) fn go_to(target: &str) {
    #[cfg(feature = "hydrate")]
    {
        let _ = window().location().assign(target);
    }
    #[cfg(not(feature = "hydrate"))]
    let _ = target;
}

/// A labelled, required input of the sign-in and sign-up forms.
#[component]
pub(super) fn Field(
    id: &'static str,
    label: &'static str,
    /// The input's `type`.
    kind: &'static str,
    name: &'static str,
    autocomplete: &'static str,
    maxlength: u32,
    #[prop(optional)] minlength: Option<u32>,
    /// The id of a hint below the input.
    #[prop(optional)]
    described_by: Option<&'static str>,
) -> impl IntoView {
    view! {
        <label for=id>{label}</label>
        <input
            id=id
            type=kind
            name=name
            autocomplete=autocomplete
            required
            maxlength=maxlength
            minlength=minlength
            aria-describedby=described_by
        />
    }
}

/// The error of the last submission, shown beside the form.
#[component]
pub(super) fn FormError(error: Signal<Option<String>>) -> impl IntoView {
    view! {
        <p class="form-error" id="form-error" role="alert">
            {move || error.get()}
        </p>
    }
}

pub(super) fn error_text(result: Option<Result<String, AppError>>) -> Option<String> {
    match result {
        Some(Err(err)) => Some(err.for_person()),
        _ => None,
    }
}

#[component]
pub fn SignInPage() -> impl IntoView {
    let action = ServerAction::<SignIn>::new();
    Effect::new(move |_| {
        if let Some(Ok(next)) = action.value().get() {
            go_to(&next);
        }
    });
    let error = Signal::derive(move || error_text(action.value().get()));
    let options = crate::wire::load(|| (), |()| get_sign_in_options());
    // A provider sign-in that failed comes back here with `?error=<code>`.
    let query = use_query_map();
    let problem = move || {
        query
            .read()
            .get("error")
            .and_then(|code| SignInProblem::from_code(&code))
    };
    // Where a signed-out visit to a signed-in page came from, to go back to afterwards.
    let next = move || query.read().get("next").unwrap_or_default();
    let start_with = move |provider: &str| {
        let next = next();
        if next.is_empty() {
            format!("/auth/oidc/{provider}/start")
        } else {
            format!(
                "/auth/oidc/{provider}/start?next={}",
                crate::ui::browser::percent_encode(&next)
            )
        }
    };
    view! {
        <Title text="Sign in" />
        <section class="page narrow auth-page">
            <h1>"Sign in"</h1>
            {move || {
                problem()
                    .map(|problem| {
                        view! {
                            <p class="notice error" role="alert">
                                {problem.message()}
                            </p>
                        }
                    })
            }}
            <Suspense fallback=|| ()>
                {move || {
                    options
                        .get()
                        .and_then(Result::ok)
                        .map(|options| {
                            let domains = (!options.allowed_domains.is_empty())
                                .then(|| {
                                    view! {
                                        <p class="hint">
                                            "Accounts at " {options.allowed_domains.join(", ")}
                                            " can sign in here."
                                        </p>
                                    }
                                });
                            let providers = (!options.providers.is_empty())
                                .then(|| {
                                    view! {
                                        <ul class="provider-list" aria-label="Sign in with">
                                            {options
                                                .providers
                                                .into_iter()
                                                .map(|(id, label)| {
                                                    view! {
                                                        <li>
                                                            <a
                                                                class="button provider"
                                                                href=start_with(&id)
                                                                rel="external"
                                                            >
                                                                {format!("Sign in with {label}")}
                                                            </a>
                                                        </li>
                                                    }
                                                })
                                                .collect_view()}
                                        </ul>
                                        <p class="divider">
                                            <span>"or with a password"</span>
                                        </p>
                                    }
                                });
                            view! {
                                {domains}
                                {providers}
                            }
                        })
                }}
            </Suspense>
            <ActionForm action attr:class="form" attr:aria-describedby="form-error">
                <input type="hidden" name="next" value=next />
                <Field
                    id="sign-in-email"
                    label="Email"
                    kind="email"
                    name="email"
                    autocomplete="username"
                    maxlength=254
                />
                <Field
                    id="sign-in-password"
                    label="Password"
                    kind="password"
                    name="password"
                    autocomplete="current-password"
                    maxlength=256
                />
                <FormError error />
                <button class="button" type="submit" disabled=move || action.pending().get()>
                    {move || if action.pending().get() { "Signing in…" } else { "Sign in" }}
                </button>
            </ActionForm>
            <p>
                <A href="/forgot-password">"Forgot your password?"</A>
            </p>
            <Suspense fallback=|| ()>
                {move || {
                    options
                        .get()
                        .and_then(Result::ok)
                        .filter(|options| options.local_sign_up_open)
                        .map(|_| {
                            view! { <p>"New here? " <A href="/sign-up">"Create an account"</A></p> }
                        })
                }}
            </Suspense>
        </section>
    }
}

#[component]
pub fn SignUpPage() -> impl IntoView {
    let action = ServerAction::<SignUp>::new();
    let error = Signal::derive(move || error_text(action.value().get()));
    let done = move || action.value().get().and_then(Result::ok);
    view! {
        <Title text="Create an account" />
        <section class="page narrow auth-page">
            <h1>"Create an account"</h1>
            <p class="notice" role="status" aria-live="polite" hidden=move || done().is_none()>
                {done}
            </p>
            <ActionForm
                action
                attr:class="form"
                attr:aria-describedby="form-error"
                attr:hidden=move || done().is_some()
            >
                <Field
                    id="sign-up-name"
                    label="Name"
                    kind="text"
                    name="display_name"
                    autocomplete="name"
                    maxlength=200
                />
                <Field
                    id="sign-up-email"
                    label="Email"
                    kind="email"
                    name="email"
                    autocomplete="email"
                    maxlength=254
                />
                <Field
                    id="sign-up-password"
                    label="Password"
                    kind="password"
                    name="password"
                    autocomplete="new-password"
                    maxlength=256
                    minlength=12
                    described_by="password-hint"
                />
                <p class="hint" id="password-hint">
                    "At least 12 characters. A few unrelated words make a strong one."
                </p>
                <FormError error />
                <button class="button" type="submit" disabled=move || action.pending().get()>
                    {move || if action.pending().get() { "Creating…" } else { "Create account" }}
                </button>
            </ActionForm>
            <p>"Already have an account? " <A href="/sign-in">"Sign in"</A></p>
        </section>
    }
}
