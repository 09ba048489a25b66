//! Lab data as written: the serde shape of a lab file and what the builder fills in.
//!
//! Values are kept as text here (numbers, MACs, dates) and checked when the data becomes
//! a [`Store`](crate::Store), so one bad value is reported with its path instead of
//! aborting the whole file at the first type mismatch.

use serde::{Deserialize, Serialize};

use crate::admin::AdminType;
use crate::device::{DeviceCredentials, DeviceLevel, EndpointType};
use crate::logs::{CallLogKind, CallingParty, MediaType};
use crate::services::ServiceList;

/// A whole lab: system settings, organisations, users, devices, administrators.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase", deny_unknown_fields)]
pub struct LabData {
    /// System-wide settings.
    pub system: SystemSpec,
    /// Service providers and enterprises (YAML: `enterprises:` and `serviceProviders:`).
    pub enterprises: Vec<EnterpriseSpec>,
    /// Users (YAML: `users:` and the compact `userTable:`).
    pub users: Vec<UserSpec>,
    /// Access devices.
    pub devices: Vec<DeviceSpec>,
    /// Administrators.
    pub admins: Vec<AdminSpec>,
}

/// System-wide settings.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase", deny_unknown_fields)]
pub struct SystemSpec {
    /// Refuse logins with expired passwords.
    pub enforce_password_change_on_expiry: bool,
    /// Failed logins before lockout; 0 disables lockout.
    pub lockout_threshold: u32,
    /// Days before expiry from which logins carry a warning.
    pub password_warning_days: i64,
    /// Lifetime of a changed password in days; absent means changed passwords never expire.
    pub password_expires_after_days: Option<u32>,
    /// Call log entries kept per user and kind.
    pub call_log_limit: u32,
    /// Time zone for users whose group/enterprise names none.
    pub default_time_zone: Option<String>,
    /// Language for users that name none.
    pub default_language: Option<String>,
}

impl Default for SystemSpec {
    fn default() -> Self {
        Self {
            enforce_password_change_on_expiry: false,
            lockout_threshold: 5,
            password_warning_days: 10,
            password_expires_after_days: None,
            call_log_limit: 20,
            default_time_zone: None,
            default_language: None,
        }
    }
}

/// A service provider or enterprise.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct EnterpriseSpec {
    /// Id (unique in the lab).
    pub id: String,
    /// Display name (defaults to the id).
    #[serde(default)]
    pub name: Option<String>,
    /// Enterprise or service provider; defaults from the YAML list it appears in.
    #[serde(default)]
    pub is_enterprise: Option<bool>,
    /// Domain for generated ids.
    #[serde(default)]
    pub default_domain: Option<String>,
    /// Default time zone for its users.
    #[serde(default)]
    pub time_zone: Option<String>,
    /// Groups.
    #[serde(default)]
    pub groups: Vec<GroupSpec>,
}

/// A group.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct GroupSpec {
    /// Id (unique within its enterprise).
    pub id: String,
    /// Display name (defaults to the id).
    #[serde(default)]
    pub name: Option<String>,
    /// Location dialing code (digits), unique within the enterprise.
    #[serde(default)]
    pub location_dialing_code: Option<String>,
    /// Domain for generated ids.
    #[serde(default)]
    pub default_domain: Option<String>,
    /// Default time zone for its users.
    #[serde(default)]
    pub time_zone: Option<String>,
    /// Group calling line id name.
    #[serde(default)]
    pub calling_line_id_name: Option<String>,
    /// Group calling line id number (E.164).
    #[serde(default)]
    pub calling_line_id_number: Option<String>,
}

/// Calling line identity overrides.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase", deny_unknown_fields)]
pub struct CallingLineIdSpec {
    /// CLID first name (defaults to the user's).
    pub first_name: Option<String>,
    /// CLID last name (defaults to the user's).
    pub last_name: Option<String>,
    /// CLID number (defaults to the primary number).
    pub number: Option<String>,
}

