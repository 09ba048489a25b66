//! Named bad certificates, issued on demand.
//!
//! Each variant breaks exactly one rule, so a test that sees a rejection knows why. The names are
//! stable strings (`expired`, `wrong-host`, ...) usable in scenario files and on the command line.

use std::fmt;
use std::str::FromStr;

use rustls::pki_types::CertificateDer;
use serde::{Deserialize, Serialize};

use crate::certs::Identity;

/// Whether a certificate is presented by a server or by a client.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum CertRole {
    /// Presented by a TLS server.
    Server,
    /// Presented by a TLS client (mTLS).
    Client,
}

/// A named bad certificate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum BadCert {
    /// Server certificate whose validity ended before the lab's "now".
    Expired,
    /// Server certificate whose validity starts after the lab's "now".
    NotYetValid,
    /// Self-signed server certificate, like the one BroadWorks generates when an interface is
    /// secured without a certificate.
    SelfSigned,
    /// Server certificate issued for another host name.
    WrongHost,
    /// Valid server certificate, but the server sends only the leaf, not the intermediate.
    MissingIntermediate,
    /// BroadWorks client certificate without the BroadWorks EKU OID.
    ClientNoEkuOid,
    /// BroadWorks client certificate with a subjectAltName.
    ClientWithSan,
    /// Server certificate with a 1024-bit RSA key.
    #[serde(rename = "rsa-1024")]
    Rsa1024,
}

impl BadCert {
    /// Every variant, in documentation order.
    pub const ALL: [BadCert; 8] = [
        BadCert::Expired,
        BadCert::NotYetValid,
        BadCert::SelfSigned,
        BadCert::WrongHost,
        BadCert::MissingIntermediate,
        BadCert::ClientNoEkuOid,
        BadCert::ClientWithSan,
        BadCert::Rsa1024,
    ];

    /// The stable name (`expired`, `not-yet-valid`, ...).
    pub fn name(self) -> &'static str {
        match self {
            BadCert::Expired => "expired",
            BadCert::NotYetValid => "not-yet-valid",
            BadCert::SelfSigned => "self-signed",
            BadCert::WrongHost => "wrong-host",
            BadCert::MissingIntermediate => "missing-intermediate",
            BadCert::ClientNoEkuOid => "client-no-eku-oid",
            BadCert::ClientWithSan => "client-with-san",
            BadCert::Rsa1024 => "rsa-1024",
        }
    }

    /// Who presents it.
    pub fn role(self) -> CertRole {
        match self {
            BadCert::ClientNoEkuOid | BadCert::ClientWithSan => CertRole::Client,
            _ => CertRole::Server,
        }
    }

    /// What is wrong with it.
    pub fn reason(self) -> &'static str {
        match self {
            BadCert::Expired => "the certificate's notAfter lies before the lab clock's now",
            BadCert::NotYetValid => "the certificate's notBefore lies after the lab clock's now",
            BadCert::SelfSigned => {
                "the certificate signs itself instead of being issued by a trusted CA"
            }
            BadCert::WrongHost => {
                "the certificate names wrong-host.invalid, not the host the client connects to"
            }
            BadCert::MissingIntermediate => {
                "the server sends only its leaf, so the client cannot link it to the root"
            }
            BadCert::ClientNoEkuOid => {
                "the client certificate's extended key usage lacks the BroadWorks OID 1.3.6.1.4.1.6431.1.1.8.2.1.3"
            }
            BadCert::ClientWithSan => {
                "the client certificate carries a subjectAltName, which BroadWorks does not support"
            }
            BadCert::Rsa1024 => "the certificate's RSA key has only 1024 bits",
        }
    }

    /// What a peer observes when it is presented with this certificate.
    pub fn peer_sees(self) -> &'static str {
        match self {
            BadCert::Expired => {
                "rustls: CertificateError::Expired(Context); openssl: \"certificate has expired\""
            }
            BadCert::NotYetValid => {
                "rustls: CertificateError::NotValidYet(Context); openssl: \"certificate is not yet valid\""
            }
            BadCert::SelfSigned => {
                "rustls: CertificateError::UnknownIssuer; openssl: \"self-signed certificate\""
            }
            BadCert::WrongHost => {
                "rustls: CertificateError::NotValidForName(Context); openssl -verify_hostname: \"hostname mismatch\""
            }
            BadCert::MissingIntermediate => {
                "rustls: CertificateError::UnknownIssuer; openssl: \"unable to get local issuer certificate\""
            }
            BadCert::ClientNoEkuOid => {
                "chain checks pass; the BroadWorks policy refuses it (ClientCertRejection::MissingBroadWorksOid)"
            }
            BadCert::ClientWithSan => {
                "chain checks pass; the BroadWorks policy refuses it (ClientCertRejection::HasSubjectAltName)"
            }
            BadCert::Rsa1024 => {
                "rustls/ring: CertificateError::BadSignature when checking the handshake signature (ring refuses RSA keys under 2048 bits); openssl -auth_level 2: \"EE certificate key too weak\""
            }
        }
    }

    /// The error text `openssl verify` prints for this variant, if its chain check can see it.
    /// The two BroadWorks client rules are invisible to OpenSSL.
    pub fn openssl_error(self) -> Option<&'static str> {
        match self {
            BadCert::Expired => Some("certificate has expired"),
            BadCert::NotYetValid => Some("certificate is not yet valid"),
            BadCert::SelfSigned => Some("self-signed certificate"),
            BadCert::WrongHost => Some("hostname mismatch"),
            BadCert::MissingIntermediate => Some("unable to get local issuer certificate"),
            BadCert::ClientNoEkuOid | BadCert::ClientWithSan => None,
            BadCert::Rsa1024 => Some("EE certificate key too weak"),
        }
    }
}

impl fmt::Display for BadCert {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The name is not one of [`BadCert::ALL`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown bad-certificate variant {0:?}")]
pub struct UnknownBadCert(pub String);

impl FromStr for BadCert {
    type Err = UnknownBadCert;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        BadCert::ALL
            .into_iter()
            .find(|b| b.name().eq_ignore_ascii_case(s.trim()))
            .ok_or_else(|| UnknownBadCert(s.to_string()))
    }
}

/// A bad certificate together with what a verifier should be configured with to see the fault.
#[derive(Debug, Clone)]
pub struct BadIdentity {
    /// Which variant.
    pub kind: BadCert,
    /// The certificate chain exactly as the peer presents it, with its key.
    pub identity: Identity,
    /// Roots the verifying side trusts (the CA the good version would chain to).
    pub trust: Vec<CertificateDer<'static>>,
    /// For server variants, the host name the client expects.
    pub expected_host: Option<String>,
}
