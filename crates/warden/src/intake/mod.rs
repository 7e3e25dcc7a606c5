//! Intake: reports from every channel become cases. A report on a subject with an open case joins
//! it; on a subject whose case was closed, it reopens it. Every report is re-triaged into its case.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use sqlx::AnyConnection;
use utoipa::ToSchema;

use crate::access::{Actor, Permission};
use crate::desk::Desk;
use crate::domain::case::{Case, CaseStatus};
use crate::domain::events::CaseEvent;
use crate::domain::priority::{Priority, Severity, TriageInput};
use crate::domain::reply::{Purpose, audience_for};
use crate::domain::report::NewReport;
use crate::domain::search::{self, DocKind};
use crate::domain::validate::Checker;
use crate::error::{Error, Result};
use crate::replies::{self, Outgoing, Redress};
use crate::store::cases::{self, NewReportRow, Who};
use crate::store::search::index_document;
use crate::triage::retriage;

mod group_commit;

pub use group_commit::GroupCommit;

pub const MAX_BATCH: usize = 1000;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum IntakeOutcome {
    /// A new case was opened for the subject.
    Opened,
    /// The subject already had an open case; the report joined it.
    Joined,
    /// The subject's case had been closed; the report reopened it.
    Reopened,
}

/// What the sender gets back; a replay of the same idempotency key gets the same receipt.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct IntakeReceipt {
    pub report_id: i64,
    pub case_id: i64,
    pub outcome: IntakeOutcome,
    pub case_status: CaseStatus,
    pub priority: Priority,
    pub queue: String,
    pub received_at: DateTime<Utc>,
    /// True when this answer is a replay of an earlier request with the same key.
    #[serde(default)]
    pub replayed: bool,
}

fn check(desk: &Desk, report: &NewReport, c: &mut Checker) {
    report.check(c, |area| desk.config.policy_area(area).is_some());
}

pub async fn submit(desk: &Desk, actor: &Actor, report: NewReport) -> Result<IntakeReceipt> {
    let mut receipts = submit_batch(desk, actor, vec![report], false).await?;
    receipts
        .pop()
        .ok_or_else(|| Error::Internal("intake returned no receipt".into()))
}

/// Accepts reports all together or not at all: one invalid report rejects the batch, naming it.
pub async fn submit_batch(
    desk: &Desk,
    actor: &Actor,
    reports: Vec<NewReport>,
    batched: bool,
) -> Result<Vec<IntakeReceipt>> {
    actor.require(Permission::SubmitReports)?;
    if reports.is_empty() {
        return Err(Error::field("reports", "must contain at least one report"));
    }
    if reports.len() > MAX_BATCH {
        return Err(Error::field(
            "reports",
            format!(
                "must contain at most {MAX_BATCH} reports, got {}",
                reports.len()
            ),
        ));
    }
    let mut c = Checker::new();
    for (i, r) in reports.iter().enumerate() {
        let mut one = if batched {
            Checker::with_prefix(format!("reports[{i}]"))
        } else {
            Checker::new()
        };
        check(desk, r, &mut one);
        c.absorb(one);
    }
    c.finish()?;
    let started = std::time::Instant::now();
    let receipts = desk.intake.take_in(desk, actor, reports).await?;
    metrics::counter!("warden_reports_received_total")
        .increment(receipts.iter().filter(|r| !r.replayed).count() as u64);
    metrics::histogram!("warden_intake_seconds").record(started.elapsed().as_secs_f64());
    Ok(receipts)
}

fn request_hash(report: &NewReport) -> Result<String> {
    Ok(hex::encode(Sha256::digest(serde_json::to_vec(report)?)))
}

