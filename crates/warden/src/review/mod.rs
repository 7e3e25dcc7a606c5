//! Review: the work on a case from claim to decision. Each operation locks the case, asks the
//! domain for the events the request means, and records them with the case's new state.

use chrono::{DateTime, Utc};
use std::collections::BTreeSet;

use crate::access::{Actor, Permission};
use crate::desk::Desk;
use crate::domain::case::Case;
use crate::domain::events::{CaseEvent, RecordedEvent};
use crate::domain::search::DocKind;
use crate::domain::validate::Checker;
use crate::error::{Error, Result};
use crate::store::cases::{self, ConsultationRow, Part, Who};
use crate::store::search::index_document;
use crate::store::{Tx, users};

mod claims;

pub use claims::ClaimCommit;
use claims::ClaimRequest;

/// Opens a transaction and locks a case the actor may see; an invisible case is "not found".
pub(crate) async fn lock_visible(desk: &Desk, actor: &Actor, case_id: i64) -> Result<(Tx, Case)> {
    let mut tx = desk.db.begin().await?;
    let case = cases::lock_case(&desk.db, &mut tx, case_id)
        .await?
        .ok_or(Error::NotFound("case"))?;
    actor.check_visible(&case)?;
    Ok((tx, case))
}

/// Records events plus, when the holder is working, a lease renewal; then commits.
pub(crate) async fn finish(
    desk: &Desk,
    mut tx: Tx,
    mut case: Case,
    actor: &Actor,
    mut events: Vec<CaseEvent>,
    reason: Option<&str>,
    now: DateTime<Utc>,
) -> Result<Case> {
    events.extend(case.renew_lease(actor.user_id, now, desk.config.lease()));
    cases::record(&mut tx, &mut case, events, Who::user(actor), reason, now).await?;
    tx.commit().await?;
    Ok(case)
}

pub async fn claim_next(desk: &Desk, actor: &Actor, queue: &str) -> Result<Option<Case>> {
    actor.require(Permission::WorkCases)?;
    if desk.config.queue(queue).is_none() {
        return Err(Error::NotFound("queue"));
    }
    let request = ClaimRequest {
        actor: actor.clone(),
        queue: queue.to_string(),
    };
    let case = desk.claims.run(desk, request).await?;
    if case.is_some() {
        metrics::counter!("warden_claims_total").increment(1);
    }
    Ok(case)
}

pub async fn assign(
    desk: &Desk,
    actor: &Actor,
    case_id: i64,
    assignee: i64,
    reason: Option<&str>,
) -> Result<Case> {
    actor.require(Permission::ManageCases)?;
    let user = users::user_by_id(&desk.db, assignee)
        .await?
        .ok_or_else(|| Error::field("assignee", "no such user"))?;
    if !crate::access::allows(user.role, Permission::WorkCases) || user.disabled {
        return Err(Error::field("assignee", "this user cannot work cases"));
    }
    let now = desk.now();
    let (tx, case) = lock_visible(desk, actor, case_id).await?;
    if !user.actor().may_see(&case) {
        return Err(Error::field(
            "assignee",
            "this user may not see this restricted case",
        ));
    }
    let events = case.assign(assignee, now, desk.config.lease())?;
    finish(desk, tx, case, actor, events, reason, now).await
}

pub async fn release(
    desk: &Desk,
    actor: &Actor,
    case_id: i64,
    reason: Option<&str>,
) -> Result<Case> {
    actor.require(Permission::WorkCases)?;
    let now = desk.now();
    let (tx, case) = lock_visible(desk, actor, case_id).await?;
    let events = case.release()?;
    if case.assignee != Some(actor.user_id) {
        actor.require(Permission::ManageCases)?;
    }
    finish(desk, tx, case, actor, events, reason, now).await
}

pub async fn add_note(desk: &Desk, actor: &Actor, case_id: i64, body: &str) -> Result<i64> {
    actor.require(Permission::WorkCases)?;
    let mut c = Checker::new();
    c.required_text("body", body, 20_000);
    c.finish()?;
    let now = desk.now();
    let (mut tx, case) = lock_visible(desk, actor, case_id).await?;
    actor.check_may_work(&case, now)?;
    let note_id = cases::insert_note(&mut tx, case_id, actor.user_id, body, now).await?;
    index_document(&mut tx, case_id, DocKind::Note, body).await?;
    finish(
        desk,
        tx,
        case,
        actor,
        vec![CaseEvent::NoteAdded {
            note_id,
            body: body.to_string(),
        }],
        None,
        now,
    )
    .await?;
    Ok(note_id)
}

