//! The case: its statuses, the legal moves between them, and its state as a fold of its events.

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;
use std::fmt;
use utoipa::ToSchema;

use super::events::{CaseEvent, Deadline, Verdict};
use super::priority::{Factor, Priority, Severity, TriageInput};
use super::report::Source;
use super::sla::{DeadlineState, SlaClock, SlaTarget};
use super::subject::{Snapshot, SubjectKind};
use crate::error::Error;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum CaseStatus {
    New,
    Triaged,
    InReview,
    WaitingConsultation,
    WaitingInfo,
    Decided,
    Closed,
    Reopened,
}

impl CaseStatus {
    pub const ALL: [CaseStatus; 8] = [
        Self::New,
        Self::Triaged,
        Self::InReview,
        Self::WaitingConsultation,
        Self::WaitingInfo,
        Self::Decided,
        Self::Closed,
        Self::Reopened,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::New => "new",
            Self::Triaged => "triaged",
            Self::InReview => "in_review",
            Self::WaitingConsultation => "waiting_consultation",
            Self::WaitingInfo => "waiting_info",
            Self::Decided => "decided",
            Self::Closed => "closed",
            Self::Reopened => "reopened",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == s)
    }

    /// Waiting in a queue for someone to claim it.
    pub fn is_queued(self) -> bool {
        matches!(self, Self::Triaged | Self::Reopened)
    }

    pub fn is_waiting(self) -> bool {
        matches!(self, Self::WaitingConsultation | Self::WaitingInfo)
    }

    pub fn is_open(self) -> bool {
        self != Self::Closed
    }
}

impl fmt::Display for CaseStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What a reviewer decided, before it is recorded.
#[derive(Debug, Clone)]
pub struct DecisionDraft {
    pub decision_id: i64,
    pub verdict: Verdict,
    pub policy_area: String,
    pub policy: Option<String>,
    pub rationale: String,
    pub actions: Vec<super::enforcement::ActionSpec>,
}

impl DecisionDraft {
    /// The event recording this decision.
    fn decided(self, awaiting_approval: bool) -> CaseEvent {
        CaseEvent::Decided {
            decision_id: self.decision_id,
            verdict: self.verdict,
            policy_area: self.policy_area,
            policy: self.policy,
            rationale: self.rationale,
            actions: self.actions,
            awaiting_approval,
        }
    }
}

/// The current state of a case: the fold of its events.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Case {
    pub id: i64,
    pub subject_kind: SubjectKind,
    pub external_id: String,
    pub snapshot: Snapshot,
    pub region: Option<String>,
    pub language: Option<String>,
    pub status: CaseStatus,
    pub priority: Priority,
    pub score: i64,
    pub factors: Vec<Factor>,
    pub triage: Option<TriageInput>,
    /// The most severe policy area reported.
    pub policy_area: String,
    pub queue: String,
    pub assignee: Option<i64>,
    pub lease_expires_at: Option<DateTime<Utc>>,
    pub restricted_team: Option<String>,
    pub tags: BTreeSet<String>,
    pub sla: SlaClock,
    pub first_response_breached: bool,
    pub resolution_breached: bool,
    pub open_consultations: i64,
    pub report_count: i64,
    pub opened_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub closed_at: Option<DateTime<Utc>>,
    pub verdict: Option<Verdict>,
    /// The decision that waits for a lead's approval.
    #[serde(default)]
    pub pending_decision: Option<i64>,
    /// The appeal this case is open for.
    #[serde(default)]
    pub open_appeal: Option<i64>,
    /// Someone who may not take this case (the original decider of an appeal).
    #[serde(default)]
    pub excluded_reviewer: Option<i64>,
    /// How many events have been applied; the optimistic-concurrency version.
    pub version: i64,
}

fn illegal(action: &'static str, from: CaseStatus) -> Error {
    Error::IllegalTransition { action, from }
}

