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

use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use futures_util::Stream;
use rmcp::model::{ClientJsonRpcMessage, JsonRpcMessage, RequestId};
use rmcp::transport::streamable_http_server::session::EventStore;
use rmcp::transport::streamable_http_server::session::local::LocalSessionManager;
use rmcp::transport::streamable_http_server::session::{
    RestoreOutcome, ServerSseMessage, SessionId, SessionManager,
};

/// rmcp's in-memory session manager, cancelling requests whose client left.
pub(crate) struct CancelOnDisconnect(pub(crate) Arc<LocalSessionManager>);

type Inner = LocalSessionManager;

impl SessionManager for CancelOnDisconnect {
    type Error = <Inner as SessionManager>::Error;
    type Transport = <Inner as SessionManager>::Transport;

    async fn create_session(&self) -> Result<(SessionId, Self::Transport), Self::Error> {
        self.0.create_session().await
    }

    async fn initialize_session(
        &self,
        id: &SessionId,
        message: ClientJsonRpcMessage,
    ) -> Result<rmcp::model::ServerJsonRpcMessage, Self::Error> {
        self.0.initialize_session(id, message).await
    }

    async fn has_session(&self, id: &SessionId) -> Result<bool, Self::Error> {
        self.0.has_session(id).await
    }

    async fn close_session(&self, id: &SessionId) -> Result<(), Self::Error> {
        self.0.close_session(id).await
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
        let inner = self.0.create_stream(id, message).await?;
        Ok(Watched {
            inner: Box::pin(inner),
            pending: request.map(|request| Pending {
                request,
                session: id.clone(),
                manager: self.0.clone(),
            }),
        })
    }

    async fn accept_message(
        &self,
        id: &SessionId,
        message: ClientJsonRpcMessage,
    ) -> Result<(), Self::Error> {
        self.0.accept_message(id, message).await
    }

    async fn create_standalone_stream(
        &self,
        id: &SessionId,
    ) -> Result<impl Stream<Item = ServerSseMessage> + Send + Sync + 'static, Self::Error> {
        self.0.create_standalone_stream(id).await
    }

    async fn resume(
        &self,
        id: &SessionId,
        last_event_id: String,
    ) -> Result<impl Stream<Item = ServerSseMessage> + Send + Sync + 'static, Self::Error> {
        self.0.resume(id, last_event_id).await
    }

    async fn restore_session(
        &self,
        id: SessionId,
    ) -> Result<RestoreOutcome<Self::Transport>, Self::Error> {
        self.0.restore_session(id).await
    }

    fn event_store(&self) -> Option<Arc<dyn EventStore>> {
        self.0.event_store()
    }
}

/// A request still waiting for its answer on a stream.
struct Pending {
    request: RequestId,
    session: SessionId,
    manager: Arc<LocalSessionManager>,
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
            if answered {
                self.pending = None;
            }
        }
        polled
    }
}

impl<S> Drop for Watched<S> {
    fn drop(&mut self) {
        let Some(Pending {
            request,
            session,
            manager,
        }) = self.pending.take()
        else {
            return;
        };
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
                tracing::info!(%session, "a client left before its answer: cancelling its request");
                if let Err(e) = manager.accept_message(&session, cancel).await {
                    tracing::debug!("the cancel for a departed client was not delivered: {e}");
                }
            });
        }
    }
}
