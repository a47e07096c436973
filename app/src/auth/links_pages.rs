//! The pages behind the links the server sends or prints: verify an address (and, while
//! unverified, where the account stands), forgot and reset password, accept an invitation,
//! and create the first administrator.

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::{components::A, hooks::use_query_map};

use super::{
    UserResource,
    links_api::{
        AcceptInvitation, ChangeEmail, CreateFirstAdmin, RequestPasswordReset, ResendVerification,
        ResetPassword, VerifyEmail, get_invitation,
    },
    pages::{Field, FormError, error_text, go_to},
};

/// The `token` of the page's link.
fn token_param() -> Memo<String> {
    let query = use_query_map();
    Memo::new(move |_| query.read().get("token").unwrap_or_default())
}

/// Follows a server function's "where to go next" with a full page load.
fn go_on_success<A>(action: ServerAction<A>)
where
    A: leptos::server_fn::ServerFn<Output = String, Error = crate::error::AppError>
        + Clone
        + Send
        + Sync
        + 'static,
{
    Effect::new(move |_| {
        if let Some(Ok(next)) = action.value().get() {
            go_to(&next);
        }
    });
}

/// A confirmation that replaces a form once it succeeded (read politely by screen readers).
fn done_text<A>(action: ServerAction<A>) -> Signal<Option<String>>
where
    A: leptos::server_fn::ServerFn<Output = String, Error = crate::error::AppError>
        + Clone
        + Send
        + Sync
        + 'static,
{
    Signal::derive(move || action.value().get().and_then(Result::ok))
}

/// `/verify-email`: with `?token=`, confirms the address; without, says where the signed-in
/// account stands and offers a new link or another address.
#[component]
pub fn VerifyEmailPage() -> impl IntoView {
    let token = token_param();
    let has_token = move || !token.get().is_empty();
    view! {
        <Title text="Verify your address" />
        <section class="page narrow auth-page">
            <h1>"Verify your address"</h1>
            <Show when=has_token fallback=|| view! { <AccountStatus /> }>
                <ConfirmAddress token />
            </Show>
        </section>
    }
}

/// The form a verification link opens.
#[component]
fn ConfirmAddress(token: Memo<String>) -> impl IntoView {
    let action = ServerAction::<VerifyEmail>::new();
    go_on_success(action);
    let error = Signal::derive(move || error_text(action.value().get()));
    let user = expect_context::<UserResource>();
    // The browser signed in to an unverified account is that account's: no password asked.
    let signed_in_unverified = move || {
        user.get()
            .and_then(Result::ok)
            .flatten()
            .is_some_and(|user| !user.is_verified)
    };
    view! {
        <ActionForm action attr:class="form" attr:aria-describedby="form-error">
            <input type="hidden" name="token" value=move || token.get() />
            <Transition fallback=|| ()>
                <Show when=move || !signed_in_unverified()>
                    <p class="hint" id="verify-password-hint">
                        "Enter the password you chose when you signed up, so we know the account is yours."
                    </p>
                    <Field
                        id="verify-password"
                        label="Password"
                        kind="password"
                        name="password"
                        autocomplete="current-password"
                        maxlength=256
                        described_by="verify-password-hint"
                    />
                </Show>
            </Transition>
            <FormError error />
            <button class="button" type="submit" disabled=move || action.pending().get()>
                {move || {
                    if action.pending().get() { "Confirming…" } else { "Confirm my address" }
                }}
            </button>
        </ActionForm>
    }
}

