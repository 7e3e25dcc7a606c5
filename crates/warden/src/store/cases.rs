//! Cases, their event log, and the rows that hang off them (reports, notes, consultations,
//! decisions).

use chrono::{DateTime, Utc};
use sqlx::{AnyConnection, Row};

use super::{Arg, Db, query_with_args};
use crate::clock::{from_millis, to_millis};
use crate::domain::case::{Case, CaseStatus};
use crate::domain::events::{CaseEvent, RecordedEvent};
use crate::domain::subject::SubjectKind;
use crate::error::{Error, Result};

/// Who caused a change: a user, or the system.
#[derive(Debug, Clone, Copy)]
pub struct Who<'a> {
    pub id: Option<i64>,
    pub name: &'a str,
}

impl<'a> Who<'a> {
    pub const SYSTEM: Who<'static> = Who {
        id: None,
        name: "system",
    };

    pub fn user(actor: &'a crate::access::Actor) -> Self {
        Self {
            id: Some(actor.user_id),
            name: &actor.username,
        }
    }
}

/// Collects arguments while a query is assembled, handing out `$n` placeholders.
#[derive(Default)]
pub struct Params(pub Vec<Arg>);

impl Params {
    pub fn int(&mut self, v: i64) -> String {
        self.0.push(Arg::Int(v));
        format!("${}", self.0.len())
    }

    pub fn text(&mut self, v: impl Into<String>) -> String {
        self.0.push(Arg::Text(v.into()));
        format!("${}", self.0.len())
    }

    /// `restricted_team IS NULL OR restricted_team IN (…the viewer's teams…)`.
    pub fn visible_to(&mut self, teams: &[String]) -> String {
        if teams.is_empty() {
            return "restricted_team IS NULL".into();
        }
        let list: Vec<String> = teams.iter().map(|t| self.text(t.clone())).collect();
        format!(
            "(restricted_team IS NULL OR restricted_team IN ({}))",
            list.join(", ")
        )
    }

    /// For rows of `table` that hang off a case: their case is one these teams may see. A lookup
    /// by the case's key per row, so a short page of a long table stays cheap.
    pub fn case_visible_to(&mut self, table: &str, teams: &[String]) -> String {
        format!(
            "EXISTS (SELECT 1 FROM cases WHERE cases.id = {table}.case_id AND {})",
            self.visible_to(teams)
        )
    }
}

fn parse_case(state: &str) -> Result<Case> {
    Ok(serde_json::from_str(state)?)
}

fn case_from_row(row: &sqlx::any::AnyRow) -> Result<Case> {
    parse_case(&row.try_get::<String, _>("state")?)
}

// ---- writes (inside a transaction) ----

/// A new, empty case row for a subject; fails with a unique violation if the subject already has
/// an open case (another request won the race; the caller retries and joins it).
pub async fn insert_case(
    conn: &mut AnyConnection,
    kind: SubjectKind,
    external_id: &str,
    at: DateTime<Utc>,
) -> Result<i64> {
    let row = sqlx::query(
        "INSERT INTO cases (subject_kind, external_id, status, priority, queue, policy_area, \
         first_response_due, first_response_at_risk, resolution_due, resolution_at_risk, sla_paused, \
         first_response_breached, resolution_breached, opened_at, updated_at, report_count, version, state) \
         VALUES ($1, $2, 'new', 4, '', '', 0, 0, 0, 0, 0, 0, 0, $3, $3, 0, 0, '{}') RETURNING id",
    )
    .bind(kind.as_str())
    .bind(external_id.to_string())
    .bind(to_millis(at))
    .fetch_one(&mut *conn)
    .await?;
    Ok(row.try_get(0)?)
}

pub async fn lock_case(db: &Db, conn: &mut AnyConnection, id: i64) -> Result<Option<Case>> {
    let sql = format!("SELECT state FROM cases WHERE id = $1{}", db.for_update());
    let row = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(id)
        .fetch_optional(&mut *conn)
        .await?;
    row.map(|r| case_from_row(&r)).transpose()
}

