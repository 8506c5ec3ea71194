//! The HTTP client for `models/{model}:generateContent` and
//! `:streamGenerateContent`: sends requests with the server's key (retries and
//! failover over keys and fallback models are `failover`'s loop, around each
//! attempt made here), and runs the start-up probe.
//!
//! Data walks one way: `client` → `failover` / `stream` → `response` / `error`
//! / `wire`. The request body comes from `request` (or `probe`); nothing below
//! imports this module. Upstream text is redacted (`error::Redactor`) before it
//! is logged or returned.
//!
//! HTTP/2: over `https://` (Google's endpoint) the client offers only ALPN `h2`
//! and speaks HTTP/2, so a connection carries many calls at once; `lanes` opens
//! more connections past the server's stream limit. A plain `http://` base (a
//! local stand-in or fake) is spoken to in HTTP/1.1.

use std::{
    future::Future,
    sync::{Arc, OnceLock},
    time::{Duration, Instant},
};

use bytes::Bytes;
use reqwest::header::{CONTENT_TYPE, HeaderValue};
use secrecy::{ExposeSecret, SecretString};
use url::Url;

use super::{
    error::{GeminiError, Redactor},
    failover::{AttemptOutput, Failover, KeyRing},
    lanes::{Lanes, MAX_LANES},
    probe::{self, ProbeMode},
    request,
    response::{self, Answer, Usage},
    stream::AnswerStream,
};
use crate::{
    domain::prompt::Prompt,
    metrics::Metrics,
    quota::QuotaBook,
    upstream::{UpstreamState, UpstreamStatus},
};

/// The largest upstream body read (answers are a few KiB; this bounds garbage).
const MAX_UPSTREAM_BODY: usize = 8 * 1024 * 1024;

/// What the client needs from the configuration.
#[derive(Debug, Clone)]
pub struct GeminiSettings {
    /// Keys in the order they are tried.
    pub keys: Vec<SecretString>,
    /// The model id.
    pub model: String,
    /// Models tried in order after it.
    pub fallback_models: Vec<String>,
    /// The upstream base URL.
    pub base_url: Url,
    /// Bound on one attempt.
    pub timeout: Duration,
    /// The start-up check.
    pub probe: ProbeMode,
    /// A PEM file of more roots to trust (`WELD_GEMINI_CA_FILE`).
    pub ca_file: Option<String>,
    /// Groups of upstream connections: one per worker thread, plus one for the
    /// rest (`server::Workers`); 1 when every connection shares one runtime.
    pub connection_groups: usize,
}

/// The Gemini client. Cheap to clone.
#[derive(Debug, Clone)]
pub struct GeminiClient {
    http: Arc<Lanes>,
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    keys: KeyRing,
    models: Vec<String>,
    /// `generateContent` and `streamGenerateContent?alt=sse` of each model, in
    /// the order of `models`: parsed once, not per call.
    endpoints: Vec<Option<(Url, Url)>>,
    base_url: Url,
    timeout: Duration,
    probe: ProbeMode,
    status: UpstreamStatus,
    metrics: Arc<Metrics>,
    redactor: Redactor,
    /// The quota book of the waiting line, once attached.
    quota: OnceLock<Arc<QuotaBook>>,
}

impl AttemptOutput for Answer {
    fn usage(&self) -> Option<Usage> {
        self.usage
    }
}

impl AttemptOutput for AnswerStream {}

