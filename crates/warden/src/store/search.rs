//! The full-text index of what cases say (subject text, reports, notes) and case search over it:
//! SQLite FTS5 or a PostgreSQL tsvector column, behind one function each way. Documents are
//! written in the transaction of the change that brings their text, so the index never lags.

use sqlx::{AnyConnection, Row};

use super::cases::Params;
use super::rows::{self, Table};
use super::{Arg, Db, Engine, query_with_args};
use crate::clock::to_millis;
use crate::domain::case::Case;
use crate::domain::search::{
    AreaFilter, DocKind, SearchPlan, SearchQuery, Sort, SortKey, Syntax, any_of,
};
use crate::error::{Error, Result};

pub const SEARCH_DOCS: Table = Table {
    name: "search_docs",
    columns: &["case_id", "kind", "body"],
};

/// A text's row of `SEARCH_DOCS`; none for a blank text, which nothing could find.
pub fn document_row(case_id: i64, kind: DocKind, body: &str) -> Option<Vec<Arg>> {
    (!body.trim().is_empty()).then(|| {
        vec![
            Arg::Int(case_id),
            Arg::Text(kind.as_str().to_string()),
            Arg::Text(body.to_string()),
        ]
    })
}

/// Adds a text to a case's index; blank texts are skipped.
pub async fn index_document(
    conn: &mut AnyConnection,
    case_id: i64,
    kind: DocKind,
    body: &str,
) -> Result<()> {
    match document_row(case_id, kind, body) {
        Some(row) => rows::insert(conn, &SEARCH_DOCS, vec![row]).await,
        None => Ok(()),
    }
}

/// Where the matching text was found and a short piece of it around the match, the matched
/// words between `**`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Snippet {
    pub kind: DocKind,
    pub text: String,
}

#[derive(Debug, Clone)]
pub struct SearchHit {
    pub case: Case,
    /// Absent when the search had no words.
    pub snippet: Option<Snippet>,
}

#[derive(Debug, Clone)]
pub struct SearchPage {
    /// All matching cases the viewer may see, not only this page.
    pub total: i64,
    pub limit: i64,
    pub offset: i64,
    pub hits: Vec<SearchHit>,
}

/// What the match highlights; plain text, so a reader escapes the snippet and then marks these.
const MARK: &str = "**";

fn syntax(engine: Engine) -> Syntax {
    match engine {
        Engine::Sqlite => Syntax::Fts5,
        Engine::Postgres => Syntax::TsQuery,
    }
}

/// Documents matching a bound query.
fn matching(engine: Engine, query: &str) -> String {
    match engine {
        Engine::Sqlite => format!("search_docs MATCH {query}"),
        Engine::Postgres => format!("tsv @@ to_tsquery('simple', {query})"),
    }
}

/// Per matching case: its best document for `query` (`best`) and that document's score.
fn hits(engine: Engine, query: &str) -> String {
    match engine {
        // FTS5's rank (bm25, lower is better) works in an aggregate where bm25() does not; with
        // one MIN(), SQLite takes the bare `rowid` from the row holding the minimum.
        Engine::Sqlite => format!(
            "WITH hits AS (SELECT case_id, MIN(rank) AS score, rowid AS best FROM search_docs \
             WHERE search_docs MATCH {query} GROUP BY case_id) "
        ),
        Engine::Postgres => format!(
            "WITH hits AS (SELECT DISTINCT ON (case_id) case_id, ts_rank(tsv, to_tsquery('simple', {query})) AS score, \
             id AS best FROM search_docs WHERE tsv @@ to_tsquery('simple', {query}) ORDER BY case_id, score DESC, id) "
        ),
    }
}

fn order_by(engine: Engine, sort: Sort) -> String {
    let dir = if sort.descending { "DESC" } else { "ASC" };
    match sort.key {
        SortKey::Relevance => {
            let best_first = match engine {
                Engine::Sqlite => "ASC",
                Engine::Postgres => "DESC",
            };
            format!("h.score {best_first}, c.priority, c.resolution_due, c.id")
        }
        SortKey::Priority => format!("c.priority {dir}, c.resolution_due {dir}, c.id {dir}"),
        SortKey::Opened => format!("c.opened_at {dir}, c.id {dir}"),
        SortKey::Updated => format!("c.updated_at {dir}, c.id {dir}"),
        SortKey::Deadline => format!("c.resolution_due {dir}, c.id {dir}"),
    }
}

fn filters(plan: &SearchPlan, p: &mut Params, clauses: &mut Vec<String>) {
    if let Some(s) = plan.status {
        clauses.push(format!("c.status = {}", p.text(s.as_str())));
    }
    if let Some(q) = &plan.queue {
        clauses.push(format!("c.queue = {}", p.text(q.clone())));
    }
    match &plan.policy_area {
        Some(AreaFilter::Exact(a)) => {
            clauses.push(format!("c.policy_area = {}", p.text(a.clone())));
        }
        Some(AreaFilter::Family(prefix)) => {
            // Not LIKE: `_` in area names would be a wildcard there. The length is a number of
            // ours, written out: PostgreSQL's substr takes an integer, not the BIGINT we bind.
            let len = prefix.chars().count();
            clauses.push(format!(
                "substr(c.policy_area, 1, {len}) = {}",
                p.text(prefix.clone())
            ));
        }
        None => {}
    }
    if let Some(s) = plan.source {
        clauses.push(format!(
            "EXISTS (SELECT 1 FROM reports r WHERE r.case_id = c.id AND r.source = {})",
            p.text(s.as_str())
        ));
    }
    if let Some(pr) = plan.priority {
        clauses.push(format!("c.priority = {}", p.int(pr.rank())));
    }
    if let Some(r) = &plan.region {
        clauses.push(format!("c.region = {}", p.text(r.clone())));
    }
    if let Some(from) = plan.opened_from {
        clauses.push(format!("c.opened_at >= {}", p.int(to_millis(from))));
    }
    if let Some(before) = plan.opened_before {
        clauses.push(format!("c.opened_at < {}", p.int(to_millis(before))));
    }
    if let Some(a) = plan.assignee {
        clauses.push(format!("c.assignee_id = {}", p.int(a)));
    }
}

