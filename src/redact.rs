//! The one redaction of outside text (an upstream's messages) before it is
//! logged or shown: configured secrets and anything shaped like a Google API key
//! become `[redacted]`, and the text is capped.
//!
//! It must not import anything from this crate: it is a leaf.

/// What a redacted secret is replaced with.
const REDACTED: &str = "[redacted]";

/// The most characters of outside text a log field carries.
pub(crate) const MAX_OUTSIDE_TEXT: usize = 300;

/// Text from outside (an upstream's error message or finish message) made safe
/// to log: every one of `secrets`, and anything shaped like a Google API key
/// (`AIza` and 20 or more of `[0-9A-Za-z_-]`), becomes `[redacted]`; the result
/// is capped at `MAX_OUTSIDE_TEXT` characters (after redaction, so a cut can
/// never leave half a secret).
pub(crate) fn redact(text: &str, secrets: &[&str]) -> String {
    let mut out = text.to_owned();
    for secret in secrets.iter().filter(|s| !s.is_empty()) {
        if out.contains(secret) {
            out = out.replace(secret, REDACTED);
        }
    }
    let mut out = redact_google_keys(&out);
    if let Some((cut, _)) = out.char_indices().nth(MAX_OUTSIDE_TEXT) {
        out.truncate(cut);
        out.push('…');
    }
    out
}

fn redact_google_keys(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find("AIza") {
        let tail = &rest[at + 4..];
        let run = tail
            .bytes()
            .take_while(|b| b.is_ascii_alphanumeric() || *b == b'-' || *b == b'_')
            .count();
        if run >= 20 {
            out.push_str(&rest[..at]);
            out.push_str(REDACTED);
            rest = &tail[run..];
        } else {
            out.push_str(&rest[..at + 4]);
            rest = tail;
        }
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn configured_secrets_and_google_shaped_keys_are_redacted() {
        assert_eq!(
            redact("key s3cr3t-value and s3cr3t-value again", &["s3cr3t-value", ""]),
            "key [redacted] and [redacted] again"
        );
        assert_eq!(
            redact("x AIzaSyD-abcdefghijklmnopqrstuvwxyz012345, y", &[]),
            "x [redacted], y"
        );
        // Too short to be a key, and not a configured secret: kept.
        assert_eq!(redact("AIza-short AIzaAIza", &[]), "AIza-short AIzaAIza");
        assert_eq!(redact("ключ: AIzaЯ", &[]), "ключ: AIzaЯ");
    }

    #[test]
    fn long_text_is_capped_on_a_character_boundary() {
        let long = "ж".repeat(MAX_OUTSIDE_TEXT + 50);
        let capped = redact(&long, &[]);
        assert_eq!(capped.chars().count(), MAX_OUTSIDE_TEXT + 1);
        assert!(capped.ends_with('…'));
    }

    mod properties {
        use super::*;
        use proptest::prelude::*;

        proptest! {
            #[test]
            fn a_secret_anywhere_never_survives(
                before in "\\PC{0,400}",
                after in "\\PC{0,400}",
                secret in "[!-~]{8,40}",
                google in "[0-9A-Za-z_-]{20,45}",
            ) {
                let text = format!("{before}{secret}{after}AIza{google}{before}");
                let out = redact(&text, &[&secret]);
                prop_assert!(!out.contains(&secret), "{out}");
                prop_assert!(!out.contains(&format!("AIza{google}")), "{out}");
                prop_assert!(out.chars().count() <= MAX_OUTSIDE_TEXT + 1);
            }
        }
    }
}
