//! Where an item is on its way through the pipeline: the one list of its states.
//!
//! The database keeps the state as text (`knowledge_items.status`, whose check constraint
//! names the same values); Rust code speaks only of [`ItemStatus`].

use std::{fmt, str::FromStr};

use sqlx::{
    Decode, Encode, Postgres, Type,
    encode::IsNull,
    error::BoxDynError,
    postgres::{PgArgumentBuffer, PgTypeInfo, PgValueRef},
};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ItemStatus {
    /// A file the browser is sending straight to object storage; no job yet.
    Uploading,
    /// Waiting for a worker.
    Queued,
    /// Reading the text out of the document.
    Extracting,
    /// Recognising the text of pages without a text layer.
    Ocr,
    /// Cutting the text into chunks.
    Chunking,
    /// Turning chunks into vectors (also when the embedding model changed).
    Embedding,
    /// Searchable.
    Ready,
    /// Stopped with a reason (`knowledge_items.error`).
    Failed,
}

impl ItemStatus {
    /// Every state, in pipeline order.
    pub const ALL: [Self; 8] = [
        Self::Uploading,
        Self::Queued,
        Self::Extracting,
        Self::Ocr,
        Self::Chunking,
        Self::Embedding,
        Self::Ready,
        Self::Failed,
    ];

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

    /// Still on its way: neither searchable nor given up.
    pub fn is_working(self) -> bool {
        !matches!(self, Self::Ready | Self::Failed)
    }
}

impl fmt::Display for ItemStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A state the database holds that this code does not know.
#[derive(Debug, thiserror::Error)]
#[error("unknown item status {0:?}")]
pub struct UnknownStatus(pub String);

impl FromStr for ItemStatus {
    type Err = UnknownStatus;

    fn from_str(text: &str) -> Result<Self, UnknownStatus> {
        Self::ALL
            .into_iter()
            .find(|status| status.as_str() == text)
            .ok_or_else(|| UnknownStatus(text.to_owned()))
    }
}

impl Type<Postgres> for ItemStatus {
    fn type_info() -> PgTypeInfo {
        <&str as Type<Postgres>>::type_info()
    }

    fn compatible(ty: &PgTypeInfo) -> bool {
        <&str as Type<Postgres>>::compatible(ty)
    }
}

impl<'r> Decode<'r, Postgres> for ItemStatus {
    fn decode(value: PgValueRef<'r>) -> Result<Self, BoxDynError> {
        Ok(<&str as Decode<Postgres>>::decode(value)?.parse()?)
    }
}

impl Encode<'_, Postgres> for ItemStatus {
    fn encode_by_ref(&self, buf: &mut PgArgumentBuffer) -> Result<IsNull, BoxDynError> {
        <&str as Encode<Postgres>>::encode(self.as_str(), buf)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_state_reads_back_from_its_name_and_nothing_else_does() {
        for status in ItemStatus::ALL {
            assert_eq!(status.as_str().parse::<ItemStatus>().unwrap(), status);
        }
        assert!("Ready".parse::<ItemStatus>().is_err());
        assert!("done".parse::<ItemStatus>().is_err());
    }

    #[test]
    fn only_ready_and_failed_are_finished() {
        let working: Vec<_> = ItemStatus::ALL
            .into_iter()
            .filter(|s| s.is_working())
            .collect();
        assert_eq!(working.len(), 6);
        assert!(!ItemStatus::Ready.is_working() && !ItemStatus::Failed.is_working());
    }
}
