//! Call logs: basic (`directories/CallLogs`, §3.5.7.4) and enhanced
//! (`directories/EnhancedCallLogs`, §3.5.7.6).
//!
//! Times are passed through as text: `time` is an `xs:dateTime` the caller formats (with
//! the user's offset, e.g. `2024-05-02T09:15:00.000-04:00`), `startTime` and friends are
//! milliseconds since the epoch.

use super::common::positive;
use super::read::{expect_root, non_empty, number, once, required, unexpected};
use super::{DocError, XsiDocument};
use crate::xml::Element;

/// The three basic lists.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum CallLogKind {
    /// Outgoing calls.
    Placed,
    /// Answered incoming calls.
    Received,
    /// Unanswered incoming calls.
    Missed,
}

impl CallLogKind {
    /// All kinds, in schema order.
    pub const ALL: [CallLogKind; 3] = [Self::Placed, Self::Received, Self::Missed];

    /// The element name (`placed`, `received`, `missed`).
    pub fn element(self) -> &'static str {
        match self {
            Self::Placed => "placed",
            Self::Received => "received",
            Self::Missed => "missed",
        }
    }

    fn from_element_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.element() == name)
    }
}

/// `callLogsEntry` (also the basic form inside enhanced logs).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CallLogEntry {
    /// Country code of the number.
    pub country_code: Option<u32>,
    /// Number or SIP URI of the other party.
    pub phone_number: String,
    /// Name of the other party (1–62 characters).
    pub name: String,
    /// When the call happened (`xs:dateTime`).
    pub time: String,
    /// Entry ID (1–30 characters), used to delete it.
    pub call_log_id: String,
}

impl CallLogEntry {
    fn to_element(&self, name: &'static str) -> Element {
        let mut el = Element::new(name);
        el.put_num("countryCode", self.country_code);
        el.put("phoneNumber", self.phone_number.as_str());
        el.put("name", self.name.as_str());
        el.put("time", self.time.as_str());
        el.put("callLogId", self.call_log_id.as_str());
        el
    }

    fn read(el: &Element, parent: &'static str) -> Result<Self, DocError> {
        let mut cc = None;
        let (mut phone, mut name, mut time, mut id) = (None, None, None, None);
        for c in &el.children {
            match &*c.name {
                "countryCode" => once(&mut cc, "countryCode", positive(c, "countryCode")?)?,
                "phoneNumber" => once(&mut phone, "phoneNumber", non_empty(c, "phoneNumber")?)?,
                "name" => once(&mut name, "name", non_empty(c, "name")?)?,
                "time" => once(&mut time, "time", non_empty(c, "time")?)?,
                "callLogId" => once(&mut id, "callLogId", non_empty(c, "callLogId")?)?,
                _ => {}
            }
        }
        Ok(CallLogEntry {
            country_code: cc,
            phone_number: required(phone, parent, "phoneNumber")?,
            name: required(name, parent, "name")?,
            time: required(time, parent, "time")?,
            call_log_id: required(id, parent, "callLogId")?,
        })
    }
}

/// One basic list (`CallLogsEntries`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CallLogList {
    /// Optional paging echo.
    pub start_index: Option<u32>,
    /// Optional paging echo.
    pub number_of_records: Option<u32>,
    /// Entries, newest first.
    pub entries: Vec<CallLogEntry>,
}

impl CallLogList {
    /// The list as an element named after `kind` — also the root of the single-list
    /// responses (`GET directories/CallLogs/Missed` answers `<missed xmlns=…>` in the spec's
    /// examples, spec notes 7.1 item 3).
    pub fn to_element_as(&self, kind: CallLogKind) -> Element {
        let mut el = Element::new(kind.element());
        el.put_num("startIndex", self.start_index);
        el.put_num("numberOfRecords", self.number_of_records);
        for e in &self.entries {
            el.push(e.to_element("callLogsEntry"));
        }
        el
    }

