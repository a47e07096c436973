//! Account settings read from the environment at start-up.

use std::time::Duration;

use anyhow::Context;

use super::{
    provision::AllowedDomains, sessions::SessionPolicy, sign_in::RateLimits, users::RoleRule,
};

/// Sessions, cookies, sign-in limits, the default-role rule, and how addresses are verified.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccountsConfig {
    /// The site's canonical address, for the links mail carries (`PUBLIC_URL`).
    pub public_url: url::Url,
    /// Whether mail can reach people (SMTP configured). Without it, new local accounts wait
    /// for an administrator's approval instead of a verification link.
    pub mail_enabled: bool,
    /// `SESSION_IDLE_HOURS` and `SESSION_ABSOLUTE_HOURS` (both default 24).
    pub sessions: SessionPolicy,
    /// Mark the session cookie `Secure` (`COOKIE_SECURE`, default true). Browsers accept
    /// secure cookies from http://localhost and http://127.0.0.1, so leave it on locally too.
    pub secure_cookies: bool,
    pub rate_limits: RateLimits,
    /// `DEFAULT_ROLE_DIGITS` (default student) and `DEFAULT_ROLE_OTHER` (default staff).
    pub role_rule: RoleRule,
    /// `ALLOWED_EMAIL_DOMAINS`: when set, only these domains may sign up or sign in.
    pub allowed_domains: AllowedDomains,
}

impl AccountsConfig {
    /// The absolute address of one of the site's pages (for links in mail).
    pub fn page_url(&self, path: &str) -> String {
        self.public_url
            .join(path)
            .map_or_else(|_| self.public_url.to_string(), |url| url.to_string())
    }

    /// How a new local account gets its address verified.
    pub fn verification(&self) -> Verification {
        if self.mail_enabled {
            Verification::EmailLink
        } else {
            Verification::AdminApproval
        }
    }
}

/// How a local account's address is verified.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verification {
    /// A single-use link mailed to the address.
    EmailLink,
    /// An administrator approves the account (no mail configured).
    AdminApproval,
}

impl Default for AccountsConfig {
    fn default() -> Self {
        Self {
            public_url: url::Url::parse("http://localhost:3000/").expect("a valid URL"),
            mail_enabled: false,
            sessions: SessionPolicy::default(),
            secure_cookies: true,
            rate_limits: RateLimits::default(),
            role_rule: RoleRule::default(),
            allowed_domains: AllowedDomains::default(),
        }
    }
}

impl AccountsConfig {
    /// Reads the account settings; the binary supplies the public address and whether mail
    /// is configured, which it reads with the rest of its own settings.
    pub fn from_env(
        public_url: url::Url,
        mail_enabled: bool,
        limits: &crate::limits::LimitsConfig,
    ) -> anyhow::Result<Self> {
        let defaults = Self::default();
        let hours = |name: &str, default: Duration| -> anyhow::Result<Duration> {
            match std::env::var(name) {
                Ok(raw) => {
                    let hours: u64 =
                        raw.trim()
                            .parse()
                            .ok()
                            .filter(|h| *h > 0)
                            .with_context(|| {
                                format!("{name} must be a positive whole number of hours")
                            })?;
                    Ok(Duration::from_secs(hours * 3600))
                }
                Err(_) => Ok(default),
            }
        };
        let secure_cookies = match std::env::var("COOKIE_SECURE") {
            Ok(raw) => match raw.trim().to_ascii_lowercase().as_str() {
                "1" | "true" | "yes" | "on" => true,
                "0" | "false" | "no" | "off" => false,
                _ => anyhow::bail!("COOKIE_SECURE must be true or false"),
            },
            Err(_) => defaults.secure_cookies,
        };
        let role = |name: &str, default: String| {
            std::env::var(name)
                .map(|r| r.trim().to_owned())
                .unwrap_or(default)
        };
        Ok(Self {
            public_url,
            mail_enabled,
            sessions: SessionPolicy {
                idle: hours("SESSION_IDLE_HOURS", defaults.sessions.idle)?,
                absolute: hours("SESSION_ABSOLUTE_HOURS", defaults.sessions.absolute)?,
            },
            secure_cookies,
            rate_limits: RateLimits {
                per_ip: i64::from(limits.sign_in_failures_per_ip),
                ..defaults.rate_limits
            },
            role_rule: RoleRule {
                digits_role: role("DEFAULT_ROLE_DIGITS", defaults.role_rule.digits_role),
                other_role: role("DEFAULT_ROLE_OTHER", defaults.role_rule.other_role),
            },
            allowed_domains: std::env::var("ALLOWED_EMAIL_DOMAINS")
                .map(|raw| AllowedDomains::parse(&raw))
                .unwrap_or_default(),
        })
    }
}
