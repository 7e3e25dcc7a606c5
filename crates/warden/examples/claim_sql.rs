//! The claim ceiling on SQLite: the bare statement Warden's claim runs to pick the next waiting
//! case, and the update that hands it over, in one write transaction, in a tight loop on the same
//! connection settings as the server (WAL, synchronous FULL). PostgreSQL's ceiling is the same
//! pair of statements driven by pgbench (`scripts/bench/claim.pgbench`).
//!
//!   cargo run --release --example claim_sql -- DATABASE_URL SECONDS [QUEUE]
//!
//! The cases it claimed are put back in the queue afterwards, as they were.

use sqlx::Row;
use std::time::{Duration, Instant};
use warden::store::Db;

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().collect();
    let (Some(url), Some(seconds)) = (args.get(1), args.get(2)) else {
        eprintln!("usage: claim_sql DATABASE_URL SECONDS [QUEUE]");
        std::process::exit(2);
    };
    let seconds: u64 = seconds.parse().expect("SECONDS is a number");
    let queue = args.get(3).map_or("general", String::as_str).to_string();
    let db = Db::connect(url, 2).await.expect("database");
    let deadline = Instant::now() + Duration::from_secs(seconds);
    let started = Instant::now();
    let mut latencies = Vec::new();
    let mut claimed = Vec::new();
    while Instant::now() < deadline {
        let t = Instant::now();
        let mut tx = db.begin().await.expect("begin");
        let Some(row) = sqlx::query(
            "SELECT id FROM cases WHERE queue = $1 AND status IN ('triaged', 'reopened') \
             ORDER BY priority, resolution_due, id LIMIT 1",
        )
        .bind(queue.clone())
        .fetch_optional(&mut *tx)
        .await
        .expect("select") else {
            break;
        };
        let id: i64 = row.get(0);
        sqlx::query(
            "UPDATE cases SET status = 'in_review', assignee_id = 1, lease_expires_at = 0 WHERE id = $1",
        )
        .bind(id)
        .execute(&mut *tx)
        .await
        .expect("update");
        tx.commit().await.expect("commit");
        latencies.push(t.elapsed());
        claimed.push(id);
    }
    let elapsed = started.elapsed().as_secs_f64();
    let mut tx = db.begin().await.expect("begin");
    for id in claimed {
        sqlx::query(
            "UPDATE cases SET status = 'triaged', assignee_id = NULL, lease_expires_at = NULL \
             WHERE id = $1",
        )
        .bind(id)
        .execute(&mut *tx)
        .await
        .expect("put back");
    }
    tx.commit().await.expect("commit");
    latencies.sort();
    let p99 = latencies
        .get(((latencies.len() as f64 - 1.0) * 0.99) as usize)
        .map_or(0.0, |d| d.as_secs_f64() * 1000.0);
    println!(
        "mode=claim_sql items={} seconds={elapsed:.1} per_second={:.0} p99_ms={p99:.2}",
        latencies.len(),
        latencies.len() as f64 / elapsed
    );
}
