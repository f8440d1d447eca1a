//! How many sessions may be open over HTTP, in all and per caller, and whose
//! each Streamable HTTP session is.
//!
//! Only a request that really opens a session counts: an `initialize` POST
//! to `/mcp` without a session id, or a `GET /sse`. Requests that need no
//! session (2026-07-28 requests, `server/discover`, stateless POSTs) are
//! never refused for a full cap, so nobody holding sessions can lock them
//! out. Each caller (the owner of its credentials, as for jobs) may hold at
//! most `max_per_owner` of them, so one caller cannot fill the cap either.
//! A Streamable HTTP session belongs to the credentials that opened it: a
//! request naming it with other credentials is answered as for an unknown
//! session.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{Method, StatusCode};
use axum::middleware::Next;
use axum::response::Response;
use futures_util::StreamExt;
use rmcp::transport::streamable_http_server::session::local::LocalSessionManager;

use super::access::refuse;
use super::request::owner_of_headers;
use super::sse::LegacySessions;
use crate::jobs::Owner;

/// The JSON-RPC method of a POST's body, put in its extensions by the
/// JSON-RPC check that reads the body.
#[derive(Debug, Clone)]
pub(super) struct RpcMethod(pub(super) Option<String>);

/// What the session cap counts.
pub(super) struct SessionCap {
    streamable: Option<Arc<LocalSessionManager>>,
    legacy: Arc<LegacySessions>,
    max: usize,
    max_per_owner: usize,
    counts: Mutex<Counts>,
    /// Held while a request checks the counts and reserves its place, so two
    /// requests never both take the last one.
    gate: tokio::sync::Mutex<()>,
}

#[derive(Default)]
struct Counts {
    /// Requests that may open a session and have not yet answered: their
    /// sessions do not show in the managers' counts until they exist.
    reserved: HashMap<Owner, usize>,
    /// Open legacy SSE streams, by owner.
    legacy: HashMap<Owner, usize>,
    /// Streamable HTTP sessions, by id: whose each one is.
    streamable: HashMap<String, Owner>,
}

impl Counts {
    fn add(map: &mut HashMap<Owner, usize>, owner: &Owner, by: isize) {
        let n = map.entry(owner.clone()).or_default();
        *n = n.saturating_add_signed(by);
        if *n == 0 {
            map.remove(owner);
        }
    }

    fn of(&self, owner: &Owner) -> usize {
        self.reserved.get(owner).copied().unwrap_or(0)
            + self.legacy.get(owner).copied().unwrap_or(0)
            + self.streamable.values().filter(|o| *o == owner).count()
    }
}

impl SessionCap {
    pub(super) fn new(
        streamable: Option<Arc<LocalSessionManager>>,
        legacy: Arc<LegacySessions>,
        max: usize,
        max_per_owner: usize,
    ) -> SessionCap {
        SessionCap {
            streamable,
            legacy,
            max,
            max_per_owner,
            counts: Mutex::default(),
            gate: tokio::sync::Mutex::new(()),
        }
    }

    fn counts(&self) -> MutexGuard<'_, Counts> {
        crate::locks::lock(&self.counts)
    }

    /// Sessions open now, both transports (for `/health`).
    pub(super) async fn open(&self) -> usize {
        self.taken().await
    }

    /// Sessions open or reserved now (ended Streamable HTTP sessions are
    /// forgotten). A session a request opened is counted once: reserved
    /// until the request answers, then known, in one step; the managers'
    /// own counts cover sessions that came another way (restored in a fleet).
    async fn taken(&self) -> usize {
        let (managed, streamable_ids) = match &self.streamable {
            Some(manager) => {
                let sessions = manager.sessions.read().await;
                let ids: std::collections::HashSet<String> =
                    sessions.keys().map(|id| id.to_string()).collect();
                (sessions.len(), Some(ids))
            }
            None => (0, None),
        };
        let managed = managed + self.legacy.count();
        let mut counts = self.counts();
        if let Some(ids) = streamable_ids {
            counts.streamable.retain(|id, _| ids.contains(id));
        }
        let ours = counts.streamable.len()
            + counts.legacy.values().sum::<usize>()
            + counts.reserved.values().sum::<usize>();
        ours.max(managed)
    }
}

