//! Push notification registrations (`profile/PushNotificationRegistrations`, §3.5.2.9–10,
//! R22+). The registration is a request document (POST `.../new`) and is read strictly.

use super::read::{
    boolean, enumeration, expect_root, invalid, list, non_empty, once, required, unexpected,
};
use super::{DocError, XsiDocument};
use crate::xml::Element;

/// `type` of a device token (R24 schema, patched into R21.sp1–R23).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum PushTokenType {
    /// `VoIP` (iOS PushKit).
    Voip,
    /// `Normal`.
    Normal,
}

impl PushTokenType {
    const VALUES: [(&'static str, Self); 2] = [("VoIP", Self::Voip), ("Normal", Self::Normal)];

    /// The schema's spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Voip => "VoIP",
            Self::Normal => "Normal",
        }
    }
}

/// One name/value `param`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PushParam {
    /// Name (≤128 characters).
    pub name: String,
    /// Value (≤1024 characters).
    pub value: String,
}

/// `parameters` of an event detail; each list holds at most 10 params.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PushParameters {
    /// `iOSParam`.
    pub ios: Option<Vec<PushParam>>,
    /// `androidParam`.
    pub android: Option<Vec<PushParam>>,
    /// `appDataParam`.
    pub app_data: Option<Vec<PushParam>>,
}

/// `eventDetail`: an event with delivery options (R24 form).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PushEventDetail {
    /// Event name, e.g. `NEW_CALL`.
    pub name: String,
    /// Silent push (default false).
    pub silent: Option<bool>,
    /// Client may modify the content (default false).
    pub mutable_content: Option<bool>,
    /// Extra data sent with the push.
    pub parameters: Option<PushParameters>,
}

/// `pushNotificationEvents`: the schema allows either legacy names or details.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PushEvents {
    /// Repeated `event` (legacy form, name only).
    Names(Vec<String>),
    /// Repeated `eventDetail`.
    Details(Vec<PushEventDetail>),
}

impl Default for PushEvents {
    fn default() -> Self {
        PushEvents::Names(Vec::new())
    }
}

/// One `deviceToken`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DeviceToken {
    /// Token assigned by the push network.
    pub token: String,
    /// Token type.
    pub token_type: Option<PushTokenType>,
    /// Events wanted for this token.
    pub events: PushEvents,
}

/// `PushNotificationRegistration` (one registration; also the entries of the list).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PushNotificationRegistration {
    /// Application ID, e.g. `com.example.softphone`.
    pub application_id: String,
    /// Application version.
    pub application_version: String,
    /// Unique per app instance and user.
    pub registration_id: String,
    /// `iOS`, `Android`, …
    pub device_os_type: String,
    /// OS version.
    pub device_os_version: String,
    /// At least one token.
    pub device_tokens: Vec<DeviceToken>,
}

const MAX_PARAMS: usize = 10;

fn params_element(name: &'static str, params: &[PushParam]) -> Element {
    let mut el = Element::new(name);
    for p in params {
        let mut e = Element::new("param");
        e.put("name", p.name.as_str());
        e.put("value", p.value.as_str());
        el.push(e);
    }
    el
}

fn read_params(el: &Element, parent: &'static str) -> Result<Vec<PushParam>, DocError> {
    let params = list(el, parent, "param", |p| {
        let (mut name, mut value) = (None, None);
        for c in &p.children {
            match &*c.name {
                "name" => once(&mut name, "name", non_empty(c, "name")?)?,
                "value" => once(&mut value, "value", non_empty(c, "value")?)?,
                _ => return Err(unexpected("param", c)),
            }
        }
        Ok(PushParam {
            name: required(name, "param", "name")?,
            value: required(value, "param", "value")?,
        })
    })?;
    if params.len() > MAX_PARAMS {
        return Err(invalid(
            parent,
            &params.len().to_string(),
            "at most 10 params",
        ));
    }
    Ok(params)
}

impl PushEventDetail {
    fn to_element(&self) -> Element {
        let mut el = Element::new("eventDetail");
        el.put("name", self.name.as_str());
        el.put_bool("silent", self.silent);
        el.put_bool("mutableContent", self.mutable_content);
        if let Some(p) = &self.parameters {
            let mut pe = Element::new("parameters");
            for (name, list) in [
                ("iOSParam", &p.ios),
                ("androidParam", &p.android),
                ("appDataParam", &p.app_data),
            ] {
                if let Some(list) = list {
                    pe.push(params_element(name, list));
                }
            }
            el.push(pe);
        }
        el
    }

