//! The MCP handler: each request of the protocol, answered. It is only a
//! handler: what a call does is `call`'s, what a task is `tasks`', what a
//! request brings `request`'s; the transports wire it in (`stdio`, `http`,
//! `sse`).

use rmcp::model::{
    CallToolRequestParams, CallToolResponse, CancelTaskParams, CustomRequest, CustomResult,
    GetPromptRequestParams, GetPromptResponse, GetTaskParams, GetTaskResult, Implementation,
    JsonObject, ListPromptsResult, ListResourcesResult, ListToolsResult, PaginatedRequestParams,
    ReadResourceRequestParams, ReadResourceResponse, ReadResourceResult, ServerCapabilities,
    ServerConfig, SubscriptionFilter, Tool, UpdateTaskParams,
};
use rmcp::service::{NotificationContext, RequestContext, SubscriptionContext};
use rmcp::{ErrorData as McpError, RoleServer, ServerHandler};

use super::app_view;
use super::notify::{self, ListChange, ListChanges};
use super::{SpacesServer, request, task_id, tasks};
use crate::call::progress::ProgressSink;
use crate::call::{CallOptions, RunError};
use crate::config::ToolConfig;
use crate::result::saved::ReadError;

impl ServerHandler for SpacesServer {
    fn get_info(&self) -> ServerConfig {
        let mut implementation = Implementation::new("spaces-mcp", env!("CARGO_PKG_VERSION"));
        implementation.title = Some("Gradio Spaces as tools".into());
        #[allow(deprecated)]
        // logging is deprecated by SEP-2577 but clients still call logging/setLevel
        let capabilities = ServerCapabilities::builder()
            .enable_logging()
            .enable_prompts()
            .enable_prompts_list_changed()
            .enable_tools()
            .enable_tool_list_changed()
            .enable_resources()
            .enable_resources_list_changed()
            .enable_tasks()
            .build();
        ServerConfig::new(capabilities)
            .with_server_info(implementation)
            .with_instructions(
                "Each tool runs a Gradio app, usually a Hugging Face Space. Calls can take from \
                 seconds to minutes; a failed call says why and what to do. File results come \
                 back inline (image, audio) with their URL, or saved to disk with their path.",
            )
    }

    /// Accepts the level; this server logs to stderr and sends no log
    /// notifications, so there is nothing to filter.
    #[allow(deprecated)] // SEP-2577 deprecates logging; clients still send logging/setLevel
    async fn set_level(
        &self,
        request: rmcp::model::SetLevelRequestParams,
        _context: RequestContext<RoleServer>,
    ) -> Result<(), McpError> {
        tracing::debug!(level = ?request.level, "client set the log level");
        *crate::locks::lock(&self.log_level) = Some(request.level);
        Ok(())
    }

    async fn on_initialized(&self, context: NotificationContext<RoleServer>) {
        let owner = request::owner_of_extensions(&context.extensions);
        notify::join(&self.peers, &owner, context.peer);
    }

    async fn list_tools(
        &self,
        _request: Option<PaginatedRequestParams>,
        context: RequestContext<RoleServer>,
    ) -> Result<ListToolsResult, McpError> {
        // A client that lists once gets every tool whose Space answers in time.
        self.runner.registry().first_reads_done().await;
        let mut tools = self.runner.registry().definitions();
        tools.extend(self.builtin_tools());
        if self.shows_view(&context) {
            // Every tool that runs a Space can return media: the view
            // stands beside its results; the app's own tools come last.
            tools = tools
                .into_iter()
                .map(|t| {
                    let runs_a_space = self.runner.registry().get(&t.name).is_some()
                        || t.name == crate::naming::builtin::HUB_CALL;
                    if runs_a_space {
                        app_view::with_view(t)
                    } else {
                        t
                    }
                })
                .collect();
            tools.extend(app_view::app_tools());
        }
        let (ttl, scope) = self.list_cache_hints();
        Ok(ListToolsResult::with_all_items(tools)
            .with_ttl_ms(ttl)
            .with_cache_scope(scope))
    }

    async fn list_prompts(
        &self,
        _request: Option<PaginatedRequestParams>,
        _context: RequestContext<RoleServer>,
    ) -> Result<ListPromptsResult, McpError> {
        self.runner.registry().first_reads_done().await;
        let (ttl, scope) = self.list_cache_hints();
        let mut prompts = self.runner.registry().prompts();
        if let Some(diagnostics) = &self.diagnostics {
            prompts.extend(diagnostics.prompts());
        }
        Ok(ListPromptsResult::with_all_items(prompts)
            .with_ttl_ms(ttl)
            .with_cache_scope(scope))
    }