/// A user.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct UserSpec {
    /// `user@domain`, unique among user ids, alternate ids and admin logins.
    pub user_id: String,
    /// Enterprise id; needed only when the group id exists in several enterprises.
    #[serde(default)]
    pub enterprise: Option<String>,
    /// Group id.
    pub group: String,
    /// First name.
    pub first_name: String,
    /// Last name.
    pub last_name: String,
    /// Portal password (plain text; `bwlab up` prints it).
    pub password: String,
    /// E-mail.
    #[serde(default)]
    pub email: Option<String>,
    /// Alternate login ids.
    #[serde(default)]
    pub alternate_ids: Vec<String>,
    /// Primary number (E.164).
    #[serde(default)]
    pub number: Option<String>,
    /// Extension (digits, unique within the group).
    #[serde(default)]
    pub extension: Option<String>,
    /// Mobile number (E.164).
    #[serde(default)]
    pub mobile: Option<String>,
    /// Language (default `English`).
    #[serde(default)]
    pub language: Option<String>,
    /// IANA time zone (default: group, enterprise, system, then `UTC`).
    #[serde(default)]
    pub time_zone: Option<String>,
    /// Display name for the time zone (default derived from the offset).
    #[serde(default)]
    pub time_zone_display_name: Option<String>,
    /// Job title.
    #[serde(default)]
    pub title: Option<String>,
    /// Department.
    #[serde(default)]
    pub department: Option<String>,
    /// IM&P id.
    #[serde(default)]
    pub imp_id: Option<String>,
    /// Calling line identity overrides.
    #[serde(default)]
    pub calling_line_id: Option<CallingLineIdSpec>,
    /// Voice-portal passcode (4–30 digits).
    #[serde(default)]
    pub passcode: Option<String>,
    /// Password expiry: `YYYY-MM-DD` (midnight UTC) or an RFC 3339 date-time.
    #[serde(default)]
    pub password_expires: Option<String>,
    /// Password expiry relative to when the lab loads (negative: already expired).
    #[serde(default)]
    pub password_expires_in_days: Option<i64>,
    /// Start locked out.
    #[serde(default)]
    pub locked: bool,
    /// Assigned services.
    #[serde(default)]
    pub services: ServiceList,
    /// Initial call logs.
    #[serde(default)]
    pub call_logs: Vec<CallLogSpec>,
    /// Initial voice messages.
    #[serde(default)]
    pub voice_messages: Vec<VoiceMessageSpec>,
}

/// An initial call log entry.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CallLogSpec {
    /// `placed`, `received` or `missed`.
    #[serde(rename = "type")]
    pub kind: CallLogKind,
    /// The other party's name (1–62 characters).
    pub name: String,
    /// The other party's number or SIP URI.
    pub number: String,
    /// RFC 3339 date-time.
    pub time: String,
}

/// An initial voice message.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase", deny_unknown_fields)]
pub struct VoiceMessageSpec {
    /// Who called.
    pub from: CallingParty,
    /// RFC 3339 date-time (default: load time).
    pub time: Option<String>,
    /// Length in milliseconds.
    pub duration_ms: Option<u32>,
    /// Already listened to.
    pub read: bool,
    /// Urgent.
    pub urgent: bool,
    /// Confidential.
    pub confidential: bool,
    /// `WAV`, `MP3`, `MOV` or `TIF`.
    pub media_type: MediaType,
}

/// An access device.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct DeviceSpec {
    /// Device profile name (unique in the lab).
    pub name: String,
    /// Identity/device profile type.
    #[serde(rename = "type")]
    pub device_type: String,
    /// MAC address.
    #[serde(default)]
    pub mac: Option<String>,
    /// Profile level (default `group`).
    #[serde(default)]
    pub level: Option<DeviceLevel>,
    /// Owning enterprise (default: the first line's user's).
    #[serde(default)]
    pub enterprise: Option<String>,
    /// Owning group (default: the first line's user's).
    #[serde(default)]
    pub group: Option<String>,
    /// Device-management credentials.
    #[serde(default)]
    pub credentials: Option<DeviceCredentials>,
    /// User agent / firmware version.
    #[serde(default)]
    pub version: Option<String>,
    /// Lines.
    #[serde(default)]
    pub lines: Vec<LineSpec>,
}

fn yes() -> bool {
    true
}

/// A device line.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct LineSpec {
    /// `lineport@domain`, unique in the lab.
    pub line_port: String,
    /// User id (or alternate id) of the line's user.
    pub user: String,
    /// `primary` (default) or `sharedCallAppearance`.
    #[serde(default)]
    pub endpoint: EndpointType,
    /// Device owner flag (default: true for primary, false for shared).
    #[serde(default)]
    pub owner: Option<bool>,
    /// SIP digest user name.
    #[serde(default)]
    pub auth_username: Option<String>,
    /// SIP digest password.
    #[serde(default)]
    pub auth_password: Option<String>,
    /// Offer incoming calls to this endpoint.
    #[serde(default = "yes")]
    pub allow_termination: bool,
}

/// An administrator. The scope follows from the references: `group` (with `enterprise`
/// when ambiguous) → group admin; `enterprise` alone → provider/enterprise admin; neither →
/// system admin.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct AdminSpec {
    /// Login id (shares the namespace with user ids).
    pub login: String,
    /// Password.
    pub password: String,
    /// First name.
    #[serde(default)]
    pub first_name: Option<String>,
    /// Last name.
    #[serde(default)]
    pub last_name: Option<String>,
    /// Enterprise / service provider id.
    #[serde(default)]
    pub enterprise: Option<String>,
    /// Group id.
    #[serde(default)]
    pub group: Option<String>,
    /// Administrator type (default `normal`).
    #[serde(default, rename = "type")]
    pub admin_type: AdminType,
    /// Read-only.
    #[serde(default)]
    pub read_only: bool,
    /// Language.
    #[serde(default)]
    pub language: Option<String>,
}
