//! Assistants as saved: each change is a version with its fields and prompts, and a version
//! goes draft -> pending -> approved or rejected. The approved version keeps running while a
//! newer one is drafted and reviewed; approving makes the assistant a tool granted to the
//! roles the reviewer chooses.
//!
//! Every save checks the whole definition (see [`problems`] and [`plan`](super::plan())) and
//! what the owner may use (models, repositories); submitting also asks that it could run.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sqlx::{PgConnection, PgPool};
use uuid::Uuid;

use super::plan::{self, PromptText};
use crate::{accounts::admin::Actor, audit};

/// The tool that lets staff build assistants.
pub const TOOL: &str = "assistant-architect";
/// The icons an assistant can show (drawn by the app).
pub const ICONS: &[&str] = &[
    "sparkles",
    "pencil",
    "book",
    "letter",
    "checklist",
    "calendar",
    "chat",
    "lightbulb",
    "globe",
    "calculator",
    "flask",
    "music",
];
/// The longest name or label, in characters.
pub const MAX_NAME_CHARS: usize = 100;
/// The longest category, in characters.
pub const MAX_CATEGORY_CHARS: usize = 40;
/// The longest description, help text or review note, in characters.
pub const MAX_DESCRIPTION_CHARS: usize = 2000;
/// The longest prompt or system context, in characters.
pub const MAX_PROMPT_CHARS: usize = 20_000;
/// The most choices of a select field.
pub const MAX_OPTIONS: usize = 50;
/// The most repositories one prompt searches.
pub const MAX_REPOSITORIES: usize = 10;

/// What an input field asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FieldKind {
    ShortText,
    LongText,
    Select,
    MultiSelect,
    /// A document whose extracted text becomes the value.
    File,
}

impl FieldKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::ShortText => "short_text",
            Self::LongText => "long_text",
            Self::Select => "select",
            Self::MultiSelect => "multi_select",
            Self::File => "file",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        [
            Self::ShortText,
            Self::LongText,
            Self::Select,
            Self::MultiSelect,
            Self::File,
        ]
        .into_iter()
        .find(|kind| kind.as_str() == text)
    }

    /// Whether the field offers choices.
    pub fn has_options(self) -> bool {
        matches!(self, Self::Select | Self::MultiSelect)
    }
}

/// One input field of the form.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Field {
    /// What prompts write to use its value: `{{name}}`.
    pub name: String,
    pub label: String,
    pub help: String,
    pub kind: FieldKind,
    pub required: bool,
    /// The choices of a select or multi-select.
    pub options: Vec<String>,
}

/// One prompt of the chain.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Prompt {
    /// What later prompts write to use its output: `{{key}}`.
    pub key: String,
    pub name: String,
    pub content: String,
    pub system: Option<String>,
    /// `None` while drafting; a submitted assistant names a model for every prompt.
    pub model_id: Option<Uuid>,
    pub repositories: Vec<Uuid>,
}

/// An assistant as its author writes it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Definition {
    pub name: String,
    pub description: String,
    pub icon: String,
    /// What the catalog groups it under ("Mathematics"); empty for none.
    #[serde(default)]
    pub category: String,
    /// Whether people who run it may search the owner's repositories its prompts name.
    pub share_knowledge: bool,
    pub fields: Vec<Field>,
    pub prompts: Vec<Prompt>,
}

/// Where a version is in its review.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    Draft,
    Pending,
    Approved,
    Rejected,
    /// Approved once, replaced by a later approved version.
    Superseded,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Draft => "draft",
            Self::Pending => "pending",
            Self::Approved => "approved",
            Self::Rejected => "rejected",
            Self::Superseded => "superseded",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        [
            Self::Draft,
            Self::Pending,
            Self::Approved,
            Self::Rejected,
            Self::Superseded,
        ]
        .into_iter()
        .find(|status| status.as_str() == text)
    }
}

/// One version of an assistant, whole.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Version {
    pub id: Uuid,
    pub assistant_id: Uuid,
    pub owner_id: Uuid,
    pub number: i32,
    pub status: Status,
    pub definition: Definition,
    /// Why it was rejected (kept while it is edited again).
    pub review_note: Option<String>,
    pub submitted_at: Option<DateTime<Utc>>,
    pub reviewed_at: Option<DateTime<Utc>>,
}

