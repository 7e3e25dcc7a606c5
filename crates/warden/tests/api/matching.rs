//! Known-media matching over HTTP: banks and their hash lists, media matched at intake (hashes
//! the platform sends, and media fetched from an allowed host), the priority a match brings, a
//! bank's automatic action, reviewers' verdicts and a bank's precision, and media banked by a
//! decision.

use reqwest::StatusCode;
use serde_json::{Value, json};
use std::time::Duration;

use crate::harness::{TestDesk, free_address, report, start, start_with};
use warden::config::Config;
use warden::demo_media::{self, Version};

/// A hash `bits` bits away from `hex` (the lowest bits of its last word flipped).
fn flip(hex: &str, bits: u32) -> String {
    let mut h: pdq::Hash256 = hex.parse().unwrap();
    for k in 0..bits as usize {
        h.set_bit(k * 7, !h.bit(k * 7));
    }
    h.to_hex()
}

fn banked(n: u64) -> String {
    demo_media::hash(n).hash.to_hex()
}

async fn bank(d: &TestDesk, name: &str, policy: &str, extra: Value) -> i64 {
    let mut body = json!({"name": name, "policy": policy});
    body.as_object_mut()
        .unwrap()
        .extend(extra.as_object().unwrap().clone());
    let (status, bank) = d.post("lead", "/api/v1/banks", body).await;
    assert_eq!(status, StatusCode::CREATED, "{bank}");
    bank["id"].as_i64().unwrap()
}

