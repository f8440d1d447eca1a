//! What each Space said about itself, kept on disk between runs, so that a
//! server starts with full tools and no network. Entries older than a week
//! are not used; a reader never sees half an entry.

use std::path::PathBuf;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};

use crate::gradio::{ApiInfo, SpaceRef};

/// Cached descriptions older than this are not used.
pub(crate) const CACHE_TTL: Duration = Duration::from_secs(7 * 24 * 3600);

#[derive(Serialize, Deserialize)]
struct Entry {
    /// Seconds since the epoch.
    fetched: u64,
    space: String,
    info: ApiInfo,
}

fn path(space: &SpaceRef) -> Option<PathBuf> {
    let name: String = space
        .base()
        .as_str()
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
        .collect();
    Some(crate::dirs::cache_dir()?.join(format!("{}.json", name.trim_matches('_'))))
}

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

pub(crate) fn load(space: &SpaceRef) -> Option<ApiInfo> {
    let text = std::fs::read(path(space)?).ok()?;
    let entry: Entry = serde_json::from_slice(&text).ok()?;
    let fresh = now().saturating_sub(entry.fetched) < CACHE_TTL.as_secs();
    (fresh && entry.space == space.base().as_str()).then_some(entry.info)
}

/// Writes through a temporary file, so a reader never sees half an entry.
pub(crate) fn store(space: &SpaceRef, info: &ApiInfo) {
    let Some(path) = path(space) else { return };
    let entry = Entry {
        fetched: now(),
        space: space.base().to_string(),
        info: info.clone(),
    };
    let write = || -> std::io::Result<()> {
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)?;
        }
        let tmp = path.with_extension(format!("{}.tmp", std::process::id()));
        std::fs::write(
            &tmp,
            serde_json::to_vec(&entry).map_err(std::io::Error::other)?,
        )?;
        std::fs::rename(&tmp, &path)
    };
    if let Err(e) = write() {
        tracing::debug!(path = %path.display(), "cannot write the discovery cache: {e}");
    }
}
