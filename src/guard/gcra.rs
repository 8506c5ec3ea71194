//! The generic cell rate algorithm (GCRA) that every limit uses, in the process
//! and — as the same arithmetic in a Lua script — in Redis, so a limit means the
//! same thing whichever store keeps it.
//!
//! A key's whole state is one number, its theoretical arrival time (`tat`, in
//! milliseconds). A quota of `per_minute` with `burst` lets `burst` requests
//! through at once and then one every `60 000 / per_minute` ms. A check with
//! `take = false` only asks whether one more request would pass (used to refuse
//! guesses while an address is locked out, before the guess is looked at).

/// A limit: so many per minute, so many at once.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Quota {
    /// Milliseconds between two requests once the burst is spent.
    pub interval_ms: u64,
    /// Requests allowed at once.
    pub burst: u32,
}

impl Quota {
    /// `per_minute` requests per minute, `burst` at once (both at least 1).
    pub fn per_minute(per_minute: u32, burst: u32) -> Self {
        Self {
            interval_ms: (60_000 / u64::from(per_minute.max(1))).max(1),
            burst: burst.max(1),
        }
    }

    /// The window a full burst covers, in ms (how long a key's state matters).
    pub fn window_ms(&self) -> u64 {
        self.interval_ms.saturating_mul(u64::from(self.burst))
    }
}

/// The outcome of a check, with what the rate-limit headers say.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    /// Allowed: `x-ratelimit-limit` and `x-ratelimit-remaining`.
    Allowed { limit: u32, remaining: u32 },
    /// Refused: wait this many whole seconds (`retry-after`).
    Limited { retry_after: u64 },
}

impl Decision {
    /// Whether the request may pass.
    pub fn is_allowed(&self) -> bool {
        matches!(self, Decision::Allowed { .. })
    }
}

/// One step of GCRA at `now_ms` for a key whose state is `tat` (`None`: unseen).
/// Returns the decision and, when a request was taken, the key's new state.
pub fn step(quota: Quota, tat: Option<u64>, now_ms: u64, take: bool) -> (Decision, Option<u64>) {
    let tau = quota.window_ms();
    let tat = tat.unwrap_or(now_ms).max(now_ms);
    let new_tat = tat.saturating_add(quota.interval_ms);
    let ahead = new_tat - now_ms;
    if ahead > tau {
        let wait_ms = ahead - tau;
        return (
            Decision::Limited {
                retry_after: wait_ms.div_ceil(1000).max(1),
            },
            None,
        );
    }
    let remaining = ((tau - ahead) / quota.interval_ms).min(u64::from(quota.burst)) as u32;
    (
        Decision::Allowed {
            limit: quota.burst,
            remaining,
        },
        take.then_some(new_tat),
    )
}

/// The Lua twin of [`step`], run atomically by Redis with the server's clock, so
/// replicas with skewed clocks still share one limit. KEYS[1] is the key;
/// ARGV = interval_ms, burst, take (1 or 0). Returns `{1, remaining}` or
/// `{0, wait_ms}`.
pub const LUA: &str = r#"
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local interval = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local tau = interval * burst
local tat = tonumber(redis.call('GET', KEYS[1]) or now)
if tat < now then tat = now end
local new_tat = tat + interval
local ahead = new_tat - now
if ahead > tau then
  return {0, ahead - tau}
end
if ARGV[3] == '1' then
  redis.call('SET', KEYS[1], new_tat, 'PX', ahead + 1000)
end
return {1, math.floor((tau - ahead) / interval)}
"#;

#[cfg(test)]
mod tests {
    use super::*;

    fn run(quota: Quota, tat: &mut Option<u64>, now: u64) -> Decision {
        let (decision, next) = step(quota, *tat, now, true);
        if next.is_some() {
            *tat = next;
        }
        decision
    }

    #[test]
    fn a_burst_passes_at_once_then_one_per_interval() {
        let quota = Quota::per_minute(20, 5);
        let mut tat = None;
        for remaining in (0..5).rev() {
            assert_eq!(
                run(quota, &mut tat, 1_000),
                Decision::Allowed { limit: 5, remaining }
            );
        }
        assert_eq!(run(quota, &mut tat, 1_000), Decision::Limited { retry_after: 3 });
        assert!(run(quota, &mut tat, 1_000 + 3_000).is_allowed());
        assert!(!run(quota, &mut tat, 1_000 + 3_000).is_allowed());
    }

    #[test]
    fn a_peek_never_spends() {
        let quota = Quota::per_minute(60, 1);
        let mut tat = None;
        for _ in 0..10 {
            assert_eq!(step(quota, tat, 0, false).1, None);
        }
        assert!(run(quota, &mut tat, 0).is_allowed());
        assert!(!step(quota, tat, 0, false).0.is_allowed());
    }

    mod properties {
        use super::*;
        use proptest::prelude::*;

        proptest! {
            /// Over any sequence of requests, no window of one minute lets more
            /// than burst + per_minute through.
            #[test]
            fn never_more_than_the_quota_in_a_minute(
                per_minute in 1u32..200,
                burst in 1u32..50,
                gaps in proptest::collection::vec(0u64..3_000, 1..300),
            ) {
                let quota = Quota::per_minute(per_minute, burst);
                let mut tat = None;
                let mut now = 10_000u64;
                let mut passed = Vec::new();
                for gap in gaps {
                    now += gap;
                    if run(quota, &mut tat, now).is_allowed() {
                        passed.push(now);
                    }
                }
                for (i, start) in passed.iter().enumerate() {
                    let within = passed[i..].iter().take_while(|t| **t < start + 60_000).count() as u64;
                    prop_assert!(within <= u64::from(burst) + 60_000 / quota.interval_ms + 1);
                }
            }
        }
    }
}
