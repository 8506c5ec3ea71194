//! Configuration: built-in defaults ← optional TOML file ← environment (figment).
//!
//! Owns every setting of DESIGN.md's configuration table, its validation and its
//! redacted display. It must not read anything else from the environment, and no
//! secret may leave it except through `ExposeSecret` at the point of use.

use std::{fmt, net::SocketAddr, path::Path, time::Duration};

use figment::{
    Figment,
    providers::{Env, Format, Serialized, Toml},
};
use ipnet::IpNet;
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Deserializer, Serialize, de};
use url::Url;

/// Every setting, as its TOML key, with the environment variable that sets it and
/// the form a valid value has. The order is the order of DESIGN.md.
pub const SETTINGS: &[Setting] = &[
    Setting::new("gemini_api_key", "GEMINI_API_KEY", "the Gemini API key (text)"),
    Setting::new(
        "gemini_api_keys",
        "WELD_GEMINI_API_KEYS",
        "a comma-separated list of Gemini API keys",
    ),
    Setting::new(
        "gemini_model",
        "WELD_GEMINI_MODEL",
        "a model id such as gemini-flash-latest (letters, digits, '.', '-', '_')",
    ),
    Setting::new(
        "gemini_fallback_models",
        "WELD_GEMINI_FALLBACK_MODELS",
        "a comma-separated list of model ids",
    ),
    Setting::new(
        "gemini_base_url",
        "WELD_GEMINI_BASE_URL",
        "an http(s) URL such as https://generativelanguage.googleapis.com",
    ),
    Setting::new(
        "gemini_timeout_seconds",
        "WELD_GEMINI_TIMEOUT_SECONDS",
        "a whole number of seconds from 1 to 600",
    ),
    Setting::new(
        "listen",
        "WELD_LISTEN",
        "an address and port such as 0.0.0.0:8080",
    ),
    Setting::new(
        "public_url",
        "WELD_PUBLIC_URL",
        "the site's http(s) URL such as https://weld.example.org",
    ),
    Setting::new(
        "session_secret",
        "WELD_SESSION_SECRET",
        "a secret of at least 32 bytes",
    ),
    Setting::new(
        "session_ttl_hours",
        "WELD_SESSION_TTL_HOURS",
        "a whole number of hours from 1 to 8760",
    ),
    Setting::new("cookie_secure", "WELD_COOKIE_SECURE", "true or false"),
    Setting::new("access_code", "WELD_ACCESS_CODE", "a non-empty code"),
    Setting::new(
        "api_tokens",
        "WELD_API_TOKENS",
        "a comma-separated list of tokens",
    ),
    Setting::new(
        "allowed_origins",
        "WELD_ALLOWED_ORIGINS",
        "a comma-separated list of origins such as https://app.example.org",
    ),
    Setting::new(
        "rate_limit_per_minute",
        "WELD_RATE_LIMIT_PER_MINUTE",
        "a whole number from 1 to 10000000",
    ),
    Setting::new(
        "rate_limit_burst",
        "WELD_RATE_LIMIT_BURST",
        "a whole number from 1 to 10000000",
    ),
    Setting::new(
        "trusted_proxies",
        "WELD_TRUSTED_PROXIES",
        "a comma-separated list of CIDRs such as 10.0.0.0/8,::1/128",
    ),
    Setting::new(
        "max_image_bytes",
        "WELD_MAX_IMAGE_BYTES",
        "a whole number of bytes from 1024 to 104857600",
    ),
    Setting::new(
        "max_chat_bytes",
        "WELD_MAX_CHAT_BYTES",
        "a whole number of bytes from 1024 to 104857600",
    ),
    Setting::new(
        "daily_request_budget",
        "WELD_DAILY_REQUEST_BUDGET",
        "a whole number of requests (0 or more)",
    ),
    Setting::new("metrics", "WELD_METRICS", "true or false"),
    Setting::new("log_format", "WELD_LOG_FORMAT", "text or json"),
    Setting::new(
        "sse_keepalive_seconds",
        "WELD_SSE_KEEPALIVE_SECONDS",
        "a whole number of seconds from 1 to 300",
    ),
];

/// The settings whose values are secrets.
pub const SECRET_KEYS: &[&str] = &[
    "gemini_api_key",
    "gemini_api_keys",
    "session_secret",
    "access_code",
    "api_tokens",
];

