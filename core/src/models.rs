//! The model catalogue: providers (where models run, with credentials) and models (what
//! people pick), with the roles allowed to use each. Which models a user may use is decided
//! here, on the server, for the list they see and for every call.

use rust_decimal::Decimal;
use secrecy::SecretString;
use serde::Serialize;
use sqlx::{PgExecutor, PgPool};
use uuid::Uuid;

use crate::{
    accounts::admin::{Actor, AdminError},
    audit,
    secrets::SecretBox,
};

/// What kind of API a provider speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ProviderKind {
    /// OpenAI, or any OpenAI-compatible server (Ollama, vLLM, LM Studio).
    OpenAi,
    Gemini,
    Bedrock,
    /// The small model that runs inside this server.
    Local,
}

impl ProviderKind {
    pub const ALL: [Self; 4] = [Self::OpenAi, Self::Gemini, Self::Bedrock, Self::Local];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::OpenAi => "openai",
            Self::Gemini => "gemini",
            Self::Bedrock => "bedrock",
            Self::Local => "local",
        }
    }

    pub fn parse(raw: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == raw)
    }

    pub fn label(self) -> &'static str {
        match self {
            Self::OpenAi => "OpenAI or OpenAI-compatible",
            Self::Gemini => "Google Gemini",
            Self::Bedrock => "Amazon Bedrock",
            Self::Local => "Built-in",
        }
    }
}

/// A provider as admins see it: never the key itself, only whether one is stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Provider {
    pub id: Uuid,
    pub kind: ProviderKind,
    pub name: String,
    pub base_url: Option<String>,
    pub has_api_key: bool,
    pub region: Option<String>,
}

/// A provider with its secret, for building a client. Stays on the server.
#[derive(Debug, Clone)]
pub struct ProviderConnection {
    pub id: Uuid,
    pub kind: ProviderKind,
    pub base_url: Option<String>,
    pub api_key: Option<SecretString>,
    pub region: Option<String>,
    /// Changes when the settings do (clients built from them are rebuilt).
    pub updated_at: chrono::DateTime<chrono::Utc>,
}

/// What an admin submits for a provider.
#[derive(Debug, Clone, Default)]
pub struct ProviderInput {
    pub kind: String,
    pub name: String,
    pub base_url: Option<String>,
    /// `None` or blank keeps the stored key; see `clear_api_key`.
    pub api_key: Option<String>,
    pub clear_api_key: bool,
    pub region: Option<String>,
}

/// A model with everything the catalogue knows.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Model {
    pub id: Uuid,
    pub provider_id: Uuid,
    pub provider_name: String,
    pub provider_kind: ProviderKind,
    pub model_key: String,
    pub display_name: String,
    pub description: String,
    pub supports_vision: bool,
    pub supports_tools: bool,
    pub supports_reasoning: bool,
    pub context_tokens: Option<i32>,
    pub max_output_tokens: Option<i32>,
    /// US dollars per million tokens.
    pub input_price: Decimal,
    pub output_price: Decimal,
    pub cached_input_price: Decimal,
    pub is_active: bool,
    /// Roles allowed to use it.
    pub role_ids: Vec<Uuid>,
}

impl Model {
    /// The cost of a call in US dollars from the model's prices per million tokens.
    pub fn cost(&self, usage: &crate::llm::Usage) -> Decimal {
        let cached = usage.cached_input_tokens.min(usage.input_tokens);
        let million = Decimal::from(1_000_000u32);
        (Decimal::from(usage.input_tokens - cached) * self.input_price
            + Decimal::from(cached) * self.cached_input_price
            + Decimal::from(usage.output_tokens) * self.output_price)
            / million
    }
}

/// What an admin submits for a model.
#[derive(Debug, Clone, Default)]
pub struct ModelInput {
    pub provider_id: Uuid,
    pub model_key: String,
    pub display_name: String,
    pub description: String,
    pub supports_vision: bool,
    pub supports_tools: bool,
    pub supports_reasoning: bool,
    pub context_tokens: Option<i32>,
    pub max_output_tokens: Option<i32>,
    pub input_price: Decimal,
    pub output_price: Decimal,
    pub cached_input_price: Decimal,
    pub is_active: bool,
    pub role_ids: Vec<Uuid>,
}

