//! What this server knows of each model's quota: the calls it sent in the last
//! minute, the rate per minute (configured, or learned from Google's 429s), until
//! when Google said to wait, and whether the day's quota is gone. With a shared
//! store the replicas keep this together (see [`SharedQuota`]); when the store
//! fails, each replica goes on with what it knows itself.

use std::{
    collections::VecDeque,
    future::Future,
    pin::Pin,
    sync::{Arc, Mutex},
    time::{Duration, SystemTime},
};

use tokio::time::Instant;

use super::clock::next_pacific_midnight;

/// Google counts requests per minute in a sliding window.
pub const WINDOW: Duration = Duration::from_secs(60);
/// Sent this much after a window frees: Google's clock is not ours.
pub const MARGIN: Duration = Duration::from_millis(500);
/// How long Google's 429 without a `RetryInfo` delay blocks a model.
const DEFAULT_BLOCK: Duration = Duration::from_secs(60);

/// Which of Google's quotas a 429 names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// Requests (or tokens) per minute: frees within a minute.
    Minute,
    /// Requests per day: frees at midnight Pacific time.
    Day,
}

/// A model in the order calls try them, with its configured rate.
#[derive(Debug, Clone)]
pub struct ModelPlan {
    /// The model id.
    pub model: String,
    /// Requests per minute the operator set; `None`: learned from 429s.
    pub rpm: Option<u32>,
}

/// When a call can be sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Room {
    /// Now, on the model at this index (one call of its minute is taken).
    Now(usize),
    /// Not before this instant.
    At(Instant),
    /// Not today: every model's daily quota is gone until this time.
    Day(SystemTime),
}

/// A model as the shared store sees it.
#[derive(Debug, Clone)]
pub struct SharedModel {
    /// The model id.
    pub model: String,
    /// The configured rate; 0 when unknown (the store may know a learned one).
    pub rpm: u32,
}

/// The shared store's answer to "take a call".
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SharedRoom {
    /// The index of the model a call was taken on, if one had room.
    pub took: Option<usize>,
    /// Otherwise, how long until the first model has room.
    pub wait: Duration,
    /// Bit `i` set: model `i`'s daily quota is gone (another replica may have learned it).
    pub day_gone: u64,
}

/// What a 429 taught, for the other replicas.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SharedReport {
    /// Which quota.
    pub scope: Scope,
    /// How long the model is blocked from now.
    pub block: Duration,
    /// The rate learned (calls that went through in the last minute).
    pub learned: Option<u32>,
}

/// A boxed future of the shared store.
pub type StoreFuture<'a, T> = Pin<Box<dyn Future<Output = Result<T, ()>> + Send + 'a>>;

/// A store the replicas share their quota knowledge through (Redis). Every
/// call is bounded in time; an error means "fall back to this replica's own
/// knowledge".
pub trait SharedQuota: Send + Sync {
    /// Takes one call on the first model of `models` with room in the shared
    /// minute window (sending's order), atomically across replicas.
    fn take<'a>(&'a self, models: &'a [SharedModel]) -> StoreFuture<'a, SharedRoom>;
    /// Records what a 429 of `model` said.
    fn report<'a>(&'a self, model: &'a str, report: SharedReport) -> StoreFuture<'a, ()>;
}

#[derive(Debug)]
struct ModelState {
    plan: ModelPlan,
    learned: Option<u32>,
    /// When this replica sent calls in the last `WINDOW`, oldest first.
    sends: VecDeque<Instant>,
    blocked_until: Option<Instant>,
    day_until: Option<SystemTime>,
}

impl ModelState {
    fn rate(&self) -> Option<u32> {
        self.plan.rpm.or(self.learned)
    }

    fn prune(&mut self, now: Instant, wall: SystemTime) {
        while self
            .sends
            .front()
            .is_some_and(|&at| now.duration_since(at) >= WINDOW)
        {
            self.sends.pop_front();
        }
        if self.blocked_until.is_some_and(|until| until <= now) {
            self.blocked_until = None;
        }
        if self.day_until.is_some_and(|until| until <= wall) {
            self.day_until = None;
        }
    }

