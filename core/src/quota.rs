//! Storage quotas: what one user keeps (the knowledge files and pages they added, the images
//! and document text of their chats) against `STORAGE_QUOTA_MB`, checked before more is
//! accepted, with a message saying how full it is.

use sqlx::PgExecutor;
use uuid::Uuid;

/// The user's storage would go over their quota.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error(
    "Your storage is full: you keep {} MB of your {} MB. Delete files, repositories or conversations you no longer need, or ask an administrator for more room.",
    used.div_ceil(1_000_000),
    quota / 1_000_000
)]
pub struct QuotaFull {
    pub used: u64,
    pub quota: u64,
}

/// Bytes `user_id` keeps now.
pub async fn used_bytes(executor: impl PgExecutor<'_>, user_id: Uuid) -> sqlx::Result<u64> {
    let used = sqlx::query_scalar!(
        r#"
        select (
            coalesce((select sum(size_bytes) from knowledge_items where created_by = $1), 0)
            + coalesce((select sum(octet_length(data)) from message_images where user_id = $1), 0)
            + coalesce((select sum(octet_length(content)) from message_documents where user_id = $1), 0)
        )::bigint as "used!"
        "#,
        user_id,
    )
    .fetch_one(executor)
    .await?;
    Ok(u64::try_from(used).unwrap_or(0))
}

/// Refuses `incoming` more bytes when they would take `user_id` past `quota` (0: no quota).
pub async fn check(
    executor: impl PgExecutor<'_>,
    user_id: Uuid,
    incoming: u64,
    quota: u64,
) -> Result<(), QuotaError> {
    if quota == 0 {
        return Ok(());
    }
    let used = used_bytes(executor, user_id).await?;
    if used.saturating_add(incoming) > quota {
        return Err(QuotaError::Full(QuotaFull { used, quota }));
    }
    Ok(())
}

/// Why [`check`] refused.
#[derive(Debug, thiserror::Error)]
pub enum QuotaError {
    #[error(transparent)]
    Full(#[from] QuotaFull),
    #[error(transparent)]
    Database(#[from] sqlx::Error),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_message_says_how_full_it_is() {
        let full = QuotaFull {
            used: 1_999_500_001,
            quota: 2_000_000_000,
        };
        assert!(
            full.to_string()
                .starts_with("Your storage is full: you keep 2000 MB of your 2000 MB."),
            "{full}"
        );
    }

    #[sqlx::test(migrator = "crate::MIGRATOR")]
    async fn images_documents_and_knowledge_all_count(pool: sqlx::PgPool) {
        let user: Uuid = sqlx::query_scalar(
            "insert into users (email, display_name) values ('q@school.org', 'Q') returning id",
        )
        .fetch_one(&pool)
        .await
        .unwrap();
        assert_eq!(used_bytes(&pool, user).await.unwrap(), 0);
        sqlx::query(
            "insert into message_images (user_id, file_name, media_type, data) values ($1, 'a.png', 'image/png', $2)",
        )
        .bind(user)
        .bind(vec![0u8; 1000])
        .execute(&pool)
        .await
        .unwrap();
        sqlx::query(
            "insert into message_documents (user_id, file_name, content_kind, size_bytes, content) values ($1, 'a.pdf', 'pdf', 9999, $2)",
        )
        .bind(user)
        .bind("x".repeat(500))
        .execute(&pool)
        .await
        .unwrap();
        assert_eq!(used_bytes(&pool, user).await.unwrap(), 1500);
        assert!(check(&pool, user, 500, 2000).await.is_ok());
        let refused = check(&pool, user, 501, 2000).await.unwrap_err();
        assert!(matches!(
            refused,
            QuotaError::Full(QuotaFull {
                used: 1500,
                quota: 2000
            })
        ));
        assert!(
            check(&pool, user, u64::MAX, 0).await.is_ok(),
            "0 is no quota"
        );
    }
}
