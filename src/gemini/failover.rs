//! Retries and failover before the first byte reaches the client: the loop
//! over models, keys and attempts (`Failover::run`), the decision taken after
//! each failed attempt (`after_error`), jittered exponential backoff for
//! transient errors, keys that cool down after a 429 or a rejection, and the
//! order in which keys are tried.
//!
//! Must not build requests or read answers: an attempt is a closure the client
//! passes in.

use std::{
    future::Future,
    sync::Mutex,
    time::{Duration, Instant},
};

use secrecy::SecretString;

use super::{
    error::{GeminiError, Redactor},
    response::Usage,
};
use crate::{
    metrics::Metrics,
    quota::{QuotaBook, Scope},
    upstream::{UpstreamState, UpstreamStatus},
};

/// Attempts with one key and model before moving on.
const MAX_ATTEMPTS: u32 = 3;
/// A `RetryInfo` delay at most this long is waited out on the same key.
const SHORT_RETRY_DELAY: Duration = Duration::from_secs(3);
/// How long a key that got 429 without a delay rests.
const QUOTA_COOLDOWN: Duration = Duration::from_secs(60);
/// How long a rejected key rests.
const AUTH_COOLDOWN: Duration = Duration::from_secs(600);

/// The configured keys and when each may be used again.
#[derive(Debug)]
pub(super) struct KeyRing {
    keys: Vec<SecretString>,
    resting_until: Mutex<Vec<Option<Instant>>>,
}

impl KeyRing {
    pub(super) fn new(keys: Vec<SecretString>) -> Self {
        let n = keys.len();
        Self {
            keys,
            resting_until: Mutex::new(vec![None; n]),
        }
    }

    pub(super) fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    pub(super) fn key(&self, index: usize) -> &SecretString {
        &self.keys[index]
    }

    /// Rested keys in configured order, then resting ones, soonest ready first.
    pub(super) fn order(&self) -> Vec<usize> {
        let now = Instant::now();
        let resting = self.resting_until.lock().map(|r| r.clone()).unwrap_or_default();
        let mut ready: Vec<usize> = Vec::new();
        let mut later: Vec<(Instant, usize)> = Vec::new();
        for index in 0..self.keys.len() {
            match resting.get(index).copied().flatten() {
                Some(until) if until > now => later.push((until, index)),
                _ => ready.push(index),
            }
        }
        later.sort();
        ready.extend(later.into_iter().map(|(_, i)| i));
        ready
    }

    /// Rests a key.
    pub(super) fn rest(&self, index: usize, duration: Duration) {
        if let Ok(mut resting) = self.resting_until.lock() {
            if let Some(slot) = resting.get_mut(index) {
                *slot = Some(Instant::now() + duration);
            }
        }
    }

    /// A key worked: it is ready again.
    pub(super) fn ready(&self, index: usize) {
        if let Ok(mut resting) = self.resting_until.lock() {
            if let Some(slot) = resting.get_mut(index) {
                *slot = None;
            }
        }
    }
}

/// The wait before attempt `attempt + 1`: `base · 2^(attempt-1)`, jittered ±50 %,
/// at most 8 s.
fn backoff(base: Duration, attempt: u32) -> Duration {
    let exp = base.saturating_mul(1 << attempt.saturating_sub(1).min(6));
    let jitter = 0.5 + rand::random::<f64>();
    exp.mul_f64(jitter).min(Duration::from_secs(8))
}

/// What one attempt produced, for the per-attempt log line.
pub(super) trait AttemptOutput {
    fn usage(&self) -> Option<Usage> {
        None
    }
}

/// What the failover loop works with, borrowed from the client.
pub(super) struct Failover<'a> {
    pub(super) keys: &'a KeyRing,
    pub(super) models: &'a [String],
    /// Bound on one attempt; the whole run stays within twice this.
    pub(super) timeout: Duration,
    pub(super) status: &'a UpstreamStatus,
    pub(super) metrics: &'a Metrics,
    pub(super) redactor: &'a Redactor,
    /// The model to start with (the waiting line took a call of its minute).
    pub(super) first: usize,
    /// The waiting line's quota book: fallbacks are called within their own
    /// minute, and 429s on every key are reported to it.
    pub(super) quota: Option<&'a QuotaBook>,
}

/// What to do after a failed attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Step {
    /// Wait, then try the same key and model again.
    Retry { wait: Duration },
    /// Rest this key for `rest` and try the next one; `rejected`: Gemini refused the key.
    NextKey { rest: Duration, rejected: bool },
    /// Try the next fallback model.
    NextModel,
    /// Fail with this error.
    GiveUp,
}

