//! PDQ hashes of images (PDQ, Meta, 2019).
//!
//! Fed the same 8-bit RGB pixels, [`hash_rgb`] gives exactly the hash and quality of the reference
//! implementation (as packaged for Python, `pdqhash`): the same `f32` operations in the same
//! order, from the luma through the blur, the 64×64 downsample, the DCT and the median.
//!
//! The steps: luma; two rounds of box filters along rows and columns, each window half a cell of
//! the 64×64 grid; one sample per cell; a quality score from the gradients of that downsample; the
//! 16×16 lowest non-constant frequencies of its DCT; one bit per coefficient, set when the
//! coefficient is above their median.
//!
//! Images are decoded from their content (JPEG, PNG, WebP, GIF, BMP), turned upright by their Exif
//! orientation, and converted to 8-bit RGB as Pillow's `convert("RGB")` does; see
//! [`hash_image_bytes`].

mod dct;
mod decode;
mod downscale;
mod luma;
mod median;

use std::path::Path;

use crate::Hash256;
use dct::{Coefficients, KEPT};
use downscale::{SIDE, Scratch};

pub use dct::Transform;

/// Images narrower or shorter than this have no PDQ hash (the reference returns all zeros with
/// quality 0; here it is [`HashError::TooSmall`]).
pub const MIN_SIDE: u32 = 5;

/// The default ceiling on decoded pixels (100 megapixels), against decompression bombs: a small
/// file that declares a huge image is refused before anything that size is allocated.
pub const DEFAULT_MAX_PIXELS: u64 = 100_000_000;

/// A PDQ hash and its quality: 0 (featureless, no use for matching) to 100.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Hashed {
    pub hash: Hash256,
    pub quality: u8,
}

/// The PDQ hashes of an image under the eight rotations and reflections, from one DCT (each hash
/// is that of the transformed image, up to the small effects of the blur's asymmetry). See
/// [`Transform`] for what each one is. The quality is the same for all.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Dihedral {
    pub original: Hash256,
    pub rotate_90: Hash256,
    pub rotate_180: Hash256,
    pub rotate_270: Hash256,
    pub flip_x: Hash256,
    pub flip_y: Hash256,
    pub flip_plus_1: Hash256,
    pub flip_minus_1: Hash256,
    pub quality: u8,
}

impl Dihedral {
    /// The hash of the image under `transform`.
    pub fn get(&self, transform: Transform) -> Hash256 {
        match transform {
            Transform::Original => self.original,
            Transform::Rotate90 => self.rotate_90,
            Transform::Rotate180 => self.rotate_180,
            Transform::Rotate270 => self.rotate_270,
            Transform::FlipX => self.flip_x,
            Transform::FlipY => self.flip_y,
            Transform::FlipPlus1 => self.flip_plus_1,
            Transform::FlipMinus1 => self.flip_minus_1,
        }
    }

    /// All eight, in [`Transform::ALL`] order.
    pub fn hashes(&self) -> [(Transform, Hash256); 8] {
        Transform::ALL.map(|t| (t, self.get(t)))
    }
}

/// Why an image has no hash.
#[derive(Debug, thiserror::Error)]
pub enum HashError {
    #[error("the image has no pixels ({width}x{height})")]
    Empty { width: u32, height: u32 },
    #[error("the image is {width}x{height}; PDQ needs at least {MIN_SIDE} pixels each way")]
    TooSmall { width: u32, height: u32 },
    #[error("the image is {width}x{height}, over the limit of {limit} pixels")]
    TooLarge { width: u32, height: u32, limit: u64 },
    #[error("{width}x{height} pixels take {expected} values, the buffer has {actual}")]
    BufferSize {
        width: u32,
        height: u32,
        expected: u64,
        actual: usize,
    },
    #[error("luma at pixel {index} is {value}, not a finite number")]
    NonFiniteLuma { index: usize, value: f32 },
    #[error("not an image in a supported format (JPEG, PNG, WebP, GIF or BMP)")]
    UnsupportedFormat,
    #[error("cannot decode the image: {reason}")]
    Decode { reason: String },
    #[error("cannot read {path}: {source}")]
    Read {
        path: std::path::PathBuf,
        source: std::io::Error,
    },
}

