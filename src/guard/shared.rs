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