impl Case {
    /// A case before its first event.
    pub fn empty(id: i64, at: DateTime<Utc>) -> Self {
        Self {
            id,
            subject_kind: SubjectKind::Account,
            external_id: String::new(),
            snapshot: Snapshot::default(),
            region: None,
            language: None,
            status: CaseStatus::New,
            priority: Priority::P4,
            score: 0,
            factors: Vec::new(),
            triage: None,
            policy_area: String::new(),
            queue: String::new(),
            assignee: None,
            lease_expires_at: None,
            restricted_team: None,
            tags: BTreeSet::new(),
            sla: SlaClock::start(
                at,
                SlaTarget {
                    first_response_minutes: 0,
                    resolution_minutes: 0,
                },
            ),
            first_response_breached: false,
            resolution_breached: false,
            open_consultations: 0,
            report_count: 0,
            opened_at: at,
            updated_at: at,
            closed_at: None,
            verdict: None,
            pending_decision: None,
            open_appeal: None,
            excluded_reviewer: None,
            version: 0,
        }
    }

    /// Rebuilds a case from its whole history.
    pub fn replay<'a>(
        id: i64,
        events: impl IntoIterator<Item = (DateTime<Utc>, &'a CaseEvent)>,
    ) -> Option<Self> {
        let mut case: Option<Case> = None;
        for (at, e) in events {
            let c = case.get_or_insert_with(|| Case::empty(id, at));
            c.apply(e, at);
        }
        case
    }

