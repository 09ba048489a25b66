//! A serde `Deserializer` over the positioned YAML tree ([`crate::tree`]).
//!
//! Derived `Deserialize` impls run on top of it, every failure becomes an error that knows
//! its line, column and field path, and decoding carries on where it safely can, so one load
//! reports many problems:
//! - an unknown key of a struct is reported at the key, with a "did you mean" hint, and
//!   skipped;
//! - a malformed scalar (`active: yes`, `rate: fast`) is reported and replaced by a neutral
//!   value, and its path is *poisoned* so later checks stay quiet about it;
//! - an unrecoverable error (a missing required field, a mapping where text belongs) aborts
//!   the enclosing item only: loaders decode each top-level item on their own.
//!
//! How problems are worded, and a few rules that differ between file formats, come from the
//! [`Dialect`] of the [`Ctx`]: the lab-data files of `bwlab-model` and the scenario files
//! of `bwlab-scenario` share this deserializer with their own dialects.
//!
//! Markers extend plain serde: [`STR_OR_STRUCT`] lets a struct also be written as one
//! string (`topology: dual-site`), [`ONE_OR_MANY`] lets a list also be written as its only
//! item (`fault: {...}`), [`Dialect::name_list`] checks a list (or mapping) of names
//! itself, reporting and dropping unknown ones, and [`Dialect::scalar_check`] checks a
//! newtype scalar (durations), reporting a malformed one and reading a fallback.

use std::cell::RefCell;
use std::fmt;

use serde::de::{self, DeserializeSeed, IntoDeserializer, Visitor};

use crate::tree::{Kind, Node};

/// Struct name that lets a struct also be written as one string: a scalar node is handed to
/// the visitor's `visit_str`.
pub const STR_OR_STRUCT: &str = "$bwlab::StrOrStruct";
/// Newtype name that lets a list also be written as its only item.
pub const ONE_OR_MANY: &str = "$bwlab::OneOrMany";

/// Splits a message of the form `"text\nhint: help"`: how `Deserialize` impls attach a hint
/// to `de::Error::custom`.
pub fn split_hint(message: &str) -> (String, Option<String>) {
    match message.split_once("\nhint: ") {
        Some((m, h)) => (m.to_string(), Some(h.to_string())),
        None => (message.to_string(), None),
    }
}

/// `` `a`, `b`, `c` ``
pub fn one_of(expected: &[&str]) -> String {
    let list: Vec<String> = expected.iter().map(|e| format!("`{e}`")).collect();
    list.join(", ")
}

/// "did you mean `x`?" when a candidate is close ([`did_you_mean`]), otherwise the full
/// list.
pub fn hint_for(word: &str, candidates: &[&str]) -> Option<String> {
    match did_you_mean(word, candidates.iter().copied()) {
        Some(h) => Some(format!("did you mean `{h}`?")),
        None if candidates.is_empty() => None,
        None => Some(format!("expected one of {}", one_of(candidates))),
    }
}

/// The candidate closest to `word`, if it is close enough to be a likely typo: at most a
/// third of the word's length in edits (at least one), where a transposition counts as one
/// edit and case and `-`/`_` differences are free.
pub fn did_you_mean<'a>(
    word: &str,
    candidates: impl IntoIterator<Item = &'a str>,
) -> Option<&'a str> {
    let norm = |s: &str| s.to_ascii_lowercase().replace('-', "_");
    let word_n = norm(word);
    let limit = (word.chars().count() / 3).max(1);
    let mut best: Option<(usize, &'a str)> = None;
    for c in candidates {
        let d = strsim::osa_distance(&word_n, &norm(c));
        if d <= limit && best.is_none_or(|(bd, _)| d < bd) {
            best = Some((d, c));
        }
    }
    best.map(|(_, c)| c)
}

/// What kind of problem a [`Found`] is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ErrorKind {
    /// A key the format doesn't know (or an unknown name in a name list).
    UnknownField,
    /// A required key is absent.
    MissingField,
    /// A value of the wrong shape or type.
    WrongType,
    /// A value of the right type that is not acceptable.
    Invalid,
    /// Two things share a name or id that must be unique (reported by loaders).
    Duplicate,
}

/// A problem whose wording belongs to the file format: see [`Dialect::word`].
#[derive(Clone, Debug)]
pub enum Problem<'p> {
    /// A key of a struct that is not one of `expected`.
    UnknownKey {
        key: &'p str,
        expected: &'p [&'p str],
    },
    /// An enum value that is not one of `expected`.
    UnknownValue {
        value: &'p str,
        expected: &'p [&'p str],
    },
    /// A required key is absent.
    MissingKey { key: &'p str },
    /// `yes`, `on`… where `true` or `false` belongs.
    NotABool { found: &'p str },
    /// A null where text belongs.
    NullText,
    /// Something else than a variant name or `{name: content}` where an enum belongs.
    NotAVariant {
        expected: &'p [&'p str],
        found: String,
    },
    /// A name of a [`Dialect::name_list`] (the list's struct name is `list`) that is not in
    /// `expected`.
    UnknownName {
        list: &'p str,
        name: &'p str,
        expected: &'p [&'p str],
    },
}

/// How a [`Problem`] reads.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Wording {
    pub kind: ErrorKind,
    pub message: String,
    pub hint: Option<String>,
}

impl Wording {
    pub fn new(kind: ErrorKind, message: impl Into<String>, hint: Option<String>) -> Self {
        Self {
            kind,
            message: message.into(),
            hint,
        }
    }
}

/// A newtype scalar the format checks itself (see [`Dialect::scalar_check`]).
#[derive(Clone, Copy, Debug)]
pub struct ScalarCheck {
    /// `Err(message)` when the text is malformed.
    pub check: fn(&str) -> Result<(), String>,
    /// What the value is, for "expected …, found a list" (`a duration`).
    pub expected: &'static str,
    /// The hint shown with every problem.
    pub hint: &'static str,
    /// What a malformed value is read as, so decoding carries on (`0s`).
    pub fallback: &'static str,
}

