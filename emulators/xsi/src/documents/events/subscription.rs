//! Subscription documents (`Events/XSISubscription.xsd`) and the `ContactURL` form of
//! `httpContact/uri` (`XSIDataTypes.xsd`).

use std::fmt;

use super::channel::non_negative_int;
use crate::documents::read::{expect_root, list, non_empty, once, string, unexpected};
use crate::documents::{DocError, XsiDocument};
use crate::xml::Element;

xsd_enum! {
    /// `EntityType` of a subscription target (enterprise targets report `ServiceProvider`).
    TargetIdType, "User, Group, ServiceProvider or System" {
        /// `User`.
        User = "User",
        /// `Group`.
        Group = "Group",
        /// `ServiceProvider`.
        ServiceProvider = "ServiceProvider",
        /// `System`.
        System = "System",
    }
}

/// The subscription owner (`subscriberId` | `clientId`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SubscriptionOwner {
    /// `subscriberId`: a user or administrator ID (`user@domain`).
    Subscriber(String),
    /// `clientId`: a clientApp (system subscriptions, R23+).
    Client(String),
}

/// The package(s) of a subscription (`event` | `eventPackageList`). Names are kept as sent
/// (e.g. `Advanced Call`); whether a package exists is the app server's business.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum EventPackages {
    /// One `event`.
    Single(String),
    /// `eventPackageList` with at least one `event` (R23+).
    List(Vec<String>),
}

impl EventPackages {
    /// The package names, whichever form.
    pub fn names(&self) -> &[String] {
        match self {
            EventPackages::Single(n) => std::slice::from_ref(n),
            EventPackages::List(v) => v,
        }
    }
}

/// `Subscription`: the create body (`POST user/<id>`, `group/…`, `system`, …), the refresh
/// body (`PUT subscription/<id>`, `expires` only), and the answers.
///
/// Reading accepts every schema element in any order, rejects unknown elements, both
/// `event` and `eventPackageList`, and malformed values. Owner and target fields
/// (`subscriberId`/`clientId`, `targetIdType`, `targetGrpParentId`, `targetId`,
/// `targetSubId`) are read, not refused: spec examples send them on create; the XSP ignores
/// them for URL-addressed targets ([`Subscription::into_create_request`]) and honours them
/// for `systemSubscription`. Both `httpContact` and `channelSetId` are accepted together
/// (the channel wins, as the schema annotation says); the writer then writes only
/// `channelSetId`, because the schema's choice allows one.
///
/// Writing in schema order gives the short answer for create/refresh when only
/// `subscription_id` and `expires` are set ([`Subscription::created`]) and the full form
/// for `GET subscription/<id>` when everything is.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Subscription {
    /// Server-assigned ID.
    pub subscription_id: Option<String>,
    /// Client-generated shared subscription ID.
    pub shared_subscription_id: Option<String>,
    /// Owner.
    pub owner: Option<SubscriptionOwner>,
    /// Target type.
    pub target_id_type: Option<TargetIdType>,
    /// Service provider / enterprise of a group target.
    pub target_grp_parent_id: Option<String>,
    /// Target user, group or service provider ID.
    pub target_id: Option<String>,
    /// Sub-target (e.g. a conference of a Meet-Me bridge).
    pub target_sub_id: Option<String>,
    /// Package(s).
    pub events: Option<EventPackages>,
    /// Lifetime in seconds (0 ..= 2147483647).
    pub expires: Option<u32>,
    /// `httpContact/uri`, as sent (parse with [`ContactUrl::parse`]).
    pub http_contact: Option<String>,
    /// Channel set delivering the events.
    pub channel_set_id: Option<String>,
    /// External application ID.
    pub application_id: Option<String>,
}

impl Subscription {
    /// The short answer to create and refresh.
    pub fn created(subscription_id: impl Into<String>, expires: u32) -> Self {
        Subscription {
            subscription_id: Some(subscription_id.into()),
            expires: Some(expires),
            ..Subscription::default()
        }
    }

    /// The create request with the fields a client may not set removed: the subscription
    /// ID, owner and target fields (the URL names the target).
    pub fn into_create_request(mut self) -> Self {
        self.subscription_id = None;
        self.owner = None;
        self.target_id_type = None;
        self.target_grp_parent_id = None;
        self.target_id = None;
        self.target_sub_id = None;
        self
    }

