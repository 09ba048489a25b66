//! A serde `Deserializer` over the positioned YAML tree (`tree.rs`).
//!
//! The same design as the lab-data loader of `bwlab-model`: derived `Deserialize` impls run
//! on top of it, every failure becomes an error that knows its line, column and field path,
//! and decoding carries on where it safely can, so one run reports many problems:
//! - an unknown key of a struct is reported at the key, with a "did you mean" hint, and
//!   skipped;
//! - a malformed scalar (`cookie_affinity: yes`, `rate: fast`) is reported and replaced by
//!   a neutral value, and its path is *poisoned* so the semantic checks stay quiet about it;
//! - an unrecoverable error (a missing required field, a mapping where text belongs) aborts
//!   the enclosing item only: the loader decodes each top-level field, and each item of the
//!   top-level lists, on its own.
//!
//! Two markers extend plain serde for the scenario format: [`STR_OR_STRUCT`] lets a struct
//! also be written as one string (`topology: dual-site`, `when: 3rd heartbeat of alice`),
//! and [`ONE_OR_MANY`] lets a list also be written as its only item (`fault: {...}`).

use std::cell::RefCell;
use std::fmt;

use serde::de::{self, DeserializeSeed, IntoDeserializer, Visitor};

use crate::error::did_you_mean;
use crate::tree::{Kind, Node};

/// Struct name that lets a struct also be written as one string: a scalar node is handed to
/// the visitor's `visit_str`.
pub const STR_OR_STRUCT: &str = "$bwlab::StrOrStruct";
/// Newtype name that lets a list also be written as its only item.
pub const ONE_OR_MANY: &str = "$bwlab::OneOrMany";
/// Newtype name of durations: a malformed one is reported and read as `0s`, so the rest of
/// its step is still checked.
pub const DURATION: &str = "$bwlab::Duration";

/// Splits a message of the form `"text\nhint: help"`: how the `Deserialize` impls of this
/// crate attach a hint to `de::Error::custom`.
pub(crate) fn split_hint(message: &str) -> (String, Option<String>) {
    match message.split_once("\nhint: ") {
        Some((m, h)) => (m.to_string(), Some(h.to_string())),
        None => (message.to_string(), None),
    }
}

pub(crate) fn one_of(expected: &[&str]) -> String {
    let list: Vec<String> = expected.iter().map(|e| format!("`{e}`")).collect();
    list.join(", ")
}

/// "did you mean `x`?" when a candidate is close, otherwise the full list.
pub(crate) fn hint_for(word: &str, candidates: &[&str]) -> Option<String> {
    match did_you_mean(word, candidates.iter().copied()) {
        Some(h) => Some(format!("did you mean `{h}`?")),
        None if candidates.is_empty() => None,
        None => Some(format!("expected one of {}", one_of(candidates))),
    }
}

/// One step of a [`PathLink`] chain.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Step<'a> {
    Key(&'a str),
    Index(usize),
}

/// A field path as a chain of stack frames: free to extend, rendered only on error.
#[derive(Clone, Copy, Debug)]
pub(crate) struct PathLink<'a> {
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
pub(crate) struct Found {
    pub line: u32,
    pub col: u32,
    pub path: String,
    pub message: String,
    pub hint: Option<String>,
}

/// Collects errors and poisoned paths across one load.
#[derive(Debug, Default)]
pub(crate) struct Ctx {
    pub errors: RefCell<Vec<Found>>,
    pub poisoned: RefCell<Vec<String>>,
}

impl Ctx {
    /// Records an error; a second error at exactly the same path is a consequence of the
    /// first and is dropped.
    pub fn report(&self, node: &Node<'_>, path: String, message: String, hint: Option<String>) {
        let mut errors = self.errors.borrow_mut();
        if errors.iter().any(|f| f.path == path) {
            return;
        }
        self.poisoned.borrow_mut().push(path.clone());
        errors.push(Found {
            line: node.line,
            col: node.col,
            path,
            message,
            hint,
        });
    }

    /// Whether `path` is at or below a field that already has an error.
    pub fn is_poisoned(&self, path: &str) -> bool {
        self.poisoned.borrow().iter().any(|p| {
            path.starts_with(p.as_str())
                && matches!(path.as_bytes().get(p.len()), None | Some(b'.' | b'['))
        })
    }
}

/// Error type of [`NodeDe`]. `recorded` marks errors already in [`Ctx`].
#[derive(Debug)]
pub(crate) struct DeError {
    message: String,
    hint: Option<String>,
    /// For `missing_field`: the absent field.
    field: Option<&'static str>,
    recorded: bool,
}

