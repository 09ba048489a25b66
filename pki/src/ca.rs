//! The certificate authorities of the lab.
//!
//! Every authority is a chain that starts with a self-signed root and ends with the CA that
//! actually issues leaves. Real-world deployments almost always issue from an intermediate, and
//! the "missing intermediate" failure only exists if there is one, so most lab CAs have two
//! levels. The partner-internal CA has one level, like a typical small enterprise CA.

use rcgen::{
    BasicConstraints, CertificateParams, DistinguishedName, DnType, IsCa, KeyPair, KeyUsagePurpose,
};
use rustls::pki_types::CertificateDer;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::error::PkiError;
use crate::keys::GeneratedKey;

/// Identifies one of the lab's certificate authorities.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum CaId {
    /// The lab "public" CA that signs node and cloud-fake server certificates.
    LabPublic,
    /// The Webex client chain: `Internal Private Root` → `Internal Private TLS SubCA`.
    WebexClient,
    /// The partner-internal CA used behind TLS-bridging proxies.
    PartnerInternal,
    /// Stand-in for `IdenTrust Commercial Root CA 1` (Webex outbound trust).
    #[serde(rename = "identrust")]
    IdenTrust,
    /// Stand-in for `Go Daddy Root Certificate Authority - G2` (Webex outbound trust).
    #[serde(rename = "godaddy-g2")]
    GoDaddyG2,
    /// Stand-in for the Cisco device manufacturing CAs (signs MPP device certificates).
    DeviceManufacturing,
}

impl CaId {
    /// Every authority, in export order.
    pub const ALL: [CaId; 6] = [
        CaId::LabPublic,
        CaId::WebexClient,
        CaId::PartnerInternal,
        CaId::IdenTrust,
        CaId::GoDaddyG2,
        CaId::DeviceManufacturing,
    ];

    /// Short kebab-case name, used for folder names.
    pub fn as_str(self) -> &'static str {
        match self {
            CaId::LabPublic => "lab-public",
            CaId::WebexClient => "webex-client",
            CaId::PartnerInternal => "partner-internal",
            CaId::IdenTrust => "identrust",
            CaId::GoDaddyG2 => "godaddy-g2",
            CaId::DeviceManufacturing => "device-manufacturing",
        }
    }

    /// Common names of the chain, root first. The Webex and outbound root names are the ones
    /// BroadWorks operators see in real trust stores; the rest are lab names.
    pub(crate) fn subject_names(self) -> &'static [&'static str] {
        match self {
            CaId::LabPublic => &["bwlab Public Root CA", "bwlab Public Issuing CA 1"],
            CaId::WebexClient => &["Internal Private Root", "Internal Private TLS SubCA"],
            CaId::PartnerInternal => &["bwlab Partner Internal CA"],
            CaId::IdenTrust => &[
                "IdenTrust Commercial Root CA 1",
                "bwlab Outbound Server CA (IdenTrust chain)",
            ],
            CaId::GoDaddyG2 => &[
                "Go Daddy Root Certificate Authority - G2",
                "bwlab Outbound Server CA (Go Daddy chain)",
            ],
            CaId::DeviceManufacturing => &["bwlab Device Root CA", "bwlab Device Manufacturing CA"],
        }
    }
}

impl std::fmt::Display for CaId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for CaId {
    type Err = PkiError;

    /// The kebab-case names of [`CaId::as_str`], plus `webex-ca` (the scenario files' name
    /// for the Webex client chain).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        if s.eq_ignore_ascii_case("webex-ca") {
            return Ok(CaId::WebexClient);
        }
        CaId::ALL
            .into_iter()
            .find(|id| id.as_str().eq_ignore_ascii_case(s))
            .ok_or_else(|| PkiError::InvalidConfig(format!("unknown certificate authority {s:?}")))
    }
}

