//! Results that fit the client. Clients cap what a tool may return (Claude
//! Desktop refuses a result over 1 MiB; Claude reads images best at 1568 px
//! or less), so after a call's outputs are rendered, media is added inline
//! only while the whole serialized result stays within `max_result_bytes`:
//! text and structured content first, then each image or audio in turn.
//!
//! An image that does not fit, or is larger than `preview_max_side`, is
//! inlined as a preview: downscaled and re-encoded as JPEG, the quality (then
//! the size) lowered until it fits the room left. Audio is inlined only as it
//! is, or, for a WAV that does not fit, as MP3 when that fits. Either way the
//! original was saved and linked, and the text says what the client got.

use std::io::BufReader;
use std::path::{Path, PathBuf};

use base64::Engine;
use fast_image_resize::images::Image as Pixels;
use fast_image_resize::{FilterType, PixelType, ResizeAlg, ResizeOptions, Resizer};
use image::ImageReader;
use rmcp::model::{CallToolResult, ContentBlock};
use tokio::sync::Semaphore;

/// A saved file that could go inline, waiting for the budget pass. Only its
/// first bytes are in memory; the rest is read from disk if it goes inline.
#[derive(Debug)]
pub(crate) struct Media {
    pub(crate) kind: MediaKind,
    pub(crate) mime: String,
    pub(crate) path: PathBuf,
    pub(crate) size: u64,
    /// The file's first bytes (its header).
    pub(crate) head: Vec<u8>,
    /// Where its text line sits in the content; the block goes before it.
    pub(crate) line: usize,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum MediaKind {
    Image,
    Audio,
}

/// The bounds of one result.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Budget {
    pub(crate) max_result_bytes: u64,
    pub(crate) preview_max_side: u32,
    /// Files larger than this are never inlined as they are.
    pub(crate) inline_max_bytes: u64,
}

/// Room kept for the JSON-RPC envelope around the result.
const ENVELOPE: usize = 256;

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

/// What the budget pass decided for one medium: the block that goes
/// inline (if any), and the note its text line gets.
#[derive(Debug)]
pub(crate) struct Decision {
    /// The medium's text line (`Media::line`).
    pub(crate) line: usize,
    pub(crate) block: Option<ContentBlock>,
    /// Starts with "; ", within [`NOTE_ROOM`] bytes.
    pub(crate) note: String,
}

/// Decides which of `media` go inline beside `result` (its text, links and
/// structured content), keeping the whole within the budget, and what each
/// file's line says the client got. `decoding` bounds what images decoded
/// at once may take.
pub(crate) async fn fit(
    result: &CallToolResult,
    media: Vec<Media>,
    budget: Budget,
    decoding: &Decoding,
) -> Vec<Decision> {
    if media.is_empty() {
        return Vec::new();
    }
    // The notes added to each file's line count too: room is kept for them.
    let used = serialized_len(result) + ENVELOPE + NOTE_ROOM * media.len();
    let mut room = (budget.max_result_bytes as usize).saturating_sub(used);
    let mut decided = Vec::with_capacity(media.len());
    let count = media.len();
    for (i, item) in media.into_iter().enumerate() {
        // Media share what is left, so one large file does not starve the rest.
        let share = room / (count - i);
        let (block, note) = match item.kind {
            MediaKind::Audio if fits_as_is(item.size, share, budget) => {
                match read_base64(&item.path).await {
                    Some(data) => (
                        Some(ContentBlock::audio(data, &item.mime)),
                        "inline".to_string(),
                    ),
                    None => (None, not_inline(&item)),
                }
            }
            MediaKind::Audio => compressed_audio(&item, share).await,
            MediaKind::Image => image_block(&item, share, budget, decoding).await,
        };
        room = room.saturating_sub(block.as_ref().map_or(0, block_len));
        decided.push(Decision {
            line: item.line,
            block,
            note: note_of(&note),
        });
    }
    decided
}

/// "; note", cut to [`NOTE_ROOM`] bytes.
pub(crate) fn note_of(note: &str) -> String {
    let mut note = format!("; {note}");
    let mut end = note.len().min(NOTE_ROOM);
    while !note.is_char_boundary(end) {
        end -= 1;
    }
    note.truncate(end);
    note
}

/// Room kept for the note on each file's line, in bytes; notes are cut to it
/// (they hold no character JSON escapes).
const NOTE_ROOM: usize = 256;

/// The JSON around a media block's data: type, mimeType, keys, quotes.
const BLOCK_OVERHEAD: usize = 96;

