//! Running one tool call end to end: check the arguments, send the files,
//! call the Space, hand its outputs to `result` (what they become for the
//! client), all within the tool's timeout. The MCP handler and the CLI's
//! `call` both go through here. Beside it: `failure` (why a call failed),
//! `files` (file inputs), `gpu_wait` (ZeroGPU refusals waited out),
//! `progress` (stages to progress reports), `background` (calls that
//! outlive their request) and `explain` (failures to one line a person can
//! act on).
//!
//! A call that fails is still an answer: a result with `isError` and one line
//! that says which tool, which Space and endpoint, what went wrong and what to
//! do, so the model (and the person behind it) can act on it.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use rmcp::model::{CallToolResult, ContentBlock, JsonObject};
use tokio_util::sync::CancellationToken;

mod attempt;
pub(crate) mod background;
pub(crate) mod explain;
mod failure;
pub(crate) mod files;
pub(crate) mod gpu_wait;
pub(crate) mod progress;

use crate::config::{Settings, ToolConfig};
use crate::gradio::{GradioError, HfToken, SpacePool};
use crate::jobs::Owner;
use crate::metrics::{self, Metrics};
use crate::result::budget::{self, Budget};
use crate::result::saved::{self, SavedFiles};
use crate::result::shape::{Audience, assemble};
use crate::result::{clients, view_meta};
use crate::tools::Registry;
use explain::explain;
pub(crate) use failure::{Failure, RunError};
use progress::{KEEP_ALIVE, LogSink, ProgressSink, Reporter};

/// Notices of changed file lists kept for a listener that falls behind; one
/// that falls further behind hears that every list may have changed.
const FILE_NOTICES: usize = 256;

/// An owner's saved files changed: their folder name ([`Owner::folder_name`]),
/// which is all a listener needs to tell whether the notice is its own.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct FilesChanged(pub(crate) Arc<str>);

/// The tools, the Space clients and the settings, shared by every call.
pub(crate) struct Runner {
    registry: Arc<Registry>,
    pool: Arc<SpacePool>,
    settings: Settings,
    token: Option<HfToken>,
    in_flight: AtomicUsize,
    idle: tokio::sync::Notify,
    /// What images decoded for previews may take at once (process-wide).
    decoding: budget::Decoding,
    /// The server's folder of saved files.
    saved_files: SavedFiles,
    /// Files people are giving through the MCP App view, unfinished.
    uploads: saved::uploads::Uploads,
    /// Whose saved files changed (their resource list), as it happens.
    saved: tokio::sync::broadcast::Sender<FilesChanged>,
    /// Calls by outcome and slot waits, for `/metrics`.
    metrics: Metrics,
}

/// How one call is to be made.
#[derive(Clone)]
pub(crate) struct CallOptions {
    /// When the request arrived (see `server::Arrival`): calls to a Space
    /// start in this order.
    pub(crate) arrival: Option<u64>,
    /// What the client takes: its content profile and protocol features.
    pub(crate) audience: Audience,
    /// Stops the call when it fires (the client cancelled, or went away).
    pub(crate) cancel: CancellationToken,
    /// The HF token the MCP client sent with this request, used instead of the
    /// server's own for this call only (when the config allows it).
    pub(crate) client_token: Option<HfToken>,
    /// Where progress reports go, when the client asked for them.
    pub(crate) progress: Option<ProgressSink>,
    /// Where the Space's log lines go, when the client asked for them.
    pub(crate) log: Option<LogSink>,
    /// Whose call it is: its saved files go to that owner's folder.
    pub(crate) owner: Owner,
    /// The client polls for the result (an MCP task): a wait for ZeroGPU
    /// quota may take the call past its timeout (see `gpu_wait`).
    pub(crate) polled: bool,
    /// The client shows the MCP App view: the result carries what the view
    /// needs in `_meta` (see `view_meta`).
    pub(crate) view: bool,
}

/// A finished call: the MCP result.
pub(crate) struct Outcome {
    pub(crate) result: CallToolResult,
}

impl Runner {
    pub(crate) fn new(
        registry: Arc<Registry>,
        pool: Arc<SpacePool>,
        settings: Settings,
        token: Option<HfToken>,
    ) -> Runner {
        let saved_files = SavedFiles::new(
            settings.output_dir.clone(),
            settings.private_output_dir,
            settings.saved.clone(),
        );
        Runner {
            saved_files,
            registry,
            pool,
            settings,
            token,
            in_flight: AtomicUsize::new(0),
            idle: tokio::sync::Notify::new(),
            decoding: budget::Decoding::default(),
            uploads: saved::uploads::Uploads::default(),
            saved: tokio::sync::broadcast::Sender::new(FILE_NOTICES),
            metrics: Metrics::default(),
        }
    }

