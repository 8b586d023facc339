//! A gateway for the load tests: in this process (virtual clock: the default when no
//! `--url` is given) or as its own process (`upgate-loadtest gateway`), both the real
//! `upgate` server on 127.0.0.1 with the embedded defaults; and `serve-upgate`, any
//! `upgate serve` configuration in this program (the chaos campaign's gateways).

use clap::Parser;
use upgate::app::App;
use upgate::config::{Cli, Command};

/// A running in-process gateway.
pub struct Local {
    pub url: String,
    _dir: tempfile::TempDir,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<()>>,
}

/// The load tester's own partner (user secret) for the Kaltura protocol.
pub const PARTNER: i64 = 4242;
pub const ADMIN_SECRET: &str = "loadtest-admin-secret-0123456789";
pub const USER_SECRET: &str = "loadtest-user-secret-0123456789";

fn serve_args(
    listen: &str,
    data_dir: &std::path::Path,
) -> Result<upgate::config::ServeArgs, String> {
    let partner = format!("{PARTNER}:{ADMIN_SECRET}:{USER_SECRET}");
    let argv = [
        "upgate",
        "serve",
        "--listen",
        listen,
        "--partner",
        &partner,
        // The scenarios drive the native protocol anonymously (they measure transfer
        // under the bandwidth model, not sessions).
        "--files-auth",
        "off",
        "--data-dir",
    ];
    let mut argv: Vec<String> = argv.iter().map(|s| (*s).to_owned()).collect();
    argv.push(data_dir.display().to_string());
    match Cli::try_parse_from(argv)
        .map_err(|e| e.to_string())?
        .command
    {
        Command::Serve(a) => Ok(*a),
        _ => Err("not a serve command".into()),
    }
}

impl Local {
    /// Starts a gateway on 127.0.0.1:0 with a fresh data directory.
    pub async fn start() -> Result<Self, String> {
        let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
        let args = serve_args("127.0.0.1:0", dir.path())?;
        let app = App::build(&args).await.map_err(|e| e.to_string())?;
        let addr = app.local_addr().map_err(|e| e.to_string())?;
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let task = tokio::spawn(async move {
            let _ = app
                .run(async {
                    let _ = rx.await;
                })
                .await;
        });
        Ok(Self {
            url: format!("http://{addr}"),
            _dir: dir,
            stop: Some(tx),
            task: Some(task),
        })
    }

    pub async fn stop(mut self) {
        if let Some(tx) = self.stop.take() {
            let _ = tx.send(());
        }
        if let Some(t) = self.task.take() {
            let _ = t.await;
        }
    }
}

/// `upgate-loadtest gateway`: a gateway process for real-time runs (prints
/// `listening on http://…` like `upgate serve`).
pub async fn serve_forever(data_dir: &std::path::Path, listen: &str) -> Result<(), String> {
    let args = serve_args(listen, data_dir)?;
    let app = App::build(&args).await.map_err(|e| e.to_string())?;
    println!(
        "listening on http://{}",
        app.local_addr().map_err(|e| e.to_string())?
    );
    app.run(async {
        let _ = tokio::signal::ctrl_c().await;
    })
    .await
    .map_err(|e| e.to_string())
}

/// `upgate-loadtest serve-upgate ARGS`: `upgate serve ARGS` in this program (the
/// campaign's gateways), until `SIGTERM` or `SIGINT` (then the usual drain).
pub async fn serve_upgate(args: Vec<String>) -> Result<(), String> {
    use clap::Parser;
    use std::io::Write;
    use upgate::config::{Cli, Command};
    let argv = ["upgate".to_owned(), "serve".to_owned()]
        .into_iter()
        .chain(args);
    let Command::Serve(args) = Cli::try_parse_from(argv)
        .map_err(|e| e.to_string())?
        .command
    else {
        return Err("not a serve command".into());
    };
    let app = App::build(&args).await.map_err(|e| e.to_string())?;
    let url = app.url().map_err(|e| e.to_string())?;
    {
        let mut out = std::io::stdout().lock();
        let _ = writeln!(out, "listening on {url}");
        let _ = out.flush();
    }
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        .map_err(|e| e.to_string())?;
    app.run(async move {
        tokio::select! {
            _ = term.recv() => {}
            _ = tokio::signal::ctrl_c() => {}
        }
    })
    .await
    .map_err(|e| e.to_string())
}
