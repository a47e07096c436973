//! Where the originals of knowledge items are kept: a local folder (`STORAGE_DIR`, the
//! embedded default) or an S3 bucket ([`super::s3`], `STORAGE_BACKEND=s3`). Objects are
//! addressed by keys such as `repositories/{repo}/{item}/original`.
//!
//! Local writes go to a temporary file in the same folder and are renamed into place once
//! complete, so a reader never sees half a file and an interrupted upload leaves nothing behind
//! under its key.

use std::{
    io::ErrorKind,
    path::{Component, Path, PathBuf},
};

use futures::{Stream, StreamExt};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use uuid::Uuid;

pub use super::objects::{ObjectStream, StorageError, Stored};
use super::{
    config::StorageConfig,
    objects::Intake,
    s3::{PresignedUpload, S3Storage},
};

/// The key of an item's original.
pub fn original_key(repository_id: Uuid, item_id: Uuid) -> String {
    format!("repositories/{repository_id}/{item_id}/original")
}

/// The prefix under which everything of an item is kept.
pub fn item_prefix(repository_id: Uuid, item_id: Uuid) -> String {
    format!("repositories/{repository_id}/{item_id}/")
}

/// The prefix under which everything of a repository is kept.
pub fn repository_prefix(repository_id: Uuid) -> String {
    format!("repositories/{repository_id}/")
}

/// Object storage. Cheap to clone.
#[derive(Debug, Clone)]
pub enum Storage {
    Local(LocalStorage),
    S3(S3Storage),
}

impl Storage {
    /// A local folder, created if missing.
    pub fn local(root: impl Into<PathBuf>) -> Self {
        Self::Local(LocalStorage { root: root.into() })
    }

    /// The store `config` names (an S3 client reached with the AWS default chain).
    pub async fn build(config: &StorageConfig) -> Self {
        match config {
            StorageConfig::Local { dir } => Self::local(dir.clone()),
            StorageConfig::S3 {
                bucket,
                path_style,
                encryption,
            } => {
                let aws = aws_config::load_from_env().await;
                Self::S3(S3Storage::new(
                    &aws,
                    bucket.clone(),
                    *path_style,
                    encryption.clone(),
                ))
            }
        }
    }

    /// A `PUT` the browser may send straight to the store, when the store takes them (S3);
    /// `None` for the local folder, which the server's upload route writes.
    pub async fn presign_put(
        &self,
        key: &str,
        size: u64,
        expires: std::time::Duration,
    ) -> Result<Option<PresignedUpload>, StorageError> {
        match self {
            Self::Local(_) => Ok(None),
            Self::S3(s3) => s3.presign_put(key, size, expires).await.map(Some),
        }
    }

    /// Where browsers send direct uploads (the origin of a presigned URL, for the pages'
    /// `connect-src`); `None` when uploads go through the server.
    pub async fn upload_origin(&self) -> Result<Option<String>, StorageError> {
        let Some(grant) = self
            .presign_put("repositories/origin", 1, std::time::Duration::from_secs(60))
            .await?
        else {
            return Ok(None);
        };
        let url = url::Url::parse(&grant.url)
            .map_err(|err| StorageError::Backend(format!("a presigned URL: {err}")))?;
        Ok(Some(url.origin().ascii_serialization()))
    }

    /// The object's size.
    pub async fn size(&self, key: &str) -> Result<u64, StorageError> {
        match self {
            Self::Local(local) => local.size(key).await,
            Self::S3(s3) => s3.size(key).await,
        }
    }

    /// Up to the first `len` bytes of the object, for sniffing what it is.
    pub async fn head_bytes(&self, key: &str, len: usize) -> Result<Vec<u8>, StorageError> {
        match self {
            Self::Local(local) => local.head_bytes(key, len).await,
            Self::S3(s3) => s3.head_bytes(key, len).await,
        }
    }

    /// Writes `body` under `key`, refusing more than `limit` bytes. Returns the size written
    /// and the first bytes (up to `head_len`), for sniffing the content.
    pub async fn put_stream<S, E>(
        &self,
        key: &str,
        body: S,
        limit: u64,
        head_len: usize,
    ) -> Result<Stored, StorageError>
    where
        S: Stream<Item = Result<bytes::Bytes, E>> + Unpin,
        E: std::fmt::Display,
    {
        match self {
            Self::Local(local) => local.put_stream(key, body, limit, head_len).await,
            Self::S3(s3) => s3.put_stream(key, body, limit, head_len).await,
        }
    }

    /// Writes `data` under `key`.
    pub async fn put(&self, key: &str, data: &[u8]) -> Result<(), StorageError> {
        let body =
            futures::stream::iter([Ok::<_, std::io::Error>(bytes::Bytes::copy_from_slice(data))]);
        self.put_stream(key, body, u64::MAX, 0).await.map(|_| ())
    }

    /// The whole object.
    pub async fn get(&self, key: &str) -> Result<Vec<u8>, StorageError> {
        match self {
            Self::Local(local) => local.get(key).await,
            Self::S3(s3) => s3.get(key).await,
        }
    }

