//! Leaf certificates: the [`Identity`] type, the shapes of server, Webex-client, proxy-client and
//! device certificates, and MAC handling for device certificates.

use std::fmt;
use std::net::IpAddr;
use std::str::FromStr;
use std::sync::Arc;

use rcgen::{
    CertificateParams, DistinguishedName, DnType, ExtendedKeyUsagePurpose, KeyUsagePurpose, SanType,
};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::config::KeyAlgorithm;
use crate::error::{PkiError, TlsError};

/// CN of the client certificate Webex presents to BroadWorks, and of a bridging proxy's client
/// certificate towards the XSP.
pub const WEBEX_CLIENT_CN: &str = "bwcticlient.webex.com";

/// The BroadWorks extended-key-usage OID a client certificate must carry, dotted form.
pub const BROADWORKS_CLIENT_OID: &str = "1.3.6.1.4.1.6431.1.1.8.2.1.3";

/// The same OID as arcs, as rcgen wants it.
const BROADWORKS_CLIENT_OID_ARCS: [u64; 13] = [1, 3, 6, 1, 4, 1, 6431, 1, 1, 8, 2, 1, 3];

/// Default model string of device certificates.
pub const DEFAULT_DEVICE_MODEL: &str = "8841-3PCC";

pub(crate) fn broadworks_oid_arcs() -> Vec<u64> {
    BROADWORKS_CLIENT_OID_ARCS.to_vec()
}

/// A certificate chain with its private key: what a lab server or client presents.
///
/// The chain is in the order a TLS peer sends it (leaf first, then intermediates, never the
/// root); the trust anchor it was issued under is kept alongside so tests and exports can say
/// what to trust.
#[derive(Clone)]
pub struct Identity {
    label: String,
    chain: Vec<CertificateDer<'static>>,
    anchor: CertificateDer<'static>,
    key_algorithm: KeyAlgorithm,
    key_pkcs8: Vec<u8>,
}

impl fmt::Debug for Identity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Never print key material.
        f.debug_struct("Identity")
            .field("label", &self.label)
            .field("chain_len", &self.chain.len())
            .field("key_algorithm", &self.key_algorithm)
            .finish_non_exhaustive()
    }
}

impl Identity {
    pub(crate) fn new(
        label: impl Into<String>,
        chain: Vec<CertificateDer<'static>>,
        anchor: CertificateDer<'static>,
        key_algorithm: KeyAlgorithm,
        key_pkcs8: Vec<u8>,
    ) -> Self {
        Identity {
            label: label.into(),
            chain,
            anchor,
            key_algorithm,
            key_pkcs8,
        }
    }

    /// A human label ("node xsp1", "webex client", ...).
    pub fn label(&self) -> &str {
        &self.label
    }

    /// The end-entity certificate.
    pub fn leaf(&self) -> &CertificateDer<'static> {
        // Every constructor puts the leaf in the chain.
        &self.chain[0]
    }

    /// Leaf followed by intermediates, as sent on the wire.
    pub fn chain(&self) -> &[CertificateDer<'static>] {
        &self.chain
    }

    /// The intermediates only.
    pub fn intermediates(&self) -> &[CertificateDer<'static>] {
        &self.chain[1..]
    }

    /// The root this identity chains to (the certificate itself for self-signed ones).
    pub fn anchor(&self) -> &CertificateDer<'static> {
        &self.anchor
    }

    /// The key type.
    pub fn key_algorithm(&self) -> KeyAlgorithm {
        self.key_algorithm
    }

    /// The private key (PKCS#8).
    pub fn private_key(&self) -> PrivateKeyDer<'static> {
        PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(self.key_pkcs8.clone()))
    }

    /// The private key as PKCS#8 DER bytes.
    pub fn private_key_pkcs8(&self) -> &[u8] {
        &self.key_pkcs8
    }

    /// The leaf as PEM.
    pub fn cert_pem(&self) -> String {
        crate::pem::encode_certs([self.leaf()])
    }

    /// Leaf and intermediates as PEM, leaf first (what a server file like `chain.pem` holds).
    pub fn chain_pem(&self) -> String {
        crate::pem::encode_certs(self.chain.iter())
    }

    /// The private key as PKCS#8 PEM.
    pub fn key_pem(&self) -> String {
        crate::pem::encode("PRIVATE KEY", &self.key_pkcs8)
    }

    /// The anchor as PEM.
    pub fn anchor_pem(&self) -> String {
        crate::pem::encode_certs([&self.anchor])
    }

    /// Parsed facts about the leaf.
    pub fn info(&self) -> Result<crate::verify::CertInfo, PkiError> {
        crate::verify::inspect(self.leaf())
    }

    /// The chain and key as a rustls [`CertifiedKey`](rustls::sign::CertifiedKey), loaded with
    /// `provider`. RSA keys *ring* refuses (1024-bit) fall back to a PKCS#1-only signer.
    pub fn certified_key(
        &self,
        provider: &rustls::crypto::CryptoProvider,
    ) -> Result<Arc<rustls::sign::CertifiedKey>, TlsError> {
        let key = crate::keys::signing_key(provider, &self.key_pkcs8)?;
        Ok(Arc::new(rustls::sign::CertifiedKey::new(
            self.chain.clone(),
            key,
        )))
    }

    /// Replaces the chain (used by bad variants that drop the intermediate).
    pub(crate) fn with_chain(mut self, chain: Vec<CertificateDer<'static>>) -> Self {
        self.chain = chain;
        self
    }
}

