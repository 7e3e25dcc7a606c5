//! A stand-in for the platform's webhook endpoint: a real HTTP server on loopback that checks each
//! signature, honours idempotency keys, and can be told to succeed, fail or hang.

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use serde_json::Value;
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use warden::enforcement::signature::{IDEMPOTENCY_HEADER, SIGNATURE_HEADER, verify};

pub const SECRET: &str = "test-webhook-secret";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Succeed,
    Fail,
    Hang,
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
}

#[derive(Clone)]
pub struct Receiver {
    pub url: String,
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
        Mode::Succeed => {}
    }
    let signature = headers
        .get(SIGNATURE_HEADER)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    if verify(SECRET.as_bytes(), signature, &body, (r.now)(), 300).is_err() {
        r.inner.lock().unwrap().bad_signatures += 1;
        return StatusCode::UNAUTHORIZED;
    }
    let Some(key) = headers
        .get(IDEMPOTENCY_HEADER)
        .and_then(|v| v.to_str().ok())
    else {
        return StatusCode::BAD_REQUEST;
    };
    let Ok(value) = serde_json::from_slice::<Value>(&body) else {
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
        let url = format!("http://{}/hook", listener.local_addr().unwrap());
        let r = Receiver {
            url,
            inner: Arc::default(),
            now: Arc::new(now),
        };
        let app = axum::Router::new()
            .route("/hook", post(hook))
            .with_state(r.clone());
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        r
    }

    pub fn set(&self, mode: Mode) {
        self.inner.lock().unwrap().mode = Some(mode);
    }

    pub fn accepted(&self) -> BTreeMap<String, Value> {
        self.inner.lock().unwrap().accepted.clone()
    }

    pub fn hits(&self) -> usize {
        self.inner.lock().unwrap().hits
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
