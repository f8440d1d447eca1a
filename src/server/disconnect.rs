//! A Streamable HTTP client that leaves cancels its request, in sessions too.
//!
//! In a session, rmcp answers a POST with a stream that carries the request's
//! response, and a client that closes its connection only drops that stream:
//! the handler runs on, and a Space job with it. Stateless requests and the
//! 2026-07-28 lifecycle are cancelled when their connection goes (their
//! handler is dropped); this session manager gives sessions the same: it
//! wraps rmcp's own and, when a request's stream is dropped before the
//! request's answer went out on it, tells the session
//! `notifications/cancelled` for that request, exactly as a client would.
//!
//! A session that ends (HTTP DELETE, or idle expiry) stops its running calls
//! at once too: rmcp would let them run on for its drain of a few seconds,
//! long enough for a short job to reach its end on the Space for nobody.
//! So each call registers its cancellation under its session and request
//! ([`SessionCalls`]); a departed client's request and an ended session's
//! calls are cancelled through it directly, with no message that could
//! arrive after the session is gone.
//!
//! It also answers at once, with -32600, a request that reuses the id of one
//! still running in its session: two answers under one id would leave the
//! client waiting for one of them forever.

use std::collections::{HashMap, HashSet};
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};

use futures_util::Stream;
use futures_util::future::Either;
use rmcp::model::{
    ClientJsonRpcMessage, ErrorData, JsonRpcMessage, RequestId, ServerJsonRpcMessage,
};
use rmcp::transport::streamable_http_server::session::EventStore;
use rmcp::transport::streamable_http_server::session::local::LocalSessionManager;
use rmcp::transport::streamable_http_server::session::{
    RestoreOutcome, ServerSseMessage, SessionId, SessionManager,
};
use rmcp::{RoleServer, service::RequestContext};
use tokio_util::sync::CancellationToken;

/// The calls running in each Streamable HTTP session, by request id: what
/// to cancel when the session ends or a request's client leaves.
#[derive(Default)]
pub(crate) struct SessionCalls(Mutex<HashMap<String, HashMap<RequestId, CancellationToken>>>);

/// A call registered under its session until it ends.
pub(crate) struct InSession {
    calls: Arc<SessionCalls>,
    session: String,
    request: RequestId,
}

impl Drop for InSession {
    fn drop(&mut self) {
        let mut sessions = crate::locks::lock(&self.calls.0);
        if let Some(calls) = sessions.get_mut(&self.session) {
            calls.remove(&self.request);
            if calls.is_empty() {
                sessions.remove(&self.session);
            }
        }
    }
}

impl SessionCalls {
    /// Registers a request's call under its session (when it has one: a
    /// Streamable HTTP request naming `Mcp-Session-Id`).
    pub(crate) fn enter(
        self: &Arc<Self>,
        context: &RequestContext<RoleServer>,
    ) -> Option<InSession> {
        let parts = context.extensions.get::<axum::http::request::Parts>()?;
        let session = parts
            .headers
            .get("mcp-session-id")?
            .to_str()
            .ok()?
            .to_string();
        crate::locks::lock(&self.0)
            .entry(session.clone())
            .or_default()
            .insert(context.id.clone(), context.ct.clone());
        Some(InSession {
            calls: self.clone(),
            session,
            request: context.id.clone(),
        })
    }

    /// Cancels one request's call; whether it was running.
    fn cancel(&self, session: &str, request: &RequestId) -> bool {
        let token = crate::locks::lock(&self.0)
            .get(session)
            .and_then(|calls| calls.get(request).cloned());
        token.map(|t| t.cancel()).is_some()
    }

    /// Cancels every call of an ending session; how many there were.
    fn cancel_session(&self, session: &str) -> usize {
        let calls = crate::locks::lock(&self.0)
            .remove(session)
            .unwrap_or_default();
        for token in calls.values() {
            token.cancel();
        }
        calls.len()
    }
}

/// rmcp's in-memory session manager, cancelling requests whose client left.
pub(crate) struct CancelOnDisconnect {
    inner: Arc<LocalSessionManager>,
    /// Requests of each session not yet answered.
    running: Running,
    /// The calls of each session, to cancel.
    calls: Arc<SessionCalls>,
}

type Running = Arc<Mutex<HashSet<(SessionId, RequestId)>>>;

impl CancelOnDisconnect {
    pub(crate) fn new(
        inner: Arc<LocalSessionManager>,
        calls: Arc<SessionCalls>,
    ) -> CancelOnDisconnect {
        CancelOnDisconnect {
            inner,
            running: Arc::default(),
            calls,
        }
    }

    /// rmcp's manager underneath (its sessions, for the idle check).
    pub(crate) fn sessions(&self) -> &LocalSessionManager {
        &self.inner
    }

    /// The sessions with a request waiting for its answer.
    pub(crate) fn busy(&self) -> HashSet<SessionId> {
        crate::locks::lock(&self.running)
            .iter()
            .map(|(id, _)| id.clone())
            .collect()
    }
}

type Inner = LocalSessionManager;

impl SessionManager for CancelOnDisconnect {
    type Error = <Inner as SessionManager>::Error;
    type Transport = <Inner as SessionManager>::Transport;

    async fn create_session(&self) -> Result<(SessionId, Self::Transport), Self::Error> {
        self.inner.create_session().await
    }

    async fn initialize_session(
        &self,
        id: &SessionId,
        message: ClientJsonRpcMessage,
    ) -> Result<ServerJsonRpcMessage, Self::Error> {
        self.inner.initialize_session(id, message).await
    }

