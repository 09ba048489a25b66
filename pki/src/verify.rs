//! Certificate inspection and the BroadWorks client-certificate policy.
//!
//! BroadWorks accepts a client certificate (from Webex or from a TLS-bridging proxy) only when
//! its extended key usage holds TLS Web Client Authentication *and* the BroadWorks OID
//! [`BROADWORKS_CLIENT_OID`], and when it has **no** subject alternative name. A generic
//! chain check (webpki, `openssl verify`) cannot know these rules, so this module adds them on
//! top: [`check_broadworks_client_cert`] for a single certificate, [`BroadWorksClientVerifier`]
//! for a rustls server.

use std::fmt;
use std::net::IpAddr;
use std::sync::Arc;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::server::danger::{ClientCertVerified, ClientCertVerifier};
use rustls::{CertificateError, DigitallySignedStruct, DistinguishedName, SignatureScheme};
use serde::Serialize;
use time::OffsetDateTime;
use x509_parser::extensions::GeneralName;

use crate::certs::BROADWORKS_CLIENT_OID;
use crate::error::{PkiError, TlsError};

/// Facts read from a certificate, for tests, docs and policy checks.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CertInfo {
    /// Subject in RFC 4514-like text (`CN=..., O=...`).
    pub subject: String,
    /// Issuer in the same form.
    pub issuer: String,
    /// Every CN of the subject.
    pub subject_common_names: Vec<String>,
    /// Whether a subjectAltName extension is present at all.
    pub has_san: bool,
    /// DNS names of the SAN.
    pub dns_sans: Vec<String>,
    /// IP addresses of the SAN.
    pub ip_sans: Vec<IpAddr>,
    /// Dotted OIDs of the extended key usage, known ones included (`1.3.6.1.5.5.7.3.2` ...).
    pub eku_oids: Vec<String>,
    /// Whether the certificate is a CA (basicConstraints cA).
    pub is_ca: bool,
    /// Start of validity.
    #[serde(with = "time::serde::rfc3339")]
    pub not_before: OffsetDateTime,
    /// End of validity.
    #[serde(with = "time::serde::rfc3339")]
    pub not_after: OffsetDateTime,
    /// `RSA`, `EC` or `other`.
    pub public_key_type: String,
    /// Key size in bits (RSA modulus size; for EC the field size).
    pub public_key_bits: usize,
}

const OID_SERVER_AUTH: &str = "1.3.6.1.5.5.7.3.1";
const OID_CLIENT_AUTH: &str = "1.3.6.1.5.5.7.3.2";

impl CertInfo {
    /// Whether the EKU allows TLS client authentication.
    pub fn has_client_auth(&self) -> bool {
        self.eku_oids.iter().any(|o| o == OID_CLIENT_AUTH)
    }

    /// Whether the EKU allows TLS server authentication.
    pub fn has_server_auth(&self) -> bool {
        self.eku_oids.iter().any(|o| o == OID_SERVER_AUTH)
    }

    /// Whether the EKU holds the BroadWorks OID.
    pub fn has_broadworks_oid(&self) -> bool {
        self.eku_oids.iter().any(|o| o == BROADWORKS_CLIENT_OID)
    }
}

