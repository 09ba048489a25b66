//! Semantic checks of lab data, building the indexed model in the same pass.
//!
//! Every rule that a single field can break (E.164, MAC, time zone, date…) and every rule
//! across records (duplicate ids/numbers/extensions, references to groups, users and
//! enterprises) is checked, and *all* violations are collected. Each problem carries a
//! [`FieldPath`] into [`LabData`]; the YAML loader maps it to a file position.

use std::collections::HashSet;
use std::collections::hash_map::Entry;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;

use parking_lot::{Mutex, RwLock};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::admin::{Admin, AdminScope, AdminType};
use crate::device::{Device, DeviceLevel, EndpointType, Line};
use crate::error::{ErrorKind, FieldPath, Issue, hint};
use crate::ids::{
    AdminIdx, DeviceIdx, E164, EnterpriseIdx, GroupIdx, Mac, UserIdx, check_extension, check_ldc,
    check_login_id, check_user_at_domain, login_key,
};
use crate::index::{FastMap, LookupMap, fast_map};
use crate::logs::{NewCallLog, NewVoiceMessage, UserLogs};
use crate::org::{Enterprise, Group};
use crate::password::{PasswordPolicy, PasswordState, check_passcode_text, check_password_text};
use crate::services::{BusyLampField, ServiceKind, Services, VoiceMessaging};
use crate::spec::{AdminSpec, DeviceSpec, LabData, SystemSpec, UserSpec};
use crate::tz::TimeZone;
use crate::user::{CallingLineId, EndpointRef, User};

/// System-wide settings in force.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SystemSettings {
    /// Password rules.
    pub policy: PasswordPolicy,
    /// Call log entries kept per user and kind.
    pub call_log_limit: u32,
    /// Time zone for users whose group/enterprise names none.
    pub default_time_zone: Arc<TimeZone>,
    /// Language for users that name none.
    pub default_language: Arc<str>,
}

/// Ids of items that failed to decode: references to them are not reported again.
#[derive(Debug, Default)]
pub(crate) struct Known {
    pub logins: HashSet<String>,
    pub enterprises: HashSet<String>,
    pub groups: HashSet<String>,
}

/// Group and enterprise lookup by id (immutable after load).
#[derive(Debug, Default)]
pub(crate) struct OrgIndex {
    pub enterprises: FastMap<Box<str>, EnterpriseIdx>,
    pub groups: FastMap<Box<str>, Vec<GroupIdx>>,
}

/// What user validation needs to know about the rest of the lab.
pub(crate) struct UserCtx<'a> {
    pub enterprises: &'a [Enterprise],
    pub groups: &'a [Group],
    pub org: &'a OrgIndex,
    pub system: &'a SystemSettings,
    pub now: OffsetDateTime,
    pub known: &'a Known,
}

/// The validated lab, ready to become a store.
pub(crate) struct Model {
    pub system: SystemSettings,
    pub enterprises: Vec<Enterprise>,
    pub groups: Vec<Group>,
    pub org: OrgIndex,
    pub users: Vec<Arc<User>>,
    pub devices: Vec<Device>,
    pub admins: Vec<Admin>,
    pub logins: FastMap<Box<str>, UserIdx>,
    pub numbers: FastMap<Box<str>, UserIdx>,
    pub device_names: FastMap<Box<str>, DeviceIdx>,
    pub macs: FastMap<Mac, DeviceIdx>,
    pub line_ports: FastMap<Box<str>, (DeviceIdx, u16)>,
    pub admin_logins: FastMap<Box<str>, AdminIdx>,
}

/// Slots at or above this mark users that failed validation (see [`UserKeys`]).
const FAILED_SLOT: u32 = 1 << 31;

/// What a user that failed validation still claims: its ids, number, extension.
pub(crate) struct UserKeys {
    user_id: String,
    alternate_ids: Vec<String>,
    number: Option<E164>,
    extension: Option<String>,
    group: Option<GroupIdx>,
    /// Busy Lamp Field monitored users, still checked as references.
    monitored: Vec<String>,
}

/// The unique keys of a user, valid or not.
pub(crate) struct KeyView<'a> {
    pub user_id: &'a str,
    pub alternate_ids: &'a [String],
    pub number: Option<&'a E164>,
    pub extension: Option<&'a str>,
    pub group: Option<GroupIdx>,
}

impl<'a> KeyView<'a> {
    pub fn of_user(u: &'a User) -> Self {
        Self {
            user_id: &u.user_id,
            alternate_ids: &u.alternate_ids,
            number: u.number.as_ref(),
            extension: u.extension.as_deref(),
            group: Some(u.group),
        }
    }

    pub fn of_keys(k: &'a UserKeys) -> Self {
        Self {
            user_id: &k.user_id,
            alternate_ids: &k.alternate_ids,
            number: k.number.as_ref(),
            extension: k.extension.as_deref(),
            group: k.group,
        }
    }
}

fn issue(path: FieldPath, kind: ErrorKind, message: impl Into<String>) -> Issue {
    Issue::new(path, kind, message)
}

/// Hints over big id sets cost an edit distance per candidate: only offer them for labs of
/// human size.
const HINT_LIMIT: usize = 5_000;

