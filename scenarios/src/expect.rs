//! Expectations: questions to the lab's journal ("was a heartbeat of alice seen on xsp3?"),
//! with counts and per-profile overrides.

use schemars::JsonSchema;
use serde::{Deserialize, Deserializer, Serialize};

fn present<'de, D: Deserializer<'de>, T: Deserialize<'de>>(d: D) -> Result<Option<T>, D::Error> {
    T::deserialize(d).map(Some)
}

macro_rules! expectation {
    ( $( $(#[$doc:meta])* $field:ident : $ty:ty ),* $(,)? ) => {
        /// One expectation: exactly one kind, how many journal entries must match (default
        /// at least one), and overrides for profiles whose behaviour differs.
        #[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
        #[serde(deny_unknown_fields, rename_all = "snake_case")]
        pub struct Expectation {
            $(
                $(#[$doc])*
                #[serde(default, skip_serializing_if = "Option::is_none", deserialize_with = "present")]
                pub $field: Option<$ty>,
            )*
            /// Exactly this many matching entries (0: must not happen).
            #[serde(default, skip_serializing_if = "Option::is_none")]
            pub count: Option<u32>,
            /// At least this many.
            #[serde(default, skip_serializing_if = "Option::is_none")]
            pub at_least: Option<u32>,
            /// At most this many.
            #[serde(default, skip_serializing_if = "Option::is_none")]
            pub at_most: Option<u32>,
            /// Replaces keys of this expectation on profile r22.
            #[serde(default, skip_serializing_if = "Option::is_none")]
            pub r22: Option<Box<Expectation>>,
            /// Replaces keys of this expectation on profile r23.
            #[serde(default, skip_serializing_if = "Option::is_none")]
            pub r23: Option<Box<Expectation>>,
            /// Replaces keys of this expectation on profile r24.
            #[serde(default, skip_serializing_if = "Option::is_none")]
            pub r24: Option<Box<Expectation>>,
            /// Replaces keys of this expectation on profile r22-unpatched.
            #[serde(default, rename = "r22-unpatched", skip_serializing_if = "Option::is_none")]
            pub r22_unpatched: Option<Box<Expectation>>,
            /// Replaces keys of this expectation on profile r23-unpatched.
            #[serde(default, rename = "r23-unpatched", skip_serializing_if = "Option::is_none")]
            pub r23_unpatched: Option<Box<Expectation>>,
            /// Replaces keys of this expectation on profile r24-unpatched.
            #[serde(default, rename = "r24-unpatched", skip_serializing_if = "Option::is_none")]
            pub r24_unpatched: Option<Box<Expectation>>,
        }

        impl Expectation {
            /// The expectation kinds, in documentation order.
            pub const KINDS: &'static [&'static str] = &[ $( stringify!($field), )* ];

            /// Every key of an expectation.
            pub const KEYS: &'static [&'static str] = &[
                $( stringify!($field), )*
                "count", "at_least", "at_most",
                "r22", "r23", "r24", "r22-unpatched", "r23-unpatched", "r24-unpatched",
            ];

            /// The kinds set (a valid expectation has exactly one).
            pub fn kinds(&self) -> Vec<&'static str> {
                let mut out = Vec::new();
                $( if self.$field.is_some() { out.push(stringify!($field)); } )*
                out
            }

            /// This expectation as it applies to `profile`: the override's keys replace the
            /// base's (a kind in the override replaces the base's kind).
            pub fn for_profile(&self, profile: &str) -> Expectation {
                let mut out = Expectation { r22: None, r23: None, r24: None, r22_unpatched: None, r23_unpatched: None, r24_unpatched: None, ..self.clone() };
                if let Some(o) = self.overrides().into_iter().find(|(p, _)| *p == profile).map(|(_, o)| o) {
                    if !o.kinds().is_empty() {
                        $( out.$field = None; )*
                        $( if o.$field.is_some() { out.$field = o.$field.clone(); } )*
                    }
                    if o.count.is_some() || o.at_least.is_some() || o.at_most.is_some() {
                        out.count = o.count;
                        out.at_least = o.at_least;
                        out.at_most = o.at_most;
                    }
                }
                out
            }
        }
    };
}

expectation! {
    /// HTTP requests seen by a node.
    request: RequestMatch,
    /// An Xsi-Events channel of a user is open (on a node, or reached through an LB).
    channel_open: ChannelMatch,
    /// A channel of a user was closed or torn down.
    channel_closed: ChannelClosedMatch,
    /// Events delivered to a channel or HTTP contact.
    event: EventMatch,
    /// Channel heartbeats.
    heartbeat: HeartbeatMatch,
    /// Tokens issued (AuthService, IdBroker).
    token: TokenMatch,
    /// Queries to the lab DNS server.
    dns_query: DnsQueryMatch,
    /// Lines the SUT wrote (command SUTs: stdout/stderr; reference clients: their log).
    sut_log: LogMatch,
}

