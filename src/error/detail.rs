//! The detail an error message carries — which field is wrong and how, the limit
//! in bytes, the photo problem, Gemini's block reason, the missing model — kept
//! as data so it can be written in Russian and English. Field names stay verbatim
//! (`` `message` ``) in both languages.

use crate::domain::language::Language;

/// The detail of an error, beyond its code.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum Detail {
    /// Nothing beyond the code.
    #[default]
    None,
    /// `invalid_request`: what is wrong with the request.
    Invalid(Invalid),
    /// `payload_too_large`: the body limit in bytes.
    BodyLimit(usize),
    /// `payload_too_large`: the decoded-photo limit in bytes.
    ImageLimit(usize),
    /// `payload_too_large`: the decoded-recording limit in bytes.
    AudioLimit(usize),
    /// `audio_too_long`: the recording's length and the limit, in whole seconds.
    AudioLength {
        /// The recording's length (rounded up).
        seconds: u64,
        /// The limit.
        limit: u64,
    },
    /// `unsupported_media_type`: what is wrong with the type.
    Media(Media),
    /// `content_blocked`: Gemini's reason (`SAFETY`, `PROHIBITED_CONTENT`, …).
    Reason(String),
    /// `upstream_error`: the model id Gemini does not offer.
    Model(String),
    /// `upstream_error`: the finish reason of an answer without text.
    FinishReason(String),
    /// `upstream_quota` / `upstream_unavailable`: why the waiting line did not
    /// take (or keep) the question.
    Waiting(Waiting),
    /// One photo of several was refused: which one (`path` such as `images[2]`,
    /// `number` counted from 1) and why (`detail`).
    Photo {
        /// The photo's place in the request: `images[2]` (JSON) or `image[2]` (multipart).
        path: String,
        /// Its number as a person counts (`path`'s index + 1).
        number: usize,
        /// What is wrong with it.
        detail: Box<Detail>,
    },
}

/// Why a question got no turn at Gemini.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Waiting {
    /// The person already has `max` questions waiting.
    PersonFull { max: usize },
    /// The line holds `max` questions.
    LineFull { max: usize },
    /// The wait would pass `max_seconds`.
    TooLong { max_seconds: u64 },
    /// The day's quota is gone until `moscow` (`HH:MM`, Moscow time).
    Day { moscow: String },
    /// The server is shutting down.
    Closing,
}

/// "вопрос", "вопроса", "вопросов" by the number.
fn questions_ru(n: usize) -> &'static str {
    match (n % 10, n % 100) {
        (1, r) if r != 11 => "вопрос",
        (2..=4, r) if !(12..=14).contains(&r) => "вопроса",
        _ => "вопросов",
    }
}

impl Waiting {
    /// The refusal as a sentence for the person using the app.
    pub fn describe(&self, lang: Language, retry_after: Option<u64>) -> String {
        use Language::{En, Ru};
        let again_ru = retry_after.map_or_else(|| "позже".to_owned(), |s| format!("через {s} с"));
        let again_en = retry_after.map_or_else(|| "later".to_owned(), |s| format!("in {s} s"));
        match (self, lang) {
            (Waiting::PersonFull { max }, Ru) => format!(
                "У вас уже {max} {} в очереди к Gemini. Дождитесь ответов и спросите снова.",
                questions_ru(*max)
            ),
            (Waiting::PersonFull { max }, En) => format!(
                "You already have {max} questions waiting for Gemini. Wait for their answers, then ask again."
            ),
            (Waiting::LineFull { max }, Ru) => format!(
                "Очередь к Gemini заполнена ({max} {}). Попробуйте {again_ru}.",
                questions_ru(*max)
            ),
            (Waiting::LineFull { max }, En) => {
                format!("The line for Gemini is full ({max} questions). Try again {again_en}.")
            }
            (Waiting::TooLong { max_seconds }, Ru) => format!(
                "Квота Gemini занята дольше, чем вопрос может ждать ({max_seconds} с). Попробуйте {again_ru}."
            ),
            (Waiting::TooLong { max_seconds }, En) => format!(
                "Gemini's quota is taken for longer than a question may wait ({max_seconds} s). Try again {again_en}."
            ),
            (Waiting::Day { moscow }, Ru) => format!(
                "Дневная квота Gemini исчерпана. Она восстановится в {moscow} по московскому времени (в полночь по тихоокеанскому)."
            ),
            (Waiting::Day { moscow }, En) => format!(
                "Gemini's daily quota is used up. It comes back at {moscow} Moscow time (midnight Pacific time)."
            ),
            (Waiting::Closing, Ru) => {
                "Сервер перезапускается. Задайте вопрос ещё раз через несколько секунд.".to_owned()
            }
            (Waiting::Closing, En) => "The server is restarting. Ask again in a few seconds.".to_owned(),
        }
    }
}