/// Validates `data` (relative expiries are computed from `now`) and builds the model, or
/// returns every problem found.
pub(crate) fn validate(
    data: LabData,
    now: OffsetDateTime,
    known: &Known,
) -> Result<Model, Vec<Issue>> {
    let mut issues = Vec::new();
    let system = validate_system(&data.system, &mut issues);
    let (mut enterprises, mut groups, org) = validate_orgs(&data, &mut issues);
    let LabData {
        users: user_specs,
        devices: device_specs,
        admins: admin_specs,
        ..
    } = data;

    // Users.
    let n_users = user_specs.len();
    let mut users: Vec<Arc<User>> = Vec::with_capacity(n_users);
    let mut logins: FastMap<Box<str>, UserIdx> = fast_map(n_users * 2);
    let mut numbers: FastMap<Box<str>, UserIdx> = fast_map(n_users);
    // Sized for an even spread; growth covers the rest.
    let per_group = (n_users / groups.len().max(1)).min(100_000);
    let per_enterprise = (n_users / enterprises.len().max(1)).min(1_000_000);
    let mut exts: Vec<FastMap<Box<str>, UserIdx>> =
        groups.iter().map(|_| fast_map(per_group)).collect();
    let mut ldcs: Vec<FastMap<Box<str>, UserIdx>> = enterprises
        .iter()
        .map(|e| {
            let with_ldc = e
                .groups
                .iter()
                .any(|&g| groups[g.get()].location_dialing_code.is_some());
            fast_map(if with_ldc { per_enterprise } else { 0 })
        })
        .collect();
    let mut spec_of_user: Vec<usize> = Vec::with_capacity(n_users);
    let mut failed: Vec<UserKeys> = Vec::new();
    let mut failed_spec: Vec<usize> = Vec::new();
    {
        let cx = UserCtx {
            enterprises: &enterprises,
            groups: &groups,
            org: &org,
            system: &system,
            now,
            known,
        };
        for (i, spec) in user_specs.into_iter().enumerate() {
            let base = FieldPath::item("users", i);
            // A user that fails a check still claims its ids, number and extension, so
            // clashes with it are reported too (its slot is marked as failed).
            let (mut user, keys) = match parse_user(spec, &base, &cx, &mut issues) {
                Ok(u) => (Some(u), None),
                Err(k) => (None, Some(k)),
            };
            let slot = match &user {
                Some(_) => UserIdx(u32::try_from(users.len()).unwrap_or(u32::MAX)),
                None => UserIdx(FAILED_SLOT + u32::try_from(failed.len()).unwrap_or(0)),
            };
            let view = match (&user, &keys) {
                (Some(u), _) => KeyView::of_user(u),
                (None, Some(k)) => KeyView::of_keys(k),
                (None, None) => continue,
            };
            let owner = |o: UserIdx| -> (String, Arc<str>) {
                if o.0 >= FAILED_SLOT {
                    let k: &UserKeys = &failed[(o.0 - FAILED_SLOT) as usize];
                    let g = k
                        .group
                        .map_or_else(|| Arc::from("?"), |g| groups[g.get()].id.clone());
                    (k.user_id.clone(), g)
                } else {
                    let u = &users[o.get()];
                    (u.user_id.clone(), u.group_id.clone())
                }
            };
            let ids = std::iter::once((None, view.user_id)).chain(
                view.alternate_ids
                    .iter()
                    .enumerate()
                    .map(|(j, a)| (Some(j), a.as_str())),
            );
            for (alt, login) in ids {
                match logins.entry(login_key(login).into_owned().into_boxed_str()) {
                    Entry::Occupied(o) => issues.push(issue(
                        match alt {
                            None => base.clone().key("userId"),
                            Some(j) => base.clone().key("alternateIds").index(j),
                        },
                        ErrorKind::Duplicate,
                        format!("{login:?} is already a login id of {}", owner(*o.get()).0),
                    )),
                    Entry::Vacant(v) => {
                        v.insert(slot);
                    }
                }
            }
            if let Some(n) = view.number {
                match numbers.entry(n.digits().into()) {
                    Entry::Occupied(o) => issues.push(issue(
                        base.clone().key("number"),
                        ErrorKind::Duplicate,
                        format!(
                            "{:?} is already the number of {}",
                            n.as_str(),
                            owner(*o.get()).0
                        ),
                    )),
                    Entry::Vacant(v) => {
                        v.insert(slot);
                    }
                }
            }
            if let (Some(ext), Some(gidx)) = (view.extension, view.group) {
                let g = &groups[gidx.get()];
                match exts[gidx.get()].entry(ext.into()) {
                    Entry::Occupied(o) => issues.push(issue(
                        base.clone().key("extension"),
                        ErrorKind::Duplicate,
                        format!(
                            "extension {ext:?} is already used in group {} by {}",
                            g.id,
                            owner(*o.get()).0
                        ),
                    )),
                    Entry::Vacant(v) => {
                        v.insert(slot);
                        if let Some(ldc) = &g.location_dialing_code {
                            let mut key = String::with_capacity(ldc.len() + ext.len());
                            key.push_str(ldc);
                            key.push_str(ext);
                            match ldcs[g.enterprise.get()].entry(key.into_boxed_str()) {
                                Entry::Occupied(o) => {
                                    let (other, other_group) = owner(*o.get());
                                    let key = o.key();
                                    issues.push(issue(
                                        base.clone().key("extension"),
                                        ErrorKind::Duplicate,
                                        format!(
                                            "location code {ldc:?} + extension {ext:?} dials {key}, which already reaches {other} in group {other_group}"
                                        ),
                                    ));
                                }
                                Entry::Vacant(v) => {
                                    v.insert(slot);
                                }
                            }
                        }
                    }
                }
            }
            match (user.take(), keys) {
                (Some(mut u), _) => {
                    u.idx = slot;
                    users.push(Arc::new(u));
                    spec_of_user.push(i);
                }
                (None, Some(k)) => {
                    failed.push(k);
                    failed_spec.push(i);
                }
                (None, None) => {}
            }
        }
    }

    // Cross-user references: Busy Lamp Field monitored users.
    // Hints compare the part before `@` among ids of the same domain: whole ids share long
    // domains, which would make any two short names look alike.
    let user_hints = |login: &str| -> String {
        if users.len() > HINT_LIMIT {
            return String::new();
        }
        let (local, domain) = login.split_once('@').unwrap_or((login, ""));
        let same_domain = users.iter().filter_map(|u| {
            let (l, d) = u.user_id.split_once('@').unwrap_or((&u.user_id, ""));
            d.eq_ignore_ascii_case(domain)
                .then_some((l, u.user_id.as_str()))
        });
        let locals: Vec<(&str, &str)> = same_domain.collect();
        match crate::error::did_you_mean(local, locals.iter().map(|(l, _)| *l)) {
            Some(best) => locals
                .iter()
                .find(|(l, _)| *l == best)
                .map(|(_, full)| format!(" (did you mean {full:?}?)"))
                .unwrap_or_default(),
            None => String::new(),
        }
    };
    let mut check_blf = |i: usize, monitored: &[String]| {
        for (j, m) in monitored.iter().enumerate() {
            let key = login_key(m);
            if !logins.contains_key(key.as_ref()) && !known.logins.contains(key.as_ref()) {
                issues.push(issue(
                    FieldPath::item("users", i)
                        .key("services")
                        .key("busyLampField")
                        .key("monitoredUsers")
                        .index(j),
                    ErrorKind::UnknownReference,
                    format!("no user {m:?}{}", user_hints(m)),
                ));
            }
        }
    };
    for (u, &i) in users.iter().zip(&spec_of_user) {
        if let Some(blf) = u.services.read().typed::<BusyLampField>() {
            check_blf(i, &blf.monitored_users);
        }
    }
    for (k, &i) in failed.iter().zip(&failed_spec) {
        check_blf(i, &k.monitored);
    }

    // Devices.
    let mut devices = Vec::with_capacity(device_specs.len());
    let mut device_names: FastMap<Box<str>, DeviceIdx> = fast_map(device_specs.len());
    let mut macs: FastMap<Mac, DeviceIdx> = fast_map(device_specs.len());
    let mut line_ports: FastMap<Box<str>, (DeviceIdx, u16)> = fast_map(device_specs.len());
    let mut has_primary: HashSet<UserIdx> = HashSet::new();
    let mut seen_names: FastMap<&str, usize> = fast_map(device_specs.len());
    let mut seen_macs: FastMap<Mac, usize> = fast_map(device_specs.len());
    let mut seen_ports: FastMap<String, usize> = fast_map(device_specs.len());
    let mut new_endpoints: Vec<(UserIdx, EndpointRef)> = Vec::new();
    for (i, spec) in device_specs.iter().enumerate() {
        let base = FieldPath::item("devices", i);
        let idx = DeviceIdx(u32::try_from(devices.len()).unwrap_or(u32::MAX));
        let resolve = |login: &str| -> Result<UserIdx, Option<String>> {
            let key = login_key(login);
            match logins.get(key.as_ref()) {
                Some(&u) if u.0 >= FAILED_SLOT => Err(None),
                Some(&u) => Ok(u),
                None if known.logins.contains(key.as_ref()) => Err(None),
                None => Err(Some(format!("no user {login:?}{}", user_hints(login)))),
            }
        };
        // Uniqueness is checked on what was written, so a device that breaks another rule
        // still has its clashes reported.
        if let Some(&o) = seen_names.get(spec.name.as_str()) {
            issues.push(issue(
                base.clone().key("name"),
                ErrorKind::Duplicate,
                format!(
                    "device name {:?} is already used by devices[{o}]",
                    spec.name
                ),
            ));
        } else {
            seen_names.insert(spec.name.as_str(), i);
        }
        if let Some(mac) = spec.mac.as_deref().and_then(|m| Mac::parse(m).ok()) {
            if let Some(&o) = seen_macs.get(&mac) {
                issues.push(issue(
                    base.clone().key("mac"),
                    ErrorKind::Duplicate,
                    format!(
                        "MAC {mac} is already used by device {:?}",
                        device_specs[o].name
                    ),
                ));
            } else {
                seen_macs.insert(mac, i);
            }
        }
        for (j, line) in spec.lines.iter().enumerate() {
            let lp = || base.clone().key("lines").index(j);
            let key = login_key(&line.line_port).into_owned();
            match seen_ports.get(key.as_str()) {
                Some(&o) if o != i => issues.push(issue(
                    lp().key("linePort"),
                    ErrorKind::Duplicate,
                    format!(
                        "line port {:?} is already used on device {:?}",
                        line.line_port, device_specs[o].name
                    ),
                )),
                Some(_) => {} // twice on the same device: parse_device reports it
                None => {
                    seen_ports.insert(key, i);
                }
            }
            if line.endpoint == EndpointType::Primary
                && let Some(&u) = logins.get(login_key(&line.user).as_ref())
                && !has_primary.insert(u)
            {
                let owner = if u.0 >= FAILED_SLOT {
                    failed[(u.0 - FAILED_SLOT) as usize].user_id.clone()
                } else {
                    users[u.get()].user_id.clone()
                };
                issues.push(issue(
                    lp().key("endpoint"),
                    ErrorKind::Duplicate,
                    format!(
                        "{owner} already has a primary endpoint (use sharedCallAppearance for more)"
                    ),
                ));
            }
        }
        let Some(device) = parse_device(
            spec,
            &base,
            idx,
            &DeviceCtx {
                enterprises: &enterprises,
                groups: &groups,
                org: &org,
                known,
                user_info: &|u: UserIdx| {
                    users.get(u.get()).map(|u| {
                        (
                            u.has_service(ServiceKind::SharedCallAppearance),
                            u.enterprise,
                            u.group,
                        )
                    })
                },
            },
            &resolve,
            &mut issues,
        ) else {
            continue;
        };
        if !issues.is_empty() {
            // The lab fails anyway; don't index this device.
            continue;
        }
        device_names.insert(device.name.as_str().into(), idx);
        if let Some(mac) = device.mac {
            macs.insert(mac, idx);
        }
        for (j, line) in device.lines.iter().enumerate() {
            let line_no = u16::try_from(j).unwrap_or(u16::MAX);
            line_ports.insert(
                login_key(&line.line_port).into_owned().into(),
                (idx, line_no),
            );
            new_endpoints.push((
                line.user,
                EndpointRef {
                    device: idx,
                    line: line_no,
                },
            ));
        }
        devices.push(device);
    }

    for (u, e) in new_endpoints {
        users[u.get()].endpoints.write().push(e);
    }

    // Administrators.
    let mut admins = Vec::with_capacity(admin_specs.len());
    let mut admin_logins: FastMap<Box<str>, AdminIdx> = fast_map(admin_specs.len());
    for (i, spec) in admin_specs.iter().enumerate() {
        let base = FieldPath::item("admins", i);
        let idx = AdminIdx(u32::try_from(admins.len()).unwrap_or(u32::MAX));
        let Some(admin) = parse_admin(
            spec,
            &base,
            idx,
            &enterprises,
            &groups,
            &org,
            known,
            &system,
            &mut issues,
        ) else {
            continue;
        };
        let key = login_key(&admin.login).into_owned().into_boxed_str();
        if let Some(&u) = logins.get(&key) {
            let owner = if u.0 >= FAILED_SLOT {
                failed[(u.0 - FAILED_SLOT) as usize].user_id.clone()
            } else {
                users[u.get()].user_id.clone()
            };
            issues.push(issue(
                base.key("login"),
                ErrorKind::Duplicate,
                format!("{:?} is already a login id of user {owner}", admin.login),
            ));
            continue;
        }
        match admin_logins.entry(key) {
            Entry::Occupied(_) => issues.push(issue(
                base.key("login"),
                ErrorKind::Duplicate,
                format!("{:?} is already an administrator login", admin.login),
            )),
            Entry::Vacant(v) => {
                v.insert(idx);
                admins.push(admin);
            }
        }
    }

    if !issues.is_empty() {
        return Err(issues);
    }
    for (g, map) in groups.iter_mut().zip(exts) {
        g.extensions = LookupMap::new(map);
    }
    for (e, map) in enterprises.iter_mut().zip(ldcs) {
        e.location_codes = LookupMap::new(map);
    }
    for u in &users {
        groups[u.group.get()].members.get_mut().push(u.idx);
    }
    Ok(Model {
        system,
        enterprises,
        groups,
        org,
        users,
        devices,
        admins,
        logins,
        numbers,
        device_names,
        macs,
        line_ports,
        admin_logins,
    })
}

