//! The welding assistant's own rules, free of HTTP and of Gemini's wire format:
//! conversation turns and their normalisation, the answer language, the prompts,
//! and what an acceptable weld photo is.

pub mod history;
pub mod image;
pub mod language;
pub mod prompt;
