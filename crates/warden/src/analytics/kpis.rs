//! The desk's key figures for a time range: intake and closures, the backlog and its age, time to
//! first response and to resolution (p50/p90), SLA compliance and the appeal overturn rate, in
//! total and by one dimension (queue, policy, source, region, language, priority or reviewer).
//!
//! The database counts (`store::kpis`); this module checks the request and turns the counts into
//! figures: percentiles from duration histograms, the backlog over time from the backlog at the
//! start plus intake minus closures. Restricted cases count only for their teams.

use std::collections::BTreeMap;

use chrono::{DateTime, Duration, DurationRound, TimeDelta, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::access::{Actor, Permission, Role, allows};
use crate::desk::Desk;
use crate::error::{Error, FieldError, Result};
use crate::store::kpis as store;

/// What figures may be broken down by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Dimension {
    Queue,
    /// The case's most severe policy area.
    Policy,
    /// The channel of the case's first report.
    Source,
    Region,
    Language,
    Priority,
    /// The reviewer holding the case or, once it is decided, the one who decided it last.
    Reviewer,
}

impl Dimension {
    pub const ALL: [Dimension; 7] = [
        Self::Queue,
        Self::Policy,
        Self::Source,
        Self::Region,
        Self::Language,
        Self::Priority,
        Self::Reviewer,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Queue => "queue",
            Self::Policy => "policy",
            Self::Source => "source",
            Self::Region => "region",
            Self::Language => "language",
            Self::Priority => "priority",
            Self::Reviewer => "reviewer",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|d| d.as_str() == s)
    }
}

/// The width of a point on the charts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Bucket {
    Hour,
    Day,
}

impl Bucket {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Hour => "hour",
            Self::Day => "day",
        }
    }

    pub fn length(self) -> TimeDelta {
        match self {
            Self::Hour => TimeDelta::hours(1),
            Self::Day => TimeDelta::days(1),
        }
    }

    /// The longest range shown at this width: enough points to read, few enough to draw.
    pub fn longest_range(self) -> TimeDelta {
        match self {
            Self::Hour => TimeDelta::days(31),
            Self::Day => TimeDelta::days(366),
        }
    }
}

/// A dashboard as asked for over HTTP or the console: everything optional.
#[derive(Debug, Clone, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct KpiRequest {
    /// Start of the range (RFC 3339); 7 days before `to` when absent.
    pub from: Option<String>,
    /// End of the range (RFC 3339, exclusive); now when absent.
    pub to: Option<String>,
    /// `hour` or `day`; hours for ranges up to two days, days beyond.
    pub bucket: Option<String>,
    /// A dimension to break the figures down by: queue, policy, source, region, language,
    /// priority or reviewer.
    pub by: Option<String>,
}

/// A checked request: the range is whole buckets, `from` before `to`, within the bucket's limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KpiQuery {
    pub from: DateTime<Utc>,
    pub to: DateTime<Utc>,
    pub bucket: Bucket,
    pub by: Option<Dimension>,
    /// The instant the backlog is taken at: the end of the range, or now if that is sooner.
    pub as_of: DateTime<Utc>,
}

impl KpiQuery {
    /// The query over `from`..`to`, its backlog taken at the end or at `now` if that is sooner.
    pub fn new(
        from: DateTime<Utc>,
        to: DateTime<Utc>,
        bucket: Bucket,
        by: Option<Dimension>,
        now: DateTime<Utc>,
    ) -> Self {
        Self {
            from,
            to,
            bucket,
            by,
            as_of: to.min(now).max(from),
        }
    }

    /// The bucket starts from `from` up to `to`.
    pub fn starts(&self) -> Vec<DateTime<Utc>> {
        let step = self.bucket.length();
        std::iter::successors(Some(self.from), |t| Some(*t + step))
            .take_while(|t| *t < self.to)
            .collect()
    }
}

/// The time `t` rounded down to a whole bucket.
fn floor_to(t: DateTime<Utc>, bucket: Bucket) -> DateTime<Utc> {
    t.duration_trunc(bucket.length()).unwrap_or(t)
}

/// The time `t` rounded up to a whole bucket.
fn ceil_to(t: DateTime<Utc>, bucket: Bucket) -> DateTime<Utc> {
    let floor = floor_to(t, bucket);
    if floor == t {
        t
    } else {
        floor + bucket.length()
    }
}

