//! Answers to calls that may outlive their request, and MCP tasks.
//!
//! A client that declares the tasks extension (`io.modelcontextprotocol/tasks`)
//! gets an MCP task for a call still running after [`TASK_GRACE`], and polls
//! it with `tasks/get`. Any other client gets, for a call still running after
//! the tool's `detach_after`, a job handle: an answer that is not an error,
//! with the progress so far and a `job_id`, which the built-in tools
//! `await_job` and `cancel_job` take (`builtin::jobs`). Either way the
//! Space's run goes on.
//!
//! Jobs belong to the caller that started them (`request::owner_of`): another
//! caller's job is, to everyone else, no job at all.

use std::time::{Duration, SystemTime};

use rmcp::ErrorData as McpError;
use rmcp::model::{
    CallToolResponse, CallToolResult, ClientCapabilities, ContentBlock, CreateTaskResult,
    DetailedTask, ErrorCode, JsonObject, Task, TaskPayload, TaskStatus,
};
use serde_json::{Value, json};

use crate::call::background::{BackgroundCalls, Detached, JobError, result_of, wire_json};
use crate::call::progress::ProgressSink;
use crate::call::{CallOptions, RunError};
use crate::config::{TaskSupport, ToolConfig};
use crate::jobs::{Job, JobState, Owner, iso8601};
use crate::naming::builtin::{AWAIT_JOB, CANCEL_JOB};

/// A call to a task-capable tool that ends within this is answered in the
/// request: quick calls stay quick.
pub(super) const TASK_GRACE: Duration = Duration::from_millis(500);

/// How often task clients are asked to poll.
const POLL_INTERVAL_MS: u64 = 1000;

/// How a call that may outlive its request is answered once it has run a while.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) enum JobMode {
    /// As a task, if it is still running after [`TASK_GRACE`].
    Task,
    /// With a job handle, if it is still running after this long.
    Handle(Duration),
}

impl JobMode {
    /// For a call to `tool` from a client that does (or does not) declare
    /// the tasks extension on this request: `None` when it is answered in the
    /// request however long it takes.
    pub(super) fn of(tool: &ToolConfig, tasks_client: bool) -> Result<Option<JobMode>, McpError> {
        match (tool.limits.task_support, tasks_client) {
            (TaskSupport::Required, false) => Err(McpError::missing_required_client_capability(
                ClientCapabilities::builder().enable_tasks().build(),
            )),
            (TaskSupport::Optional | TaskSupport::Required, true) => Ok(Some(JobMode::Task)),
            (TaskSupport::Forbidden, true) => Ok(None),
            (_, false) => Ok(tool.limits.detach_after.map(JobMode::Handle)),
        }
    }
}

/// Runs a call as a job and answers once it ends or `mode`'s wait is over.
pub(super) async fn call_in_background(
    background: &BackgroundCalls,
    tool: &ToolConfig,
    arguments: Option<JsonObject>,
    mut options: CallOptions,
    owner: Owner,
    later: JobMode,
    progress: Option<ProgressSink>,
) -> Result<CallToolResponse, McpError> {
    // A task's client polls for its result: it may wait out a GPU quota.
    options.polled = matches!(later, JobMode::Task);
    let wait = match later {
        JobMode::Task => TASK_GRACE,
        JobMode::Handle(after) => after,
    };
    let request_cancelled = options.cancel.clone();
    let features = options.audience.features;
    // A task is background work by request: a caller (or the server) at its
    // job limit gets an answer the model can act on, before anything runs.
    // A call that may only become a job handle is started, and answered in
    // its request if it is still running at the limit.
    if matches!(later, JobMode::Task)
        && let Err(limit) = background.has_room(&owner)
    {
        tracing::warn!(tool = tool.name, "{limit}");
        return Ok(CallToolResponse::Complete(CallToolResult::error(vec![
            ContentBlock::text(format!("{} was not started: {limit}", tool.name)),
        ])));
    }
    let started = background
        .start(tool, arguments, options, owner)
        .await
        .map_err(job_error)?;
    let id = started.id.clone();
    // Cancelled before it was answered: the job goes too (nobody was told of it).
    let cancelled = || {
        background.cancel_here(&id);
        McpError::internal_error(RunError::Cancelled.to_string(), None)
    };
    let ended = tokio::select! {
        ended = background.wait_for_end(&started, wait, progress.clone()) => ended,
        _ = request_cancelled.cancelled() => return Err(cancelled()),
    };
    if let Some(job) = ended {
        return finished(&job).map(CallToolResponse::Complete);
    }
    let job = match background.detach(&started).await {
        Ok(Detached::Stored(job)) => job,
        Ok(Detached::Ended(job)) => return finished(&job).map(CallToolResponse::Complete),
        // No job can be kept (a fleet's store is away, or the caller is at
        // its job limit): the request waits for the call's end instead, as
        // for a client that waits.
        Err(e @ (JobError::Store(_) | JobError::Limit(_))) => {
            tracing::warn!(tool = tool.name, "{e}; answering the call in its request");
            let longest = tool.limits.timeout + Duration::from_secs(30);
            let ended = tokio::select! {
                ended = background.wait_for_end(&started, longest, progress) => ended,
                _ = request_cancelled.cancelled() => return Err(cancelled()),
            };
            return ended_in_request(ended, tool);
        }
        Err(e) => return Err(job_error(e)),
    };
    Ok(going_on(
        &job,
        tool,
        later,
        background.ttl(),
        features.structured,
    ))
}

