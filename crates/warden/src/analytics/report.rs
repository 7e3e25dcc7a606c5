//! `warden report weekly`: a self-contained HTML report of a week on the desk (volumes, SLA, top
//! policies and regions, alerts and what came of them) and a transparency summary of the week's
//! statements of reasons in the terms of a DSA transparency report (category, ground, automation,
//! restriction, source). Charts are drawn by the same vendored uPlot and `charts.js` as the
//! console, inlined, so the file opens anywhere without a network.
//!
//! The report is meant to travel: like `warden sql` without `--as`, its desk figures leave
//! restricted cases out. The transparency summary counts every statement, as only counts leave.

use std::collections::BTreeMap;

use askama::Template;
use chrono::{DateTime, NaiveDate, TimeDelta, Utc};
use transparency::Statement;

use super::charts::{Chart, ChartBlock, ChartKind, ChartSeries, series_charts};
use super::kpis::{Bucket, Dashboard, Dimension, FigureRow, GroupFigures, KpiQuery, dashboard_for};
use crate::desk::Desk;
use crate::domain::alert::Alert;
use crate::error::{Error, Result};

/// The seven days ending with `last_day` (inclusive), in UTC.
pub fn week_ending(last_day: NaiveDate) -> (DateTime<Utc>, DateTime<Utc>) {
    let to = (last_day + TimeDelta::days(1))
        .and_hms_opt(0, 0, 0)
        .unwrap_or_default()
        .and_utc();
    (to - TimeDelta::days(7), to)
}

/// One line of a breakdown: what, its API code where it has one, how many.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tally {
    pub label: String,
    pub code: String,
    pub count: u64,
}

/// The week's statements of reasons, counted as a DSA transparency report asks.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TransparencySummary {
    pub statements: u64,
    pub by_category: Vec<Tally>,
    pub by_ground: Vec<Tally>,
    /// Whether the content was detected by automated means.
    pub by_automated_detection: Vec<Tally>,
    pub by_automated_decision: Vec<Tally>,
    /// The restrictions imposed; one statement may impose several.
    pub by_restriction: Vec<Tally>,
    /// A notice (by whom) or the provider's own initiative.
    pub by_source: Vec<Tally>,
}

