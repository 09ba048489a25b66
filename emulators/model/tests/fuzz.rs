//! Property tests: the lab-file loader never panics and every error it returns is placed;
//! Basic header decoding never panics and round-trips what clients send.

use bwlab_core::clock::LabClock;
use bwlab_model::{AuthEncoding, Store, decode_basic, encode_basic};
use proptest::prelude::*;
use time::macros::datetime;

const EXAMPLE: &str = include_str!("../../../docs/examples/lab.yaml");

/// A small valid lab using every section, including the table form.
const SMALL: &str = "system: {lockoutThreshold: 3}
enterprises:
  - id: e
    groups: [{id: g, locationDialingCode: \"1\"}]
users:
  - userId: a@lab.example
    group: g
    firstName: A
    lastName: B
    password: pw
    number: \"+15550100\"
    extension: \"100\"
    services: {doNotDisturb: {active: true}, callWaiting: {}}
userTable:
  columns: [userId, group, firstName, lastName, password, extension]
  rows: |
    b@lab.example | g | B | C | pw | 101
devices:
  - {name: d, type: Cisco 8851, mac: 001b44113ab7, lines: [{linePort: l@lab.example, user: a@lab.example}]}
admins:
  - {login: adm, password: pw}
";

/// Loads and checks the invariants: no panic (implicit), and errors carry a position inside
/// the file (or just past its end) and a non-empty path and message.
fn check(src: &str) {
    let clock = LabClock::frozen_at(datetime!(2026-01-01 0:00 UTC));
    if let Err(errors) = Store::from_yaml_str(src, "fuzz.yaml", clock) {
        assert!(!errors.errors().is_empty());
        let lines = src.split('\n').count() as u32;
        for e in errors.errors() {
            let pos = e
                .pos
                .as_ref()
                .unwrap_or_else(|| panic!("unplaced error: {e}"));
            assert!(pos.line >= 1 && pos.column >= 1, "{e}");
            assert!(
                pos.line <= lines + 1,
                "line past the end: {e} ({lines} lines)"
            );
            assert!(!e.path.is_empty() && !e.message.is_empty(), "{e}");
            assert!(
                e.to_string()
                    .starts_with(&format!("fuzz.yaml:{}:{}: ", pos.line, pos.column))
            );
        }
    }
}

#[derive(Clone, Debug)]
enum Mutation {
    Delete { at: usize, len: usize },
    Insert { at: usize, text: String },
    DuplicateLine { line: usize },
    SwapLines { a: usize, b: usize },
    Indent { line: usize, by: usize },
}

fn mutation() -> impl Strategy<Value = Mutation> {
    let yamlish =
        proptest::string::string_regex("[-:{}\\[\\]|>&*!#,'\"~ a-z0-9\\n@+]{1,8}").unwrap();
    prop_oneof![
        (any::<usize>(), 1usize..12).prop_map(|(at, len)| Mutation::Delete { at, len }),
        (any::<usize>(), yamlish).prop_map(|(at, text)| Mutation::Insert { at, text }),
        any::<usize>().prop_map(|line| Mutation::DuplicateLine { line }),
        (any::<usize>(), any::<usize>()).prop_map(|(a, b)| Mutation::SwapLines { a, b }),
        (any::<usize>(), 1usize..4).prop_map(|(line, by)| Mutation::Indent { line, by }),
    ]
}

fn floor_char(s: &str, mut i: usize) -> usize {
    i = i.min(s.len());
    while !s.is_char_boundary(i) {
        i -= 1;
    }
    i
}

fn apply(src: &str, muts: &[Mutation]) -> String {
    let mut s = src.to_owned();
    for m in muts {
        match m {
            Mutation::Delete { at, len } => {
                let a = floor_char(&s, at % (s.len() + 1));
                let b = floor_char(&s, a + len);
                s.replace_range(a..b, "");
            }
            Mutation::Insert { at, text } => {
                let a = floor_char(&s, at % (s.len() + 1));
                s.insert_str(a, text);
            }
            Mutation::DuplicateLine { line } => {
                let mut lines: Vec<&str> = s.split('\n').collect();
                let i = line % lines.len();
                lines.insert(i, lines[i]);
                s = lines.join("\n");
            }
            Mutation::SwapLines { a, b } => {
                let mut lines: Vec<&str> = s.split('\n').collect();
                let n = lines.len();
                lines.swap(a % n, b % n);
                s = lines.join("\n");
            }
            Mutation::Indent { line, by } => {
                let mut lines: Vec<String> = s.split('\n').map(str::to_owned).collect();
                let i = line % lines.len();
                lines[i] = format!("{}{}", " ".repeat(*by), lines[i]);
                s = lines.join("\n");
            }
        }
    }
    s
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 400, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_text_never_panics(src in "\\PC{0,300}") {
        check(&src);
    }

    #[test]
    fn yamlish_text_never_panics(src in "[-:{}\\[\\]|>&*!#,'\"~ a-zA-Z0-9\\n@+.<]{0,400}") {
        check(&src);
    }

    #[test]
    fn mutated_small_lab(muts in proptest::collection::vec(mutation(), 1..6)) {
        check(&apply(SMALL, &muts));
    }

    #[test]
    fn mutated_example_lab(muts in proptest::collection::vec(mutation(), 1..4)) {
        check(&apply(EXAMPLE, &muts));
    }

    #[test]
    fn basic_decoding_never_panics(raw in proptest::collection::vec(any::<u8>(), 0..80)) {
        for enc in [AuthEncoding::Iso8859_1, AuthEncoding::Utf8] {
            let _ = decode_basic(&raw, enc);
            let mut h = b"Basic ".to_vec();
            h.extend_from_slice(&raw);
            let _ = decode_basic(&h, enc);
        }
    }

    #[test]
    fn basic_utf8_round_trip(login in "[^:\\s]{1,20}", password in "\\PC{0,30}") {
        let h = encode_basic(&login, &password, AuthEncoding::Utf8).unwrap();
        let c = decode_basic(&h, AuthEncoding::Utf8).unwrap();
        prop_assert_eq!(c.login, login);
        prop_assert_eq!(c.password, password);
    }

    #[test]
    fn basic_latin1_round_trip_and_utf8_mismatch(
        login in "[a-z0-9@.]{1,20}",
        password in "[\\u{20}-\\u{7e}\\u{a0}-\\u{ff}]{0,30}",
    ) {
        let h = encode_basic(&login, &password, AuthEncoding::Iso8859_1).unwrap();
        let c = decode_basic(&h, AuthEncoding::Iso8859_1).unwrap();
        prop_assert_eq!(&c.password, &password);
        // A browser sending UTF-8 to an XSP on the ISO-8859-1 default: any non-ASCII
        // password arrives different from what the user typed.
        let browser = encode_basic(&login, &password, AuthEncoding::Utf8).unwrap();
        let seen = decode_basic(&browser, AuthEncoding::Iso8859_1).unwrap();
        prop_assert_eq!(seen.password == password, password.is_ascii());
    }
}
