//! Gradio outputs to MCP content.
//!
//! A file output (Gradio's FileData) is downloaded from the Space and becomes
//! an image or audio block when it is small enough and the client's protocol
//! version has that block; otherwise it is saved to the output folder and
//! linked. Every file also gets a text line with its URL, because some clients
//! drop image and audio blocks, and every output appears in the structured
//! result under its name.

use std::path::{Path, PathBuf};
use std::time::Duration;

use rmcp::model::{ContentBlock, Resource};
use serde_json::{Map, Value, json};

use super::budget::{Media, MediaKind};
use super::saved::{SAVED_SCHEME, SaveError, SavedFiles};
use crate::gradio::{Fetched, GradioError, HfToken, ReturnInfo, SpaceClient};
use crate::jobs::Owner;

/// What the negotiated MCP protocol version lets us send.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Features {
    /// Audio content blocks: protocol 2025-03-26 and later.
    pub(crate) audio: bool,
    /// `structuredContent` and `resource_link` blocks: 2025-06-18 and later.
    pub(crate) structured: bool,
}

impl Features {
    /// The features of a protocol version (`YYYY-MM-DD` compares as text).
    pub(crate) fn for_version(version: &str) -> Features {
        Features {
            audio: version >= "2025-03-26",
            structured: version >= "2025-06-18",
        }
    }

    pub(crate) const ALL: Features = Features {
        audio: true,
        structured: true,
    };
}

/// How one call's outputs are turned into content.
pub(crate) struct RenderOptions<'a> {
    pub(crate) features: Features,
    /// Never inline media (the CLI's `call`, which prints the saved paths).
    pub(crate) save_all: bool,
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

