//! Rows written many at a time: one `INSERT` for all the rows of a table a change brings, however
//! many, instead of a statement (and a round trip to the database) per row.

use sqlx::any::AnyRow;
use sqlx::{AnyConnection, Row};

use super::{Arg, Db, Engine};
use crate::error::{Error, Result};

/// A table and the columns a change writes to it, in the order each row gives its values.
pub struct Table {
    pub name: &'static str,
    pub columns: &'static [&'static str],
}

/// How a statement reads the rows it writes: all the rows of a table travel as one JSON array of
/// objects keyed by column (see [`recordset`]), one bound value, unpacked by the database. The
/// statement's text is the same however many rows it carries, so it is prepared once per
/// connection: a text that changed with the number of rows was parsed afresh every time (on
/// PostgreSQL, described and planned too, at two round trips).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Style {
    /// PostgreSQL: `json_populate_recordset`, into the table's own column types.
    Recordset,
    /// SQLite: `jsonb_each`, a column a field of each object (each row handed on in SQLite's
    /// binary JSON, not turned back into text to be parsed again for every column).
    JsonEach,
}

fn style(conn: &AnyConnection) -> Style {
    if conn.backend_name() == "SQLite" {
        Style::JsonEach
    } else {
        Style::Recordset
    }
}

fn push_insert_head(sql: &mut String, table: &Table) {
    use std::fmt::Write;
    let _ = write!(
        sql,
        "INSERT INTO {} ({}) ",
        table.name,
        table.columns.join(", ")
    );
}

/// `INSERT INTO t (a, b) SELECT …` of the rows bound as the `param`th value, and the suffix.
fn push_rows_insert(sql: &mut String, style: Style, table: &Table, suffix: &str, param: usize) {
    use std::fmt::Write;
    push_insert_head(sql, table);
    match style {
        Style::Recordset => {
            let _ = write!(
                sql,
                "SELECT {} FROM json_populate_recordset(NULL::{}, CAST(${param} AS json)){suffix}",
                table.columns.join(", "),
                table.name
            );
        }
        Style::JsonEach => {
            let fields: Vec<String> = table
                .columns
                .iter()
                .map(|c| format!("value ->> '{c}'"))
                .collect();
            // `WHERE true` keeps an `ON CONFLICT` suffix from being read as the join's `ON`.
            let _ = write!(
                sql,
                "SELECT {} FROM jsonb_each(${param}) WHERE true{suffix}",
                fields.join(", ")
            );
        }
    }
}

/// The rows as a JSON array of objects keyed by column, the one bound value of a table's rows.
fn recordset(table: &Table, rows: Vec<Vec<Arg>>) -> Result<String> {
    use std::io::Write;
    let mut out: Vec<u8> = Vec::with_capacity(rows.len() * table.columns.len() * 24 + 2);
    out.push(b'[');
    for (i, row) in rows.into_iter().enumerate() {
        out.extend_from_slice(if i > 0 { b",{" } else { b"{" });
        for (j, (column, value)) in table.columns.iter().zip(row).enumerate() {
            if j > 0 {
                out.push(b',');
            }
            // Writing to a vector cannot fail.
            let _ = write!(out, "\"{column}\":");
            match value {
                Arg::Int(v) | Arg::MaybeInt(Some(v)) => {
                    let _ = write!(out, "{v}");
                }
                Arg::Text(t) | Arg::MaybeText(Some(t)) => serde_json::to_writer(&mut out, &t)?,
                Arg::MaybeInt(None) | Arg::MaybeText(None) => out.extend_from_slice(b"null"),
            }
        }
        out.push(b'}');
    }
    out.push(b']');
    String::from_utf8(out).map_err(|e| Error::Internal(format!("rows as JSON: {e}")))
}

fn check_widths(table: &Table, rows: &[Vec<Arg>]) -> Result<()> {
    match rows.iter().find(|r| r.len() != table.columns.len()) {
        Some(bad) => Err(Error::Internal(format!(
            "a row of {} values for the {} columns of {}",
            bad.len(),
            table.columns.len(),
            table.name
        ))),
        None => Ok(()),
    }
}

