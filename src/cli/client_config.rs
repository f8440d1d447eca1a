//! `spaces-mcp config claude`: a ready `mcpServers` entry naming this binary.

use std::path::Path;
use std::process::ExitCode;

use serde_json::{Value, json};

use super::{CliError, print_json};

pub(super) fn claude(config: Option<&Path>) -> Result<ExitCode, CliError> {
    let exe = std::env::current_exe()
        .and_then(|p| p.canonicalize().or(Ok(p)))
        .map_err(|e| CliError::Failed(format!("cannot find this program's own path: {e}")))?;
    let mut args = vec![Value::from("serve")];
    if let Some(config) = config {
        let absolute = std::path::absolute(config).unwrap_or_else(|_| config.to_path_buf());
        args.push("--config".into());
        args.push(absolute.display().to_string().into());
    }
    let entry = json!({ "mcpServers": { "spaces": { "command": exe.display().to_string(), "args": args } } });
    eprintln!(
        "Add this to claude_desktop_config.json (Cursor: ~/.cursor/mcp.json). For private Spaces or your own \
         ZeroGPU quota, add \"env\": {{\"HF_TOKEN\": \"hf_...\"}} to the entry."
    );
    print_json(&entry)
}
