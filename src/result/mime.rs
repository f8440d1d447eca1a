//! File names and media types: the safe name a saved file gets, and a
//! file's type from its first bytes, its name, or back to an extension.
//! Gradio often sends no type, and a name can lie.

/// The last path component of `name`, in letters, digits, `.`, `-` and `_`,
/// never starting with a dot; `output.<ext>` when nothing is left.
pub(crate) fn safe_file_name(name: &str, mime: &str) -> String {
    let last = name.rsplit(['/', '\\']).next().unwrap_or("");
    let cleaned: String = last
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_') {
                c
            } else {
                '_'
            }
        })
        .collect();
    let cleaned = cleaned.trim_start_matches('.');
    let cleaned: String = cleaned
        .chars()
        .rev()
        .take(100)
        .collect::<Vec<_>>()
        .into_iter()
        .rev()
        .collect();
    if cleaned.is_empty() || cleaned.chars().all(|c| c == '_') {
        format!("output.{}", extension_for(mime))
    } else {
        cleaned
    }
}

/// The type of common media files from their first bytes: Gradio often sends
/// no type, and a file's name can lie.
pub(crate) fn sniff_mime(bytes: &[u8]) -> Option<&'static str> {
    let starts = |magic: &[u8]| bytes.starts_with(magic);
    let riff = |form: &[u8]| bytes.len() >= 12 && &bytes[..4] == b"RIFF" && &bytes[8..12] == form;
    Some(if starts(b"\x89PNG\r\n\x1a\n") {
        "image/png"
    } else if starts(&[0xFF, 0xD8, 0xFF]) {
        "image/jpeg"
    } else if starts(b"GIF87a") || starts(b"GIF89a") {
        "image/gif"
    } else if riff(b"WEBP") {
        "image/webp"
    } else if riff(b"WAVE") {
        "audio/wav"
    } else if starts(b"fLaC") {
        "audio/flac"
    } else if starts(b"OggS") {
        "audio/ogg"
    } else if starts(b"ID3") || (bytes.len() >= 2 && bytes[0] == 0xFF && bytes[1] & 0xE0 == 0xE0) {
        "audio/mpeg"
    } else if bytes.len() >= 12 && &bytes[4..8] == b"ftyp" {
        "video/mp4"
    } else if starts(&[0x1A, 0x45, 0xDF, 0xA3]) {
        "video/webm"
    } else {
        return None;
    })
}

pub(crate) fn mime_from_name(name: &str) -> &'static str {
    let ext = name
        .rsplit_once('.')
        .map(|(_, e)| e.to_ascii_lowercase())
        .unwrap_or_default();
    match ext.as_str() {
        "png" => "image/png",
        "jpg" | "jpeg" => "image/jpeg",
        "webp" => "image/webp",
        "gif" => "image/gif",
        "wav" => "audio/wav",
        "mp3" => "audio/mpeg",
        "flac" => "audio/flac",
        "ogg" => "audio/ogg",
        "mp4" => "video/mp4",
        "webm" => "video/webm",
        "json" => "application/json",
        "txt" => "text/plain",
        _ => "application/octet-stream",
    }
}

/// The usual file extension of a media type.
pub(crate) fn extension_for(mime: &str) -> &'static str {
    match mime {
        "image/png" => "png",
        "image/jpeg" => "jpg",
        "image/webp" => "webp",
        "image/gif" => "gif",
        "audio/wav" | "audio/x-wav" => "wav",
        "audio/mpeg" => "mp3",
        "audio/flac" => "flac",
        "audio/ogg" => "ogg",
        "video/mp4" => "mp4",
        "video/webm" => "webm",
        "application/pdf" => "pdf",
        "application/json" => "json",
        "text/plain" => "txt",
        _ => "bin",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn media_types_come_from_the_bytes() {
        assert_eq!(sniff_mime(b"RIFF\x10\0\0\0WEBPVP8 "), Some("image/webp"));
        assert_eq!(sniff_mime(b"RIFF\x10\0\0\0WAVEfmt "), Some("audio/wav"));
        assert_eq!(sniff_mime(b"\x89PNG\r\n\x1a\n...."), Some("image/png"));
        assert_eq!(sniff_mime(b"hello"), None);
        assert_eq!(sniff_mime(b""), None);
    }

    #[test]
    fn hostile_file_names_stay_in_the_folder() {
        assert_eq!(safe_file_name("image.webp", "image/webp"), "image.webp");
        assert_eq!(
            safe_file_name("/tmp/gradio/abc/audio.wav", "audio/wav"),
            "audio.wav"
        );
        assert_eq!(safe_file_name("../../etc/passwd", "text/plain"), "passwd");
        assert_eq!(safe_file_name("..\\..\\win.ini", "text/plain"), "win.ini");
        assert_eq!(safe_file_name("..", "image/png"), "output.png");
        assert_eq!(safe_file_name("", "audio/wav"), "output.wav");
        assert_eq!(
            safe_file_name("a b;rm -rf.png", "image/png"),
            "a_b_rm_-rf.png"
        );
        assert_eq!(safe_file_name(".bashrc", "text/plain"), "bashrc");
        assert!(safe_file_name(&"x".repeat(500), "image/png").len() <= 100);
    }
}