    /// Applies one event. Pure; never fails: the commands below decided it was legal.
    pub fn apply(&mut self, event: &CaseEvent, at: DateTime<Utc>) {
        self.version += 1;
        if !matches!(event, CaseEvent::Viewed) {
            self.updated_at = at;
        }
        match event {
            CaseEvent::Opened {
                subject_kind,
                external_id,
                snapshot,
                region,
                language,
            } => {
                self.subject_kind = *subject_kind;
                self.external_id.clone_from(external_id);
                self.snapshot = snapshot.clone();
                self.region.clone_from(region);
                self.language.clone_from(language);
                self.status = CaseStatus::New;
                self.opened_at = at;
                self.sla.started_at = at;
            }
            CaseEvent::ReportReceived {
                policy_area,
                triage,
                snapshot,
                ..
            } => {
                self.report_count += 1;
                let more_severe = self
                    .triage
                    .as_ref()
                    .is_none_or(|t| triage.severity > t.severity);
                if more_severe {
                    self.policy_area.clone_from(policy_area);
                }
                match &mut self.triage {
                    Some(t) => t.merge(triage),
                    None => self.triage = Some(triage.clone()),
                }
                // The latest sighting wins, but keep what a thinner snapshot leaves out.
                let old = std::mem::replace(&mut self.snapshot, snapshot.clone());
                let s = &mut self.snapshot;
                if s.text.is_none() {
                    s.text = old.text;
                }
                if s.media_urls.is_empty() {
                    s.media_urls = old.media_urls;
                }
                if s.pdq_hashes.is_empty() {
                    s.pdq_hashes = old.pdq_hashes;
                }
                if s.author_id.is_none() {
                    s.author_id = old.author_id;
                }
                if s.author_name.is_none() {
                    s.author_name = old.author_name;
                }
                if s.country.is_none() {
                    s.country = old.country;
                }
                if s.language.is_none() {
                    s.language = old.language;
                }
                s.reach = s.reach.max(old.reach);
            }
            CaseEvent::Triaged {
                priority,
                score,
                factors,
                queue,
                sla,
                restricted_team,
            } => {
                self.priority = *priority;
                self.score = *score;
                self.factors.clone_from(factors);
                self.queue.clone_from(queue);
                self.sla.retarget(*sla);
                if restricted_team.is_some() {
                    self.restricted_team.clone_from(restricted_team);
                }
                if self.status == CaseStatus::New {
                    self.status = CaseStatus::Triaged;
                }
            }
            CaseEvent::Claimed {
                assignee,
                lease_expires_at,
            }
            | CaseEvent::Assigned {
                assignee,
                lease_expires_at,
            } => {
                self.assignee = Some(*assignee);
                self.lease_expires_at = Some(*lease_expires_at);
                self.sla.respond(at);
                if self.status.is_queued() || self.status == CaseStatus::InReview {
                    self.status = CaseStatus::InReview;
                }
            }
            CaseEvent::LeaseRenewed { lease_expires_at } => {
                self.lease_expires_at = Some(*lease_expires_at)
            }
            CaseEvent::LeaseLapsed { .. } | CaseEvent::Released => {
                self.assignee = None;
                self.lease_expires_at = None;
                self.status = CaseStatus::Triaged;
            }
            CaseEvent::MediaMatched { bank, .. } => {
                let mut triage = self.triage_input();
                triage.known_media.insert(bank.clone());
                self.triage = Some(triage);
            }
            CaseEvent::NoteAdded { .. }
            | CaseEvent::Viewed
            | CaseEvent::MediaMatchJudged { .. } => {}
            CaseEvent::TagsChanged { added, removed } => {
                for t in removed {
                    self.tags.remove(t);
                }
                self.tags.extend(added.iter().cloned());
            }
            CaseEvent::ConsultationRequested { .. } => {
                self.open_consultations += 1;
                self.status = CaseStatus::WaitingConsultation;
                self.sla.pause(at);
            }
            CaseEvent::ConsultationAnswered {
                lease_expires_at, ..
            } => {
                self.open_consultations = (self.open_consultations - 1).max(0);
                if self.open_consultations == 0 && self.status == CaseStatus::WaitingConsultation {
                    self.resume(at, *lease_expires_at);
                }
            }
            CaseEvent::InfoRequested { .. } => {
                self.status = CaseStatus::WaitingInfo;
                self.sla.pause(at);
            }
            CaseEvent::InfoReceived {
                lease_expires_at, ..
            } => {
                if self.open_consultations > 0 {
                    self.status = CaseStatus::WaitingConsultation;
                } else {
                    self.resume(at, *lease_expires_at);
                }
            }
            CaseEvent::Decided {
                verdict,
                decision_id,
                awaiting_approval,
                ..
            } => {
                self.verdict = Some(*verdict);
                self.status = CaseStatus::Decided;
                self.sla.resolve(at);
                if *awaiting_approval {
                    self.pending_decision = Some(*decision_id);
                }
            }
            CaseEvent::DecisionApproved { .. } => self.pending_decision = None,
            CaseEvent::DecisionRejected {
                decider,
                lease_expires_at,
                ..
            } => {
                self.pending_decision = None;
                self.verdict = None;
                self.status = CaseStatus::InReview;
                self.sla.resolved_at = None;
                self.assignee = Some(*decider);
                self.lease_expires_at = Some(*lease_expires_at);
            }
            CaseEvent::ActionReversed { .. } | CaseEvent::MessageQueued { .. } => {}
            CaseEvent::AppealFiled {
                appeal_id,
                queue,
                sla,
                excluded_reviewer,
                ..
            } => {
                self.status = CaseStatus::Reopened;
                self.queue.clone_from(queue);
                self.closed_at = None;
                self.verdict = None;
                self.assignee = None;
                self.lease_expires_at = None;
                self.first_response_breached = false;
                self.resolution_breached = false;
                self.sla = SlaClock::start(at, *sla);
                self.open_appeal = Some(*appeal_id);
                self.excluded_reviewer = Some(*excluded_reviewer);
            }
            CaseEvent::AppealDecided { .. } => {
                self.open_appeal = None;
                self.excluded_reviewer = None;
                self.status = CaseStatus::Decided;
                self.sla.resolve(at);
            }
            CaseEvent::Closed => {
                self.status = CaseStatus::Closed;
                self.assignee = None;
                self.lease_expires_at = None;
                self.closed_at = Some(at);
                self.sla.resolve(at);
            }
            CaseEvent::Reopened => {
                self.status = CaseStatus::Reopened;
                self.closed_at = None;
                self.verdict = None;
                self.first_response_breached = false;
                self.resolution_breached = false;
                self.sla = SlaClock::start(at, self.sla.target);
            }
            CaseEvent::Restricted { team } => self.restricted_team = Some(team.clone()),
            CaseEvent::Unrestricted => self.restricted_team = None,
            CaseEvent::SlaBreached { deadline } => match deadline {
                Deadline::FirstResponse => self.first_response_breached = true,
                Deadline::Resolution => self.resolution_breached = true,
            },
        }
    }

