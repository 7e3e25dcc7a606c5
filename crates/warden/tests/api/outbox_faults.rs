//! The outbox under faults: the platform's receiver goes down, answers too late, fails and accepts
//! on a random (seeded) schedule while decisions are taken through the API and the server is
//! killed with SIGKILL a few times. Afterwards every delivery has arrived, the receiver (which
//! honours idempotency keys) applied each one once, and no row is left pending, failing or dead.
//! Separate processes over real HTTP, on whichever engine the suite runs.

use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand::{RngExt, SeedableRng};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use crate::harness::{
    cli_import_demo_policies, cli_user_with_token, database_url, delivery_config, free_address,
    http_client, report, send_until_answered, serve_warden, workdir,
};
use crate::receiver::{Mode, Receiver, SECRET};
use warden::clock::{Clock, SystemClock};
use warden::store::enforcement::{DeliveryState, list_deliveries};

/// The delivery timeout the desk is configured with, in seconds.
const TIMEOUT_SECS: i64 = 1;

/// The seed of this run: `WARDEN_TEST_SEED` to replay one, else a fresh one (printed).
fn seed() -> u64 {
    let seed = std::env::var("WARDEN_TEST_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(rand::random);
    eprintln!("outbox under faults: WARDEN_TEST_SEED={seed}");
    seed
}

/// Switches the receiver between down, late, failing and accepting, each for a random spell and in
/// a random order, every one of them in each round, until `settle` is set; then leaves it accepting.
async fn flap(platform: Receiver, mut rng: StdRng, settle: Arc<AtomicBool>) -> Vec<Mode> {
    let late = Duration::from_millis(TIMEOUT_SECS as u64 * 1000 + 700);
    let mut spells = Vec::new();
    while !settle.load(Ordering::SeqCst) {
        let mut round = [Mode::Down, Mode::Slow(late), Mode::Fail, Mode::Succeed];
        round.shuffle(&mut rng);
        for mode in round {
            platform.set(mode);
            spells.push(mode);
            tokio::time::sleep(Duration::from_millis(rng.random_range(150..700))).await;
        }
    }
    platform.set(Mode::Succeed);
    spells
}

/// The people deciding, as their API tokens.
struct Desk {
    base: String,
    platform: String,
    lead: String,
    spec: String,
    spec_id: i64,
}

impl Desk {
    /// Sends until the server answers with something other than a 5xx (it may be restarting).
    async fn call(
        &self,
        token: &str,
        method: Method,
        path: &str,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        let http = http_client();
        send_until_answered(|| {
            let req = http
                .request(method.clone(), format!("{}{path}", self.base))
                .bearer_auth(token)
                .timeout(Duration::from_secs(5));
            match &body {
                Some(b) => req.json(b),
                None => req,
            }
        })
        .await
    }

    /// Reports case `i`'s subject, has the lead give it to the specialist and the specialist
    /// decide it with actions that deliver. Each step is sent again until it is known to be done:
    /// the report under its idempotency key; the decision until the case is seen decided.
    async fn report_and_decide(&self, i: usize) -> i64 {
        let mut r = report(&format!("p-{i}"), &format!("u-{i}"), &format!("k-{i}"));
        r["subject"]["snapshot"]["author_id"] = json!(format!("acct-{i}"));
        let (status, receipt) = self
            .call(&self.platform, Method::POST, "/api/v1/reports", Some(r))
            .await;
        assert!(
            status == StatusCode::CREATED || status == StatusCode::OK,
            "{status}: {receipt}"
        );
        let case = receipt["case_id"].as_i64().expect("a case id");
        loop {
            let (status, body) = self
                .call(
                    &self.lead,
                    Method::POST,
                    &format!("/api/v1/cases/{case}/assign"),
                    Some(json!({"assignee": self.spec_id})),
                )
                .await;
            if status == StatusCode::OK {
                let (status, body) = self
                    .call(
                        &self.spec,
                        Method::POST,
                        &format!("/api/v1/cases/{case}/decision"),
                        Some(json!({"verdict": "violating", "policy": "community.fraud_scams",
                            "rationale": "Wallet scam.",
                            "explanation": "The post asks for transfers to a private wallet with promised returns.",
                            "actions": [{"kind": "remove"}, {"kind": "strike"}]})),
                    )
                    .await;
                if status == StatusCode::CREATED {
                    return case;
                }
                // A case already decided is no longer held by anyone.
                assert!(
                    status == StatusCode::CONFLICT || status == StatusCode::FORBIDDEN,
                    "{status}: {body}"
                );
            } else {
                assert_eq!(status, StatusCode::CONFLICT, "{body}");
            }
            // Refused, as when the case was decided and the answer lost in a crash: look.
            let (status, detail) = self
                .call(
                    &self.spec,
                    Method::GET,
                    &format!("/api/v1/cases/{case}"),
                    None,
                )
                .await;
            assert_eq!(status, StatusCode::OK, "{detail}");
            if detail["status"] == "closed" {
                return case;
            }
        }
    }
}

#[tokio::test]
async fn every_delivery_arrives_and_is_applied_once_through_a_flapping_receiver_and_crashes() {
    let seed = seed();
    let mut rng = StdRng::seed_from_u64(seed);
    let platform = Receiver::start(|| SystemClock.now().timestamp()).await;
    platform.set(Mode::Down);
    let (db, dir) = database_url().await;
    let config_path = delivery_config(
        &workdir(&dir),
        &platform.url,
        SECRET,
        &[
            ("timeout_seconds", TIMEOUT_SECS),
            ("backoff_base_seconds", 1),
            ("backoff_max_seconds", 2),
            // Enough tries for every row to outlast the flapping: nothing should end dead.
            ("max_attempts", 60),
            ("poll_interval_ms", 100),
            ("batch_size", 8),
        ],
    );
    let global = [
        "--database-url",
        &db,
        "--config",
        config_path.to_str().unwrap(),
    ];
    cli_import_demo_policies(&global);
    let listen = free_address();
    let mut desk = Desk {
        base: format!("http://{listen}"),
        platform: cli_user_with_token(&global, "platform", "integration"),
        lead: cli_user_with_token(&global, "lead", "lead"),
        spec: cli_user_with_token(&global, "spec", "specialist"),
        spec_id: 0,
    };
    let mut server = serve_warden(&global, &listen).await;
    let (_, me) = desk.call(&desk.spec, Method::GET, "/api/v1/me", None).await;
    desk.spec_id = me["user_id"].as_i64().expect("the specialist's id");
    let desk = Arc::new(desk);

    let settle = Arc::new(AtomicBool::new(false));
    let flapper = tokio::spawn(flap(
        platform.clone(),
        StdRng::seed_from_u64(seed.wrapping_add(1)),
        settle.clone(),
    ));
    let cases = 24;
    let deciding = {
        let desk = desk.clone();
        tokio::spawn(async move {
            let mut decided = Vec::new();
            for i in 0..cases {
                decided.push(desk.report_and_decide(i).await);
            }
            decided
        })
    };
    // Kill the server at random moments while cases are decided, at least three times, the last
    // ones perhaps while the outbox is still being worked through.
    let mut kills = 0;
    loop {
        tokio::time::sleep(Duration::from_millis(rng.random_range(200..900))).await;
        let deciding_done = deciding.is_finished();
        drop(server); // SIGKILL
        kills += 1;
        server = serve_warden(&global, &listen).await;
        if (deciding_done && kills >= 3) || kills >= 12 {
            break;
        }
    }
    let decided = tokio::time::timeout(Duration::from_secs(60), deciding)
        .await
        .expect("the decisions are taken")
        .expect("no decision failed");
    assert_eq!(decided.len(), cases);
    assert!(kills >= 3, "the server was killed {kills} times");
    tokio::time::sleep(Duration::from_millis(rng.random_range(500..2000))).await;
    settle.store(true, Ordering::SeqCst);
    let spells = flapper.await.unwrap();

    // Wait (bounded) until the outbox is drained: every row delivered.
    let store = warden::store::Db::connect(&db, 2).await.unwrap();
    let mut rows = Vec::new();
    for _ in 0..450 {
        rows = list_deliveries(&store, &[], None, None, 1000)
            .await
            .unwrap();
        if rows.iter().all(|d| d.state == DeliveryState::Delivered) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let undelivered: Vec<_> = rows
        .iter()
        .filter(|d| d.state != DeliveryState::Delivered)
        .map(|d| (&d.idempotency_key, d.state, d.attempts, &d.last_error))
        .collect();
    assert!(
        undelivered.is_empty(),
        "left undelivered (seed {seed}, spells {spells:?}): {undelivered:?}"
    );
    drop(server);

    // Per case: the acknowledgement to the reporter, the two actions, and the outcome to the
    // author and to the reporter.
    assert_eq!(rows.len(), 5 * cases, "outbox rows");
    let accepted = platform.accepted();
    let keys: Vec<&String> = rows.iter().map(|d| &d.idempotency_key).collect();
    assert_eq!(
        accepted.keys().collect::<Vec<_>>(),
        {
            let mut k = keys.clone();
            k.sort();
            k
        },
        "the receiver applied exactly the outbox's deliveries"
    );
    // Each action was applied once: one removal and one strike per case, under one key each.
    let mut applied: BTreeMap<(i64, String), usize> = BTreeMap::new();
    for body in accepted.values().filter(|b| b["topic"] == "action") {
        let case = body["case_id"].as_i64().unwrap();
        let kind = body["action"]["kind"].as_str().unwrap().to_string();
        *applied.entry((case, kind)).or_default() += 1;
    }
    let expected: BTreeMap<(i64, String), usize> = decided
        .iter()
        .flat_map(|&c| {
            [
                ((c, "remove".to_string()), 1),
                ((c, "strike".to_string()), 1),
            ]
        })
        .collect();
    assert_eq!(applied, expected, "every action applied once");
    assert_eq!(platform.bad_signatures(), 0);
    eprintln!(
        "outbox under faults: {} deliveries, {} repeated to the receiver, {} requests, {kills} kills, {} spells",
        rows.len(),
        platform.duplicates(),
        platform.hits(),
        spells.len()
    );
    store.close().await;
    let _ = std::fs::remove_file(&config_path);
}
