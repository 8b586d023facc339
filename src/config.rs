//! Command line and environment (`UPGATE_*`), validated into typed values.
//! Every flag of `serve` has an environment twin; `--print-config` prints the merged
//! result as JSON and exits.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Parser, Subcommand};
use serde::Serialize;
use upgate_proto::size::{parse_duration, parse_size};

#[derive(Debug, Parser)]
#[command(
    name = "upgate",
    version,
    about = "Resumable chunked upload gateway (tus 1.0 + ranged PUT)"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
    /// Log format on stderr: `text` (for people) or `json` (one object per line, with
    /// the request id of each request's lines).
    #[arg(long, global = true, env = "UPGATE_LOG_FORMAT", default_value = "text", value_parser = ["text", "json"])]
    pub log_format: String,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the gateway.
    Serve(Box<ServeArgs>),
    /// Print a Kaltura session (KS) signed with a partner's admin secret.
    Ks(KsArgs),
    /// Upload files or directories; re-running the same command resumes.
    Push(PushArgs),
    /// Manage API tokens for the Canvas-facing endpoints (through a running gateway).
    #[command(subcommand)]
    Token(TokenCmd),
    /// Copy recordings into the gateway by URL (the gateway pulls them), and find Zoom
    /// recordings that never arrived before Zoom deletes them.
    #[command(subcommand)]
    Import(ImportCmd),
}

/// Where a client command goes and who it is (`upgate push`, `upgate import`).
#[derive(Debug, Clone, Args)]
pub struct Credentials {
    /// Gateway base URL.
    #[arg(long, env = "UPGATE_URL", default_value = "http://127.0.0.1:8080")]
    pub url: String,
    /// A Kaltura session to authenticate with.
    #[arg(long, env = "UPGATE_KS")]
    pub ks: Option<String>,
    /// Partner id, to start a session with --secret and --user.
    #[arg(long)]
    pub partner_id: Option<i64>,
    /// Partner secret (user or admin) for starting a session.
    #[arg(long, env = "UPGATE_SECRET")]
    pub secret: Option<String>,
    /// User id of the session.
    #[arg(long, default_value = "")]
    pub user: String,
}

impl Credentials {
    /// The client's authentication, or why the flags do not make one.
    pub fn auth(&self) -> Result<crate::client::Auth, String> {
        use crate::client::Auth;
        match (&self.ks, self.partner_id, &self.secret) {
            (Some(ks), _, _) => Ok(Auth::Ks(ks.clone())),
            (None, Some(partner_id), Some(secret)) => Ok(Auth::Secret {
                partner_id,
                secret: secret.clone(),
                user: self.user.clone(),
            }),
            (None, Some(_), None) | (None, None, Some(_)) => {
                Err("--partner-id and --secret go together".into())
            }
            _ => Ok(Auth::None),
        }
    }
}

/// `upgate import …`
#[derive(Debug, Clone, Subcommand)]
pub enum ImportCmd {
    /// Import the recordings of a Zoom "list recordings" answer (JSON): one entry per
    /// meeting (name: topic and date, referenceId: meeting UUID) with the MP4 as content,
    /// the M4A as a second (audio) entry, the transcript as captions. Meetings already
    /// imported are skipped, so re-running resumes.
    Zoom {
        #[command(flatten)]
        cred: Credentials,
        /// The JSON of Zoom's `GET /users/{id}/recordings` (`meetings[]`).
        #[arg(long)]
        recordings: PathBuf,
        /// A header the gateway sends to the download URLs (e.g. 'Authorization: Bearer …').
        #[arg(long = "header")]
        headers: Vec<String>,
        /// Do not import the audio-only (M4A) files.
        #[arg(long)]
        skip_audio: bool,
        #[command(flatten)]
        run: ImportRun,
    },
    /// Import every URL of FILE (one per line: `URL [name]`; `#` comments).
    Urls {
        #[command(flatten)]
        cred: Credentials,
        file: PathBuf,
        /// A header the gateway sends to the URLs.
        #[arg(long = "header")]
        headers: Vec<String>,
        #[command(flatten)]
        run: ImportRun,
    },
    /// List the recordings of a Zoom Recordings export (CSV) that are not in your media,
    /// with the days left before Zoom's 30-day deletion, soonest first.
    Report {
        #[command(flatten)]
        cred: Credentials,
        /// The CSV the Zoom Recordings page exports.
        #[arg(long)]
        zoom_csv: PathBuf,
        /// Today, for the days left (YYYY-MM-DD or RFC 3339; default: now).
        #[arg(long)]
        now: Option<String>,
        /// Days Zoom keeps a recording.
        #[arg(long, default_value_t = 30)]
        retention_days: i64,
        /// Print one JSON document instead of a table.
        #[arg(long)]
        json: bool,
    },
}

