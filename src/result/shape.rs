//! A call's parts put together as the result its client can use.
//!
//! Clients read results differently (`clients`): some read only the first
//! block, some only text, some fail on a block they do not know. So every
//! result has one order, whatever the client:
//!
//! 1. the media that go inline (images, audio), in output order: the
//!    primary output comes first, for clients that read only the first block;
//! 2. one text block that stands on its own: each output's value, and for
//!    each file what it is, its URL, where it was saved and what the client
//!    got, so a client that keeps only text loses nothing it needs;
//! 3. the `resource_link`s to saved files, last, for clients that fetch them.
//!
//! The profile decides which media go inline (`rich`: images and audio;
//! `images`: images; `text`: none, and no links either), the protocol
//! version which blocks exist at all, and the budget what fits. Annotations
//! say the same to clients that read them: media for the user and the
//! model at priority 1, the text for both, the links for the user. A `text`
//! result has none: its clients pass blocks on as they are, and the
//! Anthropic Messages API refuses a text block with a key it does not know.

use rmcp::model::{Annotations, CallToolResult, ContentBlock, Role};
use serde_json::Value;

use super::budget::{self, Budget, Decoding, Media, MediaKind};
use super::render::Rendered;
use crate::config::ContentProfile;

/// What the negotiated MCP protocol version lets us send.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Features {
    /// Audio content blocks: protocol 2025-03-26 and later.
    pub(crate) audio: bool,
    /// `structuredContent` and `resource_link` blocks: 2025-06-18 and later.
    pub(crate) structured: bool,
}

impl Features {
    /// The features of a protocol version (`YYYY-MM-DD` compares as text).
    pub(crate) fn for_version(version: &str) -> Features {
        Features {
            audio: version >= "2025-03-26",
            structured: version >= "2025-06-18",
        }
    }

    pub(crate) const ALL: Features = Features {
        audio: true,
        structured: true,
    };
}

/// Who a result's blocks are for, and how much they matter.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Audience {
    pub(crate) profile: ContentProfile,
    pub(crate) features: Features,
}

/// Whether `profile` (and the protocol) takes this kind inline.
fn takes(audience: Audience, kind: MediaKind) -> bool {
    match (audience.profile, kind) {
        (ContentProfile::Text, _) => false,
        (ContentProfile::Images, MediaKind::Audio) => false,
        (_, MediaKind::Audio) => audience.features.audio,
        (_, MediaKind::Image) => true,
    }
}

/// The result for `parts`, shaped for `audience` within `limits`.
pub(crate) async fn assemble(
    parts: Rendered,
    audience: Audience,
    limits: Budget,
    decoding: &Decoding,
) -> CallToolResult {
    let Rendered {
        mut lines,
        links,
        structured,
        media,
        ..
    } = parts;
    // Media this client does not take inline: its line says why and how
    // to get it otherwise.
    let (inline, held): (Vec<Media>, Vec<Media>) =
        media.into_iter().partition(|m| takes(audience, m.kind));
    for item in &held {
        if let Some(line) = lines.get_mut(item.line) {
            line.push_str(&budget::note_of(&format!(
                "not inline: this client's content profile is \"{}\" (README: What each client gets)",
                audience.profile.name()
            )));
        }
    }
    let plain = audience.profile == ContentProfile::Text;
    let links: Vec<ContentBlock> = if audience.features.structured && !plain {
        links
            .into_iter()
            .map(|link| annotated(ContentBlock::resource_link(link), LINKS))
            .collect()
    } else {
        Vec::new()
    };
    let text = |lines: &[String]| {
        let block = ContentBlock::text(lines.join("\n"));
        if plain { block } else { annotated(block, TEXT) }
    };
    let mut content = Vec::with_capacity(links.len() + 1);
    if !lines.is_empty() {
        content.push(text(&lines));
    }
    content.extend(links);
    let mut result = CallToolResult::success(content);
    if audience.features.structured {
        result.structured_content = Some(Value::Object(structured));
    }
    let decided = budget::fit(&result, inline, limits, decoding).await;
    if decided.is_empty() {
        return result;
    }
    let mut blocks = Vec::with_capacity(decided.len() + result.content.len());
    for decision in decided {
        if let Some(line) = lines.get_mut(decision.line) {
            line.push_str(&decision.note);
        }
        blocks.extend(decision.block.map(|b| annotated(b, MEDIA)));
    }
    if let Some(first) = result.content.first_mut()
        && first.as_text().is_some()
    {
        *first = text(&lines);
    }
    blocks.append(&mut result.content);
    result.content = blocks;
    result
}

