//! Conversations: their list (search, pin, archive, folders), their messages as a tree
//! (an edit or a regeneration is a sibling; the conversation remembers which branch is shown),
//! and the replies being written ([`live`]). Every function takes the user and touches only
//! that user's conversations.

pub mod documents;
pub mod live;
#[cfg(test)]
mod tests;

use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use sqlx::{PgExecutor, PgPool};
use uuid::Uuid;

use crate::llm;

/// Conversations per page of the list.
pub const PAGE_SIZE: i64 = 50;
/// Messages of the shown branch sent at once; earlier ones come on request.
pub const MESSAGES_PAGE: usize = 100;
/// The longest message a user may send, in characters.
pub const MAX_MESSAGE_CHARS: usize = 100_000;

#[derive(Debug, thiserror::Error)]
pub enum ChatError {
    /// Input the user can correct; the text says how.
    #[error("{0}")]
    Invalid(String),
    /// No such conversation or message for this user.
    #[error("not found")]
    NotFound,
    #[error(transparent)]
    Database(#[from] sqlx::Error),
}

fn invalid(message: impl Into<String>) -> ChatError {
    ChatError::Invalid(message.into())
}

/// A conversation in the list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Summary {
    pub id: Uuid,
    pub title: String,
    pub is_pinned: bool,
    pub is_archived: bool,
    pub folder_id: Option<Uuid>,
    pub model_id: Option<Uuid>,
    pub last_activity_at: DateTime<Utc>,
}

/// Which conversations to list.
#[derive(Debug, Clone, Default)]
pub struct ListQuery {
    /// Words to find in titles and message text (full-text, prefixes match).
    pub search: Option<String>,
    pub archived: bool,
    pub folder_id: Option<Uuid>,
    pub offset: i64,
}

/// A message as the conversation page shows it.
#[derive(Debug, Clone, PartialEq)]
pub struct MessageRow {
    pub id: Uuid,
    pub parent_id: Option<Uuid>,
    pub role: String,
    pub content: String,
    pub reasoning: String,
    pub model_id: Option<Uuid>,
    pub model_name: Option<String>,
    pub status: String,
    pub error: Option<String>,
    pub created_at: DateTime<Utc>,
    /// This message and its siblings (same parent, same role), oldest first: the branch
    /// picker's choices.
    pub siblings: Vec<Uuid>,
    pub usage: Option<MessageUsage>,
    /// Images sent with it, in order (see [`image`]).
    pub image_ids: Vec<Uuid>,
    /// The names of the documents sent with it, in order.
    pub document_names: Vec<String>,
}

/// Tokens and cost of the calls that wrote a reply.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct MessageUsage {
    pub input_tokens: i64,
    pub output_tokens: i64,
    pub cached_input_tokens: i64,
    pub cost: Decimal,
}

/// A conversation with the messages of the branch shown.
#[derive(Debug, Clone)]
pub struct Conversation {
    pub summary: Summary,
    /// Oldest first; at most [`MESSAGES_PAGE`] of them.
    pub messages: Vec<MessageRow>,
    /// Whether earlier messages of the branch were left out.
    pub has_earlier: bool,
    /// Every call made in the conversation, every branch included.
    pub totals: MessageUsage,
}

/// The title a conversation gets from its first message: the first line, cut at a word
/// before 60 characters.
pub fn auto_title(text: &str) -> String {
    let line = text
        .lines()
        .map(str::trim)
        .find(|l| !l.is_empty())
        .unwrap_or("New chat");
    let line: String = line.split_whitespace().collect::<Vec<_>>().join(" ");
    if line.chars().count() <= 60 {
        return line;
    }
    let cut: String = line.chars().take(60).collect();
    let cut = match cut.rfind(' ') {
        Some(space) if space > 20 => &cut[..space],
        _ => cut.as_str(),
    };
    format!("{}…", cut.trim_end_matches([',', '.', ';', ':']))
}

/// A full-text query from what the user typed: each word (letters and digits only) must
/// match, the last one as a prefix. `None` when nothing searchable is left.
fn ts_query(search: &str) -> Option<String> {
    let words: Vec<String> = search
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .take(12)
        .map(str::to_lowercase)
        .collect();
    let (last, rest) = words.split_last()?;
    let mut terms: Vec<String> = rest.iter().map(|w| format!("'{w}'")).collect();
    terms.push(format!("'{last}':*"));
    Some(terms.join(" & "))
}

