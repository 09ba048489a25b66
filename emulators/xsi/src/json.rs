//! The Xsi JSON form: the BadgerFish convention as Xsi applies it.
//!
//! Mapping (both directions):
//!
//! | XML | JSON |
//! |---|---|
//! | root `<R xmlns="…xsi">` | `{"R": {"@xmlns": {"$": "http://schema.broadsoft.com/xsi"}, …}}` |
//! | child element `<c>…</c>` | property `"c": {…}` |
//! | text `<c>v</c>` | `"c": {"$": "v"}` (always a string) |
//! | empty `<c/>` | `"c": {}` |
//! | attribute `a="v"` | `"@a": "v"` |
//! | `xsi:nil="true"` | `"@xsi:nil": "true"`, and `"xsi"` declared in the root's `@xmlns` |
//! | two or more siblings `<c/><c/>` | `"c": [{…}, {…}]` |
//!
//! A single occurrence of an element that *could* repeat is written as an object, never as a
//! one-element array: Xsi decides by the instance, not the schema, and clients must cope
//! (spec notes 7.1 item 9). [`JsonOptions::arrays`] can force arrays for named elements when
//! a test wants the other shape. Reading accepts both shapes everywhere, plus a few
//! conveniences clients send in practice: a bare scalar (`"active": true`) for a text-only
//! element, numbers and booleans as text, and `null` for a nil element.

use bytes::{BufMut, Bytes};
use serde_json::Value;

use crate::xml::{
    Element, Limits, NIL_ATTR, Name, ParseError, ParseErrorKind, ParseOptions, Position,
    XSI_INSTANCE_NS, XSI_NS, is_valid_name, is_xml_char,
};

/// Output options for [`write_json_with`].
#[derive(Clone, Copy, Debug, Default)]
pub struct JsonOptions<'a> {
    /// Element names always written as arrays, even when they occur once.
    pub arrays: &'a [&'a str],
}

impl Element {
    /// Serialises the element as an Xsi JSON document (UTF-8).
    pub fn to_json(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(256);
        write_json_with(self, &mut out, &JsonOptions::default());
        out
    }

    /// Like [`Element::to_json`], as [`Bytes`] (no copy).
    pub fn to_json_bytes(&self) -> Bytes {
        Bytes::from(self.to_json())
    }

    /// The JSON form as a [`Value`], for assertions and tooling (the writer does not build
    /// one).
    pub fn to_json_value(&self) -> Value {
        serde_json::from_slice(&self.to_json()).unwrap_or(Value::Null)
    }

    /// Parses a JSON body with default [`ParseOptions`].
    pub fn from_json(input: &[u8]) -> Result<Element, ParseError> {
        parse_json(input, &ParseOptions::default())
    }
}

/// Appends the Xsi JSON form of `root` to `out`, written directly (no intermediate
/// [`Value`]).
pub fn write_json<B: BufMut>(root: &Element, out: &mut B) {
    write_json_with(root, out, &JsonOptions::default());
}

/// [`write_json`] with options.
pub fn write_json_with<B: BufMut>(root: &Element, out: &mut B, opts: &JsonOptions<'_>) {
    out.put_u8(b'{');
    write_str(out, &root.name);
    out.put_u8(b':');
    write_object(out, root, opts, true);
    out.put_u8(b'}');
}

fn write_object<B: BufMut>(out: &mut B, el: &Element, opts: &JsonOptions<'_>, root: bool) {
    out.put_u8(b'{');
    let mut first = true;
    let mut sep = |out: &mut B| {
        if !std::mem::take(&mut first) {
            out.put_u8(b',');
        }
    };
    if root {
        sep(out);
        out.put_slice(b"\"@xmlns\":{\"$\":");
        write_str(out, XSI_NS);
        if el.uses_xsi_instance() {
            out.put_slice(b",\"xsi\":");
            write_str(out, XSI_INSTANCE_NS);
        }
        out.put_u8(b'}');
    }
    for (name, value) in &el.attrs {
        sep(out);
        out.put_slice(b"\"@");
        write_str_body(out, name);
        out.put_slice(b"\":");
        write_str(out, value);
    }
    if !el.text.is_empty() {
        sep(out);
        out.put_slice(b"\"$\":");
        write_str(out, &el.text);
    }
    // Group siblings by name in order of first appearance. `seen` holds the distinct names
    // so far, which is short even for long lists (one name repeated).
    let mut seen: Vec<&str> = Vec::new();
    for (i, child) in el.children.iter().enumerate() {
        let name: &str = &child.name;
        if seen.contains(&name) {
            continue;
        }
        seen.push(name);
        sep(out);
        write_str(out, name);
        out.put_u8(b':');
        let repeated = el.children[i + 1..].iter().any(|c| c.name == name);
        if repeated || opts.arrays.contains(&name) {
            out.put_u8(b'[');
            let same = el.children[i..].iter().filter(|c| c.name == name);
            for (k, c) in same.enumerate() {
                if k > 0 {
                    out.put_u8(b',');
                }
                write_object(out, c, opts, false);
            }
            out.put_u8(b']');
        } else {
            write_object(out, child, opts, false);
        }
    }
    out.put_u8(b'}');
}

