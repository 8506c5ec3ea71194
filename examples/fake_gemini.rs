//! A fake Gemini for trying the app without a key (and for the end-to-end tests):
//! answers with the fixtures of `tests/fixtures/gemini/` in Gemini's wire shape — a
//! weld-analysis report for a photo, a welding answer for a question, in English
//! or Russian as the request asks (see `tests/support/fake_gemini.rs`). End-to-end
//! tests script other answers with `POST /__fake/script` and read what it received
//! with `GET /__fake/received`.
//!
//! ```text
//! cargo run --example fake_gemini -- 127.0.0.1:9090
//! GEMINI_API_KEY=any WELD_GEMINI_BASE_URL=http://127.0.0.1:9090 WELD_COOKIE_SECURE=false cargo run
//! ```
//!
//! `FAKE_GEMINI_RPM=10` (or `POST /__fake/quota {"perMinute":10,"perDay":200}`)
//! makes it enforce Google's quota per model, answering with Google's 429.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "../tests/support/fake_gemini.rs"]
mod fake_gemini;

#[tokio::main]
async fn main() {
    let address = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:9090".to_owned());
    let fake = fake_gemini::FakeGemini::start_on(&address).await;
    if let Some(rpm) = std::env::var("FAKE_GEMINI_RPM").ok().and_then(|v| v.parse().ok()) {
        fake.enforce_quota(fake_gemini::Quota::per_minute(rpm));
        println!("enforcing {rpm} requests a minute per model");
    }
    println!("fake Gemini listening on {}", fake.url);
    let _ = tokio::signal::ctrl_c().await;
}
