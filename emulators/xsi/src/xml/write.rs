//! XML serialisation straight into a byte buffer.
//!
//! Bodies are written in one pass with no intermediate strings: runs of text that need no
//! escaping are copied as slices. Escaping goes beyond the usual five characters so that
//! whatever the writer emits parses back to the same tree: carriage returns and attribute
//! whitespace become character references (parsers would normalise them otherwise), and
//! characters XML 1.0 cannot carry at all are replaced by U+FFFD.

use bytes::{BufMut, Bytes};

use super::{Charset, Element, XSI_INSTANCE_NS, XSI_NS, is_xml_char};

impl Element {
    /// Serialises the element as a complete UTF-8 Xsi document.
    pub fn to_xml(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(256);
        self.write_xml(&mut out);
        out
    }

    /// Like [`Element::to_xml`], as [`Bytes`] (no copy).
    pub fn to_xml_bytes(&self) -> Bytes {
        Bytes::from(self.to_xml())
    }

    /// Appends the element as a complete UTF-8 Xsi document to `out`.
    pub fn write_xml<B: BufMut>(&self, out: &mut B) {
        self.write_xml_with(out, Charset::Utf8);
    }

    /// Appends the element as a complete Xsi document in `charset`: the XML declaration,
    /// then the root in the Xsi default namespace (plus `xmlns:xsi` when the tree uses
    /// `xsi:` attributes).
    pub fn write_xml_with<B: BufMut>(&self, out: &mut B, charset: Charset) {
        out.put_slice(b"<?xml version=\"1.0\" encoding=\"");
        out.put_slice(charset.label().as_bytes());
        out.put_slice(b"\"?>\n");
        let xsi = self.uses_xsi_instance();
        write_element(out, self, charset, Some(xsi));
    }
}

/// `root` is `Some(needs_xsi)` for the document element, which carries the namespace
/// declarations; descendants inherit them.
fn write_element<B: BufMut>(out: &mut B, el: &Element, cs: Charset, root: Option<bool>) {
    out.put_u8(b'<');
    out.put_slice(el.name.as_bytes());
    if let Some(needs_xsi) = root {
        out.put_slice(b" xmlns=\"");
        out.put_slice(XSI_NS.as_bytes());
        out.put_u8(b'"');
        if needs_xsi {
            out.put_slice(b" xmlns:xsi=\"");
            out.put_slice(XSI_INSTANCE_NS.as_bytes());
            out.put_u8(b'"');
        }
    }
    for (name, value) in &el.attrs {
        out.put_u8(b' ');
        out.put_slice(name.as_bytes());
        out.put_slice(b"=\"");
        write_escaped(out, value, true, cs);
        out.put_u8(b'"');
    }
    if el.children.is_empty() && el.text.is_empty() {
        out.put_slice(b"/>");
        return;
    }
    out.put_u8(b'>');
    write_escaped(out, &el.text, false, cs);
    for child in &el.children {
        write_element(out, child, cs, None);
    }
    out.put_slice(b"</");
    out.put_slice(el.name.as_bytes());
    out.put_u8(b'>');
}

/// Writes `el` and its descendants with every element name prefixed by `prefix` (e.g.
/// `xsi:`), and the canonical `xsi:` attributes (`xsi:nil`, `xsi:type`) re-prefixed with
/// `instance_prefix` (e.g. `xsi1:`). No namespace declarations are written: the caller has
/// already bound both prefixes on an enclosing element. This is the prefix convention of the
/// Xsi-Events examples, where `xsi` names the BroadSoft namespace.
pub(crate) fn write_prefixed<B: BufMut>(
    out: &mut B,
    el: &Element,
    prefix: &str,
    instance_prefix: &str,
) {
    out.put_u8(b'<');
    out.put_slice(prefix.as_bytes());
    out.put_slice(el.name.as_bytes());
    for (name, value) in &el.attrs {
        out.put_u8(b' ');
        match name.strip_prefix("xsi:") {
            Some(local) => {
                out.put_slice(instance_prefix.as_bytes());
                out.put_slice(local.as_bytes());
            }
            None => out.put_slice(name.as_bytes()),
        }
        out.put_slice(b"=\"");
        write_escaped(out, value, true, Charset::Utf8);
        out.put_u8(b'"');
    }
    if el.children.is_empty() && el.text.is_empty() {
        out.put_slice(b"/>");
        return;
    }
    out.put_u8(b'>');
    write_escaped(out, &el.text, false, Charset::Utf8);
    for child in &el.children {
        write_prefixed(out, child, prefix, instance_prefix);
    }
    out.put_slice(b"</");
    out.put_slice(prefix.as_bytes());
    out.put_slice(el.name.as_bytes());
    out.put_u8(b'>');
}

/// Escapes `s` for text (`attr == false`) or a double-quoted attribute value.
pub(crate) fn write_escaped<B: BufMut>(out: &mut B, s: &str, attr: bool, cs: Charset) {
    let bytes = s.as_bytes();
    let mut run_start = 0;
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        // Fast path: printable ASCII that needs no escaping.
        let plain = match b {
            b'<' | b'>' | b'&' => false,
            b'"' => !attr,
            b'\n' | b'\t' => !attr,
            0x20..=0x7E => true,
            // 0xEF starts U+FFFE/U+FFFF, which XML forbids; check those on the slow path.
            0x80.. => cs == Charset::Utf8 && b != 0xEF,
            _ => false,
        };
        if plain {
            i += 1;
            continue;
        }
        out.put_slice(&bytes[run_start..i]);
        // Decode the whole character starting at `i` (always a char boundary here,
        // because continuation bytes are consumed together with their lead byte).
        let c = s[i..].chars().next().unwrap_or('\u{FFFD}');
        i += c.len_utf8();
        run_start = i;
        write_char(out, c, attr, cs);
    }
    out.put_slice(&bytes[run_start..]);
}

