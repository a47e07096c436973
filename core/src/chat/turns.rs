//! A turn saved: the user's message (or a regeneration) and an empty reply, and the history
//! the model is sent, with the images and documents it carries.

use sqlx::PgPool;
use uuid::Uuid;

use super::{ChatError, MAX_IMAGES, MAX_MESSAGE_CHARS, auto_title, documents, invalid};
use crate::llm;

/// What a new turn starts from.
#[derive(Debug, Clone)]
pub enum Turn {
    /// A new user message: in a new conversation (`conversation_id: None`), after the shown
    /// branch's last message, or (an edit) as a sibling of the user message `replacing`;
    /// with images ([`upload_image`]) and documents ([`documents::keep_document`]) the user
    /// uploaded and has not sent yet.
    Message {
        conversation_id: Option<Uuid>,
        replacing: Option<Uuid>,
        text: String,
        images: Vec<Uuid>,
        documents: Vec<Uuid>,
    },
    /// Another reply to the same user message as the reply `to` (a regeneration).
    Regenerate { reply: Uuid },
}

/// A turn saved and a reply started: where it is and what to send the model.
#[derive(Debug, Clone)]
pub struct Started {
    pub conversation_id: Uuid,
    pub user_message_id: Uuid,
    pub reply_id: Uuid,
    /// The branch up to and including the user message, for the provider.
    pub history: Vec<llm::Message>,
}

/// How many of a conversation's images a send carries to the model: those of the latest
/// `turns` messages that have any, newest first, up to `max_bytes` in all. The others are
/// named in the text as left out, so the model knows they were there.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ImageBudget {
    pub turns: usize,
    pub max_bytes: u64,
}

impl Default for ImageBudget {
    fn default() -> Self {
        let limits = crate::limits::LimitsConfig::default();
        Self {
            turns: limits.chat_image_turns,
            max_bytes: limits.chat_image_bytes,
        }
    }
}

/// Saves a turn and an empty reply (status `streaming`) from `model_id`, shows that branch,
/// and returns what the model must be sent, with the images `budget` allows. The caller has
/// checked the user may use the model.
pub async fn start_turn(
    pool: &PgPool,
    user_id: Uuid,
    model_id: Uuid,
    turn: Turn,
    budget: ImageBudget,
) -> Result<Started, ChatError> {
    let mut tx = pool.begin().await?;
    let started = save_turn(&mut tx, user_id, model_id, turn, budget).await?;
    tx.commit().await?;
    Ok(started)
}

