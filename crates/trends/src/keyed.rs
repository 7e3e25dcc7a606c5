//! Many series at once: one detector per key (a `(policy, region, source)` tuple, a subject, a
//! term…), fed a whole bucket of counts at a time, with a cap on the number of keys.

use std::collections::HashMap;
use std::hash::Hash;

use chrono::NaiveDateTime;

use crate::detector::{Detector, DetectorConfig, DetectorError, Observation};

#[derive(Debug, Clone)]
struct Tracked {
    detector: Detector,
    /// Start of the last bucket in which the key had a non-zero count.
    last_active: NaiveDateTime,
}

/// One detector per key, at most `capacity` keys. When a bucket brings the number of keys over
/// the cap, the keys least recently active (last non-zero count) are forgotten, the quietest
/// first among those equally stale.
#[derive(Debug, Clone)]
pub struct KeyedDetectors<K> {
    config: DetectorConfig,
    capacity: usize,
    tracked: HashMap<K, Tracked>,
    last_bucket: Option<NaiveDateTime>,
}

impl<K: Clone + Eq + Hash> KeyedDetectors<K> {
    /// No keys yet; each new key gets a detector with `config`. A capacity of 0 is taken as 1.
    pub fn new(config: DetectorConfig, capacity: usize) -> Self {
        Self {
            config,
            capacity: capacity.max(1),
            tracked: HashMap::new(),
            last_bucket: None,
        }
    }

    /// Keys tracked now.
    pub fn len(&self) -> usize {
        self.tracked.len()
    }

    /// No key tracked.
    pub fn is_empty(&self) -> bool {
        self.tracked.is_empty()
    }

    /// The cap on keys.
    pub fn capacity(&self) -> usize {
        self.capacity
    }

    /// The detector of a key, if it is tracked.
    pub fn detector(&self, key: &K) -> Option<&Detector> {
        self.tracked.get(key).map(|t| &t.detector)
    }

    /// Whether a key is tracked.
    pub fn contains(&self, key: &K) -> bool {
        self.tracked.contains_key(key)
    }

    /// Feeds the bucket starting at `at`: each key's count (counts for the same key are
    /// added), 0 for every tracked key absent from `counts`. Returns one observation per key fed,
    /// in no particular order. Buckets must come in increasing time order; a refused bucket
    /// changes nothing.
    pub fn observe_bucket<I>(
        &mut self,
        at: NaiveDateTime,
        counts: I,
    ) -> Result<Vec<(K, Observation)>, DetectorError>
    where
        I: IntoIterator<Item = (K, f64)>,
    {
        if let Some(previous) = self.last_bucket
            && at <= previous
        {
            return Err(DetectorError::OutOfOrder { at, previous });
        }
        let mut bucket: HashMap<K, f64> = HashMap::new();
        for (key, count) in counts {
            if !count.is_finite() || count < 0.0 {
                return Err(DetectorError::InvalidCount { at, count });
            }
            *bucket.entry(key).or_insert(0.0) += count;
        }
        self.last_bucket = Some(at);

        let mut observations = Vec::with_capacity(self.tracked.len() + bucket.len());
        for (key, tracked) in &mut self.tracked {
            let count = bucket.remove(key).unwrap_or(0.0);
            if count > 0.0 {
                tracked.last_active = at;
            }
            observations.push((key.clone(), tracked.detector.observe(at, count)?));
        }
        for (key, count) in bucket {
            let mut detector = Detector::new(self.config.clone());
            let observation = detector.observe(at, count)?;
            self.tracked.insert(
                key.clone(),
                Tracked {
                    detector,
                    last_active: at,
                },
            );
            observations.push((key, observation));
        }
        self.evict();
        Ok(observations)
    }

