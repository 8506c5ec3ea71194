//! The Gemini client: builds `generateContent` requests, sends them with the
//! server's key, and turns Gemini's answers and errors into our own types.
//!
//! Owns everything about Gemini's wire format (kept private in `wire`). Must not
//! know HTTP-server types (no poem here) and must never put the key anywhere but
//! the `x-goog-api-key` header. Upstream text is redacted before it is logged.
//!
//! Modules, and the one direction data walks (nothing imports back up):
//! - `client`: sending one attempt (unary or streamed), the start-up probe;
//! - `stream`: a streamed answer in progress (records its own tokens when done);
//! - `request`: the domain's `Prompt` → request body (the photo's base64 is made here);
//! - `probe`: the probe's modes, its one-token request and what its outcome proves;
//! - `response`: answers → text, finish reason, usage, or the error they are;
//! - `error`: `GeminiError`, the classification of error bodies, the `Redactor`;
//! - `failover`: the retry and failover loop over models, keys and attempts,
//!   what follows a failed attempt, key resting and backoff, the upstream state;
//! - `sse`: Gemini's Server-Sent Events at the byte level;
//! - `wire`: the JSON shapes.
//!
//! ```text
//! client ─┬─> stream ──> response ─┬─> error ──> wire
//!         ├─> request ──> wire      └─> wire
//!         ├─> probe ──> request
//!         └─> failover ─┬─> error     stream ──> sse
//!                       └─> response
//! ```

mod client;
mod error;
mod failover;
mod lanes;
mod probe;
mod request;
mod response;
mod sse;
mod stream;
mod wire;

/// The fake Gemini of the integration tests (a real HTTP server), for the
/// client's own tests.
#[cfg(test)]
#[path = "../../tests/support/fake_gemini.rs"]
mod fake_gemini;

pub use client::{GeminiClient, GeminiSettings};
pub use error::GeminiError;
pub use probe::ProbeMode;
pub use response::{Answer, Usage};
pub use stream::{AnswerStream, StreamEvent};
