//! Signing in and out, and who is signed in.
//!
//! The server resolves the session cookie once per request (see `server::sessions`); pages
//! and server functions ask [`ssr::require_user`] or [`ssr::require_tool`]. The browser learns
//! who it is through [`get_current_user`], provided to the whole app as a resource.

mod api;
mod links_api;
mod links_pages;
#[cfg(feature = "ssr")]
pub mod oidc;
mod pages;
#[cfg(feature = "ssr")]
pub mod ssr;
mod types;
mod user_menu;

pub use api::{
    GetCurrentUser, GetSignInOptions, SignIn, SignOut, SignUp, get_current_user,
    get_sign_in_options,
};
pub use links_pages::{
    ForgotPasswordPage, InvitationPage, ResetPasswordPage, SetupPage, VerifyEmailPage,
};
pub use pages::{SignInPage, SignUpPage};
pub use types::{CurrentUser, SignInOptions, SignInProblem};
pub use user_menu::{UserMenu, UserResource};
