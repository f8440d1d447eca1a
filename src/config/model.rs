//! The validated config: what the rest of the program reads, every value
//! already checked against its bounds and the others.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use indexmap::IndexMap;
use serde::Deserialize;
use serde_json::Value;

use crate::gradio::SpaceRef;
use crate::naming::{describe, slug};
use crate::validate::same;

/// A `[prompts.<name>]` table: a message template with `{argument}` places.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct PromptConfig {
    pub(crate) name: String,
    pub(crate) title: Option<String>,
    pub(crate) description: Option<String>,
    pub(crate) template: String,
    /// Each argument: its description and whether it must be given.
    pub(crate) arguments: IndexMap<String, (Option<String>, bool)>,
}

/// A `[spaces.<alias>]` table: every public named endpoint of the Space as
/// the tool `<alias>_<endpoint>`.
#[derive(Debug, Clone)]
pub(crate) struct SpaceConfig {
    pub(crate) alias: String,
    pub(crate) space: SpaceRef,
    pub(crate) limits: CallLimits,
    pub(crate) send_hf_token: bool,
}

impl SpaceConfig {
    /// The tool for one of the Space's endpoints, its inputs still to be derived.
    pub(crate) fn tool(&self, api: &str) -> ToolConfig {
        let mut name = format!("{}_{}", self.alias, slug(api.trim_start_matches('/')));
        name.truncate(64);
        ToolConfig {
            name: name.trim_end_matches('_').to_string(),
            space: self.space.clone(),
            api: api.to_string(),
            title: None,
            description: default_description(api, &self.space),
            described: false,
            inputs: IndexMap::new(),
            inputs_from_space: true,
            outputs: Vec::new(),
            limits: self.limits.clone(),
            send_hf_token: self.send_hf_token,
            output_schema: None,
        }
    }
}

pub(super) fn default_description(api: &str, space: &SpaceRef) -> String {
    format!("Runs the endpoint {api} of the Gradio app {space}.")
}

/// Server-wide settings; every tool may override the per-call ones.
#[derive(Debug, Clone)]
pub(crate) struct Settings {
    pub(crate) limits: CallLimits,
    /// Where file outputs are saved when they are too large to inline (and, for
    /// `spaces-mcp call`, always).
    pub(crate) output_dir: PathBuf,
    /// The output folder is our default one: it is kept private (0700, no
    /// symlink followed). A folder the user names is used as it is.
    pub(crate) private_output_dir: bool,
    /// Over HTTP, use the HF token an MCP client sends (`X-HF-Authorization`)
    /// for that request's calls, so a team server bills each user's own quota.
    pub(crate) client_hf_token: bool,
    /// Calls each Space may have running at once; more wait in line, in order.
    pub(crate) space_concurrency: usize,
    /// Of those, how many one caller may hold at once over HTTP, so another
    /// caller's call finds a slot (default: all but one). Not applied where
    /// there is only one caller (stdio, the command line).
    pub(crate) slots_per_caller: usize,
    /// Folders whose files may be given to file inputs by path; none by default.
    pub(crate) input_dirs: Vec<PathBuf>,
    /// How long the first `tools/list` may wait, at most, for Spaces not yet
    /// described in the cache (all read at once, in parallel).
    pub(crate) discovery_wait: Duration,
    /// What saved files may take: their retention, their total size, and
    /// the most one `resources/read` returns.
    pub(crate) saved: SavedLimits,
    pub(crate) jobs: JobSettings,
    /// The fleet's shared store (Valkey/Redis), if replicas share one.
    pub(crate) store: Option<String>,
    /// The CA certificate (PEM) a `rediss://` store's certificate is
    /// checked against, when it is not a public CA's.
    pub(crate) store_ca: Option<PathBuf>,
    /// How long a dead replica's jobs and call slots stay taken.
    pub(crate) store_lease: Duration,
    /// What the fleet's keys start with (several fleets may share a store).
    pub(crate) store_prefix: String,
    /// The diagnostic tools (`test_trigger_tool_change`, …), for checking a
    /// deployment end to end; off unless asked for.
    pub(crate) diagnostics: bool,
    /// What every client's results hold (`content`); `None` chooses by
    /// client, from `[clients]` and then the built-in table.
    pub(crate) content: Option<ContentProfile>,
    /// What each named client takes (`[clients."<clientInfo name>"]`),
    /// over `content` and the built-in table.
    pub(crate) clients: IndexMap<String, ContentProfile>,
    /// The Hub tools (`[hub]`): off unless asked for.
    pub(crate) hub: HubSettings,
    /// The MCP App view beside results, for clients that declare the
    /// extension (`app_view`); on unless turned off.
    pub(crate) app_view: bool,
}

