//! The settings, each defined once: its type, environment name, default, form and
//! meaning. `SETTINGS`, the defaults, the start-up checks, the redacted view and the
//! README's table (`weld-assistant config --reference`) are all produced from this
//! table; reading it builds the `Config` struct (`mod.rs`) field by field, and tests
//! hold `.env.example` and `weld-assistant.example.toml` to it. A setting's TOML key
//! is its field name.
//!
//! To add a setting: add a row here (the type decides how it is read and whether it
//! is secret; a `range` is checked at start-up; `check` adds a rule of its own), add
//! its field to `Config` in `mod.rs` with its env name and meaning (the compiler says
//! when the two disagree), run `bash scripts/check-config-docs.sh --write` to
//! regenerate the README's table, and add it to `.env.example` and
//! `weld-assistant.example.toml` (the tests say what is missing). Nothing else lists
//! settings.

use std::net::SocketAddr;

use ipnet::IpNet;
use secrecy::{ExposeSecret, SecretString};
use url::Url;

use super::{
    Config,
    setting::{DefaultValue::*, range, settings, text},
    value::{quoted, words},
};

settings! {
    gemini_api_key: Option<SecretString> {
        env: "GEMINI_API_KEY",
        default: Unset,
        form: text("a Gemini API key (printable ASCII, no spaces)"),
        meaning: "the server's Gemini key; `WELD_GEMINI_API_KEYS` adds more",
        check: |key| match key {
            Some(key) if !printable(key) => Err("the key has spaces or non-ASCII characters".to_owned()),
            _ => Ok(()),
        },
    },
    gemini_api_keys: Vec<SecretString> {
        env: "WELD_GEMINI_API_KEYS",
        default: Unset,
        form: text("a comma-separated list of Gemini API keys"),
        meaning: "more keys, tried in order after `GEMINI_API_KEY` when one is over quota or rejected",
        check: |keys| match keys.iter().find(|k| !printable(k)) {
            Some(_) => Err("a key has spaces or non-ASCII characters".to_owned()),
            None => Ok(()),
        },
    },
    gemini_model: String {
        env: "WELD_GEMINI_MODEL",
        default: Text("gemini-flash-latest"),
        form: text("a model id (letters, digits, `.`, `-`, `_`)"),
        meaning: "model id; the default is the moving alias, because Google retires fixed ids often",
        check: |model| model_id(model),
    },
    gemini_fallback_models: Vec<String> {
        env: "WELD_GEMINI_FALLBACK_MODELS",
        default: Text("gemini-flash-lite-latest"),
        form: text("a comma-separated list of model ids"),
        meaning: "models tried in order when the model is overloaded, over quota or gone (404)",
        check: |models| models.iter().try_for_each(|m| model_id(m)),
    },
    gemini_base_url: Url {
        env: "WELD_GEMINI_BASE_URL",
        default: Text("https://generativelanguage.googleapis.com"),
        form: text("an http(s) URL"),
        meaning: "upstream base (tests point it at a fake)",
        check: |url| match url.scheme() {
            "http" | "https" => Ok(()),
            _ => Err("the URL is not http(s)".to_owned()),
        },
    },
    gemini_ca_file: Option<String> {
        env: "WELD_GEMINI_CA_FILE",
        default: UnsetMeans("the built-in Mozilla roots only"),
        form: text("the path of a PEM file with one or more CA certificates"),
        meaning: "more roots to trust for `WELD_GEMINI_BASE_URL` (an egress proxy that inspects TLS, or a local stand-in); read once at start-up",
        check: |path| match path {
            Some(path) => pem_bundle(path),
            None => Ok(()),
        },
    },
    gemini_timeout_seconds: u64 {
        env: "WELD_GEMINI_TIMEOUT_SECONDS",
        default: Text("60"),
        form: range(1, 600, "seconds"),
        meaning: "bound on one upstream attempt (for a stream: until its first byte, then between chunks); retries stop once twice this has passed",
    },
    listen: SocketAddr {
        env: "WELD_LISTEN",
        default: Text("0.0.0.0:8080"),
        form: text("an address and port such as `127.0.0.1:8080`"),
        meaning: "listen address",
    },
    public_url: Option<Url> {
        env: "WELD_PUBLIC_URL",
        default: Unset,
        form: text("an http(s) URL with a host such as `https://weld.example.org`"),
        meaning: "the site's public URL (origin check, logs)",
        check: |url| match url {
            Some(url) if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() => {
                Err("the URL is not http(s) with a host".to_owned())
            }
            _ => Ok(()),
        },
    },
    session_secret: Option<SecretString> {
        env: "WELD_SESSION_SECRET",
        default: UnsetMeans("random per start (warns)"),
        form: text("a secret of at least 32 bytes"),
        meaning: "signs the session cookie; set it so sessions survive restarts (`openssl rand -base64 48`)",
        check: |secret| match secret {
            Some(secret) if secret.expose_secret().len() < 32 => {
                Err("the secret is shorter than 32 bytes".to_owned())
            }
            _ => Ok(()),
        },
    },
    session_ttl_hours: u64 {
        env: "WELD_SESSION_TTL_HOURS",
        default: Text("168"),
        form: range(1, 8760, "hours"),
        meaning: "session lifetime",
    },
    cookie_secure: bool {
        env: "WELD_COOKIE_SECURE",
        default: Text("true"),
        form: text("`true` or `false`"),
        meaning: "the session cookie's `Secure` flag; `false` only for plain-HTTP LAN use",
    },
    access_code: Option<SecretString> {
        env: "WELD_ACCESS_CODE",
        default: Unset,
        form: text("any text, taken verbatim (`0451` stays `0451`)"),
        meaning: "when set, a session needs this code",
    },
    api_tokens: Vec<SecretString> {
        env: "WELD_API_TOKENS",
        default: Unset,
        form: text("a comma-separated list of tokens"),
        meaning: "tokens accepted in `X-Proxy-Token`",
    },
    allowed_origins: Vec<String> {
        env: "WELD_ALLOWED_ORIGINS",
        default: Unset,
        form: text("a comma-separated list of origins such as `https://app.example.org`"),
        meaning: "extra origins allowed by CORS",
        check: |origins| origins.iter().try_for_each(|o| origin(o)),
    },
    rate_limit_per_minute: u32 {
        env: "WELD_RATE_LIMIT_PER_MINUTE",
        default: Text("20"),
        form: range(1, 10_000_000, ""),
        meaning: "chat + analyze requests **per person** (one session cookie or one API token) per minute — exactly this, not a fraction of it",
    },
    rate_limit_burst: u32 {
        env: "WELD_RATE_LIMIT_BURST",
        default: Text("5"),
        form: range(1, 10_000_000, ""),
        meaning: "requests one person may make at once (the burst of that limit)",
    },
    rate_limit_per_ip_per_minute: u32 {
        env: "WELD_RATE_LIMIT_PER_IP_PER_MINUTE",
        default: Text("120"),
        form: range(1, 10_000_000, ""),
        meaning: "chat + analyze requests of **everyone behind one client address** together per minute (a school's NAT, a mobile carrier's CGNAT); IPv6 clients are grouped by /64. The defaults let 30 people on one address each ask 2 questions at once",
    },
    rate_limit_per_ip_burst: u32 {
        env: "WELD_RATE_LIMIT_PER_IP_BURST",
        default: Text("60"),
        form: range(1, 10_000_000, ""),
        meaning: "requests everyone behind one address may make at once (the burst of the per-address limit)",
    },
    redis_url: Option<SecretString> {
        env: "WELD_REDIS_URL",
        default: Unset,
        form: text("a `redis://` or `rediss://` URL (Redis or Valkey; it may hold a password)"),
        meaning: "`redis://…` or `rediss://…` (Redis or Valkey): rate limits and the daily budget are shared by every replica that points at it. Unset: kept in the process. Unreachable: rate limits fall back to the process, the budget (if set) refuses AI calls with 503 `limits_unavailable`; `/api/health` says which store is in use and whether it answers",
        check: |url| match url {
            Some(url) => redis_url(url.expose_secret()),
            None => Ok(()),
        },
    },
    trusted_proxies: Vec<IpNet> {
        env: "WELD_TRUSTED_PROXIES",
        default: Unset,
        form: text("a comma-separated list of CIDRs such as `10.0.0.0/8,::1/128`"),
        meaning: "proxies whose `X-Forwarded-For`/`Forwarded` is believed",
    },
    max_images: usize {
        env: "WELD_MAX_IMAGES",
        default: Text("4"),
        form: range(1, 10, "photos"),
        meaning: "photos per analysis (face, root, side… of one weld, sent to Gemini in one request)",
    },
    max_image_bytes: usize {
        env: "WELD_MAX_IMAGE_BYTES",
        default: Text("10485760"),
        form: range(1024, 104_857_600, "bytes"),
        meaning: "decoded limit per photo; an analyze body may be `WELD_MAX_IMAGES` × 4/3 of it plus 64 KiB",
    },
    max_chat_bytes: usize {
        env: "WELD_MAX_CHAT_BYTES",
        default: Text("1048576"),
        form: range(1024, 104_857_600, "bytes"),
        meaning: "chat request body limit",
    },
    voice_max_bytes: usize {
        env: "WELD_VOICE_MAX_BYTES",
        default: Text("2097152"),
        form: range(1024, 20_971_520, "bytes"),
        meaning: "decoded limit of a spoken question's recording (`/api/chat/voice*`); its body may be 4/3 of it plus `WELD_MAX_CHAT_BYTES`",
    },
    voice_max_seconds: u64 {
        env: "WELD_VOICE_MAX_SECONDS",
        default: Text("60"),
        form: range(1, 600, "seconds"),
        meaning: "the longest spoken question, read from the recording's header (WAV, AIFF, FLAC, OGG) or frames (MP3, AAC)",
    },
    request_timeout_seconds: u64 {
        env: "WELD_REQUEST_TIMEOUT_SECONDS",
        default: Text("30"),
        form: range(1, 600, "seconds"),
        meaning: "a request's headers must arrive within it (else the connection is closed), and a keep-alive connection is closed after waiting this long for its next request; a body within it plus 1 s per 16 KiB (else 408 `request_timeout`)",
    },
    workers: Option<u64> {
        env: "WELD_WORKERS",
        default: UnsetMeans("one per core"),
        form: range(0, 256, "worker threads"),
        meaning: "worker threads, each with its own listening socket (`SO_REUSEPORT`) and Gemini connections, so a request stays on one thread; `0`: one work-stealing runtime shared by all connections",
    },
    sse_keepalive_seconds: u64 {
        env: "WELD_SSE_KEEPALIVE_SECONDS",
        default: Text("15"),
        form: range(1, 300, "seconds"),
        meaning: "seconds between `: keepalive` comments of a quiet stream, so idle proxies do not cut a slow answer",
    },
    daily_request_budget: Option<u64> {
        env: "WELD_DAILY_REQUEST_BUDGET",
        default: UnsetMeans("no cap"),
        form: range(0, 1_000_000_000, "requests"),
        meaning: "cap on Gemini calls per UTC day, all users",
    },
    gemini_rpm: Option<u64> {
        env: "WELD_GEMINI_RPM",
        default: UnsetMeans("learned from Google's 429s"),
        form: range(1, 1_000_000, "requests a minute"),
        meaning: "the model's requests per minute on your Gemini plan (free tier: about 5–15; tier 1: about 1,000); questions past it wait in line instead of failing",
    },
    gemini_fallback_rpm: Option<u64> {
        env: "WELD_GEMINI_FALLBACK_RPM",
        default: UnsetMeans("learned from Google's 429s"),
        form: range(1, 1_000_000, "requests a minute"),
        meaning: "the same for each of `WELD_GEMINI_FALLBACK_MODELS` (each model has its own quota)",
    },
    queue_per_person: u64 {
        env: "WELD_QUEUE_PER_PERSON",
        default: Text("3"),
        form: range(1, 100, "questions"),
        meaning: "questions one person (session or token) may have waiting for Gemini's quota at once; more get 503 `upstream_quota`",
    },
    queue_max: u64 {
        env: "WELD_QUEUE_MAX",
        default: Text("500"),
        form: range(1, 100_000, "questions"),
        meaning: "questions waiting for Gemini's quota in all, on this replica; more get 503 `upstream_quota`",
    },
    queue_max_wait_seconds: u64 {
        env: "WELD_QUEUE_MAX_WAIT_SECONDS",
        default: Text("120"),
        form: range(5, 3_600, "seconds"),
        meaning: "the longest a question waits for Gemini's quota; a longer wait is refused at once with 503 `upstream_quota` and `Retry-After`",
    },
    startup_probe: StartupProbe {
        env: "WELD_STARTUP_PROBE",
        default: Text("generate"),
        form: text("`generate`, `models` or `off`"),
        meaning: "how the start-up probe asks Gemini: `generate` (one token; sees a geo-block), `models` (free, cannot see one), `off`",
    },
    metrics: bool {
        env: "WELD_METRICS",
        default: Text("false"),
        form: text("`true` or `false`"),
        meaning: "serve `/metrics`",
    },
    domain: Vec<String> {
        env: "WELD_DOMAIN",
        default: UnsetMeans("no HTTPS of its own (plain HTTP on `WELD_LISTEN` only)"),
        form: text("a comma-separated list of host names such as `weld.example.org,www.weld.example.org`"),
        meaning: "the site's host names: when set, the server gets a certificate for them over ACME (TLS-ALPN-01 on `WELD_HTTPS_LISTEN`) and serves HTTPS; plain HTTP then answers `/api/health` and redirects everything else to `https://` + the first name",
        check: |names| names.iter().try_for_each(|n| domain_name(n)),
    },
    https_listen: SocketAddr {
        env: "WELD_HTTPS_LISTEN",
        default: Text("0.0.0.0:8443"),
        form: text("an address and port such as `0.0.0.0:8443`"),
        meaning: "where HTTPS listens when `WELD_DOMAIN` or `WELD_TLS_CERT_FILE` is set; map the public port 443 to it (`docker run -p 443:8443`)",
    },
    acme_directory_url: Url {
        env: "WELD_ACME_DIRECTORY_URL",
        default: Text("https://acme-v02.api.letsencrypt.org/directory"),
        form: text("an https URL of an ACME directory"),
        meaning: "the ACME directory certificates are ordered from: Let's Encrypt; for trials its staging directory `https://acme-staging-v02.api.letsencrypt.org/directory` (untrusted certificates, generous limits)",
        check: |url| match url.scheme() {
            "https" if url.host_str().is_some() => Ok(()),
            _ => Err("the URL is not https with a host".to_owned()),
        },
    },
    acme_email: Option<String> {
        env: "WELD_ACME_EMAIL",
        default: Unset,
        form: text("an e-mail address such as `admin@example.org`"),
        meaning: "the contact the certificate authority may write to about the certificates (optional)",
        check: |email| match email {
            Some(email) => email_address(email),
            None => Ok(()),
        },
    },
    acme_ca_file: Option<String> {
        env: "WELD_ACME_CA_FILE",
        default: UnsetMeans("the built-in Mozilla roots only"),
        form: text("the path of a PEM file with one or more CA certificates"),
        meaning: "more roots to trust for the ACME server itself (a private ACME server; tests); read once at start-up",
        check: |path| match path {
            Some(path) => pem_bundle(path),
            None => Ok(()),
        },
    },
    tls_cache_dir: Option<String> {
        env: "WELD_TLS_CACHE_DIR",
        default: UnsetMeans("none: `WELD_DOMAIN` needs it"),
        form: text("the path of a directory the server can write (created if missing)"),
        meaning: "where the ACME account key and the certificates are kept (files readable by the server's user only); a restart reuses them without a new order. The image sets `/data/tls` on its volume",
    },
    tls_cert_file: Option<String> {
        env: "WELD_TLS_CERT_FILE",
        default: Unset,
        form: text("the path of a PEM certificate chain, the server's certificate first"),
        meaning: "an operator's own certificate instead of ACME (with `WELD_TLS_KEY_FILE`); reloaded when the files change or on SIGHUP",
    },
    tls_key_file: Option<String> {
        env: "WELD_TLS_KEY_FILE",
        default: Unset,
        form: text("the path of a PEM private key (PKCS#8, PKCS#1 or SEC1)"),
        meaning: "the private key of `WELD_TLS_CERT_FILE`",
    },
    log_format: LogFormat {
        env: "WELD_LOG_FORMAT",
        default: Text("text"),
        form: text("`text` or `json`"),
        meaning: "`json` for log shippers",
    },
}

