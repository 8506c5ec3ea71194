//! `POST /api/analyze`: photos of one weld in (1 to `WELD_MAX_IMAGES`: face, root,
//! side, a close-up of a defect), one Markdown defect report out. Accepts JSON with
//! base64 — the `images` array, or the single `base64Image` the original app
//! sends — or multipart with one `image` part per photo. Every photo is checked
//! and stripped before anything is sent; one bad photo fails the whole request,
//! and its message says which photo. All photos go to Gemini in one request, in
//! order.

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
    max_images: usize,
}

impl AnalyzeApi {
    /// The API over the shared Gemini client and budget, with the decoded limit
    /// per photo and the number of photos per analysis.
    pub fn new(ai: Ai, max_image_bytes: usize, max_images: usize) -> Self {
        Self {
            ai,
            max_image_bytes,
            max_images,
        }
    }
}

/// One photo of the `images` array.
#[derive(Debug, Object)]
#[oai(rename_all = "camelCase")]
pub struct AnalyzeImage {
    /// The photo as standard base64 (a `data:image/...;base64,` prefix is allowed).
    /// Decoded, at most `WELD_MAX_IMAGE_BYTES` (10 MiB by default).
    pub base64_image: JsonString,
    /// The photo's type: `image/png`, `image/jpeg`, `image/webp`, `image/heic` or
    /// `image/heif`. The bytes must match it.
    pub mime_type: JsonString,
}

/// Photos of one weld as base64 JSON: either `images` (1 to `WELD_MAX_IMAGES`
/// photos, 4 by default) or the single `base64Image` + `mimeType` — exactly one
/// of `images` and `base64Image`.
#[derive(Debug, Object)]
#[oai(rename_all = "camelCase")]
pub struct AnalyzeJsonRequest {
    /// Photos of the same weld (face, root, side, a close-up of a defect), 1 to
    /// `WELD_MAX_IMAGES` (4 by default), sent to Gemini in this order as Photo 1,
    /// Photo 2, …
    pub images: Option<Vec<AnalyzeImage>>,
    /// One photo as standard base64 (a `data:image/...;base64,` prefix is allowed),
    /// the form of the original app; not together with `images`. Decoded, at most
    /// `WELD_MAX_IMAGE_BYTES` (10 MiB by default).
    pub base64_image: Option<JsonString>,
    /// The type of `base64Image`: `image/png`, `image/jpeg`, `image/webp`,
    /// `image/heic` or `image/heif`. The bytes must match it. Required with
    /// `base64Image`; not with `images` (each photo there has its own).
    pub mime_type: Option<JsonString>,
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

/// Photos of one weld as a multipart upload.
#[derive(Debug, Multipart)]
pub struct AnalyzeForm {
    /// The photo files (PNG, JPEG, WebP, HEIC or HEIF): 1 to `WELD_MAX_IMAGES`
    /// (4 by default) parts named `image`, sent to Gemini in this order.
    pub image: Vec<MemoryUpload>,
    /// An optional note from the welder (at most 1,000 characters).
    pub note: Option<String>,
    /// `ru` or `en`.
    pub language: Option<String>,
}

/// The photos, in either encoding.
#[derive(Debug, ApiRequest)]
pub enum AnalyzeRequest {
    /// JSON with base64 photos: `images`, or the single `base64Image`.
    Json(Json<AnalyzeJsonRequest>),
    /// `multipart/form-data` with 1 to `WELD_MAX_IMAGES` parts `image` and optional
    /// `note`, `language`.
    Multipart(AnalyzeForm),
}

/// A validated photo, its metadata removed.
struct Photo {
    kind: ImageType,
    bytes: Vec<u8>,
    /// The EXIF orientation removed with the metadata (2–8), if any.
    orientation: Option<u8>,
}

/// The validated photos of one request, in order, and the welder's note.
struct Photos {
    photos: Vec<Photo>,
    note: Option<String>,
}

#[OpenApi(tag = "ApiTags::Analyze")]
impl AnalyzeApi {
    /// Analyze photos of a weld
    ///
    /// Sends the photos (1 to `WELD_MAX_IMAGES`, 4 by default: face, root, side, a
    /// close-up of a defect — all of one weld) to Gemini in one request, in order,
    /// with a weld-inspector instruction, and returns one structured Markdown
    /// report: what is in the photos, the defects found with their likely causes
    /// (and, with several photos, which photo shows each), how to fix them, and a
    /// verdict — or a clear note when the photos do not show a weld or are too poor
    /// to judge. One bad photo fails the whole request; its message names it
    /// (`images[2]`). More photos than the limit: 400 naming `images`.
    #[oai(path = "/api/analyze", method = "post", operation_id = "analyze")]
    async fn analyze(
        &self,
        auth: AiAuth,
        body: AnalyzeRequest,
        /// Used for the report's language when `language` is absent.
        #[oai(name = "Accept-Language")]
        accept_language: Header<Option<String>>,
    ) -> Result<Json<AnswerReply>, ApiError> {
        let (prompt, language) = self.prompt(body, accept_language.0.as_deref()).await?;
        let answer = self.ai.answer(prompt, language, &auth.person()).await?;
        Ok(Json(answer.into()))
    }

    /// Analyze photos of a weld, streamed
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
        auth: AiAuth,
        body: AnalyzeRequest,
        /// Used for the report's language when `language` is absent.
        #[oai(name = "Accept-Language")]
        accept_language: Header<Option<String>>,
    ) -> Result<SseAnswer, ApiError> {
        let (prompt, language) = self.prompt(body, accept_language.0.as_deref()).await?;
        self.ai.stream(prompt, language, &auth.person()).await
    }
}

