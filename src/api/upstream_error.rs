//! Where Gemini's errors meet the API's: `From<GeminiError> for ApiError`, the
//! one mapping of an upstream failure to a code of `error::ErrorCode`. Upstream
//! text never reaches a message; what a message may say (the model id, a block
//! or finish reason) is carried as a `Detail`.

use crate::{
    error::{ApiError, Detail, ErrorCode, Waiting},
    gemini::GeminiError,
};

impl From<GeminiError> for ApiError {
    fn from(error: GeminiError) -> Self {
        use ErrorCode as C;
        match error {
            GeminiError::NotConfigured => ApiError::new(C::GeminiNotConfigured),
            GeminiError::Region { .. } => ApiError::new(C::UpstreamRegion),
            GeminiError::Auth { .. } => ApiError::new(C::UpstreamAuth),
            GeminiError::Quota { retry_after } => ApiError::new(C::UpstreamQuota)
                .retry_after(retry_after.map(|d| d.as_secs_f64().ceil() as u64)),
            GeminiError::DailyQuota => {
                let now = std::time::SystemTime::now();
                let reset = crate::quota::clock::next_pacific_midnight(now);
                let seconds = reset.duration_since(now).map_or(1, |d| d.as_secs().max(1));
                ApiError::new(C::UpstreamQuota)
                    .detail(Detail::Waiting(Waiting::Day {
                        moscow: crate::quota::clock::moscow_clock(reset),
                    }))
                    .retry_after(Some(seconds))
            }
            GeminiError::Unavailable { .. } => ApiError::new(C::UpstreamUnavailable),
            GeminiError::ModelNotFound { model, .. } => {
                ApiError::new(C::UpstreamError).detail(Detail::Model(model))
            }
            GeminiError::Timeout => ApiError::new(C::UpstreamTimeout),
            GeminiError::Blocked { reason } => {
                ApiError::new(C::ContentBlocked).detail(Detail::Reason(reason))
            }
            GeminiError::NoText { finish_reason } => {
                ApiError::new(C::UpstreamError).detail(Detail::FinishReason(finish_reason))
            }
            GeminiError::Rejected { .. } | GeminiError::Malformed(_) | GeminiError::Unreachable(_) => {
                ApiError::new(C::UpstreamError)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::language::Language;

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
            assert_eq!(
                (api.status().as_u16(), api.code.as_str().as_str()),
                (status, code),
                "{error:?}"
            );
        }
    }

    #[test]
    fn upstream_text_never_reaches_the_message_of_a_5xx() {
        let api = ApiError::from(GeminiError::Rejected {
            status: 400,
            message: "secret-ish upstream text".into(),
        });
        for lang in [Language::Ru, Language::En] {
            assert!(!api.json(lang).contains("secret-ish"));
        }
        let api = ApiError::from(GeminiError::ModelNotFound {
            model: "gemini-x".into(),
            message: "upstream".into(),
        });
        for lang in [Language::Ru, Language::En] {
            let message = api.body(lang).error;
            assert!(
                message.contains("`gemini-x`") && !message.contains("upstream"),
                "{message}"
            );
        }
    }

    #[test]
    fn a_quota_delay_rounds_up_to_whole_seconds() {
        let api = ApiError::from(GeminiError::Quota {
            retry_after: Some(std::time::Duration::from_millis(1500)),
        });
        assert_eq!(api.retry_after, Some(2));
    }
}