/// How `upgate import zoom|urls` runs.
#[derive(Debug, Clone, Args)]
pub struct ImportRun {
    /// Print one JSON document of results on stdout instead of progress bars.
    #[arg(long)]
    pub json: bool,
    /// Give up waiting for one import after this long.
    #[arg(long, default_value = "6h", value_parser = duration)]
    pub timeout: Duration,
    /// Attempts per API request before giving up.
    #[arg(long, default_value_t = 20)]
    pub retries: u32,
}

/// `upgate token …`
#[derive(Debug, Clone, Subcommand)]
pub enum TokenCmd {
    /// Create a token for a user; the token is printed once, on the last line.
    Create {
        #[arg(long)]
        user: String,
        /// Partner of the token (default: the admin session's).
        #[arg(long)]
        partner: Option<i64>,
        #[arg(long)]
        admin: bool,
        #[command(flatten)]
        conn: AdminConn,
    },
    /// List the partner's tokens (ids and users; never the tokens).
    List {
        #[command(flatten)]
        conn: AdminConn,
    },
    /// Revoke a token by its id.
    Revoke {
        id: String,
        #[command(flatten)]
        conn: AdminConn,
    },
}

/// How `upgate token` reaches the gateway: its URL and an ADMIN session.
#[derive(Debug, Clone, Args)]
pub struct AdminConn {
    #[arg(long, env = "UPGATE_URL", default_value = "http://127.0.0.1:8080")]
    pub url: String,
    /// An ADMIN KS of the partner.
    #[arg(long, env = "UPGATE_KS")]
    pub ks: Option<String>,
    /// Or: the partner id and its admin secret, to mint one.
    #[arg(long)]
    pub partner_id: Option<i64>,
    #[arg(long, env = "UPGATE_ADMIN_SECRET")]
    pub secret: Option<String>,
}

/// Flags of `upgate push`.
#[derive(Debug, Clone, Args)]
pub struct PushArgs {
    /// Files and directories (recursively) to upload.
    #[arg(required = true)]
    pub paths: Vec<PathBuf>,
    #[command(flatten)]
    pub cred: Credentials,
    /// Wire protocol.
    #[arg(long, value_enum, default_value = "files")]
    pub protocol: crate::client::Protocol,
    /// Bytes per request. 8 MiB: large enough for full speed, small enough that a
    /// drop costs little.
    #[arg(long, default_value = "8MiB", value_parser = size)]
    pub chunk_size: u64,
    /// Chunks in flight per file (1: sequential PATCH with per-chunk checksums; `ietf`
    /// is always sequential).
    #[arg(long, default_value_t = 4)]
    pub parallel: usize,
    /// Files uploaded at once when pushing a directory.
    #[arg(long, default_value_t = 2)]
    pub files_parallel: usize,
    /// Checksum algorithm for per-chunk checks (the whole file is always verified with SHA-256).
    #[arg(long, value_parser = ["sha256"])]
    pub checksum: Option<String>,
    /// Kaltura: make a media entry of each uploaded file.
    #[arg(long)]
    pub create_entry: bool,
    /// Name of the media entry (default: the file name).
    #[arg(long)]
    pub name: Option<String>,
    /// Print machine-readable results (JSON) on stdout instead of progress bars.
    #[arg(long)]
    pub json: bool,
    /// Where resume state is kept (default: $XDG_STATE_HOME/upgate or ~/.local/state/upgate).
    #[arg(long, env = "UPGATE_STATE_DIR")]
    pub state_dir: Option<PathBuf>,
    /// Limit the upload rate (bytes per second, e.g. 1MiB); 0 = no limit.
    #[arg(long, default_value = "0", value_parser = size)]
    pub limit_rate: u64,
    /// Attempts per request the server answered with an error before giving up
    /// (backoff up to 30 s between them).
    #[arg(long, default_value_t = 20)]
    pub retries: u32,
    /// A request whose body made no progress for this long is abandoned and resumed on a
    /// fresh connection, instead of waiting for TCP to notice the network is back; 0 =
    /// never. Raise it on links slower than about 1 Mbit/s.
    #[arg(long, default_value = "3s", value_parser = duration)]
    pub stall: Duration,
    /// How long to keep trying while the network is away (no connection can be made,
    /// or every request stalls): probes about every second, then gives up.
    #[arg(long, default_value = "10m", value_parser = duration)]
    pub patience: Duration,
}

