//! Gradio outputs to the parts of a result.
//!
//! A file output (Gradio's FileData) is downloaded from the Space into the
//! output folder; it gets a text line (what it is, its URL, where it was
//! saved), a link, and, when it is an image or audio, a place among the
//! media that may go inline. Every output appears in the structured result
//! under its name. `shape` then decides, for the client, which media go
//! inline and in what order the blocks come.

use std::path::{Path, PathBuf};
use std::time::Duration;

use rmcp::model::Resource;
use serde_json::{Map, Value, json};

use super::budget::{Media, MediaKind};
use super::mime::{mime_from_name, sniff_mime};
use super::readable::{markdown_table, readable};
use super::saved::{SAVED_SCHEME, SaveError, SavedFiles};
use crate::gradio::{Fetched, GradioError, HfToken, ReturnInfo, SpaceClient};
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

/// The kinds of file outputs, from the component that made them or the bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum FileKind {
    Image,
    Audio,
    Video,
    File,
}

impl FileKind {
    fn name(self) -> &'static str {
        match self {
            FileKind::Image => "image",
            FileKind::Audio => "audio",
            FileKind::Video => "video",
            FileKind::File => "file",
        }
    }

    fn of(component: Option<&str>, mime: &str) -> FileKind {
        match component.map(str::to_ascii_lowercase).as_deref() {
            Some("image") => return FileKind::Image,
            Some("audio") => return FileKind::Audio,
            Some("video") => return FileKind::Video,
            _ => {}
        }
        match mime.split('/').next() {
            Some("image") => FileKind::Image,
            Some("audio") => FileKind::Audio,
            Some("video") => FileKind::Video,
            _ => FileKind::File,
        }
    }
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

/// A file output: fetched from the Space (or decoded from a `data:` URL)
/// straight into its saved copy, then described for every part of the
/// result; a file on another host only as its link.
async fn render_file(
    client: &SpaceClient,
    value: &Value,
    component: Option<&str>,
    name: &str,
    options: &RenderOptions<'_>,
    rendered: &mut Rendered,
) -> Result<Value, OutputError> {
    let field = |key: &str| {
        value
            .get(key)
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty())
    };
    let url = match (field("url"), field("path")) {
        (Some(url), _) => url.to_string(),
        (None, Some(path)) => client.file_url(path).ok_or(OutputError::NoLocation)?,
        (None, None) => return Err(OutputError::NoLocation),
    };
    let file_name = field("orig_name").or(field("path")).unwrap_or(name);
    // A file on another host (a gallery of web images): its link, unfetched.
    if !url.starts_with("data:") && !client.owns(&url) {
        return Ok(link_only(
            &url,
            file_name,
            component,
            name,
            field("mime_type"),
            rendered,
        ));
    }
    let named_type = field("mime_type")
        .map(str::to_string)
        .unwrap_or_else(|| mime_from_name(file_name).to_string());
    let budget = options
        .download_max_bytes
        .saturating_sub(rendered.downloaded);
    let (path, fetched) = save(client, &url, file_name, &named_type, budget, options).await?;
    let mime = sniff_mime(&fetched.head)
        .map(str::to_string)
        .or(fetched
            .content_type
            .clone()
            .filter(|t| t != "application/octet-stream"))
        .unwrap_or(named_type);
    let saved = SavedOutput {
        output: name,
        kind: FileKind::of(component, &mime),
        url,
        mime,
        path,
        fetched,
    };
    Ok(saved.describe(rendered))
}

/// The file at `url` (or in it, a `data:` URL), streamed into a new saved
/// file of the caller's, within `budget` bytes: never held whole. A failed
/// (or, by drop, cancelled) download leaves no file behind.
async fn save(
    client: &SpaceClient,
    url: &str,
    file_name: &str,
    mime: &str,
    budget: u64,
    options: &RenderOptions<'_>,
) -> Result<(PathBuf, Fetched), OutputError> {
    let mut saving = options.saved.create(options.owner, file_name, mime).await?;
    let sink = saving.writer();
    let fetched = match url.strip_prefix("data:") {
        // The file came inside the answer: decode it, within the budget.
        Some(rest) => match super::data_uri::decode(rest, budget) {
            Ok((_, bytes)) => tokio::io::AsyncWriteExt::write_all(sink, &bytes)
                .await
                .map(|()| Fetched {
                    size: bytes.len() as u64,
                    content_type: None,
                    head: bytes[..bytes.len().min(4096)].to_vec(),
                })
                .map_err(GradioError::Write),
            Err(_) => Err(GradioError::TooLarge {
                url: "a data: URL".into(),
                max: options.download_max_bytes,
            }),
        },
        None => {
            client
                .download_into(url, budget, options.token, options.idle, sink)
                .await
        }
    };
    let fetched = fetched?;
    Ok((saving.finish().await?, fetched))
}

