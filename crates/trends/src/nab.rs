//! The scoring of the Numenta Anomaly Benchmark (NAB), for detections (one flag per row).
//!
//! Each labelled window rewards its earliest detection by a scaled sigmoid of where it falls in
//! the window (a detection on the window's first row earns the full true-positive weight, one
//! on its last row almost nothing) and costs the false-negative weight if it has none. Each
//! detection outside every window costs the false-positive weight, scaled by the same sigmoid of
//! its distance after the preceding window (in window widths), so a late detection just after a
//! window costs little and one far from any window costs the full weight; before the first
//! window it always costs the full weight. Rows of the probationary period (the first 15% of a
//! file, at most 750 rows) are not scored. A file's raw score is normalised so that detecting
//! nothing scores 0 and detecting every window on its first scorable row scores 100.

use std::collections::BTreeMap;

use chrono::NaiveDateTime;
use serde::{Deserialize, Serialize};
use thiserror::Error;

use crate::series::parse_timestamp;

/// Share of each file, from its start, in which detections are not scored.
pub const PROBATIONARY_SHARE: f64 = 0.15;
/// The probationary period never exceeds this many rows (15% of 5,000).
pub const MAX_PROBATIONARY_ROWS: usize = 750;

/// Weights of a NAB application profile.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct CostProfile {
    /// Reward for a detection at the very start of a window.
    pub tp_weight: f64,
    /// Cost of a detection far from any window.
    pub fp_weight: f64,
    /// Cost of a window without a detection.
    pub fn_weight: f64,
}

impl CostProfile {
    /// The standard profile.
    pub const STANDARD: Self = Self {
        tp_weight: 1.0,
        fp_weight: 0.11,
        fn_weight: 1.0,
    };
    /// The profile that rewards a low false-positive rate.
    pub const REWARD_LOW_FP: Self = Self {
        tp_weight: 1.0,
        fp_weight: 0.22,
        fn_weight: 1.0,
    };
    /// The profile that rewards a low false-negative rate.
    pub const REWARD_LOW_FN: Self = Self {
        tp_weight: 1.0,
        fp_weight: 0.11,
        fn_weight: 2.0,
    };
}

/// A labelled anomaly window, both ends inclusive.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct LabelWindow {
    /// First timestamp in the window.
    pub start: NaiveDateTime,
    /// Last timestamp in the window.
    pub end: NaiveDateTime,
}

/// Why a file could not be scored.
#[derive(Debug, Error)]
pub enum NabError {
    /// One detection per row is required.
    #[error("{timestamps} timestamps but {detections} detections")]
    LengthMismatch {
        /// Rows.
        timestamps: usize,
        /// Detections.
        detections: usize,
    },
    /// Timestamps must increase strictly.
    #[error("timestamp {at} at row {row} is not after the row before")]
    OutOfOrder {
        /// 0-based row.
        row: usize,
        /// Its timestamp.
        at: NaiveDateTime,
    },
    /// A window with no row in it cannot be scored.
    #[error("window {start} – {end} holds no row")]
    EmptyWindow {
        /// Window start.
        start: NaiveDateTime,
        /// Window end.
        end: NaiveDateTime,
    },
    /// Windows must be disjoint.
    #[error("window starting {start} overlaps the window before it")]
    Overlap {
        /// Start of the later window.
        start: NaiveDateTime,
    },
    /// The labels are not NAB's JSON: an object of file names to lists of `[start, end]`.
    #[error("labelled windows: {0}")]
    Json(#[from] serde_json::Error),
    /// A window bound is not a timestamp.
    #[error("labelled windows: `{0}` is not a timestamp")]
    BadTimestamp(String),
}

/// The score of one file under one profile.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct FileScore {
    /// Sum of window rewards, missed-window costs and false-positive costs.
    pub raw: f64,
    /// Raw score of a detector that never detects.
    pub null: f64,
    /// Raw score of a detector that detects every window on its first scorable row.
    pub perfect: f64,
    /// Windows with at least one scorable row.
    pub windows: usize,
    /// Windows with a detection.
    pub detected: usize,
    /// Detections outside every window (after the probationary period).
    pub false_positives: usize,
}

impl FileScore {
    /// 0 for the null detector, 100 for the perfect one.
    pub fn normalised(&self) -> f64 {
        normalise(self.raw, self.null, self.perfect)
    }
}

fn normalise(raw: f64, null: f64, perfect: f64) -> f64 {
    if perfect == null {
        0.0
    } else {
        100.0 * (raw - null) / (perfect - null)
    }
}

