//! Running analysts' checked queries, and keeping their saved ones.
//!
//! A query runs on a connection of its own that cannot write: on SQLite one opened read-only with
//! `query_only` on, interrupted by a progress handler at the time limit; on PostgreSQL a
//! `READ ONLY` transaction with `statement_timeout` and the search path set to the schema of the
//! views. Rows are read one at a time and the query is abandoned at the row cap.

use std::str::FromStr;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use futures_util::TryStreamExt;
use serde_json::Value;
use sqlx::postgres::PgConnection;
use sqlx::sqlite::{SqliteConnectOptions, SqliteConnection};
use sqlx::{
    AnyConnection, AssertSqlSafe, Column, ConnectOptions, Connection, Database, Encode, Executor,
    Row, SqlSafeStr, Statement, Type, TypeInfo, ValueRef,
};

use super::cases::Params;
use super::{Arg, Db, Engine};
use crate::analytics::{Limits, ResultTable, RunError, SavedQuery, SavedQueryInput};
use crate::clock::{from_millis, to_millis};
use crate::error::{Error, Result};

/// Runs an already checked and scoped query within `limits`.
pub async fn run(db: &Db, sql: &str, args: Vec<Arg>, limits: Limits) -> Result<ResultTable> {
    let timeout = Duration::from_secs(limits.timeout_secs);
    let running = async {
        match db.engine {
            Engine::Sqlite => run_sqlite(db.url(), sql, args, timeout, limits).await,
            Engine::Postgres => run_postgres(db.url(), sql, args, limits).await,
        }
    };
    // The engines stop the query themselves; this only covers a connection that never answers.
    match tokio::time::timeout(timeout + Duration::from_secs(5), running).await {
        Ok(result) => result,
        Err(_) => Err(RunError::TimedOut(limits.timeout_secs).into()),
    }
}

fn bind_all<'q, DB: Database>(
    mut q: sqlx::query::Query<'q, DB, DB::Arguments>,
    args: Vec<Arg>,
) -> sqlx::query::Query<'q, DB, DB::Arguments>
where
    i64: Encode<'q, DB> + Type<DB>,
    String: Encode<'q, DB> + Type<DB>,
    Option<i64>: Encode<'q, DB> + Type<DB>,
    Option<String>: Encode<'q, DB> + Type<DB>,
{
    for a in args {
        q = match a {
            Arg::Int(i) => q.bind(i),
            Arg::Text(s) => q.bind(s),
            Arg::MaybeInt(i) => q.bind(i),
            Arg::MaybeText(s) => q.bind(s),
        };
    }
    q
}

/// What a failed query tells the analyst: the time limit, the database's own objection to the
/// query, or (for a lost connection) the usual error.
fn failed(e: sqlx::Error, limits: Limits) -> Error {
    if let sqlx::Error::Database(db) = &e {
        let code = db.code().unwrap_or_default();
        // PostgreSQL's query_canceled (statement_timeout); SQLite's SQLITE_INTERRUPT.
        if code == "57014" || code == "9" {
            return RunError::TimedOut(limits.timeout_secs).into();
        }
    }
    match Error::from(e) {
        Error::Database(sqlx::Error::Database(db)) => {
            RunError::Rejected(db.message().to_string()).into()
        }
        other => other,
    }
}

