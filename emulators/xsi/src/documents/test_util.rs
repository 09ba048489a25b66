//! Assertions shared by the document tests.

use super::XsiDocument;
use crate::xml::Element;

/// Names of the direct children, to assert schema order.
pub(crate) fn names(el: &Element) -> Vec<&str> {
    el.children.iter().map(|c| &*c.name).collect()
}

/// Struct → Element → struct → Element is the identity, also through both wire forms.
pub(crate) fn round_trip<T: XsiDocument + PartialEq + std::fmt::Debug>(doc: &T) {
    let el = doc.to_element();
    let back = T::from_element(&el).unwrap();
    assert_eq!(&back, doc);
    assert_eq!(back.to_element(), el);
    assert_eq!(T::from_xml(&doc.to_xml()).unwrap(), *doc);
    let json = Element::from_json(&doc.to_json()).unwrap();
    assert_eq!(T::from_element(&json).unwrap(), *doc);
}

/// An XML body with the Xsi and XMLSchema-instance namespaces declared on the root.
pub(crate) fn xml_body(root: &str, inner: &str) -> Vec<u8> {
    format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?><{root} xmlns=\"http://schema.broadsoft.com/xsi\" \
         xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\">{inner}</{root}>"
    )
    .into_bytes()
}
