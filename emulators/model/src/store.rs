//! The Application Server's source of truth: a cheaply cloneable handle over the lab's
//! organisations, users, devices and administrators.
//!
//! Built for many concurrent readers on few cores: lookups go through indices that are
//! frozen at load (plus a small overlay for users and devices added later), users live in
//! an append-only table read without locks, and each user's mutable state has its own locks.
//! The only store-wide lock serialises *writers* that add users or devices.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU32, Ordering};

use bwlab_core::clock::LabClock;
use parking_lot::Mutex;
use time::OffsetDateTime;

use crate::admin::Admin;
use crate::device::{Device, EndpointType, Registration};
use crate::error::{ErrorKind, FieldPath, Issue, LabErrors};
use crate::ids::{
    AdminIdx, DeviceIdx, EnterpriseIdx, GroupIdx, Mac, UserIdx, login_key, number_key,
};
use crate::index::{AppendVec, FastMap, LookupMap};
use crate::logs::{
    CallLogEntry, CallLogKind, MailboxFull, MessageSummary, NewCallLog, NewVoiceMessage,
    VoiceMessage,
};
use crate::org::{Enterprise, Group};
use crate::password::{
    AuthOutcome, PasswordError, PasswordPolicy, Secret, check_passcode_text, check_password_text,
};
use crate::push::PushRegistration;
use crate::services::{
    BusyLampField, Service, ServiceKind, ServiceSettings, SettingsProblem, VoiceMessaging,
};
use crate::spec::{DeviceSpec, LabData, UserSpec};
use crate::user::{EndpointRef, User};
use crate::validate::{
    DeviceCtx, KeyView, Known, Model, OrgIndex, SystemSettings, UserCtx, parse_device, parse_user,
};

/// Why a per-user operation failed.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum StoreError {
    /// The user index does not belong to this store.
    #[error("no such user")]
    NoSuchUser,
    /// The service is not assigned to the user.
    #[error("service {0} is not assigned")]
    NotAssigned(ServiceKind),
    /// The settings break a rule.
    #[error("invalid settings: {}", .0.iter().map(ToString::to_string).collect::<Vec<_>>().join("; "))]
    InvalidSettings(Vec<SettingsProblem>),
    /// The voice mailbox is full.
    #[error(transparent)]
    MailboxFull(#[from] MailboxFull),
}

/// The lab's subscriber data. Clone freely: clones share everything.
#[derive(Clone)]
pub struct Store {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store")
            .field("enterprises", &self.inner.enterprises.len())
            .field("groups", &self.inner.groups.len())
            .field("users", &self.inner.users.len())
            .field("devices", &self.inner.devices.len())
            .field("admins", &self.inner.admins.len())
            .finish()
    }
}

/// Password policy in atomics: read on every login, changed by scenarios.
struct Policy {
    enforce: AtomicBool,
    lockout_threshold: AtomicU32,
    warning_days: AtomicI64,
    /// 0 = changed passwords never expire.
    expires_after_days: AtomicU32,
}

struct Inner {
    clock: LabClock,
    policy: Policy,
    call_log_limit: AtomicU32,
    system: SystemSettings,
    enterprises: Vec<Enterprise>,
    groups: Vec<Group>,
    org: OrgIndex,
    users: AppendVec<Arc<User>>,
    logins: LookupMap<Box<str>, UserIdx>,
    numbers: LookupMap<Box<str>, UserIdx>,
    devices: AppendVec<Arc<Device>>,
    device_names: LookupMap<Box<str>, DeviceIdx>,
    macs: LookupMap<Mac, DeviceIdx>,
    line_ports: LookupMap<Box<str>, (DeviceIdx, u16)>,
    admins: Vec<Arc<Admin>>,
    admin_logins: FastMap<Box<str>, AdminIdx>,
    /// Serialises additions (users, devices) so uniqueness checks and inserts are atomic.
    writer: Mutex<()>,
}

impl Store {
    /// Validates lab data built in Rust (see [`LabData::builder`]) and indexes it.
    pub fn from_data(data: LabData, clock: LabClock) -> Result<Self, LabErrors> {
        let model = crate::validate::validate(data, clock.now(), &Known::default())
            .map_err(|issues| LabErrors(issues.into_iter().map(Issue::into_lab_error).collect()))?;
        Ok(Self::from_model(model, clock))
    }

    /// Parses, validates and indexes a lab file held in memory; `file_name` is used in error
    /// positions (`lab.yaml:14:9: …`).
    pub fn from_yaml_str(src: &str, file_name: &str, clock: LabClock) -> Result<Self, LabErrors> {
        let model = crate::yaml::load(src, file_name, clock.now())?;
        Ok(Self::from_model(model, clock))
    }

    /// Reads and loads a lab file.
    pub fn from_yaml_file(
        path: impl AsRef<std::path::Path>,
        clock: LabClock,
    ) -> Result<Self, LabErrors> {
        let path = path.as_ref();
        let name = path.display().to_string();
        let src = std::fs::read_to_string(path).map_err(|e| {
            LabErrors::single(
                name.clone(),
                format!("cannot read lab file: {e}"),
                ErrorKind::Syntax,
            )
        })?;
        Self::from_yaml_str(&src, &name, clock)
    }

