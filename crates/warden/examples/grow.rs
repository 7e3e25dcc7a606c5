//! Grows a benchmark database to a given number of cases, for the size benchmarks.
//!
//!   cargo run --release --example grow -- DATABASE_URL CASES [QUEUE]
//!
//! Real intake is too slow to reach ten million cases in a benchmark run, so this clones cases
//! that real intake already made: up to a thousand triaged cases of QUEUE (default `general`) are
//! the templates, and every clone gets its own id and subject, a copy of its template's reports
//! (with fresh idempotency keys) and of its events. The clones are waiting in the queue, as the
//! templates were, so claims and case pages work on them as on any case. Acknowledgement messages,
//! outbox rows and search documents are not cloned.

use sqlx::{AssertSqlSafe, Row};
use std::time::Instant;
use warden::store::{Db, Engine};

const CHUNK: i64 = 100_000;

async fn columns(db: &Db, table: &str) -> Vec<String> {
    let sql = match db.engine {
        Engine::Sqlite => format!("SELECT name FROM pragma_table_info('{table}')"),
        Engine::Postgres => format!(
            "SELECT column_name::text FROM information_schema.columns WHERE table_name = '{table}' \
             AND table_schema = current_schema() ORDER BY ordinal_position"
        ),
    };
    sqlx::query(AssertSqlSafe(sql.clone()))
        .fetch_all(db.reader())
        .await
        .expect("table columns")
        .iter()
        .map(|r| r.get::<String, _>(0))
        .collect()
}

/// The secondary indexes of the grown tables that are dropped while they grow and built again
/// afterwards, by name with their definitions: building an index once over ten million rows is far
/// quicker than keeping it up to date through ten million inserts in no particular order, and the
/// result is the same index.
async fn secondary_indexes(db: &Db) -> Vec<(String, String)> {
    let sql = match db.engine {
        Engine::Sqlite => "SELECT name, sql FROM sqlite_master WHERE type = 'index' \
             AND tbl_name IN ('cases', 'reports', 'events') AND sql IS NOT NULL"
            .to_string(),
        // Indexes that back a constraint (primary keys) share the constraint's name and stay.
        Engine::Postgres => "SELECT indexname::text, indexdef::text FROM pg_indexes \
             WHERE schemaname = current_schema() AND tablename IN ('cases', 'reports', 'events') \
             AND indexname NOT IN (SELECT conname FROM pg_constraint)"
            .to_string(),
    };
    sqlx::query(AssertSqlSafe(sql))
        .fetch_all(db.reader())
        .await
        .expect("index definitions")
        .iter()
        .map(|r| (r.get::<String, _>(0), r.get::<String, _>(1)))
        // Indexes led by the case id stay: the clones' rows are found through them (without them
        // every chunk would scan the whole grown table), and clones' ids only ever increase, so
        // keeping them up to date is appending at their end.
        .filter(|(_, definition)| !definition.contains("(case_id"))
        .collect()
}