async fn add(d: &TestDesk, bank: i64, hashes: &[String]) {
    let entries: Vec<Value> = hashes.iter().map(|h| json!({"hash": h})).collect();
    let (status, added) = d
        .post(
            "lead",
            &format!("/api/v1/banks/{bank}/entries"),
            json!({"entries": entries}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{added}");
}

/// A photo reported with the platform's own hashes of its media; returns the case.
async fn photo(d: &TestDesk, id: &str, hashes: &[String], urls: &[String]) -> i64 {
    let mut r = report(id, &format!("reporter-{id}"), id);
    r["subject"]["kind"] = json!("photo");
    r["subject"]["snapshot"]["pdq_hashes"] = json!(hashes);
    r["subject"]["snapshot"]["media_urls"] = json!(urls);
    d.report(r).await["case_id"].as_i64().unwrap()
}

/// The case's matches once `n` are there (the checker runs beside the server), within 10 s.
async fn matches(d: &TestDesk, case: i64, n: usize) -> Vec<Value> {
    for _ in 0..200 {
        let (status, found) = d
            .get("spec", &format!("/api/v1/cases/{case}/matches"))
            .await;
        assert_eq!(status, StatusCode::OK, "{found}");
        let found = found.as_array().unwrap().clone();
        if found.len() >= n {
            return found;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("case {case} did not get {n} matches within 10 s");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_platform_hash_near_a_banked_one_is_matched_and_raises_the_case() {
    let d = start().await;
    let b = bank(
        &d,
        "Propaganda",
        "community.dangerous_organisations",
        json!({}),
    )
    .await;
    add(&d, b, &[banked(1), banked(2)]).await;
    // Nine bits from a banked hash, and one far from everything.
    let near = flip(&banked(1), 9);
    let case = photo(&d, "photo-1", &[near.clone(), banked(50)], &[]).await;
    let found = matches(&d, case, 1).await;
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!(found[0]["distance"], 9);
    assert_eq!(found[0]["bank_name"], "Propaganda");
    assert_eq!(found[0]["hash"], near.as_str());
    assert_eq!(found[0]["media_url"], Value::Null);

    let (_, c) = d.get("spec", &format!("/api/v1/cases/{case}")).await;
    assert!(
        ["P0", "P1"].contains(&c["priority"].as_str().unwrap()),
        "{c}"
    );
    let factors = c["priority_explanation"]["factors"].as_array().unwrap();
    assert!(
        factors.iter().any(|f| f["name"] == "known_media"),
        "{factors:?}"
    );
    let (_, events) = d.get("spec", &format!("/api/v1/cases/{case}")).await;
    assert!(
        events.to_string().contains("media_matched"),
        "the match is on the case's record"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_hashes_and_banks_are_refused_by_field() {
    let d = start().await;
    let mut r = report("photo-bad", "reporter-bad", "bad");
    r["subject"]["snapshot"]["pdq_hashes"] = json!(["abc"]);
    let (status, body) = d.post("platform", "/api/v1/reports", r).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert!(
        body.to_string().contains("subject.snapshot.pdq_hashes[0]"),
        "{body}"
    );

    let (status, body) = d
        .post(
            "lead",
            "/api/v1/banks",
            json!({"name": "x", "policy": "no.such.policy", "match_threshold": 200}),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    let text = body.to_string();
    assert!(
        text.contains("\"policy\"") && text.contains("match_threshold"),
        "{body}"
    );
    // Child safety's policy does not allow labels; suspensions need a person.
    for action in ["label", "suspend_account"] {
        let (status, body) = d
            .post(
                "lead",
                "/api/v1/banks",
                json!({"name": "y", "policy": "community.child_sexual_exploitation",
                       "auto_action": action}),
            )
            .await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
        assert!(body.to_string().contains("auto_action"), "{body}");
    }
    let (_, banks) = d.get("lead", "/api/v1/banks").await;
    assert_eq!(banks, json!([]), "nothing was created");
    let (status, _) = d
        .post(
            "spec",
            "/api/v1/banks",
            json!({"name": "z", "policy": "community.spam"}),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
}

async fn import(d: &TestDesk, bank: i64, kind: &str, body: String) -> (StatusCode, Value) {
    let res = d
        .client
        .post(format!(
            "{}/api/v1/banks/{bank}/import?list_name=partner",
            d.base
        ))
        .bearer_auth(&d.tokens["lead"])
        .header("content-type", kind)
        .body(body)
        .send()
        .await
        .unwrap();
    crate::harness::parse(res).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hash_lists_import_all_or_nothing_and_export_with_provenance() {
    let d = start().await;
    let b = bank(
        &d,
        "Imagery",
        "community.non_consensual_intimate_imagery",
        json!({}),
    )
    .await;
    let (status, body) = import(
        &d,
        b,
        "text/plain",
        format!("{}\nnot a hash\n{}\n", banked(1), banked(2)),
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert!(body.to_string().contains("line 2"), "{body}");
    let (_, entries) = d.get("lead", &format!("/api/v1/banks/{b}/entries")).await;
    assert_eq!(entries, json!([]), "a bad list adds nothing");

    let list = format!("# partner list\n{}\n{} 100 a.jpg\n", banked(1), banked(2));
    let (status, added) = import(&d, b, "text/plain", list).await;
    assert_eq!(status, StatusCode::OK, "{added}");
    assert_eq!(added, json!({"added": 2, "already_banked": 0}));
    let csv = format!(
        "hash,quality,note\n{},90,seen on another platform\n{},,\n",
        banked(2),
        banked(3)
    );
    let (status, added) = import(&d, b, "text/csv", csv).await;
    assert_eq!(status, StatusCode::OK, "{added}");
    assert_eq!(added, json!({"added": 1, "already_banked": 1}));
    let (status, _) = import(&d, b, "application/octet-stream", banked(4)).await;
    assert_eq!(status, StatusCode::UNSUPPORTED_MEDIA_TYPE);

    let res = d
        .client
        .get(format!("{}/api/v1/banks/{b}/export?format=csv", d.base))
        .bearer_auth(&d.tokens["spec"])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let csv = res.text().await.unwrap();
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(lines.len(), 4, "{csv}");
    assert!(lines[0].starts_with("hash,quality,note,origin"));
    assert!(
        lines[3].contains(&banked(3))
            && lines[3].contains("import")
            && lines[3].contains("partner")
    );
    let (_, bank) = d.get("spec", &format!("/api/v1/banks/{b}")).await;
    assert_eq!(bank["entries"], 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_disabled_entry_stops_matching_at_once() {
    let d = start().await;
    let b = bank(
        &d,
        "Propaganda",
        "community.dangerous_organisations",
        json!({}),
    )
    .await;
    add(&d, b, &[banked(1), banked(2)]).await;
    let (_, entries) = d.get("lead", &format!("/api/v1/banks/{b}/entries")).await;
    let first = entries[0]["id"].as_i64().unwrap();
    assert_eq!(entries[0]["hash"], banked(1).as_str());
    let (status, entry) = d
        .call(
            "lead",
            reqwest::Method::PATCH,
            &format!("/api/v1/banks/{b}/entries/{first}"),
            Some(json!({"enabled": false})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{entry}");
    assert_eq!(entry["enabled"], false);
    // The disabled entry's copy comes first; the second match shows both were checked.
    let case = photo(
        &d,
        "photo-2",
        &[flip(&banked(1), 3), flip(&banked(2), 3)],
        &[],
    )
    .await;
    let found = matches(&d, case, 1).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let found_later = matches(&d, case, 1).await;
    assert_eq!(found.len(), 1);
    assert_eq!(found_later.len(), 1, "{found_later:?}");
    assert_eq!(found[0]["entry_id"], entries[1]["id"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_banks_automatic_action_removes_a_copy_with_an_automated_statement() {
    let d = start().await;
    let b = bank(
        &d,
        "Propaganda",
        "community.dangerous_organisations",
        json!({"auto_action": "remove"}),
    )
    .await;
    add(&d, b, &[banked(3)]).await;
    let case = photo(&d, "photo-3", &[flip(&banked(3), 4)], &[]).await;
    matches(&d, case, 1).await;
    let (_, enforcement) = d
        .get("spec", &format!("/api/v1/cases/{case}/enforcement"))
        .await;
    let decision = &enforcement["decisions"][0];
    assert_eq!(decision["automated"], true, "{enforcement}");
    assert_eq!(decision["actions"][0]["kind"], "remove");
    let (_, c) = d.get("spec", &format!("/api/v1/cases/{case}")).await;
    assert_eq!(c["status"], "closed", "{c}");
    let (status, statement) = d
        .get(
            "spec",
            &format!("/api/v1/decisions/{}/statement", decision["id"]),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{statement}");
    let s = statement.to_string();
    assert!(s.contains("AUTOMATED_DECISION_FULLY"), "{s}");
    assert!(s.contains("\"automated_detection\":\"Yes\""), "{s}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn verdicts_make_a_banks_precision() {
    let d = start().await;
    let b = bank(
        &d,
        "Imagery",
        "community.non_consensual_intimate_imagery",
        json!({}),
    )
    .await;
    add(&d, b, &[banked(4), banked(5)]).await;
    let one = photo(&d, "photo-4", &[flip(&banked(4), 2)], &[]).await;
    let two = photo(&d, "photo-5", &[flip(&banked(5), 20)], &[]).await;
    let (m1, m2) = (matches(&d, one, 1).await, matches(&d, two, 1).await);
    let (_, bank) = d.get("spec", &format!("/api/v1/banks/{b}")).await;
    assert_eq!(bank["precision"], Value::Null);
    for (case, m, verdict) in [
        (one, &m1[0], "true_positive"),
        (two, &m2[0], "false_positive"),
    ] {
        let (status, judged) = d
            .post(
                "spec",
                &format!("/api/v1/cases/{case}/matches/{}/verdict", m["id"]),
                json!({"verdict": verdict}),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{judged}");
        assert_eq!(judged["verdict"], verdict);
    }
    let (status, body) = d
        .post(
            "spec",
            &format!("/api/v1/cases/{one}/matches/{}/verdict", m1[0]["id"]),
            json!({"verdict": "maybe"}),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    let (_, bank) = d.get("spec", &format!("/api/v1/banks/{b}")).await;
    assert_eq!(bank["true_positives"], 1);
    assert_eq!(bank["false_positives"], 1);
    assert_eq!(bank["precision"], 0.5);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_violating_decision_under_a_banking_policy_banks_the_media() {
    let d = start().await;
    let b = bank(
        &d,
        "Propaganda",
        "community.dangerous_organisations",
        json!({}),
    )
    .await;
    let fresh = banked(7);
    let case = photo(&d, "photo-7", std::slice::from_ref(&fresh), &[]).await;
    // The checker records the media even when nothing matches.
    let mut recorded = false;
    for _ in 0..200 {
        if warden::store::banks::check_counts(&d.desk.db)
            .await
            .unwrap()
            .0
            == 0
        {
            recorded = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(recorded, "the media check was not settled");
    let (status, body) = d
        .post(
            "admin",
            &format!("/api/v1/cases/{case}/assign"),
            json!({"assignee": d.id("spec")}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (status, decided) = d
        .post(
            "spec",
            &format!("/api/v1/cases/{case}/decision"),
            json!({"verdict": "violating", "policy": "community.dangerous_organisations",
                   "rationale": "Propaganda of a designated group.",
                   "explanation": "The image promotes a designated terrorist organisation.",
                   "actions": [{"kind": "remove"}]}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{decided}");
    let (_, entries) = d.get("lead", &format!("/api/v1/banks/{b}/entries")).await;
    assert_eq!(entries.as_array().unwrap().len(), 1, "{entries}");
    assert_eq!(entries[0]["hash"], fresh.as_str());
    assert_eq!(entries[0]["origin"], "decision");
    assert_eq!(entries[0]["decision_id"], decided["decision_id"]);
    assert_eq!(entries[0]["case_id"], case);
    // From then on a copy matches.
    let copy = photo(&d, "photo-7-copy", &[flip(&fresh, 5)], &[]).await;
    assert_eq!(matches(&d, copy, 1).await[0]["distance"], 5);
}

/// Serves the demo's pictures at `/demo/media/…` on a loopback port of its own.
async fn media_host() -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    let app = warden::web::platform_sim::router("secret".into());
    tokio::spawn(async move { axum::serve(listener, app).await.ok() });
    format!("http://{address}/demo/media")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn media_on_an_allowed_host_is_fetched_hashed_and_matched() {
    let base = media_host().await;
    let mut config = Config::default();
    config.media.fetch_hosts = vec!["127.0.0.1".into()];
    config.media.poll_interval_ms = 50;
    let d = start_with(config).await;
    let b = bank(
        &d,
        "Imagery",
        "community.non_consensual_intimate_imagery",
        json!({}),
    )
    .await;
    add(&d, b, &[banked(6)]).await;
    let elsewhere = format!("http://{}/known-6-copy.png", free_address());
    let urls = [
        format!("{base}/known-6-copy.png"),
        format!("{base}/photo-2.png"),
        // Not an allowed host: never fetched.
        elsewhere.replace("127.0.0.1", "localhost"),
    ];
    let case = photo(&d, "photo-fetched", &[], &urls).await;
    let found = matches(&d, case, 1).await;
    assert_eq!(found[0]["media_url"], urls[0].as_str());
    let copy = pdq::hash_image_bytes(&demo_media::png(6, Version::NearCopy)).unwrap();
    assert_eq!(found[0]["hash"], copy.hash.to_hex().as_str());
    assert_eq!(
        found[0]["distance"],
        demo_media::hash(6).hash.distance(&copy.hash)
    );
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(
        matches(&d, case, 1).await.len(),
        1,
        "the unrelated photo matched nothing"
    );
}
