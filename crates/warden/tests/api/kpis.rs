//! The desk's key figures: what happened on the desk, counted as it happened, by hour and by
//! dimension, on the dashboard page as in the API; restricted cases only for their teams.

use chrono::TimeDelta;
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::harness::{Browser, TestDesk, fields, report, start, start_with};

const DAY: &str = "/api/v1/kpis?from=2026-05-04T00:00:00Z&to=2026-05-05T00:00:00Z&bucket=hour";

async fn assign(d: &TestDesk, case: i64, to: &str) {
    let (status, body) = d
        .post(
            "lead",
            &format!("/api/v1/cases/{case}/assign"),
            json!({"assignee": d.id(to), "reason": "rota"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
}

fn removal() -> Value {
    json!({
        "verdict": "violating",
        "policy": "community.fraud_scams",
        "rationale": "Wallet scam.",
        "explanation": "The post asks for transfers to a private wallet, which our fraud and scams policy prohibits.",
        "actions": [{"kind": "remove"}]
    })
}

/// Three cases on Monday 4 May from 09:00: one answered after 30 minutes and decided after two
/// hours (then appealed at 11:30 and overturned at once), one answered after 10 minutes and
/// still open, one restricted to child safety. The clock stops at 12:00.
async fn a_morning(d: &TestDesk) {
    let mut a = report("p-1", "r-1", "k-1");
    a["subject"]["snapshot"]["author_id"] = json!("acct-1");
    let decided = d.report(a).await["case_id"].as_i64().unwrap();
    let mut b = report("p-2", "r-2", "k-2");
    b["subject"]["snapshot"]["country"] = json!("DE");
    let open = d.report(b).await["case_id"].as_i64().unwrap();
    let mut c = report("acct-cs", "r-3", "k-3");
    c["reason"] = json!("child_safety.exploitation");
    c["subject"]["kind"] = json!("account");
    d.report(c).await;

    d.clock.advance(TimeDelta::minutes(10));
    assign(d, open, "spec2").await;
    d.clock.advance(TimeDelta::minutes(20));
    assign(d, decided, "spec").await;
    d.clock.advance(TimeDelta::minutes(90));
    let (status, body) = d
        .post(
            "spec",
            &format!("/api/v1/cases/{decided}/decision"),
            removal(),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let decision = body["decision_id"].as_i64().unwrap();

    d.clock.advance(TimeDelta::minutes(30));
    let (status, filed) = d
        .post(
            "platform",
            "/api/v1/appeals",
            json!({"decision_id": decision, "appellant": "affected_user", "appellant_id": "acct-1",
                   "statement": "It was a joke.", "language": "en"}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{filed}");
    let (status, claimed) = d
        .post("spec2", "/api/v1/queues/appeals/claim", json!({}))
        .await;
    assert_eq!(status, StatusCode::OK, "{claimed}");
    let (status, done) = d
        .post(
            "spec2",
            &format!("/api/v1/appeals/{}/decision", filed["id"]),
            json!({"outcome": "overturned", "rationale": "A joke.", "explanation": "On a second look the post was a joke; we restored it."}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{done}");
    d.clock.advance(TimeDelta::minutes(30));
}

/// A desk whose claims last the morning, so the decision is the holder's to make.
async fn desk() -> TestDesk {
    start_with(warden::config::Config {
        lease_minutes: 240,
        ..warden::config::Config::default()
    })
    .await
}

#[tokio::test]
async fn the_key_figures_count_what_happened_on_the_desk() {
    let d = desk().await;
    a_morning(&d).await;

    let (status, k) = d.get("lead", DAY).await;
    assert_eq!(status, StatusCode::OK, "{k}");
    let t = &k["totals"];
    assert_eq!(t["intake"], 2, "the restricted case is not the lead's: {t}");
    assert_eq!(t["reports"], 2);
    assert_eq!(t["closures"], 1);
    assert_eq!(t["backlog"], 1, "the case still open, as of now: {t}");
    assert_eq!(
        t["backlog_oldest_hours"], 3.0,
        "open since 09:00, now 12:00"
    );
    // Answered after 10 minutes, and the decided case after 30; but the appeal restarted its
    // clock, so its answer is the appeal's claim at 11:30, 150 minutes after it opened.
    let ttfr = &t["time_to_first_response"];
    assert_eq!(ttfr["count"], 2, "{ttfr}");
    assert_eq!(ttfr["p50_minutes"], 10.0, "{ttfr}");
    assert_eq!(ttfr["p90_minutes"], 150.0, "{ttfr}");
    let ttr = &t["time_to_resolution"];
    assert_eq!(ttr["count"], 1, "{ttr}");
    assert_eq!(
        ttr["p50_minutes"], 150.0,
        "opened 09:00, closed again after the appeal at 11:30: {ttr}"
    );
    assert_eq!(t["resolution_sla"]["counted"], 1);
    assert_eq!(t["resolution_sla"]["rate"], 1.0);
    assert_eq!(t["appeals_decided"], 1);
    assert_eq!(t["appeals_overturned"], 1);
    assert_eq!(t["appeal_overturn_rate"], 1.0);
    assert!(k["groups"].as_array().unwrap().is_empty());

    let s = &k["series"];
    assert_eq!(s["starts"].as_array().unwrap().len(), 24);
    assert_eq!(s["starts"][9], "2026-05-04T09:00:00Z");
    assert_eq!(s["intake"][9], 2, "{s}");
    assert_eq!(s["closures"][11], 1, "{s}");
    assert_eq!(s["backlog"][9], 2);
    assert_eq!(s["backlog"][10], 2);
    assert_eq!(s["backlog"][11], 1);
    assert_eq!(s["backlog"][23], 1);

    // The child-safety lead sees their case too.
    let (_, theirs) = d.get("cs_lead", DAY).await;
    assert_eq!(theirs["totals"]["intake"], 3, "{}", theirs["totals"]);
    assert_eq!(theirs["totals"]["backlog"], 2);

    // By region: the open case is German, the decided one French.
    let (status, by_region) = d.get("lead", &format!("{DAY}&by=region")).await;
    assert_eq!(status, StatusCode::OK, "{by_region}");
    let groups = by_region["groups"].as_array().unwrap();
    let keys: Vec<&str> = groups.iter().map(|g| g["key"].as_str().unwrap()).collect();
    assert_eq!(
        keys,
        ["DE", "FR"],
        "equal intake, then the larger backlog: {by_region}"
    );
    assert_eq!(groups[0]["backlog"], 1);
    assert_eq!(groups[1]["closures"], 1);
    assert_eq!(groups[1]["appeals_overturned"], 1);
    assert_eq!(by_region["series"]["intake_by_group"][0]["key"], "DE");

    // By reviewer: for leads, QA and analysts; not for specialists.
    let (status, by_reviewer) = d.get("qa", &format!("{DAY}&by=reviewer")).await;
    assert_eq!(status, StatusCode::OK, "{by_reviewer}");
    let reviewers: Vec<&str> = by_reviewer["groups"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| g["key"].as_str().unwrap())
        .collect();
    assert!(
        reviewers.contains(&"spec2"),
        "holding the open case and the appeal: {reviewers:?}"
    );
    let (status, _) = d.get("spec", &format!("{DAY}&by=reviewer")).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, by_queue) = d.get("spec", &format!("{DAY}&by=queue")).await;
    assert_eq!(status, StatusCode::OK, "{by_queue}");

    // Partners and the platform have no business with the desk's figures.
    let (status, _) = d.get("legal", DAY).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, _) = d.get("platform", DAY).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn bad_ranges_and_dimensions_are_refused_by_name() {
    let d = start().await;
    let (status, problem) = d
        .get(
            "lead",
            "/api/v1/kpis?from=last-week&bucket=minute&by=colour",
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{problem}");
    assert_eq!(fields(&problem), ["from", "bucket", "by"]);
    let (status, problem) = d
        .get(
            "lead",
            "/api/v1/kpis?from=2026-05-04T00:00:00Z&to=2026-05-01T00:00:00Z",
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{problem}");
    assert_eq!(fields(&problem), ["from"]);
    let (status, problem) = d
        .get(
            "lead",
            "/api/v1/kpis?from=2026-01-01T00:00:00Z&to=2026-05-01T00:00:00Z&bucket=hour",
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{problem}");
    assert!(
        problem["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("at most 31 days"),
        "{problem}"
    );
    let (status, problem) = d.get("lead", "/api/v1/kpis?colour=red").await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{problem}");
    assert_eq!(fields(&problem), ["colour"]);
}

#[tokio::test]
async fn the_dashboard_page_shows_the_figures_and_their_charts() {
    let d = desk().await;
    a_morning(&d).await;
    let lead = Browser::sign_in(&d, "lead").await;
    let (status, page) = lead
        .get("/dashboard?from=2026-05-04&to=2026-05-04&by=queue")
        .await;
    assert_eq!(status, StatusCode::OK, "{page}");
    assert!(page.contains(r#"<dd data-kpi="intake">2</dd>"#), "{page}");
    assert!(page.contains(r#"<dd data-kpi="closures">1</dd>"#));
    assert!(page.contains(r#"<dd data-kpi="resolution-sla">100.0%</dd>"#));
    assert!(page.contains("Mon 04 May 2026 00:00 to Tue 05 May 2026 00:00 UTC, by hour"));
    // The charts' data, for the vendored chart library, and the script that draws them.
    assert!(page.contains(r#"id="chart-intake-closures""#));
    assert!(page.contains(r#"id="chart-intake-by-group""#));
    assert!(page.contains(r#"<script src="/static/uplot-1.6.32.min.js" defer>"#));
    assert!(page.contains(r#"<script src="/static/charts.js" defer>"#));
    assert!(page.contains("<caption class=\"visually-hidden\">Key figures by queue</caption>"));
    for asset in [
        "/static/uplot-1.6.32.min.js",
        "/static/uplot-1.6.32.min.css",
        "/static/charts.js",
        "/static/uplot-LICENSE.txt",
    ] {
        let (status, body) = lead.get(asset).await;
        assert_eq!(status, StatusCode::OK, "{asset}");
        assert!(body.len() > 500, "{asset}");
    }
    // Refreshed in place every minute.
    assert!(page.contains(r#"hx-trigger="every 60s""#));

    // A bad date is named on the page, not a failure.
    let (status, page) = lead.get("/dashboard?from=soon").await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("from: must be an RFC 3339 time"), "{page}");
    // Specialists get no reviewer breakdown to choose.
    let spec = Browser::sign_in(&d, "spec").await;
    let (status, page) = spec.get("/dashboard").await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("<option>queue</option>"));
    assert!(!page.contains("<option>reviewer</option>"));
}

#[tokio::test]
async fn warden_report_weekly_writes_the_week_with_its_alerts_and_transparency_counts() {
    let d = desk().await;
    a_morning(&d).await;
    // An alert of that morning, acknowledged with what came of it.
    let alert = warden::domain::alert::NewAlert {
        kind: warden::domain::alert::AlertKind::EmergingTerm,
        key: "win-prizes.example".into(),
        hour: d.desk.now().timestamp() / 3600 - 2,
        count: 30.0,
        expected: 0.5,
        typical_low: None,
        typical_high: None,
        score: 0.99999,
        explanation: "\u{201c}win-prizes.example\u{201d} in 30 reports in the last hour, typically never seen before".into(),
        case_id: None,
        restricted_team: None,
    };
    let id = warden::store::alerts::insert_alert(&d.desk.db, &alert, d.desk.now(), None)
        .await
        .unwrap()
        .unwrap();
    let (status, _) = d
        .post(
            "lead",
            &format!("/api/v1/alerts/{id}/acknowledge"),
            json!({"outcome": "campaign; link blocked"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);

    let url = d.desk.db.url().to_string();
    let dir = std::env::temp_dir().join(format!("warden-weekly-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let out = dir.join(format!("week-{id}.html"));
    let (code, _, err) = crate::harness::warden_cli(
        &["--database-url", &url],
        &[
            "report",
            "weekly",
            "--week-ending",
            "2026-05-04",
            "--out",
            out.to_str().unwrap(),
        ],
        None,
    );
    assert_eq!(code, 0, "{err}");
    let html = std::fs::read_to_string(&out).unwrap();
    let _ = std::fs::remove_file(&out);
    assert!(html.contains("Warden weekly report: Tue 28 Apr 2026 to Mon 04 May 2026"));
    assert!(
        html.contains(r#"<dd data-kpi="intake">2</dd>"#),
        "the restricted case stays out"
    );
    assert!(html.contains(r#"<dd data-kpi="closures">1</dd>"#));
    assert!(html.contains(
        r#"<tr data-policy="scams.financial"><th scope="row">scams.financial</th><td>2</td>"#
    ));
    assert!(html.contains(r#"<tr data-region="DE">"#));
    assert!(
        html.contains("campaign; link blocked (lead)"),
        "the alert and what came of it"
    );
    // The removal's statement of reasons, counted by category, ground and automation.
    assert!(
        html.contains(r#"<strong data-kpi="statements">1</strong>"#),
        "{html}"
    );
    assert!(html.contains("STATEMENT_CATEGORY_SCAMS_AND_FRAUD"));
    assert!(html.contains("AUTOMATED_DECISION_NOT_AUTOMATED"));
    assert!(html.contains("DECISION_VISIBILITY_CONTENT_REMOVED"));
    // Self-contained: the chart library and its data inline, nothing fetched.
    assert!(html.contains("uPlot"));
    assert!(html.contains(r#"id="chart-intake-closures""#));
    assert!(
        !html.contains("src=\"http") && !html.contains("href=\"http") && !html.contains("src=\"/")
    );

    let (code, _, err) = crate::harness::warden_cli(
        &["--database-url", &url],
        &["report", "weekly", "--week-ending", "4 May"],
        None,
    );
    assert_eq!(code, 2);
    assert!(
        err.contains("week_ending: must be a day, YYYY-MM-DD"),
        "{err}"
    );
}