/// The corpus score: raw, null and perfect scores summed over files, then normalised.
pub fn normalised_total(files: &[FileScore]) -> f64 {
    let (raw, null, perfect) = files.iter().fold((0.0, 0.0, 0.0), |(r, n, p), f| {
        (r + f.raw, n + f.null, p + f.perfect)
    });
    normalise(raw, null, perfect)
}

/// Rows at the start of a file of `rows` rows whose detections are not scored.
pub fn probationary_rows(rows: usize) -> usize {
    ((PROBATIONARY_SHARE * rows as f64).floor() as usize).min(MAX_PROBATIONARY_ROWS)
}

/// NAB's scaled sigmoid of a relative position: about +1 at −1 (a window's first row), 0 at 0
/// (just past its last row), about −1 at +1 and exactly −1 from +3 on.
pub fn scaled_sigmoid(position: f64) -> f64 {
    if position >= 3.0 {
        -1.0
    } else {
        2.0 / (1.0 + (5.0 * position).exp()) - 1.0
    }
}

/// Parses NAB's labelled windows (`{"dir/file.csv": [["start", "end"], …], …}`).
pub fn parse_windows(json: &str) -> Result<BTreeMap<String, Vec<LabelWindow>>, NabError> {
    let raw: BTreeMap<String, Vec<[String; 2]>> = serde_json::from_str(json)?;
    raw.into_iter()
        .map(|(file, windows)| {
            let windows = windows
                .into_iter()
                .map(|[start, end]| {
                    let parse = |t: &str| {
                        parse_timestamp(t).ok_or_else(|| NabError::BadTimestamp(t.to_owned()))
                    };
                    Ok(LabelWindow {
                        start: parse(&start)?,
                        end: parse(&end)?,
                    })
                })
                .collect::<Result<Vec<_>, NabError>>()?;
            Ok((file, windows))
        })
        .collect()
}

/// A window as row indices, both inclusive.
#[derive(Debug, Clone, Copy)]
struct Span {
    first: usize,
    last: usize,
}

impl Span {
    fn width(&self) -> usize {
        self.last - self.first + 1
    }
}

/// Scores one file's detections (`detections[i]` for row `i`) against its windows.
pub fn score_file(
    timestamps: &[NaiveDateTime],
    detections: &[bool],
    windows: &[LabelWindow],
    profile: &CostProfile,
) -> Result<FileScore, NabError> {
    if timestamps.len() != detections.len() {
        return Err(NabError::LengthMismatch {
            timestamps: timestamps.len(),
            detections: detections.len(),
        });
    }
    if let Some(row) = (1..timestamps.len()).find(|&i| timestamps[i] <= timestamps[i - 1]) {
        return Err(NabError::OutOfOrder {
            row,
            at: timestamps[row],
        });
    }
    let spans = spans(timestamps, windows)?;
    let probation = probationary_rows(timestamps.len());
    // Rewarding the first row exactly `tp_weight` is why rewards are divided by this.
    let max_reward = scaled_sigmoid(-1.0);
    let reward = |span: &Span, row: usize| {
        let position = -((span.last - row + 1) as f64) / span.width() as f64;
        scaled_sigmoid(position) * profile.tp_weight / max_reward
    };

    let mut best: Vec<Option<f64>> = vec![None; spans.len()];
    let mut fp_cost = 0.0;
    let mut false_positives = 0;
    // Index of the window the current row is in or last passed.
    let mut next = 0;
    for (row, &detected) in detections.iter().enumerate() {
        while next < spans.len() && spans[next].last < row {
            next += 1;
        }
        if !detected || row < probation {
            continue;
        }
        let inside = spans.get(next).filter(|s| s.first <= row);
        match inside {
            Some(span) => {
                let r = reward(span, row);
                let slot = &mut best[next];
                *slot = Some(slot.map_or(r, |b: f64| b.max(r)));
            }
            None => {
                false_positives += 1;
                let position = match next.checked_sub(1).map(|i| spans[i]) {
                    None => 3.0,
                    Some(before) if before.width() <= 1 => 3.0,
                    Some(before) => (row - before.last) as f64 / (before.width() - 1) as f64,
                };
                fp_cost += scaled_sigmoid(position) * profile.fp_weight;
            }
        }
    }

    let mut raw = fp_cost;
    let mut null = 0.0;
    let mut perfect = 0.0;
    let mut scorable = 0;
    let mut detected = 0;
    for (span, best) in spans.iter().zip(&best) {
        if span.last < probation {
            continue;
        }
        scorable += 1;
        null -= profile.fn_weight;
        perfect += reward(span, span.first.max(probation));
        match best {
            Some(r) => {
                detected += 1;
                raw += r;
            }
            None => raw -= profile.fn_weight,
        }
    }
    Ok(FileScore {
        raw,
        null,
        perfect,
        windows: scorable,
        detected,
        false_positives,
    })
}

