//! Running one tool call end to end: check the arguments, call the Space, turn
//! its outputs into content, all within the tool's timeout. The MCP handler
//! and the CLI's `call` both go through here.
//!
//! A call that fails is still an answer: a result with `isError` and one line
//! that says which tool, which Space and endpoint, what went wrong and what to
//! do, so the model (and the person behind it) can act on it.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use rmcp::model::{CallToolResult, ContentBlock, JsonObject};
use serde_json::{Value, json};
use tokio_util::sync::CancellationToken;

use crate::config::{InputConfig, Settings, ToolConfig, ValueKind};
use crate::discover::discovered_tool;
use crate::discovery::OnChange;
use crate::gradio::{GradioError, HfToken, Observer, SpaceClient, SpacePool, Stage};
use crate::inputs::{self, FileSource};
use crate::output::{Features, OutputError, RenderOptions, Rendered, render};
use crate::progress::{KEEP_ALIVE, ProgressSink, Reporter, SPACE_TEXT_MAX, clean_text, strip_html};
use crate::tools::{
    Arguments, Discovery, Registry, ToolError, check_arguments, output_names, positional_data,
};

/// The tools, the Space clients and the settings, shared by every call.
pub struct Runner {
    registry: Registry,
    pool: SpacePool,
    settings: Settings,
    token: Option<HfToken>,
    in_flight: AtomicUsize,
    idle: tokio::sync::Notify,
    /// Told when a call learns a tool's inputs that the list did not have.
    on_change: std::sync::OnceLock<OnChange>,
}

/// How one call is to be made.
#[derive(Clone)]
pub struct CallOptions {
    pub features: Features,
    pub save_all: bool,
    /// Stops the call when it fires (the client cancelled, or went away).
    pub cancel: CancellationToken,
    /// The HF token the MCP client sent with this request, used instead of the
    /// server's own for this call only (when the config allows it).
    pub client_token: Option<HfToken>,
    /// Where progress reports go, when the client asked for them.
    pub progress: Option<ProgressSink>,
}

/// Why a call produced no result at all.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    #[error("unknown tool {name:?}; this server has {available}")]
    UnknownTool { name: String, available: String },
    #[error("the call was cancelled")]
    Cancelled,
}

