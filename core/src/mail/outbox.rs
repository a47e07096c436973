//! The `mail_outbox` table: every message the server sends, queued with its delivery job in
//! one transaction, delivered (or held) by [`deliver`], and listed for administrators.

use chrono::{DateTime, Utc};
use serde::Serialize;
use sqlx::{PgConnection, PgExecutor, PgPool};
use uuid::Uuid;

use super::{Mail, Mailer, smtp::SendError};
use crate::db::jobs;

/// Delivers one message of the outbox (handled by `workers::mail`).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct SendMail {
    pub mail_id: Uuid,
}

impl jobs::Job for SendMail {
    const KIND: &'static str = "mail-send";
    /// A message that keeps failing is given up after about a day of backoff.
    const MAX_ATTEMPTS: i32 = 12;

    fn dedupe_key(&self) -> Option<String> {
        Some(format!("mail:{}", self.mail_id))
    }
}

/// A message waiting to go out.
#[derive(Debug, Clone)]
pub struct Queued {
    pub id: Uuid,
    pub to_address: String,
    pub kind: String,
    pub subject: String,
    pub text_body: String,
    pub html_body: String,
    pub link: Option<String>,
    pub status: String,
}

/// Writes `mail` to the outbox and queues its delivery. Call inside the transaction that
/// decides to send it, so a message exists exactly when what it announces does.
pub async fn queue(conn: &mut PgConnection, mail: &Mail) -> sqlx::Result<Uuid> {
    let id = sqlx::query_scalar!(
        r#"
        insert into mail_outbox (to_address, kind, subject, text_body, html_body, link)
        values ($1, $2, $3, $4, $5, $6)
        returning id
        "#,
        mail.to,
        mail.kind,
        mail.subject,
        mail.text,
        mail.html,
        mail.link,
    )
    .fetch_one(&mut *conn)
    .await?;
    jobs::enqueue_job(&mut *conn, &SendMail { mail_id: id }).await?;
    Ok(id)
}

/// Whether a message of `kind` went to `to` within the last `within` (to send at most one
/// "someone tried to sign up with your address" an hour, say).
pub async fn sent_recently(
    executor: impl PgExecutor<'_>,
    to: &str,
    kind: &str,
    within: std::time::Duration,
) -> sqlx::Result<bool> {
    sqlx::query_scalar!(
        r#"
        select exists (
            select 1 from mail_outbox
            where to_address = $1 and kind = $2 and created_at > now() - make_interval(secs => $3)
        ) as "exists!"
        "#,
        to,
        kind,
        within.as_secs_f64(),
    )
    .fetch_one(executor)
    .await
}

/// What became of a delivery attempt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Delivered {
    Sent,
    /// No SMTP configured: kept in the outbox for administrators.
    Held,
    /// Already sent, held or given up (a repeated job).
    AlreadyDone,
    /// No such message (deleted).
    Gone,
}

/// Why a delivery did not happen.
#[derive(Debug, thiserror::Error)]
pub enum DeliveryError {
    /// Refused for good: the message is marked failed.
    #[error("{0}")]
    Permanent(String),
    /// Try again later (the job backs off).
    #[error("{0}")]
    Transient(String),
    #[error(transparent)]
    Database(#[from] sqlx::Error),
}

/// Delivers message `id` with `mailer`, or holds it when there is none. A sent or refused
/// message keeps its envelope but loses its body, so the links it carried are not kept
/// around; only held and waiting messages keep theirs.
pub async fn deliver(
    pool: &PgPool,
    mailer: Option<&Mailer>,
    id: Uuid,
) -> Result<Delivered, DeliveryError> {
    let Some(mail) = sqlx::query_as!(
        Queued,
        r#"
        select id, to_address, kind, subject, text_body, html_body, link, status
        from mail_outbox
        where id = $1
        "#,
        id,
    )
    .fetch_optional(pool)
    .await?
    else {
        return Ok(Delivered::Gone);
    };
    if mail.status != "queued" {
        return Ok(Delivered::AlreadyDone);
    }
    let Some(mailer) = mailer else {
        sqlx::query!("update mail_outbox set status = 'held' where id = $1", id)
            .execute(pool)
            .await?;
        // The issue's embedded mode: nobody can receive mail, so the operator reads the link
        // here (or on the admin outbox page). Never the address: the message id finds it.
        tracing::info!(
            mail.id = %id,
            mail.kind = mail.kind,
            link = mail.link.as_deref().unwrap_or("-"),
            "no SMTP configured: message held in the outbox"
        );
        return Ok(Delivered::Held);
    };
    let outcome = mailer
        .send(
            &mail.to_address,
            &mail.subject,
            &mail.text_body,
            &mail.html_body,
        )
        .await;
    let (status, error) = match &outcome {
        Ok(()) => ("sent", None),
        Err(SendError::Permanent(reason)) => ("failed", Some(reason.clone())),
        Err(SendError::Transient(reason)) => ("queued", Some(reason.clone())),
    };
    sqlx::query!(
        r#"
        update mail_outbox
        set status = $2,
            attempts = attempts + 1,
            last_error = $3,
            sent_at = case when $2 = 'sent' then now() end,
            text_body = case when $2 in ('sent', 'failed') then '' else text_body end,
            html_body = case when $2 in ('sent', 'failed') then '' else html_body end,
            link = case when $2 in ('sent', 'failed') then null else link end
        where id = $1
        "#,
        id,
        status,
        error,
    )
    .execute(pool)
    .await?;
    match outcome {
        Ok(()) => Ok(Delivered::Sent),
        Err(SendError::Permanent(reason)) => Err(DeliveryError::Permanent(reason)),
        Err(SendError::Transient(reason)) => Err(DeliveryError::Transient(reason)),
    }
}

/// Marks a message that ran out of attempts as failed.
pub async fn give_up(executor: impl PgExecutor<'_>, id: Uuid) -> sqlx::Result<()> {
    sqlx::query!(
        r#"
        update mail_outbox
        set status = 'failed', text_body = '', html_body = '', link = null
        where id = $1 and status = 'queued'
        "#,
        id
    )
    .execute(executor)
    .await?;
    Ok(())
}

/// A message as the admin outbox page shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct OutboxEntry {
    pub id: Uuid,
    pub to_address: String,
    pub kind: String,
    pub subject: String,
    /// Empty once sent.
    pub text_body: String,
    pub status: String,
    pub attempts: i32,
    pub last_error: Option<String>,
    pub created_at: DateTime<Utc>,
    pub sent_at: Option<DateTime<Utc>>,
}

/// The newest messages first, `limit` at a time, older than `before` when paging on.
pub async fn list(
    executor: impl PgExecutor<'_>,
    before: Option<DateTime<Utc>>,
    limit: i64,
) -> sqlx::Result<Vec<OutboxEntry>> {
    sqlx::query_as!(
        OutboxEntry,
        r#"
        select id, to_address, kind, subject, text_body, status, attempts, last_error,
               created_at, sent_at
        from mail_outbox
        where $1::timestamptz is null or created_at < $1
        order by created_at desc
        limit $2
        "#,
        before,
        limit,
    )
    .fetch_all(executor)
    .await
}
