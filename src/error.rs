//! `ApiError`: the only place that knows HTTP statuses and error codes.
//!
//! Every error from every `/api` path leaves as the flat JSON of DESIGN.md,
//! `{"error", "code", "retryAfterSeconds"?}` — ours through `ErrorResponse`, poem's
//! own (bad JSON, content type, 404, 405, 413) through `json_error_response`.
//! 5xx bodies never carry upstream text; the cause goes to the log.

use poem::{IntoResponse, Response, http::StatusCode};
use poem_openapi::{ApiResponse, Object, payload::Json};

use crate::{domain::image::ImageError, gemini::GeminiError};

/// The JSON body of every error.
#[derive(Debug, Clone, Object)]
#[oai(rename_all = "camelCase")]
pub struct ErrorBody {
    /// A human-readable message (no secrets); for `invalid_request` it names the field.
    #[oai(rename = "error")]
    pub error: String,
    /// A stable machine-readable code.
    pub code: String,
    /// Seconds to wait before retrying, for 429 and some 503 answers.
    #[oai(skip_serializing_if_is_none)]
    pub retry_after_seconds: Option<u64>,
}

/// An API error: status, code, message and an optional retry delay.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    /// The HTTP status.
    pub status: StatusCode,
    /// The error code of DESIGN.md.
    pub code: &'static str,
    /// The message.
    pub message: String,
    /// `Retry-After` in seconds.
    pub retry_after: Option<u64>,
}

impl ApiError {
    fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        Self {
            status,
            code,
            message: message.into(),
            retry_after: None,
        }
    }

    /// 400 `invalid_request`; the message names the field.
    pub fn invalid(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "invalid_request", message)
    }

    /// 401 `session_required`.
    pub fn session_required() -> Self {
        Self::new(
            StatusCode::UNAUTHORIZED,
            "session_required",
            "A session is required: open the site first, or send a valid X-Proxy-Token.",
        )
    }

    /// 401 `access_code_invalid`.
    pub fn access_code_invalid() -> Self {
        Self::new(
            StatusCode::UNAUTHORIZED,
            "access_code_invalid",
            "The access code is missing or wrong.",
        )
    }

    /// 403 `cross_site_request`.
    pub fn cross_site() -> Self {
        Self::new(
            StatusCode::FORBIDDEN,
            "cross_site_request",
            "Requests from other sites are not allowed with the session cookie.",
        )
    }

    /// 429 `rate_limited`.
    pub fn rate_limited(retry_after: u64) -> Self {
        Self::new(
            StatusCode::TOO_MANY_REQUESTS,
            "rate_limited",
            format!("Too many requests. Please wait {retry_after} s and try again."),
        )
        .retry_after(Some(retry_after))
    }

    /// 429 `budget_exhausted`: the daily budget is spent until 00:00 UTC.
    pub fn budget_exhausted(retry_after: u64) -> Self {
        Self::new(
            StatusCode::TOO_MANY_REQUESTS,
            "budget_exhausted",
            "The service's daily request budget is used up. It resets at 00:00 UTC.",
        )
        .retry_after(Some(retry_after))
    }

    /// 503 `limits_unavailable`: the shared limit store does not answer while a
    /// daily budget is configured (the budget fails closed).
    pub fn limits_unavailable() -> Self {
        Self::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "limits_unavailable",
            "The service cannot check its usage limits right now. Please try again in a minute.",
        )
        .retry_after(Some(30))
    }

    /// 404 `not_found`.
    pub fn not_found() -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            "not_found",
            "There is no API endpoint at this path.",
        )
    }

    /// 405 `method_not_allowed`.
    pub fn method_not_allowed() -> Self {
        Self::new(
            StatusCode::METHOD_NOT_ALLOWED,
            "method_not_allowed",
            "This API endpoint does not support this HTTP method.",
        )
    }

    /// 408 `request_timeout`: the body did not arrive in time.
    pub fn request_timeout() -> Self {
        Self::new(
            StatusCode::REQUEST_TIMEOUT,
            "request_timeout",
            "The request body was not received in time.",
        )
    }

    /// 413 `payload_too_large`.
    pub fn payload_too_large(limit: usize) -> Self {
        Self::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "payload_too_large",
            format!("The request body is larger than the limit of {limit} bytes."),
        )
    }

    /// 415 `unsupported_media_type`.
    pub fn unsupported_media_type(message: impl Into<String>) -> Self {
        Self::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
            message,
        )
    }

    /// 500 `internal_error`: a bug; the cause is logged, not sent.
    pub fn internal() -> Self {
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal_error",
            "Internal server error.",
        )
    }

    /// With a retry delay.
    pub fn retry_after(mut self, seconds: Option<u64>) -> Self {
        self.retry_after = seconds;
        self
    }

    /// The JSON body.
    pub fn body(&self) -> ErrorBody {
        ErrorBody {
            error: self.message.clone(),
            code: self.code.to_owned(),
            retry_after_seconds: self.retry_after,
        }
    }
}

