//! Captions and subtitles of an entry: Kaltura's caption assets and Canvas's media
//! tracks are the same records, whichever API wrote them.

use serde::{Deserialize, Serialize};

/// What a track is for (Canvas's `kind`; HTML `<track kind>`).
pub const KINDS: [&str; 5] = [
    "subtitles",
    "captions",
    "descriptions",
    "chapters",
    "metadata",
];

/// Largest caption text stored, in bytes.
pub const MAX_CONTENT: usize = 1 << 20;
/// Most captions one entry may have.
pub const MAX_PER_ENTRY: usize = 50;

/// One caption track of an entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Caption {
    /// `1_` and 8 characters (a Kaltura asset id); Canvas shows its numeric `track_id`.
    pub id: String,
    pub entry_id: String,
    pub partner: i64,
    /// Who added it.
    pub user: String,
    pub label: String,
    /// Kaltura's language name (`English`).
    pub language: String,
    /// The locale (`en`, `pt-BR`).
    pub locale: String,
    /// One of [`KINDS`].
    pub kind: String,
    /// `1` SRT or `3` WebVTT (`KalturaCaptionType`).
    pub format: String,
    #[serde(default)]
    pub is_default: bool,
    /// The text, once set.
    #[serde(default)]
    pub content: Option<String>,
    /// A small number for Canvas's `/media_tracks/:id`.
    pub track_id: u64,
    pub created_at: u64,
    pub updated_at: u64,
}

/// Locales and Kaltura's language names for them.
const LANGUAGES: [(&str, &str); 24] = [
    ("en", "English"),
    ("es", "Spanish"),
    ("fr", "French"),
    ("de", "German"),
    ("it", "Italian"),
    ("pt", "Portuguese"),
    ("nl", "Dutch"),
    ("sv", "Swedish"),
    ("da", "Danish"),
    ("no", "Norwegian"),
    ("fi", "Finnish"),
    ("pl", "Polish"),
    ("cs", "Czech"),
    ("ru", "Russian"),
    ("uk", "Ukrainian"),
    ("tr", "Turkish"),
    ("ar", "Arabic"),
    ("he", "Hebrew"),
    ("hi", "Hindi"),
    ("zh", "Chinese"),
    ("ja", "Japanese"),
    ("ko", "Korean"),
    ("vi", "Vietnamese"),
    ("af", "Afrikaans"),
];

/// Whether `locale` is one upgate accepts: letters and `-`, at most 16 characters.
pub fn valid_locale(locale: &str) -> bool {
    !locale.is_empty()
        && locale.len() <= 16
        && locale.bytes().all(|b| b.is_ascii_alphabetic() || b == b'-')
}

/// Kaltura's language name for a locale (the locale itself when unknown).
pub fn language_of(locale: &str) -> String {
    let base = locale
        .split('-')
        .next()
        .unwrap_or(locale)
        .to_ascii_lowercase();
    LANGUAGES
        .iter()
        .find(|(l, _)| *l == base)
        .map_or_else(|| locale.to_owned(), |(_, n)| (*n).to_owned())
}

/// The locale of a Kaltura language name (or of a locale given as the language).
pub fn locale_of(language: &str) -> Option<String> {
    LANGUAGES
        .iter()
        .find(|(_, n)| n.eq_ignore_ascii_case(language))
        .map(|(l, _)| (*l).to_owned())
        .or_else(|| valid_locale(language).then(|| language.to_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locales_and_languages() {
        assert_eq!(language_of("pt-BR"), "Portuguese");
        assert_eq!(language_of("xx"), "xx");
        assert_eq!(locale_of("Spanish").as_deref(), Some("es"));
        assert_eq!(locale_of("es").as_deref(), Some("es"));
        assert_eq!(locale_of("<b>"), None);
        assert!(valid_locale("en-US") && !valid_locale("en_US") && !valid_locale(""));
    }
}
