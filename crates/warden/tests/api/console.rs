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
