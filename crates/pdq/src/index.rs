//! An exact index of PDQ hashes: finds every stored hash within a Hamming distance of a query.
//!
//! # How a search works
//!
//! Multi-index hashing (Norouzi, Punjani and Fleet, "Fast search in Hamming space with multi-index
//! hashing", CVPR 2012). A hash is cut into sixteen 16-bit slices. If two hashes differ in at most
//! `d` bits, write `d = 16r + a` with `0 <= a < 16`: then one of the first `a + 1` slices differs
//! in at most `r` bits, or one of the other slices differs in at most `r - 1` bits (otherwise the
//! slices alone would differ in at least `(a + 1)(r + 1) + (15 - a)r = d + 1` bits). So a search
//! looks up, in a table per slice, every stored hash whose slice is within that slice's radius of
//! the query's (for the usual `d = 31`: radius 1 in every slice, 17 buckets per slice) and
//! verifies each candidate with the full 256-bit distance. Nothing within `d` is missed, and
//! nothing beyond `d` is returned.
//!
//! A hash found in several slices is reported only from the lowest slice where it is within that
//! slice's radius, a check on the hash itself: no set of seen candidates is needed.
//!
//! # Layout
//!
//! The hashes are kept in one array in position order (32 bytes each). Each slice table is in
//! compressed sparse row form: 65,537 `u32` offsets and one `u32` position per hash, grouped by
//! the slice's value; 64 bytes a hash for the sixteen tables, so 10 million hashes take 0.96 GB
//! in all (see [`HashIndex::heap_bytes`]).
//!
//! Verifying candidates is random reads over the hash array, and with 4 KiB pages most of them
//! also miss the TLB. Where transparent huge pages are only given on request (`madvise` mode),
//! starting the process with `GLIBC_TUNABLES=glibc.malloc.hugetlb=1` makes the allocator request
//! them: up to 45% more lookups a second at 10 million hashes on the machine measured.
//!
//! # Adding hashes
//!
//! New hashes go to an unindexed tail that every search scans. When the tail reaches
//! [`SEAL_AT`] hashes it is sealed into a segment with its own tables; then, while the newest
//! segment spans more than a quarter ([`MERGE_RATIO`]) of the one before it, the two are merged
//! (bucket by bucket, sequentially). Segment sizes thus fall by a factor of more than four from
//! the oldest to the newest, so a search probes a handful of segments; and every merge a hash
//! takes part in grows its segment by a quarter or more, so over the life of the index a hash is
//! copied at most log base 1.25 of `len / SEAL_AT` times (about 32 at 10 million), a sequential
//! copy of its 64 bytes of table entries. Adding is amortized: never a rebuild per insert. A bulk
//! [`HashIndex::insert_many`] seals its whole run as one segment; [`HashIndex::compact`] merges
//! everything into one.
//!
//! # Scan or look up
//!
//! Per segment, a search estimates both costs before it starts: a look-up costs the buckets
//! probed plus the candidates they hold (counted exactly from the offsets, so skewed data is
//! priced right), a scan costs the hashes in the segment. The cheaper wins. With uniformly spread
//! hashes the crossover measured at 1 and 10 million hashes is between `d = 56` and `d = 60`: a
//! look-up for the usual `d = 31` reads about one hash in 240, while at `d = 64` (radius 4 in one
//! slice, 3 in the others) it would read a fifth of them at random, slower than reading all of
//! them in order. Small segments are scanned when that is cheaper; the tail always is.
//!
//! # Removing and disabling
//!
//! [`HashIndex::remove`] and [`HashIndex::set_enabled`] take effect at once: a bit per position,
//! checked when a hash matches. Positions are never reused; removed hashes are dropped from the
//! slice tables at the next merge, but their 32 bytes stay so positions stay dense.

mod bitset;
mod kernel;
mod segment;

use std::fmt;
use std::ops::Range;
use std::sync::OnceLock;

