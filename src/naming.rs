//! Names and words every layer shares: tool, input and output names in the
//! forms MCP clients accept, and the few words used to describe a JSON value
//! in messages. It sits at the bottom, so that the config, the tools and the
//! CLI agree on every name without importing each other.

use serde_json::Value;

use crate::gradio::ParameterInfo;

/// The names of the server's built-in tools, in one place: the server
/// registers its tools under them, and the config refuses them (and
/// `[spaces.*]` aliases that could generate them) for configured tools.
pub(crate) mod builtin {
    /// Waits for a detached call's result (job handles).
    pub(crate) const AWAIT_JOB: &str = "await_job";
    /// Stops a detached call.
    pub(crate) const CANCEL_JOB: &str = "cancel_job";
    /// Diagnostics: adds or removes [`PROBE`] as a tool.
    pub(crate) const TRIGGER_TOOL_CHANGE: &str = "test_trigger_tool_change";
    /// Diagnostics: adds or removes [`PROBE`] as a prompt.
    pub(crate) const TRIGGER_PROMPT_CHANGE: &str = "test_trigger_prompt_change";
    /// Diagnostics: asks the client's model for a word (sampling).
    pub(crate) const MISSING_CAPABILITY: &str = "test_missing_capability";
    /// The tool and the prompt the triggers add and remove.
    pub(crate) const PROBE: &str = "diagnostic_probe";
    /// The Hub tools (`[hub] tools = true`): search, describe, call.
    pub(crate) const HUB_SEARCH: &str = "hub_search_spaces";
    pub(crate) const HUB_DESCRIBE: &str = "hub_describe_space";
    pub(crate) const HUB_CALL: &str = "hub_call_space";

    /// Every built-in name, which no configured tool may take.
    pub(crate) const ALL: &[&str] = &[
        AWAIT_JOB,
        CANCEL_JOB,
        TRIGGER_TOOL_CHANGE,
        TRIGGER_PROMPT_CHANGE,
        MISSING_CAPABILITY,
        PROBE,
        HUB_SEARCH,
        HUB_DESCRIBE,
        HUB_CALL,
    ];
}

/// MCP clients accept tool names of this form (the spec's recommendation, and
/// what Claude Desktop and VS Code enforce).
pub(crate) fn is_valid_tool_name(name: &str) -> bool {
    (1..=64).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

/// Lower case letters, digits and single underscores: names for outputs and tools.
pub(crate) fn slug(label: &str) -> String {
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

/// The name an endpoint's parameter goes by as a tool input: its Python
/// name, or its label in snake case when Gradio gives none. The schema and
/// the mapping onto Gradio's `data` both use this one function.
pub(crate) fn parameter_name(parameter: &ParameterInfo) -> String {
    parameter
        .parameter_name
        .clone()
        .or_else(|| parameter.label.as_deref().map(slug))
        .unwrap_or_default()
}

/// A short description of a JSON value's type, for error messages.
pub(crate) fn describe(value: &Value) -> String {
    match value {
        Value::Null => "null".into(),
        Value::Bool(b) => format!("the boolean {b}"),
        Value::Number(n) => format!("the number {n}"),
        Value::String(s) if s.chars().count() > 40 => "a string".into(),
        Value::String(s) => format!("the string {s:?}"),
        Value::Array(_) => "an array".into(),
        Value::Object(_) => "an object".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tool_names_follow_the_mcp_rule() {
        assert!(is_valid_tool_name("generate_image"));
        assert!(is_valid_tool_name("a-b_C9"));
        assert!(!is_valid_tool_name(""));
        assert!(!is_valid_tool_name("a.b"));
        assert!(!is_valid_tool_name(&"a".repeat(65)));
    }

    #[test]
    fn slugs_are_lower_snake_case() {
        assert_eq!(slug("Seed Used!"), "seed_used");
        assert_eq!(slug("  My -- Prompt "), "my_prompt");
        assert_eq!(slug("???"), "");
    }
}