fn refused(message: impl Into<String>) -> AdminError {
    AdminError::Refused(message.into())
}

fn clean(value: Option<String>) -> Option<String> {
    value.map(|v| v.trim().to_owned()).filter(|v| !v.is_empty())
}

struct CheckedProvider {
    kind: ProviderKind,
    name: String,
    base_url: Option<String>,
    region: Option<String>,
}

fn check_provider(input: &ProviderInput) -> Result<CheckedProvider, AdminError> {
    let kind =
        ProviderKind::parse(input.kind.trim()).ok_or_else(|| refused("Choose a provider type."))?;
    let name = input.name.trim().to_owned();
    if name.is_empty() || name.chars().count() > 100 {
        return Err(refused("Give the provider a name of 1 to 100 characters."));
    }
    let base_url = clean(input.base_url.clone());
    if let Some(url) = &base_url {
        let parsed = url::Url::parse(url)
            .map_err(|_| refused("The base URL must look like https://host/v1."))?;
        if !matches!(parsed.scheme(), "http" | "https") || !parsed.has_host() {
            return Err(refused("The base URL must start with http:// or https://."));
        }
    }
    // Only Bedrock has a region (`us-east-1`, `eu-central-2`, `us-gov-west-1`).
    let region = clean(input.region.clone())
        .filter(|_| kind == ProviderKind::Bedrock)
        .map(|r| r.to_ascii_lowercase());
    if let Some(region) = &region {
        let parts: Vec<&str> = region.split('-').collect();
        let well_formed = region.len() <= 50
            && parts.len() >= 3
            && parts
                .iter()
                .all(|p| !p.is_empty() && p.chars().all(|c| c.is_ascii_alphanumeric()))
            && parts
                .last()
                .is_some_and(|p| p.chars().all(|c| c.is_ascii_digit()));
        if !well_formed {
            return Err(refused("The AWS region must look like us-east-1."));
        }
    }
    Ok(CheckedProvider {
        kind,
        name,
        base_url: base_url.map(|u| u.trim_end_matches('/').to_owned()),
        region,
    })
}

fn provider_row(
    id: Uuid,
    kind: &str,
    name: String,
    base_url: Option<String>,
    has_api_key: bool,
    region: Option<String>,
) -> Provider {
    Provider {
        id,
        kind: ProviderKind::parse(kind).unwrap_or(ProviderKind::OpenAi),
        name,
        base_url,
        has_api_key,
        region,
    }
}

pub async fn list_providers(executor: impl PgExecutor<'_>) -> sqlx::Result<Vec<Provider>> {
    let rows = sqlx::query!(
        r#"
        select id, kind, name, base_url, api_key is not null as "has_api_key!", region
        from ai_providers
        order by lower(name)
        "#
    )
    .fetch_all(executor)
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| provider_row(r.id, &r.kind, r.name, r.base_url, r.has_api_key, r.region))
        .collect())
}

