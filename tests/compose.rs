//! `docker-compose.yml` is checked without a Docker engine: the file validates against
//! the Compose Specification's JSON schema (`tests/golden/compose-spec.json`, from
//! compose-spec/compose-spec, Apache-2.0), and the nginx configuration it embeds runs —
//! Debian's nginx with that exact text, only the upstream addresses and the listen port
//! swapped for loopback ones — in front of three gateways on Redis + S3 while one of
//! them is killed mid-upload.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::redis_server::RedisServer;
use common::s3_server::{self, S3Server};
use common::*;

fn python(script: &str, args: &[&str]) -> std::process::Output {
    Command::new(repo_root().join("tests/.venv/bin/python"))
        .arg("-c")
        .arg(script)
        .args(args)
        .output()
        .expect("tests/.venv/bin/python (tests/run.sh installs it)")
}

const VALIDATE: &str = r#"
import json, sys, yaml, jsonschema
schema = json.load(open(sys.argv[1]))
doc = yaml.safe_load(open(sys.argv[2]))
errors = sorted(jsonschema.Draft7Validator(schema).iter_errors(doc), key=lambda e: list(e.path))
for e in errors:
    print("/".join(map(str, e.path)) or "(root)", ":", e.message)
sys.exit(1 if errors else 0)
"#;

