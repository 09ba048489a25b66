//! The lab clock: virtual wall time for everything that BroadWorks compares with "now"
//! (password and token expiry, call-log timestamps, certificate validity checks).
//!
//! Wall time is `epoch + elapsed tokio time + manual advances`. Because elapsed time is read
//! from [`tokio::time::Instant`], a test that runs with `start_paused = true` drives the lab
//! clock with `tokio::time::advance`, and a scenario can jump days ahead with
//! [`LabClock::advance`] without waiting. Timers (heartbeats, timeouts) stay on tokio time;
//! only wall-clock *comparisons* go through this type.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};
use std::time::Duration;

use time::OffsetDateTime;
use tokio::time::Instant;

/// Shared virtual wall clock. Cloning is cheap; clones see the same time.
#[derive(Clone, Debug)]
pub struct LabClock {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    epoch: OffsetDateTime,
    started: Instant,
    /// Manual advances (and `set`), in nanoseconds; may be negative after `set` to the past.
    offset_ns: AtomicI64,
    /// A frozen clock ignores elapsed tokio time and moves only when advanced.
    frozen: AtomicBool,
}

impl LabClock {
    /// A clock that starts at `epoch` and runs with tokio time.
    pub fn starting_at(epoch: OffsetDateTime) -> Self {
        Self::build(epoch, false)
    }

    /// A clock that starts at the host's current wall time and runs with tokio time.
    pub fn system() -> Self {
        Self::starting_at(OffsetDateTime::now_utc())
    }

    /// A clock that stands still at `epoch` until [`advance`](Self::advance)d or
    /// [`set`](Self::set). Useful for exact expiry arithmetic in tests.
    pub fn frozen_at(epoch: OffsetDateTime) -> Self {
        Self::build(epoch, true)
    }

    fn build(epoch: OffsetDateTime, frozen: bool) -> Self {
        Self {
            inner: Arc::new(Inner {
                epoch,
                started: Instant::now(),
                offset_ns: AtomicI64::new(0),
                frozen: AtomicBool::new(frozen),
            }),
        }
    }

    /// The current lab wall time.
    pub fn now(&self) -> OffsetDateTime {
        let inner = &self.inner;
        let mut t = inner.epoch;
        if !inner.frozen.load(Ordering::Relaxed) {
            t += inner.started.elapsed();
        }
        t + time::Duration::nanoseconds(inner.offset_ns.load(Ordering::Relaxed))
    }

    /// Moves the lab wall time forward (e.g. "advance 11 days" to expire a password).
    pub fn advance(&self, by: Duration) {
        let ns = i64::try_from(by.as_nanos()).unwrap_or(i64::MAX);
        self.inner.offset_ns.fetch_add(ns, Ordering::Relaxed);
    }

    /// Sets the lab wall time to `t` (forwards or backwards).
    pub fn set(&self, t: OffsetDateTime) {
        let delta = t - self.now();
        let ns = i64::try_from(delta.whole_nanoseconds()).unwrap_or(i64::MAX);
        self.inner.offset_ns.fetch_add(ns, Ordering::Relaxed);
    }

    /// Stops (or restarts) the clock following tokio time. Freezing keeps the current reading.
    pub fn set_frozen(&self, frozen: bool) {
        let before = self.now();
        self.inner.frozen.store(frozen, Ordering::Relaxed);
        self.set(before);
    }

    /// A view of this clock as seen by one node, offset by `skew` (a node without NTP).
    pub fn skewed(&self) -> NodeClock {
        NodeClock {
            lab: self.clone(),
            skew_ns: Arc::new(AtomicI64::new(0)),
        }
    }
}

impl Default for LabClock {
    fn default() -> Self {
        Self::system()
    }
}

/// One node's reading of the lab clock. The skew is a fault: a node with a wrong clock
/// rejects tokens the rest of the farm accepts.
#[derive(Clone, Debug)]
pub struct NodeClock {
    lab: LabClock,
    skew_ns: Arc<AtomicI64>,
}

impl NodeClock {
    /// Lab time plus this node's skew.
    pub fn now(&self) -> OffsetDateTime {
        self.lab.now() + time::Duration::nanoseconds(self.skew_ns.load(Ordering::Relaxed))
    }

    /// Sets this node's skew (positive: the node runs ahead).
    pub fn set_skew(&self, skew: time::Duration) {
        let ns = i64::try_from(skew.whole_nanoseconds()).unwrap_or(i64::MAX);
        self.skew_ns.store(ns, Ordering::Relaxed);
    }

    /// The current skew.
    pub fn skew(&self) -> time::Duration {
        time::Duration::nanoseconds(self.skew_ns.load(Ordering::Relaxed))
    }

    /// The lab clock this view is derived from.
    pub fn lab(&self) -> &LabClock {
        &self.lab
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[tokio::test(start_paused = true)]
    async fn follows_paused_tokio_time() {
        let clock = LabClock::starting_at(datetime!(2026-01-01 0:00 UTC));
        tokio::time::advance(Duration::from_secs(90)).await;
        assert_eq!(clock.now(), datetime!(2026-01-01 0:01:30 UTC));
    }

    #[tokio::test(start_paused = true)]
    async fn frozen_clock_moves_only_when_advanced() {
        let clock = LabClock::frozen_at(datetime!(2026-01-01 0:00 UTC));
        tokio::time::advance(Duration::from_secs(90)).await;
        assert_eq!(clock.now(), datetime!(2026-01-01 0:00 UTC));
        clock.advance(Duration::from_secs(11 * 86_400));
        assert_eq!(clock.now(), datetime!(2026-01-12 0:00 UTC));
        clock.set(datetime!(2025-12-31 0:00 UTC));
        assert_eq!(clock.now(), datetime!(2025-12-31 0:00 UTC));
    }

    #[test]
    fn node_skew_is_per_view() {
        let clock = LabClock::frozen_at(datetime!(2026-01-01 0:00 UTC));
        let a = clock.skewed();
        let b = clock.skewed();
        a.set_skew(time::Duration::minutes(5));
        assert_eq!(a.now(), datetime!(2026-01-01 0:05 UTC));
        assert_eq!(b.now(), clock.now());
    }
}