    fn build(&self, name: &'static str) -> Element {
        let mut el = Element::new(name);
        el.put_opt("subscriptionId", self.subscription_id.as_ref());
        el.put_opt("sharedSubscriptionId", self.shared_subscription_id.as_ref());
        match &self.owner {
            Some(SubscriptionOwner::Subscriber(id)) => el.put("subscriberId", id.as_str()),
            Some(SubscriptionOwner::Client(id)) => el.put("clientId", id.as_str()),
            None => {}
        }
        if let Some(t) = self.target_id_type {
            el.put("targetIdType", t.as_str());
        }
        el.put_opt("targetGrpParentId", self.target_grp_parent_id.as_ref());
        el.put_opt("targetId", self.target_id.as_ref());
        el.put_opt("targetSubId", self.target_sub_id.as_ref());
        match &self.events {
            Some(EventPackages::Single(name)) => el.put("event", name.as_str()),
            Some(EventPackages::List(names)) => {
                let mut l = Element::new("eventPackageList");
                for n in names {
                    l.put("event", n.as_str());
                }
                el.push(l);
            }
            None => {}
        }
        el.put_num("expires", self.expires);
        match (&self.channel_set_id, &self.http_contact) {
            (Some(set), _) => el.put("channelSetId", set.as_str()),
            (None, Some(uri)) => {
                let mut hc = Element::new("httpContact");
                hc.put("uri", uri.as_str());
                el.push(hc);
            }
            (None, None) => {}
        }
        el.put_opt("applicationId", self.application_id.as_ref());
        el
    }

    fn read(el: &Element, parent: &'static str) -> Result<Self, DocError> {
        let mut s = Subscription::default();
        for c in &el.children {
            match &*c.name {
                "subscriptionId" => once(
                    &mut s.subscription_id,
                    "subscriptionId",
                    non_empty(c, "subscriptionId")?,
                )?,
                "sharedSubscriptionId" => once(
                    &mut s.shared_subscription_id,
                    "sharedSubscriptionId",
                    non_empty(c, "sharedSubscriptionId")?,
                )?,
                "subscriberId" => once(
                    &mut s.owner,
                    "subscriberId",
                    SubscriptionOwner::Subscriber(non_empty(c, "subscriberId")?),
                )?,
                "clientId" => once(
                    &mut s.owner,
                    "clientId",
                    SubscriptionOwner::Client(non_empty(c, "clientId")?),
                )?,
                "targetIdType" => once(
                    &mut s.target_id_type,
                    "targetIdType",
                    TargetIdType::read(c, "targetIdType")?,
                )?,
                "targetGrpParentId" => once(
                    &mut s.target_grp_parent_id,
                    "targetGrpParentId",
                    non_empty(c, "targetGrpParentId")?,
                )?,
                "targetId" => once(&mut s.target_id, "targetId", string(c, "targetId")?)?,
                "targetSubId" => once(
                    &mut s.target_sub_id,
                    "targetSubId",
                    string(c, "targetSubId")?,
                )?,
                "event" => once(
                    &mut s.events,
                    "event",
                    EventPackages::Single(non_empty(c, "event")?),
                )?,
                "eventPackageList" => {
                    let names = list(c, "eventPackageList", "event", |e| non_empty(e, "event"))?;
                    if names.is_empty() {
                        return Err(DocError::Missing {
                            parent: "eventPackageList",
                            element: "event",
                        });
                    }
                    once(
                        &mut s.events,
                        "eventPackageList",
                        EventPackages::List(names),
                    )?
                }
                "expires" => once(&mut s.expires, "expires", non_negative_int(c, "expires")?)?,
                "httpContact" => {
                    let mut uri = None;
                    for u in &c.children {
                        match &*u.name {
                            "uri" => once(&mut uri, "uri", non_empty(u, "uri")?)?,
                            _ => return Err(unexpected("httpContact", u)),
                        }
                    }
                    let uri = uri.ok_or(DocError::Missing {
                        parent: "httpContact",
                        element: "uri",
                    })?;
                    once(&mut s.http_contact, "httpContact", uri)?
                }
                "channelSetId" => once(
                    &mut s.channel_set_id,
                    "channelSetId",
                    non_empty(c, "channelSetId")?,
                )?,
                "applicationId" => once(
                    &mut s.application_id,
                    "applicationId",
                    non_empty(c, "applicationId")?,
                )?,
                _ => return Err(unexpected(parent, c)),
            }
        }
        Ok(s)
    }
}

impl XsiDocument for Subscription {
    const ROOT: &'static str = "Subscription";

    fn to_element(&self) -> Element {
        self.build(Self::ROOT)
    }

    fn from_element(el: &Element) -> Result<Self, DocError> {
        expect_root(el, Self::ROOT)?;
        Subscription::read(el, Self::ROOT)
    }
}

/// `GET subscription?…`: the matching subscriptions (possibly none).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SubscriptionList {
    /// Subscriptions, full form.
    pub subscriptions: Vec<Subscription>,
}

impl XsiDocument for SubscriptionList {
    const ROOT: &'static str = "SubscriptionList";

    fn to_element(&self) -> Element {
        let mut el = Element::new(Self::ROOT);
        el.children = self
            .subscriptions
            .iter()
            .map(|s| s.build("subscription"))
            .collect();
        el
    }

