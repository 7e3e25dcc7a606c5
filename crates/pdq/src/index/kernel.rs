//! Distance kernels: the brute-force scan of a run of stored hashes and the verification of a list
//! of candidate positions, each in a portable form and in forms for x86-64 instruction sets that
//! are picked at run time.
//!
//! The default x86-64 target has no `popcnt`, so `count_ones` compiles to a bit-twiddling
//! sequence; the `#[target_feature]` functions below get the hardware instruction instead. They are
//! only called after the feature was detected (`Kernel::is_supported`), which is what makes the
//! `unsafe` calls sound.
//!
//! Measured scanning hashes in cache (`examples/index_bench.rs --sweep`, one core of a Xeon with
//! AVX-512): portable 0.42, popcnt 1.04, AVX2 1.03, AVX-512 2.2 billion hashes a second. AVX2 only
//! matches the scalar popcnt there (its byte shuffles and sums compete for one port); it is kept
//! for processors without AVX-512, where it is no slower. Scanning from memory, every kernel but
//! the portable one is limited by memory bandwidth. Verifying candidates is limited by memory
//! latency, so it uses the scalar popcnt, with prefetching.

use super::Match;
use crate::Hash256;

/// Which instructions the distance kernels use.
///
/// [`Kernel::detect`] picks the fastest one this processor has; every kernel gives the same results.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Kernel {
    /// Plain Rust, any processor.
    Portable,
    /// The hardware population count (x86-64 `popcnt`).
    Popcnt,
    /// `popcnt` to verify candidates, AVX2 (nibble lookup with `vpshufb`) to scan.
    Avx2,
    /// `popcnt` to verify candidates, AVX-512 `vpopcntq` to scan.
    Avx512,
}

impl Kernel {
    /// Every kernel, slowest first.
    pub const ALL: [Kernel; 4] = [
        Kernel::Portable,
        Kernel::Popcnt,
        Kernel::Avx2,
        Kernel::Avx512,
    ];

    /// The fastest kernel this processor supports.
    pub fn detect() -> Kernel {
        Kernel::ALL
            .into_iter()
            .rev()
            .find(|kernel| kernel.is_supported())
            .unwrap_or(Kernel::Portable)
    }

    /// Whether this processor has the instructions the kernel needs.
    pub fn is_supported(self) -> bool {
        match self {
            Kernel::Portable => true,
            #[cfg(target_arch = "x86_64")]
            Kernel::Popcnt => std::arch::is_x86_feature_detected!("popcnt"),
            #[cfg(target_arch = "x86_64")]
            Kernel::Avx2 => {
                std::arch::is_x86_feature_detected!("popcnt")
                    && std::arch::is_x86_feature_detected!("avx2")
            }
            #[cfg(target_arch = "x86_64")]
            Kernel::Avx512 => {
                std::arch::is_x86_feature_detected!("popcnt")
                    && std::arch::is_x86_feature_detected!("avx512f")
                    && std::arch::is_x86_feature_detected!("avx512vpopcntdq")
            }
            #[cfg(not(target_arch = "x86_64"))]
            _ => false,
        }
    }
}

/// Appends a match for every hash of `hashes` within `max_distance` of `query`; `hashes[0]` is at
/// position `first`.
pub(super) fn scan(
    kernel: Kernel,
    hashes: &[Hash256],
    first: u32,
    query: &Hash256,
    max_distance: u32,
    out: &mut Vec<Match>,
) {
    match kernel {
        Kernel::Portable => scan_portable(hashes, first, query, max_distance, out),
        #[cfg(target_arch = "x86_64")]
        // SAFETY: a `Kernel` other than `Portable` is only stored after `is_supported` returned true
        // (see `HashIndex::set_kernel`), so the processor has these instructions.
        Kernel::Popcnt => unsafe { x86::scan_popcnt(hashes, first, query, max_distance, out) },
        #[cfg(target_arch = "x86_64")]
        // SAFETY: as above, AVX2 and popcnt were detected.
        Kernel::Avx2 => unsafe { x86::scan_avx2(hashes, first, query, max_distance, out) },
        #[cfg(target_arch = "x86_64")]
        // SAFETY: as above, AVX-512F, AVX-512 VPOPCNTDQ and popcnt were detected.
        Kernel::Avx512 => unsafe { x86::scan_avx512(hashes, first, query, max_distance, out) },
        #[cfg(not(target_arch = "x86_64"))]
        _ => scan_portable(hashes, first, query, max_distance, out),
    }
}