    fn from_model(m: Model, clock: LabClock) -> Self {
        let users = AppendVec::new();
        for u in m.users {
            users.push_with(|_| u);
        }
        let devices = AppendVec::new();
        for d in m.devices {
            devices.push_with(|_| Arc::new(d));
        }
        let p = &m.system.policy;
        Self {
            inner: Arc::new(Inner {
                clock,
                policy: Policy {
                    enforce: AtomicBool::new(p.enforce_password_change_on_expiry),
                    lockout_threshold: AtomicU32::new(p.lockout_threshold),
                    warning_days: AtomicI64::new(p.warning_days),
                    expires_after_days: AtomicU32::new(p.expires_after_days.unwrap_or(0)),
                },
                call_log_limit: AtomicU32::new(m.system.call_log_limit),
                system: m.system,
                enterprises: m.enterprises,
                groups: m.groups,
                org: m.org,
                users,
                logins: LookupMap::new(m.logins),
                numbers: LookupMap::new(m.numbers),
                devices,
                device_names: LookupMap::new(m.device_names),
                macs: LookupMap::new(m.macs),
                line_ports: LookupMap::new(m.line_ports),
                admins: m.admins.into_iter().map(Arc::new).collect(),
                admin_logins: m.admin_logins,
                writer: Mutex::new(()),
            }),
        }
    }

    // ----- clock and system settings -------------------------------------------------

    /// The lab clock the store was built with.
    pub fn clock(&self) -> &LabClock {
        &self.inner.clock
    }

    /// Current lab time.
    pub fn now(&self) -> OffsetDateTime {
        self.inner.clock.now()
    }

    /// The password policy in force.
    pub fn policy(&self) -> PasswordPolicy {
        let p = &self.inner.policy;
        let after = p.expires_after_days.load(Ordering::Relaxed);
        PasswordPolicy {
            enforce_password_change_on_expiry: p.enforce.load(Ordering::Relaxed),
            lockout_threshold: p.lockout_threshold.load(Ordering::Relaxed),
            warning_days: p.warning_days.load(Ordering::Relaxed),
            expires_after_days: (after > 0).then_some(after),
        }
    }

    /// Replaces the password policy (a scenario toggling `enforcePasswordChangeOnExpiry`).
    pub fn set_policy(&self, policy: &PasswordPolicy) {
        let p = &self.inner.policy;
        p.enforce
            .store(policy.enforce_password_change_on_expiry, Ordering::Relaxed);
        p.lockout_threshold
            .store(policy.lockout_threshold, Ordering::Relaxed);
        p.warning_days.store(policy.warning_days, Ordering::Relaxed);
        p.expires_after_days
            .store(policy.expires_after_days.unwrap_or(0), Ordering::Relaxed);
    }

    /// Sets the system flag `enforcePasswordChangeOnExpiry`.
    pub fn set_enforce_password_change_on_expiry(&self, on: bool) {
        self.inner.policy.enforce.store(on, Ordering::Relaxed);
    }

    /// System settings as loaded (the policy part may since have changed: see [`policy`](Self::policy)).
    pub fn system(&self) -> SystemSettings {
        let mut s = self.inner.system.clone();
        s.policy = self.policy();
        s.call_log_limit = self.inner.call_log_limit.load(Ordering::Relaxed);
        s
    }

    // ----- organisations -------------------------------------------------------------

    /// All service providers / enterprises.
    pub fn enterprises(&self) -> &[Enterprise] {
        &self.inner.enterprises
    }

    /// All groups.
    pub fn groups(&self) -> &[Group] {
        &self.inner.groups
    }

    /// An enterprise by slot.
    pub fn enterprise(&self, idx: EnterpriseIdx) -> Option<&Enterprise> {
        self.inner.enterprises.get(idx.get())
    }

    /// An enterprise / service provider by id.
    pub fn find_enterprise(&self, id: &str) -> Option<&Enterprise> {
        let idx = *self.inner.org.enterprises.get(id)?;
        self.enterprise(idx)
    }

    /// A group by slot.
    pub fn group(&self, idx: GroupIdx) -> Option<&Group> {
        self.inner.groups.get(idx.get())
    }

    /// A group by enterprise id and group id.
    pub fn find_group(&self, enterprise_id: &str, group_id: &str) -> Option<&Group> {
        self.find_enterprise(enterprise_id)?
            .groups
            .iter()
            .filter_map(|&g| self.group(g))
            .find(|g| *g.id == *group_id)
    }

    /// Users of a group, in creation order (directories page over this).
    pub fn group_users(&self, group: GroupIdx) -> Vec<UserIdx> {
        self.group(group)
            .map(|g| g.members.read().clone())
            .unwrap_or_default()
    }

    /// Users of an enterprise, group by group.
    pub fn enterprise_users(&self, enterprise: EnterpriseIdx) -> Vec<UserIdx> {
        let Some(e) = self.enterprise(enterprise) else {
            return Vec::new();
        };
        e.groups.iter().flat_map(|&g| self.group_users(g)).collect()
    }

