//! Spike and trend alerts over the desk's own reports: volume by policy × region × source, mass
//! reporting of one case, and terms newly rising in report text. A scan replays the recent
//! weeks hour by hour through fresh detectors, so it holds no state between runs (a restart or a
//! second server changes nothing) and stores an alert once per signal and hour.

pub mod detect;

use chrono::TimeDelta;
use serde::Serialize;
use utoipa::ToSchema;

use crate::access::{Actor, Permission};
use crate::desk::Desk;
use crate::domain::alert::{Alert, NewAlert};
use crate::error::{Error, FieldError, Result};
use crate::store::alerts;
use detect::hour_of;

/// How far back each signal learns from: volume needs weeks for its weekly rhythm; reporters
/// and terms only need to know what is usual lately.
const VOLUME_HISTORY: TimeDelta = TimeDelta::days(28);
const REPORTER_HISTORY: TimeDelta = TimeDelta::days(7);
const TERM_HISTORY: TimeDelta = TimeDelta::days(3);
/// Hours before the current one that a scan may still alert on, so a scan missed (a restart, a
/// database outage) is made up by the next.
const CATCH_UP_HOURS: i64 = 3;
/// Within this time, a signal alerts again only if the new alert is far more surprising.
const COOL_DOWN: trends::CooldownPolicy = trends::CooldownPolicy {
    period: TimeDelta::hours(6),
    stronger_by: 3.0,
};
const MAX_OUTCOME: usize = 2000;

#[derive(Debug, Default, Clone, Serialize, ToSchema)]
pub struct ScanSummary {
    /// Alerts stored by this scan.
    pub raised: usize,
    /// Alerts found but held back: already stored, or a repeat within the cool-down.
    pub held_back: usize,
}

/// Looks for alerts in the last complete hours and stores the new ones. The current hour is left
/// alone until it is over: half an hour is not an hour.
pub async fn scan(desk: &Desk) -> Result<ScanSummary> {
    let now = desk.now();
    let end = hour_of(now);
    let alert_from = end - CATCH_UP_HOURS;
    let since = |history: TimeDelta| now - history;
    // The hour under way is never alerted on, so none of its reports are read: in a crisis it
    // holds more reports than any hour before it.
    let until = detect::start_of(end).and_utc();
    let volume = alerts::volume_counts(&desk.db, since(VOLUME_HISTORY), until).await?;
    let mut reports_per_hour: std::collections::BTreeMap<i64, u64> = Default::default();
    for v in &volume {
        *reports_per_hour.entry(v.hour).or_default() += v.reports;
    }
    let mut found = detect::volume_alerts(&volume, hour_of(since(VOLUME_HISTORY))..end, alert_from);
    found.extend(detect::mass_reporting_alerts(
        &alerts::reporter_counts(
            &desk.db,
            since(REPORTER_HISTORY),
            until,
            detect::start_of(alert_from).and_utc(),
            detect::MIN_REPORTERS,
        )
        .await?,
        &reports_per_hour,
        hour_of(since(REPORTER_HISTORY))..end,
        alert_from,
    ));
    found.extend(detect::emerging_term_alerts(
        &alerts::report_texts(&desk.db, since(TERM_HISTORY), until).await?,
        hour_of(since(TERM_HISTORY))..end,
        alert_from,
    ));
    let mut summary = ScanSummary::default();
    let announce: Option<fn(i64, &NewAlert) -> serde_json::Value> = desk
        .config
        .alerts
        .webhook_url
        .is_some()
        .then_some(announcement);
    // Oldest hour first, so the cool-down of a signal counts from its first alert.
    found.sort_by_key(|a| a.hour);
    for alert in found {
        if admitted(desk, &alert).await?
            && alerts::insert_alert(&desk.db, &alert, now, announce)
                .await?
                .is_some()
        {
            summary.raised += 1;
            tracing::info!(kind = alert.kind.as_str(), key = %alert.key, "{}", alert.explanation);
        } else {
            summary.held_back += 1;
        }
    }
    Ok(summary)
}

/// The outbox topic of alert announcements, which go to the alerts webhook.
pub const ALERT_TOPIC: &str = "alert";

/// What the alerts webhook is told of a new alert: enough to act on, in plain words.
pub fn announcement(id: i64, a: &NewAlert) -> serde_json::Value {
    serde_json::json!({
        "alert_id": id,
        "kind": a.kind,
        "key": a.key,
        "hour_start": detect::start_of(a.hour).and_utc().to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        "count": a.count,
        "expected": a.expected,
        "typical_low": a.typical_low,
        "typical_high": a.typical_high,
        "score": a.score,
        "explanation": a.explanation,
        "case_id": a.case_id,
        "text": format!("Warden alert: {}", a.explanation),
    })
}

async fn admitted(desk: &Desk, alert: &NewAlert) -> Result<bool> {
    let last = alerts::last_alert(&desk.db, alert.kind, &alert.key)
        .await?
        .map(|(at, score)| (at.naive_utc(), trends::surprise_of(score)));
    Ok(COOL_DOWN.admits(
        last,
        detect::start_of(alert.hour),
        trends::surprise_of(alert.score),
    ))
}

pub async fn list(desk: &Desk, actor: &Actor, include_acknowledged: bool) -> Result<Vec<Alert>> {
    actor.require(Permission::ReadCases)?;
    alerts::list_alerts(&desk.db, &actor.teams, include_acknowledged, 200).await
}

/// Acknowledges an alert with what came of it ("opened incident 12", "expected: a launch").
pub async fn acknowledge(desk: &Desk, actor: &Actor, id: i64, outcome: &str) -> Result<Alert> {
    actor.require(Permission::ManageCases)?;
    let outcome = outcome.trim();
    if outcome.is_empty() || outcome.chars().count() > MAX_OUTCOME {
        return Err(Error::Invalid(vec![FieldError::new(
            "outcome",
            format!("say what came of the alert, in 1 to {MAX_OUTCOME} characters"),
        )]));
    }
    if alerts::get_alert(&desk.db, id, &actor.teams)
        .await?
        .is_none()
    {
        return Err(Error::NotFound("alert"));
    }
    if !alerts::acknowledge(&desk.db, id, actor.user_id, outcome, desk.now()).await? {
        return Err(Error::Conflict("the alert is acknowledged already".into()));
    }
    alerts::get_alert(&desk.db, id, &actor.teams)
        .await?
        .ok_or(Error::NotFound("alert"))
}
