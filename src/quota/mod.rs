//! The waiting line in front of Gemini's quota. Google counts requests per
//! project and model, per minute and per day; past the minute's quota a chat or
//! analysis waits its turn here (fair per person, bounded) instead of failing,
//! and is sent as soon as a model has room. The day's quota is not waited for:
//! it comes back at midnight Pacific time.
//!
//! - `book`: what is known of each model's quota (sent calls, rates, blocks),
//!   shared between replicas through a store when one is set;
//! - `line`: the fair line and its dispatcher;
//! - `clock`: midnight Pacific, and how it reads in Moscow.
//!
//! Must not: know HTTP, sessions or Gemini's wire format — callers name a
//! person and report Google's answers.

pub mod book;
pub mod clock;
pub mod line;

pub use book::{ModelPlan, QuotaBook, Scope, SharedModel, SharedQuota, SharedReport, SharedRoom};
pub use line::{Admission, Line, LineSettings, Position, Refusal};