/// The open case of a subject, locked; else its most recently closed one.
pub async fn lock_case_for_subject(
    db: &Db,
    conn: &mut AnyConnection,
    kind: SubjectKind,
    external_id: &str,
) -> Result<Option<Case>> {
    let sql = format!(
        "SELECT state FROM cases WHERE subject_kind = $1 AND external_id = $2 \
         ORDER BY CASE WHEN status = 'closed' THEN 1 ELSE 0 END, id DESC LIMIT 1{}",
        db.for_update()
    );
    let row = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(kind.as_str())
        .bind(external_id.to_string())
        .fetch_optional(&mut *conn)
        .await?;
    row.map(|r| case_from_row(&r)).transpose()
}

/// Applies events to a case, appends them to the log, and rewrites the case's projection.
pub async fn record(
    conn: &mut AnyConnection,
    case: &mut Case,
    events: Vec<CaseEvent>,
    who: Who<'_>,
    reason: Option<&str>,
    at: DateTime<Utc>,
) -> Result<()> {
    if events.is_empty() {
        return Ok(());
    }
    append(conn, case, events, who, reason, at).await?;
    save_case(conn, case, at).await
}

/// Applies events to a case and appends them to the log; the caller saves the case after.
pub async fn append(
    conn: &mut AnyConnection,
    case: &mut Case,
    events: Vec<CaseEvent>,
    who: Who<'_>,
    reason: Option<&str>,
    at: DateTime<Utc>,
) -> Result<()> {
    if events.is_empty() {
        return Ok(());
    }
    for event in &events {
        case.apply(event, at);
        sqlx::query(
            "INSERT INTO events (case_id, seq, entity, kind, actor_id, actor_name, at, reason, payload) \
             VALUES ($1, $2, 'case', $3, $4, $5, $6, $7, $8)",
        )
        .bind(case.id)
        .bind(case.version)
        .bind(event.kind())
        .bind(who.id)
        .bind(who.name.to_string())
        .bind(to_millis(at))
        .bind(reason.map(str::to_string))
        .bind(serde_json::to_string(event)?)
        .execute(&mut *conn)
        .await?;
    }
    Ok(())
}

/// Records a change to something other than a case (a user, a token).
pub async fn record_audit(
    conn: &mut AnyConnection,
    entity: &str,
    kind: &str,
    who: Who<'_>,
    payload: &serde_json::Value,
    at: DateTime<Utc>,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO events (case_id, seq, entity, kind, actor_id, actor_name, at, payload) \
         VALUES (NULL, 0, $1, $2, $3, $4, $5, $6)",
    )
    .bind(entity.to_string())
    .bind(kind.to_string())
    .bind(who.id)
    .bind(who.name.to_string())
    .bind(to_millis(at))
    .bind(payload.to_string())
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Rewrites the projection of a case from its folded state.
pub async fn save_case(conn: &mut AnyConnection, case: &Case, now: DateTime<Utc>) -> Result<()> {
    let sla = &case.sla;
    let fr_due = sla.first_response_due(now);
    let res_due = sla.resolution_due(now);
    let quarter = |minutes: i64| chrono::Duration::minutes(minutes) / 4;
    let paused = sla.paused_since.is_some();
    let done = sqlx::query(
        "UPDATE cases SET author_id = $1, status = $2, priority = $3, queue = $4, assignee_id = $5, \
         lease_expires_at = $6, restricted_team = $7, policy_area = $8, region = $9, language = $10, \
         first_response_due = $11, first_response_at_risk = $12, first_responded_at = $13, \
         resolution_due = $14, resolution_at_risk = $15, sla_paused = $16, first_response_breached = $17, \
         resolution_breached = $18, updated_at = $19, closed_at = $20, report_count = $21, version = $22, \
         state = $23, opened_at = $24, excluded_reviewer = $25 WHERE id = $26",
    )
    .bind(case.snapshot.author_id.clone())
    .bind(case.status.as_str())
    .bind(case.priority.rank())
    .bind(case.queue.clone())
    .bind(case.assignee)
    .bind(case.lease_expires_at.map(to_millis))
    .bind(case.restricted_team.clone())
    .bind(case.policy_area.clone())
    .bind(case.region.clone())
    .bind(case.language.clone())
    .bind(to_millis(fr_due))
    .bind(to_millis(fr_due - quarter(sla.target.first_response_minutes)))
    .bind(sla.first_responded_at.map(to_millis))
    .bind(to_millis(res_due))
    .bind(to_millis(res_due - quarter(sla.target.resolution_minutes)))
    .bind(i64::from(paused))
    .bind(i64::from(case.first_response_breached))
    .bind(i64::from(case.resolution_breached))
    .bind(to_millis(case.updated_at))
    .bind(case.closed_at.map(to_millis))
    .bind(case.report_count)
    .bind(case.version)
    .bind(serde_json::to_string(case)?)
    .bind(to_millis(case.opened_at))
    .bind(case.excluded_reviewer)
    .bind(case.id)
    .execute(&mut *conn)
    .await?;
    if done.rows_affected() != 1 {
        return Err(Error::Internal(format!(
            "case {} vanished during an update",
            case.id
        )));
    }
    Ok(())
}

