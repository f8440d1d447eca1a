//! The job tools, `await_job` and `cancel_job`: what a client without the
//! tasks extension calls with the `job_id` a job handle gave it. They exist
//! while some tool may hand out job handles.

use std::sync::Arc;
use std::time::Duration;

use rmcp::ErrorData as McpError;
use rmcp::model::{CallToolResult, ContentBlock, JsonObject, Tool, ToolAnnotations};
use serde_json::{Value, json};

use crate::call::background::{BackgroundCalls, JobError};
use crate::call::progress::ProgressSink;
use crate::config::ToolConfig;
use crate::jobs::{Job, JobId, JobState, Owner};
use crate::naming::builtin::{AWAIT_JOB, CANCEL_JOB};
use crate::server::tasks::{finished, job_error, still_running};

/// The built-in tools, listed while some tool may hand out job handles.
pub(crate) fn builtin_tools(wait: Duration) -> Vec<Tool> {
    let schema = |description: &str| {
        let value = json!({
            "type": "object",
            "properties": {
                "job_id": {"type": "string", "description": description}
            },
            "required": ["job_id"],
            "additionalProperties": false
        });
        match value {
            Value::Object(map) => Arc::new(map),
            _ => Arc::new(JsonObject::new()),
        }
    };
    let await_job = Tool::new(
        AWAIT_JOB,
        format!(
            "Waits for a job that a tool handed back (its answer said the Space was still working \
             and gave a job_id), for up to {}s, then returns the job's result exactly as the tool \
             would have. If the job is still running by then, the answer says so again, with its \
             progress: call await_job again.",
            wait.as_secs()
        ),
        schema("the job_id from the tool's answer"),
    )
    .with_title("Wait for a job")
    .with_annotations(
        ToolAnnotations::with_title("Wait for a job")
            .read_only(true)
            .destructive(false)
            .idempotent(true)
            .open_world(false),
    );
    let cancel_job = Tool::new(
        CANCEL_JOB,
        "Stops a job that a tool handed back (by its job_id), on the Space too. A job that \
         already ended is left as it is.",
        schema("the job_id from the tool's answer"),
    )
    .with_title("Cancel a job")
    .with_annotations(
        ToolAnnotations::with_title("Cancel a job")
            .read_only(false)
            .destructive(true)
            .idempotent(true)
            .open_world(true),
    );
    vec![await_job, cancel_job]
}

/// `await_job` and `cancel_job`.
pub(crate) async fn answer_job_tool(
    background: &BackgroundCalls,
    name: &str,
    arguments: Option<&JsonObject>,
    owner: &Owner,
    progress: Option<ProgressSink>,
    structured: bool,
) -> Result<CallToolResult, McpError> {
    let id = match job_id(name, arguments) {
        Ok(id) => id,
        Err(refused) => return Ok(*refused),
    };
    let tool = |job: &Job| {
        background
            .runner()
            .registry()
            .get(&job.tool)
            .map(|t| t.config.clone())
    };
    let outcome = if name == CANCEL_JOB {
        match background.cancel(&id, owner).await {
            Ok(job) if job.state.is_finished() => Ok(job),
            // The job's end comes once the Space has stopped it.
            Ok(_) => {
                background
                    .wait(&id, owner, Duration::from_secs(5), None)
                    .await
            }
            Err(e) => Err(e),
        }
    } else {
        match background.get(&id, owner).await {
            Ok(found) => {
                let wait = tool(&found)
                    .and_then(|t| t.limits.detach_after)
                    .unwrap_or(crate::config::DEFAULT_DETACH_AFTER);
                background.wait(&id, owner, wait, progress).await
            }
            Err(e) => Err(e),
        }
    };
    let job = match outcome {
        Ok(job) => job,
        Err(JobError::NotFound(_)) => return Ok(not_found(&id, background.ttl())),
        Err(e) => return Err(job_error(e)),
    };
    let config = tool(&job);
    answer(&job, name, config.as_ref(), structured)
}

/// The `job_id` a job tool was given, or the answer that says what it takes.
fn job_id(name: &str, arguments: Option<&JsonObject>) -> Result<JobId, Box<CallToolResult>> {
    let given = arguments.and_then(|a| a.get("job_id"));
    given
        .and_then(Value::as_str)
        .and_then(JobId::parse)
        .ok_or_else(|| {
            let found = match given {
                None => "no job_id".to_string(),
                Some(v) => format!(
                    "job_id {}",
                    crate::result::text::clean_text(&v.to_string(), 80)
                ),
            };
            Box::new(tool_error(format!(
                "{name} needs job_id: the id a tool's answer gave (a string such as \
                 \"0d5c4a1e-…\"); it got {found}"
            )))
        })
}

/// What `name` answers about `job` as it now stands.
fn answer(
    job: &Job,
    name: &str,
    tool: Option<&ToolConfig>,
    structured: bool,
) -> Result<CallToolResult, McpError> {
    let id = &job.id;
    let said = |text: String| Ok(CallToolResult::success(vec![ContentBlock::text(text)]));
    match (&job.state, name) {
        (JobState::Working, CANCEL_JOB) => said(format!(
            "job {id} ({}) was asked to stop; the Space has not confirmed yet",
            job.tool
        )),
        (JobState::Working, _) => match tool {
            Some(config) => Ok(still_running(
                job,
                config,
                config.limits.detach_after.unwrap_or_default(),
                structured,
            )),
            None => Ok(tool_error(format!(
                "job {id} runs a tool this server no longer has"
            ))),
        },
        (JobState::Cancelled, CANCEL_JOB) => said(format!(
            "job {id} ({}) is cancelled; its run on the Space was stopped",
            job.tool
        )),
        (_, CANCEL_JOB) => said(format!(
            "job {id} ({}) had already ended; nothing was stopped",
            job.tool
        )),
        _ => finished(job),
    }
}

fn not_found(id: &JobId, ttl: Duration) -> CallToolResult {
    tool_error(format!(
        "there is no job {id} for you: a job is kept {} minutes after it ends, and only its \
         caller sees it. Call the tool again to start a new job.",
        ttl.as_secs() / 60
    ))
}

fn tool_error(message: String) -> CallToolResult {
    CallToolResult::error(vec![ContentBlock::text(message)])
}