/// A list of names the format checks itself (see [`Dialect::name_list`]).
#[derive(Clone, Copy, Debug)]
pub struct NameList {
    /// Whether a name is known (it may accept more spellings than the struct's fields).
    pub known: fn(&str) -> bool,
}

/// The wording and the format-specific rules of one file format.
pub trait Dialect: Sync {
    /// How a problem reads. The default wording is the scenario files': `` unknown key `x` ``
    /// with a separate hint.
    fn word(&self, p: &Problem<'_>) -> Wording {
        plain_wording(p)
    }

    /// Whether untyped reads take `0x1f` as an integer.
    fn hex_integers(&self) -> bool {
        false
    }

    /// Whether a second error at exactly the same path is dropped (as a consequence of the
    /// first).
    fn one_error_per_path(&self) -> bool {
        true
    }

    /// How enums are read. `false` (strict): an unknown name aborts the item, a
    /// `{variant: content}` mapping must name a known variant and have one key, a unit
    /// variant written as `{name: content}` is an error, and the content's path includes
    /// the variant name. `true` (lenient): an unknown plain name is reported and read as the
    /// first variant so the rest of the item is still checked, and content keeps the
    /// enum's own path.
    fn lenient_enums(&self) -> bool {
        false
    }

    /// A struct named `name` that is a list of names checked here, if it is one.
    fn name_list(&self, _name: &str) -> Option<NameList> {
        None
    }

    /// A newtype struct named `name` holding one scalar checked here, if it is one.
    fn scalar_check(&self, _name: &str) -> Option<ScalarCheck> {
        None
    }
}

/// The default wording ([`Dialect::word`]).
pub fn plain_wording(p: &Problem<'_>) -> Wording {
    use ErrorKind::*;
    match p {
        Problem::UnknownKey { key, expected } => Wording::new(
            UnknownField,
            format!("unknown key `{key}`"),
            hint_for(key, expected),
        ),
        Problem::UnknownValue { value, expected } => Wording::new(
            Invalid,
            format!("unknown value `{value}`"),
            hint_for(value, expected),
        ),
        Problem::MissingKey { key } => {
            Wording::new(MissingField, format!("missing required key `{key}`"), None)
        }
        Problem::NotABool { found } => Wording::new(
            WrongType,
            format!("expected true or false, found {found:?}"),
            Some("YAML 1.2 has no yes/no booleans: write true or false".into()),
        ),
        Problem::NullText => Wording::new(
            WrongType,
            "expected text, found null",
            Some("quote it: \"\" for empty text".into()),
        ),
        Problem::NotAVariant { expected, found } => Wording::new(
            WrongType,
            format!("expected one of {}, found {found}", one_of(expected)),
            None,
        ),
        Problem::UnknownName { name, expected, .. } => Wording::new(
            UnknownField,
            format!("unknown name `{name}`"),
            hint_for(name, expected),
        ),
    }
}

/// The default [`Dialect`]: the default wording and rules.
#[derive(Clone, Copy, Debug, Default)]
pub struct Plain;

impl Dialect for Plain {}

/// One step of a [`PathLink`] chain.
#[derive(Clone, Copy, Debug)]
pub enum Step<'a> {
    Key(&'a str),
    Index(usize),
}

/// A field path as a chain of stack frames: free to extend, rendered only on error.
#[derive(Clone, Copy, Debug)]
pub struct PathLink<'a> {
    pub parent: Option<&'a PathLink<'a>>,
    pub step: Step<'a>,
}

impl<'a> PathLink<'a> {
    pub fn root(step: Step<'a>) -> Self {
        Self { parent: None, step }
    }

    pub fn child(&'a self, step: Step<'a>) -> PathLink<'a> {
        PathLink {
            parent: Some(self),
            step,
        }
    }

    pub fn render(&self) -> String {
        let mut steps = Vec::new();
        let mut cur = Some(self);
        while let Some(l) = cur {
            steps.push(l.step);
            cur = l.parent;
        }
        let mut out = String::new();
        for s in steps.iter().rev() {
            match s {
                Step::Key(k) if out.is_empty() => out.push_str(k),
                Step::Key(k) => {
                    out.push('.');
                    out.push_str(k);
                }
                Step::Index(i) => out.push_str(&format!("[{i}]")),
            }
        }
        out
    }
}

/// An error found while decoding, already placed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Found {
    pub line: u32,
    pub col: u32,
    pub path: String,
    pub kind: ErrorKind,
    pub message: String,
    pub hint: Option<String>,
}

/// Collects errors and poisoned paths across one load.
pub struct Ctx {
    pub errors: RefCell<Vec<Found>>,
    pub poisoned: RefCell<Vec<String>>,
    pub dialect: &'static dyn Dialect,
}

impl fmt::Debug for Ctx {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Ctx")
            .field("errors", &self.errors)
            .field("poisoned", &self.poisoned)
            .finish_non_exhaustive()
    }
}

impl Default for Ctx {
    fn default() -> Self {
        Self::new(&Plain)
    }
}

impl Ctx {
    pub fn new(dialect: &'static dyn Dialect) -> Self {
        Self {
            errors: RefCell::default(),
            poisoned: RefCell::default(),
            dialect,
        }
    }

    /// Records an error (and poisons its path). With [`Dialect::one_error_per_path`], a
    /// second error at exactly the same path is a consequence of the first and is dropped.
    pub fn report(&self, node: &Node<'_>, path: String, w: Wording) {
        let mut errors = self.errors.borrow_mut();
        if self.dialect.one_error_per_path() && errors.iter().any(|f| f.path == path) {
            return;
        }
        self.poisoned.borrow_mut().push(path.clone());
        errors.push(Found {
            line: node.line,
            col: node.col,
            path,
            kind: w.kind,
            message: w.message,
            hint: w.hint,
        });
    }

