//! Outgoing mail. A message is written to the outbox ([`outbox`]) in the transaction that
//! decides to send it, with a `mail-send` job that delivers it over SMTP ([`smtp`]) with
//! retries: never inside a request. With no SMTP configured (the embedded default) messages
//! stay in the outbox, held, where administrators can read them, and their links are written
//! to the server log. Bodies come from [`templates`].

pub mod outbox;
pub mod smtp;
pub mod templates;

pub use outbox::{OutboxEntry, SendMail};
pub use smtp::{MailConfig, Mailer, SmtpConfig, SmtpSecurity};

/// A message about to be queued.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mail {
    pub to: String,
    /// What the message is for (`verify_email`, `reset_password`, ...), for the outbox page.
    pub kind: &'static str,
    pub subject: String,
    pub text: String,
    pub html: String,
    /// The link it carries, if any.
    pub link: Option<String>,
}
