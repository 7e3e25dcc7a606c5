//! The "Dashboard" page (the desk's key figures as charts and a table, refreshed every minute)
//! and the "Alerts" page (spike and trend alerts, and acknowledging them). Both come through
//! `analytics::kpis` and `alerts`, as the API does.

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use chrono::{NaiveDate, TimeDelta};
use serde::{Deserialize, Serialize};

use super::pages::{Chrome, Done, chrome, html};
use super::{ConsoleError, Form, Viewer, problem_text};
use crate::access::Permission;
use crate::alerts;
use crate::analytics::charts::{ChartBlock, dashboard_charts};
use crate::analytics::kpis::{self, Dashboard, Dimension, FigureRow, KpiRequest};
use crate::domain::alert::Alert;
use crate::web::AppState;

type Page = Result<Response, ConsoleError>;

#[derive(Template)]
#[template(path = "dashboard.html")]
struct DashboardPage {
    chrome: Chrome,
    form: DashboardForm,
    dimensions: Vec<&'static str>,
    error: Option<String>,
    range: String,
    by: String,
    totals: Option<FigureRow>,
    rows: Vec<FigureRow>,
    charts: Vec<ChartBlock>,
    alerts: Vec<Alert>,
    refresh: String,
    api_query: String,
}

/// The dashboard's form: dates as the date picker gives them, the rest as the API takes them.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
pub struct DashboardForm {
    #[serde(default)]
    pub from: String,
    #[serde(default)]
    pub to: String,
    #[serde(default)]
    pub bucket: String,
    #[serde(default)]
    pub by: String,
}

impl DashboardForm {
    /// The request it stands for: `from` is the start of its day, `to` the end of its day.
    fn request(&self) -> KpiRequest {
        let day = |s: &str, after: bool| -> Option<String> {
            let s = s.trim();
            if s.is_empty() {
                return None;
            }
            Some(match NaiveDate::parse_from_str(s, "%Y-%m-%d") {
                Ok(d) => {
                    let d = if after { d + TimeDelta::days(1) } else { d };
                    format!("{d}T00:00:00Z")
                }
                // Not a date: passed on, so the check names the field.
                Err(_) => s.to_string(),
            })
        };
        let some = |s: &str| (!s.trim().is_empty()).then(|| s.trim().to_string());
        KpiRequest {
            from: day(&self.from, false),
            to: day(&self.to, true),
            bucket: some(&self.bucket),
            by: some(&self.by),
        }
    }

    /// The API's parameters for the same figures.
    fn request_pairs(&self) -> Vec<(&'static str, String)> {
        let r = self.request();
        [
            ("from", r.from),
            ("to", r.to),
            ("bucket", r.bucket),
            ("by", r.by),
        ]
        .into_iter()
        .filter_map(|(k, v)| v.map(|v| (k, v)))
        .collect()
    }

    fn query_string(&self) -> String {
        serde_urlencoded::to_string(self).unwrap_or_default()
    }
}

pub async fn dashboard_page(
    State(state): State<AppState>,
    v: Viewer,
    Query(form): Query<DashboardForm>,
) -> Page {
    v.actor.require(Permission::ReadCases)?;
    let outcome = kpis::dashboard(&state.desk, &v.actor, &form.request()).await;
    let (dashboard, error): (Option<Dashboard>, Option<String>) = match outcome {
        Ok(d) => (Some(d), None),
        Err(e) => match problem_text(&e) {
            Some(text) => (None, Some(text)),
            None => return Err(e.into()),
        },
    };
    // The most surprising first: a glance should land on what matters.
    let mut open_alerts = alerts::list(&state.desk, &v.actor, false).await?;
    open_alerts.sort_by(|a, b| b.score.total_cmp(&a.score).then(b.id.cmp(&a.id)));
    open_alerts.truncate(5);
    let dimensions: Vec<&'static str> = Dimension::ALL
        .into_iter()
        .filter(|d| kpis::may_break_down(v.actor.role, *d))
        .map(Dimension::as_str)
        .collect();
    let page = DashboardPage {
        chrome: chrome(&state, &v, "Dashboard", "/dashboard", &Done { done: None }).await?,
        refresh: format!("/dashboard?{}", form.query_string()),
        api_query: serde_urlencoded::to_string(form.request_pairs()).unwrap_or_default(),
        dimensions,
        error,
        range: dashboard
            .as_ref()
            .map(|d| {
                format!(
                    "{} to {} UTC, by {}",
                    d.from.format("%a %d %b %Y %H:%M"),
                    d.to.format("%a %d %b %Y %H:%M"),
                    d.bucket.as_str()
                )
            })
            .unwrap_or_default(),
        by: dashboard
            .as_ref()
            .and_then(|d| d.by)
            .map(|b| b.as_str().to_string())
            .unwrap_or_default(),
        totals: dashboard.as_ref().map(|d| FigureRow::of(&d.totals)),
        rows: dashboard
            .as_ref()
            .map(|d| d.groups.iter().map(FigureRow::of).collect())
            .unwrap_or_default(),
        charts: dashboard
            .as_ref()
            .map(|d| dashboard_charts(d).iter().map(ChartBlock::of).collect())
            .unwrap_or_default(),
        alerts: open_alerts,
        form,
    };
    html(page)
}

#[derive(Template)]
#[template(path = "alerts.html")]
struct AlertsPage {
    chrome: Chrome,
    alerts: Vec<Alert>,
    all: bool,
    may_acknowledge: bool,
}

#[derive(Debug, Deserialize, Default)]
pub struct AlertsQuery {
    all: Option<bool>,
    done: Option<String>,
}

pub async fn alerts_page(
    State(state): State<AppState>,
    v: Viewer,
    Query(q): Query<AlertsQuery>,
) -> Page {
    let all = q.all.unwrap_or(false);
    let list = alerts::list(&state.desk, &v.actor, all).await?;
    html(AlertsPage {
        chrome: chrome(&state, &v, "Alerts", "/alerts", &Done { done: q.done }).await?,
        alerts: list,
        all,
        may_acknowledge: v.may(Permission::ManageCases),
    })
}

#[derive(Deserialize)]
pub struct AcknowledgeForm {
    csrf: Option<String>,
    #[serde(default)]
    outcome: String,
}

pub async fn acknowledge(
    State(state): State<AppState>,
    v: Viewer,
    Path(id): Path<i64>,
    Form(f): Form<AcknowledgeForm>,
) -> Page {
    v.check_csrf(f.csrf.as_deref())?;
    alerts::acknowledge(&state.desk, &v.actor, id, &f.outcome).await?;
    Ok(Redirect::to("/alerts?done=acknowledged").into_response())
}