    /// Reads a list element of any kind; returns its kind.
    pub fn from_element_any(el: &Element) -> Result<(CallLogKind, Self), DocError> {
        let kind = CallLogKind::from_element_name(&el.name).ok_or_else(|| DocError::WrongRoot {
            expected: "placed|received|missed",
            found: el.name.to_string(),
        })?;
        let mut list = CallLogList::default();
        for c in &el.children {
            match &*c.name {
                "startIndex" => once(
                    &mut list.start_index,
                    "startIndex",
                    positive(c, "startIndex")?,
                )?,
                "numberOfRecords" => once(
                    &mut list.number_of_records,
                    "numberOfRecords",
                    number(c, "numberOfRecords", "a non-negative integer")?,
                )?,
                "callLogsEntry" => list.entries.push(CallLogEntry::read(c, "callLogsEntry")?),
                _ => {}
            }
        }
        Ok((kind, list))
    }
}

/// `GET directories/CallLogs`: the three lists.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CallLogs {
    /// Placed calls.
    pub placed: Option<CallLogList>,
    /// Received calls.
    pub received: Option<CallLogList>,
    /// Missed calls.
    pub missed: Option<CallLogList>,
}

impl CallLogs {
    fn slot(&mut self, kind: CallLogKind) -> &mut Option<CallLogList> {
        match kind {
            CallLogKind::Placed => &mut self.placed,
            CallLogKind::Received => &mut self.received,
            CallLogKind::Missed => &mut self.missed,
        }
    }
}

impl XsiDocument for CallLogs {
    const ROOT: &'static str = "CallLogs";

    fn to_element(&self) -> Element {
        let mut el = Element::new(Self::ROOT);
        for (kind, list) in
            CallLogKind::ALL
                .into_iter()
                .zip([&self.placed, &self.received, &self.missed])
        {
            if let Some(list) = list {
                el.push(list.to_element_as(kind));
            }
        }
        el
    }

    fn from_element(el: &Element) -> Result<Self, DocError> {
        expect_root(el, Self::ROOT)?;
        let mut logs = CallLogs::default();
        for c in &el.children {
            if CallLogKind::from_element_name(&c.name).is_some() {
                let (kind, list) = CallLogList::from_element_any(c)?;
                once(logs.slot(kind), kind.element(), list)?;
            }
        }
        Ok(logs)
    }
}

