//! Delivery survives a crash: a server killed while the platform hangs loses nothing, and after a
//! restart every action and message arrives, once. Separate processes over real HTTP.

use reqwest::StatusCode;
use serde_json::{Value, json};
use std::time::Duration;

use crate::harness::{
    cli_import_demo_policies, cli_user_with_token, database_url, delivery_config, free_address,
    report, serve_warden, warden_cli, workdir,
};
use crate::receiver::{Mode, Receiver, SECRET};
use warden::clock::{Clock, SystemClock};

fn warden(db: &str, config: &str, args: &[&str], stdin: Option<&str>) -> (i32, String, String) {
    warden_cli(&["--database-url", db, "--config", config], args, stdin)
}

#[tokio::test]
async fn a_restart_mid_delivery_loses_nothing_and_delivers_once() {
    let platform = Receiver::start(|| SystemClock.now().timestamp()).await;
    platform.set(Mode::Hang);
    let (db, dir) = database_url().await;
    let workdir = workdir(&dir);
    let config_path = delivery_config(
        &workdir,
        &platform.url,
        SECRET,
        &[
            ("timeout_seconds", 1),
            ("backoff_base_seconds", 1),
            ("backoff_max_seconds", 2),
            ("max_attempts", 20),
            ("poll_interval_ms", 100),
        ],
    );
    let cfg = config_path.to_str().unwrap();

    // Set up as an operator would: the policy book, a specialist, the platform's token.
    let global = ["--database-url", &db, "--config", cfg];
    cli_import_demo_policies(&global);
    let spec = cli_user_with_token(&global, "spec", "specialist");
    let integration = cli_user_with_token(&global, "platform", "integration");

    let listen = free_address();
    let server = serve_warden(&["--database-url", &db, "--config", cfg], &listen).await;
    let client = crate::harness::http_client();
    let call = |token: &str, path: &str, body: Value| {
        client
            .post(format!("http://{listen}{path}"))
            .bearer_auth(token)
            .json(&body)
            .send()
    };
    for i in 0..5 {
        let mut r = report(&format!("p-{i}"), &format!("u-{i}"), &format!("k-{i}"));
        r["subject"]["snapshot"]["author_id"] = json!(format!("acct-{i}"));
        let res = call(&integration, "/api/v1/reports", r).await.unwrap();
        assert_eq!(res.status(), StatusCode::CREATED);
        let claimed: Value = call(&spec, "/api/v1/queues/ads_fraud/claim", json!({}))
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let res = call(
            &spec,
            &format!("/api/v1/cases/{}/decision", claimed["id"]),
            json!({"verdict": "violating", "policy": "community.fraud_scams", "rationale": "Wallet scam.",
                   "explanation": "The post asks for transfers to a private wallet with promised returns.",
                   "actions": [{"kind": "remove"}, {"kind": "strike"}]}),
        )
        .await
        .unwrap();
        assert_eq!(res.status(), StatusCode::CREATED, "{:?}", res.text().await);
    }
    // 5 acknowledgements, 10 actions, 5 outcomes to authors and 5 to reporters.
    for _ in 0..100 {
        if platform.hits() > 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(platform.hits() > 0, "deliveries were under way");
    assert!(platform.accepted().is_empty());
    // The server dies mid-delivery, hard.
    drop(server);
    platform.set(Mode::Succeed);
    let _server = serve_warden(&["--database-url", &db, "--config", cfg], &listen).await;
    platform
        .wait_for("all 25 deliveries after the restart", |a| a.len() == 25)
        .await;
    let accepted = platform.accepted();
    assert_eq!(
        accepted.keys().filter(|k| k.starts_with("action-")).count(),
        10
    );
    assert_eq!(
        accepted
            .keys()
            .filter(|k| k.starts_with("message-"))
            .count(),
        15
    );
    assert_eq!(platform.bad_signatures(), 0);

    // The statements export as Transparency Database batches.
    let out_dir = workdir.join(format!(
        "statements-{}",
        hex::encode(rand::random::<[u8; 4]>())
    ));
    let (code, _, err) = warden(
        &db,
        cfg,
        &[
            "export",
            "statements",
            "--since",
            "2020-01-01",
            "--out",
            out_dir.to_str().unwrap(),
        ],
        None,
    );
    assert_eq!(code, 0, "{err}");
    assert!(err.contains("5 statements in 1 batches"), "{err}");
    let batch: transparency::Batch = serde_json::from_str(
        &std::fs::read_to_string(out_dir.join("statements-0001.json")).unwrap(),
    )
    .unwrap();
    batch.validate().unwrap();
    let (code, _, err) = warden(
        &db,
        cfg,
        &["export", "statements", "--since", "last week"],
        None,
    );
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("since"), "{err}");
    let _ = std::fs::remove_dir_all(&out_dir);
    let _ = std::fs::remove_file(&config_path);
}
