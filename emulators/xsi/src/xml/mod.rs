//! The XML document model shared by every Xsi body: one [`Element`] tree, a writer and a
//! hardened parser.
//!
//! The model is deliberately small. Xsi documents never use mixed content, comments or
//! processing instructions that carry meaning, and every element lives in one namespace, so
//! an element is a local name, unqualified attributes, child elements and text.
//! Attributes from the XMLSchema-instance namespace (`xsi:nil`, `xsi:type`) are kept under
//! the canonical prefix `xsi:` whatever prefix the sender used.

mod parse;
mod write;

use std::borrow::Cow;

pub(crate) use write::{write_escaped, write_prefixed};

pub use parse::{
    Limits, NamespacePolicy, ParseError, ParseErrorKind, ParseOptions, Position, parse_xml,
};

/// The Xsi namespace; the default namespace of every Xsi document.
pub const XSI_NS: &str = "http://schema.broadsoft.com/xsi";

/// The XML Schema instance namespace, needed for `xsi:nil` and `xsi:type`.
pub const XSI_INSTANCE_NS: &str = "http://www.w3.org/2001/XMLSchema-instance";

/// Canonical name of the nil attribute in [`Element::attrs`].
pub const NIL_ATTR: &str = "xsi:nil";

/// Element and attribute names: static for documents built in code (no allocation), owned
/// for parsed ones.
pub type Name = Cow<'static, str>;

/// Character set of a serialised XML body.
///
/// Xsi answers profile, service and directory commands in a charset derived from the user's
/// locale (ISO-8859-1 in the spec's examples) and call commands in UTF-8. bwlab uses UTF-8
/// unless a caller asks for Latin-1 to test a client's charset handling.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum Charset {
    /// UTF-8, the default for every body bwlab writes.
    #[default]
    Utf8,
    /// ISO-8859-1; characters above U+00FF are written as character references.
    Latin1,
}

impl Charset {
    /// The name used in the XML declaration and the `charset` media-type parameter.
    pub fn label(self) -> &'static str {
        match self {
            Charset::Utf8 => "UTF-8",
            Charset::Latin1 => "ISO-8859-1",
        }
    }

    /// Recognises a charset label (case-insensitive), as found in a declaration or header.
    pub fn from_label(label: &str) -> Option<Self> {
        let label = label.trim().trim_matches('"');
        const UTF8: [&str; 4] = ["utf-8", "utf8", "us-ascii", "ascii"];
        const LATIN1: [&str; 6] = [
            "iso-8859-1",
            "iso8859-1",
            "iso_8859-1",
            "latin1",
            "latin-1",
            "l1",
        ];
        if UTF8.iter().any(|l| label.eq_ignore_ascii_case(l)) {
            Some(Charset::Utf8)
        } else if LATIN1.iter().any(|l| label.eq_ignore_ascii_case(l)) {
            Some(Charset::Latin1)
        } else {
            None
        }
    }
}

/// One XML element of an Xsi document.
///
/// `name` is the local name (the namespace is implied: always [`XSI_NS`]). `text` is the
/// character content; elements with children carry no text because Xsi has no mixed content.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Element {
    /// Local name, e.g. `DoNotDisturb`.
    pub name: Name,
    /// Attributes in document order; unqualified, except `xsi:`-prefixed ones.
    pub attrs: Vec<(Name, String)>,
    /// Child elements in document order (order matters for schema validity).
    pub children: Vec<Element>,
    /// Character content (already unescaped).
    pub text: String,
}

impl Element {
    /// An empty element.
    pub fn new(name: impl Into<Name>) -> Self {
        Element {
            name: name.into(),
            ..Element::default()
        }
    }

    /// An element holding only text, e.g. `<active>true</active>`.
    pub fn leaf(name: impl Into<Name>, text: impl Into<String>) -> Self {
        Element {
            name: name.into(),
            text: text.into(),
            ..Element::default()
        }
    }

    /// An element marked `xsi:nil="true"`, the Xsi way to clear a nillable value.
    pub fn nil(name: impl Into<Name>) -> Self {
        Element::new(name).with_attr(NIL_ATTR, "true")
    }

    /// Builder: adds (or replaces) an attribute.
    pub fn with_attr(mut self, name: impl Into<Name>, value: impl Into<String>) -> Self {
        self.set_attr(name, value);
        self
    }