async fn run_sqlite(
    url: &str,
    sql: &str,
    args: Vec<Arg>,
    timeout: Duration,
    limits: Limits,
) -> Result<ResultTable> {
    let options = SqliteConnectOptions::from_str(url)
        .map_err(|e| Error::Internal(format!("database URL: {e}")))?
        .create_if_missing(false)
        .read_only(true)
        .pragma("query_only", "ON");
    let mut conn: SqliteConnection = options.connect().await?;
    let deadline = Instant::now() + timeout;
    conn.lock_handle()
        .await?
        .set_progress_handler(1_000, move || Instant::now() < deadline);
    let result = async {
        let statement = (&mut conn)
            .prepare(AssertSqlSafe(sql.to_string()).into_sql_str())
            .await?;
        let columns: Vec<String> = statement
            .columns()
            .iter()
            .map(|c| c.name().to_string())
            .collect();
        let query = bind_all(sqlx::query(AssertSqlSafe(sql.to_string())), args);
        let mut rows = Vec::new();
        let mut stream = (&mut conn).fetch(query);
        while let Some(row) = stream.try_next().await? {
            if rows.len() == limits.max_rows {
                return Ok(Err(RunError::TooManyRows(limits.max_rows)));
            }
            rows.push(
                (0..columns.len())
                    .map(|i| sqlite_value(&row, i))
                    .collect::<std::result::Result<Vec<_>, sqlx::Error>>()?,
            );
        }
        Ok(Ok(ResultTable { columns, rows }))
    }
    .await;
    let _ = conn.close().await;
    match result {
        Ok(Ok(table)) => Ok(table),
        Ok(Err(too_many)) => Err(too_many.into()),
        Err(e) => Err(failed(e, limits)),
    }
}

fn sqlite_value(
    row: &sqlx::sqlite::SqliteRow,
    i: usize,
) -> std::result::Result<Value, sqlx::Error> {
    let raw = row.try_get_raw(i)?;
    if raw.is_null() {
        return Ok(Value::Null);
    }
    let kind = raw.type_info().name().to_string();
    Ok(match kind.as_str() {
        "INTEGER" | "BOOLEAN" => Value::from(row.try_get_unchecked::<i64, _>(i)?),
        "REAL" => serde_json::Number::from_f64(row.try_get_unchecked::<f64, _>(i)?)
            .map_or(Value::Null, Value::Number),
        "BLOB" => Value::from(hex::encode(row.try_get_unchecked::<Vec<u8>, _>(i)?)),
        _ => Value::from(row.try_get_unchecked::<String, _>(i)?),
    })
}

async fn run_postgres(url: &str, sql: &str, args: Vec<Arg>, limits: Limits) -> Result<ResultTable> {
    let mut conn = PgConnection::connect(url).await?;
    let result = async {
        let ms = limits.timeout_secs.saturating_mul(1000);
        sqlx::raw_sql(AssertSqlSafe(format!(
            "BEGIN READ ONLY; SET LOCAL statement_timeout = {ms}; SET LOCAL lock_timeout = {ms}; \
             SELECT set_config('search_path', quote_ident(current_schema()), true)"
        )))
        .execute(&mut conn)
        .await?;
        let statement = (&mut conn)
            .prepare(AssertSqlSafe(sql.to_string()).into_sql_str())
            .await?;
        let columns: Vec<String> = statement
            .columns()
            .iter()
            .map(|c| c.name().to_string())
            .collect();
        // Each row comes back as its JSON text, so every type PostgreSQL has reads the same way.
        let wrapped = format!("SELECT CAST(row_to_json(q) AS TEXT) FROM ({sql}) AS q");
        let query = bind_all(sqlx::query(AssertSqlSafe(wrapped)), args);
        let mut rows = Vec::new();
        let mut stream = (&mut conn).fetch(query);
        while let Some(row) = stream.try_next().await? {
            if rows.len() == limits.max_rows {
                return Ok(Err(RunError::TooManyRows(limits.max_rows)));
            }
            let text: String = row.try_get(0)?;
            let values: RowValues =
                serde_json::from_str(&text).map_err(|e| sqlx::Error::Decode(Box::new(e)))?;
            rows.push(values.0);
        }
        Ok(Ok(ResultTable { columns, rows }))
    }
    .await;
    let _ = conn.close().await;
    match result {
        Ok(Ok(table)) => Ok(table),
        Ok(Err(too_many)) => Err(too_many.into()),
        Err(e) => Err(failed(e, limits)),
    }
}

/// The values of a JSON object in order, duplicate keys included (`SELECT count(*), count(*)`).
struct RowValues(Vec<Value>);