/// A 48-bit MAC address, as carried in device certificates.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct MacAddress([u8; 6]);

impl MacAddress {
    /// Parses 12 hex digits, with or without `:`, `-` or `.` separators (`001BD4AABBCC`,
    /// `00:1b:d4:aa:bb:cc`, `001b.d4aa.bbcc`).
    pub fn parse(s: &str) -> Result<Self, PkiError> {
        let digits: Vec<u8> = s
            .bytes()
            .filter(|b| !matches!(b, b':' | b'-' | b'.'))
            .collect();
        if digits.len() != 12 || !digits.iter().all(u8::is_ascii_hexdigit) {
            return Err(PkiError::InvalidMac(s.to_string()));
        }
        let mut out = [0u8; 6];
        for (i, pair) in digits.chunks(2).enumerate() {
            out[i] = (hex_val(pair[0]) << 4) | hex_val(pair[1]);
        }
        Ok(MacAddress(out))
    }

    /// The raw octets.
    pub fn octets(&self) -> [u8; 6] {
        self.0
    }

    /// `00:1B:D4:AA:BB:CC` form.
    pub fn to_colon_string(&self) -> String {
        self.0
            .iter()
            .map(|b| format!("{b:02X}"))
            .collect::<Vec<_>>()
            .join(":")
    }
}

fn hex_val(b: u8) -> u8 {
    match b {
        b'0'..=b'9' => b - b'0',
        b'a'..=b'f' => b - b'a' + 10,
        b'A'..=b'F' => b - b'A' + 10,
        _ => 0,
    }
}

/// Twelve upper-case hex digits without separators, the form BroadWorks device profiles use.
impl fmt::Display for MacAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for b in self.0 {
            write!(f, "{b:02X}")?;
        }
        Ok(())
    }
}

impl FromStr for MacAddress {
    type Err = PkiError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        MacAddress::parse(s)
    }
}

impl Serialize for MacAddress {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for MacAddress {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        MacAddress::parse(&s).map_err(serde::de::Error::custom)
    }
}

/// The CN of a device certificate: `CP-<model>-SEP<MAC>`, e.g. `CP-8841-3PCC-SEP001BD4AABBCC`.
pub fn device_common_name(mac: MacAddress, model: &str) -> String {
    format!("CP-{model}-SEP{mac}")
}

/// Finds the MAC in a subject text the way DMS's certificate identity pattern
/// `.*([0-9a-fA-F]{12}).*` does: because the leading `.*` is greedy, the match is the *last* run
/// of 12 hex digits.
pub fn mac_from_subject(subject: &str) -> Option<MacAddress> {
    let b = subject.as_bytes();
    if b.len() < 12 {
        return None;
    }
    (0..=b.len() - 12)
        .rev()
        .find(|&i| b[i..i + 12].iter().all(u8::is_ascii_hexdigit))
        // The slice is 12 ASCII hex digits, so it is valid UTF-8 and a valid MAC.
        .and_then(|i| MacAddress::parse(std::str::from_utf8(&b[i..i + 12]).ok()?).ok())
}

/// Extracts the MAC from a device certificate (DER).
///
/// The CN is searched first for `SEP` followed by 12 hex digits (the lab's device shape); failing
/// that, the whole subject is searched with the DMS pattern semantics of [`mac_from_subject`].
pub fn mac_from_cert(der: &[u8]) -> Result<MacAddress, PkiError> {
    let info = crate::verify::inspect(&CertificateDer::from(der))?;
    for cn in &info.subject_common_names {
        let upper = cn.to_ascii_uppercase();
        if let Some(pos) = upper.rfind("SEP")
            && let Some(candidate) = upper.get(pos + 3..pos + 15)
            && let Ok(mac) = MacAddress::parse(candidate)
        {
            return Ok(mac);
        }
    }
    mac_from_subject(&info.subject).ok_or(PkiError::NoMacInSubject(info.subject))
}

/// Refuses names that are not usable as a DNS name in a certificate.
pub(crate) fn check_dns_name(name: &str) -> Result<(), PkiError> {
    rustls::pki_types::DnsName::try_from(name)
        .map(|_| ())
        .map_err(|e| PkiError::InvalidDnsName {
            name: name.to_string(),
            reason: e.to_string(),
        })
}

