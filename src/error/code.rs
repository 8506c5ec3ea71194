//! `ErrorCode`: the table of the API's error codes (docs/api.md → Errors) — each code's HTTP status,
//! whether it carries a retry delay, what it documents, and its message in Russian
//! and English. One `match` per question, with no catch-all, so a new code without
//! a status or a translation does not compile. Knows nothing of HTTP requests.

use poem::http::StatusCode;

use super::detail::{Detail, Media};
use crate::domain::language::Language;

/// A stable machine-readable error code; it never changes with the language.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, poem_openapi::Enum)]
#[oai(rename_all = "snake_case")]
pub enum ErrorCode {
    /// 400: malformed JSON, a missing, empty or mistyped field, bad base64, an unknown role or language.
    InvalidRequest,
    /// 401: no valid session cookie (and no valid `X-Proxy-Token`).
    SessionRequired,
    /// 401: the access code is missing or wrong.
    AccessCodeInvalid,
    /// 403: a request with the session cookie from another site.
    CrossSiteRequest,
    /// 404: no `/api` endpoint at this path.
    NotFound,
    /// 405: a known `/api` path with the wrong method.
    MethodNotAllowed,
    /// 408: the body did not arrive in time.
    RequestTimeout,
    /// 413: the body or a photo is over the limit.
    PayloadTooLarge,
    /// 413: a spoken question's recording is longer than the limit.
    AudioTooLong,
    /// 415: the body's type, or the photo's type or bytes, are not supported.
    UnsupportedMediaType,
    /// 422: Gemini blocked the prompt or stopped for safety.
    ContentBlocked,
    /// 429: too many requests from this person or address.
    RateLimited,
    /// 429: the service's daily budget is spent.
    BudgetExhausted,
    /// 502: Gemini answered an unexpected error.
    UpstreamError,
    /// 502: Gemini rejected the server's key.
    UpstreamAuth,
    /// 502: Google refused the server's location.
    UpstreamRegion,
    /// 500: a bug in this server.
    InternalError,
    /// 503: the server has no Gemini key.
    GeminiNotConfigured,
    /// 503: Gemini is overloaded or unavailable after retries.
    UpstreamUnavailable,
    /// 503: Gemini's quota is exhausted after retries and keys.
    UpstreamQuota,
    /// 503: the shared limit store is unreachable while a daily budget is set.
    LimitsUnavailable,
    /// 504: Gemini did not answer in time.
    UpstreamTimeout,
}

/// What the table says about one code.
#[derive(Debug, Clone, Copy)]
pub struct CodeInfo {
    /// The HTTP status.
    pub status: StatusCode,
    /// Whether the answer may carry `Retry-After` and `retryAfterSeconds`.
    pub may_retry: bool,
    /// When it is sent (English, for the API documentation).
    pub when: &'static str,
}

const fn info(status: StatusCode, may_retry: bool, when: &'static str) -> CodeInfo {
    CodeInfo {
        status,
        may_retry,
        when,
    }
}

