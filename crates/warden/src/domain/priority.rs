//! Triage: how urgent a case is, and why.
//!
//! Priority is a sum of points from independent factors, then floors for risks that must never
//! wait (imminent harm is always P0; minor safety at least P1). Each factor is kept with its points
//! and a sentence, so a person can see why a case sits where it does.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;
use utoipa::ToSchema;

use super::report::{RiskFlag, Source};

#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, ToSchema,
)]
pub enum Priority {
    P0,
    P1,
    P2,
    P3,
    P4,
}

impl Priority {
    pub const ALL: [Priority; 5] = [Self::P0, Self::P1, Self::P2, Self::P3, Self::P4];

    /// 0 for P0 … 4 for P4; stored as a number so "ORDER BY priority" is most urgent first.
    pub fn rank(self) -> i64 {
        self as i64
    }

    pub fn from_rank(rank: i64) -> Option<Self> {
        Self::ALL.get(usize::try_from(rank).ok()?).copied()
    }

    pub fn as_str(self) -> &'static str {
        ["P0", "P1", "P2", "P3", "P4"][self as usize]
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL
            .into_iter()
            .find(|p| p.as_str().eq_ignore_ascii_case(s))
    }
}

/// How grave a policy area is, set in the configuration.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    Low,
    Medium,
    High,
    Critical,
}

/// Everything triage looks at, accumulated over all the reports of a case.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct TriageInput {
    pub severity: Severity,
    /// The highest-standing source among the reports.
    pub top_source: Source,
    pub distinct_reporters: u64,
    pub reach: u64,
    pub risk_flags: BTreeSet<RiskFlag>,
    /// The earliest deadline any reporter asked for.
    pub requested_deadline: Option<DateTime<Utc>>,
    /// The banks of known violating media the subject's media matched.
    #[serde(default, skip_serializing_if = "BTreeSet::is_empty")]
    pub known_media: BTreeSet<String>,
}

impl TriageInput {
    /// Folds one more report into the facts.
    pub fn merge(&mut self, other: &TriageInput) {
        self.severity = self.severity.max(other.severity);
        if source_points(other.top_source) > source_points(self.top_source) {
            self.top_source = other.top_source;
        }
        self.distinct_reporters += other.distinct_reporters;
        self.reach = self.reach.max(other.reach);
        self.risk_flags.extend(other.risk_flags.iter().copied());
        self.known_media.extend(other.known_media.iter().cloned());
        self.requested_deadline = match (self.requested_deadline, other.requested_deadline) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
    }
}

/// One reason a case got its priority.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Factor {
    pub name: String,
    pub points: i64,
    pub explanation: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Triage {
    pub priority: Priority,
    pub score: i64,
    pub factors: Vec<Factor>,
}

/// Standing of a source: regulators, law enforcement and trusted flaggers outrank partners,
/// which outrank users (DSA Art. 22 gives trusted flaggers priority by law).
pub fn source_points(source: Source) -> i64 {
    match source {
        Source::Regulator | Source::LawEnforcement => 25,
        Source::Government | Source::TrustedFlagger => 22,
        Source::RightsHolder => 14,
        Source::Partner | Source::Advertiser | Source::Press => 12,
        Source::Internal => 8,
        Source::Automated => 5,
        Source::User => 0,
    }
}

fn severity_points(s: Severity) -> i64 {
    match s {
        Severity::Critical => 45,
        Severity::High => 30,
        Severity::Medium => 18,
        Severity::Low => 6,
    }
}

fn reporter_points(n: u64) -> i64 {
    match n {
        0..=1 => 0,
        2..=4 => 4,
        5..=19 => 8,
        20..=99 => 12,
        _ => 16,
    }
}

fn reach_points(reach: u64) -> i64 {
    match reach {
        0..=999 => 0,
        1_000..=99_999 => 4,
        100_000..=999_999 => 8,
        _ => 14,
    }
}

