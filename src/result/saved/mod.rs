//! The files this server saved: where they go, whose they are, and how they
//! are listed, read back (`resources/read`) and removed.
//!
//! `output_dir` may be a folder the user keeps other files in (`~/Downloads`
//! is a likely answer). So the server never decides by a file's name what is
//! its own: every file it saves goes into a folder it made for itself,
//! `<output_dir>/spaces-mcp/`, which holds a marker file only it writes, and
//! in there into one folder per owner (the same owner as jobs: a digest of
//! the caller's credentials, `local` over stdio, `anonymous` for a caller
//! that sent none). Listing, reading, the retention sweep and the size cap
//! look inside that folder only, and a caller only ever sees its own owner's
//! folder. A folder named `spaces-mcp` that the server did not make is never
//! used. A download is written under a hidden `.partial-` name and renamed
//! when complete, so a cancelled or failed one is never listed or served,
//! and is removed.
//!
//! Beside it: `folder` (the folder on disk: made, marked, walked safely) and
//! `encode` (a saved file as base64, piece by piece).

use std::io;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use rmcp::model::{Resource, ResourceContents};

mod encode;
mod folder;
pub(crate) mod uploads;

pub(crate) use encode::base64_of;
use encode::encode_file;
use folder::{FileEntry, files_in, is_real_file, make_owner_dir, make_root, owner_dirs, real_dir};

use super::mime::{mime_from_name, safe_file_name};
use crate::config::SavedLimits;
use crate::jobs::Owner;

/// The URI prefix of saved files, under which `resources/read` serves them.
pub(crate) const SAVED_SCHEME: &str = "spaces-mcp://outputs/";

/// The URI prefix of files a person gave through the MCP App view: kept in
/// the same owner's folder, under the same bounds, as saved files.
pub(crate) const UPLOAD_SCHEME: &str = "spaces-mcp://uploads/";

/// The folder inside `output_dir` that is the server's own.
const OWN_FOLDER: &str = "spaces-mcp";

/// The file that marks [`OWN_FOLDER`] as made by this server.
const MARKER: &str = ".spaces-mcp-folder";

/// What a download is called until it is complete.
const PARTIAL: &str = ".partial-";

/// The secret mixed into owner digests, kept in the server's own folder
/// (shared by a fleet's replicas, never put in the store).
const OWNER_SALT: &str = ".owner-salt";

/// A partial file this old belongs to a process that died mid-download.
const PARTIAL_MAX_AGE: Duration = Duration::from_secs(6 * 3600);

/// The most files `resources/list` lists (newest first).
const MAX_LISTED: usize = 1000;

/// How many `resources/read` answers are built at once: each holds its
/// file's base64 until it is sent.
pub(crate) const CONCURRENT_READS: usize = 2;

/// The file name a saved file's or an upload's URI names.
fn file_name_in(uri: &str) -> Option<&str> {
    uri.strip_prefix(SAVED_SCHEME)
        .or_else(|| uri.strip_prefix(UPLOAD_SCHEME))
}

/// Why a saved file could not be read back.
#[derive(Debug, thiserror::Error)]
pub(crate) enum ReadError {
    #[error("no saved file {0}: it was never saved here for this caller, or has been removed")]
    NotFound(String),
    #[error(
        "{0} is not a saved file's URI (spaces-mcp://outputs/<file> or spaces-mcp://uploads/<file>)"
    )]
    NotOurs(String),
    #[error(
        "{uri} is {size} bytes, over the {max} bytes one resources/read returns (resource_read_max_bytes in spaces.toml); on the server it is {path}"
    )]
    TooLarge {
        uri: String,
        size: u64,
        max: u64,
        path: String,
    },
    #[error("cannot read {path}: {source}")]
    Io { path: String, source: io::Error },
}

/// A file could not be saved.
#[derive(Debug)]
pub(crate) struct SaveError {
    pub(crate) path: PathBuf,
    pub(crate) source: io::Error,
}

