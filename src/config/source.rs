//! Where values come from: the built-in defaults ← an optional TOML file ← the
//! environment, merged by figment. Each layer gives text exactly as written (the
//! environment is read here, verbatim, only for the known names — figment's own
//! `Env` provider would turn `0451` into `451`). Also finds the names that look
//! like settings but are none (unknown `WELD_*` variables, unknown TOML keys).
//!
//! It must not print any value: a TOML syntax error is reported by file, line,
//! column and what is wrong, never by the offending text.

use std::path::Path;

use figment::{
    Figment, Metadata, Profile, Provider,
    value::{Dict, Map, Value},
};

use super::{ConfigError, SETTINGS, Setting, value::SettingValue};

/// `WELD_*` variables the binary reads that are not settings.
pub const NOT_SETTINGS: &[&str] = &[
    // The configuration file (`--config`).
    "WELD_CONFIG",
    // Read by build.rs at build time, harmless at run time.
    "WELD_SKIP_FRONTEND_BUILD",
];

/// One layer of values under a name that errors quote ("the environment").
struct Layer {
    name: String,
    dict: Dict,
}

impl Provider for Layer {
    fn metadata(&self) -> Metadata {
        Metadata::named(self.name.clone())
    }

    fn data(&self) -> Result<Map<Profile, Dict>, figment::Error> {
        Ok(Profile::Default.collect(self.dict.clone()))
    }
}

/// The merged layers: defaults ← the TOML file (if any) ← the environment.
pub(super) fn layers(file: Option<&Path>) -> Result<Figment, ConfigError> {
    let mut figment = defaults();
    if let Some(path) = file {
        figment = figment.merge(toml_file(path)?);
    }
    Ok(figment.merge(environment()?))
}

/// The built-in defaults alone.
pub(super) fn defaults() -> Figment {
    let dict = SETTINGS
        .iter()
        .filter_map(|s| Some((s.key.to_owned(), Value::from(s.default.text()?))))
        .collect();
    Figment::from(Layer {
        name: "the built-in default".to_owned(),
        dict,
    })
}

/// The known settings' environment variables, as text.
fn environment() -> Result<Layer, ConfigError> {
    let mut dict = Dict::new();
    for setting in SETTINGS {
        let Some(raw) = std::env::var_os(setting.env) else {
            continue;
        };
        let text = raw
            .into_string()
            .map_err(|_| ConfigError::invalid(setting, "the environment", "the value is not valid UTF-8"))?;
        dict.insert(setting.key.to_owned(), Value::from(text));
    }
    Ok(Layer {
        name: "the environment".to_owned(),
        dict,
    })
}

/// The TOML file, read and parsed here so that no error quotes its text.
fn toml_file(path: &Path) -> Result<Layer, ConfigError> {
    let file = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|e| ConfigError::Unreadable {
        file: file.clone(),
        reason: e.to_string(),
    })?;
    let table: toml::Table = toml::from_str(&text).map_err(|e| syntax_error(&file, &text, &e))?;
    for key in table.keys() {
        if Setting::find(key).is_none() {
            return Err(ConfigError::UnknownKey {
                key: key.clone(),
                file,
                hint: suggestion(key, SETTINGS.iter().map(|s| s.key))
                    .map(|s| format!("; did you mean `{s}`?"))
                    .unwrap_or_default(),
            });
        }
    }
    let dict = table
        .into_iter()
        .map(|(key, value)| {
            let value = Value::serialize(&value).map_err(|_| ConfigError::Syntax {
                file: file.clone(),
                line: line_of_key(&text, &key),
                column: 1,
                message: format!("the value of `{key}` is not a plain value"),
            })?;
            Ok((key, value))
        })
        .collect::<Result<Dict, ConfigError>>()?;
    Ok(Layer {
        name: format!("the configuration file {file}"),
        dict,
    })
}

/// A TOML syntax error by file, line, column and the parser's phrase — never the text.
fn syntax_error(file: &str, text: &str, error: &toml::de::Error) -> ConfigError {
    let start = error.span().map_or(0, |span| span.start).min(text.len());
    let before = text.get(..start).unwrap_or_default();
    let line = before.matches('\n').count() + 1;
    let column = before.rsplit('\n').next().unwrap_or_default().chars().count() + 1;
    let mut message = error.message().lines().next().unwrap_or_default().to_owned();
    // The parser's phrases name what is wrong, not the text; should one ever quote
    // the offending text, drop it rather than risk a secret.
    let quoted = error
        .span()
        .and_then(|span| text.get(span))
        .is_some_and(|bad| bad.trim().len() >= 4 && message.contains(bad.trim()));
    if quoted || message.is_empty() {
        message = "invalid TOML".to_owned();
    }
    ConfigError::Syntax {
        file: file.to_owned(),
        line,
        column,
        message,
    }
}