/// A call's result as MCP content and structured data.
#[derive(Debug, Default)]
pub(crate) struct Rendered {
    pub(crate) content: Vec<ContentBlock>,
    pub(crate) structured: Map<String, Value>,
    /// Images and audio that may go inline, for the budget pass.
    pub(crate) media: Vec<Media>,
    /// How many files were saved.
    pub(crate) saved: usize,
    /// Bytes downloaded so far: all of a call's files together stay within
    /// `download_max_bytes`, however many a gallery holds.
    downloaded: u64,
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
                rendered.content.push(ContentBlock::text(format!(
                    "{name}:\n{}",
                    markdown_table(headers, rows)
                )));
                json!({ "headers": headers, "data": rows })
            }
            Shape::Plain => {
                let text = readable(component, &value);
                rendered.content.push(ContentBlock::text(if single {
                    text
                } else {
                    format!("{name}: {text}")
                }));
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

/// A structured value in words a model reads well; plain values as they are.
fn readable(component: Option<&str>, value: &Value) -> String {
    let component = component.unwrap_or("").to_ascii_lowercase();
    let text = match component.as_str() {
        "label" => label_text(value),
        "highlightedtext" => highlighted_text(value),
        "chatbot" => chat_text(value),
        "plot" | "lineplot" | "barplot" | "scatterplot" | "nativeplot" => plot_text(value),
        _ => None,
    };
    text.unwrap_or_else(|| match value {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    })
}

/// `cat (cat 90%, dog 10%)`.
fn label_text(value: &Value) -> Option<String> {
    let label = value.get("label").map(|l| match l {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    });
    let confidences: Vec<String> = value
        .get("confidences")
        .and_then(Value::as_array)
        .map(|list| {
            list.iter()
                .filter_map(|c| {
                    let name = c.get("label")?;
                    let name = name
                        .as_str()
                        .map_or_else(|| name.to_string(), str::to_string);
                    let p = c.get("confidence")?.as_f64()?;
                    Some(format!("{name} {:.0}%", p * 100.0))
                })
                .collect()
        })
        .unwrap_or_default();
    match (label, confidences.is_empty()) {
        (Some(label), true) => Some(label),
        (Some(label), false) => Some(format!("{label} ({})", confidences.join(", "))),
        (None, false) => Some(confidences.join(", ")),
        (None, true) => None,
    }
}

/// `The quick[adj] fox[noun]`: each token, with its class when it has one.
fn highlighted_text(value: &Value) -> Option<String> {
    let tokens = value.as_array()?;
    let mut out = String::new();
    for token in tokens {
        let (text, class) = match token {
            Value::Object(o) => (o.get("token")?, o.get("class_or_confidence")),
            Value::Array(pair) => (pair.first()?, pair.get(1)),
            _ => return None,
        };
        out.push_str(text.as_str().unwrap_or_default());
        match class {
            Some(Value::Null) | None => {}
            Some(Value::String(c)) => out.push_str(&format!("[{c}]")),
            Some(other) => out.push_str(&format!("[{other}]")),
        }
        out.push(' ');
    }
    Some(out.trim_end().to_string())
}

/// One line per message: `user: Hello!`; files in a message by their URL.
fn chat_text(value: &Value) -> Option<String> {
    let messages = value.as_array()?;
    let mut lines = Vec::new();
    for message in messages {
        let role = message.get("role").and_then(Value::as_str).unwrap_or("?");
        let content = match message.get("content") {
            Some(Value::String(text)) => text.clone(),
            Some(Value::Array(parts)) => parts
                .iter()
                .map(|part| match part.get("type").and_then(Value::as_str) {
                    Some("text") => part
                        .get("text")
                        .and_then(Value::as_str)
                        .unwrap_or("")
                        .to_string(),
                    Some("file") => format!(
                        "[file {}]",
                        part.pointer("/file/url")
                            .and_then(Value::as_str)
                            .unwrap_or("")
                    ),
                    _ => part.to_string(),
                })
                .collect::<Vec<_>>()
                .join(" "),
            Some(other) => other.to_string(),
            None => String::new(),
        };
        lines.push(format!("{role}: {content}"));
    }
    Some(format!("\n{}", lines.join("\n")))
}

/// A plot's spec is for a browser: say what it is, and leave the spec to
/// the structured result.
fn plot_text(value: &Value) -> Option<String> {
    if value.is_null() {
        return None;
    }
    let kind = value.get("type").and_then(Value::as_str).unwrap_or("a");
    Some(format!(
        "a {kind} plot (its full spec is in the structured result)"
    ))
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

/// A dataframe as a Markdown table, which models read well.
fn markdown_table(headers: &[Value], rows: &[Value]) -> String {
    let cell = |v: &Value| match v {
        Value::String(s) => s.replace('|', "\\|").replace('\n', " "),
        Value::Null => String::new(),
        other => other.to_string(),
    };
    let mut out = format!(
        "| {} |\n|{}\n",
        headers.iter().map(cell).collect::<Vec<_>>().join(" | "),
        " --- |".repeat(headers.len().max(1))
    );
    for row in rows {
        let cells: Vec<String> = row
            .as_array()
            .map(|r| r.iter().map(cell).collect())
            .unwrap_or_default();
        out.push_str(&format!("| {} |\n", cells.join(" | ")));
    }
    out.trim_end().to_string()
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
    let budget = options
        .download_max_bytes
        .saturating_sub(rendered.downloaded);
    let inline_data = url.starts_with("data:");
    // A file on another host (a gallery of web images): its link, unfetched.
    if !inline_data && !client.owns(&url) {
        return Ok(link_only(
            &url,
            file_name,
            component,
            name,
            field("mime_type"),
            options,
            rendered,
        ));
    }
    // The file is streamed straight into its saved copy: never held whole.
    let named_type = field("mime_type")
        .map(str::to_string)
        .unwrap_or_else(|| mime_from_name(file_name).to_string());
    let mut saving = options
        .saved
        .create(options.owner, file_name, &named_type)
        .await?;
    let sink = saving.writer();
    let fetched = if inline_data {
        // The file came inside the answer: decode it, within the budget.
        match super::files::resolve(&url, &[], budget) {
            Ok(super::files::FileSource::Bytes { bytes, .. }) => {
                tokio::io::AsyncWriteExt::write_all(sink, &bytes)
                    .await
                    .map(|()| Fetched {
                        size: bytes.len() as u64,
                        content_type: None,
                        head: bytes[..bytes.len().min(4096)].to_vec(),
                    })
                    .map_err(GradioError::Write)
            }
            _ => Err(GradioError::TooLarge {
                url: "a data: URL".into(),
                max: options.download_max_bytes,
            }),
        }
    } else {
        client
            .download_into(&url, budget, options.token, options.idle, sink)
            .await
    };
    // A failed (or, by drop, cancelled) download leaves no file behind.
    let fetched = fetched?;
    let path = saving.finish().await?;
    let mime = sniff_mime(&fetched.head)
        .map(str::to_string)
        .or(fetched
            .content_type
            .filter(|t| t != "application/octet-stream"))
        .or(field("mime_type").map(str::to_string))
        .unwrap_or_else(|| mime_from_name(file_name).to_string());
    let kind = FileKind::of(component, &mime);
    let size = fetched.size;
    rendered.downloaded += size;
    rendered.saved += 1;
    let uri = saved_uri(&path);
    let summary = json!({
        "kind": kind.name(), "url": url, "mime_type": mime, "size": size,
        "path": path.display().to_string(), "resource": uri,
    });
    if options.features.structured {
        let resource = Resource::new(uri, file_name_of(&path))
            .with_mime_type(mime.clone())
            .with_size(size);
        rendered.content.push(ContentBlock::resource_link(resource));
    }
    rendered.content.push(ContentBlock::text(format!(
        "{name}: {} {url} ({mime}, {}), saved to {}",
        kind.name(),
        super::budget::human(size),
        path.display()
    )));
    let media = match kind {
        FileKind::Image => Some(MediaKind::Image),
        FileKind::Audio if options.features.audio => Some(MediaKind::Audio),
        _ => None,
    };
    if let Some(kind) = media.filter(|_| !options.save_all) {
        rendered.media.push(Media {
            kind,
            mime,
            path,
            size,
            head: fetched.head,
            line: rendered.content.len() - 1,
        });
    }
    Ok(summary)
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
    options: &RenderOptions<'_>,
    rendered: &mut Rendered,
) -> Value {
    let mime = mime_type
        .map(str::to_string)
        .unwrap_or_else(|| mime_from_name(url.split(['?', '#']).next().unwrap_or(url)).to_string());
    let kind = FileKind::of(component, &mime);
    if !linkable(url) {
        // No URL in the structured result either: only the claim, quoted.
        let quoted = super::text::clean_text(url, 300);
        rendered.content.push(ContentBlock::text(format!(
            "{name}: the Space named a {} at {quoted:?}, which is not passed on as a link (only http(s) links to hosts that are not link-local are)",
            kind.name()
        )));
        return json!({ "kind": kind.name(), "url": "", "claimed_url": quoted });
    }
    if options.features.structured {
        let name_part = file_name.rsplit('/').next().unwrap_or(file_name);
        let resource =
            Resource::new(url.to_string(), name_part.to_string()).with_mime_type(mime.clone());
        rendered.content.push(ContentBlock::resource_link(resource));
    }
    rendered.content.push(ContentBlock::text(format!(
        "{name}: {} {url} ({mime}; on another host, not downloaded)",
        kind.name()
    )));
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

/// The last path component of `name`, in letters, digits, `.`, `-` and `_`,
/// never starting with a dot; `output.<ext>` when nothing is left.
pub(crate) fn safe_file_name(name: &str, mime: &str) -> String {
    let last = name.rsplit(['/', '\\']).next().unwrap_or("");
    let cleaned: String = last
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_') {
                c
            } else {
                '_'
            }
        })
        .collect();
    let cleaned = cleaned.trim_start_matches('.');
    let cleaned: String = cleaned
        .chars()
        .rev()
        .take(100)
        .collect::<Vec<_>>()
        .into_iter()
        .rev()
        .collect();
    if cleaned.is_empty() || cleaned.chars().all(|c| c == '_') {
        format!("output.{}", extension_for(mime))
    } else {
        cleaned
    }
}

