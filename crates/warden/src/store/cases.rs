//! Cases, their event log, and the rows that hang off them (reports, notes, consultations,
//! decisions).

use chrono::{DateTime, Utc};
use sqlx::{AnyConnection, Row};

use std::collections::{BTreeMap, BTreeSet};

use super::rows::{self, Rows, Table};
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

pub async fn lock_case(db: &Db, conn: &mut AnyConnection, id: i64) -> Result<Option<Case>> {
    let sql = format!("SELECT state FROM cases WHERE id = $1{}", db.for_update());
    let row = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(id)
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
    let mut rows = Vec::with_capacity(events.len());
    apply_events(case, events, who, reason, at, &mut rows)?;
    let saved = cases_saved(vec![case_row(case, at)?]);
    rows::write_all(conn, vec![Rows::new(&EVENTS, rows), saved]).await
}

pub const EVENTS: Table = Table {
    name: "events",
    columns: &[
        "case_id",
        "seq",
        "entity",
        "kind",
        "actor_id",
        "actor_name",
        "at",
        "reason",
        "payload",
    ],
};

/// Applies events to a case and adds their rows for the log to `rows`; nothing is written.
pub fn apply_events(
    case: &mut Case,
    events: Vec<CaseEvent>,
    who: Who<'_>,
    reason: Option<&str>,
    at: DateTime<Utc>,
    rows: &mut Vec<Vec<Arg>>,
) -> Result<()> {
    for event in &events {
        case.apply(event, at);
        rows.push(vec![
            Arg::Int(case.id),
            Arg::Int(case.version),
            Arg::Text("case".into()),
            Arg::Text(event.kind().to_string()),
            Arg::MaybeInt(who.id),
            Arg::Text(who.name.to_string()),
            Arg::Int(to_millis(at)),
            Arg::MaybeText(reason.map(str::to_string)),
            Arg::Text(serde_json::to_string(event)?),
        ]);
    }
    Ok(())
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
    let mut rows = Vec::with_capacity(events.len());
    apply_events(case, events, who, reason, at, &mut rows)?;
    rows::insert(conn, &EVENTS, rows).await
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

pub const CASES: Table = Table {
    name: "cases",
    columns: &[
        "id",
        "subject_kind",
        "external_id",
        "author_id",
        "status",
        "priority",
        "queue",
        "assignee_id",
        "lease_expires_at",
        "restricted_team",
        "policy_area",
        "region",
        "language",
        "first_response_due",
        "first_response_at_risk",
        "first_responded_at",
        "resolution_due",
        "resolution_at_risk",
        "sla_paused",
        "first_response_breached",
        "resolution_breached",
        "updated_at",
        "closed_at",
        "report_count",
        "version",
        "state",
        "opened_at",
        "excluded_reviewer",
    ],
};

/// The projection of a case from its folded state, as the row of `CASES`.
pub fn case_row(case: &Case, now: DateTime<Utc>) -> Result<Vec<Arg>> {
    let sla = &case.sla;
    let fr_due = sla.first_response_due(now);
    let res_due = sla.resolution_due(now);
    let quarter = |minutes: i64| chrono::Duration::minutes(minutes) / 4;
    Ok(vec![
        Arg::Int(case.id),
        Arg::Text(case.subject_kind.as_str().to_string()),
        Arg::Text(case.external_id.clone()),
        Arg::MaybeText(case.snapshot.author_id.clone()),
        Arg::Text(case.status.as_str().to_string()),
        Arg::Int(case.priority.rank()),
        Arg::Text(case.queue.clone()),
        Arg::MaybeInt(case.assignee),
        Arg::MaybeInt(case.lease_expires_at.map(to_millis)),
        Arg::MaybeText(case.restricted_team.clone()),
        Arg::Text(case.policy_area.clone()),
        Arg::MaybeText(case.region.clone()),
        Arg::MaybeText(case.language.clone()),
        Arg::Int(to_millis(fr_due)),
        Arg::Int(to_millis(
            fr_due - quarter(sla.target.first_response_minutes),
        )),
        Arg::MaybeInt(sla.first_responded_at.map(to_millis)),
        Arg::Int(to_millis(res_due)),
        Arg::Int(to_millis(res_due - quarter(sla.target.resolution_minutes))),
        Arg::Int(i64::from(sla.paused_since.is_some())),
        Arg::Int(i64::from(case.first_response_breached)),
        Arg::Int(i64::from(case.resolution_breached)),
        Arg::Int(to_millis(case.updated_at)),
        Arg::MaybeInt(case.closed_at.map(to_millis)),
        Arg::Int(case.report_count),
        Arg::Int(case.version),
        Arg::Text(serde_json::to_string(case)?),
        Arg::Int(to_millis(case.opened_at)),
        Arg::MaybeInt(case.excluded_reviewer),
    ])
}

/// Writes the projections of cases, new ones and changed ones alike, in one statement.
pub async fn save_cases(conn: &mut AnyConnection, rows: Vec<Vec<Arg>>) -> Result<()> {
    rows::write_all(conn, vec![cases_saved(rows)]).await
}

/// Case rows to write with [`rows::write_all`]: new cases inserted, known ones rewritten.
pub fn cases_saved(rows: Vec<Vec<Arg>>) -> Rows<'static> {
    // Every column but the key and the subject, which never change.
    let update: Vec<String> = CASES.columns[3..]
        .iter()
        .map(|c| format!("{c} = excluded.{c}"))
        .collect();
    Rows {
        table: &CASES,
        rows,
        suffix: format!(" ON CONFLICT (id) DO UPDATE SET {}", update.join(", ")),
    }
}

