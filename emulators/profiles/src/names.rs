//! Closed sets of names (features, event packages, …) and the "did you mean" helper shared by
//! every one of them.

use std::fmt;

/// A name that is not in one of this crate's closed sets, with the closest known name.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown {kind} `{name}`{}", hint(*suggestion, expected))]
pub struct UnknownName {
    /// What kind of name it was meant to be ("feature", "platform", …).
    pub kind: &'static str,
    /// The name as written.
    pub name: String,
    /// The closest known name, if one is close enough to be a likely typo.
    pub suggestion: Option<&'static str>,
    /// Every accepted name, when the set is small enough to list in a message.
    pub expected: Option<&'static [&'static str]>,
}

fn hint(suggestion: Option<&'static str>, expected: &Option<&'static [&'static str]>) -> String {
    let mut out = String::new();
    if let Some(s) = suggestion {
        out.push_str(&format!(", did you mean `{s}`?"));
    }
    if let Some(list) = expected {
        out.push_str(if suggestion.is_some() {
            " Expected "
        } else {
            "; expected "
        });
        out.push_str(&quoted_list(list.iter().copied()));
    }
    out
}

/// `a`, `b` or `c`
pub(crate) fn quoted_list<'a>(items: impl Iterator<Item = &'a str>) -> String {
    let items: Vec<&str> = items.collect();
    match items.as_slice() {
        [] => "nothing".to_owned(),
        [one] => format!("`{one}`"),
        [init @ .., last] => {
            let init: Vec<String> = init.iter().map(|s| format!("`{s}`")).collect();
            format!("{} or `{last}`", init.join(", "))
        }
    }
}

/// Sets with at most this many members list them all in an "unknown name" error.
pub(crate) const LIST_ALL_BELOW: usize = 12;

/// The candidate closest to `input`, if it is close enough to be a plausible typo:
/// a small edit distance (case-insensitive, `-`/`_`/space treated alike), or `input` being a
/// distinctive part of the candidate.
pub(crate) fn suggest<'a>(
    input: &str,
    candidates: impl IntoIterator<Item = &'a str>,
) -> Option<&'a str> {
    let norm = |s: &str| -> String {
        s.chars()
            .map(|c| match c {
                '-' | ' ' => '_',
                c => c.to_ascii_lowercase(),
            })
            .collect()
    };
    let wanted = norm(input);
    if wanted.is_empty() {
        return None;
    }
    let mut best: Option<(usize, &'a str)> = None;
    for candidate in candidates {
        let have = norm(candidate);
        let mut distance = levenshtein(&wanted, &have);
        // A distinctive part of a longer name ("extension" for "extension_dialing").
        if wanted.chars().count() >= 4 && have.contains(&wanted) {
            distance = distance.min(1);
        }
        let limit = (wanted.chars().count().max(have.chars().count()) / 3).max(2);
        if distance <= limit && best.is_none_or(|(d, _)| distance < d) {
            best = Some((distance, candidate));
        }
    }
    best.map(|(_, c)| c)
}

fn levenshtein(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    let mut cur = vec![0; b.len() + 1];
    for (i, ca) in a.chars().enumerate() {
        cur[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let cost = usize::from(ca != *cb);
            cur[j + 1] = (prev[j] + cost).min(prev[j + 1] + 1).min(cur[j] + 1);
        }
        std::mem::swap(&mut prev, &mut cur);
    }
    prev[b.len()]
}

/// Writes `items` separated by `sep`.
pub(crate) fn join<T: fmt::Display>(items: impl IntoIterator<Item = T>, sep: &str) -> String {
    let mut out = String::new();
    for (i, item) in items.into_iter().enumerate() {
        if i > 0 {
            out.push_str(sep);
        }
        out.push_str(&item.to_string());
    }
    out
}

/// Packs `items` into lines of at most `width` characters (a longer item gets a line of its
/// own), separated by `sep`.
pub(crate) fn pack<T: AsRef<str>>(
    items: impl IntoIterator<Item = T>,
    sep: &str,
    width: usize,
) -> Vec<String> {
    let mut lines = Vec::new();
    let mut line = String::new();
    for item in items {
        let item = item.as_ref();
        if !line.is_empty() && line.chars().count() + sep.len() + item.chars().count() > width {
            lines.push(std::mem::take(&mut line));
        }
        if !line.is_empty() {
            line.push_str(sep);
        }
        line.push_str(item);
    }
    if !line.is_empty() {
        lines.push(line);
    }
    lines
}

