//! The tool registry: each configured tool's MCP definition (name, schema,
//! description), the checking of a call's arguments against it, and the
//! mapping of those arguments onto the positional `data` list Gradio expects.
//!
//! Schemas are built once, at start-up, from the config alone, so `tools/list`
//! never waits on the network.

use std::sync::{Arc, RwLock};

use indexmap::IndexMap;
use rmcp::model::{JsonObject, Tool, ToolAnnotations};
use serde_json::{Map, Value, json};

use crate::config::{Config, ExposedInput, InputConfig, ToolConfig};
use crate::gradio::EndpointInfo;

/// Why a call's arguments, or the config, do not fit the endpoint.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum ToolError {
    #[error("arguments must be a JSON object")]
    NotAnObject,
    #[error("unknown argument {name:?}; this tool takes {expected}")]
    UnknownArgument { name: String, expected: String },
    #[error("missing required argument {name:?}")]
    MissingArgument { name: String },
    #[error("argument {name:?} {problem}")]
    InvalidArgument { name: String, problem: String },
    #[error(
        "the config names input {name:?}, but the endpoint has no such parameter (it has {available}); fix the tool's inputs in the config"
    )]
    NoSuchParameter { name: String, available: String },
    #[error(
        "the endpoint's input {name:?} has no default and the tool gives it no value; add it to the tool's inputs in the config"
    )]
    UnfilledParameter { name: String },
}

/// A tool ready to serve: its config and its MCP definition.
#[derive(Debug)]
pub struct RegisteredTool {
    pub config: ToolConfig,
    pub definition: Tool,
    /// Its inputs are known (declared, or read from the Space).
    pub known: bool,
}

/// Every tool, by name. Tools whose inputs come from their Space change once
/// the Space has been read, so the set sits behind a lock; readers take
/// cheap snapshots (`Arc`s).
#[derive(Debug, Default)]
pub struct Registry {
    tools: RwLock<Vec<Arc<RegisteredTool>>>,
}

/// The arguments of one call, checked, with config defaults filled in.
pub type Arguments = IndexMap<String, Value>;

/// What is known of a discovered tool's Space, for its description.
pub enum Discovery<'a> {
    /// Its inputs are known.
    Known,
    /// Not read yet.
    Pending,
    /// The Space did not answer; why.
    Failed(&'a str),
}

impl Registry {
    pub fn new(config: &Config) -> Registry {
        let registry = Registry::default();
        for tool in &config.tools {
            let state = if tool.discovered {
                Discovery::Pending
            } else {
                Discovery::Known
            };
            registry.put(tool.clone(), state);
        }
        registry
    }

    /// Adds a tool, or replaces the one of the same name; says whether its
    /// definition changed (clients are then told the list changed).
    pub fn put(&self, config: ToolConfig, state: Discovery<'_>) -> bool {
        let definition = definition(&config, &state);
        let known = matches!(state, Discovery::Known);
        let mut tools = self.tools.write().unwrap_or_else(|p| p.into_inner());
        let entry = Arc::new(RegisteredTool {
            config,
            definition,
            known,
        });
        match tools
            .iter_mut()
            .find(|t| t.config.name == entry.config.name)
        {
            Some(existing) if existing.definition == entry.definition => {
                *existing = entry;
                false
            }
            Some(existing) => {
                *existing = entry;
                true
            }
            None => {
                tools.push(entry);
                true
            }
        }
    }

    pub fn get(&self, name: &str) -> Option<Arc<RegisteredTool>> {
        let tools = self.tools.read().unwrap_or_else(|p| p.into_inner());
        tools.iter().find(|t| t.config.name == name).cloned()
    }

    /// The tools as they are now.
    pub fn snapshot(&self) -> Vec<Arc<RegisteredTool>> {
        self.tools.read().unwrap_or_else(|p| p.into_inner()).clone()
    }

    pub fn definitions(&self) -> Vec<Tool> {
        self.snapshot()
            .iter()
            .map(|t| t.definition.clone())
            .collect()
    }
}

