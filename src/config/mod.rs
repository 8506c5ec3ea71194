//! Configuration: built-in defaults ← optional TOML file ← environment.
//!
//! Owns every setting (defined once, in `table.rs`), how values are read
//! (`value.rs`, `source.rs`), their start-up checks, the redacted display and the
//! README's reference table. It must not read anything else from the environment,
//! never print a secret's value (not even in an error), and no secret may leave it
//! except through `ExposeSecret` at the point of use.
//!
//! - `table.rs`: the settings — type, env name, default, form, meaning, check;
//! - `mod.rs` (here): the `Config` struct, one documented field per setting;
//! - `setting.rs`: what a row is, and the macro that reads `Config` by the table;
//! - `value.rs`: reading a value from its text (numbers parsed, text verbatim);
//! - `source.rs`: the layers (defaults, TOML file, environment) and unknown names;
//! - `reference.rs`: the README's table, and the tests that hold the docs to it.

mod reference;
mod setting;
mod source;
mod table;
#[cfg(test)]
mod tests;
mod value;

use std::{fmt::Write as _, net::SocketAddr, path::Path, time::Duration};

use ipnet::IpNet;
use secrecy::{ExposeSecret, SecretString};
use url::Url;

pub use reference::markdown_table;
pub use setting::{DefaultValue, Form, Setting};
pub use source::NOT_SETTINGS;
pub use table::{LogFormat, SETTINGS, StartupProbe};

/// A configuration error: one line naming the setting (or the file, line and column)
/// and what is wrong — never a secret's value.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// A value of the wrong form.
    #[error("invalid configuration: {env} (TOML key `{key}`, from {origin}): {problem}; expected {expected}")]
    Invalid {
        /// The TOML key.
        key: &'static str,
        /// The environment variable.
        env: &'static str,
        /// Where the value came from ("the environment", "the configuration file …").
        origin: String,
        /// What is wrong.
        problem: String,
        /// What a valid value looks like.
        expected: String,
    },
    /// A key in the TOML file that is no setting.
    #[error("invalid configuration: unknown setting `{key}` in the configuration file {file}{hint}")]
    UnknownKey {
        /// The key as written.
        key: String,
        /// The file.
        file: String,
        /// "; did you mean `…`?", or nothing.
        hint: String,
    },
    /// Settings that are each valid but not together (a certificate without its key).
    #[error("invalid configuration: {0}")]
    Together(String),
    /// The configuration file cannot be read.
    #[error("invalid configuration: cannot read the configuration file {file}: {reason}")]
    Unreadable {
        /// The file.
        file: String,
        /// Why (the system's reason).
        reason: String,
    },
    /// The configuration file is not valid TOML.
    #[error(
        "invalid configuration: the configuration file {file} is not valid TOML: {message} (line {line}, column {column})"
    )]
    Syntax {
        /// The file.
        file: String,
        /// 1-based line.
        line: usize,
        /// 1-based column.
        column: usize,
        /// What is wrong (the parser's phrase, never the text).
        message: String,
    },
}

impl ConfigError {
    fn invalid(setting: &Setting, origin: &str, problem: impl Into<String>) -> Self {
        ConfigError::Invalid {
            key: setting.key,
            env: setting.env,
            origin: origin.to_owned(),
            problem: problem.into(),
            expected: setting.form.expected(),
        }
    }
}

