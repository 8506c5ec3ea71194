//! `POST /api/analyze`: a weld photo in, a Markdown defect report out. Accepts JSON
//! with base64 (what the original app sends) or multipart with the file.

use std::borrow::Cow;

use poem::web::Field as PoemField;
use poem_openapi::{
    ApiRequest, Multipart, Object, OpenApi,
    param::Header,
    payload::Json,
    registry::{MetaSchema, MetaSchemaRef},
    types::{ParseError, ParseFromMultipartField, ParseResult, Type},
};

use super::{Ai, AnswerLanguage, AnswerReply, ApiTags, SseAnswer, auth::AiAuth, json_string::JsonString};
use crate::{
    domain::{
        history::{Role, Turn},
        image::{self, ImageType},
        language::Language,
        prompt,
    },
    error::{ApiError, Invalid, Media},
    gemini::{InlineImage, Prompt},
};

/// The longest note accepted, in characters.
pub const MAX_NOTE_CHARS: usize = 1000;

/// Weld photo analysis.
pub struct AnalyzeApi {
    ai: Ai,
    max_image_bytes: usize,
}

impl AnalyzeApi {
    /// The API over the shared Gemini client and budget, with the decoded-image limit.
    pub fn new(ai: Ai, max_image_bytes: usize) -> Self {
        Self { ai, max_image_bytes }
    }
}

/// A weld photo as base64 JSON.
#[derive(Debug, Object)]
#[oai(rename_all = "camelCase")]
pub struct AnalyzeJsonRequest {
    /// The image as standard base64 (a `data:image/...;base64,` prefix is allowed).
    /// Decoded, at most `WELD_MAX_IMAGE_BYTES` (10 MiB by default).
    pub base64_image: JsonString,
    /// The image's type: `image/png`, `image/jpeg`, `image/webp`, `image/heic` or
    /// `image/heif`. The bytes must match it.
    pub mime_type: JsonString,
    /// An optional note from the welder: process, material, thickness, position
    /// (at most 1,000 characters).
    pub note: Option<JsonString>,
    /// The report's language; else `Accept-Language`, else Russian.
    pub language: Option<AnswerLanguage>,
}

/// A file part read into memory (poem-openapi's `Upload` spools to a temporary
/// file, which fails on a read-only root file system and costs a disk write; the
/// body is already bounded and in memory).
#[derive(Debug)]
pub struct MemoryUpload {
    bytes: Vec<u8>,
    content_type: Option<String>,
    file_name: Option<String>,
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

/// A weld photo as a multipart upload.
#[derive(Debug, Multipart)]
pub struct AnalyzeForm {
    /// The photo file (PNG, JPEG, WebP, HEIC or HEIF).
    pub image: MemoryUpload,
    /// An optional note from the welder (at most 1,000 characters).
    pub note: Option<String>,
    /// `ru` or `en`.
    pub language: Option<String>,
}

/// The photo, in either encoding.
#[derive(Debug, ApiRequest)]
pub enum AnalyzeRequest {
    /// JSON with a base64 image.
    Json(Json<AnalyzeJsonRequest>),
    /// `multipart/form-data` with the part `image` and optional `note`, `language`.
    Multipart(AnalyzeForm),
}

/// A validated photo and its context.
struct Photo {
    kind: ImageType,
    bytes: Vec<u8>,
    /// The EXIF orientation removed with the metadata (2–8), if any.
    orientation: Option<u8>,
    note: Option<String>,
}

#[OpenApi(tag = "ApiTags::Analyze")]
impl AnalyzeApi {
    /// Analyze a weld photo
    ///
    /// Sends the photo to Gemini with a weld-inspector instruction and returns a
    /// structured Markdown report: what is in the photo, the defects found with their
    /// likely causes, how to fix them, and a verdict — or a clear note when the photo
    /// does not show a weld or is too poor to judge.
    #[oai(path = "/api/analyze", method = "post", operation_id = "analyze")]
    async fn analyze(
        &self,
        _auth: AiAuth,
        body: AnalyzeRequest,
        /// Used for the report's language when `language` is absent.
        #[oai(name = "Accept-Language")]
        accept_language: Header<Option<String>>,
    ) -> Result<Json<AnswerReply>, ApiError> {
        let (prompt, language) = self.prompt(body, accept_language.0.as_deref()).await?;
        let answer = self.ai.answer(&prompt, language).await?;
        Ok(Json(answer.into()))
    }

