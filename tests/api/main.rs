//! Integration tests: the real server on 127.0.0.1:0 over real HTTP, against a fake
//! Gemini that is itself a real HTTP server speaking Gemini's wire format.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "../support/fake_gemini.rs"]
mod fake_gemini;
mod helpers;
#[path = "../support/pebble.rs"]
mod pebble;
#[path = "../support/redis.rs"]
mod redis_server;
#[path = "../support/tls.rs"]
mod tls;

mod analyze;
mod chat;
mod edge;
mod error_language;
mod errors;
mod fake;
mod faults;
mod guard;
mod http2;
mod https;
mod images;
mod layer;
mod limits;
mod meta;
mod multi_photo;
mod process;
mod quota;
mod spa;
mod upstream;
mod voice;
