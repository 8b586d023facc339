//! `upgate-loadtest`: bundled load scenarios for upgate, with a bandwidth model.
//!
//! Upload scenarios (`bandwidth`, `parallel`, `burst`, `resume-storm`,
//! `kaltura-browser`) push files with the same client library as `upgate push` through
//! modeled links, in virtual time (deterministic, fast) or real time; `create-storm`
//! measures the creation rate; `gateway` runs a gateway process for real-time runs.
//! Every loop is bounded in count and time; targets must be on loopback unless
//! `--allow-remote` is given.

mod bandwidth;
mod burst;
mod chaos;
mod common;
mod create_storm;
mod engine;
mod gateway;
mod kaltura_browser;
mod link;
mod parallel;
mod report;
mod resume_storm;
mod stats;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

#[derive(Debug, Parser)]
#[command(
    name = "upgate-loadtest",
    version,
    about = "Load tests for upgate with a bandwidth model"
)]
struct Cli {
    #[command(subcommand)]
    command: Cmd,
}

#[derive(Debug, Subcommand)]
enum Cmd {
    /// Uploads through a modeled link with drops; time, bytes re-sent, SHA-256.
    Bandwidth(bandwidth::BandwidthArgs),
    /// N large uploads in flight at once.
    Parallel(parallel::ParallelArgs),
    /// Uploads arriving in bursts, small and large mixed.
    Burst(burst::BurstArgs),
    /// Creation rate only.
    CreateStorm(create_storm::CreateStormArgs),
    /// Many clients that drop and resume repeatedly.
    ResumeStorm(resume_storm::ResumeStormArgs),
    /// The Kaltura browser client's chunk pattern (chunk 0, then 6 parallel resumeAt).
    KalturaBrowser(kaltura_browser::KalturaBrowserArgs),
    /// A seeded fault campaign over a real cluster (Redis, S3, three gateways).
    Chaos(chaos::ChaosArgs),
    /// `upgate serve ARGS` in this program (the chaos campaign's gateways).
    #[command(hide = true)]
    ServeUpgate {
        #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
        args: Vec<String>,
    },
    /// Runs a gateway (embedded defaults, the load tester's partner) until Ctrl-C.
    Gateway {
        #[arg(long, default_value = "127.0.0.1:0")]
        listen: String,
        #[arg(long)]
        data_dir: PathBuf,
    },
}

/// A result on stdout (one JSON object, or the summary); exit 0 when it `passed`, else 1.
fn report(json: bool, r: &impl serde::Serialize, summary: String, passed: bool) -> ExitCode {
    if json {
        println!("{}", serde_json::to_string(r).unwrap_or_default());
    } else {
        print!("{summary}");
    }
    if passed {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

/// An error that stopped the scenario: on stderr, exit 2.
fn failed(e: impl std::fmt::Display) -> ExitCode {
    eprintln!("upgate-loadtest: {e}");
    ExitCode::from(2)
}

async fn uploads(common: &common::Common, plan: engine::Plan) -> ExitCode {
    if let Err(e) = common.check_target() {
        return failed(e);
    }
    match engine::run(plan).await {
        Ok(r) => {
            if let Some(p) = &common.plot {
                if let Err(e) = std::fs::write(p, r.svg()) {
                    eprintln!("upgate-loadtest: cannot write {}: {e}", p.display());
                }
            }
            report(common.json, &r, r.summary(), r.sha256_match)
        }
        Err(e) => failed(e),
    }
}

#[tokio::main]
async fn main() -> ExitCode {
    match Cli::parse().command {
        Cmd::Bandwidth(a) => uploads(&a.common, bandwidth::plan(&a)).await,
        Cmd::Parallel(a) => uploads(&a.common, parallel::plan(&a)).await,
        Cmd::Burst(a) => uploads(&a.common, burst::plan(&a)).await,
        Cmd::ResumeStorm(a) => uploads(&a.common, resume_storm::plan(&a)).await,
        Cmd::KalturaBrowser(a) => uploads(&a.common, kaltura_browser::plan(&a)).await,
        Cmd::CreateStorm(a) => {
            if let Err(e) = a.common.check_target() {
                return failed(e);
            }
            match create_storm::run(&a).await {
                Ok(r) => report(a.common.json, &r, r.summary(), true),
                Err(e) => failed(e),
            }
        }
        Cmd::Chaos(a) => match chaos::campaign(&a).await {
            Ok(r) => report(a.json, &r, r.summary(), r.passed()),
            Err(e) => failed(e),
        },
        Cmd::ServeUpgate { args } => match gateway::serve_upgate(args).await {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => failed(format!("serve-upgate: {e}")),
        },
        Cmd::Gateway { listen, data_dir } => match gateway::serve_forever(&data_dir, &listen).await
        {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => failed(e),
        },
    }
}
