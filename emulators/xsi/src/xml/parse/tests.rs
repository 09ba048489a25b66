use super::*;

fn parse(s: &str) -> Result<Element, ParseError> {
    Element::from_xml(s.as_bytes())
}

fn kind(s: &str) -> ParseErrorKind {
    parse(s).unwrap_err().kind
}

const NS: &str = "xmlns=\"http://schema.broadsoft.com/xsi\"";

#[test]
fn parses_service_document() {
    let el = parse(&format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<CallForwardingNoAnswer {NS}>\n  \
         <active>true</active>\n  <forwardToPhoneNumber countryCode=\"1\">+15551230000</forwardToPhoneNumber>\n  \
         <numberOfRings>3</numberOfRings>\n</CallForwardingNoAnswer>\n"
    ))
    .unwrap();
    assert_eq!(el.name, "CallForwardingNoAnswer");
    assert_eq!(el.text, "", "whitespace between children is dropped");
    assert_eq!(el.children.len(), 3);
    let fwd = el.child("forwardToPhoneNumber").unwrap();
    assert_eq!(fwd.text, "+15551230000");
    assert_eq!(fwd.attr("countryCode"), Some("1"));
    assert_eq!(el.child_text("numberOfRings"), Some("3"));
}

#[test]
fn leaf_whitespace_is_kept() {
    let el = parse(&format!("<a {NS}><b>  x </b><c>   </c></a>")).unwrap();
    assert_eq!(el.child_text("b"), Some("  x "));
    assert_eq!(el.child_text("c"), Some("   "));
}

#[test]
fn xsi_nil_with_any_prefix_is_canonical() {
    let el = parse(&format!(
        "<a {NS} xmlns:i=\"http://www.w3.org/2001/XMLSchema-instance\"><b i:nil=\"true\"/></a>"
    ))
    .unwrap();
    let b = el.child("b").unwrap();
    assert_eq!(b.attr("xsi:nil"), Some("true"));
    assert!(b.is_nil());
}

#[test]
fn prefixed_xsi_elements_are_fine() {
    let el = parse("<x:a xmlns:x=\"http://schema.broadsoft.com/xsi\"><x:b>1</x:b></x:a>").unwrap();
    assert_eq!(el.name, "a");
    assert_eq!(el.child_text("b"), Some("1"));
}

#[test]
fn namespace_policy() {
    assert_eq!(
        kind("<DoNotDisturb><active>true</active></DoNotDisturb>"),
        ParseErrorKind::WrongNamespace {
            element: "DoNotDisturb".into(),
            namespace: None
        }
    );
    assert_eq!(
        kind("<a xmlns=\"urn:other\"/>"),
        ParseErrorKind::WrongNamespace {
            element: "a".into(),
            namespace: Some("urn:other".into())
        }
    );
    // A child that resets the default namespace is not an Xsi element either.
    assert!(matches!(
        kind(&format!("<a {NS}><b xmlns=\"\"/></a>")),
        ParseErrorKind::WrongNamespace { .. }
    ));
    let lenient = ParseOptions {
        namespaces: NamespacePolicy::AllowUnqualified,
        ..ParseOptions::default()
    };
    let el = parse_xml(
        b"<DoNotDisturb><active>true</active></DoNotDisturb>",
        &lenient,
    )
    .unwrap();
    assert_eq!(el.child_text("active"), Some("true"));
    assert!(parse_xml(b"<a xmlns=\"urn:other\"/>", &lenient).is_err());
}

#[test]
fn foreign_attributes_are_dropped() {
    let el = parse(&format!("<a {NS} xmlns:o=\"urn:o\" o:x=\"1\" y=\"2\"/>")).unwrap();
    assert_eq!(el.attrs, vec![("y".into(), "2".to_string())]);
}

#[test]
fn entities_and_char_refs() {
    let el = parse(&format!(
        "<a {NS} t=\"&lt;&#65;&quot;\">&lt;&gt;&amp;&apos;&quot;&#233;&#x1F600;</a>"
    ))
    .unwrap();
    assert_eq!(el.text, "<>&'\"é😀");
    assert_eq!(el.attr("t"), Some("<A\""));
}