/// Checks a request against the clock: every field at fault is named, with why.
pub fn parse_request(r: &KpiRequest, now: DateTime<Utc>) -> Result<KpiQuery> {
    let mut errors = Vec::new();
    let mut time = |field: &str, value: &Option<String>| -> Option<DateTime<Utc>> {
        let v = value.as_deref()?.trim();
        match DateTime::parse_from_rfc3339(v) {
            Ok(t) => Some(t.with_timezone(&Utc)),
            Err(_) => {
                errors.push(FieldError::new(
                    field,
                    "must be an RFC 3339 time, e.g. 2026-05-04T00:00:00Z",
                ));
                None
            }
        }
    };
    let to_given = time("to", &r.to);
    let from_given = time("from", &r.from);
    let to = to_given.unwrap_or(now);
    let from = from_given.unwrap_or(to - TimeDelta::days(7));
    let bucket = match r.bucket.as_deref().map(str::trim) {
        None | Some("") => {
            if to - from <= TimeDelta::days(2) {
                Bucket::Hour
            } else {
                Bucket::Day
            }
        }
        Some("hour") => Bucket::Hour,
        Some("day") => Bucket::Day,
        Some(_) => {
            errors.push(FieldError::new("bucket", "must be hour or day"));
            Bucket::Day
        }
    };
    let by = match r.by.as_deref().map(str::trim) {
        None | Some("") => None,
        Some(s) => match Dimension::parse(s) {
            Some(d) => Some(d),
            None => {
                errors.push(FieldError::new(
                    "by",
                    "must be one of queue, policy, source, region, language, priority, reviewer",
                ));
                None
            }
        },
    };
    let (from, to) = (floor_to(from, bucket), ceil_to(to, bucket));
    if errors.is_empty() {
        if from >= to {
            errors.push(FieldError::new("from", "must be before to"));
        } else if to - from > bucket.longest_range() {
            errors.push(FieldError::new(
                "from",
                format!(
                    "the range may span at most {} days with {} buckets",
                    bucket.longest_range().num_days(),
                    bucket.as_str()
                ),
            ));
        }
    }
    if errors.is_empty() {
        Ok(KpiQuery::new(from, to, bucket, by, now))
    } else {
        Err(Error::Invalid(errors))
    }
}

// ---------------------------------------------------------------- durations

/// The resolution at which durations are counted: to the minute under two hours, to ten minutes
/// under a day, to the hour beyond. A percentile is the start of its step, so it is never
/// overstated by more than the step. `store::kpis` counts by the same steps in SQL.
pub fn duration_step(d: Duration) -> Duration {
    let ms = d.num_milliseconds().max(0);
    let step = DURATION_STEPS
        .iter()
        .find(|(under, _)| ms < *under)
        .map_or(3_600_000, |(_, step)| *step);
    Duration::milliseconds(ms / step * step)
}

/// (durations under this many ms, are counted in steps of this many ms), in order.
pub const DURATION_STEPS: [(i64, i64); 3] = [
    (2 * 3_600_000, 60_000),
    (86_400_000, 600_000),
    (i64::MAX, 3_600_000),
];

/// The `q`-th quantile (0 < q ≤ 1) of durations counted as (step start in ms, how many): the
/// smallest step at or under which at least `q` of them fall. `None` when there are none.
pub fn percentile(histogram: &[(i64, u64)], q: f64) -> Option<i64> {
    let total: u64 = histogram.iter().map(|(_, n)| n).sum();
    if total == 0 {
        return None;
    }
    let mut sorted: Vec<(i64, u64)> = histogram.to_vec();
    sorted.sort_unstable_by_key(|(d, _)| *d);
    let rank = ((q * total as f64).ceil() as u64).clamp(1, total);
    let mut seen = 0;
    for (d, n) in sorted {
        seen += n;
        if seen >= rank {
            return Some(d);
        }
    }
    None
}

/// Durations as reported: how many, their median and 90th percentile in minutes.
#[derive(Debug, Clone, Default, PartialEq, Serialize, ToSchema)]
pub struct Durations {
    pub count: u64,
    pub p50_minutes: Option<f64>,
    pub p90_minutes: Option<f64>,
}

impl Durations {
    pub fn of(histogram: &[(i64, u64)]) -> Self {
        let minutes = |q| percentile(histogram, q).map(|ms| ms as f64 / 60_000.0);
        Self {
            count: histogram.iter().map(|(_, n)| n).sum(),
            p50_minutes: minutes(0.5),
            p90_minutes: minutes(0.9),
        }
    }
}