/// Why a call failed, in the order it can happen.
#[derive(Debug, thiserror::Error)]
enum Failure {
    #[error(transparent)]
    Arguments(ToolError),
    #[error(transparent)]
    Mapping(ToolError),
    #[error(transparent)]
    Gradio(#[from] GradioError),
    #[error(transparent)]
    Output(#[from] OutputError),
    #[error("no result within {}s", .0.as_secs())]
    Timeout(Duration),
}

/// A finished call: the MCP result, and the files it saved (for the CLI).
pub struct Outcome {
    pub result: CallToolResult,
    pub saved: Vec<std::path::PathBuf>,
}

impl Runner {
    pub fn new(registry: Registry, settings: Settings, token: Option<HfToken>) -> Runner {
        Runner {
            registry,
            pool: SpacePool::new(settings.space_concurrency),
            settings,
            token,
            in_flight: AtomicUsize::new(0),
            idle: tokio::sync::Notify::new(),
            on_change: std::sync::OnceLock::new(),
        }
    }

    /// Who to tell when a call changes the tool list (the MCP handler).
    pub fn set_on_change(&self, on_change: OnChange) {
        let _ = self.on_change.set(on_change);
    }

    pub fn registry(&self) -> &Registry {
        &self.registry
    }

    /// The client of a Space, made on first use.
    pub fn client(
        &self,
        space: &crate::gradio::SpaceRef,
    ) -> Result<Arc<crate::gradio::SpaceClient>, GradioError> {
        self.pool.client(space)
    }

    /// The server's own HF token, for a tool that may send it.
    pub fn token_for(&self, send: bool) -> Option<&HfToken> {
        if send { self.token.as_ref() } else { None }
    }

    /// Whether a client's own HF token may replace the server's (`client_hf_token`).
    pub fn accepts_client_token(&self) -> bool {
        self.settings.client_hf_token
    }

    /// Waits (at most `limit`) for cancels still on their way to Spaces.
    pub async fn settle_cancels(&self, limit: Duration) {
        self.pool.settle_cancels(limit).await;
    }

    /// Calls running now.
    pub fn in_flight(&self) -> usize {
        self.in_flight.load(Ordering::SeqCst)
    }

    /// Waits until no call runs, or `limit` passes; says whether it got there.
    pub async fn wait_idle(&self, limit: Duration) -> bool {
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

    pub async fn call(
        self: &Arc<Self>,
        name: &str,
        arguments: Option<&JsonObject>,
        options: CallOptions,
    ) -> Result<Outcome, RunError> {
        let tool = self
            .registry
            .get(name)
            .ok_or_else(|| RunError::UnknownTool {
                name: name.to_string(),
                available: self
                    .registry
                    .snapshot()
                    .iter()
                    .map(|t| t.config.name.as_str())
                    .collect::<Vec<_>>()
                    .join(", "),
            })?;
        let tool = &tool.config;
        let _counted = InFlight::enter(self);
        let started = std::time::Instant::now();
        let reporter = Reporter::new(options.progress.clone());
        let work = tokio::time::timeout(
            tool.limits.timeout,
            keeping_alive(&reporter, self.run(tool, arguments, &options, &reporter)),
        );
        let result = tokio::select! {
            biased;
            _ = options.cancel.cancelled() => {
                tracing::info!(tool = name, "call cancelled by the client");
                return Err(RunError::Cancelled);
            }
            result = work => result.unwrap_or(Err(Failure::Timeout(tool.limits.timeout))),
        };
        let elapsed = started.elapsed();
        Ok(match result {
            Ok(rendered) => {
                tracing::info!(
                    tool = name,
                    ms = elapsed.as_millis() as u64,
                    "call succeeded"
                );
                let Rendered {
                    content,
                    structured,
                    saved,
                    ..
                } = rendered;
                let mut result = CallToolResult::success(content);
                if options.features.structured {
                    result.structured_content = Some(Value::Object(structured));
                }
                Outcome { result, saved }
            }
            Err(failure) => {
                let message = explain(tool, &failure);
                tracing::warn!(tool = name, ms = elapsed.as_millis() as u64, "{message}");
                Outcome {
                    result: CallToolResult::error(vec![ContentBlock::text(message)]),
                    saved: Vec::new(),
                }
            }
        })
    }

    async fn run(
        &self,
        tool: &ToolConfig,
        arguments: Option<&JsonObject>,
        options: &CallOptions,
        reporter: &Reporter,
    ) -> Result<Rendered, Failure> {
        let observe = |stage| reporter.stage(stage);
        let token = if tool.send_hf_token {
            options.client_token.as_ref().or(self.token.as_ref())
        } else {
            None
        };
        let client = self.pool.client(&tool.space)?;
        // A tool that lists its inputs is checked before anything is sent; one
        // whose inputs come from the Space is checked against them as the
        // Space describes them now.
        let derived;
        let tool = if tool.discovered {
            let endpoint = client.endpoint(&tool.api, token, &observe).await?;
            derived = discovered_tool(tool, &endpoint);
            // A Space that did not answer at start-up has now: clients learn its tool.
            if self.registry.put(derived.clone(), Discovery::Known)
                && let Some(on_change) = self.on_change.get()
            {
                on_change();
            }
            &derived
        } else {
            tool
        };
        let mut arguments = check_arguments(tool, arguments).map_err(Failure::Arguments)?;
        self.send_files(tool, &mut arguments, &client, token, &observe)
            .await?;
        let endpoint = client.endpoint(&tool.api, token, &observe).await?;
        let data = positional_data(tool, &arguments, &endpoint).map_err(Failure::Mapping)?;
        let names = output_names(tool, &endpoint);
        let idle = tool.limits.idle_timeout;
        tracing::debug!(tool = %tool.name, space = %tool.space, api = %tool.api, inputs = data.len(), "calling the Space");
        let outputs = client.call(&tool.api, data, token, idle, &observe).await?;
        if outputs.iter().any(Value::is_object) {
            reporter.stage(Stage::Downloading);
        }
        let render_options = RenderOptions {
            features: options.features,
            save_all: options.save_all,
            output_dir: &self.settings.output_dir,
            private_output_dir: self.settings.private_output_dir,
            inline_max_bytes: tool.limits.inline_max_bytes,
            download_max_bytes: tool.limits.download_max_bytes,
            idle,
            token,
        };
        Ok(render(&client, outputs, &endpoint.returns, &names, &render_options).await?)
    }
}

impl Runner {
    /// Turns what the model gave for each file input into Gradio's FileData:
    /// a URL for the Space to fetch, or a path of ours uploaded first.
    async fn send_files(
        &self,
        tool: &ToolConfig,
        arguments: &mut Arguments,
        client: &SpaceClient,
        token: Option<&HfToken>,
        observe: Observer<'_>,
    ) -> Result<(), Failure> {
        for (name, input) in &tool.inputs {
            let InputConfig::Exposed(input) = input else {
                continue;
            };
            if input.kind != ValueKind::File {
                continue;
            }
            let Some(Value::String(given)) = arguments.get(name).cloned() else {
                continue;
            };
            let invalid = |problem: String| {
                Failure::Arguments(ToolError::InvalidArgument {
                    name: name.clone(),
                    problem,
                })
            };
            let source = inputs::resolve(
                &given,
                &self.settings.input_dirs,
                tool.limits.download_max_bytes,
            )
            .map_err(invalid)?;
            let (path, orig_name) = match source {
                FileSource::Url(url) => {
                    let orig = url.rsplit('/').next().unwrap_or("file").to_string();
                    (url, orig)
                }
                FileSource::Bytes {
                    name: file_name,
                    bytes,
                } => {
                    let path = client
                        .upload(&file_name, bytes, token, tool.limits.idle_timeout, observe)
                        .await?;
                    (path, file_name)
                }
            };
            let file = json!({ "path": path, "orig_name": orig_name, "meta": { "_type": "gradio.FileData" } });
            arguments.insert(name.clone(), file);
        }
        Ok(())
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

/// One line: what failed, where, why, and what to do.
fn explain(tool: &ToolConfig, failure: &Failure) -> String {
    let where_ = format!(
        "{} (Space {}, endpoint {})",
        tool.name, tool.space, tool.api
    );
    if let Failure::Arguments(e) = failure {
        return format!(
            "{}: invalid arguments: {e}. Fix the arguments and call again.",
            tool.name
        );
    }
    let hint = hint(tool, failure);
    let cause = match failure {
        // Apps (ZeroGPU above all) write HTML for a browser; the model reads text.
        Failure::Gradio(GradioError::App(message)) => {
            format!("the Space reported an error: {}", strip_html(message))
        }
        other => other.to_string(),
    };
    // Whatever a Space wrote reaches the model bounded and without escapes.
    let cause = clean_text(&cause, SPACE_TEXT_MAX);
    let mut line = format!("{where_} failed: {cause}");
    if !hint.is_empty() {
        line.push_str(". ");
        line.push_str(&hint);
    }
    line
}

fn hint(tool: &ToolConfig, failure: &Failure) -> String {
    let page = tool.space.page();
    match failure {
        Failure::Arguments(_) => String::new(),
        Failure::Mapping(_) => "The config does not match the Space's API; see the Space's \"Use via API\" page.".into(),
        Failure::Timeout(_) => format!(
            "The Space may be busy, asleep or overloaded: try again, or raise `timeout` for this tool in spaces.toml (now {}s).",
            tool.limits.timeout.as_secs()
        ),
        Failure::Output(OutputError::Save { .. }) => "Set `output_dir` in spaces.toml to a folder this user can write.".into(),
        Failure::Output(OutputError::NoLocation) => String::new(),
        Failure::Gradio(e) | Failure::Output(OutputError::Download(e)) => match e {
            GradioError::Unreachable { .. } if tool.space.is_hub() => format!(
                "Check that the Space exists and is running at {page}; a sleeping Space takes a minute or two to wake, so try again."
            ),
            GradioError::Unreachable { .. } => format!("Check that the Gradio app is running at {page}."),
            GradioError::Http { status: 401 | 403, .. } => {
                "The Space may be private or gated: set HF_TOKEN to a Hugging Face token that can access it.".into()
            }
            GradioError::Http { status: 404, .. } => {
                format!("No Gradio app answers there: check `space` in spaces.toml, and that {page} is up.")
            }
            GradioError::Http { status: 429, .. } => {
                "The Space is rate-limiting: wait a little, or set HF_TOKEN so calls count against your own account.".into()
            }
            GradioError::Http { status: 500..=599, .. } => format!("The Space failed; it may be restarting: try again later, or check {page}."),
            GradioError::Http { .. } => String::new(),
            GradioError::JobRefused { .. } => format!(
                "The Space did not accept the job even after its API was read again; check `api` in spaces.toml against {page}."
            ),
            GradioError::UnknownEndpoint { .. } => {
                format!("Set `api` in spaces.toml to one of those (the Space's \"Use via API\" page at {page} lists them).")
            }
            GradioError::Protocol { .. } => format!("Check that {page} is a Gradio app (version 4.20 or later)."),
            GradioError::App(message) if message.contains("GPU quota") || message.contains("No GPU") => {
                "Set HF_TOKEN to use your own ZeroGPU quota, wait for the quota to refill, or duplicate the Space.".into()
            }
            GradioError::App(_) => String::new(),
            GradioError::AppHidden => String::new(),
            GradioError::Cancelled => "The Space's operator may have stopped it; try again.".into(),
            GradioError::Idle(_) | GradioError::StreamBroken(_) | GradioError::StreamEnded => {
                "The connection to the Space was lost; try again (raise `idle_timeout` in spaces.toml if the Space is slow to answer).".into()
            }
            GradioError::ForeignFile { .. } => {
                "The Space names its files on another address (a proxy?): set `space` to the address it serves files from.".into()
            }
            GradioError::TooLarge { .. } => "Raise `download_max_bytes` in spaces.toml to accept larger files.".into(),
            GradioError::Oversize { .. } => "The Space sent far more than a Gradio app does; check that it is the app you meant.".into(),
            GradioError::ForeignPrefix { .. } => format!(
                "This Space may be trying to capture your token; if you trust it, set `space` to the address it names. See {page}."
            ),
            GradioError::Setup(_) | GradioError::SpaceDown(_) => String::new(),
        },
    }
}
