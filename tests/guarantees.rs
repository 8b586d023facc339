//! The core guarantees, each a test that fails if the guarantee breaks: one winner per
//! offset, bytes kept across hangups and stalls, kill -9 and restart, graceful shutdown,
//! and flat memory for a single huge PATCH.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::sync::Arc;
use std::time::Duration;

use common::s3_server::{self, S3Server};
use common::*;
use sha2::{Digest, Sha256};
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;

const MIB: usize = 1 << 20;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn eight_concurrent_patches_one_winner() {
    let g = Gateway::start().await;
    let c = client();
    let len = 8 * MIB;
    let up = create(&c, &g.base, len as u64).await;
    let mut tasks = Vec::new();
    for i in 0..8u64 {
        let (c, base, up) = (c.clone(), g.base.clone(), up.clone());
        tasks.push(tokio::spawn(async move {
            let body = data(len, 100 + i);
            let r = patch(&c, &base, &up, 0, body).await;
            (i, r.status().as_u16())
        }));
    }
    let mut winners = Vec::new();
    for t in tasks {
        let (i, status) = t.await.unwrap();
        assert!(
            matches!(status, 204 | 409 | 423),
            "unexpected status {status}"
        );
        if status == 204 {
            winners.push(i);
        }
    }
    assert_eq!(winners.len(), 1, "exactly one PATCH must win: {winners:?}");
    assert_eq!(head_offset(&c, &g.base, &up).await, len as u64);
    let got = download(&c, &g.base, &up).await;
    assert_eq!(got.len(), len, "stored length equals Upload-Offset");
    assert_eq!(sha256_hex(&got), sha256_hex(&data(len, 100 + winners[0])));
    g.shutdown().await;
}