/// Flags of `upgate ks`.
#[derive(Debug, Clone, Args)]
pub struct KsArgs {
    /// Partner id.
    #[arg(long)]
    pub partner_id: i64,
    /// The partner's admin secret (signs the KS).
    #[arg(long, env = "UPGATE_KS_SECRET")]
    pub secret: String,
    /// User id the session acts for.
    #[arg(long, default_value = "")]
    pub user: String,
    /// An ADMIN session (type 2) instead of a USER session (type 0).
    #[arg(long)]
    pub admin: bool,
    /// Lifetime in seconds.
    #[arg(long, default_value_t = 86_400)]
    pub expiry: i64,
    /// Privileges, e.g. `edit:*,sview:*`.
    #[arg(long, default_value = "")]
    pub privileges: String,
    /// Issue a v1 KS (default v2).
    #[arg(long)]
    pub v1: bool,
}

fn size(s: &str) -> Result<u64, String> {
    parse_size(s).map_err(|e| e.to_string())
}

/// A byte rate: `50MiB/s`, `10Mbit/s` is not accepted (bytes only), `0` = off.
fn byte_rate(s: &str) -> Result<u64, String> {
    let t = s.trim();
    let t = t.strip_suffix("/s").unwrap_or(t);
    parse_size(t).map_err(|e| e.to_string())
}

fn duration(s: &str) -> Result<Duration, String> {
    parse_duration(s).map_err(|e| e.to_string())
}

/// Authentication on the native protocol.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum FilesAuth {
    Off,
    Required,
}

/// Flags of `upgate serve`. Defaults are chosen for one machine serving lecture videos.
#[derive(Debug, Clone, Args, Serialize)]
pub struct ServeArgs {
    /// Address to listen on. Port 0 picks a free port; the real one is printed as
    /// `listening on http://IP:PORT` (the only line on stdout).
    #[arg(long, env = "UPGATE_LISTEN", default_value = "127.0.0.1:8080")]
    pub listen: SocketAddr,

    /// Directory for the embedded state and the local blob store.
    #[arg(long, env = "UPGATE_DATA_DIR", default_value = "./upgate-data")]
    pub data_dir: PathBuf,

    /// Upload state store. Default `redb://<data-dir>/state.redb`: embedded, durable
    /// (fsync per commit), one process per file.
    /// `redis://HOST:PORT/DB` or `redis+unix:///path/redis.sock` share the state
    /// between several gateways (see README "Run a cluster").
    #[arg(long, env = "UPGATE_STATE")]
    pub state: Option<String>,

    /// A writer's lease on an upload lasts this long without renewal (writers renew it
    /// while bytes arrive). When an instance dies mid-chunk, another instance can take
    /// the upload over after this. Default 10 s.
    #[arg(long, env = "UPGATE_LEASE_TTL", default_value = "10s", value_parser = duration)]
    #[serde(serialize_with = "ser_dur")]
    pub lease_ttl: Duration,

