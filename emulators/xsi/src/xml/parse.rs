//! Hardened parsing of request bodies into an [`Element`] tree.
//!
//! Request bodies come from the system under test, so the parser assumes hostility: the
//! size is capped before any work is done, nesting depth, element count and attributes per
//! element are capped while parsing, and any document type declaration is refused outright
//! (no DTD means no entity expansion, so neither XXE nor "billion laughs" can happen).
//! Only the five predefined entities and character references are understood.

use std::borrow::Cow;
use std::fmt;

use quick_xml::XmlVersion;
use quick_xml::events::{BytesStart, Event};
use quick_xml::name::{Namespace, ResolveResult};
use quick_xml::reader::NsReader;

use super::{Charset, Element, Name, XSI_INSTANCE_NS, XSI_NS, is_valid_name, is_xml_char};

/// Resource limits applied to every request body, XML or JSON.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    /// Largest accepted body in bytes (default 64 KiB; the largest legitimate Xsi request
    /// body, a full service document, is a few KiB).
    pub max_bytes: usize,
    /// Deepest accepted element nesting, the root being depth 1 (default 32).
    pub max_depth: usize,
    /// Most elements in one document (default 4096).
    pub max_elements: usize,
    /// Most attributes on one element, namespace declarations included (default 16).
    pub max_attributes: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_bytes: 64 * 1024,
            max_depth: 32,
            max_elements: 4096,
            max_attributes: 16,
        }
    }
}

/// How strictly element namespaces are checked.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum NamespacePolicy {
    /// Every element must be in the Xsi namespace, as schema validation on a real XSP
    /// demands (`elementFormDefault="qualified"`).
    #[default]
    Strict,
    /// Elements without any namespace are accepted as Xsi elements (for clients that forget
    /// `xmlns`); elements in a *different* namespace are still rejected.
    AllowUnqualified,
}

/// Everything that steers parsing of one body.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ParseOptions {
    /// Resource limits.
    pub limits: Limits,
    /// Namespace strictness (XML only; JSON treats a missing `@xmlns` as the Xsi namespace).
    pub namespaces: NamespacePolicy,
    /// Charset from the request's `Content-Type`; when present it overrides the XML
    /// declaration, as RFC 7303 prescribes for `application/xml`.
    pub charset: Option<Charset>,
}

/// Where in the body a problem was found.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Position {
    /// Byte offset into the (decoded) body.
    pub offset: usize,
    /// 1-based line.
    pub line: usize,
    /// 1-based column, counted in characters.
    pub column: usize,
}

impl Position {
    /// Computes line and column of `offset` in `text`; only called on the error path.
    pub(crate) fn locate(text: &str, offset: usize) -> Self {
        let mut offset = offset.min(text.len());
        while !text.is_char_boundary(offset) {
            offset -= 1;
        }
        let before = &text[..offset];
        let line = before.bytes().filter(|&b| b == b'\n').count() + 1;
        let line_start = before.rfind('\n').map_or(0, |i| i + 1);
        let column = before[line_start..].chars().count() + 1;
        Position {
            offset,
            line,
            column,
        }
    }
}

/// A body that could not be turned into an [`Element`] tree.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ParseError {
    /// What went wrong.
    pub kind: ParseErrorKind,
    /// Where, when known.
    pub position: Option<Position>,
}

impl ParseError {
    pub(crate) fn new(kind: ParseErrorKind) -> Self {
        ParseError {
            kind,
            position: None,
        }
    }

    pub(crate) fn at(kind: ParseErrorKind, position: Position) -> Self {
        ParseError {
            kind,
            position: Some(position),
        }
    }

    /// Whether the body was refused for exceeding a size limit (HTTP 413 material).
    pub fn is_too_large(&self) -> bool {
        matches!(self.kind, ParseErrorKind::TooLarge { .. })
    }
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.position {
            Some(p) => write!(f, "{} (line {}, column {})", self.kind, p.line, p.column),
            None => write!(f, "{}", self.kind),
        }
    }
}

impl std::error::Error for ParseError {}