/// Inserts the rows in one statement. `suffix` follows the rows (an `ON CONFLICT` clause, say).
pub async fn insert_with(
    conn: &mut AnyConnection,
    table: &Table,
    rows: Vec<Vec<Arg>>,
    suffix: &str,
) -> Result<()> {
    write_all(
        conn,
        vec![Rows {
            table,
            rows,
            suffix: suffix.to_string(),
        }],
    )
    .await
}

pub async fn insert(conn: &mut AnyConnection, table: &Table, rows: Vec<Vec<Arg>>) -> Result<()> {
    insert_with(conn, table, rows, "").await
}

/// As [`insert_with`], returning `columns` (e.g. `id, hash`) of the rows written; those the
/// suffix's `ON CONFLICT … DO NOTHING` skipped return nothing.
pub async fn insert_returning(
    conn: &mut AnyConnection,
    table: &Table,
    rows: Vec<Vec<Arg>>,
    suffix: &str,
    columns: &str,
) -> Result<Vec<AnyRow>> {
    check_widths(table, &rows)?;
    if rows.is_empty() {
        return Ok(Vec::new());
    }
    let mut sql = String::new();
    push_rows_insert(
        &mut sql,
        style(conn),
        table,
        &format!("{suffix} RETURNING {columns}"),
        1,
    );
    Ok(sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(recordset(table, rows)?)
        .fetch_all(&mut *conn)
        .await?)
}

/// The rows of one table that a change writes, for [`write_all`].
pub struct Rows<'a> {
    pub table: &'a Table,
    pub rows: Vec<Vec<Arg>>,
    /// What follows the rows (an `ON CONFLICT` clause, say).
    pub suffix: String,
}

impl<'a> Rows<'a> {
    pub fn new(table: &'a Table, rows: Vec<Vec<Arg>>) -> Self {
        Self {
            table,
            rows,
            suffix: String::new(),
        }
    }
}

/// Writes the rows of several tables that one change brings, in one round trip. On PostgreSQL
/// they go in one statement, each table's `INSERT` a step of a `WITH` (PostgreSQL checks foreign
/// keys once the whole statement is done, so a step may refer to a row another step adds). On
/// SQLite, which has no `INSERT` inside `WITH`, a statement per table in one text, in the order
/// given.
pub async fn write_all(conn: &mut AnyConnection, writes: Vec<Rows<'_>>) -> Result<()> {
    let writes: Vec<Rows<'_>> = writes.into_iter().filter(|w| !w.rows.is_empty()).collect();
    if writes.is_empty() {
        return Ok(());
    }
    let sql = write_all_sql(style(conn), &writes);
    let mut statement = sqlx::query(sqlx::AssertSqlSafe(sql));
    for w in writes {
        check_widths(w.table, &w.rows)?;
        statement = statement.bind(recordset(w.table, w.rows)?);
    }
    statement.execute(&mut *conn).await?;
    Ok(())
}

/// The text of [`write_all`], the rows of the nth write as the nth bound value. On PostgreSQL,
/// `WITH w0 AS (INSERT …), w1 AS (INSERT …) INSERT …` (a lone write is a plain `INSERT`); on
/// SQLite, `INSERT …; INSERT …`.
fn write_all_sql(style: Style, writes: &[Rows<'_>]) -> String {
    let mut steps = Vec::with_capacity(writes.len());
    for (i, w) in writes.iter().enumerate() {
        let mut step = String::new();
        push_rows_insert(&mut step, style, w.table, &w.suffix, i + 1);
        steps.push(step);
    }
    if style == Style::JsonEach {
        return steps.join("; ");
    }
    let last = steps.pop().unwrap_or_default();
    if steps.is_empty() {
        return last;
    }
    let steps: Vec<String> = steps
        .iter()
        .enumerate()
        .map(|(i, step)| format!("w{i} AS ({step})"))
        .collect();
    format!("WITH {} {last}", steps.join(", "))
}

/// The rows of a table that match any of many pairs of keys, read in one statement whose text
/// never changes with their number: the pairs travel as one JSON array bound as `$1` (see
/// [`fetch_by_pairs`]), and each is looked up through the table's index on the two key columns.
pub struct ByPairs<'a> {
    pub table: &'a str,
    /// The columns to read, as `r.column` in that order.
    pub columns: &'a [&'a str],
    /// The first key column and its type on PostgreSQL (`bigint`, `text`); the second is text.
    pub first: (&'a str, &'a str),
    pub second: &'a str,
    /// Lock the rows read, pair by pair in the order given (PostgreSQL; SQLite's one writer
    /// needs no locks).
    pub lock: bool,
}

