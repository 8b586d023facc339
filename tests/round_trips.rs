//! How many state-store round trips one `uploadToken.upload` chunk costs, counted by a
//! `StateStore` wrapper under a real gateway (redb behind it). The upload semantics
//! live in `core::UploadService::upload_chunk`: a chunk at the contiguous end is one
//! owner-checked acquire and one commit that also sets the chunk's attributes and
//! releases the lease; a final chunk adds the completing commit. The session check
//! (has `session.end` ended this KS?) is one document read on top.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use common::{client, multipart, user_ks, ADMIN_SECRET, PARTNER, USER_SECRET};
use upgate::model::{ListFilter, StagedRange, UploadRecord};
use upgate::state::{
    Acquire, Commit, CommitOutcome, Doc, Lease, LeaseRequest, StateError, StateStore, Update,
};

/// Counts every call (one call is one round trip on a networked store) by method.
struct Counting {
    inner: Arc<dyn StateStore>,
    calls: AtomicU64,
    log: Mutex<Vec<&'static str>>,
}

impl Counting {
    fn hit(&self, what: &'static str) {
        self.calls.fetch_add(1, Ordering::SeqCst);
        self.log.lock().unwrap().push(what);
    }

    fn take(&self) -> (u64, Vec<&'static str>) {
        let n = self.calls.swap(0, Ordering::SeqCst);
        (n, std::mem::take(&mut *self.log.lock().unwrap()))
    }
}

