//! `GET /api/v1/search`: full-text case search with the case filters.

use axum::Json;
use axum::extract::State;
use serde::Serialize;
use utoipa::ToSchema;

use super::AppState;
use super::auth::Authenticated;
use super::problem::{Problem, Query};
use super::views::CaseSummary;
use crate::access::Permission;
use crate::domain::search::{DocKind, SearchQuery};
use crate::error::Result;
use crate::store::search;

#[derive(Debug, Serialize, ToSchema)]
pub struct SearchHitView {
    pub case: CaseSummary,
    /// A short piece of the case's best matching text, the matched words between `**`; absent
    /// when the search has no words. Plain text: escape it before showing it as HTML.
    pub snippet: Option<String>,
    /// Where the snippet comes from.
    pub matched_in: Option<DocKind>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct SearchResults {
    /// How many cases match in all.
    pub total: i64,
    pub limit: i64,
    pub offset: i64,
    /// The `offset` of the next page; absent on the last page.
    pub next_offset: Option<i64>,
    pub hits: Vec<SearchHitView>,
}

/// Search cases by what they say (the subject's text, the reports' text and the notes) and by
/// their fields. Every word must occur in the case, in any letter case; the last word also
/// matches as a prefix; `"quoted words"` must occur together. Restricted cases appear only to
/// members of their team.
#[utoipa::path(get, path = "/api/v1/search", tag = "cases", params(SearchQuery),
    responses((status = 200, body = SearchResults), (status = 422, body = Problem),
              (status = 401, body = Problem), (status = 403, body = Problem)))]
pub async fn search(
    State(state): State<AppState>,
    Authenticated(actor): Authenticated,
    Query(q): Query<SearchQuery>,
) -> Result<Json<SearchResults>> {
    actor.require(Permission::ReadCases)?;
    let page = search::search(&state.desk.db, &q, &actor.teams).await?;
    let now = state.desk.now();
    let end = page.offset.saturating_add(page.hits.len() as i64);
    Ok(Json(SearchResults {
        total: page.total,
        limit: page.limit,
        offset: page.offset,
        next_offset: (end < page.total).then_some(end),
        hits: page
            .hits
            .into_iter()
            .map(|h| SearchHitView {
                case: CaseSummary::of(&h.case, now),
                matched_in: h.snippet.as_ref().map(|s| s.kind),
                snippet: h.snippet.map(|s| s.text),
            })
            .collect(),
    }))
}
