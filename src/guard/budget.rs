//! The daily budget of Gemini calls for the whole server (`WELD_DAILY_REQUEST_BUDGET`).
//! A call reserves a unit before it is made (so concurrent requests cannot
//! overshoot), and gives it back when no upstream call happened. It resets at
//! 00:00 UTC and fails closed: when spent, requests are refused until midnight.

use std::{
    sync::Mutex,
    time::{SystemTime, UNIX_EPOCH},
};

const DAY: u64 = 86_400;

/// A reserved unit; `settle` it when the call was made, `release` it when not.
#[derive(Debug)]
#[must_use]
pub struct Reservation {
    day: u64,
}

/// The budget, or no limit.
#[derive(Debug)]
pub struct DailyBudget {
    limit: Option<u64>,
    state: Mutex<(u64, u64)>,
}

impl DailyBudget {
    /// A budget of `limit` calls per UTC day (`None`: unlimited).
    pub fn new(limit: Option<u64>) -> Self {
        Self {
            limit,
            state: Mutex::new((0, 0)),
        }
    }

    fn now_secs() -> u64 {
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0)
    }

    /// Reserves one call, or says how many seconds remain until the budget resets.
    pub fn reserve(&self) -> Result<Reservation, u64> {
        self.reserve_at(Self::now_secs())
    }

    fn reserve_at(&self, now: u64) -> Result<Reservation, u64> {
        let day = now / DAY;
        let Some(limit) = self.limit else {
            return Ok(Reservation { day });
        };
        let Ok(mut state) = self.state.lock() else {
            return Err(DAY - now % DAY);
        };
        if state.0 != day {
            *state = (day, 0);
        }
        if state.1 >= limit {
            return Err(DAY - now % DAY);
        }
        state.1 += 1;
        Ok(Reservation { day })
    }

    /// The call was made: the unit stays spent.
    pub fn settle(&self, reservation: Reservation) {
        let _ = reservation;
    }

    /// No upstream call happened: the unit is given back (if still the same day).
    pub fn release(&self, reservation: Reservation) {
        if self.limit.is_some() {
            if let Ok(mut state) = self.state.lock() {
                if state.0 == reservation.day && state.1 > 0 {
                    state.1 -= 1;
                }
            }
        }
    }

    /// Calls left today (`None`: unlimited).
    pub fn remaining(&self) -> Option<u64> {
        let limit = self.limit?;
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
        let budget = DailyBudget::new(Some(2));
        let noon = 20_000 * DAY + DAY / 2;
        budget.settle(budget.reserve_at(noon).unwrap());
        budget.settle(budget.reserve_at(noon + 1).unwrap());
        assert_eq!(budget.reserve_at(noon + 2).unwrap_err(), DAY / 2 - 2);
        assert!(budget.reserve_at(21_000 * DAY).is_ok(), "a new UTC day");
    }

    #[test]
    fn a_released_unit_can_be_used_again() {
        let budget = DailyBudget::new(Some(1));
        let now = 20_000 * DAY;
        let r = budget.reserve_at(now).unwrap();
        assert!(budget.reserve_at(now).is_err());
        budget.release(r);
        assert!(budget.reserve_at(now).is_ok());
    }

    #[test]
    fn concurrent_reservations_never_overshoot() {
        let budget = std::sync::Arc::new(DailyBudget::new(Some(10)));
        let handles: Vec<_> = (0..50)
            .map(|_| {
                let b = budget.clone();
                std::thread::spawn(move || b.reserve().map(|r| b.settle(r)).is_ok())
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

    #[test]
    fn no_limit_means_unlimited() {
        let budget = DailyBudget::new(None);
        for _ in 0..1000 {
            budget.settle(budget.reserve().unwrap());
        }
        assert_eq!(budget.remaining(), None);
    }
}
