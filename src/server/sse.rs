//! The legacy HTTP+SSE transport (MCP 2024-11-05), which older clients still
//! speak and rmcp no longer serves.
//!
//! `GET /sse` opens a stream whose first event, `endpoint`, names the URL to
//! POST messages to (`/messages?sessionId=…`). Each POST is answered `202
//! Accepted`; the JSON-RPC response travels back on the stream as a `message`
//! event. A session lives exactly as long as its stream: when the client goes
//! away, the session is dropped and its calls are cancelled.

use std::collections::HashMap;
use std::convert::Infallible;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::http::request::Parts;
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use futures_util::{Stream, StreamExt, stream};
use rmcp::RoleServer;
use rmcp::model::{ClientJsonRpcMessage, GetExtensions, ServerJsonRpcMessage};
use rmcp::service::serve_server_with_ct;
use rmcp::transport::Transport;
use serde::Deserialize;
use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;
use tokio_util::sync::CancellationToken;

use super::SpacesServer;
use super::access::refuse;
use super::request::owner_of_headers;
use super::stream_guard::StreamGuard;
use crate::jobs::Owner;

/// How many messages may wait in either direction before senders wait.
const CHANNEL_CAPACITY: usize = 64;

/// The open legacy sessions.
pub(crate) struct LegacySessions {
    server: SpacesServer,
    /// Each session's way in, and whose it is (the credentials that opened it).
    sessions: Mutex<HashMap<String, (mpsc::Sender<ClientJsonRpcMessage>, Owner)>>,
    keep_alive: Duration,
    /// Cancelled at shutdown: ends every session and its stream.
    shutdown: CancellationToken,
}

impl LegacySessions {
    pub(crate) fn new(
        server: SpacesServer,
        keep_alive: Duration,
        shutdown: CancellationToken,
    ) -> LegacySessions {
        LegacySessions {
            server,
            sessions: Mutex::default(),
            keep_alive,
            shutdown,
        }
    }

    pub(crate) fn count(&self) -> usize {
        self.lock().len()
    }

    fn lock(
        &self,
    ) -> std::sync::MutexGuard<'_, HashMap<String, (mpsc::Sender<ClientJsonRpcMessage>, Owner)>>
    {
        crate::locks::lock(&self.sessions)
    }
}

/// The rmcp transport of one session: messages in from POSTs, out to the stream.
struct ChannelTransport {
    incoming: mpsc::Receiver<ClientJsonRpcMessage>,
    outgoing: mpsc::Sender<ServerJsonRpcMessage>,
}

#[derive(Debug, thiserror::Error)]
#[error("the SSE stream of this session has closed")]
struct StreamClosed;

impl Transport<RoleServer> for ChannelTransport {
    type Error = StreamClosed;

    fn send(
        &mut self,
        item: ServerJsonRpcMessage,
    ) -> impl Future<Output = Result<(), StreamClosed>> + Send + 'static {
        let outgoing = self.outgoing.clone();
        async move { outgoing.send(item).await.map_err(|_| StreamClosed) }
    }

    fn receive(&mut self) -> impl Future<Output = Option<ClientJsonRpcMessage>> + Send {
        self.incoming.recv()
    }

    async fn close(&mut self) -> Result<(), StreamClosed> {
        self.incoming.close();
        Ok(())
    }
}

/// Removes the session and cancels its work when its stream is dropped,
/// which is how axum tells us the client went away.
struct SessionGuard {
    id: String,
    sessions: Arc<LegacySessions>,
    cancel: CancellationToken,
}

impl Drop for SessionGuard {
    fn drop(&mut self) {
        self.sessions.lock().remove(&self.id);
        self.cancel.cancel();
        tracing::debug!(session = %self.id, "legacy SSE session closed");
    }
}