/// The MCP definition of a tool.
fn definition(tool: &ToolConfig, state: &Discovery<'_>) -> Tool {
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
    let known = matches!(state, Discovery::Known);
    schema.insert("additionalProperties".into(), (!known).into());
    let description = match state {
        Discovery::Known => tool.description.clone(),
        Discovery::Pending => format!(
            "{} Its inputs are read from the Space on first use.",
            tool.description
        ),
        Discovery::Failed(why) => format!(
            "{} (The Space did not answer when its inputs were read: {why}. Calls try again.)",
            tool.description
        ),
    };

    let title = tool.title.clone().unwrap_or_else(|| tool.name.clone());
    let mut definition = Tool::new(tool.name.clone(), description, Arc::new(schema));
    if let Some(output) = &tool.output_schema {
        definition = definition.with_raw_output_schema(Arc::new(output.clone()));
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
    let mut schema = Map::new();
    schema.insert("type".into(), input.kind.json_type().into());
    if let Some(description) = &input.description {
        schema.insert("description".into(), description.as_str().into());
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

/// Checks a call's arguments against the tool's inputs: every argument known,
/// of the right type and within bounds; every required one present. Defaults
/// from the config fill the rest.
pub fn check_arguments(
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
            // A null stands for "not given", as many clients send it for optional fields.
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
pub fn positional_data(
    tool: &ToolConfig,
    arguments: &Arguments,
    endpoint: &EndpointInfo,
) -> Result<Vec<Value>, ToolError> {
    let names: Vec<&str> = endpoint
        .parameters
        .iter()
        .map(|p| {
            p.parameter_name
                .as_deref()
                .or(p.label.as_deref())
                .unwrap_or("")
        })
        .collect();
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
            Err(ToolError::UnfilledParameter {
                name: name.to_string(),
            })
        })
        .collect()
}

/// The keys of the structured result: the config's names, then the Space's
/// labels in snake case, then `output_<n>`; always distinct.
pub fn output_names(tool: &ToolConfig, endpoint: &EndpointInfo) -> Vec<String> {
    let mut names: Vec<String> = Vec::with_capacity(endpoint.returns.len());
    for (i, ret) in endpoint.returns.iter().enumerate() {
        let candidate = tool
            .outputs
            .get(i)
            .cloned()
            .or_else(|| ret.label.as_deref().map(slug).filter(|l| !l.is_empty()))
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

/// Lower case letters, digits and single underscores: names for outputs and tools.
pub fn slug(label: &str) -> String {
    let mut out = String::new();
    for c in label.chars() {
        if c.is_ascii_alphanumeric() {
            out.push(c.to_ascii_lowercase());
        } else if !out.ends_with('_') && !out.is_empty() {
            out.push('_');
        }
    }
    out.trim_end_matches('_').to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gradio::ApiInfo;

    fn builtin() -> Config {
        Config::load(None).unwrap()
    }

    fn sana_endpoint() -> EndpointInfo {
        let info: ApiInfo =
            serde_json::from_str(crate::fixtures::wire("sanasprint-like.info.json")).unwrap();
        info.named_endpoints["/infer"].clone()
    }

    fn args(v: Value) -> JsonObject {
        v.as_object().unwrap().clone()
    }

    #[test]
    fn schemas_show_only_what_the_model_gives() {
        let registry = Registry::new(&builtin());
        let image = registry.get("generate_image").unwrap();
        let tool = &image.definition;
        let schema = Value::Object((*tool.input_schema).clone());
        assert_eq!(schema["type"], "object");
        assert_eq!(schema["required"], json!(["prompt"]));
        assert_eq!(schema["additionalProperties"], false);
        let props = schema["properties"].as_object().unwrap();
        assert_eq!(
            props.keys().collect::<Vec<_>>(),
            ["prompt", "width", "height"]
        );
        assert_eq!(
            props["width"],
            json!({"type": "integer", "description": props["width"]["description"], "minimum": 256, "maximum": 2048, "default": 512})
        );
        let tts = registry.get("run_dia_tts").unwrap();
        assert_eq!(
            tts.definition.input_schema["required"],
            json!(["text_input"])
        );
        assert!(registry.get("nope").is_none());
    }

    #[test]
    fn arguments_are_checked_with_their_name() {
        let config = builtin();
        let tool = &config.tools[0];
        let ok =
            check_arguments(tool, Some(&args(json!({"prompt": "a cat", "width": 320})))).unwrap();
        assert_eq!(ok["width"], 320);
        assert_eq!(
            ok["height"], 512,
            "the config default fills what the model left out"
        );

        let e = check_arguments(tool, Some(&args(json!({"width": 320})))).unwrap_err();
        assert_eq!(
            e,
            ToolError::MissingArgument {
                name: "prompt".into()
            }
        );
        let e = check_arguments(tool, Some(&args(json!({"prompt": "x", "seed": 3})))).unwrap_err();
        assert!(
            e.to_string().contains("unknown argument \"seed\"")
                && e.to_string().contains("prompt, width, height"),
            "{e}"
        );
        let e = check_arguments(tool, Some(&args(json!({"prompt": "x", "width": "wide"}))))
            .unwrap_err();
        assert!(
            e.to_string().contains("\"width\" must be a whole number"),
            "{e}"
        );
        let e = check_arguments(tool, Some(&args(json!({"prompt": "x", "height": 99999}))))
            .unwrap_err();
        assert!(e.to_string().contains("above the maximum 2048"), "{e}");
        let e = check_arguments(tool, Some(&args(json!({"prompt": 5})))).unwrap_err();
        assert!(e.to_string().contains("must be a string"), "{e}");
        let e = check_arguments(tool, None).unwrap_err();
        assert_eq!(
            e,
            ToolError::MissingArgument {
                name: "prompt".into()
            }
        );
    }

    #[test]
    fn every_input_is_sent_in_the_endpoints_order() {
        let config = builtin();
        let tool = &config.tools[0];
        let checked =
            check_arguments(tool, Some(&args(json!({"prompt": "a cat", "width": 320})))).unwrap();
        let data = positional_data(tool, &checked, &sana_endpoint()).unwrap();
        assert_eq!(
            data,
            vec![
                json!("a cat"),
                json!("0.6B"),
                json!(0),
                json!(true),
                json!(320),
                json!(512),
                json!(4.0),
                json!(2)
            ]
        );
    }

    #[test]
    fn space_defaults_fill_unlisted_inputs_and_mismatches_are_named() {
        let config = Config::parse(
            "[tools.t]\nspace = \"a/b\"\napi = \"/infer\"\ninputs.prompt = { type = \"string\" }\n",
            "t",
        )
        .unwrap();
        let tool = &config.tools[0];
        let checked = check_arguments(tool, Some(&args(json!({"prompt": "p"})))).unwrap();
        let data = positional_data(tool, &checked, &sana_endpoint()).unwrap();
        assert_eq!(
            data,
            vec![
                json!("p"),
                json!("1.6B"),
                json!(0),
                json!(true),
                json!(1024),
                json!(1024),
                json!(4.5),
                json!(2)
            ]
        );

        let config = Config::parse(
            "[tools.t]\nspace = \"a/b\"\napi = \"/infer\"\ninputs.promt = { type = \"string\" }\n",
            "t",
        )
        .unwrap();
        let e = positional_data(&config.tools[0], &Arguments::new(), &sana_endpoint()).unwrap_err();
        assert!(
            e.to_string().contains("\"promt\"") && e.to_string().contains("prompt, model_size"),
            "{e}"
        );

        let config = Config::parse("[tools.t]\nspace = \"a/b\"\napi = \"/infer\"\n", "t").unwrap();
        let e = positional_data(&config.tools[0], &Arguments::new(), &sana_endpoint()).unwrap_err();
        assert_eq!(
            e,
            ToolError::UnfilledParameter {
                name: "prompt".into()
            }
        );
    }

    #[test]
    fn outputs_are_named_from_config_then_labels() {
        let config = builtin();
        assert_eq!(
            output_names(&config.tools[0], &sana_endpoint()),
            ["image", "seed"]
        );
        let bare = Config::parse("[tools.t]\nspace = \"a/b\"\napi = \"/infer\"\n", "t").unwrap();
        assert_eq!(
            output_names(&bare.tools[0], &sana_endpoint()),
            ["result", "seed_used"]
        );
    }
}
