//! Test harness: gateways on 127.0.0.1:0, in process or as a child process, and small
//! HTTP helpers (reqwest for ordinary requests, raw TCP for cut connections).
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::Duration;

use sha2::{Digest, Sha256};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use upgate::blob::local::LocalAssembler;
use upgate::core::{CoreConfig, UploadService};
use upgate::server::{self, Limits};
use upgate::state::redb::RedbStore;

pub mod azurite;
pub mod freeze;
pub mod origin;
pub mod raw_http;
pub mod receiver;
pub mod redis_server;
pub mod s3_server;

/// The test partner (secrets from the spec's KS vectors).
pub const PARTNER: i64 = 12345;
pub const ADMIN_SECRET: &str = "0123456789abcdef0123456789abcdef";
pub const USER_SECRET: &str = "usersecret0123456789";
/// A second partner that issues v1 sessions.
pub const PARTNER_V1: i64 = 98765;
pub const ADMIN_SECRET_V1: &str = "fedcba9876543210fedcba9876543210";

/// Which output a test server logs its address on.
pub enum LogOn {
    Stdout,
    Stderr,
}

/// Starts a test server and reads its log until a line holds `marker`; returns the
/// process and the URL after the marker. The log keeps being drained so the server
/// never blocks on a full pipe. A missing binary or an early exit fails the test.
pub fn spawn_listening(cmd: &mut Command, log: LogOn, marker: &str) -> (Child, String) {
    match log {
        LogOn::Stdout => cmd.stdout(Stdio::piped()).stderr(Stdio::null()),
        LogOn::Stderr => cmd.stdout(Stdio::null()).stderr(Stdio::piped()),
    };
    let mut child = cmd.spawn().unwrap_or_else(|e| {
        panic!(
            "cannot start {:?} ({e}); run tests/run.sh to install it",
            cmd.get_program()
        )
    });
    let stream: Box<dyn std::io::Read + Send> = match log {
        LogOn::Stdout => Box::new(child.stdout.take().unwrap()),
        LogOn::Stderr => Box::new(child.stderr.take().unwrap()),
    };
    let mut lines = BufReader::new(stream).lines();
    let url = loop {
        let line = lines
            .next()
            .unwrap_or_else(|| panic!("{:?} exited before listening", cmd.get_program()))
            .unwrap();
        if let Some(url) = line.split(marker).nth(1) {
            break url.trim().to_owned();
        }
    };
    std::thread::spawn(move || for _ in lines {});
    (child, url)
}

