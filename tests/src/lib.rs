//! End-to-end tests of bwlab live in `tests/`; they drive a whole [`bwlab::Lab`] through real
//! sockets the way a system under test would.
//!
//! The documentation's Rust examples are compiled here too, so they cannot rot.

#[cfg(doctest)]
#[doc = include_str!("../../docs/lab.md")]
struct LabGuide;

#[cfg(doctest)]
#[doc = include_str!("../../README.md")]
struct Readme;

#[cfg(doctest)]
#[doc = include_str!("../../docs/events.md")]
struct EventsGuide;

#[cfg(doctest)]
#[doc = include_str!("../../docs/faults.md")]
struct FaultsGuide;