    /// Builder: appends a child.
    pub fn with_child(mut self, child: Element) -> Self {
        self.children.push(child);
        self
    }

    /// Appends a child.
    pub fn push(&mut self, child: Element) {
        self.children.push(child);
    }

    /// Appends a text-only child.
    pub fn push_leaf(&mut self, name: impl Into<Name>, text: impl Into<String>) {
        self.children.push(Element::leaf(name, text));
    }

    /// Sets an attribute, replacing an existing one with the same name.
    pub fn set_attr(&mut self, name: impl Into<Name>, value: impl Into<String>) {
        let name = name.into();
        let value = value.into();
        match self.attrs.iter_mut().find(|(n, _)| *n == name) {
            Some(slot) => slot.1 = value,
            None => self.attrs.push((name, value)),
        }
    }

    /// The value of an attribute.
    pub fn attr(&self, name: &str) -> Option<&str> {
        self.attrs
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    /// Whether the element carries `xsi:nil="true"` (or `"1"`, the other XSD spelling).
    pub fn is_nil(&self) -> bool {
        self.attr(NIL_ATTR)
            .is_some_and(|v| matches!(v.trim(), "true" | "1"))
    }

    /// The first child with this name.
    pub fn child(&self, name: &str) -> Option<&Element> {
        self.children.iter().find(|c| c.name == name)
    }

    /// All children with this name, in order.
    pub fn children_named<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a Element> + 'a {
        self.children.iter().filter(move |c| c.name == name)
    }

    /// Text of the first child with this name.
    pub fn child_text(&self, name: &str) -> Option<&str> {
        self.child(name).map(|c| c.text.as_str())
    }

    /// Whether any element in the tree uses an `xsi:` attribute, which means the root must
    /// declare the XMLSchema-instance namespace.
    pub fn uses_xsi_instance(&self) -> bool {
        self.attrs.iter().any(|(n, _)| n.starts_with("xsi:"))
            || self.children.iter().any(Element::uses_xsi_instance)
    }
}

/// Whether `name` is acceptable as an element or (unprefixed) attribute name.
///
/// Xsi names are ASCII identifiers; restricting to `[A-Za-z_][A-Za-z0-9._-]*` keeps hostile
/// names out of the tree and guarantees the writer never emits broken markup.
pub fn is_valid_name(name: &str) -> bool {
    let mut bytes = name.bytes();
    match bytes.next() {
        Some(b) if b.is_ascii_alphabetic() || b == b'_' => {}
        _ => return false,
    }
    bytes.all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.'))
}

/// Whether `c` may appear in an XML 1.0 document.
pub(crate) fn is_xml_char(c: char) -> bool {
    matches!(c, '\t' | '\n' | '\r' | '\u{20}'..='\u{D7FF}' | '\u{E000}'..='\u{FFFD}' | '\u{10000}'..)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builder_and_lookup() {
        let el = Element::new("CallForwardingAlways")
            .with_child(Element::leaf("active", "true"))
            .with_child(Element::nil("forwardToPhoneNumber"));
        assert_eq!(el.child_text("active"), Some("true"));
        assert!(el.child("forwardToPhoneNumber").unwrap().is_nil());
        assert!(el.uses_xsi_instance());
        assert!(!el.child("active").unwrap().is_nil());
    }

    #[test]
    fn set_attr_replaces() {
        let el = Element::new("a").with_attr("x", "1").with_attr("x", "2");
        assert_eq!(el.attrs.len(), 1);
        assert_eq!(el.attr("x"), Some("2"));
    }

    #[test]
    fn names() {
        for ok in ["a", "DoNotDisturb", "_x", "a-b.c_1"] {
            assert!(is_valid_name(ok), "{ok}");
        }
        for bad in ["", "1a", "a:b", "a b", "a\"", "é", "-a", ".a"] {
            assert!(!is_valid_name(bad), "{bad}");
        }
    }

    #[test]
    fn charset_labels() {
        assert_eq!(Charset::from_label("UTF-8"), Some(Charset::Utf8));
        assert_eq!(Charset::from_label("\"utf8\""), Some(Charset::Utf8));
        assert_eq!(Charset::from_label("iso-8859-1"), Some(Charset::Latin1));
        assert_eq!(Charset::from_label("windows-1251"), None);
    }
}
