//! `structuredContent` that always fits the tool's `outputSchema`, whatever
//! the Space returns: a client that checks it refuses the whole result
//! otherwise.

use serde_json::Value;

use crate::config::ToolConfig;

/// Makes every output fit the output schema the client was given: a Space
/// may return what its component's type does not say (Gradio's own
/// `super_html` demo gives `gr.HTML` a list), and a client that checks
/// `structuredContent` against the schema then refuses the whole result. An
/// output that does not fit is given as its JSON text where the schema takes
/// text, else as null (the text content still carries the value), and the
/// log says so.
pub(crate) fn fit_schema(tool: &ToolConfig, structured: &mut serde_json::Map<String, Value>) {
    let Some(properties) = tool
        .output_schema
        .as_ref()
        .and_then(|s| s.get("properties"))
        .and_then(Value::as_object)
    else {
        return;
    };
    for (name, value) in structured.iter_mut() {
        let Some(schema) = properties.get(name) else {
            continue;
        };
        if crate::validate::check(schema, value).is_ok() {
            continue;
        }
        let as_text = Value::String(serde_json::to_string(value).unwrap_or_default());
        let fitted = if crate::validate::check(schema, &as_text).is_ok() {
            as_text
        } else {
            Value::Null
        };
        tracing::warn!(tool = %tool.name, output = %name, "the Space returned a value its output's type does not admit: given as {}", if fitted.is_null() { "null" } else { "its JSON text" });
        *value = fitted;
    }
}
