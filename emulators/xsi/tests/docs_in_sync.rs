//! `docs/xsi-formats.md` quotes wire output and the error catalogue; this keeps it honest.

use bwlab_xsi::documents::services::{CallForwardingNoAnswer, DoNotDisturb};
use bwlab_xsi::{Address, ErrorCode, ErrorInfo, Nillable, XsiDocument};

const DOC: &str = include_str!("../../../docs/xsi-formats.md");

fn text(bytes: Vec<u8>) -> String {
    String::from_utf8(bytes).unwrap()
}

#[test]
fn catalogue_table_matches_the_code() {
    for code in ErrorCode::ALL {
        let row = format!(
            "| {} | `{:?}` | {} | {} |",
            code.code(),
            code,
            code.http_status(),
            code.summary_english()
        );
        assert!(DOC.contains(&row), "missing or stale row: {row}");
    }
}

#[test]
fn examples_are_real_output() {
    let dnd = DoNotDisturb {
        active: Some(true),
        ring_splash: Some(false),
    };
    let cfna = CallForwardingNoAnswer {
        active: Some(true),
        forward_to_phone_number: Nillable::Value(Address::new("+15551230000").with_country_code(1)),
        number_of_rings: Some(3),
    };
    let clear = CallForwardingNoAnswer {
        forward_to_phone_number: Nillable::Nil,
        ..CallForwardingNoAnswer::default()
    };
    let error = ErrorInfo::new(ErrorCode::CallNotFound);
    for out in [
        text(dnd.to_xml()),
        text(dnd.to_json()),
        text(cfna.to_xml()),
        text(cfna.to_json()),
        text(clear.to_json()),
        text(error.to_xml()),
        text(error.to_json()),
    ] {
        assert!(DOC.contains(&out), "docs do not show:\n{out}");
    }
}
