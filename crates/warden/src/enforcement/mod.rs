//! Enforcement: a decision's actions, checked against the policy it applies, held for a lead
//! where the two-person rule says so, then put into effect: delivered to the platform through the
//! outbox, strikes recorded, the statement of reasons issued and the people involved told.
//! Time-limited actions reverse themselves when they end.

pub mod delivery;
pub mod signature;
pub mod statement;

use chrono::{DateTime, Duration, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use sqlx::AnyConnection;
use utoipa::ToSchema;

use crate::access::{Actor, Permission};
use crate::desk::Desk;
use crate::domain::case::{Case, DecisionDraft};
use crate::domain::enforcement::{
    self as rules, ActionKind, ActionSpec, Penalty, Standing, Target, approval_reasons,
};
use crate::domain::events::{CaseEvent, ReversalCause, Verdict};
use crate::domain::policy::{Policy, PolicyRef};
use crate::domain::reply::{Audience, Purpose, audience_for};
use crate::domain::report::{NewReport, Source};
use crate::domain::validate::Checker;
use crate::error::{Error, Result};
use crate::replies::{self, Outgoing, Redress};
use crate::review::lock_visible;
use crate::store::cases::{self, ReportRow, Who};
use crate::store::enforcement::{
    self as store, ActionRecord, ActionState, DecisionRecord, DecisionState, NewDecision,
};
use statement::{StatementFacts, statement_of_reasons};

#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DecisionInput {
    pub verdict: Verdict,
    /// The policy applied: `id` (the version in effect today) or `id@version`. Required for a
    /// violating verdict.
    #[serde(default)]
    pub policy: Option<String>,
    /// Why, for reviewers and auditors: internal, never sent out.
    pub rationale: String,
    /// The facts and reasons as told to the people affected and published in the statement of
    /// reasons. Required when the actions restrict anything; must not contain personal data.
    #[serde(default)]
    pub explanation: Option<String>,
    /// Enforcement actions; each must be allowed by the policy.
    #[serde(default)]
    pub actions: Vec<ActionSpec>,
}

/// The account a case's actions act on: the subject itself, or the content's author.
pub fn account_of(case: &Case) -> Option<&str> {
    match case.subject_kind {
        crate::domain::subject::SubjectKind::Account => Some(case.external_id.as_str()),
        _ => case.snapshot.author_id.as_deref(),
    }
}

/// Every version of a policy, oldest first.
pub async fn policy_versions(desk: &Desk, id: &str) -> Result<Vec<Policy>> {
    Ok(store::policy_versions(&desk.db, id)
        .await?
        .into_iter()
        .map(|r| r.policy)
        .collect())
}

/// The policy a reference names: the exact version, or the one in effect on `day`.
pub async fn resolve_policy(desk: &Desk, reference: &str, day: NaiveDate) -> Result<Policy> {
    let r = PolicyRef::parse(reference)
        .ok_or_else(|| Error::field("policy", "must be a policy id, optionally with @version"))?;
    let versions = policy_versions(desk, &r.id).await?;
    let found = match r.version {
        Some(v) => versions.into_iter().find(|p| p.version == v),
        None => crate::domain::policy::in_effect(&versions, day).cloned(),
    };
    found.ok_or_else(|| match r.version {
        Some(_) => Error::field("policy", "no such policy version"),
        None => Error::field("policy", "no version of this policy is in effect"),
    })
}

/// Checks a decision against the case and its policy; names every problem.
fn check_decision(
    input: &DecisionInput,
    policy: Option<&Policy>,
    case: &Case,
    now: DateTime<Utc>,
) -> Result<()> {
    let mut c = Checker::new();
    c.required_text("rationale", &input.rationale, 10_000);
    let only_no_action = input.actions.iter().all(|a| a.kind == ActionKind::NoAction);
    match input.verdict {
        Verdict::Violating => {
            if policy.is_none() {
                c.fail("policy", "a violating verdict names the policy it applies");
            }
            if input.actions.is_empty() {
                c.fail(
                    "actions",
                    "a violating verdict needs at least one action (no_action is allowed)",
                );
            }
        }
        _ if !only_no_action => c.fail(
            "actions",
            "only a violating verdict can carry enforcement actions",
        ),
        _ => {}
    }
    if let Some(p) = policy {
        rules::check_actions(
            &mut c,
            p,
            &input.actions,
            &Target {
                subject_kind: case.subject_kind,
                account_id: account_of(case),
            },
            now,
        );
    }
    match &input.explanation {
        Some(e) => c.required_text("explanation", e, 2000),
        None if rules::restricts(&input.actions) => c.fail(
            "explanation",
            "is required when the decision restricts something: it is what the user is told",
        ),
        None => {}
    }
    c.finish()
}

