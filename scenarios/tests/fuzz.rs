//! Arbitrary input never panics the validator.

use proptest::prelude::*;

/// Pieces of scenario-like YAML, so generated text often gets past the syntax check and
/// reaches the typed and semantic layers.
const PIECES: &[&str] = &[
    "name: x\n",
    "sut: {reference: webex-app}\n",
    "sut:\n  url: ftp://x\n",
    "timeline:\n",
    "  - at: 5s\n",
    "  - within: 1s\n",
    "  - when: 3rd heartbeat of alice\n",
    "    fault: {latency: {latency: 1s}}\n",
    "    fault: [{dns: {reply: nxdomain}}, {}]\n",
    "    expect: {channel_open: {user: alice}, r22: {count: 0}}\n",
    "    node: {down: xsp1}\n",
    "    clock: {advance: 11d}\n",
    "    revert: all\n",
    "topology: dual-site\n",
    "topology: {farms: [{name: f, nodes: []}], load_balancers: [{name: l, farm: g}]}\n",
    "profiles: [r22, zz]\n",
    "faults:\n  - {on: sut, bad_certificate: expired}\n",
    "&a [*a]\n",
    "<<: {a: 1}\n",
    "- 1\n",
    "? [a]\n: b\n",
    "seed: -1\n",
    "expect: 5\n",
    "subscribers: {user: a}\n",
    "data: {file: /nonexistent}\n",
    "\t",
    "{",
    "]",
    "\"",
    "'",
    ": ",
    "- ",
    "#",
    "\n",
    "  ",
    "~",
    "!!str ",
    "0x",
    "1e999",
    "ü",
    "\u{feff}",
];

proptest! {
    #![proptest_config(ProptestConfig { cases: 400, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_text_never_panics(text in ".{0,400}") {
        let _ = bwlab_scenario::parse_str(&text, "fuzz.yaml");
    }

    #[test]
    fn scenario_shaped_text_never_panics(idx in proptest::collection::vec(0..PIECES.len(), 0..30)) {
        let text: String = idx.iter().map(|&i| PIECES[i]).collect();
        if let Err(e) = bwlab_scenario::parse_str(&text, "fuzz.yaml") {
            // Every diagnostic is placed inside the text.
            let lines = text.lines().count().max(1) as u32 + 1;
            for d in e.iter() {
                prop_assert!(d.line >= 1 && d.line <= lines, "{d} in {text:?}");
                prop_assert!(d.column >= 1);
                prop_assert!(d.hint.is_some(), "every error has a hint: {d}");
            }
        }
    }
}