/// The next case a person may claim from a queue: most urgent first, then the earliest deadline.
/// Cases waiting in the queue and held cases whose lease lapsed are looked up separately (each
/// through its own index) and the better of the two wins. On PostgreSQL rows locked by other
/// claimers are skipped, so claimers never wait on each other.
pub async fn lock_next_claimable(
    db: &Db,
    conn: &mut AnyConnection,
    queue: &str,
    teams: &[String],
    claimer: i64,
    now: DateTime<Utc>,
) -> Result<Option<Case>> {
    let lock = match db.engine {
        super::Engine::Postgres => " FOR UPDATE SKIP LOCKED",
        super::Engine::Sqlite => "",
    };
    let mut best: Option<(i64, i64, i64)> = None;
    for lapsed in [false, true] {
        let mut p = Params::default();
        let queue = p.text(queue);
        let visible = p.visible_to(teams);
        // An appeal never goes to the person whose decision it questions.
        let not_excluded = format!(
            "(excluded_reviewer IS NULL OR excluded_reviewer <> {})",
            p.int(claimer)
        );
        let which = if lapsed {
            format!(
                "status = 'in_review' AND lease_expires_at <= {}",
                p.int(to_millis(now))
            )
        } else {
            "status IN ('triaged', 'reopened')".to_string()
        };
        // Only the key columns are selected and sorted: the case itself is read once chosen.
        let sql = format!(
            "SELECT id, priority, resolution_due FROM cases WHERE queue = {queue} AND {which} AND {visible} AND {not_excluded} \
             ORDER BY priority, resolution_due, id LIMIT 1{lock}"
        );
        let Some(row) = query_with_args(sql, &p.0)
            .fetch_optional(&mut *conn)
            .await?
        else {
            continue;
        };
        let candidate: (i64, i64, i64) = (row.try_get(1)?, row.try_get(2)?, row.try_get(0)?);
        if best.is_none_or(|b| candidate < b) {
            best = Some(candidate);
        }
    }
    let Some((_, _, id)) = best else {
        return Ok(None);
    };
    let row = sqlx::query("SELECT state FROM cases WHERE id = $1")
        .bind(id)
        .fetch_one(&mut *conn)
        .await?;
    Ok(Some(case_from_row(&row)?))
}

// ---- reports ----

/// The first answer to an idempotency key, if it was seen before.
pub async fn find_report_by_key(
    conn: &mut AnyConnection,
    submitted_by: i64,
    key: &str,
) -> Result<Option<(String, String)>> {
    let row = sqlx::query("SELECT request_hash, response FROM reports WHERE submitted_by = $1 AND idempotency_key = $2")
        .bind(submitted_by)
        .bind(key.to_string())
        .fetch_optional(&mut *conn)
        .await?;
    Ok(match row {
        Some(r) => Some((r.try_get(0)?, r.try_get(1)?)),
        None => None,
    })
}

