//! The cluster-wide subscription registry.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

use bwlab_core::journal::Kind;
use bwlab_model::{EnterpriseIdx, GroupIdx, User, UserIdx};
use bwlab_profiles::{Feature, XsiVersion};
use parking_lot::{Mutex, RwLock};
use tokio::time::Instant;

use crate::event::{EventData, Owner};
use crate::ids::SequenceCounter;
use crate::package::{EventPackage, EventPackageExt};
use crate::server::Inner;
use crate::shard::Sharded;
use crate::types::*;

/// The resolved target, for fan-out.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(crate) enum TargetKey {
    User(UserIdx),
    Group(GroupIdx),
    Enterprise(EnterpriseIdx),
    System,
}

pub(crate) struct Sub {
    pub(crate) id: Arc<str>,
    pub(crate) owner: Owner,
    pub(crate) target: Target,
    pub(crate) key: TargetKey,
    pub(crate) target_sub_id: Option<Arc<str>>,
    pub(crate) packages: Packages,
    pub(crate) application_id: Option<Arc<str>>,
    pub(crate) shared_id: Option<Arc<str>>,
    pub(crate) protocol_version: Option<XsiVersion>,
    pub(crate) tag: Arc<str>,
    pub(crate) cti: bool,
    pub(crate) client_identity: Option<Arc<str>>,
    pub(crate) seq: SequenceCounter,
    pub(crate) alive: AtomicBool,
    pub(crate) life: Mutex<Life>,
}

pub(crate) struct Life {
    /// `None` = never expires.
    pub(crate) expires_at: Option<Instant>,
    pub(crate) generation: u64,
    pub(crate) route: SubscriptionRoute,
}

impl Sub {
    pub(crate) fn route(&self) -> SubscriptionRoute {
        self.life.lock().route.clone()
    }

    pub(crate) fn remaining(&self) -> u32 {
        if !self.alive.load(Ordering::Relaxed) {
            return 0;
        }
        match self.life.lock().expires_at {
            None => NEVER_EXPIRES,
            Some(at) => {
                let left = at.saturating_duration_since(Instant::now());
                u32::try_from(left.as_secs()).unwrap_or(NEVER_EXPIRES - 1)
            }
        }
    }

    pub(crate) fn info(&self) -> SubscriptionInfo {
        SubscriptionInfo {
            id: self.id.clone(),
            owner: self.owner.clone(),
            target: self.target.clone(),
            target_sub_id: self.target_sub_id.clone(),
            packages: self.packages.clone(),
            expires: self.remaining(),
            route: self.route(),
            application_id: self.application_id.clone(),
            shared_subscription_id: self.shared_id.clone(),
            call_control_application_name: self.tag.clone(),
            cti: self.cti,
            client_identity: self.client_identity.clone(),
            protocol_version: self.protocol_version,
        }
    }

    /// Test hook: the next sequence number this subscription will use.
    #[cfg(test)]
    pub(crate) fn seq_set_next(&self, next: u32) {
        self.seq.set_next(next);
    }

    fn is_list(&self) -> bool {
        matches!(self.packages, Packages::List(_))
    }
}

/// One owner's subscriptions, grouped by target: the duplicate check on subscribe only
/// looks at the same target, so a CTI client owning a subscription per user (100,000 of
/// them in a re-subscription storm) stays O(1) per subscribe.
#[derive(Default)]
pub(crate) struct OwnerSubs {
    by_target: std::collections::HashMap<Target, Vec<Arc<Sub>>>,
    count: usize,
}

impl OwnerSubs {
    fn len(&self) -> usize {
        self.count
    }

    fn is_empty(&self) -> bool {
        self.count == 0
    }

    fn push(&mut self, s: Arc<Sub>) {
        self.by_target.entry(s.target.clone()).or_default().push(s);
        self.count += 1;
    }

    fn remove_ptr(&mut self, sub: &Sub) {
        if let Some(list) = self.by_target.get_mut(&sub.target) {
            let before = list.len();
            list.retain(|s| !std::ptr::eq(&**s, sub));
            self.count -= before - list.len();
            if list.is_empty() {
                self.by_target.remove(&sub.target);
            }
        }
    }

    fn all(&self) -> Vec<Arc<Sub>> {
        self.by_target.values().flatten().cloned().collect()
    }
}

