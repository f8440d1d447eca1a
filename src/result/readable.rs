//! A Gradio value as text a model reads: labels with their confidences,
//! highlighted spans, chat messages, plots, annotated and edited images,
//! multimodal text and tables in words and Markdown, rather than Gradio's
//! internal shapes and server paths (which stay in `structuredContent`; the
//! files inside get lines of their own, from `render`).

use serde_json::Value;

/// A structured value in words a model reads well; plain values as they are.
pub(super) fn readable(component: Option<&str>, value: &Value) -> String {
    let component = component.unwrap_or("").to_ascii_lowercase();
    let text = match component.as_str() {
        "label" => label_text(value),
        "highlightedtext" => highlighted_text(value),
        "chatbot" => chat_text(value),
        "plot" | "lineplot" | "barplot" | "scatterplot" | "nativeplot" => plot_text(value),
        "annotatedimage" => annotated_image_text(value),
        "imageeditor" => image_editor_text(value),
        "multimodaltextbox" => multimodal_text(value),
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
                    Some("file") => file_mention(part.get("file").unwrap_or(part)),
                    _ => message_part(part),
                })
                .collect::<Vec<_>>()
                .join(" "),
            Some(other) => message_part(other),
            None => String::new(),
        };
        // A `gr.ChatMessage`'s metadata titles a thought or a tool's use.
        let title = message
            .pointer("/metadata/title")
            .and_then(Value::as_str)
            .filter(|t| !t.is_empty())
            .map(|t| format!(" ({t})"))
            .unwrap_or_default();
        lines.push(format!("{role}{title}: {content}"));
    }
    Some(format!("\n{}", lines.join("\n")))
}

/// A file inside a value, by its name or URL (never a server path): the
/// file itself gets a line of its own.
fn file_mention(file: &Value) -> String {
    let name = ["orig_name", "url", "path"]
        .iter()
        .find_map(|key| file.get(*key).and_then(Value::as_str))
        .map(|n| n.rsplit('/').next().unwrap_or(n))
        .unwrap_or("");
    format!("[file {name}]")
}

/// A message's content that is not text: a file, or a component
/// (`{"component": "image", "value": FileData}`), by what it is.
fn message_part(part: &Value) -> String {
    if part.get("path").is_some() || part.get("url").is_some() {
        return file_mention(part);
    }
    if let Some(component) = part.get("component").and_then(Value::as_str) {
        let file = part
            .get("value")
            .filter(|v| v.get("path").is_some() || v.get("url").is_some())
            .map(file_mention)
            .unwrap_or_default();
        return format!(
            "[{component}{}{file}]",
            if file.is_empty() { "" } else { " " }
        );
    }
    part.to_string()
}

/// `an image with 2 annotations: cat, dog`.
fn annotated_image_text(value: &Value) -> Option<String> {
    value.get("image")?;
    let labels: Vec<&str> = value
        .get("annotations")
        .and_then(Value::as_array)
        .map(|list| {
            list.iter()
                .filter_map(|a| a.get("label").and_then(Value::as_str))
                .collect()
        })
        .unwrap_or_default();
    Some(match labels.len() {
        0 => "an image without annotations".to_string(),
        n => format!("an image with {n} annotation(s): {}", labels.join(", ")),
    })
}

/// `an edited image: a background, 2 layers and the composite`.
fn image_editor_text(value: &Value) -> Option<String> {
    let object = value.as_object()?;
    if !["background", "layers", "composite"]
        .iter()
        .any(|k| object.contains_key(*k))
    {
        return None;
    }
    let present = |k: &str| object.get(k).is_some_and(|v| !v.is_null());
    let layers = object
        .get("layers")
        .and_then(Value::as_array)
        .map_or(0, Vec::len);
    let mut parts = Vec::new();
    if present("background") {
        parts.push("a background".to_string());
    }
    parts.push(format!("{layers} layer(s)"));
    if present("composite") {
        parts.push("the composite".to_string());
    }
    Some(format!("an edited image: {}", parts.join(", ")))
}

/// `the text (with 2 files: a.png, b.pdf)`.
fn multimodal_text(value: &Value) -> Option<String> {
    let text = value.get("text")?.as_str().unwrap_or("");
    let files: Vec<String> = value
        .get("files")
        .and_then(Value::as_array)
        .map(|list| list.iter().map(file_mention).collect())
        .unwrap_or_default();
    Some(if files.is_empty() {
        text.to_string()
    } else {
        format!(
            "{text} (with {} file(s): {})",
            files.len(),
            files.join(", ")
        )
    })
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

/// A dataframe as a Markdown table, which models read well.
pub(super) fn markdown_table(headers: &[Value], rows: &[Value]) -> String {
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

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn file(name: &str) -> Value {
        json!({"path": format!("/tmp/gradio/abc/{name}"), "url": format!("http://x/file=/tmp/gradio/abc/{name}"),
               "orig_name": name, "meta": {"_type": "gradio.FileData"}})
    }

    #[test]
    fn shapes_read_as_words_without_server_paths() {
        let chat = json!([
            {"role": "user", "content": "draw a cat"},
            {"role": "assistant", "content": "thinking", "metadata": {"title": "Using the painter"}},
            {"role": "assistant", "content": {"component": "image", "value": file("cat.png")}},
            {"role": "assistant", "content": [{"type": "file", "file": file("cat.png")}]},
        ]);
        let text = readable(Some("chatbot"), &chat);
        assert_eq!(
            text,
            "\nuser: draw a cat\nassistant (Using the painter): thinking\nassistant: [image [file cat.png]]\nassistant: [file cat.png]"
        );
        let annotated = json!({"image": file("street.jpg"), "annotations": [
            {"image": file("m1.png"), "label": "car"}, {"image": file("m2.png"), "label": "bus"}]});
        assert_eq!(
            readable(Some("AnnotatedImage"), &annotated),
            "an image with 2 annotation(s): car, bus"
        );
        let edited = json!({"background": file("bg.png"), "layers": [file("l.png")], "composite": file("c.png")});
        assert_eq!(
            readable(Some("imageeditor"), &edited),
            "an edited image: a background, 1 layer(s), the composite"
        );
        let multimodal = json!({"text": "see these", "files": [file("a.png"), file("b.pdf")]});
        assert_eq!(
            readable(Some("multimodaltextbox"), &multimodal),
            "see these (with 2 file(s): [file a.png], [file b.pdf])"
        );
        for text in [
            readable(Some("chatbot"), &chat),
            readable(Some("annotatedimage"), &annotated),
            readable(Some("multimodaltextbox"), &multimodal),
        ] {
            assert!(!text.contains("/tmp/gradio"), "{text}");
        }
    }
}
