//! Files to and from a Space: downloads of what it made (only from its own
//! origin, streamed to a cap, never sized from what it announces) and uploads
//! for file inputs.

use std::time::Duration;

use futures_util::StreamExt;
use reqwest::header::CONTENT_TYPE;
use tokio::io::{AsyncWrite, AsyncWriteExt};
use url::Url;

use super::body::{MAX_ANSWER_BYTES, check_status, read_json};
use super::{GradioError, HfToken, Observer, SpaceClient};

/// What a streamed download was.
#[derive(Debug)]
pub(crate) struct Fetched {
    pub(crate) size: u64,
    /// The `Content-Type` the Space sent, without parameters.
    pub(crate) content_type: Option<String>,
    /// The first bytes, to tell the type from (a file's name can lie).
    pub(crate) head: Vec<u8>,
}

/// How much of a download's start is kept to tell its type and read its header.
pub(crate) const HEAD_BYTES: usize = 4096;

impl SpaceClient {
    /// Fetches a file the Space made into memory (see [`Self::download_into`]).
    #[cfg(test)]
    pub(crate) async fn download(
        &self,
        url: &str,
        max: u64,
        token: Option<&HfToken>,
        idle: Duration,
    ) -> Result<Vec<u8>, GradioError> {
        let mut bytes = Vec::new();
        self.download_into(url, max, token, idle, &mut bytes)
            .await?;
        Ok(bytes)
    }

    /// Whether `url` is on the Space's own origin (the only place files are
    /// fetched from).
    pub(crate) fn owns(&self, url: &str) -> bool {
        Url::parse(url).is_ok_and(|u| u.origin() == self.space().base().origin())
    }

    /// Streams a file the Space made into `sink` (a saved file), so that no
    /// download is ever held whole in memory. Only URLs on the Space's own
    /// origin are fetched (a Space behind a proxy may name another host, and
    /// a hostile one any host), and never more than `max` bytes.
    pub(crate) async fn download_into<W: AsyncWrite + Unpin>(
        &self,
        url: &str,
        max: u64,
        token: Option<&HfToken>,
        idle: Duration,
        sink: &mut W,
    ) -> Result<Fetched, GradioError> {
        let origin = self.space().base().origin();
        let parsed = Url::parse(url).ok().filter(|u| u.origin() == origin);
        let Some(parsed) = parsed else {
            return Err(GradioError::ForeignFile {
                url: url.to_string(),
                origin: origin.ascii_serialization(),
            });
        };
        let response = self
            .send(self.http.get(parsed.clone()), token, &parsed, idle)
            .await?;
        let response = check_status(response, &format!("the download of {url}")).await?;
        let too_large = || GradioError::TooLarge {
            url: url.to_string(),
            max,
        };
        if response.content_length().is_some_and(|n| n > max) {
            return Err(too_large());
        }
        let content_type = response
            .headers()
            .get(CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .map(|v| v.split(';').next().unwrap_or(v).trim().to_ascii_lowercase());
        // Never sized from Content-Length: the Space says what it likes there.
        let mut fetched = Fetched {
            size: 0,
            content_type,
            head: Vec::new(),
        };
        let mut body = response.bytes_stream();
        loop {
            let chunk = tokio::time::timeout(idle, body.next())
                .await
                .map_err(|_| GradioError::Idle(idle))?;
            match chunk {
                None => break,
                Some(Ok(chunk)) => {
                    if fetched.size + chunk.len() as u64 > max {
                        return Err(too_large());
                    }
                    fetched.size += chunk.len() as u64;
                    let room = HEAD_BYTES.saturating_sub(fetched.head.len());
                    fetched
                        .head
                        .extend_from_slice(&chunk[..chunk.len().min(room)]);
                    sink.write_all(&chunk).await.map_err(GradioError::Write)?;
                }
                Some(Err(e)) => return Err(GradioError::transport(url, &e)),
            }
        }
        sink.flush().await.map_err(GradioError::Write)?;
        Ok(fetched)
    }

    /// Uploads a file for a file input (`POST <prefix>/upload`, field
    /// `files`) and returns the path the Space gave it.
    pub(crate) async fn upload(
        &self,
        name: &str,
        bytes: Vec<u8>,
        token: Option<&HfToken>,
        idle: Duration,
        observe: Observer<'_>,
    ) -> Result<String, GradioError> {
        let meta = self.meta(token, observe).await?;
        let url = self.join(&meta.api_base, "upload")?;
        let part = reqwest::multipart::Part::bytes(bytes).file_name(name.to_string());
        let form = reqwest::multipart::Form::new().part("files", part);
        let response = self
            .send(
                self.http.post(url.clone()).multipart(form),
                token,
                &url,
                idle,
            )
            .await?;
        let response = check_status(response, "the upload").await?;
        let paths: Vec<String> = read_json(response, "the upload", MAX_ANSWER_BYTES, idle).await?;
        paths.into_iter().next().ok_or(GradioError::Protocol {
            what: "the answer to an upload",
            reason: "it names no file".into(),
        })
    }

    /// The URL of a file the Space names only by its server path.
    pub(crate) fn file_url(&self, path: &str) -> Option<String> {
        let api_base = self.api_base()?;
        Some(format!("{api_base}file={path}"))
    }
}