/// Creates a provider (`id` `None`) or updates one. A blank key keeps the stored one, unless
/// the base URL or the kind changes: a key goes only where it was entered for, so moving the
/// provider clears it unless a new one comes in the same save. Keys are stored sealed.
pub async fn save_provider(
    pool: &PgPool,
    secrets: &SecretBox,
    actor: Actor<'_>,
    id: Option<Uuid>,
    input: &ProviderInput,
) -> Result<Provider, AdminError> {
    let checked = check_provider(input)?;
    let typed_key = clean(input.api_key.clone());
    let row_id = id.unwrap_or_else(Uuid::new_v4);
    let context = key_context(row_id, checked.kind.as_str(), checked.base_url.as_deref());
    let new_key = typed_key.as_deref().map(|key| secrets.seal(key, &context));
    let mut tx = pool.begin().await?;
    let saved = match id {
        None => sqlx::query!(
            r#"
            insert into ai_providers (id, kind, name, base_url, api_key, region)
            values ($6, $1, $2, $3, $4, $5)
            returning id, kind, name, base_url, api_key is not null as "has_api_key!", region
            "#,
            checked.kind.as_str(),
            checked.name,
            checked.base_url,
            new_key,
            checked.region,
            row_id,
        )
        .fetch_one(&mut *tx)
        .await
        .map_err(AdminError::from)
        .map(|r| provider_row(r.id, &r.kind, r.name, r.base_url, r.has_api_key, r.region)),
        Some(id) => sqlx::query!(
            r#"
            update ai_providers
            set kind = $2, name = $3, base_url = $4, region = $6,
                api_key = case
                    when $5::text is not null then $5
                    when $7 then null
                    when kind <> $2 or base_url is distinct from $4 then null
                    else api_key
                end
            where id = $1
            returning id, kind, name, base_url, api_key is not null as "has_api_key!", region
            "#,
            id,
            checked.kind.as_str(),
            checked.name,
            checked.base_url,
            new_key,
            checked.region,
            input.clear_api_key,
        )
        .fetch_optional(&mut *tx)
        .await
        .map_err(AdminError::from)
        .and_then(|row| {
            row.map(|r| provider_row(r.id, &r.kind, r.name, r.base_url, r.has_api_key, r.region))
                .ok_or(AdminError::NotFound)
        }),
    };
    let saved = match saved {
        Err(AdminError::Database(sqlx::Error::Database(err))) if err.is_unique_violation() => {
            return Err(refused("Another provider already has that name."));
        }
        other => other?,
    };
    audit::record(
        &mut *tx,
        audit::Event {
            actor_user_id: Some(actor.user_id),
            action: if id.is_some() {
                "admin.provider.updated"
            } else {
                "admin.provider.created"
            },
            target_type: Some("ai_provider"),
            target_id: Some(saved.id.to_string()),
            // The key itself never reaches the log; only whether it changed.
            after: Some(serde_json::json!({
                "kind": saved.kind.as_str(),
                "name": saved.name,
                "base_url": saved.base_url,
                "region": saved.region,
                "api_key_changed": typed_key.is_some() || input.clear_api_key,
                "has_api_key": saved.has_api_key,
            })),
            ip: actor.ip,
            ..audit::Event::default()
        },
    )
    .await?;
    tx.commit().await?;
    Ok(saved)
}

