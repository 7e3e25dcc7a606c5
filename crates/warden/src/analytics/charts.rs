//! Charts as data: what to draw, for the console and the weekly report alike. The drawing is
//! uPlot's (vendored into the binary, `static/charts.js` turns a chart into a plot); here the
//! figures become the series and labels of each chart.

use serde::Serialize;

use super::kpis::{Bucket, Dashboard};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ChartKind {
    Line,
    Bar,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ChartSeries {
    pub label: String,
    pub values: Vec<Option<f64>>,
}

/// One chart. The x axis is either times (`times`, seconds since the Unix epoch) or categories
/// (`labels`), never both.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Chart {
    pub id: String,
    pub title: String,
    pub kind: ChartKind,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub times: Vec<i64>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub labels: Vec<String>,
    /// What the y axis counts.
    pub unit: String,
    pub series: Vec<ChartSeries>,
}

impl Chart {
    /// The chart as JSON for a `<script type="application/json">` block: `<` is escaped so no
    /// value can close the block.
    pub fn to_json(&self) -> String {
        serde_json::to_string(self)
            .unwrap_or_else(|_| "{}".into())
            .replace('<', "\\u003c")
    }
}

/// A chart as a page carries it: its id and title, and its JSON for the drawing script.
pub struct ChartBlock {
    pub id: String,
    pub title: String,
    pub json: String,
}

impl ChartBlock {
    pub fn of(c: &Chart) -> Self {
        Self {
            id: c.id.clone(),
            title: c.title.clone(),
            json: c.to_json(),
        }
    }
}

fn counts(values: &[u64]) -> Vec<Option<f64>> {
    values.iter().map(|v| Some(*v as f64)).collect()
}

/// The dashboard's charts: intake against closures, the backlog, and (when broken down) the
/// intake of the largest groups and each group's resolution SLA.
pub fn dashboard_charts(d: &Dashboard) -> Vec<Chart> {
    let mut charts = series_charts(d);
    charts.extend(group_charts(d));
    charts
}

/// The bucket starts of a dashboard in Unix seconds, and its bucket in words.
fn axis(d: &Dashboard) -> (Vec<i64>, &'static str) {
    let times = d.series.starts.iter().map(|t| t.timestamp()).collect();
    let per = match d.bucket {
        Bucket::Hour => "per hour",
        Bucket::Day => "per day",
    };
    (times, per)
}

/// The charts of the desk as a whole: intake against closures, and the backlog.
pub fn series_charts(d: &Dashboard) -> Vec<Chart> {
    let (times, per) = axis(d);
    vec![
        Chart {
            id: "intake-closures".into(),
            title: format!("Cases opened and closed {per}"),
            kind: ChartKind::Line,
            times: times.clone(),
            labels: Vec::new(),
            unit: "cases".into(),
            series: vec![
                ChartSeries {
                    label: "Opened".into(),
                    values: counts(&d.series.intake),
                },
                ChartSeries {
                    label: "Closed".into(),
                    values: counts(&d.series.closures),
                },
            ],
        },
        Chart {
            id: "backlog".into(),
            title: "Open cases (backlog) at the end of each bucket".into(),
            kind: ChartKind::Line,
            times: times.clone(),
            labels: Vec::new(),
            unit: "cases".into(),
            series: vec![ChartSeries {
                label: "Open".into(),
                values: counts(&d.series.backlog),
            }],
        },
    ]
}

/// The charts of a breakdown: the intake of the largest groups, and each group's resolution SLA.
fn group_charts(d: &Dashboard) -> Vec<Chart> {
    let (times, per) = axis(d);
    let mut charts = Vec::new();
    if let Some(by) = d.by
        && !d.series.intake_by_group.is_empty()
    {
        charts.push(Chart {
            id: "intake-by-group".into(),
            title: format!("Cases opened {per} by {}", by.as_str()),
            kind: ChartKind::Line,
            times,
            labels: Vec::new(),
            unit: "cases".into(),
            series: d
                .series
                .intake_by_group
                .iter()
                .map(|g| ChartSeries {
                    label: g.key.clone(),
                    values: counts(&g.values),
                })
                .collect(),
        });
        charts.push(Chart {
            id: "sla-by-group".into(),
            title: format!("Resolution SLA met by {}", by.as_str()),
            kind: ChartKind::Bar,
            times: Vec::new(),
            labels: d.groups.iter().map(|g| g.key.clone()).collect(),
            unit: "% met".into(),
            series: vec![ChartSeries {
                label: "Resolved in time".into(),
                values: d
                    .groups
                    .iter()
                    .map(|g| g.resolution_sla.rate.map(|r| (r * 1000.0).round() / 10.0))
                    .collect(),
            }],
        });
    }
    charts
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analytics::kpis::{Counts, Dimension, KpiQuery, assemble};

    #[test]
    fn a_dashboard_charts_its_series_and_groups() {
        let q = KpiQuery {
            from: "2026-05-01T00:00:00Z".parse().unwrap(),
            to: "2026-05-03T00:00:00Z".parse().unwrap(),
            bucket: Bucket::Day,
            by: Some(Dimension::Region),
            as_of: "2026-05-03T00:00:00Z".parse().unwrap(),
        };
        let counts = Counts {
            intake: vec![(0, "DE".into(), 2), (1, "FR".into(), 1)],
            closures: vec![(1, "DE".into(), 2, 1)],
            ..Counts::default()
        };
        let charts = dashboard_charts(&assemble(&q, &counts));
        let ids: Vec<&str> = charts.iter().map(|c| c.id.as_str()).collect();
        assert_eq!(
            ids,
            [
                "intake-closures",
                "backlog",
                "intake-by-group",
                "sla-by-group"
            ]
        );
        assert_eq!(charts[0].times, [1_777_593_600, 1_777_680_000]);
        assert_eq!(charts[0].series[1].values, [Some(0.0), Some(2.0)]);
        assert_eq!(charts[3].labels, ["DE", "FR"]);
        assert_eq!(charts[3].series[0].values, [Some(50.0), None]);
        assert!(charts[0].to_json().contains("\"kind\":\"line\""));
    }

    #[test]
    fn chart_json_cannot_close_its_script_block() {
        let chart = Chart {
            id: "x".into(),
            title: "</script><script>alert(1)</script>".into(),
            kind: ChartKind::Bar,
            times: Vec::new(),
            labels: vec!["a".into()],
            unit: String::new(),
            series: Vec::new(),
        };
        assert!(!chart.to_json().contains('<'));
    }
}
