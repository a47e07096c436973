//! Conversation titles written by the conversation's model. Until its first reply is complete
//! a conversation is titled with its first message's first line, in plain text
//! ([`super::auto_title`]); then a job ([`WriteTitle`], run by `workers::titles`) asks the
//! model that replied for a few words, as a short call whose usage is recorded (feature
//! `title`). A title the user gave is never replaced, and a call that fails or says nothing
//! leaves the first line.

use std::time::Duration;

use futures::StreamExt;
use sqlx::{PgConnection, PgPool};
use uuid::Uuid;

use crate::{
    db::jobs::{self, Job},
    llm::{ChatProvider, ChatRequest, Event, LlmError, Message, Role, Usage, registry::Registry},
    models,
};

/// Writes the title of a conversation after its first complete reply.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct WriteTitle {
    pub conversation_id: Uuid,
    /// The reply the title is written from (with the message it answers).
    pub reply_id: Uuid,
}

impl Job for WriteTitle {
    const KIND: &'static str = "chat-title";
    /// A title is a nicety: one retry, then the first line stays.
    const MAX_ATTEMPTS: i32 = 2;

    fn dedupe_key(&self) -> Option<String> {
        Some(format!("{}:{}", Self::KIND, self.conversation_id))
    }
}

/// What the model is asked.
pub const INSTRUCTIONS: &str = "Write a title of at most six words for the conversation \
below, in the language of its first message. Answer with the title alone: no quotes, no \
full stop, no Markdown.";
/// Most tokens the title call may write.
pub const MAX_TITLE_TOKENS: u32 = 24;
/// Characters of the question and of the answer the model is shown.
const EXCERPT_CHARS: usize = 2000;
/// Longest a title call may take.
const CALL_TIMEOUT: Duration = Duration::from_secs(60);

/// What [`write_title`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Titled {
    Written(String),
    /// Nothing to do: renamed by the user, deleted, the model gone or no longer allowed, or
    /// the model said nothing usable.
    Left,
}

