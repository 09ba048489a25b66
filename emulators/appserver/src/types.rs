//! Request and answer types of the subscription and channel API, and its errors.

use std::sync::Arc;

use bwlab_profiles::XsiVersion;

use crate::event::Owner;
use crate::ids::EventsAppId;
use crate::package::EventPackage;

/// `expires` value meaning "never" (and the maximum).
pub const NEVER_EXPIRES: u32 = i32::MAX as u32;
/// Default and minimum `expires` of channels and subscriptions.
pub const MIN_EXPIRES: u32 = 3600;

/// What a subscription watches.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Target {
    /// One user (`user/<userId>`).
    User(String),
    /// A group of an enterprise / service provider.
    Group {
        /// Enterprise or service provider id (`targetGrpParentId`).
        enterprise: String,
        /// Group id.
        group: String,
    },
    /// An enterprise or service provider (reported as `ServiceProvider`).
    Enterprise(String),
    /// The whole system.
    System,
}

impl Target {
    /// `targetIdType`.
    pub fn type_name(&self) -> &'static str {
        match self {
            Target::User(_) => "User",
            Target::Group { .. } => "Group",
            Target::Enterprise(_) => "ServiceProvider",
            Target::System => "System",
        }
    }

    /// `targetId` (absent for System).
    pub fn id(&self) -> Option<&str> {
        match self {
            Target::User(u) => Some(u),
            Target::Group { group, .. } => Some(group),
            Target::Enterprise(e) => Some(e),
            Target::System => None,
        }
    }

    /// `targetGrpParentId` (groups only).
    pub fn parent_id(&self) -> Option<&str> {
        match self {
            Target::Group { enterprise, .. } => Some(enterprise),
            _ => None,
        }
    }
}

/// `targetEntityType` filter of a subscription query.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TargetType {
    /// `User`.
    User,
    /// `Group`.
    Group,
    /// `ServiceProvider` (also enterprises).
    ServiceProvider,
    /// `System`.
    System,
}

/// One package (`event`) or a list (`eventPackageList`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Packages {
    /// `event`.
    Single(EventPackage),
    /// `eventPackageList` (at least one).
    List(Vec<EventPackage>),
}

impl Packages {
    /// The packages as a slice.
    pub fn as_slice(&self) -> &[EventPackage] {
        match self {
            Packages::Single(p) => std::slice::from_ref(p),
            Packages::List(l) => l,
        }
    }
}

/// Delivery route of a subscription.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum SubscriptionRoute {
    /// `channelSetId` (wins when both were sent).
    ChannelSet(Arc<str>),
    /// `httpContact/uri`.
    HttpContact(Arc<str>),
}

/// How the subscription request reached the AS.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Origin {
    /// The Xsi-Events instance that forwarded it; the subscription is tagged with that
    /// instance's `callControlApplicationName`.
    pub via: EventsAppId,
    /// Came over the CTI interface (release-dependent gating applies).
    pub cti: bool,
    /// CN of the client certificate (CTI / mTLS), if any.
    pub client_identity: Option<String>,
}

/// A subscribe request (body fields + URL target + headers), already parsed by the XSP.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SubscribeRequest {
    /// Owner: the authenticated user, or the clientApp of a system subscription.
    pub owner: Owner,
    /// Target from the URL.
    pub target: Target,
    /// `subId` from the URL.
    pub target_sub_id: Option<String>,
    /// `event` or `eventPackageList`.
    pub packages: Packages,
    /// Requested `expires`.
    pub expires: Option<u32>,
    /// Delivery route.
    pub route: SubscriptionRoute,
    /// `applicationId`.
    pub application_id: Option<String>,
    /// `sharedSubscriptionId`.
    pub shared_subscription_id: Option<String>,
    /// `X-BroadWorks-Protocol-Version`.
    pub protocol_version: Option<XsiVersion>,
    /// Who forwarded it.
    pub origin: Origin,
}

/// Answer to a subscribe or refresh.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SubscriptionGrant {
    /// `subscriptionId`.
    pub subscription_id: Arc<str>,
    /// Granted `expires` (2147483647 = never).
    pub expires: u32,
    /// A duplicate was overwritten (its id is returned when ids are kept).
    pub replaced: Option<Arc<str>>,
}

/// A subscription as `GET subscription` shows it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SubscriptionInfo {
    /// `subscriptionId`.
    pub id: Arc<str>,
    /// `subscriberId` / `clientId`.
    pub owner: Owner,
    /// Target.
    pub target: Target,
    /// `targetSubId`.
    pub target_sub_id: Option<Arc<str>>,
    /// `event` or `eventPackageList`.
    pub packages: Packages,
    /// Remaining seconds (2147483647 = never, 0 = expired).
    pub expires: u32,
    /// Route.
    pub route: SubscriptionRoute,
    /// `applicationId`.
    pub application_id: Option<Arc<str>>,
    /// `sharedSubscriptionId`.
    pub shared_subscription_id: Option<Arc<str>>,
    /// Tag: `callControlApplicationName` of the creating Xsi-Events instance.
    pub call_control_application_name: Arc<str>,
    /// Created over CTI.
    pub cti: bool,
    /// Client certificate CN of the creator.
    pub client_identity: Option<Arc<str>>,
    /// Protocol version the subscription was made with.
    pub protocol_version: Option<XsiVersion>,
}

