//! Configuration: built-in defaults ← optional TOML file ← environment.
//!
//! Owns every setting (defined once, in `table.rs`), how values are read
//! (`value.rs`, `source.rs`), their start-up checks, the redacted display and the
//! README's reference table. It must not read anything else from the environment,
//! never print a secret's value (not even in an error), and no secret may leave it
//! except through `ExposeSecret` at the point of use.
//!
//! - `table.rs`: the settings — type, env name, default, form, meaning, check;
//! - `setting.rs`: what a row is, and the macro that makes `Config` from the table;
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

use std::{fmt::Write as _, path::Path, time::Duration};

use secrecy::{ExposeSecret, SecretString};

pub use reference::markdown_table;
pub use setting::{DefaultValue, Form, Setting};
pub use source::NOT_SETTINGS;
pub use table::{Config, LogFormat, SETTINGS, StartupProbe};

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
