//! rustls configuration builders for lab servers and clients.
//!
//! Every configuration is built with an explicit *ring* [`CryptoProvider`] (never the process
//! default), so two emulators in one test process can use different cipher policies without
//! fighting over global state. Every configuration honours `SSLKEYLOGFILE` (unless turned off),
//! so captured traffic can be decrypted in Wireshark.

use std::sync::Arc;

use rustls::client::WebPkiServerVerifier;
use rustls::crypto::CryptoProvider;
use rustls::pki_types::CertificateDer;
use rustls::sign::{CertifiedKey, SingleCertAndKey};
use rustls::{ClientConfig, ProtocolVersion, ServerConfig, SupportedProtocolVersion};

use crate::certs::Identity;
use crate::ciphers::{CipherPolicy, ResolvedCiphers, TlsVersions};
use crate::config::KeyAlgorithm;
use crate::error::TlsError;
use crate::verify::{
    BroadWorksClientRules, BroadWorksClientVerifier, ClockedServerVerifier, LabClock, root_store,
};

/// Whom a server accepts as client, and under which rules.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientAuthPolicy {
    /// Trusted roots (or other anchors) for client certificates.
    pub trust: Vec<CertificateDer<'static>>,
    /// BroadWorks-specific rules applied after the chain check.
    pub rules: BroadWorksClientRules,
}

impl ClientAuthPolicy {
    /// Plain mTLS against `trust` (chain, validity and clientAuth EKU only): what a DMS listener
    /// accepting MPP device certificates needs.
    pub fn chain_only(trust: Vec<CertificateDer<'static>>) -> Self {
        ClientAuthPolicy {
            trust,
            rules: BroadWorksClientRules::off(),
        }
    }

    /// mTLS with the full BroadWorks rules (OID + clientAuth, no SAN): what an XSP interface
    /// accepting Webex or a bridging proxy needs.
    pub fn broadworks(trust: Vec<CertificateDer<'static>>) -> Self {
        ClientAuthPolicy {
            trust,
            rules: BroadWorksClientRules::default(),
        }
    }

    /// Reads the trust list from PEM text (e.g. a `CombinedCertChain2023.txt`).
    pub fn from_pem(pem: &str, rules: BroadWorksClientRules) -> Result<Self, TlsError> {
        Ok(ClientAuthPolicy {
            trust: crate::pem::decode_certs(pem)?,
            rules,
        })
    }
}

/// Client authentication mode of a server.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum ClientAuth {
    /// No certificate is requested.
    #[default]
    Off,
    /// A certificate is requested; a client without one is let in, a bad one is refused.
    Optional(ClientAuthPolicy),
    /// A valid certificate is required.
    Required(ClientAuthPolicy),
}

/// Options of [`server_config`].
#[derive(Debug, Clone)]
pub struct ServerOptions {
    /// Enabled TLS versions.
    pub versions: TlsVersions,
    /// Cipher suites offered.
    pub ciphers: CipherPolicy,
    /// Client authentication.
    pub client_auth: ClientAuth,
    /// ALPN protocols in preference order (empty: no ALPN).
    pub alpn: Vec<Vec<u8>>,
    /// Check client-certificate validity against this clock instead of the host clock.
    pub clock: Option<LabClock>,
    /// Write session secrets to the file named by `SSLKEYLOGFILE`, if that variable is set.
    pub key_log: bool,
}

impl Default for ServerOptions {
    fn default() -> Self {
        ServerOptions {
            versions: TlsVersions::default(),
            ciphers: CipherPolicy::default(),
            client_auth: ClientAuth::Off,
            alpn: Vec::new(),
            clock: None,
            key_log: true,
        }
    }
}

/// Options of [`client_config`].
#[derive(Debug, Clone)]
pub struct ClientOptions {
    /// Roots used to verify the server (e.g. [`crate::LabPki::lab_trust_bundle`]).
    pub trust: Vec<CertificateDer<'static>>,
    /// Client certificate for mTLS.
    pub identity: Option<Identity>,
    /// Enabled TLS versions.
    pub versions: TlsVersions,
    /// Cipher suites offered.
    pub ciphers: CipherPolicy,
    /// ALPN protocols in preference order (empty: no ALPN).
    pub alpn: Vec<Vec<u8>>,
    /// Check server-certificate validity against this clock instead of the host clock.
    pub clock: Option<LabClock>,
    /// Write session secrets to the file named by `SSLKEYLOGFILE`, if that variable is set.
    pub key_log: bool,
}

impl ClientOptions {
    /// Options trusting `trust`, everything else default.
    pub fn new(trust: Vec<CertificateDer<'static>>) -> Self {
        ClientOptions {
            trust,
            identity: None,
            versions: TlsVersions::default(),
            ciphers: CipherPolicy::default(),
            alpn: Vec::new(),
            clock: None,
            key_log: true,
        }
    }

    /// Presents `identity` as client certificate.
    pub fn with_identity(mut self, identity: Identity) -> Self {
        self.identity = Some(identity);
        self
    }
}

