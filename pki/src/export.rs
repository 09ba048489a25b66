//! Writing the lab PKI to disk as PEM files, for systems under test and for `openssl`.
//!
//! The layout is stable (scripts and docs refer to it) and described in `README.txt`, which is
//! written next to the files. Every path written is returned in an [`ExportManifest`].

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::bad::{BadCert, CertRole};
use crate::ca::CaId;
use crate::certs::{Identity, MacAddress};
use crate::config::ServerIssuer;
use crate::error::PkiError;
use crate::lab::LabPki;

/// The three files of one identity.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct IdentityFiles {
    /// The leaf certificate.
    pub cert: PathBuf,
    /// The private key (PKCS#8, file mode 0600 on Unix).
    pub key: PathBuf,
    /// The leaf followed by the intermediates the peer sends.
    pub chain: PathBuf,
}

/// The files of one CA.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CaFiles {
    /// Which CA.
    pub id: CaId,
    /// Its root certificate.
    pub root: PathBuf,
    /// The issuing intermediate, if the CA has one.
    pub issuing: Option<PathBuf>,
    /// Every certificate of the CA, root first.
    pub chain: PathBuf,
}

/// A node's files.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct NodeFiles {
    /// Node name (folder name).
    pub name: String,
    /// Node FQDN.
    pub fqdn: String,
    /// Issuing CA.
    pub issuer: ServerIssuer,
    /// Certificate files.
    pub files: IdentityFiles,
}

/// An extra host's files.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct HostFiles {
    /// Host name (folder name).
    pub fqdn: String,
    /// Issuing CA.
    pub issuer: ServerIssuer,
    /// Certificate files.
    pub files: IdentityFiles,
}

/// A device's files.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DeviceFiles {
    /// The device MAC (folder name, 12 upper-case hex digits).
    pub mac: MacAddress,
    /// Certificate files.
    pub files: IdentityFiles,
}

/// A bad variant's files.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BadFiles {
    /// The variant.
    pub variant: BadCert,
    /// Server or client certificate.
    pub role: CertRole,
    /// What is wrong.
    pub reason: String,
    /// For server variants, the host name a client expects.
    pub expected_host: Option<String>,
    /// Certificate files (`chain.pem` is exactly what the peer presents).
    pub files: IdentityFiles,
    /// The roots a verifier should trust when checking it.
    pub trust: PathBuf,
    /// `reason.txt`: the reason and what a peer sees.
    pub reason_file: PathBuf,
}

/// Every file written by [`LabPki::export`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ExportManifest {
    /// The export directory.
    pub dir: PathBuf,
    /// `README.txt`.
    pub readme: PathBuf,
    /// `ca-bundle.pem`: the roots a system under test trusts for lab servers.
    pub ca_bundle: PathBuf,
    /// Per-CA files under `ca/`.
    pub cas: Vec<CaFiles>,
    /// `webex/combined-chain.pem`: Webex root first, then the SubCA.
    pub webex_combined_chain: PathBuf,
    /// `webex/client/`: the Webex client certificate.
    pub webex_client: IdentityFiles,
    /// `partner/proxy-client/`: the bridging proxy's client certificate.
    pub proxy_client: IdentityFiles,
    /// `nodes/<name>/`.
    pub nodes: Vec<NodeFiles>,
    /// `hosts/<fqdn>/`.
    pub hosts: Vec<HostFiles>,
    /// `devices/<MAC>/`.
    pub devices: Vec<DeviceFiles>,
    /// `bad/<variant>/`.
    pub bad: Vec<BadFiles>,
}

fn io_err(path: &Path) -> impl FnOnce(std::io::Error) -> PkiError + '_ {
    move |source| PkiError::Io {
        path: path.to_path_buf(),
        source,
    }
}

fn mkdir(path: &Path) -> Result<(), PkiError> {
    fs::create_dir_all(path).map_err(io_err(path))
}

fn write(path: &Path, contents: &str) -> Result<PathBuf, PkiError> {
    fs::write(path, contents).map_err(io_err(path))?;
    Ok(path.to_path_buf())
}

