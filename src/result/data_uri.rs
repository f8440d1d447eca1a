//! `data:` URIs, decoded: a model may give a file as one, and a Space may
//! answer one inside its output. Both sides read them here, within a bound.

use base64::Engine;

/// The MIME type and bytes of a `data:` URI's `rest` (what follows
/// `data:`), at most `max` bytes; the error completes "the value …".
pub(crate) fn decode(rest: &str, max: u64) -> Result<(String, Vec<u8>), String> {
    let (header, payload) = rest
        .split_once(',')
        .ok_or("is not a valid data: URI (it has no comma)")?;
    let mime = header
        .split(';')
        .next()
        .filter(|m| !m.is_empty())
        .unwrap_or("text/plain")
        .to_string();
    let bytes = if header.ends_with(";base64") {
        base64::engine::general_purpose::STANDARD
            .decode(payload.trim())
            .map_err(|e| format!("is a data: URI whose base64 does not decode ({e})"))?
    } else {
        percent_decode(payload)?
    };
    if bytes.len() as u64 > max {
        return Err(format!("is larger than the {max}-byte limit"));
    }
    Ok((mime, bytes))
}

fn percent_decode(text: &str) -> Result<Vec<u8>, String> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = text
                .get(i + 1..i + 3)
                .ok_or("is a data: URI with a broken %-escape")?;
            out.push(
                u8::from_str_radix(hex, 16).map_err(|_| "is a data: URI with a broken %-escape")?,
            );
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    Ok(out)
}
