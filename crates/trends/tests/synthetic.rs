//! The detector on synthetic series whose truth is known: seasonal Poisson counts with a
//! planted spike, a near-silent series with a small blip, and a lasting change of level.

use chrono::{NaiveDate, NaiveDateTime, TimeDelta};
use trends::{Detector, DetectorConfig, Observation, explain};

/// A small deterministic generator (SplitMix64), so the series are the same on every run.
struct Random(u64);

impl Random {
    fn uniform(&mut self) -> f64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^= z >> 31;
        (z >> 11) as f64 / (1u64 << 53) as f64
    }

    /// A Poisson draw by inversion of the distribution function.
    fn poisson(&mut self, mean: f64) -> f64 {
        let u = self.uniform();
        let mut k = 0u32;
        let mut probability = (-mean).exp();
        let mut cumulative = probability;
        while cumulative < u && k < 10_000 {
            k += 1;
            probability *= mean / f64::from(k);
            cumulative += probability;
        }
        f64::from(k)
    }
}

/// Monday 2 March 2026, midnight.
fn start() -> NaiveDateTime {
    NaiveDate::from_ymd_opt(2026, 3, 2)
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .expect("valid date")
}

/// Expected reports per hour: busy afternoons, quiet nights, quieter weekends.
fn seasonal_rate(at: NaiveDateTime, base: f64) -> f64 {
    use chrono::{Datelike, Timelike};
    let hour = f64::from(at.hour()) + f64::from(at.minute()) / 60.0;
    let daily = 1.0 + 0.7 * ((hour - 8.0) / 24.0 * std::f64::consts::TAU).sin();
    let weekly = if at.weekday().num_days_from_monday() >= 5 {
        0.6
    } else {
        1.0
    };
    base * daily * weekly
}

fn run(
    buckets: usize,
    width: TimeDelta,
    mut count: impl FnMut(NaiveDateTime) -> f64,
) -> Vec<(NaiveDateTime, Observation)> {
    let mut detector = Detector::new(DetectorConfig::default());
    (0..buckets)
        .map(|i| {
            let at = start() + width * i as i32;
            let observation = detector.observe(at, count(at)).expect("in order, valid");
            (at, observation)
        })
        .collect()
}

fn flags(series: &[(NaiveDateTime, Observation)]) -> Vec<NaiveDateTime> {
    series
        .iter()
        .filter(|(_, o)| o.flag)
        .map(|(at, _)| *at)
        .collect()
}

/// A seasonal Poisson series of `buckets` buckets, `factor` times its rate at `spike`; asserts
/// the spike is flagged and hardly anything else is, and returns the observations.
fn planted_spike(
    buckets: usize,
    width: TimeDelta,
    spike: NaiveDateTime,
    factor: f64,
    seed: u64,
) -> Vec<(NaiveDateTime, Observation)> {
    let mut random = Random(seed);
    let series = run(buckets, width, |at| {
        let rate = seasonal_rate(at, 40.0);
        random.poisson(if at == spike { rate * factor } else { rate })
    });
    let flagged = flags(&series);
    assert!(
        flagged.contains(&spike),
        "spike not flagged; flags: {flagged:?}"
    );
    assert!(flagged.len() <= 3, "too many flags: {flagged:?}");
    series
}

#[test]
fn hourly_seasonal_spike_is_flagged_and_little_else() {
    let spike = start() + TimeDelta::days(21) + TimeDelta::hours(14);
    let series = planted_spike(24 * 28, TimeDelta::hours(1), spike, 5.0, 7);
    let (_, observation) = series
        .iter()
        .find(|(at, _)| *at == spike)
        .expect("spike bucket");
    let typical = seasonal_rate(spike, 40.0);
    assert!(
        (observation.expected - typical).abs() < 0.2 * typical,
        "expected {} vs true rate {typical}",
        observation.expected
    );
    assert!(
        observation.typical_low as f64 <= typical && typical <= observation.typical_high as f64
    );
}

#[test]
fn five_minute_seasonal_spike_is_flagged_and_little_else() {
    let spike = start() + TimeDelta::days(10) + TimeDelta::hours(15) + TimeDelta::minutes(35);
    planted_spike(288 * 14, TimeDelta::minutes(5), spike, 8.0, 11);
}

