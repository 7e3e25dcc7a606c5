//! The spike detector for one series of counts per time bucket.
//!
//! The expected count of a bucket is `level × daily(hour of day) × weekly(hour of week)`: a level
//! that adapts within hours, a profile of the day and a correction for the day of the week, both
//! multiplicative and learned online. A bucket is scored by how unlikely its count is under a
//! negative binomial around that expectation, whose over-dispersion is estimated online, so that
//! 0 → 3 on a quiet series is ordinary while 40 → 400 is not. Real series have heavier tails
//! than any such model (bots, mass reporting): the model's tail probability is calibrated
//! against how often this series has been that surprising. Updates are clipped to a few
//! standard deviations, so a spike barely moves the baseline while a lasting new level is
//! absorbed within a day or so. After a flag, the rest of the episode is not flagged again.

use chrono::{Datelike, NaiveDateTime, TimeDelta, Timelike};
use serde::{Deserialize, Serialize};
use thiserror::Error;

use crate::cooldown::CooldownPolicy;
use crate::counts::CountDistribution;

const HOURS_PER_DAY: usize = 24;
const HOURS_PER_WEEK: usize = 168;
/// No slot of a profile may claim less than this share of the average, or a quiet hour would
/// make every count in it look infinitely surprising.
const MIN_FACTOR: f64 = 0.02;
/// Floor of the expected count, for the same reason.
const MIN_EXPECTED: f64 = 0.01;
const MAX_DISPERSION: f64 = 10.0;
/// The weekly correction starts as if it had already seen this many weeks with no correction:
/// the daily profile explains most of a week, and one odd day should not define a weekday.
const WEEKLY_PRIOR_VISITS: f64 = 2.0;

/// How a [`Detector`] learns and when it flags. [`Default`] is tuned on real mention volumes in
/// 5-minute buckets and suits hourly buckets as well: every rate is a duration, converted to
/// the bucket width.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DetectorConfig {
    /// Width of a bucket; `None` infers it as the smallest gap between consecutive timestamps.
    pub bucket: Option<TimeDelta>,
    /// A bucket whose score reaches this is anomalous (see [`Observation::score`]).
    pub threshold: f64,
    /// An anomalous bucket must also exceed its expected count by at least this much, so that a
    /// handful of events on a near-silent series never raises a flag.
    pub min_excess: f64,
    /// No flags until the series has this much history...
    pub warm_up: TimeDelta,
    /// ...and at least this many buckets.
    pub min_history: u32,
    /// Half-life of the level: how fast a drift is followed.
    pub level_half_life: TimeDelta,
    /// Half-life of the profile of the day.
    pub daily_half_life: TimeDelta,
    /// Half-life of the correction per hour of the week.
    pub weekly_half_life: TimeDelta,
    /// Half-life of the over-dispersion estimate.
    pub dispersion_half_life: TimeDelta,
    /// Counts are clipped to `expected ± clip × standard deviation` before they update the
    /// model, so one spike cannot teach it that spikes are normal.
    pub clip: f64,
    /// Raw surprise (−log10 of the model's tail probability) above which the tail is
    /// calibrated against how often this series has actually been that surprising.
    pub tail_reference: f64,
    /// Half-life of that frequency.
    pub calibration_half_life: TimeDelta,
    /// After a flag, further anomalous buckets within this period belong to the same episode and
    /// are not flagged again...
    pub cooldown: TimeDelta,
    /// ...unless their (calibrated) tail probability is smaller by this many orders of
    /// magnitude.
    pub stronger_by: f64,
    /// Percentiles of the predictive distribution that bound the typical range.
    pub typical_percentiles: (f64, f64),
}

impl Default for DetectorConfig {
    fn default() -> Self {
        Self {
            bucket: None,
            threshold: 0.997,
            min_excess: 5.0,
            warm_up: TimeDelta::days(2),
            min_history: 24,
            level_half_life: TimeDelta::hours(12),
            daily_half_life: TimeDelta::days(7),
            weekly_half_life: TimeDelta::weeks(3),
            dispersion_half_life: TimeDelta::days(7),
            clip: 3.0,
            tail_reference: 3.0,
            calibration_half_life: TimeDelta::days(28),
            cooldown: TimeDelta::hours(24),
            stronger_by: 3.0,
            typical_percentiles: (0.05, 0.95),
        }
    }
}

