//! `upgate-proto`: sans-IO wire formats shared by the gateway, its clients and its tests.
//!
//! Everything here is pure parsing and formatting of header values: no sockets, no
//! tokio, no hyper. Each parser takes the raw header text and returns a typed value or a
//! [`ParseError`] that says what was wrong, so protocol adapters can answer with a clear
//! 400 instead of guessing.
//!
//! - [`content_range`]: `Content-Range: bytes a-b/total` (ranged PUT) and `Range: bytes=`.
//! - [`tus`]: tus 1.0 numeric headers, `Upload-Concat`, `Tus-Resumable`.
//! - [`metadata`]: `Upload-Metadata` (comma-separated `key base64value` pairs).
//! - [`multipart`]: streaming, zero-copy `multipart/form-data` parser.
//! - [`checksum`]: `Upload-Checksum` (`algo base64digest`).
//! - [`kaltura`]: Kaltura API v3: KS v1/v2 codec, parameters, answer serializers, errors.
//! - [`rufh`]: Resumable Uploads for HTTP (IETF draft, interop versions 3–8) header values.
//! - [`size`]: human sizes and durations for configuration (`8MiB`, `7d`).
//! - [`form`]: query strings and urlencoded forms (PHP's decoding), [`hex`]: hex digests.
//! - [`captions`]: SRT and WebVTT checks, SRT → WebVTT; [`media`]: WebM and MP3 headers.
//! - [`zoom`]: Zoom's recordings JSON, its Recordings export (CSV) and its dates.

pub mod captions;
pub mod checksum;
pub mod content_range;
pub mod form;
pub mod forwarded;
pub mod hex;
pub mod hmac;
pub mod media;
pub mod metadata;
pub mod multipart;
pub mod net;
pub mod rufh;
pub mod size;
pub mod tus;
pub mod zoom;

mod error;
pub use error::ParseError;
pub mod kaltura;