pub async fn change_tags(
    desk: &Desk,
    actor: &Actor,
    case_id: i64,
    add: &[String],
    remove: &[String],
) -> Result<Case> {
    actor.require(Permission::WorkCases)?;
    let mut c = Checker::new();
    for (i, t) in add.iter().enumerate() {
        c.slug(&format!("add[{i}]"), t, 64);
    }
    for (i, t) in remove.iter().enumerate() {
        c.slug(&format!("remove[{i}]"), t, 64);
    }
    if add.is_empty() && remove.is_empty() {
        c.fail("add", "add or remove at least one tag");
    }
    c.finish()?;
    let now = desk.now();
    let (tx, case) = lock_visible(desk, actor, case_id).await?;
    actor.check_may_work(&case, now)?;
    let added: BTreeSet<String> = add
        .iter()
        .filter(|t| !case.tags.contains(*t))
        .cloned()
        .collect();
    let removed: BTreeSet<String> = remove
        .iter()
        .filter(|t| case.tags.contains(*t))
        .cloned()
        .collect();
    let events = if added.is_empty() && removed.is_empty() {
        vec![]
    } else {
        vec![CaseEvent::TagsChanged { added, removed }]
    };
    finish(desk, tx, case, actor, events, None, now).await
}

pub async fn request_consultation(
    desk: &Desk,
    actor: &Actor,
    case_id: i64,
    team: &str,
    question: &str,
    due_at: DateTime<Utc>,
) -> Result<(i64, Case)> {
    let now = desk.now();
    let mut c = Checker::new();
    if !desk.config.consultation_teams.iter().any(|t| t == team) {
        c.fail(
            "team",
            format!(
                "must be one of: {}",
                desk.config.consultation_teams.join(", ")
            ),
        );
    }
    c.required_text("question", question, 10_000);
    if due_at <= now {
        c.fail("due_at", "must be in the future");
    }
    c.finish()?;
    let (mut tx, case) = lock_visible(desk, actor, case_id).await?;
    actor.check_may_work(&case, now)?;
    // Check the move before writing the consultation row.
    case.request_consultation(0, team.into(), question.into(), due_at)?;
    let id =
        cases::insert_consultation(&mut tx, case_id, team, question, due_at, actor.user_id, now)
            .await?;
    let events = case.request_consultation(id, team.into(), question.into(), due_at)?;
    let case = finish(desk, tx, case, actor, events, None, now).await?;
    Ok((id, case))
}

/// A partner answers a consultation for their team; the case resumes when none is left open.
pub async fn answer_consultation(
    desk: &Desk,
    actor: &Actor,
    consultation_id: i64,
    answer: &str,
) -> Result<ConsultationRow> {
    actor.require(Permission::AnswerConsultations)?;
    let mut c = Checker::new();
    c.required_text("answer", answer, 20_000);
    c.finish()?;
    let now = desk.now();
    let mut tx = desk.db.begin().await?;
    let consultation = cases::get_consultation(&mut tx, consultation_id)
        .await?
        .ok_or(Error::NotFound("consultation"))?;
    if !actor.in_team(&consultation.team) && actor.role != crate::access::Role::Admin {
        return Err(Error::NotFound("consultation"));
    }
    let mut case = cases::lock_case(&desk.db, &mut tx, consultation.case_id)
        .await?
        .ok_or(Error::NotFound("case"))?;
    if !cases::answer_consultation(&mut tx, consultation_id, answer, actor.user_id, now).await? {
        return Err(Error::Conflict(
            "this consultation has already been answered".into(),
        ));
    }
    let event = CaseEvent::ConsultationAnswered {
        consultation_id,
        answer: answer.to_string(),
        lease_expires_at: Some(now + desk.config.lease()),
    };
    cases::record(&mut tx, &mut case, vec![event], Who::user(actor), None, now).await?;
    let answered = cases::get_consultation(&mut tx, consultation_id)
        .await?
        .ok_or(Error::NotFound("consultation"))?;
    tx.commit().await?;
    Ok(answered)
}