/// Rewrites the projection of a case from its folded state.
pub async fn save_case(conn: &mut AnyConnection, case: &Case, now: DateTime<Utc>) -> Result<()> {
    save_cases(conn, vec![case_row(case, now)?]).await
}

/// The cases one may claim from a queue, most urgent first, then the earliest deadline, at most
/// `limit` of them. Cases waiting in the queue and held cases whose lease lapsed are looked up
/// separately (each through its own index) and merged. `claimer` leaves out the appeals they may
/// not review; without it the caller checks each case itself. On PostgreSQL the cases are locked
/// and rows locked by other claimers are skipped, so claimers never wait on each other.
pub async fn lock_claimable(
    db: &Db,
    conn: &mut AnyConnection,
    queue: &str,
    teams: &[String],
    claimer: Option<i64>,
    now: DateTime<Utc>,
    limit: usize,
) -> Result<Vec<Case>> {
    let lock = db.for_update_skip_locked();
    let mut p = Params::default();
    let mut steps = Vec::new();
    for lapsed in [false, true] {
        let queue = p.text(queue);
        let visible = p.visible_to(teams);
        // An appeal never goes to the person whose decision it questions.
        let not_excluded = match claimer {
            Some(id) => format!(
                " AND (excluded_reviewer IS NULL OR excluded_reviewer <> {})",
                p.int(id)
            ),
            None => String::new(),
        };
        let which = if lapsed {
            format!(
                "status = 'in_review' AND lease_expires_at <= {}",
                p.int(to_millis(now))
            )
        } else {
            "status IN ('triaged', 'reopened')".to_string()
        };
        // Each step walks its own index and sorts only the key columns (a sort that carried
        // every case's state would spill to disk whenever the planner sorts instead of walking
        // the index); the few chosen cases' states are joined on by id after.
        steps.push(format!(
            "{} AS MATERIALIZED (SELECT priority, resolution_due, id FROM cases \
             WHERE queue = {queue} AND {which} AND {visible}{not_excluded} \
             ORDER BY priority, resolution_due, id LIMIT {limit}{lock})",
            if lapsed { "lapsed" } else { "waiting" }
        ));
    }
    // One statement, one round trip: waiting cases and those whose lease lapsed, merged.
    let sql = format!(
        "WITH {} SELECT c.state FROM (SELECT * FROM waiting UNION ALL SELECT * FROM lapsed) k \
         JOIN cases c ON c.id = k.id ORDER BY k.priority, k.resolution_due, k.id LIMIT {limit}",
        steps.join(", ")
    );
    query_with_args(sql, &p.0)
        .fetch_all(&mut *conn)
        .await?
        .iter()
        .map(case_from_row)
        .collect()
}

// ---- reports ----

pub const REPORTS: Table = Table {
    name: "reports",
    columns: &[
        "id",
        "case_id",
        "submitted_by",
        "idempotency_key",
        "request_hash",
        "source",
        "reporter_id",
        "policy_area",
        "jurisdiction",
        "received_at",
        "body",
        "response",
    ],
};

