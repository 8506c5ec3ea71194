//! What the server last learned about Gemini: the state `/api/health` reports.

use std::{
    sync::{Arc, Mutex},
    time::SystemTime,
};

/// The upstream state: from the start-up probe or the latest real Gemini call
/// (also the `state` of `/api/health`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, poem_openapi::Enum)]
#[oai(rename_all = "snake_case")]
pub enum UpstreamState {
    /// The last call succeeded.
    Ok,
    /// Google refuses calls from this server's address: move the server.
    RegionBlocked,
    /// Google rejected the key: check it.
    AuthFailed,
    /// The key's project is over quota.
    Quota,
    /// Gemini could not be reached or did not answer in time.
    Unreachable,
    /// No call has been made yet.
    Unknown,
}

impl UpstreamState {
    /// The wire name used by `/api/health`.
    pub fn as_str(self) -> &'static str {
        match self {
            UpstreamState::Ok => "ok",
            UpstreamState::RegionBlocked => "region_blocked",
            UpstreamState::AuthFailed => "auth_failed",
            UpstreamState::Quota => "quota",
            UpstreamState::Unreachable => "unreachable",
            UpstreamState::Unknown => "unknown",
        }
    }
}

/// Shared, cheap-to-clone record of the upstream state and when it was observed.
#[derive(Debug, Clone)]
pub struct UpstreamStatus {
    inner: Arc<Mutex<(UpstreamState, Option<SystemTime>)>>,
}

impl Default for UpstreamStatus {
    fn default() -> Self {
        Self {
            inner: Arc::new(Mutex::new((UpstreamState::Unknown, None))),
        }
    }
}

impl UpstreamStatus {
    /// Records an observation now.
    pub fn record(&self, state: UpstreamState) {
        if let Ok(mut guard) = self.inner.lock() {
            *guard = (state, Some(SystemTime::now()));
        }
    }

    /// The latest state and when it was observed.
    pub fn get(&self) -> (UpstreamState, Option<SystemTime>) {
        self.inner
            .lock()
            .map(|g| *g)
            .unwrap_or((UpstreamState::Unknown, None))
    }
}
