//! The timeline: steps with exactly one timing (`at`, `after`, `within`, `when`) and exactly
//! one action.

use std::borrow::Cow;
use std::fmt;

use schemars::{JsonSchema, Schema, SchemaGenerator, json_schema};
use serde::de::{self, Deserializer, MapAccess, Visitor};
use serde::{Deserialize, Serialize, Serializer};

use crate::de::STR_OR_STRUCT;
use crate::expect::{
    ChannelMatch, DnsQueryMatch, EventMatch, Expectation, HeartbeatMatch, RequestMatch, TokenMatch,
};
use crate::fault::FaultRule;
use crate::scenario::{Subscriber, SystemSettings, str_or_struct};
use crate::value::{LabDuration, OneOrMany};

/// One step of the timeline.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "snake_case")]
pub struct Step {
    /// Label shown in progress output and reports.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// At this time after the start.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub at: Option<LabDuration>,
    /// This long after the previous step.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub after: Option<LabDuration>,
    /// A deadline: the step's expectation must hold at some point within this time after
    /// the previous step.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub within: Option<LabDuration>,
    /// As soon as a condition holds ("3rd heartbeat of alice").
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub when: Option<Condition>,
    /// Inject fault rules (one rule, or a first-match list).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fault: Option<OneOrMany<FaultRule>>,
    /// Revert an injected fault by its `id` (or kind name); `all` reverts every fault.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revert: Option<String>,
    /// Stop, start or restart a node.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub node: Option<NodeAction>,
    /// Move the lab clock.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub clock: Option<ClockAction>,
    /// Change subscriber data.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data: Option<DataAction>,
    /// Place a call.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub call: Option<Call>,
    /// Drive the SUT (reference clients).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sut: Option<SutAction>,
    /// Check the journal (one expectation or a list).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expect: Option<OneOrMany<Expectation>>,
}

impl Step {
    /// Keys that time a step.
    pub const TIMINGS: &'static [&'static str] = &["at", "after", "within", "when"];
    /// Keys that are a step's action.
    pub const ACTIONS: &'static [&'static str] = &[
        "fault", "revert", "node", "clock", "data", "call", "sut", "expect",
    ];

    /// The timing keys set.
    pub fn timings(&self) -> Vec<&'static str> {
        let set = [
            self.at.is_some(),
            self.after.is_some(),
            self.within.is_some(),
            self.when.is_some(),
        ];
        Self::TIMINGS
            .iter()
            .zip(set)
            .filter(|(_, s)| *s)
            .map(|(k, _)| *k)
            .collect()
    }

    /// The action keys set.
    pub fn actions(&self) -> Vec<&'static str> {
        let set = [
            self.fault.is_some(),
            self.revert.is_some(),
            self.node.is_some(),
            self.clock.is_some(),
            self.data.is_some(),
            self.call.is_some(),
            self.sut.is_some(),
            self.expect.is_some(),
        ];
        Self::ACTIONS
            .iter()
            .zip(set)
            .filter(|(_, s)| *s)
            .map(|(k, _)| *k)
            .collect()
    }
}

/// `node: {down: xsp1}`
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum NodeAction {
    /// Stop the node: its listeners close, connections are reset.
    Down(String),
    /// Start it again.
    Up(String),
    /// Down, then up.
    Restart(String),
}

impl NodeAction {
    /// The node named.
    pub fn node(&self) -> &str {
        match self {
            NodeAction::Down(n) | NodeAction::Up(n) | NodeAction::Restart(n) => n,
        }
    }
}

/// `clock: {advance: 11d}`
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum ClockAction {
    /// Move the lab's wall clock forward (token and password expiry; timers are not
    /// affected).
    Advance(LabDuration),
}

/// Data changes.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum DataAction {
    /// `expire_password: {user: alice}` (now), `{user: alice, ago: 3d}` or
    /// `{user: alice, in: 7d}` (still valid, expires then).
    ExpirePassword(ExpirePassword),
    /// `change_password: {user: alice, password: "n3w!"}`
    ChangePassword(ChangePassword),
    /// `assign_service: {user: alice, service: doNotDisturb}`
    AssignService(ServiceChange),
    /// `remove_service: {user: alice, service: doNotDisturb}`
    RemoveService(ServiceChange),
    /// `add_user: {user: carol@lab.example, password: …}`
    AddUser(Subscriber),
    /// `system: {enforce_password_change_on_expiry: true}`
    System(SystemSettings),
}

/// Password expiry change.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ExpirePassword {
    /// The user.
    pub user: String,
    /// Expired this long ago.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ago: Option<LabDuration>,
    /// Expires this long from now.
    #[serde(default, rename = "in", skip_serializing_if = "Option::is_none")]
    pub within: Option<LabDuration>,
}