    /// Records `p`, worded by the dialect.
    pub fn report_problem(&self, node: &Node<'_>, path: String, p: &Problem<'_>) {
        self.report(node, path, self.dialect.word(p));
    }

    /// Whether `path` is at or below a field that already has an error.
    pub fn is_poisoned(&self, path: &str) -> bool {
        self.poisoned.borrow().iter().any(|p| {
            path.starts_with(p.as_str())
                && matches!(path.as_bytes().get(p.len()), None | Some(b'.' | b'['))
        })
    }
}

/// What a [`DeError`] says: worded already, or a [`Problem`] the dialect words when the
/// error is recorded.
#[derive(Debug)]
enum What {
    Worded(Wording),
    UnknownKey(String, &'static [&'static str]),
    UnknownValue(String, &'static [&'static str]),
    MissingKey(&'static str),
}

/// Error type of [`NodeDe`]. `recorded` marks errors already in [`Ctx`].
#[derive(Debug)]
pub struct DeError {
    what: What,
    /// For `missing_field`: the absent field, appended to the path.
    field: Option<&'static str>,
    recorded: bool,
}

impl DeError {
    fn new(kind: ErrorKind, message: String, hint: Option<String>) -> Self {
        Self::of(What::Worded(Wording::new(kind, message, hint)))
    }

    fn of(what: What) -> Self {
        Self {
            what,
            field: None,
            recorded: false,
        }
    }

    fn recorded(w: Wording) -> Self {
        Self {
            what: What::Worded(w),
            field: None,
            recorded: true,
        }
    }

    fn wording(&self, dialect: &dyn Dialect) -> Wording {
        match &self.what {
            What::Worded(w) => w.clone(),
            What::UnknownKey(key, expected) => dialect.word(&Problem::UnknownKey { key, expected }),
            What::UnknownValue(value, expected) => {
                dialect.word(&Problem::UnknownValue { value, expected })
            }
            What::MissingKey(key) => dialect.word(&Problem::MissingKey { key }),
        }
    }
}

impl fmt::Display for DeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.what {
            What::Worded(w) => f.write_str(&w.message),
            What::UnknownKey(k, _) => write!(f, "unknown key `{k}`"),
            What::UnknownValue(v, _) => write!(f, "unknown value `{v}`"),
            What::MissingKey(k) => write!(f, "missing required key `{k}`"),
        }
    }
}

impl std::error::Error for DeError {}

impl de::Error for DeError {
    fn custom<T: fmt::Display>(msg: T) -> Self {
        let (message, hint) = split_hint(&msg.to_string());
        Self::new(ErrorKind::Invalid, message, hint)
    }

    fn invalid_type(unexp: de::Unexpected<'_>, exp: &dyn de::Expected) -> Self {
        Self::new(
            ErrorKind::WrongType,
            format!("expected {exp}, found {unexp}"),
            None,
        )
    }

    fn invalid_value(unexp: de::Unexpected<'_>, exp: &dyn de::Expected) -> Self {
        Self::new(
            ErrorKind::Invalid,
            format!("{unexp} is not valid (expected {exp})"),
            None,
        )
    }

    fn unknown_variant(variant: &str, expected: &'static [&'static str]) -> Self {
        Self::of(What::UnknownValue(variant.to_owned(), expected))
    }

    fn unknown_field(field: &str, expected: &'static [&'static str]) -> Self {
        Self::of(What::UnknownKey(field.to_owned(), expected))
    }

    fn missing_field(field: &'static str) -> Self {
        Self {
            what: What::MissingKey(field),
            field: Some(field),
            recorded: false,
        }
    }
}

/// Deserializes one node. See the module docs for the recovery rules.
#[derive(Clone, Copy)]
pub struct NodeDe<'a, 's> {
    pub node: &'a Node<'s>,
    pub path: &'a PathLink<'a>,
    pub ctx: &'a Ctx,
}

impl<'a, 's> NodeDe<'a, 's> {
    pub fn new(node: &'a Node<'s>, path: &'a PathLink<'a>, ctx: &'a Ctx) -> Self {
        Self { node, path, ctx }
    }

    /// Records an unrecorded error at this node (plus the missing field, if any).
    fn finish<T>(&self, r: Result<T, DeError>) -> Result<T, DeError> {
        r.map_err(|mut e| {
            if !e.recorded {
                let mut path = self.path.render();
                if let Some(f) = e.field {
                    path.push('.');
                    path.push_str(f);
                }
                let w = e.wording(self.ctx.dialect);
                self.ctx.report(self.node, path, w.clone());
                e.what = What::Worded(w);
                e.recorded = true;
            }
            e
        })
    }

    /// Records a recoverable problem at this node; decoding continues.
    fn recover(&self, kind: ErrorKind, message: String, hint: Option<String>) {
        self.ctx.report(
            self.node,
            self.path.render(),
            Wording::new(kind, message, hint),
        );
    }

    /// Records a recoverable problem worded by the dialect.
    fn recover_problem(&self, p: &Problem<'_>) -> Wording {
        let w = self.ctx.dialect.word(p);
        self.ctx.report(self.node, self.path.render(), w.clone());
        w
    }

    /// Records an unrecoverable problem at this node.
    fn fail(&self, kind: ErrorKind, message: String) -> DeError {
        let w = Wording::new(kind, message, None);
        self.ctx.report(self.node, self.path.render(), w.clone());
        DeError::recorded(w)
    }

    /// Records an unrecoverable problem worded by the dialect.
    fn fail_problem(&self, p: &Problem<'_>) -> DeError {
        DeError::recorded(self.recover_problem(p))
    }

