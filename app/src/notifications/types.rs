//! What the notification pages and their server functions exchange.

use serde::{Deserialize, Serialize};

/// A notification as the page lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NotificationRow {
    pub id: String,
    pub title: String,
    pub body: String,
    /// Where it leads (a run's page), if anywhere.
    pub link: Option<String>,
    pub read: bool,
    pub when: String,
}

/// The name of the event that carries the unread count.
pub const UNREAD: &str = "unread";

/// The unread count the events route pushes (`{"count": n}`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Unread {
    pub count: i64,
}