/// One row of the configuration table.
#[derive(Debug, Clone, Copy)]
pub struct Setting {
    /// The TOML key (and figment path).
    pub key: &'static str,
    /// The environment variable.
    pub env: &'static str,
    /// What a valid value looks like.
    pub expected: &'static str,
}

impl Setting {
    const fn new(key: &'static str, env: &'static str, expected: &'static str) -> Self {
        Self { key, env, expected }
    }

    /// The row for a TOML key, if it is one.
    pub fn find(key: &str) -> Option<&'static Setting> {
        SETTINGS.iter().find(|s| s.key == key)
    }
}

/// A configuration error: one line that names the setting and the expected form.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// A value of the wrong form.
    #[error("invalid configuration: {env} (TOML key `{key}`): {problem}; expected {expected}")]
    Invalid {
        key: &'static str,
        env: &'static str,
        problem: String,
        expected: &'static str,
    },
    /// A key in the TOML file that is no setting.
    #[error("invalid configuration: unknown setting `{0}` in the configuration file")]
    Unknown(String),
    /// Anything else figment reports (unreadable file, TOML syntax).
    #[error("invalid configuration: {0}")]
    Other(String),
}

impl ConfigError {
    fn invalid(key: &str, problem: impl Into<String>) -> Self {
        match Setting::find(key) {
            Some(s) => ConfigError::Invalid {
                key: s.key,
                env: s.env,
                problem: problem.into(),
                expected: s.expected,
            },
            None => ConfigError::Unknown(key.to_owned()),
        }
    }
}

/// Log line format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    /// Human-readable lines.
    #[default]
    Text,
    /// One JSON object per line, for log shippers.
    Json,
}

/// The effective configuration of one server.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// The server's Gemini key (`GEMINI_API_KEY`).
    #[serde(default, deserialize_with = "de_opt_secret")]
    pub gemini_api_key: Option<SecretString>,
    /// More keys, tried in order after `gemini_api_key`.
    #[serde(default, deserialize_with = "de_secret_list")]
    pub gemini_api_keys: Vec<SecretString>,
    /// The model id.
    pub gemini_model: String,
    /// Models tried in order when the model is overloaded, over quota or gone.
    #[serde(deserialize_with = "de_string_list")]
    pub gemini_fallback_models: Vec<String>,
    /// The upstream base URL (tests point it at a fake).
    pub gemini_base_url: Url,
    /// Bound on one upstream attempt, in seconds.
    pub gemini_timeout_seconds: u64,
    /// The listen address.
    pub listen: SocketAddr,
    /// The site's public URL (origin check, logs).
    #[serde(default, deserialize_with = "de_opt_url")]
    pub public_url: Option<Url>,
    /// The session-cookie signing secret; random per start when unset.
    #[serde(default, deserialize_with = "de_opt_secret")]
    pub session_secret: Option<SecretString>,
    /// Session lifetime in hours.
    pub session_ttl_hours: u64,
    /// Whether the session cookie carries `Secure`.
    pub cookie_secure: bool,
    /// When set, a session needs this code.
    #[serde(default, deserialize_with = "de_opt_secret")]
    pub access_code: Option<SecretString>,
    /// Tokens accepted in `X-Proxy-Token`.
    #[serde(default, deserialize_with = "de_secret_list")]
    pub api_tokens: Vec<SecretString>,
    /// Extra origins allowed by CORS.
    #[serde(default, deserialize_with = "de_string_list")]
    pub allowed_origins: Vec<String>,
    /// Chat + analyze requests per client IP per minute.
    pub rate_limit_per_minute: u32,
    /// Burst allowance of the rate limit.
    pub rate_limit_burst: u32,
    /// Proxies whose `X-Forwarded-For`/`Forwarded` is believed.
    #[serde(default, deserialize_with = "de_cidr_list")]
    pub trusted_proxies: Vec<IpNet>,
    /// Decoded image size limit in bytes.
    pub max_image_bytes: usize,
    /// Chat request body limit in bytes.
    pub max_chat_bytes: usize,
    /// Cap on Gemini calls per UTC day, all users.
    #[serde(default)]
    pub daily_request_budget: Option<u64>,
    /// Serve `/metrics`.
    pub metrics: bool,
    /// Log line format.
    pub log_format: LogFormat,
    /// Seconds between `: keepalive` comments of a quiet stream.
    pub sse_keepalive_seconds: u64,
    /// Bound on receiving a request body, and on a connection with no traffic.
    pub request_timeout_seconds: u64,
}

