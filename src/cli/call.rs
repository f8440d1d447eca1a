//! `spaces-mcp call TOOL key=value…`: one call, run as the server would run
//! it (the Spaces of tools whose inputs come from them are read first), its
//! files saved and their paths printed.

use std::path::PathBuf;
use std::process::ExitCode;

use rmcp::model::{ContentBlock, JsonObject};
use serde_json::Value;
use tokio_util::sync::CancellationToken;

use super::progress_line::ProgressLine;
use super::{CliError, Engine, print_json};
use crate::call::CallOptions;
use crate::config::{Config, ContentProfile, InputConfig, ToolConfig, ValueKind};
use crate::result::shape::{Audience, Features};

pub(super) async fn run(
    mut config: Config,
    tool: &str,
    arguments: &[String],
    output_dir: Option<PathBuf>,
    plain: bool,
) -> Result<ExitCode, CliError> {
    if let Some(dir) = output_dir {
        config.settings.output_dir = dir;
        config.settings.private_output_dir = false;
    }
    let services = Engine::new(&config);
    // A tool from a `[spaces]` table, or one that lists no inputs, exists
    // (and has types) only once its Space has been read.
    services.discovery.read_all(&config).await;
    let registered = services.runner.registry().get(tool);
    let arguments = parse_arguments(registered.as_ref().map(|t| &t.config), arguments)?;
    let cancel = CancellationToken::new();
    let on_interrupt = cancel.clone();
    tokio::spawn(async move {
        if tokio::signal::ctrl_c().await.is_ok() {
            on_interrupt.cancel();
        }
    });
    let line = ProgressLine::new(plain);
    let options = CallOptions {
        arrival: None,
        // Files are saved and their paths printed: nothing inline.
        audience: Audience {
            profile: ContentProfile::Text,
            features: Features::ALL,
        },
        cancel,
        client_token: None,
        progress: Some(line.sink()),
        // The Space's log lines are among the progress printed above.
        log: None,
        owner: crate::jobs::Owner::local(),
        polled: false,
        // The files it saved, by URI, so their paths can be printed last.
        view: true,
    };
    let outcome = services.runner.call(tool, Some(&arguments), options).await;
    line.finish();
    let outcome = outcome.map_err(|e| CliError::Failed(e.to_string()))?;
    let failed = outcome.result.is_error == Some(true);
    for block in &outcome.result.content {
        if let ContentBlock::Text(text) = block {
            if failed {
                eprintln!("{}", text.text);
            } else {
                println!("{}", text.text);
            }
        }
    }
    if failed {
        return Ok(ExitCode::FAILURE);
    }
    if let Some(structured) = &outcome.result.structured_content {
        print_json(structured)?;
    }
    // Last, the saved files' paths, one a line: what a shell script takes.
    for path in saved_paths(&services, &outcome.result) {
        println!("{}", path.display());
    }
    Ok(ExitCode::SUCCESS)
}

/// The paths of the files a call saved, in output order.
fn saved_paths(services: &Engine, result: &rmcp::model::CallToolResult) -> Vec<PathBuf> {
    let owner = crate::jobs::Owner::local();
    result
        .meta
        .as_ref()
        .and_then(|m| m.0.get(crate::result::view_meta::VIEW_KEY))
        .and_then(|v| v.get("files"))
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|f| f.get("uri").and_then(Value::as_str))
        .filter_map(|uri| services.runner.saved().path_of(&owner, uri).ok())
        .collect()
}

/// Reads `key=value` words, typed by the tool's inputs as the registry has
/// them (discovered ones included): a value is taken as a string for string
/// and file inputs, and as JSON otherwise (`width=512`, `flag=true`).
fn parse_arguments(tool: Option<&ToolConfig>, words: &[String]) -> Result<JsonObject, CliError> {
    let inputs = tool.map(|t| &t.inputs);
    let mut arguments = JsonObject::new();
    for word in words {
        let (key, raw) = word.split_once('=').ok_or_else(|| {
            CliError::Usage(format!("argument {word:?} is not of the form key=value"))
        })?;
        let is_string = match inputs.and_then(|i| i.get(key)) {
            Some(InputConfig::Exposed(input)) => {
                matches!(input.kind, ValueKind::String | ValueKind::File)
            }
            _ => false,
        };
        let value = if is_string {
            Value::String(raw.to_string())
        } else {
            serde_json::from_str(raw).unwrap_or_else(|_| Value::String(raw.to_string()))
        };
        arguments.insert(key.to_string(), value);
    }
    Ok(arguments)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_are_typed_by_the_tools_inputs() {
        let config = Config::load(None).unwrap();
        let words = [
            "prompt=42".to_string(),
            "width=512".to_string(),
            "x=true".to_string(),
        ];
        let arguments = parse_arguments(Some(&config.tools[0]), &words).unwrap();
        assert_eq!(
            arguments["prompt"],
            Value::from("42"),
            "a string input keeps digits as text"
        );
        assert_eq!(arguments["width"], Value::from(512));
        assert_eq!(arguments["x"], Value::from(true));
        assert!(matches!(
            parse_arguments(None, &["novalue".to_string()]),
            Err(CliError::Usage(_))
        ));
    }
}
