//! In-app notifications: what a person is told, read or not. Today a scheduled run's end
//! (finished or failed, mailed too when its schedule says so); each notification is created once however often its event is
//! handled. The database announces every change on [`CHANNEL`] with the person's id; one
//! [`Bell`] per server forwards those ids to the pages showing that person's unread count.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sqlx::PgPool;
use uuid::Uuid;

use url::Url;

use crate::{
    db::{Announced, Channel},
    mail::{outbox, templates},
};

/// The channel the migration's trigger notifies (payload: the person's id).
pub const CHANNEL: &str = "notifications";

/// A page of notifications holds at most this many.
pub const PAGE: i64 = 50;

/// How much of a run's output a notification quotes.
const QUOTED_CHARS: i32 = 280;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Notification {
    pub id: Uuid,
    /// `run_ended`, ...
    pub kind: String,
    pub title: String,
    pub body: String,
    /// The run it is about, if any.
    pub run_id: Option<Uuid>,
    pub read_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
}

/// Tells the person whose scheduled run `run_id` ended how it went: its schedule's name,
/// finished or failed, and the start of its last step's text or the reason it failed; and,
/// when the schedule mails its results, mails them the run's results with a link to it under
/// `public_url`, in the same transaction. Runs not from a schedule, and runs not ended, are
/// told of elsewhere (their own page). Returns the notification when one was created; each
/// run is told (and mailed) once however often this is called.
pub async fn run_ended(
    pool: &PgPool,
    run_id: Uuid,
    public_url: &Url,
) -> sqlx::Result<Option<Uuid>> {
    let mut tx = pool.begin().await?;
    let told = sqlx::query!(
        r#"
        insert into notifications (user_id, kind, title, body, run_id)
        select r.user_id, 'run_ended',
               left(case when r.status = 'succeeded'
                         then '“' || s.name || '” finished'
                         else '“' || s.name || '” failed' end, 300),
               left(coalesce(r.error, (
                   select left(st.output, $2) from assistant_run_steps st
                   where st.run_id = r.id and st.status = 'succeeded'
                   order by st.position desc limit 1
               ), ''), 2000),
               r.id
        from assistant_runs r
        join schedules s on s.id = r.schedule_id
        where r.id = $1 and r.status in ('succeeded', 'failed')
        on conflict (run_id, kind) where run_id is not null do nothing
        returning id, user_id
        "#,
        run_id,
        QUOTED_CHARS,
    )
    .fetch_optional(&mut *tx)
    .await?;
    let Some(told) = told else {
        return Ok(None);
    };
    let mailed = sqlx::query!(
        r#"
        select s.name, u.email, u.display_name, r.status = 'failed' as "failed!"
        from assistant_runs r
        join schedules s on s.id = r.schedule_id
        join users u on u.id = r.user_id
        where r.id = $1 and s.email and u.email_verified_at is not null
        "#,
        run_id
    )
    .fetch_optional(&mut *tx)
    .await?;
    if let Some(mailed) = mailed
        && let Some(run) = crate::assistants::events::read(pool, told.user_id, run_id).await?
    {
        let link = |path: &str| {
            public_url
                .join(path)
                .map_or_else(|_| public_url.to_string(), |url| url.to_string())
        };
        let mail = templates::schedule_result(
            &mailed.email,
            &mailed.display_name,
            &mailed.name,
            mailed.failed,
            &crate::assistants::results::markdown(&run),
            &link(&format!("/assistants/runs/{run_id}")),
            &link("/schedules"),
        );
        outbox::queue(&mut tx, &mail).await?;
    }
    tx.commit().await?;
    Ok(Some(told.id))
}

/// How many of `user`'s notifications are unread.
pub async fn unread(pool: &PgPool, user: Uuid) -> sqlx::Result<i64> {
    sqlx::query_scalar!(
        r#"select count(*) as "count!" from notifications where user_id = $1 and read_at is null"#,
        user
    )
    .fetch_one(pool)
    .await
}

/// `user`'s notifications, newest first, at most [`PAGE`].
pub async fn list(pool: &PgPool, user: Uuid) -> sqlx::Result<Vec<Notification>> {
    sqlx::query_as!(
        Notification,
        r#"
        select id, kind, title, body, run_id, read_at, created_at
        from notifications where user_id = $1
        order by created_at desc
        limit $2
        "#,
        user,
        PAGE
    )
    .fetch_all(pool)
    .await
}

/// Marks notification `id` of `user` read, or all of theirs with `None`. Returns how many
/// changed.
pub async fn mark_read(pool: &PgPool, user: Uuid, id: Option<Uuid>) -> sqlx::Result<u64> {
    let done = sqlx::query!(
        r#"
        update notifications set read_at = now()
        where user_id = $1 and read_at is null and ($2::uuid is null or id = $2)
        "#,
        user,
        id
    )
    .execute(pool)
    .await?;
    Ok(done.rows_affected())
}

/// The `notifications` channel (payload: the person's id).
#[derive(Debug)]
pub struct People;

impl Channel for People {
    const NAME: &'static str = CHANNEL;
}

/// The ids of people whose notifications changed, for the pages showing their unread count.
pub type Bell = Announced<People>;