    /// The earliest instant a call may go (`now` or later).
    fn free_at(&self, now: Instant) -> Instant {
        let mut at = self.blocked_until.map_or(now, |until| until.max(now));
        if let Some(rate) = self.rate() {
            let rate = rate.max(1) as usize;
            if self.sends.len() >= rate {
                at = at.max(self.sends[self.sends.len() - rate] + WINDOW + MARGIN);
            }
        }
        at
    }

    /// Up to `n` future send times of this model, soonest first.
    fn slots(&self, now: Instant, n: usize) -> Vec<Instant> {
        let base = self.blocked_until.map_or(now, |until| until.max(now));
        let Some(rate) = self.rate().map(|r| r.max(1) as usize) else {
            return vec![base; n];
        };
        let recent: Vec<Instant> = self.sends.iter().rev().take(rate).rev().copied().collect();
        let mut slots = vec![base; rate.saturating_sub(recent.len()).min(n)];
        let mut cycle = 1u32;
        while slots.len() < n && !recent.is_empty() {
            for &sent in &recent {
                if slots.len() == n {
                    break;
                }
                slots.push((sent + WINDOW * cycle + MARGIN).max(base));
            }
            cycle += 1;
        }
        // Only free calls and no history: every slot is one window after the base.
        while slots.len() < n {
            let minutes = (slots.len() / rate) as u32;
            slots.push(base + WINDOW * minutes + MARGIN);
        }
        slots
    }
}

/// One model's quota as `/api/health` shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ModelQuota {
    /// The model id.
    pub model: String,
    /// `ok`, `minute` (waiting for the minute to free) or `day` (gone until the reset).
    pub state: &'static str,
    /// The rate per minute in use (configured or learned), if known.
    pub rpm: Option<u32>,
    /// Calls this replica sent in the last minute.
    pub sent_last_minute: usize,
    /// When a `day` model's quota comes back.
    pub resets_at: Option<SystemTime>,
}

/// The quota knowledge of one server, shared with the other replicas when a
/// store is set.
pub struct QuotaBook {
    models: Mutex<Vec<ModelState>>,
    shared: Option<Arc<dyn SharedQuota>>,
}

impl std::fmt::Debug for QuotaBook {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("QuotaBook").finish_non_exhaustive()
    }
}

impl QuotaBook {
    /// A book for these models (main first, then the fallbacks).
    pub fn new(plans: Vec<ModelPlan>, shared: Option<Arc<dyn SharedQuota>>) -> Self {
        let models = plans
            .into_iter()
            .map(|plan| ModelState {
                plan,
                learned: None,
                sends: VecDeque::new(),
                blocked_until: None,
                day_until: None,
            })
            .collect();
        Self {
            models: Mutex::new(models),
            shared,
        }
    }

    fn with<T>(&self, f: impl FnOnce(&mut Vec<ModelState>, Instant, SystemTime) -> T) -> T {
        let now = Instant::now();
        let wall = SystemTime::now();
        let mut models = self
            .models
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        for model in models.iter_mut() {
            model.prune(now, wall);
        }
        f(&mut models, now, wall)
    }

    /// The model ids, in the order calls try them.
    pub fn models(&self) -> Vec<String> {
        self.with(|models, _, _| models.iter().map(|m| m.plan.model.clone()).collect())
    }

    /// The index of `model`, if the book knows it.
    pub fn index_of(&self, model: &str) -> Option<usize> {
        self.with(|models, _, _| models.iter().position(|m| m.plan.model == model))
    }

    /// Takes a call on the first model with room now, or says when one will have room.
    pub async fn take(&self) -> Room {
        self.take_from(0).await
    }