impl GeminiClient {
    /// Builds the client (rustls; no system proxy so the key cannot be routed elsewhere).
    pub fn new(
        settings: GeminiSettings,
        status: UpstreamStatus,
        metrics: Arc<Metrics>,
    ) -> Result<Self, reqwest::Error> {
        let mut roots = Vec::new();
        if let Some(path) = &settings.ca_file {
            // Checked at start-up; a file that changed since then adds nothing.
            let pem = std::fs::read(path).unwrap_or_default();
            roots = reqwest::Certificate::from_pem_bundle(&pem)?;
        }
        let connect_timeout = settings.timeout.min(Duration::from_secs(10));
        // Over TLS the client speaks HTTP/2 only (ALPN `h2`; Google's endpoint
        // has it): knowing the version before the handshake lets a burst of
        // calls wait for one connection per lane instead of each opening its
        // own. A plain `http://` base (a local stand-in) is spoken to in HTTP/1.1.
        let http2_only = settings.base_url.scheme() == "https";
        let make = move || {
            let mut builder = reqwest::Client::builder()
                .user_agent(concat!("weld-assistant/", env!("CARGO_PKG_VERSION")))
                .connect_timeout(connect_timeout)
                // Idle connections are kept briefly: enough for a burst over
                // HTTP/1.1, released 15 s after it.
                .pool_idle_timeout(Duration::from_secs(15))
                .pool_max_idle_per_host(256)
                .no_proxy();
            for root in &roots {
                builder = builder.add_root_certificate(root.clone());
            }
            if http2_only {
                builder = builder.http2_prior_knowledge();
            }
            builder.build()
        };
        // HTTP/1.1 gives every waiting call a connection of its own: one lane.
        let lanes = if http2_only { MAX_LANES } else { 1 };
        let http = Arc::new(Lanes::new(Box::new(make), lanes, settings.connection_groups)?);
        let mut models = vec![settings.model];
        for fallback in settings.fallback_models {
            if !models.contains(&fallback) {
                models.push(fallback);
            }
        }
        let base = settings.base_url.as_str().trim_end_matches('/').to_owned();
        let endpoints = models
            .iter()
            .map(|model| {
                let generate = endpoint_url(&base, model, "generateContent", "").ok()?;
                let stream = endpoint_url(&base, model, "streamGenerateContent", "?alt=sse").ok()?;
                Some((generate, stream))
            })
            .collect();
        let redactor = Redactor::new(&settings.keys);
        Ok(Self {
            http,
            inner: Arc::new(Inner {
                keys: KeyRing::new(settings.keys),
                models,
                endpoints,
                base_url: settings.base_url,
                timeout: settings.timeout,
                probe: settings.probe,
                status,
                metrics,
                redactor,
                quota: OnceLock::new(),
            }),
        })
    }

    /// Whether a key is configured.
    pub fn is_configured(&self) -> bool {
        !self.inner.keys.is_empty()
    }

    /// The configured model id.
    pub fn model(&self) -> &str {
        &self.inner.models[0]
    }

    /// The models in the order calls try them (main, then fallbacks).
    pub fn models(&self) -> &[String] {
        &self.inner.models
    }

    /// Attaches the quota book: a failover to a fallback model first takes a
    /// call of that model's minute, and quota 429s are reported to it.
    pub fn use_quota(&self, book: Arc<QuotaBook>) {
        let _ = self.inner.quota.set(book);
    }

    /// The request body of a prompt, encoded once for every attempt.
    pub fn encode(prompt: Prompt) -> Result<Bytes, GeminiError> {
        request::body(&prompt)
    }

    /// One answer, with retries and failover (`generateContent`).
    pub async fn generate(&self, prompt: Prompt) -> Result<Answer, GeminiError> {
        let body = Self::encode(prompt)?;
        self.generate_encoded(body, 0).await
    }

    /// One answer to an encoded body, starting at model `first` (whose call of
    /// the minute the waiting line has taken).
    pub async fn generate_encoded(&self, body: Bytes, first: usize) -> Result<Answer, GeminiError> {
        let answer = self
            .with_failover(first, |key, model, budget| {
                let body = body.clone();
                async move { self.attempt_unary(&key, &model, body, budget).await }
            })
            .await?;
        if let Some(usage) = answer.usage {
            self.inner
                .metrics
                .observe_tokens(usage.prompt_tokens, usage.response_tokens);
        }
        Ok(answer)
    }

    /// A streamed answer (`streamGenerateContent?alt=sse`), returned once the first
    /// text has arrived: everything that fails before that (after retries and
    /// failover) is an error here, never a half-sent stream. The stream counts its
    /// tokens itself when it finishes.
    pub async fn stream(&self, prompt: Prompt) -> Result<AnswerStream, GeminiError> {
        let body = Self::encode(prompt)?;
        self.stream_encoded(body, 0).await
    }