fn write_char<B: BufMut>(out: &mut B, c: char, attr: bool, cs: Charset) {
    let c = if is_xml_char(c) { c } else { '\u{FFFD}' };
    match c {
        '<' => out.put_slice(b"&lt;"),
        '>' => out.put_slice(b"&gt;"),
        '&' => out.put_slice(b"&amp;"),
        '"' if attr => out.put_slice(b"&quot;"),
        '\r' => out.put_slice(b"&#13;"),
        '\n' if attr => out.put_slice(b"&#10;"),
        '\t' if attr => out.put_slice(b"&#9;"),
        c if c.is_ascii() => out.put_u8(c as u8),
        c => match cs {
            Charset::Utf8 => {
                let mut buf = [0u8; 4];
                out.put_slice(c.encode_utf8(&mut buf).as_bytes());
            }
            Charset::Latin1 if (c as u32) <= 0xFF => out.put_u8(c as u32 as u8),
            Charset::Latin1 => write_char_ref(out, c),
        },
    }
}

fn write_char_ref<B: BufMut>(out: &mut B, c: char) {
    let mut buf = [0u8; 10];
    let mut n = c as u32;
    let mut pos = buf.len();
    loop {
        pos -= 1;
        buf[pos] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    out.put_slice(b"&#");
    out.put_slice(&buf[pos..]);
    out.put_u8(b';');
}

#[cfg(test)]
mod tests {
    use super::*;

    fn body(el: &Element) -> String {
        String::from_utf8(el.to_xml()).unwrap()
    }

    #[test]
    fn declaration_and_namespace() {
        let el = Element::new("DoNotDisturb").with_child(Element::leaf("active", "false"));
        assert_eq!(
            body(&el),
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n\
             <DoNotDisturb xmlns=\"http://schema.broadsoft.com/xsi\">\
             <active>false</active></DoNotDisturb>"
        );
    }

    #[test]
    fn xsi_namespace_only_when_used() {
        let el =
            Element::new("CallForwardingBusy").with_child(Element::nil("forwardToPhoneNumber"));
        let xml = body(&el);
        assert!(xml.contains(
            "<CallForwardingBusy xmlns=\"http://schema.broadsoft.com/xsi\" \
             xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\">"
        ));
        assert!(xml.contains("<forwardToPhoneNumber xsi:nil=\"true\"/>"));
    }

    #[test]
    fn escaping() {
        let el = Element::new("a")
            .with_attr("q", "x\"<&>\t\n\r'")
            .with_child(Element::leaf("t", "a<b&c>d\"e'f\r\n\tg]]>"));
        let xml = body(&el);
        assert!(
            xml.contains("q=\"x&quot;&lt;&amp;&gt;&#9;&#10;&#13;'\""),
            "{xml}"
        );
        assert!(
            xml.contains("<t>a&lt;b&amp;c&gt;d\"e'f&#13;\n\tg]]&gt;</t>"),
            "{xml}"
        );
    }

    #[test]
    fn invalid_chars_replaced() {
        let el = Element::leaf("t", "a\u{1}b\u{FFFE}c\u{FFFF}d\u{FEFF}é");
        let xml = body(&el);
        assert!(
            xml.contains(">a\u{FFFD}b\u{FFFD}c\u{FFFD}d\u{FEFF}é</t>"),
            "{xml:?}"
        );
    }

    #[test]
    fn latin1_output() {
        let el = Element::leaf("name", "Zoë Привет");
        let xml = el.to_xml_latin1();
        assert!(xml.starts_with(b"<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?>"));
        let expected: &[u8] = b"<name xmlns=\"http://schema.broadsoft.com/xsi\">Zo\xEB &#1055;&#1088;&#1080;&#1074;&#1077;&#1090;</name>";
        assert!(xml.ends_with(expected), "{}", String::from_utf8_lossy(&xml));
    }

    impl Element {
        fn to_xml_latin1(&self) -> Vec<u8> {
            let mut v = Vec::new();
            self.write_xml_with(&mut v, Charset::Latin1);
            v
        }
    }

    #[test]
    fn prefixed_form() {
        let el = Element::new("info")
            .with_child(Element::leaf("active", "a<b"))
            .with_child(Element::nil("remoteOfficeNumber"))
            .with_child(Element::leaf("n", "1").with_attr("countryCode", "44"));
        let mut out = Vec::new();
        write_prefixed(&mut out, &el, "xsi:", "xsi1:");
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "<xsi:info><xsi:active>a&lt;b</xsi:active><xsi:remoteOfficeNumber xsi1:nil=\"true\"/>\
             <xsi:n countryCode=\"44\">1</xsi:n></xsi:info>"
        );
    }

    #[test]
    fn writes_into_bytes_mut() {
        let mut buf = bytes::BytesMut::new();
        Element::new("Calls").write_xml(&mut buf);
        assert!(buf.ends_with(b"<Calls xmlns=\"http://schema.broadsoft.com/xsi\"/>"));
    }
}
