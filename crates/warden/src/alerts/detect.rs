//! From hourly counts to alerts: plain functions over plain rows. The statistics are the trends
//! crate's; what is counted, how it is labelled and explained is the desk's.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use chrono::{DateTime, NaiveDateTime, TimeDelta, Utc};
use trends::{EmergingTerms, EmergingTermsConfig, KeyedDetectors, RisingTerm};

use crate::domain::alert::{AlertKind, NewAlert};

/// Alerts are counted in hours: long enough for a low-volume policy to show a shape, short
/// enough to see a campaign within the hour it starts.
pub const BUCKET: TimeDelta = TimeDelta::hours(1);
pub const BUCKET_MILLIS: i64 = 3_600_000;

/// At most this many series (policy × region × source) are followed at once.
const VOLUME_SERIES: usize = 20_000;

/// Reports received in one hour for one policy, region and source. The names are shared between
/// the rows of a series (weeks of hours are many rows with few names).
#[derive(Debug, Clone, PartialEq)]
pub struct VolumeCount {
    /// Hours since the Unix epoch.
    pub hour: i64,
    pub policy: Arc<str>,
    pub region: Option<Arc<str>>,
    pub source: Arc<str>,
    pub reports: u64,
}

/// Distinct reporters of one case in one hour.
#[derive(Debug, Clone, PartialEq)]
pub struct ReporterCount {
    pub hour: i64,
    pub case_id: i64,
    pub restricted_team: Option<String>,
    pub reporters: u32,
}

/// The words of one report (its own text and the reported content's), in its hour.
#[derive(Debug, Clone, PartialEq)]
pub struct ReportText {
    pub hour: i64,
    pub text: String,
}

pub fn hour_of(at: DateTime<Utc>) -> i64 {
    at.timestamp_millis().div_euclid(BUCKET_MILLIS)
}

/// The start of an hour counted since the Unix epoch.
pub fn start_of(hour: i64) -> NaiveDateTime {
    DateTime::from_timestamp_millis(hour * BUCKET_MILLIS)
        .unwrap_or_default()
        .naive_utc()
}

type VolumeKey = (Arc<str>, Option<Arc<str>>, Arc<str>);

fn volume_label((policy, region, source): &VolumeKey) -> String {
    let region = region.as_deref().unwrap_or("no region");
    format!("reports on {policy} from {region} ({source})")
}

/// Replays hours `hours` of volume through one detector per series and returns the alerts of
/// the hours from `alert_from` on. Hours without a row count as zero for the series seen before.
pub fn volume_alerts(
    counts: &[VolumeCount],
    hours: std::ops::Range<i64>,
    alert_from: i64,
) -> Vec<NewAlert> {
    let mut by_hour: BTreeMap<i64, Vec<(VolumeKey, f64)>> = BTreeMap::new();
    for c in counts {
        by_hour.entry(c.hour).or_default().push((
            (c.policy.clone(), c.region.clone(), c.source.clone()),
            c.reports as f64,
        ));
    }
    let config = trends::DetectorConfig {
        bucket: Some(BUCKET),
        ..Default::default()
    };
    let mut detectors = KeyedDetectors::new(config, VOLUME_SERIES);
    let mut alerts = Vec::new();
    for hour in hours {
        let at = start_of(hour);
        let bucket = by_hour.remove(&hour).unwrap_or_default();
        // Hours come in order, so a refusal cannot happen; an hour refused is an hour skipped.
        let Ok(observations) = detectors.observe_bucket(at, bucket) else {
            continue;
        };
        if hour < alert_from {
            continue;
        }
        for (key, o) in observations.into_iter().filter(|(_, o)| o.flag) {
            let label = volume_label(&key);
            alerts.push(NewAlert {
                kind: AlertKind::Volume,
                key: label.clone(),
                hour,
                count: o.count,
                expected: o.expected,
                typical_low: Some(o.typical_low as i64),
                typical_high: Some(o.typical_high as i64),
                score: o.score,
                explanation: trends::explain(&label, at, BUCKET, &o),
                case_id: None,
                restricted_team: None,
            });
        }
    }
    alerts
}

/// Fewer distinct people than this reporting a case in an hour is never mass reporting.
pub const MIN_REPORTERS: u32 = 10;

/// The tracker for mass reporting: a case is "rising" when far more people report it in an hour
/// than its share of the desk's reporters so far would suggest.
fn reporters_config() -> EmergingTermsConfig {
    EmergingTermsConfig {
        min_texts: MIN_REPORTERS,
        warm_up_buckets: 0,
        ..Default::default()
    }
}

