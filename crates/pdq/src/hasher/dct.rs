//! The 16×16 low-frequency corner of the 64×64 DCT, and how it changes under the eight rotations and
//! reflections of the image.

use std::sync::OnceLock;

use super::downscale::SIDE;

/// Side of the kept corner of the DCT: 16×16 coefficients, one bit each.
pub(super) const KEPT: usize = 16;

/// The coefficients, row-major: `[u][v]` is vertical frequency `u + 1`, horizontal `v + 1`.
pub(super) type Coefficients = [[f32; KEPT]; KEPT];

/// Rows 1 to 16 of the 64-point DCT-II basis (row 0, the mean, is not used), scaled by √(2/64).
///
/// Computed as the reference computes it, so that every entry rounds to the same `f32`: the scale is
/// rounded to `f32` first, and the product with the cosine is taken in `f64` and then rounded.
fn dct_matrix() -> &'static [[f32; SIDE]; KEPT] {
    static MATRIX: OnceLock<[[f32; SIDE]; KEPT]> = OnceLock::new();
    MATRIX.get_or_init(|| {
        let scale = (2.0_f64 / SIDE as f64).sqrt() as f32;
        let step = std::f64::consts::PI / 2.0 / SIDE as f64;
        std::array::from_fn(|i| {
            std::array::from_fn(|j| {
                let angle = step * (i + 1) as f64 * (2 * j + 1) as f64;
                (f64::from(scale) * angle.cos()) as f32
            })
        })
    })
}

/// The matrix transposed, so that both products below run along contiguous memory.
fn dct_matrix_transposed() -> &'static [[f32; KEPT]; SIDE] {
    static TRANSPOSED: OnceLock<[[f32; KEPT]; SIDE]> = OnceLock::new();
    TRANSPOSED.get_or_init(|| {
        let d = dct_matrix();
        std::array::from_fn(|k| std::array::from_fn(|j| d[j][k]))
    })
}

/// `D · A · Dᵀ` for the 64×64 downsample `A`, with `D` the 16×64 matrix above.
///
/// Each output is a plain sum over `k = 0..64` in increasing order, first `T = D · A`, then
/// `T · Dᵀ`, which is the order of the reference. The loops are arranged so that the independent
/// sums run side by side (vectorisable) while each keeps its own order of additions.
pub(super) fn dct_16(a: &[[f32; SIDE]; SIDE]) -> Coefficients {
    let d = dct_matrix();
    let dt = dct_matrix_transposed();

    // T[i][j] = Σ_k D[i][k] · A[k][j], summed over k in order, for all 64 j at once.
    let mut t = [[0.0_f32; SIDE]; KEPT];
    for (t_row, d_row) in t.iter_mut().zip(d) {
        for (&dik, a_row) in d_row.iter().zip(a) {
            for (sum, &akj) in t_row.iter_mut().zip(a_row) {
                *sum += dik * akj;
            }
        }
    }

    // B[i][j] = Σ_k T[i][k] · D[j][k], summed over k in order, for all 16 j at once.
    let mut b = [[0.0_f32; KEPT]; KEPT];
    for (b_row, t_row) in b.iter_mut().zip(&t) {
        for (&tik, dt_row) in t_row.iter().zip(dt) {
            for (sum, &djk) in b_row.iter_mut().zip(dt_row) {
                *sum += tik * djk;
            }
        }
    }
    b
}

/// The eight symmetries of the square (the dihedral group D4), named as PDQ names them.
///
/// `Rotate90` is a quarter turn counter-clockwise, `Rotate270` clockwise; `FlipX` mirrors top to
/// bottom (about the horizontal axis), `FlipY` left to right (about the vertical axis); `FlipPlus1`
/// reflects about the main diagonal (a transpose), `FlipMinus1` about the anti-diagonal.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Transform {
    Original,
    Rotate90,
    Rotate180,
    Rotate270,
    FlipX,
    FlipY,
    FlipPlus1,
    FlipMinus1,
}

impl Transform {
    /// All eight, in the reference's order.
    pub const ALL: [Transform; 8] = [
        Transform::Original,
        Transform::Rotate90,
        Transform::Rotate180,
        Transform::Rotate270,
        Transform::FlipX,
        Transform::FlipY,
        Transform::FlipPlus1,
        Transform::FlipMinus1,
    ];