/// `SELECT r.… FROM <the pairs> … <the table> AS r` for [`ByPairs`] on this connection's engine.
/// The pairs lead and the table is probed once per pair: on PostgreSQL through a lateral subquery
/// it may not flatten (the planner, guessing a hundred pairs for any JSON, would otherwise hash
/// the whole table), on SQLite through `CROSS JOIN`, which keeps the order written.
fn by_pairs_sql(conn: &AnyConnection, q: &ByPairs<'_>) -> String {
    let wanted: Vec<String> = q.columns.iter().map(|c| format!("r.{c}")).collect();
    let wanted = wanted.join(", ");
    let (first, first_type) = q.first;
    let second = q.second;
    match style(conn) {
        Style::Recordset => format!(
            "SELECT {wanted} FROM json_to_recordset(CAST($1 AS json)) AS k(a {first_type}, b text) \
             CROSS JOIN LATERAL (SELECT {} FROM {} WHERE {first} = k.a AND {second} = k.b {}) AS r",
            q.columns.join(", "),
            q.table,
            if q.lock { "FOR UPDATE" } else { "OFFSET 0" },
        ),
        Style::JsonEach => format!(
            "SELECT {wanted} FROM jsonb_each($1) AS k CROSS JOIN {} AS r \
             ON r.{first} = k.value ->> 'a' AND r.{second} = k.value ->> 'b'",
            q.table
        ),
    }
}

/// The rows of [`ByPairs`] matching any of `pairs`, sent as `[{"a": …, "b": …}, …]`; none for
/// no pairs.
pub async fn fetch_by_pairs<'a, K: serde::Serialize>(
    conn: &mut AnyConnection,
    q: &ByPairs<'_>,
    pairs: impl IntoIterator<Item = (K, &'a str)>,
) -> Result<Vec<AnyRow>> {
    #[derive(serde::Serialize)]
    struct Pair<'a, K> {
        a: K,
        b: &'a str,
    }
    let pairs: Vec<Pair<'_, K>> = pairs.into_iter().map(|(a, b)| Pair { a, b }).collect();
    if pairs.is_empty() {
        return Ok(Vec::new());
    }
    Ok(sqlx::query(sqlx::AssertSqlSafe(by_pairs_sql(conn, q)))
        .bind(serde_json::to_string(&pairs)?)
        .fetch_all(&mut *conn)
        .await?)
}

/// Inserts one row and returns the id the database gave it.
pub async fn insert_one(conn: &mut AnyConnection, table: &Table, row: Vec<Arg>) -> Result<i64> {
    let row = insert_returning(conn, table, vec![row], "", "id")
        .await?
        .pop()
        .ok_or_else(|| {
            Error::Internal(format!("a row of {} came back without an id", table.name))
        })?;
    Ok(row.try_get(0)?)
}

/// Ids for rows a change will write, taken before it writes them, so the rows can refer to each
/// other (a report to its case, a message to its report) and still be written table by table.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Reserved {
    ids: std::collections::BTreeMap<&'static str, std::collections::VecDeque<i64>>,
}

impl Reserved {
    /// The next reserved id of a table; an error if the change takes more than it reserved.
    pub fn take(&mut self, table: &Table) -> Result<i64> {
        self.ids
            .get_mut(table.name)
            .and_then(|ids| ids.pop_front())
            .ok_or_else(|| Error::Internal(format!("no id reserved for a row of {}", table.name)))
    }
}

