//! `ApiError`: the one error of the API, and the one place that turns an error
//! into the HTTP answer `{"error", "code", "retryAfterSeconds"?}` of docs/api.md.
//!
//! An `ApiError` is a code of the table in `code` (which knows the status and the
//! messages), the detail for the message, an optional retry delay and, once a
//! handler knows it, the request's language. It is rendered where the request's
//! headers are known — the `/api` boundary, the guard, the panic catcher — so a
//! message without the request's language follows `Accept-Language`, else
//! Russian. REST bodies, SSE `error` events and poem's own refusals (bad JSON,
//! content type, 404, 405, 413) all go through `ErrorBody`. 5xx bodies never carry
//! upstream text; the cause goes to the log.
//!
//! Must not import `gemini`: Gemini's errors become `ApiError`s in
//! `api::upstream_error`, where the two meet.

mod code;
mod detail;

use std::sync::OnceLock;

use poem::{
    Response,
    http::{HeaderMap, StatusCode, header::ACCEPT_LANGUAGE},
};
use poem_openapi::{
    ApiResponse, Object,
    registry::{MetaHeader, MetaMediaType, MetaResponse, MetaResponses, Registry},
    types::{ToJSON, Type},
};

pub use code::ErrorCode;
pub use detail::{Detail, Invalid, JsonType, Media, Waiting};

use crate::{domain::audio::AudioError, domain::image::ImageError, domain::language::Language};

/// The JSON body of every error (and the data of an SSE `error` event).
#[derive(Debug, Clone, Object)]
#[oai(rename_all = "camelCase")]
pub struct ErrorBody {
    /// A message for the person using the app, in the request's language (its
    /// `language`, else `Accept-Language`, else Russian). For `invalid_request`
    /// it names the field verbatim (`` `message` ``). Never a secret.
    #[oai(rename = "error")]
    pub error: String,
    /// A stable machine-readable code; it never changes with the language.
    pub code: ErrorCode,
    /// Seconds to wait before retrying, for 429 and some 503 answers.
    #[oai(skip_serializing_if_is_none)]
    pub retry_after_seconds: Option<u64>,
}

/// An API error: a code, the detail of its message, an optional retry delay and
/// the request's language once known.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    /// The code (and through it the status).
    pub code: ErrorCode,
    /// What the message says beyond the code.
    pub detail: Detail,
    /// `Retry-After` in seconds.
    pub retry_after: Option<u64>,
    /// The request's own `language`, when the handler knew it; otherwise the
    /// answer follows `Accept-Language`.
    pub language: Option<Language>,
}

impl ApiError {
    /// An error with this code and no detail.
    pub fn new(code: ErrorCode) -> Self {
        Self {
            code,
            detail: Detail::None,
            retry_after: None,
            language: None,
        }
    }

    /// With this detail.
    pub fn detail(mut self, detail: Detail) -> Self {
        self.detail = detail;
        self
    }

    /// 400 `invalid_request`; the message names the field.
    pub fn invalid(problem: Invalid) -> Self {
        Self::new(ErrorCode::InvalidRequest).detail(Detail::Invalid(problem))
    }

    /// 401 `session_required`.
    pub fn session_required() -> Self {
        Self::new(ErrorCode::SessionRequired)
    }

    /// 401 `access_code_invalid`.
    pub fn access_code_invalid() -> Self {
        Self::new(ErrorCode::AccessCodeInvalid)
    }

    /// 403 `cross_site_request`.
    pub fn cross_site() -> Self {
        Self::new(ErrorCode::CrossSiteRequest)
    }

    /// 429 `rate_limited`.
    pub fn rate_limited(retry_after: u64) -> Self {
        Self::new(ErrorCode::RateLimited).retry_after(Some(retry_after))
    }

    /// 429 `budget_exhausted`: the daily budget is spent until 00:00 UTC.
    pub fn budget_exhausted(retry_after: u64) -> Self {
        Self::new(ErrorCode::BudgetExhausted).retry_after(Some(retry_after))
    }

