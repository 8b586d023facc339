//! `upgate-loadtest`: bundled load scenarios for upgate with a bandwidth model.
//!
//! - `bandwidth`: uploads through a modeled link (rate, RTT, drops), in virtual or real
//!   time, with the resumable client or a restart-from-zero client for contrast.
//! - `gateway`: runs a gateway process (embedded defaults) for real-time runs.
//!
//! Every loop is bounded in count and time; targets must be on loopback unless
//! `--allow-remote` is given.

mod bandwidth;
mod gateway;
mod link;
mod report;

use std::path::PathBuf;

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
    /// Uploads through a modeled link with drops; reports time, bytes re-sent, SHA-256.
    Bandwidth(bandwidth::BandwidthArgs),
    /// Runs a gateway (embedded defaults, the load tester's partner) until Ctrl-C.
    Gateway {
        #[arg(long, default_value = "127.0.0.1:0")]
        listen: String,
        #[arg(long)]
        data_dir: PathBuf,
    },
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    match Cli::parse().command {
        Cmd::Bandwidth(a) => match bandwidth::run(&a).await {
            Ok(r) => {
                if let Some(p) = &a.plot {
                    if let Err(e) = std::fs::write(p, r.svg()) {
                        eprintln!("upgate-loadtest: cannot write {}: {e}", p.display());
                    }
                }
                if a.json {
                    println!("{}", serde_json::to_string(&r).unwrap_or_default());
                } else {
                    print!("{}", r.summary());
                }
                if r.sha256_match {
                    std::process::ExitCode::SUCCESS
                } else {
                    std::process::ExitCode::FAILURE
                }
            }
            Err(e) => {
                eprintln!("upgate-loadtest: {e}");
                std::process::ExitCode::from(2)
            }
        },
        Cmd::Gateway { listen, data_dir } => match gateway::serve_forever(&data_dir, &listen).await
        {
            Ok(()) => std::process::ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("upgate-loadtest: {e}");
                std::process::ExitCode::from(2)
            }
        },
    }
}
