//! The file's shape, as serde reads it: kept apart from the validated model
//! so that every rule lives in `validate` and `tables`.

use std::path::PathBuf;

use indexmap::IndexMap;
use serde::Deserialize;

use super::*;

// ---------------------------------------------------------------------------
// The file's shape, as serde reads it. Kept apart from the validated model so
// that every rule lives in one place (`validate_*` below).

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawConfig {
    #[serde(default)]
    pub(super) settings: RawSettings,
    #[serde(default)]
    pub(super) tools: IndexMap<String, RawTool>,
    #[serde(default)]
    pub(super) spaces: IndexMap<String, RawSpace>,
    #[serde(default)]
    pub(super) prompts: IndexMap<String, RawPrompt>,
    #[serde(default)]
    pub(super) clients: IndexMap<String, RawClient>,
    #[serde(default)]
    pub(super) hub: RawHub,
}

/// The `[hub]` table: the opt-in tools that find and call Spaces nobody
/// configured.
#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(super) struct RawHub {
    pub(super) tools: Option<bool>,
    #[serde(default)]
    pub(super) allow: Vec<String>,
    #[serde(default)]
    pub(super) deny: Vec<String>,
    pub(super) max_spaces_per_hour: Option<u64>,
}

/// A `[clients."<clientInfo name>"]` table.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawClient {
    pub(super) content: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawPrompt {
    pub(super) title: Option<String>,
    pub(super) description: Option<String>,
    pub(super) template: String,
    #[serde(default)]
    pub(super) arguments: IndexMap<String, RawPromptArgument>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(super) struct RawPromptArgument {
    pub(super) description: Option<String>,
    #[serde(default = "yes")]
    pub(super) required: bool,
}

pub(super) fn yes() -> bool {
    true
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawSpace {
    pub(super) space: String,
    #[serde(flatten)]
    pub(super) limits: RawLimits,
    pub(super) hf_token: Option<bool>,
    pub(super) hub_id: Option<String>,
    pub(super) auth: Option<RawAuth>,
}

/// `auth = { username = "…", password_env = "NAME" }` (or `password_file`):
/// the login of an app launched with `auth=...`.
#[derive(Deserialize, Clone)]
#[serde(deny_unknown_fields)]
pub(super) struct RawAuth {
    pub(super) username: String,
    pub(super) password_env: Option<String>,
    pub(super) password_file: Option<PathBuf>,
    /// Read only to refuse it: a password is never written in the file.
    pub(super) password: Option<toml::Value>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(super) struct RawSettings {
    #[serde(flatten)]
    pub(super) limits: RawLimits,
    pub(super) output_dir: Option<PathBuf>,
    pub(super) client_hf_token: Option<bool>,
    pub(super) space_concurrency: Option<u64>,
    pub(super) slots_per_caller: Option<u64>,
    #[serde(default)]
    pub(super) input_dirs: Vec<PathBuf>,
    pub(super) discovery_wait: Option<f64>,
    pub(super) output_retention_hours: Option<f64>,
    pub(super) output_max_bytes: Option<u64>,
    pub(super) resource_read_max_bytes: Option<u64>,
    pub(super) job_ttl: Option<f64>,
    pub(super) job_store_max_results: Option<u64>,
    pub(super) job_store_max_bytes: Option<u64>,
    pub(super) max_jobs_per_owner: Option<u64>,
    pub(super) max_jobs: Option<u64>,
    pub(super) store: Option<String>,
    pub(super) store_lease: Option<f64>,
    pub(super) store_ca: Option<PathBuf>,
    pub(super) store_prefix: Option<String>,
    pub(super) diagnostics: Option<bool>,
    pub(super) content: Option<String>,
    pub(super) app_view: Option<bool>,
    pub(super) upload_max_bytes: Option<u64>,
}

#[derive(Deserialize, Default, Clone)]
#[serde(deny_unknown_fields)]
pub(super) struct RawLimits {
    pub(super) timeout: Option<f64>,
    pub(super) idle_timeout: Option<f64>,
    pub(super) inline_max_bytes: Option<u64>,
    pub(super) download_max_bytes: Option<u64>,
    pub(super) max_result_bytes: Option<u64>,
    pub(super) preview_max_side: Option<u64>,
    pub(super) detach_after: Option<f64>,
    pub(super) task_support: Option<TaskSupport>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawTool {
    pub(super) space: String,
    pub(super) api: String,
    pub(super) title: Option<String>,
    pub(super) description: Option<String>,
    /// Absent: every input is read from the Space.
    pub(super) inputs: Option<IndexMap<String, RawInput>>,
    #[serde(default)]
    pub(super) outputs: Vec<String>,
    #[serde(flatten)]
    pub(super) limits: RawLimits,
    pub(super) hf_token: Option<bool>,
    pub(super) hub_id: Option<String>,
    pub(super) auth: Option<RawAuth>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(super) struct RawInput {
    #[serde(rename = "type")]
    pub(super) kind: Option<ValueKind>,
    pub(super) description: Option<String>,
    pub(super) default: Option<toml::Value>,
    pub(super) minimum: Option<f64>,
    pub(super) maximum: Option<f64>,
    #[serde(rename = "enum")]
    pub(super) choices: Option<Vec<toml::Value>>,
    pub(super) value: Option<toml::Value>,
    pub(super) required: Option<bool>,
}
