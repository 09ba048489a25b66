//! Building lab data in Rust: nested closures that mirror the BroadWorks hierarchy.
//!
//! ```
//! use bwlab_core::clock::LabClock;
//! use bwlab_model::{LabData, services::DoNotDisturb};
//!
//! let store = LabData::builder()
//!     .enterprise("ent1", |e| {
//!         e.group("grp1", |g| {
//!             g.ldc("12").user("alice@lab.example", |u| {
//!                 u.name("Alice", "Liddell")
//!                     .number("+15550100")
//!                     .extension("100")
//!                     .password("s3cret!")
//!                     .service(DoNotDisturb { active: true, ring_splash: false })
//!             })
//!         })
//!     })
//!     .build(LabClock::system())
//!     .unwrap();
//! assert_eq!(store.find_user("ALICE@lab.example").unwrap().extension.as_deref(), Some("100"));
//! ```
//!
//! The builder only collects [`LabData`]; [`LabBuilder::build`] runs the same validation as
//! a lab file, so mistakes come back as [`LabErrors`] with field paths.

use bwlab_core::clock::LabClock;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::admin::AdminType;
use crate::device::{DeviceCredentials, DeviceLevel, EndpointType};
use crate::error::LabErrors;
use crate::logs::{CallLogKind, CallingParty, MediaType};
use crate::services::{ServiceKind, ServiceSettings};
use crate::spec::{
    AdminSpec, CallLogSpec, CallingLineIdSpec, DeviceSpec, EnterpriseSpec, GroupSpec, LabData,
    LineSpec, UserSpec, VoiceMessageSpec,
};
use crate::store::Store;

impl LabData {
    /// Starts building lab data in Rust.
    pub fn builder() -> LabBuilder {
        LabBuilder::default()
    }
}

fn rfc3339(t: OffsetDateTime) -> String {
    t.format(&Rfc3339).unwrap_or_else(|_| t.to_string())
}

/// Collects a whole lab.
#[derive(Clone, Debug, Default)]
pub struct LabBuilder {
    data: LabData,
}

impl LabBuilder {
    /// System-wide settings.
    pub fn system(mut self, f: impl FnOnce(SystemBuilder) -> SystemBuilder) -> Self {
        self.data.system = f(SystemBuilder(self.data.system)).0;
        self
    }

    /// An enterprise with its groups and users.
    pub fn enterprise(
        self,
        id: &str,
        f: impl FnOnce(EnterpriseBuilder) -> EnterpriseBuilder,
    ) -> Self {
        self.org(id, true, f)
    }

    /// A service provider (not an enterprise) with its groups and users.
    pub fn service_provider(
        self,
        id: &str,
        f: impl FnOnce(EnterpriseBuilder) -> EnterpriseBuilder,
    ) -> Self {
        self.org(id, false, f)
    }

    fn org(
        mut self,
        id: &str,
        is_enterprise: bool,
        f: impl FnOnce(EnterpriseBuilder) -> EnterpriseBuilder,
    ) -> Self {
        let b = f(EnterpriseBuilder {
            spec: EnterpriseSpec {
                id: id.into(),
                is_enterprise: Some(is_enterprise),
                ..EnterpriseSpec::default()
            },
            users: Vec::new(),
        });
        self.data.enterprises.push(b.spec);
        self.data.users.extend(b.users);
        self
    }

    /// A device (`device_type` e.g. `Cisco 8851`, `Business Communicator - PC`).
    pub fn device(
        mut self,
        name: &str,
        device_type: &str,
        f: impl FnOnce(DeviceBuilder) -> DeviceBuilder,
    ) -> Self {
        let b = f(DeviceBuilder(DeviceSpec {
            name: name.into(),
            device_type: device_type.into(),
            ..DeviceSpec::default()
        }));
        self.data.devices.push(b.0);
        self
    }

    /// An administrator (system level unless the closure scopes it).
    pub fn admin(
        mut self,
        login: &str,
        password: &str,
        f: impl FnOnce(AdminBuilder) -> AdminBuilder,
    ) -> Self {
        let b = f(AdminBuilder(AdminSpec {
            login: login.into(),
            password: password.into(),
            ..AdminSpec::default()
        }));
        self.data.admins.push(b.0);
        self
    }

