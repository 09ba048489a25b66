//! Errors of the lab as a whole; each wraps the failing part's own error so messages keep
//! their positions (file:line:column) and hints.

use std::path::PathBuf;

/// Why a lab could not be built or started.
#[derive(Debug, thiserror::Error)]
pub enum LabError {
    /// A load balancer of the topology could not start.
    #[error("load balancer {0}")]
    Lb(String),
    #[error("cannot read {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error(transparent)]
    Profile(#[from] bwlab_profiles::ProfileError),
    #[error("{0}")]
    Data(#[from] bwlab_model::LabErrors),
    #[error(transparent)]
    Plan(#[from] bwlab_core::addr::PlanError),
    #[error(transparent)]
    Pki(#[from] bwlab_pki::PkiError),
    #[error(transparent)]
    Dns(#[from] bwlab_dns::DnsError),
    #[error("the topology has no DNS node")]
    NoDnsNode,
    #[error(transparent)]
    Xsp(#[from] bwlab_xsp::XspError),
    #[error(transparent)]
    Cloud(#[from] bwlab_cloud::CloudError),
    #[error(transparent)]
    Tls(#[from] bwlab_pki::TlsError),
    #[error("node {0} has no certificate in the lab PKI")]
    MissingCertificate(String),
    /// The AuthService key file could not be read, parsed or written.
    #[error("AuthService keys: {message}")]
    AuthKeys {
        /// What went wrong, with the file name.
        message: String,
    },
}

impl LabError {
    /// The process exit code `bwlab` uses for this error (see `docs/cli.md`).
    pub fn exit_code(&self) -> i32 {
        use crate::cli::exit;
        match self {
            LabError::Profile(_) | LabError::Data(_) | LabError::Read { .. } => exit::BAD_INPUT,
            LabError::Plan(_) | LabError::NoDnsNode => exit::BAD_INPUT,
            LabError::Pki(_)
            | LabError::Dns(_)
            | LabError::Xsp(_)
            | LabError::Cloud(_)
            | LabError::Tls(_)
            | LabError::Lb(_) => exit::ENVIRONMENT,
            LabError::MissingCertificate(_) | LabError::AuthKeys { .. } => exit::BAD_INPUT,
        }
    }
}