/// Pixels in one of the layouts the hasher reads, row-major without padding.
#[derive(Debug, Clone, Copy)]
enum Pixels<'a> {
    Rgb(&'a [u8]),
    Grey(&'a [u8]),
    Luma(&'a [f32]),
}

impl Pixels<'_> {
    #[inline(always)]
    fn luma_row(&self, width: usize, row: usize, out: &mut [f32]) {
        let span = row * width..(row + 1) * width;
        match *self {
            Pixels::Rgb(rgb) => luma::rgb_row(&rgb[span.start * 3..span.end * 3], out),
            Pixels::Grey(grey) => luma::grey_row(&grey[span], out),
            Pixels::Luma(luma) => out.copy_from_slice(&luma[span]),
        }
    }

    fn values_per_pixel(&self) -> u64 {
        match self {
            Pixels::Rgb(_) => 3,
            Pixels::Grey(_) | Pixels::Luma(_) => 1,
        }
    }

    fn len(&self) -> usize {
        match self {
            Pixels::Rgb(v) | Pixels::Grey(v) => v.len(),
            Pixels::Luma(v) => v.len(),
        }
    }
}

/// Checks the dimensions against the buffer and PDQ's minimum size.
fn check(width: u32, height: u32, pixels: &Pixels) -> Result<(usize, usize), HashError> {
    let expected = u64::from(width) * u64::from(height) * pixels.values_per_pixel();
    if expected != pixels.len() as u64 {
        return Err(HashError::BufferSize {
            width,
            height,
            expected,
            actual: pixels.len(),
        });
    }
    if width == 0 || height == 0 {
        return Err(HashError::Empty { width, height });
    }
    if width < MIN_SIDE || height < MIN_SIDE {
        return Err(HashError::TooSmall { width, height });
    }
    if let Pixels::Luma(luma) = pixels
        && let Some((index, &value)) = luma.iter().enumerate().find(|(_, v)| !v.is_finite())
    {
        return Err(HashError::NonFiniteLuma { index, value });
    }
    Ok((width as usize, height as usize))
}

/// Hashes and decodes with reusable buffers: worth keeping one per thread when hashing many images.
/// The working buffers of the hash (a few dozen rows) grow to the widest image seen; the buffer of
/// decoded pixels is kept only while it is at most [`Hasher::KEEP_DECODED_BYTES`].
pub struct Hasher {
    max_pixels: u64,
    scratch: Scratch,
    decoded: Vec<u8>,
}

impl std::fmt::Debug for Hasher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Hasher")
            .field("max_pixels", &self.max_pixels)
            .field("decoded_capacity", &self.decoded.capacity())
            .finish_non_exhaustive()
    }
}

impl Default for Hasher {
    fn default() -> Self {
        Self::new()
    }
}

impl Hasher {
    /// The largest buffer of decoded pixels kept for the next image (64 MiB, about 22 megapixels of
    /// RGB); a larger one is given back after use.
    pub const KEEP_DECODED_BYTES: usize = 64 << 20;

    /// A hasher that decodes images of up to [`DEFAULT_MAX_PIXELS`].
    pub fn new() -> Self {
        Self::with_max_pixels(DEFAULT_MAX_PIXELS)
    }

    /// A hasher that refuses to decode images of more than `max_pixels` pixels
    /// ([`HashError::TooLarge`]). Pixel buffers handed in directly are not limited.
    pub fn with_max_pixels(max_pixels: u64) -> Self {
        Self {
            max_pixels,
            scratch: Scratch::default(),
            decoded: Vec::new(),
        }
    }

    /// See [`hash_rgb`].
    pub fn hash_rgb(&mut self, width: u32, height: u32, rgb: &[u8]) -> Result<Hashed, HashError> {
        let pixels = Pixels::Rgb(rgb);
        let size = check(width, height, &pixels)?;
        Ok(hash_pixels(pixels, size, &mut self.scratch))
    }

