//! The plain-HTTP listener of a site with a domain: `/api/health` is answered
//! (monitors and the container's health check keep working without TLS), and
//! every other request is sent to the HTTPS site for good with `308 Permanent
//! Redirect` to `https://<first domain>` plus the same path and query. 308 rather
//! than 301 because it keeps the method and body: an API client posting to
//! `http://` is re-sent as a POST, never silently turned into a GET.
//!
//! It knows nothing of certificates; the route tree builds it around the app.

use poem::{
    Endpoint, IntoResponse, Request, Response, Result,
    http::{HeaderValue, StatusCode, header},
};

use crate::paths;

/// The redirecting endpoint in front of the app.
pub struct ToHttps<E> {
    /// `https://host`, without a trailing slash.
    origin: String,
    app: E,
}

impl<E> ToHttps<E> {
    /// Redirects to `https://{host}`, passing `/api/health` to `app`.
    pub fn new(host: &str, app: E) -> Self {
        Self {
            origin: format!("https://{}", host.to_ascii_lowercase()),
            app,
        }
    }
}

impl<E: Endpoint> Endpoint for ToHttps<E> {
    type Output = Response;

    async fn call(&self, req: Request) -> Result<Self::Output> {
        if req.uri().path() == paths::HEALTH {
            return self.app.call(req).await.map(IntoResponse::into_response);
        }
        let rest = req.uri().path_and_query().map_or("/", |p| p.as_str());
        let target = HeaderValue::from_str(&format!("{}{rest}", self.origin))
            .or_else(|_| HeaderValue::from_str(&format!("{}/", self.origin)))
            .unwrap_or_else(|_| HeaderValue::from_static("/"));
        Ok(Response::builder()
            .status(StatusCode::PERMANENT_REDIRECT)
            .header(header::LOCATION, target)
            .header(header::CACHE_CONTROL, "no-cache")
            .finish())
    }
}

#[cfg(test)]
mod tests {
    use poem::{endpoint::make_sync, test::TestClient};

    use super::*;

    #[tokio::test]
    async fn everything_but_health_is_redirected_with_path_and_query() {
        let ep = ToHttps::new("weld.example.org", make_sync(|_| "app"));
        let client = TestClient::new(ep);
        let r = client.get("/analyze?x=1&y=%20z").send().await;
        r.assert_status(StatusCode::PERMANENT_REDIRECT);
        r.assert_header("location", "https://weld.example.org/analyze?x=1&y=%20z");
        let r = client.post("/api/chat").send().await;
        r.assert_status(StatusCode::PERMANENT_REDIRECT);
        r.assert_header("location", "https://weld.example.org/api/chat");
        let r = client.get("/api/health").send().await;
        r.assert_status_is_ok();
        r.assert_text("app").await;
    }
}