#[test]
fn the_compose_file_follows_the_compose_specification() {
    let schema = repo_root().join("tests/golden/compose-spec.json");
    let file = repo_root().join("docker-compose.yml");
    let out = python(
        VALIDATE,
        &[schema.to_str().unwrap(), file.to_str().unwrap()],
    );
    assert!(
        out.status.success(),
        "docker-compose.yml: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    // The validator is live: the same file with a wrong shape and an unknown key fails.
    let text = std::fs::read_to_string(&file).unwrap();
    let bad = text
        .replace(
            r#"ports: ["127.0.0.1:8080:8080"]"#,
            "ports: {published: 8080}",
        )
        .replace(
            "stop_grace_period: 15s",
            "stop_grace_period: 15s\n    restart_if: always",
        );
    assert_ne!(bad, text);
    let dir = tempfile::tempdir().unwrap();
    let broken = dir.path().join("docker-compose.yml");
    std::fs::write(&broken, bad).unwrap();
    let out = python(
        VALIDATE,
        &[schema.to_str().unwrap(), broken.to_str().unwrap()],
    );
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(!out.status.success());
    assert!(
        said.contains("balancer/ports") && said.contains("restart_if"),
        "{said}"
    );
}

/// The nginx text of the compose file, made to run here: `$$` unescaped (Compose's
/// interpolation escape), the upstream's Docker name replaced by `backends`, the port by
/// `listen`.
fn balancer_config(backends: &[String], listen: &str) -> String {
    let out = python(
        "import sys, yaml; print(yaml.safe_load(open(sys.argv[1]))['configs']['nginx']['content'])",
        &[repo_root().join("docker-compose.yml").to_str().unwrap()],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).unwrap().replace("$$", "$");
    let server = "server upgate:8080 max_fails=1 fail_timeout=5s;";
    assert!(text.contains(server), "upstream line changed: {text}");
    assert!(text.contains("listen 8080;"), "listen line changed: {text}");
    let servers: Vec<String> = backends
        .iter()
        .map(|b| format!("server {b} max_fails=1 fail_timeout=5s;"))
        .collect();
    text.replace(server, &servers.join("\n          "))
        .replace("listen 8080;", &format!("listen {listen};"))
}

struct Nginx(std::process::Child);

impl Drop for Nginx {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn start_nginx(dir: &std::path::Path, site: &str) -> Nginx {
    let d = dir.display();
    let conf = format!(
        "worker_processes 1;\npid {d}/nginx.pid;\nerror_log {d}/error.log warn;\n\
         events {{ worker_connections 512; }}\n\
         http {{\n  access_log off;\n  client_body_temp_path {d}/body;\n  proxy_temp_path {d}/proxy;\n\
         fastcgi_temp_path {d}/fcgi;\n  uwsgi_temp_path {d}/uwsgi;\n  scgi_temp_path {d}/scgi;\n{site}\n}}\n"
    );
    let path = dir.join("nginx.conf");
    std::fs::write(&path, conf).unwrap();
    let nginx = std::env::var("NGINX").unwrap_or_else(|_| "/usr/sbin/nginx".into());
    // As root, workers run as root too (the default `nobody` cannot write the test's
    // temp dir); otherwise nginx runs as the caller.
    let globals = match is_root() {
        true => "daemon off; user root;",
        false => "daemon off;",
    };
    let child = Command::new(&nginx)
        .args(["-p", &d.to_string(), "-c"])
        .arg(&path)
        .args(["-g", globals])
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {nginx} ({e}): apt-get install nginx"));
    Nginx(child)
}

fn is_root() -> bool {
    std::fs::read_to_string("/proc/self/status")
        .unwrap_or_default()
        .lines()
        .any(|l| l.starts_with("Uid:") && l.split_whitespace().nth(1) == Some("0"))
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_compose_balancer_fronts_three_gateways_through_a_kill() {
    let redis = RedisServer::start();
    let s3 = S3Server::start_s3s_fs();
    let dir = tempfile::tempdir().unwrap();
    let partner = format!("{PARTNER}:{ADMIN_SECRET}:{USER_SECRET}");
    let (state, store) = (redis.url(), s3.store_url());
    let args = [
        "--state",
        &state,
        "--store",
        &store,
        "--partner",
        &partner,
        "--lease-ttl",
        "2s",
        "--files-auth",
        "off",
    ];
    let env = s3_server::credentials();
    let mut gw: Vec<ChildGateway> = (0..3)
        .map(|i| {
            let d = dir.path().join(format!("gw{i}"));
            std::fs::create_dir_all(&d).unwrap();
            ChildGateway::start_env(&d, &args, &env)
        })
        .collect();
    let backends: Vec<String> = gw.iter().map(|g| g.addr.to_string()).collect();
    let listen = format!("127.0.0.1:{}", free_port());
    let ngx_dir = dir.path().join("nginx");
    std::fs::create_dir_all(&ngx_dir).unwrap();
    let _nginx = start_nginx(&ngx_dir, &balancer_config(&backends, &listen));
    let base = format!("http://{listen}");
    let c = client();
    let deadline = Instant::now() + Duration::from_secs(10);
    while c
        .get(format!("{base}/healthz"))
        .send()
        .await
        .map_or(true, |r| r.status() != 200)
    {
        assert!(
            Instant::now() < deadline,
            "nginx did not come up: {}",
            ngx_dir.display()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let chunk = 4 << 20;
    let body = data(6 * chunk + 777, 61);
    let path = create(&c, &base, body.len() as u64).await;
    let mut killed = false;
    let mut answers = std::collections::BTreeMap::new();
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let r = c
            .head(format!("{base}{path}"))
            .header("Tus-Resumable", "1.0.0")
            .send()
            .await
            .unwrap();
        *answers
            .entry(format!("HEAD {}", r.status().as_u16()))
            .or_insert(0) += 1;
        if r.status() == 200 {
            let off: usize = header(&r, "upload-offset").unwrap().parse().unwrap();
            if off == body.len() {
                break;
            }
            if off >= 2 * chunk && !killed {
                gw[1].kill9();
                killed = true;
            }
            let end = (off + chunk).min(body.len());
            let r = patch(&c, &base, &path, off as u64, body[off..end].to_vec()).await;
            *answers
                .entry(format!("PATCH {}", r.status().as_u16()))
                .or_insert(0) += 1;
        }
        assert!(Instant::now() < deadline, "no end within 60 s: {answers:?}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    println!("through the compose nginx config, one gateway killed: {answers:?}");
    assert!(killed);
    // Download through the balancer (streamed, proxy_buffering off).
    let got = download(&c, &base, &path).await;
    assert_eq!(sha256_hex(&got), sha256_hex(&body));
}
