//! One client per Space: its connection pool, what it said about itself, and
//! the calls and downloads made to it.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures_util::StreamExt;
use reqwest::Response;
use reqwest::header::{CONTENT_TYPE, HeaderName};
use serde::Deserialize;
use serde_json::{Value, json};
use tokio::sync::{OnceCell, Semaphore, SemaphorePermit, watch};
use url::Url;

use super::hub;
use super::queue::{self, QueueEvent, QueueFailure};
use super::sse::SseReader;
use super::{
    ApiInfo, AppConfig, EndpointInfo, GradioError, HfToken, Observer, SpaceRef, Stage, StatePlaces,
    follow,
};

/// Gradio's Python client sends the token under this name, so that a Space's
/// own code never sees it as `Authorization`; the Hub's proxy reads it.
const HF_AUTH_HEADER: HeaderName = HeaderName::from_static("x-hf-authorization");

/// How long to wait for a TCP (and TLS) connection before calling a Space unreachable.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// A Space's address and Hub id.
type PoolKey = (Url, Option<String>);

/// The clients of every Space in use, made on first use.
pub struct SpacePool {
    /// By the Space's address and Hub id (one URL may front different Hub ids).
    clients: Mutex<HashMap<PoolKey, Arc<SpaceClient>>>,
    /// Calls each Space may have running at once.
    concurrency: usize,
}

impl SpacePool {
    pub fn new(concurrency: usize) -> SpacePool {
        SpacePool {
            clients: Mutex::default(),
            concurrency: concurrency.max(1),
        }
    }

    /// The one client for `space`, made now if this is the first call to it.
    pub fn client(&self, space: &SpaceRef) -> Result<Arc<SpaceClient>, GradioError> {
        let mut clients = self
            .clients
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let key = (space.base().clone(), space.hub_id().map(str::to_string));
        if let Some(client) = clients.get(&key) {
            return Ok(client.clone());
        }
        let client = Arc::new(SpaceClient::new(space.clone(), self.concurrency)?);
        clients.insert(key, client.clone());
        Ok(client)
    }
}

/// What a Space said about itself, fetched once.
#[derive(Debug)]
struct SpaceMeta {
    /// The base of every API route: the app's root plus its prefix, ending in `/`.
    api_base: Url,
    info: ApiInfo,
    /// The queue API's `fn_index` of each endpoint; empty when the app's
    /// protocol predates the queue API we follow.
    queue: HashMap<String, u64>,
    /// Endpoints with `gr.State` inputs or outputs, and where they sit.
    states: HashMap<String, StatePlaces>,
}

impl SpaceMeta {
    fn endpoint(&self, api: &str) -> Result<&EndpointInfo, GradioError> {
        self.info.named_endpoints.get(api).ok_or_else(|| {
            let mut names: Vec<&str> = self
                .info
                .named_endpoints
                .keys()
                .map(String::as_str)
                .collect();
            names.sort_unstable();
            GradioError::UnknownEndpoint {
                api: api.to_string(),
                available: if names.is_empty() {
                    "no named endpoint".to_string()
                } else {
                    names.join(", ")
                },
            }
        })
    }
}

/// A file fetched from a Space.
#[derive(Debug)]
pub struct Downloaded {
    pub bytes: Vec<u8>,
    pub content_type: Option<String>,
}

pub struct SpaceClient {
    space: SpaceRef,
    http: reqwest::Client,
    meta: OnceCell<SpaceMeta>,
    slots: Semaphore,
    /// Numbers handed to calls as they arrive, and how many have got a slot:
    /// the difference is a waiting call's place in line.
    tickets: AtomicU64,
    served: watch::Sender<u64>,
    /// Whether the "no token over plain HTTP" warning was logged.
    warned_cleartext: std::sync::atomic::AtomicBool,
}

#[derive(Deserialize)]
struct EventId {
    event_id: String,
}

