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

/// The most values one statement binds: under SQLite's limit of 32,766 and PostgreSQL's 65,535.
const MAX_VALUES: usize = 30_000;

/// How a statement names its bound values.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Placeholders {
    /// `$1, $2, …` (PostgreSQL).
    Numbered,
    /// `?, ?, …` in order (SQLite). SQLite looks a `$n` name up among all the names before it,
    /// when parsing and again when binding, which costs the square of the count: thousands of
    /// values took most of a group's time.
    InOrder,
}

fn placeholders(conn: &AnyConnection) -> Placeholders {
    if conn.backend_name() == "SQLite" {
        Placeholders::InOrder
    } else {
        Placeholders::Numbered
    }
}

fn insert_sql(table: &Table, rows: usize, suffix: &str, style: Placeholders) -> String {
    let width = table.columns.len();
    let mut sql = format!(
        "INSERT INTO {} ({}) VALUES ",
        table.name,
        table.columns.join(", ")
    );
    for row in 0..rows {
        if row > 0 {
            sql.push_str(", ");
        }
        sql.push('(');
        for column in 0..width {
            if column > 0 {
                sql.push_str(", ");
            }
            match style {
                Placeholders::Numbered => sql.push_str(&format!("${}", row * width + column + 1)),
                Placeholders::InOrder => sql.push('?'),
            }
        }
        sql.push(')');
    }
    sql.push_str(suffix);
    sql
}

/// Inserts the rows, as few statements as the engines' limits allow. `suffix` follows the
/// `VALUES` list (an `ON CONFLICT` clause, say).
pub async fn insert_with(
    conn: &mut AnyConnection,
    table: &Table,
    rows: Vec<Vec<Arg>>,
    suffix: &str,
) -> Result<()> {
    insert_chunks(conn, table, rows, suffix, None).await?;
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
    insert_chunks(conn, table, rows, suffix, Some(columns)).await
}

/// The statements of [`insert_with`] and [`insert_returning`]: the rows in chunks that keep
/// under the engines' limit of bound values, each chunk one statement.
async fn insert_chunks(
    conn: &mut AnyConnection,
    table: &Table,
    mut rows: Vec<Vec<Arg>>,
    suffix: &str,
    returning: Option<&str>,
) -> Result<Vec<AnyRow>> {
    let width = table.columns.len();
    if let Some(bad) = rows.iter().find(|r| r.len() != width) {
        return Err(Error::Internal(format!(
            "a row of {} values for the {} columns of {}",
            bad.len(),
            width,
            table.name
        )));
    }
    let style = placeholders(conn);
    let per_statement = (MAX_VALUES / width).max(1);
    let suffix = match returning {
        Some(columns) => format!("{suffix} RETURNING {columns}"),
        None => suffix.to_string(),
    };
    let mut returned = Vec::new();
    while !rows.is_empty() {
        let rest = rows.split_off(rows.len().min(per_statement));
        let chunk = std::mem::replace(&mut rows, rest);
        // The text changes with the number of rows; kept out of the statement cache, which is
        // for the statements that come back.
        let statement = bind_args(
            insert_sql(table, chunk.len(), &suffix, style),
            chunk.into_iter().flatten(),
        )
        .persistent(false);
        if returning.is_some() {
            returned.extend(statement.fetch_all(&mut *conn).await?);
        } else {
            statement.execute(&mut *conn).await?;
        }
    }
    Ok(returned)
}

/// Inserts one row and returns the id the database gave it.
pub async fn insert_one(conn: &mut AnyConnection, table: &Table, row: Vec<Arg>) -> Result<i64> {
    let style = placeholders(conn);
    let row = bind_args(insert_sql(table, 1, " RETURNING id", style), row)
        .fetch_one(&mut *conn)
        .await?;
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
            let parts: Vec<String> = wanted
                .iter()
                .map(|(t, n)| {
                    format!(
                        "SELECT '{0}' AS name, nextval('{0}_id_seq') AS id FROM generate_series(1, {n})",
                        t.name
                    )
                })
                .collect();
            let rows = sqlx::query(sqlx::AssertSqlSafe(parts.join(" UNION ALL ")))
                .persistent(false)
                .fetch_all(&mut *conn)
                .await?;
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
    fn placeholders_number_every_value_of_every_row() {
        assert_eq!(
            insert_sql(&T, 2, " RETURNING id", Placeholders::Numbered),
            "INSERT INTO t (a, b) VALUES ($1, $2), ($3, $4) RETURNING id"
        );
        assert_eq!(
            insert_sql(&T, 2, "", Placeholders::InOrder),
            "INSERT INTO t (a, b) VALUES (?, ?), (?, ?)"
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
