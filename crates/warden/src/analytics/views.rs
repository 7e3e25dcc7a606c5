//! The views analysts query, and what each column means: the one description of them. The
//! database holds them as `analyst_*` views (created by the migrations; on PostgreSQL with these
//! descriptions as comments, which a test holds to this catalogue); analysts name them plainly
//! (`cases`, `reports`, …) and get only the rows they may see.
//!
//! Times are ISO 8601 text in UTC to the millisecond (`2026-05-04T09:00:00.000Z`) on both engines,
//! so they sort as text and `substr(opened_at, 1, 10)` is the day on either. Flags are 0 or 1.

use serde::Serialize;
use utoipa::ToSchema;

/// What a column holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ColumnType {
    Integer,
    Text,
    /// ISO 8601 text in UTC to the millisecond.
    Time,
    /// 0 or 1.
    Flag,
}

impl ColumnType {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Integer => "integer",
            Self::Text => "text",
            Self::Time => "time",
            Self::Flag => "flag",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Column {
    pub name: &'static str,
    pub kind: ColumnType,
    pub description: &'static str,
}

/// Which rows of a view a caller may see.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// The view is the cases: a row is visible when its `restricted_team` is empty or the caller's.
    Cases,
    /// Each row belongs to a case (`case_id`) and is visible when that case is.
    OfCase,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct View {
    /// The name analysts use.
    pub name: &'static str,
    /// The view in the database (never named by analysts).
    pub relation: &'static str,
    pub description: &'static str,
    pub columns: &'static [Column],
    pub scope: Scope,
}

const fn col(name: &'static str, kind: ColumnType, description: &'static str) -> Column {
    Column {
        name,
        kind,
        description,
    }
}

use ColumnType::{Flag, Integer, Text, Time};

pub const VIEWS: &[View] = &[
    View {
        name: "cases",
        relation: "analyst_cases",
        description: "One row per case: where it waits, how urgent it is, its deadlines and whether they were missed.",
        scope: Scope::Cases,
        columns: &[
            col("case_id", Integer, "The case number."),
            col(
                "subject_kind",
                Text,
                "What the case is about: account, post, comment, photo, video, message, ad, page, group or url.",
            ),
            col(
                "status",
                Text,
                "new, triaged, in_review, waiting_consultation, waiting_info, decided, closed or reopened.",
            ),
            col("priority", Integer, "0 for P0 (most urgent) to 4 for P4."),
            col(
                "queue",
                Text,
                "The queue the case waits in or was worked from.",
            ),
            col("policy_area", Text, "The most severe policy area reported."),
            col(
                "source",
                Text,
                "The channel of the first report: user, trusted_flagger, regulator, government, law_enforcement, partner, advertiser, press, rights_holder, internal or automated.",
            ),
            col(
                "region",
                Text,
                "The region or country of the subject, where known.",
            ),
            col(
                "language",
                Text,
                "The language of the subject, where known.",
            ),
            col(
                "restricted_team",
                Text,
                "The team a restricted case is visible to; empty for unrestricted cases.",
            ),
            col(
                "assignee",
                Text,
                "The username of the reviewer holding the case; empty when nobody does.",
            ),
            col("report_count", Integer, "Reports joined into the case."),
            col("opened_at", Time, "When the case was opened."),
            col("updated_at", Time, "When the case last changed."),
            col(
                "closed_at",
                Time,
                "When the case was closed; empty while open.",
            ),
            col("first_response_due", Time, "The first-response deadline."),
            col(
                "first_responded_at",
                Time,
                "When the case was first responded to; empty until then.",
            ),
            col("resolution_due", Time, "The resolution deadline."),
            col(
                "first_response_breached",
                Flag,
                "1 when the first-response deadline was missed.",
            ),
            col(
                "resolution_breached",
                Flag,
                "1 when the resolution deadline was missed.",
            ),
            col(
                "sla_paused",
                Flag,
                "1 while the deadlines are paused (waiting on a consultation or more information).",
            ),
        ],
    },
    View {
        name: "reports",
        relation: "analyst_reports",
        description: "One row per incoming report; several reports about one subject join one case.",
        scope: Scope::OfCase,
        columns: &[
            col("report_id", Integer, "The report number."),
            col("case_id", Integer, "The case the report joined."),
            col(
                "source",
                Text,
                "The channel: user, trusted_flagger, regulator, government, law_enforcement, partner, advertiser, press, rights_holder, internal or automated.",
            ),
            col("policy_area", Text, "The policy area the reporter named."),
            col(
                "jurisdiction",
                Text,
                "The country whose law the report invokes, where it invokes one.",
            ),
            col("received_at", Time, "When the report arrived."),
        ],
    },
    View {
        name: "decisions",
        relation: "analyst_decisions",
        description: "One row per decision on a case, including those held for approval, rejected or overturned on appeal.",
        scope: Scope::OfCase,
        columns: &[
            col("decision_id", Integer, "The decision number."),
            col("case_id", Integer, "The case decided."),
            col(
                "verdict",
                Text,
                "violating, not_violating, needs_info or refer.",
            ),
            col("policy_area", Text, "The policy area decided under."),
            col(
                "policy_ref",
                Text,
                "The exact policy version applied (id@version).",
            ),
            col(
                "state",
                Text,
                "awaiting_approval, effective, rejected, overturned or superseded.",
            ),
            col(
                "restricts",
                Flag,
                "1 when the decision restricts something (and so has a statement of reasons).",
            ),
            col(
                "dsa_ground",
                Text,
                "The statement of reasons' decision ground: DECISION_GROUND_ILLEGAL_CONTENT or DECISION_GROUND_INCOMPATIBLE_CONTENT; empty without a statement.",
            ),
            col(
                "reviewer",
                Text,
                "The username of the reviewer who decided.",
            ),
            col("decided_at", Time, "When the decision was made."),
            col(
                "approver",
                Text,
                "The username of the lead who approved it under the two-person rule; empty otherwise.",
            ),
            col(
                "effective_at",
                Time,
                "When the decision took effect; empty while held or if it never did.",
            ),
        ],
    },
    View {
        name: "actions",
        relation: "analyst_actions",
        description: "One row per enforcement action of a decision (remove, restrict, geo-block, strike, suspend, ...).",
        scope: Scope::OfCase,
        columns: &[
            col("action_id", Integer, "The action number."),
            col(
                "decision_id",
                Integer,
                "The decision the action belongs to.",
            ),
            col("case_id", Integer, "The case decided."),
            col(
                "kind",
                Text,
                "What the action does: remove, restrict_visibility, age_restrict, label, demote, geo_block, demonetise, strike, suspend_account, disable_account, reject_ad or no_action.",
            ),
            col(
                "state",
                Text,
                "held (waits for approval), active, expired, reversed or cancelled.",
            ),
            col("created_at", Time, "When the action was decided."),
            col(
                "until_at",
                Time,
                "When a temporary action ends; empty for permanent ones.",
            ),
            col(
                "ended_at",
                Time,
                "When the action ended (expired, reversed or cancelled); empty while it holds.",
            ),
        ],
    },
    View {
        name: "appeals",
        relation: "analyst_appeals",
        description: "One row per appeal against a decision, with its outcome once decided.",
        scope: Scope::OfCase,
        columns: &[
            col("appeal_id", Integer, "The appeal number."),
            col("case_id", Integer, "The case of the appealed decision."),
            col("decision_id", Integer, "The decision appealed."),
            col(
                "appellant",
                Text,
                "Who appealed: affected_user or reporter.",
            ),
            col("language", Text, "The language of the appeal, where known."),
            col("state", Text, "Where the appeal stands (open or decided)."),
            col(
                "outcome",
                Text,
                "upheld, overturned or modified; empty until decided.",
            ),
            col(
                "reviewer",
                Text,
                "The username of the second reviewer who decided it.",
            ),
            col("filed_at", Time, "When the appeal was filed."),
            col(
                "decided_at",
                Time,
                "When the appeal was decided; empty until then.",
            ),
            col(
                "new_decision_id",
                Integer,
                "The decision that replaced the appealed one, when it was overturned or modified.",
            ),
        ],
    },
    View {
        name: "events",
        relation: "analyst_events",
        description: "Every change to a case, in order: the audit trail (without the changes' payloads).",
        scope: Scope::OfCase,
        columns: &[
            col(
                "event_id",
                Integer,
                "The event number, increasing over all cases.",
            ),
            col("case_id", Integer, "The case changed."),
            col(
                "seq",
                Integer,
                "The position of the event in its case's history, from 1.",
            ),
            col("entity", Text, "What changed: the case or a part of it."),
            col(
                "kind",
                Text,
                "What happened (opened, claimed, decided, ...).",
            ),
            col(
                "actor",
                Text,
                "The username of who made the change, or system.",
            ),
            col("at", Time, "When it happened."),
            col("reason", Text, "The reason given, where one was."),
        ],
    },
];

/// The view analysts know by `name` (in any letter case).
pub fn view(name: &str) -> Option<&'static View> {
    VIEWS.iter().find(|v| v.name.eq_ignore_ascii_case(name))
}

