//! Alerts: a signal in the desk's own data (a spike of reports, a case reported by a crowd, a
//! term spreading) that someone should look at, and whether someone has.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum AlertKind {
    /// Reports on one policy from one region and source far above their usual for the hour.
    Volume,
    /// One case reported by far more distinct people in an hour than usual.
    MassReporting,
    /// A word or web host suddenly in many reports.
    EmergingTerm,
}

impl AlertKind {
    pub fn as_str(self) -> &'static str {
        match self {
            AlertKind::Volume => "volume",
            AlertKind::MassReporting => "mass_reporting",
            AlertKind::EmergingTerm => "emerging_term",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        [Self::Volume, Self::MassReporting, Self::EmergingTerm]
            .into_iter()
            .find(|k| k.as_str() == s)
    }
}

/// An alert as detected, before it is stored.
#[derive(Debug, Clone, PartialEq)]
pub struct NewAlert {
    pub kind: AlertKind,
    /// What it is about, in words: one alert per kind, key and hour.
    pub key: String,
    /// The hour it is about, in hours since the Unix epoch.
    pub hour: i64,
    pub count: f64,
    pub expected: f64,
    pub typical_low: Option<i64>,
    pub typical_high: Option<i64>,
    /// In [0, 1]: how unlikely the count is given the history (1 − its tail probability).
    pub score: f64,
    pub explanation: String,
    pub case_id: Option<i64>,
    /// Alerts about a restricted case are seen only by its team.
    pub restricted_team: Option<String>,
}

/// A stored alert.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Alert {
    pub id: i64,
    pub kind: AlertKind,
    pub key: String,
    /// Start of the hour the alert is about.
    pub bucket_start: DateTime<Utc>,
    pub count: f64,
    pub expected: f64,
    pub typical_low: Option<i64>,
    pub typical_high: Option<i64>,
    pub score: f64,
    /// In plain words, e.g. "reports on scams from DE (user): 412 in the last hour, typically
    /// 35–60 on a Monday at 14:00".
    pub explanation: String,
    pub case_id: Option<i64>,
    pub raised_at: DateTime<Utc>,
    pub acknowledged_by: Option<String>,
    pub acknowledged_at: Option<DateTime<Utc>>,
    /// What came of it, in the acknowledger's words.
    pub outcome: Option<String>,
}
