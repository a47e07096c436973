//! The turn engine: everything between "this user asks this model this" and a reply being
//! written. It checks the model is the user's to call and can take what is sent (images), that
//! the provider has a working client, the knowledge repositories chosen, and the user's limits
//! (calls per minute, replies at once); saves the turn; puts the best knowledge sources first;
//! turns earlier images into words for a model that cannot see; caps a local model's output;
//! and starts the generation ([`super::live`]), which saves the reply and its usage and cost.
//!
//! The server's chat functions, and the worker or a schedule, start turns the same way: build
//! an [`Engine`] from what the process has, then [`Engine::begin`]. What comes back names the
//! reply; [`Engine::follow`] gives its text so far, every piece after and how it ended.

use std::{sync::Arc, time::Duration};

use futures::stream::BoxStream;
use sqlx::PgPool;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use super::{
    ChatError, ImageBudget, Started, Turn,
    live::{self, Generations, Job, Target, Update},
};
use crate::{
    knowledge::{embed::Embedder, repos::KnowledgeError, retrieval},
    limits::Guards,
    llm::{ChatRequest, Guarded, Message, Part, Role, registry::Registry},
    models::{self, ProviderKind},
};

/// The longest reply asked of a local model when its catalogue entry sets no limit: small
/// models on a laptop CPU run on otherwise.
pub const LOCAL_MAX_OUTPUT_TOKENS: u32 = 512;

/// What a process needs to run turns. Cheap to clone.
#[derive(Clone)]
pub struct Engine {
    pub pool: PgPool,
    /// Clients for the catalogue's providers.
    pub llm: Arc<Registry>,
    /// Replies being written in this process.
    pub generations: Arc<Generations>,
    /// The per-user limits on model calls and live replies.
    pub guards: Arc<Guards>,
    /// The model questions are embedded with to search knowledge.
    pub embedder: Embedder,
    /// Cancelled when the process stops: replies stop and keep what they have.
    pub shutdown: CancellationToken,
}

impl std::fmt::Debug for Engine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Engine")
            .field("generations", &self.generations)
            .finish_non_exhaustive()
    }
}

/// One turn asked for.
#[derive(Debug, Clone)]
pub struct Ask {
    pub user_id: Uuid,
    pub model_id: Uuid,
    pub turn: Turn,
    /// The knowledge repositories the conversation answers from from now on (`None`: those
    /// it had).
    pub repositories: Option<Vec<Uuid>>,
    /// `chat`, `compare`, `assistant`, ... for the usage record.
    pub feature: &'static str,
}

/// A turn saved and its reply being written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Begun {
    pub conversation_id: Uuid,
    /// The user's message just saved.
    pub message_id: Uuid,
    pub reply_id: Uuid,
}