/// What the detector says about one bucket. Every field uses only that bucket and earlier ones.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Observation {
    /// The observed count.
    pub count: f64,
    /// The expected count for this bucket given its history, season and level.
    pub expected: f64,
    /// Lower end of the typical range (by default the 5th percentile).
    pub typical_low: u64,
    /// Upper end of the typical range (by default the 95th percentile).
    pub typical_high: u64,
    /// `1 − P(count at least this high)`, in `[0, 1]`, about 0.5 for an ordinary bucket. The
    /// probability is the count model's, calibrated against how often this series has been as
    /// surprising before, so a series prone to bursts scores its bursts lower.
    pub score: f64,
    /// `−log10` of that probability: the score on a scale that does not saturate.
    pub surprise: f64,
    /// Score at or above the threshold, excess above the minimum, and warm-up over.
    pub anomalous: bool,
    /// Anomalous, and not a repeat within the cool-down of an episode already flagged.
    pub flag: bool,
    /// The detector has too little history to flag anything yet.
    pub warming_up: bool,
}

/// A bucket the detector cannot take.
#[derive(Debug, Clone, PartialEq, Error)]
pub enum DetectorError {
    /// Buckets must come in strictly increasing time order.
    #[error("bucket {at} is not after the previous bucket {previous}")]
    OutOfOrder {
        /// The bucket offered.
        at: NaiveDateTime,
        /// The last bucket taken.
        previous: NaiveDateTime,
    },
    /// Counts are finite and non-negative.
    #[error("count {count} at {at} is not a non-negative number")]
    InvalidCount {
        /// The bucket offered.
        at: NaiveDateTime,
        /// Its count.
        count: f64,
    },
}

/// Per-bucket learning rates, derived from the half-lives once the bucket width is known.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Rates {
    level: f64,
    daily: f64,
    weekly: f64,
    dispersion: f64,
    buckets_per_day: f64,
    bucket_seconds: f64,
    use_daily: bool,
    use_weekly: bool,
}

impl Rates {
    fn new(config: &DetectorConfig, bucket_seconds: i64) -> Self {
        let bucket = bucket_seconds.max(1) as f64;
        let hour = 3600.0;
        let day = 24.0 * hour;
        let week = 7.0 * day;
        // A slot of either profile is visited this many times per cycle: once per bucket
        // within its hour, or once for buckets of an hour or more. Half-lives in cycles become
        // half-lives in visits.
        let visits_per_slot = (hour / bucket).max(1.0);
        Self {
            level: rate(bucket, seconds(config.level_half_life)),
            daily: rate(1.0, visits_per_slot * seconds(config.daily_half_life) / day),
            weekly: rate(
                1.0,
                visits_per_slot * seconds(config.weekly_half_life) / week,
            ),
            dispersion: rate(bucket, seconds(config.dispersion_half_life)),
            buckets_per_day: (day / bucket).max(1.0),
            bucket_seconds: bucket,
            use_daily: bucket < day,
            use_weekly: bucket < week,
        }
    }
}

fn seconds(duration: TimeDelta) -> f64 {
    duration.num_milliseconds() as f64 / 1000.0
}

/// Weight of the newest value in an exponential average with this half-life, in the same unit.
fn rate(step: f64, half_life: f64) -> f64 {
    if half_life <= 0.0 {
        1.0
    } else {
        1.0 - (-std::f64::consts::LN_2 * step / half_life).exp()
    }
}

/// How often the series has been surprising, so that a series prone to bursts (bots, mass
/// reporting) is not flagged for every burst the count model alone finds unlikely. Raw
/// surprises above the reference are modelled as peaks over a threshold: their frequency is
/// `rate` and their excess above the reference is exponential with mean `excess` (in decades).
/// A well-specified model has `rate = 10^−reference` and `excess = 1/ln 10`; the calibration
/// starts there and only ever lowers the surprise.
#[derive(Debug, Clone, Copy, PartialEq)]
struct TailCalibration {
    reference: f64,
    rate: f64,
    excess: f64,
    exceedances: f64,
}

/// The excess estimate starts as if it had seen this many exceedances of a well-specified model.
const TAIL_PRIOR_EXCEEDANCES: f64 = 10.0;
/// Later exceedances still move it by at least this share, so it follows a changing series.
const TAIL_MIN_RATE: f64 = 0.01;
/// One astronomic outlier must not flatten the tail for everything after it.
const TAIL_MAX_EXCESS: f64 = 50.0;

impl TailCalibration {
    fn new(reference: f64) -> Self {
        let reference = reference.max(0.1);
        Self {
            reference,
            rate: 10f64.powf(-reference),
            excess: 1.0 / std::f64::consts::LN_10,
            exceedances: 0.0,
        }
    }

