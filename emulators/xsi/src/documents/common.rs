//! Types shared by several documents (from `XSIDataTypes.xsd`).

use super::DocError;
use super::read::{boolean, non_empty, number, once, required, string, unexpected};
use crate::xml::Element;

/// The value of an element the schema declares `nillable="true"` and `minOccurs="0"`.
///
/// Three states, because a partial update (PUT) distinguishes "leave it" from "clear it":
/// `Absent` (element omitted: unchanged), `Nil` (`xsi:nil="true"`: clear) and `Value`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum Nillable<T> {
    /// Element not present.
    #[default]
    Absent,
    /// Element present with `xsi:nil="true"`.
    Nil,
    /// Element present with a value.
    Value(T),
}

impl<T> Nillable<T> {
    /// The value, if there is one.
    pub fn value(&self) -> Option<&T> {
        match self {
            Nillable::Value(v) => Some(v),
            _ => None,
        }
    }

    /// Whether the element was omitted.
    pub fn is_absent(&self) -> bool {
        matches!(self, Nillable::Absent)
    }

    /// Applies a partial update to a stored optional value: `Absent` keeps it, `Nil`
    /// clears it, `Value` replaces it.
    pub fn apply_to(self, stored: &mut Option<T>) {
        match self {
            Nillable::Absent => {}
            Nillable::Nil => *stored = None,
            Nillable::Value(v) => *stored = Some(v),
        }
    }
}

impl<T> From<Option<T>> for Nillable<T> {
    /// For responses: a stored value, or nothing (the element is omitted, not nil).
    fn from(value: Option<T>) -> Self {
        value.map_or(Nillable::Absent, Nillable::Value)
    }
}

/// XSD `Address`: a phone number or URI with an optional `countryCode` attribute.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Address {
    /// The number or URI, e.g. `+15551230000` or `sip:bob@example.com`.
    pub value: String,
    /// `countryCode` attribute (a positive integer).
    pub country_code: Option<u32>,
}

impl Address {
    /// An address without country code.
    pub fn new(value: impl Into<String>) -> Self {
        Address {
            value: value.into(),
            country_code: None,
        }
    }

    /// Builder: sets the country code.
    pub fn with_country_code(mut self, cc: u32) -> Self {
        self.country_code = Some(cc);
        self
    }

    pub(crate) fn to_element(&self, name: &'static str) -> Element {
        let mut el = Element::leaf(name, self.value.as_str());
        if let Some(cc) = self.country_code {
            el.set_attr("countryCode", cc.to_string());
        }
        el
    }

    pub(crate) fn read(c: &Element, name: &'static str) -> Result<Self, DocError> {
        let value = non_empty(c, name)?;
        let country_code = match c.attr("countryCode") {
            None => None,
            Some(cc) => Some(
                cc.trim()
                    .parse::<u32>()
                    .ok()
                    .filter(|n| *n > 0)
                    .ok_or_else(|| super::read::invalid(name, cc, "a country code"))?,
            ),
        };
        Ok(Address {
            value,
            country_code,
        })
    }
}

impl From<&str> for Address {
    fn from(value: &str) -> Self {
        Address::new(value)
    }
}

/// XSD `CriteriaActivation`: turns one named criterion of a service on or off.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CriteriaActivation {
    /// Criterion name.
    pub criteria_name: String,
    /// Whether it is active.
    pub active: Option<bool>,
    /// Relative URI of the criterion resource.
    pub uri: Option<String>,
}

impl CriteriaActivation {
    pub(crate) fn to_element(&self, name: &'static str) -> Element {
        let mut el = Element::new(name);
        el.put("criteriaName", self.criteria_name.as_str());
        el.put_bool("active", self.active);
        el.put_opt("uri", self.uri.as_ref());
        el
    }

    pub(crate) fn read(el: &Element) -> Result<Self, DocError> {
        const P: &str = "criteriaActivation";
        let (mut name, mut active, mut uri) = (None, None, None);
        for c in &el.children {
            match &*c.name {
                "criteriaName" => once(&mut name, "criteriaName", non_empty(c, "criteriaName")?)?,
                "active" => once(&mut active, "active", boolean(c, "active")?)?,
                "uri" => once(&mut uri, "uri", string(c, "uri")?)?,
                _ => return Err(unexpected(P, c)),
            }
        }
        Ok(CriteriaActivation {
            criteria_name: required(name, P, "criteriaName")?,
            active,
            uri,
        })
    }
}

/// Reads an optional positive integer attribute-free leaf (`CountryCode`, `PositiveInt`).
pub(crate) fn positive(c: &Element, name: &'static str) -> Result<u32, DocError> {
    let n: u32 = number(c, name, "a positive integer")?;
    if n == 0 {
        return Err(super::read::invalid(name, "0", "a positive integer"));
    }
    Ok(n)
}
