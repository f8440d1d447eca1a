//! A call's arguments: checked against the tool's inputs (names, types,
//! bounds, choices), then laid out as the positional `data` Gradio expects;
//! and the names of the endpoint's outputs.

use rmcp::model::JsonObject;
use serde_json::Value;

use super::{Arguments, ToolError};
use crate::config::{InputConfig, ToolConfig, ValueKind};
use crate::gradio::EndpointInfo;
use crate::naming::{parameter_name, slug};

/// Checks a call's arguments against the tool's inputs: every argument known,
/// of the right type and within bounds; every required one present. Defaults
/// from the config fill the rest.
pub(crate) fn check_arguments(
    tool: &ToolConfig,
    arguments: Option<&JsonObject>,
) -> Result<Arguments, ToolError> {
    let empty = JsonObject::new();
    let arguments = arguments.unwrap_or(&empty);
    let exposed = || {
        tool.inputs
            .iter()
            .filter(|(_, i)| matches!(i, InputConfig::Exposed(_)))
            .map(|(n, _)| n.as_str())
    };
    for name in arguments.keys() {
        if !matches!(tool.inputs.get(name), Some(InputConfig::Exposed(_))) {
            let names: Vec<&str> = exposed().collect();
            return Err(ToolError::UnknownArgument {
                name: name.clone(),
                expected: if names.is_empty() {
                    "no arguments".into()
                } else {
                    names.join(", ")
                },
            });
        }
    }
    let mut checked = Arguments::new();
    for (name, input) in &tool.inputs {
        let InputConfig::Exposed(input) = input else {
            continue;
        };
        match arguments.get(name) {
            // For a JSON input, null is a value like any other (a plot with
            // no data, an empty state).
            Some(Value::Null) if input.kind == ValueKind::Json && input.required => {
                checked.insert(name.clone(), Value::Null);
            }
            // Otherwise a null stands for "not given", as many clients send it
            // for optional fields.
            Some(Value::Null) | None => {
                if input.required {
                    return Err(ToolError::MissingArgument { name: name.clone() });
                }
                if let Some(default) = &input.default {
                    checked.insert(name.clone(), default.clone());
                }
            }
            Some(value) => {
                input
                    .check(value)
                    .map_err(|problem| ToolError::InvalidArgument {
                        name: name.clone(),
                        problem,
                    })?;
                checked.insert(name.clone(), value.clone());
            }
        }
    }
    Ok(checked)
}

/// Lays the arguments out as the endpoint's positional `data`: every input in
/// the endpoint's order, from the call's arguments, the config's fixed values,
/// or the Space's own defaults. Gradio accepts a short list and then fails with
/// no message, so every input is always sent.
pub(crate) fn positional_data(
    tool: &ToolConfig,
    arguments: &Arguments,
    endpoint: &EndpointInfo,
) -> Result<Vec<Value>, ToolError> {
    let owned: Vec<String> = endpoint.parameters.iter().map(parameter_name).collect();
    let names: Vec<&str> = owned.iter().map(String::as_str).collect();
    if let Some(unknown) = tool.inputs.keys().find(|k| !names.contains(&k.as_str())) {
        return Err(ToolError::NoSuchParameter {
            name: unknown.clone(),
            available: names.join(", "),
        });
    }
    endpoint
        .parameters
        .iter()
        .zip(&names)
        .map(|(parameter, name)| {
            if let Some(value) = arguments.get(*name) {
                return Ok(value.clone());
            }
            if let Some(InputConfig::Fixed(value)) = tool.inputs.get(*name) {
                return Ok(value.clone());
            }
            if parameter.parameter_has_default {
                return Ok(parameter.parameter_default.clone());
            }
            // An input the tool shows as optional with nothing to fall back on
            // (a choice with no choices yet): null, as Gradio's own clients send.
            if let Some(InputConfig::Exposed(input)) = tool.inputs.get(*name)
                && !input.required
            {
                return Ok(Value::Null);
            }
            Err(ToolError::UnfilledParameter {
                name: name.to_string(),
            })
        })
        .collect()
}

/// The keys of the structured result: the config's names, then the Space's
/// labels in snake case, then `output_<n>`; always distinct.
pub(crate) fn output_names(tool: &ToolConfig, endpoint: &EndpointInfo) -> Vec<String> {
    let mut names: Vec<String> = Vec::with_capacity(endpoint.returns.len());
    for (i, ret) in endpoint.returns.iter().enumerate() {
        let candidate = tool
            .outputs
            .get(i)
            .cloned()
            .or_else(|| {
                ret.label
                    .as_deref()
                    .filter(|l| !is_generated_label(l))
                    .map(slug)
                    .filter(|l| !l.is_empty())
            })
            .or_else(|| ret.component.as_deref().map(kind_name))
            .unwrap_or_else(|| format!("output_{i}"));
        let name = if names.contains(&candidate) {
            format!("{candidate}_{i}")
        } else {
            candidate
        };
        names.push(name);
    }
    names
}

/// Gradio labels a component nobody labelled `value_<its id>`: a number that
/// says nothing to a person or a model.
fn is_generated_label(label: &str) -> bool {
    label
        .strip_prefix("value_")
        .is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
}

/// An unlabelled output, named by what it is (`image`, `audio`, `text`).
fn kind_name(component: &str) -> String {
    match component {
        "Textbox" | "Markdown" | "HTML" | "Code" | "HighlightedText" => "text".to_string(),
        "Dataframe" => "table".to_string(),
        "AnnotatedImage" | "ImageEditor" | "ImageSlider" => "image".to_string(),
        other => {
            let name = slug(other);
            if name.is_empty() {
                "output".to_string()
            } else {
                name
            }
        }
    }
}