    /// A user given as raw data (its `group`/`enterprise` must name existing ones).
    pub fn user_spec(mut self, user: UserSpec) -> Self {
        self.data.users.push(user);
        self
    }

    /// The collected data, unvalidated.
    pub fn data(self) -> LabData {
        self.data
    }

    /// Validates and indexes the lab.
    pub fn build(self, clock: LabClock) -> Result<Store, LabErrors> {
        Store::from_data(self.data, clock)
    }
}

/// System-wide settings.
#[derive(Clone, Debug)]
pub struct SystemBuilder(crate::spec::SystemSpec);

impl SystemBuilder {
    /// BroadWorks `enforcePasswordChangeOnExpiry`.
    pub fn enforce_password_change_on_expiry(mut self, on: bool) -> Self {
        self.0.enforce_password_change_on_expiry = on;
        self
    }

    /// Failed logins before lockout (0: never).
    pub fn lockout_threshold(mut self, n: u32) -> Self {
        self.0.lockout_threshold = n;
        self
    }

    /// Warning window before expiry, in days.
    pub fn password_warning_days(mut self, days: i64) -> Self {
        self.0.password_warning_days = days;
        self
    }

    /// Lifetime of changed passwords, in days.
    pub fn password_expires_after_days(mut self, days: u32) -> Self {
        self.0.password_expires_after_days = Some(days);
        self
    }

    /// Call log entries kept per user and kind.
    pub fn call_log_limit(mut self, n: u32) -> Self {
        self.0.call_log_limit = n;
        self
    }

    /// Default IANA time zone.
    pub fn default_time_zone(mut self, tz: &str) -> Self {
        self.0.default_time_zone = Some(tz.into());
        self
    }

    /// Default language.
    pub fn default_language(mut self, language: &str) -> Self {
        self.0.default_language = Some(language.into());
        self
    }
}

/// A service provider / enterprise.
#[derive(Clone, Debug)]
pub struct EnterpriseBuilder {
    spec: EnterpriseSpec,
    users: Vec<UserSpec>,
}

impl EnterpriseBuilder {
    /// Display name.
    pub fn name(mut self, name: &str) -> Self {
        self.spec.name = Some(name.into());
        self
    }

    /// Default domain.
    pub fn domain(mut self, domain: &str) -> Self {
        self.spec.default_domain = Some(domain.into());
        self
    }

    /// Default time zone for its users.
    pub fn time_zone(mut self, tz: &str) -> Self {
        self.spec.time_zone = Some(tz.into());
        self
    }

    /// A group with its users.
    pub fn group(mut self, id: &str, f: impl FnOnce(GroupBuilder) -> GroupBuilder) -> Self {
        let b = f(GroupBuilder {
            spec: GroupSpec {
                id: id.into(),
                ..GroupSpec::default()
            },
            enterprise: self.spec.id.clone(),
            users: Vec::new(),
        });
        self.spec.groups.push(b.spec);
        self.users.extend(b.users);
        self
    }
}

/// A group.
#[derive(Clone, Debug)]
pub struct GroupBuilder {
    spec: GroupSpec,
    enterprise: String,
    users: Vec<UserSpec>,
}

impl GroupBuilder {
    /// Display name.
    pub fn name(mut self, name: &str) -> Self {
        self.spec.name = Some(name.into());
        self
    }

    /// Location dialing code.
    pub fn ldc(mut self, code: &str) -> Self {
        self.spec.location_dialing_code = Some(code.into());
        self
    }

    /// Default domain.
    pub fn domain(mut self, domain: &str) -> Self {
        self.spec.default_domain = Some(domain.into());
        self
    }

    /// Default time zone for its users.
    pub fn time_zone(mut self, tz: &str) -> Self {
        self.spec.time_zone = Some(tz.into());
        self
    }

