//! The user's folders of conversations.

use sqlx::PgPool;
use uuid::Uuid;

use super::{ChatError, found, invalid};

/// A user's folder.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Folder {
    pub id: Uuid,
    pub name: String,
}

pub async fn folders(pool: &PgPool, user_id: Uuid) -> sqlx::Result<Vec<Folder>> {
    sqlx::query_as!(
        Folder,
        "select id, name from chat_folders where user_id = $1 order by lower(name)",
        user_id
    )
    .fetch_all(pool)
    .await
}

pub async fn create_folder(pool: &PgPool, user_id: Uuid, name: &str) -> Result<Uuid, ChatError> {
    let name = name.trim();
    if name.is_empty() || name.chars().count() > 100 {
        return Err(invalid("Give the folder a name of 1 to 100 characters."));
    }
    sqlx::query_scalar!(
        r#"
        insert into chat_folders (user_id, name) values ($1, $2)
        on conflict (user_id, lower(name)) do nothing
        returning id
        "#,
        user_id,
        name,
    )
    .fetch_optional(pool)
    .await?
    .ok_or_else(|| invalid(format!("You already have a folder called \"{name}\".")))
}

/// Deletes a folder; its conversations stay, outside any folder.
pub async fn delete_folder(pool: &PgPool, user_id: Uuid, id: Uuid) -> Result<(), ChatError> {
    let done = sqlx::query!(
        "delete from chat_folders where id = $1 and user_id = $2",
        id,
        user_id
    )
    .execute(pool)
    .await?;
    found(done.rows_affected())
}

/// Puts a conversation in one of the user's folders, or none.
pub async fn move_to_folder(
    pool: &PgPool,
    user_id: Uuid,
    id: Uuid,
    folder_id: Option<Uuid>,
) -> Result<(), ChatError> {
    let done = sqlx::query!(
        r#"
        update conversations set folder_id = $3
        where id = $1 and user_id = $2
          and ($3::uuid is null or exists (select 1 from chat_folders where id = $3 and user_id = $2))
        "#,
        id,
        user_id,
        folder_id,
    )
    .execute(pool)
    .await?;
    found(done.rows_affected())
}
