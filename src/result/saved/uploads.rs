//! Files a person gives a tool through the MCP App view (a picture to edit,
//! a voice sample). They arrive in pieces (an HTTP request body is bounded,
//! `--max-body-bytes`), each piece appended to a file being saved in the
//! caller's own folder, and the finished file is named by a
//! `spaces-mcp://uploads/…` URI that any file input of that caller takes.
//! Bounded: `upload_max_bytes` a file, a few unfinished uploads per caller
//! and in all, and an unfinished upload left alone for a while is dropped
//! (its partial file with it). Finished uploads are saved files: the same
//! retention and size cap apply.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use tokio::io::AsyncWriteExt;

use super::{NewFile, SavedFiles, UPLOAD_SCHEME};
use crate::jobs::Owner;

/// Unfinished uploads one caller may have at once.
pub(crate) const MAX_PENDING_PER_OWNER: usize = 4;
/// Unfinished uploads the process keeps at once.
pub(crate) const MAX_PENDING: usize = 64;
/// An unfinished upload not added to for this long is dropped.
pub(crate) const PENDING_IDLE: Duration = Duration::from_secs(600);

/// Why a piece was refused.
#[derive(Debug, thiserror::Error)]
pub(crate) enum UploadError {
    #[error(
        "the file is larger than the {max} bytes one upload may hold (upload_max_bytes in spaces.toml)"
    )]
    TooLarge { max: u64 },
    #[error(
        "this caller already has {MAX_PENDING_PER_OWNER} unfinished uploads; finish or wait for one (unfinished uploads are dropped after {} s)", PENDING_IDLE.as_secs()
    )]
    OwnerBusy,
    #[error("the server has {MAX_PENDING} unfinished uploads; try again in a moment")]
    Busy,
    #[error(
        "no unfinished upload {0} for this caller (it finished, was dropped after a pause, or is another caller's)"
    )]
    Unknown(String),
    #[error("could not save the upload: {0}")]
    Io(String),
}

struct Pending {
    owner: Owner,
    file: NewFile,
    written: u64,
    touched: Instant,
}

/// The unfinished uploads, by id.
#[derive(Default)]
pub(crate) struct Uploads {
    pending: Mutex<HashMap<String, Pending>>,
}

/// What a piece came to.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Received {
    /// More pieces may follow, under this id.
    Partial { upload_id: String, received: u64 },
    /// The file is whole: its URI.
    Done { uri: String, size: u64 },
}

