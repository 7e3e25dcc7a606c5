//! Appeals (DSA Art. 20): the affected user or a reporter asks for a decision to be looked at
//! again, within the window after it was communicated. The case reopens into the appeals queue
//! with its own SLA, for someone other than the original decider. Overturning reverses the
//! actions through the outbox and removes the strikes; modifying replaces the decision.

use chrono::Duration;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::access::{Actor, Permission};
use crate::desk::Desk;
use crate::domain::case::Case;
use crate::domain::enforcement as rules;
use crate::domain::events::{AppealOutcome, ReversalCause, Verdict};
use crate::domain::reply::{Audience, Purpose};
use crate::domain::report::NewReport;
use crate::domain::validate::Checker;
use crate::enforcement::{self, DecisionInput, Notify, account_of, resolve_policy};
use crate::error::{Error, Result};
use crate::replies::{self, Outgoing, Redress};
use crate::review::lock_visible;
use crate::store::cases::{self, Who};
use crate::store::enforcement::{
    self as store, ActionState, AppealDecision, AppealRecord, DecisionState, NewAppeal, NewDecision,
};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Appellant {
    AffectedUser,
    Reporter,
}

impl Appellant {
    fn audience(self) -> Audience {
        match self {
            Self::AffectedUser => Audience::AffectedUser,
            Self::Reporter => Audience::Reporter,
        }
    }
}

#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AppealInput {
    pub decision_id: i64,
    pub appellant: Appellant,
    /// The platform's id of the appellant: the affected account, or the reporter's id.
    pub appellant_id: String,
    /// Why the appellant thinks the decision is wrong.
    pub statement: String,
    /// ISO 639-1 language for replies.
    #[serde(default)]
    pub language: Option<String>,
}

/// Files an appeal through the platform's channel.
pub async fn file(desk: &Desk, actor: &Actor, input: &AppealInput) -> Result<AppealRecord> {
    actor.require(Permission::FileAppeals)?;
    let mut c = Checker::new();
    c.slug("appellant_id", &input.appellant_id, 200);
    c.required_text("statement", &input.statement, 5000);
    if let Some(l) = &input.language {
        c.language("language", l);
    }
    c.finish()?;
    let decision = store::get_decision(&desk.db, input.decision_id)
        .await?
        .ok_or_else(|| Error::field("decision_id", "no such decision"))?;
    let now = desk.now();
    let mut c = Checker::new();
    match (decision.state, decision.effective_at) {
        (DecisionState::Effective, Some(at)) => {
            let closes = at + Duration::days(desk.config.appeals.window_days);
            if now > closes {
                c.fail(
                    "decision_id",
                    format!(
                        "the appeal window closed on {} ({} days after the decision was communicated)",
                        closes.format("%Y-%m-%d"),
                        desk.config.appeals.window_days
                    ),
                );
            }
        }
        _ => c.fail("decision_id", "the decision is not in effect"),
    }
    let reports = cases::reports_for_case(&desk.db, decision.case_id).await?;
    match input.appellant {
        Appellant::AffectedUser => {
            if !decision.restricts {
                c.fail(
                    "decision_id",
                    "the decision restricts nothing, so there is nothing for the user to appeal",
                );
            }
            if decision
                .account_id
                .as_deref()
                .is_some_and(|a| a != input.appellant_id)
            {
                c.fail("appellant_id", "is not the account the decision acts on");
            }
        }
        // Notifiers may contest any decision on their notice, including one to take no action
        // (DSA Art. 20(1)).
        Appellant::Reporter => {
            let reported = reports.iter().any(|r| {
                serde_json::from_str::<NewReport>(&r.body)
                    .is_ok_and(|n| n.reporter.id == input.appellant_id)
            });
            if !reported {
                c.fail("appellant_id", "did not report this case");
            }
        }
    }
    c.finish()?;

    // The platform files appeals for any decision, restricted cases included; it sees only the
    // appeal it filed.
    let mut tx = desk.db.begin().await?;
    let mut case = cases::lock_case(&desk.db, &mut tx, decision.case_id)
        .await?
        .ok_or(Error::NotFound("decision"))?;
    let appellant = serde_json::to_value(input.appellant)?
        .as_str()
        .unwrap_or_default()
        .to_string();
    let Some(appeal_id) = store::insert_appeal(
        &mut tx,
        NewAppeal {
            case_id: case.id,
            decision_id: decision.id,
            appellant: &appellant,
            appellant_id: &input.appellant_id,
            statement: &input.statement,
            language: input.language.as_deref(),
            at: now,
        },
    )
    .await?
    else {
        drop(tx);
        let existing = store::find_appeal(&desk.db, decision.id, &appellant, &input.appellant_id)
            .await?
            .map_or(String::new(), |a| format!(" (appeal {})", a.id));
        return Err(Error::Conflict(format!(
            "this appellant already appealed this decision{existing}"
        )));
    };
    let mut events = case.file_appeal(
        appeal_id,
        decision.id,
        input.appellant.audience(),
        desk.config.appeals.queue.clone(),
        desk.config.appeals.sla,
        decision.decided_by,
    )?;
    // The appeal reopens the case; the acknowledgement is recorded after the reopening.
    let who = Who::user(actor);
    cases::append(
        &mut tx,
        &mut case,
        std::mem::take(&mut events),
        who,
        None,
        now,
    )
    .await?;
    let mut values = replies::case_values(&case);
    values.insert("appeal_ref", format!("A-{appeal_id}"));
    values.insert("policy_ref", decision.policy.clone().unwrap_or_default());
    replies::tell(
        &mut tx,
        desk,
        &mut case,
        Outgoing {
            purpose: Purpose::AppealReceived,
            audience: input.appellant.audience(),
            recipient: &input.appellant_id,
            language: input.language.as_deref(),
            decision_id: Some(decision.id),
            appeal_id: Some(appeal_id),
            report_id: None,
            redress: Redress::None,
            actions: &[],
        },
        &values,
        who,
        now,
    )
    .await?;
    cases::save_case(&mut tx, &case, now).await?;
    tx.commit().await?;
    metrics::counter!("warden_appeals_total", "appellant" => appellant).increment(1);
    store::get_appeal(&desk.db, appeal_id)
        .await?
        .ok_or(Error::NotFound("appeal"))
}