    /// A name list: a list of names or a mapping name → settings. Unknown names are
    /// reported (with a hint) and left out, so the rest of the item is still checked.
    fn name_list<'de, V: Visitor<'de>>(
        self,
        list: &'static str,
        names: &'static [&'static str],
        nl: NameList,
        v: V,
    ) -> Result<V::Value, DeError> {
        let known = |n: &Node<'_>| n.text().is_some_and(nl.known);
        let report_unknown = |n: &Node<'_>, path: String| {
            let name = n.text().unwrap_or("");
            self.ctx.report_problem(
                n,
                path,
                &Problem::UnknownName {
                    list,
                    name,
                    expected: names,
                },
            );
        };
        let r = match &self.node.kind {
            Kind::Map(entries) => {
                let mut keep = Vec::with_capacity(entries.len());
                for (k, val) in entries {
                    if known(k) {
                        keep.push((k.clone(), val.clone()));
                    } else {
                        report_unknown(
                            k,
                            self.path.child(Step::Key(k.text().unwrap_or(""))).render(),
                        );
                    }
                }
                v.visit_map(MapDe::new(&keep, self.path, self.ctx, None))
            }
            Kind::Seq(items) => {
                let mut keep = Vec::with_capacity(items.len());
                for (i, n) in items.iter().enumerate() {
                    if known(n) {
                        keep.push(n.clone());
                    } else {
                        report_unknown(n, self.path.child(Step::Index(i)).render());
                    }
                }
                v.visit_seq(SeqDe::new(&keep, self.path, self.ctx))
            }
            Kind::Scalar(s) if s.is_null() => v.visit_seq(SeqDe::new(&[], self.path, self.ctx)),
            Kind::Scalar(_) if known(self.node) => v.visit_seq(SeqDe::new(
                std::slice::from_ref(self.node),
                self.path,
                self.ctx,
            )),
            Kind::Scalar(_) => {
                report_unknown(self.node, self.path.render());
                v.visit_seq(SeqDe::new(&[], self.path, self.ctx))
            }
        };
        self.finish(r)
    }

    fn scalar_text(&self) -> Option<&'a str> {
        self.node.as_scalar().map(|s| &*s.text)
    }

    fn parse_number<T: std::str::FromStr>(&self, what: &str) -> Option<T> {
        let parsed = self
            .node
            .as_scalar()
            .filter(|s| !s.is_null())
            .and_then(|s| s.text.trim().parse().ok());
        if parsed.is_none() {
            self.recover(
                ErrorKind::WrongType,
                format!("expected {what}, found {}", self.node.describe()),
                None,
            );
        }
        parsed
    }
}

macro_rules! number {
    ($method:ident, $visit:ident, $ty:ty, $what:literal) => {
        fn $method<V: Visitor<'de>>(self, v: V) -> Result<V::Value, DeError> {
            let n: $ty = self.parse_number($what).unwrap_or_default();
            self.finish(v.$visit(n))
        }
    };
}

/// YAML 1.2 core-schema resolution of a plain scalar, for untyped (`deserialize_any`) reads.
enum Resolved<'t> {
    Null,
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(&'t str),
}

fn resolve(text: &str, hex: bool) -> Resolved<'_> {
    match text {
        "" | "~" | "null" | "Null" | "NULL" => return Resolved::Null,
        "true" | "True" | "TRUE" => return Resolved::Bool(true),
        "false" | "False" | "FALSE" => return Resolved::Bool(false),
        _ => {}
    }
    if let Ok(i) = text.parse::<i64>() {
        return Resolved::Int(i);
    }
    if hex
        && let Some(h) = text.strip_prefix("0x")
        && let Ok(i) = i64::from_str_radix(h, 16)
    {
        return Resolved::Int(i);
    }
    if text.bytes().any(|b| b.is_ascii_digit())
        && text
            .bytes()
            .all(|b| b.is_ascii_digit() || matches!(b, b'.' | b'e' | b'E' | b'+' | b'-'))
        && let Ok(f) = text.parse::<f64>()
    {
        return Resolved::Float(f);
    }
    Resolved::Str(text)
}

impl<'de> de::Deserializer<'de> for NodeDe<'_, '_> {
    type Error = DeError;

