//! A frozen run of positions with its sixteen slice tables in compressed sparse row form: for each
//! slice, `BUCKETS + 1` offsets into a list of positions grouped by the slice's 16-bit value.

use super::bitset::BitSet;
use crate::Hash256;

pub(super) const SLICES: usize = 16;
pub(super) const BUCKETS: usize = 1 << 16;
const STRIDE: usize = BUCKETS + 1;

#[derive(Clone)]
pub(super) struct Segment {
    /// The first position the segment covers.
    pub(super) start: u32,
    /// One past the last position it covers.
    pub(super) end: u32,
    /// `SLICES` tables of `STRIDE` offsets, each relative to that slice's run of `positions`.
    offsets: Box<[u32]>,
    /// `SLICES` runs of `indexed` positions; within a bucket, in increasing order.
    positions: Box<[u32]>,
    /// How many positions of `start..end` are in the tables (removed ones are left out).
    indexed: usize,
}

impl Segment {
    /// Indexes positions `start..start + hashes.len()`, leaving out the removed ones.
    pub(super) fn build(hashes: &[Hash256], start: u32, removed: &BitSet) -> Segment {
        let end = start + u32::try_from(hashes.len()).expect("positions fit in u32");
        let keep = |position: u32| !removed.get(position);
        let indexed = (start..end).filter(|&p| keep(p)).count();
        let mut offsets = vec![0u32; SLICES * STRIDE].into_boxed_slice();
        let mut positions = vec![0u32; SLICES * indexed].into_boxed_slice();
        let mut cursor = vec![0u32; BUCKETS];
        for slice in 0..SLICES {
            // A counting sort per slice: the cursor table (256 KiB) stays in cache while the
            // positions are scattered into this slice's run.
            let table = &mut offsets[slice * STRIDE..(slice + 1) * STRIDE];
            for (position, hash) in (start..).zip(hashes) {
                if keep(position) {
                    table[hash.slice16(slice) as usize + 1] += 1;
                }
            }
            for b in 0..BUCKETS {
                table[b + 1] += table[b];
            }
            cursor.copy_from_slice(&table[..BUCKETS]);
            let run = &mut positions[slice * indexed..(slice + 1) * indexed];
            for (position, hash) in (start..).zip(hashes) {
                if keep(position) {
                    let bucket = &mut cursor[hash.slice16(slice) as usize];
                    run[*bucket as usize] = position;
                    *bucket += 1;
                }
            }
        }
        Segment {
            start,
            end,
            offsets,
            positions,
            indexed,
        }
    }

    /// Joins two adjacent segments (`self` first) bucket by bucket, dropping positions removed
    /// since they were built. Sequential reads and writes only, unlike a rebuild from the hashes.
    pub(super) fn merge(&self, next: &Segment, removed: &BitSet) -> Segment {
        debug_assert_eq!(self.end, next.start);
        let keep = |position: &&u32| !removed.get(**position);
        // Every slice holds the same positions, so slice 0 gives the count.
        let indexed = self.slice_positions(0).iter().filter(keep).count()
            + next.slice_positions(0).iter().filter(keep).count();
        let mut offsets = vec![0u32; SLICES * STRIDE].into_boxed_slice();
        let mut positions = Vec::with_capacity(SLICES * indexed);
        for slice in 0..SLICES {
            let base = positions.len();
            let table = &mut offsets[slice * STRIDE..(slice + 1) * STRIDE];
            for (b, offset) in table[..BUCKETS].iter_mut().enumerate() {
                *offset = (positions.len() - base) as u32;
                // Positions of `self` are all lower, so each bucket stays in increasing order.
                positions.extend(self.bucket(slice, b).iter().filter(keep));
                positions.extend(next.bucket(slice, b).iter().filter(keep));
            }
            table[BUCKETS] = (positions.len() - base) as u32;
        }
        debug_assert_eq!(positions.len(), SLICES * indexed);
        Segment {
            start: self.start,
            end: next.end,
            offsets,
            positions: positions.into_boxed_slice(),
            indexed,
        }
    }

    /// How many positions the segment covers, removed ones included.
    pub(super) fn span(&self) -> usize {
        (self.end - self.start) as usize
    }

    /// The offsets of one slice (`BUCKETS + 1` of them) and its positions.
    #[inline]
    pub(super) fn slice(&self, slice: usize) -> (&[u32], &[u32]) {
        (
            &self.offsets[slice * STRIDE..(slice + 1) * STRIDE],
            self.slice_positions(slice),
        )
    }

    fn slice_positions(&self, slice: usize) -> &[u32] {
        &self.positions[slice * self.indexed..(slice + 1) * self.indexed]
    }

    fn bucket(&self, slice: usize, bucket: usize) -> &[u32] {
        let (offsets, positions) = self.slice(slice);
        &positions[offsets[bucket] as usize..offsets[bucket + 1] as usize]
    }

    pub(super) fn heap_bytes(&self) -> usize {
        (self.offsets.len() + self.positions.len()) * size_of::<u32>()
    }
}
