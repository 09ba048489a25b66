//! The bwlab lab PKI: CAs, node and client certificates, bad variants, rustls configurations.
//!
//! Webex for BroadWorks is picky about certificates: server certificates must chain to a CA
//! Webex trusts and name the host; Webex authenticates itself with a client certificate from
//! its own private chain; BroadWorks wants client certificates with a private EKU OID and no SAN;
//! MPP phones authenticate with a manufacturing certificate carrying their MAC. This crate
//! generates all of that for a lab, from a [`PkiConfig`] whose validity windows follow the lab
//! clock, and builds rustls configurations that enforce the same rules over real sockets.
//!
//! * [`LabPki::generate`] creates the CAs ([`CaId`]) and the node, host, device, Webex-client and
//!   proxy-client certificates ([`Identity`]).
//! * [`LabPki::bad_cert`] issues one of the named [`BadCert`] variants on demand.
//! * [`LabPki::export`] writes everything as PEM files and returns an [`ExportManifest`].
//! * [`server_config`] / [`client_config`] build rustls configurations with an explicit *ring*
//!   provider, a [`CipherPolicy`], [`TlsVersions`] and optional mTLS; [`BroadWorksClientVerifier`]
//!   and [`check_broadworks_client_cert`] implement the BroadWorks client-certificate policy.
//!
//! rcgen does the certificate encoding but none of its types appear in this API.
//!
//! # Example
//!
//! ```
//! use bwlab_pki::{
//!     BadCert, CaId, ClientOptions, LabPki, NodeSpec, PkiConfig, ServerOptions,
//!     check_broadworks_client_cert, client_config, server_config,
//! };
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let now = time::OffsetDateTime::now_utc();
//! let config = PkiConfig::new("xsp.lab.example", now)
//!     .with_node(NodeSpec::new("xsp1", "xsp1.lab.example"));
//! let pki = LabPki::generate(config)?;
//!
//! // CN = node FQDN, SAN = cluster domain + node FQDN.
//! let xsp1 = pki.node("xsp1").expect("configured above");
//! let info = xsp1.info()?;
//! assert_eq!(info.subject_common_names, ["xsp1.lab.example"]);
//! assert_eq!(info.dns_sans, ["xsp.lab.example", "xsp1.lab.example"]);
//!
//! // The Webex client certificate follows the BroadWorks rules; the SAN variant does not.
//! check_broadworks_client_cert(pki.webex_client().leaf())?;
//! let bad = pki.bad_cert(BadCert::ClientWithSan)?;
//! assert!(check_broadworks_client_cert(bad.identity.leaf()).is_err());
//!
//! // rustls configurations for a lab server and a client trusting the lab.
//! let _server = server_config(xsp1, &ServerOptions::default())?;
//! let _client = client_config(&ClientOptions::new(pki.lab_trust_bundle()))?;
//! assert_eq!(pki.ca_chain(CaId::WebexClient).len(), 2);
//! # Ok(())
//! # }
//! ```

#![warn(missing_docs)]

mod bad;
mod ca;
mod certs;
mod ciphers;
mod config;
mod error;
mod export;
mod keys;
mod lab;
pub mod pem;
mod tls;
mod verify;

pub use bad::{BadCert, BadIdentity, CertRole, UnknownBadCert};
pub use ca::{CaId, trust_nothing_anchor};
pub use certs::{
    BROADWORKS_CLIENT_OID, DEFAULT_DEVICE_MODEL, Identity, MacAddress, WEBEX_CLIENT_CN,
    device_common_name, mac_from_cert, mac_from_subject,
};
pub use ciphers::{
    CipherError, CipherPolicy, ParsedCipher, ResolvedCiphers, TlsVersions, Unimplementable,
    iana_name, parse_cipher_name,
};
pub use config::{DeviceSpec, HostSpec, KeyAlgorithm, NodeSpec, PkiConfig, ServerIssuer, Validity};
pub use error::{PkiError, TlsError};
pub use export::{
    BadFiles, CaFiles, DeviceFiles, ExportManifest, HostFiles, IdentityFiles, NodeFiles,
};
pub use lab::{ClientIssuer, LabPki, ServerCertRequest, WRONG_HOST};
pub use tls::{
    ClientAuth, ClientAuthPolicy, ClientOptions, ServerOptions, client_config, provider_for,
    server_config,
};
pub use verify::{
    BroadWorksClientRules, BroadWorksClientVerifier, CertInfo, ClientCertRejection, LabClock,
    check_broadworks_client_cert, check_client_cert_with, inspect,
};

/// The rustls version this crate builds against, so users share its types.
pub use rustls;
/// The tokio-rustls version matching [`rustls`].
pub use tokio_rustls;
