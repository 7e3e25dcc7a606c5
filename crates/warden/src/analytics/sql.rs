//! The checker: an analyst's SQL text in, a read-only query over the documented views out, or the
//! reason it may not run. Pure: the text is parsed (by `sqlparser`, in the engine's dialect) and
//! its tree walked; nothing touches a database.
//!
//! A query passes when it is one `SELECT` (or `WITH … SELECT`, `VALUES`, set operations of them)
//! that reads only the views and its own `WITH` queries, calls only functions on the allow-list
//! and casts only to plain types. Before it runs, [`Checked::scoped_to`] puts the caller's view of
//! the data underneath it: a `WITH` query per view, named as the view, that keeps only the rows of
//! cases the caller may see. The query's own `WITH` queries are renamed apart (`cte_<name>`), so a
//! name it defines can never reach a table of the same name outside its scope.

use std::collections::BTreeSet;
use std::ops::ControlFlow;

use sqlparser::ast::{
    DataType, Expr, Ident, ObjectName, ObjectNamePart, Query, Select, SetExpr, Statement,
    TableAlias, TableFactor, Value, Visit, VisitMut, Visitor, VisitorMut, With,
};
use sqlparser::dialect::{Dialect, PostgreSqlDialect, SQLiteDialect};
use sqlparser::parser::Parser;

use super::views::{self, Scope, VIEWS};
use crate::store::cases::Params;
use crate::store::{Arg, Engine};

/// Why a query may not run. Each reads after "sql: ".
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    #[error("is empty: write one SELECT query")]
    Empty,
    #[error("could not be read: {0}")]
    Syntax(String),
    #[error("holds {0} statements; run one query at a time")]
    Several(usize),
    #[error("is {0} statement; only read-only queries (SELECT, WITH … SELECT) may run")]
    NotAQuery(String),
    #[error("uses SELECT … INTO, which writes a table; only read-only queries may run")]
    SelectInto,
    #[error("locks rows (FOR UPDATE, FOR SHARE); only read-only queries may run")]
    Locking,
    #[error("uses {0}, which is not supported here")]
    Unsupported(&'static str),
    #[error(
        "names `{0}` with a schema or database; name the views plainly ({names})",
        names = views::names()
    )]
    Qualified(String),
    #[error(
        "names `{0}` directly; use the view's plain name `{1}`, which shows only the rows you may see"
    )]
    Underlying(String, &'static str),
    #[error(
        "names `{0}`, which is neither one of the views ({names}) nor a WITH query of its own",
        names = views::names()
    )]
    Table(String),
    #[error(
        "reads `{0}` as a table function; only the views and the query's own WITH queries may be read"
    )]
    TableFunction(String),
    #[error("calls the function `{0}`, which is not allowed here")]
    Function(String),
    #[error("has the parameter placeholder `{0}`; write the values into the query")]
    Placeholder(String),
    #[error("casts to `{0}`, which is not allowed here")]
    Cast(String),
    #[error("defines a WITH query named `{0}`, the name of a view; choose another name")]
    ShadowsView(String),
}

/// The functions a query may call: aggregates, window functions, and pure scalar functions over
/// numbers, text and times, as either engine names them. Nothing that reads files, settings or
/// other databases, sleeps, or reaches into the server.
const ALLOWED_FUNCTIONS: &[&str] = &[
    // aggregates
    "count",
    "sum",
    "avg",
    "min",
    "max",
    "total",
    "group_concat",
    "string_agg",
    "array_agg",
    "bool_and",
    "bool_or",
    "every",
    "stddev",
    "stddev_pop",
    "stddev_samp",
    "variance",
    "var_pop",
    "var_samp",
    "percentile_cont",
    "percentile_disc",
    "mode",
    "corr",
    "covar_pop",
    "covar_samp",
    // window functions
    "row_number",
    "rank",
    "dense_rank",
    "percent_rank",
    "cume_dist",
    "ntile",
    "lag",
    "lead",
    "first_value",
    "last_value",
    "nth_value",
    // conditionals
    "coalesce",
    "nullif",
    "ifnull",
    "iif",
    "greatest",
    "least",
    // numbers
    "abs",
    "round",
    "ceil",
    "ceiling",
    "floor",
    "trunc",
    "sign",
    "sqrt",
    "power",
    "pow",
    "exp",
    "ln",
    "log",
    "log10",
    "log2",
    "mod",
    "div",
    "pi",
    // text
    "length",
    "char_length",
    "character_length",
    "octet_length",
    "lower",
    "upper",
    "trim",
    "ltrim",
    "rtrim",
    "btrim",
    "substr",
    "substring",
    "replace",
    "instr",
    "strpos",
    "concat",
    "concat_ws",
    "left",
    "right",
    "lpad",
    "rpad",
    "printf",
    "format",
    "split_part",
    "reverse",
    "repeat",
    "initcap",
    "unicode",
    "char",
    "chr",
    "ascii",
    "like",
    "glob",
    "typeof",
    // times
    "date",
    "time",
    "datetime",
    "julianday",
    "unixepoch",
    "strftime",
    "date_trunc",
    "date_part",
    "to_char",
    "to_timestamp",
    "to_date",
    "now",
    "current_date",
    "current_time",
    "current_timestamp",
    "localtimestamp",
    "age",
    "make_interval",
    "extract",
];