pub async fn reporter_seen(
    conn: &mut AnyConnection,
    case_id: i64,
    reporter_id: &str,
) -> Result<bool> {
    let row = sqlx::query("SELECT 1 FROM reports WHERE case_id = $1 AND reporter_id = $2 LIMIT 1")
        .bind(case_id)
        .bind(reporter_id.to_string())
        .fetch_optional(&mut *conn)
        .await?;
    Ok(row.is_some())
}

pub struct NewReportRow<'a> {
    pub case_id: i64,
    pub submitted_by: i64,
    pub idempotency_key: &'a str,
    pub request_hash: &'a str,
    pub source: &'a str,
    pub reporter_id: &'a str,
    pub policy_area: &'a str,
    pub jurisdiction: Option<&'a str>,
    pub received_at: DateTime<Utc>,
    pub body: &'a str,
}

pub async fn insert_report(conn: &mut AnyConnection, r: NewReportRow<'_>) -> Result<i64> {
    let row = sqlx::query(
        "INSERT INTO reports (case_id, submitted_by, idempotency_key, request_hash, source, reporter_id, \
         policy_area, jurisdiction, received_at, body) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) RETURNING id",
    )
    .bind(r.case_id)
    .bind(r.submitted_by)
    .bind(r.idempotency_key.to_string())
    .bind(r.request_hash.to_string())
    .bind(r.source.to_string())
    .bind(r.reporter_id.to_string())
    .bind(r.policy_area.to_string())
    .bind(r.jurisdiction.map(str::to_string))
    .bind(to_millis(r.received_at))
    .bind(r.body.to_string())
    .fetch_one(&mut *conn)
    .await?;
    Ok(row.try_get(0)?)
}

