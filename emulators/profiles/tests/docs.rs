//! `docs/profiles.md` stays true: its feature table matches the profile files and every TOML
//! example in it loads.

use bwlab_profiles::Profiles;

const GUIDE: &str = include_str!("../../../docs/profiles.md");

#[test]
fn feature_table_matches_the_profiles() {
    let start = GUIDE
        .find("<!-- matrix:start -->\n")
        .expect("matrix start marker")
        + 22;
    let end = GUIDE
        .find("<!-- matrix:end -->")
        .expect("matrix end marker");
    let expected = Profiles::builtin().matrix().to_markdown();
    assert!(
        GUIDE[start..end] == expected,
        "docs/profiles.md is out of date; replace the table between the markers with\n{expected}"
    );
}

#[test]
fn toml_examples_load() {
    let mut blocks = 0;
    let mut rest = GUIDE;
    while let Some(at) = rest.find("```toml\n") {
        let body = &rest[at + 8..];
        let end = body.find("```").expect("closed code block");
        let text = &body[..end];
        let mut profiles = Profiles::builtin();
        if let Err(e) = profiles.load_str("docs/profiles.md example", text) {
            panic!("example does not load: {e}\n{text}");
        }
        blocks += 1;
        rest = &body[end + 3..];
    }
    assert!(blocks >= 4, "found only {blocks} TOML examples");
}

#[test]
fn quoted_error_messages_are_real() {
    let profiles = Profiles::builtin();
    let err = profiles.get("r23-unpached").unwrap_err().to_string();
    assert!(GUIDE.contains(&err), "guide should quote: {err}");
    let mut p = Profiles::builtin();
    let err = p
        .load_str(
            "my-profiles.toml",
            "name = \"x\"\nextends = \"r22\"\n[xsi]\nevent_packages = [\"Basic Cal\"]\n",
        )
        .unwrap_err()
        .to_string();
    assert!(GUIDE.contains(&err), "guide should quote: {err}");
}
