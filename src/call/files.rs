//! File inputs: what a model may give for a file, and how it reaches the
//! Space. An http(s) URL is passed on for the Space to fetch (Gradio accepts
//! a URL as a file's path); a `data:` URI is decoded and uploaded; a local
//! path is uploaded only when it lies, links resolved, inside a folder the
//! config allows (`input_dirs`), so no `..` or symlink reaches anything else;
//! a `spaces-mcp://outputs/…` or `spaces-mcp://uploads/…` URI of the
//! caller's own (what a call saved, what a person gave through the MCP App
//! view) is uploaded from its owner's folder, so a result can feed the next
//! tool. Another caller's URI is "not found", as in `resources/read`.

use std::path::{Path, PathBuf};

use serde_json::{Value, json};

use super::Failure;
use crate::config::{InputConfig, ToolConfig, ValueKind, file_data_location};
use crate::gradio::{HfToken, Observer, SpaceClient};
use crate::jobs::Owner;
use crate::result::saved::{ReadError, SAVED_SCHEME, SavedFiles, UPLOAD_SCHEME};
use crate::tools::derive::is_file_node;
use crate::tools::{Arguments, ToolError};

/// Turns what the model gave for each file into Gradio's FileData: a URL
/// for the Space to fetch, or a path of ours uploaded first. A file input is
/// one string; a structured input (a gallery, a message with attachments, an
/// image editor's layers) may hold files anywhere inside, where Gradio's
/// schema says a FileData goes.
pub(super) async fn send_files(
    tool: &ToolConfig,
    arguments: &mut Arguments,
    input_dirs: &[PathBuf],
    own: OwnFiles<'_>,
    client: &SpaceClient,
    token: Option<&HfToken>,
    observe: Observer<'_>,
) -> Result<(), Failure> {
    for (name, input) in &tool.inputs {
        let InputConfig::Exposed(input) = input else {
            continue;
        };
        let Some(value) = arguments.get_mut(name) else {
            continue;
        };
        let places = match (&input.kind, &input.shape) {
            (ValueKind::File, _) if is_file_given(value) => vec![String::new()],
            (ValueKind::Json, Some(shape)) => {
                let mut places = Vec::new();
                file_places(&shape.wire, value, &mut String::new(), &mut places, 0);
                places
            }
            _ => continue,
        };
        for place in places {
            let Some(slot) = value.pointer_mut(&place) else {
                continue;
            };
            // A string, or a FileData object as Gradio's docs show one:
            // either way the same rules for where the file may come from.
            let Some(given) = slot
                .as_str()
                .or_else(|| file_data_location(slot))
                .map(str::to_string)
            else {
                continue;
            };
            let invalid = |problem: String| {
                let at = if place.is_empty() {
                    String::new()
                } else {
                    format!(" (at {place})")
                };
                Failure::Arguments(ToolError::InvalidArgument {
                    name: name.clone(),
                    problem: format!("{problem}{at}"),
                })
            };
            let max = tool.limits.download_max_bytes;
            let source = match own.bytes_of(&given, max).await {
                Some(found) => found.map_err(invalid)?,
                None => resolve(&given, input_dirs, max).map_err(invalid)?,
            };
            let (path, orig_name) = match source {
                FileSource::Url(url) => {
                    let orig = url.rsplit('/').next().unwrap_or("file").to_string();
                    (url, orig)
                }
                FileSource::Bytes {
                    name: file_name,
                    bytes,
                } => {
                    let path = client
                        .upload(&file_name, bytes, token, tool.limits.idle_timeout, observe)
                        .await?;
                    (path, file_name)
                }
            };
            *slot = json!({ "path": path, "orig_name": orig_name, "meta": { "_type": "gradio.FileData" } });
        }
    }
    Ok(())
}

/// The caller's own files (saved outputs and uploads), which a file input
/// may name by URI.
#[derive(Clone, Copy)]
pub(super) struct OwnFiles<'a> {
    pub(super) saved: &'a SavedFiles,
    pub(super) owner: &'a Owner,
}