    // ----- users -----------------------------------------------------------------------

    /// Number of users.
    pub fn user_count(&self) -> usize {
        self.inner.users.len()
    }

    /// A user by slot.
    pub fn user(&self, idx: UserIdx) -> Option<Arc<User>> {
        self.inner.users.get(idx.get()).cloned()
    }

    /// All users, in slot order.
    pub fn users(&self) -> impl Iterator<Item = Arc<User>> + '_ {
        self.inner.users.iter().cloned()
    }

    /// A user by user id or any alternate id, ignoring ASCII case (BroadWorks login rules).
    pub fn find_user(&self, login_id: &str) -> Option<Arc<User>> {
        let idx = self.inner.logins.get(login_key(login_id).as_ref())?;
        self.user(idx)
    }

    /// A user by primary number: `+15550100`, `15550100` or `tel:+1 555-0100`.
    pub fn find_by_number(&self, number: &str) -> Option<Arc<User>> {
        let idx = self.inner.numbers.get(number_key(number)?.as_str())?;
        self.user(idx)
    }

    /// A user by extension within a group.
    pub fn find_by_extension(&self, group: GroupIdx, extension: &str) -> Option<Arc<User>> {
        let idx = self.group(group)?.extensions.get(extension)?;
        self.user(idx)
    }

    /// A user by `<location dialing code><extension>` within an enterprise.
    pub fn find_by_location_code(
        &self,
        enterprise: EnterpriseIdx,
        dialed: &str,
    ) -> Option<Arc<User>> {
        let idx = self.enterprise(enterprise)?.location_codes.get(dialed)?;
        self.user(idx)
    }

    /// Whom `caller` reaches by dialling `dialed`: an extension of its group, then a
    /// location code + extension in its enterprise, then a primary number.
    pub fn dial(&self, caller: &User, dialed: &str) -> Option<Arc<User>> {
        self.find_by_extension(caller.group, dialed)
            .or_else(|| self.find_by_location_code(caller.enterprise, dialed))
            .or_else(|| self.find_by_number(dialed))
    }

    fn get_user(&self, idx: UserIdx) -> Result<&Arc<User>, StoreError> {
        self.inner
            .users
            .get(idx.get())
            .ok_or(StoreError::NoSuchUser)
    }

    /// Adds a user at run time (a scenario's "add a user"). Checked like a lab file entry;
    /// error paths start with `user`.
    pub fn add_user(&self, spec: UserSpec) -> Result<Arc<User>, LabErrors> {
        let inner = &*self.inner;
        let _w = inner.writer.lock();
        let base = FieldPath::root().key("user");
        let mut issues = Vec::new();
        let known = Known::default();
        let system = self.system();
        let cx = UserCtx {
            enterprises: &inner.enterprises,
            groups: &inner.groups,
            org: &inner.org,
            system: &system,
            now: self.now(),
            known: &known,
        };
        let parsed = parse_user(spec, &base, &cx, &mut issues);
        // Clashes are checked even when a field is bad, so one call reports everything.
        let view = match &parsed {
            Ok(u) => KeyView::of_user(u),
            Err(k) => KeyView::of_keys(k),
        };
        let ids = std::iter::once((None, view.user_id)).chain(
            view.alternate_ids
                .iter()
                .enumerate()
                .map(|(j, a)| (Some(j), a.as_str())),
        );
        for (alt, login) in ids {
            let path = || match alt {
                None => base.clone().key("userId"),
                Some(j) => base.clone().key("alternateIds").index(j),
            };
            if let Some(other) = self.find_user(login) {
                issues.push(Issue::new(
                    path(),
                    ErrorKind::Duplicate,
                    format!("{login:?} is already a login id of {}", other.user_id),
                ));
            } else if self.find_admin(login).is_some() {
                issues.push(Issue::new(
                    path(),
                    ErrorKind::Duplicate,
                    format!("{login:?} is already an administrator login"),
                ));
            }
        }
        if let Some(n) = view.number
            && let Some(other) = self.find_by_number(n.as_str())
        {
            issues.push(Issue::new(
                base.clone().key("number"),
                ErrorKind::Duplicate,
                format!(
                    "{:?} is already the number of {}",
                    n.as_str(),
                    other.user_id
                ),
            ));
        }
        if let (Some(ext), Some(g)) = (view.extension, view.group.and_then(|g| self.group(g))) {
            if let Some(other) = self.find_by_extension(g.idx, ext) {
                issues.push(Issue::new(
                    base.clone().key("extension"),
                    ErrorKind::Duplicate,
                    format!(
                        "extension {ext:?} is already used in group {} by {}",
                        g.id, other.user_id
                    ),
                ));
            } else if let Some(ldc) = &g.location_dialing_code
                && let Some(other) =
                    self.find_by_location_code(g.enterprise, &format!("{ldc}{ext}"))
            {
                issues.push(Issue::new(
                    base.clone().key("extension"),
                    ErrorKind::Duplicate,
                    format!(
                        "location code {ldc:?} + extension {ext:?} already reaches {} in group {}",
                        other.user_id, other.group_id
                    ),
                ));
            }
        }
        if let Ok(u) = &parsed
            && let Some(blf) = u.services.read().typed::<BusyLampField>()
        {
            for (j, m) in blf.monitored_users.iter().enumerate() {
                if self.find_user(m).is_none() {
                    issues.push(Issue::new(
                        base.clone()
                            .key("services")
                            .key("busyLampField")
                            .key("monitoredUsers")
                            .index(j),
                        ErrorKind::UnknownReference,
                        format!("no user {m:?}"),
                    ));
                }
            }
        }
        let user = match parsed {
            Ok(u) if issues.is_empty() => u,
            _ => {
                return Err(LabErrors(
                    issues.into_iter().map(Issue::into_lab_error).collect(),
                ));
            }
        };
        let mut slot = Some(user);
        let i = inner
            .users
            .push_with(|i| {
                let mut u = slot.take().expect("push_with calls its closure once");
                u.idx = UserIdx(u32::try_from(i).unwrap_or(u32::MAX));
                Arc::new(u)
            })
            .ok_or_else(|| {
                LabErrors::single("user".into(), "the lab is full".into(), ErrorKind::Invalid)
            })?;
        let user = self
            .user(UserIdx(u32::try_from(i).unwrap_or(u32::MAX)))
            .ok_or_else(|| {
                LabErrors::single("user".into(), "the lab is full".into(), ErrorKind::Invalid)
            })?;
        let idx = user.idx;
        inner
            .logins
            .insert(login_key(&user.user_id).into_owned().into(), idx);
        for a in &user.alternate_ids {
            inner.logins.insert(login_key(a).into_owned().into(), idx);
        }
        if let Some(n) = &user.number {
            inner.numbers.insert(n.digits().into(), idx);
        }
        let group = &inner.groups[user.group.get()];
        if let Some(ext) = &user.extension {
            group.extensions.insert(ext.as_str().into(), idx);
            if let Some(ldc) = &group.location_dialing_code {
                inner.enterprises[user.enterprise.get()]
                    .location_codes
                    .insert(format!("{ldc}{ext}").into(), idx);
            }
        }
        group.members.write().push(idx);
        Ok(user)
    }

    // ----- services --------------------------------------------------------------------

    /// Assigned services of a user.
    pub fn assigned_services(&self, user: UserIdx) -> Result<Vec<ServiceKind>, StoreError> {
        Ok(self.get_user(user)?.services.read().kinds().collect())
    }

    /// Settings of an assigned service.
    pub fn service_settings(
        &self,
        user: UserIdx,
        kind: ServiceKind,
    ) -> Result<ServiceSettings, StoreError> {
        self.get_user(user)?
            .services
            .read()
            .get(kind)
            .cloned()
            .ok_or(StoreError::NotAssigned(kind))
    }

    /// Typed settings of an assigned service.
    pub fn service<S: Service>(&self, user: UserIdx) -> Result<S, StoreError> {
        self.get_user(user)?
            .services
            .read()
            .typed::<S>()
            .cloned()
            .ok_or(StoreError::NotAssigned(S::KIND))
    }

    fn check_settings(&self, settings: &ServiceSettings) -> Result<(), StoreError> {
        let mut problems = settings.problems();
        if let ServiceSettings::BusyLampField(b) = settings {
            for (j, m) in b.monitored_users.iter().enumerate() {
                if self.find_user(m).is_none() {
                    problems.push(SettingsProblem {
                        path: FieldPath::root().key("monitoredUsers").index(j),
                        message: format!("no user {m:?}"),
                        kind: ErrorKind::UnknownReference,
                    });
                }
            }
        }
        if problems.is_empty() {
            Ok(())
        } else {
            Err(StoreError::InvalidSettings(problems))
        }
    }

    /// Changes the settings of an assigned service (Xsi PUT). Settings are checked first.
    pub fn put_service(
        &self,
        user: UserIdx,
        settings: impl Into<ServiceSettings>,
    ) -> Result<(), StoreError> {
        let settings = settings.into();
        let u = self.get_user(user)?;
        self.check_settings(&settings)?;
        let mut services = u.services.write();
        if !services.has(settings.kind()) {
            return Err(StoreError::NotAssigned(settings.kind()));
        }
        services.put(settings);
        Ok(())
    }

    /// Read-modify-write of one assigned service under the user's service lock: `f` gets
    /// the current settings, changes them, and the result is checked and stored before the
    /// lock is released. Concurrent updates of the same user therefore never lose each
    /// other's fields (a partial Xsi PUT merges into what the previous PUT left).
    ///
    /// `f` returning an error leaves the settings untouched, and so do settings that break
    /// a rule ([`StoreError::InvalidSettings`]). Keep `f` short: it holds the user's
    /// service lock (other users are unaffected).
    pub fn update_service<S: Service, R, E: From<StoreError>>(
        &self,
        user: UserIdx,
        f: impl FnOnce(&mut S) -> Result<R, E>,
    ) -> Result<R, E> {
        let u = self.get_user(user)?;
        let mut services = u.services.write();
        let mut settings = services
            .typed::<S>()
            .cloned()
            .ok_or(StoreError::NotAssigned(S::KIND))?;
        let out = f(&mut settings)?;
        let settings: ServiceSettings = settings.into();
        self.check_settings(&settings)?;
        services.put(settings);
        Ok(out)
    }

    /// Assigns a service with default settings. `Ok(false)` if it was already assigned
    /// (its settings are kept).
    pub fn assign_service(&self, user: UserIdx, kind: ServiceKind) -> Result<bool, StoreError> {
        let u = self.get_user(user)?;
        let mut services = u.services.write();
        if services.has(kind) {
            return Ok(false);
        }
        services.put(kind.default_settings());
        Ok(true)
    }

    /// Assigns a service with the given settings (replacing any). `Ok(true)` if newly assigned.
    pub fn assign_service_with(
        &self,
        user: UserIdx,
        settings: impl Into<ServiceSettings>,
    ) -> Result<bool, StoreError> {
        let settings = settings.into();
        let u = self.get_user(user)?;
        self.check_settings(&settings)?;
        Ok(u.services.write().put(settings).is_none())
    }

    /// Unassigns a service. `Ok(false)` if it wasn't assigned. Settings are forgotten
    /// (BroadWorks re-applies defaults on the next assignment).
    pub fn unassign_service(&self, user: UserIdx, kind: ServiceKind) -> Result<bool, StoreError> {
        Ok(self.get_user(user)?.services.write().remove(kind).is_some())
    }

    // ----- call logs -------------------------------------------------------------------

    /// Records a call (oldest entries of that kind fall off past `callLogLimit`).
    pub fn append_call_log(
        &self,
        user: UserIdx,
        entry: NewCallLog,
    ) -> Result<CallLogEntry, StoreError> {
        let limit = self.inner.call_log_limit.load(Ordering::Relaxed) as usize;
        Ok(self.get_user(user)?.logs.lock().append_call(entry, limit))
    }

    /// Call logs of one kind, or all, newest first.
    pub fn call_logs(
        &self,
        user: UserIdx,
        kind: Option<CallLogKind>,
    ) -> Result<Vec<CallLogEntry>, StoreError> {
        Ok(self.get_user(user)?.logs.lock().calls(kind))
    }

    /// Deletes one entry; `Ok(false)` if there was none with that id.
    pub fn delete_call_log(
        &self,
        user: UserIdx,
        kind: CallLogKind,
        id: &str,
    ) -> Result<bool, StoreError> {
        Ok(self.get_user(user)?.logs.lock().delete_call(kind, id))
    }

    /// Deletes all entries of one kind, or all.
    pub fn clear_call_logs(
        &self,
        user: UserIdx,
        kind: Option<CallLogKind>,
    ) -> Result<(), StoreError> {
        self.get_user(user)?.logs.lock().clear_calls(kind);
        Ok(())
    }

    // ----- voice messages --------------------------------------------------------------

    /// Leaves a voice message. Needs Voice Messaging; refused when the mailbox is full.
    pub fn deposit_voice_message(
        &self,
        user: UserIdx,
        msg: NewVoiceMessage,
    ) -> Result<VoiceMessage, StoreError> {
        let u = self.get_user(user)?;
        let limit = u
            .services
            .read()
            .typed::<VoiceMessaging>()
            .map(|v| v.mailbox_limit)
            .ok_or(StoreError::NotAssigned(ServiceKind::VoiceMessaging))?;
        Ok(u.logs.lock().deposit(msg, self.now(), limit)?)
    }

    /// Messages, newest first.
    pub fn voice_messages(&self, user: UserIdx) -> Result<Vec<VoiceMessage>, StoreError> {
        Ok(self.get_user(user)?.logs.lock().messages())
    }

    /// One message by id.
    pub fn voice_message(
        &self,
        user: UserIdx,
        id: &str,
    ) -> Result<Option<VoiceMessage>, StoreError> {
        Ok(self.get_user(user)?.logs.lock().message(id))
    }

    /// Marks one message read or unread; `Ok(false)` if there is no such message.
    pub fn mark_voice_message(
        &self,
        user: UserIdx,
        id: &str,
        read: bool,
    ) -> Result<bool, StoreError> {
        Ok(self.get_user(user)?.logs.lock().mark(id, read))
    }

    /// Marks every message read or unread.
    pub fn mark_all_voice_messages(&self, user: UserIdx, read: bool) -> Result<(), StoreError> {
        self.get_user(user)?.logs.lock().mark_all(read);
        Ok(())
    }

    /// Deletes one message; `Ok(false)` if there is no such message.
    pub fn delete_voice_message(&self, user: UserIdx, id: &str) -> Result<bool, StoreError> {
        Ok(self.get_user(user)?.logs.lock().delete_message(id))
    }

    /// New/old (urgent) counts for the message-waiting indicator.
    pub fn message_summary(&self, user: UserIdx) -> Result<MessageSummary, StoreError> {
        Ok(self.get_user(user)?.logs.lock().summary())
    }

    // ----- push notification registrations --------------------------------------------

    /// The user's push notification registrations, oldest first.
    pub fn push_registrations(&self, user: UserIdx) -> Result<Vec<PushRegistration>, StoreError> {
        Ok(self.get_user(user)?.logs.lock().push_registrations())
    }

    /// Adds a registration, replacing one with the same `registration_id`; `Ok(true)` when
    /// one was replaced.
    pub fn add_push_registration(
        &self,
        user: UserIdx,
        reg: PushRegistration,
    ) -> Result<bool, StoreError> {
        Ok(self.get_user(user)?.logs.lock().add_push_registration(reg))
    }

    /// Deregisters: registrations with this `registration_id` (all when `None`); with
    /// `token`, only that token (a registration left without tokens goes too). Returns how
    /// many registrations (or, with `token`, tokens) were removed.
    pub fn delete_push_registration(
        &self,
        user: UserIdx,
        registration_id: Option<&str>,
        token: Option<&str>,
    ) -> Result<usize, StoreError> {
        Ok(self
            .get_user(user)?
            .logs
            .lock()
            .delete_push_registration(registration_id, token))
    }

    // ----- authentication and passwords ----------------------------------------------

    /// Checks a login. `login_id` is a user id or alternate id (with the portal password)
    /// or a directory number (with the voice-portal passcode); mixing is refused, as in
    /// BroadWorks. Failures count towards lockout.
    pub fn authenticate(
        &self,
        login_id: &str,
        password: &str,
        now: OffsetDateTime,
    ) -> AuthOutcome<Arc<User>> {
        let (user, secret) = match self.find_user(login_id) {
            Some(u) => (u, Secret::Portal),
            None => match self.find_by_number(login_id) {
                Some(u) => (u, Secret::Passcode),
                None => return AuthOutcome::UnknownUser,
            },
        };
        let policy = self.policy();
        let verdict = user.password.lock().check(password, secret, &policy, now);
        AuthOutcome::from_verdict(verdict, user)
    }

    /// The credential generation of the account a login names (user id, alternate id,
    /// directory number, or administrator login, looked up in that order), read *before*
    /// checking the login: whatever opens a session records it, and
    /// [`session_valid_for_user`](Self::session_valid_for_user) /
    /// [`session_valid_for_admin`](Self::session_valid_for_admin) later tell whether the
    /// account was locked, had a secret changed or expired (when enforced) since. Reading
    /// it first means a change racing with the login makes the session stale, never the
    /// other way round.
    pub fn credential_generation(&self, login: &str) -> Option<u64> {
        if let Some(u) = self.find_user(login).or_else(|| self.find_by_number(login)) {
            return Some(u.password.lock().generation);
        }
        self.find_admin(login).map(|a| a.password.lock().generation)
    }

    /// Whether a session a user opened at credential generation `generation` still
    /// stands at `now` (see [`PasswordState::still_admits`]).
    pub fn session_valid_for_user(
        &self,
        user: &User,
        generation: u64,
        now: OffsetDateTime,
    ) -> bool {
        user.password
            .lock()
            .still_admits(generation, &self.policy(), now)
    }

    /// Whether an administrator's session opened at `generation` still stands at `now`
    /// (the same rules as for users).
    pub fn session_valid_for_admin(
        &self,
        admin: &Admin,
        generation: u64,
        now: OffsetDateTime,
    ) -> bool {
        admin
            .password
            .lock()
            .still_admits(generation, &self.policy(), now)
    }

    /// Whole days until the user's password expires (Xsi `passwordExpiresDays`).
    pub fn days_to_expiry(
        &self,
        user: UserIdx,
        now: OffsetDateTime,
    ) -> Result<Option<i64>, StoreError> {
        Ok(self.get_user(user)?.password.lock().days_to_expiry(now))
    }

    /// The user changes their portal password (Xsi `PUT profile/Password/Portal`).
    /// `old`, when given, must match. The new password's lifetime starts now.
    pub fn change_password(
        &self,
        user: UserIdx,
        old: Option<&str>,
        new: &str,
        now: OffsetDateTime,
    ) -> Result<(), PasswordError> {
        let u = self
            .get_user(user)
            .map_err(|_| PasswordError::NoSuchAccount)?;
        check_password_text(new)?;
        let mut pw = u.password.lock();
        if old.is_some_and(|o| o != pw.portal) {
            return Err(PasswordError::OldPasswordMismatch);
        }
        if pw.portal == new {
            return Err(PasswordError::SameAsOld);
        }
        pw.set_portal(new, &self.policy(), now);
        Ok(())
    }

    /// An administrator (or scenario) sets a new portal password without knowing the old.
    pub fn reset_password(
        &self,
        user: UserIdx,
        new: &str,
        now: OffsetDateTime,
    ) -> Result<(), PasswordError> {
        let u = self
            .get_user(user)
            .map_err(|_| PasswordError::NoSuchAccount)?;
        check_password_text(new)?;
        u.password.lock().set_portal(new, &self.policy(), now);
        Ok(())
    }

    /// Sets the voice-portal passcode.
    pub fn set_passcode(&self, user: UserIdx, passcode: &str) -> Result<(), PasswordError> {
        let u = self
            .get_user(user)
            .map_err(|_| PasswordError::NoSuchAccount)?;
        check_passcode_text(passcode)?;
        u.password.lock().set_passcode(Some(passcode.to_owned()));
        Ok(())
    }

    /// Moves the password expiry (a scenario: "expire alice's password 3 days ago").
    pub fn set_password_expiry(
        &self,
        user: UserIdx,
        expires_at: Option<OffsetDateTime>,
    ) -> Result<(), StoreError> {
        self.get_user(user)?.password.lock().expires_at = expires_at;
        Ok(())
    }

    /// Unlocks a user and clears its failure counter.
    pub fn unlock(&self, user: UserIdx) -> Result<(), StoreError> {
        self.get_user(user)?.password.lock().unlock();
        Ok(())
    }

    /// Locks a user out (as if the threshold had been reached).
    pub fn lock(&self, user: UserIdx) -> Result<(), StoreError> {
        self.get_user(user)?.password.lock().lock();
        Ok(())
    }

    // ----- devices ---------------------------------------------------------------------

    /// Number of devices.
    pub fn device_count(&self) -> usize {
        self.inner.devices.len()
    }

    /// A device by slot.
    pub fn device(&self, idx: DeviceIdx) -> Option<Arc<Device>> {
        self.inner.devices.get(idx.get()).cloned()
    }

    /// All devices.
    pub fn devices(&self) -> impl Iterator<Item = Arc<Device>> + '_ {
        self.inner.devices.iter().cloned()
    }

    /// A device by profile name.
    pub fn find_device(&self, name: &str) -> Option<Arc<Device>> {
        self.device(self.inner.device_names.get(name)?)
    }

    /// A device by MAC, in any common notation.
    pub fn find_device_by_mac(&self, mac: &str) -> Option<Arc<Device>> {
        self.device(self.inner.macs.get(&Mac::parse(mac).ok()?)?)
    }

    /// The device and line index behind a line port (`lineport@domain`, case-insensitive).
    pub fn find_endpoint(&self, line_port: &str) -> Option<(Arc<Device>, usize)> {
        let (d, l) = self.inner.line_ports.get(login_key(line_port).as_ref())?;
        Some((self.device(d)?, usize::from(l)))
    }

    /// A user's endpoints (device + line index): primary and shared appearances.
    pub fn user_endpoints(&self, user: UserIdx) -> Result<Vec<(Arc<Device>, usize)>, StoreError> {
        let refs = self.get_user(user)?.endpoints();
        Ok(refs
            .into_iter()
            .filter_map(|r| Some((self.device(r.device)?, usize::from(r.line))))
            .collect())
    }

    /// Sets `allowTermination` of an endpoint (Xsi `PUT profile/Device/{linePort}`).
    /// `false` if there is no such line port.
    pub fn set_allow_termination(&self, line_port: &str, allow: bool) -> bool {
        match self.find_endpoint(line_port) {
            Some((d, l)) => {
                d.lines[l].allow_termination.store(allow, Ordering::Relaxed);
                true
            }
            None => false,
        }
    }

    /// Records a SIP registration of a line (the registrar's side of a REGISTER): a
    /// binding with the same Contact URI is replaced, others are kept; bindings that have
    /// expired are dropped. `false` if there is no such line port.
    pub fn register(&self, line_port: &str, registration: Registration) -> bool {
        let Some((d, l)) = self.find_endpoint(line_port) else {
            return false;
        };
        let now = self.now();
        let mut regs = d.lines[l].registrations.lock();
        regs.retain(|r| r.expires_at > now && r.uri != registration.uri);
        regs.push(registration);
        true
    }

    /// Removes a line's registrations: the binding with this Contact URI, or all with
    /// `None` (REGISTER with `Expires: 0`, `Contact: *`). Returns how many live bindings went.
    pub fn unregister(&self, line_port: &str, uri: Option<&str>) -> usize {
        let Some((d, l)) = self.find_endpoint(line_port) else {
            return 0;
        };
        let now = self.now();
        let mut regs = d.lines[l].registrations.lock();
        let before = regs.iter().filter(|r| r.expires_at > now).count();
        regs.retain(|r| r.expires_at > now && uri.is_some_and(|u| u != r.uri));
        before - regs.len()
    }

    /// A user's live registrations over all its endpoints (primary and shared
    /// appearances), in endpoint order: device, line index and binding.
    pub fn user_registrations(
        &self,
        user: UserIdx,
    ) -> Result<Vec<(Arc<Device>, usize, Registration)>, StoreError> {
        let now = self.now();
        Ok(self
            .user_endpoints(user)?
            .into_iter()
            .flat_map(|(d, l)| {
                d.lines[l]
                    .registrations(now)
                    .into_iter()
                    .map(move |r| (Arc::clone(&d), l, r))
                    .collect::<Vec<_>>()
            })
            .collect())
    }

    /// Adds a device at run time. Error paths start with `device`.
    pub fn add_device(&self, spec: &DeviceSpec) -> Result<Arc<Device>, LabErrors> {
        let inner = &*self.inner;
        let _w = inner.writer.lock();
        let base = FieldPath::root().key("device");
        let mut issues = Vec::new();
        let known = Known::default();
        let idx = DeviceIdx(u32::try_from(inner.devices.len()).unwrap_or(u32::MAX));
        let resolve = |login: &str| -> Result<UserIdx, Option<String>> {
            self.find_user(login)
                .map(|u| u.idx)
                .ok_or_else(|| Some(format!("no user {login:?}")))
        };
        let info = |u: UserIdx| {
            self.user(u).map(|u| {
                (
                    u.has_service(ServiceKind::SharedCallAppearance),
                    u.enterprise,
                    u.group,
                )
            })
        };
        let cx = DeviceCtx {
            enterprises: &inner.enterprises,
            groups: &inner.groups,
            org: &inner.org,
            known: &known,
            user_info: &info,
        };
        let parsed = parse_device(spec, &base, idx, &cx, &resolve, &mut issues);
        if let Some(d) = &parsed {
            if self.find_device(&d.name).is_some() {
                issues.push(Issue::new(
                    base.clone().key("name"),
                    ErrorKind::Duplicate,
                    format!("device name {:?} is already used", d.name),
                ));
            }
            if let Some(mac) = d.mac
                && self.inner.macs.get(&mac).is_some()
            {
                issues.push(Issue::new(
                    base.clone().key("mac"),
                    ErrorKind::Duplicate,
                    format!("MAC {mac} is already used"),
                ));
            }
            for (j, line) in d.lines.iter().enumerate() {
                let lp = base.clone().key("lines").index(j);
                if self.find_endpoint(&line.line_port).is_some() {
                    issues.push(Issue::new(
                        lp.clone().key("linePort"),
                        ErrorKind::Duplicate,
                        format!("line port {:?} is already used", line.line_port),
                    ));
                }
                if line.endpoint == EndpointType::Primary
                    && self.user_endpoints(line.user).is_ok_and(|eps| {
                        eps.iter()
                            .any(|(d, l)| d.lines[*l].endpoint == EndpointType::Primary)
                    })
                {
                    issues.push(Issue::new(
                        lp.key("endpoint"),
                        ErrorKind::Duplicate,
                        format!("{} already has a primary endpoint", line.line_port),
                    ));
                }
            }
        }
        let device = match parsed {
            Some(d) if issues.is_empty() => d,
            _ => {
                return Err(LabErrors(
                    issues.into_iter().map(Issue::into_lab_error).collect(),
                ));
            }
        };
        let mut slot = Some(device);
        let i = inner
            .devices
            .push_with(|_| Arc::new(slot.take().expect("push_with calls its closure once")))
            .ok_or_else(|| {
                LabErrors::single(
                    "device".into(),
                    "the lab is full".into(),
                    ErrorKind::Invalid,
                )
            })?;
        let device = self
            .device(DeviceIdx(u32::try_from(i).unwrap_or(u32::MAX)))
            .ok_or_else(|| {
                LabErrors::single(
                    "device".into(),
                    "the lab is full".into(),
                    ErrorKind::Invalid,
                )
            })?;
        inner
            .device_names
            .insert(device.name.as_str().into(), device.idx);
        if let Some(mac) = device.mac {
            inner.macs.insert(mac, device.idx);
        }
        for (j, line) in device.lines.iter().enumerate() {
            let line_no = u16::try_from(j).unwrap_or(u16::MAX);
            inner.line_ports.insert(
                login_key(&line.line_port).into_owned().into(),
                (device.idx, line_no),
            );
            if let Some(u) = self.user(line.user) {
                u.endpoints.write().push(EndpointRef {
                    device: device.idx,
                    line: line_no,
                });
            }
        }
        Ok(device)
    }

    // ----- administrators --------------------------------------------------------------

    /// All administrators.
    pub fn admins(&self) -> &[Arc<Admin>] {
        &self.inner.admins
    }

    /// An administrator by login (case-insensitive).
    pub fn find_admin(&self, login: &str) -> Option<Arc<Admin>> {
        let idx = self.inner.admin_logins.get(login_key(login).as_ref())?;
        self.inner.admins.get(idx.get()).cloned()
    }

    /// Checks an administrator's login; same expiry and lockout rules as users.
    pub fn authenticate_admin(
        &self,
        login: &str,
        password: &str,
        now: OffsetDateTime,
    ) -> AuthOutcome<Arc<Admin>> {
        let Some(admin) = self.find_admin(login) else {
            return AuthOutcome::UnknownUser;
        };
        let policy = self.policy();
        let verdict = admin
            .password
            .lock()
            .check(password, Secret::Portal, &policy, now);
        AuthOutcome::from_verdict(verdict, admin)
    }

    /// Unlocks an administrator.
    pub fn unlock_admin(&self, login: &str) -> bool {
        match self.find_admin(login) {
            Some(a) => {
                a.password.lock().unlock();
                true
            }
            None => false,
        }
    }
}
