//! Visual voicemail (`/user/{u}/VoiceMessagingMessages`, §3.5.8): the message list and one
//! message with its media.

use super::common::{Address, positive};
use super::read::{enumeration, expect_root, non_empty, number, once, required, string};
use super::{DocError, XsiDocument};
use crate::xml::Element;

/// `callingPartyInfo` of a message.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CallingPartyInfo {
    /// Caller's name.
    pub name: Option<String>,
    /// Caller's BroadWorks user ID, for internal callers.
    pub user_id: Option<String>,
    /// Caller's address, e.g. `tel:+15550142`.
    pub address: Option<Address>,
    /// Caller withheld their identity (an empty `privacy` element).
    pub privacy: bool,
}

/// `messageInfo`: one message's metadata.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct MessageInfo {
    /// Length in milliseconds (absent for faxes).
    pub duration: Option<u32>,
    /// Who left the message.
    pub calling_party_info: Option<CallingPartyInfo>,
    /// Heard (empty `read` element).
    pub read: bool,
    /// Marked urgent.
    pub urgent: bool,
    /// Marked confidential.
    pub confidential: bool,
    /// Video message.
    pub video: bool,
    /// Fax message.
    pub fax: bool,
    /// When it was left, ms since the epoch.
    pub time: i64,
    /// Pages of a fax.
    pub fax_page_count: Option<u32>,
    /// Relative URI `/v2.0/user/{u}/voicemessagingmessages/{id}`.
    pub message_id: Option<String>,
}

impl MessageInfo {
    fn to_element(&self) -> Element {
        let mut el = Element::new("messageInfo");
        el.put_num("duration", self.duration);
        if let Some(p) = &self.calling_party_info {
            let mut c = Element::new("callingPartyInfo");
            c.put_opt("name", p.name.as_ref());
            c.put_opt("userId", p.user_id.as_ref());
            if let Some(a) = &p.address {
                c.push(a.to_element("address"));
            }
            c.put_flag("privacy", p.privacy);
            el.push(c);
        }
        el.put_flag("read", self.read);
        el.put_flag("urgent", self.urgent);
        el.put_flag("confidential", self.confidential);
        el.put_flag("video", self.video);
        el.put_flag("fax", self.fax);
        el.put("time", self.time.to_string());
        el.put_num("faxPageCount", self.fax_page_count);
        el.put_opt("messageId", self.message_id.as_ref());
        el
    }

    fn read(el: &Element) -> Result<Self, DocError> {
        let mut m = MessageInfo::default();
        let mut time = None;
        for c in &el.children {
            match &*c.name {
                "duration" => once(
                    &mut m.duration,
                    "duration",
                    number(c, "duration", "a non-negative integer")?,
                )?,
                "callingPartyInfo" => once(
                    &mut m.calling_party_info,
                    "callingPartyInfo",
                    read_party(c)?,
                )?,
                "read" => m.read = true,
                "urgent" => m.urgent = true,
                "confidential" => m.confidential = true,
                "video" => m.video = true,
                "fax" => m.fax = true,
                "time" => once(&mut time, "time", number(c, "time", "a timestamp")?)?,
                "faxPageCount" => once(
                    &mut m.fax_page_count,
                    "faxPageCount",
                    positive(c, "faxPageCount")?,
                )?,
                "messageId" => once(&mut m.message_id, "messageId", string(c, "messageId")?)?,
                _ => {}
            }
        }
        m.time = required(time, "messageInfo", "time")?;
        Ok(m)
    }
}

fn read_party(el: &Element) -> Result<CallingPartyInfo, DocError> {
    let mut p = CallingPartyInfo::default();
    for c in &el.children {
        match &*c.name {
            "name" => once(&mut p.name, "name", string(c, "name")?)?,
            "userId" => once(&mut p.user_id, "userId", string(c, "userId")?)?,
            "address" => once(&mut p.address, "address", Address::read(c, "address")?)?,
            "privacy" => p.privacy = true,
            _ => {}
        }
    }
    Ok(p)
}

/// `GET VoiceMessagingMessages`: the list of messages.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct VoiceMessagingMessages {
    /// Messages, newest first.
    pub messages: Vec<MessageInfo>,
}

impl XsiDocument for VoiceMessagingMessages {
    const ROOT: &'static str = "VoiceMessagingMessages";

    fn to_element(&self) -> Element {
        let mut list = Element::new("messageInfoList");
        list.children = self.messages.iter().map(MessageInfo::to_element).collect();
        Element::new(Self::ROOT).with_child(list)
    }

    fn from_element(el: &Element) -> Result<Self, DocError> {
        expect_root(el, Self::ROOT)?;
        let list = el.child("messageInfoList").ok_or(DocError::Missing {
            parent: Self::ROOT,
            element: "messageInfoList",
        })?;
        let messages = list
            .children_named("messageInfo")
            .map(MessageInfo::read)
            .collect::<Result<_, _>>()?;
        Ok(VoiceMessagingMessages { messages })
    }
}

/// `MessageMediaFileType`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum MediaType {
    /// Fax image.
    Tif,
    /// Audio (the usual voicemail format).
    #[default]
    Wav,
    /// Video.
    Mov,
    /// Audio.
    Mp3,
}

impl MediaType {
    const VALUES: [(&'static str, Self); 4] = [
        ("TIF", Self::Tif),
        ("WAV", Self::Wav),
        ("MOV", Self::Mov),
        ("MP3", Self::Mp3),
    ];

    /// The schema's spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Tif => "TIF",
            Self::Wav => "WAV",
            Self::Mov => "MOV",
            Self::Mp3 => "MP3",
        }
    }
}

