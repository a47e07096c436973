//! Notifications (see `studio_core::notifications`): what a person is told, read or not.
//!
//! - `bell`: the header's link to them with the unread count, kept live by `events`.
//! - `page`: `/notifications`, the newest ones; opening one marks it read.
//! - `api`: the server functions; `events`: the route that pushes the unread count.

pub(crate) mod api;
mod bell;
#[cfg(feature = "ssr")]
pub mod events;
mod page;
mod types;

pub use bell::Bell;
pub use page::NotificationsPage;
