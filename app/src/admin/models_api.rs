//! Server functions of the models page: providers, models, and model discovery. Each starts
//! with `require_tool("admin")`; provider keys go in, never out.

use leptos::{prelude::*, server_fn::codec::Json};

use super::types::{Catalogue, ModelForm, ProviderForm};
use crate::error::AppError;

#[cfg(feature = "ssr")]
mod convert {
    use rust_decimal::Decimal;
    use studio_core::models::{Model, ModelInput, Provider, ProviderInput, ProviderKind};

    use super::super::{
        api::support,
        types::{ModelForm, ProviderForm, ProviderKindView, ProviderView},
    };
    use crate::error::AppError;

    pub fn provider(p: Provider) -> ProviderView {
        ProviderView {
            id: p.id.to_string(),
            kind: p.kind.as_str().to_owned(),
            kind_label: p.kind.label().to_owned(),
            name: p.name,
            base_url: p.base_url,
            has_api_key: p.has_api_key,
            region: p.region,
        }
    }

    pub fn kinds() -> Vec<ProviderKindView> {
        ProviderKind::ALL
            .into_iter()
            .map(|k| ProviderKindView {
                kind: k.as_str().to_owned(),
                label: k.label().to_owned(),
            })
            .collect()
    }

    pub fn model(m: Model) -> ModelForm {
        ModelForm {
            id: m.id.to_string(),
            provider_id: m.provider_id.to_string(),
            model_key: m.model_key,
            display_name: m.display_name,
            description: m.description,
            supports_vision: m.supports_vision,
            supports_tools: m.supports_tools,
            supports_reasoning: m.supports_reasoning,
            context_tokens: m.context_tokens.map(|t| t.to_string()).unwrap_or_default(),
            max_output_tokens: m
                .max_output_tokens
                .map(|t| t.to_string())
                .unwrap_or_default(),
            input_price: m.input_price.normalize().to_string(),
            output_price: m.output_price.normalize().to_string(),
            cached_input_price: m.cached_input_price.normalize().to_string(),
            is_active: m.is_active,
            role_ids: m.role_ids.iter().map(ToString::to_string).collect(),
        }
    }

    /// A count [`ModelForm::first_problem`] accepted (empty: unknown).
    fn tokens(raw: &str) -> Option<i32> {
        raw.trim().replace([',', '_', ' '], "").parse().ok()
    }

    fn price(label: &str, raw: &str) -> Result<Decimal, AppError> {
        let raw = raw.trim().trim_start_matches('$');
        if raw.is_empty() {
            return Ok(Decimal::ZERO);
        }
        raw.parse::<Decimal>().map_err(|_| {
            AppError::Invalid(format!(
                "The {label} price must be a number of dollars, such as 0.15."
            ))
        })
    }

    /// The form as the catalogue takes it, or the first field it cannot save and why.
    pub fn model_input(form: &ModelForm) -> Result<ModelInput, AppError> {
        if let Some((_, why)) = form.first_problem() {
            return Err(AppError::Invalid(why));
        }
        Ok(ModelInput {
            provider_id: support::id(&form.provider_id)
                .map_err(|_| AppError::Invalid("Choose a provider for the model.".into()))?,
            model_key: form.model_key.clone(),
            display_name: form.display_name.clone(),
            description: form.description.clone(),
            supports_vision: form.supports_vision,
            supports_tools: form.supports_tools,
            supports_reasoning: form.supports_reasoning,
            context_tokens: tokens(&form.context_tokens),
            max_output_tokens: tokens(&form.max_output_tokens),
            input_price: price("input", &form.input_price)?,
            output_price: price("output", &form.output_price)?,
            cached_input_price: price("cached input", &form.cached_input_price)?,
            is_active: form.is_active,
            role_ids: form
                .role_ids
                .iter()
                .map(|id| support::id(id))
                .collect::<Result<_, _>>()?,
        })
    }

