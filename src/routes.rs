//! The route tree: the one place where the middleware order is visible.
//!
//! ```text
//! RequestLog ─┬─ /api/*          ApiBoundary (body limits, JSON errors) ← OpenAPI operations
//!             ├─ /openapi.json   the spec
//!             ├─ /docs           Swagger UI (assets inlined, no CDN)
//!             ├─ /metrics        JSON 404 unless enabled
//!             └─ everything else the embedded web app (SpaEndpoint)
//! all wrapped in SecurityHeaders
//! ```

use poem::{Endpoint, EndpointExt, IntoEndpoint, Response, Route, get, handler};

use crate::{
    api::{self, AnalyzeApi, ChatApi, MetaApi},
    assets::SpaEndpoint,
    boundary::ApiBoundary,
    config::Config,
    error::ApiError,
    gemini::GeminiClient,
    security::SecurityHeaders,
    telemetry::RequestLog,
};

/// Builds the whole application endpoint.
pub fn build(config: &Config, gemini: GeminiClient) -> impl Endpoint + 'static {
    let spec = api::spec_json(apis(config, gemini.clone()));
    let service = api::service(apis(config, gemini));
    let swagger = service.swagger_ui();
    let boundary = ApiBoundary {
        analyze_limit: config.max_analyze_body_bytes(),
        other_limit: config.max_chat_bytes,
        spec: std::sync::Arc::new(serde_json::from_str(&spec).unwrap_or_default()),
    };

    Route::new()
        .nest_no_strip("/api", service.with(boundary))
        .at("/openapi.json", get(spec_endpoint(spec)))
        .nest("/docs", swagger)
        .at("/metrics", metrics)
        .nest_no_strip("/", SpaEndpoint)
        .with(SecurityHeaders)
        .with(RequestLog)
}

/// The API operations over one Gemini client.
pub fn apis(config: &Config, gemini: GeminiClient) -> api::Api {
    (
        MetaApi::new(gemini.clone()),
        ChatApi::new(gemini.clone()),
        AnalyzeApi::new(gemini, config.max_image_bytes),
    )
}

/// The OpenAPI document for a configuration (what `/openapi.json` serves).
pub fn spec_json(config: &Config) -> String {
    #[allow(clippy::expect_used)]
    let gemini = GeminiClient::new(crate::app::gemini_settings(config), Default::default())
        .expect("the HTTP client builds");
    api::spec_json(apis(config, gemini))
}

fn spec_endpoint(spec: String) -> impl IntoEndpoint {
    poem::endpoint::make_sync(move |_| {
        Response::builder()
            .content_type("application/json; charset=utf-8")
            .body(spec.clone())
    })
}

#[handler]
fn metrics() -> Response {
    use poem::IntoResponse;
    ApiError::not_found().into_response()
}