    fn resume(&mut self, at: DateTime<Utc>, lease: Option<DateTime<Utc>>) {
        self.status = CaseStatus::InReview;
        self.sla.resume(at);
        // Whoever waited gets a fresh lease, so the answer does not land in someone else's hands.
        if self.assignee.is_some() {
            self.lease_expires_at = lease.or(self.lease_expires_at);
        }
    }

    /// Whether `user` holds a live lease on the case.
    pub fn is_held_by(&self, user: i64, now: DateTime<Utc>) -> bool {
        self.assignee == Some(user)
            && (self.status.is_waiting() || self.lease_expires_at.is_some_and(|l| l > now))
    }

    /// Whether someone may claim the case from its queue now.
    pub fn is_claimable(&self, now: DateTime<Utc>) -> bool {
        self.status.is_queued()
            || (self.status == CaseStatus::InReview
                && self.lease_expires_at.is_none_or(|l| l <= now))
    }

    // ---- commands: each checks the state machine and returns the events to record ----

    pub fn claim(
        &self,
        user: i64,
        now: DateTime<Utc>,
        lease: Duration,
    ) -> Result<Vec<CaseEvent>, Error> {
        if !self.is_claimable(now) {
            return Err(illegal("claim", self.status));
        }
        self.check_not_excluded(user)?;
        let mut events = Vec::new();
        if let (CaseStatus::InReview, Some(prev)) = (self.status, self.assignee) {
            events.push(CaseEvent::LeaseLapsed {
                previous_assignee: prev,
            });
        }
        events.push(CaseEvent::Claimed {
            assignee: user,
            lease_expires_at: now + lease,
        });
        Ok(events)
    }

    /// The original decider of an appealed decision may not review the appeal.
    pub fn check_not_excluded(&self, user: i64) -> Result<(), Error> {
        if self.excluded_reviewer == Some(user) {
            return Err(Error::Forbidden(
                "the appeal must be reviewed by someone other than the original decider".into(),
            ));
        }
        Ok(())
    }

    pub fn assign(
        &self,
        assignee: i64,
        now: DateTime<Utc>,
        lease: Duration,
    ) -> Result<Vec<CaseEvent>, Error> {
        self.check_not_excluded(assignee)?;
        match self.status {
            CaseStatus::Triaged
            | CaseStatus::Reopened
            | CaseStatus::InReview
            | CaseStatus::WaitingConsultation
            | CaseStatus::WaitingInfo => Ok(vec![CaseEvent::Assigned {
                assignee,
                lease_expires_at: now + lease,
            }]),
            from => Err(illegal("assign", from)),
        }
    }

    pub fn release(&self) -> Result<Vec<CaseEvent>, Error> {
        match self.status {
            CaseStatus::InReview => Ok(vec![CaseEvent::Released]),
            from => Err(illegal("release", from)),
        }
    }

    /// Work by the holder keeps the lease alive; renewed once less than half of it is left.
    pub fn renew_lease(&self, user: i64, now: DateTime<Utc>, lease: Duration) -> Option<CaseEvent> {
        let expires = self.lease_expires_at?;
        (self.status == CaseStatus::InReview
            && self.assignee == Some(user)
            && expires - now < lease / 2)
            .then(|| CaseEvent::LeaseRenewed {
                lease_expires_at: now + lease,
            })
    }

