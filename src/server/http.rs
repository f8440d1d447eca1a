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
use axum::extract::{DefaultBodyLimit, Request, State};
use axum::http::{Method, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use rmcp::transport::streamable_http_server::session::local::LocalSessionManager;
use rmcp::transport::streamable_http_server::session::never::NeverSessionManager;
use rmcp::transport::{StreamableHttpServerConfig, StreamableHttpService};
use tokio_util::sync::CancellationToken;

use super::SpacesServer;
use super::access::{AccessPolicy, guard, refuse};
use super::sse::{self, LegacySessions};
use crate::runner::Runner;

/// SSE keep-alive comments: often enough for proxies that drop idle streams.
const SSE_KEEP_ALIVE: Duration = Duration::from_secs(15);

/// At shutdown, how long the last results get to reach their streams once
/// every call has returned.
const RESPONSE_DRAIN: Duration = Duration::from_millis(500);

#[derive(Debug, Clone)]
pub struct HttpOptions {
    pub listen: SocketAddr,
    /// No sessions on `/mcp`: every POST stands alone (behind load balancers).
    pub stateless: bool,
    pub access: AccessPolicy,
    pub max_body_bytes: usize,
    pub max_sessions: usize,
    /// A session with no message for this long is dropped; never less than the
    /// longest tool timeout, so a silent long call keeps its session.
    pub session_idle: Duration,
    /// The longest timeout of any tool, `[spaces]` tables' included.
    pub longest_call: Duration,
    pub shutdown_grace: Duration,
}

#[derive(Debug, thiserror::Error)]
pub enum HttpError {
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        addr: SocketAddr,
        source: std::io::Error,
    },
    #[error("the HTTP server failed: {0}")]
    Serve(std::io::Error),
}

/// What the session cap needs to count sessions.
#[derive(Clone)]
struct SessionCap {
    streamable: Option<Arc<LocalSessionManager>>,
    legacy: Arc<LegacySessions>,
    max: usize,
}

impl SessionCap {
    async fn open(&self) -> usize {
        let streamable = match &self.streamable {
            Some(manager) => manager.sessions.read().await.len(),
            None => 0,
        };
        streamable + self.legacy.count()
    }
}

/// Refuses a request that would open a session past the cap.
async fn cap_sessions(State(cap): State<SessionCap>, request: Request, next: Next) -> Response {
    let path = request.uri().path();
    let opens_session = (request.method() == Method::GET && path == "/sse")
        || (cap.streamable.is_some()
            && request.method() == Method::POST
            && path == "/mcp"
            && !request.headers().contains_key("mcp-session-id"));
    if opens_session && cap.open().await >= cap.max {
        return refuse(
            StatusCode::SERVICE_UNAVAILABLE,
            &format!(
                "too many open sessions (the limit is {}); try again later",
                cap.max
            ),
        );
    }
    next.run(request).await
}

async fn health(State(runner): State<Arc<Runner>>) -> impl IntoResponse {
    axum::Json(serde_json::json!({
        "status": "ok",
        "version": env!("CARGO_PKG_VERSION"),
        "tools": runner.registry().snapshot().len(),
        "calls_in_flight": runner.in_flight(),
    }))
}

/// Serves until SIGINT or SIGTERM, then shuts down gracefully.
pub async fn serve(
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
        let service = StreamableHttpService::new(factory, manager.clone(), config);
        (Router::new().route_service("/mcp", service), Some(manager))
    };

    let legacy = Arc::new(LegacySessions::new(
        server,
        SSE_KEEP_ALIVE,
        shutdown.child_token(),
    ));
    let cap = SessionCap {
        streamable,
        legacy: legacy.clone(),
        max: options.max_sessions,
    };
    let app = Router::new()
        .route("/sse", get(sse::open))
        .route("/messages", post(sse::post))
        .with_state(legacy)
        .route("/health", get(health).with_state(runner.clone()))
        .merge(mcp)
        .layer(DefaultBodyLimit::max(options.max_body_bytes))
        .layer(middleware::from_fn_with_state(cap, cap_sessions))
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
        tokio::spawn(async move {
            terminate_signal().await;
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
            shutdown.cancel();
        });
    }
    let server =
        axum::serve(listener, app).with_graceful_shutdown(stop_accepting.clone().cancelled_owned());
    tokio::select! {
        result = server => result.map_err(HttpError::Serve)?,
        // Connections that outlive the cancellation (a client that never
        // reads) must not keep the process alive.
        _ = async { shutdown.cancelled().await; tokio::time::sleep(Duration::from_secs(5)).await } => {
            tracing::warn!("closing the connections still open");
        }
    }
    crate::gradio::settle_cancels(Duration::from_secs(5)).await;
    tracing::info!("stopped");
    Ok(())
}

/// SIGINT (Ctrl-C) everywhere; SIGTERM too where there is one.
async fn terminate_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = tokio::signal::ctrl_c() => {}
                    _ = term.recv() => {}
                }
            }
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}
