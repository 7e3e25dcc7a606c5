//! Requests per caller: a token bucket for each API token, each console session and each client
//! address sending requests without a credential, so a flood from one caller is refused (429) while
//! everyone else is served. Buckets are plain values and taking from one is a function of the bucket
//! and the time; the edge keeps them in a map behind a lock.

use std::collections::HashMap;
use std::hash::{BuildHasher, RandomState};
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// A sustained rate and how many requests may come at once.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Rate {
    pub per_second: f64,
    pub burst: f64,
}

impl Rate {
    pub fn new(per_second: u32, burst: u32) -> Self {
        Self {
            per_second: f64::from(per_second.max(1)),
            burst: f64::from(burst.max(1)),
        }
    }
}

/// The tokens a bucket held at an instant.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Bucket {
    tokens: f64,
    at: Instant,
}

impl Bucket {
    pub fn full(rate: Rate, now: Instant) -> Self {
        Self {
            tokens: rate.burst,
            at: now,
        }
    }

    /// The tokens at `now`: refilled at the rate since the last take, never above the burst.
    fn level(self, rate: Rate, now: Instant) -> f64 {
        let refill = now.saturating_duration_since(self.at).as_secs_f64() * rate.per_second;
        (self.tokens + refill).min(rate.burst)
    }

    /// Takes one request's token at `now`: the bucket after it, or how long until there is one.
    pub fn take(self, rate: Rate, now: Instant) -> Result<Self, Duration> {
        let tokens = self.level(rate, now);
        if tokens >= 1.0 {
            Ok(Self {
                tokens: tokens - 1.0,
                at: now,
            })
        } else {
            Err(Duration::from_secs_f64((1.0 - tokens) / rate.per_second))
        }
    }

    /// Whether the bucket can be forgotten: full again, and unused for a while.
    fn is_idle(self, rate: Rate, now: Instant) -> bool {
        now.saturating_duration_since(self.at) >= FORGET_AFTER
            && self.level(rate, now) >= rate.burst
    }
}

/// How a request was let through.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Admission {
    /// Counted against its caller's bucket.
    Counted,
    /// Its credential is new: counted by [`Buckets::settle`] once it is known to be genuine or not.
    Unproven,
}

/// Who a request is counted against.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Caller {
    /// An API token or console session, by a keyed hash of its secret: the secret is not kept.
    Credential(u64),
    /// A client address, for requests without a credential.
    Address(IpAddr),
}

/// The buckets of every caller seen lately. Idle buckets are dropped now and then: a caller whose
/// bucket is full again is as if never seen, so the map holds only callers active lately.
#[derive(Debug)]
pub struct Buckets {
    credential: Rate,
    anonymous: Rate,
    map: HashMap<Caller, Bucket>,
    prune_at: usize,
}

/// The map is pruned when it has grown to this many callers, or twice as many as after the last
/// pruning: amortised, each request pays for a constant part of it.
const PRUNE_AT_LEAST: usize = 1024;

/// A caller unseen for this long whose bucket is full again is forgotten. Callers in steady use
/// are kept, so their requests are not counted against their address as new ones.
const FORGET_AFTER: Duration = Duration::from_secs(60);

impl Buckets {
    pub fn new(credential: Rate, anonymous: Rate) -> Self {
        Self {
            credential,
            anonymous,
            map: HashMap::new(),
            prune_at: PRUNE_AT_LEAST,
        }
    }