    /// Group calling line identity.
    pub fn calling_line_id(mut self, name: &str, number: &str) -> Self {
        self.spec.calling_line_id_name = Some(name.into());
        self.spec.calling_line_id_number = Some(number.into());
        self
    }

    /// A user of this group.
    pub fn user(mut self, user_id: &str, f: impl FnOnce(UserBuilder) -> UserBuilder) -> Self {
        let b = f(UserBuilder(UserSpec {
            user_id: user_id.into(),
            enterprise: Some(self.enterprise.clone()),
            group: self.spec.id.clone(),
            ..UserSpec::default()
        }));
        self.users.push(b.0);
        self
    }
}

/// A user.
#[derive(Clone, Debug)]
pub struct UserBuilder(UserSpec);

impl UserBuilder {
    /// First and last name.
    pub fn name(mut self, first: &str, last: &str) -> Self {
        self.0.first_name = first.into();
        self.0.last_name = last.into();
        self
    }

    /// Portal password.
    pub fn password(mut self, password: &str) -> Self {
        self.0.password = password.into();
        self
    }

    /// Voice-portal passcode.
    pub fn passcode(mut self, passcode: &str) -> Self {
        self.0.passcode = Some(passcode.into());
        self
    }

    /// Password expiry instant.
    pub fn password_expires(mut self, at: OffsetDateTime) -> Self {
        self.0.password_expires = Some(rfc3339(at));
        self
    }

    /// Password expiry relative to the build time (negative: already expired).
    pub fn password_expires_in_days(mut self, days: i64) -> Self {
        self.0.password_expires_in_days = Some(days);
        self
    }

    /// Start locked out.
    pub fn locked(mut self) -> Self {
        self.0.locked = true;
        self
    }

    /// E-mail.
    pub fn email(mut self, email: &str) -> Self {
        self.0.email = Some(email.into());
        self
    }

    /// Another login id.
    pub fn alternate_id(mut self, id: &str) -> Self {
        self.0.alternate_ids.push(id.into());
        self
    }

    /// Primary number (E.164).
    pub fn number(mut self, number: &str) -> Self {
        self.0.number = Some(number.into());
        self
    }

    /// Extension.
    pub fn extension(mut self, extension: &str) -> Self {
        self.0.extension = Some(extension.into());
        self
    }

    /// Mobile number (E.164).
    pub fn mobile(mut self, number: &str) -> Self {
        self.0.mobile = Some(number.into());
        self
    }

    /// Language.
    pub fn language(mut self, language: &str) -> Self {
        self.0.language = Some(language.into());
        self
    }

    /// IANA time zone.
    pub fn time_zone(mut self, tz: &str) -> Self {
        self.0.time_zone = Some(tz.into());
        self
    }

    /// Time zone display name.
    pub fn time_zone_display_name(mut self, name: &str) -> Self {
        self.0.time_zone_display_name = Some(name.into());
        self
    }

    /// Job title.
    pub fn title(mut self, title: &str) -> Self {
        self.0.title = Some(title.into());
        self
    }

    /// Department.
    pub fn department(mut self, department: &str) -> Self {
        self.0.department = Some(department.into());
        self
    }

    /// IM&P id.
    pub fn imp_id(mut self, id: &str) -> Self {
        self.0.imp_id = Some(id.into());
        self
    }

    /// Calling line identity override.
    pub fn calling_line_id(mut self, first: &str, last: &str, number: Option<&str>) -> Self {
        self.0.calling_line_id = Some(CallingLineIdSpec {
            first_name: Some(first.into()),
            last_name: Some(last.into()),
            number: number.map(Into::into),
        });
        self
    }

    /// Assigns a service with these settings.
    pub fn service(mut self, settings: impl Into<ServiceSettings>) -> Self {
        self.0.services.0.push(settings.into());
        self
    }

    /// Assigns a service with default settings.
    pub fn assign(mut self, kind: ServiceKind) -> Self {
        self.0.services.0.push(kind.default_settings());
        self
    }

    /// An initial call log entry.
    pub fn call_log(
        mut self,
        kind: CallLogKind,
        name: &str,
        number: &str,
        time: OffsetDateTime,
    ) -> Self {
        self.0.call_logs.push(CallLogSpec {
            kind,
            name: name.into(),
            number: number.into(),
            time: rfc3339(time),
        });
        self
    }

