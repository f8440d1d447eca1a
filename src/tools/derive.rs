//! From a Space's API to tool inputs: each parameter of `/gradio_api/info`
//! becomes an input with a type, choices, slider bounds, the Space's default
//! and its label as description, and the endpoint's returns become the
//! tool's output schema. Tools whose inputs come from their Space get them
//! this way; `spaces-mcp discover` prints the same inputs as config.

use indexmap::IndexMap;
use serde_json::{Value, json};

use super::arguments::output_names;
use std::sync::Arc;

use crate::config::{ExposedInput, InputConfig, InputShape, ToolConfig, ValueKind};
use crate::gradio::{EndpointInfo, ParameterInfo, ReturnInfo};
use crate::naming::parameter_name;

/// What a file input's schema tells the model.
const FILE_HELP: &str = "a file: an http(s) URL, a data: URI, or the path of a local file in a folder the server allows";

/// The schema of the structured result: each output under its name, as
/// `output::render` writes it (files as objects with kind, URL, MIME type and
/// size; galleries as lists of them; plain values as they come).
pub(crate) fn output_schema(
    names: &[String],
    returns: &[ReturnInfo],
) -> serde_json::Map<String, Value> {
    // A file is always its kind and URL; its type and size when it was
    // fetched, its path when saved, its caption in a gallery.
    let file = json!({
        "type": "object",
        "properties": {
            "kind": {"type": "string", "enum": ["image", "audio", "video", "file"]},
            "url": {"type": "string"},
            "mime_type": {"type": "string"},
            "size": {"type": "integer"},
            "path": {"type": "string", "description": "where the file was saved, when it was"},
            "caption": {"type": ["string", "null"]}
        },
        "required": ["kind", "url"]
    });
    let files = json!({"type": "array", "items": file});
    let mut properties = serde_json::Map::new();
    for (name, ret) in names.iter().zip(returns) {
        let component = ret.component.as_deref().unwrap_or("").to_ascii_lowercase();
        // Every output may be null (a `gr.update` that sets no value); a
        // component whose value can take several shapes gets no type.
        let schema = match component.as_str() {
            "image" | "audio" | "video" | "model3d" | "imageslider" | "file" | "uploadbutton"
            | "downloadbutton" | "simpleimage" => {
                json!({"anyOf": [file, files, {"type": "null"}]})
            }
            "gallery" => json!({"anyOf": [files, {"type": "null"}]}),
            "number" | "slider" => json!({"type": ["number", "null"]}),
            "checkbox" => json!({"type": ["boolean", "null"]}),
            "textbox" | "markdown" | "html" | "code" | "colorpicker" => {
                json!({"type": ["string", "null"]})
            }
            "checkboxgroup" => json!({"type": ["array", "null"]}),
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

/// What a parameter becomes as a tool input: a plain value (string, number,
/// boolean, with choices and bounds), a single file, or, for every other
/// component (lists, chat histories, tables, several files, images with
/// layers…), a JSON value in the shape Gradio's own schema gives, files in
/// it taken as strings.
pub(crate) fn derive(parameter: &ParameterInfo) -> ExposedInput {
    let wire = resolve_refs(&parameter.schema);
    let label = parameter
        .label
        .as_deref()
        .map(str::trim)
        .filter(|l| !l.is_empty());
    // A choice with no choices yet (a Dropdown or Radio the app fills in
    // later): only null can be sent, and Gradio takes it (its own example is
    // null), so the input is not required.
    let no_choices = wire
        .get("enum")
        .and_then(Value::as_array)
        .is_some_and(|c| c.is_empty());
    let required = !parameter.parameter_has_default && !no_choices;
    let default = Some(&parameter.parameter_default)
        .filter(|d| parameter.parameter_has_default && !d.is_null())
        .cloned();
    let plain = ExposedInput {
        kind: ValueKind::Json,
        description: label.map(str::to_string),
        default: None,
        minimum: None,
        maximum: None,
        choices: None,
        required,
        shape: None,
    };
    if is_file_node(&wire) {
        return ExposedInput {
            kind: ValueKind::File,
            description: Some(match label {
                Some(label) => format!("{label}: {FILE_HELP}"),
                None => FILE_HELP.to_string(),
            }),
            ..plain
        };
    }
    let choices = wire
        .get("enum")
        .and_then(Value::as_array)
        .filter(|c| !c.is_empty())
        .cloned();
    if let Some(kind) = scalar_kind(&wire, choices.as_deref()) {
        return scalar(plain, kind, &wire, default, choices);
    }
    structured(plain, wire, label, default)
}

/// A string, number, integer or boolean input, with a slider's bounds and a
/// choice's values. A Space whose default falls outside its own bounds or
/// choices: the constraint is dropped rather than the default refused.
fn scalar(
    plain: ExposedInput,
    kind: ValueKind,
    wire: &Value,
    default: Option<Value>,
    choices: Option<Vec<Value>>,
) -> ExposedInput {
    let (minimum, maximum) = match slider_bounds(wire) {
        Some((lo, hi)) => (Some(lo), Some(hi)),
        None => (None, None),
    };
    let input = ExposedInput {
        kind,
        default,
        minimum,
        maximum,
        choices,
        ..plain
    };
    match &input.default {
        Some(default) if input.check(default).is_err() => ExposedInput {
            minimum: None,
            maximum: None,
            choices: None,
            ..input
        },
        _ => input,
    }
}

/// Any other input: a JSON value in the shape Gradio's schema gives (the
/// model's schema beside the wire's); a default that does not fit its own
/// schema is not shown.
fn structured(
    plain: ExposedInput,
    wire: Value,
    label: Option<&str>,
    default: Option<Value>,
) -> ExposedInput {
    let mut schema = model_schema(&wire, 0);
    if let (Some(object), Some(label)) = (schema.as_object_mut(), label) {
        let description = match object.get("description").and_then(Value::as_str) {
            Some(own) if !own.is_empty() => format!("{label}: {own}"),
            _ => label.to_string(),
        };
        object.insert("description".into(), Value::String(description));
    }
    let input = ExposedInput {
        default,
        shape: Some(Arc::new(InputShape { schema, wire })),
        ..plain
    };
    match &input.default {
        Some(default) if input.check(default).is_err() => ExposedInput {
            default: None,
            ..input
        },
        _ => input,
    }
}

/// Deeper than this, a schema is cut off (a `$ref` loop, or a hostile Space).
const MAX_SCHEMA_DEPTH: usize = 24;

/// Gradio's schema with every `$ref` to its `$defs` written out in place.
pub(crate) fn resolve_refs(schema: &Value) -> Value {
    fn walk(node: &Value, defs: Option<&serde_json::Map<String, Value>>, depth: usize) -> Value {
        if depth > MAX_SCHEMA_DEPTH {
            return json!({});
        }
        match node {
            Value::Object(object) => {
                if let Some(target) = object
                    .get("$ref")
                    .and_then(Value::as_str)
                    .and_then(|r| r.strip_prefix("#/$defs/"))
                {
                    return match defs.and_then(|d| d.get(target)) {
                        Some(def) => walk(def, defs, depth + 1),
                        None => json!({}),
                    };
                }
                Value::Object(
                    object
                        .iter()
                        .filter(|(k, _)| k.as_str() != "$defs")
                        .map(|(k, v)| (k.clone(), walk(v, defs, depth + 1)))
                        .collect(),
                )
            }
            Value::Array(items) => {
                Value::Array(items.iter().map(|v| walk(v, defs, depth + 1)).collect())
            }
            other => other.clone(),
        }
    }
    let defs = schema.get("$defs").and_then(Value::as_object);
    walk(schema, defs, 0)
}

/// Gradio's FileData (and ImageData): an object with a `path` and a `meta`,
/// `url` or `orig_name` beside it.
pub(crate) fn is_file_node(schema: &Value) -> bool {
    let Some(properties) = schema.get("properties").and_then(Value::as_object) else {
        return false;
    };
    properties.contains_key("path")
        && ["meta", "url", "orig_name"]
            .iter()
            .any(|k| properties.contains_key(*k))
}

/// The schema the model sees: Gradio's, with each file as a string, without
/// Pydantic's titles and docs, and `"type": {}` (Gradio's "any JSON") as no type.
fn model_schema(node: &Value, depth: usize) -> Value {
    if depth > MAX_SCHEMA_DEPTH {
        return json!({});
    }
    if is_file_node(node) {
        return json!({"type": "string", "description": FILE_HELP});
    }
    match node {
        Value::Object(object) => {
            let mut out = serde_json::Map::new();
            for (key, value) in object {
                match key.as_str() {
                    "title" | "additional_description" | "$defs" => {}
                    "type" if !value.is_string() && !value.is_array() => {}
                    "properties" => {
                        let properties = value
                            .as_object()
                            .map(|p| {
                                p.iter()
                                    .map(|(k, v)| (k.clone(), model_schema(v, depth + 1)))
                                    .collect()
                            })
                            .unwrap_or_default();
                        out.insert(key.clone(), Value::Object(properties));
                    }
                    "items" | "additionalProperties" if value.is_object() => {
                        out.insert(key.clone(), model_schema(value, depth + 1));
                    }
                    "anyOf" | "oneOf" | "allOf" | "prefixItems" => {
                        let items = value
                            .as_array()
                            .map(|a| a.iter().map(|v| model_schema(v, depth + 1)).collect())
                            .unwrap_or_default();
                        out.insert(key.clone(), Value::Array(items));
                    }
                    _ => {
                        out.insert(key.clone(), value.clone());
                    }
                }
            }
            if object.get("type").is_some_and(|t| t.is_object()) && !out.contains_key("description")
            {
                out.insert("description".into(), "any JSON value".into());
            }
            Value::Object(out)
        }
        other => other.clone(),
    }
}

/// A tool whose inputs (and, unless the config gave one, description) come
/// from the endpoint.
pub(crate) fn from_endpoint(template: &ToolConfig, endpoint: &EndpointInfo) -> ToolConfig {
    let mut tool = template.clone();
    let mut inputs = IndexMap::new();
    for parameter in &endpoint.parameters {
        inputs.insert(
            parameter_name(parameter),
            InputConfig::Exposed(derive(parameter)),
        );
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

/// The kind of a plain value: a string, number, integer or boolean, with
/// choices of one type.
fn scalar_kind(schema: &Value, choices: Option<&[Value]>) -> Option<ValueKind> {
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
