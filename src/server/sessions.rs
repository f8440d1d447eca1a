//! Sessions of older (2025-era) Streamable HTTP clients, shared by a fleet.
//!
//! A session is live state in one process (rmcp's session worker, its open
//! streams), which no store can move. What rmcp can do is start a session
//! again from the client's `initialize` parameters: a request that carries a
//! session id this replica does not know is served after rmcp replays that
//! handshake here. So the store keeps, per session, just those parameters;
//! any replica then serves any session's requests, and a replica that dies
//! loses no session. A stream still open on a replica (a GET stream, an SSE
//! answer) stays there: that is the one thing a load balancer must keep
//! sticky, and only for the legacy `/sse` transport does it matter (see
//! README, "A fleet of replicas").

use std::sync::Arc;
use std::time::Duration;

use rmcp::transport::streamable_http_server::session::{
    SessionState, SessionStore, SessionStoreError,
};

use crate::fleet::Fleet;

/// How long a session's start is kept after it was made: past the longest
/// session any client keeps open.
const SESSION_TTL: Duration = Duration::from_secs(24 * 3600);

pub(crate) struct FleetSessions(pub(crate) Arc<Fleet>);

fn name(session: &str) -> String {
    format!("session:{session}")
}

#[async_trait::async_trait]
impl SessionStore for FleetSessions {
    async fn load(&self, session: &str) -> Result<Option<SessionState>, SessionStoreError> {
        let Some(text) = self.0.get(&name(session)).await? else {
            return Ok(None);
        };
        let state = serde_json::from_str(&text)?;
        tracing::info!(session, "serving a session another replica started");
        Ok(Some(state))
    }

    async fn store(&self, session: &str, state: &SessionState) -> Result<(), SessionStoreError> {
        let text = serde_json::to_string(state)?;
        Ok(self.0.set(&name(session), &text, SESSION_TTL).await?)
    }

    async fn delete(&self, session: &str) -> Result<(), SessionStoreError> {
        Ok(self.0.delete(&name(session)).await?)
    }
}
