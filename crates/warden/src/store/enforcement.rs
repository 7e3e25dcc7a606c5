//! Storage of the policy registry, decisions and their actions, strikes, statements of reasons,
//! messages, appeals, and the delivery outbox.

use chrono::{DateTime, NaiveDate, Utc};
use serde::Serialize;
use sqlx::{AnyConnection, Row};
use utoipa::ToSchema;

use super::rows::{self, Table};
use super::{Arg, Db};
use crate::clock::{from_millis, to_millis};
use crate::domain::enforcement::{ActionSpec, Strike};
use crate::domain::policy::Policy;
use crate::error::{Error, Result};

/// A query whose text is assembled from this module's constant column lists, never from input.
fn dynamic(sql: String) -> sqlx::query::Query<'static, sqlx::Any, sqlx::any::AnyArguments> {
    super::query_with_args(sql, &[])
}

fn json<T: serde::de::DeserializeOwned>(text: &str, what: &str) -> Result<T> {
    serde_json::from_str(text)
        .map_err(|e| Error::Internal(format!("stored {what} unreadable: {e}")))
}

fn opt_millis(r: &sqlx::any::AnyRow, i: usize) -> Result<Option<DateTime<Utc>>> {
    Ok(r.try_get::<Option<i64>, _>(i)?.map(from_millis))
}

// ---- policies ----

/// A policy version as the registry holds it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct PolicyRecord {
    #[serde(flatten)]
    pub policy: Policy,
    /// When this version was added to the registry.
    pub recorded_at: DateTime<Utc>,
}

const POLICY_COLUMNS: &str = "doc, recorded_at FROM policies";

fn policy_from_row(r: &sqlx::any::AnyRow) -> Result<PolicyRecord> {
    Ok(PolicyRecord {
        policy: json(&r.try_get::<String, _>(0)?, "policy")?,
        recorded_at: from_millis(r.try_get(1)?),
    })
}

/// Adds a version; an existing `(id, version)` is never overwritten.
pub async fn insert_policy(
    conn: &mut AnyConnection,
    p: &Policy,
    by: Option<i64>,
    at: DateTime<Utc>,
) -> Result<()> {
    let done = sqlx::query(
        "INSERT INTO policies (id, version, effective_on, doc, recorded_at, recorded_by) \
         VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (id, version) DO NOTHING",
    )
    .bind(p.id.clone())
    .bind(p.version)
    .bind(p.effective.to_string())
    .bind(serde_json::to_string(p)?)
    .bind(to_millis(at))
    .bind(by)
    .execute(&mut *conn)
    .await?;
    if done.rows_affected() == 0 {
        return Err(Error::Conflict(format!(
            "{}@{} exists; a new text needs a new version",
            p.id, p.version
        )));
    }
    Ok(())
}

pub async fn policy_exists(conn: &mut AnyConnection, id: &str, version: i64) -> Result<bool> {
    Ok(
        sqlx::query("SELECT 1 FROM policies WHERE id = $1 AND version = $2")
            .bind(id.to_string())
            .bind(version)
            .fetch_optional(&mut *conn)
            .await?
            .is_some(),
    )
}

/// Every version of every policy, by id then version.
pub async fn all_policies(db: &Db) -> Result<Vec<PolicyRecord>> {
    let rows = dynamic(format!("SELECT {POLICY_COLUMNS} ORDER BY id, version"))
        .fetch_all(db.reader())
        .await?;
    rows.iter().map(policy_from_row).collect()
}

pub async fn policy_versions(db: &Db, id: &str) -> Result<Vec<PolicyRecord>> {
    let rows = dynamic(format!(
        "SELECT {POLICY_COLUMNS} WHERE id = $1 ORDER BY version"
    ))
    .bind(id.to_string())
    .fetch_all(db.reader())
    .await?;
    rows.iter().map(policy_from_row).collect()
}

/// Versions added to the registry after `since`.
pub async fn policies_recorded_since(db: &Db, since: DateTime<Utc>) -> Result<Vec<PolicyRecord>> {
    let rows = dynamic(format!(
        "SELECT {POLICY_COLUMNS} WHERE recorded_at > $1 ORDER BY recorded_at, id, version"
    ))
    .bind(to_millis(since))
    .fetch_all(db.reader())
    .await?;
    rows.iter().map(policy_from_row).collect()
}

pub async fn policies_last_seen(db: &Db, user: i64) -> Result<Option<DateTime<Utc>>> {
    let row = sqlx::query("SELECT seen_at FROM policy_reads WHERE user_id = $1")
        .bind(user)
        .fetch_optional(db.reader())
        .await?;
    row.map(|r| Ok(from_millis(r.try_get(0)?))).transpose()
}

