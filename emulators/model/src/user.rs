//! Users: the profile (fixed after creation) and the per-user mutable state.
//!
//! Each user has its own locks (services, logs, password, endpoints), so requests for
//! different users never contend, and a long call-log write never blocks a password check.

use std::sync::Arc;

use parking_lot::{Mutex, RwLock};

use crate::ids::{DeviceIdx, E164, EnterpriseIdx, GroupIdx, UserIdx};
use crate::logs::UserLogs;
use crate::password::PasswordState;
use crate::services::{Service, ServiceKind, ServiceSettings, Services};
use crate::tz::TimeZone;

/// Calling line identity presented on outgoing calls. Names are overrides: `None` means
/// the user's own name (see [`User::clid_first_name`]).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CallingLineId {
    /// CLID first name override.
    pub first_name: Option<String>,
    /// CLID last name override.
    pub last_name: Option<String>,
    /// CLID number (defaults to the primary number, else the group's CLID number).
    pub number: Option<E164>,
}

/// A reference to one device line (endpoint) of a user.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct EndpointRef {
    /// The device.
    pub device: DeviceIdx,
    /// Position of the line in the device's line list.
    pub line: u16,
}

/// A BroadWorks user.
///
/// Profile fields are plain public data and never change after creation (the BroadWorks
/// user id must never change: Webex links accounts by it). Mutable state is reached through
/// methods that take the user's own locks.
#[derive(Debug)]
pub struct User {
    /// Slot in the store.
    pub idx: UserIdx,
    /// `user@domain`.
    pub user_id: String,
    /// First name.
    pub first_name: String,
    /// Last name.
    pub last_name: String,
    /// E-mail (flow-through provisioning sends it to Webex).
    pub email: Option<String>,
    /// Other login ids (often the e-mail address).
    pub alternate_ids: Vec<String>,
    /// Primary number.
    pub number: Option<E164>,
    /// Extension, unique within the group.
    pub extension: Option<String>,
    /// Mobile number.
    pub mobile: Option<E164>,
    /// Language (BroadWorks name, e.g. `English`). Shared: most users have the default.
    pub language: Arc<str>,
    /// Time zone.
    pub time_zone: Arc<TimeZone>,
    /// Group slot.
    pub group: GroupIdx,
    /// Enterprise / service provider slot.
    pub enterprise: EnterpriseIdx,
    /// Group id.
    pub group_id: Arc<str>,
    /// Enterprise / service provider id.
    pub enterprise_id: Arc<str>,
    /// Whether `enterprise_id` names an enterprise (Xsi `isEnterprise`).
    pub is_enterprise: bool,
    /// The group's location dialing code, if any.
    pub location_dialing_code: Option<Arc<str>>,
    /// Calling line identity.
    pub calling_line_id: CallingLineId,
    /// Job title.
    pub title: Option<String>,
    /// Department.
    pub department: Option<String>,
    /// IM&P id (defaults to the user id when Integrated IM&P is assigned).
    pub imp_id: Option<String>,
    pub(crate) services: RwLock<Services>,
    pub(crate) logs: Mutex<UserLogs>,
    pub(crate) password: Mutex<PasswordState>,
    pub(crate) endpoints: RwLock<Vec<EndpointRef>>,
}

impl User {
    /// `First Last`.
    pub fn display_name(&self) -> String {
        format!("{} {}", self.first_name, self.last_name)
    }

    /// First name presented as calling line id.
    pub fn clid_first_name(&self) -> &str {
        self.calling_line_id
            .first_name
            .as_deref()
            .unwrap_or(&self.first_name)
    }

    /// Last name presented as calling line id.
    pub fn clid_last_name(&self) -> &str {
        self.calling_line_id
            .last_name
            .as_deref()
            .unwrap_or(&self.last_name)
    }

    /// `<LDC><extension>` when both exist (what flow-through sends as the primary extension).
    pub fn extension_with_ldc(&self) -> Option<String> {
        Some(format!(
            "{}{}",
            self.location_dialing_code.as_deref()?,
            self.extension.as_deref()?
        ))
    }

    /// Country calling code of the primary number (Xsi profile `countryCode`).
    pub fn country_code(&self) -> Option<&str> {
        self.number.as_ref().map(E164::country_code)
    }

    /// Whether `login` is this user's id or one of its alternate ids (case-insensitive).
    pub fn has_login(&self, login: &str) -> bool {
        self.user_id.eq_ignore_ascii_case(login)
            || self
                .alternate_ids
                .iter()
                .any(|a| a.eq_ignore_ascii_case(login))
    }

    /// A snapshot of the assigned services.
    pub fn services(&self) -> Services {
        self.services.read().clone()
    }

    /// Whether a service is assigned.
    pub fn has_service(&self, kind: ServiceKind) -> bool {
        self.services.read().has(kind)
    }

    /// Typed settings of an assigned service.
    pub fn service<S: Service>(&self) -> Option<S> {
        self.services.read().typed::<S>().cloned()
    }

    /// Settings of an assigned service.
    pub fn service_settings(&self, kind: ServiceKind) -> Option<ServiceSettings> {
        self.services.read().get(kind).cloned()
    }

    /// A snapshot of the password state (tests, the `bwlab up` credential listing).
    pub fn password_state(&self) -> PasswordState {
        self.password.lock().clone()
    }

    /// The user's device lines (primary first, then shared appearances, in creation order).
    pub fn endpoints(&self) -> Vec<EndpointRef> {
        self.endpoints.read().clone()
    }
}
