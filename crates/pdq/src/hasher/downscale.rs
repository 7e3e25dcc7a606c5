//! Blur and decimation of a luma image to 64×64, as PDQ does it: two rounds of a box filter along
//! the rows and then along the columns (together a tent filter, after Jarosz), then one sample at
//! the centre of each of the 64×64 cells.
//!
//! The reference filters the whole image four times over full-size buffers. This computes the same
//! `f32` values in the same order of operations, but streams: rows go through the four passes a few
//! at a time, so the working set is a few dozen rows, and the second round only divides where the
//! decimation will sample. Every running sum still takes in and gives up every sample, in the
//! reference's order, since rounding makes a sum depend on its whole history.

#![allow(
    clippy::needless_range_loop,
    reason = "rows advance in lockstep, sums[k] with rows[k][i]; indices measured faster than zips"
)]

use std::ops::Range;

/// Side of the downsample.
pub(super) const SIDE: usize = 64;

/// Rows filtered side by side along their length: the running sum along a row is a chain of
/// dependent additions, so several rows at once keep the floating-point units busy. (Four measured
/// fastest: with more, the compiler packs the sums into wider vectors that cost more to fill.)
const LANES: usize = 4;

/// Window of the box filter for a line of `len` samples: half the cell size, rounded up, since
/// two rounds of the box make a tent as wide as a cell.
fn window(len: usize) -> usize {
    len.div_ceil(2 * SIDE)
}

/// The sample positions of the decimation along a line of `len` samples: the centres of 64 cells.
fn sample_positions(len: usize) -> [usize; SIDE] {
    std::array::from_fn(|o| ((o as f64 + 0.5) * len as f64 / SIDE as f64) as usize)
}

/// One box-filter pass along lines of `len` samples, with the reference's treatment of the ends:
/// the window is centred (one more sample ahead than behind for an even window) and is cut short
/// at both ends, each output being the mean of the samples actually in its window.
///
/// As a running sum: `lead` samples are added before the first output; output `o` then adds sample
/// `o + lead` (while there is one, `o < shrink`), subtracts sample `o - grow` (once the window is
/// full, `o >= grow`), in that order, and divides by the number of samples in the window.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct BoxPass {
    len: usize,
    full: usize,
    lead: usize,
    grow: usize,
    shrink: usize,
}

impl BoxPass {
    fn new(len: usize) -> Self {
        let full = window(len);
        let half = (full + 2) / 2;
        let lead = half - 1;
        let grow = full - lead;
        // `full <= len` for any `len >= 1`, so the window always fits.
        let shrink = grow + (len - full);
        Self {
            len,
            full,
            lead,
            grow,
            shrink,
        }
    }

    /// How many samples the window of output `o` holds.
    fn count(&self, o: usize) -> f32 {
        let added = self.lead + (o + 1).min(self.shrink);
        let removed = (o + 1).saturating_sub(self.grow);
        (added - removed) as f32
    }
}

/// Starts running sums along `K` rows: the `lead` samples before the first output.
#[inline(always)]
fn start_rows<const K: usize>(pass: &BoxPass, rows: &[&[f32]; K]) -> [f32; K] {
    let mut sums = [0.0_f32; K];
    for i in 0..pass.lead {
        for k in 0..K {
            sums[k] += rows[k][i];
        }
    }
    sums
}

/// Advances running sums along `K` rows through outputs `range`, calling `emit(o, &sums)` after
/// each (the sums, not yet divided by the count).
#[inline(always)]
fn advance_rows<const K: usize>(
    pass: &BoxPass,
    rows: &[&[f32]; K],
    sums: &mut [f32; K],
    range: Range<usize>,
    mut emit: impl FnMut(usize, &[f32; K]),
) {
    let Range { start, end } = range;
    // Growing: add only.
    let (lo, hi) = (start, end.min(pass.grow));
    if lo < hi {
        let add: [&[f32]; K] = std::array::from_fn(|k| &rows[k][lo + pass.lead..hi + pass.lead]);
        for i in 0..hi - lo {
            for k in 0..K {
                sums[k] += add[k][i];
            }
            emit(lo + i, sums);
        }
    }
    // Full: add the sample entering the window, then subtract the one leaving it.
    let (lo, hi) = (start.max(pass.grow), end.min(pass.shrink));
    if lo < hi {
        let add: [&[f32]; K] = std::array::from_fn(|k| &rows[k][lo + pass.lead..hi + pass.lead]);
        let sub: [&[f32]; K] = std::array::from_fn(|k| &rows[k][lo - pass.grow..hi - pass.grow]);
        for i in 0..hi - lo {
            for k in 0..K {
                sums[k] = (sums[k] + add[k][i]) - sub[k][i];
            }
            emit(lo + i, sums);
        }
    }
    // Shrinking: subtract only.
    let (lo, hi) = (start.max(pass.shrink), end);
    if lo < hi {
        let sub: [&[f32]; K] = std::array::from_fn(|k| &rows[k][lo - pass.grow..hi - pass.grow]);
        for i in 0..hi - lo {
            for k in 0..K {
                sums[k] -= sub[k][i];
            }
            emit(lo + i, sums);
        }
    }
}

