//! A small JSON Schema checker for the subset Gradio writes (`type`, `enum`,
//! `const`, `anyOf`/`oneOf`, `items`, `prefixItems`, `minItems`/`maxItems`,
//! `properties`, `required`, `additionalProperties: false`, `minimum`,
//! `maximum`), so that a wrong argument is refused before anything is sent,
//! with where it is wrong and why, in words a model can act on. Keywords it
//! does not know are accepted: the Space has the last word.

use serde_json::Value;

use crate::naming::describe;

/// Checks `value` against `schema`; the error names the place (`[0].text`)
/// and the problem.
pub(crate) fn check(schema: &Value, value: &Value) -> Result<(), String> {
    check_at(schema, value, &mut String::new(), 0)
}

/// Deeper than this, a schema is taken as satisfied (Gradio's are shallow).
const MAX_DEPTH: usize = 32;

type Schema = serde_json::Map<String, Value>;

fn check_at(schema: &Value, value: &Value, at: &mut String, depth: usize) -> Result<(), String> {
    let Some(schema) = schema.as_object() else {
        return Ok(());
    };
    if depth > MAX_DEPTH {
        return Ok(());
    }
    check_branches(schema, value, at, depth)?;
    check_value(schema, value, at)?;
    if let Some(items) = value.as_array() {
        check_items(schema, items, at, depth)?;
    }
    if let Some(object) = value.as_object() {
        check_fields(schema, object, at, depth)?;
    }
    Ok(())
}

/// The problem, with its place when it is not the value itself.
fn fail(at: &str, problem: String) -> Result<(), String> {
    Err(if at.is_empty() {
        problem
    } else {
        format!("at {at}: {problem}")
    })
}

/// `anyOf` and `oneOf`: one branch must pass (both are read as "any").
fn check_branches(schema: &Schema, value: &Value, at: &str, depth: usize) -> Result<(), String> {
    'keys: for key in ["anyOf", "oneOf"] {
        let Some(branches) = schema.get(key).and_then(Value::as_array) else {
            continue;
        };
        let mut reasons = Vec::new();
        for branch in branches {
            let mut inner = at.to_string();
            match check_at(branch, value, &mut inner, depth + 1) {
                Ok(()) => continue 'keys,
                Err(reason) => reasons.push(reason),
            }
        }
        if !branches.is_empty() {
            reasons.dedup();
            // The first reason usually says enough; more reads as noise.
            return Err(reasons.into_iter().next().unwrap_or_default());
        }
    }
    Ok(())
}

/// `type`, `enum`, `const`, `minimum` and `maximum`.
fn check_value(schema: &Schema, value: &Value, at: &str) -> Result<(), String> {
    if let Some(types) = schema.get("type") {
        let allowed: Vec<&str> = match types {
            Value::String(t) => vec![t.as_str()],
            Value::Array(ts) => ts.iter().filter_map(Value::as_str).collect(),
            _ => Vec::new(),
        };
        if !allowed.is_empty() && !allowed.iter().any(|t| is_type(value, t)) {
            return fail(
                at,
                format!("must be {}, not {}", words(&allowed), describe(value)),
            );
        }
    }
    if let Some(choices) = schema.get("enum").and_then(Value::as_array)
        && !choices.iter().any(|c| same(c, value))
    {
        let list: Vec<String> = choices.iter().map(Value::to_string).collect();
        return fail(at, format!("{value} is not one of {}", list.join(", ")));
    }
    if let Some(constant) = schema.get("const")
        && !same(constant, value)
    {
        return fail(at, format!("must be {constant}"));
    }
    if let Some(n) = value.as_f64() {
        if let Some(lo) = schema.get("minimum").and_then(Value::as_f64)
            && n < lo
        {
            return fail(at, format!("{n} is below the minimum {lo}"));
        }
        if let Some(hi) = schema.get("maximum").and_then(Value::as_f64)
            && n > hi
        {
            return fail(at, format!("{n} is above the maximum {hi}"));
        }
    }
    Ok(())
}

/// An array's length, and each item against `prefixItems` or `items`.
fn check_items(
    schema: &Schema,
    items: &[Value],
    at: &mut String,
    depth: usize,
) -> Result<(), String> {
    let count = |key: &str| schema.get(key).and_then(Value::as_u64);
    if let Some(min) = count("minItems")
        && (items.len() as u64) < min
    {
        return fail(
            at,
            format!("needs at least {min} items, has {}", items.len()),
        );
    }
    if let Some(max) = count("maxItems")
        && (items.len() as u64) > max
    {
        return fail(
            at,
            format!("takes at most {max} items, has {}", items.len()),
        );
    }
    let prefix = schema.get("prefixItems").and_then(Value::as_array);
    for (i, item) in items.iter().enumerate() {
        let item_schema = prefix
            .and_then(|p| p.get(i))
            .or_else(|| schema.get("items"));
        if let Some(item_schema) = item_schema {
            let len = at.len();
            at.push_str(&format!("[{i}]"));
            check_at(item_schema, item, at, depth + 1)?;
            at.truncate(len);
        }
    }
    Ok(())
}

