//! MCP over HTTP, from one process and one tool registry: Streamable HTTP at
//! `/mcp` (rmcp's service), the legacy HTTP+SSE transport at `/sse` and
//! `/messages` (ours, see [`super::sse`]), and `/health` for orchestrators.
//!
//! Every route sits behind the same guards: Host and Origin checks, the
//! optional bearer token, a request-body limit and a cap on open sessions.
//! SIGINT or SIGTERM stops accepting, lets calls in flight finish within a
//! grace period, then cancels what is left and returns.

mod guards;
mod listener;
mod probes;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::middleware::{self};
use axum::routing::{get, post};
use rmcp::transport::streamable_http_server::session::local::LocalSessionManager;
use rmcp::transport::streamable_http_server::session::never::NeverSessionManager;
use rmcp::transport::{StreamableHttpServerConfig, StreamableHttpService};
use tokio_util::sync::CancellationToken;
use tower_http::timeout::RequestBodyTimeoutLayer;

use super::SpacesServer;
use super::access::{AccessPolicy, guard};
use super::disconnect::CancelOnDisconnect;
use super::session_cap::{SessionCap, cap_sessions};
use super::session_idle::{self, SessionClock};
use super::sessions::FleetSessions;
use super::shutdown;
use super::sse::{self, LegacySessions};
use crate::call::Runner;
use guards::{BodyLimits, check_json_rpc, stamp_arrival};
use listener::accept_loop;
use probes::{health, metrics};

/// SSE keep-alive comments: often enough for proxies that drop idle streams.
const SSE_KEEP_ALIVE: Duration = Duration::from_secs(15);

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

/// Serves until SIGINT or SIGTERM, then shuts down gracefully.
pub(crate) async fn serve(
    server: SpacesServer,
    runner: Arc<Runner>,
    options: HttpOptions,
) -> Result<(), HttpError> {
    let shutdown = CancellationToken::new();
    let stopping = server.clone();
    let app = routes(server, &options, &shutdown);
    let listener = bind(&options).await?;
    let stop_accepting = CancellationToken::new();
    tokio::spawn(shutdown::on_signal(
        runner,
        stopping.clone(),
        options.shutdown_grace,
        stop_accepting.clone(),
        shutdown.clone(),
    ));
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
    shutdown::drain(&stopping).await;
    tracing::info!("stopped");
    Ok(())
}

/// `/mcp`: Streamable HTTP, with sessions (and their manager, which the
/// session cap counts) or stateless.
fn mcp_route(
    server: &SpacesServer,
    options: &HttpOptions,
    shutdown: &CancellationToken,
) -> (Router, Option<Arc<LocalSessionManager>>) {
    let backstop = options
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
    if options.stateless {
        config = config
            .with_legacy_session_mode(false)
            .with_json_response(true);
        let service =
            StreamableHttpService::new(factory, Arc::new(NeverSessionManager::default()), config);
        return (Router::new().route_service("/mcp", service), None);
    }
    // rmcp's own idle timer stays as a backstop; sessions end on ours,
    // which counts only what the client does (`session_idle`).
    let mut manager = LocalSessionManager::default();
    manager.session_config.keep_alive = Some(backstop);
    let manager = Arc::new(manager);
    let sessions = Arc::new(CancelOnDisconnect::new(
        manager.clone(),
        server.session_calls().clone(),
    ));
    let clock = Arc::new(SessionClock::default());
    session_idle::expire_quiet(
        sessions.clone(),
        clock.clone(),
        options.session_idle,
        shutdown.clone(),
    );
    let service = StreamableHttpService::new(factory, sessions, config);
    let route = Router::new()
        .route_service("/mcp", service)
        .layer(middleware::from_fn_with_state(
            clock,
            session_idle::hear_clients,
        ));
    (route, Some(manager))
}

/// Every route, behind the guards every request passes (Host and Origin,
/// arrival stamps, read timeouts, JSON-RPC bodies, the session cap).
fn routes(server: SpacesServer, options: &HttpOptions, shutdown: &CancellationToken) -> Router {
    let (mcp, streamable) = mcp_route(&server, options, shutdown);
    let arrivals = server.arrivals().clone();
    let probe = server.clone();
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
    Router::new()
        .route("/sse", get(sse::open))
        .route("/messages", post(sse::post))
        .with_state(legacy)
        .route(
            "/health",
            get(health).with_state((probe.clone(), Arc::new(options.access.clone()), cap.clone())),
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
        ))
}

/// The listening socket, and a word in the log about where it listens.
async fn bind(options: &HttpOptions) -> Result<tokio::net::TcpListener, HttpError> {
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
    Ok(listener)
}