    /// The calibrated surprise of a raw one: linear below the reference, peaks over it above.
    fn calibrate(&self, raw: f64) -> f64 {
        let at_reference = -self.rate.max(1e-300).log10();
        let calibrated = if raw <= self.reference {
            raw * at_reference / self.reference
        } else {
            at_reference + (raw - self.reference) / (self.excess * std::f64::consts::LN_10)
        };
        calibrated.min(raw)
    }

    fn learn(&mut self, raw: f64, step: f64) {
        let exceeded = raw >= self.reference;
        self.rate += step * (f64::from(u8::from(exceeded)) - self.rate);
        if exceeded {
            self.exceedances += 1.0;
            let weight = (1.0 / (self.exceedances + TAIL_PRIOR_EXCEEDANCES)).max(TAIL_MIN_RATE);
            let excess = (raw - self.reference).min(TAIL_MAX_EXCESS);
            self.excess += weight * (excess - self.excess);
        }
    }
}

/// What the model expected of a bucket, and where the bucket sits on the profiles.
#[derive(Debug, Clone, Copy)]
struct Forecast {
    expected: f64,
    season: f64,
    daily: f64,
    weekly: f64,
    daily_at: Position,
    weekly_at: Position,
}

/// A position on a cyclic profile: two neighbouring slots and the weight of each, so the
/// profile is a smooth curve through slot centres rather than a staircase.
#[derive(Debug, Clone, Copy)]
struct Position {
    slots: [usize; 2],
    weights: [f64; 2],
}

impl Position {
    fn on_cycle(hours: f64, length: usize) -> Self {
        // Slot `i` is centred on hour `i + 0.5` of the cycle.
        let length_f = length as f64;
        let u = (hours - 0.5).rem_euclid(length_f);
        let lower = u.floor();
        let weight_upper = u - lower;
        let lower = (lower as usize) % length;
        Self {
            slots: [lower, (lower + 1) % length],
            weights: [1.0 - weight_upper, weight_upper],
        }
    }
}

/// A multiplicative profile over a cycle, normalised to mean 1 on the fly.
#[derive(Debug, Clone, PartialEq)]
struct Profile<const N: usize> {
    factors: [f32; N],
    sum: f64,
}

impl<const N: usize> Profile<N> {
    fn flat() -> Self {
        Self {
            factors: [1.0; N],
            sum: N as f64,
        }
    }

    fn scale(&self) -> f64 {
        N as f64 / self.sum
    }

    fn factor(&self, at: Position) -> f64 {
        let scale = self.scale();
        let raw = at.weights[0] * f64::from(self.factors[at.slots[0]])
            + at.weights[1] * f64::from(self.factors[at.slots[1]]);
        (raw * scale).max(MIN_FACTOR)
    }

    /// Moves the profile at `at` towards `target` by `rate` (a least-mean-squares step shared
    /// between the two slots by their weights).
    fn learn(&mut self, at: Position, target: f64, rate: f64) {
        let scale = self.scale();
        let error = target - self.factor(at);
        for (slot, weight) in at.slots.into_iter().zip(at.weights) {
            let old = f64::from(self.factors[slot]);
            let new = (old + rate * weight * error / scale).max(MIN_FACTOR / scale);
            self.factors[slot] = new as f32;
            self.sum += f64::from(self.factors[slot]) - old;
        }
    }

    /// Recomputes the running sum, which collects rounding error over millions of updates.
    fn resum(&mut self) {
        self.sum = self.factors.iter().map(|&f| f64::from(f)).sum();
    }
}

/// An online spike detector for one series of counts per bucket: O(1) time per bucket and
/// under a kilobyte of state, so it can run over thousands of series at once.
#[derive(Debug, Clone, PartialEq)]
pub struct Detector {
    config: DetectorConfig,
    first: Option<NaiveDateTime>,
    previous: Option<NaiveDateTime>,
    bucket_seconds: Option<i64>,
    rates: Option<Rates>,
    seen: u32,
    level: f64,
    daily: Profile<HOURS_PER_DAY>,
    weekly: Profile<HOURS_PER_WEEK>,
    /// Exponential averages of `(count − expected)² − expected` and `expected²`: their ratio is
    /// the moment estimate of the negative binomial's dispersion.
    excess_variance: f64,
    squared_mean: f64,
    last_flag: Option<(NaiveDateTime, f64)>,
    tail: TailCalibration,
}

