//! Small value types of the format: durations (`250ms`, `5s`, `2m`, `11d`) and lists that may
//! be written as their only item.

use std::borrow::Cow;
use std::fmt;
use std::time::Duration;

use schemars::{JsonSchema, Schema, SchemaGenerator, json_schema};
use serde::de::{self, Deserializer, Visitor};
use serde::{Deserialize, Serialize, Serializer};

use crate::de::{DURATION, ONE_OR_MANY};

/// A duration written with units: `250ms`, `5s`, `2m`, `1h`, `11d`, or a sum such as `1m30s`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct LabDuration(pub Duration);

const UNITS: &[(&str, u64)] = &[
    ("ms", 1),
    ("s", 1_000),
    ("m", 60_000),
    ("h", 3_600_000),
    ("d", 86_400_000),
];

pub(crate) const DURATION_HINT: &str =
    "write a number with a unit: 250ms, 5s, 2m, 1h, 11d (or a sum like 1m30s)";

impl LabDuration {
    /// The duration.
    pub fn get(self) -> Duration {
        self.0
    }

    /// Parses `250ms`, `5s`, `2m`, `1h`, `11d`, `1m30s`.
    pub fn parse(text: &str) -> Result<Self, String> {
        let t = text.trim();
        if t.is_empty() {
            return Err("empty duration".into());
        }
        let mut total: u64 = 0;
        let mut rest = t;
        while !rest.is_empty() {
            let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
            if digits == 0 {
                return Err(format!("{text:?} is not a duration"));
            }
            let n: u64 = rest[..digits]
                .parse()
                .map_err(|_| format!("{text:?} is too large"))?;
            rest = &rest[digits..];
            let unit_len = rest.bytes().take_while(u8::is_ascii_alphabetic).count();
            let unit = &rest[..unit_len];
            if unit.is_empty() {
                return Err(format!("{text:?} has no unit"));
            }
            let Some((_, ms)) = UNITS.iter().find(|(u, _)| *u == unit) else {
                return Err(format!("unknown unit {unit:?} in {text:?}"));
            };
            total = n
                .checked_mul(*ms)
                .and_then(|v| total.checked_add(v))
                .ok_or_else(|| format!("{text:?} is too large"))?;
            rest = &rest[unit_len..];
        }
        Ok(LabDuration(Duration::from_millis(total)))
    }
}

impl fmt::Display for LabDuration {
    /// The largest unit that divides the duration exactly: `90s` → `90s`, `120000ms` → `2m`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let ms = u64::try_from(self.0.as_millis()).unwrap_or(u64::MAX);
        if ms == 0 {
            return f.write_str("0s");
        }
        for (unit, size) in UNITS.iter().rev() {
            if ms % size == 0 {
                return write!(f, "{}{unit}", ms / size);
            }
        }
        write!(f, "{ms}ms")
    }
}

impl Serialize for LabDuration {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for LabDuration {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = LabDuration;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a duration such as 250ms, 5s, 2m or 11d")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<LabDuration, E> {
                LabDuration::parse(v).map_err(|m| E::custom(format!("{m}\nhint: {DURATION_HINT}")))
            }
            fn visit_newtype_struct<D: Deserializer<'de>>(
                self,
                d: D,
            ) -> Result<LabDuration, D::Error> {
                d.deserialize_str(self)
            }
        }
        // The marker lets the tree deserializer report a bad duration and carry on.
        d.deserialize_newtype_struct(DURATION, V)
    }
}

impl JsonSchema for LabDuration {
    fn schema_name() -> Cow<'static, str> {
        "Duration".into()
    }

    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "type": "string",
            "pattern": "^([0-9]+(ms|s|m|h|d))+$",
            "description": "A duration with units: 250ms, 5s, 2m, 1h, 11d, or a sum such as 1m30s.",
            "examples": ["250ms", "5s", "2m", "11d"]
        })
    }
}

/// A list that may also be written as its only item (`fault: {...}` or `fault: [{...}, …]`).
#[derive(Clone, Debug, PartialEq)]
pub struct OneOrMany<T>(pub Vec<T>);

impl<T> Default for OneOrMany<T> {
    fn default() -> Self {
        OneOrMany(Vec::new())
    }
}

impl<T> OneOrMany<T> {
    /// The items.
    pub fn iter(&self) -> std::slice::Iter<'_, T> {
        self.0.iter()
    }
}

impl<T: Serialize> Serialize for OneOrMany<T> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self.0.as_slice() {
            [one] => one.serialize(s),
            many => many.serialize(s),
        }
    }
}

impl<'de, T: Deserialize<'de>> Deserialize<'de> for OneOrMany<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V<T>(std::marker::PhantomData<T>);
        impl<'de, T: Deserialize<'de>> Visitor<'de> for V<T> {
            type Value = OneOrMany<T>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("one item or a list of items")
            }
            fn visit_newtype_struct<D: Deserializer<'de>>(
                self,
                d: D,
            ) -> Result<Self::Value, D::Error> {
                Vec::<T>::deserialize(d).map(OneOrMany)
            }
            fn visit_seq<A: de::SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
                let mut out = Vec::new();
                while let Some(x) = seq.next_element()? {
                    out.push(x);
                }
                Ok(OneOrMany(out))
            }
        }
        d.deserialize_newtype_struct(ONE_OR_MANY, V(std::marker::PhantomData))
    }
}

impl<T: JsonSchema> JsonSchema for OneOrMany<T> {
    fn schema_name() -> Cow<'static, str> {
        format!("OneOrMany_{}", T::schema_name()).into()
    }

    fn json_schema(g: &mut SchemaGenerator) -> Schema {
        let one = g.subschema_for::<T>();
        json_schema!({
            "anyOf": [one, {"type": "array", "items": one}]
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        let ms = |t: &str| LabDuration::parse(t).map(|d| d.0.as_millis());
        assert_eq!(ms("250ms"), Ok(250));
        assert_eq!(ms("5s"), Ok(5_000));
        assert_eq!(ms("2m"), Ok(120_000));
        assert_eq!(ms("11d"), Ok(11 * 86_400_000));
        assert_eq!(ms("1m30s"), Ok(90_000));
        assert!(ms("5").unwrap_err().contains("no unit"));
        assert!(ms("5y").unwrap_err().contains("unknown unit"));
        assert!(ms("-5s").is_err());
        assert!(ms("99999999999999999999d").is_err());
        assert_eq!(LabDuration::parse("1m30s").unwrap().to_string(), "90s");
        assert_eq!(LabDuration::parse("48h").unwrap().to_string(), "2d");
    }
}