#[derive(Debug, thiserror::Error)]
pub enum TitleError {
    #[error("the title call failed: {0}")]
    Call(#[from] LlmError),
    #[error("the title call took longer than {0:?}")]
    TimedOut(Duration),
    #[error("the model's provider cannot be used: {0}")]
    Provider(String),
    #[error(transparent)]
    Database(#[from] sqlx::Error),
}

impl TitleError {
    /// Whether trying again later may work.
    pub fn is_transient(&self) -> bool {
        match self {
            Self::Call(err) => err.is_transient(),
            Self::TimedOut(_) | Self::Database(_) => true,
            Self::Provider(_) => false,
        }
    }
}

/// Queues [`WriteTitle`] when `reply_id`, just completed, is the first complete reply of a
/// conversation whose title is still automatic. Runs inside the transaction that saves the
/// reply.
pub(super) async fn queue_after_first_reply(
    tx: &mut PgConnection,
    conversation_id: Uuid,
    reply_id: Uuid,
) -> sqlx::Result<bool> {
    let first = sqlx::query_scalar!(
        r#"select c.title_is_auto and not exists (
                   select 1 from messages m
                   where m.conversation_id = c.id and m.role = 'assistant'
                     and m.status = 'complete' and m.id <> $2) as "first!"
           from conversations c where c.id = $1"#,
        conversation_id,
        reply_id
    )
    .fetch_optional(&mut *tx)
    .await?
    .unwrap_or(false);
    if first {
        jobs::enqueue_job(
            &mut *tx,
            &WriteTitle {
                conversation_id,
                reply_id,
            },
        )
        .await?;
    }
    Ok(first)
}

/// Asks the model of `job`'s reply for the conversation's title and saves it, with the call's
/// usage, unless the user renamed the conversation meanwhile.
pub async fn write_title(
    pool: &PgPool,
    llm: &Registry,
    job: &WriteTitle,
) -> Result<Titled, TitleError> {
    let Some(found) = sqlx::query!(
        r#"select c.user_id, q.content as question, r.content as answer,
                  r.model_id as "model_id?"
           from conversations c
           join messages r on r.id = $2 and r.conversation_id = c.id and r.status = 'complete'
           join messages q on q.id = r.parent_id
           where c.id = $1 and c.title_is_auto"#,
        job.conversation_id,
        job.reply_id
    )
    .fetch_optional(pool)
    .await?
    else {
        return Ok(Titled::Left);
    };
    let Some(model_id) = found.model_id else {
        return Ok(Titled::Left);
    };
    let Some(model) = models::model_for_user(pool, found.user_id, model_id).await? else {
        return Ok(Titled::Left);
    };
    let provider = llm
        .provider(pool, model.provider_id)
        .await
        .map_err(|err| TitleError::Provider(err.to_string()))?;
    let excerpt = |text: &str| text.chars().take(EXCERPT_CHARS).collect::<String>();
    let request = ChatRequest {
        model: model.model_key.clone(),
        messages: vec![
            Message::text(Role::System, INSTRUCTIONS),
            Message::text(
                Role::User,
                format!(
                    "First message:\n{}\n\nReply:\n{}",
                    excerpt(&found.question),
                    excerpt(&found.answer)
                ),
            ),
        ],
        max_output_tokens: Some(MAX_TITLE_TOKENS),
        temperature: None,
    };
    let started = std::time::Instant::now();
    let (text, usage) = tokio::time::timeout(CALL_TIMEOUT, async {
        let mut stream = provider.stream(request).await?;
        let (mut text, mut usage) = (String::new(), None::<Usage>);
        while let Some(event) = stream.next().await {
            match event? {
                Event::Text(piece) => text.push_str(&piece),
                Event::Usage(counted) => usage = Some(counted),
                Event::Reasoning(_) | Event::Finish(_) => {}
            }
        }
        Ok::<_, LlmError>((text, usage))
    })
    .await
    .map_err(|_| TitleError::TimedOut(CALL_TIMEOUT))??;
    let title = clean_title(&text);
    // A provider that did not count: about four characters a token.
    let estimated = usage.is_none();
    let usage = usage.unwrap_or_else(|| Usage {
        input_tokens: (INSTRUCTIONS.len() + 2 * EXCERPT_CHARS).div_ceil(4) as u64,
        output_tokens: text.chars().count().div_ceil(4) as u64,
        cached_input_tokens: 0,
    });
    let mut tx = pool.begin().await?;
    crate::usage::record(
        &mut *tx,
        crate::usage::Call {
            user_id: found.user_id,
            model: &model,
            feature: "title",
            conversation_id: Some(job.conversation_id),
            message_id: None,
            assistant_run_id: None,
            usage: &usage,
            estimated,
            first_token: None,
            total: started.elapsed(),
            status: "complete",
            error: None,
        },
    )
    .await?;
    let written = match &title {
        Some(title) => {
            sqlx::query!(
                "update conversations set title = $2 where id = $1 and title_is_auto",
                job.conversation_id,
                title
            )
            .execute(&mut *tx)
            .await?
            .rows_affected()
                > 0
        }
        None => false,
    };
    tx.commit().await?;
    Ok(match title {
        Some(title) if written => Titled::Written(title),
        _ => Titled::Left,
    })
}

/// A model's answer as a title: its first line in plain text, without the quotes, label or
/// full stop models add anyway, cut as [`super::auto_title`] cuts; `None` when nothing is left.
pub fn clean_title(answer: &str) -> Option<String> {
    let line = answer.lines().map(str::trim).find(|l| !l.is_empty())?;
    let line = line
        .strip_prefix("Title:")
        .or_else(|| line.strip_prefix("title:"))
        .unwrap_or(line);
    let quotes: &[char] = &['"', '\'', '“', '”', '‘', '’', '«', '»', '*', '#', '`'];
    let line = line
        .trim()
        .trim_matches(quotes)
        .trim()
        .trim_end_matches('.');
    if line.is_empty() {
        return None;
    }
    Some(super::auto_title(line))
}