/// `INSERT INTO table (columns) SELECT …` where `replaced` names the columns given new values and
/// every other column (but `id`, unless replaced) is copied from the template row `from`.
fn clone_sql(table: &str, all: &[String], replaced: &[(&str, String)], from: &str) -> String {
    let mut names = Vec::new();
    let mut values = Vec::new();
    for c in all {
        if let Some((_, v)) = replaced.iter().find(|(n, _)| n == c) {
            names.push(c.clone());
            values.push(v.clone());
        } else if c != "id" {
            names.push(c.clone());
            values.push(format!("{from}.{c}"));
        }
    }
    format!(
        "INSERT INTO {table} ({}) SELECT {}",
        names.join(", "),
        values.join(", ")
    )
}

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().collect();
    let (Some(url), Some(target)) = (args.get(1), args.get(2)) else {
        eprintln!("usage: grow DATABASE_URL CASES [QUEUE]");
        std::process::exit(2);
    };
    let target: i64 = target.parse().expect("CASES is a number");
    let queue = args.get(3).map_or("general", String::as_str);
    let db = Db::connect(url, 2).await.expect("database");
    let reader = db.reader();
    let have: i64 = sqlx::query("SELECT COUNT(*) FROM cases")
        .fetch_one(reader)
        .await
        .expect("count")
        .get(0);
    if have >= target {
        println!("{have} cases already; nothing to grow");
        return;
    }
    let templates: Vec<i64> = sqlx::query(AssertSqlSafe(format!(
        "SELECT id FROM cases WHERE status = 'triaged' AND queue = '{queue}' ORDER BY id LIMIT 1000"
    )))
    .fetch_all(reader)
    .await
    .expect("templates")
    .iter()
    .map(|r| r.get(0))
    .collect();
    assert!(
        !templates.is_empty(),
        "no triaged case in queue {queue} to clone; run intake first"
    );
    let base: i64 = sqlx::query("SELECT COALESCE(MAX(id), 0) FROM cases")
        .fetch_one(reader)
        .await
        .expect("max id")
        .get(0);
    let (case_cols, report_cols, event_cols) = (
        columns(&db, "cases").await,
        columns(&db, "reports").await,
        columns(&db, "events").await,
    );
    let t = templates.len() as i64;
    let template_rows = templates
        .iter()
        .enumerate()
        .map(|(k, id)| format!("({k}, {id})"))
        .collect::<Vec<_>>()
        .join(", ");
    let started = Instant::now();
    let new_id = format!("({base} + seq.n)");
    let state = match db.engine {
        Engine::Sqlite => {
            format!("json_set(c.state, '$.id', {new_id}, '$.external_id', 'grown-' || {new_id})")
        }
        Engine::Postgres => format!(
            "jsonb_set(jsonb_set(c.state::jsonb, '{{id}}', to_jsonb({new_id})), '{{external_id}}', \
             to_jsonb('grown-' || {new_id}))::text"
        ),
    };
    let cases_insert = clone_sql(
        "cases",
        &case_cols,
        &[
            ("id", new_id.clone()),
            ("external_id", format!("'grown-' || {new_id}")),
            ("state", state),
        ],
        "c",
    );
    let reports_insert = clone_sql(
        "reports",
        &report_cols,
        &[
            ("case_id", new_id.clone()),
            (
                "idempotency_key",
                format!("'grown-' || {new_id} || '-' || r.id"),
            ),
        ],
        "r",
    );
    let events_insert = clone_sql("events", &event_cols, &[("case_id", new_id.clone())], "e");
    let indexes = secondary_indexes(&db).await;
    // Schema changes go through the writer, the one connection that also builds them again: a
    // reader's cached schema may not have seen the drop yet and would refuse the rebuild.
    let mut tx = db.begin().await.expect("begin");
    for (name, _) in &indexes {
        sqlx::query(AssertSqlSafe(format!("DROP INDEX {name}")))
            .execute(&mut *tx)
            .await
            .expect("drop index");
    }
    tx.commit().await.expect("commit");
    eprintln!(
        "{} secondary indexes dropped; they are built again at the end",
        indexes.len()
    );
    let mut n = 1;
    let wanted = target - have;
    while n <= wanted {
        let end = (n + CHUNK - 1).min(wanted);
        // Clone n of this run copies template n mod t.
        let (with, seq) = match db.engine {
            Engine::Sqlite => (
                format!(
                    "WITH RECURSIVE seq(n) AS (SELECT {n} UNION ALL SELECT n + 1 FROM seq WHERE n < {end}), \
                     tpl(k, id) AS (VALUES {template_rows}) "
                ),
                "seq".to_string(),
            ),
            Engine::Postgres => (
                format!("WITH tpl(k, id) AS (VALUES {template_rows}) "),
                format!("generate_series({n}, {end}) AS seq(n)"),
            ),
        };
        let from = |alias: &str, table: &str| {
            format!(
                " FROM {seq} JOIN tpl ON tpl.k = seq.n % {t} JOIN {table} {alias} ON {alias}.{} = tpl.id",
                if table == "cases" { "id" } else { "case_id" }
            )
        };
        let mut tx = db.begin().await.expect("begin");
        for (insert, alias, table) in [
            (&cases_insert, "c", "cases"),
            (&reports_insert, "r", "reports"),
            (&events_insert, "e", "events"),
        ] {
            // SQLite wants the WITH clause before INSERT; PostgreSQL takes it either way.
            let sql = format!("{with}{insert}{}", from(alias, table));
            sqlx::query(AssertSqlSafe(sql.clone()))
                .execute(&mut *tx)
                .await
                .unwrap_or_else(|e| panic!("cloning {table}: {e}\n{sql}"));
        }
        tx.commit().await.expect("commit");
        eprintln!(
            "{} cases ({:.0} s)",
            have + end,
            started.elapsed().as_secs_f64()
        );
        n = end + 1;
    }
    for (name, definition) in &indexes {
        let began = Instant::now();
        let mut tx = db.begin().await.expect("begin");
        sqlx::query(AssertSqlSafe(definition.clone()))
            .execute(&mut *tx)
            .await
            .unwrap_or_else(|e| panic!("building {name} again: {e}"));
        tx.commit().await.expect("commit");
        eprintln!("{name} built in {:.0} s", began.elapsed().as_secs_f64());
    }
    if db.engine == Engine::Postgres {
        let mut tx = db.begin().await.expect("begin");
        sqlx::query(
            "SELECT setval(pg_get_serial_sequence('cases', 'id'), (SELECT MAX(id) FROM cases))",
        )
        .execute(&mut *tx)
        .await
        .expect("case id sequence");
        tx.commit().await.expect("commit");
        for table in ["cases", "reports", "events"] {
            sqlx::query(AssertSqlSafe(format!("ANALYZE {table}")))
                .execute(reader)
                .await
                .expect("analyze");
        }
    }
    db.close().await;
    println!(
        "grew to {target} cases in {:.0} s",
        started.elapsed().as_secs_f64()
    );
}
