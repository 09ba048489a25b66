//! The event writer's primitives: prefixed tags, escaped text and integers written straight
//! into the output buffer, with no intermediate strings or trees.

use bytes::BufMut;

use crate::xml::{Charset, Element, XSI_INSTANCE_NS, XSI_NS, write_escaped, write_prefixed};

/// Prefix bound to the BroadSoft namespace in every event (spec examples).
pub(crate) const NS_PREFIX: &str = "xsi:";
/// Prefix bound to XMLSchema-instance in every event.
pub(crate) const INSTANCE_PREFIX: &str = "xsi1:";

/// The XML declaration every event and heartbeat starts with.
pub(crate) const DECLARATION: &[u8] = b"<?xml version=\"1.0\" encoding=\"UTF-8\"?>";

/// Writes the declaration and the `xsi:Event` start tag with both namespace declarations and
/// `xsi1:type="xsi:{ty}"`.
pub(crate) fn event_start<B: BufMut>(out: &mut B, ty: &str) {
    out.put_slice(DECLARATION);
    out.put_u8(b'\n');
    out.put_slice(b"<xsi:Event xmlns:xsi=\"");
    out.put_slice(XSI_NS.as_bytes());
    out.put_slice(b"\" xmlns:xsi1=\"");
    out.put_slice(XSI_INSTANCE_NS.as_bytes());
    out.put_slice(b"\" xsi1:type=\"xsi:");
    out.put_slice(ty.as_bytes());
    out.put_slice(b"\">");
}

pub(crate) fn event_end<B: BufMut>(out: &mut B) {
    out.put_slice(b"</xsi:Event>");
}

/// `<xsi:{name}>`
pub(crate) fn open<B: BufMut>(out: &mut B, name: &str) {
    out.put_slice(b"<xsi:");
    out.put_slice(name.as_bytes());
    out.put_u8(b'>');
}

/// `<xsi:{name} xsi1:type="xsi:{ty}">`, or the empty form when `empty`.
pub(crate) fn open_typed<B: BufMut>(out: &mut B, name: &str, ty: &str, empty: bool) {
    out.put_slice(b"<xsi:");
    out.put_slice(name.as_bytes());
    out.put_slice(b" xsi1:type=\"xsi:");
    out.put_slice(ty.as_bytes());
    out.put_slice(if empty { b"\"/>" } else { b"\">" });
}

/// `</xsi:{name}>`
pub(crate) fn close<B: BufMut>(out: &mut B, name: &str) {
    out.put_slice(b"</xsi:");
    out.put_slice(name.as_bytes());
    out.put_u8(b'>');
}

/// `<xsi:{name}/>`: an `EmptyContent` flag.
pub(crate) fn flag<B: BufMut>(out: &mut B, name: &str) {
    out.put_slice(b"<xsi:");
    out.put_slice(name.as_bytes());
    out.put_slice(b"/>");
}

/// A text leaf; empty text is written as `<xsi:name></xsi:name>` so that it stays a value.
pub(crate) fn leaf<B: BufMut>(out: &mut B, name: &str, text: &str) {
    open(out, name);
    write_escaped(out, text, false, Charset::Utf8);
    close(out, name);
}

pub(crate) fn leaf_opt<B: BufMut>(out: &mut B, name: &str, text: Option<&String>) {
    if let Some(t) = text {
        leaf(out, name, t);
    }
}

/// An integer leaf, formatted without allocating.
pub(crate) fn leaf_int<B: BufMut>(out: &mut B, name: &str, n: i64) {
    open(out, name);
    put_int(out, n);
    close(out, name);
}

pub(crate) fn leaf_int_opt<B: BufMut>(out: &mut B, name: &str, n: Option<impl Into<i64>>) {
    if let Some(n) = n {
        leaf_int(out, name, n.into());
    }
}

/// An element tree, every name prefixed (service `info`, registrations, unknown payloads).
pub(crate) fn element<B: BufMut>(out: &mut B, el: &Element) {
    write_prefixed(out, el, NS_PREFIX, INSTANCE_PREFIX);
}

/// Decimal digits of `n`.
pub(crate) fn put_int<B: BufMut>(out: &mut B, n: i64) {
    let mut buf = [0u8; 20];
    let mut pos = buf.len();
    let neg = n < 0;
    let mut v = n.unsigned_abs();
    loop {
        pos -= 1;
        buf[pos] = b'0' + (v % 10) as u8;
        v /= 10;
        if v == 0 {
            break;
        }
    }
    if neg {
        out.put_u8(b'-');
    }
    out.put_slice(&buf[pos..]);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn integers() {
        for n in [0i64, 7, -7, 1_700_000_000_123, i64::MAX, i64::MIN] {
            let mut v = Vec::new();
            put_int(&mut v, n);
            assert_eq!(String::from_utf8(v).unwrap(), n.to_string());
        }
    }
}
