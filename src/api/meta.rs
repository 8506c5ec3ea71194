//! `GET /api/health`: liveness plus what the server last learned about Gemini
//! (read from `upstream`, which the Gemini client and its start-up probe write).
//! Never calls Gemini itself; asks the limit store (Redis, when configured) one
//! bounded `PING`.

use poem_openapi::{Enum, Object, OpenApi, payload::Json};

use super::ApiTags;
use crate::{
    guard::rate_limit::RateLimits,
    upstream::{UpstreamState, UpstreamStatus},
};

/// Health and service information.
pub struct MetaApi {
    upstream: UpstreamStatus,
    gemini_configured: bool,
    limits: RateLimits,
}

impl MetaApi {
    /// The API over the shared upstream status (read only) and the rate limits
    /// (whose store it asks whether it answers).
    pub fn new(upstream: UpstreamStatus, gemini_configured: bool, limits: RateLimits) -> Self {
        Self {
            upstream,
            gemini_configured,
            limits,
        }
    }
}

/// Where the rate limits and the daily budget are kept.
#[derive(Debug, Clone, Copy, Enum)]
#[oai(rename_all = "snake_case")]
pub enum LimitStore {
    /// In this process (`WELD_REDIS_URL` unset).
    Memory,
    /// In the Redis or Valkey of `WELD_REDIS_URL`, shared by every replica.
    Redis,
}

/// The store of the limits and whether it answers.
#[derive(Debug, Clone, Object)]
#[oai(rename_all = "camelCase")]
pub struct LimitsReply {
    /// Where the limits are kept.
    pub store: LimitStore,
    /// Whether it answers now. `false`: each replica limits on its own, and a
    /// configured daily budget refuses AI calls with 503 `limits_unavailable`.
    pub ok: bool,
}

/// What the server knows about Gemini.
#[derive(Debug, Clone, Object)]
#[oai(rename_all = "camelCase")]
pub struct UpstreamReply {
    /// The latest observed state.
    pub state: UpstreamState,
    /// When it was observed (RFC 3339 UTC); absent while `unknown`.
    #[oai(skip_serializing_if_is_none)]
    pub checked_at: Option<String>,
}

/// The server's health.
#[derive(Debug, Clone, Object)]
#[oai(rename_all = "camelCase")]
pub struct HealthReply {
    /// Always `ok` while the server answers.
    pub status: String,
    /// The server's version.
    pub version: String,
    /// Whether a Gemini key is configured.
    pub gemini_configured: bool,
    /// The upstream state.
    pub upstream: UpstreamReply,
    /// The limit store.
    pub limits: LimitsReply,
}

#[OpenApi(tag = "ApiTags::Meta")]
impl MetaApi {
    /// Server health
    ///
    /// Liveness and the Gemini state as last observed (`region_blocked` means
    /// Google refuses this server's address). Needs no session; never calls Gemini.
    #[oai(path = "/api/health", method = "get", operation_id = "health")]
    async fn health(&self) -> Json<HealthReply> {
        let (state, at) = self.upstream.get();
        let (store, ok) = self.limits.probe_store().await;
        let store = if store == "redis" {
            LimitStore::Redis
        } else {
            LimitStore::Memory
        };
        Json(HealthReply {
            status: "ok".to_owned(),
            version: env!("CARGO_PKG_VERSION").to_owned(),
            gemini_configured: self.gemini_configured,
            upstream: UpstreamReply {
                state,
                checked_at: at.map(|t| humantime::format_rfc3339_seconds(t).to_string()),
            },
            limits: LimitsReply { store, ok },
        })
    }
}
