//! A load generator for Warden's API over loopback, for benchmarks (never a test).
//!
//! Closed loop (each client sends its next request when the last one is answered):
//!   loadgen intake --url U --token T --seconds 15 --clients 32
//!   loadgen claim  --url U --tokens-file F --seconds 15 --clients 64 --queue general
//!   loadgen case   --url U --token T --seconds 15 --clients 16 --max-case-id 1000000
//! Open loop (requests start on a fixed schedule whatever the answers; latency counts from the
//! scheduled start, so a stalled server cannot hide its queueing delay):
//!   loadgen intake --url U --token T --seconds 15 --rate 500
//!
//! Prints one line of `key=value` figures, for scripts to collect.

use clap::{Parser, ValueEnum};
use serde_json::{Value, json};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};
use tokio::sync::Semaphore;

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum Mode {
    /// Reports: nine requests in ten carry one, one in ten a batch of ten; one in five joins a case.
    Intake,
    /// Claims from a queue, each client a reviewer with its own token (round robin over the file).
    Claim,
    /// Case pages (`GET /api/v1/cases/{id}`) of random cases.
    Case,
}

#[derive(Parser, Debug)]
struct Args {
    mode: Mode,
    #[arg(long)]
    url: String,
    /// Bearer token for every client.
    #[arg(long)]
    token: Option<String>,
    /// A file of bearer tokens, one per line; client i uses line i mod n.
    #[arg(long)]
    tokens_file: Option<std::path::PathBuf>,
    #[arg(long, default_value_t = 15)]
    seconds: u64,
    /// Concurrent clients (closed loop), or the most requests in flight (open loop).
    #[arg(long, default_value_t = 32)]
    clients: usize,
    /// Requests per second on a fixed schedule (open loop); without it, closed loop.
    #[arg(long)]
    rate: Option<f64>,
    #[arg(long, default_value = "general")]
    queue: String,
    /// Case pages are drawn uniformly from 1..=this id.
    #[arg(long, default_value_t = 1000)]
    max_case_id: i64,
    /// Distinguishes this run's idempotency keys and subjects from other runs on the same database.
    #[arg(long, default_value = "")]
    run: String,
}

fn report(n: u64, stream: u64, run: &str) -> Value {
    // One in five reports is about a subject already reported, so it joins its case.
    let subject = if n % 5 == 4 {
        format!("bench{run}-{stream}-{}", n / 5)
    } else {
        format!("bench{run}-{stream}-{n}")
    };
    json!({
        "subject": {"kind": "post", "external_id": subject,
                    "snapshot": {"text": "Send coins to this wallet for guaranteed returns", "country": "US",
                                 "language": "en", "reach": 1500 + n % 1000}},
        "source": if n.is_multiple_of(7) { "trusted_flagger" } else { "user" },
        "reporter": {"id": format!("r-{stream}-{n}")},
        "reason": "spam",
        "idempotency_key": format!("bench{run}-{stream}-{n}-{}", std::process::id()),
    })
}

/// The `n`th request of a stream, and how many items (reports, claims, pages) it carries.
fn request(
    args: &Args,
    client: &reqwest::Client,
    token: &str,
    n: u64,
    stream: u64,
) -> (reqwest::RequestBuilder, u64) {
    let url = &args.url;
    let (req, items) = match args.mode {
        Mode::Intake if n % 10 == 9 => {
            let batch: Vec<Value> = (0..10)
                .map(|i| report(n * 100 + i, stream, &args.run))
                .collect();
            (
                client
                    .post(format!("{url}/api/v1/reports/batch"))
                    .json(&json!({"reports": batch})),
                10,
            )
        }
        Mode::Intake => (
            client
                .post(format!("{url}/api/v1/reports"))
                .json(&report(n, stream, &args.run)),
            1,
        ),
        Mode::Claim => (
            client.post(format!("{url}/api/v1/queues/{}/claim", args.queue)),
            1,
        ),
        Mode::Case => {
            let id = 1 + (n.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ stream) % args.max_case_id as u64;
            (client.get(format!("{url}/api/v1/cases/{id}")), 1)
        }
    };
    (req.bearer_auth(token), items)
}

#[derive(Default)]
struct Tally {
    items: AtomicU64,
    failed: AtomicU64,
    /// Claims answered 204: the queue had nothing left.
    empty: AtomicU64,
    /// Open loop only: scheduled requests not sent because `clients` were already in flight.
    shed: AtomicU64,
    /// Failures by HTTP status, 0 for no answer at all (refused, reset, timed out).
    failures: std::sync::Mutex<std::collections::BTreeMap<u16, u64>>,
}

impl Tally {
    /// Counts one answer; returns whether it was a success worth a latency sample, or `None`
    /// when a claim found the queue empty.
    async fn count(&self, res: reqwest::Result<reqwest::Response>, items: u64) -> Option<bool> {
        Some(match res {
            Ok(res) if res.status().as_u16() == 204 => {
                self.empty.fetch_add(1, Ordering::Relaxed);
                return None;
            }
            // A case page of an id that does not exist is still a full round trip to the store.
            Ok(res) if res.status().is_success() || res.status().as_u16() == 404 => {
                let _ = res.bytes().await;
                self.items.fetch_add(items, Ordering::Relaxed);
                true
            }
            other => {
                self.failed.fetch_add(1, Ordering::Relaxed);
                let status = other.map_or(0, |res| res.status().as_u16());
                *self.failures.lock().unwrap().entry(status).or_default() += 1;
                false
            }
        })
    }
}

