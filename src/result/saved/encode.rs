//! A saved file as base64, for `resources/read` and inline media: encoded
//! from the file piece by piece, never held whole beside its base64.

use std::io::{self, Read};
use std::path::Path;

use base64::Engine;

use super::ReadError;
use super::folder::{same_file, single_link};

/// The base64 of the file at `path`: a regular file, not a link, with one
/// link only, of at most `max` bytes.
pub(super) fn encode_file(path: &Path, uri: &str, max: u64) -> Result<String, ReadError> {
    let not_found = || ReadError::NotFound(uri.to_string());
    let io = |source| ReadError::Io {
        path: path.display().to_string(),
        source,
    };
    let looked = std::fs::symlink_metadata(path).map_err(|_| not_found())?;
    if !looked.is_file() || !single_link(&looked) {
        return Err(not_found());
    }
    let too_large = |size| ReadError::TooLarge {
        uri: uri.to_string(),
        size,
        max,
        path: path.display().to_string(),
    };
    if looked.len() > max {
        return Err(too_large(looked.len()));
    }
    let mut file = std::fs::File::open(path).map_err(io)?;
    let opened = file.metadata().map_err(io)?;
    if !same_file(&looked, &opened) || !opened.is_file() || !single_link(&opened) {
        return Err(not_found());
    }
    match base64_of(&mut file, opened.len(), max).map_err(io)? {
        Some(blob) => Ok(blob),
        // It grew since we looked.
        None => Err(too_large(max.saturating_add(1))),
    }
}

/// The base64 of what `reader` holds (`size` bytes, as far as is known),
/// encoded piece by piece: the bytes are never held whole beside their
/// base64. `None` when there are more than `max` bytes.
pub(crate) fn base64_of(reader: &mut impl Read, size: u64, max: u64) -> io::Result<Option<String>> {
    let engine = &base64::engine::general_purpose::STANDARD;
    let expected = usize::try_from(size.min(max)).unwrap_or(0);
    let mut out = String::with_capacity(base64::encoded_len(expected, true).unwrap_or(0));
    // A multiple of 3, so that only the last piece is padded.
    let mut piece = vec![0u8; 3 * 64 * 1024];
    let mut total: u64 = 0;
    loop {
        let mut filled = 0;
        while filled < piece.len() {
            match reader.read(&mut piece[filled..]) {
                Ok(0) => break,
                Ok(n) => filled += n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        total += filled as u64;
        if total > max {
            return Ok(None);
        }
        engine.encode_string(&piece[..filled], &mut out);
        if filled < piece.len() {
            return Ok(Some(out));
        }
    }
}