    /// 503 `limits_unavailable`: the shared limit store does not answer while a
    /// daily budget is configured, so AI calls are refused (the budget fails closed).
    pub fn limits_unavailable() -> Self {
        Self::new(ErrorCode::LimitsUnavailable).retry_after(Some(30))
    }

    /// 404 `not_found`.
    pub fn not_found() -> Self {
        Self::new(ErrorCode::NotFound)
    }

    /// 405 `method_not_allowed`.
    pub fn method_not_allowed() -> Self {
        Self::new(ErrorCode::MethodNotAllowed)
    }

    /// 408 `request_timeout`: the body did not arrive in time.
    pub fn request_timeout() -> Self {
        Self::new(ErrorCode::RequestTimeout)
    }

    /// 413 `payload_too_large`: the body is over `limit` bytes.
    pub fn payload_too_large(limit: usize) -> Self {
        Self::new(ErrorCode::PayloadTooLarge).detail(Detail::BodyLimit(limit))
    }

    /// 415 `unsupported_media_type`.
    pub fn unsupported_media_type(media: Media) -> Self {
        Self::new(ErrorCode::UnsupportedMediaType).detail(Detail::Media(media))
    }

    /// 500 `internal_error`: a bug; the cause is logged, not sent.
    pub fn internal() -> Self {
        Self::new(ErrorCode::InternalError)
    }

    /// Said of one photo of several: the message starts with which one
    /// (`Photo 3 (`images[2]`): …`). `index` counts from 0, as JSON paths do.
    pub fn for_photo(mut self, field: &str, index: usize) -> Self {
        let detail = std::mem::take(&mut self.detail);
        self.detail = Detail::Photo {
            path: format!("{field}[{index}]"),
            number: index + 1,
            detail: Box::new(detail),
        };
        self
    }

    /// With a retry delay.
    pub fn retry_after(mut self, seconds: Option<u64>) -> Self {
        self.retry_after = seconds;
        self
    }

    /// In the request's own language (which wins over `Accept-Language`).
    pub fn in_language(mut self, language: Language) -> Self {
        self.language = Some(language);
        self
    }

    /// The HTTP status.
    pub fn status(&self) -> StatusCode {
        self.code.status()
    }

    /// The language of the message: the request's, else `Accept-Language`'s, else Russian.
    pub fn language_for(&self, accept_language: Option<&str>) -> Language {
        Language::resolve(self.language, accept_language)
    }

    /// The JSON body in `lang`.
    pub fn body(&self, lang: Language) -> ErrorBody {
        ErrorBody {
            error: self.code.message(lang, &self.detail, self.retry_after),
            code: self.code,
            retry_after_seconds: self.retry_after,
        }
    }

    /// The body as JSON text, in `lang` (what REST answers and SSE `error` events carry).
    pub fn json(&self, lang: Language) -> String {
        self.body(lang)
            .to_json()
            .map(|v| v.to_string())
            .unwrap_or_default()
    }

    /// The HTTP answer to a request with these headers.
    pub fn response_for(&self, headers: &HeaderMap) -> Response {
        let accept = headers.get(ACCEPT_LANGUAGE).and_then(|v| v.to_str().ok());
        self.response(accept)
    }

    /// The HTTP answer, given the request's `Accept-Language` header.
    pub fn response(&self, accept_language: Option<&str>) -> Response {
        let mut builder = Response::builder()
            .status(self.status())
            .content_type("application/json; charset=utf-8");
        if let Some(seconds) = self.retry_after {
            builder = builder.header("Retry-After", seconds.to_string());
        }
        builder.body(self.json(self.language_for(accept_language)))
    }
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.code.message(Language::En, &self.detail, self.retry_after))
    }
}

impl std::error::Error for ApiError {}