fn verdict_str(v: Verdict) -> Result<String> {
    Ok(serde_json::to_value(v)?
        .as_str()
        .unwrap_or_default()
        .to_string())
}

/// Records a decision on a case the actor holds. Its actions take effect at once, or wait for a
/// lead when the two-person rule applies.
pub async fn decide(
    desk: &Desk,
    actor: &Actor,
    case_id: i64,
    input: &DecisionInput,
) -> Result<(DecisionRecord, Case)> {
    actor.require(Permission::WorkCases)?;
    let today = desk.now().date_naive();
    let policy = match &input.policy {
        Some(r) => Some(resolve_policy(desk, r, today).await?),
        None => None,
    };
    let reports = cases::reports_for_case(&desk.db, case_id).await?;
    let now = desk.now();
    let (mut tx, mut case) = lock_visible(desk, actor, case_id).await?;
    actor.check_may_work(&case, now)?;
    check_decision(input, policy.as_ref(), &case, now)?;

    let risk_flags = case.triage_input().risk_flags;
    let reasons = approval_reasons(
        &desk.config.approval,
        &input.actions,
        &risk_flags,
        case.restricted_team.is_some(),
    );
    let awaiting = !reasons.is_empty();
    let policy_area = policy
        .as_ref()
        .and_then(|p| p.area.clone())
        .unwrap_or_else(|| case.policy_area.clone());
    let policy_ref = policy.as_ref().map(|p| p.reference().to_string());
    let verdict = verdict_str(input.verdict)?;
    let decision_id = store::insert_decision(
        &mut tx,
        NewDecision {
            case_id,
            verdict: &verdict,
            policy_area: &policy_area,
            policy: policy_ref.as_deref(),
            rationale: &input.rationale,
            explanation: input.explanation.as_deref(),
            actions: &input.actions,
            decided_by: actor.user_id,
            decided_at: now,
            state: if awaiting {
                DecisionState::AwaitingApproval
            } else {
                DecisionState::Effective
            },
            approval_reasons: &reasons,
            restricts: rules::restricts(&input.actions),
            account_id: account_of(&case),
            automated: false,
        },
    )
    .await?;
    for a in input.actions.iter().filter(|a| a.kind.is_delivered()) {
        let state = if awaiting {
            ActionState::Held
        } else {
            ActionState::Active
        };
        store::insert_action(&mut tx, decision_id, case_id, a, state, now).await?;
    }
    let events = case.decide(
        DecisionDraft {
            decision_id,
            verdict: input.verdict,
            policy_area,
            policy: policy_ref,
            rationale: input.rationale.clone(),
            actions: input.actions.clone(),
        },
        awaiting,
    )?;
    let who = Who::user(actor);
    cases::append(&mut tx, &mut case, events, who, None, now).await?;
    let decision = store::read_decision(&mut tx, decision_id)
        .await?
        .ok_or_else(|| Error::Internal("a decision vanished".into()))?;
    if !awaiting {
        let events = take_effect(
            &mut tx,
            desk,
            &case,
            &decision,
            policy.as_ref(),
            &reports,
            now,
            Notify::Everyone,
        )
        .await?;
        cases::append(&mut tx, &mut case, events, who, None, now).await?;
    }
    cases::save_case(&mut tx, &case, now).await?;
    tx.commit().await?;
    metrics::counter!("warden_decisions_total", "awaiting_approval" => awaiting.to_string())
        .increment(1);
    let decision = store::get_decision(&desk.db, decision_id)
        .await?
        .ok_or(Error::NotFound("decision"))?;
    Ok((decision, case))
}