    /// Takes a call on model `index` if it has room now (a failover to a
    /// fallback model asks this before calling it).
    pub async fn take_model(&self, index: usize) -> bool {
        let Some(shared) = &self.shared else {
            return self.with(|models, now, wall| take_local(models, now, wall, index, index + 1))
                == Room::Now(index);
        };
        let plans = self.shared_models();
        let Some(one) = plans.get(index).cloned() else {
            return false;
        };
        match shared.take(std::slice::from_ref(&one)).await {
            Ok(room) => {
                self.mirror(index, &room);
                room.took.is_some()
            }
            Err(()) => {
                self.with(|models, now, wall| take_local(models, now, wall, index, index + 1))
                    == Room::Now(index)
            }
        }
    }

    async fn take_from(&self, first: usize) -> Room {
        if let Some(shared) = &self.shared {
            let plans = self.shared_models();
            if let Ok(room) = shared.take(&plans[first.min(plans.len())..]).await {
                self.mirror(first, &room);
                return self.with(|models, now, wall| match room.took {
                    Some(i) => Room::Now(first + i),
                    None => {
                        if let Some(reset) = all_day_gone(models, wall) {
                            Room::Day(reset)
                        } else {
                            Room::At(now + room.wait)
                        }
                    }
                });
            }
        }
        self.with(|models, now, wall| {
            let end = models.len();
            take_local(models, now, wall, first, end)
        })
    }

    fn shared_models(&self) -> Vec<SharedModel> {
        self.with(|models, _, _| {
            models
                .iter()
                .map(|m| SharedModel {
                    model: m.plan.model.clone(),
                    rpm: m.plan.rpm.unwrap_or(0),
                })
                .collect()
        })
    }

    /// Keeps this replica's view in step with the shared store's answer.
    fn mirror(&self, first: usize, room: &SharedRoom) {
        self.with(|models, now, wall| {
            for (offset, model) in models.iter_mut().skip(first).enumerate() {
                if offset < 64 && room.day_gone & (1 << offset) != 0 {
                    model.day_until.get_or_insert_with(|| next_pacific_midnight(wall));
                }
            }
            if let Some(i) = room.took {
                if let Some(model) = models.get_mut(first + i) {
                    model.sends.push_back(now);
                }
            }
        });
    }

    /// Records a 429 of `model`: blocked for Google's delay (a minute quota) or
    /// until midnight Pacific (the day's). The call that got it did not count at
    /// Google, so it leaves the window, and the calls left in the last minute
    /// are the rate Google allows (unless the operator set one).
    pub async fn on_quota(&self, model: &str, scope: Scope, retry_after: Option<Duration>) {
        let report = self.with(|models, now, wall| {
            let state = models.iter_mut().find(|m| m.plan.model == model)?;
            state.sends.pop_back();
            let block = match scope {
                Scope::Minute => {
                    let block = retry_after.unwrap_or(DEFAULT_BLOCK);
                    let until = now + block;
                    state.blocked_until = Some(state.blocked_until.map_or(until, |b| b.max(until)));
                    if state.plan.rpm.is_none() {
                        let seen = (state.sends.len() as u32).max(1);
                        state.learned = Some(state.learned.map_or(seen, |l| l.min(seen)));
                    }
                    block
                }
                Scope::Day => {
                    let reset = next_pacific_midnight(wall);
                    state.day_until = Some(reset);
                    reset.duration_since(wall).unwrap_or_default()
                }
            };
            Some(SharedReport {
                scope,
                block,
                learned: state.learned.filter(|_| scope == Scope::Minute),
            })
        });
        if let (Some(shared), Some(report)) = (&self.shared, report) {
            let _ = shared.report(model, report).await;
        }
    }

    /// When the next `n` calls could be sent, from now (soonest first), for the
    /// estimates of the people waiting.
    pub fn estimates(&self, n: usize) -> Vec<Duration> {
        if n == 0 {
            return Vec::new();
        }
        self.with(|models, now, _| {
            let mut slots: Vec<Instant> = models
                .iter()
                .filter(|m| m.day_until.is_none())
                .flat_map(|m| m.slots(now, n))
                .collect();
            slots.sort();
            slots.truncate(n);
            let last = slots.last().copied().unwrap_or(now + WINDOW);
            slots.resize(n, last);
            slots
                .into_iter()
                .map(|at| at.saturating_duration_since(now))
                .collect()
        })
    }

