//! AS settings (CLI `System/EventNotification`, `System/ClientIdentity` and lab choices).

use std::time::Duration;

/// Application Server settings. `Default` gives the spec/emulator defaults.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct AsSettings {
    /// Node name used in journal entries.
    pub node_name: String,
    /// Server id in `extTrackingId` (`counter:serverId`).
    pub server_id: u32,
    /// Seed of every random choice (UUIDs, weighted channel choice, fault dice).
    pub seed: u64,
    /// Largest finite subscription `expires` (seconds); larger requests are clamped.
    pub subscription_max_expires: u32,
    /// Whether `expires = 2147483647` means "never expires" (else it is clamped).
    pub allow_never_expires: bool,
    /// Subscriptions per user owner (client applications such as the CTI client are not
    /// limited: they subscribe once per user of the cluster).
    pub max_subscriptions_per_owner: usize,
    /// Duplicate single-package subscription: mint a new id and terminate the old one
    /// (`true`) instead of keeping the old id (`false`, default).
    pub duplicate_mints_new_id: bool,
    /// Largest finite channel `expires`.
    pub channel_max_expires: u32,
    /// Channels per channel set.
    pub max_channels_per_set: usize,
    /// Time to wait for an `EventResponse` before trying the next channel.
    #[serde(with = "secs")]
    pub ack_timeout: Duration,
    /// Events kept for a channel set without a live channel and replayed on its next
    /// channel. 0 = drop (and count).
    pub replay_queue: usize,
    /// Client certificate CNs allowed to use CTI (`System/ClientIdentity`).
    pub client_identities: Vec<String>,
    /// Length of one ring (no-answer timer = rings × this).
    #[serde(with = "secs")]
    pub ring_duration: Duration,
    /// Rings before no-answer processing when the user has no Call Forwarding No Answer.
    pub default_rings: u8,
}

impl Default for AsSettings {
    fn default() -> Self {
        Self {
            node_name: "as1".into(),
            server_id: 1,
            seed: 0x5eed,
            subscription_max_expires: 2_147_483_646,
            allow_never_expires: true,
            max_subscriptions_per_owner: 1000,
            duplicate_mints_new_id: false,
            channel_max_expires: 2_147_483_647,
            max_channels_per_set: 8,
            ack_timeout: Duration::from_secs(10),
            replay_queue: 0,
            client_identities: vec!["bwcticlient.webex.com".into()],
            ring_duration: Duration::from_secs(6),
            default_rings: 3,
        }
    }
}

impl AsSettings {
    /// Whether a client certificate CN is listed under `System/ClientIdentity`
    /// (case-insensitive).
    pub fn client_identity_allowed(&self, cn: &str) -> bool {
        self.client_identities
            .iter()
            .any(|c| c.eq_ignore_ascii_case(cn))
    }
}

mod secs {
    use std::time::Duration;

    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_f64(d.as_secs_f64())
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
        let v = f64::deserialize(d)?;
        Duration::try_from_secs_f64(v).map_err(serde::de::Error::custom)
    }
}
