//! [`LabPki`]: every CA and certificate of one lab, generated together.

use std::collections::BTreeMap;

use rustls::pki_types::CertificateDer;
use time::{Duration, OffsetDateTime};

use crate::bad::{BadCert, BadIdentity};
use crate::ca::{Authority, CaId};
use crate::certs::{self, Identity, MacAddress, Window};
use crate::config::{DeviceSpec, HostSpec, KeyAlgorithm, NodeSpec, PkiConfig, ServerIssuer};
use crate::error::PkiError;
use crate::keys::GeneratedKey;

/// How far back CA certificates start, so that even the `expired` variant (which ended a day
/// ago and started two months ago) sits inside its issuer's validity.
const CA_BACKDATE: Duration = Duration::days(365);

/// Host name the `wrong-host` variant is issued for.
pub const WRONG_HOST: &str = "wrong-host.invalid";

/// A request for a server certificate on demand (cloud fakes, extra hosts).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerCertRequest {
    /// CN, also added to the SAN.
    pub common_name: String,
    /// Further SANs (DNS names, `*.` wildcards or IP addresses).
    pub sans: Vec<String>,
    /// The issuing CA.
    pub issuer: ServerIssuer,
    /// Key type.
    pub key: KeyAlgorithm,
}

impl ServerCertRequest {
    /// A request for `host`, signed by the lab public CA with an ECDSA P-256 key.
    pub fn new(host: impl Into<String>) -> Self {
        ServerCertRequest {
            common_name: host.into(),
            sans: Vec::new(),
            issuer: ServerIssuer::LabPublic,
            key: KeyAlgorithm::EcdsaP256,
        }
    }

    /// Adds a SAN.
    pub fn with_san(mut self, san: impl Into<String>) -> Self {
        self.sans.push(san.into());
        self
    }

    /// Chooses the issuer.
    pub fn issued_by(mut self, issuer: ServerIssuer) -> Self {
        self.issuer = issuer;
        self
    }

    /// Chooses the key type.
    pub fn with_key(mut self, key: KeyAlgorithm) -> Self {
        self.key = key;
        self
    }
}

/// Which CA issues a BroadWorks-style client certificate (CN `bwcticlient.webex.com`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ClientIssuer {
    /// The Webex client chain (`Internal Private TLS SubCA`): what Webex presents.
    Webex,
    /// The partner-internal CA: what a TLS-bridging proxy presents to the XSP.
    PartnerInternal,
}

/// The whole lab PKI: CAs, node/host/device certificates and the Webex and proxy client
/// certificates. Bad variants are issued on demand with [`LabPki::bad_cert`].
#[derive(Debug)]
pub struct LabPki {
    config: PkiConfig,
    cas: BTreeMap<CaId, Authority>,
    nodes: Vec<(NodeSpec, Identity)>,
    hosts: Vec<(HostSpec, Identity)>,
    devices: Vec<(MacAddress, Identity)>,
    webex_client: Identity,
    proxy_client: Identity,
}

pub(crate) fn issuer_ca(issuer: ServerIssuer) -> CaId {
    match issuer {
        ServerIssuer::LabPublic => CaId::LabPublic,
        ServerIssuer::PartnerInternal => CaId::PartnerInternal,
        ServerIssuer::IdenTrust => CaId::IdenTrust,
        ServerIssuer::GoDaddyG2 => CaId::GoDaddyG2,
    }
}

fn leaf_window(config: &PkiConfig) -> Window {
    Window {
        not_before: config.now - config.validity.backdate,
        not_after: config.now + config.validity.leaf_lifetime,
    }
}

fn sign_leaf(
    authority: &Authority,
    label: String,
    params: &rcgen::CertificateParams,
    key: GeneratedKey,
) -> Result<Identity, PkiError> {
    let leaf = authority.sign(params, &key)?;
    let mut chain = vec![leaf];
    chain.extend(authority.intermediates_leaf_order());
    Ok(Identity::new(
        label,
        chain,
        authority.root().clone(),
        key.algorithm,
        key.pkcs8,
    ))
}

fn broadworks_client(
    cas: &BTreeMap<CaId, Authority>,
    issuer: ClientIssuer,
    window: Window,
) -> Result<Identity, PkiError> {
    let (label, ca) = match issuer {
        ClientIssuer::Webex => ("webex client", CaId::WebexClient),
        ClientIssuer::PartnerInternal => ("proxy client", CaId::PartnerInternal),
    };
    let authority = cas
        .get(&ca)
        .ok_or_else(|| PkiError::Generate(format!("authority {ca} missing")))?;
    let params = certs::broadworks_client_params(window, KeyAlgorithm::EcdsaP256);
    let key = GeneratedKey::generate(KeyAlgorithm::EcdsaP256)?;
    sign_leaf(authority, label.to_string(), &params, key)
}