    fn from_element(el: &Element) -> Result<Self, DocError> {
        expect_root(el, Self::ROOT)?;
        let subscriptions = list(el, Self::ROOT, "subscription", |s| {
            Subscription::read(s, "subscription")
        })?;
        Ok(SubscriptionList { subscriptions })
    }
}

/// Transport of a [`ContactUrl`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum Scheme {
    /// `http` (the default when the URI has no scheme).
    #[default]
    Http,
    /// `https`.
    Https,
}

impl Scheme {
    /// `http` or `https`.
    pub fn as_str(self) -> &'static str {
        match self {
            Scheme::Http => "http",
            Scheme::Https => "https",
        }
    }

    /// 80 or 443.
    pub fn default_port(self) -> u16 {
        match self {
            Scheme::Http => 80,
            Scheme::Https => 443,
        }
    }
}

/// Why an `httpContact/uri` is not a `ContactURL`.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ContactUrlError {
    /// Empty, or whitespace/control characters inside.
    #[error("not a URI")]
    Malformed,
    /// A scheme other than http or https.
    #[error("unsupported scheme {0:?}")]
    Scheme(String),
    /// No host.
    #[error("no host")]
    NoHost,
    /// Port not a number in 1..=65535.
    #[error("invalid port {0:?}")]
    Port(String),
}

/// `ContactURL` (`httpContact/uri`): `http(s)://host:port/path`, `host:port/path` or
/// `host/path`. The scheme defaults to http, the port to the scheme's default.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ContactUrl {
    /// Transport.
    pub scheme: Scheme,
    /// Host name or address (IPv6 without brackets).
    pub host: String,
    /// Port as written, if any.
    pub explicit_port: Option<u16>,
    /// Path with query, starting with `/` (`/` when the URI has none).
    pub path: String,
}

impl ContactUrl {
    /// Parses the forms the schema allows.
    pub fn parse(uri: &str) -> Result<Self, ContactUrlError> {
        let uri = uri.trim();
        if uri.is_empty() || uri.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(ContactUrlError::Malformed);
        }
        let (scheme, rest) = match uri.find("://") {
            Some(i) => {
                let s = &uri[..i];
                let scheme = if s.eq_ignore_ascii_case("http") {
                    Scheme::Http
                } else if s.eq_ignore_ascii_case("https") {
                    Scheme::Https
                } else {
                    return Err(ContactUrlError::Scheme(s.chars().take(32).collect()));
                };
                (scheme, &uri[i + 3..])
            }
            None => (Scheme::Http, uri),
        };
        let (authority, path) = match rest.find(['/', '?']) {
            Some(i) if rest[i..].starts_with('/') => (&rest[..i], rest[i..].to_owned()),
            Some(i) => (&rest[..i], format!("/{}", &rest[i..])),
            None => (rest, "/".to_owned()),
        };
        if authority.contains('@') {
            return Err(ContactUrlError::Malformed);
        }
        let (host, port) = if let Some(v6) = authority.strip_prefix('[') {
            let end = v6.find(']').ok_or(ContactUrlError::Malformed)?;
            let after = &v6[end + 1..];
            let port = match after.strip_prefix(':') {
                Some(p) => Some(p),
                None if after.is_empty() => None,
                None => return Err(ContactUrlError::Malformed),
            };
            (&v6[..end], port)
        } else {
            match authority.rsplit_once(':') {
                Some((h, p)) => (h, Some(p)),
                None => (authority, None),
            }
        };
        if host.is_empty() {
            return Err(ContactUrlError::NoHost);
        }
        if host.contains([':', '[', ']']) && !authority.starts_with('[') {
            return Err(ContactUrlError::Malformed);
        }
        let explicit_port = match port {
            None => None,
            Some(p) => match p.parse::<u16>() {
                Ok(n) if n > 0 && p.bytes().all(|b| b.is_ascii_digit()) => Some(n),
                _ => return Err(ContactUrlError::Port(p.chars().take(16).collect())),
            },
        };
        Ok(ContactUrl {
            scheme,
            host: host.to_owned(),
            explicit_port,
            path,
        })
    }

    /// The port to connect to.
    pub fn port(&self) -> u16 {
        self.explicit_port
            .unwrap_or_else(|| self.scheme.default_port())
    }
}

impl fmt::Display for ContactUrl {
    /// The absolute form, `scheme://host[:port]/path`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}://", self.scheme.as_str())?;
        if self.host.contains(':') {
            write!(f, "[{}]", self.host)?;
        } else {
            f.write_str(&self.host)?;
        }
        if let Some(p) = self.explicit_port {
            write!(f, ":{p}")?;
        }
        f.write_str(&self.path)
    }
}

impl std::str::FromStr for ContactUrl {
    type Err = ContactUrlError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        ContactUrl::parse(s)
    }
}