impl From<GeminiError> for ApiError {
    fn from(error: GeminiError) -> Self {
        use StatusCode as S;
        match error {
            GeminiError::NotConfigured => ApiError::new(
                S::SERVICE_UNAVAILABLE,
                "gemini_not_configured",
                "The server has no Gemini API key configured; the operator must set GEMINI_API_KEY.",
            ),
            GeminiError::Region { .. } => ApiError::new(
                S::BAD_GATEWAY,
                "upstream_region",
                "Google refused this server's location for the Gemini API; the operator must host it in a supported region.",
            ),
            GeminiError::Auth { .. } => ApiError::new(
                S::BAD_GATEWAY,
                "upstream_auth",
                "Gemini rejected the server's API key; the operator must check the key.",
            ),
            GeminiError::Quota { retry_after } => ApiError::new(
                S::SERVICE_UNAVAILABLE,
                "upstream_quota",
                "The Gemini quota is exhausted for now. Please try again later.",
            )
            .retry_after(retry_after.map(|d| d.as_secs_f64().ceil() as u64)),
            GeminiError::Unavailable { .. } => ApiError::new(
                S::SERVICE_UNAVAILABLE,
                "upstream_unavailable",
                "Gemini is overloaded or unavailable right now. Please try again in a minute.",
            ),
            GeminiError::ModelNotFound { model, .. } => ApiError::new(
                S::BAD_GATEWAY,
                "upstream_error",
                format!(
                    "Gemini does not offer the model `{model}`; the operator must configure another model."
                ),
            ),
            GeminiError::Timeout => ApiError::new(
                S::GATEWAY_TIMEOUT,
                "upstream_timeout",
                "Gemini did not answer in time. Please try again.",
            ),
            GeminiError::Blocked { reason } => ApiError::new(
                S::UNPROCESSABLE_ENTITY,
                "content_blocked",
                format!(
                    "Gemini declined to answer because of its content rules (reason: {reason}). Please rephrase."
                ),
            ),
            GeminiError::NoText { finish_reason } => ApiError::new(
                S::BAD_GATEWAY,
                "upstream_error",
                format!("Gemini returned no text (finish reason {finish_reason}). Please try again."),
            ),
            GeminiError::Rejected { .. } | GeminiError::Malformed(_) | GeminiError::Unreachable(_) => {
                ApiError::new(
                    S::BAD_GATEWAY,
                    "upstream_error",
                    "Gemini returned an unexpected error. Please try again.",
                )
            }
        }
    }
}