pub async fn mark_policies_seen(
    conn: &mut AnyConnection,
    user: i64,
    at: DateTime<Utc>,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO policy_reads (user_id, seen_at) VALUES ($1, $2) \
         ON CONFLICT (user_id) DO UPDATE SET seen_at = excluded.seen_at",
    )
    .bind(user)
    .bind(to_millis(at))
    .execute(&mut *conn)
    .await?;
    Ok(())
}

// ---- decisions ----

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum DecisionState {
    AwaitingApproval,
    Effective,
    Rejected,
    Overturned,
    Superseded,
}

impl DecisionState {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::AwaitingApproval => "awaiting_approval",
            Self::Effective => "effective",
            Self::Rejected => "rejected",
            Self::Overturned => "overturned",
            Self::Superseded => "superseded",
        }
    }

    fn parse(s: &str) -> Result<Self> {
        [
            Self::AwaitingApproval,
            Self::Effective,
            Self::Rejected,
            Self::Overturned,
            Self::Superseded,
        ]
        .into_iter()
        .find(|d| d.as_str() == s)
        .ok_or_else(|| Error::Internal(format!("unknown decision state {s}")))
    }
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct DecisionRecord {
    pub id: i64,
    pub case_id: i64,
    pub verdict: String,
    pub policy_area: String,
    /// The exact policy applied, `id@version`.
    pub policy: Option<String>,
    /// Internal reasoning, for reviewers and auditors.
    pub rationale: String,
    /// The facts and reasons as told to the people affected and in the statement of reasons.
    pub explanation: Option<String>,
    pub actions: Vec<ActionSpec>,
    pub decided_by: i64,
    pub decided_at: DateTime<Utc>,
    pub state: DecisionState,
    pub approval_reasons: Vec<String>,
    pub approved_by: Option<i64>,
    /// When the decision took effect and was communicated.
    pub effective_at: Option<DateTime<Utc>>,
    pub restricts: bool,
    /// The account the decision acts on, if any.
    pub account_id: Option<String>,
    /// Taken by the desk itself (a bank's automatic action on a match), not by a person.
    pub automated: bool,
}

const DECISION_COLUMNS: &str = "id, case_id, verdict, policy_area, policy_ref, rationale, explanation, \
     actions, decided_by, decided_at, state, approval_reasons, approved_by, effective_at, restricts, account_id, \
     automated FROM decisions";

fn decision_from_row(r: &sqlx::any::AnyRow) -> Result<DecisionRecord> {
    Ok(DecisionRecord {
        id: r.try_get(0)?,
        case_id: r.try_get(1)?,
        verdict: r.try_get(2)?,
        policy_area: r.try_get(3)?,
        policy: r.try_get(4)?,
        rationale: r.try_get(5)?,
        explanation: r.try_get(6)?,
        actions: json(&r.try_get::<String, _>(7)?, "actions")?,
        decided_by: r.try_get(8)?,
        decided_at: from_millis(r.try_get(9)?),
        state: DecisionState::parse(&r.try_get::<String, _>(10)?)?,
        approval_reasons: json(&r.try_get::<String, _>(11)?, "approval reasons")?,
        approved_by: r.try_get(12)?,
        effective_at: opt_millis(r, 13)?,
        restricts: r.try_get::<i64, _>(14)? != 0,
        account_id: r.try_get(15)?,
        automated: r.try_get::<i64, _>(16)? != 0,
    })
}

pub struct NewDecision<'a> {
    pub case_id: i64,
    pub verdict: &'a str,
    pub policy_area: &'a str,
    pub policy: Option<&'a str>,
    pub rationale: &'a str,
    pub explanation: Option<&'a str>,
    pub actions: &'a [ActionSpec],
    pub decided_by: i64,
    pub decided_at: DateTime<Utc>,
    pub state: DecisionState,
    pub approval_reasons: &'a [String],
    pub restricts: bool,
    pub account_id: Option<&'a str>,
    pub automated: bool,
}

pub async fn insert_decision(conn: &mut AnyConnection, d: NewDecision<'_>) -> Result<i64> {
    let effective_at = (d.state == DecisionState::Effective).then(|| to_millis(d.decided_at));
    let row = sqlx::query(
        "INSERT INTO decisions (case_id, verdict, policy_area, policy_ref, rationale, explanation, actions, \
         decided_by, decided_at, state, approval_reasons, effective_at, restricts, account_id, automated) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15) RETURNING id",
    )
    .bind(d.case_id)
    .bind(d.verdict.to_string())
    .bind(d.policy_area.to_string())
    .bind(d.policy.map(str::to_string))
    .bind(d.rationale.to_string())
    .bind(d.explanation.map(str::to_string))
    .bind(serde_json::to_string(d.actions)?)
    .bind(d.decided_by)
    .bind(to_millis(d.decided_at))
    .bind(d.state.as_str())
    .bind(serde_json::to_string(d.approval_reasons)?)
    .bind(effective_at)
    .bind(i64::from(d.restricts))
    .bind(d.account_id.map(str::to_string))
    .bind(i64::from(d.automated))
    .fetch_one(&mut *conn)
    .await?;
    Ok(row.try_get(0)?)
}

