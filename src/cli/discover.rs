//! `spaces-mcp discover SPACE`: every endpoint of a Space as a
//! ready-to-paste `[tools.<name>]` section, each input annotated with its
//! component and whether the Space requires it.

use std::fmt::Write as _;
use std::process::ExitCode;
use std::time::Duration;

use serde_json::Value;

use super::CliError;
use crate::gradio::{
    ApiInfo, EndpointInfo, GradioError, HfToken, Login, ParameterInfo, SpacePool, SpaceRef, Stage,
};
use crate::naming::{is_valid_tool_name, parameter_name, slug};
use crate::tools::derive::derive;

/// How long a Space may take to describe itself (waking it included).
const READ_TIMEOUT: Duration = Duration::from_secs(120);

pub(super) async fn run(space: &str, login: Option<Login>) -> Result<ExitCode, CliError> {
    let space_ref = SpaceRef::parse(space).map_err(|e| CliError::Usage(e.to_string()))?;
    let token = HfToken::from_env().filter(|_| space_ref.is_hub());
    let pool = SpacePool::new(1);
    if let Some(login) = login {
        pool.set_login(&space_ref, login);
    }
    let info = async {
        let client = pool.client(&space_ref)?;
        let observe = |stage: Stage| tracing::info!("{stage:?}");
        let work = client.api_info(token.as_ref(), &observe);
        tokio::time::timeout(READ_TIMEOUT, work)
            .await
            .unwrap_or(Err(GradioError::Idle(READ_TIMEOUT)))
    };
    let info = info
        .await
        .map_err(|e| CliError::Failed(format!("cannot read the API of {space}: {e}")))?;
    print!("{}", sections(space.trim(), &info));
    Ok(ExitCode::SUCCESS)
}

/// The sections for every named endpoint of a Space, sorted by endpoint.
pub(crate) fn sections(space: &str, info: &ApiInfo) -> String {
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
pub(crate) fn section(space: &str, stem: &str, api: &str, endpoint: &EndpointInfo) -> String {
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

/// The input's line, with its type, choices, bounds, default and
/// description. A structured input (`type = "json"`) takes any JSON here;
/// left out of the config, it is read from the Space with its full shape.
fn input_line(parameter: &ParameterInfo) -> String {
    let name = parameter_name(parameter);
    let component = parameter.component.as_deref().unwrap_or("?");
    let input = derive(parameter);
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
    use crate::config::{Config, InputConfig, ValueKind};
    use crate::fixtures::wire;

    fn wire_info(name: &str) -> ApiInfo {
        serde_json::from_str(wire(name)).unwrap()
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
    }
}
