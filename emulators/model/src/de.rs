//! The lab-file dialect of the positioned YAML deserializer of `bwlab-yaml`.
//!
//! Derived `Deserialize` impls (users, devices, service settings…) run on
//! [`bwlab_yaml::de::NodeDe`], which turns every failure into an error that knows its line,
//! column and field path, and keeps going where it safely can, so one load reports many
//! problems (see that module). This dialect words the problems the lab-file way
//! (`unknown field (did you mean "count"?)`, hints inline), reads `0x1f` as an integer,
//! keeps every error (repeats are folded by the loader), reads enums leniently (an unknown
//! name is reported and replaced by the first variant, so the rest of the item is still
//! checked) and checks a user's `services` names itself.

pub(crate) use bwlab_yaml::de::{Ctx, Found, NodeDe, PathLink, Step};
use bwlab_yaml::de::{Dialect, NameList, Problem, Wording};

use crate::error::{ErrorKind, hint};
use crate::services::{SERVICE_LIST_MARKER, ServiceKind};

/// The lab-file [`Dialect`].
pub(crate) struct LabDialect;

/// A decoding context with the lab-file dialect.
pub(crate) fn ctx() -> Ctx {
    Ctx::new(&LabDialect)
}

fn one_of(expected: &[&str]) -> String {
    let list: Vec<String> = expected.iter().map(|e| format!("{e:?}")).collect();
    list.join(", ")
}

impl Dialect for LabDialect {
    fn word(&self, p: &Problem<'_>) -> Wording {
        use bwlab_yaml::ErrorKind as K;
        let (kind, message) = match p {
            Problem::UnknownKey { key, expected } => {
                let mut message = format!("unknown field{}", hint(key, expected.iter().copied()));
                if message == "unknown field" {
                    message.push_str(&format!(" (expected one of {})", one_of(expected)));
                }
                (K::UnknownField, message)
            }
            Problem::UnknownValue { value, expected } => (
                K::Invalid,
                format!(
                    "unknown value {value:?}{} (expected one of {})",
                    hint(value, expected.iter().copied()),
                    one_of(expected)
                ),
            ),
            Problem::MissingKey { .. } => (K::MissingField, "missing (required field)".into()),
            Problem::NotABool { found } => (
                K::WrongType,
                format!(
                    "expected true or false, found {found:?} (YAML 1.2 has no yes/no booleans)"
                ),
            ),
            Problem::NullText => (
                K::WrongType,
                "expected text, found null (quote it: \"\" for empty text)".into(),
            ),
            Problem::NotAVariant { found, .. } => {
                (K::WrongType, format!("expected a name, found {found}"))
            }
            Problem::UnknownName { name, .. } => (
                K::UnknownField,
                format!(
                    "unknown service {name:?}{}",
                    hint(name, ServiceKind::YAML_NAMES.iter().copied())
                ),
            ),
        };
        Wording::new(kind, message, None)
    }

    fn hex_integers(&self) -> bool {
        true
    }

    fn one_error_per_path(&self) -> bool {
        false
    }

    fn lenient_enums(&self) -> bool {
        true
    }

    fn name_list(&self, name: &str) -> Option<NameList> {
        (name == SERVICE_LIST_MARKER).then_some(NameList {
            known: |n| ServiceKind::from_name(n).is_some(),
        })
    }
}

/// The lab error kind of a decoding problem.
pub(crate) fn kind_of(k: bwlab_yaml::ErrorKind) -> ErrorKind {
    use bwlab_yaml::ErrorKind as K;
    match k {
        K::UnknownField => ErrorKind::UnknownField,
        K::MissingField => ErrorKind::MissingField,
        K::WrongType => ErrorKind::WrongType,
        K::Invalid => ErrorKind::Invalid,
        K::Duplicate => ErrorKind::Duplicate,
    }
}

/// The decoding kind of a lab error kind (for problems the loader reports itself).
pub(crate) fn yaml_kind(k: ErrorKind) -> bwlab_yaml::ErrorKind {
    use bwlab_yaml::ErrorKind as K;
    match k {
        ErrorKind::UnknownField => K::UnknownField,
        ErrorKind::MissingField => K::MissingField,
        ErrorKind::WrongType => K::WrongType,
        ErrorKind::Duplicate => K::Duplicate,
        ErrorKind::Syntax | ErrorKind::Invalid | ErrorKind::UnknownReference => K::Invalid,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bwlab_yaml::tree::parse;
    use serde::Deserialize;

    #[derive(Debug, Deserialize, PartialEq)]
    #[serde(rename_all = "camelCase")]
    struct T {
        name: String,
        #[serde(default)]
        count: u8,
        #[serde(default)]
        on: bool,
        #[serde(default)]
        list: Vec<String>,
    }

    fn de(src: &str) -> (Option<T>, Vec<String>) {
        let tree = parse(src).unwrap();
        let ctx = ctx();
        let root = PathLink::root(Step::Key("t"));
        let r = T::deserialize(NodeDe::new(&tree, &root, &ctx)).ok();
        let errs = ctx
            .errors
            .borrow()
            .iter()
            .map(|f| format!("{}:{}: {}: {}", f.line, f.col, f.path, f.message))
            .collect();
        (r, errs)
    }

    /// The lab-file wording and rules (the decoding itself is tested in `bwlab-yaml`).
    #[test]
    fn lab_wording() {
        let cases: &[(&str, &[&str])] = &[
            ("name: 0100\ncount: 7\non: true\nlist: x\n", &[]),
            (
                "name: a\ncuont: 1\ncount: lots\non: yes\n",
                &[
                    "2:1: t.cuont: unknown field (did you mean \"count\"?)",
                    "3:8: t.count: expected a whole number (0 to 255), found \"lots\"",
                    "4:5: t.on: expected true or false, found \"yes\" (YAML 1.2 has no yes/no booleans)",
                ],
            ),
            ("count: 1\n", &["1:1: t.name: missing (required field)"]),
            ("name: [a]\n", &["1:7: t.name: expected text, found a list"]),
            ("- 1\n", &["1:1: t: expected a mapping, found a list"]),
            (
                "name: x\ncount: 300\n",
                &["2:8: t.count: expected a whole number (0 to 255), found \"300\""],
            ),
        ];
        for (src, want) in cases {
            let (t, e) = de(src);
            assert_eq!(&e, want, "{src}");
            assert_eq!(
                t.is_some(),
                !src.starts_with("count") && !src.starts_with('-')
            );
        }
    }
}