/// [`start_turn`] inside the caller's transaction: a few round trips, whatever the
/// conversation's length.
async fn save_turn(
    tx: &mut sqlx::PgConnection,
    user_id: Uuid,
    model_id: Uuid,
    turn: Turn,
    budget: ImageBudget,
) -> Result<Started, ChatError> {
    let (conversation_id, user_message_id, reply_id) = match turn {
        Turn::Message {
            conversation_id,
            replacing,
            text,
            images,
            documents,
        } => {
            let text = text.trim().to_owned();
            if text.is_empty() && images.is_empty() && documents.is_empty() {
                return Err(invalid("Write a message first."));
            }
            if text.chars().count() > MAX_MESSAGE_CHARS {
                return Err(invalid(format!(
                    "The message is too long: at most {MAX_MESSAGE_CHARS} characters."
                )));
            }
            // The conversation and the message the new one follows (the branch shown).
            let (conversation_id, shown) = match conversation_id {
                Some(id) => {
                    // Locks the conversation: one turn at a time.
                    let row = sqlx::query!(
                        "select id, current_message_id from conversations where id = $1 and user_id = $2 for update",
                        id,
                        user_id
                    )
                    .fetch_optional(&mut *tx)
                    .await?
                    .ok_or(ChatError::NotFound)?;
                    (row.id, row.current_message_id)
                }
                None => {
                    let id = sqlx::query_scalar!(
                        "insert into conversations (user_id, title, model_id) values ($1, $2, $3) returning id",
                        user_id,
                        auto_title(if !text.is_empty() {
                            &text
                        } else if documents.is_empty() {
                            "Image"
                        } else {
                            "Document"
                        }),
                        model_id,
                    )
                    .fetch_one(&mut *tx)
                    .await?;
                    (id, None)
                }
            };
            let parent_id = match replacing {
                Some(edited) => {
                    sqlx::query_scalar!(
                        "select parent_id from messages where id = $1 and conversation_id = $2 and role = 'user'",
                        edited,
                        conversation_id,
                    )
                    .fetch_optional(&mut *tx)
                    .await?
                    .ok_or(ChatError::NotFound)?
                }
                None => shown,
            };
            // The message, its empty reply, and the conversation shows their branch: one
            // statement.
            let saved = sqlx::query!(
                r#"
                with question as (
                    insert into messages (conversation_id, parent_id, role, content)
                    values ($1, $2, 'user', $3) returning id
                ), reply as (
                    insert into messages (conversation_id, parent_id, role, model_id, status)
                    select $1, id, 'assistant', $4, 'streaming' from question returning id
                )
                update conversations
                set current_message_id = (select id from reply), model_id = $4,
                    last_activity_at = now()
                where id = $1
                returning (select id from question) as "question!", current_message_id as "reply!"
                "#,
                conversation_id,
                parent_id,
                text,
                model_id,
            )
            .fetch_one(&mut *tx)
            .await?;
            let message_id = saved.question;
            if images.len() > MAX_IMAGES {
                return Err(invalid(format!(
                    "Attach at most {MAX_IMAGES} images to a message."
                )));
            }
            for (position, image) in images.iter().enumerate() {
                let claimed = sqlx::query!(
                    r#"
                    update message_images set message_id = $1, position = $2
                    where id = $3 and user_id = $4 and message_id is null
                    "#,
                    message_id,
                    position as i32,
                    image,
                    user_id,
                )
                .execute(&mut *tx)
                .await?;
                if claimed.rows_affected() != 1 {
                    return Err(invalid("An attached image is gone: attach it again."));
                }
            }
            if documents.len() > documents::MAX_DOCUMENTS {
                return Err(invalid(format!(
                    "Attach at most {} documents to a message.",
                    documents::MAX_DOCUMENTS
                )));
            }
            for (position, document) in documents.iter().enumerate() {
                let claimed = sqlx::query!(
                    "update message_documents set message_id = $1, position = $2
                     where id = $3 and user_id = $4 and message_id is null",
                    message_id,
                    position as i32,
                    document,
                    user_id,
                )
                .execute(&mut *tx)
                .await?;
                if claimed.rows_affected() != 1 {
                    return Err(invalid("An attached document is gone: attach it again."));
                }
            }
            // An edit sent with no documents of its own keeps the edited message's.
            if let Some(edited) = replacing
                && documents.is_empty()
            {
                sqlx::query!(
                    "insert into message_documents
                         (user_id, message_id, position, file_name, content_kind, size_bytes, content, truncated)
                     select user_id, $1, position, file_name, content_kind, size_bytes, content, truncated
                     from message_documents where message_id = $2",
                    message_id,
                    edited,
                )
                .execute(&mut *tx)
                .await?;
            }
            // An edit sent with no images of its own keeps the edited message's.
            if let Some(edited) = replacing
                && images.is_empty()
            {
                sqlx::query!(
                    r#"
                    insert into message_images (user_id, message_id, position, file_name, media_type, data)
                    select user_id, $1, position, file_name, media_type, data
                    from message_images where message_id = $2
                    "#,
                    message_id,
                    edited,
                )
                .execute(&mut *tx)
                .await?;
            }
            (conversation_id, message_id, saved.reply)
        }
        Turn::Regenerate { reply } => {
            let row = sqlx::query!(
                r#"
                select m.conversation_id, m.parent_id as "parent_id!"
                from messages as m join conversations as c on c.id = m.conversation_id
                where m.id = $1 and c.user_id = $2 and m.role = 'assistant' and m.parent_id is not null
                for update of c
                "#,
                reply,
                user_id,
            )
            .fetch_optional(&mut *tx)
            .await?
            .ok_or(ChatError::NotFound)?;
            // The empty reply, and the conversation shows its branch.
            let reply_id = sqlx::query_scalar!(
                r#"
                with reply as (
                    insert into messages (conversation_id, parent_id, role, model_id, status)
                    values ($1, $2, 'assistant', $3, 'streaming') returning id
                )
                update conversations
                set current_message_id = (select id from reply), model_id = $3,
                    last_activity_at = now()
                where id = $1
                returning current_message_id as "id!"
                "#,
                row.conversation_id,
                row.parent_id,
                model_id,
            )
            .fetch_one(&mut *tx)
            .await?;
            (row.conversation_id, row.parent_id, reply_id)
        }
    };
    let history = history(&mut *tx, user_message_id, budget).await?;
    Ok(Started {
        conversation_id,
        user_message_id,
        reply_id,
        history,
    })
}

