//! MCP over stdin and stdout, as Claude Desktop, Cursor and most clients spawn
//! a server. stdout carries only protocol messages; logs go to stderr.

use rmcp::ServiceExt;

use std::time::Duration;

use rmcp::transport::async_rw::AsyncRwTransport;

use crate::gradio::settle_cancels;

use super::SpacesServer;
use super::silence::SilenceCancelled;

#[derive(Debug, thiserror::Error)]
pub enum StdioError {
    #[error("the MCP session could not start: {0}")]
    Start(String),
    #[error("the MCP session ended abnormally: {0}")]
    Run(String),
}

/// Serves until the client closes stdin. Calls still running then are
/// cancelled, and their jobs cancelled on the Spaces, before it returns.
pub async fn serve(server: SpacesServer) -> Result<(), StdioError> {
    let runner = server.runner().clone();
    let (stdin, stdout) = rmcp::transport::stdio();
    let transport = SilenceCancelled::new(AsyncRwTransport::new_server(stdin, stdout));
    let running = match server.serve(transport).await {
        Ok(running) => running,
        Err(e) => {
            // A client that closes stdin before `initialize` (a health probe,
            // a cancelled launch) is a clean exit, not a failure.
            let text = e.to_string();
            if text.contains("connection closed") || text.contains("ConnectionClosed") {
                tracing::debug!("stdin closed before initialize");
                return Ok(());
            }
            return Err(StdioError::Start(text));
        }
    };
    let ended = running.waiting().await;
    // The session's end cancelled what was running; let those calls unwind
    // and their cancels reach the Spaces before the process exits.
    runner.wait_idle(Duration::from_secs(2)).await;
    settle_cancels(Duration::from_secs(5)).await;
    ended.map_err(|e| StdioError::Run(e.to_string()))?;
    Ok(())
}
