//! What the MCP App view needs beside a result, in its `_meta`: the tool,
//! its Space and endpoint, the arguments the result was made with, the
//! saved files (at full size, by URI: the view reads them, never the
//! model's previews), and which input is a seed, for "Variations". Only for
//! a client that shows the view; the content itself is unchanged.

use rmcp::model::{JsonObject, MetaObject};
use serde_json::{Value, json};

use crate::config::{InputConfig, ToolConfig};

/// The `_meta` key the view reads.
pub(crate) const VIEW_KEY: &str = "spaces-mcp/view";

/// The result's `_meta` for the view.
pub(crate) fn of(
    tool: &ToolConfig,
    arguments: Option<&JsonObject>,
    files: Vec<Value>,
) -> MetaObject {
    let exposed = |name: &&String| matches!(tool.inputs.get(*name), Some(InputConfig::Exposed(_)));
    let inputs: Vec<&String> = tool.inputs.keys().filter(exposed).collect();
    let seed = inputs
        .iter()
        .find(|n| n.as_str() == "seed" || n.ends_with("_seed") && !n.starts_with("randomize"));
    let randomize = inputs.iter().find(|n| n.starts_with("randomize"));
    let file_inputs: Vec<&String> = tool
        .inputs
        .iter()
        .filter(|(_, i)| matches!(i, InputConfig::Exposed(e) if e.kind == crate::config::ValueKind::File))
        .map(|(n, _)| n)
        .collect();
    let mut meta = JsonObject::new();
    meta.insert(
        VIEW_KEY.into(),
        json!({
            "tool": tool.name,
            "space": tool.space.to_string(),
            "space_page": space_page(&tool.space.to_string()),
            "endpoint": tool.api,
            "arguments": bounded(arguments),
            "files": files,
            "seed_input": seed,
            "randomize_input": randomize,
            "file_inputs": file_inputs,
        }),
    );
    MetaObject(meta)
}

/// The longest argument string the view is given back: a file given as a
/// `data:` URI would otherwise be repeated in every result, past what a
/// host takes (the view knows its arguments from the host anyway).
const ARGUMENT_MAX_CHARS: usize = 2048;

/// The arguments, each long string cut to a note of its length.
fn bounded(arguments: Option<&JsonObject>) -> Value {
    let mut out = JsonObject::new();
    for (name, value) in arguments.into_iter().flatten() {
        let value = match value.as_str() {
            Some(text) if text.chars().count() > ARGUMENT_MAX_CHARS => Value::String(format!(
                "({} characters, not repeated here)",
                text.chars().count()
            )),
            _ => value.clone(),
        };
        out.insert(name.clone(), value);
    }
    Value::Object(out)
}

/// Where a person sees the Space: its Hub page, or the app's own address.
fn space_page(space: &str) -> String {
    if space.starts_with("http://") || space.starts_with("https://") {
        space.to_string()
    } else {
        format!("https://huggingface.co/spaces/{space}")
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_long_argument_is_not_repeated() {
        let mut args = super::JsonObject::new();
        args.insert(
            "picture".into(),
            format!("data:image/png;base64,{}", "A".repeat(5000)).into(),
        );
        args.insert("prompt".into(), "short".into());
        let bounded = super::bounded(Some(&args));
        assert_eq!(bounded["prompt"], "short");
        assert_eq!(bounded["picture"], "(5022 characters, not repeated here)");
    }

    #[test]
    fn a_hub_id_opens_its_page_and_an_address_itself() {
        assert_eq!(
            super::space_page("a/b"),
            "https://huggingface.co/spaces/a/b"
        );
        assert_eq!(
            super::space_page("http://127.0.0.1:7860"),
            "http://127.0.0.1:7860"
        );
    }
}