/// A query that may run, not yet narrowed to a caller.
#[derive(Debug, Clone)]
pub struct Checked {
    engine: Engine,
    query: Query,
}

fn dialect(engine: Engine) -> Box<dyn Dialect> {
    match engine {
        Engine::Sqlite => Box::new(SQLiteDialect {}),
        Engine::Postgres => Box::new(PostgreSqlDialect {}),
    }
}

/// The prefix a query's own `WITH` queries are renamed with.
const CTE_PREFIX: &str = "cte_";

/// Checks `sql` for `engine`.
pub fn check(sql: &str, engine: Engine) -> Result<Checked, Refusal> {
    if sql.trim().trim_matches(';').trim().is_empty() {
        return Err(Refusal::Empty);
    }
    let mut statements = Parser::parse_sql(&*dialect(engine), sql).map_err(|e| {
        Refusal::Syntax(
            e.to_string()
                .trim_start_matches("sql parser error: ")
                .into(),
        )
    })?;
    let statement = match statements.len() {
        0 => return Err(Refusal::Empty),
        1 => statements.remove(0),
        n => return Err(Refusal::Several(n)),
    };
    let Statement::Query(query) = statement else {
        return Err(Refusal::NotAQuery(statement_kind(&statement)));
    };
    let mut query = *query;

    let mut names = CteNames::default();
    let _ = query.visit(&mut names);
    if let Some(name) = names.0.iter().find(|n| views::view(n).is_some()) {
        return Err(Refusal::ShadowsView(name.clone()));
    }
    let mut rules = Rules { ctes: &names.0 };
    if let ControlFlow::Break(refusal) = query.visit(&mut rules) {
        return Err(refusal);
    }
    let _ = VisitMut::visit(&mut query, &mut RenameCtes { ctes: &names.0 });
    Ok(Checked { engine, query })
}

impl Checked {
    /// The query as it runs for someone in `teams`: each view it may name is a `WITH` query of
    /// the same name holding only the rows of the cases those teams may see, bound as arguments.
    pub fn scoped_to(&self, teams: &[String]) -> (String, Vec<Arg>) {
        let mut p = Params::default();
        let ctes: Vec<String> = VIEWS
            .iter()
            .map(|v| {
                let visible = p.visible_to(teams);
                let filter = match v.scope {
                    Scope::Cases => visible,
                    Scope::OfCase => {
                        format!("case_id IN (SELECT case_id FROM analyst_cases WHERE {visible})")
                    }
                };
                format!(
                    "{} AS (SELECT * FROM {} WHERE {filter})",
                    v.name, v.relation
                )
            })
            .collect();
        let prelude = format!("WITH {} SELECT 1", ctes.join(", "));
        let mut query = self.query.clone();
        let scoped = match Parser::parse_sql(&*dialect(self.engine), &prelude)
            .ok()
            .and_then(|mut s| s.pop())
        {
            Some(Statement::Query(q)) => q.with.map(|w| w.cte_tables).unwrap_or_default(),
            // The prelude is built above from the catalogue; it always parses.
            _ => Vec::new(),
        };
        match &mut query.with {
            Some(with) => {
                let own = std::mem::take(&mut with.cte_tables);
                with.cte_tables = scoped.into_iter().chain(own).collect();
            }
            None => {
                query.with = Some(With {
                    with_token: sqlparser::ast::helpers::attached_token::AttachedToken::empty(),
                    recursive: false,
                    cte_tables: scoped,
                })
            }
        }
        (query.to_string(), p.0)
    }

    /// The query as checked (its own `WITH` queries renamed), without the caller's scope.
    pub fn sql(&self) -> String {
        self.query.to_string()
    }
}

