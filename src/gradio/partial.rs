//! A generator endpoint's values as they grow (a chatbot's reply being
//! written, a counter): the call API sends each whole, the queue API (from
//! protocol `sse_v2`) the first whole and then diffs, which are applied here.
//! The final result never depends on this: it always comes whole.

use serde_json::Value;

/// The most of a generator's partial outputs shown in one progress message.
pub(crate) const PARTIAL_MAX: usize = 400;

/// The latest partial outputs of one call.
#[derive(Debug, Default)]
pub(crate) struct Partial {
    outputs: Option<Vec<Value>>,
}

impl Partial {
    /// Takes one `generating` payload: whole outputs the first time (or from
    /// the call API), a list of diffs per output after that. Says whether
    /// the outputs are known now.
    pub(crate) fn update(&mut self, data: Vec<Value>, diffs: bool) -> bool {
        match (&mut self.outputs, diffs) {
            (Some(outputs), true) => {
                for (output, edits) in outputs.iter_mut().zip(data) {
                    let Value::Array(edits) = edits else {
                        return false;
                    };
                    for edit in edits {
                        if !apply(output, &edit) {
                            // A diff we cannot follow: wait for the next whole value.
                            self.outputs = None;
                            return false;
                        }
                    }
                }
            }
            _ => self.outputs = Some(data),
        }
        true
    }

    /// The outputs as text a person reads: each string as it is, anything
    /// else as compact JSON; several joined by " | ". At most `max` bytes,
    /// the end kept (a growing reply's newest words).
    pub(crate) fn text(&self, max: usize) -> Option<String> {
        let outputs = self.outputs.as_ref()?;
        let text = outputs
            .iter()
            .filter(|v| !v.is_null())
            .map(|v| match v {
                Value::String(s) => s.clone(),
                other => other.to_string(),
            })
            .collect::<Vec<_>>()
            .join(" | ");
        if text.trim().is_empty() {
            return None;
        }
        if text.len() <= max {
            return Some(text);
        }
        let mut start = text.len() - max;
        while !text.is_char_boundary(start) {
            start += 1;
        }
        Some(format!("…{}", &text[start..]))
    }
}

/// Applies one `[action, path, value]` edit; false when it does not fit.
fn apply(target: &mut Value, edit: &Value) -> bool {
    let Some([action, path, value]) = edit.as_array().map(Vec::as_slice) else {
        return false;
    };
    let (Some(action), Some(path)) = (action.as_str(), path.as_array()) else {
        return false;
    };
    let Some((last, parents)) = path.split_last() else {
        return match action {
            "replace" => {
                *target = value.clone();
                true
            }
            "append" => append(target, value),
            _ => false,
        };
    };
    let mut node = target;
    for key in parents {
        let Some(next) = child(node, key) else {
            return false;
        };
        node = next;
    }
    match (action, node) {
        ("replace", node) => child(node, last)
            .map(|slot| *slot = value.clone())
            .is_some(),
        ("append", node) => child(node, last).is_some_and(|slot| append(slot, value)),
        ("add", Value::Array(items)) => match last.as_u64().map(|i| i as usize) {
            Some(i) if i <= items.len() => {
                items.insert(i, value.clone());
                true
            }
            _ => false,
        },
        ("add", Value::Object(map)) => last
            .as_str()
            .map(|k| map.insert(k.to_string(), value.clone()))
            .is_some(),
        ("delete", Value::Array(items)) => match last.as_u64().map(|i| i as usize) {
            Some(i) if i < items.len() => {
                items.remove(i);
                true
            }
            _ => false,
        },
        ("delete", Value::Object(map)) => last.as_str().and_then(|k| map.remove(k)).is_some(),
        _ => false,
    }
}

fn child<'a>(node: &'a mut Value, key: &Value) -> Option<&'a mut Value> {
    match node {
        Value::Array(items) => items.get_mut(usize::try_from(key.as_u64()?).ok()?),
        Value::Object(map) => map.get_mut(key.as_str()?),
        _ => None,
    }
}

fn append(target: &mut Value, value: &Value) -> bool {
    match (target, value) {
        (Value::String(s), Value::String(more)) => {
            s.push_str(more);
            true
        }
        (Value::Array(items), Value::Array(more)) => {
            items.extend(more.iter().cloned());
            true
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn diffs_grow_the_values_as_gradio_sends_them() {
        let mut partial = Partial::default();
        assert!(partial.update(vec![json!("one")], true));
        assert!(partial.update(vec![json!([["append", [], " two"]])], true));
        assert_eq!(partial.text(100).as_deref(), Some("one two"));
        // A chatbot's history: a new message, then its text growing.
        let mut chat = Partial::default();
        chat.update(vec![json!([{"role": "user", "content": "hi"}])], true);
        chat.update(
            vec![json!([["add", [1], {"role": "assistant", "content": "He"}], ["append", [1, "content"], "llo"]])],
            true,
        );
        assert_eq!(
            chat.outputs.as_ref().unwrap()[0],
            json!([{"role": "user", "content": "hi"}, {"role": "assistant", "content": "Hello"}])
        );
        // A diff that does not fit: nothing is shown until a whole value.
        assert!(!partial.update(vec![json!([["append", [7], "x"]])], true));
        assert_eq!(partial.text(100), None);
        assert!(partial.update(vec![json!("whole")], false));
        assert_eq!(partial.text(3).as_deref(), Some("…ole"));
    }
}