pub async fn get_decision(db: &Db, id: i64) -> Result<Option<DecisionRecord>> {
    let row = dynamic(format!("SELECT {DECISION_COLUMNS} WHERE id = $1"))
        .bind(id)
        .fetch_optional(db.reader())
        .await?;
    row.map(|r| decision_from_row(&r)).transpose()
}

/// Reads a decision inside a transaction (after its case is locked).
pub async fn read_decision(conn: &mut AnyConnection, id: i64) -> Result<Option<DecisionRecord>> {
    let row = dynamic(format!("SELECT {DECISION_COLUMNS} WHERE id = $1"))
        .bind(id)
        .fetch_optional(&mut *conn)
        .await?;
    row.map(|r| decision_from_row(&r)).transpose()
}

pub async fn decisions_for_case(db: &Db, case_id: i64) -> Result<Vec<DecisionRecord>> {
    let rows = dynamic(format!(
        "SELECT {DECISION_COLUMNS} WHERE case_id = $1 ORDER BY id"
    ))
    .bind(case_id)
    .fetch_all(db.reader())
    .await?;
    rows.iter().map(decision_from_row).collect()
}

/// Decisions waiting for a lead's approval on cases these teams may see, oldest first.
pub async fn decisions_awaiting_approval(
    db: &Db,
    teams: &[String],
    limit: i64,
) -> Result<Vec<DecisionRecord>> {
    let mut p = super::cases::Params::default();
    let visible = p.case_visible_to("decisions", teams);
    let limit = p.int(limit);
    let sql = format!(
        "SELECT {DECISION_COLUMNS} WHERE state = 'awaiting_approval' \
         AND {visible} ORDER BY decided_at, id LIMIT {limit}"
    );
    let rows = super::query_with_args(sql, &p.0)
        .fetch_all(db.reader())
        .await?;
    rows.iter().map(decision_from_row).collect()
}

pub async fn set_decision_state(
    conn: &mut AnyConnection,
    id: i64,
    state: DecisionState,
    approved_by: Option<i64>,
    effective_at: Option<DateTime<Utc>>,
) -> Result<()> {
    sqlx::query(
        "UPDATE decisions SET state = $1, approved_by = COALESCE($2, approved_by), \
         effective_at = COALESCE($3, effective_at) WHERE id = $4",
    )
    .bind(state.as_str())
    .bind(approved_by)
    .bind(effective_at.map(to_millis))
    .bind(id)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

// ---- actions ----

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ActionState {
    /// Waits for a lead's approval.
    Held,
    Active,
    Expired,
    Reversed,
    /// Never took effect (the decision was sent back).
    Cancelled,
}

impl ActionState {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Held => "held",
            Self::Active => "active",
            Self::Expired => "expired",
            Self::Reversed => "reversed",
            Self::Cancelled => "cancelled",
        }
    }

    fn parse(s: &str) -> Result<Self> {
        [
            Self::Held,
            Self::Active,
            Self::Expired,
            Self::Reversed,
            Self::Cancelled,
        ]
        .into_iter()
        .find(|d| d.as_str() == s)
        .ok_or_else(|| Error::Internal(format!("unknown action state {s}")))
    }
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ActionRecord {
    pub id: i64,
    pub decision_id: i64,
    pub case_id: i64,
    #[serde(flatten)]
    pub spec: ActionSpec,
    pub state: ActionState,
    pub created_at: DateTime<Utc>,
    pub ended_at: Option<DateTime<Utc>>,
}

const ACTION_COLUMNS: &str =
    "id, decision_id, case_id, spec, state, created_at, ended_at FROM enforcement_actions";

fn action_from_row(r: &sqlx::any::AnyRow) -> Result<ActionRecord> {
    Ok(ActionRecord {
        id: r.try_get(0)?,
        decision_id: r.try_get(1)?,
        case_id: r.try_get(2)?,
        spec: json(&r.try_get::<String, _>(3)?, "action")?,
        state: ActionState::parse(&r.try_get::<String, _>(4)?)?,
        created_at: from_millis(r.try_get(5)?),
        ended_at: opt_millis(r, 6)?,
    })
}