/// "an INSERT", "a PRAGMA": the statement's first keyword, for the refusal.
fn statement_kind(statement: &Statement) -> String {
    let text = statement.to_string();
    let word = text
        .split_whitespace()
        .next()
        .unwrap_or("another")
        .to_ascii_uppercase();
    let article = if word.starts_with(['A', 'E', 'I', 'O', 'U']) {
        "an"
    } else {
        "a"
    };
    format!("{article} {word}")
}

fn lower(ident: &Ident) -> String {
    ident.value.to_lowercase()
}

/// The single identifier of a name, or `None` when it has a schema or database part.
fn single(name: &ObjectName) -> Option<&Ident> {
    match name.0.as_slice() {
        [ObjectNamePart::Identifier(ident)] => Some(ident),
        _ => None,
    }
}

/// Every `WITH` query name in the query, at any depth, in lower case.
#[derive(Default)]
struct CteNames(BTreeSet<String>);

impl Visitor for CteNames {
    type Break = ();

    fn pre_visit_query(&mut self, query: &Query) -> ControlFlow<()> {
        if let Some(with) = &query.with {
            for cte in &with.cte_tables {
                self.0.insert(lower(&cte.alias.name));
            }
        }
        ControlFlow::Continue(())
    }
}

struct Rules<'a> {
    ctes: &'a BTreeSet<String>,
}

fn refuse_set_expr(set: &SetExpr) -> Result<(), Refusal> {
    match set {
        SetExpr::SetOperation { left, right, .. } => {
            refuse_set_expr(left)?;
            refuse_set_expr(right)
        }
        SetExpr::Insert(s) | SetExpr::Update(s) | SetExpr::Delete(s) | SetExpr::Merge(s) => {
            Err(Refusal::NotAQuery(statement_kind(s)))
        }
        SetExpr::Table(_) => Err(Refusal::Unsupported("TABLE")),
        SetExpr::Select(_) | SetExpr::Query(_) | SetExpr::Values(_) => Ok(()),
    }
}

fn refuse_type(data_type: &DataType) -> Result<(), Refusal> {
    let shown = data_type.to_string();
    if matches!(data_type, DataType::Custom(..) | DataType::Regclass)
        || shown.to_ascii_lowercase().starts_with("reg")
    {
        return Err(Refusal::Cast(shown));
    }
    Ok(())
}

impl Rules<'_> {
    fn query(&self, query: &Query) -> Result<(), Refusal> {
        if !query.locks.is_empty() {
            return Err(Refusal::Locking);
        }
        if query.for_clause.is_some() {
            return Err(Refusal::Unsupported("a FOR clause"));
        }
        if query.settings.is_some() || query.format_clause.is_some() {
            return Err(Refusal::Unsupported("SETTINGS or FORMAT"));
        }
        if !query.pipe_operators.is_empty() {
            return Err(Refusal::Unsupported("pipe operators"));
        }
        refuse_set_expr(&query.body)
    }

    fn select(&self, select: &Select) -> Result<(), Refusal> {
        if select.into.is_some() {
            return Err(Refusal::SelectInto);
        }
        Ok(())
    }

    fn relation(&self, name: &ObjectName) -> Result<(), Refusal> {
        let Some(ident) = single(name) else {
            return Err(Refusal::Qualified(name.to_string()));
        };
        let plain = lower(ident);
        if views::view(&plain).is_some() || self.ctes.contains(&plain) {
            return Ok(());
        }
        if let Some(v) = VIEWS.iter().find(|v| v.relation == plain) {
            return Err(Refusal::Underlying(ident.value.clone(), v.name));
        }
        Err(Refusal::Table(ident.value.clone()))
    }

    fn table_factor(&self, factor: &TableFactor) -> Result<(), Refusal> {
        match factor {
            TableFactor::Table { name, args, .. } => {
                if args.is_some() {
                    return Err(Refusal::TableFunction(name.to_string()));
                }
                Ok(())
            }
            TableFactor::Derived { .. } | TableFactor::NestedJoin { .. } => Ok(()),
            TableFactor::Function { name, .. } => Err(Refusal::TableFunction(name.to_string())),
            other => Err(Refusal::TableFunction(
                other
                    .to_string()
                    .split(['(', ' '])
                    .next()
                    .unwrap_or("")
                    .to_string(),
            )),
        }
    }

    fn expr(&self, expr: &Expr) -> Result<(), Refusal> {
        match expr {
            Expr::Function(f) => {
                let allowed =
                    single(&f.name).is_some_and(|i| ALLOWED_FUNCTIONS.contains(&lower(i).as_str()));
                if allowed {
                    Ok(())
                } else {
                    Err(Refusal::Function(f.name.to_string()))
                }
            }
            Expr::Value(v) => match &v.value {
                Value::Placeholder(p) => Err(Refusal::Placeholder(p.clone())),
                _ => Ok(()),
            },
            Expr::Cast { data_type, .. } => refuse_type(data_type),
            Expr::TypedString(t) => refuse_type(&t.data_type),
            _ => Ok(()),
        }
    }
}

