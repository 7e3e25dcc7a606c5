//! The analysts' SQL console: read-only queries over the documented views, refused with a reason
//! when they would do anything else, narrowed to the cases the caller may see, saved for a team,
//! and the same from `warden sql`.

use reqwest::StatusCode;
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use crate::harness::{Browser, TestDesk, fields, report, start, start_with, warden_cli};
use warden::config::Config;

const QUERY: &str = "/api/v1/analytics/query";

async fn query(d: &TestDesk, who: &str, sql: &str) -> (StatusCode, Value) {
    d.post(who, QUERY, json!({ "sql": sql })).await
}

/// The rows of a successful query.
async fn rows(d: &TestDesk, who: &str, sql: &str) -> Vec<Vec<Value>> {
    let (status, body) = query(d, who, sql).await;
    assert_eq!(status, StatusCode::OK, "{sql}: {body}");
    serde_json::from_value(body["rows"].clone()).unwrap()
}

async fn one_number(d: &TestDesk, who: &str, sql: &str) -> i64 {
    rows(d, who, sql).await[0][0].as_i64().unwrap()
}

/// Asserts a 422 naming `sql`, whose message contains `why`.
fn assert_refused(status: StatusCode, body: &Value, why: &str, sql: &str) {
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{sql}: {body}");
    assert_eq!(fields(body), vec!["sql".to_string()], "{sql}: {body}");
    let message = body["errors"][0]["message"].as_str().unwrap_or_default();
    assert!(message.contains(why), "{sql}: {message}");
}

fn scam(external_id: &str, key: &str) -> Value {
    report(external_id, &format!("reporter-{key}"), key)
}

fn child_safety(external_id: &str, key: &str) -> Value {
    let mut r = report(external_id, &format!("reporter-{key}"), key);
    r["reason"] = json!("child_safety.exploitation");
    r["subject"]["kind"] = json!("photo");
    r
}