/// A violating decision under a policy that banks confirmed media: the case's media hashes go
/// into that policy's banks, with the decision as their provenance. Featureless media stays out.
async fn bank_case_media(
    conn: &mut AnyConnection,
    case_id: i64,
    decision_id: i64,
    policy_id: &str,
    now: DateTime<Utc>,
) -> Result<()> {
    let hashes: Vec<crate::matching::ListedHash> =
        crate::store::banks::case_media_hashes(conn, case_id)
            .await?
            .into_iter()
            .filter(|(_, q)| q.is_none_or(|q| q >= crate::matching::MIN_QUALITY))
            .filter_map(|(hex, quality)| {
                Some(crate::matching::ListedHash {
                    hash: hex.parse().ok()?,
                    quality,
                    note: None,
                })
            })
            .collect();
    if hashes.is_empty() {
        return Ok(());
    }
    let from = crate::store::banks::Provenance {
        decision_id: Some(decision_id),
        case_id: Some(case_id),
        ..Default::default()
    };
    for bank_id in crate::store::banks::banks_for_policy(conn, policy_id).await? {
        let origin = crate::matching::Origin::Decision;
        crate::store::banks::add_entries(conn, bank_id, &hashes, origin, &from, now).await?;
    }
    Ok(())
}

/// What an automatic decision acts on: the bank entry the media matched.
pub struct Automatic<'a> {
    pub bank: &'a str,
    pub entry_id: i64,
    pub distance: u32,
}

/// The desk's own decision on a case waiting for a reviewer, inside the caller's transaction: the
/// bank's action under the bank's policy, effective at once, its statement of reasons marked
/// fully automated. Nothing is decided (and `None` returned) when the policy no longer allows
/// the action on this subject; the case then waits for a reviewer with its match recorded.
#[allow(clippy::too_many_arguments)]
pub async fn decide_automatically(
    conn: &mut AnyConnection,
    desk: &Desk,
    case: &mut Case,
    policy: &Policy,
    action: ActionKind,
    why: &Automatic<'_>,
    reports: &[ReportRow],
    now: DateTime<Utc>,
) -> Result<Option<i64>> {
    let actions = vec![ActionSpec::new(action)];
    let mut c = Checker::new();
    rules::check_actions(
        &mut c,
        policy,
        &actions,
        &Target {
            subject_kind: case.subject_kind,
            account_id: account_of(case),
        },
        now,
    );
    if !c.errors.is_empty() {
        tracing::warn!(case = case.id, bank = why.bank, problems = ?c.errors,
            "a bank's automatic action does not apply; the case waits for a reviewer");
        return Ok(None);
    }
    let policy_area = policy
        .area
        .clone()
        .unwrap_or_else(|| case.policy_area.clone());
    let policy_ref = policy.reference().to_string();
    let rationale = format!(
        "Automatic action of the bank \"{}\": the media is {} bits from its entry {}.",
        why.bank, why.distance, why.entry_id
    );
    let explanation = format!(
        "The content contains an image that matches media already confirmed as violating our \
         policy \"{}\".",
        policy.title
    );
    let restricts = rules::restricts(&actions);
    let decision_id = store::insert_decision(
        conn,
        NewDecision {
            case_id: case.id,
            verdict: &verdict_str(Verdict::Violating)?,
            policy_area: &policy_area,
            policy: Some(&policy_ref),
            rationale: &rationale,
            explanation: Some(&explanation),
            actions: &actions,
            decided_by: 0,
            decided_at: now,
            state: DecisionState::Effective,
            approval_reasons: &[],
            restricts,
            account_id: account_of(case),
            automated: true,
        },
    )
    .await?;
    for a in actions.iter().filter(|a| a.kind.is_delivered()) {
        store::insert_action(conn, decision_id, case.id, a, ActionState::Active, now).await?;
    }
    let events = case.decide_automatically(DecisionDraft {
        decision_id,
        verdict: Verdict::Violating,
        policy_area,
        policy: Some(policy_ref),
        rationale,
        actions,
    })?;
    let reason = Some("automatic action on known media");
    cases::append(conn, case, events, Who::SYSTEM, reason, now).await?;
    let decision = store::read_decision(conn, decision_id)
        .await?
        .ok_or_else(|| Error::Internal("a decision vanished".into()))?;
    let events = take_effect(
        conn,
        desk,
        case,
        &decision,
        Some(policy),
        reports,
        now,
        Notify::Everyone,
    )
    .await?;
    cases::append(conn, case, events, Who::SYSTEM, reason, now).await?;
    metrics::counter!("warden_automatic_decisions_total").increment(1);
    Ok(Some(decision_id))
}

/// Who hears about a decision taking effect.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Notify {
    /// The affected user and every reporter.
    Everyone,
    /// Only the affected user (an appeal replaced the decision; reporters hear of the appeal).
    AffectedUser,
    Nobody,
}