/// The reasons a body is rejected.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ParseErrorKind {
    /// The body is larger than [`Limits::max_bytes`].
    #[error("body of {size} bytes exceeds the limit of {limit} bytes")]
    TooLarge {
        /// Body size.
        size: usize,
        /// The limit.
        limit: usize,
    },
    /// Elements nest deeper than [`Limits::max_depth`].
    #[error("elements nest deeper than {limit} levels")]
    TooDeep {
        /// The limit.
        limit: usize,
    },
    /// More elements than [`Limits::max_elements`].
    #[error("document has more than {limit} elements")]
    TooManyElements {
        /// The limit.
        limit: usize,
    },
    /// An element has more attributes than [`Limits::max_attributes`].
    #[error("element has more than {limit} attributes")]
    TooManyAttributes {
        /// The limit.
        limit: usize,
    },
    /// A `<!DOCTYPE …>` was present.
    #[error("document type declarations are not accepted")]
    Dtd,
    /// An entity other than the five predefined ones was referenced.
    #[error("unknown entity &{0};")]
    UnknownEntity(String),
    /// A character XML 1.0 does not allow (raw or as a character reference).
    #[error("character U+{0:04X} is not allowed in XML")]
    InvalidChar(u32),
    /// The bytes are not valid UTF-8.
    #[error("body is not valid UTF-8")]
    InvalidUtf8,
    /// The declared or detected encoding is not UTF-8 or ISO-8859-1.
    #[error("unsupported encoding {0:?}")]
    UnsupportedEncoding(String),
    /// The XML declaration names a version other than 1.0.
    #[error("unsupported XML version {0:?}")]
    UnsupportedVersion(String),
    /// No root element (empty or whitespace-only body).
    #[error("body contains no document")]
    Empty,
    /// Non-whitespace content outside the root element, or a second root.
    #[error("content outside the root element")]
    OutsideRoot,
    /// An element mixes text and child elements, which no Xsi type allows.
    #[error("element <{0}> mixes text with child elements")]
    MixedContent(String),
    /// An element outside the Xsi namespace.
    #[error("element <{element}> is in namespace {namespace:?}, not {XSI_NS}")]
    WrongNamespace {
        /// Local name of the element.
        element: String,
        /// Its namespace (`None` when unqualified).
        namespace: Option<String>,
    },
    /// An element or attribute name outside `[A-Za-z_][A-Za-z0-9._-]*`.
    #[error("invalid name {0:?}")]
    InvalidName(String),
    /// The JSON body does not have the shape of a BadgerFish document.
    #[error("JSON does not map to an Xsi document: {0}")]
    JsonShape(String),
    /// Any other well-formedness error (from the XML or JSON tokenizer).
    #[error("malformed body: {0}")]
    Syntax(String),
}

impl Element {
    /// Parses an XML body with default [`ParseOptions`].
    pub fn from_xml(input: &[u8]) -> Result<Element, ParseError> {
        parse_xml(input, &ParseOptions::default())
    }
}

/// Parses an XML request body into an [`Element`] tree, enforcing `opts`.
pub fn parse_xml(input: &[u8], opts: &ParseOptions) -> Result<Element, ParseError> {
    let limit = opts.limits.max_bytes;
    if input.len() > limit {
        return Err(ParseError::new(ParseErrorKind::TooLarge {
            size: input.len(),
            limit,
        }));
    }
    let text = decode(input, opts.charset)?;
    Parser::new(&text, opts).run()
}

