//! Xsi-Events documents: channel and subscription requests/responses, and the events
//! delivered on channels or POSTed to HTTP contacts.
//!
//! Two families with different rules:
//!
//! * **Requests and responses** ([`Channel`], [`ChannelSet`], [`ChannelHeartBeat`],
//!   [`EventResponse`], [`Subscription`], [`SubscriptionList`], [`SystemChannel`],
//!   [`SystemChannelSet`]) are ordinary [`XsiDocument`](super::XsiDocument)s: default Xsi
//!   namespace, schema order on write, JSON through the BadgerFish mapping. Request readers
//!   reject unknown elements and values of the wrong type; order is free (JSON has none),
//!   except in [`EventResponse`], which must come in schema order.
//! * **Events** ([`Event`]) are XML only and written straight into a byte buffer with the
//!   prefix convention of every spec example: `xsi:` bound to the BroadSoft namespace,
//!   `xsi1:` to XMLSchema-instance, `xsi1:type="xsi:…"` on the root and on `eventData`, every
//!   element prefixed `xsi:`. [`Event::from_xml`] is a tolerant reader for streams: any
//!   prefix, any order, unknown elements skipped, unknown `eventData` types kept by name.
//!
//! Not in the schemas, hence lab-defined: [`Call::caller_id_disposition`] (see
//! [`CALLER_ID_DISPOSITION`]).

/// Declares a closed XSD enumeration: the enum, its schema spelling and a reader.
macro_rules! xsd_enum {
    (
        $(#[$doc:meta])*
        $ty:ident, $what:literal {
            $( $(#[$vdoc:meta])* $var:ident = $s:literal, )+
        }
    ) => {
        $(#[$doc])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
        pub enum $ty {
            $( $(#[$vdoc])* $var, )+
        }

        impl $ty {
            /// Every value, in schema order.
            pub const ALL: &'static [$ty] = &[$($ty::$var,)+];

            /// The schema's spelling.
            pub fn as_str(self) -> &'static str {
                match self {
                    $( $ty::$var => $s, )+
                }
            }

            /// The value with this exact spelling.
            pub fn parse(s: &str) -> Option<Self> {
                match s {
                    $( $s => Some($ty::$var), )+
                    _ => None,
                }
            }

            #[allow(dead_code)]
            pub(crate) fn read(
                c: &$crate::xml::Element,
                name: &'static str,
            ) -> Result<Self, $crate::documents::DocError> {
                let t = $crate::documents::read::text(c, name)?;
                Self::parse(t).ok_or_else(|| $crate::documents::read::invalid(name, t, $what))
            }
        }

        impl std::fmt::Display for $ty {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

mod call;
mod channel;
mod event;
mod subscription;
mod wire;

#[cfg(test)]
mod tests;

pub use call::{
    CALLER_ID_DISPOSITION, Call, CallState, CallType, HookStatus, InternalReleaseCause,
    Personality, Redirect, RedirectReason, ReleaseCause, ReleasingParty, RemoteParty,
};
pub use channel::{
    Channel, ChannelHeartBeat, ChannelSet, EventResponse, EventStatus, SystemChannel,
    SystemChannelSet,
};
pub use event::{
    ActivatableServiceInfo, CallEventKind, ChannelTerminatedEvent, ChannelTerminatedReason,
    Delivery, ErrorEvent, Event, EventData, MessageSummary, Owner, ServiceEvent, ServiceState,
    SubscriptionEvent,
};
pub use subscription::{
    ContactUrl, ContactUrlError, EventPackages, Scheme, Subscription, SubscriptionList,
    SubscriptionOwner, TargetIdType,
};