/// The answer of a call that had to end in its request: its end, or that
/// it did not end in time.
fn ended_in_request(ended: Option<Job>, tool: &ToolConfig) -> Result<CallToolResponse, McpError> {
    match ended {
        Some(job) => finished(&job).map(CallToolResponse::Complete),
        None => Err(McpError::internal_error(
            format!("{} did not end within its timeout", tool.name),
            None,
        )),
    }
}

/// The answer for a call that goes on: a task, or a job handle.
fn going_on(
    job: &Job,
    tool: &ToolConfig,
    later: JobMode,
    ttl: Duration,
    structured: bool,
) -> CallToolResponse {
    match later {
        JobMode::Task => {
            tracing::info!(job = %job.id.short(), tool = tool.name, "the call goes on as a task");
            CallToolResponse::Task(CreateTaskResult::new(task(job, ttl, tool.limits.timeout)))
        }
        JobMode::Handle(wait) => {
            tracing::info!(job = %job.id.short(), tool = tool.name, "the call goes on in the background; answered with a job handle");
            still_running(job, tool, wait, structured).into()
        }
    }
}

/// A finished job's end, as the call would have answered it.
pub(super) fn finished(job: &Job) -> Result<CallToolResult, McpError> {
    match &job.state {
        JobState::Completed(value) => result_of(value).ok_or_else(|| {
            McpError::internal_error(
                format!("the kept result of job {} is unreadable", job.id),
                None,
            )
        }),
        JobState::Failed(error) => Err(protocol_error(error)),
        JobState::Cancelled => Ok(CallToolResult::error(vec![ContentBlock::text(format!(
            "job {} ({}) was cancelled, and its job on the Space stopped; call {} again to start over",
            job.id, job.tool, job.tool
        ))])),
        JobState::Working => Err(McpError::internal_error("the job is still running", None)),
    }
}

/// A kept JSON-RPC error, as an error again.
fn protocol_error(error: &Value) -> McpError {
    let code = error
        .get("code")
        .and_then(Value::as_i64)
        .and_then(|c| i32::try_from(c).ok())
        .unwrap_or(-32603);
    let message = error
        .get("message")
        .and_then(Value::as_str)
        .unwrap_or("the call failed")
        .to_string();
    McpError::new(ErrorCode(code), message, error.get("data").cloned())
}

/// The job as an MCP task: its id, status, times and how long it is kept.
pub(super) fn task(job: &Job, ttl: Duration, timeout: Duration) -> Task {
    let status = match job.state {
        JobState::Working => TaskStatus::Working,
        JobState::Completed(_) => TaskStatus::Completed,
        JobState::Failed(_) => TaskStatus::Failed,
        JobState::Cancelled => TaskStatus::Cancelled,
    };
    // From creation: until its end (at most the tool's timeout), plus the
    // time it is kept after.
    let lived = match job.state {
        JobState::Working => timeout,
        _ => job.updated.duration_since(job.created).unwrap_or_default(),
    };
    let mut task = Task::new(
        job.id.to_string(),
        status,
        iso8601(job.created),
        iso8601(job.updated),
    )
    .with_ttl_ms(u64::try_from((lived + ttl).as_millis()).unwrap_or(u64::MAX))
    .with_poll_interval_ms(POLL_INTERVAL_MS);
    if let Some(message) = &job.message {
        task = task.with_status_message(message.clone());
    }
    task
}

/// The job as `tasks/get` returns it: the task, and its result or error.
pub(super) fn detailed(job: &Job, ttl: Duration, timeout: Duration) -> DetailedTask {
    let object = |value: &Value| match value {
        Value::Object(map) => map.clone(),
        other => {
            let mut map = JsonObject::new();
            map.insert("value".into(), other.clone());
            map
        }
    };
    let payload = match &job.state {
        JobState::Working => TaskPayload::Working,
        // What the store holds passes the same gate as `tasks/result`
        // (a shared store is a trust boundary), in the answer's own JSON.
        JobState::Completed(result) => match result_of(result).map(|r| wire_json(&r)) {
            Some(Ok(result)) => TaskPayload::Completed {
                result: object(&result),
            },
            _ => TaskPayload::Failed {
                error: object(&json!({
                    "code": -32603,
                    "message": format!("the kept result of job {} is unreadable", job.id),
                })),
            },
        },
        JobState::Failed(error) => TaskPayload::Failed {
            error: object(error),
        },
        JobState::Cancelled => TaskPayload::Cancelled,
    };
    DetailedTask::new(task(job, ttl, timeout), payload)
}

