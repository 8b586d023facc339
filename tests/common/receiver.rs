//! A webhook receiver for tests, on 127.0.0.1 (port 0, or a given port to come back on
//! after a stop): records every request (event, delivery id, signature, JSON body) and
//! answers from a script — a status, a hang past the sender's timeout — then 204.

use std::collections::VecDeque;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use http_body_util::BodyExt;
use hyper::{Request, Response};

/// How to answer one request.
#[derive(Debug, Clone)]
pub enum Answer {
    Status(u16, &'static str),
    /// Wait this long, then 204 (the sender has given up by then; recorded as 0).
    Hang(Duration),
}

#[derive(Debug, Clone)]
pub struct Received {
    pub event: String,
    pub delivery: String,
    pub signature: Option<String>,
    pub raw: Vec<u8>,
    pub body: serde_json::Value,
    /// What it was answered (200–299: delivered).
    pub status: u16,
}

#[derive(Default)]
struct State {
    script: VecDeque<Answer>,
    got: Vec<Received>,
}

pub struct Receiver {
    pub addr: SocketAddr,
    state: Arc<Mutex<State>>,
    task: tokio::task::JoinHandle<()>,
}

impl Receiver {
    pub async fn start() -> Self {
        Self::start_at("127.0.0.1:0".parse().unwrap()).await
    }

    /// Listens on `addr` (the port of a stopped receiver, to come back).
    pub async fn start_at(addr: SocketAddr) -> Self {
        let listener = tokio::net::TcpListener::bind(addr).await.unwrap();
        let addr = listener.local_addr().unwrap();
        let state = Arc::new(Mutex::new(State::default()));
        let st = state.clone();
        let task = tokio::spawn(async move {
            let mut conns = tokio::task::JoinSet::new();
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    continue;
                };
                let st = st.clone();
                conns.spawn(async move {
                    let svc = hyper::service::service_fn(move |req| {
                        let st = st.clone();
                        async move { Ok::<_, Infallible>(answer(st, req).await) }
                    });
                    let io = hyper_util::rt::TokioIo::new(stream);
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(io, svc)
                        .await;
                });
            }
        });
        Self { addr, state, task }
    }

    pub fn url(&self) -> String {
        format!("http://{}/hook", self.addr)
    }

    /// Answers for the next requests, in order.
    pub fn script(&self, answers: &[Answer]) {
        self.state
            .lock()
            .unwrap()
            .script
            .extend(answers.iter().cloned());
    }

    pub fn received(&self) -> Vec<Received> {
        self.state.lock().unwrap().got.clone()
    }

    /// The delivered ones (answered 2xx).
    pub fn delivered(&self) -> Vec<Received> {
        self.received()
            .into_iter()
            .filter(|r| (200..300).contains(&r.status))
            .collect()
    }

    /// Stops listening and drops every open connection.
    pub fn stop(self) -> SocketAddr {
        self.task.abort();
        self.addr
    }
}

async fn answer(
    st: Arc<Mutex<State>>,
    req: Request<hyper::body::Incoming>,
) -> Response<http_body_util::Full<bytes::Bytes>> {
    let h = |n: &str| {
        req.headers()
            .get(n)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    };
    let (event, delivery, signature) = (
        h("upgate-event"),
        h("upgate-delivery"),
        h("upgate-signature"),
    );
    let raw = req
        .into_body()
        .collect()
        .await
        .map(|b| b.to_bytes().to_vec())
        .unwrap_or_default();
    let next = st.lock().unwrap().script.pop_front();
    // A hang is recorded as status 0 when it starts: the sender gives up first (and
    // its connection, with this answer, goes away).
    let (status, text) = match next {
        Some(Answer::Status(s, t)) => (s, t),
        Some(Answer::Hang(_)) | None => (204, ""),
    };
    let recorded = match next {
        Some(Answer::Hang(_)) => 0,
        _ => status,
    };
    st.lock().unwrap().got.push(Received {
        event: event.unwrap_or_default(),
        delivery: delivery.unwrap_or_default(),
        signature,
        body: serde_json::from_slice(&raw).unwrap_or(serde_json::Value::Null),
        raw,
        status: recorded,
    });
    if let Some(Answer::Hang(d)) = next {
        tokio::time::sleep(d).await;
    }
    Response::builder()
        .status(status)
        .body(http_body_util::Full::new(bytes::Bytes::from_static(
            text.as_bytes(),
        )))
        .unwrap()
}