/// An object's `required` fields, each field against `properties`, and no
/// other field where `additionalProperties` is false.
fn check_fields(
    schema: &Schema,
    object: &serde_json::Map<String, Value>,
    at: &mut String,
    depth: usize,
) -> Result<(), String> {
    let properties = schema.get("properties").and_then(Value::as_object);
    if let Some(required) = schema.get("required").and_then(Value::as_array) {
        for name in required.iter().filter_map(Value::as_str) {
            if !object.contains_key(name) {
                return fail(at, format!("is missing {name:?}"));
            }
        }
    }
    for (name, item) in object {
        match properties.and_then(|p| p.get(name)) {
            Some(property) => {
                let len = at.len();
                if !at.is_empty() {
                    at.push('.');
                }
                at.push_str(name);
                check_at(property, item, at, depth + 1)?;
                at.truncate(len);
            }
            None if schema.get("additionalProperties") == Some(&Value::Bool(false)) => {
                let known: Vec<&str> = properties
                    .map(|p| p.keys().map(String::as_str).collect())
                    .unwrap_or_default();
                return fail(
                    at,
                    format!("has no field {name:?} (it takes {})", known.join(", ")),
                );
            }
            None => {}
        }
    }
    Ok(())
}

fn is_type(value: &Value, name: &str) -> bool {
    match name {
        "string" => value.is_string(),
        "number" => value.is_number(),
        "integer" => value.as_f64().is_some_and(|n| n.fract() == 0.0),
        "boolean" => value.is_boolean(),
        "array" => value.is_array(),
        "object" => value.is_object(),
        "null" => value.is_null(),
        _ => true,
    }
}

fn words(types: &[&str]) -> String {
    fn word<'a>(t: &&'a str) -> &'a str {
        match *t {
            "string" => "a string",
            "number" => "a number",
            "integer" => "a whole number",
            "boolean" => "true or false",
            "array" => "an array",
            "object" => "an object",
            "null" => "null",
            other => other,
        }
    }
    let list: Vec<&str> = types.iter().map(word).collect();
    list.join(" or ")
}

/// Equality that treats `1` and `1.0` as the same number.
pub(crate) fn same(a: &Value, b: &Value) -> bool {
    match (a.as_f64(), b.as_f64()) {
        (Some(x), Some(y)) => x == y,
        _ => a == b,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn gradio_shapes_are_checked_with_their_place() {
        let messages = json!({"type": "array", "items": {"type": "object",
            "properties": {"role": {"enum": ["user", "assistant"]}, "content": {"type": "string"}},
            "required": ["role", "content"]}});
        assert!(check(&messages, &json!([{"role": "user", "content": "hi"}])).is_ok());
        let e = check(
            &messages,
            &json!([{"role": "user", "content": "hi"}, {"role": "bot", "content": "x"}]),
        )
        .unwrap_err();
        assert!(
            e.starts_with("at [1].role:") && e.contains("\"bot\" is not one of"),
            "{e}"
        );
        let e = check(&messages, &json!([{"role": "user"}])).unwrap_err();
        assert!(e.contains("at [0]: is missing \"content\""), "{e}");
        let e = check(&messages, &json!("hi")).unwrap_err();
        assert!(e.contains("must be an array, not the string"), "{e}");
    }

    #[test]
    fn any_of_prefix_items_and_bounds() {
        let pair = json!({"anyOf": [{"type": "array", "prefixItems": [{"type": "string"}, {"type": "string"}],
            "minItems": 2, "maxItems": 2}, {"type": "null"}]});
        assert!(check(&pair, &json!(["a", "b"])).is_ok());
        assert!(check(&pair, &Value::Null).is_ok());
        assert!(
            check(&pair, &json!(["a"]))
                .unwrap_err()
                .contains("at least 2")
        );
        assert!(
            check(&pair, &json!(["a", 3]))
                .unwrap_err()
                .contains("at [1]")
        );
        let closed =
            json!({"type": "object", "properties": {"a": {}}, "additionalProperties": false});
        assert!(
            check(&closed, &json!({"b": 1}))
                .unwrap_err()
                .contains("no field \"b\"")
        );
        assert!(check(&json!({}), &json!({"anything": [1, 2]})).is_ok());
        assert!(check(&json!({"type": "integer", "minimum": 1}), &json!(0)).is_err());
        assert!(check(&json!({"type": "integer"}), &json!(2.0)).is_ok());
    }
}