/// The decision after attempt `tries` (1-based) with one key and model failed
/// with `error`: transient errors (429 with a short delay, 500, 503, 504,
/// timeouts, connection errors) are retried on the same key with jittered
/// backoff while attempts and time remain; a 429 or a rejected key moves to the
/// next key (resting this one); overload after the retries, or a missing model,
/// moves to the next model. Anything else, 400s included, is final.
pub(super) fn after_error(error: &GeminiError, tries: u32, base_delay: Duration, deadline: Instant) -> Step {
    let can_wait = |wait: Duration| tries < MAX_ATTEMPTS && Instant::now() + wait < deadline;
    match error {
        GeminiError::Unavailable { .. } | GeminiError::Timeout | GeminiError::Unreachable(_) => {
            let wait = backoff(base_delay, tries);
            if can_wait(wait) {
                Step::Retry { wait }
            } else if matches!(error, GeminiError::Unavailable { .. }) {
                Step::NextModel
            } else {
                Step::GiveUp
            }
        }
        GeminiError::Quota { retry_after } => match retry_after.filter(|d| *d <= SHORT_RETRY_DELAY) {
            Some(wait) if can_wait(wait) => Step::Retry { wait },
            _ => Step::NextKey {
                rest: retry_after.unwrap_or(QUOTA_COOLDOWN),
                rejected: false,
            },
        },
        // Another key may be of another project, with a day of its own.
        GeminiError::DailyQuota => Step::NextKey {
            rest: QUOTA_COOLDOWN,
            rejected: false,
        },
        GeminiError::Auth { .. } => Step::NextKey {
            rest: AUTH_COOLDOWN,
            rejected: true,
        },
        GeminiError::ModelNotFound { .. } => Step::NextModel,
        _ => Step::GiveUp,
    }
}

/// The quota 429s of one model across its keys.
#[derive(Default)]
struct QuotaSeen {
    keys: usize,
    daily: bool,
    delay: Option<Duration>,
}

impl QuotaSeen {
    fn note(&mut self, error: &GeminiError, model: &str, metrics: &Metrics) {
        match error {
            GeminiError::Quota { retry_after } => {
                self.keys += 1;
                self.delay = *retry_after;
                metrics.observe_quota_429(model, "minute");
            }
            GeminiError::DailyQuota => {
                self.keys += 1;
                self.daily = true;
                metrics.observe_quota_429(model, "day");
            }
            _ => {}
        }
    }
}

