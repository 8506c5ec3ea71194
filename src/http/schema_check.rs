//! Explains why a JSON body was refused, by checking it against the operation's
//! schema in our own OpenAPI document (poem-openapi's parse errors do not always
//! name the field). Only used on the error path. Says what is wrong as data
//! (`Invalid`); the error module writes it in the user's language.

use serde_json::{Map, Value};

use crate::{
    domain::language::Language,
    error::{Invalid, JsonType},
};

/// How deep nested objects and arrays are checked.
const MAX_DEPTH: usize = 8;

/// The first field of `body` that does not fit the schema of `POST path`, or
/// `None` when nothing specific can be said.
pub fn explain(spec: &Value, path: &str, body: &[u8]) -> Option<Invalid> {
    let body: Value = match serde_json::from_slice(body) {
        Ok(v) => v,
        Err(e) => {
            return Some(Invalid::NotJson {
                line: e.line(),
                column: e.column(),
            });
        }
    };
    let content = spec.pointer(&format!("/paths/{}/post/requestBody/content", escape(path)))?;
    let schema = content
        .as_object()?
        .iter()
        .find(|(k, _)| k.starts_with("application/json"))
        .map(|(_, v)| &v["schema"])?;
    check(spec, schema, &body, "", 0)
}

/// The body's own `language` (`ru` or `en`), when it is JSON and has a valid one:
/// the refusal of a body is written in the language the body asked for.
pub fn body_language(body: &[u8]) -> Option<Language> {
    #[derive(serde::Deserialize)]
    struct Body<'a> {
        #[serde(borrow)]
        language: Option<&'a str>,
    }
    match serde_json::from_slice::<Body<'_>>(body).ok()?.language? {
        "ru" => Some(Language::Ru),
        "en" => Some(Language::En),
        _ => None,
    }
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

fn check(spec: &Value, schema: &Value, value: &Value, at: &str, depth: usize) -> Option<Invalid> {
    if depth > MAX_DEPTH {
        return None;
    }
    let schema = resolve(spec, schema);
    let field = at.to_owned();
    let wrong = |expected| {
        Some(Invalid::WrongType {
            field: at.to_owned(),
            expected,
        })
    };
    if let Some(allowed) = schema.get("enum").and_then(Value::as_array) {
        if !allowed.contains(value) {
            let allowed = allowed
                .iter()
                .filter_map(|v| v.as_str().map(str::to_owned))
                .collect();
            return Some(Invalid::OneOf { field, allowed });
        }
        return None;
    }
    match schema.get("type").and_then(Value::as_str) {
        Some("object") => {
            let Some(object) = value.as_object() else {
                return wrong(JsonType::Object);
            };
            check_object(spec, schema, object, at, depth)
        }
        Some("array") => {
            let Some(items) = value.as_array() else {
                return wrong(JsonType::Array);
            };
            let item_schema = schema.get("items")?;
            items
                .iter()
                .enumerate()
                .find_map(|(i, item)| check(spec, item_schema, item, &format!("{at}[{i}]"), depth + 1))
        }
        Some("string") => {
            let Some(text) = value.as_str() else {
                return wrong(JsonType::String);
            };
            match schema.get("maxLength").and_then(Value::as_u64) {
                Some(max) if text.chars().count() as u64 > max => Some(Invalid::TooLong { field, max }),
                _ => None,
            }
        }
        Some("integer") | Some("number") if !value.is_number() => wrong(JsonType::Number),
        Some("boolean") if !value.is_boolean() => wrong(JsonType::Boolean),
        _ => None,
    }
}

fn check_object(
    spec: &Value,
    schema: &Value,
    object: &Map<String, Value>,
    at: &str,
    depth: usize,
) -> Option<Invalid> {
    let required = schema.get("required").and_then(Value::as_array);
    for field in required.into_iter().flatten().filter_map(Value::as_str) {
        if object.get(field).is_none_or(Value::is_null) {
            return Some(Invalid::Required {
                field: name(at, field),
            });
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
        explain(&spec(), "/api/chat", body.to_string().as_bytes()).map(|p| p.describe(Language::En))
    }

    #[test]
    fn the_first_misfit_field_is_named() {
        assert_eq!(
            explain_json(json!({})).unwrap(),
            "The field `message` is required."
        );
        assert_eq!(
            explain_json(json!({"message": 1})).unwrap(),
            "The field `message` must be a string."
        );
        assert_eq!(
            explain_json(json!({"message": "toolong"})).unwrap(),
            "The field `message` is longer than 5 characters."
        );
        assert_eq!(
            explain_json(json!({"message": "hi", "history": [{"role": "user"}, {"role": "bot"}]})).unwrap(),
            "The field `history[1].role` must be one of: user, model."
        );
        assert_eq!(
            explain_json(json!({"message": "hi", "history": [{}]})).unwrap(),
            "The field `history[0].role` is required."
        );
        assert_eq!(
            explain_json(json!({"message": "hi", "language": "de"})).unwrap(),
            "The field `language` must be one of: ru, en."
        );
        assert_eq!(
            explain_json(json!([1])).unwrap(),
            "The request body must be a JSON object."
        );
        assert_eq!(explain_json(json!({"message": "hi"})), None);
    }

    #[test]
    fn broken_json_is_reported_as_such() {
        let problem = explain(&spec(), "/api/chat", b"{\"message\": ").unwrap();
        assert!(matches!(problem, Invalid::NotJson { line: 1, .. }), "{problem:?}");
        assert_eq!(explain(&spec(), "/api/other", b"{}"), None);
    }

    #[test]
    fn the_body_language_is_taken_only_when_valid() {
        assert_eq!(
            body_language(br#"{"message": 42, "language": "en"}"#),
            Some(Language::En)
        );
        assert_eq!(body_language(br#"{"language": "de"}"#), None);
        assert_eq!(body_language(br#"{"language": 1}"#), None);
        assert_eq!(body_language(b"not json"), None);
    }
}
