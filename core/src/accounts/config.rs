//! Account settings read from the environment at start-up.

use std::time::Duration;

use anyhow::Context;

use super::{
    provision::AllowedDomains, sessions::SessionPolicy, sign_in::RateLimits, users::RoleRule,
};

/// Sessions, cookies, sign-in limits and the default-role rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccountsConfig {
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

impl Default for AccountsConfig {
    fn default() -> Self {
        Self {
            sessions: SessionPolicy::default(),
            secure_cookies: true,
            rate_limits: RateLimits::default(),
            role_rule: RoleRule::default(),
            allowed_domains: AllowedDomains::default(),
        }
    }
}

impl AccountsConfig {
    pub fn from_env() -> anyhow::Result<Self> {
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
            sessions: SessionPolicy {
                idle: hours("SESSION_IDLE_HOURS", defaults.sessions.idle)?,
                absolute: hours("SESSION_ABSOLUTE_HOURS", defaults.sessions.absolute)?,
            },
            secure_cookies,
            rate_limits: defaults.rate_limits,
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
