//! Reading a Space's HTTP answers within bounds: an error's first words, a
//! small JSON answer, a self-description. Nothing from a Space is read whole
//! unless it is known to be small.

use std::time::Duration;

use reqwest::Response;

use super::GradioError;

/// The most of an error body worth quoting.
const DETAIL_MAX: usize = 300;

/// The most of an error body read: its start says what went wrong, and the
/// rest (a hostile Space may send gigabytes) is never read.
const ERROR_BODY_MAX: usize = 16 * 1024;

/// How long an error body may take to arrive.
const ERROR_BODY_TIMEOUT: Duration = Duration::from_secs(5);

/// The most of `/config` or `/gradio_api/info` read: large apps describe
/// themselves in a few MiB.
pub(crate) const MAX_DESCRIPTION_BYTES: usize = 32 * 1024 * 1024;

/// The most of a small JSON answer (an event id, upload paths) read.
pub(super) const MAX_ANSWER_BYTES: usize = 1024 * 1024;

/// Turns a non-success status into an error quoting the start of the body,
/// which is where Gradio (and the Hub's proxy) say what went wrong.
pub(super) async fn check_status(response: Response, what: &str) -> Result<Response, GradioError> {
    let status = response.status();
    if status.is_success() {
        return Ok(response);
    }
    let retry_after = response
        .headers()
        .get(reqwest::header::RETRY_AFTER)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok())
        .map(Duration::from_secs);
    let body = read_prefix(response, ERROR_BODY_MAX, ERROR_BODY_TIMEOUT).await;
    let body = String::from_utf8_lossy(&body);
    let text: String = body
        .split(|c: char| c.is_whitespace() || c.is_control())
        .filter(|w| !w.is_empty())
        .collect::<Vec<_>>()
        .join(" ");
    let mut detail: String = text.chars().take(DETAIL_MAX).collect();
    if text.chars().count() > DETAIL_MAX {
        detail.push('…');
    }
    let reason = status.canonical_reason().unwrap_or("");
    let detail = if detail.is_empty() || detail == reason {
        format!(" {reason}")
    } else {
        format!(" {reason}: {detail}")
    };
    Err(GradioError::Http {
        what: what.to_string(),
        status: status.as_u16(),
        detail: detail.trim_end().to_string(),
        retry_after,
    })
}

/// At most `max` bytes of a body, within `limit`; what is missing (cut off,
/// too slow, broken) is simply not there.
pub(super) async fn read_prefix(mut response: Response, max: usize, limit: Duration) -> Vec<u8> {
    let mut bytes = Vec::new();
    let _ = tokio::time::timeout(limit, async {
        while bytes.len() < max {
            match response.chunk().await {
                Ok(Some(chunk)) => {
                    let room = max - bytes.len();
                    bytes.extend_from_slice(&chunk[..chunk.len().min(room)]);
                }
                _ => break,
            }
        }
    })
    .await;
    bytes
}

/// A whole body of at most `max` bytes, each read within `idle`.
pub(super) async fn read_capped(
    mut response: Response,
    what: &str,
    max: usize,
    idle: Duration,
) -> Result<Vec<u8>, GradioError> {
    let oversize = || GradioError::Oversize {
        what: what.to_string(),
        max: max as u64,
    };
    if response.content_length().is_some_and(|n| n > max as u64) {
        return Err(oversize());
    }
    let mut bytes = Vec::new();
    loop {
        let chunk = tokio::time::timeout(idle, response.chunk())
            .await
            .map_err(|_| GradioError::Idle(idle))?
            .map_err(|e| GradioError::StreamBroken(e.to_string()))?;
        let Some(chunk) = chunk else {
            return Ok(bytes);
        };
        if bytes.len() + chunk.len() > max {
            return Err(oversize());
        }
        bytes.extend_from_slice(&chunk);
    }
}

pub(super) async fn read_json<T: serde::de::DeserializeOwned>(
    response: Response,
    what: &str,
    max: usize,
    idle: Duration,
) -> Result<T, GradioError> {
    let bytes = read_capped(response, what, max, idle).await?;
    serde_json::from_slice(&bytes).map_err(|e| GradioError::Protocol {
        what: "an answer",
        reason: format!("{what}: {e}"),
    })
}