/// Turns the body into a `str`: strips a UTF-8 BOM, refuses UTF-16/32, and honours the
/// charset from `Content-Type` or else the XML declaration.
fn decode(input: &[u8], hint: Option<Charset>) -> Result<Cow<'_, str>, ParseError> {
    let input = input.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(input);
    if input.starts_with(b"\xFE\xFF")
        || input.starts_with(b"\xFF\xFE")
        || input.starts_with(b"\0<")
        || input.starts_with(b"<\0")
    {
        return Err(ParseError::new(ParseErrorKind::UnsupportedEncoding(
            "UTF-16/32".into(),
        )));
    }
    let charset = match hint {
        Some(cs) => cs,
        None => match declared_encoding(input) {
            None => Charset::Utf8,
            Some(label) => Charset::from_label(label).ok_or_else(|| {
                ParseError::new(ParseErrorKind::UnsupportedEncoding(label.to_owned()))
            })?,
        },
    };
    match charset {
        Charset::Utf8 => match std::str::from_utf8(input) {
            Ok(s) => Ok(Cow::Borrowed(s)),
            Err(e) => {
                // Everything before the bad byte is valid, so it can be used to locate it.
                let valid = std::str::from_utf8(&input[..e.valid_up_to()]).unwrap_or("");
                Err(ParseError::at(
                    ParseErrorKind::InvalidUtf8,
                    Position::locate(valid, valid.len()),
                ))
            }
        },
        Charset::Latin1 => Ok(Cow::Owned(input.iter().map(|&b| b as char).collect())),
    }
}

/// The `encoding` pseudo-attribute of a leading XML declaration, read from raw bytes
/// (the declaration itself is ASCII whatever the encoding).
fn declared_encoding(input: &[u8]) -> Option<&str> {
    let decl = input.strip_prefix(b"<?xml")?;
    let end = decl.windows(2).take(256).position(|w| w == b"?>")?;
    let decl = std::str::from_utf8(&decl[..end]).ok()?;
    let rest = &decl[decl.find("encoding")? + "encoding".len()..];
    let rest = rest.trim_start().strip_prefix('=')?.trim_start();
    let quote = rest.chars().next().filter(|c| *c == '"' || *c == '\'')?;
    let rest = &rest[1..];
    Some(&rest[..rest.find(quote)?])
}

/// An element under construction.
struct Open {
    el: Element,
    /// Whether the element already has a child (text must then be whitespace).
    has_children: bool,
}

struct Parser<'a> {
    text: &'a str,
    reader: NsReader<&'a [u8]>,
    opts: &'a ParseOptions,
    stack: Vec<Open>,
    root: Option<Element>,
    elements: usize,
    seen_event: bool,
}

impl<'a> Parser<'a> {
    fn new(text: &'a str, opts: &'a ParseOptions) -> Self {
        let mut reader = NsReader::from_str(text);
        // Every xmlns declaration costs an allocation and slows prefix lookups.
        reader
            .resolver_mut()
            .set_max_namespace_bindings(opts.limits.max_attributes.saturating_mul(4));
        Parser {
            text,
            reader,
            opts,
            stack: Vec::new(),
            root: None,
            elements: 0,
            seen_event: false,
        }
    }

    fn err(&self, kind: ParseErrorKind, offset: u64) -> ParseError {
        ParseError::at(kind, Position::locate(self.text, offset as usize))
    }

