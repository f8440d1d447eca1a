//! The MCP side: one handler that serves the tool registry, and one module per
//! transport that carries it.

mod access;
mod app_view;
mod builtin;
mod disconnect;
mod handler;
pub(crate) mod http;
mod notify;
mod outbox;
mod request;
mod session_cap;
mod session_idle;
mod sessions;
mod shutdown;
mod sse;
pub(crate) mod stdio;
mod stream_guard;
mod tasks;

pub(crate) use access::{AccessPolicy, BearerToken};

use std::sync::{Arc, Mutex};

use rmcp::ErrorData as McpError;
use rmcp::model::CacheScope;
#[allow(deprecated)] // SEP-2577 deprecates logging; clients still opt in to it
use rmcp::model::LoggingLevel;

use crate::call::Runner;
use crate::call::background::BackgroundCalls;
use crate::fleet::Fleet;
use crate::jobs::{Job, JobId, Owner};
use builtin::diagnostics::Diagnostics;
use builtin::hub::HubTools;
pub(crate) use request::Arrivals;

/// The MCP handler. Cheap to clone: every transport session shares one
/// [`Runner`], and so one client per Space.
#[allow(deprecated)] // the session's log level (SEP-2577 deprecates logging)
pub(crate) struct SpacesServer {
    runner: Arc<Runner>,
    /// Calls that go on after their request: tasks and detached calls.
    background: Arc<BackgroundCalls>,
    /// The fleet's shared store, when this is one replica of several.
    fleet: Option<Arc<Fleet>>,
    /// The diagnostic tools, when `diagnostics = true`.
    diagnostics: Option<Arc<Diagnostics>>,
    /// The Hub tools, when `[hub] tools = true`.
    hub_tools: Option<Arc<HubTools>>,
    arrivals: Arrivals,
    /// The connected clients, told when the tool list changes.
    peers: notify::Peers,
    /// Each Streamable HTTP session's running calls, cancelled when it ends.
    session_calls: Arc<disconnect::SessionCalls>,
    /// The level a session asked for with `logging/setLevel` (before
    /// 2026-07-28): each session's own, so each clone starts without one.
    log_level: Arc<Mutex<Option<LoggingLevel>>>,
}

/// A clone serves one more session: it shares everything but the session's
/// log level.
impl Clone for SpacesServer {
    fn clone(&self) -> Self {
        SpacesServer {
            runner: self.runner.clone(),
            background: self.background.clone(),
            fleet: self.fleet.clone(),
            diagnostics: self.diagnostics.clone(),
            hub_tools: self.hub_tools.clone(),
            arrivals: self.arrivals.clone(),
            peers: self.peers.clone(),
            session_calls: self.session_calls.clone(),
            log_level: Arc::default(),
        }
    }
}

impl SpacesServer {
    /// The handler, and a task that tells every connected client
    /// (`notifications/tools/list_changed`) whenever the registry changes.
    pub(crate) fn new(background: Arc<BackgroundCalls>, fleet: Option<Arc<Fleet>>) -> SpacesServer {
        let diagnostics = background
            .runner()
            .diagnostics()
            .then(|| Arc::new(Diagnostics::default()));
        let runner = background.runner().clone();
        let hub_tools = HubTools::new(runner.settings().hub.clone(), runner.clone()).map(Arc::new);
        let server = SpacesServer {
            runner,
            background,
            fleet,
            diagnostics,
            hub_tools,
            arrivals: Arrivals::default(),
            peers: Arc::default(),
            session_calls: Arc::default(),
            log_level: Arc::default(),
        };
        notify::fan_out(&server.runner, server.peers.clone());
        server
    }

    pub(crate) fn runner(&self) -> &Arc<Runner> {
        &self.runner
    }

    pub(crate) fn fleet(&self) -> Option<&Arc<Fleet>> {
        self.fleet.as_ref()
    }

    pub(crate) fn background(&self) -> &Arc<BackgroundCalls> {
        &self.background
    }

    pub(crate) fn arrivals(&self) -> &Arrivals {
        &self.arrivals
    }

    pub(crate) fn session_calls(&self) -> &Arc<disconnect::SessionCalls> {
        &self.session_calls
    }

    /// Stops the calls running in the background (tasks, detached calls):
    /// the server is going away.
    pub(crate) fn stop_jobs(&self) {
        self.background.cancel_all();
    }

    /// While some tool may hand out job handles, how long `await_job` waits
    /// (the longest `detach_after`); `None` when none may.
    fn detach_wait(&self) -> Option<std::time::Duration> {
        self.runner
            .registry()
            .snapshot()
            .iter()
            .filter_map(|t| t.config.limits.detach_after)
            .max()
    }

    /// Cache hints for the tool and prompt lists (SEP-2549): as long as the
    /// list holds; private, since a list may name private Spaces and a
    /// server behind a token should not be served from a shared cache.
    fn list_cache_hints(&self) -> (u64, CacheScope) {
        // The diagnostic triggers change the lists at any moment.
        let ttl = if self.diagnostics.is_some() {
            std::time::Duration::ZERO
        } else {
            self.runner.registry().list_ttl()
        };
        (
            u64::try_from(ttl.as_millis()).unwrap_or(u64::MAX),
            CacheScope::Private,
        )
    }

    /// A tool's timeout, or the default for one no longer listed.
    fn timeout_of(&self, tool: &str) -> std::time::Duration {
        self.runner
            .registry()
            .get(tool)
            .map_or(crate::config::CallLimits::default().timeout, |t| {
                t.config.limits.timeout
            })
    }

    /// The caller's job behind a task id, or the spec's -32602.
    async fn task_job(&self, id: &str, owner: &Owner) -> Result<Job, McpError> {
        let id = task_id(id)?;
        self.background
            .get(&id, owner)
            .await
            .map_err(tasks::job_error)
    }
}

/// A task id as the client sent it; one that cannot be ours is not found.
fn task_id(text: &str) -> Result<JobId, McpError> {
    JobId::parse(text).ok_or_else(|| {
        McpError::invalid_params(
            format!(
                "Failed to retrieve task: no task {:?} (task ids are the ones this server handed out)",
                crate::result::text::clean_text(text, 80)
            ),
            None,
        )
    })
}
