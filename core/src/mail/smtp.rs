//! SMTP delivery with lettre: STARTTLS (the default), implicit TLS or, for a relay on this
//! machine only, plain; with authentication when a user name is set. Amazon SES works through
//! its SMTP interface (`email-smtp.<region>.amazonaws.com`, port 587, STARTTLS, SMTP
//! credentials).

use std::time::Duration;

use anyhow::Context;
use lettre::{
    AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor,
    message::{Mailbox, MultiPart},
    transport::smtp::authentication::Credentials,
};
use secrecy::{ExposeSecret, SecretString};

/// How the connection to the SMTP server is protected.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SmtpSecurity {
    /// Plain connection upgraded with STARTTLS, refusing to go on without it (port 587).
    StartTls,
    /// TLS from the first byte (port 465).
    Tls,
    /// No encryption: only for a relay on loopback.
    None,
}

impl SmtpSecurity {
    fn default_port(self) -> u16 {
        match self {
            Self::StartTls => 587,
            Self::Tls => 465,
            Self::None => 25,
        }
    }
}

/// Where and how to send.
#[derive(Debug, Clone)]
pub struct SmtpConfig {
    pub host: String,
    pub port: u16,
    pub security: SmtpSecurity,
    pub username: Option<String>,
    pub password: Option<SecretString>,
    pub timeout: Duration,
}

/// Mail settings: SMTP (none in the embedded default) and the sender.
#[derive(Debug, Clone)]
pub struct MailConfig {
    pub smtp: Option<SmtpConfig>,
    /// `MAIL_FROM`, e.g. `AI Studio <no-reply@school.org>`.
    pub from: String,
}

impl Default for MailConfig {
    fn default() -> Self {
        Self {
            smtp: None,
            from: "AI Studio <no-reply@localhost>".to_owned(),
        }
    }
}

impl MailConfig {
    /// Reads `SMTP_HOST` (unset: no SMTP, messages are held in the outbox), `SMTP_PORT`,
    /// `SMTP_SECURITY` (`starttls`, `tls` or `none`), `SMTP_USERNAME`, `SMTP_PASSWORD`,
    /// `SMTP_TIMEOUT_SECS` (default 30) and `MAIL_FROM` (required with SMTP).
    pub fn from_env() -> anyhow::Result<Self> {
        let var = |name: &str| {
            std::env::var(name)
                .ok()
                .map(|v| v.trim().to_owned())
                .filter(|v| !v.is_empty())
        };
        let Some(host) = var("SMTP_HOST") else {
            return Ok(Self {
                from: var("MAIL_FROM").unwrap_or_else(|| Self::default().from),
                ..Self::default()
            });
        };
        let security = match var("SMTP_SECURITY").as_deref() {
            None | Some("starttls") => SmtpSecurity::StartTls,
            Some("tls") => SmtpSecurity::Tls,
            Some("none") => SmtpSecurity::None,
            Some(other) => {
                anyhow::bail!("SMTP_SECURITY must be starttls, tls or none, not {other:?}")
            }
        };
        if security == SmtpSecurity::None && !is_loopback(&host) {
            anyhow::bail!(
                "SMTP_SECURITY=none is allowed only for a relay on this machine (SMTP_HOST=127.0.0.1 or localhost)"
            );
        }
        let port = match var("SMTP_PORT") {
            Some(raw) => raw
                .parse()
                .context("SMTP_PORT must be a port number such as 587")?,
            None => security.default_port(),
        };
        let timeout = match var("SMTP_TIMEOUT_SECS") {
            Some(raw) => Duration::from_secs(
                raw.parse()
                    .context("SMTP_TIMEOUT_SECS must be a whole number of seconds")?,
            ),
            None => Duration::from_secs(30),
        };
        let from = var("MAIL_FROM").context("MAIL_FROM must be set when SMTP_HOST is")?;
        from.parse::<Mailbox>()
            .with_context(|| format!("MAIL_FROM is not an address: {from:?}"))?;
        Ok(Self {
            smtp: Some(SmtpConfig {
                host,
                port,
                security,
                username: var("SMTP_USERNAME"),
                password: var("SMTP_PASSWORD").map(SecretString::from),
                timeout,
            }),
            from,
        })
    }
}

fn is_loopback(host: &str) -> bool {
    host.eq_ignore_ascii_case("localhost")
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

/// Why a delivery failed.
#[derive(Debug, thiserror::Error)]
pub enum SendError {
    /// The server refused the message for good (a 5xx: bad address, rejected content).
    #[error("refused: {0}")]
    Permanent(String),
    /// Might work later (connection, timeout, a 4xx).
    #[error("{0}")]
    Transient(String),
}

/// A connected-on-demand SMTP client, built once.
#[derive(Clone)]
pub struct Mailer {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
}

impl std::fmt::Debug for Mailer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Mailer").field("from", &self.from).finish()
    }
}

impl Mailer {
    /// The client for `config`, or `None` when no SMTP is configured.
    pub fn new(config: &MailConfig) -> anyhow::Result<Option<Self>> {
        let Some(smtp) = &config.smtp else {
            return Ok(None);
        };
        let builder = match smtp.security {
            SmtpSecurity::StartTls => {
                AsyncSmtpTransport::<Tokio1Executor>::starttls_relay(&smtp.host)
                    .context("could not set up STARTTLS for SMTP_HOST")?
            }
            SmtpSecurity::Tls => AsyncSmtpTransport::<Tokio1Executor>::relay(&smtp.host)
                .context("could not set up TLS for SMTP_HOST")?,
            SmtpSecurity::None => {
                AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(&smtp.host)
            }
        };
        let mut builder = builder.port(smtp.port).timeout(Some(smtp.timeout));
        if let Some(user) = &smtp.username {
            let password = smtp
                .password
                .as_ref()
                .map(|p| p.expose_secret().to_owned())
                .unwrap_or_default();
            builder = builder.credentials(Credentials::new(user.clone(), password));
        }
        Ok(Some(Self {
            transport: builder.build(),
            from: config.from.parse().context("MAIL_FROM is not an address")?,
        }))
    }

    /// Sends one message, as plain text with an HTML alternative.
    pub async fn send(
        &self,
        to: &str,
        subject: &str,
        text: &str,
        html: &str,
    ) -> Result<(), SendError> {
        let to: Mailbox = to
            .parse()
            .map_err(|err| SendError::Permanent(format!("bad recipient address: {err}")))?;
        let message = Message::builder()
            .from(self.from.clone())
            .to(to)
            .subject(subject)
            .multipart(MultiPart::alternative_plain_html(
                text.to_owned(),
                html.to_owned(),
            ))
            .map_err(|err| SendError::Permanent(format!("could not build the message: {err}")))?;
        match self.transport.send(message).await {
            Ok(_) => Ok(()),
            Err(err) if err.is_permanent() => Err(SendError::Permanent(err.to_string())),
            Err(err) => Err(SendError::Transient(err.to_string())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_smtp_is_for_loopback_only() {
        assert!(is_loopback("127.0.0.1"));
        assert!(is_loopback("localhost"));
        assert!(is_loopback("::1"));
        assert!(!is_loopback("smtp.school.org"));
        assert!(!is_loopback("10.0.0.5"));
    }
}