/// Parses a DER certificate into [`CertInfo`].
pub fn inspect(der: &CertificateDer<'_>) -> Result<CertInfo, PkiError> {
    let (_, cert) = x509_parser::parse_x509_certificate(der.as_ref())
        .map_err(|e| PkiError::Parse(e.to_string()))?;
    let subject_common_names = cert
        .subject()
        .iter_common_name()
        .filter_map(|a| a.as_str().ok().map(str::to_string))
        .collect();

    let san = cert
        .subject_alternative_name()
        .map_err(|e| PkiError::Parse(format!("subjectAltName: {e}")))?;
    let mut dns_sans = Vec::new();
    let mut ip_sans = Vec::new();
    if let Some(san) = &san {
        for name in &san.value.general_names {
            match name {
                GeneralName::DNSName(d) => dns_sans.push((*d).to_string()),
                GeneralName::IPAddress(b) => {
                    if let Ok(a) = <[u8; 4]>::try_from(*b) {
                        ip_sans.push(IpAddr::from(a));
                    } else if let Ok(a) = <[u8; 16]>::try_from(*b) {
                        ip_sans.push(IpAddr::from(a));
                    }
                }
                _ => {}
            }
        }
    }

    let mut eku_oids = Vec::new();
    if let Some(eku) = cert
        .extended_key_usage()
        .map_err(|e| PkiError::Parse(format!("extendedKeyUsage: {e}")))?
    {
        let e = eku.value;
        for (flag, oid) in [
            (e.any, "2.5.29.37.0"),
            (e.server_auth, OID_SERVER_AUTH),
            (e.client_auth, OID_CLIENT_AUTH),
            (e.code_signing, "1.3.6.1.5.5.7.3.3"),
            (e.email_protection, "1.3.6.1.5.5.7.3.4"),
            (e.time_stamping, "1.3.6.1.5.5.7.3.8"),
            (e.ocsp_signing, "1.3.6.1.5.5.7.3.9"),
        ] {
            if flag {
                eku_oids.push(oid.to_string());
            }
        }
        eku_oids.extend(e.other.iter().map(|o| o.to_id_string()));
    }

    let (public_key_type, public_key_bits) = match cert.public_key().parsed() {
        Ok(x509_parser::public_key::PublicKey::RSA(k)) => ("RSA", k.key_size()),
        Ok(x509_parser::public_key::PublicKey::EC(k)) => ("EC", k.key_size()),
        Ok(other) => ("other", other.key_size()),
        Err(_) => ("other", 0),
    };

    Ok(CertInfo {
        subject: cert.subject().to_string(),
        issuer: cert.issuer().to_string(),
        subject_common_names,
        has_san: san.is_some(),
        dns_sans,
        ip_sans,
        eku_oids,
        is_ca: cert.is_ca(),
        not_before: cert.validity().not_before.to_datetime(),
        not_after: cert.validity().not_after.to_datetime(),
        public_key_type: public_key_type.to_string(),
        public_key_bits,
    })
}

/// Which BroadWorks client-certificate rules to enforce.
///
/// The Webex client leaf and a bridging proxy's client certificate must follow the full rules;
/// MPP device certificates (DMS mTLS) carry neither the OID nor the CN, so a DMS listener uses
/// [`BroadWorksClientRules::off`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BroadWorksClientRules {
    /// Require the BroadWorks EKU OID (and clientAuth).
    pub require_broadworks_oid: bool,
    /// Refuse certificates that carry a subjectAltName.
    pub forbid_san: bool,
    /// If not empty, the CN must be one of these (the AS `ClientIdentity` list).
    pub allowed_common_names: Vec<String>,
}

impl Default for BroadWorksClientRules {
    fn default() -> Self {
        BroadWorksClientRules {
            require_broadworks_oid: true,
            forbid_san: true,
            allowed_common_names: Vec::new(),
        }
    }
}

impl BroadWorksClientRules {
    /// No BroadWorks-specific rule: only the chain check applies.
    pub fn off() -> Self {
        BroadWorksClientRules {
            require_broadworks_oid: false,
            forbid_san: false,
            allowed_common_names: Vec::new(),
        }
    }

    /// Whether any rule is on.
    pub fn is_off(&self) -> bool {
        !self.require_broadworks_oid && !self.forbid_san && self.allowed_common_names.is_empty()
    }
}

