//! MCP over HTTP, from one process and one tool registry: Streamable HTTP at
//! `/mcp` (rmcp's service), the legacy HTTP+SSE transport at `/sse` and
//! `/messages` (ours, see [`super::sse`]), and `/health` for orchestrators.
//!
//! Every route sits behind the same guards: Host and Origin checks, the
//! optional bearer token, a request-body limit and a cap on open sessions.
//! SIGINT or SIGTERM stops accepting, lets calls in flight finish within a
//! grace period, then cancels what is left and returns.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::{DefaultBodyLimit, Request, State};
use axum::http::{Method, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use rmcp::model::ClientJsonRpcMessage;
use rmcp::transport::streamable_http_server::session::local::LocalSessionManager;
use rmcp::transport::streamable_http_server::session::never::NeverSessionManager;
use rmcp::transport::{StreamableHttpServerConfig, StreamableHttpService};
use serde_json::Value;
use tokio::sync::Semaphore;
use tokio_util::sync::CancellationToken;
use tower_http::timeout::RequestBodyTimeoutLayer;

use super::access::{AccessPolicy, guard, refuse};
use super::disconnect::CancelOnDisconnect;
use super::session_cap::{RpcMethod, SessionCap, cap_sessions};
use super::sessions::FleetSessions;
use super::shutdown;
use super::sse::{self, LegacySessions};
use super::{Arrivals, SpacesServer};
use crate::call::Runner;
use crate::metrics;

/// SSE keep-alive comments: often enough for proxies that drop idle streams.
const SSE_KEEP_ALIVE: Duration = Duration::from_secs(15);

/// At shutdown, how long the last results get to reach their streams once
/// every call has returned.
const RESPONSE_DRAIN: Duration = Duration::from_millis(500);

#[derive(Debug, Clone)]
pub(crate) struct HttpOptions {
    pub(crate) listen: SocketAddr,
    /// No sessions on `/mcp`: every POST stands alone (behind load balancers).
    pub(crate) stateless: bool,
    pub(crate) access: AccessPolicy,
    pub(crate) max_body_bytes: usize,
    pub(crate) max_sessions: usize,
    /// Sessions one caller (one set of credentials) may hold open at once.
    pub(crate) max_sessions_per_owner: usize,
    /// A session with no message for this long is dropped; never less than the
    /// longest tool timeout, so a silent long call keeps its session.
    pub(crate) session_idle: Duration,
    /// The longest timeout of any tool, `[spaces]` tables' included.
    pub(crate) longest_call: Duration,
    pub(crate) shutdown_grace: Duration,
    /// A connection must send a request's head, and its whole body,
    /// within this long.
    pub(crate) read_timeout: Duration,
    /// Connections served at once.
    pub(crate) max_connections: usize,
}

#[derive(Debug, thiserror::Error)]
pub(crate) enum HttpError {
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        addr: SocketAddr,
        source: std::io::Error,
    },
}

/// Stamps each request with its arrival, for calls to start in that order
/// (rmcp hands the request's parts, extensions included, to the handler).
async fn stamp_arrival(
    State(arrivals): State<Arrivals>,
    mut request: Request,
    next: Next,
) -> Response {
    request.extensions_mut().insert(arrivals.next());
    next.run(request).await
}

/// How a request body is read: at most this many bytes, whole within this long.
#[derive(Clone, Copy)]
struct BodyLimits {
    max_bytes: usize,
    within: Duration,
}