    async fn has_session(&self, id: &SessionId) -> Result<bool, Self::Error> {
        self.inner.has_session(id).await
    }

    async fn close_session(&self, id: &SessionId) -> Result<(), Self::Error> {
        let cancelled = self.calls.cancel_session(id);
        if cancelled > 0 {
            tracing::info!(session = %id, calls = cancelled, "the session ended: its running calls are cancelled");
        }
        self.inner.close_session(id).await
    }

    async fn create_stream(
        &self,
        id: &SessionId,
        message: ClientJsonRpcMessage,
    ) -> Result<impl Stream<Item = ServerSseMessage> + Send + Sync + 'static, Self::Error> {
        let request = match &message {
            JsonRpcMessage::Request(request) => Some(request.id.clone()),
            _ => None,
        };
        if let Some(request) = &request
            && !crate::locks::lock(&self.running).insert((id.clone(), request.clone()))
        {
            tracing::debug!(session = %id, "a request reused the id of one still running");
            let refusal = ErrorData::invalid_request(
                format!(
                    "Invalid Request: a request with id {request} is still running in this session; give each request its own id"
                ),
                None,
            );
            let answer = ServerSseMessage::from_message(ServerJsonRpcMessage::error(
                refusal,
                Some(request.clone()),
            ));
            return Ok(Either::Right(futures_util::stream::iter([answer])));
        }
        let inner = match self.inner.create_stream(id, message).await {
            Ok(inner) => inner,
            Err(e) => {
                if let Some(request) = request {
                    crate::locks::lock(&self.running).remove(&(id.clone(), request));
                }
                return Err(e);
            }
        };
        Ok(Either::Left(Watched {
            inner: Box::pin(inner),
            pending: request.map(|request| Pending {
                request,
                session: id.clone(),
                manager: self.inner.clone(),
                running: self.running.clone(),
                calls: self.calls.clone(),
            }),
        }))
    }

    async fn accept_message(
        &self,
        id: &SessionId,
        message: ClientJsonRpcMessage,
    ) -> Result<(), Self::Error> {
        self.inner.accept_message(id, message).await
    }

    async fn create_standalone_stream(
        &self,
        id: &SessionId,
    ) -> Result<impl Stream<Item = ServerSseMessage> + Send + Sync + 'static, Self::Error> {
        self.inner.create_standalone_stream(id).await
    }

    async fn resume(
        &self,
        id: &SessionId,
        last_event_id: String,
    ) -> Result<impl Stream<Item = ServerSseMessage> + Send + Sync + 'static, Self::Error> {
        self.inner.resume(id, last_event_id).await
    }

    async fn restore_session(
        &self,
        id: SessionId,
    ) -> Result<RestoreOutcome<Self::Transport>, Self::Error> {
        self.inner.restore_session(id).await
    }

    fn event_store(&self) -> Option<Arc<dyn EventStore>> {
        self.inner.event_store()
    }
}

/// A request still waiting for its answer on a stream.
struct Pending {
    request: RequestId,
    session: SessionId,
    manager: Arc<LocalSessionManager>,
    running: Running,
    calls: Arc<SessionCalls>,
}

impl Pending {
    /// The request is answered (or given up on): its id is free again.
    fn done(&self) {
        crate::locks::lock(&self.running).remove(&(self.session.clone(), self.request.clone()));
    }
}

/// A request's response stream, which notices being dropped unanswered.
struct Watched<S> {
    inner: Pin<Box<S>>,
    /// `None` once the answer went out (or for a stream of no request).
    pending: Option<Pending>,
}

impl<S: Stream<Item = ServerSseMessage>> Stream for Watched<S> {
    type Item = ServerSseMessage;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<ServerSseMessage>> {
        let polled = self.inner.as_mut().poll_next(cx);
        if let Poll::Ready(item) = &polled {
            let waiting_for = self.pending.as_ref().map(|p| &p.request);
            let answered = match item {
                // The stream ended: nothing more will come on it either way.
                None => true,
                Some(event) => match event.message.as_deref() {
                    Some(JsonRpcMessage::Response(response)) => waiting_for == Some(&response.id),
                    Some(JsonRpcMessage::Error(error)) => {
                        error.id.is_some() && waiting_for == error.id.as_ref()
                    }
                    // Progress, a request to the client, or a priming event.
                    _ => false,
                },
            };
            if answered && let Some(pending) = self.pending.take() {
                pending.done();
            }
        }
        polled
    }
}

impl<S> Drop for Watched<S> {
    fn drop(&mut self) {
        let Some(pending) = self.pending.take() else {
            return;
        };
        pending.done();
        tracing::info!(session = %pending.session, "a client left before its answer: cancelling its request");
        if pending.calls.cancel(&pending.session, &pending.request) {
            return;
        }
        // Not a call (or not started yet): the session is told, as a
        // client would tell it.
        let Pending {
            request,
            session,
            manager,
            ..
        } = pending;
        let cancel = serde_json::json!({
            "jsonrpc": "2.0",
            "method": "notifications/cancelled",
            "params": { "requestId": request, "reason": "the client closed the connection" },
        });
        let Ok(cancel) = serde_json::from_value::<ClientJsonRpcMessage>(cancel) else {
            return;
        };
        // Drop runs outside async code: the notice goes from a task. With no
        // runtime left (the process is ending) there is nothing to cancel.
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            runtime.spawn(async move {
                if let Err(e) = manager.accept_message(&session, cancel).await {
                    tracing::debug!("the cancel for a departed client was not delivered: {e}");
                }
            });
        }
    }
}