/// The text that stands for an image a send leaves out.
pub const IMAGE_LEFT_OUT: &str =
    "(An image was attached here; it is left out of this request to keep it small.)";

/// The branch from the first message to `last`, as provider messages (failed replies left
/// out; stopped ones kept as far as they got), with the images `budget` allows.
async fn history(
    executor: &mut sqlx::PgConnection,
    last: Uuid,
    budget: ImageBudget,
) -> sqlx::Result<Vec<llm::Message>> {
    let rows = sqlx::query!(
        r#"
        with recursive branch as (
            select id, parent_id, 0 as depth from messages where id = $1
            union all
            select m.id, m.parent_id, b.depth + 1
            from messages as m join branch as b on m.id = b.parent_id
        )
        select m.id, m.role, m.content, m.status,
            exists (select 1 from message_images as i where i.message_id = m.id) as "has_images!",
            exists (select 1 from message_documents as d where d.message_id = m.id) as "has_documents!"
        from branch as b join messages as m on m.id = b.id
        order by b.depth desc
        "#,
        last,
    )
    .fetch_all(&mut *executor)
    .await?;
    // Attachments are read only when the branch has some (most turns: none).
    let with_images: Vec<Uuid> = rows.iter().filter(|r| r.has_images).map(|r| r.id).collect();
    let with_documents: Vec<Uuid> = rows
        .iter()
        .filter(|r| r.has_documents)
        .map(|r| r.id)
        .collect();
    // Sizes first: only the images the budget takes are read.
    let sizes = if with_images.is_empty() {
        Vec::new()
    } else {
        sqlx::query!(
            r#"
            select id, message_id as "message_id!", octet_length(data) as "size!"
            from message_images
            where message_id = any($1)
            order by message_id, position
            "#,
            &with_images,
        )
        .fetch_all(&mut *executor)
        .await?
    };
    let mut chosen: Vec<Uuid> = Vec::new();
    let mut bytes_taken: u64 = 0;
    // The latest `budget.turns` messages with images, newest first.
    for message in with_images.iter().rev().take(budget.turns) {
        for image in sizes.iter().filter(|i| i.message_id == *message) {
            let size = u64::try_from(image.size).unwrap_or(u64::MAX);
            if bytes_taken.saturating_add(size) <= budget.max_bytes {
                bytes_taken += size;
                chosen.push(image.id);
            }
        }
    }
    let images = if chosen.is_empty() {
        Vec::new()
    } else {
        sqlx::query!(
            r#"
            select id, message_id, media_type, data from message_images
            where id = any($1)
            "#,
            &chosen,
        )
        .fetch_all(&mut *executor)
        .await?
    };
    let documents = if with_documents.is_empty() {
        Vec::new()
    } else {
        sqlx::query!(
            "select message_id, file_name, content, truncated from message_documents
             where message_id = any($1) order by message_id, position",
            &with_documents,
        )
        .fetch_all(&mut *executor)
        .await?
    };
    Ok(rows
        .into_iter()
        .filter(|r| {
            r.status != "failed"
                && r.status != "streaming"
                && !(r.role == "assistant" && r.content.is_empty())
        })
        .map(|r| {
            let role = match r.role.as_str() {
                "assistant" => llm::Role::Assistant,
                "system" => llm::Role::System,
                _ => llm::Role::User,
            };
            let mut parts: Vec<llm::Part> = sizes
                .iter()
                .filter(|i| i.message_id == r.id)
                .map(|i| match images.iter().find(|image| image.id == i.id) {
                    Some(image) => llm::Part::Image {
                        media_type: image.media_type.clone(),
                        data: image.data.clone().into(),
                    },
                    None => llm::Part::Text(IMAGE_LEFT_OUT.to_owned()),
                })
                .collect();
            parts.extend(
                documents
                    .iter()
                    .filter(|d| d.message_id == Some(r.id))
                    .map(|d| {
                        llm::Part::Text(documents::prompt_text(
                            &d.file_name,
                            &d.content,
                            d.truncated,
                        ))
                    }),
            );
            if !r.content.is_empty() {
                parts.push(llm::Part::Text(r.content));
            }
            llm::Message { role, parts }
        })
        .collect())
}