/// The answer for a job still running: not an error, but what it is doing,
/// its `job_id`, and what to call next.
pub(super) fn still_running(
    job: &Job,
    tool: &ToolConfig,
    wait: Duration,
    structured: bool,
) -> CallToolResult {
    let elapsed = SystemTime::now()
        .duration_since(job.created)
        .unwrap_or_default()
        .as_secs();
    let progress = job
        .message
        .clone()
        .unwrap_or_else(|| "waiting for the Space".to_string());
    let text = format!(
        "{name} is still running on the Space {space} (endpoint {api}) after {elapsed}s: {progress}. \
         It goes on in the background. To get its result, call {AWAIT_JOB} with job_id \"{id}\" \
         (it waits up to {wait}s; call it again while the job runs). To stop it, call {CANCEL_JOB} \
         with the same job_id.",
        name = tool.name,
        space = tool.space,
        api = tool.api,
        id = job.id,
        wait = wait.as_secs(),
    );
    let mut result = CallToolResult::success(vec![ContentBlock::text(text)]);
    if structured {
        result.structured_content = Some(json!({
            "job_id": job.id.as_str(),
            "status": "working",
            "tool": tool.name,
            "elapsed_seconds": elapsed,
            "progress": progress,
        }));
    }
    result
}

/// A job error as the JSON-RPC error the spec gives it.
pub(super) fn job_error(e: JobError) -> McpError {
    match e {
        JobError::NotFound(id) => McpError::invalid_params(
            format!(
                "Failed to retrieve task: no task {id} (it never existed, belongs to another caller, or expired)"
            ),
            None,
        ),
        JobError::Store(e) => McpError::internal_error(e.to_string(), None),
        JobError::Limit(e) => McpError::invalid_request(e.to_string(), None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;

    fn tool(extra: &str) -> ToolConfig {
        let text = format!("[tools.t]\nspace = \"a/b\"\napi = \"/x\"\n{extra}");
        Config::parse(&text, "t").unwrap().tools.remove(0)
    }

    #[test]
    fn each_tool_and_client_gets_its_mode() {
        let optional = tool("");
        assert_eq!(JobMode::of(&optional, true).unwrap(), Some(JobMode::Task));
        assert_eq!(
            JobMode::of(&optional, false).unwrap(),
            Some(JobMode::Handle(crate::config::DEFAULT_DETACH_AFTER))
        );
        let forbidden = tool("task_support = \"forbidden\"\ndetach_after = 0\n");
        assert_eq!(JobMode::of(&forbidden, true).unwrap(), None);
        assert_eq!(JobMode::of(&forbidden, false).unwrap(), None);
        let required = tool("task_support = \"required\"\n");
        assert_eq!(JobMode::of(&required, true).unwrap(), Some(JobMode::Task));
        let refused = JobMode::of(&required, false).unwrap_err();
        assert_eq!(refused.code, ErrorCode::MISSING_REQUIRED_CLIENT_CAPABILITY);
        assert!(
            refused
                .data
                .is_some_and(|d| d.to_string().contains("io.modelcontextprotocol/tasks"))
        );
    }

    #[test]
    fn a_job_is_a_task_with_its_status_times_and_result() {
        let ttl = Duration::from_secs(3600);
        let timeout = Duration::from_secs(120);
        let mut job = Job::new(Owner::local(), "t", ttl);
        job.message = Some("in queue: position 2 of 3".into());
        let working = task(&job, ttl, timeout);
        assert_eq!(working.status, TaskStatus::Working);
        assert_eq!(working.ttl_ms, Some(3_720_000));
        assert_eq!(working.poll_interval_ms, Some(POLL_INTERVAL_MS));
        assert_eq!(
            working.status_message.as_deref(),
            Some("in queue: position 2 of 3")
        );
        assert!(working.created_at.ends_with('Z'));

        let result = CallToolResult::error(vec![ContentBlock::text("the Space failed")]);
        job.state = JobState::Completed(wire_json(&result).unwrap());
        job.updated = job.created + Duration::from_secs(5);
        let detailed = detailed(&job, ttl, timeout);
        assert_eq!(detailed.status(), TaskStatus::Completed);
        assert_eq!(detailed.task.ttl_ms, Some(3_605_000));
        // The result comes back exactly: a tool error stays a completed result.
        assert_eq!(finished(&job).unwrap(), result);

        job.state = JobState::Failed(json!({"code": -32603, "message": "it broke"}));
        let error = finished(&job).unwrap_err();
        assert_eq!((error.code.0, error.message.as_ref()), (-32603, "it broke"));
        assert!(matches!(
            detailed_payload(&job),
            TaskPayload::Failed { error } if error["message"] == "it broke"
        ));

        job.state = JobState::Cancelled;
        let cancelled = finished(&job).unwrap();
        assert_eq!(cancelled.is_error, Some(true));
    }

    fn detailed_payload(job: &Job) -> TaskPayload {
        detailed(job, Duration::from_secs(1), Duration::from_secs(1)).payload
    }
}
