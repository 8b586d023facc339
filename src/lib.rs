//! `upgate`: a resumable chunked upload gateway.
//!
//! Module map (one line each, what it owns), lowest layer first; `tests/architecture.rs`
//! holds the allowed edges (a module uses only those listed before it, as the table
//! there says):
//! - [`model`]: the shared vocabulary: upload records, phases, ids, clock, filters, media
//!   entries, the request-body trait. Imports nothing of this crate.
//! - [`state`]: trait `StateStore` (offsets, leases, staged ranges, documents); redb
//!   embedded default, Redis for several instances.
//! - [`blob`]: trait `Assembler` (file data); local directory default, object storage.
//! - [`ratelimit`]: trait `RateLimiter` and the `Limits` gate; governor in process, Redis
//!   GCRA across instances.
//! - [`core`]: protocol-neutral upload logic ([`core::UploadService`]) and `core::Error`.
//! - [`import`]: the URL import runner (pulls sources into uploads; jobs in the state
//!   store, leased, resumed with `Range`, SSRF policy).
//! - [`auth`]: partners, their secrets, KS checks and API tokens.
//! - [`server`]: hyper plumbing: accept loop, limits, timeouts, graceful shutdown, bodies.
//! - [`client`]: the resumable upload client behind `upgate push` and the load tester.
//! - [`api`]: one folder per wire protocol, all in one handler shape, and the router.
//! - [`config`]: command line and `UPGATE_*` environment, validated into typed values.
//! - [`cli`]: client-side commands (`upgate push`, `upgate token`).
//! - [`app`]: wiring only: which state store, assembler and limiter back the service, and
//!   the router's table.

pub mod api;
pub mod app;
pub mod auth;
pub mod blob;
pub mod cli;
pub mod client;
pub mod config;
pub mod core;
pub mod hooks;
pub mod import;
pub mod model;
pub mod ratelimit;
pub mod server;
pub mod state;