#[test]
fn cdata_comments_and_pis() {
    let el = parse(&format!(
        "<?xml version=\"1.0\"?><!-- hi --><?pi x?><a {NS}><!-- c --><![CDATA[<b>&amp;]]></a><!-- end -->"
    ))
    .unwrap();
    assert_eq!(el.text, "<b>&amp;");
}

#[test]
fn dtds_are_refused() {
    let laughs = format!(
        "<?xml version=\"1.0\"?>\n<!DOCTYPE lolz [<!ENTITY lol \"lol\">\
         <!ENTITY lol2 \"&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;\">]>\n<a {NS}>&lol2;</a>"
    );
    let err = parse(&laughs).unwrap_err();
    assert_eq!(err.kind, ParseErrorKind::Dtd);
    assert_eq!(err.position.unwrap().line, 2);

    let xxe =
        format!("<!DOCTYPE a [<!ENTITY xxe SYSTEM \"file:///etc/passwd\">]><a {NS}>&xxe;</a>");
    assert_eq!(kind(&xxe), ParseErrorKind::Dtd);
}

#[test]
fn unknown_entities_are_refused() {
    assert_eq!(
        kind(&format!("<a {NS}>&xxe;</a>")),
        ParseErrorKind::UnknownEntity("xxe".into())
    );
    assert!(parse(&format!("<a {NS} b=\"&xxe;\"/>")).is_err());
}

#[test]
fn forbidden_characters() {
    assert_eq!(
        kind(&format!("<a {NS}>&#1;</a>")),
        ParseErrorKind::InvalidChar(1)
    );
    assert_eq!(
        kind(&format!("<a {NS}>x\u{1}</a>")),
        ParseErrorKind::InvalidChar(1)
    );
    assert!(parse(&format!("<a {NS}>&#0;</a>")).is_err());
    assert!(parse(&format!("<a {NS}>&#xD800;</a>")).is_err());
    assert!(parse(&format!("<a {NS} b=\"&#2;\"/>")).is_err());
}

#[test]
fn structure_errors() {
    assert_eq!(kind(""), ParseErrorKind::Empty);
    assert_eq!(kind("  \n "), ParseErrorKind::Empty);
    assert_eq!(
        kind(&format!("<a {NS}/><b {NS}/>")),
        ParseErrorKind::OutsideRoot
    );
    assert_eq!(kind(&format!("<a {NS}/>junk")), ParseErrorKind::OutsideRoot);
    assert_eq!(kind(&format!("junk<a {NS}/>")), ParseErrorKind::OutsideRoot);
    assert_eq!(
        kind(&format!("<a {NS}>x<b/></a>")),
        ParseErrorKind::MixedContent("a".into())
    );
    assert_eq!(
        kind(&format!("<a {NS}><b/>x</a>")),
        ParseErrorKind::MixedContent("a".into())
    );
    assert!(matches!(
        kind(&format!("<a {NS}><b></a>")),
        ParseErrorKind::Syntax(_)
    ));
    assert!(matches!(
        kind(&format!("<a {NS}><b>")),
        ParseErrorKind::Syntax(_)
    ));
    assert!(matches!(
        kind(&format!("<a {NS} x=\"1\" x=\"2\"/>")),
        ParseErrorKind::Syntax(_)
    ));
    assert_eq!(
        kind(&format!("<?xml version=\"1.1\"?><a {NS}/>")),
        ParseErrorKind::UnsupportedVersion("1.1".into())
    );
}

#[test]
fn error_positions() {
    let err = parse(&format!("<a {NS}>\n  <b>\n    <c>&bogus;</c>\n</b></a>")).unwrap_err();
    let pos = err.position.unwrap();
    assert_eq!((pos.line, pos.column), (3, 8));
    assert!(err.to_string().contains("line 3, column 8"), "{err}");

    let err = parse(&format!("<a {NS}>\n<b></c></a>")).unwrap_err();
    assert_eq!(err.position.unwrap().line, 2);
}