    /// See [`dihedral_rgb`].
    pub fn dihedral_rgb(
        &mut self,
        width: u32,
        height: u32,
        rgb: &[u8],
    ) -> Result<Dihedral, HashError> {
        let pixels = Pixels::Rgb(rgb);
        let size = check(width, height, &pixels)?;
        Ok(dihedral_pixels(pixels, size, &mut self.scratch))
    }

    /// See [`hash_luma_f32`].
    pub fn hash_luma_f32(
        &mut self,
        width: u32,
        height: u32,
        luma: &[f32],
    ) -> Result<Hashed, HashError> {
        let pixels = Pixels::Luma(luma);
        let size = check(width, height, &pixels)?;
        Ok(hash_pixels(pixels, size, &mut self.scratch))
    }

    /// See [`hash_image_bytes`].
    pub fn hash_image_bytes(&mut self, bytes: &[u8]) -> Result<Hashed, HashError> {
        self.with_decoded(bytes, hash_pixels)
    }

    /// See [`dihedral_image_bytes`].
    pub fn dihedral_image_bytes(&mut self, bytes: &[u8]) -> Result<Dihedral, HashError> {
        self.with_decoded(bytes, dihedral_pixels)
    }

    fn with_decoded<T>(
        &mut self,
        bytes: &[u8],
        hash: fn(Pixels, (usize, usize), &mut Scratch) -> T,
    ) -> Result<T, HashError> {
        let decoded = decode::decode(bytes, self.max_pixels, &mut self.decoded);
        let hashed = decoded.and_then(|image| {
            let (pixels, width, height) = image.pixels(&self.decoded);
            let size = check(width, height, &pixels)?;
            Ok(hash(pixels, size, &mut self.scratch))
        });
        if self.decoded.capacity() > Self::KEEP_DECODED_BYTES {
            self.decoded = Vec::new();
        }
        hashed
    }

