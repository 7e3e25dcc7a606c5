use chrono::Duration;
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::harness::{TestDesk, fields, report, start};

/// A query string, every byte but letters and digits percent-encoded.
fn query(params: &[(&str, &str)]) -> String {
    let enc = |s: &str| -> String {
        s.bytes()
            .map(|b| {
                if b.is_ascii_alphanumeric() {
                    (b as char).to_string()
                } else {
                    format!("%{b:02X}")
                }
            })
            .collect()
    };
    params
        .iter()
        .map(|(k, v)| format!("{k}={}", enc(v)))
        .collect::<Vec<_>>()
        .join("&")
}

async fn search_as(d: &TestDesk, who: &str, params: &[(&str, &str)]) -> (StatusCode, Value) {
    d.get(who, &format!("/api/v1/search?{}", query(params)))
        .await
}

/// Searches as `spec` and expects an answer.
async fn search(d: &TestDesk, params: &[(&str, &str)]) -> Value {
    let (status, body) = search_as(d, "spec", params).await;
    assert_eq!(status, StatusCode::OK, "{params:?}: {body}");
    body
}

/// The case ids of a result, in order.
fn ids(result: &Value) -> Vec<i64> {
    result["hits"]
        .as_array()
        .expect("hits")
        .iter()
        .map(|h| h["case"]["id"].as_i64().expect("case id"))
        .collect()
}

async fn found(d: &TestDesk, text: &str) -> Vec<i64> {
    let mut found = ids(&search(d, &[("q", text)]).await);
    found.sort();
    found
}

/// A report on `external_id` whose subject says `subject` and whose reporter says `text`.
fn saying(external_id: &str, key: &str, subject: &str, text: &str) -> Value {
    let mut r = report(external_id, &format!("u-{key}"), key);
    r["subject"]["snapshot"]["text"] = json!(subject);
    r["text"] = json!(text);
    r
}

