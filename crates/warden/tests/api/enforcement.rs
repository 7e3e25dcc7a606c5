//! Decisions that change something on the platform: actions allowed by the policy, the two-person
//! rule, strikes, delivery through the outbox to a real webhook receiver, statements of reasons,
//! replies and appeals.

use chrono::Duration;
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::harness::{TestDesk, fields, report, start_with};
use crate::receiver::{Mode, Receiver, SECRET};
use warden::clock::Clock;
use warden::config::Config;

async fn desk_with_platform() -> (TestDesk, Receiver) {
    // The receiver checks signatures against the desk's clock, which the test moves by hand.
    let clock_cell: std::sync::Arc<std::sync::OnceLock<warden::clock::ManualClock>> =
        Default::default();
    let cell = clock_cell.clone();
    let receiver = Receiver::start(move || {
        cell.get().map_or_else(
            || warden::clock::SystemClock.now().timestamp(),
            |c| c.now().timestamp(),
        )
    })
    .await;
    let mut config = Config::default();
    config.delivery.endpoint = Some(receiver.url.clone());
    config.delivery.secret = Some(SECRET.into());
    config.delivery.poll_interval_ms = 50;
    config.delivery.timeout_seconds = 1;
    config.delivery.max_attempts = 3;
    config.delivery.backoff_base_seconds = 1;
    config.delivery.backoff_max_seconds = 4;
    let d = start_with(config).await;
    let _ = clock_cell.set(d.clock.clone());
    (d, receiver)
}

