//! One client per Space: its connection pool, what it said about itself, and
//! the calls and downloads made to it.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures_util::StreamExt;
use reqwest::Response;
use reqwest::header::{CONTENT_TYPE, HeaderName};
use serde::Deserialize;
use serde_json::{Value, json};
use tokio::sync::OnceCell;
use url::Url;

use super::{ApiInfo, AppConfig, EndpointInfo, GradioError, HfToken, SpaceRef, follow};

/// Gradio's Python client sends the token under this name, so that a Space's
/// own code never sees it as `Authorization`; the Hub's proxy reads it.
const HF_AUTH_HEADER: HeaderName = HeaderName::from_static("x-hf-authorization");

/// How long to wait for a TCP (and TLS) connection before calling a Space unreachable.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// The clients of every Space in use, made on first use.
#[derive(Default)]
pub struct SpacePool {
    clients: Mutex<HashMap<Url, Arc<SpaceClient>>>,
}

impl SpacePool {
    pub fn new() -> SpacePool {
        SpacePool::default()
    }

    /// The one client for `space`, made now if this is the first call to it.
    pub fn client(&self, space: &SpaceRef) -> Result<Arc<SpaceClient>, GradioError> {
        let mut clients = self
            .clients
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if let Some(client) = clients.get(space.base()) {
            return Ok(client.clone());
        }
        let client = Arc::new(SpaceClient::new(space.clone())?);
        clients.insert(space.base().clone(), client.clone());
        Ok(client)
    }
}

/// What a Space said about itself, fetched once.
#[derive(Debug)]
struct SpaceMeta {
    /// The base of every API route: the app's root plus its prefix, ending in `/`.
    api_base: Url,
    info: ApiInfo,
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
}

#[derive(Deserialize)]
struct EventId {
    event_id: String,
}

impl SpaceClient {
    fn new(space: SpaceRef) -> Result<SpaceClient, GradioError> {
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
        })
    }

    pub fn space(&self) -> &SpaceRef {
        &self.space
    }

    /// The endpoint's description, fetching the Space's config and API info on
    /// first use. A failed fetch is not cached: the next call tries again.
    pub async fn endpoint(
        &self,
        api: &str,
        token: Option<&HfToken>,
    ) -> Result<&EndpointInfo, GradioError> {
        self.meta(token).await?.endpoint(api)
    }

    async fn meta(&self, token: Option<&HfToken>) -> Result<&SpaceMeta, GradioError> {
        self.meta.get_or_try_init(|| self.fetch_meta(token)).await
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
        let info_url = self.join(&api_base, "info")?;
        let info: ApiInfo = self.get_json(info_url, token, "the app's API info").await?;
        tracing::debug!(space = %self.space, version = ?config.version, endpoints = info.named_endpoints.len(), "learned the Space's API");
        Ok(SpaceMeta { api_base, info })
    }

    /// Runs `api` with `data` (every input, in order) through the call API and
    /// returns its outputs.
    pub async fn call(
        &self,
        api: &str,
        data: Vec<Value>,
        token: Option<&HfToken>,
        idle: Duration,
    ) -> Result<Vec<Value>, GradioError> {
        let meta = self.meta(token).await?;
        meta.endpoint(api)?;
        let api_base = &meta.api_base;
        let name = api.trim_start_matches('/');
        let submit_url = self.join(api_base, &format!("call/{name}"))?;
        let what = format!("the call to {api}");
        let response = self
            .send(
                self.http
                    .post(submit_url.clone())
                    .header(CONTENT_TYPE, "application/json")
                    .body(json!({ "data": data }).to_string()),
                token,
                &submit_url,
                idle,
            )
            .await?;
        let response = check_status(response, &what).await?;
        let EventId { event_id } = read_json(response, &what).await?;
        if event_id.is_empty()
            || !event_id
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        {
            return Err(GradioError::Protocol {
                what: "the call's answer",
                reason: format!("{event_id:?} is not an event id"),
            });
        }
        tracing::debug!(space = %self.space, api, event_id, "job submitted");
        let stream_url = self.join(api_base, &format!("call/{name}/{event_id}"))?;
        let response = self
            .send(self.http.get(stream_url.clone()), token, &stream_url, idle)
            .await?;
        let response = check_status(response, &format!("the result stream of {api}")).await?;
        follow(response.bytes_stream(), idle).await
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
        let mut bytes = Vec::with_capacity(response.content_length().unwrap_or(0) as usize);
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
        if let Some(value) = token.and_then(HfToken::header_value) {
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
        read_json(response, what).await
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

/// Turns a non-success status into an error quoting the start of the body,
/// which is where Gradio (and the Hub's proxy) say what went wrong.
async fn check_status(response: Response, what: &str) -> Result<Response, GradioError> {
    let status = response.status();
    if status.is_success() {
        return Ok(response);
    }
    let body = response.text().await.unwrap_or_default();
    let text: String = body.split_whitespace().collect::<Vec<_>>().join(" ");
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
    })
}

async fn read_json<T: serde::de::DeserializeOwned>(
    response: Response,
    what: &str,
) -> Result<T, GradioError> {
    let bytes = response
        .bytes()
        .await
        .map_err(|e| GradioError::StreamBroken(e.to_string()))?;
    serde_json::from_slice(&bytes).map_err(|e| GradioError::Protocol {
        what: "an answer",
        reason: format!("{what}: {e}"),
    })
}
