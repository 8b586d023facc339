//! A TCP proxy on 127.0.0.1:0 whose connections can be frozen: after [`FreezeProxy::freeze`]
//! every connection open at that moment stops forwarding in both directions but stays
//! open (the packets of a network that went away vanish; nobody closes anything), while
//! connections made later are forwarded as usual.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

pub struct FreezeProxy {
    pub addr: SocketAddr,
    /// Connections accepted so far.
    pub connections: Arc<AtomicU64>,
    /// Connections numbered below this are frozen.
    frozen_below: Arc<AtomicU64>,
}

impl FreezeProxy {
    pub async fn start(target: SocketAddr) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let connections = Arc::new(AtomicU64::new(0));
        let frozen_below = Arc::new(AtomicU64::new(0));
        let (n, frozen) = (connections.clone(), frozen_below.clone());
        tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                let Ok(server) = TcpStream::connect(target).await else {
                    return;
                };
                let id = n.fetch_add(1, Ordering::SeqCst);
                let (cr, cw) = client.into_split();
                let (sr, sw) = server.into_split();
                tokio::spawn(pump(cr, sw, id, frozen.clone()));
                tokio::spawn(pump(sr, cw, id, frozen.clone()));
            }
        });
        Self {
            addr,
            connections,
            frozen_below,
        }
    }

    /// Freezes every connection open now.
    pub fn freeze(&self) {
        let n = self.connections.load(Ordering::SeqCst);
        self.frozen_below.store(n, Ordering::SeqCst);
    }
}

/// Copies `from` to `to` until either ends; once frozen, holds both open forever.
async fn pump(
    mut from: tokio::net::tcp::OwnedReadHalf,
    mut to: tokio::net::tcp::OwnedWriteHalf,
    id: u64,
    frozen_below: Arc<AtomicU64>,
) {
    let mut buf = vec![0u8; 16 * 1024];
    loop {
        if id < frozen_below.load(Ordering::SeqCst) {
            break;
        }
        let n =
            match tokio::time::timeout(std::time::Duration::from_millis(50), from.read(&mut buf))
                .await
            {
                Err(_) => continue, // look at the freeze flag again
                Ok(Ok(0)) | Ok(Err(_)) => return,
                Ok(Ok(n)) => n,
            };
        if id < frozen_below.load(Ordering::SeqCst) {
            continue; // frozen with these bytes in hand: they never arrive
        }
        if to.write_all(&buf[..n]).await.is_err() {
            return;
        }
    }
    let _open = (from, to);
    std::future::pending::<()>().await;
}