/// The built-in defaults, as figment's first layer.
#[derive(Serialize)]
struct Defaults {
    gemini_model: &'static str,
    gemini_fallback_models: &'static str,
    gemini_base_url: &'static str,
    gemini_timeout_seconds: u64,
    listen: &'static str,
    session_ttl_hours: u64,
    cookie_secure: bool,
    rate_limit_per_minute: u32,
    rate_limit_burst: u32,
    max_image_bytes: usize,
    max_chat_bytes: usize,
    metrics: bool,
    log_format: LogFormat,
    sse_keepalive_seconds: u64,
    request_timeout_seconds: u64,
}

const DEFAULTS: Defaults = Defaults {
    gemini_model: "gemini-flash-latest",
    gemini_fallback_models: "gemini-flash-lite-latest",
    gemini_base_url: "https://generativelanguage.googleapis.com",
    gemini_timeout_seconds: 60,
    listen: "0.0.0.0:8080",
    session_ttl_hours: 168,
    cookie_secure: true,
    rate_limit_per_minute: 20,
    rate_limit_burst: 5,
    max_image_bytes: 10 * 1024 * 1024,
    max_chat_bytes: 1024 * 1024,
    metrics: false,
    log_format: LogFormat::Text,
    sse_keepalive_seconds: 15,
    request_timeout_seconds: 30,
};

impl Config {
    /// The layered figment: defaults ← TOML file (if any) ← environment.
    pub fn figment(file: Option<&Path>) -> Figment {
        let mut figment = Figment::from(Serialized::defaults(DEFAULTS));
        if let Some(path) = file {
            figment = figment.merge(Toml::file_exact(path));
        }
        let weld_keys: Vec<&str> = SETTINGS
            .iter()
            .filter_map(|s| s.env.strip_prefix("WELD_"))
            .collect();
        figment
            .merge(Env::prefixed("WELD_").only(&weld_keys))
            .merge(Env::raw().only(&["GEMINI_API_KEY"]))
    }

    /// Loads and validates the configuration.
    pub fn load(file: Option<&Path>) -> Result<Self, ConfigError> {
        Self::from_figment(Self::figment(file))
    }

    /// Extracts and validates a configuration from any figment (tests use this).
    pub fn from_figment(figment: Figment) -> Result<Self, ConfigError> {
        let config: Config = figment.extract().map_err(from_figment_error)?;
        config.validate()?;
        Ok(config)
    }

    /// The defaults alone, validated: the base of tests' configurations.
    pub fn defaults() -> Self {
        #[allow(clippy::expect_used)]
        Self::from_figment(Figment::from(Serialized::defaults(DEFAULTS)))
            .expect("built-in defaults are valid")
    }

    fn validate(&self) -> Result<(), ConfigError> {
        for model in std::iter::once(&self.gemini_model).chain(&self.gemini_fallback_models) {
            let key = if model == &self.gemini_model {
                "gemini_model"
            } else {
                "gemini_fallback_models"
            };
            if !is_model_id(model) {
                return Err(ConfigError::invalid(key, format!("`{model}` is not a model id")));
            }
        }
        let visible = |s: &SecretString| s.expose_secret().bytes().all(|b| b.is_ascii_graphic());
        if self.gemini_api_key.as_ref().is_some_and(|k| !visible(k)) {
            return Err(ConfigError::invalid(
                "gemini_api_key",
                "the key has spaces or non-ASCII characters",
            ));
        }
        if !self.gemini_api_keys.iter().all(visible) {
            return Err(ConfigError::invalid(
                "gemini_api_keys",
                "a key has spaces or non-ASCII characters",
            ));
        }
        if !matches!(self.gemini_base_url.scheme(), "http" | "https") {
            return Err(ConfigError::invalid("gemini_base_url", "the URL is not http(s)"));
        }
        check_range("gemini_timeout_seconds", self.gemini_timeout_seconds, 1, 600)?;
        if let Some(url) = &self.public_url {
            if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
                return Err(ConfigError::invalid(
                    "public_url",
                    "the URL is not http(s) with a host",
                ));
            }
        }
        if let Some(secret) = &self.session_secret {
            if secret.expose_secret().len() < 32 {
                return Err(ConfigError::invalid(
                    "session_secret",
                    "the secret is shorter than 32 bytes",
                ));
            }
        }
        check_range("session_ttl_hours", self.session_ttl_hours, 1, 8760)?;
        if self
            .access_code
            .as_ref()
            .is_some_and(|c| c.expose_secret().is_empty())
        {
            return Err(ConfigError::invalid("access_code", "the code is empty"));
        }
        for origin in &self.allowed_origins {
            let ok = Url::parse(origin).is_ok_and(|u| {
                matches!(u.scheme(), "http" | "https")
                    && u.host_str().is_some()
                    && u.path() == "/"
                    && !origin.ends_with('/')
            });
            if !ok {
                return Err(ConfigError::invalid(
                    "allowed_origins",
                    format!("`{origin}` is not an origin"),
                ));
            }
        }
        check_range(
            "rate_limit_per_minute",
            self.rate_limit_per_minute.into(),
            1,
            10_000_000,
        )?;
        check_range("rate_limit_burst", self.rate_limit_burst.into(), 1, 10_000_000)?;
        check_range(
            "max_image_bytes",
            self.max_image_bytes as u64,
            1024,
            100 * 1024 * 1024,
        )?;
        check_range(
            "max_chat_bytes",
            self.max_chat_bytes as u64,
            1024,
            100 * 1024 * 1024,
        )?;
        Ok(())
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

