//! The Gradio side: finding a Space, learning its endpoints, calling one and
//! following its result, downloading the files it made.
//!
//! One [`SpaceClient`] exists per Space (see [`SpacePool`]): it owns the
//! connection pool and caches what the Space said about itself, so a Space's
//! `/config` and `/gradio_api/info` are fetched once, on the first call that
//! needs them, and never at start-up.

mod api;
mod body;
mod client;
mod cookies;
mod event_reader;
mod events;
mod files;
mod hub;
mod json;
mod login;
mod partial;
mod pool;
mod queue;
mod quota;
mod retry;
mod run;
mod slots;
mod space;
#[cfg(test)]
mod tests;

use std::fmt;
use std::time::Duration;

pub(crate) use api::{ApiInfo, AppConfig, EndpointInfo, ParameterInfo, ReturnInfo, StatePlaces};
pub(crate) use body::MAX_DESCRIPTION_BYTES;
pub(crate) use client::{Run, SpaceClient};
pub(crate) use events::follow;
pub(crate) use files::Fetched;
pub(crate) use hub::HubEndpoint;
pub(crate) use login::{Login, PasswordSource};
pub(crate) use pool::SpacePool;
pub(crate) use queue::ProgressUnit;
pub(crate) use quota::GpuRefusal;
pub(crate) use slots::{SharedSlot, SharedSlots, SharedSlotsError, SlotLimits, Ticket};
pub(crate) use space::{SpaceRef, may_carry_token};

/// A Hugging Face token. It is only ever written into a request header marked
/// sensitive; its `Debug` and `Display` never show it, so it cannot leak into a
/// log line or an error message by accident.
#[derive(Clone)]
pub(crate) struct HfToken(String);

impl HfToken {
    /// Reads `HF_TOKEN`; an empty value counts as none.
    /// `HF_TOKEN`, or else the contents of the file `HF_TOKEN_FILE` names (a
    /// container secret).
    pub(crate) fn from_env() -> Option<HfToken> {
        let token = std::env::var("HF_TOKEN").ok().or_else(|| {
            let path = std::env::var_os("HF_TOKEN_FILE")?;
            match std::fs::read_to_string(&path) {
                Ok(token) => Some(token),
                Err(e) => {
                    tracing::warn!(file = %std::path::Path::new(&path).display(), "HF_TOKEN_FILE cannot be read ({e}); no HF token is used");
                    None
                }
            }
        })?;
        Some(token.trim().to_string())
            .filter(|t| !t.is_empty())
            .map(HfToken)
    }

    pub(crate) fn new(token: impl Into<String>) -> HfToken {
        HfToken(token.into())
    }

    pub(crate) fn header_value(&self) -> Option<reqwest::header::HeaderValue> {
        let mut value =
            reqwest::header::HeaderValue::from_str(&format!("Bearer {}", self.0)).ok()?;
        value.set_sensitive(true);
        Some(value)
    }
}

impl fmt::Debug for HfToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("HfToken(<redacted>)")
    }
}

/// What a call is doing, as it happens: the runner turns these into MCP
/// progress notifications.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Stage {
    /// Other calls to the same Space hold every slot; this one is `position`
    /// in line (1: next).
    WaitingForSlot { position: u64 },
    /// A transient failure; the same step is tried again after `wait`.
    Retrying {
        reason: String,
        wait: Duration,
        attempt: u32,
    },
    /// The Space answers 503: it sleeps, builds or starts.
    Waking { wait: Duration },
    /// A ZeroGPU Space refused for lack of quota (or of a free GPU); the
    /// call submits again after `wait`.
    GpuWait { refusal: GpuRefusal, wait: Duration },
    /// The event is in the Space's queue.
    Queued {
        rank: Option<u64>,
        size: Option<u64>,
        eta: Option<f64>,
    },
    /// The event runs.
    Running { eta: Option<f64> },
    /// A progress bar of the app.
    Step(ProgressUnit),
    /// A log line of the app (gr.Info, gr.Warning, ZeroGPU notices).
    Log { level: String, message: String },
    /// A generator's outputs so far, as text (cut, the newest part kept).
    Partial(String),
    /// The result is being fetched.
    Downloading,
}

/// Receives the stages of a call.
pub(crate) type Observer<'a> = &'a (dyn Fn(Stage) + Send + Sync);

