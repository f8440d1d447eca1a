//! Streamable HTTP sessions end when their client goes quiet.
//!
//! rmcp's own idle timer restarts on every message of the session, the
//! server's included: a session abandoned by its client lived on for as
//! long as the server had something to tell it (progress, list changes),
//! and with busy neighbours that could be forever, until the session cap
//! was full of the dead. Here only the client counts: a request naming the
//! session (any method: POST, GET, DELETE), or a request of the session
//! still running (its client is waiting on the answer's stream). A session
//! with neither for `session_idle_timeout` is closed, which cancels
//! anything it still had running (see `disconnect`).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::Response;
use rmcp::transport::streamable_http_server::session::SessionManager;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use super::disconnect::CancelOnDisconnect;

/// When each session's client was last heard from.
#[derive(Default)]
pub(crate) struct SessionClock(Mutex<HashMap<String, Instant>>);

impl SessionClock {
    fn heard(&self, session: &str) {
        crate::locks::lock(&self.0).insert(session.to_string(), Instant::now());
    }
}

/// The session a request or its answer names.
fn session_of(headers: &axum::http::HeaderMap) -> Option<&str> {
    headers.get("mcp-session-id")?.to_str().ok()
}

/// Notes the client of every request that names a session, and of every
/// session a request opened.
pub(crate) async fn hear_clients(
    State(clock): State<Arc<SessionClock>>,
    request: Request,
    next: Next,
) -> Response {
    if let Some(session) = session_of(request.headers()) {
        clock.heard(session);
    }
    let response = next.run(request).await;
    if let Some(session) = session_of(response.headers()) {
        clock.heard(session);
    }
    response
}

/// How often sessions are looked over: often enough that one ends within a
/// few percent of its timeout, at most once a quarter second.
fn sweep_every(idle: Duration) -> Duration {
    (idle / 20).clamp(Duration::from_millis(250), Duration::from_secs(5))
}

/// Closes every session whose client has been quiet for `idle`, until
/// `shutdown`.
pub(crate) fn expire_quiet(
    manager: Arc<CancelOnDisconnect>,
    clock: Arc<SessionClock>,
    idle: Duration,
    shutdown: CancellationToken,
) {
    tokio::spawn(async move {
        let mut sweep = tokio::time::interval(sweep_every(idle));
        sweep.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = shutdown.cancelled() => return,
                _ = sweep.tick() => {}
            }
            for session in quiet(&manager, &clock, idle).await {
                tracing::info!(session = %session, idle_s = idle.as_secs(), "closing a session whose client has been quiet past session_idle_timeout");
                if let Err(e) = manager.close_session(&session).await {
                    tracing::debug!(session = %session, "the quiet session was already gone: {e}");
                }
            }
        }
    });
}

/// The sessions quiet for `idle` now; forgets those that are gone.
async fn quiet(
    manager: &CancelOnDisconnect,
    clock: &SessionClock,
    idle: Duration,
) -> Vec<rmcp::transport::streamable_http_server::session::SessionId> {
    let sessions: Vec<_> = manager
        .sessions()
        .sessions
        .read()
        .await
        .keys()
        .cloned()
        .collect();
    let open: std::collections::HashSet<&str> = sessions.iter().map(|s| s.as_ref()).collect();
    let busy = manager.busy();
    let now = Instant::now();
    let mut heard = crate::locks::lock(&clock.0);
    heard.retain(|id, _| open.contains(id.as_str()));
    sessions
        .into_iter()
        .filter(|session| {
            let last = heard.entry(session.to_string()).or_insert(now);
            if busy.contains(session) {
                *last = now;
            }
            now.duration_since(*last) > idle
        })
        .collect()
}
