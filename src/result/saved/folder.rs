//! The server's own folder on disk: made and marked (a `spaces-mcp` folder
//! without the marker is the user's, and refused), one private folder per
//! owner in it, and walked without following links or serving hard-linked
//! files.

use std::io;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use super::{MARKER, OWN_FOLDER, PARTIAL, SaveError};
use crate::jobs::Owner;

/// Makes (if missing) and checks the server's folder and `owner`'s folder in it.
pub(super) fn make_owner_dir(
    output_dir: &Path,
    private: bool,
    owner: &Owner,
) -> Result<PathBuf, SaveError> {
    let dir = make_root(output_dir, private)?.join(owner.folder_name());
    crate::dirs::ensure_private_dir(&dir).map_err(|source| SaveError {
        path: dir.clone(),
        source,
    })?;
    Ok(dir)
}

/// Makes (if missing) and checks the server's folder. A `spaces-mcp`
/// folder without our marker is the user's: refused.
pub(super) fn make_root(output_dir: &Path, private: bool) -> Result<PathBuf, SaveError> {
    let fail = |path: &Path, source| SaveError {
        path: path.to_path_buf(),
        source,
    };
    if private {
        crate::dirs::ensure_private_dir(output_dir).map_err(|e| fail(output_dir, e))?;
    } else {
        std::fs::create_dir_all(output_dir).map_err(|e| fail(output_dir, e))?;
    }
    let root = output_dir.join(OWN_FOLDER);
    let marker = root.join(MARKER);
    let mut builder = std::fs::DirBuilder::new();
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    match builder.create(&root) {
        Ok(()) => {
            let mut open = std::fs::OpenOptions::new();
            open.write(true).create_new(true);
            #[cfg(unix)]
            std::os::unix::fs::OpenOptionsExt::mode(&mut open, 0o600);
            let mut file = open.open(&marker).map_err(|e| fail(&marker, e))?;
            io::Write::write_all(
                &mut file,
                b"This folder is spaces-mcp's own: it saves Space outputs here and removes them past output_retention_hours.\n",
            )
            .map_err(|e| fail(&marker, e))?;
        }
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {
            // Another process may have made it a moment ago and be writing
            // the marker.
            let deadline = std::time::Instant::now() + Duration::from_secs(2);
            while !(real_dir(&root) && is_real_file(&marker)) {
                if std::time::Instant::now() > deadline {
                    return Err(fail(
                        &root,
                        io::Error::other(
                            "this folder was not made by spaces-mcp, which saves only into a folder of its own; move it away, or set output_dir to another folder",
                        ),
                    ));
                }
                std::thread::sleep(Duration::from_millis(50));
            }
        }
        Err(e) => return Err(fail(&root, e)),
    }
    Ok(root)
}

/// A regular file in one of the server's folders.
pub(super) struct FileEntry {
    pub(super) path: PathBuf,
    pub(super) name: String,
    pub(super) size: u64,
    pub(super) modified: SystemTime,
    pub(super) partial: bool,
    /// Not hard-linked from elsewhere (always true where links are not counted).
    pub(super) single_link: bool,
}

pub(super) fn real_dir(path: &Path) -> bool {
    std::fs::symlink_metadata(path).is_ok_and(|m| m.is_dir())
}

pub(super) fn is_real_file(path: &Path) -> bool {
    std::fs::symlink_metadata(path).is_ok_and(|m| m.is_file())
}

/// The owners' folders: real folders only, never a link.
pub(super) fn owner_dirs(root: &Path) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(root) else {
        return Vec::new();
    };
    entries
        .filter_map(Result::ok)
        .filter(|e| e.file_type().is_ok_and(|t| t.is_dir()))
        .map(|e| e.path())
        .collect()
}

/// The regular files in `dir` (links and folders are passed over).
pub(super) fn files_in(dir: &Path) -> Vec<FileEntry> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    entries
        .filter_map(Result::ok)
        .filter_map(|entry| {
            let name = entry.file_name().into_string().ok()?;
            // `DirEntry::metadata` does not follow links.
            let meta = entry.metadata().ok()?;
            if !meta.is_file() || name == MARKER {
                return None;
            }
            Some(FileEntry {
                path: entry.path(),
                partial: name.starts_with(PARTIAL),
                single_link: single_link(&meta),
                name,
                size: meta.len(),
                modified: meta.modified().unwrap_or(UNIX_EPOCH),
            })
        })
        .collect()
}

#[cfg(unix)]
pub(super) fn single_link(meta: &std::fs::Metadata) -> bool {
    std::os::unix::fs::MetadataExt::nlink(meta) == 1
}

#[cfg(not(unix))]
pub(super) fn single_link(_meta: &std::fs::Metadata) -> bool {
    true
}

/// The same file (not one swapped in between two looks).
#[cfg(unix)]
pub(super) fn same_file(a: &std::fs::Metadata, b: &std::fs::Metadata) -> bool {
    use std::os::unix::fs::MetadataExt;
    a.dev() == b.dev() && a.ino() == b.ino()
}

#[cfg(not(unix))]
pub(super) fn same_file(_a: &std::fs::Metadata, _b: &std::fs::Metadata) -> bool {
    true
}
