//! The MCP App view (the `io.modelcontextprotocol/ui` extension): an HTML
//! document the host shows beside a tool's result, which shows images at
//! full size, plays audio and video, runs the tool again, and takes the
//! person's own files. Its source is `view/viewer.html`, embedded here.
//!
//! Offered only to a client that declared the extension (in `initialize`,
//! or in a 2026-07-28 request's `_meta`), decided per request, so a host
//! that first connects with empty capabilities sees plain tools. For such a
//! client: Space tools carry `_meta.ui.resourceUri` (and the older flat
//! `ui/resourceUri`), `resources/read` serves the view, results carry what
//! the view needs (`call::view_meta`), and two app-only tools
//! (`_meta.ui.visibility: ["app"]`) serve it: one reads a saved file in
//! pieces (hosts that relay no `resources/read`, files over
//! `resource_read_max_bytes`), one takes a file from the person in pieces.
//! Any other client lists neither and gets the same content as ever.

use base64::Engine;
use rmcp::model::{
    CallToolResult, ClientCapabilities, ContentBlock, JsonObject, MetaObject, Resource,
    ResourceContents, Tool,
};
use serde_json::{Value, json};

use crate::call::Runner;
use crate::jobs::Owner;
use crate::result::saved::uploads::Received;

/// The extension's name in capabilities.
pub(crate) const EXTENSION: &str = "io.modelcontextprotocol/ui";
/// The view's MIME type.
pub(crate) const MIME: &str = "text/html;profile=mcp-app";
/// Where the view is read.
pub(crate) const VIEW_URI: &str = "ui://spaces-mcp/viewer.html";
/// The view itself: one self-contained document.
const VIEW_HTML: &str = include_str!("../../view/viewer.html");
/// The app-only tool that reads a saved file in pieces.
pub(crate) const READ_TOOL: &str = "viewer_read_file";
/// The app-only tool that takes a person's file in pieces.
pub(crate) const UPLOAD_TOOL: &str = "viewer_upload_file";
/// The largest piece either tool moves: its base64 fits a 1 MiB body.
pub(crate) const PIECE_MAX: usize = 512 * 1024;

/// Whether the client shows MCP App views of our kind.
pub(crate) fn negotiated(capabilities: Option<&ClientCapabilities>) -> bool {
    let Some(ui) = capabilities
        .and_then(|c| c.extensions.as_ref())
        .and_then(|e| e.get(EXTENSION))
    else {
        return false;
    };
    // A client that names no MIME types takes the one the spec defines.
    match ui.get("mimeTypes").and_then(Value::as_array) {
        None => true,
        Some(types) => types.iter().any(|t| t.as_str() == Some(MIME)),
    }
}

/// `tool` with the view declared beside its results.
pub(crate) fn with_view(mut tool: Tool) -> Tool {
    let mut meta = tool.meta.take().unwrap_or_default();
    meta.0
        .insert("ui".into(), json!({ "resourceUri": VIEW_URI }));
    meta.0.insert("ui/resourceUri".into(), json!(VIEW_URI));
    tool.meta = Some(meta);
    tool
}

fn app_only(name: &'static str, description: &'static str, schema: Value) -> Tool {
    let schema: JsonObject = serde_json::from_value(schema).unwrap_or_default();
    let mut tool = Tool::new(name, description, schema);
    let mut meta = MetaObject::default();
    meta.0.insert(
        "ui".into(),
        json!({ "resourceUri": VIEW_URI, "visibility": ["app"] }),
    );
    tool.meta = Some(meta);
    tool
}

/// The app-only tools, listed only where the extension was negotiated.
pub(crate) fn app_tools() -> Vec<Tool> {
    vec![
        app_only(
            READ_TOOL,
            "For the spaces-mcp view: a piece of one of the caller's saved files or uploads, base64.",
            json!({
                "type": "object",
                "properties": {
                    "uri": {"type": "string"},
                    "offset": {"type": "integer", "minimum": 0, "default": 0},
                    "length": {"type": "integer", "minimum": 1, "maximum": PIECE_MAX, "default": PIECE_MAX}
                },
                "required": ["uri"],
                "additionalProperties": false
            }),
        ),
        app_only(
            UPLOAD_TOOL,
            "For the spaces-mcp view: a piece of a file the person gives a tool; the last piece answers its spaces-mcp://uploads/ URI.",
            json!({
                "type": "object",
                "properties": {
                    "name": {"type": "string", "maxLength": 200},
                    "mime_type": {"type": "string", "maxLength": 200},
                    "data": {"type": "string", "description": "base64"},
                    "upload_id": {"type": "string"},
                    "last": {"type": "boolean", "default": true}
                },
                "required": ["name", "data"],
                "additionalProperties": false
            }),
        ),
    ]
}

/// The view, as `resources/list` names it.
pub(crate) fn resource() -> Resource {
    Resource::new(VIEW_URI, "spaces-mcp viewer")
        .with_mime_type(MIME)
        .with_description("Shows and plays a spaces-mcp tool's result beside it.")
}

/// The view's contents, for `resources/read`.
pub(crate) fn contents() -> ResourceContents {
    ResourceContents::text(VIEW_HTML, VIEW_URI).with_mime_type(MIME)
}