fn flag_points(flag: RiskFlag) -> (i64, &'static str) {
    match flag {
        RiskFlag::ImminentHarm => (40, "risk of imminent harm to a person"),
        RiskFlag::MinorSafety => (30, "the safety of a minor is at stake"),
        RiskFlag::HighProfile => (10, "a high-profile account is involved"),
        RiskFlag::Election => (10, "the subject concerns an election"),
    }
}

fn deadline_points(deadline: DateTime<Utc>, now: DateTime<Utc>) -> i64 {
    let hours = (deadline - now).num_minutes() as f64 / 60.0;
    if hours <= 4.0 {
        15
    } else if hours <= 24.0 {
        8
    } else if hours <= 72.0 {
        3
    } else {
        0
    }
}

/// Known violating media comes back as copies; a copy waits no longer than a P1.
const KNOWN_MEDIA_POINTS: i64 = 35;

/// Computes priority P0–P4 and the factors behind it.
pub fn triage(input: &TriageInput, now: DateTime<Utc>) -> Triage {
    let mut factors = vec![
        Factor {
            name: "severity".into(),
            points: severity_points(input.severity),
            explanation: format!("the policy area is of {:?} severity", input.severity)
                .to_lowercase(),
        },
        Factor {
            name: "source".into(),
            points: source_points(input.top_source),
            explanation: format!(
                "reported by {}",
                input.top_source.as_str().replace('_', " ")
            ),
        },
    ];
    let rp = reporter_points(input.distinct_reporters);
    if rp > 0 {
        factors.push(Factor {
            name: "reporters".into(),
            points: rp,
            explanation: format!("{} distinct reporters", input.distinct_reporters),
        });
    }
    let reach = reach_points(input.reach);
    if reach > 0 {
        factors.push(Factor {
            name: "reach".into(),
            points: reach,
            explanation: format!("seen by about {} people", input.reach),
        });
    }
    for flag in &input.risk_flags {
        let (points, why) = flag_points(*flag);
        factors.push(Factor {
            name: format!("flag:{}", flag_name(*flag)),
            points,
            explanation: why.into(),
        });
    }
    if let Some(deadline) = input.requested_deadline {
        let points = deadline_points(deadline, now);
        if points > 0 {
            factors.push(Factor {
                name: "requested_deadline".into(),
                points,
                explanation: format!(
                    "the reporter asked for an answer by {}",
                    deadline.to_rfc3339()
                ),
            });
        }
    }
    if !input.known_media.is_empty() {
        let banks: Vec<&str> = input.known_media.iter().map(String::as_str).collect();
        factors.push(Factor {
            name: "known_media".into(),
            points: KNOWN_MEDIA_POINTS,
            explanation: format!(
                "the media matches media already confirmed as violating ({})",
                banks.join(", ")
            ),
        });
    }
    let score: i64 = factors.iter().map(|f| f.points).sum();
    let mut priority = match score {
        80.. => Priority::P0,
        60..=79 => Priority::P1,
        40..=59 => Priority::P2,
        20..=39 => Priority::P3,
        _ => Priority::P4,
    };
    if input.risk_flags.contains(&RiskFlag::ImminentHarm) {
        priority = Priority::P0;
    } else if input.risk_flags.contains(&RiskFlag::MinorSafety) || !input.known_media.is_empty() {
        priority = priority.min(Priority::P1);
    }
    Triage {
        priority,
        score,
        factors,
    }
}

