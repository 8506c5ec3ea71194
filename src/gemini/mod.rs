//! The Gemini client: builds `generateContent` requests, sends them with the
//! server's key, and turns Gemini's answers and errors into our own types.
//!
//! Owns everything about Gemini's wire format (kept private in `wire`). Must not
//! know HTTP-server types (no poem here) and must never put the key anywhere but
//! the `x-goog-api-key` header.

mod client;
mod error;
mod failover;
pub mod sse;
mod stream;
mod wire;

pub use client::{Answer, GeminiClient, GeminiSettings, InlineImage, Prompt, Usage};
pub use error::GeminiError;

pub use stream::{AnswerStream, StreamEvent};
