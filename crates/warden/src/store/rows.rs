//! Rows written many at a time: one `INSERT` for all the rows of a table a change brings, however
//! many, instead of a statement (and a round trip to the database) per row.

use sqlx::any::AnyRow;
use sqlx::{AnyConnection, Row};

use super::{Arg, Db, Engine, bind_args};
use crate::error::{Error, Result};

/// A table and the columns a change writes to it, in the order each row gives its values.
pub struct Table {
    pub name: &'static str,
    pub columns: &'static [&'static str],
}

/// The most values one statement binds on SQLite: under its limit of 32,766.
const MAX_VALUES: usize = 30_000;

/// How rows reach the database.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Style {
    /// PostgreSQL: all the rows of a table as one JSON array, one bound value, unpacked by
    /// `json_populate_recordset` into the table's own column types. The statement's text is the
    /// same however many rows it carries, so it is prepared and planned once per connection and
    /// each write is one round trip (a text that changed every time would be parsed, described
    /// and planned afresh: two round trips).
    Recordset,
    /// SQLite: `VALUES (?, ?), (?, ?)…`, chunked under its limit of bound values. `?` rather
    /// than `$n`: SQLite looks a `$n` name up among all the names before it, when parsing and
    /// again when binding, which costs the square of the count. Nothing crosses a network, so
    /// a statement per chunk costs little.
    Values,
}