    fn read(el: &Element) -> Result<Self, DocError> {
        const P: &str = "eventDetail";
        let mut d = PushEventDetail::default();
        let mut name = None;
        for c in &el.children {
            match &*c.name {
                "name" => once(&mut name, "name", non_empty(c, "name")?)?,
                "silent" => once(&mut d.silent, "silent", boolean(c, "silent")?)?,
                "mutableContent" => once(
                    &mut d.mutable_content,
                    "mutableContent",
                    boolean(c, "mutableContent")?,
                )?,
                "parameters" => {
                    let mut p = PushParameters::default();
                    for pc in &c.children {
                        match &*pc.name {
                            "iOSParam" => {
                                once(&mut p.ios, "iOSParam", read_params(pc, "iOSParam")?)?
                            }
                            "androidParam" => once(
                                &mut p.android,
                                "androidParam",
                                read_params(pc, "androidParam")?,
                            )?,
                            "appDataParam" => once(
                                &mut p.app_data,
                                "appDataParam",
                                read_params(pc, "appDataParam")?,
                            )?,
                            _ => return Err(unexpected("parameters", pc)),
                        }
                    }
                    once(&mut d.parameters, "parameters", p)?;
                }
                _ => return Err(unexpected(P, c)),
            }
        }
        d.name = required(name, P, "name")?;
        Ok(d)
    }
}

impl DeviceToken {
    fn to_element(&self) -> Element {
        let mut el = Element::new("deviceToken");
        el.put("token", self.token.as_str());
        if let Some(t) = self.token_type {
            el.put("type", t.as_str());
        }
        let mut events = Element::new("pushNotificationEvents");
        match &self.events {
            PushEvents::Names(names) => {
                for n in names {
                    events.put("event", n.as_str());
                }
            }
            PushEvents::Details(details) => {
                events.children = details.iter().map(PushEventDetail::to_element).collect();
            }
        }
        el.push(events);
        el
    }

    fn read(el: &Element) -> Result<Self, DocError> {
        const P: &str = "deviceToken";
        let (mut token, mut ty, mut events) = (None, None, None);
        for c in &el.children {
            match &*c.name {
                "token" => once(&mut token, "token", non_empty(c, "token")?)?,
                "type" => once(
                    &mut ty,
                    "type",
                    enumeration(c, "type", &PushTokenType::VALUES, "VoIP or Normal")?,
                )?,
                "pushNotificationEvents" => {
                    once(&mut events, "pushNotificationEvents", read_events(c)?)?
                }
                _ => return Err(unexpected(P, c)),
            }
        }
        Ok(DeviceToken {
            token: required(token, P, "token")?,
            token_type: ty,
            events: required(events, P, "pushNotificationEvents")?,
        })
    }
}

fn read_events(el: &Element) -> Result<PushEvents, DocError> {
    const P: &str = "pushNotificationEvents";
    let (mut names, mut details) = (Vec::new(), Vec::new());
    for c in &el.children {
        match &*c.name {
            "event" => names.push(non_empty(c, "event")?),
            "eventDetail" => details.push(PushEventDetail::read(c)?),
            _ => return Err(unexpected(P, c)),
        }
    }
    match (names.is_empty(), details.is_empty()) {
        (_, true) => Ok(PushEvents::Names(names)),
        (true, false) => Ok(PushEvents::Details(details)),
        // The schema's choice allows one form or the other, not both.
        (false, false) => Err(unexpected(P, &Element::new("eventDetail"))),
    }
}

impl PushNotificationRegistration {
    fn build(&self, name: &'static str) -> Element {
        let mut el = Element::new(name);
        el.put("applicationId", self.application_id.as_str());
        el.put("applicationVersion", self.application_version.as_str());
        el.put("registrationId", self.registration_id.as_str());
        el.put("deviceOSType", self.device_os_type.as_str());
        el.put("deviceOSVersion", self.device_os_version.as_str());
        let mut tokens = Element::new("deviceTokenList");
        tokens.children = self
            .device_tokens
            .iter()
            .map(DeviceToken::to_element)
            .collect();
        el.push(tokens);
        el
    }

    fn read(el: &Element, parent: &'static str) -> Result<Self, DocError> {
        const FIELDS: [&str; 5] = [
            "applicationId",
            "applicationVersion",
            "registrationId",
            "deviceOSType",
            "deviceOSVersion",
        ];
        let mut values: [Option<String>; 5] = Default::default();
        let mut tokens = None;
        for c in &el.children {
            if let Some(i) = FIELDS.iter().position(|f| *f == c.name) {
                once(&mut values[i], FIELDS[i], non_empty(c, FIELDS[i])?)?;
            } else if c.name == "deviceTokenList" {
                let list = list(c, "deviceTokenList", "deviceToken", DeviceToken::read)?;
                if list.is_empty() {
                    return Err(DocError::Missing {
                        parent: "deviceTokenList",
                        element: "deviceToken",
                    });
                }
                once(&mut tokens, "deviceTokenList", list)?;
            } else {
                return Err(unexpected(parent, c));
            }
        }
        let [app, version, reg, os, os_version] = values;
        Ok(PushNotificationRegistration {
            application_id: required(app, parent, FIELDS[0])?,
            application_version: required(version, parent, FIELDS[1])?,
            registration_id: required(reg, parent, FIELDS[2])?,
            device_os_type: required(os, parent, FIELDS[3])?,
            device_os_version: required(os_version, parent, FIELDS[4])?,
            device_tokens: required(tokens, parent, "deviceTokenList")?,
        })
    }
}

impl XsiDocument for PushNotificationRegistration {
    const ROOT: &'static str = "PushNotificationRegistration";