use bitset::BitSet;
pub use kernel::Kernel;
use segment::{BUCKETS, SLICES, Segment};

use crate::Hash256;

/// The distance under which two PDQ hashes are taken for the same image (the industry threshold).
pub const DEFAULT_MAX_DISTANCE: u32 = 31;

/// How many hashes the unindexed tail may hold before it is sealed into a segment (256 KiB of
/// hashes: a scan of it costs a few microseconds).
pub const SEAL_AT: usize = 8192;

/// A segment is merged into the one before it once it spans more than `1 / MERGE_RATIO` of it.
pub const MERGE_RATIO: usize = 4;

/// The most hashes an index holds: positions are `u32`.
pub const MAX_LEN: usize = u32::MAX as usize;

// Relative costs for choosing between a look-up and a scan, in units of scanning one hash in
// order. Measured with `examples/index_bench.rs --sweep` at 1 and 10 million hashes: a candidate
// is a random read of a hash (a cache miss, partly hidden by prefetching); a probed bucket is two
// offsets and the start of a copy.
const SCAN_COST: u64 = 1;
const CANDIDATE_COST: u64 = 8;
const PROBE_COST: u64 = 8;

/// A stored hash within the distance searched for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Match {
    /// The position [`HashIndex::insert`] returned for the hash.
    pub position: u32,
    /// Its Hamming distance to the query.
    pub distance: u32,
}

/// Matches order by distance, then position: the order searches return them in.
impl Ord for Match {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        (self.distance, self.position).cmp(&(other.distance, other.position))
    }
}

impl PartialOrd for Match {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

/// How a search visits each segment; every strategy returns the same matches.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Strategy {
    /// The cheaper of the two by the segment's own counts.
    #[default]
    Auto,
    /// Always the slice tables.
    MultiIndex,
    /// Always every hash.
    Scan,
}

/// Why an index refused a change.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IndexError {
    #[error("no hash was inserted at position {0}")]
    NoSuchPosition(u32),
    #[error("the hash at position {0} was removed")]
    Removed(u32),
    #[error("an index holds at most {MAX_LEN} hashes")]
    Full,
    #[error("this processor lacks the instructions of the {0:?} kernel")]
    UnsupportedKernel(Kernel),
}

/// An exact index of PDQ hashes by Hamming distance. See the [module documentation](self).
///
/// Searches take `&self` and may run on many threads at once; changes take `&mut self`.
#[derive(Clone)]
pub struct HashIndex {
    /// Every hash ever inserted, at its position.
    hashes: Vec<Hash256>,
    /// Segments over consecutive runs of positions from 0, oldest (largest) first.
    segments: Vec<Segment>,
    /// Where the unindexed tail starts: the end of the last segment.
    tail_start: u32,
    /// Removed positions: they never come back.
    removed: BitSet,
    /// Positions that do not match: removed or disabled.
    dead: BitSet,
    dead_count: usize,
    kernel: Kernel,
}

/// Buffers a search reuses between segments and queries.
#[derive(Default)]
struct Scratch {
    candidates: Vec<u32>,
    hits: Vec<Match>,
}

impl Default for HashIndex {
    fn default() -> Self {
        Self::new()
    }
}

impl HashIndex {
    /// An empty index using the fastest [`Kernel`] this processor has.
    pub fn new() -> Self {
        Self::with_capacity(0)
    }

    /// An empty index with room for `capacity` hashes before the hash array grows.
    pub fn with_capacity(capacity: usize) -> Self {
        Self {
            hashes: Vec::with_capacity(capacity.min(MAX_LEN)),
            segments: Vec::new(),
            tail_start: 0,
            removed: BitSet::default(),
            dead: BitSet::default(),
            dead_count: 0,
            kernel: Kernel::detect(),
        }
    }

    /// How many positions were handed out, removed ones included.
    pub fn len(&self) -> usize {
        self.hashes.len()
    }

    pub fn is_empty(&self) -> bool {
        self.hashes.is_empty()
    }

