//! Service providers / enterprises and their groups.
//!
//! Extension dialing is scoped by these: an extension is unique within its group, and with
//! a location dialing code (LDC) a user in one group reaches another group of the same
//! enterprise by dialling `<LDC><extension>`.

use std::sync::Arc;

use parking_lot::RwLock;

use crate::ids::{EnterpriseIdx, GroupIdx, UserIdx};
use crate::index::LookupMap;
use crate::tz::TimeZone;

/// A service provider or an enterprise (BroadWorks treats both as the level above groups).
#[derive(Debug)]
pub struct Enterprise {
    /// Slot in the store.
    pub idx: EnterpriseIdx,
    /// Service provider / enterprise id.
    pub id: Arc<str>,
    /// Display name.
    pub name: String,
    /// Enterprise (true) or service provider (false); Xsi shows it as `isEnterprise`.
    pub is_enterprise: bool,
    /// Domain for ids when none is given.
    pub default_domain: Option<String>,
    /// Default time zone for its users.
    pub time_zone: Option<Arc<TimeZone>>,
    /// Its groups, in definition order.
    pub groups: Vec<GroupIdx>,
    /// `<LDC><extension>` → user, for location-code dialing across the enterprise.
    pub(crate) location_codes: LookupMap<Box<str>, UserIdx>,
}

/// A group: the unit users, extensions and most admin rights belong to.
#[derive(Debug)]
pub struct Group {
    /// Slot in the store.
    pub idx: GroupIdx,
    /// Owning service provider / enterprise.
    pub enterprise: EnterpriseIdx,
    /// Group id (unique within the enterprise).
    pub id: Arc<str>,
    /// Owning enterprise id (for messages and Xsi `serviceProvider`).
    pub enterprise_id: Arc<str>,
    /// Display name.
    pub name: String,
    /// Location dialing code, if the enterprise uses location-code dialing.
    pub location_dialing_code: Option<Arc<str>>,
    /// Domain for ids when none is given.
    pub default_domain: Option<String>,
    /// Default time zone for its users.
    pub time_zone: Option<Arc<TimeZone>>,
    /// Group calling line id name.
    pub calling_line_id_name: Option<String>,
    /// Group calling line id number.
    pub calling_line_id_number: Option<crate::ids::E164>,
    /// Extension → user.
    pub(crate) extensions: LookupMap<Box<str>, UserIdx>,
    /// Members in creation order (for directories and listings).
    pub(crate) members: RwLock<Vec<UserIdx>>,
}