fn flag_name(flag: RiskFlag) -> &'static str {
    match flag {
        RiskFlag::MinorSafety => "minor_safety",
        RiskFlag::ImminentHarm => "imminent_harm",
        RiskFlag::HighProfile => "high_profile",
        RiskFlag::Election => "election",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{Duration, TimeZone};

    fn now() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 3, 2, 14, 0, 0).unwrap()
    }

    fn input(severity: Severity, source: Source) -> TriageInput {
        TriageInput {
            severity,
            top_source: source,
            distinct_reporters: 1,
            reach: 10,
            risk_flags: BTreeSet::new(),
            requested_deadline: None,
            known_media: BTreeSet::new(),
        }
    }

    #[test]
    fn known_media_is_at_least_p1_and_says_which_bank() {
        let mut i = input(Severity::Low, Source::User);
        i.known_media.insert("Confirmed propaganda".into());
        let t = triage(&i, now());
        assert_eq!(t.priority, Priority::P1);
        let f = t.factors.iter().find(|f| f.name == "known_media").unwrap();
        assert!(f.explanation.contains("Confirmed propaganda"));
        let mut other = input(Severity::Low, Source::User);
        other.merge(&i);
        assert_eq!(other.known_media, i.known_media);
    }

    #[test]
    fn a_single_user_report_of_low_severity_is_p4() {
        let t = triage(&input(Severity::Low, Source::User), now());
        assert_eq!(t.priority, Priority::P4);
        assert_eq!(t.score, 6);
    }

    #[test]
    fn sources_rank_regulators_above_partners_above_users() {
        let p = |s| triage(&input(Severity::High, s), now()).score;
        assert!(p(Source::Regulator) > p(Source::Partner));
        assert!(p(Source::LawEnforcement) > p(Source::Partner));
        assert!(p(Source::TrustedFlagger) > p(Source::Partner));
        assert!(p(Source::Partner) > p(Source::User));
    }

    #[test]
    fn imminent_harm_is_always_p0_and_minor_safety_at_least_p1() {
        let mut i = input(Severity::Low, Source::User);
        i.risk_flags.insert(RiskFlag::MinorSafety);
        assert_eq!(triage(&i, now()).priority, Priority::P1);
        i.risk_flags.insert(RiskFlag::ImminentHarm);
        assert_eq!(triage(&i, now()).priority, Priority::P0);
    }

    #[test]
    fn more_reporters_and_reach_raise_priority() {
        let base = input(Severity::Medium, Source::User);
        let mut many = base.clone();
        many.distinct_reporters = 150;
        many.reach = 5_000_000;
        let (a, b) = (triage(&base, now()), triage(&many, now()));
        assert!(
            b.priority < a.priority,
            "{:?} should outrank {:?}",
            b.priority,
            a.priority
        );
        assert!(
            b.factors
                .iter()
                .any(|f| f.name == "reporters" && f.points == 16)
        );
        assert!(
            b.factors
                .iter()
                .any(|f| f.name == "reach" && f.points == 14)
        );
    }

    #[test]
    fn a_near_requested_deadline_counts_and_a_far_one_does_not() {
        let mut i = input(Severity::High, Source::Partner);
        i.requested_deadline = Some(now() + Duration::hours(3));
        let near = triage(&i, now());
        i.requested_deadline = Some(now() + Duration::days(10));
        let far = triage(&i, now());
        assert_eq!(near.score - far.score, 15);
    }

    #[test]
    fn merge_keeps_the_worst_of_every_fact() {
        let mut a = input(Severity::Medium, Source::User);
        let mut b = input(Severity::Critical, Source::Regulator);
        b.reach = 99;
        b.requested_deadline = Some(now());
        b.risk_flags.insert(RiskFlag::Election);
        a.reach = 500;
        a.merge(&b);
        assert_eq!(a.severity, Severity::Critical);
        assert_eq!(a.top_source, Source::Regulator);
        assert_eq!(a.distinct_reporters, 2);
        assert_eq!(a.reach, 500);
        assert_eq!(a.requested_deadline, Some(now()));
        assert!(a.risk_flags.contains(&RiskFlag::Election));
    }

    #[test]
    fn priority_rank_round_trips() {
        for p in Priority::ALL {
            assert_eq!(Priority::from_rank(p.rank()), Some(p));
            assert_eq!(Priority::parse(p.as_str()), Some(p));
        }
        assert_eq!(Priority::from_rank(5), None);
    }
}
