//! Cool-down: one alert per episode. Repeats for the same key within the cool-down period are
//! suppressed, unless the new alert is much stronger than the one let through.

use std::collections::HashMap;
use std::hash::Hash;

use chrono::{NaiveDateTime, TimeDelta};
use serde::{Deserialize, Serialize};

/// Surprise given to a score of exactly 1, whose tail probability is below what an `f64` holds.
const MAX_SURPRISE: f64 = 300.0;

/// An alert about one key at one time with a score in `[0, 1]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Alert<K> {
    /// What the alert is about.
    pub key: K,
    /// When.
    pub at: NaiveDateTime,
    /// How anomalous, `1 − tail probability`.
    pub score: f64,
}

/// When a repeat alert is let through.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct CooldownPolicy {
    /// Alerts for a key within this period after the last one let through are repeats...
    pub period: TimeDelta,
    /// ...unless their tail probability `1 − score` is smaller by at least this many orders of
    /// magnitude (2.0: a hundred times less likely).
    pub stronger_by: f64,
}

impl Default for CooldownPolicy {
    fn default() -> Self {
        Self {
            period: TimeDelta::hours(12),
            stronger_by: 3.0,
        }
    }
}

impl CooldownPolicy {
    /// Whether an alert at `at` with this `surprise` (−log10 of its tail probability) is let
    /// through, given the last alert let through for the same key (its time and surprise).
    pub fn admits(
        &self,
        last: Option<(NaiveDateTime, f64)>,
        at: NaiveDateTime,
        surprise: f64,
    ) -> bool {
        match last {
            None => true,
            Some((last_at, last_surprise)) => {
                at - last_at >= self.period || surprise >= last_surprise + self.stronger_by
            }
        }
    }
}

/// The surprise of a score: `−log10(1 − score)`, capped for a score of 1.
pub fn surprise_of(score: f64) -> f64 {
    let tail = 1.0 - score.clamp(0.0, 1.0);
    if tail <= 0.0 {
        MAX_SURPRISE
    } else {
        (-tail.log10()).min(MAX_SURPRISE)
    }
}

/// The alerts let through, in time order (ties keep their input order): the first for each key,
/// then any that comes after the cool-down period or is much stronger than the last let through.
pub fn suppress_repeats<K: Clone + Eq + Hash>(
    alerts: &[Alert<K>],
    policy: &CooldownPolicy,
) -> Vec<Alert<K>> {
    let mut ordered: Vec<&Alert<K>> = alerts.iter().collect();
    ordered.sort_by_key(|alert| alert.at);
    let mut last: HashMap<&K, (NaiveDateTime, f64)> = HashMap::new();
    let mut kept = Vec::new();
    for alert in ordered {
        let surprise = surprise_of(alert.score);
        if policy.admits(last.get(&alert.key).copied(), alert.at, surprise) {
            last.insert(&alert.key, (alert.at, surprise));
            kept.push(alert.clone());
        }
    }
    kept
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::NaiveDate;

    fn at(hour: i64) -> NaiveDateTime {
        NaiveDate::from_ymd_opt(2026, 1, 5)
            .and_then(|d| d.and_hms_opt(0, 0, 0))
            .expect("valid date")
            + TimeDelta::hours(hour)
    }

    fn alert(key: &'static str, hour: i64, score: f64) -> Alert<&'static str> {
        Alert {
            key,
            at: at(hour),
            score,
        }
    }

    fn policy() -> CooldownPolicy {
        CooldownPolicy {
            period: TimeDelta::hours(6),
            stronger_by: 2.0,
        }
    }

    #[test]
    fn repeats_within_the_period_are_suppressed_per_key() {
        let alerts = [
            alert("a", 0, 0.9999),
            alert("a", 1, 0.9999),
            alert("b", 1, 0.9999),
            alert("a", 5, 0.99995),
            alert("b", 3, 0.9999),
        ];
        let kept = suppress_repeats(&alerts, &policy());
        assert_eq!(kept, vec![alert("a", 0, 0.9999), alert("b", 1, 0.9999)]);
    }

    #[test]
    fn an_alert_after_the_period_gets_through_and_restarts_it() {
        let alerts = [
            alert("a", 0, 0.9999),
            alert("a", 6, 0.9999),
            alert("a", 8, 0.9999),
            alert("a", 12, 0.9999),
        ];
        let kept = suppress_repeats(&alerts, &policy());
        assert_eq!(
            kept.iter().map(|a| a.at).collect::<Vec<_>>(),
            vec![at(0), at(6), at(12)]
        );
    }

    #[test]
    fn a_much_stronger_alert_breaks_through() {
        // 1e-4 then 1e-7: three orders of magnitude stronger, more than the two required.
        let alerts = [
            alert("a", 0, 0.9999),
            alert("a", 1, 0.999_999_9),
            alert("a", 2, 0.999_999_95),
        ];
        let kept = suppress_repeats(&alerts, &policy());
        assert_eq!(
            kept.iter().map(|a| a.at).collect::<Vec<_>>(),
            vec![at(0), at(1)]
        );
    }

    #[test]
    fn input_order_does_not_matter() {
        let alerts = [alert("a", 3, 0.9999), alert("a", 0, 0.9999)];
        let kept = suppress_repeats(&alerts, &policy());
        assert_eq!(kept, vec![alert("a", 0, 0.9999)]);
    }

    #[test]
    fn surprise_is_decades_of_tail_probability() {
        assert!((surprise_of(0.999) - 3.0).abs() < 1e-9);
        assert_eq!(surprise_of(1.0), MAX_SURPRISE);
        assert_eq!(surprise_of(0.0), 0.0);
    }
}
