//! Alerts over the desk's own reports: a case reported by a crowd, a link spreading, each
//! raised once per hour, seen only by those who may see the case, acknowledged with an outcome.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::harness::{fields, report, start};

fn of_kind<'a>(alerts: &'a Value, kind: &str) -> Vec<&'a Value> {
    alerts
        .as_array()
        .unwrap()
        .iter()
        .filter(|a| a["kind"] == kind)
        .collect()
}

#[tokio::test]
async fn a_crowd_reporting_one_post_and_a_spreading_link_raise_alerts_once() {
    let d = start().await;
    // A day of ordinary reports: the desk's usual words.
    for h in 0..25 {
        for i in 0..2 {
            d.report(report(
                &format!("p-usual-{h}-{i}"),
                "u-usual",
                &format!("usual-{h}-{i}"),
            ))
            .await;
        }
        d.clock.advance(chrono::TimeDelta::hours(1));
    }
    let mut brigaded = Value::Null;
    for i in 0..12 {
        let mut r = report("p-brigade", &format!("crowd-{i}"), &format!("crowd-{i}"));
        r["text"] = json!(format!(
            "prize scam, see https://win-prizes.example/claim?id={i}"
        ));
        brigaded = d.report(r).await["case_id"].clone();
    }
    // The same on a child-safety account: its alert is for its team only.
    let mut restricted = Value::Null;
    for i in 0..12 {
        let mut r = report("acct-cs-9", &format!("cs-crowd-{i}"), &format!("cs-{i}"));
        r["reason"] = json!("child_safety.exploitation");
        r["subject"]["kind"] = json!("account");
        restricted = d.report(r).await["case_id"].clone();
    }
    // The hour is not over: nothing to say yet.
    let (status, scan) = d.post("lead", "/api/v1/alerts/scan", json!({})).await;
    assert_eq!(status, StatusCode::OK, "{scan}");
    assert_eq!(scan["raised"], 0, "{scan}");

    d.clock.advance(chrono::TimeDelta::hours(1));
    let (status, scan) = d.post("lead", "/api/v1/alerts/scan", json!({})).await;
    assert_eq!(status, StatusCode::OK, "{scan}");
    // The crowd on each case, and the new link with the words that came with it (the desk's
    // usual words are not news).
    assert_eq!(scan["raised"], 3, "{scan}");
    // A second scan (or a second server) raises nothing again.
    let (_, again) = d.post("lead", "/api/v1/alerts/scan", json!({})).await;
    assert_eq!(again["raised"], 0, "{again}");

    let (status, alerts) = d.get("spec", "/api/v1/alerts").await;
    assert_eq!(status, StatusCode::OK, "{alerts}");
    let crowd = of_kind(&alerts, "mass_reporting");
    assert_eq!(crowd.len(), 1, "{alerts}");
    assert_eq!(crowd[0]["case_id"], brigaded);
    assert!(
        crowd[0]["explanation"]
            .as_str()
            .unwrap()
            .starts_with(&format!(
                "case {brigaded}: reported by 12 people in the last hour"
            )),
        "{}",
        crowd[0]
    );
    let terms = of_kind(&alerts, "emerging_term");
    let keys: Vec<&str> = terms.iter().map(|a| a["key"].as_str().unwrap()).collect();
    assert_eq!(keys, ["win-prizes.example"], "one trend, one alert");
    let explanation = terms[0]["explanation"].as_str().unwrap();
    assert!(
        explanation.contains("\u{201c}prize\u{201d}"),
        "{explanation}"
    );
    for usual in ["scam", "guaranteed", "wallet"] {
        assert!(
            !explanation.contains(&format!("\u{201c}{usual}\u{201d}")),
            "{explanation}"
        );
    }
    let (_, theirs) = d.get("cs_spec", "/api/v1/alerts").await;
    let crowd = of_kind(&theirs, "mass_reporting");
    assert!(crowd.iter().any(|a| a["case_id"] == restricted), "{theirs}");
    assert!(
        !of_kind(&alerts, "mass_reporting")
            .iter()
            .any(|a| a["case_id"] == restricted)
    );

    // Acknowledging: leads only, with an outcome, once.
    let id = of_kind(&alerts, "mass_reporting")[0]["id"]
        .as_i64()
        .unwrap();
    let path = format!("/api/v1/alerts/{id}/acknowledge");
    let (status, _) = d.post("spec", &path, json!({"outcome": "seen"})).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, problem) = d.post("lead", &path, json!({"outcome": "  "})).await;
    assert_eq!(
        (status, fields(&problem)),
        (
            StatusCode::UNPROCESSABLE_ENTITY,
            vec!["outcome".to_string()]
        )
    );
    let (status, acked) = d
        .post(
            "lead",
            &path,
            json!({"outcome": "brigading; reports merged"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{acked}");
    assert_eq!(acked["acknowledged_by"], "lead");
    assert_eq!(acked["outcome"], "brigading; reports merged");
    let (status, _) = d.post("lead", &path, json!({"outcome": "again"})).await;
    assert_eq!(status, StatusCode::CONFLICT);
    let (_, open) = d.get("spec", "/api/v1/alerts").await;
    assert!(!open.as_array().unwrap().iter().any(|a| a["id"] == id));
    let (_, all) = d.get("spec", "/api/v1/alerts?all=true").await;
    assert!(all.as_array().unwrap().iter().any(|a| a["id"] == id));
    let (status, _) = d
        .post(
            "lead",
            "/api/v1/alerts/999999/acknowledge",
            json!({"outcome": "x"}),
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

/// A crowd of `n` reporting one post within the current hour, after a quiet day.
async fn a_quiet_day_then_a_crowd(d: &crate::harness::TestDesk, n: usize) -> Value {
    for h in 0..25 {
        d.report(report(&format!("p-day-{h}"), "u-day", &format!("day-{h}")))
            .await;
        d.clock.advance(chrono::TimeDelta::hours(1));
    }
    let mut case = Value::Null;
    for i in 0..n {
        case = d
            .report(report(
                "p-crowd",
                &format!("crowd-{i}"),
                &format!("crowd-{i}"),
            ))
            .await["case_id"]
            .clone();
    }
    for i in 0..n {
        let mut r = report("acct-cs-1", &format!("cs-{i}"), &format!("cs-{i}"));
        r["reason"] = json!("child_safety.exploitation");
        r["subject"]["kind"] = json!("account");
        d.report(r).await;
    }
    d.clock.advance(chrono::TimeDelta::hours(1));
    case
}

#[tokio::test]
async fn new_alerts_are_announced_to_the_alerts_webhook_once_and_signed() {
    use crate::receiver::{Receiver, SECRET};
    use warden::clock::Clock;
    let clock_cell: std::sync::Arc<std::sync::OnceLock<warden::clock::ManualClock>> =
        Default::default();
    let cell = clock_cell.clone();
    let hook = Receiver::start(move || cell.get().map_or(0, |c| c.now().timestamp())).await;
    let mut config = warden::config::Config::default();
    config.alerts.webhook_url = Some(hook.url.clone());
    config.delivery.secret = Some(SECRET.into());
    let d = crate::harness::start_with(config).await;
    let _ = clock_cell.set(d.clock.clone());

    let crowded = a_quiet_day_then_a_crowd(&d, 12).await;
    let (status, scan) = d.post("lead", "/api/v1/alerts/scan", json!({})).await;
    assert_eq!(status, StatusCode::OK, "{scan}");
    let (_, alerts) = d.get("cs_lead", "/api/v1/alerts").await;
    let all = alerts.as_array().unwrap();
    assert!(all.len() >= 2, "{alerts}");

    // Deliveries go out through the outbox, as the platform's do; no platform is configured, so
    // only alerts are taken.
    let worker = warden::enforcement::delivery::Deliverer::new(d.desk.clone()).unwrap();
    while worker.deliver_due().await.unwrap() > 0 {}
    let announced = hook.accepted();
    assert_eq!(hook.bad_signatures(), 0);
    let crowd = all
        .iter()
        .find(|a| a["kind"] == "mass_reporting" && a["case_id"] == crowded)
        .unwrap();
    let message = &announced[&format!("alert-{}", crowd["id"])];
    assert_eq!(message["explanation"], crowd["explanation"], "{message}");
    assert_eq!(message["case_id"], crowded);
    assert!(
        message["text"]
            .as_str()
            .unwrap()
            .starts_with("Warden alert: case "),
        "{message}"
    );
    // The child-safety case's alert stays with its team: never sent out.
    let restricted: Vec<&Value> = all
        .iter()
        .filter(|a| a["kind"] == "mass_reporting" && a["case_id"] != crowded)
        .collect();
    assert_eq!(restricted.len(), 1, "{alerts}");
    assert!(!announced.contains_key(&format!("alert-{}", restricted[0]["id"])));
    let public = all.len() - restricted.len();
    assert_eq!(announced.len(), public, "{:?}", announced.keys());

    // Scanning again raises nothing, so nothing is announced twice.
    let (_, again) = d.post("lead", "/api/v1/alerts/scan", json!({})).await;
    assert_eq!(again["raised"], 0);
    while worker.deliver_due().await.unwrap() > 0 {}
    assert_eq!(hook.accepted().len(), public);
    assert_eq!(hook.duplicates(), 0);
}

#[tokio::test]
async fn the_alerts_page_lists_open_alerts_and_leads_acknowledge_them() {
    let d = start().await;
    let crowded = a_quiet_day_then_a_crowd(&d, 12).await;
    d.post("lead", "/api/v1/alerts/scan", json!({})).await;

    let spec = crate::harness::Browser::sign_in(&d, "spec").await;
    let (status, page) = spec.get("/alerts").await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        page.contains(&format!(
            "case {crowded}: reported by 12 people in the last hour"
        )),
        "{page}"
    );
    assert!(
        !page.contains("Acknowledge</button>"),
        "specialists only read"
    );
    // The child-safety case is not theirs.
    assert_eq!(page.matches(r#"data-alert="mass_reporting""#).count(), 1);

    let lead = crate::harness::Browser::sign_in(&d, "lead").await;
    let (_, page) = lead.get("/alerts").await;
    let (_, listed) = d.get("lead", "/api/v1/alerts").await;
    let id = listed
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["case_id"] == crowded)
        .unwrap()["id"]
        .clone();
    assert!(page.contains(&format!(r#"action="/alerts/{id}/acknowledge""#)));
    // The dashboard shows what is open.
    let (_, dash) = lead.get("/dashboard").await;
    assert!(dash.contains("Open alerts"), "{dash}");
    assert!(dash.contains(&format!("case {crowded}: reported by 12 people")));
    let (status, page) = lead
        .post(
            &format!("/alerts/{id}/acknowledge"),
            &[("outcome", "brigading; merged")],
        )
        .await;
    assert_eq!(
        (status, page.as_str()),
        (StatusCode::SEE_OTHER, "/alerts?done=acknowledged")
    );
    let (_, page) = lead.get("/alerts?done=acknowledged").await;
    assert!(page.contains("Alert acknowledged."), "{page}");
    assert!(!page.contains(&format!(r#"action="/alerts/{id}/acknowledge""#)));
    let (_, all) = lead.get("/alerts?all=true").await;
    assert!(all.contains("Acknowledged by lead"), "{all}");
    assert!(all.contains("brigading; merged"));
}
