//! Prometheus metrics (prometheus-client, one registry per server): requests by
//! route and status, latency, upstream calls by model and outcome, retries,
//! tokens, rate-limited and budget-refused requests, budget left, upstream state,
//! and the quota line: its length, the waits, the refusals, Google's quota 429s;
//! the served certificate's expiry and the ACME orders.
//! Labels come only from fixed sets (route templates, configured model ids,
//! outcome words), never from user input.

use std::sync::atomic::AtomicI64;

use prometheus_client::{
    encoding::{EncodeLabelSet, text::encode},
    metrics::{counter::Counter, family::Family, gauge::Gauge, histogram::Histogram},
    registry::Registry,
};

use crate::upstream::UpstreamState;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct HttpLabels {
    route: &'static str,
    status: u16,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RouteLabels {
    route: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct UpstreamLabels {
    model: String,
    outcome: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct TokenLabels {
    kind: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct QuotaLabels {
    model: String,
    scope: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ReasonLabels {
    reason: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct WorkerLabels {
    worker: &'static str,
}

/// The `worker` label of the first 64 worker threads; past them, `other`.
const WORKER_NAMES: [&str; 64] = [
    "0", "1", "2", "3", "4", "5", "6", "7", "8", "9", "10", "11", "12", "13", "14", "15", "16", "17", "18",
    "19", "20", "21", "22", "23", "24", "25", "26", "27", "28", "29", "30", "31", "32", "33", "34", "35",
    "36", "37", "38", "39", "40", "41", "42", "43", "44", "45", "46", "47", "48", "49", "50", "51", "52",
    "53", "54", "55", "56", "57", "58", "59", "60", "61", "62", "63",
];

/// The `worker` label of a worker thread (`shared`: the one shared runtime).
pub fn worker_label(worker: Option<usize>) -> &'static str {
    match worker {
        None => "shared",
        Some(index) => WORKER_NAMES.get(index).copied().unwrap_or("other"),
    }
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct StateLabels {
    state: &'static str,
}

/// The server's metrics.
pub struct Metrics {
    registry: Registry,
    requests: Family<HttpLabels, Counter>,
    latency: Family<RouteLabels, Histogram>,
    upstream_calls: Family<UpstreamLabels, Counter>,
    retries: Counter,
    tokens: Family<TokenLabels, Counter>,
    rate_limited: Counter,
    budget_refused: Counter,
    limit_store_errors: Counter,
    budget_remaining: Gauge<i64, AtomicI64>,
    upstream_state: Family<StateLabels, Gauge>,
    alive_tasks: Gauge,
    quota_429: Family<QuotaLabels, Counter>,
    line_length: Gauge,
    line_wait: Histogram,
    line_refused: Family<ReasonLabels, Counter>,
    connections: Family<WorkerLabels, Counter>,
    open_connections: Family<WorkerLabels, Gauge>,
    tls_expiry: Gauge<i64, AtomicI64>,
    acme_orders: Family<OutcomeLabels, Counter>,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct OutcomeLabels {
    outcome: &'static str,
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Metrics")
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    /// A fresh registry with every metric registered.
    pub fn new() -> Self {
        let mut registry = Registry::with_prefix("weld");
        let requests = Family::<HttpLabels, Counter>::default();
        registry.register(
            "http_requests",
            "HTTP requests by route and status",
            requests.clone(),
        );
        let latency = Family::<RouteLabels, Histogram>::new_with_constructor(|| {
            Histogram::new([
                0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0,
            ])
        });
        registry.register(
            "http_request_duration_seconds",
            "HTTP request latency by route",
            latency.clone(),
        );
        let upstream_calls = Family::<UpstreamLabels, Counter>::default();
        registry.register(
            "upstream_calls",
            "Gemini attempts by model and outcome",
            upstream_calls.clone(),
        );
        let retries = Counter::default();
        registry.register(
            "upstream_retries",
            "Gemini attempts after the first of a request",
            retries.clone(),
        );
        let tokens = Family::<TokenLabels, Counter>::default();
        registry.register(
            "tokens",
            "Gemini tokens used, by kind (prompt, response)",
            tokens.clone(),
        );
        let rate_limited = Counter::default();
        registry.register(
            "rate_limited",
            "Requests refused by a rate limit",
            rate_limited.clone(),
        );
        let budget_refused = Counter::default();
        registry.register(
            "budget_refused",
            "Requests refused by the daily budget",
            budget_refused.clone(),
        );
        let limit_store_errors = Counter::default();
        registry.register(
            "limit_store_errors",
            "Calls to the shared limit store (Redis) that failed or timed out",
            limit_store_errors.clone(),
        );
        let budget_remaining = Gauge::<i64, AtomicI64>::default();
        registry.register(
            "budget_remaining",
            "Gemini calls left today (-1: no budget set)",
            budget_remaining.clone(),
        );
        let upstream_state = Family::<StateLabels, Gauge>::default();
        registry.register(
            "upstream_state",
            "1 for the upstream state last observed",
            upstream_state.clone(),
        );
        let alive_tasks = Gauge::default();
        registry.register(
            "tokio_alive_tasks",
            "Tasks alive in the async runtime",
            alive_tasks.clone(),
        );
        let quota_429 = Family::<QuotaLabels, Counter>::default();
        registry.register(
            "upstream_quota_429",
            "Gemini quota 429s by model and quota (minute, day)",
            quota_429.clone(),
        );
        let line_length = Gauge::default();
        registry.register(
            "quota_line_length",
            "Questions waiting in line for Gemini's quota",
            line_length.clone(),
        );
        let line_wait = Histogram::new([
            0.5, 1.0, 2.5, 5.0, 10.0, 20.0, 30.0, 45.0, 60.0, 90.0, 120.0, 180.0,
        ]);
        registry.register(
            "quota_line_wait_seconds",
            "How long questions waited in line before they were sent",
            line_wait.clone(),
        );
        let line_refused = Family::<ReasonLabels, Counter>::default();
        registry.register(
            "quota_line_refused",
            "Questions the line refused, by reason (person_full, line_full, too_long, day, closing)",
            line_refused.clone(),
        );
        let connections = Family::<WorkerLabels, Counter>::default();
        registry.register(
            "connections_accepted",
            "TCP connections accepted, by worker thread (`shared`: one runtime for all)",
            connections.clone(),
        );
        let open_connections = Family::<WorkerLabels, Gauge>::default();
        registry.register(
            "connections_open",
            "Connections open now, by worker thread",
            open_connections.clone(),
        );
        let tls_expiry = Gauge::<i64, AtomicI64>::default();
        registry.register(
            "tls_certificate_expiry_timestamp_seconds",
            "When the served HTTPS certificate ends (Unix time; 0: none served)",
            tls_expiry.clone(),
        );
        let acme_orders = Family::<OutcomeLabels, Counter>::default();
        registry.register(
            "acme_orders",
            "ACME certificate orders by outcome (issued, failed)",
            acme_orders.clone(),
        );
        Self {
            connections,
            open_connections,
            tls_expiry,
            acme_orders,
            quota_429,
            line_length,
            line_wait,
            line_refused,
            registry,
            requests,
            latency,
            upstream_calls,
            retries,
            tokens,
            rate_limited,
            budget_refused,
            limit_store_errors,
            budget_remaining,
            upstream_state,
            alive_tasks,
        }
    }

    /// One finished HTTP request.
    pub fn observe_request(&self, route: &'static str, status: u16, seconds: f64) {
        self.requests.get_or_create(&HttpLabels { route, status }).inc();
        self.latency
            .get_or_create(&RouteLabels { route })
            .observe(seconds);
    }

    /// A connection accepted by `worker` (a [`worker_label`]); the open gauge
    /// counts it until [`Metrics::observe_closed`].
    pub fn observe_accepted(&self, worker: &'static str) {
        self.connections.get_or_create(&WorkerLabels { worker }).inc();
        self.open_connections
            .get_or_create(&WorkerLabels { worker })
            .inc();
    }

    /// A connection of `worker` closed.
    pub fn observe_closed(&self, worker: &'static str) {
        self.open_connections
            .get_or_create(&WorkerLabels { worker })
            .dec();
    }

    /// One Gemini attempt.
    pub fn observe_upstream(&self, model: &str, outcome: &'static str) {
        self.upstream_calls
            .get_or_create(&UpstreamLabels {
                model: model.to_owned(),
                outcome,
            })
            .inc();
    }

    /// One retry (any attempt after the first of a request).
    pub fn observe_retry(&self) {
        self.retries.inc();
    }

    /// Tokens of an answer.
    pub fn observe_tokens(&self, prompt: u32, response: u32) {
        self.tokens
            .get_or_create(&TokenLabels { kind: "prompt" })
            .inc_by(u64::from(prompt));
        self.tokens
            .get_or_create(&TokenLabels { kind: "response" })
            .inc_by(u64::from(response));
    }

    /// A request refused by a rate limit.
    pub fn observe_rate_limited(&self) {
        self.rate_limited.inc();
    }

    /// A call to the shared limit store that failed.
    pub fn observe_store_error(&self) {
        self.limit_store_errors.inc();
    }

    /// A request refused by the budget.
    pub fn observe_budget_refused(&self) {
        self.budget_refused.inc();
    }

    /// A quota 429 of `model` (`scope`: `minute` or `day`).
    pub fn observe_quota_429(&self, model: &str, scope: &'static str) {
        self.quota_429
            .get_or_create(&QuotaLabels {
                model: model.to_owned(),
                scope,
            })
            .inc();
    }

    /// A question's wait in line, in seconds.
    pub fn observe_line_wait(&self, seconds: f64) {
        self.line_wait.observe(seconds);
    }

    /// A question the line refused.
    pub fn observe_line_refused(&self, reason: &'static str) {
        self.line_refused.get_or_create(&ReasonLabels { reason }).inc();
    }

    /// The served certificate ends at `expires_at`.
    pub fn set_tls_expiry(&self, expires_at: std::time::SystemTime) {
        let seconds = expires_at
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX));
        self.tls_expiry.set(seconds);
    }

    /// One ACME order ended (`issued` or `failed`).
    pub fn acme_order(&self, outcome: &'static str) {
        self.acme_orders.get_or_create(&OutcomeLabels { outcome }).inc();
    }

    /// The line's length now (read when the metrics are rendered).
    pub fn set_line_length(&self, waiting: usize) {
        self.line_length.set(i64::try_from(waiting).unwrap_or(i64::MAX));
    }

    /// The Prometheus text, with the gauges read now.
    pub fn render(&self, budget_remaining: Option<u64>, state: UpstreamState) -> String {
        self.budget_remaining
            .set(budget_remaining.map_or(-1, |b| i64::try_from(b).unwrap_or(i64::MAX)));
        for s in [
            UpstreamState::Ok,
            UpstreamState::RegionBlocked,
            UpstreamState::AuthFailed,
            UpstreamState::Quota,
            UpstreamState::Unreachable,
            UpstreamState::Unknown,
        ] {
            self.upstream_state
                .get_or_create(&StateLabels { state: s.as_str() })
                .set(i64::from(s == state));
        }
        if let Ok(handle) = tokio::runtime::Handle::try_current() {
            self.alive_tasks
                .set(i64::try_from(handle.metrics().num_alive_tasks()).unwrap_or(i64::MAX));
        }
        let mut text = String::new();
        if encode(&mut text, &self.registry).is_err() {
            text.clear();
        }
        text
    }
}
