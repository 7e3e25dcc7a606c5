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

/// Claimers, releases, notes and leases lapsing at random moments: replaying every case's log, no
/// claim ever lands on a case someone else still held, and every note is written by its holder.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn with_leases_lapsing_at_random_no_case_is_ever_held_by_two() {
    use rand::RngExt;
    use warden::domain::events::CaseEvent;
    let d = Arc::new(start().await);
    let reports: Vec<_> = (0..120)
        .map(|i| report(&format!("p-l-{i}"), "u", &format!("k-l-{i}")))
        .collect();
    let (status, body) = d
        .post(
            "platform",
            "/api/v1/reports/batch",
            json!({"reports": reports}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    // Specialists only: leads may write on any case by their role, which is not a claim.
    let people = ["spec", "spec2", "cs_spec"];
    let mut tasks = Vec::new();
    for t in 0..15 {
        let d = d.clone();
        let who = people[t % people.len()];
        tasks.push(tokio::spawn(async move {
            for _ in 0..30 {
                let (status, body) = d
                    .post(who, "/api/v1/queues/ads_fraud/claim", json!({}))
                    .await;
                if status != StatusCode::OK {
                    assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
                    continue;
                }
                let case = body["id"].as_i64().unwrap();
                let roll = rand::rng().random_range(0..3);
                let path = format!("/api/v1/cases/{case}");
                // Work on it, give it back, or walk away and let the lease lapse. A lapsed holder's
                // late write is refused, which is the point.
                let (status, _) = match roll {
                    0 => {
                        d.post(who, &format!("{path}/notes"), json!({"body": "looked"}))
                            .await
                    }
                    1 => d.post(who, &format!("{path}/release"), json!({})).await,
                    _ => (StatusCode::OK, json!(null)),
                };
                assert!(
                    status.is_success()
                        || status == StatusCode::CONFLICT
                        || status == StatusCode::FORBIDDEN,
                    "{status}"
                );
            }
        }));
    }
    // Meanwhile time moves in uneven steps past the 30-minute leases.
    let clock = d.clone();
    let mover = tokio::spawn(async move {
        for _ in 0..200 {
            let step = rand::rng().random_range(0..12);
            clock.clock.advance(chrono::Duration::minutes(step));
            tokio::time::sleep(std::time::Duration::from_millis(5)).await;
        }
    });
    for t in tasks {
        t.await.unwrap();
    }
    mover.await.unwrap();

    let mut claims = 0;
    for id in 1..=120 {
        let events = warden::store::cases::events_for_case(&d.desk.db, id)
            .await
            .unwrap();
        let (mut holder, mut lease): (Option<i64>, Option<chrono::DateTime<chrono::Utc>>) =
            (None, None);
        for e in &events {
            match &e.event {
                CaseEvent::Claimed {
                    assignee,
                    lease_expires_at,
                } => {
                    assert!(
                        holder.is_none(),
                        "case {id}: claimed by {assignee} while {holder:?} held it"
                    );
                    claims += 1;
                    (holder, lease) = (Some(*assignee), Some(*lease_expires_at));
                }
                CaseEvent::LeaseLapsed { previous_assignee } => {
                    assert_eq!(holder, Some(*previous_assignee));
                    assert!(
                        lease.is_some_and(|l| l <= e.at),
                        "case {id}: a live lease was taken away"
                    );
                    (holder, lease) = (None, None);
                }
                CaseEvent::LeaseRenewed { lease_expires_at } => lease = Some(*lease_expires_at),
                CaseEvent::Released => (holder, lease) = (None, None),
                CaseEvent::NoteAdded { .. } => {
                    assert_eq!(
                        e.actor_id, holder,
                        "case {id}: a note by someone not holding it"
                    );
                    assert!(
                        lease.is_some_and(|l| l > e.at),
                        "case {id}: a note on a lapsed lease"
                    );
                }
                _ => {}
            }
        }
    }
    assert!(
        claims > 120,
        "claims were contended and repeated ({claims})"
    );
}