impl ErrorCode {
    /// The table row of this code.
    pub const fn info(self) -> CodeInfo {
        use ErrorCode as C;
        use StatusCode as S;
        match self {
            C::InvalidRequest => info(
                S::BAD_REQUEST,
                false,
                "malformed JSON, a missing, empty or mistyped field, bad base64, an unknown role or language; the message names the field",
            ),
            C::SessionRequired => info(
                S::UNAUTHORIZED,
                false,
                "no valid session cookie and no valid `X-Proxy-Token`",
            ),
            C::AccessCodeInvalid => info(S::UNAUTHORIZED, false, "the access code is missing or wrong"),
            C::CrossSiteRequest => info(
                S::FORBIDDEN,
                false,
                "the session cookie came with a request from another site",
            ),
            C::NotFound => info(S::NOT_FOUND, false, "no `/api` endpoint at this path"),
            C::MethodNotAllowed => info(
                S::METHOD_NOT_ALLOWED,
                false,
                "a known `/api` path with the wrong method",
            ),
            C::RequestTimeout => info(
                S::REQUEST_TIMEOUT,
                false,
                "the request body did not arrive in time",
            ),
            C::PayloadTooLarge => info(
                S::PAYLOAD_TOO_LARGE,
                false,
                "the body, a photo or a recording is over its byte limit",
            ),
            C::AudioTooLong => info(
                S::PAYLOAD_TOO_LARGE,
                false,
                "a spoken question's recording is longer than `WELD_VOICE_MAX_SECONDS`",
            ),
            C::UnsupportedMediaType => info(
                S::UNSUPPORTED_MEDIA_TYPE,
                false,
                "the body's `Content-Type` is not supported, or the photo's or recording's type is not allowed, or its bytes are not the claimed type",
            ),
            C::ContentBlocked => info(
                S::UNPROCESSABLE_ENTITY,
                false,
                "Gemini blocked the prompt or stopped for safety; the message gives the reason",
            ),
            C::RateLimited => info(
                S::TOO_MANY_REQUESTS,
                true,
                "too many requests from this person or address",
            ),
            C::BudgetExhausted => info(
                S::TOO_MANY_REQUESTS,
                true,
                "the service's daily request budget is spent (until 00:00 UTC)",
            ),
            C::UpstreamError => info(
                S::BAD_GATEWAY,
                false,
                "Gemini answered an unexpected error, no text, or does not offer the model",
            ),
            C::UpstreamAuth => info(S::BAD_GATEWAY, false, "Gemini rejected the server's API key"),
            C::UpstreamRegion => info(S::BAD_GATEWAY, false, "Google refused the server's location"),
            C::InternalError => info(
                S::INTERNAL_SERVER_ERROR,
                false,
                "a bug in this server (never a dropped connection)",
            ),
            C::GeminiNotConfigured => info(S::SERVICE_UNAVAILABLE, false, "the server has no Gemini API key"),
            C::UpstreamUnavailable => info(
                S::SERVICE_UNAVAILABLE,
                false,
                "Gemini is overloaded or unavailable after retries",
            ),
            C::UpstreamQuota => info(
                S::SERVICE_UNAVAILABLE,
                true,
                "Gemini's quota is exhausted after retries and keys",
            ),
            C::LimitsUnavailable => info(
                S::SERVICE_UNAVAILABLE,
                false,
                "the shared limit store is unreachable while a daily budget is configured",
            ),
            C::UpstreamTimeout => info(S::GATEWAY_TIMEOUT, false, "Gemini did not answer in time"),
        }
    }

    /// The HTTP status of this code.
    pub const fn status(self) -> StatusCode {
        self.info().status
    }

