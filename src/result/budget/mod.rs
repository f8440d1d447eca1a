//! Results that fit the client. Clients cap what a tool may return (Claude
//! Desktop refuses a result over 1 MiB; Claude reads images best at 1568 px
//! or less), so after a call's outputs are rendered, media is added inline
//! only while the whole serialized result stays within `max_result_bytes`:
//! text and structured content first, then each image or audio in turn.
//!
//! An image that does not fit, or is larger than `preview_max_side`, is
//! inlined as a preview (`images`): downscaled and re-encoded as JPEG, the
//! quality (then the size) lowered until it fits the room left. Audio is
//! inlined only as it is, or, for a WAV that does not fit, as MP3 when that
//! fits (`audio`). Either way the original was saved and linked, and the
//! text says what the client got.

mod audio;
mod images;
mod reduce;

use std::path::{Path, PathBuf};

use rmcp::model::{CallToolResult, ContentBlock};

use audio::{compressed_audio, wav_seconds};
use images::image_block;
pub(crate) use images::{Decoding, preview};

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
pub(super) const BLOCK_OVERHEAD: usize = 96;

pub(super) fn base64_len(n: usize) -> usize {
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
pub(super) fn fits_as_is(size: u64, room: usize, budget: Budget) -> bool {
    base64_len(size as usize) + BLOCK_OVERHEAD <= room && size <= budget.inline_max_bytes
}

/// A saved file, base64-encoded from the file piece by piece (its bytes
/// are never held whole beside their base64).
pub(super) async fn read_base64(path: &Path) -> Option<String> {
    let path = path.to_path_buf();
    tokio::task::spawn_blocking(move || {
        let mut file = std::fs::File::open(&path).ok()?;
        let size = file.metadata().ok()?.len();
        super::saved::base64_of(&mut file, size, crate::config::MAX_INLINE_BYTES).ok()?
    })
    .await
    .ok()?
}

pub(super) fn not_inline(item: &Media) -> String {
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

/// `12.1 MB`, `840 kB`.
pub(crate) fn human(bytes: u64) -> String {
    match bytes {
        b if b >= 1_000_000 => format!("{:.1} MB", b as f64 / 1_000_000.0),
        b if b >= 1_000 => format!("{:.0} kB", b as f64 / 1_000.0),
        b => format!("{b} bytes"),
    }
}