fn style(conn: &AnyConnection) -> Style {
    if conn.backend_name() == "SQLite" {
        Style::Values
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

/// `INSERT INTO t (a, b) VALUES (?, ?), (?, ?)` and the suffix.
fn values_sql(table: &Table, rows: usize, suffix: &str) -> String {
    let mut sql = String::new();
    push_insert_head(&mut sql, table);
    let row = format!("({})", vec!["?"; table.columns.len()].join(", "));
    sql.push_str("VALUES ");
    sql.push_str(&vec![row; rows].join(", "));
    sql.push_str(suffix);
    sql
}

/// `INSERT INTO t (a, b) SELECT a, b FROM json_populate_recordset(NULL::t, CAST($n AS json))` and the suffix.
fn push_recordset_insert(sql: &mut String, table: &Table, suffix: &str, param: usize) {
    use std::fmt::Write;
    push_insert_head(sql, table);
    let _ = write!(
        sql,
        "SELECT {} FROM json_populate_recordset(NULL::{}, CAST(${param} AS json)){suffix}",
        table.columns.join(", "),
        table.name
    );
}

/// The rows as a JSON array of objects keyed by column, for [`Style::Recordset`].
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

/// Inserts the rows, as few statements as the engines allow. `suffix` follows the rows (an
/// `ON CONFLICT` clause, say).
pub async fn insert_with(
    conn: &mut AnyConnection,
    table: &Table,
    rows: Vec<Vec<Arg>>,
    suffix: &str,
) -> Result<()> {
    insert_rows(conn, table, rows, suffix, None).await?;
    Ok(())
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
    insert_rows(conn, table, rows, suffix, Some(columns)).await
}

/// The statements of [`insert_with`] and [`insert_returning`]: one on PostgreSQL; on SQLite the
/// rows in chunks that keep under its limit of bound values, each chunk one statement.
async fn insert_rows(
    conn: &mut AnyConnection,
    table: &Table,
    mut rows: Vec<Vec<Arg>>,
    suffix: &str,
    returning: Option<&str>,
) -> Result<Vec<AnyRow>> {
    check_widths(table, &rows)?;
    if rows.is_empty() {
        return Ok(Vec::new());
    }
    let suffix = match returning {
        Some(columns) => format!("{suffix} RETURNING {columns}"),
        None => suffix.to_string(),
    };
    let mut statements = Vec::new();
    match style(conn) {
        Style::Recordset => {
            let mut sql = String::new();
            push_recordset_insert(&mut sql, table, &suffix, 1);
            statements.push(sqlx::query(sqlx::AssertSqlSafe(sql)).bind(recordset(table, rows)?));
        }
        Style::Values => {
            let per_statement = (MAX_VALUES / table.columns.len()).max(1);
            while !rows.is_empty() {
                let rest = rows.split_off(rows.len().min(per_statement));
                let chunk = std::mem::replace(&mut rows, rest);
                // The text changes with the number of rows; kept out of the statement cache,
                // which is for the statements that come back.
                statements.push(
                    bind_args(
                        values_sql(table, chunk.len(), &suffix),
                        chunk.into_iter().flatten(),
                    )
                    .persistent(false),
                );
            }
        }
    }
    let mut returned = Vec::new();
    for statement in statements {
        if returning.is_some() {
            returned.extend(statement.fetch_all(&mut *conn).await?);
        } else {
            statement.execute(&mut *conn).await?;
        }
    }
    Ok(returned)
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

/// Writes the rows of several tables that one change brings. On PostgreSQL they go in one
/// statement, each table's `INSERT` a step of a `WITH` (PostgreSQL checks foreign keys once the
/// whole statement is done, so a step may refer to a row another step adds): one round trip for
/// the lot. On SQLite, which has no round trips to save nor `INSERT` inside `WITH`, a statement
/// per table, in the order given.
pub async fn write_all(conn: &mut AnyConnection, writes: Vec<Rows<'_>>) -> Result<()> {
    let writes: Vec<Rows<'_>> = writes.into_iter().filter(|w| !w.rows.is_empty()).collect();
    if writes.is_empty() {
        return Ok(());
    }
    if style(conn) == Style::Values {
        for w in writes {
            insert_rows(conn, w.table, w.rows, &w.suffix, None).await?;
        }
        return Ok(());
    }
    let sql = one_statement_sql(&writes);
    let mut statement = sqlx::query(sqlx::AssertSqlSafe(sql));
    for w in writes {
        check_widths(w.table, &w.rows)?;
        statement = statement.bind(recordset(w.table, w.rows)?);
    }
    statement.execute(&mut *conn).await?;
    Ok(())
}

/// `WITH w0 AS (INSERT …), w1 AS (INSERT …) INSERT …`: the writes as one statement (a lone
/// write is a plain `INSERT`), the rows of the nth as the nth bound value.
fn one_statement_sql(writes: &[Rows<'_>]) -> String {
    let mut steps = Vec::with_capacity(writes.len());
    for (i, w) in writes.iter().enumerate() {
        let mut step = String::new();
        push_recordset_insert(&mut step, w.table, &w.suffix, i + 1);
        steps.push(step);
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

/// Inserts one row and returns the id the database gave it.
pub async fn insert_one(conn: &mut AnyConnection, table: &Table, row: Vec<Arg>) -> Result<i64> {
    let row = insert_rows(conn, table, vec![row], "", Some("id"))
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

    #[test]
    fn sqlite_binds_every_value_of_every_row_in_order() {
        assert_eq!(
            values_sql(&T, 2, " RETURNING id"),
            "INSERT INTO t (a, b) VALUES (?, ?), (?, ?) RETURNING id"
        );
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
    fn writes_to_several_tables_are_steps_of_one_statement() {
        const U: Table = Table {
            name: "u",
            columns: &["c"],
        };
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
            one_statement_sql(&writes),
            "WITH w0 AS (INSERT INTO t (a, b) SELECT a, b FROM json_populate_recordset(NULL::t, CAST($1 AS json)) \
             ON CONFLICT (a) DO NOTHING), w1 AS (INSERT INTO u (c) SELECT c FROM \
             json_populate_recordset(NULL::u, CAST($2 AS json))) INSERT INTO t (a, b) SELECT a, b FROM \
             json_populate_recordset(NULL::t, CAST($3 AS json))"
        );
    }

    #[test]
    fn a_lone_write_is_a_plain_insert() {
        assert_eq!(
            one_statement_sql(&[Rows::new(&T, vec![vec![Arg::Int(0), Arg::Int(1)]])]),
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