    fn deserialize_any<V: Visitor<'de>>(self, v: V) -> Result<V::Value, DeError> {
        let r = match &self.node.kind {
            Kind::Scalar(s) if s.is_plain() => {
                match resolve(&s.text, self.ctx.dialect.hex_integers()) {
                    Resolved::Null => v.visit_unit(),
                    Resolved::Bool(b) => v.visit_bool(b),
                    Resolved::Int(i) => v.visit_i64(i),
                    Resolved::Float(f) => v.visit_f64(f),
                    Resolved::Str(t) => v.visit_str(t),
                }
            }
            Kind::Scalar(s) => v.visit_str(&s.text),
            Kind::Seq(items) => v.visit_seq(SeqDe::new(items, self.path, self.ctx)),
            Kind::Map(entries) => v.visit_map(MapDe::new(entries, self.path, self.ctx, None)),
        };
        self.finish(r)
    }

    fn deserialize_bool<V: Visitor<'de>>(self, v: V) -> Result<V::Value, DeError> {
        let b = match self.node.as_scalar() {
            Some(s) if matches!(&*s.text, "true" | "True" | "TRUE") => true,
            Some(s) if matches!(&*s.text, "false" | "False" | "FALSE") => false,
            Some(s)
                if matches!(
                    s.text.to_ascii_lowercase().as_str(),
                    "yes" | "no" | "on" | "off" | "y" | "n"
                ) =>
            {
                self.recover_problem(&Problem::NotABool { found: &s.text });
                false
            }
            _ => {
                self.recover(
                    ErrorKind::WrongType,
                    format!("expected true or false, found {}", self.node.describe()),
                    None,
                );
                false
            }
        };
        self.finish(v.visit_bool(b))
    }

    number!(deserialize_i8, visit_i8, i8, "an integer (-128 to 127)");
    number!(deserialize_i16, visit_i16, i16, "an integer");
    number!(deserialize_i32, visit_i32, i32, "an integer");
    number!(deserialize_i64, visit_i64, i64, "an integer");
    number!(deserialize_u8, visit_u8, u8, "a whole number (0 to 255)");
    number!(
        deserialize_u16,
        visit_u16,
        u16,
        "a whole number (0 to 65535)"
    );
    number!(deserialize_u32, visit_u32, u32, "a whole number");
    number!(deserialize_u64, visit_u64, u64, "a whole number");
    number!(deserialize_f32, visit_f32, f32, "a number");
    number!(deserialize_f64, visit_f64, f64, "a number");

    fn deserialize_char<V: Visitor<'de>>(self, v: V) -> Result<V::Value, DeError> {
        let c = match self.scalar_text().map(|t| {
            let mut cs = t.chars();
            (cs.next(), cs.next())
        }) {
            Some((Some(c), None)) => c,
            _ => {
                self.recover(
                    ErrorKind::WrongType,
                    format!("expected one character, found {}", self.node.describe()),
                    None,
                );
                ' '
            }
        };
        self.finish(v.visit_char(c))
    }

    fn deserialize_str<V: Visitor<'de>>(self, v: V) -> Result<V::Value, DeError> {
        let text = match self.node.as_scalar() {
            Some(s) if s.is_null() => {
                self.recover_problem(&Problem::NullText);
                ""
            }
            Some(s) => &*s.text,
            None => {
                self.recover(
                    ErrorKind::WrongType,
                    format!("expected text, found {}", self.node.describe()),
                    None,
                );
                ""
            }
        };
        self.finish(v.visit_str(text))
    }

    fn deserialize_string<V: Visitor<'de>>(self, v: V) -> Result<V::Value, DeError> {
        self.deserialize_str(v)
    }

    fn deserialize_bytes<V: Visitor<'de>>(self, v: V) -> Result<V::Value, DeError> {
        let text = self.scalar_text().unwrap_or_default();
        self.finish(v.visit_bytes(text.as_bytes()))
    }

    fn deserialize_byte_buf<V: Visitor<'de>>(self, v: V) -> Result<V::Value, DeError> {
        self.deserialize_bytes(v)
    }

    fn deserialize_option<V: Visitor<'de>>(self, v: V) -> Result<V::Value, DeError> {
        if self.node.is_null() {
            self.finish(v.visit_none())
        } else {
            self.finish(v.visit_some(self))
        }
    }

    fn deserialize_unit<V: Visitor<'de>>(self, v: V) -> Result<V::Value, DeError> {
        self.finish(v.visit_unit())
    }

    fn deserialize_unit_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        v: V,
    ) -> Result<V::Value, DeError> {
        self.finish(v.visit_unit())
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        name: &'static str,
        v: V,
    ) -> Result<V::Value, DeError> {
        if let Some(check) = self.ctx.dialect.scalar_check(name) {
            let text = match self.node.as_scalar() {
                Some(sc) if !sc.is_null() => match (check.check)(&sc.text) {
                    Ok(()) => &*sc.text,
                    Err(m) => {
                        self.recover(ErrorKind::Invalid, m, Some(check.hint.into()));
                        check.fallback
                    }
                },
                _ => {
                    self.recover(
                        ErrorKind::WrongType,
                        format!(
                            "expected {}, found {}",
                            check.expected,
                            self.node.describe()
                        ),
                        Some(check.hint.into()),
                    );
                    check.fallback
                }
            };
            return self.finish(v.visit_str(text));
        }
        if name == ONE_OR_MANY && matches!(self.node.kind, Kind::Map(_)) {
            // The only item keeps the list's path (`fault.latency`, not `fault[0].latency`).
            let r = v.visit_seq(SeqDe {
                single: true,
                ..SeqDe::new(std::slice::from_ref(self.node), self.path, self.ctx)
            });
            return self.finish(r);
        }
        self.finish(v.visit_newtype_struct(self))
    }

    fn deserialize_seq<V: Visitor<'de>>(self, v: V) -> Result<V::Value, DeError> {
        let r = match &self.node.kind {
            Kind::Seq(items) => v.visit_seq(SeqDe::new(items, self.path, self.ctx)),
            Kind::Scalar(s) if s.is_null() => v.visit_seq(SeqDe::new(&[], self.path, self.ctx)),
            // A single value where a list is expected counts as a one-item list.
            Kind::Scalar(_) => v.visit_seq(SeqDe::new(
                std::slice::from_ref(self.node),
                self.path,
                self.ctx,
            )),
            Kind::Map(_) => {
                return Err(self.fail(
                    ErrorKind::WrongType,
                    "expected a list, found a mapping".into(),
                ));
            }
        };
        self.finish(r)
    }

    fn deserialize_tuple<V: Visitor<'de>>(self, _len: usize, v: V) -> Result<V::Value, DeError> {
        self.deserialize_seq(v)
    }

    fn deserialize_tuple_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _len: usize,
        v: V,
    ) -> Result<V::Value, DeError> {
        self.deserialize_seq(v)
    }

    fn deserialize_map<V: Visitor<'de>>(self, v: V) -> Result<V::Value, DeError> {
        let r = match &self.node.kind {
            Kind::Map(entries) => v.visit_map(MapDe::new(entries, self.path, self.ctx, None)),
            Kind::Scalar(s) if s.is_null() => {
                v.visit_map(MapDe::new(&[], self.path, self.ctx, None))
            }
            _ => {
                return Err(self.fail(
                    ErrorKind::WrongType,
                    format!("expected a mapping, found {}", self.node.describe()),
                ));
            }
        };
        self.finish(r)
    }

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        name: &'static str,
        fields: &'static [&'static str],
        v: V,
    ) -> Result<V::Value, DeError> {
        if let Some(list) = self.ctx.dialect.name_list(name) {
            return self.name_list(name, fields, list, v);
        }
        let r = match &self.node.kind {
            Kind::Map(entries) => {
                v.visit_map(MapDe::new(entries, self.path, self.ctx, Some(fields)))
            }
            Kind::Scalar(s) if name == STR_OR_STRUCT && !s.is_null() => v.visit_str(&s.text),
            // `health_check:` with nothing after it means "all defaults".
            Kind::Scalar(s) if s.is_null() => {
                v.visit_map(MapDe::new(&[], self.path, self.ctx, Some(fields)))
            }
            _ => {
                return Err(self.fail(
                    ErrorKind::WrongType,
                    format!("expected a mapping, found {}", self.node.describe()),
                ));
            }
        };
        self.finish(r)
    }

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        _name: &'static str,
        variants: &'static [&'static str],
        v: V,
    ) -> Result<V::Value, DeError> {
        let lenient = self.ctx.dialect.lenient_enums();
        let r = match &self.node.kind {
            // Lenient: an unknown name is reported and replaced by the first variant, so the
            // rest of the item is still checked.
            Kind::Scalar(s)
                if lenient
                    && !s.is_null()
                    && !variants.contains(&&*s.text)
                    && !variants.is_empty() =>
            {
                self.recover_problem(&Problem::UnknownValue {
                    value: &s.text,
                    expected: variants,
                });
                v.visit_enum(variants[0].into_deserializer())
            }
            Kind::Scalar(s) if !s.is_null() && !variants.contains(&&*s.text) => {
                return Err(self.fail_problem(&Problem::UnknownValue {
                    value: &s.text,
                    expected: variants,
                }));
            }
            Kind::Scalar(s) if !s.is_null() => v.visit_enum(s.text.as_ref().into_deserializer()),
            Kind::Map(entries) if entries.len() == 1 => {
                let name = entries[0].0.text().unwrap_or("");
                if !lenient && !variants.contains(&name) {
                    let link = self.path.child(Step::Key(name));
                    let w = self.ctx.dialect.word(&Problem::UnknownValue {
                        value: name,
                        expected: variants,
                    });
                    self.ctx.report(&entries[0].0, link.render(), w.clone());
                    return Err(DeError::recorded(w));
                }
                v.visit_enum(EnumDe {
                    entry: &entries[0],
                    path: self.path,
                    ctx: self.ctx,
                })
            }
            Kind::Map(entries) if !lenient && entries.len() > 1 => {
                let keys: Vec<&str> = entries.iter().filter_map(|(k, _)| k.text()).collect();
                let message = format!(
                    "expected exactly one of {}, found {}",
                    one_of(variants),
                    one_of(&keys)
                );
                return Err(self.fail(ErrorKind::WrongType, message));
            }
            _ => {
                return Err(self.fail_problem(&Problem::NotAVariant {
                    expected: variants,
                    found: self.node.describe(),
                }));
            }
        };
        self.finish(r)
    }

    fn deserialize_identifier<V: Visitor<'de>>(self, v: V) -> Result<V::Value, DeError> {
        self.deserialize_str(v)
    }

    fn deserialize_ignored_any<V: Visitor<'de>>(self, v: V) -> Result<V::Value, DeError> {
        v.visit_unit()
    }
}

