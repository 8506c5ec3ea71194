//! The site's paths, in one place: the `/api` operations (what each is: an AI
//! operation or not, streamed or not, which body limit it reads under) and the
//! other paths the route tree serves (`/openapi.json`, `/docs`, `/metrics`,
//! `/assets/`, the web app). Every middleware that treats a path specially asks
//! here, and the metrics' and logs' route label comes from here.
//!
//! The `#[oai(path = "…")]` attributes in `src/api` stay literals (a macro needs
//! them); the test below holds this table and the OpenAPI document to each other
//! both ways. Adding an endpoint: its operation in `src/api`, its row here, and
//! nothing else.
//!
//! It must not import anything from this crate: it is a leaf every layer may use.

use poem::http::Method;

/// Where the API lives: the route tree nests it here, and everything at or below
/// it answers in JSON.
pub const API: &str = "/api";
/// `GET /api/health`.
pub const HEALTH: &str = "/api/health";
/// `GET`, `POST`, `DELETE /api/session`.
pub const SESSION: &str = "/api/session";
/// `POST /api/chat`.
pub const CHAT: &str = "/api/chat";
/// `POST /api/chat/stream`.
pub const CHAT_STREAM: &str = "/api/chat/stream";
/// `POST /api/chat/voice`.
pub const CHAT_VOICE: &str = "/api/chat/voice";
/// `POST /api/chat/voice/stream`.
pub const CHAT_VOICE_STREAM: &str = "/api/chat/voice/stream";
/// `POST /api/analyze`.
pub const ANALYZE: &str = "/api/analyze";
/// `POST /api/analyze/stream`.
pub const ANALYZE_STREAM: &str = "/api/analyze/stream";

/// The OpenAPI document.
pub const OPENAPI_JSON: &str = "/openapi.json";
/// Swagger UI (nested: its own pages and assets are below it).
pub const DOCS: &str = "/docs";
/// The Prometheus metrics (a JSON 404 unless enabled).
pub const METRICS: &str = "/metrics";
/// The web app's hashed build output, cached for a year.
pub const ASSETS: &str = "/assets/";
/// The web app: every path the others leave.
pub const APP: &str = "/";

/// The route label of an `/api` path that is no operation.
pub const OTHER_API_LABEL: &str = "/api/other";
/// The route label of the web app's assets.
pub const ASSETS_LABEL: &str = "/assets";
/// The route label of every other path (the web app).
pub const APP_LABEL: &str = "/ (app)";

/// Which body limit a request is read under.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BodyLimit {
    /// `WELD_MAX_IMAGES` photos' worth (`Config::max_analyze_body_bytes`).
    Analyze,
    /// A recording's worth plus a chat body (`Config::max_voice_body_bytes`).
    Voice,
    /// `WELD_MAX_CHAT_BYTES`.
    Other,
}

/// One `/api` path and what it is.
#[derive(Debug, Clone, Copy)]
pub struct ApiPath {
    /// The path, as in the OpenAPI document.
    pub path: &'static str,
    /// Whether a `POST` to it spends the Gemini key (the guard lets it in only
    /// with a session or a token, then the rate limits apply).
    pub ai: bool,
    /// Whether it answers with a stream of server-sent events.
    pub streamed: bool,
    /// The body limit of a `POST` to it.
    pub body_limit: BodyLimit,
}

const fn row(path: &'static str, ai: bool, streamed: bool, body_limit: BodyLimit) -> ApiPath {
    ApiPath {
        path,
        ai,
        streamed,
        body_limit,
    }
}

/// Every `/api` path of the OpenAPI document.
pub const API_PATHS: &[ApiPath] = &[
    row(HEALTH, false, false, BodyLimit::Other),
    row(SESSION, false, false, BodyLimit::Other),
    row(CHAT, true, false, BodyLimit::Other),
    row(CHAT_STREAM, true, true, BodyLimit::Other),
    row(CHAT_VOICE, true, false, BodyLimit::Voice),
    row(CHAT_VOICE_STREAM, true, true, BodyLimit::Voice),
    row(ANALYZE, true, false, BodyLimit::Analyze),
    row(ANALYZE_STREAM, true, true, BodyLimit::Analyze),
];

/// The row of an `/api` path, when it is one exactly.
pub fn api_path(path: &str) -> Option<&'static ApiPath> {
    API_PATHS.iter().find(|row| row.path == path)
}

/// `path` is `base` or below it (`base/…`).
fn at_or_below(path: &str, base: &str) -> bool {
    path.strip_prefix(base)
        .is_some_and(|rest| rest.is_empty() || rest.starts_with('/'))
}

/// Whether a path belongs to the API (`/api` or below): its errors are JSON.
pub fn is_api(path: &str) -> bool {
    at_or_below(path, API)
}

/// Whether a path is Swagger UI's (`/docs` or below).
pub fn is_docs(path: &str) -> bool {
    at_or_below(path, DOCS)
}

/// Whether a request spends the Gemini key: a `POST` to an AI operation or below
/// one (`/api/chat/…` too, so no path under it slips past the guard).
pub fn is_ai(method: &Method, path: &str) -> bool {
    method == Method::POST && API_PATHS.iter().any(|row| row.ai && at_or_below(path, row.path))
}

/// Whether a path answers with server-sent events.
pub fn is_streamed(path: &str) -> bool {
    api_path(path).is_some_and(|row| row.streamed)
}

