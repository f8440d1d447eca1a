//! Every default and bound of the config, named, with why it is what it is.

use std::time::Duration;

use super::*;

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
pub(super) const MAX_OUTPUT_BYTES: u64 = 1024 * 1024 * 1024 * 1024;

/// The largest saved file one `resources/read` returns unless the config
/// says otherwise: its base64 is held whole until sent, and a client holds
/// the whole answer too.
pub(crate) const DEFAULT_RESOURCE_READ_MAX_BYTES: u64 = 16 * 1024 * 1024;
/// The largest file a person may give through the MCP App view.
pub(crate) const DEFAULT_UPLOAD_MAX_BYTES: u64 = 25 * 1024 * 1024;

/// The most `job_store_max_bytes` may be.
pub(super) const MAX_JOB_STORE_BYTES: u64 = 16 * 1024 * 1024 * 1024;

/// The most `download_max_bytes` may be: a call's files are held in memory.
pub(crate) const MAX_DOWNLOAD_BYTES: u64 = 2 * 1024 * 1024 * 1024;

/// Overrides `output_dir` (for installers that set an environment, as an MCP
/// Bundle does).
pub(super) const OUTPUT_DIR_ENV: &str = "SPACES_MCP_OUTPUT_DIR";

/// The environment variable that sets every client's content profile.
pub(super) const CONTENT_ENV: &str = "SPACES_MCP_CONTENT";

/// The built-in tools' names, which no configured tool may take.
pub(crate) const RESERVED_TOOL_NAMES: &[&str] = crate::naming::builtin::ALL;

/// How long a job runs before a client without tasks gets a job handle.
pub(crate) const DEFAULT_DETACH_AFTER: Duration = Duration::from_secs(50);

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

/// How long the first tools/list waits for uncached Spaces unless the config
/// says otherwise: long enough for a Space that is up to describe itself,
/// short enough for a client that times out its first request.
pub(crate) const DEFAULT_DISCOVERY_WAIT: Duration = Duration::from_secs(10);

/// Calls one Space may have running at once unless the config says otherwise:
/// enough for a team, few enough not to flood a Space's queue.
pub(crate) const DEFAULT_SPACE_CONCURRENCY: usize = 4;

/// Distinct Spaces one caller may describe or call through the Hub tools in
/// an hour.
pub(crate) const DEFAULT_HUB_SPACES_PER_HOUR: usize = 20;
