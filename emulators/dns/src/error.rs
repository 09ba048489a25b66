//! The crate's one error type.

use std::io;
use std::net::SocketAddr;

/// Everything that can go wrong configuring, starting or changing the lab DNS server.
///
/// Bad input (a name that is not a DNS name, an address that does not parse) is always an
/// error value, never a panic: scenario files are written by hand.
#[derive(Debug, thiserror::Error)]
pub enum DnsError {
    /// A string that should be a domain name is not one.
    #[error("{name:?} is not a valid domain name: {reason}")]
    InvalidName { name: String, reason: String },

    /// A record type the server does not serve (or a misspelt one).
    #[error("record type {0:?} is not supported (use A, AAAA, CNAME, SRV, NAPTR or TXT)")]
    UnsupportedType(String),

    /// A value that does not fit its record type (`"not-an-ip"` for an A record…).
    #[error("bad {rtype} value for {name}: {reason}")]
    InvalidValue {
        name: String,
        rtype: String,
        reason: String,
    },

    /// A record set mixing types, or with no values where some are required.
    #[error("record set for {name} is invalid: {reason}")]
    InvalidRecordSet { name: String, reason: String },

    /// The name lies outside every configured zone, so the server would never serve it.
    #[error("{name} is outside the lab zones ({zones})")]
    OutOfZone { name: String, zones: String },

    /// A CNAME must be alone at its name (RFC 1034 §3.6.2).
    #[error("{name} has a CNAME and other records; a CNAME must be the only record at a name")]
    CnameConflict { name: String },

    /// The server was asked to start without any zone.
    #[error("no zone configured: the server would refuse every query")]
    NoZones,

    /// Binding a listening socket failed.
    #[error("cannot bind DNS {proto} socket on {addr}: {source}")]
    Bind {
        proto: &'static str,
        addr: SocketAddr,
        #[source]
        source: io::Error,
    },

    /// The address plan node lacks a `dns` or `dns-tcp` port.
    #[error("address plan node {node:?} has no port named {port:?}")]
    MissingPort { node: String, port: &'static str },

    /// The socket tasks ended with an error while shutting down.
    #[error("DNS server shut down with an error: {0}")]
    Shutdown(String),
}
