//! Usage records: one row per model call (a chat reply, a title, later a comparison side, an
//! assistant step or an API call), with its tokens, time and cost at the model's prices when
//! it was made. Reports and budgets read these rows; every caller writes them through
//! [`record`].

use std::time::Duration;

use rust_decimal::Decimal;
use sqlx::PgExecutor;
use uuid::Uuid;

use crate::{llm::Usage, models::Model};

/// One model call as it ended.
#[derive(Debug, Clone, Copy)]
pub struct Call<'a> {
    pub user_id: Uuid,
    pub model: &'a Model,
    /// `chat`, `title`, `compare`, `assistant`, ...
    pub feature: &'a str,
    pub conversation_id: Option<Uuid>,
    /// The reply the call wrote, when it wrote one.
    pub message_id: Option<Uuid>,
    /// The assistant run the call was a step of.
    pub assistant_run_id: Option<Uuid>,
    pub usage: &'a Usage,
    /// The provider did not count: the tokens are estimated from the text.
    pub estimated: bool,
    pub first_token: Option<Duration>,
    pub total: Duration,
    /// `complete`, `stopped` or `failed`.
    pub status: &'a str,
    pub error: Option<&'a str>,
}

/// A token count as an `integer` column holds it (a count past its range is saturated).
pub fn count(tokens: u64) -> i32 {
    i32::try_from(tokens).unwrap_or(i32::MAX)
}

/// Saves `call`'s usage record; returns its cost.
pub async fn record(executor: impl PgExecutor<'_>, call: Call<'_>) -> sqlx::Result<Decimal> {
    let cost = call.model.cost(call.usage);
    let millis = |d: Duration| i32::try_from(d.as_millis()).unwrap_or(i32::MAX);
    sqlx::query!(
        r#"
        insert into usage_records
            (user_id, model_id, model_key, provider_kind, feature, conversation_id,
             message_id, assistant_run_id, input_tokens, output_tokens, cached_input_tokens,
             tokens_estimated, first_token_ms, total_ms, cost, status, error)
        values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17)
        "#,
        call.user_id,
        call.model.id,
        call.model.model_key,
        call.model.provider_kind.as_str(),
        call.feature,
        call.conversation_id,
        call.message_id,
        call.assistant_run_id,
        count(call.usage.input_tokens),
        count(call.usage.output_tokens),
        count(call.usage.cached_input_tokens),
        call.estimated,
        call.first_token.map(millis),
        millis(call.total),
        cost,
        call.status,
        call.error,
    )
    .execute(executor)
    .await?;
    Ok(cost)
}
