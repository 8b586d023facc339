//! The client's way in: a TCP balancer on 127.0.0.1 in front of the gateways, which the
//! campaign also uses to hurt connections. Each new connection goes to the preferred
//! gateway, or the next one that accepts (a balancer with health checks); `hop` moves
//! the preference, `cut` closes every open connection at once, `stall` freezes every
//! open connection for a while (no byte forwarded either way), as a sleeping laptop or
//! a congested uplink would.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::time::Instant;

pub struct Proxy {
    pub url: String,
    shared: Arc<Shared>,
    task: tokio::task::JoinHandle<()>,
}

struct Shared {
    backends: Vec<String>,
    preferred: AtomicUsize,
    cuts: watch::Sender<u64>,
    stall_until: Mutex<Option<Instant>>,
}

impl Proxy {
    pub async fn start(backends: Vec<String>) -> Result<Self, String> {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .map_err(|e| e.to_string())?;
        let url = format!(
            "http://{}",
            listener.local_addr().map_err(|e| e.to_string())?
        );
        let shared = Arc::new(Shared {
            backends,
            preferred: AtomicUsize::new(0),
            cuts: watch::channel(0).0,
            stall_until: Mutex::new(None),
        });
        let s = shared.clone();
        let task = tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                let s = s.clone();
                tokio::spawn(async move { s.forward(client).await });
            }
        });
        Ok(Self { url, shared, task })
    }

    /// The gateway new connections go to first.
    pub fn preferred(&self) -> usize {
        self.shared.preferred.load(Ordering::Relaxed) % self.shared.backends.len()
    }

    /// New connections go to the next gateway.
    pub fn hop(&self) {
        self.shared.preferred.fetch_add(1, Ordering::Relaxed);
    }

    /// Closes every open connection.
    pub fn cut(&self) {
        self.shared.cuts.send_modify(|n| *n += 1);
    }

    /// Forwards nothing on open connections for `d`.
    pub fn stall(&self, d: Duration) {
        *self
            .shared
            .stall_until
            .lock()
            .unwrap_or_else(|p| p.into_inner()) = Some(Instant::now() + d);
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.task.abort();
        self.cut();
    }
}

impl Shared {
    async fn connect(&self) -> Option<TcpStream> {
        let first = self.preferred.load(Ordering::Relaxed);
        for k in 0..self.backends.len() {
            let addr = &self.backends[(first + k) % self.backends.len()];
            if let Ok(s) = TcpStream::connect(addr).await {
                return Some(s);
            }
        }
        None
    }

    async fn forward(self: Arc<Self>, client: TcpStream) {
        let mut cuts = self.cuts.subscribe();
        cuts.borrow_and_update();
        let Some(server) = self.connect().await else {
            return;
        };
        let _ = client.set_nodelay(true);
        let _ = server.set_nodelay(true);
        let (cr, cw) = client.into_split();
        let (sr, sw) = server.into_split();
        tokio::select! {
            _ = cuts.changed() => {}
            _ = async {
                tokio::join!(self.pump(cr, sw), self.pump(sr, cw))
            } => {}
        }
    }

    /// Copies one direction, pausing while a stall lasts.
    async fn pump(
        &self,
        mut from: tokio::net::tcp::OwnedReadHalf,
        mut to: tokio::net::tcp::OwnedWriteHalf,
    ) {
        let mut buf = vec![0u8; 64 * 1024];
        loop {
            let n = match from.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => n,
            };
            let until = *self.stall_until.lock().unwrap_or_else(|p| p.into_inner());
            if let Some(t) = until {
                tokio::time::sleep_until(t).await;
            }
            if to.write_all(&buf[..n]).await.is_err() {
                break;
            }
        }
        let _ = to.shutdown().await;
    }
}