/// A full box pass along `K` rows: every output's sum goes to `out` (row `k` at `k * len`).
#[inline(always)]
fn sum_along_rows<const K: usize>(pass: &BoxPass, rows: &[&[f32]; K], out: &mut [f32]) {
    let len = pass.len;
    let out = &mut out[..K * len];
    let mut sums = start_rows(pass, rows);
    advance_rows(pass, rows, &mut sums, 0..len, |o, sums| {
        for k in 0..K {
            out[k * len + o] = sums[k];
        }
    });
}

/// A box pass along `K` rows kept only at the sample positions: the means there go to `out` (row
/// `k` at `k * SIDE`). The sums still run through every sample.
#[inline(always)]
fn sample_along_rows<const K: usize>(
    pass: &BoxPass,
    rows: &[&[f32]; K],
    samples: &[usize; SIDE],
    out: &mut [f32],
) {
    let mut sums = start_rows(pass, rows);
    let mut next = 0;
    for (s, &at) in samples.iter().enumerate() {
        if at >= next {
            advance_rows(pass, rows, &mut sums, next..at + 1, |_, _| {});
            next = at + 1;
        }
        let count = pass.count(at);
        for k in 0..K {
            out[k * SIDE + s] = sums[k] / count;
        }
    }
}

/// One output row of a box pass down the columns: the column sums take in `add` and give up `sub`
/// (either may be absent at the ends), and `out`, if wanted, gets the means.
#[inline(always)]
fn step_columns(
    sums: &mut [f32],
    add: Option<&[f32]>,
    sub: Option<&[f32]>,
    out: Option<(&mut [f32], f32)>,
) {
    let n = sums.len();
    match (add, sub) {
        (Some(add), Some(sub)) => {
            for ((s, &a), &b) in sums.iter_mut().zip(&add[..n]).zip(&sub[..n]) {
                *s = (*s + a) - b;
            }
        }
        (Some(add), None) => {
            for (s, &a) in sums.iter_mut().zip(&add[..n]) {
                *s += a;
            }
        }
        (None, Some(sub)) => {
            for (s, &b) in sums.iter_mut().zip(&sub[..n]) {
                *s -= b;
            }
        }
        (None, None) => {}
    }
    if let Some((out, count)) = out {
        for (o, &s) in out[..n].iter_mut().zip(sums.iter()) {
            *o = s / count;
        }
    }
}

/// Reusable buffers for [`downscale`]; they grow to the largest image seen.
#[derive(Default)]
pub(super) struct Scratch {
    luma: Vec<f32>,
    sums: Vec<f32>,
    ring: Vec<f32>,
    column_sums: Vec<f32>,
    blurred: Vec<f32>,
    narrow: Vec<f32>,
    counts: Vec<f32>,
}

fn sized(buffer: &mut Vec<f32>, len: usize) -> &mut [f32] {
    buffer.clear();
    buffer.resize(len, 0.0);
    buffer
}

/// The first column pass: receives the rows of the first row pass in order and hands on its own
/// output rows, to the second row pass, as soon as each is complete.
struct FirstColumns<'a> {
    pass: BoxPass,
    width: usize,
    sums: &'a mut [f32],
    /// The last `full + LANES` rows of the first row pass, row `r` at `r % ring_rows`.
    ring: &'a mut [f32],
    ring_rows: usize,
}

