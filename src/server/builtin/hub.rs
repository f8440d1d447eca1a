//! The Hub tools (opt-in, `[hub] tools = true`): Spaces the model finds and
//! uses itself. `hub_search_spaces` searches the Hub's running Gradio
//! Spaces; `hub_describe_space` gives one Space's endpoints with the same
//! full schemas as configured tools; `hub_call_space` calls one endpoint,
//! its arguments checked against that schema, and returns exactly what a
//! configured tool returns (profiles, size budget, previews, saved files,
//! progress, cancel), through the same runner.
//!
//! Guarded: `allow`/`deny` lists of owners or Space ids, a cap on distinct
//! Spaces per caller per hour, the HF token sent only to an https
//! `*.hf.space` address (as for a configured Space), and everything a Space
//! or the Hub says treated as untrusted text (cleaned and bounded).

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use rmcp::model::{CallToolResult, ContentBlock, JsonObject, Tool, ToolAnnotations};
use serde_json::{Value, json};

use crate::call::{CallOptions, Runner};
use crate::config::{HubSettings, SpaceConfig};
use crate::gradio::Stage;
use crate::hub::{Hub, Search, Sort};
use crate::jobs::Owner;
use crate::naming::builtin::{HUB_CALL, HUB_DESCRIBE, HUB_SEARCH};
use crate::result::text::clean_text;
use crate::tools::derive::from_endpoint;

/// The window of the per-caller cap on distinct Spaces.
const WINDOW: Duration = Duration::from_secs(3600);

/// Past this many callers remembered, those whose hour has passed are
/// dropped.
const FORGET_AFTER_CALLERS: usize = 256;

/// How long describing a Space may take (waking it included).
const DESCRIBE_TIMEOUT: Duration = Duration::from_secs(120);

pub(crate) struct HubTools {
    hub: Hub,
    settings: HubSettings,
    runner: Arc<Runner>,
    /// The distinct Spaces each caller used in the last hour, oldest first.
    used: Mutex<HashMap<Owner, VecDeque<(Instant, String)>>>,
}

impl HubTools {
    pub(crate) fn new(settings: HubSettings, runner: Arc<Runner>) -> Option<HubTools> {
        settings.tools.then(|| HubTools {
            hub: Hub::from_env(runner.token_for(true, None).cloned()),
            settings,
            runner,
            used: Mutex::default(),
        })
    }

    pub(crate) fn tools(&self) -> Vec<Tool> {
        let schema = |value: Value| match value {
            Value::Object(map) => Arc::new(map),
            _ => Arc::new(JsonObject::new()),
        };
        let space = json!({"type": "string", "description": "The Space's id, owner/name (from hub_search_spaces)"});
        vec![
            Tool::new(
                HUB_SEARCH,
                "Searches the Hugging Face Hub for running Gradio Spaces (apps) that may do a task: \
                 answers each one's id, title, likes, hardware, state and a one-line summary. Then \
                 hub_describe_space tells how to call one, and hub_call_space calls it.",
                schema(json!({
                    "type": "object",
                    "properties": {
                        "query": {"type": "string", "description": "What the Space should do, in a few words (\"text to speech\")"},
                        "sort": {"type": "string", "enum": ["likes", "trending"], "default": "likes"},
                        "mcp_only": {"type": "boolean", "default": false, "description": "Only Spaces tagged mcp-server"},
                        "limit": {"type": "integer", "minimum": 1, "maximum": crate::hub::MAX_RESULTS, "default": 10}
                    },
                    "required": ["query"],
                    "additionalProperties": false
                })),
            )
            .with_annotations(ToolAnnotations::with_title("Search Spaces").read_only(true).open_world(true)),
            Tool::new(
                HUB_DESCRIBE,
                "Describes one Space's endpoints: for each, what it does and the JSON Schema of its \
                 arguments and result, as hub_call_space takes them.",
                schema(json!({
                    "type": "object",
                    "properties": {"space": space},
                    "required": ["space"],
                    "additionalProperties": false
                })),
            )
            .with_annotations(ToolAnnotations::with_title("Describe a Space").read_only(true).open_world(true)),
            Tool::new(
                HUB_CALL,
                "Calls one endpoint of a Space with arguments that fit its schema (from \
                 hub_describe_space), and returns what the Space made: text, images, audio, files.",
                schema(json!({
                    "type": "object",
                    "properties": {
                        "space": space,
                        "endpoint": {"type": "string", "description": "The endpoint, as hub_describe_space names it (\"/predict\")"},
                        "arguments": {"type": "object", "description": "The endpoint's arguments, by name"}
                    },
                    "required": ["space", "endpoint"],
                    "additionalProperties": false
                })),
            )
            .with_annotations(ToolAnnotations::with_title("Call a Space").read_only(false).open_world(true)),
        ]
    }