/// The names analysts may use, for messages.
pub fn names() -> String {
    VIEWS.iter().map(|v| v.name).collect::<Vec<_>>().join(", ")
}

fn quoted(text: &str) -> String {
    format!("'{}'", text.replace('\'', "''"))
}

/// The catalogue as PostgreSQL comments on the views and their columns, one statement a line:
/// the PostgreSQL migration carries exactly these.
pub fn postgres_comments() -> Vec<String> {
    let mut lines = Vec::new();
    for v in VIEWS {
        lines.push(format!(
            "COMMENT ON VIEW {} IS {};",
            v.relation,
            quoted(v.description)
        ));
        for c in v.columns {
            lines.push(format!(
                "COMMENT ON COLUMN {}.{} IS {};",
                v.relation,
                c.name,
                quoted(&format!("{} ({})", c.description, c.kind.as_str()))
            ));
        }
    }
    lines
}

#[cfg(test)]
mod tests {
    use super::*;

    const POSTGRES_MIGRATION: &str = include_str!("../../migrations/postgres/0006_analytics.sql");

    #[test]
    fn the_postgres_comments_are_the_catalogue() {
        let generated = postgres_comments();
        let in_migration: Vec<&str> = POSTGRES_MIGRATION
            .lines()
            .filter(|l| l.starts_with("COMMENT ON"))
            .collect();
        assert_eq!(
            in_migration,
            generated.iter().map(String::as_str).collect::<Vec<_>>(),
            "the comments in migrations/postgres/0006_analytics.sql differ from the catalogue; \
             the catalogue's are:\n{}",
            generated.join("\n")
        );
    }

    #[test]
    fn names_are_unique_and_every_view_is_documented() {
        let mut names: Vec<&str> = VIEWS.iter().map(|v| v.name).collect();
        names.sort();
        names.dedup();
        assert_eq!(names.len(), VIEWS.len());
        for v in VIEWS {
            assert_eq!(v.relation, format!("analyst_{}", v.name));
            assert!(!v.description.is_empty());
            let mut cols: Vec<&str> = v.columns.iter().map(|c| c.name).collect();
            cols.sort();
            cols.dedup();
            assert_eq!(cols.len(), v.columns.len(), "{}", v.name);
            assert!(v.columns.iter().all(|c| !c.description.is_empty()));
            match v.scope {
                Scope::Cases => assert!(cols.contains(&"restricted_team")),
                Scope::OfCase => assert!(cols.contains(&"case_id")),
            }
        }
    }
}