/// One raw HTTP/1.1 request (`Connection: close`) to `base` (`http://HOST:PORT`);
/// returns the whole answer.
pub fn raw_request(base: &str, head: &str) -> String {
    use std::io::{Read, Write};
    let host = base.trim_start_matches("http://");
    let mut tcp = std::net::TcpStream::connect(host).unwrap();
    write!(
        tcp,
        "{head}\r\nHost: {host}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut answer = String::new();
    tcp.read_to_string(&mut answer).unwrap();
    answer
}

/// A v2 session of the test partner for `user`: `session_type` 0 (USER) or 2 (ADMIN),
/// valid for an hour.
pub fn user_ks(user: &str, session_type: i32) -> String {
    ks_v2(user, session_type, [3; 16])
}

/// [`user_ks`] with its random part given: distinct values make distinct sessions.
pub fn ks_v2(user: &str, session_type: i32, rand: [u8; 16]) -> String {
    upgate_proto::kaltura::ks::mint_v2(
        ADMIN_SECRET,
        &upgate_proto::kaltura::ks::KsFields {
            partner_id: PARTNER,
            expiry: upgate::model::now_secs() as i64 + 3600,
            session_type,
            user: user.into(),
            privileges: String::new(),
        },
        rand,
    )
}

/// A gateway served by a task of the test's own runtime.
pub struct Gateway {
    pub addr: SocketAddr,
    pub base: String,
    pub service: UploadService,
    pub dir: tempfile::TempDir,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<()>>,
}

impl Gateway {
    pub async fn start() -> Self {
        Self::start_with(CoreConfig::default(), Duration::from_secs(30)).await
    }

    pub async fn start_with(core: CoreConfig, body_timeout: Duration) -> Self {
        Self::start_full(core, body_timeout, 7 * 86400).await
    }

    /// With `--files-auth required`.
    pub async fn start_files_auth() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let state = Arc::new(RedbStore::open(&dir.path().join("state.redb")).unwrap());
        let blobs = Arc::new(LocalAssembler::new(dir.path().join("blobs")).unwrap());
        let service = UploadService::new(state, blobs, CoreConfig::default());
        Self::serve(dir, service, true).await
    }

    /// With a custom Kaltura resume window (seconds).
    pub async fn start_full(
        core: CoreConfig,
        body_timeout: Duration,
        max_resume_secs: i64,
    ) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let state = Arc::new(RedbStore::open(&dir.path().join("state.redb")).unwrap());
        let blobs = Arc::new(LocalAssembler::new(dir.path().join("blobs")).unwrap());
        let service = UploadService::new(state, blobs, core);
        Self::serve_opts(dir, service, false, body_timeout, max_resume_secs).await
    }

    /// On the embedded state store and the file store `blobs` makes (given the test
    /// directory).
    pub async fn start_on(
        core: CoreConfig,
        blobs: impl FnOnce(&std::path::Path) -> Arc<dyn upgate::blob::Assembler>,
    ) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let state = Arc::new(RedbStore::open(&dir.path().join("state.redb")).unwrap());
        let service = UploadService::new(state, blobs(dir.path()), core);
        Self::serve(dir, service, false).await
    }

    async fn serve(dir: tempfile::TempDir, service: UploadService, files_auth: bool) -> Self {
        Self::serve_opts(dir, service, files_auth, Duration::from_secs(30), 7 * 86400).await
    }

    async fn serve_opts(
        dir: tempfile::TempDir,
        service: UploadService,
        files_auth: bool,
        body_timeout: Duration,
        max_resume_secs: i64,
    ) -> Self {
        let partners = Arc::new(
            upgate::auth::Partners::from_specs(&[
                format!("{PARTNER}:{ADMIN_SECRET}:{USER_SECRET}"),
                format!("{PARTNER_V1}:{ADMIN_SECRET_V1}::v1"),
            ])
            .unwrap(),
        );
        let settings = upgate::app::ApiSettings {
            origins: upgate::api::cors::Origins::Any,
            require_auth: files_auth,
            body_timeout,
            final_chunk_wait: Duration::from_secs(5),
            max_resume_secs,
            lms_partner: Some(PARTNER),
            lms_root_account: "1".into(),
        };
        let router = Arc::new(upgate::app::router(
            service.clone(),
            partners,
            upgate::ratelimit::Limits::off(),
            settings,
        ));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let limits = Limits {
            max_connections: 256,
            header_timeout: Duration::from_secs(10),
            shutdown_grace: Duration::from_secs(5),
            trusted_proxies: Default::default(),
            tls: None,
        };
        let task = tokio::spawn(async move {
            server::serve(listener, router, limits, async {
                let _ = rx.await;
            })
            .await
            .unwrap();
        });
        Self {
            addr,
            base: format!("http://{addr}"),
            service,
            dir,
            stop: Some(tx),
            task: Some(task),
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    pub async fn shutdown(mut self) {
        if let Some(tx) = self.stop.take() {
            let _ = tx.send(());
        }
        if let Some(t) = self.task.take() {
            let _ = t.await;
        }
    }
}

/// A gateway running as a child process (`upgate serve`), for kill and RSS tests.
pub struct ChildGateway {
    pub child: Child,
    pub base: String,
    pub addr: SocketAddr,
}

impl ChildGateway {
    pub fn start(data_dir: &Path, extra: &[&str]) -> Self {
        Self::start_env(data_dir, extra, &[])
    }

    /// On the cluster backends (Redis state, S3 storage) with the test partner and
    /// otherwise default settings.
    pub fn start_on(
        redis: &redis_server::RedisServer,
        s3: &s3_server::S3Server,
        data_dir: &Path,
        extra: &[&str],
    ) -> Self {
        let partner = format!("{PARTNER}:{ADMIN_SECRET}:{USER_SECRET}");
        let (state, store) = (redis.url(), s3.store_url());
        let mut args = vec!["--partner", &partner, "--state", &state, "--store", &store];
        args.extend_from_slice(extra);
        Self::start_env(data_dir, &args, &s3_server::credentials())
    }

    /// With extra environment variables (object-store credentials).
    pub fn start_env(data_dir: &Path, extra: &[&str], env: &[(&str, &str)]) -> Self {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_upgate"));
        cmd.arg("serve");
        cmd.envs(env.iter().copied());
        if !extra.contains(&"--listen") {
            cmd.args(["--listen", "127.0.0.1:0"]);
        }
        let mut child = cmd
            .arg("--data-dir")
            .arg(data_dir)
            .args(extra)
            .env("UPGATE_LOG", "warn")
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("spawn upgate");
        let stdout = child.stdout.take().unwrap();
        let mut line = String::new();
        BufReader::new(stdout).read_line(&mut line).unwrap();
        let url = line
            .trim()
            .strip_prefix("listening on ")
            .unwrap_or_else(|| panic!("bad first line {line:?}"));
        let addr: SocketAddr = url.split("://").nth(1).unwrap_or(url).parse().unwrap();
        Self {
            child,
            base: url.to_owned(),
            addr,
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Peak resident set size (VmHWM) in KiB.
    pub fn peak_rss_kib(&self) -> u64 {
        rss_field(self.pid(), "VmHWM:")
    }

    /// Current resident set size (VmRSS) in KiB.
    pub fn rss_kib(&self) -> u64 {
        rss_field(self.pid(), "VmRSS:")
    }

    pub fn kill9(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    pub fn sigterm(&mut self) -> std::process::ExitStatus {
        let _ = Command::new("kill")
            .arg("-TERM")
            .arg(self.pid().to_string())
            .status();
        self.child.wait().unwrap()
    }
}

impl Drop for ChildGateway {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn rss_field(pid: u32, field: &str) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    status
        .lines()
        .find(|l| l.starts_with(field))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
        .unwrap()
}

pub fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(Duration::from_secs(120))
        .build()
        .unwrap()
}

/// Deterministic pseudo-random bytes.
pub fn data(len: usize, seed: u64) -> Vec<u8> {
    let mut x = seed
        .wrapping_mul(6364136223846793005)
        .wrapping_add(1442695040888963407)
        | 1;
    let mut out = Vec::with_capacity(len + 8);
    while out.len() < len {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        out.extend_from_slice(&x.to_le_bytes());
    }
    out.truncate(len);
    out
}

pub fn sha256_hex(data: &[u8]) -> String {
    hex(&Sha256::digest(data))
}

pub fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

pub fn header<'a>(r: &'a reqwest::Response, name: &str) -> Option<&'a str> {
    r.headers().get(name).and_then(|v| v.to_str().ok())
}

/// POST /files/ with a known length; returns the upload path (`/files/ID`).
pub async fn create(c: &reqwest::Client, base: &str, len: u64) -> String {
    create_with(c, base, len, &[]).await
}

/// [`create`] with more request headers.
pub async fn create_with(
    c: &reqwest::Client,
    base: &str,
    len: u64,
    headers: &[(&str, &str)],
) -> String {
    let mut rb = c
        .post(format!("{base}/files/"))
        .header("Tus-Resumable", "1.0.0")
        .header("Upload-Length", len.to_string());
    for (k, v) in headers {
        rb = rb.header(*k, *v);
    }
    let r = rb.send().await.unwrap();
    assert_eq!(r.status(), 201, "create");
    header(&r, "location").unwrap().to_owned()
}

/// The SHA-256 (hex) a `HEAD` with `Want-Digest: sha-256` answers for a finished upload.
pub async fn head_sha256(c: &reqwest::Client, url: &str) -> String {
    use base64::Engine;
    let r = c
        .head(url)
        .header("Tus-Resumable", "1.0.0")
        .header("Want-Digest", "sha-256")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200, "{url}");
    let b64 = header(&r, "digest")
        .unwrap()
        .strip_prefix("sha-256=")
        .unwrap();
    hex(&base64::engine::general_purpose::STANDARD
        .decode(b64)
        .unwrap())
}

