//! Retries and failover before the first byte reaches the client: jittered
//! exponential backoff for transient errors, keys that cool down after a 429 or a
//! rejection, and the order in which keys are tried.

use std::{
    sync::Mutex,
    time::{Duration, Instant},
};

use secrecy::SecretString;

/// Attempts with one key and model before moving on.
pub(super) const MAX_ATTEMPTS: u32 = 3;
/// A `RetryInfo` delay at most this long is waited out on the same key.
pub(super) const SHORT_RETRY_DELAY: Duration = Duration::from_secs(3);
/// How long a key that got 429 without a delay rests.
pub(super) const QUOTA_COOLDOWN: Duration = Duration::from_secs(60);
/// How long a rejected key rests.
pub(super) const AUTH_COOLDOWN: Duration = Duration::from_secs(600);

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
pub(super) fn backoff(base: Duration, attempt: u32) -> Duration {
    let exp = base.saturating_mul(1 << attempt.saturating_sub(1).min(6));
    let jitter = 0.5 + rand::random::<f64>();
    exp.mul_f64(jitter).min(Duration::from_secs(8))
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
}
