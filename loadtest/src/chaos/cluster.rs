//! The campaign's cluster: a private `redis-server` on a unix socket, an S3 server
//! (s3s-fs, data on disk so it survives restarts) and three gateways on Redis + S3,
//! every one a child process on 127.0.0.1 that can be killed (`SIGKILL`), stopped
//! (`SIGTERM`, graceful drain) and started again on the same address. Dropping the
//! cluster kills every process.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The partner every gateway serves (the chaos clients start sessions with its user
/// secret).
pub const PARTNER: i64 = 4343;
pub const ADMIN_SECRET: &str = "chaos-admin-secret-0123456789abc";
pub const USER_SECRET: &str = "chaos-user-secret-0123456789abcd";
const BUCKET: &str = "uploads";
const KEY_ID: &str = "chaos";
const KEY_SECRET: &str = "chaossecret";

/// Where the programs come from.
#[derive(Debug, Clone)]
pub struct Programs {
    pub redis: PathBuf,
    pub s3s_fs: PathBuf,
    /// The gateway program and the arguments before `serve`'s own
    /// (`upgate-loadtest serve-upgate` by default, or an `upgate` binary with `serve`).
    pub gateway: (PathBuf, Vec<String>),
}

/// One child process that prints `marker ADDRESS` when it listens.
struct Proc {
    name: String,
    child: Option<Child>,
}

impl Proc {
    /// Starts `cmd` (its stderr appended to `log`) and waits for `marker` on stdout.
    fn spawn(
        name: &str,
        cmd: &mut Command,
        marker: &str,
        log: &Path,
    ) -> Result<(Self, String), String> {
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(log)
            .map_err(|e| format!("cannot open {}: {e}", log.display()))?;
        cmd.stdout(Stdio::piped()).stderr(log);
        let mut child = cmd
            .spawn()
            .map_err(|e| format!("cannot start {name} ({:?}): {e}", cmd.get_program()))?;
        let stream = child.stdout.take().ok_or("no stdout")?;
        let (tx, rx) = std::sync::mpsc::channel();
        let marker = marker.to_owned();
        std::thread::spawn(move || {
            let mut sent = false;
            for line in BufReader::new(stream).lines() {
                let Ok(line) = line else { break };
                if !sent {
                    if let Some(addr) = line.split(marker.as_str()).nth(1) {
                        let _ = tx.send(addr.trim().to_owned());
                        sent = true;
                    }
                }
            }
        });
        let mut p = Self {
            name: name.to_owned(),
            child: Some(child),
        };
        match rx.recv_timeout(Duration::from_secs(30)) {
            Ok(addr) => Ok((p, addr)),
            Err(_) => {
                p.kill();
                Err(format!("{name} did not start listening within 30 s"))
            }
        }
    }

