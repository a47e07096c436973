//! Notifications (see `studio_core::notifications`): today the route that pushes a person's
//! unread count to their pages; the bell and the notifications page come on top.

#[cfg(feature = "ssr")]
pub mod events;
