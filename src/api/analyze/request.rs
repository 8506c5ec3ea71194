//! The request body of `/api/analyze`, in either encoding: JSON with base64
//! photos, or multipart with one `image` part per photo.

use poem_openapi::{ApiRequest, Multipart, Object, payload::Json};

use super::super::{AnswerLanguage, json_string::JsonString, upload::MemoryUpload};

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
