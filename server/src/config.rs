//! Server configuration, read once from the environment (`.env.example` lists every variable).

use std::time::Duration;

use anyhow::Context;
use leptos::config::LeptosOptions;
use secrecy::SecretString;
use studio_core::{
    accounts::{AccountsConfig, oidc::OidcConfig},
    db::DbConfig,
    knowledge::config::KnowledgeConfig,
    limits::LimitsConfig,
    mail::MailConfig,
};
use workers::RunnerConfig;

use crate::edge::SiteConfig;

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
    /// When set, `/metrics` requires `Authorization: Bearer <token>` and `/health` shows its
    /// details to that token (`METRICS_TOKEN`).
    pub metrics_token: Option<SecretString>,
    /// A listener of its own for `/metrics` (`METRICS_ADDR`, e.g. an internal address), where
    /// no token is asked.
    pub metrics_addr: Option<std::net::SocketAddr>,
    /// `PUBLIC_URL` and `TRUSTED_PROXIES`.
    pub site: SiteConfig,
    pub accounts: AccountsConfig,
    /// SMTP and the sender (`SMTP_*`, `MAIL_FROM`).
    pub mail: MailConfig,
    /// Every abuse limit (`LIMIT_*` and friends).
    pub limits: LimitsConfig,
    /// Storage, embeddings, OCR, fetching, upload limit and queue of knowledge repositories.
    pub knowledge: KnowledgeConfig,
    /// OpenID Connect providers; redirect URIs are built on the canonical `PUBLIC_URL`.
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
        let metrics_addr = match std::env::var("METRICS_ADDR") {
            Ok(raw) if !raw.trim().is_empty() => Some(
                raw.trim()
                    .parse()
                    .context("METRICS_ADDR must be an address and port such as 10.0.0.5:9100")?,
            ),
            _ => None,
        };
        let site = SiteConfig::from_env(leptos.site_addr)?;
        let mail = MailConfig::from_env()?;
        let limits = LimitsConfig::from_env()?;
        let knowledge = KnowledgeConfig::from_env()?;
        let accounts =
            AccountsConfig::from_env(site.public_url().clone(), mail.smtp.is_some(), &limits)?;
        Ok(Self {
            knowledge,
            oidc: OidcConfig::from_env(site.public_url().clone())?,
            metrics_addr,
            db: DbConfig::from_env()?,
            leptos,
            embedded_workers,
            runner: RunnerConfig::from_env()?,
            shutdown_grace,
            metrics_token,
            site,
            accounts,
            mail,
            limits,
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