pub(crate) struct SubscriptionRegistry {
    by_id: Sharded<Arc<str>, Arc<Sub>>,
    by_owner: Sharded<Owner, OwnerSubs>,
    by_user: Sharded<UserIdx, Vec<Arc<Sub>>>,
    by_group: Sharded<GroupIdx, Vec<Arc<Sub>>>,
    by_enterprise: Sharded<EnterpriseIdx, Vec<Arc<Sub>>>,
    system: RwLock<Vec<Arc<Sub>>>,
    count: AtomicUsize,
}

fn remove_from<K: std::hash::Hash + Eq>(map: &Sharded<K, Vec<Arc<Sub>>>, key: &K, sub: &Sub) {
    let mut shard = map.shard(key).lock();
    if let Some(list) = shard.get_mut(key) {
        list.retain(|s| !std::ptr::eq(&**s, sub));
        if list.is_empty() {
            shard.remove(key);
        }
    }
}

impl SubscriptionRegistry {
    pub(crate) fn new() -> Self {
        Self {
            by_id: Sharded::new(),
            by_owner: Sharded::new(),
            by_user: Sharded::new(),
            by_group: Sharded::new(),
            by_enterprise: Sharded::new(),
            system: RwLock::new(Vec::new()),
            count: AtomicUsize::new(0),
        }
    }

    pub(crate) fn count(&self) -> usize {
        self.count.load(Ordering::Relaxed)
    }

    pub(crate) fn get(&self, id: &str) -> Option<Arc<Sub>> {
        self.by_id.shard(id).lock().get(id).cloned()
    }

    /// Inserts into every index except `by_owner` (the caller holds that shard).
    fn index(&self, sub: &Arc<Sub>) {
        self.by_id
            .shard(&*sub.id)
            .lock()
            .insert(sub.id.clone(), sub.clone());
        match sub.key {
            TargetKey::User(u) => self
                .by_user
                .shard(&u)
                .lock()
                .entry(u)
                .or_default()
                .push(sub.clone()),
            TargetKey::Group(g) => self
                .by_group
                .shard(&g)
                .lock()
                .entry(g)
                .or_default()
                .push(sub.clone()),
            TargetKey::Enterprise(e) => self
                .by_enterprise
                .shard(&e)
                .lock()
                .entry(e)
                .or_default()
                .push(sub.clone()),
            TargetKey::System => self.system.write().push(sub.clone()),
        }
        self.count.fetch_add(1, Ordering::Relaxed);
    }

    /// Removes from every index except `by_owner`.
    /// Removes from every index except `by_owner`. Compares identity, not ids: a replacement
    /// may reuse the id of the subscription it overwrote.
    fn unindex(&self, sub: &Sub) -> bool {
        {
            let mut ids = self.by_id.shard(&*sub.id).lock();
            if !ids.get(&*sub.id).is_some_and(|s| std::ptr::eq(&**s, sub)) {
                return false;
            }
            ids.remove(&*sub.id);
        }
        sub.alive.store(false, Ordering::Relaxed);
        sub.life.lock().generation += 1;
        match sub.key {
            TargetKey::User(u) => remove_from(&self.by_user, &u, sub),
            TargetKey::Group(g) => remove_from(&self.by_group, &g, sub),
            TargetKey::Enterprise(e) => remove_from(&self.by_enterprise, &e, sub),
            TargetKey::System => self.system.write().retain(|s| !std::ptr::eq(&**s, sub)),
        }
        self.count.fetch_sub(1, Ordering::Relaxed);
        true
    }

    /// Removes a subscription everywhere; false if it was already gone.
    pub(crate) fn remove(&self, sub: &Sub) -> bool {
        let mut owners = self.by_owner.shard(&sub.owner).lock();
        if let Some(list) = owners.get_mut(&sub.owner) {
            list.remove_ptr(sub);
            if list.is_empty() {
                owners.remove(&sub.owner);
            }
        }
        self.unindex(sub)
    }

