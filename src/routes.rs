//! The route tree: the one place where the middleware order is visible.
//!
//! ```text
//! RequestLog → SecurityHeaders → CatchPanic (JSON 500) ─┬─ /api/*  CorsPolicy → ApiBoundary (JSON errors)
//!                                                       │            → Guard (401/403/429, from the headers alone)
//!                                                       │            → BodyReader (413/408; then analysis capacity) → operations
//!                                                       ├─ /openapi.json   the spec
//!                                                       ├─ /docs           Swagger UI (assets inlined, no CDN)
//!                                                       ├─ /metrics        JSON 404 unless enabled
//!                                                       └─ everything else EntrySession (a session with the entry
//!                                                                  page, no access code) → the embedded web app (SpaEndpoint)
//! ```
//!
//! Every middleware is an `http::around::Around`, put in as `.with(Layer(…))`;
//! every path comes from `crate::paths`.

use poem::{Endpoint, EndpointExt, IntoEndpoint, Response, Route, get};

use std::{sync::Arc, time::Duration};

use secrecy::ExposeSecret;

use crate::{
    api::{self, Ai, AnalyzeApi, ChatApi, MetaApi, SessionApi, VoiceApi, VoiceLimits},
    config::{Config, StartupProbe},
    error::ApiError,
    gemini::{GeminiClient, GeminiSettings, ProbeMode},
    guard::budget::DailyBudget,
    guard::entry_session::EntrySession,
    guard::rate_limit::{LimitSettings, RateLimits},
    guard::session::Sessions,
    guard::shared::SharedStore,
    guard::{Guard, SecretSet},
    http::{
        around::Layer, assets::SpaEndpoint, body::BodyReader, boundary::ApiBoundary, catch_panic::CatchPanic,
        cors::CorsPolicy, https_redirect::ToHttps, request_log::RequestLog, security::SecurityHeaders,
    },
    metrics::Metrics,
    paths,
    quota::{Line, LineSettings, ModelPlan, QuotaBook, SharedQuota},
    tls::TlsStatus,
    upstream::UpstreamStatus,
};

/// Photos' worth of analysis handled at once (each may hold a 10 MiB photo several times:
/// body, decoded bytes, base64 for Gemini).
pub const IMAGE_WORK_PERMITS: usize = 4;

/// The longest a request body may make no progress at all before it is cut
/// (408), at most the request timeout.
pub const BODY_STALL: Duration = Duration::from_secs(10);

/// What the routes are built over.
#[derive(Clone)]
pub struct Services {
    /// The Gemini client.
    pub gemini: GeminiClient,
    /// What the server last learned about Gemini (the client writes it; health
    /// and metrics read it).
    pub upstream: UpstreamStatus,
    /// Sessions, tokens, client IPs and rate limits.
    pub guard: Guard,
    /// The daily budget.
    pub budget: Arc<DailyBudget>,
    /// The access code, when configured.
    pub access_code: Option<SecretSet>,
    /// The metrics.
    pub metrics: Arc<Metrics>,
    /// The waiting line in front of Gemini's quota.
    pub line: Line,
    /// The HTTPS certificate's state, when the server serves HTTPS itself.
    pub tls: Option<TlsStatus>,
}

