//! The demo's simulated platform: receives the desk's webhooks as a platform would, checks each
//! signature, honours idempotency keys, and shows what it received at `/demo/platform`.

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::{get, post};
use axum::{Json, Router};
use chrono::{DateTime, Utc};
use serde::Serialize;
use std::collections::{HashSet, VecDeque};
use std::sync::{Arc, Mutex};

use crate::clock::{Clock, SystemClock};
use crate::enforcement::signature::{IDEMPOTENCY_HEADER, SIGNATURE_HEADER, TOPIC_HEADER, verify};

const KEPT: usize = 500;

#[derive(Clone, Serialize)]
struct Received {
    received_at: DateTime<Utc>,
    idempotency_key: String,
    topic: String,
    payload: serde_json::Value,
}

#[derive(Default)]
struct Log {
    seen: HashSet<String>,
    latest: VecDeque<Received>,
    applied: u64,
    duplicates: u64,
    rejected: u64,
}

#[derive(Clone)]
struct Sim {
    secret: Arc<String>,
    log: Arc<Mutex<Log>>,
}

pub fn router(secret: String) -> Router {
    let sim = Sim {
        secret: Arc::new(secret),
        log: Arc::default(),
    };
    Router::new()
        .route("/demo/platform/webhook", post(receive))
        .route("/demo/platform", get(show))
        .route("/demo/media/{name}", get(media))
        .with_state(sim)
}

async fn receive(State(sim): State<Sim>, headers: HeaderMap, body: Bytes) -> StatusCode {
    let header = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_string()
    };
    let now = SystemClock.now();
    let mut log = sim.log.lock().unwrap_or_else(|p| p.into_inner());
    if verify(
        sim.secret.as_bytes(),
        &header(SIGNATURE_HEADER),
        &body,
        now.timestamp(),
        300,
    )
    .is_err()
    {
        log.rejected += 1;
        return StatusCode::UNAUTHORIZED;
    }
    let key = header(IDEMPOTENCY_HEADER);
    if !log.seen.insert(key.clone()) {
        log.duplicates += 1;
        return StatusCode::OK;
    }
    log.applied += 1;
    log.latest.push_front(Received {
        received_at: now,
        idempotency_key: key,
        topic: header(TOPIC_HEADER),
        payload: serde_json::from_slice(&body).unwrap_or(serde_json::Value::Null),
    });
    log.latest.truncate(KEPT);
    StatusCode::OK
}

/// Sample media for demo reports: a generated picture, so the demo needs no internet.
async fn media(axum::extract::Path(name): axum::extract::Path<String>) -> axum::response::Response {
    use crate::demo_media::{Version, png};
    use axum::response::IntoResponse;
    // `known-3.png` is a banked picture, `known-3-copy.png` a re-upload of it, `photo-3.png` an
    // unrelated one.
    if let Some(stem) = name.strip_suffix(".png") {
        let picture = if let Some(n) = stem.strip_prefix("known-") {
            match n.strip_suffix("-copy") {
                Some(n) => n.parse().ok().map(|n| (n, Version::NearCopy)),
                None => n.parse().ok().map(|n| (n, Version::Original)),
            }
        } else {
            stem.strip_prefix("photo-")
                .and_then(|n| n.parse::<u64>().ok())
                .map(|n| (1000 + n, Version::Original))
        };
        return match picture {
            Some((seed, version)) if seed < 100_000 => (
                [(axum::http::header::CONTENT_TYPE, "image/png")],
                png(seed, version),
            )
                .into_response(),
            _ => StatusCode::NOT_FOUND.into_response(),
        };
    }
    let n: u32 = name
        .trim_end_matches(".svg")
        .bytes()
        .fold(7u32, |h, b| h.wrapping_mul(31).wrapping_add(u32::from(b)));
    let hue = n % 360;
    let label: String = name
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || *c == '-')
        .take(24)
        .collect();
    let svg = format!(
        "<svg xmlns='http://www.w3.org/2000/svg' width='640' height='400' viewBox='0 0 640 400'>\
         <rect width='640' height='400' fill='hsl({hue},55%,45%)'/>\
         <circle cx='{}' cy='180' r='90' fill='hsl({},60%,70%)'/>\
         <text x='320' y='360' font-family='sans-serif' font-size='28' fill='white' text-anchor='middle'>Sample media {label}</text></svg>",
        160 + n % 320,
        (hue + 180) % 360
    );
    ([(axum::http::header::CONTENT_TYPE, "image/svg+xml")], svg).into_response()
}

async fn show(State(sim): State<Sim>) -> Json<serde_json::Value> {
    let log = sim.log.lock().unwrap_or_else(|p| p.into_inner());
    Json(serde_json::json!({
        "applied": log.applied,
        "duplicates_ignored": log.duplicates,
        "rejected_signatures": log.rejected,
        "latest": log.latest,
    }))
}
