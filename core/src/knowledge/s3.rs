//! Originals in an S3 bucket: streamed writes (one `PutObject` when small, a multipart upload
//! when large), server-side encryption on every write, presigned `PUT`s so browsers upload
//! straight to the bucket, and prefix deletes.
//!
//! S3 makes an object visible only once its write completes, so, as with the local folder, a
//! reader never sees half a file and an interrupted upload leaves nothing under its key (an
//! unfinished multipart upload is aborted).

use std::time::Duration;

use aws_sdk_s3::{
    Client,
    error::{DisplayErrorContext, SdkError},
    presigning::PresigningConfig,
    primitives::ByteStream,
    types::{
        CompletedMultipartUpload, CompletedPart, Delete, ObjectIdentifier, ServerSideEncryption,
    },
};
use bytes::{Bytes, BytesMut};
use futures::{Stream, StreamExt};

use super::objects::{Intake, ObjectStream, StorageError, Stored};

/// Parts of a multipart upload (S3 wants at least 5 MiB for all but the last).
pub const PART_SIZE: usize = 8 * 1024 * 1024;

/// How objects are encrypted at rest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Encryption {
    /// S3-managed keys (`AES256`).
    S3Managed,
    /// KMS, with the given key or the account's default S3 key.
    Kms(Option<String>),
}

/// A bucket. Cheap to clone.
#[derive(Debug, Clone)]
pub struct S3Storage {
    client: Client,
    bucket: String,
    encryption: Encryption,
}

/// The most one `PutObject` (and so one presigned upload) takes: 5 GiB.
pub const MAX_PUT_BYTES: u64 = 5 * 1024 * 1024 * 1024;

/// A presigned upload: the browser sends the file with `method` to `url`, with `headers`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PresignedUpload {
    pub method: String,
    pub url: String,
    pub headers: Vec<(String, String)>,
}

fn backend<E, R>(action: &str, err: SdkError<E, R>) -> StorageError
where
    E: std::error::Error + 'static,
    R: std::fmt::Debug,
{
    StorageError::Backend(format!("{action}: {}", DisplayErrorContext(&err)))
}

impl S3Storage {
    /// `bucket`, reached with `config` (region, credentials, endpoint). `path_style` addresses
    /// the bucket in the path rather than the host name (S3-compatible servers want it).
    pub fn new(
        config: &aws_config::SdkConfig,
        bucket: impl Into<String>,
        path_style: bool,
        encryption: Encryption,
    ) -> Self {
        let s3 = aws_sdk_s3::config::Builder::from(config)
            .force_path_style(path_style)
            .build();
        Self {
            client: Client::from_conf(s3),
            bucket: bucket.into(),
            encryption,
        }
    }

    pub fn bucket(&self) -> &str {
        &self.bucket
    }

    pub fn client(&self) -> &Client {
        &self.client
    }

    fn sse(&self) -> (ServerSideEncryption, Option<String>) {
        match &self.encryption {
            Encryption::S3Managed => (ServerSideEncryption::Aes256, None),
            Encryption::Kms(key) => (ServerSideEncryption::AwsKms, key.clone()),
        }
    }

    pub(super) async fn put_stream<S, E>(
        &self,
        key: &str,
        mut body: S,
        limit: u64,
        head_len: usize,
    ) -> Result<Stored, StorageError>
    where
        S: Stream<Item = Result<Bytes, E>> + Unpin,
        E: std::fmt::Display,
    {
        let mut buffer = BytesMut::new();
        let mut intake = Intake::new(limit, head_len);
        let mut upload: Option<Multipart> = None;
        let result = async {
            while let Some(piece) = body.next().await {
                buffer.extend_from_slice(&intake.take(piece)?);
                while buffer.len() >= PART_SIZE {
                    let part = buffer.split_to(PART_SIZE).freeze();
                    if upload.is_none() {
                        upload = Some(self.start_multipart(key).await?);
                    }
                    if let Some(upload) = upload.as_mut() {
                        self.upload_part(key, upload, part).await?;
                    }
                }
            }
            match upload.as_mut() {
                None => self.put_object(key, buffer.split().freeze()).await,
                Some(upload) => {
                    if !buffer.is_empty() {
                        self.upload_part(key, upload, buffer.split().freeze())
                            .await?;
                    }
                    self.complete_multipart(key, upload).await
                }
            }
        }
        .await;
        match result {
            Ok(()) => Ok(intake.stored()),
            Err(err) => {
                if let Some(upload) = upload {
                    let aborted = self
                        .client
                        .abort_multipart_upload()
                        .bucket(&self.bucket)
                        .key(key)
                        .upload_id(&upload.id)
                        .send()
                        .await;
                    if let Err(abort) = aborted {
                        tracing::warn!(key, error = %DisplayErrorContext(&abort), "could not abort a multipart upload");
                    }
                }
                Err(err)
            }
        }
    }