pub(crate) fn validate_system(spec: &SystemSpec, issues: &mut Vec<Issue>) -> SystemSettings {
    let at = |f: &'static str| FieldPath::root().key("system").key(f);
    let default_time_zone = Arc::new(match &spec.default_time_zone {
        Some(tz) => TimeZone::new(tz, None).unwrap_or_else(|e| {
            issues.push(issue(
                at("defaultTimeZone"),
                ErrorKind::Invalid,
                e.to_string(),
            ));
            TimeZone::utc()
        }),
        None => TimeZone::utc(),
    });
    if !(0..=365).contains(&spec.password_warning_days) {
        issues.push(issue(
            at("passwordWarningDays"),
            ErrorKind::Invalid,
            format!("{} is out of range (0-365)", spec.password_warning_days),
        ));
    }
    if !(1..=1000).contains(&spec.call_log_limit) {
        issues.push(issue(
            at("callLogLimit"),
            ErrorKind::Invalid,
            format!("{} is out of range (1-1000)", spec.call_log_limit),
        ));
    }
    if spec.password_expires_after_days == Some(0) {
        issues.push(issue(
            at("passwordExpiresAfterDays"),
            ErrorKind::Invalid,
            "0 would expire every new password at once (leave it out for no expiry)",
        ));
    }
    SystemSettings {
        policy: PasswordPolicy {
            enforce_password_change_on_expiry: spec.enforce_password_change_on_expiry,
            lockout_threshold: spec.lockout_threshold,
            warning_days: spec.password_warning_days,
            expires_after_days: spec.password_expires_after_days,
        },
        call_log_limit: spec.call_log_limit.clamp(1, 1000),
        default_time_zone,
        default_language: spec.default_language.as_deref().unwrap_or("English").into(),
    }
}