    /// The answer to a call of one of the Hub tools; `None` for any other tool.
    pub(crate) async fn call(
        &self,
        name: &str,
        arguments: Option<&JsonObject>,
        options: &CallOptions,
    ) -> Option<HubAnswer> {
        let empty = JsonObject::new();
        let arguments = arguments.unwrap_or(&empty);
        let structured = options.audience.features.structured;
        let answer = match name {
            HUB_SEARCH => self.search(arguments).await,
            HUB_DESCRIBE => self.describe(arguments, options).await,
            HUB_CALL => return Some(self.call_space(arguments, &options.owner).await),
            _ => return None,
        };
        Some(HubAnswer::Done(match answer {
            Ok((text, value)) => {
                let mut result = CallToolResult::success(vec![ContentBlock::text(text)]);
                if structured {
                    result.structured_content = Some(value);
                }
                result
            }
            Err(message) => {
                tracing::warn!(tool = name, "{message}");
                CallToolResult::error(vec![ContentBlock::text(message)])
            }
        }))
    }

    async fn search(&self, arguments: &JsonObject) -> Result<(String, Value), String> {
        let text = arguments
            .get("query")
            .and_then(Value::as_str)
            .map(str::trim)
            .filter(|q| !q.is_empty())
            .ok_or_else(|| {
                format!("{HUB_SEARCH}: give a query: what the Space should do, in a few words")
            })?;
        let search = Search {
            text: text.chars().take(200).collect(),
            sort: match arguments.get("sort").and_then(Value::as_str) {
                Some("trending") => Sort::Trending,
                _ => Sort::Likes,
            },
            mcp_only: arguments
                .get("mcp_only")
                .and_then(Value::as_bool)
                .unwrap_or(false),
            limit: arguments
                .get("limit")
                .and_then(Value::as_u64)
                .map_or(10, |n| n as usize),
        };
        let found = self
            .hub
            .search(&search, |id| self.settings.allows(id))
            .await
            .map_err(|e| format!("{HUB_SEARCH} failed: {e}. Try again, or another query."))?;
        let mut lines = vec![format!(
            "{} running Gradio Space(s) for {:?}:",
            found.spaces.len(),
            search.text
        )];
        let mut spaces = Vec::new();
        for s in &found.spaces {
            let title = clean_text(&s.title, 100);
            let summary = s.summary.as_deref().map(|t| clean_text(t, 200));
            lines.push(format!(
                "- {} \"{title}\": {} likes, {}{}",
                s.id,
                s.likes,
                s.hardware.as_deref().unwrap_or("hardware unknown"),
                summary
                    .as_deref()
                    .map(|t| format!(" — {t}"))
                    .unwrap_or_default()
            ));
            spaces.push(json!({
                "id": s.id, "title": title, "likes": s.likes, "hardware": s.hardware,
                "state": s.state, "summary": summary,
            }));
        }
        if found.denied > 0 {
            lines.push(format!(
                "({} more matched, left out: this server's [hub] allow/deny lists do not let its Hub tools use them.)",
                found.denied
            ));
        }
        Ok((
            lines.join("\n"),
            json!({ "spaces": spaces, "left_out_by_allow_deny": found.denied }),
        ))
    }

