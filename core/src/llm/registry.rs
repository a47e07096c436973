//! Provider clients built from the catalogue's settings, kept per provider so that its
//! circuit breaker remembers failures across calls, and rebuilt when an admin changes them.

use std::{
    collections::HashMap,
    path::PathBuf,
    sync::{Arc, Mutex},
};

use secrecy::SecretString;
use sqlx::PgPool;
use uuid::Uuid;

use super::{
    ChatProvider, CircuitBreaker, Guarded, LlmError, RetryPolicy,
    bedrock::{Bedrock, BedrockSettings},
    gemini::{Gemini, GeminiSettings},
    local::{Local, SMOLLM2_FILE},
    openai::{OpenAi, OpenAiSettings},
};
use crate::models::{self, ProviderConnection, ProviderKind};

/// Settings from the environment: keys used when a provider has none stored
/// (`OPENAI_API_KEY`, `GEMINI_API_KEY`) and the built-in model's file (`LOCAL_MODEL_PATH`,
/// default `models/SmolLM2-135M-Instruct.Q4_1.gguf`).
#[derive(Debug, Clone, Default)]
pub struct EnvironmentKeys {
    pub openai: Option<SecretString>,
    pub gemini: Option<SecretString>,
    pub local_model: PathBuf,
}

impl EnvironmentKeys {
    pub fn from_env() -> Self {
        let key = |name: &str| {
            std::env::var(name)
                .ok()
                .filter(|k| !k.trim().is_empty())
                .map(SecretString::from)
        };
        Self {
            openai: key("OPENAI_API_KEY"),
            gemini: key("GEMINI_API_KEY"),
            local_model: std::env::var_os("LOCAL_MODEL_PATH")
                .filter(|path| !path.is_empty())
                .map_or_else(|| PathBuf::from("models").join(SMOLLM2_FILE), PathBuf::from),
        }
    }
}

/// Why no client could be had for a provider.
#[derive(Debug, thiserror::Error)]
pub enum RegistryError {
    #[error("the model's provider no longer exists")]
    NotFound,
    #[error("only OpenAI-compatible providers can list their models")]
    NotListable,
    #[error("the provider has no API key: set one in the admin settings or {0}")]
    MissingKey(&'static str),
    #[error(transparent)]
    Client(#[from] LlmError),
    #[error(transparent)]
    Database(#[from] sqlx::Error),
}

struct Entry {
    updated_at: chrono::DateTime<chrono::Utc>,
    provider: Guarded,
}

/// The clients. Cheap to share behind an `Arc`.
pub struct Registry {
    keys: EnvironmentKeys,
    /// The built-in model, loaded once whichever provider rows use it.
    local: Local,
    policy: RetryPolicy,
    entries: Mutex<HashMap<Uuid, Entry>>,
}

impl std::fmt::Debug for Registry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Registry").finish_non_exhaustive()
    }
}

impl Registry {
    pub fn new(keys: EnvironmentKeys, policy: RetryPolicy) -> Self {
        Self {
            local: Local::new(keys.local_model.clone()),
            keys,
            policy,
            entries: Mutex::default(),
        }
    }

    /// The guarded client for provider `id`, as its settings are now.
    pub async fn provider(&self, pool: &PgPool, id: Uuid) -> Result<Guarded, RegistryError> {
        let connection = models::provider_connection(pool, id)
            .await?
            .ok_or(RegistryError::NotFound)?;
        let mut entries = self
            .entries
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(entry) = entries.get(&id)
            && entry.updated_at == connection.updated_at
        {
            return Ok(entry.provider.clone());
        }
        let provider = Guarded::new(
            self.build(&connection)?,
            self.policy,
            CircuitBreaker::default(),
        );
        entries.insert(
            id,
            Entry {
                updated_at: connection.updated_at,
                provider: provider.clone(),
            },
        );
        Ok(provider)
    }

    /// Where the built-in model's file is expected.
    pub fn local_model(&self) -> &std::path::Path {
        self.local.path()
    }

    /// The model ids an OpenAI-compatible provider offers (for "discover models").
    pub async fn discover(&self, pool: &PgPool, id: Uuid) -> Result<Vec<String>, RegistryError> {
        let connection = models::provider_connection(pool, id)
            .await?
            .ok_or(RegistryError::NotFound)?;
        if connection.kind != ProviderKind::OpenAi {
            return Err(RegistryError::NotListable);
        }
        let client = OpenAi::new(&OpenAiSettings {
            base_url: connection.base_url.clone(),
            api_key: connection
                .api_key
                .clone()
                .or_else(|| self.keys.openai.clone()),
        })?;
        Ok(client.list_models().await?)
    }

    fn build(
        &self,
        connection: &ProviderConnection,
    ) -> Result<Arc<dyn ChatProvider>, RegistryError> {
        match connection.kind {
            ProviderKind::OpenAi => Ok(Arc::new(OpenAi::new(&OpenAiSettings {
                base_url: connection.base_url.clone(),
                api_key: connection
                    .api_key
                    .clone()
                    .or_else(|| self.keys.openai.clone()),
            })?)),
            ProviderKind::Gemini => {
                let api_key = connection
                    .api_key
                    .clone()
                    .or_else(|| self.keys.gemini.clone())
                    .ok_or(RegistryError::MissingKey("GEMINI_API_KEY"))?;
                Ok(Arc::new(Gemini::new(&GeminiSettings {
                    base_url: connection.base_url.clone(),
                    api_key,
                })?))
            }
            ProviderKind::Bedrock => Ok(Arc::new(Bedrock::new(BedrockSettings {
                region: connection.region.clone(),
                endpoint_url: connection.base_url.clone(),
                api_key: connection.api_key.clone(),
            }))),
            ProviderKind::Local => Ok(Arc::new(self.local.clone())),
        }
    }
}