pub async fn insert_action(
    conn: &mut AnyConnection,
    decision_id: i64,
    case_id: i64,
    spec: &ActionSpec,
    state: ActionState,
    at: DateTime<Utc>,
) -> Result<i64> {
    let row = sqlx::query(
        "INSERT INTO enforcement_actions (decision_id, case_id, kind, spec, until_at, state, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
    )
    .bind(decision_id)
    .bind(case_id)
    .bind(spec.kind.as_str())
    .bind(serde_json::to_string(spec)?)
    .bind(spec.until.map(to_millis))
    .bind(state.as_str())
    .bind(to_millis(at))
    .fetch_one(&mut *conn)
    .await?;
    Ok(row.try_get(0)?)
}

pub async fn actions_for_decision(
    conn: &mut AnyConnection,
    decision_id: i64,
) -> Result<Vec<ActionRecord>> {
    let rows = dynamic(format!(
        "SELECT {ACTION_COLUMNS} WHERE decision_id = $1 ORDER BY id"
    ))
    .bind(decision_id)
    .fetch_all(&mut *conn)
    .await?;
    rows.iter().map(action_from_row).collect()
}

pub async fn actions_for_case(db: &Db, case_id: i64) -> Result<Vec<ActionRecord>> {
    actions_of_case(&mut *db.reader().acquire().await?, case_id).await
}

/// A case's actions, read on the caller's connection (inside its transaction).
pub async fn actions_of_case(conn: &mut AnyConnection, case_id: i64) -> Result<Vec<ActionRecord>> {
    let rows = dynamic(format!(
        "SELECT {ACTION_COLUMNS} WHERE case_id = $1 ORDER BY id"
    ))
    .bind(case_id)
    .fetch_all(&mut *conn)
    .await?;
    rows.iter().map(action_from_row).collect()
}

pub async fn set_action_state(
    conn: &mut AnyConnection,
    id: i64,
    state: ActionState,
    ended_at: Option<DateTime<Utc>>,
) -> Result<()> {
    sqlx::query("UPDATE enforcement_actions SET state = $1, ended_at = $2 WHERE id = $3")
        .bind(state.as_str())
        .bind(ended_at.map(to_millis))
        .bind(id)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// Cases with an active action whose end date has passed.
pub async fn cases_with_expired_actions(
    db: &Db,
    now: DateTime<Utc>,
    limit: i64,
) -> Result<Vec<i64>> {
    let rows = sqlx::query(
        "SELECT DISTINCT case_id FROM enforcement_actions \
         WHERE state = 'active' AND until_at IS NOT NULL AND until_at <= $1 LIMIT $2",
    )
    .bind(to_millis(now))
    .bind(limit)
    .fetch_all(db.reader())
    .await?;
    rows.iter().map(|r| Ok(r.try_get(0)?)).collect()
}

// ---- strikes ----

pub async fn insert_strike(
    conn: &mut AnyConnection,
    account_id: &str,
    decision_id: i64,
    policy_ref: &str,
    weight: i64,
    issued_at: DateTime<Utc>,
    expires_at: DateTime<Utc>,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO strikes (account_id, decision_id, policy_ref, weight, issued_at, expires_at) \
         VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(account_id.to_string())
    .bind(decision_id)
    .bind(policy_ref.to_string())
    .bind(weight)
    .bind(to_millis(issued_at))
    .bind(to_millis(expires_at))
    .execute(&mut *conn)
    .await?;
    Ok(())
}

pub async fn strikes_for_account(db: &Db, account_id: &str) -> Result<Vec<Strike>> {
    let rows = sqlx::query(
        "SELECT id, decision_id, policy_ref, weight, issued_at, expires_at, removed_at FROM strikes \
         WHERE account_id = $1 ORDER BY issued_at, id",
    )
    .bind(account_id.to_string())
    .fetch_all(db.reader())
    .await?;
    rows.iter()
        .map(|r| {
            Ok(Strike {
                id: r.try_get(0)?,
                decision_id: r.try_get(1)?,
                policy: r.try_get(2)?,
                weight: r.try_get(3)?,
                issued_at: from_millis(r.try_get(4)?),
                expires_at: from_millis(r.try_get(5)?),
                removed_at: opt_millis(r, 6)?,
            })
        })
        .collect()
}

pub async fn remove_strikes_of_decision(
    conn: &mut AnyConnection,
    decision_id: i64,
    at: DateTime<Utc>,
) -> Result<u64> {
    Ok(sqlx::query(
        "UPDATE strikes SET removed_at = $1 WHERE decision_id = $2 AND removed_at IS NULL",
    )
    .bind(to_millis(at))
    .bind(decision_id)
    .execute(&mut *conn)
    .await?
    .rows_affected())
}

// ---- statements of reasons ----

pub async fn insert_statement(
    conn: &mut AnyConnection,
    decision_id: i64,
    statement: &transparency::Statement,
    at: DateTime<Utc>,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO statements (decision_id, puid, body, created_at) VALUES ($1, $2, $3, $4)",
    )
    .bind(decision_id)
    .bind(statement.puid.clone())
    .bind(serde_json::to_string(statement)?)
    .bind(to_millis(at))
    .execute(&mut *conn)
    .await?;
    Ok(())
}