/// A file output once saved.
struct SavedOutput<'a> {
    output: &'a str,
    kind: FileKind,
    url: String,
    mime: String,
    path: PathBuf,
    fetched: Fetched,
}

impl SavedOutput<'_> {
    /// Its line of text, its link, its place among the media when it is an
    /// image or audio, its entry for the MCP App view; its structured value.
    fn describe(self, rendered: &mut Rendered) -> Value {
        let SavedOutput {
            output,
            kind,
            url,
            mime,
            path,
            fetched,
        } = self;
        let size = fetched.size;
        rendered.downloaded += size;
        rendered.saved += 1;
        let uri = saved_uri(&path);
        rendered.files.push(json!({
            "output": output, "kind": kind.name(), "uri": uri, "mime_type": mime,
            "size": size, "name": file_name_of(&path), "url": url,
        }));
        rendered.links.push(
            Resource::new(uri.clone(), file_name_of(&path))
                .with_mime_type(mime.clone())
                .with_size(size),
        );
        rendered.lines.push(format!(
            "{output}: {} {url} ({mime}, {}), saved to {}",
            kind.name(),
            super::budget::human(size),
            path.display()
        ));
        let summary = json!({
            "kind": kind.name(), "url": url, "mime_type": mime, "size": size,
            "path": path.display().to_string(), "resource": uri,
        });
        let media = match kind {
            FileKind::Image => Some(MediaKind::Image),
            FileKind::Audio => Some(MediaKind::Audio),
            _ => None,
        };
        if let Some(kind) = media {
            rendered.media.push(Media {
                kind,
                mime,
                path,
                size,
                head: fetched.head,
                line: rendered.lines.len() - 1,
            });
        }
        summary
    }
}

/// The stable URI of a saved file, under which `resources/read` serves it.
pub(crate) fn saved_uri(path: &Path) -> String {
    format!("{SAVED_SCHEME}{}", file_name_of(path))
}

/// A file the Space names on another host: returned as its link (a text
/// line and a `resource_link`), never fetched by this server. Only an
/// http(s) link to a host that is not link-local becomes a link; anything
/// else (`file:`, `javascript:`, a cloud metadata address) is only quoted,
/// as the Space's claim, so no client follows it on the Space's word.
fn link_only(
    url: &str,
    file_name: &str,
    component: Option<&str>,
    name: &str,
    mime_type: Option<&str>,
    rendered: &mut Rendered,
) -> Value {
    let mime = mime_type
        .map(str::to_string)
        .unwrap_or_else(|| mime_from_name(url.split(['?', '#']).next().unwrap_or(url)).to_string());
    let kind = FileKind::of(component, &mime);
    if !linkable(url) {
        // No URL in the structured result either: only the claim, quoted.
        let quoted = super::text::clean_text(url, 300);
        rendered.lines.push(format!(
            "{name}: the Space named a {} at {quoted:?}, which is not passed on as a link (only http(s) links to hosts that are not link-local are)",
            kind.name()
        ));
        return json!({ "kind": kind.name(), "url": "", "claimed_url": quoted });
    }
    let name_part = file_name.rsplit('/').next().unwrap_or(file_name);
    rendered
        .links
        .push(Resource::new(url.to_string(), name_part.to_string()).with_mime_type(mime.clone()));
    rendered.lines.push(format!(
        "{name}: {} {url} ({mime}; on another host, not downloaded)",
        kind.name()
    ));
    json!({ "kind": kind.name(), "url": url, "mime_type": mime })
}

/// Whether a URL a Space names may reach the client as a link.
pub(crate) fn linkable(url: &str) -> bool {
    let Ok(parsed) = url::Url::parse(url) else {
        return false;
    };
    if !matches!(parsed.scheme(), "http" | "https") {
        return false;
    }
    match parsed.host() {
        Some(url::Host::Domain(domain)) => !domain.is_empty(),
        Some(url::Host::Ipv4(ip)) => !ip.is_link_local(),
        // fe80::/10
        Some(url::Host::Ipv6(ip)) => (ip.segments()[0] & 0xffc0) != 0xfe80,
        None => false,
    }
}

fn file_name_of(path: &Path) -> String {
    path.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

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
