//! `/api/v1/alerts`: spike and trend alerts, and their acknowledgement.

use axum::Json;
use axum::extract::State;
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};

use super::AppState;
use super::auth::Authenticated;
use super::problem::{ApiJson, Path, Problem, Query};
use crate::access::Permission;
use crate::alerts::{self, ScanSummary};
use crate::domain::alert::Alert;
use crate::error::Result;

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct AlertQuery {
    /// Include acknowledged alerts.
    pub all: Option<bool>,
}

/// Alerts, newest hour first: open ones, or all with `all=true`. Alerts about a restricted case
/// appear only to its team.
#[utoipa::path(get, path = "/api/v1/alerts", tag = "alerts", params(AlertQuery),
    responses((status = 200, body = Vec<Alert>), (status = 401, body = Problem), (status = 403, body = Problem)))]
pub async fn list_alerts(
    State(state): State<AppState>,
    Authenticated(actor): Authenticated,
    Query(q): Query<AlertQuery>,
) -> Result<Json<Vec<Alert>>> {
    Ok(Json(
        alerts::list(&state.desk, &actor, q.all.unwrap_or(false)).await?,
    ))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Acknowledgement {
    /// What came of the alert, e.g. "opened an incident" or "expected: product launch".
    pub outcome: String,
}

#[utoipa::path(post, path = "/api/v1/alerts/{id}/acknowledge", tag = "alerts", params(("id" = i64, Path)),
    request_body = Acknowledgement,
    responses((status = 200, body = Alert), (status = 404, body = Problem), (status = 409, body = Problem),
              (status = 422, body = Problem), (status = 401, body = Problem), (status = 403, body = Problem)))]
pub async fn acknowledge_alert(
    State(state): State<AppState>,
    Authenticated(actor): Authenticated,
    Path(id): Path<i64>,
    ApiJson(req): ApiJson<Acknowledgement>,
) -> Result<Json<Alert>> {
    Ok(Json(
        alerts::acknowledge(&state.desk, &actor, id, &req.outcome).await?,
    ))
}

/// Scans the last complete hours for alerts now, rather than at the server's next scan.
#[utoipa::path(post, path = "/api/v1/alerts/scan", tag = "alerts",
    responses((status = 200, body = ScanSummary), (status = 401, body = Problem), (status = 403, body = Problem)))]
pub async fn scan_alerts(
    State(state): State<AppState>,
    Authenticated(actor): Authenticated,
) -> Result<Json<ScanSummary>> {
    actor.require(Permission::ManageCases)?;
    Ok(Json(alerts::scan(&state.desk).await?))
}
