//! Prompts: one per tool, as Gradio's own MCP server and mcp-hfspace offer
//! them, plus those `spaces.toml` declares (`[prompts.<name>]`).
//!
//! A tool's prompt takes the tool's text inputs as arguments and writes a
//! message that guides a model to call the tool well: what it does (its
//! description), the values given, and for every other input what it means
//! and what it takes. The prompts follow the tools: a tool read from its
//! Space later brings its prompt with it.

use indexmap::IndexMap;
use rmcp::model::{GetPromptResult, JsonObject, Prompt, PromptArgument, PromptMessage, Role};
use serde_json::Value;

use crate::config::{InputConfig, PromptConfig, ToolConfig, ValueKind, template_places};

/// Why a prompt could not be given.
#[derive(Debug, thiserror::Error, PartialEq)]
pub(crate) enum PromptError {
    #[error("unknown prompt {name:?}; this server has {available}")]
    Unknown { name: String, available: String },
    #[error("prompt {prompt} needs the argument {argument}")]
    Missing { prompt: String, argument: String },
    #[error("prompt {prompt} takes no argument {argument}; it takes {takes}")]
    Unexpected {
        prompt: String,
        argument: String,
        takes: String,
    },
    #[error("the argument {argument} of prompt {prompt} must be a string")]
    NotText { prompt: String, argument: String },
}

/// Every prompt: those the config declares, then one per tool not named the same.
pub(crate) fn list(declared: &[PromptConfig], tools: &[ToolConfig]) -> Vec<Prompt> {
    let mut prompts: Vec<Prompt> = declared.iter().map(declared_prompt).collect();
    for tool in tools {
        if !declared.iter().any(|p| p.name == tool.name) {
            prompts.push(tool_prompt(tool));
        }
    }
    prompts
}

/// One prompt, its places filled with `arguments`.
pub(crate) fn get(
    declared: &[PromptConfig],
    tools: &[ToolConfig],
    name: &str,
    arguments: Option<&JsonObject>,
) -> Result<GetPromptResult, PromptError> {
    if let Some(prompt) = declared.iter().find(|p| p.name == name) {
        let given = text_arguments(name, arguments, prompt.arguments.keys())?;
        for (argument, (_, required)) in &prompt.arguments {
            if *required && !given.contains_key(argument.as_str()) {
                return Err(missing(name, argument));
            }
        }
        let mut text = String::with_capacity(prompt.template.len());
        let mut rest = prompt.template.as_str();
        for place in template_places(&prompt.template) {
            let marker = format!("{{{place}}}");
            if let Some(at) = rest.find(&marker) {
                text.push_str(&rest[..at]);
                text.push_str(given.get(place).copied().unwrap_or(""));
                rest = &rest[at + marker.len()..];
            }
        }
        text.push_str(rest);
        let mut result = GetPromptResult::new(vec![PromptMessage::new_text(Role::User, text)]);
        result.description = prompt.description.clone();
        return Ok(result);
    }
    let Some(tool) = tools.iter().find(|t| t.name == name) else {
        let mut names: Vec<&str> = declared.iter().map(|p| p.name.as_str()).collect();
        names.extend(tools.iter().map(|t| t.name.as_str()));
        return Err(PromptError::Unknown {
            name: name.to_string(),
            available: names.join(", "),
        });
    };
    let texts: Vec<&String> = text_inputs(tool).map(|(n, _)| n).collect();
    let given = text_arguments(name, arguments, texts.iter().copied())?;
    for (input, exposed) in text_inputs(tool) {
        if exposed.required && !given.contains_key(input.as_str()) {
            return Err(missing(name, input));
        }
    }
    let mut result = GetPromptResult::new(vec![PromptMessage::new_text(
        Role::User,
        guidance(tool, &given),
    )]);
    result.description = Some(format!("Call the tool {}", tool.name));
    Ok(result)
}

fn missing(prompt: &str, argument: &str) -> PromptError {
    PromptError::Missing {
        prompt: prompt.to_string(),
        argument: argument.to_string(),
    }
}