    /// Memory the embedded redb state store may use as its page cache (`redb://` only).
    /// redb's own default is 1 GiB, which a busy gateway fills with records it rarely
    /// reads again; 64 MiB holds the working set of tens of thousands of active uploads.
    #[arg(long, env = "UPGATE_STATE_CACHE", default_value = "64MiB", value_parser = size)]
    pub state_cache: u64,

    /// Memory object storage may use for upload bytes (`s3://`, `gs://`, `az://`): half
    /// for parts being filled (beyond it they spool to `<data-dir>/spool` on local
    /// disk), half for part and tail uploads in flight. Bounds memory whatever the
    /// number of concurrent uploads.
    #[arg(long, env = "UPGATE_STORE_MEMORY", default_value = "48MiB", value_parser = size)]
    pub store_memory: u64,

    /// Object storage only: the longest bytes that reached the gateway wait before they
    /// are stored and the offset moves, so a `kill -9` loses only what arrived within
    /// it. A slow upload (one whose part takes longer than this to fill) then costs up
    /// to two small object `PUT`s (tail segments: only the bytes added) and two state
    /// writes per second; a fast one's bytes reach a part first and cost nothing more.
    /// Raise it where object requests are billed and a crash may cost a few seconds of
    /// re-sending. The local store needs no interval: what arrived is in its file and
    /// recovered after a crash.
    #[arg(long, env = "UPGATE_STORE_COMMIT_INTERVAL", default_value = "1s", value_parser = duration)]
    #[serde(serialize_with = "ser_dur")]
    pub store_commit_interval: Duration,

    /// Prefix of every Redis key (several deployments can share one Redis).
    #[arg(long, env = "UPGATE_REDIS_PREFIX", default_value = "upgate:")]
    pub redis_prefix: String,

    /// Where file data goes. Default `file://<data-dir>/blobs`: a local directory,
    /// files appended and fsync'd, renamed into `complete/` when done.
    #[arg(long, env = "UPGATE_STORE")]
    pub store: Option<String>,

    /// Largest upload accepted (e.g. `100GiB`). Default 100 GiB: above any lecture
    /// recording, below what fills a typical volume by accident.
    #[arg(long, env = "UPGATE_MAX_UPLOAD_SIZE", default_value = "100GiB", value_parser = size)]
    #[serde(serialize_with = "ser_u64")]
    pub max_upload_size: u64,

    /// Incomplete uploads untouched for this long are deleted. Default 7 days, the
    /// resume window Kaltura gives its clients.
    #[arg(long, env = "UPGATE_UPLOAD_EXPIRY", default_value = "7d", value_parser = duration)]
    #[serde(serialize_with = "ser_dur")]
    pub upload_expiry: Duration,

    /// How often each instance removes expired uploads (at most 1000 per pass, oldest
    /// first, through the state store's expiry index: the work of a pass does not grow
    /// with the number of uploads kept).
    #[arg(long, env = "UPGATE_SWEEP_INTERVAL", default_value = "60s", value_parser = duration)]
    #[serde(serialize_with = "ser_dur")]
    pub sweep_interval: Duration,

    /// A request head must arrive within this time (defends against slowloris).
    /// Default 30 s, generous for mobile links.
    #[arg(long, env = "UPGATE_HEADER_TIMEOUT", default_value = "30s", value_parser = duration)]
    #[serde(serialize_with = "ser_dur")]
    pub header_timeout: Duration,

    /// Each piece of a request body must arrive within this time, else the bytes so far
    /// are committed and the request ends. Default 60 s: survives a short Wi-Fi
    /// roam, frees the upload for a reconnecting client soon enough (a reconnecting
    /// client also takes over a writer silent for 2 s).
    #[arg(long, env = "UPGATE_BODY_TIMEOUT", default_value = "60s", value_parser = duration)]
    #[serde(serialize_with = "ser_dur")]
    pub body_timeout: Duration,

    /// Connections served at once; further clients wait in the accept queue. Default
    /// 4096: memory per connection is small (bounded buffers), file descriptors are the limit.
    #[arg(long, env = "UPGATE_MAX_CONNECTIONS", default_value_t = 4096)]
    pub max_connections: usize,