pub async fn patch(
    c: &reqwest::Client,
    base: &str,
    path: &str,
    offset: u64,
    body: Vec<u8>,
) -> reqwest::Response {
    c.patch(format!("{base}{path}"))
        .header("Tus-Resumable", "1.0.0")
        .header("Upload-Offset", offset.to_string())
        .header("Content-Type", "application/offset+octet-stream")
        .body(body)
        .send()
        .await
        .unwrap()
}

pub async fn head_offset(c: &reqwest::Client, base: &str, path: &str) -> u64 {
    let r = c
        .head(format!("{base}{path}"))
        .header("Tus-Resumable", "1.0.0")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200, "HEAD {path}");
    header(&r, "upload-offset").unwrap().parse().unwrap()
}

pub async fn download(c: &reqwest::Client, base: &str, path: &str) -> Vec<u8> {
    fetch(c.get(format!("{base}{path}"))).await
}

/// Sends a GET (with whatever session the builder carries) and returns the body of its
/// `200` answer.
pub async fn fetch(req: reqwest::RequestBuilder) -> Vec<u8> {
    let r = req.send().await.unwrap();
    let url = r.url().to_string();
    assert_eq!(r.status(), 200, "GET {url}");
    r.bytes().await.unwrap().to_vec()
}

/// Sends a request head and the first `send` bytes of a body that announces `total`
/// bytes, then closes the connection abruptly (a dropped network).
pub async fn cut_patch(addr: SocketAddr, path: &str, offset: u64, body: &[u8], total: usize) {
    let mut s = TcpStream::connect(addr).await.unwrap();
    let head = format!(
        "PATCH {path} HTTP/1.1\r\nHost: {addr}\r\nTus-Resumable: 1.0.0\r\nUpload-Offset: {offset}\r\n\
         Content-Type: application/offset+octet-stream\r\nContent-Length: {total}\r\n\r\n"
    );
    s.write_all(head.as_bytes()).await.unwrap();
    s.write_all(body).await.unwrap();
    s.flush().await.unwrap();
    tokio::time::sleep(Duration::from_millis(200)).await;
    drop(s);
}