fn action_payload(
    topic: &str,
    a: &ActionRecord,
    case: &Case,
    decision: &DecisionRecord,
    cause: Option<ReversalCause>,
    now: DateTime<Utc>,
) -> serde_json::Value {
    serde_json::json!({
        "topic": topic,
        "action_id": a.id,
        "decision_id": a.decision_id,
        "case_id": case.id,
        "subject": { "kind": case.subject_kind, "external_id": case.external_id },
        "account_id": account_of(case),
        "action": a.spec,
        "policy": decision.policy,
        "cause": cause,
        "at": now,
    })
}

/// One reporter of a case, with the report that first brought them.
struct CaseReporter {
    report_id: i64,
    source: Source,
    id: String,
    language: Option<String>,
}

/// Distinct reporters of a case, and the sources of all its reports.
fn reporters(reports: &[ReportRow]) -> (Vec<CaseReporter>, Vec<Source>) {
    let mut seen = std::collections::BTreeSet::new();
    let mut out = Vec::new();
    let mut sources = Vec::new();
    for r in reports {
        let Ok(report) = serde_json::from_str::<NewReport>(&r.body) else {
            continue;
        };
        sources.push(report.source);
        if seen.insert((report.source.as_str(), report.reporter.id.clone())) {
            out.push(CaseReporter {
                report_id: r.id,
                source: report.source,
                id: report.reporter.id,
                language: report.reporter.language,
            });
        }
    }
    (out, sources)
}

/// Puts a decision into effect inside the caller's transaction: actions become active and are
/// queued for delivery, strikes are recorded, the statement of reasons is issued and the people
/// involved are told. Returns the events to record on the case.
#[allow(clippy::too_many_arguments)]
pub async fn take_effect(
    conn: &mut AnyConnection,
    desk: &Desk,
    case: &Case,
    decision: &DecisionRecord,
    policy: Option<&Policy>,
    reports: &[ReportRow],
    now: DateTime<Utc>,
    notify: Notify,
) -> Result<Vec<CaseEvent>> {
    // The caller has made the decision effective: inserted so, or approved.
    for a in store::actions_for_decision(conn, decision.id).await? {
        if a.state == ActionState::Held {
            store::set_action_state(conn, a.id, ActionState::Active, None).await?;
        }
        if matches!(a.state, ActionState::Held | ActionState::Active) {
            let payload = action_payload("action", &a, case, decision, None, now);
            store::enqueue(
                conn,
                "action",
                Some(case.id),
                &format!("action-{}", a.id),
                &payload,
                now,
            )
            .await?;
        }
    }
    let account = account_of(case);
    if let (Some(p), Some(account)) = (policy, account)
        && decision
            .actions
            .iter()
            .any(|a| a.kind == ActionKind::Strike)
    {
        store::insert_strike(
            conn,
            account,
            decision.id,
            &p.reference().to_string(),
            p.strike_weight,
            now,
            now + desk.config.strikes.expiry(),
        )
        .await?;
    }
    let (reporters, sources) = reporters(reports);
    let mut scope = String::from("all countries");
    if let (Some(p), true) = (policy, decision.restricts) {
        let facts = StatementFacts {
            puid: format!(
                "{}-decision-{}",
                desk.config.statements.puid_prefix, decision.id
            ),
            policy: p,
            actions: &decision.actions,
            explanation: decision.explanation.as_deref().unwrap_or_default(),
            subject_kind: case.subject_kind,
            content_language: case
                .snapshot
                .language
                .as_deref()
                .or(case.language.as_deref()),
            content_date: case.opened_at.date_naive(),
            applied_at: now,
            sources: &sources,
            detected_automatically: !case.triage_input().known_media.is_empty(),
            decided_automatically: decision.automated,
        };
        if let Some(s) = statement_of_reasons(&facts) {
            s.validate().map_err(|violations| {
                Error::Invalid(
                    violations
                        .into_iter()
                        .map(|v| crate::FieldError::new(format!("statement.{}", v.field), v.reason))
                        .collect(),
                )
            })?;
            if let Some(geo) = decision
                .actions
                .iter()
                .find(|a| a.kind == ActionKind::GeoBlock)
            {
                scope = geo.countries.join(", ");
            }
            store::insert_statement(conn, decision.id, &s, now).await?;
        }
    }
    if let Some(p) = policy
        && p.bank_confirmed_media
        && decision.verdict == "violating"
        && !decision.automated
    {
        bank_case_media(conn, case.id, decision.id, &p.id, now).await?;
    }
    if notify == Notify::Nobody {
        return Ok(Vec::new());
    }
    let mut values = outcome_values(
        case,
        policy,
        &decision.actions,
        decision.explanation.as_deref().unwrap_or_default(),
        scope,
        now,
    );
    let appealable_until = (now + Duration::days(desk.config.appeals.window_days)).date_naive();
    let language = case
        .snapshot
        .language
        .as_deref()
        .or(case.language.as_deref());
    let mut events = Vec::new();
    if decision.restricts
        && let Some(account) = account
    {
        events.extend(
            replies::queue(
                conn,
                desk,
                case,
                Outgoing {
                    purpose: Purpose::OutcomeActionTaken,
                    audience: Audience::AffectedUser,
                    recipient: account,
                    language,
                    decision_id: Some(decision.id),
                    appeal_id: None,
                    report_id: None,
                    redress: Redress::Appeal(appealable_until),
                    actions: &decision.actions,
                },
                &values,
                now,
            )
            .await?,
        );
    }
    if notify == Notify::Everyone {
        let purpose = if decision.restricts {
            Purpose::OutcomeActionTaken
        } else {
            Purpose::OutcomeNoAction
        };
        for r in &reporters {
            let Some(audience) = audience_for(r.source) else {
                continue;
            };
            values.insert("report_ref", format!("R-{}", r.report_id));
            events.extend(
                replies::queue(
                    conn,
                    desk,
                    case,
                    Outgoing {
                        purpose,
                        audience,
                        recipient: &r.id,
                        language: r.language.as_deref().or(language),
                        decision_id: Some(decision.id),
                        appeal_id: None,
                        report_id: Some(r.report_id),
                        redress: if audience == Audience::Reporter {
                            Redress::Appeal(appealable_until)
                        } else {
                            Redress::None
                        },
                        actions: &decision.actions,
                    },
                    &values,
                    now,
                )
                .await?,
            );
        }
    }
    Ok(events)
}

