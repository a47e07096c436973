//! Taking in what people add: every way a file or page arrives passes the same checks, in the
//! same order, here.
//!
//! A knowledge item comes through the server's upload route ([`Intake::upload`]), straight to
//! the bucket ([`Intake::begin_direct`], then [`Intake::finish_direct`]), as pasted text
//! ([`Intake::text`]) or as a web address ([`Intake::web_page`]); a chat document is received
//! by [`Intake::document`]. Each checks the owner, the size limit, the storage quota and the
//! first bytes before anything is queued, and leaves nothing behind when it refuses (a
//! stored file is removed with its item).

use futures::Stream;
use sqlx::PgPool;
use uuid::Uuid;

use super::{
    extract,
    objects::{StorageError, Stored},
    pipeline::Pipeline,
    queue::UploadQueue,
    repos::{self, ItemKind, KnowledgeError, MAX_TEXT_CHARS, NewItem},
    s3::PresignedUpload,
    storage::{self, Storage},
    web::{self, FetchError},
};
use crate::quota::{self, QuotaError, QuotaFull};

/// Bytes of the start of a file looked at to tell what it is.
pub const SNIFF_BYTES: usize = 8192;

/// How long a direct upload's signed address is good for.
pub const DIRECT_UPLOAD_TTL: std::time::Duration = std::time::Duration::from_secs(15 * 60);