impl OwnFiles<'_> {
    /// The bytes of `value` when it is a `spaces-mcp://` URI; `None` for
    /// anything else.
    async fn bytes_of(&self, value: &str, max: u64) -> Option<Result<FileSource, String>> {
        let uri = value.trim();
        if !uri.starts_with("spaces-mcp://") {
            return None;
        }
        let path = match self.saved.path_of(self.owner, uri) {
            Ok(path) => path,
            Err(ReadError::NotOurs(_)) => {
                return Some(Err(format!(
                    "is not a file URI of this server (it takes {SAVED_SCHEME}<file> and {UPLOAD_SCHEME}<file>)"
                )));
            }
            Err(_) => {
                return Some(Err(format!(
                    "names no file of this caller's ({uri}: it was never saved or uploaded for this caller, or has been removed)"
                )));
            }
        };
        let read = async {
            let size = tokio::fs::metadata(&path)
                .await
                .map_err(|e| e.to_string())?
                .len();
            if size > max {
                return Err(format!("is larger than the {max}-byte limit"));
            }
            let bytes = tokio::fs::read(&path).await.map_err(|e| e.to_string())?;
            // The name as it was given: without the stamp the server put before it.
            let stored = path
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            let name = stored.splitn(4, '-').nth(3).unwrap_or(&stored);
            let name = name.strip_prefix("upload-").unwrap_or(name).to_string();
            Ok(FileSource::Bytes { name, bytes })
        };
        Some(read.await)
    }
}

/// The JSON pointers of the strings in `value` that sit where Gradio's
/// `schema` wants a file.
fn file_places(
    schema: &Value,
    value: &Value,
    at: &mut String,
    places: &mut Vec<String>,
    depth: usize,
) {
    if depth > 32 {
        return;
    }
    if is_file_node(schema) {
        if is_file_given(value) && !places.contains(at) {
            places.push(at.clone());
        }
        return;
    }
    for key in ["anyOf", "oneOf", "allOf"] {
        for branch in schema
            .get(key)
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            file_places(branch, value, at, places, depth + 1);
        }
    }
    match value {
        Value::Array(items) => {
            let prefix = schema.get("prefixItems").and_then(Value::as_array);
            for (i, item) in items.iter().enumerate() {
                let Some(item_schema) = prefix
                    .and_then(|p| p.get(i))
                    .or_else(|| schema.get("items"))
                else {
                    continue;
                };
                let len = at.len();
                at.push_str(&format!("/{i}"));
                file_places(item_schema, item, at, places, depth + 1);
                at.truncate(len);
            }
        }
        Value::Object(object) => {
            let properties = schema.get("properties").and_then(Value::as_object);
            for (key, item) in object {
                let Some(property) = properties.and_then(|p| p.get(key)) else {
                    continue;
                };
                let len = at.len();
                at.push('/');
                at.push_str(&key.replace('~', "~0").replace('/', "~1"));
                file_places(property, item, at, places, depth + 1);
                at.truncate(len);
            }
        }
        _ => {}
    }
}

/// Whether `value` names a file: a string, or a FileData object with a path or url.
fn is_file_given(value: &Value) -> bool {
    value.is_string() || file_data_location(value).is_some()
}

/// Where a file input's bytes come from.
#[derive(Debug, PartialEq)]
pub(crate) enum FileSource {
    /// The Space fetches it.
    Url(String),
    /// We upload it.
    Bytes { name: String, bytes: Vec<u8> },
}

/// Reads what a model gave for a file; the error says what it may give.
pub(crate) fn resolve(value: &str, dirs: &[PathBuf], max: u64) -> Result<FileSource, String> {
    let value = value.trim();
    if value.starts_with("http://") || value.starts_with("https://") {
        let url = url::Url::parse(value).map_err(|e| format!("is not a valid URL ({e})"))?;
        if url.host_str().is_none_or(str::is_empty)
            || !url.username().is_empty()
            || url.password().is_some()
        {
            return Err("must be an http(s) URL with a host and no credentials".into());
        }
        return Ok(FileSource::Url(url.to_string()));
    }
    if let Some(rest) = value.strip_prefix("data:") {
        return data_uri(rest, max);
    }
    local_file(Path::new(value), dirs, max)
}

fn data_uri(rest: &str, max: u64) -> Result<FileSource, String> {
    let (mime, bytes) = crate::result::data_uri::decode(rest, max)?;
    let name = format!("upload.{}", crate::result::mime::extension_for(&mime));
    Ok(FileSource::Bytes { name, bytes })
}

