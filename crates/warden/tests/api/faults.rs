//! Faults: the server killed with SIGKILL at random moments while reports arrive. Every report the
//! server acknowledged exists exactly once afterwards, and every case is still the fold of its
//! events. Separate processes over real HTTP, on whichever engine the suite runs.

use rand::RngExt;
use std::sync::Arc;
use std::time::Duration;

use crate::harness::{
    Acknowledged, IntakeClient, assert_cases_are_their_event_logs, cases_for_keys,
    cli_user_with_token, database_url, free_address, serve_warden, stored_reports,
};

#[tokio::test]
async fn reports_acknowledged_before_a_crash_are_all_there_exactly_once() {
    let (db, _dir) = database_url().await;
    let token = cli_user_with_token(&["--database-url", &db], "platform", "integration");
    let listen = free_address();
    let base = format!("http://{listen}");

    let acked: Acknowledged = Arc::default();
    let (workers, per_worker) = (6, 150);
    let clients: Vec<_> = (0..workers)
        .map(|w| {
            let mut client = IntakeClient::new(&base, &token, w, per_worker);
            client.acked = acked.clone();
            tokio::spawn(client.run())
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
    assert_eq!(
        stored_reports(&store).await,
        acked,
        "stored reports are exactly the acknowledged ones"
    );

    // No case is corrupt: each is the fold of its event log, and each subject has one open case.
    let cases = assert_cases_are_their_event_logs(&store).await;
    assert_eq!(cases, cases_for_keys(acked.keys()));
    assert_eq!(cases, workers * (per_worker - per_worker / 5));
    store.close().await;
}
