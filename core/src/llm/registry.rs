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
use crate::{
    models::{self, ProviderConnection, ProviderKind},
    secrets::SecretBox,
};

/// Settings from the environment: keys used when a provider has none stored
/// (`OPENAI_API_KEY`, `GEMINI_API_KEY`; only ever sent to the provider's own service), the
/// built-in model's file (`LOCAL_MODEL_PATH`, default
/// `models/SmolLM2-135M-Instruct.Q4_1.gguf`), and the key that seals stored provider keys.
#[derive(Debug, Clone)]
pub struct EnvironmentKeys {
    pub openai: Option<SecretString>,
    pub gemini: Option<SecretString>,
    pub local_model: PathBuf,
    pub secrets: SecretBox,
}

impl Default for EnvironmentKeys {
    fn default() -> Self {
        Self {
            openai: None,
            gemini: None,
            local_model: PathBuf::new(),
            secrets: SecretBox::ephemeral(),
        }
    }
}

/// OpenAI's own API, the only place `OPENAI_API_KEY` is sent.
pub const OPENAI_OFFICIAL: &str = "https://api.openai.com/v1";
/// Google's Gemini API, the only place `GEMINI_API_KEY` is sent.
pub const GEMINI_OFFICIAL: &str = "https://generativelanguage.googleapis.com";

/// Whether the server's own credentials may go to a provider of `kind` at `base_url`: only
/// when it is the vendor's service (no base URL means that one). Anywhere else, the provider
/// needs a key of its own, so an administrator cannot point the server's key at another host.
pub fn may_use_server_credentials(kind: ProviderKind, base_url: Option<&str>) -> bool {
    let Some(base_url) = base_url else {
        return true;
    };
    let base_url = base_url.trim_end_matches('/');
    match kind {
        ProviderKind::OpenAi => base_url == OPENAI_OFFICIAL,
        ProviderKind::Gemini => {
            base_url == GEMINI_OFFICIAL || base_url.starts_with(&format!("{GEMINI_OFFICIAL}/"))
        }
        // The region's endpoint or a VPC interface endpoint, both run by AWS.
        ProviderKind::Bedrock => url::Url::parse(base_url).is_ok_and(|url| {
            url.scheme() == "https"
                && url.host_str().is_some_and(|host| {
                    (host.starts_with("bedrock-runtime.") && host.ends_with(".amazonaws.com"))
                        || host.ends_with(".vpce.amazonaws.com")
                })
        }),
        ProviderKind::Local => true,
    }
}