/// Why a turn did not start. Nothing was saved, except after [`TurnError::Database`].
#[derive(Debug, thiserror::Error)]
pub enum TurnError {
    /// Something the user can change; the text says what.
    #[error("{0}")]
    Invalid(String),
    /// No such conversation or message for this user.
    #[error("not found")]
    NotFound,
    /// A limit of the user's was reached; `what` says which, `retry_after` when it frees.
    #[error("{what}")]
    TooMany { what: String, retry_after: Duration },
    #[error(transparent)]
    Database(#[from] sqlx::Error),
}

impl From<ChatError> for TurnError {
    fn from(err: ChatError) -> Self {
        match err {
            ChatError::Invalid(message) => Self::Invalid(message),
            ChatError::NotFound => Self::NotFound,
            ChatError::Database(err) => Self::Database(err),
        }
    }
}

impl From<KnowledgeError> for TurnError {
    fn from(err: KnowledgeError) -> Self {
        match err {
            KnowledgeError::Invalid(message) => Self::Invalid(message),
            KnowledgeError::NotFound => Self::NotFound,
            KnowledgeError::Forbidden => Self::Invalid(
                "A repository chosen for this chat is not available to you any more.".into(),
            ),
            KnowledgeError::Database(err) => Self::Database(err),
        }
    }
}

impl Engine {
    /// Checks, saves and starts one turn (see the module's documentation).
    pub async fn begin(&self, ask: Ask) -> Result<Begun, TurnError> {
        let Ask {
            user_id,
            model_id,
            turn,
            repositories,
            feature,
        } = ask;
        // Independent reads at once; the model's answer decides first.
        let (model, knowledge) = tokio::join!(
            models::model_for_user(&self.pool, user_id, model_id),
            self.check_knowledge(user_id, repositories.as_deref()),
        );
        let model = model?.ok_or_else(|| {
            TurnError::Invalid("You cannot use that model. Pick another one.".into())
        })?;
        let knowledge = knowledge?;
        if let Turn::Message { images, .. } = &turn
            && !images.is_empty()
            && !model.supports_vision
        {
            return Err(TurnError::Invalid(format!(
                "{} cannot read images. Pick a model that can, or send text only.",
                model.display_name
            )));
        }
        let new_conversation = matches!(
            turn,
            Turn::Message {
                conversation_id: None,
                ..
            }
        );
        // The repositories an existing conversation answers from.
        let known_conversation = match &turn {
            Turn::Message {
                conversation_id: Some(id),
                ..
            } if knowledge => Some(*id),
            _ => None,
        };
        let attached = async {
            match known_conversation {
                Some(id) => retrieval::conversation_repositories(&self.pool, user_id, id)
                    .await
                    .map(Some),
                None => Ok(None),
            }
        };
        // Both at once, before the transaction: a request never holds a connection while it
        // waits for another (many at once would wait on each other until the pool gave up).
        let (provider, attached) = tokio::join!(self.client(&model), attached);
        let provider = provider?;
        let attached = attached?;
        let guards = &self.guards;
        guards
            .ai_calls
            .check(&user_id)
            .map_err(|refused| TurnError::TooMany {
                what: "You are sending messages faster than this server allows".into(),
                retry_after: refused.retry_after,
            })?;
        let slot = guards
            .generations
            .try_hold(user_id)
            .ok_or_else(|| TurnError::TooMany {
                what: format!(
                    "You have {} replies being written already. Wait for one to finish, or stop one",
                    guards.generations.max()
                ),
                retry_after: Duration::from_secs(5),
            })?;
        let budget = ImageBudget {
            turns: guards.config.chat_image_turns,
            max_bytes: guards.config.chat_image_bytes,
        };
        let mut started = super::start_turn(&self.pool, user_id, model.id, turn, budget).await?;
        if knowledge {
            self.with_knowledge(
                user_id,
                &mut started,
                new_conversation,
                attached,
                repositories,
            )
            .await?;
        }
        if !model.supports_vision {
            // Images from earlier in the conversation: a model that cannot read them would
            // refuse the whole request. It is told one was there.
            for message in &mut started.history {
                for part in &mut message.parts {
                    if matches!(part, Part::Image { .. }) {
                        *part = Part::Text("(An image was attached here.)".into());
                    }
                }
            }
        }
        let max_output_tokens = max_output_tokens(&model);
        let begun = Begun {
            conversation_id: started.conversation_id,
            message_id: started.user_message_id,
            reply_id: started.reply_id,
        };
        self.generations.start(
            Job {
                pool: self.pool.clone(),
                provider: Arc::new(provider),
                request: ChatRequest {
                    model: model.model_key.clone(),
                    messages: started.history,
                    max_output_tokens,
                    temperature: None,
                },
                model,
                user_id,
                id: begun.reply_id,
                target: Target::Reply {
                    conversation_id: begun.conversation_id,
                },
                feature,
                slot: Some(slot),
            },
            &self.shutdown,
        );
        Ok(begun)
    }

    /// The client for `model`'s provider, or why the model cannot be used now.
    pub(crate) async fn client(&self, model: &models::Model) -> Result<Guarded, TurnError> {
        self.llm
            .provider(&self.pool, model.provider_id)
            .await
            .map_err(|err| {
                use crate::llm::registry::RegistryError;
                let why = match err {
                    RegistryError::Database(err) => return TurnError::Database(err),
                    RegistryError::Client(err) => err.category(),
                    other => {
                        tracing::warn!(error = %other, model.id = %model.id, "no client for the model's provider");
                        "its provider is not set up correctly".to_owned()
                    }
                };
                TurnError::Invalid(format!("{} cannot be used now: {why}.", model.display_name))
            })
    }

