//! The `upgate` binary: parse configuration, initialise logging, build the app, run.

use std::io::Write;

use clap::Parser;
use upgate::app::App;
use upgate::config::{Cli, Command};

fn init_logging(format: &str) {
    let filter = tracing_subscriber::EnvFilter::try_from_env("UPGATE_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let fmt = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    match format {
        "json" => fmt.json().with_current_span(true).init(),
        _ => fmt.init(),
    }
}

async fn shutdown_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut term =
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(s) => s,
                Err(_) => {
                    let _ = ctrl_c.await;
                    return;
                }
            };
        tokio::select! {
            _ = ctrl_c => {},
            _ = term.recv() => {},
        }
    }
    #[cfg(not(unix))]
    let _ = ctrl_c.await;
}

/// Threads of tokio's blocking pool (its default is 512). The gateway bounds its own
/// blocking work (state store, spool files, hashing: 8 at once each), but the pool
/// starts a new thread whenever a task arrives while none is idle, and under a
/// thousand slow uploads tasks arrive just as others finish: hundreds of threads, each
/// with its stack and allocator arena, doing the work of two dozen. Tasks beyond this
/// wait for a thread.
const BLOCKING_THREADS: usize = 64;

fn main() -> std::process::ExitCode {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .max_blocking_threads(BLOCKING_THREADS)
        .build();
    match runtime {
        Ok(rt) => rt.block_on(run()),
        Err(e) => {
            eprintln!("upgate: cannot start the runtime: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}

async fn run() -> std::process::ExitCode {
    let cli = Cli::parse();
    init_logging(&cli.log_format);
    match cli.command {
        Command::Push(args) => std::process::ExitCode::from(upgate::cli::push::run(args).await),
        Command::Token(cmd) => std::process::ExitCode::from(upgate::cli::token::run(cmd).await),
        Command::Import(cmd) => std::process::ExitCode::from(upgate::cli::import::run(cmd).await),
        Command::Ks(args) => {
            let fields = upgate_proto::kaltura::ks::KsFields {
                partner_id: args.partner_id,
                expiry: upgate::model::now_secs() as i64 + args.expiry,
                session_type: if args.admin { 2 } else { 0 },
                user: args.user,
                privileges: args.privileges,
            };
            let partner = upgate::auth::Partner {
                id: args.partner_id,
                admin_secrets: vec![args.secret],
                user_secret: None,
                ks_version: if args.v1 { 1 } else { 2 },
            };
            println!("{}", upgate::auth::mint(&partner, &fields));
            std::process::ExitCode::SUCCESS
        }
        Command::Serve(args) => {
            if args.print_config {
                println!("{}", args.to_json());
                return std::process::ExitCode::SUCCESS;
            }
            let app = match App::build(&args).await {
                Ok(a) => a,
                Err(e) => {
                    eprintln!("upgate: {e}");
                    return std::process::ExitCode::from(2);
                }
            };
            match app.url() {
                Ok(url) => {
                    let mut out = std::io::stdout().lock();
                    let _ = writeln!(out, "listening on {url}");
                    let _ = out.flush();
                }
                Err(e) => {
                    eprintln!("upgate: {e}");
                    return std::process::ExitCode::from(2);
                }
            }
            tracing::info!(state = %args.state_url(), store = %args.store_url(), "upgate serving");
            if let Err(e) = app.run(shutdown_signal()).await {
                eprintln!("upgate: {e}");
                return std::process::ExitCode::FAILURE;
            }
            std::process::ExitCode::SUCCESS
        }
    }
}