struct SeqDe<'a, 's> {
    items: &'a [Node<'s>],
    /// One item standing for the list: it takes the list's own path.
    single: bool,
    i: usize,
    path: &'a PathLink<'a>,
    ctx: &'a Ctx,
}

impl<'a, 's> SeqDe<'a, 's> {
    fn new(items: &'a [Node<'s>], path: &'a PathLink<'a>, ctx: &'a Ctx) -> Self {
        Self {
            items,
            single: false,
            i: 0,
            path,
            ctx,
        }
    }
}

impl<'de> de::SeqAccess<'de> for SeqDe<'_, '_> {
    type Error = DeError;

    fn next_element_seed<T: DeserializeSeed<'de>>(
        &mut self,
        seed: T,
    ) -> Result<Option<T::Value>, DeError> {
        // A seed is consumed by one attempt, so a failed item ends the list here; the list
        // is poisoned because later indices would no longer match the file.
        let Some(node) = self.items.get(self.i) else {
            return Ok(None);
        };
        let link = match self.single {
            true => *self.path,
            false => self.path.child(Step::Index(self.i)),
        };
        self.i += 1;
        match seed.deserialize(NodeDe::new(node, &link, self.ctx)) {
            Ok(v) => Ok(Some(v)),
            Err(e) => {
                self.ctx.poisoned.borrow_mut().push(self.path.render());
                Err(e)
            }
        }
    }

    fn size_hint(&self) -> Option<usize> {
        Some(self.items.len() - self.i)
    }
}

struct MapDe<'a, 's> {
    entries: &'a [(Node<'s>, Node<'s>)],
    i: usize,
    path: &'a PathLink<'a>,
    ctx: &'a Ctx,
    fields: Option<&'static [&'static str]>,
    pending: Option<&'a (Node<'s>, Node<'s>)>,
}

impl<'a, 's> MapDe<'a, 's> {
    fn new(
        entries: &'a [(Node<'s>, Node<'s>)],
        path: &'a PathLink<'a>,
        ctx: &'a Ctx,
        fields: Option<&'static [&'static str]>,
    ) -> Self {
        Self {
            entries,
            i: 0,
            path,
            ctx,
            fields,
            pending: None,
        }
    }
}

impl<'de> de::MapAccess<'de> for MapDe<'_, '_> {
    type Error = DeError;

