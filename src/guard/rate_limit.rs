//! The rate limits, in people's terms (README.md → Configuration):
//! - **per person** — one session cookie or one API token gets exactly
//!   `WELD_RATE_LIMIT_PER_MINUTE` / `_BURST` chat + analyze requests;
//! - **per address** — everyone behind one client address together (a school's
//!   NAT, a carrier's CGNAT; IPv6 by /64) gets `_PER_IP_PER_MINUTE` / `_PER_IP_BURST`;
//! - **guesses** — failed access codes and failed tokens of one address; while an
//!   address is over it, its attempts are refused before they are looked at.
//!
//! Opening the site is never limited. With a shared store (Redis) the limits hold
//! across replicas; when the store does not answer, the process's own counters
//! take over for that request, so a limit never hangs and never disappears. Key
//! tables are bounded: idle keys go every minute, and each shard holds at most
//! `MAX_KEYS_PER_SHARD`.

use std::{
    collections::HashMap,
    hash::{BuildHasher, RandomState},
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use super::{
    gcra::{self, Decision, Quota},
    shared::SharedStore,
};
use crate::metrics::Metrics;

/// Failed access-code or token attempts per address per minute.
pub const GUESSES_PER_MINUTE: u32 = 10;
/// Failed attempts allowed at once (a person who mistypes the code a few times).
pub const GUESS_BURST: u32 = 10;

const SHARDS: usize = 16;
/// Keys one shard of one limit holds at most (16 × this per limit).
const MAX_KEYS_PER_SHARD: usize = 16_384;

/// The configured quotas.
#[derive(Debug, Clone, Copy)]
pub struct LimitSettings {
    /// Per person (session or token).
    pub person: Quota,
    /// Per client address.
    pub address: Quota,
    /// Failed access-code / token attempts per address.
    pub guess: Quota,
}

impl LimitSettings {
    /// From the configured per-minute rates and bursts.
    pub fn new(
        person_per_minute: u32,
        person_burst: u32,
        address_per_minute: u32,
        address_burst: u32,
    ) -> Self {
        Self {
            person: Quota::per_minute(person_per_minute, person_burst),
            address: Quota::per_minute(address_per_minute, address_burst),
            guess: Quota::per_minute(GUESSES_PER_MINUTE, GUESS_BURST),
        }
    }
}

/// Which limit a key belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Person,
    Address,
    Guess,
}

impl Kind {
    fn prefix(self) -> &'static str {
        match self {
            Kind::Person => "person:",
            Kind::Address => "address:",
            Kind::Guess => "guess:",
        }
    }
}

/// One limit's keys in the process: tat per key, sharded to keep locks short.
struct MemoryTable {
    shards: Vec<Mutex<HashMap<String, u64>>>,
    hasher: RandomState,
}

impl MemoryTable {
    fn new() -> Self {
        Self {
            shards: (0..SHARDS).map(|_| Mutex::new(HashMap::new())).collect(),
            hasher: RandomState::new(),
        }
    }

    fn check(&self, key: &str, quota: Quota, now_ms: u64, take: bool) -> Decision {
        let shard = &self.shards[(self.hasher.hash_one(key) as usize) % SHARDS];
        let Ok(mut map) = shard.lock() else {
            return Decision::Allowed {
                limit: quota.burst,
                remaining: 0,
            };
        };
        let (decision, next) = gcra::step(quota, map.get(key).copied(), now_ms, take);
        if let Some(tat) = next {
            if let Some(slot) = map.get_mut(key) {
                *slot = tat;
            } else {
                if map.len() >= MAX_KEYS_PER_SHARD {
                    map.retain(|_, tat| *tat > now_ms);
                }
                // A full shard after eviction (a flood of new addresses) stops
                // remembering new keys rather than growing without bound.
                if map.len() < MAX_KEYS_PER_SHARD {
                    map.insert(key.to_owned(), tat);
                }
            }
        }
        decision
    }

    fn evict(&self, now_ms: u64) {
        for shard in &self.shards {
            if let Ok(mut map) = shard.lock() {
                map.retain(|_, tat| *tat > now_ms);
                map.shrink_to_fit();
            }
        }
    }

    fn len(&self) -> usize {
        self.shards
            .iter()
            .map(|s| s.lock().map(|m| m.len()).unwrap_or(0))
            .sum()
    }
}

/// All of the server's rate limits.
#[derive(Clone)]
pub struct RateLimits {
    inner: Arc<Inner>,
}

struct Inner {
    settings: LimitSettings,
    person: MemoryTable,
    address: MemoryTable,
    guess: MemoryTable,
    shared: Option<Arc<SharedStore>>,
    metrics: Option<Arc<Metrics>>,
    epoch: Instant,
}

impl RateLimits {
    /// Limits kept in the process, or in `shared` when given.
    pub fn new(
        settings: LimitSettings,
        shared: Option<Arc<SharedStore>>,
        metrics: Option<Arc<Metrics>>,
    ) -> Self {
        Self {
            inner: Arc::new(Inner {
                settings,
                person: MemoryTable::new(),
                address: MemoryTable::new(),
                guess: MemoryTable::new(),
                shared,
                metrics,
                epoch: Instant::now(),
            }),
        }
    }

    fn now_ms(&self) -> u64 {
        self.inner.epoch.elapsed().as_millis() as u64
    }

