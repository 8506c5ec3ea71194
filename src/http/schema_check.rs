//! Explains why a JSON body was refused, by checking it against the operation's
//! schema in our own OpenAPI document (poem-openapi's parse errors do not always
//! name the field). Only used on the error path.

use serde_json::{Map, Value};

/// How deep nested objects and arrays are checked.
const MAX_DEPTH: usize = 4;

/// A message naming the first field of `body` that does not fit the schema of
/// `POST path`, or `None` when nothing specific can be said.
pub fn explain(spec: &Value, path: &str, body: &[u8]) -> Option<String> {
    let body: Value = match serde_json::from_slice(body) {
        Ok(v) => v,
        Err(e) => return Some(format!("the request body is not valid JSON ({e})")),
    };
    let content = spec.pointer(&format!("/paths/{}/post/requestBody/content", escape(path)))?;
    let schema = content
        .as_object()?
        .iter()
        .find(|(k, _)| k.starts_with("application/json"))
        .map(|(_, v)| &v["schema"])?;
    check(spec, schema, &body, "", 0)
}

fn escape(path: &str) -> String {
    path.replace('~', "~0").replace('/', "~1")
}

fn resolve<'a>(spec: &'a Value, schema: &'a Value) -> &'a Value {
    match schema.get("$ref").and_then(Value::as_str) {
        Some(reference) => reference
            .strip_prefix('#')
            .and_then(|p| spec.pointer(p))
            .unwrap_or(schema),
        // poem-openapi documents a described reference as `allOf: [{$ref}, {description}]`.
        None => match schema.get("allOf").and_then(Value::as_array) {
            Some(all) => all
                .iter()
                .find(|s| s.get("$ref").is_some())
                .map_or(schema, |s| resolve(spec, s)),
            None => schema,
        },
    }
}

fn name(prefix: &str, field: &str) -> String {
    if prefix.is_empty() {
        field.to_owned()
    } else {
        format!("{prefix}.{field}")
    }
}

fn check(spec: &Value, schema: &Value, value: &Value, at: &str, depth: usize) -> Option<String> {
    if depth > MAX_DEPTH {
        return None;
    }
    let schema = resolve(spec, schema);
    let label = if at.is_empty() {
        "the request body".to_owned()
    } else {
        format!("`{at}`")
    };
    if let Some(allowed) = schema.get("enum").and_then(Value::as_array) {
        if !allowed.contains(value) {
            let list: Vec<String> = allowed
                .iter()
                .filter_map(|v| v.as_str().map(str::to_owned))
                .collect();
            return Some(format!("{label} must be one of: {}", list.join(", ")));
        }
        return None;
    }
    match schema.get("type").and_then(Value::as_str) {
        Some("object") => {
            let Some(object) = value.as_object() else {
                return Some(format!("{label} must be a JSON object"));
            };
            check_object(spec, schema, object, at, depth)
        }
        Some("array") => {
            let Some(items) = value.as_array() else {
                return Some(format!("{label} must be an array"));
            };
            let item_schema = schema.get("items")?;
            items
                .iter()
                .enumerate()
                .find_map(|(i, item)| check(spec, item_schema, item, &format!("{at}[{i}]"), depth + 1))
        }
        Some("string") => {
            let Some(text) = value.as_str() else {
                return Some(format!("{label} must be a string"));
            };
            let max = schema.get("maxLength").and_then(Value::as_u64);
            if max.is_some_and(|m| text.chars().count() as u64 > m) {
                return Some(format!(
                    "{label} is longer than {} characters",
                    max.unwrap_or_default()
                ));
            }
            None
        }
        Some("integer") | Some("number") if !value.is_number() => Some(format!("{label} must be a number")),
        Some("boolean") if !value.is_boolean() => Some(format!("{label} must be true or false")),
        _ => None,
    }
}

fn check_object(
    spec: &Value,
    schema: &Value,
    object: &Map<String, Value>,
    at: &str,
    depth: usize,
) -> Option<String> {
    let required = schema.get("required").and_then(Value::as_array);
    for field in required.into_iter().flatten().filter_map(Value::as_str) {
        if object.get(field).is_none_or(Value::is_null) {
            return Some(format!("`{}` is required", name(at, field)));
        }
    }
    let properties = schema.get("properties").and_then(Value::as_object)?;
    properties
        .iter()
        .find_map(|(field, field_schema)| match object.get(field) {
            None | Some(Value::Null) => None,
            Some(value) => check(spec, field_schema, value, &name(at, field), depth + 1),
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn spec() -> Value {
        json!({
            "paths": {"/api/chat": {"post": {"requestBody": {"content": {
                "application/json; charset=utf-8": {"schema": {"$ref": "#/components/schemas/Chat"}}
            }}}}},
            "components": {"schemas": {
                "Chat": {"type": "object", "required": ["message"], "properties": {
                    "message": {"type": "string", "maxLength": 5},
                    "history": {"type": "array", "items": {"$ref": "#/components/schemas/Item"}},
                    "language": {"allOf": [{"$ref": "#/components/schemas/Lang"}]}
                }},
                "Item": {"type": "object", "required": ["role"], "properties": {
                    "role": {"type": "string", "enum": ["user", "model"]}
                }},
                "Lang": {"type": "string", "enum": ["ru", "en"]}
            }}
        })
    }

    fn explain_json(body: Value) -> Option<String> {
        explain(&spec(), "/api/chat", body.to_string().as_bytes())
    }

    #[test]
    fn the_first_misfit_field_is_named() {
        assert_eq!(explain_json(json!({})).unwrap(), "`message` is required");
        assert_eq!(
            explain_json(json!({"message": 1})).unwrap(),
            "`message` must be a string"
        );
        assert_eq!(
            explain_json(json!({"message": "toolong"})).unwrap(),
            "`message` is longer than 5 characters"
        );
        assert_eq!(
            explain_json(json!({"message": "hi", "history": [{"role": "user"}, {"role": "bot"}]})).unwrap(),
            "`history[1].role` must be one of: user, model"
        );
        assert_eq!(
            explain_json(json!({"message": "hi", "history": [{}]})).unwrap(),
            "`history[0].role` is required"
        );
        assert_eq!(
            explain_json(json!({"message": "hi", "language": "de"})).unwrap(),
            "`language` must be one of: ru, en"
        );
        assert_eq!(
            explain_json(json!([1])).unwrap(),
            "the request body must be a JSON object"
        );
        assert_eq!(explain_json(json!({"message": "hi"})), None);
    }

    #[test]
    fn broken_json_is_reported_as_such() {
        let message = explain(&spec(), "/api/chat", b"{\"message\": ").unwrap();
        assert!(
            message.starts_with("the request body is not valid JSON"),
            "{message}"
        );
        assert_eq!(explain(&spec(), "/api/other", b"{}"), None);
    }
}