/// `GET /sse` (`?content=` chooses the session's content profile: it is
/// passed on to the session's `/messages` URL, where each request reads it).
pub(crate) async fn open(
    State(sessions): State<Arc<LegacySessions>>,
    headers: axum::http::HeaderMap,
    uri: axum::http::Uri,
) -> Sse<impl Stream<Item = Result<Event, Infallible>>> {
    let id = uuid::Uuid::new_v4().simple().to_string();
    let (to_server, incoming) = mpsc::channel(CHANNEL_CAPACITY);
    let (outgoing, to_client) = mpsc::channel(CHANNEL_CAPACITY);
    let cancel = sessions.shutdown.child_token();
    sessions
        .lock()
        .insert(id.clone(), (to_server, owner_of_headers(&headers)));

    let server = sessions.server.clone();
    let session_cancel = cancel.clone();
    tokio::spawn(async move {
        let arrivals = server.arrivals().clone();
        let transport = StreamGuard::new(ChannelTransport { incoming, outgoing }, arrivals);
        match serve_server_with_ct(server, transport, session_cancel).await {
            Ok(running) => {
                let _ = running.waiting().await;
            }
            Err(e) => tracing::debug!("legacy SSE session ended before initialize: {e}"),
        }
    });
    tracing::debug!(session = %id, "legacy SSE session opened");

    let content = uri
        .query()
        .and_then(super::request::content_in_query)
        .map(|asked| {
            let encoded: String = url::form_urlencoded::byte_serialize(asked.as_bytes()).collect();
            format!("&content={encoded}")
        })
        .unwrap_or_default();
    let endpoint = Event::default()
        .event("endpoint")
        .data(format!("/messages?sessionId={id}{content}"));
    let guard = SessionGuard {
        id,
        sessions: sessions.clone(),
        cancel,
    };
    let messages = ReceiverStream::new(to_client).map(move |message: ServerJsonRpcMessage| {
        let _alive = &guard;
        let data = serde_json::to_string(&message).unwrap_or_else(|e| {
            tracing::error!("cannot serialise a message: {e}");
            String::from("{}")
        });
        Ok(Event::default().event("message").data(data))
    });
    let events = stream::once(async move { Ok(endpoint) }).chain(messages);
    Sse::new(events).keep_alive(KeepAlive::new().interval(sessions.keep_alive))
}

#[derive(Deserialize)]
pub(crate) struct SessionQuery {
    #[serde(rename = "sessionId")]
    session_id: Option<String>,
}

/// `POST /messages?sessionId=…`.
pub(crate) async fn post(
    State(sessions): State<Arc<LegacySessions>>,
    Query(query): Query<SessionQuery>,
    parts: Parts,
    body: Bytes,
) -> Response {
    let Some(id) = query.session_id else {
        return refuse(
            StatusCode::BAD_REQUEST,
            "the sessionId query parameter is missing",
        );
    };
    // A session named with other credentials than those that opened it is,
    // to this caller, no session at all.
    let caller = owner_of_headers(&parts.headers);
    let Some(sender) = sessions
        .lock()
        .get(&id)
        .filter(|(_, owner)| *owner == caller)
        .map(|(sender, _)| sender.clone())
    else {
        return refuse(
            StatusCode::NOT_FOUND,
            "unknown session: it has ended or never existed; open a new one with GET /sse",
        );
    };
    let mut message: ClientJsonRpcMessage = match serde_json::from_slice(&body) {
        Ok(message) => message,
        Err(e) => {
            return refuse(
                StatusCode::BAD_REQUEST,
                &format!("the body is not a JSON-RPC message: {e}"),
            );
        }
    };
    // The handler reads per-request headers (a client's HF token) from here,
    // as it does for Streamable HTTP.
    match &mut message {
        ClientJsonRpcMessage::Request(request) => {
            request.request.extensions_mut().insert(parts);
        }
        ClientJsonRpcMessage::Notification(notification) => {
            notification.notification.extensions_mut().insert(parts);
        }
        _ => {}
    }
    if sender.send(message).await.is_err() {
        return refuse(
            StatusCode::GONE,
            "the session has ended; open a new one with GET /sse",
        );
    }
    (StatusCode::ACCEPTED, "Accepted").into_response()
}