impl FirstColumns<'_> {
    #[inline(always)]
    fn ring_row_mut(&mut self, r: usize) -> &mut [f32] {
        let at = (r % self.ring_rows) * self.width;
        &mut self.ring[at..at + self.width]
    }

    /// Takes in row `r` (already in the ring); returns the index of the output row written to
    /// `out`, if this row completes one.
    #[inline(always)]
    fn push(&mut self, r: usize, out: &mut [f32]) -> Option<usize> {
        let pass = self.pass;
        let at = (r % self.ring_rows) * self.width;
        let add = &self.ring[at..at + self.width];
        if r < pass.lead {
            step_columns(self.sums, Some(add), None, None);
            return None;
        }
        let o = r - pass.lead;
        let sub = if o >= pass.grow {
            let at = ((o - pass.grow) % self.ring_rows) * self.width;
            Some(&self.ring[at..at + self.width])
        } else {
            None
        };
        step_columns(self.sums, Some(add), sub, Some((out, pass.count(o))));
        Some(o)
    }

    /// Output row `o` once all rows are in (`o >= shrink`): only a row leaves the window.
    #[inline(always)]
    fn finish(&mut self, o: usize, out: &mut [f32]) {
        let at = ((o - self.pass.grow) % self.ring_rows) * self.width;
        let sub = &self.ring[at..at + self.width];
        step_columns(self.sums, None, Some(sub), Some((out, self.pass.count(o))));
    }
}

/// Output rows of the first column pass on their way to the second row pass, which takes them
/// `LANES` at a time and keeps them at the sample columns only.
struct Waiting {
    pass: BoxPass,
    samples: [usize; SIDE],
    /// Rows waiting in `blurred`.
    pending: usize,
    /// Rows already through, in `narrow`.
    done: usize,
}

impl Waiting {
    /// Where the next row goes.
    #[inline(always)]
    fn slot<'a>(&self, blurred: &'a mut [f32]) -> &'a mut [f32] {
        let width = self.pass.len;
        &mut blurred[self.pending * width..(self.pending + 1) * width]
    }

    /// Counts the row just written to the slot; runs the pass once `LANES` rows are waiting, or
    /// at the end (`last`) on whatever is left.
    #[inline(always)]
    fn arrived(&mut self, blurred: &[f32], narrow: &mut [f32], last: bool) {
        if !last {
            self.pending += 1;
        }
        if self.pending == LANES || (last && self.pending > 0) {
            let out = &mut narrow[self.done * SIDE..(self.done + self.pending) * SIDE];
            let width = self.pass.len;
            let row = |k: usize| &blurred[k * width..(k + 1) * width];
            if self.pending == LANES {
                let rows: [&[f32]; LANES] = std::array::from_fn(row);
                sample_along_rows(&self.pass, &rows, &self.samples, out);
            } else {
                for k in 0..self.pending {
                    sample_along_rows(&self.pass, &[row(k)], &self.samples, &mut out[k * SIDE..]);
                }
            }
            self.done += self.pending;
            self.pending = 0;
        }
    }
}

/// Blurs a `width × height` luma image and samples it to 64×64, exactly as the reference does.
/// `fill_row(r, out)` writes the luma of row `r` into `out` (`width` values); rows are asked for
/// once each, in order.
///
/// On x86-64 processors with AVX2 the same code runs compiled for AVX2, which vectorises the luma,
/// the divisions and the passes down the columns twice as wide. The arithmetic is the same either way: IEEE
/// additions, subtractions and divisions of `f32`, in the same order, with no fused multiply-add.
pub(super) fn downscale(
    width: usize,
    height: usize,
    fill_row: impl FnMut(usize, &mut [f32]),
    scratch: &mut Scratch,
    out: &mut [[f32; SIDE]; SIDE],
) {
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx2") {
        // SAFETY: the processor has AVX2, the one feature the function is compiled for.
        return unsafe { blur_and_sample_avx2(width, height, fill_row, scratch, out) };
    }
    blur_and_sample(width, height, fill_row, scratch, out);
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
fn blur_and_sample_avx2(
    width: usize,
    height: usize,
    fill_row: impl FnMut(usize, &mut [f32]),
    scratch: &mut Scratch,
    out: &mut [[f32; SIDE]; SIDE],
) {
    blur_and_sample(width, height, fill_row, scratch, out);
}

