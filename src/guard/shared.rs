//! The store that replicas share (`WELD_REDIS_URL`: Redis or Valkey). Every
//! update is one Lua script, so it is atomic: two replicas never both spend the
//! last unit of a limit or of the daily budget. Every call is bounded by a short
//! timeout and a refused or slow store is an error the caller falls back from —
//! a request never hangs on it. The connection is made lazily and re-made after a
//! failure, at most once per `RECONNECT_EVERY`.

use std::{
    sync::{
        Mutex,
        atomic::{AtomicBool, Ordering},
    },
    time::{Duration, Instant},
};

use redis::{Script, aio::ConnectionManager};

use super::gcra::{self, Decision, Quota};

/// The bound on one round trip to the store, connecting included.
pub const TIMEOUT: Duration = Duration::from_millis(500);
/// How often a broken connection is tried again.
const RECONNECT_EVERY: Duration = Duration::from_secs(1);

/// Reserves one unit of a day's budget: KEYS[1] the day's counter, ARGV = limit,
/// ttl seconds. Returns the count after the reservation, or -1 when spent.
const RESERVE_LUA: &str = r#"
local used = tonumber(redis.call('GET', KEYS[1]) or '0')
if used >= tonumber(ARGV[1]) then return -1 end
used = redis.call('INCR', KEYS[1])
redis.call('EXPIRE', KEYS[1], ARGV[2])
return used
"#;

/// Gives back one unit: never below zero.
const RELEASE_LUA: &str = r#"
local used = tonumber(redis.call('GET', KEYS[1]) or '0')
if used > 0 then return redis.call('DECR', KEYS[1]) end
return 0
"#;

/// Why the store did not answer.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// No answer within `TIMEOUT`.
    #[error("the limit store did not answer in time")]
    Timeout,
    /// Not connected, and not trying again yet.
    #[error("the limit store is unreachable")]
    Unreachable,
    /// Redis said no (or the connection broke).
    #[error("the limit store failed: {0}")]
    Redis(#[from] redis::RedisError),
}

/// A Redis/Valkey store of limits and the budget.
pub struct SharedStore {
    client: redis::Client,
    /// The live connection, cloned by every call (a clone shares it).
    connection: Mutex<Option<ConnectionManager>>,
    /// Held by the one call that is connecting; the others fall back meanwhile.
    connecting: tokio::sync::Mutex<()>,
    last_attempt: Mutex<Option<Instant>>,
    ok: AtomicBool,
    gcra: Script,
    reserve: Script,
    release: Script,
    prefix: String,
    /// This replica's mark on the calls it records in the shared quota window.
    member: String,
}

impl std::fmt::Debug for SharedStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The URL may hold a password: never print it.
        f.debug_struct("SharedStore")
            .field("ok", &self.ok.load(Ordering::Relaxed))
            .finish_non_exhaustive()
    }
}

impl SharedStore {
    /// A store for this `redis://` or `rediss://` URL (nothing is connected yet).
    pub fn new(url: &str) -> Result<Self, redis::RedisError> {
        Ok(Self {
            client: redis::Client::open(url)?,
            connection: Mutex::new(None),
            connecting: tokio::sync::Mutex::new(()),
            last_attempt: Mutex::new(None),
            ok: AtomicBool::new(true),
            gcra: Script::new(gcra::LUA),
            reserve: Script::new(RESERVE_LUA),
            release: Script::new(RELEASE_LUA),
            prefix: "weld:".to_owned(),
            member: format!("{:016x}", rand::random::<u64>()),
        })
    }

    /// Whether the last call to the store succeeded.
    pub fn is_ok(&self) -> bool {
        self.ok.load(Ordering::Relaxed)
    }

    /// Notes how a call went. After a failure the connection is dropped, so the
    /// next call (at most once per `RECONNECT_EVERY`) makes a new one, and the
    /// calls in between fall back at once instead of waiting on a dead store.
    fn record<T>(&self, result: Result<T, StoreError>) -> Result<T, StoreError> {
        self.ok.store(result.is_ok(), Ordering::Relaxed);
        if result.is_err() {
            self.reset();
        }
        result
    }

    fn current(&self) -> Option<ConnectionManager> {
        self.connection.lock().ok().and_then(|slot| slot.clone())
    }