/// Log line format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum LogFormat {
    /// Human-readable lines.
    #[default]
    Text,
    /// One JSON object per line, for log shippers.
    Json,
}

words!(LogFormat {
    "text" => LogFormat::Text,
    "json" => LogFormat::Json,
});

/// How the start-up probe asks Gemini whether it answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum StartupProbe {
    /// Ask for one token: costs next to nothing and sees a geo-block.
    #[default]
    Generate,
    /// List the model: free, but Google answers it from blocked regions too.
    Models,
    /// No probe: the upstream state is learned from the first real call.
    Off,
}

words!(StartupProbe {
    "generate" => StartupProbe::Generate,
    "models" => StartupProbe::Models,
    "off" => StartupProbe::Off,
});

/// Printable ASCII without spaces: what an API key is made of.
fn printable(secret: &SecretString) -> bool {
    secret.expose_secret().bytes().all(|b| b.is_ascii_graphic())
}

/// A readable PEM file holding at least one certificate. The message names the
/// file (its path is not a secret) but quotes none of its content.
fn pem_bundle(path: &str) -> Result<(), String> {
    let bytes = std::fs::read(path).map_err(|e| format!("cannot read `{path}`: {}", e.kind()))?;
    match reqwest::Certificate::from_pem_bundle(&bytes) {
        Ok(certs) if !certs.is_empty() => Ok(()),
        _ => Err(format!("`{path}` holds no PEM certificate")),
    }
}