    fn run(mut self) -> Result<Element, ParseError> {
        loop {
            let start = self.reader.buffer_position();
            let (ns, event) = match self.reader.read_resolved_event() {
                Ok((ns, event)) => (namespace_of(&ns), event),
                Err(e) => {
                    let pos = self.reader.error_position();
                    return Err(self.err(ParseErrorKind::Syntax(e.to_string()), pos));
                }
            };
            let first = !self.seen_event;
            self.seen_event = true;
            match event {
                Event::Decl(decl) => {
                    if !first {
                        return Err(self.err(
                            ParseErrorKind::Syntax("XML declaration not at the start".into()),
                            start,
                        ));
                    }
                    let version = decl
                        .version()
                        .map_err(|e| self.err(ParseErrorKind::Syntax(e.to_string()), start))?;
                    if version != "1.0" {
                        return Err(self.err(
                            ParseErrorKind::UnsupportedVersion(version.into_owned()),
                            start,
                        ));
                    }
                }
                Event::DocType(_) => return Err(self.err(ParseErrorKind::Dtd, start)),
                Event::PI(_) | Event::Comment(_) => {}
                Event::Start(e) => {
                    let el = self.open(&e, ns, start)?;
                    self.stack.push(Open {
                        el,
                        has_children: false,
                    });
                }
                Event::Empty(e) => {
                    let el = self.open(&e, ns, start)?;
                    self.close(el, start)?;
                }
                Event::End(_) => {
                    // quick-xml has already matched the end tag against the open one.
                    let Some(open) = self.stack.pop() else {
                        return Err(
                            self.err(ParseErrorKind::Syntax("unexpected end tag".into()), start)
                        );
                    };
                    let mut el = open.el;
                    if open.has_children {
                        // Whitespace between children is formatting, not content.
                        el.text.clear();
                    }
                    self.close(el, start)?;
                }
                Event::Text(t) => {
                    let content = t.xml10_content();
                    self.text_content(&content, start)?;
                }
                Event::CData(t) => {
                    let content = t.xml10_content();
                    self.text_content(&content, start)?;
                }
                Event::GeneralRef(r) => {
                    let ch = if r.is_char_ref() {
                        let c = r
                            .resolve_char_ref()
                            .map_err(|e| self.err(ParseErrorKind::Syntax(e.to_string()), start))?
                            .unwrap_or('\u{0}');
                        if !is_xml_char(c) {
                            return Err(self.err(ParseErrorKind::InvalidChar(c as u32), start));
                        }
                        c
                    } else {
                        match &*r {
                            "lt" => '<',
                            "gt" => '>',
                            "amp" => '&',
                            "apos" => '\'',
                            "quot" => '"',
                            other => {
                                return Err(
                                    self.err(ParseErrorKind::UnknownEntity(truncate(other)), start)
                                );
                            }
                        }
                    };
                    let mut buf = [0u8; 4];
                    self.text_content_raw(ch.encode_utf8(&mut buf), start)?;
                }
                Event::Eof => break,
            }
        }
        if let Some(open) = self.stack.last() {
            return Err(self.err(
                ParseErrorKind::Syntax(format!("element <{}> is not closed", open.el.name)),
                self.text.len() as u64,
            ));
        }
        self.root
            .ok_or_else(|| ParseError::new(ParseErrorKind::Empty))
    }

    /// Creates the element for a start tag, checking limits, name, namespace and attributes.
    fn open(&mut self, e: &BytesStart<'_>, ns: Ns, start: u64) -> Result<Element, ParseError> {
        if self.stack.is_empty() && self.root.is_some() {
            return Err(self.err(ParseErrorKind::OutsideRoot, start));
        }
        self.elements += 1;
        let limits = &self.opts.limits;
        if self.elements > limits.max_elements {
            return Err(self.err(
                ParseErrorKind::TooManyElements {
                    limit: limits.max_elements,
                },
                start,
            ));
        }
        if self.stack.len() + 1 > limits.max_depth {
            return Err(self.err(
                ParseErrorKind::TooDeep {
                    limit: limits.max_depth,
                },
                start,
            ));
        }
        let qname = e.name();
        let local = qname.local_name();
        let local: &str = local.as_ref();
        if !is_valid_name(local) {
            return Err(self.err(ParseErrorKind::InvalidName(truncate(local)), start));
        }
        match ns {
            Ns::Xsi => {}
            Ns::None if self.opts.namespaces == NamespacePolicy::AllowUnqualified => {}
            Ns::None => {
                return Err(self.err(
                    ParseErrorKind::WrongNamespace {
                        element: local.to_owned(),
                        namespace: None,
                    },
                    start,
                ));
            }
            Ns::Other(uri) => {
                return Err(self.err(
                    ParseErrorKind::WrongNamespace {
                        element: local.to_owned(),
                        namespace: Some(uri),
                    },
                    start,
                ));
            }
        }
        let mut el = Element::new(Name::Owned(local.to_owned()));
        let mut count = 0;
        for attr in e.attributes() {
            let attr = attr.map_err(|e| self.err(ParseErrorKind::Syntax(e.to_string()), start))?;
            count += 1;
            if count > limits.max_attributes {
                return Err(self.err(
                    ParseErrorKind::TooManyAttributes {
                        limit: limits.max_attributes,
                    },
                    start,
                ));
            }
            let key = attr.key;
            if key.as_namespace_binding().is_some() {
                continue;
            }
            let (ans, alocal) = self.reader.resolver().resolve_attribute(key);
            let alocal: &str = alocal.as_ref();
            if !is_valid_name(alocal) {
                return Err(self.err(ParseErrorKind::InvalidName(truncate(alocal)), start));
            }
            let name: Name = match ans {
                ResolveResult::Unbound => Name::Owned(alocal.to_owned()),
                ResolveResult::Bound(Namespace(uri)) if uri == XSI_INSTANCE_NS => {
                    Name::Owned(format!("xsi:{alocal}"))
                }
                // Attributes of foreign namespaces carry nothing Xsi understands.
                ResolveResult::Bound(_) => continue,
                ResolveResult::Unknown(prefix) => {
                    return Err(self.err(
                        ParseErrorKind::Syntax(format!(
                            "unknown namespace prefix {:?}",
                            truncate(&prefix)
                        )),
                        start,
                    ));
                }
            };
            let value = attr
                .normalized_value(XmlVersion::Implicit1_0)
                .map_err(|e| self.err(ParseErrorKind::Syntax(e.to_string()), start))?;
            if let Some(c) = value.chars().find(|c| !is_xml_char(*c)) {
                return Err(self.err(ParseErrorKind::InvalidChar(c as u32), start));
            }
            el.set_attr(name, value.into_owned());
        }
        Ok(el)
    }