/// How a kind of block is annotated: who it is for, and its priority.
type Note = (&'static [Role], f32);
const MEDIA: Note = (&[Role::User, Role::Assistant], 1.0);
const TEXT: Note = (&[Role::User, Role::Assistant], 0.8);
const LINKS: Note = (&[Role::User], 0.3);

fn annotated(mut block: ContentBlock, (audience, priority): Note) -> ContentBlock {
    let annotations = Some(
        Annotations::default()
            .with_audience(audience.to_vec())
            .with_priority(priority),
    );
    match &mut block {
        ContentBlock::Text(b) => b.annotations = annotations,
        ContentBlock::Image(b) => b.annotations = annotations,
        ContentBlock::Audio(b) => b.annotations = annotations,
        ContentBlock::ResourceLink(b) => b.annotations = annotations,
        _ => {}
    }
    block
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64::Engine;
    use rmcp::model::Resource;
    use std::path::{Path, PathBuf};

    fn noisy_png(side: u32) -> Vec<u8> {
        let mut seed = 12345u32;
        let image = image::ImageBuffer::from_fn(side, side, |_, _| {
            seed = seed.wrapping_mul(1_103_515_245).wrapping_add(12345);
            image::Rgb([(seed >> 16) as u8, (seed >> 8) as u8, seed as u8])
        });
        let mut png = Vec::new();
        image
            .write_to(&mut std::io::Cursor::new(&mut png), image::ImageFormat::Png)
            .unwrap();
        png
    }

    /// A 16 kHz mono WAV of `seconds` of a tone.
    fn tone_wav(path: &Path, seconds: u32) -> Vec<u8> {
        let spec = hound::WavSpec {
            channels: 1,
            sample_rate: 16_000,
            bits_per_sample: 16,
            sample_format: hound::SampleFormat::Int,
        };
        let mut writer = hound::WavWriter::create(path, spec).unwrap();
        for i in 0..16_000 * seconds {
            let t = f64::from(i) / 16_000.0;
            writer
                .write_sample(((t * 440.0 * std::f64::consts::TAU).sin() * 9000.0) as i16)
                .unwrap();
        }
        writer.finalize().unwrap();
        std::fs::read(path).unwrap()
    }

    fn folder(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("spaces-mcp-{name}-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    /// An image and an audio output, saved, with their lines and links.
    fn picture_and_sound(dir: &Path, png: &[u8]) -> Rendered {
        let wav = tone_wav(&dir.join("s.wav"), 10);
        std::fs::write(dir.join("p.png"), png).unwrap();
        let mut parts = Rendered {
            lines: vec![
                "picture: image http://x/p.png".into(),
                "seed: 42".into(),
                "sound: audio http://x/s.wav".into(),
            ],
            links: vec![
                Resource::new("spaces-mcp://saved/p.png", "p.png"),
                Resource::new("spaces-mcp://saved/s.wav", "s.wav"),
            ],
            ..Rendered::default()
        };
        parts.media = vec![
            Media {
                kind: MediaKind::Image,
                mime: "image/png".into(),
                size: png.len() as u64,
                path: dir.join("p.png"),
                head: png[..64].to_vec(),
                line: 0,
            },
            Media {
                kind: MediaKind::Audio,
                mime: "audio/wav".into(),
                size: wav.len() as u64,
                path: dir.join("s.wav"),
                head: wav[..64].to_vec(),
                line: 2,
            },
        ];
        parts
    }

    fn roomy() -> Budget {
        Budget {
            max_result_bytes: 4 << 20,
            preview_max_side: 1568,
            inline_max_bytes: 4 << 20,
        }
    }

    fn kinds(result: &CallToolResult) -> Vec<&'static str> {
        result
            .content
            .iter()
            .map(|b| match b {
                ContentBlock::Text(_) => "text",
                ContentBlock::Image(_) => "image",
                ContentBlock::Audio(_) => "audio",
                ContentBlock::ResourceLink(_) => "link",
                _ => "other",
            })
            .collect()
    }

    fn text_of(result: &CallToolResult) -> String {
        result
            .content
            .iter()
            .filter_map(|b| b.as_text())
            .map(|t| t.text.clone())
            .collect()
    }

    async fn shaped(profile: ContentProfile, features: Features, limits: Budget) -> CallToolResult {
        let dir = folder(&format!("shape-{}-{}", profile.name(), features.audio));
        let parts = picture_and_sound(&dir, &noisy_png(64));
        let audience = Audience { profile, features };
        let result = assemble(parts, audience, limits, &Decoding::default()).await;
        let _ = std::fs::remove_dir_all(&dir);
        result
    }

    #[tokio::test]
    async fn media_first_then_one_text_then_links() {
        let result = shaped(ContentProfile::Rich, Features::ALL, roomy()).await;
        assert_eq!(kinds(&result), ["image", "audio", "text", "link", "link"]);
        let text = text_of(&result);
        assert_eq!(text.lines().count(), 3, "{text}");
        assert!(
            text.contains("seed: 42") && text.contains("; inline"),
            "{text}"
        );
        let ContentBlock::Image(image) = &result.content[0] else {
            panic!()
        };
        let note = image.annotations.as_ref().unwrap();
        assert_eq!(note.priority, Some(1.0));
        let ContentBlock::ResourceLink(link) = &result.content[3] else {
            panic!()
        };
        assert_eq!(
            link.annotations.as_ref().unwrap().audience,
            Some(vec![Role::User])
        );
    }

    #[tokio::test]
    async fn each_profile_holds_what_its_clients_take() {
        let images = shaped(ContentProfile::Images, Features::ALL, roomy()).await;
        assert_eq!(kinds(&images), ["image", "text", "link", "link"]);
        assert!(
            text_of(&images).contains("sound: audio http://x/s.wav; not inline: this client's content profile is \"images\""),
            "{}",
            text_of(&images)
        );
        let text = shaped(ContentProfile::Text, Features::ALL, roomy()).await;
        assert_eq!(kinds(&text), ["text"]);
        assert!(text.content[0].as_text().unwrap().annotations.is_none());
        assert!(text.structured_content.is_some());
        assert_eq!(text_of(&text).matches("profile is \"text\"").count(), 2);
        // No base64 anywhere in a text result.
        let whole = serde_json::to_string(&text).unwrap();
        assert!(whole.len() < 2_000, "{whole}");
        // An old protocol: no audio, links or structured content.
        let old = shaped(
            ContentProfile::Rich,
            Features::for_version("2024-11-05"),
            roomy(),
        )
        .await;
        assert_eq!(kinds(&old), ["image", "text"]);
        assert!(old.structured_content.is_none());
    }

    /// `parts` for a rich client within `max_result_bytes`; the result
    /// (and room for its JSON-RPC envelope) within that.
    async fn rich_within(parts: Rendered, max_result_bytes: u64) -> CallToolResult {
        let limits = Budget {
            max_result_bytes,
            ..roomy()
        };
        let audience = Audience {
            profile: ContentProfile::Rich,
            features: Features::ALL,
        };
        let result = assemble(parts, audience, limits, &Decoding::default()).await;
        let size = serde_json::to_vec(&result).unwrap().len() as u64;
        assert!(size + 256 <= max_result_bytes, "{size}");
        result
    }

    #[tokio::test]
    async fn a_result_holds_what_fits_and_says_what_did_not() {
        let dir = folder("budget");
        let png = noisy_png(400);
        let result = rich_within(picture_and_sound(&dir, &png), 100_000).await;
        let text = text_of(&result);
        let lines: Vec<&str> = text.lines().collect();
        assert!(lines[0].contains("inline as a preview"), "{lines:?}");
        // 10 s of 16 kHz mono as MP3 does not fit the room the preview left
        // either, so it is only linked, and the line says how long it is.
        assert!(
            lines[2].contains("inline as MP3") || lines[2].contains("10.0 s of audio"),
            "{lines:?}"
        );
        assert_eq!(kinds(&result)[0], "image", "the preview comes first");
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[tokio::test]
    async fn a_wav_that_does_not_fit_goes_inline_as_mp3() {
        let dir = folder("mp3");
        let bytes = tone_wav(&dir.join("tone.wav"), 10);
        let parts = Rendered {
            lines: vec!["speech: audio …".into()],
            media: vec![Media {
                kind: MediaKind::Audio,
                mime: "audio/wav".into(),
                size: bytes.len() as u64,
                path: dir.join("tone.wav"),
                head: bytes[..64].to_vec(),
                line: 0,
            }],
            ..Rendered::default()
        };
        let result = rich_within(parts, 200_000).await;
        let ContentBlock::Audio(audio) = &result.content[0] else {
            panic!("{:?}", result.content)
        };
        assert_eq!(audio.mime_type, "audio/mpeg");
        let mp3 = base64::engine::general_purpose::STANDARD
            .decode(&audio.data)
            .unwrap();
        assert!(
            mp3.len() < bytes.len() / 3,
            "{} of {}",
            mp3.len(),
            bytes.len()
        );
        let text = text_of(&result);
        assert!(
            text.contains("inline as MP3") && text.contains("10.0 s"),
            "{text}"
        );
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn protocol_versions_decide_the_blocks() {
        assert_eq!(
            Features::for_version("2024-11-05"),
            Features {
                audio: false,
                structured: false
            }
        );
        assert_eq!(
            Features::for_version("2025-03-26"),
            Features {
                audio: true,
                structured: false
            }
        );
        assert_eq!(Features::for_version("2025-06-18"), Features::ALL);
        assert_eq!(Features::for_version("2026-07-28"), Features::ALL);
    }
}
