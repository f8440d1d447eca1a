//! Audio that goes inline: as it is when it fits, else a WAV re-encoded as
//! MP3 (LAME) at the highest of a few bitrates that fits the room left.

use std::path::Path;

use base64::Engine;
use rmcp::model::ContentBlock;

use super::{BLOCK_OVERHEAD, Media, base64_len, human, not_inline};

/// A WAV too large to go inline, as MP3 when that fits `room` (the
/// original stays saved and linked); else a note saying why not.
pub(super) async fn compressed_audio(item: &Media, room: usize) -> (Option<ContentBlock>, String) {
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

#[cfg(test)]
mod tests {
    use super::*;

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