    pub fn request_consultation(
        &self,
        consultation_id: i64,
        team: String,
        question: String,
        due_at: DateTime<Utc>,
    ) -> Result<Vec<CaseEvent>, Error> {
        match self.status {
            CaseStatus::InReview | CaseStatus::WaitingConsultation => {
                Ok(vec![CaseEvent::ConsultationRequested {
                    consultation_id,
                    team,
                    question,
                    due_at,
                }])
            }
            from => Err(illegal("request a consultation on", from)),
        }
    }

    pub fn request_info(&self, question: String) -> Result<Vec<CaseEvent>, Error> {
        match self.status {
            CaseStatus::InReview => Ok(vec![CaseEvent::InfoRequested { question }]),
            from => Err(illegal("request information on", from)),
        }
    }

    pub fn receive_info(
        &self,
        details: String,
        lease_until: DateTime<Utc>,
    ) -> Result<Vec<CaseEvent>, Error> {
        match self.status {
            CaseStatus::WaitingInfo => Ok(vec![CaseEvent::InfoReceived {
                details,
                lease_expires_at: Some(lease_until),
            }]),
            from => Err(illegal("record information received on", from)),
        }
    }

    /// Records a decision. Its actions wait for a lead when `awaiting_approval`; otherwise the
    /// case closes. A case open for an appeal is decided through the appeal.
    pub fn decide(
        &self,
        draft: DecisionDraft,
        awaiting_approval: bool,
    ) -> Result<Vec<CaseEvent>, Error> {
        if self.open_appeal.is_some() {
            return Err(Error::Conflict(
                "this case is open for an appeal: decide the appeal".into(),
            ));
        }
        match self.status {
            CaseStatus::InReview => {
                let mut events = vec![draft.decided(awaiting_approval)];
                if !awaiting_approval {
                    events.push(CaseEvent::Closed);
                }
                Ok(events)
            }
            from => Err(illegal("decide", from)),
        }
    }

    /// A decision the desk takes itself (a bank's automatic action on known media): only on a
    /// case waiting for a reviewer, never one somebody holds or one open for an appeal.
    pub fn decide_automatically(&self, draft: DecisionDraft) -> Result<Vec<CaseEvent>, Error> {
        if self.open_appeal.is_some() || self.pending_decision.is_some() {
            return Err(Error::Conflict(
                "a person is deciding this case; the desk does not decide it alone".into(),
            ));
        }
        match self.status {
            CaseStatus::New | CaseStatus::Triaged | CaseStatus::Reopened => {
                Ok(vec![draft.decided(false), CaseEvent::Closed])
            }
            from => Err(illegal("decide automatically", from)),
        }
    }

    /// A lead's approval of the decision waiting on the two-person rule: the case closes.
    pub fn approve(&self, decision_id: i64) -> Result<Vec<CaseEvent>, Error> {
        match (self.status, self.pending_decision) {
            (CaseStatus::Decided, Some(d)) if d == decision_id => Ok(vec![
                CaseEvent::DecisionApproved { decision_id },
                CaseEvent::Closed,
            ]),
            (from, _) => Err(illegal("approve a decision on", from)),
        }
    }

    /// A lead sends the waiting decision back to its decider, who holds the case again.
    pub fn reject(
        &self,
        decision_id: i64,
        decider: i64,
        lease_until: DateTime<Utc>,
    ) -> Result<Vec<CaseEvent>, Error> {
        match (self.status, self.pending_decision) {
            (CaseStatus::Decided, Some(d)) if d == decision_id => {
                Ok(vec![CaseEvent::DecisionRejected {
                    decision_id,
                    decider,
                    lease_expires_at: lease_until,
                }])
            }
            (from, _) => Err(illegal("send back a decision on", from)),
        }
    }