/// The line where `key =` first appears, for errors about a key's value.
fn line_of_key(text: &str, key: &str) -> usize {
    text.lines()
        .position(|line| line.trim_start().starts_with(key))
        .map_or(1, |i| i + 1)
}

/// Reads one setting from the merged layers, then checks its range and `check`.
/// Errors name the setting and where the value came from, never a secret's value.
pub(crate) fn take<T: SettingValue>(
    layers: &Figment,
    setting: &Setting,
    check: fn(&T) -> Result<(), String>,
) -> Result<T, ConfigError> {
    let Ok(found) = layers.find_value(setting.key) else {
        return T::absent()
            .ok_or_else(|| ConfigError::invalid(setting, "the configuration", "a value is required"));
    };
    let origin = layers
        .get_metadata(found.tag())
        .map_or_else(|| "the configuration".to_owned(), |m| m.name.to_string());
    let value = T::from_value(&found).map_err(|p| ConfigError::invalid(setting, &origin, p))?;
    if let (super::Form::Range { min, max, .. }, Some(n)) = (setting.form, value.number()) {
        if !(min..=max).contains(&n) {
            return Err(ConfigError::invalid(
                setting,
                &origin,
                format!("{n} is out of range"),
            ));
        }
    }
    check(&value).map_err(|p| ConfigError::invalid(setting, &origin, p))?;
    Ok(value)
}

/// A warning for each `WELD_*` variable (any case) in `vars` that is neither a
/// setting nor in [`NOT_SETTINGS`], suggesting the closest setting.
pub(super) fn unknown_variables(vars: impl IntoIterator<Item = String>) -> Vec<String> {
    let mut unknown: Vec<String> = vars
        .into_iter()
        .filter(|name| name.get(..5).is_some_and(|p| p.eq_ignore_ascii_case("WELD_")))
        .filter(|name| Setting::find_env(name).is_none() && !NOT_SETTINGS.contains(&name.as_str()))
        .collect();
    unknown.sort();
    unknown
        .into_iter()
        .map(|name| {
            let hint = suggestion(&name, SETTINGS.iter().map(|s| s.env))
                .map(|s| format!("; did you mean {s}?"))
                .unwrap_or_default();
            format!("the environment variable {name} is not a setting and is ignored{hint}")
        })
        .collect()
}

/// The closest of `known` to `name` (case and a `WELD_` prefix aside), if close enough.
fn suggestion<'a>(name: &str, known: impl Iterator<Item = &'a str>) -> Option<&'a str> {
    let bare = |s: &str| {
        let upper = s.to_ascii_uppercase();
        upper.strip_prefix("WELD_").map(str::to_owned).unwrap_or(upper)
    };
    let wanted = bare(name);
    known
        .map(|k| (strsim::damerau_levenshtein(&wanted, &bare(k)), k))
        .filter(|(distance, _)| *distance <= 2.max(wanted.len() / 4))
        .min_by_key(|(distance, _)| *distance)
        .map(|(_, k)| k)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suggestions_find_typos_but_not_strangers() {
        let envs = || SETTINGS.iter().map(|s| s.env);
        assert_eq!(suggestion("WELD_ACCES_CODE", envs()), Some("WELD_ACCESS_CODE"));
        assert_eq!(
            suggestion("WELD_SSE_KEEPALIVE_SECS", envs()),
            Some("WELD_SSE_KEEPALIVE_SECONDS")
        );
        assert_eq!(suggestion("WELD_GEMINI_API_KEY", envs()), Some("GEMINI_API_KEY"));
        assert_eq!(suggestion("weld_listen", envs()), Some("WELD_LISTEN"));
        assert_eq!(suggestion("WELD_SOMETHING_ELSE_ENTIRELY", envs()), None);
        let keys = || SETTINGS.iter().map(|s| s.key);
        assert_eq!(suggestion("gemini_modle", keys()), Some("gemini_model"));
        assert_eq!(suggestion("WELD_LISTEN", keys()), Some("listen"));
    }

    #[test]
    fn only_unknown_weld_variables_are_warned_about() {
        let warnings = unknown_variables(
            [
                "WELD_LISTEN",
                "WELD_CONFIG",
                "WELD_SKIP_FRONTEND_BUILD",
                "GEMINI_API_KEY",
                "PATH",
                "WELD_LISTN",
                "weld_metrics",
            ]
            .map(str::to_owned),
        );
        assert_eq!(warnings.len(), 2, "{warnings:?}");
        assert!(warnings[0].contains("WELD_LISTN") && warnings[0].contains("WELD_LISTEN"));
        assert!(warnings[1].contains("weld_metrics") && warnings[1].contains("WELD_METRICS"));
    }
}
