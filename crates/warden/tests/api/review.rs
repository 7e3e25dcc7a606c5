use chrono::Duration;
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::harness::{fields, report, start, t0};
use warden::domain::case::Case;

#[tokio::test]
async fn claim_investigate_consult_decide_close_and_reopen() {
    let d = start().await;
    let low = d.report(report("p-low", "u-1", "a")).await;
    let mut urgent = report("p-urgent", "u-2", "b");
    urgent["source"] = json!("trusted_flagger");
    urgent["risk_flags"] = json!(["minor_safety"]);
    let urgent = d.report(urgent).await;
    assert_eq!(
        (low["priority"].as_str(), urgent["priority"].as_str()),
        (Some("P3"), Some("P0"))
    );

    // The most urgent case comes first, then the next; then the queue is empty.
    let (status, first) = d
        .post("spec", "/api/v1/queues/ads_fraud/claim", json!({}))
        .await;
    assert_eq!(status, StatusCode::OK, "{first}");
    assert_eq!(first["id"], urgent["case_id"]);
    assert_eq!(first["status"], "in_review");
    assert_eq!(first["assignee_id"], d.id("spec"));
    let (_, second) = d
        .post("spec2", "/api/v1/queues/ads_fraud/claim", json!({}))
        .await;
    assert_eq!(second["id"], low["case_id"]);
    assert_eq!(
        d.post("spec2", "/api/v1/queues/ads_fraud/claim", json!({}))
            .await
            .0,
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        d.post("spec2", "/api/v1/queues/nowhere/claim", json!({}))
            .await
            .0,
        StatusCode::NOT_FOUND
    );

    let case = format!("/api/v1/cases/{}", urgent["case_id"]);
    // Someone who does not hold the case may not work it.
    let (status, _) = d
        .post(
            "spec2",
            &format!("{case}/notes"),
            json!({"body": "mine now"}),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, note) = d
        .post(
            "spec",
            &format!("{case}/notes"),
            json!({"body": "Wallet seen in 3 other scams"}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{note}");
    let (status, tagged) = d
        .post(
            "spec",
            &format!("{case}/tags"),
            json!({"add": ["crypto", "wallet-reuse"]}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(tagged["tags"], json!(["crypto", "wallet-reuse"]));
    let (status, problem) = d
        .post("spec", &format!("{case}/tags"), json!({"add": ["Bad Tag"]}))
        .await;
    assert_eq!(
        (status, fields(&problem)),
        (StatusCode::UNPROCESSABLE_ENTITY, vec!["add[0]".to_string()])
    );

    // Consult Legal: the case waits and its clock stops.
    d.clock.advance(Duration::minutes(10));
    let due = (t0() + Duration::days(1)).to_rfc3339();
    let (status, bad) = d
        .post(
            "spec",
            &format!("{case}/consultations"),
            json!({"team": "astrology", "question": "?", "due_at": due}),
        )
        .await;
    assert_eq!(
        (status, fields(&bad)),
        (StatusCode::UNPROCESSABLE_ENTITY, vec!["team".to_string()])
    );
    let (status, asked) = d
        .post(
            "spec",
            &format!("{case}/consultations"),
            json!({"team": "legal", "question": "Is the wallet owner a minor?", "due_at": due}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{asked}");
    assert_eq!(asked["case"]["status"], "waiting_consultation");
    assert_eq!(asked["case"]["sla"]["paused"], true);
    let due_before = asked["case"]["sla"]["resolution_due"].clone();
    // While it waits it cannot be decided, and says why.
    let decision = json!({"verdict": "violating", "policy": "community.fraud_scams", "rationale": "scam",
        "explanation": "The post asks people to send money to a wallet with a promise of guaranteed returns.",
        "actions": [{"kind": "remove"}]});
    let (status, problem) = d
        .post("spec", &format!("{case}/decision"), decision.clone())
        .await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert_eq!(
        problem["detail"],
        "cannot decide a case that is waiting_consultation"
    );

    // The partner sees only their team's question and answers it two hours later.
    let (status, inbox) = d.get("legal", "/api/v1/consultations").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(inbox.as_array().unwrap().len(), 1);
    assert_eq!(d.get("policy", "/api/v1/consultations").await.1, json!([]));
    let cid = inbox[0]["id"].as_i64().unwrap();
    assert_eq!(
        d.post(
            "policy",
            &format!("/api/v1/consultations/{cid}/answer"),
            json!({"answer": "x"})
        )
        .await
        .0,
        StatusCode::NOT_FOUND
    );
    d.clock.advance(Duration::hours(2));
    let (status, answered) = d
        .post(
            "legal",
            &format!("/api/v1/consultations/{cid}/answer"),
            json!({"answer": "No; adult account."}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{answered}");
    assert_eq!(answered["answered_by"], "legal");
    assert_eq!(
        d.post(
            "legal",
            &format!("/api/v1/consultations/{cid}/answer"),
            json!({"answer": "again"})
        )
        .await
        .0,
        StatusCode::CONFLICT
    );
    let (_, after) = d.get("spec", &case).await;
    assert_eq!(after["status"], "in_review");
    let shift = |v: &Value| chrono::DateTime::parse_from_rfc3339(v.as_str().unwrap()).unwrap();
    assert_eq!(
        shift(&after["sla"]["resolution_due"]) - shift(&due_before),
        Duration::hours(2),
        "two hours waiting on Legal do not count"
    );
    assert_eq!(
        shift(&after["sla"]["resolution_due"]),
        shift(&first["sla"]["resolution_due"]) + Duration::hours(2)
    );

    // Decide: a rationale is required; then the case closes.
    let (status, problem) = d.post("spec", &format!("{case}/decision"), json!({"verdict": "violating", "policy": "community.fraud_scams", "rationale": " ", "explanation": "x", "actions": [{"kind": "remove"}]})).await;
    assert_eq!(
        (status, fields(&problem)),
        (
            StatusCode::UNPROCESSABLE_ENTITY,
            vec!["rationale".to_string()]
        )
    );
    let (status, decided) = d.post("spec", &format!("{case}/decision"), decision).await;
    assert_eq!(status, StatusCode::CREATED, "{decided}");
    assert_eq!(decided["case"]["status"], "closed");
    assert_eq!(decided["case"]["verdict"], "violating");
    let (status, problem) = d.post("spec", &format!("{case}/release"), json!({})).await;
    assert_eq!(
        (status, problem["code"].as_str()),
        (StatusCode::CONFLICT, Some("illegal_transition"))
    );

    // A new report on the subject reopens the same case.
    let reopened = d.report(report("p-urgent", "u-7", "c")).await;
    assert_eq!(reopened["outcome"], "reopened");
    assert_eq!(reopened["case_id"], urgent["case_id"]);
    assert_eq!(reopened["case_status"], "reopened");

    // The stored state is exactly the fold of the event log.
    let events =
        warden::store::cases::events_for_case(&d.desk.db, urgent["case_id"].as_i64().unwrap())
            .await
            .unwrap();
    let rebuilt = Case::replay(
        urgent["case_id"].as_i64().unwrap(),
        events.iter().map(|e| (e.at, &e.event)),
    )
    .unwrap();
    let stored = warden::store::cases::get_case(&d.desk.db, rebuilt.id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(rebuilt, stored);
    let (_, detail) = d.get("lead", &case).await;
    let kinds: Vec<&str> = detail["timeline"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["kind"].as_str().unwrap())
        .collect();
    for k in [
        "claimed",
        "note_added",
        "tags_changed",
        "consultation_requested",
        "consultation_answered",
        "decided",
        "closed",
        "reopened",
    ] {
        assert!(kinds.contains(&k), "{k} missing from {kinds:?}");
    }
    assert_eq!(detail["notes"][0]["author"], "spec");
    assert_eq!(detail["consultations"][0]["answer"], "No; adult account.");
}

#[tokio::test]
async fn leases_lapse_and_leads_assign_and_release() {
    let d = start().await;
    let r = d.report(report("p-1", "u-1", "a")).await;
    let case = format!("/api/v1/cases/{}", r["case_id"]);
    assert_eq!(
        d.post("spec", "/api/v1/queues/ads_fraud/claim", json!({}))
            .await
            .0,
        StatusCode::OK
    );
    d.clock.advance(Duration::minutes(29));
    assert_eq!(
        d.post("spec2", "/api/v1/queues/ads_fraud/claim", json!({}))
            .await
            .0,
        StatusCode::NO_CONTENT
    );
    d.clock.advance(Duration::minutes(2));
    let (status, taken) = d
        .post("spec2", "/api/v1/queues/ads_fraud/claim", json!({}))
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(taken["assignee_id"], d.id("spec2"));
    assert!(
        taken["timeline"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["kind"] == "lease_lapsed")
    );

    // Specialists cannot assign; leads can, with a reason kept on the event.
    assert_eq!(
        d.post(
            "spec",
            &format!("{case}/assign"),
            json!({"assignee": d.id("spec")})
        )
        .await
        .0,
        StatusCode::FORBIDDEN
    );
    let (status, problem) = d
        .post(
            "lead",
            &format!("{case}/assign"),
            json!({"assignee": d.id("legal")}),
        )
        .await;
    assert_eq!(
        (status, fields(&problem)),
        (
            StatusCode::UNPROCESSABLE_ENTITY,
            vec!["assignee".to_string()]
        )
    );
    let (status, assigned) = d
        .post(
            "lead",
            &format!("{case}/assign"),
            json!({"assignee": d.id("spec"), "reason": "language skills"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{assigned}");
    assert_eq!(assigned["assignee_id"], d.id("spec"));
    // Only the holder or a lead may release.
    assert_eq!(
        d.post("spec2", &format!("{case}/release"), json!({}))
            .await
            .0,
        StatusCode::FORBIDDEN
    );
    let (status, released) = d
        .post(
            "spec",
            &format!("{case}/release"),
            json!({"reason": "end of shift"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(released["status"], "triaged");
    let (_, detail) = d.get("lead", &case).await;
    let assign_event = detail["timeline"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["kind"] == "assigned")
        .unwrap()
        .clone();
    assert_eq!(assign_event["reason"], "language skills");
    assert_eq!(assign_event["actor_name"], "lead");

    // Waiting for more information pauses, and resumes when it arrives.
    d.post("spec", "/api/v1/queues/ads_fraud/claim", json!({}))
        .await;
    let (status, waiting) = d
        .post(
            "spec",
            &format!("{case}/request-info"),
            json!({"question": "Which wallet?"}),
        )
        .await;
    assert_eq!(
        (status, waiting["status"].as_str()),
        (StatusCode::OK, Some("waiting_info"))
    );
    let (status, back) = d
        .post(
            "spec",
            &format!("{case}/receive-info"),
            json!({"details": "bc1q…"}),
        )
        .await;
    assert_eq!(
        (status, back["status"].as_str()),
        (StatusCode::OK, Some("in_review"))
    );
}

/// One queue's summary as the lead sees it.
async fn queue(d: &crate::harness::TestDesk, name: &str) -> Value {
    let (_, queues) = d.get("lead", "/api/v1/queues").await;
    queues
        .as_array()
        .unwrap()
        .iter()
        .find(|q| q["name"] == name)
        .unwrap()
        .clone()
}

#[tokio::test]
async fn deadlines_breach_and_queues_show_it() {
    let d = start().await;
    for i in 0..3 {
        d.report(report(&format!("p-{i}"), "u", &format!("k{i}")))
            .await;
    }
    let fraud = queue(&d, "ads_fraud").await;
    assert_eq!(
        (fraud["open"].as_i64(), fraud["breached"].as_i64()),
        (Some(3), Some(0))
    );
    let (_, queues) = d.get("lead", "/api/v1/queues").await;
    assert_eq!(
        queues.as_array().unwrap().len(),
        warden::config::Config::default().queues.len()
    );

    // These are P3, with a 12-hour first-response target: at risk after 9 hours, breached after 12.
    d.clock.advance(Duration::minutes(9 * 60 + 30));
    let fraud = queue(&d, "ads_fraud").await;
    assert_eq!(fraud["at_risk"], 3, "{fraud}");
    d.clock.advance(Duration::minutes(151));
    assert_eq!(warden::review::sweep_breaches(&d.desk).await.unwrap(), 3);
    assert_eq!(
        warden::review::sweep_breaches(&d.desk).await.unwrap(),
        0,
        "each breach is recorded once"
    );
    let fraud = queue(&d, "ads_fraud").await;
    assert_eq!(
        (fraud["breached"].as_i64(), fraud["at_risk"].as_i64()),
        (Some(3), Some(0))
    );
    let (_, page) = d.get("lead", "/api/v1/cases?breached=true&limit=2").await;
    assert_eq!(page["cases"].as_array().unwrap().len(), 2);
    let (_, rest) = d
        .get(
            "lead",
            &format!("/api/v1/cases?breached=true&before={}", page["next"]),
        )
        .await;
    assert_eq!(rest["cases"].as_array().unwrap().len(), 1);
    assert_eq!(
        d.get("lead", "/api/v1/cases?status=bogus").await.0,
        StatusCode::UNPROCESSABLE_ENTITY
    );
    assert_eq!(
        d.get("lead", "/api/v1/cases?limit=0").await.0,
        StatusCode::UNPROCESSABLE_ENTITY
    );
}