/// Why an assistant could not be saved, submitted or reviewed.
#[derive(Debug, thiserror::Error)]
pub enum AssistantError {
    /// What to change, each problem in its own sentence.
    #[error("{}", .0.join(" "))]
    Invalid(Vec<String>),
    /// No such assistant for this person.
    #[error("not found")]
    NotFound,
    /// Not possible in the state it is in; the text says why.
    #[error("{0}")]
    State(String),
    /// Too much going on for this person now (runs under way); the text says what to wait for.
    #[error("{0}")]
    Busy(String),
    #[error(transparent)]
    Database(#[from] sqlx::Error),
}

fn chars(text: &str) -> usize {
    text.chars().count()
}

/// What is wrong with `definition` on its own (no database): names, lengths, choices and the
/// prompt graph. Empty when it can be saved.
pub fn problems(definition: &Definition) -> Vec<String> {
    let mut found = Vec::new();
    let name = definition.name.trim();
    if name.is_empty() {
        found.push("The assistant needs a name.".to_owned());
    } else if chars(name) > MAX_NAME_CHARS {
        found.push(format!(
            "The name is longer than {MAX_NAME_CHARS} characters."
        ));
    }
    if chars(&definition.description) > MAX_DESCRIPTION_CHARS {
        found.push(format!(
            "The description is longer than {MAX_DESCRIPTION_CHARS} characters."
        ));
    }
    if chars(definition.category.trim()) > MAX_CATEGORY_CHARS {
        found.push(format!(
            "The category is longer than {MAX_CATEGORY_CHARS} characters."
        ));
    }
    if !ICONS.contains(&definition.icon.as_str()) {
        found.push(format!(
            "\u{201c}{}\u{201d} is not one of the icons.",
            definition.icon
        ));
    }
    for field in &definition.fields {
        let label = field.label.trim();
        if label.is_empty() {
            found.push(format!(
                "Field \u{201c}{}\u{201d} needs a label.",
                field.name
            ));
        } else if chars(label) > MAX_NAME_CHARS {
            found.push(format!(
                "The label of field \u{201c}{}\u{201d} is longer than {MAX_NAME_CHARS} characters.",
                field.name
            ));
        }
        if chars(&field.help) > MAX_DESCRIPTION_CHARS {
            found.push(format!(
                "The help of field \u{201c}{}\u{201d} is longer than {MAX_DESCRIPTION_CHARS} characters.",
                field.name
            ));
        }
        if field.kind.has_options() {
            if field.options.is_empty() {
                found.push(format!(
                    "Field \u{201c}{}\u{201d} needs at least one choice.",
                    field.name
                ));
            } else if field.options.len() > MAX_OPTIONS {
                found.push(format!(
                    "Field \u{201c}{}\u{201d} has more than {MAX_OPTIONS} choices.",
                    field.name
                ));
            }
            let mut seen = std::collections::HashSet::new();
            for option in &field.options {
                let option = option.trim();
                if option.is_empty() || chars(option) > MAX_NAME_CHARS {
                    found.push(format!(
                        "The choices of field \u{201c}{}\u{201d} need 1 to {MAX_NAME_CHARS} characters each.",
                        field.name
                    ));
                    break;
                }
                if !seen.insert(option) {
                    found.push(format!(
                        "Field \u{201c}{}\u{201d} offers \u{201c}{option}\u{201d} twice.",
                        field.name
                    ));
                    break;
                }
            }
        } else if !field.options.is_empty() {
            found.push(format!(
                "Field \u{201c}{}\u{201d} is not a select; it takes no choices.",
                field.name
            ));
        }
    }
    for prompt in &definition.prompts {
        let name = prompt.name.trim();
        if name.is_empty() {
            found.push(format!(
                "Prompt \u{201c}{}\u{201d} needs a name.",
                prompt.key
            ));
        } else if chars(name) > MAX_NAME_CHARS {
            found.push(format!(
                "The name of prompt \u{201c}{}\u{201d} is longer than {MAX_NAME_CHARS} characters.",
                prompt.key
            ));
        }
        let long = chars(&prompt.content) > MAX_PROMPT_CHARS
            || prompt
                .system
                .as_deref()
                .is_some_and(|system| chars(system) > MAX_PROMPT_CHARS);
        if long {
            found.push(format!(
                "Prompt \u{201c}{}\u{201d} is longer than {MAX_PROMPT_CHARS} characters.",
                prompt.key
            ));
        }
        if prompt.repositories.len() > MAX_REPOSITORIES {
            found.push(format!(
                "Prompt \u{201c}{}\u{201d} searches more than {MAX_REPOSITORIES} repositories.",
                prompt.key
            ));
        }
    }
    if let Err(graph) = definition.plan() {
        found.extend(graph.iter().map(ToString::to_string));
    }
    found
}

/// What keeps a saved draft from being submitted: a run needs at least one prompt, and each
/// prompt some text and a model.
pub fn unfinished(definition: &Definition) -> Vec<String> {
    let mut found = Vec::new();
    if definition.prompts.is_empty() {
        found.push("Add at least one prompt.".to_owned());
    }
    for prompt in &definition.prompts {
        if prompt.content.trim().is_empty() {
            found.push(format!("Prompt \u{201c}{}\u{201d} is empty.", prompt.name));
        }
        if prompt.model_id.is_none() {
            found.push(format!(
                "Choose a model for prompt \u{201c}{}\u{201d}.",
                prompt.name
            ));
        }
    }
    found
}

impl Definition {
    /// The prompt graph of this definition.
    pub fn plan(&self) -> Result<plan::Plan, Vec<plan::Problem>> {
        let fields: Vec<&str> = self.fields.iter().map(|f| f.name.as_str()).collect();
        let prompts: Vec<PromptText<'_>> = self
            .prompts
            .iter()
            .map(|p| PromptText {
                key: &p.key,
                name: &p.name,
                content: &p.content,
                system: p.system.as_deref(),
            })
            .collect();
        plan::plan(&fields, &prompts)
    }
}

/// What `owner` may not use among the models and repositories `definition` names.
async fn access_problems(
    pool: &PgPool,
    owner: Uuid,
    definition: &Definition,
) -> sqlx::Result<Vec<String>> {
    let mut found = Vec::new();
    let models: Vec<Uuid> = definition
        .prompts
        .iter()
        .filter_map(|p| p.model_id)
        .collect();
    let repositories: Vec<Uuid> = definition
        .prompts
        .iter()
        .flat_map(|p| p.repositories.iter().copied())
        .collect();
    let (usable, readable, tools) = tokio::try_join!(
        crate::models::usable_ids(pool, owner, Some(&models)),
        crate::knowledge::repos::readable_ids(pool, owner, &repositories),
        crate::accounts::access::tool_slugs(pool, owner),
    )?;
    let knowledge = tools.iter().any(|t| t == crate::knowledge::TOOL);
    for prompt in &definition.prompts {
        if prompt.model_id.is_some_and(|id| !usable.contains(&id)) {
            found.push(format!(
                "Prompt \u{201c}{}\u{201d} uses a model you cannot use; choose another.",
                prompt.name
            ));
        }
        if !prompt.repositories.is_empty() && !knowledge {
            found.push(format!(
                "Prompt \u{201c}{}\u{201d} searches repositories, but you cannot use knowledge repositories.",
                prompt.name
            ));
        } else if prompt.repositories.iter().any(|r| !readable.contains(r)) {
            found.push(format!(
                "Prompt \u{201c}{}\u{201d} searches a repository you cannot open.",
                prompt.name
            ));
        }
    }
    Ok(found)
}

/// Refuses `definition` unless it can be saved by `owner`.
async fn check(pool: &PgPool, owner: Uuid, definition: &Definition) -> Result<(), AssistantError> {
    let mut found = problems(definition);
    found.extend(access_problems(pool, owner, definition).await?);
    if found.is_empty() {
        Ok(())
    } else {
        Err(AssistantError::Invalid(found))
    }
}

/// Creates an assistant owned by `owner` with `definition` as its first draft; returns its id.
pub async fn create(
    pool: &PgPool,
    owner: Uuid,
    definition: &Definition,
) -> Result<Uuid, AssistantError> {
    check(pool, owner, definition).await?;
    let mut tx = pool.begin().await?;
    let id = sqlx::query_scalar!(
        "insert into assistants (owner_id) values ($1) returning id",
        owner
    )
    .fetch_one(&mut *tx)
    .await?;
    let version = sqlx::query_scalar!(
        r#"
        insert into assistant_versions
            (assistant_id, number, name, description, icon, share_knowledge, category)
        values ($1, 1, $2, $3, $4, $5, $6)
        returning id
        "#,
        id,
        definition.name.trim(),
        definition.description,
        definition.icon,
        definition.share_knowledge,
        definition.category.trim(),
    )
    .fetch_one(&mut *tx)
    .await?;
    write_parts(&mut tx, version, definition).await?;
    tx.commit().await?;
    Ok(id)
}

/// Saves `definition` as the version in the works of `owner`'s assistant `id`: the draft (or
/// the rejected version, which becomes a draft again, or the pending one, which is withdrawn
/// from review), else a new draft after the approved version, which keeps running. Returns the
/// version saved.
pub async fn save(
    pool: &PgPool,
    owner: Uuid,
    id: Uuid,
    definition: &Definition,
) -> Result<Uuid, AssistantError> {
    check(pool, owner, definition).await?;
    let mut tx = pool.begin().await?;
    lock_owned(&mut tx, owner, id).await?;
    let open = sqlx::query_scalar!(
        r#"
        update assistant_versions
        set status = 'draft', name = $2, description = $3, icon = $4, share_knowledge = $5,
            category = $6, submitted_at = null
        where assistant_id = $1 and status in ('draft', 'pending', 'rejected')
        returning id
        "#,
        id,
        definition.name.trim(),
        definition.description,
        definition.icon,
        definition.share_knowledge,
        definition.category.trim(),
    )
    .fetch_optional(&mut *tx)
    .await?;
    let version = match open {
        Some(version) => version,
        None => {
            sqlx::query_scalar!(
                r#"
                insert into assistant_versions
                    (assistant_id, number, name, description, icon, share_knowledge, category)
                select $1, coalesce(max(number), 0) + 1, $2, $3, $4, $5, $6
                from assistant_versions where assistant_id = $1
                returning id
                "#,
                id,
                definition.name.trim(),
                definition.description,
                definition.icon,
                definition.share_knowledge,
                definition.category.trim(),
            )
            .fetch_one(&mut *tx)
            .await?
        }
    };
    sqlx::query!(
        "delete from assistant_fields where version_id = $1",
        version
    )
    .execute(&mut *tx)
    .await?;
    sqlx::query!(
        "delete from assistant_prompts where version_id = $1",
        version
    )
    .execute(&mut *tx)
    .await?;
    write_parts(&mut tx, version, definition).await?;
    tx.commit().await?;
    Ok(version)
}

/// Locks `owner`'s assistant `id` for a change of its versions.
async fn lock_owned(tx: &mut PgConnection, owner: Uuid, id: Uuid) -> Result<(), AssistantError> {
    sqlx::query_scalar!(
        "select id from assistants where id = $1 and owner_id = $2 for update",
        id,
        owner
    )
    .fetch_optional(&mut *tx)
    .await?
    .map(|_| ())
    .ok_or(AssistantError::NotFound)
}

async fn write_parts(
    tx: &mut PgConnection,
    version: Uuid,
    definition: &Definition,
) -> sqlx::Result<()> {
    let fields = &definition.fields;
    sqlx::query!(
        r#"
        insert into assistant_fields
            (version_id, position, name, label, help, kind, required, options)
        select $1, f.position, f.name, f.label, f.help, f.kind, f.required,
               coalesce(
                   (select array_agg(o order by n)
                    from jsonb_array_elements_text(f.options) with ordinality as x(o, n)),
                   '{}')
        from unnest($2::int[], $3::text[], $4::text[], $5::text[], $6::text[], $7::bool[],
                    $8::jsonb[])
            as f(position, name, label, help, kind, required, options)
        "#,
        version,
        &(0..fields.len() as i32).collect::<Vec<_>>(),
        &fields.iter().map(|f| f.name.clone()).collect::<Vec<_>>(),
        &fields
            .iter()
            .map(|f| f.label.trim().to_owned())
            .collect::<Vec<_>>(),
        &fields.iter().map(|f| f.help.clone()).collect::<Vec<_>>(),
        &fields
            .iter()
            .map(|f| f.kind.as_str().to_owned())
            .collect::<Vec<_>>(),
        &fields.iter().map(|f| f.required).collect::<Vec<_>>(),
        &fields
            .iter()
            .map(|f| serde_json::json!(f.options.iter().map(|o| o.trim()).collect::<Vec<_>>()))
            .collect::<Vec<_>>(),
    )
    .execute(&mut *tx)
    .await?;
    let prompts = &definition.prompts;
    sqlx::query!(
        r#"
        insert into assistant_prompts
            (version_id, position, key, name, content, system_context, model_id, repository_ids)
        select $1, p.position, p.key, p.name, p.content, p.system_context, p.model_id,
               coalesce(
                   (select array_agg(r::uuid order by n)
                    from jsonb_array_elements_text(p.repositories) with ordinality as x(r, n)),
                   '{}')
        from unnest($2::int[], $3::text[], $4::text[], $5::text[], $6::text[], $7::uuid[],
                    $8::jsonb[])
            as p(position, key, name, content, system_context, model_id, repositories)
        "#,
        version,
        &(0..prompts.len() as i32).collect::<Vec<_>>(),
        &prompts.iter().map(|p| p.key.clone()).collect::<Vec<_>>(),
        &prompts
            .iter()
            .map(|p| p.name.trim().to_owned())
            .collect::<Vec<_>>(),
        &prompts
            .iter()
            .map(|p| p.content.clone())
            .collect::<Vec<_>>(),
        &prompts
            .iter()
            .map(|p| p.system.clone().filter(|s| !s.trim().is_empty()))
            .collect::<Vec<_>>() as &[Option<String>],
        &prompts.iter().map(|p| p.model_id).collect::<Vec<_>>() as &[Option<Uuid>],
        &prompts
            .iter()
            .map(|p| serde_json::json!(p.repositories))
            .collect::<Vec<_>>(),
    )
    .execute(&mut *tx)
    .await?;
    Ok(())
}

/// Sends the version in the works of `owner`'s assistant `id` for review. Refused unless it
/// could run (a model and text for every prompt) and the owner may still use what it names.
pub async fn submit(pool: &PgPool, owner: Uuid, id: Uuid) -> Result<(), AssistantError> {
    let version = open_version(pool, owner, id)
        .await?
        .ok_or(AssistantError::NotFound)?;
    match version.status {
        Status::Draft | Status::Rejected => {}
        Status::Pending => {
            return Err(AssistantError::State(
                "This version is already waiting for review.".into(),
            ));
        }
        Status::Approved | Status::Superseded => {
            return Err(AssistantError::State(
                "Nothing changed since the approved version.".into(),
            ));
        }
    }
    let mut found = unfinished(&version.definition);
    found.extend(access_problems(pool, owner, &version.definition).await?);
    if !found.is_empty() {
        return Err(AssistantError::Invalid(found));
    }
    let mut tx = pool.begin().await?;
    lock_owned(&mut tx, owner, id).await?;
    let done = sqlx::query!(
        r#"
        update assistant_versions set status = 'pending', submitted_at = now()
        where id = $1 and status in ('draft', 'rejected')
        "#,
        version.id
    )
    .execute(&mut *tx)
    .await?;
    if done.rows_affected() == 0 {
        return Err(AssistantError::State(
            "The assistant changed meanwhile; open it again.".into(),
        ));
    }
    tx.commit().await?;
    Ok(())
}

/// The version of `owner`'s assistant `id` that the builder shows: the one in the works, else
/// the approved one.
pub async fn open_version(
    pool: &PgPool,
    owner: Uuid,
    id: Uuid,
) -> Result<Option<Version>, AssistantError> {
    let found = sqlx::query_scalar!(
        r#"
        select v.id
        from assistant_versions as v
        join assistants as a on a.id = v.assistant_id
        where a.id = $1 and a.owner_id = $2
          and (v.status in ('draft', 'pending', 'rejected') or v.id = a.approved_version_id)
        order by v.number desc
        limit 1
        "#,
        id,
        owner
    )
    .fetch_optional(pool)
    .await?;
    match found {
        Some(version) => Ok(Some(read_version(pool, version).await?)),
        None => Ok(None),
    }
}

/// The approved version of assistant `id` if `user` may run it now: it is not disabled and
/// one of their roles grants its tool.
pub async fn runnable(
    pool: &PgPool,
    user: Uuid,
    id: Uuid,
) -> Result<Option<Version>, AssistantError> {
    let found = sqlx::query_scalar!(
        r#"
        select a.approved_version_id as "version!"
        from assistants as a
        where a.id = $1 and a.disabled_at is null and a.approved_version_id is not null
          and exists (
              select 1 from role_tools as rt
              join granted_roles as ur on ur.role_id = rt.role_id
              where rt.tool_id = a.tool_id and ur.user_id = $2
          )
        "#,
        id,
        user
    )
    .fetch_optional(pool)
    .await?;
    match found {
        Some(version) => Ok(Some(read_version(pool, version).await?)),
        None => Ok(None),
    }
}

/// The version `id` with its fields and prompts.
pub async fn read_version(pool: &PgPool, id: Uuid) -> sqlx::Result<Version> {
    let (head, fields, prompts) = tokio::try_join!(
        sqlx::query!(
            r#"
            select v.id, v.assistant_id, a.owner_id, v.number, v.status, v.name, v.description,
                   v.icon, v.category, v.share_knowledge, v.review_note, v.submitted_at,
                   v.reviewed_at
            from assistant_versions as v
            join assistants as a on a.id = v.assistant_id
            where v.id = $1
            "#,
            id
        )
        .fetch_one(pool),
        sqlx::query!(
            r#"
            select name, label, help, kind, required, options
            from assistant_fields where version_id = $1 order by position
            "#,
            id
        )
        .fetch_all(pool),
        sqlx::query!(
            r#"
            select key, name, content, system_context, model_id, repository_ids
            from assistant_prompts where version_id = $1 order by position
            "#,
            id
        )
        .fetch_all(pool),
    )?;
    let status = Status::parse(&head.status)
        .ok_or_else(|| sqlx::Error::Decode(format!("unknown status {}", head.status).into()))?;
    let fields = fields
        .into_iter()
        .map(|f| {
            Ok(Field {
                kind: FieldKind::parse(&f.kind).ok_or_else(|| {
                    sqlx::Error::Decode(format!("unknown field kind {}", f.kind).into())
                })?,
                name: f.name,
                label: f.label,
                help: f.help,
                required: f.required,
                options: f.options,
            })
        })
        .collect::<sqlx::Result<Vec<_>>>()?;
    Ok(Version {
        id: head.id,
        assistant_id: head.assistant_id,
        owner_id: head.owner_id,
        number: head.number,
        status,
        review_note: head.review_note,
        submitted_at: head.submitted_at,
        reviewed_at: head.reviewed_at,
        definition: Definition {
            name: head.name,
            description: head.description,
            icon: head.icon,
            category: head.category,
            share_knowledge: head.share_knowledge,
            fields,
            prompts: prompts
                .into_iter()
                .map(|p| Prompt {
                    key: p.key,
                    name: p.name,
                    content: p.content,
                    system: p.system_context,
                    model_id: p.model_id,
                    repositories: p.repository_ids,
                })
                .collect(),
        },
    })
}

/// Approves the pending version of assistant `id`: it becomes the version people run (the one
/// approved before is superseded), and the assistant's tool is granted to exactly `roles`.
pub async fn approve(
    pool: &PgPool,
    reviewer: Actor<'_>,
    id: Uuid,
    roles: &[Uuid],
) -> Result<(), AssistantError> {
    let mut tx = pool.begin().await?;
    let pending = lock_pending(&mut tx, id).await?;
    let before = sqlx::query_scalar!(
        r#"
        update assistant_versions set status = 'superseded'
        where id = (select approved_version_id from assistants where id = $1)
        returning number
        "#,
        id
    )
    .fetch_optional(&mut *tx)
    .await?;
    let version = sqlx::query!(
        r#"
        update assistant_versions
        set status = 'approved', reviewed_at = now(), reviewed_by = $2, review_note = null
        where id = $1
        returning number, name, description
        "#,
        pending,
        reviewer.user_id
    )
    .fetch_one(&mut *tx)
    .await?;
    // The tool is the assistant's, named as its approved version.
    let tool = sqlx::query_scalar!(
        r#"
        insert into tools (slug, name, description)
        values ('assistant-' || replace($1::uuid::text, '-', ''), $2, $3)
        on conflict (slug) do update set name = excluded.name, description = excluded.description
        returning id
        "#,
        id,
        version.name,
        version.description,
    )
    .fetch_one(&mut *tx)
    .await?;
    sqlx::query!(
        "update assistants set approved_version_id = $2, tool_id = $3 where id = $1",
        id,
        pending,
        tool
    )
    .execute(&mut *tx)
    .await?;
    sqlx::query!("delete from role_tools where tool_id = $1", tool)
        .execute(&mut *tx)
        .await?;
    let granted = sqlx::query_scalar!(
        r#"
        insert into role_tools (role_id, tool_id)
        select r.id, $2 from roles as r where r.id = any($1)
        returning role_id
        "#,
        roles,
        tool
    )
    .fetch_all(&mut *tx)
    .await?;
    if granted.len() != roles.iter().collect::<std::collections::HashSet<_>>().len() {
        return Err(AssistantError::Invalid(vec![
            "A role chosen no longer exists; reload and choose again.".into(),
        ]));
    }
    audit::record(
        &mut *tx,
        audit::Event {
            actor_user_id: Some(reviewer.user_id),
            action: "admin.assistant.approved",
            target_type: Some("assistant"),
            target_id: Some(id.to_string()),
            before: before.map(|number| serde_json::json!({ "version": number })),
            after: Some(serde_json::json!({
                "version": version.number,
                "name": version.name,
                "roles": granted,
            })),
            ip: reviewer.ip,
        },
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// Rejects the pending version of assistant `id` with `note` (what to change), which its
/// owner sees. The approved version, if any, keeps running.
pub async fn reject(
    pool: &PgPool,
    reviewer: Actor<'_>,
    id: Uuid,
    note: &str,
) -> Result<(), AssistantError> {
    let note = note.trim();
    if note.is_empty() || chars(note) > MAX_DESCRIPTION_CHARS {
        return Err(AssistantError::Invalid(vec![format!(
            "Say what to change, in 1 to {MAX_DESCRIPTION_CHARS} characters."
        )]));
    }
    let mut tx = pool.begin().await?;
    let pending = lock_pending(&mut tx, id).await?;
    let number = sqlx::query_scalar!(
        r#"
        update assistant_versions
        set status = 'rejected', reviewed_at = now(), reviewed_by = $2, review_note = $3
        where id = $1
        returning number
        "#,
        pending,
        reviewer.user_id,
        note
    )
    .fetch_one(&mut *tx)
    .await?;
    audit::record(
        &mut *tx,
        audit::Event {
            actor_user_id: Some(reviewer.user_id),
            action: "admin.assistant.rejected",
            target_type: Some("assistant"),
            target_id: Some(id.to_string()),
            before: None,
            after: Some(serde_json::json!({ "version": number, "note": note })),
            ip: reviewer.ip,
        },
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// Locks assistant `id` and returns its version waiting for review.
async fn lock_pending(tx: &mut PgConnection, id: Uuid) -> Result<Uuid, AssistantError> {
    sqlx::query_scalar!("select id from assistants where id = $1 for update", id)
        .fetch_optional(&mut *tx)
        .await?
        .ok_or(AssistantError::NotFound)?;
    sqlx::query_scalar!(
        "select id from assistant_versions where assistant_id = $1 and status = 'pending'",
        id
    )
    .fetch_optional(&mut *tx)
    .await?
    .ok_or_else(|| {
        AssistantError::State("No version of this assistant is waiting for review.".into())
    })
}

/// An assistant in a list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Summary {
    pub id: Uuid,
    pub owner_id: Uuid,
    pub owner_email: String,
    /// The newest version's name.
    pub name: String,
    pub icon: String,
    /// The newest version's status.
    pub status: Status,
    /// The number of the version people run, if one is approved.
    pub approved_number: Option<i32>,
    pub disabled: bool,
    pub updated_at: DateTime<Utc>,
}

/// Assistants, newest change first: `owner`'s own, or with `owner` `None` every assistant
/// (for administrators), optionally only those whose newest version has `status`.
pub async fn list(
    pool: &PgPool,
    owner: Option<Uuid>,
    status: Option<Status>,
) -> sqlx::Result<Vec<Summary>> {
    let rows = sqlx::query!(
        r#"
        select a.id, a.owner_id, u.email as owner_email, v.name, v.icon, v.status, v.updated_at,
               approved.number as "approved_number?", a.disabled_at is not null as "disabled!"
        from assistants as a
        join lateral (
            select name, icon, status, updated_at from assistant_versions
            where assistant_id = a.id order by number desc limit 1
        ) as v on true
        join users as u on u.id = a.owner_id
        left join assistant_versions as approved on approved.id = a.approved_version_id
        where ($1::uuid is null or a.owner_id = $1)
          and ($2::text is null or v.status = $2)
        order by v.updated_at desc, a.id
        "#,
        owner,
        status.map(Status::as_str),
    )
    .fetch_all(pool)
    .await?;
    rows.into_iter()
        .map(|row| {
            Ok(Summary {
                id: row.id,
                owner_id: row.owner_id,
                owner_email: row.owner_email,
                name: row.name,
                icon: row.icon,
                status: Status::parse(&row.status).ok_or_else(|| {
                    sqlx::Error::Decode(format!("unknown status {}", row.status).into())
                })?,
                approved_number: row.approved_number,
                disabled: row.disabled,
                updated_at: row.updated_at,
            })
        })
        .collect()
}

/// An assistant someone may run, as the catalog shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Runnable {
    pub id: Uuid,
    pub name: String,
    pub description: String,
    pub icon: String,
    /// Empty for none.
    pub category: String,
}

/// The assistants `user` may run now (approved, not disabled, granted to one of their roles),
/// by name.
pub async fn catalog(pool: &PgPool, user: Uuid) -> sqlx::Result<Vec<Runnable>> {
    sqlx::query_as!(
        Runnable,
        r#"
        select a.id, v.name, v.description, v.icon, v.category
        from assistants as a
        join assistant_versions as v on v.id = a.approved_version_id
        where a.disabled_at is null
          and exists (
              select 1 from role_tools as rt
              join granted_roles as ur on ur.role_id = rt.role_id
              where rt.tool_id = a.tool_id and ur.user_id = $1
          )
        order by lower(v.name), a.id
        "#,
        user
    )
    .fetch_all(pool)
    .await
}

/// The categories approved assistants use, by name: what the builder suggests, so the catalog
/// does not grow "Maths" beside "Mathematics".
pub async fn categories(pool: &PgPool) -> sqlx::Result<Vec<String>> {
    sqlx::query_scalar!(
        r#"
        select distinct v.category as "category!"
        from assistants as a
        join assistant_versions as v on v.id = a.approved_version_id
        where v.category <> '' and a.disabled_at is null
        order by 1
        "#
    )
    .fetch_all(pool)
    .await
}

/// The newest version of assistant `id` whoever owns it, for its reviewers.
pub async fn newest_version(pool: &PgPool, id: Uuid) -> sqlx::Result<Option<Version>> {
    let found = sqlx::query_scalar!(
        "select id from assistant_versions where assistant_id = $1 order by number desc limit 1",
        id
    )
    .fetch_optional(pool)
    .await?;
    match found {
        Some(version) => Ok(Some(read_version(pool, version).await?)),
        None => Ok(None),
    }
}

/// Disables assistant `id` (nobody runs it, its schedules stop finding it) or enables it again.
pub async fn set_disabled(
    pool: &PgPool,
    reviewer: Actor<'_>,
    id: Uuid,
    disabled: bool,
) -> Result<(), AssistantError> {
    let mut tx = pool.begin().await?;
    let changed = sqlx::query_scalar!(
        r#"
        update assistants
        set disabled_at = case when $2 then coalesce(disabled_at, now()) else null end
        where id = $1
        returning id
        "#,
        id,
        disabled
    )
    .fetch_optional(&mut *tx)
    .await?;
    if changed.is_none() {
        return Err(AssistantError::NotFound);
    }
    audit::record(
        &mut *tx,
        audit::Event {
            actor_user_id: Some(reviewer.user_id),
            action: if disabled {
                "admin.assistant.disabled"
            } else {
                "admin.assistant.enabled"
            },
            target_type: Some("assistant"),
            target_id: Some(id.to_string()),
            before: None,
            after: None,
            ip: reviewer.ip,
        },
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

#[cfg(test)]
mod tests;