/// The `[hub]` table: tools that search the Hub, describe a Space and call
/// it, for Spaces nobody configured.
#[derive(Debug, Clone, PartialEq, Default)]
pub(crate) struct HubSettings {
    pub(crate) tools: bool,
    /// Owners (`alice`) or Space ids (`alice/painter`) the tools may use;
    /// empty: any.
    pub(crate) allow: Vec<String>,
    /// Owners or Space ids they never use (over `allow`).
    pub(crate) deny: Vec<String>,
    /// Distinct Spaces one caller may describe or call in an hour.
    pub(crate) max_spaces_per_hour: usize,
}

impl HubSettings {
    /// Whether the tools may use the Space `id` (`owner/name`).
    pub(crate) fn allows(&self, id: &str) -> bool {
        let owner = id.split('/').next().unwrap_or(id);
        let names = |list: &[String]| {
            list.iter()
                .any(|entry| entry.eq_ignore_ascii_case(id) || entry.eq_ignore_ascii_case(owner))
        };
        !names(&self.deny) && (self.allow.is_empty() || names(&self.allow))
    }
}

/// What a client takes in a tool result. Clients differ: some show images
/// and play audio, some fail on an audio block, some put every block into
/// the model's prompt as text. Each call's result is shaped for its client.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ContentProfile {
    /// Images and audio inline, saved files linked.
    Rich,
    /// Images inline; audio saved, linked and described, never inline.
    Images,
    /// Text and `structuredContent` only: media as URLs and saved paths.
    Text,
}

impl ContentProfile {
    pub(crate) const NAMES: &'static str = "\"rich\", \"images\" or \"text\"";

    pub(crate) fn name(self) -> &'static str {
        match self {
            ContentProfile::Rich => "rich",
            ContentProfile::Images => "images",
            ContentProfile::Text => "text",
        }
    }

    /// A profile by name, as a setting, the environment or a URL gives it.
    pub(crate) fn parse(name: &str) -> Option<ContentProfile> {
        match name.trim().to_ascii_lowercase().as_str() {
            "rich" => Some(ContentProfile::Rich),
            "images" => Some(ContentProfile::Images),
            "text" => Some(ContentProfile::Text),
            _ => None,
        }
    }
}

/// The limits on saved files (`call::saved`), from `[settings]`.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct SavedLimits {
    /// Files older than this are removed; `None` keeps them.
    pub(crate) retention: Option<Duration>,
    /// The most all saved files may take together; the oldest go first.
    pub(crate) max_bytes: u64,
    /// The largest file one `resources/read` returns.
    pub(crate) read_max_bytes: u64,
    /// The largest file a person may give a tool through the MCP App view.
    pub(crate) upload_max_bytes: u64,
}

/// The bounds a single call runs within.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct CallLimits {
    /// The whole call, from the first request to the Space to the last byte of
    /// the last download.
    pub(crate) timeout: Duration,
    /// The longest silence tolerated on the Space's event stream. Gradio sends a
    /// heartbeat every 15 s while a job runs, so anything well above that means
    /// the connection is dead.
    pub(crate) idle_timeout: Duration,
    /// Files up to this size are returned inline (base64 image or audio blocks).
    pub(crate) inline_max_bytes: u64,
    /// The most one call downloads, all its files together; more is refused.
    pub(crate) download_max_bytes: u64,
    /// The most a whole result may take, serialized as the client gets it:
    /// media goes inline only while it fits (see `call::budget`).
    pub(crate) max_result_bytes: u64,
    /// Images larger than this on their long side go inline as previews.
    pub(crate) preview_max_side: u32,
    /// A call from a client without MCP tasks that still runs after this long
    /// answers with a job handle and goes on in the background (`None`: never).
    pub(crate) detach_after: Option<Duration>,
    /// Whether a call may become an MCP task, for clients that declare the
    /// tasks extension.
    pub(crate) task_support: TaskSupport,
}