/// Where an unverified account stands, with a new link or another address.
#[component]
fn AccountStatus() -> impl IntoView {
    let user = expect_context::<UserResource>();
    let options = crate::wire::load(|| (), |()| super::get_sign_in_options());
    view! {
        <Transition fallback=|| {
            view! { <p>"Loading…"</p> }
        }>
            {move || {
                let by_mail = options
                    .get()
                    .and_then(Result::ok)
                    .is_some_and(|o| o.verification_by_email);
                user.get()
                    .map(|user| match user.ok().flatten() {
                        None => {
                            view! {
                                <p>
                                    "Open the link we sent you, or "
                                    <A href="/sign-in">"sign in"</A>
                                    " to see where your account stands."
                                </p>
                            }
                                .into_any()
                        }
                        Some(user) if user.is_verified => {
                            view! {
                                <p>
                                    "Your address " <strong>{user.email}</strong> " is verified. "
                                    <A href="/">"Go to the home page"</A>
                                </p>
                            }
                                .into_any()
                        }
                        Some(user) => view! { <Unverified email=user.email by_mail /> }.into_any(),
                    })
            }}
        </Transition>
    }
}

#[component]
fn Unverified(email: String, by_mail: bool) -> impl IntoView {
    let resend = ServerAction::<ResendVerification>::new();
    let change = ServerAction::<ChangeEmail>::new();
    let resend_error = Signal::derive(move || error_text(resend.value().get()));
    let change_error = Signal::derive(move || error_text(change.value().get()));
    let resent = done_text(resend);
    let changed = done_text(change);
    let explanation = if by_mail {
        view! {
            <p>
                "We sent a link to " <strong>{email.clone()}</strong>
                ". Open it to confirm the address; until then your account cannot use any tool."
            </p>
            <p class="hint">"Nothing arrived? Look in the spam folder, or ask for a new link."</p>
        }
        .into_any()
    } else {
        view! {
            <p>
                "Your account for " <strong>{email.clone()}</strong>
                " waits for an administrator's approval. Until then it cannot use any tool; come back later."
            </p>
        }
            .into_any()
    };
    view! {
        {explanation}
        <div class="status-line" role="status" aria-live="polite">
            {move || resent.get().or_else(|| changed.get())}
        </div>
        <Show when=move || by_mail>
            <ActionForm action=resend attr:class="form inline-form">
                <p class="form-error" role="alert">
                    {move || resend_error.get()}
                </p>
                <button class="button" type="submit" disabled=move || resend.pending().get()>
                    "Send a new link"
                </button>
            </ActionForm>
        </Show>
        <h2>"Wrong address?"</h2>
        <ActionForm action=change attr:class="form" attr:aria-describedby="change-error">
            <Field
                id="change-email"
                label="Email"
                kind="email"
                name="email"
                autocomplete="email"
                maxlength=254
            />
            <p class="form-error" id="change-error" role="alert">
                {move || change_error.get()}
            </p>
            <button class="button secondary" type="submit" disabled=move || change.pending().get()>
                "Use this address"
            </button>
        </ActionForm>
    }
}

/// `/forgot-password`: asks for a reset link.
#[component]
pub fn ForgotPasswordPage() -> impl IntoView {
    let action = ServerAction::<RequestPasswordReset>::new();
    let error = Signal::derive(move || error_text(action.value().get()));
    let sent = done_text(action);
    view! {
        <Title text="Forgot your password?" />
        <section class="page narrow auth-page">
            <h1>"Forgot your password?"</h1>
            <p>"Enter your address and we will send you a link to choose a new password."</p>
            <ActionForm action attr:class="form" attr:aria-describedby="form-error">
                <Field
                    id="forgot-email"
                    label="Email"
                    kind="email"
                    name="email"
                    autocomplete="email"
                    maxlength=254
                />
                <FormError error />
                <p class="status-line" role="status" aria-live="polite">
                    {move || sent.get()}
                </p>
                <button class="button" type="submit" disabled=move || action.pending().get()>
                    "Send the link"
                </button>
            </ActionForm>
            <p>
                <A href="/sign-in">"Back to sign-in"</A>
            </p>
        </section>
    }
}

