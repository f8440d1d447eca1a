//! From a Space's API to tool inputs: each parameter of `/gradio_api/info`
//! becomes an input with a type, choices, slider bounds, the Space's default
//! and its label as description, and the endpoint's returns become the
//! tool's output schema. Tools whose inputs come from their Space get them
//! this way; `spaces-mcp discover` prints the same inputs as config.

use indexmap::IndexMap;
use serde_json::{Value, json};

use super::arguments::output_names;
use crate::config::{ExposedInput, InputConfig, ToolConfig, ValueKind};
use crate::gradio::{EndpointInfo, ParameterInfo, ReturnInfo};
use crate::naming::parameter_name;

/// What a parameter becomes.
pub(crate) enum Derived {
    /// An input the model may give.
    Input(ExposedInput),
    /// A type this server cannot describe: the Space's default is sent.
    Unknown,
}

/// What a file input's schema tells the model.
const FILE_HELP: &str = "a file: an http(s) URL, a data: URI, or the path of a local file in a folder the server allows";

/// The schema of the structured result: each output under its name, as
/// `output::render` writes it (files as objects with kind, URL, MIME type and
/// size; galleries as lists of them; plain values as they come).
pub(crate) fn output_schema(
    names: &[String],
    returns: &[ReturnInfo],
) -> serde_json::Map<String, Value> {
    let file = json!({
        "type": "object",
        "properties": {
            "kind": {"type": "string", "enum": ["image", "audio", "video", "file"]},
            "url": {"type": "string"},
            "mime_type": {"type": "string"},
            "size": {"type": "integer"},
            "path": {"type": "string", "description": "where the file was saved, when it was"},
            "caption": {"type": "string"}
        },
        "required": ["kind", "url", "mime_type", "size"]
    });
    let files = json!({"type": "array", "items": file});
    let mut properties = serde_json::Map::new();
    for (name, ret) in names.iter().zip(returns) {
        let component = ret.component.as_deref().unwrap_or("").to_ascii_lowercase();
        let schema = match component.as_str() {
            "image" | "audio" | "video" | "model3d" | "imageslider" => {
                json!({"anyOf": [file, {"type": "null"}]})
            }
            "file" | "uploadbutton" => json!({"anyOf": [file, files, {"type": "null"}]}),
            "gallery" => json!({"anyOf": [files, {"type": "null"}]}),
            "number" | "slider" => json!({"type": ["number", "null"]}),
            "checkbox" => json!({"type": ["boolean", "null"]}),
            "textbox" | "markdown" | "html" | "code" | "radio" | "dropdown" => {
                json!({"type": ["string", "null"]})
            }
            "dataframe" => json!({
                "type": ["object", "null"],
                "properties": {
                    "headers": {"type": "array", "items": {}},
                    "data": {"type": "array", "items": {"type": "array", "items": {}}}
                }
            }),
            _ => json!({}),
        };
        let mut schema = schema;
        if let Some(label) = ret.label.as_deref().filter(|l| !l.trim().is_empty())
            && let Some(object) = schema.as_object_mut()
        {
            object.insert(
                "description".into(),
                Value::String(format!(
                    "{} ({})",
                    label.trim(),
                    ret.component.as_deref().unwrap_or("output")
                )),
            );
        }
        properties.insert(name.clone(), schema);
    }
    let mut schema = serde_json::Map::new();
    schema.insert("type".into(), "object".into());
    schema.insert(
        "required".into(),
        Value::Array(properties.keys().map(|k| Value::from(k.as_str())).collect()),
    );
    schema.insert("properties".into(), Value::Object(properties));
    schema
}