/// What outcome messages say about a decision: the policy, the actions, where, and why.
pub fn outcome_values(
    case: &Case,
    policy: Option<&Policy>,
    actions: &[ActionSpec],
    explanation: &str,
    territorial_scope: String,
    now: DateTime<Utc>,
) -> std::collections::BTreeMap<&'static str, String> {
    let mut values = replies::case_values(case);
    values.insert(
        "policy_title",
        policy.map(|p| p.title.clone()).unwrap_or_default(),
    );
    values.insert(
        "policy_ref",
        policy
            .map(|p| p.reference().to_string())
            .unwrap_or_default(),
    );
    values.insert(
        "actions",
        actions
            .iter()
            .map(ActionSpec::describe)
            .collect::<Vec<_>>()
            .join("; "),
    );
    values.insert("territorial_scope", territorial_scope);
    values.insert("explanation", explanation.to_string());
    values.insert("decision_date", now.format("%Y-%m-%d").to_string());
    values
}

/// Takes back a decision's actions (all but those in `keep`) through the outbox; held actions that
/// never took effect are cancelled. Returns the events to record.
pub async fn reverse_actions(
    conn: &mut AnyConnection,
    case: &Case,
    decision: &DecisionRecord,
    cause: ReversalCause,
    keep: &[ActionSpec],
    now: DateTime<Utc>,
) -> Result<Vec<CaseEvent>> {
    let mut events = Vec::new();
    for a in store::actions_for_decision(conn, decision.id).await? {
        match a.state {
            ActionState::Active if !keep.contains(&a.spec) => {
                events.push(
                    reverse_one(conn, case, decision, &a, ActionState::Reversed, cause, now)
                        .await?,
                );
            }
            ActionState::Held => {
                store::set_action_state(conn, a.id, ActionState::Cancelled, Some(now)).await?;
            }
            _ => {}
        }
    }
    Ok(events)
}

/// Ends one active action (`Expired` or `Reversed`), queues its reversal for the platform and
/// returns the event to record.
async fn reverse_one(
    conn: &mut AnyConnection,
    case: &Case,
    decision: &DecisionRecord,
    a: &ActionRecord,
    end: ActionState,
    cause: ReversalCause,
    now: DateTime<Utc>,
) -> Result<CaseEvent> {
    store::set_action_state(conn, a.id, end, Some(now)).await?;
    let payload = action_payload("reversal", a, case, decision, Some(cause), now);
    store::enqueue(
        conn,
        "reversal",
        Some(case.id),
        &format!("reversal-{}", a.id),
        &payload,
        now,
    )
    .await?;
    Ok(CaseEvent::ActionReversed {
        action_id: a.id,
        action: a.spec.kind,
        cause,
    })
}