fn spans(timestamps: &[NaiveDateTime], windows: &[LabelWindow]) -> Result<Vec<Span>, NabError> {
    let mut ordered = windows.to_vec();
    ordered.sort_by_key(|w| w.start);
    let mut spans: Vec<Span> = Vec::with_capacity(ordered.len());
    for window in ordered {
        let first = timestamps.partition_point(|&t| t < window.start);
        let end = timestamps.partition_point(|&t| t <= window.end);
        if first >= end {
            return Err(NabError::EmptyWindow {
                start: window.start,
                end: window.end,
            });
        }
        if spans.last().is_some_and(|s| s.last >= first) {
            return Err(NabError::Overlap {
                start: window.start,
            });
        }
        spans.push(Span {
            first,
            last: end - 1,
        });
    }
    Ok(spans)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{NaiveDate, TimeDelta};

    fn rows(n: usize) -> Vec<NaiveDateTime> {
        let start = NaiveDate::from_ymd_opt(2015, 3, 1)
            .and_then(|d| d.and_hms_opt(0, 0, 0))
            .expect("valid date");
        (0..n)
            .map(|i| start + TimeDelta::minutes(5 * i as i64))
            .collect()
    }

    fn window(t: &[NaiveDateTime], first: usize, last: usize) -> LabelWindow {
        LabelWindow {
            start: t[first],
            end: t[last],
        }
    }

    fn detections(n: usize, at: &[usize]) -> Vec<bool> {
        (0..n).map(|i| at.contains(&i)).collect()
    }

    /// 100 rows (probation 15), windows over rows 30–39 and 70–79.
    fn setup() -> (Vec<NaiveDateTime>, Vec<LabelWindow>) {
        let t = rows(100);
        let windows = vec![window(&t, 30, 39), window(&t, 70, 79)];
        (t, windows)
    }

    fn score(at: &[usize], profile: &CostProfile) -> FileScore {
        let (t, windows) = setup();
        score_file(&t, &detections(100, at), &windows, profile).expect("scorable")
    }

    #[test]
    fn probation_is_fifteen_percent_up_to_750_rows() {
        assert_eq!(probationary_rows(100), 15);
        assert_eq!(probationary_rows(4_999), 749);
        assert_eq!(probationary_rows(15_902), 750);
    }

    #[test]
    fn sigmoid_has_nab_shape() {
        assert!((scaled_sigmoid(-1.0) - 0.986_614_298_1).abs() < 1e-9);
        assert!((scaled_sigmoid(-0.5) - 0.848_283_639_9).abs() < 1e-9);
        assert_eq!(scaled_sigmoid(0.0), 0.0);
        assert_eq!(scaled_sigmoid(3.0), -1.0);
    }

    #[test]
    fn null_detector_scores_zero_and_perfect_one_hundred() {
        let null = score(&[], &CostProfile::STANDARD);
        assert_eq!(null.raw, -2.0);
        assert_eq!(null.normalised(), 0.0);
        let perfect = score(&[30, 70], &CostProfile::STANDARD);
        assert!((perfect.raw - 2.0).abs() < 1e-12);
        assert!((perfect.normalised() - 100.0).abs() < 1e-9);
        assert_eq!((perfect.detected, perfect.false_positives), (2, 0));
    }

    #[test]
    fn only_the_earliest_detection_in_a_window_counts() {
        let early = score(&[30, 70], &CostProfile::STANDARD);
        let also_late = score(&[30, 35, 39, 70, 79], &CostProfile::STANDARD);
        assert_eq!(early.raw, also_late.raw);
    }

    #[test]
    fn a_detection_half_way_earns_the_sigmoid_of_its_position() {
        // Row 35 of a 10-row window ending at 39: position −(39 − 35 + 1)/10 = −0.5.
        let half = score(&[35], &CostProfile::STANDARD);
        let expected = scaled_sigmoid(-0.5) / scaled_sigmoid(-1.0) - 1.0;
        assert!((half.raw - expected).abs() < 1e-12);
        // Normalised: (raw − null) / (perfect − null) = (expected + 2) / 4.
        assert!((half.normalised() - 100.0 * (expected + 2.0) / 4.0).abs() < 1e-9);
    }

    #[test]
    fn a_false_positive_before_any_window_costs_the_full_weight() {
        let with_fp = score(&[20, 30, 70], &CostProfile::STANDARD);
        assert!((with_fp.raw - (2.0 - 0.11)).abs() < 1e-12);
        assert!((with_fp.normalised() - 100.0 * (4.0 - 0.11) / 4.0).abs() < 1e-9);
        let low_fp = score(&[20, 30, 70], &CostProfile::REWARD_LOW_FP);
        assert!((low_fp.raw - (2.0 - 0.22)).abs() < 1e-12);
    }

    #[test]
    fn a_false_positive_after_a_window_costs_by_its_distance() {
        // Row 44 is 5 rows after the window ending at 39, which is 10 rows wide: 5/9 widths.
        let near = score(&[30, 44, 70], &CostProfile::STANDARD);
        let cost = scaled_sigmoid(5.0 / 9.0) * 0.11;
        assert!((near.raw - (2.0 + cost)).abs() < 1e-12);
        assert!(cost < 0.0 && cost > -0.11);
        // Row 99 is 20 rows after the window ending at 79, 20/9 widths: almost the full weight.
        let far = score(&[30, 70, 99], &CostProfile::STANDARD);
        let far_cost = scaled_sigmoid(20.0 / 9.0) * 0.11;
        assert!((far.raw - (2.0 + far_cost)).abs() < 1e-12);
        assert!(far_cost < -0.1099);
        assert_eq!(far.false_positives, 1);
    }

    #[test]
    fn a_false_positive_three_widths_after_a_window_costs_the_full_weight() {
        // Window 30–31 is 2 rows wide: row 34 is 3 rows, 3 widths (of width − 1) past it.
        let t = rows(100);
        let windows = [window(&t, 30, 31)];
        let at = |rows: &[usize]| {
            score_file(&t, &detections(100, rows), &windows, &CostProfile::STANDARD)
                .expect("scorable")
        };
        assert!((at(&[30, 34]).raw - (1.0 - 0.11)).abs() < 1e-12);
        // One-row windows have no width to measure by: what follows costs the full weight.
        let single = [window(&t, 30, 30)];
        let score = score_file(
            &t,
            &detections(100, &[30, 31]),
            &single,
            &CostProfile::STANDARD,
        )
        .expect("scorable");
        assert!((score.raw - (1.0 - 0.11)).abs() < 1e-12);
    }

    #[test]
    fn detections_in_probation_are_ignored() {
        let probation_only = score(&[0, 5, 14], &CostProfile::STANDARD);
        assert_eq!(probation_only.raw, -2.0);
        assert_eq!(probation_only.false_positives, 0);
    }

    #[test]
    fn a_missed_window_costs_the_false_negative_weight() {
        let one = score(&[30], &CostProfile::STANDARD);
        assert!((one.raw - 0.0).abs() < 1e-12);
        let one_low_fn = score(&[30], &CostProfile::REWARD_LOW_FN);
        assert!((one_low_fn.raw - (1.0 - 2.0)).abs() < 1e-12);
        assert!((one_low_fn.normalised() - 50.0).abs() < 1e-9);
    }

    #[test]
    fn corpus_total_sums_before_normalising() {
        let a = score(&[30, 70], &CostProfile::STANDARD);
        let b = score(&[], &CostProfile::STANDARD);
        assert!((normalised_total(&[a, b]) - 50.0).abs() < 1e-9);
    }

    #[test]
    fn windows_must_hold_rows_and_not_overlap() {
        let t = rows(100);
        let outside = LabelWindow {
            start: t[99] + TimeDelta::hours(1),
            end: t[99] + TimeDelta::hours(2),
        };
        assert!(matches!(
            score_file(
                &t,
                &detections(100, &[]),
                &[outside],
                &CostProfile::STANDARD
            ),
            Err(NabError::EmptyWindow { .. })
        ));
        let overlapping = [window(&t, 30, 50), window(&t, 40, 60)];
        assert!(matches!(
            score_file(
                &t,
                &detections(100, &[]),
                &overlapping,
                &CostProfile::STANDARD
            ),
            Err(NabError::Overlap { .. })
        ));
        assert!(matches!(
            score_file(&t, &detections(99, &[]), &[], &CostProfile::STANDARD),
            Err(NabError::LengthMismatch { .. })
        ));
    }

    #[test]
    fn parses_nab_window_labels() {
        let json = r#"{"realTweets/x.csv": [["2015-03-03 04:37:53.000000", "2015-03-04 13:37:53.000000"]], "y.csv": []}"#;
        let windows = parse_windows(json).expect("valid labels");
        assert_eq!(windows.len(), 2);
        let x = &windows["realTweets/x.csv"];
        assert_eq!(
            x[0].start.format("%Y-%m-%d %H:%M:%S").to_string(),
            "2015-03-03 04:37:53"
        );
        assert!(parse_windows(r#"{"x": [["soon", "later"]]}"#).is_err());
    }
}