    /// The coefficients of the transformed image, from those of the original: a reflection of the
    /// image negates the coefficients of odd frequency (even index) along its axis, and a transpose
    /// of the image transposes them. Exact: only signs and positions change.
    pub(super) fn apply(self, dct: &Coefficients) -> Coefficients {
        /// Index `k` holds frequency `k + 1`.
        fn odd(k: usize) -> bool {
            k.is_multiple_of(2)
        }
        // (transpose?, negate coefficient [i][j]?)
        let (transpose, negate): (bool, fn(usize, usize) -> bool) = match self {
            Transform::Original => (false, |_, _| false),
            Transform::Rotate90 => (true, |_, j| odd(j)),
            Transform::Rotate180 => (false, |i, j| odd(i) != odd(j)),
            Transform::Rotate270 => (true, |i, _| odd(i)),
            Transform::FlipX => (false, |i, _| odd(i)),
            Transform::FlipY => (false, |_, j| odd(j)),
            Transform::FlipPlus1 => (true, |_, _| false),
            Transform::FlipMinus1 => (true, |i, j| odd(i) != odd(j)),
        };
        let mut out = [[0.0_f32; KEPT]; KEPT];
        for (i, row) in dct.iter().enumerate() {
            for (j, &c) in row.iter().enumerate() {
                let c = if negate(i, j) { -c } else { c };
                if transpose {
                    out[j][i] = c;
                } else {
                    out[i][j] = c;
                }
            }
        }
        out
    }
}

#[cfg(test)]
#[allow(
    clippy::needless_range_loop,
    reason = "index loops spell out the reference's order"
)]
mod tests {
    use super::*;

    #[test]
    fn matrix_entries_round_as_the_reference_computes_them() {
        let d = dct_matrix();
        // √(2/64) rounded to f32, times cos(π/128), rounded to f32.
        let scale = 0.176_776_69_f32;
        assert_eq!(scale, (2.0_f64 / 64.0).sqrt() as f32);
        let first = (f64::from(scale) * (std::f64::consts::PI / 128.0).cos()) as f32;
        assert_eq!(d[0][0].to_bits(), first.to_bits());
        // Rows alternate symmetry: row i (frequency i + 1) is antisymmetric for even i.
        for i in 0..KEPT {
            for j in 0..SIDE {
                let mirrored = d[i][SIDE - 1 - j];
                let expected = if i % 2 == 0 { -d[i][j] } else { d[i][j] };
                assert!((mirrored - expected).abs() < 1e-6, "D[{i}][{j}]");
            }
        }
        // Rows are orthonormal (to f32 precision).
        for a in 0..KEPT {
            for b in 0..KEPT {
                let dot: f64 = (0..SIDE)
                    .map(|k| f64::from(d[a][k]) * f64::from(d[b][k]))
                    .sum();
                let want = if a == b { 1.0 } else { 0.0 };
                assert!((dot - want).abs() < 1e-5, "rows {a} and {b}: {dot}");
            }
        }
    }

    #[test]
    fn dct_sums_in_the_reference_order() {
        let mut a = [[0.0_f32; SIDE]; SIDE];
        let mut state = 12345_u32;
        for row in a.iter_mut() {
            for v in row.iter_mut() {
                state = state.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
                *v = (state >> 8) as f32 / 65_536.0;
            }
        }
        let d = dct_matrix();
        let mut t = [[0.0_f32; SIDE]; KEPT];
        for i in 0..KEPT {
            for j in 0..SIDE {
                let mut s = 0.0_f32;
                for k in 0..SIDE {
                    s += d[i][k] * a[k][j];
                }
                t[i][j] = s;
            }
        }
        let b = dct_16(&a);
        for i in 0..KEPT {
            for j in 0..KEPT {
                let mut s = 0.0_f32;
                for k in 0..SIDE {
                    s += t[i][k] * d[j][k];
                }
                assert_eq!(b[i][j].to_bits(), s.to_bits(), "B[{i}][{j}]");
            }
        }
    }

    #[test]
    fn transforms_move_and_negate_coefficients() {
        let dct: Coefficients =
            std::array::from_fn(|i| std::array::from_fn(|j| (i * 16 + j) as f32 + 1.0));
        assert_eq!(Transform::Original.apply(&dct), dct);
        let plus1 = Transform::FlipPlus1.apply(&dct);
        assert_eq!(plus1[3][5], dct[5][3]);
        let flip_y = Transform::FlipY.apply(&dct);
        assert_eq!(flip_y[2][0], -dct[2][0]);
        assert_eq!(flip_y[2][1], dct[2][1]);
        // Group relations: two quarter turns are a half turn; rotate 90 then 270 is the identity;
        // each flip is its own inverse.
        let r90 = Transform::Rotate90;
        assert_eq!(
            r90.apply(&r90.apply(&dct)),
            Transform::Rotate180.apply(&dct)
        );
        assert_eq!(Transform::Rotate270.apply(&r90.apply(&dct)), dct);
        for t in [
            Transform::FlipX,
            Transform::FlipY,
            Transform::FlipPlus1,
            Transform::FlipMinus1,
        ] {
            assert_eq!(t.apply(&t.apply(&dct)), dct, "{t:?}");
        }
        // A flip about one axis then the other is the half turn.
        assert_eq!(
            Transform::FlipX.apply(&Transform::FlipY.apply(&dct)),
            Transform::Rotate180.apply(&dct)
        );
    }
}