fn write_secret(path: &Path, contents: &str) -> Result<PathBuf, PkiError> {
    let mut opts = fs::OpenOptions::new();
    opts.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    let mut f = opts.open(path).map_err(io_err(path))?;
    f.write_all(contents.as_bytes()).map_err(io_err(path))?;
    Ok(path.to_path_buf())
}

fn write_identity(dir: &Path, id: &Identity) -> Result<IdentityFiles, PkiError> {
    mkdir(dir)?;
    Ok(IdentityFiles {
        cert: write(&dir.join("cert.pem"), &id.cert_pem())?,
        key: write_secret(&dir.join("key.pem"), &id.key_pem())?,
        chain: write(&dir.join("chain.pem"), &id.chain_pem())?,
    })
}

impl LabPki {
    /// Writes every certificate, key and bad variant under `dir` (created if needed; existing
    /// files with the same names are overwritten) and returns the list of paths.
    pub fn export(&self, dir: impl AsRef<Path>) -> Result<ExportManifest, PkiError> {
        let dir = dir.as_ref();
        mkdir(dir)?;

        let ca_bundle = write(
            &dir.join("ca-bundle.pem"),
            &crate::pem::encode_certs(self.lab_trust_bundle().iter()),
        )?;

        let mut cas = Vec::new();
        for id in CaId::ALL {
            let ca_dir = dir.join("ca").join(id.as_str());
            mkdir(&ca_dir)?;
            let chain = self.ca_chain(id);
            let issuing = match chain.last() {
                Some(last) if chain.len() > 1 => Some(write(
                    &ca_dir.join("issuing.pem"),
                    &crate::pem::encode_certs([last]),
                )?),
                _ => None,
            };
            cas.push(CaFiles {
                id,
                root: write(
                    &ca_dir.join("root.pem"),
                    &crate::pem::encode_certs([self.ca_root(id)]),
                )?,
                issuing,
                chain: write(
                    &ca_dir.join("chain.pem"),
                    &crate::pem::encode_certs(chain.iter()),
                )?,
            });
        }

        let webex_dir = dir.join("webex");
        mkdir(&webex_dir)?;
        let webex_combined_chain = write(
            &webex_dir.join("combined-chain.pem"),
            &crate::pem::encode_certs(self.ca_chain(CaId::WebexClient).iter()),
        )?;
        let webex_client = write_identity(&webex_dir.join("client"), self.webex_client())?;
        let proxy_client = write_identity(
            &dir.join("partner").join("proxy-client"),
            self.proxy_client(),
        )?;

        let mut nodes = Vec::new();
        for (spec, id) in self.nodes() {
            nodes.push(NodeFiles {
                name: spec.name.clone(),
                fqdn: spec.fqdn.clone(),
                issuer: spec.issuer,
                files: write_identity(&dir.join("nodes").join(&spec.name), id)?,
            });
        }
        let mut hosts = Vec::new();
        for (spec, id) in self.hosts() {
            hosts.push(HostFiles {
                fqdn: spec.fqdn.clone(),
                issuer: spec.issuer,
                // Validated as a DNS name, so it is a safe single path component.
                files: write_identity(&dir.join("hosts").join(spec.fqdn.to_ascii_lowercase()), id)?,
            });
        }
        let mut devices = Vec::new();
        for (mac, id) in self.devices() {
            devices.push(DeviceFiles {
                mac,
                files: write_identity(&dir.join("devices").join(mac.to_string()), id)?,
            });
        }

        let mut bad = Vec::new();
        for kind in BadCert::ALL {
            let b = self.bad_cert(kind)?;
            let bad_dir = dir.join("bad").join(kind.name());
            let files = write_identity(&bad_dir, &b.identity)?;
            let trust = write(
                &bad_dir.join("trust.pem"),
                &crate::pem::encode_certs(b.trust.iter()),
            )?;
            let mut text = format!(
                "variant: {}\nrole: {:?}\nwhat is wrong: {}\nwhat a peer sees: {}\n",
                kind.name(),
                kind.role(),
                kind.reason(),
                kind.peer_sees()
            );
            if let Some(h) = &b.expected_host {
                text.push_str(&format!("expected host: {h}\n"));
            }
            let reason_file = write(&bad_dir.join("reason.txt"), &text)?;
            bad.push(BadFiles {
                variant: kind,
                role: kind.role(),
                reason: kind.reason().to_string(),
                expected_host: b.expected_host,
                files,
                trust,
                reason_file,
            });
        }

        let readme = write(&dir.join("README.txt"), &self.readme_text())?;

        Ok(ExportManifest {
            dir: dir.to_path_buf(),
            readme,
            ca_bundle,
            cas,
            webex_combined_chain,
            webex_client,
            proxy_client,
            nodes,
            hosts,
            devices,
            bad,
        })
    }