/// Why something was not taken in. Everything but [`IntakeError::Failed`] is for the person
/// who sent it.
#[derive(Debug, thiserror::Error)]
pub enum IntakeError {
    /// No such repository, not theirs to change, or a name they can correct.
    #[error(transparent)]
    Knowledge(#[from] KnowledgeError),
    #[error("{name} is larger than the {} allowed.", size_text(*limit))]
    TooLarge { name: String, limit: u64 },
    #[error(transparent)]
    QuotaFull(#[from] QuotaFull),
    /// Plainly not a document (by its first bytes).
    #[error("{0}")]
    Unsupported(String),
    /// Something else the sender can correct: empty text, a refused address, a file that did
    /// not arrive.
    #[error("{0}")]
    Invalid(String),
    #[error("The upload was interrupted.")]
    Interrupted,
    /// Storage or the database failed; worth another try.
    #[error(transparent)]
    Failed(anyhow::Error),
}

impl From<sqlx::Error> for IntakeError {
    fn from(err: sqlx::Error) -> Self {
        Self::Knowledge(KnowledgeError::Database(err))
    }
}

impl From<QuotaError> for IntakeError {
    fn from(err: QuotaError) -> Self {
        match err {
            QuotaError::Full(full) => Self::QuotaFull(full),
            QuotaError::Database(err) => err.into(),
        }
    }
}

/// A size as people read it, as the browser's pages write it: "930 B", "5.0 MB", "100 MB".
fn size_text(bytes: u64) -> String {
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

/// A file name as the browser gave it, made safe to keep and show: only the last part of a
/// path, no control characters, at most 255 characters; `upload` when nothing is left.
pub fn clean_file_name(given: &str) -> String {
    let base = given.rsplit(['/', '\\']).next().unwrap_or_default();
    let clean: String = base.chars().filter(|c| !c.is_control()).take(255).collect();
    if clean.trim().is_empty() {
        "upload".to_owned()
    } else {
        clean.trim().to_owned()
    }
}

/// What taking something in needs: where it goes and how far it may go.
#[derive(Debug, Clone, Copy)]
pub struct Intake<'a> {
    pub pipeline: &'a Pipeline,
    /// The largest file.
    pub max_upload_bytes: u64,
    /// What one person may keep in all (0: no quota).
    pub quota_bytes: u64,
    pub upload_queue: &'a UploadQueue,
}

impl Intake<'_> {
    fn pool(&self) -> &PgPool {
        &self.pipeline.pool
    }

    fn storage(&self) -> &Storage {
        &self.pipeline.storage
    }

    fn too_large(&self, name: &str) -> IntakeError {
        IntakeError::TooLarge {
            name: name.to_owned(),
            limit: self.max_upload_bytes,
        }
    }

    /// Whether a stored object of `size` bytes is within the upload limit.
    pub fn fits(&self, size: u64) -> bool {
        size <= self.max_upload_bytes
    }

    async fn check_quota(&self, user: Uuid, incoming: u64) -> Result<(), IntakeError> {
        Ok(quota::check(self.pool(), user, incoming, self.quota_bytes).await?)
    }

    /// Removes what was stored for an item that was refused after all.
    async fn forget(&self, repository: Uuid, item: Uuid) {
        let prefix = storage::item_prefix(repository, item);
        if let Err(err) = self.storage().delete_prefix(&prefix).await {
            tracing::warn!(error = %err, prefix, "could not remove stored files");
        }
    }

    /// A file whose bytes come through the server (`declared`: the length the sender
    /// announced, if any), stored and queued as a new item of `repository`.
    pub async fn upload<S, E>(
        &self,
        user: Uuid,
        repository: Uuid,
        name: &str,
        declared: Option<u64>,
        body: S,
    ) -> Result<Uuid, IntakeError>
    where
        S: Stream<Item = Result<bytes::Bytes, E>> + Unpin,
        E: std::fmt::Display,
    {
        let name = clean_file_name(name);
        repos::check_can_add(self.pool(), user, repository).await?;
        if declared.is_some_and(|size| !self.fits(size)) {
            return Err(self.too_large(&name));
        }
        self.check_quota(user, declared.unwrap_or(0)).await?;
        let item = Uuid::new_v4();
        let key = storage::original_key(repository, item);
        let stored = self
            .storage()
            .put_stream(&key, body, self.max_upload_bytes, SNIFF_BYTES)
            .await
            .map_err(|err| self.storage_refusal(&name, err))?;
        let added = async {
            // A body without a declared length is measured where it landed.
            if declared.is_none() {
                self.check_quota(user, stored.size).await?;
            }
            extract::precheck(&stored.head, &name)
                .map_err(|err| IntakeError::Unsupported(err.to_string()))?;
            let new = NewItem {
                id: item,
                kind: ItemKind::File,
                name: name.clone(),
                storage_key: Some(key),
                size_bytes: i64::try_from(stored.size).unwrap_or(i64::MAX),
            };
            Ok::<_, IntakeError>(repos::add_item(self.pool(), user, repository, &new).await?)
        }
        .await;
        if added.is_err() {
            self.forget(repository, item).await;
        }
        added.map(|()| item)
    }

    fn storage_refusal(&self, name: &str, err: StorageError) -> IntakeError {
        match err {
            StorageError::TooLarge { .. } => self.too_large(name),
            StorageError::Interrupted(reason) => {
                tracing::info!(reason, "an upload was interrupted");
                IntakeError::Interrupted
            }
            err => IntakeError::Failed(anyhow::Error::new(err).context("could not store a file")),
        }
    }

    /// A file the browser will send straight to object storage: the item waits as
    /// `uploading`, with no job, until [`Intake::finish_direct`]. `None` when the storage
    /// takes no direct uploads (the upload route is the way then).
    pub async fn begin_direct(
        &self,
        user: Uuid,
        repository: Uuid,
        name: &str,
        size: u64,
    ) -> Result<Option<(Uuid, PresignedUpload)>, IntakeError> {
        let name = clean_file_name(name);
        repos::check_can_add(self.pool(), user, repository).await?;
        if !self.fits(size) {
            return Err(self.too_large(&name));
        }
        self.check_quota(user, size).await?;
        let item = Uuid::new_v4();
        let key = storage::original_key(repository, item);
        let presigned = match self
            .storage()
            .presign_put(&key, size, DIRECT_UPLOAD_TTL)
            .await
        {
            Ok(Some(presigned)) => presigned,
            Ok(None) => return Ok(None),
            // Over what one PUT takes (only with a limit configured above it).
            Err(StorageError::TooLarge { limit }) => {
                return Err(IntakeError::TooLarge { name, limit });
            }
            Err(err) => {
                return Err(IntakeError::Failed(
                    anyhow::Error::new(err).context("could not presign an upload"),
                ));
            }
        };
        let new = NewItem {
            id: item,
            kind: ItemKind::File,
            name,
            storage_key: Some(key),
            size_bytes: i64::try_from(size).unwrap_or(i64::MAX),
        };
        repos::add_pending_upload(self.pool(), user, repository, &new).await?;
        Ok(Some((item, presigned)))
    }

    /// The browser's direct upload of `item` is done: the file is checked where it landed
    /// (there, within the limit, a document by its first bytes) and the item queued (unless
    /// storage events start it). A file that fails a check is removed with its item.
    pub async fn finish_direct(
        &self,
        user: Uuid,
        repository: Uuid,
        item: Uuid,
    ) -> Result<(), IntakeError> {
        let pending = repos::pending_upload(self.pool(), user, repository, item).await?;
        let checked = async {
            let size = match self.storage().size(&pending.storage_key).await {
                Ok(size) => size,
                Err(StorageError::NotFound(_)) => {
                    return Err(IntakeError::Invalid(format!(
                        "{} did not arrive; try again.",
                        pending.name
                    )));
                }
                Err(err) => return Err(failed(err, "could not check an upload")),
            };
            if !self.fits(size) {
                return Err(self.too_large(&pending.name));
            }
            let head = self
                .storage()
                .head_bytes(&pending.storage_key, SNIFF_BYTES)
                .await
                .map_err(|err| failed(err, "could not check an upload"))?;
            extract::precheck(&head, &pending.name)
                .map_err(|err| IntakeError::Unsupported(err.to_string()))?;
            Ok(size)
        }
        .await;
        let size = match checked {
            Ok(size) => size,
            Err(err @ IntakeError::Failed(_)) => return Err(err),
            Err(refused) => {
                if let Err(err) = repos::remove_item(self.pool(), user, repository, item).await {
                    tracing::warn!(error = %err, "could not remove a refused upload");
                }
                self.forget(repository, item).await;
                return Err(refused);
            }
        };
        let enqueue = self.upload_queue.needs_jobs();
        repos::finish_upload(self.pool(), user, repository, item, size, enqueue).await?;
        Ok(())
    }

    /// Pasted text, kept and queued like an uploaded file; titled by its first line when
    /// `title` is blank.
    pub async fn text(
        &self,
        user: Uuid,
        repository: Uuid,
        title: &str,
        text: &str,
    ) -> Result<Uuid, IntakeError> {
        if text.trim().is_empty() {
            return Err(IntakeError::Invalid("Paste some text first.".into()));
        }
        if text.chars().count() > MAX_TEXT_CHARS {
            return Err(IntakeError::Invalid(format!(
                "Pasted text can be at most {MAX_TEXT_CHARS} characters; upload it as a file instead."
            )));
        }
        let title = if title.trim().is_empty() {
            let first: String = text.trim().chars().take(60).collect();
            first.lines().next().unwrap_or("Pasted text").to_owned()
        } else {
            title.to_owned()
        };
        repos::check_can_add(self.pool(), user, repository).await?;
        self.check_quota(user, text.len() as u64).await?;
        let item = Uuid::new_v4();
        let key = storage::original_key(repository, item);
        self.storage()
            .put(&key, text.as_bytes())
            .await
            .map_err(|err| failed(err, "could not store pasted text"))?;
        let new = NewItem {
            id: item,
            kind: ItemKind::Text,
            name: title,
            storage_key: Some(key),
            size_bytes: i64::try_from(text.len()).unwrap_or(i64::MAX),
        };
        if let Err(err) = repos::add_item(self.pool(), user, repository, &new).await {
            self.forget(repository, item).await;
            return Err(err.into());
        }
        Ok(item)
    }

    /// A web page (`https://` assumed when no scheme is given), fetched by its job. Private
    /// and local addresses are refused here and again at every fetch.
    pub async fn web_page(
        &self,
        user: Uuid,
        repository: Uuid,
        address: &str,
    ) -> Result<Uuid, IntakeError> {
        let trimmed = address.trim();
        let with_scheme = if trimmed.contains("://") {
            trimmed.to_owned()
        } else {
            format!("https://{trimmed}")
        };
        let parsed = url::Url::parse(&with_scheme)
            .map_err(|_| IntakeError::Invalid(format!("{trimmed} is not a web address.")))?;
        web::check_url(&parsed, &self.pipeline.fetch).map_err(|err| match err {
            FetchError::Refused(reason)
            | FetchError::Unavailable(reason)
            | FetchError::Failed(reason) => IntakeError::Invalid(reason),
        })?;
        self.check_quota(user, 0).await?;
        let item = Uuid::new_v4();
        let new = NewItem {
            id: item,
            kind: ItemKind::Url,
            name: parsed.to_string(),
            storage_key: None,
            size_bytes: 0,
        };
        repos::add_item(self.pool(), user, repository, &new).await?;
        Ok(item)
    }

    /// A document attached to a chat message, received into a temporary file (read once a
    /// reading slot is free, then gone): within the limit, an account not full already, a
    /// document by its first bytes.
    pub async fn document<S, E>(
        &self,
        user: Uuid,
        name: &str,
        declared: Option<u64>,
        body: S,
    ) -> Result<(tempfile::TempPath, Stored), IntakeError>
    where
        S: Stream<Item = Result<bytes::Bytes, E>> + Unpin,
        E: std::fmt::Display,
    {
        if declared.is_some_and(|size| !self.fits(size)) {
            return Err(self.too_large(name));
        }
        // What is kept is the text; an account already full is refused before the upload.
        self.check_quota(user, 0).await?;
        let (file, stored) = storage::spool(body, self.max_upload_bytes, SNIFF_BYTES)
            .await
            .map_err(|err| self.storage_refusal(name, err))?;
        extract::precheck(&stored.head, name)
            .map_err(|err| IntakeError::Unsupported(err.to_string()))?;
        Ok((file, stored))
    }
}

fn failed(err: StorageError, what: &'static str) -> IntakeError {
    IntakeError::Failed(anyhow::Error::new(err).context(what))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_names_keep_only_their_last_part_without_control_characters() {
        assert_eq!(clean_file_name("C:\\Users\\me\\report.pdf"), "report.pdf");
        assert_eq!(clean_file_name("../../etc/passwd"), "passwd");
        assert_eq!(clean_file_name("a\u{0}b\nc.txt"), "abc.txt");
        assert_eq!(clean_file_name("  "), "upload");
        assert_eq!(clean_file_name(&"x".repeat(300)).chars().count(), 255);
    }

    #[test]
    fn limits_read_as_people_write_them() {
        assert_eq!(size_text(100_000_000), "100 MB");
        assert_eq!(size_text(2_500_000_000), "2.5 GB");
        assert_eq!(size_text(5_000_000), "5.0 MB");
        assert_eq!(size_text(930), "930 B");
        let err = IntakeError::TooLarge {
            name: "scan.pdf".into(),
            limit: 5_000_000,
        };
        assert_eq!(
            err.to_string(),
            "scan.pdf is larger than the 5.0 MB allowed."
        );
    }
}
