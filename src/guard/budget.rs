//! The daily budget of Gemini calls for the whole server (`WELD_DAILY_REQUEST_BUDGET`).
//! A call reserves a unit before it is made (so concurrent requests cannot
//! overshoot), and gives it back when no upstream call happened. It resets at
//! 00:00 UTC and fails closed: when spent, requests are refused until midnight.
//! With a shared store (Redis) every replica spends from one counter; when the
//! store does not answer, AI calls are refused (`limits_unavailable`) rather than
//! let the budget be overspent.

use std::{
    sync::{
        Arc, Mutex,
        atomic::{AtomicU64, Ordering},
    },
    time::{SystemTime, UNIX_EPOCH},
};

use super::shared::SharedStore;

const DAY: u64 = 86_400;

/// A reserved unit; `settle` it when the call was made, `release` it when not.
#[derive(Debug)]
#[must_use]
pub struct Reservation {
    day: u64,
}

/// Why a unit was not reserved.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// Spent for today: this many seconds until 00:00 UTC.
    Exhausted { retry_after: u64 },
    /// The shared store did not answer.
    Unavailable,
}

/// The budget, or no limit.
#[derive(Debug)]
pub struct DailyBudget {
    limit: Option<u64>,
    state: Mutex<(u64, u64)>,
    shared: Option<Arc<SharedStore>>,
    /// Units left, as last learned from the shared store.
    shared_remaining: AtomicU64,
}

impl DailyBudget {
    /// A budget of `limit` calls per UTC day (`None`: unlimited), kept in the
    /// process or in `shared`.
    pub fn new(limit: Option<u64>, shared: Option<Arc<SharedStore>>) -> Self {
        Self {
            limit,
            state: Mutex::new((0, 0)),
            shared: shared.filter(|_| limit.is_some()),
            shared_remaining: AtomicU64::new(limit.unwrap_or(0)),
        }
    }

    fn now_secs() -> u64 {
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0)
    }

    /// Reserves one call, or says why not.
    pub async fn reserve(&self) -> Result<Reservation, Refusal> {
        let now = Self::now_secs();
        let (Some(shared), Some(limit)) = (&self.shared, self.limit) else {
            return self.reserve_at(now);
        };
        let day = now / DAY;
        match shared.reserve(day, limit).await {
            Ok(Some(used)) => {
                self.shared_remaining
                    .store(limit.saturating_sub(used), Ordering::Relaxed);
                Ok(Reservation { day })
            }
            Ok(None) => {
                self.shared_remaining.store(0, Ordering::Relaxed);
                Err(Refusal::Exhausted {
                    retry_after: DAY - now % DAY,
                })
            }
            Err(error) => {
                tracing::warn!(error = %error, "limit store failed: the daily budget refuses AI calls");
                Err(Refusal::Unavailable)
            }
        }
    }

    fn reserve_at(&self, now: u64) -> Result<Reservation, Refusal> {
        let day = now / DAY;
        let exhausted = Refusal::Exhausted {
            retry_after: DAY - now % DAY,
        };
        let Some(limit) = self.limit else {
            return Ok(Reservation { day });
        };
        let Ok(mut state) = self.state.lock() else {
            return Err(exhausted);
        };
        if state.0 != day {
            *state = (day, 0);
        }
        if state.1 >= limit {
            return Err(exhausted);
        }
        state.1 += 1;
        Ok(Reservation { day })
    }

    /// The call was made: the unit stays spent.
    pub fn settle(&self, reservation: Reservation) {
        let _ = reservation;
    }

    /// No upstream call happened: the unit is given back (if still the same day).
    pub async fn release(&self, reservation: Reservation) {
        if self.limit.is_none() {
            return;
        }
        if let Some(shared) = &self.shared {
            if shared.release(reservation.day).await.is_ok() {
                self.shared_remaining.fetch_add(1, Ordering::Relaxed);
            }
            return;
        }
        if let Ok(mut state) = self.state.lock() {
            if state.0 == reservation.day && state.1 > 0 {
                state.1 -= 1;
            }
        }
    }

    /// Calls left today (`None`: unlimited); with a shared store, as last seen.
    pub fn remaining(&self) -> Option<u64> {
        let limit = self.limit?;
        if self.shared.is_some() {
            return Some(self.shared_remaining.load(Ordering::Relaxed));
        }
        let day = Self::now_secs() / DAY;
        let state = self.state.lock().ok()?;
        Some(if state.0 == day {
            limit.saturating_sub(state.1)
        } else {
            limit
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_budget_fails_closed_until_midnight_and_then_resets() {
        let budget = DailyBudget::new(Some(2), None);
        let noon = 20_000 * DAY + DAY / 2;
        budget.settle(budget.reserve_at(noon).unwrap());
        budget.settle(budget.reserve_at(noon + 1).unwrap());
        assert_eq!(
            budget.reserve_at(noon + 2).unwrap_err(),
            Refusal::Exhausted {
                retry_after: DAY / 2 - 2
            }
        );
        assert!(budget.reserve_at(21_000 * DAY).is_ok(), "a new UTC day");
    }

    #[tokio::test]
    async fn a_released_unit_can_be_used_again() {
        let budget = DailyBudget::new(Some(1), None);
        let r = budget.reserve().await.unwrap();
        assert!(budget.reserve().await.is_err());
        budget.release(r).await;
        assert!(budget.reserve().await.is_ok());
    }

    #[test]
    fn concurrent_reservations_never_overshoot() {
        let budget = std::sync::Arc::new(DailyBudget::new(Some(10), None));
        let handles: Vec<_> = (0..50)
            .map(|_| {
                let b = budget.clone();
                std::thread::spawn(move || b.reserve_at(DailyBudget::now_secs()).map(|r| b.settle(r)).is_ok())
            })
            .collect();
        let granted = handles
            .into_iter()
            .map(|h| h.join().unwrap())
            .filter(|ok| *ok)
            .count();
        assert_eq!(granted, 10);
        assert_eq!(budget.remaining(), Some(0));
    }

    #[tokio::test]
    async fn no_limit_means_unlimited() {
        let budget = DailyBudget::new(None, None);
        for _ in 0..1000 {
            budget.settle(budget.reserve().await.unwrap());
        }
        assert_eq!(budget.remaining(), None);
    }
}