/// Appends a match for every candidate position whose hash is within `max_distance` of `query`.
pub(super) fn verify(
    kernel: Kernel,
    hashes: &[Hash256],
    candidates: &[u32],
    query: &Hash256,
    max_distance: u32,
    out: &mut Vec<Match>,
) {
    match kernel {
        Kernel::Portable => verify_generic(hashes, candidates, query, max_distance, out),
        #[cfg(target_arch = "x86_64")]
        // SAFETY: every kernel but `Portable` is only stored once popcnt was detected.
        _ => unsafe { x86::verify_popcnt(hashes, candidates, query, max_distance, out) },
        #[cfg(not(target_arch = "x86_64"))]
        _ => verify_generic(hashes, candidates, query, max_distance, out),
    }
}

fn scan_portable(
    hashes: &[Hash256],
    first: u32,
    query: &Hash256,
    max_distance: u32,
    out: &mut Vec<Match>,
) {
    scan_generic(hashes, first, query, max_distance, out)
}

#[inline(always)]
fn scan_generic(
    hashes: &[Hash256],
    first: u32,
    query: &Hash256,
    max_distance: u32,
    out: &mut Vec<Match>,
) {
    for (position, hash) in (first..).zip(hashes) {
        let distance = hash.distance(query);
        if distance <= max_distance {
            out.push(Match { position, distance });
        }
    }
}

/// How many candidates ahead to prefetch: enough to cover a memory latency with the few
/// nanoseconds each verification takes, few enough that the lines are still cached when used.
const PREFETCH_AHEAD: usize = 32;

#[inline(always)]
fn verify_generic(
    hashes: &[Hash256],
    candidates: &[u32],
    query: &Hash256,
    max_distance: u32,
    out: &mut Vec<Match>,
) {
    for (k, &position) in candidates.iter().enumerate() {
        // Candidates are scattered over the whole store: each is a cache miss unless fetched early.
        if let Some(&ahead) = candidates.get(k + PREFETCH_AHEAD) {
            prefetch(&hashes[ahead as usize]);
        }
        let distance = hashes[position as usize].distance(query);
        if distance <= max_distance {
            out.push(Match { position, distance });
        }
    }
}