    /// A streamed answer to an encoded body, starting at model `first`.
    pub async fn stream_encoded(&self, body: Bytes, first: usize) -> Result<AnswerStream, GeminiError> {
        self.with_failover(first, |key, model, budget| {
            let body = body.clone();
            async move { self.attempt_stream(&key, &model, body, budget).await }
        })
        .await
    }

    /// The start-up check with the first key and the model, as configured
    /// (`ProbeMode`); records what it proves in the upstream status. One attempt,
    /// no failover; never counted in the budget or the token metrics.
    pub async fn probe(&self) {
        let mode = self.inner.probe;
        let model = self.model().to_owned();
        if self.inner.keys.is_empty() || mode == ProbeMode::Off {
            tracing::info!(
                target: "weld_assistant::upstream",
                model,
                mode = mode.as_str(),
                "gemini start-up probe skipped"
            );
            return;
        }
        let started = Instant::now();
        let result = match mode {
            ProbeMode::Models => self.probe_models(&model).await,
            _ => self.probe_generate(&model).await,
        }
        .map_err(|e| self.inner.redactor.error(e));
        let state = probe::state(&result);
        if let Some(state) = state {
            self.inner.status.record(state);
        }
        tracing::info!(
            target: "weld_assistant::upstream",
            model,
            mode = mode.as_str(),
            state = state.map(UpstreamState::as_str),
            outcome = result.as_ref().map_or_else(GeminiError::label, |()| "ok"),
            error = result.as_ref().err().map(tracing::field::display),
            latency_ms = started.elapsed().as_millis() as u64,
            "gemini start-up probe"
        );
    }

    /// `GET models/{model}`: the key and the model, not the region.
    async fn probe_models(&self, model: &str) -> Result<(), GeminiError> {
        let url = format!("{}/v1beta/models/{model}", self.base());
        let response = self
            .http
            .first()
            .get(url)
            .header("x-goog-api-key", key_header(self.inner.keys.key(0))?)
            .timeout(self.inner.timeout)
            .send()
            .await
            .map_err(GeminiError::from_transport)?;
        let status = response.status().as_u16();
        let body = read_limited(response).await?;
        if status == 200 {
            Ok(())
        } else {
            Err(GeminiError::from_response(status, &body, model))
        }
    }

    /// One token of `generateContent`: sees a geo-block too. An answer without
    /// text (one token is often spent before any text) still proves the upstream.
    async fn probe_generate(&self, model: &str) -> Result<(), GeminiError> {
        let body = probe::generate_body(model)?;
        self.attempt_unary(self.inner.keys.key(0), model, body, self.inner.timeout)
            .await
            .map(|_| ())
    }

    fn base(&self) -> &str {
        self.inner.base_url.as_str().trim_end_matches('/')
    }

    /// A model's endpoint (`stream`: `streamGenerateContent?alt=sse`).
    fn endpoint(&self, model: &str, stream: bool) -> Result<Url, GeminiError> {
        let known = self.inner.models.iter().position(|m| m == model);
        match known.and_then(|i| self.inner.endpoints[i].as_ref()) {
            Some((generate, streamed)) => Ok(if stream {
                streamed.clone()
            } else {
                generate.clone()
            }),
            None => {
                let (method, query) = if stream {
                    ("streamGenerateContent", "?alt=sse")
                } else {
                    ("generateContent", "")
                };
                endpoint_url(self.base(), model, method, query)
                    .map_err(|_| GeminiError::Malformed("the model id makes no URL".into()))
            }
        }
    }

    /// Runs attempts over keys and models with retries (`failover`).
    async fn with_failover<T, F, Fut>(&self, first: usize, attempt: F) -> Result<T, GeminiError>
    where
        T: AttemptOutput,
        F: FnMut(SecretString, String, Duration) -> Fut,
        Fut: Future<Output = Result<T, GeminiError>>,
    {
        let inner = &self.inner;
        Failover {
            keys: &inner.keys,
            models: &inner.models,
            timeout: inner.timeout,
            status: &inner.status,
            metrics: &inner.metrics,
            redactor: &inner.redactor,
            first,
            quota: inner.quota.get().map(Arc::as_ref),
        }
        .run(attempt)
        .await
    }

