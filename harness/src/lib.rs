//! **bwlab** — a Cisco BroadWorks lab for testing Webex-for-BroadWorks components.
//!
//! [`Lab`] starts the lab's servers on real sockets, with a generated PKI, a release
//! [profile](bwlab_profiles) and subscriber [data](bwlab_model):
//!
//! ```no_run
//! # async fn demo() -> Result<(), bwlab::LabError> {
//! let lab = bwlab::Lab::builder().profile("r22").start().await?;
//! println!("lab DNS server at {}", lab.dns_addr());
//! lab.shutdown().await;
//! # Ok(()) }
//! ```
//!
//! The crates behind it are re-exported: [`core`] (clock, journal, address plan), [`model`],
//! [`profiles`], [`pki`], [`dns`], [`net`] (the transport fault layer), [`xsp`] (the XSP|ADP
//! node, Xsi-Events settings and faults)
//! and [`appserver`] (calls, subscriptions, channel sets, event faults).

pub mod bench;
pub mod cli;
mod error;
pub mod events_client;
mod lab;
pub mod reference;
pub mod run;
pub mod summary;
pub mod topology;
pub mod validate;

pub use error::LabError;
pub use lab::{DEFAULT_DATA, Lab, LabBuilder, lab_pki};
pub use topology::{Farm, TopoFarm, TopoLb, TopoRecord, TopoRecordData, Topology, XspLayout};

pub use bwlab_appserver as appserver;
pub use bwlab_core as core;
pub use bwlab_dns as dns;
pub use bwlab_lb as lb;
pub use bwlab_model as model;
pub use bwlab_net as net;
pub use bwlab_pki as pki;
pub use bwlab_profiles as profiles;
pub use bwlab_scenario as scenario;
pub use bwlab_xsp as xsp;
