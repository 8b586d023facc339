//! A raw HTTP/1.1 client on one TCP connection that shows what libraries hide:
//! informational (1xx) responses, the exact order of messages, keep-alive framing.

use std::net::SocketAddr;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// One response (interim or final).
#[derive(Debug, Clone)]
pub struct Msg {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Msg {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).unwrap_or(serde_json::Value::Null)
    }
}

pub struct Raw {
    pub s: TcpStream,
    buf: Vec<u8>,
    last_method: String,
}

impl Raw {
    pub async fn connect(addr: SocketAddr) -> Self {
        Self {
            s: TcpStream::connect(addr).await.unwrap(),
            buf: Vec::new(),
            last_method: String::new(),
        }
    }

    /// Sends a request head (`Host` added); the body, if any, is the caller's.
    pub async fn head(&mut self, method: &str, path: &str, headers: &[(&str, String)]) {
        self.head_version(method, path, "HTTP/1.1", headers).await
    }

    pub async fn head_version(
        &mut self,
        method: &str,
        path: &str,
        version: &str,
        headers: &[(&str, String)],
    ) {
        let mut h = format!("{method} {path} {version}\r\nHost: test\r\n");
        for (k, v) in headers {
            h.push_str(&format!("{k}: {v}\r\n"));
        }
        h.push_str("\r\n");
        self.last_method = method.to_owned();
        self.s.write_all(h.as_bytes()).await.unwrap();
    }

    pub async fn body(&mut self, b: &[u8]) {
        self.s.write_all(b).await.unwrap();
        self.s.flush().await.unwrap();
    }

    /// A whole request with a body; returns every message up to the final one.
    pub async fn request(
        &mut self,
        method: &str,
        path: &str,
        headers: &[(&str, String)],
        body: &[u8],
    ) -> Vec<Msg> {
        let mut h = headers.to_vec();
        if !body.is_empty() || matches!(method, "POST" | "PATCH" | "PUT") {
            h.push(("Content-Length", body.len().to_string()));
        }
        self.head(method, path, &h).await;
        self.body(body).await;
        self.until_final().await
    }

    async fn fill(&mut self) -> bool {
        let mut b = [0u8; 16384];
        match tokio::time::timeout(Duration::from_secs(30), self.s.read(&mut b)).await {
            Ok(Ok(0)) | Ok(Err(_)) => false,
            Ok(Ok(n)) => {
                self.buf.extend_from_slice(&b[..n]);
                true
            }
            Err(_) => panic!("no answer within 30 s"),
        }
    }

    /// The next message; `None` when the connection closed first.
    pub async fn next(&mut self) -> Option<Msg> {
        let end = loop {
            if let Some(p) = self.buf.windows(4).position(|w| w == b"\r\n\r\n") {
                break p;
            }
            if !self.fill().await {
                return None;
            }
        };
        let head = String::from_utf8_lossy(&self.buf[..end]).into_owned();
        self.buf.drain(..end + 4);
        let mut lines = head.split("\r\n");
        let status: u16 = lines.next()?.split_whitespace().nth(1)?.parse().ok()?;
        let headers: Vec<(String, String)> = lines
            .filter_map(|l| l.split_once(':'))
            .map(|(k, v)| (k.trim().to_owned(), v.trim().to_owned()))
            .collect();
        let mut msg = Msg {
            status,
            headers,
            body: Vec::new(),
        };
        let bodiless = (100..200).contains(&status)
            || status == 204
            || status == 304
            || self.last_method == "HEAD";
        if !bodiless {
            let len: usize = msg
                .header("content-length")
                .and_then(|v| v.parse().ok())
                .unwrap_or(0);
            while self.buf.len() < len {
                if !self.fill().await {
                    break;
                }
            }
            let n = len.min(self.buf.len());
            msg.body = self.buf.drain(..n).collect();
        }
        Some(msg)
    }

    /// Messages up to and including the final (non-1xx) one.
    pub async fn until_final(&mut self) -> Vec<Msg> {
        let mut out = Vec::new();
        while let Some(m) = self.next().await {
            let done = m.status >= 200;
            out.push(m);
            if done {
                break;
            }
        }
        out
    }
}