fn check_org_id(id: &str) -> Result<(), String> {
    let n = id.chars().count();
    if (1..=80).contains(&n)
        && !id
            .chars()
            .any(|c| c.is_whitespace() || c.is_control() || c == '/')
    {
        Ok(())
    } else {
        Err(format!(
            "{id:?} is not a valid id (1-80 characters, no spaces or '/')"
        ))
    }
}

fn time_zone_at(
    name: &Option<String>,
    path: FieldPath,
    issues: &mut Vec<Issue>,
) -> Option<Arc<TimeZone>> {
    let name = name.as_deref()?;
    match TimeZone::new(name, None) {
        Ok(tz) => Some(Arc::new(tz)),
        Err(e) => {
            issues.push(issue(path, ErrorKind::Invalid, e.to_string()));
            None
        }
    }
}

fn validate_orgs(
    data: &LabData,
    issues: &mut Vec<Issue>,
) -> (Vec<Enterprise>, Vec<Group>, OrgIndex) {
    let mut enterprises = Vec::with_capacity(data.enterprises.len());
    let mut groups = Vec::new();
    let mut org = OrgIndex::default();
    for (i, spec) in data.enterprises.iter().enumerate() {
        let base = FieldPath::item("enterprises", i);
        if let Err(m) = check_org_id(&spec.id) {
            issues.push(issue(base.clone().key("id"), ErrorKind::Invalid, m));
            continue;
        }
        if org.enterprises.contains_key(spec.id.as_str()) {
            issues.push(issue(
                base.clone().key("id"),
                ErrorKind::Duplicate,
                format!("enterprise/service provider {:?} is defined twice", spec.id),
            ));
            continue;
        }
        let eidx = EnterpriseIdx(u32::try_from(enterprises.len()).unwrap_or(u32::MAX));
        let eid: Arc<str> = spec.id.as_str().into();
        let time_zone = time_zone_at(&spec.time_zone, base.clone().key("timeZone"), issues);
        let mut gids: Vec<GroupIdx> = Vec::new();
        let mut seen_ldc: FastMap<String, usize> = fast_map(0);
        for (j, g) in spec.groups.iter().enumerate() {
            let gb = base.clone().key("groups").index(j);
            if let Err(m) = check_org_id(&g.id) {
                issues.push(issue(gb.clone().key("id"), ErrorKind::Invalid, m));
                continue;
            }
            if gids.iter().any(|&x| *groups_id(&groups, x) == *g.id) {
                issues.push(issue(
                    gb.clone().key("id"),
                    ErrorKind::Duplicate,
                    format!("group {:?} is defined twice in {}", g.id, spec.id),
                ));
                continue;
            }
            if let Some(ldc) = &g.location_dialing_code {
                if let Err(e) = check_ldc(ldc) {
                    issues.push(issue(
                        gb.clone().key("locationDialingCode"),
                        ErrorKind::Invalid,
                        e.to_string(),
                    ));
                } else if let Some(other) = seen_ldc.insert(ldc.clone(), j) {
                    issues.push(issue(
                        gb.clone().key("locationDialingCode"),
                        ErrorKind::Duplicate,
                        format!(
                            "location dialing code {ldc:?} is already used by group {} of {}",
                            spec.groups[other].id, spec.id
                        ),
                    ));
                }
            }
            let clid_number = g.calling_line_id_number.as_deref().and_then(|n| {
                E164::parse(n)
                    .map_err(|e| {
                        issues.push(issue(
                            gb.clone().key("callingLineIdNumber"),
                            ErrorKind::Invalid,
                            e.to_string(),
                        ))
                    })
                    .ok()
            });
            let gidx = GroupIdx(u32::try_from(groups.len()).unwrap_or(u32::MAX));
            groups.push(Group {
                idx: gidx,
                enterprise: eidx,
                id: g.id.as_str().into(),
                enterprise_id: eid.clone(),
                name: g.name.clone().unwrap_or_else(|| g.id.clone()),
                location_dialing_code: g
                    .location_dialing_code
                    .as_deref()
                    .filter(|l| check_ldc(l).is_ok())
                    .map(Into::into),
                default_domain: g.default_domain.clone(),
                time_zone: time_zone_at(&g.time_zone, gb.clone().key("timeZone"), issues),
                calling_line_id_name: g.calling_line_id_name.clone(),
                calling_line_id_number: clid_number,
                extensions: LookupMap::default(),
                members: RwLock::new(Vec::new()),
            });
            org.groups
                .entry(g.id.as_str().into())
                .or_default()
                .push(gidx);
            gids.push(gidx);
        }
        org.enterprises.insert(spec.id.as_str().into(), eidx);
        enterprises.push(Enterprise {
            idx: eidx,
            id: eid,
            name: spec.name.clone().unwrap_or_else(|| spec.id.clone()),
            is_enterprise: spec.is_enterprise.unwrap_or(true),
            default_domain: spec.default_domain.clone(),
            time_zone,
            groups: gids,
            location_codes: LookupMap::default(),
        });
    }
    (enterprises, groups, org)
}