/// "STATEMENT_CATEGORY_SCAMS_AND_FRAUD" read as "Scams and fraud".
pub fn dsa_label(code: &str) -> String {
    const PREFIXES: &[&str] = &[
        "STATEMENT_CATEGORY_",
        "DECISION_GROUND_",
        "AUTOMATED_DECISION_",
        "DECISION_VISIBILITY_",
        "DECISION_MONETARY_",
        "DECISION_PROVISION_",
        "DECISION_ACCOUNT_",
        "SOURCE_TYPE_",
        "SOURCE_",
    ];
    let rest = PREFIXES
        .iter()
        .find_map(|p| code.strip_prefix(p))
        .unwrap_or(code);
    let words = rest
        .replace('_', " ")
        .to_lowercase()
        .replace("violation tc", "violation of the terms and conditions");
    let mut chars = words.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

fn tallies(counts: BTreeMap<&'static str, u64>) -> Vec<Tally> {
    let mut out: Vec<Tally> = counts
        .into_iter()
        .map(|(code, count)| Tally {
            label: dsa_label(code),
            code: code.to_string(),
            count,
        })
        .collect();
    out.sort_by(|a, b| b.count.cmp(&a.count).then(a.code.cmp(&b.code)));
    out
}

/// Counts statements by each of the report's breakdowns. Pure.
pub fn summarize(statements: &[Statement]) -> TransparencySummary {
    let mut category = BTreeMap::new();
    let mut ground = BTreeMap::new();
    let mut detection = BTreeMap::new();
    let mut decision = BTreeMap::new();
    let mut restriction = BTreeMap::new();
    let mut source = BTreeMap::new();
    for s in statements {
        *category.entry(s.category.as_str()).or_insert(0) += 1;
        *ground.entry(s.decision_ground.as_str()).or_insert(0) += 1;
        let detected = match s.automated_detection {
            transparency::YesNo::Yes => "Detected by automated means",
            transparency::YesNo::No => "Not detected by automated means",
        };
        *detection.entry(detected).or_insert(0) += 1;
        *decision.entry(s.automated_decision.as_str()).or_insert(0) += 1;
        for v in &s.decision_visibility {
            *restriction.entry(v.as_str()).or_insert(0) += 1;
        }
        for code in [
            s.decision_monetary.map(|m| m.as_str()),
            s.decision_provision.map(|p| p.as_str()),
            s.decision_account.map(|a| a.as_str()),
        ]
        .into_iter()
        .flatten()
        {
            *restriction.entry(code).or_insert(0) += 1;
        }
        *source.entry(s.source_type.as_str()).or_insert(0) += 1;
    }
    TransparencySummary {
        statements: statements.len() as u64,
        by_category: tallies(category),
        by_ground: tallies(ground),
        by_automated_detection: tallies(detection),
        by_automated_decision: tallies(decision),
        by_restriction: tallies(restriction),
        by_source: tallies(source),
    }
}

/// How many policies and regions the report lists.
pub const TOP: usize = 10;

pub struct Breakdown {
    pub heading: &'static str,
    pub rows: Vec<Tally>,
}

pub struct AlertLine {
    pub when: String,
    pub kind: &'static str,
    pub explanation: String,
    /// What came of it, or that nobody has said yet.
    pub outcome: String,
}

#[derive(Template)]
#[template(path = "weekly_report.html")]
pub struct WeeklyReport {
    pub title: String,
    pub generated: String,
    pub totals: FigureRow,
    pub policies: Vec<FigureRow>,
    pub regions: Vec<FigureRow>,
    pub charts: Vec<ChartBlock>,
    pub alerts: Vec<AlertLine>,
    pub alerts_open: usize,
    pub transparency: TransparencySummary,
    pub breakdowns: Vec<Breakdown>,
    pub uplot_css: &'static str,
    pub uplot_js: &'static str,
    pub charts_js: &'static str,
}

const UPLOT_CSS: &str = include_str!("../../static/uplot-1.6.32.min.css");
const UPLOT_JS: &str = include_str!("../../static/uplot-1.6.32.min.js");
const CHARTS_JS: &str = include_str!("../../static/charts.js");

/// Everything the report says, from what the database counted. Pure.
pub fn assemble(
    (from, to): (DateTime<Utc>, DateTime<Utc>),
    generated_at: DateTime<Utc>,
    by_policy: &Dashboard,
    by_region: &Dashboard,
    alerts: &[Alert],
    statements: &[Statement],
) -> WeeklyReport {
    // Totals and series are the same whatever the breakdown: the policy dashboard's serve.
    let mut charts: Vec<ChartBlock> = series_charts(by_policy)
        .iter()
        .map(ChartBlock::of)
        .collect();
    let top = |d: &Dashboard| -> Vec<GroupFigures> { d.groups.iter().take(TOP).cloned().collect() };
    let (policies, regions) = (top(by_policy), top(by_region));
    charts.push(ChartBlock::of(&Chart {
        id: "top-policies".into(),
        title: "Cases opened by policy".into(),
        kind: ChartKind::Bar,
        times: Vec::new(),
        labels: policies.iter().map(|g| g.key.clone()).collect(),
        unit: "cases".into(),
        series: vec![ChartSeries {
            label: "Opened".into(),
            values: policies.iter().map(|g| Some(g.intake as f64)).collect(),
        }],
    }));
    let transparency = summarize(statements);
    if !transparency.by_category.is_empty() {
        charts.push(ChartBlock::of(&Chart {
            id: "dsa-categories".into(),
            title: "Statements of reasons by DSA category".into(),
            kind: ChartKind::Bar,
            times: Vec::new(),
            labels: transparency
                .by_category
                .iter()
                .map(|t| t.label.clone())
                .collect(),
            unit: "statements".into(),
            series: vec![ChartSeries {
                label: "Statements".into(),
                values: transparency
                    .by_category
                    .iter()
                    .map(|t| Some(t.count as f64))
                    .collect(),
            }],
        }));
    }
    let last_day = (to - TimeDelta::days(1)).date_naive();
    WeeklyReport {
        title: format!(
            "Warden weekly report: {} to {}",
            from.format("%a %d %b %Y"),
            last_day.format("%a %d %b %Y")
        ),
        generated: generated_at.format("%d %b %Y %H:%M UTC").to_string(),
        totals: FigureRow::of(&by_policy.totals),
        policies: policies.iter().map(FigureRow::of).collect(),
        regions: regions.iter().map(FigureRow::of).collect(),
        charts,
        alerts_open: alerts.iter().filter(|a| a.outcome.is_none()).count(),
        alerts: alerts
            .iter()
            .map(|a| AlertLine {
                when: a.bucket_start.format("%a %d %b %H:%M").to_string(),
                kind: a.kind.as_str(),
                explanation: a.explanation.clone(),
                outcome: match (&a.outcome, &a.acknowledged_by) {
                    (Some(o), Some(by)) => format!("{o} ({by})"),
                    (Some(o), None) => o.clone(),
                    (None, _) => "not yet acknowledged".into(),
                },
            })
            .collect(),
        breakdowns: vec![
            Breakdown {
                heading: "By category",
                rows: transparency.by_category.clone(),
            },
            Breakdown {
                heading: "By ground",
                rows: transparency.by_ground.clone(),
            },
            Breakdown {
                heading: "By source of the information",
                rows: transparency.by_source.clone(),
            },
            Breakdown {
                heading: "Detection",
                rows: transparency.by_automated_detection.clone(),
            },
            Breakdown {
                heading: "Automation of the decision",
                rows: transparency.by_automated_decision.clone(),
            },
            Breakdown {
                heading: "Restrictions imposed",
                rows: transparency.by_restriction.clone(),
            },
        ],
        transparency,
        uplot_css: UPLOT_CSS,
        uplot_js: UPLOT_JS,
        charts_js: CHARTS_JS,
    }
}

/// The report of the week ending with `last_day`, as HTML.
pub async fn weekly(desk: &Desk, last_day: NaiveDate) -> Result<String> {
    let (from, to) = week_ending(last_day);
    let now = desk.now();
    let query = |by| KpiQuery::new(from, to, Bucket::Day, Some(by), now);
    // Nobody's teams: the report travels, restricted cases stay out of it.
    let teams: &[String] = &[];
    let by_policy = dashboard_for(desk, teams, &query(Dimension::Policy)).await?;
    let by_region = dashboard_for(desk, teams, &query(Dimension::Region)).await?;
    let alerts = crate::store::alerts::alerts_between(&desk.db, teams, from, to).await?;
    let statements = statements_applied(desk, from, to).await?;
    let report = assemble(
        (from, to),
        now,
        &by_policy,
        &by_region,
        &alerts,
        &statements,
    );
    report
        .render()
        .map_err(|e| Error::Internal(format!("the weekly report did not render: {e}")))
}

/// Statements of reasons whose decisions took effect from `from` to `to`.
async fn statements_applied(
    desk: &Desk,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> Result<Vec<Statement>> {
    const PAGE: i64 = 1000;
    let (first, last) = (from.date_naive(), to.date_naive());
    let mut out = Vec::new();
    let mut after = 0;
    loop {
        let page = crate::store::enforcement::statements_since(&desk.db, from, after, PAGE).await?;
        let Some((last_id, _)) = page.last() else {
            break;
        };
        after = *last_id;
        let full = page.len() as i64 == PAGE;
        out.extend(
            page.into_iter()
                .map(|(_, s)| s)
                .filter(|s| s.application_date >= first && s.application_date < last),
        );
        if !full {
            break;
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_week_is_the_seven_days_ending_with_the_day_named() {
        let (from, to) = week_ending("2026-11-29".parse().unwrap());
        assert_eq!(
            from,
            "2026-11-23T00:00:00Z".parse::<DateTime<Utc>>().unwrap()
        );
        assert_eq!(to, "2026-11-30T00:00:00Z".parse::<DateTime<Utc>>().unwrap());
    }

    #[test]
    fn dsa_codes_read_as_words() {
        assert_eq!(
            dsa_label("STATEMENT_CATEGORY_SCAMS_AND_FRAUD"),
            "Scams and fraud"
        );
        assert_eq!(
            dsa_label("DECISION_GROUND_INCOMPATIBLE_CONTENT"),
            "Incompatible content"
        );
        assert_eq!(dsa_label("SOURCE_TRUSTED_FLAGGER"), "Trusted flagger");
        assert_eq!(
            dsa_label("SOURCE_TYPE_OTHER_NOTIFICATION"),
            "Other notification"
        );
        assert_eq!(
            dsa_label("AUTOMATED_DECISION_NOT_AUTOMATED"),
            "Not automated"
        );
        assert_eq!(
            dsa_label("STATEMENT_CATEGORY_OTHER_VIOLATION_TC"),
            "Other violation of the terms and conditions"
        );
    }

    #[test]
    fn statements_are_counted_by_every_breakdown() {
        let base: Statement = serde_json::from_value(serde_json::json!({
            "decision_visibility": ["DECISION_VISIBILITY_CONTENT_REMOVED"],
            "decision_ground": "DECISION_GROUND_INCOMPATIBLE_CONTENT",
            "incompatible_content_ground": "Community standards: fraud and scams",
            "content_type": ["CONTENT_TYPE_TEXT"],
            "category": "STATEMENT_CATEGORY_SCAMS_AND_FRAUD",
            "content_date": "2026-11-20",
            "application_date": "2026-11-24",
            "decision_facts": "The post asks for transfers to a private wallet.",
            "source_type": "SOURCE_ARTICLE_16",
            "automated_detection": "No",
            "automated_decision": "AUTOMATED_DECISION_NOT_AUTOMATED",
            "puid": "warden-1"
        }))
        .unwrap();
        let mut other = base.clone();
        other.category = transparency::Category::Violence;
        other.automated_detection = transparency::YesNo::Yes;
        let s = summarize(&[base.clone(), base.clone(), other]);
        assert_eq!(s.statements, 3);
        assert_eq!(s.by_category[0].count, 2, "{:?}", s.by_category);
        assert_eq!(s.by_category[0].code, base.category.as_str());
        assert_eq!(s.by_category[1].label, "Violence");
        let detected: Vec<(&str, u64)> = s
            .by_automated_detection
            .iter()
            .map(|t| (t.label.as_str(), t.count))
            .collect();
        assert_eq!(
            detected,
            [
                ("Not detected by automated means", 2),
                ("Detected by automated means", 1)
            ]
        );
        assert_eq!(s.by_restriction.len(), 1);
        assert_eq!(s.by_restriction[0].label, "Content removed");
        assert_eq!(s.by_restriction[0].count, 3);
        assert_eq!(s.by_source[0].label, "Article 16");
        assert_eq!(s.by_ground[0].count, 3);
    }
}
