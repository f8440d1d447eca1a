//! The client of one Space: its HTTP connections, what it said about itself
//! (re-read when it is old or when the Space refuses an event, since Spaces are
//! redeployed under running servers), and one call from slot to outputs.
//! Events, files, retries, slots and body limits live beside it, one file each.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use reqwest::Response;
use reqwest::header::HeaderName;
use serde_json::Value;
use url::Url;

use super::body::{MAX_DESCRIPTION_BYTES, check_status, read_json};
use super::hub;
use super::login::Login;
use super::pool::CancelsInFlight;
use super::retry::{Request, backoff, retrying};
use super::slots::{Held, Shared, SharedSlot, SlotLimits, Slots, Ticket};
use super::{
    ApiInfo, AppConfig, EndpointInfo, GradioError, HfToken, Observer, SpaceRef, Stage, StatePlaces,
};

/// Gradio's Python client sends the token under this name, so that a Space's
/// own code never sees it as `Authorization`; the Hub's proxy reads it.
pub(super) const HF_AUTH_HEADER: HeaderName = HeaderName::from_static("x-hf-authorization");

/// How long to wait for a TCP (and TLS) connection before calling a Space unreachable.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// What a Space said about itself is trusted this long; the next call after
/// reads it again (a redeployed Space may have moved its endpoints).
const META_TTL: Duration = Duration::from_secs(300);

/// What a Space said about itself.
#[derive(Debug)]
pub(super) struct SpaceMeta {
    /// The base of every API route: the app's root plus its prefix, ending in `/`.
    pub(super) api_base: Url,
    info: ApiInfo,
    /// The queue API's `fn_index` of each endpoint; empty when the app's
    /// protocol predates the queue API we follow.
    queue: HashMap<String, u64>,
    /// Endpoints with `gr.State` inputs or outputs, and where they sit.
    states: HashMap<String, StatePlaces>,
    fetched: Instant,
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

/// A held call slot of one Space, with its turn to submit; the slot is free
/// again when it is dropped.
/// What running one endpoint needs beside its inputs: the slot it runs in,
/// the token to send, the longest silence it waits through, and where its
/// stages go.
#[derive(Clone, Copy)]
pub(crate) struct Run<'a> {
    pub(crate) slot: &'a Slot<'a>,
    pub(crate) token: Option<&'a HfToken>,
    pub(crate) idle: Duration,
    pub(crate) observe: Observer<'a>,
}

pub(crate) struct Slot<'a>(
    pub(super) Held<'a>,
    /// The fleet's slot, held only to be freed when this one is.
    #[allow(dead_code)]
    Option<SharedSlot>,
);

pub(crate) struct SpaceClient {
    space: SpaceRef,
    pub(super) http: reqwest::Client,
    /// Held while the description is fetched, so that calls arriving
    /// meanwhile wait for that one fetch, in order.
    meta: tokio::sync::Mutex<Option<Arc<SpaceMeta>>>,
    /// The current `api_base`, readable without waiting.
    api_base: Mutex<Option<Url>>,
    slots: Slots,
    /// The fleet's slots of this Space, when there is a fleet.
    shared: Shared,
    limits: SlotLimits,
    pub(super) cancels: Arc<CancelsInFlight>,
    /// Whether the "no token over plain HTTP" warning was logged.
    warned_cleartext: AtomicBool,
    /// The app's login, when it was launched with `auth=...`.
    login: Option<Login>,
    /// Counts logins, so that requests refused at once log in once.
    logins: tokio::sync::Mutex<u64>,
}

impl SpaceClient {
    pub(super) fn new(
        space: SpaceRef,
        limits: SlotLimits,
        shared: Shared,
        cancels: Arc<CancelsInFlight>,
        login: Option<Login>,
    ) -> Result<SpaceClient, GradioError> {
        // Redirects are followed only within the Space's origin: the token header
        // must never travel to another host, and files come only from the Space.
        let origin = space.base().origin();
        let cookies = Arc::new(super::cookies::SpaceCookies::new(origin.clone()));
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
            .cookie_provider(cookies)
            .tcp_nodelay(true)
            .build()
            .map_err(|e| GradioError::Setup(e.to_string()))?;
        Ok(SpaceClient {
            space,
            http,
            meta: tokio::sync::Mutex::new(None),
            api_base: Mutex::new(None),
            slots: Slots::new(limits),
            shared,
            limits,
            cancels,
            warned_cleartext: AtomicBool::new(false),
            login,
            logins: tokio::sync::Mutex::new(0),
        })
    }