/// Opens a PATCH and streams `body` slowly without finishing; returns the stream so
/// the caller decides when it dies.
pub async fn open_patch(
    addr: SocketAddr,
    path: &str,
    offset: u64,
    first: &[u8],
    total: usize,
) -> TcpStream {
    let mut s = TcpStream::connect(addr).await.unwrap();
    let head = format!(
        "PATCH {path} HTTP/1.1\r\nHost: {addr}\r\nTus-Resumable: 1.0.0\r\nUpload-Offset: {offset}\r\n\
         Content-Type: application/offset+octet-stream\r\nContent-Length: {total}\r\n\r\n"
    );
    s.write_all(head.as_bytes()).await.unwrap();
    s.write_all(first).await.unwrap();
    s.flush().await.unwrap();
    s
}

/// Reads an HTTP/1.1 response head from a raw stream; returns the status code.
pub async fn read_status(s: &mut TcpStream) -> u16 {
    let mut buf = Vec::new();
    let mut b = [0u8; 1024];
    while !buf.windows(4).any(|w| w == b"\r\n\r\n") {
        let n = s.read(&mut b).await.unwrap();
        if n == 0 {
            break;
        }
        buf.extend_from_slice(&b[..n]);
    }
    let text = String::from_utf8_lossy(&buf);
    text.split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0)
}

