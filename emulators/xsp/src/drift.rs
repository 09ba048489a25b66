//! Run-time drift of one running node: the faults a scenario injects on one XSP of a farm
//! while the lab runs (`config_drift`, `bad_certificate`, `tls`, `clock_skew`), each with its
//! way back to the configured value.
//!
//! What a request or connection reads on its way, all cheap:
//!
//! * the AuthService URL switch: one `AtomicBool`;
//! * the AuthService key override: one `RwLock` read cloning an `Option<AuthKeys>` (an `Arc`);
//! * the TLS server configuration: one `RwLock` read per *accepted connection*, cloning the
//!   `Arc<ServerConfig>` of the listener (a handshake in progress keeps the configuration it
//!   started with);
//! * the node clock: the lab clock plus an atomic skew (`bwlab_core::NodeClock`).
//!
//! Setters serialise on one mutex over the TLS inputs, build every listener's configuration
//! from the new inputs and swap them only when all built, so a refused change (e.g. an
//! RSA-1024 certificate with TLS 1.3 only) leaves the node as it was.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use bwlab_core::Kind;
use bwlab_pki::rustls::ServerConfig;
use bwlab_pki::rustls::pki_types::CertificateDer;
use bwlab_pki::{Identity, ServerOptions, TlsVersions};
use parking_lot::{Mutex, RwLock};

use crate::{AuthKeys, Interface, Shared, XspError};

/// The node's drifted state (see the module notes).
pub(crate) struct Drift {
    own_keys: RwLock<Option<AuthKeys>>,
    authservice_url: AtomicBool,
    tls: Mutex<TlsInputs>,
    /// One slot per interface (`slot`), filled for the listeners that run.
    acceptors: [RwLock<Option<Arc<ServerConfig>>>; 3],
}

/// What the TLS configurations are built from.
#[derive(Clone)]
struct TlsInputs {
    identity: Identity,
    identity_override: Option<Identity>,
    anchors_override: Option<Vec<CertificateDer<'static>>>,
    versions_override: Option<TlsVersions>,
    interfaces: Vec<Interface>,
}

fn slot(interface: Interface) -> usize {
    match interface {
        Interface::Https => 0,
        Interface::HttpsMtls => 1,
        Interface::Cti => 2,
    }
}

impl Drift {
    pub(crate) fn new(identity: Identity, authservice_url_configured: bool) -> Self {
        Drift {
            own_keys: RwLock::new(None),
            authservice_url: AtomicBool::new(authservice_url_configured),
            tls: Mutex::new(TlsInputs {
                identity,
                identity_override: None,
                anchors_override: None,
                versions_override: None,
                interfaces: Vec::new(),
            }),
            acceptors: Default::default(),
        }
    }

    /// The TLS configuration a new connection on `interface` is accepted with.
    pub(crate) fn acceptor(&self, interface: Interface) -> Option<Arc<ServerConfig>> {
        self.acceptors[slot(interface)].read().clone()
    }

    /// The node's own AuthService key set, when the "non-shared keys" drift is on.
    pub(crate) fn own_keys(&self) -> Option<AuthKeys> {
        self.own_keys.read().clone()
    }

    /// Whether the AuthService URL is configured on the node's Xsi web apps right now.
    pub(crate) fn authservice_url_configured(&self) -> bool {
        self.authservice_url.load(Ordering::Relaxed)
    }

    /// Builds the configuration of a listener about to be bound and installs it.
    pub(crate) fn install(&self, shared: &Shared, interface: Interface) -> Result<(), XspError> {
        let mut tls = self.tls.lock();
        let cfg = build(shared, &tls, interface)?;
        *self.acceptors[slot(interface)].write() = Some(cfg);
        if !tls.interfaces.contains(&interface) {
            tls.interfaces.push(interface);
        }
        Ok(())
    }

    /// Applies `change` to the TLS inputs and rebuilds every listener's configuration; on
    /// error nothing changes.
    fn rebuild(
        &self,
        shared: &Shared,
        change: impl FnOnce(&mut TlsInputs),
    ) -> Result<(), XspError> {
        let mut tls = self.tls.lock();
        let mut next = tls.clone();
        change(&mut next);
        let built = next
            .interfaces
            .iter()
            .map(|&i| build(shared, &next, i).map(|c| (i, c)))
            .collect::<Result<Vec<_>, _>>()?;
        for (i, cfg) in built {
            *self.acceptors[slot(i)].write() = Some(cfg);
        }
        *tls = next;
        Ok(())
    }

    fn anchors(&self, shared: &Shared) -> Vec<CertificateDer<'static>> {
        self.tls
            .lock()
            .anchors_override
            .clone()
            .unwrap_or_else(|| shared.settings.client_trust_anchors.clone())
    }
}