/// The server's folder of saved files.
#[derive(Debug)]
pub(crate) struct SavedFiles {
    output_dir: PathBuf,
    /// `output_dir` is our default folder: it is made private (0700).
    private: bool,
    limits: SavedLimits,
    reads: tokio::sync::Semaphore,
}

/// What one file being saved buffers before it writes: small, because
/// fifty downloads at once each hold it twice (here and in tokio's file),
/// and a larger one saved no time measured (`scripts/bench_memory.sh`).
const WRITE_BUFFER: usize = 64 * 1024;

/// A file being saved: written under a partial name, renamed by
/// [`NewFile::finish`], removed if dropped before that.
pub(crate) struct NewFile {
    path: PathBuf,
    partial: PathBuf,
    writer: Option<tokio::io::BufWriter<tokio::fs::File>>,
}

impl NewFile {
    pub(crate) fn writer(&mut self) -> &mut tokio::io::BufWriter<tokio::fs::File> {
        self.writer
            .as_mut()
            .expect("a NewFile has its writer until finished")
    }

    /// Flushes the file and gives it its final name.
    pub(crate) async fn finish(mut self) -> Result<PathBuf, SaveError> {
        let fail = |path: &Path, source| SaveError {
            path: path.to_path_buf(),
            source,
        };
        if let Some(mut writer) = self.writer.take() {
            tokio::io::AsyncWriteExt::flush(&mut writer)
                .await
                .map_err(|e| fail(&self.partial, e))?;
        }
        tokio::fs::rename(&self.partial, &self.path)
            .await
            .map_err(|e| fail(&self.path, e))?;
        // Renamed: nothing is left for Drop to remove.
        self.partial = PathBuf::new();
        Ok(std::mem::take(&mut self.path))
    }
}

impl Drop for NewFile {
    fn drop(&mut self) {
        self.writer.take();
        if !self.partial.as_os_str().is_empty() {
            let _ = std::fs::remove_file(&self.partial);
        }
    }
}

impl SavedFiles {
    pub(crate) fn new(output_dir: PathBuf, private: bool, limits: SavedLimits) -> SavedFiles {
        SavedFiles {
            output_dir,
            private,
            limits,
            reads: tokio::sync::Semaphore::new(CONCURRENT_READS),
        }
    }

    /// The folder that is the server's own (it may not exist yet).
    pub(crate) fn root(&self) -> PathBuf {
        self.output_dir.join(OWN_FOLDER)
    }

    /// The folder of `owner`'s saved files (it may not exist yet).
    pub(crate) fn owner_dir(&self, owner: &Owner) -> PathBuf {
        self.root().join(owner.folder_name())
    }

