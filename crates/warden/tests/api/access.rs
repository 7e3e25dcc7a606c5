use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::harness::{parse, report, session_cookie, start};

#[tokio::test]
async fn every_role_gets_only_what_it_may() {
    let d = start().await;
    let r = d.report(report("p-1", "u-1", "a")).await;
    let case = format!("/api/v1/cases/{}", r["case_id"]);
    // (who, method, path, expected)
    let table: &[(&str, &str, &str, StatusCode)] = &[
        ("nobody", "GET", "/api/v1/cases", StatusCode::UNAUTHORIZED),
        ("platform", "GET", "/api/v1/cases", StatusCode::FORBIDDEN),
        ("platform", "GET", &case, StatusCode::FORBIDDEN),
        ("platform", "GET", "/api/v1/queues", StatusCode::FORBIDDEN),
        ("legal", "GET", "/api/v1/cases", StatusCode::FORBIDDEN),
        ("legal", "GET", "/api/v1/queues", StatusCode::FORBIDDEN),
        ("legal", "POST", "/api/v1/reports", StatusCode::FORBIDDEN),
        ("qa", "GET", &case, StatusCode::OK),
        ("analyst", "GET", "/api/v1/queues", StatusCode::OK),
        (
            "analyst",
            "POST",
            "/api/v1/queues/ads_fraud/claim",
            StatusCode::FORBIDDEN,
        ),
        ("qa", "POST", "/api/v1/reports", StatusCode::FORBIDDEN),
        ("spec", "GET", "/api/v1/users", StatusCode::FORBIDDEN),
        ("lead", "GET", "/api/v1/users", StatusCode::OK),
        ("lead", "POST", "/api/v1/users", StatusCode::FORBIDDEN),
        (
            "spec",
            "POST",
            &format!("{case}/restriction"),
            StatusCode::FORBIDDEN,
        ),
    ];
    for (who, method, path, expected) in table {
        let body = (*method == "POST").then(|| {
            if path.ends_with("/users") {
                json!({"username": "x", "role": "qa", "password": "long enough password"})
            } else if path.ends_with("/restriction") {
                json!({"team": "legal", "reason": "court order"})
            } else {
                report("p-2", "u", "z")
            }
        });
        let (status, body) = d.call(who, method.parse().unwrap(), path, body).await;
        assert_eq!(status, *expected, "{who} {method} {path}: {body}");
    }
}

