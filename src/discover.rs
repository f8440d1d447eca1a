//! From a Space's API to tool inputs: each parameter of `/gradio_api/info`
//! becomes an input with a type, choices, slider bounds, the Space's default
//! and its label as description. Tools that list no inputs get theirs this way
//! at run time, and `spaces-mcp discover` prints them as `spaces.toml`
//! sections ready to paste, every parameter annotated.

use std::fmt::Write as _;

use indexmap::IndexMap;
use serde_json::{Value, json};

use crate::config::{ExposedInput, InputConfig, ToolConfig, ValueKind, is_valid_tool_name};
use crate::gradio::{ApiInfo, EndpointInfo, ParameterInfo, ReturnInfo};
use crate::tools::{output_names, slug};

/// What a parameter becomes.
pub enum Derived {
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
pub fn output_schema(names: &[String], returns: &[ReturnInfo]) -> serde_json::Map<String, Value> {
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

/// The parameter's name as the Space's API names it.
pub fn parameter_name(parameter: &ParameterInfo) -> String {
    parameter
        .parameter_name
        .clone()
        .or_else(|| parameter.label.as_deref().map(slug))
        .unwrap_or_default()
}

/// What a parameter becomes as a tool input.
pub fn derive(parameter: &ParameterInfo) -> Derived {
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
pub fn discovered_tool(template: &ToolConfig, endpoint: &EndpointInfo) -> ToolConfig {
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

/// The sections for every named endpoint of a Space, sorted by endpoint.
pub fn sections(space: &str, info: &ApiInfo) -> String {
    let mut endpoints: Vec<(&String, &EndpointInfo)> = info.named_endpoints.iter().collect();
    endpoints.sort_by(|a, b| a.0.cmp(b.0));
    let stem = space_stem(space);
    let mut out =
        format!("# spaces.toml sections for {space}, one per endpoint: paste the ones you want.\n");
    for (api, endpoint) in endpoints {
        out.push('\n');
        out.push_str(&section(space, &stem, api, endpoint));
    }
    out
}

/// One endpoint's section.
pub fn section(space: &str, stem: &str, api: &str, endpoint: &EndpointInfo) -> String {
    let name = tool_name(stem, api);
    let mut out = String::new();
    let _ = writeln!(out, "[tools.{name}]");
    let _ = writeln!(out, "space = {}", quote(space));
    let _ = writeln!(out, "api = {}", quote(api));
    let description = endpoint.description.as_deref().map(str::trim).unwrap_or("");
    if description.is_empty() {
        let _ = writeln!(
            out,
            "# description = \"…\"  # what the model reads to decide when and how to call it"
        );
    } else {
        let _ = writeln!(out, "description = {}", quote(description));
    }
    if !endpoint.returns.is_empty() {
        let names: Vec<String> = endpoint
            .returns
            .iter()
            .enumerate()
            .map(|(i, r)| {
                let label = r.label.as_deref().map(slug).filter(|l| !l.is_empty());
                quote(&label.unwrap_or_else(|| format!("output_{i}")))
            })
            .collect();
        let components: Vec<&str> = endpoint
            .returns
            .iter()
            .map(|r| r.component.as_deref().unwrap_or("?"))
            .collect();
        let _ = writeln!(
            out,
            "outputs = [{}]  # {}",
            names.join(", "),
            components.join(", ")
        );
    }
    let _ = writeln!(out, "\n[tools.{name}.inputs]");
    for parameter in &endpoint.parameters {
        out.push_str(&input_line(parameter));
    }
    out
}

/// The input's line: shown to the model with its schema, or, for file
/// inputs and unknown types, a comment (the Space's default is then sent).
fn input_line(parameter: &ParameterInfo) -> String {
    let name = parameter_name(parameter);
    let component = parameter.component.as_deref().unwrap_or("?");
    let default_note = if parameter.parameter_has_default {
        "the Space's default is sent"
    } else {
        "required by the Space"
    };
    let input = match derive(parameter) {
        Derived::Unknown => {
            return format!(
                "# {name}: a {component} input of a type this server cannot describe ({default_note})\n"
            );
        }
        Derived::Input(input) => input,
    };
    let mut fields = vec![format!("type = {}", quote(input.kind.as_str()))];
    if let Some(choices) = &input.choices {
        let items: Vec<String> = choices.iter().filter_map(toml_value).collect();
        fields.push(format!("enum = [{}]", items.join(", ")));
    }
    if let (Some(lo), Some(hi)) = (input.minimum, input.maximum) {
        fields.push(format!("minimum = {}", number(lo)));
        fields.push(format!("maximum = {}", number(hi)));
    }
    if let Some(default) = input.default.as_ref().and_then(toml_value) {
        fields.push(format!("default = {default}"));
    }
    if let Some(description) = &input.description {
        fields.push(format!("description = {}", quote(description)));
    }
    if !input.required && input.default.is_none() {
        // The Space's default is null: optional, with no value to show.
        fields.push("required = false".into());
    }
    let note = if input.required {
        format!("  # {component}, required")
    } else {
        format!("  # {component}")
    };
    format!("{name} = {{ {} }}{note}\n", fields.join(", "))
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
pub fn slider_bounds(schema: &Value) -> Option<(f64, f64)> {
    let text = schema.get("description")?.as_str()?;
    let rest = text.split("between ").nth(1)?;
    let (lo, hi) = rest.split_once(" and ")?;
    let lo: f64 = lo.trim().parse().ok()?;
    let hi: f64 = hi.trim().trim_end_matches('.').parse().ok()?;
    (lo <= hi).then_some((lo, hi))
}

/// A JSON value in TOML, when TOML can hold it (it has no null).
fn toml_value(value: &Value) -> Option<String> {
    match value {
        Value::Null => None,
        Value::Number(n)
            if n.as_f64()
                .is_some_and(|f| f.fract() == 0.0 && f.abs() < 9e15) =>
        {
            Some(number(n.as_f64().unwrap_or_default()))
        }
        other => toml::Value::try_from(other).ok().map(|v| v.to_string()),
    }
}

fn number(n: f64) -> String {
    if n.fract() == 0.0 && n.abs() < 9e15 {
        format!("{}", n as i64)
    } else {
        format!("{n}")
    }
}

fn quote(text: &str) -> String {
    toml::Value::String(text.to_string()).to_string()
}

/// `ysharma/SanaSprint` → `sanasprint`; a URL → its host's first label.
fn space_stem(space: &str) -> String {
    let name = match url::Url::parse(space) {
        Ok(url) => match url.host() {
            Some(url::Host::Domain(domain)) => {
                domain.split('.').next().unwrap_or("app").to_string()
            }
            _ => "app".to_string(),
        },
        _ => space.rsplit('/').next().unwrap_or(space).to_string(),
    };
    let stem = slug(&name);
    if stem.chars().next().is_some_and(|c| c.is_ascii_digit()) || stem.is_empty() {
        format!("app_{stem}")
    } else {
        stem
    }
}

/// `<space>_<endpoint>`, cut to the 64 characters MCP clients accept.
fn tool_name(stem: &str, api: &str) -> String {
    let mut name = format!("{stem}_{}", slug(api.trim_start_matches('/')));
    name.truncate(64);
    let name = name.trim_end_matches('_').to_string();
    debug_assert!(is_valid_tool_name(&name));
    name
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{Config, InputConfig};

    fn wire_info(name: &str) -> ApiInfo {
        serde_json::from_str(crate::fixtures::wire(name)).unwrap()
    }

    #[test]
    fn the_sections_load_as_config_with_the_spaces_schema() {
        let text = sections(
            "ysharma/SanaSprint",
            &wire_info("sanasprint-like.info.json"),
        );
        assert!(text.contains("[tools.sanasprint_infer]"), "{text}");
        assert!(
            text.contains("outputs = [\"result\", \"seed_used\"]  # Image, Number"),
            "{text}"
        );
        let config = Config::parse(&text, "discovered").unwrap_or_else(|e| panic!("{e}\n{text}"));
        let tool = &config.tools[0];
        assert_eq!(tool.description, "Generate an image from a prompt.");
        let InputConfig::Exposed(width) = &tool.inputs["width"] else {
            panic!()
        };
        assert_eq!((width.minimum, width.maximum), (Some(256.0), Some(2048.0)));
        assert_eq!(width.default, Some(Value::from(1024)));
        let InputConfig::Exposed(size) = &tool.inputs["model_size"] else {
            panic!()
        };
        assert_eq!(
            size.choices.as_deref(),
            Some(&[Value::from("0.6B"), Value::from("1.6B")][..])
        );
        let InputConfig::Exposed(prompt) = &tool.inputs["prompt"] else {
            panic!()
        };
        assert!(prompt.required);
    }

    #[test]
    fn file_inputs_are_files() {
        let text = sections("ysharma/Dia-1.6B", &wire_info("dia-like.info.json"));
        assert!(text.contains("[tools.dia_1_6b_generate_audio]"), "{text}");
        assert!(
            text.contains(
                r#"audio_prompt_input = { type = "file", description = "Audio prompt: a file"#
            ),
            "{text}"
        );
        let config = Config::parse(&text, "discovered").unwrap_or_else(|e| panic!("{e}\n{text}"));
        let InputConfig::Exposed(audio) = &config.tools[0].inputs["audio_prompt_input"] else {
            panic!("the audio prompt is an input")
        };
        assert_eq!(audio.kind, ValueKind::File);
        assert!(!audio.required);
        assert_eq!(config.tools[0].inputs.len(), 8);
    }

    #[test]
    fn names_and_bounds() {
        assert_eq!(space_stem("http://127.0.0.1:7860"), "app");
        assert_eq!(space_stem("https://abc-def.hf.space"), "abc_def");
        assert_eq!(tool_name("x", &format!("/{}", "y".repeat(100))).len(), 64);
        assert_eq!(
            slider_bounds(&serde_json::json!({"description": "numeric value between 0.8 and 1.0"})),
            Some((0.8, 1.0))
        );
        assert_eq!(slider_bounds(&serde_json::json!({"type": "number"})), None);
    }
}
