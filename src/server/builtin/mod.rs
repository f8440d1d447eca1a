//! The server's own tools, one file per family behind one enum, as
//! mini-redis's `cmd/` does: `jobs` (`await_job`, `cancel_job`, while some
//! tool may hand out job handles), `diagnostics` (when `diagnostics =
//! true`), `hub` (when `[hub] tools = true`). Here: which exist now, their
//! definitions for `tools/list`, and the answer to a call of one. (The MCP
//! App view's app-only tools are the view's: `server::app_view`.) Their
//! names live in `naming::builtin`, from which the config's reserved names
//! come, so no configured or generated tool can take one.

use rmcp::model::{CallToolRequestParams, CallToolResponse, Tool};
use rmcp::service::RequestContext;
use rmcp::{ErrorData as McpError, RoleServer};

pub(super) mod diagnostics;
pub(super) mod hub;
pub(super) mod jobs;

use super::SpacesServer;
use crate::call::CallOptions;
use crate::naming::builtin::{AWAIT_JOB, CANCEL_JOB, HUB_CALL, HUB_DESCRIBE, HUB_SEARCH};
use hub::HubAnswer;

/// A family of built-in tools.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Builtin {
    /// `await_job`, `cancel_job`.
    Jobs,
    /// The diagnostic tools.
    Diagnostics,
    /// `hub_search_spaces`, `hub_describe_space`, `hub_call_space`.
    Hub,
}

impl SpacesServer {
    /// The built-in tools that exist now.
    pub(super) fn builtin_tools(&self) -> Vec<Tool> {
        let mut tools = Vec::new();
        if let Some(wait) = self.detach_wait() {
            tools.extend(jobs::builtin_tools(wait));
        }
        if let Some(diagnostics) = &self.diagnostics {
            tools.extend(diagnostics.tools());
        }
        if let Some(hub_tools) = &self.hub_tools {
            tools.extend(hub_tools.tools());
        }
        tools
    }

    /// The built-in a call names, among those that exist now.
    pub(super) fn builtin_of(&self, name: &str) -> Option<Builtin> {
        if (name == AWAIT_JOB || name == CANCEL_JOB) && self.detach_wait().is_some() {
            return Some(Builtin::Jobs);
        }
        if [HUB_SEARCH, HUB_DESCRIBE, HUB_CALL].contains(&name) && self.hub_tools.is_some() {
            return Some(Builtin::Hub);
        }
        self.diagnostics
            .as_ref()
            .filter(|d| d.tools().iter().any(|t| t.name == name))
            .map(|_| Builtin::Diagnostics)
    }

    /// Answers a call of the built-in `which`.
    pub(super) async fn call_builtin(
        &self,
        which: Builtin,
        request: CallToolRequestParams,
        context: RequestContext<RoleServer>,
        options: CallOptions,
    ) -> Result<CallToolResponse, McpError> {
        let unknown = || {
            let e = self.runner.unknown_tool(&request.name);
            McpError::invalid_params(e.to_string(), None)
        };
        match which {
            Builtin::Jobs => jobs::answer_job_tool(
                &self.background,
                &request.name,
                request.arguments.as_ref(),
                &options.owner,
                options.progress.clone(),
                options.audience.features.structured,
            )
            .await
            .map(Into::into),
            Builtin::Diagnostics => {
                let Some(diagnostics) = &self.diagnostics else {
                    return Err(unknown());
                };
                diagnostics
                    .call(&request, &context, self.runner.registry())
                    .await
                    .unwrap_or_else(|| Err(unknown()))
            }
            Builtin::Hub => {
                let Some(hub_tools) = &self.hub_tools else {
                    return Err(unknown());
                };
                let answer = hub_tools
                    .call(&request.name, request.arguments.as_ref(), &options)
                    .await;
                match answer {
                    None => Err(unknown()),
                    Some(HubAnswer::Done(result)) => Ok(result.into()),
                    // A Space's endpoint, called as a configured tool is.
                    Some(HubAnswer::Call { tool, arguments }) => {
                        let tasks_client = context
                            .client_capabilities()
                            .is_some_and(|c| c.supports_tasks());
                        let run = (tasks_client, options.progress.clone());
                        self.answer_call(*tool, Some(arguments), options, run).await
                    }
                }
            }
        }
    }
}
