//! Small helpers shared by the `from_element`/`to_element` implementations.

use std::fmt::Display;
use std::str::FromStr;

use super::{DocError, Nillable};
use crate::xml::Element;

/// Checks the root element's name.
pub(crate) fn expect_root(el: &Element, root: &'static str) -> Result<(), DocError> {
    if el.name == root {
        Ok(())
    } else {
        Err(DocError::WrongRoot {
            expected: root,
            found: shorten(&el.name),
        })
    }
}

/// The trimmed text of a leaf that must not be nil.
pub(crate) fn text<'a>(c: &'a Element, name: &'static str) -> Result<&'a str, DocError> {
    if c.is_nil() {
        return Err(DocError::NotNillable { element: name });
    }
    Ok(c.text.trim())
}

pub(crate) fn string(c: &Element, name: &'static str) -> Result<String, DocError> {
    text(c, name).map(str::to_owned)
}

/// Text of an element whose type has `minLength="1"`.
pub(crate) fn non_empty(c: &Element, name: &'static str) -> Result<String, DocError> {
    let t = text(c, name)?;
    if t.is_empty() {
        return Err(invalid(name, t, "a non-empty value"));
    }
    Ok(t.to_owned())
}

/// `xs:boolean`: `true`, `false`, `1` or `0`.
pub(crate) fn boolean(c: &Element, name: &'static str) -> Result<bool, DocError> {
    match text(c, name)? {
        "true" | "1" => Ok(true),
        "false" | "0" => Ok(false),
        other => Err(invalid(name, other, "a boolean")),
    }
}

/// A number of any `FromStr` type; `what` names it in the error.
pub(crate) fn number<T: FromStr>(
    c: &Element,
    name: &'static str,
    what: &'static str,
) -> Result<T, DocError> {
    let t = text(c, name)?;
    t.parse().map_err(|_| invalid(name, t, what))
}

/// A value from a closed set (an XSD enumeration).
pub(crate) fn enumeration<T: Copy>(
    c: &Element,
    name: &'static str,
    values: &[(&str, T)],
    what: &'static str,
) -> Result<T, DocError> {
    let t = text(c, name)?;
    values
        .iter()
        .find(|(s, _)| *s == t)
        .map(|(_, v)| *v)
        .ok_or_else(|| invalid(name, t, what))
}

/// Stores a value for a non-repeating element, refusing a second occurrence.
pub(crate) fn once<T>(slot: &mut Option<T>, name: &'static str, value: T) -> Result<(), DocError> {
    if slot.is_some() {
        return Err(DocError::Duplicate { element: name });
    }
    *slot = Some(value);
    Ok(())
}

/// Stores a nillable element: nil or a value read by `read`.
pub(crate) fn nillable<T>(
    slot: &mut Nillable<T>,
    c: &Element,
    name: &'static str,
    read: impl FnOnce(&Element) -> Result<T, DocError>,
) -> Result<(), DocError> {
    if !matches!(slot, Nillable::Absent) {
        return Err(DocError::Duplicate { element: name });
    }
    *slot = if c.is_nil() {
        Nillable::Nil
    } else {
        Nillable::Value(read(c)?)
    };
    Ok(())
}

/// Unwraps a mandatory element.
pub(crate) fn required<T>(
    slot: Option<T>,
    parent: &'static str,
    name: &'static str,
) -> Result<T, DocError> {
    slot.ok_or(DocError::Missing {
        parent,
        element: name,
    })
}

/// Reads a list element whose children are all `item`.
pub(crate) fn list<T>(
    c: &Element,
    parent: &'static str,
    item: &'static str,
    mut read: impl FnMut(&Element) -> Result<T, DocError>,
) -> Result<Vec<T>, DocError> {
    if c.is_nil() {
        return Err(DocError::NotNillable { element: parent });
    }
    c.children
        .iter()
        .map(|child| {
            if child.name == item {
                read(child)
            } else {
                Err(unexpected(parent, child))
            }
        })
        .collect()
}

pub(crate) fn unexpected(parent: &'static str, c: &Element) -> DocError {
    DocError::Unexpected {
        parent,
        element: shorten(&c.name),
    }
}

pub(crate) fn invalid(name: &'static str, value: &str, expected: &'static str) -> DocError {
    DocError::Invalid {
        element: name,
        value: shorten(value),
        expected,
    }
}

fn shorten(s: &str) -> String {
    match s.char_indices().nth(64) {
        Some((i, _)) => format!("{}…", &s[..i]),
        None => s.to_owned(),
    }
}

/// Builders used by every `to_element`: they skip `None` so optional elements vanish.
impl Element {
    pub(crate) fn put(&mut self, name: &'static str, text: impl Into<String>) {
        self.children.push(Element::leaf(name, text));
    }

    pub(crate) fn put_opt(&mut self, name: &'static str, value: Option<&String>) {
        if let Some(v) = value {
            self.put(name, v.as_str());
        }
    }

    pub(crate) fn put_bool(&mut self, name: &'static str, value: Option<bool>) {
        if let Some(v) = value {
            self.put(name, if v { "true" } else { "false" });
        }
    }

    pub(crate) fn put_num<T: Display>(&mut self, name: &'static str, value: Option<T>) {
        if let Some(v) = value {
            self.put(name, v.to_string());
        }
    }

    /// An `EmptyContent` flag: present means true.
    pub(crate) fn put_flag(&mut self, name: &'static str, on: bool) {
        if on {
            self.children.push(Element::new(name));
        }
    }

    /// A nillable element built by `build` when it has a value.
    pub(crate) fn put_nillable<T>(
        &mut self,
        name: &'static str,
        value: &Nillable<T>,
        build: impl FnOnce(&T) -> Element,
    ) {
        match value {
            Nillable::Absent => {}
            Nillable::Nil => self.children.push(Element::nil(name)),
            Nillable::Value(v) => self.children.push(build(v)),
        }
    }
}