/// Cases reported by many distinct people at once (brigading, or a real emergency), hour by
/// hour over `hours`, alerting from `alert_from`. `counts` need only hold the cases that could
/// alert (those with [`MIN_REPORTERS`] in an hour from `alert_from`); `reports_per_hour` is the
/// desk's whole intake per hour, the measure of each case's share.
pub fn mass_reporting_alerts(
    counts: &[ReporterCount],
    reports_per_hour: &BTreeMap<i64, u64>,
    hours: std::ops::Range<i64>,
    alert_from: i64,
) -> Vec<NewAlert> {
    let mut by_hour: BTreeMap<i64, Vec<&ReporterCount>> = BTreeMap::new();
    for c in counts {
        by_hour.entry(c.hour).or_default().push(c);
    }
    let mut tracker = EmergingTerms::new(reporters_config());
    let mut alerts = Vec::new();
    for hour in hours {
        let rows = by_hour.remove(&hour).unwrap_or_default();
        let of_cases: u32 = rows.iter().map(|r| r.reporters).sum();
        let all = reports_per_hour.get(&hour).copied().unwrap_or(0);
        let total = of_cases.max(u32::try_from(all).unwrap_or(u32::MAX));
        let counts: HashMap<String, u32> = rows
            .iter()
            .map(|r| (r.case_id.to_string(), r.reporters))
            .collect();
        let rising = tracker.observe_counts(counts, total);
        if hour < alert_from {
            continue;
        }
        for r in rising {
            let Some(row) = rows.iter().find(|c| c.case_id.to_string() == r.term) else {
                continue;
            };
            let explanation = format!(
                "case {}: reported by {} people {}, typically {}",
                row.case_id,
                r.texts,
                trends::bucket_wording(BUCKET),
                typically(&r)
            );
            alerts.push(rising_alert(
                AlertKind::MassReporting,
                format!("case {}", row.case_id),
                hour,
                &r,
                explanation,
                Some(row.case_id),
                row.restricted_team.clone(),
            ));
        }
    }
    alerts
}

/// Words and web hosts newly rising in report text.
pub fn emerging_term_alerts(
    texts: &[ReportText],
    hours: std::ops::Range<i64>,
    alert_from: i64,
) -> Vec<NewAlert> {
    let mut by_hour: BTreeMap<i64, Vec<&str>> = BTreeMap::new();
    for t in texts {
        by_hour.entry(t.hour).or_default().push(&t.text);
    }
    let mut tracker = EmergingTerms::new(EmergingTermsConfig::default());
    let mut alerts = Vec::new();
    // The tracker's warm-up counts hours with reports: a desk's first day of words is its
    // vocabulary, not a trend, however long the desk stood empty before.
    let first = by_hour.keys().next().copied().unwrap_or(hours.end);
    for hour in hours.start.max(first)..hours.end {
        let texts = by_hour.remove(&hour).unwrap_or_default();
        let groups = tracker.observe_texts_grouped(texts);
        if hour < alert_from {
            continue;
        }
        // One alert per trend: a campaign's link, wording and currency rise together.
        for g in groups {
            let r = &g.lead;
            let with = match g.with.len() {
                0 => String::new(),
                n => {
                    let shown: Vec<String> = g
                        .with
                        .iter()
                        .take(SHOWN_COMPANIONS)
                        .map(|t| format!("\u{201c}{t}\u{201d}"))
                        .collect();
                    let more = n.saturating_sub(SHOWN_COMPANIONS);
                    if more > 0 {
                        format!(" (with {} and {more} more)", shown.join(", "))
                    } else {
                        format!(" (with {})", shown.join(", "))
                    }
                }
            };
            let explanation = format!(
                "\u{201c}{}\u{201d}{with} in {} reports {}, typically {}",
                r.term,
                r.texts,
                trends::bucket_wording(BUCKET),
                typically(r)
            );
            alerts.push(rising_alert(
                AlertKind::EmergingTerm,
                r.term.clone(),
                hour,
                r,
                explanation,
                None,
                None,
            ));
        }
    }
    alerts
}

/// Terms named beside the lead of a rising group; the rest are counted.
const SHOWN_COMPANIONS: usize = 4;

fn typically(r: &RisingTerm) -> String {
    if r.new {
        "never seen before".to_string()
    } else if r.expected < 1.0 {
        "fewer than one".to_string()
    } else {
        format!("about {:.0}", r.expected)
    }
}