/// Deadlines that fell due: how many were met, and the share met.
#[derive(Debug, Clone, Default, PartialEq, Serialize, ToSchema)]
pub struct Compliance {
    /// Cases whose clock ran out or stopped in the range.
    pub counted: u64,
    pub met: u64,
    /// met / counted; none when nothing was counted.
    pub rate: Option<f64>,
}

impl Compliance {
    pub fn of(counted: u64, breached: u64) -> Self {
        let met = counted.saturating_sub(breached);
        Self {
            counted,
            met,
            rate: (counted > 0).then(|| met as f64 / counted as f64),
        }
    }
}

/// A duration in minutes as people read it: "45 min", "3 h 20 min", "2 d 4 h"; "–" for none.
pub fn duration_text(minutes: Option<f64>) -> String {
    let Some(m) = minutes else {
        return "–".into();
    };
    let m = m.max(0.0).round() as i64;
    match m {
        0..60 => format!("{m} min"),
        60..1440 if m % 60 == 0 => format!("{} h", m / 60),
        60..1440 => format!("{} h {} min", m / 60, m % 60),
        _ if m % 1440 / 60 == 0 => format!("{} d", m / 1440),
        _ => format!("{} d {} h", m / 1440, m % 1440 / 60),
    }
}

/// A share as a percentage to one decimal, "–" for none.
pub fn share_text(rate: Option<f64>) -> String {
    rate.map_or_else(|| "–".into(), |r| format!("{:.1}%", r * 100.0))
}

// ---------------------------------------------------------------- the dashboard

/// The figures of one group (or of all cases).
#[derive(Debug, Clone, Default, PartialEq, Serialize, ToSchema)]
pub struct GroupFigures {
    /// The group's value ("(not set)" where the case has none); "all" for the totals.
    pub key: String,
    /// Cases opened in the range.
    pub intake: u64,
    /// Reports received in the range (on cases of this group).
    pub reports: u64,
    /// Cases closed in the range.
    pub closures: u64,
    /// Cases open at the end of the range (or now, for a range not over yet).
    pub backlog: u64,
    /// How long those cases had been open by then, in hours.
    pub backlog_age_p50_hours: Option<f64>,
    pub backlog_age_p90_hours: Option<f64>,
    pub backlog_oldest_hours: Option<f64>,
    /// Of cases first responded to in the range.
    pub time_to_first_response: Durations,
    /// Of cases closed in the range.
    pub time_to_resolution: Durations,
    /// First responses in the range, and whether they came in time.
    pub first_response_sla: Compliance,
    /// Closures in the range, and whether they came in time.
    pub resolution_sla: Compliance,
    /// Appeals decided in the range.
    pub appeals_decided: u64,
    /// Of them, those that overturned the decision or replaced it with another.
    pub appeals_overturned: u64,
    /// overturned / decided; none when none were decided.
    pub appeal_overturn_rate: Option<f64>,
}

/// The figures over time, a value per bucket.
#[derive(Debug, Clone, Default, PartialEq, Serialize, ToSchema)]
pub struct Series {
    /// The start of each bucket.
    pub starts: Vec<DateTime<Utc>>,
    pub intake: Vec<u64>,
    pub closures: Vec<u64>,
    /// Cases open at the end of each bucket (buckets still to come repeat the backlog of now).
    pub backlog: Vec<u64>,
    /// Intake of the largest groups, when broken down.
    pub intake_by_group: Vec<GroupSeries>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, ToSchema)]
pub struct GroupSeries {
    pub key: String,
    pub values: Vec<u64>,
}

#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct Dashboard {
    pub from: DateTime<Utc>,
    pub to: DateTime<Utc>,
    pub bucket: Bucket,
    pub by: Option<Dimension>,
    pub totals: GroupFigures,
    /// One row per group, most intake first; empty when not broken down.
    pub groups: Vec<GroupFigures>,
    pub series: Series,
}

/// A group's figures as people read them, for the console's table and the weekly report.
pub struct FigureRow {
    pub key: String,
    pub intake: u64,
    pub reports: u64,
    pub closures: u64,
    pub backlog: u64,
    pub backlog_age: String,
    pub first_response: String,
    pub resolution: String,
    pub first_response_sla: String,
    pub resolution_sla: String,
    pub overturns: String,
}

