//! How a setting's value is read from text: numbers and bools are parsed from the
//! text the environment gives (a TOML file may give them as TOML numbers and bools);
//! text settings — codes, tokens, secrets, keys, model ids, URLs, origins, CIDRs —
//! are taken verbatim and must be quoted strings in a TOML file; a list is a TOML
//! array or one comma-separated text.
//!
//! It must never put a secret's value into an error message or the redacted view.

use std::net::{IpAddr, SocketAddr};

use figment::value::{Num, Value};
use ipnet::IpNet;
use secrecy::SecretString;
use url::Url;

/// A type a setting can have: `T`, `Option<T>` or `Vec<T>` of a [`FromText`] `T`.
pub(crate) trait SettingValue: Sized {
    /// Whether the value is a secret (never printed).
    const SECRET: bool;
    /// Reads the value one layer gives; the error is a phrase without any secret.
    fn from_value(value: &Value) -> Result<Self, String>;
    /// The value when no layer gives one (`None` when the setting is required).
    fn absent() -> Option<Self>;
    /// The value as a number, for the range check.
    fn number(&self) -> Option<u64>;
    /// The value for `weld-assistant config`, secrets redacted.
    fn show(&self) -> toml::Value;
}

/// A single value read from its text.
pub(crate) trait FromText: Sized {
    /// Whether the value is a secret.
    const SECRET: bool = false;
    /// Whether a TOML file must quote it (text), rather than give a TOML number or bool.
    const TEXT: bool;
    /// Parses the text; the error is a phrase that may quote the text only when not secret.
    fn from_text(text: &str) -> Result<Self, String>;
    /// The value as a number, for the range check.
    fn number(&self) -> Option<u64> {
        None
    }
    /// The value for the redacted view.
    fn show(&self) -> toml::Value;
}

impl<T: FromText> SettingValue for T {
    const SECRET: bool = T::SECRET;

    fn from_value(value: &Value) -> Result<Self, String> {
        T::from_text(&scalar_text::<T>(value)?)
    }

    fn absent() -> Option<Self> {
        None
    }

    fn number(&self) -> Option<u64> {
        FromText::number(self)
    }

    fn show(&self) -> toml::Value {
        FromText::show(self)
    }
}

/// Optional: an empty (or blank) text means unset.
impl<T: FromText> SettingValue for Option<T> {
    const SECRET: bool = T::SECRET;

    fn from_value(value: &Value) -> Result<Self, String> {
        match value {
            Value::String(_, text) if text.trim().is_empty() => Ok(None),
            other => T::from_value(other).map(Some),
        }
    }

    fn absent() -> Option<Self> {
        Some(None)
    }

    fn number(&self) -> Option<u64> {
        self.as_ref().and_then(FromText::number)
    }

    fn show(&self) -> toml::Value {
        match self {
            Some(value) => FromText::show(value),
            None => "<unset>".into(),
        }
    }
}

/// A list: a TOML array, or one comma-separated text; items are trimmed and empty
/// items dropped.
impl<T: FromText> SettingValue for Vec<T> {
    const SECRET: bool = T::SECRET;

    fn from_value(value: &Value) -> Result<Self, String> {
        let items: Vec<String> = match value {
            Value::Array(_, items) => items.iter().map(scalar_text::<T>).collect::<Result<_, _>>()?,
            other => scalar_text::<T>(other)?.split(',').map(str::to_owned).collect(),
        };
        items
            .iter()
            .map(|item| item.trim())
            .filter(|item| !item.is_empty())
            .map(T::from_text)
            .collect()
    }

    fn absent() -> Option<Self> {
        Some(Vec::new())
    }

    fn number(&self) -> Option<u64> {
        None
    }

    fn show(&self) -> toml::Value {
        toml::Value::Array(self.iter().map(FromText::show).collect())
    }
}

/// The text of one scalar value. Environment and defaults always give text; a TOML
/// file may give a number or a bool where the setting is not text.
fn scalar_text<T: FromText>(value: &Value) -> Result<String, String> {
    match value {
        Value::String(_, text) => Ok(text.clone()),
        Value::Char(_, c) => Ok(c.to_string()),
        Value::Num(..) | Value::Bool(..) if T::TEXT => {
            Err("in a TOML file this value must be a quoted string".to_owned())
        }
        Value::Num(_, num) => Ok(num_text(num)),
        Value::Bool(_, b) => Ok(b.to_string()),
        Value::Array(..) => Err("a list is not allowed here".to_owned()),
        Value::Dict(..) => Err("a table is not allowed here".to_owned()),
        Value::Empty(..) => Err("the value is empty".to_owned()),
    }
}