impl SpaceClient {
    fn new(space: SpaceRef, concurrency: usize) -> Result<SpaceClient, GradioError> {
        // Redirects are followed only within the Space's origin: the token header
        // must never travel to another host, and files come only from the Space.
        let origin = space.base().origin();
        let redirects = reqwest::redirect::Policy::custom(move |attempt| {
            if attempt.previous().len() >= 5 || attempt.url().origin() != origin {
                attempt.stop()
            } else {
                attempt.follow()
            }
        });
        let http = reqwest::Client::builder()
            .user_agent(concat!("spaces-mcp/", env!("CARGO_PKG_VERSION")))
            .connect_timeout(CONNECT_TIMEOUT)
            .redirect(redirects)
            .tcp_nodelay(true)
            .build()
            .map_err(|e| GradioError::Setup(e.to_string()))?;
        Ok(SpaceClient {
            space,
            http,
            meta: OnceCell::new(),
            slots: Semaphore::new(concurrency),
            tickets: AtomicU64::new(0),
            served: watch::Sender::new(0),
            warned_cleartext: std::sync::atomic::AtomicBool::new(false),
        })
    }

    pub fn space(&self) -> &SpaceRef {
        &self.space
    }

    /// The token's header, when the token may travel to this Space at all:
    /// never in clear text to another machine.
    fn token_header(&self, token: Option<&HfToken>) -> Option<reqwest::header::HeaderValue> {
        let token = token?;
        if !self.space.may_carry_token() {
            if !self.warned_cleartext.swap(true, Ordering::Relaxed) {
                tracing::warn!(space = %self.space, "not sending HF_TOKEN over plain HTTP; use an https:// address for this Space");
            }
            return None;
        }
        token.header_value()
    }

    /// The endpoint's description, fetching the Space's config and API info on
    /// first use. A failed fetch is not cached: the next call tries again.
    pub async fn endpoint(
        &self,
        api: &str,
        token: Option<&HfToken>,
        observe: Observer<'_>,
    ) -> Result<&EndpointInfo, GradioError> {
        self.meta(token, observe).await?.endpoint(api)
    }

    /// Everything the Space's API info says, fetched as for a call.
    pub async fn api_info(
        &self,
        token: Option<&HfToken>,
        observe: Observer<'_>,
    ) -> Result<&ApiInfo, GradioError> {
        Ok(&self.meta(token, observe).await?.info)
    }

    async fn meta(
        &self,
        token: Option<&HfToken>,
        observe: Observer<'_>,
    ) -> Result<&SpaceMeta, GradioError> {
        self.meta
            .get_or_try_init(|| async {
                let mut waits = 0;
                loop {
                    let error = match retrying(observe, || self.fetch_meta(token)).await {
                        Ok(meta) => return Ok(meta),
                        Err(error) => error,
                    };
                    // The Space does not answer as a Gradio app: the Hub may know why.
                    let Some(id) = self.space.hub_id() else {
                        return Err(error);
                    };
                    match hub::verdict(&self.http, id, token).await {
                        hub::Verdict::Starting(why) => {
                            waits += 1;
                            let wait = backoff(waits).max(Duration::from_secs(2));
                            tracing::info!(space = id, "{why}; waiting");
                            observe(Stage::Waking { wait });
                            tokio::time::sleep(wait).await;
                        }
                        hub::Verdict::Down(why) => return Err(GradioError::SpaceDown(why)),
                        hub::Verdict::Unknown => return Err(error),
                    }
                }
            })
            .await
    }

    async fn fetch_meta(&self, token: Option<&HfToken>) -> Result<SpaceMeta, GradioError> {
        let config_url = self.join(self.space.base(), "config")?;
        let config: AppConfig = self
            .get_json(config_url, token, "the app's /config")
            .await?;
        let prefix = config.prefix();
        let api_base = if prefix.is_empty() {
            self.space.base().clone()
        } else {
            self.join(self.space.base(), &format!("{prefix}/"))?
        };
        // A prefix such as `http://elsewhere/x` or `//elsewhere` joins to
        // another origin: never follow a Space's word off its own address.
        if api_base.origin() != self.space.base().origin() {
            return Err(GradioError::ForeignPrefix {
                prefix: config.api_prefix.clone().unwrap_or_default(),
                origin: self.space.base().origin().ascii_serialization(),
            });
        }
        let info_url = self.join(&api_base, "info")?;
        let info: ApiInfo = self.get_json(info_url, token, "the app's API info").await?;
        let queue = config.queue_endpoints();
        let states = config.state_places();
        tracing::debug!(space = %self.space, version = ?config.version, protocol = ?config.protocol, endpoints = info.named_endpoints.len(), "learned the Space's API");
        Ok(SpaceMeta {
            api_base,
            info,
            queue,
            states,
        })
    }

