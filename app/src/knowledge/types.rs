//! What the knowledge pages and their server functions exchange.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RepositoryView {
    pub id: String,
    pub name: String,
    pub description: String,
    pub is_public: bool,
    pub owner_name: String,
    /// The viewer owns it (and may change it).
    pub is_owner: bool,
    /// "Yours", "Shared with you" or "Public".
    pub access_label: String,
    pub item_count: i64,
    pub ready_count: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ItemView {
    pub id: String,
    /// file, url or text.
    pub kind: String,
    pub name: String,
    pub content_kind: Option<String>,
    pub size_bytes: i64,
    pub status: ItemStatus,
    pub progress_done: i32,
    pub progress_total: i32,
    pub error: Option<String>,
    pub chunk_count: i32,
    pub pages_without_text: Vec<i32>,
}

impl ItemView {
    /// Still on its way through the pipeline.
    pub fn is_working(&self) -> bool {
        !matches!(self.status, ItemStatus::Ready | ItemStatus::Failed)
    }
}

/// Where an item is in the pipeline, as the page shows it (the server's
/// `studio_core::knowledge::status::ItemStatus`, state for state).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ItemStatus {
    Uploading,
    Queued,
    Extracting,
    Ocr,
    Chunking,
    Embedding,
    Ready,
    Failed,
}

impl ItemStatus {
    /// The name the server uses (and tests find rows by, as `data-status`).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Uploading => "uploading",
            Self::Queued => "queued",
            Self::Extracting => "extracting",
            Self::Ocr => "ocr",
            Self::Chunking => "chunking",
            Self::Embedding => "embedding",
            Self::Ready => "ready",
            Self::Failed => "failed",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RepositoryDetail {
    pub repository: RepositoryView,
    pub items: Vec<ItemView>,
    /// The largest upload the server takes.
    pub max_upload_bytes: u64,
    /// Files go straight to object storage ([`DirectUpload`]) rather than through the server.
    pub direct_uploads: bool,
}

/// An upload the browser sends straight to object storage: `method` to `url` with `headers`,
/// then says it is done (`knowledge/finish-upload`) for the item `item`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DirectUpload {
    pub item: String,
    pub method: String,
    pub url: String,
    pub headers: Vec<(String, String)>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SharesView {
    pub user_emails: Vec<String>,
    pub role_names: Vec<String>,
    /// Every role there is, to choose from.
    pub roles: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChunkView {
    pub position: i32,
    pub content: String,
    pub location: Option<String>,
    pub token_count: i32,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HitView {
    pub chunk_id: String,
    pub item_id: String,
    pub item_name: String,
    pub repository_id: String,
    pub repository_name: String,
    pub position: i32,
    pub content: String,
    pub location: Option<String>,
    pub score: f32,
    pub semantic: Option<f32>,
    pub keyword: Option<f32>,
    pub matched_terms: Vec<String>,
}

/// `POST /api/knowledge/repositories/{id}/files` answers the new item's id.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UploadedItem {
    pub id: String,
}

/// The event `GET /api/knowledge/repositories/{id}/events` sends: the items as they are now.
pub const ITEMS_EVENT: &str = "items";

/// Why an upload of `name` is refused for its size.
pub fn too_large(name: &str, limit: u64) -> String {
    format!(
        "{name} is larger than the {} allowed.",
        human_size(i64::try_from(limit).unwrap_or(i64::MAX))
    )
}

/// A size for people: "930 B", "1.2 MB".
pub fn human_size(bytes: i64) -> String {
    const UNITS: [&str; 4] = ["KB", "MB", "GB", "TB"];
    if bytes < 1000 {
        return format!("{bytes} B");
    }
    let mut value = bytes as f64 / 1000.0;
    let mut unit = 0;
    while value >= 1000.0 && unit < UNITS.len() - 1 {
        value /= 1000.0;
        unit += 1;
    }
    if value < 10.0 {
        format!("{value:.1} {}", UNITS[unit])
    } else {
        format!("{value:.0} {}", UNITS[unit])
    }
}

#[cfg(test)]
mod tests {
    use super::human_size;

    #[test]
    fn sizes_read_naturally() {
        assert_eq!(human_size(0), "0 B");
        assert_eq!(human_size(999), "999 B");
        assert_eq!(human_size(1_234), "1.2 KB");
        assert_eq!(human_size(56_000), "56 KB");
        assert_eq!(human_size(100_000_000), "100 MB");
        assert_eq!(human_size(2_500_000_000), "2.5 GB");
    }
}