impl Default for Detector {
    fn default() -> Self {
        Self::new(DetectorConfig::default())
    }
}

impl Detector {
    /// A detector with no history.
    pub fn new(config: DetectorConfig) -> Self {
        let bucket_seconds = config.bucket.map(|b| b.num_seconds().max(1));
        let rates = bucket_seconds.map(|s| Rates::new(&config, s));
        Self {
            first: None,
            previous: None,
            bucket_seconds,
            rates,
            seen: 0,
            level: 0.0,
            daily: Profile::flat(),
            weekly: Profile::flat(),
            excess_variance: 0.0,
            squared_mean: 0.0,
            last_flag: None,
            tail: TailCalibration::new(config.tail_reference),
            config,
        }
    }

    /// The configuration in force.
    pub fn config(&self) -> &DetectorConfig {
        &self.config
    }

    /// The bucket width, given or inferred so far.
    pub fn bucket(&self) -> Option<TimeDelta> {
        self.bucket_seconds.map(TimeDelta::seconds)
    }

    /// Number of buckets taken.
    pub fn history(&self) -> u32 {
        self.seen
    }

    /// The start of the last bucket taken.
    pub fn last_bucket(&self) -> Option<NaiveDateTime> {
        self.previous
    }

    /// The deseasonalised level: the expected count of an average bucket.
    pub fn level(&self) -> f64 {
        self.level
    }

    /// Scores the bucket starting at `at` (wall-clock time in the zone whose daily rhythm the
    /// series follows) with `count` events, then learns from it.
    pub fn observe(&mut self, at: NaiveDateTime, count: f64) -> Result<Observation, DetectorError> {
        if !count.is_finite() || count < 0.0 {
            return Err(DetectorError::InvalidCount { at, count });
        }
        if let Some(previous) = self.previous {
            if at <= previous {
                return Err(DetectorError::OutOfOrder { at, previous });
            }
            if self.config.bucket.is_none() {
                let gap = (at - previous).num_seconds().max(1);
                if self.bucket_seconds.is_none_or(|b| gap < b) {
                    self.bucket_seconds = Some(gap);
                    self.rates = Some(Rates::new(&self.config, gap));
                }
            }
        }
        let first = *self.first.get_or_insert(at);
        self.previous = Some(at);

        let Some(rates) = self.rates else {
            // The very first bucket of a series without a given width: nothing to compare with.
            self.seen = 1;
            self.level = count;
            return Ok(self.unscored(count));
        };
        let (daily_at, weekly_at) = self.positions(at);
        let daily = if rates.use_daily {
            self.daily.factor(daily_at)
        } else {
            1.0
        };
        let weekly = if rates.use_weekly {
            self.weekly.factor(weekly_at)
        } else {
            1.0
        };
        let season = daily * weekly;
        let expected = (self.level * season).max(MIN_EXPECTED);
        let forecast = Forecast {
            expected,
            season,
            daily,
            weekly,
            daily_at,
            weekly_at,
        };
        let dispersion = self.dispersion();
        let distribution = CountDistribution::new(expected, dispersion);

        let ln_tail = distribution.ln_upper_tail(count);
        let raw_surprise = -ln_tail / std::f64::consts::LN_10;
        let warming_up =
            at - first < self.config.warm_up || self.seen < self.config.min_history.max(1);
        let surprise = self.tail.calibrate(raw_surprise);
        if !warming_up {
            // Surprises of an unsettled model say nothing about the series' own tail.
            let step = rate(
                rates.bucket_seconds,
                seconds(self.config.calibration_half_life),
            );
            self.tail.learn(raw_surprise, step);
        }
        let score = (1.0 - 10f64.powf(-surprise)).clamp(0.0, 1.0);
        let anomalous = !warming_up
            && score >= self.config.threshold
            && count - expected >= self.config.min_excess;
        let policy = CooldownPolicy {
            period: self.config.cooldown,
            stronger_by: self.config.stronger_by,
        };
        let flag = anomalous && policy.admits(self.last_flag, at, surprise);
        if flag {
            self.last_flag = Some((at, surprise));
        }
        let (low, high) = self.config.typical_percentiles;
        let observation = Observation {
            count,
            expected,
            typical_low: distribution.quantile(low),
            typical_high: distribution.quantile(high),
            score,
            surprise,
            anomalous,
            flag,
            warming_up,
        };

        self.learn(count, &forecast, rates);
        Ok(observation)
    }