impl FigureRow {
    pub fn of(g: &GroupFigures) -> Self {
        let hours = |h: Option<f64>| duration_text(h.map(|h| h * 60.0));
        let pair = |d: &Durations| {
            format!(
                "{} / {}",
                duration_text(d.p50_minutes),
                duration_text(d.p90_minutes)
            )
        };
        Self {
            key: g.key.clone(),
            intake: g.intake,
            reports: g.reports,
            closures: g.closures,
            backlog: g.backlog,
            backlog_age: format!(
                "{} / {}",
                hours(g.backlog_age_p50_hours),
                hours(g.backlog_oldest_hours)
            ),
            first_response: pair(&g.time_to_first_response),
            resolution: pair(&g.time_to_resolution),
            first_response_sla: share_text(g.first_response_sla.rate),
            resolution_sla: share_text(g.resolution_sla.rate),
            overturns: if g.appeals_decided == 0 {
                "–".into()
            } else {
                format!(
                    "{} ({} of {})",
                    share_text(g.appeal_overturn_rate),
                    g.appeals_overturned,
                    g.appeals_decided
                )
            },
        }
    }
}

/// How many groups get a line of their own on the intake chart.
pub const CHARTED_GROUPS: usize = 8;

/// What the database counted for a dashboard: rows keyed by group ("" when not broken down).
#[derive(Debug, Clone, Default)]
pub struct Counts {
    /// (bucket index, group, cases opened)
    pub intake: Vec<(usize, String, u64)>,
    /// (bucket index, group, cases closed, of them past the resolution deadline)
    pub closures: Vec<(usize, String, u64, u64)>,
    /// (group, reports received)
    pub reports: Vec<(String, u64)>,
    /// (group, cases open at the start of the range)
    pub open_at_start: Vec<(String, u64)>,
    /// (group, age step start in ms, cases open at `as_of`)
    pub open_at_end: Vec<(String, i64, u64)>,
    /// (group, duration step in ms, count, of them past the first-response deadline)
    pub first_responses: Vec<(String, i64, u64, u64)>,
    /// (group, duration step in ms, count)
    pub resolutions: Vec<(String, i64, u64)>,
    /// (group, appeals decided, of them overturned)
    pub appeals: Vec<(String, u64, u64)>,
}

/// The group key as shown.
pub const NOT_SET: &str = "(not set)";

#[derive(Default)]
struct Tally {
    intake: u64,
    reports: u64,
    closures: u64,
    closed_late: u64,
    backlog_ages: Vec<(i64, u64)>,
    first_responses: Vec<(i64, u64)>,
    first_responses_late: u64,
    resolutions: Vec<(i64, u64)>,
    appeals_decided: u64,
    appeals_overturned: u64,
}

impl Tally {
    fn figures(&self, key: String) -> GroupFigures {
        let hours = |q| percentile(&self.backlog_ages, q).map(|ms| ms as f64 / 3_600_000.0);
        let oldest = self
            .backlog_ages
            .iter()
            .filter(|(_, n)| *n > 0)
            .map(|(d, _)| *d)
            .max();
        GroupFigures {
            key,
            intake: self.intake,
            reports: self.reports,
            closures: self.closures,
            backlog: self.backlog_ages.iter().map(|(_, n)| n).sum(),
            backlog_age_p50_hours: hours(0.5),
            backlog_age_p90_hours: hours(0.9),
            backlog_oldest_hours: oldest.map(|ms| ms as f64 / 3_600_000.0),
            time_to_first_response: Durations::of(&self.first_responses),
            time_to_resolution: Durations::of(&self.resolutions),
            first_response_sla: Compliance::of(
                self.first_responses.iter().map(|(_, n)| n).sum(),
                self.first_responses_late,
            ),
            resolution_sla: Compliance::of(self.closures, self.closed_late),
            appeals_decided: self.appeals_decided,
            appeals_overturned: self.appeals_overturned,
            appeal_overturn_rate: (self.appeals_decided > 0)
                .then(|| self.appeals_overturned as f64 / self.appeals_decided as f64),
        }
    }
}

