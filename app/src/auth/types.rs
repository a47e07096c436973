//! What the browser knows about the signed-in user.

use serde::{Deserialize, Serialize};

/// The signed-in user, their roles and the tools those grant.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CurrentUser {
    pub id: String,
    pub email: String,
    pub display_name: String,
    pub roles: Vec<String>,
    pub tools: Vec<String>,
}

impl CurrentUser {
    /// Whether one of the user's roles grants `tool`. For showing and hiding only: the
    /// server checks again on every request.
    pub fn can_use(&self, tool: &str) -> bool {
        self.tools.iter().any(|granted| granted == tool)
    }
}