fn rising_alert(
    kind: AlertKind,
    key: String,
    hour: i64,
    r: &RisingTerm,
    explanation: String,
    case_id: Option<i64>,
    restricted_team: Option<String>,
) -> NewAlert {
    NewAlert {
        kind,
        key,
        hour,
        count: f64::from(r.texts),
        expected: r.expected,
        typical_low: None,
        typical_high: None,
        score: r.score,
        explanation,
        case_id,
        restricted_team,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Four weeks of hourly scam reports from DE with a daily rhythm, the last hour at ten times.
    fn weeks_with_a_spike(spike: bool) -> (Vec<VolumeCount>, i64) {
        let first = 490_000;
        let hours: i64 = 24 * 28;
        let mut counts = Vec::new();
        for h in 0..hours {
            let usual = 40 + ((h % 24) - 12).abs() * 2 + (h * 7919 % 5);
            let last = h == hours - 1;
            counts.push(VolumeCount {
                hour: first + h,
                policy: "scams".into(),
                region: Some("DE".into()),
                source: "user".into(),
                reports: (if last && spike { usual * 10 } else { usual }) as u64,
            });
        }
        (counts, first + hours - 1)
    }

    #[test]
    fn a_planted_hour_of_ten_times_the_usual_volume_alerts_with_an_explanation() {
        let (counts, last) = weeks_with_a_spike(true);
        let alerts = volume_alerts(&counts, counts[0].hour..last + 1, last);
        assert_eq!(alerts.len(), 1, "{alerts:?}");
        let a = &alerts[0];
        assert_eq!((a.kind, a.hour), (AlertKind::Volume, last));
        assert_eq!(a.key, "reports on scams from DE (user)");
        assert!(
            a.explanation
                .starts_with("reports on scams from DE (user): ")
        );
        assert!(a.explanation.contains("in the last hour, typically"));
        assert!(a.count > 3.0 * a.expected);
    }

    #[test]
    fn an_ordinary_hour_does_not_alert() {
        let (counts, last) = weeks_with_a_spike(false);
        assert!(volume_alerts(&counts, counts[0].hour..last + 1, last).is_empty());
    }

    #[test]
    fn many_people_reporting_one_case_in_an_hour_is_mass_reporting() {
        let mut counts = Vec::new();
        // A week of a hundred cases each reported by one or two people an hour.
        for h in 0..24 * 7 {
            for case in 0..100 {
                counts.push(ReporterCount {
                    hour: h,
                    case_id: case,
                    restricted_team: None,
                    reporters: 1 + (h + case) as u32 % 2,
                });
            }
        }
        let last = 24 * 7;
        counts.push(ReporterCount {
            hour: last,
            case_id: 7,
            restricted_team: Some("legal".into()),
            reporters: 60,
        });
        counts.push(ReporterCount {
            hour: last,
            case_id: 8,
            restricted_team: None,
            reporters: 2,
        });
        let mut per_hour: BTreeMap<i64, u64> = BTreeMap::new();
        for c in &counts {
            *per_hour.entry(c.hour).or_default() += u64::from(c.reporters);
        }
        let alerts = mass_reporting_alerts(&counts, &per_hour, 0..last + 1, last);
        // Only the cases that could alert, against the same intake: the same answer.
        let candidates: Vec<ReporterCount> =
            counts.iter().filter(|c| c.case_id == 7).cloned().collect();
        assert_eq!(
            mass_reporting_alerts(&candidates, &per_hour, 0..last + 1, last),
            alerts
        );
        assert_eq!(alerts.len(), 1, "{alerts:?}");
        let a = &alerts[0];
        assert_eq!(a.kind, AlertKind::MassReporting);
        assert_eq!(a.case_id, Some(7));
        assert_eq!(a.restricted_team.as_deref(), Some("legal"));
        assert!(
            a.explanation
                .starts_with("case 7: reported by 60 people in the last hour"),
            "{}",
            a.explanation
        );
    }

    #[test]
    fn a_link_suddenly_in_many_reports_is_an_emerging_term() {
        let mut texts = Vec::new();
        for h in 0..48 {
            for i in 0..30 {
                texts.push(ReportText {
                    hour: h,
                    text: format!("this account keeps posting spam number {i} about crypto"),
                });
            }
        }
        for i in 0..25 {
            texts.push(ReportText {
                hour: 48,
                text: format!("fake giveaway at https://win-prizes.example/claim?id={i}"),
            });
        }
        let alerts = emerging_term_alerts(&texts, 0..49, 48);
        let keys: Vec<&str> = alerts.iter().map(|a| a.key.as_str()).collect();
        assert!(keys.contains(&"win-prizes.example"), "{keys:?}");
        assert!(!keys.contains(&"crypto"), "{keys:?}");
        let host = alerts
            .iter()
            .find(|a| a.key == "win-prizes.example")
            .unwrap();
        assert_eq!(host.kind, AlertKind::EmergingTerm);
        assert_eq!(
            host.explanation,
            "\u{201c}win-prizes.example\u{201d} (with \u{201c}fake\u{201d}, \u{201c}giveaway\u{201d}) \
             in 25 reports in the last hour, typically never seen before"
        );
        assert_eq!(
            alerts.len(),
            1,
            "the campaign's words come with its link: {keys:?}"
        );
    }
}