/// Turns the counts into the dashboard. Pure.
pub fn assemble(q: &KpiQuery, counts: &Counts) -> Dashboard {
    let starts = q.starts();
    let n = starts.len();
    let mut groups: BTreeMap<String, Tally> = BTreeMap::new();
    let mut all = Tally::default();
    let mut intake = vec![0u64; n];
    let mut closures = vec![0u64; n];
    let mut intake_by_group: BTreeMap<String, Vec<u64>> = BTreeMap::new();
    let key = |g: &str| {
        if g.is_empty() {
            NOT_SET.to_string()
        } else {
            g.to_string()
        }
    };
    for (i, g, c) in &counts.intake {
        let t = groups.entry(key(g)).or_default();
        t.intake += c;
        all.intake += c;
        if let Some(slot) = intake.get_mut(*i) {
            *slot += c;
            intake_by_group.entry(key(g)).or_insert_with(|| vec![0; n])[*i] += c;
        }
    }
    for (i, g, c, late) in &counts.closures {
        let t = groups.entry(key(g)).or_default();
        t.closures += c;
        t.closed_late += late;
        all.closures += c;
        all.closed_late += late;
        if let Some(slot) = closures.get_mut(*i) {
            *slot += c;
        }
    }
    for (g, c) in &counts.reports {
        groups.entry(key(g)).or_default().reports += c;
        all.reports += c;
    }
    for (g, age, c) in &counts.open_at_end {
        groups
            .entry(key(g))
            .or_default()
            .backlog_ages
            .push((*age, *c));
        all.backlog_ages.push((*age, *c));
    }
    for (g, d, c, late) in &counts.first_responses {
        let t = groups.entry(key(g)).or_default();
        t.first_responses.push((*d, *c));
        t.first_responses_late += late;
        all.first_responses.push((*d, *c));
        all.first_responses_late += late;
    }
    for (g, d, c) in &counts.resolutions {
        groups.entry(key(g)).or_default().resolutions.push((*d, *c));
        all.resolutions.push((*d, *c));
    }
    for (g, decided, overturned) in &counts.appeals {
        let t = groups.entry(key(g)).or_default();
        t.appeals_decided += decided;
        t.appeals_overturned += overturned;
        all.appeals_decided += decided;
        all.appeals_overturned += overturned;
    }
    // Backlog after each bucket: what was open at the start, plus what came in, less what left.
    let mut open = counts.open_at_start.iter().map(|(_, c)| *c).sum::<u64>() as i64;
    let backlog = intake
        .iter()
        .zip(&closures)
        .map(|(i, c)| {
            open += *i as i64 - *c as i64;
            open.max(0) as u64
        })
        .collect();
    let mut rows: Vec<GroupFigures> = if q.by.is_some() {
        groups.iter().map(|(k, t)| t.figures(k.clone())).collect()
    } else {
        Vec::new()
    };
    rows.sort_by(|a, b| {
        (b.intake, b.backlog)
            .cmp(&(a.intake, a.backlog))
            .then(a.key.cmp(&b.key))
    });
    let intake_by_group = if q.by.is_some() {
        rows.iter()
            .filter(|r| r.intake > 0)
            .take(CHARTED_GROUPS)
            .filter_map(|r| {
                intake_by_group.get(&r.key).map(|v| GroupSeries {
                    key: r.key.clone(),
                    values: v.clone(),
                })
            })
            .collect()
    } else {
        Vec::new()
    };
    Dashboard {
        from: q.from,
        to: q.to,
        bucket: q.bucket,
        by: q.by,
        totals: all.figures("all".into()),
        groups: rows,
        series: Series {
            starts,
            intake,
            closures,
            backlog,
            intake_by_group,
        },
    }
}

/// Whether `role` may see the figures broken down by `by`: figures by reviewer are for those
/// who manage or study the desk's work.
pub fn may_break_down(role: Role, by: Dimension) -> bool {
    by != Dimension::Reviewer
        || allows(role, Permission::ManageCases)
        || allows(role, Permission::RunAnalytics)
}

/// The dashboard `actor` may see: restricted cases count only for their teams.
pub async fn dashboard(desk: &Desk, actor: &Actor, request: &KpiRequest) -> Result<Dashboard> {
    actor.require(Permission::ReadCases)?;
    let q = parse_request(request, desk.now())?;
    if q.by.is_some_and(|by| !may_break_down(actor.role, by)) {
        return Err(Error::Forbidden(
            "figures by reviewer are for leads, QA and analysts".into(),
        ));
    }
    dashboard_for(desk, &actor.teams, &q).await
}

