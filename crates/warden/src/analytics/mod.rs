//! Analytics: read-only SQL over documented views, for analysts, leads, QA and admins.
//!
//! A query is checked (`sql`: one read-only statement over the views, allowed functions only),
//! narrowed to the rows of the cases the caller may see, and run on a connection that cannot
//! write, under a time limit and a row cap (`store::analytics`). Queries can be saved and shared
//! with a team. The HTTP API, the console page and `warden sql` all come through here.

pub mod charts;
pub mod kpis;
pub mod report;
pub mod sql;
pub mod views;

use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::ToSchema;

use crate::access::{Actor, Permission};
use crate::desk::Desk;
use crate::error::{Error, FieldError, Result};
use crate::store::analytics as store;
use crate::store::cases::Who;

/// How long a query may run and how many rows it may return.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    pub timeout_secs: u64,
    pub max_rows: usize,
}

impl Limits {
    pub fn of(desk: &Desk) -> Self {
        let c = &desk.config.analytics;
        Self {
            timeout_secs: c.statement_timeout_secs,
            max_rows: c.max_rows,
        }
    }
}

/// Why a query that passed the checker did not finish. Each reads after "sql: ".
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RunError {
    #[error("returns more than {} rows; add a LIMIT or aggregate", thousands(*.0))]
    TooManyRows(usize),
    #[error("ran past the {0} s limit; narrow it down or aggregate")]
    TimedOut(u64),
    #[error("was refused by the database: {0}")]
    Rejected(String),
}

impl From<sql::Refusal> for Error {
    fn from(r: sql::Refusal) -> Self {
        Error::field("sql", r.to_string())
    }
}

impl From<RunError> for Error {
    fn from(r: RunError) -> Self {
        Error::field("sql", r.to_string())
    }
}

/// `10000` as `10,000`.
pub fn thousands(n: usize) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// A query's answer: the column names in order, and each row's values in the same order.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct ResultTable {
    pub columns: Vec<String>,
    /// One array per row, a value per column: numbers, text or null.
    pub rows: Vec<Vec<Value>>,
}

/// Runs `sql` as `actor`: checked, narrowed to what they may see, within the desk's limits.
pub async fn run(desk: &Desk, actor: &Actor, sql: &str) -> Result<ResultTable> {
    actor.require(Permission::RunAnalytics)?;
    execute(desk, &actor.teams, Who::user(actor), sql).await
}

/// Runs `sql` for the operator at the command line, who is nobody's team member: restricted
/// cases stay out of the answer.
pub async fn run_as_operator(desk: &Desk, sql: &str) -> Result<ResultTable> {
    execute(
        desk,
        &[],
        Who {
            id: None,
            name: "cli",
        },
        sql,
    )
    .await
}

async fn execute(desk: &Desk, teams: &[String], who: Who<'_>, sql: &str) -> Result<ResultTable> {
    let checked = sql::check(sql, desk.db.engine)?;
    let (text, args) = checked.scoped_to(teams);
    let table = store::run(&desk.db, &text, args, Limits::of(desk)).await?;
    let mut conn = desk.db.begin().await?;
    crate::store::cases::record_audit(
        &mut conn,
        "analytics",
        "query_ran",
        who,
        &serde_json::json!({"sql": sql, "rows": table.rows.len()}),
        desk.now(),
    )
    .await?;
    conn.commit().await?;
    Ok(table)
}