    async fn connection(&self) -> Result<ConnectionManager, StoreError> {
        if let Some(connection) = self.current() {
            return Ok(connection);
        }
        // Waiting for another request's connection attempt would queue requests
        // behind a dead store: only one tries, the others fall back at once.
        let Ok(_connecting) = self.connecting.try_lock() else {
            return Err(StoreError::Unreachable);
        };
        if let Some(connection) = self.current() {
            return Ok(connection);
        }
        {
            let Ok(mut last) = self.last_attempt.lock() else {
                return Err(StoreError::Unreachable);
            };
            if last.is_some_and(|at| at.elapsed() < RECONNECT_EVERY) {
                return Err(StoreError::Unreachable);
            }
            *last = Some(Instant::now());
        }
        let config = redis::aio::ConnectionManagerConfig::new()
            .set_connection_timeout(Some(TIMEOUT))
            .set_response_timeout(Some(TIMEOUT))
            .set_number_of_retries(1);
        let connection = tokio::time::timeout(
            TIMEOUT,
            ConnectionManager::new_with_config(self.client.clone(), config),
        )
        .await
        .map_err(|_| StoreError::Timeout)??;
        if let Ok(mut slot) = self.connection.lock() {
            *slot = Some(connection.clone());
        }
        Ok(connection)
    }

    async fn run<T: redis::FromRedisValue>(
        &self,
        invocation: redis::ScriptInvocation<'_>,
    ) -> Result<T, StoreError> {
        let result = async {
            let mut connection = self.connection().await?;
            let value = tokio::time::timeout(TIMEOUT, invocation.invoke_async::<T>(&mut connection))
                .await
                .map_err(|_| StoreError::Timeout)??;
            Ok(value)
        }
        .await;
        self.record(result)
    }

    /// One GCRA step for `key` (see `gcra::step`), with Redis's clock.
    pub async fn check(&self, key: &str, quota: Quota, take: bool) -> Result<Decision, StoreError> {
        let mut invocation = self.gcra.prepare_invoke();
        invocation
            .key(format!("{}limit:{key}", self.prefix))
            .arg(quota.interval_ms)
            .arg(quota.burst)
            .arg(if take { "1" } else { "0" });
        let (allowed, value): (i64, i64) = self.run(invocation).await?;
        let value = value.max(0) as u64;
        Ok(if allowed == 1 {
            Decision::Allowed {
                limit: quota.burst,
                remaining: value.min(u64::from(quota.burst)) as u32,
            }
        } else {
            Decision::Limited {
                retry_after: value.div_ceil(1000).max(1),
            }
        })
    }

    /// Reserves one unit of day `day`'s budget of `limit`: the units used after
    /// it, or `None` when the budget is spent.
    pub async fn reserve(&self, day: u64, limit: u64) -> Result<Option<u64>, StoreError> {
        let mut invocation = self.reserve.prepare_invoke();
        invocation
            .key(format!("{}budget:{day}", self.prefix))
            .arg(limit)
            .arg(2 * 86_400);
        let used: i64 = self.run(invocation).await?;
        Ok((used >= 0).then_some(used as u64))
    }

    /// Gives one unit of day `day` back.
    pub async fn release(&self, day: u64) -> Result<(), StoreError> {
        let mut invocation = self.release.prepare_invoke();
        invocation.key(format!("{}budget:{day}", self.prefix));
        let _: i64 = self.run(invocation).await?;
        Ok(())
    }

    /// Whether the store answers a `PING` now (bounded by `TIMEOUT`); the
    /// answer is also what `is_ok` says afterwards.
    pub async fn ping(&self) -> bool {
        let result = async {
            let mut connection = self.connection().await?;
            let _: String = tokio::time::timeout(TIMEOUT, redis::cmd("PING").query_async(&mut connection))
                .await
                .map_err(|_| StoreError::Timeout)??;
            Ok(())
        }
        .await;
        self.record(result).is_ok()
    }

    /// Forgets the connection after the store went away, so the next call
    /// reconnects (the connection manager would otherwise keep retrying it).
    fn reset(&self) {
        if let Ok(mut slot) = self.connection.lock() {
            *slot = None;
        }
    }
}