    fn kill(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// `SIGTERM`, then waits up to `grace` for the exit (a `SIGKILL` after that).
    fn terminate(&mut self, grace: Duration) {
        let Some(mut c) = self.child.take() else {
            return;
        };
        let _ = Command::new("kill")
            .args(["-TERM", &c.id().to_string()])
            .status();
        let deadline = Instant::now() + grace;
        while Instant::now() < deadline {
            if let Ok(Some(_)) = c.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        eprintln!("chaos: {} ignored SIGTERM for {grace:?}; killed", self.name);
        let _ = c.kill();
        let _ = c.wait();
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        self.kill();
    }
}

/// The private Redis.
pub struct Redis {
    program: PathBuf,
    dir: PathBuf,
    child: Option<Child>,
}

impl Redis {
    fn start(program: &Path, dir: &Path) -> Result<Self, String> {
        let mut r = Self {
            program: program.to_owned(),
            dir: dir.to_owned(),
            child: None,
        };
        r.spawn()?;
        Ok(r)
    }

    fn socket(&self) -> PathBuf {
        self.dir.join("redis.sock")
    }

    pub fn url(&self) -> String {
        format!("redis+unix://{}", self.socket().display())
    }

    fn spawn(&mut self) -> Result<(), String> {
        let sock = self.socket();
        let _ = std::fs::remove_file(&sock);
        let child = Command::new(&self.program)
            .args(["--port", "0", "--unixsocket"])
            .arg(&sock)
            .args(["--unixsocketperm", "700", "--dir"])
            .arg(&self.dir)
            .args([
                "--appendonly",
                "yes",
                "--appendfsync",
                "always",
                "--save",
                "",
            ])
            .args(["--daemonize", "no", "--loglevel", "warning"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| {
                format!(
                    "cannot start {} ({e}): apt-get install redis-server",
                    self.program.display()
                )
            })?;
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(10);
        while std::os::unix::net::UnixStream::connect(&sock).is_err() {
            if Instant::now() > deadline {
                return Err("redis-server did not open its socket within 10 s".into());
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        Ok(())
    }

    fn kill(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// `SIGKILL`, then a new server on the same socket replaying the AOF.
    pub fn kill_and_restart(&mut self, down: Duration) -> Result<(), String> {
        self.kill();
        std::thread::sleep(down);
        self.spawn()
    }
}

impl Drop for Redis {
    fn drop(&mut self) {
        self.kill();
    }
}

/// The S3 server (s3s-fs).
pub struct S3 {
    program: PathBuf,
    root: PathBuf,
    pub endpoint: String,
    proc: Proc,
}

impl S3 {
    fn start(program: &Path, root: &Path) -> Result<Self, String> {
        std::fs::create_dir_all(root.join(BUCKET)).map_err(|e| e.to_string())?;
        let (proc, endpoint) = Self::spawn(program, root, 0)?;
        Ok(Self {
            program: program.to_owned(),
            root: root.to_owned(),
            endpoint,
            proc,
        })
    }

    fn spawn(program: &Path, root: &Path, port: u16) -> Result<(Proc, String), String> {
        Proc::spawn(
            "s3s-fs",
            Command::new(program)
                .args(["--host", "127.0.0.1", "--port", &port.to_string()])
                .args(["--access-key", KEY_ID, "--secret-key", KEY_SECRET])
                .arg(root)
                .env("RUST_LOG", "info")
                .env("NO_COLOR", "1"),
            "server is running at ",
            &root.with_extension("log"),
        )
    }

    pub fn store_url(&self) -> String {
        format!(
            "s3://{BUCKET}?endpoint={}&region=us-east-1&retry_timeout=1s",
            self.endpoint
        )
    }

    /// `SIGKILL`, then the server again on the same port and data.
    pub fn kill_and_restart(&mut self, down: Duration) -> Result<(), String> {
        self.proc.kill();
        std::thread::sleep(down);
        let port: u16 = self
            .endpoint
            .rsplit(':')
            .next()
            .and_then(|p| p.parse().ok())
            .ok_or("s3s-fs endpoint without a port")?;
        let (proc, endpoint) = Self::spawn(&self.program, &self.root, port)?;
        if endpoint != self.endpoint {
            return Err(format!(
                "s3s-fs came back on {endpoint}, not {}",
                self.endpoint
            ));
        }
        self.proc = proc;
        Ok(())
    }
}

/// One gateway.
pub struct Gateway {
    /// `127.0.0.1:PORT`, kept across restarts.
    pub addr: String,
    args: Vec<String>,
    log: PathBuf,
    proc: Proc,
}

/// The cluster.
pub struct Cluster {
    pub redis: Redis,
    pub s3: S3,
    pub gateways: Vec<Gateway>,
    programs: Programs,
    dir: tempfile::TempDir,
}

impl Cluster {
    /// Keeps the directory (data and logs: `gwN.log`, `s3.log`) after the campaign.
    pub fn keep(self) -> PathBuf {
        let Self { dir, .. } = self;
        dir.keep()
    }

    /// Starts Redis, S3 and `n` gateways in a fresh temporary directory.
    pub fn start(programs: Programs, n: usize) -> Result<Self, String> {
        let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
        let redis = Redis::start(&programs.redis, dir.path())?;
        let s3 = S3::start(&programs.s3s_fs, &dir.path().join("s3"))?;
        let mut gateways = Vec::with_capacity(n);
        for i in 0..n {
            let data = dir.path().join(format!("gw{i}"));
            let partner = format!("{PARTNER}:{ADMIN_SECRET}:{USER_SECRET}");
            let args: Vec<String> = [
                "--state",
                &redis.url(),
                "--store",
                &s3.store_url(),
                "--partner",
                &partner,
                // A dead holder's lease runs out quickly.
                "--lease-ttl",
                "2s",
                // The campaign looks for faults, not for the per-user request budget.
                "--user-requests",
                "0",
                "--data-dir",
                &data.display().to_string(),
            ]
            .iter()
            .map(|s| (*s).to_owned())
            .collect();
            let log = dir.path().join(format!("gw{i}.log"));
            let (proc, addr) = spawn_gateway(&programs, &args, &log, "127.0.0.1:0")?;
            gateways.push(Gateway {
                addr,
                args,
                log,
                proc,
            });
        }
        Ok(Self {
            redis,
            s3,
            gateways,
            programs,
            dir,
        })
    }

    pub fn addrs(&self) -> Vec<String> {
        self.gateways.iter().map(|g| g.addr.clone()).collect()
    }

    /// Kills gateway `i` (`SIGKILL`, or `SIGTERM` with up to 30 s to drain) and starts
    /// it again on its address after `down`.
    pub fn restart_gateway(
        &mut self,
        i: usize,
        graceful: bool,
        down: Duration,
    ) -> Result<(), String> {
        let g = &mut self.gateways[i];
        if graceful {
            g.proc.terminate(Duration::from_secs(30));
        } else {
            g.proc.kill();
        }
        std::thread::sleep(down);
        // The port was just closed; another process may not take it between the two.
        let mut last = String::new();
        for _ in 0..20 {
            match spawn_gateway(&self.programs, &g.args, &g.log, &g.addr) {
                Ok((proc, addr)) if addr == g.addr => {
                    g.proc = proc;
                    return Ok(());
                }
                Ok((_, addr)) => {
                    return Err(format!("gateway came back on {addr}, not {}", g.addr))
                }
                Err(e) => last = e,
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        Err(last)
    }
}

fn spawn_gateway(
    programs: &Programs,
    args: &[String],
    log: &Path,
    listen: &str,
) -> Result<(Proc, String), String> {
    let (program, pre) = &programs.gateway;
    let (proc, url) = Proc::spawn(
        "gateway",
        Command::new(program)
            .args(pre)
            .args(args)
            .args(["--listen", listen])
            .env("AWS_ACCESS_KEY_ID", KEY_ID)
            .env("AWS_SECRET_ACCESS_KEY", KEY_SECRET)
            .env("UPGATE_LOG", "warn"),
        "listening on http://",
        log,
    )?;
    Ok((proc, url))
}