    pub(crate) fn registry(&self) -> &Registry {
        &self.registry
    }

    /// The files `owner`'s calls saved, as resources.
    /// The server's folder of saved files and uploads.
    pub(crate) fn saved(&self) -> &SavedFiles {
        &self.saved_files
    }

    /// The unfinished uploads of the MCP App view.
    pub(crate) fn uploads(&self) -> &saved::uploads::Uploads {
        &self.uploads
    }

    /// Tells whoever watches that `owner`'s files changed (a call saved
    /// some, an upload ended).
    pub(crate) fn saved_changed(&self, owner: &Owner) {
        let _ = self.saved.send(FilesChanged(owner.folder_name().into()));
    }

    pub(crate) fn saved_files(&self, owner: &Owner) -> Vec<rmcp::model::Resource> {
        self.saved_files.list(owner)
    }

    /// The secret owner digests are salted with (see `saved`).
    pub(crate) fn owner_salt(&self) -> Result<Vec<u8>, saved::SaveError> {
        self.saved_files.owner_salt()
    }

    /// One of `owner`'s saved files, from that owner's folder only.
    pub(crate) async fn read_saved(
        &self,
        owner: &Owner,
        uri: &str,
    ) -> Result<rmcp::model::ResourceContents, saved::ReadError> {
        self.saved_files.read(owner, uri).await
    }

    /// Ticks whenever a call saved files.
    pub(crate) fn saved_changes(&self) -> tokio::sync::broadcast::Receiver<FilesChanged> {
        self.saved.subscribe()
    }

    /// Removes saved files past the retention period (`output_retention_hours`)
    /// or over the folder's cap (`output_max_bytes`), oldest first.
    pub(crate) fn tidy_outputs(&self) {
        let removed = self.saved_files.tidy();
        if !removed.is_empty() {
            tracing::info!(removed = removed.len(), dir = %self.saved_files.root().display(), "removed saved files past their retention or over output_max_bytes");
            let folders: std::collections::BTreeSet<String> = removed.into_iter().collect();
            for folder in folders {
                let _ = self.saved.send(FilesChanged(folder.into()));
            }
        }
    }

    /// Whether a client's own HF token may replace the server's (`client_hf_token`).
    /// Whether the diagnostic tools are on (`diagnostics` in `[settings]`).
    pub(crate) fn diagnostics(&self) -> bool {
        self.settings.diagnostics
    }

    pub(crate) fn accepts_client_token(&self) -> bool {
        self.settings.client_hf_token
    }