/// A tool's `task_support`: may a call to it become an MCP task?
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "lowercase")]
pub(crate) enum TaskSupport {
    /// Always answered in the request (quick tools).
    Forbidden,
    /// A task when the call is still running after a short grace.
    #[default]
    Optional,
    /// Only for clients with tasks: others get the missing-capability error.
    Required,
}

/// The `{name}` places of a prompt template, in order.
pub(crate) fn template_places(template: &str) -> Vec<&str> {
    let mut places = Vec::new();
    let mut rest = template;
    while let Some(open) = rest.find('{') {
        let after = &rest[open + 1..];
        let Some(close) = after.find('}') else { break };
        let name = &after[..close];
        if !name.is_empty()
            && name
                .chars()
                .all(|c| c.is_alphanumeric() || c == '_' || c == '-')
        {
            places.push(name);
        }
        rest = &after[close + 1..];
    }
    places
}

/// How the job store keeps finished jobs (tasks and detached calls).
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct JobSettings {
    /// A finished job is kept this long, then dropped.
    pub(crate) ttl: Duration,
    /// The most finished jobs kept; past it, the oldest go first.
    pub(crate) max_results: usize,
    /// The most bytes of results kept; past it, the oldest go first.
    pub(crate) max_bytes: u64,
    /// The most jobs (calls that outlived their request) one owner may have
    /// running in this process at once.
    pub(crate) max_per_owner: usize,
    /// The most jobs running in this process at once, all owners together.
    pub(crate) max_running: usize,
}

/// One tool, as the config declares it.
#[derive(Debug, Clone)]
pub(crate) struct ToolConfig {
    pub(crate) name: String,
    pub(crate) space: SpaceRef,
    /// The endpoint's api name with its leading slash, as `/gradio_api/info` lists it.
    pub(crate) api: String,
    pub(crate) title: Option<String>,
    pub(crate) description: String,
    /// Whether the description is the config's own (else the Space's is used).
    pub(crate) described: bool,
    /// The inputs the config names, in the order it names them; for a
    /// tool whose inputs come from its Space, those derived from the Space's API.
    pub(crate) inputs: IndexMap<String, InputConfig>,
    /// The config lists no inputs: they come from the Space's API.
    pub(crate) inputs_from_space: bool,
    /// Names for the endpoint's outputs, in the Space's order; used as the keys
    /// of the structured result. Missing names come from the Space's labels.
    pub(crate) outputs: Vec<String>,
    pub(crate) limits: CallLimits,
    /// Whether `HF_TOKEN` is sent to this Space.
    pub(crate) send_hf_token: bool,
    /// The schema of the structured result, when the Space's returns are known.
    pub(crate) output_schema: Option<serde_json::Map<String, Value>>,
}

/// How one endpoint input is handled.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum InputConfig {
    /// Hidden from the model; always sent as this value.
    Fixed(Value),
    /// Shown to the model with this schema.
    Exposed(ExposedInput),
}

/// An input the model may (or must) give.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct ExposedInput {
    pub(crate) kind: ValueKind,
    pub(crate) description: Option<String>,
    /// Sent when the model leaves the input out. Without one, the Space's own
    /// default is sent.
    pub(crate) default: Option<Value>,
    pub(crate) minimum: Option<f64>,
    pub(crate) maximum: Option<f64>,
    pub(crate) choices: Option<Vec<Value>>,
    pub(crate) required: bool,
    /// For a `json` input read from a Space: its JSON Schema (shown to the
    /// model, and checked), and Gradio's own (where its files go).
    pub(crate) shape: Option<Arc<InputShape>>,
}

