//! Replies as saved: the model last used, the owner of a reply, what it holds, and the
//! replies a stopped server left unfinished.

use sqlx::PgPool;
use uuid::Uuid;

/// The model of the user's most recent turn, to offer first in a new chat.
pub async fn last_used_model(pool: &PgPool, user_id: Uuid) -> sqlx::Result<Option<Uuid>> {
    sqlx::query_scalar!(
        r#"
        select model_id as "model_id!" from conversations
        where user_id = $1 and model_id is not null
        order by last_activity_at desc limit 1
        "#,
        user_id
    )
    .fetch_optional(pool)
    .await
}

/// Replies left `streaming` by a server that stopped: marked stopped with what they had.
pub async fn recover_interrupted(pool: &PgPool) -> sqlx::Result<u64> {
    let done = sqlx::query!(
        r#"
        update messages
        set status = 'stopped', error = 'The server restarted while this reply was being written.'
        where status = 'streaming'
        "#
    )
    .execute(pool)
    .await?;
    Ok(done.rows_affected())
}

/// Whether `message_id` is a reply in one of `user_id`'s conversations.
pub async fn owns_reply(pool: &PgPool, user_id: Uuid, message_id: Uuid) -> sqlx::Result<bool> {
    sqlx::query_scalar!(
        r#"
        select exists (
            select 1 from messages as m join conversations as c on c.id = m.conversation_id
            where m.id = $1 and c.user_id = $2 and m.role = 'assistant'
        ) as "owned!"
        "#,
        message_id,
        user_id,
    )
    .fetch_one(pool)
    .await
}

/// A reply as saved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SavedReply {
    pub content: String,
    pub reasoning: String,
    pub status: String,
    pub error: Option<String>,
}

pub async fn saved_reply(pool: &PgPool, message_id: Uuid) -> sqlx::Result<Option<SavedReply>> {
    sqlx::query_as!(
        SavedReply,
        "select content, reasoning, status, error from messages where id = $1",
        message_id
    )
    .fetch_optional(pool)
    .await
}