#[inline(always)]
fn blur_and_sample(
    width: usize,
    height: usize,
    mut fill_row: impl FnMut(usize, &mut [f32]),
    scratch: &mut Scratch,
    out: &mut [[f32; SIDE]; SIDE],
) {
    assert!(width > 0 && height > 0, "an empty image has no downsample");
    let along_rows = BoxPass::new(width);
    let along_cols = BoxPass::new(height);
    let sample_cols = sample_positions(width);
    let sample_rows = sample_positions(height);
    let Scratch {
        luma,
        sums,
        ring,
        column_sums,
        blurred,
        narrow,
        counts,
    } = scratch;
    let luma = sized(luma, LANES * width);
    let sums = sized(sums, LANES * width);
    let blurred = sized(blurred, LANES * width);
    let narrow = sized(narrow, height * SIDE);
    let ring_rows = along_cols.full + LANES;
    let mut first_columns = FirstColumns {
        pass: along_cols,
        width,
        sums: sized(column_sums, width),
        ring: sized(ring, ring_rows * width),
        ring_rows,
    };
    let counts = sized(counts, width);
    for (o, count) in counts.iter_mut().enumerate() {
        *count = along_rows.count(o);
    }

    // Rows of the first column pass wait in `blurred` until LANES of them can take the second
    // row pass together.
    let mut waiting = Waiting {
        pass: along_rows,
        samples: sample_cols,
        pending: 0,
        done: 0,
    };

    for first in (0..height).step_by(LANES) {
        let k = LANES.min(height - first);
        for i in 0..k {
            fill_row(first + i, &mut luma[i * width..(i + 1) * width]);
        }
        let row = |i: usize| &luma[i * width..(i + 1) * width];
        if k == LANES {
            let rows: [&[f32]; LANES] = std::array::from_fn(row);
            sum_along_rows(&along_rows, &rows, sums);
        } else {
            for i in 0..k {
                sum_along_rows(&along_rows, &[row(i)], &mut sums[i * width..]);
            }
        }
        for i in 0..k {
            let r = first + i;
            let target = first_columns.ring_row_mut(r);
            for ((t, &s), &c) in target
                .iter_mut()
                .zip(&sums[i * width..(i + 1) * width])
                .zip(counts.iter())
            {
                *t = s / c;
            }
            if first_columns.push(r, waiting.slot(blurred)).is_some() {
                waiting.arrived(blurred, narrow, false);
            }
        }
    }
    for o in along_cols.shrink..height {
        first_columns.finish(o, waiting.slot(blurred));
        waiting.arrived(blurred, narrow, false);
    }
    waiting.arrived(blurred, narrow, true);
    debug_assert_eq!(waiting.done, height);

    // The second column pass, on the 64 sampled columns only, kept at the sample rows.
    let mut column = [0.0_f32; SIDE];
    let narrow_row = |r: usize| &narrow[r * SIDE..(r + 1) * SIDE];
    for r in 0..along_cols.lead {
        step_columns(&mut column, Some(narrow_row(r)), None, None);
    }
    let mut next = 0;
    for o in 0..height {
        let add = (o < along_cols.shrink).then(|| narrow_row(o + along_cols.lead));
        let sub = (o >= along_cols.grow).then(|| narrow_row(o - along_cols.grow));
        step_columns(&mut column, add, sub, None);
        while next < SIDE && sample_rows[next] == o {
            let count = along_cols.count(o);
            for (v, &s) in out[next].iter_mut().zip(&column) {
                *v = s / count;
            }
            next += 1;
        }
    }
    debug_assert_eq!(next, SIDE);
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The reference's procedure written plainly over full-size buffers: a 1-D box filter in its
    /// four phases, applied along every row and then every column, twice, then decimation.
    mod plain {
        use super::super::{SIDE, sample_positions, window};

        fn box_1d(input: &[f32], output: &mut [f32], len: usize, stride: usize, full: usize) {
            let half = (full + 2) / 2;
            let (p1, p2, p3, p4) = (half - 1, full - half + 1, len - full, half - 1);
            let (mut li, mut ri, mut oi) = (0, 0, 0);
            let mut sum = 0.0_f32;
            let mut count = 0;
            for _ in 0..p1 {
                sum += input[ri];
                count += 1;
                ri += stride;
            }
            for _ in 0..p2 {
                sum += input[ri];
                count += 1;
                output[oi] = sum / count as f32;
                ri += stride;
                oi += stride;
            }
            for _ in 0..p3 {
                sum += input[ri];
                sum -= input[li];
                output[oi] = sum / count as f32;
                li += stride;
                ri += stride;
                oi += stride;
            }
            for _ in 0..p4 {
                sum -= input[li];
                count -= 1;
                output[oi] = sum / count as f32;
                li += stride;
                oi += stride;
            }
        }

        pub fn downscale(width: usize, height: usize, luma: &[f32]) -> [[f32; SIDE]; SIDE] {
            let mut a = luma.to_vec();
            let mut b = vec![0.0_f32; a.len()];
            let (along_rows, along_cols) = (window(width), window(height));
            for _ in 0..2 {
                for r in 0..height {
                    let span = r * width..(r + 1) * width;
                    box_1d(&a[span.clone()], &mut b[span], width, 1, along_rows);
                }
                for c in 0..width {
                    box_1d(&b[c..], &mut a[c..], height, width, along_cols);
                }
            }
            let (rows, cols) = (sample_positions(height), sample_positions(width));
            std::array::from_fn(|i| std::array::from_fn(|j| a[rows[i] * width + cols[j]]))
        }
    }

    fn noise(len: usize, seed: u64) -> Vec<f32> {
        let mut state = seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1;
        (0..len)
            .map(|_| {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                // Luma-like values with fractional parts, so that rounding differences would show.
                (state >> 40) as f32 / 65_536.0
            })
            .collect()
    }

    fn streamed(
        width: usize,
        height: usize,
        luma: &[f32],
        scratch: &mut Scratch,
    ) -> [[f32; SIDE]; SIDE] {
        let mut out = [[0.0; SIDE]; SIDE];
        let fill =
            |r: usize, row: &mut [f32]| row.copy_from_slice(&luma[r * width..(r + 1) * width]);
        downscale(width, height, fill, scratch, &mut out);
        // Whichever code the processor runs, the portable build gives the same bits.
        let mut portable = [[0.0; SIDE]; SIDE];
        blur_and_sample(width, height, fill, scratch, &mut portable);
        assert_eq!(
            out.map(|row| row.map(f32::to_bits)),
            portable.map(|row| row.map(f32::to_bits))
        );
        out
    }

    #[test]
    fn box_pass_counts_follow_the_window() {
        // A window of 7: 3 before, 3 after; the first output holds 4 samples.
        let pass = BoxPass {
            len: 16,
            full: 7,
            lead: 3,
            grow: 4,
            shrink: 13,
        };
        assert_eq!(BoxPass::new(16).lead, 0);
        let counts: Vec<f32> = (0..16).map(|o| pass.count(o)).collect();
        assert_eq!(
            counts,
            [
                4., 5., 6., 7., 7., 7., 7., 7., 7., 7., 7., 7., 7., 6., 5., 4.
            ]
        );
        // A window of 8 is one sample longer ahead than behind.
        let pass = BoxPass {
            len: 16,
            full: 8,
            lead: 4,
            grow: 4,
            shrink: 12,
        };
        let counts: Vec<f32> = (0..16).map(|o| pass.count(o)).collect();
        assert_eq!(
            counts,
            [
                5., 6., 7., 8., 8., 8., 8., 8., 8., 8., 8., 8., 7., 6., 5., 4.
            ]
        );
    }

    #[test]
    fn window_is_half_a_cell_rounded_up() {
        assert_eq!(window(5), 1);
        assert_eq!(window(128), 1);
        assert_eq!(window(129), 2);
        assert_eq!(window(1004), 8);
        assert_eq!(window(1600), 13);
        assert_eq!(
            BoxPass::new(1600),
            BoxPass {
                len: 1600,
                full: 13,
                lead: 6,
                grow: 7,
                shrink: 1594
            }
        );
    }

    #[test]
    fn samples_are_cell_centres() {
        assert_eq!(sample_positions(64), std::array::from_fn(|i| i));
        let s = sample_positions(128);
        assert_eq!((s[0], s[1], s[63]), (1, 3, 127));
        // Fewer than 64 samples: positions repeat.
        let s = sample_positions(5);
        assert_eq!((s[0], s[12], s[13], s[63]), (0, 0, 1, 4));
    }

    #[test]
    fn streaming_equals_the_plain_procedure_bit_for_bit() {
        let mut scratch = Scratch::default();
        let sizes = [
            (5, 5),
            (5, 300),
            (300, 5),
            (7, 9),
            (63, 64),
            (64, 64),
            (65, 65),
            (128, 128),
            (129, 257),
            (200, 131),
            (256, 256),
            (401, 333),
            (1000, 17),
            (17, 1000),
            (640, 480),
        ];
        for (n, &(width, height)) in sizes.iter().enumerate() {
            let luma = noise(width * height, n as u64 + 1);
            let want = plain::downscale(width, height, &luma);
            let got = streamed(width, height, &luma, &mut scratch);
            for i in 0..SIDE {
                for j in 0..SIDE {
                    assert_eq!(
                        got[i][j].to_bits(),
                        want[i][j].to_bits(),
                        "{width}x{height} at [{i}][{j}]: {} vs {}",
                        got[i][j],
                        want[i][j]
                    );
                }
            }
        }
    }
}
