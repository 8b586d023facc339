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

/// glibc's allocator settings for the gateway: blocks from 1 MiB up are mappings of
/// their own, given back when freed; below that, an arena keeps up to 16 MiB free at
/// its top instead of returning what is freed there at once. With glibc's defaults,
/// hyper's 128 KiB read buffers, freed by the writer and hashing threads after a worker
/// allocated them, made each arena shrink and grow again by a buffer: a GiB received
/// took ~100,000 page faults (pages zeroed, then given back with a TLB flush on every
/// core), and ~10 % more CPU. (At 256 KiB the ranged `PUT`s' blocks were mapped afresh
/// each time instead.) The client commands keep glibc's defaults: its adaptive
/// threshold suits their reused 8 MiB chunks.
const MALLOC_TUNABLES: &str =
    "glibc.malloc.mmap_threshold=1048576:glibc.malloc.trim_threshold=16777216";

/// Set on the process started again by [`tune_allocator`]: it must not start itself
/// again, whatever glibc makes of `GLIBC_TUNABLES` (glibc rewrites the variable in
/// place while parsing it, differently across versions).
const TUNED_MARK: &str = "UPGATE_ALLOCATOR_TUNED";

/// glibc reads its tunables once, at start: when the operator set none for malloc, the
/// process starts itself again (same PID, same arguments) with [`MALLOC_TUNABLES`]
/// added to `GLIBC_TUNABLES`. Returns only if that cannot be done, or once done.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
fn tune_allocator() {
    use std::os::unix::process::CommandExt;
    let current = std::env::var("GLIBC_TUNABLES").unwrap_or_default();
    if std::env::var_os(TUNED_MARK).is_some() || current.contains("glibc.malloc.") {
        return;
    }
    let Ok(exe) = std::env::current_exe() else {
        return;
    };
    let tunables = match current.is_empty() {
        true => MALLOC_TUNABLES.to_owned(),
        false => format!("{current}:{MALLOC_TUNABLES}"),
    };
    let mut args = std::env::args_os();
    let mut cmd = std::process::Command::new(exe);
    if let Some(arg0) = args.next() {
        cmd.arg0(arg0);
    }
    let err = cmd
        .args(args)
        .env("GLIBC_TUNABLES", tunables)
        .env(TUNED_MARK, "1")
        .exec();
    eprintln!("upgate: running with glibc's default allocator settings ({err})");
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
fn tune_allocator() {}

fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    if matches!(cli.command, Command::Serve(_)) {
        tune_allocator();
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .max_blocking_threads(BLOCKING_THREADS)
        .build();
    match runtime {
        Ok(rt) => rt.block_on(run(cli)),
        Err(e) => {
            eprintln!("upgate: cannot start the runtime: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}

async fn run(cli: Cli) -> std::process::ExitCode {
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