/// The given arguments, each a string, each one the prompt takes.
fn text_arguments<'a, 'n>(
    prompt: &str,
    arguments: Option<&'a JsonObject>,
    takes: impl Iterator<Item = &'n String> + Clone,
) -> Result<IndexMap<&'a str, &'a str>, PromptError> {
    let mut given = IndexMap::new();
    for (name, value) in arguments.into_iter().flatten() {
        if !takes.clone().any(|t| t == name) {
            return Err(PromptError::Unexpected {
                prompt: prompt.to_string(),
                argument: name.clone(),
                takes: takes
                    .clone()
                    .map(String::as_str)
                    .collect::<Vec<_>>()
                    .join(", "),
            });
        }
        let Value::String(text) = value else {
            return Err(PromptError::NotText {
                prompt: prompt.to_string(),
                argument: name.clone(),
            });
        };
        given.insert(name.as_str(), text.as_str());
    }
    Ok(given)
}

fn declared_prompt(prompt: &PromptConfig) -> Prompt {
    let arguments = prompt
        .arguments
        .iter()
        .map(|(name, (description, required))| {
            let mut argument = PromptArgument::new(name).with_required(*required);
            if let Some(description) = description {
                argument = argument.with_description(description);
            }
            argument
        })
        .collect();
    let mut listed = Prompt::new(&prompt.name, prompt.description.as_deref(), Some(arguments));
    if let Some(title) = &prompt.title {
        listed = listed.with_title(title);
    }
    listed
}

/// The tool's inputs a prompt argument can carry: those the model gives as text.
fn text_inputs(tool: &ToolConfig) -> impl Iterator<Item = (&String, &crate::config::ExposedInput)> {
    tool.inputs.iter().filter_map(|(name, input)| match input {
        InputConfig::Exposed(exposed) if exposed.kind == ValueKind::String => Some((name, exposed)),
        _ => None,
    })
}

fn tool_prompt(tool: &ToolConfig) -> Prompt {
    let arguments = text_inputs(tool)
        .map(|(name, input)| {
            let mut argument = PromptArgument::new(name).with_required(input.required);
            if let Some(description) = &input.description {
                argument = argument.with_description(description);
            }
            argument
        })
        .collect();
    let title = tool.title.clone().unwrap_or_else(|| tool.name.clone());
    Prompt::new(
        &tool.name,
        Some(format!(
            "Use {title}: {}",
            first_sentence(&tool.description)
        )),
        Some(arguments),
    )
    .with_title(format!("Use {title}"))
}

/// The message of a tool's prompt.
fn guidance(tool: &ToolConfig, given: &IndexMap<&str, &str>) -> String {
    let mut text = format!(
        "Use the tool `{}` for this. What it does: {}\n",
        tool.name,
        tool.description.trim()
    );
    let mut fixed = Vec::new();
    let mut open = Vec::new();
    for (name, input) in &tool.inputs {
        let InputConfig::Exposed(input) = input else {
            continue;
        };
        match given.get(name.as_str()) {
            Some(value) => fixed.push(format!("- {name}: {}", serde_json::json!(value))),
            None => {
                let mut line = format!("- {name} ({}", input.kind.as_str());
                if let Some(default) = &input.default {
                    line.push_str(&format!(", default {default}"));
                }
                if !input.required {
                    line.push_str(", optional");
                }
                line.push(')');
                if let Some(description) = &input.description {
                    line.push_str(": ");
                    line.push_str(description.trim());
                }
                open.push(line);
            }
        }
    }
    if !fixed.is_empty() {
        text.push_str("\nCall it with these values:\n");
        text.push_str(&fixed.join("\n"));
        text.push('\n');
    }
    if !open.is_empty() {
        text.push_str(if fixed.is_empty() {
            "\nChoose its inputs:\n"
        } else {
            "\nChoose the other inputs as the task needs:\n"
        });
        text.push_str(&open.join("\n"));
        text.push('\n');
    }
    text.push_str(
        "\nIf its answer gives a job_id because the Space is still working, call await_job \
         with it to get the result.",
    );
    text
}