    /// Reopens a closed case for an appeal, into the appeals queue with the appeals SLA.
    pub fn file_appeal(
        &self,
        appeal_id: i64,
        decision_id: i64,
        appellant: super::reply::Audience,
        queue: String,
        sla: SlaTarget,
        original_decider: i64,
    ) -> Result<Vec<CaseEvent>, Error> {
        match self.status {
            CaseStatus::Closed => Ok(vec![CaseEvent::AppealFiled {
                appeal_id,
                decision_id,
                appellant,
                queue,
                sla,
                excluded_reviewer: original_decider,
            }]),
            CaseStatus::Decided if self.pending_decision.is_some() => Err(Error::Conflict(
                "the decision has not taken effect yet (it waits for approval)".into(),
            )),
            _ => Err(Error::Conflict(
                "the case is open again; an appeal can be filed once it is closed".into(),
            )),
        }
    }

    /// Decides the open appeal; the case closes.
    pub fn decide_appeal(
        &self,
        appeal_id: i64,
        outcome: super::events::AppealOutcome,
        new_decision_id: Option<i64>,
    ) -> Result<Vec<CaseEvent>, Error> {
        match (self.status, self.open_appeal) {
            (CaseStatus::InReview, Some(a)) if a == appeal_id => Ok(vec![
                CaseEvent::AppealDecided {
                    appeal_id,
                    outcome,
                    new_decision_id,
                },
                CaseEvent::Closed,
            ]),
            (_, Some(a)) if a == appeal_id => Err(Error::Conflict(
                "claim the appeal's case before deciding it".into(),
            )),
            _ => Err(Error::Conflict("this appeal is not open".into())),
        }
    }

    pub fn reopen(&self) -> Result<Vec<CaseEvent>, Error> {
        match self.status {
            CaseStatus::Closed => Ok(vec![CaseEvent::Reopened]),
            from => Err(illegal("reopen", from)),
        }
    }

    /// Deadlines newly passed at `now`, each recorded once.
    pub fn breaches(&self, now: DateTime<Utc>) -> Vec<CaseEvent> {
        if !self.status.is_open() || self.status == CaseStatus::Decided {
            return Vec::new();
        }
        let view = self.sla.view(now);
        let mut events = Vec::new();
        if view.first_response == DeadlineState::Breached && !self.first_response_breached {
            events.push(CaseEvent::SlaBreached {
                deadline: Deadline::FirstResponse,
            });
        }
        if view.resolution == DeadlineState::Breached && !self.resolution_breached {
            events.push(CaseEvent::SlaBreached {
                deadline: Deadline::Resolution,
            });
        }
        events
    }

    /// The facts triage uses, or a neutral default before any report.
    pub fn triage_input(&self) -> TriageInput {
        self.triage.clone().unwrap_or(TriageInput {
            severity: Severity::Low,
            top_source: Source::User,
            distinct_reporters: 0,
            reach: 0,
            risk_flags: BTreeSet::new(),
            requested_deadline: None,
            known_media: BTreeSet::new(),
        })
    }
}

#[cfg(test)]
mod tests {
    fn draft(decision_id: i64, verdict: Verdict, rationale: &str) -> DecisionDraft {
        DecisionDraft {
            decision_id,
            verdict,
            policy_area: "spam".into(),
            policy: None,
            rationale: rationale.into(),
            actions: vec![],
        }
    }

    use super::*;
    use crate::domain::report::RiskFlag;
    use chrono::TimeZone;

