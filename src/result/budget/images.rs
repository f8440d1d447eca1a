//! Images that go inline: as they are when small enough, else a JPEG
//! preview downscaled to `preview_max_side` and re-encoded until it fits the
//! room left; and the process-wide bound on what decoding them may hold.

use std::io::BufReader;
use std::path::Path;

use base64::Engine;
use fast_image_resize::images::Image as Pixels;
use fast_image_resize::{FilterType, PixelType, ResizeAlg, ResizeOptions, Resizer};
use image::ImageReader;
use rmcp::model::ContentBlock;
use tokio::sync::Semaphore;

use super::{
    BLOCK_OVERHEAD, Budget, Media, base64_len, fits_as_is, human, not_inline, read_base64,
};

/// The most pixels a preview decodes (8000×4000); larger images are not
/// previewed, only saved and linked: decoding one takes up to 7 bytes a
/// pixel (RGBA, then RGB).
const MAX_PIXELS: u64 = 32 * 1000 * 1000;

/// Images decoded at once for previews, in the whole process.
const DECODES_AT_ONCE: usize = 2;

/// What the decodes running at once may take together, in KiB: a decode
/// larger than this runs alone.
const DECODE_BUDGET_KIB: u32 = 128 * 1024;

/// What image decoding may hold at once, process-wide: at most
/// [`DECODES_AT_ONCE`] decodes, whose decoded pixels together stay within
/// [`DECODE_BUDGET_KIB`] (one larger than that runs alone). Fifty calls
/// returning large images at once then take turns, rather than each holding
/// a decoded image.
pub(crate) struct Decoding {
    count: Semaphore,
    kib: Semaphore,
}

impl Default for Decoding {
    fn default() -> Self {
        Decoding {
            count: Semaphore::new(DECODES_AT_ONCE),
            kib: Semaphore::new(DECODE_BUDGET_KIB as usize),
        }
    }
}

impl Decoding {
    /// Waits for room to decode a `width`×`height` image; `None` if the
    /// process is shutting the semaphores (never, in practice).
    async fn enter(
        &self,
        width: u32,
        height: u32,
    ) -> Option<(
        tokio::sync::SemaphorePermit<'_>,
        tokio::sync::SemaphorePermit<'_>,
    )> {
        let bytes = u64::from(width) * u64::from(height) * 7;
        let kib = u32::try_from(bytes / 1024 + 1)
            .unwrap_or(u32::MAX)
            .min(DECODE_BUDGET_KIB);
        let count = self.count.acquire().await.ok()?;
        let room = self.kib.acquire_many(kib).await.ok()?;
        Some((count, room))
    }
}

/// The block for an image: the original when it fits and is small enough,
/// else a preview that fits `room`, else none.
pub(super) async fn image_block(
    item: &Media,
    room: usize,
    budget: Budget,
    decoding: &Decoding,
) -> (Option<ContentBlock>, String) {
    let path = item.path.clone();
    let dimensions = tokio::task::spawn_blocking(move || {
        ImageReader::open(&path)
            .ok()?
            .with_guessed_format()
            .ok()?
            .into_dimensions()
            .ok()
    })
    .await
    .ok()
    .flatten();
    let as_is = || async {
        match read_base64(&item.path).await {
            Some(data) => (
                Some(ContentBlock::image(data, &item.mime)),
                "inline".to_string(),
            ),
            None => (None, not_inline(item)),
        }
    };
    let Some((width, height)) = dimensions else {
        // Not a format we read: only as it is.
        return if fits_as_is(item.size, room, budget) {
            as_is().await
        } else {
            (None, not_inline(item))
        };
    };
    if width.max(height) <= budget.preview_max_side && fits_as_is(item.size, room, budget) {
        return as_is().await;
    }
    if u64::from(width) * u64::from(height) > MAX_PIXELS {
        return (
            None,
            format!("not inline: {width}×{height} is too large to preview"),
        );
    }
    let Some(_room) = decoding.enter(width, height).await else {
        return (None, "not inline".into());
    };
    let max_side = budget.preview_max_side;
    let path = item.path.clone();
    let made = tokio::task::spawn_blocking(move || preview_file(&path, max_side, room)).await;
    match made {
        Ok(Some(shot)) => {
            let data = base64::engine::general_purpose::STANDARD.encode(&shot.jpeg);
            let note = format!(
                "inline as a preview: {}×{} JPEG, {} (the original is {width}×{height}, {}, saved and linked)",
                shot.width,
                shot.height,
                human(shot.jpeg.len() as u64),
                human(item.size)
            );
            (Some(ContentBlock::image(data, "image/jpeg")), note)
        }
        _ => (
            None,
            format!("not inline: no preview of {width}×{height} fits this result"),
        ),
    }
}