#[tokio::test]
async fn words_from_the_subject_reports_and_notes_find_their_case() {
    let d = start().await;
    let a = d
        .report(saying(
            "p-a",
            "a",
            "Guaranteed 300% returns, send coins to this wallet",
            "Victim lost savings via Telegram",
        ))
        .await["case_id"]
        .as_i64()
        .unwrap();
    let b = d
        .report(saying(
            "p-b",
            "b",
            "Buy followers cheap, instant delivery",
            "Spam bot ring",
        ))
        .await["case_id"]
        .as_i64()
        .unwrap();
    let c = d
        .report(saying(
            "p-c",
            "c",
            "Pay at https://evil-casino.example/bonus or mail win@lucky-prize.example",
            "",
        ))
        .await["case_id"]
        .as_i64()
        .unwrap();

    // The subject's text and the report's text; any letter case.
    let hit = search(&d, &[("q", "coins")]).await;
    assert_eq!((ids(&hit), hit["total"].as_i64()), (vec![a], Some(1)));
    assert_eq!(hit["hits"][0]["matched_in"], "subject");
    assert!(
        hit["hits"][0]["snippet"]
            .as_str()
            .unwrap()
            .contains("send **coins** to"),
        "{hit}"
    );
    let hit = search(&d, &[("q", "TELEGRAM")]).await;
    assert_eq!(ids(&hit), [a]);
    assert_eq!(hit["hits"][0]["matched_in"], "report");
    assert_eq!(found(&d, "followers").await, [b]);
    // Words inside URLs and e-mail addresses are words, on both engines.
    assert_eq!(found(&d, "casino").await, [c]);
    assert_eq!(found(&d, "lucky prize").await, [c]);
    assert_eq!(found(&d, "bonus").await, [c]);

    // A note, once written, is found too.
    assert_eq!(found(&d, "kraken").await, Vec::<i64>::new());
    let case = format!("/api/v1/cases/{a}");
    let (status, body) = d
        .post(
            "lead",
            &format!("{case}/assign"),
            json!({"assignee": d.id("spec")}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (status, body) = d
        .post(
            "spec",
            &format!("{case}/notes"),
            json!({"body": "Linked to the Kraken phishing ring"}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let hit = search(&d, &[("q", "kraken")]).await;
    assert_eq!(ids(&hit), [a]);
    assert_eq!(hit["hits"][0]["matched_in"], "note");
    assert!(
        hit["hits"][0]["snippet"]
            .as_str()
            .unwrap()
            .contains("**Kraken**"),
        "{hit}"
    );

    // Every word must occur, but anywhere in the case: subject, report or note.
    assert_eq!(found(&d, "coins wallet").await, [a]);
    assert_eq!(found(&d, "coins telegram kraken").await, [a]);
    assert_eq!(found(&d, "coins followers").await, Vec::<i64>::new());
    assert_eq!(found(&d, "ring").await, [a, b]);
    assert_eq!(found(&d, "ring spam").await, [b]);

    // The last word is also a prefix; the others are whole words.
    assert_eq!(found(&d, "wall").await, [a]);
    assert_eq!(found(&d, "coins wal").await, [a]);
    assert_eq!(found(&d, "wal coins").await, Vec::<i64>::new());
    // Quoted: a phrase, or an exact word.
    assert_eq!(found(&d, "\"send coins\"").await, [a]);
    assert_eq!(found(&d, "\"coins send\"").await, Vec::<i64>::new());
    assert_eq!(found(&d, "\"wall\"").await, Vec::<i64>::new());

    // A report bringing new subject text adds it; the old text still finds the case.
    let edited = saying("p-a", "a2", "Now it asks for gift cards instead", "");
    assert_eq!(d.report(edited).await["outcome"], "joined");
    assert_eq!(found(&d, "gift cards").await, [a]);
    assert_eq!(found(&d, "coins").await, [a]);
    // Repeating the same subject text adds nothing.
    let before = d.count("search_docs").await;
    d.report(saying(
        "p-b",
        "b2",
        "Buy followers cheap, instant delivery",
        "",
    ))
    .await;
    assert_eq!(d.count("search_docs").await, before);
}

#[tokio::test]
async fn hostile_text_is_only_words_to_look_for() {
    let d = start().await;
    let a = d
        .report(saying("p-a", "a", "send coins to this wallet", "scam"))
        .await["case_id"]
        .as_i64()
        .unwrap();
    let b = d
        .report(saying("p-b", "b", "cheap followers", "spam"))
        .await["case_id"]
        .as_i64()
        .unwrap();
    for text in [
        "wallet\" OR 1=1 --",
        "wallet' OR '1'='1",
        "'; DROP TABLE cases; --",
        "*",
        "\"",
        "'",
        "\\",
        "NEAR(coins wallet)",
        "coins AND",
        "OR",
        "body:wallet",
        "case_id:1",
        "coins & wallet | !spam",
        "(wallet",
        "wallet)",
        "coins <-> wallet",
        "coins:*",
        "%_",
        "^wallet",
        "-wallet",
        "wallet*",
        "{near}",
        "\u{0}",
        "é\u{301}",
    ] {
        let (status, body) = search_as(&d, "spec", &[("q", text)]).await;
        assert_eq!(status, StatusCode::OK, "{text:?}: {body}");
        assert!(body["total"].is_i64(), "{text:?}: {body}");
    }
    // Operators are words to look for, or nothing at all.
    assert_eq!(found(&d, "NEAR(coins wallet)").await, Vec::<i64>::new());
    assert_eq!(found(&d, "coins AND wallet").await, Vec::<i64>::new());
    assert_eq!(found(&d, "wallet\" OR 1=1 --").await, Vec::<i64>::new());
    assert_eq!(found(&d, "coins:*").await, [a]);
    assert_eq!(found(&d, "-wallet").await, [a]);
    assert_eq!(found(&d, "(wallet").await, [a]);
    // Nothing to look for: every case, as with no text.
    assert_eq!(found(&d, "*").await, [a, b]);
    assert_eq!(d.count("cases").await, 2);
}

#[tokio::test]
async fn filters_sorting_and_pages() {
    let d = start().await;
    // Three cases on three days, all about refunds.
    let c1 = d
        .report(saying("p-1", "1", "Refund scam, pay a fee first", ""))
        .await;
    d.clock.advance(Duration::days(1));
    let mut r = saying("p-2", "2", "Refund offer for kids", "");
    r["reason"] = json!("spam");
    r["source"] = json!("trusted_flagger");
    r["jurisdiction"] = json!("DE");
    r["risk_flags"] = json!(["minor_safety"]);
    let c2 = d.report(r).await;
    d.clock.advance(Duration::days(1));
    let mut r = saying("p-3", "3", "Refund our film, copied", "");
    r["reason"] = json!("ip.copyright");
    r["source"] = json!("rights_holder");
    r["subject"]["snapshot"]["country"] = json!("AT");
    let c3 = d.report(r).await;
    // A second source on the first case, then the third is assigned: each is updated later.
    d.clock.advance(Duration::minutes(5));
    let mut again = saying("p-1", "1b", "Refund scam, pay a fee first", "");
    again["source"] = json!("trusted_flagger");
    d.report(again).await;
    let [c1, c2, c3] = [&c1, &c2, &c3].map(|r| r["case_id"].as_i64().unwrap());
    d.clock.advance(Duration::minutes(5));
    let (status, _) = d
        .post(
            "lead",
            &format!("/api/v1/cases/{c3}/assign"),
            json!({"assignee": d.id("spec")}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);

    let all = search(&d, &[("q", "refund"), ("sort", "opened")]).await;
    assert_eq!(
        (ids(&all), all["total"].as_i64()),
        (vec![c1, c2, c3], Some(3))
    );
    let summary = |id: i64| {
        all["hits"]
            .as_array()
            .unwrap()
            .iter()
            .find(|h| h["case"]["id"] == id)
            .unwrap()["case"]
            .clone()
    };
    let (s1, s2, s3) = (summary(c1), summary(c2), summary(c3));

    let only = |params: Vec<(&'static str, String)>| {
        let d = &d;
        async move {
            let mut p: Vec<(&str, &str)> = vec![("q", "refund"), ("sort", "opened")];
            p.extend(params.iter().map(|(k, v)| (*k, v.as_str())));
            ids(&search(d, &p).await)
        }
    };
    assert_eq!(only(vec![("status", "in_review".into())]).await, [c3]);
    assert_eq!(only(vec![("status", "triaged".into())]).await, [c1, c2]);
    assert_eq!(
        only(vec![("queue", s3["queue"].as_str().unwrap().into())]).await,
        [c3]
    );
    assert_eq!(
        only(vec![("policy_area", "scams.financial".into())]).await,
        [c1]
    );
    assert_eq!(only(vec![("policy_area", "ip.*".into())]).await, [c3]);
    assert_eq!(
        only(vec![("policy_area", "scams".into())]).await,
        Vec::<i64>::new()
    );
    assert_eq!(
        only(vec![("source", "trusted_flagger".into())]).await,
        [c1, c2]
    );
    assert_eq!(only(vec![("source", "rights_holder".into())]).await, [c3]);
    assert_eq!(
        only(vec![("source", "regulator".into())]).await,
        Vec::<i64>::new()
    );
    let p2 = s2["priority"].as_str().unwrap();
    let expected: Vec<i64> = [(c1, &s1), (c2, &s2), (c3, &s3)]
        .iter()
        .filter(|(_, s)| s["priority"] == p2)
        .map(|(id, _)| *id)
        .collect();
    assert_eq!(only(vec![("priority", p2.into())]).await, expected);
    assert_eq!(only(vec![("region", "DE".into())]).await, [c2]);
    assert_eq!(only(vec![("region", "AT".into())]).await, [c3]);
    assert_eq!(
        only(vec![("assignee", d.id("spec").to_string())]).await,
        [c3]
    );
    assert_eq!(only(vec![("opened_to", "2026-05-04".into())]).await, [c1]);
    assert_eq!(
        only(vec![("opened_from", "2026-05-05".into())]).await,
        [c2, c3]
    );
    assert_eq!(
        only(vec![
            ("opened_from", "2026-05-05".into()),
            ("opened_to", "2026-05-05".into())
        ])
        .await,
        [c2]
    );
    // Filters work without text too.
    assert_eq!(ids(&search(&d, &[("region", "DE")]).await), [c2], "no text");

    // Orders.
    let order = |sort: &'static str| {
        let d = &d;
        async move { ids(&search(d, &[("q", "refund"), ("sort", sort)]).await) }
    };
    assert_eq!(order("-opened").await, [c3, c2, c1]);
    assert_eq!(order("updated").await, [c2, c1, c3]);
    assert_eq!(order("-updated").await, [c3, c1, c2]);
    let rank = |id: i64| {
        [(c1, &s1), (c2, &s2), (c3, &s3)]
            .iter()
            .find(|(c, _)| *c == id)
            .unwrap()
            .1["priority"]
            .as_str()
            .unwrap()
            .to_string()
    };
    let by_priority: Vec<String> = order("priority").await.into_iter().map(rank).collect();
    let mut sorted = by_priority.clone();
    sorted.sort();
    assert_eq!(by_priority, sorted);
    let mut descending: Vec<String> = order("-priority").await.into_iter().map(rank).collect();
    descending.reverse();
    assert_eq!(descending, sorted);
    // Without text the default is by priority, most urgent first.
    let no_text: Vec<String> = ids(&search(&d, &[]).await).into_iter().map(rank).collect();
    assert_eq!(no_text, sorted);
    let deadlines: Vec<String> = order("deadline")
        .await
        .into_iter()
        .map(|id| {
            [(c1, &s1), (c2, &s2), (c3, &s3)]
                .iter()
                .find(|(c, _)| *c == id)
                .unwrap()
                .1["sla"]["resolution_due"]
                .as_str()
                .unwrap()
                .to_string()
        })
        .collect();
    let mut sorted_deadlines = deadlines.clone();
    sorted_deadlines.sort();
    assert_eq!(deadlines, sorted_deadlines);

    // Pages, with the total of every match.
    let page = search(
        &d,
        &[
            ("q", "refund"),
            ("sort", "opened"),
            ("limit", "1"),
            ("offset", "1"),
        ],
    )
    .await;
    assert_eq!(ids(&page), [c2]);
    assert_eq!(
        (
            &page["total"],
            &page["limit"],
            &page["offset"],
            &page["next_offset"]
        ),
        (&json!(3), &json!(1), &json!(1), &json!(2))
    );
    let last = search(
        &d,
        &[
            ("q", "refund"),
            ("sort", "opened"),
            ("limit", "2"),
            ("offset", "2"),
        ],
    )
    .await;
    assert_eq!((ids(&last), &last["total"]), (vec![c3], &json!(3)));
    assert_eq!(last["next_offset"], Value::Null);
    let beyond = search(&d, &[("q", "refund"), ("offset", "10")]).await;
    assert_eq!((ids(&beyond), &beyond["total"]), (vec![], &json!(3)));
}

#[tokio::test]
async fn restricted_cases_are_found_only_by_their_team() {
    let d = start().await;
    let mut r = saying("acct-9", "cs", "Grooming messages sent to a minor", "");
    r["reason"] = json!("child_safety.exploitation");
    r["subject"]["kind"] = json!("account");
    let restricted = d.report(r).await["case_id"].as_i64().unwrap();
    let open = d
        .report(saying("p-1", "o", "Grooming tips for dogs", ""))
        .await["case_id"]
        .as_i64()
        .unwrap();
    for (who, expected) in [
        ("cs_spec", vec![restricted, open]),
        ("cs_lead", vec![restricted, open]),
        ("spec", vec![open]),
        ("lead", vec![open]),
        ("admin", vec![open]),
    ] {
        for params in [vec![("q", "grooming")], vec![]] {
            let (status, body) = search_as(&d, who, &params).await;
            assert_eq!(status, StatusCode::OK, "{who}: {body}");
            let mut got = ids(&body);
            got.sort();
            assert_eq!(got, expected, "{who} {params:?}");
            assert_eq!(body["total"], json!(expected.len()), "{who} {params:?}");
        }
    }
    let (_, body) = search_as(&d, "spec", &[("q", "minor")]).await;
    assert_eq!((ids(&body), &body["total"]), (vec![], &json!(0)));
}

#[tokio::test]
async fn bad_filters_are_named_and_only_readers_search() {
    let d = start().await;
    for (params, expected) in [
        (vec![("priority", "P9")], vec!["priority"]),
        (vec![("opened_from", "2026-02-30")], vec!["opened_from"]),
        (vec![("opened_to", "5 May")], vec!["opened_to"]),
        (vec![("sort", "sideways")], vec!["sort"]),
        (vec![("sort", "-relevance")], vec!["sort"]),
        (
            vec![
                ("status", "open"),
                ("source", "pigeon"),
                ("region", "fr"),
                ("assignee", "lena"),
                ("limit", "0"),
                ("offset", "-1"),
            ],
            vec!["status", "source", "region", "assignee", "limit", "offset"],
        ),
        (vec![("limit", "201")], vec!["limit"]),
        (
            vec![("opened_from", "2026-05-05"), ("opened_to", "2026-05-04")],
            vec!["opened_to"],
        ),
        (vec![("colour", "red")], vec!["colour"]),
    ] {
        let (status, problem) = search_as(&d, "spec", &params).await;
        assert_eq!(
            (status, fields(&problem)),
            (
                StatusCode::UNPROCESSABLE_ENTITY,
                expected.iter().map(|f| f.to_string()).collect()
            ),
            "{params:?}: {problem}"
        );
    }
    let long = "w".repeat(501);
    let (status, problem) = search_as(&d, "spec", &[("q", &long)]).await;
    assert_eq!(
        (status, fields(&problem)),
        (StatusCode::UNPROCESSABLE_ENTITY, vec!["q".to_string()])
    );
    // Blank filters, as an HTML form sends them, are no filters.
    let (status, body) = search_as(&d, "spec", &[("q", ""), ("status", ""), ("limit", "")]).await;
    assert_eq!((status, &body["limit"]), (StatusCode::OK, &json!(50)));

    assert_eq!(
        search_as(&d, "nobody", &[]).await.0,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        search_as(&d, "platform", &[]).await.0,
        StatusCode::FORBIDDEN
    );
    assert_eq!(search_as(&d, "legal", &[]).await.0, StatusCode::FORBIDDEN);
    for who in ["analyst", "qa", "lead"] {
        assert_eq!(search_as(&d, who, &[]).await.0, StatusCode::OK, "{who}");
    }
}
