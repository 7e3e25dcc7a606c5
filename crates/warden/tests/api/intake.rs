use reqwest::StatusCode;
use serde_json::json;

use crate::harness::{fields, report, start};

#[tokio::test]
async fn a_report_opens_a_triaged_case_and_a_replay_returns_the_first_receipt() {
    let d = start().await;
    let (status, first) = d
        .post("platform", "/api/v1/reports", report("p-1", "u-1", "k-1"))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{first}");
    assert_eq!(first["outcome"], "opened");
    assert_eq!(first["case_status"], "triaged");
    assert_eq!(first["queue"], "ads_fraud");
    assert_eq!(first["replayed"], false);

    let (status, again) = d
        .post("platform", "/api/v1/reports", report("p-1", "u-1", "k-1"))
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(again["report_id"], first["report_id"]);
    assert_eq!(again["replayed"], true);
    assert_eq!(d.count("reports").await, 1);
    // Opened, report received, triaged, and the acknowledgement to the reporter: once.
    assert_eq!(
        d.count("events").await - d.count("events WHERE case_id IS NULL").await,
        4
    );
    assert_eq!(
        d.count("messages WHERE purpose = 'acknowledgement'").await,
        1
    );
    assert_eq!(d.count("outbox WHERE topic = 'message'").await, 1);

    // The same key for a different report is refused, not silently replayed.
    let mut other = report("p-2", "u-1", "k-1");
    other["text"] = json!("something else");
    let (status, problem) = d.post("platform", "/api/v1/reports", other).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(fields(&problem), ["idempotency_key"]);
    assert_eq!(d.count("reports").await, 1);
}

#[tokio::test]
async fn reports_on_the_same_subject_join_one_case_and_re_triage_it() {
    let d = start().await;
    let first = d.report(report("p-1", "u-1", "a")).await;
    let mut stronger = report("p-1", "flagger-9", "b");
    stronger["source"] = json!("regulator");
    stronger["risk_flags"] = json!(["imminent_harm"]);
    let second = d.report(stronger).await;
    assert_eq!(second["outcome"], "joined");
    assert_eq!(second["case_id"], first["case_id"]);
    assert_eq!(second["priority"], "P0");
    // A repeat by the same reporter joins but does not count as a new reporter.
    d.report(report("p-1", "u-1", "c")).await;

    let (status, case) = d
        .get("lead", &format!("/api/v1/cases/{}", first["case_id"]))
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(case["report_count"], 3);
    assert_eq!(case["reports"].as_array().unwrap().len(), 3);
    let factors = case["priority_explanation"]["factors"].as_array().unwrap();
    let reporters = factors
        .iter()
        .find(|f| f["name"] == "reporters")
        .expect("reporters factor");
    assert_eq!(reporters["explanation"], "2 distinct reporters");
    assert!(factors.iter().any(|f| f["name"] == "flag:imminent_harm"));
    let kinds: Vec<&str> = case["timeline"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["kind"].as_str().unwrap())
        .collect();
    assert_eq!(&kinds[..3], ["opened", "report_received", "triaged"]);
    assert_eq!(kinds.iter().filter(|k| **k == "triaged").count(), 3);
}

#[tokio::test]
async fn bad_input_is_refused_naming_the_field_and_nothing_is_written() {
    let d = start().await;
    let mut cases = vec![];
    let mut bad_kind = report("p", "u", "k1");
    bad_kind["subject"]["kind"] = json!("hologram");
    cases.push((bad_kind, "subject.kind"));
    let mut missing = report("p", "u", "k2");
    missing.as_object_mut().unwrap().remove("reason");
    cases.push((missing, "reason"));
    let mut unknown_area = report("p", "u", "k3");
    unknown_area["reason"] = json!("vibes");
    cases.push((unknown_area, "reason"));
    let mut long = report("p", "u", "k4");
    long["text"] = json!("x".repeat(20_001));
    cases.push((long, "text"));
    let mut bad_country = report("p", "u", "k5");
    bad_country["jurisdiction"] = json!("Germany");
    cases.push((bad_country, "jurisdiction"));
    let mut bad_url = report("p", "u", "k6");
    bad_url["subject"]["snapshot"]["media_urls"] =
        json!(["https://ok.example/a.jpg", "javascript:alert(1)"]);
    cases.push((bad_url, "subject.snapshot.media_urls[1]"));
    let mut extra = report("p", "u", "k7");
    extra["surprise"] = json!(true);
    cases.push((extra, "surprise"));
    let mut blank_key = report("p", "u", "");
    blank_key["idempotency_key"] = json!("   ");
    cases.push((blank_key, "idempotency_key"));
    for (body, field) in cases {
        let (status, problem) = d.post("platform", "/api/v1/reports", body).await;
        assert_eq!(
            status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{field}: {problem}"
        );
        assert!(
            fields(&problem).contains(&field.to_string()),
            "expected {field} in {problem}"
        );
        assert_eq!(problem["code"], "invalid_fields");
    }

    let res = d
        .client
        .post(format!("{}/api/v1/reports", d.base))
        .bearer_auth(&d.tokens["platform"])
        .header("content-type", "application/json")
        .body("{\"subject\": ")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(res.headers()["content-type"], "application/problem+json");

    let huge = format!("{{\"reports\": [\"{}\"]}}", "x".repeat(1_100_000));
    let res = d
        .client
        .post(format!("{}/api/v1/reports/batch", d.base))
        .bearer_auth(&d.tokens["platform"])
        .header("content-type", "application/json")
        .body(huge)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(d.count("reports").await, 0);
    assert_eq!(d.count("cases").await, 0);
}

