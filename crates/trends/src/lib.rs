//! Streaming spike and trend detection over counts per time bucket.
//!
//! The crate knows counts and time, nothing of what is counted.
//!
//! - [`Detector`] scores one series bucket by bucket, strictly online: a seasonal expectation
//!   (level × profile of the day × correction per hour of the week), a negative binomial around
//!   it, a calibration of its tail against the series' own history, and one flag per episode.
//!   [`explain`] turns an [`Observation`] into a sentence for people.
//! - [`KeyedDetectors`] runs one detector per key over buckets of many keys, with a cap on keys.
//! - [`EmergingTerms`] finds words and web hosts ([`extract_terms`]) that suddenly appear in many
//!   texts of a bucket.
//! - [`suppress_repeats`] keeps one alert per key and episode.
//! - [`read_series`] and [`detect_csv`] read and score `timestamp,value` CSV.
//! - [`nab`] scores detections the way the Numenta Anomaly Benchmark does.

mod cooldown;
mod counts;
mod detector;
mod keyed;
pub mod nab;
mod series;
mod terms;

pub use cooldown::{Alert, CooldownPolicy, suppress_repeats, surprise_of};
pub use counts::CountDistribution;
pub use detector::{Detector, DetectorConfig, DetectorError, Observation, bucket_wording, explain};
pub use keyed::KeyedDetectors;
pub use series::{
    DetectSummary, Point, SeriesError, detect, detect_csv, parse_timestamp, read_series,
    write_detections,
};
pub use terms::{
    EmergingTerms, EmergingTermsConfig, MIN_WORD_CHARS, RisingGroup, RisingTerm, TOGETHER,
    extract_terms, group_rising,
};