/// Reports a scam post by `author` and has `who` claim it; returns the case id.
async fn claimed_case(d: &TestDesk, who: &str, external_id: &str, author: &str) -> i64 {
    let mut r = report(external_id, &format!("reporter-{external_id}"), external_id);
    r["subject"]["snapshot"]["author_id"] = json!(author);
    let receipt = d.report(r).await;
    let case_id = receipt["case_id"].as_i64().unwrap();
    let (status, assigned) = d
        .post(
            "lead",
            &format!("/api/v1/cases/{case_id}/assign"),
            json!({"assignee": d.id(who), "reason": "rota"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{assigned}");
    case_id
}

fn removal() -> Value {
    json!({
        "verdict": "violating",
        "policy": "community.fraud_scams",
        "rationale": "Wallet scam; same pattern as the campaign last week.",
        "explanation": "The post promises guaranteed returns and asks for transfers to a private wallet, which our fraud and scams policy prohibits.",
        "actions": [{"kind": "remove"}, {"kind": "strike"}]
    })
}

#[tokio::test]
async fn a_decision_is_delivered_signed_explained_and_answered() {
    let (d, platform) = desk_with_platform().await;
    let case = claimed_case(&d, "spec", "p-100", "acct-100").await;

    // The decision form offers the policies that fit and the account's standing.
    let (status, form) = d
        .get("spec", &format!("/api/v1/cases/{case}/decision-form"))
        .await;
    assert_eq!(status, StatusCode::OK, "{form}");
    assert_eq!(form["account_id"], "acct-100");
    assert_eq!(form["standing"]["active_points"], 0);
    assert_eq!(form["policies"][0]["covers_case_area"], true);
    let fraud = form["policies"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["policy"] == "community.fraud_scams@1")
        .expect("the fraud policy is offered");
    assert_eq!(fraud["penalty_if_struck"], "suspend_1_day");

    let (status, decided) = d
        .post("spec", &format!("/api/v1/cases/{case}/decision"), removal())
        .await;
    assert_eq!(status, StatusCode::CREATED, "{decided}");
    let decision = decided["decision_id"].as_i64().unwrap();
    assert_eq!(decided["decision"]["state"], "effective");
    assert_eq!(decided["decision"]["policy"], "community.fraud_scams@1");
    assert_eq!(decided["case"]["status"], "closed");

    // Two actions, the outcome to the author and to the reporter, and the reporter's
    // acknowledgement at intake: all delivered, each signed and keyed.
    platform.wait_for("every delivery", |a| a.len() == 5).await;
    let accepted = platform.accepted();
    let actions: Vec<&Value> = accepted
        .iter()
        .filter(|(k, _)| k.starts_with("action-"))
        .map(|(_, v)| v)
        .collect();
    assert_eq!(actions.len(), 2);
    assert!(
        actions
            .iter()
            .all(|a| a["subject"]["external_id"] == "p-100"
                && a["account_id"] == "acct-100"
                && a["policy"] == "community.fraud_scams@1")
    );
    assert_eq!(platform.bad_signatures(), 0);
    let (_, record) = d
        .get("lead", &format!("/api/v1/cases/{case}/enforcement"))
        .await;
    let messages = record["messages"].as_array().unwrap();
    let to_author = messages
        .iter()
        .find(|m| m["audience"] == "affected_user")
        .expect("the author is told");
    assert_eq!(to_author["recipient"], "acct-100");
    assert_eq!(to_author["purpose"], "outcome_action_taken");
    assert_eq!(to_author["language"], "fr", "the content's language");
    let body = to_author["body"].as_str().unwrap();
    assert!(
        body.contains("2026-11-03"),
        "redress with the appeal deadline: {body}"
    );
    assert!(
        body.contains("guaranteed returns"),
        "the explanation: {body}"
    );
    assert!(
        messages
            .iter()
            .any(|m| m["audience"] == "reporter" && m["purpose"] == "outcome_action_taken")
    );

    // The statement of reasons is valid for the Transparency Database and carries no personal data.
    let (status, statement) = d
        .get("spec", &format!("/api/v1/decisions/{decision}/statement"))
        .await;
    assert_eq!(status, StatusCode::OK, "{statement}");
    let parsed: transparency::Statement = serde_json::from_value(statement.clone()).unwrap();
    parsed.validate().unwrap();
    assert_eq!(
        statement["decision_ground"],
        "DECISION_GROUND_INCOMPATIBLE_CONTENT"
    );
    assert_eq!(statement["category"], "STATEMENT_CATEGORY_SCAMS_AND_FRAUD");
    assert_eq!(statement["source_type"], "SOURCE_TYPE_OTHER_NOTIFICATION");
    assert_eq!(statement["puid"], format!("warden-decision-{decision}"));
    let text = statement.to_string();
    for personal in [
        "reporter-p-100",
        "acct-100",
        "This is a scam",
        "Wallet scam",
    ] {
        assert!(!text.contains(personal), "{personal} leaked into {text}");
    }

    // The strike counts against the account.
    let (_, standing) = d.get("spec", "/api/v1/accounts/acct-100/standing").await;
    assert_eq!(standing["active_points"], 3);
    assert_eq!(standing["suggested_penalty"], "suspend_1_day");
}

#[tokio::test]
async fn actions_the_policy_or_the_parameters_do_not_allow_are_refused_and_nothing_is_written() {
    let (d, _platform) = desk_with_platform().await;
    let case = claimed_case(&d, "spec", "p-200", "acct-200").await;
    let path = format!("/api/v1/cases/{case}/decision");
    let events_before = d.count("events").await;
    let outbox_before = d.count("outbox").await;
    let cases_ = [
        (
            json!([{"kind": "geo_block", "countries": ["DE"]}]),
            "actions[0].kind",
        ),
        (json!([{"kind": "suspend_account"}]), "actions[0].until"),
        (json!([{"kind": "label"}]), "actions[0].kind"),
    ];
    for (actions, field) in cases_ {
        let mut body = removal();
        body["actions"] = actions;
        let (status, problem) = d.post("spec", &path, body).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{problem}");
        assert!(fields(&problem).contains(&field.to_string()), "{problem}");
    }
    // Under a national law a geo-block needs its countries.
    let mut body = removal();
    body["policy"] = json!("law.de.hate_speech");
    body["actions"] = json!([{"kind": "geo_block"}]);
    let (status, problem) = d.post("spec", &path, body).await;
    assert_eq!(
        (status, fields(&problem)),
        (
            StatusCode::UNPROCESSABLE_ENTITY,
            vec!["actions[0].countries".to_string()]
        )
    );
    // A restriction without the explanation the user will read, an unknown policy version.
    let mut body = removal();
    body["explanation"] = Value::Null;
    let (_, problem) = d.post("spec", &path, body).await;
    assert_eq!(fields(&problem), ["explanation"]);
    let mut body = removal();
    body["policy"] = json!("community.fraud_scams@9");
    let (_, problem) = d.post("spec", &path, body).await;
    assert_eq!(fields(&problem), ["policy"]);
    assert_eq!(d.count("decisions").await, 0);
    assert_eq!(d.count("events").await, events_before);
    assert_eq!(d.count("outbox").await, outbox_before);
}

#[tokio::test]
async fn the_two_person_rule_holds_actions_until_another_lead_approves() {
    let (d, platform) = desk_with_platform().await;
    let case = claimed_case(&d, "lead", "p-300", "acct-300").await;
    let mut body = removal();
    body["actions"] = json!([{"kind": "remove"}, {"kind": "disable_account"}]);
    let (status, held) = d
        .post("lead", &format!("/api/v1/cases/{case}/decision"), body)
        .await;
    assert_eq!(status, StatusCode::CREATED, "{held}");
    let decision = held["decision_id"].as_i64().unwrap();
    assert_eq!(held["decision"]["state"], "awaiting_approval");
    assert_eq!(held["case"]["status"], "decided");
    assert_eq!(d.count("outbox WHERE topic = 'action'").await, 0);
    let (_, waiting) = d.get("lead2", "/api/v1/approvals").await;
    assert_eq!(waiting.as_array().unwrap().len(), 1);

    // The decider cannot approve, nor can a specialist.
    let approve = format!("/api/v1/decisions/{decision}/approve");
    let (status, problem) = d.post("lead", &approve, json!({})).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{problem}");
    assert!(problem["detail"].as_str().unwrap().contains("two-person"));
    assert_eq!(
        d.post("spec", &approve, json!({})).await.0,
        StatusCode::FORBIDDEN
    );
    assert_eq!(d.count("outbox WHERE topic = 'action'").await, 0);
    // No statement exists before the decision takes effect.
    assert_eq!(
        d.get("lead", &format!("/api/v1/decisions/{decision}/statement"))
            .await
            .0,
        StatusCode::NOT_FOUND
    );

    let (status, approved) = d.post("lead2", &approve, json!({})).await;
    assert_eq!(status, StatusCode::OK, "{approved}");
    assert_eq!(approved["decision"]["state"], "effective");
    assert_eq!(approved["decision"]["approved_by"], d.id("lead2"));
    assert_eq!(approved["case"]["status"], "closed");
    platform
        .wait_for("both actions", |a| {
            a.keys().filter(|k| k.starts_with("action-")).count() == 2
        })
        .await;
    let (_, statement) = d
        .get("lead", &format!("/api/v1/decisions/{decision}/statement"))
        .await;
    assert_eq!(statement["decision_account"], "DECISION_ACCOUNT_TERMINATED");
    assert_eq!(
        d.post("lead2", &approve, json!({})).await.0,
        StatusCode::CONFLICT
    );

    // A decision sent back goes to its decider and nothing is delivered.
    let case = claimed_case(&d, "lead", "p-301", "acct-301").await;
    let mut body = removal();
    body["actions"] = json!([{"kind": "disable_account"}]);
    let (_, held) = d
        .post("lead", &format!("/api/v1/cases/{case}/decision"), body)
        .await;
    let decision = held["decision_id"].as_i64().unwrap();
    let reject = format!("/api/v1/decisions/{decision}/reject");
    let (_, problem) = d.post("lead2", &reject, json!({"reason": " "})).await;
    assert_eq!(fields(&problem), ["reason"]);
    let (status, back) = d
        .post(
            "lead2",
            &reject,
            json!({"reason": "A first offence: suspend, do not disable."}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{back}");
    assert_eq!(back["decision"]["state"], "rejected");
    assert_eq!(back["case"]["status"], "in_review");
    assert_eq!(back["case"]["assignee_id"], d.id("lead"));
    let (_, record) = d
        .get("lead", &format!("/api/v1/cases/{case}/enforcement"))
        .await;
    assert!(
        record["actions"]
            .as_array()
            .unwrap()
            .iter()
            .all(|a| a["state"] == "cancelled")
    );
    assert_eq!(d.count("outbox WHERE topic = 'action'").await, 2);
}

#[tokio::test]
async fn a_failing_platform_gets_retries_then_a_dead_letter_that_a_lead_retries() {
    let (d, platform) = desk_with_platform().await;
    platform.set(Mode::Fail);
    let case = claimed_case(&d, "spec", "p-400", "acct-400").await;
    let mut body = removal();
    body["actions"] = json!([{"kind": "remove"}]);
    d.post("spec", &format!("/api/v1/cases/{case}/decision"), body)
        .await;
    // Each try fails; the desk's clock moves past each backoff until the tries run out.
    let dead = loop_until(&d, 200, || async {
        d.clock.advance(Duration::seconds(5));
        let (_, dead) = d.get("lead", "/api/v1/deliveries?state=dead").await;
        (dead.as_array().unwrap().len() == 4).then_some(dead)
    })
    .await;
    let action = dead
        .as_array()
        .unwrap()
        .iter()
        .find(|x| x["topic"] == "action")
        .unwrap()
        .clone();
    assert_eq!(action["attempts"], 3);
    assert_eq!(action["last_error"], "the platform answered HTTP 500");
    assert!(platform.accepted().is_empty());

    // A platform that hangs times out the same way.
    platform.set(Mode::Hang);
    let id = action["id"].as_i64().unwrap();
    let retry = format!("/api/v1/deliveries/{id}/retry");
    assert_eq!(
        d.post("spec", &retry, json!({})).await.0,
        StatusCode::FORBIDDEN
    );
    let (status, again) = d.post("lead", &retry, json!({})).await;
    assert_eq!(status, StatusCode::OK, "{again}");
    assert_eq!(again["state"], "pending");
    let failed = loop_until(&d, 100, || async {
        let (_, one) = d
            .get("lead", &format!("/api/v1/deliveries?case_id={case}"))
            .await;
        one.as_array()
            .unwrap()
            .iter()
            .find(|x| x["id"] == id && x["attempts"] == 4)
            .cloned()
    })
    .await;
    assert_eq!(failed["state"], "dead");
    assert_eq!(failed["last_error"], "the platform did not answer in time");

    // Back up: the retried delivery arrives once.
    platform.set(Mode::Succeed);
    assert_eq!(d.post("lead", &retry, json!({})).await.0, StatusCode::OK);
    platform
        .wait_for("the retried action", |a| {
            a.contains_key(&format!("action-{}", action["payload"]["action_id"]))
        })
        .await;
    assert_eq!(
        d.post("lead", &retry, json!({})).await.0,
        StatusCode::CONFLICT,
        "delivered rows are not retried"
    );
    let (_, bad) = d.get("lead", "/api/v1/deliveries?state=lost").await;
    assert_eq!(fields(&bad), ["state"]);
}

/// Polls `check` (after the delivery worker had a moment) until it yields, up to `tries` times.
async fn loop_until<T, F, Fut>(_d: &TestDesk, tries: usize, check: F) -> T
where
    F: Fn() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    for _ in 0..tries {
        if let Some(v) = check().await {
            return v;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    panic!("the condition never held");
}

#[tokio::test]
async fn an_overturned_appeal_reverses_the_actions_and_removes_the_strike() {
    let (d, platform) = desk_with_platform().await;
    let case = claimed_case(&d, "spec", "p-500", "acct-500").await;
    let (_, decided) = d
        .post("spec", &format!("/api/v1/cases/{case}/decision"), removal())
        .await;
    let decision = decided["decision_id"].as_i64().unwrap();
    platform
        .wait_for("the actions", |a| {
            a.keys().filter(|k| k.starts_with("action-")).count() == 2
        })
        .await;

    let appeal = |who: &str, id: &str| {
        json!({"decision_id": decision, "appellant": who, "appellant_id": id,
               "statement": "It was a joke between friends.", "language": "en"})
    };
    // Only the affected account or a reporter of the case may appeal.
    let (status, problem) = d
        .post(
            "platform",
            "/api/v1/appeals",
            appeal("affected_user", "acct-999"),
        )
        .await;
    assert_eq!(
        (status, fields(&problem)),
        (
            StatusCode::UNPROCESSABLE_ENTITY,
            vec!["appellant_id".to_string()]
        )
    );
    let (_, problem) = d
        .post(
            "platform",
            "/api/v1/appeals",
            appeal("reporter", "someone-else"),
        )
        .await;
    assert_eq!(fields(&problem), ["appellant_id"]);
    assert_eq!(d.count("appeals").await, 0);

    let (status, filed) = d
        .post(
            "platform",
            "/api/v1/appeals",
            appeal("affected_user", "acct-500"),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{filed}");
    let appeal_id = filed["id"].as_i64().unwrap();
    let (status, _) = d
        .post(
            "platform",
            "/api/v1/appeals",
            appeal("affected_user", "acct-500"),
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT);
    let (_, reopened) = d.get("spec", &format!("/api/v1/cases/{case}")).await;
    assert_eq!(reopened["status"], "reopened");
    assert_eq!(reopened["queue"], "appeals");

    // The original decider never gets the appeal.
    let (status, none) = d
        .post("spec", "/api/v1/queues/appeals/claim", json!({}))
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{none}");
    let (status, claimed) = d
        .post("spec2", "/api/v1/queues/appeals/claim", json!({}))
        .await;
    assert_eq!(
        (status, claimed["id"].as_i64()),
        (StatusCode::OK, Some(case))
    );

    let decide = format!("/api/v1/appeals/{appeal_id}/decision");
    let (_, problem) = d
        .post(
            "spec2",
            &decide,
            json!({"outcome": "modified", "rationale": "r", "explanation": "e"}),
        )
        .await;
    assert_eq!(fields(&problem), ["decision"]);
    let (status, done) = d
        .post(
            "spec2",
            &decide,
            json!({"outcome": "overturned", "rationale": "Banter between friends, not a scam.",
                   "explanation": "On a second look the post was a joke between friends. We restored it and removed the strike."}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{done}");
    assert_eq!(done["appeal"]["outcome"], "overturned");
    assert_eq!(done["case"]["status"], "closed");

    platform
        .wait_for("the reversal of the removal", |a| {
            a.iter().any(|(k, v)| {
                k.starts_with("reversal-")
                    && v["action"]["kind"] == "remove"
                    && v["cause"] == "appeal_overturned"
            })
        })
        .await;
    let (_, standing) = d.get("spec", "/api/v1/accounts/acct-500/standing").await;
    assert_eq!(standing["active_points"], 0);
    let (_, d1) = d
        .get("spec", &format!("/api/v1/decisions/{decision}"))
        .await;
    assert_eq!(d1["state"], "overturned");
    let (_, record) = d
        .get("lead", &format!("/api/v1/cases/{case}/enforcement"))
        .await;
    let purposes: Vec<&str> = record["messages"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|m| m["recipient"] == "acct-500")
        .map(|m| m["purpose"].as_str().unwrap())
        .collect();
    assert_eq!(
        purposes,
        [
            "outcome_action_taken",
            "appeal_received",
            "appeal_overturned"
        ]
    );

    // Events tell the whole story and the case is still the fold of them.
    let events = warden::store::cases::events_for_case(&d.desk.db, case)
        .await
        .unwrap();
    let rebuilt = warden::domain::case::Case::replay(case, events.iter().map(|e| (e.at, &e.event)));
    assert_eq!(
        rebuilt,
        warden::store::cases::get_case(&d.desk.db, case)
            .await
            .unwrap()
    );
    assert!(events.iter().any(|e| matches!(
        e.event,
        warden::domain::events::CaseEvent::ActionReversed { .. }
    )));
}

#[tokio::test]
async fn appeals_out_of_time_or_on_nothing_are_refused() {
    let (d, _platform) = desk_with_platform().await;
    // A decision that restricts nothing cannot be appealed by the user; the reporter may.
    let case = claimed_case(&d, "spec", "p-600", "acct-600").await;
    let (_, decided) = d
        .post(
            "spec",
            &format!("/api/v1/cases/{case}/decision"),
            json!({"verdict": "not_violating", "rationale": "An ordinary sales post.", "actions": [{"kind": "no_action"}]}),
        )
        .await;
    let decision = decided["decision_id"].as_i64().unwrap();
    let (status, problem) = d
        .post(
            "platform",
            "/api/v1/appeals",
            json!({"decision_id": decision, "appellant": "affected_user", "appellant_id": "acct-600", "statement": "?"}),
        )
        .await;
    assert_eq!(
        (status, fields(&problem)),
        (
            StatusCode::UNPROCESSABLE_ENTITY,
            vec!["decision_id".to_string()]
        )
    );

    // Past the window (183 days after it was communicated) a restricting decision is final here.
    let case = claimed_case(&d, "spec", "p-601", "acct-601").await;
    let (_, decided) = d
        .post("spec", &format!("/api/v1/cases/{case}/decision"), removal())
        .await;
    let decision = decided["decision_id"].as_i64().unwrap();
    d.clock.advance(Duration::days(184));
    let (status, problem) = d
        .post(
            "platform",
            "/api/v1/appeals",
            json!({"decision_id": decision, "appellant": "affected_user", "appellant_id": "acct-601", "statement": "Please look again."}),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{problem}");
    assert!(
        problem["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("window closed")
    );
    let (status, _) = d
        .post(
            "spec",
            "/api/v1/appeals",
            json!({"decision_id": decision, "appellant": "affected_user", "appellant_id": "acct-601", "statement": "x"}),
        )
        .await;
    assert_eq!(
        status,
        StatusCode::FORBIDDEN,
        "appeals come through the platform's channel"
    );
    assert_eq!(d.count("appeals").await, 0);
}

#[tokio::test]
async fn time_limited_actions_reverse_themselves() {
    let (d, platform) = desk_with_platform().await;
    let case = claimed_case(&d, "spec", "p-700", "acct-700").await;
    let until = d.clock.now() + Duration::days(1);
    let mut body = removal();
    body["actions"] = json!([{"kind": "suspend_account", "until": until}]);
    let (status, decided) = d
        .post("spec", &format!("/api/v1/cases/{case}/decision"), body)
        .await;
    assert_eq!(status, StatusCode::CREATED, "{decided}");
    let decision = decided["decision_id"].as_i64().unwrap();
    let (_, statement) = d
        .get("spec", &format!("/api/v1/decisions/{decision}/statement"))
        .await;
    assert_eq!(statement["decision_account"], "DECISION_ACCOUNT_SUSPENDED");
    assert_eq!(
        statement["end_date_account_restriction"],
        until.format("%Y-%m-%d").to_string()
    );
    platform
        .wait_for("the suspension", |a| {
            a.keys().any(|k| k.starts_with("action-"))
        })
        .await;
    assert!(
        !platform
            .accepted()
            .keys()
            .any(|k| k.starts_with("reversal-"))
    );
    d.clock.advance(Duration::days(1) + Duration::minutes(1));
    platform
        .wait_for("the end of the suspension", |a| {
            a.iter()
                .any(|(k, v)| k.starts_with("reversal-") && v["cause"] == "expired")
        })
        .await;
    let (_, record) = d
        .get("spec", &format!("/api/v1/cases/{case}/enforcement"))
        .await;
    assert_eq!(record["actions"][0]["state"], "expired");
}

#[tokio::test]
async fn policies_are_versioned_and_decisions_keep_the_version_they_applied() {
    let (d, _platform) = desk_with_platform().await;
    let (status, current) = d.get("spec", "/api/v1/policies").await;
    assert_eq!(status, StatusCode::OK);
    let hate: Vec<&Value> = current
        .as_array()
        .unwrap()
        .iter()
        .filter(|p| p["id"] == "community.hate_speech")
        .collect();
    assert_eq!(hate.len(), 1, "only the version in effect");
    assert_eq!(hate[0]["version"], 3);
    let (_, versions) = d
        .get("spec", "/api/v1/policies/community.hate_speech")
        .await;
    assert_eq!(versions.as_array().unwrap().len(), 3);

    // Everything is new to a reviewer who never looked; after looking, only what changes after.
    let (_, changes) = d.get("spec", "/api/v1/policies/changes").await;
    assert!(changes["changed"].as_array().unwrap().len() > 30);
    d.post("spec", "/api/v1/policies/changes/seen", json!({}))
        .await;
    d.clock.advance(Duration::minutes(1));

    let case = claimed_case(&d, "spec", "p-800", "acct-800").await;
    let (_, decided) = d
        .post("spec", &format!("/api/v1/cases/{case}/decision"), removal())
        .await;
    let decision = decided["decision_id"].as_i64().unwrap();

    let mut next = versions[2].clone();
    next.as_object_mut().unwrap().remove("recorded_at");
    next["version"] = json!(5);
    assert_eq!(
        d.post("spec", "/api/v1/policies", next.clone()).await.0,
        StatusCode::FORBIDDEN
    );
    let (status, problem) = d.post("lead", "/api/v1/policies", next.clone()).await;
    assert_eq!(
        (status, fields(&problem)),
        (
            StatusCode::UNPROCESSABLE_ENTITY,
            vec!["version".to_string()]
        )
    );
    next["version"] = json!(4);
    next["allowed_actions"] = json!(["remove", "teleport"]);
    let (status, problem) = d.post("lead", "/api/v1/policies", next.clone()).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{problem}");
    assert!(
        fields(&problem)[0].starts_with("allowed_actions"),
        "{problem}"
    );
    next["allowed_actions"] = json!(["remove", "label", "no_action"]);
    next["text"] = json!(
        "Attacks on people for protected characteristics are not allowed. Now with examples."
    );
    let (status, added) = d.post("lead", "/api/v1/policies", next.clone()).await;
    assert_eq!(status, StatusCode::CREATED, "{added}");

    let (_, changes) = d.get("spec", "/api/v1/policies/changes").await;
    let changed: Vec<String> = changes["changed"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| format!("{}@{}", p["id"].as_str().unwrap(), p["version"]))
        .collect();
    assert_eq!(changed, ["community.hate_speech@4"]);
    let (_, d1) = d
        .get("spec", &format!("/api/v1/decisions/{decision}"))
        .await;
    assert_eq!(d1["policy"], "community.fraud_scams@1");

    // The registry exports as a policy book; re-importing it changes nothing, and a changed text
    // under an existing version is refused whole.
    let export = d
        .client
        .get(format!("{}/api/v1/policies/export", d.base))
        .bearer_auth(&d.tokens["lead"])
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(export.contains("version = 4"));
    let import = |body: String| {
        d.client
            .post(format!("{}/api/v1/policies/import", d.base))
            .bearer_auth(&d.tokens["lead"])
            .body(body)
            .send()
    };
    let (status, summary) = crate::harness::parse(import(export.clone()).await.unwrap()).await;
    assert_eq!(status, StatusCode::OK, "{summary}");
    assert_eq!(summary["added"], json!([]));
    let tampered = export.replacen("Now with examples.", "Changed silently.", 1);
    let (status, problem) = crate::harness::parse(import(tampered).await.unwrap()).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{problem}");
    assert!(fields(&problem)[0].ends_with(".version"), "{problem}");
    let (_, versions) = d
        .get("spec", "/api/v1/policies/community.hate_speech")
        .await;
    assert_eq!(versions[3]["text"], next["text"]);
}

async fn drain(w: &warden::enforcement::delivery::Deliverer) {
    for _ in 0..30 {
        w.deliver_due().await.unwrap();
    }
}

#[tokio::test]
async fn several_workers_on_one_database_deliver_each_row_once() {
    let (d, platform) = desk_with_platform().await;
    for i in 0..40 {
        d.report(report(
            &format!("p-9{i:02}"),
            &format!("u-{i}"),
            &format!("k-{i}"),
        ))
        .await;
    }
    // Three more workers beside the server's own, as if four servers shared the database.
    let workers: Vec<_> = (0..3)
        .map(|_| warden::enforcement::delivery::Deliverer::new(d.desk.clone()).unwrap())
        .collect();
    tokio::join!(drain(&workers[0]), drain(&workers[1]), drain(&workers[2]));
    platform
        .wait_for("all 40 acknowledgements", |a| a.len() == 40)
        .await;
    assert_eq!(platform.hits(), 40, "no row was sent twice");
    assert_eq!(d.count("outbox WHERE state = 'delivered'").await, 40);
}

#[tokio::test]
async fn a_reporter_appeals_no_action_and_the_appeal_modifies_the_decision() {
    let (d, platform) = desk_with_platform().await;
    let case = claimed_case(&d, "spec", "p-900", "acct-900").await;
    let (_, decided) = d
        .post(
            "spec",
            &format!("/api/v1/cases/{case}/decision"),
            json!({"verdict": "not_violating", "policy": "community.fraud_scams", "rationale": "Looks like a real shop.",
                   "actions": [{"kind": "no_action"}]}),
        )
        .await;
    let decision = decided["decision_id"].as_i64().unwrap();
    let (status, filed) = d
        .post(
            "platform",
            "/api/v1/appeals",
            json!({"decision_id": decision, "appellant": "reporter", "appellant_id": "reporter-p-900",
                   "statement": "I lost money to this wallet; please look again.", "language": "de"}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{filed}");
    let appeal = filed["id"].as_i64().unwrap();
    assert_eq!(
        d.post("spec2", "/api/v1/queues/appeals/claim", json!({}))
            .await
            .0,
        StatusCode::OK
    );
    let decide = format!("/api/v1/appeals/{appeal}/decision");
    let mut modified = json!({
        "outcome": "modified",
        "rationale": "The wallet matches a known scam campaign.",
        "explanation": "Wir haben den Beitrag erneut geprüft und entfernt.",
        "decision": {"verdict": "violating", "policy": "community.fraud_scams", "rationale": "Known campaign.",
                     "actions": [{"kind": "remove"}, {"kind": "demote"}]}
    });
    let (status, problem) = d.post("spec2", &decide, modified.clone()).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{problem}");
    assert_eq!(
        fields(&problem),
        ["decision.actions[1].kind", "decision.explanation"]
    );
    modified["decision"]["actions"] = json!([{"kind": "remove"}]);
    modified["decision"]["explanation"] =
        json!("The post sends people to a wallet used in a known investment scam.");
    let (status, done) = d.post("spec2", &decide, modified).await;
    assert_eq!(status, StatusCode::OK, "{done}");
    let new_decision = done["appeal"]["new_decision_id"].as_i64().unwrap();
    platform
        .wait_for("the removal under the new decision", |a| {
            a.values()
                .any(|v| v["topic"] == "action" && v["decision_id"] == new_decision)
        })
        .await;
    let (_, old) = d
        .get("spec", &format!("/api/v1/decisions/{decision}"))
        .await;
    assert_eq!(old["state"], "superseded");
    let (status, statement) = d
        .get(
            "spec",
            &format!("/api/v1/decisions/{new_decision}/statement"),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{statement}");
    let (_, record) = d
        .get("lead", &format!("/api/v1/cases/{case}/enforcement"))
        .await;
    let to_reporter: Vec<(&str, &str)> = record["messages"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|m| m["recipient"] == "reporter-p-900")
        .map(|m| {
            (
                m["purpose"].as_str().unwrap(),
                m["language"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        to_reporter,
        [
            ("acknowledgement", "fr"),
            ("outcome_no_action", "fr"),
            ("appeal_received", "de"),
            ("appeal_modified", "de")
        ]
    );
    assert!(
        record["messages"]
            .as_array()
            .unwrap()
            .iter()
            .any(|m| m["recipient"] == "acct-900" && m["purpose"] == "outcome_action_taken"),
        "the author learns of the new restriction"
    );
}

#[tokio::test]
async fn an_unreachable_platform_is_a_failed_try_with_a_reason() {
    let closed = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap()
    };
    let mut config = Config::default();
    config.delivery.endpoint = Some(format!("http://{closed}/hook"));
    config.delivery.timeout_seconds = 1;
    let (desk, _dir) = crate::harness::bare_desk_with(config).await;
    let now = desk.now();
    let mut tx = desk.db.begin().await.unwrap();
    warden::store::enforcement::enqueue(
        &mut tx,
        "message",
        None,
        "message-1",
        &json!({"x": 1}),
        now,
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();
    let worker = warden::enforcement::delivery::Deliverer::new(desk.clone()).unwrap();
    assert_eq!(worker.deliver_due().await.unwrap(), 1);
    let rows = warden::store::enforcement::list_deliveries(&desk.db, &[], None, None, 10)
        .await
        .unwrap();
    assert_eq!(
        rows[0].state,
        warden::store::enforcement::DeliveryState::Failed
    );
    assert_eq!(rows[0].attempts, 1);
    assert_eq!(
        rows[0].last_error.as_deref(),
        Some("cannot connect to the platform")
    );
    assert!(rows[0].next_attempt_at > now, "the retry waits its backoff");
    assert_eq!(worker.deliver_due().await.unwrap(), 0, "not due yet");
}

/// A child-safety case decided by its team's specialist, the decision held for a lead; returns
/// the case and decision ids.
async fn restricted_held_decision(d: &TestDesk) -> (i64, i64) {
    let mut r = report("ph-1", "reporter-ph-1", "ph-1");
    r["subject"]["kind"] = json!("photo");
    r["subject"]["snapshot"]["author_id"] = json!("acct-cs");
    r["reason"] = json!("child_safety.exploitation");
    let case = d.report(r).await["case_id"].as_i64().unwrap();
    let (status, _) = d
        .post("cs_spec", "/api/v1/queues/child_safety/claim", json!({}))
        .await;
    assert_eq!(status, StatusCode::OK);
    let (status, held) = d
        .post(
            "cs_spec",
            &format!("/api/v1/cases/{case}/decision"),
            json!({"verdict": "violating", "policy": "community.child_sexual_exploitation", "rationale": "Known material.",
                   "explanation": "The image breaks our policy on the sexual exploitation of children.",
                   "actions": [{"kind": "remove"}, {"kind": "strike"}]}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{held}");
    assert_eq!(held["decision"]["state"], "awaiting_approval");
    (case, held["decision_id"].as_i64().unwrap())
}

#[tokio::test]
async fn restricted_cases_need_a_lead_of_their_team_and_can_still_be_appealed() {
    let (d, platform) = desk_with_platform().await;
    let (_, decision) = restricted_held_decision(&d).await;
    let approve = format!("/api/v1/decisions/{decision}/approve");
    // A lead outside the team does not see the case at all.
    assert_eq!(
        d.post("lead", &approve, json!({})).await.0,
        StatusCode::NOT_FOUND
    );
    assert_eq!(d.get("lead", "/api/v1/approvals").await.1, json!([]));
    let (status, approved) = d.post("cs_lead", &approve, json!({})).await;
    assert_eq!(status, StatusCode::OK, "{approved}");
    platform
        .wait_for("the removal", |a| {
            a.values().any(|v| v["decision_id"] == decision)
        })
        .await;
    let (status, filed) = d
        .post(
            "platform",
            "/api/v1/appeals",
            json!({"decision_id": decision, "appellant": "affected_user", "appellant_id": "acct-cs", "statement": "Not me."}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{filed}");
    assert_eq!(
        d.get("spec", &format!("/api/v1/appeals/{}", filed["id"]))
            .await
            .0,
        StatusCode::NOT_FOUND,
        "the appeal is as restricted as its case"
    );
}

#[tokio::test]
async fn outside_its_team_a_restricted_case_has_no_deliveries_and_no_decision() {
    let (d, platform) = desk_with_platform().await;
    // The platform refuses everything, so each delivery stays failed until retried.
    platform.set(Mode::Fail);
    let open = claimed_case(&d, "spec", "p-950", "acct-950").await;
    let (status, decided) = d
        .post("spec", &format!("/api/v1/cases/{open}/decision"), removal())
        .await;
    assert_eq!(status, StatusCode::CREATED, "{decided}");
    let (case, decision) = restricted_held_decision(&d).await;
    let approve = format!("/api/v1/decisions/{decision}/approve");
    let reject = format!("/api/v1/decisions/{decision}/reject");
    let reason = json!({"reason": "Not for this team to say."});
    for who in ["lead", "admin"] {
        assert_eq!(
            d.post(who, &approve, json!({})).await.0,
            StatusCode::NOT_FOUND
        );
        assert_eq!(
            d.post(who, &reject, reason.clone()).await.0,
            StatusCode::NOT_FOUND
        );
    }
    let (status, approved) = d.post("cs_lead", &approve, json!({})).await;
    assert_eq!(status, StatusCode::OK, "{approved}");
    let failed = loop_until(&d, 100, || async {
        let (_, rows) = d
            .get(
                "cs_lead",
                &format!("/api/v1/deliveries?case_id={case}&state=failed"),
            )
            .await;
        rows.as_array().unwrap().first().cloned()
    })
    .await;
    let retry = format!("/api/v1/deliveries/{}/retry", failed["id"]);

    // Outside the team the case's deliveries, their messages and its decision are not found,
    // whatever state they are in; other cases' deliveries are listed as before.
    for who in ["lead", "admin"] {
        let (status, all) = d.get(who, "/api/v1/deliveries?limit=1000").await;
        assert_eq!(status, StatusCode::OK, "{all}");
        let all = all.as_array().unwrap();
        assert!(all.iter().any(|x| x["case_id"] == open), "{who}: {all:?}");
        assert!(all.iter().all(|x| x["case_id"] != case), "{who}: {all:?}");
        assert_eq!(
            d.get(who, &format!("/api/v1/deliveries?case_id={case}"))
                .await
                .1,
            json!([]),
            "{who}"
        );
        assert_eq!(
            d.post(who, &retry, json!({})).await.0,
            StatusCode::NOT_FOUND,
            "{who}"
        );
        assert_eq!(
            d.post(who, &approve, json!({})).await.0,
            StatusCode::NOT_FOUND,
            "{who}"
        );
        assert_eq!(
            d.post(who, &reject, reason.clone()).await.0,
            StatusCode::NOT_FOUND,
            "{who}"
        );
    }
    assert_eq!(
        d.post("lead", "/api/v1/deliveries/999999/retry", json!({}))
            .await
            .0,
        StatusCode::NOT_FOUND,
        "the same answer as for an unknown delivery"
    );

    // The team's lead sees them, retries the failed one (which the refused retries left failed)
    // and finds the decision already approved.
    let (_, mine) = d
        .get("cs_lead", &format!("/api/v1/deliveries?case_id={case}"))
        .await;
    assert!(!mine.as_array().unwrap().is_empty());
    let (status, again) = d.post("cs_lead", &retry, json!({})).await;
    assert_eq!(status, StatusCode::OK, "{again}");
    assert_eq!(
        d.post("cs_lead", &approve, json!({})).await.0,
        StatusCode::CONFLICT
    );
}