impl From<ImageError> for ApiError {
    fn from(error: ImageError) -> Self {
        match &error {
            ImageError::TypeNotAllowed(_) | ImageError::Mismatch { .. } | ImageError::Unstrippable { .. } => {
                ApiError::unsupported_media_type(error.to_string())
            }
            ImageError::BadBase64 { .. } | ImageError::Empty { .. } => ApiError::invalid(error.to_string()),
            ImageError::TooLarge { limit } => ApiError::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                "payload_too_large",
                format!("The image is larger than the limit of {limit} bytes."),
            ),
        }
    }
}

/// The documented error responses of the API operations.
#[derive(Debug, ApiResponse)]
pub enum ErrorResponse {
    /// `invalid_request`: malformed JSON, a missing or empty field, bad base64, an
    /// unknown role or language.
    #[oai(status = 400)]
    BadRequest(Json<ErrorBody>),
    /// `session_required` or `access_code_invalid`.
    #[oai(status = 401)]
    Unauthorized(Json<ErrorBody>),
    /// `cross_site_request`.
    #[oai(status = 403)]
    Forbidden(Json<ErrorBody>),
    /// `payload_too_large`: the body or the image is over the limit.
    #[oai(status = 413)]
    PayloadTooLarge(Json<ErrorBody>),
    /// `unsupported_media_type`: the image type is not allowed, or the bytes are
    /// not the claimed type, or the body's `Content-Type` is not supported.
    #[oai(status = 415)]
    UnsupportedMediaType(Json<ErrorBody>),
    /// `content_blocked`: Gemini blocked the prompt or stopped for safety.
    #[oai(status = 422)]
    ContentBlocked(Json<ErrorBody>),
    /// `rate_limited` or `budget_exhausted`.
    #[oai(status = 429)]
    TooManyRequests(Json<ErrorBody>, #[oai(header = "Retry-After")] Option<u64>),
    /// `internal_error`: a bug in this server.
    #[oai(status = 500)]
    Internal(Json<ErrorBody>),
    /// `upstream_error`, `upstream_auth` or `upstream_region`.
    #[oai(status = 502)]
    BadGateway(Json<ErrorBody>),
    /// `gemini_not_configured`, `upstream_unavailable` or `upstream_quota`.
    #[oai(status = 503)]
    Unavailable(Json<ErrorBody>, #[oai(header = "Retry-After")] Option<u64>),
    /// `upstream_timeout`.
    #[oai(status = 504)]
    GatewayTimeout(Json<ErrorBody>),
}

impl From<ApiError> for ErrorResponse {
    fn from(error: ApiError) -> Self {
        let body = Json(error.body());
        match error.status.as_u16() {
            400 => ErrorResponse::BadRequest(body),
            401 => ErrorResponse::Unauthorized(body),
            403 => ErrorResponse::Forbidden(body),
            413 => ErrorResponse::PayloadTooLarge(body),
            415 => ErrorResponse::UnsupportedMediaType(body),
            422 => ErrorResponse::ContentBlocked(body),
            429 => ErrorResponse::TooManyRequests(body, error.retry_after),
            502 => ErrorResponse::BadGateway(body),
            503 => ErrorResponse::Unavailable(body, error.retry_after),
            504 => ErrorResponse::GatewayTimeout(body),
            _ => ErrorResponse::Internal(Json(ApiError::internal().body())),
        }
    }
}

impl From<GeminiError> for ErrorResponse {
    fn from(error: GeminiError) -> Self {
        ApiError::from(error).into()
    }
}

impl From<ImageError> for ErrorResponse {
    fn from(error: ImageError) -> Self {
        ApiError::from(error).into()
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut builder = Response::builder()
            .status(self.status)
            .content_type("application/json; charset=utf-8");
        if let Some(seconds) = self.retry_after {
            builder = builder.header("Retry-After", seconds.to_string());
        }
        let body = Envelope {
            error: &self.message,
            code: self.code,
            retry_after_seconds: self.retry_after,
        };
        let body = serde_json::to_string(&body).unwrap_or_default();
        builder.body(body)
    }
}

/// The serde twin of `ErrorBody`, for responses built outside poem-openapi.
#[derive(serde::Serialize)]
#[serde(rename_all = "camelCase")]
struct Envelope<'a> {
    error: &'a str,
    code: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    retry_after_seconds: Option<u64>,
}

/// Turns any error that reached the `/api` boundary into the JSON envelope.
/// Errors that already are one of our responses pass through unchanged.
pub fn json_error_response(error: poem::Error) -> Response {
    if error.is_from_response() {
        return error.into_response();
    }
    let status = error.status();
    let api = match status.as_u16() {
        400 => ApiError::invalid(describe_bad_request(&error.to_string())),
        401 => ApiError::session_required(),
        404 => ApiError::not_found(),
        405 => ApiError::method_not_allowed(),
        413 => ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "payload_too_large",
            "The request body is too large.",
        ),
        415 => ApiError::unsupported_media_type(
            "The request's Content-Type is not supported: send application/json (or multipart/form-data for an image).",
        ),
        code if (400..500).contains(&code) => {
            ApiError::new(status, "invalid_request", "The request is not valid.")
        }
        _ => {
            tracing::error!(error = %error, "internal error");
            ApiError::internal()
        }
    };
    api.into_response()
}