    /// Reply `reply_id` of `user_id`: what it has so far, every piece after and how it ended
    /// (see [`live::follow`]); `None` when it is not theirs.
    pub async fn follow(
        &self,
        user_id: Uuid,
        reply_id: Uuid,
    ) -> sqlx::Result<Option<BoxStream<'static, Update>>> {
        live::follow(&self.generations, &self.pool, user_id, reply_id).await
    }

    /// Whether the user may use knowledge in chat; refuses (before anything is saved)
    /// repositories they cannot use.
    async fn check_knowledge(
        &self,
        user_id: Uuid,
        repositories: Option<&[Uuid]>,
    ) -> Result<bool, TurnError> {
        let tools = crate::accounts::access::tool_slugs(&self.pool, user_id).await?;
        let allowed = tools.iter().any(|t| t == crate::knowledge::TOOL);
        let chosen = repositories.unwrap_or_default();
        if chosen.is_empty() {
            return Ok(allowed);
        }
        if !allowed {
            return Err(TurnError::Invalid(
                "You cannot use knowledge repositories; send the message without them.".into(),
            ));
        }
        if !crate::knowledge::repos::all_readable(&self.pool, user_id, chosen).await? {
            return Err(TurnError::Invalid(
                "A repository chosen for this chat is not available to you any more.".into(),
            ));
        }
        Ok(true)
    }

    /// When the conversation answers from knowledge repositories (and the user may still use
    /// them): the question's best chunks go first in the history as numbered sources, and
    /// the reply keeps them as its citations. A search that fails leaves the reply without
    /// sources rather than without an answer.
    ///
    /// `read_before` holds the repositories the conversation had when they were read
    /// beside the save.
    async fn with_knowledge(
        &self,
        user_id: Uuid,
        started: &mut Started,
        new_conversation: bool,
        read_before: Option<Vec<Uuid>>,
        repositories: Option<Vec<Uuid>>,
    ) -> Result<(), TurnError> {
        let conversation = started.conversation_id;
        let had = async {
            match read_before {
                Some(had) => Ok(had),
                // A new conversation starts with none.
                None if new_conversation => Ok(Vec::new()),
                None => {
                    retrieval::conversation_repositories(&self.pool, user_id, conversation).await
                }
            }
        };
        let attached = match repositories {
            Some(chosen) => {
                let now = had.await?;
                let same = now.len() == chosen.len() && chosen.iter().all(|id| now.contains(id));
                if !same {
                    retrieval::set_conversation_repositories(
                        &self.pool,
                        user_id,
                        conversation,
                        &chosen,
                    )
                    .await?;
                }
                chosen
            }
            None => had.await?,
        };
        if attached.is_empty() {
            return Ok(());
        }
        let question = last_question(&started.history);
        let hits =
            match retrieval::retrieve(&self.pool, &self.embedder, user_id, &attached, &question)
                .await
            {
                Ok(hits) => hits,
                Err(err) => {
                    tracing::warn!(error = %err, "knowledge search for a chat reply failed");
                    return Ok(());
                }
            };
        if hits.is_empty() {
            return Ok(());
        }
        retrieval::save_citations(&self.pool, started.reply_id, &hits).await?;
        started.history.insert(
            0,
            Message::text(Role::System, retrieval::instructions(&hits)),
        );
        Ok(())
    }
}

/// The most tokens a reply from `model` may have: its catalogue entry's limit, else a local
/// model's cap.
pub(crate) fn max_output_tokens(model: &models::Model) -> Option<u32> {
    model
        .max_output_tokens
        .and_then(|n| u32::try_from(n).ok())
        .or((model.provider_kind == ProviderKind::Local).then_some(LOCAL_MAX_OUTPUT_TOKENS))
}

/// The text of the last user message: what knowledge is searched for.
fn last_question(history: &[Message]) -> String {
    history
        .iter()
        .rev()
        .find(|m| m.role == Role::User)
        .map(|m| {
            m.parts
                .iter()
                .filter_map(|p| match p {
                    Part::Text(text) => Some(text.as_str()),
                    _ => None,
                })
                .collect::<Vec<_>>()
                .join("\n")
        })
        .unwrap_or_default()
}