    /// The upstream attempt timeout.
    pub fn gemini_timeout(&self) -> Duration {
        Duration::from_secs(self.gemini_timeout_seconds)
    }

    /// The largest body `/api/analyze*` accepts: base64 of the image limit plus 64 KiB.
    pub fn max_analyze_body_bytes(&self) -> usize {
        self.max_image_bytes.div_ceil(3) * 4 + 64 * 1024
    }

    /// The effective configuration as TOML, with every secret redacted.
    pub fn redacted_toml(&self) -> String {
        Redacted(self).to_string()
    }
}

/// Displays the configuration as TOML with secrets replaced by a marker.
struct Redacted<'a>(&'a Config);

impl fmt::Display for Redacted<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fn secret(s: &Option<SecretString>) -> toml::Value {
            match s {
                Some(_) => "<redacted>".into(),
                None => "<unset>".into(),
            }
        }
        fn list<T: ToString>(items: &[T]) -> toml::Value {
            toml::Value::Array(items.iter().map(|i| i.to_string().into()).collect())
        }
        let c = self.0;
        let redacted_list =
            |items: &[SecretString]| toml::Value::Array(items.iter().map(|_| "<redacted>".into()).collect());
        let opt = |v: Option<String>| v.map_or_else(|| "<unset>".into(), toml::Value::from);
        let mut table = toml::Table::new();
        let mut put = |k: &str, v: toml::Value| {
            table.insert(k.to_owned(), v);
        };
        put("gemini_api_key", secret(&c.gemini_api_key));
        put("gemini_api_keys", redacted_list(&c.gemini_api_keys));
        put("gemini_model", c.gemini_model.clone().into());
        put("gemini_fallback_models", list(&c.gemini_fallback_models));
        put("gemini_base_url", c.gemini_base_url.to_string().into());
        put("gemini_timeout_seconds", (c.gemini_timeout_seconds as i64).into());
        put("listen", c.listen.to_string().into());
        put("public_url", opt(c.public_url.as_ref().map(Url::to_string)));
        put(
            "session_secret",
            match &c.session_secret {
                Some(_) => "<redacted>".into(),
                None => "<random per start>".into(),
            },
        );
        put("session_ttl_hours", (c.session_ttl_hours as i64).into());
        put("cookie_secure", c.cookie_secure.into());
        put("access_code", secret(&c.access_code));
        put("api_tokens", redacted_list(&c.api_tokens));
        put("allowed_origins", list(&c.allowed_origins));
        put("rate_limit_per_minute", i64::from(c.rate_limit_per_minute).into());
        put("rate_limit_burst", i64::from(c.rate_limit_burst).into());
        put("trusted_proxies", list(&c.trusted_proxies));
        put("max_image_bytes", (c.max_image_bytes as i64).into());
        put("max_chat_bytes", (c.max_chat_bytes as i64).into());
        put(
            "daily_request_budget",
            opt(c.daily_request_budget.map(|b| b.to_string())),
        );
        put("metrics", c.metrics.into());
        put("sse_keepalive_seconds", (c.sse_keepalive_seconds as i64).into());
        put(
            "request_timeout_seconds",
            (c.request_timeout_seconds as i64).into(),
        );
        put(
            "log_format",
            match c.log_format {
                LogFormat::Text => "text",
                LogFormat::Json => "json",
            }
            .into(),
        );
        f.write_str(&toml::to_string(&table).map_err(|_| fmt::Error)?)
    }
}

