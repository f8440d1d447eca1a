//! `spaces-mcp tools`: every tool with its schemas, as JSON, after reading
//! the Spaces of tools whose inputs come from them.

use std::process::ExitCode;

use serde_json::json;

use super::{CliError, Engine, print_json};
use crate::config::Config;

pub(super) async fn run(config: &Config) -> Result<ExitCode, CliError> {
    let services = Engine::new(config);
    services.discovery.start(config);
    services.runner.registry().first_reads_done().await;
    print_json(&json!({ "tools": services.runner.registry().definitions() }))
}