/// Filters of `GET subscription?…` (scope checks are the XSP's job).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SubscriptionQuery {
    /// `subscriberId` (the XSP fills the authenticated user when absent).
    pub owner: Option<Owner>,
    /// `targetId`.
    pub target_id: Option<String>,
    /// `targetEntityType` (default User).
    pub target_type: Option<TargetType>,
    /// `targetGrpParentId`.
    pub target_grp_parent_id: Option<String>,
    /// `event`: matches single-package subscriptions only.
    pub event: Option<EventPackage>,
    /// `extAppId`.
    pub ext_app_id: Option<String>,
    /// `targetSubId`.
    pub target_sub_id: Option<String>,
}

/// Why a subscription command failed.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum SubscribeError {
    /// No package given.
    #[error("no event package")]
    NoPackage,
    /// The release does not know the package (or gates it off).
    #[error("event package {0} is not supported")]
    UnsupportedPackage(EventPackage),
    /// `Call Recording` with protocol version ≥ 20.0 or none.
    #[error("event package {0} is not available in this protocol version")]
    PackageVersion(EventPackage),
    /// CTI subscription to a package the release does not allow over CTI (`Do Not Disturb`
    /// without DND sync).
    #[error("event package {0} is not allowed over CTI")]
    NotAllowedOverCti(EventPackage),
    /// The client certificate CN is not listed under `System/ClientIdentity`.
    #[error("client identity {0:?} is not allowed")]
    ClientIdentityRefused(String),
    /// The target does not exist.
    #[error("unknown target")]
    UnknownTarget,
    /// `Group` query without `targetGrpParentId`.
    #[error("targetGrpParentId is required for group targets")]
    MissingGroupParent,
    /// The owner has too many subscriptions.
    #[error("subscription limit of {0} reached")]
    LimitReached(usize),
    /// The request names an Xsi-Events instance that is not registered.
    #[error("unknown Xsi-Events instance")]
    UnknownEventsApp,
    /// Unknown or expired subscription id (the XSP answers 403).
    #[error("no such subscription")]
    NotFound,
}

/// A channel-add request, as the hosting Xsi-Events instance forwards it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OpenChannel {
    /// The authenticated owner.
    pub owner: Owner,
    /// `channelSetId`.
    pub channel_set_id: String,
    /// `priority` (default 1).
    pub priority: Option<u32>,
    /// `weight` (default 50).
    pub weight: Option<u32>,
    /// `expires` (default/minimum 3600, 2147483647 = never).
    pub expires: Option<u32>,
    /// `applicationId`.
    pub application_id: Option<String>,
    /// The instance holding the stream.
    pub host: EventsAppId,
}

/// Answer to channel add / refresh.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ChannelGrant {
    /// `channelId` (UUID).
    pub channel_id: Arc<str>,
    /// Granted `expires`.
    pub expires: u32,
}

/// A channel as `GET channelset/<id>` and `channel(id)` show it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ChannelInfo {
    /// `channelId`.
    pub id: Arc<str>,
    /// Owner.
    pub owner: Owner,
    /// `channelSetId`.
    pub channel_set_id: Arc<str>,
    /// `priority`.
    pub priority: u32,
    /// `weight`.
    pub weight: u32,
    /// Remaining seconds (2147483647 = never).
    pub expires: u32,
    /// `applicationId`.
    pub application_id: Option<Arc<str>>,
    /// The hosting Xsi-Events instance.
    pub host: EventsAppId,
    /// The hosting node's name.
    pub host_node: Arc<str>,
}

/// Why a channel command failed.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ChannelError {
    /// The channel set already has the maximum number of channels.
    #[error("channel set is full ({0} channels)")]
    SetFull(usize),
    /// Unknown channel (or owned by somebody else).
    #[error("no such channel")]
    NotFound,
    /// The hosting instance is not registered.
    #[error("unknown Xsi-Events instance")]
    UnknownEventsApp,
}

/// Why an `EventResponse` was not applied.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum AckError {
    /// No event with that id is waiting for an answer (answered already, timed out, never
    /// sent, or an HTTP-contact event).
    #[error("no event {0} is awaiting a response")]
    UnknownEvent(String),
    /// The event went out on a channel another instance hosts (server affinity): not
    /// applied here.
    #[error("event was sent on channel {channel_id}, hosted by another instance")]
    NotHostedHere {
        /// The channel the event is waiting on.
        channel_id: Arc<str>,
    },
}

/// Result of an applied `EventResponse`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AckOutcome {
    /// 200: done.
    Done,
    /// 400: dropped.
    Dropped,
    /// 404/500: re-sent on another channel (its id), or dropped when none was left.
    Resent(Option<Arc<str>>),
    /// 481: subscription deleted.
    SubscriptionDeleted,
}
