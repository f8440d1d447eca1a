//! Where this server keeps its own files on each OS, and how it makes a
//! folder that only its user can enter.
//!
//! Both the discovery cache and the default output folder live in the user's
//! cache folder (`~/.cache` or `$XDG_CACHE_HOME` on Linux, `~/Library/Caches`
//! on macOS, `%LOCALAPPDATA%` on Windows), never in the shared temp folder,
//! where another user could plant a symlink under the name we are about to use.

use std::io;
use std::path::{Path, PathBuf};

/// `SPACES_MCP_CACHE_DIR`, else `<the user's cache folder>/spaces-mcp`.
pub(crate) fn cache_dir() -> Option<PathBuf> {
    if let Some(dir) = std::env::var_os("SPACES_MCP_CACHE_DIR").filter(|d| !d.is_empty()) {
        return Some(PathBuf::from(dir));
    }
    let home = || {
        std::env::var_os("HOME")
            .filter(|h| !h.is_empty())
            .map(PathBuf::from)
    };
    #[cfg(target_os = "macos")]
    let base = home().map(|h| h.join("Library").join("Caches"));
    #[cfg(windows)]
    let base = std::env::var_os("LOCALAPPDATA")
        .filter(|d| !d.is_empty())
        .map(PathBuf::from)
        .or_else(|| home().map(|h| h.join("AppData").join("Local")));
    #[cfg(not(any(target_os = "macos", windows)))]
    let base = std::env::var_os("XDG_CACHE_HOME")
        .filter(|d| !d.is_empty())
        .map(PathBuf::from)
        .or_else(|| home().map(|h| h.join(".cache")));
    base.map(|b| b.join("spaces-mcp"))
}

/// The folder outputs go to when the config names none: `outputs` in the
/// cache folder; with no home folder at all, a per-user folder in the temp
/// folder (made private before use, see [`ensure_private_dir`]).
pub(crate) fn default_output_dir() -> PathBuf {
    match cache_dir() {
        Some(dir) => dir.join("outputs"),
        None => {
            let user = std::env::var("USER")
                .or_else(|_| std::env::var("USERNAME"))
                .unwrap_or_else(|_| "user".into());
            let user: String = user
                .chars()
                .filter(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_')
                .collect();
            std::env::temp_dir().join(format!("spaces-mcp-{user}"))
        }
    }
}

/// Makes `dir` (and its parents) if missing, as a folder only this user may
/// enter (0700 on Unix). An existing `dir` must be a real folder, not a
/// symbolic link, and is narrowed to 0700 when it is wider.
pub(crate) fn ensure_private_dir(dir: &Path) -> io::Result<()> {
    match std::fs::symlink_metadata(dir) {
        Ok(meta) if meta.file_type().is_symlink() => Err(io::Error::other(format!(
            "{} is a symbolic link; refusing to follow it (remove it, or set output_dir)",
            dir.display()
        ))),
        Ok(meta) if !meta.is_dir() => Err(io::Error::other(format!(
            "{} exists and is not a folder",
            dir.display()
        ))),
        Ok(meta) => narrow(dir, &meta),
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            if let Some(parent) = dir.parent() {
                std::fs::create_dir_all(parent)?;
            }
            let mut builder = std::fs::DirBuilder::new();
            #[cfg(unix)]
            std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
            // `create` (not `create_all`) fails if anything, a link included,
            // took the name since we looked.
            match builder.create(dir) {
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists => ensure_private_dir(dir),
                other => other,
            }
        }
        Err(e) => Err(e),
    }
}

#[cfg(unix)]
fn narrow(dir: &Path, meta: &std::fs::Metadata) -> io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    if meta.permissions().mode() & 0o077 != 0 {
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))?;
    }
    Ok(())
}

#[cfg(not(unix))]
fn narrow(_dir: &Path, _meta: &std::fs::Metadata) -> io::Result<()> {
    // On Windows a folder under %LOCALAPPDATA% is the user's own already.
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_private_dir_is_made_0700_and_a_planted_link_is_refused() {
        let root = std::env::temp_dir().join(format!("spaces-mcp-dirs-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&root);
        let dir = root.join("a").join("outputs");
        ensure_private_dir(&dir).unwrap();
        assert!(dir.is_dir());
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&dir).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o700);
            // A wider folder is narrowed.
            std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755)).unwrap();
            ensure_private_dir(&dir).unwrap();
            let mode = std::fs::metadata(&dir).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o700);
            // A symlink planted where the folder should be is not followed.
            let target = root.join("elsewhere");
            std::fs::create_dir_all(&target).unwrap();
            let planted = root.join("planted");
            std::os::unix::fs::symlink(&target, &planted).unwrap();
            let e = ensure_private_dir(&planted).unwrap_err();
            assert!(e.to_string().contains("symbolic link"), "{e}");
        }
        let _ = std::fs::remove_dir_all(&root);
    }

    #[test]
    fn the_default_output_dir_is_not_the_shared_temp_folder() {
        let dir = default_output_dir();
        assert_ne!(dir, std::env::temp_dir().join("spaces-mcp"));
    }
}