    /// An initial voice message (needs Voice Messaging).
    pub fn voice_message(
        mut self,
        from_name: &str,
        from_number: &str,
        time: OffsetDateTime,
        duration_ms: u32,
        read: bool,
    ) -> Self {
        self.0.voice_messages.push(VoiceMessageSpec {
            from: CallingParty {
                name: Some(from_name.into()),
                address: Some(from_number.into()),
                ..CallingParty::default()
            },
            time: Some(rfc3339(time)),
            duration_ms: Some(duration_ms),
            read,
            media_type: MediaType::Wav,
            ..VoiceMessageSpec::default()
        });
        self
    }
}

/// A device.
#[derive(Clone, Debug)]
pub struct DeviceBuilder(DeviceSpec);

impl DeviceBuilder {
    /// MAC address (any common notation).
    pub fn mac(mut self, mac: &str) -> Self {
        self.0.mac = Some(mac.into());
        self
    }

    /// Profile level.
    pub fn level(mut self, level: DeviceLevel) -> Self {
        self.0.level = Some(level);
        self
    }

    /// Owning group (default: the first line's user's group).
    pub fn group(mut self, enterprise: &str, group: &str) -> Self {
        self.0.enterprise = Some(enterprise.into());
        self.0.group = Some(group.into());
        self
    }

    /// Device-management credentials.
    pub fn credentials(mut self, user_name: &str, password: &str) -> Self {
        self.0.credentials = Some(DeviceCredentials {
            user_name: user_name.into(),
            password: password.into(),
        });
        self
    }

    /// User agent / firmware version.
    pub fn version(mut self, version: &str) -> Self {
        self.0.version = Some(version.into());
        self
    }

    /// The user's primary line.
    pub fn line(self, line_port: &str, user: &str) -> Self {
        self.line_with(line_port, user, EndpointType::Primary, |l| l)
    }

    /// A shared call appearance of `user`'s line.
    pub fn shared_line(self, line_port: &str, user: &str) -> Self {
        self.line_with(line_port, user, EndpointType::SharedCallAppearance, |l| l)
    }

    /// A line with full control (owner flag, SIP credentials, allowTermination).
    pub fn line_with(
        mut self,
        line_port: &str,
        user: &str,
        endpoint: EndpointType,
        f: impl FnOnce(LineSpec) -> LineSpec,
    ) -> Self {
        self.0.lines.push(f(LineSpec {
            line_port: line_port.into(),
            user: user.into(),
            endpoint,
            owner: None,
            auth_username: None,
            auth_password: None,
            allow_termination: true,
        }));
        self
    }
}

/// An administrator.
#[derive(Clone, Debug)]
pub struct AdminBuilder(AdminSpec);

impl AdminBuilder {
    /// System administrator (the default).
    pub fn system(mut self) -> Self {
        self.0.enterprise = None;
        self.0.group = None;
        self
    }

    /// Service provider / enterprise administrator.
    pub fn enterprise(mut self, id: &str) -> Self {
        self.0.enterprise = Some(id.into());
        self.0.group = None;
        self
    }

    /// Group administrator.
    pub fn group(mut self, enterprise: &str, group: &str) -> Self {
        self.0.enterprise = Some(enterprise.into());
        self.0.group = Some(group.into());
        self
    }

    /// Administrator type.
    pub fn admin_type(mut self, t: AdminType) -> Self {
        self.0.admin_type = t;
        self
    }

    /// A `Provisioning` system administrator (the flow-through account).
    pub fn provisioning(self) -> Self {
        self.system().admin_type(AdminType::Provisioning)
    }

    /// Read-only.
    pub fn read_only(mut self, on: bool) -> Self {
        self.0.read_only = on;
        self
    }

    /// Name.
    pub fn name(mut self, first: &str, last: &str) -> Self {
        self.0.first_name = Some(first.into());
        self.0.last_name = Some(last.into());
        self
    }
}