    /// Subscriptions that can see events about `user`, most specific first.
    pub(crate) fn for_user(&self, user: &User, out: &mut Vec<Arc<Sub>>) {
        if let Some(l) = self.by_user.shard(&user.idx).lock().get(&user.idx) {
            out.extend(l.iter().cloned());
        }
        if let Some(l) = self.by_group.shard(&user.group).lock().get(&user.group) {
            out.extend(l.iter().cloned());
        }
        if let Some(l) = self
            .by_enterprise
            .shard(&user.enterprise)
            .lock()
            .get(&user.enterprise)
        {
            out.extend(l.iter().cloned());
        }
        let system = self.system.read();
        if !system.is_empty() {
            out.extend(system.iter().cloned());
        }
    }

    pub(crate) fn all(&self) -> Vec<Arc<Sub>> {
        let mut out = Vec::new();
        for shard in self.by_id.shards() {
            out.extend(shard.lock().values().cloned());
        }
        out
    }

    pub(crate) fn of_owner(&self, owner: &Owner) -> Vec<Arc<Sub>> {
        self.by_owner
            .shard(owner)
            .lock()
            .get(owner)
            .map(OwnerSubs::all)
            .unwrap_or_default()
    }
}

impl Inner {
    /// Granted subscription lifetime for a requested `expires`.
    pub(crate) fn grant_subscription_expires(&self, requested: Option<u32>) -> u32 {
        let s = &self.settings;
        let max = s
            .subscription_max_expires
            .clamp(MIN_EXPIRES, NEVER_EXPIRES - 1);
        match requested {
            None => MIN_EXPIRES,
            Some(NEVER_EXPIRES) if s.allow_never_expires => NEVER_EXPIRES,
            Some(v) => v.clamp(MIN_EXPIRES, max),
        }
    }

    fn resolve_target(&self, target: &Target) -> Result<TargetKey, SubscribeError> {
        let store = &self.store;
        Ok(match target {
            Target::User(u) => {
                TargetKey::User(store.find_user(u).ok_or(SubscribeError::UnknownTarget)?.idx)
            }
            Target::Group { enterprise, group } => TargetKey::Group(
                store
                    .find_group(enterprise, group)
                    .ok_or(SubscribeError::UnknownTarget)?
                    .idx,
            ),
            Target::Enterprise(e) => TargetKey::Enterprise(
                store
                    .find_enterprise(e)
                    .ok_or(SubscribeError::UnknownTarget)?
                    .idx,
            ),
            Target::System => TargetKey::System,
        })
    }

    fn check_packages(&self, req: &SubscribeRequest) -> Result<(), SubscribeError> {
        let list = req.packages.as_slice();
        if list.is_empty() {
            return Err(SubscribeError::NoPackage);
        }
        for &p in list {
            if !p.allowed_for_version(req.protocol_version) {
                return Err(SubscribeError::PackageVersion(p));
            }
            if !self.profile.has_event_package(p) {
                return Err(SubscribeError::UnsupportedPackage(p));
            }
            if req.origin.cti
                && p == EventPackage::DoNotDisturb
                && !self.profile.supports(Feature::DndSync)
            {
                return Err(SubscribeError::NotAllowedOverCti(p));
            }
        }
        Ok(())
    }

