//! `GET /api/health`: liveness plus what the server last learned about Gemini
//! (read from `upstream`, which the Gemini client and its start-up probe write)
//! and, when the server serves HTTPS itself, its certificate (read from `tls`).
//! Never calls Gemini itself; asks the limit store (Redis, when configured) one
//! bounded `PING`.

use poem_openapi::{Enum, Object, OpenApi, payload::Json};

use super::ApiTags;
use crate::{
    guard::rate_limit::RateLimits,
    quota::{Line, clock::rfc3339},
    tls::{Problem, Source, TlsStatus},
    upstream::{UpstreamState, UpstreamStatus},
};

/// Health and service information.
pub struct MetaApi {
    upstream: UpstreamStatus,
    gemini_configured: bool,
    limits: RateLimits,
    line: Line,
    tls: Option<TlsStatus>,
}

impl MetaApi {
    /// The API over the shared upstream status (read only), the rate limits
    /// (whose store it asks whether it answers) and the quota line.
    pub fn new(
        upstream: UpstreamStatus,
        gemini_configured: bool,
        limits: RateLimits,
        line: Line,
        tls: Option<TlsStatus>,
    ) -> Self {
        Self {
            upstream,
            gemini_configured,
            limits,
            line,
            tls,
        }
    }
}

/// The state of Gemini's quota as this server knows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum)]
#[oai(rename_all = "snake_case")]
pub enum QuotaState {
    /// Questions go straight to Gemini.
    Ok,
    /// Questions wait in line for the minute's quota to free.
    Waiting,
    /// Every model's daily quota is used up: questions are refused until `resetsAt`.
    Day,
}

/// One model's quota.
#[derive(Debug, Clone, Object)]
#[oai(rename_all = "camelCase")]
pub struct ModelQuotaReply {
    /// The model id.
    pub model: String,
    /// `ok`, `minute` (this minute's quota is taken) or `day` (used up until `resetsAt`).
    pub state: String,
    /// The requests per minute in use: `WELD_GEMINI_RPM` / `WELD_GEMINI_FALLBACK_RPM`, or learned from Google's 429s.
    #[oai(skip_serializing_if_is_none)]
    pub rpm: Option<u32>,
    /// Calls this server sent to it in the last minute.
    pub sent_last_minute: u64,
    /// When a `day` model's quota comes back (midnight Pacific time, RFC 3339 UTC).
    #[oai(skip_serializing_if_is_none)]
    pub resets_at: Option<String>,
}

/// Gemini's quota and the waiting line in front of it.
#[derive(Debug, Clone, Object)]
#[oai(rename_all = "camelCase")]
pub struct QuotaReply {
    /// The state.
    pub state: QuotaState,
    /// Questions waiting in line on this server.
    pub waiting: u64,
    /// With `day`: when the first model's daily quota comes back (RFC 3339 UTC).
    #[oai(skip_serializing_if_is_none)]
    pub resets_at: Option<String>,
    /// Each model, in the order calls try them.
    pub models: Vec<ModelQuotaReply>,
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

/// The state of the server's own HTTPS certificate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum)]
#[oai(rename_all = "snake_case")]
pub enum CertificateState {
    /// A valid certificate is served.
    Ok,
    /// None obtained yet (see `problem`): HTTPS handshakes fail until it is.
    Pending,
    /// The served certificate has expired (renewal keeps failing, or the files are old).
    Expired,
}

/// Where the certificate comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum)]
#[oai(rename_all = "snake_case")]
pub enum CertificateSource {
    /// Ordered over ACME for `WELD_DOMAIN`.
    Acme,
    /// `WELD_TLS_CERT_FILE` and `WELD_TLS_KEY_FILE`.
    Files,
}

/// Why the last attempt to obtain, renew or reload the certificate failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum)]
#[oai(rename_all = "snake_case")]
pub enum CertificateProblem {
    /// The CA cannot resolve the domain: the A record is missing or not yet seen.
    Dns,
    /// The CA cannot connect to the domain on port 443: the port mapping or the firewall.
    Connection,
    /// The CA reached another server on port 443 (a wrong A record, another proxy).
    Challenge,
    /// The CA's rate limit.
    RateLimited,
    /// The ACME server cannot be reached from this server.
    AcmeUnreachable,
    /// The CA refused the order for another reason (the log says which).
    Refused,
    /// `WELD_TLS_CACHE_DIR` cannot be written.
    Cache,
    /// The certificate files cannot be read or do not match.
    Files,
}

/// The server's own HTTPS certificate (present when it serves HTTPS itself).
#[derive(Debug, Clone, Object)]
#[oai(rename_all = "camelCase")]
pub struct CertificateReply {
    /// The state.
    pub state: CertificateState,
    /// Where it comes from.
    pub source: CertificateSource,
    /// When the served certificate ends (RFC 3339 UTC); absent while `pending`.
    #[oai(skip_serializing_if_is_none)]
    pub expires_at: Option<String>,
    /// Why the last attempt failed; absent once one succeeds. The log has the detail.
    #[oai(skip_serializing_if_is_none)]
    pub problem: Option<CertificateProblem>,
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
    /// Gemini's quota and the waiting line.
    pub quota: QuotaReply,
    /// The HTTPS certificate, when the server serves HTTPS itself (`WELD_DOMAIN`, `WELD_TLS_CERT_FILE`).
    #[oai(skip_serializing_if_is_none)]
    pub tls: Option<CertificateReply>,
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
            quota: self.quota(),
            tls: self.tls.as_ref().map(certificate),
        })
    }
}

fn certificate(status: &TlsStatus) -> CertificateReply {
    let snapshot = status.get();
    let state = match snapshot.expires_at {
        None => CertificateState::Pending,
        Some(end) if end <= std::time::SystemTime::now() => CertificateState::Expired,
        Some(_) => CertificateState::Ok,
    };
    CertificateReply {
        state,
        source: match snapshot.source {
            Source::Acme => CertificateSource::Acme,
            Source::Files => CertificateSource::Files,
        },
        expires_at: snapshot
            .expires_at
            .map(|t| humantime::format_rfc3339_seconds(t).to_string()),
        problem: snapshot.problem.map(|p| match p {
            Problem::Dns => CertificateProblem::Dns,
            Problem::Connection => CertificateProblem::Connection,
            Problem::Challenge => CertificateProblem::Challenge,
            Problem::RateLimited => CertificateProblem::RateLimited,
            Problem::AcmeUnreachable => CertificateProblem::AcmeUnreachable,
            Problem::Refused => CertificateProblem::Refused,
            Problem::Cache => CertificateProblem::Cache,
            Problem::Files => CertificateProblem::Files,
        }),
    }
}

impl MetaApi {
    fn quota(&self) -> QuotaReply {
        let book = self.line.book();
        let day = book.day_gone();
        let waiting = self.line.len() as u64;
        let models: Vec<ModelQuotaReply> = book
            .status()
            .into_iter()
            .map(|m| ModelQuotaReply {
                model: m.model,
                state: m.state.to_owned(),
                rpm: m.rpm,
                sent_last_minute: m.sent_last_minute as u64,
                resets_at: m.resets_at.map(rfc3339),
            })
            .collect();
        let state = if day.is_some() {
            QuotaState::Day
        } else if waiting > 0 || (!models.is_empty() && models.iter().all(|m| m.state != "ok")) {
            QuotaState::Waiting
        } else {
            QuotaState::Ok
        };
        QuotaReply {
            state,
            waiting,
            resets_at: day.map(rfc3339),
            models,
        }
    }
}