/// The *ring* provider restricted to a cipher policy, and the rustls versions to enable.
///
/// Exposed so emulators can build unusual configurations by hand while keeping the same
/// policy semantics.
pub fn provider_for(
    ciphers: &CipherPolicy,
    versions: TlsVersions,
) -> Result<(Arc<CryptoProvider>, Vec<&'static SupportedProtocolVersion>), TlsError> {
    let ResolvedCiphers {
        suites, versions, ..
    } = ciphers.resolve(versions)?;
    let provider = CryptoProvider {
        cipher_suites: suites,
        ..rustls::crypto::ring::default_provider()
    };
    let versions = versions
        .into_iter()
        .filter_map(|v| match v {
            ProtocolVersion::TLSv1_3 => Some(&rustls::version::TLS13),
            ProtocolVersion::TLSv1_2 => Some(&rustls::version::TLS12),
            _ => None,
        })
        .collect();
    Ok((Arc::new(provider), versions))
}

fn certified(
    identity: &Identity,
    provider: &CryptoProvider,
) -> Result<Arc<CertifiedKey>, TlsError> {
    let ck = identity.certified_key(provider)?;
    match ck.keys_match() {
        Ok(()) | Err(rustls::Error::InconsistentKeys(rustls::InconsistentKeys::Unknown)) => Ok(ck),
        Err(e) => Err(TlsError::Key(e.to_string())),
    }
}

/// Builds a server configuration presenting `identity`.
///
/// Client authentication goes through [`BroadWorksClientVerifier`] (webpki plus the chosen
/// BroadWorks rules). An identity with an RSA-1024 key (the `rsa-1024` bad variant) is served
/// over TLS 1.2 only, whatever `opts.versions` says, because its signer cannot do RSA-PSS.
pub fn server_config(
    identity: &Identity,
    opts: &ServerOptions,
) -> Result<Arc<ServerConfig>, TlsError> {
    let mut wanted = opts.versions;
    if identity.key_algorithm() == KeyAlgorithm::Rsa1024 {
        // The fallback signer for keys *ring* refuses only does PKCS#1 v1.5, which TLS 1.3
        // forbids. Serving TLS 1.2 lets the client see the real fault (the weak key) instead
        // of a generic handshake failure.
        wanted = match wanted {
            TlsVersions::Tls13Only => {
                return Err(TlsError::Key(
                    "an RSA-1024 key can only sign TLS 1.2 handshakes".into(),
                ));
            }
            _ => TlsVersions::Tls12Only,
        };
    }
    let (provider, versions) = provider_for(&opts.ciphers, wanted)?;
    let builder = ServerConfig::builder_with_provider(Arc::clone(&provider))
        .with_protocol_versions(&versions)?;
    let builder = match &opts.client_auth {
        ClientAuth::Off => builder.with_no_client_auth(),
        ClientAuth::Optional(p) | ClientAuth::Required(p) => {
            let mandatory = matches!(opts.client_auth, ClientAuth::Required(_));
            builder.with_client_cert_verifier(BroadWorksClientVerifier::with_provider(
                &p.trust,
                p.rules.clone(),
                mandatory,
                Arc::clone(&provider),
                opts.clock.clone(),
            )?)
        }
    };
    let ck = certified(identity, &provider)?;
    let mut cfg = builder.with_cert_resolver(Arc::new(SingleCertAndKey::from(ck)));
    cfg.alpn_protocols = opts.alpn.clone();
    if opts.key_log {
        cfg.key_log = Arc::new(rustls::KeyLogFile::new());
    }
    Ok(Arc::new(cfg))
}

/// Builds a client configuration.
pub fn client_config(opts: &ClientOptions) -> Result<Arc<ClientConfig>, TlsError> {
    let (provider, versions) = provider_for(&opts.ciphers, opts.versions)?;
    let roots = Arc::new(root_store(&opts.trust)?);
    let builder = ClientConfig::builder_with_provider(Arc::clone(&provider))
        .with_protocol_versions(&versions)?;
    let builder = match &opts.clock {
        None => builder.with_root_certificates(roots),
        Some(clock) => {
            let inner = WebPkiServerVerifier::builder_with_provider(roots, Arc::clone(&provider))
                .build()
                .map_err(|e| TlsError::Verifier(e.to_string()))?;
            builder
                .dangerous()
                .with_custom_certificate_verifier(Arc::new(ClockedServerVerifier {
                    inner,
                    clock: clock.clone(),
                }))
        }
    };
    let mut cfg = match &opts.identity {
        None => builder.with_no_client_auth(),
        Some(id) => builder
            .with_client_cert_resolver(Arc::new(SingleCertAndKey::from(certified(id, &provider)?))),
    };
    cfg.alpn_protocols = opts.alpn.clone();
    if opts.key_log {
        cfg.key_log = Arc::new(rustls::KeyLogFile::new());
    }
    Ok(Arc::new(cfg))
}