    async fn put_object(&self, key: &str, data: Bytes) -> Result<(), StorageError> {
        let (sse, kms_key) = self.sse();
        self.client
            .put_object()
            .bucket(&self.bucket)
            .key(key)
            .body(ByteStream::from(data))
            .server_side_encryption(sse)
            .set_ssekms_key_id(kms_key)
            .send()
            .await
            .map_err(|err| backend("writing the object", err))?;
        Ok(())
    }

    async fn start_multipart(&self, key: &str) -> Result<Multipart, StorageError> {
        let (sse, kms_key) = self.sse();
        let started = self
            .client
            .create_multipart_upload()
            .bucket(&self.bucket)
            .key(key)
            .server_side_encryption(sse)
            .set_ssekms_key_id(kms_key)
            .send()
            .await
            .map_err(|err| backend("starting a multipart upload", err))?;
        let id = started
            .upload_id()
            .ok_or_else(|| StorageError::Backend("S3 gave no multipart upload id".to_owned()))?;
        Ok(Multipart {
            id: id.to_owned(),
            parts: Vec::new(),
        })
    }

    async fn upload_part(
        &self,
        key: &str,
        upload: &mut Multipart,
        data: Bytes,
    ) -> Result<(), StorageError> {
        let number = i32::try_from(upload.parts.len() + 1).unwrap_or(i32::MAX);
        let sent = self
            .client
            .upload_part()
            .bucket(&self.bucket)
            .key(key)
            .upload_id(&upload.id)
            .part_number(number)
            .body(ByteStream::from(data))
            .send()
            .await
            .map_err(|err| backend("uploading a part", err))?;
        upload.parts.push(
            CompletedPart::builder()
                .part_number(number)
                .set_e_tag(sent.e_tag().map(str::to_owned))
                .build(),
        );
        Ok(())
    }

    async fn complete_multipart(&self, key: &str, upload: &Multipart) -> Result<(), StorageError> {
        self.client
            .complete_multipart_upload()
            .bucket(&self.bucket)
            .key(key)
            .upload_id(&upload.id)
            .multipart_upload(
                CompletedMultipartUpload::builder()
                    .set_parts(Some(upload.parts.clone()))
                    .build(),
            )
            .send()
            .await
            .map_err(|err| backend("completing a multipart upload", err))?;
        Ok(())
    }

    pub(super) async fn get(&self, key: &str) -> Result<Vec<u8>, StorageError> {
        let (_, body) = self.get_object(key, None).await?;
        let data = body
            .collect()
            .await
            .map_err(|err| StorageError::Backend(format!("reading the object: {err}")))?;
        Ok(data.into_bytes().to_vec())
    }

    /// Up to `len` bytes from the start of the object.
    pub(super) async fn head_bytes(&self, key: &str, len: usize) -> Result<Vec<u8>, StorageError> {
        if len == 0 {
            return Ok(Vec::new());
        }
        let (_, body) = self
            .get_object(key, Some(format!("bytes=0-{}", len - 1)))
            .await?;
        let data = body
            .collect()
            .await
            .map_err(|err| StorageError::Backend(format!("reading the object: {err}")))?;
        let mut data = data.into_bytes().to_vec();
        data.truncate(len);
        Ok(data)
    }

    pub(super) async fn open(&self, key: &str) -> Result<(u64, ObjectStream), StorageError> {
        let (size, body) = self.get_object(key, None).await?;
        let stream = tokio_util::io::ReaderStream::new(body.into_async_read());
        Ok((size, stream.boxed()))
    }

    async fn get_object(
        &self,
        key: &str,
        range: Option<String>,
    ) -> Result<(u64, ByteStream), StorageError> {
        let got =
            self.client
                .get_object()
                .bucket(&self.bucket)
                .key(key)
                .set_range(range)
                .send()
                .await
                .map_err(|err| {
                    if err.as_service_error().is_some_and(
                        aws_sdk_s3::operation::get_object::GetObjectError::is_no_such_key,
                    ) {
                        StorageError::NotFound(key.to_owned())
                    } else {
                        backend("reading the object", err)
                    }
                })?;
        let size = got
            .content_length()
            .and_then(|len| u64::try_from(len).ok())
            .unwrap_or(0);
        Ok((size, got.body))
    }