fn groups_id(groups: &[Group], g: GroupIdx) -> &str {
    &groups[g.get()].id
}

/// Why a reference could not be resolved.
pub(crate) enum RefError {
    /// The target failed to decode and was reported already.
    Reported,
    /// A new problem, on field `field` (`enterprise` or `group`).
    Bad {
        field: &'static str,
        kind: ErrorKind,
        message: String,
    },
}

impl RefError {
    fn bad(field: &'static str, message: String) -> Self {
        Self::Bad {
            field,
            kind: ErrorKind::UnknownReference,
            message,
        }
    }

    /// Records the problem (if new) under `base.<field>`.
    pub(crate) fn report(self, base: &FieldPath, issues: &mut Vec<Issue>) {
        if let Self::Bad {
            field,
            kind,
            message,
        } = self
        {
            issues.push(issue(base.clone().key(field), kind, message));
        }
    }
}

/// Resolves `(enterprise?, group)` to a group, or explains why not.
pub(crate) fn resolve_group(
    enterprises: &[Enterprise],
    groups: &[Group],
    org: &OrgIndex,
    known: &Known,
    enterprise: Option<&str>,
    group: &str,
) -> Result<GroupIdx, RefError> {
    if let Some(e) = enterprise {
        let Some(&eidx) = org.enterprises.get(e) else {
            if known.enterprises.contains(e) {
                return Err(RefError::Reported);
            }
            return Err(RefError::bad(
                "enterprise",
                format!(
                    "no enterprise or service provider {e:?}{}",
                    hint(e, enterprises.iter().map(|x| &*x.id))
                ),
            ));
        };
        return enterprises[eidx.get()]
            .groups
            .iter()
            .copied()
            .find(|&g| *groups[g.get()].id == *group)
            .ok_or_else(|| {
                if known.groups.contains(group) {
                    return RefError::Reported;
                }
                let names = enterprises[eidx.get()]
                    .groups
                    .iter()
                    .map(|&g| &*groups[g.get()].id);
                RefError::bad(
                    "group",
                    format!("no group {group:?} in {e}{}", hint(group, names)),
                )
            });
    }
    match org.groups.get(group).map(Vec::as_slice) {
        Some([g]) => Ok(*g),
        Some(many) => Err(RefError::bad(
            "group",
            format!(
                "group {group:?} exists in {} enterprises ({}); add `enterprise:`",
                many.len(),
                many.iter()
                    .map(|g| &*groups[g.get()].enterprise_id)
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        )),
        None if known.groups.contains(group) => Err(RefError::Reported),
        None => Err(RefError::bad(
            "group",
            format!(
                "no group {group:?}{}",
                hint(group, groups.iter().map(|g| &*g.id))
            ),
        )),
    }
}

/// Parses a date `YYYY-MM-DD` (midnight UTC) or an RFC 3339 date-time.
pub(crate) fn parse_when(text: &str) -> Result<OffsetDateTime, String> {
    let t = text.trim();
    if let Ok(dt) = OffsetDateTime::parse(t, &Rfc3339) {
        return Ok(dt);
    }
    let fmt = time::macros::format_description!("[year]-[month]-[day]");
    time::Date::parse(t, &fmt)
        .map(|d| d.midnight().assume_utc())
        .map_err(|_| {
            format!(
                "{text:?} is not a date (expected YYYY-MM-DD or RFC 3339 like 2026-03-01T09:00:00Z)"
            )
        })
}

fn check_name(value: &str, path: FieldPath, max: usize, issues: &mut Vec<Issue>) {
    let n = value.trim().chars().count();
    if n == 0 {
        issues.push(issue(path, ErrorKind::Invalid, "must not be empty"));
    } else if n > max {
        issues.push(issue(
            path,
            ErrorKind::Invalid,
            format!("{n} characters (at most {max})"),
        ));
    }
}

/// Checks one user and builds it (index not yet assigned). `None` when any check failed.
/// Takes the spec by value: its strings move into the user (a 100k-user load would
/// otherwise spend much of its time copying and freeing them).
pub(crate) fn parse_user(
    spec: UserSpec,
    base: &FieldPath,
    cx: &UserCtx<'_>,
    issues: &mut Vec<Issue>,
) -> Result<User, UserKeys> {
    let at = |f: &'static str| base.clone().key(f);
    let before = issues.len();

    if let Err(e) = check_user_at_domain(&spec.user_id) {
        issues.push(issue(at("userId"), ErrorKind::Invalid, e.to_string()));
    }
    let group = resolve_group(
        cx.enterprises,
        cx.groups,
        cx.org,
        cx.known,
        spec.enterprise.as_deref(),
        &spec.group,
    )
    .map_err(|e| e.report(base, issues))
    .ok();
    check_name(&spec.first_name, at("firstName"), 80, issues);
    check_name(&spec.last_name, at("lastName"), 80, issues);
    if let Some(e) = &spec.email
        && (!e.contains('@') || e.contains(char::is_whitespace))
    {
        issues.push(issue(
            at("email"),
            ErrorKind::Invalid,
            format!("{e:?} is not an e-mail address"),
        ));
    }
    for (j, a) in spec.alternate_ids.iter().enumerate() {
        let p = || at("alternateIds").index(j);
        if let Err(e) = check_login_id(a) {
            issues.push(issue(p(), ErrorKind::Invalid, e.to_string()));
        } else if a.eq_ignore_ascii_case(&spec.user_id)
            || spec.alternate_ids[..j]
                .iter()
                .any(|b| b.eq_ignore_ascii_case(a))
        {
            issues.push(issue(
                p(),
                ErrorKind::Duplicate,
                format!("{a:?} is listed twice for this user"),
            ));
        }
    }
    let e164 = |v: &Option<String>, f: &'static str, issues: &mut Vec<Issue>| -> Option<E164> {
        E164::parse(v.as_deref()?)
            .map_err(|e| issues.push(issue(at(f), ErrorKind::Invalid, e.to_string())))
            .ok()
    };
    let number = e164(&spec.number, "number", issues);
    let mobile = e164(&spec.mobile, "mobile", issues);
    if let Some(x) = &spec.extension
        && let Err(e) = check_extension(x)
    {
        issues.push(issue(at("extension"), ErrorKind::Invalid, e.to_string()));
    }
    let g = group.map(|g| &cx.groups[g.get()]);
    let e = g.map(|g| &cx.enterprises[g.enterprise.get()]);
    let time_zone = match &spec.time_zone {
        Some(name) => match TimeZone::new(name, spec.time_zone_display_name.as_deref()) {
            Ok(tz) => Some(Arc::new(tz)),
            Err(err) => {
                issues.push(issue(at("timeZone"), ErrorKind::Invalid, err.to_string()));
                None
            }
        },
        None => {
            let tz = g
                .and_then(|g| g.time_zone.clone())
                .or_else(|| e.and_then(|e| e.time_zone.clone()))
                .unwrap_or_else(|| cx.system.default_time_zone.clone());
            Some(match &spec.time_zone_display_name {
                Some(d) => Arc::new(TimeZone {
                    name: tz.name.clone(),
                    display_name: d.clone(),
                }),
                None => tz,
            })
        }
    };
    if let Err(err) = check_password_text(&spec.password) {
        issues.push(issue(at("password"), ErrorKind::Invalid, err.to_string()));
    }
    if let Some(p) = &spec.passcode
        && let Err(err) = check_passcode_text(p)
    {
        issues.push(issue(at("passcode"), ErrorKind::Invalid, err.to_string()));
    }
    let expires_at = match (&spec.password_expires, spec.password_expires_in_days) {
        (Some(_), Some(_)) => {
            issues.push(issue(
                at("passwordExpiresInDays"),
                ErrorKind::Invalid,
                "give either passwordExpires or passwordExpiresInDays, not both",
            ));
            None
        }
        (Some(text), None) => parse_when(text)
            .map_err(|m| issues.push(issue(at("passwordExpires"), ErrorKind::Invalid, m)))
            .ok(),
        (None, Some(days)) if days.abs() > 36_500 => {
            issues.push(issue(
                at("passwordExpiresInDays"),
                ErrorKind::Invalid,
                format!("{days} is out of range (-36500 to 36500)"),
            ));
            None
        }
        (None, Some(days)) => Some(cx.now + time::Duration::days(days)),
        (None, None) => None,
    };

    // Services.
    for (j, s) in spec.services.0.iter().enumerate() {
        let sp = || at("services").key(s.kind().yaml_name());
        if spec.services.0[..j].iter().any(|o| o.kind() == s.kind()) {
            issues.push(issue(
                sp(),
                ErrorKind::Duplicate,
                "service is assigned twice",
            ));
            continue;
        }
        for p in s.problems() {
            let mut path = sp();
            path.0.extend(p.path.0);
            issues.push(issue(path, p.kind, p.message));
        }
    }

    // Calling line id.
    let clid_number = match spec
        .calling_line_id
        .as_ref()
        .and_then(|c| c.number.as_deref())
    {
        Some(n) => E164::parse(n)
            .map_err(|e| {
                issues.push(issue(
                    at("callingLineId").key("number"),
                    ErrorKind::Invalid,
                    e.to_string(),
                ))
            })
            .ok(),
        None => number
            .clone()
            .or_else(|| g.and_then(|g| g.calling_line_id_number.clone())),
    };

    // Logs.
    let mut logs = UserLogs::default();
    let limit = cx.system.call_log_limit as usize;
    for (j, c) in spec.call_logs.iter().enumerate() {
        let p = || at("callLogs").index(j);
        check_name(&c.name, p().key("name"), 62, issues);
        check_name(&c.number, p().key("number"), 161, issues);
        match parse_when(&c.time) {
            Ok(time) => {
                logs.append_call(
                    NewCallLog {
                        kind: c.kind,
                        name: c.name.clone(),
                        number: c.number.clone(),
                        time,
                    },
                    limit,
                );
            }
            Err(m) => issues.push(issue(p().key("time"), ErrorKind::Invalid, m)),
        }
    }
    let vm = spec.services.0.iter().find_map(|s| match s {
        crate::services::ServiceSettings::VoiceMessaging(v) => Some(v.mailbox_limit),
        _ => None,
    });
    if !spec.voice_messages.is_empty() && vm.is_none() {
        issues.push(issue(
            at("voiceMessages"),
            ErrorKind::Invalid,
            "voice messages need the voiceMessaging service",
        ));
    }
    let mailbox = vm.unwrap_or(VoiceMessaging::default().mailbox_limit);
    if spec.voice_messages.len() > mailbox as usize {
        issues.push(issue(
            at("voiceMessages"),
            ErrorKind::Invalid,
            format!(
                "{} messages exceed the mailbox limit of {mailbox}",
                spec.voice_messages.len()
            ),
        ));
    }
    for (j, v) in spec.voice_messages.iter().enumerate() {
        let time = match &v.time {
            Some(t) => match parse_when(t) {
                Ok(t) => Some(t),
                Err(m) => {
                    issues.push(issue(
                        at("voiceMessages").index(j).key("time"),
                        ErrorKind::Invalid,
                        m,
                    ));
                    continue;
                }
            },
            None => None,
        };
        let _ = logs.deposit(
            NewVoiceMessage {
                from: v.from.clone(),
                time,
                duration_ms: v.duration_ms,
                read: v.read,
                urgent: v.urgent,
                confidential: v.confidential,
                media_type: v.media_type,
                content: None,
            },
            cx.now,
            u32::MAX,
        );
    }

    let (g, e, time_zone) = match (g, e, time_zone) {
        (Some(g), Some(e), Some(tz)) if issues.len() == before => (g, e, tz),
        (g, ..) => {
            let extension = spec.extension.filter(|x| check_extension(x).is_ok());
            let monitored = spec
                .services
                .0
                .into_iter()
                .find_map(|s| match s {
                    crate::services::ServiceSettings::BusyLampField(b) => Some(b.monitored_users),
                    _ => None,
                })
                .unwrap_or_default();
            return Err(UserKeys {
                monitored,
                user_id: spec.user_id,
                alternate_ids: spec.alternate_ids,
                number,
                extension,
                group: g.map(|g| g.idx),
            });
        }
    };
    let UserSpec {
        user_id,
        first_name,
        last_name,
        password,
        email,
        alternate_ids,
        extension,
        language,
        title,
        department,
        imp_id,
        calling_line_id,
        passcode,
        locked,
        services,
        ..
    } = spec;
    let clid = calling_line_id.unwrap_or_default();
    let default_language = &cx.system.default_language;
    let mut password = PasswordState::new(password);
    password.passcode = passcode;
    password.expires_at = expires_at;
    password.locked = locked;
    let trimmed = |s: String| {
        if s.trim().len() == s.len() {
            s
        } else {
            s.trim().to_owned()
        }
    };
    Ok(User {
        idx: UserIdx(u32::MAX),
        calling_line_id: CallingLineId {
            first_name: clid.first_name,
            last_name: clid.last_name,
            number: clid_number,
        },
        user_id,
        first_name: trimmed(first_name),
        last_name: trimmed(last_name),
        email,
        alternate_ids,
        number,
        extension,
        mobile,
        language: match language {
            Some(l) if *l != **default_language => l.into(),
            _ => default_language.clone(),
        },
        time_zone,
        group: g.idx,
        enterprise: e.idx,
        group_id: g.id.clone(),
        enterprise_id: e.id.clone(),
        is_enterprise: e.is_enterprise,
        location_dialing_code: g.location_dialing_code.clone(),
        title,
        department,
        imp_id,
        services: RwLock::new(Services::from_vec(services.0)),
        logs: Mutex::new(logs),
        password: Mutex::new(password),
        endpoints: RwLock::new(Vec::new()),
    })
}