pub async fn request_info(
    desk: &Desk,
    actor: &Actor,
    case_id: i64,
    question: &str,
) -> Result<Case> {
    let mut c = Checker::new();
    c.required_text("question", question, 10_000);
    c.finish()?;
    let now = desk.now();
    let (tx, case) = lock_visible(desk, actor, case_id).await?;
    actor.check_may_work(&case, now)?;
    let events = case.request_info(question.to_string())?;
    finish(desk, tx, case, actor, events, None, now).await
}

pub async fn receive_info(desk: &Desk, actor: &Actor, case_id: i64, details: &str) -> Result<Case> {
    let mut c = Checker::new();
    c.required_text("details", details, 20_000);
    c.finish()?;
    let now = desk.now();
    let (tx, case) = lock_visible(desk, actor, case_id).await?;
    actor.check_may_work(&case, now)?;
    let events = case.receive_info(details.to_string(), now + desk.config.lease())?;
    finish(desk, tx, case, actor, events, None, now).await
}

/// Restricts a case to a team (or lifts the restriction with `None`).
pub async fn restrict(
    desk: &Desk,
    actor: &Actor,
    case_id: i64,
    team: Option<&str>,
    reason: &str,
) -> Result<Case> {
    actor.require(Permission::ManageCases)?;
    let mut c = Checker::new();
    if let Some(t) = team {
        c.slug("team", t, 64);
    }
    c.required_text("reason", reason, 2_000);
    c.finish()?;
    let now = desk.now();
    let (tx, case) = lock_visible(desk, actor, case_id).await?;
    let event = match team {
        Some(t) => CaseEvent::Restricted {
            team: t.to_string(),
        },
        None => CaseEvent::Unrestricted,
    };
    finish(desk, tx, case, actor, vec![event], Some(reason), now).await
}

/// Everything about a case for the person reading it. Reading a restricted case is an event.
pub struct CaseFile {
    pub case: Case,
    pub reports: Vec<cases::ReportRow>,
    pub events: Vec<RecordedEvent>,
    pub notes: Vec<cases::NoteRow>,
    pub consultations: Vec<ConsultationRow>,
    pub related: Vec<Case>,
}

pub async fn case_file(desk: &Desk, actor: &Actor, case_id: i64) -> Result<CaseFile> {
    actor.require(Permission::ReadCases)?;
    let case = cases::get_case(&desk.db, case_id)
        .await?
        .ok_or(Error::NotFound("case"))?;
    file_of(desk, actor, case).await
}

/// The file of a case already in hand (just claimed, say): what `case_file` reads after the case.
pub async fn file_of(desk: &Desk, actor: &Actor, case: Case) -> Result<CaseFile> {
    actor.require(Permission::ReadCases)?;
    actor.check_visible(&case)?;
    let case_id = case.id;
    let case = if case.restricted_team.is_some() {
        let now = desk.now();
        crate::retrying!({
            let (mut tx, mut case) = lock_visible(desk, actor, case_id).await?;
            cases::record(
                &mut tx,
                &mut case,
                vec![CaseEvent::Viewed],
                Who::user(actor),
                None,
                now,
            )
            .await?;
            tx.commit().await?;
            Ok(case)
        })?
    } else {
        case
    };
    let cases::FileRows {
        reports,
        events,
        notes,
        consultations,
        related,
    } = cases::read_file(
        &desk.db,
        case_id,
        &[
            Part::Reports,
            Part::Events,
            Part::Notes,
            Part::Consultations,
            Part::Related {
                case: &case,
                teams: &actor.teams,
            },
        ],
    )
    .await?;
    Ok(CaseFile {
        reports,
        events,
        notes,
        consultations,
        related,
        case,
    })
}

/// Records breaches of deadlines that have passed; run every minute by the server.
pub async fn sweep_breaches(desk: &Desk) -> Result<usize> {
    let now = desk.now();
    let ids = cases::cases_past_deadline(&desk.db, now, 500).await?;
    let mut recorded = 0;
    for id in ids {
        recorded += crate::retrying!({
            let mut tx: Tx = desk.db.begin().await?;
            let Some(mut case) = cases::lock_case(&desk.db, &mut tx, id).await? else {
                return Ok(0);
            };
            let events = case.breaches(now);
            let n = events.len();
            cases::record(
                &mut tx,
                &mut case,
                events,
                Who::SYSTEM,
                Some("deadline passed"),
                now,
            )
            .await?;
            tx.commit().await?;
            Ok(n)
        })?;
    }
    if recorded > 0 {
        metrics::counter!("warden_sla_breaches_total").increment(recorded as u64);
    }
    Ok(recorded)
}
