//! File outputs: each fetched from the Space (or decoded from a `data:`
//! URL) straight into its saved copy, never held whole, then described for
//! every part of the result (its line, its link, its place among the media,
//! its entry for the MCP App view); a file on another host only as its link,
//! never fetched.

use std::path::{Path, PathBuf};

use rmcp::model::Resource;
use serde_json::{Value, json};

use super::budget::{Media, MediaKind};
use super::mime::{mime_from_name, sniff_mime};
use super::render::{OutputError, RenderOptions, Rendered};
use super::saved::SAVED_SCHEME;
use crate::gradio::{Fetched, GradioError, SpaceClient};

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

/// A file output: fetched from the Space (or decoded from a `data:` URL)
/// straight into its saved copy, then described for every part of the
/// result; a file on another host only as its link.
pub(super) async fn render_file(
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
