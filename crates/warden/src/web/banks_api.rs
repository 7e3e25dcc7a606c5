//! `/api/v1/banks`: banks of known media and their entries; `/api/v1/cases/{id}/matches`: the
//! matches of a case's media, and reviewers' verdicts on them.

use axum::Json;
use axum::extract::State;
use axum::extract::rejection::StringRejection;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};

use super::AppState;
use super::auth::Authenticated;
use super::problem::{ApiJson, Path, Problem, Query, body_error};
use crate::error::{Error, Result};
use crate::matching::banks::{self, Added, NewEntry};
use crate::matching::{Bank, BankChange, BankEntry, ListFormat, MatchVerdict, MediaMatch, NewBank};

#[utoipa::path(get, path = "/api/v1/banks", tag = "banks",
    responses((status = 200, body = Vec<Bank>), (status = 401, body = Problem), (status = 403, body = Problem)))]
pub async fn list_banks(
    State(state): State<AppState>,
    Authenticated(actor): Authenticated,
) -> Result<Json<Vec<Bank>>> {
    Ok(Json(banks::list(&state.desk, &actor).await?))
}

/// A new bank, tied to the policy its media violates.
#[utoipa::path(post, path = "/api/v1/banks", tag = "banks", request_body = NewBank,
    responses((status = 201, body = Bank), (status = 422, body = Problem), (status = 401, body = Problem),
              (status = 403, body = Problem)))]
pub async fn create_bank(
    State(state): State<AppState>,
    Authenticated(actor): Authenticated,
    ApiJson(new): ApiJson<NewBank>,
) -> Result<(StatusCode, Json<Bank>)> {
    let bank = banks::create(&state.desk, &actor, &new).await?;
    Ok((StatusCode::CREATED, Json(bank)))
}

#[utoipa::path(get, path = "/api/v1/banks/{id}", tag = "banks", params(("id" = i64, Path)),
    responses((status = 200, body = Bank), (status = 404, body = Problem), (status = 401, body = Problem),
              (status = 403, body = Problem)))]
pub async fn get_bank(
    State(state): State<AppState>,
    Authenticated(actor): Authenticated,
    Path(id): Path<i64>,
) -> Result<Json<Bank>> {
    Ok(Json(banks::get(&state.desk, &actor, id).await?))
}

/// Changes a bank's description, threshold, automatic action or state.
#[utoipa::path(patch, path = "/api/v1/banks/{id}", tag = "banks", params(("id" = i64, Path)),
    request_body = BankChange,
    responses((status = 200, body = Bank), (status = 404, body = Problem), (status = 422, body = Problem),
              (status = 401, body = Problem), (status = 403, body = Problem)))]
pub async fn change_bank(
    State(state): State<AppState>,
    Authenticated(actor): Authenticated,
    Path(id): Path<i64>,
    ApiJson(change): ApiJson<BankChange>,
) -> Result<Json<Bank>> {
    Ok(Json(banks::change(&state.desk, &actor, id, &change).await?))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct EntryPage {
    /// Entries after this id (0, or absent, for the first page).
    pub after: Option<i64>,
    /// At most this many (1 to 1000; 100 when absent).
    pub limit: Option<i64>,
}

#[utoipa::path(get, path = "/api/v1/banks/{id}/entries", tag = "banks", params(("id" = i64, Path), EntryPage),
    responses((status = 200, body = Vec<BankEntry>), (status = 404, body = Problem), (status = 401, body = Problem),
              (status = 403, body = Problem)))]
pub async fn list_entries(
    State(state): State<AppState>,
    Authenticated(actor): Authenticated,
    Path(id): Path<i64>,
    Query(page): Query<EntryPage>,
) -> Result<Json<Vec<BankEntry>>> {
    let (after, limit) = (page.after.unwrap_or(0), page.limit.unwrap_or(100));
    Ok(Json(
        banks::entries(&state.desk, &actor, id, after, limit).await?,
    ))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewEntries {
    pub entries: Vec<NewEntry>,
}

/// Adds hashes by hand; none is added when one is bad.
#[utoipa::path(post, path = "/api/v1/banks/{id}/entries", tag = "banks", params(("id" = i64, Path)),
    request_body = NewEntries,
    responses((status = 200, body = Added), (status = 404, body = Problem), (status = 422, body = Problem),
              (status = 401, body = Problem), (status = 403, body = Problem)))]
pub async fn add_entries(
    State(state): State<AppState>,
    Authenticated(actor): Authenticated,
    Path(id): Path<i64>,
    ApiJson(req): ApiJson<NewEntries>,
) -> Result<Json<Added>> {
    Ok(Json(
        banks::add(&state.desk, &actor, id, &req.entries).await?,
    ))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EntryChange {
    pub enabled: bool,
}

/// Enables or disables an entry; a disabled entry stops matching at once.
#[utoipa::path(patch, path = "/api/v1/banks/{id}/entries/{entry_id}", tag = "banks",
    params(("id" = i64, Path), ("entry_id" = i64, Path)), request_body = EntryChange,
    responses((status = 200, body = BankEntry), (status = 404, body = Problem), (status = 422, body = Problem),
              (status = 401, body = Problem), (status = 403, body = Problem)))]