fn failed(message: String) -> CallToolResult {
    CallToolResult::error(vec![ContentBlock::text(message)])
}

/// Answers a call of an app-only tool, for `owner`; `None` for any other name.
pub(crate) async fn call(
    runner: &Runner,
    name: &str,
    arguments: Option<&JsonObject>,
    owner: &Owner,
) -> Option<CallToolResult> {
    let empty = JsonObject::new();
    let args = arguments.unwrap_or(&empty);
    match name {
        READ_TOOL => Some(read_piece(runner, args, owner).await),
        UPLOAD_TOOL => Some(upload_piece(runner, args, owner).await),
        _ => None,
    }
}

/// `viewer_read_file`: a piece of a saved file or upload, as an embedded
/// resource, with where it stands in the file.
async fn read_piece(runner: &Runner, args: &JsonObject, owner: &Owner) -> CallToolResult {
    let Some(uri) = args.get("uri").and_then(Value::as_str) else {
        return failed(format!("{READ_TOOL}: give the file's uri"));
    };
    let offset = args.get("offset").and_then(Value::as_u64).unwrap_or(0);
    let length = args
        .get("length")
        .and_then(Value::as_u64)
        .map_or(PIECE_MAX, |l| (l as usize).clamp(1, PIECE_MAX));
    match runner.saved().read_piece(owner, uri, offset, length).await {
        Ok((bytes, size)) => {
            let data = base64::engine::general_purpose::STANDARD.encode(&bytes);
            let mime = crate::result::mime::mime_from_name(uri);
            let mut result = CallToolResult::success(vec![ContentBlock::resource(
                ResourceContents::blob(data, uri).with_mime_type(mime),
            )]);
            let end = offset + bytes.len() as u64;
            result.structured_content = Some(json!({
                "offset": offset, "length": bytes.len(), "size": size, "done": end >= size,
            }));
            result
        }
        Err(e) => failed(format!("{READ_TOOL}: {e}")),
    }
}

/// `viewer_upload_file`: a piece of a person's file; the last answers its URI.
async fn upload_piece(runner: &Runner, args: &JsonObject, owner: &Owner) -> CallToolResult {
    let text = |key: &str| args.get(key).and_then(Value::as_str);
    let (Some(file_name), Some(data)) = (text("name"), text("data")) else {
        return failed(format!(
            "{UPLOAD_TOOL}: give the file's name and data (base64)"
        ));
    };
    let Ok(piece) = base64::engine::general_purpose::STANDARD.decode(data.trim()) else {
        return failed(format!("{UPLOAD_TOOL}: data is not base64"));
    };
    if piece.len() > PIECE_MAX {
        return failed(format!(
            "{UPLOAD_TOOL}: a piece is at most {PIECE_MAX} bytes"
        ));
    }
    let mime = text("mime_type").unwrap_or("application/octet-stream");
    let last = args.get("last").and_then(Value::as_bool).unwrap_or(true);
    let received = runner
        .uploads()
        .receive(
            runner.saved(),
            owner,
            text("upload_id"),
            file_name,
            mime,
            &piece,
            last,
        )
        .await;
    let (message, structured) = match received {
        Ok(Received::Partial {
            upload_id,
            received,
        }) => (
            format!("{received} bytes received; send the next piece with upload_id {upload_id}"),
            json!({"upload_id": upload_id, "received": received}),
        ),
        Ok(Received::Done { uri, size }) => {
            runner.saved_changed(owner);
            (
                format!(
                    "uploaded {file_name} ({size} bytes) as {uri}: give this URI to a tool's file input"
                ),
                json!({"uri": uri, "size": size}),
            )
        }
        Err(e) => return failed(format!("{UPLOAD_TOOL}: {e}")),
    };
    let mut result = CallToolResult::success(vec![ContentBlock::text(message)]);
    result.structured_content = Some(structured);
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    fn caps(value: Value) -> ClientCapabilities {
        serde_json::from_value(value).unwrap()
    }

    #[test]
    fn only_a_client_that_declares_the_extension_gets_the_view() {
        assert!(!negotiated(None));
        assert!(!negotiated(Some(&caps(json!({})))));
        assert!(negotiated(Some(&caps(
            json!({"extensions": {EXTENSION: {"mimeTypes": [MIME]}}})
        ))));
        assert!(negotiated(Some(&caps(
            json!({"extensions": {EXTENSION: {}}})
        ))));
        assert!(!negotiated(Some(&caps(
            json!({"extensions": {EXTENSION: {"mimeTypes": ["text/html"]}}})
        ))));
    }

    #[test]
    fn a_tool_declares_the_view_both_ways_and_app_tools_are_for_the_app_only() {
        let tool = with_view(Tool::new("t", "d", JsonObject::new()));
        let meta = serde_json::to_value(tool.meta).unwrap();
        assert_eq!(meta["ui"]["resourceUri"], VIEW_URI);
        assert_eq!(meta["ui/resourceUri"], VIEW_URI);
        for tool in app_tools() {
            let meta = serde_json::to_value(&tool.meta).unwrap();
            assert_eq!(meta["ui"]["visibility"], json!(["app"]));
        }
        assert!(
            VIEW_HTML.contains("<html")
                && !VIEW_HTML.contains("http://")
                && !VIEW_HTML.contains("https://cdn")
        );
    }
}