pub async fn set_report_response(
    conn: &mut AnyConnection,
    report_id: i64,
    response: &str,
) -> Result<()> {
    sqlx::query("UPDATE reports SET response = $1 WHERE id = $2")
        .bind(response.to_string())
        .bind(report_id)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

#[derive(Debug, Clone)]
pub struct ReportRow {
    pub id: i64,
    pub case_id: i64,
    pub received_at: DateTime<Utc>,
    pub body: String,
}

pub async fn reports_for_case(db: &Db, case_id: i64) -> Result<Vec<ReportRow>> {
    let rows = sqlx::query(
        "SELECT id, case_id, received_at, body FROM reports WHERE case_id = $1 ORDER BY id",
    )
    .bind(case_id)
    .fetch_all(db.reader())
    .await?;
    rows.iter().map(report_from_row).collect()
}

pub async fn get_report(db: &Db, id: i64) -> Result<Option<ReportRow>> {
    let row = sqlx::query("SELECT id, case_id, received_at, body FROM reports WHERE id = $1")
        .bind(id)
        .fetch_optional(db.reader())
        .await?;
    row.as_ref().map(report_from_row).transpose()
}

fn report_from_row(r: &sqlx::any::AnyRow) -> Result<ReportRow> {
    Ok(ReportRow {
        id: r.try_get(0)?,
        case_id: r.try_get(1)?,
        received_at: from_millis(r.try_get(2)?),
        body: r.try_get(3)?,
    })
}

// ---- notes, consultations, decisions ----

pub async fn insert_note(
    conn: &mut AnyConnection,
    case_id: i64,
    author: i64,
    body: &str,
    at: DateTime<Utc>,
) -> Result<i64> {
    let row = sqlx::query("INSERT INTO notes (case_id, author_id, body, created_at) VALUES ($1, $2, $3, $4) RETURNING id")
        .bind(case_id)
        .bind(author)
        .bind(body.to_string())
        .bind(to_millis(at))
        .fetch_one(&mut *conn)
        .await?;
    Ok(row.try_get(0)?)
}

#[derive(Debug, Clone)]
pub struct NoteRow {
    pub id: i64,
    pub author: String,
    pub body: String,
    pub created_at: DateTime<Utc>,
}

pub async fn notes_for_case(db: &Db, case_id: i64) -> Result<Vec<NoteRow>> {
    let rows = sqlx::query(
        "SELECT n.id, u.username, n.body, n.created_at FROM notes n JOIN users u ON u.id = n.author_id \
         WHERE n.case_id = $1 ORDER BY n.id",
    )
    .bind(case_id)
    .fetch_all(db.reader())
    .await?;
    rows.iter()
        .map(|r| {
            Ok(NoteRow {
                id: r.try_get(0)?,
                author: r.try_get(1)?,
                body: r.try_get(2)?,
                created_at: from_millis(r.try_get(3)?),
            })
        })
        .collect()
}

#[derive(Debug, Clone)]
pub struct ConsultationRow {
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
}

const CONSULTATION_COLUMNS: &str = "c.id, c.case_id, c.team, c.question, c.due_at, a.username, c.asked_at, \
     c.answer, b.username, c.answered_at FROM consultations c JOIN users a ON a.id = c.asked_by \
     LEFT JOIN users b ON b.id = c.answered_by";

fn consultation_from_row(r: &sqlx::any::AnyRow) -> Result<ConsultationRow> {
    Ok(ConsultationRow {
        id: r.try_get(0)?,
        case_id: r.try_get(1)?,
        team: r.try_get(2)?,
        question: r.try_get(3)?,
        due_at: from_millis(r.try_get(4)?),
        asked_by: r.try_get(5)?,
        asked_at: from_millis(r.try_get(6)?),
        answer: r.try_get(7)?,
        answered_by: r.try_get(8)?,
        answered_at: r.try_get::<Option<i64>, _>(9)?.map(from_millis),
    })
}

pub async fn insert_consultation(
    conn: &mut AnyConnection,
    case_id: i64,
    team: &str,
    question: &str,
    due_at: DateTime<Utc>,
    asked_by: i64,
    at: DateTime<Utc>,
) -> Result<i64> {
    let row = sqlx::query(
        "INSERT INTO consultations (case_id, team, question, due_at, asked_by, asked_at) \
         VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
    )
    .bind(case_id)
    .bind(team.to_string())
    .bind(question.to_string())
    .bind(to_millis(due_at))
    .bind(asked_by)
    .bind(to_millis(at))
    .fetch_one(&mut *conn)
    .await?;
    Ok(row.try_get(0)?)
}

/// Marks a consultation answered; false if it was already answered (someone was quicker).
pub async fn answer_consultation(
    conn: &mut AnyConnection,
    id: i64,
    answer: &str,
    by: i64,
    at: DateTime<Utc>,
) -> Result<bool> {
    let done = sqlx::query("UPDATE consultations SET answer = $1, answered_by = $2, answered_at = $3 WHERE id = $4 AND answered_at IS NULL")
        .bind(answer.to_string())
        .bind(by)
        .bind(to_millis(at))
        .bind(id)
        .execute(&mut *conn)
        .await?;
    Ok(done.rows_affected() == 1)
}

pub async fn get_consultation(
    conn: &mut AnyConnection,
    id: i64,
) -> Result<Option<ConsultationRow>> {
    let sql = format!("SELECT {CONSULTATION_COLUMNS} WHERE c.id = $1");
    let row = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(id)
        .fetch_optional(&mut *conn)
        .await?;
    row.as_ref().map(consultation_from_row).transpose()
}

pub async fn consultations_for_case(db: &Db, case_id: i64) -> Result<Vec<ConsultationRow>> {
    let sql = format!("SELECT {CONSULTATION_COLUMNS} WHERE c.case_id = $1 ORDER BY c.id");
    let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(case_id)
        .fetch_all(db.reader())
        .await?;
    rows.iter().map(consultation_from_row).collect()
}

/// A team's consultations, oldest due first; open ones only unless `include_answered`.
pub async fn consultations_for_teams(
    db: &Db,
    teams: &[String],
    include_answered: bool,
    limit: i64,
) -> Result<Vec<ConsultationRow>> {
    if teams.is_empty() {
        return Ok(Vec::new());
    }
    let mut p = Params::default();
    let list: Vec<String> = teams.iter().map(|t| p.text(t.clone())).collect();
    let open = if include_answered {
        ""
    } else {
        " AND c.answered_at IS NULL"
    };
    let limit = p.int(limit);
    let sql = format!(
        "SELECT {CONSULTATION_COLUMNS} WHERE c.team IN ({}){open} ORDER BY c.due_at, c.id LIMIT {limit}",
        list.join(", ")
    );
    let rows = query_with_args(sql, &p.0).fetch_all(db.reader()).await?;
    rows.iter().map(consultation_from_row).collect()
}

// ---- reads ----

pub async fn get_case(db: &Db, id: i64) -> Result<Option<Case>> {
    let row = sqlx::query("SELECT state FROM cases WHERE id = $1")
        .bind(id)
        .fetch_optional(db.reader())
        .await?;
    row.map(|r| case_from_row(&r)).transpose()
}

pub async fn events_for_case(db: &Db, case_id: i64) -> Result<Vec<RecordedEvent>> {
    let rows = sqlx::query(
        "SELECT id, case_id, at, actor_id, actor_name, reason, payload FROM events WHERE case_id = $1 ORDER BY seq",
    )
    .bind(case_id)
    .fetch_all(db.reader())
    .await?;
    rows.iter()
        .map(|r| {
            Ok(RecordedEvent {
                id: r.try_get(0)?,
                case_id: r.try_get(1)?,
                at: from_millis(r.try_get(2)?),
                actor_id: r.try_get(3)?,
                actor_name: r.try_get(4)?,
                reason: r.try_get(5)?,
                event: serde_json::from_str(&r.try_get::<String, _>(6)?)?,
            })
        })
        .collect()
}

/// Other cases about the same subject or by the same author, newest first.
pub async fn related_cases(db: &Db, case: &Case, teams: &[String]) -> Result<Vec<Case>> {
    let mut p = Params::default();
    let id = p.int(case.id);
    let kind = p.text(case.subject_kind.as_str());
    let ext = p.text(case.external_id.clone());
    let author = match &case.snapshot.author_id {
        Some(a) => format!(
            " OR author_id = {} OR (subject_kind = 'account' AND external_id = {})",
            p.text(a.clone()),
            p.text(a.clone())
        ),
        None => String::new(),
    };
    let visible = p.visible_to(teams);
    let sql = format!(
        "SELECT state FROM cases WHERE id <> {id} AND ((subject_kind = {kind} AND external_id = {ext}){author}) \
         AND {visible} ORDER BY id DESC LIMIT 20"
    );
    let rows = query_with_args(sql, &p.0).fetch_all(db.reader()).await?;
    rows.iter().map(case_from_row).collect()
}

#[derive(Debug, Default, Clone)]
pub struct CaseFilter {
    pub status: Option<CaseStatus>,
    pub queue: Option<String>,
    pub assignee: Option<i64>,
    pub priority: Option<i64>,
    pub breached: Option<bool>,
    /// Only cases with an id below this (the page cursor).
    pub before: Option<i64>,
    pub limit: i64,
}

pub async fn list_cases(db: &Db, f: &CaseFilter, teams: &[String]) -> Result<Vec<Case>> {
    let mut p = Params::default();
    let mut clauses = vec![p.visible_to(teams)];
    if let Some(s) = f.status {
        clauses.push(format!("status = {}", p.text(s.as_str())));
    }
    if let Some(q) = &f.queue {
        clauses.push(format!("queue = {}", p.text(q.clone())));
    }
    if let Some(a) = f.assignee {
        clauses.push(format!("assignee_id = {}", p.int(a)));
    }
    if let Some(pr) = f.priority {
        clauses.push(format!("priority = {}", p.int(pr)));
    }
    if let Some(b) = f.breached {
        let flag = if b { "<>" } else { "=" };
        clauses.push(format!(
            "(first_response_breached + resolution_breached) {flag} 0"
        ));
    }
    if let Some(before) = f.before {
        clauses.push(format!("id < {}", p.int(before)));
    }
    let limit = p.int(f.limit);
    let sql = format!(
        "SELECT state FROM cases WHERE {} ORDER BY id DESC LIMIT {limit}",
        clauses.join(" AND ")
    );
    let rows = query_with_args(sql, &p.0).fetch_all(db.reader()).await?;
    rows.iter().map(case_from_row).collect()
}

#[derive(Debug, Clone, Default)]
pub struct QueueCounts {
    pub queue: String,
    pub open: i64,
    pub waiting_for_claim: i64,
    pub in_review: i64,
    pub waiting: i64,
    pub at_risk: i64,
    pub breached: i64,
    pub oldest_opened_at: Option<DateTime<Utc>>,
}

pub async fn queue_counts(
    db: &Db,
    teams: &[String],
    now: DateTime<Utc>,
) -> Result<Vec<QueueCounts>> {
    let mut p = Params::default();
    let now = p.int(to_millis(now));
    let visible = p.visible_to(teams);
    // A breach is a passed deadline while the clock runs, or one already recorded.
    let breached = format!(
        "(first_response_breached = 1 OR resolution_breached = 1 OR (sla_paused = 0 AND (resolution_due < {now} OR (first_responded_at IS NULL AND first_response_due < {now}))))"
    );
    let sql = format!(
        "SELECT queue, COUNT(*), \
         SUM(CASE WHEN status IN ('triaged', 'reopened') THEN 1 ELSE 0 END), \
         SUM(CASE WHEN status = 'in_review' THEN 1 ELSE 0 END), \
         SUM(CASE WHEN status IN ('waiting_consultation', 'waiting_info') THEN 1 ELSE 0 END), \
         SUM(CASE WHEN NOT {breached} AND sla_paused = 0 AND (resolution_at_risk < {now} OR (first_responded_at IS NULL AND first_response_at_risk < {now})) THEN 1 ELSE 0 END), \
         SUM(CASE WHEN {breached} THEN 1 ELSE 0 END), \
         MIN(opened_at) \
         FROM cases WHERE status NOT IN ('closed', 'decided') AND {visible} GROUP BY queue"
    );
    let rows = query_with_args(sql, &p.0).fetch_all(db.reader()).await?;
    // PostgreSQL's SUM over BIGINT is NUMERIC; CASE sums are read through a cast-free path below.
    rows.iter()
        .map(|r| {
            Ok(QueueCounts {
                queue: r.try_get(0)?,
                open: r.try_get(1)?,
                waiting_for_claim: get_sum(r, 2)?,
                in_review: get_sum(r, 3)?,
                waiting: get_sum(r, 4)?,
                at_risk: get_sum(r, 5)?,
                breached: get_sum(r, 6)?,
                oldest_opened_at: r.try_get::<Option<i64>, _>(7)?.map(from_millis),
            })
        })
        .collect()
}

fn get_sum(r: &sqlx::any::AnyRow, i: usize) -> Result<i64> {
    Ok(r.try_get::<Option<i64>, _>(i)?.unwrap_or(0))
}

/// Open cases whose clock says a deadline has passed but whose breach is not yet recorded.
pub async fn cases_past_deadline(db: &Db, now: DateTime<Utc>, limit: i64) -> Result<Vec<i64>> {
    let rows = sqlx::query(
        "SELECT id FROM cases WHERE status NOT IN ('closed', 'decided') AND sla_paused = 0 AND \
         ((resolution_due < $1 AND resolution_breached = 0) OR \
          (first_responded_at IS NULL AND first_response_due < $1 AND first_response_breached = 0)) \
         ORDER BY id LIMIT $2",
    )
    .bind(to_millis(now))
    .bind(limit)
    .fetch_all(db.reader())
    .await?;
    rows.iter().map(|r| Ok(r.try_get::<i64, _>(0)?)).collect()
}