/// What is wrong with a request; `field` is the JSON path (`history[0].role`),
/// empty for the body itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Invalid {
    /// A required field is missing.
    Required { field: String },
    /// A field is empty or only spaces.
    Empty { field: String },
    /// A text field is longer than `max` characters.
    TooLong { field: String, max: u64 },
    /// A field is not of its JSON type.
    WrongType { field: String, expected: JsonType },
    /// A field is not one of the allowed values.
    OneOf { field: String, allowed: Vec<String> },
    /// A history turn has neither `text` nor `parts`.
    NoText { field: String },
    /// A field is not valid base64.
    NotBase64 { field: String },
    /// Exactly one of these fields is needed; the request has none or several.
    ExactlyOne { fields: Vec<String> },
    /// `field` cannot be sent together with `other`.
    NotWith { field: String, other: String },
    /// More photos than `max` in `field`.
    TooManyPhotos { field: String, max: usize },
    /// The body is not JSON at all.
    NotJson { line: usize, column: usize },
    /// The body could not be read.
    Unreadable,
    /// A refusal of the framework that names no field we could find; its own text
    /// (English) is kept, truncated.
    Other(String),
}

/// The JSON types a field can require.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JsonType {
    /// A JSON string.
    String,
    /// A JSON number.
    Number,
    /// `true` or `false`.
    Boolean,
    /// A JSON object.
    Object,
    /// A JSON array.
    Array,
}

/// What is wrong with a body's or a photo's type.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Media {
    /// The request's `Content-Type` is not one the operation reads.
    ContentType,
    /// The photo's claimed type is not allowed.
    TypeNotAllowed(String),
    /// The bytes are not the claimed type.
    Mismatch { claimed: String, actual: String },
    /// The file's structure could not be walked, so its metadata could not be
    /// removed (it is refused rather than sent on with it).
    Unstrippable { mime: String },
    /// The bytes are no known photo type.
    NotAPhoto,
    /// The recording's claimed type is not one Gemini accepts.
    AudioTypeNotAllowed(String),
}

/// "The field `x`" / "Поле `x`", or the body when the path is empty.
fn subject(lang: Language, field: &str) -> String {
    match (lang, field.is_empty()) {
        (Language::Ru, true) => "Тело запроса".to_owned(),
        (Language::En, true) => "The request body".to_owned(),
        (Language::Ru, false) => format!("Поле `{field}`"),
        (Language::En, false) => format!("The field `{field}`"),
    }
}

/// `` `a`, `b` `` — field names quoted verbatim.
fn quote_all(fields: &[String]) -> String {
    fields
        .iter()
        .map(|f| format!("`{f}`"))
        .collect::<Vec<_>>()
        .join(", ")
}