/// The shape of a structured input, as its Space describes it.
#[derive(Debug, PartialEq)]
pub(crate) struct InputShape {
    /// What the model sees: Gradio's schema with files as strings (a URL,
    /// a `data:` URI or a local path).
    pub(crate) schema: Value,
    /// Gradio's schema, references resolved: where a file sits, what the
    /// Space wants there is a FileData object.
    pub(crate) wire: Value,
}

/// The JSON types an input can take.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub(crate) enum ValueKind {
    String,
    Number,
    Integer,
    Boolean,
    /// A file, given as an http(s) URL, a `data:` URI or a local path in
    /// `input_dirs`; sent to the Space as Gradio's FileData.
    File,
    /// Any JSON value (a list, a chat history, a table), checked against its
    /// shape when the Space gave one.
    Json,
}

/// Where a FileData object (`{"path": …, "meta": {"_type":
/// "gradio.FileData"}}`, or `{"url": …}`) says its file is: its `url`, else
/// its `path`.
pub(crate) fn file_data_location(value: &Value) -> Option<&str> {
    let object = value.as_object()?;
    ["url", "path"]
        .into_iter()
        .find_map(|key| object.get(key).and_then(Value::as_str))
        .filter(|s| !s.trim().is_empty())
}

impl ValueKind {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            ValueKind::String => "string",
            ValueKind::Number => "number",
            ValueKind::Integer => "integer",
            ValueKind::Boolean => "boolean",
            ValueKind::File => "file",
            ValueKind::Json => "json",
        }
    }

    /// The JSON-schema type: a file is given as a string; a JSON value has
    /// none of its own.
    pub(crate) fn json_type(self) -> Option<&'static str> {
        match self {
            ValueKind::File => Some("string"),
            ValueKind::Json => None,
            other => Some(other.as_str()),
        }
    }

    /// Whether `value` is of this kind. An integer is any number without a
    /// fractional part, since JSON clients may send `512.0`.
    pub(crate) fn admits(self, value: &Value) -> bool {
        match self {
            ValueKind::String => value.is_string(),
            // As Gradio's "Use via API" page and `/info` show a file: a
            // string, or a FileData object naming it by `path` or `url`.
            ValueKind::File => value.is_string() || file_data_location(value).is_some(),
            ValueKind::Number => value.is_number(),
            ValueKind::Integer => value.as_f64().is_some_and(|n| n.fract() == 0.0),
            ValueKind::Boolean => value.is_boolean(),
            ValueKind::Json => true,
        }
    }

    pub(super) fn of(value: &Value) -> Option<ValueKind> {
        match value {
            Value::String(_) => Some(ValueKind::String),
            Value::Number(n) if n.is_f64() => Some(ValueKind::Number),
            Value::Number(_) => Some(ValueKind::Integer),
            Value::Bool(_) => Some(ValueKind::Boolean),
            _ => None,
        }
    }
}

impl ExposedInput {
    /// Checks a value against this input's type, bounds and choices; the error
    /// says what was wrong in words a model can act on.
    pub(crate) fn check(&self, value: &Value) -> Result<(), String> {
        if !self.kind.admits(value) {
            let expected = match self.kind {
                ValueKind::Integer => "a whole number",
                ValueKind::Number => "a number",
                ValueKind::String => "a string",
                ValueKind::Boolean => "true or false",
                ValueKind::File => {
                    "a string (an http(s) URL, a data: URI or a local path), or a FileData object with one as its path or url"
                }
                ValueKind::Json => "JSON",
            };
            return Err(format!("must be {expected}, not {}", describe(value)));
        }
        if let Some(n) = value.as_f64() {
            if let Some(lo) = self.minimum
                && n < lo
            {
                return Err(format!("{n} is below the minimum {lo}"));
            }
            if let Some(hi) = self.maximum
                && n > hi
            {
                return Err(format!("{n} is above the maximum {hi}"));
            }
        }
        if let Some(choices) = &self.choices
            && !choices.iter().any(|c| same(c, value))
        {
            let list: Vec<String> = choices.iter().map(Value::to_string).collect();
            return Err(format!("{value} is not one of {}", list.join(", ")));
        }
        if let Some(shape) = &self.shape {
            crate::validate::check(&shape.schema, value)?;
        }
        Ok(())
    }
}