    /// The HF token a call sends: none where the tool's Space may not get
    /// one, else the client's own (when the server takes client tokens and
    /// one came), else the server's.
    pub(crate) fn token_for<'a>(
        &'a self,
        send: bool,
        client: Option<&'a HfToken>,
    ) -> Option<&'a HfToken> {
        if send {
            client.or(self.token.as_ref())
        } else {
            None
        }
    }

    /// The settings every call runs under.
    pub(crate) fn settings(&self) -> &Settings {
        &self.settings
    }

    /// The one client of `space`.
    pub(crate) fn space_client(
        &self,
        space: &crate::gradio::SpaceRef,
    ) -> Result<Arc<crate::gradio::SpaceClient>, GradioError> {
        self.pool.client(space)
    }

    /// What a client's results hold: see `clients::content_for`.
    pub(crate) fn content_for(
        &self,
        client: Option<&str>,
        asked: Option<crate::config::ContentProfile>,
    ) -> crate::config::ContentProfile {
        clients::content_for(client, asked, &self.settings)
    }

    /// Waits (at most `limit`) for cancels still on their way to Spaces.
    pub(crate) async fn flush_cancels(&self, limit: Duration) {
        self.pool.flush_cancels(limit).await;
    }

    /// Calls running now.
    pub(crate) fn metrics(&self) -> &Metrics {
        &self.metrics
    }

    pub(crate) fn in_flight(&self) -> usize {
        self.in_flight.load(Ordering::SeqCst)
    }

    /// Waits until no call runs, or `limit` passes; says whether it got there.
    pub(crate) async fn wait_idle(&self, limit: Duration) -> bool {
        let deadline = tokio::time::Instant::now() + limit;
        loop {
            let notified = self.idle.notified();
            if self.in_flight() == 0 {
                return true;
            }
            if tokio::time::timeout_at(deadline, notified).await.is_err() {
                return self.in_flight() == 0;
            }
        }
    }

    pub(crate) async fn call(
        self: &Arc<Self>,
        name: &str,
        arguments: Option<&JsonObject>,
        options: CallOptions,
    ) -> Result<Outcome, RunError> {
        let tool = self
            .registry
            .get(name)
            .ok_or_else(|| self.unknown_tool(name))?;
        self.call_tool(&tool.config, arguments, options).await
    }

    /// Calls `tool`, registered or not (the Hub tools call Spaces nobody
    /// configured this way).
    pub(crate) async fn call_tool(
        self: &Arc<Self>,
        tool: &ToolConfig,
        arguments: Option<&JsonObject>,
        options: CallOptions,
    ) -> Result<Outcome, RunError> {
        let name = tool.name.as_str();
        let _counted = InFlight::enter(self);
        let started = std::time::Instant::now();
        let reporter = Reporter::new(options.progress.clone());
        let deadline = gpu_wait::Deadline::after(tool.limits.timeout);
        let work = deadline.bound(keeping_alive(
            &reporter,
            self.attempt(tool, arguments, &options, &reporter, &deadline),
        ));
        let result = tokio::select! {
            biased;
            _ = options.cancel.cancelled() => {
                tracing::info!(tool = name, "call cancelled by the client");
                self.metrics.call_ended(name, metrics::Outcome::Cancelled);
                return Err(RunError::Cancelled);
            }
            result = work => result.unwrap_or(Err(Failure::Timeout(tool.limits.timeout))),
        };
        let elapsed = started.elapsed();
        let outcome = match &result {
            Ok(_) => metrics::Outcome::Ok,
            Err(Failure::Timeout(_)) => metrics::Outcome::Timeout,
            Err(_) => metrics::Outcome::Error,
        };
        self.metrics.call_ended(name, outcome);
        Ok(match result {
            Ok(mut rendered) => {
                tracing::info!(
                    tool = name,
                    ms = elapsed.as_millis() as u64,
                    "call succeeded"
                );
                if rendered.saved > 0 {
                    self.saved_changed(&options.owner);
                    let runner = Arc::clone(self);
                    tokio::task::spawn_blocking(move || runner.tidy_outputs());
                }
                let limits = Budget {
                    max_result_bytes: tool.limits.max_result_bytes,
                    preview_max_side: tool.limits.preview_max_side,
                    inline_max_bytes: tool.limits.inline_max_bytes,
                };
                let files = std::mem::take(&mut rendered.files);
                let mut result = assemble(rendered, options.audience, limits, &self.decoding).await;
                if options.view {
                    result.meta = Some(view_meta::of(tool, arguments, files));
                }
                Outcome { result }
            }
            Err(failure) => {
                let message = explain(tool, &failure);
                tracing::warn!(tool = name, ms = elapsed.as_millis() as u64, "{message}");
                let mut result = CallToolResult::error(vec![ContentBlock::text(message)]);
                if options.audience.features.structured {
                    result.structured_content = explain::structured(&failure);
                }
                // The view says what failed and can run the call again.
                if options.view {
                    result.meta = Some(view_meta::of(tool, arguments, Vec::new()));
                }
                Outcome { result }
            }
        })
    }

    /// The error for a tool this server does not have, naming those it has.
    pub(crate) fn unknown_tool(&self, name: &str) -> RunError {
        RunError::UnknownTool {
            name: name.to_string(),
            available: self
                .registry
                .snapshot()
                .iter()
                .map(|t| t.config.name.as_str())
                .collect::<Vec<_>>()
                .join(", "),
        }
    }
}

/// Runs `work`, repeating the last progress report through silent stretches.
async fn keeping_alive<T>(reporter: &Reporter, work: impl Future<Output = T>) -> T {
    tokio::pin!(work);
    // Checked every second, so no silence lasts much past KEEP_ALIVE.
    let mut ticks = tokio::time::interval(KEEP_ALIVE / 10);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            result = &mut work => return result,
            _ = ticks.tick() => reporter.keep_alive(),
        }
    }
}

/// Counts a call in flight for as long as it lives.
struct InFlight<'a>(&'a Runner);

impl<'a> InFlight<'a> {
    fn enter(runner: &'a Runner) -> InFlight<'a> {
        runner.in_flight.fetch_add(1, Ordering::SeqCst);
        InFlight(runner)
    }
}

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        if self.0.in_flight.fetch_sub(1, Ordering::SeqCst) == 1 {
            self.0.idle.notify_waiters();
        }
    }
}