/// The type of common media files from their first bytes: Gradio often sends
/// no type, and a file's name can lie.
pub(crate) fn sniff_mime(bytes: &[u8]) -> Option<&'static str> {
    let starts = |magic: &[u8]| bytes.starts_with(magic);
    let riff = |form: &[u8]| bytes.len() >= 12 && &bytes[..4] == b"RIFF" && &bytes[8..12] == form;
    Some(if starts(b"\x89PNG\r\n\x1a\n") {
        "image/png"
    } else if starts(&[0xFF, 0xD8, 0xFF]) {
        "image/jpeg"
    } else if starts(b"GIF87a") || starts(b"GIF89a") {
        "image/gif"
    } else if riff(b"WEBP") {
        "image/webp"
    } else if riff(b"WAVE") {
        "audio/wav"
    } else if starts(b"fLaC") {
        "audio/flac"
    } else if starts(b"OggS") {
        "audio/ogg"
    } else if starts(b"ID3") || (bytes.len() >= 2 && bytes[0] == 0xFF && bytes[1] & 0xE0 == 0xE0) {
        "audio/mpeg"
    } else if bytes.len() >= 12 && &bytes[4..8] == b"ftyp" {
        "video/mp4"
    } else if starts(&[0x1A, 0x45, 0xDF, 0xA3]) {
        "video/webm"
    } else {
        return None;
    })
}