/// Lets a handler's `ApiError` travel as a `poem::Error` to the boundary, which
/// finds it again (`downcast_ref`) and answers in the request's language. Should
/// it ever escape the boundary, it still answers as JSON.
impl poem::error::ResponseError for ApiError {
    fn status(&self) -> StatusCode {
        self.code.status()
    }

    fn as_response(&self) -> Response {
        self.response(None)
    }
}

/// The documented error answers of every operation, one per status, listing the
/// codes of the table with that status.
impl ApiResponse for ApiError {
    fn meta() -> MetaResponses {
        static DESCRIPTIONS: OnceLock<Vec<(u16, bool, String)>> = OnceLock::new();
        let statuses = DESCRIPTIONS.get_or_init(|| {
            let mut statuses: Vec<(u16, bool, String)> = Vec::new();
            for code in ErrorCode::all() {
                let info = code.info();
                let line = format!("`{}`: {}.", code.as_str(), info.when);
                match statuses.iter_mut().find(|(s, _, _)| *s == info.status.as_u16()) {
                    Some((_, retry, text)) => {
                        *retry |= info.may_retry;
                        text.push(' ');
                        text.push_str(&line);
                    }
                    None => statuses.push((info.status.as_u16(), info.may_retry, line)),
                }
            }
            statuses.sort_by_key(|(s, _, _)| *s);
            statuses
        });
        MetaResponses {
            responses: statuses
                .iter()
                .map(|(status, retry, description)| MetaResponse {
                    description: description.as_str(),
                    status: Some(*status),
                    status_range: None,
                    content: vec![MetaMediaType {
                        content_type: "application/json; charset=utf-8",
                        schema: ErrorBody::schema_ref(),
                    }],
                    headers: if *retry {
                        vec![MetaHeader {
                            name: "Retry-After".to_owned(),
                            description: Some("Seconds to wait before retrying.".to_owned()),
                            required: false,
                            deprecated: false,
                            schema: u64::schema_ref(),
                        }]
                    } else {
                        vec![]
                    },
                })
                .collect(),
        }
    }

    fn register(registry: &mut Registry) {
        ErrorBody::register(registry);
    }
}

impl From<ImageError> for ApiError {
    fn from(error: ImageError) -> Self {
        match error {
            ImageError::TypeNotAllowed(kind) => ApiError::unsupported_media_type(Media::TypeNotAllowed(kind)),
            ImageError::Mismatch { claimed, actual } => ApiError::unsupported_media_type(Media::Mismatch {
                claimed: claimed.to_owned(),
                actual: actual.to_owned(),
            }),
            ImageError::Unstrippable { mime } => ApiError::unsupported_media_type(Media::Unstrippable {
                mime: mime.to_owned(),
            }),
            ImageError::BadBase64 { field } => ApiError::invalid(Invalid::NotBase64 {
                field: field.to_owned(),
            }),
            ImageError::Empty { field } => ApiError::invalid(Invalid::Empty {
                field: field.to_owned(),
            }),
            ImageError::TooLarge { limit } => {
                ApiError::new(ErrorCode::PayloadTooLarge).detail(Detail::ImageLimit(limit))
            }
        }
    }
}

impl From<AudioError> for ApiError {
    fn from(error: AudioError) -> Self {
        match error {
            AudioError::TypeNotAllowed(kind) => {
                ApiError::unsupported_media_type(Media::AudioTypeNotAllowed(kind))
            }
            AudioError::Mismatch { claimed, actual } => ApiError::unsupported_media_type(Media::Mismatch {
                claimed: claimed.to_owned(),
                actual: actual.to_owned(),
            }),
            AudioError::TooLong { seconds, limit } => {
                ApiError::new(ErrorCode::AudioTooLong).detail(Detail::AudioLength {
                    seconds: seconds.ceil() as u64,
                    limit,
                })
            }
        }
    }
}

