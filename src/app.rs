//! Wiring only: builds the state store and assembler named by the configuration, the
//! upload service and the protocol router, and runs the server with its background
//! tasks (expiry sweep) until shutdown.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use tokio::net::TcpListener;

use crate::api::canvas::CanvasApi;
use crate::api::files::{Cors, FilesApi};
use crate::api::kaltura::KalturaApi;
use crate::api::ps2::Ps2Api;
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
/// and the rate limiter that goes with it: in process for redb, a Redis GCRA on the
/// same Redis (limits across instances) for Redis.
pub async fn open_state(
    url: &str,
    redis_prefix: &str,
) -> Result<(Arc<dyn StateStore>, Arc<dyn RateLimiter>), StartError> {
    if let Some(p) = path_of(url, "redb://") {
        return Ok((
            Arc::new(RedbStore::open(&p)?),
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
/// the parts of uploads whose length is deferred.
pub fn open_store(url: &str, max_size: u64) -> Result<Arc<dyn Assembler>, StartError> {
    if let Some(p) = path_of(url, "file://") {
        return Ok(Arc::new(LocalAssembler::new(p)?));
    }
    match crate::blob::object::open_url(url, max_size) {
        Some(a) => Ok(Arc::new(a?)),
        None => Err(StartError::Url {
            what: "store",
            url: url.into(),
            why: "expected file://DIR, s3://BUCKET[/PREFIX]?endpoint=…&region=…, gs://BUCKET or az://CONTAINER",
        }),
    }
}

/// A gateway ready to serve: the bound listener and the router.
pub struct App {
    pub listener: TcpListener,
    pub router: Arc<Router>,
    pub limits: Limits,
}

impl App {
    /// Opens the stores and binds the listener.
    pub async fn build(args: &ServeArgs) -> Result<Self, StartError> {
        let (state, limiter) = open_state(&args.state_url(), &args.redis_prefix).await?;
        let limits = crate::ratelimit::Limits::new(limiter, args.limit_config());
        let blobs = open_store(&args.store_url(), args.max_upload_size)?;
        let core = CoreConfig {
            max_upload_size: args.max_upload_size,
            upload_expiry: args.upload_expiry,
            lease_ttl: args.lease_ttl,
            ..CoreConfig::default()
        };
        let service = UploadService::new(state, blobs, core);
        let cors = match args.cors_origins.trim() {
            "*" | "" => Cors::Any,
            list => Cors::List(
                list.split(',')
                    .map(|s| s.trim().to_owned())
                    .filter(|s| !s.is_empty())
                    .collect(),
            ),
        };
        let partners = Arc::new(load_partners(args)?);
        let files = FilesApi {
            service: service.clone(),
            body_timeout: args.body_timeout,
            cors,
            auth: (args.files_auth == crate::config::FilesAuth::Required).then(|| partners.clone()),
            limits: limits.clone(),
        };
        let kaltura = KalturaApi {
            service: service.clone(),
            partners,
            final_chunk_wait: args.final_chunk_wait,
            max_resume_secs: args.upload_expiry.as_secs() as i64,
            body_timeout: args.body_timeout,
            limits: limits.clone(),
        };
        let ps2 = Ps2Api {
            service: service.clone(),
            partners: kaltura.partners.clone(),
            body_timeout: args.body_timeout,
            limits: limits.clone(),
        };
        let lms_partner = args
            .lms_partner
            .or_else(|| kaltura.partners.iter().next().map(|p| p.id));
        let canvas = CanvasApi {
            service: service.clone(),
            partners: kaltura.partners.clone(),
            partner: lms_partner,
            root_account: args.lms_root_account.clone(),
            cors: files.cors.clone(),
            limits,
        };
        let router = Arc::new(Router {
            canvas,
            files,
            kaltura,
            ps2,
            service,
        });
        let listener = TcpListener::bind(args.listen)
            .await
            .map_err(StartError::Listen)?;
        let limits = Limits {
            max_connections: args.max_connections,
            header_timeout: args.header_timeout,
            shutdown_grace: args.shutdown_grace,
        };
        Ok(Self {
            listener,
            router,
            limits,
        })
    }

    /// The bound address (with the real port when 0 was asked).
    pub fn local_addr(&self) -> std::io::Result<std::net::SocketAddr> {
        self.listener.local_addr()
    }

    /// Serves until `shutdown` resolves, then commits in-flight uploads and drains.
    pub async fn run(self, shutdown: impl std::future::Future<Output = ()>) -> std::io::Result<()> {
        let service = self.router.service.clone();
        let sweeper = tokio::spawn(async move {
            let mut tick = tokio::time::interval(Duration::from_secs(60));
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
        out
    }
}
