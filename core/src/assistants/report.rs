//! What administrators read of assistants' use: per assistant, over a period, its runs, the
//! people who ran it, the runs that failed, and the tokens and cost of every step's model call
//! (the usage records written under each run).

use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use serde::Serialize;
use sqlx::PgPool;
use uuid::Uuid;

/// One assistant's use in a period.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AssistantUsage {
    pub assistant_id: Uuid,
    /// Its newest version's name.
    pub name: String,
    pub runs: i64,
    pub people: i64,
    pub failed: i64,
    pub tokens: i64,
    /// US dollars.
    pub cost: Decimal,
}

/// Every assistant run since `since`, most costly first (then most run).
pub async fn usage(pool: &PgPool, since: DateTime<Utc>) -> sqlx::Result<Vec<AssistantUsage>> {
    sqlx::query_as!(
        AssistantUsage,
        r#"
        with runs as (
            select r.assistant_id, r.id, r.user_id, r.status
            from assistant_runs as r
            where r.created_at >= $1
        ), spent as (
            select u.assistant_run_id as run_id,
                   sum(u.input_tokens + u.output_tokens)::bigint as tokens,
                   sum(u.cost) as cost
            from usage_records as u
            join runs on runs.id = u.assistant_run_id
            group by u.assistant_run_id
        )
        select runs.assistant_id as "assistant_id!",
               (select v.name from assistant_versions as v
                where v.assistant_id = runs.assistant_id
                order by v.number desc limit 1) as "name!",
               count(*) as "runs!",
               count(distinct runs.user_id) as "people!",
               count(*) filter (where runs.status = 'failed') as "failed!",
               coalesce(sum(spent.tokens), 0)::bigint as "tokens!",
               coalesce(sum(spent.cost), 0) as "cost!"
        from runs
        left join spent on spent.run_id = runs.id
        group by runs.assistant_id
        order by 7 desc, 3 desc, 2
        "#,
        since
    )
    .fetch_all(pool)
    .await
}