impl Services {
    /// The services of a configuration (a random session secret when none is set),
    /// over the client and the upstream status it reports into.
    pub fn new(
        config: &Config,
        gemini: GeminiClient,
        upstream: UpstreamStatus,
        metrics: Arc<Metrics>,
    ) -> Self {
        let secret = config
            .session_secret
            .as_ref()
            .map(|s| s.expose_secret().as_bytes().to_vec())
            .unwrap_or_else(Sessions::random_secret);
        // Bound to the access-code setting: enabling, changing or removing the
        // code ends every earlier session.
        let sessions = Sessions::for_access_code(
            secret,
            Duration::from_secs(config.session_ttl_hours * 3600),
            config.session_cookie_secure(),
            config.access_code.as_ref().map(|c| c.expose_secret()),
        );
        // The URL was checked at start-up (`WELD_REDIS_URL`), so opening it succeeds;
        // the connection itself is made on first use.
        let shared: Option<Arc<SharedStore>> = config.redis_url.as_ref().and_then(|url| {
            SharedStore::new(url.expose_secret())
                .map(Arc::new)
                .inspect_err(|_| {
                    tracing::error!("WELD_REDIS_URL cannot be opened: limits stay in the process")
                })
                .ok()
        });
        let guard = Guard::new(
            sessions,
            SecretSet::new(&config.api_tokens),
            config.public_url.as_ref(),
            config.trusted_proxies.clone(),
            RateLimits::new(
                LimitSettings::new(
                    config.rate_limit_per_minute,
                    config.rate_limit_burst,
                    config.rate_limit_per_ip_per_minute,
                    config.rate_limit_per_ip_burst,
                ),
                shared.clone(),
                Some(metrics.clone()),
            ),
        )
        .with_metrics(metrics.clone());
        let line = quota_line(config, &gemini, shared.clone());
        Self {
            gemini,
            upstream,
            guard,
            line,
            budget: Arc::new(DailyBudget::new(config.daily_request_budget, shared)),
            access_code: config.access_code.as_ref().map(|c| SecretSet::new([c])),
            metrics,
            tls: None,
        }
    }
}

/// The waiting line in front of Gemini's quota, over the client's models with
/// their configured rates; the replicas share the quota book through the limit
/// store when one is set. The client reports its 429s to the same book.
fn quota_line(config: &Config, gemini: &GeminiClient, shared: Option<Arc<SharedStore>>) -> Line {
    let rate = |rpm: Option<u64>| rpm.map(|r| u32::try_from(r).unwrap_or(u32::MAX));
    let plans = gemini
        .models()
        .iter()
        .enumerate()
        .map(|(index, model)| ModelPlan {
            model: model.clone(),
            rpm: if index == 0 {
                rate(config.gemini_rpm)
            } else {
                rate(config.gemini_fallback_rpm)
            },
        })
        .collect();
    let shared = shared.map(|store| store as Arc<dyn SharedQuota>);
    let book = Arc::new(QuotaBook::new(plans, shared));
    gemini.use_quota(book.clone());
    Line::new(
        book,
        LineSettings {
            per_person: usize::try_from(config.queue_per_person).unwrap_or(usize::MAX),
            max_len: usize::try_from(config.queue_max).unwrap_or(usize::MAX),
            max_wait: Duration::from_secs(config.queue_max_wait_seconds),
        },
    )
}

/// Builds the whole application endpoint.
pub fn build(config: &Config, services: &Services) -> impl Endpoint + 'static {
    let spec = api::spec_json(apis(config, services));
    let service = api::service(apis(config, services));
    let swagger = service.swagger_ui();
    let boundary = ApiBoundary {
        spec: Arc::new(serde_json::from_str(&spec).unwrap_or_default()),
    };
    let read_timeout = Duration::from_secs(config.request_timeout_seconds);
    // Twice the photos analysis works on at once may be read or wait for it.
    let read_budget_kib = (2 * IMAGE_WORK_PERMITS * config.max_image_bytes.div_ceil(3) * 4).div_ceil(1024);
    let body = BodyReader {
        analyze_limit: config.max_analyze_body_bytes(),
        voice_limit: config.max_voice_body_bytes(),
        other_limit: config.max_chat_bytes,
        read_timeout,
        stall: read_timeout.min(BODY_STALL),
        image_work: Arc::new(tokio::sync::Semaphore::new(IMAGE_WORK_PERMITS)),
        image_work_permits: IMAGE_WORK_PERMITS,
        photo_body_bytes: config.max_image_bytes.div_ceil(3) * 4,
        read_budget: Arc::new(tokio::sync::Semaphore::new(read_budget_kib)),
        read_budget_kib,
    };

    let issuer = services
        .access_code
        .is_none()
        .then(|| services.guard.sessions().clone());
    Route::new()
        .nest_no_strip(
            paths::API,
            service
                .with(Layer(body))
                .with(Layer(services.guard.clone()))
                .with(Layer(boundary))
                .with(Layer(CorsPolicy::new(&config.allowed_origins))),
        )
        .at(paths::OPENAPI_JSON, get(spec_endpoint(spec)))
        .nest(paths::DOCS, swagger)
        .at(paths::METRICS, metrics_endpoint(config.metrics, services))
        .nest_no_strip(paths::APP, SpaEndpoint.with(Layer(EntrySession::new(issuer))))
        .with(Layer(CatchPanic))
        .with(Layer(SecurityHeaders::default()))
        .with(Layer(RequestLog::new(
            services.metrics.clone(),
            config.trusted_proxies.clone(),
        )))
}