    /// On SIGTERM/Ctrl-C, in-flight chunks commit what arrived; connections then get
    /// this long to finish. Default 10 s.
    #[arg(long, env = "UPGATE_SHUTDOWN_GRACE", default_value = "10s", value_parser = duration)]
    #[serde(serialize_with = "ser_dur")]
    pub shutdown_grace: Duration,

    /// Browser origins allowed by CORS: `*` (default, any origin, no credentials) or a
    /// comma-separated list of origins (echoed, credentials allowed).
    #[arg(long, env = "UPGATE_CORS_ORIGINS", default_value = "*")]
    pub cors_origins: String,

    /// Kaltura partners: `ID:ADMIN_SECRET[:USER_SECRET[:v1|v2]]`, repeatable (env:
    /// comma-separated). The same id twice adds an admin secret. With none, a
    /// development partner is created once in the data dir and printed at start.
    #[arg(long = "partner", env = "UPGATE_PARTNERS", value_delimiter = ',')]
    #[serde(serialize_with = "ser_partners")]
    pub partners: Vec<String>,

    /// How long a Kaltura final chunk sent with `resumeAt > 0` waits for the missing
    /// chunks before answering `UPLOAD_TOKEN_CANNOT_MATCH_EXPECTED_SIZE`. Default 45 s,
    /// the Kaltura server's own.
    #[arg(long, env = "UPGATE_FINAL_CHUNK_WAIT", default_value = "45s", value_parser = duration)]
    #[serde(serialize_with = "ser_dur")]
    pub final_chunk_wait: Duration,

    /// Longest a final chunk waits in all while the bytes before it keep arriving (its
    /// `--final-chunk-wait` starts again whenever the contiguous size grows), so a
    /// client that sends the final chunk first does not pay for it on a slow link.
    #[arg(long, env = "UPGATE_FINAL_CHUNK_MAX_WAIT", default_value = "1h", value_parser = duration)]
    #[serde(serialize_with = "ser_dur")]
    pub final_chunk_max_wait: Duration,

