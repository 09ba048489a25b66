//! Directory results (`/user/{u}/directories/...`): Enterprise and Group user directories,
//! the common phone lists and the personal phone list.
//!
//! Paged results echo `startIndex`, `numberOfRecords` and `totalAvailableRecords` (§3.5.18);
//! [`Paging::for_page`] computes them from the full result count.

use super::profile::{UserAdditionalDetails, UserDetails};
use super::read::{expect_root, non_empty, number, once, required, unexpected};
use super::{DocError, XsiDocument};
use crate::xml::Element;

/// The paging counters of a directory response.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Paging {
    /// 1-based index of the first returned record.
    pub start_index: u32,
    /// Records in this response.
    pub number_of_records: u32,
    /// Records matching the query in total.
    pub total_available_records: u32,
}

impl Paging {
    /// Counters for a page that starts at `start` (1-based), asks for up to `results`
    /// records, out of `total` matches.
    pub fn for_page(start: u32, results: u32, total: u32) -> Self {
        let start = start.max(1);
        let remaining = total.saturating_sub(start - 1);
        Paging {
            start_index: start,
            number_of_records: remaining.min(results),
            total_available_records: total,
        }
    }

    fn write(&self, el: &mut Element) {
        el.put("startIndex", self.start_index.to_string());
        el.put("numberOfRecords", self.number_of_records.to_string());
        el.put(
            "totalAvailableRecords",
            self.total_available_records.to_string(),
        );
    }
}

/// Reads the paging counters; `Ok(false)` if `c` is not one of them.
fn read_paging(c: &Element, p: &mut [Option<u32>; 3]) -> Result<bool, DocError> {
    const NAMES: [&str; 3] = ["startIndex", "numberOfRecords", "totalAvailableRecords"];
    let Some(i) = NAMES.iter().position(|n| *n == c.name) else {
        return Ok(false);
    };
    once(
        &mut p[i],
        NAMES[i],
        number(c, NAMES[i], "a non-negative integer")?,
    )?;
    Ok(true)
}

fn required_paging(p: [Option<u32>; 3], root: &'static str) -> Result<Paging, DocError> {
    Ok(Paging {
        start_index: required(p[0], root, "startIndex")?,
        number_of_records: required(p[1], root, "numberOfRecords")?,
        total_available_records: required(p[2], root, "totalAvailableRecords")?,
    })
}

/// One `directoryDetails` entry (`UserDetails` + optional `additionalDetails`).
///
/// `extra` holds non-schema elements (the spec's examples show `firstNameUnicode` and
/// `lastNameUnicode`); they are written last, and unknown children are collected there.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DirectoryDetails {
    /// Identity block.
    pub details: UserDetails,
    /// Contact block.
    pub additional_details: Option<UserAdditionalDetails>,
    /// Non-schema elements, written last.
    pub extra: Vec<Element>,
}

impl DirectoryDetails {
    fn to_element(&self) -> Element {
        let mut el = Element::new("directoryDetails");
        self.details.write_fields(&mut el);
        if let Some(a) = &self.additional_details {
            el.push(a.to_element());
        }
        el.children.extend(self.extra.iter().cloned());
        el
    }

    fn read(el: &Element) -> Result<Self, DocError> {
        let mut additional = None;
        let mut extra = Vec::new();
        let details = UserDetails::read(el, "directoryDetails", |c| {
            if c.name == "additionalDetails" {
                once(
                    &mut additional,
                    "additionalDetails",
                    UserAdditionalDetails::read(c)?,
                )
            } else {
                extra.push(c.clone());
                Ok(())
            }
        })?;
        Ok(DirectoryDetails {
            details,
            additional_details: additional,
            extra,
        })
    }
}

/// Enterprise and Group directories share one shape.
fn user_directory_element(
    root: &'static str,
    list: &'static str,
    paging: &Paging,
    entries: &[DirectoryDetails],
) -> Element {
    let mut el = Element::new(root);
    paging.write(&mut el);
    let mut l = Element::new(list);
    l.children = entries.iter().map(DirectoryDetails::to_element).collect();
    el.push(l);
    el
}

fn read_user_directory(
    el: &Element,
    root: &'static str,
    list: &'static str,
) -> Result<(Paging, Vec<DirectoryDetails>), DocError> {
    expect_root(el, root)?;
    let mut paging = [None; 3];
    let mut entries = None;
    for c in &el.children {
        if read_paging(c, &mut paging)? {
            continue;
        }
        if c.name == list {
            let mut v = Vec::with_capacity(c.children.len());
            for d in &c.children {
                if d.name == "directoryDetails" {
                    v.push(DirectoryDetails::read(d)?);
                }
            }
            once(&mut entries, list, v)?;
        }
    }
    Ok((
        required_paging(paging, root)?,
        required(entries, root, list)?,
    ))
}

/// `GET directories/Enterprise` (§3.5.7.7).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct EnterpriseDirectory {
    /// Paging counters.
    pub paging: Paging,
    /// The page of users.
    pub entries: Vec<DirectoryDetails>,
}

impl XsiDocument for EnterpriseDirectory {
    const ROOT: &'static str = "Enterprise";