    /// The message for the person using the app, in `lang`, with the detail
    /// (field, limit, reason, model) and the retry delay where the code has them.
    pub fn message(self, lang: Language, detail: &Detail, retry_after: Option<u64>) -> String {
        use ErrorCode as C;
        use Language::{En, Ru};
        let text = |ru: &str, en: &str| match lang {
            Ru => ru.to_owned(),
            En => en.to_owned(),
        };
        if let Detail::Photo { path, number, detail } = detail {
            let problem = self.message(lang, detail, retry_after);
            return match lang {
                Ru => format!("Фото {number} (`{path}`): {problem}"),
                En => format!("Photo {number} (`{path}`): {problem}"),
            };
        }
        match self {
            C::InvalidRequest => match detail {
                Detail::Invalid(problem) => problem.describe(lang),
                _ => text("Запрос составлен неверно.", "The request is not valid."),
            },
            C::SessionRequired => text(
                "Сессия не найдена или истекла. Обновите страницу, чтобы начать новую.",
                "Your session was not found or has expired. Reload the page to start a new one.",
            ),
            C::AccessCodeInvalid => text(
                "Код доступа не указан или неверен.",
                "The access code is missing or wrong.",
            ),
            C::CrossSiteRequest => text(
                "Запросы с других сайтов не принимаются. Откройте помощник по его собственному адресу.",
                "Requests from other sites are not accepted. Open the assistant at its own address.",
            ),
            C::NotFound => text(
                "По этому адресу API ничего нет.",
                "There is no API endpoint at this address.",
            ),
            C::MethodNotAllowed => text(
                "Этот адрес API не принимает такой метод запроса.",
                "This API endpoint does not accept this request method.",
            ),
            C::RequestTimeout => text(
                "Запрос не успел загрузиться. Проверьте связь и попробуйте ещё раз.",
                "The request did not finish uploading in time. Check your connection and try again.",
            ),
            C::PayloadTooLarge => match (detail, lang) {
                (Detail::ImageLimit(limit), Ru) => format!("Фото слишком большое: предел — {limit} байт."),
                (Detail::ImageLimit(limit), En) => {
                    format!("The photo is too large: the limit is {limit} bytes.")
                }
                (Detail::AudioLimit(limit), Ru) => format!("Запись слишком большая: предел — {limit} байт."),
                (Detail::AudioLimit(limit), En) => {
                    format!("The recording is too large: the limit is {limit} bytes.")
                }
                (Detail::BodyLimit(limit), Ru) => format!("Запрос слишком большой: предел — {limit} байт."),
                (Detail::BodyLimit(limit), En) => {
                    format!("The request is too large: the limit is {limit} bytes.")
                }
                _ => text("Запрос слишком большой.", "The request is too large."),
            },
            C::AudioTooLong => match (detail, lang) {
                (Detail::AudioLength { seconds, limit }, Ru) => {
                    format!("Запись слишком длинная ({seconds} с): задайте вопрос не дольше {limit} с.")
                }
                (Detail::AudioLength { seconds, limit }, En) => {
                    format!("The recording is too long ({seconds} s): ask in at most {limit} s.")
                }
                _ => text(
                    "Запись слишком длинная: задайте вопрос короче.",
                    "The recording is too long: ask a shorter question.",
                ),
            },
            C::UnsupportedMediaType => match detail {
                Detail::Media(media) => media.describe(lang),
                _ => Media::ContentType.describe(lang),
            },
            C::ContentBlocked => match (detail, lang) {
                (Detail::Reason(reason), Ru) => format!(
                    "Gemini отказался отвечать по своим правилам о содержании (причина: {reason}). Переформулируйте запрос."
                ),
                (Detail::Reason(reason), En) => format!(
                    "Gemini declined to answer under its content rules (reason: {reason}). Please rephrase."
                ),
                _ => text(
                    "Gemini отказался отвечать по своим правилам о содержании. Переформулируйте запрос.",
                    "Gemini declined to answer under its content rules. Please rephrase.",
                ),
            },
            C::RateLimited => match (retry_after, lang) {
                (Some(s), Ru) => format!("Слишком много запросов. Подождите {s} с и попробуйте снова."),
                (Some(s), En) => format!("Too many requests. Wait {s} s and try again."),
                (None, _) => text(
                    "Слишком много запросов. Подождите немного и попробуйте снова.",
                    "Too many requests. Wait a little and try again.",
                ),
            },
            C::BudgetExhausted => text(
                "Дневной лимит запросов сервиса исчерпан. Он обновится в 00:00 UTC.",
                "The service's daily request limit is used up. It resets at 00:00 UTC.",
            ),
            C::UpstreamError => match (detail, lang) {
                (Detail::Model(model), Ru) => format!(
                    "Gemini не предоставляет модель `{model}`. Администратор сайта должен выбрать на сервере другую модель."
                ),
                (Detail::Model(model), En) => format!(
                    "Gemini does not offer the model `{model}`; the site's administrator has to choose another model on the server."
                ),
                (Detail::FinishReason(reason), Ru) => format!(
                    "Gemini не вернул текст ответа (причина остановки: {reason}). Попробуйте ещё раз."
                ),
                (Detail::FinishReason(reason), En) => {
                    format!("Gemini returned no text (finish reason: {reason}). Please try again.")
                }
                _ => text(
                    "Gemini ответил неожиданной ошибкой. Попробуйте ещё раз.",
                    "Gemini answered with an unexpected error. Please try again.",
                ),
            },
            C::UpstreamAuth => text(
                "Сервис не может обратиться к Gemini: ключ API сервера не принят. Администратор сайта должен исправить настройки сервера.",
                "The service cannot reach Gemini: the server's API key was refused. The site's administrator has to fix the server.",
            ),
            C::UpstreamRegion => text(
                "Google не обслуживает Gemini API там, где находится сервер. Администратор сайта должен перенести сервер в поддерживаемый регион.",
                "Google does not serve the Gemini API where the server is. The site's administrator has to move the server to a supported region.",
            ),
            C::InternalError => text(
                "Внутренняя ошибка сервера. Попробуйте ещё раз.",
                "Internal server error. Please try again.",
            ),
            C::GeminiNotConfigured => text(
                "Сервис сейчас не может обратиться к Gemini: на сервере не задан ключ API. Администратор сайта должен настроить сервер.",
                "The service cannot reach Gemini right now: the server has no API key. The site's administrator has to set up the server.",
            ),
            C::UpstreamUnavailable => match detail {
                Detail::Waiting(waiting) => waiting.describe(lang, retry_after),
                _ => text(
                    "Gemini сейчас перегружен или недоступен. Попробуйте через минуту.",
                    "Gemini is overloaded or unavailable right now. Try again in a minute.",
                ),
            },
            C::UpstreamQuota => match (detail, retry_after, lang) {
                (Detail::Waiting(waiting), _, _) => waiting.describe(lang, retry_after),
                (_, Some(s), Ru) => format!("Квота Gemini сейчас исчерпана. Попробуйте через {s} с."),
                (_, Some(s), En) => format!("The Gemini quota is used up for now. Try again in {s} s."),
                (_, None, _) => text(
                    "Квота Gemini сейчас исчерпана. Попробуйте позже.",
                    "The Gemini quota is used up for now. Please try again later.",
                ),
            },
            C::LimitsUnavailable => text(
                "Сервис сейчас не может проверить лимиты запросов. Попробуйте позже.",
                "The service cannot check its request limits right now. Please try again later.",
            ),
            C::UpstreamTimeout => text(
                "Gemini не ответил вовремя. Попробуйте ещё раз.",
                "Gemini did not answer in time. Please try again.",
            ),
        }
    }