/// A SAN may be a DNS name, a `*.` wildcard DNS name or an IP address.
pub(crate) fn check_san(name: &str) -> Result<(), PkiError> {
    if IpAddr::from_str(name).is_ok() {
        return Ok(());
    }
    check_dns_name(name.strip_prefix("*.").unwrap_or(name))
}

pub(crate) fn san_entry(name: &str) -> Result<SanType, PkiError> {
    if let Ok(ip) = IpAddr::from_str(name) {
        return Ok(SanType::IpAddress(ip));
    }
    check_san(name)?;
    Ok(SanType::DnsName(name.try_into()?))
}

/// The validity window of a leaf.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Window {
    pub(crate) not_before: OffsetDateTime,
    pub(crate) not_after: OffsetDateTime,
}

fn leaf_base(cn: &str, window: Window, key: KeyAlgorithm) -> CertificateParams {
    let mut dn = DistinguishedName::new();
    dn.push(DnType::CommonName, cn);
    let mut p = CertificateParams::default();
    p.distinguished_name = dn;
    p.not_before = window.not_before;
    p.not_after = window.not_after;
    p.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    if key.is_rsa() {
        // RSA key exchange needs it; harmless otherwise and what RSA server certs carry.
        p.key_usages.push(KeyUsagePurpose::KeyEncipherment);
    }
    p.use_authority_key_identifier_extension = true;
    p
}

/// A server certificate: CN = `cn`, SAN = `sans` (the CN is added to the SAN if missing, since
/// TLS clients only look at the SAN), EKU serverAuth.
pub(crate) fn server_params(
    cn: &str,
    sans: &[String],
    window: Window,
    key: KeyAlgorithm,
) -> Result<CertificateParams, PkiError> {
    check_san(cn)?;
    let mut p = leaf_base(cn, window, key);
    let mut names: Vec<&str> = Vec::with_capacity(sans.len() + 1);
    for s in sans.iter().map(String::as_str).chain(std::iter::once(cn)) {
        if !names.iter().any(|n| n.eq_ignore_ascii_case(s)) {
            names.push(s);
        }
    }
    p.subject_alt_names = names.into_iter().map(san_entry).collect::<Result<_, _>>()?;
    p.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    Ok(p)
}

/// The BroadWorks client-certificate shape: CN `bwcticlient.webex.com`, EKU clientAuth plus the
/// BroadWorks OID, no SAN.
pub(crate) fn broadworks_client_params(window: Window, key: KeyAlgorithm) -> CertificateParams {
    let mut p = leaf_base(WEBEX_CLIENT_CN, window, key);
    p.extended_key_usages = vec![
        ExtendedKeyUsagePurpose::ClientAuth,
        ExtendedKeyUsagePurpose::Other(broadworks_oid_arcs()),
    ];
    p
}

/// An MPP-style manufacturing certificate: CN `CP-<model>-SEP<MAC>`, O `bwlab devices`,
/// serialNumber = the MAC, EKU clientAuth, no SAN.
pub(crate) fn device_params(
    mac: MacAddress,
    model: &str,
    window: Window,
    key: KeyAlgorithm,
) -> CertificateParams {
    let mut p = leaf_base(&device_common_name(mac, model), window, key);
    p.distinguished_name
        .push(DnType::OrganizationName, "bwlab devices");
    p.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
    p
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mac_parsing_accepts_common_forms() {
        let want = MacAddress([0x00, 0x1b, 0xd4, 0xaa, 0xbb, 0xcc]);
        for s in [
            "001BD4AABBCC",
            "001bd4aabbcc",
            "00:1b:d4:aa:bb:cc",
            "00-1B-D4-AA-BB-CC",
            "001b.d4aa.bbcc",
        ] {
            assert_eq!(MacAddress::parse(s).expect(s), want, "{s}");
        }
        assert_eq!(want.to_string(), "001BD4AABBCC");
        assert_eq!(want.to_colon_string(), "00:1B:D4:AA:BB:CC");
    }

    #[test]
    fn mac_parsing_rejects_garbage() {
        for s in [
            "",
            "001BD4AABB",
            "001BD4AABBCCDD",
            "001BD4AABBCG",
            "0:0:1:B:D:4",
        ] {
            assert!(MacAddress::parse(s).is_err(), "{s}");
        }
    }

    #[test]
    fn subject_pattern_takes_the_last_run() {
        let m = mac_from_subject("CN=CP-8841-3PCC-SEP001BD4AABBCC, O=bwlab devices").expect("mac");
        assert_eq!(m.to_string(), "001BD4AABBCC");
        let m = mac_from_subject("CN=AAAAAAAAAAAA x 0123456789ab").expect("mac");
        assert_eq!(m.to_string(), "0123456789AB");
        assert!(mac_from_subject("CN=nothing here").is_none());
    }

    #[test]
    fn oid_arcs_match_dotted_form() {
        let dotted = broadworks_oid_arcs()
            .iter()
            .map(u64::to_string)
            .collect::<Vec<_>>()
            .join(".");
        assert_eq!(dotted, BROADWORKS_CLIENT_OID);
    }
}
