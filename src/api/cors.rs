//! CORS as data: each API states its policy ([`CorsPolicy`]) and [`CorsPolicy::apply`]
//! writes the headers, so every API honours `--cors-origins` the same way.

use http::{HeaderMap, HeaderValue};

/// Which browser origins may call the gateway (`--cors-origins`).
#[derive(Debug, Clone)]
pub enum Origins {
    /// `*`: any origin (no credentials).
    Any,
    /// Only these origins (echoed back, with credentials allowed).
    List(Vec<String>),
}

impl Origins {
    /// Parses `--cors-origins`: `*` (or empty) for any, else a comma-separated list.
    pub fn parse(spec: &str) -> Self {
        match spec.trim() {
            "*" | "" => Origins::Any,
            list => Origins::List(
                list.split(',')
                    .map(|s| s.trim().to_owned())
                    .filter(|s| !s.is_empty())
                    .collect(),
            ),
        }
    }
}

/// One API's CORS policy.
#[derive(Debug, Clone)]
pub struct CorsPolicy {
    pub origins: Origins,
    /// `Access-Control-Allow-Methods` of a preflight.
    pub methods: &'static str,
    /// `Access-Control-Allow-Headers` of a preflight.
    pub allow_headers: &'static str,
    /// `Access-Control-Expose-Headers` of other answers (empty: none).
    pub expose_headers: &'static str,
    /// `Access-Control-Max-Age` of a preflight (0: not sent).
    pub max_age: u32,
    /// Send the headers even when the request has no `Origin` and treat every `OPTIONS`
    /// as a preflight, as Kaltura's server does (its clients expect `*` on every answer).
    pub always: bool,
}

impl CorsPolicy {
    /// No CORS at all: same-origin only (the page, operator endpoints).
    pub fn none() -> Self {
        Self {
            origins: Origins::List(Vec::new()),
            methods: "",
            allow_headers: "",
            expose_headers: "",
            max_age: 0,
            always: false,
        }
    }

    /// True when `OPTIONS` with these headers is a CORS preflight under this policy.
    pub fn is_preflight(&self, h: &HeaderMap) -> bool {
        self.always || h.contains_key(http::header::ACCESS_CONTROL_REQUEST_METHOD)
    }

    /// Writes the CORS headers of an answer to a request from `origin`.
    pub fn apply(&self, h: &mut HeaderMap, origin: Option<&HeaderValue>, preflight: bool) {
        match (&self.origins, origin) {
            (Origins::Any, Some(_)) => {
                h.insert("access-control-allow-origin", HeaderValue::from_static("*"));
            }
            (Origins::Any, None) if self.always => {
                h.insert("access-control-allow-origin", HeaderValue::from_static("*"));
            }
            (Origins::List(list), Some(o)) if list.iter().any(|x| x.as_bytes() == o.as_bytes()) => {
                h.insert("access-control-allow-origin", o.clone());
                h.insert(
                    "access-control-allow-credentials",
                    HeaderValue::from_static("true"),
                );
                h.insert("vary", HeaderValue::from_static("Origin"));
            }
            _ => return,
        }
        if preflight {
            h.insert(
                "access-control-allow-methods",
                HeaderValue::from_static(self.methods),
            );
            h.insert(
                "access-control-allow-headers",
                HeaderValue::from_static(self.allow_headers),
            );
            if self.max_age > 0 {
                h.insert("access-control-max-age", HeaderValue::from(self.max_age));
            }
        } else if !self.expose_headers.is_empty() {
            h.insert(
                "access-control-expose-headers",
                HeaderValue::from_static(self.expose_headers),
            );
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn policy(origins: Origins, always: bool) -> CorsPolicy {
        CorsPolicy {
            origins,
            methods: "GET",
            allow_headers: "Authorization",
            expose_headers: "X-Me",
            max_age: 60,
            always,
        }
    }

    #[test]
    fn any_list_and_always() {
        let o = HeaderValue::from_static("https://a.example");
        let mut h = HeaderMap::new();
        policy(Origins::Any, false).apply(&mut h, None, false);
        assert!(h.is_empty(), "no Origin, no CORS");
        policy(Origins::Any, true).apply(&mut h, None, false);
        assert_eq!(h["access-control-allow-origin"], "*");
        assert_eq!(h["access-control-expose-headers"], "X-Me");
        let mut h = HeaderMap::new();
        let list = Origins::parse(" https://a.example , https://b.example");
        policy(list.clone(), true).apply(&mut h, Some(&o), true);
        assert_eq!(h["access-control-allow-origin"], "https://a.example");
        assert_eq!(h["access-control-allow-credentials"], "true");
        assert_eq!(h["access-control-max-age"], "60");
        let mut h = HeaderMap::new();
        let other = HeaderValue::from_static("https://evil.example");
        policy(list.clone(), true).apply(&mut h, Some(&other), false);
        policy(list, true).apply(&mut h, None, false);
        assert!(h.is_empty(), "an origin not listed gets nothing");
    }
}
