//! Notification server functions: the signed-in person's own only.

use leptos::{prelude::*, server_fn::codec::Json};

use super::types::NotificationRow;
use crate::error::AppError;

/// The person's newest notifications.
#[server(endpoint = "notifications/list", input = Json)]
pub async fn list_notifications() -> Result<Vec<NotificationRow>, AppError> {
    use studio_core::notifications;
    let user = crate::auth::ssr::require_user_id()?;
    let state = expect_context::<crate::ssr::AppState>();
    Ok(notifications::list(&state.pool, user)
        .await?
        .into_iter()
        .map(|n| NotificationRow {
            id: n.id.to_string(),
            title: n.title,
            body: n.body,
            link: n.run_id.map(|run| format!("/assistants/runs/{run}")),
            read: n.read_at.is_some(),
            when: crate::ssr::when(n.created_at),
        })
        .collect())
}

/// Marks notification `id` read, or all of the person's with `None`.
#[server(endpoint = "notifications/read", input = Json)]
pub async fn mark_read(id: Option<String>) -> Result<(), AppError> {
    use studio_core::notifications;
    let user = crate::auth::ssr::require_user_id()?;
    let state = expect_context::<crate::ssr::AppState>();
    let id = id.as_deref().map(crate::error::parse_id).transpose()?;
    notifications::mark_read(&state.pool, user, id).await?;
    Ok(())
}