#[async_trait]
impl StateStore for Counting {
    async fn insert(&self, rec: &UploadRecord) -> Result<(), StateError> {
        self.hit("insert");
        self.inner.insert(rec).await
    }
    async fn get(&self, id: &str) -> Result<Option<UploadRecord>, StateError> {
        self.hit("get");
        self.inner.get(id).await
    }
    async fn acquire(&self, id: &str, req: &LeaseRequest) -> Result<Acquire, StateError> {
        self.hit("acquire");
        self.inner.acquire(id, req).await
    }
    async fn release(&self, lease: &Lease) -> Result<(), StateError> {
        self.hit("release");
        self.inner.release(lease).await
    }
    async fn renew(&self, lease: &Lease, ttl: Duration) -> Result<bool, StateError> {
        self.hit("renew");
        self.inner.renew(lease, ttl).await
    }
    async fn commit(
        &self,
        lease: &Lease,
        c: &Commit,
        ttl: Duration,
    ) -> Result<CommitOutcome, StateError> {
        self.hit("commit");
        self.inner.commit(lease, c, ttl).await
    }
    async fn add_range(&self, id: &str, range: &StagedRange) -> Result<Update, StateError> {
        self.hit("add_range");
        self.inner.add_range(id, range).await
    }
    async fn set_length(&self, id: &str, length: u64) -> Result<Update, StateError> {
        self.hit("set_length");
        self.inner.set_length(id, length).await
    }
    async fn delete(&self, id: &str) -> Result<Option<UploadRecord>, StateError> {
        self.hit("delete");
        self.inner.delete(id).await
    }
    async fn expired(&self, now: u64, limit: usize) -> Result<Vec<String>, StateError> {
        self.inner.expired(now, limit).await
    }
    async fn update_attrs(
        &self,
        id: &str,
        expect: Option<(String, Option<String>)>,
        set: Vec<(String, String)>,
    ) -> Result<Update, StateError> {
        self.hit("update_attrs");
        self.inner.update_attrs(id, expect, set).await
    }
    async fn list(&self, filter: &ListFilter) -> Result<Vec<UploadRecord>, StateError> {
        self.hit("list");
        self.inner.list(filter).await
    }
    async fn doc_get(&self, kind: &str, id: &str) -> Result<Option<Doc>, StateError> {
        self.hit("doc_get");
        self.inner.doc_get(kind, id).await
    }
    async fn doc_put(
        &self,
        kind: &str,
        id: &str,
        body: &str,
        expect: Option<u64>,
    ) -> Result<Option<u64>, StateError> {
        self.hit("doc_put");
        self.inner.doc_put(kind, id, body, expect).await
    }
    async fn doc_delete(&self, kind: &str, id: &str) -> Result<bool, StateError> {
        self.hit("doc_delete");
        self.inner.doc_delete(kind, id).await
    }
    async fn doc_list(&self, kind: &str) -> Result<Vec<(String, Doc)>, StateError> {
        self.hit("doc_list");
        self.inner.doc_list(kind).await
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn upload_token_chunks_cost_few_round_trips() {
    let dir = tempfile::tempdir().unwrap();
    let redb = upgate::state::redb::RedbStore::open(&dir.path().join("state.redb")).unwrap();
    let counting = Arc::new(Counting {
        inner: Arc::new(redb),
        calls: AtomicU64::new(0),
        log: Mutex::new(Vec::new()),
    });
    let blobs =
        Arc::new(upgate::blob::local::LocalAssembler::new(dir.path().join("blobs")).unwrap());
    let service = upgate::core::UploadService::new(
        counting.clone(),
        blobs,
        upgate::core::CoreConfig::default(),
    );
    let partners = Arc::new(
        upgate::auth::Partners::from_specs(&[format!("{PARTNER}:{ADMIN_SECRET}:{USER_SECRET}")])
            .unwrap(),
    );
    let settings = upgate::app::ApiSettings {
        origins: upgate::api::cors::Origins::Any,
        require_auth: true,
        body_timeout: Duration::from_secs(30),
        final_chunk_wait: Duration::from_secs(5),
        max_resume_secs: 86400,
        lms_partner: Some(PARTNER),
        lms_root_account: "1".into(),
    };
    let router = Arc::new(upgate::app::router(
        service,
        partners,
        upgate::ratelimit::Limits::off(),
        settings,
    ));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let limits = upgate::server::Limits {
        max_connections: 64,
        header_timeout: Duration::from_secs(10),
        shutdown_grace: Duration::from_secs(1),
        trusted_proxies: Default::default(),
        tls: None,
    };
    tokio::spawn(upgate::server::serve(
        listener,
        router,
        limits,
        std::future::pending(),
    ));

    let ks = user_ks("alice", 0);
    let api = format!("{base}/api_v3/service/uploadtoken/action");
    let add = client()
        .get(format!(
            "{api}/add?format=1&ks={}",
            upgate_proto::form::form_encode(&ks)
        ))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let token = serde_json::from_str::<serde_json::Value>(&add).unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let chunk = vec![7u8; 64 << 10];
    let b = "xYzBoUnDaRy";
    let mut report = Vec::new();
    for (i, (resume, at, last)) in [
        ("0", "0", "0"),
        ("1", "65536", "0"),
        ("1", "131072", "0"),
        ("1", "196608", "1"),
    ]
    .into_iter()
    .enumerate()
    {
        counting.take();
        let body = multipart(
            b,
            &[
                ("ks", None, ks.as_bytes()),
                ("format", None, b"1"),
                ("uploadTokenId", None, token.as_bytes()),
                ("resume", None, resume.as_bytes()),
                ("resumeAt", None, at.as_bytes()),
                ("finalChunk", None, last.as_bytes()),
                ("fileData", Some("lecture.mp4"), &chunk),
            ],
        );
        let text = client()
            .post(format!("{api}/upload"))
            .header("Content-Type", format!("multipart/form-data; boundary={b}"))
            .body(body)
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        let v: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(
            v["uploadedFileSize"].as_str(),
            Some(((i as u64 + 1) * (64 << 10)).to_string().as_str()),
            "{text}"
        );
        let (n, log) = counting.take();
        let state = log.iter().filter(|w| **w != "doc_get").count() as u64;
        println!("chunk {i} (resume={resume}, resumeAt={at}, finalChunk={last}): {n} round trips: {log:?}");
        report.push((last == "1", state, n));
        if last == "1" {
            assert_eq!(v["status"], 2, "FULL_UPLOAD: {text}");
        }
    }
    for (last, state, total) in report {
        // The upload itself: acquire + commit (+ complete for the final chunk); plus the
        // session's revocation check.
        let budget = if last { 3 } else { 2 };
        assert!(
            state <= budget,
            "{state} state round trips (budget {budget})"
        );
        assert!(total <= budget + 1, "{total} round trips in all");
    }
}