    fn next_key_seed<K: DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, DeError> {
        while let Some(entry) = self.entries.get(self.i) {
            self.i += 1;
            let key = entry.0.text().unwrap_or("");
            let link = self.path.child(Step::Key(key));
            if let Some(fields) = self.fields
                && !fields.contains(&key)
            {
                // Unknown struct key: report at the key, skip, keep decoding the rest.
                self.ctx.report_problem(
                    &entry.0,
                    link.render(),
                    &Problem::UnknownKey {
                        key,
                        expected: fields,
                    },
                );
                continue;
            }
            let k = seed.deserialize(NodeDe::new(&entry.0, &link, self.ctx))?;
            self.pending = Some(entry);
            return Ok(Some(k));
        }
        Ok(None)
    }

    fn next_value_seed<V: DeserializeSeed<'de>>(&mut self, seed: V) -> Result<V::Value, DeError> {
        let entry = self.pending.take().ok_or_else(|| {
            DeError::new(
                ErrorKind::Invalid,
                "value requested before key".into(),
                None,
            )
        })?;
        let link = self.path.child(Step::Key(entry.0.text().unwrap_or("")));
        seed.deserialize(NodeDe::new(&entry.1, &link, self.ctx))
    }

    fn size_hint(&self) -> Option<usize> {
        Some(self.entries.len() - self.i)
    }
}

/// `{variant: content}` form of an enum.
struct EnumDe<'a, 's> {
    entry: &'a (Node<'s>, Node<'s>),
    path: &'a PathLink<'a>,
    ctx: &'a Ctx,
}

impl<'de, 'a, 's> de::EnumAccess<'de> for EnumDe<'a, 's> {
    type Error = DeError;
    type Variant = VariantDe<'a, 's>;

    fn variant_seed<V: DeserializeSeed<'de>>(
        self,
        seed: V,
    ) -> Result<(V::Value, Self::Variant), DeError> {
        let name = self.entry.0.text().unwrap_or("");
        let v = seed.deserialize(IntoDeserializer::<DeError>::into_deserializer(name))?;
        Ok((
            v,
            VariantDe {
                entry: self.entry,
                path: self.path,
                ctx: self.ctx,
            },
        ))
    }
}

/// The content of `{variant: content}`; its path includes the variant name (strict enums)
/// or is the enum's own (lenient enums, see [`Dialect::lenient_enums`]).
struct VariantDe<'a, 's> {
    entry: &'a (Node<'s>, Node<'s>),
    path: &'a PathLink<'a>,
    ctx: &'a Ctx,
}

impl VariantDe<'_, '_> {
    fn name(&self) -> &str {
        self.entry.0.text().unwrap_or("")
    }

    /// Runs `f` on the content's deserializer, with its path.
    fn content<R>(&self, f: impl FnOnce(NodeDe<'_, '_>) -> R) -> R {
        if self.ctx.dialect.lenient_enums() {
            f(NodeDe::new(&self.entry.1, self.path, self.ctx))
        } else {
            let link = self.path.child(Step::Key(self.name()));
            f(NodeDe::new(&self.entry.1, &link, self.ctx))
        }
    }
}

impl<'de> de::VariantAccess<'de> for VariantDe<'_, '_> {
    type Error = DeError;

    fn unit_variant(self) -> Result<(), DeError> {
        // `{expired: }` / `{expired: null}` is the same as `expired`.
        if self.entry.1.is_null() || self.ctx.dialect.lenient_enums() {
            return Ok(());
        }
        let link = self.path.child(Step::Key(self.name()));
        let w = Wording::new(
            ErrorKind::WrongType,
            format!(
                "expected nothing after `{}:`, found {}",
                self.name(),
                self.entry.1.describe()
            ),
            Some(format!("write just `{}`", self.name())),
        );
        self.ctx.report(&self.entry.1, link.render(), w.clone());
        Err(DeError::recorded(Wording { hint: None, ..w }))
    }

