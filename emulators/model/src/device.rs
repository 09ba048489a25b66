//! Access devices and their lines (endpoints).
//!
//! A device (a desk phone, a Webex App profile) has a profile type, maybe a MAC, and lines.
//! Each line is one user's endpoint: the user's primary endpoint, or a Shared Call
//! Appearance of that user's line on somebody else's (or a second) device.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};

use parking_lot::Mutex;
use time::OffsetDateTime;

use serde::{Deserialize, Serialize};

use crate::ids::{DeviceIdx, EnterpriseIdx, GroupIdx, Mac, UserIdx};

/// Where a device profile lives (Xsi `deviceLevel`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum DeviceLevel {
    /// System-wide.
    System,
    /// Service provider / enterprise.
    ServiceProvider,
    /// Group (the usual case).
    #[default]
    Group,
}

impl DeviceLevel {
    /// Xsi text.
    pub fn xsi_text(self) -> &'static str {
        match self {
            Self::System => "System",
            Self::ServiceProvider => "Service Provider",
            Self::Group => "Group",
        }
    }
}

/// Role of a line on a device (Xsi `endpointType`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum EndpointType {
    /// The user's own primary line (at most one per user).
    #[default]
    Primary,
    /// Another appearance of the user's line.
    SharedCallAppearance,
}

impl EndpointType {
    /// Xsi text.
    pub fn xsi_text(self) -> &'static str {
        match self {
            Self::Primary => "Primary",
            Self::SharedCallAppearance => "Shared Call Appearance",
        }
    }
}

/// Device-management credentials (Xsi `deviceUserNamePassword`, used by the app when SSO
/// to DMS fails).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct DeviceCredentials {
    /// User name.
    pub user_name: String,
    /// Password.
    pub password: String,
}

/// One line (endpoint) of a device.
#[derive(Debug)]
pub struct Line {
    /// Line/port, `lineport@domain` (the SIP address of record).
    pub line_port: String,
    /// The user whose line this is.
    pub user: UserIdx,
    /// Primary or shared appearance.
    pub endpoint: EndpointType,
    /// Whether the line's user owns the device (the person holding the phone). Defaults to
    /// true for primary lines and false for shared appearances.
    pub owner: bool,
    /// SIP digest user name (Authentication service).
    pub auth_username: Option<String>,
    /// SIP digest password.
    pub auth_password: Option<String>,
    pub(crate) allow_termination: AtomicBool,
    /// Current SIP registrations (contact bindings) of this line; see [`Registration`].
    pub(crate) registrations: Mutex<Vec<Registration>>,
}

/// One SIP registration (contact binding) of a line, as the AS keeps it after a REGISTER
/// (Xsi `profile/Registrations`). Written by whatever plays the registrar (a SIP emulator, a
/// scenario, a test) through [`Store::register`](crate::Store::register).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Registration {
    /// The Contact URI (`sip:alice_1@198.51.100.7:5061;transport=tls`).
    pub uri: String,
    /// When the binding lapses (lab clock); expired bindings are not listed.
    pub expires_at: OffsetDateTime,
    /// Where the REGISTER came from (top Via `received`/`rport`).
    pub public_addr: Option<SocketAddr>,
    /// The address the device put in its Via (behind NAT it differs from the public one).
    pub private_addr: Option<SocketAddr>,
    /// The REGISTER's `User-Agent`.
    pub user_agent: Option<String>,
    /// The REGISTER's `Path` header (routing back to the device through an SBC).
    pub path: Option<String>,
}

impl Registration {
    /// A binding of `uri` until `expires_at`, with nothing else known.
    pub fn new(uri: impl Into<String>, expires_at: OffsetDateTime) -> Self {
        Registration {
            uri: uri.into(),
            expires_at,
            public_addr: None,
            private_addr: None,
            user_agent: None,
            path: None,
        }
    }
}

impl Line {
    /// The line's registrations still live at `now`, oldest first.
    pub fn registrations(&self, now: OffsetDateTime) -> Vec<Registration> {
        self.registrations
            .lock()
            .iter()
            .filter(|r| r.expires_at > now)
            .cloned()
            .collect()
    }

    /// Whether incoming calls are offered to this endpoint (Xsi `allowTermination`; false
    /// means push notifications only).
    pub fn allow_termination(&self) -> bool {
        self.allow_termination.load(Ordering::Relaxed)
    }
}

/// An access device.
#[derive(Debug)]
pub struct Device {
    /// Slot in the store.
    pub idx: DeviceIdx,
    /// Device profile name (unique in the lab).
    pub name: String,
    /// Identity/device profile type, e.g. `Cisco 8851` or `Business Communicator - PC`.
    pub device_type: String,
    /// MAC, for phones that have one.
    pub mac: Option<Mac>,
    /// Profile level.
    pub level: DeviceLevel,
    /// Owning enterprise (service-provider or group level).
    pub enterprise: Option<EnterpriseIdx>,
    /// Owning group (group level).
    pub group: Option<GroupIdx>,
    /// Device-management credentials.
    pub credentials: Option<DeviceCredentials>,
    /// User agent / firmware version string.
    pub version: Option<String>,
    /// Lines, in port order.
    pub lines: Vec<Line>,
}

impl Device {
    /// Whether this is a Webex/soft client profile type rather than a desk phone.
    pub fn is_soft_client(&self) -> bool {
        matches!(
            self.device_type.as_str(),
            "Business Communicator - PC" | "Connect - Mobile" | "Connect - Tablet"
        )
    }
}
