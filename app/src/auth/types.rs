//! What the browser knows about the signed-in user.

use serde::{Deserialize, Serialize};

/// The signed-in user, their roles and the tools those grant.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CurrentUser {
    pub id: String,
    pub email: String,
    pub display_name: String,
    /// Until the address is verified the account holds no role and sees only the page that
    /// says how to verify it.
    pub is_verified: bool,
    pub roles: Vec<String>,
    pub tools: Vec<String>,
}

impl CurrentUser {
    /// Whether one of the user's roles grants `tool`. For showing and hiding only: the
    /// server checks again on every request.
    pub fn can_use(&self, tool: &str) -> bool {
        self.tools.iter().any(|granted| granted == tool)
    }
}

/// What the sign-in page offers: password sign-in always, sign-up when open, and a button per
/// OpenID Connect provider.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SignInOptions {
    /// `(id, label)` of each provider.
    pub providers: Vec<(String, String)>,
    pub local_sign_up_open: bool,
    /// New accounts are verified by a mailed link (else by an administrator's approval).
    pub verification_by_email: bool,
    /// Empty when every domain may sign in.
    pub allowed_domains: Vec<String>,
}

/// Why a provider sign-in ended on the sign-in page (`/sign-in?error=<code>`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SignInProblem {
    UnknownProvider,
    Expired,
    Denied,
    Unavailable,
    InvalidToken,
    NoEmail,
    DomainNotAllowed,
    Disabled,
    EmailInUse,
    UnverifiedAccount,
}

impl SignInProblem {
    const ALL: [Self; 10] = [
        Self::UnknownProvider,
        Self::Expired,
        Self::Denied,
        Self::Unavailable,
        Self::InvalidToken,
        Self::NoEmail,
        Self::DomainNotAllowed,
        Self::Disabled,
        Self::EmailInUse,
        Self::UnverifiedAccount,
    ];

    pub fn code(self) -> &'static str {
        match self {
            Self::UnknownProvider => "unknown-provider",
            Self::Expired => "expired",
            Self::Denied => "denied",
            Self::Unavailable => "unavailable",
            Self::InvalidToken => "invalid-token",
            Self::NoEmail => "no-email",
            Self::DomainNotAllowed => "domain",
            Self::Disabled => "disabled",
            Self::EmailInUse => "email-in-use",
            Self::UnverifiedAccount => "unverified-account",
        }
    }

    pub fn from_code(code: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|p| p.code() == code)
    }

    /// What the sign-in page says.
    pub fn message(self) -> &'static str {
        match self {
            Self::UnknownProvider => "That sign-in option does not exist here. Choose one below.",
            Self::Expired => {
                "That sign-in expired or was already used. Start again with the button below."
            }
            Self::Denied => "The sign-in was cancelled or refused at the provider.",
            Self::Unavailable => {
                "The sign-in provider could not be reached. Try again in a minute."
            }
            Self::InvalidToken => {
                "The provider's answer could not be verified, so you were not signed in. Try again."
            }
            Self::NoEmail => {
                "The provider did not share your email address, which this site needs. Ask an administrator."
            }
            Self::DomainNotAllowed => "Accounts from that email domain cannot sign in here.",
            Self::Disabled => "This account is disabled. Ask an administrator for help.",
            Self::EmailInUse => {
                "An account with this email already exists. Sign in with your password, or ask an administrator to link the accounts."
            }
            Self::UnverifiedAccount => {
                "An account with this email exists here, but its address was never verified, so it cannot be linked to your provider. Verify it from the email we sent, or ask an administrator to approve it."
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sign_in_problems_round_trip_through_their_codes() {
        for problem in SignInProblem::ALL {
            assert_eq!(SignInProblem::from_code(problem.code()), Some(problem));
        }
        assert_eq!(SignInProblem::from_code("<script>"), None);
    }
}