    /// See [`hash_image_file`].
    pub fn hash_image_file(&mut self, path: &Path) -> Result<Hashed, HashError> {
        let bytes = std::fs::read(path).map_err(|source| HashError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        self.hash_image_bytes(&bytes)
    }
}

/// The PDQ hash of 8-bit RGB pixels, row-major (`3 × width × height` bytes, no padding).
///
/// Bit-exact with the reference fed the same pixels.
pub fn hash_rgb(width: u32, height: u32, rgb: &[u8]) -> Result<Hashed, HashError> {
    Hasher::new().hash_rgb(width, height, rgb)
}

/// The PDQ hash of a luma image given as `f32` values (nominally 0 to 255), row-major: for callers
/// with their own luma, such as the reference's `f32` coefficients or a video decoder's Y plane.
/// The values must be finite.
pub fn hash_luma_f32(width: u32, height: u32, luma: &[f32]) -> Result<Hashed, HashError> {
    Hasher::new().hash_luma_f32(width, height, luma)
}

/// The eight dihedral PDQ hashes of 8-bit RGB pixels, as the reference's dihedral variant computes
/// them: one blur and DCT, then the DCT coefficients moved and negated for each transform.
///
/// `original` equals [`hash_rgb`]'s hash except for images of exactly 64×64, where the reference's
/// plain hash skips the blur (the image already is the downsample) and its dihedral variant does not.
pub fn dihedral_rgb(width: u32, height: u32, rgb: &[u8]) -> Result<Dihedral, HashError> {
    Hasher::new().dihedral_rgb(width, height, rgb)
}

/// The PDQ hash of an encoded image: JPEG, PNG, WebP, GIF or BMP, recognised by its content, not
/// its name.
///
/// The image is turned upright by its Exif orientation; the first frame of an animation is hashed;
/// every colour mode becomes 8-bit RGB as Pillow's `convert("RGB")` makes it (alpha is dropped,
/// not composited; palettes are looked up; grey is copied to the three channels; 16-bit samples keep
/// their high byte). One difference: Pillow saturates 16-bit grey at 255, which leaves a blank
/// image; here 16-bit grey keeps its high byte like the other 16-bit modes.
///
/// Decoders other than Pillow's give slightly different pixels (JPEG especially), so the hash can
/// differ from the reference's on Pillow-decoded pixels by a few bits. Images over
/// [`DEFAULT_MAX_PIXELS`] are refused; see [`Hasher::with_max_pixels`] for another limit.
pub fn hash_image_bytes(bytes: &[u8]) -> Result<Hashed, HashError> {
    Hasher::new().hash_image_bytes(bytes)
}

/// The eight dihedral PDQ hashes of an encoded image, decoded as [`hash_image_bytes`] does.
pub fn dihedral_image_bytes(bytes: &[u8]) -> Result<Dihedral, HashError> {
    Hasher::new().dihedral_image_bytes(bytes)
}

/// The PDQ hash of an image file, decoded as [`hash_image_bytes`] does (the file name plays no part).
pub fn hash_image_file(path: &Path) -> Result<Hashed, HashError> {
    Hasher::new().hash_image_file(path)
}

/// The 64×64 downsample of an image of at least `MIN_SIDE` each way. `blur_64` says whether an
/// image that already is 64×64 goes through the blur (the reference's dihedral variant) or is
/// taken as it is (its plain hash).
fn downsample(
    pixels: Pixels,
    (width, height): (usize, usize),
    blur_64: bool,
    scratch: &mut Scratch,
) -> [[f32; SIDE]; SIDE] {
    let mut out = [[0.0_f32; SIDE]; SIDE];
    if width == SIDE && height == SIDE && !blur_64 {
        for (r, row) in out.iter_mut().enumerate() {
            pixels.luma_row(width, r, row);
        }
    } else {
        let fill = |r: usize, row: &mut [f32]| pixels.luma_row(width, r, row);
        downscale::downscale(width, height, fill, scratch, &mut out);
    }
    out
}

/// PDQ's quality score: the sum of the absolute differences between neighbouring pixels of the
/// downsample, each in whole percent of the 0–255 range (truncated, so that only marked edges
/// count), scaled so that 100 means "enough detail" and capped there.
fn quality(downsample: &[[f32; SIDE]; SIDE]) -> u8 {
    // Truncated towards zero as the reference's conversion to int; summed wide, so that luma far
    // outside 0–255 (possible through `hash_luma_f32`) saturates instead of overflowing.
    let step = |u: f32, v: f32| u64::from(((((u - v) * 100.0) / 255.0) as i32).unsigned_abs());
    let mut sum = 0_u64;
    for pair in downsample.windows(2) {
        for (&u, &v) in pair[0].iter().zip(&pair[1]) {
            sum += step(u, v);
        }
    }
    for row in downsample {
        for pair in row.windows(2) {
            sum += step(pair[0], pair[1]);
        }
    }
    (sum / 90).min(100) as u8
}

/// One bit per coefficient: set when it is above the median of all 256. Bit `16 u + v` is
/// coefficient `[u][v]`, in [`Hash256::bit`]'s numbering.
fn bits(dct: &Coefficients) -> Hash256 {
    let flat: [f32; KEPT * KEPT] = std::array::from_fn(|k| dct[k / KEPT][k % KEPT]);
    let median = median::torben(&flat);
    let mut hash = Hash256::default();
    for (k, &c) in flat.iter().enumerate() {
        if c > median {
            hash.set_bit(k, true);
        }
    }
    hash
}

fn hash_pixels(pixels: Pixels, size: (usize, usize), scratch: &mut Scratch) -> Hashed {
    let small = downsample(pixels, size, false, scratch);
    Hashed {
        hash: bits(&dct::dct_16(&small)),
        quality: quality(&small),
    }
}

fn dihedral_pixels(pixels: Pixels, size: (usize, usize), scratch: &mut Scratch) -> Dihedral {
    let small = downsample(pixels, size, true, scratch);
    let dct = dct::dct_16(&small);
    let hash = |t: Transform| bits(&t.apply(&dct));
    Dihedral {
        original: hash(Transform::Original),
        rotate_90: hash(Transform::Rotate90),
        rotate_180: hash(Transform::Rotate180),
        rotate_270: hash(Transform::Rotate270),
        flip_x: hash(Transform::FlipX),
        flip_y: hash(Transform::FlipY),
        flip_plus_1: hash(Transform::FlipPlus1),
        flip_minus_1: hash(Transform::FlipMinus1),
        quality: quality(&small),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A smooth, lopsided picture: a few broad blobs and a ramp, nothing symmetric.
    fn picture(width: usize, height: usize) -> Vec<f32> {
        let blobs = [
            (0.2, 0.3, 0.15, 90.0),
            (0.7, 0.25, 0.1, -60.0),
            (0.55, 0.8, 0.2, 70.0),
            (0.1, 0.9, 0.08, 50.0),
        ];
        let mut luma = Vec::with_capacity(width * height);
        for r in 0..height {
            for c in 0..width {
                let (y, x) = (r as f32 / height as f32, c as f32 / width as f32);
                let mut v = 60.0 + 40.0 * x + 25.0 * y * y;
                for (bx, by, s, a) in blobs {
                    v += a * (-((x - bx).powi(2) + (y - by).powi(2)) / (s * s)).exp();
                }
                luma.push(v);
            }
        }
        luma
    }

    /// The picture under a transform, pixel by pixel (square images only).
    fn transformed(luma: &[f32], n: usize, t: Transform) -> Vec<f32> {
        let at = |r: usize, c: usize| luma[r * n + c];
        let m = n - 1;
        let mut out = Vec::with_capacity(n * n);
        for r in 0..n {
            for c in 0..n {
                out.push(match t {
                    Transform::Original => at(r, c),
                    Transform::Rotate90 => at(c, m - r),
                    Transform::Rotate180 => at(m - r, m - c),
                    Transform::Rotate270 => at(m - c, r),
                    Transform::FlipX => at(m - r, c),
                    Transform::FlipY => at(r, m - c),
                    Transform::FlipPlus1 => at(c, r),
                    Transform::FlipMinus1 => at(m - c, m - r),
                });
            }
        }
        out
    }

    fn dihedral_luma(n: usize, luma: &[f32]) -> Dihedral {
        let pixels = Pixels::Luma(luma);
        let size = check(n as u32, n as u32, &pixels).unwrap();
        dihedral_pixels(pixels, size, &mut Scratch::default())
    }

    #[test]
    fn dihedral_hashes_are_the_hashes_of_the_transformed_image() {
        // At 64x64 the plain hash takes the pixels as the downsample, so the only differences are
        // in the rounding of the DCT: the transformed coefficients are equal up to an ulp or two.
        let n = 64;
        let luma = picture(n, n);
        let dihedral = dihedral_luma(n, &luma);
        for t in Transform::ALL {
            let direct = hash_luma_f32(n as u32, n as u32, &transformed(&luma, n, t)).unwrap();
            let distance = direct.hash.distance(&dihedral.get(t));
            assert!(distance <= 4, "{t:?}: distance {distance}");
            assert_eq!(direct.quality, dihedral.quality, "{t:?}");
        }
        // The eight are different hashes: the picture has no symmetry.
        for (i, &(a, ha)) in dihedral.hashes().iter().enumerate() {
            for &(b, hb) in &dihedral.hashes()[i + 1..] {
                assert!(ha.distance(&hb) > 40, "{a:?} and {b:?}");
            }
        }
    }

    #[test]
    fn dihedral_holds_through_the_blur_too() {
        // Larger, so the blur and decimation run; they are not exactly symmetric, hence the slack.
        let n = 300;
        let luma = picture(n, n);
        let dihedral = dihedral_luma(n, &luma);
        for t in Transform::ALL {
            let direct = hash_luma_f32(n as u32, n as u32, &transformed(&luma, n, t)).unwrap();
            let distance = direct.hash.distance(&dihedral.get(t));
            assert!(distance <= 16, "{t:?}: distance {distance}");
        }
        assert_eq!(
            dihedral.original,
            hash_luma_f32(n as u32, n as u32, &luma).unwrap().hash
        );
    }

    #[test]
    fn rgb_and_grey_and_luma_agree() {
        let (w, h) = (97, 61);
        let grey: Vec<u8> = (0..w * h)
            .map(|i| ((i * 7 + i / w * 13) % 256) as u8)
            .collect();
        let rgb: Vec<u8> = grey.iter().flat_map(|&v| [v, v, v]).collect();
        let luma: Vec<f32> = grey.iter().map(|&v| f32::from(v)).collect();
        let from_rgb = hash_rgb(w as u32, h as u32, &rgb).unwrap();
        let from_grey = hash_pixels(Pixels::Grey(&grey), (w, h), &mut Scratch::default());
        assert_eq!(from_rgb, from_grey);
        assert_eq!(from_rgb, hash_luma_f32(w as u32, h as u32, &luma).unwrap());
    }

    #[test]
    fn a_64x64_image_is_its_own_downsample_except_in_the_dihedral_variant() {
        let luma = picture(64, 64);
        let as_is: [[f32; SIDE]; SIDE] =
            std::array::from_fn(|r| std::array::from_fn(|c| luma[r * 64 + c]));
        let hashed = hash_luma_f32(64, 64, &luma).unwrap();
        assert_eq!(hashed.hash, bits(&dct::dct_16(&as_is)));
        assert_eq!(hashed.quality, quality(&as_is));
        // The dihedral variant runs the (one-pixel) box filter anyway, as the reference does;
        // its running sums round, so its original can differ from the plain hash by a bit or two.
        let dihedral = dihedral_luma(64, &luma);
        assert!(dihedral.original.distance(&hashed.hash) <= 4);
    }

    #[test]
    fn luma_far_outside_the_usual_range_still_hashes() {
        let luma: Vec<f32> = (0..100 * 100)
            .map(|i| if i % 3 == 0 { 3.0e37 } else { -3.0e37 })
            .collect();
        let hashed = hash_luma_f32(100, 100, &luma).unwrap();
        assert!(hashed.quality <= 100);
    }

    #[test]
    fn the_first_frame_of_an_animation_is_hashed() {
        use image::codecs::gif::{GifDecoder, GifEncoder};
        use image::{AnimationDecoder, Delay, Frame, Rgba, RgbaImage};
        let (w, h) = (60, 40);
        let first = RgbaImage::from_fn(w, h, |x, _| Rgba([(x * 4) as u8, 0, 0, 255]));
        let second = RgbaImage::from_fn(w, h, |_, y| Rgba([0, 0, (y * 6) as u8, 255]));
        let mut gif = Vec::new();
        {
            let mut encoder = GifEncoder::new(&mut gif);
            for frame in [&first, &second] {
                let frame =
                    Frame::from_parts(frame.clone(), 0, 0, Delay::from_numer_denom_ms(100, 1));
                encoder.encode_frame(frame).unwrap();
            }
        }
        // The frames as the GIF holds them (its palette may have moved colours a little).
        let frames: Vec<_> = GifDecoder::new(std::io::Cursor::new(&gif))
            .unwrap()
            .into_frames()
            .collect_frames()
            .unwrap();
        assert_eq!(frames.len(), 2);
        let hash_of = |frame: &Frame| {
            let rgb = image::DynamicImage::ImageRgba8(frame.buffer().clone()).to_rgb8();
            hash_rgb(w, h, rgb.as_raw()).unwrap()
        };
        let hashed = hash_image_bytes(&gif).unwrap();
        assert_eq!(hashed, hash_of(&frames[0]));
        assert_ne!(hashed.hash, hash_of(&frames[1]).hash);
    }

    #[test]
    fn a_flat_image_has_quality_zero() {
        let rgb = vec![128u8; 3 * 100 * 80];
        let flat = hash_rgb(100, 80, &rgb).unwrap();
        // No gradients at all. (The hash itself is rounding noise: every coefficient is within an
        // ulp or two of zero, which is why a hash of quality 0 is worth nothing.)
        assert_eq!(flat.quality, 0);
    }

    #[test]
    fn quality_counts_whole_percent_steps() {
        let mut small = [[0.0_f32; SIDE]; SIDE];
        assert_eq!(quality(&small), 0);
        // One vertical edge of 255 between columns 31 and 32: 64 steps of 100%, 6400 / 90 = 71.
        for row in small.iter_mut() {
            row[32..].fill(255.0);
        }
        assert_eq!(quality(&small), 71);
        // Steps under one percent count for nothing.
        let ramp: [[f32; SIDE]; SIDE] =
            std::array::from_fn(|_| std::array::from_fn(|c| c as f32 * 2.5));
        assert_eq!(quality(&ramp), 0);
        // Many strong edges saturate at 100.
        let checker: [[f32; SIDE]; SIDE] = std::array::from_fn(|r| {
            std::array::from_fn(|c| if (r + c) % 2 == 0 { 0.0 } else { 255.0 })
        });
        assert_eq!(quality(&checker), 100);
    }

    #[test]
    fn bits_mark_coefficients_above_the_median() {
        let dct: Coefficients =
            std::array::from_fn(|i| std::array::from_fn(|j| (i * KEPT + j) as f32));
        let hash = bits(&dct);
        // Values 0..=255: the median is 127, so bits 128 to 255 are set.
        for k in 0..256 {
            assert_eq!(hash.bit(k), k >= 128, "bit {k}");
        }
        assert_eq!(
            hash.to_hex(),
            format!("{}{}", "f".repeat(32), "0".repeat(32))
        );
    }

    #[test]
    fn bad_buffers_are_refused_with_what_is_wrong() {
        assert!(matches!(
            hash_rgb(10, 10, &[0; 299]),
            Err(HashError::BufferSize {
                width: 10,
                height: 10,
                expected: 300,
                actual: 299
            })
        ));
        assert!(matches!(
            hash_rgb(0, 10, &[]),
            Err(HashError::Empty {
                width: 0,
                height: 10
            })
        ));
        assert!(matches!(
            hash_rgb(4, 100, &[0; 1200]),
            Err(HashError::TooSmall {
                width: 4,
                height: 100
            })
        ));
        assert!(matches!(
            hash_rgb(5, 5, &[0; 75]),
            Ok(Hashed { quality: 0, .. })
        ));
        let mut luma = vec![1.0_f32; 100];
        luma[42] = f32::NAN;
        let err = hash_luma_f32(10, 10, &luma).unwrap_err();
        assert!(matches!(err, HashError::NonFiniteLuma { index: 42, .. }));
        assert_eq!(
            err.to_string(),
            "luma at pixel 42 is NaN, not a finite number"
        );
        assert_eq!(
            hash_rgb(3, 9, &[0; 81]).unwrap_err().to_string(),
            "the image is 3x9; PDQ needs at least 5 pixels each way"
        );
    }

    #[test]
    fn bytes_that_are_not_an_image_are_refused() {
        assert!(matches!(
            hash_image_bytes(b""),
            Err(HashError::UnsupportedFormat)
        ));
        assert!(matches!(
            hash_image_bytes(b"plain text, not an image"),
            Err(HashError::UnsupportedFormat)
        ));
        // A TIFF header: a format this crate does not decode.
        assert!(matches!(
            hash_image_bytes(b"II*\x00\x08\x00\x00\x00"),
            Err(HashError::UnsupportedFormat)
        ));
        // A JPEG cut short after its start marker.
        let err = hash_image_bytes(&[0xff, 0xd8, 0xff, 0xe0, 0x00]).unwrap_err();
        assert!(matches!(err, HashError::Decode { .. }), "{err:?}");
        let err = hash_image_file(Path::new("/nonexistent/picture.jpg")).unwrap_err();
        assert!(
            err.to_string()
                .starts_with("cannot read /nonexistent/picture.jpg"),
            "{err}"
        );
    }

    /// A GIF header declaring a 65535x65535 canvas, with a one-pixel frame.
    fn gif_bomb() -> Vec<u8> {
        let mut gif = b"GIF89a".to_vec();
        gif.extend_from_slice(&[0xff, 0xff, 0xff, 0xff, 0x80, 0, 0]); // screen, global palette of 2
        gif.extend_from_slice(&[0, 0, 0, 255, 255, 255]);
        gif.extend_from_slice(&[0x2c, 0, 0, 0, 0, 1, 0, 1, 0, 0]); // a 1x1 frame at the origin
        gif.extend_from_slice(&[2, 2, 0x44, 0x01, 0, 0x3b]);
        gif
    }

    #[test]
    fn decompression_bombs_are_refused_before_allocating() {
        let err = hash_image_bytes(&gif_bomb()).unwrap_err();
        assert!(
            matches!(
                err,
                HashError::TooLarge {
                    width: 65535,
                    height: 65535,
                    limit: DEFAULT_MAX_PIXELS
                }
            ),
            "{err:?}"
        );
        assert_eq!(
            err.to_string(),
            "the image is 65535x65535, over the limit of 100000000 pixels"
        );
    }

    #[test]
    fn the_pixel_limit_is_configurable() {
        let mut png = Vec::new();
        let image = image::RgbImage::from_fn(40, 30, |x, y| {
            image::Rgb([(x * 6) as u8, (y * 8) as u8, 99])
        });
        image
            .write_to(&mut std::io::Cursor::new(&mut png), image::ImageFormat::Png)
            .unwrap();
        assert!(Hasher::with_max_pixels(1200).hash_image_bytes(&png).is_ok());
        assert!(matches!(
            Hasher::with_max_pixels(1199).hash_image_bytes(&png),
            Err(HashError::TooLarge {
                width: 40,
                height: 30,
                limit: 1199
            })
        ));
        // Decoded or handed in as pixels, the same hash.
        assert_eq!(
            hash_image_bytes(&png).unwrap(),
            hash_rgb(40, 30, image.as_raw()).unwrap()
        );
    }

    #[test]
    fn colour_modes_become_rgb_as_pillow_makes_them() {
        let (w, h) = (48, 40);
        let rgba = image::RgbaImage::from_fn(w, h, |x, y| {
            image::Rgba([
                (x * 5) as u8,
                (y * 6) as u8,
                ((x + y) * 3) as u8,
                (x * y) as u8,
            ])
        });
        let rgb = image::DynamicImage::ImageRgba8(rgba.clone()).to_rgb8();
        let want = hash_rgb(w, h, rgb.as_raw()).unwrap();
        let encode = |image: image::DynamicImage| {
            let mut png = Vec::new();
            image
                .write_to(&mut std::io::Cursor::new(&mut png), image::ImageFormat::Png)
                .unwrap();
            png
        };
        // BMP, by content.
        let mut bmp = Vec::new();
        rgb.write_to(&mut std::io::Cursor::new(&mut bmp), image::ImageFormat::Bmp)
            .unwrap();
        assert_eq!(hash_image_bytes(&bmp).unwrap(), want);
        // RGBA: alpha dropped, whatever it is.
        assert_eq!(
            hash_image_bytes(&encode(image::DynamicImage::ImageRgba8(rgba.clone()))).unwrap(),
            want
        );
        // 16-bit RGB: the high byte of each sample (low bytes deliberately not a copy of the high).
        let rgb16 = image::ImageBuffer::<image::Rgb<u16>, _>::from_fn(w, h, |x, y| {
            let p = rgb.get_pixel(x, y).0;
            image::Rgb([
                u16::from(p[0]) << 8 | 0xff,
                u16::from(p[1]) << 8 | 0x80,
                u16::from(p[2]) << 8,
            ])
        });
        assert_eq!(
            hash_image_bytes(&encode(image::DynamicImage::ImageRgb16(rgb16))).unwrap(),
            want
        );
        // Grey with alpha: the grey level on all three channels.
        let la = image::ImageBuffer::<image::LumaA<u8>, _>::from_fn(w, h, |x, y| {
            image::LumaA([(x * 5 + y) as u8, 7])
        });
        let grey_rgb: Vec<u8> = la.pixels().flat_map(|p| [p.0[0]; 3]).collect();
        assert_eq!(
            hash_image_bytes(&encode(image::DynamicImage::ImageLumaA8(la))).unwrap(),
            hash_rgb(w, h, &grey_rgb).unwrap()
        );
    }
}