/// Password change.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ChangePassword {
    /// The user.
    pub user: String,
    /// The new password.
    pub password: String,
}

/// Service assignment change.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ServiceChange {
    /// The user.
    pub user: String,
    /// Lab-data service name (`doNotDisturb`, `callForwardingAlways`…).
    pub service: String,
}

/// `call: {from: alice, to: bob, answer_after: 2s, release_after: 10s}`
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Call {
    /// Calling user.
    pub from: String,
    /// Called user, number or extension.
    pub to: String,
    /// The callee answers after this long (never when absent).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub answer_after: Option<LabDuration>,
    /// The call is released this long after it was answered (or placed, if never
    /// answered).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub release_after: Option<LabDuration>,
}

/// What a reference client is told to do.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum SutAction {
    /// Sign in (again): rediscovers hosts.
    SignIn,
    /// Sign out.
    SignOut,
    /// Restart the client (command SUTs: the process).
    Restart,
}

/// `when:` — an expectation to wait for, or the same in words: `3rd heartbeat of alice`,
/// `1st channel open of bob on xsp3`, `2nd event CallReceivedEvent for bob`,
/// `1st request GET /com.broadsoft.xsi-events/* on xsp1`, `1st dns query _xsi-client._tcp.lab.example`,
/// `1st token of alice`.
#[derive(Clone, Debug, PartialEq)]
pub struct Condition {
    /// The expectation; its `at_least` is the ordinal of the words form.
    pub expect: Expectation,
    /// The words, when written so.
    pub text: Option<String>,
}

impl Serialize for Condition {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match &self.text {
            Some(t) => s.serialize_str(t),
            None => self.expect.serialize(s),
        }
    }
}

str_or_struct!(
    Condition,
    Expectation,
    Expectation::KEYS,
    "a condition: words such as `3rd heartbeat of alice`, or an expectation",
    |text| parse_condition(text)
        .map(|expect| Condition {
            expect,
            text: Some(text.to_string())
        })
        .map_err(|m| E::custom(format!("{m}\nhint: {CONDITION_HINT}"))),
    |v| Condition {
        expect: v,
        text: None
    }
);

impl JsonSchema for Condition {
    fn schema_name() -> Cow<'static, str> {
        "Condition".into()
    }

    fn json_schema(g: &mut SchemaGenerator) -> Schema {
        let expect = g.subschema_for::<Expectation>();
        json_schema!({
            "description": "Words such as `3rd heartbeat of alice`, or an expectation to wait for.",
            "anyOf": [{"type": "string", "examples": ["3rd heartbeat of alice"]}, expect]
        })
    }
}

const CONDITION_HINT: &str = "write `<nth> <heartbeat|channel open|event [TYPE]|request [METHOD] [PATH]|token|dns query [NAME]> [of|for USER] [on NODE] [via LB]`, e.g. `3rd heartbeat of alice`";