    /// The object's size; `NotFound` when there is none.
    pub(super) async fn size(&self, key: &str) -> Result<u64, StorageError> {
        let head =
            self.client
                .head_object()
                .bucket(&self.bucket)
                .key(key)
                .send()
                .await
                .map_err(|err| {
                    if err.as_service_error().is_some_and(
                        aws_sdk_s3::operation::head_object::HeadObjectError::is_not_found,
                    ) {
                        StorageError::NotFound(key.to_owned())
                    } else {
                        backend("looking up the object", err)
                    }
                })?;
        Ok(head
            .content_length()
            .and_then(|len| u64::try_from(len).ok())
            .unwrap_or(0))
    }

    pub(super) async fn delete_prefix(&self, prefix: &str) -> Result<(), StorageError> {
        let mut pages = self
            .client
            .list_objects_v2()
            .bucket(&self.bucket)
            .prefix(prefix)
            .into_paginator()
            .send();
        while let Some(page) = pages
            .try_next()
            .await
            .map_err(|err| backend("listing objects", err))?
        {
            let objects = page
                .contents()
                .iter()
                .filter_map(|object| object.key())
                .map(|key| ObjectIdentifier::builder().key(key).build())
                .collect::<Result<Vec<_>, _>>()
                .map_err(|err| StorageError::Backend(err.to_string()))?;
            if objects.is_empty() {
                continue;
            }
            let delete = Delete::builder()
                .set_objects(Some(objects))
                .quiet(true)
                .build()
                .map_err(|err| StorageError::Backend(err.to_string()))?;
            let deleted = self
                .client
                .delete_objects()
                .bucket(&self.bucket)
                .delete(delete)
                .send()
                .await
                .map_err(|err| backend("deleting objects", err))?;
            if let Some(failed) = deleted.errors().first() {
                return Err(StorageError::Backend(format!(
                    "deleting {}: {}",
                    failed.key().unwrap_or("an object"),
                    failed.message().unwrap_or("refused")
                )));
            }
        }
        Ok(())
    }

    /// A `PUT` of `size` bytes to `key` that the browser may send for `expires`.
    pub async fn presign_put(
        &self,
        key: &str,
        size: u64,
        expires: Duration,
    ) -> Result<PresignedUpload, StorageError> {
        if size > MAX_PUT_BYTES {
            return Err(StorageError::TooLarge {
                limit: MAX_PUT_BYTES,
            });
        }
        let (sse, kms_key) = self.sse();
        let config = PresigningConfig::expires_in(expires)
            .map_err(|err| StorageError::Backend(err.to_string()))?;
        let presigned = self
            .client
            .put_object()
            .bucket(&self.bucket)
            .key(key)
            .content_length(i64::try_from(size).unwrap_or(i64::MAX))
            .server_side_encryption(sse)
            .set_ssekms_key_id(kms_key)
            .presigned(config)
            .await
            .map_err(|err| backend("presigning the upload", err))?;
        Ok(PresignedUpload {
            method: presigned.method().to_owned(),
            url: presigned.uri().to_owned(),
            headers: presigned
                .headers()
                // The browser sets these itself, and refuses to be told.
                .filter(|(name, _)| {
                    !name.eq_ignore_ascii_case("content-length")
                        && !name.eq_ignore_ascii_case("host")
                })
                .map(|(name, value)| (name.to_owned(), value.to_owned()))
                .collect(),
        })
    }
}

struct Multipart {
    id: String,
    parts: Vec<CompletedPart>,
}

/// Buckets on moto, the AWS stand-in the tests run against (`scripts/moto.sh start` prints
/// its URL; the test command puts it in `MOTO_URL`).
#[cfg(any(test, feature = "test-support"))]
pub mod testing {
    use aws_config::{BehaviorVersion, Region, SdkConfig};
    use aws_sdk_s3::config::Credentials;

    use super::{Encryption, S3Storage};

    /// moto's URL, from `MOTO_URL`.
    pub fn moto_url() -> String {
        std::env::var("MOTO_URL")
            .expect("MOTO_URL must name a running moto server: `scripts/moto.sh start` prints it")
    }

    /// AWS settings that reach moto, with test credentials.
    pub async fn moto_config() -> SdkConfig {
        aws_config::defaults(BehaviorVersion::latest())
            .region(Region::new("us-east-1"))
            .endpoint_url(moto_url())
            .credentials_provider(Credentials::new("test", "test", None, None, "moto"))
            .load()
            .await
    }

    /// A new, empty bucket of its own.
    pub async fn bucket(config: &SdkConfig) -> S3Storage {
        let name = format!("test-{}", uuid::Uuid::new_v4().simple());
        let storage = S3Storage::new(config, name.clone(), true, Encryption::S3Managed);
        storage
            .client()
            .create_bucket()
            .bucket(&name)
            .send()
            .await
            .expect("creating a bucket on moto");
        storage
    }
}
