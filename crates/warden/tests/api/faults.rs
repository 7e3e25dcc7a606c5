//! Faults: the server killed with SIGKILL at random moments while reports arrive. Every report the
//! server acknowledged exists exactly once afterwards, and every case is still the fold of its
//! events. Separate processes over real HTTP, on whichever engine the suite runs.

use rand::RngExt;
use reqwest::StatusCode;
use serde_json::Value;
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::harness::{database_url, free_address, http_client, report, serve_warden, warden_cli};

/// What clients were told: idempotency key → the report id of the receipt.
type Acknowledged = Arc<Mutex<BTreeMap<String, i64>>>;

/// Sends `n` reports, each until acknowledged: a connection error or a 503 is retried with the
/// same key, as any client of an idempotent API would.
async fn client(base: String, token: String, worker: usize, n: usize, acked: Acknowledged) {
    let http = http_client();
    for i in 0..n {
        let key = format!("w{worker}-{i}");
        // One report in five is about a subject another report already named.
        let subject = if i % 5 == 4 {
            format!("s-{worker}-{}", i - 1)
        } else {
            format!("s-{worker}-{i}")
        };
        let body: Value = report(&subject, &format!("u-{worker}-{i}"), &key);
        loop {
            let sent = http
                .post(format!("{base}/api/v1/reports"))
                .bearer_auth(&token)
                .json(&body)
                .timeout(Duration::from_secs(5))
                .send()
                .await;
            match sent {
                Ok(r) if r.status() == StatusCode::CREATED || r.status() == StatusCode::OK => {
                    let receipt: Value = r.json().await.expect("a receipt");
                    let id = receipt["report_id"].as_i64().expect("report id");
                    let mut a = acked.lock().unwrap();
                    if let Some(first) = a.insert(key.clone(), id) {
                        assert_eq!(first, id, "a replay answers with the first receipt");
                    }
                    break;
                }
                Ok(r) if r.status().is_server_error() => {}
                Ok(r) => panic!("unexpected {} for {key}", r.status()),
                Err(_) => {}
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

#[tokio::test]
async fn reports_acknowledged_before_a_crash_are_all_there_exactly_once() {
    let (db, _dir) = database_url().await;
    let (code, _, err) = warden_cli(
        &["--database-url", &db],
        &["user", "add", "platform", "--role", "integration"],
        None,
    );
    assert_eq!(code, 0, "{err}");
    let (code, token, err) = warden_cli(
        &["--database-url", &db],
        &["token", "create", "platform"],
        None,
    );
    assert_eq!(code, 0, "{err}");
    let token = token.trim().to_string();
    let listen = free_address();
    let base = format!("http://{listen}");

    let acked: Acknowledged = Arc::default();
    let (workers, per_worker) = (6, 150);
    let clients: Vec<_> = (0..workers)
        .map(|w| {
            tokio::spawn(client(
                base.clone(),
                token.clone(),
                w,
                per_worker,
                acked.clone(),
            ))
        })
        .collect();
    // Kill the server at random moments while the clients keep sending, then bring it back.
    let mut crashes = 0;
    let mut server = serve_warden(&["--database-url", &db], &listen).await;
    while !clients.iter().all(|c| c.is_finished()) && crashes < 15 {
        let wait = rand::rng().random_range(50..300);
        tokio::time::sleep(Duration::from_millis(wait)).await;
        drop(server); // SIGKILL
        crashes += 1;
        server = serve_warden(&["--database-url", &db], &listen).await;
    }
    for c in clients {
        tokio::time::timeout(Duration::from_secs(120), c)
            .await
            .expect("the clients finish")
            .expect("no client failed");
    }
    drop(server);
    assert!(crashes >= 3, "the server was killed {crashes} times");

    // Every acknowledged report is stored once, under its key, with the id it was acknowledged as.
    let acked = acked.lock().unwrap().clone();
    assert_eq!(acked.len(), workers * per_worker);
    let store = warden::store::Db::connect(&db, 2).await.unwrap();
    use sqlx::Row;
    let rows = sqlx::query("SELECT idempotency_key, id FROM reports")
        .fetch_all(store.reader())
        .await
        .unwrap();
    let mut stored: BTreeMap<String, i64> = BTreeMap::new();
    for r in &rows {
        let key: String = r.try_get(0).unwrap();
        assert!(
            stored.insert(key.clone(), r.try_get(1).unwrap()).is_none(),
            "{key} stored twice"
        );
    }
    assert_eq!(
        stored, acked,
        "stored reports are exactly the acknowledged ones"
    );

    // No case is corrupt: each is the fold of its event log, and each subject has one open case.
    let ids = sqlx::query("SELECT id FROM cases")
        .fetch_all(store.reader())
        .await
        .unwrap();
    let expected_cases = workers * (per_worker - per_worker / 5);
    assert_eq!(ids.len(), expected_cases);
    for r in ids {
        let id: i64 = r.try_get(0).unwrap();
        let events = warden::store::cases::events_for_case(&store, id)
            .await
            .unwrap();
        let rebuilt =
            warden::domain::case::Case::replay(id, events.iter().map(|e| (e.at, &e.event)));
        let saved = warden::store::cases::get_case(&store, id).await.unwrap();
        assert_eq!(rebuilt, saved, "case {id} differs from its event log");
    }
    store.close().await;
}