impl Uploads {
    /// Adds `piece` to the upload `id` (a new one when `None`), and
    /// finishes it when `last`.
    #[allow(clippy::too_many_arguments)]
    pub(crate) async fn receive(
        &self,
        saved: &SavedFiles,
        owner: &Owner,
        id: Option<&str>,
        name: &str,
        mime: &str,
        piece: &[u8],
        last: bool,
    ) -> Result<Received, UploadError> {
        let max = saved.limits.upload_max_bytes;
        let mut upload = match id {
            Some(id) => self.take(owner, id)?,
            None => {
                self.room_for(owner)?;
                let file = saved
                    .create(owner, &format!("upload-{name}"), mime)
                    .await
                    .map_err(|e| UploadError::Io(e.source.to_string()))?;
                Pending {
                    owner: owner.clone(),
                    file,
                    written: 0,
                    touched: Instant::now(),
                }
            }
        };
        if upload.written + piece.len() as u64 > max {
            // Dropped: its partial file goes with it.
            return Err(UploadError::TooLarge { max });
        }
        upload
            .file
            .writer()
            .write_all(piece)
            .await
            .map_err(|e| UploadError::Io(e.to_string()))?;
        upload.written += piece.len() as u64;
        upload.touched = Instant::now();
        if last {
            let size = upload.written;
            let path = upload
                .file
                .finish()
                .await
                .map_err(|e| UploadError::Io(e.source.to_string()))?;
            let file_name = path
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            return Ok(Received::Done {
                uri: format!("{UPLOAD_SCHEME}{file_name}"),
                size,
            });
        }
        let upload_id = id
            .map(str::to_string)
            .unwrap_or_else(|| uuid::Uuid::new_v4().to_string());
        let received = upload.written;
        self.lock().insert(upload_id.clone(), upload);
        Ok(Received::Partial {
            upload_id,
            received,
        })
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Pending>> {
        crate::locks::lock(&self.pending)
    }

    /// The upload `id`, if it is `owner`'s (another's is unknown).
    fn take(&self, owner: &Owner, id: &str) -> Result<Pending, UploadError> {
        let mut pending = self.lock();
        match pending.remove(id) {
            Some(upload) if upload.owner == *owner => Ok(upload),
            Some(upload) => {
                pending.insert(id.to_string(), upload);
                Err(UploadError::Unknown(id.to_string()))
            }
            None => Err(UploadError::Unknown(id.to_string())),
        }
    }

    /// Drops idle uploads, then says whether `owner` may start one.
    fn room_for(&self, owner: &Owner) -> Result<(), UploadError> {
        let mut pending = self.lock();
        pending.retain(|_, u| u.touched.elapsed() < PENDING_IDLE);
        if pending.values().filter(|u| u.owner == *owner).count() >= MAX_PENDING_PER_OWNER {
            return Err(UploadError::OwnerBusy);
        }
        if pending.len() >= MAX_PENDING {
            return Err(UploadError::Busy);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::SavedLimits;

    fn saved(dir: &std::path::Path, max: u64) -> SavedFiles {
        SavedFiles::new(
            dir.to_path_buf(),
            false,
            SavedLimits {
                retention: None,
                max_bytes: 1 << 30,
                read_max_bytes: 1 << 20,
                upload_max_bytes: max,
            },
        )
    }

    #[tokio::test]
    async fn pieces_make_one_file_of_the_callers_own_within_its_bound() {
        let dir = std::env::temp_dir().join(format!("spaces-mcp-up-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(&dir).unwrap();
        let files = saved(&dir, 10);
        let uploads = Uploads::default();
        let alice = Owner::local();
        let Received::Partial { upload_id, .. } = uploads
            .receive(&files, &alice, None, "me.wav", "audio/wav", b"hello", false)
            .await
            .unwrap()
        else {
            panic!("not partial");
        };
        let Received::Done { uri, size } = uploads
            .receive(
                &files,
                &alice,
                Some(&upload_id),
                "me.wav",
                "audio/wav",
                b"!",
                true,
            )
            .await
            .unwrap()
        else {
            panic!("not done");
        };
        assert_eq!(size, 6);
        assert!(
            uri.starts_with(UPLOAD_SCHEME) && uri.ends_with("upload-me.wav"),
            "{uri}"
        );
        let (bytes, total) = files.read_piece(&alice, &uri, 1, 3).await.unwrap();
        assert_eq!((bytes.as_slice(), total), (&b"ell"[..], 6));
        // Over the bound: refused, and nothing of it stays.
        let too_big = uploads
            .receive(
                &files,
                &alice,
                None,
                "big.bin",
                "application/octet-stream",
                &[0; 11],
                true,
            )
            .await;
        assert!(matches!(too_big, Err(UploadError::TooLarge { max: 10 })));
        // Another caller's id is unknown.
        let Received::Partial { upload_id, .. } = uploads
            .receive(&files, &alice, None, "a.png", "image/png", b"x", false)
            .await
            .unwrap()
        else {
            panic!("not partial");
        };
        let bob = Owner::from_stored("bob".into());
        let stolen = uploads
            .receive(
                &files,
                &bob,
                Some(&upload_id),
                "a.png",
                "image/png",
                b"y",
                true,
            )
            .await;
        assert!(matches!(stolen, Err(UploadError::Unknown(_))));
        assert!(files.path_of(&bob, &uri).is_err());
        std::fs::remove_dir_all(&dir).ok();
    }
}