/// What device validation needs. `user_info` gives, for a user: whether it has Shared Call
/// Appearance, its enterprise and its group (a slice at load time, the store later).
pub(crate) struct DeviceCtx<'a> {
    pub enterprises: &'a [Enterprise],
    pub groups: &'a [Group],
    pub org: &'a OrgIndex,
    pub known: &'a Known,
    pub user_info: &'a dyn Fn(UserIdx) -> Option<(bool, EnterpriseIdx, GroupIdx)>,
}

/// Checks one device (uniqueness across devices is the caller's job).
pub(crate) fn parse_device(
    spec: &DeviceSpec,
    base: &FieldPath,
    idx: DeviceIdx,
    cx: &DeviceCtx<'_>,
    resolve_user: &dyn Fn(&str) -> Result<UserIdx, Option<String>>,
    issues: &mut Vec<Issue>,
) -> Option<Device> {
    let at = |f: &'static str| base.clone().key(f);
    let before = issues.len();
    check_name(&spec.name, at("name"), 40, issues);
    check_name(&spec.device_type, at("type"), 40, issues);
    let mac = spec.mac.as_deref().and_then(|m| {
        Mac::parse(m)
            .map_err(|e| issues.push(issue(at("mac"), ErrorKind::Invalid, e.to_string())))
            .ok()
    });
    let mut lines = Vec::with_capacity(spec.lines.len());
    // A line whose user failed validation (already reported) leaves the device incomplete.
    let mut unresolved = false;
    for (j, l) in spec.lines.iter().enumerate() {
        let lp = base.clone().key("lines").index(j);
        if let Err(e) = check_user_at_domain(&l.line_port) {
            issues.push(issue(
                lp.clone().key("linePort"),
                ErrorKind::Invalid,
                e.to_string(),
            ));
        } else if spec.lines[..j]
            .iter()
            .any(|o| o.line_port.eq_ignore_ascii_case(&l.line_port))
        {
            issues.push(issue(
                lp.clone().key("linePort"),
                ErrorKind::Duplicate,
                format!("line port {:?} is listed twice on this device", l.line_port),
            ));
        }
        let user = match resolve_user(&l.user) {
            Ok(u) => u,
            Err(Some(m)) => {
                issues.push(issue(lp.key("user"), ErrorKind::UnknownReference, m));
                continue;
            }
            Err(None) => {
                unresolved = true;
                continue;
            }
        };
        if l.endpoint == EndpointType::SharedCallAppearance
            && !(cx.user_info)(user).is_some_and(|(sca, _, _)| sca)
        {
            issues.push(issue(
                lp.clone().key("endpoint"),
                ErrorKind::Invalid,
                format!(
                    "{} has no sharedCallAppearance service, needed for a shared line",
                    l.user
                ),
            ));
        }
        if l.auth_password.is_some() != l.auth_username.is_some() {
            issues.push(issue(
                lp.key(if l.auth_username.is_none() {
                    "authUsername"
                } else {
                    "authPassword"
                }),
                ErrorKind::MissingField,
                "authUsername and authPassword go together",
            ));
        }
        lines.push(Line {
            line_port: l.line_port.clone(),
            user,
            endpoint: l.endpoint,
            owner: l.owner.unwrap_or(l.endpoint == EndpointType::Primary),
            auth_username: l.auth_username.clone(),
            auth_password: l.auth_password.clone(),
            allow_termination: AtomicBool::new(l.allow_termination),
            registrations: parking_lot::Mutex::new(Vec::new()),
        });
    }
    // Owning organisation: explicit, else the first line's user's.
    let first_user = lines.first().and_then(|l| (cx.user_info)(l.user));
    let mut enterprise = first_user.map(|(_, e, _)| e);
    let mut group = first_user.map(|(_, _, g)| g);
    if spec.group.is_some() || spec.enterprise.is_some() {
        match (&spec.group, &spec.enterprise) {
            (Some(gid), e) => match resolve_group(
                cx.enterprises,
                cx.groups,
                cx.org,
                cx.known,
                e.as_deref(),
                gid,
            ) {
                Ok(g) => {
                    group = Some(g);
                    enterprise = Some(cx.groups[g.get()].enterprise);
                }
                Err(e) => e.report(base, issues),
            },
            (None, Some(eid)) => match cx.org.enterprises.get(eid.as_str()) {
                Some(&e) => {
                    enterprise = Some(e);
                    group = None;
                }
                None if cx.known.enterprises.contains(eid) => {}
                None => issues.push(issue(
                    at("enterprise"),
                    ErrorKind::UnknownReference,
                    format!(
                        "no enterprise or service provider {eid:?}{}",
                        hint(eid, cx.enterprises.iter().map(|x| &*x.id))
                    ),
                )),
            },
            (None, None) => {}
        }
    }
    let level = spec.level.unwrap_or(DeviceLevel::Group);
    match level {
        DeviceLevel::System => {
            enterprise = None;
            group = None;
        }
        DeviceLevel::ServiceProvider => group = None,
        DeviceLevel::Group if group.is_none() && issues.len() == before && !unresolved => issues
            .push(issue(
                at("group"),
                ErrorKind::MissingField,
                "a group-level device needs a group (or a line whose user gives one)",
            )),
        DeviceLevel::Group => {}
    }
    if issues.len() > before || unresolved {
        return None;
    }
    Some(Device {
        idx,
        name: spec.name.clone(),
        device_type: spec.device_type.clone(),
        mac,
        level,
        enterprise,
        group,
        credentials: spec.credentials.clone(),
        version: spec.version.clone(),
        lines,
    })
}