fn first_sentence(text: &str) -> &str {
    let text = text.trim();
    match text.find(". ") {
        Some(end) => &text[..=end],
        None => text,
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::config::Config;

    fn config() -> Config {
        Config::parse(
            r#"
[tools.paint]
space = "a/b"
api = "/infer"
title = "Paint"
description = "Paints a picture. It is fast."
inputs.prompt = { type = "string", description = "What to paint." }
inputs.style = { type = "string", default = "oil" }
inputs.size = { type = "integer", default = 512 }
inputs.seed = { value = 0 }

[prompts.poster]
description = "A poster for an event."
template = "Make a poster for {event}, in {colour}."
arguments.event = { description = "The event." }
arguments.colour = { required = false }
"#,
            "t",
        )
        .unwrap()
    }

    fn args(value: Value) -> JsonObject {
        value.as_object().cloned().unwrap()
    }

    fn text(result: &GetPromptResult) -> String {
        let value = serde_json::to_value(&result.messages[0]).unwrap();
        value["content"]["text"].as_str().unwrap().to_string()
    }

    #[test]
    fn one_prompt_per_tool_with_its_text_inputs_and_the_declared_ones() {
        let config = config();
        let prompts = list(&config.prompts, &config.tools);
        let names: Vec<&str> = prompts.iter().map(|p| p.name.as_str()).collect();
        assert_eq!(names, ["poster", "paint"]);
        let paint = &prompts[1];
        assert_eq!(paint.title.as_deref(), Some("Use Paint"));
        assert_eq!(
            paint.description.as_deref(),
            Some("Use Paint: Paints a picture.")
        );
        let arguments = paint.arguments.as_ref().unwrap();
        let shown: Vec<(&str, Option<bool>)> = arguments
            .iter()
            .map(|a| (a.name.as_str(), a.required))
            .collect();
        assert_eq!(shown, [("prompt", Some(true)), ("style", Some(false))]);
    }

    #[test]
    fn a_tools_prompt_guides_the_call() {
        let config = config();
        let result = get(
            &config.prompts,
            &config.tools,
            "paint",
            Some(&args(json!({"prompt": "a fox"}))),
        )
        .unwrap();
        let message = text(&result);
        assert!(
            message.starts_with("Use the tool `paint` for this. What it does: Paints a picture."),
            "{message}"
        );
        assert!(message.contains("- prompt: \"a fox\""), "{message}");
        assert!(
            message.contains("- style (string, default \"oil\", optional)"),
            "{message}"
        );
        assert!(
            message.contains("- size (integer, default 512, optional)"),
            "{message}"
        );
        assert!(
            !message.contains("seed"),
            "fixed inputs are not the model's: {message}"
        );
        assert!(message.contains("await_job"));
    }

    #[test]
    fn a_declared_prompt_fills_its_template() {
        let config = config();
        let given = args(json!({"event": "the fair", "colour": "red"}));
        let result = get(&config.prompts, &config.tools, "poster", Some(&given)).unwrap();
        assert_eq!(text(&result), "Make a poster for the fair, in red.");
        assert_eq!(
            result.description.as_deref(),
            Some("A poster for an event.")
        );
        let result = get(
            &config.prompts,
            &config.tools,
            "poster",
            Some(&args(json!({"event": "x"}))),
        )
        .unwrap();
        assert_eq!(text(&result), "Make a poster for x, in .");
    }

    #[test]
    fn bad_requests_say_what_is_wrong() {
        let config = config();
        let get = |name: &str, value: Value| {
            get(&config.prompts, &config.tools, name, Some(&args(value)))
        };
        assert!(matches!(
            get("nope", json!({})),
            Err(PromptError::Unknown { .. })
        ));
        assert_eq!(
            get("paint", json!({})).unwrap_err().to_string(),
            "prompt paint needs the argument prompt"
        );
        assert!(matches!(
            get("poster", json!({"colour": "red"})),
            Err(PromptError::Missing { .. })
        ));
        assert!(matches!(
            get("paint", json!({"prompt": 3})),
            Err(PromptError::NotText { .. })
        ));
        let e = get("paint", json!({"prompt": "x", "size": "9"}))
            .unwrap_err()
            .to_string();
        assert_eq!(
            e,
            "prompt paint takes no argument size; it takes prompt, style"
        );
    }

    #[test]
    fn templates_with_unknown_places_are_refused_at_load() {
        let e = Config::parse(
            "[tools.t]\nspace = \"a/b\"\napi = \"/x\"\n[prompts.p]\ntemplate = \"Hi {who}\"\n",
            "t",
        )
        .unwrap_err()
        .to_string();
        assert!(
            e.contains("prompts.p.template") && e.contains("{who}"),
            "{e}"
        );
    }
}
