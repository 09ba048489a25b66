//! Channel documents (`Events/XSIChannel.xsd`, `Events/XSISystemChannel.xsd`) and the
//! `EventResponse` acknowledgement (`XSIBaseEvent.xsd`).

use bytes::BufMut;

use super::call::positive_int;
use super::wire::DECLARATION;
use crate::documents::read::{expect_root, invalid, list, non_empty, once, text, unexpected};
use crate::documents::{BodyError, DocError, XsiDocument};
use crate::negotiate::{Format, Rendered};
use crate::xml::{Element, ParseOptions, parse_xml};

/// `NonNegativeInt`: 0 ..= 2147483647.
pub(crate) fn non_negative_int(c: &Element, name: &'static str) -> Result<u32, DocError> {
    let t = text(c, name)?;
    match t.parse::<u32>() {
        Ok(n) if n <= i32::MAX as u32 => Ok(n),
        _ => Err(invalid(name, t, "a non-negative int")),
    }
}

/// `Channel`: the body of channel add (`POST /com.broadsoft.async/…/channel`) and update
/// (`PUT channel/<id>`), the first chunk of the stream, and the entries of [`ChannelSet`].
///
/// All elements are optional in the schema. On add the XSP uses `channel_set_id`,
/// `priority` (default 1), `weight` (default 50), `expires` (default 3600) and
/// `application_id`, and ignores a client-sent `channel_id` ([`Channel::for_add`]); on
/// update only `expires` counts.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Channel {
    /// Server-assigned channel ID (a UUID).
    pub channel_id: Option<String>,
    /// Client-chosen channel set ID.
    pub channel_set_id: Option<String>,
    /// Priority (positive).
    pub priority: Option<u32>,
    /// Weight (positive).
    pub weight: Option<u32>,
    /// Lifetime in seconds (0 ..= 2147483647; 2147483647 = never expires).
    pub expires: Option<u32>,
    /// External application ID (one channel set per user and application).
    pub application_id: Option<String>,
}

impl Channel {
    /// The request as the channel-add handler sees it: `channel_id` dropped.
    pub fn for_add(mut self) -> Self {
        self.channel_id = None;
        self
    }

    /// The answer to add or update: `channelId` and the granted `expires`.
    pub fn granted(channel_id: impl Into<String>, expires: u32) -> Self {
        Channel {
            channel_id: Some(channel_id.into()),
            expires: Some(expires),
            ..Channel::default()
        }
    }

    fn build(&self, name: &'static str) -> Element {
        let mut el = Element::new(name);
        el.put_opt("channelId", self.channel_id.as_ref());
        el.put_opt("channelSetId", self.channel_set_id.as_ref());
        el.put_num("priority", self.priority);
        el.put_num("weight", self.weight);
        el.put_num("expires", self.expires);
        el.put_opt("applicationId", self.application_id.as_ref());
        el
    }

    fn read(el: &Element, parent: &'static str) -> Result<Self, DocError> {
        let mut ch = Channel::default();
        for c in &el.children {
            match &*c.name {
                "channelId" => once(&mut ch.channel_id, "channelId", non_empty(c, "channelId")?)?,
                "channelSetId" => once(
                    &mut ch.channel_set_id,
                    "channelSetId",
                    non_empty(c, "channelSetId")?,
                )?,
                "priority" => once(&mut ch.priority, "priority", positive_int(c, "priority")?)?,
                "weight" => once(&mut ch.weight, "weight", positive_int(c, "weight")?)?,
                "expires" => once(&mut ch.expires, "expires", non_negative_int(c, "expires")?)?,
                "applicationId" => once(
                    &mut ch.application_id,
                    "applicationId",
                    non_empty(c, "applicationId")?,
                )?,
                _ => return Err(unexpected(parent, c)),
            }
        }
        Ok(ch)
    }
}

impl XsiDocument for Channel {
    const ROOT: &'static str = "Channel";

    fn to_element(&self) -> Element {
        self.build(Self::ROOT)
    }

    fn from_element(el: &Element) -> Result<Self, DocError> {
        expect_root(el, Self::ROOT)?;
        Channel::read(el, Self::ROOT)
    }
}

/// `GET channelset/<channelSetId>`: the set's channels (at least one).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ChannelSet {
    /// Channels; `expires` is the remaining lifetime.
    pub channels: Vec<Channel>,
}

impl XsiDocument for ChannelSet {
    const ROOT: &'static str = "ChannelSet";

