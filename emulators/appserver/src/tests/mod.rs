//! Unit tests: a recording sink, a small lab, paused tokio time.

mod calls;
mod channels;
mod cti;
mod faults;
mod packages;
mod subscriptions;

use std::sync::Arc;
use std::time::Duration;

use bwlab_core::clock::LabClock;
use bwlab_core::journal::Journal;
use bwlab_model::Store;
use bwlab_profiles::Profiles;
use parking_lot::Mutex;
use time::macros::datetime;

use crate::*;

pub(crate) const LAB: &str = r#"
enterprises:
  - id: acme
    defaultDomain: lab.example
    groups:
      - {id: hq}
      - {id: branch}
users:
  - {userId: alice@lab.example, group: hq, firstName: Alice, lastName: A, password: "s3cret!1", number: "+15550100101", extension: "101"}
  - {userId: bob@lab.example, group: hq, firstName: Bob, lastName: B, password: "s3cret!1", number: "+15550100102", extension: "102",
     services: {callWaiting: {active: false}}}
  - {userId: carol@lab.example, group: hq, firstName: Carol, lastName: C, password: "s3cret!1", number: "+15550100103", extension: "103",
     services: {voiceMessaging: {active: true, noAnswerNumberOfRings: 2}, callWaiting: {active: false}}}
  - {userId: dan@lab.example, group: hq, firstName: Dan, lastName: D, password: "s3cret!1", number: "+15550100104", extension: "104",
     services: {doNotDisturb: {active: true}}}
  - {userId: erin@lab.example, group: hq, firstName: Erin, lastName: E, password: "s3cret!1", number: "+15550100105", extension: "105",
     services: {callForwardingAlways: {active: true, forwardToPhoneNumber: "102"}}}
  - {userId: fay@lab.example, group: hq, firstName: Fay, lastName: F, password: "s3cret!1", number: "+15550100106", extension: "106",
     services: {callForwardingNoAnswer: {active: true, forwardToPhoneNumber: "101", numberOfRings: 3}}}
  - {userId: gus@lab.example, group: branch, firstName: Gus, lastName: G, password: "s3cret!1", number: "+15550100107", extension: "107",
     services: {callForwardingBusy: {active: true, forwardToPhoneNumber: "+15550100106"}, callWaiting: {active: false}}}
"#;

/// What a sink saw.
#[derive(Default)]
pub(crate) struct Recorder {
    pub(crate) events: Mutex<Vec<Arc<Notification>>>,
    pub(crate) http: Mutex<Vec<(String, Arc<Notification>)>>,
    pub(crate) terminated: Mutex<Vec<(String, ChannelTerminatedReason)>>,
    pub(crate) refuse: Mutex<Option<Delivery>>,
    pub(crate) dropped: Mutex<Vec<String>>,
    /// Answers every event with 200 right away (a cycle: tests only).
    pub(crate) auto_ack: Mutex<Option<(AppServer, EventsAppId)>>,
}

impl EventSink for Recorder {
    fn deliver(&self, _channel_id: &str, n: Arc<Notification>) -> Delivery {
        if let Some(d) = *self.refuse.lock() {
            return d;
        }
        self.events.lock().push(n.clone());
        let ack = self.auto_ack.lock().clone();
        if let Some((as_, app)) = ack {
            as_.event_response(app, &n.event_id, EventResponseCode::Ok)
                .expect("auto ack");
        }
        Delivery::Delivered
    }

    fn deliver_http(&self, uri: &str, n: Arc<Notification>) -> Delivery {
        self.http.lock().push((uri.to_owned(), n));
        Delivery::Delivered
    }

    fn terminate(&self, channel_id: &str, reason: ChannelTerminatedReason) {
        self.terminated.lock().push((channel_id.to_owned(), reason));
    }

    fn drop_channel(&self, channel_id: &str) {
        self.dropped.lock().push(channel_id.to_owned());
    }
}