/// Regular files under `dir` (recursively) whose path contains `needle` ("" for all).
pub fn files_with(dir: &Path, needle: &str) -> Vec<String> {
    let mut out = Vec::new();
    let Ok(rd) = std::fs::read_dir(dir) else {
        return out;
    };
    for e in rd.flatten() {
        let p = e.path();
        if p.is_dir() {
            out.extend(files_with(&p, needle));
        } else if p.to_string_lossy().contains(needle) {
            out.push(p.display().to_string());
        }
    }
    out
}

/// The body of `GET url` as text.
pub async fn get_text(url: &str) -> String {
    client()
        .get(url)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap()
}

/// One unlabelled metric's value from the gateway at `base` (0 before it is first
/// counted).
pub async fn metric(base: &str, name: &str) -> f64 {
    let text = get_text(&format!("{base}/metrics")).await;
    text.lines()
        .find_map(|l| l.strip_prefix(name)?.strip_prefix(' '))
        .map_or(0.0, |v| v.trim().parse().unwrap())
}

/// Polls until `f` is true or ~10 s pass.
pub async fn eventually<F, Fut>(mut f: F) -> bool
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    for _ in 0..200 {
        if f().await {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    false
}

pub fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// A TCP forwarder in front of a gateway that cuts the connection that is carrying
/// data when `cut_after` bytes in all have gone towards the server (a dropped Wi-Fi
/// link), once.
pub struct CutProxy {
    pub addr: SocketAddr,
    pub cut: Arc<std::sync::atomic::AtomicBool>,
    pub upstream_bytes: Arc<std::sync::atomic::AtomicU64>,
}

impl CutProxy {
    pub async fn start(target: SocketAddr, cut_after: u64) -> Self {
        Self::start_with(target, cut_after, false).await
    }

    /// Like [`CutProxy::start`], but a connection is cut only once the server's first
    /// bytes on it have reached the client: an upload created by a request that also
    /// carries its body (RUFH) is resumable only once the client has its URL (the
    /// interim `104`), which a busy machine may forward after the body passed the mark.
    pub async fn start_after_reply(target: SocketAddr, cut_after: u64) -> Self {
        Self::start_with(target, cut_after, true).await
    }

    async fn start_with(target: SocketAddr, cut_after: u64, after_reply: bool) -> Self {
        use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let cut = Arc::new(AtomicBool::new(false));
        let upstream_bytes = Arc::new(AtomicU64::new(0));
        let (cut2, up2) = (cut.clone(), upstream_bytes.clone());
        tokio::spawn(async move {
            loop {
                let Ok((client, _)) = listener.accept().await else {
                    return;
                };
                let Ok(server) = TcpStream::connect(target).await else {
                    return;
                };
                let (cut, up) = (cut2.clone(), up2.clone());
                tokio::spawn(async move {
                    let (mut cr, mut cw) = client.into_split();
                    let (mut sr, mut sw) = server.into_split();
                    let replied = Arc::new(AtomicBool::new(false));
                    let replied2 = replied.clone();
                    let down = tokio::spawn(async move {
                        let mut buf = vec![0u8; 64 * 1024];
                        while let Ok(n @ 1..) = sr.read(&mut buf).await {
                            if cw.write_all(&buf[..n]).await.is_err() {
                                break;
                            }
                            replied2.store(true, Ordering::SeqCst);
                        }
                    });
                    let mut buf = vec![0u8; 64 * 1024];
                    loop {
                        let n = match cr.read(&mut buf).await {
                            Ok(0) | Err(_) => break,
                            Ok(n) => n,
                        };
                        let before = up.fetch_add(n as u64, Ordering::SeqCst);
                        let may_cut = !after_reply || replied.load(Ordering::SeqCst);
                        if before + n as u64 > cut_after
                            && may_cut
                            && !cut.swap(true, Ordering::SeqCst)
                        {
                            break; // drop both directions mid-request
                        }
                        if sw.write_all(&buf[..n]).await.is_err() {
                            break;
                        }
                    }
                    down.abort();
                });
            }
        });
        Self {
            addr,
            cut,
            upstream_bytes,
        }
    }

    pub fn was_cut(&self) -> bool {
        self.cut.load(std::sync::atomic::Ordering::SeqCst)
    }
}

/// The text between the first `a` and the next `b`.
pub fn between<'a>(s: &'a str, a: &str, b: &str) -> Option<&'a str> {
    let i = s.find(a)? + a.len();
    let j = s[i..].find(b)? + i;
    Some(&s[i..j])
}