impl Visitor for Rules<'_> {
    type Break = Refusal;

    fn pre_visit_statement(&mut self, statement: &Statement) -> ControlFlow<Refusal> {
        match statement {
            Statement::Query(_) => ControlFlow::Continue(()),
            other => ControlFlow::Break(Refusal::NotAQuery(statement_kind(other))),
        }
    }

    fn pre_visit_query(&mut self, query: &Query) -> ControlFlow<Refusal> {
        into_flow(self.query(query))
    }

    fn pre_visit_select(&mut self, select: &Select) -> ControlFlow<Refusal> {
        into_flow(self.select(select))
    }

    fn pre_visit_relation(&mut self, relation: &ObjectName) -> ControlFlow<Refusal> {
        into_flow(self.relation(relation))
    }

    fn pre_visit_table_factor(&mut self, factor: &TableFactor) -> ControlFlow<Refusal> {
        into_flow(self.table_factor(factor))
    }

    fn pre_visit_expr(&mut self, expr: &Expr) -> ControlFlow<Refusal> {
        into_flow(self.expr(expr))
    }
}

fn into_flow(r: Result<(), Refusal>) -> ControlFlow<Refusal> {
    match r {
        Ok(()) => ControlFlow::Continue(()),
        Err(refusal) => ControlFlow::Break(refusal),
    }
}

/// Renames the query's own `WITH` queries and every reference to them to `cte_<name>`, keeping
/// the old name as the table's alias so qualified columns (`n.i`) still resolve.
struct RenameCtes<'a> {
    ctes: &'a BTreeSet<String>,
}

fn renamed(name: &str) -> Ident {
    let name = format!("{CTE_PREFIX}{name}");
    if name
        .bytes()
        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
    {
        Ident::new(name)
    } else {
        Ident::with_quote('"', name)
    }
}

