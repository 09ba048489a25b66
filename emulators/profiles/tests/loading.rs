//! User profile files: extending, overriding, and every kind of error.

use std::io::Write;

use bwlab_profiles::{Feature, Platform, ProfileError, Profiles};
use proptest::prelude::*;

fn load(text: &str) -> Result<Profiles, ProfileError> {
    let mut profiles = Profiles::builtin();
    profiles.load_str("my.toml", text)?;
    Ok(profiles)
}

fn error(text: &str) -> ProfileError {
    match load(text) {
        Ok(_) => panic!("loaded without error:\n{text}"),
        Err(e) => e,
    }
}

#[test]
fn add_a_profile_extending_a_builtin() {
    let profiles = load(
        r#"
name = "r23-adp-no-dnd"
extends = "r23"
description = "R23 on ADP, DND sync patch missing"
platform = "adp"

[features]
dnd_sync = false
"#,
    )
    .unwrap();
    let p = profiles.get("r23-adp-no-dnd").unwrap();
    assert_eq!(p.platform(), Platform::Adp);
    assert!(!p.supports(Feature::DndSync));
    assert!(p.supports(Feature::UnifiedCallHistory));
    assert_eq!(p.extends(), ["r23"]);
    assert_eq!(p.source(), "my.toml");
    // Gates stay as documentation of what is missing.
    assert!(
        p.feature_info(Feature::DndSync)
            .unwrap()
            .gates
            .iter()
            .any(|g| g.to_string() == "as:ap382615")
    );
    assert!(profiles.names().contains(&"r23-adp-no-dnd"));
    assert_eq!(profiles.names().len(), 7);
}

#[test]
fn extends_chains_merge_from_the_root() {
    let mut profiles = Profiles::builtin();
    profiles
        .load_str(
            "a.toml",
            "name = \"a\"\nextends = \"r22-unpatched\"\n[features]\nci_token_validation = true\n",
        )
        .unwrap();
    let b = profiles
        .load_str("b.toml", "name = \"b\"\nextends = \"a\"\ndescription = \"b\"\n[features.push_v2]\nenabled = true\nnote = \"hi\"\n")
        .unwrap();
    assert_eq!(b.extends(), ["a", "r22-unpatched", "r22"]);
    assert!(b.supports(Feature::CiTokenValidation));
    assert!(b.supports(Feature::PushV2));
    assert!(!b.supports(Feature::DndSync));
    let info = b.feature_info(Feature::PushV2).unwrap();
    assert_eq!(info.note.as_deref(), Some("hi"));
    // The table form keeps the gates it does not mention.
    assert_eq!(info.gates.len(), 3);
    // Description is inherited when not given.
    assert_eq!(
        profiles.get("a").unwrap().description(),
        profiles.get("r22-unpatched").unwrap().description()
    );
}

#[test]
fn override_a_builtin_in_place() {
    let mut profiles = Profiles::builtin();
    let r22 = profiles
        .load_str(
            "ov.toml",
            "name = \"r22\"\nextends = \"r22\"\n[features]\ndnd_sync = false\n",
        )
        .unwrap();
    assert!(!r22.supports(Feature::DndSync));
    assert!(r22.supports(Feature::CiTokenValidation));
    assert_eq!(r22.source(), "ov.toml");
    // Profiles built on r22 see the override.
    assert!(
        !profiles
            .get("r22-unpatched")
            .unwrap()
            .supports(Feature::DndSync)
    );
    assert_eq!(profiles.names().len(), 6);
}

#[test]
fn replace_a_builtin_completely() {
    let text = r#"
name = "r24"
description = "minimal"
release = "24.0"
build = "24.0.1"
platform = "adp"
[xsi]
baseline = "24.0"
oldest_protocol_version = "22.0"
event_packages = ["Basic Call"]
channel_terminated_reasons = ["Expired"]
"#;
    let profiles = load(text).unwrap();
    let r24 = profiles.get("r24").unwrap();
    assert!(r24.features().is_empty());
    assert_eq!(r24.build().to_string(), "24.0.1");
    // r24-unpatched now extends the minimal r24.
    assert!(
        !profiles
            .get("r24-unpatched")
            .unwrap()
            .supports(Feature::CiTokenValidation)
    );
}

