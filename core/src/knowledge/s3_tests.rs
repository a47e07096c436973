//! The S3 store against moto: small and multipart writes, limits, reads, prefix deletes and
//! presigned uploads.

use std::time::Duration;

use bytes::Bytes;
use futures::TryStreamExt;

use super::{
    s3::{MAX_PUT_BYTES, PART_SIZE, testing},
    storage::{Storage, StorageError},
};

fn pieces(data: &[u8], size: usize) -> impl futures::Stream<Item = Result<Bytes, String>> + Unpin {
    futures::stream::iter(
        data.chunks(size)
            .map(|piece| Ok(Bytes::copy_from_slice(piece)))
            .collect::<Vec<_>>(),
    )
}

fn sample(len: usize) -> Vec<u8> {
    (0..len).map(|i| (i * 7 % 251) as u8).collect()
}

#[tokio::test]
async fn small_objects_are_written_encrypted_read_and_deleted_by_prefix() {
    let config = testing::moto_config().await;
    let s3 = testing::bucket(&config).await;
    let storage = Storage::S3(s3.clone());
    let data = sample(100_000);

    let stored = storage
        .put_stream(
            "repositories/r/i/original",
            pieces(&data, 4096),
            1_000_000,
            8,
        )
        .await
        .unwrap();
    assert_eq!(stored.size, 100_000);
    assert_eq!(stored.head, data[..8]);
    storage
        .put("repositories/r/j/original", b"other")
        .await
        .unwrap();
    storage
        .put("repositories/s/k/original", b"kept")
        .await
        .unwrap();

    assert_eq!(
        storage.get("repositories/r/i/original").await.unwrap(),
        data
    );
    assert_eq!(
        storage.size("repositories/r/i/original").await.unwrap(),
        100_000
    );
    assert_eq!(
        storage
            .head_bytes("repositories/r/i/original", 10)
            .await
            .unwrap(),
        data[..10]
    );
    let (size, stream) = storage.open("repositories/r/i/original").await.unwrap();
    assert_eq!(size, 100_000);
    let streamed: Vec<Bytes> = stream.try_collect().await.unwrap();
    assert_eq!(streamed.concat(), data);

    let head = s3
        .client()
        .head_object()
        .bucket(s3.bucket())
        .key("repositories/r/i/original")
        .send()
        .await
        .unwrap();
    assert_eq!(
        head.server_side_encryption(),
        Some(&aws_sdk_s3::types::ServerSideEncryption::Aes256)
    );

    storage.delete_prefix("repositories/r/").await.unwrap();
    assert!(matches!(
        storage.get("repositories/r/i/original").await,
        Err(StorageError::NotFound(_))
    ));
    assert!(matches!(
        storage.size("repositories/r/j/original").await,
        Err(StorageError::NotFound(_))
    ));
    assert_eq!(
        storage.get("repositories/s/k/original").await.unwrap(),
        b"kept"
    );
    // Nothing there: not an error.
    storage.delete_prefix("repositories/r/").await.unwrap();
}

#[tokio::test]
async fn large_objects_go_up_in_parts_and_a_refused_one_leaves_nothing() {
    let config = testing::moto_config().await;
    let s3 = testing::bucket(&config).await;
    let storage = Storage::S3(s3.clone());
    let data = sample(2 * PART_SIZE + 12_345);

    let stored = storage
        .put_stream("big", pieces(&data, 1 << 20), u64::MAX, 0)
        .await
        .unwrap();
    assert_eq!(stored.size, data.len() as u64);
    assert_eq!(storage.get("big").await.unwrap(), data);

    // Over the limit after the first part went up: refused, and the upload is aborted.
    let limit = (PART_SIZE + 10) as u64;
    let refused = storage
        .put_stream("too-big", pieces(&data, 1 << 20), limit, 0)
        .await;
    assert!(
        matches!(refused, Err(StorageError::TooLarge { limit: l }) if l == limit),
        "{refused:?}"
    );
    assert!(matches!(
        storage.size("too-big").await,
        Err(StorageError::NotFound(_))
    ));
    let unfinished = s3
        .client()
        .list_multipart_uploads()
        .bucket(s3.bucket())
        .send()
        .await
        .unwrap();
    assert!(
        unfinished.uploads().is_empty(),
        "{:?}",
        unfinished.uploads()
    );

    // A body that breaks off: nothing kept either.
    let broken = futures::stream::iter(vec![
        Ok(Bytes::from(sample(PART_SIZE + 1))),
        Err("connection reset".to_owned()),
    ]);
    let interrupted = storage.put_stream("broken", broken, u64::MAX, 0).await;
    assert!(matches!(interrupted, Err(StorageError::Interrupted(_))));
    assert!(matches!(
        storage.size("broken").await,
        Err(StorageError::NotFound(_))
    ));
}

#[tokio::test]
async fn a_presigned_put_lands_the_browsers_bytes_under_the_key() {
    let config = testing::moto_config().await;
    let s3 = testing::bucket(&config).await;
    let storage = Storage::S3(s3.clone());
    let data = sample(5000);

    let upload = storage
        .presign_put("repositories/r/i/original", 5000, Duration::from_secs(300))
        .await
        .unwrap()
        .expect("S3 takes presigned uploads");
    assert_eq!(upload.method, "PUT");
    assert!(upload.url.contains("X-Amz-Signature="), "{}", upload.url);
    assert!(
        upload
            .headers
            .iter()
            .any(|(name, value)| name == "x-amz-server-side-encryption" && value == "AES256"),
        "{:?}",
        upload.headers
    );

    let client = reqwest::Client::new();
    let mut request = client.put(&upload.url).body(data.clone());
    for (name, value) in &upload.headers {
        request = request.header(name, value);
    }
    let response = request.send().await.unwrap();
    assert!(response.status().is_success(), "{}", response.status());
    assert_eq!(
        storage.get("repositories/r/i/original").await.unwrap(),
        data
    );
    // One PUT takes at most 5 GiB: a larger grant is refused, not signed to fail later.
    assert!(matches!(
        storage
            .presign_put("repositories/r/j/original", MAX_PUT_BYTES + 1, Duration::from_secs(300))
            .await,
        Err(StorageError::TooLarge { limit }) if limit == MAX_PUT_BYTES
    ));
    // Pages are allowed to connect to where the presigned URLs point.
    let origin = storage.upload_origin().await.unwrap().unwrap();
    assert!(upload.url.starts_with(&format!("{origin}/")), "{origin}");
    assert_eq!(
        origin,
        url::Url::parse(&testing::moto_url())
            .unwrap()
            .origin()
            .ascii_serialization()
    );

    // The local folder has no such thing: the server's route takes the upload.
    let dir = tempfile::tempdir().unwrap();
    let local = Storage::local(dir.path());
    assert_eq!(local.upload_origin().await.unwrap(), None);
    assert!(
        local
            .presign_put("a/b", 1, Duration::from_secs(60))
            .await
            .unwrap()
            .is_none()
    );
}

#[tokio::test]
async fn missing_objects_are_not_found() {
    let config = testing::moto_config().await;
    let storage = Storage::S3(testing::bucket(&config).await);
    assert!(matches!(
        storage.get("nothing/here").await,
        Err(StorageError::NotFound(_))
    ));
    assert!(matches!(
        storage.open("nothing/here").await,
        Err(StorageError::NotFound(_))
    ));
    assert!(matches!(
        storage.head_bytes("nothing/here", 8).await,
        Err(StorageError::NotFound(_))
    ));
}