/// Reads every POST body whole, within `--read-timeout` (408 otherwise: a
/// client that trickles a byte at a time cannot hold a connection for
/// long), and answers a POST whose body is not a JSON-RPC message with HTTP
/// 400 and the JSON-RPC error for it (-32700 for text that is not JSON,
/// -32600 for JSON that is not a message), as the spec asks; rmcp would
/// answer 415.
async fn check_json_rpc(
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
fn json_rpc_refusal(bytes: &[u8], error: &serde_json::Error) -> Response {
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

/// Whether this server can serve: 200 when it can, 503 when its shared
/// store is out of reach (a load balancer should send calls elsewhere; the
/// body says what is wrong). Without the bearer token (when one is set) it
/// says only `ok` or `degraded`: the store's address and the replica's id
/// are for operators.
async fn health(
    State((server, access)): State<(SpacesServer, Arc<AccessPolicy>)>,
    headers: axum::http::HeaderMap,
) -> Response {
    let runner = server.runner();
    let (store, reachable) = match server.fleet() {
        None => (
            serde_json::json!({ "kind": "memory", "reachable": true }),
            true,
        ),
        Some(fleet) => {
            let ping = fleet.ping().await;
            let reachable = ping.is_ok();
            (
                serde_json::json!({
                    "kind": "redis",
                    "address": fleet.shown(),
                    "replica": fleet.replica(),
                    "reachable": reachable,
                    "error": ping.err().map(|e| e.to_string()),
                }),
                reachable,
            )
        }
    };
    let status_word = if reachable { "ok" } else { "degraded" };
    let status = if reachable {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    if !access.authorized(&headers) {
        return (
            status,
            axum::Json(serde_json::json!({ "status": status_word })),
        )
            .into_response();
    }
    let body = axum::Json(serde_json::json!({
        "status": status_word,
        "version": env!("CARGO_PKG_VERSION"),
        "tools": runner.registry().snapshot().len(),
        "calls_in_flight": runner.in_flight(),
        "store": store,
    }));
    (status, body).into_response()
}

/// `/metrics`, in Prometheus' text format (behind the bearer token, like
/// everything but `/health`).
async fn metrics(State(server): State<SpacesServer>) -> Response {
    let mut out = String::new();
    let runner = server.runner();
    runner.metrics().render(&mut out);
    metrics::single(
        &mut out,
        "spaces_mcp_calls_in_flight",
        "gauge",
        "Tool calls running in this process now.",
        runner.in_flight(),
    );
    let (running, started) = server.background().counts();
    metrics::single(
        &mut out,
        "spaces_mcp_jobs_running",
        "gauge",
        "Jobs (tasks, detached calls: calls that outlived their request) running in this process now.",
        running,
    );
    metrics::single(
        &mut out,
        "spaces_mcp_jobs_started_total",
        "counter",
        "Calls that outlived their request in this process and became jobs.",
        started,
    );
    if let Some(fleet) = server.fleet() {
        metrics::single(
            &mut out,
            "spaces_mcp_store_up",
            "gauge",
            "1 when the last command reached the shared store.",
            u8::from(fleet.reachable()),
        );
        metrics::single(
            &mut out,
            "spaces_mcp_store_round_trips_total",
            "counter",
            "Commands, pipelines and scripts sent to the shared store.",
            fleet.round_trips(),
        );
        metrics::single(
            &mut out,
            "spaces_mcp_store_errors_total",
            "counter",
            "Store round trips that failed (unreachable, timed out).",
            fleet.errors(),
        );
    }
    let mut response = out.into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        axum::http::HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"),
    );
    response
}

/// Serves until SIGINT or SIGTERM, then shuts down gracefully.
pub(crate) async fn serve(
    server: SpacesServer,
    runner: Arc<Runner>,
    options: HttpOptions,
) -> Result<(), HttpError> {
    let shutdown = CancellationToken::new();
    let session_idle = options
        .session_idle
        .max(options.longest_call + Duration::from_secs(30));

    let mut config = StreamableHttpServerConfig::default()
        .with_sse_keep_alive(Some(SSE_KEEP_ALIVE))
        .with_cancellation_token(shutdown.child_token())
        .with_max_request_body_bytes(options.max_body_bytes)
        // Our own guard checks Host and Origin on every route.
        .disable_allowed_hosts()
        .disable_allowed_origins();
    // In a fleet, any replica may serve a session another one started.
    if let Some(fleet) = server.fleet() {
        config.session_store = Some(Arc::new(FleetSessions(fleet.clone())));
    }
    let factory_server = server.clone();
    let factory = move || Ok(factory_server.clone());
    let (mcp, streamable) = if options.stateless {
        config = config
            .with_legacy_session_mode(false)
            .with_json_response(true);
        let service =
            StreamableHttpService::new(factory, Arc::new(NeverSessionManager::default()), config);
        (Router::new().route_service("/mcp", service), None)
    } else {
        let mut manager = LocalSessionManager::default();
        manager.session_config.keep_alive = Some(session_idle);
        let manager = Arc::new(manager);
        let service = StreamableHttpService::new(
            factory,
            Arc::new(CancelOnDisconnect::new(manager.clone())),
            config,
        );
        (Router::new().route_service("/mcp", service), Some(manager))
    };

    let arrivals = server.arrivals().clone();
    let probe = server.clone();
    let jobs = server.clone();
    let stopping = server.clone();
    let legacy = Arc::new(LegacySessions::new(
        server,
        SSE_KEEP_ALIVE,
        shutdown.child_token(),
    ));
    let cap = Arc::new(SessionCap::new(
        streamable,
        legacy.clone(),
        options.max_sessions,
        options.max_sessions_per_owner,
    ));
    let app = Router::new()
        .route("/sse", get(sse::open))
        .route("/messages", post(sse::post))
        .with_state(legacy)
        .route(
            "/health",
            get(health).with_state((probe.clone(), Arc::new(options.access.clone()))),
        )
        .route("/metrics", get(metrics).with_state(probe))
        .merge(mcp)
        .layer(DefaultBodyLimit::max(options.max_body_bytes))
        // The cap reads the method the JSON-RPC check found: it runs inside it.
        .layer(middleware::from_fn_with_state(cap, cap_sessions))
        .layer(middleware::from_fn_with_state(
            BodyLimits {
                max_bytes: options.max_body_bytes,
                within: options.read_timeout,
            },
            check_json_rpc,
        ))
        .layer(RequestBodyTimeoutLayer::new(options.read_timeout))
        .layer(middleware::from_fn_with_state(arrivals, stamp_arrival))
        .layer(middleware::from_fn_with_state(
            Arc::new(options.access.clone()),
            guard,
        ));

    let listener = tokio::net::TcpListener::bind(options.listen)
        .await
        .map_err(|source| HttpError::Bind {
            addr: options.listen,
            source,
        })?;
    let local = listener.local_addr().unwrap_or(options.listen);
    tracing::info!(
        address = %local,
        stateless = options.stateless,
        auth = options.access.bearer_token.is_some(),
        "serving MCP over HTTP: Streamable HTTP at /mcp, legacy SSE at /sse"
    );
    if !local.ip().is_loopback() && options.access.allowed_hosts.is_empty() {
        tracing::warn!(
            "listening beyond loopback, but only loopback Host names are accepted: add --allowed-host for the name clients use"
        );
    }

    let stop_accepting = CancellationToken::new();
    let grace = options.shutdown_grace;
    {
        let stop_accepting = stop_accepting.clone();
        let shutdown = shutdown.clone();
        let runner = runner.clone();
        let jobs = stopping;
        tokio::spawn(async move {
            shutdown::signal().await;
            tracing::info!(
                calls = runner.in_flight(),
                grace_secs = grace.as_secs(),
                "shutting down: no new connections; waiting for calls in flight"
            );
            stop_accepting.cancel();
            if runner.wait_idle(grace).await {
                // The last results are on their way to their streams; cancelling
                // now would close those streams before they are written.
                tokio::time::sleep(RESPONSE_DRAIN).await;
            } else {
                tracing::warn!(
                    calls = runner.in_flight(),
                    "grace period over: cancelling the calls still running"
                );
            }
            jobs.stop_jobs();
            shutdown.cancel();
        });
    }
    let server = accept_loop(listener, app, &options, stop_accepting);
    tokio::select! {
        () = server => {},
        // Connections that outlive the cancellation (a client that never
        // reads) must not keep the process alive.
        _ = async { shutdown.cancelled().await; tokio::time::sleep(Duration::from_secs(5)).await } => {
            tracing::warn!("closing the connections still open");
        }
    }
    // Background jobs die with the process (their store is in memory): the
    // Spaces stop working on them now rather than for nobody.
    shutdown::drain(&jobs).await;
    tracing::info!("stopped");
    Ok(())
}

/// Accepts connections until `stop`, then waits for the open ones to finish
/// their requests. Each connection must send its request head within
/// `read_timeout` (a client that trickles headers is closed), and at most
/// `max_connections` are served at once; more wait in the kernel's backlog.
async fn accept_loop(
    listener: tokio::net::TcpListener,
    app: Router,
    options: &HttpOptions,
    stop: CancellationToken,
) {
    let limit = Arc::new(Semaphore::new(options.max_connections.max(1)));
    let graceful = GracefulShutdown::new();
    let service = TowerToHyperService::new(app);
    let mut builder = http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(options.read_timeout)
        .keep_alive(true);
    loop {
        let permit = tokio::select! {
            permit = limit.clone().acquire_owned() => match permit {
                Ok(permit) => permit,
                Err(_) => break,
            },
            () = stop.cancelled() => break,
        };
        let accepted = tokio::select! {
            accepted = listener.accept() => accepted,
            () = stop.cancelled() => break,
        };
        let stream = match accepted {
            Ok((stream, _)) => stream,
            Err(e) => {
                // Out of file descriptors and the like: pause, do not spin.
                tracing::warn!("cannot accept a connection: {e}");
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            }
        };
        let _ = stream.set_nodelay(true);
        let connection = builder.serve_connection(TokioIo::new(stream), service.clone());
        let connection = graceful.watch(connection);
        tokio::spawn(async move {
            if let Err(e) = connection.await {
                tracing::debug!("connection ended: {e}");
            }
            drop(permit);
        });
    }
    drop(listener);
    graceful.shutdown().await;
}
