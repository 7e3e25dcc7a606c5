//! `/api/v1/analytics` and `/api/v1/kpis`: the views' documentation, running read-only SQL, saved
//! queries, and the desk's key figures.

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::AppState;
use super::auth::Authenticated;
use super::problem::{ApiJson, Path, Problem, Query};
use crate::access::Permission;
use crate::analytics::kpis::{self, Dashboard, KpiRequest};
use crate::analytics::views::{ColumnType, VIEWS};
use crate::analytics::{self, ResultTable, SavedQuery, SavedQueryInput};
use crate::error::Result;

#[derive(Debug, Serialize, ToSchema)]
pub struct ColumnDoc {
    pub name: String,
    #[serde(rename = "type")]
    pub kind: ColumnType,
    pub description: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ViewDoc {
    /// The name to use in queries.
    pub name: String,
    pub description: String,
    pub columns: Vec<ColumnDoc>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ViewCatalogue {
    /// Times are ISO 8601 text in UTC to the millisecond; flags are 0 or 1.
    pub views: Vec<ViewDoc>,
}

/// The catalogue of views, as served and as the console shows it.
pub fn catalogue() -> ViewCatalogue {
    ViewCatalogue {
        views: VIEWS
            .iter()
            .map(|v| ViewDoc {
                name: v.name.into(),
                description: v.description.into(),
                columns: v
                    .columns
                    .iter()
                    .map(|c| ColumnDoc {
                        name: c.name.into(),
                        kind: c.kind,
                        description: c.description.into(),
                    })
                    .collect(),
            })
            .collect(),
    }
}

/// The views analysts may query, each column with its type and meaning.
#[utoipa::path(get, path = "/api/v1/analytics/views", tag = "analytics",
    responses((status = 200, body = ViewCatalogue), (status = 401, body = Problem), (status = 403, body = Problem)))]
pub async fn list_views(Authenticated(actor): Authenticated) -> Result<Json<ViewCatalogue>> {
    actor.require(Permission::RunAnalytics)?;
    Ok(Json(catalogue()))
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ResultFormat {
    #[default]
    Json,
    Csv,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct QueryRequest {
    /// One read-only query over the views (`SELECT …` or `WITH … SELECT …`).
    pub sql: String,
    /// `csv` answers with `text/csv` instead of JSON.
    #[serde(default)]
    pub format: Option<ResultFormat>,
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct QueryParams {
    /// `csv` answers with `text/csv` instead of JSON (as does `Accept: text/csv`).
    pub format: Option<ResultFormat>,
}

/// The answer as CSV, to download.
pub fn csv_response(table: &ResultTable) -> Response {
    (
        [
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static("text/csv; charset=utf-8"),
            ),
            (
                header::CONTENT_DISPOSITION,
                HeaderValue::from_static("attachment; filename=\"query.csv\""),
            ),
        ],
        analytics::to_csv(table),
    )
        .into_response()
}

/// Run one read-only query over the views. Only rows of cases the caller may see take part.
/// Refused with 422 (field `sql`, saying why) when it is not one read-only statement over the
/// views with allowed functions, runs past the time limit or returns more than the row cap.
#[utoipa::path(post, path = "/api/v1/analytics/query", tag = "analytics", params(QueryParams),
    request_body = QueryRequest,
    responses((status = 200, description = "the columns and rows, or the same as CSV",
                content((ResultTable = "application/json"), (String = "text/csv"))),
              (status = 422, body = Problem), (status = 401, body = Problem), (status = 403, body = Problem)))]
pub async fn run_query(
    State(state): State<AppState>,
    Authenticated(actor): Authenticated,
    Query(params): Query<QueryParams>,
    headers: HeaderMap,
    ApiJson(request): ApiJson<QueryRequest>,
) -> Result<Response> {
    let wants_csv = params.format.or(request.format) == Some(ResultFormat::Csv)
        || (params.format.or(request.format).is_none()
            && headers
                .get(header::ACCEPT)
                .and_then(|a| a.to_str().ok())
                .is_some_and(|a| a.contains("text/csv")));
    let table = analytics::run(&state.desk, &actor, &request.sql).await?;
    Ok(if wants_csv {
        csv_response(&table)
    } else {
        Json(table).into_response()
    })
}

#[derive(Debug, Serialize, ToSchema)]
pub struct SavedQueries {
    pub queries: Vec<SavedQuery>,
}

/// The caller's saved queries and those shared with their teams.
#[utoipa::path(get, path = "/api/v1/analytics/saved", tag = "analytics",
    responses((status = 200, body = SavedQueries), (status = 401, body = Problem), (status = 403, body = Problem)))]
pub async fn list_saved(
    State(state): State<AppState>,
    Authenticated(actor): Authenticated,
) -> Result<Json<SavedQueries>> {
    Ok(Json(SavedQueries {
        queries: analytics::list(&state.desk, &actor).await?,
    }))
}

/// Save a query (checked as if it were run), optionally shared with one of the caller's teams.
/// Saving under a name the caller already used replaces that query.
#[utoipa::path(post, path = "/api/v1/analytics/saved", tag = "analytics", request_body = SavedQueryInput,
    responses((status = 201, body = SavedQuery), (status = 422, body = Problem),
              (status = 401, body = Problem), (status = 403, body = Problem)))]
pub async fn save_query(
    State(state): State<AppState>,
    Authenticated(actor): Authenticated,
    ApiJson(input): ApiJson<SavedQueryInput>,
) -> Result<(StatusCode, Json<SavedQuery>)> {
    let saved = analytics::save(&state.desk, &actor, input).await?;
    Ok((StatusCode::CREATED, Json(saved)))
}

/// Delete a saved query; only its author (or an admin) may.
#[utoipa::path(delete, path = "/api/v1/analytics/saved/{id}", tag = "analytics", params(("id" = i64, Path)),
    responses((status = 204, description = "deleted"), (status = 404, body = Problem),
              (status = 401, body = Problem), (status = 403, body = Problem)))]
pub async fn delete_saved(
    State(state): State<AppState>,
    Authenticated(actor): Authenticated,
    Path(id): Path<i64>,
) -> Result<StatusCode> {
    analytics::delete(&state.desk, &actor, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The desk's key figures for a time range, in total and by one dimension: intake and closures
/// per bucket, the backlog and its age, time to first response and to resolution (p50/p90), SLA
/// compliance and the appeal overturn rate. Restricted cases count only for their teams.
#[utoipa::path(get, path = "/api/v1/kpis", tag = "analytics", params(KpiRequest),
    responses((status = 200, body = Dashboard), (status = 422, body = Problem),
              (status = 401, body = Problem), (status = 403, body = Problem)))]
pub async fn key_figures(
    State(state): State<AppState>,
    Authenticated(actor): Authenticated,
    Query(q): Query<KpiRequest>,
) -> Result<Json<Dashboard>> {
    Ok(Json(kpis::dashboard(&state.desk, &actor, &q).await?))
}