fn write_str<B: BufMut>(out: &mut B, s: &str) {
    out.put_u8(b'"');
    write_str_body(out, s);
    out.put_u8(b'"');
}

/// JSON string escaping; copies unescaped runs as slices.
fn write_str_body<B: BufMut>(out: &mut B, s: &str) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let bytes = s.as_bytes();
    let mut start = 0;
    for (i, &b) in bytes.iter().enumerate() {
        let esc: &[u8] = match b {
            b'"' => b"\\\"",
            b'\\' => b"\\\\",
            b'\n' => b"\\n",
            b'\r' => b"\\r",
            b'\t' => b"\\t",
            0x00..=0x1F => b"",
            _ => continue,
        };
        out.put_slice(&bytes[start..i]);
        start = i + 1;
        if esc.is_empty() {
            out.put_slice(&[
                b'\\',
                b'u',
                b'0',
                b'0',
                HEX[(b >> 4) as usize],
                HEX[(b & 0xF) as usize],
            ]);
        } else {
            out.put_slice(esc);
        }
    }
    out.put_slice(&bytes[start..]);
}

/// Parses a JSON request body into an [`Element`] tree, enforcing `opts.limits`.
///
/// JSON is always UTF-8 (RFC 8259), so `opts.charset` and `opts.namespaces` are not used:
/// a missing `@xmlns` is read as the Xsi namespace, a different one is rejected.
pub fn parse_json(input: &[u8], opts: &ParseOptions) -> Result<Element, ParseError> {
    let limit = opts.limits.max_bytes;
    if input.len() > limit {
        return Err(ParseError::new(ParseErrorKind::TooLarge {
            size: input.len(),
            limit,
        }));
    }
    let input = input.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(input);
    if input.iter().all(u8::is_ascii_whitespace) {
        return Err(ParseError::new(ParseErrorKind::Empty));
    }
    // serde_json's own recursion limit (128) keeps hostile nesting off the stack.
    let value: Value = serde_json::from_slice(input).map_err(|e| {
        let kind = ParseErrorKind::Syntax(e.to_string());
        let text = String::from_utf8_lossy(input);
        let offset = offset_of(&text, e.line(), e.column());
        ParseError::at(
            kind,
            Position {
                offset,
                line: e.line(),
                column: e.column(),
            },
        )
    })?;
    from_json_value(&value, &opts.limits)
}

/// Byte offset of a 1-based line/column pair (serde_json reports columns in bytes).
fn offset_of(text: &str, line: usize, column: usize) -> usize {
    let line_start: usize = text
        .split_inclusive('\n')
        .take(line.saturating_sub(1))
        .map(str::len)
        .sum();
    (line_start + column.saturating_sub(1)).min(text.len())
}

/// Converts a parsed JSON value in Xsi form into an [`Element`] tree.
pub fn from_json_value(value: &Value, limits: &Limits) -> Result<Element, ParseError> {
    let Value::Object(map) = value else {
        return Err(shape("the document must be an object"));
    };
    let mut entries = map.iter();
    let (Some((name, content)), None) = (entries.next(), entries.next()) else {
        return Err(shape("the document must have exactly one root property"));
    };
    let mut cx = Converter {
        limits,
        elements: 0,
        xsi_prefixes: Vec::new(),
    };
    cx.element(name, content, 1, true)
}

struct Converter<'a> {
    limits: &'a Limits,
    elements: usize,
    /// Prefixes bound to the XMLSchema-instance namespace by `@xmlns` objects in scope,
    /// with the depth that declared them.
    xsi_prefixes: Vec<(String, usize)>,
}

