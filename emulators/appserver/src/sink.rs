//! The boundary between the AS and the Xsi-Events web apps of the XSP nodes.

use std::sync::Arc;

pub use bwlab_profiles::ChannelTerminatedReason;

use crate::event::Notification;

/// What an [`EventSink`] did with an offered event.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Delivery {
    /// Queued for the stream (channel) or for a POST (HTTP contact). A channel event then
    /// waits for an `EventResponse`.
    Delivered,
    /// This instance does not host that channel (any more).
    NotHere,
    /// The channel's queue is full; the AS tries the next channel.
    QueueFull,
}

/// An Xsi-Events instance as the AS sees it. Implemented by the XSP; tests use a recorder.
///
/// The AS never holds one of its own locks while calling a sink, so a sink may call back
/// into the [`AppServer`](crate::AppServer) (e.g. answer an event synchronously).
pub trait EventSink: Send + Sync + 'static {
    /// Offers an event for a channel this instance hosts. Must not block.
    fn deliver(&self, channel_id: &str, n: Arc<Notification>) -> Delivery;
    /// Sends an event to an HTTP contact (the XSP POSTs it). Must not block.
    fn deliver_http(&self, uri: &str, n: Arc<Notification>) -> Delivery;
    /// The AS ended one of this instance's channels: write `ChannelTerminatedEvent` with
    /// `reason` and close the stream.
    fn terminate(&self, channel_id: &str, reason: ChannelTerminatedReason);
    /// The AS dropped one of this instance's channels without a reason (affinity broken
    /// elsewhere, a killed channel): close the stream without writing anything.
    fn drop_channel(&self, channel_id: &str) {
        let _ = channel_id;
    }
}

/// `EventResponse/statusCode` (spec: five values, each with a defined reaction).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub enum EventResponseCode {
    /// 200: received. Done.
    Ok,
    /// 400: the client could not process this event. Dropped.
    BadEvent,
    /// 404: unknown channel. The channel is deleted (`UnknownChannel`), the event re-sent on
    /// the next channel of the set.
    UnknownChannel,
    /// 481: unknown subscription. The subscription is deleted, the event dropped.
    UnknownSubscription,
    /// 500: client failure. Re-sent on the next channel of the set.
    ClientError,
}

impl EventResponseCode {
    /// From the numeric `statusCode`; `None` for anything outside the five values.
    pub const fn from_code(code: u16) -> Option<Self> {
        Some(match code {
            200 => Self::Ok,
            400 => Self::BadEvent,
            404 => Self::UnknownChannel,
            481 => Self::UnknownSubscription,
            500 => Self::ClientError,
            _ => return None,
        })
    }

    /// The numeric code.
    pub const fn code(self) -> u16 {
        match self {
            Self::Ok => 200,
            Self::BadEvent => 400,
            Self::UnknownChannel => 404,
            Self::UnknownSubscription => 481,
            Self::ClientError => 500,
        }
    }
}