fn local_file(path: &Path, dirs: &[PathBuf], max: u64) -> Result<FileSource, String> {
    if dirs.is_empty() {
        return Err(
            "must be an http(s) URL or a data: URI (local files are not allowed: list their folder in input_dirs in spaces.toml)"
                .into(),
        );
    }
    if !path.is_absolute() {
        return Err("must be an http(s) URL, a data: URI, or an absolute path".into());
    }
    let allowed: Vec<String> = dirs.iter().map(|d| d.display().to_string()).collect();
    let outside = || {
        format!(
            "is not inside a folder the server allows ({})",
            allowed.join(", ")
        )
    };
    // Links and `..` resolved first: what counts is where the file really is.
    let real = path
        .canonicalize()
        .map_err(|_| format!("names no readable file ({})", path.display()))?;
    let inside = dirs
        .iter()
        .filter_map(|d| d.canonicalize().ok())
        .any(|dir| real.starts_with(&dir));
    if !inside {
        return Err(outside());
    }
    let metadata = std::fs::metadata(&real).map_err(|e| format!("cannot be read ({e})"))?;
    if !metadata.is_file() {
        return Err("is not a file".into());
    }
    if metadata.len() > max {
        return Err(format!("is larger than the {max}-byte limit"));
    }
    let bytes = std::fs::read(&real).map_err(|e| format!("cannot be read ({e})"))?;
    let name = real
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "upload".into());
    Ok(FileSource::Bytes { name, bytes })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn files_inside_a_structured_value_are_found_where_gradio_wants_them() {
        let file =
            json!({"type": "object", "properties": {"path": {"type": "string"}, "meta": {}}});
        let schema = json!({"type": "object", "properties": {
            "text": {"type": "string"},
            "files": {"type": "array", "items": file},
            "pair": {"anyOf": [{"type": "array", "prefixItems": [file, {"anyOf": [file, {"type": "null"}]}]}, {"type": "null"}]}
        }});
        let value = json!({"text": "https://not-a-file.example/x", "files": ["a.png", "b.png"], "pair": ["c.png", null]});
        let mut places = Vec::new();
        file_places(&schema, &value, &mut String::new(), &mut places, 0);
        assert_eq!(places, ["/files/0", "/files/1", "/pair/0"]);
        // The FileData shape Gradio's docs show is a file too, inside a value.
        let value = json!({"text": "t", "files": [{"path": "a.png", "meta": {"_type": "gradio.FileData"}},
                                                   {"url": "data:text/plain,x"}, {"meta": {}}]});
        let mut places = Vec::new();
        file_places(&schema, &value, &mut String::new(), &mut places, 0);
        assert_eq!(places, ["/files/0", "/files/1"]);
    }

    #[test]
    fn urls_and_data_uris() {
        assert_eq!(
            resolve("https://example.com/a.png", &[], 10).unwrap(),
            FileSource::Url("https://example.com/a.png".into())
        );
        assert!(resolve("https://user:pw@example.com/a", &[], 10).is_err());
        assert_eq!(
            resolve("data:text/plain;base64,aGVsbG8=", &[], 10).unwrap(),
            FileSource::Bytes {
                name: "upload.txt".into(),
                bytes: b"hello".to_vec()
            }
        );
        assert_eq!(
            resolve("data:,a%20b", &[], 10).unwrap(),
            FileSource::Bytes {
                name: "upload.txt".into(),
                bytes: b"a b".to_vec()
            }
        );
        assert!(
            resolve("data:text/plain;base64,aGVsbG8=", &[], 3)
                .unwrap_err()
                .contains("limit")
        );
        assert!(resolve("data:nocomma", &[], 10).is_err());
        assert!(resolve("data:,%zz", &[], 10).is_err());
    }

    #[test]
    fn local_files_only_inside_allowed_folders() {
        let root = std::env::temp_dir().join(format!("spaces-mcp-inputs-{}", std::process::id()));
        let allowed = root.join("allowed");
        std::fs::create_dir_all(&allowed).unwrap();
        std::fs::write(allowed.join("ok.txt"), b"fine").unwrap();
        std::fs::write(root.join("secret.txt"), b"secret").unwrap();
        let dirs = vec![allowed.clone()];

        let ok = resolve(allowed.join("ok.txt").to_str().unwrap(), &dirs, 100).unwrap();
        assert_eq!(
            ok,
            FileSource::Bytes {
                name: "ok.txt".into(),
                bytes: b"fine".to_vec()
            }
        );
        let climbing = allowed.join("..").join("secret.txt");
        assert!(
            resolve(climbing.to_str().unwrap(), &dirs, 100)
                .unwrap_err()
                .contains("not inside")
        );
        #[cfg(unix)]
        {
            let link = allowed.join("link.txt");
            let _ = std::fs::remove_file(&link);
            std::os::unix::fs::symlink(root.join("secret.txt"), &link).unwrap();
            assert!(
                resolve(link.to_str().unwrap(), &dirs, 100)
                    .unwrap_err()
                    .contains("not inside")
            );
        }
        assert!(
            resolve("relative.txt", &dirs, 100)
                .unwrap_err()
                .contains("absolute")
        );
        assert!(
            resolve(allowed.to_str().unwrap(), &dirs, 100)
                .unwrap_err()
                .contains("not a file")
        );
        assert!(
            resolve(allowed.join("ok.txt").to_str().unwrap(), &[], 100)
                .unwrap_err()
                .contains("input_dirs")
        );
        assert!(
            resolve(allowed.join("ok.txt").to_str().unwrap(), &dirs, 2)
                .unwrap_err()
                .contains("limit")
        );
        let _ = std::fs::remove_dir_all(&root);
    }

    mod fuzz {
        use super::*;
        use proptest::prelude::*;

        /// A folder with one allowed file, and a secret beside it.
        fn folders() -> (PathBuf, PathBuf) {
            let root =
                std::env::temp_dir().join(format!("spaces-mcp-fuzz-inputs-{}", std::process::id()));
            let allowed = root.join("allowed");
            std::fs::create_dir_all(&allowed).unwrap();
            std::fs::write(allowed.join("ok.txt"), b"fine").unwrap();
            std::fs::write(root.join("secret.txt"), b"secret").unwrap();
            (root, allowed)
        }

        /// What a model (or an attacker) gives a file input.
        fn values(root: &Path) -> impl Strategy<Value = String> {
            let start = prop_oneof![
                Just(String::new()),
                Just("http://".to_string()),
                Just("https://user:pw@".to_string()),
                Just("data:".to_string()),
                Just("data:image/png;base64,".to_string()),
                Just(format!("{}/", root.display())),
                Just(format!("{}/allowed/", root.display())),
                Just(format!("{}/allowed/../", root.display())),
                Just("file:///etc/".to_string()),
                Just("spaces-mcp://outputs/".to_string()),
            ];
            let rest = prop_oneof![
                Just("ok.txt".to_string()),
                Just("secret.txt".to_string()),
                Just("../secret.txt".to_string()),
                Just("%2e%2e/secret.txt".to_string()),
                ".{0,40}",
                "[A-Za-z0-9+/=]{0,80}",
            ];
            (start, rest).prop_map(|(a, b)| a + &b)
        }

        proptest! {
            #![proptest_config(crate::fuzzing::cases(2000))]

            /// Whatever is given, a file comes only from inside the allowed
            /// folder, a URL only as http(s) without credentials, and data
            /// only within the size cap.
            #[test]
            fn fuzz_file_input_values(value in values(&folders().0), max in 0u64..64) {
                let (root, allowed) = folders();
                // The property is not empty: the allowed file is read.
                let ok = allowed.join("ok.txt");
                prop_assert!(resolve(ok.to_str().unwrap(), std::slice::from_ref(&allowed), 64).is_ok());
                match resolve(&value, std::slice::from_ref(&allowed), max) {
                    Ok(FileSource::Url(url)) => {
                        let parsed = url::Url::parse(&url).unwrap();
                        prop_assert!(matches!(parsed.scheme(), "http" | "https"));
                        prop_assert!(parsed.username().is_empty() && parsed.password().is_none());
                    }
                    Ok(FileSource::Bytes { bytes, .. }) => {
                        prop_assert!(bytes.len() as u64 <= max);
                        if !value.trim().starts_with("data:") {
                            prop_assert_eq!(bytes, b"fine".to_vec(), "{} read outside {}", value, root.display());
                        }
                    }
                    Err(reason) => prop_assert!(!reason.is_empty()),
                }
            }
        }
    }
}