impl Converter<'_> {
    fn element(
        &mut self,
        key: &str,
        content: &Value,
        depth: usize,
        root: bool,
    ) -> Result<Element, ParseError> {
        self.elements += 1;
        if self.elements > self.limits.max_elements {
            return Err(ParseError::new(ParseErrorKind::TooManyElements {
                limit: self.limits.max_elements,
            }));
        }
        if depth > self.limits.max_depth {
            return Err(ParseError::new(ParseErrorKind::TooDeep {
                limit: self.limits.max_depth,
            }));
        }
        let name = element_name(key)?;
        let mut el = Element::new(Name::Owned(name.to_owned()));
        let map = match content {
            Value::Object(map) => map,
            Value::Null if !root => {
                el.set_attr(NIL_ATTR, "true");
                return Ok(el);
            }
            Value::String(_) | Value::Number(_) | Value::Bool(_) => {
                el.text = scalar(content).unwrap_or(Ok(String::new()))?;
                return Ok(el);
            }
            _ => return Err(shape(&format!("\"{}\" must be an object", truncate(key)))),
        };
        // Namespace declarations first: they govern the element's own attributes.
        if let Some(xmlns) = map.get("@xmlns") {
            self.declare(xmlns, depth)?;
        }
        let mut attrs = 0;
        for (k, v) in map {
            if k == "@xmlns" {
                continue;
            }
            if let Some(attr) = k.strip_prefix('@') {
                attrs += 1;
                if attrs > self.limits.max_attributes {
                    return Err(ParseError::new(ParseErrorKind::TooManyAttributes {
                        limit: self.limits.max_attributes,
                    }));
                }
                let Some(value) = scalar(v) else {
                    return Err(shape(&format!(
                        "attribute \"{}\" must be a string",
                        truncate(k)
                    )));
                };
                let value = value?;
                if let Some(name) = self.attr_name(attr)? {
                    el.set_attr(name, value);
                }
            } else if k == "$" {
                match v {
                    Value::Null => {}
                    _ => {
                        el.text = scalar(v).ok_or_else(|| shape("\"$\" must be a string"))??;
                    }
                }
            } else if let Value::Array(items) = v {
                for item in items {
                    if item.is_array() {
                        return Err(shape(&format!("\"{}\" nests arrays", truncate(k))));
                    }
                    let child = self.element(k, item, depth + 1, false)?;
                    el.children.push(child);
                }
            } else {
                let child = self.element(k, v, depth + 1, false)?;
                el.children.push(child);
            }
        }
        self.xsi_prefixes.retain(|(_, d)| *d < depth);
        Ok(el)
    }

    /// Reads an `@xmlns` object: `"$"` must be the Xsi namespace, prefixes bound to the
    /// XMLSchema-instance namespace are remembered.
    fn declare(&mut self, xmlns: &Value, depth: usize) -> Result<(), ParseError> {
        let Value::Object(decls) = xmlns else {
            return Err(shape("\"@xmlns\" must be an object"));
        };
        for (prefix, uri) in decls {
            let Some(uri) = uri.as_str() else {
                return Err(shape("namespace URIs must be strings"));
            };
            if prefix == "$" {
                if uri != XSI_NS {
                    return Err(ParseError::new(ParseErrorKind::WrongNamespace {
                        element: String::new(),
                        namespace: Some(truncate(uri)),
                    }));
                }
            } else if uri == XSI_INSTANCE_NS {
                self.xsi_prefixes.push((prefix.clone(), depth));
            }
        }
        Ok(())
    }

    /// Canonical attribute name, `None` for attributes of foreign namespaces.
    fn attr_name(&self, attr: &str) -> Result<Option<Name>, ParseError> {
        match attr.split_once(':') {
            None if is_valid_name(attr) => Ok(Some(Name::Owned(attr.to_owned()))),
            None => Err(ParseError::new(ParseErrorKind::InvalidName(truncate(attr)))),
            Some((prefix, local)) => {
                if !is_valid_name(local) || !is_valid_name(prefix) {
                    return Err(ParseError::new(ParseErrorKind::InvalidName(truncate(attr))));
                }
                // "xsi" is understood even when undeclared: clients often omit @xmlns.
                let is_xsi = self.xsi_prefixes.iter().any(|(p, _)| p == prefix)
                    || (prefix == "xsi" && !self.xsi_prefixes.iter().any(|(p, _)| p == "xsi"));
                Ok(is_xsi.then(|| Name::Owned(format!("xsi:{local}"))))
            }
        }
    }
}

fn element_name(key: &str) -> Result<&str, ParseError> {
    if key.contains(':') {
        return Err(ParseError::new(ParseErrorKind::WrongNamespace {
            element: truncate(key),
            namespace: None,
        }));
    }
    if !is_valid_name(key) {
        return Err(ParseError::new(ParseErrorKind::InvalidName(truncate(key))));
    }
    Ok(key)
}

/// Text of a scalar: strings as they are, numbers and booleans in their JSON spelling.
/// `Some(Err)` for strings XML could not carry, so JSON and XML bodies accept the same text.
fn scalar(v: &Value) -> Option<Result<String, ParseError>> {
    match v {
        Value::String(s) => Some(match s.chars().find(|c| !is_xml_char(*c)) {
            Some(c) => Err(ParseError::new(ParseErrorKind::InvalidChar(c as u32))),
            None => Ok(s.clone()),
        }),
        Value::Number(n) => Some(Ok(n.to_string())),
        Value::Bool(b) => Some(Ok(b.to_string())),
        _ => None,
    }
}

fn shape(msg: &str) -> ParseError {
    ParseError::new(ParseErrorKind::JsonShape(msg.to_owned()))
}

fn truncate(s: &str) -> String {
    const MAX: usize = 64;
    match s.char_indices().nth(MAX) {
        Some((i, _)) => format!("{}…", &s[..i]),
        None => s.to_owned(),
    }
}

#[cfg(test)]
mod tests;