    /// Counts `id` among the caller's distinct Spaces of the last hour, or
    /// says why it may not be used.
    fn admit(&self, id: &str, owner: &Owner) -> Result<(), String> {
        if !self.settings.allows(id) {
            return Err(format!(
                "{id} is not among the Spaces this server's Hub tools may use ([hub] allow/deny in its config)"
            ));
        }
        let mut used = crate::locks::lock(&self.used);
        let now = Instant::now();
        // Callers whose hour has passed are forgotten, so the map holds at
        // most the callers of the last hour.
        if used.len() >= FORGET_AFTER_CALLERS {
            used.retain(|_, spaces| {
                spaces
                    .back()
                    .is_some_and(|(at, _)| now.duration_since(*at) <= WINDOW)
            });
        }
        let mine = used.entry(owner.clone()).or_default();
        while mine
            .front()
            .is_some_and(|(at, _)| now.duration_since(*at) > WINDOW)
        {
            mine.pop_front();
        }
        if mine.iter().any(|(_, seen)| seen.eq_ignore_ascii_case(id)) {
            return Ok(());
        }
        let cap = self.settings.max_spaces_per_hour;
        if mine.len() >= cap {
            let wait = mine.front().map_or(WINDOW, |(at, _)| {
                WINDOW.saturating_sub(now.duration_since(*at))
            });
            return Err(format!(
                "this caller has used {cap} distinct Spaces in the last hour, the most [hub] max_spaces_per_hour allows; \
                 use one of those, or try another in {} min",
                wait.as_secs().div_ceil(60)
            ));
        }
        mine.push_back((now, id.to_string()));
        Ok(())
    }

