//! Content negotiation: which format a request body is in, which format the response
//! should use, and the `Content-Type` that goes with it.
//!
//! Rules (Xsi §3.3.3.1, as bwlab applies them):
//!
//! * **Request bodies** are JSON when the query has `format=json` or the `Content-Type` is
//!   `application/json`; anything else, including a missing or unrelated `Content-Type`,
//!   is read as XML (Xsi recommends `application/xml` but does not enforce it). A
//!   `charset` parameter overrides the XML declaration; JSON must be UTF-8.
//! * **Responses** are JSON when the query has `format=json`, or when `Accept` ranks
//!   `application/json` above every XML type (`application/xml`, `text/xml`); otherwise XML.
//!   Wildcards never switch to JSON: XML is the Xsi default.
//! * `format=xml` (not in the spec) forces XML, which is handy in tests.
//! * The first `format` parameter wins, as for every single-valued Xsi parameter.

use bytes::Bytes;

use crate::json::{parse_json, write_json};
use crate::xml::{Charset, Element, ParseError, ParseErrorKind, ParseOptions, parse_xml};

/// Wire format of a body.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum Format {
    /// XML, the Xsi default.
    #[default]
    Xml,
    /// The BadgerFish JSON form.
    Json,
}

/// `Content-Type` of UTF-8 XML responses.
pub const CONTENT_TYPE_XML: &str = "application/xml; charset=UTF-8";
/// `Content-Type` of JSON responses (JSON is always UTF-8).
pub const CONTENT_TYPE_JSON: &str = "application/json; charset=UTF-8";
/// `Content-Type` of Latin-1 XML responses (locale-derived charset, see spec §3.3.4).
pub const CONTENT_TYPE_XML_LATIN1: &str = "application/xml; charset=ISO-8859-1";

/// The response `Content-Type` for a format and charset (JSON ignores the charset).
pub fn content_type(format: Format, charset: Charset) -> &'static str {
    match (format, charset) {
        (Format::Json, _) => CONTENT_TYPE_JSON,
        (Format::Xml, Charset::Utf8) => CONTENT_TYPE_XML,
        (Format::Xml, Charset::Latin1) => CONTENT_TYPE_XML_LATIN1,
    }
}

/// The negotiation-relevant parts of an HTTP request, independent of any HTTP library.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RequestMeta<'a> {
    /// The `Accept` header.
    pub accept: Option<&'a str>,
    /// The `Content-Type` header.
    pub content_type: Option<&'a str>,
    /// The raw query string, with or without the leading `?`.
    pub query: Option<&'a str>,
}

impl RequestMeta<'_> {
    /// Format for the response body.
    pub fn response_format(&self) -> Format {
        if let Some(f) = self.query.and_then(query_format) {
            return f;
        }
        match self.accept {
            Some(accept) if accept_prefers_json(accept) => Format::Json,
            _ => Format::Xml,
        }
    }

    /// Format of the request body.
    pub fn body_format(&self) -> Format {
        if let Some(f) = self.query.and_then(query_format) {
            return f;
        }
        match self.content_type.map(media_type) {
            Some(mt) if mt.eq_ignore_ascii_case("application/json") => Format::Json,
            _ => Format::Xml,
        }
    }

    /// Parses the request body in its format into an [`Element`] tree.
    pub fn parse_body(&self, body: &[u8], opts: &ParseOptions) -> Result<Element, ParseError> {
        let charset = match self.content_type.and_then(charset_param) {
            None => None,
            Some(label) => Some(Charset::from_label(label).ok_or_else(|| {
                ParseError::new(ParseErrorKind::UnsupportedEncoding(label.to_owned()))
            })?),
        };
        match self.body_format() {
            Format::Xml => parse_xml(
                body,
                &ParseOptions {
                    charset: charset.or(opts.charset),
                    ..*opts
                },
            ),
            Format::Json if charset.is_some_and(|c| c != Charset::Utf8) => Err(ParseError::new(
                ParseErrorKind::UnsupportedEncoding("JSON must be UTF-8".into()),
            )),
            Format::Json => parse_json(body, opts),
        }
    }
}