impl DeError {
    fn new(message: String, hint: Option<String>) -> Self {
        Self {
            message,
            hint,
            field: None,
            recorded: false,
        }
    }
}

impl fmt::Display for DeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for DeError {}

impl de::Error for DeError {
    fn custom<T: fmt::Display>(msg: T) -> Self {
        let (message, hint) = split_hint(&msg.to_string());
        Self::new(message, hint)
    }

    fn invalid_type(unexp: de::Unexpected<'_>, exp: &dyn de::Expected) -> Self {
        Self::new(format!("expected {exp}, found {unexp}"), None)
    }

    fn invalid_value(unexp: de::Unexpected<'_>, exp: &dyn de::Expected) -> Self {
        Self::new(format!("{unexp} is not valid (expected {exp})"), None)
    }

    fn unknown_variant(variant: &str, expected: &'static [&'static str]) -> Self {
        Self::new(
            format!("unknown value `{variant}`"),
            hint_for(variant, expected),
        )
    }

    fn unknown_field(field: &str, expected: &'static [&'static str]) -> Self {
        Self::new(format!("unknown key `{field}`"), hint_for(field, expected))
    }

    fn missing_field(field: &'static str) -> Self {
        Self {
            message: format!("missing required key `{field}`"),
            hint: None,
            field: Some(field),
            recorded: false,
        }
    }
}

/// Deserializes one node. See the module docs for the recovery rules.
#[derive(Clone, Copy)]
pub(crate) struct NodeDe<'a, 's> {
    pub node: &'a Node<'s>,
    pub path: &'a PathLink<'a>,
    pub ctx: &'a Ctx,
}

impl<'a, 's> NodeDe<'a, 's> {
    pub fn new(node: &'a Node<'s>, path: &'a PathLink<'a>, ctx: &'a Ctx) -> Self {
        Self { node, path, ctx }
    }

    /// Records an unrecorded error at this node.
    fn finish<T>(&self, r: Result<T, DeError>) -> Result<T, DeError> {
        r.map_err(|mut e| {
            if !e.recorded {
                let mut path = self.path.render();
                if let Some(f) = e.field {
                    path.push('.');
                    path.push_str(f);
                }
                self.ctx.report(
                    self.node,
                    path,
                    std::mem::take(&mut e.message),
                    e.hint.take(),
                );
                e.recorded = true;
            }
            e
        })
    }

    /// Records a recoverable problem at this node; decoding continues.
    fn recover(&self, message: String, hint: Option<String>) {
        self.ctx
            .report(self.node, self.path.render(), message, hint);
    }

