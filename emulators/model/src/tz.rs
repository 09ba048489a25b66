//! Time zones: a user carries an IANA name (sent to Webex by flow-through provisioning)
//! and a display name (Xsi `timeZoneDisplayName`).
//!
//! The lab has no tz database at run time; it embeds the zone names and their current
//! standard offsets (generated from tzdata by `tools/gen_tz.py`), which is enough to
//! validate names and to derive a display name like `(GMT-05:00) America/New_York`.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::tz_data::ZONES;

pub use crate::tz_data::TZDATA_VERSION;

/// A validated IANA time zone plus the name BroadWorks shows for it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TimeZone {
    /// IANA name, e.g. `America/New_York`.
    pub name: String,
    /// Display name, e.g. `(GMT-05:00) America/New_York`.
    pub display_name: String,
}

/// The zone name is not in the embedded IANA list.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{name:?} is not an IANA time zone name{}", hint_suffix(.hint))]
pub struct UnknownTimeZone {
    /// The rejected name.
    pub name: String,
    /// Closest known name, if any is close.
    pub hint: Option<&'static str>,
}

fn hint_suffix(hint: &Option<&'static str>) -> String {
    hint.map(|h| format!(" (did you mean {h:?}?)"))
        .unwrap_or_default()
}

impl TimeZone {
    /// Validates `name` and derives the display name unless one is given.
    pub fn new(name: &str, display_name: Option<&str>) -> Result<Self, UnknownTimeZone> {
        let offset = standard_offset_minutes(name).ok_or_else(|| UnknownTimeZone {
            name: name.to_owned(),
            hint: crate::error::did_you_mean(name, ZONES.iter().map(|z| z.0)),
        })?;
        let display_name = match display_name {
            Some(d) => d.to_owned(),
            None => {
                let sign = if offset < 0 { '-' } else { '+' };
                let a = offset.unsigned_abs();
                format!("(GMT{sign}{:02}:{:02}) {name}", a / 60, a % 60)
            }
        };
        Ok(Self {
            name: name.to_owned(),
            display_name,
        })
    }

    /// UTC, the default when neither the user, group, enterprise nor system names a zone.
    pub fn utc() -> Self {
        Self::new("UTC", None).unwrap_or_else(|_| Self {
            name: "UTC".into(),
            display_name: "(GMT+00:00) UTC".into(),
        })
    }
}

impl fmt::Display for TimeZone {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.name)
    }
}

/// Current standard (non-DST) offset of an IANA zone, in minutes east of UTC.
pub fn standard_offset_minutes(name: &str) -> Option<i16> {
    ZONES
        .binary_search_by(|(n, _)| (*n).cmp(name))
        .ok()
        .map(|i| ZONES[i].1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_is_sorted_for_binary_search() {
        assert!(ZONES.windows(2).all(|w| w[0].0 < w[1].0));
    }

    #[test]
    fn known_zones_and_display_names() {
        let ny = TimeZone::new("America/New_York", None).unwrap();
        assert_eq!(ny.display_name, "(GMT-05:00) America/New_York");
        assert_eq!(
            TimeZone::new("Asia/Kolkata", None).unwrap().display_name,
            "(GMT+05:30) Asia/Kolkata"
        );
        assert_eq!(
            TimeZone::new("Europe/Paris", Some("Paris"))
                .unwrap()
                .display_name,
            "Paris"
        );
        assert_eq!(TimeZone::utc().name, "UTC");
    }

    #[test]
    fn unknown_zone_hints() {
        let err = TimeZone::new("America/New_Yrok", None).unwrap_err();
        assert_eq!(err.hint, Some("America/New_York"));
        assert!(
            err.to_string()
                .contains("did you mean \"America/New_York\"")
        );
        assert!(TimeZone::new("Mars/Olympus", None).is_err());
    }
}