/// Reserves `count` ids of each table, in one statement. On PostgreSQL they come from the tables'
/// sequences, so concurrent writers never share one; on SQLite the one writer takes the numbers
/// after the highest ever given, as `AUTOINCREMENT` would, and the insert moves that mark on.
pub async fn reserve(
    db: &Db,
    conn: &mut AnyConnection,
    counts: &[(&Table, usize)],
) -> Result<Reserved> {
    let wanted: Vec<_> = counts.iter().filter(|(_, n)| *n > 0).collect();
    let mut reserved = Reserved::default();
    if wanted.is_empty() {
        return Ok(reserved);
    }
    match db.engine {
        Engine::Postgres => {
            // The counts are bound, so the text depends only on the tables: prepared once.
            let parts: Vec<String> = wanted
                .iter()
                .enumerate()
                .map(|(i, (t, _))| {
                    format!(
                        "SELECT '{0}' AS name, nextval('{0}_id_seq') AS id FROM generate_series(1, ${1})",
                        t.name,
                        i + 1
                    )
                })
                .collect();
            let mut query = sqlx::query(sqlx::AssertSqlSafe(parts.join(" UNION ALL ")));
            for (_, n) in &wanted {
                query = query.bind(*n as i64);
            }
            let rows = query.fetch_all(&mut *conn).await?;
            for row in rows {
                let name: String = row.try_get(0)?;
                let table = wanted
                    .iter()
                    .find(|(t, _)| t.name == name)
                    .ok_or_else(|| Error::Internal(format!("ids for unknown table {name}")))?;
                reserved
                    .ids
                    .entry(table.0.name)
                    .or_default()
                    .push_back(row.try_get(1)?);
            }
        }
        Engine::Sqlite => {
            let marks: Vec<String> = wanted
                .iter()
                .map(|(t, _)| {
                    format!(
                        "(SELECT COALESCE(MAX(seq), 0) FROM sqlite_sequence WHERE name = '{0}')",
                        t.name
                    )
                })
                .collect();
            let row = sqlx::query(sqlx::AssertSqlSafe(format!("SELECT {}", marks.join(", "))))
                .fetch_one(&mut *conn)
                .await?;
            for (i, (table, n)) in wanted.iter().enumerate() {
                let last: i64 = row.try_get(i)?;
                reserved
                    .ids
                    .insert(table.name, (last + 1..=last + *n as i64).collect());
            }
        }
    }
    Ok(reserved)
}

#[cfg(test)]
mod tests {
    use super::*;

    const T: Table = Table {
        name: "t",
        columns: &["a", "b"],
    };

    const U: Table = Table {
        name: "u",
        columns: &["c"],
    };

    #[tokio::test]
    async fn sqlite_stores_every_value_as_it_was_given_and_applies_the_suffix() {
        use sqlx::Connection;
        sqlx::any::install_default_drivers();
        let mut conn = AnyConnection::connect("sqlite::memory:").await.unwrap();
        sqlx::raw_sql("CREATE TABLE t (a INTEGER UNIQUE, b TEXT); CREATE TABLE u (c INTEGER)")
            .execute(&mut conn)
            .await
            .unwrap();
        let text = |t: &str| Arg::Text(t.to_string());
        write_all(
            &mut conn,
            vec![
                Rows::new(
                    &T,
                    vec![
                        vec![Arg::Int(i64::MAX), text("a \"quoted\"\nline")],
                        vec![Arg::Int(-7), text("é")],
                        vec![Arg::MaybeInt(None), Arg::MaybeText(None)],
                        vec![Arg::Int(3), text("0042")],
                        vec![Arg::Int(4), text("null")],
                    ],
                ),
                Rows::new(&U, vec![vec![Arg::Int(1)], vec![Arg::Int(2)]]),
            ],
        )
        .await
        .unwrap();
        // A row that is there already is rewritten by the suffix, alone or beside new ones.
        insert_with(
            &mut conn,
            &T,
            vec![vec![Arg::Int(-7), text("è")], vec![Arg::Int(5), text("")]],
            " ON CONFLICT (a) DO UPDATE SET b = excluded.b",
        )
        .await
        .unwrap();
        let rows: Vec<(Option<i64>, Option<String>, String)> =
            sqlx::query_as("SELECT a, b, typeof(a) FROM t ORDER BY rowid")
                .fetch_all(&mut conn)
                .await
                .unwrap();
        let s = |t: &str| Some(t.to_string());
        let int = || "integer".to_string();
        assert_eq!(
            rows,
            [
                (Some(i64::MAX), s("a \"quoted\"\nline"), int()),
                (Some(-7), s("è"), int()),
                (None, None, "null".to_string()),
                (Some(3), s("0042"), int()),
                (Some(4), s("null"), int()),
                (Some(5), s(""), int()),
            ]
        );
        let (count,): (i64,) = sqlx::query_as("SELECT sum(c) FROM u")
            .fetch_one(&mut conn)
            .await
            .unwrap();
        assert_eq!(count, 3);
    }

