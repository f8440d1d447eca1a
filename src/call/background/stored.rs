//! A call's result as the job store keeps it, and as it is read back: a
//! shared store is a trust boundary (who can write it could forge a
//! result), so a result read back passes only what a call of ours returns.

use rmcp::model::{CallToolResult, ContentBlock};
use serde_json::{Value, json};

use super::INTERNAL_ERROR;
use crate::jobs::JobState;

/// A result as JSON, the same numbers a client reads in the direct answer.
/// Through text, not `serde_json::to_value`: that widens rmcp's 32-bit
/// floats (an annotation's priority 0.8 became 0.800000011920929), while
/// text keeps their shortest form, as the answer on the wire has it.
pub(crate) fn wire_json(result: &CallToolResult) -> Result<Value, serde_json::Error> {
    serde_json::from_str(&serde_json::to_string(result)?)
}

/// A finished call's result, as the job keeps it.
pub(super) fn to_json(result: &CallToolResult) -> JobState {
    match wire_json(result) {
        Ok(value) => JobState::Completed(value),
        Err(e) => JobState::Failed(json!({
            "code": INTERNAL_ERROR,
            "message": format!("the result could not be kept: {e}"),
        })),
    }
}

/// A kept result, as the call returned it.
pub(crate) fn result_of(value: &Value) -> Option<CallToolResult> {
    let mut result: CallToolResult = serde_json::from_value(value.clone()).ok()?;
    sanitize(&mut result);
    Some(result)
}

/// A result read back from a job store is treated like anything from a
/// Space: a shared store is a trust boundary (who can write it could forge
/// a result), so only what a call of ours can return is passed on: text
/// without control characters or bidi overrides, links to saved files or
/// to ordinary http(s) hosts, images and audio; nothing embedded.
fn sanitize(result: &mut CallToolResult) {
    let mut dropped = 0;
    result.content.retain_mut(|block| match block {
        ContentBlock::Text(text) => {
            text.text = crate::result::text::clean_lines(&text.text);
            true
        }
        ContentBlock::Image(_) | ContentBlock::Audio(_) => true,
        ContentBlock::ResourceLink(link) => {
            let keep = link.uri.starts_with(crate::result::saved::SAVED_SCHEME)
                || crate::result::file_output::linkable(&link.uri);
            dropped += usize::from(!keep);
            keep
        }
        // Embedded resources, and any kind rmcp adds later.
        _ => {
            dropped += 1;
            false
        }
    });
    if dropped > 0 {
        tracing::warn!(
            dropped,
            "a stored job result held blocks no call of ours makes: dropped"
        );
        result.content.push(ContentBlock::text(format!(
            "({dropped} part(s) of the stored result were dropped: no call of this server makes them)"
        )));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_kept_result_reads_back_as_the_direct_answer_byte_for_byte() {
        let direct = r#"{"content":[{"type":"image","data":"AAAA","mimeType":"image/png","annotations":{"audience":["user","assistant"],"priority":1.0}},{"type":"text","text":"a","annotations":{"audience":["user","assistant"],"priority":0.8}},{"type":"resource_link","uri":"spaces-mcp://outputs/x.wav","name":"x.wav","annotations":{"audience":["user"],"priority":0.3}}],"structuredContent":{"seed":0.1,"n":3},"isError":false}"#;
        let result: CallToolResult = serde_json::from_str(direct).unwrap();
        let answer = serde_json::to_string(&result).unwrap();
        let JobState::Completed(kept) = to_json(&result) else {
            panic!("not kept");
        };
        // What a store holds (text), read back by another replica.
        let stored = serde_json::to_string(&kept).unwrap();
        assert!(!stored.contains("0.800000011920929"), "{stored}");
        let back: Value = serde_json::from_str(&stored).unwrap();
        let read = result_of(&back).unwrap();
        assert_eq!(serde_json::to_string(&read).unwrap(), answer);
        assert_eq!(
            serde_json::to_string(&wire_json(&read).unwrap()).unwrap(),
            answer
        );
    }

    #[test]
    fn a_forged_stored_result_keeps_only_what_a_call_makes() {
        let forged = serde_json::json!({
            "content": [
                {"type": "text", "text": "line one\n\u{1b}[31mred\u{202e}gnp.exe"},
                {"type": "resource_link", "uri": "file:///etc/passwd", "name": "p"},
                {"type": "resource_link", "uri": "spaces-mcp://outputs/1-2-3-a.png", "name": "a"},
                {"type": "resource", "resource": {"uri": "file:///x", "text": "t"}}
            ],
            "isError": false
        });
        let result = result_of(&forged).unwrap();
        let json = serde_json::to_value(&result).unwrap();
        let content = json["content"].as_array().unwrap();
        assert_eq!(content[0]["text"], "line one\n[31mredgnp.exe");
        assert_eq!(content[1]["uri"], "spaces-mcp://outputs/1-2-3-a.png");
        assert_eq!(content.len(), 3, "{content:?}");
        assert!(content[2]["text"].as_str().unwrap().contains("2 part(s)"));
    }
}