/// The `format` query parameter, if it names a known format (first occurrence wins).
pub fn query_format(query: &str) -> Option<Format> {
    let query = query.strip_prefix('?').unwrap_or(query);
    let value = query
        .split('&')
        .filter_map(|pair| pair.split_once('=').or(Some((pair, ""))))
        .find(|(k, _)| *k == "format")?
        .1;
    if value.eq_ignore_ascii_case("json") {
        Some(Format::Json)
    } else if value.eq_ignore_ascii_case("xml") {
        Some(Format::Xml)
    } else {
        None
    }
}

/// Whether an `Accept` header ranks `application/json` strictly above the XML types.
pub fn accept_prefers_json(accept: &str) -> bool {
    let (mut json, mut xml) = (0.0f32, 0.0f32);
    for range in accept.split(',') {
        let mut parts = range.split(';');
        let mt = parts.next().unwrap_or("").trim();
        let mut q = 1.0f32;
        for p in parts {
            if let Some((k, v)) = p.split_once('=')
                && k.trim().eq_ignore_ascii_case("q")
            {
                q = v
                    .trim()
                    .parse()
                    .ok()
                    .filter(|q: &f32| (0.0..=1.0).contains(q))
                    .unwrap_or(0.0);
            }
        }
        if mt.eq_ignore_ascii_case("application/json") {
            json = json.max(q);
        } else if mt.eq_ignore_ascii_case("application/xml") || mt.eq_ignore_ascii_case("text/xml")
        {
            xml = xml.max(q);
        }
    }
    json > 0.0 && json > xml
}

/// The media type of a `Content-Type` value, without parameters.
fn media_type(ct: &str) -> &str {
    ct.split(';').next().unwrap_or("").trim()
}

/// The `charset` parameter of a `Content-Type` value.
fn charset_param(ct: &str) -> Option<&str> {
    ct.split(';').skip(1).find_map(|p| {
        let (k, v) = p.split_once('=')?;
        k.trim()
            .eq_ignore_ascii_case("charset")
            .then(|| v.trim().trim_matches('"'))
    })
}

/// A serialised response body with its `Content-Type`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Rendered {
    /// Value for the `Content-Type` header.
    pub content_type: &'static str,
    /// The body.
    pub body: Bytes,
}

/// Serialises `el` in `format` (UTF-8).
pub fn render(el: &Element, format: Format) -> Rendered {
    render_with(el, format, Charset::Utf8)
}

