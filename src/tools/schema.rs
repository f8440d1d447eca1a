//! A tool's MCP definition: its input schema (only what the model gives),
//! output schema, description and annotations.

use std::sync::Arc;

use rmcp::model::{JsonObject, Tool, ToolAnnotations};
use serde_json::{Map, Value, json};

use super::InputsState;
use crate::config::{ExposedInput, InputConfig, ToolConfig, ValueKind};

/// The MCP definition of a tool.
pub(super) fn definition(tool: &ToolConfig, state: &InputsState<'_>) -> Tool {
    let mut properties = Map::new();
    let mut required = Vec::new();
    for (name, input) in &tool.inputs {
        let InputConfig::Exposed(input) = input else {
            continue;
        };
        properties.insert(name.clone(), property_schema(input));
        if input.required {
            required.push(Value::from(name.as_str()));
        }
    }
    let mut schema = JsonObject::new();
    schema.insert("type".into(), "object".into());
    schema.insert("properties".into(), Value::Object(properties));
    if !required.is_empty() {
        schema.insert("required".into(), Value::Array(required));
    }
    // Until a Space's inputs are known, any argument may be right.
    let known = matches!(state, InputsState::Known);
    schema.insert("additionalProperties".into(), (!known).into());
    let description = match state {
        InputsState::Known => tool.description.clone(),
        InputsState::Pending => format!(
            "{} Its inputs are read from the Space on first use.",
            tool.description
        ),
        InputsState::Failed(why) => format!(
            "{} (The Space did not answer when its inputs were read: {why}. Calls try again.)",
            tool.description
        ),
    };

    let title = tool.title.clone().unwrap_or_else(|| tool.name.clone());
    // A call that may answer with a job handle says so, and its result's
    // schema admits the handle.
    let description = match tool.limits.detach_after {
        Some(after) => format!(
            "{description} (If it still runs after {}s, it answers with a job_id instead: call \
             await_job with it to get the result.)",
            after.as_secs()
        ),
        None => description,
    };
    let mut definition = Tool::new(tool.name.clone(), description, Arc::new(schema));
    if let Some(output) = &tool.output_schema {
        let output = match tool.limits.detach_after {
            Some(_) => admitting_job_handle(output),
            None => output.clone(),
        };
        definition = definition.with_raw_output_schema(Arc::new(output));
    }
    let mut definition = definition.with_title(title.clone()).with_annotations(
        ToolAnnotations::with_title(title)
            .read_only(true)
            .destructive(false)
            .idempotent(false)
            .open_world(true),
    );
    definition.title = tool.title.clone();
    definition
}

fn property_schema(input: &ExposedInput) -> Value {
    // A structured input shows its Space's shape (which carries its own
    // description); a plain one is built from its kind.
    let mut schema = match &input.shape {
        Some(shape) => shape.schema.as_object().cloned().unwrap_or_default(),
        None => Map::new(),
    };
    if let Some(json_type) = input.kind.json_type() {
        schema.insert("type".into(), json_type.into());
    }
    if let Some(description) = &input.description
        && !schema.contains_key("description")
    {
        schema.insert("description".into(), description.as_str().into());
    }
    if input.kind == ValueKind::Json && input.shape.is_none() && !schema.contains_key("description")
    {
        schema.insert("description".into(), "any JSON value".into());
    }
    if let Some(choices) = &input.choices {
        schema.insert("enum".into(), Value::Array(choices.clone()));
    }
    if let Some(minimum) = input.minimum {
        schema.insert("minimum".into(), json_number(minimum));
    }
    if let Some(maximum) = input.maximum {
        schema.insert("maximum".into(), json_number(maximum));
    }
    if let Some(default) = &input.default {
        schema.insert("default".into(), default.clone());
    }
    Value::Object(schema)
}

/// `256.0` as `256`, so schemas read as the config was written.
fn json_number(n: f64) -> Value {
    if n.fract() == 0.0 && n.abs() < 9.0e15 {
        json!(n as i64)
    } else {
        json!(n)
    }
}

/// A result schema that also admits the answer of a call still running:
/// either every output, or a `job_id` (with its status and progress).
fn admitting_job_handle(schema: &Map<String, Value>) -> Map<String, Value> {
    let mut schema = schema.clone();
    let outputs = schema.remove("required").unwrap_or_else(|| json!([]));
    if let Some(Value::Object(properties)) = schema.get_mut("properties") {
        for (name, property) in [
            (
                "job_id",
                json!({"type": "string", "description": "set while the call still runs: pass it to await_job"}),
            ),
            ("status", json!({"type": "string", "enum": ["working"]})),
            ("tool", json!({"type": "string"})),
            ("elapsed_seconds", json!({"type": "integer"})),
            ("progress", json!({"type": "string"})),
        ] {
            properties.entry(name).or_insert(property);
        }
    }
    schema.insert(
        "anyOf".into(),
        json!([{ "required": outputs }, { "required": ["job_id", "status"] }]),
    );
    schema
}