impl LabPki {
    /// Generates every CA and the certificates the configuration asks for.
    ///
    /// With the default ECDSA keys this takes a few milliseconds; RSA node keys add the time of
    /// RSA key generation.
    pub fn generate(config: PkiConfig) -> Result<Self, PkiError> {
        config.validate()?;
        let now = config.now;
        let ca_from = now - CA_BACKDATE;
        let ca_to = now + config.validity.ca_lifetime;
        let mut cas = BTreeMap::new();
        for id in CaId::ALL {
            cas.insert(id, Authority::generate(id, ca_from, ca_to)?);
        }
        let window = leaf_window(&config);
        let webex_client = broadworks_client(&cas, ClientIssuer::Webex, window)?;
        let proxy_client = broadworks_client(&cas, ClientIssuer::PartnerInternal, window)?;
        let mut pki = LabPki {
            config: config.clone(),
            cas,
            nodes: Vec::new(),
            hosts: Vec::new(),
            devices: Vec::new(),
            webex_client,
            proxy_client,
        };
        for node in &config.nodes {
            let id = pki.issue_node(node)?;
            pki.nodes.push((node.clone(), id));
        }
        for host in &config.hosts {
            let mut req = ServerCertRequest::new(host.fqdn.clone()).issued_by(host.issuer);
            req.sans = host.extra_sans.clone();
            let id = pki.issue_server_cert(&req)?;
            pki.hosts.push((host.clone(), id));
        }
        for dev in &config.devices {
            let id = pki.issue_device(dev)?;
            let mac = MacAddress::parse(&dev.mac)?;
            pki.devices.push((mac, id));
        }
        Ok(pki)
    }

    /// The configuration this PKI was generated from.
    pub fn config(&self) -> &PkiConfig {
        &self.config
    }

    /// The lab time the PKI was generated for.
    pub fn now(&self) -> OffsetDateTime {
        self.config.now
    }

    fn ca(&self, id: CaId) -> &Authority {
        // `generate` inserts every `CaId::ALL` entry before a `LabPki` exists.
        &self.cas[&id]
    }

