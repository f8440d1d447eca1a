//! The `spaces.toml` model and its validation.
//!
//! A config names tools, one `[tools.<name>]` table each, with the Space that
//! serves it (`space`, a Hub id or a URL) and the Gradio endpoint (`api`).
//! Everything else (descriptions, the inputs the model sees, fixed values,
//! timeouts, output handling) is optional and has a sensible default, so that
//! a user who adds a Space writes as little as possible.
//!
//! Validation happens here, once, at start-up: a config that loads is one the
//! rest of the program can trust (a tool's default fits its own bounds, a
//! fixed input is not also shown to the model, names are valid MCP tool names).
//! Every error names the file, the key and what was expected, because the
//! person reading it has only the file in front of them.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use indexmap::IndexMap;
use serde::Deserialize;
use serde_json::Value;

use crate::gradio::SpaceRef;
use crate::naming::{describe, is_valid_tool_name, slug};
use crate::validate::same;

/// The config built into the binary, used when no file is given.
pub(crate) const DEFAULT_CONFIG: &str = include_str!("../spaces.toml");

/// What can be wrong with a config, each naming where.
#[derive(Debug, thiserror::Error)]
pub(crate) enum ConfigError {
    #[error("cannot read {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{origin}: {message}")]
    Syntax { origin: String, message: String },
    #[error("{origin}: {key}: {message}")]
    Invalid {
        origin: String,
        key: String,
        message: String,
    },
}

/// A loaded, validated config.
#[derive(Debug, Clone)]
pub(crate) struct Config {
    /// Where the config came from, for messages: a path, or "built-in spaces.toml".
    pub(crate) origin: String,
    pub(crate) settings: Settings,
    pub(crate) tools: Vec<ToolConfig>,
    /// Spaces whose every endpoint becomes a tool, once its Space has been read.
    pub(crate) spaces: Vec<SpaceConfig>,
    /// Prompts the config declares (`[prompts.<name>]`), beside one per tool.
    pub(crate) prompts: Vec<PromptConfig>,
}

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

impl Config {
    /// The longest a call may run, over every tool and `[spaces]` table.
    pub(crate) fn longest_timeout(&self) -> Duration {
        let tools = self.tools.iter().map(|t| t.limits.timeout);
        let spaces = self.spaces.iter().map(|s| s.limits.timeout);
        tools
            .chain(spaces)
            .max()
            .unwrap_or(self.settings.limits.timeout)
    }
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

fn default_description(api: &str, space: &SpaceRef) -> String {
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
}

/// How long a replica's leases last unless the config says otherwise: long
/// enough for a store hiccup, short enough that a dead replica's job is
/// reported failed soon.
pub(crate) const DEFAULT_STORE_LEASE: Duration = Duration::from_secs(10);

/// The most `inline_max_bytes` may be: a result is sent whole to the client,
/// base64 makes it a third larger, and clients refuse far smaller ones.
pub(crate) const MAX_INLINE_BYTES: u64 = 64 * 1024 * 1024;

/// The most all saved files may take together unless the config says
/// otherwise (`output_max_bytes`): past it the oldest are removed.
pub(crate) const DEFAULT_OUTPUT_MAX_BYTES: u64 = 5 * 1024 * 1024 * 1024;

/// The most `output_max_bytes` may be.
const MAX_OUTPUT_BYTES: u64 = 1024 * 1024 * 1024 * 1024;

/// The largest saved file one `resources/read` returns unless the config
/// says otherwise: its base64 is held whole until sent, and a client holds
/// the whole answer too.
pub(crate) const DEFAULT_RESOURCE_READ_MAX_BYTES: u64 = 16 * 1024 * 1024;

/// The most `job_store_max_bytes` may be.
const MAX_JOB_STORE_BYTES: u64 = 16 * 1024 * 1024 * 1024;

/// The most `download_max_bytes` may be: a call's files are held in memory.
pub(crate) const MAX_DOWNLOAD_BYTES: u64 = 2 * 1024 * 1024 * 1024;

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

/// Overrides `output_dir` (for installers that set an environment, as an MCP
/// Bundle does).
const OUTPUT_DIR_ENV: &str = "SPACES_MCP_OUTPUT_DIR";

/// The built-in tools' names, which no configured tool may take.
pub(crate) const RESERVED_TOOL_NAMES: &[&str] = &[
    "await_job",
    "cancel_job",
    "test_trigger_tool_change",
    "test_trigger_prompt_change",
    "test_missing_capability",
    "diagnostic_probe",
];

/// How long a job runs before a client without tasks gets a job handle.
pub(crate) const DEFAULT_DETACH_AFTER: Duration = Duration::from_secs(50);

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

impl Default for JobSettings {
    fn default() -> Self {
        JobSettings {
            ttl: Duration::from_secs(3600),
            max_results: 1000,
            max_bytes: 256 * 1024 * 1024,
            max_per_owner: 32,
            max_running: 256,
        }
    }
}

impl Default for CallLimits {
    fn default() -> Self {
        CallLimits {
            timeout: Duration::from_secs(120),
            idle_timeout: Duration::from_secs(45),
            inline_max_bytes: 4 * 1024 * 1024,
            download_max_bytes: 200 * 1024 * 1024,
            max_result_bytes: 1024 * 1024,
            preview_max_side: 1568,
            detach_after: Some(DEFAULT_DETACH_AFTER),
            task_support: TaskSupport::Optional,
        }
    }
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
            ValueKind::String | ValueKind::File => value.is_string(),
            ValueKind::Number => value.is_number(),
            ValueKind::Integer => value.as_f64().is_some_and(|n| n.fract() == 0.0),
            ValueKind::Boolean => value.is_boolean(),
            ValueKind::Json => true,
        }
    }

    fn of(value: &Value) -> Option<ValueKind> {
        match value {
            Value::String(_) => Some(ValueKind::String),
            Value::Number(n) if n.is_f64() => Some(ValueKind::Number),
            Value::Number(_) => Some(ValueKind::Integer),
            Value::Bool(_) => Some(ValueKind::Boolean),
            _ => None,
        }
    }
}

