//! CORS for the origins listed in `WELD_ALLOWED_ORIGINS` only (a frontend hosted
//! elsewhere that authenticates with `X-Proxy-Token`). Never `*`, never
//! credentials; requests from unlisted origins get no CORS headers at all, so
//! browsers keep them from reading anything. Same-origin requests are untouched.
//! (poem's `Cors` allows every origin when its list is empty and refuses requests
//! whose `Origin` is unlisted — our own pages' included — so it is not used.)

use poem::{
    Endpoint, IntoResponse, Request, Response, Result,
    http::{HeaderValue, Method, StatusCode, header},
};

use crate::http::around::Around;

/// The CORS middleware.
#[derive(Debug, Clone)]
pub struct CorsPolicy {
    allowed: Vec<String>,
}

impl CorsPolicy {
    /// A policy for these exact origins (`https://host[:port]`).
    pub fn new(allowed: &[String]) -> Self {
        Self {
            allowed: allowed
                .iter()
                .map(|o| o.trim_end_matches('/').to_ascii_lowercase())
                .collect(),
        }
    }

    fn allows(&self, origin: &str) -> bool {
        self.allowed.iter().any(|o| o.eq_ignore_ascii_case(origin))
    }
}

impl Around for CorsPolicy {
    async fn around<E: Endpoint>(&self, next: &E, req: Box<Request>) -> Result<Response> {
        let origin = req
            .headers()
            .get(header::ORIGIN)
            .and_then(|v| v.to_str().ok())
            .filter(|o| self.allows(o))
            .map(str::to_owned);
        let Some(origin) = origin else {
            return next.call(*req).await.map(IntoResponse::into_response);
        };
        let preflight = req.method() == Method::OPTIONS
            && req.headers().contains_key(header::ACCESS_CONTROL_REQUEST_METHOD);
        let mut response = if preflight {
            Response::builder()
                .status(StatusCode::NO_CONTENT)
                .header(header::ACCESS_CONTROL_ALLOW_METHODS, "GET, POST, DELETE")
                .header(
                    header::ACCESS_CONTROL_ALLOW_HEADERS,
                    "content-type, x-proxy-token, accept-language",
                )
                .header(header::ACCESS_CONTROL_MAX_AGE, "600")
                .finish()
        } else {
            match next.call(*req).await {
                Ok(r) => r.into_response(),
                Err(e) => e.into_response(),
            }
        };
        let headers = response.headers_mut();
        if let Ok(value) = HeaderValue::from_str(&origin) {
            headers.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, value);
        }
        headers.append(header::VARY, HeaderValue::from_static("Origin"));
        headers.insert(
            header::ACCESS_CONTROL_EXPOSE_HEADERS,
            HeaderValue::from_static(
                "retry-after, x-ratelimit-limit, x-ratelimit-remaining, x-ratelimit-after, x-request-id",
            ),
        );
        Ok(response)
    }
}