pub async fn get_statement(db: &Db, decision_id: i64) -> Result<Option<transparency::Statement>> {
    let row = sqlx::query("SELECT body FROM statements WHERE decision_id = $1")
        .bind(decision_id)
        .fetch_optional(db.reader())
        .await?;
    row.map(|r| json(&r.try_get::<String, _>(0)?, "statement"))
        .transpose()
}

/// Statements issued at or after `since`, in the order they were issued, a page at a time.
pub async fn statements_since(
    db: &Db,
    since: DateTime<Utc>,
    after_decision: i64,
    limit: i64,
) -> Result<Vec<(i64, transparency::Statement)>> {
    let rows = sqlx::query(
        "SELECT decision_id, body FROM statements WHERE created_at >= $1 AND decision_id > $2 \
         ORDER BY decision_id LIMIT $3",
    )
    .bind(to_millis(since))
    .bind(after_decision)
    .bind(limit)
    .fetch_all(db.reader())
    .await?;
    rows.iter()
        .map(|r| {
            Ok((
                r.try_get(0)?,
                json(&r.try_get::<String, _>(1)?, "statement")?,
            ))
        })
        .collect()
}

// ---- messages ----

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct MessageRecord {
    pub id: i64,
    pub case_id: i64,
    pub decision_id: Option<i64>,
    pub appeal_id: Option<i64>,
    pub report_id: Option<i64>,
    pub purpose: String,
    pub audience: String,
    /// The platform's id of the person or organisation addressed.
    pub recipient: String,
    pub language: String,
    pub subject: String,
    pub body: String,
    pub created_at: DateTime<Utc>,
}

pub struct NewMessage<'a> {
    pub case_id: i64,
    pub decision_id: Option<i64>,
    pub appeal_id: Option<i64>,
    pub report_id: Option<i64>,
    pub purpose: &'a str,
    pub audience: &'a str,
    pub recipient: &'a str,
    pub language: &'a str,
    pub subject: &'a str,
    pub body: &'a str,
    pub at: DateTime<Utc>,
}

pub const MESSAGES: Table = Table {
    name: "messages",
    columns: &[
        "id",
        "case_id",
        "decision_id",
        "appeal_id",
        "report_id",
        "purpose",
        "audience",
        "recipient",
        "language",
        "subject",
        "body",
        "created_at",
    ],
};

/// A message's row of `MESSAGES`, under an id reserved for it.
pub fn message_row(id: i64, m: &NewMessage<'_>) -> Vec<Arg> {
    vec![
        Arg::Int(id),
        Arg::Int(m.case_id),
        Arg::MaybeInt(m.decision_id),
        Arg::MaybeInt(m.appeal_id),
        Arg::MaybeInt(m.report_id),
        Arg::Text(m.purpose.to_string()),
        Arg::Text(m.audience.to_string()),
        Arg::Text(m.recipient.to_string()),
        Arg::Text(m.language.to_string()),
        Arg::Text(m.subject.to_string()),
        Arg::Text(m.body.to_string()),
        Arg::Int(to_millis(m.at)),
    ]
}

pub async fn messages_for_case(db: &Db, case_id: i64) -> Result<Vec<MessageRecord>> {
    let rows = sqlx::query(
        "SELECT id, case_id, decision_id, appeal_id, report_id, purpose, audience, recipient, language, \
         subject, body, created_at FROM messages WHERE case_id = $1 ORDER BY id",
    )
    .bind(case_id)
    .fetch_all(db.reader())
    .await?;
    rows.iter()
        .map(|r| {
            Ok(MessageRecord {
                id: r.try_get(0)?,
                case_id: r.try_get(1)?,
                decision_id: r.try_get(2)?,
                appeal_id: r.try_get(3)?,
                report_id: r.try_get(4)?,
                purpose: r.try_get(5)?,
                audience: r.try_get(6)?,
                recipient: r.try_get(7)?,
                language: r.try_get(8)?,
                subject: r.try_get(9)?,
                body: r.try_get(10)?,
                created_at: from_millis(r.try_get(11)?),
            })
        })
        .collect()
}

