//! Identifiers and validated value types: indices into the store, E.164 numbers, MAC
//! addresses, extensions, login ids.
//!
//! Everything that arrives as text from a lab file, a builder or an Xsi request is parsed
//! once into one of these types, so the rest of the model never re-checks formats.

use std::fmt;

use serde::{Deserialize, Serialize};

macro_rules! index_type {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub struct $name(pub(crate) u32);

        impl $name {
            /// Position in the store's table (stable for the store's lifetime).
            pub fn get(self) -> usize {
                self.0 as usize
            }

            /// The index for slot `i` (e.g. when paging through a table). An index that is
            /// not in the store simply finds nothing.
            pub fn from_index(i: usize) -> Self {
                Self(u32::try_from(i).unwrap_or(u32::MAX))
            }
        }
    };
}

index_type!(
    /// A user's slot in the store. Stable for the store's lifetime (users are never moved).
    UserIdx
);
index_type!(
    /// A group's slot in the store.
    GroupIdx
);
index_type!(
    /// A service provider's or enterprise's slot in the store.
    EnterpriseIdx
);
index_type!(
    /// A device's slot in the store.
    DeviceIdx
);
index_type!(
    /// An administrator's slot in the store.
    AdminIdx
);

/// Why a value was rejected. The `Display` text is what lab-file errors show after the path.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum IdError {
    /// Not `+` followed by 2–15 digits.
    #[error("{0:?} is not E.164 (expected +<digits>)")]
    NotE164(String),
    /// Not 12 hex digits (separators `:`, `-`, `.` allowed).
    #[error("{0:?} is not a MAC address (expected 12 hex digits, e.g. 00:1B:44:11:3A:B7)")]
    BadMac(String),
    /// Extensions are 2–20 digits.
    #[error("{0:?} is not an extension (expected 2-20 digits)")]
    BadExtension(String),
    /// Location dialing codes are 1–10 digits.
    #[error("{0:?} is not a location dialing code (expected 1-10 digits)")]
    BadLdc(String),
    /// User ids and line ports are `user@domain`.
    #[error("{0:?} is not of the form user@domain")]
    BadUserId(String),
    /// Login ids (alternate ids, admin logins) must not contain spaces or `:`.
    #[error("{0:?} is not a valid login id (1-161 characters, no spaces, no ':')")]
    BadLoginId(String),
}

/// A phone number in E.164 form (`+` and 2–15 digits, first digit not 0).
///
/// Stored with the `+`, so `Display` gives the canonical form used as index key.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct E164(Box<str>);

impl E164 {
    /// Parses a strict E.164 number. Spaces, dashes, dots and parentheses are tolerated
    /// (people paste `+1 (555) 010-0100`); everything else must be digits after the `+`.
    pub fn parse(text: &str) -> Result<Self, IdError> {
        let bad = || IdError::NotE164(text.to_owned());
        let rest = text.trim().strip_prefix('+').ok_or_else(bad)?;
        let mut out = String::with_capacity(rest.len() + 1);
        out.push('+');
        for c in rest.chars() {
            match c {
                '0'..='9' => out.push(c),
                ' ' | '-' | '.' | '(' | ')' => {}
                _ => return Err(bad()),
            }
        }
        let digits = out.len() - 1;
        if !(2..=15).contains(&digits) || out.as_bytes()[1] == b'0' {
            return Err(bad());
        }
        Ok(Self(out.into_boxed_str()))
    }

    /// The canonical `+<digits>` text.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The digits without the `+`.
    pub fn digits(&self) -> &str {
        &self.0[1..]
    }

    /// The ITU country calling code (1–3 digits), as Xsi reports it in `countryCode`.
    pub fn country_code(&self) -> &str {
        &self.digits()[..country_code_len(self.digits())]
    }

    /// The number without its country code, as Xsi reports it in `number`.
    pub fn national(&self) -> &str {
        &self.digits()[country_code_len(self.digits())..]
    }
}

