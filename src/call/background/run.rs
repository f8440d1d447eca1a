//! A background call's own work: running it to its end and keeping that
//! end where it is waited for (`JobRun`), and writing its progress to the
//! store once it outlives its request (`store_progress`).

use std::collections::HashMap;
use std::panic::AssertUnwindSafe;
use std::sync::{Arc, Mutex};

use futures_util::FutureExt;
use rmcp::model::JsonObject;
use serde_json::json;

use super::stored::to_json;
use super::{INTERNAL_ERROR, PROGRESS_EVERY, Running};
use crate::call::{CallOptions, Outcome, RunError, Runner};
use crate::config::ToolConfig;
use crate::jobs::{Job, JobId, JobState, JobStore};

/// Until the request is answered, nobody else knows the job: its progress
/// goes to the request alone. After that the latest message goes to the
/// store, at most one write per PROGRESS_EVERY (a Space's queue may report
/// every move of a long line; a shared store should not hear each).
pub(super) async fn store_progress(
    store: Arc<dyn JobStore>,
    id: JobId,
    mut answered: tokio::sync::watch::Receiver<bool>,
    mut latest: tokio::sync::watch::Receiver<String>,
) {
    if answered.wait_for(|answered| *answered).await.is_err() {
        return; // ended first
    }
    latest.mark_changed();
    while latest.changed().await.is_ok() {
        let message = latest.borrow_and_update().clone();
        if let Err(e) = store.progress(&id, message).await {
            tracing::warn!(job = %id.short(), "progress not stored: {e}");
        }
        tokio::time::sleep(PROGRESS_EVERY).await;
    }
}

/// A job's call, run to its end, and its end kept where it is waited for.
pub(super) struct JobRun {
    pub(super) runner: Arc<Runner>,
    pub(super) store: Arc<dyn JobStore>,
    pub(super) running: Arc<Mutex<HashMap<JobId, Running>>>,
    pub(super) tool: ToolConfig,
    pub(super) arguments: Option<JsonObject>,
    pub(super) options: CallOptions,
    pub(super) record: Job,
    /// The store has the job (it outlived its request): its end goes there too.
    pub(super) stored: Arc<tokio::sync::Mutex<bool>>,
    pub(super) ended: tokio::sync::watch::Sender<Option<Job>>,
}

impl JobRun {
    pub(super) async fn run(self) {
        let JobRun {
            runner,
            store,
            running,
            tool,
            arguments,
            options,
            record,
            stored,
            ended,
        } = self;
        let job = record.id.clone();
        let call = runner.call_tool(&tool, arguments.as_ref(), options);
        let outcome = AssertUnwindSafe(call).catch_unwind().await;
        let (state, message) = end_of(outcome, &tool.name, &job);
        {
            let stored = stored.lock().await;
            if *stored
                && let Err(e) = store
                    .finish(&job, state.clone(), Some(message.clone()))
                    .await
            {
                tracing::warn!(job = %job.short(), "the end of a job was not stored: {e}");
            }
            let mut end = record;
            end.state = state;
            end.message = Some(message);
            end.updated = std::time::SystemTime::now();
            ended.send_replace(Some(end));
        }
        crate::locks::lock(&running).remove(&job);
    }
}

/// What a call's end leaves in its job: the state, and a word on it.
fn end_of(
    outcome: std::thread::Result<Result<Outcome, RunError>>,
    name: &str,
    job: &JobId,
) -> (JobState, String) {
    match outcome {
        Ok(Ok(outcome)) => {
            let message = if outcome.result.is_error == Some(true) {
                "the call ended with an error"
            } else {
                "the call succeeded"
            };
            (to_json(&outcome.result), message.to_string())
        }
        Ok(Err(RunError::Cancelled)) => (
            JobState::Cancelled,
            "cancelled; the Space's run was stopped".to_string(),
        ),
        Ok(Err(e @ RunError::UnknownTool { .. })) => (
            JobState::Failed(json!({ "code": -32602, "message": e.to_string() })),
            e.to_string(),
        ),
        Err(_) => {
            tracing::error!(job = %job.short(), tool = name, "a background call panicked");
            let message = format!(
                "internal error: the call to {name} stopped unexpectedly; call the tool again"
            );
            (
                JobState::Failed(json!({ "code": INTERNAL_ERROR, "message": message })),
                message,
            )
        }
    }
}
