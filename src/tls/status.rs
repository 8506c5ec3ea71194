//! What the server knows about its own certificate, for `/api/health` and the
//! log: where it comes from, until when it is valid, and — while there is none or
//! renewing fails — why, as one fixed word. Written by the ACME task or the file
//! watcher, read by the health endpoint.

use std::{
    sync::{Arc, Mutex},
    time::SystemTime,
};

/// Where the certificate comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    /// Ordered over ACME for `WELD_DOMAIN`.
    Acme,
    /// The operator's `WELD_TLS_CERT_FILE` and `WELD_TLS_KEY_FILE`.
    Files,
}

/// Why there is no (fresh) certificate: the last failure, as a fixed word.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Problem {
    /// The CA cannot resolve the domain (no A record, or a wrong one).
    Dns,
    /// The CA cannot connect to the domain on port 443.
    Connection,
    /// The CA reached a server that did not answer the challenge as this one would.
    Challenge,
    /// The CA's rate limit.
    RateLimited,
    /// The ACME server cannot be reached from here.
    AcmeUnreachable,
    /// The CA refused the order for another reason.
    Refused,
    /// The cache directory cannot be written.
    Cache,
    /// The operator's certificate files cannot be read or do not match.
    Files,
}

impl Problem {
    /// The word for `/api/health`.
    pub fn as_str(self) -> &'static str {
        match self {
            Problem::Dns => "dns",
            Problem::Connection => "connection",
            Problem::Challenge => "challenge",
            Problem::RateLimited => "rate_limited",
            Problem::AcmeUnreachable => "acme_unreachable",
            Problem::Refused => "refused",
            Problem::Cache => "cache",
            Problem::Files => "files",
        }
    }
}

/// The state of the certificate as health reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Snapshot {
    /// Where it comes from.
    pub source: Source,
    /// When the served certificate ends, if there is one.
    pub expires_at: Option<SystemTime>,
    /// The last failure since the last success, if any.
    pub problem: Option<Problem>,
}

/// The shared, cheap-to-clone certificate status.
#[derive(Debug, Clone)]
pub struct TlsStatus(Arc<Mutex<Snapshot>>);

impl TlsStatus {
    /// A status with no certificate yet.
    pub fn new(source: Source) -> Self {
        Self(Arc::new(Mutex::new(Snapshot {
            source,
            expires_at: None,
            problem: None,
        })))
    }

    /// The current state.
    pub fn get(&self) -> Snapshot {
        match self.0.lock() {
            Ok(s) => s.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }

    /// A certificate valid until `expires_at` is being served.
    pub fn served(&self, expires_at: SystemTime) {
        self.update(|s| {
            s.expires_at = Some(expires_at);
            s.problem = None;
        });
    }

    /// The last attempt failed.
    pub fn failed(&self, problem: Problem) {
        self.update(|s| s.problem = Some(problem));
    }

    fn update(&self, change: impl FnOnce(&mut Snapshot)) {
        match self.0.lock() {
            Ok(mut s) => change(&mut s),
            Err(poisoned) => change(&mut poisoned.into_inner()),
        }
    }
}
