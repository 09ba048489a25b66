//! Call-control documents: the active call list and the answer to call-originating POSTs.
//! (The full `Call` detail document is not modelled here; see the crate docs.)

use super::read::{boolean, expect_root, list, non_empty, once, required, string, unexpected};
use super::{DocError, XsiDocument};
use crate::xml::Element;

/// One `call` of the call list.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CallInfo {
    /// Call ID, `<sessionId>:<callId>`.
    pub call_id: String,
    /// Relative URI `/v2.0/user/{u}/calls/{cid}`.
    pub uri: Option<String>,
    /// `inConference` attribute.
    pub in_conference: Option<bool>,
}

impl CallInfo {
    /// An entry linking to the call resource of `user`.
    pub fn linked(user: &str, call_id: impl Into<String>, in_conference: bool) -> Self {
        let call_id = call_id.into();
        CallInfo {
            uri: Some(format!("/v2.0/user/{user}/calls/{call_id}")),
            call_id,
            in_conference: Some(in_conference),
        }
    }
}

/// `GET /user/{u}/calls` (§3.5.4.1): the user's active calls.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Calls {
    /// Calls, sorted by call ID.
    pub calls: Vec<CallInfo>,
}

impl XsiDocument for Calls {
    const ROOT: &'static str = "Calls";

    fn to_element(&self) -> Element {
        let mut el = Element::new(Self::ROOT);
        for c in &self.calls {
            let mut e = Element::new("call");
            if let Some(conf) = c.in_conference {
                e.set_attr("inConference", if conf { "true" } else { "false" });
            }
            e.put("callId", c.call_id.as_str());
            e.put_opt("uri", c.uri.as_ref());
            el.push(e);
        }
        el
    }

    fn from_element(el: &Element) -> Result<Self, DocError> {
        expect_root(el, Self::ROOT)?;
        let calls = list(el, Self::ROOT, "call", |e| {
            let in_conference = match e.attr("inConference") {
                None => None,
                Some(v) => Some(boolean(&Element::leaf("inConference", v), "inConference")?),
            };
            let (mut call_id, mut uri) = (None, None);
            for c in &e.children {
                match &*c.name {
                    "callId" => once(&mut call_id, "callId", non_empty(c, "callId")?)?,
                    "uri" => once(&mut uri, "uri", string(c, "uri")?)?,
                    _ => return Err(unexpected("call", c)),
                }
            }
            Ok(CallInfo {
                call_id: required(call_id, "call", "callId")?,
                uri,
                in_conference,
            })
        })?;
        Ok(Calls { calls })
    }
}

/// `CallStartInfo`: body of `calls/New` and the other originating commands.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CallStartInfo {
    /// The new call's ID.
    pub call_id: String,
    /// External tracking ID, `<counter>:<serverId>`.
    pub external_tracking_id: String,
}

impl XsiDocument for CallStartInfo {
    const ROOT: &'static str = "CallStartInfo";

    fn to_element(&self) -> Element {
        let mut el = Element::new(Self::ROOT);
        el.put("callId", self.call_id.as_str());
        el.put("externalTrackingId", self.external_tracking_id.as_str());
        el
    }

    fn from_element(el: &Element) -> Result<Self, DocError> {
        expect_root(el, Self::ROOT)?;
        let (mut call_id, mut ext) = (None, None);
        for c in &el.children {
            match &*c.name {
                "callId" => once(&mut call_id, "callId", non_empty(c, "callId")?)?,
                "externalTrackingId" => once(
                    &mut ext,
                    "externalTrackingId",
                    non_empty(c, "externalTrackingId")?,
                )?,
                _ => return Err(unexpected(Self::ROOT, c)),
            }
        }
        Ok(CallStartInfo {
            call_id: required(call_id, Self::ROOT, "callId")?,
            external_tracking_id: required(ext, Self::ROOT, "externalTrackingId")?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::documents::test_util::{names, round_trip, xml_body};

    #[test]
    fn call_list() {
        let calls = Calls {
            calls: vec![
                CallInfo::linked("alice@example.com", "callhalf-1201:0", false),
                CallInfo::linked("alice@example.com", "callhalf-1202:0", true),
            ],
        };
        let el = calls.to_element();
        assert_eq!(names(&el), ["call", "call"]);
        assert_eq!(names(&el.children[0]), ["callId", "uri"]);
        assert_eq!(el.children[1].attr("inConference"), Some("true"));
        assert_eq!(
            el.children[0].child_text("uri"),
            Some("/v2.0/user/alice@example.com/calls/callhalf-1201:0")
        );
        round_trip(&calls);
        round_trip(&Calls::default());
        let v = calls.to_element().to_json_value();
        assert_eq!(v["Calls"]["call"][1]["@inConference"], "true");

        let body = xml_body(
            "Calls",
            "<call inConference=\"maybe\"><callId>x</callId></call>",
        );
        assert!(Calls::from_xml(&body).is_err());
    }

    #[test]
    fn call_start_info() {
        let info = CallStartInfo {
            call_id: "callhalf-1201:0".into(),
            external_tracking_id: "88:1".into(),
        };
        let xml = String::from_utf8(info.to_xml()).unwrap();
        assert!(xml.ends_with(
            "<CallStartInfo xmlns=\"http://schema.broadsoft.com/xsi\"><callId>callhalf-1201:0</callId>\
             <externalTrackingId>88:1</externalTrackingId></CallStartInfo>"
        ));
        round_trip(&info);
    }
}