/// A decision the actor may read. One on a case they may not see is "not found", as an unknown
/// id is.
pub async fn visible_decision(desk: &Desk, actor: &Actor, id: i64) -> Result<DecisionRecord> {
    actor.require(Permission::ReadCases)?;
    let d = store::get_decision(&desk.db, id)
        .await?
        .ok_or(Error::NotFound("decision"))?;
    let case = cases::get_case(&desk.db, d.case_id)
        .await?
        .ok_or(Error::NotFound("decision"))?;
    actor
        .may_see(&case)
        .then_some(d)
        .ok_or(Error::NotFound("decision"))
}

async fn decision_for_lead(desk: &Desk, actor: &Actor, decision_id: i64) -> Result<DecisionRecord> {
    actor.require(Permission::ApproveDecisions)?;
    // Visibility before the decision's state or decider, so neither answer reveals that a
    // decision exists on a case the lead may not see.
    let d = visible_decision(desk, actor, decision_id).await?;
    if d.state != DecisionState::AwaitingApproval {
        return Err(Error::Conflict(
            "this decision is not waiting for approval".into(),
        ));
    }
    if d.decided_by == actor.user_id {
        return Err(Error::Forbidden(
            "the two-person rule: the approver cannot be the decider".into(),
        ));
    }
    Ok(d)
}

/// A lead approves a held decision: its actions take effect and the case closes.
pub async fn approve(
    desk: &Desk,
    actor: &Actor,
    decision_id: i64,
) -> Result<(DecisionRecord, Case)> {
    let d = decision_for_lead(desk, actor, decision_id).await?;
    let policy = match &d.policy {
        Some(r) => Some(resolve_policy(desk, r, desk.now().date_naive()).await?),
        None => None,
    };
    let reports = cases::reports_for_case(&desk.db, d.case_id).await?;
    let now = desk.now();
    let (mut tx, mut case) = lock_visible(desk, actor, d.case_id).await?;
    let events = case.approve(decision_id)?;
    let who = Who::user(actor);
    cases::append(&mut tx, &mut case, events, who, None, now).await?;
    store::set_decision_state(
        &mut tx,
        decision_id,
        DecisionState::Effective,
        Some(actor.user_id),
        Some(now),
    )
    .await?;
    let events = take_effect(
        &mut tx,
        desk,
        &case,
        &d,
        policy.as_ref(),
        &reports,
        now,
        Notify::Everyone,
    )
    .await?;
    cases::append(&mut tx, &mut case, events, who, None, now).await?;
    cases::save_case(&mut tx, &case, now).await?;
    tx.commit().await?;
    let d = store::get_decision(&desk.db, decision_id)
        .await?
        .ok_or(Error::NotFound("decision"))?;
    Ok((d, case))
}

/// A lead sends a held decision back to its decider, with the reason; nothing is delivered.
pub async fn reject(
    desk: &Desk,
    actor: &Actor,
    decision_id: i64,
    reason: &str,
) -> Result<(DecisionRecord, Case)> {
    let mut c = Checker::new();
    c.required_text("reason", reason, 2000);
    c.finish()?;
    let d = decision_for_lead(desk, actor, decision_id).await?;
    let now = desk.now();
    let (mut tx, mut case) = lock_visible(desk, actor, d.case_id).await?;
    let events = case.reject(decision_id, d.decided_by, now + desk.config.lease())?;
    cases::append(
        &mut tx,
        &mut case,
        events,
        Who::user(actor),
        Some(reason),
        now,
    )
    .await?;
    store::set_decision_state(&mut tx, decision_id, DecisionState::Rejected, None, None).await?;
    for a in store::actions_for_decision(&mut tx, decision_id).await? {
        store::set_action_state(&mut tx, a.id, ActionState::Cancelled, Some(now)).await?;
    }
    cases::save_case(&mut tx, &case, now).await?;
    tx.commit().await?;
    let d = store::get_decision(&desk.db, decision_id)
        .await?
        .ok_or(Error::NotFound("decision"))?;
    Ok((d, case))
}