/// One page of the user's conversations: pinned first, then by last activity.
pub async fn list(pool: &PgPool, user_id: Uuid, query: &ListQuery) -> sqlx::Result<Vec<Summary>> {
    let search = query.search.as_deref().and_then(ts_query);
    let rows = sqlx::query!(
        r#"
        select c.id, c.title, c.is_pinned, c.is_archived, c.folder_id, c.model_id,
               c.last_activity_at
        from conversations as c
        where c.user_id = $1
          and c.is_archived = $2
          and ($3::uuid is null or c.folder_id = $3)
          and ($4::text is null
               or to_tsvector('simple', c.title) @@ to_tsquery('simple', $4)
               or exists (
                   select 1 from messages as m
                   where m.conversation_id = c.id and m.search @@ to_tsquery('simple', $4)
               ))
        order by c.is_pinned desc, c.last_activity_at desc, c.id desc
        limit $5 offset $6
        "#,
        user_id,
        query.archived,
        query.folder_id,
        search,
        PAGE_SIZE,
        query.offset.max(0),
    )
    .fetch_all(pool)
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| Summary {
            id: r.id,
            title: r.title,
            is_pinned: r.is_pinned,
            is_archived: r.is_archived,
            folder_id: r.folder_id,
            model_id: r.model_id,
            last_activity_at: r.last_activity_at,
        })
        .collect())
}

async fn summary(
    executor: impl PgExecutor<'_>,
    user_id: Uuid,
    id: Uuid,
) -> Result<Summary, ChatError> {
    sqlx::query!(
        r#"
        select id, title, is_pinned, is_archived, folder_id, model_id, last_activity_at
        from conversations where id = $1 and user_id = $2
        "#,
        id,
        user_id,
    )
    .fetch_optional(executor)
    .await?
    .map(|r| Summary {
        id: r.id,
        title: r.title,
        is_pinned: r.is_pinned,
        is_archived: r.is_archived,
        folder_id: r.folder_id,
        model_id: r.model_id,
        last_activity_at: r.last_activity_at,
    })
    .ok_or(ChatError::NotFound)
}

/// The conversation with the last [`MESSAGES_PAGE`] messages of its shown branch, or those
/// before `before` (a message of the branch) when paging back.
pub async fn conversation(
    pool: &PgPool,
    user_id: Uuid,
    id: Uuid,
    before: Option<Uuid>,
) -> Result<Conversation, ChatError> {
    let summary = summary(pool, user_id, id).await?;
    let rows = sqlx::query!(
        r#"
        with recursive branch as (
            select m.id, m.parent_id, 0 as depth
            from conversations as c join messages as m on m.id = c.current_message_id
            where c.id = $1
            union all
            select m.id, m.parent_id, b.depth + 1
            from messages as m join branch as b on m.id = b.parent_id
        )
        select m.id, m.parent_id, m.role, m.content, m.reasoning, m.model_id,
               am.display_name as "model_name?", m.status, m.error, m.created_at,
               array(
                   select s.id from messages as s
                   where s.conversation_id = m.conversation_id
                     and s.parent_id is not distinct from m.parent_id
                     and s.role = m.role
                   order by s.created_at, s.id
               ) as "siblings!",
               u.input_tokens as "input_tokens?", u.output_tokens as "output_tokens?",
               u.cached_input_tokens as "cached_input_tokens?", u.cost as "cost?",
               array(
                   select i.id from message_images as i where i.message_id = m.id order by i.position
               ) as "image_ids!",
               array(
                   select d.file_name from message_documents as d where d.message_id = m.id
                   order by d.position
               ) as "document_names!"
        from branch as b
        join messages as m on m.id = b.id
        left join ai_models as am on am.id = m.model_id
        left join lateral (
            select sum(r.input_tokens)::bigint as input_tokens,
                   sum(r.output_tokens)::bigint as output_tokens,
                   sum(r.cached_input_tokens)::bigint as cached_input_tokens,
                   sum(r.cost) as cost
            from usage_records as r where r.message_id = m.id
            having count(*) > 0
        ) as u on true
        order by b.depth desc
        "#,
        id,
    )
    .fetch_all(pool)
    .await?;
    let mut messages: Vec<MessageRow> = rows
        .into_iter()
        .map(|r| MessageRow {
            id: r.id,
            parent_id: r.parent_id,
            role: r.role,
            content: r.content,
            reasoning: r.reasoning,
            model_id: r.model_id,
            model_name: r.model_name,
            status: r.status,
            error: r.error,
            created_at: r.created_at,
            siblings: r.siblings,
            usage: r.input_tokens.map(|input| MessageUsage {
                input_tokens: input,
                output_tokens: r.output_tokens.unwrap_or(0),
                cached_input_tokens: r.cached_input_tokens.unwrap_or(0),
                cost: r.cost.unwrap_or_default(),
            }),
            image_ids: r.image_ids,
            document_names: r.document_names,
        })
        .collect();
    if let Some(before) = before {
        let at = messages
            .iter()
            .position(|m| m.id == before)
            .ok_or(ChatError::NotFound)?;
        messages.truncate(at);
    }
    let has_earlier = messages.len() > MESSAGES_PAGE;
    if has_earlier {
        messages.drain(..messages.len() - MESSAGES_PAGE);
    }
    let totals = sqlx::query!(
        r#"
        select coalesce(sum(input_tokens), 0)::bigint as "input!",
               coalesce(sum(output_tokens), 0)::bigint as "output!",
               coalesce(sum(cached_input_tokens), 0)::bigint as "cached!",
               coalesce(sum(cost), 0) as "cost!"
        from usage_records where conversation_id = $1
        "#,
        id,
    )
    .fetch_one(pool)
    .await?;
    Ok(Conversation {
        summary,
        messages,
        has_earlier,
        totals: MessageUsage {
            input_tokens: totals.input,
            output_tokens: totals.output,
            cached_input_tokens: totals.cached,
            cost: totals.cost,
        },
    })
}