/// Deletes a provider that no model uses.
pub async fn delete_provider(pool: &PgPool, actor: Actor<'_>, id: Uuid) -> Result<(), AdminError> {
    let mut tx = pool.begin().await?;
    let in_use = sqlx::query_scalar!(
        r#"select count(*) as "count!" from ai_models where provider_id = $1"#,
        id
    )
    .fetch_one(&mut *tx)
    .await?;
    if in_use > 0 {
        return Err(refused(format!(
            "{in_use} model(s) use this provider. Delete or move them first."
        )));
    }
    let name = sqlx::query_scalar!("delete from ai_providers where id = $1 returning name", id)
        .fetch_optional(&mut *tx)
        .await?
        .ok_or(AdminError::NotFound)?;
    audit::record(
        &mut *tx,
        audit::Event {
            actor_user_id: Some(actor.user_id),
            action: "admin.provider.deleted",
            target_type: Some("ai_provider"),
            target_id: Some(id.to_string()),
            before: Some(serde_json::json!({ "name": name })),
            ip: actor.ip,
            ..audit::Event::default()
        },
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// A provider with its secret opened, for calling it. A key that cannot be opened (the
/// server's `SECRETS_KEY` changed) is an error, not a missing key.
pub async fn provider_connection(
    executor: impl PgExecutor<'_>,
    secrets: &SecretBox,
    id: Uuid,
) -> anyhow::Result<Option<ProviderConnection>> {
    let row = sqlx::query!(
        "select id, kind, base_url, api_key, region, updated_at from ai_providers where id = $1",
        id
    )
    .fetch_optional(executor)
    .await?;
    let Some(r) = row else {
        return Ok(None);
    };
    let api_key = r
        .api_key
        .as_deref()
        .map(|k| secrets.open(k, &key_context(r.id, &r.kind, r.base_url.as_deref())))
        .transpose()?;
    Ok(Some(ProviderConnection {
        id: r.id,
        kind: ProviderKind::parse(&r.kind).unwrap_or(ProviderKind::OpenAi),
        base_url: r.base_url,
        api_key,
        region: r.region,
        updated_at: r.updated_at,
    }))
}

/// What a provider's sealed key is bound to: the provider, its kind and its address. A key
/// opens only for the row it was entered for, as it was then: a row whose address was changed
/// outside [`save_provider`] (which clears the key) no longer opens its key.
fn key_context(id: Uuid, kind: &str, base_url: Option<&str>) -> String {
    format!("provider {id} {kind} {}", base_url.unwrap_or("-"))
}

/// Seals provider keys stored in plain text (by a server from before keys were sealed).
/// Returns how many. Run at start.
pub async fn seal_stored_keys(pool: &PgPool, secrets: &SecretBox) -> sqlx::Result<u64> {
    let plain = sqlx::query!(
        r#"
        select id, kind, base_url, api_key as "api_key!"
        from ai_providers
        where api_key is not null and api_key not like 'v1:%'
        "#
    )
    .fetch_all(pool)
    .await?;
    for row in &plain {
        let context = key_context(row.id, &row.kind, row.base_url.as_deref());
        sqlx::query!(
            "update ai_providers set api_key = $2 where id = $1 and api_key = $3",
            row.id,
            secrets.seal(&row.api_key, &context),
            row.api_key,
        )
        .execute(pool)
        .await?;
    }
    Ok(plain.len() as u64)
}

fn check_model(input: &ModelInput) -> Result<(), AdminError> {
    let key = input.model_key.trim();
    if key.is_empty() || key.chars().count() > 200 {
        return Err(refused(
            "Enter the provider's model id (1 to 200 characters).",
        ));
    }
    let name = input.display_name.trim();
    if name.is_empty() || name.chars().count() > 100 {
        return Err(refused(
            "Give the model a display name of 1 to 100 characters.",
        ));
    }
    if input.description.chars().count() > 1000 {
        return Err(refused("Keep the description under 1000 characters."));
    }
    for (label, tokens) in [
        ("context window", input.context_tokens),
        ("maximum output", input.max_output_tokens),
    ] {
        if tokens.is_some_and(|t| t <= 0) {
            return Err(refused(format!(
                "The {label} must be a positive number of tokens."
            )));
        }
    }
    let top = Decimal::from(100_000);
    for price in [
        input.input_price,
        input.output_price,
        input.cached_input_price,
    ] {
        if price.is_sign_negative() || price > top {
            return Err(refused(
                "Prices are dollars per million tokens, from 0 to 100000.",
            ));
        }
    }
    Ok(())
}

/// Every model, for the admin page (`None`), or one.
async fn fetch_models(
    executor: impl PgExecutor<'_>,
    only: Option<Uuid>,
) -> sqlx::Result<Vec<Model>> {
    let rows = sqlx::query!(
        r#"
        select m.id, m.provider_id, p.name as provider_name, p.kind as provider_kind,
            m.model_key, m.display_name, m.description,
            m.supports_vision, m.supports_tools, m.supports_reasoning,
            m.context_tokens, m.max_output_tokens,
            m.input_price, m.output_price, m.cached_input_price, m.is_active,
            coalesce(
                (select array_agg(r.role_id order by r.role_id) from ai_model_roles as r where r.model_id = m.id),
                '{}'
            ) as "role_ids!"
        from ai_models as m
        join ai_providers as p on p.id = m.provider_id
        where $1::uuid is null or m.id = $1
        order by lower(m.display_name), m.id
        "#,
        only,
    )
    .fetch_all(executor)
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| Model {
            id: r.id,
            provider_id: r.provider_id,
            provider_name: r.provider_name,
            provider_kind: ProviderKind::parse(&r.provider_kind).unwrap_or(ProviderKind::OpenAi),
            model_key: r.model_key,
            display_name: r.display_name,
            description: r.description,
            supports_vision: r.supports_vision,
            supports_tools: r.supports_tools,
            supports_reasoning: r.supports_reasoning,
            context_tokens: r.context_tokens,
            max_output_tokens: r.max_output_tokens,
            input_price: r.input_price,
            output_price: r.output_price,
            cached_input_price: r.cached_input_price,
            is_active: r.is_active,
            role_ids: r.role_ids,
        })
        .collect())
}

pub async fn list_models(executor: impl PgExecutor<'_>) -> sqlx::Result<Vec<Model>> {
    fetch_models(executor, None).await
}