/// Parses the words form of a condition.
pub fn parse_condition(text: &str) -> Result<Expectation, String> {
    let words: Vec<&str> = text.split_whitespace().collect();
    let Some((first, rest)) = words.split_first() else {
        return Err("empty condition".into());
    };
    let nth = ordinal(first)
        .ok_or_else(|| format!("`{first}` is not an ordinal such as 1st, 2nd, 3rd, 4th"))?;
    let mut e = Expectation {
        at_least: Some(nth),
        ..Expectation::default()
    };
    let mut i = 0;
    let word = |i: usize| rest.get(i).copied();
    let kind = word(0).ok_or("the condition names no kind of entry")?;
    i += 1;
    // Optional arguments before `of`/`for`/`on`/`via`.
    let is_kw = |w: &str| matches!(w, "of" | "for" | "on" | "via" | "channel");
    let mut args = Vec::new();
    match kind {
        "heartbeat" | "heartbeats" => e.heartbeat = Some(HeartbeatMatch::default()),
        "channel" | "channels" => {
            if matches!(word(i), Some("open" | "opened")) {
                i += 1;
            }
            e.channel_open = Some(ChannelMatch::default());
        }
        "event" | "events" => e.event = Some(EventMatch::default()),
        "request" | "requests" => e.request = Some(RequestMatch::default()),
        "token" | "tokens" => e.token = Some(TokenMatch::default()),
        "dns" => {
            if matches!(word(i), Some("query" | "queries")) {
                i += 1;
            }
            e.dns_query = Some(DnsQueryMatch::default());
        }
        other => return Err(format!("unknown kind `{other}` in condition")),
    }
    while let Some(w) = word(i) {
        if is_kw(w) {
            break;
        }
        args.push(w);
        i += 1;
    }
    match (&mut e, args.as_slice()) {
        (_, []) => {}
        (
            Expectation {
                event: Some(ev), ..
            },
            [t],
        ) => ev.event_type = Some((*t).into()),
        (
            Expectation {
                request: Some(r), ..
            },
            [p],
        ) if p.starts_with('/') => r.path = Some((*p).into()),
        (
            Expectation {
                request: Some(r), ..
            },
            [m],
        ) => r.method = Some((*m).into()),
        (
            Expectation {
                request: Some(r), ..
            },
            [m, p],
        ) => {
            r.method = Some((*m).into());
            r.path = Some((*p).into());
        }
        (
            Expectation {
                dns_query: Some(d), ..
            },
            [n],
        ) => d.name = Some((*n).into()),
        (_, extra) => return Err(format!("unexpected `{}` in condition", extra.join(" "))),
    }
    let mut user = None;
    let mut node = None;
    let mut via = None;
    while let Some(w) = word(i) {
        i += 1;
        let target = match w {
            // "on channel of alice" reads naturally; "channel" adds nothing.
            "channel" => continue,
            "of" | "for" => &mut user,
            "on" if word(i) == Some("channel") => continue,
            "on" => &mut node,
            "via" => &mut via,
            other => return Err(format!("unexpected `{other}` in condition")),
        };
        let v = word(i).ok_or_else(|| format!("`{w}` needs a name after it"))?;
        i += 1;
        *target = Some(v.to_string());
    }
    let set_user = |u: &mut Option<String>| *u = user.clone();
    if let Some(h) = &mut e.heartbeat {
        set_user(&mut h.user);
        h.node = node.clone();
    }
    if let Some(c) = &mut e.channel_open {
        c.user = user.clone().ok_or("a channel condition needs `of USER`")?;
        c.node = node.clone();
        c.via = via.clone();
    }
    if let Some(ev) = &mut e.event {
        set_user(&mut ev.user);
        ev.node = node.clone();
    }
    if let Some(r) = &mut e.request {
        set_user(&mut r.user);
        r.node = node.clone();
        r.via = via.clone();
    }
    if let Some(t) = &mut e.token {
        set_user(&mut t.user);
        t.node = node.clone();
    }
    if e.dns_query.is_some() && (user.is_some() || node.is_some() || via.is_some()) {
        return Err("a dns query condition takes only a name".into());
    }
    if via.is_some() && e.request.is_none() && e.channel_open.is_none() {
        return Err("`via` applies to requests and channels only".into());
    }
    Ok(e)
}

/// `1st`, `2nd`, `3rd`, `4th`…, `first`…`fifth`, or a bare number.
fn ordinal(w: &str) -> Option<u32> {
    let named = ["first", "second", "third", "fourth", "fifth"];
    if let Some(i) = named.iter().position(|n| n.eq_ignore_ascii_case(w)) {
        return u32::try_from(i + 1).ok();
    }
    let digits = w.trim_end_matches(|c: char| c.is_ascii_alphabetic());
    let suffix = &w[digits.len()..];
    let n: u32 = digits.parse().ok().filter(|n| *n > 0)?;
    let expected = match (n % 100, n % 10) {
        (11..=13, _) => "th",
        (_, 1) => "st",
        (_, 2) => "nd",
        (_, 3) => "rd",
        _ => "th",
    };
    (suffix.is_empty() || suffix == expected).then_some(n)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn conditions_in_words() {
        let e = parse_condition("3rd heartbeat on channel of alice").unwrap();
        assert_eq!(e.at_least, Some(3));
        assert_eq!(e.heartbeat.unwrap().user.as_deref(), Some("alice"));
        let e = parse_condition("1st channel open of bob on xsp3").unwrap();
        let c = e.channel_open.unwrap();
        assert_eq!((c.user.as_str(), c.node.as_deref()), ("bob", Some("xsp3")));
        let e = parse_condition("2nd event CallReceivedEvent for bob").unwrap();
        assert_eq!(
            e.event.unwrap().event_type.as_deref(),
            Some("CallReceivedEvent")
        );
        let e = parse_condition("first request GET /com.broadsoft.xsi-events/* on xsp1").unwrap();
        let r = e.request.unwrap();
        assert_eq!(r.method.as_deref(), Some("GET"));
        assert_eq!(r.node.as_deref(), Some("xsp1"));
        let e = parse_condition("1st dns query _xsi-client._tcp.lab.example").unwrap();
        assert!(e.dns_query.unwrap().name.is_some());
        assert!(parse_condition("3th heartbeat of alice").is_err());
        assert!(parse_condition("3rd sneeze of alice").is_err());
        assert!(parse_condition("3rd heartbeat of").is_err());
        assert!(parse_condition("").is_err());
        assert_eq!(ordinal("11th"), Some(11));
        assert_eq!(ordinal("22nd"), Some(22));
    }
}
