//! The waiting line: questions that found no quota wait here and are sent, one
//! by one, as soon as a model has room. It serves people, not requests: each
//! question gets a round (a person's first waiting question round r, the second
//! r + 1, …, where r is the round being served), and the line is served by
//! round, then by arrival — so everyone's first question goes before anyone's
//! second. A question that leaves (its client went away) is gone at once.

use std::{
    collections::{BTreeMap, HashMap},
    sync::{
        Arc, Mutex,
        atomic::{AtomicBool, Ordering},
    },
    time::{Duration, SystemTime},
};

use tokio::{
    sync::{Notify, oneshot, watch},
    time::Instant,
};

use super::book::{QuotaBook, Room};

/// The bounds of the line.
#[derive(Debug, Clone, Copy)]
pub struct LineSettings {
    /// Questions one person may have waiting at once.
    pub per_person: usize,
    /// Questions waiting in all.
    pub max_len: usize,
    /// The longest a question waits.
    pub max_wait: Duration,
}

/// A waiting question's place (1 = sent next) and the estimated wait.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Position {
    /// 1-based.
    pub place: usize,
    /// Whole seconds until it is expected to be sent.
    pub estimate_seconds: u64,
}

/// Why a question is not taken into the line (or leaves it unanswered).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// The person already has `max` questions waiting.
    PersonFull { max: usize, retry_after: u64 },
    /// The line is full.
    LineFull { max: usize, retry_after: u64 },
    /// The wait would be (or was) longer than the bound.
    TooLong { max_seconds: u64, retry_after: u64 },
    /// Every model's daily quota is gone until `reset`.
    Day { reset: SystemTime },
    /// The server is shutting down.
    Closing,
}

impl Refusal {
    /// A short fixed word for logs and metric labels.
    pub fn label(&self) -> &'static str {
        match self {
            Refusal::PersonFull { .. } => "person_full",
            Refusal::LineFull { .. } => "line_full",
            Refusal::TooLong { .. } => "too_long",
            Refusal::Day { .. } => "day",
            Refusal::Closing => "closing",
        }
    }

    /// Seconds until asking again makes sense.
    pub fn retry_after(&self) -> u64 {
        match self {
            Refusal::PersonFull { retry_after, .. }
            | Refusal::LineFull { retry_after, .. }
            | Refusal::TooLong { retry_after, .. } => (*retry_after).max(1),
            Refusal::Day { reset } => reset
                .duration_since(SystemTime::now())
                .map_or(1, |d| d.as_secs() + u64::from(d.subsec_nanos() > 0))
                .max(1),
            Refusal::Closing => 5,
        }
    }
}

/// A turn to call Gemini: on the model at `model` (its index in the book), one
/// call of its minute taken.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Grant {
    /// The model's index in the book.
    pub model: usize,
    /// How long the question waited for it.
    pub waited: Duration,
}

/// The line's answer to a question.
#[derive(Debug)]
pub enum Admission {
    /// Go now.
    Now(Grant),
    /// Wait: see [`Waiter::turn`].
    Wait(Waiter),
}

/// Round, then 0 for a question back after a 429 (before the new ones), then arrival.
type Key = (u64, u8, u64);

struct Entry {
    person: Arc<str>,
    grant: oneshot::Sender<Result<Grant, Refusal>>,
    position: watch::Sender<Position>,
    joined: Instant,
}

#[derive(Default)]
struct Person {
    waiting: usize,
    next_round: u64,
}

#[derive(Default)]
struct State {
    waiting: BTreeMap<Key, Entry>,
    persons: HashMap<Arc<str>, Person>,
    round: u64,
    arrivals: u64,
}

impl State {
    fn remove(&mut self, key: &Key) -> Option<Entry> {
        let entry = self.waiting.remove(key)?;
        if let Some(person) = self.persons.get_mut(&entry.person) {
            person.waiting = person.waiting.saturating_sub(1);
        }
        self.forget_idle();
        Some(entry)
    }

    /// Drops persons with nothing waiting whose next round has come anyway.
    fn forget_idle(&mut self) {
        let round = self.round;
        self.persons.retain(|_, p| p.waiting > 0 || p.next_round > round);
    }
}

struct Inner {
    book: Arc<QuotaBook>,
    settings: LineSettings,
    state: Mutex<State>,
    wake: Notify,
    closed: AtomicBool,
    /// Whether the dispatcher runs (it starts with the first waiting question,
    /// so a line built outside a runtime costs nothing).
    dispatching: AtomicBool,
}

