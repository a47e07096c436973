//! Server configuration, read once from the environment (`.env.example` lists every variable).

use std::time::Duration;

use anyhow::Context;
use leptos::config::LeptosOptions;
use secrecy::SecretString;
use studio_core::{
    accounts::{AccountsConfig, oidc::OidcConfig},
    db::DbConfig,
};
use workers::RunnerConfig;

/// Everything the server needs to start.
#[derive(Debug, Clone)]
pub struct Config {
    pub db: DbConfig,
    /// Leptos's own settings (`LEPTOS_SITE_ADDR`, `LEPTOS_SITE_ROOT`, ...).
    pub leptos: LeptosOptions,
    /// Run the job runner inside this process (`EMBEDDED_WORKERS`, default true).
    pub embedded_workers: bool,
    pub runner: RunnerConfig,
    /// Time to finish in-flight jobs after SIGTERM (`SHUTDOWN_GRACE_SECS`, default 30).
    pub shutdown_grace: Duration,
    /// When set, `/metrics` requires `Authorization: Bearer <token>` (`METRICS_TOKEN`).
    pub metrics_token: Option<SecretString>,
    pub accounts: AccountsConfig,
    /// The largest knowledge upload (`KNOWLEDGE_MAX_UPLOAD_MB`, default 100).
    pub max_upload_bytes: u64,
    /// OpenID Connect providers; redirect URIs are built on `PUBLIC_URL` (default
    /// `http://` + the site address).
    pub oidc: OidcConfig,
}

impl Config {
    pub fn from_env() -> anyhow::Result<Self> {
        let leptos = leptos::prelude::get_configuration(None)
            .context("could not read the Leptos settings (LEPTOS_* variables)")?
            .leptos_options;
        let embedded_workers = match std::env::var("EMBEDDED_WORKERS") {
            Ok(raw) => parse_bool(&raw).context("EMBEDDED_WORKERS must be true or false")?,
            Err(_) => true,
        };
        let shutdown_grace = match std::env::var("SHUTDOWN_GRACE_SECS") {
            Ok(raw) => Duration::from_secs(
                raw.trim()
                    .parse()
                    .context("SHUTDOWN_GRACE_SECS must be a whole number of seconds")?,
            ),
            Err(_) => crate::DEFAULT_SHUTDOWN_GRACE,
        };
        let metrics_token = std::env::var("METRICS_TOKEN")
            .ok()
            .filter(|token| !token.trim().is_empty())
            .map(SecretString::from);
        let public_url = match std::env::var("PUBLIC_URL")
            .ok()
            .filter(|v| !v.trim().is_empty())
        {
            Some(raw) => url::Url::parse(raw.trim())
                .ok()
                .filter(|url| matches!(url.scheme(), "http" | "https") && url.has_host())
                .context("PUBLIC_URL must be an http(s) URL such as https://studio.school.org")?,
            None => url::Url::parse(&format!("http://{}", leptos.site_addr))
                .context("the site address does not make a URL")?,
        };
        let max_upload_bytes = studio_core::knowledge::storage::max_upload_bytes_from_env()?;
        Ok(Self {
            max_upload_bytes,
            oidc: OidcConfig::from_env(public_url)?,
            db: DbConfig::from_env()?,
            leptos,
            embedded_workers,
            runner: RunnerConfig::from_env()?,
            shutdown_grace,
            metrics_token,
            accounts: AccountsConfig::from_env()?,
        })
    }
}

fn parse_bool(raw: &str) -> Option<bool> {
    match raw.trim().to_ascii_lowercase().as_str() {
        "1" | "true" | "yes" | "on" => Some(true),
        "0" | "false" | "no" | "off" => Some(false),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn booleans_read_the_usual_spellings() {
        assert_eq!(parse_bool(" TRUE "), Some(true));
        assert_eq!(parse_bool("off"), Some(false));
        assert_eq!(parse_bool("maybe"), None);
    }
}