fn build(
    shared: &Shared,
    inputs: &TlsInputs,
    interface: Interface,
) -> Result<Arc<ServerConfig>, XspError> {
    let tls_err = |source| XspError::Tls {
        node: shared.name.to_string(),
        interface: interface.name(),
        source,
    };
    let anchors = match &inputs.anchors_override {
        None => shared.settings.client_trust_anchors.clone(),
        // Every anchor removed: still ask for certificates, and trust none of them.
        Some(a) if a.is_empty() => {
            vec![bwlab_pki::trust_nothing_anchor().map_err(|e| tls_err(e.into()))?]
        }
        Some(a) => a.clone(),
    };
    let clock = shared.clock.clone();
    let opts = ServerOptions {
        versions: inputs
            .versions_override
            .unwrap_or(shared.settings.tls_versions),
        ciphers: shared.settings.cipher_policy(&shared.profile),
        client_auth: shared.tls_client_auth(interface, anchors),
        alpn: vec![b"http/1.1".to_vec()],
        // Client certificates are checked against the node's (possibly skewed) clock.
        clock: Some(bwlab_pki::LabClock::new(move || clock.now())),
        key_log: true,
    };
    let identity = inputs
        .identity_override
        .as_ref()
        .unwrap_or(&inputs.identity);
    bwlab_pki::server_config(identity, &opts).map_err(tls_err)
}

/// Journals one drift change: `Kind::Fault`, `fault`, `action` (`injected`/`reverted`) and
/// `value`.
fn journal(shared: &Shared, fault: &'static str, injected: bool, value: String) {
    let action = if injected { "injected" } else { "reverted" };
    shared
        .journal
        .record(
            Arc::clone(&shared.name),
            Kind::Fault,
            format!("fault {fault} {action}: {value}"),
        )
        .attr("fault", fault)
        .attr("action", action)
        .attr("value", value)
        .commit();
}

pub(crate) fn set_own_keys(shared: &Shared, keys: Option<AuthKeys>) {
    let injected = keys.is_some();
    let value = match &keys {
        Some(k) => format!(
            "own AuthService key pair{}",
            k.key_id().map(|id| format!(" {id}")).unwrap_or_default()
        ),
        None => "shared AuthService key pair".to_owned(),
    };
    *shared.drift.own_keys.write() = keys;
    journal(shared, "non-shared-authservice-keys", injected, value);
}

pub(crate) fn set_authservice_url(shared: &Shared, configured: bool) {
    shared
        .drift
        .authservice_url
        .store(configured, Ordering::Relaxed);
    let injected = configured != shared.settings.authservice_url_configured;
    let value = if configured {
        "AuthService URL configured"
    } else {
        "AuthService URL missing"
    };
    journal(
        shared,
        "missing-authservice-url",
        injected,
        value.to_owned(),
    );
}

pub(crate) fn set_call_control_application_name(shared: &Shared, name: Option<String>) -> bool {
    let injected = name.is_some();
    match crate::events::set_name(shared, name) {
        Some(now) => {
            journal(
                shared,
                "call-control-application-name",
                injected,
                format!("callControlApplicationName {now}"),
            );
            true
        }
        None => false,
    }
}

pub(crate) fn set_client_trust_anchors(
    shared: &Shared,
    anchors: Option<Vec<CertificateDer<'static>>>,
) -> Result<(), XspError> {
    let injected = anchors.is_some();
    let value = match &anchors {
        Some(a) => format!(
            "{} client trust anchor(s): {}",
            a.len(),
            subjects(a).join("; ")
        ),
        None => format!(
            "configured client trust anchors ({})",
            shared.settings.client_trust_anchors.len()
        ),
    };
    shared
        .drift
        .rebuild(shared, |t| t.anchors_override = anchors)?;
    journal(shared, "missing-trust-anchor", injected, value);
    Ok(())
}

pub(crate) fn client_trust_anchors(shared: &Shared) -> Vec<CertificateDer<'static>> {
    shared.drift.anchors(shared)
}

pub(crate) fn set_server_identity(
    shared: &Shared,
    identity: Option<Identity>,
) -> Result<(), XspError> {
    let injected = identity.is_some();
    let mut value = String::new();
    shared.drift.rebuild(shared, |t| {
        value = format!(
            "server certificate {}",
            identity.as_ref().unwrap_or(&t.identity).label()
        );
        t.identity_override = identity;
    })?;
    journal(shared, "bad-certificate", injected, value);
    Ok(())
}

pub(crate) fn server_identity(shared: &Shared) -> Identity {
    let t = shared.drift.tls.lock();
    t.identity_override.as_ref().unwrap_or(&t.identity).clone()
}

pub(crate) fn set_tls_versions(
    shared: &Shared,
    versions: Option<TlsVersions>,
) -> Result<(), XspError> {
    let injected = versions.is_some();
    let value = format!(
        "TLS versions {:?}",
        versions.unwrap_or(shared.settings.tls_versions)
    );
    shared
        .drift
        .rebuild(shared, |t| t.versions_override = versions)?;
    journal(shared, "tls", injected, value);
    Ok(())
}

pub(crate) fn tls_versions(shared: &Shared) -> TlsVersions {
    shared
        .drift
        .tls
        .lock()
        .versions_override
        .unwrap_or(shared.settings.tls_versions)
}

pub(crate) fn set_clock_skew(shared: &Shared, skew: time::Duration) {
    shared.clock.set_skew(skew);
    journal(
        shared,
        "clock-skew",
        !skew.is_zero(),
        format!("clock skew {}s", skew.whole_seconds()),
    );
}

fn subjects(anchors: &[CertificateDer<'static>]) -> Vec<String> {
    anchors
        .iter()
        .map(|a| {
            bwlab_pki::inspect(a)
                .ok()
                .and_then(|i| i.subject_common_names.into_iter().next())
                .unwrap_or_else(|| "?".to_owned())
        })
        .collect()
}
