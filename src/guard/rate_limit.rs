//! Rate limits with governor (the engine under tower-governor, whose Service
//! cannot wrap poem): per client IP for chat + analyze, per session (half the IP's
//! share, so one browser cannot take a whole NAT's share), and a looser one per IP
//! for creating sessions (which also bounds access-code guessing). Idle keys are
//! evicted every minute, so memory stays bounded under many IPs.

use std::{hash::Hash, net::IpAddr, num::NonZeroU32, sync::Arc, time::Duration};

use governor::{
    Quota, RateLimiter,
    clock::{Clock, DefaultClock},
    middleware::StateInformationMiddleware,
    state::keyed::DefaultKeyedStateStore,
};

/// Session creations per IP per minute, and their burst.
pub const SESSION_CREATE_PER_MINUTE: u32 = 30;
/// Burst of session creations.
pub const SESSION_CREATE_BURST: u32 = 10;

type Keyed<K> = RateLimiter<K, DefaultKeyedStateStore<K>, DefaultClock, StateInformationMiddleware>;

/// The outcome of a check: the headers tower-governor sends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    /// Allowed: `x-ratelimit-limit` and `x-ratelimit-remaining`.
    Allowed { limit: u32, remaining: u32 },
    /// Refused: wait this many whole seconds (`retry-after`, `x-ratelimit-after`).
    Limited { retry_after: u64 },
}

struct Limiter<K: Hash + Eq + Clone> {
    limiter: Keyed<K>,
    burst: u32,
}

impl<K: Hash + Eq + Clone> Limiter<K> {
    fn new(per_minute: u32, burst: u32) -> Self {
        let per_minute = NonZeroU32::new(per_minute.max(1)).unwrap_or(NonZeroU32::MIN);
        let burst = NonZeroU32::new(burst.max(1)).unwrap_or(NonZeroU32::MIN);
        let quota = Quota::per_minute(per_minute).allow_burst(burst);
        Self {
            limiter: RateLimiter::dashmap(quota).with_middleware::<StateInformationMiddleware>(),
            burst: burst.get(),
        }
    }

    fn check(&self, key: &K) -> Decision {
        match self.limiter.check_key(key) {
            Ok(state) => Decision::Allowed {
                limit: self.burst,
                remaining: state.remaining_burst_capacity(),
            },
            Err(not_until) => {
                // The limiter's own clock: building a new one per refusal costs a
                // CPUID (a VM exit) each time.
                let wait = not_until.wait_time_from(self.limiter.clock().now());
                Decision::Limited {
                    retry_after: wait.as_secs_f64().ceil().max(1.0) as u64,
                }
            }
        }
    }

    fn evict(&self) {
        self.limiter.retain_recent();
        self.limiter.shrink_to_fit();
    }

    fn len(&self) -> usize {
        self.limiter.len()
    }
}

/// All of the server's rate limits.
#[derive(Clone)]
pub struct RateLimits {
    inner: Arc<Inner>,
}

struct Inner {
    ai_by_ip: Limiter<IpAddr>,
    ai_by_session: Limiter<String>,
    sessions_by_ip: Limiter<IpAddr>,
}

impl RateLimits {
    /// Limits from the configured per-minute rate and burst.
    pub fn new(per_minute: u32, burst: u32) -> Self {
        Self {
            inner: Arc::new(Inner {
                ai_by_ip: Limiter::new(per_minute, burst),
                ai_by_session: Limiter::new(per_minute.div_ceil(2), burst.div_ceil(2)),
                sessions_by_ip: Limiter::new(SESSION_CREATE_PER_MINUTE, SESSION_CREATE_BURST),
            }),
        }
    }

    /// One chat/analyze request of a client (and its session, if it has one).
    pub fn check_ai(&self, ip: IpAddr, session: Option<&str>) -> Decision {
        let by_ip = self.inner.ai_by_ip.check(&ip);
        match (by_ip, session) {
            (Decision::Allowed { .. }, Some(id)) => match self.inner.ai_by_session.check(&id.to_owned()) {
                limited @ Decision::Limited { .. } => limited,
                Decision::Allowed { .. } => by_ip,
            },
            _ => by_ip,
        }
    }

    /// One session creation (or access-code attempt) of a client.
    pub fn check_session_create(&self, ip: IpAddr) -> Decision {
        self.inner.sessions_by_ip.check(&ip)
    }

    /// Drops idle keys.
    pub fn evict_idle(&self) {
        self.inner.ai_by_ip.evict();
        self.inner.ai_by_session.evict();
        self.inner.sessions_by_ip.evict();
    }

    /// Keys currently held (for tests and metrics).
    pub fn tracked_keys(&self) -> usize {
        self.inner.ai_by_ip.len() + self.inner.ai_by_session.len() + self.inner.sessions_by_ip.len()
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

    #[test]
    fn the_burst_is_allowed_then_the_next_request_waits() {
        let limits = RateLimits::new(20, 5);
        let ip: IpAddr = "192.0.2.1".parse().unwrap();
        for expected_remaining in (0..5).rev() {
            assert_eq!(
                limits.check_ai(ip, None),
                Decision::Allowed {
                    limit: 5,
                    remaining: expected_remaining
                }
            );
        }
        match limits.check_ai(ip, None) {
            Decision::Limited { retry_after } => assert!((1..=3).contains(&retry_after), "{retry_after}"),
            other => panic!("expected a limit, got {other:?}"),
        }
        let other: IpAddr = "192.0.2.2".parse().unwrap();
        assert!(matches!(limits.check_ai(other, None), Decision::Allowed { .. }));
    }

    #[test]
    fn one_session_gets_at_most_half_of_its_ips_burst() {
        let limits = RateLimits::new(20, 6);
        let ip: IpAddr = "192.0.2.1".parse().unwrap();
        for _ in 0..3 {
            assert!(matches!(
                limits.check_ai(ip, Some("s1")),
                Decision::Allowed { .. }
            ));
        }
        assert!(matches!(
            limits.check_ai(ip, Some("s1")),
            Decision::Limited { .. }
        ));
        assert!(matches!(
            limits.check_ai(ip, Some("s2")),
            Decision::Allowed { .. }
        ));
    }

    #[test]
    fn idle_keys_are_evicted() {
        let limits = RateLimits::new(6000, 100);
        for i in 0..1000u32 {
            let ip = IpAddr::from(i.to_be_bytes());
            let _ = limits.check_ai(ip, None);
        }
        assert_eq!(limits.tracked_keys(), 1000);
        std::thread::sleep(Duration::from_millis(1100));
        limits.evict_idle();
        assert!(limits.tracked_keys() < 1000, "{}", limits.tracked_keys());
    }
}