/// Length of the country calling code at the start of `digits` (ITU-T E.164 assignments:
/// zones 1 and 7 are one digit; a fixed set of two-digit codes; everything else three).
fn country_code_len(digits: &str) -> usize {
    let b = digits.as_bytes();
    let len = match b.first() {
        Some(b'1' | b'7') => 1,
        Some(&d1) => match (d1, b.get(1).copied().unwrap_or(b'0')) {
            (b'2', b'0' | b'7')
            | (b'3', b'0'..=b'4' | b'6' | b'9')
            | (b'4', b'0' | b'1' | b'3'..=b'9')
            | (b'5', b'1'..=b'8')
            | (b'6', b'0'..=b'6')
            | (b'8', b'1' | b'2' | b'4' | b'6')
            | (b'9', b'0'..=b'5' | b'8') => 2,
            _ => 3,
        },
        None => 0,
    };
    len.min(b.len().saturating_sub(1))
}

impl fmt::Display for E164 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl TryFrom<String> for E164 {
    type Error = IdError;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(&value)
    }
}

impl From<E164> for String {
    fn from(value: E164) -> Self {
        value.0.into()
    }
}

/// A MAC address, normalised to 12 upper-case hex digits without separators
/// (the form BroadWorks stores and DMS matches against certificates).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Mac([u8; 6]);

impl Mac {
    /// Accepts `001B44113AB7`, `00:1b:44:11:3a:b7`, `00-1B-44-11-3A-B7` and `001b.4411.3ab7`.
    pub fn parse(text: &str) -> Result<Self, IdError> {
        let mut nibbles = [0u8; 12];
        let mut n = 0;
        for c in text.trim().chars() {
            if matches!(c, ':' | '-' | '.') {
                continue;
            }
            let v = c
                .to_digit(16)
                .ok_or_else(|| IdError::BadMac(text.to_owned()))?;
            if n == 12 {
                return Err(IdError::BadMac(text.to_owned()));
            }
            nibbles[n] = v as u8;
            n += 1;
        }
        if n != 12 {
            return Err(IdError::BadMac(text.to_owned()));
        }
        let mut bytes = [0u8; 6];
        for (i, b) in bytes.iter_mut().enumerate() {
            *b = (nibbles[2 * i] << 4) | nibbles[2 * i + 1];
        }
        Ok(Self(bytes))
    }

    /// The six octets.
    pub fn octets(&self) -> [u8; 6] {
        self.0
    }
}

impl fmt::Display for Mac {
    /// Twelve upper-case hex digits, no separators.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for b in self.0 {
            write!(f, "{b:02X}")?;
        }
        Ok(())
    }
}

impl Serialize for Mac {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Mac {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Self::parse(&s).map_err(serde::de::Error::custom)
    }
}

/// Checks an extension (2–20 digits, BroadWorks' widest allowed range).
pub fn check_extension(text: &str) -> Result<(), IdError> {
    if (2..=20).contains(&text.len()) && text.bytes().all(|b| b.is_ascii_digit()) {
        Ok(())
    } else {
        Err(IdError::BadExtension(text.to_owned()))
    }
}

/// Checks a location dialing code (1–10 digits).
pub fn check_ldc(text: &str) -> Result<(), IdError> {
    if (1..=10).contains(&text.len()) && text.bytes().all(|b| b.is_ascii_digit()) {
        Ok(())
    } else {
        Err(IdError::BadLdc(text.to_owned()))
    }
}

/// Checks a `user@domain` id (user ids, line ports). The `:` ban matters: Basic auth splits
/// `userId:password` at the first colon, so a colon in a user id could never log in.
pub fn check_user_at_domain(text: &str) -> Result<(), IdError> {
    let bad = || IdError::BadUserId(text.to_owned());
    check_login_id(text).map_err(|_| bad())?;
    let (user, domain) = text.split_once('@').ok_or_else(bad)?;
    let domain_ok = !domain.is_empty()
        && !domain.starts_with(['.', '-'])
        && !domain.ends_with(['.', '-'])
        && domain
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '.' || c == '-');
    if user.is_empty() || !domain_ok {
        return Err(bad());
    }
    Ok(())
}