/// A place held for a request that may open a session, until it answers
/// (then [`Reservation::into_session`] turns it into the session it opened, in
/// one step) or gives up (dropped: the place is free again).
struct Reservation {
    cap: Arc<SessionCap>,
    owner: Owner,
    opened: bool,
}

impl Reservation {
    fn into_session(mut self, opened: impl FnOnce(&mut Counts, &Owner)) {
        let mut counts = self.cap.counts();
        Counts::add(&mut counts.reserved, &self.owner, -1);
        opened(&mut counts, &self.owner);
        self.opened = true;
    }
}

impl Drop for Reservation {
    fn drop(&mut self) {
        if !self.opened {
            Counts::add(&mut self.cap.counts().reserved, &self.owner, -1);
        }
    }
}

/// A legacy SSE stream counted for its owner while it is open.
struct LegacyStream {
    cap: Arc<SessionCap>,
    owner: Owner,
}

impl Drop for LegacyStream {
    fn drop(&mut self) {
        Counts::add(&mut self.cap.counts().legacy, &self.owner, -1);
    }
}

impl SessionCap {
    /// A place for one more session of `owner`, or the refusal that names
    /// the limit it would pass (503 for the server's, 429 for the caller's).
    async fn reserve(self: &Arc<Self>, owner: &Owner) -> Result<Reservation, Response> {
        let _gate = self.gate.lock().await;
        let taken = self.taken().await;
        let counts = self.counts();
        if taken >= self.max {
            return Err(refuse(
                StatusCode::SERVICE_UNAVAILABLE,
                &format!(
                    "too many open sessions (the limit is {}, --max-sessions); try again later",
                    self.max
                ),
            ));
        }
        if counts.of(owner) >= self.max_per_owner {
            return Err(refuse(
                StatusCode::TOO_MANY_REQUESTS,
                &format!(
                    "too many open sessions for these credentials (the limit is {} per caller, --max-sessions-per-client); close one (HTTP DELETE on /mcp) or wait for it to idle out",
                    self.max_per_owner
                ),
            ));
        }
        drop(counts);
        Counts::add(&mut self.counts().reserved, owner, 1);
        Ok(Reservation {
            cap: self.clone(),
            owner: owner.clone(),
            opened: false,
        })
    }
}

/// Refuses a request that would open a session past either cap, and one
/// that names another caller's session. The check and the reservation
/// happen under one lock: a burst cannot overshoot a cap.
pub(super) async fn cap_sessions(
    State(cap): State<Arc<SessionCap>>,
    request: Request,
    next: Next,
) -> Response {
    let path = request.uri().path();
    let owner = owner_of_headers(request.headers());
    let session = request
        .headers()
        .get("mcp-session-id")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    if path == "/mcp"
        && let Some(id) = &session
        && cap.counts().streamable.get(id).is_some_and(|o| *o != owner)
    {
        return refuse(StatusCode::NOT_FOUND, "unknown session");
    }
    let legacy = request.method() == Method::GET && path == "/sse";
    let initialize = cap.streamable.is_some()
        && request.method() == Method::POST
        && path == "/mcp"
        && session.is_none()
        && request
            .extensions()
            .get::<RpcMethod>()
            .is_some_and(|m| m.0.as_deref() == Some("initialize"));
    if !legacy && !initialize {
        return next.run(request).await;
    }
    let reservation = match cap.reserve(&owner).await {
        Ok(reservation) => reservation,
        Err(refused) => return refused,
    };
    let response = next.run(request).await;
    let opened = response
        .headers()
        .get("mcp-session-id")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    if !legacy {
        if let Some(id) = opened.filter(|_| response.status().is_success()) {
            reservation.into_session(|counts, owner| {
                counts.streamable.insert(id, owner.clone());
            });
        }
        return response;
    }
    reservation.into_session(|counts, owner| Counts::add(&mut counts.legacy, owner, 1));
    // The stream is counted for its owner until it ends.
    let open = LegacyStream { cap, owner };
    let (parts, body) = response.into_parts();
    let body = body.into_data_stream().map(move |chunk| {
        let _counted = &open;
        chunk
    });
    Response::from_parts(parts, Body::from_stream(body))
}