/// The plain-HTTP listener's endpoint when the site has a domain: `/api/health`
/// from `app`, everything else redirected to `https://` + the first domain.
pub fn plain_redirect<E: Endpoint + 'static>(config: &Config, app: E) -> impl Endpoint + 'static {
    ToHttps::new(config.domain.first().map_or("localhost", String::as_str), app)
}

/// The API operations over the services.
pub fn apis(config: &Config, services: &Services) -> api::Api {
    let ai = Ai::new(
        services.gemini.clone(),
        services.line.clone(),
        services.budget.clone(),
        services.metrics.clone(),
        Duration::from_secs(config.sse_keepalive_seconds),
    );
    (
        MetaApi::new(
            services.upstream.clone(),
            services.gemini.is_configured(),
            services.guard.limits().clone(),
            services.line.clone(),
            services.tls.clone(),
        ),
        SessionApi::new(services.guard.clone(), services.access_code.clone()),
        ChatApi::new(ai.clone()),
        VoiceApi::new(
            ai.clone(),
            VoiceLimits {
                max_bytes: config.voice_max_bytes,
                max_seconds: config.voice_max_seconds,
            },
        ),
        AnalyzeApi::new(ai, config.max_image_bytes, config.max_images),
    )
}

/// The OpenAPI document for a configuration (what `/openapi.json` serves).
pub fn spec_json(config: &Config) -> String {
    let metrics = Arc::new(Metrics::new());
    let upstream = UpstreamStatus::default();
    #[allow(clippy::expect_used)]
    let gemini = GeminiClient::new(gemini_settings(config), upstream.clone(), metrics.clone())
        .expect("the HTTP client builds");
    api::spec_json(apis(config, &Services::new(config, gemini, upstream, metrics)))
}

/// The Gemini client's settings from the configuration.
pub fn gemini_settings(config: &Config) -> GeminiSettings {
    GeminiSettings {
        keys: config.gemini_keys(),
        model: config.gemini_model.clone(),
        fallback_models: config.gemini_fallback_models.clone(),
        base_url: config.gemini_base_url.clone(),
        timeout: config.gemini_timeout(),
        probe: match config.startup_probe {
            StartupProbe::Generate => ProbeMode::Generate,
            StartupProbe::Models => ProbeMode::Models,
            StartupProbe::Off => ProbeMode::Off,
        },
        ca_file: config.gemini_ca_file.clone(),
        connection_groups: match config.workers() {
            crate::server::Workers::Shared => 1,
            crate::server::Workers::PerCore(n) => n + 1,
        },
    }
}

fn spec_endpoint(spec: String) -> impl IntoEndpoint {
    poem::endpoint::make_sync(move |_| {
        Response::builder()
            .content_type("application/json; charset=utf-8")
            .body(spec.clone())
    })
}

/// `/metrics`: Prometheus text when enabled, else the API's JSON 404.
fn metrics_endpoint(enabled: bool, services: &Services) -> impl Endpoint + 'static {
    let metrics = services.metrics.clone();
    let budget = services.budget.clone();
    let status = services.upstream.clone();
    let line = services.line.clone();
    poem::endpoint::make_sync(move |req| {
        if !enabled {
            return ApiError::not_found().response_for(req.headers());
        }
        metrics.set_line_length(line.len());
        Response::builder()
            .content_type("text/plain; version=0.0.4; charset=utf-8")
            .header("cache-control", "no-cache")
            .body(metrics.render(budget.remaining(), status.get().0))
    })
}