    /// When every model's daily quota is gone: the first reset.
    pub fn day_gone(&self) -> Option<SystemTime> {
        self.with(|models, _, wall| all_day_gone(models, wall))
    }

    /// Each model's quota, for `/api/health`.
    pub fn status(&self) -> Vec<ModelQuota> {
        self.with(|models, now, _| {
            models
                .iter()
                .map(|m| ModelQuota {
                    model: m.plan.model.clone(),
                    state: if m.day_until.is_some() {
                        "day"
                    } else if m.free_at(now) > now {
                        "minute"
                    } else {
                        "ok"
                    },
                    rpm: m.rate(),
                    sent_last_minute: m.sends.len(),
                    resets_at: m.day_until,
                })
                .collect()
        })
    }
}

fn all_day_gone(models: &[ModelState], _wall: SystemTime) -> Option<SystemTime> {
    if models.is_empty() {
        return None;
    }
    models
        .iter()
        .map(|m| m.day_until)
        .collect::<Option<Vec<_>>>()?
        .into_iter()
        .min()
}

fn take_local(models: &mut [ModelState], now: Instant, wall: SystemTime, first: usize, end: usize) -> Room {
    let mut soonest: Option<Instant> = None;
    let end = end.min(models.len());
    for (index, model) in models.iter_mut().enumerate().take(end).skip(first) {
        if model.day_until.is_some() {
            continue;
        }
        let free = model.free_at(now);
        if free <= now {
            model.sends.push_back(now);
            return Room::Now(index);
        }
        soonest = Some(soonest.map_or(free, |s| s.min(free)));
    }
    match soonest {
        Some(at) => Room::At(at),
        None => all_day_gone(&models[first..end], wall).map_or(Room::At(now + WINDOW), Room::Day),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn book(rates: &[Option<u32>]) -> QuotaBook {
        QuotaBook::new(
            rates
                .iter()
                .enumerate()
                .map(|(i, &rpm)| ModelPlan {
                    model: format!("m{i}"),
                    rpm,
                })
                .collect(),
            None,
        )
    }

    #[tokio::test]
    async fn a_configured_rate_fills_the_main_model_then_the_fallback_then_waits() {
        let book = book(&[Some(2), Some(1)]);
        assert_eq!(book.take().await, Room::Now(0));
        assert_eq!(book.take().await, Room::Now(0));
        assert_eq!(book.take().await, Room::Now(1));
        let Room::At(at) = book.take().await else {
            panic!("expected a wait")
        };
        let wait = at.saturating_duration_since(Instant::now());
        assert!(
            wait > Duration::from_secs(59) && wait <= WINDOW + MARGIN,
            "{wait:?}"
        );
        let estimates = book.estimates(4);
        assert!(
            estimates.iter().all(|e| *e > Duration::from_secs(59)),
            "{estimates:?}"
        );
        assert!(
            estimates[3] > Duration::from_secs(119),
            "the fourth waits two minutes: {estimates:?}"
        );
    }

    #[tokio::test]
    async fn without_a_rate_calls_go_until_a_429_teaches_one() {
        let book = book(&[None]);
        for _ in 0..5 {
            assert_eq!(book.take().await, Room::Now(0));
        }
        book.on_quota("m0", Scope::Minute, Some(Duration::from_secs(30)))
            .await;
        // Four went through: that is the rate now, and the model waits.
        let status = book.status();
        assert_eq!(status[0].rpm, Some(4));
        assert_eq!(status[0].state, "minute");
        assert!(matches!(book.take().await, Room::At(_)));
    }

    #[tokio::test]
    async fn a_day_429_on_every_model_means_the_day() {
        let book = book(&[None, None]);
        book.on_quota("m0", Scope::Day, None).await;
        assert_eq!(book.take().await, Room::Now(1));
        book.on_quota("m1", Scope::Day, None).await;
        let Room::Day(reset) = book.take().await else {
            panic!("expected the day")
        };
        assert!(reset > SystemTime::now());
        assert_eq!(book.day_gone(), Some(reset));
        assert_eq!(book.status()[0].state, "day");
    }
}