    fn evict(&mut self) {
        let excess = self.tracked.len().saturating_sub(self.capacity);
        if excess == 0 {
            return;
        }
        let mut candidates: Vec<(NaiveDateTime, f64, K)> = self
            .tracked
            .iter()
            .map(|(key, t)| (t.last_active, t.detector.level(), key.clone()))
            .collect();
        candidates.sort_by(|a, b| a.0.cmp(&b.0).then(a.1.total_cmp(&b.1)));
        for (_, _, key) in candidates.into_iter().take(excess) {
            self.tracked.remove(&key);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{NaiveDate, TimeDelta};

    fn hour(h: i64) -> NaiveDateTime {
        NaiveDate::from_ymd_opt(2026, 3, 2)
            .and_then(|d| d.and_hms_opt(0, 0, 0))
            .expect("valid date")
            + TimeDelta::hours(h)
    }

    #[test]
    fn absent_keys_count_as_zero() {
        let mut keyed = KeyedDetectors::new(DetectorConfig::default(), 10);
        keyed
            .observe_bucket(hour(0), [("a", 5.0), ("b", 2.0)])
            .expect("in order");
        let observations = keyed
            .observe_bucket(hour(1), [("a", 4.0)])
            .expect("in order");
        let b = observations
            .iter()
            .find(|(k, _)| *k == "b")
            .map(|(_, o)| o.count);
        assert_eq!(b, Some(0.0));
        assert_eq!(keyed.detector(&"b").map(Detector::history), Some(2));
    }

    #[test]
    fn counts_for_one_key_in_one_bucket_add_up() {
        let mut keyed = KeyedDetectors::new(DetectorConfig::default(), 10);
        let observations = keyed
            .observe_bucket(hour(0), [("a", 2.0), ("a", 3.0)])
            .expect("in order");
        assert_eq!(observations.len(), 1);
        assert_eq!(observations[0].1.count, 5.0);
    }

    #[test]
    fn the_least_recently_active_keys_are_forgotten_first() {
        let mut keyed = KeyedDetectors::new(DetectorConfig::default(), 2);
        keyed
            .observe_bucket(hour(0), [("old", 1.0)])
            .expect("in order");
        keyed
            .observe_bucket(hour(1), [("busy", 50.0), ("quiet", 1.0)])
            .expect("in order");
        assert_eq!(keyed.len(), 2);
        assert!(!keyed.contains(&"old"));
        // Equally recent: the quieter one goes.
        keyed
            .observe_bucket(hour(2), [("new", 3.0)])
            .expect("in order");
        assert_eq!(keyed.len(), 2);
        assert!(keyed.contains(&"new") && keyed.contains(&"busy"));
        assert!(!keyed.contains(&"quiet"));
    }

    #[test]
    fn a_refused_bucket_changes_nothing() {
        let mut keyed = KeyedDetectors::new(DetectorConfig::default(), 10);
        keyed
            .observe_bucket(hour(1), [("a", 1.0)])
            .expect("in order");
        assert!(matches!(
            keyed.observe_bucket(hour(1), [("b", 1.0)]),
            Err(DetectorError::OutOfOrder { .. })
        ));
        assert!(matches!(
            keyed.observe_bucket(hour(2), [("b", -1.0)]),
            Err(DetectorError::InvalidCount { .. })
        ));
        assert_eq!(keyed.len(), 1);
        assert_eq!(keyed.detector(&"a").map(Detector::history), Some(1));
    }

    #[test]
    fn a_spike_in_one_key_flags_that_key_only() {
        let mut keyed = KeyedDetectors::new(DetectorConfig::default(), 100);
        let mut flagged = Vec::new();
        for h in 0..(24 * 7) {
            let spike = h == 24 * 5 + 10;
            let counts = [
                (
                    ("scam", "DE"),
                    if spike { 400.0 } else { 40.0 + (h % 3) as f64 },
                ),
                (("spam", "FR"), 20.0 + (h % 2) as f64),
            ];
            for (key, observation) in keyed.observe_bucket(hour(h), counts).expect("in order") {
                if observation.flag {
                    flagged.push((key, h));
                }
            }
        }
        assert_eq!(flagged, vec![(("scam", "DE"), 24 * 5 + 10)]);
    }
}