    /// Starts a new file for `owner`, under a fresh, safe name: the Space's
    /// file name is reduced to its last component and plain characters, so
    /// no name it sends can climb out of the folder or overwrite another.
    pub(crate) async fn create(
        &self,
        owner: &Owner,
        suggested: &str,
        mime: &str,
    ) -> Result<NewFile, SaveError> {
        static COUNTER: AtomicU64 = AtomicU64::new(0);
        let dir = {
            let (output_dir, private, owner) =
                (self.output_dir.clone(), self.private, owner.clone());
            tokio::task::spawn_blocking(move || make_owner_dir(&output_dir, private, &owner))
                .await
                .unwrap_or_else(|e| {
                    Err(SaveError {
                        path: self.output_dir.clone(),
                        source: io::Error::other(e),
                    })
                })?
        };
        let stamp = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_millis())
            .unwrap_or(0);
        let n = COUNTER.fetch_add(1, Ordering::Relaxed);
        let name = format!(
            "{stamp}-{}-{n}-{}",
            std::process::id(),
            safe_file_name(suggested, mime)
        );
        let path = dir.join(&name);
        let partial = dir.join(format!("{PARTIAL}{name}"));
        // A new file only (never through a link planted under the name),
        // readable by this user alone.
        let mut open = tokio::fs::OpenOptions::new();
        open.write(true).create_new(true);
        #[cfg(unix)]
        open.mode(0o600);
        let file = open.open(&partial).await.map_err(|source| SaveError {
            path: partial.clone(),
            source,
        })?;
        Ok(NewFile {
            path,
            partial,
            writer: Some(tokio::io::BufWriter::with_capacity(WRITE_BUFFER, file)),
        })
    }

    /// The secret owner digests are salted with: read from the server's own
    /// folder, or made there (32 random bytes, readable by this user only)
    /// by the first process that needs it.
    pub(crate) fn owner_salt(&self) -> Result<Vec<u8>, SaveError> {
        let path = make_root(&self.output_dir, self.private)?.join(OWNER_SALT);
        let fail = |source| SaveError {
            path: path.clone(),
            source,
        };
        let mut open = std::fs::OpenOptions::new();
        open.write(true).create_new(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut open, 0o600);
        match open.open(&path) {
            Ok(mut file) => {
                let salt: Vec<u8> = (0..2)
                    .flat_map(|_| *uuid::Uuid::new_v4().as_bytes())
                    .collect();
                let hex: String = salt.iter().map(|b| format!("{b:02x}")).collect();
                io::Write::write_all(&mut file, hex.as_bytes()).map_err(fail)?;
                Ok(hex.into_bytes())
            }
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {
                // Another replica may be writing it this moment.
                let deadline = std::time::Instant::now() + Duration::from_secs(2);
                loop {
                    let text = std::fs::read(&path).map_err(fail)?;
                    if text.len() == 64 || std::time::Instant::now() > deadline {
                        return Ok(text);
                    }
                    std::thread::sleep(Duration::from_millis(50));
                }
            }
            Err(e) => Err(fail(e)),
        }
    }

    /// `owner`'s saved files, newest first.
    pub(crate) fn list(&self, owner: &Owner) -> Vec<Resource> {
        let dir = self.owner_dir(owner);
        // A folder of ours, never a link planted in its place.
        if !self.is_ours() || !real_dir(&dir) {
            return Vec::new();
        }
        let mut files: Vec<(SystemTime, String, u64)> = files_in(&dir)
            .into_iter()
            .filter(|f| !f.partial && f.single_link)
            .map(|f| (f.modified, f.name, f.size))
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

    /// The contents of `owner`'s saved file `uri`, read from that owner's
    /// folder only, at most `resource_read_max_bytes`, and base64-encoded
    /// from the file piece by piece (the file's bytes are never held whole
    /// beside their base64). At most [`CONCURRENT_READS`] are built at once.
    pub(crate) async fn read(
        &self,
        owner: &Owner,
        uri: &str,
    ) -> Result<ResourceContents, ReadError> {
        let path = self.path_of(owner, uri)?;
        let name = file_name_in(uri).unwrap_or_default();
        let _permit = self
            .reads
            .acquire()
            .await
            .map_err(|_| ReadError::NotFound(uri.to_string()))?;
        let (uri_owned, max) = (uri.to_string(), self.limits.read_max_bytes);
        let blob = tokio::task::spawn_blocking(move || encode_file(&path, &uri_owned, max))
            .await
            .map_err(|e| ReadError::Io {
                path: name.to_string(),
                source: io::Error::other(e),
            })??;
        Ok(ResourceContents::blob(blob, uri).with_mime_type(mime_from_name(name)))
    }

    /// Where `owner`'s file `uri` (a saved file, or an upload) is: in that
    /// owner's folder only. Another owner's file, or a name that tries to
    /// leave the folder, is not found, as a file that never was.
    pub(crate) fn path_of(&self, owner: &Owner, uri: &str) -> Result<PathBuf, ReadError> {
        let name = file_name_in(uri).ok_or_else(|| ReadError::NotOurs(uri.to_string()))?;
        // A plain name: no separators, no `..`, not hidden (partial files).
        if name.is_empty()
            || name.starts_with('.')
            || name.contains(['/', '\\', '\0'])
            || name.contains("..")
            || !self.is_ours()
        {
            return Err(ReadError::NotFound(uri.to_string()));
        }
        let dir = self.owner_dir(owner);
        let path = dir.join(name);
        if !real_dir(&dir) || !is_real_file(&path) {
            return Err(ReadError::NotFound(uri.to_string()));
        }
        Ok(path)
    }

    /// Up to `length` bytes of `owner`'s file `uri` from `offset`, with the
    /// file's whole size: the MCP App view reads files in pieces where the
    /// host relays no `resources/read`, and files over
    /// `resource_read_max_bytes`.
    pub(crate) async fn read_piece(
        &self,
        owner: &Owner,
        uri: &str,
        offset: u64,
        length: usize,
    ) -> Result<(Vec<u8>, u64), ReadError> {
        use tokio::io::{AsyncReadExt, AsyncSeekExt};
        let path = self.path_of(owner, uri)?;
        let io = |source| ReadError::Io {
            path: path.display().to_string(),
            source,
        };
        let mut file = tokio::fs::File::open(&path).await.map_err(io)?;
        let size = file.metadata().await.map_err(io)?.len();
        file.seek(io::SeekFrom::Start(offset.min(size)))
            .await
            .map_err(io)?;
        let mut piece = Vec::with_capacity(length.min(size.saturating_sub(offset) as usize));
        file.take(length as u64)
            .read_to_end(&mut piece)
            .await
            .map_err(io)?;
        Ok((piece, size))
    }

    /// Removes saved files past the retention period, partial files left
    /// by a process that died, and then the oldest files while all of them
    /// together take more than `output_max_bytes`. Only inside the server's
    /// own folder. Gives, for each file removed, its owner's folder name.
    pub(crate) fn tidy(&self) -> Vec<String> {
        if !self.is_ours() {
            return Vec::new();
        }
        let now = SystemTime::now();
        let age = |f: &FileEntry| now.duration_since(f.modified).unwrap_or_default();
        let mut kept = Vec::new();
        let mut removed = Vec::new();
        for owner_dir in owner_dirs(&self.root()) {
            let folder = owner_dir
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            for file in files_in(&owner_dir) {
                let expired = if file.partial {
                    age(&file) > PARTIAL_MAX_AGE
                } else {
                    self.limits.retention.is_some_and(|r| age(&file) > r)
                };
                if expired {
                    if std::fs::remove_file(&file.path).is_ok() {
                        removed.push(folder.clone());
                    }
                } else if !file.partial {
                    kept.push((folder.clone(), file));
                }
            }
        }
        let mut total: u64 = kept.iter().map(|(_, f)| f.size).sum();
        if total > self.limits.max_bytes {
            kept.sort_by_key(|(_, f)| f.modified);
            for (folder, file) in kept {
                if total <= self.limits.max_bytes {
                    break;
                }
                if std::fs::remove_file(&file.path).is_ok() {
                    total = total.saturating_sub(file.size);
                    removed.push(folder);
                }
            }
        }
        removed
    }

    /// Whether the server's own folder exists and is marked as made by it.
    fn is_ours(&self) -> bool {
        let root = self.root();
        real_dir(&root) && is_real_file(&root.join(MARKER))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64::Engine;

    fn scratch(name: &str) -> PathBuf {
        let dir =
            std::env::temp_dir().join(format!("spaces-mcp-saved-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    fn limits() -> SavedLimits {
        SavedLimits {
            retention: Some(Duration::from_secs(3600)),
            max_bytes: 1 << 30,
            read_max_bytes: 1 << 20,
            upload_max_bytes: 1 << 20,
        }
    }

    async fn save(saved: &SavedFiles, owner: &Owner, name: &str, bytes: &[u8]) -> PathBuf {
        let mut file = saved.create(owner, name, "image/png").await.unwrap();
        tokio::io::AsyncWriteExt::write_all(file.writer(), bytes)
            .await
            .unwrap();
        file.finish().await.unwrap()
    }

    fn age(path: &Path, seconds: u64) {
        let file = std::fs::File::options().write(true).open(path).unwrap();
        file.set_modified(SystemTime::now() - Duration::from_secs(seconds))
            .unwrap();
    }

    #[tokio::test]
    async fn the_users_own_files_are_never_listed_read_or_removed() {
        let dir = scratch("user");
        // What a user keeps in ~/Downloads, named like our files once were.
        let theirs = [
            "2024-03-01-bank-statement.pdf",
            "2024-01-15-10-30-00.png",
            "1700000000000-42-0-image.png",
        ];
        for name in theirs {
            std::fs::write(dir.join(name), b"the user's own").unwrap();
            age(&dir.join(name), 48 * 3600);
        }
        let saved = SavedFiles::new(dir.clone(), false, limits());
        let owner = Owner::local();
        let ours = save(&saved, &owner, "image.png", b"\x89PNG").await;
        age(&ours, 48 * 3600);
        let listed: Vec<String> = saved.list(&owner).into_iter().map(|r| r.name).collect();
        assert_eq!(listed.len(), 1, "{listed:?}");
        for name in theirs {
            let uri = format!("{SAVED_SCHEME}{name}");
            assert!(matches!(
                saved.read(&owner, &uri).await,
                Err(ReadError::NotFound(_))
            ));
        }
        assert_eq!(saved.tidy().len(), 1, "only our old file goes");
        for name in theirs {
            assert!(dir.join(name).exists(), "{name} was removed");
        }
        assert!(!ours.exists());
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[tokio::test]
    async fn a_spaces_mcp_folder_the_server_did_not_make_is_left_alone() {
        let dir = scratch("foreign");
        let foreign = dir.join(OWN_FOLDER).join("local");
        std::fs::create_dir_all(&foreign).unwrap();
        std::fs::write(foreign.join("notes.txt"), b"mine").unwrap();
        age(&foreign.join("notes.txt"), 48 * 3600);
        let saved = SavedFiles::new(dir.clone(), false, limits());
        let owner = Owner::local();
        assert!(saved.list(&owner).is_empty());
        assert!(saved.tidy().is_empty());
        let refused = saved
            .create(&owner, "a.png", "image/png")
            .await
            .err()
            .unwrap();
        assert!(
            refused
                .source
                .to_string()
                .contains("not made by spaces-mcp")
        );
        assert!(foreign.join("notes.txt").exists());
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[tokio::test]
    async fn each_owner_sees_only_its_own_files() {
        let dir = scratch("owners");
        let saved = SavedFiles::new(dir.clone(), false, limits());
        let alice = Owner::of_credentials([("bearer", "alice")]);
        let bob = Owner::of_credentials([("bearer", "bob")]);
        let path = save(&saved, &alice, "a.png", b"\x89PNG").await;
        let uri = format!(
            "{SAVED_SCHEME}{}",
            path.file_name().unwrap().to_str().unwrap()
        );
        assert_eq!(saved.list(&alice).len(), 1);
        assert!(saved.list(&bob).is_empty());
        let ResourceContents::BlobResourceContents {
            blob, mime_type, ..
        } = saved.read(&alice, &uri).await.unwrap()
        else {
            panic!()
        };
        assert_eq!(blob, "iVBORw==");
        assert_eq!(mime_type.as_deref(), Some("image/png"));
        assert!(matches!(
            saved.read(&bob, &uri).await,
            Err(ReadError::NotFound(_))
        ));
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[tokio::test]
    async fn hostile_names_links_and_partial_files_are_not_served() {
        let dir = scratch("hostile");
        let saved = SavedFiles::new(dir.clone(), false, limits());
        let owner = Owner::local();
        let path = save(&saved, &owner, "a.png", b"\x89PNG").await;
        let owner_dir = path.parent().unwrap().to_path_buf();
        std::fs::write(dir.join("secret.txt"), b"secret").unwrap();
        std::fs::write(owner_dir.join(".partial-1-2-3-b.png"), b"half").unwrap();
        #[cfg(unix)]
        {
            std::os::unix::fs::symlink(dir.join("secret.txt"), owner_dir.join("link.txt")).unwrap();
            std::fs::hard_link(dir.join("secret.txt"), owner_dir.join("hard.txt")).unwrap();
        }
        for hostile in [
            "spaces-mcp://outputs/../../secret.txt",
            "spaces-mcp://outputs/1-2-3-a/../../b",
            "spaces-mcp://outputs/.partial-1-2-3-b.png",
            "spaces-mcp://outputs/link.txt",
            "spaces-mcp://outputs/hard.txt",
            "spaces-mcp://outputs/",
        ] {
            assert!(
                matches!(
                    saved.read(&owner, hostile).await,
                    Err(ReadError::NotFound(_))
                ),
                "{hostile}"
            );
        }
        assert!(matches!(
            saved.read(&owner, "file:///etc/passwd").await,
            Err(ReadError::NotOurs(_))
        ));
        let listed: Vec<String> = saved.list(&owner).into_iter().map(|r| r.name).collect();
        assert_eq!(listed.len(), 1, "{listed:?}");
        // An owner's folder replaced by a link to elsewhere is not followed.
        #[cfg(unix)]
        {
            let elsewhere = dir.join("elsewhere");
            std::fs::create_dir_all(&elsewhere).unwrap();
            std::fs::write(elsewhere.join("x.txt"), b"not ours").unwrap();
            let bob = Owner::of_credentials([("bearer", "bob")]);
            std::os::unix::fs::symlink(&elsewhere, saved.owner_dir(&bob)).unwrap();
            assert!(saved.list(&bob).is_empty());
            assert!(matches!(
                saved.read(&bob, "spaces-mcp://outputs/x.txt").await,
                Err(ReadError::NotFound(_))
            ));
        }
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[tokio::test]
    async fn a_dropped_file_leaves_nothing_and_reads_are_capped() {
        let dir = scratch("partial");
        let saved = SavedFiles::new(
            dir.clone(),
            false,
            SavedLimits {
                read_max_bytes: 10,
                ..limits()
            },
        );
        let owner = Owner::local();
        let mut unfinished = saved.create(&owner, "cut.png", "image/png").await.unwrap();
        tokio::io::AsyncWriteExt::write_all(unfinished.writer(), b"half a file")
            .await
            .unwrap();
        drop(unfinished);
        assert!(
            files_in(&saved.owner_dir(&owner)).is_empty(),
            "the partial file is gone"
        );
        let big = save(&saved, &owner, "big.bin", &[7u8; 11]).await;
        let uri = format!(
            "{SAVED_SCHEME}{}",
            big.file_name().unwrap().to_str().unwrap()
        );
        let refused = saved.read(&owner, &uri).await.unwrap_err();
        assert!(
            matches!(
                refused,
                ReadError::TooLarge {
                    size: 11,
                    max: 10,
                    ..
                }
            ),
            "{refused}"
        );
        assert!(refused.to_string().contains("resource_read_max_bytes"));
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[tokio::test]
    async fn the_cap_removes_the_oldest_of_our_files() {
        let dir = scratch("cap");
        let saved = SavedFiles::new(
            dir.clone(),
            false,
            SavedLimits {
                max_bytes: 25,
                ..limits()
            },
        );
        let (a, b) = (Owner::local(), Owner::of_credentials([("bearer", "b")]));
        let oldest = save(&saved, &a, "1.bin", &[1u8; 10]).await;
        age(&oldest, 30);
        let middle = save(&saved, &b, "2.bin", &[2u8; 10]).await;
        age(&middle, 20);
        let newest = save(&saved, &a, "3.bin", &[3u8; 10]).await;
        std::fs::write(dir.join("theirs.bin"), [0u8; 100]).unwrap();
        assert_eq!(saved.tidy().len(), 1);
        assert!(!oldest.exists() && middle.exists() && newest.exists());
        assert!(dir.join("theirs.bin").exists());
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn long_files_encode_as_one_base64() {
        let dir = scratch("encode");
        let bytes: Vec<u8> = (0..500_000u32).map(|i| (i * 7 % 251) as u8).collect();
        let path = dir.join("f");
        std::fs::write(&path, &bytes).unwrap();
        let blob = encode_file(&path, "u", 1 << 20).unwrap();
        assert_eq!(
            blob,
            base64::engine::general_purpose::STANDARD.encode(&bytes)
        );
        let _ = std::fs::remove_dir_all(&dir);
    }

    mod fuzz {
        use super::*;
        use proptest::prelude::*;

        fn uris() -> impl Strategy<Value = String> {
            let scheme = prop_oneof![
                Just(SAVED_SCHEME.to_string()),
                Just(UPLOAD_SCHEME.to_string()),
                Just("spaces-mcp://".to_string()),
                Just("file://".to_string()),
                Just(String::new()),
            ];
            let name = prop_oneof![
                Just("mine.png".to_string()),
                Just("../other/theirs.png".to_string()),
                Just("..".to_string()),
                Just(".partial-mine.png".to_string()),
                Just("%2e%2e%2fother%2ftheirs.png".to_string()),
                Just("mine.png\0".to_string()),
                Just("/etc/passwd".to_string()),
                ".{0,30}",
            ];
            (scheme, name).prop_map(|(a, b)| a + &b)
        }

        proptest! {
            #![proptest_config(crate::fuzzing::cases(2000))]

            /// Whatever URI a client reads, it gets a file of its own folder
            /// or an error: never another caller's file, never one outside.
            #[test]
            fn fuzz_saved_file_uris(uri in uris()) {
                let dir = std::env::temp_dir().join(format!("spaces-mcp-fuzz-saved-{}", std::process::id()));
                let saved = SavedFiles::new(dir.clone(), false, limits());
                let (me, other) = (Owner::from_stored("me".into()), Owner::from_stored("other".into()));
                let runtime = tokio::runtime::Builder::new_current_thread().build().unwrap();
                runtime.block_on(async {
                    if !saved.owner_dir(&me).join("mine.png").exists() {
                        let mut file = saved.create(&me, "mine.png", "image/png").await.unwrap();
                        tokio::io::AsyncWriteExt::write_all(file.writer(), b"mine").await.unwrap();
                        let path = file.finish().await.unwrap();
                        std::fs::rename(&path, saved.owner_dir(&me).join("mine.png")).unwrap();
                        let mut file = saved.create(&other, "theirs.png", "image/png").await.unwrap();
                        tokio::io::AsyncWriteExt::write_all(file.writer(), b"theirs").await.unwrap();
                        let path = file.finish().await.unwrap();
                        std::fs::rename(&path, saved.owner_dir(&other).join("theirs.png")).unwrap();
                    }
                });
                // The property is not empty: the caller's own file is read.
                let own = format!("{SAVED_SCHEME}mine.png");
                prop_assert!(saved.path_of(&me, &own).is_ok());
                prop_assert!(saved.path_of(&other, &own).is_err());
                if let Ok(path) = saved.path_of(&me, &uri) {
                    let mine = saved.owner_dir(&me);
                    prop_assert_eq!(path.parent(), Some(mine.as_path()), "{}", uri);
                    prop_assert_eq!(std::fs::read(&path).unwrap(), b"mine".to_vec());
                }
            }
        }
    }
}