/// Why a client certificate breaks the BroadWorks rules.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ClientCertRejection {
    /// The certificate could not be parsed.
    #[error("client certificate cannot be parsed: {0}")]
    Unparseable(String),
    /// EKU lacks TLS Web Client Authentication.
    #[error("client certificate lacks the clientAuth extended key usage")]
    MissingClientAuth,
    /// EKU lacks the BroadWorks OID.
    #[error(
        "client certificate lacks the BroadWorks extended key usage OID {BROADWORKS_CLIENT_OID}"
    )]
    MissingBroadWorksOid,
    /// A subjectAltName is present; BroadWorks does not support SAN client certificates.
    #[error(
        "client certificate carries a subjectAltName ({0}); BroadWorks refuses SAN client certificates"
    )]
    HasSubjectAltName(String),
    /// The CN is not an allowed client identity.
    #[error("client certificate CN {0:?} is not an allowed client identity")]
    CommonNameNotAllowed(String),
}

/// Checks a client certificate against the full BroadWorks rules (OID + clientAuth, no SAN).
pub fn check_broadworks_client_cert(der: &[u8]) -> Result<(), ClientCertRejection> {
    check_client_cert_with(der, &BroadWorksClientRules::default())
}

/// Checks a client certificate against the given rules.
pub fn check_client_cert_with(
    der: &[u8],
    rules: &BroadWorksClientRules,
) -> Result<(), ClientCertRejection> {
    let info = inspect(&CertificateDer::from(der))
        .map_err(|e| ClientCertRejection::Unparseable(e.to_string()))?;
    if rules.require_broadworks_oid {
        if !info.has_client_auth() {
            return Err(ClientCertRejection::MissingClientAuth);
        }
        if !info.has_broadworks_oid() {
            return Err(ClientCertRejection::MissingBroadWorksOid);
        }
    }
    if rules.forbid_san && info.has_san {
        let mut names: Vec<String> = info.dns_sans.clone();
        names.extend(info.ip_sans.iter().map(IpAddr::to_string));
        return Err(ClientCertRejection::HasSubjectAltName(names.join(", ")));
    }
    if !rules.allowed_common_names.is_empty() {
        let ok = info.subject_common_names.iter().any(|cn| {
            rules
                .allowed_common_names
                .iter()
                .any(|a| a.eq_ignore_ascii_case(cn))
        });
        if !ok {
            return Err(ClientCertRejection::CommonNameNotAllowed(
                info.subject_common_names.join(", "),
            ));
        }
    }
    Ok(())
}

/// A source of "now" for certificate validation.
///
/// rustls checks validity against the host clock; the lab clock may be elsewhere (a scenario
/// fast-forwarding to test expiry). A `LabClock` lets verifiers use the lab's time instead.
#[derive(Clone)]
pub struct LabClock(Arc<dyn Fn() -> OffsetDateTime + Send + Sync>);

impl LabClock {
    /// A clock that calls `f` each time a certificate is checked.
    pub fn new(f: impl Fn() -> OffsetDateTime + Send + Sync + 'static) -> Self {
        LabClock(Arc::new(f))
    }

    /// A clock frozen at `t`.
    pub fn fixed(t: OffsetDateTime) -> Self {
        LabClock::new(move || t)
    }

    /// The current lab time.
    pub fn now(&self) -> OffsetDateTime {
        (self.0)()
    }

    pub(crate) fn unix_now(&self) -> UnixTime {
        let secs = self.now().unix_timestamp().max(0);
        // `max(0)` above makes the cast lossless.
        UnixTime::since_unix_epoch(std::time::Duration::from_secs(secs as u64))
    }
}

impl fmt::Debug for LabClock {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "LabClock({})", self.now())
    }
}

/// A rustls client-certificate verifier implementing the BroadWorks policy.
///
/// It first runs rustls' own webpki verifier (chain to the trust list, validity, clientAuth
/// EKU), then applies [`BroadWorksClientRules`]. A rule violation is reported as
/// `rustls::Error::InvalidCertificate(CertificateError::Other(..))` wrapping a
/// [`ClientCertRejection`], so the reason survives into logs and tests.
pub struct BroadWorksClientVerifier {
    inner: Arc<dyn ClientCertVerifier>,
    rules: BroadWorksClientRules,
    clock: Option<LabClock>,
}