#[tokio::test]
async fn a_group_by_over_cases_counts_them_as_the_case_list_does() {
    let d = start().await;
    for i in 0..3 {
        d.report(scam(&format!("p-{i}"), &format!("s{i}"))).await;
    }
    let mut r = scam("acct-7", "acct");
    r["subject"]["kind"] = json!("account");
    r["reason"] = json!("hate_speech");
    d.report(r).await;
    let (_, listed) = d.get("admin", "/api/v1/cases?limit=100").await;
    let mut expected: BTreeMap<String, i64> = BTreeMap::new();
    for c in listed["cases"].as_array().unwrap() {
        *expected
            .entry(c["queue"].as_str().unwrap().to_string())
            .or_default() += 1;
    }
    assert!(expected.len() >= 2, "{expected:?}");

    let (status, body) = query(
        &d,
        "analyst",
        "SELECT queue, count(*) AS n FROM cases GROUP BY queue ORDER BY queue",
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["columns"], json!(["queue", "n"]));
    let got: BTreeMap<String, i64> = body["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| (r[0].as_str().unwrap().to_string(), r[1].as_i64().unwrap()))
        .collect();
    assert_eq!(got, expected);

    // Times are ISO 8601 text in UTC on both engines; the day is its first ten characters.
    let when = rows(
        &d,
        "analyst",
        "SELECT opened_at, substr(opened_at, 1, 10), source, subject_kind FROM cases WHERE subject_kind = 'account'",
    )
    .await;
    assert_eq!(
        when,
        vec![vec![
            json!("2026-05-04T09:00:00.000Z"),
            json!("2026-05-04"),
            json!("user"),
            json!("account"),
        ]]
    );
    assert_eq!(
        one_number(
            &d,
            "lead",
            "SELECT count(*) FROM reports WHERE source = 'user'"
        )
        .await,
        4
    );
}

#[tokio::test]
async fn every_view_has_the_columns_its_documentation_lists() {
    let d = start().await;
    let (status, catalogue) = d.get("analyst", "/api/v1/analytics/views").await;
    assert_eq!(status, StatusCode::OK);
    let views = catalogue["views"].as_array().unwrap();
    let names: Vec<&str> = views.iter().map(|v| v["name"].as_str().unwrap()).collect();
    assert_eq!(
        names,
        [
            "cases",
            "reports",
            "decisions",
            "actions",
            "appeals",
            "events"
        ]
    );
    for v in views {
        let documented: Vec<&str> = v["columns"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| {
                assert!(!c["description"].as_str().unwrap().is_empty());
                c["name"].as_str().unwrap()
            })
            .collect();
        let name = v["name"].as_str().unwrap();
        let (status, body) = query(&d, "analyst", &format!("SELECT * FROM {name} LIMIT 0")).await;
        assert_eq!(status, StatusCode::OK, "{name}: {body}");
        assert_eq!(body["columns"], json!(documented), "{name}");
    }
    if d.desk.db.engine == warden::store::Engine::Postgres {
        use sqlx::Row;
        let comment: Option<String> =
            sqlx::query("SELECT col_description('analyst_cases'::regclass, 1)")
                .fetch_one(d.desk.db.reader())
                .await
                .unwrap()
                .try_get(0)
                .unwrap();
        assert_eq!(comment.as_deref(), Some("The case number. (integer)"));
    }
}

#[tokio::test]
async fn results_download_as_csv() {
    let d = start().await;
    d.report(scam("p-1", "a")).await;
    let sql = "SELECT case_id, status, 'say \"hi\", ok' AS note FROM cases";
    let expected_head = "case_id,status,note\r\n";
    // By the query string, by the body and by Accept.
    let by_query = d
        .client
        .post(format!("{}{QUERY}?format=csv", d.base))
        .bearer_auth(&d.tokens["analyst"])
        .json(&json!({ "sql": sql }))
        .send()
        .await
        .unwrap();
    let by_body = d
        .client
        .post(format!("{}{QUERY}", d.base))
        .bearer_auth(&d.tokens["analyst"])
        .json(&json!({ "sql": sql, "format": "csv" }))
        .send()
        .await
        .unwrap();
    let by_accept = d
        .client
        .post(format!("{}{QUERY}", d.base))
        .bearer_auth(&d.tokens["analyst"])
        .header("accept", "text/csv")
        .json(&json!({ "sql": sql }))
        .send()
        .await
        .unwrap();
    for res in [by_query, by_body, by_accept] {
        assert_eq!(res.status(), StatusCode::OK);
        assert!(
            res.headers()["content-type"]
                .to_str()
                .unwrap()
                .starts_with("text/csv")
        );
        assert!(
            res.headers()["content-disposition"]
                .to_str()
                .unwrap()
                .contains("attachment")
        );
        let text = res.text().await.unwrap();
        assert!(text.starts_with(expected_head), "{text}");
        assert!(text.ends_with("\"say \"\"hi\"\", ok\"\r\n"), "{text}");
        assert_eq!(text.lines().count(), 2, "{text}");
    }
}

#[tokio::test]
async fn queries_that_would_do_anything_but_read_the_views_are_refused_and_change_nothing() {
    let d = start().await;
    d.report(scam("p-1", "a")).await;
    let before = (
        d.count("cases").await,
        d.count("users").await,
        d.count("events").await,
        d.count("api_tokens").await,
    );
    let refused = [
        ("SELECT 1; DELETE FROM cases", "2 statements"),
        ("SELECT count(*) FROM cases; SELECT 2", "2 statements"),
        (
            "INSERT INTO cases (id) VALUES (99)",
            "only read-only queries",
        ),
        (
            "UPDATE cases SET status = 'closed'",
            "only read-only queries",
        ),
        ("DELETE FROM reports", "only read-only queries"),
        ("DROP VIEW analyst_cases", "only read-only queries"),
        ("PRAGMA query_only = OFF", ""),
        ("ATTACH DATABASE '/tmp/warden-analytics-x.db' AS x", ""),
        ("SELECT * FROM cases FOR UPDATE", "locks rows"),
        ("SELECT username, password_hash FROM users", "`users`"),
        ("SELECT token_hash FROM api_tokens", "`api_tokens`"),
        ("SELECT sql FROM sqlite_master", "`sqlite_master`"),
        ("SELECT * FROM pg_catalog.pg_authid", "with a schema"),
        ("SELECT * FROM pg_user", "`pg_user`"),
        ("SELECT * FROM information_schema.tables", "with a schema"),
        ("SELECT * FROM main.cases", "with a schema"),
        ("SELECT * FROM public.cases", "with a schema"),
        (
            "SELECT count(*) FROM analyst_cases",
            "`analyst_cases` directly",
        ),
        ("SELECT load_extension('/tmp/x')", "`load_extension`"),
        ("SELECT pg_sleep(5)", "`pg_sleep`"),
        ("SELECT pg_read_file('/etc/passwd')", "`pg_read_file`"),
        ("SELECT readfile('/etc/passwd')", "`readfile`"),
        (
            "SELECT set_config('search_path', 'pg_catalog', false)",
            "`set_config`",
        ),
        ("SELECT * FROM generate_series(1, 3)", "table function"),
        ("SELECT * FROM cases WHERE case_id = $1", "placeholder"),
    ];
    for (sql, why) in refused {
        let (status, body) = query(&d, "analyst", sql).await;
        assert_refused(status, &body, why, sql);
    }
    // A query the checker passes but the database rejects is refused the same way.
    let (status, body) = query(&d, "analyst", "SELECT no_such_column FROM cases").await;
    assert_refused(status, &body, "refused by the database", "no_such_column");
    let after = (
        d.count("cases").await,
        d.count("users").await,
        d.count("events").await,
        d.count("api_tokens").await,
    );
    assert_eq!(before, after);
    assert_eq!(
        one_number(&d, "analyst", "SELECT count(*) FROM cases").await,
        1
    );
}

#[tokio::test]
async fn restricted_cases_are_absent_for_everyone_outside_their_team() {
    let d = start().await;
    // An ordinary case with a decision, and a restricted one with a decision held for approval.
    let open = d.report(scam("p-1", "a")).await["case_id"]
        .as_i64()
        .unwrap();
    let restricted = d.report(child_safety("ph-1", "cs")).await["case_id"]
        .as_i64()
        .unwrap();
    let (status, _) = d
        .post("cs_spec", "/api/v1/queues/child_safety/claim", json!({}))
        .await;
    assert_eq!(status, StatusCode::OK);
    let (status, held) = d
        .post(
            "cs_spec",
            &format!("/api/v1/cases/{restricted}/decision"),
            json!({"verdict": "violating", "policy": "community.child_sexual_exploitation", "rationale": "Known material.",
                   "explanation": "The image breaks our policy on the sexual exploitation of children.",
                   "actions": [{"kind": "remove"}]}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{held}");
    let (status, body) = d
        .post(
            "lead",
            &format!("/api/v1/cases/{open}/assign"),
            json!({"assignee": d.id("spec"), "reason": "rota"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (status, body) = d
        .post(
            "spec",
            &format!("/api/v1/cases/{open}/decision"),
            json!({"verdict": "not_violating", "rationale": "An ordinary sales post."}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");

    let counts = "SELECT (SELECT count(*) FROM cases), (SELECT count(*) FROM reports), \
                  (SELECT count(*) FROM decisions), (SELECT count(*) FROM actions), \
                  (SELECT count(DISTINCT case_id) FROM events)";
    // Outside the team (an analyst, a lead of no team): only the ordinary case.
    for who in ["analyst", "lead", "admin", "qa"] {
        assert_eq!(
            rows(&d, who, counts).await,
            vec![vec![json!(1), json!(1), json!(1), json!(0), json!(1)]],
            "{who}"
        );
        let by_id = format!(
            "SELECT count(*) FROM events WHERE case_id = {restricted} \
             UNION ALL SELECT count(*) FROM reports r JOIN cases c ON c.case_id = r.case_id WHERE c.restricted_team IS NOT NULL"
        );
        assert_eq!(
            rows(&d, who, &by_id).await,
            vec![vec![json!(0)], vec![json!(0)]],
            "{who}"
        );
    }
    // Inside the team: both, and the restricted one is marked so.
    assert_eq!(
        rows(&d, "cs_lead", counts).await,
        vec![vec![json!(2), json!(2), json!(2), json!(1), json!(2)]]
    );
    assert_eq!(
        rows(
            &d,
            "cs_lead",
            &format!("SELECT restricted_team, status FROM cases WHERE case_id = {restricted}")
        )
        .await,
        vec![vec![json!("child_safety"), json!("decided")]]
    );
    // A query's own WITH query cannot stand in for a table out of its scope.
    let (status, body) = query(
        &d,
        "analyst",
        "SELECT count(*) FROM users, (WITH users AS (SELECT 1 AS x) SELECT x FROM users) q",
    )
    .await;
    assert_refused(status, &body, "refused by the database", "users");
}

#[tokio::test]
async fn specialists_partners_and_integrations_may_not_run_queries() {
    let d = start().await;
    for who in ["spec", "cs_spec", "legal", "platform"] {
        let (status, body) = query(&d, who, "SELECT count(*) FROM cases").await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{who}: {body}");
        assert_eq!(
            d.get(who, "/api/v1/analytics/views").await.0,
            StatusCode::FORBIDDEN
        );
    }
    for who in ["analyst", "qa", "lead", "admin"] {
        assert_eq!(
            query(&d, who, "SELECT count(*) FROM cases").await.0,
            StatusCode::OK
        );
    }
    assert_eq!(
        d.get("nobody", "/api/v1/analytics/views").await.0,
        StatusCode::UNAUTHORIZED
    );
}

const COUNT_TO: &str =
    "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < {N}) SELECT i FROM n";

#[tokio::test]
async fn answers_over_the_row_cap_are_refused() {
    let mut config = Config::default();
    config.analytics.max_rows = 50;
    let d = start_with(config).await;
    let (status, body) = query(&d, "analyst", &COUNT_TO.replace("{N}", "50")).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["rows"].as_array().unwrap().len(), 50);
    let (status, body) = query(&d, "analyst", &COUNT_TO.replace("{N}", "51")).await;
    assert_refused(
        status,
        &body,
        "returns more than 50 rows; add a LIMIT or aggregate",
        "51 rows",
    );
}

#[tokio::test]
async fn a_query_that_runs_too_long_is_stopped_at_the_limit() {
    let mut config = Config::default();
    config.analytics.statement_timeout_secs = 1;
    let d = start_with(config).await;
    let started = Instant::now();
    let (status, body) = query(
        &d,
        "analyst",
        "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n) SELECT count(*) FROM n",
    )
    .await;
    assert_refused(status, &body, "ran past the 1 s limit", "endless");
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );
    // The desk goes on answering.
    assert_eq!(
        one_number(&d, "analyst", "SELECT count(*) FROM cases").await,
        0
    );
}

#[tokio::test]
async fn saved_queries_are_shared_with_the_team_and_checked_when_saved() {
    let d = start().await;
    let saved = "/api/v1/analytics/saved";
    let (status, mine) = d
        .post(
            "analyst",
            saved,
            json!({"name": "Per queue", "sql": "SELECT queue, count(*) FROM cases GROUP BY queue",
                   "description": "Open work by queue"}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{mine}");
    assert_eq!(mine["author"], "analyst");
    assert_eq!(mine["team"], Value::Null);
    let (status, shared) = d
        .post(
            "cs_lead",
            saved,
            json!({"name": "CS backlog", "sql": "SELECT count(*) FROM cases WHERE restricted_team = 'child_safety'",
                   "team": "child_safety"}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{shared}");
    // Saving again under the same name replaces the query.
    let (status, again) = d
        .post(
            "analyst",
            saved,
            json!({"name": "Per queue", "sql": "SELECT queue, count(*) AS n FROM cases GROUP BY queue"}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
    assert_eq!(again["id"], mine["id"]);
    assert!(again["sql"].as_str().unwrap().contains("AS n"));

    // A refused query, a team one is not in, a blank name: nothing is saved.
    let (status, body) = d
        .post(
            "analyst",
            saved,
            json!({"name": "Bad", "sql": "SELECT * FROM users"}),
        )
        .await;
    assert_refused(status, &body, "`users`", "save users");
    let (status, body) = d
        .post(
            "analyst",
            saved,
            json!({"name": "Bad", "sql": "DELETE FROM cases"}),
        )
        .await;
    assert_refused(status, &body, "only read-only queries", "save delete");
    let (status, body) = d
        .post(
            "analyst",
            saved,
            json!({"name": " ", "sql": "SELECT 1", "team": "child_safety"}),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(fields(&body), ["name", "team"]);

    let names = |v: &Value| -> Vec<String> {
        v["queries"]
            .as_array()
            .unwrap()
            .iter()
            .map(|q| q["name"].as_str().unwrap().to_string())
            .collect()
    };
    assert_eq!(names(&d.get("analyst", saved).await.1), ["Per queue"]);
    assert_eq!(names(&d.get("cs_lead", saved).await.1), ["CS backlog"]);
    // A specialist's team mates see it too (the specialist may not run queries at all).
    assert_eq!(d.get("cs_spec", saved).await.0, StatusCode::FORBIDDEN);
    assert_eq!(names(&d.get("lead", saved).await.1), Vec::<String>::new());

    // Only the author deletes; to others the query does not exist.
    let id = mine["id"].as_i64().unwrap();
    let path = format!("{saved}/{id}");
    assert_eq!(
        d.call("lead", reqwest::Method::DELETE, &path, None).await.0,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        d.call("analyst", reqwest::Method::DELETE, &path, None)
            .await
            .0,
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        names(&d.get("analyst", saved).await.1),
        Vec::<String>::new()
    );
}

#[tokio::test]
async fn warden_sql_runs_the_same_checks_from_the_shell() {
    let d = start().await;
    d.report(scam("p-1", "a")).await;
    d.report(child_safety("ph-1", "cs")).await;
    let url = d.desk.db.url().to_string();
    let sql = |args: &[&str]| warden_cli(&["--database-url", &url], args, None);

    let (code, out, err) = sql(&[
        "sql",
        "SELECT queue, count(*) AS n FROM cases GROUP BY queue ORDER BY queue",
    ]);
    assert_eq!(code, 0, "{err}");
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(
        lines[0].split_whitespace().collect::<Vec<_>>(),
        ["queue", "n"]
    );
    assert!(lines[1].starts_with("---"), "{out}");
    // Without --as, restricted cases stay out.
    assert!(!out.contains("child_safety"), "{out}");
    assert!(out.ends_with("(1 row)\n"), "{out}");

    let (code, out, err) = sql(&[
        "sql",
        "--as",
        "cs_lead",
        "--csv",
        "SELECT queue, count(*) AS n FROM cases GROUP BY queue ORDER BY queue",
    ]);
    assert_eq!(code, 0, "{err}");
    assert!(out.starts_with("queue,n\r\n"), "{out}");
    assert!(out.contains("child_safety,1\r\n"), "{out}");
    assert_eq!(out.lines().count(), 3, "{out}");

    let (code, _, err) = sql(&["sql", "SELECT * FROM users"]);
    assert_eq!(code, 2);
    assert!(err.starts_with("error: sql: names `users`"), "{err}");
    let (code, _, err) = sql(&["sql", "SELECT 1; SELECT 2"]);
    assert_eq!(code, 2);
    assert!(err.contains("error: sql: holds 2 statements"), "{err}");
    let (code, _, err) = sql(&["sql", "--as", "spec", "SELECT 1"]);
    assert_ne!(code, 0);
    assert!(err.contains("may not"), "{err}");
    let (code, _, err) = sql(&["sql", "--as", "nobody_here", "SELECT 1"]);
    assert_eq!(code, 2);
    assert!(
        err.contains("error: as: no user named nobody_here"),
        "{err}"
    );
}

#[tokio::test]
async fn the_console_page_runs_queries_downloads_csv_and_keeps_saved_ones() {
    let d = start().await;
    d.report(scam("p-1", "a")).await;
    let b = Browser::sign_in(&d, "analyst").await;
    let (status, page) = b.get("/analytics").await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("Analytics · SQL"), "{page}");
    // The views' documentation is on the page.
    assert!(page.contains("<code>resolution_breached</code>"), "{page}");
    assert!(page.contains("The case number."), "{page}");

    let sql = "SELECT queue, count(*) AS n FROM cases GROUP BY queue";
    let (status, page) = b
        .post("/analytics", &[("sql", sql), ("action", "run")])
        .await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("<th scope=\"col\">n</th>"), "{page}");
    assert!(page.contains("(1 row)"), "{page}");
    let (status, csv) = b
        .post("/analytics", &[("sql", sql), ("action", "csv")])
        .await;
    assert_eq!(status, StatusCode::OK);
    assert!(csv.starts_with("queue,n\r\n"), "{csv}");
    let (status, page) = b
        .post(
            "/analytics",
            &[("sql", "SELECT * FROM users"), ("action", "run")],
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("sql: names `users`"), "{page}");

    let (status, to) = b
        .post(
            "/analytics",
            &[
                ("sql", sql),
                ("action", "save"),
                ("name", "By queue"),
                ("team", ""),
            ],
        )
        .await;
    assert_eq!(status, StatusCode::SEE_OTHER, "{to}");
    let (_, page) = b.get(&to).await;
    assert!(page.contains("Query saved."), "{page}");
    assert!(page.contains("By queue"), "{page}");
    assert!(page.contains("GROUP BY queue</textarea>"), "{page}");

    // A specialist has no such page.
    let spec = Browser::sign_in(&d, "spec").await;
    assert_eq!(spec.get("/analytics").await.0, StatusCode::FORBIDDEN);
}