    /// Analyze a weld photo, streamed
    ///
    /// The same as `analyze`, but the report arrives as Server-Sent Events while
    /// Gemini writes it: `delta` events with `{text}`, then `done` with
    /// `{finishReason, model, usage?}` — or `error` with the error object if the
    /// stream fails after it started. Anything that fails before the first text is
    /// a normal JSON error. `: keepalive` comments keep idle proxies from closing
    /// a slow answer.
    #[oai(path = "/api/analyze/stream", method = "post", operation_id = "analyzeStream")]
    async fn analyze_stream(
        &self,
        _auth: AiAuth,
        body: AnalyzeRequest,
        /// Used for the report's language when `language` is absent.
        #[oai(name = "Accept-Language")]
        accept_language: Header<Option<String>>,
    ) -> Result<SseAnswer, ApiError> {
        let (prompt, language) = self.prompt(body, accept_language.0.as_deref()).await?;
        self.ai.stream(&prompt, language).await
    }
}

impl AnalyzeApi {
    /// The prompt and the language of the report (and of its errors).
    async fn prompt(
        &self,
        body: AnalyzeRequest,
        accept_language: Option<&str>,
    ) -> Result<(Prompt, Language), ApiError> {
        let (photo, language) = match body {
            AnalyzeRequest::Json(Json(request)) => {
                let language = Language::resolve(request.language.map(Into::into), accept_language);
                let photo = self
                    .photo_from_json(request)
                    .map_err(|e| e.in_language(language))?;
                (photo, language)
            }
            AnalyzeRequest::Multipart(form) => {
                let explicit = form_language(form.language.as_deref())?;
                let language = Language::resolve(explicit, accept_language);
                let photo = self.photo_from_form(form).map_err(|e| e.in_language(language))?;
                (photo, language)
            }
        };
        let mut request = prompt::analyze_request(language, photo.note.as_deref());
        if let Some(note) = photo.orientation.and_then(prompt::orientation_note) {
            request = format!("{request}\n\n{note}");
        }
        let prompt = Prompt {
            system: prompt::analyze_instruction(language),
            turns: vec![Turn::new(Role::User, request)],
            image: Some(InlineImage {
                mime: photo.kind.mime(),
                bytes: photo.bytes.into(),
            }),
            temperature: 0.2,
            max_output_tokens: 8192,
        };
        Ok((prompt, language))
    }

    fn photo_from_json(&self, request: AnalyzeJsonRequest) -> Result<Photo, ApiError> {
        if request.mime_type.as_str().trim().is_empty() {
            return Err(ApiError::invalid(Invalid::Empty {
                field: "mimeType".to_owned(),
            }));
        }
        let kind = ImageType::from_mime(request.mime_type.as_str())?;
        let bytes = image::decode_base64("base64Image", request.base64_image.as_str(), self.max_image_bytes)?;
        kind.verify(&bytes)?;
        let stripped = image::strip_metadata(kind, bytes)?;
        Ok(Photo {
            kind,
            bytes: stripped.bytes,
            orientation: stripped.orientation,
            note: check_note(request.note.map(JsonString::into_inner))?,
        })
    }

    fn photo_from_form(&self, form: AnalyzeForm) -> Result<Photo, ApiError> {
        let MemoryUpload {
            bytes,
            content_type,
            file_name,
        } = form.image;
        let claimed = content_type
            .filter(|t| !t.is_empty() && !t.starts_with("application/octet-stream"))
            .or_else(|| {
                file_name
                    .as_deref()
                    .and_then(|name| mime_guess::from_path(name).first())
                    .map(|m| m.essence_str().to_owned())
            });
        if bytes.is_empty() {
            return Err(ApiError::invalid(Invalid::Empty {
                field: "image".to_owned(),
            }));
        }
        if bytes.len() > self.max_image_bytes {
            return Err(image::ImageError::TooLarge {
                limit: self.max_image_bytes,
            }
            .into());
        }
        let kind = match claimed {
            Some(mime) => ImageType::from_mime(&mime)?,
            None => {
                ImageType::sniff(&bytes).ok_or_else(|| ApiError::unsupported_media_type(Media::NotAPhoto))?
            }
        };
        kind.verify(&bytes)?;
        let stripped = image::strip_metadata(kind, bytes)?;
        Ok(Photo {
            kind,
            bytes: stripped.bytes,
            orientation: stripped.orientation,
            note: check_note(form.note)?,
        })
    }
}

/// The multipart `language` part: `ru`, `en`, or absent.
fn form_language(value: Option<&str>) -> Result<Option<Language>, ApiError> {
    match value.map(str::trim) {
        None | Some("") => Ok(None),
        Some("ru") => Ok(Some(Language::Ru)),
        Some("en") => Ok(Some(Language::En)),
        Some(_) => Err(ApiError::invalid(Invalid::OneOf {
            field: "language".to_owned(),
            allowed: vec!["ru".to_owned(), "en".to_owned()],
        })),
    }
}

fn check_note(note: Option<String>) -> Result<Option<String>, ApiError> {
    match note {
        Some(n) if n.chars().count() > MAX_NOTE_CHARS => Err(ApiError::invalid(Invalid::TooLong {
            field: "note".to_owned(),
            max: MAX_NOTE_CHARS as u64,
        })),
        other => Ok(other),
    }
}