impl fmt::Debug for BroadWorksClientVerifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BroadWorksClientVerifier")
            .field("rules", &self.rules)
            .field("clock", &self.clock)
            .field("mandatory", &self.inner.client_auth_mandatory())
            .finish()
    }
}

impl BroadWorksClientVerifier {
    /// Builds the verifier over `roots` with the *ring* provider. `mandatory = false` makes
    /// client authentication optional (a client without a certificate is let through; one with
    /// a bad certificate is not).
    pub fn new(
        roots: &[CertificateDer<'static>],
        rules: BroadWorksClientRules,
        mandatory: bool,
    ) -> Result<Arc<Self>, TlsError> {
        Self::with_provider(
            roots,
            rules,
            mandatory,
            Arc::new(rustls::crypto::ring::default_provider()),
            None,
        )
    }

    /// Like [`new`](Self::new) with an explicit provider and an optional lab clock.
    pub fn with_provider(
        roots: &[CertificateDer<'static>],
        rules: BroadWorksClientRules,
        mandatory: bool,
        provider: Arc<rustls::crypto::CryptoProvider>,
        clock: Option<LabClock>,
    ) -> Result<Arc<Self>, TlsError> {
        let store = root_store(roots)?;
        let mut builder =
            rustls::server::WebPkiClientVerifier::builder_with_provider(Arc::new(store), provider);
        if !mandatory {
            builder = builder.allow_unauthenticated();
        }
        let inner = builder
            .build()
            .map_err(|e| TlsError::Verifier(e.to_string()))?;
        Ok(Arc::new(BroadWorksClientVerifier {
            inner,
            rules,
            clock,
        }))
    }

    /// The rules in force.
    pub fn rules(&self) -> &BroadWorksClientRules {
        &self.rules
    }
}

/// Builds a rustls root store, refusing an empty list so "trust nothing" is never silent.
pub(crate) fn root_store(
    roots: &[CertificateDer<'static>],
) -> Result<rustls::RootCertStore, TlsError> {
    if roots.is_empty() {
        return Err(TlsError::TrustAnchors("the trust list is empty".into()));
    }
    let mut store = rustls::RootCertStore::empty();
    for r in roots {
        store
            .add(r.clone())
            .map_err(|e| TlsError::TrustAnchors(e.to_string()))?;
    }
    Ok(store)
}

impl ClientCertVerifier for BroadWorksClientVerifier {
    fn offer_client_auth(&self) -> bool {
        self.inner.offer_client_auth()
    }

    fn client_auth_mandatory(&self) -> bool {
        self.inner.client_auth_mandatory()
    }

    fn root_hint_subjects(&self) -> &[DistinguishedName] {
        self.inner.root_hint_subjects()
    }

    fn verify_client_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        now: UnixTime,
    ) -> Result<ClientCertVerified, rustls::Error> {
        let now = self.clock.as_ref().map_or(now, LabClock::unix_now);
        let verified = self
            .inner
            .verify_client_cert(end_entity, intermediates, now)?;
        check_client_cert_with(end_entity.as_ref(), &self.rules).map_err(|reason| {
            rustls::Error::InvalidCertificate(CertificateError::Other(rustls::OtherError(
                Arc::new(reason),
            )))
        })?;
        Ok(verified)
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.inner.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.inner.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.inner.supported_verify_schemes()
    }
}

/// Server-certificate verifier that checks validity against a [`LabClock`].
pub(crate) struct ClockedServerVerifier {
    pub(crate) inner: Arc<rustls::client::WebPkiServerVerifier>,
    pub(crate) clock: LabClock,
}

impl fmt::Debug for ClockedServerVerifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClockedServerVerifier")
            .field("clock", &self.clock)
            .finish_non_exhaustive()
    }
}

impl ServerCertVerifier for ClockedServerVerifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        self.inner.verify_server_cert(
            end_entity,
            intermediates,
            server_name,
            ocsp_response,
            self.clock.unix_now(),
        )
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.inner.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.inner.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.inner.supported_verify_schemes()
    }
}