/// Creates a model (`id` `None`) or updates one, with its allowed roles.
pub async fn save_model(
    pool: &PgPool,
    actor: Actor<'_>,
    id: Option<Uuid>,
    input: &ModelInput,
) -> Result<Model, AdminError> {
    check_model(input)?;
    let mut tx = pool.begin().await?;
    let before = match id {
        Some(id) => Some(
            fetch_models(&mut *tx, Some(id))
                .await?
                .pop()
                .ok_or(AdminError::NotFound)?,
        ),
        None => None,
    };
    let provider_exists = sqlx::query_scalar!(
        r#"select exists (select 1 from ai_providers where id = $1) as "exists!""#,
        input.provider_id
    )
    .fetch_one(&mut *tx)
    .await?;
    if !provider_exists {
        return Err(refused("Choose a provider for the model."));
    }
    let saved_id = sqlx::query_scalar!(
        r#"
        insert into ai_models (
            id, provider_id, model_key, display_name, description,
            supports_vision, supports_tools, supports_reasoning,
            context_tokens, max_output_tokens,
            input_price, output_price, cached_input_price, is_active
        )
        values (coalesce($1, gen_random_uuid()), $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)
        on conflict (id) do update set
            provider_id = excluded.provider_id,
            model_key = excluded.model_key,
            display_name = excluded.display_name,
            description = excluded.description,
            supports_vision = excluded.supports_vision,
            supports_tools = excluded.supports_tools,
            supports_reasoning = excluded.supports_reasoning,
            context_tokens = excluded.context_tokens,
            max_output_tokens = excluded.max_output_tokens,
            input_price = excluded.input_price,
            output_price = excluded.output_price,
            cached_input_price = excluded.cached_input_price,
            is_active = excluded.is_active
        returning id
        "#,
        id,
        input.provider_id,
        input.model_key.trim(),
        input.display_name.trim(),
        input.description.trim(),
        input.supports_vision,
        input.supports_tools,
        input.supports_reasoning,
        input.context_tokens,
        input.max_output_tokens,
        input.input_price,
        input.output_price,
        input.cached_input_price,
        input.is_active,
    )
    .fetch_one(&mut *tx)
    .await;
    let saved_id = match saved_id {
        Err(sqlx::Error::Database(err)) if err.is_unique_violation() => {
            return Err(refused("This provider already has a model with that id."));
        }
        other => other?,
    };
    sqlx::query!("delete from ai_model_roles where model_id = $1", saved_id)
        .execute(&mut *tx)
        .await?;
    sqlx::query!(
        r#"
        insert into ai_model_roles (model_id, role_id)
        select $1, r.id from roles as r where r.id = any($2)
        "#,
        saved_id,
        &input.role_ids,
    )
    .execute(&mut *tx)
    .await?;
    let saved = fetch_models(&mut *tx, Some(saved_id))
        .await?
        .pop()
        .ok_or(AdminError::NotFound)?;
    audit::record(
        &mut *tx,
        audit::Event {
            actor_user_id: Some(actor.user_id),
            action: if before.is_some() {
                "admin.model.updated"
            } else {
                "admin.model.created"
            },
            target_type: Some("ai_model"),
            target_id: Some(saved.id.to_string()),
            before: before.map(|m| serde_json::to_value(m).unwrap_or_default()),
            after: Some(serde_json::to_value(&saved).unwrap_or_default()),
            ip: actor.ip,
        },
    )
    .await?;
    tx.commit().await?;
    Ok(saved)
}