    /// Attaches a finished element to its parent, or makes it the root.
    fn close(&mut self, el: Element, start: u64) -> Result<(), ParseError> {
        match self.stack.last_mut() {
            Some(parent) => {
                if !parent.has_children {
                    if !is_whitespace(&parent.el.text) {
                        let name = parent.el.name.to_string();
                        return Err(self.err(ParseErrorKind::MixedContent(name), start));
                    }
                    parent.has_children = true;
                    parent.el.text.clear();
                }
                parent.el.children.push(el);
            }
            None => self.root = Some(el),
        }
        Ok(())
    }

    /// Character data as it appeared in the source: checked for forbidden characters.
    fn text_content(&mut self, content: &str, start: u64) -> Result<(), ParseError> {
        if let Some(c) = content.chars().find(|c| !is_xml_char(*c)) {
            return Err(self.err(ParseErrorKind::InvalidChar(c as u32), start));
        }
        self.text_content_raw(content, start)
    }

    fn text_content_raw(&mut self, content: &str, start: u64) -> Result<(), ParseError> {
        match self.stack.last_mut() {
            None if is_whitespace(content) => Ok(()),
            None => Err(self.err(ParseErrorKind::OutsideRoot, start)),
            Some(open) if open.has_children => {
                if is_whitespace(content) {
                    Ok(())
                } else {
                    let name = open.el.name.to_string();
                    Err(self.err(ParseErrorKind::MixedContent(name), start))
                }
            }
            Some(open) => {
                open.el.text.push_str(content);
                Ok(())
            }
        }
    }
}

/// The namespace of an element, reduced to what the parser needs.
enum Ns {
    Xsi,
    None,
    Other(String),
}

fn namespace_of(ns: &ResolveResult<'_>) -> Ns {
    match ns {
        ResolveResult::Bound(Namespace(uri)) if *uri == XSI_NS => Ns::Xsi,
        ResolveResult::Bound(Namespace(uri)) => Ns::Other(truncate(uri)),
        ResolveResult::Unbound => Ns::None,
        ResolveResult::Unknown(prefix) => Ns::Other(format!("{}:", truncate(prefix))),
    }
}

fn is_whitespace(s: &str) -> bool {
    s.bytes().all(|b| matches!(b, b' ' | b'\t' | b'\n' | b'\r'))
}

/// Echoing attacker-controlled names into errors is fine, but not at any length.
fn truncate(s: &str) -> String {
    const MAX: usize = 64;
    if s.len() <= MAX {
        return s.to_owned();
    }
    let mut end = MAX;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", &s[..end])
}

#[cfg(test)]
mod tests;
