//! A series as CSV: `timestamp,value` in, `timestamp,value,anomaly_score,label` out.

use std::io::{BufRead, Write};

use chrono::{DateTime, NaiveDateTime};
use serde::{Deserialize, Serialize};
use thiserror::Error;

use crate::detector::{Detector, DetectorConfig, DetectorError, Observation};

/// One bucket of a series: its start and its count.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Point {
    /// Start of the bucket. Timestamps written with an offset are converted to UTC; plain ones
    /// are taken as written.
    pub at: NaiveDateTime,
    /// The count, a non-negative number.
    pub value: f64,
}

/// Why a series could not be read or written.
#[derive(Debug, Error)]
pub enum SeriesError {
    /// The input has no header line.
    #[error("the series is empty: a header `timestamp,value` is required")]
    MissingHeader,
    /// The header lacks a required column.
    #[error("line {line}: the header has no `{column}` column")]
    MissingHeaderColumn {
        /// 1-based line number.
        line: usize,
        /// The missing column.
        column: &'static str,
    },
    /// A row has fewer fields than the header requires.
    #[error("line {line}: no value in column `{column}`")]
    MissingColumn {
        /// 1-based line number.
        line: usize,
        /// The missing column.
        column: &'static str,
    },
    /// A timestamp is neither `2015-02-26 21:42:53` (optionally with fractional seconds) nor
    /// RFC 3339.
    #[error("line {line}: `{text}` is not a timestamp like 2015-02-26 21:42:53 or RFC 3339")]
    BadTimestamp {
        /// 1-based line number.
        line: usize,
        /// The offending text.
        text: String,
    },
    /// A value is not a finite, non-negative number.
    #[error("line {line}: `{text}` is not a non-negative number")]
    BadValue {
        /// 1-based line number.
        line: usize,
        /// The offending text.
        text: String,
    },
    /// A timestamp is not after the one before it.
    #[error("line {line}: {at} is not after {previous}, the timestamp of line {previous_line}")]
    OutOfOrder {
        /// 1-based line number.
        line: usize,
        /// Its timestamp.
        at: NaiveDateTime,
        /// The timestamp of the row before.
        previous: NaiveDateTime,
        /// Line of the row before.
        previous_line: usize,
    },
    /// The detector refused a bucket.
    #[error(transparent)]
    Detector(#[from] DetectorError),
    /// Reading or writing failed.
    #[error(transparent)]
    Io(#[from] std::io::Error),
}

/// Counts of one run over a series.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct DetectSummary {
    /// Rows read and written.
    pub rows: usize,
    /// Rows labelled 1.
    pub flagged: usize,
}

/// Parses a timestamp: `2015-02-26 21:42:53`, the same with a `T` or fractional seconds, or
/// RFC 3339 with an offset (converted to UTC).
pub fn parse_timestamp(text: &str) -> Option<NaiveDateTime> {
    let text = text.trim();
    for format in ["%Y-%m-%d %H:%M:%S%.f", "%Y-%m-%dT%H:%M:%S%.f"] {
        if let Ok(at) = NaiveDateTime::parse_from_str(text, format) {
            return Some(at);
        }
    }
    DateTime::parse_from_rfc3339(text)
        .ok()
        .map(|at| at.naive_utc())
}

fn field(text: &str) -> &str {
    let text = text.trim();
    text.strip_prefix('"')
        .and_then(|t| t.strip_suffix('"'))
        .unwrap_or(text)
        .trim()
}

/// Reads a `timestamp,value` CSV (header required, other columns ignored, blank lines
/// skipped) into points in strictly increasing time order.
pub fn read_series<R: BufRead>(input: R) -> Result<Vec<Point>, SeriesError> {
    let mut points = Vec::new();
    let mut columns: Option<(usize, usize)> = None;
    let mut previous: Option<(NaiveDateTime, usize)> = None;
    for (index, line) in input.lines().enumerate() {
        let line_number = index + 1;
        let line = line?;
        let line = line.trim_start_matches('\u{feff}');
        if line.trim().is_empty() {
            continue;
        }
        let fields: Vec<&str> = line.split(',').map(field).collect();
        let Some((timestamp_column, value_column)) = columns else {
            let find = |name: &'static str| {
                fields
                    .iter()
                    .position(|f| f.eq_ignore_ascii_case(name))
                    .ok_or(SeriesError::MissingHeaderColumn {
                        line: line_number,
                        column: name,
                    })
            };
            columns = Some((find("timestamp")?, find("value")?));
            continue;
        };
        let timestamp = fields
            .get(timestamp_column)
            .filter(|f| !f.is_empty())
            .ok_or(SeriesError::MissingColumn {
                line: line_number,
                column: "timestamp",
            })?;
        let value = fields.get(value_column).filter(|f| !f.is_empty()).ok_or(
            SeriesError::MissingColumn {
                line: line_number,
                column: "value",
            },
        )?;
        let at = parse_timestamp(timestamp).ok_or_else(|| SeriesError::BadTimestamp {
            line: line_number,
            text: (*timestamp).to_owned(),
        })?;
        let value = value
            .parse::<f64>()
            .ok()
            .filter(|v| v.is_finite() && *v >= 0.0)
            .ok_or_else(|| SeriesError::BadValue {
                line: line_number,
                text: (*value).to_owned(),
            })?;
        if let Some((previous_at, previous_line)) = previous
            && at <= previous_at
        {
            return Err(SeriesError::OutOfOrder {
                line: line_number,
                at,
                previous: previous_at,
                previous_line,
            });
        }
        previous = Some((at, line_number));
        points.push(Point { at, value });
    }
    if columns.is_none() {
        return Err(SeriesError::MissingHeader);
    }
    Ok(points)
}

