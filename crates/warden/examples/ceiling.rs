//! The HTTP ceiling for benchmarks: the same stack as Warden's server (tokio, hyper through
//! axum::serve, the JSON extractor) on the same routes, answering a fixed JSON body without
//! touching a database. Whatever Warden does beyond this is the cost of the desk itself.
//!
//!   cargo run --release --example ceiling -- 127.0.0.1:18940

use axum::extract::Path;
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::{Value, json};

async fn accepted(Json(_report): Json<Value>) -> Json<Value> {
    Json(
        json!({"report_id": 1, "case_id": 1, "case_status": "triaged", "priority": "P3", "duplicate": false}),
    )
}

async fn claimed(Path(_queue): Path<String>) -> Json<Value> {
    Json(json!({"id": 1, "status": "in_review", "queue": "general", "priority": "P3"}))
}

async fn case_page(Path(id): Path<i64>) -> Json<Value> {
    Json(json!({"id": id, "status": "triaged", "reports": [], "timeline": [], "notes": []}))
}

#[tokio::main]
async fn main() {
    let listen = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:18940".into());
    let app = Router::new()
        .route("/api/v1/reports", post(accepted))
        .route("/api/v1/reports/batch", post(accepted))
        .route("/api/v1/queues/{queue}/claim", post(claimed))
        .route("/api/v1/cases/{id}", get(case_page))
        .route("/healthz", get(|| async { "ok" }));
    let listener = tokio::net::TcpListener::bind(&listen)
        .await
        .expect("listen address is free");
    axum::serve(listener, app).await.expect("serve");
}