    #[tokio::test]
    async fn rows_matching_any_of_many_pairs_are_read_with_one_text() {
        use sqlx::Connection;
        sqlx::any::install_default_drivers();
        let mut conn = AnyConnection::connect("sqlite::memory:").await.unwrap();
        sqlx::raw_sql(
            "CREATE TABLE t (a INTEGER, b TEXT); CREATE INDEX t_ab ON t (a, b); \
             INSERT INTO t VALUES (1, 'x'), (1, 'y'), (2, 'x'), (2, 'it''s'), (3, 'z')",
        )
        .execute(&mut conn)
        .await
        .unwrap();
        let wanted = [(1, "y"), (2, "it's"), (2, "y"), (3, "z"), (9, "x")];
        let q = ByPairs {
            table: "t",
            columns: &["a", "b"],
            first: ("a", "bigint"),
            second: "b",
            lock: false,
        };
        let mut found: Vec<(i64, String)> = fetch_by_pairs(&mut conn, &q, wanted)
            .await
            .unwrap()
            .iter()
            .map(|r| (r.get(0), r.get(1)))
            .collect();
        found.sort();
        let found: Vec<(i64, &str)> = found.iter().map(|(a, b)| (*a, b.as_str())).collect();
        assert_eq!(found, [(1, "y"), (2, "it's"), (3, "z")]);
    }

    #[test]
    fn postgres_takes_a_table_s_rows_as_one_json_array_whatever_their_number() {
        let rows = vec![
            vec![Arg::Int(-7), Arg::Text("a \"quoted\"\nline".into())],
            vec![Arg::MaybeInt(None), Arg::MaybeText(Some("é".into()))],
        ];
        let json = recordset(&T, rows).unwrap();
        assert_eq!(
            json,
            r#"[{"a":-7,"b":"a \"quoted\"\nline"},{"a":null,"b":"é"}]"#
        );
        let parsed: serde_json::Value = serde_json::from_str(&json).unwrap();
        assert_eq!(parsed[0]["b"], "a \"quoted\"\nline");
    }

    #[test]
    fn writes_to_several_tables_are_one_text() {
        let writes = [
            Rows {
                table: &T,
                rows: vec![vec![Arg::Int(0), Arg::Int(1)]],
                suffix: " ON CONFLICT (a) DO NOTHING".into(),
            },
            Rows::new(&U, vec![vec![Arg::Int(0)]]),
            Rows::new(&T, vec![vec![Arg::Int(0), Arg::Int(1)]]),
        ];
        assert_eq!(
            write_all_sql(Style::Recordset, &writes),
            "WITH w0 AS (INSERT INTO t (a, b) SELECT a, b FROM json_populate_recordset(NULL::t, CAST($1 AS json)) \
             ON CONFLICT (a) DO NOTHING), w1 AS (INSERT INTO u (c) SELECT c FROM \
             json_populate_recordset(NULL::u, CAST($2 AS json))) INSERT INTO t (a, b) SELECT a, b FROM \
             json_populate_recordset(NULL::t, CAST($3 AS json))"
        );
        assert_eq!(
            write_all_sql(Style::JsonEach, &writes),
            "INSERT INTO t (a, b) SELECT value ->> 'a', value ->> 'b' FROM jsonb_each($1) WHERE true \
             ON CONFLICT (a) DO NOTHING; INSERT INTO u (c) SELECT value ->> 'c' FROM jsonb_each($2) \
             WHERE true; INSERT INTO t (a, b) SELECT value ->> 'a', value ->> 'b' FROM jsonb_each($3) \
             WHERE true"
        );
    }

    #[test]
    fn a_lone_write_is_a_plain_insert() {
        assert_eq!(
            write_all_sql(
                Style::Recordset,
                &[Rows::new(&T, vec![vec![Arg::Int(0), Arg::Int(1)]])]
            ),
            "INSERT INTO t (a, b) SELECT a, b FROM json_populate_recordset(NULL::t, CAST($1 AS json))"
        );
    }

    #[test]
    fn a_change_cannot_take_an_id_it_did_not_reserve() {
        let mut reserved = Reserved::default();
        reserved.ids.insert("t", [7].into_iter().collect());
        assert_eq!(reserved.take(&T).unwrap(), 7);
        assert!(reserved.take(&T).is_err());
    }
}
