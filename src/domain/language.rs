//! The language an answer is written in: the request's `language`, else the
//! browser's `Accept-Language`, else Russian.

/// A language the assistant answers in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Language {
    /// Russian, the default for the app's users.
    #[default]
    Ru,
    /// English.
    En,
}

impl Language {
    /// Picks the first supported language of an `Accept-Language` header, honouring
    /// q-values; `None` when the header names neither Russian nor English.
    pub fn from_accept_language(header: &str) -> Option<Language> {
        let mut best: Option<(f32, usize, Language)> = None;
        for (index, item) in header.split(',').enumerate() {
            let mut pieces = item.split(';');
            let tag = pieces.next().unwrap_or("").trim().to_ascii_lowercase();
            let q = pieces
                .filter_map(|p| p.trim().strip_prefix("q="))
                .find_map(|q| q.trim().parse::<f32>().ok())
                .unwrap_or(1.0);
            if q <= 0.0 || !q.is_finite() {
                continue;
            }
            let primary = tag.split('-').next().unwrap_or("");
            let lang = match primary {
                "ru" => Language::Ru,
                "en" => Language::En,
                _ => continue,
            };
            let better = match best {
                None => true,
                Some((bq, bi, _)) => q > bq || (q == bq && index < bi),
            };
            if better {
                best = Some((q, index, lang));
            }
        }
        best.map(|(_, _, lang)| lang)
    }

    /// The language to answer in, from the explicit choice or the header.
    pub fn resolve(explicit: Option<Language>, accept_language: Option<&str>) -> Language {
        explicit
            .or_else(|| accept_language.and_then(Language::from_accept_language))
            .unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accept_language_prefers_the_highest_q_of_russian_or_english() {
        assert_eq!(
            Language::from_accept_language("en-US,en;q=0.9,ru;q=0.8"),
            Some(Language::En)
        );
        assert_eq!(
            Language::from_accept_language("ru-RU,ru;q=0.9,en-US;q=0.8"),
            Some(Language::Ru)
        );
        assert_eq!(
            Language::from_accept_language("be;q=1, en;q=0.3, ru;q=0.7"),
            Some(Language::Ru)
        );
        assert_eq!(Language::from_accept_language("de-DE,fr;q=0.5"), None);
        assert_eq!(
            Language::from_accept_language("en;q=0, ru;q=0.1"),
            Some(Language::Ru)
        );
        assert_eq!(Language::from_accept_language(""), None);
    }

    #[test]
    fn the_explicit_choice_wins_and_russian_is_the_default() {
        assert_eq!(Language::resolve(Some(Language::Ru), Some("en")), Language::Ru);
        assert_eq!(Language::resolve(None, Some("en-GB")), Language::En);
        assert_eq!(Language::resolve(None, Some("de")), Language::Ru);
        assert_eq!(Language::resolve(None, None), Language::Ru);
    }
}
