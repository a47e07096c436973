//! Item changes as they happen, for pages showing a repository. The database announces every
//! change of a `knowledge_items` row on the `knowledge_items` channel (whoever made it: this
//! server's workers or a worker service elsewhere); one listener per server forwards the
//! repository ids to the pages subscribed.

use crate::db::{Announced, Channel};

/// The channel the migration's trigger notifies.
pub const CHANNEL: &str = "knowledge_items";

/// The `knowledge_items` channel (payload: the repository id).
#[derive(Debug)]
pub struct Items;

impl Channel for Items {
    const NAME: &'static str = CHANNEL;
}

/// Repository ids whose items changed.
pub type ItemEvents = Announced<Items>;