fn check_range(key: &str, value: u64, min: u64, max: u64) -> Result<(), ConfigError> {
    if (min..=max).contains(&value) {
        Ok(())
    } else {
        Err(ConfigError::invalid(key, format!("{value} is out of range")))
    }
}

fn is_model_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= 128
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b'_'))
}

fn from_figment_error(err: figment::Error) -> ConfigError {
    use figment::error::Kind;
    let err = err
        .into_iter()
        .next()
        .unwrap_or_else(|| figment::Error::from("unknown error"));
    match &err.kind {
        Kind::UnknownField(field, _) => {
            if Setting::find(field).is_some() {
                ConfigError::invalid(field, err.kind.to_string())
            } else {
                ConfigError::Unknown(field.clone())
            }
        }
        Kind::MissingField(field) => ConfigError::invalid(field, "a value is required"),
        _ => match err.path.first() {
            Some(key) if SECRET_KEYS.contains(&key.as_str()) => {
                // Never echo a secret, not even a malformed one.
                ConfigError::invalid(key, "the value is not of the right type")
            }
            Some(key) if Setting::find(key).is_some() => ConfigError::invalid(key, describe_kind(&err.kind)),
            _ => ConfigError::Other(err.kind.to_string()),
        },
    }
}

fn describe_kind(kind: &figment::error::Kind) -> String {
    use figment::error::Kind;
    match kind {
        Kind::InvalidType(actual, _) => format!("the value is {actual}, which is not of the right type"),
        Kind::InvalidValue(actual, _) => format!("the value ({actual}) is not valid"),
        Kind::InvalidLength(len, _) => format!("the value has the wrong length {len}"),
        Kind::UnknownVariant(_, _) => "the value is not one of the allowed words".to_owned(),
        Kind::Message(msg) => msg.clone(),
        other => other.to_string(),
    }
}

/// A scalar that may come from the environment as a number or a bool (figment parses
/// `WELD_ACCESS_CODE=123456` as an integer); every such value is taken as its text.
#[derive(Deserialize)]
#[serde(untagged)]
enum Scalar {
    Text(String),
    Int(i64),
    UInt(u64),
    Float(f64),
    Bool(bool),
}

impl Scalar {
    fn into_text(self) -> String {
        match self {
            Scalar::Text(s) => s,
            Scalar::Int(i) => i.to_string(),
            Scalar::UInt(u) => u.to_string(),
            Scalar::Float(f) => f.to_string(),
            Scalar::Bool(b) => b.to_string(),
        }
    }
}

/// A list given either as a TOML array or as one comma-separated string.
#[derive(Deserialize)]
#[serde(untagged)]
enum ListOrText {
    List(Vec<Scalar>),
    One(Scalar),
}

impl ListOrText {
    fn into_items(self) -> Vec<String> {
        let raw: Vec<String> = match self {
            ListOrText::List(items) => items.into_iter().map(Scalar::into_text).collect(),
            ListOrText::One(text) => text.into_text().split(',').map(str::to_owned).collect(),
        };
        raw.into_iter()
            .map(|s| s.trim().to_owned())
            .filter(|s| !s.is_empty())
            .collect()
    }
}

fn de_string_list<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<String>, D::Error> {
    Ok(ListOrText::deserialize(d)?.into_items())
}

fn de_secret_list<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<SecretString>, D::Error> {
    Ok(de_string_list(d)?.into_iter().map(SecretString::from).collect())
}

fn de_cidr_list<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<IpNet>, D::Error> {
    de_string_list(d)?
        .into_iter()
        .map(|s| {
            s.parse::<IpNet>()
                .or_else(|_| s.parse::<std::net::IpAddr>().map(IpNet::from))
                .map_err(|_| de::Error::custom(format!("`{s}` is not a CIDR")))
        })
        .collect()
}