/// What a parameter becomes as a tool input.
pub(crate) fn derive(parameter: &ParameterInfo) -> Derived {
    let schema = &parameter.schema;
    let label = parameter
        .label
        .as_deref()
        .map(str::trim)
        .filter(|l| !l.is_empty());
    if takes_file(schema) {
        return Derived::Input(ExposedInput {
            kind: ValueKind::File,
            description: Some(match label {
                Some(label) => format!("{label}: {FILE_HELP}"),
                None => FILE_HELP.to_string(),
            }),
            default: None,
            minimum: None,
            maximum: None,
            choices: None,
            required: !parameter.parameter_has_default,
        });
    }
    let choices = schema
        .get("enum")
        .and_then(Value::as_array)
        .filter(|c| !c.is_empty())
        .cloned();
    let Some(kind) = kind_of(schema, choices.as_deref()) else {
        return Derived::Unknown;
    };
    let (minimum, maximum) = match slider_bounds(schema) {
        Some((lo, hi)) => (Some(lo), Some(hi)),
        None => (None, None),
    };
    let default = Some(&parameter.parameter_default)
        .filter(|d| parameter.parameter_has_default && !d.is_null())
        .cloned();
    let input = ExposedInput {
        kind,
        description: parameter
            .label
            .as_deref()
            .map(str::trim)
            .filter(|l| !l.is_empty())
            .map(str::to_string),
        required: !parameter.parameter_has_default,
        default,
        minimum,
        maximum,
        choices,
    };
    // A Space whose default falls outside its own bounds or choices: drop the
    // constraint rather than refuse the default.
    match &input.default {
        Some(default) if input.check(default).is_err() => Derived::Input(ExposedInput {
            minimum: None,
            maximum: None,
            choices: None,
            ..input
        }),
        _ => Derived::Input(input),
    }
}

/// A tool whose inputs (and, unless the config gave one, description) come
/// from the endpoint.
pub(crate) fn from_endpoint(template: &ToolConfig, endpoint: &EndpointInfo) -> ToolConfig {
    let mut tool = template.clone();
    let mut inputs = IndexMap::new();
    for parameter in &endpoint.parameters {
        if let Derived::Input(input) = derive(parameter) {
            inputs.insert(parameter_name(parameter), InputConfig::Exposed(input));
        }
    }
    tool.inputs = inputs;
    tool.output_schema = Some(output_schema(
        &output_names(&tool, endpoint),
        &endpoint.returns,
    ));
    if !tool.described
        && let Some(description) = endpoint
            .description
            .as_deref()
            .map(str::trim)
            .filter(|d| !d.is_empty())
    {
        tool.description = format!(
            "{description} (Gradio app {}, endpoint {})",
            tool.space, tool.api
        );
    }
    tool
}

/// File inputs are objects with a `path` (Gradio's FileData), or lists of them.
fn takes_file(schema: &Value) -> bool {
    let is_file = |s: &Value| s.get("properties").and_then(|p| p.get("path")).is_some();
    is_file(schema) || schema.get("items").is_some_and(is_file)
}

fn kind_of(schema: &Value, choices: Option<&[Value]>) -> Option<ValueKind> {
    match schema.get("type").and_then(Value::as_str) {
        Some("string") => Some(ValueKind::String),
        Some("number") => Some(ValueKind::Number),
        Some("integer") => Some(ValueKind::Integer),
        Some("boolean") => Some(ValueKind::Boolean),
        _ => match choices?.first()? {
            Value::String(_) => Some(ValueKind::String),
            Value::Number(_) => Some(ValueKind::Number),
            Value::Bool(_) => Some(ValueKind::Boolean),
            _ => None,
        },
    }
}

/// Gradio describes a slider as "numeric value between 256 and 2048".
pub(crate) fn slider_bounds(schema: &Value) -> Option<(f64, f64)> {
    let text = schema.get("description")?.as_str()?;
    let rest = text.split("between ").nth(1)?;
    let (lo, hi) = rest.split_once(" and ")?;
    let lo: f64 = lo.trim().parse().ok()?;
    let hi: f64 = hi.trim().trim_end_matches('.').parse().ok()?;
    (lo <= hi).then_some((lo, hi))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slider_bounds_are_read_from_gradios_words() {
        assert_eq!(
            slider_bounds(&json!({"description": "numeric value between 0.8 and 1.0"})),
            Some((0.8, 1.0))
        );
        assert_eq!(slider_bounds(&json!({"type": "number"})), None);
        assert_eq!(
            slider_bounds(&json!({"description": "numeric value between 5 and 1"})),
            None
        );
    }
}