impl Invalid {
    /// The problem as a sentence for the person using the app.
    pub fn describe(&self, lang: Language) -> String {
        use Language::{En, Ru};
        match (self, lang) {
            (Invalid::Required { field }, Ru) => format!("{} обязательно.", subject(lang, field)),
            (Invalid::Required { field }, En) => format!("{} is required.", subject(lang, field)),
            (Invalid::Empty { field }, Ru) => format!("{} не должно быть пустым.", subject(lang, field)),
            (Invalid::Empty { field }, En) => format!("{} must not be empty.", subject(lang, field)),
            (Invalid::TooLong { field, max }, Ru) => {
                format!("{} длиннее {max} символов.", subject(lang, field))
            }
            (Invalid::TooLong { field, max }, En) => {
                format!("{} is longer than {max} characters.", subject(lang, field))
            }
            (Invalid::WrongType { field, expected }, _) => {
                format!("{} {}.", subject(lang, field), expected.must_be(lang))
            }
            (Invalid::OneOf { field, allowed }, Ru) => format!(
                "{} должно быть одним из: {}.",
                subject(lang, field),
                allowed.join(", ")
            ),
            (Invalid::OneOf { field, allowed }, En) => {
                format!("{} must be one of: {}.", subject(lang, field), allowed.join(", "))
            }
            (Invalid::NoText { field }, Ru) => format!("В `{field}` нужно поле `text` или `parts`."),
            (Invalid::NoText { field }, En) => format!("`{field}` needs `text` or `parts`."),
            (Invalid::NotBase64 { field }, Ru) => {
                format!("{} не является корректным base64.", subject(lang, field))
            }
            (Invalid::NotBase64 { field }, En) => format!("{} is not valid base64.", subject(lang, field)),
            (Invalid::ExactlyOne { fields }, Ru) => {
                format!("Нужно ровно одно из полей: {}.", quote_all(fields))
            }
            (Invalid::ExactlyOne { fields }, En) => {
                format!("Exactly one of the fields {} is needed.", quote_all(fields))
            }
            (Invalid::NotWith { field, other }, Ru) => {
                format!("Поле `{field}` нельзя передавать вместе с `{other}`.")
            }
            (Invalid::NotWith { field, other }, En) => {
                format!("The field `{field}` cannot be sent together with `{other}`.")
            }
            (Invalid::TooManyPhotos { field, max }, Ru) => {
                format!("Слишком много фото в `{field}`: не больше {max} за один анализ.")
            }
            (Invalid::TooManyPhotos { field, max }, En) => {
                format!("Too many photos in `{field}`: at most {max} per analysis.")
            }
            (Invalid::NotJson { line, column }, Ru) => {
                format!("Тело запроса не является корректным JSON (строка {line}, позиция {column}).")
            }
            (Invalid::NotJson { line, column }, En) => {
                format!("The request body is not valid JSON (line {line}, column {column}).")
            }
            (Invalid::Unreadable, Ru) => "Не удалось прочитать тело запроса.".to_owned(),
            (Invalid::Unreadable, En) => "The request body could not be read.".to_owned(),
            (Invalid::Other(text), Ru) => format!("Запрос составлен неверно: {text}"),
            (Invalid::Other(text), En) => format!("The request is not valid: {text}"),
        }
    }
}

impl JsonType {
    fn must_be(self, lang: Language) -> &'static str {
        use Language::{En, Ru};
        match (self, lang) {
            (JsonType::String, Ru) => "должно быть строкой",
            (JsonType::String, En) => "must be a string",
            (JsonType::Number, Ru) => "должно быть числом",
            (JsonType::Number, En) => "must be a number",
            (JsonType::Boolean, Ru) => "должно быть true или false",
            (JsonType::Boolean, En) => "must be true or false",
            (JsonType::Object, Ru) => "должно быть JSON-объектом",
            (JsonType::Object, En) => "must be a JSON object",
            (JsonType::Array, Ru) => "должно быть массивом",
            (JsonType::Array, En) => "must be an array",
        }
    }
}