impl<'de> serde::Deserialize<'de> for RowValues {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        struct Values;
        impl<'de> serde::de::Visitor<'de> for Values {
            type Value = RowValues;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a row as a JSON object")
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                mut map: A,
            ) -> std::result::Result<RowValues, A::Error> {
                let mut values = Vec::new();
                while let Some((_, v)) = map.next_entry::<serde::de::IgnoredAny, Value>()? {
                    values.push(v);
                }
                Ok(RowValues(values))
            }
        }
        d.deserialize_map(Values)
    }
}

// ---------------------------------------------------------------- saved queries

const SAVED_COLUMNS: &str =
    "q.id, q.name, q.description, q.sql, u.username, q.team, q.created_at, q.updated_at";

fn saved_from_row(row: &sqlx::any::AnyRow) -> Result<SavedQuery> {
    Ok(SavedQuery {
        id: row.try_get(0)?,
        name: row.try_get(1)?,
        description: row.try_get(2)?,
        sql: row.try_get(3)?,
        author: row.try_get(4)?,
        team: row.try_get(5)?,
        created_at: from_millis(row.try_get(6)?),
        updated_at: from_millis(row.try_get(7)?),
    })
}

/// Saves the author's query under its name, replacing one saved under the same name.
pub async fn save(
    conn: &mut AnyConnection,
    author_id: i64,
    input: &SavedQueryInput,
    now: DateTime<Utc>,
) -> Result<i64> {
    let row = sqlx::query(
        "INSERT INTO saved_queries (author_id, name, description, sql, team, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $6) \
         ON CONFLICT (author_id, name) DO UPDATE SET description = excluded.description, \
         sql = excluded.sql, team = excluded.team, updated_at = excluded.updated_at \
         RETURNING id",
    )
    .bind(author_id)
    .bind(input.name.trim().to_string())
    .bind(input.description.clone())
    .bind(input.sql.clone())
    .bind(input.team.clone())
    .bind(to_millis(now))
    .fetch_one(&mut *conn)
    .await?;
    Ok(row.try_get(0)?)
}

pub async fn get(db: &Db, id: i64) -> Result<Option<SavedQuery>> {
    let row = sqlx::query(AssertSqlSafe(format!(
        "SELECT {SAVED_COLUMNS} FROM saved_queries q JOIN users u ON u.id = q.author_id WHERE q.id = $1"
    )))
    .bind(id)
    .fetch_optional(db.reader())
    .await?;
    row.as_ref().map(saved_from_row).transpose()
}

/// The author's own queries and those shared with any of `teams`, by name.
pub async fn list(db: &Db, author_id: i64, teams: &[String]) -> Result<Vec<SavedQuery>> {
    let mut p = Params::default();
    let me = p.int(author_id);
    let shared = if teams.is_empty() {
        String::new()
    } else {
        let list: Vec<String> = teams.iter().map(|t| p.text(t.clone())).collect();
        format!(" OR q.team IN ({})", list.join(", "))
    };
    let sql = format!(
        "SELECT {SAVED_COLUMNS} FROM saved_queries q JOIN users u ON u.id = q.author_id \
         WHERE q.author_id = {me}{shared} ORDER BY q.name, q.id"
    );
    super::query_with_args(sql, &p.0)
        .fetch_all(db.reader())
        .await?
        .iter()
        .map(saved_from_row)
        .collect()
}

pub async fn delete(conn: &mut AnyConnection, id: i64) -> Result<()> {
    sqlx::query("DELETE FROM saved_queries WHERE id = $1")
        .bind(id)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_row_keeps_its_values_in_order_even_under_one_name() {
        let v: RowValues =
            serde_json::from_str(r#"{"count":3,"count":4,"q":"a","n":null}"#).unwrap();
        assert_eq!(
            v.0,
            vec![
                Value::from(3),
                Value::from(4),
                Value::from("a"),
                Value::Null
            ]
        );
    }
}