impl EnvironmentKeys {
    /// Reads the keys; a secrets key file may be made when `may_create_secrets_key` (see
    /// [`SecretBox::from_env`]).
    pub fn from_env(may_create_secrets_key: bool) -> anyhow::Result<Self> {
        let key = |name: &str| {
            std::env::var(name)
                .ok()
                .filter(|k| !k.trim().is_empty())
                .map(SecretString::from)
        };
        Ok(Self {
            openai: key("OPENAI_API_KEY"),
            gemini: key("GEMINI_API_KEY"),
            local_model: std::env::var_os("LOCAL_MODEL_PATH")
                .filter(|path| !path.is_empty())
                .map_or_else(|| PathBuf::from("models").join(SMOLLM2_FILE), PathBuf::from),
            secrets: SecretBox::from_env(may_create_secrets_key)?,
        })
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
    #[error(
        "the provider has its own address, so it needs its own key: the server's credentials go only to the vendor's service"
    )]
    NeedsOwnKey,
    #[error("the provider's stored key cannot be read: {0}")]
    Sealed(String),
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

    /// Seals and opens stored provider keys.
    pub fn secrets(&self) -> &SecretBox {
        &self.keys.secrets
    }

    async fn connection(
        &self,
        pool: &PgPool,
        id: Uuid,
    ) -> Result<ProviderConnection, RegistryError> {
        match models::provider_connection(pool, &self.keys.secrets, id).await {
            Ok(Some(connection)) => Ok(connection),
            Ok(None) => Err(RegistryError::NotFound),
            Err(err) => match err.downcast::<sqlx::Error>() {
                Ok(db) => Err(RegistryError::Database(db)),
                Err(other) => Err(RegistryError::Sealed(other.to_string())),
            },
        }
    }

    /// The guarded client for provider `id`, as its settings are now.
    pub async fn provider(&self, pool: &PgPool, id: Uuid) -> Result<Guarded, RegistryError> {
        let connection = self.connection(pool, id).await?;
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
        let connection = self.connection(pool, id).await?;
        if connection.kind != ProviderKind::OpenAi {
            return Err(RegistryError::NotListable);
        }
        let client = OpenAi::new(&OpenAiSettings {
            base_url: connection.base_url.clone(),
            api_key: self.key(&connection, self.keys.openai.as_ref()),
        })?;
        Ok(client.list_models().await?)
    }

    /// The provider's own key, else the server's when it may go there.
    fn key(
        &self,
        connection: &ProviderConnection,
        server_key: Option<&SecretString>,
    ) -> Option<SecretString> {
        connection.api_key.clone().or_else(|| {
            may_use_server_credentials(connection.kind, connection.base_url.as_deref())
                .then(|| server_key.cloned())
                .flatten()
        })
    }

    fn build(
        &self,
        connection: &ProviderConnection,
    ) -> Result<Arc<dyn ChatProvider>, RegistryError> {
        match connection.kind {
            ProviderKind::OpenAi => Ok(Arc::new(OpenAi::new(&OpenAiSettings {
                base_url: connection.base_url.clone(),
                api_key: self.key(connection, self.keys.openai.as_ref()),
            })?)),
            ProviderKind::Gemini => {
                let api_key = match self.key(connection, self.keys.gemini.as_ref()) {
                    Some(key) => key,
                    None if self.keys.gemini.is_some() => return Err(RegistryError::NeedsOwnKey),
                    None => return Err(RegistryError::MissingKey("GEMINI_API_KEY")),
                };
                Ok(Arc::new(Gemini::new(&GeminiSettings {
                    base_url: connection.base_url.clone(),
                    api_key,
                })?))
            }
            ProviderKind::Bedrock => {
                // Without a key of its own the AWS default chain signs (or a bearer token from
                // the environment goes along): only to AWS's own endpoints.
                if connection.api_key.is_none()
                    && !may_use_server_credentials(connection.kind, connection.base_url.as_deref())
                {
                    return Err(RegistryError::NeedsOwnKey);
                }
                Ok(Arc::new(Bedrock::new(BedrockSettings {
                    region: connection.region.clone(),
                    endpoint_url: connection.base_url.clone(),
                    api_key: connection.api_key.clone(),
                })))
            }
            ProviderKind::Local => Ok(Arc::new(self.local.clone())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn server_credentials_go_to_the_vendors_own_service_only() {
        use ProviderKind::*;
        assert!(may_use_server_credentials(OpenAi, None));
        assert!(may_use_server_credentials(
            OpenAi,
            Some("https://api.openai.com/v1/")
        ));
        assert!(!may_use_server_credentials(
            OpenAi,
            Some("http://10.0.0.5:11434/v1")
        ));
        assert!(!may_use_server_credentials(
            OpenAi,
            Some("https://api.openai.com.evil.example/v1")
        ));
        assert!(may_use_server_credentials(
            Gemini,
            Some("https://generativelanguage.googleapis.com/v1beta")
        ));
        assert!(!may_use_server_credentials(
            Gemini,
            Some("https://generativelanguage.googleapis.com.evil.example")
        ));
        assert!(may_use_server_credentials(
            Bedrock,
            Some("https://bedrock-runtime.eu-west-2.amazonaws.com")
        ));
        assert!(may_use_server_credentials(
            Bedrock,
            Some("https://vpce-0a1b.bedrock-runtime.us-east-1.vpce.amazonaws.com")
        ));
        assert!(!may_use_server_credentials(
            Bedrock,
            Some("http://127.0.0.1:4566")
        ));
        assert!(!may_use_server_credentials(
            Bedrock,
            Some("https://bedrock-runtime.evil.example")
        ));
    }
}