impl Inner {
    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Tells every waiting question its place and estimate.
    fn publish(&self) {
        let state = self.state();
        let estimates = self.book.estimates(state.waiting.len());
        for (index, (entry, estimate)) in state.waiting.values().zip(estimates).enumerate() {
            let position = Position {
                place: index + 1,
                estimate_seconds: estimate.as_secs() + u64::from(estimate.subsec_nanos() > 0),
            };
            entry.position.send_if_modified(|current| {
                let changed = *current != position;
                *current = position;
                changed
            });
        }
    }

    fn refuse_all(&self, refusal: &Refusal) {
        let mut state = self.state();
        let entries = std::mem::take(&mut state.waiting);
        state.persons.clear();
        drop(state);
        for entry in entries.into_values() {
            let _ = entry.grant.send(Err(refusal.clone()));
        }
    }
}

/// The waiting line in front of Gemini; cheap to clone.
#[derive(Clone)]
pub struct Line {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for Line {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Line")
            .field("waiting", &self.len())
            .finish_non_exhaustive()
    }
}

impl Line {
    /// A line over `book`; its dispatcher runs on the Tokio runtime of the first
    /// question that waits.
    pub fn new(book: Arc<QuotaBook>, settings: LineSettings) -> Self {
        let inner = Arc::new(Inner {
            book,
            settings,
            state: Mutex::new(State::default()),
            wake: Notify::new(),
            closed: AtomicBool::new(false),
            dispatching: AtomicBool::new(false),
        });
        Self { inner }
    }

    /// The book the line draws on.
    pub fn book(&self) -> &Arc<QuotaBook> {
        &self.inner.book
    }

    /// Questions waiting now.
    pub fn len(&self) -> usize {
        self.inner.state().waiting.len()
    }

    /// Whether no question waits.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// A new question of `person`: a turn now when the line is empty and a model
    /// has room, else a place in the line (or a refusal past a bound).
    pub async fn enter(&self, person: &str) -> Result<Admission, Refusal> {
        if self.inner.closed.load(Ordering::Acquire) {
            return Err(Refusal::Closing);
        }
        if self.is_empty() {
            match self.inner.book.take().await {
                Room::Now(model) => {
                    return Ok(Admission::Now(Grant {
                        model,
                        waited: Duration::ZERO,
                    }));
                }
                Room::Day(reset) => return Err(Refusal::Day { reset }),
                Room::At(_) => {}
            }
        } else if let Some(reset) = self.inner.book.day_gone() {
            return Err(Refusal::Day { reset });
        }
        self.join(person, 1, Instant::now()).map(Admission::Wait)
    }

    /// A question that was sent but got a 429 for the minute comes back to the
    /// front of the line (ahead of the new ones of its round), keeping the time
    /// it first joined for its bound.
    pub fn rejoin(&self, person: &str, joined: Instant) -> Result<Waiter, Refusal> {
        if self.inner.closed.load(Ordering::Acquire) {
            return Err(Refusal::Closing);
        }
        if let Some(reset) = self.inner.book.day_gone() {
            return Err(Refusal::Day { reset });
        }
        self.join(person, 0, joined)
    }