impl Recorder {
    pub(crate) fn take(&self) -> Vec<Arc<Notification>> {
        std::mem::take(&mut *self.events.lock())
    }

    /// Event types received for one subscription.
    pub(crate) fn kinds_of(&self, sub: &str) -> Vec<&'static str> {
        self.events
            .lock()
            .iter()
            .filter(|n| &*n.subscription_id == sub)
            .map(|n| n.data.kind().type_name())
            .collect()
    }

    pub(crate) fn terminations(&self) -> Vec<(String, ChannelTerminatedReason)> {
        self.terminated.lock().clone()
    }
}

pub(crate) struct Lab {
    pub(crate) as_: AppServer,
    pub(crate) rec: Arc<Recorder>,
    pub(crate) app: EventsAppId,
}

pub(crate) fn lab_with(profile: &str, settings: AsSettings) -> Lab {
    let profile = Profiles::builtin().get(profile).expect("profile").clone();
    lab_with_profile(profile, settings)
}

/// A lab on `r24` with some features switched off (`name = false` lines).
pub(crate) fn lab_without(features: &[&str]) -> Lab {
    let mut text =
        String::from("name = \"custom\"\nextends = \"r24\"\ndescription = \"test\"\n[features]\n");
    for f in features {
        text.push_str(&format!("{f} = false\n"));
    }
    let mut profiles = Profiles::builtin();
    let profile = profiles
        .load_str("custom.toml", &text)
        .expect("profile")
        .clone();
    lab_with_profile(profile, AsSettings::default())
}

pub(crate) fn lab_with_profile(profile: bwlab_profiles::Profile, settings: AsSettings) -> Lab {
    let clock = LabClock::starting_at(datetime!(2026-01-01 0:00 UTC));
    let store = Store::from_yaml_str(LAB, "lab.yaml", clock.clone()).expect("lab");
    let journal = Journal::new(clock);
    let as_ = AppServer::new(store, profile, journal, settings);
    let rec = Arc::new(Recorder::default());
    let app = as_.register_events_app("xsp1", "com.broadsoft.xsi-events", rec.clone());
    *rec.auto_ack.lock() = Some((as_.clone(), app));
    Lab { as_, rec, app }
}

pub(crate) fn lab() -> Lab {
    lab_with("r24", AsSettings::default())
}

impl Lab {
    /// Events wait for explicit `event_response`s.
    pub(crate) fn manual_acks(&self) {
        *self.rec.auto_ack.lock() = None;
    }

    pub(crate) fn channel(&self, user: &str, set: &str) -> Arc<str> {
        self.as_
            .open_channel(OpenChannel {
                owner: Owner::user(user),
                channel_set_id: set.into(),
                priority: None,
                weight: None,
                expires: None,
                application_id: None,
                host: self.app,
            })
            .expect("channel")
            .channel_id
    }

    pub(crate) fn request(
        &self,
        owner: &str,
        target: &str,
        p: EventPackage,
        set: &str,
    ) -> SubscribeRequest {
        SubscribeRequest {
            owner: Owner::user(owner),
            target: Target::User(target.into()),
            target_sub_id: None,
            packages: Packages::Single(p),
            expires: None,
            route: SubscriptionRoute::ChannelSet(set.into()),
            application_id: None,
            shared_subscription_id: None,
            protocol_version: None,
            origin: Origin {
                via: self.app,
                cti: false,
                client_identity: None,
            },
        }
    }

    /// Subscribes `user` to its own `p` over set `set`; answers the subscription id.
    pub(crate) fn sub(&self, user: &str, p: EventPackage, set: &str) -> Arc<str> {
        self.as_
            .subscribe(self.request(user, user, p, set))
            .expect("subscribe")
            .subscription_id
    }
}

/// Lets spawned tasks run (paused time: no real waiting).
pub(crate) async fn settle() {
    for _ in 0..5 {
        tokio::task::yield_now().await;
    }
}

pub(crate) async fn advance(d: Duration) {
    tokio::time::sleep(d).await;
    settle().await;
}