    fn newtype_variant_seed<T: DeserializeSeed<'de>>(self, seed: T) -> Result<T::Value, DeError> {
        self.content(|d| seed.deserialize(d))
    }

    fn tuple_variant<V: Visitor<'de>>(self, _len: usize, v: V) -> Result<V::Value, DeError> {
        self.content(|d| de::Deserializer::deserialize_seq(d, v))
    }

    fn struct_variant<V: Visitor<'de>>(
        self,
        fields: &'static [&'static str],
        v: V,
    ) -> Result<V::Value, DeError> {
        self.content(|d| de::Deserializer::deserialize_struct(d, "", fields, v))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tree::parse;
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
        #[serde(default)]
        mode: Option<Mode>,
    }

    #[derive(Debug, Deserialize, PartialEq)]
    #[serde(rename_all = "lowercase")]
    enum Mode {
        Fast,
        Slow,
        Limit { rate: u32 },
    }

    fn de_with(src: &str, dialect: &'static dyn Dialect) -> (Option<T>, Vec<String>) {
        let tree = parse(src).unwrap();
        let ctx = Ctx::new(dialect);
        let root = PathLink::root(Step::Key("t"));
        let r = T::deserialize(NodeDe::new(&tree, &root, &ctx)).ok();
        let errs = ctx
            .errors
            .borrow()
            .iter()
            .map(|f| {
                let mut s = format!("{}:{}: {}: {}", f.line, f.col, f.path, f.message);
                if let Some(h) = &f.hint {
                    s.push_str(&format!(" [{h}]"));
                }
                s
            })
            .collect();
        (r, errs)
    }

    fn de(src: &str) -> (Option<T>, Vec<String>) {
        de_with(src, &Plain)
    }

    #[test]
    fn good() {
        let (t, e) = de("name: 0100\ncount: 7\non: true\nlist: x\nmode: {limit: {rate: 3}}\n");
        assert!(e.is_empty(), "{e:?}");
        assert_eq!(
            t.unwrap(),
            T {
                name: "0100".into(),
                count: 7,
                on: true,
                list: vec!["x".into()],
                mode: Some(Mode::Limit { rate: 3 }),
            }
        );
    }

    #[test]
    fn collects_several_errors() {
        let (t, e) = de("name: a\ncuont: 1\ncount: lots\non: yes\n");
        assert!(t.is_some(), "recoverable errors still yield a value");
        assert_eq!(
            e,
            vec![
                "2:1: t.cuont: unknown key `cuont` [did you mean `count`?]",
                "3:8: t.count: expected a whole number (0 to 255), found \"lots\"",
                "4:5: t.on: expected true or false, found \"yes\" [YAML 1.2 has no yes/no booleans: write true or false]",
            ]
        );
    }

    #[test]
    fn missing_and_wrong_shape() {
        let (t, e) = de("count: 1\n");
        assert!(t.is_none());
        assert_eq!(e, vec!["1:1: t.name: missing required key `name`"]);
        let (_, e) = de("name: [a]\n");
        assert_eq!(e, vec!["1:7: t.name: expected text, found a list"]);
        let (_, e) = de("- 1\n");
        assert_eq!(e, vec!["1:1: t: expected a mapping, found a list"]);
        let (_, e) = de("name:\n");
        assert_eq!(
            e,
            vec!["1:5: t.name: expected text, found null [quote it: \"\" for empty text]"]
        );
    }

    #[test]
    fn strict_and_lenient_enums() {
        let (t, e) = de("name: x\nmode: fats\n");
        assert!(t.is_none());
        assert_eq!(
            e,
            vec!["2:7: t.mode: unknown value `fats` [did you mean `fast`?]"]
        );
        let (_, e) = de("name: x\nmode: {limit: {rate: x}}\n");
        assert_eq!(
            e,
            vec!["2:22: t.mode.limit.rate: expected a whole number, found \"x\""]
        );
        let (_, e) = de("name: x\nmode: {fast: 1}\n");
        assert_eq!(
            e,
            vec![
                "2:14: t.mode.fast: expected nothing after `fast:`, found \"1\" [write just `fast`]"
            ]
        );

        struct Lenient;
        impl Dialect for Lenient {
            fn lenient_enums(&self) -> bool {
                true
            }
            fn one_error_per_path(&self) -> bool {
                false
            }
        }
        let (t, e) = de_with("name: x\nmode: fats\n", &Lenient);
        assert_eq!(t.unwrap().mode, Some(Mode::Fast));
        assert_eq!(
            e,
            vec!["2:7: t.mode: unknown value `fats` [did you mean `fast`?]"]
        );
        let (_, e) = de_with("name: x\nmode: {limit: {rate: x}}\n", &Lenient);
        assert_eq!(
            e,
            vec!["2:22: t.mode.rate: expected a whole number, found \"x\""]
        );
    }

    #[test]
    fn dialect_hooks() {
        #[derive(Debug, Deserialize)]
        struct Names(#[allow(dead_code)] std::collections::BTreeMap<String, serde::de::IgnoredAny>);
        struct Lab;
        impl Dialect for Lab {
            fn word(&self, p: &Problem<'_>) -> Wording {
                match p {
                    Problem::UnknownName { name, .. } => {
                        Wording::new(ErrorKind::UnknownField, format!("no service {name}"), None)
                    }
                    _ => plain_wording(p),
                }
            }
            fn hex_integers(&self) -> bool {
                true
            }
            fn name_list(&self, name: &str) -> Option<NameList> {
                (name == "names").then_some(NameList {
                    known: |n| n.eq_ignore_ascii_case("a") || n == "b",
                })
            }
        }
        struct NamesDe;
        impl<'de> Deserialize<'de> for NamesDe {
            fn deserialize<D: de::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                struct V;
                impl<'de> Visitor<'de> for V {
                    type Value = NamesDe;
                    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                        f.write_str("names")
                    }
                    fn visit_seq<A: de::SeqAccess<'de>>(
                        self,
                        mut a: A,
                    ) -> Result<NamesDe, A::Error> {
                        while a.next_element::<String>()?.is_some() {}
                        Ok(NamesDe)
                    }
                }
                d.deserialize_struct("names", &["a", "b"], V)
            }
        }
        let tree = parse("[A, c, b]").unwrap();
        let ctx = Ctx::new(&Lab);
        let root = PathLink::root(Step::Key("s"));
        assert!(NamesDe::deserialize(NodeDe::new(&tree, &root, &ctx)).is_ok());
        let errs: Vec<String> = ctx
            .errors
            .borrow()
            .iter()
            .map(|f| format!("{}: {}", f.path, f.message))
            .collect();
        assert_eq!(errs, vec!["s[1]: no service c"]);
        let _ = Names(Default::default());

        let tree = parse("0x1f").unwrap();
        let v = serde_json::Value::deserialize(NodeDe::new(&tree, &root, &Ctx::new(&Lab)));
        assert_eq!(v.unwrap(), serde_json::json!(31));
        let v = serde_json::Value::deserialize(NodeDe::new(&tree, &root, &Ctx::default()));
        assert_eq!(v.unwrap(), serde_json::json!("0x1f"));
    }

    #[test]
    fn poison_prefix() {
        let ctx = Ctx::default();
        ctx.poisoned.borrow_mut().push("users[1].number".into());
        assert!(ctx.is_poisoned("users[1].number"));
        assert!(!ctx.is_poisoned("users[1].numbers"));
        assert!(!ctx.is_poisoned("users[1]"));
        ctx.poisoned.borrow_mut().push("users[2]".into());
        assert!(ctx.is_poisoned("users[2].services[0]"));
        assert!(!ctx.is_poisoned("users[20]"));
    }

    #[test]
    fn suggestions() {
        let keys = ["timeline", "topology", "subscribers", "profiles"];
        assert_eq!(did_you_mean("timelnie", keys), Some("timeline"));
        assert_eq!(did_you_mean("Topology", keys), Some("topology"));
        assert_eq!(did_you_mean("zzz", keys), None);
        assert_eq!(
            did_you_mean("reset-peer", ["reset_peer"]),
            Some("reset_peer")
        );
    }
}