/// The effective configuration of one server: one field per row of
/// [`SETTINGS`] (`table.rs`), which says how each is read and checked; the
/// extraction there builds this struct field by field, so a field without a row,
/// or a row without a field, does not compile.
#[derive(Debug, Clone)]
pub struct Config {
    /// `GEMINI_API_KEY`: the server's Gemini key; `WELD_GEMINI_API_KEYS` adds more.
    pub gemini_api_key: Option<SecretString>,
    /// `WELD_GEMINI_API_KEYS`: more keys, tried in order after `GEMINI_API_KEY` when one is over
    /// quota or rejected.
    pub gemini_api_keys: Vec<SecretString>,
    /// `WELD_GEMINI_MODEL`: model id; the default is the moving alias, because Google retires fixed
    /// ids often.
    pub gemini_model: String,
    /// `WELD_GEMINI_FALLBACK_MODELS`: models tried in order when the model is overloaded, over
    /// quota or gone (404).
    pub gemini_fallback_models: Vec<String>,
    /// `WELD_GEMINI_BASE_URL`: upstream base (tests point it at a fake).
    pub gemini_base_url: Url,
    /// `WELD_GEMINI_CA_FILE`: more roots to trust for `WELD_GEMINI_BASE_URL` (an egress proxy that
    /// inspects TLS, or a local stand-in); read once at start-up.
    pub gemini_ca_file: Option<String>,
    /// `WELD_GEMINI_TIMEOUT_SECONDS`: bound on one upstream attempt (for a stream: until its first
    /// byte, then between chunks); retries stop once twice this has passed.
    pub gemini_timeout_seconds: u64,
    /// `WELD_LISTEN`: listen address.
    pub listen: SocketAddr,
    /// `WELD_PUBLIC_URL`: the site's public URL (origin check, logs).
    pub public_url: Option<Url>,
    /// `WELD_SESSION_SECRET`: signs the session cookie; set it so sessions survive restarts
    /// (`openssl rand -base64 48`).
    pub session_secret: Option<SecretString>,
    /// `WELD_SESSION_TTL_HOURS`: session lifetime.
    pub session_ttl_hours: u64,
    /// `WELD_COOKIE_SECURE`: the session cookie's `Secure` flag; `false` only for plain-HTTP LAN
    /// use.
    pub cookie_secure: bool,
    /// `WELD_ACCESS_CODE`: when set, a session needs this code.
    pub access_code: Option<SecretString>,
    /// `WELD_API_TOKENS`: tokens accepted in `X-Proxy-Token`.
    pub api_tokens: Vec<SecretString>,
    /// `WELD_ALLOWED_ORIGINS`: extra origins allowed by CORS.
    pub allowed_origins: Vec<String>,
    /// `WELD_RATE_LIMIT_PER_MINUTE`: chat + analyze requests **per person** (one session cookie or
    /// one API token) per minute — exactly this, not a fraction of it.
    pub rate_limit_per_minute: u32,
    /// `WELD_RATE_LIMIT_BURST`: requests one person may make at once (the burst of that limit).
    pub rate_limit_burst: u32,
    /// `WELD_RATE_LIMIT_PER_IP_PER_MINUTE`: chat + analyze requests of **everyone behind one client
    /// address** together per minute (a school's NAT, a mobile carrier's CGNAT); IPv6 clients are
    /// grouped by /64. The defaults let 30 people on one address each ask 2 questions at once.
    pub rate_limit_per_ip_per_minute: u32,
    /// `WELD_RATE_LIMIT_PER_IP_BURST`: requests everyone behind one address may make at once (the
    /// burst of the per-address limit).
    pub rate_limit_per_ip_burst: u32,
    /// `WELD_REDIS_URL`: `redis://…` or `rediss://…` (Redis or Valkey): rate limits and the daily
    /// budget are shared by every replica that points at it. Unset: kept in the process.
    /// Unreachable: rate limits fall back to the process, the budget (if set) refuses AI calls with
    /// 503 `limits_unavailable`; `/api/health` says which store is in use and whether it answers.
    pub redis_url: Option<SecretString>,
    /// `WELD_TRUSTED_PROXIES`: proxies whose `X-Forwarded-For`/`Forwarded` is believed.
    pub trusted_proxies: Vec<IpNet>,
    /// `WELD_MAX_IMAGES`: photos per analysis (face, root, side… of one weld, sent to Gemini in one
    /// request).
    pub max_images: usize,
    /// `WELD_MAX_IMAGE_BYTES`: decoded limit per photo; an analyze body may be `WELD_MAX_IMAGES` ×
    /// 4/3 of it plus 64 KiB.
    pub max_image_bytes: usize,
    /// `WELD_MAX_CHAT_BYTES`: chat request body limit.
    pub max_chat_bytes: usize,
    /// `WELD_VOICE_MAX_BYTES`: decoded limit of a spoken question's recording
    /// (`/api/chat/voice*`); its body may be 4/3 of it plus `WELD_MAX_CHAT_BYTES`.
    pub voice_max_bytes: usize,
    /// `WELD_VOICE_MAX_SECONDS`: the longest spoken question, read from the recording's header
    /// (WAV, AIFF, FLAC, OGG) or frames (MP3, AAC).
    pub voice_max_seconds: u64,
    /// `WELD_REQUEST_TIMEOUT_SECONDS`: a request's headers must arrive within it (else the
    /// connection is closed); a body within it plus 1 s per 16 KiB (else 408 `request_timeout`).
    pub request_timeout_seconds: u64,
    /// `WELD_SSE_KEEPALIVE_SECONDS`: seconds between `: keepalive` comments of a quiet stream, so
    /// idle proxies do not cut a slow answer.
    pub sse_keepalive_seconds: u64,
    /// `WELD_DAILY_REQUEST_BUDGET`: cap on Gemini calls per UTC day, all users.
    pub daily_request_budget: Option<u64>,
    /// `WELD_WORKERS`: worker threads, each with its own listening socket and Gemini
    /// connections; `0`: one work-stealing runtime shared by all connections; `None`: one
    /// per core.
    pub workers: Option<u64>,
    /// `WELD_GEMINI_RPM`: the model's requests per minute on the Gemini plan; `None`: learned
    /// from Google's 429s. Questions past it wait in line instead of failing.
    pub gemini_rpm: Option<u64>,
    /// `WELD_GEMINI_FALLBACK_RPM`: the same for each fallback model.
    pub gemini_fallback_rpm: Option<u64>,
    /// `WELD_QUEUE_PER_PERSON`: questions one person may have waiting for Gemini's quota.
    pub queue_per_person: u64,
    /// `WELD_QUEUE_MAX`: questions waiting for Gemini's quota in all, on this replica.
    pub queue_max: u64,
    /// `WELD_QUEUE_MAX_WAIT_SECONDS`: the longest a question waits for Gemini's quota.
    pub queue_max_wait_seconds: u64,
    /// `WELD_STARTUP_PROBE`: how the start-up probe asks Gemini: `generate` (one token; sees a
    /// geo-block), `models` (free, cannot see one), `off`.
    pub startup_probe: StartupProbe,
    /// `WELD_METRICS`: serve `/metrics`.
    pub metrics: bool,
    /// `WELD_DOMAIN`: the site's host names: when set, the server gets a certificate for them over
    /// ACME and serves HTTPS; plain HTTP then answers `/api/health` and redirects everything else.
    pub domain: Vec<String>,
    /// `WELD_HTTPS_LISTEN`: where HTTPS listens when `WELD_DOMAIN` or `WELD_TLS_CERT_FILE` is set.
    pub https_listen: SocketAddr,
    /// `WELD_ACME_DIRECTORY_URL`: the ACME directory certificates are ordered from.
    pub acme_directory_url: Url,
    /// `WELD_ACME_EMAIL`: the contact the certificate authority may write to.
    pub acme_email: Option<String>,
    /// `WELD_ACME_CA_FILE`: more roots to trust for the ACME server itself; read once at start-up.
    pub acme_ca_file: Option<String>,
    /// `WELD_TLS_CACHE_DIR`: where the ACME account key and the certificates are kept.
    pub tls_cache_dir: Option<String>,
    /// `WELD_TLS_CERT_FILE`: an operator's own certificate chain instead of ACME.
    pub tls_cert_file: Option<String>,
    /// `WELD_TLS_KEY_FILE`: the private key of `WELD_TLS_CERT_FILE`.
    pub tls_key_file: Option<String>,
    /// `WELD_LOG_FORMAT`: `json` for log shippers.
    pub log_format: LogFormat,
}

