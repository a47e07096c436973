//! `mail-send`: delivers one message of the outbox (`studio_core::mail`) over SMTP, or holds
//! it there when no SMTP is configured. A refused message (a 5xx) fails at once; a connection
//! problem or a 4xx is retried with backoff, and marked failed when the attempts run out.

use std::sync::Arc;

use studio_core::mail::{
    Mailer, SendMail,
    outbox::{self, Delivered, DeliveryError},
};

use crate::{Handlers, JobContext, JobError};

/// Registers the handler, which sends with `mailer` (`None`: hold in the outbox).
pub fn add(handlers: &mut Handlers, mailer: Option<Mailer>) {
    let mailer = Arc::new(mailer);
    handlers.job(move |ctx, job: SendMail| run(ctx, job, mailer.clone()));
}

async fn run(
    ctx: JobContext,
    SendMail { mail_id }: SendMail,
    mailer: Arc<Option<Mailer>>,
) -> Result<(), JobError> {
    match outbox::deliver(&ctx.pool, mailer.as_ref().as_ref(), mail_id).await {
        Ok(Delivered::Sent) => {
            tracing::info!(mail.id = %mail_id, "mail sent");
            Ok(())
        }
        Ok(Delivered::Held | Delivered::AlreadyDone | Delivered::Gone) => Ok(()),
        Err(DeliveryError::Permanent(reason)) => {
            tracing::warn!(mail.id = %mail_id, reason, "mail refused by the SMTP server");
            Err(JobError::Permanent(reason))
        }
        Err(DeliveryError::Transient(reason)) => {
            if ctx.job.attempts >= ctx.job.max_attempts
                && let Err(err) = outbox::give_up(&ctx.pool, mail_id).await
            {
                tracing::warn!(error = %err, "could not mark the mail failed");
            }
            Err(JobError::Transient(anyhow::anyhow!(
                "could not reach the SMTP server: {reason}"
            )))
        }
        Err(DeliveryError::Database(err)) => Err(JobError::Transient(err.into())),
    }
}