    /// How many hashes can match: neither removed nor disabled.
    pub fn live_len(&self) -> usize {
        self.hashes.len() - self.dead_count
    }

    /// Adds a hash and returns its position: 0 for the first, then 1, 2, ...
    ///
    /// # Panics
    ///
    /// If the index already holds [`MAX_LEN`] hashes (see [`HashIndex::try_insert`]).
    pub fn insert(&mut self, hash: Hash256) -> u32 {
        self.try_insert(hash).expect("the index is full")
    }

    /// Adds a hash and returns its position, or [`IndexError::Full`].
    pub fn try_insert(&mut self, hash: Hash256) -> Result<u32, IndexError> {
        let position = self.try_insert_many([hash])?;
        Ok(position.start)
    }

    /// Adds hashes in order and returns their positions.
    ///
    /// # Panics
    ///
    /// If they would take the index past [`MAX_LEN`] hashes; then none is added.
    pub fn insert_many(&mut self, hashes: impl IntoIterator<Item = Hash256>) -> Range<u32> {
        self.try_insert_many(hashes).expect("the index is full")
    }

    /// Adds hashes in order and returns their positions, or [`IndexError::Full`] with none added.
    pub fn try_insert_many(
        &mut self,
        hashes: impl IntoIterator<Item = Hash256>,
    ) -> Result<Range<u32>, IndexError> {
        let start = self.hashes.len();
        let hashes = hashes.into_iter();
        self.grow_for(hashes.size_hint().0);
        for hash in hashes {
            if self.hashes.len() == MAX_LEN {
                self.hashes.truncate(start);
                return Err(IndexError::Full);
            }
            if self.hashes.len() == self.hashes.capacity() {
                self.grow_for(1);
            }
            self.hashes.push(hash);
        }
        self.seal_and_merge();
        // Both fit: `len <= MAX_LEN == u32::MAX`.
        Ok(start as u32..self.hashes.len() as u32)
    }

    /// Makes room for `more` hashes. The array grows by an eighth rather than doubling: at 10
    /// million hashes doubling would leave 320 MB unused.
    fn grow_for(&mut self, more: usize) {
        let len = self.hashes.len();
        if more > self.hashes.capacity() - len {
            let step = (len / 8).max(SEAL_AT);
            self.hashes.reserve_exact(more.max(step).min(MAX_LEN - len));
        }
    }

    /// Seals the tail once it is long enough, then merges segments per the policy in the module
    /// documentation.
    fn seal_and_merge(&mut self) {
        if self.hashes.len() - self.tail_start as usize >= SEAL_AT {
            self.seal();
        }
        while let [.., older, newer] = &self.segments[..]
            && newer.span() * MERGE_RATIO > older.span()
        {
            self.merge_last_two();
        }
    }

    fn seal(&mut self) {
        let start = self.tail_start;
        let segment = Segment::build(&self.hashes[start as usize..], start, &self.removed);
        self.tail_start = segment.end;
        self.segments.push(segment);
    }

    fn merge_last_two(&mut self) {
        let newer = self.segments.pop().expect("two segments");
        let older = self.segments.pop().expect("two segments");
        // For a moment both old segments and the merged one are held: merging into a segment of
        // 10 million hashes needs about 0.65 GB beyond the index.
        let merged = older.merge(&newer, &self.removed);
        self.segments.push(merged);
    }

    /// Indexes the tail and merges every segment into one, leaving removed hashes out of the
    /// tables: the fastest layout for searching, at the cost of copying the tables.
    pub fn compact(&mut self) {
        if self.tail_start as usize != self.hashes.len() {
            self.seal();
        }
        while self.segments.len() > 1 {
            self.merge_last_two();
        }
        self.segments.shrink_to_fit();
    }