    /// `required` (default): every `/files/` request needs a Kaltura session (Bearer or
    /// `?ks=`) and sees only its own uploads (an ADMIN session: its partner's); widget
    /// sessions cannot upload. `off`: the native protocol is open to anyone who can reach
    /// it — only for loopback benchmarks or behind an authenticating proxy.
    #[arg(
        long,
        env = "UPGATE_FILES_AUTH",
        value_enum,
        default_value = "required"
    )]
    pub files_auth: FilesAuth,

    /// Requests per second one user may make (a verified session's partner and user;
    /// anonymous requests count per peer address). Over it: 429 + Retry-After (Kaltura:
    /// REQUEST_RATE_EXCEEDED). Default 20/s with bursts of `--user-burst` 40: a browser
    /// uploading 6 chunks in parallel and polling stays far below. 0 disables.
    #[arg(long, env = "UPGATE_USER_REQUESTS", default_value_t = 20)]
    pub user_requests: u64,

    /// Burst of `--user-requests` (requests allowed at once after a quiet time).
    #[arg(long, env = "UPGATE_USER_BURST", default_value_t = 40)]
    pub user_burst: u64,

    /// Body bytes per second of one user, shared fairly by its parallel uploads
    /// (e.g. `50MiB/s`). Shaped by pacing reads, never refused. Default 0: off.
    #[arg(long, env = "UPGATE_USER_BANDWIDTH", default_value = "0", value_parser = byte_rate)]
    #[serde(serialize_with = "ser_u64")]
    pub user_bandwidth: u64,

    /// Upload-writing requests (PATCH, PUT, chunk uploads) one user may have in flight
    /// on one instance; more get 429. Default 16. 0 disables.
    #[arg(long, env = "UPGATE_USER_UPLOADS", default_value_t = 16)]
    pub user_uploads: usize,

    /// Requests per second over all users of one partner (bursts of twice that).
    /// Default 0: off.
    #[arg(long, env = "UPGATE_PARTNER_REQUESTS", default_value_t = 0)]
    pub partner_requests: u64,

    /// Body bytes per second over all users of one partner (e.g. `1GiB/s`). Default 0: off.
    #[arg(long, env = "UPGATE_PARTNER_BANDWIDTH", default_value = "0", value_parser = byte_rate)]
    #[serde(serialize_with = "ser_u64")]
    pub partner_bandwidth: u64,

    /// The partner Canvas uses (`/api/v1/services/*`). Default: the first configured
    /// partner (the development partner when none is configured).
    #[arg(long, env = "UPGATE_LMS_PARTNER")]
    pub lms_partner: Option<i64>,

    /// Canvas root account id, appended to user ids in Kaltura sessions (`<user>_<root>`).
    #[arg(long, env = "UPGATE_LMS_ROOT_ACCOUNT", default_value = "1")]
    pub lms_root_account: String,

    /// URL imports (`media.addFromUrl`, `KalturaUrlResource`, `upgate import`) running at
    /// once on this instance; more wait in the queue (kept in the state store).
    #[arg(long, env = "UPGATE_IMPORT_CONCURRENCY", default_value_t = 4)]
    pub import_concurrency: usize,

    /// URL imports of one user running at once over all instances.
    #[arg(long, env = "UPGATE_IMPORT_USER_CONCURRENCY", default_value_t = 2)]
    pub import_user_concurrency: usize,

    /// Largest source an import accepts. Default: `--max-upload-size`.
    #[arg(long, env = "UPGATE_IMPORT_MAX_SIZE", value_parser = size)]
    pub import_max_size: Option<u64>,

    /// Allow import sources on loopback, private, link-local and other internal
    /// addresses (on-premises sources, tests). Off by default: a user could otherwise
    /// make the gateway fetch internal services or cloud metadata (SSRF).
    #[arg(long, env = "UPGATE_IMPORT_ALLOW_PRIVATE")]
    pub import_allow_private: bool,

    /// An internal network import sources may be on (`10.2.0.0/16`, or one address),
    /// repeatable: an on-premises media server without opening every private address.
    #[arg(
        long = "import-allow-net",
        env = "UPGATE_IMPORT_ALLOW_NETS",
        value_delimiter = ','
    )]
    pub import_allow_nets: Vec<String>,

    /// An import whose source sends nothing for this long drops the connection and
    /// resumes with a new request.
    #[arg(long, env = "UPGATE_IMPORT_STALL_TIMEOUT", default_value = "60s", value_parser = duration)]
    #[serde(serialize_with = "ser_dur")]
    pub import_stall_timeout: Duration,

    /// Attempts in a row that bring no byte before an import fails (ERROR_IMPORTING).
    #[arg(long, env = "UPGATE_IMPORT_RETRIES", default_value_t = 8)]
    pub import_retries: u32,

    /// Delay before the first retry of an import; it doubles each time, to 60 s at most.
    #[arg(long, env = "UPGATE_IMPORT_BACKOFF", default_value = "1s", value_parser = duration)]
    #[serde(serialize_with = "ser_dur")]
    pub import_backoff: Duration,

    /// Webhook receiver: a JSON `POST` per event (repeatable, or comma-separated).
    #[arg(long = "hook-url", env = "UPGATE_HOOK_URLS", value_delimiter = ',')]
    pub hook_urls: Vec<String>,

    /// The events sent to the receivers: created, finished, terminated, imported,
    /// entry-ready (default: all of them).
    #[arg(
        long,
        env = "UPGATE_HOOK_EVENTS",
        value_delimiter = ',',
        default_value = "created,finished,terminated,imported,entry-ready"
    )]
    pub hook_events: Vec<String>,

    /// Key of the `Upgate-Signature: sha256=<hex>` header (HMAC-SHA256 of the body) on
    /// every webhook and pre-create request. Never printed.
    #[arg(long, env = "UPGATE_HOOK_SECRET")]
    #[serde(skip)]
    pub hook_secret: Option<String>,

    /// One webhook attempt's limit (connect and answer), and the pre-create hook's.
    #[arg(long, env = "UPGATE_HOOK_TIMEOUT", default_value = "10s", value_parser = duration)]
    #[serde(serialize_with = "ser_dur")]
    pub hook_timeout: Duration,

    /// A webhook not delivered this long after its event is given up (logged, counted).
    #[arg(long, env = "UPGATE_HOOK_MAX_AGE", default_value = "24h", value_parser = duration)]
    #[serde(serialize_with = "ser_dur")]
    pub hook_max_age: Duration,

    /// Asked before every upload is created (JSON `POST`): a 2xx lets it through, a 4xx
    /// refuses it with the answer's text as the reason, no answer refuses it for now.
    #[arg(long, env = "UPGATE_PRE_CREATE_HOOK")]
    pub pre_create_hook: Option<String>,

    /// A proxy (address or CIDR network; repeatable, or comma-separated) whose
    /// `Forwarded` / `X-Forwarded-For` headers name the client: limits on anonymous
    /// requests and logs then use that address. Headers from any other peer are ignored.
    #[arg(
        long = "trusted-proxy",
        env = "UPGATE_TRUSTED_PROXIES",
        value_delimiter = ','
    )]
    pub trusted_proxies: Vec<String>,

    /// TLS on the listener: the certificate chain (PEM, leaf first). With `--tls-key`;
    /// reloaded on SIGHUP. HTTP/2 is then offered by ALPN (plain TCP serves HTTP/1.1
    /// and HTTP/2 by prior knowledge).
    #[arg(long, env = "UPGATE_TLS_CERT", requires = "tls_key")]
    pub tls_cert: Option<PathBuf>,

    /// The private key of `--tls-cert` (PEM: PKCS#8, PKCS#1 or SEC1).
    #[arg(long, env = "UPGATE_TLS_KEY", requires = "tls_cert")]
    #[serde(skip)]
    pub tls_key: Option<PathBuf>,

    /// Print the merged configuration (flags + environment + defaults) as JSON and exit.
    #[arg(long)]
    #[serde(skip)]
    pub print_config: bool,
}