    fn unscored(&self, count: f64) -> Observation {
        Observation {
            count,
            expected: count,
            typical_low: 0,
            typical_high: 0,
            score: 0.0,
            surprise: 0.0,
            anomalous: false,
            flag: false,
            warming_up: true,
        }
    }

    fn positions(&self, at: NaiveDateTime) -> (Position, Position) {
        // A bucket sits at its midpoint: an hourly bucket at 14:00 belongs wholly to 14:00–15:00.
        let middle = at + TimeDelta::seconds(self.bucket_seconds.unwrap_or(0) / 2);
        let hour_of_day = f64::from(middle.num_seconds_from_midnight()) / 3600.0;
        let day_of_week = f64::from(middle.weekday().num_days_from_monday());
        (
            Position::on_cycle(hour_of_day, HOURS_PER_DAY),
            Position::on_cycle(day_of_week * 24.0 + hour_of_day, HOURS_PER_WEEK),
        )
    }

    fn dispersion(&self) -> f64 {
        if self.squared_mean <= 0.0 {
            return 1.0;
        }
        (self.excess_variance / self.squared_mean).clamp(0.0, MAX_DISPERSION)
    }

    fn learn(&mut self, count: f64, forecast: &Forecast, rates: Rates) {
        let Forecast {
            expected,
            season,
            daily,
            weekly,
            daily_at,
            weekly_at,
        } = *forecast;
        self.seen = self.seen.saturating_add(1);
        let seen = f64::from(self.seen);
        let clipped = if self.seen > self.config.min_history {
            let spread =
                self.config.clip * CountDistribution::new(expected, self.dispersion()).std_dev();
            count.clamp((expected - spread).max(0.0), expected + spread)
        } else {
            count
        };

        // For the first day the level is a plain running mean, so that the daily profile can
        // learn the shape of the day instead of the level chasing it.
        let level_rate = if seen < rates.buckets_per_day {
            1.0 / seen
        } else {
            rates.level.max(1.0 / seen)
        };
        let old_level = self.level.max(MIN_EXPECTED);
        self.level += level_rate * (clipped / season - self.level);
        self.level = self.level.max(0.0);

        if rates.use_daily {
            let visits = seen / HOURS_PER_DAY as f64;
            let daily_rate = rates.daily.max(1.0 / (1.0 + visits));
            self.daily
                .learn(daily_at, clipped / (old_level * weekly), daily_rate);
        }
        if rates.use_weekly {
            let visits = seen / HOURS_PER_WEEK as f64;
            let weekly_rate = rates.weekly.max(1.0 / (WEEKLY_PRIOR_VISITS + visits));
            self.weekly
                .learn(weekly_at, clipped / (old_level * daily), weekly_rate);
        }
        if self.seen.is_multiple_of(4096) {
            self.daily.resum();
            self.weekly.resum();
        }

        let dispersion_rate = rates.dispersion.max(1.0 / seen);
        let residual = clipped - expected;
        self.excess_variance +=
            dispersion_rate * (residual * residual - expected - self.excess_variance);
        self.squared_mean += dispersion_rate * (expected * expected - self.squared_mean);
    }
}

/// Plain-English account of a bucket, e.g. "reports on scams from DE: 412 in the last hour,
/// typically 35–60 on a Monday at 14:00". `at` is the start of the bucket and `bucket` its width.
pub fn explain(
    label: &str,
    at: NaiveDateTime,
    bucket: TimeDelta,
    observation: &Observation,
) -> String {
    let typical = if observation.typical_low == observation.typical_high {
        format!("{}", observation.typical_low)
    } else {
        format!("{}–{}", observation.typical_low, observation.typical_high)
    };
    format!(
        "{label}: {} {}, typically {typical} on a {} at {}",
        format_count(observation.count),
        bucket_wording(bucket),
        at.format("%A"),
        at.format("%H:%M"),
    )
}

fn format_count(count: f64) -> String {
    if count.fract() == 0.0 {
        format!("{count:.0}")
    } else {
        format!("{count:.1}")
    }
}

