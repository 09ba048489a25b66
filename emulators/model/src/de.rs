//! A serde `Deserializer` over the positioned YAML tree.
//!
//! Derived `Deserialize` impls (users, devices, service settings…) run on top of it, and it
//! turns every failure into an error that knows its line, column and field path. It also
//! keeps going where it safely can, so one load reports many problems:
//! - unknown keys of a struct are reported (with a "did you mean" hint) and skipped;
//! - a malformed scalar (`active: yes`, `numberOfRings: three`) is reported and replaced by a
//!   neutral value, and the field is remembered as *poisoned* so later checks stay quiet
//!   about it;
//!
//! Errors that cannot be recovered (a missing required field, a mapping where text belongs,
//! a bad list item) abort only the enclosing top-level item (one user, one device); the
//! loader decodes every top-level item on its own.

use std::cell::RefCell;
use std::fmt;

use serde::de::{self, DeserializeSeed, IntoDeserializer, Visitor};

use crate::error::{ErrorKind, hint};
use crate::services::{SERVICE_LIST_MARKER, ServiceKind};
use crate::tree::{Kind, Node};

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
    pub kind: ErrorKind,
}

/// Collects errors and poisoned paths across one load.
#[derive(Debug, Default)]
pub(crate) struct Ctx {
    pub errors: RefCell<Vec<Found>>,
    pub poisoned: RefCell<Vec<String>>,
}