    async fn attempt_unary(
        &self,
        key: &SecretString,
        model: &str,
        body: Bytes,
        budget: Duration,
    ) -> Result<Answer, GeminiError> {
        let (http, _lane) = self.http.take();
        let response = http
            .post(self.endpoint(model, false)?)
            .header("x-goog-api-key", key_header(key)?)
            .header(CONTENT_TYPE, "application/json")
            .body(body)
            .timeout(budget)
            .send()
            .await
            .map_err(GeminiError::from_transport)?;
        let status = response.status().as_u16();
        let bytes = read_limited(response).await?;
        if status != 200 {
            return Err(GeminiError::from_response(status, &bytes, model));
        }
        response::answer(&bytes, model, &self.inner.redactor)
    }

    async fn attempt_stream(
        &self,
        key: &SecretString,
        model: &str,
        body: Bytes,
        budget: Duration,
    ) -> Result<AnswerStream, GeminiError> {
        // A whole-request timeout would cut a long stream: bound the head here,
        // then every chunk inside the stream.
        let url = self.endpoint(model, true)?;
        let (http, lane) = self.http.take();
        let request = http
            .post(url)
            .header("x-goog-api-key", key_header(key)?)
            .header(CONTENT_TYPE, "application/json")
            .body(body);
        let response = tokio::time::timeout(budget, request.send())
            .await
            .map_err(|_| GeminiError::Timeout)?
            .map_err(GeminiError::from_transport)?;
        let status = response.status().as_u16();
        if status != 200 {
            let bytes = tokio::time::timeout(budget, read_limited(response))
                .await
                .map_err(|_| GeminiError::Timeout)??;
            return Err(GeminiError::from_response(status, &bytes, model));
        }
        AnswerStream::open(
            response,
            lane,
            model,
            self.inner.timeout,
            self.inner.metrics.clone(),
            self.inner.redactor.clone(),
        )
        .await
    }
}

/// `{base}/v1beta/models/{model}:{method}{query}`: the model and the method share
/// one path segment; the ':' is not encoded.
fn endpoint_url(base: &str, model: &str, method: &str, query: &str) -> Result<Url, url::ParseError> {
    Url::parse(&format!("{base}/v1beta/models/{model}:{method}{query}"))
}

fn key_header(key: &SecretString) -> Result<HeaderValue, GeminiError> {
    let mut value = HeaderValue::from_str(key.expose_secret()).map_err(|_| GeminiError::Auth {
        reason: "the configured key is not a valid header value".into(),
    })?;
    value.set_sensitive(true);
    Ok(value)
}