/// A JPEG preview.
pub(crate) struct Preview {
    pub(crate) jpeg: Vec<u8>,
    pub(crate) width: u32,
    pub(crate) height: u32,
}

/// A preview of the image saved at `path`, decoded from the file itself
/// (a large PNG row by row, never whole: see `reduce`).
fn preview_file(path: &Path, max_side: u32, room: usize) -> Option<Preview> {
    if let Some(reduced) = super::reduce::png_reduced(path, max_side.max(16)) {
        return encode_preview(reduced.width, reduced.height, reduced.rgb, max_side, room);
    }
    let file = std::fs::File::open(path).ok()?;
    let reader = ImageReader::new(BufReader::new(file))
        .with_guessed_format()
        .ok()?;
    preview_from(reader, max_side, room)
}

/// Downscales to `max_side` and encodes as JPEG, lowering the quality, then
/// the size, until its base64 fits `room`.
pub(crate) fn preview(bytes: &[u8], max_side: u32, room: usize) -> Option<Preview> {
    let reader = ImageReader::new(std::io::Cursor::new(bytes))
        .with_guessed_format()
        .ok()?;
    preview_from(reader, max_side, room)
}

fn preview_from<R: std::io::BufRead + std::io::Seek>(
    mut reader: ImageReader<R>,
    max_side: u32,
    room: usize,
) -> Option<Preview> {
    let mut limits = image::Limits::default();
    limits.max_alloc = Some(512 * 1024 * 1024);
    reader.limits(limits);
    let rgb = reader.decode().ok()?.into_rgb8();
    let (width, height) = rgb.dimensions();
    encode_preview(width, height, rgb.into_raw(), max_side, room)
}

/// Downscales RGB8 pixels to `max_side` and encodes them as JPEG, lowering
/// the quality, then the size, until its base64 fits `room`.
fn encode_preview(
    width: u32,
    height: u32,
    rgb: Vec<u8>,
    max_side: u32,
    room: usize,
) -> Option<Preview> {
    let source = Pixels::from_vec_u8(width, height, rgb, PixelType::U8x3).ok()?;
    let mut resizer = Resizer::new();
    let mut side = max_side.max(16);
    loop {
        let scale = f64::from(side) / f64::from(width.max(height));
        let (w, h) = if scale < 1.0 {
            (
                ((f64::from(width) * scale).round() as u32).max(1),
                ((f64::from(height) * scale).round() as u32).max(1),
            )
        } else {
            (width, height)
        };
        let mut scaled = Pixels::new(w, h, PixelType::U8x3);
        let options = ResizeOptions::new().resize_alg(ResizeAlg::Convolution(FilterType::Bilinear));
        resizer.resize(&source, &mut scaled, &options).ok()?;
        for quality in [80u8, 60, 45] {
            let mut jpeg = Vec::new();
            jpeg_encoder::Encoder::new(&mut jpeg, quality)
                .encode(
                    scaled.buffer(),
                    w as u16,
                    h as u16,
                    jpeg_encoder::ColorType::Rgb,
                )
                .ok()?;
            if base64_len(jpeg.len()) + BLOCK_OVERHEAD <= room {
                return Some(Preview {
                    jpeg,
                    width: w,
                    height: h,
                });
            }
        }
        if side <= 64 {
            return None;
        }
        side = side * 7 / 10;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use image::{ImageBuffer, Rgb};
    use std::io::Cursor;

    fn noisy_png(side: u32) -> Vec<u8> {
        let mut seed = 12345u32;
        let image = ImageBuffer::from_fn(side, side, |_, _| {
            seed = seed.wrapping_mul(1_103_515_245).wrapping_add(12345);
            Rgb([(seed >> 16) as u8, (seed >> 8) as u8, seed as u8])
        });
        let mut png = Vec::new();
        image
            .write_to(&mut Cursor::new(&mut png), image::ImageFormat::Png)
            .unwrap();
        png
    }

    #[test]
    fn a_preview_fits_its_room_and_its_side() {
        let png = noisy_png(600);
        let shot = preview(&png, 256, 40_000).unwrap();
        assert!(shot.width <= 256 && shot.height <= 256);
        assert!(base64_len(shot.jpeg.len()) + BLOCK_OVERHEAD <= 40_000);
        let decoded = image::load_from_memory(&shot.jpeg).unwrap();
        assert_eq!(decoded.width(), shot.width);
        // A room too small for any preview gives none.
        assert!(preview(&png, 256, 50).is_none());
    }
}