fn base64_len(n: usize) -> usize {
    n.div_ceil(3) * 4
}

fn serialized_len(result: &CallToolResult) -> usize {
    serde_json::to_vec(result)
        .map(|v| v.len())
        .unwrap_or(usize::MAX / 2)
}

fn block_len(block: &ContentBlock) -> usize {
    serde_json::to_vec(block).map(|v| v.len() + 1).unwrap_or(0)
}

/// Whether a file may go inline as it is.
fn fits_as_is(size: u64, room: usize, budget: Budget) -> bool {
    base64_len(size as usize) + BLOCK_OVERHEAD <= room && size <= budget.inline_max_bytes
}

/// A saved file, base64-encoded from the file piece by piece (its bytes
/// are never held whole beside their base64).
async fn read_base64(path: &Path) -> Option<String> {
    let path = path.to_path_buf();
    tokio::task::spawn_blocking(move || {
        let mut file = std::fs::File::open(&path).ok()?;
        let size = file.metadata().ok()?.len();
        super::saved::base64_of(&mut file, size, crate::config::MAX_INLINE_BYTES).ok()?
    })
    .await
    .ok()?
}

fn not_inline(item: &Media) -> String {
    let mut note = format!(
        "not inline: {} ({}) is more than this result may hold",
        human(item.size),
        item.mime
    );
    if item.kind == MediaKind::Audio
        && let Some(seconds) = wav_seconds(&item.head, item.size)
    {
        note = format!("{note}; {seconds:.1} s of audio");
    }
    note
}

/// A WAV too large to go inline, as MP3 when that fits `room` (the
/// original stays saved and linked); else a note saying why not.
async fn compressed_audio(item: &Media, room: usize) -> (Option<ContentBlock>, String) {
    let is_wav =
        item.head.len() >= 12 && &item.head[..4] == b"RIFF" && &item.head[8..12] == b"WAVE";
    if !is_wav {
        return (None, not_inline(item));
    }
    let path = item.path.clone();
    let made = tokio::task::spawn_blocking(move || mp3_that_fits(&path, room)).await;
    match made {
        Ok(Some((mp3, kbps))) => {
            let note = format!(
                "inline as MP3 ({kbps} kbps, {}); the original WAV ({}{}) is saved and linked",
                human(mp3.len() as u64),
                human(item.size),
                wav_seconds(&item.head, item.size)
                    .map(|s| format!(", {s:.1} s"))
                    .unwrap_or_default()
            );
            let data = base64::engine::general_purpose::STANDARD.encode(&mp3);
            (Some(ContentBlock::audio(data, "audio/mpeg")), note)
        }
        _ => (None, not_inline(item)),
    }
}

/// The longest WAV re-encoded for a result: longer sound is only linked.
const MAX_MP3_SECONDS: u64 = 15 * 60;

/// The WAV at `path` as MP3, at the highest of a few bitrates whose base64
/// fits `room`.
fn mp3_that_fits(path: &Path, room: usize) -> Option<(Vec<u8>, u32)> {
    let reader = hound::WavReader::open(path).ok()?;
    let spec = reader.spec();
    let channels = spec.channels;
    if !(1..=2).contains(&channels)
        || u64::from(reader.duration()) > MAX_MP3_SECONDS * u64::from(spec.sample_rate)
    {
        return None;
    }
    let samples = pcm16(reader)?;
    let bitrates: &[(mp3lame_encoder::Bitrate, u32)] = if channels == 2 {
        &[
            (mp3lame_encoder::Bitrate::Kbps96, 96),
            (mp3lame_encoder::Bitrate::Kbps48, 48),
        ]
    } else {
        &[
            (mp3lame_encoder::Bitrate::Kbps64, 64),
            (mp3lame_encoder::Bitrate::Kbps32, 32),
        ]
    };
    for &(bitrate, kbps) in bitrates {
        let mp3 = encode_mp3(&samples, channels, spec.sample_rate, bitrate)?;
        if base64_len(mp3.len()) + BLOCK_OVERHEAD <= room {
            return Some((mp3, kbps));
        }
    }
    None
}

