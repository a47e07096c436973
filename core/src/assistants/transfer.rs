//! Assistants exported as versioned JSON and imported on another install (or this one). A file
//! names models by their provider's model id (`gpt-4o-mini`), since ids differ between
//! installs; repositories are left out, as they belong to the install they live on. Imported
//! assistants belong to the importer and wait for review, or stay drafts when a model could
//! not be matched.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sqlx::PgPool;
use uuid::Uuid;

use super::store::{self, AssistantError, Definition, Field, Prompt};

/// The format this build writes and reads.
pub const FORMAT: u32 = 1;
/// The most assistants one file imports.
pub const MAX_IMPORT: usize = 100;

/// A file of exported assistants.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Export {
    pub format: u32,
    pub exported_at: DateTime<Utc>,
    pub assistants: Vec<Exported>,
}

/// One assistant as exported: its approved version, else its newest.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Exported {
    pub name: String,
    pub description: String,
    pub icon: String,
    /// Empty for none (and in files written before categories existed).
    #[serde(default)]
    pub category: String,
    pub share_knowledge: bool,
    pub fields: Vec<Field>,
    pub prompts: Vec<ExportedPrompt>,
}

/// A prompt as exported: the model by its provider's id.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExportedPrompt {
    pub key: String,
    pub name: String,
    pub content: String,
    pub system: Option<String>,
    /// The provider's model id, e.g. `gpt-4o-mini`.
    pub model: Option<String>,
}

/// What an import made of one assistant.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Imported {
    pub id: Uuid,
    pub name: String,
    pub status: store::Status,
    /// What the importer has to do before it can be submitted.
    pub notes: Vec<String>,
}

/// The assistants `ids` as a file (those that do not exist are left out).
pub async fn export(pool: &PgPool, ids: &[Uuid]) -> sqlx::Result<Export> {
    let versions = sqlx::query_scalar!(
        r#"
        select coalesce(a.approved_version_id, newest.id) as "version!"
        from assistants as a
        join lateral (
            select id from assistant_versions where assistant_id = a.id
            order by number desc limit 1
        ) as newest on true
        where a.id = any($1)
        order by array_position($1, a.id)
        "#,
        ids
    )
    .fetch_all(pool)
    .await?;
    let models = crate::models::list_models(pool).await?;
    let mut assistants = Vec::with_capacity(versions.len());
    for version in versions {
        let definition = store::read_version(pool, version).await?.definition;
        assistants.push(Exported {
            prompts: definition
                .prompts
                .into_iter()
                .map(|p| ExportedPrompt {
                    model: p.model_id.and_then(|id| {
                        models
                            .iter()
                            .find(|m| m.id == id)
                            .map(|m| m.model_key.clone())
                    }),
                    key: p.key,
                    name: p.name,
                    content: p.content,
                    system: p.system,
                })
                .collect(),
            name: definition.name,
            description: definition.description,
            icon: definition.icon,
            category: definition.category,
            share_knowledge: definition.share_knowledge,
            fields: definition.fields,
        });
    }
    Ok(Export {
        format: FORMAT,
        exported_at: Utc::now(),
        assistants,
    })
}

/// Imports `file` as `importer`'s assistants: each prompt gets the importer's usable model
/// with the same provider model id; each assistant is submitted for review when all its
/// prompts found one, else kept as a draft with a note. Refused whole, saving nothing, when the
/// file is of another format, holds too many, or any assistant in it could not be saved.
pub async fn import(
    pool: &PgPool,
    importer: Uuid,
    file: &Export,
) -> Result<Vec<Imported>, AssistantError> {
    if file.format != FORMAT {
        return Err(AssistantError::Invalid(vec![format!(
            "This file is in format {}; this version of AI Studio reads format {FORMAT}.",
            file.format
        )]));
    }
    if file.assistants.len() > MAX_IMPORT {
        return Err(AssistantError::Invalid(vec![format!(
            "A file imports at most {MAX_IMPORT} assistants; this one holds {}.",
            file.assistants.len()
        )]));
    }
    let usable = crate::models::models_for_user(pool, importer).await?;
    let mut plans = Vec::with_capacity(file.assistants.len());
    let mut problems = Vec::new();
    for exported in &file.assistants {
        let mut notes = Vec::new();
        let definition = Definition {
            name: exported.name.clone(),
            description: exported.description.clone(),
            icon: exported.icon.clone(),
            category: exported.category.clone(),
            share_knowledge: exported.share_knowledge,
            fields: exported.fields.clone(),
            prompts: exported
                .prompts
                .iter()
                .map(|p| {
                    let model = p
                        .model
                        .as_deref()
                        .and_then(|key| usable.iter().find(|m| m.model_key == key).map(|m| m.id));
                    if model.is_none() {
                        notes.push(format!(
                            "Choose a model for prompt \u{201c}{}\u{201d}{}.",
                            p.name,
                            p.model
                                .as_deref()
                                .map(|key| format!(" ({key} is not available to you)"))
                                .unwrap_or_default()
                        ));
                    }
                    Prompt {
                        key: p.key.clone(),
                        name: p.name.clone(),
                        content: p.content.clone(),
                        system: p.system.clone(),
                        model_id: model,
                        repositories: Vec::new(),
                    }
                })
                .collect(),
        };
        let wrong = store::problems(&definition);
        if !wrong.is_empty() {
            problems.push(format!(
                "\u{201c}{}\u{201d}: {}",
                definition.name.trim(),
                wrong.join(" ")
            ));
        }
        plans.push((definition, notes));
    }
    if !problems.is_empty() {
        return Err(AssistantError::Invalid(problems));
    }
    let mut imported = Vec::with_capacity(plans.len());
    for (definition, mut notes) in plans {
        let id = store::create(pool, importer, &definition).await?;
        notes.extend(store::unfinished(&definition).into_iter().filter(|note| {
            // Already said, with the model the file named.
            !note.starts_with("Choose a model")
        }));
        let status = if notes.is_empty() {
            store::submit(pool, importer, id).await?;
            store::Status::Pending
        } else {
            store::Status::Draft
        };
        imported.push(Imported {
            id,
            name: definition.name,
            status,
            notes,
        });
    }
    Ok(imported)
}