    fn t(min: i64) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 4, 1, 8, 0, 0).unwrap() + Duration::minutes(min)
    }

    const LEASE: Duration = Duration::minutes(30);

    fn triaged_case() -> Case {
        let mut c = Case::empty(7, t(0));
        let events = [
            CaseEvent::Opened {
                subject_kind: SubjectKind::Post,
                external_id: "p1".into(),
                snapshot: Snapshot::default(),
                region: Some("DE".into()),
                language: Some("de".into()),
            },
            CaseEvent::ReportReceived {
                report_id: 1,
                source: Source::User,
                reporter_id: "u1".into(),
                policy_area: "spam".into(),
                triage: TriageInput {
                    severity: Severity::Low,
                    top_source: Source::User,
                    distinct_reporters: 1,
                    reach: 5,
                    risk_flags: [RiskFlag::Election].into(),
                    requested_deadline: None,
                    known_media: BTreeSet::new(),
                },
                snapshot: Snapshot {
                    text: Some("hello".into()),
                    ..Default::default()
                },
            },
            CaseEvent::Triaged {
                priority: Priority::P3,
                score: 20,
                factors: vec![],
                queue: "general".into(),
                sla: SlaTarget {
                    first_response_minutes: 60,
                    resolution_minutes: 240,
                },
                restricted_team: None,
            },
        ];
        for e in &events {
            c.apply(e, t(0));
        }
        c
    }

    /// Applies what a command returned; a macro so the command can borrow the case first.
    macro_rules! run {
        ($c:ident, $events:expr, $at:expr $(,)?) => {{
            let events: Vec<CaseEvent> = $events;
            for e in &events {
                $c.apply(e, $at);
            }
        }};
    }

    #[test]
    fn the_happy_path_from_triage_to_closed() {
        let mut c = triaged_case();
        assert_eq!(c.status, CaseStatus::Triaged);
        assert_eq!(c.version, 3);
        {
            let e = c.claim(1, t(5), LEASE).unwrap();
            run!(c, e, t(5));
        }
        assert_eq!((c.status, c.assignee), (CaseStatus::InReview, Some(1)));
        assert_eq!(c.sla.first_responded_at, Some(t(5)));
        run!(
            c,
            c.decide(draft(9, Verdict::Violating, "spam link"), false)
                .unwrap(),
            t(20),
        );
        assert_eq!(c.status, CaseStatus::Closed);
        assert_eq!(c.assignee, None);
        assert_eq!(c.closed_at, Some(t(20)));
        assert_eq!(c.verdict, Some(Verdict::Violating));
    }

    #[test]
    fn illegal_moves_name_the_current_state() {
        let c = triaged_case();
        let err = c
            .decide(draft(1, Verdict::NotViolating, "x"), false)
            .unwrap_err();
        assert_eq!(err.to_string(), "cannot decide a case that is triaged");
        assert!(matches!(
            c.release(),
            Err(Error::IllegalTransition {
                from: CaseStatus::Triaged,
                ..
            })
        ));
        assert!(matches!(c.reopen(), Err(Error::IllegalTransition { .. })));
        assert!(matches!(
            c.receive_info("x".into(), t(0)),
            Err(Error::IllegalTransition { .. })
        ));
    }

    #[test]
    fn a_held_case_cannot_be_claimed_until_its_lease_lapses() {
        let mut c = triaged_case();
        {
            let e = c.claim(1, t(0), LEASE).unwrap();
            run!(c, e, t(0));
        }
        assert!(c.claim(2, t(10), LEASE).is_err());
        assert!(c.is_held_by(1, t(10)));
        let events = c.claim(2, t(31), LEASE).unwrap();
        assert_eq!(
            events[0],
            CaseEvent::LeaseLapsed {
                previous_assignee: 1
            }
        );
        run!(c, events, t(31));
        assert_eq!(c.assignee, Some(2));
        assert!(!c.is_held_by(1, t(31)));
    }

    #[test]
    fn consultations_pause_the_clock_until_the_last_answer() {
        let mut c = triaged_case();
        {
            let e = c.claim(1, t(0), LEASE).unwrap();
            run!(c, e, t(0));
        }
        run!(
            c,
            c.request_consultation(1, "legal".into(), "q".into(), t(600))
                .unwrap(),
            t(10),
        );
        run!(
            c,
            c.request_consultation(2, "policy".into(), "q".into(), t(600))
                .unwrap(),
            t(10),
        );
        assert_eq!(c.status, CaseStatus::WaitingConsultation);
        assert!(
            c.claim(2, t(100), LEASE).is_err(),
            "a waiting case is not claimable"
        );
        assert!(c.decide(draft(1, Verdict::Refer, "x"), false).is_err());
        c.apply(
            &CaseEvent::ConsultationAnswered {
                consultation_id: 1,
                answer: "a".into(),
                lease_expires_at: None,
            },
            t(70),
        );
        assert_eq!(c.status, CaseStatus::WaitingConsultation);
        c.apply(
            &CaseEvent::ConsultationAnswered {
                consultation_id: 2,
                answer: "b".into(),
                lease_expires_at: None,
            },
            t(130),
        );
        assert_eq!(c.status, CaseStatus::InReview);
        assert_eq!(c.sla.paused_ms, 120 * 60_000);
        assert_eq!(c.sla.resolution_due(t(130)), t(240 + 120));
    }

    #[test]
    fn more_information_pauses_and_resumes() {
        let mut c = triaged_case();
        {
            let e = c.claim(1, t(0), LEASE).unwrap();
            run!(c, e, t(0));
        }
        {
            let e = c.request_info("which post?".into()).unwrap();
            run!(c, e, t(10));
        }
        assert_eq!(c.status, CaseStatus::WaitingInfo);
        assert!(c.sla.view(t(500)).paused);
        {
            let e = c.receive_info("this one".into(), t(100)).unwrap();
            run!(c, e, t(70));
        }
        assert_eq!(c.status, CaseStatus::InReview);
        assert_eq!(c.sla.paused_ms, 60 * 60_000);
    }

    #[test]
    fn breaches_are_recorded_once_and_reset_on_reopen() {
        let mut c = triaged_case();
        let events = c.breaches(t(61));
        assert_eq!(
            events,
            vec![CaseEvent::SlaBreached {
                deadline: Deadline::FirstResponse
            }]
        );
        run!(c, events, t(61));
        assert!(c.breaches(t(62)).is_empty());
        assert_eq!(c.breaches(t(241)).len(), 1);
        {
            let e = c.claim(1, t(241), LEASE).unwrap();
            run!(c, e, t(241));
        }
        run!(
            c,
            c.decide(draft(1, Verdict::NotViolating, "fine"), false)
                .unwrap(),
            t(242),
        );
        assert!(
            c.breaches(t(1000)).is_empty(),
            "a closed case breaches nothing"
        );
        {
            let e = c.reopen().unwrap();
            run!(c, e, t(1000));
        }
        assert_eq!(c.status, CaseStatus::Reopened);
        assert!(!c.first_response_breached);
        assert_eq!(c.sla.first_response_due(t(1000)), t(1060));
        assert!(c.is_claimable(t(1000)));
    }

    #[test]
    fn the_lease_is_renewed_only_when_half_gone() {
        let mut c = triaged_case();
        {
            let e = c.claim(1, t(0), LEASE).unwrap();
            run!(c, e, t(0));
        }
        assert_eq!(c.renew_lease(1, t(10), LEASE), None);
        assert_eq!(c.renew_lease(2, t(20), LEASE), None);
        assert_eq!(
            c.renew_lease(1, t(20), LEASE),
            Some(CaseEvent::LeaseRenewed {
                lease_expires_at: t(50)
            })
        );
    }

    #[test]
    fn replay_rebuilds_the_same_state() {
        let mut c = triaged_case();
        let mut log: Vec<(DateTime<Utc>, CaseEvent)> = Vec::new();
        for (at, evs) in [(t(1), c.claim(1, t(1), LEASE).unwrap())] {
            for e in evs {
                c.apply(&e, at);
                log.push((at, e));
            }
        }
        let mut full = triaged_case();
        let rebuilt = {
            for (at, e) in &log {
                full.apply(e, *at);
            }
            full
        };
        assert_eq!(rebuilt, c);
        let from_nothing = Case::replay(7, log.iter().map(|(a, e)| (*a, e)));
        assert_eq!(from_nothing.map(|c| c.version), Some(1));
    }
}
