//! Security headers on every response: a strict CSP for the app (no inline
//! scripts), a looser one that lets Swagger UI's inlined assets run on `/docs`,
//! `X-Content-Type-Options`, `Referrer-Policy` and framing refused.

use poem::{Endpoint, IntoResponse, Middleware, Request, Response, Result, http::HeaderValue};

/// The app's Content-Security-Policy.
pub const APP_CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; \
connect-src 'self'; font-src 'self'; manifest-src 'self'; form-action 'self'; frame-ancestors 'none'; \
base-uri 'none'; object-src 'none'";

/// Swagger UI's: its script and styles are inlined into the page.
pub const DOCS_CSP: &str = "default-src 'self'; script-src 'self' 'unsafe-inline'; style-src 'self' 'unsafe-inline'; \
img-src 'self' data:; connect-src 'self'; font-src 'self' data:; form-action 'self'; frame-ancestors 'none'; \
base-uri 'none'; object-src 'none'";

/// Adds the security headers.
#[derive(Debug, Clone, Copy, Default)]
pub struct SecurityHeaders;

impl<E: Endpoint> Middleware<E> for SecurityHeaders {
    type Output = SecurityHeadersEndpoint<E>;

    fn transform(&self, inner: E) -> Self::Output {
        SecurityHeadersEndpoint { inner }
    }
}

/// The endpoint wrapped by `SecurityHeaders`.
pub struct SecurityHeadersEndpoint<E> {
    inner: E,
}

impl<E: Endpoint> Endpoint for SecurityHeadersEndpoint<E> {
    type Output = Response;

    async fn call(&self, req: Request) -> Result<Self::Output> {
        let docs = req.uri().path() == "/docs" || req.uri().path().starts_with("/docs/");
        let mut response = match self.inner.call(req).await {
            Ok(r) => r.into_response(),
            Err(e) => e.into_response(),
        };
        let headers = response.headers_mut();
        let csp = if docs { DOCS_CSP } else { APP_CSP };
        headers.insert("content-security-policy", HeaderValue::from_static(csp));
        headers.insert("x-content-type-options", HeaderValue::from_static("nosniff"));
        headers.insert("referrer-policy", HeaderValue::from_static("no-referrer"));
        headers.insert("x-frame-options", HeaderValue::from_static("DENY"));
        headers.insert(
            "cross-origin-opener-policy",
            HeaderValue::from_static("same-origin"),
        );
        Ok(response)
    }
}