/// Every sample as 16-bit PCM, channels interleaved.
fn pcm16<R: std::io::Read>(reader: hound::WavReader<R>) -> Option<Vec<i16>> {
    let spec = reader.spec();
    match (spec.sample_format, spec.bits_per_sample) {
        (hound::SampleFormat::Int, 16) => {
            reader.into_samples::<i16>().collect::<Result<_, _>>().ok()
        }
        (hound::SampleFormat::Int, bits @ 1..=32) => {
            let shift = i32::from(bits) - 16;
            reader
                .into_samples::<i32>()
                .map(|s| {
                    s.map(|v| {
                        let v = if shift > 0 { v >> shift } else { v << -shift };
                        v.clamp(i32::from(i16::MIN), i32::from(i16::MAX)) as i16
                    })
                })
                .collect::<Result<_, _>>()
                .ok()
        }
        (hound::SampleFormat::Float, 32) => reader
            .into_samples::<f32>()
            .map(|s| s.map(|v| (v.clamp(-1.0, 1.0) * 32767.0) as i16))
            .collect::<Result<_, _>>()
            .ok(),
        _ => None,
    }
}

fn encode_mp3(
    samples: &[i16],
    channels: u16,
    sample_rate: u32,
    bitrate: mp3lame_encoder::Bitrate,
) -> Option<Vec<u8>> {
    use mp3lame_encoder::{Builder, FlushNoGap, InterleavedPcm, MonoPcm, Quality};
    let mut builder = Builder::new()?;
    builder.set_num_channels(channels as u8).ok()?;
    builder.set_sample_rate(sample_rate).ok()?;
    builder.set_brate(bitrate).ok()?;
    builder.set_quality(Quality::Good).ok()?;
    let mut encoder = builder.build().ok()?;
    let frames = samples.len() / usize::from(channels);
    let mut mp3 = Vec::with_capacity(mp3lame_encoder::max_required_buffer_size(frames));
    if channels == 2 {
        encoder
            .encode_to_vec(InterleavedPcm(samples), &mut mp3)
            .ok()?;
    } else {
        encoder.encode_to_vec(MonoPcm(samples), &mut mp3).ok()?;
    }
    mp3.reserve(7200);
    encoder.flush_to_vec::<FlushNoGap>(&mut mp3).ok()?;
    Some(mp3)
}

/// The block for an image: the original when it fits and is small enough,
/// else a preview that fits `room`, else none.
async fn image_block(
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

/// A preview of the image saved at `path`, decoded from the file itself.
fn preview_file(path: &Path, max_side: u32, room: usize) -> Option<Preview> {
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
    let source = Pixels::from_vec_u8(width, height, rgb.into_raw(), PixelType::U8x3).ok()?;
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

/// The length of a WAV file's sound, from its header (`head`, the file's
/// first bytes) and its whole `size`.
pub(crate) fn wav_seconds(bytes: &[u8], size: u64) -> Option<f64> {
    if bytes.len() < 12 || &bytes[..4] != b"RIFF" || &bytes[8..12] != b"WAVE" {
        return None;
    }
    let mut at = 12;
    let mut byte_rate = None;
    while at + 8 <= bytes.len() {
        let id = &bytes[at..at + 4];
        let len = u32::from_le_bytes(bytes[at + 4..at + 8].try_into().ok()?) as usize;
        let body = at + 8;
        if id == b"fmt " && body + 12 <= bytes.len() {
            byte_rate = Some(u32::from_le_bytes(
                bytes[body + 8..body + 12].try_into().ok()?,
            ));
        }
        if id == b"data" {
            let rate = byte_rate.filter(|r| *r > 0)?;
            let len = (len as u64).min(size.saturating_sub(body as u64));
            return Some(len as f64 / f64::from(rate));
        }
        at = body + len + (len & 1);
    }
    None
}

/// `12.1 MB`, `840 kB`.
pub(crate) fn human(bytes: u64) -> String {
    match bytes {
        b if b >= 1_000_000 => format!("{:.1} MB", b as f64 / 1_000_000.0),
        b if b >= 1_000 => format!("{:.0} kB", b as f64 / 1_000.0),
        b => format!("{b} bytes"),
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

    #[test]
    fn a_wav_header_tells_how_long_it_is() {
        let mut wav =
            b"RIFF\0\0\0\0WAVEfmt \x10\0\0\0\x01\0\x01\0\x40\x1f\0\0\x80\x3e\0\0\x02\0\x10\0data"
                .to_vec();
        wav.extend_from_slice(&(160_000u32).to_le_bytes());
        wav.extend(std::iter::repeat_n(0u8, 160_000));
        assert_eq!(wav_seconds(&wav[..64], wav.len() as u64), Some(10.0));
        assert_eq!(wav_seconds(b"not a wav", 9), None);
    }
}
