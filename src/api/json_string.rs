//! `JsonString`: a request field that must be a JSON string. poem-openapi's
//! `String` also takes numbers and booleans (`{"message": 42}` became `"42"`);
//! this type refuses them, so the boundary answers 400 naming the field. In the
//! OpenAPI document it is the same plain `string`.

use std::borrow::Cow;

use poem_openapi::{
    registry::MetaSchemaRef,
    types::{ParseError, ParseFromJSON, ParseResult, ToJSON, Type},
};
use serde_json::Value;

/// A text field of a JSON request that accepts only a JSON string.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct JsonString(String);

impl JsonString {
    /// The text.
    pub fn into_inner(self) -> String {
        self.0
    }

    /// The text, borrowed.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl From<&str> for JsonString {
    fn from(text: &str) -> Self {
        Self(text.to_owned())
    }
}

impl From<String> for JsonString {
    fn from(text: String) -> Self {
        Self(text)
    }
}

impl AsRef<str> for JsonString {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl Type for JsonString {
    const IS_REQUIRED: bool = true;
    type RawValueType = Self;
    type RawElementValueType = Self;

    fn name() -> Cow<'static, str> {
        String::name()
    }

    fn schema_ref() -> MetaSchemaRef {
        String::schema_ref()
    }

    fn as_raw_value(&self) -> Option<&Self::RawValueType> {
        Some(self)
    }

    fn raw_element_iter<'a>(&'a self) -> Box<dyn Iterator<Item = &'a Self::RawElementValueType> + 'a> {
        Box::new(self.as_raw_value().into_iter())
    }
}

impl ParseFromJSON for JsonString {
    fn parse_from_json(value: Option<Value>) -> ParseResult<Self> {
        match value.unwrap_or_default() {
            Value::String(text) => Ok(Self(text)),
            other => Err(ParseError::expected_type(other)),
        }
    }
}

impl ToJSON for JsonString {
    fn to_json(&self) -> Option<Value> {
        Some(Value::String(self.0.clone()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_json_strings_are_taken() {
        assert_eq!(
            JsonString::parse_from_json(Some(Value::from("hi")))
                .unwrap()
                .as_str(),
            "hi"
        );
        for other in [
            Value::from(42),
            Value::from(true),
            Value::Null,
            serde_json::json!([]),
        ] {
            assert!(
                JsonString::parse_from_json(Some(other.clone())).is_err(),
                "{other}"
            );
        }
        assert_eq!(JsonString::schema_ref(), String::schema_ref());
    }
}