#[inline(always)]
fn prefetch(hash: &Hash256) {
    #[cfg(target_arch = "x86_64")]
    // SAFETY: a prefetch is only a hint: it never faults and reads nothing architecturally, and the
    // pointer comes from a live reference anyway. SSE is part of the x86-64 baseline.
    unsafe {
        use std::arch::x86_64::{_MM_HINT_T0, _mm_prefetch};
        _mm_prefetch::<_MM_HINT_T0>((hash as *const Hash256).cast::<i8>());
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = hash;
}

#[cfg(target_arch = "x86_64")]
mod x86 {
    use super::{Match, scan_generic, verify_generic};
    use crate::Hash256;
    use std::arch::x86_64::*;

    #[target_feature(enable = "popcnt")]
    pub(super) fn scan_popcnt(
        hashes: &[Hash256],
        first: u32,
        query: &Hash256,
        max_distance: u32,
        out: &mut Vec<Match>,
    ) {
        scan_generic(hashes, first, query, max_distance, out)
    }

    #[target_feature(enable = "popcnt")]
    pub(super) fn verify_popcnt(
        hashes: &[Hash256],
        candidates: &[u32],
        query: &Hash256,
        max_distance: u32,
        out: &mut Vec<Match>,
    ) {
        verify_generic(hashes, candidates, query, max_distance, out)
    }

    #[inline(always)]
    fn load256(hash: &Hash256) -> __m256i {
        // SAFETY: `Hash256` is 32 bytes of plain integers and the unaligned load has no alignment
        // requirement; AVX is enabled in every caller (they enable AVX2 or AVX-512F).
        unsafe { _mm256_loadu_si256((hash as *const Hash256).cast::<__m256i>()) }
    }

    /// Pushes the matches among `chunk` (starting at `position`) whose bit is set in `mask`,
    /// recomputing the distance: matches are rare, so this is off the hot path.
    #[inline(always)]
    fn push_flagged(
        chunk: &[Hash256],
        position: u32,
        mut mask: u32,
        query: &Hash256,
        out: &mut Vec<Match>,
    ) {
        while mask != 0 {
            let i = mask.trailing_zeros();
            mask &= mask - 1;
            let distance = chunk[i as usize].distance(query);
            out.push(Match {
                position: position + i,
                distance,
            });
        }
    }

    /// Four hashes per step: xor with the query, count bits per byte with a 16-entry nibble table
    /// (`vpshufb`), sum bytes per 64-bit lane (`vpsadbw`), then fold the four lanes of four hashes
    /// into one vector of four totals to compare with the threshold at once.
    #[target_feature(enable = "avx2,popcnt")]
    pub(super) fn scan_avx2(
        hashes: &[Hash256],
        first: u32,
        query: &Hash256,
        max_distance: u32,
        out: &mut Vec<Match>,
    ) {
        let table = _mm256_setr_epi8(
            0, 1, 1, 2, 1, 2, 2, 3, 1, 2, 2, 3, 2, 3, 3, 4, 0, 1, 1, 2, 1, 2, 2, 3, 1, 2, 2, 3, 2,
            3, 3, 4,
        );
        let low = _mm256_set1_epi8(0x0f);
        let zero = _mm256_setzero_si256();
        let q = load256(query);
        // Distances are at most 256, so the signed compare is safe.
        let limit = _mm_set1_epi32(max_distance.min(256) as i32);
        let lanes = |hash: &Hash256| {
            let x = _mm256_xor_si256(load256(hash), q);
            let lo = _mm256_shuffle_epi8(table, _mm256_and_si256(x, low));
            let hi = _mm256_shuffle_epi8(table, _mm256_and_si256(_mm256_srli_epi16(x, 4), low));
            _mm256_sad_epu8(_mm256_add_epi8(lo, hi), zero)
        };
        let mut chunks = hashes.chunks_exact(4);
        let mut position = first;
        for chunk in &mut chunks {
            // Lane sums are at most 64: two hashes share each 64-bit lane, one per 32-bit half.
            let ab = _mm256_or_si256(lanes(&chunk[0]), _mm256_slli_epi64(lanes(&chunk[1]), 32));
            let cd = _mm256_or_si256(lanes(&chunk[2]), _mm256_slli_epi64(lanes(&chunk[3]), 32));
            let pairs =
                _mm256_add_epi64(_mm256_unpacklo_epi64(ab, cd), _mm256_unpackhi_epi64(ab, cd));
            let totals = _mm_add_epi64(
                _mm256_castsi256_si128(pairs),
                _mm256_extracti128_si256(pairs, 1),
            );
            // 32-bit lanes now hold the distances of hashes 0, 1, 2, 3.
            let over = _mm_movemask_ps(_mm_castsi128_ps(_mm_cmpgt_epi32(totals, limit))) as u32;
            let within = !over & 0xf;
            if within != 0 {
                push_flagged(chunk, position, within, query, out);
            }
            position += 4;
        }
        scan_generic(chunks.remainder(), position, query, max_distance, out);
    }

    /// Eight hashes per step: `vpopcntq` counts each 64-bit word, then the four words of each hash
    /// are summed with shuffles, two hashes per 64-bit lane, and compared with one mask compare.
    #[target_feature(enable = "avx512f,avx512vpopcntdq,popcnt")]
    pub(super) fn scan_avx512(
        hashes: &[Hash256],
        first: u32,
        query: &Hash256,
        max_distance: u32,
        out: &mut Vec<Match>,
    ) {
        let q256 = load256(query);
        let q = _mm512_inserti64x4(_mm512_castsi256_si512(q256), q256, 1);
        let limit = _mm512_set1_epi32(max_distance.min(256) as i32);
        let counts = |pair: &[Hash256]| {
            // SAFETY: `pair` is two consecutive `Hash256`s, 64 bytes; the load is unaligned.
            let x = unsafe { _mm512_loadu_si512(pair.as_ptr().cast::<__m512i>()) };
            _mm512_popcnt_epi64(_mm512_xor_si512(x, q))
        };
        let mut chunks = hashes.chunks_exact(8);
        let mut position = first;
        for chunk in &mut chunks {
            // 64-bit lanes 0-3 of `ab` hold hash 0 (low half) and 2 (high), lanes 4-7 hashes 1 and 3.
            let ab = _mm512_or_si512(
                counts(&chunk[0..2]),
                _mm512_slli_epi64(counts(&chunk[2..4]), 32),
            );
            let cd = _mm512_or_si512(
                counts(&chunk[4..6]),
                _mm512_slli_epi64(counts(&chunk[6..8]), 32),
            );
            let halves =
                _mm512_add_epi64(_mm512_unpacklo_epi64(ab, cd), _mm512_unpackhi_epi64(ab, cd));
            // Add each 128-bit lane to its neighbour: lane 0 then has hashes 0, 2, 4, 6 and lane 2
            // hashes 1, 3, 5, 7 in its 32-bit parts.
            let totals = _mm512_add_epi64(
                halves,
                _mm512_shuffle_i64x2::<0b10_11_00_01>(halves, halves),
            );
            let within = _mm512_cmple_epu32_mask(totals, limit) as u32 & 0x0f0f;
            if within != 0 {
                // Bit k (k < 4) is hash 2k, bit 8 + k is hash 2k + 1.
                let mut flagged = 0u32;
                for k in 0..4 {
                    flagged |= ((within >> k) & 1) << (2 * k);
                    flagged |= ((within >> (8 + k)) & 1) << (2 * k + 1);
                }
                push_flagged(chunk, position, flagged, query, out);
            }
            position += 8;
        }
        scan_generic(chunks.remainder(), position, query, max_distance, out);
    }
}
