//! A Gradio value as text a model reads: labels with their confidences,
//! highlighted spans, chat messages, plots and tables in words and Markdown,
//! rather than Gradio's internal shapes (which stay in `structuredContent`).

use serde_json::Value;

/// A structured value in words a model reads well; plain values as they are.
pub(super) fn readable(component: Option<&str>, value: &Value) -> String {
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