/// Failures as `status:count,…` (`-` when there were none).
fn failures(tally: &Tally) -> String {
    let failures = tally.failures.lock().unwrap();
    if failures.is_empty() {
        return "-".into();
    }
    failures
        .iter()
        .map(|(status, n)| format!("{status}:{n}"))
        .collect::<Vec<_>>()
        .join(",")
}

fn percentile(sorted: &[Duration], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i].as_secs_f64() * 1000.0
}

fn tokens(args: &Args) -> Vec<String> {
    if let Some(path) = &args.tokens_file {
        let text = std::fs::read_to_string(path).expect("tokens file is readable");
        let tokens: Vec<String> = text
            .lines()
            .filter(|l| !l.trim().is_empty())
            .map(|l| l.trim().to_string())
            .collect();
        assert!(!tokens.is_empty(), "tokens file is empty");
        tokens
    } else {
        vec![args.token.clone().expect("--token or --tokens-file")]
    }
}

async fn closed_loop(
    args: Arc<Args>,
    client: reqwest::Client,
    tokens: Vec<String>,
    tally: Arc<Tally>,
) -> Vec<Duration> {
    let deadline = Instant::now() + Duration::from_secs(args.seconds);
    let mut tasks = Vec::new();
    for stream in 0..args.clients as u64 {
        let (args, client, tally) = (args.clone(), client.clone(), tally.clone());
        let token = tokens[stream as usize % tokens.len()].clone();
        tasks.push(tokio::spawn(async move {
            let mut latencies = Vec::new();
            let mut n = 0u64;
            while Instant::now() < deadline {
                let t = Instant::now();
                let (req, items) = request(&args, &client, &token, n, stream);
                n += 1;
                match tally.count(req.send().await, items).await {
                    Some(true) => latencies.push(t.elapsed()),
                    Some(false) => {}
                    None => break,
                }
            }
            latencies
        }));
    }
    let mut all = Vec::new();
    for t in tasks {
        all.extend(t.await.expect("client"));
    }
    all
}

async fn open_loop(
    args: Arc<Args>,
    client: reqwest::Client,
    tokens: Vec<String>,
    tally: Arc<Tally>,
    rate: f64,
) -> Vec<Duration> {
    let interval = Duration::from_secs_f64(1.0 / rate);
    let total = (rate * args.seconds as f64) as u64;
    let in_flight = Arc::new(Semaphore::new(args.clients));
    let started = Instant::now();
    // One stream per run: subjects repeat within it as in the closed loop's streams.
    let stream = u64::from(std::process::id());
    let mut tasks = Vec::with_capacity(total as usize);
    for n in 0..total {
        let scheduled = started + interval.mul_f64(n as f64);
        tokio::time::sleep_until(scheduled.into()).await;
        let Ok(permit) = in_flight.clone().try_acquire_owned() else {
            tally.shed.fetch_add(1, Ordering::Relaxed);
            continue;
        };
        let (args, client, tally) = (args.clone(), client.clone(), tally.clone());
        let token = tokens[n as usize % tokens.len()].clone();
        tasks.push(tokio::spawn(async move {
            let (req, items) = request(&args, &client, &token, n, stream);
            let res = req.send().await;
            let ok = tally.count(res, items).await == Some(true);
            drop(permit);
            ok.then(|| scheduled.elapsed())
        }));
    }
    let mut all = Vec::new();
    for t in tasks {
        all.extend(t.await.expect("request"));
    }
    all
}

#[tokio::main]
async fn main() {
    let args = Arc::new(Args::parse());
    warden::enforcement::delivery::install_tls();
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(args.clients)
        .build()
        .expect("client");
    let tokens = tokens(&args);
    let tally = Arc::new(Tally::default());
    let started = Instant::now();
    let mut latencies = match args.rate {
        Some(rate) => open_loop(args.clone(), client, tokens, tally.clone(), rate).await,
        None => closed_loop(args.clone(), client, tokens, tally.clone()).await,
    };
    let elapsed = started.elapsed().as_secs_f64();
    latencies.sort();
    let items = tally.items.load(Ordering::Relaxed);
    println!(
        "mode={:?} clients={} offered={} items={items} seconds={elapsed:.1} per_second={:.0} requests={} p50_ms={:.1} p99_ms={:.1} failed={} empty={} shed={} failures={}",
        args.mode,
        args.clients,
        args.rate
            .map_or("closed".to_string(), |r| format!("{r:.0}")),
        items as f64 / elapsed,
        latencies.len(),
        percentile(&latencies, 0.50),
        percentile(&latencies, 0.99),
        tally.failed.load(Ordering::Relaxed),
        tally.empty.load(Ordering::Relaxed),
        tally.shed.load(Ordering::Relaxed),
        failures(&tally),
    );
}