impl Expectation {
    /// The per-profile overrides that are set, by profile name.
    pub fn overrides(&self) -> Vec<(&'static str, &Expectation)> {
        [
            ("r22", &self.r22),
            ("r23", &self.r23),
            ("r24", &self.r24),
            ("r22-unpatched", &self.r22_unpatched),
            ("r23-unpatched", &self.r23_unpatched),
            ("r24-unpatched", &self.r24_unpatched),
        ]
        .into_iter()
        .filter_map(|(p, o)| o.as_deref().map(|o| (p, o)))
        .collect()
    }
}

/// `request: {node: xsp1, method: GET, path: /com.broadsoft.xsi-actions/*, status: 200}`
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RequestMatch {
    /// The node that received it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub node: Option<String>,
    /// The load balancer it came through.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub via: Option<String>,
    /// HTTP method.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub method: Option<String>,
    /// Path, exact or ending in `*` for a prefix.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    /// Response status.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<u16>,
    /// The authenticated user.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
}

/// `channel_open: {user: alice, node: xsp1}`
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ChannelMatch {
    /// Channel owner.
    pub user: String,
    /// The XSP holding the channel.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub node: Option<String>,
    /// The load balancer the channel goes through.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub via: Option<String>,
}

/// `channel_closed: {user: alice, node: xsp1, reason: NonResponsiveChannel}`
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ChannelClosedMatch {
    /// Channel owner.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
    /// The XSP that held the channel.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub node: Option<String>,
    /// `ChannelTerminatedEvent` reason, when one was sent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// `event: {type: CallReceivedEvent, user: bob}`
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct EventMatch {
    /// Event type (`xsi:type` without prefix), e.g. `CallReceivedEvent`.
    #[serde(default, rename = "type", skip_serializing_if = "Option::is_none")]
    pub event_type: Option<String>,
    /// The subscriber the event is about.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
    /// Event package.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub package: Option<String>,
    /// The XSP that delivered it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub node: Option<String>,
}

/// `heartbeat: {user: alice, node: xsp2, status: 404}`
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct HeartbeatMatch {
    /// Channel owner.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
    /// The XSP that received the heartbeat.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub node: Option<String>,
    /// The HTTP status it got.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<u16>,
}

/// `token: {user: alice, node: xsp1}`
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TokenMatch {
    /// The user it was issued for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
    /// The issuing node (an XSP's AuthService, `ci-us-a`…).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub node: Option<String>,
}

/// `dns_query: {name: _xsi-client._tcp.lab.example, type: SRV, rcode: NXDOMAIN}`
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DnsQueryMatch {
    /// Queried name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Record type.
    #[serde(default, rename = "type", skip_serializing_if = "Option::is_none")]
    pub record_type: Option<String>,
    /// Response code (`NOERROR`, `NXDOMAIN`, `SERVFAIL`, `REFUSED`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rcode: Option<String>,
}

/// `sut_log: {contains: "Error code 100006"}`
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct LogMatch {
    /// Text the line contains.
    pub contains: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn profile_overrides_replace_kind_and_counts() {
        let base = Expectation {
            request: Some(RequestMatch {
                path: Some("/authservice/*".into()),
                status: Some(200),
                ..RequestMatch::default()
            }),
            at_least: Some(2),
            r22: Some(Box::new(Expectation {
                count: Some(0),
                ..Expectation::default()
            })),
            r24: Some(Box::new(Expectation {
                sut_log: Some(LogMatch {
                    contains: "refused".into(),
                }),
                ..Expectation::default()
            })),
            ..Expectation::default()
        };
        let r22 = base.for_profile("r22");
        assert_eq!(r22.kinds(), ["request"]);
        assert_eq!((r22.count, r22.at_least), (Some(0), None));
        assert!(r22.overrides().is_empty());
        let r24 = base.for_profile("r24");
        assert_eq!(r24.kinds(), ["sut_log"]);
        assert_eq!(
            r24.at_least,
            Some(2),
            "counts stay when the override has none"
        );
        let r23 = base.for_profile("r23");
        assert_eq!(r23.request, base.request);
        assert_eq!(
            base.overrides().iter().map(|(p, _)| *p).collect::<Vec<_>>(),
            ["r22", "r24"]
        );
    }
}