    /// Admits one request at `now`, from a credential (its hash) or none, sent from `address`; or
    /// says how long to wait.
    ///
    /// A credential not seen lately is not counted yet ([`Admission::Unproven`]): the request
    /// goes ahead if its address could send one without a credential, and [`Buckets::settle`]
    /// counts it once authentication has said whether the credential is genuine. A genuine one
    /// gets a bucket of its own, so any number of reviewers behind one address can start work at
    /// once; a made-up one is counted against its address, so a flood of made-up tokens is
    /// throttled as requests without a credential are.
    pub fn admit(
        &mut self,
        credential: Option<u64>,
        address: IpAddr,
        now: Instant,
    ) -> Result<Admission, Duration> {
        let Some(hash) = credential else {
            return self
                .take(Caller::Address(address), now)
                .map(|()| Admission::Counted);
        };
        let caller = Caller::Credential(hash);
        if self.map.contains_key(&caller) {
            return self.take(caller, now).map(|()| Admission::Counted);
        }
        let by_address = Caller::Address(address);
        let rate = self.rate(by_address);
        match self.map.get(&by_address) {
            Some(bucket) if bucket.level(rate, now) < 1.0 => {
                Err(bucket.take(rate, now).expect_err("an empty bucket"))
            }
            _ => Ok(Admission::Unproven),
        }
    }

    /// Counts a request admitted as [`Admission::Unproven`], once authentication has said whether
    /// its credential is `genuine`. The request has been served either way; what it changes is
    /// whether the next ones are.
    pub fn settle(&mut self, credential: u64, address: IpAddr, genuine: bool, now: Instant) {
        let caller = if genuine {
            Caller::Credential(credential)
        } else {
            Caller::Address(address)
        };
        // Over the limit now only means the next request waits.
        if self.take(caller, now).is_err() {
            self.map.insert(
                caller,
                Bucket {
                    tokens: 0.0,
                    at: now,
                },
            );
        }
    }

    /// The callers with a bucket (for tests and metrics).
    pub fn len(&self) -> usize {
        self.map.len()
    }

    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }

    fn rate(&self, caller: Caller) -> Rate {
        match caller {
            Caller::Credential(_) => self.credential,
            Caller::Address(_) => self.anonymous,
        }
    }

    fn take(&mut self, caller: Caller, now: Instant) -> Result<(), Duration> {
        let rate = self.rate(caller);
        let bucket = self
            .map
            .get(&caller)
            .copied()
            .unwrap_or_else(|| Bucket::full(rate, now));
        let taken = bucket.take(rate, now)?;
        self.map.insert(caller, taken);
        if self.map.len() >= self.prune_at {
            self.prune(now);
        }
        Ok(())
    }

    fn prune(&mut self, now: Instant) {
        let (credential, anonymous) = (self.credential, self.anonymous);
        self.map.retain(|caller, bucket| {
            let rate = match caller {
                Caller::Credential(_) => credential,
                Caller::Address(_) => anonymous,
            };
            !bucket.is_idle(rate, now)
        });
        self.prune_at = (self.map.len() * 2).max(PRUNE_AT_LEAST);
    }
}

/// The buckets shared by every connection of one server.
#[derive(Debug)]
pub struct Throttle {
    hasher: RandomState,
    buckets: Mutex<Buckets>,
}

impl Throttle {
    pub fn new(credential: Rate, anonymous: Rate) -> Self {
        Self {
            hasher: RandomState::new(),
            buckets: Mutex::new(Buckets::new(credential, anonymous)),
        }
    }

    /// Admits one request carrying `secret` (a bearer token or session cookie) or none, from
    /// `address`, now; or says how long to wait. An admission that is not yet counted comes with
    /// the credential's hash, for [`Throttle::settle`].
    pub fn admit(&self, secret: Option<&str>, address: IpAddr) -> Result<Option<u64>, Duration> {
        let credential = secret.map(|s| self.hasher.hash_one(s));
        let admission = self.buckets().admit(credential, address, Instant::now())?;
        Ok(match admission {
            Admission::Counted => None,
            Admission::Unproven => credential,
        })
    }

    /// Counts a request whose credential was new, once it is known whether it is `genuine`.
    pub fn settle(&self, credential: u64, address: IpAddr, genuine: bool) {
        self.buckets()
            .settle(credential, address, genuine, Instant::now());
    }