/// `/reset-password?token=`: chooses a new password.
#[component]
pub fn ResetPasswordPage() -> impl IntoView {
    let token = token_param();
    let action = ServerAction::<ResetPassword>::new();
    go_on_success(action);
    let error = Signal::derive(move || error_text(action.value().get()));
    view! {
        <Title text="Choose a new password" />
        <section class="page narrow auth-page">
            <h1>"Choose a new password"</h1>
            <p>"Every device signed in to your account will be signed out."</p>
            <ActionForm action attr:class="form" attr:aria-describedby="form-error">
                <input type="hidden" name="token" value=move || token.get() />
                <NewPassword id="reset-password" />
                <FormError error />
                <button class="button" type="submit" disabled=move || action.pending().get()>
                    "Save the new password"
                </button>
            </ActionForm>
        </section>
    }
}

/// A new password field with its rule.
#[component]
fn NewPassword(id: &'static str) -> impl IntoView {
    view! {
        <Field
            id=id
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
    }
}

/// `/invitation?token=`: accepts an administrator's invitation.
#[component]
pub fn InvitationPage() -> impl IntoView {
    let token = token_param();
    let invitation = crate::wire::load(move || token.get(), get_invitation);
    let action = ServerAction::<AcceptInvitation>::new();
    go_on_success(action);
    let error = Signal::derive(move || error_text(action.value().get()));
    view! {
        <Title text="Accept your invitation" />
        <section class="page narrow auth-page">
            <h1>"Accept your invitation"</h1>
            <Suspense fallback=|| {
                view! { <p>"Loading…"</p> }
            }>
                {move || {
                    invitation
                        .get()
                        .map(|found| match found.ok().flatten() {
                            None => {
                                view! {
                                    <p class="notice error" role="alert">
                                        "This invitation has expired or was used already. Ask the administrator who sent it for a new one."
                                    </p>
                                }
                                    .into_any()
                            }
                            Some(email) => {
                                view! {
                                    <p>
                                        "Your account will be " <strong>{email}</strong>
                                        ". Choose the name others see and a password."
                                    </p>
                                    <ActionForm
                                        action
                                        attr:class="form"
                                        attr:aria-describedby="form-error"
                                    >
                                        <input
                                            type="hidden"
                                            name="token"
                                            value=move || token.get()
                                        />
                                        <Field
                                            id="invitation-name"
                                            label="Name"
                                            kind="text"
                                            name="display_name"
                                            autocomplete="name"
                                            maxlength=200
                                        />
                                        <NewPassword id="invitation-password" />
                                        <FormError error />
                                        <button
                                            class="button"
                                            type="submit"
                                            disabled=move || action.pending().get()
                                        >
                                            "Create my account"
                                        </button>
                                    </ActionForm>
                                }
                                    .into_any()
                            }
                        })
                }}
            </Suspense>
        </section>
    }
}

/// `/setup?token=`: creates the first administrator with the link the server printed.
#[component]
pub fn SetupPage() -> impl IntoView {
    let token = token_param();
    let action = ServerAction::<CreateFirstAdmin>::new();
    go_on_success(action);
    let error = Signal::derive(move || error_text(action.value().get()));
    view! {
        <Title text="Set up AI Studio" />
        <section class="page narrow auth-page">
            <h1>"Set up AI Studio"</h1>
            <p>
                "Create the first administrator. This link was printed by the server when it started, and works once."
            </p>
            <ActionForm action attr:class="form" attr:aria-describedby="form-error">
                <input type="hidden" name="token" value=move || token.get() />
                <Field
                    id="setup-name"
                    label="Name"
                    kind="text"
                    name="display_name"
                    autocomplete="name"
                    maxlength=200
                />
                <Field
                    id="setup-email"
                    label="Email"
                    kind="email"
                    name="email"
                    autocomplete="email"
                    maxlength=254
                />
                <NewPassword id="setup-password" />
                <FormError error />
                <button class="button" type="submit" disabled=move || action.pending().get()>
                    "Create the administrator"
                </button>
            </ActionForm>
        </section>
    }
}