/// Slow uploads do not hold tokio's blocking pool (local writers run on threads of
/// their own; digests are hashed a batch at a time): with a pool of 4 threads, 16
/// uploads stalled mid-body (half of them keeping a digest) leave room for another
/// upload to finish, and then finish too; so do 8 downloads whose readers stopped.
/// Before, 513 slow uploads on the default pool of 512 stalled every upload for good.
#[test]
fn slow_uploads_leave_the_blocking_pool_free() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .max_blocking_threads(4)
        .enable_all()
        .build()
        .unwrap();
    let within = Duration::from_secs(60);
    let run = async {
        let g = Gateway::start().await;
        let c = client();
        let body = data(256 << 10, 77);
        let len = body.len() as u64;
        let keep = [("Want-Digest", "sha-256")];
        let mut stalled = Vec::new();
        for i in 0..16 {
            let path = create_with(&c, &g.base, len, if i % 2 == 0 { &keep } else { &[] }).await;
            let s = open_patch(g.addr, &path, 0, &body[..100_000], body.len()).await;
            stalled.push((path, s));
        }
        tokio::time::sleep(Duration::from_millis(300)).await;
        let path = create(&c, &g.base, len).await;
        let r = tokio::time::timeout(
            Duration::from_secs(10),
            patch(&c, &g.base, &path, 0, body.clone()),
        )
        .await
        .expect("another upload is served while 16 stall");
        assert_eq!(r.status(), 204);
        for (i, (path, mut s)) in stalled.into_iter().enumerate() {
            s.write_all(&body[100_000..]).await.unwrap();
            let status = tokio::time::timeout(Duration::from_secs(10), read_status(&mut s)).await;
            assert_eq!(status.expect("the stalled upload finishes"), 204);
            if i % 2 == 0 {
                let url = g.url(&path);
                assert_eq!(head_sha256(&c, &url).await, sha256_hex(&body));
            }
        }
        // Downloads whose readers stopped reading hold no thread either.
        let big = data(16 * MIB, 78);
        let path = create(&c, &g.base, big.len() as u64).await;
        assert_eq!(patch(&c, &g.base, &path, 0, big).await.status(), 204);
        let mut readers = Vec::new();
        for _ in 0..8 {
            let mut s = TcpStream::connect(g.addr).await.unwrap();
            let head = format!("GET {path} HTTP/1.1\r\nHost: {}\r\n\r\n", g.addr);
            s.write_all(head.as_bytes()).await.unwrap();
            readers.push(s);
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
        let path = create(&c, &g.base, len).await;
        assert_eq!(
            patch(&c, &g.base, &path, 0, body.clone()).await.status(),
            204
        );
        drop(readers);
        g.shutdown().await;
    };
    rt.block_on(async { tokio::time::timeout(within, run).await })
        .expect("every upload is served within a minute");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn disconnect_mid_body_keeps_received_bytes() {
    let g = Gateway::start().await;
    let c = client();
    let d = data(4 * MIB, 9);
    let up = create(&c, &g.base, d.len() as u64).await;
    cut_patch(g.addr, &up, 0, &d[..MIB + 12345], d.len()).await;
    let kept = MIB as u64 + 12345;
    assert!(
        eventually(|| async { head_offset(&c, &g.base, &up).await == kept }).await,
        "HEAD must report the bytes that arrived before the hangup"
    );
    let r = patch(&c, &g.base, &up, kept, d[kept as usize..].to_vec()).await;
    assert_eq!(r.status(), 204);
    assert_eq!(
        sha256_hex(&download(&c, &g.base, &up).await),
        sha256_hex(&d)
    );
    g.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stalled_writer_is_taken_over_by_the_reconnecting_client() {
    let g = Gateway::start().await;
    let c = client();
    let d = data(3 * MIB, 10);
    let up = create(&c, &g.base, d.len() as u64).await;
    // The old connection stays open but silent (a laptop that went to sleep).
    let stalled = open_patch(g.addr, &up, 0, &d[..MIB], d.len()).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    // While it is fresh, a competing PATCH is refused (the lease is held).
    let r = patch(&c, &g.base, &up, 0, d.to_vec()).await;
    assert!(matches!(r.status().as_u16(), 409 | 423), "{}", r.status());
    tokio::time::sleep(Duration::from_millis(2500)).await;
    // After the stall threshold, HEAD stops the stalled writer and reports its bytes.
    assert_eq!(head_offset(&c, &g.base, &up).await, MIB as u64);
    let r = patch(&c, &g.base, &up, MIB as u64, d[MIB..].to_vec()).await;
    assert_eq!(r.status(), 204);
    assert_eq!(
        sha256_hex(&download(&c, &g.base, &up).await),
        sha256_hex(&d)
    );
    drop(stalled);
    g.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill9_mid_upload_then_restart_resumes() {
    let dir = tempfile::tempdir().unwrap();
    let d = data(20 * MIB, 11);
    let c = client();
    let mut gw = ChildGateway::start(dir.path(), &["--files-auth", "off"]);
    let up = create(&c, &gw.base, d.len() as u64).await;
    assert_eq!(
        patch(&c, &gw.base, &up, 0, d[..8 * MIB].to_vec())
            .await
            .status(),
        204
    );
    // Second PATCH: 5 MiB of 12 MiB sent, then the server dies mid-body.
    let mut s = open_patch(
        gw.addr,
        &up,
        8 * MIB as u64,
        &d[8 * MIB..13 * MIB],
        12 * MIB,
    )
    .await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    gw.kill9();
    let _ = s.shutdown().await;
    let gw = ChildGateway::start(dir.path(), &["--files-auth", "off"]);
    let offset = head_offset(&c, &gw.base, &up).await;
    assert!(
        (8 * MIB as u64..=13 * MIB as u64).contains(&offset),
        "offset after restart: {offset}"
    );
    let r = patch(&c, &gw.base, &up, offset, d[offset as usize..].to_vec()).await;
    assert_eq!(r.status(), 204);
    assert_eq!(
        sha256_hex(&download(&c, &gw.base, &up).await),
        sha256_hex(&d)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_commits_in_flight_chunk_then_exits() {
    let dir = tempfile::tempdir().unwrap();
    let d = data(10 * MIB, 12);
    let c = client();
    let mut gw = ChildGateway::start(
        dir.path(),
        &["--files-auth", "off", "--shutdown-grace", "5s"],
    );
    let up = create(&c, &gw.base, d.len() as u64).await;
    let mut s = open_patch(gw.addr, &up, 0, &d[..3 * MIB], d.len()).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let status = gw.sigterm();
    assert!(status.success(), "graceful exit, got {status:?}");
    // The in-flight request got an answer (503: retry later) before the process exited.
    let code = read_status(&mut s).await;
    assert_eq!(code, 503);
    let gw = ChildGateway::start(dir.path(), &["--files-auth", "off"]);
    assert_eq!(head_offset(&c, &gw.base, &up).await, 3 * MIB as u64);
    let r = patch(&c, &gw.base, &up, 3 * MIB as u64, d[3 * MIB..].to_vec()).await;
    assert_eq!(r.status(), 204);
    assert_eq!(
        sha256_hex(&download(&c, &gw.base, &up).await),
        sha256_hex(&d)
    );
}

/// A single 2 GiB PATCH streams through bounded buffers: it is accepted and the server's
/// resident memory does not grow with it. Prints the figures.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn single_2gib_patch_flat_rss() {
    let dir = tempfile::tempdir().unwrap();
    let c = client();
    let gw = ChildGateway::start(dir.path(), &["--files-auth", "off"]);
    let total: u64 = 2 << 30;
    let up = create(&c, &gw.base, total).await;
    // Warm up: a small upload so the baseline includes the runtime's steady state.
    let warm = create(&c, &gw.base, MIB as u64).await;
    assert_eq!(
        patch(&c, &gw.base, &warm, 0, data(MIB, 1)).await.status(),
        204
    );
    let before = gw.rss_kib();
    let mut s = open_patch(gw.addr, &up, 0, &[], total as usize).await;
    let block = data(4 * MIB, 13);
    let mut hasher = Sha256::new();
    let mut sent = 0u64;
    let mut i = 0u64;
    let started = std::time::Instant::now();
    while sent < total {
        let mut b = block.clone();
        b[..8].copy_from_slice(&i.to_le_bytes()); // every block distinct
        hasher.update(&b);
        s.write_all(&b).await.unwrap();
        sent += b.len() as u64;
        i += 1;
    }
    s.flush().await.unwrap();
    let code = read_status(&mut s).await;
    let secs = started.elapsed().as_secs_f64();
    assert_eq!(code, 204);
    let peak = gw.peak_rss_kib();
    println!(
        "2 GiB PATCH: {:.0} MB/s (debug build), RSS before {} KiB, peak {} KiB, growth {} KiB",
        total as f64 / secs / 1e6,
        before,
        peak,
        peak.saturating_sub(before)
    );
    assert!(
        peak.saturating_sub(before) < 32 * 1024,
        "RSS grew by {} KiB",
        peak - before
    );
    assert_eq!(head_offset(&c, &gw.base, &up).await, total);
    let id = up.trim_start_matches("/files/");
    let file = dir.path().join("blobs/complete").join(id);
    assert_eq!(std::fs::metadata(&file).unwrap().len(), total);
    let mut f = std::fs::File::open(&file).unwrap();
    let mut h2 = Sha256::new();
    let mut buf = vec![0u8; 4 * MIB];
    loop {
        let n = std::io::Read::read(&mut f, &mut buf).unwrap();
        if n == 0 {
            break;
        }
        h2.update(&buf[..n]);
    }
    assert_eq!(hex(&h2.finalize()), hex(&hasher.finalize()));
}

/// Writes `data` to a raw stream at about `rate` bytes per second.
async fn trickle(s: &mut TcpStream, data: &[u8], rate: usize) {
    let step = 64 << 10;
    let t0 = std::time::Instant::now();
    for (i, piece) in data.chunks(step).enumerate() {
        s.write_all(piece).await.unwrap();
        s.flush().await.unwrap();
        let due = Duration::from_secs_f64(((i + 1) * step) as f64 / rate as f64);
        if let Some(wait) = due.checked_sub(t0.elapsed()) {
            tokio::time::sleep(wait).await;
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill9_keeps_what_arrived_more_than_a_second_before() {
    kill9_keeps_what_arrived(&["--files-auth", "off"], &[], "local store").await;
}

/// On object storage the unit is the commit (`--store-commit-interval`, 1 s): the
/// bytes of a stalled client are committed as a tail segment while it is quiet.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill9_keeps_what_arrived_more_than_a_second_before_on_s3() {
    let s3 = S3Server::start_s3s_fs();
    let store = s3.store_url();
    kill9_keeps_what_arrived(
        &["--files-auth", "off", "--store", &store],
        &s3_server::credentials(),
        "S3 (s3s-fs)",
    )
    .await;
    // The tail of the upload lived in segments: the finished upload left none behind.
    let left: Vec<_> = walk(&s3.root_dir().join(s3_server::BUCKET).join("tmp"));
    assert!(left.is_empty(), "objects left behind: {left:?}");
}

/// Object storage, a client still streaming when the gateway dies: what it had sent
/// more than a second before the kill survives (parts, and tail segments of the rest).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill9_mid_stream_on_s3_keeps_all_but_the_last_second() {
    let s3 = S3Server::start_s3s_fs();
    let store = s3.store_url();
    let args = ["--files-auth", "off", "--store", &store];
    let env = s3_server::credentials();
    let dir = tempfile::tempdir().unwrap();
    let d = data(40 * MIB, 33);
    let c = client();
    let mut gw = ChildGateway::start_env(dir.path(), &args, &env);
    let up = create(&c, &gw.base, d.len() as u64).await;
    let mut s = open_patch(gw.addr, &up, 0, &[], d.len()).await;
    // 3 MB/s: a part (8 MiB) takes longer than the interval to fill.
    let (rate, step) = (3_000_000usize, 64 << 10);
    let t0 = std::time::Instant::now();
    let kill_at = Duration::from_millis(4500);
    let mut sent_by = Vec::new();
    let mut sent = 0usize;
    while t0.elapsed() < kill_at {
        s.write_all(&d[sent..sent + step]).await.unwrap();
        s.flush().await.unwrap();
        sent += step;
        sent_by.push((t0.elapsed(), sent));
        let due = Duration::from_secs_f64(sent as f64 / rate as f64);
        if let Some(wait) = due.checked_sub(t0.elapsed()) {
            tokio::time::sleep(wait).await;
        }
    }
    gw.kill9();
    let killed = t0.elapsed();
    drop(s);
    let before = sent_by
        .iter()
        .rev()
        .find(|(t, _)| *t + Duration::from_secs(1) <= killed)
        .map_or(0, |(_, n)| *n) as u64;
    let gw = ChildGateway::start_env(dir.path(), &args, &env);
    let offset = head_offset(&c, &gw.base, &up).await;
    eprintln!(
        "S3 mid-stream kill -9 at {:.2} s: {sent} bytes sent, {before} of them 1 s before; {offset} kept",
        killed.as_secs_f64()
    );
    assert!(
        offset >= before,
        "kept {offset} < {before} sent a second before"
    );
    assert!(offset <= sent as u64);
    let r = patch(&c, &gw.base, &up, offset, d[offset as usize..].to_vec()).await;
    assert_eq!(r.status(), 204);
    assert_eq!(
        sha256_hex(&download(&c, &gw.base, &up).await),
        sha256_hex(&d)
    );
}

fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let Ok(rd) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    rd.flatten()
        .flat_map(|e| match e.path().is_dir() {
            true => walk(&e.path()),
            false => vec![e.path()],
        })
        .collect()
}

async fn kill9_keeps_what_arrived(args: &[&str], env: &[(&str, &str)], what: &str) {
    let dir = tempfile::tempdir().unwrap();
    let d = data(40 * MIB, 31);
    let c = client();
    let mut gw = ChildGateway::start_env(dir.path(), args, env);
    let up = create(&c, &gw.base, d.len() as u64).await;
    // 3 s at 8 MB/s (no commit point: under 64 MiB and 5 s), plus a last odd piece;
    // then the client goes quiet and the gateway is killed 1.2 s later.
    let sent = 24_000_000 + 1_234;
    let mut s = open_patch(gw.addr, &up, 0, &[], d.len()).await;
    trickle(&mut s, &d[..sent], 8_000_000).await;
    tokio::time::sleep(Duration::from_millis(1200)).await;
    gw.kill9();
    drop(s);
    let gw = ChildGateway::start_env(dir.path(), args, env);
    let offset = head_offset(&c, &gw.base, &up).await;
    eprintln!("{what}: kill -9 after {sent} bytes sent (1.2 s before): {offset} kept");
    assert_eq!(offset, sent as u64, "every byte that arrived survived");
    let r = patch(&c, &gw.base, &up, offset, d[sent..].to_vec()).await;
    assert_eq!(r.status(), 204);
    assert_eq!(
        sha256_hex(&download(&c, &gw.base, &up).await),
        sha256_hex(&d)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill9_never_keeps_an_unverified_body() {
    use base64::Engine;
    let dir = tempfile::tempdir().unwrap();
    let d = data(8 * MIB, 32);
    let c = client();
    let mut gw = ChildGateway::start(dir.path(), &["--files-auth", "off"]);
    let up = create(&c, &gw.base, d.len() as u64).await;
    // A checksummed PATCH cut short: its bytes were never verified, so none count.
    let digest = base64::engine::general_purpose::STANDARD.encode(Sha256::digest(&d));
    let mut s = TcpStream::connect(gw.addr).await.unwrap();
    let head = format!(
        "PATCH {up} HTTP/1.1\r\nHost: x\r\nTus-Resumable: 1.0.0\r\nUpload-Offset: 0\r\n\
         Upload-Checksum: sha256 {digest}\r\nContent-Type: application/offset+octet-stream\r\n\
         Content-Length: {}\r\n\r\n",
        d.len()
    );
    s.write_all(head.as_bytes()).await.unwrap();
    trickle(&mut s, &d[..5 * MIB], 8_000_000).await;
    tokio::time::sleep(Duration::from_millis(1200)).await;
    gw.kill9();
    drop(s);
    let gw = ChildGateway::start(dir.path(), &["--files-auth", "off"]);
    assert_eq!(head_offset(&c, &gw.base, &up).await, 0);
}

/// A file store whose commits take `delay` and whose assemblies take `finish_delay` (an
/// object store behind a thousand uploads finishing at once), and counts the commits.
struct SlowCommits {
    inner: upgate::blob::local::LocalAssembler,
    delay: Duration,
    finish_delay: Duration,
    commits: Arc<std::sync::atomic::AtomicU32>,
}

struct SlowWriter {
    inner: Box<dyn upgate::blob::BlobWriter>,
    delay: Duration,
    commits: Arc<std::sync::atomic::AtomicU32>,
}

type BlobResult<T> = Result<T, upgate::blob::BlobError>;

#[async_trait::async_trait]
impl upgate::blob::BlobWriter for SlowWriter {
    async fn write(&mut self, data: bytes::Bytes) -> BlobResult<()> {
        self.inner.write(data).await
    }
    async fn absorb(&mut self, range: &upgate::model::StagedRange, from: u64) -> BlobResult<()> {
        self.inner.absorb(range, from).await
    }
    async fn absorb_upload(&mut self, other_id: &str, len: u64) -> BlobResult<()> {
        self.inner.absorb_upload(other_id, len).await
    }
    async fn commit(&mut self) -> BlobResult<upgate::blob::CommitPoint> {
        self.commits
            .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        tokio::time::sleep(self.delay).await;
        self.inner.commit().await
    }
}

#[async_trait::async_trait]
impl upgate::blob::Assembler for SlowCommits {
    async fn create(&self, id: &str, length: Option<u64>) -> BlobResult<String> {
        self.inner.create(id, length).await
    }
    async fn open(
        &self,
        id: &str,
        offset: u64,
        assembly: &str,
    ) -> BlobResult<Box<dyn upgate::blob::BlobWriter>> {
        Ok(Box::new(SlowWriter {
            inner: self.inner.open(id, offset, assembly).await?,
            delay: self.delay,
            commits: self.commits.clone(),
        }))
    }
    async fn stage(&self, id: &str, start: u64) -> BlobResult<Box<dyn upgate::blob::StageWriter>> {
        self.inner.stage(id, start).await
    }
    async fn discard_staged(&self, id: &str, key: &str) -> BlobResult<()> {
        self.inner.discard_staged(id, key).await
    }
    async fn complete(&self, id: &str, length: u64, assembly: &str) -> BlobResult<()> {
        tokio::time::sleep(self.finish_delay).await;
        self.inner.complete(id, length, assembly).await
    }
    async fn read(
        &self,
        id: &str,
        start: u64,
        end: u64,
        complete: bool,
    ) -> BlobResult<upgate::blob::ByteStream> {
        self.inner.read(id, start, end, complete).await
    }
    async fn delete(&self, id: &str, assembly: &str) -> BlobResult<()> {
        self.inner.delete(id, assembly).await
    }
}

/// A storage step that outlasts the lease TTL (a commit waiting its turn behind a
/// thousand others) keeps the lease: a client retrying meanwhile does not take the
/// upload over and redo the work while the first holder's commit is fenced — which,
/// with every new holder waiting as long, never ended (1,000 slow uploads on S3).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_storage_step_longer_than_the_lease_keeps_it() {
    let commits = Arc::new(std::sync::atomic::AtomicU32::new(0));
    let counted = commits.clone();
    let core = upgate::core::CoreConfig {
        lease_ttl: Duration::from_millis(300),
        ..Default::default()
    };
    let g = Gateway::start_on(core, move |dir| {
        Arc::new(SlowCommits {
            inner: upgate::blob::local::LocalAssembler::new(dir.join("blobs")).unwrap(),
            delay: Duration::from_millis(1500),
            finish_delay: Duration::ZERO,
            commits: counted,
        })
    })
    .await;
    let c = client();
    let path = create(&c, &g.base, 20).await;
    let first = {
        let (c, base, path) = (c.clone(), g.base.clone(), path.clone());
        tokio::spawn(async move { patch(&c, &base, &path, 0, b"0123456789".to_vec()).await })
    };
    // Well past the TTL, while the first request is still committing: a client that
    // gave up on its answer sends the same bytes again.
    tokio::time::sleep(Duration::from_millis(800)).await;
    let again = patch(&c, &g.base, &path, 0, b"0123456789".to_vec()).await;
    let first = first.await.unwrap();
    assert_eq!(first.status(), 204, "the holder's commit was fenced");
    assert_eq!(header(&first, "upload-offset"), Some("10"));
    // The retry waited for the holder, then found the bytes there.
    assert_eq!(again.status(), 409, "{}", again.status());
    assert_eq!(head_offset(&c, &g.base, &path).await, 10);
    let n = commits.load(std::sync::atomic::Ordering::SeqCst);
    assert_eq!(n, 1, "the bytes were committed {n} times");
}

/// A client that asks for the digest once its upload reached its length, while the
/// assembly still waits for slow storage, gets it: every byte is durable already and the
/// running digest covers them (1,000 slow uploads on S3: 225 clients were answered
/// without a `Digest` and gave up).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_filled_upload_still_assembling_answers_its_digest() {
    let g = Gateway::start_on(Default::default(), move |dir| {
        Arc::new(SlowCommits {
            inner: upgate::blob::local::LocalAssembler::new(dir.join("blobs")).unwrap(),
            delay: Duration::ZERO,
            finish_delay: Duration::from_millis(2500),
            commits: Default::default(),
        })
    })
    .await;
    let c = client();
    let path = create_with(&c, &g.base, 10, &[("Want-Digest", "sha-256")]).await;
    let last = {
        let (c, base, path) = (c.clone(), g.base.clone(), path.clone());
        tokio::spawn(async move { patch(&c, &base, &path, 0, b"0123456789".to_vec()).await })
    };
    tokio::time::sleep(Duration::from_millis(700)).await;
    let asked = std::time::Instant::now();
    let r = c
        .head(format!("{}{path}", g.base))
        .header("Tus-Resumable", "1.0.0")
        .header("Want-Digest", "sha-256")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(header(&r, "upload-offset"), Some("10"));
    assert!(
        !last.is_finished(),
        "the assembly was over before the question"
    );
    use base64::Engine;
    let want = base64::engine::general_purpose::STANDARD.encode(Sha256::digest(b"0123456789"));
    assert_eq!(
        header(&r, "digest"),
        Some(format!("sha-256={want}").as_str())
    );
    assert!(
        asked.elapsed() < Duration::from_millis(1500),
        "{:?}",
        asked.elapsed()
    );
    assert_eq!(last.await.unwrap().status(), 204);
}