/// The first request hash and answer to each idempotency key seen before, by sender and key.
pub async fn reports_by_keys(
    conn: &mut AnyConnection,
    keys: &BTreeSet<(i64, &str)>,
) -> Result<BTreeMap<(i64, String), (String, String)>> {
    let rows = rows::fetch_by_pairs(
        conn,
        &rows::ByPairs {
            table: "reports",
            columns: &[
                "submitted_by",
                "idempotency_key",
                "request_hash",
                "response",
            ],
            first: ("submitted_by", "bigint"),
            second: "idempotency_key",
            lock: false,
        },
        keys.iter().copied(),
    )
    .await?;
    rows.iter()
        .map(|r| {
            Ok((
                (r.try_get(0)?, r.try_get(1)?),
                (r.try_get(2)?, r.try_get(3)?),
            ))
        })
        .collect()
}

/// For each subject, its open case, else its most recently closed one; locked on PostgreSQL (in
/// the order of their subjects, so writers locking overlapping sets never wait on each other in
/// a circle).
pub async fn lock_cases_for_subjects(
    conn: &mut AnyConnection,
    subjects: &BTreeSet<(SubjectKind, &str)>,
) -> Result<BTreeMap<(SubjectKind, String), Case>> {
    let rows = rows::fetch_by_pairs(
        conn,
        &rows::ByPairs {
            table: "cases",
            columns: &["state"],
            first: ("subject_kind", "text"),
            second: "external_id",
            lock: true,
        },
        subjects.iter().map(|(kind, id)| (kind.as_str(), *id)),
    )
    .await?;
    let mut cases = rows.iter().map(case_from_row).collect::<Result<Vec<_>>>()?;
    cases.sort_by_key(|c| c.id);
    let mut found: BTreeMap<(SubjectKind, String), Case> = BTreeMap::new();
    for case in cases {
        let key = (case.subject_kind, case.external_id.clone());
        // Rows come oldest first: an open case wins, then the latest closed one.
        let better = match found.get(&key) {
            None => true,
            Some(held) => !held.status.is_open() || case.status.is_open(),
        };
        if better {
            found.insert(key, case);
        }
    }
    Ok(found)
}

/// Which of these reporters have reported on these cases before.
pub async fn reporters_seen(
    conn: &mut AnyConnection,
    pairs: &BTreeSet<(i64, &str)>,
) -> Result<BTreeSet<(i64, String)>> {
    // A reporter heard more than once comes back more than once; the set keeps one.
    let rows = rows::fetch_by_pairs(
        conn,
        &rows::ByPairs {
            table: "reports",
            columns: &["case_id", "reporter_id"],
            first: ("case_id", "bigint"),
            second: "reporter_id",
            lock: false,
        },
        pairs.iter().copied(),
    )
    .await?;
    rows.iter()
        .map(|r| Ok((r.try_get(0)?, r.try_get(1)?)))
        .collect()
}

#[derive(Debug, Clone)]
pub struct ReportRow {
    pub id: i64,
    pub case_id: i64,
    pub received_at: DateTime<Utc>,
    pub body: String,
}

pub async fn reports_for_case(db: &Db, case_id: i64) -> Result<Vec<ReportRow>> {
    Ok(read_file(db, case_id, &[Part::Reports]).await?.reports)
}

pub async fn get_report(db: &Db, id: i64) -> Result<Option<ReportRow>> {
    let sql = format!(
        "SELECT {}, {} FROM reports WHERE id = $1",
        REPORT_INTS.join(", "),
        REPORT_TEXTS.join(", ")
    );
    let row = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(id)
        .fetch_optional(db.reader())
        .await?;
    row.as_ref()
        .map(|r| report_from_row(r, Slots::plain(REPORT_INTS)))
        .transpose()
}

const REPORT_INTS: &[&str] = &["id", "case_id", "received_at"];
const REPORT_TEXTS: &[&str] = &["body"];

