//! Luma (the Y of YUV) from 8-bit pixels.

/// Rec. 601 luma of one row of 8-bit RGB, `0.299 R + 0.587 G + 0.114 B`, rounded to `f32` exactly
/// as the reference packaged for Python (`pdqhash`) rounds it.
///
/// That reference computes the luma as a NumPy expression in double precision,
/// `(R·0.299 + G·0.587) + B·0.114`, then rounds it to `f32`. The result is always the `f32`
/// nearest to the exact value `(299 R + 587 G + 114 B) / 1000`: a multiple of 1/1000 is never
/// closer than 1/2000 of an ulp to a point halfway between two `f32`s (an odd multiple of a power
/// of two), while the errors of the double-precision expression are below 10⁻⁸ ulp. An `f32`
/// division of the exact integer numerator by 1000 is correctly rounded as well, so the two agree
/// bit for bit for every colour (all 2²⁴ are checked in the tests), and the integer form is cheaper.
///
/// The reference's C++ tools multiply by `f32` coefficients instead, which differs by an ulp here
/// and there; the hashes almost never do.
#[inline(always)]
pub(super) fn rgb_row(rgb: &[u8], out: &mut [f32]) {
    for (px, y) in rgb.chunks_exact(3).zip(out.iter_mut()) {
        let weighted = 299 * u32::from(px[0]) + 587 * u32::from(px[1]) + 114 * u32::from(px[2]);
        *y = weighted as f32 / 1000.0;
    }
}

/// Luma of one row of 8-bit grey: the grey level itself, which is exactly what [`rgb_row`] gives
/// for a pixel whose three channels are equal (checked for all 256 levels in the tests).
#[inline(always)]
pub(super) fn grey_row(grey: &[u8], out: &mut [f32]) {
    for (&v, y) in grey.iter().zip(out.iter_mut()) {
        *y = f32::from(v);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The double-precision expression of the reference's Python package.
    fn reference_luma(r: u8, g: u8, b: u8) -> f32 {
        (f64::from(r) * 0.299 + f64::from(g) * 0.587 + f64::from(b) * 0.114) as f32
    }

    #[test]
    fn integer_luma_equals_the_double_precision_expression_for_every_colour() {
        let mut rgb = Vec::with_capacity(3 * 256 * 256);
        let mut out = vec![0.0_f32; 256 * 256];
        for r in 0..=255u8 {
            rgb.clear();
            for g in 0..=255u8 {
                for b in 0..=255u8 {
                    rgb.extend_from_slice(&[r, g, b]);
                }
            }
            rgb_row(&rgb, &mut out);
            for (i, &y) in out.iter().enumerate() {
                let (g, b) = ((i / 256) as u8, (i % 256) as u8);
                assert_eq!(
                    y.to_bits(),
                    reference_luma(r, g, b).to_bits(),
                    "R {r} G {g} B {b}"
                );
            }
        }
    }

    #[test]
    fn grey_pixels_have_their_own_level_as_luma() {
        let levels: Vec<u8> = (0..=255).collect();
        let rgb: Vec<u8> = levels.iter().flat_map(|&v| [v, v, v]).collect();
        let (mut from_rgb, mut from_grey) = (vec![0.0; 256], vec![0.0; 256]);
        rgb_row(&rgb, &mut from_rgb);
        grey_row(&levels, &mut from_grey);
        assert_eq!(from_rgb, from_grey);
    }

    #[test]
    fn luma_weights_green_most() {
        let mut y = [0.0; 3];
        rgb_row(&[255, 0, 0, 0, 255, 0, 0, 0, 255], &mut y);
        assert_eq!(
            y,
            [
                reference_luma(255, 0, 0),
                reference_luma(0, 255, 0),
                reference_luma(0, 0, 255)
            ]
        );
        assert!(y[1] > y[0] && y[0] > y[2]);
    }
}
