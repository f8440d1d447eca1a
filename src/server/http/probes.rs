//! The operators' endpoints: `/health` (for load balancers and
//! orchestrators) and `/metrics` (Prometheus' text format).

use std::sync::Arc;

use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};

use super::super::SpacesServer;
use super::super::access::AccessPolicy;
use super::super::session_cap::SessionCap;
use crate::metrics;

/// Whether this server can serve: 200 when it can, 503 when its shared
/// store is out of reach (a load balancer should send calls elsewhere; the
/// body says what is wrong). Without the bearer token (when one is set) it
/// says only `ok` or `degraded`: the store's address and the replica's id
/// are for operators.
pub(super) async fn health(
    State((server, access, sessions)): State<(SpacesServer, Arc<AccessPolicy>, Arc<SessionCap>)>,
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
        "jobs_running": server.background().counts().0,
        "sessions_open": sessions.open().await,
        "store": store,
    }));
    (status, body).into_response()
}

/// `/metrics`, in Prometheus' text format (behind the bearer token, like
/// everything but `/health`).
pub(super) async fn metrics(State(server): State<SpacesServer>) -> Response {
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