    pub(crate) fn subscribe(
        self: &Arc<Self>,
        req: SubscribeRequest,
    ) -> Result<SubscriptionGrant, SubscribeError> {
        let app = self
            .app(req.origin.via)
            .ok_or(SubscribeError::UnknownEventsApp)?;
        if req.origin.cti
            && let Some(cn) = &req.origin.client_identity
            && !self.settings.client_identity_allowed(cn)
        {
            return Err(SubscribeError::ClientIdentityRefused(cn.clone()));
        }
        self.check_packages(&req)?;
        let key = self.resolve_target(&req.target)?;
        let mut req = req;
        if let TargetKey::User(idx) = key
            && let Some(u) = self.store.user(idx)
        {
            // Alternate ids and odd case name the same user: keep the primary id.
            req.target = Target::User(u.user_id.clone());
        }
        let granted = self.grant_subscription_expires(req.expires);
        let expires_at = (granted != NEVER_EXPIRES)
            .then(|| Instant::now() + Duration::from_secs(u64::from(granted)));
        let application_id: Option<Arc<str>> = req.application_id.as_deref().map(Into::into);
        let target_sub_id: Option<Arc<str>> = req.target_sub_id.as_deref().map(Into::into);
        let is_list = matches!(req.packages, Packages::List(_));

        let mut owners = self.subs.by_owner.shard(&req.owner).lock();
        let mine = owners.entry(req.owner.clone()).or_default();
        // Duplicate rules: one package list per (owner, target); a single package is
        // overwritten per (owner, target, subId, package, applicationId).
        let same_target = mine
            .by_target
            .get(&req.target)
            .map_or(&[][..], Vec::as_slice);
        let dup = same_target.iter().position(|s| {
            s.target == req.target
                && if is_list {
                    s.is_list()
                } else {
                    !s.is_list()
                        && s.packages == req.packages
                        && s.target_sub_id == target_sub_id
                        && s.application_id == application_id
                }
        });
        let mut terminated_old = None;
        let mut replaced = None;
        let keep_id = dup.is_some() && !is_list && !self.settings.duplicate_mints_new_id;
        if let Some(i) = dup {
            let old = same_target[i].clone();
            mine.remove_ptr(&old);
            self.subs.unindex(&old);
            replaced = Some(old.id.clone());
            if !keep_id {
                terminated_old = Some(old);
            }
        }
        // Client applications (the Webex CTI client) hold one subscription per user of
        // the cluster; the per-owner limit is about users leaking subscriptions.
        if matches!(req.owner, Owner::User(_))
            && mine.len() >= self.settings.max_subscriptions_per_owner
        {
            if mine.is_empty() {
                owners.remove(&req.owner);
            }
            return Err(SubscribeError::LimitReached(
                self.settings.max_subscriptions_per_owner,
            ));
        }
        let id = match (&replaced, keep_id) {
            (Some(old), true) => old.clone(),
            _ => self.dice.uuid(),
        };
        let sub = Arc::new(Sub {
            id: id.clone(),
            owner: req.owner.clone(),
            target: req.target.clone(),
            key,
            target_sub_id,
            packages: req.packages.clone(),
            application_id,
            shared_id: req.shared_subscription_id.as_deref().map(Into::into),
            protocol_version: req.protocol_version,
            tag: app.name.clone(),
            cti: req.origin.cti,
            client_identity: req.origin.client_identity.as_deref().map(Into::into),
            seq: SequenceCounter::default(),
            alive: AtomicBool::new(true),
            life: Mutex::new(Life {
                expires_at,
                generation: 0,
                route: req.route.clone(),
            }),
        });
        mine.push(sub.clone());
        self.subs.index(&sub);
        drop(owners);

        self.journal
            .record(
                self.node.clone(),
                Kind::Event,
                format!("subscription {} created", sub.id),
            )
            .attr("subscription_id", sub.id.to_string())
            .attr("owner", sub.owner.id())
            .attr("target", req.target.id().unwrap_or("system"))
            .attr("call_control_application_name", sub.tag.to_string())
            .attr("cti", sub.cti.to_string())
            .commit();
        if let Some(old) = terminated_old
            && !is_list
        {
            self.send_terminated(&old);
        }
        self.arm_subscription_expiry(&sub, 0, expires_at);
        self.send_initial_state(&sub);
        Ok(SubscriptionGrant {
            subscription_id: id,
            expires: granted,
            replaced,
        })
    }

    fn arm_subscription_expiry(
        self: &Arc<Self>,
        sub: &Arc<Sub>,
        generation: u64,
        at: Option<Instant>,
    ) {
        let Some(at) = at else { return };
        let weak = Arc::downgrade(self);
        let sub = Arc::downgrade(sub);
        tokio::spawn(async move {
            tokio::time::sleep_until(at).await;
            let (Some(inner), Some(sub)) = (weak.upgrade(), sub.upgrade()) else {
                return;
            };
            if sub.life.lock().generation != generation {
                return;
            }
            if inner.subs.remove(&sub) {
                inner
                    .journal
                    .record(
                        inner.node.clone(),
                        Kind::Event,
                        format!("subscription {} expired", sub.id),
                    )
                    .attr("subscription_id", sub.id.to_string())
                    .commit();
                inner.send_terminated(&sub);
            }
        });
    }

