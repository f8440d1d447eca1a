//! MCP over stdin and stdout, as Claude Desktop, Cursor and most clients spawn
//! a server. stdout carries only protocol messages; logs go to stderr.

use rmcp::ServiceExt;

use super::SpacesServer;

#[derive(Debug, thiserror::Error)]
pub enum StdioError {
    #[error("the MCP session could not start: {0}")]
    Start(String),
    #[error("the MCP session ended abnormally: {0}")]
    Run(String),
}

/// Serves until the client closes stdin.
pub async fn serve(server: SpacesServer) -> Result<(), StdioError> {
    let running = match server.serve(rmcp::transport::stdio()).await {
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
    running
        .waiting()
        .await
        .map_err(|e| StdioError::Run(e.to_string()))?;
    Ok(())
}