    /// Removes the hash at `position` for good: it stops matching at once. Returns whether it was
    /// still there (false if it had been removed before).
    pub fn remove(&mut self, position: u32) -> Result<bool, IndexError> {
        self.check(position)?;
        if self.removed.get(position) {
            return Ok(false);
        }
        self.removed.set(position, true);
        if !self.dead.get(position) {
            self.dead.set(position, true);
            self.dead_count += 1;
        }
        Ok(true)
    }

    /// Stops (`false`) or resumes (`true`) matching the hash at `position`, at once. Returns whether
    /// it was enabled before. A removed hash cannot be enabled again: [`IndexError::Removed`].
    pub fn set_enabled(&mut self, position: u32, enabled: bool) -> Result<bool, IndexError> {
        self.check(position)?;
        if self.removed.get(position) {
            return Err(IndexError::Removed(position));
        }
        let was = !self.dead.get(position);
        if was != enabled {
            self.dead.set(position, !enabled);
            if enabled {
                self.dead_count -= 1;
            } else {
                self.dead_count += 1;
            }
        }
        Ok(was)
    }

    fn check(&self, position: u32) -> Result<(), IndexError> {
        if (position as usize) < self.hashes.len() {
            Ok(())
        } else {
            Err(IndexError::NoSuchPosition(position))
        }
    }

    /// The hash at `position`, disabled or not; `None` if removed or never inserted.
    pub fn get(&self, position: u32) -> Option<Hash256> {
        let hash = self.hashes.get(position as usize)?;
        (!self.removed.get(position)).then_some(*hash)
    }

    /// Whether the hash at `position` can match: inserted, not removed, enabled.
    pub fn is_live(&self, position: u32) -> bool {
        (position as usize) < self.hashes.len() && !self.dead.get(position)
    }

    /// Every live hash within `max_distance` of `query` (inclusive), by distance then position.
    ///
    /// A `max_distance` of 256 or more matches every live hash.
    pub fn search(&self, query: &Hash256, max_distance: u32) -> Vec<Match> {
        self.search_with(query, max_distance, Strategy::Auto)
    }

    /// [`HashIndex::search`] with the strategy forced, to compare or measure them.
    pub fn search_with(
        &self,
        query: &Hash256,
        max_distance: u32,
        strategy: Strategy,
    ) -> Vec<Match> {
        let mut out = Vec::new();
        self.search_into(
            query,
            max_distance,
            strategy,
            &mut Scratch::default(),
            &mut out,
        );
        out
    }

    /// [`HashIndex::search`] for each query, reusing buffers between them.
    pub fn search_batch(&self, queries: &[Hash256], max_distance: u32) -> Vec<Vec<Match>> {
        let mut scratch = Scratch::default();
        queries
            .iter()
            .map(|query| {
                let mut out = Vec::new();
                self.search_into(query, max_distance, Strategy::Auto, &mut scratch, &mut out);
                out
            })
            .collect()
    }

    fn search_into(
        &self,
        query: &Hash256,
        max_distance: u32,
        strategy: Strategy,
        scratch: &mut Scratch,
        out: &mut Vec<Match>,
    ) {
        let max_distance = max_distance.min(Hash256::BITS);
        let radii = radii(max_distance);
        for segment in &self.segments {
            let multi_index = match strategy {
                Strategy::Auto => self.look_up_is_cheaper(segment, query, &radii),
                Strategy::MultiIndex => true,
                Strategy::Scan => false,
            };
            if multi_index {
                self.look_up(segment, query, max_distance, &radii, scratch, out);
            } else {
                self.scan(
                    segment.start..segment.end,
                    query,
                    max_distance,
                    scratch,
                    out,
                );
            }
        }
        self.scan(
            self.tail_start..self.hashes.len() as u32,
            query,
            max_distance,
            scratch,
            out,
        );
        out.sort_unstable();
    }

