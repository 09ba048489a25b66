//! Events per second from the call engine to a sink that acknowledges at once.
//!
//! The lab: `BWLAB_BENCH_USERS` users (default 100,000), the first 10,000 each with a
//! channel and an Advanced Call subscription. One iteration is a call between two of them
//! (dial, answer, release): ten events, each through subscription fan-out, channel choice,
//! the pending-acknowledgement table and its timeout task. Tokio time is paused, so ack
//! timers cost their bookkeeping, not wall time; they are flushed inside the measurement.
//! Target: well above 1,000 events/s on 2 cores.

use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use bwlab_appserver::{
    AppServer, AsSettings, Delivery, EventPackage, EventResponseCode, EventSink, EventsAppId,
    NEVER_EXPIRES, Notification, OpenChannel, Origin, Owner, Packages, SubscribeRequest,
    SubscriptionRoute, Target,
};
use bwlab_core::clock::LabClock;
use bwlab_core::journal::Journal;
use bwlab_model::{Store, synthetic_lab_yaml};
use bwlab_profiles::{ChannelTerminatedReason, Profiles};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use time::macros::datetime;

const EVENTS_PER_CALL: u64 = 10;

#[derive(Default)]
struct AckSink(OnceLock<(AppServer, EventsAppId)>);

impl EventSink for AckSink {
    fn deliver(&self, _channel_id: &str, n: Arc<Notification>) -> Delivery {
        if let Some((as_, app)) = self.0.get() {
            let _ = as_.event_response(*app, &n.event_id, EventResponseCode::Ok);
        }
        Delivery::Delivered
    }
    fn deliver_http(&self, _uri: &str, _n: Arc<Notification>) -> Delivery {
        Delivery::Delivered
    }
    fn terminate(&self, _channel_id: &str, _reason: ChannelTerminatedReason) {}
}

fn users() -> usize {
    std::env::var("BWLAB_BENCH_USERS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(100_000)
}

fn setup(n: usize, subscribed: usize) -> AppServer {
    let clock = LabClock::starting_at(datetime!(2026-01-01 0:00 UTC));
    let store = Store::from_yaml_str(&synthetic_lab_yaml(n), "synth.yaml", clock.clone())
        .expect("synthetic lab");
    let profile = Profiles::builtin().get("r24").expect("r24").clone();
    let as_ = AppServer::new(store, profile, Journal::new(clock), AsSettings::default());
    let sink = Arc::new(AckSink::default());
    let app = as_.register_events_app("xsp1", "com.broadsoft.xsi-events", sink.clone());
    let _ = sink.0.set((as_.clone(), app));
    for i in 0..subscribed {
        let user = format!("u{i}@synth.example");
        as_.open_channel(OpenChannel {
            owner: Owner::user(user.as_str()),
            channel_set_id: "bench".into(),
            priority: None,
            weight: None,
            expires: Some(NEVER_EXPIRES),
            application_id: Some("bench".into()),
            host: app,
        })
        .expect("channel");
        as_.subscribe(SubscribeRequest {
            owner: Owner::user(user.as_str()),
            target: Target::User(user.clone()),
            target_sub_id: None,
            packages: Packages::Single(EventPackage::AdvancedCall),
            expires: Some(NEVER_EXPIRES),
            route: SubscriptionRoute::ChannelSet("bench".into()),
            application_id: Some("bench".into()),
            shared_subscription_id: None,
            protocol_version: None,
            origin: Origin {
                via: app,
                cti: false,
                client_identity: None,
            },
        })
        .expect("subscribe");
    }
    as_
}

fn engine(c: &mut Criterion) {
    let n = users().max(2);
    let subscribed = n.min(10_000);
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .start_paused(true)
        .build()
        .expect("runtime");
    let as_ = rt.block_on(async { setup(n, subscribed) });
    let callers: Vec<String> = (0..subscribed)
        .map(|i| format!("u{i}@synth.example"))
        .collect();
    let numbers: Vec<String> = (0..subscribed).map(|i| format!("+1555{i:07}")).collect();
    let mut g = c.benchmark_group("engine");
    g.throughput(Throughput::Elements(EVENTS_PER_CALL));
    g.sample_size(20);
    g.measurement_time(Duration::from_secs(5));
    g.bench_function("call_events_to_acking_sink", |b| {
        b.iter_custom(|iters| {
            rt.block_on(async {
                let start = Instant::now();
                for i in 0..iters as usize {
                    let a = i % (subscribed - 1);
                    let calls = as_.calls();
                    let h = calls.dial(&callers[a], &numbers[a + 1]).expect("dial");
                    calls
                        .answer(h.terminator.as_ref().expect("routed"))
                        .expect("answer");
                    calls.release(&h.originator).expect("release");
                }
                // Let the acknowledgement timers run out (paused time: no waiting).
                tokio::time::sleep(Duration::from_secs(11)).await;
                start.elapsed()
            })
        })
    });
    g.finish();
    let stats = as_.stats();
    assert_eq!(
        stats.undeliverable + stats.dropped_no_channel + stats.lost_app_name,
        0
    );
}

criterion_group!(benches, engine);
criterion_main!(benches);