fn de_opt_secret<'de, D: Deserializer<'de>>(d: D) -> Result<Option<SecretString>, D::Error> {
    let text = Option::<Scalar>::deserialize(d)?.map(Scalar::into_text);
    Ok(text.filter(|s| !s.trim().is_empty()).map(SecretString::from))
}

fn de_opt_url<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Url>, D::Error> {
    match Option::<String>::deserialize(d)?.filter(|s| !s.trim().is_empty()) {
        None => Ok(None),
        Some(s) => Url::parse(s.trim())
            .map(Some)
            .map_err(|_| de::Error::custom("the value is not a URL")),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::result_large_err)]
mod tests {
    use super::*;
    use figment::Jail;

    fn load_in_jail(file: Option<&str>) -> Result<Config, ConfigError> {
        Config::load(file.map(Path::new))
    }

    #[test]
    fn defaults_match_the_design_table() {
        Jail::expect_with(|_| {
            let c = load_in_jail(None).unwrap();
            assert_eq!(c.gemini_model, "gemini-flash-latest");
            assert_eq!(c.gemini_fallback_models, vec!["gemini-flash-lite-latest"]);
            assert_eq!(
                c.gemini_base_url.as_str(),
                "https://generativelanguage.googleapis.com/"
            );
            assert_eq!(c.gemini_timeout_seconds, 60);
            assert_eq!(c.listen.to_string(), "0.0.0.0:8080");
            assert_eq!(c.session_ttl_hours, 168);
            assert!(c.cookie_secure);
            assert_eq!(c.rate_limit_per_minute, 20);
            assert_eq!(c.rate_limit_burst, 5);
            assert_eq!(c.max_image_bytes, 10_485_760);
            assert_eq!(c.max_chat_bytes, 1_048_576);
            assert!(c.gemini_api_key.is_none() && c.daily_request_budget.is_none());
            assert!(!c.metrics);
            assert_eq!(c.log_format, LogFormat::Text);
            Ok(())
        });
    }

    #[test]
    fn environment_overrides_the_toml_file_which_overrides_defaults() {
        Jail::expect_with(|jail| {
            jail.create_file(
                "weld.toml",
                r#"
                gemini_model = "gemini-from-toml"
                rate_limit_per_minute = 30
                gemini_api_key = "toml-key"
                api_tokens = ["t1", "t2"]
                "#,
            )?;
            jail.set_env("WELD_RATE_LIMIT_PER_MINUTE", "45");
            jail.set_env("GEMINI_API_KEY", "env-key");
            let c = load_in_jail(Some("weld.toml")).unwrap();
            assert_eq!(c.gemini_model, "gemini-from-toml");
            assert_eq!(c.rate_limit_per_minute, 45);
            assert_eq!(c.gemini_api_key.unwrap().expose_secret(), "env-key");
            let tokens: Vec<_> = c
                .api_tokens
                .iter()
                .map(|t| t.expose_secret().to_owned())
                .collect();
            assert_eq!(tokens, vec!["t1", "t2"]);
            Ok(())
        });
    }

    #[test]
    fn comma_lists_and_numeric_secrets_come_from_the_environment() {
        Jail::expect_with(|jail| {
            jail.set_env("WELD_GEMINI_API_KEYS", "k1, k2,,k1");
            jail.set_env("WELD_ACCESS_CODE", "123456");
            jail.set_env("WELD_API_TOKENS", "999");
            jail.set_env("WELD_TRUSTED_PROXIES", "10.0.0.0/8, 127.0.0.1");
            jail.set_env("WELD_GEMINI_FALLBACK_MODELS", "a-1,b-2");
            jail.set_env("WELD_COOKIE_SECURE", "false");
            jail.set_env("WELD_DAILY_REQUEST_BUDGET", "500");
            let c = load_in_jail(None).unwrap();
            let keys: Vec<_> = c
                .gemini_keys()
                .iter()
                .map(|k| k.expose_secret().to_owned())
                .collect();
            assert_eq!(keys, vec!["k1", "k2"]);
            assert_eq!(c.access_code.unwrap().expose_secret(), "123456");
            assert_eq!(c.api_tokens[0].expose_secret(), "999");
            assert_eq!(c.trusted_proxies.len(), 2);
            assert_eq!(c.gemini_fallback_models, vec!["a-1", "b-2"]);
            assert!(!c.cookie_secure);
            assert_eq!(c.daily_request_budget, Some(500));
            Ok(())
        });
    }