/// A TOML number as text; a float keeps its point so it is not taken for a whole number.
fn num_text(num: &Num) -> String {
    match *num {
        Num::U8(n) => n.to_string(),
        Num::U16(n) => n.to_string(),
        Num::U32(n) => n.to_string(),
        Num::U64(n) => n.to_string(),
        Num::U128(n) => n.to_string(),
        Num::USize(n) => n.to_string(),
        Num::I8(n) => n.to_string(),
        Num::I16(n) => n.to_string(),
        Num::I32(n) => n.to_string(),
        Num::I64(n) => n.to_string(),
        Num::I128(n) => n.to_string(),
        Num::ISize(n) => n.to_string(),
        Num::F32(n) => format!("{n:?}"),
        Num::F64(n) => format!("{n:?}"),
    }
}

/// A non-secret value quoted for an error message: escaped, on one line, at most 80 characters.
pub(crate) fn quoted(text: &str) -> String {
    let escaped: String = text.escape_debug().collect();
    match escaped.char_indices().nth(80) {
        Some((cut, _)) => format!("`{}…`", &escaped[..cut]),
        None => format!("`{escaped}`"),
    }
}

/// Verbatim text (model ids, origins).
impl FromText for String {
    const TEXT: bool = true;

    fn from_text(text: &str) -> Result<Self, String> {
        Ok(text.to_owned())
    }

    fn show(&self) -> toml::Value {
        self.as_str().into()
    }
}

/// Verbatim secret text (keys, codes, tokens, the session secret).
impl FromText for SecretString {
    const SECRET: bool = true;
    const TEXT: bool = true;

    fn from_text(text: &str) -> Result<Self, String> {
        Ok(SecretString::from(text))
    }

    fn show(&self) -> toml::Value {
        "<redacted>".into()
    }
}

impl FromText for Url {
    const TEXT: bool = true;

    fn from_text(text: &str) -> Result<Self, String> {
        Url::parse(text).map_err(|_| format!("{} is not a URL", quoted(text)))
    }

    fn show(&self) -> toml::Value {
        self.as_str().into()
    }
}

impl FromText for SocketAddr {
    const TEXT: bool = true;

    fn from_text(text: &str) -> Result<Self, String> {
        text.parse()
            .map_err(|_| format!("{} is not an address and port", quoted(text)))
    }

    fn show(&self) -> toml::Value {
        self.to_string().into()
    }
}

/// A CIDR; a bare address is its /32 or /128.
impl FromText for IpNet {
    const TEXT: bool = true;

    fn from_text(text: &str) -> Result<Self, String> {
        text.parse::<IpNet>()
            .or_else(|_| text.parse::<IpAddr>().map(IpNet::from))
            .map_err(|_| format!("{} is not a CIDR", quoted(text)))
    }

    fn show(&self) -> toml::Value {
        self.to_string().into()
    }
}

macro_rules! whole_number {
    ($($t:ty),*) => {$(
        impl FromText for $t {
            const TEXT: bool = false;

            fn from_text(text: &str) -> Result<Self, String> {
                text.trim()
                    .parse()
                    .map_err(|_| format!("{} is not a whole number", quoted(text)))
            }

            fn number(&self) -> Option<u64> {
                u64::try_from(*self).ok()
            }

            fn show(&self) -> toml::Value {
                i64::try_from(*self).map_or_else(|_| self.to_string().into(), toml::Value::from)
            }
        }
    )*};
}

whole_number!(u32, u64, usize);

impl FromText for bool {
    const TEXT: bool = false;

    fn from_text(text: &str) -> Result<Self, String> {
        let text = text.trim();
        if text.eq_ignore_ascii_case("true") {
            Ok(true)
        } else if text.eq_ignore_ascii_case("false") {
            Ok(false)
        } else {
            Err(format!("{} is neither true nor false", quoted(text)))
        }
    }

    fn show(&self) -> toml::Value {
        (*self).into()
    }
}

/// Implements [`FromText`] for a setting's enum from its words.
macro_rules! words {
    ($t:ty { $($word:literal => $variant:path),+ $(,)? }) => {
        impl $crate::config::value::FromText for $t {
            const TEXT: bool = true;

            fn from_text(text: &str) -> Result<Self, String> {
                match text.trim() {
                    $($word => Ok($variant),)+
                    _ => Err(format!(
                        "{} is not one of: {}",
                        $crate::config::value::quoted(text),
                        [$($word),+].join(", ")
                    )),
                }
            }

            fn show(&self) -> toml::Value {
                match self {
                    $($variant => $word.into(),)+
                }
            }
        }
    };
}

pub(crate) use words;
