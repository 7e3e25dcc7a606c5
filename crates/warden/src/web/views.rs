//! What the API shows of cases and their parts.

use chrono::{DateTime, Utc};
use serde::Serialize;
use std::collections::BTreeSet;
use utoipa::ToSchema;

use crate::domain::case::{Case, CaseStatus};
use crate::domain::events::{RecordedEvent, Verdict};
use crate::domain::priority::{Factor, Priority};
use crate::domain::report::NewReport;
use crate::domain::sla::SlaView;
use crate::domain::subject::{Snapshot, SubjectKind};
use crate::store::cases::{ConsultationRow, NoteRow, QueueCounts, ReportRow};

#[derive(Debug, Serialize, ToSchema)]
pub struct SubjectRef {
    pub kind: SubjectKind,
    pub external_id: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CaseSummary {
    pub id: i64,
    pub subject: SubjectRef,
    pub status: CaseStatus,
    pub priority: Priority,
    pub queue: String,
    pub policy_area: String,
    pub region: Option<String>,
    pub language: Option<String>,
    pub assignee_id: Option<i64>,
    pub lease_expires_at: Option<DateTime<Utc>>,
    pub restricted_team: Option<String>,
    pub tags: BTreeSet<String>,
    pub report_count: i64,
    pub opened_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub closed_at: Option<DateTime<Utc>>,
    pub verdict: Option<Verdict>,
    pub sla: SlaView,
    pub breached: bool,
}

impl CaseSummary {
    pub fn of(c: &Case, now: DateTime<Utc>) -> Self {
        let sla = c.sla.view(now);
        let breached = c.first_response_breached
            || c.resolution_breached
            || (c.status.is_open()
                && c.status != CaseStatus::Decided
                && (sla.resolution == crate::domain::sla::DeadlineState::Breached
                    || sla.first_response == crate::domain::sla::DeadlineState::Breached));
        Self {
            id: c.id,
            subject: SubjectRef {
                kind: c.subject_kind,
                external_id: c.external_id.clone(),
            },
            status: c.status,
            priority: c.priority,
            queue: c.queue.clone(),
            policy_area: c.policy_area.clone(),
            region: c.region.clone(),
            language: c.language.clone(),
            assignee_id: c.assignee,
            lease_expires_at: c.lease_expires_at,
            restricted_team: c.restricted_team.clone(),
            tags: c.tags.clone(),
            report_count: c.report_count,
            opened_at: c.opened_at,
            updated_at: c.updated_at,
            closed_at: c.closed_at,
            verdict: c.verdict,
            sla,
            breached,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct PriorityExplanation {
    pub priority: Priority,
    pub score: i64,
    pub factors: Vec<Factor>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ReportView {
    pub id: i64,
    pub case_id: i64,
    pub received_at: DateTime<Utc>,
    #[serde(flatten)]
    pub report: NewReport,
}

impl ReportView {
    pub fn of(r: ReportRow) -> crate::error::Result<Self> {
        Ok(Self {
            id: r.id,
            case_id: r.case_id,
            received_at: r.received_at,
            report: serde_json::from_str(&r.body)?,
        })
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct NoteView {
    pub id: i64,
    pub author: String,
    pub body: String,
    pub created_at: DateTime<Utc>,
}

impl From<NoteRow> for NoteView {
    fn from(n: NoteRow) -> Self {
        Self {
            id: n.id,
            author: n.author,
            body: n.body,
            created_at: n.created_at,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ConsultationView {
    pub id: i64,
    pub case_id: i64,
    pub team: String,
    pub question: String,
    pub due_at: DateTime<Utc>,
    pub asked_by: String,
    pub asked_at: DateTime<Utc>,
    pub answer: Option<String>,
    pub answered_by: Option<String>,
    pub answered_at: Option<DateTime<Utc>>,
    pub overdue: bool,
}

impl ConsultationView {
    pub fn of(c: ConsultationRow, now: DateTime<Utc>) -> Self {
        Self {
            overdue: c.answered_at.is_none() && c.due_at < now,
            id: c.id,
            case_id: c.case_id,
            team: c.team,
            question: c.question,
            due_at: c.due_at,
            asked_by: c.asked_by,
            asked_at: c.asked_at,
            answer: c.answer,
            answered_by: c.answered_by,
            answered_at: c.answered_at,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CaseDetail {
    #[serde(flatten)]
    pub summary: CaseSummary,
    pub snapshot: Snapshot,
    pub priority_explanation: PriorityExplanation,
    pub reports: Vec<ReportView>,
    pub timeline: Vec<RecordedEvent>,
    pub notes: Vec<NoteView>,
    pub consultations: Vec<ConsultationView>,
    pub related: Vec<CaseSummary>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct QueueSummary {
    pub name: String,
    pub title: String,
    /// Open cases (not yet decided or closed).
    pub open: i64,
    pub waiting_for_claim: i64,
    pub in_review: i64,
    /// Waiting on a consultation or more information.
    pub waiting: i64,
    pub at_risk: i64,
    pub breached: i64,
    pub oldest_opened_at: Option<DateTime<Utc>>,
}

impl QueueSummary {
    pub fn of(name: &str, title: &str, c: Option<&QueueCounts>) -> Self {
        let d = QueueCounts::default();
        let c = c.unwrap_or(&d);
        Self {
            name: name.to_string(),
            title: title.to_string(),
            open: c.open,
            waiting_for_claim: c.waiting_for_claim,
            in_review: c.in_review,
            waiting: c.waiting,
            at_risk: c.at_risk,
            breached: c.breached,
            oldest_opened_at: c.oldest_opened_at,
        }
    }
}
