//! The welding assistant's own rules, free of HTTP and of Gemini's wire format:
//! conversation turns and their normalisation, the answer language, the prompts
//! and their sampling settings, what an acceptable weld photo is (`photo`: the
//! one check every photo passes), and the removal of its metadata; what an
//! acceptable spoken question is (`audio`) and the transcript taken off its
//! answer (`transcript`).
//!
//! Must not import `api`, `gemini`, `error` or poem: the others depend on this
//! module, never the other way round.

pub mod audio;
pub mod history;
pub mod image;
pub mod language;
pub mod metadata;
pub mod photo;
pub mod prompt;
pub mod transcript;