/// A self-signed CA certificate whose key is thrown away: a trust list holding only this
/// certificate trusts nothing. Generated once per process.
///
/// rustls refuses an empty trust list, so a lab server whose configured anchors were all
/// removed (the "missing trust anchor" drift) still asks for client certificates, and then
/// refuses every one of them with `UnknownIssuer`, as a server with an empty trust store
/// does.
pub fn trust_nothing_anchor() -> Result<CertificateDer<'static>, PkiError> {
    static ANCHOR: std::sync::OnceLock<CertificateDer<'static>> = std::sync::OnceLock::new();
    if let Some(a) = ANCHOR.get() {
        return Ok(a.clone());
    }
    let now = OffsetDateTime::now_utc();
    let mut params = ca_params(
        "bwlab Empty Trust Store (trusts nothing)",
        None,
        now - time::Duration::days(3650),
        now + time::Duration::days(3650),
    );
    params.use_authority_key_identifier_extension = false;
    let key = KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256)?;
    let cert = params.self_signed(&key)?.der().clone();
    Ok(ANCHOR.get_or_init(|| cert).clone())
}

/// A generated authority: its certificates and the key of the issuing level.
pub(crate) struct Authority {
    pub(crate) id: CaId,
    /// Root first, issuing CA last.
    pub(crate) chain: Vec<CertificateDer<'static>>,
    issuer: rcgen::Issuer<'static, KeyPair>,
}

impl std::fmt::Debug for Authority {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Authority")
            .field("id", &self.id)
            .field("levels", &self.chain.len())
            .finish_non_exhaustive()
    }
}

fn ca_params(
    cn: &str,
    path_len: Option<u8>,
    not_before: OffsetDateTime,
    not_after: OffsetDateTime,
) -> CertificateParams {
    let mut dn = DistinguishedName::new();
    dn.push(DnType::OrganizationName, "bwlab");
    dn.push(DnType::CommonName, cn);
    let mut p = CertificateParams::default();
    p.distinguished_name = dn;
    p.not_before = not_before;
    p.not_after = not_after;
    p.is_ca = IsCa::Ca(match path_len {
        Some(n) => BasicConstraints::Constrained(n),
        None => BasicConstraints::Unconstrained,
    });
    p.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::CrlSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    p.use_authority_key_identifier_extension = true;
    p
}

impl Authority {
    /// Generates the whole chain of `id`, valid over `[not_before, not_after]`.
    pub(crate) fn generate(
        id: CaId,
        not_before: OffsetDateTime,
        not_after: OffsetDateTime,
    ) -> Result<Self, PkiError> {
        let names = id.subject_names();
        let mut chain = Vec::with_capacity(names.len());
        let mut issuer: Option<rcgen::Issuer<'static, KeyPair>> = None;
        for (level, cn) in names.iter().enumerate() {
            // Path length: the issuing level may only issue leaves.
            let below = names.len() - level - 1;
            let path_len = if level == 0 { None } else { Some(below as u8) };
            let mut params = ca_params(cn, path_len, not_before, not_after);
            let key = KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256)?;
            let cert = match &issuer {
                None => {
                    // A self-signed root carries no authority key identifier.
                    params.use_authority_key_identifier_extension = false;
                    params.self_signed(&key)?
                }
                Some(parent) => params.signed_by(&key, parent)?,
            };
            chain.push(cert.der().clone());
            issuer = Some(rcgen::Issuer::new(params, key));
        }
        let issuer = issuer
            .ok_or_else(|| PkiError::Generate(format!("authority {id} has no subject names")))?;
        Ok(Authority { id, chain, issuer })
    }

    /// The self-signed root.
    pub(crate) fn root(&self) -> &CertificateDer<'static> {
        // `generate` always pushes at least one certificate before succeeding.
        &self.chain[0]
    }

    /// Intermediates below the root, in issuing order (top first).
    pub(crate) fn intermediates(&self) -> &[CertificateDer<'static>] {
        &self.chain[1..]
    }

    /// Intermediates as a peer sends them: the issuing CA first, up towards the root.
    pub(crate) fn intermediates_leaf_order(&self) -> Vec<CertificateDer<'static>> {
        self.intermediates().iter().rev().cloned().collect()
    }

    /// Signs leaf parameters for `key`.
    pub(crate) fn sign(
        &self,
        params: &CertificateParams,
        key: &GeneratedKey,
    ) -> Result<CertificateDer<'static>, PkiError> {
        let public = key.public_key()?;
        Ok(params.signed_by(&public, &self.issuer)?.der().clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serde_names_match_folder_names() {
        for id in CaId::ALL {
            let json = serde_json::to_string(&id).expect("serialize");
            assert_eq!(json, format!("\"{}\"", id.as_str()));
        }
    }
}