// ---------------------------------------------------------------------------
// The file's shape, as serde reads it. Kept apart from the validated model so
// that every rule lives in one place (`validate_*` below).

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawConfig {
    #[serde(default)]
    settings: RawSettings,
    #[serde(default)]
    tools: IndexMap<String, RawTool>,
    #[serde(default)]
    spaces: IndexMap<String, RawSpace>,
    #[serde(default)]
    prompts: IndexMap<String, RawPrompt>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPrompt {
    title: Option<String>,
    description: Option<String>,
    template: String,
    #[serde(default)]
    arguments: IndexMap<String, RawPromptArgument>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawPromptArgument {
    description: Option<String>,
    #[serde(default = "yes")]
    required: bool,
}

fn yes() -> bool {
    true
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSpace {
    space: String,
    #[serde(flatten)]
    limits: RawLimits,
    hf_token: Option<bool>,
    hub_id: Option<String>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawSettings {
    #[serde(flatten)]
    limits: RawLimits,
    output_dir: Option<PathBuf>,
    client_hf_token: Option<bool>,
    space_concurrency: Option<usize>,
    #[serde(default)]
    input_dirs: Vec<PathBuf>,
    discovery_wait: Option<f64>,
    output_retention_hours: Option<f64>,
    output_max_bytes: Option<u64>,
    resource_read_max_bytes: Option<u64>,
    job_ttl: Option<f64>,
    job_store_max_results: Option<usize>,
    job_store_max_bytes: Option<u64>,
    max_jobs_per_owner: Option<u64>,
    max_jobs: Option<u64>,
    store: Option<String>,
    store_lease: Option<f64>,
    store_ca: Option<PathBuf>,
    store_prefix: Option<String>,
    diagnostics: Option<bool>,
}

#[derive(Deserialize, Default, Clone)]
#[serde(deny_unknown_fields)]
struct RawLimits {
    timeout: Option<f64>,
    idle_timeout: Option<f64>,
    inline_max_bytes: Option<u64>,
    download_max_bytes: Option<u64>,
    max_result_bytes: Option<u64>,
    preview_max_side: Option<u64>,
    detach_after: Option<f64>,
    task_support: Option<TaskSupport>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawTool {
    space: String,
    api: String,
    title: Option<String>,
    description: Option<String>,
    /// Absent: every input is read from the Space.
    inputs: Option<IndexMap<String, RawInput>>,
    #[serde(default)]
    outputs: Vec<String>,
    #[serde(flatten)]
    limits: RawLimits,
    hf_token: Option<bool>,
    hub_id: Option<String>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawInput {
    #[serde(rename = "type")]
    kind: Option<ValueKind>,
    description: Option<String>,
    default: Option<toml::Value>,
    minimum: Option<f64>,
    maximum: Option<f64>,
    #[serde(rename = "enum")]
    choices: Option<Vec<toml::Value>>,
    value: Option<toml::Value>,
    required: Option<bool>,
}

impl Config {
    /// Loads `path`, or the built-in config when `path` is `None`.
    /// The config at `path` (an empty path, as an installer leaves an unset
    /// option, means none), else the built-in one; then the output folder
    /// from `SPACES_MCP_OUTPUT_DIR`, when set.
    pub(crate) fn load(path: Option<&Path>) -> Result<Config, ConfigError> {
        let mut config = match path.filter(|p| !p.as_os_str().is_empty()) {
            Some(path) => {
                let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
                    path: path.to_path_buf(),
                    source,
                })?;
                Config::parse(&text, &path.display().to_string())?
            }
            None => Config::parse(DEFAULT_CONFIG, "built-in spaces.toml")?,
        };
        if let Some(dir) = std::env::var_os(OUTPUT_DIR_ENV).filter(|d| !d.is_empty()) {
            config.settings.output_dir = PathBuf::from(dir);
            config.settings.private_output_dir = false;
        }
        Ok(config)
    }

    /// Parses and validates config text; `origin` names it in errors.
    pub(crate) fn parse(text: &str, origin: &str) -> Result<Config, ConfigError> {
        let raw: RawConfig = toml::from_str(text).map_err(|e| ConfigError::Syntax {
            origin: origin.to_string(),
            message: e.to_string().trim_end().to_string(),
        })?;
        let v = Validator { origin };
        let settings = v.settings(raw.settings)?;
        if raw.tools.is_empty() && raw.spaces.is_empty() {
            return Err(v.invalid(
                "tools",
                "no tool is defined: add a [tools.<name>] table (or a [spaces.<alias>] table)",
            ));
        }
        let tools = raw
            .tools
            .into_iter()
            .map(|(name, tool)| v.tool(name, tool, &settings.limits))
            .collect::<Result<Vec<_>, _>>()?;
        let spaces = raw
            .spaces
            .into_iter()
            .map(|(alias, space)| v.space_alias(alias, space, &settings.limits))
            .collect::<Result<Vec<_>, _>>()?;
        v.aliases_apart(&spaces)?;
        let prompts = raw
            .prompts
            .into_iter()
            .map(|(name, prompt)| v.prompt(name, prompt))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Config {
            origin: origin.to_string(),
            settings,
            tools,
            spaces,
            prompts,
        })
    }
}

/// How long the first tools/list waits for uncached Spaces unless the config
/// says otherwise: long enough for a Space that is up to describe itself,
/// short enough for a client that times out its first request.
pub(crate) const DEFAULT_DISCOVERY_WAIT: Duration = Duration::from_secs(10);

/// Calls one Space may have running at once unless the config says otherwise:
/// enough for a team, few enough not to flood a Space's queue.
pub(crate) const DEFAULT_SPACE_CONCURRENCY: usize = 4;

struct Validator<'a> {
    origin: &'a str,
}

impl Validator<'_> {
    /// A byte count: `default` when absent, else within `range`.
    fn bytes_within(
        &self,
        key: &str,
        value: Option<u64>,
        default: u64,
        range: std::ops::RangeInclusive<u64>,
    ) -> Result<u64, ConfigError> {
        self.within(key, value, default, range, "bytes")
    }

    /// A count of `unit`: `default` when absent, else within `range`.
    fn count_within(
        &self,
        key: &str,
        value: Option<u64>,
        default: usize,
        range: std::ops::RangeInclusive<usize>,
        unit: &str,
    ) -> Result<usize, ConfigError> {
        let (start, end) = (*range.start() as u64, *range.end() as u64);
        let n = self.within(key, value, default as u64, start..=end, unit)?;
        Ok(usize::try_from(n).unwrap_or(usize::MAX))
    }

    /// `default` when absent, else `value` within `range` (of `unit`).
    fn within(
        &self,
        key: &str,
        value: Option<u64>,
        default: u64,
        range: std::ops::RangeInclusive<u64>,
        unit: &str,
    ) -> Result<u64, ConfigError> {
        match value {
            None => Ok(default),
            Some(n) if range.contains(&n) => Ok(n),
            Some(n) => Err(self.invalid(
                key,
                format!(
                    "expected {} to {} {unit}, found {n}",
                    range.start(),
                    range.end()
                ),
            )),
        }
    }

    fn invalid(&self, key: impl Into<String>, message: impl Into<String>) -> ConfigError {
        ConfigError::Invalid {
            origin: self.origin.to_string(),
            key: key.into(),
            message: message.into(),
        }
    }

    fn settings(&self, raw: RawSettings) -> Result<Settings, ConfigError> {
        let limits = self.limits("settings", &raw.limits, &CallLimits::default())?;
        let jobs = self.jobs(&raw)?;
        Ok(Settings {
            jobs,
            limits,
            store: raw.store.filter(|s| !s.trim().is_empty()),
            diagnostics: raw.diagnostics.unwrap_or(false),
            store_ca: raw.store_ca,
            store_lease: match raw.store_lease {
                None => DEFAULT_STORE_LEASE,
                Some(s) if s.is_finite() && (1.0..=300.0).contains(&s) => {
                    Duration::from_secs_f64(s)
                }
                Some(s) => {
                    return Err(self.invalid(
                        "settings.store_lease",
                        format!("expected 1 to 300 seconds, found {s}"),
                    ));
                }
            },
            store_prefix: match raw.store_prefix {
                None => "spaces-mcp".to_string(),
                Some(p)
                    if !p.is_empty()
                        && p.len() <= 64
                        && p.chars()
                            .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c)) =>
                {
                    p
                }
                Some(p) => {
                    return Err(self.invalid(
                        "settings.store_prefix",
                        format!("expected 1 to 64 letters, digits, '-', '_' or '.', found {p:?}"),
                    ));
                }
            },
            private_output_dir: raw.output_dir.is_none(),
            output_dir: raw
                .output_dir
                .unwrap_or_else(crate::dirs::default_output_dir),
            client_hf_token: raw.client_hf_token.unwrap_or(false),
            input_dirs: raw.input_dirs,
            saved: SavedLimits {
                retention: match raw.output_retention_hours {
                    None => Some(Duration::from_secs(24 * 3600)),
                    Some(0.0) => None,
                    Some(h) if h.is_finite() && h > 0.0 && h <= 24.0 * 365.0 => {
                        Some(Duration::from_secs_f64(h * 3600.0))
                    }
                    Some(h) => {
                        return Err(self.invalid(
                            "settings.output_retention_hours",
                            format!("expected 0 (keep) to 8760 hours, found {h}"),
                        ));
                    }
                },
                max_bytes: self.bytes_within(
                    "settings.output_max_bytes",
                    raw.output_max_bytes,
                    DEFAULT_OUTPUT_MAX_BYTES,
                    1024 * 1024..=MAX_OUTPUT_BYTES,
                )?,
                read_max_bytes: self.bytes_within(
                    "settings.resource_read_max_bytes",
                    raw.resource_read_max_bytes,
                    DEFAULT_RESOURCE_READ_MAX_BYTES,
                    4096..=MAX_INLINE_BYTES,
                )?,
            },
            discovery_wait: match raw.discovery_wait {
                None => DEFAULT_DISCOVERY_WAIT,
                Some(s) if s.is_finite() && (0.0..=600.0).contains(&s) => {
                    Duration::from_secs_f64(s)
                }
                Some(s) => {
                    return Err(self.invalid(
                        "settings.discovery_wait",
                        format!("expected 0 to 600 seconds, found {s}"),
                    ));
                }
            },
            space_concurrency: match raw.space_concurrency {
                None => DEFAULT_SPACE_CONCURRENCY,
                Some(n @ 1..=1024) => n,
                Some(n) => {
                    return Err(self.invalid(
                        "settings.space_concurrency",
                        format!("expected 1 to 1024 calls per Space, found {n}"),
                    ));
                }
            },
        })
    }

    /// A prompt: a valid name, and a template whose every `{place}` is one
    /// of its arguments.
    fn prompt(&self, name: String, raw: RawPrompt) -> Result<PromptConfig, ConfigError> {
        let table = format!("prompts.{name}");
        if !is_valid_tool_name(&name) {
            return Err(self.invalid(
                &table,
                "a prompt name is 1 to 64 letters, digits, '_' or '-'",
            ));
        }
        if raw.template.trim().is_empty() {
            return Err(self.invalid(format!("{table}.template"), "the template is empty"));
        }
        for place in template_places(&raw.template) {
            if !raw.arguments.contains_key(place) {
                return Err(self.invalid(
                    format!("{table}.template"),
                    format!("{{{place}}} is not one of the prompt's arguments; declare it under [{table}.arguments]"),
                ));
            }
        }
        Ok(PromptConfig {
            name,
            title: raw.title,
            description: raw.description,
            template: raw.template,
            arguments: raw
                .arguments
                .into_iter()
                .map(|(arg, spec)| (arg, (spec.description, spec.required)))
                .collect(),
        })
    }

    fn jobs(&self, raw: &RawSettings) -> Result<JobSettings, ConfigError> {
        let base = JobSettings::default();
        Ok(JobSettings {
            ttl: match raw.job_ttl {
                None => base.ttl,
                Some(s) if s.is_finite() && (1.0..=7.0 * 86_400.0).contains(&s) => {
                    Duration::from_secs_f64(s)
                }
                Some(s) => {
                    return Err(self.invalid(
                        "settings.job_ttl",
                        format!("expected 1 to 604800 seconds (a week), found {s}"),
                    ));
                }
            },
            max_results: match raw.job_store_max_results {
                None => base.max_results,
                Some(n @ 1..=1_000_000) => n,
                Some(n) => {
                    return Err(self.invalid(
                        "settings.job_store_max_results",
                        format!("expected 1 to 1000000 jobs, found {n}"),
                    ));
                }
            },
            max_bytes: match raw.job_store_max_bytes {
                None => base.max_bytes,
                Some(n @ 65_536..=MAX_JOB_STORE_BYTES) => n,
                Some(n) => {
                    return Err(self.invalid(
                        "settings.job_store_max_bytes",
                        format!("expected 65536 to {MAX_JOB_STORE_BYTES} bytes, found {n}"),
                    ));
                }
            },
            max_per_owner: self.count_within(
                "settings.max_jobs_per_owner",
                raw.max_jobs_per_owner,
                base.max_per_owner,
                1..=100_000,
                "jobs",
            )?,
            max_running: self.count_within(
                "settings.max_jobs",
                raw.max_jobs,
                base.max_running,
                1..=1_000_000,
                "jobs",
            )?,
        })
    }

    fn limits(
        &self,
        table: &str,
        raw: &RawLimits,
        base: &CallLimits,
    ) -> Result<CallLimits, ConfigError> {
        let seconds = |key: &str, value: Option<f64>, base: Duration| match value {
            None => Ok(base),
            Some(s) if s.is_finite() && s > 0.0 && s <= 86_400.0 => Ok(Duration::from_secs_f64(s)),
            Some(s) => Err(self.invalid(
                format!("{table}.{key}"),
                format!("expected a number of seconds above 0 and at most 86400, found {s}"),
            )),
        };
        let bytes = |key: &str, value: Option<u64>, base: u64, max: u64| match value {
            None => Ok(base),
            Some(n) if (1..=max).contains(&n) => Ok(n),
            Some(n) => Err(self.invalid(
                format!("{table}.{key}"),
                format!("expected a size in bytes from 1 to {max}, found {n}"),
            )),
        };
        Ok(CallLimits {
            timeout: seconds("timeout", raw.timeout, base.timeout)?,
            idle_timeout: seconds("idle_timeout", raw.idle_timeout, base.idle_timeout)?,
            inline_max_bytes: bytes(
                "inline_max_bytes",
                raw.inline_max_bytes,
                base.inline_max_bytes,
                MAX_INLINE_BYTES,
            )?,
            download_max_bytes: bytes(
                "download_max_bytes",
                raw.download_max_bytes,
                base.download_max_bytes,
                MAX_DOWNLOAD_BYTES,
            )?,
            max_result_bytes: match raw.max_result_bytes {
                None => base.max_result_bytes,
                Some(n @ 4096..=MAX_INLINE_BYTES) => n,
                Some(n) => {
                    return Err(self.invalid(
                        format!("{table}.max_result_bytes"),
                        format!("expected 4096 to {MAX_INLINE_BYTES} bytes, found {n}"),
                    ));
                }
            },
            preview_max_side: match raw.preview_max_side {
                None => base.preview_max_side,
                Some(n @ 64..=8000) => n as u32,
                Some(n) => {
                    return Err(self.invalid(
                        format!("{table}.preview_max_side"),
                        format!("expected 64 to 8000 pixels, found {n}"),
                    ));
                }
            },
            detach_after: match raw.detach_after {
                None => base.detach_after,
                Some(0.0) => None,
                Some(s) if s.is_finite() && s > 0.0 && s <= 86_400.0 => {
                    Some(Duration::from_secs_f64(s))
                }
                Some(s) => {
                    return Err(self.invalid(
                        format!("{table}.detach_after"),
                        format!("expected 0 (never) or seconds up to 86400, found {s}"),
                    ));
                }
            },
            task_support: raw.task_support.unwrap_or(base.task_support),
        })
    }

    fn tool(
        &self,
        name: String,
        raw: RawTool,
        base: &CallLimits,
    ) -> Result<ToolConfig, ConfigError> {
        let table = format!("tools.{name}");
        if !is_valid_tool_name(&name) {
            return Err(self.invalid(
                &table,
                "a tool name is 1 to 64 letters, digits, '_' or '-' (MCP clients refuse others)",
            ));
        }
        if RESERVED_TOOL_NAMES.contains(&name.as_str()) {
            return Err(self.invalid(
                &table,
                format!("{name} is the name of a built-in tool (job handles, diagnostics); choose another"),
            ));
        }
        let space = self.space(&table, &raw.space, raw.hub_id.as_deref())?;
        let api = normalize_api(&raw.api).ok_or_else(|| {
            self.invalid(
                format!("{table}.api"),
                format!(
                    "expected an endpoint name such as \"/predict\" (letters, digits, '_', '-'), found {:?}",
                    raw.api
                ),
            )
        })?;
        let inputs_from_space = raw.inputs.is_none();
        let inputs = raw
            .inputs
            .unwrap_or_default()
            .into_iter()
            .map(|(input, spec)| {
                let key = format!("{table}.inputs.{input}");
                if input.is_empty() {
                    return Err(self.invalid(key, "an input needs a name"));
                }
                Ok((input, self.input(&key, spec)?))
            })
            .collect::<Result<IndexMap<_, _>, _>>()?;
        for (i, output) in raw.outputs.iter().enumerate() {
            if output.is_empty() || raw.outputs[..i].contains(output) {
                return Err(self.invalid(
                    format!("{table}.outputs"),
                    format!("output names must be non-empty and distinct; {output:?} is not"),
                ));
            }
        }
        let described = raw
            .description
            .as_deref()
            .is_some_and(|d| !d.trim().is_empty());
        let description = raw
            .description
            .map(|d| d.trim().to_string())
            .filter(|d| !d.is_empty())
            .unwrap_or_else(|| default_description(&api, &space));
        Ok(ToolConfig {
            inputs_from_space,
            described,
            limits: self.limits(&table, &raw.limits, base)?,
            send_hf_token: raw.hf_token.unwrap_or(space.is_hub()),
            name,
            space,
            api,
            title: raw.title,
            description,
            inputs,
            outputs: raw.outputs,
            output_schema: None,
        })
    }

    /// A table's `space`, with its `hub_id` when it names one.
    fn space(
        &self,
        table: &str,
        space: &str,
        hub_id: Option<&str>,
    ) -> Result<SpaceRef, ConfigError> {
        let space = SpaceRef::parse(space)
            .map_err(|e| self.invalid(format!("{table}.space"), e.to_string()))?;
        match hub_id {
            None => Ok(space),
            Some(id) => space
                .with_hub_id(id)
                .map_err(|e| self.invalid(format!("{table}.hub_id"), e.to_string())),
        }
    }

    /// `[spaces.*]` tools are named `<alias>_<endpoint>`: an alias that
    /// starts another alias (`a` and `a_b`: `a`'s `/b_echo` is `a_b`'s
    /// `/echo`) or a built-in tool's name (`await` and `await_job`) could give
    /// two tools one name, one silently replacing the other. Refused, naming
    /// both.
    fn aliases_apart(&self, spaces: &[SpaceConfig]) -> Result<(), ConfigError> {
        let starts = |alias: &str, name: &str| {
            name.len() > alias.len() + 1
                && name.starts_with(alias)
                && name.as_bytes()[alias.len()] == b'_'
        };
        for space in spaces {
            let alias = space.alias.as_str();
            if let Some(builtin) = RESERVED_TOOL_NAMES.iter().find(|b| starts(alias, b)) {
                return Err(self.invalid(
                    format!("spaces.{alias}"),
                    format!(
                        "its tools are named {alias}_<endpoint>, and an endpoint /{} would take the name of the built-in tool {builtin}; choose another alias",
                        &builtin[alias.len() + 1..]
                    ),
                ));
            }
            if let Some(other) = spaces.iter().find(|o| starts(alias, &o.alias)) {
                return Err(self.invalid(
                    format!("spaces.{alias}"),
                    format!(
                        "its tools ({alias}_<endpoint>) and those of [spaces.{}] ({}_<endpoint>) can take the same names (an endpoint /{}_x of one is /x of the other); rename one of the two aliases",
                        other.alias,
                        other.alias,
                        &other.alias[alias.len() + 1..]
                    ),
                ));
            }
        }
        Ok(())
    }

    fn space_alias(
        &self,
        alias: String,
        raw: RawSpace,
        base: &CallLimits,
    ) -> Result<SpaceConfig, ConfigError> {
        let table = format!("spaces.{alias}");
        // Tool names are `<alias>_<endpoint>`: the alias must leave room for both.
        if !is_valid_tool_name(&alias) || alias.len() > 40 {
            return Err(self.invalid(
                &table,
                "an alias is 1 to 40 letters, digits, '_' or '-' (it starts each tool name)",
            ));
        }
        let space = self.space(&table, &raw.space, raw.hub_id.as_deref())?;
        Ok(SpaceConfig {
            limits: self.limits(&table, &raw.limits, base)?,
            send_hf_token: raw.hf_token.unwrap_or(space.is_hub()),
            alias,
            space,
        })
    }

    fn input(&self, key: &str, raw: RawInput) -> Result<InputConfig, ConfigError> {
        if let Some(value) = raw.value {
            let shown = raw.kind.is_some()
                || raw.description.is_some()
                || raw.default.is_some()
                || raw.minimum.is_some()
                || raw.maximum.is_some()
                || raw.choices.is_some()
                || raw.required.is_some();
            if shown {
                return Err(self.invalid(
                    key,
                    "an input with a fixed `value` is hidden from the model and takes no other key",
                ));
            }
            return Ok(InputConfig::Fixed(self.json(key, "value", value)?));
        }
        let default = raw
            .default
            .map(|d| self.json(key, "default", d))
            .transpose()?;
        let choices = raw
            .choices
            .map(|c| {
                c.into_iter()
                    .map(|v| self.json(key, "enum", v))
                    .collect::<Result<Vec<_>, _>>()
            })
            .transpose()?;
        let kind = raw
            .kind
            .or_else(|| default.as_ref().and_then(ValueKind::of))
            .or_else(|| choices.as_ref().and_then(|c| c.first()).and_then(ValueKind::of))
            .or_else(|| (raw.minimum.is_some() || raw.maximum.is_some()).then_some(ValueKind::Number))
            .ok_or_else(|| {
                self.invalid(
                    key,
                    "say the input's `type` (\"string\", \"number\", \"integer\" or \"boolean\"), give it a `default`, or fix it with `value`",
                )
            })?;
        let numeric = matches!(kind, ValueKind::Number | ValueKind::Integer);
        if !numeric && (raw.minimum.is_some() || raw.maximum.is_some()) {
            return Err(self.invalid(
                key,
                format!(
                    "`minimum` and `maximum` need a numeric type, not {}",
                    kind.as_str()
                ),
            ));
        }
        if let (Some(lo), Some(hi)) = (raw.minimum, raw.maximum)
            && lo > hi
        {
            return Err(self.invalid(key, format!("`minimum` {lo} is above `maximum` {hi}")));
        }
        if let Some(choices) = &choices {
            if choices.is_empty() {
                return Err(self.invalid(key, "`enum` needs at least one choice"));
            }
            if let Some(bad) = choices.iter().find(|c| !kind.admits(c)) {
                return Err(self.invalid(
                    key,
                    format!("choice {bad} in `enum` is not of type {}", kind.as_str()),
                ));
            }
        }
        let input = ExposedInput {
            kind,
            description: raw.description,
            required: raw.required.unwrap_or(default.is_none()),
            default,
            minimum: raw.minimum,
            maximum: raw.maximum,
            choices,
            shape: None,
        };
        if let Some(default) = &input.default
            && let Err(problem) = input.check(default)
        {
            return Err(self.invalid(key, format!("`default` {problem}")));
        }
        if input.required && input.default.is_some() {
            return Err(self.invalid(key, "a required input cannot have a `default`"));
        }
        Ok(InputConfig::Exposed(input))
    }

    fn json(&self, key: &str, what: &str, value: toml::Value) -> Result<Value, ConfigError> {
        if matches!(value, toml::Value::Datetime(_)) {
            return Err(self.invalid(key, format!("`{what}` cannot be a date")));
        }
        serde_json::to_value(value).map_err(|e| self.invalid(key, format!("`{what}`: {e}")))
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
                ValueKind::File => "a string (an http(s) URL, a data: URI or a local path)",
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

/// `"infer"` and `"/infer"` both name `/infer`; anything that is not a plain
/// endpoint name is refused, since it becomes part of a URL path.
fn normalize_api(api: &str) -> Option<String> {
    let name = api.trim().strip_prefix('/').unwrap_or(api.trim());
    let ok = !name.is_empty()
        && name.len() <= 200
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
    ok.then(|| format!("/{name}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn invalid(text: &str) -> String {
        match Config::parse(text, "test.toml") {
            Ok(_) => panic!("config was accepted:\n{text}"),
            Err(e) => e.to_string(),
        }
    }

    #[test]
    fn aliases_that_could_name_two_tools_alike_are_refused() {
        for (text, names) in [
            (
                "[spaces.await]\nspace = \"a/b\"\n",
                ["spaces.await", "await_job"],
            ),
            (
                "[spaces.a]\nspace = \"a/b\"\n[spaces.a_b]\nspace = \"c/d\"\n",
                ["spaces.a", "spaces.a_b"],
            ),
        ] {
            let refused = Config::parse(text, "t").unwrap_err().to_string();
            for name in names {
                assert!(refused.contains(name), "{refused}");
            }
        }
        // Aliases that only look alike are fine.
        Config::parse(
            "[spaces.ab]\nspace = \"a/b\"\n[spaces.a]\nspace = \"c/d\"\n[spaces.awaits]\nspace = \"e/f\"\n",
            "t",
        )
        .unwrap();
    }

    #[test]
    fn the_built_in_config_loads_and_defines_the_two_tools() {
        let config = Config::load(None).expect("built-in config");
        let names: Vec<&str> = config.tools.iter().map(|t| t.name.as_str()).collect();
        assert_eq!(names, ["generate_image", "run_dia_tts"]);
        let image = &config.tools[0];
        assert_eq!(image.space.to_string(), "ysharma/SanaSprint");
        assert_eq!(image.api, "/infer");
        assert_eq!(
            image.inputs["model_size"],
            InputConfig::Fixed(Value::from("0.6B"))
        );
        let InputConfig::Exposed(width) = &image.inputs["width"] else {
            panic!("width is exposed")
        };
        assert_eq!(width.default, Some(Value::from(512)));
        assert_eq!((width.minimum, width.maximum), (Some(256.0), Some(2048.0)));
        assert!(image.send_hf_token);
        let tts = &config.tools[1];
        assert_eq!(tts.space.to_string(), "ysharma/Dia-1.6B");
        assert_eq!(tts.api, "/generate_audio");
        assert!(tts.description.contains("[S1]") && tts.description.contains("[S2]"));
    }

    #[test]
    fn a_minimal_tool_needs_only_space_and_api() {
        let config = Config::parse(
            "[tools.echo]\nspace = \"http://127.0.0.1:7860\"\napi = \"predict\"\n",
            "t",
        )
        .unwrap();
        let tool = &config.tools[0];
        assert_eq!(tool.api, "/predict");
        assert_eq!(tool.limits, CallLimits::default());
        assert!(
            !tool.send_hf_token,
            "a plain URL gets no HF token unless asked"
        );
    }

    #[test]
    fn the_longest_timeout_counts_spaces_tables_too() {
        let config = Config::parse(
            "[tools.a]\nspace = \"a/b\"\napi = \"/x\"\ntimeout = 5\n[spaces.s]\nspace = \"c/d\"\ntimeout = 600\n",
            "t",
        )
        .unwrap();
        assert_eq!(config.longest_timeout(), Duration::from_secs(600));
    }

    #[test]
    fn tool_limits_override_settings() {
        let config = Config::parse(
            "[settings]\ntimeout = 30\ninline_max_bytes = 10\n[tools.a]\nspace = \"a/b\"\napi = \"/x\"\ntimeout = 5\n",
            "t",
        )
        .unwrap();
        let limits = &config.tools[0].limits;
        assert_eq!(limits.timeout, Duration::from_secs(5));
        assert_eq!(limits.inline_max_bytes, 10);
    }

    #[test]
    fn jobs_settings_default_override_and_refuse_bad_values() {
        let tool = "[tools.a]\nspace = \"a/b\"\napi = \"/x\"\n";
        let config = Config::parse(tool, "t").unwrap();
        let limits = &config.tools[0].limits;
        assert_eq!(limits.detach_after, Some(DEFAULT_DETACH_AFTER));
        assert_eq!(limits.task_support, TaskSupport::Optional);
        assert_eq!(config.settings.jobs, JobSettings::default());
        assert_eq!(config.settings.jobs.ttl, Duration::from_secs(3600));

        let config = Config::parse(
            "[settings]\ndetach_after = 0\njob_ttl = 60\njob_store_max_results = 5\n\
             [tools.a]\nspace = \"a/b\"\napi = \"/x\"\ntask_support = \"required\"\n\
             [tools.b]\nspace = \"a/b\"\napi = \"/y\"\ndetach_after = 3\ntask_support = \"forbidden\"\n",
            "t",
        )
        .unwrap();
        assert_eq!(config.tools[0].limits.detach_after, None);
        assert_eq!(config.tools[0].limits.task_support, TaskSupport::Required);
        assert_eq!(
            config.tools[1].limits.detach_after,
            Some(Duration::from_secs(3))
        );
        assert_eq!(config.tools[1].limits.task_support, TaskSupport::Forbidden);
        assert_eq!(config.settings.jobs.ttl, Duration::from_secs(60));
        assert_eq!(config.settings.jobs.max_results, 5);

        let e = invalid(&format!("{tool}task_support = \"sometimes\"\n"));
        assert!(e.contains("task_support") || e.contains("sometimes"), "{e}");
        let e = invalid(&format!("{tool}detach_after = -1\n"));
        assert!(e.contains("tools.a.detach_after"), "{e}");
        let e = invalid(&format!("[settings]\njob_ttl = 0\n{tool}"));
        assert!(e.contains("settings.job_ttl"), "{e}");
        let e = invalid("[tools.await_job]\nspace = \"a/b\"\napi = \"/x\"\n");
        assert!(e.contains("built-in tool"), "{e}");
    }

    #[test]
    fn errors_name_the_file_the_key_and_what_was_expected() {
        let e = invalid("[tools.\"bad name\"]\nspace = \"a/b\"\napi = \"/x\"\n");
        assert!(e.starts_with("test.toml: tools.bad name:"), "{e}");

        let e = invalid("[tools.t]\nspace = \"not a space\"\napi = \"/x\"\n");
        assert!(e.contains("tools.t.space"), "{e}");

        let e = invalid("[tools.t]\nspace = \"a/b\"\napi = \"/x?y=1\"\n");
        assert!(e.contains("tools.t.api"), "{e}");

        let e = invalid(&format!(
            "[settings]\ndownload_max_bytes = {}\n[tools.t]\nspace = \"a/b\"\napi = \"/x\"\n",
            u64::MAX
        ));
        assert!(
            e.contains("settings.download_max_bytes") && e.contains("from 1 to"),
            "{e}"
        );

        let e = invalid("[tools.t]\nspace = \"a/b\"\napi = \"/x\"\ntimeout = -1\n");
        assert!(
            e.contains("tools.t.timeout") && e.contains("above 0"),
            "{e}"
        );

        let e = invalid(
            "[tools.t]\nspace = \"a/b\"\napi = \"/x\"\n[tools.t.inputs.w]\ndefault = 100\nminimum = 256\n",
        );
        assert!(
            e.contains("tools.t.inputs.w") && e.contains("below the minimum 256"),
            "{e}"
        );

        let e = invalid(
            "[tools.t]\nspace = \"a/b\"\napi = \"/x\"\n[tools.t.inputs.w]\nvalue = 1\ndescription = \"d\"\n",
        );
        assert!(e.contains("fixed `value`"), "{e}");

        let e = invalid(
            "[tools.t]\nspace = \"a/b\"\napi = \"/x\"\n[tools.t.inputs.w]\ndescription = \"d\"\n",
        );
        assert!(e.contains("`type`"), "{e}");

        let e = invalid(
            "[tools.t]\nspace = \"a/b\"\napi = \"/x\"\n[tools.t.inputs.w]\ntype = \"string\"\nminimum = 1\n",
        );
        assert!(e.contains("numeric type"), "{e}");

        let e = invalid(
            "[tools.t]\nspace = \"a/b\"\napi = \"/x\"\n[tools.t.inputs.w]\nenum = [\"a\", 1]\n",
        );
        assert!(e.contains("not of type string"), "{e}");
    }

    #[test]
    fn unknown_keys_and_bad_syntax_are_refused_with_their_place() {
        let e = invalid("[tools.t]\nspace = \"a/b\"\napi = \"/x\"\ntimeuot = 3\n");
        assert!(e.starts_with("test.toml:") && e.contains("timeuot"), "{e}");
        let e = invalid("[tools.t\n");
        assert!(e.contains("line 1"), "{e}");
        let e = invalid("[tools.t]\napi = \"/x\"\n");
        assert!(e.contains("space"), "{e}");
        let e = invalid("");
        assert!(e.contains("no tool is defined"), "{e}");
    }

    #[test]
    fn types_are_inferred_from_defaults_choices_and_bounds() {
        let config = Config::parse(
            r#"
            [tools.t]
            space = "a/b"
            api = "/x"
            inputs.a = { default = 3 }
            inputs.b = { default = 0.5 }
            inputs.c = { enum = ["x", "y"] }
            inputs.d = { minimum = 1 }
            inputs.e = { default = true }
            "#,
            "t",
        )
        .unwrap();
        let kinds: Vec<ValueKind> = config.tools[0]
            .inputs
            .values()
            .map(|i| match i {
                InputConfig::Exposed(e) => e.kind,
                InputConfig::Fixed(_) => unreachable!(),
            })
            .collect();
        use ValueKind::*;
        assert_eq!(kinds, [Integer, Number, String, Number, Boolean]);
    }

    #[test]
    fn checks_say_what_is_wrong() {
        let input = ExposedInput {
            kind: ValueKind::Integer,
            description: None,
            default: None,
            minimum: Some(256.0),
            maximum: Some(2048.0),
            choices: None,
            required: false,
            shape: None,
        };
        assert!(input.check(&Value::from(512)).is_ok());
        assert!(input.check(&serde_json::json!(512.0)).is_ok());
        assert!(
            input
                .check(&serde_json::json!(512.5))
                .unwrap_err()
                .contains("whole number")
        );
        assert!(
            input
                .check(&Value::from("512"))
                .unwrap_err()
                .contains("string \"512\"")
        );
        assert!(
            input
                .check(&Value::from(4096))
                .unwrap_err()
                .contains("above the maximum 2048")
        );
    }
}

/// A bounded fuzz pass: no config text, however odd, panics the loader;
/// it loads or says what is wrong.
#[cfg(test)]
mod fuzz {
    use super::*;
    use proptest::prelude::*;

    /// Lines built from the config's own vocabulary, so most cases get past
    /// the TOML parser and reach validation.
    fn config_text() -> impl Strategy<Value = String> {
        let key = prop_oneof![
            Just("space"),
            Just("api"),
            Just("timeout"),
            Just("idle_timeout"),
            Just("inline_max_bytes"),
            Just("download_max_bytes"),
            Just("hf_token"),
            Just("hub_id"),
            Just("type"),
            Just("default"),
            Just("minimum"),
            Just("maximum"),
            Just("enum"),
            Just("value"),
            Just("required"),
            Just("description"),
            Just("space_concurrency"),
            Just("output_dir"),
            Just("input_dirs"),
        ];
        let value = prop_oneof![
            any::<i64>().prop_map(|n| n.to_string()),
            any::<f64>().prop_map(|f| format!("{f:?}")),
            Just("true".to_string()),
            Just("\"a/b\"".to_string()),
            Just("\"http://127.0.0.1:1\"".to_string()),
            Just("\"/x\"".to_string()),
            Just("\"string\"".to_string()),
            Just("\"integer\"".to_string()),
            Just("[1, \"a\"]".to_string()),
            "\"[ -~]{0,12}\"".prop_map(|s| s.replace('\\', "")),
        ];
        let table = prop_oneof![
            Just("[settings]".to_string()),
            "[a-z]{1,4}".prop_map(|n| format!("[tools.{n}]")),
            "[a-z]{1,4}".prop_map(|n| format!("[tools.{n}.inputs.p]")),
            "[a-z]{1,4}".prop_map(|n| format!("[spaces.{n}]")),
        ];
        let line = prop_oneof![
            table,
            (key, value).prop_map(|(k, v)| format!("{k} = {v}")),
            ".{0,30}",
        ];
        proptest::collection::vec(line, 0..16).prop_map(|lines| lines.join("\n"))
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(3000))]

        #[test]
        fn no_config_panics_the_loader(text in config_text()) {
            match Config::parse(&text, "fuzz.toml") {
                Ok(config) => {
                    prop_assert!(!config.tools.is_empty() || !config.spaces.is_empty());
                    for tool in &config.tools {
                        prop_assert!(is_valid_tool_name(&tool.name));
                        prop_assert!(tool.limits.download_max_bytes <= MAX_DOWNLOAD_BYTES);
                    }
                }
                Err(e) => prop_assert!(e.to_string().starts_with("fuzz.toml")),
            }
        }
    }
}