/// Takes one call on the first model with room in the shared minute window.
/// Per model (in order) four keys: its sends (a sorted set of send times, ms),
/// its block (until when, ms), its learned rate, its day flag. ARGV: window ms,
/// margin ms, a unique member prefix, then each model's configured rate (0:
/// unknown, the learned one applies). Redis's clock is the one clock of all
/// replicas. Returns {taken index (1-based) or 0, wait ms, day bits}.
const QUOTA_TAKE_LUA: &str = r#"
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local window = tonumber(ARGV[1])
local margin = tonumber(ARGV[2])
local n = #KEYS / 4
local best = -1
local day = 0
for i = 1, n do
  local sends, block, learned, dayflag = KEYS[4*i-3], KEYS[4*i-2], KEYS[4*i-1], KEYS[4*i]
  if redis.call('EXISTS', dayflag) == 1 then
    day = day + 2 ^ (i - 1)
  else
    redis.call('ZREMRANGEBYSCORE', sends, '-inf', now - window)
    local free = math.max(now, tonumber(redis.call('GET', block) or '0'))
    local rate = tonumber(ARGV[3 + i])
    if rate == 0 then rate = tonumber(redis.call('GET', learned) or '0') end
    if rate > 0 then
      local count = redis.call('ZCARD', sends)
      if count >= rate then
        local oldest = redis.call('ZRANGE', sends, count - rate, count - rate, 'WITHSCORES')
        free = math.max(free, tonumber(oldest[2]) + window + margin)
      end
    end
    if free <= now then
      local seq = redis.call('INCR', KEYS[1] .. ':seq')
      redis.call('PEXPIRE', KEYS[1] .. ':seq', window * 2)
      redis.call('ZADD', sends, now, ARGV[3] .. seq)
      redis.call('PEXPIRE', sends, window * 2)
      return {i, 0, day}
    end
    if best < 0 or free - now < best then best = free - now end
  end
end
if best < 0 then best = 0 end
return {0, best, day}
"#;

/// Records a 429: KEYS = sends, block, learned, day flag of the model; ARGV =
/// scope (`minute`/`day`), block ms, learned rate (0: none). The failed call
/// leaves the window (Google did not count it); a learned rate only goes down.
const QUOTA_REPORT_LUA: &str = r#"
local block_ms = tonumber(ARGV[2])
if ARGV[1] == 'day' then
  redis.call('SET', KEYS[4], '1', 'PX', math.max(block_ms, 1))
  return 1
end
redis.call('ZPOPMAX', KEYS[1])
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local until_ms = now + block_ms
local current = tonumber(redis.call('GET', KEYS[2]) or '0')
if until_ms > current then redis.call('SET', KEYS[2], until_ms, 'PX', math.max(block_ms, 1)) end
local learned = tonumber(ARGV[3])
if learned > 0 then
  local known = tonumber(redis.call('GET', KEYS[3]) or '0')
  if known == 0 or learned < known then redis.call('SET', KEYS[3], learned, 'EX', 86400) end
end
return 1
"#;

/// The quota scripts, hashed once.
static QUOTA_TAKE: std::sync::LazyLock<Script> = std::sync::LazyLock::new(|| Script::new(QUOTA_TAKE_LUA));
static QUOTA_REPORT: std::sync::LazyLock<Script> = std::sync::LazyLock::new(|| Script::new(QUOTA_REPORT_LUA));

impl SharedStore {
    fn quota_keys(&self, model: &str) -> [String; 4] {
        let base = format!("{}quota:{model}:", self.prefix);
        [
            format!("{base}sends"),
            format!("{base}block"),
            format!("{base}learned"),
            format!("{base}day"),
        ]
    }
}

impl crate::quota::SharedQuota for SharedStore {
    fn take<'a>(
        &'a self,
        models: &'a [crate::quota::SharedModel],
    ) -> crate::quota::book::StoreFuture<'a, crate::quota::SharedRoom> {
        Box::pin(async move {
            let mut invocation = QUOTA_TAKE.prepare_invoke();
            for model in models {
                for key in self.quota_keys(&model.model) {
                    invocation.key(key);
                }
            }
            invocation
                .arg(crate::quota::book::WINDOW.as_millis() as u64)
                .arg(crate::quota::book::MARGIN.as_millis() as u64)
                .arg(format!("{}:", self.member));
            for model in models {
                invocation.arg(model.rpm);
            }
            let (took, wait, day): (i64, i64, i64) = self.run(invocation).await.map_err(|error| {
                tracing::warn!(%error, "quota store: falling back to this replica's own quota knowledge");
            })?;
            Ok(crate::quota::SharedRoom {
                took: (took > 0).then(|| (took - 1) as usize),
                wait: Duration::from_millis(wait.max(0) as u64),
                day_gone: day.max(0) as u64,
            })
        })
    }

    fn report<'a>(
        &'a self,
        model: &'a str,
        report: crate::quota::SharedReport,
    ) -> crate::quota::book::StoreFuture<'a, ()> {
        Box::pin(async move {
            let mut invocation = QUOTA_REPORT.prepare_invoke();
            for key in self.quota_keys(model) {
                invocation.key(key);
            }
            invocation
                .arg(match report.scope {
                    crate::quota::Scope::Minute => "minute",
                    crate::quota::Scope::Day => "day",
                })
                .arg(report.block.as_millis() as u64)
                .arg(report.learned.unwrap_or(0));
            let _: i64 = self.run(invocation).await.map_err(|error| {
                tracing::warn!(%error, "quota store: could not share a 429");
            })?;
            Ok(())
        })
    }
}