    fn to_element(&self) -> Element {
        let mut el = Element::new(Self::ROOT);
        el.children = self.channels.iter().map(|c| c.build("channel")).collect();
        el
    }

    fn from_element(el: &Element) -> Result<Self, DocError> {
        expect_root(el, Self::ROOT)?;
        let channels = list(el, Self::ROOT, "channel", |c| Channel::read(c, "channel"))?;
        if channels.is_empty() {
            return Err(DocError::Missing {
                parent: Self::ROOT,
                element: "channel",
            });
        }
        Ok(ChannelSet { channels })
    }
}

/// `ChannelHeartBeat`: the chunk the XSP writes on the stream for each heartbeat PUT.
///
/// Written as exactly [`ChannelHeartBeat::BYTES`] (97 bytes: the declaration immediately
/// followed by the empty element, as the chunk size `61` in the spec's stream figure
/// implies). Read under both spellings, `ChannelHeartBeat` (schema) and `ChannelHeartbeat`
/// (command text).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ChannelHeartBeat;

impl ChannelHeartBeat {
    /// The exact chunk.
    pub const BYTES: &'static [u8; 97] = b"<?xml version=\"1.0\" encoding=\"UTF-8\"?><ChannelHeartBeat xmlns=\"http://schema.broadsoft.com/xsi\"/>";

    /// The other spelling, accepted when reading.
    pub const ALT_ROOT: &'static str = "ChannelHeartbeat";

    /// Appends the chunk to `out`.
    pub fn write<B: BufMut>(out: &mut B) {
        out.put_slice(Self::BYTES);
    }
}

impl XsiDocument for ChannelHeartBeat {
    const ROOT: &'static str = "ChannelHeartBeat";

    fn to_element(&self) -> Element {
        Element::new(Self::ROOT)
    }

    fn from_element(el: &Element) -> Result<Self, DocError> {
        if el.name != Self::ALT_ROOT {
            expect_root(el, Self::ROOT)?;
        }
        // The schema gives the element no type (anything goes); the lab expects it empty.
        if let Some(c) = el.children.first() {
            return Err(unexpected(Self::ROOT, c));
        }
        Ok(ChannelHeartBeat)
    }

    fn to_xml(&self) -> Vec<u8> {
        Self::BYTES.to_vec()
    }

    fn render(&self, format: Format) -> Rendered {
        match format {
            Format::Xml => Rendered {
                content_type: crate::negotiate::CONTENT_TYPE_XML,
                body: bytes::Bytes::from_static(Self::BYTES),
            },
            Format::Json => crate::negotiate::render(&self.to_element(), format),
        }
    }
}

xsd_enum! {
    /// `EventResponseStatusCode`: what the client declares about an event.
    EventStatus, "one of 200, 400, 404, 481, 500" {
        /// `200`: received.
        Ok = "200",
        /// `400`: this event could not be processed (dropped).
        BadEvent = "400",
        /// `404`: unknown channel (channel deleted, event re-sent on the next channel).
        UnknownChannel = "404",
        /// `481`: unknown subscription (subscription deleted, event dropped).
        UnknownSubscription = "481",
        /// `500`: client failure (event re-sent on the next channel).
        ServerError = "500",
    }
}

impl EventStatus {
    /// The numeric code.
    pub fn code(self) -> u16 {
        match self {
            EventStatus::Ok => 200,
            EventStatus::BadEvent => 400,
            EventStatus::UnknownChannel => 404,
            EventStatus::UnknownSubscription => 481,
            EventStatus::ServerError => 500,
        }
    }

    /// The status for a numeric code.
    pub fn from_code(code: u16) -> Option<Self> {
        Self::ALL.iter().copied().find(|s| s.code() == code)
    }
}

/// `EventResponse`: body of `POST channel/eventresponse`. Read strictly: exactly `eventID`,
/// `statusCode`, `reason`, in that order, each once.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EventResponse {
    /// The acknowledged event's `eventID`.
    pub event_id: String,
    /// Status code.
    pub status: EventStatus,
    /// Free text (non-empty), e.g. `OK`.
    pub reason: String,
}

impl EventResponse {
    /// `200 OK` for an event.
    pub fn ok(event_id: impl Into<String>) -> Self {
        EventResponse {
            event_id: event_id.into(),
            status: EventStatus::Ok,
            reason: "OK".into(),
        }
    }
}

impl XsiDocument for EventResponse {
    const ROOT: &'static str = "EventResponse";

    fn to_element(&self) -> Element {
        let mut el = Element::new(Self::ROOT);
        el.put("eventID", self.event_id.as_str());
        el.put("statusCode", self.status.as_str());
        el.put("reason", self.reason.as_str());
        el
    }

