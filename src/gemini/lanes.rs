//! Upstream connections for many waiting calls.
//!
//! Gemini speaks HTTP/2 (ALPN `h2`), where one connection carries many calls at
//! once — but only as many as the server's `SETTINGS_MAX_CONCURRENT_STREAMS`
//! (Google's front ends allow 100), and the HTTP client queues every call past
//! that on the same connection instead of opening another. A classroom of
//! students each waiting seconds for an answer would then wait in line. So calls
//! are spread over lanes, each a client with a connection pool of its own: a
//! call takes the first lane carrying fewer than [`LANE_CALLS`], so a quiet
//! server uses one connection and ten thousand waiting calls about a hundred.
//! Over HTTP/1.1 (a plain `http://` stand-in) every waiting call has its own
//! connection anyway: there is one lane, one pool of idle connections.
//!
//! With a worker thread per core (`server::Workers::PerCore`), each worker has
//! its own group of lanes, so a call's connection is driven by the thread that
//! serves the request: no wake-ups between threads for each piece of an answer.
//! Code outside the workers (the start-up probe) uses a group of its own.

use std::sync::{
    Arc, OnceLock,
    atomic::{AtomicUsize, Ordering},
};

/// Calls a lane carries before the next lane is used: under the 100 streams
/// Google allows on one HTTP/2 connection.
pub const LANE_CALLS: usize = 96;

/// Lanes at most: 128 × 96 ≈ 12,000 calls at once before any queues.
pub const MAX_LANES: usize = 128;

type MakeClient = Box<dyn Fn() -> reqwest::Result<reqwest::Client> + Send + Sync>;

/// The lanes (cheap to share behind an `Arc`).
pub struct Lanes {
    make: MakeClient,
    /// `groups` groups of `per_group` lanes, one after the other.
    lanes: Vec<Lane>,
    per_group: usize,
    groups: usize,
}

#[derive(Default)]
struct Lane {
    client: OnceLock<reqwest::Client>,
    calls: AtomicUsize,
}

impl std::fmt::Debug for Lanes {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let open = self.lanes.iter().filter(|l| l.client.get().is_some()).count();
        f.debug_struct("Lanes").field("open", &open).finish()
    }
}

/// A call's place on a lane, given back when dropped (for a stream: when the
/// stream ends).
#[derive(Debug)]
pub struct Ticket {
    lanes: Arc<Lanes>,
    index: usize,
}

impl Drop for Ticket {
    fn drop(&mut self) {
        self.lanes.lanes[self.index].calls.fetch_sub(1, Ordering::Relaxed);
    }
}

impl Lanes {
    /// `count` lanes (at least one, at most [`MAX_LANES`]) for each of `groups`
    /// groups, whose clients `make` builds; the first is built now, so a client
    /// that cannot be built fails at start-up.
    pub fn new(make: MakeClient, count: usize, groups: usize) -> reqwest::Result<Self> {
        let per_group = count.clamp(1, MAX_LANES);
        let groups = groups.max(1);
        let lanes: Vec<Lane> = (0..per_group * groups).map(|_| Lane::default()).collect();
        let first = make()?;
        let _ = lanes[0].client.set(first);
        Ok(Self {
            make,
            lanes,
            per_group,
            groups,
        })
    }

    /// The group of the calling thread: its worker's, else the first.
    fn group(&self) -> usize {
        crate::server::worker_index().map_or(0, |worker| (worker + 1) % self.groups)
    }

    /// The client of the first lane of this thread's group with room (else of
    /// the group's least busy one), and the ticket that holds the place.
    pub fn take(self: &Arc<Self>) -> (reqwest::Client, Ticket) {
        let start = self.group() * self.per_group;
        let group = &self.lanes[start..start + self.per_group];
        let index = start
            + group
                .iter()
                .position(|lane| lane.calls.load(Ordering::Relaxed) < LANE_CALLS)
                .unwrap_or_else(|| {
                    (0..group.len())
                        .min_by_key(|&i| group[i].calls.load(Ordering::Relaxed))
                        .unwrap_or(0)
                });
        let lane = &self.lanes[index];
        lane.calls.fetch_add(1, Ordering::Relaxed);
        let client = lane
            .client
            .get_or_init(|| (self.make)().unwrap_or_else(|_| self.first()))
            .clone();
        (
            client,
            Ticket {
                lanes: self.clone(),
                index,
            },
        )
    }

    /// The first lane's client (always built).
    pub fn first(&self) -> reqwest::Client {
        self.lanes[0]
            .client
            .get()
            .cloned()
            .unwrap_or_else(reqwest::Client::new)
    }

    /// How many lanes have a client.
    #[cfg(test)]
    pub fn open(&self) -> usize {
        self.lanes.iter().filter(|l| l.client.get().is_some()).count()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lanes() -> Arc<Lanes> {
        Arc::new(
            Lanes::new(Box::new(|| reqwest::Client::builder().build()), MAX_LANES, 1)
                .unwrap_or_else(|_| unreachable!()),
        )
    }

    #[test]
    fn a_quiet_server_uses_one_lane_and_a_crowd_spreads_over_many() {
        let lanes = lanes();
        let first: Vec<Ticket> = (0..LANE_CALLS).map(|_| lanes.take().1).collect();
        assert!(first.iter().all(|t| t.index == 0));
        assert_eq!(lanes.open(), 1);
        let next = lanes.take().1;
        assert_eq!(next.index, 1);
        assert_eq!(lanes.open(), 2);
        // Tickets given back free their place: the next call goes to lane 0 again.
        drop(first);
        assert_eq!(lanes.take().1.index, 0);
    }

    #[test]
    fn one_lane_takes_every_call() {
        let lanes = Arc::new(
            Lanes::new(Box::new(|| reqwest::Client::builder().build()), 1, 1)
                .unwrap_or_else(|_| unreachable!()),
        );
        let held: Vec<Ticket> = (0..3 * LANE_CALLS).map(|_| lanes.take().1).collect();
        assert!(held.iter().all(|t| t.index == 0));
        assert_eq!(lanes.open(), 1);
    }

    #[test]
    fn each_worker_thread_has_a_group_of_its_own() {
        let lanes = Arc::new(
            Lanes::new(Box::new(|| reqwest::Client::builder().build()), 4, 3)
                .unwrap_or_else(|_| unreachable!()),
        );
        // Outside the workers: the first group.
        assert_eq!(lanes.take().1.index, 0);
        let on_worker = |worker: usize| {
            let lanes = lanes.clone();
            std::thread::spawn(move || {
                crate::server::set_worker_index(worker);
                let (_, ticket) = lanes.take();
                ticket.index
            })
            .join()
            .unwrap_or(usize::MAX)
        };
        assert_eq!(on_worker(0), 4);
        assert_eq!(on_worker(1), 8);
    }

    #[test]
    fn past_every_lane_the_least_busy_one_takes_the_call() {
        let lanes = lanes();
        let mut held: Vec<Ticket> = (0..LANE_CALLS * MAX_LANES).map(|_| lanes.take().1).collect();
        assert_eq!(lanes.open(), MAX_LANES);
        // Free two places on lane 7: it is now the least busy.
        let freed: Vec<usize> = held
            .iter()
            .enumerate()
            .filter(|(_, t)| t.index == 7)
            .map(|(i, _)| i)
            .take(2)
            .collect();
        for i in freed.into_iter().rev() {
            held.swap_remove(i);
        }
        assert_eq!(lanes.take().1.index, 7);
        held.push(lanes.take().1);
        let extra = lanes.take().1;
        assert!(extra.index < MAX_LANES);
    }
}
