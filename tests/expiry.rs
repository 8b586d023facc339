//! Expiry of unfinished uploads frees everything on every backend: on redb + local
//! directory (partial file, staged ranges, record) and on Redis + S3 (multipart upload
//! aborted, staged and tail objects deleted, keys gone). Gateways run with a 2 s expiry
//! and a 500 ms sweep.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::path::Path;

use common::redis_server::RedisServer;
use common::s3_server::S3Server;
use common::*;

const MIB: usize = 1 << 20;
const EXPIRY: [&str; 6] = [
    "--upload-expiry",
    "2s",
    "--sweep-interval",
    "500ms",
    "--files-auth",
    "off",
];

/// Every regular file under `dir`.
fn all_files(dir: &Path) -> Vec<String> {
    files_with(dir, "")
}

/// An unfinished upload with bytes in every place storage keeps them: the contiguous
/// data (more than a multipart part on object storage), and a staged range further on.
async fn unfinished_upload(base: &str) -> String {
    let c = client();
    let total = 40 * MIB;
    let loc = create(&c, base, total as u64).await;
    let id = loc.rsplit('/').next().unwrap().to_owned();
    let r = patch(&c, base, &loc, 0, data(12 * MIB, 1)).await;
    assert_eq!(r.status(), 204);
    let r = c
        .put(format!("{base}{loc}"))
        .header(
            "Content-Range",
            format!("bytes {}-{}/{total}", 30 * MIB, 31 * MIB - 1),
        )
        .body(data(MIB, 2))
        .send()
        .await
        .unwrap();
    assert!(
        matches!(r.status().as_u16(), 200..=299 | 308),
        "staged range: {}",
        r.status()
    );
    id
}

async fn gone(base: &str, id: &str) -> bool {
    let c = client();
    eventually(|| {
        let c = c.clone();
        async move {
            let r = c
                .head(format!("{base}/files/{id}"))
                .header("Tus-Resumable", "1.0.0")
                .send()
                .await
                .unwrap();
            r.status() == 404
        }
    })
    .await
}

async fn expired_metric(base: &str) -> u64 {
    metric(base, "upgate_uploads_expired_total").await as u64
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn expiry_frees_everything_on_redb_and_local() {
    let dir = tempfile::tempdir().unwrap();
    let gw = ChildGateway::start(dir.path(), &EXPIRY);
    let id = unfinished_upload(&gw.base).await;
    let blobs = dir.path().join("blobs");
    assert!(
        files_with(&blobs, &id).len() >= 2,
        "partial file and staged range: {:?}",
        all_files(&blobs)
    );
    assert!(gone(&gw.base, &id).await, "the record went");
    assert!(
        eventually(|| async { files_with(&blobs, &id).is_empty() }).await,
        "{:?}",
        files_with(&blobs, &id)
    );
    assert_eq!(expired_metric(&gw.base).await, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn expiry_frees_everything_on_redis_and_s3() {
    let redis = RedisServer::start();
    let s3 = S3Server::start_s3s_fs();
    let dir = tempfile::tempdir().unwrap();
    let gw = ChildGateway::start_on(&redis, &s3, dir.path(), &EXPIRY);
    let id = unfinished_upload(&gw.base).await;
    let root = s3.root_dir();
    let before = all_files(&root);
    assert!(
        !before.is_empty(),
        "parts, tail and staged objects are stored"
    );
    let keys = redis.cli(&["--scan", "--pattern", "*"]);
    assert!(keys.lines().any(|k| k.contains(&id)), "{keys}");
    assert!(gone(&gw.base, &id).await, "the record went");
    // Keys, the expiry index entry, objects and the multipart upload's parts: all gone
    // (s3s-fs keeps its `.bucket-…` metadata sidecars of deleted objects; they are not
    // objects: the listing through the S3 API is empty).
    let data_files = || {
        all_files(&root)
            .into_iter()
            .filter(|f| !f.rsplit('/').next().unwrap_or("").starts_with(".bucket-"))
            .collect::<Vec<_>>()
    };
    assert!(
        eventually(|| async { data_files().is_empty() }).await,
        "left in S3: {:?}",
        data_files()
    );
    use futures_util::StreamExt;
    use object_store::ObjectStore;
    let listed: Vec<_> = s3.client().list(None).collect().await;
    assert!(listed.is_empty(), "objects left: {listed:?}");
    let keys = redis.cli(&["--scan", "--pattern", "*"]);
    assert!(!keys.lines().any(|k| k.contains(&id)), "{keys}");
    let index = redis.cli(&["zrange", "upgate:expiry", "0", "-1"]);
    assert!(!index.contains(&id), "{index}");
    assert_eq!(expired_metric(&gw.base).await, 1);
}
