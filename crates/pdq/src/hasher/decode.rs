//! Encoded images to 8-bit pixels, upright, as Pillow's `convert("RGB")` would give them.

use std::io::Cursor;

use image::error::UnsupportedErrorKind;
use image::{
    ColorType, DynamicImage, ImageBuffer, ImageDecoder, ImageError, ImageReader,
    metadata::Orientation,
};

use super::{HashError, Pixels};

/// What [`decode`] left at the start of its buffer.
#[derive(Debug, Clone, Copy)]
pub(super) struct Decoded {
    width: u32,
    height: u32,
    grey: bool,
}

impl Decoded {
    pub(super) fn pixels<'a>(&self, buffer: &'a [u8]) -> (Pixels<'a>, u32, u32) {
        let n = self.width as usize * self.height as usize;
        let pixels = if self.grey {
            Pixels::Grey(&buffer[..n])
        } else {
            Pixels::Rgb(&buffer[..3 * n])
        };
        (pixels, self.width, self.height)
    }
}

fn decode_error(error: ImageError) -> HashError {
    match error {
        ImageError::Unsupported(e) if matches!(e.kind(), UnsupportedErrorKind::Format(_)) => {
            HashError::UnsupportedFormat
        }
        // Anything else, including a supported format using a feature its decoder lacks.
        other => HashError::Decode {
            reason: other.to_string(),
        },
    }
}

/// Decodes `bytes` into `buffer` (reused, grown as needed) as 8-bit grey or RGB, upright.
///
/// The dimensions are checked against `max_pixels` as soon as the header is read, before the pixel
/// buffer is allocated.
pub(super) fn decode(
    bytes: &[u8],
    max_pixels: u64,
    buffer: &mut Vec<u8>,
) -> Result<Decoded, HashError> {
    let mut reader = ImageReader::new(Cursor::new(bytes))
        .with_guessed_format()
        .map_err(|e| HashError::Decode {
            reason: e.to_string(),
        })?;
    if reader.format().is_none() {
        return Err(HashError::UnsupportedFormat);
    }
    let mut limits = image::Limits::default();
    // Room for the largest layout (16-bit RGBA) plus the decoders' own working memory.
    limits.max_alloc = Some(max_pixels.saturating_mul(8).saturating_add(64 << 20));
    reader.limits(limits);
    let mut decoder = reader.into_decoder().map_err(decode_error)?;
    let (width, height) = decoder.dimensions();
    if u64::from(width) * u64::from(height) > max_pixels {
        return Err(HashError::TooLarge {
            width,
            height,
            limit: max_pixels,
        });
    }
    let orientation = decoder.orientation().map_err(decode_error)?;
    let color = decoder.color_type();
    let total = usize::try_from(decoder.total_bytes()).map_err(|_| HashError::TooLarge {
        width,
        height,
        limit: max_pixels,
    })?;
    if buffer.len() < total {
        buffer.resize(total, 0);
    }
    decoder
        .read_image(&mut buffer[..total])
        .map_err(|e| match e {
            ImageError::Limits(_) => HashError::TooLarge {
                width,
                height,
                limit: max_pixels,
            },
            other => decode_error(other),
        })?;

    let n = width as usize * height as usize;
    let grey = match color {
        ColorType::Rgb8 => false,
        ColorType::L8 => true,
        ColorType::Rgba8 => {
            keep_channels::<4, 3>(buffer, n);
            false
        }
        ColorType::La8 => {
            keep_channels::<2, 1>(buffer, n);
            true
        }
        ColorType::Rgb16 => {
            high_bytes(buffer, 3 * n);
            false
        }
        ColorType::L16 => {
            high_bytes(buffer, n);
            true
        }
        ColorType::Rgba16 => {
            high_bytes(buffer, 4 * n);
            keep_channels::<4, 3>(buffer, n);
            false
        }
        ColorType::La16 => {
            high_bytes(buffer, 2 * n);
            keep_channels::<2, 1>(buffer, n);
            true
        }
        other => {
            return Err(HashError::Decode {
                reason: format!("pixels of type {other:?} are not supported"),
            });
        }
    };
    let decoded = Decoded {
        width,
        height,
        grey,
    };
    if orientation == Orientation::NoTransforms {
        return Ok(decoded);
    }
    Ok(turn_upright(decoded, orientation, buffer))
}

/// Keeps the first `KEEP` of every `FROM` channels of `n` pixels, in place: drops alpha the way
/// Pillow does when it converts to RGB or L (no compositing onto a background).
fn keep_channels<const FROM: usize, const KEEP: usize>(buffer: &mut [u8], n: usize) {
    for i in 0..n {
        for c in 0..KEEP {
            buffer[i * KEEP + c] = buffer[i * FROM + c];
        }
    }
}

/// Reduces `n` native-endian 16-bit samples to their high bytes, in place, as Pillow reads 16-bit
/// PNG into 8-bit modes.
fn high_bytes(buffer: &mut [u8], n: usize) {
    for i in 0..n {
        let sample = u16::from_ne_bytes([buffer[2 * i], buffer[2 * i + 1]]);
        buffer[i] = (sample >> 8) as u8;
    }
}

/// Applies the Exif orientation to the decoded pixels.
fn turn_upright(decoded: Decoded, orientation: Orientation, buffer: &mut Vec<u8>) -> Decoded {
    let Decoded {
        width,
        height,
        grey,
    } = decoded;
    let channels = if grey { 1 } else { 3 };
    let mut pixels = std::mem::take(buffer);
    pixels.truncate(width as usize * height as usize * channels);
    let mut image = if grey {
        DynamicImage::ImageLuma8(ImageBuffer::from_raw(width, height, pixels).expect("sized above"))
    } else {
        DynamicImage::ImageRgb8(ImageBuffer::from_raw(width, height, pixels).expect("sized above"))
    };
    image.apply_orientation(orientation);
    let (width, height) = (image.width(), image.height());
    *buffer = if grey {
        image.into_luma8().into_raw()
    } else {
        image.into_rgb8().into_raw()
    };
    Decoded {
        width,
        height,
        grey,
    }
}