    fn to_element(&self) -> Element {
        self.build(Self::ROOT)
    }

    fn from_element(el: &Element) -> Result<Self, DocError> {
        expect_root(el, Self::ROOT)?;
        Self::read(el, Self::ROOT)
    }
}

/// `GET profile/PushNotificationRegistrations`: the user's registrations.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PushNotificationRegistrations {
    /// Registrations.
    pub registrations: Vec<PushNotificationRegistration>,
}

impl XsiDocument for PushNotificationRegistrations {
    const ROOT: &'static str = "PushNotificationRegistrations";

    fn to_element(&self) -> Element {
        let mut el = Element::new(Self::ROOT);
        el.children = self
            .registrations
            .iter()
            .map(|r| r.build("pushNotificationRegistration"))
            .collect();
        el
    }

    fn from_element(el: &Element) -> Result<Self, DocError> {
        expect_root(el, Self::ROOT)?;
        let registrations = list(el, Self::ROOT, "pushNotificationRegistration", |r| {
            PushNotificationRegistration::read(r, "pushNotificationRegistration")
        })?;
        Ok(PushNotificationRegistrations { registrations })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::documents::BodyError;
    use crate::documents::test_util::{names, round_trip, xml_body};

    fn android() -> PushNotificationRegistration {
        PushNotificationRegistration {
            application_id: "com.example.softphone".into(),
            application_version: "5.2.0".into(),
            registration_id: "inst-7f3a".into(),
            device_os_type: "Android".into(),
            device_os_version: "14".into(),
            device_tokens: vec![DeviceToken {
                token: "tok-abc".into(),
                token_type: Some(PushTokenType::Voip),
                events: PushEvents::Details(vec![
                    PushEventDetail {
                        name: "NEW_CALL".into(),
                        silent: Some(false),
                        mutable_content: Some(true),
                        parameters: Some(PushParameters {
                            ios: None,
                            android: Some(vec![PushParam {
                                name: "priority".into(),
                                value: "high".into(),
                            }]),
                            app_data: Some(vec![]),
                        }),
                    },
                    PushEventDetail {
                        name: "CALL_UPD".into(),
                        ..PushEventDetail::default()
                    },
                ]),
            }],
        }
    }

    #[test]
    fn registration() {
        let reg = android();
        let el = reg.to_element();
        assert_eq!(
            names(&el),
            [
                "applicationId",
                "applicationVersion",
                "registrationId",
                "deviceOSType",
                "deviceOSVersion",
                "deviceTokenList"
            ]
        );
        let token = &el.children[5].children[0];
        assert_eq!(names(token), ["token", "type", "pushNotificationEvents"]);
        let detail = &token.children[2].children[0];
        assert_eq!(
            names(detail),
            ["name", "silent", "mutableContent", "parameters"]
        );
        assert_eq!(names(&detail.children[3]), ["androidParam", "appDataParam"]);
        round_trip(&reg);
    }

    #[test]
    fn legacy_event_names() {
        let body = xml_body(
            "PushNotificationRegistration",
            "<applicationId>a</applicationId><applicationVersion>1</applicationVersion>\
             <registrationId>r</registrationId><deviceOSType>iOS</deviceOSType>\
             <deviceOSVersion>17</deviceOSVersion><deviceTokenList><deviceToken><token>t</token>\
             <pushNotificationEvents><event>NEW_CALL</event><event>MWI</event></pushNotificationEvents>\
             </deviceToken></deviceTokenList>",
        );
        let reg = PushNotificationRegistration::from_xml(&body).unwrap();
        assert_eq!(
            reg.device_tokens[0].events,
            PushEvents::Names(vec!["NEW_CALL".into(), "MWI".into()])
        );
        round_trip(&reg);
    }

    #[test]
    fn strict_request_reading() {
        let mut reg = android();
        reg.device_tokens.clear();
        assert!(matches!(
            PushNotificationRegistration::from_xml(&reg.to_xml()),
            Err(BodyError::Doc(DocError::Missing {
                element: "deviceToken",
                ..
            }))
        ));
        let mut el = android().to_element();
        el.children.remove(2);
        assert!(matches!(
            PushNotificationRegistration::from_element(&el),
            Err(DocError::Missing {
                element: "registrationId",
                ..
            })
        ));
        let mut reg = android();
        if let PushEvents::Details(d) = &mut reg.device_tokens[0].events {
            d[0].parameters.as_mut().unwrap().ios = Some(vec![PushParam::default(); 11]);
        }
        assert!(PushNotificationRegistration::from_element(&reg.to_element()).is_err());
        let mut el = android().to_element();
        el.push(Element::leaf("bogus", "1"));
        assert!(PushNotificationRegistration::from_element(&el).is_err());
    }

    #[test]
    fn registration_list() {
        let list = PushNotificationRegistrations {
            registrations: vec![android()],
        };
        let el = list.to_element();
        assert_eq!(names(&el), ["pushNotificationRegistration"]);
        round_trip(&list);
        round_trip(&PushNotificationRegistrations::default());
    }
}
