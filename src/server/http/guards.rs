//! What every HTTP request passes before the MCP handler: an arrival stamp
//! (calls start in arrival order), and a POST body read whole within its
//! limits and checked to be a JSON-RPC message (HTTP 400 with the JSON-RPC
//! error otherwise, as the spec asks).

use std::time::Duration;

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use rmcp::model::ClientJsonRpcMessage;
use serde_json::Value;

use super::super::Arrivals;
use super::super::access::refuse;
use super::super::session_cap::RpcMethod;

/// Stamps each request with its arrival, for calls to start in that order
/// (rmcp hands the request's parts, extensions included, to the handler).
pub(super) async fn stamp_arrival(
    State(arrivals): State<Arrivals>,
    mut request: Request,
    next: Next,
) -> Response {
    request.extensions_mut().insert(arrivals.next());
    next.run(request).await
}

/// How a request body is read: at most this many bytes, whole within this long.
#[derive(Clone, Copy)]
pub(super) struct BodyLimits {
    pub(super) max_bytes: usize,
    pub(super) within: Duration,
}

/// Reads every POST body whole, within `--read-timeout` (408 otherwise: a
/// client that trickles a byte at a time cannot hold a connection for
/// long), and answers a POST whose body is not a JSON-RPC message with HTTP
/// 400 and the JSON-RPC error for it (-32700 for text that is not JSON,
/// -32600 for JSON that is not a message), as the spec asks; rmcp would
/// answer 415.
pub(super) async fn check_json_rpc(
    State(limits): State<BodyLimits>,
    request: Request,
    next: Next,
) -> Response {
    let max = limits.max_bytes;
    if request.method() != Method::POST {
        return next.run(request).await;
    }
    let (parts, body) = request.into_parts();
    let bytes = match tokio::time::timeout(limits.within, axum::body::to_bytes(body, max)).await {
        Ok(Ok(bytes)) => bytes,
        Ok(Err(_)) => {
            return refuse(
                StatusCode::PAYLOAD_TOO_LARGE,
                &format!(
                    "the request body is larger than {max} bytes (--max-body-bytes), or did not arrive whole"
                ),
            );
        }
        Err(_) => {
            return refuse(
                StatusCode::REQUEST_TIMEOUT,
                &format!(
                    "the request body did not arrive whole within {}s (--read-timeout)",
                    limits.within.as_secs_f64()
                ),
            );
        }
    };
    let request = Request::from_parts(parts, Body::from(bytes));
    let path = request.uri().path();
    let is_json = request
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| {
            v.split(';')
                .next()
                .unwrap_or("")
                .trim()
                .eq_ignore_ascii_case("application/json")
        });
    if !(path == "/mcp" || path == "/messages") || !is_json {
        return next.run(request).await;
    }
    let (parts, body) = request.into_parts();
    // Already whole: this only takes it back.
    let bytes = axum::body::to_bytes(body, max).await.unwrap_or_default();
    let method = match serde_json::from_slice::<ClientJsonRpcMessage>(&bytes) {
        Ok(message) => match &message {
            rmcp::model::JsonRpcMessage::Request(request) => {
                Some(request.request.method().to_string())
            }
            _ => None,
        },
        Err(error) => return json_rpc_refusal(&bytes, &error),
    };
    let mut request = Request::from_parts(parts, Body::from(bytes));
    request.extensions_mut().insert(RpcMethod(method));
    next.run(request).await
}

/// The 400 answer for a body that does not parse as a client message.
pub(super) fn json_rpc_refusal(bytes: &[u8], error: &serde_json::Error) -> Response {
    use serde_json::error::Category;
    let (code, message, id) = match error.classify() {
        Category::Syntax | Category::Eof | Category::Io => (
            -32700,
            format!("Parse error: the body is not JSON ({error})"),
            Value::Null,
        ),
        Category::Data => {
            let value: Value = serde_json::from_slice(bytes).unwrap_or(Value::Null);
            let id = value
                .get("id")
                .filter(|id| id.is_string() || id.is_number())
                .cloned()
                .unwrap_or(Value::Null);
            let message = if value.is_array() {
                "Invalid Request: batches are not supported; send one message per request"
                    .to_string()
            } else {
                format!("Invalid Request: the body is JSON but not a JSON-RPC message ({error})")
            };
            (-32600, message, id)
        }
    };
    let body = serde_json::json!({
        "jsonrpc": "2.0",
        "id": id,
        "error": { "code": code, "message": message },
    });
    let mut response = (StatusCode::BAD_REQUEST, Body::from(body.to_string())).into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        axum::http::HeaderValue::from_static("application/json"),
    );
    response
}