/// `messageMediaContent`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct MessageMedia {
    /// File description.
    pub description: String,
    /// Media type.
    pub media_type: MediaType,
    /// The media, base64-encoded by the caller (kept as text so large bodies are encoded
    /// once, where the bytes live).
    pub content_base64: String,
}

/// `GET VoiceMessagingMessages/{messageId}`: one message with its media.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct VoiceMessage {
    /// Metadata.
    pub message_info: MessageInfo,
    /// Media.
    pub media: MessageMedia,
}

impl XsiDocument for VoiceMessage {
    const ROOT: &'static str = "VoiceMessage";

    fn to_element(&self) -> Element {
        let mut media = Element::new("messageMediaContent");
        media.put("description", self.media.description.as_str());
        media.put("mediaType", self.media.media_type.as_str());
        media.put("content", self.media.content_base64.as_str());
        Element::new(Self::ROOT)
            .with_child(self.message_info.to_element())
            .with_child(media)
    }

    fn from_element(el: &Element) -> Result<Self, DocError> {
        const MEDIA: &str = "messageMediaContent";
        expect_root(el, Self::ROOT)?;
        let (mut info, mut media) = (None, None);
        for c in &el.children {
            match &*c.name {
                "messageInfo" => once(&mut info, "messageInfo", MessageInfo::read(c)?)?,
                MEDIA => {
                    let (mut d, mut t, mut content) = (None, None, None);
                    for cc in &c.children {
                        match &*cc.name {
                            "description" => {
                                once(&mut d, "description", non_empty(cc, "description")?)?
                            }
                            "mediaType" => once(
                                &mut t,
                                "mediaType",
                                enumeration(cc, "mediaType", &MediaType::VALUES, "a media type")?,
                            )?,
                            // Base64 may be wrapped over lines; keep it as sent, minus the
                            // surrounding whitespace.
                            "content" => once(&mut content, "content", string(cc, "content")?)?,
                            _ => {}
                        }
                    }
                    let m = MessageMedia {
                        description: required(d, MEDIA, "description")?,
                        media_type: required(t, MEDIA, "mediaType")?,
                        content_base64: required(content, MEDIA, "content")?,
                    };
                    once(&mut media, MEDIA, m)?;
                }
                _ => {}
            }
        }
        Ok(VoiceMessage {
            message_info: required(info, Self::ROOT, "messageInfo")?,
            media: required(media, Self::ROOT, MEDIA)?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::documents::test_util::{names, round_trip};

    fn message() -> MessageInfo {
        MessageInfo {
            duration: Some(8200),
            calling_party_info: Some(CallingPartyInfo {
                name: Some("Bob Li".into()),
                user_id: Some("bob@example.com".into()),
                address: Some(Address::new("tel:+15550142")),
                privacy: false,
            }),
            urgent: true,
            time: 1_714_655_700_000,
            message_id: Some("/v2.0/user/alice@example.com/voicemessagingmessages/4b1c-77".into()),
            ..MessageInfo::default()
        }
    }

    #[test]
    fn message_list() {
        let fax = MessageInfo {
            read: true,
            confidential: true,
            video: true,
            fax: true,
            time: 1,
            fax_page_count: Some(3),
            calling_party_info: Some(CallingPartyInfo {
                privacy: true,
                ..CallingPartyInfo::default()
            }),
            ..MessageInfo::default()
        };
        let list = VoiceMessagingMessages {
            messages: vec![message(), fax],
        };
        let el = list.to_element();
        assert_eq!(names(&el), ["messageInfoList"]);
        let first = &el.children[0].children[0];
        assert_eq!(
            names(first),
            [
                "duration",
                "callingPartyInfo",
                "urgent",
                "time",
                "messageId"
            ]
        );
        assert_eq!(names(&first.children[1]), ["name", "userId", "address"]);
        let second = &el.children[0].children[1];
        assert_eq!(
            names(second),
            [
                "callingPartyInfo",
                "read",
                "confidential",
                "video",
                "fax",
                "time",
                "faxPageCount"
            ]
        );
        assert!(second.child("read").unwrap().text.is_empty());
        let xml = String::from_utf8(list.to_xml()).unwrap();
        assert!(xml.contains("<urgent/>"));
        round_trip(&list);
        round_trip(&VoiceMessagingMessages::default());
        // JSON shows the flags as empty objects.
        let v = list.to_element().to_json_value();
        assert_eq!(
            v["VoiceMessagingMessages"]["messageInfoList"]["messageInfo"][0]["urgent"],
            serde_json::json!({})
        );
    }

    #[test]
    fn one_message() {
        let msg = VoiceMessage {
            message_info: message(),
            media: MessageMedia {
                description: "Voice message from Bob Li".into(),
                media_type: MediaType::Wav,
                content_base64: "UklGRiQAAABXQVZFZm10IBAAAAABAAEA".into(),
            },
        };
        let el = msg.to_element();
        assert_eq!(names(&el), ["messageInfo", "messageMediaContent"]);
        assert_eq!(
            names(&el.children[1]),
            ["description", "mediaType", "content"]
        );
        round_trip(&msg);
        let mut bad = el.clone();
        bad.children[1].children[1].text = "OGG".into();
        assert!(VoiceMessage::from_element(&bad).is_err());
    }
}