#[allow(clippy::too_many_arguments)]
fn parse_admin(
    spec: &AdminSpec,
    base: &FieldPath,
    idx: AdminIdx,
    enterprises: &[Enterprise],
    groups: &[Group],
    org: &OrgIndex,
    known: &Known,
    system: &SystemSettings,
    issues: &mut Vec<Issue>,
) -> Option<Admin> {
    let at = |f: &'static str| base.clone().key(f);
    let before = issues.len();
    if let Err(e) = check_login_id(&spec.login) {
        issues.push(issue(at("login"), ErrorKind::Invalid, e.to_string()));
    }
    if let Err(e) = check_password_text(&spec.password) {
        issues.push(issue(at("password"), ErrorKind::Invalid, e.to_string()));
    }
    let scope = match (&spec.group, &spec.enterprise) {
        (Some(g), e) => match resolve_group(enterprises, groups, org, known, e.as_deref(), g) {
            Ok(g) => Some(AdminScope::Group(groups[g.get()].enterprise, g)),
            Err(e) => {
                e.report(base, issues);
                None
            }
        },
        (None, Some(e)) => match org.enterprises.get(e.as_str()) {
            Some(&x) => Some(AdminScope::ServiceProvider(x)),
            None => {
                if !known.enterprises.contains(e) {
                    issues.push(issue(
                        at("enterprise"),
                        ErrorKind::UnknownReference,
                        format!(
                            "no enterprise or service provider {e:?}{}",
                            hint(e, enterprises.iter().map(|x| &*x.id))
                        ),
                    ));
                }
                None
            }
        },
        (None, None) => Some(AdminScope::System),
    };
    if let Some(scope) = scope {
        let ok = match spec.admin_type {
            AdminType::Normal | AdminType::PasswordResetOnly => true,
            AdminType::Provisioning => scope == AdminScope::System,
            AdminType::Customer => matches!(scope, AdminScope::ServiceProvider(_)),
        };
        if !ok {
            let needs = if spec.admin_type == AdminType::Provisioning {
                "a system administrator (no enterprise or group)"
            } else {
                "a service provider administrator (enterprise, no group)"
            };
            issues.push(issue(
                at("type"),
                ErrorKind::Invalid,
                format!("type {:?} is only valid for {needs}", spec.admin_type),
            ));
        }
    }
    if issues.len() > before {
        return None;
    }
    Some(Admin {
        idx,
        login: spec.login.clone(),
        first_name: spec.first_name.clone(),
        last_name: spec.last_name.clone(),
        scope: scope?,
        admin_type: spec.admin_type,
        read_only: spec.read_only,
        language: spec
            .language
            .clone()
            .unwrap_or_else(|| system.default_language.to_string()),
        password: Mutex::new(PasswordState::new(spec.password.clone())),
    })
}
