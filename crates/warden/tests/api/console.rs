//! The console without a browser: what each role's pages show and hide, sessions and CSRF, escaping,
//! and working a case through its forms.

use reqwest::{Client, StatusCode, redirect};
use serde_json::json;

use crate::harness::{Browser, report, sign_in_token, start};

#[tokio::test]
async fn signing_in_leads_back_and_bad_passwords_do_not() {
    let d = start().await;
    warden::enforcement::delivery::install_tls();
    let anon = Client::builder()
        .cookie_store(true)
        .redirect(redirect::Policy::none())
        .build()
        .unwrap();
    let res = anon.get(format!("{}/my", d.base)).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert_eq!(res.headers()["location"], "/sign-in?next=/my");
    // Without the sign-in page's token the form is refused.
    let res = anon
        .post(format!("{}/sign-in", d.base))
        .form(&[
            ("username", "spec"),
            ("password", "correct horse battery"),
            ("next", "/"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    let token = sign_in_token(&anon, &d.base).await;
    let res = anon
        .post(format!("{}/sign-in", d.base))
        .form(&[
            ("username", "spec"),
            ("password", "wrong"),
            ("next", "//evil.example"),
            ("csrf", &token),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    let body = res.text().await.unwrap();
    assert!(body.contains("do not match"), "{body}");
    assert!(
        !body.contains("evil.example"),
        "an off-site next is dropped"
    );
    let b = Browser::sign_in(&d, "spec").await;
    let (status, page) = b.get("/").await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("<h1>Queues</h1>"));
    // Signing out ends the session.
    let (status, to) = b.post("/sign-out", &[]).await;
    assert_eq!((status, to.as_str()), (StatusCode::SEE_OTHER, "/sign-in"));
    assert_eq!(b.get("/").await.0, StatusCode::SEE_OTHER);
}

#[tokio::test]
async fn each_role_sees_only_what_it_may_do() {
    let d = start().await;
    let spec = Browser::sign_in(&d, "spec").await;
    let (_, queues) = spec.get("/").await;
    assert!(queues.contains("Claim next"));
    assert!(
        !queues.contains("href=\"/admin\""),
        "no admin link for a specialist"
    );
    assert_eq!(spec.get("/admin").await.0, StatusCode::FORBIDDEN);

    let analyst = Browser::sign_in(&d, "analyst").await;
    let (_, queues) = analyst.get("/").await;
    assert!(queues.contains("<h1>Queues</h1>"));
    assert!(
        !queues.contains("Claim next"),
        "analysts cannot claim, so the button is absent"
    );
    assert!(!queues.contains("href=\"/my\""));

    let partner = Browser::sign_in(&d, "legal").await;
    let res = partner
        .client
        .get(format!("{}/", d.base))
        .send()
        .await
        .unwrap();
    assert_eq!(res.headers()["location"], "/consultations");
    let (_, inbox) = partner.get("/consultations").await;
    assert!(!inbox.contains("href=\"/\"><"), "{inbox}");
    assert!(!inbox.contains(">Queues<"));

    let admin = Browser::sign_in(&d, "admin").await;
    let (status, page) = admin.get("/admin").await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("Add a user"));
    let (status, page) = admin
        .post(
            "/admin/users",
            &[
                ("username", "newbie"),
                ("role", "specialist"),
                ("password", "a long enough password"),
            ],
        )
        .await;
    assert_eq!(
        (status, page.as_str()),
        (StatusCode::SEE_OTHER, "/admin?done=user")
    );
    let (status, page) = admin
        .post(
            "/admin/users",
            &[
                ("username", "newbie"),
                ("role", "specialist"),
                ("password", "another long password"),
            ],
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(page.contains("username: is already taken"), "{page}");
}

#[tokio::test]
async fn writes_need_the_form_token() {
    let d = start().await;
    d.report(report("p-c1", "u-1", "k-1")).await;
    let b = Browser::sign_in(&d, "spec").await;
    let res = b
        .client
        .post(format!("{}/queues/ads_fraud/claim", d.base))
        .form(&[("csrf", "forged")])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    assert!(res.text().await.unwrap().contains("This form has expired"));
    assert_eq!(d.count("events WHERE kind = 'claimed'").await, 0);
    // The htmx header carries the same token.
    let res = b
        .client
        .post(format!("{}/exposure", d.base))
        .header("x-warden-csrf", &b.csrf)
        .send()
        .await
        .unwrap();
    let count: serde_json::Value = res.json().await.unwrap();
    assert_eq!(count["count"], 1);
    assert_eq!(count["remind"], false);
    let (_, page) = b.get("/settings").await;
    assert!(
        page.contains("id=\"exposure-count\">1<"),
        "the shift's count is shown"
    );
}

#[tokio::test]
async fn a_case_is_worked_from_claim_to_decision_and_hostile_text_stays_text() {
    let d = start().await;
    let mut r = report("p-c2", "u-2", "k-2");
    r["text"] = json!("<script>alert('x')</script> see <img src=x onerror=alert(1)>");
    r["subject"]["kind"] = json!("photo");
    r["subject"]["snapshot"]["media_urls"] = json!(["https://media.example.net/1.jpg"]);
    let case = d.report(r).await["case_id"].as_i64().unwrap();
    let b = Browser::sign_in(&d, "spec").await;
    let (status, to) = b.post("/queues/ads_fraud/claim", &[]).await;
    assert_eq!(
        (status, to.clone()),
        (StatusCode::SEE_OTHER, format!("/cases/{case}?done=claimed"))
    );
    let (status, page) = b.get(&to).await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("Case claimed."));
    assert!(!page.contains("<script>alert"), "report text is escaped");
    assert!(!page.contains("<img src=x"), "report text is escaped");
    assert!(page.contains("&lt;script&gt;") || page.contains("&#60;script&#62;"));
    assert!(
        page.contains("class=\"media is-blurred\""),
        "media start blurred"
    );
    assert!(
        page.contains("id=\"decision-form\""),
        "the holder gets the decision form"
    );
    assert!(page.contains("value=\"community.fraud_scams@1\""));
    // The policy panel offers only what the policy allows.
    let (_, panel) = b
        .get(&format!(
            "/cases/{case}/policy-panel?policy=community.fraud_scams@1"
        ))
        .await;
    assert!(panel.contains("value=\"remove\""));
    assert!(!panel.contains("value=\"geo_block\""));

    let (status, _) = b
        .post(
            &format!("/cases/{case}/notes"),
            &[("body", "Wallet seen before.")],
        )
        .await;
    assert_eq!(status, StatusCode::SEE_OTHER);

    // A form with problems comes back with them named and the text kept.
    let (status, page) = b
        .post(
            &format!("/cases/{case}/decision"),
            &[
                ("policy", "community.fraud_scams@1"),
                ("rationale", "Known wallet."),
                ("action", "remove"),
            ],
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(page.contains("<strong>verdict</strong>"), "{page}");
    assert!(page.contains("Known wallet."));

    let fields = [
        ("policy", "community.fraud_scams@1"),
        ("verdict", "violating"),
        ("rationale", "Known wallet."),
        (
            "explanation",
            "The post asks for money with promised returns.",
        ),
        ("action", "remove"),
        ("action", "strike"),
    ];
    let (status, preview) = b
        .post(&format!("/cases/{case}/decision/preview"), &fields)
        .await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        preview.contains("DECISION_VISIBILITY_CONTENT_REMOVED"),
        "{preview}"
    );
    assert!(preview.contains("Message to the author"));
    assert_eq!(d.count("decisions").await, 0, "a preview records nothing");

    let (status, to) = b.post(&format!("/cases/{case}/decision"), &fields).await;
    assert_eq!(
        (status, to.clone()),
        (StatusCode::SEE_OTHER, format!("/cases/{case}?done=decided"))
    );
    let (_, page) = b.get(&to).await;
    assert!(page.contains("id=\"case-status\">closed<"), "{page}");
    assert!(page.contains("community.fraud_scams@1"));
    assert!(
        !page.contains("id=\"decision-form\""),
        "a closed case has no decision form"
    );

    // Another specialist cannot see a restricted case at all.
    let mut cs = report("p-c3", "u-3", "k-3");
    cs["reason"] = json!("child_safety.exploitation");
    let restricted = d.report(cs).await["case_id"].as_i64().unwrap();
    assert_eq!(
        b.get(&format!("/cases/{restricted}")).await.0,
        StatusCode::NOT_FOUND
    );
    let cs_spec = Browser::sign_in(&d, "cs_spec").await;
    assert_eq!(
        cs_spec.get(&format!("/cases/{restricted}")).await.0,
        StatusCode::OK
    );
}

#[tokio::test]
async fn partners_answer_from_their_inbox_and_policies_show_their_changes() {
    let d = start().await;
    let case = d.report(report("p-c4", "u-4", "k-4")).await["case_id"]
        .as_i64()
        .unwrap();
    let spec = Browser::sign_in(&d, "spec").await;
    spec.post("/queues/ads_fraud/claim", &[]).await;
    let (status, _) = spec
        .post(
            &format!("/cases/{case}/consultations"),
            &[
                ("team", "legal"),
                ("question", "Is this lawful in FR?"),
                ("due_hours", "12"),
            ],
        )
        .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let legal = Browser::sign_in(&d, "legal").await;
    let (_, inbox) = legal.get("/consultations").await;
    assert!(inbox.contains("Is this lawful in FR?"));
    let id: i64 = inbox
        .split("/consultations/")
        .nth(1)
        .and_then(|s| s.split('/').next())
        .unwrap()
        .parse()
        .unwrap();
    let (status, to) = legal
        .post(
            &format!("/consultations/{id}/answer"),
            &[("answer", "Unlawful under art. 313-1 Code pénal.")],
        )
        .await;
    assert_eq!(
        (status, to.as_str()),
        (StatusCode::SEE_OTHER, "/consultations?done=answered")
    );
    let (_, page) = spec.get(&format!("/cases/{case}")).await;
    assert!(page.contains("Unlawful under art. 313-1"));

    let (_, policies) = spec.get("/policies").await;
    assert!(policies.contains("community.hate_speech"));
    let (status, page) = spec.get("/policies/community.hate_speech?version=3").await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("What changed from version 2"));
    assert!(page.contains("diff-added") && page.contains("diff-removed"));
    let (_, css) = spec.get("/static/console.css").await;
    assert!(css.contains(".media"));
    assert_eq!(spec.get("/static/nope.js").await.0, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn search_finds_cases_by_their_words_and_marks_them_safely() {
    let d = start().await;
    let mut r = report("p-c5", "u-5", "k-5");
    r["text"] = json!("zebrafinch wallet <b>promo</b>");
    let case = d.report(r).await["case_id"].as_i64().unwrap();
    d.report(report("p-c6", "u-6", "k-6")).await;
    let b = Browser::sign_in(&d, "spec").await;
    let (status, page) = b.get("/search?q=zebrafinch").await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains(&format!("href=\"/cases/{case}\"")), "{page}");
    assert!(page.contains("<mark>zebrafinch</mark>"), "{page}");
    assert!(!page.contains("<b>promo</b>"));
    assert!(page.contains(">1 case."), "{page}");
    let (_, page) = b.get("/search?queue=ads_fraud&sort=-opened").await;
    assert!(page.contains(">2 cases."), "{page}");
    let (status, page) = b.get("/search?priority=P9").await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        page.contains("priority:"),
        "the bad filter is named: {page}"
    );
}

/// A hash of the reference tool's test images, and the same with 7 of its 256 bits changed.
const BANKED: &str = "f8f8f0cee0f4a84f06370a22038f63f0b36e2ed596621e1d33e6b39c4e9c9b22";
const SEEN: &str = "f8f8f0cee0f4a84f06370a22038f63f0b36e2ed596621e1d33e6b39c4e9c9b5d";
const OTHER: &str = "0000f0cee0f4a84f06370a22038f63f0b36e2ed596621e1d33e6b39c4e9c9b22";

/// A bank created by a lead through the API; returns its id.
async fn new_bank(d: &crate::harness::TestDesk, name: &str) -> i64 {
    let (status, bank) = d
        .post(
            "lead",
            "/api/v1/banks",
            json!({"name": name, "policy": "community.dangerous_organisations"}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{bank}");
    bank["id"].as_i64().unwrap()
}

#[tokio::test]
async fn banks_show_their_precision_and_only_those_who_manage_them_import() {
    let d = start().await;
    let bank = new_bank(&d, "Confirmed propaganda").await;
    let import = format!("/banks/{bank}/import");

    let spec = Browser::sign_in(&d, "spec").await;
    let (status, page) = spec.get("/banks").await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("href=\"/banks\""), "the nav links the banks");
    assert!(page.contains("Confirmed propaganda"), "{page}");
    assert!(page.contains("community.dangerous_organisations"));
    assert!(
        page.contains("<td data-precision>no verdicts yet</td>"),
        "{page}"
    );
    assert!(
        !page.contains(&format!("action=\"{import}\"")),
        "a specialist has no import form"
    );
    let (status, _) = spec
        .post(&import, &[("hashes", BANKED), ("format", "text")])
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let partner = Browser::sign_in(&d, "legal").await;
    let (_, inbox) = partner.get("/consultations").await;
    assert!(!inbox.contains("href=\"/banks\""), "partners have no banks");
    assert_eq!(partner.get("/banks").await.0, StatusCode::FORBIDDEN);

    let lead = Browser::sign_in(&d, "lead").await;
    let (_, page) = lead.get("/banks").await;
    assert!(page.contains(&format!("action=\"{import}\"")), "{page}");
    // A bad line is named, the list is kept for correcting, and nothing is imported.
    let bad = format!("{BANKED}\nnot-a-hash\n");
    let (status, page) = lead
        .post(
            &import,
            &[
                ("hashes", &bad),
                ("format", "text"),
                ("list_name", "partner list"),
            ],
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(page.contains("<strong>line 2</strong>"), "{page}");
    assert!(page.contains("not-a-hash"), "the list is kept");
    assert_eq!(d.count("bank_entries").await, 0);
    let (status, page) = lead
        .post(&import, &[("hashes", ""), ("format", "text")])
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(page.contains("<strong>hashes</strong>"), "{page}");

    let list = format!("hash,quality,note\n{BANKED},90,first seen in April\n{OTHER},,\n");
    let (status, to) = lead
        .post(
            &import,
            &[
                ("hashes", &list),
                ("format", "csv"),
                ("list_name", "partner list"),
            ],
        )
        .await;
    assert_eq!(
        (status, to.as_str()),
        (
            StatusCode::SEE_OTHER,
            format!("/banks?done=imported&added=2&already=0#bank-{bank}").as_str()
        )
    );
    let (_, page) = lead.get(&to).await;
    assert!(page.contains("Imported 2 hashes."), "{page}");
    assert!(page.contains("<td>2 (2)</td>"), "{page}");
    let (_, to) = lead
        .post(&import, &[("hashes", BANKED), ("format", "text")])
        .await;
    let (_, page) = lead.get(&to).await;
    assert!(
        page.contains("Nothing new: the bank held that hash already."),
        "{page}"
    );

    let (status, page) = lead.get(&format!("/banks/{bank}")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains(&format!("<code>{BANKED}</code>")), "{page}");
    assert!(page.contains(&format!("<code>{OTHER}</code>")));
    assert!(page.contains("partner list") && page.contains("first seen in April"));
    assert!(page.contains(&format!("/api/v1/banks/{bank}/export?format=csv")));
    let entry: i64 = page
        .split(&format!("/banks/{bank}/entries/"))
        .nth(1)
        .and_then(|s| s.split('/').next())
        .unwrap()
        .parse()
        .unwrap();
    let (_, spec_page) = spec.get(&format!("/banks/{bank}")).await;
    assert!(spec_page.contains(&format!("<code>{BANKED}</code>")));
    assert!(
        !spec_page.contains("/toggle"),
        "a specialist cannot disable entries"
    );
    let toggle = format!("/banks/{bank}/entries/{entry}/toggle");
    assert_eq!(
        spec.post(&toggle, &[("enabled", "false")]).await.0,
        StatusCode::FORBIDDEN
    );
    let (status, to) = lead.post(&toggle, &[("enabled", "false")]).await;
    assert_eq!(
        (status, to.as_str()),
        (
            StatusCode::SEE_OTHER,
            format!("/banks/{bank}?done=entry_disabled#entry-{entry}").as_str()
        )
    );
    let (_, page) = lead.get(&to).await;
    assert!(page.contains("Entry disabled"), "{page}");
    assert!(page.contains("2, 1 enabled"), "{page}");
    let (_, api) = d.get("lead", &format!("/api/v1/banks/{bank}")).await;
    assert_eq!(api["enabled_entries"], 1, "{api}");

    // The download link works with the console's session alone.
    let res = spec
        .client
        .get(format!("{}/api/v1/banks/{bank}/export?format=csv", d.base))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let csv = res.text().await.unwrap();
    assert!(csv.starts_with("hash,quality,note"), "{csv}");
    assert!(
        csv.contains(BANKED) && csv.contains("partner list"),
        "{csv}"
    );
}

#[tokio::test]
async fn a_match_is_judged_from_its_case_page_and_counts_in_the_banks_precision() {
    let d = start().await;
    let bank = new_bank(&d, "Confirmed propaganda").await;
    let (status, added) = d
        .post(
            "lead",
            &format!("/api/v1/banks/{bank}/entries"),
            json!({"entries": [{"hash": BANKED}]}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{added}");
    let mut r = report("p-m1", "u-m1", "k-m1");
    r["subject"]["kind"] = json!("photo");
    r["subject"]["snapshot"]["pdq_hashes"] = json!([SEEN]);
    let case = d.report(r).await["case_id"].as_i64().unwrap();
    // The media checker matches in the background.
    let mut matched = None;
    for _ in 0..100 {
        let (_, matches) = d
            .get("lead", &format!("/api/v1/cases/{case}/matches"))
            .await;
        if let Some(m) = matches.as_array().and_then(|m| m.first()) {
            matched = m["id"].as_i64();
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    let matched = matched.expect("the hash matched its bank within 10 s");
    let verdict = format!("/cases/{case}/matches/{matched}/verdict");

    let spec = Browser::sign_in(&d, "spec").await;
    let (status, page) = spec.get(&format!("/cases/{case}")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("Known media"), "{page}");
    assert!(page.contains(&format!("href=\"/banks/{bank}\">Confirmed propaganda</a>")));
    assert!(page.contains("7 of 256 bits"), "{page}");
    assert!(page.contains("hash sent by the platform"));
    assert!(page.contains(&format!("<code>{SEEN}</code>")));
    assert!(
        page.contains("<dd data-verdict>not judged yet</dd>"),
        "{page}"
    );
    assert!(page.contains(&format!("action=\"{verdict}\"")));
    assert!(page.contains("Same media (true positive)"));
    assert!(page.contains("Different media (false positive)"));

    // QA reads the case but does not work it: the section without the buttons.
    let qa = Browser::sign_in(&d, "qa").await;
    let (_, page) = qa.get(&format!("/cases/{case}")).await;
    assert!(page.contains("7 of 256 bits"));
    assert!(!page.contains(&format!("action=\"{verdict}\"")));
    assert_eq!(
        qa.post(&verdict, &[("verdict", "true_positive")]).await.0,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        spec.post(&verdict, &[("verdict", "maybe")]).await.0,
        StatusCode::UNPROCESSABLE_ENTITY
    );

    let (status, to) = spec.post(&verdict, &[("verdict", "false_positive")]).await;
    assert_eq!(
        (status, to.as_str()),
        (
            StatusCode::SEE_OTHER,
            format!("/cases/{case}?done=judged#known-media").as_str()
        )
    );
    let (_, page) = spec.get(&to).await;
    assert!(page.contains("Verdict recorded"), "{page}");
    assert!(
        page.contains(
            "<dd data-verdict>different media (false positive) <span class=\"muted\">(spec,"
        ),
        "{page}"
    );
    let (_, page) = spec.get("/banks").await;
    assert!(page.contains("<td data-precision>0%</td>"), "{page}");

    // A second look changes the verdict, and the precision with it.
    let lead = Browser::sign_in(&d, "lead").await;
    let (status, _) = lead.post(&verdict, &[("verdict", "true_positive")]).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let (_, page) = lead.get(&format!("/banks/{bank}")).await;
    assert!(page.contains("<dd data-precision>100%</dd>"), "{page}");
    assert!(
        page.contains("1: 1 true positive, 0 false positives"),
        "{page}"
    );
    let (_, api) = d.get("lead", &format!("/api/v1/banks/{bank}")).await;
    assert_eq!(api["precision"], 1.0, "{api}");
}
