//! Diagnostic tools, off unless `diagnostics = true` in `[settings]`: for an
//! operator who checks that a deployment (the client, and the proxies and
//! load balancers between) carries what MCP needs end to end. They are the
//! hooks the official conformance suite calls by these names:
//!
//! - `test_trigger_tool_change` adds or removes the tool `diagnostic_probe`:
//!   every client should then hear `notifications/tools/list_changed` (on a
//!   session, or on a 2026-07-28 `subscriptions/listen` stream that asked);
//! - `test_trigger_prompt_change` does the same with the prompt
//!   `diagnostic_probe`, and only the prompt list changes;
//! - `test_missing_capability` asks the client's model for one word
//!   (sampling): a client that did not declare sampling gets the
//!   missing-capability error (-32021, HTTP 400); one that did is asked,
//!   within the request on a session, or with an `input_required` result
//!   (2026-07-28), and the tool answers with what the model said.
//!
//! None of them reaches a Space.

// Sampling is deprecated by SEP-2577, but the suite's capability probe is
// still a sampling tool, and clients still serve it.
#![allow(deprecated)]

use std::sync::atomic::{AtomicBool, Ordering};

use rmcp::model::{
    CallToolRequestParams, CallToolResponse, CallToolResult, ClientCapabilities, ContentBlock,
    CreateMessageRequest, CreateMessageRequestParams, CreateMessageResult, GetPromptResult,
    InputRequest, InputRequiredResult, Prompt, PromptMessage, Role, SamplingMessage, Tool,
};
use rmcp::service::RequestContext;
use rmcp::{ErrorData as McpError, RoleServer};
use serde_json::json;

use crate::tools::Registry;

pub(crate) use crate::naming::builtin::{
    MISSING_CAPABILITY, PROBE, TRIGGER_PROMPT_CHANGE, TRIGGER_TOOL_CHANGE,
};

/// The key of the sampling request in an `input_required` result.
const SAMPLE: &str = "sample";

#[derive(Default)]
pub(crate) struct Diagnostics {
    probe_tool: AtomicBool,
    probe_prompt: AtomicBool,
}

fn tool(name: &str, description: &str) -> Tool {
    let schema = json!({ "type": "object", "properties": {} });
    let schema = match schema {
        serde_json::Value::Object(map) => map,
        _ => Default::default(),
    };
    Tool::new(name.to_string(), description.to_string(), schema)
}

impl Diagnostics {
    /// The diagnostic tools listed now.
    pub(crate) fn tools(&self) -> Vec<Tool> {
        let mut tools = vec![
            tool(
                TRIGGER_TOOL_CHANGE,
                "Diagnostics: adds or removes the tool diagnostic_probe, so that clients are told the tool list changed.",
            ),
            tool(
                TRIGGER_PROMPT_CHANGE,
                "Diagnostics: adds or removes the prompt diagnostic_probe, so that clients are told the prompt list changed.",
            ),
            tool(
                MISSING_CAPABILITY,
                "Diagnostics: asks the client's model for one word (sampling). Needs a client that declares sampling.",
            ),
        ];
        if self.probe_tool.load(Ordering::SeqCst) {
            tools.push(tool(
                PROBE,
                "Diagnostics: answers \"ok\"; test_trigger_tool_change adds and removes it.",
            ));
        }
        tools
    }

    /// The diagnostic prompt, while it is on.
    pub(crate) fn prompts(&self) -> Vec<Prompt> {
        if !self.probe_prompt.load(Ordering::SeqCst) {
            return Vec::new();
        }
        vec![Prompt::new(
            PROBE,
            Some("Diagnostics: test_trigger_prompt_change adds and removes it."),
            None,
        )]
    }

    pub(crate) fn prompt(&self, name: &str) -> Option<GetPromptResult> {
        (name == PROBE && self.probe_prompt.load(Ordering::SeqCst))
            .then(|| GetPromptResult::new(vec![PromptMessage::new_text(Role::User, "Say ok.")]))
    }

    /// Answers a call to a diagnostic tool; `None` for any other name.
    pub(crate) async fn call(
        &self,
        request: &CallToolRequestParams,
        context: &RequestContext<RoleServer>,
        registry: &Registry,
    ) -> Option<Result<CallToolResponse, McpError>> {
        let text = |t: String| {
            Some(Ok(
                CallToolResult::success(vec![ContentBlock::text(t)]).into()
            ))
        };
        // Flips the probe on or off, and says which.
        let toggle = |probe: &AtomicBool, what: &str| {
            let on = !probe.fetch_xor(true, Ordering::SeqCst);
            format!(
                "the {what} {PROBE} was {}",
                if on { "added" } else { "removed" }
            )
        };
        match request.name.as_ref() {
            TRIGGER_TOOL_CHANGE => {
                let said = toggle(&self.probe_tool, "tool");
                registry.tools_changed_elsewhere();
                text(said)
            }
            TRIGGER_PROMPT_CHANGE => {
                let said = toggle(&self.probe_prompt, "prompt");
                registry.prompts_changed_elsewhere();
                text(said)
            }
            PROBE if self.probe_tool.load(Ordering::SeqCst) => text("ok".to_string()),
            MISSING_CAPABILITY => Some(sample(request, context).await),
            _ => None,
        }
    }
}

/// `test_missing_capability`: one word from the client's model.
async fn sample(
    request: &CallToolRequestParams,
    context: &RequestContext<RoleServer>,
) -> Result<CallToolResponse, McpError> {
    let sampling = context
        .client_capabilities()
        .is_some_and(|c| c.sampling.is_some());
    if !sampling {
        return Err(McpError::missing_required_client_capability(
            ClientCapabilities::builder().enable_sampling().build(),
        ));
    }
    let ask = CreateMessageRequestParams::new(
        vec![SamplingMessage::user_text("Answer with one word: ok.")],
        16,
    );
    let stateless = context
        .protocol_version()
        .is_some_and(|v| v.as_str() >= "2026-07-28");
    let answer = if stateless {
        // No request of ours can reach the client mid-call: the answer says
        // what is needed, and the client calls again with it.
        match request.input_responses.as_ref().and_then(|r| r.get(SAMPLE)) {
            None => {
                let requests = [(
                    SAMPLE.to_string(),
                    InputRequest::CreateMessage(CreateMessageRequest::new(ask)),
                )];
                return Ok(
                    InputRequiredResult::new(Some(requests.into_iter().collect()), None).into(),
                );
            }
            Some(value) => {
                serde_json::from_value::<CreateMessageResult>(value.clone()).map_err(|e| {
                    McpError::invalid_params(
                        format!("the input response {SAMPLE:?} is not a sampling result: {e}"),
                        None,
                    )
                })?
            }
        }
    } else {
        context.peer.create_message(ask).await.map_err(|e| {
            McpError::internal_error(format!("the client did not sample: {e}"), None)
        })?
    };
    let said = answer
        .message
        .content
        .first()
        .and_then(|c| c.as_text())
        .map(|t| t.text.clone())
        .unwrap_or_default();
    Ok(CallToolResult::success(vec![ContentBlock::text(format!(
        "the client's model ({}) said: {said}",
        answer.model
    ))])
    .into())
}