fn report_from_row(r: &sqlx::any::AnyRow, s: Slots) -> Result<ReportRow> {
    Ok(ReportRow {
        id: s.int(r, 0)?,
        case_id: s.int(r, 1)?,
        received_at: from_millis(s.int(r, 2)?),
        body: s.text(r, 0)?,
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

const NOTE_INTS: &[&str] = &["n.id", "n.created_at"];
const NOTE_TEXTS: &[&str] = &["u.username", "n.body"];

fn note_from_row(r: &sqlx::any::AnyRow, s: Slots) -> Result<NoteRow> {
    Ok(NoteRow {
        id: s.int(r, 0)?,
        created_at: from_millis(s.int(r, 1)?),
        author: s.text(r, 0)?,
        body: s.text(r, 1)?,
    })
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

const CONSULTATION_INTS: &[&str] = &[
    "c.id",
    "c.case_id",
    "c.due_at",
    "c.asked_at",
    "c.answered_at",
];
const CONSULTATION_TEXTS: &[&str] = &[
    "c.team",
    "c.question",
    "a.username",
    "c.answer",
    "b.username",
];
const CONSULTATIONS: &str = "consultations c JOIN users a ON a.id = c.asked_by \
     LEFT JOIN users b ON b.id = c.answered_by";

/// `SELECT` of a consultation's columns, for a query that adds its own conditions.
fn select_consultations() -> String {
    format!(
        "SELECT {}, {} FROM {CONSULTATIONS}",
        CONSULTATION_INTS.join(", "),
        CONSULTATION_TEXTS.join(", ")
    )
}

fn consultation_from_row(r: &sqlx::any::AnyRow, s: Slots) -> Result<ConsultationRow> {
    Ok(ConsultationRow {
        id: s.int(r, 0)?,
        case_id: s.int(r, 1)?,
        due_at: from_millis(s.int(r, 2)?),
        asked_at: from_millis(s.int(r, 3)?),
        answered_at: s.int::<Option<i64>>(r, 4)?.map(from_millis),
        team: s.text(r, 0)?,
        question: s.text(r, 1)?,
        asked_by: s.text(r, 2)?,
        answer: s.text(r, 3)?,
        answered_by: s.text(r, 4)?,
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
    let sql = format!("{} WHERE c.id = $1", select_consultations());
    let row = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(id)
        .fetch_optional(&mut *conn)
        .await?;
    row.as_ref()
        .map(|r| consultation_from_row(r, Slots::plain(CONSULTATION_INTS)))
        .transpose()
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
        "{} WHERE c.team IN ({}){open} ORDER BY c.due_at, c.id LIMIT {limit}",
        select_consultations(),
        list.join(", ")
    );
    let rows = query_with_args(sql, &p.0).fetch_all(db.reader()).await?;
    rows.iter()
        .map(|r| consultation_from_row(r, Slots::plain(CONSULTATION_INTS)))
        .collect()
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
    Ok(read_file(db, case_id, &[Part::Events]).await?.events)
}

const EVENT_INTS: &[&str] = &["id", "case_id", "at", "actor_id"];
const EVENT_TEXTS: &[&str] = &["actor_name", "reason", "payload"];

fn event_from_row(r: &sqlx::any::AnyRow, s: Slots) -> Result<RecordedEvent> {
    Ok(RecordedEvent {
        id: s.int(r, 0)?,
        case_id: s.int(r, 1)?,
        at: from_millis(s.int(r, 2)?),
        actor_id: s.int(r, 3)?,
        actor_name: s.text(r, 0)?,
        reason: s.text(r, 1)?,
        event: serde_json::from_str(&s.text::<String>(r, 2)?)?,
    })
}

// ---- the case file: everything that hangs off one case, in one statement ----

/// Where a row's integer and its text columns start. One reader per kind of row serves both its
/// own queries and the case file's single statement, in which every kind shares one layout.
#[derive(Clone, Copy)]
struct Slots {
    ints: usize,
    texts: usize,
}

impl Slots {
    /// The kind's own columns, integers first, then texts.
    fn plain(ints: &[&str]) -> Self {
        Self {
            ints: 0,
            texts: ints.len(),
        }
    }

    /// The case file's layout: the part, its sort key, then `FILE_INTS` and `FILE_TEXTS` slots.
    const FILE: Self = Self {
        ints: 2,
        texts: 2 + FILE_INTS,
    };

    fn int<T>(self, r: &sqlx::any::AnyRow, i: usize) -> Result<T>
    where
        T: for<'r> sqlx::Decode<'r, sqlx::Any> + sqlx::Type<sqlx::Any>,
    {
        Ok(r.try_get(self.ints + i)?)
    }

    fn text<T>(self, r: &sqlx::any::AnyRow, i: usize) -> Result<T>
    where
        T: for<'r> sqlx::Decode<'r, sqlx::Any> + sqlx::Type<sqlx::Any>,
    {
        Ok(r.try_get(self.texts + i)?)
    }
}

const FILE_INTS: usize = 5;
const FILE_TEXTS: usize = 5;

/// The parts of a case file, in the order the statement returns them.
#[derive(Debug, Clone, Copy)]
pub enum Part<'a> {
    Reports,
    Events,
    Notes,
    Consultations,
    /// Other cases about the same subject or by the same author, that these teams may see.
    Related {
        case: &'a Case,
        teams: &'a [String],
    },
}

impl Part<'_> {
    /// The part's tag in the statement's first column.
    fn tag(self) -> i64 {
        match self {
            Part::Reports => 0,
            Part::Events => 1,
            Part::Notes => 2,
            Part::Consultations => 3,
            Part::Related { .. } => 4,
        }
    }
}

/// The rows hanging off one case; parts not asked for stay empty.
#[derive(Debug, Default)]
pub struct FileRows {
    pub reports: Vec<ReportRow>,
    pub events: Vec<RecordedEvent>,
    pub notes: Vec<NoteRow>,
    pub consultations: Vec<ConsultationRow>,
    /// Other cases about the same subject or by the same author that the viewer may see, newest
    /// first, at most 20.
    pub related: Vec<Case>,
}

/// One `SELECT` of a union: the part, its sort key, the integer and text columns padded to the
/// shared layout (typed NULLs, so PostgreSQL types every arm alike).
fn file_arm(part: Part<'_>, sort: &str, ints: &[&str], texts: &[&str], from: &str) -> String {
    let pad = |cols: &[&str], width: usize, ty: &str| -> String {
        let null = format!("CAST(NULL AS {ty})");
        let mut all: Vec<&str> = cols.to_vec();
        all.resize(width, &null);
        all.join(", ")
    };
    format!(
        "SELECT CAST({} AS BIGINT) AS part, {sort} AS sort, {}, {} FROM {from}",
        part.tag(),
        pad(ints, FILE_INTS, "BIGINT"),
        pad(texts, FILE_TEXTS, "TEXT")
    )
}

/// Everything `parts` names of the case `case_id`, in one statement: one round trip where the
/// parts read one by one would cost one each.
pub async fn read_file(db: &Db, case_id: i64, parts: &[Part<'_>]) -> Result<FileRows> {
    let mut p = Params::default();
    let id = p.int(case_id);
    let mut arms = Vec::new();
    for part in parts {
        arms.push(match part {
            Part::Reports => file_arm(
                *part,
                "id",
                REPORT_INTS,
                REPORT_TEXTS,
                &format!("reports WHERE case_id = {id}"),
            ),
            Part::Events => file_arm(
                *part,
                "seq",
                EVENT_INTS,
                EVENT_TEXTS,
                &format!("events WHERE case_id = {id}"),
            ),
            Part::Notes => file_arm(
                *part,
                "n.id",
                NOTE_INTS,
                NOTE_TEXTS,
                &format!("notes n JOIN users u ON u.id = n.author_id WHERE n.case_id = {id}"),
            ),
            Part::Consultations => file_arm(
                *part,
                "c.id",
                CONSULTATION_INTS,
                CONSULTATION_TEXTS,
                &format!("{CONSULTATIONS} WHERE c.case_id = {id}"),
            ),
            Part::Related { case, teams } => {
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
                file_arm(
                    *part,
                    "-id",
                    &[],
                    &["state"],
                    &format!(
                        "(SELECT id, state FROM cases WHERE id <> {id} \
                         AND ((subject_kind = {kind} AND external_id = {ext}){author}) \
                         AND {visible} ORDER BY id DESC LIMIT 20) related"
                    ),
                )
            }
        });
    }
    let mut file = FileRows::default();
    if arms.is_empty() {
        return Ok(file);
    }
    let sql = format!(
        "SELECT * FROM ({}) file ORDER BY part, sort",
        arms.join(" UNION ALL ")
    );
    let rows = query_with_args(sql, &p.0).fetch_all(db.reader()).await?;
    let s = Slots::FILE;
    for r in &rows {
        match r.try_get::<i64, _>(0)? {
            0 => file.reports.push(report_from_row(r, s)?),
            1 => file.events.push(event_from_row(r, s)?),
            2 => file.notes.push(note_from_row(r, s)?),
            3 => file.consultations.push(consultation_from_row(r, s)?),
            4 => file.related.push(parse_case(&s.text::<String>(r, 0)?)?),
            other => return Err(Error::Internal(format!("case file part {other}"))),
        }
    }
    Ok(file)
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
