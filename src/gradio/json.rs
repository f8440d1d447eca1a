//! Gradio's JSON as Python writes it: `json.dumps` lets `NaN`, `Infinity`
//! and `-Infinity` through (a dataframe with a missing value, a number
//! output of `math.nan`), which JSON has no words for and serde refuses.
//! Read here, each becomes `null`: the value a JSON client can take, which
//! every output schema admits.

use serde_json::Value;

/// Parses Gradio's JSON, reading a non-finite number as `null`.
pub(crate) fn parse(text: &str) -> serde_json::Result<Value> {
    match serde_json::from_str(text) {
        Ok(value) => Ok(value),
        Err(error) => match without_non_finite(text) {
            Some(cleaned) => {
                tracing::debug!(
                    "the Space wrote a number JSON has no word for (NaN, Infinity): read as null"
                );
                serde_json::from_str(&cleaned)
            }
            None => Err(error),
        },
    }
}

/// The text with every bare `NaN`, `Infinity` and `-Infinity` (outside
/// strings) written `null`; `None` when there is none.
fn without_non_finite(text: &str) -> Option<String> {
    let bytes = text.as_bytes();
    let mut out = String::with_capacity(text.len());
    let (mut in_string, mut escaped, mut changed) = (false, false, false);
    let mut i = 0;
    while i < bytes.len() {
        let c = bytes[i];
        if in_string {
            if escaped {
                escaped = false;
            } else if c == b'\\' {
                escaped = true;
            } else if c == b'"' {
                in_string = false;
            }
        } else if c == b'"' {
            in_string = true;
        } else {
            let rest = &text[i..];
            let word = ["-Infinity", "Infinity", "NaN"]
                .into_iter()
                .find(|w| rest.starts_with(w));
            if let Some(word) = word {
                out.push_str("null");
                i += word.len();
                changed = true;
                continue;
            }
        }
        // Copy whole characters: `i` only ever stops on ASCII bytes or char starts.
        let ch = text[i..].chars().next().unwrap_or('\0');
        out.push(ch);
        i += ch.len_utf8();
    }
    changed.then_some(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn non_finite_numbers_are_null_and_strings_untouched() {
        assert_eq!(parse("[NaN]").unwrap(), json!([null]));
        assert_eq!(
            parse(r#"{"a": [1, Infinity, -Infinity], "b": "NaN \"Infinity\" é"}"#).unwrap(),
            json!({"a": [1, null, null], "b": "NaN \"Infinity\" é"})
        );
        assert_eq!(parse("[1.5]").unwrap(), json!([1.5]));
        assert!(parse("[Nope]").is_err());
    }
}
