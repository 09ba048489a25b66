//! What the lab PKI is generated from.
//!
//! The configuration is plain data (serde-friendly) so the harness can build it from a topology
//! file. All validity windows are relative to [`PkiConfig::now`], which is the *lab* clock, not
//! the host clock: a scenario that jumps the lab clock forward can regenerate a PKI that is
//! consistent with it.

use serde::{Deserialize, Serialize};
use time::{Duration, OffsetDateTime};

use crate::error::PkiError;

/// Key type of a leaf certificate.
///
/// CA keys are always ECDSA P-256: they only sign certificates, and P-256 keeps generation fast.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
#[non_exhaustive]
pub enum KeyAlgorithm {
    /// ECDSA on P-256 with SHA-256. Fast; the default everywhere.
    #[default]
    EcdsaP256,
    /// ECDSA on P-384 with SHA-384.
    EcdsaP384,
    /// RSA 2048 (generated with the `rsa` crate). Needed to serve `TLS_ECDHE_RSA_*` suites; slower
    /// to generate (tens to hundreds of milliseconds).
    #[serde(rename = "rsa-2048")]
    Rsa2048,
    /// RSA 1024. Deliberately weak: only for the `rsa-1024` bad variant. *ring* refuses such keys,
    /// so handshakes sign with the `rsa` crate (PKCS#1 v1.5 only, hence TLS 1.2 only).
    #[serde(rename = "rsa-1024")]
    Rsa1024,
}

impl KeyAlgorithm {
    /// Whether this is an RSA key.
    pub fn is_rsa(self) -> bool {
        matches!(self, KeyAlgorithm::Rsa2048 | KeyAlgorithm::Rsa1024)
    }
}

/// Which CA issues a server certificate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ServerIssuer {
    /// The lab "public" CA (stands in for a CA Webex trusts). The default for nodes.
    #[default]
    LabPublic,
    /// The partner-internal CA: for XSPs behind a TLS-bridging proxy.
    PartnerInternal,
    /// The stand-in for `IdenTrust Commercial Root CA 1` (Webex outbound, e.g. IdBroker).
    #[serde(rename = "identrust")]
    IdenTrust,
    /// The stand-in for `Go Daddy Root Certificate Authority - G2` (Webex outbound).
    #[serde(rename = "godaddy-g2")]
    GoDaddyG2,
}

/// One server node of the lab (an XSP, ADP, proxy, LB ...).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NodeSpec {
    /// Short name, used as the folder name in the export (`[A-Za-z0-9._-]`).
    pub name: String,
    /// The node's own FQDN: goes into the CN and the SAN.
    pub fqdn: String,
    /// Further SAN DNS names (IP addresses are accepted too).
    #[serde(default)]
    pub extra_sans: Vec<String>,
    /// Which CA signs this node's certificate.
    #[serde(default)]
    pub issuer: ServerIssuer,
    /// Key type of the node certificate.
    #[serde(default)]
    pub key: KeyAlgorithm,
}

impl NodeSpec {
    /// A node signed by the lab public CA with an ECDSA key and no extra SANs.
    pub fn new(name: impl Into<String>, fqdn: impl Into<String>) -> Self {
        NodeSpec {
            name: name.into(),
            fqdn: fqdn.into(),
            extra_sans: Vec::new(),
            issuer: ServerIssuer::LabPublic,
            key: KeyAlgorithm::EcdsaP256,
        }
    }

    /// Adds an extra SAN.
    pub fn with_san(mut self, san: impl Into<String>) -> Self {
        self.extra_sans.push(san.into());
        self
    }

    /// Chooses the issuing CA.
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

/// A host that is not a BroadWorks node but needs a server certificate (cloud fakes such as
/// `idbroker.webex.com`, push gateways ...). Issued at generation time and exported.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HostSpec {
    /// The host name (CN and first SAN).
    pub fqdn: String,
    /// Further SANs.
    #[serde(default)]
    pub extra_sans: Vec<String>,
    /// Which CA signs it.
    #[serde(default)]
    pub issuer: ServerIssuer,
}

impl HostSpec {
    /// A host signed by `issuer`.
    pub fn new(fqdn: impl Into<String>, issuer: ServerIssuer) -> Self {
        HostSpec {
            fqdn: fqdn.into(),
            extra_sans: Vec::new(),
            issuer,
        }
    }
}

/// An MPP-style device whose manufacturing certificate the lab issues.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeviceSpec {
    /// The MAC, 12 hex digits with optional `:`/`-`/`.` separators.
    pub mac: String,
    /// Model string placed in the CN (`CP-<model>-SEP<MAC>`); default `8841-3PCC`.
    #[serde(default)]
    pub model: Option<String>,
}

impl DeviceSpec {
    /// A device with the default model.
    pub fn new(mac: impl Into<String>) -> Self {
        DeviceSpec {
            mac: mac.into(),
            model: None,
        }
    }
}

/// Validity windows, relative to [`PkiConfig::now`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Validity {
    /// How far before `now` certificates start to be valid, so small clock skews between the lab
    /// and a system under test do not turn every certificate into "not yet valid".
    pub backdate: Duration,
    /// Lifetime of CA certificates.
    pub ca_lifetime: Duration,
    /// Lifetime of leaf certificates.
    pub leaf_lifetime: Duration,
}