/// The error of a request poem or poem-openapi refused before an operation ran
/// (bad JSON, content type, 404, 405, 413), or of any other `poem::Error` that
/// reached the boundary. Ours (`ApiError`) come back as they were.
pub fn from_poem(error: &poem::Error) -> ApiError {
    if let Some(api) = error.downcast_ref::<ApiError>() {
        return api.clone();
    }
    let status = error.status();
    match status.as_u16() {
        400 => ApiError::invalid(Invalid::Other(describe_bad_request(&error.to_string()))),
        401 => ApiError::session_required(),
        404 => ApiError::not_found(),
        405 => ApiError::method_not_allowed(),
        408 => ApiError::request_timeout(),
        413 => ApiError::new(ErrorCode::PayloadTooLarge),
        415 => ApiError::unsupported_media_type(Media::ContentType),
        code if (400..500).contains(&code) => ApiError::invalid(Invalid::Other(status.to_string())),
        _ => {
            tracing::error!(error = %error, "internal error");
            ApiError::internal()
        }
    }
}

/// poem-openapi's parse errors, without their prefix, bounded.
fn describe_bad_request(raw: &str) -> String {
    let text = raw
        .strip_prefix("parse request payload error: ")
        .or_else(|| raw.strip_prefix("parse multipart error: "))
        .unwrap_or(raw);
    text.chars().take(300).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_error_of_one_photo_says_which_photo_in_both_languages() {
        let error = ApiError::from(ImageError::TooLarge { limit: 2048 }).for_photo("images", 2);
        assert_eq!(error.code, ErrorCode::PayloadTooLarge);
        assert_eq!(
            error.body(Language::En).error,
            "Photo 3 (`images[2]`): The photo is too large: the limit is 2048 bytes."
        );
        assert_eq!(
            error.body(Language::Ru).error,
            "Фото 3 (`images[2]`): Фото слишком большое: предел — 2048 байт."
        );
        let base64 = ApiError::from(ImageError::BadBase64 { field: "base64Image" }).for_photo("images", 0);
        let message = base64.body(Language::En).error;
        assert!(
            message.starts_with("Photo 1 (`images[0]`): ") && message.contains("`base64Image`"),
            "{message}"
        );
    }

    #[test]
    fn an_api_error_survives_the_trip_through_poem_error() {
        let error: poem::Error = ApiError::rate_limited(9).in_language(Language::En).into();
        assert_eq!(error.status(), StatusCode::TOO_MANY_REQUESTS);
        let back = from_poem(&error);
        assert_eq!(back, ApiError::rate_limited(9).in_language(Language::En));
    }

    #[test]
    fn the_request_language_wins_over_accept_language_and_russian_is_the_default() {
        let plain = ApiError::session_required();
        assert_eq!(plain.language_for(None), Language::Ru);
        assert_eq!(plain.language_for(Some("en-US,en;q=0.9")), Language::En);
        let chosen = plain.clone().in_language(Language::Ru);
        assert_eq!(chosen.language_for(Some("en")), Language::Ru);
        let body: serde_json::Value = serde_json::from_str(&plain.json(Language::En)).unwrap();
        assert_eq!(
            body,
            serde_json::json!({"error": body["error"], "code": "session_required"})
        );
    }

    #[test]
    fn every_status_is_documented_once_with_its_codes() {
        let meta = ApiError::meta();
        let statuses: Vec<u16> = meta.responses.iter().filter_map(|r| r.status).collect();
        assert_eq!(
            statuses,
            [
                400, 401, 403, 404, 405, 408, 413, 415, 422, 429, 500, 502, 503, 504
            ]
        );
        let unauthorized = meta.responses.iter().find(|r| r.status == Some(401)).unwrap();
        assert!(unauthorized.description.contains("`session_required`"));
        assert!(unauthorized.description.contains("`access_code_invalid`"));
        let limited = meta.responses.iter().find(|r| r.status == Some(429)).unwrap();
        assert_eq!(limited.headers.len(), 1);
    }
}