    async fn get_prompt(
        &self,
        request: GetPromptRequestParams,
        _context: RequestContext<RoleServer>,
    ) -> Result<GetPromptResponse, McpError> {
        if let Some(probe) = self
            .diagnostics
            .as_ref()
            .and_then(|d| d.prompt(&request.name))
        {
            return Ok(probe.into());
        }
        self.runner
            .registry()
            .prompt(&request.name, request.arguments.as_ref())
            .map(Into::into)
            .map_err(|e| McpError::invalid_params(e.to_string(), None))
    }

    /// 2026-07-28 clients hear of list changes on `subscriptions/listen`
    /// streams: every list change this server makes, as each client asks.
    fn accepted_subscription_filter(
        &self,
        requested: &SubscriptionFilter,
    ) -> Option<SubscriptionFilter> {
        let offered = SubscriptionFilter::builder()
            .tools_list_changed()
            .prompts_list_changed()
            .resources_list_changed()
            .build();
        Some(requested.intersection(&offered))
    }

    async fn listen(&self, subscription: SubscriptionContext) -> Result<(), McpError> {
        let sink = subscription.sink();
        let accepted = sink.accepted().clone();
        let owner = request::owner_of(subscription.request_context());
        let mut changes = ListChanges::of_owner(&self.runner, &owner);
        loop {
            let change = tokio::select! {
                _ = subscription.cancelled() => return Ok(()),
                change = changes.next() => change.map(|heard| heard.change),
            };
            let wanted = match change {
                None => return Ok(()),
                Some(ListChange::Tools) => accepted.tools_list_changed,
                Some(ListChange::Prompts) => accepted.prompts_list_changed,
                Some(ListChange::Resources) => accepted.resources_list_changed,
            };
            if wanted == Some(true) {
                let _ = match change {
                    Some(ListChange::Tools) => sink.notify_tool_list_changed().await,
                    Some(ListChange::Prompts) => sink.notify_prompt_list_changed().await,
                    _ => sink.notify_resource_list_changed().await,
                };
            }
        }
    }

    /// The files calls saved, newest first: what their `resource_link`s name.
    async fn list_resources(
        &self,
        _request: Option<PaginatedRequestParams>,
        context: RequestContext<RoleServer>,
    ) -> Result<ListResourcesResult, McpError> {
        let runner = self.runner.clone();
        let owner = request::owner_of(&context);
        let mut files = tokio::task::spawn_blocking(move || runner.saved_files(&owner))
            .await
            .unwrap_or_default();
        if self.shows_view(&context) {
            files.insert(0, app_view::resource());
        }
        Ok(ListResourcesResult::with_all_items(files))
    }

    /// A saved file of the caller's, read from its owner's folder only.
    async fn read_resource(
        &self,
        request: ReadResourceRequestParams,
        context: RequestContext<RoleServer>,
    ) -> Result<ReadResourceResponse, McpError> {
        if request.uri == app_view::VIEW_URI {
            return Ok(ReadResourceResult::new(vec![app_view::contents()]).into());
        }
        let owner = request::owner_of(&context);
        match self.runner.read_saved(&owner, &request.uri).await {
            Ok(contents) => Ok(ReadResourceResult::new(vec![contents]).into()),
            Err(e @ (ReadError::NotFound(_) | ReadError::NotOurs(_))) => {
                Err(McpError::resource_not_found(
                    e.to_string(),
                    Some(serde_json::json!({ "uri": request.uri })),
                ))
            }
            Err(e @ ReadError::TooLarge { .. }) => Err(McpError::invalid_request(
                e.to_string(),
                Some(serde_json::json!({ "uri": request.uri })),
            )),
            Err(e) => Err(McpError::internal_error(e.to_string(), None)),
        }
    }

    fn get_tool(&self, name: &str) -> Option<Tool> {
        if let Some(tool) = self.runner.registry().get(name) {
            return Some(tool.definition.clone());
        }
        let builtin = self.detach_wait().map(super::builtin::jobs::builtin_tools);
        let diagnostic = self.diagnostics.as_ref().map(|d| d.tools());
        builtin
            .into_iter()
            .chain(diagnostic)
            .flatten()
            .find(|t| t.name == name)
    }

    async fn get_task(
        &self,
        request: GetTaskParams,
        context: RequestContext<RoleServer>,
    ) -> Result<GetTaskResult, McpError> {
        let owner = request::owner_of(&context);
        let job = self.task_job(&request.task_id, &owner).await?;
        let timeout = self.timeout_of(&job.tool);
        Ok(GetTaskResult::new(tasks::detailed(
            &job,
            self.background.ttl(),
            timeout,
        )))
    }

    /// No task of ours asks the client for input: responses are ignored, as
    /// the spec says for keys not outstanding.
    async fn update_task(
        &self,
        request: UpdateTaskParams,
        context: RequestContext<RoleServer>,
    ) -> Result<(), McpError> {
        let owner = request::owner_of(&context);
        self.task_job(&request.task_id, &owner).await.map(|_| ())
    }

