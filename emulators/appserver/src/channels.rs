//! Channel sets: registry, expiry, duplicate sets.

use std::collections::VecDeque;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

use bwlab_core::journal::Kind;
use parking_lot::Mutex;
use tokio::time::Instant;

use crate::dispatch::Queued;
use crate::event::Owner;
use crate::ids::EventsAppId;
use crate::server::Inner;
use crate::shard::Sharded;
use crate::sink::ChannelTerminatedReason;
use crate::types::*;

pub(crate) struct Chan {
    pub(crate) id: Arc<str>,
    pub(crate) owner: Owner,
    pub(crate) set_id: Arc<str>,
    pub(crate) priority: u32,
    pub(crate) weight: u32,
    pub(crate) application_id: Option<Arc<str>>,
    pub(crate) host: EventsAppId,
    pub(crate) alive: AtomicBool,
    pub(crate) life: Mutex<ChanLife>,
}

pub(crate) struct ChanLife {
    pub(crate) expires_at: Option<Instant>,
    pub(crate) generation: u64,
}

impl Chan {
    fn remaining(&self) -> u32 {
        match self.life.lock().expires_at {
            None => NEVER_EXPIRES,
            Some(at) => u32::try_from(at.saturating_duration_since(Instant::now()).as_secs())
                .unwrap_or(NEVER_EXPIRES - 1),
        }
    }
}

pub(crate) type SetKey = (Owner, Arc<str>);

#[derive(Default)]
pub(crate) struct SetState {
    /// Copy-on-write: readers clone the `Arc`, writers replace it.
    pub(crate) channels: Arc<[Arc<Chan>]>,
    /// Events waiting for a live channel (bounded by `replay_queue`).
    pub(crate) replay: VecDeque<Queued>,
}

pub(crate) struct ChannelRegistry {
    by_id: Sharded<Arc<str>, Arc<Chan>>,
    pub(crate) sets: Sharded<SetKey, SetState>,
    /// (owner, applicationId) → channel set that holds it.
    by_app: Sharded<(Owner, Arc<str>), Arc<str>>,
    count: AtomicUsize,
}

impl ChannelRegistry {
    pub(crate) fn new() -> Self {
        Self {
            by_id: Sharded::new(),
            sets: Sharded::new(),
            by_app: Sharded::new(),
            count: AtomicUsize::new(0),
        }
    }

    pub(crate) fn count(&self) -> usize {
        self.count.load(Ordering::Relaxed)
    }

    pub(crate) fn get(&self, id: &str) -> Option<Arc<Chan>> {
        self.by_id.shard(id).lock().get(id).cloned()
    }

    pub(crate) fn set_channels(&self, owner: &Owner, set_id: &str) -> Arc<[Arc<Chan>]> {
        let key: SetKey = (owner.clone(), set_id.into());
        self.sets
            .shard(&key)
            .lock()
            .get(&key)
            .map(|s| s.channels.clone())
            .unwrap_or_else(|| Arc::from(Vec::new()))
    }

    pub(crate) fn hosted_by(&self, host: EventsAppId) -> Vec<Arc<Chan>> {
        let mut out = Vec::new();
        for shard in self.by_id.shards() {
            out.extend(shard.lock().values().filter(|c| c.host == host).cloned());
        }
        out
    }

    /// Removes a channel from the indices; false if it was gone already.
    fn remove(&self, ch: &Chan) -> bool {
        if self.by_id.shard(&*ch.id).lock().remove(&*ch.id).is_none() {
            return false;
        }
        ch.alive.store(false, Ordering::Relaxed);
        let key: SetKey = (ch.owner.clone(), ch.set_id.clone());
        let mut sets = self.sets.shard(&key).lock();
        if let Some(set) = sets.get_mut(&key) {
            let left: Vec<Arc<Chan>> = set
                .channels
                .iter()
                .filter(|c| c.id != ch.id)
                .cloned()
                .collect();
            set.channels = left.into();
            if set.channels.is_empty() && set.replay.is_empty() {
                sets.remove(&key);
            }
        }
        drop(sets);
        self.count.fetch_sub(1, Ordering::Relaxed);
        true
    }
}

fn grant_channel_expires(requested: Option<u32>, max: u32) -> u32 {
    match requested {
        None => MIN_EXPIRES,
        Some(NEVER_EXPIRES) if max == NEVER_EXPIRES => NEVER_EXPIRES,
        Some(v) => v.clamp(MIN_EXPIRES, max.max(MIN_EXPIRES)),
    }
}

impl Inner {
    pub(crate) fn channel_info(&self, ch: &Chan) -> ChannelInfo {
        ChannelInfo {
            id: ch.id.clone(),
            owner: ch.owner.clone(),
            channel_set_id: ch.set_id.clone(),
            priority: ch.priority,
            weight: ch.weight,
            expires: ch.remaining(),
            application_id: ch.application_id.clone(),
            host: ch.host,
            host_node: self
                .app(ch.host)
                .map(|a| a.node.clone())
                .unwrap_or_else(|| "".into()),
        }
    }