    fn readme_text(&self) -> String {
        let now = self
            .now()
            .format(&time::format_description::well_known::Rfc3339)
            .unwrap_or_else(|_| self.now().to_string());
        let mut t = String::new();
        t.push_str("bwlab lab PKI export\n====================\n\n");
        t.push_str(&format!(
            "Generated for lab time {now} (unix {}). Every file is PEM. Keys are PKCS#8\n\
             (\"BEGIN PRIVATE KEY\"), readable by the owner only.\n\n",
            self.now().unix_timestamp()
        ));
        t.push_str(
            "ca-bundle.pem            Roots a system under test trusts to reach lab servers:\n\
             \x20                        the lab public root and the IdenTrust / Go Daddy G2 stand-ins.\n\
             ca/<ca>/root.pem         Root of each CA (lab-public, webex-client, partner-internal,\n\
             \x20                        identrust, godaddy-g2, device-manufacturing).\n\
             ca/<ca>/issuing.pem      The intermediate that issues leaves (absent for partner-internal).\n\
             ca/<ca>/chain.pem        All certificates of the CA, root first.\n\
             webex/combined-chain.pem Webex client chain, root first then SubCA (the shape of Cisco's\n\
             \x20                        CombinedCertChain2023.txt): load both as BroadWorks trust anchors.\n\
             webex/client/            Webex client certificate (CN bwcticlient.webex.com, clientAuth +\n\
             \x20                        BroadWorks OID 1.3.6.1.4.1.6431.1.1.8.2.1.3, no SAN).\n\
             partner/proxy-client/    A bridging proxy's client certificate (same shape), signed by the\n\
             \x20                        partner-internal CA.\n\
             nodes/<name>/            Node certificates: CN = node FQDN, SAN = cluster domain(s) + FQDN.\n\
             hosts/<fqdn>/            Extra hosts (cloud fakes), signed by the CA their config names.\n\
             devices/<MAC>/           MPP-style device certificates, CN CP-<model>-SEP<MAC>.\n\
             bad/<variant>/           One deliberately broken certificate per folder; reason.txt says\n\
             \x20                        what is wrong, trust.pem what to verify against.\n\n\
             In every certificate folder: cert.pem (leaf), key.pem (private key), chain.pem (leaf then\n\
             intermediates: what the server or client sends on the wire).\n\n",
        );
        t.push_str("Example check of a node certificate:\n\n");
        let example_host = self
            .nodes()
            .next()
            .map(|(n, _)| (n.name.clone(), n.fqdn.clone()));
        match example_host {
            Some((name, fqdn)) => t.push_str(&format!(
                "  openssl verify -CAfile ca-bundle.pem -untrusted nodes/{name}/chain.pem \\\n\
                 \x20   -purpose sslserver -verify_hostname {fqdn} -auth_level 2 \\\n\
                 \x20   -attime {} nodes/{name}/cert.pem\n\n",
                self.now().unix_timestamp()
            )),
            None => t.push_str("  (no nodes configured)\n\n"),
        }
        t.push_str("Bad variants:\n\n");
        for kind in BadCert::ALL {
            t.push_str(&format!("  {:<22}{}\n", kind.name(), kind.reason()));
        }
        t.push_str(
            "\nclient-no-eku-oid and client-with-san pass `openssl verify`: OpenSSL does not know the\n\
             BroadWorks client rules. bwlab-pki's check_broadworks_client_cert refuses them.\n",
        );
        t
    }
}