/// A `multipart/form-data` body: `(name, Some(file name) for a file part, bytes)`.
pub fn multipart(boundary: &str, fields: &[(&str, Option<&str>, &[u8])]) -> Vec<u8> {
    let mut b = Vec::new();
    for (name, file, data) in fields {
        b.extend_from_slice(
            format!("--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"").as_bytes(),
        );
        if let Some(f) = file {
            b.extend_from_slice(
                format!("; filename=\"{f}\"\r\nContent-Type: application/octet-stream").as_bytes(),
            );
        }
        b.extend_from_slice(b"\r\n\r\n");
        b.extend_from_slice(data);
        b.extend_from_slice(b"\r\n");
    }
    b.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
    b
}

/// POSTs an urlencoded form and returns the answer's text.
pub async fn post_form(url: &str, form: String) -> String {
    client()
        .post(url)
        .header("Content-Type", "application/x-www-form-urlencoded")
        .body(form)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap()
}

/// One `uploadToken.upload` chunk of `data` at `at` (`resume=1` past the start).
pub async fn upload_chunk(
    base: &str,
    ks: &str,
    token: &str,
    data: &[u8],
    at: usize,
    last: bool,
) -> serde_json::Value {
    let boundary = "----upgate-test-chunk";
    let mut form = format!(
        "--{boundary}\r\nContent-Disposition: form-data; name=\"fileData\"; filename=\"lecture.mp4\"\r\nContent-Type: application/octet-stream\r\n\r\n"
    )
    .into_bytes();
    form.extend_from_slice(data);
    form.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    let url = format!(
        "{base}/api_v3/service/uploadtoken/action/upload?uploadTokenId={token}&resume={}&resumeAt={at}&finalChunk={}&format=1&ks={ks}",
        u8::from(at > 0),
        u8::from(last)
    );
    let r = client()
        .post(url)
        .header(
            "Content-Type",
            format!("multipart/form-data; boundary={boundary}"),
        )
        .body(form)
        .send()
        .await
        .unwrap();
    serde_json::from_str(&r.text().await.unwrap()).unwrap()
}

/// Makes an API token for `user` through the admin API (as the test partner's admin):
/// its record (`id`, `user`, …) with the `token` itself.
pub async fn api_token_record(g: &Gateway, user: &str) -> serde_json::Value {
    let r = client()
        .post(g.url("/admin/tokens"))
        .bearer_auth(user_ks("admin", 2))
        .header("Content-Type", "application/json")
        .body(serde_json::json!({ "user": user }).to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    serde_json::from_str(&r.text().await.unwrap()).unwrap()
}

/// [`api_token_record`]'s token.
pub async fn api_token(g: &Gateway, user: &str) -> String {
    api_token_record(g, user).await["token"]
        .as_str()
        .unwrap()
        .to_owned()
}