    #[test]
    fn an_invalid_number_names_the_setting_and_the_expected_form() {
        Jail::expect_with(|jail| {
            jail.set_env("WELD_RATE_LIMIT_PER_MINUTE", "lots");
            let msg = load_in_jail(None).unwrap_err().to_string();
            assert!(msg.contains("WELD_RATE_LIMIT_PER_MINUTE"), "{msg}");
            assert!(msg.contains("a whole number"), "{msg}");
            assert!(!msg.contains('\n'), "one line: {msg}");
            Ok(())
        });
    }

    #[test]
    fn out_of_range_and_malformed_values_are_refused() {
        let cases = [
            ("WELD_RATE_LIMIT_PER_MINUTE", "0"),
            ("WELD_GEMINI_TIMEOUT_SECONDS", "0"),
            ("WELD_LISTEN", "not-an-address"),
            ("WELD_GEMINI_BASE_URL", "ftp://x"),
            ("WELD_PUBLIC_URL", "nope"),
            ("WELD_LOG_FORMAT", "xml"),
            ("WELD_METRICS", "perhaps"),
            ("WELD_TRUSTED_PROXIES", "10.0.0.0/99"),
            ("WELD_ALLOWED_ORIGINS", "https://a.example/path"),
            ("WELD_GEMINI_MODEL", "bad/model"),
            ("WELD_MAX_IMAGE_BYTES", "12"),
            ("GEMINI_API_KEY", "key with spaces"),
            ("WELD_GEMINI_API_KEYS", "ok,naïve"),
        ];
        for (env, value) in cases {
            Jail::expect_with(|jail| {
                jail.set_env(env, value);
                let msg = load_in_jail(None).unwrap_err().to_string();
                assert!(msg.contains(env), "{env}={value}: {msg}");
                Ok(())
            });
        }
    }

    #[test]
    fn a_short_session_secret_is_refused_without_echoing_it() {
        Jail::expect_with(|jail| {
            jail.set_env("WELD_SESSION_SECRET", "short-canary-secret");
            let msg = load_in_jail(None).unwrap_err().to_string();
            assert!(
                msg.contains("WELD_SESSION_SECRET") && msg.contains("32 bytes"),
                "{msg}"
            );
            assert!(!msg.contains("short-canary-secret"));
            Ok(())
        });
    }

    #[test]
    fn an_unknown_toml_key_is_named() {
        Jail::expect_with(|jail| {
            jail.create_file("weld.toml", "gemini_modle = \"x\"\n")?;
            let msg = load_in_jail(Some("weld.toml")).unwrap_err().to_string();
            assert!(msg.contains("gemini_modle"), "{msg}");
            Ok(())
        });
    }

    #[test]
    fn the_redacted_view_hides_every_secret() {
        Jail::expect_with(|jail| {
            jail.set_env("GEMINI_API_KEY", "canary-key-AAAA");
            jail.set_env("WELD_SESSION_SECRET", "canary-secret-0123456789abcdef0123456789");
            jail.set_env("WELD_ACCESS_CODE", "canary-code");
            jail.set_env("WELD_API_TOKENS", "canary-token");
            let text = load_in_jail(None).unwrap().redacted_toml();
            for canary in ["canary-key", "canary-secret", "canary-code", "canary-token"] {
                assert!(!text.contains(canary), "{canary} leaked:\n{text}");
            }
            assert!(text.contains("gemini_model = \"gemini-flash-latest\""), "{text}");
            assert!(text.contains("<redacted>"));
            Ok(())
        });
    }

    #[test]
    fn every_setting_has_an_env_name_that_matches_its_key() {
        for s in SETTINGS {
            let expected = if s.key == "gemini_api_key" {
                "GEMINI_API_KEY".to_owned()
            } else {
                format!("WELD_{}", s.key.to_uppercase())
            };
            assert_eq!(s.env, expected);
        }
    }

    #[test]
    fn every_setting_is_documented_in_the_readme() {
        let readme = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).unwrap();
        for s in SETTINGS {
            let row = format!("| `{}` | `{}` |", s.env, s.key);
            assert!(readme.contains(&row), "README's configuration table lacks {row}");
        }
    }
}