#[test]
fn limits() {
    let small = ParseOptions {
        limits: Limits {
            max_bytes: 64,
            max_depth: 3,
            max_elements: 5,
            max_attributes: 2,
        },
        ..ParseOptions::default()
    };
    let big = vec![b' '; 65];
    assert_eq!(
        parse_xml(&big, &small).unwrap_err().kind,
        ParseErrorKind::TooLarge {
            size: 65,
            limit: 64
        }
    );
    assert!(parse_xml(&big, &small).unwrap_err().is_too_large());

    let deep = format!("<a {NS}><a><a><a/></a></a></a>");
    let opts = ParseOptions {
        limits: Limits {
            max_bytes: 1 << 20,
            ..small.limits
        },
        ..small
    };
    assert_eq!(
        parse_xml(deep.as_bytes(), &opts).unwrap_err().kind,
        ParseErrorKind::TooDeep { limit: 3 }
    );
    let wide = format!("<a {NS}><b/><b/><b/><b/><b/></a>");
    assert_eq!(
        parse_xml(wide.as_bytes(), &opts).unwrap_err().kind,
        ParseErrorKind::TooManyElements { limit: 5 }
    );
    let attrs = format!("<a {NS} x=\"1\" y=\"2\"/>");
    assert_eq!(
        parse_xml(attrs.as_bytes(), &opts).unwrap_err().kind,
        ParseErrorKind::TooManyAttributes { limit: 2 },
        "the xmlns declaration counts"
    );
}

#[test]
fn default_limits_stop_deep_nesting() {
    let depth = 5_000;
    let mut doc = format!("<a {NS}>");
    doc.push_str(&"<a>".repeat(depth));
    doc.push_str(&"</a>".repeat(depth + 1));
    let err = Element::from_xml(doc.as_bytes()).unwrap_err();
    assert_eq!(err.kind, ParseErrorKind::TooDeep { limit: 32 });
}

#[test]
fn encodings() {
    // UTF-8 BOM is skipped.
    let mut bom = b"\xEF\xBB\xBF".to_vec();
    bom.extend_from_slice(format!("<a {NS}>\u{e9}</a>").as_bytes());
    assert_eq!(Element::from_xml(&bom).unwrap().text, "é");

    // Declared Latin-1.
    let mut latin = b"<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?>".to_vec();
    latin.extend_from_slice(format!("<a {NS}>Zo\u{0}</a>").as_bytes());
    let i = latin.iter().position(|&b| b == 0).unwrap();
    latin[i] = 0xEB;
    assert_eq!(Element::from_xml(&latin).unwrap().text, "Zoë");

    // The Content-Type charset wins over the declaration.
    let opts = ParseOptions {
        charset: Some(Charset::Utf8),
        ..ParseOptions::default()
    };
    assert_eq!(
        parse_xml(&latin, &opts).unwrap_err().kind,
        ParseErrorKind::InvalidUtf8
    );

    assert_eq!(
        kind(&format!(
            "<?xml version=\"1.0\" encoding=\"windows-1251\"?><a {NS}/>"
        )),
        ParseErrorKind::UnsupportedEncoding("windows-1251".into())
    );
    assert!(matches!(
        Element::from_xml(b"\xFF\xFE<\0a\0/\0>\0").unwrap_err().kind,
        ParseErrorKind::UnsupportedEncoding(_)
    ));
}

#[test]
fn invalid_utf8_has_a_position() {
    let mut doc = format!("<a {NS}>\n<b>ok").into_bytes();
    doc.push(0xC3);
    doc.extend_from_slice(b"</b></a>");
    let err = Element::from_xml(&doc).unwrap_err();
    assert_eq!(err.kind, ParseErrorKind::InvalidUtf8);
    let pos = err.position.unwrap();
    assert_eq!((pos.line, pos.column), (2, 6));
}

#[test]
fn writer_output_parses_back() {
    let el = Element::new("a")
        .with_attr("q", "x\"<&>\t\n\r' é")
        .with_child(Element::leaf("t", "a<b&c>d\"e'f\r\n\tg]]> 😀"))
        .with_child(Element::nil("n"))
        .with_child(Element::new("e"));
    assert_eq!(Element::from_xml(&el.to_xml()).unwrap(), el);

    let mut latin = Vec::new();
    el.write_xml_with(&mut latin, Charset::Latin1);
    assert_eq!(Element::from_xml(&latin).unwrap(), el);
}