async fn read_limited(mut response: reqwest::Response) -> Result<Vec<u8>, GeminiError> {
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await.map_err(GeminiError::from_transport)? {
        if body.len() + chunk.len() > MAX_UPSTREAM_BODY {
            return Err(GeminiError::Malformed("the answer is too large".into()));
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::{
        domain::{
            history::{Role, Turn},
            prompt::Sampling,
        },
        gemini::fake_gemini::{FakeGemini, Reply},
    };

    const KEY: &str = "AIzaUNIT-canary-0123456789-abcdefghij";

    fn client(fake: &FakeGemini, probe: ProbeMode) -> (GeminiClient, UpstreamStatus, Arc<Metrics>) {
        let status = UpstreamStatus::default();
        let metrics = Arc::new(Metrics::new());
        let settings = GeminiSettings {
            connection_groups: 1,
            keys: vec![KEY.into()],
            model: "gemini-flash-latest".into(),
            fallback_models: vec![],
            base_url: fake.url.parse().unwrap(),
            timeout: Duration::from_secs(10),
            probe,
            ca_file: None,
        };
        let client = GeminiClient::new(settings, status.clone(), metrics.clone()).unwrap();
        (client, status, metrics)
    }

    fn prompt() -> Prompt {
        Prompt {
            system: "sys".into(),
            turns: vec![Turn::new(Role::User, "hi")],
            media: Vec::new(),
            sampling: Sampling {
                temperature: 0.2,
                max_output_tokens: 100,
            },
        }
    }

    #[tokio::test]
    async fn the_generate_probe_sees_a_geo_block_that_the_models_probe_cannot() {
        let fake = FakeGemini::start().await;
        fake.geo_block();
        let (generate, status, _) = client(&fake, ProbeMode::Generate);
        generate.probe().await;
        assert_eq!(status.get().0, UpstreamState::RegionBlocked);

        let (models, status, _) = client(&fake, ProbeMode::Models);
        models.probe().await;
        assert_eq!(status.get().0, UpstreamState::Ok, "the documented blind spot");
        let probes = fake.probes();
        let paths: Vec<_> = probes
            .iter()
            .map(|p| (p.method.as_str(), p.path.as_str()))
            .collect();
        assert_eq!(
            paths,
            [
                ("POST", "/v1beta/models/gemini-flash-latest:generateContent"),
                ("GET", "/v1beta/models/gemini-flash-latest"),
            ]
        );
        assert!(probes.iter().all(|p| p.header("x-goog-api-key") == Some(KEY)));
        assert_eq!(probes[0].json()["generationConfig"]["maxOutputTokens"], 1);
        assert!(fake.received().is_empty(), "probes are not generation calls");

        // The first real call finds out what the models probe could not.
        assert!(matches!(
            models.generate(prompt()).await,
            Err(GeminiError::Region { .. })
        ));
        assert_eq!(status.get().0, UpstreamState::RegionBlocked);
    }

    #[tokio::test]
    async fn a_one_token_answer_without_text_is_a_healthy_upstream_and_spends_no_metrics() {
        let fake = FakeGemini::start().await;
        let (client, status, metrics) = client(&fake, ProbeMode::Generate);
        client.probe().await;
        assert_eq!(status.get().0, UpstreamState::Ok);
        assert_eq!(fake.probes().len(), 1);
        let text = metrics.render(None, status.get().0);
        assert!(!text.contains("weld_tokens_total{"), "{text}");
        assert!(!text.contains("weld_upstream_calls_total{"), "{text}");
    }

    #[tokio::test]
    async fn probe_errors_show_as_their_state_and_the_off_mode_sends_nothing() {
        for (reply, expected) in [
            (
                Reply::json(400, "error_400_api_key_invalid.json"),
                UpstreamState::AuthFailed,
            ),
            (Reply::json(429, "error_429_quota.json"), UpstreamState::Quota),
            (
                Reply::json(503, "error_503_overloaded.json"),
                UpstreamState::Unknown,
            ),
        ] {
            let fake = FakeGemini::start().await;
            fake.probe_reply(reply);
            let (client, status, _) = client(&fake, ProbeMode::Generate);
            client.probe().await;
            assert_eq!(status.get().0, expected);
        }

        let fake = FakeGemini::start().await;
        fake.geo_block();
        let (client, status, _) = client(&fake, ProbeMode::Off);
        client.probe().await;
        assert_eq!(status.get(), (UpstreamState::Unknown, None));
        assert!(fake.probes().is_empty() && fake.received().is_empty());
    }

    #[tokio::test]
    async fn an_unreachable_upstream_is_unreachable() {
        // A port that was just free: nothing listens there.
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let status = UpstreamStatus::default();
        let settings = GeminiSettings {
            connection_groups: 1,
            keys: vec![KEY.into()],
            model: "gemini-flash-latest".into(),
            fallback_models: vec![],
            base_url: format!("http://127.0.0.1:{port}").parse().unwrap(),
            timeout: Duration::from_secs(10),
            probe: ProbeMode::Generate,
            ca_file: None,
        };
        GeminiClient::new(settings, status.clone(), Arc::new(Metrics::new()))
            .unwrap()
            .probe()
            .await;
        assert_eq!(status.get().0, UpstreamState::Unreachable);
    }
}
