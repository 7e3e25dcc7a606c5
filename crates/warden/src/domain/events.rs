//! Everything that can happen to a case. Events are immutable; the case's state is their fold.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;
use utoipa::ToSchema;

use super::enforcement::{ActionKind, ActionSpec};
use super::priority::{Factor, Priority, TriageInput};
use super::reply::{Audience, Purpose};
use super::report::Source;
use super::sla::SlaTarget;
use super::subject::{Snapshot, SubjectKind};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    Violating,
    NotViolating,
    NeedsInfo,
    Refer,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Deadline {
    FirstResponse,
    Resolution,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ReversalCause {
    Expired,
    AppealOverturned,
    AppealModified,
}

impl ReversalCause {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Expired => "expired",
            Self::AppealOverturned => "appeal_overturned",
            Self::AppealModified => "appeal_modified",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum AppealOutcome {
    /// The decision stands.
    Upheld,
    /// The decision was wrong: its actions are reversed and its strikes removed.
    Overturned,
    /// A different decision replaces it.
    Modified,
}

impl AppealOutcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Upheld => "upheld",
            Self::Overturned => "overturned",
            Self::Modified => "modified",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum CaseEvent {
    Opened {
        subject_kind: SubjectKind,
        external_id: String,
        snapshot: Snapshot,
        region: Option<String>,
        language: Option<String>,
    },
    ReportReceived {
        report_id: i64,
        source: Source,
        reporter_id: String,
        policy_area: String,
        /// The facts this report adds to triage (a repeat reporter adds no reporter).
        triage: TriageInput,
        snapshot: Snapshot,
    },
    Triaged {
        priority: Priority,
        score: i64,
        factors: Vec<Factor>,
        queue: String,
        sla: SlaTarget,
        restricted_team: Option<String>,
    },
    Claimed {
        assignee: i64,
        lease_expires_at: DateTime<Utc>,
    },
    Assigned {
        assignee: i64,
        lease_expires_at: DateTime<Utc>,
    },
    LeaseRenewed {
        lease_expires_at: DateTime<Utc>,
    },
    LeaseLapsed {
        previous_assignee: i64,
    },
    Released,
    NoteAdded {
        note_id: i64,
        body: String,
    },
    TagsChanged {
        added: BTreeSet<String>,
        removed: BTreeSet<String>,
    },
    ConsultationRequested {
        consultation_id: i64,
        team: String,
        question: String,
        due_at: DateTime<Utc>,
    },
    ConsultationAnswered {
        consultation_id: i64,
        answer: String,
        /// A fresh lease for the holder if this answer resumes the case.
        #[serde(default)]
        lease_expires_at: Option<DateTime<Utc>>,
    },
    InfoRequested {
        question: String,
    },
    InfoReceived {
        details: String,
        #[serde(default)]
        lease_expires_at: Option<DateTime<Utc>>,
    },
    Decided {
        decision_id: i64,
        verdict: Verdict,
        policy_area: String,
        /// The exact policy applied, `id@version`.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        policy: Option<String>,
        rationale: String,
        actions: Vec<ActionSpec>,
        /// The two-person rule holds the actions until a lead approves them.
        #[serde(default)]
        awaiting_approval: bool,
    },
    DecisionApproved {
        decision_id: i64,
    },
    /// A lead sent the decision back; the case returns to its decider.
    DecisionRejected {
        decision_id: i64,
        decider: i64,
        lease_expires_at: DateTime<Utc>,
    },
    /// An action ended: it expired, or an appeal took it back.
    ActionReversed {
        action_id: i64,
        action: ActionKind,
        cause: ReversalCause,
    },
    /// A message to someone involved, queued for delivery.
    MessageQueued {
        message_id: i64,
        purpose: Purpose,
        audience: Audience,
        language: String,
    },
    AppealFiled {
        appeal_id: i64,
        decision_id: i64,
        appellant: Audience,
        queue: String,
        sla: SlaTarget,
        /// The original decider, who may not decide the appeal.
        excluded_reviewer: i64,
    },
    AppealDecided {
        appeal_id: i64,
        outcome: AppealOutcome,
        /// The decision that replaces the original one when the outcome is `modified`.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        new_decision_id: Option<i64>,
    },
    Closed,
    Reopened,
    Restricted {
        team: String,
    },
    Unrestricted,
    SlaBreached {
        deadline: Deadline,
    },
    /// A read of a restricted case; changes nothing, but is on the record.
    Viewed,
    /// The subject's media matched an entry of a bank of known violating media.
    MediaMatched {
        match_id: i64,
        bank_id: i64,
        bank: String,
        entry_id: i64,
        distance: u32,
        /// The hash of the case's media.
        hash: String,
        /// Where the media was fetched from; absent for a hash the platform sent.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        media_url: Option<String>,
    },
    /// A reviewer said whether a match was right.
    MediaMatchJudged {
        match_id: i64,
        verdict: crate::matching::MatchVerdict,
    },
}

impl CaseEvent {
    pub fn kind(&self) -> &'static str {
        match self {
            Self::Opened { .. } => "opened",
            Self::ReportReceived { .. } => "report_received",
            Self::Triaged { .. } => "triaged",
            Self::Claimed { .. } => "claimed",
            Self::Assigned { .. } => "assigned",
            Self::LeaseRenewed { .. } => "lease_renewed",
            Self::LeaseLapsed { .. } => "lease_lapsed",
            Self::Released => "released",
            Self::NoteAdded { .. } => "note_added",
            Self::TagsChanged { .. } => "tags_changed",
            Self::ConsultationRequested { .. } => "consultation_requested",
            Self::ConsultationAnswered { .. } => "consultation_answered",
            Self::InfoRequested { .. } => "info_requested",
            Self::InfoReceived { .. } => "info_received",
            Self::Decided { .. } => "decided",
            Self::DecisionApproved { .. } => "decision_approved",
            Self::DecisionRejected { .. } => "decision_rejected",
            Self::ActionReversed { .. } => "action_reversed",
            Self::MessageQueued { .. } => "message_queued",
            Self::AppealFiled { .. } => "appeal_filed",
            Self::AppealDecided { .. } => "appeal_decided",
            Self::Closed => "closed",
            Self::Reopened => "reopened",
            Self::Restricted { .. } => "restricted",
            Self::Unrestricted => "unrestricted",
            Self::SlaBreached { .. } => "sla_breached",
            Self::Viewed => "viewed",
            Self::MediaMatched { .. } => "media_matched",
            Self::MediaMatchJudged { .. } => "media_match_judged",
        }
    }
}

/// An event as recorded: who did it, when, and why.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct RecordedEvent {
    pub id: i64,
    pub case_id: i64,
    pub at: DateTime<Utc>,
    /// The user who caused it; `None` for the system (SLA sweeps, lease expiry).
    pub actor_id: Option<i64>,
    pub actor_name: String,
    pub reason: Option<String>,
    #[serde(flatten)]
    pub event: CaseEvent,
}