/// Cases matching a search that the viewer (a member of `teams`) may see: a page of them in the
/// asked order, each with a snippet of its best matching text, and how many match in all.
pub async fn search(db: &Db, q: &SearchQuery, teams: &[String]) -> Result<SearchPage> {
    let plan = q.plan()?;
    let engine = db.engine;
    let syntax = syntax(engine);
    let text = !plan.terms.is_empty();
    let mut p = Params::default();
    let mut with = String::new();
    let mut from = "cases c".to_string();
    let mut clauses = vec![p.visible_to(teams)];
    if text {
        let any = p.text(any_of(&plan.terms, syntax));
        with = hits(engine, &any);
        from.push_str(" JOIN hits h ON h.case_id = c.id");
        // Every term somewhere in the case: a term may be in the subject, another in a note.
        if plan.terms.len() > 1 {
            for term in &plan.terms {
                let term = p.text(term.render(syntax));
                clauses.push(format!(
                    "c.id IN (SELECT case_id FROM search_docs WHERE {})",
                    matching(engine, &term)
                ));
            }
        }
    }
    filters(&plan, &mut p, &mut clauses);
    let condition = clauses.join(" AND ");
    let filter_args = p.0.len();
    let limit = p.int(plan.limit);
    let offset = p.int(plan.offset);
    let best = if text { ", h.best" } else { "" };
    let sql = format!(
        "{with}SELECT c.state{best} FROM {from} WHERE {condition} ORDER BY {} LIMIT {limit} OFFSET {offset}",
        order_by(engine, plan.sort)
    );
    let rows = query_with_args(sql, &p.0).fetch_all(db.reader()).await?;
    let mut page = Vec::with_capacity(rows.len());
    for row in &rows {
        let case: Case = serde_json::from_str(&row.try_get::<String, _>(0)?)?;
        let best: Option<i64> = if text { Some(row.try_get(1)?) } else { None };
        page.push((case, best));
    }
    // A first page that is not full holds every match: no need to count.
    let total = if plan.offset == 0 && (page.len() as i64) < plan.limit {
        page.len() as i64
    } else {
        let sql = format!("{with}SELECT COUNT(*) FROM {from} WHERE {condition}");
        query_with_args(sql, &p.0[..filter_args])
            .fetch_one(db.reader())
            .await?
            .try_get(0)?
    };
    let best: Vec<i64> = page.iter().filter_map(|(_, b)| *b).collect();
    let snippets = if text && !best.is_empty() {
        snippets(db, &any_of(&plan.terms, syntax), &best).await?
    } else {
        Vec::new()
    };
    Ok(SearchPage {
        total,
        limit: plan.limit,
        offset: plan.offset,
        hits: page
            .into_iter()
            .map(|(case, best)| SearchHit {
                case,
                snippet: best.and_then(|b| {
                    snippets
                        .iter()
                        .find(|(id, _)| *id == b)
                        .map(|(_, s)| s.clone())
                }),
            })
            .collect(),
    })
}

/// Snippets of the given documents around the words of `query`; cut only for the page's best
/// documents, as they cost a read of the whole text.
async fn snippets(db: &Db, query: &str, ids: &[i64]) -> Result<Vec<(i64, Snippet)>> {
    let mut p = Params::default();
    let query = p.text(query);
    let list: Vec<String> = ids.iter().map(|id| p.int(*id)).collect();
    let list = list.join(", ");
    let sql = match db.engine {
        Engine::Sqlite => format!(
            "SELECT rowid, kind, snippet(search_docs, 0, '{MARK}', '{MARK}', '…', 24) FROM search_docs \
             WHERE search_docs MATCH {query} AND rowid IN ({list})"
        ),
        Engine::Postgres => format!(
            "SELECT id, kind, ts_headline('simple', body, to_tsquery('simple', {query}), \
             'StartSel={MARK}, StopSel={MARK}, MaxWords=24, MinWords=8, MaxFragments=2, FragmentDelimiter=\" … \"') \
             FROM search_docs WHERE id IN ({list})"
        ),
    };
    let rows = query_with_args(sql, &p.0).fetch_all(db.reader()).await?;
    rows.iter()
        .map(|r| {
            let kind: String = r.try_get(1)?;
            let kind = DocKind::parse(&kind)
                .ok_or_else(|| Error::Internal(format!("unknown search document kind {kind}")))?;
            Ok((
                r.try_get(0)?,
                Snippet {
                    kind,
                    text: r.try_get(2)?,
                },
            ))
        })
        .collect()
}

/// How many documents the index holds, per kind.
pub async fn document_counts(db: &Db) -> Result<Vec<(String, i64)>> {
    let rows = sqlx::query("SELECT kind, COUNT(*) FROM search_docs GROUP BY kind ORDER BY kind")
        .fetch_all(db.reader())
        .await?;
    rows.iter()
        .map(|r| Ok((r.try_get(0)?, r.try_get(1)?)))
        .collect()
}