    fn to_element(&self) -> Element {
        user_directory_element(
            Self::ROOT,
            "enterpriseDirectory",
            &self.paging,
            &self.entries,
        )
    }

    fn from_element(el: &Element) -> Result<Self, DocError> {
        let (paging, entries) = read_user_directory(el, Self::ROOT, "enterpriseDirectory")?;
        Ok(EnterpriseDirectory { paging, entries })
    }
}

/// `GET directories/Group` (§3.5.7.10).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct GroupDirectory {
    /// Paging counters.
    pub paging: Paging,
    /// The page of users.
    pub entries: Vec<DirectoryDetails>,
}

impl XsiDocument for GroupDirectory {
    const ROOT: &'static str = "Group";

    fn to_element(&self) -> Element {
        user_directory_element(Self::ROOT, "groupDirectory", &self.paging, &self.entries)
    }

    fn from_element(el: &Element) -> Result<Self, DocError> {
        let (paging, entries) = read_user_directory(el, Self::ROOT, "groupDirectory")?;
        Ok(GroupDirectory { paging, entries })
    }
}

/// A name/number pair (`PersonalEntry`), used by the personal and common phone lists.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PhoneListEntry {
    /// Name (1–50 characters).
    pub name: String,
    /// Number (up to 23 characters).
    pub number: String,
}

impl PhoneListEntry {
    /// An entry.
    pub fn new(name: impl Into<String>, number: impl Into<String>) -> Self {
        PhoneListEntry {
            name: name.into(),
            number: number.into(),
        }
    }

    fn to_element(&self, name: &'static str) -> Element {
        let mut el = Element::new(name);
        el.put("name", self.name.as_str());
        el.put("number", self.number.as_str());
        el
    }

    fn read(el: &Element, parent: &'static str) -> Result<Self, DocError> {
        let (mut name, mut number) = (None, None);
        for c in &el.children {
            match &*c.name {
                "name" => once(&mut name, "name", non_empty(c, "name")?)?,
                "number" => once(&mut number, "number", non_empty(c, "number")?)?,
                _ => return Err(unexpected(parent, c)),
            }
        }
        Ok(PhoneListEntry {
            name: required(name, parent, "name")?,
            number: required(number, parent, "number")?,
        })
    }
}

/// `directories/Personal` (§3.5.7.13): the GET response and the POST body (which carries
/// only entries, hence the optional counters). Being a request document, it is read
/// strictly.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PersonalDirectory {
    /// Paging counters (responses only).
    pub paging: Option<Paging>,
    /// Entries, sorted by name in responses.
    pub entries: Vec<PhoneListEntry>,
}

impl XsiDocument for PersonalDirectory {
    const ROOT: &'static str = "Personal";

    fn to_element(&self) -> Element {
        let mut el = Element::new(Self::ROOT);
        if let Some(p) = &self.paging {
            p.write(&mut el);
        }
        for e in &self.entries {
            el.push(e.to_element("entry"));
        }
        el
    }

    fn from_element(el: &Element) -> Result<Self, DocError> {
        expect_root(el, Self::ROOT)?;
        let mut paging = [None; 3];
        let mut entries = Vec::new();
        for c in &el.children {
            if read_paging(c, &mut paging)? {
                continue;
            }
            if c.name != "entry" {
                return Err(unexpected(Self::ROOT, c));
            }
            entries.push(PhoneListEntry::read(c, "entry")?);
        }
        let paging = match paging {
            [None, None, None] => None,
            p => Some(required_paging(p, Self::ROOT)?),
        };
        Ok(PersonalDirectory { paging, entries })
    }
}

/// `EnterpriseCommon` and `GroupCommon` share one shape.
macro_rules! common_list {
    ($(#[$doc:meta])* $ty:ident, $root:literal) => {
        $(#[$doc])*
        #[derive(Clone, Debug, Default, PartialEq, Eq)]
        pub struct $ty {
            /// Paging counters.
            pub paging: Paging,
            /// The page of entries.
            pub entries: Vec<PhoneListEntry>,
        }

        impl XsiDocument for $ty {
            const ROOT: &'static str = $root;

            fn to_element(&self) -> Element {
                let mut el = Element::new(Self::ROOT);
                self.paging.write(&mut el);
                for e in &self.entries {
                    el.push(e.to_element("commonPhoneEntry"));
                }
                el
            }

            fn from_element(el: &Element) -> Result<Self, DocError> {
                expect_root(el, Self::ROOT)?;
                let mut paging = [None; 3];
                let mut entries = Vec::new();
                for c in &el.children {
                    if read_paging(c, &mut paging)? {
                        continue;
                    }
                    if c.name == "commonPhoneEntry" {
                        entries.push(PhoneListEntry::read(c, "commonPhoneEntry")?);
                    }
                }
                Ok($ty {
                    paging: required_paging(paging, Self::ROOT)?,
                    entries,
                })
            }
        }
    };
}

common_list!(
    /// `GET directories/EnterpriseCommon` (§3.5.7.8).
    EnterpriseCommonDirectory,
    "EnterpriseCommon"
);

common_list!(
    /// `GET directories/GroupCommon` (§3.5.7.11).
    GroupCommonDirectory,
    "GroupCommon"
);

#[cfg(test)]
mod tests;
