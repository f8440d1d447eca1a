//! How the server stops, on every transport: the signal that asks it to
//! (SIGINT, and SIGTERM where there is one), and the drain once it does.
//!
//! The drain is the same for stdio and HTTP: the jobs still running in the
//! background are stopped (their store is this process's, or their caller is
//! gone: nobody could fetch a result), the calls cancelled by that unwind,
//! and their cancels reach the Spaces before the process exits, so that no
//! Space goes on working for nobody.

use std::time::Duration;

use super::SpacesServer;

/// After the last call in flight ended, how long its result gets to reach
/// its stream before the streams are cancelled.
const RESPONSE_DRAIN: Duration = Duration::from_millis(500);

/// The HTTP server's grace steps, once the signal comes: stop accepting,
/// let the calls in flight finish within `grace` (cancelling those still
/// running after it), stop the background jobs, then cancel the streams.
pub(crate) async fn on_signal(
    runner: std::sync::Arc<crate::call::Runner>,
    server: SpacesServer,
    grace: Duration,
    stop_accepting: tokio_util::sync::CancellationToken,
    streams: tokio_util::sync::CancellationToken,
) {
    signal().await;
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
    server.stop_jobs();
    streams.cancel();
}

/// How long calls get to unwind once their jobs were stopped.
const UNWIND: Duration = Duration::from_secs(2);

/// How long cancels get to reach the Spaces.
const CANCELS: Duration = Duration::from_secs(5);

/// Resolves when the process is asked to stop: SIGINT (Ctrl-C) everywhere,
/// SIGTERM too where there is one.
pub(crate) async fn signal() {
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

/// Stops the background jobs, lets the calls they ran unwind, and waits
/// (briefly) for their cancels to reach the Spaces.
pub(crate) async fn drain(server: &SpacesServer) {
    server.stop_jobs();
    let runner = server.runner();
    runner.wait_idle(UNWIND).await;
    runner.flush_cancels(CANCELS).await;
}