    /// Sends the state event of each package after subscribe/refresh (user targets only).
    fn send_initial_state(&self, sub: &Arc<Sub>) {
        let TargetKey::User(idx) = sub.key else {
            return;
        };
        if sub.target_sub_id.is_some() {
            return;
        }
        let Some(user) = self.store.user(idx) else {
            return;
        };
        for &p in sub.packages.as_slice() {
            if let Some(data) = self.state_event(&user, p) {
                self.send_to_subscription(sub, &user, p, data);
            }
        }
    }

    pub(crate) fn refresh_subscription(
        self: &Arc<Self>,
        id: &str,
        expires: Option<u32>,
    ) -> Result<SubscriptionGrant, SubscribeError> {
        let sub = self.subs.get(id).ok_or(SubscribeError::NotFound)?;
        if expires == Some(0) {
            self.delete_subscription(id, true)?;
            return Ok(SubscriptionGrant {
                subscription_id: sub.id.clone(),
                expires: 0,
                replaced: None,
            });
        }
        let granted = self.grant_subscription_expires(expires);
        let at = (granted != NEVER_EXPIRES)
            .then(|| Instant::now() + Duration::from_secs(u64::from(granted)));
        let generation = {
            let mut life = sub.life.lock();
            life.generation += 1;
            life.expires_at = at;
            life.generation
        };
        self.arm_subscription_expiry(&sub, generation, at);
        self.send_initial_state(&sub);
        Ok(SubscriptionGrant {
            subscription_id: sub.id.clone(),
            expires: granted,
            replaced: None,
        })
    }

    /// Deletes a subscription; `notify` sends `SubscriptionTerminatedEvent`.
    pub(crate) fn delete_subscription(&self, id: &str, notify: bool) -> Result<(), SubscribeError> {
        let sub = self.subs.get(id).ok_or(SubscribeError::NotFound)?;
        if !self.subs.remove(&sub) {
            return Err(SubscribeError::NotFound);
        }
        self.journal
            .record(
                self.node.clone(),
                Kind::Event,
                format!("subscription {} deleted", sub.id),
            )
            .attr("subscription_id", sub.id.to_string())
            .commit();
        if notify {
            self.send_terminated(&sub);
        }
        Ok(())
    }

    fn send_terminated(&self, sub: &Arc<Sub>) {
        let target_user = match sub.key {
            TargetKey::User(u) => self.store.user(u),
            _ => None,
        };
        let package = sub.packages.as_slice()[0];
        self.send_raw(
            sub,
            target_user.as_deref(),
            package,
            Arc::new(EventData::SubscriptionTerminated),
        );
    }

    pub(crate) fn query_subscriptions(
        &self,
        q: &SubscriptionQuery,
    ) -> Result<Vec<SubscriptionInfo>, SubscribeError> {
        let ty = q.target_type.unwrap_or(TargetType::User);
        if ty == TargetType::Group && q.target_grp_parent_id.is_none() {
            return Err(SubscribeError::MissingGroupParent);
        }
        let candidates = match &q.owner {
            Some(o) => self.subs.of_owner(o),
            None => self.subs.all(),
        };
        let mut out: Vec<SubscriptionInfo> = candidates
            .iter()
            .filter(|s| {
                let type_ok = match (&s.target, ty) {
                    (Target::User(_), TargetType::User) => true,
                    (Target::Group { .. }, TargetType::Group) => true,
                    (Target::Enterprise(_), TargetType::ServiceProvider) => true,
                    (Target::System, TargetType::System) => true,
                    _ => q.target_type.is_none() && q.target_id.is_none(),
                };
                type_ok
                    && q.target_id.as_deref().is_none_or(|t| {
                        s.target.id().is_some_and(|id| match &s.target {
                            Target::User(_) => id.eq_ignore_ascii_case(t),
                            _ => id == t,
                        })
                    })
                    && q.target_grp_parent_id
                        .as_deref()
                        .is_none_or(|p| s.target.parent_id() == Some(p))
                    && q.event.is_none_or(|e| s.packages == Packages::Single(e))
                    && q.ext_app_id
                        .as_deref()
                        .is_none_or(|a| s.application_id.as_deref() == Some(a))
                    && q.target_sub_id
                        .as_deref()
                        .is_none_or(|t| s.target_sub_id.as_deref() == Some(t))
            })
            .map(|s| s.info())
            .collect();
        out.sort_by(|a, b| a.id.cmp(&b.id));
        Ok(out)
    }
}