// ---- appeals ----

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct AppealRecord {
    pub id: i64,
    pub case_id: i64,
    pub decision_id: i64,
    /// `affected_user` or `reporter`.
    pub appellant: String,
    pub appellant_id: String,
    pub statement: String,
    pub language: Option<String>,
    pub filed_at: DateTime<Utc>,
    /// `open` or `decided`.
    pub state: String,
    pub outcome: Option<String>,
    pub rationale: Option<String>,
    pub decided_by: Option<i64>,
    pub decided_at: Option<DateTime<Utc>>,
    pub new_decision_id: Option<i64>,
}

const APPEAL_COLUMNS: &str = "id, case_id, decision_id, appellant, appellant_id, statement, language, filed_at, \
     state, outcome, rationale, decided_by, decided_at, new_decision_id FROM appeals";

fn appeal_from_row(r: &sqlx::any::AnyRow) -> Result<AppealRecord> {
    Ok(AppealRecord {
        id: r.try_get(0)?,
        case_id: r.try_get(1)?,
        decision_id: r.try_get(2)?,
        appellant: r.try_get(3)?,
        appellant_id: r.try_get(4)?,
        statement: r.try_get(5)?,
        language: r.try_get(6)?,
        filed_at: from_millis(r.try_get(7)?),
        state: r.try_get(8)?,
        outcome: r.try_get(9)?,
        rationale: r.try_get(10)?,
        decided_by: r.try_get(11)?,
        decided_at: opt_millis(r, 12)?,
        new_decision_id: r.try_get(13)?,
    })
}

pub struct NewAppeal<'a> {
    pub case_id: i64,
    pub decision_id: i64,
    pub appellant: &'a str,
    pub appellant_id: &'a str,
    pub statement: &'a str,
    pub language: Option<&'a str>,
    pub at: DateTime<Utc>,
}

/// Files an appeal; `None` when this person already appealed this decision.
pub async fn insert_appeal(conn: &mut AnyConnection, a: NewAppeal<'_>) -> Result<Option<i64>> {
    let row = sqlx::query(
        "INSERT INTO appeals (case_id, decision_id, appellant, appellant_id, statement, language, filed_at, state) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, 'open') \
         ON CONFLICT (decision_id, appellant, appellant_id) DO NOTHING RETURNING id",
    )
    .bind(a.case_id)
    .bind(a.decision_id)
    .bind(a.appellant.to_string())
    .bind(a.appellant_id.to_string())
    .bind(a.statement.to_string())
    .bind(a.language.map(str::to_string))
    .bind(to_millis(a.at))
    .fetch_optional(&mut *conn)
    .await?;
    row.map(|r| Ok(r.try_get(0)?)).transpose()
}

pub async fn get_appeal(db: &Db, id: i64) -> Result<Option<AppealRecord>> {
    let row = dynamic(format!("SELECT {APPEAL_COLUMNS} WHERE id = $1"))
        .bind(id)
        .fetch_optional(db.reader())
        .await?;
    row.map(|r| appeal_from_row(&r)).transpose()
}

pub async fn read_appeal(conn: &mut AnyConnection, id: i64) -> Result<Option<AppealRecord>> {
    let row = dynamic(format!("SELECT {APPEAL_COLUMNS} WHERE id = $1"))
        .bind(id)
        .fetch_optional(&mut *conn)
        .await?;
    row.map(|r| appeal_from_row(&r)).transpose()
}

pub async fn appeals_for_case(db: &Db, case_id: i64) -> Result<Vec<AppealRecord>> {
    let rows = dynamic(format!(
        "SELECT {APPEAL_COLUMNS} WHERE case_id = $1 ORDER BY id"
    ))
    .bind(case_id)
    .fetch_all(db.reader())
    .await?;
    rows.iter().map(appeal_from_row).collect()
}

pub async fn find_appeal(
    db: &Db,
    decision_id: i64,
    appellant: &str,
    appellant_id: &str,
) -> Result<Option<AppealRecord>> {
    let row = dynamic(format!(
        "SELECT {APPEAL_COLUMNS} WHERE decision_id = $1 AND appellant = $2 AND appellant_id = $3"
    ))
    .bind(decision_id)
    .bind(appellant.to_string())
    .bind(appellant_id.to_string())
    .fetch_optional(db.reader())
    .await?;
    row.map(|r| appeal_from_row(&r)).transpose()
}

pub struct AppealDecision<'a> {
    pub id: i64,
    pub outcome: &'a str,
    pub rationale: &'a str,
    pub decided_by: i64,
    pub at: DateTime<Utc>,
    pub new_decision_id: Option<i64>,
}

