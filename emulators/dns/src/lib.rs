//! The lab's authoritative DNS server.
//!
//! Every Webex-for-BroadWorks client finds its servers through DNS: Webex cloud services
//! resolve an A record and use the first address, the Webex App follows
//! `_xsi-client._tcp.<domain>` SRV records, the Application Server finds push servers through
//! `_pushnotification-client._tcp.<domain>`, and RoomOS goes NAPTR → `_sip._tls` SRV → A.
//! This crate serves those names from the lab zones over real UDP and TCP sockets, lets a
//! scenario change records and inject faults while clients run, and journals every query.
//!
//! * [`DnsServer::builder`] / [`DnsServer::from_config`] configure and start a server;
//!   [`DnsHandle`] is the running server (addresses, [`Records`], [`Faults`], shutdown).
//! * [`DnsConfig`] is the serde form scenario files use.
//! * [`DnsFault`] describes what to do wrong: NXDOMAIN, SERVFAIL, REFUSED, NODATA, delay,
//!   truncation (forcing TCP), or silence.
//!
//! hickory-server provides only the socket plumbing; the answers come from
//! [`DnsHandler`], a small handler of our own.
//!
//! ```
//! use bwlab_dns::{DnsFault, DnsServer, RecordData, RecordType, Srv};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), bwlab_dns::DnsError> {
//! let dns = DnsServer::builder()
//!     .zone("lab.example")
//!     .addresses("xsp.lab.example", ["127.77.0.2", "127.77.0.3"])
//!     .xsi_client_srv("lab.example", [Srv::new(10, 10, 443, "xsp1.lab.example")])
//!     .bind("127.0.0.1:0".parse().unwrap(), "127.0.0.1:0".parse().unwrap())
//!     .start()
//!     .await?;
//! println!("dig @{} -p {} xsp.lab.example", dns.udp_addr().ip(), dns.udp_addr().port());
//!
//! // Change data and break things while clients run.
//! dns.records().add("xsp1.lab.example", RecordData::A("127.77.0.2".parse().unwrap()))?;
//! let fault = dns.inject("*.lab.example", Some(RecordType::AAAA), DnsFault::NxDomain);
//! dns.revert(fault);
//!
//! dns.shutdown().await?;
//! # Ok(())
//! # }
//! ```

mod config;
mod error;
mod faults;
mod handler;
pub mod names;
mod records;
mod server;

pub use config::{DnsConfig, RecordConfig, RecordValue};
pub use error::DnsError;
pub use faults::{ActiveFault, DnsFault, FaultId, FaultRule, Faults};
pub use handler::DnsHandler;
pub use records::{
    DEFAULT_NEGATIVE_TTL, DEFAULT_TTL, Naptr, RecordData, Records, Srv, parse_record_type,
};
pub use server::{DEFAULT_NODE_NAME, DnsHandle, DnsReport, DnsServer, DnsServerBuilder};

/// Record types as hickory names them (`RecordType::A`, `RecordType::SRV`…).
pub use hickory_proto::rr::RecordType;
/// Transport of a query, for [`DnsHandler::answer_bytes`].
pub use hickory_server::net::xfer::Protocol;