impl VisitorMut for RenameCtes<'_> {
    type Break = ();

    fn pre_visit_query(&mut self, query: &mut Query) -> ControlFlow<()> {
        if let Some(with) = &mut query.with {
            for cte in &mut with.cte_tables {
                cte.alias.name = renamed(&lower(&cte.alias.name));
            }
        }
        ControlFlow::Continue(())
    }

    fn pre_visit_table_factor(&mut self, factor: &mut TableFactor) -> ControlFlow<()> {
        if let TableFactor::Table { name, alias, .. } = factor
            && let Some(ident) = single(name).cloned()
            && self.ctes.contains(&lower(&ident))
        {
            *name = ObjectName::from(vec![renamed(&lower(&ident))]);
            if alias.is_none() {
                *alias = Some(TableAlias {
                    explicit: true,
                    name: ident,
                    columns: Vec::new(),
                    at: None,
                });
            }
        }
        ControlFlow::Continue(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn refusal(sql: &str, engine: Engine) -> Refusal {
        match check(sql, engine) {
            Ok(c) => panic!("{sql} passed as {}", c.sql()),
            Err(r) => r,
        }
    }

    fn both(sql: &str) -> Refusal {
        let on_sqlite = refusal(sql, Engine::Sqlite);
        let on_postgres = refusal(sql, Engine::Postgres);
        assert_eq!(
            std::mem::discriminant(&on_sqlite),
            std::mem::discriminant(&on_postgres),
            "{sql}: {on_sqlite} / {on_postgres}"
        );
        on_sqlite
    }

    fn passes(sql: &str) -> String {
        for engine in [Engine::Sqlite, Engine::Postgres] {
            if let Err(r) = check(sql, engine) {
                panic!("{sql} refused on {engine:?}: {r}");
            }
        }
        check(sql, Engine::Postgres).unwrap().sql()
    }

    #[test]
    fn reads_of_the_views_pass() {
        passes("SELECT queue, count(*) FROM cases GROUP BY queue ORDER BY 2 DESC");
        passes("select c.case_id, r.source from CASES c join reports r on r.case_id = c.case_id");
        passes(
            "SELECT substr(opened_at, 1, 10) AS day, avg(priority) FROM cases \
             WHERE resolution_breached = 1 AND status IN ('closed', 'decided') GROUP BY 1",
        );
        passes("SELECT verdict FROM decisions UNION ALL SELECT outcome FROM appeals;");
        passes("SELECT (SELECT count(*) FROM events e WHERE e.case_id = c.case_id) FROM cases c");
        passes(
            "SELECT CAST(priority AS TEXT), CASE WHEN priority < 2 THEN 'urgent' END FROM cases",
        );
        passes("SELECT kind, rank() OVER (ORDER BY count(*) DESC) FROM actions GROUP BY kind");
        passes("VALUES (1), (2)");
    }

    #[test]
    fn a_query_may_define_and_read_its_own_with_queries() {
        let sql = passes(
            "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT n.i + 1 FROM n WHERE i < 10), \
             per_queue AS (SELECT queue, count(*) AS k FROM cases GROUP BY queue) \
             SELECT * FROM n, per_queue",
        );
        assert!(sql.contains("cte_n"), "{sql}");
        assert!(sql.contains("FROM cte_n AS n"), "{sql}");
        assert!(sql.contains("cte_per_queue AS per_queue"), "{sql}");
    }

    #[test]
    fn a_with_query_cannot_lend_its_name_to_a_table_out_of_its_scope() {
        // `users` outside the subquery would be the real table; renamed, it is a name that
        // exists nowhere, and the database refuses the query.
        let sql =
            passes("SELECT * FROM users, (WITH users AS (SELECT 1 AS x) SELECT * FROM users) q");
        assert!(!sql.contains("FROM users"), "{sql}");
        assert!(sql.contains("cte_users AS users"), "{sql}");
    }

    #[test]
    fn only_one_statement_runs() {
        assert_eq!(both("SELECT 1; SELECT 2"), Refusal::Several(2));
        assert_eq!(
            both("SELECT count(*) FROM cases; DELETE FROM cases"),
            Refusal::Several(2)
        );
        assert_eq!(both("  ; "), Refusal::Empty);
        assert_eq!(both(""), Refusal::Empty);
    }

    #[test]
    fn anything_but_reading_is_refused() {
        for sql in [
            "INSERT INTO cases (id) VALUES (1)",
            "UPDATE cases SET status = 'closed'",
            "DELETE FROM cases",
            "DROP TABLE cases",
            "CREATE TABLE t (x INT)",
            "ALTER TABLE cases ADD COLUMN x INT",
            "BEGIN",
            "COMMIT",
        ] {
            assert!(
                matches!(both(sql), Refusal::NotAQuery(_) | Refusal::Syntax(_)),
                "{sql}"
            );
        }
        assert_eq!(
            refusal("PRAGMA writable_schema = 1", Engine::Sqlite),
            Refusal::NotAQuery("a PRAGMA".into())
        );
        assert_eq!(
            refusal("ATTACH DATABASE '/tmp/x.db' AS x", Engine::Sqlite),
            Refusal::NotAQuery("an ATTACH".into())
        );
        assert!(matches!(
            refusal("SET statement_timeout = 0", Engine::Postgres),
            Refusal::NotAQuery(_)
        ));
        assert!(matches!(
            refusal("COPY cases TO '/tmp/x'", Engine::Postgres),
            Refusal::NotAQuery(_)
        ));
        assert!(matches!(
            refusal("EXPLAIN ANALYZE SELECT 1", Engine::Postgres),
            Refusal::NotAQuery(_)
        ));
        assert!(matches!(
            refusal(
                "WITH d AS (DELETE FROM cases RETURNING *) SELECT * FROM d",
                Engine::Postgres
            ),
            Refusal::NotAQuery(_)
        ));
        assert_eq!(
            refusal("SELECT * INTO copy FROM cases", Engine::Postgres),
            Refusal::SelectInto
        );
        assert_eq!(both("SELECT * FROM cases FOR UPDATE"), Refusal::Locking);
    }

    #[test]
    fn tables_other_than_the_views_are_refused() {
        assert_eq!(both("SELECT * FROM users"), Refusal::Table("users".into()));
        assert_eq!(
            both("SELECT token_hash FROM cases JOIN api_tokens ON true"),
            Refusal::Table("api_tokens".into())
        );
        assert_eq!(
            both("SELECT sql FROM sqlite_master"),
            Refusal::Table("sqlite_master".into())
        );
        assert!(matches!(
            both("SELECT * FROM pg_catalog.pg_authid"),
            Refusal::Qualified(_)
        ));
        assert!(matches!(
            both("SELECT * FROM information_schema.tables"),
            Refusal::Qualified(_)
        ));
        assert!(matches!(
            both("SELECT * FROM main.cases"),
            Refusal::Qualified(_)
        ));
        assert_eq!(
            both("SELECT * FROM pg_user"),
            Refusal::Table("pg_user".into())
        );
        assert_eq!(
            both("SELECT * FROM analyst_cases"),
            Refusal::Underlying("analyst_cases".into(), "cases")
        );
        assert_eq!(
            both("SELECT * FROM cases WHERE case_id IN (SELECT case_id FROM analyst_reports)"),
            Refusal::Underlying("analyst_reports".into(), "reports")
        );
        assert!(matches!(
            both("SELECT * FROM generate_series(1, 10)"),
            Refusal::TableFunction(_)
        ));
        assert!(matches!(
            refusal("SELECT * FROM pragma_table_info('users')", Engine::Sqlite),
            Refusal::TableFunction(_)
        ));
        assert_eq!(
            both("WITH cases AS (SELECT 1) SELECT * FROM cases"),
            Refusal::ShadowsView("cases".into())
        );
    }

    #[test]
    fn only_allowed_functions_are_called() {
        for f in [
            "SELECT load_extension('x')",
            "SELECT readfile('/etc/passwd')",
            "SELECT pg_read_file('/etc/passwd')",
            "SELECT pg_sleep(10)",
            "SELECT set_config('search_path', 'x', false)",
            "SELECT current_setting('data_directory')",
            "SELECT dblink('host=x', 'select 1')",
            "SELECT lo_import('/etc/passwd')",
            "SELECT pg_terminate_backend(1)",
            "SELECT query_to_xml('select * from users', true, true, '')",
            "SELECT count(*) FROM cases WHERE pg_catalog.upper(status) = 'X'",
        ] {
            assert!(matches!(both(f), Refusal::Function(_)), "{f}");
        }
        assert_eq!(
            both("SELECT max(priority), sleep(1) FROM cases"),
            Refusal::Function("sleep".into())
        );
    }

    #[test]
    fn placeholders_and_system_casts_are_refused() {
        assert!(matches!(
            both("SELECT * FROM cases WHERE case_id = $1"),
            Refusal::Placeholder(_)
        ));
        assert!(matches!(
            refusal("SELECT * FROM cases WHERE case_id = ?", Engine::Sqlite),
            Refusal::Placeholder(_)
        ));
        assert!(matches!(
            refusal("SELECT 'users'::regclass", Engine::Postgres),
            Refusal::Cast(_)
        ));
        assert!(matches!(
            refusal("SELECT CAST('pg_sleep' AS regproc)", Engine::Postgres),
            Refusal::Cast(_)
        ));
    }

    #[test]
    fn the_scope_narrows_every_view_to_the_callers_teams() {
        let checked = check("SELECT count(*) FROM cases", Engine::Postgres).unwrap();
        let (sql, args) = checked.scoped_to(&["child_safety".to_string()]);
        assert!(
            sql.starts_with("WITH cases AS (SELECT * FROM analyst_cases WHERE"),
            "{sql}"
        );
        for v in VIEWS {
            assert!(
                sql.contains(&format!("{} AS (SELECT * FROM {}", v.name, v.relation)),
                "{sql}"
            );
        }
        assert_eq!(args.len(), VIEWS.len());
        assert!(
            args.iter()
                .all(|a| matches!(a, Arg::Text(t) if t == "child_safety"))
        );
        let (unrestricted, args) = checked.scoped_to(&[]);
        assert!(args.is_empty());
        assert!(
            unrestricted.contains("WHERE restricted_team IS NULL"),
            "{unrestricted}"
        );
        assert!(
            unrestricted.ends_with("SELECT count(*) FROM cases"),
            "{unrestricted}"
        );
    }

    #[test]
    fn the_scope_goes_before_the_querys_own_with_queries() {
        let checked = check(
            "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 3) SELECT * FROM n",
            Engine::Sqlite,
        )
        .unwrap();
        let (sql, _) = checked.scoped_to(&[]);
        assert!(sql.starts_with("WITH RECURSIVE cases AS"), "{sql}");
        let own = sql.find("cte_n (i) AS").or_else(|| sql.find("cte_n(i) AS"));
        let last_view = sql.find("events AS").unwrap();
        assert!(own.is_some_and(|o| o > last_view), "{sql}");
    }
}