/// Checks a login id: 1–161 characters (the Xsi `UserId` limit), no whitespace,
/// no control characters, no `:`.
pub fn check_login_id(text: &str) -> Result<(), IdError> {
    let n = text.chars().count();
    if (1..=161).contains(&n)
        && !text
            .chars()
            .any(|c| c.is_whitespace() || c.is_control() || c == ':')
    {
        Ok(())
    } else {
        Err(IdError::BadLoginId(text.to_owned()))
    }
}

/// The index key for a login id: BroadWorks compares user ids and alternate ids without
/// regard to (ASCII) case. Borrowed when already lower-case, so lookups rarely allocate.
pub(crate) fn login_key(text: &str) -> std::borrow::Cow<'_, str> {
    if text.bytes().any(|b| b.is_ascii_uppercase()) {
        std::borrow::Cow::Owned(text.to_ascii_lowercase())
    } else {
        std::borrow::Cow::Borrowed(text)
    }
}

/// The index key for a dialable number: digits only, so `+15550100` and `15550100` meet.
/// `None` when the text is not a plausible number.
pub(crate) fn number_key(text: &str) -> Option<String> {
    let t = text.trim();
    let t = t.strip_prefix("tel:").unwrap_or(t);
    let t = t.strip_prefix('+').unwrap_or(t);
    let mut out = String::with_capacity(t.len());
    for c in t.chars() {
        match c {
            '0'..='9' => out.push(c),
            ' ' | '-' | '.' | '(' | ')' => {}
            _ => return None,
        }
    }
    (!out.is_empty()).then_some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn e164_accepts_and_normalises() {
        let n = E164::parse("+1 (555) 010-0100").unwrap();
        assert_eq!(n.as_str(), "+15550100100");
        assert_eq!(n.country_code(), "1");
        assert_eq!(n.national(), "5550100100");
        assert_eq!(E164::parse("+442079460000").unwrap().country_code(), "44");
        assert_eq!(E164::parse("+3545511234").unwrap().country_code(), "354");
        assert_eq!(E164::parse("+4930123456").unwrap().country_code(), "49");
    }

    #[test]
    fn e164_rejects() {
        for bad in [
            "5550100",
            "+",
            "+0123",
            "+1",
            "+1234567890123456",
            "+1555a",
            "",
            "++1555",
        ] {
            let err = E164::parse(bad).unwrap_err();
            assert_eq!(err, IdError::NotE164(bad.into()), "{bad}");
        }
        assert_eq!(
            E164::parse("5550100").unwrap_err().to_string(),
            r#""5550100" is not E.164 (expected +<digits>)"#
        );
    }

    #[test]
    fn mac_normalises() {
        for ok in [
            "001b44113ab7",
            "00:1B:44:11:3A:B7",
            "00-1b-44-11-3a-b7",
            "001b.4411.3ab7",
        ] {
            assert_eq!(Mac::parse(ok).unwrap().to_string(), "001B44113AB7", "{ok}");
        }
        for bad in ["001b44113ab", "001b44113ab7a", "001b44113abg", "", "::"] {
            assert!(Mac::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn ids() {
        assert!(check_user_at_domain("alice@lab.example").is_ok());
        for bad in [
            "alice",
            "@lab",
            "alice@",
            "a b@lab",
            "a:b@lab",
            "alice@-lab",
            "alice@lab_x",
        ] {
            assert!(check_user_at_domain(bad).is_err(), "{bad}");
        }
        assert!(check_extension("100").is_ok());
        assert!(check_extension("1").is_err());
        assert!(check_extension("10a").is_err());
        assert!(check_ldc("12").is_ok());
        assert!(check_ldc("").is_err());
        assert_eq!(login_key("Alice@Lab"), "alice@lab");
        assert_eq!(number_key("tel:+1 555-0100").as_deref(), Some("15550100"));
        assert_eq!(number_key("abc"), None);
    }
}