/// Renames a conversation (the automatic title no longer replaces it).
pub async fn rename(pool: &PgPool, user_id: Uuid, id: Uuid, title: &str) -> Result<(), ChatError> {
    let title = title.split_whitespace().collect::<Vec<_>>().join(" ");
    if title.is_empty() || title.chars().count() > 200 {
        return Err(invalid(
            "Give the conversation a title of 1 to 200 characters.",
        ));
    }
    let done = sqlx::query!(
        "update conversations set title = $3, title_is_auto = false where id = $1 and user_id = $2",
        id,
        user_id,
        title,
    )
    .execute(pool)
    .await?;
    found(done.rows_affected())
}

fn found(rows: u64) -> Result<(), ChatError> {
    if rows == 0 {
        Err(ChatError::NotFound)
    } else {
        Ok(())
    }
}

pub async fn set_pinned(
    pool: &PgPool,
    user_id: Uuid,
    id: Uuid,
    pinned: bool,
) -> Result<(), ChatError> {
    set_flags(pool, user_id, id, Some(pinned), None).await
}

pub async fn set_archived(
    pool: &PgPool,
    user_id: Uuid,
    id: Uuid,
    archived: bool,
) -> Result<(), ChatError> {
    set_flags(pool, user_id, id, None, Some(archived)).await
}

/// Sets the flags given, leaves the others.
async fn set_flags(
    pool: &PgPool,
    user_id: Uuid,
    id: Uuid,
    pinned: Option<bool>,
    archived: Option<bool>,
) -> Result<(), ChatError> {
    let done = sqlx::query!(
        r#"
        update conversations
        set is_pinned = coalesce($3, is_pinned), is_archived = coalesce($4, is_archived)
        where id = $1 and user_id = $2
        "#,
        id,
        user_id,
        pinned,
        archived,
    )
    .execute(pool)
    .await?;
    found(done.rows_affected())
}

/// Deletes a conversation with its messages (usage records stay, without the link).
pub async fn delete(pool: &PgPool, user_id: Uuid, id: Uuid) -> Result<(), ChatError> {
    let done = sqlx::query!(
        "delete from conversations where id = $1 and user_id = $2",
        id,
        user_id
    )
    .execute(pool)
    .await?;
    found(done.rows_affected())
}

/// A user's folder.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Folder {
    pub id: Uuid,
    pub name: String,
}