    /// The cost model in the module documentation, counting the candidates bucket by bucket and
    /// stopping as soon as the look-up is known to cost more.
    fn look_up_is_cheaper(
        &self,
        segment: &Segment,
        query: &Hash256,
        radii: &[i32; SLICES],
    ) -> bool {
        let scan = segment.span() as u64 * SCAN_COST;
        let (masks, balls) = masks();
        let probes: u64 = radii
            .iter()
            .filter_map(|&r| usize::try_from(r).ok())
            .map(|r| balls[r] as u64)
            .sum();
        let mut cost = probes * PROBE_COST;
        if cost >= scan {
            return false;
        }
        for (slice, &radius) in radii.iter().enumerate() {
            let Ok(radius) = usize::try_from(radius) else {
                continue;
            };
            let (offsets, _) = segment.slice(slice);
            let value = query.slice16(slice);
            let candidates: u64 = masks[..balls[radius]]
                .iter()
                .map(|&mask| {
                    let bucket = (value ^ mask) as usize;
                    u64::from(offsets[bucket + 1] - offsets[bucket])
                })
                .sum();
            cost += candidates * CANDIDATE_COST;
            if cost >= scan {
                return false;
            }
        }
        true
    }

    fn look_up(
        &self,
        segment: &Segment,
        query: &Hash256,
        max_distance: u32,
        radii: &[i32; SLICES],
        scratch: &mut Scratch,
        out: &mut Vec<Match>,
    ) {
        let (masks, balls) = masks();
        let values: [u16; SLICES] = std::array::from_fn(|slice| query.slice16(slice));
        for (slice, &radius) in radii.iter().enumerate() {
            let Ok(radius) = usize::try_from(radius) else {
                continue;
            };
            let (offsets, positions) = segment.slice(slice);
            // Gather the slice's candidates first so that verifying can prefetch ahead of itself.
            scratch.candidates.clear();
            for &mask in &masks[..balls[radius]] {
                let bucket = (values[slice] ^ mask) as usize;
                let run = offsets[bucket] as usize..offsets[bucket + 1] as usize;
                scratch.candidates.extend_from_slice(&positions[run]);
            }
            scratch.hits.clear();
            kernel::verify(
                self.kernel,
                &self.hashes,
                &scratch.candidates,
                query,
                max_distance,
                &mut scratch.hits,
            );
            for hit in &scratch.hits {
                if self.dead.get(hit.position) {
                    continue;
                }
                // Report a hash only from the first slice whose probe finds it.
                let hash = &self.hashes[hit.position as usize];
                let found_earlier = (0..slice).any(|earlier| {
                    let differ = (hash.slice16(earlier) ^ values[earlier]).count_ones() as i32;
                    differ <= radii[earlier]
                });
                if !found_earlier {
                    out.push(*hit);
                }
            }
        }
    }

    fn scan(
        &self,
        positions: Range<u32>,
        query: &Hash256,
        max_distance: u32,
        scratch: &mut Scratch,
        out: &mut Vec<Match>,
    ) {
        let hashes = &self.hashes[positions.start as usize..positions.end as usize];
        scratch.hits.clear();
        kernel::scan(
            self.kernel,
            hashes,
            positions.start,
            query,
            max_distance,
            &mut scratch.hits,
        );
        out.extend(
            scratch
                .hits
                .iter()
                .filter(|hit| !self.dead.get(hit.position)),
        );
    }

    /// The kernel distances are computed with.
    pub fn kernel(&self) -> Kernel {
        self.kernel
    }

    /// Chooses the kernel, e.g. to compare them; [`IndexError::UnsupportedKernel`] if this
    /// processor lacks its instructions.
    pub fn set_kernel(&mut self, kernel: Kernel) -> Result<(), IndexError> {
        if !kernel.is_supported() {
            return Err(IndexError::UnsupportedKernel(kernel));
        }
        self.kernel = kernel;
        Ok(())
    }

    /// How many segments have slice tables (the tail has none).
    pub fn segment_count(&self) -> usize {
        self.segments.len()
    }

    /// How many of the newest hashes are not yet in a segment (searches scan them).
    pub fn unindexed_len(&self) -> usize {
        self.hashes.len() - self.tail_start as usize
    }