fn cell(v: &Value) -> String {
    match v {
        Value::Null => String::new(),
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// The table as CSV (RFC 4180): a header line, then a line per row.
pub fn to_csv(table: &ResultTable) -> String {
    fn field(s: &str) -> String {
        if s.contains([',', '"', '\n', '\r']) {
            format!("\"{}\"", s.replace('"', "\"\""))
        } else {
            s.to_string()
        }
    }
    let mut out = String::new();
    let line =
        |cells: Vec<String>| cells.iter().map(|c| field(c)).collect::<Vec<_>>().join(",") + "\r\n";
    out.push_str(&line(table.columns.clone()));
    for row in &table.rows {
        out.push_str(&line(row.iter().map(cell).collect()));
    }
    out
}

/// The table as aligned text for a terminal: numbers to the right, the rest to the left.
pub fn to_text(table: &ResultTable) -> String {
    let cells: Vec<Vec<String>> = table
        .rows
        .iter()
        .map(|r| {
            r.iter()
                .map(|v| cell(v).replace(['\n', '\r', '\t'], " "))
                .collect()
        })
        .collect();
    let widths: Vec<usize> = (0..table.columns.len())
        .map(|i| {
            cells
                .iter()
                .filter_map(|r| r.get(i))
                .chain(std::iter::once(&table.columns[i]))
                .map(|c| c.chars().count())
                .max()
                .unwrap_or(0)
        })
        .collect();
    let numeric: Vec<bool> = (0..table.columns.len())
        .map(|i| {
            table
                .rows
                .iter()
                .all(|r| matches!(r.get(i), Some(Value::Number(_) | Value::Null)))
        })
        .collect();
    let mut out = String::new();
    let line = |cells: &[String], out: &mut String| {
        let parts: Vec<String> = cells
            .iter()
            .enumerate()
            .map(|(i, c)| {
                if numeric[i] {
                    format!("{c:>w$}", w = widths[i])
                } else {
                    format!("{c:<w$}", w = widths[i])
                }
            })
            .collect();
        out.push_str(parts.join("  ").trim_end());
        out.push('\n');
    };
    line(&table.columns, &mut out);
    let rule: Vec<String> = widths.iter().map(|w| "-".repeat(*w)).collect();
    line(&rule, &mut out);
    for r in &cells {
        line(r, &mut out);
    }
    let n = table.rows.len();
    out.push_str(&format!("({} row{})\n", n, if n == 1 { "" } else { "s" }));
    out
}

// ---------------------------------------------------------------- saved queries

/// A query to keep.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SavedQueryInput {
    /// Unique among the author's queries; saving under a name already used replaces that query.
    pub name: String,
    #[serde(default)]
    pub description: String,
    pub sql: String,
    /// A team of the author's to share the query with; without it only the author sees it.
    #[serde(default)]
    pub team: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct SavedQuery {
    pub id: i64,
    pub name: String,
    pub description: String,
    pub sql: String,
    pub author: String,
    pub team: Option<String>,
    pub created_at: chrono::DateTime<chrono::Utc>,
    pub updated_at: chrono::DateTime<chrono::Utc>,
}

fn validate(desk: &Desk, actor: &Actor, input: &SavedQueryInput) -> Result<()> {
    let mut errors = Vec::new();
    let name = input.name.trim();
    if name.is_empty() || name.chars().count() > 100 {
        errors.push(FieldError::new("name", "must be 1 to 100 characters"));
    }
    if input.description.chars().count() > 2000 {
        errors.push(FieldError::new(
            "description",
            "must be at most 2,000 characters",
        ));
    }
    if let Err(refusal) = sql::check(&input.sql, desk.db.engine) {
        errors.push(FieldError::new("sql", refusal.to_string()));
    }
    if let Some(team) = &input.team
        && !actor.in_team(team)
    {
        errors.push(FieldError::new("team", "must be one of your teams"));
    }
    if errors.is_empty() {
        Ok(())
    } else {
        Err(Error::Invalid(errors))
    }
}

/// Saves a query the checker accepts (replacing the author's query of the same name).
pub async fn save(desk: &Desk, actor: &Actor, input: SavedQueryInput) -> Result<SavedQuery> {
    actor.require(Permission::RunAnalytics)?;
    validate(desk, actor, &input)?;
    let now = desk.now();
    let mut conn = desk.db.begin().await?;
    let id = store::save(&mut conn, actor.user_id, &input, now).await?;
    crate::store::cases::record_audit(
        &mut conn,
        "saved_query",
        "saved",
        Who::user(actor),
        &serde_json::json!({"id": id, "name": input.name.trim(), "team": input.team}),
        now,
    )
    .await?;
    conn.commit().await?;
    store::get(&desk.db, id)
        .await?
        .ok_or(Error::NotFound("saved query"))
}

/// The caller's own queries and those shared with their teams, by name.
pub async fn list(desk: &Desk, actor: &Actor) -> Result<Vec<SavedQuery>> {
    actor.require(Permission::RunAnalytics)?;
    store::list(&desk.db, actor.user_id, &actor.teams).await
}

/// Deletes a query: its author's to delete (or an admin's); others' and unshared ones are not
/// found.
pub async fn delete(desk: &Desk, actor: &Actor, id: i64) -> Result<()> {
    actor.require(Permission::RunAnalytics)?;
    let visible = store::list(&desk.db, actor.user_id, &actor.teams).await?;
    let Some(found) = visible.into_iter().find(|q| q.id == id) else {
        return Err(Error::NotFound("saved query"));
    };
    if found.author != actor.username && actor.role != crate::access::Role::Admin {
        return Err(Error::Forbidden(
            "only the author may delete a saved query".into(),
        ));
    }
    let mut conn = desk.db.begin().await?;
    store::delete(&mut conn, id).await?;
    crate::store::cases::record_audit(
        &mut conn,
        "saved_query",
        "deleted",
        Who::user(actor),
        &serde_json::json!({"id": id, "name": found.name}),
        desk.now(),
    )
    .await?;
    conn.commit().await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn table() -> ResultTable {
        ResultTable {
            columns: vec!["queue".into(), "n".into()],
            rows: vec![
                vec![json!("general"), json!(12)],
                vec![json!("say \"hi\", ok"), json!(3)],
                vec![Value::Null, json!(1.5)],
            ],
        }
    }

    #[test]
    fn csv_quotes_what_needs_quoting() {
        assert_eq!(
            to_csv(&table()),
            "queue,n\r\ngeneral,12\r\n\"say \"\"hi\"\", ok\",3\r\n,1.5\r\n"
        );
    }

    #[test]
    fn text_tables_align_their_columns() {
        let text = to_text(&table());
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines[0], format!("queue{}n", " ".repeat(11)));
        assert_eq!(lines[1], format!("{}  ---", "-".repeat(12)));
        assert_eq!(lines[2], format!("general{}12", " ".repeat(8)));
        assert_eq!(lines[4], format!("{}1.5", " ".repeat(14)));
        assert_eq!(lines[5], "(3 rows)");
    }

    #[test]
    fn limits_read_as_people_write_them() {
        assert_eq!(thousands(10_000), "10,000");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(1_234_567), "1,234,567");
        assert_eq!(
            RunError::TooManyRows(10_000).to_string(),
            "returns more than 10,000 rows; add a LIMIT or aggregate"
        );
        assert_eq!(
            RunError::TimedOut(10).to_string(),
            "ran past the 10 s limit; narrow it down or aggregate"
        );
    }
}
