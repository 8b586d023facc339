//! Wiring only: builds the state store and assembler named by the configuration, the
//! upload service and the protocol router, and runs the server with its background
//! tasks (expiry sweep) until shutdown.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use tokio::net::TcpListener;

use crate::api::admin::AdminApi;
use crate::api::canvas::CanvasApi;
use crate::api::cors::Origins;
use crate::api::files::FilesApi;
use crate::api::gate::Gate;
use crate::api::handler::Route;
use crate::api::kaltura::KalturaApi;
use crate::api::ops::OpsApi;
use crate::api::ps2::Ps2Api;
use crate::api::web::WebApi;
use crate::api::Router;
use crate::auth::{dev_partner, Partners};
use crate::blob::local::LocalAssembler;
use crate::blob::Assembler;
use crate::config::ServeArgs;
use crate::core::{CoreConfig, UploadService};
use crate::ratelimit::local::LocalLimiter;
use crate::ratelimit::redis::RedisLimiter;
use crate::ratelimit::RateLimiter;
use crate::server::{self, Limits};
use crate::state::redb::RedbStore;
use crate::state::redis::RedisStore;
use crate::state::StateStore;

/// Errors that stop the gateway from starting.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error("unsupported {what} URL {url:?}: {why}")]
    Url {
        what: &'static str,
        url: String,
        why: &'static str,
    },
    #[error("cannot open state store: {0}")]
    State(#[from] crate::state::StateError),
    #[error("cannot open blob store: {0}")]
    Blob(#[from] crate::blob::BlobError),
    #[error("cannot listen: {0}")]
    Listen(std::io::Error),
    #[error("{0}")]
    Partner(#[from] crate::auth::PartnerSpecError),
    #[error("{0}")]
    Import(String),
    #[error("{0}")]
    Hooks(String),
    #[error("--trusted-proxy: {0}")]
    TrustedProxy(String),
    #[error("TLS: {0}")]
    Tls(String),
    #[error("cannot keep the development partner: {0}")]
    DevPartner(std::io::Error),
}

/// The configured partners, or the development partner (created once, printed on
/// stderr at every start so the first README command gives a usable gateway).
fn load_partners(args: &ServeArgs) -> Result<Partners, StartError> {
    let mut partners = Partners::from_specs(&args.partners)?;
    if partners.is_empty() {
        let (p, created) =
            dev_partner(&args.data_dir.join("dev-partner.json")).map_err(StartError::DevPartner)?;
        let secret = p.admin_secrets.first().cloned().unwrap_or_default();
        if !args.state_url().starts_with("redb://") {
            // The development partner lives in this instance's data dir: other
            // instances sharing the state would mint and accept different sessions.
            eprintln!(
                "upgate: warning: shared state without --partner; give every instance the same --partner (UPGATE_PARTNERS)"
            );
        }
        eprintln!(
            "upgate: {} development partner {} (admin secret {}, user secret {}); a session:\n  upgate ks --partner-id {} --secret {} --user you@example.edu",
            if created { "created" } else { "using" },
            p.id,
            secret,
            p.user_secret.as_deref().unwrap_or(""),
            p.id,
            secret
        );
        partners.insert(p);
    }
    Ok(partners)
}

fn path_of(url: &str, scheme: &str) -> Option<PathBuf> {
    url.strip_prefix(scheme)
        .filter(|p| !p.is_empty())
        .map(PathBuf::from)
}

/// Opens the state store named by `url` (`redb://PATH`, `redis://…`, `redis+unix://…`)
/// and the rate limiter that goes with it: in process for redb (page cache bounded by
/// `redb_cache` bytes), a Redis GCRA on the same Redis (limits across instances) for
/// Redis.
pub async fn open_state(
    url: &str,
    redis_prefix: &str,
    redb_cache: u64,
) -> Result<(Arc<dyn StateStore>, Arc<dyn RateLimiter>), StartError> {
    if let Some(p) = path_of(url, "redb://") {
        let cache = usize::try_from(redb_cache).unwrap_or(usize::MAX);
        return Ok((
            Arc::new(RedbStore::open_with_cache(&p, cache)?),
            Arc::new(LocalLimiter::new()),
        ));
    }
    if ["redis://", "redis+unix://", "unix://"]
        .iter()
        .any(|s| url.starts_with(s))
    {
        let store = RedisStore::connect(url, redis_prefix).await?;
        let limiter = RedisLimiter::new(store.connection(), store.prefix());
        return Ok((Arc::new(store), Arc::new(limiter)));
    }
    Err(StartError::Url {
        what: "state",
        url: url.into(),
        why: "expected redb://PATH, redis://HOST:PORT/DB or redis+unix:///PATH",
    })
}

/// Opens the assembler named by `url`: `file://DIR`, or object storage
/// (`s3://BUCKET[/PREFIX]?endpoint=…&region=…`, `gs://…`, `az://…`). `max_size` sizes
/// the parts of uploads whose length is deferred; object storage keeps `memory` bytes of
/// upload data in memory at most, spools the rest under `spool`, and commits what
/// arrived at least every `commit_interval`.
pub fn open_store(
    url: &str,
    max_size: u64,
    spool: &std::path::Path,
    memory: u64,
    commit_interval: Duration,
) -> Result<Arc<dyn Assembler>, StartError> {
    if let Some(p) = path_of(url, "file://") {
        return Ok(Arc::new(LocalAssembler::new(p)?));
    }
    match crate::blob::object::open_url(url, max_size) {
        Some(a) => {
            let half = usize::try_from((memory / 2) >> 20).unwrap_or(usize::MAX);
            Ok(Arc::new(
                a?.with_spool_dir(spool.to_owned())
                    .with_memory(half, half)
                    .with_commit_interval(commit_interval),
            ))
        }
        None => Err(StartError::Url {
            what: "store",
            url: url.into(),
            why: "expected file://DIR, s3://BUCKET[/PREFIX]?endpoint=…&region=…, gs://BUCKET or az://CONTAINER",
        }),
    }
}

/// The import runner's settings from `serve`'s flags.
pub fn import_config(args: &ServeArgs) -> Result<crate::import::ImportConfig, StartError> {
    let allow_nets = args
        .import_allow_nets
        .iter()
        .map(|n| crate::import::guard::Cidr::parse(n))
        .collect::<Result<Vec<_>, _>>()
        .map_err(StartError::Import)?;
    Ok(crate::import::ImportConfig {
        concurrency: args.import_concurrency.max(1),
        per_user: args.import_user_concurrency.max(1),
        max_size: args.import_max_size.unwrap_or(args.max_upload_size),
        policy: crate::import::guard::Policy {
            allow_private: args.import_allow_private,
            allow_nets,
        },
        stall_timeout: args.import_stall_timeout,
        max_failures: args.import_retries.max(1),
        backoff: args.import_backoff,
        lease_ttl: args.lease_ttl,
        ..crate::import::ImportConfig::default()
    })
}

/// The webhook receivers and events from `serve`'s flags.
pub fn hook_targets(args: &ServeArgs) -> Result<crate::core::hooks::HookTargets, StartError> {
    let mut events = std::collections::BTreeSet::new();
    for e in &args.hook_events {
        let ev = crate::model::hook::HookEvent::parse(e).ok_or_else(|| {
            StartError::Hooks(format!(
                "unknown --hook-events value {e:?} (created, finished, terminated, imported, entry-ready)"
            ))
        })?;
        events.insert(ev);
    }
    for u in args.hook_urls.iter().chain(&args.pre_create_hook) {
        let ok = reqwest::Url::parse(u)
            .is_ok_and(|u| matches!(u.scheme(), "http" | "https") && u.host_str().is_some());
        if !ok {
            return Err(StartError::Hooks(format!("not an http(s) URL: {u:?}")));
        }
    }
    Ok(crate::core::hooks::HookTargets {
        urls: args.hook_urls.clone(),
        events,
    })
}

/// How the adapters are configured (from `serve`'s flags, or by tests).
#[derive(Debug, Clone)]
pub struct ApiSettings {
    /// `--cors-origins`, for every API.
    pub origins: Origins,
    /// `--files-auth required`.
    pub require_auth: bool,
    /// Per-frame body read timeout.
    pub body_timeout: Duration,
    /// `--final-chunk-wait` of Kaltura's final chunks.
    pub final_chunk_wait: Duration,
    /// How long a partial Kaltura token stays resumable.
    pub max_resume_secs: i64,
    /// The partner the LMS endpoints serve.
    pub lms_partner: Option<i64>,
    /// Canvas's root account id (`<user>_<root>` user ids).
    pub lms_root_account: String,
}

/// The router's table of adapters, asked in this order (`/api/v1/services/` before
/// Kaltura's `/api/`).
pub fn router(
    service: UploadService,
    partners: Arc<Partners>,
    limits: crate::ratelimit::Limits,
    s: ApiSettings,
) -> Router {
    let gate = Gate {
        partners,
        service: service.clone(),
        limits,
        body_timeout: s.body_timeout,
    };
    let o = s.origins;
    let routes: Vec<Arc<dyn Route>> = vec![
        Arc::new(FilesApi::new(gate.clone(), o.clone(), s.require_auth)),
        Arc::new(CanvasApi::new(
            gate.clone(),
            o.clone(),
            s.lms_partner,
            s.lms_root_account,
        )),
        Arc::new(AdminApi::new(gate.clone(), o.clone())),
        Arc::new(Ps2Api::new(gate.clone(), o.clone())),
        Arc::new(KalturaApi::new(
            gate,
            o,
            s.final_chunk_wait,
            s.max_resume_secs,
        )),
        Arc::new(WebApi::new()),
        Arc::new(OpsApi::new(service.clone())),
    ];
    Router::new(routes, service)
}

/// A gateway ready to serve: the bound listener and the router.
pub struct App {
    pub listener: TcpListener,
    pub router: Arc<Router>,
    pub limits: Limits,
    /// The URL import scheduler (stopped with the server).
    pub importer: tokio::task::JoinHandle<()>,
    /// The webhook dispatcher.
    pub hooks: Option<tokio::task::JoinHandle<()>>,
    /// How often expired uploads are removed.
    pub sweep_interval: Duration,
}

impl App {
    /// Opens the stores and binds the listener.
    pub async fn build(args: &ServeArgs) -> Result<Self, StartError> {
        let (state, limiter) =
            open_state(&args.state_url(), &args.redis_prefix, args.state_cache).await?;
        let limits = crate::ratelimit::Limits::new(limiter, args.limit_config());
        let spool = args.data_dir.join("spool");
        let blobs = open_store(
            &args.store_url(),
            args.max_upload_size,
            &spool,
            args.store_memory,
            args.store_commit_interval,
        )?;
        let core = CoreConfig {
            max_upload_size: args.max_upload_size,
            upload_expiry: args.upload_expiry,
            lease_ttl: args.lease_ttl,
            final_wait_max: args.final_chunk_max_wait,
            hooks: hook_targets(args)?,
            ..CoreConfig::default()
        };
        let mut service = UploadService::new(state, blobs, core);
        if let Some(url) = &args.pre_create_hook {
            let gate =
                crate::hooks::PreCreateHook::new(url, args.hook_secret.clone(), args.hook_timeout)
                    .map_err(StartError::Hooks)?;
            service = service.with_create_gate(Arc::new(gate));
        }
        // Without receivers nothing is queued, so no dispatcher polls the outbox.
        let hooks = match args.hook_urls.is_empty() {
            true => None,
            false => Some(
                crate::hooks::spawn(
                    service.clone(),
                    crate::hooks::HookConfig {
                        secret: args.hook_secret.clone(),
                        timeout: args.hook_timeout,
                        max_age: args.hook_max_age,
                        ..crate::hooks::HookConfig::default()
                    },
                )
                .map_err(StartError::Hooks)?,
            ),
        };
        let partners = Arc::new(load_partners(args)?);
        let settings = ApiSettings {
            origins: Origins::parse(&args.cors_origins),
            require_auth: args.files_auth == crate::config::FilesAuth::Required,
            body_timeout: args.body_timeout,
            final_chunk_wait: args.final_chunk_wait,
            max_resume_secs: args.upload_expiry.as_secs() as i64,
            lms_partner: args
                .lms_partner
                .or_else(|| partners.iter().next().map(|p| p.id)),
            lms_root_account: args.lms_root_account.clone(),
        };
        let imports = import_config(args)?;
        let importer = crate::import::spawn(service.clone(), limits.clone(), imports)
            .map_err(StartError::Import)?;
        let router = Arc::new(router(service, partners, limits, settings));
        let listener = TcpListener::bind(args.listen)
            .await
            .map_err(StartError::Listen)?;
        let trusted_proxies = args
            .trusted_proxies
            .iter()
            .map(|n| upgate_proto::net::Cidr::parse(n))
            .collect::<Result<Vec<_>, _>>()
            .map_err(StartError::TrustedProxy)?;
        let tls = match (&args.tls_cert, &args.tls_key) {
            (Some(cert), Some(key)) => {
                let tls = crate::server::tls::Tls::load(cert, key).map_err(StartError::Tls)?;
                tls.reload_on_sighup()
                    .map_err(|e| StartError::Tls(e.to_string()))?;
                Some(tls)
            }
            _ => None,
        };
        let limits = Limits {
            tls,
            trusted_proxies: Arc::new(trusted_proxies),
            max_connections: args.max_connections,
            header_timeout: args.header_timeout,
            shutdown_grace: args.shutdown_grace,
        };
        Ok(Self {
            listener,
            router,
            limits,
            importer,
            hooks,
            sweep_interval: args.sweep_interval.max(Duration::from_millis(100)),
        })
    }

    /// The bound address (with the real port when 0 was asked).
    pub fn local_addr(&self) -> std::io::Result<std::net::SocketAddr> {
        self.listener.local_addr()
    }

    /// The base URL clients use: `https://IP:PORT` with TLS, else `http://IP:PORT`.
    pub fn url(&self) -> std::io::Result<String> {
        let scheme = if self.limits.tls.is_some() {
            "https"
        } else {
            "http"
        };
        Ok(format!("{scheme}://{}", self.local_addr()?))
    }

    /// Serves until `shutdown` resolves, then commits in-flight uploads and drains.
    pub async fn run(self, shutdown: impl std::future::Future<Output = ()>) -> std::io::Result<()> {
        let service = self.router.service().clone();
        let sweeper = tokio::spawn(async move {
            let mut tick = tokio::time::interval(self.sweep_interval);
            loop {
                tick.tick().await;
                match service.sweep_expired().await {
                    Ok(0) => {}
                    Ok(n) => tracing::info!(removed = n, "expired uploads removed"),
                    Err(e) => tracing::warn!(error = %e, "expiry sweep failed"),
                }
            }
        });
        let out = server::serve(self.listener, self.router, self.limits, shutdown).await;
        sweeper.abort();
        self.importer.abort();
        if let Some(h) = &self.hooks {
            h.abort();
        }
        out
    }
}