/// Partners are printed without their secrets.
fn ser_partners<S: serde::Serializer>(v: &[String], s: S) -> Result<S::Ok, S::Error> {
    let ids: Vec<String> = v
        .iter()
        .map(|p| format!("{}:***", p.split(':').next().unwrap_or("")))
        .collect();
    ids.serialize(s)
}

fn ser_u64<S: serde::Serializer>(v: &u64, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_u64(*v)
}

fn ser_dur<S: serde::Serializer>(v: &Duration, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&format!("{}s", v.as_secs_f64()))
}

impl ServeArgs {
    /// The limits in force.
    pub fn limit_config(&self) -> crate::ratelimit::LimitConfig {
        use crate::ratelimit::Budget;
        let bytes = |b: u64| {
            if b == 0 {
                Budget::default()
            } else {
                Budget::bytes(b)
            }
        };
        crate::ratelimit::LimitConfig {
            user_requests: Budget {
                rate: self.user_requests,
                burst: self.user_burst.max(1),
            },
            user_bytes: bytes(self.user_bandwidth),
            partner_requests: Budget {
                rate: self.partner_requests,
                burst: self.partner_requests.saturating_mul(2).max(1),
            },
            partner_bytes: bytes(self.partner_bandwidth),
            user_concurrency: self.user_uploads,
        }
    }

    /// The state URL in force.
    pub fn state_url(&self) -> String {
        self.state
            .clone()
            .unwrap_or_else(|| format!("redb://{}", self.data_dir.join("state.redb").display()))
    }

    /// The store URL in force.
    pub fn store_url(&self) -> String {
        self.store
            .clone()
            .unwrap_or_else(|| format!("file://{}", self.data_dir.join("blobs").display()))
    }

    /// The merged configuration as JSON (`--print-config`).
    pub fn to_json(&self) -> String {
        let mut v = serde_json::to_value(self).unwrap_or_default();
        if let Some(m) = v.as_object_mut() {
            m.insert("state".into(), self.state_url().into());
            m.insert("store".into(), self.store_url().into());
        }
        serde_json::to_string_pretty(&v).unwrap_or_default()
    }
}