pub async fn decide_appeal(conn: &mut AnyConnection, d: AppealDecision<'_>) -> Result<()> {
    sqlx::query(
        "UPDATE appeals SET state = 'decided', outcome = $1, rationale = $2, decided_by = $3, \
         decided_at = $4, new_decision_id = $5 WHERE id = $6",
    )
    .bind(d.outcome.to_string())
    .bind(d.rationale.to_string())
    .bind(d.decided_by)
    .bind(to_millis(d.at))
    .bind(d.new_decision_id)
    .bind(d.id)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

// ---- the outbox ----

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum DeliveryState {
    Pending,
    /// The last try failed; another is scheduled.
    Failed,
    Delivered,
    /// Out of tries: waits for a lead to retry it.
    Dead,
}

impl DeliveryState {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Failed => "failed",
            Self::Delivered => "delivered",
            Self::Dead => "dead",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        [Self::Pending, Self::Failed, Self::Delivered, Self::Dead]
            .into_iter()
            .find(|d| d.as_str() == s)
    }
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Delivery {
    pub id: i64,
    /// `action`, `reversal` or `message`.
    pub topic: String,
    pub case_id: Option<i64>,
    pub idempotency_key: String,
    pub payload: serde_json::Value,
    pub state: DeliveryState,
    pub attempts: i64,
    pub next_attempt_at: DateTime<Utc>,
    pub last_error: Option<String>,
    pub created_at: DateTime<Utc>,
    pub delivered_at: Option<DateTime<Utc>>,
}

const DELIVERY_COLUMNS: &str = "id, topic, case_id, idempotency_key, payload, state, attempts, next_attempt_at, \
     last_error, created_at, delivered_at FROM outbox";

fn delivery_from_row(r: &sqlx::any::AnyRow) -> Result<Delivery> {
    let state: String = r.try_get(5)?;
    Ok(Delivery {
        id: r.try_get(0)?,
        topic: r.try_get(1)?,
        case_id: r.try_get(2)?,
        idempotency_key: r.try_get(3)?,
        payload: json(&r.try_get::<String, _>(4)?, "delivery")?,
        state: DeliveryState::parse(&state)
            .ok_or_else(|| Error::Internal(format!("unknown delivery state {state}")))?,
        attempts: r.try_get(6)?,
        next_attempt_at: from_millis(r.try_get(7)?),
        last_error: r.try_get(8)?,
        created_at: from_millis(r.try_get(9)?),
        delivered_at: opt_millis(r, 10)?,
    })
}

pub const OUTBOX: Table = Table {
    name: "outbox",
    columns: &[
        "topic",
        "case_id",
        "idempotency_key",
        "payload",
        "state",
        "next_attempt_at",
        "created_at",
    ],
};

/// A delivery's row of `OUTBOX`, due at once.
pub fn delivery_row(
    topic: &str,
    case_id: Option<i64>,
    idempotency_key: &str,
    payload: &serde_json::Value,
    at: DateTime<Utc>,
) -> Vec<Arg> {
    vec![
        Arg::Text(topic.to_string()),
        Arg::MaybeInt(case_id),
        Arg::Text(idempotency_key.to_string()),
        Arg::Text(payload.to_string()),
        Arg::Text("pending".into()),
        Arg::Int(to_millis(at)),
        Arg::Int(to_millis(at)),
    ]
}

/// Queues a delivery in the caller's transaction.
pub async fn enqueue(
    conn: &mut AnyConnection,
    topic: &str,
    case_id: Option<i64>,
    idempotency_key: &str,
    payload: &serde_json::Value,
    at: DateTime<Utc>,
) -> Result<i64> {
    let row = delivery_row(topic, case_id, idempotency_key, payload, at);
    rows::insert_one(conn, &OUTBOX, row).await
}

/// Which topics a worker takes: those whose receiver is configured.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Topics {
    All,
    Only(&'static str),
    AllBut(&'static str),
}

/// Takes up to `limit` due deliveries of `topics` for `worker` until `lock_until`. On PostgreSQL
/// rows another worker is taking are skipped; on SQLite the single writer serialises takers.
pub async fn take_due(
    db: &Db,
    worker: &str,
    now: DateTime<Utc>,
    lock_until: DateTime<Utc>,
    limit: i64,
    topics: Topics,
) -> Result<Vec<Delivery>> {
    // Topics are names from the code, never input.
    let topic = match topics {
        Topics::All => String::new(),
        Topics::Only(t) => format!(" AND topic = '{t}'"),
        Topics::AllBut(t) => format!(" AND topic <> '{t}'"),
    };
    let skip = db.for_update_skip_locked();
    let mut tx = db.begin().await?;
    let rows = dynamic(format!(
        "UPDATE outbox SET locked_by = $1, locked_until = $2 WHERE id IN (\
           SELECT id FROM outbox WHERE state IN ('pending', 'failed') AND next_attempt_at <= $3 \
           AND (locked_until IS NULL OR locked_until < $3){topic} ORDER BY next_attempt_at, id LIMIT $4{skip}) \
         RETURNING {}",
        DELIVERY_COLUMNS.trim_end_matches(" FROM outbox")
    ))
    .bind(worker.to_string())
    .bind(to_millis(lock_until))
    .bind(to_millis(now))
    .bind(limit)
    .fetch_all(&mut *tx)
    .await?;
    tx.commit().await?;
    let mut out: Vec<Delivery> = rows.iter().map(delivery_from_row).collect::<Result<_>>()?;
    out.sort_by_key(|d| (d.next_attempt_at, d.id));
    Ok(out)
}

/// Records the outcome of one try, if `worker` still holds the row.
pub async fn finish_attempt(
    db: &Db,
    id: i64,
    worker: &str,
    state: DeliveryState,
    next_attempt_at: DateTime<Utc>,
    error: Option<&str>,
    at: DateTime<Utc>,
) -> Result<bool> {
    let delivered = (state == DeliveryState::Delivered).then(|| to_millis(at));
    let mut tx = db.begin().await?;
    let done = sqlx::query(
        "UPDATE outbox SET state = $1, attempts = attempts + 1, next_attempt_at = $2, last_error = $3, \
         delivered_at = $4, locked_by = NULL, locked_until = NULL WHERE id = $5 AND locked_by = $6",
    )
    .bind(state.as_str())
    .bind(to_millis(next_attempt_at))
    .bind(error.map(str::to_string))
    .bind(delivered)
    .bind(id)
    .bind(worker.to_string())
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(done.rows_affected() == 1)
}

/// Deliveries tied to a case these teams may see, or to no case; a restricted case's deliveries
/// (its messages among them) are as hidden as the case.
fn delivery_visible_to(p: &mut super::cases::Params, teams: &[String]) -> String {
    format!(
        "(case_id IS NULL OR {})",
        p.case_visible_to("outbox", teams)
    )
}

pub async fn list_deliveries(
    db: &Db,
    teams: &[String],
    state: Option<DeliveryState>,
    case_id: Option<i64>,
    limit: i64,
) -> Result<Vec<Delivery>> {
    let mut p = super::cases::Params::default();
    let mut conds = vec![delivery_visible_to(&mut p, teams)];
    if let Some(s) = state {
        conds.push(format!("state = {}", p.text(s.as_str())));
    }
    if let Some(c) = case_id {
        conds.push(format!("case_id = {}", p.int(c)));
    }
    let sql = format!(
        "SELECT {DELIVERY_COLUMNS} WHERE {} ORDER BY id DESC LIMIT {}",
        conds.join(" AND "),
        limit.clamp(1, 1000)
    );
    let rows = super::query_with_args(sql, &p.0)
        .fetch_all(db.reader())
        .await?;
    rows.iter().map(delivery_from_row).collect()
}

pub async fn get_delivery(db: &Db, id: i64, teams: &[String]) -> Result<Option<Delivery>> {
    let mut p = super::cases::Params::default();
    let id = p.int(id);
    let visible = delivery_visible_to(&mut p, teams);
    let sql = format!("SELECT {DELIVERY_COLUMNS} WHERE id = {id} AND {visible}");
    let row = super::query_with_args(sql, &p.0)
        .fetch_optional(db.reader())
        .await?;
    row.map(|r| delivery_from_row(&r)).transpose()
}

/// A lead sends a dead or failing delivery these teams may see again now.
pub async fn retry_delivery(
    conn: &mut AnyConnection,
    id: i64,
    teams: &[String],
    at: DateTime<Utc>,
) -> Result<bool> {
    let mut p = super::cases::Params::default();
    let at = p.int(to_millis(at));
    let id = p.int(id);
    let visible = delivery_visible_to(&mut p, teams);
    let sql = format!(
        "UPDATE outbox SET state = 'pending', next_attempt_at = {at}, locked_by = NULL, locked_until = NULL \
         WHERE id = {id} AND state IN ('dead', 'failed') AND {visible}"
    );
    let done = super::query_with_args(sql, &p.0)
        .execute(&mut *conn)
        .await?;
    Ok(done.rows_affected() == 1)
}

pub async fn delivery_counts(db: &Db) -> Result<Vec<(String, i64)>> {
    let rows = sqlx::query("SELECT state, COUNT(*) FROM outbox GROUP BY state ORDER BY state")
        .fetch_all(db.reader())
        .await?;
    rows.iter()
        .map(|r| Ok((r.try_get(0)?, r.try_get(1)?)))
        .collect()
}

pub fn parse_day(s: &str) -> Option<NaiveDate> {
    NaiveDate::parse_from_str(s, "%Y-%m-%d").ok()
}
