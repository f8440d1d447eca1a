//! Gradio outputs to the parts of a result.
//!
//! A file output (Gradio's FileData) is downloaded from the Space into the
//! output folder; it gets a text line (what it is, its URL, where it was
//! saved), a link, and, when it is an image or audio, a place among the
//! media that may go inline. Every output appears in the structured result
//! under its name. `shape` then decides, for the client, which media go
//! inline and in what order the blocks come.

use std::path::PathBuf;
use std::time::Duration;

use rmcp::model::Resource;
use serde_json::{Map, Value, json};

use super::budget::Media;
use super::file_output::render_file;
use super::readable::{markdown_table, readable};
use super::saved::{SaveError, SavedFiles};
use crate::gradio::{GradioError, HfToken, ReturnInfo, SpaceClient};
use crate::jobs::Owner;

/// How one call's outputs are turned into content.
pub(crate) struct RenderOptions<'a> {
    /// Where files are saved, and for whom.
    pub(crate) saved: &'a SavedFiles,
    pub(crate) owner: &'a Owner,
    pub(crate) download_max_bytes: u64,
    pub(crate) idle: Duration,
    pub(crate) token: Option<&'a HfToken>,
}

#[derive(Debug, thiserror::Error)]
pub(crate) enum OutputError {
    #[error(transparent)]
    Download(#[from] GradioError),
    #[error("the Space named a file output with neither a URL nor a path")]
    NoLocation,
    #[error("could not save the output to {path}: {source}")]
    Save {
        path: PathBuf,
        source: std::io::Error,
    },
}

impl From<SaveError> for OutputError {
    fn from(SaveError { path, source }: SaveError) -> OutputError {
        OutputError::Save { path, source }
    }
}

/// A call's result in parts: `shape` puts them together for the client.
#[derive(Debug, Default)]
pub(crate) struct Rendered {
    /// The text, a line (or more) per output: what a text-only client reads.
    pub(crate) lines: Vec<String>,
    /// Saved files and files on other hosts, as `resource_link`s.
    pub(crate) links: Vec<Resource>,
    pub(crate) structured: Map<String, Value>,
    /// Images and audio that may go inline, for the budget pass.
    pub(crate) media: Vec<Media>,
    /// How many files were saved.
    pub(crate) saved: usize,
    /// Each saved file, for the MCP App view: which output, what kind, its
    /// URI, type, size, name and address on the Space.
    pub(crate) files: Vec<Value>,
    /// Bytes downloaded so far: all of a call's files together stay within
    /// `download_max_bytes`, however many a gallery holds.
    pub(super) downloaded: u64,
}

/// Converts the outputs of one call.
pub(crate) async fn render(
    client: &SpaceClient,
    outputs: Vec<Value>,
    returns: &[ReturnInfo],
    names: &[String],
    options: &RenderOptions<'_>,
) -> Result<Rendered, OutputError> {
    let mut rendered = Rendered::default();
    // A lone value is the answer itself, as Gradio's own MCP server gives it;
    // several are each named.
    let single = outputs.len() == 1;
    for (i, value) in outputs.into_iter().enumerate() {
        let name = names
            .get(i)
            .cloned()
            .unwrap_or_else(|| format!("output_{i}"));
        let component = returns.get(i).and_then(|r| r.component.as_deref());
        let value = resolve_update(value);
        let summary = match classify(&value) {
            Shape::File(file) => {
                render_file(client, file, component, &name, options, &mut rendered).await?
            }
            Shape::Files(items) => {
                // A gallery, or a multi-file output: each file in turn.
                let mut summaries = Vec::with_capacity(items.len());
                for (n, (file, caption)) in items.into_iter().enumerate() {
                    let label = format!("{name}[{n}]");
                    let mut summary =
                        render_file(client, file, None, &label, options, &mut rendered).await?;
                    if let Some(caption) = caption {
                        summary["caption"] = Value::String(caption.to_string());
                    }
                    summaries.push(summary);
                }
                Value::Array(summaries)
            }
            Shape::Table { headers, rows } => {
                rendered
                    .lines
                    .push(format!("{name}:\n{}", markdown_table(headers, rows)));
                json!({ "headers": headers, "data": rows })
            }
            Shape::Plain => {
                let text = readable(component, &value);
                rendered.lines.push(if single {
                    text
                } else {
                    format!("{name}: {text}")
                });
                // Files inside a structured value (an image editor's layers,
                // an annotated image, a message's attachments) are rendered
                // as files, and stand in the structured result as such.
                let mut value = value;
                for place in nested_files(&value) {
                    let Some(file) = value.pointer(&place).cloned() else {
                        continue;
                    };
                    let label = format!("{name}{place}");
                    let summary =
                        render_file(client, &file, None, &label, options, &mut rendered).await?;
                    if let Some(slot) = value.pointer_mut(&place) {
                        *slot = summary;
                    }
                }
                value
            }
        };
        rendered.structured.insert(name, summary);
    }
    Ok(rendered)
}

/// A `gr.update(...)` returned as an output stands for its `value`, or for
/// nothing when it only changes how the component looks.
fn resolve_update(value: Value) -> Value {
    let is_update = value
        .get("__type__")
        .and_then(Value::as_str)
        .is_some_and(|t| t == "update");
    if !is_update {
        return value;
    }
    match value {
        Value::Object(mut object) => object.remove("value").unwrap_or(Value::Null),
        other => other,
    }
}

/// The JSON pointers of the FileData objects inside a value.
fn nested_files(value: &Value) -> Vec<String> {
    fn walk(value: &Value, at: &mut String, found: &mut Vec<String>, depth: usize) {
        if depth > 32 {
            return;
        }
        if is_file_data(value) {
            found.push(at.clone());
            return;
        }
        let children: Box<dyn Iterator<Item = (String, &Value)>> = match value {
            Value::Array(items) => {
                Box::new(items.iter().enumerate().map(|(i, v)| (i.to_string(), v)))
            }
            Value::Object(object) => Box::new(
                object
                    .iter()
                    .map(|(k, v)| (k.replace('~', "~0").replace('/', "~1"), v)),
            ),
            _ => return,
        };
        for (key, child) in children {
            let len = at.len();
            at.push('/');
            at.push_str(&key);
            walk(child, at, found, depth + 1);
            at.truncate(len);
        }
    }
    let mut found = Vec::new();
    walk(value, &mut String::new(), &mut found, 0);
    found
}

/// What an output value holds.
enum Shape<'a> {
    File(&'a Value),
    /// Files with their captions (a Gallery, a multi-file File).
    Files(Vec<(&'a Value, Option<&'a str>)>),
    Table {
        headers: &'a [Value],
        rows: &'a [Value],
    },
    Plain,
}

fn classify(value: &Value) -> Shape<'_> {
    if is_file_data(value) {
        return Shape::File(value);
    }
    // Gradio 4 and 5 wrap a Video's file: {"video": FileData, "subtitles": …}.
    if let Some(video) = value.get("video").filter(|v| is_file_data(v)) {
        return Shape::File(video);
    }
    if let Some(items) = value.as_array().filter(|items| !items.is_empty()) {
        let files: Vec<(&Value, Option<&str>)> = items
            .iter()
            .filter_map(|item| {
                if is_file_data(item) {
                    return Some((item, None));
                }
                let file = item
                    .get("image")
                    .or_else(|| item.get("video"))
                    .filter(|f| is_file_data(f))?;
                Some((file, item.get("caption").and_then(Value::as_str)))
            })
            .collect();
        if files.len() == items.len() {
            return Shape::Files(files);
        }
    }
    if let (Some(headers), Some(rows)) = (
        value.get("headers").and_then(Value::as_array),
        value.get("data").and_then(Value::as_array),
    ) {
        return Shape::Table { headers, rows };
    }
    Shape::Plain
}

