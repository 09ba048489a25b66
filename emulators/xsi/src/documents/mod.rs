//! Typed Xsi documents: Rust structs that convert to and from [`Element`] trees.
//!
//! Writing follows the XSD element names and sequence order exactly, because order is part
//! of schema validity. Reading is deliberately more forgiving, in the way a PUT handler has
//! to be: elements may come in any order (a JSON body has no order to speak of), optional
//! elements that are missing stay `None` ("unchanged" for a partial update), and `xsi:nil`
//! is understood on the elements the schema declares nillable ([`Nillable`]). What reading
//! does reject: a wrong root, unknown or repeated elements in request documents, nil where
//! the schema forbids it, and values that are not of the element's type.
//!
//! Response-only documents (profile, directories, logs, …) ignore unknown elements when
//! read, so tests can read real or deliberately decorated output.
//!
//! Leaf text is trimmed when read (the XSD types are almost all `xs:token`), lengths and
//! patterns are not checked: that is the emulator's business, not the wire format's.

/// Declares a record of optional string leaves (response-side types with many fields):
/// the struct, a writer that emits the set fields in schema order, and a tolerant field
/// reader (nil is read as absent: spec examples put `xsi:nil` on such leaves).
macro_rules! string_record {
    (
        $(#[$doc:meta])*
        pub struct $ty:ident {
            $( $(#[$fdoc:meta])* $field:ident : $xml:literal, )*
        }
    ) => {
        $(#[$doc])*
        #[derive(Clone, Debug, Default, PartialEq, Eq)]
        pub struct $ty {
            $( $(#[$fdoc])* pub $field: Option<String>, )*
        }

        impl $ty {
            /// Appends the fields that are set, in schema order.
            #[allow(dead_code)]
            pub(crate) fn write_fields(&self, el: &mut $crate::xml::Element) {
                $( el.put_opt($xml, self.$field.as_ref()); )*
            }

            /// The field stored under an element name.
            #[allow(dead_code)]
            pub(crate) fn get(&self, name: &str) -> Option<&String> {
                match name {
                    $( $xml => self.$field.as_ref(), )*
                    _ => None,
                }
            }

            /// Reads one child into its field; `Ok(false)` when the name is not a field.
            pub(crate) fn read_field(
                &mut self,
                c: &$crate::xml::Element,
            ) -> Result<bool, $crate::documents::DocError> {
                let (slot, name): (&mut Option<String>, &'static str) = match &*c.name {
                    $( $xml => (&mut self.$field, $xml), )*
                    _ => return Ok(false),
                };
                if !c.is_nil() {
                    $crate::documents::read::once(slot, name, c.text.trim().to_owned())?;
                }
                Ok(true)
            }
        }
    };
}

mod common;
pub(crate) mod read;
#[cfg(test)]
mod test_util;

pub mod call_logs;
pub mod calls;
pub mod directories;
pub mod events;
pub mod profile;
pub mod push;
pub mod services;
pub mod versions;
pub mod voice_messages;

pub use common::{Address, CriteriaActivation, Nillable};

use crate::negotiate::{Format, Rendered, render};
use crate::xml::{Element, ParseError, ParseOptions, parse_xml};

/// A document with a fixed root element.
pub trait XsiDocument: Sized {
    /// Local name of the root element.
    const ROOT: &'static str;

    /// Builds the element tree, children in schema order.
    fn to_element(&self) -> Element;

    /// Reads the element tree; see the module docs for how lenient this is.
    fn from_element(el: &Element) -> Result<Self, DocError>;

    /// Serialised UTF-8 XML document.
    fn to_xml(&self) -> Vec<u8> {
        self.to_element().to_xml()
    }

    /// Serialised Xsi JSON document.
    fn to_json(&self) -> Vec<u8> {
        self.to_element().to_json()
    }

    /// The response body in the negotiated format, with its `Content-Type`.
    fn render(&self, format: Format) -> Rendered {
        render(&self.to_element(), format)
    }

    /// Parses an XML body with default options and reads it.
    fn from_xml(body: &[u8]) -> Result<Self, BodyError> {
        let el = parse_xml(body, &ParseOptions::default())?;
        Ok(Self::from_element(&el)?)
    }
}

/// A tree that does not form the expected document.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum DocError {
    /// The root element is not the one the resource expects.
    #[error("expected root element <{expected}>, found <{found}>")]
    WrongRoot {
        /// Expected root.
        expected: &'static str,
        /// Root found.
        found: String,
    },
    /// A mandatory element is absent.
    #[error("<{parent}> lacks the mandatory element <{element}>")]
    Missing {
        /// Enclosing element.
        parent: &'static str,
        /// The missing element.
        element: &'static str,
    },
    /// An element the schema does not allow here.
    #[error("<{parent}> does not allow element <{element}>")]
    Unexpected {
        /// Enclosing element.
        parent: &'static str,
        /// The unexpected element.
        element: String,
    },
    /// A non-repeating element appears twice.
    #[error("element <{element}> appears more than once")]
    Duplicate {
        /// The repeated element.
        element: &'static str,
    },
    /// The text is not a value of the element's type.
    #[error("<{element}>: {value:?} is not {expected}")]
    Invalid {
        /// The element.
        element: &'static str,
        /// Its (trimmed, possibly shortened) text.
        value: String,
        /// What was expected, e.g. "a boolean".
        expected: &'static str,
    },
    /// `xsi:nil` on an element the schema does not declare nillable.
    #[error("<{element}> cannot be nil")]
    NotNillable {
        /// The element.
        element: &'static str,
    },
}

/// Anything that can go wrong turning a request body into a typed document.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum BodyError {
    /// Not a well-formed, acceptable body.
    #[error(transparent)]
    Parse(#[from] ParseError),
    /// Well-formed, but not the expected document.
    #[error(transparent)]
    Doc(#[from] DocError),
}
