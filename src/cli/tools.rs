//! `spaces-mcp tools`: every tool with its schemas, as JSON, after reading
//! the Spaces of tools whose inputs come from them.

use std::process::ExitCode;

use serde_json::json;

use super::{CliError, Engine, print_json};
use crate::config::Config;

pub(super) async fn run(config: &Config) -> Result<ExitCode, CliError> {
    let services = Engine::new(config);
    services.discovery.start(config);
    let registry = services.runner.registry();
    registry.first_reads_done().await;
    // Tools left out for a name another holds: the same words the server
    // logs, here where the person looking at the list sees them.
    for clash in registry.clashes() {
        eprintln!("spaces-mcp: warning: {clash}");
    }
    print_json(&json!({ "tools": services.runner.registry().definitions() }))
}