    fn join(&self, person: &str, class: u8, joined: Instant) -> Result<Waiter, Refusal> {
        let settings = self.inner.settings;
        let (key, position, grant) = {
            let mut state = self.inner.state();
            let retry_after = || {
                let n = state.waiting.len();
                self.inner
                    .book
                    .estimates(n + 1)
                    .last()
                    .map_or(60, |d| d.as_secs().max(1))
            };
            let person_waiting = state.persons.get(person).map_or(0, |p| p.waiting);
            if class == 1 && person_waiting >= settings.per_person {
                return Err(Refusal::PersonFull {
                    max: settings.per_person,
                    retry_after: retry_after(),
                });
            }
            if class == 1 && state.waiting.len() >= settings.max_len {
                return Err(Refusal::LineFull {
                    max: settings.max_len,
                    retry_after: retry_after(),
                });
            }
            let round = state.round;
            let person: Arc<str> = state
                .persons
                .get_key_value(person)
                .map_or_else(|| Arc::from(person), |(k, _)| k.clone());
            let entry_person = state.persons.entry(person.clone()).or_default();
            let my_round = if class == 0 {
                round
            } else {
                let r = entry_person.next_round.max(round);
                entry_person.next_round = r + 1;
                r
            };
            entry_person.waiting += 1;
            state.arrivals += 1;
            let key = (my_round, class, state.arrivals);
            let (grant_tx, grant_rx) = oneshot::channel();
            let (position_tx, position_rx) = watch::channel(Position {
                place: state.waiting.len() + 1,
                estimate_seconds: 0,
            });
            state.waiting.insert(
                key,
                Entry {
                    person,
                    grant: grant_tx,
                    position: position_tx,
                    joined,
                },
            );
            (key, position_rx, grant_rx)
        };
        self.inner.publish();
        let waiter = Waiter {
            key,
            grant,
            position,
            line: self.inner.clone(),
            deadline: joined + settings.max_wait,
            done: false,
        };
        // A question that could not be sent within the bound is told so now,
        // not after waiting for it.
        let estimate = waiter.position.borrow().estimate_seconds;
        let left = waiter
            .deadline
            .saturating_duration_since(Instant::now())
            .as_secs();
        if estimate > left {
            drop(waiter);
            return Err(Refusal::TooLong {
                max_seconds: settings.max_wait.as_secs(),
                retry_after: estimate,
            });
        }
        if !self.inner.dispatching.swap(true, Ordering::AcqRel) {
            tokio::spawn(dispatch(Arc::downgrade(&self.inner)));
        }
        self.inner.wake.notify_one();
        Ok(waiter)
    }

    /// Shutting down: every waiting question is refused with
    /// [`Refusal::Closing`], and so is every new one.
    pub fn close(&self) {
        self.inner.closed.store(true, Ordering::Release);
        self.inner.refuse_all(&Refusal::Closing);
        self.inner.wake.notify_one();
    }
}

/// A question's place in the line. Dropping it (the client went away) takes
/// the question out of the line at once.
pub struct Waiter {
    key: Key,
    grant: oneshot::Receiver<Result<Grant, Refusal>>,
    position: watch::Receiver<Position>,
    line: Arc<Inner>,
    deadline: Instant,
    done: bool,
}

impl std::fmt::Debug for Waiter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Waiter")
            .field("position", &*self.position.borrow())
            .finish_non_exhaustive()
    }
}

impl Waiter {
    /// The place and estimate, updated as the line moves.
    pub fn position(&self) -> watch::Receiver<Position> {
        self.position.clone()
    }

    /// Waits for the turn (or a refusal: the bound passed, the day's quota
    /// went, the server is closing).
    pub async fn turn(&mut self) -> Result<Grant, Refusal> {
        let result = tokio::select! {
            granted = &mut self.grant => granted.unwrap_or(Err(Refusal::Closing)),
            () = tokio::time::sleep_until(self.deadline) => {
                let retry_after = self.position.borrow().estimate_seconds.max(1);
                Err(Refusal::TooLong {
                    max_seconds: self.line.settings.max_wait.as_secs(),
                    retry_after,
                })
            }
        };
        self.done = true;
        self.leave();
        result
    }

    fn leave(&self) {
        let removed = self.line.state().remove(&self.key).is_some();
        if removed {
            self.line.publish();
            self.line.wake.notify_one();
        }
    }
}

impl Drop for Waiter {
    fn drop(&mut self) {
        if !self.done {
            self.leave();
        }
    }
}