pub async fn folders(pool: &PgPool, user_id: Uuid) -> sqlx::Result<Vec<Folder>> {
    sqlx::query_as!(
        Folder,
        "select id, name from chat_folders where user_id = $1 order by lower(name)",
        user_id
    )
    .fetch_all(pool)
    .await
}

pub async fn create_folder(pool: &PgPool, user_id: Uuid, name: &str) -> Result<Uuid, ChatError> {
    let name = name.trim();
    if name.is_empty() || name.chars().count() > 100 {
        return Err(invalid("Give the folder a name of 1 to 100 characters."));
    }
    sqlx::query_scalar!(
        r#"
        insert into chat_folders (user_id, name) values ($1, $2)
        on conflict (user_id, lower(name)) do nothing
        returning id
        "#,
        user_id,
        name,
    )
    .fetch_optional(pool)
    .await?
    .ok_or_else(|| invalid(format!("You already have a folder called \"{name}\".")))
}

/// Deletes a folder; its conversations stay, outside any folder.
pub async fn delete_folder(pool: &PgPool, user_id: Uuid, id: Uuid) -> Result<(), ChatError> {
    let done = sqlx::query!(
        "delete from chat_folders where id = $1 and user_id = $2",
        id,
        user_id
    )
    .execute(pool)
    .await?;
    found(done.rows_affected())
}

/// Puts a conversation in one of the user's folders, or none.
pub async fn move_to_folder(
    pool: &PgPool,
    user_id: Uuid,
    id: Uuid,
    folder_id: Option<Uuid>,
) -> Result<(), ChatError> {
    let done = sqlx::query!(
        r#"
        update conversations set folder_id = $3
        where id = $1 and user_id = $2
          and ($3::uuid is null or exists (select 1 from chat_folders where id = $3 and user_id = $2))
        "#,
        id,
        user_id,
        folder_id,
    )
    .execute(pool)
    .await?;
    found(done.rows_affected())
}

/// Shows the branch through `message_id`: the conversation's current message becomes the
/// newest message below it (following the newest child at each step).
pub async fn select_branch(
    pool: &PgPool,
    user_id: Uuid,
    message_id: Uuid,
) -> Result<(), ChatError> {
    let done = sqlx::query!(
        r#"
        with recursive down as (
            select m.id, m.conversation_id, 0 as depth
            from messages as m join conversations as c on c.id = m.conversation_id
            where m.id = $1 and c.user_id = $2
            union all
            select child.id, child.conversation_id, d.depth + 1
            from down as d
            cross join lateral (
                select id, conversation_id from messages
                where parent_id = d.id order by created_at desc, id desc limit 1
            ) as child
        )
        update conversations as c set current_message_id = leaf.id
        from (select id, conversation_id from down order by depth desc limit 1) as leaf
        where c.id = leaf.conversation_id
        "#,
        message_id,
        user_id,
    )
    .execute(pool)
    .await?;
    found(done.rows_affected())
}

/// The largest image a message may carry, and how many.
pub const MAX_IMAGE_BYTES: usize = 20 * 1024 * 1024;
pub const MAX_IMAGES: usize = 4;

/// Keeps an image the user is about to send (PNG, JPEG, WebP or GIF, told by its content, not
/// its name) and returns its id for [`Turn::Message`]. Images uploaded but never sent are
/// dropped after a day.
pub async fn upload_image(
    pool: &PgPool,
    user_id: Uuid,
    file_name: &str,
    data: &[u8],
) -> Result<Uuid, ChatError> {
    let name: String = file_name.trim().chars().take(200).collect();
    let shown = if name.is_empty() {
        "The file"
    } else {
        name.as_str()
    };
    if data.is_empty() {
        return Err(invalid(format!("{shown} is empty.")));
    }
    if data.len() > MAX_IMAGE_BYTES {
        return Err(invalid(format!(
            "{shown} is larger than {} MB.",
            MAX_IMAGE_BYTES / 1024 / 1024
        )));
    }
    let media_type = infer::get(data)
        .map(|kind| kind.mime_type())
        .filter(|mime| ["image/png", "image/jpeg", "image/webp", "image/gif"].contains(mime))
        .ok_or_else(|| invalid(format!("{shown} is not a PNG, JPEG, WebP or GIF image.")))?;
    sqlx::query!(
        r#"
        delete from message_images
        where user_id = $1 and message_id is null and created_at < now() - interval '1 day'
        "#,
        user_id
    )
    .execute(pool)
    .await?;
    Ok(sqlx::query_scalar!(
        r#"
        insert into message_images (user_id, file_name, media_type, data)
        values ($1, $2, $3, $4) returning id
        "#,
        user_id,
        name,
        media_type,
        data,
    )
    .fetch_one(pool)
    .await?)
}