    /// Every code, in the order of the enum (as listed in the OpenAPI document).
    pub fn all() -> Vec<ErrorCode> {
        use poem_openapi::types::{ParseFromJSON, Type};
        let mut registry = poem_openapi::registry::Registry::new();
        ErrorCode::register(&mut registry);
        registry
            .schemas
            .get(&*ErrorCode::name())
            .map(|schema| {
                schema
                    .enum_items
                    .iter()
                    .filter_map(|item| ErrorCode::parse_from_json(Some(item.clone())).ok())
                    .collect()
            })
            .unwrap_or_default()
    }

    /// The code as written on the wire (`invalid_request`).
    pub fn as_str(self) -> String {
        use poem_openapi::types::ToJSON;
        self.to_json()
            .and_then(|v| v.as_str().map(str::to_owned))
            .unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_code_of_design_md_is_in_the_table_with_its_status() {
        let expected = [
            ("invalid_request", 400),
            ("session_required", 401),
            ("access_code_invalid", 401),
            ("cross_site_request", 403),
            ("not_found", 404),
            ("method_not_allowed", 405),
            ("request_timeout", 408),
            ("payload_too_large", 413),
            ("audio_too_long", 413),
            ("unsupported_media_type", 415),
            ("content_blocked", 422),
            ("rate_limited", 429),
            ("budget_exhausted", 429),
            ("upstream_error", 502),
            ("upstream_auth", 502),
            ("upstream_region", 502),
            ("internal_error", 500),
            ("gemini_not_configured", 503),
            ("upstream_unavailable", 503),
            ("upstream_quota", 503),
            ("limits_unavailable", 503),
            ("upstream_timeout", 504),
        ];
        let all = ErrorCode::all();
        assert_eq!(all.len(), expected.len());
        for (code, (name, status)) in all.iter().zip(expected) {
            assert_eq!((code.as_str().as_str(), code.status().as_u16()), (name, status));
        }
    }

    #[test]
    fn every_code_has_a_distinct_message_in_each_language() {
        for code in ErrorCode::all() {
            let ru = code.message(Language::Ru, &Detail::None, Some(7));
            let en = code.message(Language::En, &Detail::None, Some(7));
            assert!(!ru.is_empty() && !en.is_empty(), "{code:?}");
            assert_ne!(ru, en, "{code:?}");
            assert!(
                ru.chars()
                    .any(|c| ('а'..='я').contains(&c.to_lowercase().next().unwrap_or(c))),
                "{code:?} Russian: {ru}"
            );
            assert!(en.is_ascii(), "{code:?} English: {en}");
        }
    }

    #[test]
    fn the_retry_delay_is_in_the_rate_limit_message() {
        let ru = ErrorCode::RateLimited.message(Language::Ru, &Detail::None, Some(42));
        let en = ErrorCode::RateLimited.message(Language::En, &Detail::None, Some(42));
        assert!(ru.contains("42 с") && en.contains("42 s"), "{ru} / {en}");
    }
}
