//! Error types of the crate.
//!
//! Generation, export and TLS configuration all fail with a typed error rather than a panic, so a
//! bad topology file produces a message the operator can act on.

use std::path::PathBuf;

use crate::ciphers::CipherError;

/// Everything that can go wrong while building the lab PKI, issuing a certificate or exporting it.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PkiError {
    /// The configuration is unusable (empty names, duplicates, invalid DNS names, ...).
    #[error("invalid PKI configuration: {0}")]
    InvalidConfig(String),

    /// A host name is not a valid DNS name for a certificate.
    #[error("invalid DNS name {name:?}: {reason}")]
    InvalidDnsName {
        /// The offending name.
        name: String,
        /// Why it was refused.
        reason: String,
    },

    /// A MAC address is not 12 hex digits (separators `:`, `-`, `.` are allowed).
    #[error("invalid MAC address {0:?}: expected 12 hex digits")]
    InvalidMac(String),

    /// The certificate generator (rcgen) refused the parameters.
    #[error("certificate generation failed: {0}")]
    Generate(String),

    /// RSA key generation or encoding failed.
    #[error("RSA key generation failed: {0}")]
    Rsa(String),

    /// A certificate could not be parsed.
    #[error("cannot parse certificate: {0}")]
    Parse(String),

    /// A certificate carries no MAC address in its subject.
    #[error("no 12-hex-digit MAC address in the certificate subject {0:?}")]
    NoMacInSubject(String),

    /// PEM input held no usable item.
    #[error("PEM input contains no {0}")]
    EmptyPem(&'static str),

    /// Writing the export failed.
    #[error("cannot write {path}: {source}")]
    Io {
        /// The file or directory that failed.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
}

impl From<rcgen::Error> for PkiError {
    fn from(e: rcgen::Error) -> Self {
        PkiError::Generate(e.to_string())
    }
}

/// Errors building a rustls configuration.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TlsError {
    /// The cipher policy cannot be satisfied.
    #[error(transparent)]
    Cipher(#[from] CipherError),

    /// A trust list was empty or held a certificate rustls refused as an anchor.
    #[error("invalid trust anchors: {0}")]
    TrustAnchors(String),

    /// The private key could not be loaded for signing.
    #[error("cannot load private key: {0}")]
    Key(String),

    /// rustls refused the configuration.
    #[error("rustls refused the configuration: {0}")]
    Rustls(#[from] rustls::Error),

    /// Building the client-certificate verifier failed.
    #[error("cannot build client-certificate verifier: {0}")]
    Verifier(String),

    /// A PEM or certificate problem while preparing the configuration.
    #[error(transparent)]
    Pki(#[from] PkiError),
}
