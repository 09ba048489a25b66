//! Identifiers and seeded randomness.
//!
//! Everything random in the AS (UUIDs, channel choice by weight, fault dice) comes from the
//! seed in [`AsSettings`](crate::AsSettings), so a run with the same inputs replays. Draws are
//! lock-free: a shared atomic counter run through the SplitMix64 finaliser (a bijection, so
//! IDs never repeat within a run).

use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};

/// SplitMix64 finaliser: a bijective mix of a 64-bit value.
pub(crate) fn mix64(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// Seeded, lock-free source of random numbers and UUIDs.
#[derive(Debug)]
pub(crate) struct Dice {
    seed: u64,
    counter: AtomicU64,
}

impl Dice {
    pub(crate) fn new(seed: u64) -> Self {
        Self {
            seed: mix64(seed ^ 0x9e37_79b9_7f4a_7c15),
            counter: AtomicU64::new(0),
        }
    }

    /// The next 64 random bits.
    pub(crate) fn next_u64(&self) -> u64 {
        let n = self.counter.fetch_add(1, Ordering::Relaxed);
        mix64(n.wrapping_mul(0x9e37_79b9_7f4a_7c15) ^ self.seed)
    }

    /// Uniform in `0..n` (`n > 0`).
    pub(crate) fn below(&self, n: u64) -> u64 {
        ((u128::from(self.next_u64()) * u128::from(n)) >> 64) as u64
    }

    /// True with probability `p` (0.0–1.0).
    pub(crate) fn chance(&self, p: f64) -> bool {
        if p <= 0.0 {
            return false;
        }
        if p >= 1.0 {
            return true;
        }
        ((self.next_u64() >> 11) as f64 / (1u64 << 53) as f64) < p
    }

    /// A version-4 UUID in the canonical 36-character form.
    pub(crate) fn uuid(&self) -> Arc<str> {
        let n = self.counter.fetch_add(1, Ordering::Relaxed);
        // The high half is a bijection of the counter: unique within the run.
        let hi = mix64(n ^ self.seed);
        let lo = mix64(hi ^ 0xd6e8_feb8_6659_fd93);
        let hi = (hi & !0xf000) | 0x4000; // version 4
        let lo = (lo & !(0xc000_u64 << 48)) | (0x8000_u64 << 48); // RFC 4122 variant
        let b = (u128::from(hi) << 64) | u128::from(lo);
        let x = format!("{b:032x}");
        format!(
            "{}-{}-{}-{}-{}",
            &x[0..8],
            &x[8..12],
            &x[12..16],
            &x[16..20],
            &x[20..32]
        )
        .into()
    }
}

/// A counter that counts `1..=2147483647` and wraps back to 1 (subscription sequence numbers).
#[derive(Debug)]
pub struct SequenceCounter(AtomicU32);

impl SequenceCounter {
    /// The largest value before the wrap.
    pub const MAX: u32 = i32::MAX as u32;

    /// A counter whose first [`next`](Self::next) returns `first` (clamped to `1..=MAX`).
    pub fn starting_at(first: u32) -> Self {
        Self(AtomicU32::new(first.clamp(1, Self::MAX) - 1))
    }

    /// Makes `next` the next value returned (clamped to `1..=MAX`).
    pub fn set_next(&self, next: u32) {
        self.0
            .store(next.clamp(1, Self::MAX) - 1, Ordering::Relaxed);
    }

    /// The next sequence number.
    pub fn next(&self) -> u32 {
        let prev = self
            .0
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |v| {
                Some(if v >= Self::MAX { 1 } else { v + 1 })
            })
            .unwrap_or(0);
        if prev >= Self::MAX { 1 } else { prev + 1 }
    }
}

impl Default for SequenceCounter {
    fn default() -> Self {
        Self::starting_at(1)
    }
}

/// A counter over `0..=2147483647` that wraps to 0 (the `extTrackingId` counter).
#[derive(Debug, Default)]
pub(crate) struct TrackingCounter(AtomicU32);

impl TrackingCounter {
    pub(crate) fn starting_at(first: u32) -> Self {
        Self(AtomicU32::new(first.min(SequenceCounter::MAX)))
    }

    pub(crate) fn next(&self) -> u32 {
        self.0
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |v| {
                Some(if v >= SequenceCounter::MAX { 0 } else { v + 1 })
            })
            .unwrap_or(0)
    }
}

/// Handle of an Xsi-Events instance registered with the AS
/// ([`AppServer::register_events_app`](crate::AppServer::register_events_app)).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct EventsAppId(pub(crate) u64);

impl fmt::Display for EventsAppId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "events-app-{}", self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uuids_look_right_and_replay() {
        let a = Dice::new(7);
        let b = Dice::new(7);
        let u = a.uuid();
        assert_eq!(u.len(), 36);
        assert_eq!(&u[14..15], "4");
        assert!(matches!(&u[19..20], "8" | "9" | "a" | "b"));
        assert_eq!(u, b.uuid());
        assert_ne!(a.uuid(), u);
    }

    #[test]
    fn sequence_wraps_to_one() {
        let c = SequenceCounter::starting_at(SequenceCounter::MAX - 1);
        assert_eq!(c.next(), SequenceCounter::MAX - 1);
        assert_eq!(c.next(), SequenceCounter::MAX);
        assert_eq!(c.next(), 1);
        assert_eq!(c.next(), 2);
    }

    #[test]
    fn tracking_wraps_to_zero() {
        let c = TrackingCounter::starting_at(SequenceCounter::MAX);
        assert_eq!(c.next(), SequenceCounter::MAX);
        assert_eq!(c.next(), 0);
        assert_eq!(c.next(), 1);
    }

    proptest::proptest! {
        #[test]
        fn sequence_numbers_stay_in_range(start in 1u32..=SequenceCounter::MAX, n in 0usize..50) {
            let c = SequenceCounter::starting_at(start);
            let mut prev = None::<u32>;
            for _ in 0..n {
                let v = c.next();
                proptest::prop_assert!((1..=SequenceCounter::MAX).contains(&v));
                if let Some(p) = prev {
                    proptest::prop_assert_eq!(v, if p == SequenceCounter::MAX { 1 } else { p + 1 });
                }
                prev = Some(v);
            }
        }
    }
}
