//! What a setting is: its row (env name, TOML key, default, form, meaning, secrecy)
//! and the `settings!` macro that turns the one table in `table.rs` into the
//! `SETTINGS` rows, the extraction with its checks (which builds `Config`, so the
//! struct and the table cannot drift apart) and the redacted view.
//!
//! It owns no setting itself (they are all in `table.rs`) and reads nothing.

/// One row of the configuration table. Every row comes from `table.rs`.
#[derive(Debug, Clone, Copy)]
pub struct Setting {
    /// The TOML key (and the `Config` field).
    pub key: &'static str,
    /// The environment variable.
    pub env: &'static str,
    /// The built-in default.
    pub default: DefaultValue,
    /// What a valid value looks like; a range is checked at start-up.
    pub form: Form,
    /// What it does: the README's text (the `Config` field's doc comment repeats it).
    pub meaning: &'static str,
    /// Whether the value is a secret: never printed, not even in an error.
    pub secret: bool,
}

impl Setting {
    /// The row for a TOML key, if it is one.
    pub fn find(key: &str) -> Option<&'static Setting> {
        super::SETTINGS.iter().find(|s| s.key == key)
    }

    /// The row for an environment variable, if it is one.
    pub fn find_env(env: &str) -> Option<&'static Setting> {
        super::SETTINGS.iter().find(|s| s.env == env)
    }
}

/// The default of a setting.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DefaultValue {
    /// This text, read as if it came from the environment.
    Text(&'static str),
    /// None: the setting is off or empty until set.
    Unset,
    /// None, and the README says what happens then (e.g. "random per start").
    UnsetMeans(&'static str),
}

impl DefaultValue {
    /// The default as text, when there is one.
    pub fn text(self) -> Option<&'static str> {
        match self {
            DefaultValue::Text(text) => Some(text),
            DefaultValue::Unset | DefaultValue::UnsetMeans(_) => None,
        }
    }
}

/// What a valid value looks like.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Form {
    /// A whole number in `min..=max`, checked at start-up.
    Range {
        /// The smallest valid value.
        min: u64,
        /// The largest valid value.
        max: u64,
        /// What it counts ("seconds"), or "" for a bare number.
        unit: &'static str,
    },
    /// Described in words; the setting's type and check enforce it.
    Text(&'static str),
}

impl Form {
    /// What a valid value looks like, as a phrase: "a whole number of seconds from 1 to 300".
    pub fn expected(self) -> String {
        match self {
            Form::Range { min, max, unit: "" } => format!("a whole number from {min} to {max}"),
            Form::Range { min, max, unit } => format!("a whole number of {unit} from {min} to {max}"),
            Form::Text(text) => text.to_owned(),
        }
    }
}

/// A whole number of `unit` in `min..=max`.
pub(crate) const fn range(min: u64, max: u64, unit: &'static str) -> Form {
    Form::Range { min, max, unit }
}

/// A form described in words.
pub(crate) const fn text(description: &'static str) -> Form {
    Form::Text(description)
}

/// Turns the table of settings into `SETTINGS` (one row per setting, in table
/// order), `Config::extract` (reads each setting from the layers, then checks its
/// range and its own check) and `Config::shown` (the values for the redacted
/// view). `Config` itself is written out in `mod.rs`; `extract` builds it with
/// one struct literal, so the compiler holds the struct and the table to each
/// other (a missing or extra field, or another type, does not compile).
///
/// A row: `key: Type { env: "ENV", default: DefaultValue, form: Form, meaning: "…" [, check: fn] }`.
/// Whether a setting is secret follows from its type (`SecretString`).
macro_rules! settings {
    ($(
        $key:ident : $ty:ty {
            env: $env:literal,
            default: $default:expr,
            form: $form:expr,
            meaning: $meaning:literal
            $(, check: $check:expr)?
            $(,)?
        }
    ),* $(,)?) => {
        /// Each setting's row, by its key: `SETTINGS` lists them and `extract`
        /// reads each by its own.
        #[allow(non_upper_case_globals)]
        mod row {
            use super::*;
            $(
                pub(super) const $key: $crate::config::Setting = $crate::config::Setting {
                    key: stringify!($key),
                    env: $env,
                    default: $default,
                    form: $form,
                    meaning: $meaning,
                    secret: <$ty as $crate::config::value::SettingValue>::SECRET,
                };
            )*
        }

        /// Every setting, in the order of the README's table.
        pub const SETTINGS: &[$crate::config::Setting] = &[$(row::$key,)*];

        impl Config {
            /// Reads every setting from the merged layers and checks it.
            pub(super) fn extract(layers: &figment::Figment) -> Result<Self, $crate::config::ConfigError> {
                Ok(Self {$(
                    $key: {
                        #[allow(unused_mut, unused_assignments)]
                        let mut check: fn(&$ty) -> Result<(), String> = |_| Ok(());
                        $( check = $check; )?
                        $crate::config::source::take::<$ty>(layers, &row::$key, check)?
                    },
                )*})
            }

            /// Each setting's key and value for the redacted view, in table order.
            pub(super) fn shown(&self) -> Vec<(&'static str, toml::Value)> {
                vec![$(
                    (stringify!($key), $crate::config::value::SettingValue::show(&self.$key)),
                )*]
            }
        }
    };
}

pub(crate) use settings;