/// Sends the line's questions as the quota frees, first in line first.
async fn dispatch(line: std::sync::Weak<Inner>) {
    loop {
        let Some(inner) = line.upgrade() else { return };
        if inner.closed.load(Ordering::Acquire) {
            return;
        }
        let empty = inner.state().waiting.is_empty();
        if empty {
            // Wakes up now and then so that a dropped line ends its dispatcher.
            let _ = tokio::time::timeout(Duration::from_secs(5), inner.wake.notified()).await;
            continue;
        }
        match inner.book.take().await {
            Room::Now(model) => {
                let first = {
                    let mut state = inner.state();
                    let first = state.waiting.first_key_value().map(|(k, _)| *k);
                    first.and_then(|key| {
                        state.round = state.round.max(key.0);
                        state.remove(&key)
                    })
                };
                if let Some(entry) = first {
                    let grant = Grant {
                        model,
                        waited: entry.joined.elapsed(),
                    };
                    if entry.grant.send(Ok(grant)).is_err() {
                        tracing::debug!("a question left the line as its turn came");
                    }
                }
                inner.publish();
            }
            Room::At(at) => {
                inner.publish();
                let notified = inner.wake.notified();
                tokio::select! {
                    () = tokio::time::sleep_until(at) => {}
                    () = notified => {}
                }
            }
            Room::Day(reset) => inner.refuse_all(&Refusal::Day { reset }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::quota::book::ModelPlan;

    fn line(rpm: u32, settings: LineSettings) -> Line {
        let book = QuotaBook::new(
            vec![ModelPlan {
                model: "m".into(),
                rpm: Some(rpm),
            }],
            None,
        );
        Line::new(Arc::new(book), settings)
    }

    const WIDE: LineSettings = LineSettings {
        per_person: 10,
        max_len: 100,
        max_wait: Duration::from_secs(600),
    };

    async fn waiter(line: &Line, person: &str) -> Waiter {
        match line.enter(person).await.unwrap() {
            Admission::Wait(w) => w,
            Admission::Now(_) => panic!("expected to wait"),
        }
    }

    #[tokio::test]
    async fn every_first_question_goes_before_any_second() {
        let line = line(1, WIDE);
        assert!(matches!(line.enter("greedy").await, Ok(Admission::Now(_))));
        let greedy: Vec<Waiter> =
            futures_util::future::join_all((0..3).map(|_| waiter(&line, "greedy"))).await;
        let mut others = Vec::new();
        for name in ["a", "b", "c"] {
            others.push(waiter(&line, name).await);
        }
        let order: Vec<usize> = greedy
            .iter()
            .chain(&others)
            .map(|w| w.position.borrow().place)
            .collect();
        // greedy's first, then a, b, c, then greedy's second and third.
        assert_eq!(order, vec![1, 5, 6, 2, 3, 4]);
        assert_eq!(line.len(), 6);
    }

    #[tokio::test]
    async fn a_dropped_waiter_leaves_the_line_and_the_others_move_up() {
        let line = line(1, WIDE);
        assert!(matches!(line.enter("x").await, Ok(Admission::Now(_))));
        let first = waiter(&line, "a").await;
        let second = waiter(&line, "b").await;
        assert_eq!(second.position.borrow().place, 2);
        drop(first);
        assert_eq!(line.len(), 1);
        assert_eq!(second.position.borrow().place, 1);
    }

    #[tokio::test]
    async fn bounds_refuse_per_person_and_in_all() {
        let line = line(
            1,
            LineSettings {
                per_person: 2,
                max_len: 3,
                max_wait: Duration::from_secs(600),
            },
        );
        assert!(matches!(line.enter("x").await, Ok(Admission::Now(_))));
        let _a = waiter(&line, "a").await;
        let _b = waiter(&line, "a").await;
        assert!(matches!(
            line.enter("a").await,
            Err(Refusal::PersonFull { max: 2, .. })
        ));
        let _c = waiter(&line, "c").await;
        let refusal = line.enter("d").await.unwrap_err();
        assert!(matches!(refusal, Refusal::LineFull { max: 3, .. }), "{refusal:?}");
        assert!(refusal.retry_after() >= 60);
    }

    #[tokio::test]
    async fn a_wait_past_the_bound_is_refused_at_once() {
        let line = line(
            1,
            LineSettings {
                per_person: 3,
                max_len: 100,
                max_wait: Duration::from_secs(30),
            },
        );
        assert!(matches!(line.enter("x").await, Ok(Admission::Now(_))));
        let refusal = line.enter("a").await.unwrap_err();
        assert!(matches!(refusal, Refusal::TooLong { max_seconds: 30, retry_after } if retry_after >= 59));
        assert!(line.is_empty());
    }

    #[tokio::test]
    async fn closing_refuses_the_waiting_and_the_new() {
        let line = line(1, WIDE);
        assert!(matches!(line.enter("x").await, Ok(Admission::Now(_))));
        let mut w = waiter(&line, "a").await;
        line.close();
        assert_eq!(w.turn().await, Err(Refusal::Closing));
        assert!(matches!(line.enter("b").await, Err(Refusal::Closing)));
    }

    #[tokio::test(start_paused = true)]
    async fn the_turn_comes_when_the_minute_frees() {
        let line = line(1, WIDE);
        assert!(matches!(line.enter("x").await, Ok(Admission::Now(_))));
        let mut w = waiter(&line, "a").await;
        let grant = w.turn().await.unwrap();
        assert_eq!(grant.model, 0);
        assert!(grant.waited >= Duration::from_secs(60), "{:?}", grant.waited);
    }
}