#[tokio::test]
async fn restricted_cases_exist_only_for_their_team_and_every_read_is_recorded() {
    let d = start().await;
    let mut r = report("acct-9", "u-1", "cs");
    r["reason"] = json!("child_safety.exploitation");
    r["subject"]["kind"] = json!("account");
    let r = d.report(r).await;
    assert_eq!(r["queue"], "child_safety");
    let case = format!("/api/v1/cases/{}", r["case_id"]);
    // Outside the team: not found, not forbidden, and absent from lists and counts.
    assert_eq!(d.get("spec", &case).await.0, StatusCode::NOT_FOUND);
    assert_eq!(d.get("lead", &case).await.0, StatusCode::NOT_FOUND);
    assert_eq!(d.get("spec", "/api/v1/cases").await.1["cases"], json!([]));
    assert_eq!(
        d.post("spec", "/api/v1/queues/child_safety/claim", json!({}))
            .await
            .0,
        StatusCode::NO_CONTENT
    );
    let (_, queues) = d.get("spec", "/api/v1/queues").await;
    assert!(queues.as_array().unwrap().iter().all(|q| q["open"] == 0));
    // Inside the team: visible, and each read leaves a trace.
    let (status, detail) = d.get("cs_spec", &case).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(detail["restricted_team"], "child_safety");
    d.get("cs_spec", &case).await;
    let (_, detail) = d.get("cs_spec", &case).await;
    let views = detail["timeline"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["kind"] == "viewed")
        .count();
    assert_eq!(views, 3);
    assert_eq!(
        d.post("cs_spec", "/api/v1/queues/child_safety/claim", json!({}))
            .await
            .0,
        StatusCode::OK
    );

    // A lead may restrict an ordinary case, after which others lose sight of it.
    let other = d.report(report("p-5", "u-1", "x")).await;
    let other_case = format!("/api/v1/cases/{}", other["case_id"]);
    let (status, restricted) = d
        .post(
            "admin",
            &format!("{other_case}/restriction"),
            json!({"team": "legal", "reason": "court order"}),
        )
        .await;
    assert_eq!(
        (status, restricted["restricted_team"].as_str()),
        (StatusCode::OK, Some("legal"))
    );
    assert_eq!(
        d.get("admin", &other_case).await.0,
        StatusCode::NOT_FOUND,
        "admin is not in legal"
    );
    assert_eq!(d.get("spec", &other_case).await.0, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn console_sessions_use_cookies_and_refuse_cross_site_writes() {
    let d = start().await;
    warden::enforcement::delivery::install_tls();
    let client = reqwest::Client::builder()
        .cookie_store(true)
        .build()
        .unwrap();
    let url = |p: &str| format!("{}{p}", d.base);
    let wrong = client
        .post(url("/api/v1/session"))
        .json(&json!({"username": "lead", "password": "nope nope nope"}))
        .send()
        .await
        .unwrap();
    assert_eq!(wrong.status(), StatusCode::UNAUTHORIZED);
    let unknown = client
        .post(url("/api/v1/session"))
        .json(&json!({"username": "ghost", "password": "nope nope nope"}))
        .send()
        .await
        .unwrap();
    assert_eq!(unknown.status(), StatusCode::UNAUTHORIZED);
    let integration = client
        .post(url("/api/v1/session"))
        .json(&json!({"username": "platform", "password": "correct horse battery"}))
        .send()
        .await
        .unwrap();
    assert_eq!(integration.status(), StatusCode::UNAUTHORIZED);
    let ok = client
        .post(url("/api/v1/session"))
        .json(&json!({"username": "admin", "password": "correct horse battery"}))
        .send()
        .await
        .unwrap();
    assert_eq!(ok.status(), StatusCode::OK);
    let cookie = ok.headers()["set-cookie"].to_str().unwrap().to_string();
    assert!(
        cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict"),
        "{cookie}"
    );
    let (status, me) = parse(client.get(url("/api/v1/me")).send().await.unwrap()).await;
    assert_eq!(
        (status, me["username"].as_str()),
        (StatusCode::OK, Some("admin"))
    );

    let new_user =
        json!({"username": "nia", "role": "specialist", "password": "long enough password"});
    let (status, _) = parse(
        client
            .post(url("/api/v1/users"))
            .json(&new_user)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(
        status,
        StatusCode::FORBIDDEN,
        "a cookie write without the CSRF header is refused"
    );
    let (status, user) = parse(
        client
            .post(url("/api/v1/users"))
            .header("x-warden-csrf", "1")
            .json(&new_user)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{user}");
    let (status, problem) = parse(
        client
            .post(url("/api/v1/users"))
            .header("x-warden-csrf", "1")
            .json(&new_user)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(
        (status, problem["errors"][0]["field"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("username"))
    );
    let short = json!({"username": "ola", "role": "lead", "password": "short"});
    let (status, problem) = parse(
        client
            .post(url("/api/v1/users"))
            .header("x-warden-csrf", "1")
            .json(&short)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(
        (status, problem["errors"][0]["field"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("password"))
    );
    let (status, token) = parse(
        client
            .post(url(&format!("/api/v1/users/{}/tokens", user["id"])))
            .header("x-warden-csrf", "1")
            .json(&json!({"name": "bot"}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED);
    let t = token["token"].as_str().unwrap();
    let (status, me) = parse(
        d.client
            .get(url("/api/v1/me"))
            .bearer_auth(t)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(
        (status, me["username"].as_str()),
        (StatusCode::OK, Some("nia"))
    );
    assert_eq!(
        d.client
            .get(url("/api/v1/me"))
            .bearer_auth("wdn_forged")
            .send()
            .await
            .unwrap()
            .status(),
        StatusCode::UNAUTHORIZED
    );

    let out = client.delete(url("/api/v1/session")).send().await.unwrap();
    assert_eq!(out.status(), StatusCode::NO_CONTENT);
    assert_eq!(
        client.get(url("/api/v1/me")).send().await.unwrap().status(),
        StatusCode::UNAUTHORIZED
    );
}

#[tokio::test]
async fn password_guessing_is_throttled_and_every_sign_in_gets_a_new_session() {
    let d = start().await;
    let attempt = |password: &'static str| {
        let d = &d;
        async move {
            d.client
                .post(format!("{}/api/v1/session", d.base))
                .json(&json!({"username": "spec", "password": password}))
                .send()
                .await
                .unwrap()
        }
    };
    for _ in 0..5 {
        assert_eq!(attempt("guess").await.status(), StatusCode::UNAUTHORIZED);
    }
    // The sixth try is refused even with the right password, and says when to come back.
    let refused = attempt("correct horse battery").await;
    assert_eq!(refused.status(), StatusCode::TOO_MANY_REQUESTS);
    let retry: i64 = refused.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=900).contains(&retry), "{retry}");
    // Another user is not affected.
    let other = d
        .client
        .post(format!("{}/api/v1/session", d.base))
        .json(&json!({"username": "spec2", "password": "correct horse battery"}))
        .send()
        .await
        .unwrap();
    assert_eq!(other.status(), StatusCode::OK);
    // Once the window has passed the right password works, and each sign-in opens a new session.
    d.clock.advance(chrono::Duration::minutes(16));
    let session = |res: &reqwest::Response| {
        session_cookie(res)
            .map(|c| c.split(';').next().unwrap().to_string())
            .unwrap()
    };
    let first = attempt("correct horse battery").await;
    assert_eq!(first.status(), StatusCode::OK);
    let second = attempt("correct horse battery").await;
    assert_ne!(session(&first), session(&second), "no session is reused");
    assert_eq!(
        d.count("sign_in_failures").await,
        0,
        "success clears the failures"
    );
}

#[tokio::test]
async fn a_case_file_lists_the_related_cases_its_reader_may_see() {
    let d = start().await;
    // Three posts by acct-1 and a report on the account itself; one post ends up restricted.
    let first = d.report(report("p-rel-1", "u-1", "rel-1")).await["case_id"].clone();
    let second = d.report(report("p-rel-2", "u-1", "rel-2")).await["case_id"].clone();
    let hidden = d.report(report("p-rel-3", "u-1", "rel-3")).await["case_id"].clone();
    let mut account = report("acct-1", "u-2", "rel-4");
    account["subject"]["kind"] = json!("account");
    let account = d.report(account).await["case_id"].clone();
    let mut unrelated = report("p-other", "u-1", "rel-5");
    unrelated["subject"]["snapshot"]["author_id"] = json!("acct-2");
    d.report(unrelated).await;
    let (status, _) = d
        .post(
            "admin",
            &format!("/api/v1/cases/{hidden}/restriction"),
            json!({"team": "legal", "reason": "court order"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);

    let related = |detail: &Value| -> Vec<Value> {
        detail["related"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["id"].clone())
            .collect()
    };
    let (status, detail) = d.get("spec", &format!("/api/v1/cases/{first}")).await;
    assert_eq!(status, StatusCode::OK, "{detail}");
    // Newest first, never the case itself, never a case restricted to a team the reader is not in.
    assert_eq!(related(&detail), vec![account.clone(), second.clone()]);
    assert_eq!(detail["reports"].as_array().unwrap().len(), 1);
    let (_, detail) = d.get("spec", &format!("/api/v1/cases/{account}")).await;
    assert_eq!(related(&detail), vec![second, first]);
}