pub async fn delete_model(pool: &PgPool, actor: Actor<'_>, id: Uuid) -> Result<(), AdminError> {
    let mut tx = pool.begin().await?;
    let before = fetch_models(&mut *tx, Some(id))
        .await?
        .pop()
        .ok_or(AdminError::NotFound)?;
    sqlx::query!("delete from ai_models where id = $1", id)
        .execute(&mut *tx)
        .await?;
    audit::record(
        &mut *tx,
        audit::Event {
            actor_user_id: Some(actor.user_id),
            action: "admin.model.deleted",
            target_type: Some("ai_model"),
            target_id: Some(id.to_string()),
            before: Some(serde_json::to_value(before).unwrap_or_default()),
            ip: actor.ip,
            ..audit::Event::default()
        },
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// The active models one of `user_id`'s roles allows, for the model picker.
pub async fn models_for_user(pool: &PgPool, user_id: Uuid) -> sqlx::Result<Vec<Model>> {
    let allowed = usable_ids(pool, user_id, None).await?;
    Ok(list_models(pool)
        .await?
        .into_iter()
        .filter(|m| allowed.contains(&m.id))
        .collect())
}

/// The model `model_id` if `user_id` may use it now (active, and one of their roles allowed).
/// Every call to a model goes through this.
pub async fn model_for_user(
    pool: &PgPool,
    user_id: Uuid,
    model_id: Uuid,
) -> sqlx::Result<Option<Model>> {
    // Both at once: a turn waits for this answer before anything else.
    let one = [model_id];
    let (allowed, mut found) = tokio::try_join!(
        usable_ids(pool, user_id, Some(&one)),
        fetch_models(pool, Some(model_id)),
    )?;
    Ok(found.pop().filter(|_| !allowed.is_empty()))
}

/// The models `user_id` may use now (active, and one of their roles allowed): all of them, or
/// those `among` the ids given.
pub async fn usable_ids(
    executor: impl sqlx::PgExecutor<'_>,
    user_id: Uuid,
    among: Option<&[Uuid]>,
) -> sqlx::Result<Vec<Uuid>> {
    if among.is_some_and(<[Uuid]>::is_empty) {
        return Ok(Vec::new());
    }
    sqlx::query_scalar!(
        r#"
        select distinct m.id
        from ai_models as m
        join ai_model_roles as mr on mr.model_id = m.id
        join granted_roles as ur on ur.role_id = mr.role_id
        where ur.user_id = $1 and m.is_active and ($2::uuid[] is null or m.id = any($2))
        "#,
        user_id,
        among as Option<&[Uuid]>,
    )
    .fetch_all(executor)
    .await
}

#[cfg(test)]
mod tests;

/// On a server whose catalogue has no model yet, adds the built-in model (provider "Built-in",
/// every role allowed) so a fresh install can chat at once. Returns whether it did. Does
/// nothing when the model file is missing (the log says where it was looked for) or while any
/// model exists.
pub async fn register_builtin(pool: &PgPool, file: &std::path::Path) -> sqlx::Result<bool> {
    use crate::llm::local::SMOLLM2_ID;

    let mut tx = pool.begin().await?;
    // Two servers starting at once register it once.
    sqlx::query!("select pg_advisory_xact_lock(hashtext('ai_models.register_builtin'))")
        .execute(&mut *tx)
        .await?;
    if sqlx::query_scalar!(r#"select exists (select 1 from ai_models) as "any!""#)
        .fetch_one(&mut *tx)
        .await?
    {
        return Ok(false);
    }
    if !file.is_file() {
        tracing::warn!(
            path = %file.display(),
            "the built-in model file is missing; no model is registered (scripts/setup.sh downloads it)"
        );
        return Ok(false);
    }
    let provider_id =
        match sqlx::query_scalar!("select id from ai_providers where kind = 'local' limit 1")
            .fetch_optional(&mut *tx)
            .await?
        {
            Some(id) => id,
            None => sqlx::query_scalar!(
                "insert into ai_providers (kind, name) values ('local', 'Built-in') returning id"
            )
            .fetch_one(&mut *tx)
            .await?,
        };
    let model_id = sqlx::query_scalar!(
        r#"
        insert into ai_models
            (provider_id, model_key, display_name, description, context_tokens, max_output_tokens)
        values ($1, $2, 'SmolLM2 135M (tiny demo)', $3, 4096, 512)
        returning id
        "#,
        provider_id,
        SMOLLM2_ID,
        "A tiny model that runs on this server's CPU, with no account and no network. \
         Good for trying things out; its answers are often wrong.",
    )
    .fetch_one(&mut *tx)
    .await?;
    sqlx::query!(
        "insert into ai_model_roles (model_id, role_id) select $1, id from roles",
        model_id
    )
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    tracing::info!(model = SMOLLM2_ID, "registered the built-in model");
    Ok(true)
}
