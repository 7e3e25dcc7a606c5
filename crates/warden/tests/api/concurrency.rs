use reqwest::StatusCode;
use serde_json::json;
use std::collections::HashSet;
use std::sync::Arc;

use crate::harness::{report, start};

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn thirty_two_claimers_over_a_thousand_cases_never_share_one() {
    let d = Arc::new(start().await);
    for chunk in 0..2 {
        let reports: Vec<_> = (0..500)
            .map(|i| report(&format!("p-{chunk}-{i}"), "u", &format!("k-{chunk}-{i}")))
            .collect();
        let (status, body) = d
            .post(
                "platform",
                "/api/v1/reports/batch",
                json!({"reports": reports}),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
    }
    let mut tasks = Vec::new();
    for _ in 0..32 {
        let d = d.clone();
        tasks.push(tokio::spawn(async move {
            let mut mine = Vec::new();
            loop {
                let (status, body) = d
                    .post("spec", "/api/v1/queues/ads_fraud/claim", json!({}))
                    .await;
                match status {
                    StatusCode::OK => mine.push(body["id"].as_i64().unwrap()),
                    StatusCode::NO_CONTENT => return mine,
                    other => panic!("claim failed with {other}: {body}"),
                }
            }
        }));
    }
    let mut all = Vec::new();
    for t in tasks {
        all.extend(t.await.unwrap());
    }
    let unique: HashSet<_> = all.iter().collect();
    assert_eq!(all.len(), 1000, "every case claimed");
    assert_eq!(unique.len(), 1000, "no case claimed twice");
    assert_eq!(d.count("events WHERE kind = 'claimed'").await, 1000);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_replays_of_one_key_write_one_report() {
    let d = Arc::new(start().await);
    let mut tasks = Vec::new();
    for _ in 0..16 {
        let d = d.clone();
        tasks.push(tokio::spawn(async move {
            d.post(
                "platform",
                "/api/v1/reports",
                report("p-1", "u-1", "same-key"),
            )
            .await
        }));
    }
    let mut ids = HashSet::new();
    let mut created = 0;
    for t in tasks {
        let (status, body) = t.await.unwrap();
        assert!(
            status == StatusCode::CREATED || status == StatusCode::OK,
            "{status}: {body}"
        );
        created += usize::from(status == StatusCode::CREATED);
        ids.insert(body["report_id"].as_i64().unwrap());
    }
    assert_eq!(created, 1);
    assert_eq!(ids.len(), 1);
    assert_eq!(d.count("reports").await, 1);
    assert_eq!(d.count("cases").await, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_first_reports_on_one_subject_open_one_case() {
    let d = Arc::new(start().await);
    let mut tasks = Vec::new();
    for i in 0..16 {
        let d = d.clone();
        tasks.push(tokio::spawn(async move {
            d.report(report("p-hot", &format!("u-{i}"), &format!("k-{i}")))
                .await
        }));
    }
    let mut cases = HashSet::new();
    for t in tasks {
        cases.insert(t.await.unwrap()["case_id"].as_i64().unwrap());
    }
    assert_eq!(cases.len(), 1);
    assert_eq!(d.count("reports").await, 16);
    let (_, case) = d
        .get(
            "lead",
            &format!("/api/v1/cases/{}", cases.iter().next().unwrap()),
        )
        .await;
    assert_eq!(case["report_count"], 16);
}