/// The dashboard over the cases these teams may see, for a checked query (also the weekly report).
pub async fn dashboard_for(desk: &Desk, teams: &[String], q: &KpiQuery) -> Result<Dashboard> {
    let counts = store::counts(&desk.db, teams, q).await?;
    Ok(assemble(q, &counts))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> DateTime<Utc> {
        s.parse().unwrap()
    }

    fn request(from: &str, to: &str, bucket: &str, by: &str) -> KpiRequest {
        let some = |s: &str| (!s.is_empty()).then(|| s.to_string());
        KpiRequest {
            from: some(from),
            to: some(to),
            bucket: some(bucket),
            by: some(by),
        }
    }

    fn fields(e: Error) -> Vec<String> {
        match e {
            Error::Invalid(errors) => errors.into_iter().map(|e| e.field).collect(),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn an_empty_request_is_the_last_seven_days_by_day() {
        let now = at("2026-05-04T09:30:00Z");
        let q = parse_request(&KpiRequest::default(), now).unwrap();
        assert_eq!(q.bucket, Bucket::Day);
        assert_eq!(q.from, at("2026-04-27T00:00:00Z"));
        assert_eq!(q.to, at("2026-05-05T00:00:00Z"), "the current day is whole");
        assert_eq!(q.starts().len(), 8);
        assert_eq!(q.by, None);
    }

    #[test]
    fn short_ranges_are_shown_by_hour_and_rounded_out_to_whole_hours() {
        let now = at("2026-05-04T09:30:00Z");
        let q = parse_request(&request("2026-05-03T10:15:00Z", "", "", "queue"), now).unwrap();
        assert_eq!(q.bucket, Bucket::Hour);
        assert_eq!(q.from, at("2026-05-03T10:00:00Z"));
        assert_eq!(q.to, at("2026-05-04T10:00:00Z"));
        assert_eq!(q.starts().len(), 24);
        assert_eq!(q.by, Some(Dimension::Queue));
    }

    #[test]
    fn bad_requests_name_each_field() {
        let now = at("2026-05-04T09:30:00Z");
        let e = parse_request(&request("yesterday", "", "week", "colour"), now).unwrap_err();
        assert_eq!(fields(e), ["from", "bucket", "by"]);
        let e = parse_request(
            &request("2026-05-04T00:00:00Z", "2026-05-01T00:00:00Z", "day", ""),
            now,
        )
        .unwrap_err();
        assert_eq!(fields(e), ["from"]);
        let e = parse_request(
            &request("2026-01-01T00:00:00Z", "2026-05-01T00:00:00Z", "hour", ""),
            now,
        )
        .unwrap_err();
        assert!(
            e.to_string().contains("invalid") && fields(e) == ["from"],
            "too many hours"
        );
    }

    #[test]
    fn durations_are_counted_in_coarser_steps_as_they_grow() {
        let m = |ms: i64| duration_step(Duration::milliseconds(ms)).num_milliseconds();
        assert_eq!(m(59_999), 0);
        assert_eq!(m(61_000), 60_000);
        assert_eq!(m(2 * 3_600_000 + 599_999), 2 * 3_600_000);
        assert_eq!(m(2 * 3_600_000 + 600_001), 2 * 3_600_000 + 600_000);
        assert_eq!(m(30 * 3_600_000 + 1), 30 * 3_600_000);
        assert_eq!(m(-5), 0, "a clock skew is no time at all");
    }

    #[test]
    fn percentiles_are_the_smallest_step_reaching_the_share() {
        let h = [(60_000, 5), (0, 4), (120_000, 1)];
        assert_eq!(percentile(&h, 0.5), Some(60_000));
        assert_eq!(percentile(&h, 0.4), Some(0));
        assert_eq!(percentile(&h, 0.9), Some(60_000));
        assert_eq!(percentile(&h, 0.91), Some(120_000));
        assert_eq!(percentile(&h, 1.0), Some(120_000));
        assert_eq!(percentile(&[], 0.5), None);
        assert_eq!(percentile(&[(5, 0)], 0.5), None);
        let d = Durations::of(&h);
        assert_eq!(d.count, 10);
        assert_eq!(d.p50_minutes, Some(1.0));
    }

    #[test]
    fn durations_and_shares_read_as_people_write_them() {
        assert_eq!(duration_text(None), "–");
        assert_eq!(duration_text(Some(0.4)), "0 min");
        assert_eq!(duration_text(Some(45.0)), "45 min");
        assert_eq!(duration_text(Some(120.0)), "2 h");
        assert_eq!(duration_text(Some(200.0)), "3 h 20 min");
        assert_eq!(duration_text(Some(2.0 * 1440.0)), "2 d");
        assert_eq!(duration_text(Some(2.0 * 1440.0 + 250.0)), "2 d 4 h");
        assert_eq!(share_text(Some(0.9234)), "92.3%");
        assert_eq!(share_text(None), "–");
    }

    #[test]
    fn compliance_is_the_share_met_and_absent_when_nothing_fell_due() {
        assert_eq!(Compliance::of(10, 3).rate, Some(0.7));
        assert_eq!(Compliance::of(10, 3).met, 7);
        assert_eq!(Compliance::of(0, 0).rate, None);
    }

    #[test]
    fn the_dashboard_adds_up_groups_series_and_backlog() {
        let q = KpiQuery {
            from: at("2026-05-01T00:00:00Z"),
            to: at("2026-05-04T00:00:00Z"),
            bucket: Bucket::Day,
            by: Some(Dimension::Queue),
            as_of: at("2026-05-04T00:00:00Z"),
        };
        let counts = Counts {
            intake: vec![
                (0, "general".into(), 3),
                (1, "general".into(), 1),
                (2, "".into(), 2),
                (1, "ads".into(), 4),
            ],
            closures: vec![(1, "general".into(), 2, 1), (2, "ads".into(), 1, 0)],
            reports: vec![("general".into(), 9), ("ads".into(), 4)],
            open_at_start: vec![("general".into(), 5)],
            open_at_end: vec![
                ("general".into(), 3_600_000, 2),
                ("general".into(), 72 * 3_600_000, 5),
                ("ads".into(), 7_200_000, 3),
            ],
            first_responses: vec![("general".into(), 600_000, 4, 1)],
            resolutions: vec![
                ("general".into(), 86_400_000, 2),
                ("ads".into(), 3_600_000, 1),
            ],
            appeals: vec![("general".into(), 4, 1)],
        };
        let d = assemble(&q, &counts);
        assert_eq!(d.series.intake, [3, 5, 2]);
        assert_eq!(d.series.closures, [0, 2, 1]);
        assert_eq!(d.series.backlog, [8, 11, 12], "5 open, +3, +5−2, +2−1");
        assert_eq!(d.totals.intake, 10);
        assert_eq!(d.totals.closures, 3);
        assert_eq!(d.totals.backlog, 10);
        assert_eq!(d.totals.resolution_sla.rate, Some(2.0 / 3.0));
        assert_eq!(d.totals.first_response_sla.rate, Some(0.75));
        assert_eq!(d.totals.appeal_overturn_rate, Some(0.25));
        assert_eq!(d.totals.time_to_resolution.p50_minutes, Some(24.0 * 60.0));
        let keys: Vec<&str> = d.groups.iter().map(|g| g.key.as_str()).collect();
        assert_eq!(keys, ["general", "ads", NOT_SET], "most intake first");
        let general = &d.groups[0];
        assert_eq!(general.backlog, 7);
        assert_eq!(general.backlog_oldest_hours, Some(72.0));
        assert_eq!(general.backlog_age_p50_hours, Some(72.0));
        assert_eq!(general.reports, 9);
        assert_eq!(d.series.intake_by_group[0].key, "general");
        assert_eq!(d.series.intake_by_group[0].values, [3, 1, 0]);
        assert_eq!(d.series.intake_by_group.len(), 3);
    }

    #[test]
    fn without_a_breakdown_there_are_only_totals() {
        let q = KpiQuery {
            from: at("2026-05-01T00:00:00Z"),
            to: at("2026-05-02T00:00:00Z"),
            bucket: Bucket::Day,
            by: None,
            as_of: at("2026-05-02T00:00:00Z"),
        };
        let counts = Counts {
            intake: vec![(0, String::new(), 3)],
            ..Counts::default()
        };
        let d = assemble(&q, &counts);
        assert!(d.groups.is_empty() && d.series.intake_by_group.is_empty());
        assert_eq!(d.totals.key, "all");
        assert_eq!(d.totals.intake, 3);
        assert_eq!(d.totals.time_to_first_response.p50_minutes, None);
    }
}