string_record! {
    /// The optional fields of `enhancedCallLogsExtendedEntry`, as text; see
    /// [`ExtendedCallLogEntry`].
    pub struct ExtendedCallLogDetails {
        /// Country code.
        country_code: "countryCode",
        /// Dialed digits.
        dialed_number: "dialedNumber",
        /// Called number after translation.
        called_number: "calledNumber",
        /// Network-translated address.
        network_translated_address: "networkTranslatedAddress",
        /// Calling asserted number.
        calling_asserted_number: "callingAssertedNumber",
        /// Calling presentation number.
        calling_presentation_number: "callingPresentationNumber",
        /// Source of the presentation number.
        calling_presentation_number_source: "callingPresentationNumberSource",
        /// Calling presentation name.
        calling_presentation_name: "callingPresentationName",
        /// Calling party's group.
        calling_group_id: "callingGroupId",
        /// Called party's directory name.
        called_directory_name: "calledDirectoryName",
        /// Called party's group.
        called_group_id: "calledGroupId",
        /// Connected number.
        connected_number: "connectedNumber",
        /// Source of the connected number.
        connected_number_source: "connectedNumberSource",
        /// Connected name.
        connected_name: "connectedName",
        /// Connected presentation indicator.
        connected_presentation_indicator: "connectedPresentationIndicator",
        /// Connected party's group.
        connected_group_id: "connectedGroupId",
        /// `Private` or `Public`.
        type_of_network: "typeOfNetwork",
        /// Call category.
        call_category: "callCategory",
        /// Configurable call type.
        configurable_call_type: "configurableCallType",
        /// Alternate call indicator.
        alternate_call_indicator: "alternateCallIndicator",
        /// Virtual on-net call type.
        virtual_on_net_call_type: "virtualOnNetCallType",
        /// Answer time (ms since epoch).
        answer_time: "answerTime",
        /// Release time (ms since epoch).
        release_time: "releaseTime",
        /// Detach time (ms since epoch).
        detached_time: "detachedTime",
        /// Answer time of a detached call.
        detached_answer_time: "detachedAnswerTime",
        /// Outgoing DNIS.
        outgoing_dnis: "outgoingDnis",
        /// Service that redirected the call.
        service_invocation_disposition: "serviceInvocationDisposition",
        /// Service invocation: dialed number.
        service_invocation_dialed_number: "serviceInvocationDialedNumber",
        /// Service invocation: called number.
        service_invocation_called_number: "serviceInvocationCalledNumber",
        /// Service invocation: network-translated address.
        service_invocation_network_translated_address: "serviceInvocationNetworkTranslatedAddress",
        /// Service invocation: type of network.
        service_invocation_type_of_network: "serviceInvocationTypeOfNetwork",
        /// Service invocation: call category.
        service_invocation_call_category: "serviceInvocationCallCategory",
        /// Service invocation: basic call type.
        service_invocation_basic_call_type: "serviceInvocationBasicCallType",
        /// Service invocation: configurable call type.
        service_invocation_configurable_call_type: "serviceInvocationConfigurableCallType",
        /// Service invocation: alternate call indicator.
        service_invocation_alternate_call_indicator: "serviceInvocationAlternateCallIndicator",
        /// Service invocation: virtual on-net call type.
        service_invocation_virtual_on_net_call_type: "serviceInvocationVirtualOnNetCallType",
        /// Service invocation: called directory name.
        service_invocation_called_directory_name: "serviceInvocationCalledDirectoryName",
        /// Service invocation: called group.
        service_invocation_called_group_id: "serviceInvocationCalledGroupId",
        /// Redirecting number.
        redirecting_number: "redirectingNumber",
        /// Redirecting name.
        redirecting_name: "redirectingName",
        /// Redirecting presentation indicator.
        redirecting_presentation_indicator: "redirectingPresentationIndicator",
        /// Redirecting reason.
        redirecting_reason: "redirectingReason",
        /// Account authorization code.
        account_authorization_code: "accountAuthorizationCode",
        /// Call authorization code.
        call_authorization_code: "callAuthorizationCode",
        /// Security classification.
        security_classification: "securityClassification",
        /// Direct route number.
        direct_route_number: "directRouteNumber",
        /// Route list number.
        route_list_number: "routeListNumber",
    }
}

/// `enhancedCallLogsExtendedEntry`: the detailed enhanced-log entry.
///
/// The mandatory elements are fields; the many optional ones live in `details` as text.
/// The schema interleaves both; `to_element` writes them in schema order.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ExtendedCallLogEntry {
    /// Entry ID.
    pub call_log_id: String,
    /// Call ID.
    pub call_id: String,
    /// Subscriber type, e.g. `User`.
    pub subscriber_type: String,
    /// Calling presentation indicator, e.g. `Public`.
    pub calling_presentation_indicator: String,
    /// Basic call type, e.g. `Network`.
    pub basic_call_type: String,
    /// When the call happened (`xs:dateTime`).
    pub time: String,
    /// Start time (ms since epoch).
    pub start_time: i64,
    /// Optional elements.
    pub details: ExtendedCallLogDetails,
}

