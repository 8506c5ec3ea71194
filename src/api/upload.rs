//! `MemoryUpload`: a multipart file part read into memory, and the type it claims.

use std::borrow::Cow;

use poem::web::Field as PoemField;
use poem_openapi::{
    registry::{MetaSchema, MetaSchemaRef},
    types::{ParseError, ParseFromMultipartField, ParseResult, Type},
};

/// A file part read into memory (poem-openapi's `Upload` spools to a temporary
/// file, which fails on a read-only root file system and costs a disk write; the
/// body is already bounded and in memory).
#[derive(Debug)]
pub struct MemoryUpload {
    bytes: Vec<u8>,
    content_type: Option<String>,
    file_name: Option<String>,
}

impl MemoryUpload {
    /// The bytes, and the MIME type the part claims: its content type, else the
    /// one its file name suggests (a generic `application/octet-stream` claims
    /// nothing).
    pub fn into_claimed(self) -> (Vec<u8>, Option<String>) {
        let Self {
            bytes,
            content_type,
            file_name,
        } = self;
        let claimed = content_type
            .filter(|t| !t.is_empty() && !t.starts_with("application/octet-stream"))
            .or_else(|| {
                file_name
                    .as_deref()
                    .and_then(|name| mime_guess::from_path(name).first())
                    .map(|m| m.essence_str().to_owned())
            });
        (bytes, claimed)
    }
}

impl Type for MemoryUpload {
    const IS_REQUIRED: bool = true;
    type RawValueType = Self;
    type RawElementValueType = Self;

    fn name() -> Cow<'static, str> {
        "string_binary".into()
    }

    fn schema_ref() -> MetaSchemaRef {
        MetaSchemaRef::Inline(Box::new(MetaSchema::new_with_format("string", "binary")))
    }

    fn as_raw_value(&self) -> Option<&Self::RawValueType> {
        Some(self)
    }

    fn raw_element_iter<'a>(&'a self) -> Box<dyn Iterator<Item = &'a Self::RawElementValueType> + 'a> {
        Box::new(self.as_raw_value().into_iter())
    }
}

impl ParseFromMultipartField for MemoryUpload {
    async fn parse_from_multipart(field: Option<PoemField>) -> ParseResult<Self> {
        let field = field.ok_or_else(ParseError::expected_input)?;
        let content_type = field.content_type().map(str::to_owned);
        let file_name = field.file_name().map(str::to_owned);
        let bytes = field.bytes().await.map_err(ParseError::custom)?;
        Ok(Self {
            bytes,
            content_type,
            file_name,
        })
    }
}