impl Failover<'_> {
    /// Runs attempts over models, keys in `KeyRing::order`, and retries, as
    /// `after_error` decides, until one succeeds. Stops early when every key was
    /// rejected; everything stays within twice the attempt timeout. The error is
    /// the last one met (a timeout when the time ran out before any).
    pub(super) async fn run<T, F, Fut>(&self, mut attempt: F) -> Result<T, GeminiError>
    where
        T: AttemptOutput,
        F: FnMut(SecretString, String, Duration) -> Fut,
        Fut: Future<Output = Result<T, GeminiError>>,
    {
        if self.keys.is_empty() {
            return Err(GeminiError::NotConfigured);
        }
        let deadline = Instant::now() + self.timeout * 2;
        let base_delay = (self.timeout / 10).min(Duration::from_secs(1));
        let mut last: Option<GeminiError> = None;
        let mut attempts = 0u32;
        'models: for (index, model) in self.models.iter().enumerate().skip(self.first) {
            // A fallback is called only within its own minute's quota.
            if let Some(book) = self.quota.filter(|_| index > self.first) {
                if !book.take_model(index).await {
                    last = Some(GeminiError::Quota { retry_after: None });
                    continue 'models;
                }
            }
            let mut rejected_keys = 0;
            let mut quota = QuotaSeen::default();
            let order = self.keys.order();
            for &key_index in &order {
                let mut tries = 0u32;
                loop {
                    if Instant::now() >= deadline {
                        return Err(last.unwrap_or(GeminiError::Timeout));
                    }
                    tries += 1;
                    attempts += 1;
                    let result = self
                        .attempt(&mut attempt, model, key_index, attempts, deadline)
                        .await;
                    let error = match result {
                        Ok(value) => return Ok(value),
                        Err(error) => error,
                    };
                    match after_error(&error, tries, base_delay, deadline) {
                        Step::Retry { wait } => {
                            last = Some(error);
                            tokio::time::sleep(wait).await;
                        }
                        Step::NextKey { rest, rejected } => {
                            self.keys.rest(key_index, rest);
                            rejected_keys += usize::from(rejected);
                            quota.note(&error, model, self.metrics);
                            last = Some(error);
                            break;
                        }
                        Step::NextModel => {
                            last = Some(error);
                            continue 'models;
                        }
                        Step::GiveUp => return Err(error),
                    }
                }
            }
            if rejected_keys == order.len() {
                break;
            }
            // Every key got a 429 for this model: the project's quota for it is
            // what the waiting line must know of.
            if let Some(book) = self.quota.filter(|_| quota.keys == order.len()) {
                let scope = if quota.daily { Scope::Day } else { Scope::Minute };
                book.on_quota(model, scope, quota.delay).await;
            }
        }
        Err(last.unwrap_or(GeminiError::NotConfigured))
    }

    /// One attempt (number `attempts` of the run) with a key and a model, bounded
    /// by the attempt timeout and the deadline; its error redacted; counted,
    /// logged, and recorded in the upstream state.
    async fn attempt<T, F, Fut>(
        &self,
        attempt: &mut F,
        model: &str,
        key_index: usize,
        attempts: u32,
        deadline: Instant,
    ) -> Result<T, GeminiError>
    where
        T: AttemptOutput,
        F: FnMut(SecretString, String, Duration) -> Fut,
        Fut: Future<Output = Result<T, GeminiError>>,
    {
        if attempts > 1 {
            self.metrics.observe_retry();
        }
        let started = Instant::now();
        // No attempt may run past the deadline.
        let budget = self
            .timeout
            .min(deadline.saturating_duration_since(Instant::now()));
        let result = attempt(self.keys.key(key_index).clone(), model.to_owned(), budget)
            .await
            .map_err(|e| self.redactor.error(e));
        let outcome = result.as_ref().map_or_else(GeminiError::label, |_| "ok");
        let usage = result.as_ref().ok().and_then(AttemptOutput::usage);
        self.metrics.observe_upstream(model, outcome);
        tracing::info!(
            target: "weld_assistant::upstream",
            model,
            outcome,
            attempt = attempts,
            key = key_index + 1,
            latency_ms = started.elapsed().as_millis() as u64,
            prompt_tokens = usage.map(|u| u.prompt_tokens),
            response_tokens = usage.map(|u| u.response_tokens),
            "gemini attempt"
        );
        match &result {
            Ok(_) => {
                self.keys.ready(key_index);
                self.status.record(UpstreamState::Ok);
            }
            Err(error) => {
                tracing::debug!(model, error = %error, "gemini attempt failed");
                if let Some(state) = error.upstream_state() {
                    self.status.record(state);
                }
            }
        }
        result
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resting_keys_go_last_and_come_back() {
        let ring = KeyRing::new(vec!["a".into(), "b".into(), "c".into()]);
        assert_eq!(ring.order(), vec![0, 1, 2]);
        ring.rest(0, Duration::from_secs(60));
        ring.rest(1, Duration::from_secs(30));
        assert_eq!(ring.order(), vec![2, 1, 0]);
        ring.ready(0);
        assert_eq!(ring.order(), vec![0, 2, 1]);
        ring.rest(2, Duration::ZERO);
        std::thread::sleep(Duration::from_millis(2));
        assert_eq!(ring.order(), vec![0, 2, 1]);
    }

    #[test]
    fn backoff_grows_with_jitter_and_a_cap() {
        let base = Duration::from_millis(100);
        for attempt in 1..=3 {
            let nominal = 100.0 * f64::from(1u32 << (attempt - 1));
            let wait = backoff(base, attempt).as_secs_f64() * 1000.0;
            assert!(
                wait >= nominal * 0.5 && wait <= nominal * 1.5,
                "{attempt}: {wait}"
            );
        }
        assert!(backoff(Duration::from_secs(5), 10) <= Duration::from_secs(8));
    }

    #[test]
    fn after_an_error_the_loop_retries_moves_on_or_gives_up() {
        let base = Duration::from_millis(10);
        let later = Instant::now() + Duration::from_secs(60);
        let overloaded = GeminiError::Unavailable { status: 503 };
        assert!(matches!(
            after_error(&overloaded, 1, base, later),
            Step::Retry { .. }
        ));
        assert_eq!(
            after_error(&overloaded, MAX_ATTEMPTS, base, later),
            Step::NextModel
        );
        assert_eq!(
            after_error(&GeminiError::Timeout, MAX_ATTEMPTS, base, later),
            Step::GiveUp
        );
        assert_eq!(
            after_error(&GeminiError::Timeout, 1, base, Instant::now()),
            Step::GiveUp
        );
        let short = GeminiError::Quota {
            retry_after: Some(Duration::from_secs(1)),
        };
        assert_eq!(
            after_error(&short, 1, base, later),
            Step::Retry {
                wait: Duration::from_secs(1)
            }
        );
        assert_eq!(
            after_error(&short, MAX_ATTEMPTS, base, later),
            Step::NextKey {
                rest: Duration::from_secs(1),
                rejected: false
            }
        );
        let quota = GeminiError::Quota { retry_after: None };
        assert_eq!(
            after_error(&quota, 1, base, later),
            Step::NextKey {
                rest: QUOTA_COOLDOWN,
                rejected: false
            }
        );
        let auth = GeminiError::Auth { reason: "x".into() };
        assert_eq!(
            after_error(&auth, 1, base, later),
            Step::NextKey {
                rest: AUTH_COOLDOWN,
                rejected: true
            }
        );
        let missing = GeminiError::ModelNotFound {
            model: "m".into(),
            message: "x".into(),
        };
        assert_eq!(after_error(&missing, 1, base, later), Step::NextModel);
        let rejected = GeminiError::Rejected {
            status: 400,
            message: "x".into(),
        };
        assert_eq!(after_error(&rejected, 1, base, later), Step::GiveUp);
    }
}