pub(crate) fn mime_from_name(name: &str) -> &'static str {
    let ext = name
        .rsplit_once('.')
        .map(|(_, e)| e.to_ascii_lowercase())
        .unwrap_or_default();
    match ext.as_str() {
        "png" => "image/png",
        "jpg" | "jpeg" => "image/jpeg",
        "webp" => "image/webp",
        "gif" => "image/gif",
        "wav" => "audio/wav",
        "mp3" => "audio/mpeg",
        "flac" => "audio/flac",
        "ogg" => "audio/ogg",
        "mp4" => "video/mp4",
        "webm" => "video/webm",
        "json" => "application/json",
        "txt" => "text/plain",
        _ => "application/octet-stream",
    }
}

/// The usual file extension of a media type.
pub(crate) fn extension_for(mime: &str) -> &'static str {
    match mime {
        "image/png" => "png",
        "image/jpeg" => "jpg",
        "image/webp" => "webp",
        "image/gif" => "gif",
        "audio/wav" | "audio/x-wav" => "wav",
        "audio/mpeg" => "mp3",
        "audio/flac" => "flac",
        "audio/ogg" => "ogg",
        "video/mp4" => "mp4",
        "video/webm" => "webm",
        "application/pdf" => "pdf",
        "application/json" => "json",
        "text/plain" => "txt",
        _ => "bin",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn protocol_versions_decide_the_blocks() {
        assert_eq!(
            Features::for_version("2024-11-05"),
            Features {
                audio: false,
                structured: false
            }
        );
        assert_eq!(
            Features::for_version("2025-03-26"),
            Features {
                audio: true,
                structured: false
            }
        );
        assert_eq!(Features::for_version("2025-06-18"), Features::ALL);
        assert_eq!(Features::for_version("2026-07-28"), Features::ALL);
    }

    #[test]
    fn media_types_come_from_the_bytes() {
        assert_eq!(sniff_mime(b"RIFF\x10\0\0\0WEBPVP8 "), Some("image/webp"));
        assert_eq!(sniff_mime(b"RIFF\x10\0\0\0WAVEfmt "), Some("audio/wav"));
        assert_eq!(sniff_mime(b"\x89PNG\r\n\x1a\n...."), Some("image/png"));
        assert_eq!(sniff_mime(b"hello"), None);
        assert_eq!(sniff_mime(b""), None);
    }

    #[test]
    fn hostile_file_names_stay_in_the_folder() {
        assert_eq!(safe_file_name("image.webp", "image/webp"), "image.webp");
        assert_eq!(
            safe_file_name("/tmp/gradio/abc/audio.wav", "audio/wav"),
            "audio.wav"
        );
        assert_eq!(safe_file_name("../../etc/passwd", "text/plain"), "passwd");
        assert_eq!(safe_file_name("..\\..\\win.ini", "text/plain"), "win.ini");
        assert_eq!(safe_file_name("..", "image/png"), "output.png");
        assert_eq!(safe_file_name("", "audio/wav"), "output.wav");
        assert_eq!(
            safe_file_name("a b;rm -rf.png", "image/png"),
            "a_b_rm_-rf.png"
        );
        assert_eq!(safe_file_name(".bashrc", "text/plain"), "bashrc");
        assert!(safe_file_name(&"x".repeat(500), "image/png").len() <= 100);
    }

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