/// A readable message for poem-openapi's parse errors, which name the field.
fn describe_bad_request(raw: &str) -> String {
    let text = raw
        .strip_prefix("parse request payload error: ")
        .or_else(|| raw.strip_prefix("parse multipart error: "))
        .unwrap_or(raw);
    let mut message = String::from("Invalid request: ");
    message.extend(text.chars().take(300));
    message
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn upstream_errors_map_to_the_design_codes() {
        let cases = [
            (GeminiError::NotConfigured, 503, "gemini_not_configured"),
            (
                GeminiError::Region { message: "x".into() },
                502,
                "upstream_region",
            ),
            (
                GeminiError::Auth {
                    reason: "API_KEY_INVALID".into(),
                },
                502,
                "upstream_auth",
            ),
            (GeminiError::Quota { retry_after: None }, 503, "upstream_quota"),
            (
                GeminiError::Unavailable { status: 503 },
                503,
                "upstream_unavailable",
            ),
            (
                GeminiError::ModelNotFound {
                    model: "m".into(),
                    message: "x".into(),
                },
                502,
                "upstream_error",
            ),
            (
                GeminiError::Rejected {
                    status: 400,
                    message: "x".into(),
                },
                502,
                "upstream_error",
            ),
            (GeminiError::Timeout, 504, "upstream_timeout"),
            (GeminiError::Unreachable("refused".into()), 502, "upstream_error"),
            (
                GeminiError::Blocked {
                    reason: "SAFETY".into(),
                },
                422,
                "content_blocked",
            ),
            (
                GeminiError::NoText {
                    finish_reason: "MAX_TOKENS".into(),
                },
                502,
                "upstream_error",
            ),
            (GeminiError::Malformed("x".into()), 502, "upstream_error"),
        ];
        for (error, status, code) in cases {
            let api = ApiError::from(error.clone());
            assert_eq!((api.status.as_u16(), api.code), (status, code), "{error:?}");
        }
    }

    #[test]
    fn upstream_text_never_reaches_the_message_of_a_5xx() {
        let api = ApiError::from(GeminiError::Rejected {
            status: 400,
            message: "secret-ish upstream text".into(),
        });
        assert!(!api.message.contains("secret-ish"));
        let api = ApiError::from(GeminiError::ModelNotFound {
            model: "gemini-x".into(),
            message: "upstream".into(),
        });
        assert!(api.message.contains("gemini-x") && !api.message.contains("upstream"));
    }

    #[test]
    fn a_quota_delay_rounds_up_to_whole_seconds() {
        let api = ApiError::from(GeminiError::Quota {
            retry_after: Some(std::time::Duration::from_millis(1500)),
        });
        assert_eq!(api.retry_after, Some(2));
    }
}