    /// The bytes this index holds on the heap: the hash array (with its spare room), the slice
    /// tables and the bit sets.
    pub fn heap_bytes(&self) -> usize {
        self.hashes.capacity() * size_of::<Hash256>()
            + self.segments.capacity() * size_of::<Segment>()
            + self.segments.iter().map(Segment::heap_bytes).sum::<usize>()
            + self.removed.heap_bytes()
            + self.dead.heap_bytes()
    }
}

impl FromIterator<Hash256> for HashIndex {
    fn from_iter<I: IntoIterator<Item = Hash256>>(hashes: I) -> Self {
        let mut index = HashIndex::new();
        index.insert_many(hashes);
        index
    }
}

impl Extend<Hash256> for HashIndex {
    fn extend<I: IntoIterator<Item = Hash256>>(&mut self, hashes: I) {
        self.insert_many(hashes);
    }
}

impl fmt::Debug for HashIndex {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HashIndex")
            .field("len", &self.len())
            .field("live_len", &self.live_len())
            .field(
                "segments",
                &self.segments.iter().map(Segment::span).collect::<Vec<_>>(),
            )
            .field("unindexed", &self.unindexed_len())
            .field("kernel", &self.kernel)
            .finish()
    }
}

/// Each slice's search radius for `max_distance` (at most 256), by the pigeonhole argument in the
/// module documentation; -1 where a slice need not be probed.
fn radii(max_distance: u32) -> [i32; SLICES] {
    let r = (max_distance / SLICES as u32) as i32;
    let a = (max_distance % SLICES as u32) as usize;
    std::array::from_fn(|slice| if slice <= a { r } else { r - 1 })
}

/// All 16-bit masks by number of bits set, and how many have at most `k` bits set, for `k` from
/// 0 to 16: the buckets within radius `k` of a value `v` are `v ^ masks[..balls[k]]`.
fn masks() -> (&'static [u16], &'static [usize; 17]) {
    static MASKS: OnceLock<(Vec<u16>, [usize; 17])> = OnceLock::new();
    let (masks, balls) = MASKS.get_or_init(|| {
        let mut masks: Vec<u16> = (0..=u16::MAX).collect();
        masks.sort_by_key(|mask| mask.count_ones());
        let mut balls = [0; 17];
        for (k, ball) in balls.iter_mut().enumerate() {
            *ball = masks.partition_point(|mask| mask.count_ones() as usize <= k);
        }
        (masks, balls)
    });
    debug_assert_eq!(masks.len(), BUCKETS);
    (masks, balls)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn radii_follow_the_pigeonhole_bound() {
        assert_eq!(radii(31), [1; 16]);
        assert_eq!(
            radii(0),
            [
                0, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1
            ]
        );
        assert_eq!(radii(15), [0; 16]);
        let r32 = radii(32);
        assert_eq!(r32[0], 2);
        assert!(r32[1..].iter().all(|&r| r == 1));
        // For every distance, radii one above each slice's add up to more than the distance:
        // a hash beyond every radius is beyond the distance.
        for d in 0..=256 {
            let over: i32 = radii(d).iter().map(|r| r + 1).sum();
            assert_eq!(over, d as i32 + 1);
        }
    }

    #[test]
    fn mask_table_counts_binomials() {
        let (masks, balls) = masks();
        assert_eq!(masks.len(), 65536);
        assert_eq!(&balls[..4], &[1, 17, 137, 697]);
        assert_eq!(balls[16], 65536);
        assert_eq!(masks[0], 0);
    }

    #[test]
    fn matches_sort_by_distance_then_position() {
        let at = |position, distance| Match { position, distance };
        let mut matches = [at(1, 5), at(9, 0), at(0, 5)];
        matches.sort();
        assert_eq!(
            matches
                .iter()
                .map(|m| (m.distance, m.position))
                .collect::<Vec<_>>(),
            [(0, 9), (5, 0), (5, 1)]
        );
    }
}
