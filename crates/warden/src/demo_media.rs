//! Pictures the demo makes itself, so known-media matching can be shown without real media and
//! without the internet: seeded abstract compositions, and near copies of them (brightened,
//! framed, with a small caption mark) as re-uploads of banked media look.

use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};

pub const WIDTH: u32 = 320;
pub const HEIGHT: u32 = 240;

/// Which version of a picture.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Version {
    Original,
    /// The same picture re-uploaded: a little brighter, framed, with a caption mark.
    NearCopy,
}

/// The picture numbered `seed`, as 8-bit RGB rows.
pub fn picture(seed: u64, version: Version) -> Vec<u8> {
    let mut rng = StdRng::seed_from_u64(seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) ^ 0x5eed);
    fn colour(rng: &mut StdRng) -> [f32; 3] {
        std::array::from_fn(|_| rng.random_range(0.0..255.0))
    }
    let (top, bottom) = (colour(&mut rng), colour(&mut rng));
    let (w, h) = (WIDTH as usize, HEIGHT as usize);
    let mut px = vec![[0f32; 3]; w * h];
    for y in 0..h {
        let t = y as f32 / h as f32;
        for x in 0..w {
            px[y * w + x] = std::array::from_fn(|c| top[c] * (1.0 - t) + bottom[c] * t);
        }
    }
    for _ in 0..24 {
        let fill = colour(&mut rng);
        let (cx, cy) = (rng.random_range(0..w) as f32, rng.random_range(0..h) as f32);
        let (rx, ry) = (
            rng.random_range(15.0..90.0f32),
            rng.random_range(15.0..70.0f32),
        );
        let round = rng.random_bool(0.5);
        for y in 0..h {
            for x in 0..w {
                let (dx, dy) = ((x as f32 - cx) / rx, (y as f32 - cy) / ry);
                let inside = if round {
                    dx * dx + dy * dy <= 1.0
                } else {
                    dx.abs() <= 1.0 && dy.abs() <= 1.0
                };
                if inside {
                    px[y * w + x] = fill;
                }
            }
        }
    }
    if version == Version::NearCopy {
        for (i, p) in px.iter_mut().enumerate() {
            let (x, y) = (i % w, i / w);
            let frame = x < 2 || y < 2 || x >= w - 2 || y >= h - 2;
            let caption = y >= h - 8 && x < w / 3;
            *p = if frame {
                [250.0; 3]
            } else if caption {
                [20.0, 20.0, 20.0]
            } else {
                p.map(|v| v + 3.0)
            };
        }
    }
    px.iter()
        .flat_map(|p| p.map(|v| v.clamp(0.0, 255.0) as u8))
        .collect()
}

/// The picture as a PNG file.
pub fn png(seed: u64, version: Version) -> Vec<u8> {
    let rgb = picture(seed, version);
    let mut out = std::io::Cursor::new(Vec::new());
    // Encoding pixels made in memory cannot fail but for a bug here.
    image::RgbImage::from_raw(WIDTH, HEIGHT, rgb)
        .map(|img| img.write_to(&mut out, image::ImageFormat::Png))
        .expect("a picture's pixels fill its frame")
        .expect("PNG encoding of an in-memory picture");
    out.into_inner()
}

/// The PDQ hash of the original picture, as a bank of confirmed media would hold it.
pub fn hash(seed: u64) -> pdq::Hashed {
    pdq::hash_rgb(WIDTH, HEIGHT, &picture(seed, Version::Original))
        .expect("a demo picture is large enough to hash")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn near_copies_match_their_originals_and_no_other_picture() {
        for seed in 0..8 {
            let original = hash(seed);
            assert!(original.quality >= 50, "picture {seed} is too plain");
            let copy = pdq::hash_image_bytes(&png(seed, Version::NearCopy)).unwrap();
            let d = original.hash.distance(&copy.hash);
            assert!((1..=31).contains(&d), "picture {seed}: copy {d} bits away");
            let other = hash(seed + 100);
            assert!(
                original.hash.distance(&other.hash) > 60,
                "pictures {seed} and {} look alike",
                seed + 100
            );
        }
    }
}