#[test]
fn a_spike_is_not_learned_into_the_baseline() {
    let spike_day = 14;
    let mut random = Random(3);
    let series = run(24 * 21, TimeDelta::hours(1), |at| {
        let rate = seasonal_rate(at, 40.0);
        let in_spike = at >= start() + TimeDelta::days(spike_day) + TimeDelta::hours(12)
            && at < start() + TimeDelta::days(spike_day) + TimeDelta::hours(15);
        random.poisson(if in_spike { rate * 10.0 } else { rate })
    });
    // The same hour one day later is expected about as usual, not ten times higher.
    let next_day = start() + TimeDelta::days(spike_day + 1) + TimeDelta::hours(13);
    let (_, after) = series
        .iter()
        .find(|(at, _)| *at == next_day)
        .expect("bucket exists");
    let typical = seasonal_rate(next_day, 40.0);
    assert!(
        after.expected < 1.4 * typical,
        "expected {} a day after the spike, usually {typical}",
        after.expected
    );
}

#[test]
fn a_small_blip_on_a_quiet_series_is_not_a_spike() {
    let blip = start() + TimeDelta::days(10) + TimeDelta::hours(3);
    let mut random = Random(5);
    let series = run(24 * 14, TimeDelta::hours(1), |at| {
        if at == blip { 3.0 } else { random.poisson(0.2) }
    });
    let (_, observation) = series
        .iter()
        .find(|(at, _)| *at == blip)
        .expect("blip bucket");
    assert!(
        !observation.anomalous && !observation.flag,
        "{observation:?}"
    );
    assert!(flags(&series).is_empty(), "flags: {:?}", flags(&series));
}

#[test]
fn forty_to_four_hundred_is_a_spike() {
    let spike = start() + TimeDelta::days(7) + TimeDelta::hours(10);
    let mut random = Random(9);
    let series = run(24 * 8, TimeDelta::hours(1), |at| {
        if at == spike {
            400.0
        } else {
            random.poisson(40.0)
        }
    });
    assert_eq!(flags(&series), vec![spike]);
}

#[test]
fn a_lasting_level_shift_is_absorbed() {
    let shift = start() + TimeDelta::days(14);
    let mut random = Random(13);
    let series = run(24 * 28, TimeDelta::hours(1), |at| {
        random.poisson(if at < shift { 20.0 } else { 80.0 })
    });
    let flagged = flags(&series);
    assert!(
        flagged
            .first()
            .is_some_and(|at| *at >= shift && *at < shift + TimeDelta::hours(3)),
        "the shift is flagged when it happens: {flagged:?}"
    );
    // One flag for the episode, and after a while the new level is simply the level.
    let late_anomalies = series
        .iter()
        .filter(|(at, o)| *at >= shift + TimeDelta::days(3) && o.anomalous)
        .count();
    assert_eq!(late_anomalies, 0);
    assert!(flagged.len() <= 2, "flags: {flagged:?}");
    let (_, last) = series.last().expect("non-empty");
    assert!(
        (last.expected - 80.0).abs() < 12.0,
        "expected {}",
        last.expected
    );
}

#[test]
fn the_explanation_reads_right() {
    let spike = start() + TimeDelta::days(21) + TimeDelta::hours(14);
    let mut random = Random(21);
    let series = run(24 * 22, TimeDelta::hours(1), |at| {
        if at == spike {
            412.0
        } else {
            random.poisson(seasonal_rate(at, 40.0))
        }
    });
    let (at, observation) = series
        .iter()
        .find(|(at, _)| *at == spike)
        .expect("spike bucket");
    assert!(observation.flag);
    let sentence = explain(
        "reports on scams from DE",
        *at,
        TimeDelta::hours(1),
        observation,
    );
    let expected = format!(
        "reports on scams from DE: 412 in the last hour, typically {}–{} on a Monday at 14:00",
        observation.typical_low, observation.typical_high
    );
    assert_eq!(sentence, expected);
    // The typical range brackets the true rate of a Monday at 14:00.
    let typical = seasonal_rate(spike, 40.0);
    assert!((observation.typical_low as f64) < typical);
    assert!((observation.typical_high as f64) > typical);
    assert!(observation.typical_high < 150);
}