    fn from_element(el: &Element) -> Result<Self, DocError> {
        const P: &str = "EventResponse";
        const ORDER: [&str; 3] = ["eventID", "statusCode", "reason"];
        expect_root(el, Self::ROOT)?;
        for (i, c) in el.children.iter().enumerate() {
            if ORDER.get(i).is_some_and(|n| c.name == *n) {
                continue;
            }
            let Some(pos) = ORDER.iter().position(|n| c.name == *n) else {
                return Err(unexpected(P, c));
            };
            return Err(if pos < i {
                DocError::Duplicate {
                    element: ORDER[pos],
                }
            } else {
                // A later element came first: the one expected here is missing.
                DocError::Missing {
                    parent: P,
                    element: ORDER[i],
                }
            });
        }
        if let Some(missing) = ORDER.get(el.children.len()) {
            return Err(DocError::Missing {
                parent: P,
                element: missing,
            });
        }
        let c = &el.children;
        Ok(EventResponse {
            event_id: non_empty(&c[0], "eventID")?,
            status: EventStatus::read(&c[1], "statusCode")?,
            reason: non_empty(&c[2], "reason")?,
        })
    }
}

impl EventResponse {
    /// Parses a body in either format (`json` selects BadgerFish JSON).
    pub fn parse(body: &[u8], json: bool) -> Result<Self, BodyError> {
        let el = if json {
            Element::from_json(body)?
        } else {
            parse_xml(body, &ParseOptions::default())?
        };
        Ok(Self::from_element(&el)?)
    }
}

/// `SystemChannel` (AS only, R23+): `POST systemChannel` body and answer, and the entries of
/// [`SystemChannelSet`]. `channelSetId` is mandatory in the schema, so answers must carry it
/// to be schema-valid (the spec's example answer shows only `channelId`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SystemChannel {
    /// Server-assigned channel ID (ignored in requests).
    pub channel_id: Option<String>,
    /// Channel set ID (required by the schema; optional here to read short answers).
    pub channel_set_id: Option<String>,
    /// Priority (default 1).
    pub priority: Option<u32>,
    /// Weight (default 50).
    pub weight: Option<u32>,
}

impl SystemChannel {
    fn build(&self, name: &'static str) -> Element {
        let mut el = Element::new(name);
        el.put_opt("channelId", self.channel_id.as_ref());
        el.put_opt("channelSetId", self.channel_set_id.as_ref());
        el.put_num("priority", self.priority);
        el.put_num("weight", self.weight);
        el
    }

    fn read(el: &Element, parent: &'static str) -> Result<Self, DocError> {
        let mut ch = SystemChannel::default();
        for c in &el.children {
            match &*c.name {
                "channelId" => once(&mut ch.channel_id, "channelId", non_empty(c, "channelId")?)?,
                "channelSetId" => once(
                    &mut ch.channel_set_id,
                    "channelSetId",
                    non_empty(c, "channelSetId")?,
                )?,
                "priority" => once(&mut ch.priority, "priority", positive_int(c, "priority")?)?,
                "weight" => once(&mut ch.weight, "weight", positive_int(c, "weight")?)?,
                _ => return Err(unexpected(parent, c)),
            }
        }
        Ok(ch)
    }
}

impl XsiDocument for SystemChannel {
    const ROOT: &'static str = "SystemChannel";

    fn to_element(&self) -> Element {
        self.build(Self::ROOT)
    }

    fn from_element(el: &Element) -> Result<Self, DocError> {
        expect_root(el, Self::ROOT)?;
        SystemChannel::read(el, Self::ROOT)
    }
}

/// `GET systemChannelSet/<channelSetId>`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SystemChannelSet {
    /// Channels (the schema wants at least one).
    pub channels: Vec<SystemChannel>,
}

impl XsiDocument for SystemChannelSet {
    const ROOT: &'static str = "SystemChannelSet";

    fn to_element(&self) -> Element {
        let mut el = Element::new(Self::ROOT);
        el.children = self.channels.iter().map(|c| c.build("channel")).collect();
        el
    }

    fn from_element(el: &Element) -> Result<Self, DocError> {
        expect_root(el, Self::ROOT)?;
        let channels = list(el, Self::ROOT, "channel", |c| {
            SystemChannel::read(c, "channel")
        })?;
        Ok(SystemChannelSet { channels })
    }
}

const _: () = assert!(DECLARATION.len() + 59 == ChannelHeartBeat::BYTES.len());