impl Ctx {
    pub fn report(&self, node: &Node<'_>, path: String, kind: ErrorKind, message: String) {
        self.poisoned.borrow_mut().push(path.clone());
        self.errors.borrow_mut().push(Found {
            line: node.line,
            col: node.col,
            path,
            message,
            kind,
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
    kind: ErrorKind,
    /// For `missing_field`: the absent field, appended to the path.
    field: Option<&'static str>,
    recorded: bool,
}

impl DeError {
    fn new(kind: ErrorKind, message: String) -> Self {
        Self {
            message,
            kind,
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

fn one_of(expected: &'static [&'static str]) -> String {
    let list: Vec<String> = expected.iter().map(|e| format!("{e:?}")).collect();
    list.join(", ")
}

impl de::Error for DeError {
    fn custom<T: fmt::Display>(msg: T) -> Self {
        Self::new(ErrorKind::Invalid, msg.to_string())
    }

    fn invalid_type(unexp: de::Unexpected<'_>, exp: &dyn de::Expected) -> Self {
        Self::new(
            ErrorKind::WrongType,
            format!("expected {exp}, found {unexp}"),
        )
    }

    fn invalid_value(unexp: de::Unexpected<'_>, exp: &dyn de::Expected) -> Self {
        Self::new(
            ErrorKind::Invalid,
            format!("{unexp} is not valid (expected {exp})"),
        )
    }

    fn unknown_variant(variant: &str, expected: &'static [&'static str]) -> Self {
        Self::new(
            ErrorKind::Invalid,
            format!(
                "unknown value {variant:?}{} (expected one of {})",
                hint(variant, expected.iter().copied()),
                one_of(expected)
            ),
        )
    }

    fn unknown_field(field: &str, expected: &'static [&'static str]) -> Self {
        Self::new(
            ErrorKind::UnknownField,
            format!("unknown field{}", hint(field, expected.iter().copied())),
        )
    }

    fn missing_field(field: &'static str) -> Self {
        Self {
            message: "missing (required field)".into(),
            kind: ErrorKind::MissingField,
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

    /// Records an unrecorded error at this node (plus the missing field, if any).
    fn finish<T>(&self, r: Result<T, DeError>) -> Result<T, DeError> {
        r.map_err(|mut e| {
            if !e.recorded {
                let mut path = self.path.render();
                if let Some(f) = e.field {
                    path.push('.');
                    path.push_str(f);
                }
                self.ctx
                    .report(self.node, path, e.kind, std::mem::take(&mut e.message));
                e.recorded = true;
            }
            e
        })
    }

    /// Records a recoverable problem at this node; decoding continues.
    fn recover(&self, kind: ErrorKind, message: String) {
        self.ctx
            .report(self.node, self.path.render(), kind, message);
    }

    /// Records an unrecoverable problem at this node.
    fn fail(&self, kind: ErrorKind, message: String) -> DeError {
        self.recover(kind, message.clone());
        DeError {
            message,
            kind,
            field: None,
            recorded: true,
        }
    }

    fn scalar_text(&self) -> Option<&'a str> {
        self.node.as_scalar().map(|s| &*s.text)
    }

    /// A user's `services`: a list of names or a mapping name → settings. Unknown names are
    /// reported (with a hint) and left out, so the rest of the user is still checked.
    fn service_list<'de, V: Visitor<'de>>(self, v: V) -> Result<V::Value, DeError> {
        let known = |n: &Node<'_>| n.text().and_then(ServiceKind::from_name).is_some();
        let report_unknown = |n: &Node<'_>, path: String| {
            let name = n.text().unwrap_or("");
            self.ctx.report(
                n,
                path,
                ErrorKind::UnknownField,
                format!(
                    "unknown service {name:?}{}",
                    hint(name, ServiceKind::YAML_NAMES.iter().copied())
                ),
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
    if let Some(h) = text.strip_prefix("0x")
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

impl<'de, 'a, 's> de::Deserializer<'de> for NodeDe<'a, 's> {
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
                    ErrorKind::WrongType,
                    format!(
                        "expected true or false, found {:?} (YAML 1.2 has no yes/no booleans)",
                        s.text
                    ),
                );
                false
            }
            _ => {
                self.recover(
                    ErrorKind::WrongType,
                    format!("expected true or false, found {}", self.node.describe()),
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
                    ErrorKind::WrongType,
                    "expected text, found null (quote it: \"\" for empty text)".into(),
                );
                ""
            }
            Some(s) => &*s.text,
            None => {
                self.recover(
                    ErrorKind::WrongType,
                    format!("expected text, found {}", self.node.describe()),
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
        _name: &'static str,
        v: V,
    ) -> Result<V::Value, DeError> {
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
        if name == SERVICE_LIST_MARKER {
            return self.service_list(v);
        }
        let r = match &self.node.kind {
            Kind::Map(entries) => {
                v.visit_map(MapDe::new(entries, self.path, self.ctx, Some(fields)))
            }
            // `callWaiting:` with nothing after it means "all defaults".
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
        let r = match &self.node.kind {
            // An unknown name is reported and replaced by the first variant (all lab-file
            // enums are plain names), so the rest of the item is still checked.
            Kind::Scalar(s)
                if !s.is_null() && !variants.contains(&&*s.text) && !variants.is_empty() =>
            {
                self.recover(
                    ErrorKind::Invalid,
                    format!(
                        "unknown value {:?}{} (expected one of {})",
                        s.text,
                        hint(&s.text, variants.iter().copied()),
                        one_of(variants)
                    ),
                );
                v.visit_enum(variants[0].into_deserializer())
            }
            Kind::Scalar(s) if !s.is_null() => v.visit_enum(s.text.as_ref().into_deserializer()),
            Kind::Map(entries) if entries.len() == 1 => v.visit_enum(EnumDe {
                entry: &entries[0],
                path: self.path,
                ctx: self.ctx,
            }),
            _ => {
                return Err(self.fail(
                    ErrorKind::WrongType,
                    format!("expected a name, found {}", self.node.describe()),
                ));
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
    i: usize,
    path: &'a PathLink<'a>,
    ctx: &'a Ctx,
}

impl<'a, 's> SeqDe<'a, 's> {
    fn new(items: &'a [Node<'s>], path: &'a PathLink<'a>, ctx: &'a Ctx) -> Self {
        Self {
            items,
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
        let link = self.path.child(Step::Index(self.i));
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
                // Unknown struct field: report, skip, keep decoding the rest.
                let mut message = format!("unknown field{}", hint(key, fields.iter().copied()));
                if message == "unknown field" {
                    message.push_str(&format!(" (expected one of {})", one_of(fields)));
                }
                self.ctx
                    .report(&entry.0, link.render(), ErrorKind::UnknownField, message);
                continue;
            }
            // The key seed is consumed, so a key that fails (an unknown service name) cannot
            // be skipped; report it at the key and end the mapping with the error.
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
            .ok_or_else(|| DeError::new(ErrorKind::Invalid, "value requested before key".into()))?;
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
    type Variant = NodeDe<'a, 's>;

    fn variant_seed<V: DeserializeSeed<'de>>(
        self,
        seed: V,
    ) -> Result<(V::Value, Self::Variant), DeError> {
        let name = self.entry.0.text().unwrap_or("");
        let v = seed.deserialize(IntoDeserializer::<DeError>::into_deserializer(name))?;
        Ok((v, NodeDe::new(&self.entry.1, self.path, self.ctx)))
    }
}

impl<'de> de::VariantAccess<'de> for NodeDe<'_, '_> {
    type Error = DeError;

    fn unit_variant(self) -> Result<(), DeError> {
        Ok(())
    }

    fn newtype_variant_seed<T: DeserializeSeed<'de>>(self, seed: T) -> Result<T::Value, DeError> {
        seed.deserialize(self)
    }

    fn tuple_variant<V: Visitor<'de>>(self, _len: usize, v: V) -> Result<V::Value, DeError> {
        de::Deserializer::deserialize_seq(self, v)
    }

    fn struct_variant<V: Visitor<'de>>(
        self,
        fields: &'static [&'static str],
        v: V,
    ) -> Result<V::Value, DeError> {
        de::Deserializer::deserialize_struct(self, "", fields, v)
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
    }

    fn de(src: &str) -> (Option<T>, Vec<String>) {
        let tree = parse(src).unwrap();
        let ctx = Ctx::default();
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

    #[test]
    fn good() {
        let (t, e) = de("name: 0100\ncount: 7\non: true\nlist: x\n");
        assert!(e.is_empty(), "{e:?}");
        assert_eq!(
            t.unwrap(),
            T {
                name: "0100".into(),
                count: 7,
                on: true,
                list: vec!["x".into()]
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
                "2:1: t.cuont: unknown field (did you mean \"count\"?)",
                "3:8: t.count: expected a whole number (0 to 255), found \"lots\"",
                "4:5: t.on: expected true or false, found \"yes\" (YAML 1.2 has no yes/no booleans)",
            ]
        );
    }

    #[test]
    fn missing_and_wrong_shape() {
        let (t, e) = de("count: 1\n");
        assert!(t.is_none());
        assert_eq!(e, vec!["1:1: t.name: missing (required field)"]);
        let (_, e) = de("name: [a]\n");
        assert_eq!(e, vec!["1:7: t.name: expected text, found a list"]);
        let (_, e) = de("- 1\n");
        assert_eq!(e, vec!["1:1: t: expected a mapping, found a list"]);
        let (_, e) = de("name: x\ncount: 300\n");
        assert_eq!(
            e,
            vec!["2:8: t.count: expected a whole number (0 to 255), found \"300\""]
        );
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
}