    fn buckets(&self) -> std::sync::MutexGuard<'_, Buckets> {
        // A poisoned lock only means another request panicked mid-update; the buckets stay usable.
        self.buckets
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// Set on a request by the edge when it carries a credential not seen lately; authentication marks
/// it once the credential proves genuine, so the throttle can count the request where it belongs.
#[derive(Debug, Clone, Default)]
pub struct CredentialCheck(std::sync::Arc<std::sync::atomic::AtomicBool>);

impl CredentialCheck {
    /// Marks the request's credential genuine, if the request is being checked.
    pub fn genuine(extensions: &axum::http::Extensions) {
        if let Some(check) = extensions.get::<Self>() {
            check.0.store(true, std::sync::atomic::Ordering::Relaxed);
        }
    }

    pub fn is_genuine(&self) -> bool {
        self.0.load(std::sync::atomic::Ordering::Relaxed)
    }
}

/// Whole seconds to put in `Retry-After`: rounded up, at least one.
pub fn retry_after_secs(wait: Duration) -> u64 {
    wait.as_secs_f64().ceil().max(1.0) as u64
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::Ipv4Addr;

    const HERE: IpAddr = IpAddr::V4(Ipv4Addr::LOCALHOST);
    const THERE: IpAddr = IpAddr::V4(Ipv4Addr::new(127, 0, 0, 2));

    /// A request as the edge handles it, its credential (if new) proving `genuine` or not.
    fn request(
        buckets: &mut Buckets,
        credential: Option<u64>,
        genuine: bool,
        now: Instant,
    ) -> Result<(), Duration> {
        if buckets.admit(credential, HERE, now)? == Admission::Unproven {
            buckets.settle(credential.expect("a credential"), HERE, genuine, now);
        }
        Ok(())
    }

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    /// Equal but for floating-point rounding.
    fn about(actual: Duration, expected: Duration) {
        let off = actual.abs_diff(expected);
        assert!(
            off < Duration::from_micros(1),
            "{actual:?} is not {expected:?}"
        );
    }

    #[test]
    fn a_bucket_gives_its_burst_at_once_then_one_per_interval() {
        let rate = Rate::new(10, 3);
        let t0 = Instant::now();
        let mut b = Bucket::full(rate, t0);
        for _ in 0..3 {
            b = b.take(rate, t0).unwrap();
        }
        about(b.take(rate, t0).unwrap_err(), ms(100));
        // Half an interval later it is still empty, and says how much longer.
        about(b.take(rate, t0 + ms(50)).unwrap_err(), ms(50));
        b = b.take(rate, t0 + ms(100)).unwrap();
        assert!(b.take(rate, t0 + ms(100)).is_err());
    }

    #[test]
    fn an_idle_bucket_refills_only_up_to_its_burst() {
        let rate = Rate::new(10, 3);
        let t0 = Instant::now();
        let mut b = Bucket::full(rate, t0).take(rate, t0).unwrap();
        let later = t0 + Duration::from_secs(60);
        for _ in 0..3 {
            b = b.take(rate, later).unwrap();
        }
        assert!(b.take(rate, later).is_err());
    }

    #[test]
    fn one_callers_flood_leaves_the_others_alone() {
        let t0 = Instant::now();
        let mut buckets = Buckets::new(Rate::new(100, 5), Rate::new(1, 2));
        let mut admitted = 0;
        for _ in 0..50 {
            if request(&mut buckets, Some(1), true, t0).is_ok() {
                admitted += 1;
            }
        }
        assert_eq!(admitted, 5);
        assert!(request(&mut buckets, Some(2), true, t0).is_ok());
        // Ten milliseconds at 100/s is one more for the flooder.
        assert!(request(&mut buckets, Some(1), true, t0 + ms(10)).is_ok());
        assert!(request(&mut buckets, Some(1), true, t0 + ms(10)).is_err());
    }

    #[test]
    fn requests_without_a_credential_count_per_address() {
        let t0 = Instant::now();
        let mut buckets = Buckets::new(Rate::new(100, 100), Rate::new(1, 2));
        assert!(buckets.admit(None, HERE, t0).is_ok());
        assert!(buckets.admit(None, HERE, t0).is_ok());
        about(
            buckets.admit(None, HERE, t0).unwrap_err(),
            Duration::from_secs(1),
        );
        assert!(buckets.admit(None, THERE, t0).is_ok());
        // A known credential from the same address is not held back by it.
        let mut known = Buckets::new(Rate::new(100, 100), Rate::new(1, 2));
        assert!(request(&mut known, Some(7), true, t0).is_ok());
        for _ in 0..2 {
            let _ = known.admit(None, HERE, t0);
        }
        assert!(known.admit(None, HERE, t0).is_err());
        assert!(request(&mut known, Some(7), true, t0).is_ok());
    }

    #[test]
    fn made_up_credentials_are_throttled_as_their_address() {
        let t0 = Instant::now();
        let mut buckets = Buckets::new(Rate::new(100, 100), Rate::new(1, 3));
        let admitted = (0..100)
            .filter(|n| request(&mut buckets, Some(*n), false, t0).is_ok())
            .count();
        assert_eq!(admitted, 3);
        // Genuine or not, a new credential from that address now waits; from another it does not.
        assert!(request(&mut buckets, Some(999), true, t0).is_err());
        assert!(buckets.admit(Some(1000), THERE, t0).is_ok());
    }

    #[test]
    fn any_number_of_genuine_newcomers_behind_one_address_start_at_once() {
        let t0 = Instant::now();
        let mut buckets = Buckets::new(Rate::new(100, 100), Rate::new(1, 3));
        // 256 reviewers behind one proxy send their first requests together.
        let first: Vec<_> = (0..256).map(|n| buckets.admit(Some(n), HERE, t0)).collect();
        assert!(first.iter().all(|a| *a == Ok(Admission::Unproven)));
        for n in 0..256 {
            buckets.settle(n, HERE, true, t0);
        }
        // Each has a bucket of its own now, and the address's allowance is untouched.
        for n in 0..256 {
            assert_eq!(buckets.admit(Some(n), HERE, t0), Ok(Admission::Counted));
        }
        for _ in 0..3 {
            assert!(buckets.admit(None, HERE, t0).is_ok());
        }
    }

    #[test]
    fn callers_gone_quiet_are_forgotten() {
        let t0 = Instant::now();
        // The address refills slowly: 100 tokens take 100 s to come back.
        let mut buckets = Buckets::new(Rate::new(1000, 10), Rate::new(1, 10_000));
        for n in 0..100 {
            request(&mut buckets, Some(n), true, t0).unwrap();
        }
        assert_eq!(buckets.len(), 100);
        // Full again but seen just now: kept.
        buckets.prune(t0 + ms(5));
        assert_eq!(buckets.len(), 100);
        // A minute on, the credentials not used since are forgotten; the one in use and the
        // address (charged for 100 made-up credentials), whose bucket is not yet full, are kept.
        for n in 1000..1100 {
            request(&mut buckets, Some(n), false, t0).unwrap();
        }
        request(&mut buckets, Some(7), true, t0 + FORGET_AFTER).unwrap();
        buckets.prune(t0 + FORGET_AFTER + ms(5));
        assert_eq!(buckets.len(), 2);
        buckets.prune(t0 + Duration::from_secs(200));
        assert!(buckets.is_empty());
    }

    #[test]
    fn a_stream_of_new_callers_does_not_grow_the_map_without_bound() {
        let t0 = Instant::now();
        let mut buckets = Buckets::new(Rate::new(1000, 10), Rate::new(1000, 10));
        // A new caller every 10 ms for ten minutes: about 6,000 of them seen within any minute.
        let per_minute = 6_000;
        for n in 0..60_000u64 {
            request(&mut buckets, Some(n), true, t0 + ms(10 * n)).unwrap();
            assert!(
                buckets.len() <= 2 * per_minute + PRUNE_AT_LEAST,
                "{}",
                buckets.len()
            );
        }
    }

    #[test]
    fn retry_after_is_whole_seconds_rounded_up() {
        assert_eq!(retry_after_secs(ms(1)), 1);
        assert_eq!(retry_after_secs(ms(1000)), 1);
        assert_eq!(retry_after_secs(ms(1001)), 2);
        assert_eq!(retry_after_secs(Duration::ZERO), 1);
    }
}