    pub(crate) fn space(&self) -> &SpaceRef {
        &self.space
    }

    /// The token's header, when the token may travel to this Space at all:
    /// never in clear text to another machine.
    pub(super) fn token_header(
        &self,
        token: Option<&HfToken>,
    ) -> Option<reqwest::header::HeaderValue> {
        let token = token?;
        if !self.space.may_carry_token() {
            if !self.warned_cleartext.swap(true, Ordering::Relaxed) {
                tracing::warn!(space = %self.space, "not sending HF_TOKEN over plain HTTP; use an https:// address for this Space");
            }
            return None;
        }
        token.header_value()
    }

    /// The endpoint's description, reading the Space's config and API info
    /// when they are not known (or old). A failed read is not kept: the next
    /// call tries again.
    pub(crate) async fn endpoint(
        &self,
        api: &str,
        token: Option<&HfToken>,
        observe: Observer<'_>,
    ) -> Result<EndpointInfo, GradioError> {
        self.meta(token, observe).await?.endpoint(api).cloned()
    }

    /// Everything the Space's API info says, read as for a call.
    pub(crate) async fn api_info(
        &self,
        token: Option<&HfToken>,
        observe: Observer<'_>,
    ) -> Result<ApiInfo, GradioError> {
        Ok(self.meta(token, observe).await?.info.clone())
    }

    pub(super) fn api_base(&self) -> Option<Url> {
        crate::locks::lock(&self.api_base).clone()
    }

    pub(super) async fn meta(
        &self,
        token: Option<&HfToken>,
        observe: Observer<'_>,
    ) -> Result<Arc<SpaceMeta>, GradioError> {
        let mut current = self.meta.lock().await;
        if let Some(meta) = current.as_ref()
            && meta.fetched.elapsed() < META_TTL
        {
            return Ok(meta.clone());
        }
        let meta = Arc::new(self.fetch_meta_waking(token, observe).await?);
        *crate::locks::lock(&self.api_base) = Some(meta.api_base.clone());
        *current = Some(meta.clone());
        Ok(meta)
    }

    /// Drops `stale`, so that the next call reads the Space again.
    async fn forget(&self, stale: &Arc<SpaceMeta>) {
        let mut current = self.meta.lock().await;
        if current.as_ref().is_some_and(|m| Arc::ptr_eq(m, stale)) {
            *current = None;
        }
    }