    pub fn provider_input(form: &ProviderForm) -> ProviderInput {
        ProviderInput {
            kind: form.kind.clone(),
            name: form.name.clone(),
            base_url: Some(form.base_url.clone()),
            api_key: Some(form.api_key.clone()),
            clear_api_key: form.clear_api_key,
            region: Some(form.region.clone()),
        }
    }

    /// `None` for a new record, else its id.
    pub fn existing(raw: &str) -> Result<Option<uuid::Uuid>, AppError> {
        if raw.trim().is_empty() {
            Ok(None)
        } else {
            support::id(raw).map(Some)
        }
    }
}

/// Providers, models and roles for the models page.
#[server(endpoint = "admin/models", input = Json)]
pub async fn get_catalogue() -> Result<Catalogue, AppError> {
    use studio_core::{accounts::admin, models};

    super::api::support::admin().await?;
    let state = expect_context::<crate::ssr::AppState>();
    Ok(Catalogue {
        providers: models::list_providers(&state.pool)
            .await?
            .into_iter()
            .map(convert::provider)
            .collect(),
        kinds: convert::kinds(),
        models: models::list_models(&state.pool)
            .await?
            .into_iter()
            .map(convert::model)
            .collect(),
        roles: admin::list_roles(&state.pool)
            .await?
            .into_iter()
            .map(|r| (r.id.to_string(), r.name))
            .collect(),
    })
}

/// Creates or updates a provider.
#[server(endpoint = "admin/models/provider/save", input = Json)]
pub async fn save_provider(form: ProviderForm) -> Result<(), AppError> {
    use super::api::support;
    let admin = support::admin().await?;
    let state = expect_context::<crate::ssr::AppState>();
    studio_core::models::save_provider(
        &state.pool,
        state.llm.secrets(),
        support::actor(&admin),
        convert::existing(&form.id)?,
        &convert::provider_input(&form),
    )
    .await?;
    Ok(())
}

#[server(endpoint = "admin/models/provider/delete", input = Json)]
pub async fn delete_provider(id: String) -> Result<(), AppError> {
    use super::api::support;
    let admin = support::admin().await?;
    let state = expect_context::<crate::ssr::AppState>();
    studio_core::models::delete_provider(&state.pool, support::actor(&admin), support::id(&id)?)
        .await?;
    Ok(())
}

/// The model ids an OpenAI-compatible provider (Ollama, vLLM, OpenAI) offers.
#[server(endpoint = "admin/models/provider/discover", input = Json)]
pub async fn discover_models(id: String) -> Result<Vec<String>, AppError> {
    use super::api::support;
    use studio_core::llm::registry::RegistryError;
    support::admin().await?;
    let state = expect_context::<crate::ssr::AppState>();
    match state.llm.discover(&state.pool, support::id(&id)?).await {
        Ok(ids) => Ok(ids),
        Err(RegistryError::NotFound) => Err(AppError::NotFound),
        Err(RegistryError::Database(err)) => Err(err.into()),
        Err(RegistryError::Client(err)) => {
            tracing::warn!(error = %err, "listing a provider's models failed");
            Err(AppError::Invalid(format!(
                "Could not list the provider's models: {}.",
                err.category()
            )))
        }
        Err(other) => Err(AppError::Invalid(format!(
            "Could not list the provider's models: {other}."
        ))),
    }
}

/// Creates or updates a model with its allowed roles.
#[server(endpoint = "admin/models/save", input = Json)]
pub async fn save_model(form: ModelForm) -> Result<(), AppError> {
    use super::api::support;
    let admin = support::admin().await?;
    let state = expect_context::<crate::ssr::AppState>();
    let input = convert::model_input(&form)?;
    studio_core::models::save_model(
        &state.pool,
        support::actor(&admin),
        convert::existing(&form.id)?,
        &input,
    )
    .await?;
    Ok(())
}

#[server(endpoint = "admin/models/delete", input = Json)]
pub async fn delete_model(id: String) -> Result<(), AppError> {
    use super::api::support;
    let admin = support::admin().await?;
    let state = expect_context::<crate::ssr::AppState>();
    studio_core::models::delete_model(&state.pool, support::actor(&admin), support::id(&id)?)
        .await?;
    Ok(())
}