impl Media {
    /// The problem as a sentence for the person using the app.
    pub fn describe(&self, lang: Language) -> String {
        use Language::{En, Ru};
        match (self, lang) {
            (Media::ContentType, Ru) => {
                "Неподдерживаемый тип тела запроса: отправьте application/json (или multipart/form-data с фото).".to_owned()
            }
            (Media::ContentType, En) => {
                "The request's Content-Type is not supported: send application/json (or multipart/form-data with a photo).".to_owned()
            }
            (Media::TypeNotAllowed(kind), Ru) => format!(
                "Тип файла `{kind}` не поддерживается: отправьте фото в формате PNG, JPEG, WebP, HEIC или HEIF."
            ),
            (Media::TypeNotAllowed(kind), En) => format!(
                "The file type `{kind}` is not supported: send a PNG, JPEG, WebP, HEIC or HEIF photo."
            ),
            (Media::Mismatch { claimed, actual }, Ru) => {
                format!("Файл не является {claimed} (похоже, это {actual}).")
            }
            (Media::Mismatch { claimed, actual }, En) => {
                format!("The file is not {claimed} (it looks like {actual}).")
            }
            (Media::Unstrippable { mime }, Ru) => format!(
                "Не удалось прочитать структуру файла {mime}, поэтому из него нельзя удалить метаданные \
                 (например, координаты GPS). Пересохраните или заново экспортируйте фото и попробуйте ещё раз."
            ),
            (Media::Unstrippable { mime }, En) => format!(
                "The {mime} file's structure could not be read, so its metadata (such as the GPS position) \
                 could not be removed. Re-save or re-export the photo and try again."
            ),
            (Media::NotAPhoto, Ru) => {
                "Файл не является фото в формате PNG, JPEG, WebP, HEIC или HEIF.".to_owned()
            }
            (Media::NotAPhoto, En) => "The file is not a PNG, JPEG, WebP, HEIC or HEIF photo.".to_owned(),
            (Media::AudioTypeNotAllowed(kind), Ru) => format!(
                "Тип записи `{kind}` не поддерживается: отправьте WAV, MP3, AIFF, AAC, OGG Vorbis или FLAC."
            ),
            (Media::AudioTypeNotAllowed(kind), En) => format!(
                "The recording type `{kind}` is not supported: send WAV, MP3, AIFF, AAC, OGG Vorbis or FLAC."
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_multi_photo_problems_name_their_fields() {
        let neither = Invalid::ExactlyOne {
            fields: vec!["images".into(), "base64Image".into()],
        };
        assert_eq!(
            neither.describe(Language::En),
            "Exactly one of the fields `images`, `base64Image` is needed."
        );
        assert!(neither.describe(Language::Ru).contains("`images`, `base64Image`"));
        let many = Invalid::TooManyPhotos {
            field: "images".into(),
            max: 4,
        };
        assert_eq!(
            many.describe(Language::En),
            "Too many photos in `images`: at most 4 per analysis."
        );
        assert!(many.describe(Language::Ru).contains("`images`"));
        let both = Invalid::NotWith {
            field: "base64Image".into(),
            other: "images".into(),
        };
        assert!(both.describe(Language::En).contains("`base64Image`"));
        assert!(both.describe(Language::Ru).contains("`images`"));
    }

    /// The problem's message in Russian, then in English.
    fn in_both(problem: &Invalid) -> [String; 2] {
        [problem.describe(Language::Ru), problem.describe(Language::En)]
    }

    #[test]
    fn field_names_stay_verbatim_in_both_languages() {
        let empty = Invalid::Empty {
            field: "message".into(),
        };
        assert_eq!(
            in_both(&empty),
            [
                "Поле `message` не должно быть пустым.",
                "The field `message` must not be empty."
            ]
        );
        let typed = Invalid::WrongType {
            field: "message".into(),
            expected: JsonType::String,
        };
        assert_eq!(
            in_both(&typed),
            [
                "Поле `message` должно быть строкой.",
                "The field `message` must be a string."
            ]
        );
        let body = Invalid::WrongType {
            field: String::new(),
            expected: JsonType::Object,
        };
        assert_eq!(
            body.describe(Language::En),
            "The request body must be a JSON object."
        );
    }
}
