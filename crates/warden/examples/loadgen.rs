//! A small closed-loop load generator for Warden's API, for benchmarks on loopback.
//!
//! cargo run --release --example loadgen -- intake URL TOKEN SECONDS CONCURRENCY
//! cargo run --release --example loadgen -- claim URL TOKEN SECONDS CONCURRENCY QUEUE

use serde_json::{Value, json};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

fn report(n: u64, worker: u64) -> Value {
    // One in five reports is about a subject already reported, so it joins its case.
    let subject = if n % 5 == 4 {
        format!("bench-{worker}-{}", n / 5)
    } else {
        format!("bench-{worker}-{n}")
    };
    json!({
        "subject": {"kind": "post", "external_id": subject,
                    "snapshot": {"text": "Send coins to this wallet for guaranteed returns", "country": "US",
                                 "language": "en", "reach": 1500 + n % 1000}},
        "source": if n.is_multiple_of(7) { "trusted_flagger" } else { "user" },
        "reporter": {"id": format!("r-{worker}-{n}")},
        "reason": "spam",
        "idempotency_key": format!("bench-{worker}-{n}-{}", std::process::id()),
    })
}

fn percentile(sorted: &[Duration], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i].as_secs_f64() * 1000.0
}

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().collect();
    let usage = "usage: loadgen (intake|claim) URL TOKEN SECONDS CONCURRENCY [QUEUE]";
    let [_, mode, url, token, seconds, concurrency, rest @ ..] = args.as_slice() else {
        eprintln!("{usage}");
        std::process::exit(2);
    };
    let seconds: u64 = seconds.parse().expect("SECONDS is a number");
    let concurrency: u64 = concurrency.parse().expect("CONCURRENCY is a number");
    let queue = rest.first().cloned().unwrap_or_else(|| "general".into());
    warden::enforcement::delivery::install_tls();
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(concurrency as usize)
        .build()
        .expect("client");
    let deadline = Instant::now() + Duration::from_secs(seconds);
    let done = Arc::new(AtomicU64::new(0));
    let failed = Arc::new(AtomicU64::new(0));
    let started = Instant::now();
    let mut tasks = Vec::new();
    for worker in 0..concurrency {
        let (client, url, token, mode, queue) = (
            client.clone(),
            url.clone(),
            token.clone(),
            mode.clone(),
            queue.clone(),
        );
        let (done, failed) = (done.clone(), failed.clone());
        tasks.push(tokio::spawn(async move {
            let mut latencies = Vec::new();
            let mut n = 0u64;
            while Instant::now() < deadline {
                let t = Instant::now();
                let (req, items) = match mode.as_str() {
                    // Every tenth request is a batch of ten.
                    "intake" if n % 10 == 9 => {
                        let batch: Vec<Value> =
                            (0..10).map(|i| report(n * 100 + i, worker)).collect();
                        (
                            client
                                .post(format!("{url}/api/v1/reports/batch"))
                                .json(&json!({"reports": batch})),
                            10,
                        )
                    }
                    "intake" => (
                        client
                            .post(format!("{url}/api/v1/reports"))
                            .json(&report(n, worker)),
                        1,
                    ),
                    _ => (client.post(format!("{url}/api/v1/queues/{queue}/claim")), 1),
                };
                n += 1;
                match req.bearer_auth(&token).send().await {
                    Ok(res) if res.status().as_u16() == 204 => break,
                    Ok(res) if res.status().is_success() => {
                        let _ = res.bytes().await;
                        done.fetch_add(items, Ordering::Relaxed);
                        latencies.push(t.elapsed());
                    }
                    _ => {
                        failed.fetch_add(1, Ordering::Relaxed);
                    }
                }
            }
            latencies
        }));
    }
    let mut all = Vec::new();
    for t in tasks {
        all.extend(t.await.expect("worker"));
    }
    let elapsed = started.elapsed().as_secs_f64();
    all.sort();
    let what = if mode == "intake" {
        "reports"
    } else {
        "claims"
    };
    println!(
        "{mode}: {} {what} in {elapsed:.1}s = {:.0} {what}/s; {} requests, p50 {:.1} ms, p99 {:.1} ms, {} failed",
        done.load(Ordering::Relaxed),
        done.load(Ordering::Relaxed) as f64 / elapsed,
        all.len(),
        percentile(&all, 0.50),
        percentile(&all, 0.99),
        failed.load(Ordering::Relaxed),
    );
}
