//! The StateStore and Assembler conformance suites against the embedded defaults
//! (redb, local directory). Distributed backends run the same suites.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::Arc;

mod common;
use common::redis_server::RedisServer;

/// A fresh open record of 100 bytes.
fn record_of_100() -> upgate::core::UploadRecord {
    upgate::core::UploadRecord {
        id: upgate::model::new_id(),
        length: Some(100),
        offset: 0,
        status: upgate::core::Status::Open,
        metadata: String::new(),
        concat: Default::default(),
        created_at: 0,
        expires_at: 0,
        ranges: vec![],
        assembly: String::new(),
        owner: None,
        attrs: Default::default(),
    }
}

/// Inserts a 100-byte record, takes its lease and commits 42 bytes; returns the lease.
async fn commit_42(store: &dyn upgate::state::StateStore) -> upgate::state::Lease {
    use upgate::state::{Acquire, Commit, CommitOutcome, LeaseRequest};
    let rec = record_of_100();
    store.insert(&rec).await.unwrap();
    let req = LeaseRequest {
        holder: "h".into(),
        expected_offset: Some(0),
        ttl: std::time::Duration::from_secs(60),
        owner: None,
    };
    let Acquire::Granted(lease, _) = store.acquire(&rec.id, &req).await.unwrap() else {
        panic!("lease not granted")
    };
    let c = Commit {
        expected_offset: 0,
        new_offset: 42,
        ..Default::default()
    };
    assert!(matches!(
        store.commit(&lease, &c, req.ttl).await.unwrap(),
        CommitOutcome::Done(_)
    ));
    lease
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redb_state_store() {
    let dir = tempfile::tempdir().unwrap();
    let store = upgate::state::redb::RedbStore::open(&dir.path().join("s.redb")).unwrap();
    upgate::state::conformance::run_all(Arc::new(store)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redb_state_survives_reopen() {
    use upgate::state::{Acquire, LeaseRequest, StateStore};
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("s.redb");
    let id = {
        let store = upgate::state::redb::RedbStore::open(&path).unwrap();
        commit_42(&store).await.id
        // dropped without releasing the lease: leases do not outlive the process
    };
    let store = upgate::state::redb::RedbStore::open(&path).unwrap();
    assert_eq!(store.get(&id).await.unwrap().unwrap().offset, 42);
    let req = LeaseRequest {
        holder: "h2".into(),
        expected_offset: Some(42),
        ttl: std::time::Duration::from_secs(60),
        owner: None,
    };
    assert!(matches!(
        store.acquire(&id, &req).await.unwrap(),
        Acquire::Granted(..)
    ));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn local_assembler() {
    let dir = tempfile::tempdir().unwrap();
    let a = upgate::blob::local::LocalAssembler::new(dir.path()).unwrap();
    upgate::blob::conformance::run_all(Arc::new(a), 1 << 20).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_state_store() {
    let redis = RedisServer::start();
    let store = upgate::state::redis::RedisStore::connect(&redis.url(), "t:")
        .await
        .unwrap();
    upgate::state::conformance::run_all(Arc::new(store)).await;
    // Nothing outside the prefix was written.
    let keys = redis.cli(&["--raw", "keys", "*"]);
    assert!(keys.lines().all(|k| k.starts_with("t:")), "{keys}");
}

/// Offsets and leases survive a Redis restart (AOF), the store reconnects by itself,
/// and requests during the outage fail as `Unavailable` (the gateway's 503).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_state_survives_restart() {
    use upgate::state::{Commit, CommitOutcome, StateError, StateStore};
    let mut redis = RedisServer::start();
    let store = upgate::state::redis::RedisStore::connect(&redis.url(), "upgate:")
        .await
        .unwrap();
    let lease = commit_42(&store).await;
    let ttl = std::time::Duration::from_secs(60);
    redis.kill();
    assert!(matches!(
        store.get(&lease.id).await,
        Err(StateError::Unavailable(_))
    ));
    redis.restart();
    // Back by itself (within the reconnect backoff).
    let mut got = None;
    for _ in 0..50 {
        if let Ok(r) = store.get(&lease.id).await {
            got = r;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(got.expect("record after restart").offset, 42);
    // The lease survived too (AOF): the old holder continues under its fence.
    let c = Commit {
        expected_offset: 42,
        new_offset: 100,
        complete: true,
        ..Default::default()
    };
    let CommitOutcome::Done(done) = store.commit(&lease, &c, ttl).await.unwrap() else {
        panic!()
    };
    assert_eq!(done.status, upgate::core::Status::Complete);
}

/// The object-store assembler on InMemory, behind a wrapper that enforces S3's part
/// rules (InMemory accepts anything).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn object_assembler_in_memory_with_s3_rules() {
    use upgate::blob::object::strict::StrictMultipart;
    let mem = Arc::new(object_store::memory::InMemory::new());
    let strict = Arc::new(StrictMultipart::new(mem.clone()));
    let a = upgate::blob::object::ObjectAssembler::new(mem, strict, "gw", 100 << 30);
    upgate::blob::conformance::run_all(Arc::new(a), 6 << 20).await;
}

/// The same with no memory budget for parts being filled: every byte goes through the
/// local spool file (what a thousand slow uploads at once do).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn object_assembler_spooling_every_byte() {
    use upgate::blob::object::strict::StrictMultipart;
    let mem = Arc::new(object_store::memory::InMemory::new());
    let strict = Arc::new(StrictMultipart::new(mem.clone()));
    let spool = tempfile::tempdir().unwrap();
    let a = upgate::blob::object::ObjectAssembler::new(mem, strict, "gw", 100 << 30)
        .with_spool_dir(spool.path().to_owned())
        .with_memory(0, 16);
    upgate::blob::conformance::run_all(Arc::new(a), 6 << 20).await;
    let left: Vec<_> = std::fs::read_dir(spool.path()).unwrap().collect();
    assert!(
        left.is_empty(),
        "spool files are unlinked at once: {left:?}"
    );
}

/// The same suite against a real S3-compatible server.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn object_assembler_on_s3_server() {
    use upgate::blob::object::strict::StrictMultipart;
    let s3 = common::s3_server::S3Server::start();
    let client = s3.client();
    // The strict wrapper too: equal part sizes are not checked by every server.
    let strict = Arc::new(StrictMultipart::new(client.clone()));
    let a = upgate::blob::object::ObjectAssembler::new(client, strict, "", 100 << 30);
    upgate::blob::conformance::run_all(Arc::new(a), 6 << 20).await;
}

/// The rules the object assembler must respect are real: two 100 KB parts are refused
/// by the strict wrapper and by the S3 server alike.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn small_parts_are_refused_by_wrapper_and_server() {
    use object_store::multipart::MultipartStore;
    use object_store::path::Path;
    use upgate::blob::object::strict::StrictMultipart;
    let s3 = common::s3_server::S3Server::start();
    let mem: Arc<dyn MultipartStore> = Arc::new(object_store::memory::InMemory::new());
    let stores: [Arc<dyn MultipartStore>; 2] = [Arc::new(StrictMultipart::new(mem)), s3.client()];
    for store in stores {
        let path = Path::from("small");
        let id = store.create_multipart(&path).await.unwrap();
        let mut parts = Vec::new();
        for i in 0..2 {
            let data = object_store::PutPayload::from(vec![7u8; 100_000]);
            parts.push(store.put_part(&path, &id, i, data).await.unwrap());
        }
        let err = store.complete_multipart(&path, &id, parts).await;
        assert!(err.is_err(), "two 100 KB parts accepted");
    }
}

/// The same suite on Azure (Azurite): blocks and a block list instead of S3 parts.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn object_assembler_on_azurite() {
    let az = common::azurite::Azurite::start();
    let client = az.client();
    let a = upgate::blob::object::ObjectAssembler::new(client.clone(), client, "gw", 100 << 30);
    upgate::blob::conformance::run_all(Arc::new(a), 6 << 20).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn local_rate_limiter() {
    upgate::ratelimit::conformance::run_all(
        Arc::new(upgate::ratelimit::local::LocalLimiter::new()),
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_rate_limiter() {
    let redis = RedisServer::start();
    let store = upgate::state::redis::RedisStore::connect(&redis.url(), "t:")
        .await
        .unwrap();
    let limiter = upgate::ratelimit::redis::RedisLimiter::new(store.connection(), store.prefix());
    upgate::ratelimit::conformance::run_all(Arc::new(limiter)).await;
}

/// An object store that counts the object reads in progress (from the request until its
/// body is dropped), each body starting 50 ms late so that reads allowed to overlap do.
#[derive(Debug)]
struct CountingReads {
    inner: Arc<object_store::memory::InMemory>,
    now: Arc<std::sync::atomic::AtomicUsize>,
    max: Arc<std::sync::atomic::AtomicUsize>,
    /// Bytes written to objects (not parts).
    put: Arc<std::sync::atomic::AtomicU64>,
}

impl CountingReads {
    /// An assembler on a fresh in-memory store whose object reads and writes this
    /// counts (multipart calls go through the strict checker), spooling to `spool`.
    fn assembler(spool: &std::path::Path) -> (Arc<Self>, upgate::blob::object::ObjectAssembler) {
        use upgate::blob::object::strict::StrictMultipart;
        let mem = Arc::new(object_store::memory::InMemory::new());
        let counted = Arc::new(Self {
            inner: mem.clone(),
            now: Default::default(),
            max: Default::default(),
            put: Default::default(),
        });
        let strict = Arc::new(StrictMultipart::new(mem));
        let a =
            upgate::blob::object::ObjectAssembler::new(counted.clone(), strict, "gw", 100 << 30)
                .with_spool_dir(spool.to_owned());
        (counted, a)
    }
}

impl std::fmt::Display for CountingReads {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "CountingReads")
    }
}

struct ReadInProgress(Arc<std::sync::atomic::AtomicUsize>);

impl Drop for ReadInProgress {
    fn drop(&mut self) {
        self.0.fetch_sub(1, std::sync::atomic::Ordering::SeqCst);
    }
}

#[async_trait::async_trait]
impl object_store::ObjectStore for CountingReads {
    async fn put_opts(
        &self,
        location: &object_store::path::Path,
        payload: object_store::PutPayload,
        opts: object_store::PutOptions,
    ) -> object_store::Result<object_store::PutResult> {
        self.put.fetch_add(
            payload.content_length() as u64,
            std::sync::atomic::Ordering::SeqCst,
        );
        self.inner.put_opts(location, payload, opts).await
    }

    async fn put_multipart_opts(
        &self,
        location: &object_store::path::Path,
        opts: object_store::PutMultipartOptions,
    ) -> object_store::Result<Box<dyn object_store::MultipartUpload>> {
        self.inner.put_multipart_opts(location, opts).await
    }

    async fn get_opts(
        &self,
        location: &object_store::path::Path,
        options: object_store::GetOptions,
    ) -> object_store::Result<object_store::GetResult> {
        use futures_util::StreamExt;
        use std::sync::atomic::Ordering;
        if options.head {
            return self.inner.get_opts(location, options).await;
        }
        let n = self.now.fetch_add(1, Ordering::SeqCst) + 1;
        self.max.fetch_max(n, Ordering::SeqCst);
        let live = ReadInProgress(self.now.clone());
        let mut got = self.inner.get_opts(location, options).await?;
        let object_store::GetResultPayload::Stream(s) = got.payload;
        let late =
            futures_util::stream::once(tokio::time::sleep(std::time::Duration::from_millis(50)))
                .filter_map(|()| std::future::ready(None));
        let body = late.chain(s).map(move |item| {
            let _live = &live;
            item
        });
        got.payload = object_store::GetResultPayload::Stream(body.boxed());
        Ok(got)
    }

    fn delete_stream(
        &self,
        locations: futures_util::stream::BoxStream<
            'static,
            object_store::Result<object_store::path::Path>,
        >,
    ) -> futures_util::stream::BoxStream<'static, object_store::Result<object_store::path::Path>>
    {
        self.inner.delete_stream(locations)
    }

    fn list(
        &self,
        prefix: Option<&object_store::path::Path>,
    ) -> futures_util::stream::BoxStream<'static, object_store::Result<object_store::ObjectMeta>>
    {
        self.inner.list(prefix)
    }

    async fn list_with_delimiter(
        &self,
        prefix: Option<&object_store::path::Path>,
    ) -> object_store::Result<object_store::ListResult> {
        self.inner.list_with_delimiter(prefix).await
    }

    async fn copy_opts(
        &self,
        from: &object_store::path::Path,
        to: &object_store::path::Path,
        options: object_store::CopyOptions,
    ) -> object_store::Result<()> {
        self.inner.copy_opts(from, to, options).await
    }
}

/// Resuming an upload reads nothing back from object storage (its tail is read only
/// when it must be sent again: in a part, or at completion), and the tails read back at
/// completion wait for the budget of bytes in flight: a storm of completions or
/// resumptions — a thousand clients retrying at once — no longer reads every tail at
/// once (> 900 MiB of S3 response buffers measured), nor re-reads a tail per retry.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn resuming_reads_no_tail_and_completions_stay_within_the_in_flight_budget() {
    use std::sync::atomic::Ordering;
    use upgate::blob::Assembler;
    let spool = tempfile::tempdir().unwrap();
    let (reads, a) = CountingReads::assembler(spool.path());
    // 2 MiB in flight: one 2 MiB tail at a time.
    let a = Arc::new(a.with_memory(0, 2));
    const MIB: usize = 1 << 20;
    // Upload 0 goes on past its first (8 MiB) part once resumed; the others are 2 MiB.
    let length = |i: u8| if i == 0 { 10 * MIB } else { 2 * MIB };
    let byte = |i: u8, at: usize| i.wrapping_mul(31).wrapping_add((at / 4096) as u8);
    let bytes = |i: u8, from: usize, to: usize| {
        bytes::Bytes::from((from..to).map(|at| byte(i, at)).collect::<Vec<u8>>())
    };
    let mut uploads = Vec::new();
    for i in 0..8u8 {
        let id = format!("up{i}");
        let created = a.create(&id, Some(length(i) as u64)).await.unwrap();
        let mut w = a.open(&id, 0, &created).await.unwrap();
        w.write(bytes(i, 0, 2 * MIB)).await.unwrap();
        let point = w.commit().await.unwrap();
        assert_eq!(point.offset, 2 * MIB as u64);
        uploads.push((id, point.assembly.unwrap()));
    }
    let opens = uploads.iter().cloned().map(|(id, asm)| {
        let a = a.clone();
        tokio::spawn(async move { a.open(&id, 2 * MIB as u64, &asm).await })
    });
    let mut writers = Vec::new();
    for r in futures_util::future::join_all(opens).await {
        writers.push(r.unwrap().unwrap());
    }
    assert_eq!(
        reads.max.load(Ordering::SeqCst),
        0,
        "resuming read a tail back"
    );
    // The resumed upload 0 fills its first part: the kept 2 MiB are read then.
    let mut w = writers.swap_remove(0);
    w.write(bytes(0, 2 * MIB, 10 * MIB)).await.unwrap();
    let point = w.commit().await.unwrap();
    assert_eq!(point.offset, 10 * MIB as u64);
    uploads[0].1 = point.assembly.unwrap();
    assert_eq!(reads.max.load(Ordering::SeqCst), 1);
    drop(writers);
    let completes = uploads.iter().cloned().enumerate().map(|(i, (id, asm))| {
        let a = a.clone();
        let len = length(i as u8) as u64;
        tokio::spawn(async move { a.complete(&id, len, &asm).await })
    });
    for r in futures_util::future::join_all(completes).await {
        r.unwrap().unwrap();
    }
    assert_eq!(
        reads.max.load(Ordering::SeqCst),
        1,
        "tails read back at once on completion"
    );
    for (i, (id, _)) in uploads.iter().enumerate() {
        use object_store::ObjectStoreExt;
        let got = reads
            .inner
            .get(&object_store::path::Path::from(format!("gw/uploads/{id}")))
            .await
            .unwrap()
            .bytes()
            .await
            .unwrap();
        assert!(got == bytes(i as u8, 0, length(i as u8)), "{id}");
    }
}

/// A slow upload (a commit every second, a few bytes each) writes its tail about once:
/// each commit adds a segment with what it adds, not the whole tail again (a thousand
/// 8 MiB uploads at 50 KB/s wrote ~30 MiB of tail objects each, and object storage was
/// busy with tails rather than parts). The segments, read back when the part they start
/// is sent, are fetched a few at a time.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_upload_writes_its_tail_about_once_and_reads_it_back_a_few_objects_at_a_time() {
    use std::sync::atomic::Ordering;
    use upgate::blob::Assembler;
    let spool = tempfile::tempdir().unwrap();
    let (counted, a) = CountingReads::assembler(spool.path());
    const KIB: usize = 1 << 10;
    const COMMITS: usize = 120;
    let len = (8 << 20) + 1000;
    let data: Vec<u8> = (0..len).map(|i| (i * 7 % 251) as u8).collect();
    let mut asm = a.create("slow", Some(len as u64)).await.unwrap();
    let mut w = a.open("slow", 0, &asm).await.unwrap();
    for k in 0..COMMITS {
        let chunk = bytes::Bytes::copy_from_slice(&data[k * KIB..(k + 1) * KIB]);
        w.write(chunk).await.unwrap();
        let point = w.commit().await.unwrap();
        assert_eq!(point.offset, ((k + 1) * KIB) as u64);
        asm = point.assembly.unwrap();
    }
    let written = counted.put.load(Ordering::SeqCst);
    let sent = (COMMITS * KIB) as u64;
    assert!(
        written <= sent + sent / 20,
        "{written} bytes of tail objects for {sent} bytes"
    );
    // Resumed (the tail stays where it is), then filled past the part: the segments
    // are read back to be sent in it, overlapping, within the bound.
    drop(w);
    let mut w = a.open("slow", sent, &asm).await.unwrap();
    assert_eq!(counted.max.load(Ordering::SeqCst), 0);
    let started = std::time::Instant::now();
    w.write(bytes::Bytes::copy_from_slice(&data[COMMITS * KIB..]))
        .await
        .unwrap();
    let point = w.commit().await.unwrap();
    assert_eq!(point.offset, len as u64);
    let overlapped = counted.max.load(Ordering::SeqCst);
    assert!(
        (2..=8).contains(&overlapped),
        "{overlapped} tail reads at once"
    );
    // Each read starts 50 ms late: one after the other, 120 would take 6 s.
    assert!(started.elapsed() < std::time::Duration::from_secs(3));
    a.complete("slow", len as u64, &point.assembly.unwrap())
        .await
        .unwrap();
    use object_store::ObjectStoreExt;
    let got = counted
        .inner
        .get(&object_store::path::Path::from("gw/uploads/slow"))
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    assert!(got == data, "the completed object differs");
}