    async fn check(&self, kind: Kind, key: &str, take: bool) -> Decision {
        let quota = match kind {
            Kind::Person => self.inner.settings.person,
            Kind::Address => self.inner.settings.address,
            Kind::Guess => self.inner.settings.guess,
        };
        let full_key = format!("{}{key}", kind.prefix());
        if let Some(shared) = &self.inner.shared {
            match shared.check(&full_key, quota, take).await {
                Ok(decision) => return decision,
                Err(error) => {
                    if let Some(metrics) = &self.inner.metrics {
                        metrics.observe_store_error();
                    }
                    tracing::warn!(error = %error, "limit store failed: this request is limited by the process alone");
                }
            }
        }
        let table = match kind {
            Kind::Person => &self.inner.person,
            Kind::Address => &self.inner.address,
            Kind::Guess => &self.inner.guess,
        };
        table.check(&full_key, quota, self.now_ms(), take)
    }

    /// One chat/analyze request of `person` (a session id or a token's id) from
    /// `address` (an address key). The person's own limit comes first, so one
    /// person over it does not spend the share of the others behind the address.
    pub async fn check_ai(&self, person: &str, address: &str) -> Decision {
        let by_person = self.check(Kind::Person, person, true).await;
        if !by_person.is_allowed() {
            return by_person;
        }
        match self.check(Kind::Address, address, true).await {
            Decision::Allowed { .. } => by_person,
            limited => limited,
        }
    }

    /// Whether `address` may try an access code or a token now (spends nothing).
    pub async fn may_guess(&self, address: &str) -> Decision {
        self.check(Kind::Guess, address, false).await
    }

    /// Counts a failed access code or token of `address`.
    pub async fn count_failed_guess(&self, address: &str) -> Decision {
        self.check(Kind::Guess, address, true).await
    }

    /// Which store keeps the limits (`memory` or `redis`) and whether it
    /// answered its last call.
    pub fn store(&self) -> (&'static str, bool) {
        match &self.inner.shared {
            Some(shared) => ("redis", shared.is_ok()),
            None => ("memory", true),
        }
    }

    /// Which store keeps the limits and whether it answers now: Redis is asked
    /// (one `PING`, bounded by a short timeout); memory always answers.
    pub async fn probe_store(&self) -> (&'static str, bool) {
        match &self.inner.shared {
            Some(shared) => ("redis", shared.ping().await),
            None => ("memory", true),
        }
    }

    /// Drops idle keys.
    pub fn evict_idle(&self) {
        let now = self.now_ms();
        self.inner.person.evict(now);
        self.inner.address.evict(now);
        self.inner.guess.evict(now);
    }

    /// Keys currently held in the process.
    pub fn tracked_keys(&self) -> usize {
        self.inner.person.len() + self.inner.address.len() + self.inner.guess.len()
    }

    /// Evicts idle keys every minute until the limits are dropped.
    pub fn spawn_eviction(&self) {
        let weak = Arc::downgrade(&self.inner);
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(Duration::from_secs(60));
            tick.tick().await;
            loop {
                tick.tick().await;
                let Some(inner) = weak.upgrade() else { break };
                RateLimits { inner }.evict_idle();
            }
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits(person: (u32, u32), address: (u32, u32)) -> RateLimits {
        RateLimits::new(
            LimitSettings::new(person.0, person.1, address.0, address.1),
            None,
            None,
        )
    }

    #[tokio::test]
    async fn one_person_gets_exactly_their_burst_and_a_classmate_is_not_affected() {
        let limits = limits((20, 5), (120, 60));
        for remaining in (0..5).rev() {
            assert_eq!(
                limits.check_ai("s1", "192.0.2.1").await,
                Decision::Allowed { limit: 5, remaining }
            );
        }
        assert!(!limits.check_ai("s1", "192.0.2.1").await.is_allowed());
        assert!(limits.check_ai("s2", "192.0.2.1").await.is_allowed());
    }

    #[tokio::test]
    async fn the_address_limit_bounds_everyone_behind_it_together() {
        let limits = limits((20, 5), (10, 4));
        for person in 0..4 {
            assert!(
                limits
                    .check_ai(&format!("s{person}"), "192.0.2.1")
                    .await
                    .is_allowed()
            );
        }
        assert!(!limits.check_ai("s9", "192.0.2.1").await.is_allowed());
        assert!(limits.check_ai("s9", "192.0.2.2").await.is_allowed());
    }

    #[tokio::test]
    async fn a_person_over_their_limit_does_not_spend_the_address() {
        let limits = limits((60, 1), (60, 2));
        assert!(limits.check_ai("greedy", "a").await.is_allowed());
        for _ in 0..10 {
            assert!(!limits.check_ai("greedy", "a").await.is_allowed());
        }
        assert!(limits.check_ai("other", "a").await.is_allowed());
    }

    #[tokio::test]
    async fn guesses_are_refused_once_an_address_has_failed_too_often() {
        let limits = limits((20, 5), (120, 60));
        for _ in 0..GUESS_BURST {
            assert!(limits.may_guess("a").await.is_allowed());
            assert!(limits.count_failed_guess("a").await.is_allowed());
        }
        assert!(!limits.may_guess("a").await.is_allowed());
        assert!(limits.may_guess("b").await.is_allowed());
    }

    #[test]
    fn idle_keys_are_evicted_and_tables_stay_bounded() {
        let table = MemoryTable::new();
        let quota = Quota::per_minute(6000, 1);
        for i in 0..(SHARDS * MAX_KEYS_PER_SHARD + 5_000) {
            let _ = table.check(&i.to_string(), quota, 0, true);
        }
        assert!(table.len() <= SHARDS * MAX_KEYS_PER_SHARD, "{}", table.len());
        table.evict(1_000);
        assert_eq!(table.len(), 0);
    }
}