/// An image the user uploaded (sent or not): its type and bytes.
pub async fn image(
    pool: &PgPool,
    user_id: Uuid,
    id: Uuid,
) -> sqlx::Result<Option<(String, Vec<u8>)>> {
    Ok(sqlx::query!(
        "select media_type, data from message_images where id = $1 and user_id = $2",
        id,
        user_id
    )
    .fetch_optional(pool)
    .await?
    .map(|r| (r.media_type, r.data)))
}

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
    let (conversation_id, user_message_id) = match turn {
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
            let conversation_id = match conversation_id {
                Some(id) => {
                    // Locks the conversation: one turn at a time.
                    sqlx::query_scalar!(
                        "select id from conversations where id = $1 and user_id = $2 for update",
                        id,
                        user_id
                    )
                    .fetch_optional(&mut *tx)
                    .await?
                    .ok_or(ChatError::NotFound)?
                }
                None => {
                    sqlx::query_scalar!(
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
                    .await?
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
                None => {
                    sqlx::query_scalar!(
                        "select current_message_id from conversations where id = $1",
                        conversation_id
                    )
                    .fetch_one(&mut *tx)
                    .await?
                }
            };
            let message_id = sqlx::query_scalar!(
                r#"
                insert into messages (conversation_id, parent_id, role, content)
                values ($1, $2, 'user', $3) returning id
                "#,
                conversation_id,
                parent_id,
                text,
            )
            .fetch_one(&mut *tx)
            .await?;
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
            (conversation_id, message_id)
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
            (row.conversation_id, row.parent_id)
        }
    };
    let reply_id = sqlx::query_scalar!(
        r#"
        insert into messages (conversation_id, parent_id, role, model_id, status)
        values ($1, $2, 'assistant', $3, 'streaming') returning id
        "#,
        conversation_id,
        user_message_id,
        model_id,
    )
    .fetch_one(&mut *tx)
    .await?;
    sqlx::query!(
        r#"
        update conversations
        set current_message_id = $2, model_id = $3, last_activity_at = now()
        where id = $1
        "#,
        conversation_id,
        reply_id,
        model_id,
    )
    .execute(&mut *tx)
    .await?;
    let history = history(&mut tx, user_message_id, budget).await?;
    tx.commit().await?;
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
        select m.id, m.role, m.content, m.status
        from branch as b join messages as m on m.id = b.id
        order by b.depth desc
        "#,
        last,
    )
    .fetch_all(&mut *executor)
    .await?;
    let ids: Vec<Uuid> = rows.iter().map(|r| r.id).collect();
    // Sizes first: only the images the budget takes are read.
    let sizes = sqlx::query!(
        r#"
        select id, message_id as "message_id!", octet_length(data) as "size!"
        from message_images
        where message_id = any($1)
        order by message_id, position
        "#,
        &ids,
    )
    .fetch_all(&mut *executor)
    .await?;
    let mut chosen: Vec<Uuid> = Vec::new();
    let mut turns_taken = 0;
    let mut bytes_taken: u64 = 0;
    for message in ids.iter().rev() {
        let of_message: Vec<_> = sizes.iter().filter(|i| i.message_id == *message).collect();
        if of_message.is_empty() {
            continue;
        }
        if turns_taken == budget.turns {
            break;
        }
        turns_taken += 1;
        for image in of_message {
            let size = u64::try_from(image.size).unwrap_or(u64::MAX);
            if bytes_taken.saturating_add(size) <= budget.max_bytes {
                bytes_taken += size;
                chosen.push(image.id);
            }
        }
    }
    let images = sqlx::query!(
        r#"
        select id, message_id, media_type, data from message_images
        where id = any($1)
        "#,
        &chosen,
    )
    .fetch_all(&mut *executor)
    .await?;
    let documents = sqlx::query!(
        "select message_id, file_name, content, truncated from message_documents
         where message_id = any($1) order by message_id, position",
        &ids,
    )
    .fetch_all(&mut *executor)
    .await?;
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
