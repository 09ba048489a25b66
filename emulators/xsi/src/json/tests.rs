use serde_json::json;

use super::*;

fn cfna() -> Element {
    Element::new("CallForwardingNoAnswer")
        .with_child(Element::leaf("active", "false"))
        .with_child(Element::leaf("forwardToPhoneNumber", "+15551230000"))
        .with_child(Element::leaf("numberOfRings", "4"))
}

#[test]
fn spec_example_shape() {
    let json = String::from_utf8(cfna().to_json()).unwrap();
    assert_eq!(
        json,
        r#"{"CallForwardingNoAnswer":{"@xmlns":{"$":"http://schema.broadsoft.com/xsi"},"active":{"$":"false"},"forwardToPhoneNumber":{"$":"+15551230000"},"numberOfRings":{"$":"4"}}}"#
    );
    assert_eq!(
        cfna().to_json_value(),
        json!({"CallForwardingNoAnswer": {
            "@xmlns": {"$": "http://schema.broadsoft.com/xsi"},
            "active": {"$": "false"},
            "forwardToPhoneNumber": {"$": "+15551230000"},
            "numberOfRings": {"$": "4"}}})
    );
}

#[test]
fn attributes_and_repeated_siblings() {
    let call = |id: &str, conf: &str| {
        Element::new("call")
            .with_attr("inConference", conf)
            .with_child(Element::leaf("callId", id))
    };
    let two = Element::new("Calls")
        .with_child(call("callhalf-1:0", "false"))
        .with_child(call("callhalf-2:0", "true"));
    assert_eq!(
        two.to_json_value(),
        json!({"Calls": {
        "@xmlns": {"$": XSI_NS},
        "call": [
            {"@inConference": "false", "callId": {"$": "callhalf-1:0"}},
            {"@inConference": "true", "callId": {"$": "callhalf-2:0"}}
        ]}})
    );
    // One occurrence is an object, as BadgerFish has it …
    let one = Element::new("Calls").with_child(call("callhalf-1:0", "false"));
    let v = one.to_json_value();
    assert!(v["Calls"]["call"].is_object());
    // … unless the caller asks for arrays.
    let mut out = Vec::new();
    write_json_with(&one, &mut out, &JsonOptions { arrays: &["call"] });
    let v: Value = serde_json::from_slice(&out).unwrap();
    assert!(v["Calls"]["call"].is_array());
    // Both shapes read back to the same tree.
    assert_eq!(Element::from_json(&out).unwrap(), one);
    assert_eq!(Element::from_json(&one.to_json()).unwrap(), one);
}

#[test]
fn nil_and_empty_elements() {
    let el = Element::new("VoiceMessagingMessages").with_child(
        Element::new("messageInfoList").with_child(
            Element::new("messageInfo")
                .with_child(Element::new("urgent"))
                .with_child(Element::nil("address")),
        ),
    );
    let v = el.to_json_value();
    assert_eq!(
        v["VoiceMessagingMessages"]["@xmlns"],
        json!({"$": XSI_NS, "xsi": XSI_INSTANCE_NS})
    );
    let info = &v["VoiceMessagingMessages"]["messageInfoList"]["messageInfo"];
    assert_eq!(info["urgent"], json!({}));
    assert_eq!(info["address"], json!({"@xsi:nil": "true"}));
    assert_eq!(Element::from_json(&el.to_json()).unwrap(), el);
}

#[test]
fn escapes_strings() {
    let el = Element::leaf(
        "summary",
        "quote \" back \\ nl \n tab \t cr \r ctl \u{1f} é 😀",
    );
    let bytes = el.to_json();
    let v: Value = serde_json::from_slice(&bytes).unwrap();
    assert_eq!(v["summary"]["$"], json!(el.text));
}

#[test]
fn lenient_reading() {
    let el = Element::from_json(
        br#"{"CallForwardingAlways": {
            "active": true,
            "forwardToPhoneNumber": null,
            "ringSplash": {"$": false},
            "numberOfRings": 3
        }}"#,
    )
    .unwrap();
    assert_eq!(el.child_text("active"), Some("true"));
    assert!(el.child("forwardToPhoneNumber").unwrap().is_nil());
    assert_eq!(el.child_text("ringSplash"), Some("false"));
    assert_eq!(el.child_text("numberOfRings"), Some("3"));
}

