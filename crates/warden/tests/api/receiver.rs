//! A stand-in for the platform's webhook endpoint: a real HTTP server on loopback that checks each
//! signature, honours idempotency keys, and can be told to succeed, fail, hang, answer late or go
//! down altogether.

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use serde_json::Value;
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::oneshot;

use warden::enforcement::signature::{IDEMPOTENCY_HEADER, SIGNATURE_HEADER, verify};

pub const SECRET: &str = "test-webhook-secret";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Succeed,
    /// Answers 500 without looking at the request.
    Fail,
    /// Never answers.
    Hang,
    /// Takes the delivery as `Succeed` does, then answers only after this long: past the sender's
    /// timeout, the sender cannot tell it from a failure and sends it again.
    Slow(Duration),
    /// Not listening: connections are refused, and those already open are closed.
    Down,
}

#[derive(Default)]
struct Inner {
    mode: Option<Mode>,
    /// First accepted body per idempotency key.
    accepted: BTreeMap<String, Value>,
    /// Every request that reached the endpoint, accepted or not.
    hits: usize,
    /// Accepted requests for a key already accepted (the receiver answers 200 and ignores them).
    duplicates: usize,
    bad_signatures: usize,
    /// Stops the server that is listening now; `None` while down.
    listening: Option<oneshot::Sender<()>>,
}

#[derive(Clone)]
pub struct Receiver {
    pub url: String,
    addr: SocketAddr,
    inner: Arc<Mutex<Inner>>,
    /// The time the receiver checks signatures against (the desk's clock), in Unix seconds.
    now: Arc<dyn Fn() -> i64 + Send + Sync>,
}

async fn hook(State(r): State<Receiver>, headers: HeaderMap, body: Bytes) -> StatusCode {
    let mode = {
        let mut i = r.inner.lock().unwrap();
        i.hits += 1;
        i.mode.unwrap_or(Mode::Succeed)
    };
    match mode {
        Mode::Fail => return StatusCode::INTERNAL_SERVER_ERROR,
        Mode::Hang => {
            tokio::time::sleep(Duration::from_secs(3600)).await;
            return StatusCode::GATEWAY_TIMEOUT;
        }
        // A request that got in just as the receiver went down.
        Mode::Down => return StatusCode::SERVICE_UNAVAILABLE,
        Mode::Succeed | Mode::Slow(_) => {}
    }
    let status = take(&r, &headers, &body);
    if let Mode::Slow(late) = mode {
        tokio::time::sleep(late).await;
    }
    status
}

/// Checks a delivery and applies it unless its idempotency key was applied before.
fn take(r: &Receiver, headers: &HeaderMap, body: &[u8]) -> StatusCode {
    let signature = headers
        .get(SIGNATURE_HEADER)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    if verify(SECRET.as_bytes(), signature, body, (r.now)(), 300).is_err() {
        r.inner.lock().unwrap().bad_signatures += 1;
        return StatusCode::UNAUTHORIZED;
    }
    let Some(key) = headers
        .get(IDEMPOTENCY_HEADER)
        .and_then(|v| v.to_str().ok())
    else {
        return StatusCode::BAD_REQUEST;
    };
    let Ok(value) = serde_json::from_slice::<Value>(body) else {
        return StatusCode::BAD_REQUEST;
    };
    let mut i = r.inner.lock().unwrap();
    if i.accepted.contains_key(key) {
        i.duplicates += 1;
    } else {
        i.accepted.insert(key.to_string(), value);
    }
    StatusCode::OK
}

impl Receiver {
    pub async fn start(now: impl Fn() -> i64 + Send + Sync + 'static) -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let r = Receiver {
            url: format!("http://{addr}/hook"),
            addr,
            inner: Arc::default(),
            now: Arc::new(now),
        };
        let mut inner = r.inner.lock().unwrap();
        inner.listening = Some(r.listen(listener));
        drop(inner);
        r
    }

    /// Serves on `listener` until the returned sender is used or dropped.
    fn listen(&self, listener: tokio::net::TcpListener) -> oneshot::Sender<()> {
        let app = axum::Router::new()
            .route("/hook", post(hook))
            .with_state(self.clone());
        let (stop, stopped) = oneshot::channel::<()>();
        tokio::spawn(async move {
            // Stopping closes the listener at once and idle connections soon after; requests still
            // being answered (a slow or hanging one) finish on their own.
            let _ = axum::serve(listener, app)
                .with_graceful_shutdown(async {
                    let _ = stopped.await;
                })
                .await;
        });
        stop
    }

    pub fn set(&self, mode: Mode) {
        let mut inner = self.inner.lock().unwrap();
        let was = inner.mode.replace(mode);
        if mode == Mode::Down {
            if let Some(stop) = inner.listening.take() {
                let _ = stop.send(());
            }
        } else if was == Some(Mode::Down) {
            tokio::spawn(self.clone().listen_again());
        }
    }

    /// Listens on the receiver's own address again, once the stopped server has let go of it,
    /// unless the receiver went down again meanwhile or another call already did.
    async fn listen_again(self) {
        for _ in 0..500 {
            if let Ok(listener) = tokio::net::TcpListener::bind(self.addr).await {
                let mut inner = self.inner.lock().unwrap();
                if inner.mode != Some(Mode::Down) && inner.listening.is_none() {
                    inner.listening = Some(self.listen(listener));
                }
                return;
            }
            if self.inner.lock().unwrap().listening.is_some() {
                return;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        panic!("the receiver cannot listen on {} again", self.addr);
    }

    pub fn accepted(&self) -> BTreeMap<String, Value> {
        self.inner.lock().unwrap().accepted.clone()
    }

    pub fn hits(&self) -> usize {
        self.inner.lock().unwrap().hits
    }

    /// Requests for a key already applied, answered 200 and otherwise ignored.
    pub fn duplicates(&self) -> usize {
        self.inner.lock().unwrap().duplicates
    }

    pub fn bad_signatures(&self) -> usize {
        self.inner.lock().unwrap().bad_signatures
    }

    /// Waits (up to a minute) until `done` holds for the accepted deliveries.
    pub async fn wait_for(&self, what: &str, done: impl Fn(&BTreeMap<String, Value>) -> bool) {
        for _ in 0..600 {
            if done(&self.inner.lock().unwrap().accepted) {
                return;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!(
            "timed out waiting for {what}; accepted: {:?}",
            self.accepted().keys().collect::<Vec<_>>()
        );
    }
}