async fn take_in(
    desk: &Desk,
    conn: &mut AnyConnection,
    actor: &Actor,
    report: &NewReport,
    now: DateTime<Utc>,
) -> Result<IntakeReceipt> {
    let hash = request_hash(report)?;
    if let Some((first_hash, response)) =
        cases::find_report_by_key(conn, actor.user_id, &report.idempotency_key).await?
    {
        if first_hash != hash {
            return Err(Error::Invalid(vec![crate::FieldError::new(
                "idempotency_key",
                "was already used for a different report; use a new key for a new report",
            )]));
        }
        let mut receipt: IntakeReceipt = serde_json::from_str(&response)?;
        receipt.replayed = true;
        return Ok(receipt);
    }

    let subject = &report.subject;
    let existing =
        cases::lock_case_for_subject(&desk.db, conn, subject.kind, &subject.external_id).await?;
    let mut events = Vec::new();
    let (mut case, outcome) = match existing {
        Some(c) if c.status.is_open() => (c, IntakeOutcome::Joined),
        Some(c) => {
            events.extend(c.reopen()?);
            (c, IntakeOutcome::Reopened)
        }
        None => {
            let id = cases::insert_case(conn, subject.kind, &subject.external_id, now).await?;
            events.push(CaseEvent::Opened {
                subject_kind: subject.kind,
                external_id: subject.external_id.clone(),
                snapshot: subject.snapshot.clone(),
                region: report.region().map(str::to_string),
                language: subject.snapshot.language.clone(),
            });
            (Case::empty(id, now), IntakeOutcome::Opened)
        }
    };
    let new_reporter = outcome == IntakeOutcome::Opened
        || !cases::reporter_seen(conn, case.id, &report.reporter.id).await?;
    let body = serde_json::to_string(report)?;
    let report_id = cases::insert_report(
        conn,
        NewReportRow {
            case_id: case.id,
            submitted_by: actor.user_id,
            idempotency_key: &report.idempotency_key,
            request_hash: &hash,
            source: report.source.as_str(),
            reporter_id: &report.reporter.id,
            policy_area: &report.reason,
            jurisdiction: report.jurisdiction.as_deref(),
            received_at: now,
            body: &body,
        },
    )
    .await?;
    // The index takes the report's words, and the subject's when they are new to the case.
    if let Some(text) = search::new_subject_text(
        case.snapshot.text.as_deref(),
        subject.snapshot.text.as_deref(),
    ) {
        index_document(conn, case.id, DocKind::Subject, text).await?;
    }
    if let Some(text) = &report.text {
        index_document(conn, case.id, DocKind::Report, text).await?;
    }
    let severity = desk
        .config
        .policy_area(&report.reason)
        .map_or(Severity::Low, |a| a.severity);
    events.push(CaseEvent::ReportReceived {
        report_id,
        source: report.source,
        reporter_id: report.reporter.id.clone(),
        policy_area: report.reason.clone(),
        triage: TriageInput {
            severity,
            top_source: report.source,
            distinct_reporters: u64::from(new_reporter),
            reach: subject.snapshot.reach.unwrap_or(0),
            risk_flags: report.risk_flags.iter().copied().collect(),
            requested_deadline: report.requested_deadline,
        },
        snapshot: subject.snapshot.clone(),
    });
    let who = Who::user(actor);
    cases::append(conn, &mut case, events, who, None, now).await?;
    let triaged = retriage(&desk.config, &case, now);
    cases::append(
        conn,
        &mut case,
        vec![triaged],
        Who::SYSTEM,
        Some("new report"),
        now,
    )
    .await?;
    // Tell the reporter the report arrived (DSA Art. 16(4)), in the same transaction.
    if let Some(audience) = audience_for(report.source) {
        let mut values = replies::case_values(&case);
        values.insert("report_ref", format!("R-{report_id}"));
        let language = report
            .reporter
            .language
            .as_deref()
            .or(subject.snapshot.language.as_deref());
        replies::tell(
            conn,
            desk,
            &mut case,
            Outgoing {
                purpose: Purpose::Acknowledgement,
                audience,
                recipient: &report.reporter.id,
                language,
                decision_id: None,
                appeal_id: None,
                report_id: Some(report_id),
                redress: Redress::None,
                actions: &[],
            },
            &values,
            Who::SYSTEM,
            now,
        )
        .await?;
    }
    cases::save_case(conn, &case, now).await?;
    let receipt = IntakeReceipt {
        report_id,
        case_id: case.id,
        outcome,
        case_status: case.status,
        priority: case.priority,
        queue: case.queue.clone(),
        received_at: now,
        replayed: false,
    };
    cases::set_report_response(conn, report_id, &serde_json::to_string(&receipt)?).await?;
    Ok(receipt)
}