    /// The Space a request names, checked and admitted.
    async fn space_of(
        &self,
        arguments: &JsonObject,
        owner: &Owner,
        tool: &str,
    ) -> Result<SpaceConfig, String> {
        let id = arguments
            .get("space")
            .and_then(Value::as_str)
            .map(str::trim)
            .filter(|id| {
                let parts: Vec<&str> = id.split('/').collect();
                parts.len() == 2
                    && parts.iter().all(|p| {
                        !p.is_empty()
                            && p.chars()
                                .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c))
                    })
            })
            .ok_or_else(|| format!("{tool}: give space as the Space's id, owner/name"))?;
        self.admit(id, owner).map_err(|e| format!("{tool}: {e}"))?;
        let found = self
            .hub
            .space(id)
            .await
            .map_err(|e| format!("{tool}: {e}"))?;
        if let Some(sdk) = found.summary.sdk.as_deref().filter(|sdk| *sdk != "gradio") {
            return Err(format!("{tool}: {id} is a {sdk} Space, not a Gradio app"));
        }
        if let Some(state) = found.summary.state.as_deref().filter(|s| *s != "RUNNING") {
            let hint = match state {
                "SLEEPING" => "a call wakes it, which takes a minute or two",
                "BUILDING" | "RUNNING_BUILDING" | "APP_STARTING" => "try again in a minute",
                _ => "pick another Space",
            };
            if !matches!(state, "SLEEPING") {
                return Err(format!("{tool}: {id} is {state} on the Hub: {hint}"));
            }
        }
        Ok(SpaceConfig {
            alias: "hub".into(),
            space: found.space,
            limits: self.runner.settings().limits.clone(),
            send_hf_token: found.takes_token,
        })
    }

    async fn describe(
        &self,
        arguments: &JsonObject,
        options: &CallOptions,
    ) -> Result<(String, Value), String> {
        let space = self
            .space_of(arguments, &options.owner, HUB_DESCRIBE)
            .await?;
        let client = self
            .runner
            .space_client(&space.space)
            .map_err(|e| format!("{HUB_DESCRIBE}: {e}"))?;
        let token = self
            .runner
            .token_for(space.send_hf_token, options.client_token.as_ref());
        let observe = |_: Stage| {};
        let info = tokio::time::timeout(DESCRIBE_TIMEOUT, client.api_info(token, &observe))
            .await
            .map_err(|_| {
                format!(
                    "{HUB_DESCRIBE}: {} did not describe itself within {}s",
                    space.space,
                    DESCRIBE_TIMEOUT.as_secs()
                )
            })?
            .map_err(|e| {
                format!(
                    "{HUB_DESCRIBE}: cannot read the API of {}: {e}",
                    space.space
                )
            })?;
        let mut lines = vec![format!(
            "{} has {} endpoint(s); call them with {HUB_CALL}:",
            space.space,
            info.named_endpoints.len()
        )];
        let mut endpoints = Vec::new();
        for (api, endpoint) in &info.named_endpoints {
            let (line, described) = describe_endpoint(&space, api, endpoint);
            lines.push(line);
            endpoints.push(described);
        }
        Ok((
            lines.join("\n"),
            json!({ "space": space.space.to_string(), "endpoints": endpoints }),
        ))
    }

    /// The call `hub_call_space` asks for, checked: the server runs it as
    /// it runs a configured tool (in its request, as a task, or as a job).
    async fn call_space(&self, arguments: &JsonObject, owner: &Owner) -> HubAnswer {
        let fail = |message: String| {
            tracing::warn!(tool = HUB_CALL, "{message}");
            HubAnswer::Done(CallToolResult::error(vec![ContentBlock::text(message)]))
        };
        let space = match self.space_of(arguments, owner, HUB_CALL).await {
            Ok(space) => space,
            Err(message) => return fail(message),
        };
        let Some(api) = arguments
            .get("endpoint")
            .and_then(Value::as_str)
            .map(str::trim)
            .filter(|a| !a.is_empty())
        else {
            return fail(format!(
                "{HUB_CALL}: give the endpoint, as {HUB_DESCRIBE} names it (\"/predict\")"
            ));
        };
        let api = if api.starts_with('/') {
            api.to_string()
        } else {
            format!("/{api}")
        };
        let given = match arguments.get("arguments") {
            None | Some(Value::Null) => JsonObject::new(),
            Some(Value::Object(map)) => map.clone(),
            Some(_) => {
                return fail(format!(
                    "{HUB_CALL}: arguments must be an object of the endpoint's arguments, by name"
                ));
            }
        };
        let mut tool = space.tool(&api);
        tool.name = HUB_CALL.to_string();
        HubAnswer::Call {
            tool: Box::new(tool),
            arguments: given,
        }
    }
}

/// One endpoint of a described Space: its line for the model, and its
/// entry with the full schemas a configured tool would have.
fn describe_endpoint(
    space: &SpaceConfig,
    api: &str,
    endpoint: &crate::gradio::EndpointInfo,
) -> (String, Value) {
    let tool = from_endpoint(&space.tool(api), endpoint);
    let definition = crate::tools::definition_of(&tool);
    let description = endpoint
        .description
        .as_deref()
        .map(|d| clean_text(d, 300))
        .unwrap_or_default();
    let inputs: Vec<String> = definition
        .input_schema
        .get("properties")
        .and_then(Value::as_object)
        .map(|p| {
            p.iter()
                .map(|(name, s)| {
                    format!(
                        "{name}: {}",
                        s.get("type").and_then(Value::as_str).unwrap_or("any")
                    )
                })
                .collect()
        })
        .unwrap_or_default();
    let line = format!(
        "- {api}({}){}",
        inputs.join(", "),
        if description.is_empty() {
            String::new()
        } else {
            format!(" — {description}")
        }
    );
    let entry = json!({
        "endpoint": api,
        "description": description,
        "input_schema": Value::Object((*definition.input_schema).clone()),
        "output_schema": definition.output_schema.map(|s| Value::Object((*s).clone())),
    });
    (line, entry)
}

/// What a call of a Hub tool comes to.
pub(crate) enum HubAnswer {
    /// Its answer.
    Done(CallToolResult),
    /// A Space's endpoint to call, as a configured tool is called.
    Call {
        tool: Box<crate::config::ToolConfig>,
        arguments: JsonObject,
    },
}
