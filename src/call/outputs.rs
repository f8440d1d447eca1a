//! The files this server saved, as MCP resources: listed under a stable URI
//! (`spaces-mcp://outputs/<file>`, what a call's `resource_link` points to),
//! read back from `output_dir` only, and removed once older than the
//! retention period.
//!
//! Only files this server named are served or removed (`<ms>-<pid>-<n>-name`),
//! never anything else a user keeps in the folder.

use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use base64::Engine;
use rmcp::model::{Resource, ResourceContents};

use super::render::{SAVED_SCHEME, mime_from_name};

/// The largest saved file `resources/read` returns.
const MAX_READ_BYTES: u64 = 256 * 1024 * 1024;

/// The most files `resources/list` lists (newest first).
const MAX_LISTED: usize = 1000;

#[derive(Debug, thiserror::Error)]
pub(crate) enum ReadError {
    #[error("no saved file {0}: it was never saved here, or has been removed")]
    NotFound(String),
    #[error("{0} is not a saved file's URI (spaces-mcp://outputs/<file>)")]
    NotOurs(String),
    #[error("{uri} is larger than the {max} bytes resources/read returns; open {path} instead")]
    TooLarge { uri: String, max: u64, path: String },
    #[error("cannot read {path}: {source}")]
    Io {
        path: String,
        source: std::io::Error,
    },
}

/// Whether `name` is one this server gave a saved file.
fn ours(name: &str) -> bool {
    let mut parts = name.splitn(4, '-');
    let numbers = (0..3).all(|_| {
        parts
            .next()
            .is_some_and(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()))
    });
    numbers && parts.next().is_some_and(|rest| !rest.is_empty())
}

/// The saved files, newest first.
pub(crate) fn list(dir: &Path) -> Vec<Resource> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut files: Vec<(SystemTime, String, u64)> = entries
        .filter_map(Result::ok)
        .filter_map(|entry| {
            let name = entry.file_name().into_string().ok()?;
            let meta = entry.metadata().ok()?;
            (ours(&name) && meta.is_file()).then(|| {
                (
                    meta.modified().unwrap_or(SystemTime::UNIX_EPOCH),
                    name,
                    meta.len(),
                )
            })
        })
        .collect();
    files.sort_by_key(|f| std::cmp::Reverse(f.0));
    files
        .into_iter()
        .take(MAX_LISTED)
        .map(|(_, name, size)| {
            Resource::new(format!("{SAVED_SCHEME}{name}"), name.clone())
                .with_mime_type(mime_from_name(&name))
                .with_size(size)
        })
        .collect()
}

/// The contents of the saved file `uri`, read from within `dir` only.
pub(crate) fn read(dir: &Path, uri: &str) -> Result<ResourceContents, ReadError> {
    let name = uri
        .strip_prefix(SAVED_SCHEME)
        .ok_or_else(|| ReadError::NotOurs(uri.to_string()))?;
    // A plain name of ours: no separators, no `..`, nothing to climb with.
    if !ours(name) || name.contains(['/', '\\']) || name.contains("..") {
        return Err(ReadError::NotFound(uri.to_string()));
    }
    let not_found = || ReadError::NotFound(uri.to_string());
    let real_dir = dir.canonicalize().map_err(|_| not_found())?;
    let path: PathBuf = dir.join(name).canonicalize().map_err(|_| not_found())?;
    if !path.starts_with(&real_dir) || !path.is_file() {
        return Err(not_found());
    }
    let io = |source| ReadError::Io {
        path: path.display().to_string(),
        source,
    };
    let size = std::fs::metadata(&path).map_err(io)?.len();
    if size > MAX_READ_BYTES {
        return Err(ReadError::TooLarge {
            uri: uri.to_string(),
            max: MAX_READ_BYTES,
            path: path.display().to_string(),
        });
    }
    let bytes = std::fs::read(&path).map_err(io)?;
    let blob = base64::engine::general_purpose::STANDARD.encode(bytes);
    Ok(ResourceContents::blob(blob, uri).with_mime_type(mime_from_name(name)))
}

/// Removes the saved files older than `retention`; says how many went.
pub(crate) fn sweep(dir: &Path, retention: Duration) -> usize {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return 0;
    };
    let now = SystemTime::now();
    let mut removed = 0;
    for entry in entries.filter_map(Result::ok) {
        let Ok(name) = entry.file_name().into_string() else {
            continue;
        };
        let Ok(meta) = entry.metadata() else { continue };
        let old = meta
            .modified()
            .ok()
            .and_then(|m| now.duration_since(m).ok())
            .is_some_and(|age| age > retention);
        if ours(&name) && meta.is_file() && old && std::fs::remove_file(entry.path()).is_ok() {
            removed += 1;
        }
    }
    removed
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_our_files_are_listed_read_and_swept() {
        let dir = std::env::temp_dir().join(format!("spaces-mcp-outputs-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("1700000000000-42-0-image.png"), b"\x89PNG").unwrap();
        std::fs::write(dir.join("notes.txt"), b"the user's own").unwrap();
        let listed = list(&dir);
        assert_eq!(listed.len(), 1);
        assert_eq!(
            listed[0].uri,
            "spaces-mcp://outputs/1700000000000-42-0-image.png"
        );
        let read_back = read(&dir, "spaces-mcp://outputs/1700000000000-42-0-image.png").unwrap();
        let ResourceContents::BlobResourceContents {
            blob, mime_type, ..
        } = read_back
        else {
            panic!()
        };
        assert_eq!(blob, "iVBORw==");
        assert_eq!(mime_type.as_deref(), Some("image/png"));
        for hostile in [
            "spaces-mcp://outputs/notes.txt",
            "spaces-mcp://outputs/../../etc/passwd",
            "spaces-mcp://outputs/1-2-3-../x",
            "spaces-mcp://outputs/1-2-3-a/../../b",
            "spaces-mcp://outputs/",
        ] {
            assert!(
                matches!(read(&dir, hostile), Err(ReadError::NotFound(_))),
                "{hostile}"
            );
        }
        assert!(matches!(
            read(&dir, "file:///etc/passwd"),
            Err(ReadError::NotOurs(_))
        ));
        assert_eq!(sweep(&dir, Duration::from_secs(3600)), 0);
        assert_eq!(sweep(&dir, Duration::ZERO), 1);
        assert!(dir.join("notes.txt").exists(), "the user's file stays");
        let _ = std::fs::remove_dir_all(&dir);
    }
}
