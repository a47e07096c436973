//! What every object store shares ([`super::storage`] and [`super::s3`]): the bytes read back,
//! the errors, and counting an upload's body against its limit.

use futures::stream::BoxStream;

/// An object's bytes, as read for a download.
pub type ObjectStream = BoxStream<'static, std::io::Result<bytes::Bytes>>;

#[derive(Debug, thiserror::Error)]
pub enum StorageError {
    /// The upload is larger than allowed; nothing was kept.
    #[error("the file is larger than {limit} bytes")]
    TooLarge { limit: u64 },
    #[error("no object at {0}")]
    NotFound(String),
    #[error("invalid storage key {0:?}")]
    BadKey(String),
    /// The upload's body failed (the client went away).
    #[error("the upload was interrupted: {0}")]
    Interrupted(String),
    #[error("storage failed: {0}")]
    Io(#[from] std::io::Error),
    /// The object store answered with an error, or could not be reached.
    #[error("storage failed: {0}")]
    Backend(String),
}

/// What a store wrote: the size and the first bytes.
#[derive(Debug, Clone)]
pub struct Stored {
    pub size: u64,
    pub head: Vec<u8>,
}

/// Counts an upload's bytes against its limit and keeps its first bytes, piece by piece: what
/// every store does with a body it writes.
pub(super) struct Intake {
    limit: u64,
    head_len: usize,
    size: u64,
    head: Vec<u8>,
}

impl Intake {
    pub(super) fn new(limit: u64, head_len: usize) -> Self {
        Self {
            limit,
            head_len,
            size: 0,
            head: Vec::with_capacity(head_len),
        }
    }

    /// The body's next piece, refused once the body breaks off or runs over the limit.
    pub(super) fn take<E: std::fmt::Display>(
        &mut self,
        piece: Result<bytes::Bytes, E>,
    ) -> Result<bytes::Bytes, StorageError> {
        let piece = piece.map_err(|err| StorageError::Interrupted(err.to_string()))?;
        self.size += piece.len() as u64;
        if self.size > self.limit {
            return Err(StorageError::TooLarge { limit: self.limit });
        }
        if self.head.len() < self.head_len {
            let take = (self.head_len - self.head.len()).min(piece.len());
            self.head.extend_from_slice(&piece[..take]);
        }
        Ok(piece)
    }

    pub(super) fn stored(self) -> Stored {
        Stored {
            size: self.size,
            head: self.head,
        }
    }
}