    /// Runs `api` with `data` (every input, in order) and returns its outputs:
    /// through the queue API when the app has it (progress, cancellation),
    /// else through the call API. Waits for a free slot of this Space first,
    /// so one busy Space holds only its own calls back.
    pub async fn call(
        &self,
        api: &str,
        data: Vec<Value>,
        token: Option<&HfToken>,
        idle: Duration,
        observe: Observer<'_>,
    ) -> Result<Vec<Value>, GradioError> {
        let _slot = self.slot(observe).await;
        let meta = self.meta(token, observe).await?;
        meta.endpoint(api)?;
        let states = meta.states.get(api);
        let outputs = match meta.queue.get(api) {
            Some(&fn_index) => {
                // The queue API wants every input, a state's included (as null).
                let data = match states {
                    Some(states) => states.fill_inputs(data),
                    None => data,
                };
                self.call_queue(meta, fn_index, data, token, idle, observe)
                    .await?
            }
            None => self.call_api(meta, api, data, token, idle).await?,
        };
        Ok(match states {
            Some(states) => states.strip_outputs(outputs),
            None => outputs,
        })
    }

    /// Waits for one of the Space's call slots, reporting how many calls are
    /// ahead. The semaphore is fair, so calls run in the order they came.
    async fn slot(&self, observe: Observer<'_>) -> Option<SemaphorePermit<'_>> {
        let ticket = self.tickets.fetch_add(1, Ordering::SeqCst);
        let mut served = self.served.subscribe();
        let permit = match self.slots.try_acquire() {
            // Free, and nobody waits before us (the semaphore serves waiters first).
            Ok(permit) => Some(permit),
            Err(_) => {
                let acquire = self.slots.acquire();
                tokio::pin!(acquire);
                let mut reported = None;
                loop {
                    let position = ticket.saturating_sub(*served.borrow_and_update()) + 1;
                    if reported != Some(position) {
                        observe(Stage::WaitingForSlot { position });
                        reported = Some(position);
                    }
                    tokio::select! {
                        permit = &mut acquire => break permit.ok(),
                        changed = served.changed() => if changed.is_err() { break None },
                    }
                }
            }
        };
        self.served.send_modify(|n| *n += 1);
        permit
    }

    /// The call API: `POST <prefix>/call/<api>`, then its event stream.
    async fn call_api(
        &self,
        meta: &SpaceMeta,
        api: &str,
        data: Vec<Value>,
        token: Option<&HfToken>,
        idle: Duration,
    ) -> Result<Vec<Value>, GradioError> {
        let name = api.trim_start_matches('/');
        let submit_url = self.join(&meta.api_base, &format!("call/{name}"))?;
        let body = json!({ "data": data }).to_string();
        let event_id = self
            .submit(
                &submit_url,
                &body,
                token,
                idle,
                &format!("the call to {api}"),
                &|_| {},
            )
            .await?;
        tracing::debug!(space = %self.space, api, event_id, "job submitted (call API)");
        let stream_url = self.join(&meta.api_base, &format!("call/{name}/{event_id}"))?;
        let response = self
            .send(self.http.get(stream_url.clone()), token, &stream_url, idle)
            .await?;
        let response = check_status(response, &format!("the result stream of {api}")).await?;
        follow(response.bytes_stream(), idle).await
    }

    /// The queue API: join, follow the session's data stream for our job, and
    /// cancel the job on the Space if this call is dropped before it ends
    /// (the client cancelled, the timeout struck).
    async fn call_queue(
        &self,
        meta: &SpaceMeta,
        fn_index: u64,
        data: Vec<Value>,
        token: Option<&HfToken>,
        idle: Duration,
        observe: Observer<'_>,
    ) -> Result<Vec<Value>, GradioError> {
        let session_hash = uuid::Uuid::new_v4().simple().to_string()[..12].to_string();
        let join_url = self.join(&meta.api_base, "queue/join")?;
        let body = json!({
            "data": data,
            "fn_index": fn_index,
            "session_hash": session_hash,
            "trigger_id": null,
            "event_data": null,
        })
        .to_string();
        let event_id = self
            .submit(&join_url, &body, token, idle, "joining the queue", observe)
            .await?;
        tracing::debug!(space = %self.space, fn_index, event_id, "job submitted (queue API)");
        let mut cancel_on_drop = CancelOnDrop {
            http: self.http.clone(),
            url: self.join(&meta.api_base, "cancel")?,
            body:
                json!({ "event_id": event_id, "session_hash": session_hash, "fn_index": fn_index })
                    .to_string(),
            token: self.token_header(token),
            armed: true,
        };
        let mut stream_url = self.join(&meta.api_base, "queue/data")?;
        stream_url
            .query_pairs_mut()
            .append_pair("session_hash", &session_hash);
        let response = self
            .send(self.http.get(stream_url.clone()), token, &stream_url, idle)
            .await?;
        let response = check_status(response, "the queue's data stream").await?;
        let mut events = SseReader::new(response.bytes_stream());
        loop {
            let Some(message) = events.next(idle).await? else {
                return Err(GradioError::StreamEnded);
            };
            let Some((id, event)) = queue::parse(&message.data) else {
                continue;
            };
            if id.as_deref().is_some_and(|id| id != event_id) {
                continue;
            }
            match event {
                QueueEvent::Queued {
                    rank,
                    queue_size,
                    eta,
                } => observe(Stage::Queued {
                    rank,
                    size: queue_size,
                    eta,
                }),
                QueueEvent::Started { eta } => observe(Stage::Running { eta }),
                QueueEvent::Progress(units) => {
                    if let Some(unit) = units.into_iter().last() {
                        observe(Stage::Step(unit));
                    }
                }
                QueueEvent::Log { level, message } => observe(Stage::Log { level, message }),
                QueueEvent::Completed(outcome) => {
                    cancel_on_drop.armed = false;
                    return match outcome {
                        Ok(outputs) => Ok(outputs),
                        Err(QueueFailure::Error(message)) => Err(GradioError::App(message)),
                        Err(QueueFailure::Hidden) => Err(GradioError::AppHidden),
                        Err(QueueFailure::Cancelled) => Err(GradioError::Cancelled),
                    };
                }
                QueueEvent::Closed => return Err(GradioError::StreamEnded),
                QueueEvent::Generating | QueueEvent::Other => {}
            }
        }
    }

    /// POSTs a job and reads its event id, retrying what may pass: a refused
    /// or reset connection (a few times), 502/503/504 (a Space that sleeps,
    /// builds or restarts) and 429 (after its Retry-After), until the call's
    /// own timeout ends it. Once the Space has given an event id, the job is
    /// accepted and is never sent again.
    async fn submit(
        &self,
        url: &Url,
        body: &str,
        token: Option<&HfToken>,
        idle: Duration,
        what: &str,
        observe: Observer<'_>,
    ) -> Result<String, GradioError> {
        let EventId { event_id } = retrying(observe, || async {
            let request = self
                .http
                .post(url.clone())
                .header(CONTENT_TYPE, "application/json")
                .body(body.to_string());
            let response = self.send(request, token, url, idle).await?;
            let response = check_status(response, what).await?;
            read_json::<EventId>(response, what, MAX_ANSWER_BYTES, idle).await
        })
        .await?;
        let valid = !event_id.is_empty()
            && event_id
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
        if !valid {
            return Err(GradioError::Protocol {
                what: "the Space's answer to a job",
                reason: format!("{event_id:?} is not an event id"),
            });
        }
        Ok(event_id)
    }

    /// Fetches a file the Space made. Only URLs on the Space's own origin are
    /// fetched (a Space behind a proxy may name another host, and a hostile one
    /// any host), and never more than `max` bytes.
    pub async fn download(
        &self,
        url: &str,
        max: u64,
        token: Option<&HfToken>,
        idle: Duration,
    ) -> Result<Downloaded, GradioError> {
        let origin = self.space.base().origin();
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
        let mut bytes = Vec::new();
        let mut body = response.bytes_stream();
        loop {
            let chunk = tokio::time::timeout(idle, body.next())
                .await
                .map_err(|_| GradioError::Idle(idle))?;
            match chunk {
                None => break,
                Some(Ok(chunk)) => {
                    if bytes.len() as u64 + chunk.len() as u64 > max {
                        return Err(too_large());
                    }
                    bytes.extend_from_slice(&chunk);
                }
                Some(Err(e)) => return Err(GradioError::transport(url, &e)),
            }
        }
        Ok(Downloaded {
            bytes,
            content_type,
        })
    }

    /// Uploads a file for a file input (`POST <prefix>/upload`, field
    /// `files`) and returns the path the Space gave it.
    pub async fn upload(
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
    pub fn file_url(&self, path: &str) -> Option<String> {
        let api_base = &self.meta.get()?.api_base;
        Some(format!("{api_base}file={path}"))
    }

    async fn send(
        &self,
        request: reqwest::RequestBuilder,
        token: Option<&HfToken>,
        url: &Url,
        idle: Duration,
    ) -> Result<Response, GradioError> {
        let mut request = request;
        if let Some(value) = self.token_header(token) {
            request = request.header(HF_AUTH_HEADER, value);
        }
        // Bounds the wait for the response head; bodies are bounded by `idle` per read.
        let response = tokio::time::timeout(idle, request.send())
            .await
            .map_err(|_| GradioError::Unreachable {
                url: url.to_string(),
                reason: format!("no answer within {}s", idle.as_secs()),
            })?;
        response.map_err(|e| GradioError::transport(url.as_str(), &e))
    }

    async fn get_json<T: serde::de::DeserializeOwned>(
        &self,
        url: Url,
        token: Option<&HfToken>,
        what: &'static str,
    ) -> Result<T, GradioError> {
        let response = self
            .send(self.http.get(url.clone()), token, &url, CONNECT_TIMEOUT * 3)
            .await?;
        let response = check_status(response, what).await?;
        read_json(response, what, MAX_DESCRIPTION_BYTES, CONNECT_TIMEOUT * 3).await
    }

    fn join(&self, base: &Url, path: &str) -> Result<Url, GradioError> {
        base.join(path).map_err(|e| GradioError::Protocol {
            what: "a URL built from the Space's answers",
            reason: e.to_string(),
        })
    }
}

/// The most of an error body worth quoting.
const DETAIL_MAX: usize = 300;

/// The most of an error body read: its start says what went wrong, and the
/// rest (a hostile Space may send gigabytes) is never read.
const ERROR_BODY_MAX: usize = 16 * 1024;

/// How long an error body may take to arrive.
const ERROR_BODY_TIMEOUT: Duration = Duration::from_secs(5);

/// The most of `/config` or `/gradio_api/info` read: large apps describe
/// themselves in a few MiB.
const MAX_DESCRIPTION_BYTES: usize = 32 * 1024 * 1024;

/// The most of a small JSON answer (an event id, upload paths) read.
const MAX_ANSWER_BYTES: usize = 1024 * 1024;

/// Turns a non-success status into an error quoting the start of the body,
/// which is where Gradio (and the Hub's proxy) say what went wrong.
async fn check_status(response: Response, what: &str) -> Result<Response, GradioError> {
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
async fn read_capped(
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

async fn read_json<T: serde::de::DeserializeOwned>(
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

/// Sends Gradio's cancel for a job when the call that made it goes away
/// before the job ended, so the Space stops working (and billing GPU time)
/// for nobody.
struct CancelOnDrop {
    http: reqwest::Client,
    url: Url,
    body: String,
    token: Option<reqwest::header::HeaderValue>,
    armed: bool,
}

impl Drop for CancelOnDrop {
    fn drop(&mut self) {
        if !self.armed {
            return;
        }
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            return;
        };
        let mut request = self
            .http
            .post(self.url.clone())
            .header(CONTENT_TYPE, "application/json")
            .body(std::mem::take(&mut self.body))
            .timeout(CANCEL_TIMEOUT);
        if let Some(value) = self.token.take() {
            request = request.header(HF_AUTH_HEADER, value);
        }
        let url = self.url.clone();
        CANCELS_IN_FLIGHT.fetch_add(1, Ordering::SeqCst);
        runtime.spawn(async move {
            match request.send().await {
                Ok(response) => tracing::info!(%url, status = response.status().as_u16(), "cancelled the job on the Space"),
                Err(e) => tracing::warn!(%url, "could not cancel the job on the Space: {e}"),
            }
            CANCELS_IN_FLIGHT.fetch_sub(1, Ordering::SeqCst);
        });
    }
}

/// Cancel requests sent but not yet answered.
static CANCELS_IN_FLIGHT: AtomicUsize = AtomicUsize::new(0);

/// Waits (at most `limit`) for the cancels still on their way, so that a
/// server shutting down still stops the jobs it leaves behind.
pub async fn settle_cancels(limit: Duration) {
    let deadline = tokio::time::Instant::now() + limit;
    while CANCELS_IN_FLIGHT.load(Ordering::SeqCst) > 0 && tokio::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// How long a cancel request may take.
const CANCEL_TIMEOUT: Duration = Duration::from_secs(10);

/// Connection failures are retried this many times: a Space that refuses
/// connections is usually down, not starting.
const CONNECT_RETRIES: u32 = 3;

/// Runs `attempt` until it succeeds or fails for good, waiting between tries
/// with exponential backoff and jitter (or the server's Retry-After). Only
/// failures that may pass are retried; the caller's timeout bounds the whole.
async fn retrying<T, F, Fut>(observe: Observer<'_>, mut attempt: F) -> Result<T, GradioError>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, GradioError>>,
{
    let mut tries: u32 = 0;
    loop {
        let error = match attempt().await {
            Ok(value) => return Ok(value),
            Err(error) => error,
        };
        tries += 1;
        let backoff = backoff(tries);
        let (wait, stage) = match &error {
            GradioError::Unreachable { reason, .. }
                if tries <= CONNECT_RETRIES && !reason.starts_with("no answer") =>
            {
                (
                    backoff,
                    Stage::Retrying {
                        reason: reason.clone(),
                        wait: backoff,
                        attempt: tries + 1,
                    },
                )
            }
            GradioError::Http {
                status: 502..=504,
                retry_after,
                ..
            } => {
                let wait = retry_after.unwrap_or(backoff).min(MAX_BACKOFF);
                (wait, Stage::Waking { wait })
            }
            GradioError::Http {
                status: 429,
                retry_after,
                ..
            } => {
                let wait = retry_after.unwrap_or(backoff).min(Duration::from_secs(60));
                (
                    wait,
                    Stage::Retrying {
                        reason: "the Space is rate-limiting (HTTP 429)".into(),
                        wait,
                        attempt: tries + 1,
                    },
                )
            }
            _ => return Err(error),
        };
        tracing::info!(
            attempt = tries + 1,
            wait_ms = wait.as_millis() as u64,
            "retrying after: {error}"
        );
        observe(stage);
        tokio::time::sleep(wait).await;
    }
}

/// The longest wait between tries.
const MAX_BACKOFF: Duration = Duration::from_secs(10);

/// 0.5 s, 1 s, 2 s, … up to 10 s, each scaled by a random 75–125 % so that
/// many clients do not retry in step.
fn backoff(tries: u32) -> Duration {
    let base = Duration::from_millis(500)
        .saturating_mul(1 << tries.saturating_sub(1).min(5))
        .min(MAX_BACKOFF);
    let jitter = 0.75 + (uuid::Uuid::new_v4().as_u128() % 500) as f64 / 1000.0;
    base.mul_f64(jitter)
}