impl AnalyzeApi {
    /// The prompt and the language of the report (and of its errors).
    async fn prompt(
        &self,
        body: AnalyzeRequest,
        accept_language: Option<&str>,
    ) -> Result<(Prompt, Language), ApiError> {
        let (photos, language) = match body {
            AnalyzeRequest::Json(Json(request)) => {
                let language = Language::resolve(request.language.map(Into::into), accept_language);
                let photos = self
                    .photos_from_json(request)
                    .map_err(|e| e.in_language(language))?;
                (photos, language)
            }
            AnalyzeRequest::Multipart(form) => {
                let explicit = form_language(form.language.as_deref())?;
                let language = Language::resolve(explicit, accept_language);
                let photos = self.photos_from_form(form).map_err(|e| e.in_language(language))?;
                (photos, language)
            }
        };
        let Photos { photos, note } = photos;
        let orientations: Vec<Option<u8>> = photos.iter().map(|p| p.orientation).collect();
        let request = prompt::analyze_request(language, note.as_deref(), &orientations);
        let prompt = Prompt {
            system: prompt::analyze_instruction(language, photos.len()),
            turns: vec![Turn::new(Role::User, request)],
            images: photos
                .into_iter()
                .map(|photo| InlineImage {
                    mime: photo.kind.mime(),
                    bytes: photo.bytes.into(),
                })
                .collect(),
            temperature: 0.2,
            max_output_tokens: 8192,
        };
        Ok((prompt, language))
    }

    /// `count` photos are 1 to `max_images`; more → 400 naming `images`.
    fn check_count(&self, count: usize, field: &str) -> Result<(), ApiError> {
        if count == 0 {
            return Err(ApiError::invalid(Invalid::Empty {
                field: field.to_owned(),
            }));
        }
        if count > self.max_images {
            return Err(ApiError::invalid(Invalid::TooManyPhotos {
                field: "images".to_owned(),
                max: self.max_images,
            }));
        }
        Ok(())
    }

    fn photos_from_json(&self, request: AnalyzeJsonRequest) -> Result<Photos, ApiError> {
        let note = check_note(request.note.map(JsonString::into_inner))?;
        let photos = match (request.images, request.base64_image) {
            (Some(_), Some(_)) => {
                return Err(ApiError::invalid(Invalid::NotWith {
                    field: "base64Image".to_owned(),
                    other: "images".to_owned(),
                }));
            }
            (None, None) => {
                return Err(ApiError::invalid(Invalid::ExactlyOne {
                    fields: vec!["images".to_owned(), "base64Image".to_owned()],
                }));
            }
            (Some(images), None) => {
                if request.mime_type.is_some() {
                    return Err(ApiError::invalid(Invalid::NotWith {
                        field: "mimeType".to_owned(),
                        other: "images".to_owned(),
                    }));
                }
                self.check_count(images.len(), "images")?;
                // Each base64 text is dropped as soon as its photo is decoded.
                let mut photos = Vec::with_capacity(images.len());
                for (index, image) in images.into_iter().enumerate() {
                    let photo = self
                        .photo_from_base64(image.base64_image, Some(image.mime_type))
                        .map_err(|e| e.for_photo("images", index))?;
                    photos.push(photo);
                }
                photos
            }
            (None, Some(base64_image)) => vec![self.photo_from_base64(base64_image, request.mime_type)?],
        };
        Ok(Photos { photos, note })
    }

    /// One base64 photo: type claimed, bytes decoded within the limit, checked
    /// against the claim, metadata removed.
    fn photo_from_base64(
        &self,
        base64_image: JsonString,
        mime_type: Option<JsonString>,
    ) -> Result<Photo, ApiError> {
        let mime_type = mime_type.ok_or_else(|| {
            ApiError::invalid(Invalid::Required {
                field: "mimeType".to_owned(),
            })
        })?;
        if mime_type.as_str().trim().is_empty() {
            return Err(ApiError::invalid(Invalid::Empty {
                field: "mimeType".to_owned(),
            }));
        }
        let kind = ImageType::from_mime(mime_type.as_str())?;
        let bytes = image::decode_base64("base64Image", base64_image.as_str(), self.max_image_bytes)?;
        drop(base64_image);
        kind.verify(&bytes)?;
        let stripped = image::strip_metadata(kind, bytes)?;
        Ok(Photo {
            kind,
            bytes: stripped.bytes,
            orientation: stripped.orientation,
        })
    }

    fn photos_from_form(&self, form: AnalyzeForm) -> Result<Photos, ApiError> {
        let note = check_note(form.note)?;
        if form.image.is_empty() {
            return Err(ApiError::invalid(Invalid::Required {
                field: "image".to_owned(),
            }));
        }
        self.check_count(form.image.len(), "image")?;
        let several = form.image.len() > 1;
        let mut photos = Vec::with_capacity(form.image.len());
        for (index, upload) in form.image.into_iter().enumerate() {
            let photo = self.photo_from_upload(upload).map_err(|e| {
                // A single part keeps the single-photo messages of the original form.
                if several { e.for_photo("image", index) } else { e }
            })?;
            photos.push(photo);
        }
        Ok(Photos { photos, note })
    }

    /// One multipart photo: type from the part's type, else its file name, else
    /// its bytes; checked, metadata removed.
    fn photo_from_upload(&self, upload: MemoryUpload) -> Result<Photo, ApiError> {
        let MemoryUpload {
            bytes,
            content_type,
            file_name,
        } = upload;
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