/// Whether a file of the web app's build, named without the leading `/`
/// (`assets/index-1.js`), is one of its hashed assets.
pub fn is_asset_file(name: &str) -> bool {
    name.starts_with(ASSETS.trim_start_matches('/'))
}

/// The body limit a request is read under: a `POST` whose path starts with an
/// analysis path (as text: `/api/analyze…`) reads under the analysis limit, one
/// at or below a voice path under the voice limit, everything else under the other.
pub fn body_limit(method: &Method, path: &str) -> BodyLimit {
    let under = |limit: BodyLimit, starts: bool| {
        method == Method::POST
            && API_PATHS.iter().any(|row| {
                row.body_limit == limit
                    && if starts {
                        path.starts_with(row.path)
                    } else {
                        at_or_below(path, row.path)
                    }
            })
    };
    if under(BodyLimit::Analyze, true) {
        BodyLimit::Analyze
    } else if under(BodyLimit::Voice, false) {
        BodyLimit::Voice
    } else {
        BodyLimit::Other
    }
}

/// The route a path belongs to, for metrics and logs: a fixed label, never user
/// input.
pub fn route_label(path: &str) -> &'static str {
    if let Some(row) = api_path(path) {
        return row.path;
    }
    match path {
        OPENAPI_JSON => OPENAPI_JSON,
        METRICS => METRICS,
        p if is_docs(p) => DOCS,
        p if is_api(p) => OTHER_API_LABEL,
        p if p.starts_with(ASSETS) => ASSETS_LABEL,
        _ => APP_LABEL,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The spec's paths and the methods of each.
    fn spec_paths() -> Vec<(String, Vec<String>)> {
        let spec = crate::routes::spec_json(&crate::Config::defaults());
        let spec: serde_json::Value = serde_json::from_str(&spec).unwrap();
        spec["paths"]
            .as_object()
            .unwrap()
            .iter()
            .map(|(path, item)| (path.clone(), item.as_object().unwrap().keys().cloned().collect()))
            .collect()
    }

    #[test]
    fn the_table_and_the_openapi_document_name_the_same_paths() {
        let spec = spec_paths();
        for (path, _) in &spec {
            assert!(
                api_path(path).is_some(),
                "{path} is in the OpenAPI document, not in API_PATHS"
            );
        }
        for row in API_PATHS {
            let methods = spec
                .iter()
                .find(|(path, _)| path == row.path)
                .map(|(_, methods)| methods)
                .unwrap_or_else(|| panic!("{} is in API_PATHS, not in the OpenAPI document", row.path));
            if row.ai {
                assert!(methods.iter().any(|m| m == "post"), "{}: no POST", row.path);
            }
        }
    }

    #[test]
    fn ai_operations_are_posts_to_chat_and_analyze_and_below() {
        for path in [CHAT, CHAT_STREAM, ANALYZE, ANALYZE_STREAM, "/api/chat/x"] {
            assert!(is_ai(&Method::POST, path), "{path}");
            assert!(!is_ai(&Method::GET, path), "{path}");
        }
        for path in [HEALTH, SESSION, "/api/chatty", "/api", "/chat"] {
            assert!(!is_ai(&Method::POST, path), "{path}");
        }
        assert!(is_streamed(CHAT_STREAM) && is_streamed(ANALYZE_STREAM));
        assert!(!is_streamed(CHAT) && !is_streamed(ANALYZE));
    }

    #[test]
    fn analysis_posts_read_under_the_analysis_limit() {
        assert_eq!(body_limit(&Method::POST, ANALYZE), BodyLimit::Analyze);
        assert_eq!(body_limit(&Method::POST, ANALYZE_STREAM), BodyLimit::Analyze);
        assert_eq!(body_limit(&Method::GET, ANALYZE), BodyLimit::Other);
        assert_eq!(body_limit(&Method::POST, CHAT), BodyLimit::Other);
        assert_eq!(body_limit(&Method::POST, CHAT_STREAM), BodyLimit::Other);
        assert_eq!(body_limit(&Method::POST, CHAT_VOICE), BodyLimit::Voice);
        assert_eq!(body_limit(&Method::POST, CHAT_VOICE_STREAM), BodyLimit::Voice);
        assert_eq!(body_limit(&Method::POST, "/api/chat/voicex"), BodyLimit::Other);
        assert_eq!(body_limit(&Method::GET, CHAT_VOICE), BodyLimit::Other);
        assert_eq!(body_limit(&Method::POST, SESSION), BodyLimit::Other);
    }

    #[test]
    fn route_labels_are_fixed() {
        for row in API_PATHS {
            assert_eq!(route_label(row.path), row.path);
        }
        assert_eq!(route_label("/openapi.json"), "/openapi.json");
        assert_eq!(route_label("/metrics"), "/metrics");
        assert_eq!(route_label("/docs"), "/docs");
        assert_eq!(route_label("/docs/index.css"), "/docs");
        assert_eq!(route_label("/docsx"), "/ (app)");
        assert_eq!(route_label("/api"), "/api/other");
        assert_eq!(route_label("/api/nothing"), "/api/other");
        assert_eq!(route_label("/assets/index-1.js"), "/assets");
        assert_eq!(route_label("/analyze"), "/ (app)");
        assert!(is_api("/api") && is_api("/api/x") && !is_api("/apix"));
        assert!(is_docs("/docs") && is_docs("/docs/") && !is_docs("/docs2"));
    }
}