/// A loaded configuration and the warnings to log once logging is set up.
#[derive(Debug)]
pub struct Loaded {
    /// The configuration.
    pub config: Config,
    /// One line each, e.g. an unknown `WELD_*` variable.
    pub warnings: Vec<String>,
}

impl Config {
    /// Loads and checks the configuration: defaults ← `file` ← the environment.
    pub fn load(file: Option<&Path>) -> Result<Loaded, ConfigError> {
        let config = Self::extract(&source::layers(file)?)?;
        config.check_together()?;
        let names = std::env::vars_os().filter_map(|(name, _)| name.into_string().ok());
        Ok(Loaded {
            config,
            warnings: source::unknown_variables(names),
        })
    }

    /// The defaults alone: the base of tests' configurations.
    pub fn defaults() -> Self {
        #[allow(clippy::expect_used)]
        Self::extract(&source::defaults()).expect("built-in defaults are valid")
    }

    /// Every configured Gemini key, in the order they are tried, without repeats.
    pub fn gemini_keys(&self) -> Vec<SecretString> {
        let mut keys: Vec<SecretString> = Vec::new();
        for key in self.gemini_api_key.iter().chain(&self.gemini_api_keys) {
            if !keys.iter().any(|k| k.expose_secret() == key.expose_secret()) {
                keys.push(key.clone());
            }
        }
        keys
    }