/// "in the last hour", "in the last 5 minutes", "in the last 2 days".
pub fn bucket_wording(bucket: TimeDelta) -> String {
    let seconds = bucket.num_seconds();
    let (amount, unit) = if seconds > 0 && seconds % 604_800 == 0 {
        (seconds / 604_800, "week")
    } else if seconds > 0 && seconds % 86_400 == 0 {
        (seconds / 86_400, "day")
    } else if seconds > 0 && seconds % 3600 == 0 {
        (seconds / 3600, "hour")
    } else if seconds > 0 && seconds % 60 == 0 {
        (seconds / 60, "minute")
    } else {
        (seconds.max(1), "second")
    };
    if amount == 1 {
        format!("in the last {unit}")
    } else {
        format!("in the last {amount} {unit}s")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::NaiveDate;

    fn monday() -> NaiveDateTime {
        NaiveDate::from_ymd_opt(2026, 3, 2)
            .and_then(|d| d.and_hms_opt(0, 0, 0))
            .expect("valid date")
    }

    #[test]
    fn rejects_buckets_out_of_order_and_bad_counts() {
        let mut detector = Detector::default();
        let t = monday();
        assert!(detector.observe(t, 1.0).is_ok());
        assert_eq!(
            detector.observe(t, 1.0),
            Err(DetectorError::OutOfOrder { at: t, previous: t })
        );
        assert!(matches!(
            detector.observe(t + TimeDelta::hours(1), -1.0),
            Err(DetectorError::InvalidCount { .. })
        ));
        assert!(matches!(
            detector.observe(t + TimeDelta::hours(1), f64::NAN),
            Err(DetectorError::InvalidCount { .. })
        ));
    }

    #[test]
    fn infers_the_bucket_width_from_the_smallest_gap() {
        let mut detector = Detector::default();
        let t = monday();
        for (i, minutes) in [0, 10, 15, 20].into_iter().enumerate() {
            detector
                .observe(t + TimeDelta::minutes(minutes), i as f64)
                .expect("in order");
        }
        assert_eq!(detector.bucket(), Some(TimeDelta::minutes(5)));
    }

    #[test]
    fn never_flags_during_warm_up() {
        let mut detector = Detector::default();
        let t = monday();
        for hour in 0..47 {
            let count = if hour == 30 { 10_000.0 } else { 10.0 };
            let observation = detector
                .observe(t + TimeDelta::hours(hour), count)
                .expect("in order");
            assert!(observation.warming_up, "hour {hour}");
            assert!(!observation.flag, "hour {hour}");
        }
    }

    #[test]
    fn state_is_small_and_fixed() {
        // Profiles of 24 and 168 factors, a few moments and the configuration, all inline.
        assert!(
            std::mem::size_of::<Detector>() <= 1280,
            "{}",
            std::mem::size_of::<Detector>()
        );
    }

    #[test]
    fn hourly_profile_learns_the_shape_of_the_day() {
        let mut detector = Detector::default();
        let t = monday();
        let mut last_noon = None;
        for hour in 0..(24 * 14) {
            let count = if hour % 24 == 12 { 100.0 } else { 10.0 };
            let observation = detector
                .observe(t + TimeDelta::hours(hour), count)
                .expect("in order");
            if hour % 24 == 12 {
                last_noon = Some(observation);
            }
        }
        let noon = last_noon.expect("noon seen");
        assert!((noon.expected - 100.0).abs() < 15.0, "{noon:?}");
        assert!(!noon.anomalous);
    }

    #[test]
    fn profile_positions_interpolate_between_slot_centres() {
        let at = Position::on_cycle(14.5, 24);
        assert_eq!(at.slots, [14, 15]);
        assert!(at.weights[0] > 0.999);
        let at = Position::on_cycle(0.25, 24);
        assert_eq!(at.slots, [23, 0]);
        assert!((at.weights[0] - 0.25).abs() < 1e-12);
    }

    #[test]
    fn wording_of_bucket_widths() {
        assert_eq!(bucket_wording(TimeDelta::hours(1)), "in the last hour");
        assert_eq!(
            bucket_wording(TimeDelta::minutes(5)),
            "in the last 5 minutes"
        );
        assert_eq!(bucket_wording(TimeDelta::days(2)), "in the last 2 days");
        assert_eq!(
            bucket_wording(TimeDelta::seconds(30)),
            "in the last 30 seconds"
        );
    }

    #[test]
    fn explanation_names_count_range_weekday_and_time() {
        let observation = Observation {
            count: 412.0,
            expected: 47.0,
            typical_low: 35,
            typical_high: 60,
            score: 1.0,
            surprise: 80.0,
            anomalous: true,
            flag: true,
            warming_up: false,
        };
        let at = monday() + TimeDelta::hours(14);
        assert_eq!(
            explain(
                "reports on scams from DE",
                at,
                TimeDelta::hours(1),
                &observation
            ),
            "reports on scams from DE: 412 in the last hour, typically 35–60 on a Monday at 14:00"
        );
    }
}
