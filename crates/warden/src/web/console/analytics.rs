//! The "Analytics · SQL" page: a query box, the result as a table or a CSV download, saved
//! queries and the views' documentation. Everything goes through `analytics`, as the API does.

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;

use super::pages::{Chrome, Done, chrome, html};
use super::{ConsoleError, Form, Viewer, problem_text};
use crate::access::Permission;
use crate::analytics::{self, ResultTable, SavedQuery, SavedQueryInput};
use crate::error::Error;
use crate::web::AppState;
use crate::web::analytics_api::{ViewCatalogue, catalogue, csv_response};

type Page = Result<Response, ConsoleError>;

#[derive(Template)]
#[template(path = "analytics.html")]
struct AnalyticsPage {
    chrome: Chrome,
    sql: String,
    error: Option<String>,
    result: Option<ResultTable>,
    cells: Vec<Vec<String>>,
    /// The result for the chart script; `<` escaped so no value can end the script block.
    result_json: String,
    saved: Vec<SavedQuery>,
    teams: Vec<String>,
    views: ViewCatalogue,
    max_rows: String,
    timeout_secs: u64,
}

#[derive(Deserialize, Default)]
pub struct AnalyticsQuery {
    saved: Option<i64>,
    done: Option<String>,
}

#[derive(Deserialize)]
pub struct AnalyticsForm {
    csrf: Option<String>,
    #[serde(default)]
    sql: String,
    action: Option<String>,
    #[serde(default)]
    name: String,
    #[serde(default)]
    description: String,
    team: Option<String>,
}

async fn page(
    state: &AppState,
    v: &Viewer,
    sql: String,
    outcome: Result<Option<ResultTable>, String>,
    done: Option<String>,
) -> Page {
    let saved = analytics::list(&state.desk, &v.actor).await?;
    let (result, error) = match outcome {
        Ok(r) => (r, None),
        Err(e) => (None, Some(e)),
    };
    let cells = result
        .as_ref()
        .map(|t| {
            t.rows
                .iter()
                .map(|r| {
                    r.iter()
                        .map(|v| match v {
                            serde_json::Value::Null => String::new(),
                            serde_json::Value::String(s) => s.clone(),
                            other => other.to_string(),
                        })
                        .collect()
                })
                .collect()
        })
        .unwrap_or_default();
    let limits = analytics::Limits::of(&state.desk);
    let result_json = result
        .as_ref()
        .and_then(|t| serde_json::to_string(t).ok())
        .unwrap_or_else(|| "null".into())
        .replace('<', "\\u003c");
    html(AnalyticsPage {
        result_json,
        chrome: chrome(state, v, "Analytics · SQL", "/analytics", &Done { done }).await?,
        sql,
        error,
        result,
        cells,
        saved,
        teams: v.actor.teams.clone(),
        views: catalogue(),
        max_rows: analytics::thousands(limits.max_rows),
        timeout_secs: limits.timeout_secs,
    })
}

pub async fn analytics_page(
    State(state): State<AppState>,
    v: Viewer,
    Query(q): Query<AnalyticsQuery>,
) -> Page {
    v.actor.require(Permission::RunAnalytics)?;
    let sql = match q.saved {
        Some(id) => analytics::list(&state.desk, &v.actor)
            .await?
            .into_iter()
            .find(|s| s.id == id)
            .map(|s| s.sql)
            .ok_or(Error::NotFound("saved query"))?,
        None => "SELECT queue, status, count(*) AS cases\nFROM cases\nGROUP BY queue, status\nORDER BY queue, status".into(),
    };
    page(&state, &v, sql, Ok(None), q.done).await
}

pub async fn analytics_run(
    State(state): State<AppState>,
    v: Viewer,
    Form(f): Form<AnalyticsForm>,
) -> Page {
    v.check_csrf(f.csrf.as_deref())?;
    v.actor.require(Permission::RunAnalytics)?;
    match f.action.as_deref() {
        Some("save") => {
            let input = SavedQueryInput {
                name: f.name,
                description: f.description,
                sql: f.sql.clone(),
                team: f.team.filter(|t| !t.is_empty()),
            };
            match analytics::save(&state.desk, &v.actor, input).await {
                Ok(saved) => Ok(Redirect::to(&format!(
                    "/analytics?saved={}&done=query_saved",
                    saved.id
                ))
                .into_response()),
                Err(e) => match problem_text(&e) {
                    Some(text) => page(&state, &v, f.sql, Err(text), None).await,
                    None => Err(e.into()),
                },
            }
        }
        action => match analytics::run(&state.desk, &v.actor, &f.sql).await {
            Ok(table) if action == Some("csv") => Ok(csv_response(&table)),
            Ok(table) => page(&state, &v, f.sql, Ok(Some(table)), None).await,
            Err(e) => match problem_text(&e) {
                Some(text) => page(&state, &v, f.sql, Err(text), None).await,
                None => Err(e.into()),
            },
        },
    }
}

#[derive(Deserialize)]
pub struct CsrfOnly {
    csrf: Option<String>,
}

pub async fn analytics_delete(
    State(state): State<AppState>,
    v: Viewer,
    Path(id): Path<i64>,
    Form(f): Form<CsrfOnly>,
) -> Page {
    v.check_csrf(f.csrf.as_deref())?;
    analytics::delete(&state.desk, &v.actor, id).await?;
    Ok(Redirect::to("/analytics?done=query_deleted").into_response())
}
