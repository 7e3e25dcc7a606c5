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
    // The crowd on each case, and the new words and link (the desk's usual words are not news).
    assert!(scan["raised"].as_i64().unwrap() >= 4, "{scan}");
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
    assert!(keys.contains(&"win-prizes.example"), "{keys:?}");
    for usual in ["scam", "guaranteed", "wallet"] {
        assert!(!keys.contains(&usual), "{keys:?}");
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