#[test]
fn load_file_and_with_overrides() {
    let dir = std::env::temp_dir().join(format!("bwlab-profiles-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("lab.toml");
    let mut f = std::fs::File::create(&path).unwrap();
    writeln!(
        f,
        "name = \"lab\"\nextends = \"r24\"\n[features]\nspam_indication = false"
    )
    .unwrap();
    drop(f);
    let profiles = Profiles::with_overrides(&path).unwrap();
    let lab = profiles.get("lab").unwrap();
    assert_eq!(lab.source(), path.display().to_string());
    // Turning spam indication off takes caller-ID disposition with it.
    assert!(!lab.supports(Feature::CallerIdDisposition));
    assert_eq!(lab.suppressed().len(), 1);
    assert_eq!(lab.suppressed()[0].feature, Feature::CallerIdDisposition);
    assert_eq!(lab.suppressed()[0].missing, [Feature::SpamIndication]);

    let missing = dir.join("nope.toml");
    let err = Profiles::with_overrides(&missing).unwrap_err();
    assert!(matches!(err, ProfileError::Io { .. }), "{err}");
    assert!(err.to_string().contains("nope.toml"), "{err}");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn broken_toml_reports_line_and_column() {
    let err = error("name = \"x\"\nextends = \"r22\"\n[features]\ndnd_sync = tru\n");
    let loc = err.location().expect("positioned");
    assert_eq!((&*loc.source, loc.line), ("my.toml", 4));
    assert_eq!(loc.column, 12);
    assert!(err.to_string().starts_with("my.toml:4:12: "), "{err}");

    let err = error("name = \"x\"\nextends = \"r22\"\nplatform = \"xsq\"\n");
    assert!(err.to_string().starts_with("my.toml:3:12: "), "{err}");
    assert!(err.to_string().contains("did you mean `xsp`"), "{err}");

    let err = error("name = \"x\"\nextends = \"r22\"\n\n  colour = \"red\"\n");
    assert!(err.to_string().starts_with("my.toml:4:3: "), "{err}");
    assert!(err.to_string().contains("colour"), "{err}");

    let err = error("name = \"x\"\nextends = \"r22\"\npatches = [\"as:376508\"]\n");
    assert!(err.to_string().starts_with("my.toml:3:12: "), "{err}");
    assert!(
        err.to_string().contains("invalid patch `as:376508`"),
        "{err}"
    );

    let err = error("name = \"x\"\n[features.dnd_sync]\nenabled = true\ngates = [\"ri:oops\"]\n");
    assert_eq!(err.location().unwrap().line, 4, "{err}");
}

#[test]
fn unknown_feature_gives_a_hint() {
    let err = error("name = \"x\"\nextends = \"r22\"\n\n[features]\nci_token_validaton = false\n");
    match &err {
        ProfileError::UnknownFeature {
            location,
            name,
            suggestion,
        } => {
            assert_eq!((location.line, location.column), (5, 1));
            assert_eq!(name, "ci_token_validaton");
            assert_eq!(suggestion.as_deref(), Some("ci_token_validation"));
        }
        other => panic!("{other}"),
    }
    assert_eq!(
        err.to_string(),
        "my.toml:5:1: unknown feature `ci_token_validaton` (did you mean `ci_token_validation`?)"
    );
    // Table form, far-off name: no hint, still positioned.
    let err = error("name = \"x\"\nextends = \"r22\"\n[features.teleportation]\nenabled = true\n");
    assert_eq!(
        err.to_string(),
        "my.toml:3:11: unknown feature `teleportation`"
    );
}

#[test]
fn unknown_profile_lists_names() {
    let profiles = Profiles::builtin();
    let err = profiles.get("r23-unpached").unwrap_err();
    let text = err.to_string();
    assert!(text.contains("did you mean `r23-unpatched`"), "{text}");
    assert!(
        text.contains("available: r22, r22-unpatched, r23, r23-unpatched, r24, r24-unpatched"),
        "{text}"
    );
    assert!(err.location().is_none());
    assert!(profiles.diff("r22", "r99").is_err());
    assert!(!profiles.contains("r99"));

    let err = error("name = \"x\"\nextends = \"r25\"\n");
    let text = err.to_string();
    assert!(
        text.starts_with("my.toml:2:11: profile `x` extends unknown profile `r25`"),
        "{text}"
    );
    assert!(text.contains("available: r22"), "{text}");
}

#[test]
fn cycles_are_errors() {
    // Direct self-reference with nothing underneath.
    let err = error("name = \"loop\"\nextends = \"loop\"\n");
    assert!(matches!(err, ProfileError::ExtendsCycle { .. }), "{err}");
    assert!(err.to_string().contains("loop → loop"), "{err}");

    // Two user profiles pointing at each other: a, then b → a, then a again → b.
    let mut profiles = Profiles::builtin();
    profiles
        .load_str("a.toml", "name = \"a\"\nextends = \"r22\"\n")
        .unwrap();
    profiles
        .load_str("b.toml", "name = \"b\"\nextends = \"a\"\n")
        .unwrap();
    let err = profiles
        .load_str("a2.toml", "name = \"a\"\nextends = \"b\"\n")
        .unwrap_err();
    match &err {
        ProfileError::ExtendsCycle { chain, .. } => assert_eq!(chain, &["a", "b", "a"]),
        other => panic!("{other}"),
    }
    // A failed load changes nothing.
    assert_eq!(profiles.get("a").unwrap().extends(), ["r22"]);

    // Overriding r22 to extend r22-unpatched closes a loop through the built-ins; the error
    // points at the new file.
    let err = error("name = \"r22\"\nextends = \"r22-unpatched\"\n");
    assert!(matches!(err, ProfileError::ExtendsCycle { .. }), "{err}");
    assert!(err.to_string().starts_with("my.toml:2:11: "), "{err}");
    assert!(
        err.to_string().contains("r22 → r22-unpatched → r22"),
        "{err}"
    );
}

#[test]
fn tls_cipher_list_is_inherited_overridden_and_checked() {
    let profiles = Profiles::builtin();
    for name in profiles.names() {
        let list = profiles.get(name).unwrap().tls().ciphers.clone();
        let list = list.unwrap_or_else(|| panic!("{name} has no tls.ciphers"));
        assert!(list.contains(&"TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256".to_owned()));
        assert!(list.iter().all(|c| c.starts_with("TLS_")), "{list:?}");
    }
    // A narrower list in a profile of one's own; names are upper-cased.
    let profiles = load(
        "name = \"r24-narrow\"\nextends = \"r24\"\n[tls]\nciphers = [\"tls_ecdhe_rsa_with_aes_256_gcm_sha384\"]\n",
    )
    .unwrap();
    assert_eq!(
        profiles.get("r24-narrow").unwrap().tls().ciphers.as_deref(),
        Some(&["TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384".to_owned()][..])
    );
    // `extends` without [tls] keeps the parent's list.
    let profiles = load("name = \"r22-copy\"\nextends = \"r22\"\n").unwrap();
    assert_eq!(
        profiles.get("r22-copy").unwrap().tls(),
        profiles.get("r22").unwrap().tls()
    );
    // OpenSSL names are refused with their position and a hint.
    let text = "name = \"bad\"\nextends = \"r24\"\n[tls]\nciphers = [\n  \"TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256\",\n  \"ECDHE-RSA-AES128-GCM-SHA256\",\n]\n";
    let e = error(text).to_string();
    assert!(e.starts_with("my.toml:6:3: profile `bad`:"), "{e}");
    assert!(
        e.contains("`ECDHE-RSA-AES128-GCM-SHA256` in tls.ciphers is an OpenSSL-style cipher name")
            && e.contains("IANA"),
        "{e}"
    );
    let e =
        error("name = \"bad\"\nextends = \"r24\"\n[tls]\nciphers = [\"AES GCM\"]\n").to_string();
    assert!(e.contains("is not an IANA cipher-suite name"), "{e}");
    let e = error("name = \"bad\"\nextends = \"r24\"\n[tls]\nciphers = []\n").to_string();
    assert!(e.contains("`tls.ciphers` is empty"), "{e}");
    let e = error("name = \"bad\"\nextends = \"r24\"\n[tls]\nprotocols = []\n").to_string();
    assert!(e.contains("unknown field `protocols`"), "{e}");
}

#[test]
fn inconsistent_profiles_are_rejected() {
    let cases: &[(&str, &str)] = &[
        (
            "name = \"x\"\nextends = \"r22\"\nplatform = \"adp\"\n",
            "not among the allowed platforms",
        ),
        (
            "name = \"x\"\nextends = \"r22\"\nbuild = \"23.0.1075\"\n",
            "not a build of release 22.0",
        ),
        (
            "name = \"x\"\ndescription = \"d\"\n",
            "`release` is not set",
        ),
        (
            "name = \"x\"\nextends = \"r22\"\n[xsi]\noldest_protocol_version = \"23.0\"\n",
            "newer than xsi.baseline",
        ),
        (
            "name = \"x\"\nextends = \"r22\"\n[xsi]\nactions_commands = []\n",
            "`push_notification_registrations` is not in xsi.actions_commands",
        ),
        (
            "name = \"x\"\nextends = \"r22\"\n[xsi]\nevent_packages = [\"Basic Call\"]\n",
            "is not in xsi.event_packages",
        ),
        (
            "name = \"bad name\"\nextends = \"r22\"\n",
            "may contain only",
        ),
        ("name = \"\"\nextends = \"r22\"\n", "1 to 64 characters"),
        (
            "name = \"x\"\nrelease = \"22.0\"\nbuild = \"22.0.1\"\nplatform = \"xsp\"\n[xsi]\nbaseline = \"22.0\"\noldest_protocol_version = \"20.0\"\nevent_packages = []\nchannel_terminated_reasons = []\n[features.dnd_sync]\ngates = []\n",
            "has no `enabled` value",
        ),
    ];
    for (text, expected) in cases {
        let err = error(text);
        assert!(err.to_string().contains(expected), "{text}\n→ {err}");
        assert!(err.location().is_some(), "{err}");
    }
    // A new feature table at the root of a chain must say whether it is on; extending a
    // profile that documents it is enough.
    assert!(load("name = \"x\"\nextends = \"r22\"\n[features.push_v2]\nnote = \"n\"\n").is_ok());
}

#[test]
fn suppressed_features_are_reported_not_supported() {
    let profiles = load("name = \"x\"\nextends = \"r24\"\n[features]\nunified_call_history = false\ndirectory_sync = false\n").unwrap();
    let p = profiles.get("x").unwrap();
    for f in [
        Feature::UchHgCcRedirection,
        Feature::UchExecAssistant,
        Feature::SpamIndication,
        Feature::CallerIdDisposition,
    ] {
        assert!(!p.supports(f), "{f}");
        assert!(p.suppressed().iter().any(|s| s.feature == f), "{f}");
    }
    let exec = p
        .suppressed()
        .iter()
        .find(|s| s.feature == Feature::UchExecAssistant)
        .unwrap();
    assert_eq!(
        exec.missing,
        [Feature::UnifiedCallHistory, Feature::DirectorySync]
    );
    assert!(
        p.to_string()
            .contains("switched on but needs unified_call_history"),
        "{p}"
    );
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn loader_never_panics_on_arbitrary_text(text in any::<String>()) {
        let mut profiles = Profiles::builtin();
        let _ = profiles.load_str("fuzz.toml", &text);
        prop_assert_eq!(profiles.names().len() >= 6, true);
    }

    #[test]
    fn loader_never_panics_on_profile_shaped_text(
        lines in proptest::collection::vec(
            prop_oneof![
                Just("name = \"p\"".to_owned()),
                Just("name = \"r22\"".to_owned()),
                "extends = \"(r2[234]|p|r22-unpatched|zz)\"",
                "platform = \"[a-z]{0,4}\"",
                "build = \"[0-9.]{0,10}\"",
                "release = \"[0-9.]{0,5}\"",
                Just("[features]".to_owned()),
                Just("[xsi]".to_owned()),
                "[a-z_]{1,30} = (true|false|1|\"x\")",
                "patches = \\[\"[a-zA-Z.:0-9]{0,24}\"\\]",
                "gates = \\[\"[a-zA-Z.:_0-9-]{0,30}\"\\]",
                "\\[features\\.[a-z_]{1,30}\\]",
                "baseline = \"[0-9.sp]{0,6}\"",
                "event_packages = \\[\"[A-Za-z -]{0,20}\"\\]",
                any::<String>(),
            ],
            0..12,
        )
    ) {
        let text = lines.join("\n");
        let mut profiles = Profiles::builtin();
        if let Err(e) = profiles.load_str("fuzz.toml", &text) {
            // Every error renders; positioned ones point inside the text.
            let _ = e.to_string();
            if let Some(loc) = e.location().filter(|l| &*l.source == "fuzz.toml") {
                prop_assert!(loc.line >= 1 && loc.line as usize <= text.lines().count().max(1) + 1);
                prop_assert!(loc.column >= 1);
            }
        }
    }

    #[test]
    fn lookups_never_panic(name in any::<String>()) {
        let profiles = Profiles::builtin();
        let _ = profiles.get(&name).map_err(|e| e.to_string());
        let _ = name.parse::<Feature>().map_err(|e| e.to_string());
    }
}