    /// Reads the Space's description; when it does not answer as a Gradio
    /// app, asks the Hub why, and waits while it sleeps, builds or starts.
    async fn fetch_meta_waking(
        &self,
        token: Option<&HfToken>,
        observe: Observer<'_>,
    ) -> Result<SpaceMeta, GradioError> {
        let mut waits = 0;
        loop {
            let error = match retrying(observe, Request::Read, || self.fetch_meta(token)).await {
                Ok(meta) => return Ok(meta),
                Err(error) => error,
            };
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
            fetched: Instant::now(),
        })
    }

    /// Waits for one of this Space's call slots, in arrival order, so one
    /// busy Space holds only its own calls back. A call takes its slot
    /// before anything else (reading the Space, uploading its files), so
    /// calls start in the order they came.
    ///
    /// In a fleet the call then takes one of the fleet's slots too, so the
    /// Space never sees more than `space_concurrency` calls from all
    /// replicas together.
    pub(crate) async fn slot(
        &self,
        observe: Observer<'_>,
        ticket: Ticket<'_>,
    ) -> Result<Slot<'_>, GradioError> {
        let Some(shared) = &self.shared else {
            return Ok(Slot(self.slots.acquire(observe, ticket).await, None));
        };
        // The fleet's slot first: a call holding one of this process's slots
        // while it waits for the fleet's would hold back the calls behind it
        // here (they submit in turn) while they hold fleet slots idle.
        let place = |position| observe(Stage::WaitingForSlot { position });
        let space = self.space.base().as_str();
        let fleet = shared
            .acquire(space, self.limits, ticket.caller, &place)
            .await
            .map_err(|e| GradioError::SharedSlots {
                space: self.space.to_string(),
                reason: e.to_string(),
            })?;
        Ok(Slot(self.slots.acquire(observe, ticket).await, Some(fleet)))
    }

    /// Runs `api` with `data` (every input, in order) within `slot` and
    /// returns its outputs. When the Space refuses the event as if its API had
    /// changed (a redeploy), it is read again and the event sent once more.
    pub(crate) async fn run_endpoint(
        &self,
        run: Run<'_>,
        api: &str,
        data: Vec<Value>,
    ) -> Result<Vec<Value>, GradioError> {
        let meta = self.meta(run.token, run.observe).await?;
        match self.run_described(run, &meta, api, data.clone()).await {
            Err(GradioError::EventRefused { .. } | GradioError::UnknownEndpoint { .. }) => {
                tracing::info!(space = %self.space, api, "the Space refused the event as if its API changed; reading it again");
                self.forget(&meta).await;
                let meta = self.meta(run.token, run.observe).await?;
                self.run_described(run, &meta, api, data).await
            }
            other => other,
        }
    }

    async fn run_described(
        &self,
        run: Run<'_>,
        meta: &SpaceMeta,
        api: &str,
        data: Vec<Value>,
    ) -> Result<Vec<Value>, GradioError> {
        meta.endpoint(api)?;
        let states = meta.states.get(api);
        let outputs = match meta.queue.get(api) {
            Some(&fn_index) => {
                // The queue API wants every input, a state's included (as null).
                let data = match states {
                    Some(states) => states.fill_inputs(data),
                    None => data,
                };
                self.run_queued(run, meta, fn_index, data).await?
            }
            None => self.run_call_api(run, meta, api, data).await?,
        };
        Ok(match states {
            Some(states) => states.strip_outputs(outputs),
            None => outputs,
        })
    }

    pub(super) async fn send(
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
        // An app behind a login may refuse with 401 (not logged in yet, or
        // its sessions ended with a restart): log in, and send it again.
        let again = self.login.as_ref().and_then(|_| request.try_clone());
        let seen = match self.login {
            Some(_) => *self.logins.lock().await,
            None => 0,
        };
        let response = self.send_once(request, url, idle).await?;
        match again {
            Some(again) if response.status() == reqwest::StatusCode::UNAUTHORIZED => {
                self.log_in(seen).await?;
                self.send_once(again, url, idle).await
            }
            _ => Ok(response),
        }
    }

    async fn send_once(
        &self,
        request: reqwest::RequestBuilder,
        url: &Url,
        idle: Duration,
    ) -> Result<Response, GradioError> {
        // Bounds the wait for the response head; bodies are bounded by `idle` per read.
        let response = tokio::time::timeout(idle, request.send())
            .await
            .map_err(|_| GradioError::Unreachable {
                url: url.to_string(),
                reason: format!("no answer within {}s", idle.as_secs()),
                kind: super::Unreachable::NoAnswer,
            })?;
        response.map_err(|e| GradioError::transport(url.as_str(), &e))
    }

    /// Logs in, unless another request did since `seen`.
    async fn log_in(&self, seen: u64) -> Result<(), GradioError> {
        let Some(login) = &self.login else {
            return Ok(());
        };
        let mut logins = self.logins.lock().await;
        if *logins != seen {
            return Ok(());
        }
        let url = self.join(self.space.base(), "login")?;
        login.log_in(&self.http, &url, CONNECT_TIMEOUT * 3).await?;
        *logins += 1;
        Ok(())
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

    pub(super) fn join(&self, base: &Url, path: &str) -> Result<Url, GradioError> {
        base.join(path).map_err(|e| GradioError::Protocol {
            what: "a URL built from the Space's answers",
            reason: e.to_string(),
        })
    }
}