#[tokio::test]
async fn a_batch_is_taken_whole_or_not_at_all() {
    let d = start().await;
    let good: Vec<_> = (0..5)
        .map(|i| {
            report(
                &format!("p-{}", i % 3),
                &format!("u-{i}"),
                &format!("b-{i}"),
            )
        })
        .collect();
    let mut with_bad = good.clone();
    with_bad[3]["source"] = json!("pigeon");
    let (status, problem) = d
        .post(
            "platform",
            "/api/v1/reports/batch",
            json!({"reports": with_bad}),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(fields(&problem), ["reports[3].source"]);
    let mut semantic = good.clone();
    semantic[4]["reason"] = json!("nope");
    let (status, problem) = d
        .post(
            "platform",
            "/api/v1/reports/batch",
            json!({"reports": semantic}),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(fields(&problem), ["reports[4].reason"]);
    assert_eq!(d.count("reports").await, 0);

    let too_many: Vec<_> = (0..1001)
        .map(|i| report(&format!("p-{i}"), "u", &format!("m-{i}")))
        .collect();
    let (status, problem) = d
        .post(
            "platform",
            "/api/v1/reports/batch",
            json!({"reports": too_many}),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(fields(&problem), ["reports"]);

    let (status, body) = d
        .post(
            "platform",
            "/api/v1/reports/batch",
            json!({"reports": good}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let receipts = body["receipts"].as_array().unwrap();
    let outcomes: Vec<&str> = receipts
        .iter()
        .map(|r| r["outcome"].as_str().unwrap())
        .collect();
    assert_eq!(outcomes, ["opened", "opened", "opened", "joined", "joined"]);
    assert_eq!(d.count("cases").await, 3);

    let (status, one) = d
        .get(
            "lead",
            &format!("/api/v1/reports/{}", receipts[0]["report_id"]),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(one["reporter"]["id"], "u-0");
    assert_eq!(
        d.get("lead", "/api/v1/reports/999999").await.0,
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn the_api_describes_itself_and_reports_health_and_metrics() {
    let d = start().await;
    let (status, spec) = d.get("nobody", "/api/v1/openapi.json").await;
    assert_eq!(status, StatusCode::OK);
    let paths = spec["paths"].as_object().unwrap();
    for p in [
        "/api/v1/reports",
        "/api/v1/reports/batch",
        "/api/v1/reports/{id}",
        "/api/v1/cases",
        "/api/v1/cases/{id}",
        "/api/v1/cases/{id}/assign",
        "/api/v1/cases/{id}/release",
        "/api/v1/cases/{id}/notes",
        "/api/v1/cases/{id}/tags",
        "/api/v1/cases/{id}/consultations",
        "/api/v1/cases/{id}/request-info",
        "/api/v1/cases/{id}/receive-info",
        "/api/v1/cases/{id}/decision",
        "/api/v1/cases/{id}/restriction",
        "/api/v1/queues",
        "/api/v1/queues/{queue}/claim",
        "/api/v1/consultations",
        "/api/v1/consultations/{id}/answer",
        "/api/v1/session",
        "/api/v1/me",
        "/api/v1/users",
        "/api/v1/users/{id}/tokens",
        "/api/v1/cases/{id}/decision-form",
        "/api/v1/cases/{id}/enforcement",
        "/api/v1/decisions/{id}",
        "/api/v1/decisions/{id}/statement",
        "/api/v1/decisions/{id}/approve",
        "/api/v1/decisions/{id}/reject",
        "/api/v1/approvals",
        "/api/v1/accounts/{id}/standing",
        "/api/v1/policies",
        "/api/v1/policies/{id}",
        "/api/v1/policies/import",
        "/api/v1/policies/export",
        "/api/v1/policies/changes",
        "/api/v1/policies/changes/seen",
        "/api/v1/appeals",
        "/api/v1/appeals/{id}",
        "/api/v1/appeals/{id}/decision",
        "/api/v1/deliveries",
        "/api/v1/deliveries/{id}/retry",
        "/api/v1/search",
        "/api/v1/analytics/views",
        "/api/v1/analytics/query",
        "/api/v1/analytics/saved",
        "/api/v1/analytics/saved/{id}",
        "/api/v1/alerts",
        "/api/v1/alerts/{id}/acknowledge",
        "/api/v1/alerts/scan",
        "/api/v1/kpis",
        "/api/v1/banks",
        "/api/v1/banks/{id}",
        "/api/v1/banks/{id}/entries",
        "/api/v1/banks/{id}/entries/{entry_id}",
        "/api/v1/banks/{id}/import",
        "/api/v1/banks/{id}/export",
        "/api/v1/cases/{id}/matches",
        "/api/v1/cases/{id}/matches/{match_id}/verdict",
    ] {
        assert!(
            paths.contains_key(p),
            "{p} missing from the OpenAPI document"
        );
    }
    assert_eq!(
        paths.len(),
        58,
        "a route was added without a test: {:?}",
        paths.keys().collect::<Vec<_>>()
    );
    assert_eq!(
        d.get("nobody", "/healthz").await,
        (StatusCode::OK, json!({"status": "ok"}))
    );
    d.report(report("p-1", "u-1", "m")).await;
    let (status, text) = d.get("nobody", "/metrics").await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        text.as_str()
            .unwrap()
            .contains("warden_http_requests_total"),
        "{text}"
    );
    let (status, problem) = d.get("nobody", "/api/v1/nowhere").await;
    assert_eq!(
        (status, problem["code"].as_str()),
        (StatusCode::NOT_FOUND, Some("not_found"))
    );
}
