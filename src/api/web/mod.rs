//! The browser upload page ("My Media"): plain HTML and JavaScript with no runtime
//! dependencies, compiled into the binary and served at `/` and `/upload.js`. The page
//! talks the Kaltura `uploadToken` protocol with the user's KS.

use http::{HeaderValue, StatusCode};

use crate::server::{full, Resp};

const INDEX: &str = include_str!("index.html");
const SCRIPT: &str = include_str!("upload.js");

/// Serves the page's files; `None` for other paths.
pub fn handle(path: &str) -> Option<Resp> {
    let (body, ctype) = match path {
        "/" | "/index.html" => (INDEX, "text/html; charset=utf-8"),
        "/upload.js" => (SCRIPT, "application/javascript; charset=utf-8"),
        _ => return None,
    };
    let mut r = hyper::Response::new(full(body));
    *r.status_mut() = StatusCode::OK;
    let h = r.headers_mut();
    h.insert(http::header::CONTENT_TYPE, HeaderValue::from_static(ctype));
    h.insert(
        http::header::CACHE_CONTROL,
        HeaderValue::from_static("no-cache"),
    );
    h.insert(
        "x-content-type-options",
        HeaderValue::from_static("nosniff"),
    );
    Some(r)
}
