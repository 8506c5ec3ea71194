//! The welding assistant's own rules, free of HTTP and of Gemini's wire format:
//! conversation turns and their normalisation, the answer language, the prompts,
//! what an acceptable weld photo is, and the removal of its metadata.

pub mod history;
pub mod image;
pub mod language;
pub mod metadata;
pub mod prompt;