    async fn cancel_task(
        &self,
        request: CancelTaskParams,
        context: RequestContext<RoleServer>,
    ) -> Result<(), McpError> {
        let owner = request::owner_of(&context);
        let id = task_id(&request.task_id)?;
        self.background
            .cancel(&id, &owner)
            .await
            .map(|_| ())
            .map_err(tasks::job_error)
    }

    /// rmcp hands over a request whose params it could not read as a custom
    /// request; for MCP's own methods that means malformed params, which
    /// JSON-RPC calls -32602, not "method not found".
    async fn on_custom_request(
        &self,
        request: CustomRequest,
        context: RequestContext<RoleServer>,
    ) -> Result<CustomResult, McpError> {
        // 2026-07-28 removed `initialize`: a request on that lifecycle naming
        // it names a method that does not exist.
        let inline = context
            .meta
            .protocol_version()
            .is_some_and(|v| v.as_str() >= "2026-07-28");
        if inline && request.method == "initialize" {
            return Err(McpError::new(
                rmcp::model::ErrorCode::METHOD_NOT_FOUND,
                "method not found: initialize (removed in protocol 2026-07-28; send server/discover)",
                None,
            ));
        }
        const OWN: &[&str] = &[
            "initialize",
            "ping",
            "tools/list",
            "tools/call",
            "resources/list",
            "resources/read",
        ];
        if OWN.contains(&request.method.as_str()) {
            return Err(McpError::invalid_params(
                format!(
                    "the params of {} are malformed (tools/call takes {{\"name\": string, \"arguments\": object}})",
                    request.method
                ),
                None,
            ));
        }
        Err(McpError::new(
            rmcp::model::ErrorCode::METHOD_NOT_FOUND,
            format!("method not found: {}", request.method),
            None,
        ))
    }

    async fn call_tool(
        &self,
        request: CallToolRequestParams,
        context: RequestContext<RoleServer>,
    ) -> Result<CallToolResponse, McpError> {
        // Logs go only to a request that asks for them: its own level
        // (2026-07-28), or its session's (`logging/setLevel`).
        let session_log_level = *crate::locks::lock(&self.log_level);
        // Cancelled at once should its session end (DELETE, idle expiry).
        let _in_session = self.session_calls.enter(&context);
        let options = request::call_options(&context, &self.runner, session_log_level);
        tracing::debug!(
            tool = %request.name,
            http = context.extensions.get::<axum::http::request::Parts>().is_some(),
            client_token = options.client_token.is_some(),
            "tools/call"
        );
        if let Some(which) = self.builtin_of(&request.name) {
            return self.call_builtin(which, request, context, options).await;
        }
        // The view's own tools, for a client that shows it (owner checks
        // and limits as for any call; others know no such tool).
        if options.view
            && let Some(result) = app_view::call(
                &self.runner,
                &request.name,
                request.arguments.as_ref(),
                &options.owner,
            )
            .await
        {
            return Ok(result.into());
        }
        let progress = options.progress.clone();
        let tasks_client = context
            .client_capabilities()
            .is_some_and(|c| c.supports_tasks());
        let tool = match self.runner.registry().get(&request.name) {
            Some(tool) => tool.config.clone(),
            None => {
                let unknown = self.runner.unknown_tool(&request.name);
                return Err(McpError::invalid_params(unknown.to_string(), None));
            }
        };
        let run = (tasks_client, progress);
        self.answer_call(tool, request.arguments, options, run)
            .await
    }
}

impl SpacesServer {
    /// Whether this request's client shows the MCP App view (declared the
    /// extension, and the config leaves it on).
    fn shows_view(&self, context: &RequestContext<RoleServer>) -> bool {
        self.runner.settings().app_view
            && app_view::negotiated(context.client_capabilities().as_ref())
    }

    /// Runs a tool call: as a task or job when the tool and client say so,
    /// else in its request. Configured tools and the Hub tools' calls alike.
    pub(super) async fn answer_call(
        &self,
        tool: ToolConfig,
        arguments: Option<JsonObject>,
        options: CallOptions,
        (tasks_client, progress): (bool, Option<ProgressSink>),
    ) -> Result<CallToolResponse, McpError> {
        let owner = options.owner.clone();
        if let Some(later) = tasks::JobMode::of(&tool, tasks_client)? {
            return tasks::call_in_background(
                &self.background,
                &tool,
                arguments,
                options,
                owner,
                later,
                progress,
            )
            .await;
        }
        match self
            .runner
            .call_tool(&tool, arguments.as_ref(), options)
            .await
        {
            Ok(outcome) => Ok(outcome.result.into()),
            Err(e @ RunError::UnknownTool { .. }) => {
                Err(McpError::invalid_params(e.to_string(), None))
            }
            Err(e @ RunError::Cancelled) => Err(McpError::internal_error(e.to_string(), None)),
        }
    }
}