    pub(crate) fn open_channel(
        self: &Arc<Self>,
        req: OpenChannel,
        attach: impl FnOnce(&ChannelGrant),
    ) -> Result<ChannelGrant, ChannelError> {
        if self.app(req.host).is_none() {
            return Err(ChannelError::UnknownEventsApp);
        }
        let granted = grant_channel_expires(req.expires, self.settings.channel_max_expires);
        let expires_at = (granted != NEVER_EXPIRES)
            .then(|| Instant::now() + Duration::from_secs(u64::from(granted)));
        let set_id: Arc<str> = req.channel_set_id.as_str().into();
        let application_id: Option<Arc<str>> = req.application_id.as_deref().map(Into::into);
        let ch = Arc::new(Chan {
            id: self.dice.uuid(),
            owner: req.owner.clone(),
            set_id: set_id.clone(),
            priority: req.priority.unwrap_or(1).max(1),
            weight: req.weight.unwrap_or(50).max(1),
            application_id: application_id.clone(),
            host: req.host,
            alive: AtomicBool::new(true),
            life: Mutex::new(ChanLife {
                expires_at,
                generation: 0,
            }),
        });
        let key: SetKey = (req.owner.clone(), set_id.clone());
        let replay = {
            let mut sets = self.channels.sets.shard(&key).lock();
            let set = sets.entry(key.clone()).or_default();
            if set.channels.len() >= self.settings.max_channels_per_set {
                return Err(ChannelError::SetFull(self.settings.max_channels_per_set));
            }
            let mut list: Vec<Arc<Chan>> = set.channels.to_vec();
            list.push(ch.clone());
            set.channels = list.into();
            self.channels
                .by_id
                .shard(&*ch.id)
                .lock()
                .insert(ch.id.clone(), ch.clone());
            self.channels.count.fetch_add(1, Ordering::Relaxed);
            std::mem::take(&mut set.replay)
        };
        // One channel set per (user, applicationId): a channel in another set closes that set.
        let mut displaced = None;
        if let Some(app_id) = &application_id {
            let app_key = (req.owner.clone(), app_id.clone());
            let mut by_app = self.channels.by_app.shard(&app_key).lock();
            if let Some(old) = by_app.insert(app_key, set_id.clone())
                && old != set_id
            {
                displaced = Some(old);
            }
        }
        if let Some(old_set) = displaced {
            for old in self.channels.set_channels(&req.owner, &old_set).iter() {
                self.remove_channel(old, Some(ChannelTerminatedReason::DuplicateChannelSet));
            }
        }
        self.journal
            .record(
                self.node.clone(),
                Kind::Event,
                format!("channel {} opened in set {}", ch.id, ch.set_id),
            )
            .attr("channel_id", ch.id.to_string())
            .attr("channel_set_id", ch.set_id.to_string())
            .attr("owner", ch.owner.id())
            .attr("host", req.host.to_string())
            .commit();
        self.arm_channel_expiry(&ch, 0, expires_at);
        let grant = ChannelGrant {
            channel_id: ch.id.clone(),
            expires: granted,
        };
        // The host attaches its stream before anything queued for the set is replayed.
        attach(&grant);
        for q in replay {
            self.send_queued(q);
        }
        Ok(grant)
    }

    pub(crate) fn refresh_channel(
        self: &Arc<Self>,
        owner: &Owner,
        channel_id: &str,
        expires: Option<u32>,
    ) -> Result<ChannelGrant, ChannelError> {
        let ch = self
            .channels
            .get(channel_id)
            .filter(|c| c.owner == *owner)
            .ok_or(ChannelError::NotFound)?;
        if expires == Some(0) {
            self.remove_channel(&ch, Some(ChannelTerminatedReason::Expired));
            return Ok(ChannelGrant {
                channel_id: ch.id.clone(),
                expires: 0,
            });
        }
        let granted = grant_channel_expires(expires, self.settings.channel_max_expires);
        let at = (granted != NEVER_EXPIRES)
            .then(|| Instant::now() + Duration::from_secs(u64::from(granted)));
        let generation = {
            let mut life = ch.life.lock();
            life.generation += 1;
            life.expires_at = at;
            life.generation
        };
        self.arm_channel_expiry(&ch, generation, at);
        Ok(ChannelGrant {
            channel_id: ch.id.clone(),
            expires: granted,
        })
    }

    fn arm_channel_expiry(self: &Arc<Self>, ch: &Arc<Chan>, generation: u64, at: Option<Instant>) {
        let Some(at) = at else { return };
        let weak = Arc::downgrade(self);
        let ch = Arc::downgrade(ch);
        tokio::spawn(async move {
            tokio::time::sleep_until(at).await;
            let (Some(inner), Some(ch)) = (weak.upgrade(), ch.upgrade()) else {
                return;
            };
            if ch.life.lock().generation == generation {
                inner.remove_channel(&ch, Some(ChannelTerminatedReason::Expired));
            }
        });
    }

    /// Removes a channel; with a reason the host writes `ChannelTerminatedEvent`.
    pub(crate) fn remove_channel(&self, ch: &Chan, reason: Option<ChannelTerminatedReason>) {
        if !self.channels.remove(ch) {
            return;
        }
        if let Some(app_id) = &ch.application_id {
            let app_key = (ch.owner.clone(), app_id.clone());
            let mut by_app = self.channels.by_app.shard(&app_key).lock();
            if by_app.get(&app_key) == Some(&ch.set_id)
                && self.channels.set_channels(&ch.owner, &ch.set_id).is_empty()
            {
                by_app.remove(&app_key);
            }
        }
        self.journal
            .record(
                self.node.clone(),
                Kind::Event,
                format!(
                    "channel {} closed: {}",
                    ch.id,
                    reason.map_or("lost", |r| r.as_str())
                ),
            )
            .attr("channel_id", ch.id.to_string())
            .attr("reason", reason.map_or("none", |r| r.as_str()))
            .commit();
        if let Some(reason) = reason
            && let Some(app) = self.app(ch.host)
        {
            app.sink.terminate(&ch.id, reason);
        }
    }
}