/// Element order of `EnhancedCallLogsExtendedEntry` in the schema.
const EXTENDED_ORDER: [&str; 54] = [
    "countryCode",
    "callLogId",
    "callId",
    "subscriberType",
    "dialedNumber",
    "calledNumber",
    "networkTranslatedAddress",
    "callingAssertedNumber",
    "callingPresentationNumber",
    "callingPresentationNumberSource",
    "callingPresentationName",
    "callingPresentationIndicator",
    "callingGroupId",
    "calledDirectoryName",
    "calledGroupId",
    "connectedNumber",
    "connectedNumberSource",
    "connectedName",
    "connectedPresentationIndicator",
    "connectedGroupId",
    "typeOfNetwork",
    "callCategory",
    "basicCallType",
    "configurableCallType",
    "alternateCallIndicator",
    "virtualOnNetCallType",
    "time",
    "startTime",
    "answerTime",
    "releaseTime",
    "detachedTime",
    "detachedAnswerTime",
    "outgoingDnis",
    "serviceInvocationDisposition",
    "serviceInvocationDialedNumber",
    "serviceInvocationCalledNumber",
    "serviceInvocationNetworkTranslatedAddress",
    "serviceInvocationTypeOfNetwork",
    "serviceInvocationCallCategory",
    "serviceInvocationBasicCallType",
    "serviceInvocationConfigurableCallType",
    "serviceInvocationAlternateCallIndicator",
    "serviceInvocationVirtualOnNetCallType",
    "serviceInvocationCalledDirectoryName",
    "serviceInvocationCalledGroupId",
    "redirectingNumber",
    "redirectingName",
    "redirectingPresentationIndicator",
    "redirectingReason",
    "accountAuthorizationCode",
    "callAuthorizationCode",
    "securityClassification",
    "directRouteNumber",
    "routeListNumber",
];

impl ExtendedCallLogEntry {
    fn to_element(&self) -> Element {
        let mut el = Element::new("enhancedCallLogsExtendedEntry");
        for name in EXTENDED_ORDER {
            match name {
                "callLogId" => el.put(name, self.call_log_id.as_str()),
                "callId" => el.put(name, self.call_id.as_str()),
                "subscriberType" => el.put(name, self.subscriber_type.as_str()),
                "callingPresentationIndicator" => {
                    el.put(name, self.calling_presentation_indicator.as_str())
                }
                "basicCallType" => el.put(name, self.basic_call_type.as_str()),
                "time" => el.put(name, self.time.as_str()),
                "startTime" => el.put(name, self.start_time.to_string()),
                _ => el.put_opt(name, self.details.get(name)),
            }
        }
        el
    }

    fn read(el: &Element) -> Result<Self, DocError> {
        const P: &str = "enhancedCallLogsExtendedEntry";
        let mut e = ExtendedCallLogEntry::default();
        let mut req: [Option<String>; 6] = Default::default();
        const REQ: [&str; 6] = [
            "callLogId",
            "callId",
            "subscriberType",
            "callingPresentationIndicator",
            "basicCallType",
            "time",
        ];
        let mut start = None;
        for c in &el.children {
            if let Some(i) = REQ.iter().position(|n| *n == c.name) {
                once(&mut req[i], REQ[i], non_empty(c, REQ[i])?)?;
            } else if c.name == "startTime" {
                once(
                    &mut start,
                    "startTime",
                    number(c, "startTime", "a timestamp")?,
                )?;
            } else {
                e.details.read_field(c)?;
            }
        }
        let [id, call, sub, ind, basic, time] = req;
        e.call_log_id = required(id, P, "callLogId")?;
        e.call_id = required(call, P, "callId")?;
        e.subscriber_type = required(sub, P, "subscriberType")?;
        e.calling_presentation_indicator = required(ind, P, "callingPresentationIndicator")?;
        e.basic_call_type = required(basic, P, "basicCallType")?;
        e.time = required(time, P, "time")?;
        e.start_time = required(start, P, "startTime")?;
        Ok(e)
    }
}

/// The entries of an enhanced list: the schema allows one form or the other per list.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum EnhancedEntries {
    /// `enhancedCallLogsEntry` (same fields as the basic entry).
    Basic(Vec<CallLogEntry>),
    /// `enhancedCallLogsExtendedEntry`.
    Extended(Vec<ExtendedCallLogEntry>),
}

impl Default for EnhancedEntries {
    fn default() -> Self {
        EnhancedEntries::Basic(Vec::new())
    }
}

/// One enhanced list.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct EnhancedCallLogList {
    /// Optional paging echo.
    pub start_index: Option<u32>,
    /// Optional paging echo.
    pub number_of_records: Option<u32>,
    /// The entries.
    pub entries: EnhancedEntries,
}