    /// The rules between settings, which no single row can check.
    pub fn check_together(&self) -> Result<(), ConfigError> {
        let together = |message: &str| Err(ConfigError::Together(message.to_owned()));
        match (&self.tls_cert_file, &self.tls_key_file) {
            (Some(_), None) => {
                return together(
                    "WELD_TLS_CERT_FILE is set but WELD_TLS_KEY_FILE is not: set both (the PEM certificate chain and its private key), or neither",
                );
            }
            (None, Some(_)) => {
                return together(
                    "WELD_TLS_KEY_FILE is set but WELD_TLS_CERT_FILE is not: set both (the PEM certificate chain and its private key), or neither",
                );
            }
            _ => {}
        }
        if !self.domain.is_empty() && self.tls_cert_file.is_none() && self.tls_cache_dir.is_none() {
            return together(
                "WELD_DOMAIN is set but WELD_TLS_CACHE_DIR is not: the account key and certificates need a directory the server can write that survives restarts (a volume), e.g. WELD_TLS_CACHE_DIR=/data/tls",
            );
        }
        if self.https_listen == self.listen && self.listen.port() != 0 && self.serves_https() {
            return together(
                "WELD_HTTPS_LISTEN and WELD_LISTEN are the same address: give HTTPS its own port",
            );
        }
        Ok(())
    }

    /// Whether the server serves HTTPS itself (a domain for ACME, or a certificate file).
    pub fn serves_https(&self) -> bool {
        !self.domain.is_empty() || self.tls_cert_file.is_some()
    }

    /// The session cookie's `Secure` flag: always with a domain (the site is HTTPS),
    /// else `WELD_COOKIE_SECURE`.
    pub fn session_cookie_secure(&self) -> bool {
        self.cookie_secure || !self.domain.is_empty()
    }

    /// Where connections are served (`WELD_WORKERS`).
    pub fn workers(&self) -> crate::server::Workers {
        match self.workers {
            Some(0) => crate::server::Workers::Shared,
            Some(n) => crate::server::Workers::PerCore(usize::try_from(n).unwrap_or(1)),
            None => crate::server::Workers::PerCore(
                std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get),
            ),
        }
    }

    /// The upstream attempt timeout.
    pub fn gemini_timeout(&self) -> Duration {
        Duration::from_secs(self.gemini_timeout_seconds)
    }

    /// The largest body `/api/analyze*` accepts: the base64 of `max_images` photos
    /// at the photo limit, plus 64 KiB for the note and the JSON around them. Enforced
    /// before the body is read.
    pub fn max_analyze_body_bytes(&self) -> usize {
        self.max_images
            .saturating_mul(self.max_image_bytes.div_ceil(3) * 4)
            .saturating_add(64 * 1024)
    }

    /// The largest body `/api/chat/voice*` accepts: the base64 of a recording at
    /// the limit plus a chat body's worth for the history. Enforced before the
    /// body is read.
    pub fn max_voice_body_bytes(&self) -> usize {
        (self.voice_max_bytes.div_ceil(3) * 4).saturating_add(self.max_chat_bytes)
    }

    /// The effective configuration as TOML, one `key = value` line per setting in
    /// table order, with every secret redacted.
    pub fn redacted_toml(&self) -> String {
        let mut out = String::new();
        for (key, value) in self.shown() {
            let _ = writeln!(out, "{key} = {value}");
        }
        out
    }
}