#[test]
fn namespaces() {
    // The xsi prefix may be declared under another name.
    let el = Element::from_json(
        br#"{"A": {"@xmlns": {"$": "http://schema.broadsoft.com/xsi",
                               "i": "http://www.w3.org/2001/XMLSchema-instance"},
                   "b": {"@i:nil": "true"}, "c": {"@foreign:x": "1"}}}"#,
    )
    .unwrap();
    assert!(el.child("b").unwrap().is_nil());
    assert!(
        el.child("c").unwrap().attrs.is_empty(),
        "foreign attributes are dropped"
    );

    let err = Element::from_json(br#"{"A": {"@xmlns": {"$": "urn:other"}}}"#).unwrap_err();
    assert!(matches!(err.kind, ParseErrorKind::WrongNamespace { .. }));
    let err = Element::from_json(br#"{"A": {"o:b": {}}}"#).unwrap_err();
    assert!(matches!(err.kind, ParseErrorKind::WrongNamespace { .. }));
}

#[test]
fn shape_errors() {
    for bad in [
        &br#"[]"#[..],
        br#""x""#,
        br#"{}"#,
        br#"{"A": {}, "B": {}}"#,
        br#"{"A": [{}]}"#,
        br#"{"A": null}"#,
        br#"{"A": {"b": [[{}]]}}"#,
        br#"{"A": {"@x": {}}}"#,
        br#"{"A": {"$": []}}"#,
        br#"{"A": {"@xmlns": "x"}}"#,
        br#"{"1A": {}}"#,
        br#"{"A": {"b c": {}}}"#,
        br#"{"A": {"$": "\u0001"}}"#,
    ] {
        let res = Element::from_json(bad);
        assert!(res.is_err(), "{}", String::from_utf8_lossy(bad));
    }
}

#[test]
fn syntax_errors_have_positions() {
    let err = Element::from_json(b"{\"A\": {\n  \"b\": {\"$\": \"x\"},\n  oops\n}}").unwrap_err();
    assert!(matches!(err.kind, ParseErrorKind::Syntax(_)));
    let pos = err.position.unwrap();
    assert_eq!(pos.line, 3);
    assert_eq!(
        Element::from_json(b"  ").unwrap_err().kind,
        ParseErrorKind::Empty
    );
}

#[test]
fn limits() {
    let opts = ParseOptions {
        limits: Limits {
            max_bytes: 1000,
            max_depth: 3,
            max_elements: 4,
            max_attributes: 1,
        },
        ..ParseOptions::default()
    };
    let deep = br#"{"a": {"b": {"c": {"d": {}}}}}"#;
    assert_eq!(
        parse_json(deep, &opts).unwrap_err().kind,
        ParseErrorKind::TooDeep { limit: 3 }
    );
    let wide = br#"{"a": {"b": [{}, {}, {}, {}]}}"#;
    assert_eq!(
        parse_json(wide, &opts).unwrap_err().kind,
        ParseErrorKind::TooManyElements { limit: 4 }
    );
    let attrs = br#"{"a": {"@x": "1", "@y": "2"}}"#;
    assert_eq!(
        parse_json(attrs, &opts).unwrap_err().kind,
        ParseErrorKind::TooManyAttributes { limit: 1 }
    );
    let big = vec![b' '; 1001];
    assert!(parse_json(&big, &opts).unwrap_err().is_too_large());
    // Nesting far beyond serde_json's recursion limit fails cleanly.
    let mut nested = "[".repeat(100_000);
    nested.push_str(&"]".repeat(100_000));
    let opts = ParseOptions {
        limits: Limits {
            max_bytes: 1 << 20,
            ..Limits::default()
        },
        ..ParseOptions::default()
    };
    assert!(parse_json(nested.as_bytes(), &opts).is_err());
}