/// Serialises `el` in `format`; `charset` applies to XML only (JSON is always UTF-8).
pub fn render_with(el: &Element, format: Format, charset: Charset) -> Rendered {
    let mut body = Vec::with_capacity(256);
    match format {
        Format::Xml => el.write_xml_with(&mut body, charset),
        Format::Json => write_json(el, &mut body),
    }
    Rendered {
        content_type: content_type(format, charset),
        body: Bytes::from(body),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn meta<'a>(
        accept: Option<&'a str>,
        content_type: Option<&'a str>,
        query: Option<&'a str>,
    ) -> RequestMeta<'a> {
        RequestMeta {
            accept,
            content_type,
            query,
        }
    }

    #[test]
    fn response_format() {
        let cases: &[(Option<&str>, Option<&str>, Format)] = &[
            (None, None, Format::Xml),
            (Some("application/json"), None, Format::Json),
            (Some("Application/JSON; charset=utf-8"), None, Format::Json),
            (
                Some("application/json, text/plain, */*"),
                None,
                Format::Json,
            ),
            (Some("*/*"), None, Format::Xml),
            (Some("application/xml, application/json"), None, Format::Xml),
            (
                Some("application/xml;q=0.5, application/json"),
                None,
                Format::Json,
            ),
            (Some("application/json;q=0"), None, Format::Xml),
            (Some("application/json;q=bogus"), None, Format::Xml),
            (Some("text/html"), Some("format=json"), Format::Json),
            (None, Some("?start=1&format=JSON"), Format::Json),
            (None, Some("format=json&format=xml"), Format::Json),
            (Some("application/json"), Some("format=xml"), Format::Xml),
            (None, Some("formats=json&xformat=json"), Format::Xml),
            (Some("application/json"), Some("format=yaml"), Format::Json),
        ];
        for (accept, query, expected) in cases {
            assert_eq!(
                meta(*accept, None, *query).response_format(),
                *expected,
                "{accept:?} {query:?}"
            );
        }
    }

    #[test]
    fn body_format() {
        assert_eq!(meta(None, None, None).body_format(), Format::Xml);
        assert_eq!(
            meta(None, Some("text/plain"), None).body_format(),
            Format::Xml
        );
        assert_eq!(
            meta(None, Some("application/json;charset=UTF-8"), None).body_format(),
            Format::Json
        );
        assert_eq!(
            meta(None, Some("application/xml"), Some("format=json")).body_format(),
            Format::Json
        );
        // Accept says nothing about the request body.
        assert_eq!(
            meta(Some("application/json"), None, None).body_format(),
            Format::Xml
        );
    }

    #[test]
    fn parses_both_forms() {
        let opts = ParseOptions::default();
        let xml = b"<DoNotDisturb xmlns=\"http://schema.broadsoft.com/xsi\"><active>true</active></DoNotDisturb>";
        let json = br#"{"DoNotDisturb":{"active":{"$":"true"}}}"#;
        let a = meta(None, Some("application/xml; charset=UTF-8"), None)
            .parse_body(xml, &opts)
            .unwrap();
        let b = meta(None, Some("application/json"), None)
            .parse_body(json, &opts)
            .unwrap();
        assert_eq!(a, b);
        let c = meta(None, None, Some("format=json"))
            .parse_body(json, &opts)
            .unwrap();
        assert_eq!(a, c);
    }

    #[test]
    fn charset_parameter() {
        let opts = ParseOptions::default();
        let latin = b"<a xmlns=\"http://schema.broadsoft.com/xsi\">Zo\xEB</a>";
        let el = meta(None, Some("application/xml; charset=\"iso-8859-1\""), None)
            .parse_body(latin, &opts)
            .unwrap();
        assert_eq!(el.text, "Zoë");
        let err = meta(None, Some("application/xml; charset=koi8-r"), None)
            .parse_body(latin, &opts)
            .unwrap_err();
        assert!(matches!(err.kind, ParseErrorKind::UnsupportedEncoding(_)));
        let err = meta(None, Some("application/json; charset=iso-8859-1"), None)
            .parse_body(b"{}", &opts)
            .unwrap_err();
        assert!(matches!(err.kind, ParseErrorKind::UnsupportedEncoding(_)));
    }

    #[test]
    fn rendering() {
        let el = Element::new("CallWaiting").with_child(Element::leaf("active", "true"));
        let xml = render(&el, Format::Xml);
        assert_eq!(xml.content_type, "application/xml; charset=UTF-8");
        assert!(
            xml.body
                .starts_with(b"<?xml version=\"1.0\" encoding=\"UTF-8\"?>")
        );
        let json = render(&el, Format::Json);
        assert_eq!(json.content_type, "application/json; charset=UTF-8");
        assert!(json.body.starts_with(b"{\"CallWaiting\":"));
        let latin = render_with(&el, Format::Xml, Charset::Latin1);
        assert_eq!(latin.content_type, "application/xml; charset=ISO-8859-1");
        assert!(
            latin
                .body
                .starts_with(b"<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?>")
        );
        assert_eq!(
            render_with(&el, Format::Json, Charset::Latin1).content_type,
            CONTENT_TYPE_JSON
        );
    }
}
