//! What our stream transports (stdio, legacy SSE) add around the messages,
//! in the one place they still pass one by one:
//! - each request is stamped with its arrival ([`Arrival`]), so that calls to
//!   a Space start in the order they came, whatever order tokio then runs
//!   their handlers in;
//! - answers to cancelled requests are kept off the wire: rmcp answers every
//!   request its handler returns from, but MCP says a request the client
//!   cancelled (`notifications/cancelled`) gets no answer at all;
//! - a request whose id is the id of one still running is answered at once
//!   with an error (-32600), never handed on: two answers under one id
//!   would leave the client waiting for one of them forever.

use std::collections::{HashSet, VecDeque};
use std::sync::{Arc, Mutex};

use futures_util::future::{Either, ready};
use rmcp::RoleServer;
use rmcp::model::{
    ClientJsonRpcMessage, ClientNotification, ErrorData, GetExtensions, JsonRpcMessage, RequestId,
    ServerJsonRpcMessage,
};
use rmcp::transport::Transport;

use super::Arrivals;

/// Cancelled ids remembered at most; a cancel for a request already answered
/// would otherwise stay forever.
const REMEMBERED: usize = 256;

pub(crate) struct StreamGuard<T> {
    inner: T,
    cancelled: Arc<Mutex<VecDeque<RequestId>>>,
    /// Requests handed on and not yet answered.
    running: Arc<Mutex<HashSet<RequestId>>>,
    arrivals: Arrivals,
}

impl<T> StreamGuard<T> {
    pub(crate) fn new(inner: T, arrivals: Arrivals) -> StreamGuard<T> {
        StreamGuard {
            inner,
            cancelled: Arc::default(),
            running: Arc::default(),
            arrivals,
        }
    }
}

impl<T: Transport<RoleServer>> Transport<RoleServer> for StreamGuard<T> {
    type Error = T::Error;

    fn send(
        &mut self,
        item: ServerJsonRpcMessage,
    ) -> impl Future<Output = Result<(), T::Error>> + Send + 'static {
        let id = match &item {
            JsonRpcMessage::Response(response) => Some(&response.id),
            JsonRpcMessage::Error(error) => error.id.as_ref(),
            _ => None,
        };
        if let Some(id) = id {
            crate::locks::lock(&self.running).remove(id);
        }
        let silenced = id.is_some_and(|id| {
            let mut cancelled = crate::locks::lock(&self.cancelled);
            match cancelled.iter().position(|c| c == id) {
                Some(at) => {
                    cancelled.remove(at);
                    true
                }
                None => false,
            }
        });
        if silenced {
            tracing::debug!(?id, "no answer to a cancelled request");
            Either::Left(ready(Ok(())))
        } else {
            Either::Right(self.inner.send(item))
        }
    }

    fn receive(&mut self) -> impl Future<Output = Option<ClientJsonRpcMessage>> + Send {
        let cancelled = self.cancelled.clone();
        let arrivals = self.arrivals.clone();
        let running = self.running.clone();
        async move {
            let mut message = loop {
                let message = self.inner.receive().await;
                let Some(JsonRpcMessage::Request(request)) = &message else {
                    break message;
                };
                if crate::locks::lock(&running).insert(request.id.clone()) {
                    break message;
                }
                let id = request.id.clone();
                tracing::debug!(?id, "a request reused the id of one still running");
                let refusal = ServerJsonRpcMessage::error(
                    ErrorData::invalid_request(
                        format!(
                            "Invalid Request: a request with id {id} is still running; give each request its own id"
                        ),
                        None,
                    ),
                    Some(id),
                );
                if self.inner.send(refusal).await.is_err() {
                    return None;
                }
            };
            if let Some(JsonRpcMessage::Request(request)) = &mut message {
                request.request.extensions_mut().insert(arrivals.next());
            }
            if let Some(JsonRpcMessage::Notification(notification)) = &message
                && let ClientNotification::CancelledNotification(cancel) =
                    &notification.notification
                && let Some(id) = &cancel.params.request_id
            {
                let mut cancelled = crate::locks::lock(&cancelled);
                if cancelled.len() >= REMEMBERED {
                    cancelled.pop_front();
                }
                cancelled.push_back(id.clone());
            }
            message
        }
    }

    fn close(&mut self) -> impl Future<Output = Result<(), T::Error>> + Send {
        self.inner.close()
    }
}