/// Everything that can go wrong between this server and a Gradio app. The
/// messages say what happened in the Space's terms; the tool layer adds which
/// tool and Space, and what to do.
#[derive(Debug, thiserror::Error)]
pub(crate) enum GradioError {
    #[error("cannot reach {url}: {reason}")]
    Unreachable {
        url: String,
        reason: String,
        kind: Unreachable,
    },
    #[error("{what} answered HTTP {status}{detail}")]
    Http {
        what: String,
        status: u16,
        detail: String,
        /// From a 429's or 503's `Retry-After`.
        retry_after: Option<Duration>,
    },
    /// The Space refused an event as if the endpoint or its `fn_index` did not
    /// exist (404 or 500 on submit): it may have been redeployed.
    #[error("the Space refused the event (HTTP {status}{detail})")]
    EventRefused { status: u16, detail: String },
    #[error("the app has no endpoint {api}; it has {available}")]
    UnknownEndpoint { api: String, available: String },
    #[error("{what} is not what a Gradio app sends: {reason}")]
    Protocol { what: &'static str, reason: String },
    #[error("the Space reported an error: {0}")]
    App(String),
    /// The app asks for a login (`launch(auth=...)`) and refused ours.
    #[error("the app refused the login of user {user:?}")]
    LoginRefused { user: String },
    /// The password of a login could not be read.
    #[error("cannot read the login's password from {source_of}: {reason}")]
    LoginSecret { source_of: String, reason: String },
    #[error(
        "the Space reported an error without saying why (Gradio hides the cause unless the app shows errors); check the inputs or try the Space in a browser"
    )]
    AppHidden,
    /// A fleet's replicas share each Space's call slots through their store,
    /// and it did not answer.
    #[error("no call slot of {space} could be taken from the fleet's shared store: {reason}")]
    SharedSlots { space: String, reason: String },
    #[error("the event was cancelled on the Space")]
    Cancelled,
    #[error("the Space sent nothing for {}s", .0.as_secs())]
    Idle(Duration),
    #[error("the result stream broke off: {0}")]
    StreamBroken(String),
    #[error("the result stream closed before the result arrived")]
    StreamEnded,
    #[error("refused to download {url}: it is not on the Space's own origin {origin}")]
    ForeignFile { url: String, origin: String },
    #[error(
        "refused to download {url}: the call's files come to more than the {max}-byte limit (download_max_bytes)"
    )]
    TooLarge { url: String, max: u64 },
    /// A Space sent more than this server reads of one thing.
    #[error("{what} is larger than the {max} bytes this server reads")]
    Oversize { what: String, max: u64 },
    /// The Space's `/config` points its API at another origin: followed, it
    /// would carry the HF token (and our requests) wherever the Space says.
    #[error(
        "the app's /config puts its API on another address ({prefix}); refused, since requests and the HF token go only to {origin}"
    )]
    ForeignPrefix { prefix: String, origin: String },
    #[error("could not write the download: {0}")]
    Write(std::io::Error),
    #[error("the HTTP client could not be set up: {0}")]
    Setup(String),
    /// The Hub says the Space cannot answer (paused, broken, missing).
    #[error("{0}")]
    SpaceDown(String),
}

/// Why a Space could not be reached: what decides whether to try again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Unreachable {
    /// No connection could be made (refused, reset, DNS): nothing was sent.
    Connect,
    /// The request went out and no answer came in time: the Space may be
    /// running it, so it is not sent again.
    NoAnswer,
    /// Anything else the HTTP client reports.
    Other,
}

impl GradioError {
    /// Turns a transport error into a message that names its real cause
    /// (reqwest's own text stops at "error sending request").
    fn transport(url: &str, error: &reqwest::Error) -> GradioError {
        let (mut reason, kind) = if error.is_timeout() {
            ("timed out".to_string(), Unreachable::NoAnswer)
        } else if error.is_connect() {
            ("connection failed".to_string(), Unreachable::Connect)
        } else {
            ("request failed".to_string(), Unreachable::Other)
        };
        let mut source = std::error::Error::source(error);
        let mut last = String::new();
        while let Some(cause) = source {
            last = cause.to_string();
            source = cause.source();
        }
        if !last.is_empty() {
            reason = format!("{reason} ({last})");
        }
        GradioError::Unreachable {
            url: url.to_string(),
            reason,
            kind,
        }
    }
}