/// Runs one fresh detector over the series in order: observation `i` uses points `0..=i` only.
pub fn detect(
    points: &[Point],
    config: &DetectorConfig,
) -> Result<Vec<Observation>, DetectorError> {
    let mut detector = Detector::new(config.clone());
    points
        .iter()
        .map(|point| detector.observe(point.at, point.value))
        .collect()
}

/// Writes `timestamp,value,anomaly_score,label`, one row per point, label 1 where flagged.
pub fn write_detections<W: Write>(
    mut output: W,
    points: &[Point],
    observations: &[Observation],
) -> std::io::Result<()> {
    writeln!(output, "timestamp,value,anomaly_score,label")?;
    for (point, observation) in points.iter().zip(observations) {
        writeln!(
            output,
            "{},{},{},{}",
            point.at.format("%Y-%m-%d %H:%M:%S%.f"),
            point.value,
            observation.score,
            u8::from(observation.flag),
        )?;
    }
    output.flush()
}

/// Reads a `timestamp,value` CSV, runs the detector over it and writes the scored CSV.
pub fn detect_csv<R: BufRead, W: Write>(
    input: R,
    output: W,
    config: &DetectorConfig,
) -> Result<DetectSummary, SeriesError> {
    let points = read_series(input)?;
    let observations = detect(&points, config)?;
    write_detections(output, &points, &observations)?;
    Ok(DetectSummary {
        rows: points.len(),
        flagged: observations.iter().filter(|o| o.flag).count(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(text: &str) -> Result<Vec<Point>, SeriesError> {
        read_series(text.as_bytes())
    }

    #[test]
    fn reads_plain_fractional_and_rfc3339_timestamps() {
        let points = read(
            "timestamp,value\n2015-02-26 21:42:53,104\n2015-02-26 21:47:53.500000,100\n\n\
             2015-02-26T23:00:00+01:00,3.5\n",
        )
        .expect("valid series");
        assert_eq!(points.len(), 3);
        assert_eq!(points[0].value, 104.0);
        assert_eq!(
            points[1].at.format("%H:%M:%S%.f").to_string(),
            "21:47:53.500"
        );
        // 23:00 at +01:00 is 22:00 UTC.
        assert_eq!(points[2].at.format("%H:%M").to_string(), "22:00");
        assert_eq!(points[2].value, 3.5);
    }

    #[test]
    fn header_columns_are_found_by_name() {
        let points = read("value,timestamp,extra\n7,2015-02-26 21:42:53,x\n").expect("valid");
        assert_eq!(points[0].value, 7.0);
    }

    #[test]
    fn errors_name_the_line_and_the_reason() {
        assert!(matches!(read(""), Err(SeriesError::MissingHeader)));
        assert!(matches!(
            read("time,value\n"),
            Err(SeriesError::MissingHeaderColumn {
                line: 1,
                column: "timestamp"
            })
        ));
        assert!(matches!(
            read("timestamp,value\n2015-02-26 21:42:53\n"),
            Err(SeriesError::MissingColumn {
                line: 2,
                column: "value"
            })
        ));
        let bad_time = read("timestamp,value\n2015-02-26 21:42:53,1\nyesterday,2\n");
        assert!(matches!(
            bad_time,
            Err(SeriesError::BadTimestamp { line: 3, .. })
        ));
        let negative = read("timestamp,value\n2015-02-26 21:42:53,-1\n");
        assert!(matches!(
            negative,
            Err(SeriesError::BadValue { line: 2, .. })
        ));
        let not_a_number = read("timestamp,value\n2015-02-26 21:42:53,NaN\n");
        assert!(matches!(
            not_a_number,
            Err(SeriesError::BadValue { line: 2, .. })
        ));
        let backwards = read("timestamp,value\n2015-02-26 21:42:53,1\n\n2015-02-26 21:42:53,2\n");
        match backwards {
            Err(SeriesError::OutOfOrder {
                line,
                previous_line,
                ..
            }) => assert_eq!((line, previous_line), (4, 2)),
            other => panic!("expected out-of-order, got {other:?}"),
        }
        let message = read("timestamp,value\n2015-02-26 21:42:53,abc\n")
            .err()
            .map(|e| e.to_string());
        assert_eq!(
            message.as_deref(),
            Some("line 2: `abc` is not a non-negative number")
        );
    }

    #[test]
    fn detect_csv_writes_one_scored_row_per_input_row() {
        let mut input = String::from("timestamp,value\n");
        for i in 0..600 {
            let minutes = i * 5;
            let at = chrono::NaiveDate::from_ymd_opt(2015, 3, 2)
                .and_then(|d| d.and_hms_opt(0, 0, 0))
                .expect("valid date")
                + chrono::TimeDelta::minutes(minutes);
            let value = if i == 590 { 500 } else { 20 + (i % 3) };
            input.push_str(&format!("{},{value}\n", at.format("%Y-%m-%d %H:%M:%S")));
        }
        let mut output = Vec::new();
        let summary = detect_csv(input.as_bytes(), &mut output, &DetectorConfig::default())
            .expect("valid series");
        let text = String::from_utf8(output).expect("utf-8");
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines[0], "timestamp,value,anomaly_score,label");
        assert_eq!(lines.len(), 601);
        assert_eq!(summary.rows, 600);
        assert_eq!(summary.flagged, 1);
        let spike: Vec<&str> = lines[591].split(',').collect();
        assert_eq!(spike[0], "2015-03-04 01:10:00");
        assert_eq!(spike[1], "500");
        assert_eq!(spike[3], "1");
        assert!(spike[2].parse::<f64>().is_ok_and(|s| s > 0.9999));
    }
}