pub async fn change_entry(
    State(state): State<AppState>,
    Authenticated(actor): Authenticated,
    Path((id, entry_id)): Path<(i64, i64)>,
    ApiJson(change): ApiJson<EntryChange>,
) -> Result<Json<BankEntry>> {
    banks::change_entry(
        &state.desk,
        &actor,
        id,
        entry_id,
        Some(change.enabled),
        false,
    )
    .await?
    .map(Json)
    .ok_or(Error::NotFound("bank entry"))
}

/// Takes an entry out of its bank (kept on record for the matches it made).
#[utoipa::path(delete, path = "/api/v1/banks/{id}/entries/{entry_id}", tag = "banks",
    params(("id" = i64, Path), ("entry_id" = i64, Path)),
    responses((status = 204), (status = 404, body = Problem), (status = 401, body = Problem),
              (status = 403, body = Problem)))]
pub async fn remove_entry(
    State(state): State<AppState>,
    Authenticated(actor): Authenticated,
    Path((id, entry_id)): Path<(i64, i64)>,
) -> Result<StatusCode> {
    banks::change_entry(&state.desk, &actor, id, entry_id, None, true).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ImportQuery {
    /// Where the list came from (a hash-sharing programme, a partner), kept on every entry.
    pub list_name: Option<String>,
}

/// Imports a hash list: `text/plain` (one hex hash per line; `hex quality path` lines as the
/// reference tool prints them) or `text/csv` (a header row with a `hash` column, and optional
/// `quality` and `note`). All of it or nothing: every bad line is named.
#[utoipa::path(post, path = "/api/v1/banks/{id}/import", tag = "banks", params(("id" = i64, Path), ImportQuery),
    request_body(content = String, content_type = "text/plain"),
    responses((status = 200, body = Added), (status = 404, body = Problem), (status = 415, body = Problem),
              (status = 422, body = Problem), (status = 401, body = Problem), (status = 403, body = Problem)))]
pub async fn import_entries(
    State(state): State<AppState>,
    Authenticated(actor): Authenticated,
    Path(id): Path<i64>,
    Query(q): Query<ImportQuery>,
    headers: HeaderMap,
    body: std::result::Result<String, StringRejection>,
) -> Result<Json<Added>> {
    actor.require(crate::access::Permission::ManageBanks)?;
    let kind = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    let format = if kind.starts_with("text/csv") {
        ListFormat::Csv
    } else if kind.starts_with("text/plain") {
        ListFormat::Text
    } else {
        return Err(Error::UnsupportedMediaType("text/plain or text/csv"));
    };
    let body = body.map_err(|r| body_error(r.status(), &r, r.body_text()))?;
    Ok(Json(
        banks::import(
            &state.desk,
            &actor,
            id,
            &body,
            format,
            q.list_name.as_deref(),
        )
        .await?,
    ))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ExportQuery {
    /// `text` (one hash per line, the default) or `csv` (with provenance).
    pub format: Option<ListFormat>,
}

/// A bank's entries as a hash list.
#[utoipa::path(get, path = "/api/v1/banks/{id}/export", tag = "banks", params(("id" = i64, Path), ExportQuery),
    responses((status = 200, content_type = "text/plain", body = String), (status = 404, body = Problem),
              (status = 401, body = Problem), (status = 403, body = Problem)))]
pub async fn export_entries(
    State(state): State<AppState>,
    Authenticated(actor): Authenticated,
    Path(id): Path<i64>,
    Query(q): Query<ExportQuery>,
) -> Result<Response> {
    let format = q.format.unwrap_or(ListFormat::Text);
    let text = banks::export(&state.desk, &actor, id, format).await?;
    let kind = match format {
        ListFormat::Text => "text/plain; charset=utf-8",
        ListFormat::Csv => "text/csv; charset=utf-8",
    };
    Ok(([(header::CONTENT_TYPE, kind)], text).into_response())
}

/// The matches of a case's media against the banks.
#[utoipa::path(get, path = "/api/v1/cases/{id}/matches", tag = "cases", params(("id" = i64, Path)),
    responses((status = 200, body = Vec<MediaMatch>), (status = 404, body = Problem), (status = 401, body = Problem),
              (status = 403, body = Problem)))]
pub async fn case_matches(
    State(state): State<AppState>,
    Authenticated(actor): Authenticated,
    Path(id): Path<i64>,
) -> Result<Json<Vec<MediaMatch>>> {
    Ok(Json(banks::case_matches(&state.desk, &actor, id).await?))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Judgement {
    pub verdict: MatchVerdict,
}

/// Whether a match was right: counted in its bank's precision.
#[utoipa::path(post, path = "/api/v1/cases/{id}/matches/{match_id}/verdict", tag = "cases",
    params(("id" = i64, Path), ("match_id" = i64, Path)), request_body = Judgement,
    responses((status = 200, body = MediaMatch), (status = 404, body = Problem), (status = 422, body = Problem),
              (status = 401, body = Problem), (status = 403, body = Problem)))]
pub async fn judge_match(
    State(state): State<AppState>,
    Authenticated(actor): Authenticated,
    Path((id, match_id)): Path<(i64, i64)>,
    ApiJson(req): ApiJson<Judgement>,
) -> Result<Json<MediaMatch>> {
    Ok(Json(
        banks::judge(&state.desk, &actor, id, match_id, req.verdict).await?,
    ))
}