impl EnhancedCallLogList {
    fn to_element(&self, kind: CallLogKind) -> Element {
        let mut el = Element::new(kind.element());
        el.put_num("startIndex", self.start_index);
        el.put_num("numberOfRecords", self.number_of_records);
        match &self.entries {
            EnhancedEntries::Basic(v) => {
                for e in v {
                    el.push(e.to_element("enhancedCallLogsEntry"));
                }
            }
            EnhancedEntries::Extended(v) => {
                for e in v {
                    el.push(e.to_element());
                }
            }
        }
        el
    }

    fn read(el: &Element) -> Result<Self, DocError> {
        let mut list = EnhancedCallLogList::default();
        let (mut basic, mut extended) = (Vec::new(), Vec::new());
        for c in &el.children {
            match &*c.name {
                "startIndex" => once(
                    &mut list.start_index,
                    "startIndex",
                    positive(c, "startIndex")?,
                )?,
                "numberOfRecords" => once(
                    &mut list.number_of_records,
                    "numberOfRecords",
                    number(c, "numberOfRecords", "a non-negative integer")?,
                )?,
                "enhancedCallLogsEntry" => {
                    basic.push(CallLogEntry::read(c, "enhancedCallLogsEntry")?)
                }
                "enhancedCallLogsExtendedEntry" => extended.push(ExtendedCallLogEntry::read(c)?),
                _ => {}
            }
        }
        list.entries = match (basic.is_empty(), extended.is_empty()) {
            (_, true) => EnhancedEntries::Basic(basic),
            (true, false) => EnhancedEntries::Extended(extended),
            (false, false) => {
                return Err(unexpected(
                    "enhanced call log list",
                    &Element::new("enhancedCallLogsExtendedEntry"),
                ));
            }
        };
        Ok(list)
    }
}

/// `GET directories/EnhancedCallLogs[/{type}]` (§3.5.7.6).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct EnhancedCallLogs {
    /// 1-based index of the first entry.
    pub start_index: u32,
    /// Entries returned.
    pub number_of_records: u32,
    /// Placed calls.
    pub placed: Option<EnhancedCallLogList>,
    /// Received calls.
    pub received: Option<EnhancedCallLogList>,
    /// Missed calls.
    pub missed: Option<EnhancedCallLogList>,
}

impl XsiDocument for EnhancedCallLogs {
    const ROOT: &'static str = "EnhancedCallLogs";

    fn to_element(&self) -> Element {
        let mut el = Element::new(Self::ROOT);
        el.put("startIndex", self.start_index.to_string());
        el.put("numberOfRecords", self.number_of_records.to_string());
        for (kind, list) in
            CallLogKind::ALL
                .into_iter()
                .zip([&self.placed, &self.received, &self.missed])
        {
            if let Some(list) = list {
                el.push(list.to_element(kind));
            }
        }
        el
    }

    fn from_element(el: &Element) -> Result<Self, DocError> {
        expect_root(el, Self::ROOT)?;
        let mut logs = EnhancedCallLogs::default();
        let (mut start, mut count) = (None, None);
        for c in &el.children {
            match &*c.name {
                "startIndex" => once(&mut start, "startIndex", positive(c, "startIndex")?)?,
                "numberOfRecords" => once(
                    &mut count,
                    "numberOfRecords",
                    number(c, "numberOfRecords", "a non-negative integer")?,
                )?,
                name => {
                    if let Some(kind) = CallLogKind::from_element_name(name) {
                        let slot = match kind {
                            CallLogKind::Placed => &mut logs.placed,
                            CallLogKind::Received => &mut logs.received,
                            CallLogKind::Missed => &mut logs.missed,
                        };
                        once(slot, kind.element(), EnhancedCallLogList::read(c)?)?;
                    }
                }
            }
        }
        logs.start_index = required(start, Self::ROOT, "startIndex")?;
        logs.number_of_records = required(count, Self::ROOT, "numberOfRecords")?;
        Ok(logs)
    }
}

#[cfg(test)]
mod tests;
