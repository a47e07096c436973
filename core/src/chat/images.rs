//! Images a user attaches to a message, kept until sent (or for a day).

use sqlx::PgPool;
use uuid::Uuid;

use super::{ChatError, invalid};

/// The largest image a message may carry, and how many.
pub const MAX_IMAGE_BYTES: usize = 20 * 1024 * 1024;
pub const MAX_IMAGES: usize = 4;

/// Keeps an image the user is about to send (PNG, JPEG, WebP or GIF, told by its content, not
/// its name) and returns its id for [`Turn::Message`]. Images uploaded but never sent are
/// dropped after a day.
pub async fn upload_image(
    pool: &PgPool,
    user_id: Uuid,
    file_name: &str,
    data: &[u8],
) -> Result<Uuid, ChatError> {
    let name: String = file_name.trim().chars().take(200).collect();
    let shown = if name.is_empty() {
        "The file"
    } else {
        name.as_str()
    };
    if data.is_empty() {
        return Err(invalid(format!("{shown} is empty.")));
    }
    if data.len() > MAX_IMAGE_BYTES {
        return Err(invalid(format!(
            "{shown} is larger than {} MB.",
            MAX_IMAGE_BYTES / 1024 / 1024
        )));
    }
    let media_type = infer::get(data)
        .map(|kind| kind.mime_type())
        .filter(|mime| ["image/png", "image/jpeg", "image/webp", "image/gif"].contains(mime))
        .ok_or_else(|| invalid(format!("{shown} is not a PNG, JPEG, WebP or GIF image.")))?;
    sqlx::query!(
        r#"
        delete from message_images
        where user_id = $1 and message_id is null and created_at < now() - interval '1 day'
        "#,
        user_id
    )
    .execute(pool)
    .await?;
    Ok(sqlx::query_scalar!(
        r#"
        insert into message_images (user_id, file_name, media_type, data)
        values ($1, $2, $3, $4) returning id
        "#,
        user_id,
        name,
        media_type,
        data,
    )
    .fetch_one(pool)
    .await?)
}

/// An image the user uploaded (sent or not): its type and bytes.
pub async fn image(
    pool: &PgPool,
    user_id: Uuid,
    id: Uuid,
) -> sqlx::Result<Option<(String, Vec<u8>)>> {
    Ok(sqlx::query!(
        "select media_type, data from message_images where id = $1 and user_id = $2",
        id,
        user_id
    )
    .fetch_optional(pool)
    .await?
    .map(|r| (r.media_type, r.data)))
}
