//! One request to a source: `GET` with the job's headers (sent only to the source's own
//! scheme, host and port), `Range: bytes=N-` and `If-Range` when resuming, redirects
//! followed by hand up to a few hops with the address policy ([`super::guard`]) checked
//! on each. Errors come back classified: worth retrying (the network, 5xx, 429) or
//! final (refused address, 4xx, too many redirects).

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use reqwest::header::{HeaderName, HeaderValue, ACCEPT_ENCODING, IF_RANGE, LOCATION, RANGE};
use reqwest::{Response, StatusCode, Url};

use super::guard::{GuardedResolver, Policy};
use crate::core::import::is_fetchable;

/// Why a request did not give a usable answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FetchError {
    /// Try again later (network trouble, 5xx, 429).
    Retry(String),
    /// Give up: the reason is shown to the user.
    Fatal(String),
}

/// The HTTP client of imports.
#[derive(Clone)]
pub struct Fetcher {
    client: reqwest::Client,
    policy: Policy,
    max_redirects: usize,
}

impl Fetcher {
    pub fn new(
        policy: Policy,
        connect_timeout: Duration,
        max_redirects: usize,
    ) -> Result<Self, String> {
        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .no_proxy()
            .connect_timeout(connect_timeout)
            .dns_resolver(Arc::new(GuardedResolver {
                policy: policy.clone(),
            }))
            .user_agent(concat!("upgate-import/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| format!("import HTTP client: {e}"))?;
        Ok(Self {
            client,
            policy,
            max_redirects,
        })
    }

    /// `GET url`, resuming at `from` when it is non-zero (with `If-Range: validator`
    /// when there is one), following redirects.
    pub async fn get(
        &self,
        url: &str,
        headers: &[(String, String)],
        from: u64,
        validator: Option<&str>,
    ) -> Result<Response, FetchError> {
        let origin = parse_url(url)?;
        let mut cur = origin.clone();
        for _ in 0..=self.max_redirects {
            self.check_address(&cur).await?;
            let mut req = self
                .client
                .get(cur.clone())
                .header(ACCEPT_ENCODING, "identity");
            if same_origin(&cur, &origin) {
                for (k, v) in headers {
                    let (Ok(k), Ok(v)) = (
                        HeaderName::from_bytes(k.as_bytes()),
                        HeaderValue::from_str(v),
                    ) else {
                        return Err(FetchError::Fatal(format!("invalid source header {k:?}")));
                    };
                    req = req.header(k, v);
                }
            }
            if from > 0 {
                req = req.header(RANGE, format!("bytes={from}-"));
                if let Some(v) = validator {
                    req = req.header(IF_RANGE, v);
                }
            }
            let resp = req.send().await.map_err(|e| classify(&e))?;
            let s = resp.status();
            if matches!(s.as_u16(), 301 | 302 | 303 | 307 | 308) {
                let next = resp
                    .headers()
                    .get(LOCATION)
                    .and_then(|l| l.to_str().ok())
                    .and_then(|l| cur.join(l).ok())
                    .ok_or_else(|| {
                        FetchError::Fatal(format!(
                            "the source answered {s} without a usable Location"
                        ))
                    })?;
                if !is_fetchable(&next) {
                    return Err(FetchError::Fatal(format!(
                        "the source redirected to an unsupported URL ({} scheme)",
                        next.scheme()
                    )));
                }
                cur = next;
                continue;
            }
            return status_ok(resp);
        }
        Err(FetchError::Fatal(format!(
            "the source redirected more than {} times",
            self.max_redirects
        )))
    }

    /// Refuses a URL whose host is, or resolves to, an address the policy refuses.
    async fn check_address(&self, url: &Url) -> Result<(), FetchError> {
        let refused = |ip, why| {
            FetchError::Fatal(format!(
                "the source address {ip} is {why}; imports from it are refused (see --import-allow-net and --import-allow-private)"
            ))
        };
        let host = url
            .host_str()
            .ok_or_else(|| FetchError::Fatal("the source URL has no host".into()))?;
        let literal = host.trim_start_matches('[').trim_end_matches(']');
        let addrs: Vec<SocketAddr> = match literal.parse::<std::net::IpAddr>() {
            Ok(ip) => vec![SocketAddr::new(ip, 0)],
            Err(_) => tokio::net::lookup_host((host, 0))
                .await
                .map_err(|e| FetchError::Retry(format!("cannot resolve {host}: {e}")))?
                .collect(),
        };
        match self.policy.first_refused(&addrs) {
            Some((ip, why)) => Err(refused(ip, why)),
            None => Ok(()),
        }
    }
}

/// A URL a job may fetch: absolute `http`/`https` with a host.
fn parse_url(url: &str) -> Result<Url, FetchError> {
    let u = Url::parse(url).map_err(|e| FetchError::Fatal(format!("invalid source URL: {e}")))?;
    if !is_fetchable(&u) {
        return Err(FetchError::Fatal(
            "the source URL must be http:// or https:// with a host".into(),
        ));
    }
    Ok(u)
}

fn same_origin(a: &Url, b: &Url) -> bool {
    a.scheme() == b.scheme()
        && a.host_str() == b.host_str()
        && a.port_or_known_default() == b.port_or_known_default()
}

/// A response worth reading (2xx), else the error its status means.
fn status_ok(resp: Response) -> Result<Response, FetchError> {
    let s = resp.status();
    if s.is_success() {
        return Ok(resp);
    }
    let text = format!(
        "the source answered {} {}",
        s.as_u16(),
        s.canonical_reason().unwrap_or("")
    );
    let text = text.trim_end().to_owned();
    if s.is_server_error()
        || s == StatusCode::TOO_MANY_REQUESTS
        || s == StatusCode::REQUEST_TIMEOUT
        || s == StatusCode::RANGE_NOT_SATISFIABLE
    {
        Err(FetchError::Retry(text))
    } else {
        Err(FetchError::Fatal(text))
    }
}

/// A transport error: a refusal by the resolver is final, the rest retried.
fn classify(e: &reqwest::Error) -> FetchError {
    let mut chain = String::new();
    let mut cur: Option<&dyn std::error::Error> = Some(e);
    while let Some(err) = cur {
        if !chain.is_empty() {
            chain.push_str(": ");
        }
        chain.push_str(&err.to_string());
        cur = err.source();
    }
    if chain.contains("address") && chain.contains("resolves to") {
        FetchError::Fatal(format!("refused: {chain}"))
    } else {
        FetchError::Retry(chain)
    }
}