/// Defines a fieldless enum whose variants have fixed text names, with `ALL`, `as_str`,
/// `Display`, `FromStr` (with a "did you mean" hint) and serde as those names.
macro_rules! named_enum {
    (
        $(#[$meta:meta])*
        $vis:vis enum $name:ident : $kind:literal {
            $( $(#[$vmeta:meta])* $variant:ident = $text:literal ),+ $(,)?
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
        $vis enum $name {
            $( $(#[$vmeta])* $variant ),+
        }

        impl $name {
            /// Every value, in declaration order.
            pub const ALL: &'static [$name] = &[$($name::$variant),+];
            /// Every name, in declaration order.
            pub const NAMES: &'static [&'static str] = &[$($text),+];

            /// The name used in profile files, on the wire and in messages.
            pub const fn as_str(self) -> &'static str {
                match self {
                    $($name::$variant => $text),+
                }
            }
        }

        impl ::std::fmt::Display for $name {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                f.pad(self.as_str())
            }
        }

        impl ::std::str::FromStr for $name {
            type Err = $crate::names::UnknownName;

            fn from_str(s: &str) -> Result<Self, Self::Err> {
                match s {
                    $($text => Ok($name::$variant),)+
                    _ => Err($crate::names::UnknownName {
                        kind: $kind,
                        name: s.to_owned(),
                        suggestion: $crate::names::suggest(s, Self::NAMES.iter().copied()),
                        expected: (Self::NAMES.len() < $crate::names::LIST_ALL_BELOW)
                            .then_some(Self::NAMES),
                    }),
                }
            }
        }

        impl ::serde::Serialize for $name {
            fn serialize<S: ::serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(self.as_str())
            }
        }

        impl<'de> ::serde::Deserialize<'de> for $name {
            fn deserialize<D: ::serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                $crate::names::deserialize_from_str(d, $kind)
            }
        }
    };
}
pub(crate) use named_enum;

/// Deserializes any `FromStr` type from a string, turning its error into a serde error (which
/// the TOML parser then places at the right line and column).
pub(crate) fn deserialize_from_str<'de, D, T>(d: D, what: &'static str) -> Result<T, D::Error>
where
    D: serde::Deserializer<'de>,
    T: std::str::FromStr,
    T::Err: fmt::Display,
{
    struct V<T>(&'static str, std::marker::PhantomData<T>);
    impl<T> serde::de::Visitor<'_> for V<T>
    where
        T: std::str::FromStr,
        T::Err: fmt::Display,
    {
        type Value = T;
        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            write!(f, "a {} name (a string)", self.0)
        }
        fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<T, E> {
            v.parse().map_err(E::custom)
        }
    }
    d.deserialize_str(V(what, std::marker::PhantomData))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suggests_close_names_only() {
        let names = [
            "ci_token_validation",
            "dnd_sync",
            "push_v2",
            "extension_dialing",
        ];
        assert_eq!(
            suggest("ci_token_validaton", names),
            Some("ci_token_validation")
        );
        assert_eq!(
            suggest("CI-Token-Validation", names),
            Some("ci_token_validation")
        );
        assert_eq!(
            suggest("dnd", names),
            None,
            "too short to be a distinctive part"
        );
        assert_eq!(suggest("extension", names), Some("extension_dialing"));
        assert_eq!(suggest("pushv2", names), Some("push_v2"));
        assert_eq!(suggest("completely_unrelated", names), None);
        let profiles = ["r22", "r23", "r23-unpatched"];
        assert_eq!(suggest("r23-unpached", profiles), Some("r23-unpatched"));
        assert_eq!(suggest("r23-x", profiles), Some("r23"));
        assert_eq!(suggest("", names), None);
    }

    #[test]
    fn packs_lines() {
        assert_eq!(pack(["aa", "bb", "cc"], " ", 5), ["aa bb", "cc"]);
        assert_eq!(pack(["toolong", "x"], " ", 3), ["toolong", "x"]);
        assert!(pack(Vec::<String>::new(), " ", 3).is_empty());
    }

    #[test]
    fn lists_read_naturally() {
        assert_eq!(quoted_list(["a"].into_iter()), "`a`");
        assert_eq!(quoted_list(["a", "b", "c"].into_iter()), "`a`, `b` or `c`");
    }
}