#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AppealDecisionInput {
    pub outcome: AppealOutcome,
    /// Internal reasoning.
    pub rationale: String,
    /// What the appellant is told about the outcome.
    pub explanation: String,
    /// For `modified`: the decision that replaces the original one.
    #[serde(default)]
    pub decision: Option<DecisionInput>,
}

/// Decides an appeal on a case the reviewer holds.
pub async fn decide(
    desk: &Desk,
    actor: &Actor,
    appeal_id: i64,
    input: &AppealDecisionInput,
) -> Result<(AppealRecord, Case)> {
    actor.require(Permission::WorkCases)?;
    let mut c = Checker::new();
    c.required_text("rationale", &input.rationale, 10_000);
    c.required_text("explanation", &input.explanation, 2000);
    match (input.outcome, &input.decision) {
        (AppealOutcome::Modified, None) => c.fail(
            "decision",
            "a modified outcome gives the decision that replaces the original",
        ),
        (AppealOutcome::Modified, Some(d)) if d.verdict != Verdict::Violating => c.fail(
            "decision.verdict",
            "a modification is a different enforcement; to lift everything, overturn",
        ),
        (AppealOutcome::Upheld | AppealOutcome::Overturned, Some(_)) => {
            c.fail("decision", "only a modified outcome replaces the decision")
        }
        _ => {}
    }
    c.finish()?;
    let appeal = store::get_appeal(&desk.db, appeal_id)
        .await?
        .ok_or(Error::NotFound("appeal"))?;
    let original = store::get_decision(&desk.db, appeal.decision_id)
        .await?
        .ok_or(Error::NotFound("decision"))?;
    if original.decided_by == actor.user_id {
        return Err(Error::Forbidden(
            "the appeal must be decided by someone other than the original decider".into(),
        ));
    }
    let today = desk.now().date_naive();
    let new_policy = match input.decision.as_ref().and_then(|d| d.policy.as_deref()) {
        Some(r) => Some(
            resolve_policy(desk, r, today)
                .await
                .map_err(|e| e.under("decision"))?,
        ),
        None => None,
    };
    let reports = cases::reports_for_case(&desk.db, appeal.case_id).await?;
    let now = desk.now();
    let (mut tx, mut case) = lock_visible(desk, actor, appeal.case_id).await?;
    actor.check_may_work(&case, now)?;
    let appeal = store::read_appeal(&mut tx, appeal_id)
        .await?
        .ok_or(Error::NotFound("appeal"))?;
    if appeal.state != "open" {
        return Err(Error::Conflict("this appeal is already decided".into()));
    }
    let who = Who::user(actor);
    let mut events = Vec::new();
    let mut new_decision_id = None;
    match input.outcome {
        AppealOutcome::Upheld => {}
        AppealOutcome::Overturned => {
            events.extend(
                enforcement::reverse_actions(
                    &mut tx,
                    &case,
                    &original,
                    ReversalCause::AppealOverturned,
                    &[],
                    now,
                )
                .await?,
            );
            store::remove_strikes_of_decision(&mut tx, original.id, now).await?;
            store::set_decision_state(&mut tx, original.id, DecisionState::Overturned, None, None)
                .await?;
        }
        AppealOutcome::Modified => {
            let d = input
                .decision
                .as_ref()
                .ok_or_else(|| Error::field("decision", "is required"))?;
            let policy = new_policy.as_ref().ok_or_else(|| {
                Error::field(
                    "decision.policy",
                    "a modification names the policy it applies",
                )
            })?;
            let mut c = Checker::with_prefix("decision");
            c.required_text("rationale", &d.rationale, 10_000);
            rules::check_actions(
                &mut c,
                policy,
                &d.actions,
                &rules::Target {
                    subject_kind: case.subject_kind,
                    account_id: account_of(&case),
                },
                now,
            );
            if rules::restricts(&d.actions) && d.explanation.is_none() {
                c.fail(
                    "explanation",
                    "is required when the decision restricts something",
                );
            }
            c.finish()?;
            // Actions the new decision keeps stay in place; the rest are taken back.
            events.extend(
                enforcement::reverse_actions(
                    &mut tx,
                    &case,
                    &original,
                    ReversalCause::AppealModified,
                    &d.actions,
                    now,
                )
                .await?,
            );
            store::remove_strikes_of_decision(&mut tx, original.id, now).await?;
            store::set_decision_state(&mut tx, original.id, DecisionState::Superseded, None, None)
                .await?;
            let kept: Vec<_> = store::actions_for_decision(&mut tx, original.id)
                .await?
                .into_iter()
                .filter(|a| a.state == ActionState::Active)
                .map(|a| a.spec)
                .collect();
            let policy_ref = policy.reference().to_string();
            let id = store::insert_decision(
                &mut tx,
                NewDecision {
                    case_id: case.id,
                    verdict: "violating",
                    policy_area: policy.area.as_deref().unwrap_or(&case.policy_area),
                    policy: Some(&policy_ref),
                    rationale: &d.rationale,
                    explanation: d.explanation.as_deref(),
                    actions: &d.actions,
                    decided_by: actor.user_id,
                    decided_at: now,
                    state: DecisionState::Effective,
                    approval_reasons: &[],
                    restricts: rules::restricts(&d.actions),
                    account_id: account_of(&case),
                    automated: false,
                },
            )
            .await?;
            for a in d
                .actions
                .iter()
                .filter(|a| a.kind.is_delivered() && !kept.contains(a))
            {
                store::insert_action(&mut tx, id, case.id, a, ActionState::Active, now).await?;
            }
            let decision = store::read_decision(&mut tx, id)
                .await?
                .ok_or_else(|| Error::Internal("a decision vanished".into()))?;
            let notify = if appeal.appellant == "affected_user" {
                Notify::Nobody
            } else {
                Notify::AffectedUser
            };
            events.extend(
                enforcement::take_effect(
                    &mut tx,
                    desk,
                    &case,
                    &decision,
                    Some(policy),
                    &reports,
                    now,
                    notify,
                )
                .await?,
            );
            new_decision_id = Some(id);
        }
    }
    let outcome = input.outcome.as_str();
    store::decide_appeal(
        &mut tx,
        AppealDecision {
            id: appeal_id,
            outcome,
            rationale: &input.rationale,
            decided_by: actor.user_id,
            at: now,
            new_decision_id,
        },
    )
    .await?;
    events.extend(case.decide_appeal(appeal_id, input.outcome, new_decision_id)?);
    cases::append(&mut tx, &mut case, events, who, Some(&input.rationale), now).await?;
    let mut values = replies::case_values(&case);
    values.insert("appeal_ref", format!("A-{appeal_id}"));
    values.insert("appeal_outcome_explanation", input.explanation.clone());
    values.insert("decision_date", now.format("%Y-%m-%d").to_string());
    values.insert("policy_ref", original.policy.clone().unwrap_or_default());
    let purpose = match input.outcome {
        AppealOutcome::Upheld => Purpose::AppealUpheld,
        AppealOutcome::Overturned => Purpose::AppealOverturned,
        AppealOutcome::Modified => Purpose::AppealModified,
    };
    let audience = if appeal.appellant == "affected_user" {
        Audience::AffectedUser
    } else {
        Audience::Reporter
    };
    replies::tell(
        &mut tx,
        desk,
        &mut case,
        Outgoing {
            purpose,
            audience,
            recipient: &appeal.appellant_id,
            language: appeal.language.as_deref(),
            decision_id: Some(original.id),
            appeal_id: Some(appeal_id),
            report_id: None,
            // The outcome of an internal complaint can still go out of court or to a court.
            redress: if input.outcome == AppealOutcome::Overturned {
                Redress::None
            } else {
                Redress::AfterAppeal
            },
            actions: &[],
        },
        &values,
        who,
        now,
    )
    .await?;
    cases::save_case(&mut tx, &case, now).await?;
    tx.commit().await?;
    metrics::counter!("warden_appeal_outcomes_total", "outcome" => outcome).increment(1);
    let appeal = store::get_appeal(&desk.db, appeal_id)
        .await?
        .ok_or(Error::NotFound("appeal"))?;
    Ok((appeal, case))
}

pub async fn get(desk: &Desk, actor: &Actor, id: i64) -> Result<AppealRecord> {
    actor.require(Permission::ReadCases)?;
    let a = store::get_appeal(&desk.db, id)
        .await?
        .ok_or(Error::NotFound("appeal"))?;
    let case = cases::get_case(&desk.db, a.case_id)
        .await?
        .ok_or(Error::NotFound("appeal"))?;
    actor.check_visible(&case)?;
    Ok(a)
}