    /// Records an unrecoverable problem at this node.
    fn fail(&self, message: String) -> DeError {
        self.recover(message.clone(), None);
        DeError {
            message,
            hint: None,
            field: None,
            recorded: true,
        }
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

fn resolve(text: &str) -> Resolved<'_> {
    match text {
        "" | "~" | "null" | "Null" | "NULL" => return Resolved::Null,
        "true" | "True" | "TRUE" => return Resolved::Bool(true),
        "false" | "False" | "FALSE" => return Resolved::Bool(false),
        _ => {}
    }
    if let Ok(i) = text.parse::<i64>() {
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
            Kind::Scalar(s) if s.is_plain() => match resolve(&s.text) {
                Resolved::Null => v.visit_unit(),
                Resolved::Bool(b) => v.visit_bool(b),
                Resolved::Int(i) => v.visit_i64(i),
                Resolved::Float(f) => v.visit_f64(f),
                Resolved::Str(t) => v.visit_str(t),
            },
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
                self.recover(
                    format!("expected true or false, found {:?}", s.text),
                    Some("YAML 1.2 has no yes/no booleans: write true or false".into()),
                );
                false
            }
            _ => {
                self.recover(
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
                self.recover(
                    "expected text, found null".into(),
                    Some("quote it: \"\" for empty text".into()),
                );
                ""
            }
            Some(s) => &*s.text,
            None => {
                self.recover(
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
        if name == DURATION {
            let text = match self.node.as_scalar() {
                Some(sc) if !sc.is_null() => match crate::value::LabDuration::parse(&sc.text) {
                    Ok(_) => &*sc.text,
                    Err(m) => {
                        self.recover(m, Some(crate::value::DURATION_HINT.into()));
                        "0s"
                    }
                },
                _ => {
                    self.recover(
                        format!("expected a duration, found {}", self.node.describe()),
                        Some(crate::value::DURATION_HINT.into()),
                    );
                    "0s"
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
                return Err(self.fail("expected a list, found a mapping".into()));
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
                return Err(self.fail(format!(
                    "expected a mapping, found {}",
                    self.node.describe()
                )));
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
                return Err(self.fail(format!(
                    "expected a mapping, found {}",
                    self.node.describe()
                )));
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
        let r = match &self.node.kind {
            Kind::Scalar(s) if !s.is_null() && !variants.contains(&&*s.text) => {
                let e = <DeError as de::Error>::unknown_variant(&s.text, variants);
                self.recover(e.message.clone(), e.hint.clone());
                return Err(DeError {
                    recorded: true,
                    ..e
                });
            }
            Kind::Scalar(s) if !s.is_null() => v.visit_enum(s.text.as_ref().into_deserializer()),
            Kind::Map(entries) if entries.len() == 1 => {
                let name = entries[0].0.text().unwrap_or("");
                if !variants.contains(&name) {
                    let e = <DeError as de::Error>::unknown_variant(name, variants);
                    let link = self.path.child(Step::Key(name));
                    self.ctx.report(
                        &entries[0].0,
                        link.render(),
                        e.message.clone(),
                        e.hint.clone(),
                    );
                    return Err(DeError {
                        recorded: true,
                        ..e
                    });
                }
                v.visit_enum(EnumDe {
                    entry: &entries[0],
                    path: self.path,
                    ctx: self.ctx,
                })
            }
            Kind::Map(entries) if entries.len() > 1 => {
                let keys: Vec<&str> = entries.iter().filter_map(|(k, _)| k.text()).collect();
                let message = format!(
                    "expected exactly one of {}, found {}",
                    one_of(variants),
                    one_of(&keys)
                );
                self.recover(message.clone(), None);
                return Err(DeError {
                    message,
                    hint: None,
                    field: None,
                    recorded: true,
                });
            }
            _ => {
                let message = format!(
                    "expected one of {}, found {}",
                    one_of(variants),
                    self.node.describe()
                );
                return Err(self.fail(message));
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
                self.ctx.report(
                    &entry.0,
                    link.render(),
                    format!("unknown key `{key}`"),
                    hint_for(key, fields),
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
        let entry = self
            .pending
            .take()
            .ok_or_else(|| DeError::new("value requested before key".into(), None))?;
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

/// The content of `{variant: content}`; its path includes the variant name.
struct VariantDe<'a, 's> {
    entry: &'a (Node<'s>, Node<'s>),
    path: &'a PathLink<'a>,
    ctx: &'a Ctx,
}

impl<'de> de::VariantAccess<'de> for VariantDe<'_, '_> {
    type Error = DeError;

    fn unit_variant(self) -> Result<(), DeError> {
        // `{expired: }` / `{expired: null}` is the same as `expired`.
        if self.entry.1.is_null() {
            Ok(())
        } else {
            let link = self
                .path
                .child(Step::Key(self.entry.0.text().unwrap_or("")));
            let message = format!(
                "expected nothing after `{}:`, found {}",
                self.entry.0.text().unwrap_or(""),
                self.entry.1.describe()
            );
            self.ctx.report(
                &self.entry.1,
                link.render(),
                message.clone(),
                Some(format!(
                    "write just `{}`",
                    self.entry.0.text().unwrap_or("")
                )),
            );
            Err(DeError {
                message,
                hint: None,
                field: None,
                recorded: true,
            })
        }
    }

    fn newtype_variant_seed<T: DeserializeSeed<'de>>(self, seed: T) -> Result<T::Value, DeError> {
        let link = self
            .path
            .child(Step::Key(self.entry.0.text().unwrap_or("")));
        seed.deserialize(NodeDe::new(&self.entry.1, &link, self.ctx))
    }

    fn tuple_variant<V: Visitor<'de>>(self, _len: usize, v: V) -> Result<V::Value, DeError> {
        let link = self
            .path
            .child(Step::Key(self.entry.0.text().unwrap_or("")));
        de::Deserializer::deserialize_seq(NodeDe::new(&self.entry.1, &link, self.ctx), v)
    }

    fn struct_variant<V: Visitor<'de>>(
        self,
        fields: &'static [&'static str],
        v: V,
    ) -> Result<V::Value, DeError> {
        let link = self
            .path
            .child(Step::Key(self.entry.0.text().unwrap_or("")));
        de::Deserializer::deserialize_struct(
            NodeDe::new(&self.entry.1, &link, self.ctx),
            "",
            fields,
            v,
        )
    }
}