    /// The object as a stream of bytes, with its length, for downloads.
    pub async fn open(&self, key: &str) -> Result<(u64, ObjectStream), StorageError> {
        match self {
            Self::Local(local) => local.open(key).await,
            Self::S3(s3) => s3.open(key).await,
        }
    }

    /// Removes every object whose key starts with `prefix` (which ends with `/`). Removing
    /// what is not there is not an error.
    pub async fn delete_prefix(&self, prefix: &str) -> Result<(), StorageError> {
        match self {
            Self::Local(local) => local.delete_prefix(prefix).await,
            Self::S3(s3) => s3.delete_prefix(prefix).await,
        }
    }
}

/// Writes an upload's body to a temporary file, never holding it whole in memory, within
/// `limit` bytes and keeping its first `head_len` bytes: for uploads that are read once and
/// not kept (chat attachments). The file is deleted when the returned path is dropped.
pub async fn spool<S, E>(
    mut body: S,
    limit: u64,
    head_len: usize,
) -> Result<(tempfile::TempPath, Stored), StorageError>
where
    S: Stream<Item = Result<bytes::Bytes, E>> + Unpin,
    E: std::fmt::Display,
{
    let path = tempfile::NamedTempFile::new()?.into_temp_path();
    let mut file = tokio::fs::File::create(&path).await?;
    let mut intake = Intake::new(limit, head_len);
    while let Some(piece) = body.next().await {
        file.write_all(&intake.take(piece)?).await?;
    }
    file.flush().await?;
    Ok((path, intake.stored()))
}

/// Objects as files under a folder; a key's `/` separated parts are folders.
#[derive(Debug, Clone)]
pub struct LocalStorage {
    root: PathBuf,
}

impl LocalStorage {
    fn path(&self, key: &str) -> Result<PathBuf, StorageError> {
        let relative = Path::new(key.trim_end_matches('/'));
        let plain = !key.is_empty()
            && relative
                .components()
                .all(|part| matches!(part, Component::Normal(_)));
        if !plain {
            return Err(StorageError::BadKey(key.to_owned()));
        }
        Ok(self.root.join(relative))
    }

    async fn put_stream<S, E>(
        &self,
        key: &str,
        mut body: S,
        limit: u64,
        head_len: usize,
    ) -> Result<Stored, StorageError>
    where
        S: Stream<Item = Result<bytes::Bytes, E>> + Unpin,
        E: std::fmt::Display,
    {
        let path = self.path(key)?;
        let folder = path
            .parent()
            .ok_or_else(|| StorageError::BadKey(key.to_owned()))?;
        tokio::fs::create_dir_all(folder).await?;
        let partial = folder.join(format!(".upload-{}", Uuid::new_v4().simple()));
        let result = async {
            let mut file = tokio::fs::File::create(&partial).await?;
            let mut intake = Intake::new(limit, head_len);
            while let Some(piece) = body.next().await {
                file.write_all(&intake.take(piece)?).await?;
            }
            file.sync_all().await?;
            Ok(intake.stored())
        }
        .await;
        match result {
            Ok(stored) => {
                tokio::fs::rename(&partial, &path).await?;
                Ok(stored)
            }
            Err(err) => {
                let _ = tokio::fs::remove_file(&partial).await;
                Err(err)
            }
        }
    }

    async fn get(&self, key: &str) -> Result<Vec<u8>, StorageError> {
        let path = self.path(key)?;
        tokio::fs::read(&path)
            .await
            .map_err(|err| match err.kind() {
                ErrorKind::NotFound => StorageError::NotFound(key.to_owned()),
                _ => err.into(),
            })
    }

    async fn open_file(&self, key: &str) -> Result<tokio::fs::File, StorageError> {
        let path = self.path(key)?;
        tokio::fs::File::open(&path)
            .await
            .map_err(|err| match err.kind() {
                ErrorKind::NotFound => StorageError::NotFound(key.to_owned()),
                _ => err.into(),
            })
    }

    async fn open(&self, key: &str) -> Result<(u64, ObjectStream), StorageError> {
        let file = self.open_file(key).await?;
        let size = file.metadata().await?.len();
        Ok((size, tokio_util::io::ReaderStream::new(file).boxed()))
    }

    async fn size(&self, key: &str) -> Result<u64, StorageError> {
        let file = self.open_file(key).await?;
        Ok(file.metadata().await?.len())
    }

    async fn head_bytes(&self, key: &str, len: usize) -> Result<Vec<u8>, StorageError> {
        let file = self.open_file(key).await?;
        let mut head = Vec::with_capacity(len);
        file.take(len as u64).read_to_end(&mut head).await?;
        Ok(head)
    }

    async fn delete_prefix(&self, prefix: &str) -> Result<(), StorageError> {
        if !prefix.ends_with('/') {
            return Err(StorageError::BadKey(prefix.to_owned()));
        }
        let path = self.path(prefix)?;
        match tokio::fs::remove_dir_all(&path).await {
            Ok(()) => Ok(()),
            Err(err) if err.kind() == ErrorKind::NotFound => Ok(()),
            Err(err) => Err(err.into()),
        }
    }
}
