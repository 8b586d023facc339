//! `upgate`: a resumable chunked upload gateway.
//!
//! Module map (one line each, what it owns):
//! - [`config`]: command line and `UPGATE_*` environment, validated into typed values.
//! - [`app`]: wiring only: which state store and assembler back the service.
//! - [`server`]: hyper plumbing: accept loop, limits, timeouts, graceful shutdown, routing by prefix.
//! - [`api`]: one folder per wire protocol; `files` is the native tus + ranged-PUT protocol.
//! - [`auth`]: partners, their secrets, and KS checks.
//! - [`core`]: protocol-neutral upload logic ([`core::UploadService`]) and `core::Error`.
//! - [`state`]: trait `StateStore` (offsets, leases, staged ranges); redb embedded default.
//! - [`cli`]: client-side commands (`upgate push`).
//! - [`client`]: the resumable upload client behind `upgate push` and the load tester.
//! - [`blob`]: trait `Assembler` (file data); local directory default.

pub mod api;
pub mod app;
pub mod auth;
pub mod blob;
pub mod cli;
pub mod client;
pub mod config;
pub mod core;
pub mod ratelimit;
pub mod server;
pub mod state;
