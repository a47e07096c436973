//! The conversation list (search, pin, archive), one conversation with its shown branch, and
//! the choice of branch.

use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use sqlx::{PgExecutor, PgPool};
use uuid::Uuid;

use super::{ChatError, MESSAGES_PAGE, PAGE_SIZE, found, invalid};

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

/// A row of the `message_details` view.
struct DetailRow {
    conversation_id: Uuid,
    id: Uuid,
    parent_id: Option<Uuid>,
    role: String,
    content: String,
    reasoning: String,
    model_id: Option<Uuid>,
    model_name: Option<String>,
    status: String,
    error: Option<String>,
    created_at: DateTime<Utc>,
    siblings: Vec<Uuid>,
    input_tokens: Option<i64>,
    output_tokens: Option<i64>,
    cached_input_tokens: Option<i64>,
    cost: Option<Decimal>,
    image_ids: Vec<Uuid>,
    document_names: Vec<String>,
}

impl From<DetailRow> for MessageRow {
    fn from(r: DetailRow) -> Self {
        MessageRow {
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
        }
    }
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

/// A line of Markdown as plain words: no heading, quote or list marks, no emphasis or code
/// marks, links as their text; fences and table rules are nothing.
fn plain_line(line: &str) -> String {
    let line = line.trim();
    if line.starts_with("```")
        || line.starts_with("~~~")
        || line.trim_matches(['|', '-', ':', ' ']).is_empty()
    {
        return String::new();
    }
    let line = line.trim_start_matches(['#', '>', ' ']);
    let line = match line.split_once(' ') {
        Some((mark, rest))
            if matches!(mark, "-" | "*" | "+")
                || mark.trim_end_matches(['.', ')']).parse::<u32>().is_ok()
                    && mark.ends_with(['.', ')']) =>
        {
            rest
        }
        _ => line,
    };
    let mut plain = String::with_capacity(line.len());
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '*' | '_' | '`' | '~' | '[' => {}
            // `](address)`: the address goes.
            ']' if chars.peek() == Some(&'(') => {
                for c in chars.by_ref() {
                    if c == ')' {
                        break;
                    }
                }
            }
            ']' => {}
            '|' => plain.push(' '),
            c => plain.push(c),
        }
    }
    plain.trim().to_owned()
}

/// The title a conversation gets from its first message: the first line, cut at a word
/// before 60 characters.
pub fn auto_title(text: &str) -> String {
    let line = text
        .lines()
        .map(plain_line)
        .find(|l| !l.is_empty())
        .unwrap_or_else(|| "New chat".to_owned());
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
pub(super) fn ts_query(search: &str) -> Option<String> {
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
    let mut messages = sqlx::query_as!(
        DetailRow,
        r#"
        with recursive branch as (
            select m.id, m.parent_id, 0 as depth
            from conversations as c join messages as m on m.id = c.current_message_id
            where c.id = $1
            union all
            select m.id, m.parent_id, b.depth + 1
            from messages as m join branch as b on m.id = b.parent_id
        )
        select d.conversation_id as "conversation_id!", d.id as "id!", d.parent_id,
               d.role as "role!", d.content as "content!",
               d.reasoning as "reasoning!", d.model_id, d.model_name, d.status as "status!",
               d.error, d.created_at as "created_at!", d.siblings as "siblings!",
               d.input_tokens, d.output_tokens, d.cached_input_tokens, d.cost,
               d.image_ids as "image_ids!", d.document_names as "document_names!"
        from branch as b join message_details as d on d.id = b.id
        order by b.depth desc
        "#,
        id,
    )
    .fetch_all(pool)
    .await?
    .into_iter()
    .map(MessageRow::from)
    .collect::<Vec<_>>();
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
    let totals = totals(pool, id).await?;
    Ok(Conversation {
        summary,
        messages,
        has_earlier,
        totals,
    })
}

/// The usage of every call made in conversation `id`, every branch included.
pub async fn totals(pool: &PgPool, id: Uuid) -> sqlx::Result<MessageUsage> {
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
    Ok(MessageUsage {
        input_tokens: totals.input,
        output_tokens: totals.output,
        cached_input_tokens: totals.cached,
        cost: totals.cost,
    })
}

/// `user_id`'s reply `id` as the conversation shows it, with its conversation's id, once it
/// is no longer being written; `None` if it is not theirs or still streaming.
pub async fn finished_reply(
    pool: &PgPool,
    user_id: Uuid,
    id: Uuid,
) -> sqlx::Result<Option<(Uuid, MessageRow)>> {
    let row = sqlx::query_as!(
        DetailRow,
        r#"
        select d.conversation_id as "conversation_id!", d.id as "id!", d.parent_id,
               d.role as "role!", d.content as "content!", d.reasoning as "reasoning!",
               d.model_id, d.model_name, d.status as "status!", d.error,
               d.created_at as "created_at!", d.siblings as "siblings!", d.input_tokens,
               d.output_tokens, d.cached_input_tokens, d.cost, d.image_ids as "image_ids!",
               d.document_names as "document_names!"
        from message_details as d join conversations as c on c.id = d.conversation_id
        where d.id = $1 and c.user_id = $2 and d.role = 'assistant' and d.status <> 'streaming'
        "#,
        id,
        user_id,
    )
    .fetch_optional(pool)
    .await?;
    Ok(row.map(|row| (row.conversation_id, MessageRow::from(row))))
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
