//! A call's work on its Space, once it has a runner: its place in the
//! Space's line, the tool as the Space describes it now, the arguments
//! checked and the files sent, the run (waiting out a ZeroGPU refusal when
//! the wait fits), and the outputs handed to `result` to render.

use rmcp::model::JsonObject;
use serde_json::Value;

use super::progress::{Reporter, log_line};
use super::{CallOptions, Failure, Runner, files, gpu_wait};
use crate::config::ToolConfig;
use crate::gradio::{HfToken, Observer, Run, SpaceClient, Stage, Ticket};
use crate::result::render::{RenderOptions, Rendered, render};
use crate::result::schema_fit::fit_schema;
use crate::tools::derive::from_endpoint;
use crate::tools::{InputsState, check_arguments, output_names, positional_data};

impl Runner {
    pub(super) async fn attempt(
        &self,
        tool: &ToolConfig,
        arguments: Option<&JsonObject>,
        options: &CallOptions,
        reporter: &Reporter,
        deadline: &gpu_wait::Deadline,
    ) -> Result<Rendered, Failure> {
        let observe = |stage: Stage| {
            if let (Some(log), Stage::Log { level, message }) = (&options.log, &stage) {
                log(level, log_line(message));
            }
            reporter.stage(stage)
        };
        let token = self.token_for(tool.send_hf_token, options.client_token.as_ref());
        let client = self.pool.client(&tool.space)?;
        // First of all, a place in the Space's line: calls start in the order
        // they came, even while the Space is still being read.
        let waiting = std::time::Instant::now();
        let ticket = Ticket {
            arrival: options.arrival,
            caller: options.owner.as_str(),
        };
        let slot = client.slot(&observe, ticket).await?;
        self.metrics.waited(waiting.elapsed());
        let described = self.as_described(tool, &client, token, &observe).await?;
        let tool = described.as_ref();
        let mut arguments = check_arguments(tool, arguments).map_err(Failure::Arguments)?;
        files::send_files(
            tool,
            &mut arguments,
            &self.settings.input_dirs,
            files::OwnFiles {
                saved: &self.saved_files,
                owner: &options.owner,
            },
            &client,
            token,
            &observe,
        )
        .await?;
        let endpoint = client.endpoint(&tool.api, token, &observe).await?;
        let data = positional_data(tool, &arguments, &endpoint).map_err(Failure::Mapping)?;
        let names = output_names(tool, &endpoint);
        let idle = tool.limits.idle_timeout;
        tracing::debug!(tool = %tool.name, space = %tool.space, api = %tool.api, inputs = data.len(), "calling the Space");
        let run = Run {
            slot: &slot,
            token,
            idle,
            observe: &observe,
        };
        let outputs = self
            .run_past_gpu_refusals(&client, run, tool, data, options, reporter, deadline)
            .await?;
        if outputs.iter().any(Value::is_object) {
            reporter.stage(Stage::Downloading);
        }
        let render_options = RenderOptions {
            saved: &self.saved_files,
            owner: &options.owner,
            download_max_bytes: tool.limits.download_max_bytes,
            idle,
            token,
        };
        let mut rendered =
            render(&client, outputs, &endpoint.returns, &names, &render_options).await?;
        fit_schema(tool, &mut rendered.structured);
        Ok(rendered)
    }

    /// `tool` as its Space describes it now: a tool that lists its inputs is
    /// checked as the config says; one whose inputs come from the Space,
    /// against them as the Space has them (and a Space that did not answer
    /// at start-up but does now gets its tool listed in full).
    async fn as_described<'t>(
        &self,
        tool: &'t ToolConfig,
        client: &SpaceClient,
        token: Option<&HfToken>,
        observe: Observer<'_>,
    ) -> Result<std::borrow::Cow<'t, ToolConfig>, Failure> {
        if !tool.inputs_from_space {
            return Ok(std::borrow::Cow::Borrowed(tool));
        }
        let endpoint = client.endpoint(&tool.api, token, observe).await?;
        let derived = from_endpoint(tool, &endpoint);
        // A Hub tool's Space is not listed.
        if self.registry.get(&tool.name).is_some() {
            self.registry.put(derived.clone(), InputsState::Known);
        }
        Ok(std::borrow::Cow::Owned(derived))
    }

    /// Runs the endpoint; a ZeroGPU refusal is waited out when its wait
    /// fits, then the run is sent once more.
    #[allow(clippy::too_many_arguments)]
    async fn run_past_gpu_refusals(
        &self,
        client: &SpaceClient,
        run: Run<'_>,
        tool: &ToolConfig,
        data: Vec<Value>,
        options: &CallOptions,
        reporter: &Reporter,
        deadline: &gpu_wait::Deadline,
    ) -> Result<Vec<Value>, Failure> {
        let first = client.run_endpoint(run, &tool.api, data.clone()).await;
        let token_sent = run.token.is_some() && tool.space.may_carry_token();
        let refused = |refusal| match refusal {
            gpu_wait::Refusal::Gpu(refused) => Failure::GpuRefused(gpu_wait::Refused {
                token_sent,
                ..refused
            }),
            gpu_wait::Refusal::Other(e) => Failure::Gradio(e),
        };
        match gpu_wait::after_first(first, deadline, options.polled, reporter).await {
            Ok(gpu_wait::Next::Done(outputs)) => Ok(outputs),
            Ok(gpu_wait::Next::SubmitAgain) => client
                .run_endpoint(run, &tool.api, data)
                .await
                .map_err(|e| refused(gpu_wait::after_second(e))),
            Err(refusal) => Err(refused(refusal)),
        }
    }
}
