//! The node's side of the AS boundary: the AS hands over events for channels this node
//! hosts (or for HTTP contacts) and asks it to end channels.

use std::sync::{Arc, Weak};

use bwlab_appserver::{ChannelTerminatedReason, Delivery, EventSink, Notification};
use bwlab_core::Kind;

use super::channels::{Ctl, Offer};
use super::render;
use crate::Shared;

/// Points back at the node weakly: the AS outlives a stopped node's registration only
/// until `unregister_events_app`, and must not keep the node alive.
pub(crate) struct NodeSink {
    shared: Weak<Shared>,
}

impl NodeSink {
    pub(crate) fn new(shared: Weak<Shared>) -> Self {
        NodeSink { shared }
    }
}

impl EventSink for NodeSink {
    fn deliver(&self, channel_id: &str, n: Arc<Notification>) -> Delivery {
        let Some(shared) = self.shared.upgrade() else {
            return Delivery::NotHere;
        };
        let Some(ev) = &shared.events else {
            return Delivery::NotHere;
        };
        let bytes = render::notification(&n);
        let limit = ev.faults.queue_limit(ev.settings.event_queue_size);
        let offer = ev.live.offer_event(channel_id, bytes, limit);
        let outcome = match offer {
            Offer::Queued => "queued",
            Offer::NotHere => "not-here",
            Offer::Full => "queue-full",
        };
        let mut rec = shared
            .journal
            .record(
                Arc::clone(&shared.name),
                Kind::Event,
                format!(
                    "{} #{} for {} → channel {channel_id}: {outcome}",
                    n.data.kind().type_name(),
                    n.sequence_number,
                    n.target_id.as_deref().unwrap_or(n.owner.id()),
                ),
            )
            .attr("direction", "out")
            .attr("event_type", n.data.kind().type_name())
            .attr("event_id", n.event_id.to_string())
            .attr("sequence", n.sequence_number.to_string())
            .attr("subscription", n.subscription_id.to_string())
            .attr("owner", n.owner.id().to_owned())
            .attr("channel", channel_id.to_owned())
            .attr("package", n.package.as_str())
            .attr("outcome", outcome);
        if let Some(t) = &n.target_id {
            rec = rec.attr("target", t.to_string());
        }
        rec.commit();
        match offer {
            Offer::Queued => Delivery::Delivered,
            Offer::NotHere => Delivery::NotHere,
            Offer::Full => Delivery::QueueFull,
        }
    }

    fn deliver_http(&self, uri: &str, n: Arc<Notification>) -> Delivery {
        let Some(shared) = self.shared.upgrade() else {
            return Delivery::NotHere;
        };
        let Some(ev) = &shared.events else {
            return Delivery::NotHere;
        };
        let bytes = render::notification(&n);
        ev.contact.post(&shared, uri, bytes, &n)
    }

    fn terminate(&self, channel_id: &str, reason: ChannelTerminatedReason) {
        let Some(shared) = self.shared.upgrade() else {
            return;
        };
        if let Some(ev) = &shared.events {
            let body = render::channel_terminated(channel_id, reason);
            ev.live
                .control(channel_id, Ctl::Terminate(body, reason.as_str()));
        }
    }

    fn drop_channel(&self, channel_id: &str) {
        if let Some(shared) = self.shared.upgrade()
            && let Some(ev) = &shared.events
        {
            ev.live
                .control(channel_id, Ctl::Kill("dropped by the application server"));
        }
    }
}
