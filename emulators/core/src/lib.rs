//! Shared plumbing of every bwlab emulator: the [lab clock](clock), the [journal] of
//! everything that crosses a lab boundary, and the [address plan](addr).
//!
//! These live together because every emulated server needs all three and none of them
//! depends on any server.

pub mod addr;
pub mod clock;
pub mod journal;

pub use addr::{AddressPlan, Host, NodePlan, Ports, Role};
pub use clock::{LabClock, NodeClock};
pub use journal::{Entry, Filter, Journal, Kind};
