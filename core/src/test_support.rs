//! What the database tests of several modules set up the same way.

use sqlx::PgPool;
use uuid::Uuid;

use crate::accounts::users;

/// A verified user `email` (named "Someone") holding `role`.
pub async fn person(pool: &PgPool, email: &str, role: &str) -> Uuid {
    let id: Uuid = sqlx::query_scalar(
        "insert into users (email, display_name, is_email_verified, email_verified_at) values ($1, 'Someone', true, now()) returning id",
    )
    .bind(email)
    .fetch_one(pool)
    .await
    .unwrap();
    users::grant_role_by_name(pool, id, role).await.unwrap();
    id
}

/// The id of role `name`.
pub async fn role(pool: &PgPool, name: &str) -> Uuid {
    sqlx::query_scalar("select id from roles where name = $1")
        .bind(name)
        .fetch_one(pool)
        .await
        .unwrap()
}