/// A URL the Redis client accepts, over `redis://` or `rediss://` only. The
/// message never repeats the URL: it may hold a password.
fn redis_url(url: &str) -> Result<(), String> {
    let scheme = url.split_once("://").map(|(scheme, _)| scheme);
    if !matches!(scheme, Some("redis" | "rediss")) {
        return Err("the URL does not start with `redis://` or `rediss://`".to_owned());
    }
    match redis::Client::open(url) {
        Ok(_) => Ok(()),
        Err(_) => Err("the Redis client cannot read the URL".to_owned()),
    }
}

/// A host name a public CA can issue for: letters, digits and `-` in dot-separated
/// labels of 1 to 63 characters, at least two labels, not an IP address, no wildcard.
fn domain_name(name: &str) -> Result<(), String> {
    let labels: Vec<&str> = name.split('.').collect();
    let label_ok = |l: &&str| {
        !l.is_empty()
            && l.len() <= 63
            && !l.starts_with('-')
            && !l.ends_with('-')
            && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
    };
    let numeric = labels
        .last()
        .is_some_and(|l| l.bytes().all(|b| b.is_ascii_digit()));
    if name.len() <= 253 && labels.len() >= 2 && labels.iter().all(label_ok) && !numeric {
        Ok(())
    } else if name.contains('*') {
        Err(format!("{} is a wildcard; name each host instead", quoted(name)))
    } else {
        Err(format!("{} is not a host name", quoted(name)))
    }
}

/// Roughly an e-mail address: one `@` with text on both sides, no spaces.
fn email_address(email: &str) -> Result<(), String> {
    let ok = email
        .split_once('@')
        .is_some_and(|(user, host)| !user.is_empty() && host.contains('.') && !host.contains('@'))
        && !email.chars().any(|c| c.is_whitespace() || c.is_control());
    if ok {
        Ok(())
    } else {
        Err(format!("{} is not an e-mail address", quoted(email)))
    }
}

fn model_id(id: &str) -> Result<(), String> {
    let ok = !id.is_empty()
        && id.len() <= 128
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b'_'));
    if ok {
        Ok(())
    } else {
        Err(format!("{} is not a model id", quoted(id)))
    }
}

fn origin(origin: &str) -> Result<(), String> {
    let ok = Url::parse(origin).is_ok_and(|u| {
        matches!(u.scheme(), "http" | "https")
            && u.host_str().is_some()
            && u.path() == "/"
            && u.query().is_none()
            && !origin.ends_with('/')
    });
    if ok {
        Ok(())
    } else {
        Err(format!("{} is not an origin", quoted(origin)))
    }
}