    /// The root certificate of a CA.
    pub fn ca_root(&self, id: CaId) -> &CertificateDer<'static> {
        self.ca(id).root()
    }

    /// The certificates of a CA, root first, issuing CA last.
    pub fn ca_chain(&self, id: CaId) -> &[CertificateDer<'static>] {
        &self.ca(id).chain
    }

    /// What a system under test should trust to reach lab servers: the lab public root and the
    /// two Webex-outbound stand-in roots (the content of `ca-bundle.pem`).
    pub fn lab_trust_bundle(&self) -> Vec<CertificateDer<'static>> {
        [CaId::LabPublic, CaId::IdenTrust, CaId::GoDaddyG2]
            .into_iter()
            .map(|id| self.ca_root(id).clone())
            .collect()
    }

    /// The Webex client chain as BroadWorks loads it: both the root and the SubCA as trust
    /// anchors (root first, like `CombinedCertChain2023.txt`).
    pub fn webex_trust_anchors(&self) -> Vec<CertificateDer<'static>> {
        self.ca_chain(CaId::WebexClient).to_vec()
    }

    /// `anchors` without any certificate of the authority `ca` (its root and every
    /// intermediate): the "missing trust anchor" drift, e.g.
    /// `pki.trust_anchors_without(&pki.webex_trust_anchors(), CaId::WebexClient)` (empty) or
    /// `pki.trust_anchors_without(&pki.lab_trust_bundle(), CaId::IdenTrust)`. Order is kept.
    pub fn trust_anchors_without(
        &self,
        anchors: &[CertificateDer<'static>],
        ca: CaId,
    ) -> Vec<CertificateDer<'static>> {
        let chain = self.ca_chain(ca);
        anchors
            .iter()
            .filter(|a| !chain.contains(a))
            .cloned()
            .collect()
    }

    /// The Webex client certificate (`bwcticlient.webex.com`, clientAuth + BroadWorks OID, no
    /// SAN), chained leaf → `Internal Private TLS SubCA`.
    pub fn webex_client(&self) -> &Identity {
        &self.webex_client
    }

    /// The bridging proxy's client certificate towards the XSP, from the partner-internal CA.
    pub fn proxy_client(&self) -> &Identity {
        &self.proxy_client
    }

    /// A node certificate by node name.
    pub fn node(&self, name: &str) -> Option<&Identity> {
        self.nodes
            .iter()
            .find(|(n, _)| n.name == name)
            .map(|(_, i)| i)
    }

    /// Every node with its certificate.
    pub fn nodes(&self) -> impl Iterator<Item = (&NodeSpec, &Identity)> {
        self.nodes.iter().map(|(n, i)| (n, i))
    }

    /// An extra host's certificate by FQDN (case-insensitive).
    pub fn host(&self, fqdn: &str) -> Option<&Identity> {
        self.hosts
            .iter()
            .find(|(h, _)| h.fqdn.eq_ignore_ascii_case(fqdn))
            .map(|(_, i)| i)
    }

    /// Every extra host with its certificate.
    pub fn hosts(&self) -> impl Iterator<Item = (&HostSpec, &Identity)> {
        self.hosts.iter().map(|(h, i)| (h, i))
    }

    /// A device certificate by MAC.
    pub fn device(&self, mac: MacAddress) -> Option<&Identity> {
        self.devices.iter().find(|(m, _)| *m == mac).map(|(_, i)| i)
    }

    /// Every device with its certificate.
    pub fn devices(&self) -> impl Iterator<Item = (MacAddress, &Identity)> {
        self.devices.iter().map(|(m, i)| (*m, i))
    }

    fn leaf_window(&self) -> Window {
        leaf_window(&self.config)
    }

    fn sign_leaf(
        &self,
        label: String,
        ca: CaId,
        params: &rcgen::CertificateParams,
        key: GeneratedKey,
    ) -> Result<Identity, PkiError> {
        sign_leaf(self.ca(ca), label, params, key)
    }

    fn issue_node(&self, node: &NodeSpec) -> Result<Identity, PkiError> {
        let mut sans = self.config.cluster_domains.clone();
        sans.push(node.fqdn.clone());
        sans.extend(node.extra_sans.iter().cloned());
        let params = certs::server_params(&node.fqdn, &sans, self.leaf_window(), node.key)?;
        let key = GeneratedKey::generate(node.key)?;
        self.sign_leaf(
            format!("node {}", node.name),
            issuer_ca(node.issuer),
            &params,
            key,
        )
    }

    fn issue_device(&self, dev: &DeviceSpec) -> Result<Identity, PkiError> {
        self.issue_device_cert(&dev.mac, dev.model.as_deref())
    }

    /// Issues a server certificate on demand, e.g. for a cloud fake:
    /// `ServerCertRequest::new("idbroker.webex.com").issued_by(ServerIssuer::IdenTrust)`.
    pub fn issue_server_cert(&self, req: &ServerCertRequest) -> Result<Identity, PkiError> {
        let params =
            certs::server_params(&req.common_name, &req.sans, self.leaf_window(), req.key)?;
        let key = GeneratedKey::generate(req.key)?;
        self.sign_leaf(
            format!("host {}", req.common_name),
            issuer_ca(req.issuer),
            &params,
            key,
        )
    }

    /// Shorthand: a lab-public server certificate for `host` (CN and SAN = `host`).
    pub fn server_cert_for_host(&self, host: &str) -> Result<Identity, PkiError> {
        self.issue_server_cert(&ServerCertRequest::new(host))
    }

    /// Issues a client certificate of the BroadWorks shape (CN `bwcticlient.webex.com`, EKU
    /// clientAuth + BroadWorks OID, no SAN).
    pub fn issue_broadworks_client_cert(&self, issuer: ClientIssuer) -> Result<Identity, PkiError> {
        broadworks_client(&self.cas, issuer, self.leaf_window())
    }

    /// Issues an MPP-style device certificate for `mac` (any common MAC notation). The CN is
    /// `CP-<model>-SEP<MAC>`; `model` defaults to [`certs::DEFAULT_DEVICE_MODEL`].
    pub fn issue_device_cert(&self, mac: &str, model: Option<&str>) -> Result<Identity, PkiError> {
        let mac = MacAddress::parse(mac)?;
        let model = model.unwrap_or(certs::DEFAULT_DEVICE_MODEL);
        if !crate::config::is_safe_file_name(model) {
            return Err(PkiError::InvalidConfig(format!(
                "device model {model:?} must use only letters, digits, '.', '_' or '-'"
            )));
        }
        let params = certs::device_params(mac, model, self.leaf_window(), KeyAlgorithm::EcdsaP256);
        let key = GeneratedKey::generate(KeyAlgorithm::EcdsaP256)?;
        self.sign_leaf(
            format!("device {mac}"),
            CaId::DeviceManufacturing,
            &params,
            key,
        )
    }

    /// The host bad server variants impersonate by default: the first node, else the first
    /// cluster domain, else `lab.invalid`.
    pub fn default_bad_host(&self) -> String {
        self.config
            .nodes
            .first()
            .map(|n| n.fqdn.clone())
            .or_else(|| self.config.cluster_domains.first().cloned())
            .unwrap_or_else(|| "lab.invalid".to_string())
    }

    /// Issues a bad variant for the default host (see [`LabPki::default_bad_host`]).
    pub fn bad_cert(&self, kind: BadCert) -> Result<BadIdentity, PkiError> {
        self.bad_cert_for_host(kind, &self.default_bad_host())
    }

    /// Issues a bad variant. Server variants impersonate `host` (signed by the lab public CA);
    /// client variants are proxy-style client certificates from the partner-internal CA and
    /// ignore `host`.
    pub fn bad_cert_for_host(&self, kind: BadCert, host: &str) -> Result<BadIdentity, PkiError> {
        self.bad_cert_for_names(kind, host, &[])
    }

    /// [`bad_cert_for_host`](Self::bad_cert_for_host) for a server known by more names
    /// (a farm name, an alias): the server variants carry `extra` as further SANs, so
    /// only the named defect is wrong (`WrongHost` still names no one of them).
    pub fn bad_cert_for_names(
        &self,
        kind: BadCert,
        host: &str,
        extra: &[String],
    ) -> Result<BadIdentity, PkiError> {
        certs::check_dns_name(host)?;
        for name in extra {
            certs::check_dns_name(name)?;
        }
        let now = self.config.now;
        let good = self.leaf_window();
        let lab_trust = vec![self.ca_root(CaId::LabPublic).clone()];
        let label = format!("bad {kind}");
        let server =
            |window: Window, name: &str, key: KeyAlgorithm| -> Result<Identity, PkiError> {
                let sans = if name == host { extra } else { &[] };
                let params = certs::server_params(name, sans, window, key)?;
                self.sign_leaf(
                    label.clone(),
                    CaId::LabPublic,
                    &params,
                    GeneratedKey::generate(key)?,
                )
            };
        let server_bad = |identity: Identity| BadIdentity {
            kind,
            identity,
            trust: lab_trust.clone(),
            expected_host: Some(host.to_string()),
        };
        let ecdsa = KeyAlgorithm::EcdsaP256;
        Ok(match kind {
            BadCert::Expired => server_bad(server(
                Window {
                    not_before: now - Duration::days(60),
                    not_after: now - Duration::days(1),
                },
                host,
                ecdsa,
            )?),
            BadCert::NotYetValid => server_bad(server(
                Window {
                    not_before: now + Duration::days(1),
                    not_after: now + Duration::days(1) + self.config.validity.leaf_lifetime,
                },
                host,
                ecdsa,
            )?),
            BadCert::WrongHost => server_bad(server(good, WRONG_HOST, ecdsa)?),
            BadCert::Rsa1024 => server_bad(server(good, host, KeyAlgorithm::Rsa1024)?),
            BadCert::MissingIntermediate => {
                let full = server(good, host, ecdsa)?;
                let leaf_only = vec![full.leaf().clone()];
                server_bad(full.with_chain(leaf_only))
            }
            BadCert::SelfSigned => {
                // Shaped like the certificate BroadWorks generates for itself: one year,
                // host name in CN and SAN, signed by its own key.
                let mut params = certs::server_params(
                    host,
                    extra,
                    Window {
                        not_before: now - self.config.validity.backdate,
                        not_after: now + Duration::days(365),
                    },
                    ecdsa,
                )?;
                params.use_authority_key_identifier_extension = false;
                let key = GeneratedKey::generate(ecdsa)?;
                let kp = key.rcgen.as_ref().ok_or_else(|| {
                    PkiError::Generate("ECDSA key without a signing key pair".into())
                })?;
                let cert = params.self_signed(kp)?.der().clone();
                server_bad(Identity::new(
                    label.clone(),
                    vec![cert.clone()],
                    cert,
                    key.algorithm,
                    key.pkcs8,
                ))
            }
            BadCert::ClientNoEkuOid | BadCert::ClientWithSan => {
                let mut params = certs::broadworks_client_params(good, ecdsa);
                if kind == BadCert::ClientNoEkuOid {
                    params.extended_key_usages = vec![rcgen::ExtendedKeyUsagePurpose::ClientAuth];
                } else {
                    params.subject_alt_names = vec![certs::san_entry(certs::WEBEX_CLIENT_CN)?];
                }
                let identity = self.sign_leaf(
                    label.clone(),
                    CaId::PartnerInternal,
                    &params,
                    GeneratedKey::generate(ecdsa)?,
                )?;
                BadIdentity {
                    kind,
                    identity,
                    trust: vec![self.ca_root(CaId::PartnerInternal).clone()],
                    expected_host: None,
                }
            }
        })
    }
}