/// Gradio marks file outputs with `meta._type`; older versions send a bare
/// object with `path` and `url`.
fn is_file_data(value: &Value) -> bool {
    let Some(object) = value.as_object() else {
        return false;
    };
    object
        .get("meta")
        .and_then(|m| m.get("_type"))
        .and_then(Value::as_str)
        .is_some_and(|t| t == "gradio.FileData")
        || (object.contains_key("path")
            && object.contains_key("url")
            && object.contains_key("orig_name"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::result::file_output::linkable;

    #[test]
    fn only_http_links_to_ordinary_hosts_are_links() {
        for ok in [
            "https://example.com/a.png",
            "http://127.0.0.2:9/x",
            "http://[2001:db8::1]/a",
        ] {
            assert!(linkable(ok), "{ok}");
        }
        for bad in [
            "file:///etc/passwd",
            "javascript:alert(1)",
            "data:text/html,<b>",
            "http://169.254.169.254/latest/meta-data/",
            "http://[fe80::1]/x",
            "ftp://example.com/a",
            "not a url",
        ] {
            assert!(!linkable(bad), "{bad}");
        }
    }

    #[test]
    fn file_outputs_are_recognised() {
        let text = crate::fixtures::wire("call-image-complete.txt");
        let data = text.lines().find_map(|l| l.strip_prefix("data: ")).unwrap();
        let outputs: Vec<Value> = serde_json::from_str(data).unwrap();
        assert!(is_file_data(&outputs[0]));
        assert!(!is_file_data(&outputs[1]));
        assert!(!is_file_data(&json!({"path": "x"})));
    }
}