/// Reverses every active action whose end date has passed. Returns how many were reversed.
pub async fn expire_actions(desk: &Desk) -> Result<usize> {
    let now = desk.now();
    let mut reversed = 0;
    for case_id in store::cases_with_expired_actions(&desk.db, now, 200).await? {
        let mut tx = desk.db.begin().await?;
        let Some(mut case) = cases::lock_case(&desk.db, &mut tx, case_id).await? else {
            continue;
        };
        let mut events = Vec::new();
        let actions = store::actions_of_case(&mut tx, case_id).await?;
        for a in actions {
            if a.state != ActionState::Active || a.spec.until.is_none_or(|u| u > now) {
                continue;
            }
            let Some(decision) = store::read_decision(&mut tx, a.decision_id).await? else {
                continue;
            };
            events.push(
                reverse_one(
                    &mut tx,
                    &case,
                    &decision,
                    &a,
                    ActionState::Expired,
                    ReversalCause::Expired,
                    now,
                )
                .await?,
            );
        }
        reversed += events.len();
        cases::record(&mut tx, &mut case, events, Who::SYSTEM, None, now).await?;
        tx.commit().await?;
    }
    if reversed > 0 {
        metrics::counter!("warden_actions_expired_total").increment(reversed as u64);
    }
    Ok(reversed)
}

/// What the decision form shows: the policies that fit the case and the account's standing.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct DecisionForm {
    pub case_id: i64,
    pub policy_area: String,
    /// The account the decision would act on.
    pub account_id: Option<String>,
    pub standing: Option<Standing>,
    /// Policies in effect today, those covering the case's policy area first.
    pub policies: Vec<PolicyChoice>,
    /// Actions that wait for a lead's approval on this case.
    pub approval_needed_for: Vec<ActionKind>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct PolicyChoice {
    /// `id@version`.
    pub policy: String,
    pub title: String,
    pub covers_case_area: bool,
    pub allowed_actions: Vec<ActionKind>,
    pub strike_weight: i64,
    /// The penalty the strike thresholds suggest if this policy's strike is added.
    pub penalty_if_struck: Option<Penalty>,
}

pub async fn decision_form(desk: &Desk, actor: &Actor, case_id: i64) -> Result<DecisionForm> {
    actor.require(Permission::ReadCases)?;
    let case = cases::get_case(&desk.db, case_id)
        .await?
        .ok_or(Error::NotFound("case"))?;
    actor.check_visible(&case)?;
    let now = desk.now();
    let account = account_of(&case).map(str::to_string);
    let strikes = match &account {
        Some(a) => store::strikes_for_account(&desk.db, a).await?,
        None => Vec::new(),
    };
    let account_for_standing = account.clone();
    let standing_with = |adding: i64| {
        account_for_standing
            .as_ref()
            .map(|a| rules::standing(&desk.config.strikes, a, &strikes, adding, now))
    };
    let mut by_id: std::collections::BTreeMap<String, Vec<Policy>> = Default::default();
    for r in store::all_policies(&desk.db).await? {
        by_id.entry(r.policy.id.clone()).or_default().push(r.policy);
    }
    let mut policies: Vec<PolicyChoice> = by_id
        .values()
        .filter_map(|v| crate::domain::policy::in_effect(v, now.date_naive()))
        .map(|p| PolicyChoice {
            policy: p.reference().to_string(),
            title: p.title.clone(),
            covers_case_area: p.area.as_deref() == Some(case.policy_area.as_str()),
            allowed_actions: p.allowed_actions.iter().copied().collect(),
            strike_weight: p.strike_weight,
            penalty_if_struck: p
                .allowed_actions
                .contains(&ActionKind::Strike)
                .then(|| standing_with(p.strike_weight).map(|s| s.suggested_penalty))
                .flatten(),
        })
        .collect();
    policies.sort_by_key(|p| !p.covers_case_area);
    let flags = case.triage_input().risk_flags;
    let approval_needed_for = ActionKind::ALL
        .into_iter()
        .filter(|k| {
            !approval_reasons(
                &desk.config.approval,
                &[ActionSpec::new(*k)],
                &flags,
                case.restricted_team.is_some(),
            )
            .is_empty()
        })
        .collect();
    Ok(DecisionForm {
        case_id,
        policy_area: case.policy_area.clone(),
        account_id: account,
        standing: standing_with(0),
        policies,
        approval_needed_for,
    })
}