impl Default for Validity {
    fn default() -> Self {
        Validity {
            backdate: Duration::hours(1),
            ca_lifetime: Duration::days(3650),
            leaf_lifetime: Duration::days(397),
        }
    }
}

/// The input of [`crate::LabPki::generate`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PkiConfig {
    /// Cluster / farm names (e.g. `xsp.lab.example`) placed in the SAN of every node certificate
    /// signed by the lab public CA, so clients can reach any node through the shared name.
    pub cluster_domains: Vec<String>,
    /// The server nodes.
    #[serde(default)]
    pub nodes: Vec<NodeSpec>,
    /// Extra hosts (cloud fakes) issued at generation time.
    #[serde(default)]
    pub hosts: Vec<HostSpec>,
    /// MPP devices.
    #[serde(default)]
    pub devices: Vec<DeviceSpec>,
    /// The lab clock's "now": every validity window is computed from it.
    #[serde(with = "time::serde::rfc3339")]
    pub now: OffsetDateTime,
    /// Validity windows.
    #[serde(default)]
    pub validity: Validity,
}

impl PkiConfig {
    /// A configuration with one cluster domain and no nodes, valid from `now`.
    pub fn new(cluster_domain: impl Into<String>, now: OffsetDateTime) -> Self {
        PkiConfig {
            cluster_domains: vec![cluster_domain.into()],
            nodes: Vec::new(),
            hosts: Vec::new(),
            devices: Vec::new(),
            now,
            validity: Validity::default(),
        }
    }

    /// Adds a node.
    pub fn with_node(mut self, node: NodeSpec) -> Self {
        self.nodes.push(node);
        self
    }

    /// Adds an extra host.
    pub fn with_host(mut self, host: HostSpec) -> Self {
        self.hosts.push(host);
        self
    }

    /// Adds a device.
    pub fn with_device(mut self, device: DeviceSpec) -> Self {
        self.devices.push(device);
        self
    }

    /// A small ready-made lab: cluster `xsp.lab.example`, nodes `xsp1`/`xsp2`, the IdBroker fake
    /// signed by the IdenTrust stand-in and one MPP. Handy for tests and examples.
    pub fn example(now: OffsetDateTime) -> Self {
        PkiConfig::new("xsp.lab.example", now)
            .with_node(NodeSpec::new("xsp1", "xsp1.lab.example"))
            .with_node(NodeSpec::new("xsp2", "xsp2.lab.example"))
            .with_host(HostSpec::new("idbroker.webex.com", ServerIssuer::IdenTrust))
            .with_device(DeviceSpec::new("00:1B:D4:AA:BB:CC"))
    }

    /// Checks names before anything is generated.
    pub(crate) fn validate(&self) -> Result<(), PkiError> {
        if self.validity.leaf_lifetime <= Duration::ZERO
            || self.validity.ca_lifetime <= Duration::ZERO
            || self.validity.backdate < Duration::ZERO
        {
            return Err(PkiError::InvalidConfig(
                "validity lifetimes must be positive and the backdate not negative".into(),
            ));
        }
        for d in &self.cluster_domains {
            crate::certs::check_dns_name(d)?;
        }
        let mut names = std::collections::BTreeSet::new();
        for n in &self.nodes {
            if !is_safe_file_name(&n.name) {
                return Err(PkiError::InvalidConfig(format!(
                    "node name {:?} must be non-empty and use only letters, digits, '.', '_' or '-'",
                    n.name
                )));
            }
            if !names.insert(n.name.as_str()) {
                return Err(PkiError::InvalidConfig(format!(
                    "duplicate node name {:?}",
                    n.name
                )));
            }
            crate::certs::check_dns_name(&n.fqdn)?;
            for s in &n.extra_sans {
                crate::certs::check_san(s)?;
            }
        }
        let mut hosts = std::collections::BTreeSet::new();
        for h in &self.hosts {
            crate::certs::check_dns_name(&h.fqdn)?;
            if !hosts.insert(h.fqdn.to_ascii_lowercase()) {
                return Err(PkiError::InvalidConfig(format!(
                    "duplicate host {:?}",
                    h.fqdn
                )));
            }
            for s in &h.extra_sans {
                crate::certs::check_san(s)?;
            }
        }
        let mut macs = std::collections::BTreeSet::new();
        for d in &self.devices {
            let mac = crate::certs::MacAddress::parse(&d.mac)?;
            if !macs.insert(mac) {
                return Err(PkiError::InvalidConfig(format!(
                    "duplicate device MAC {}",
                    d.mac
                )));
            }
            if let Some(model) = &d.model
                && !is_safe_file_name(model)
            {
                return Err(PkiError::InvalidConfig(format!(
                    "device model {model:?} must use only letters, digits, '.', '_' or '-'"
                )));
            }
        }
        Ok(())
    }
}

/// A name that can be used as a single path component without surprises.
pub(crate) fn is_safe_file_name(s: &str) -> bool {
    !s.is_empty()
        && s != "."
        && s != ".."
        && s.len() <= 128
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
}
