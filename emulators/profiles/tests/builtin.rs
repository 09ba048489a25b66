//! The built-in profiles load and differ from each other the way the release matrix says.

use bwlab_profiles::{
    ChannelTerminatedReason, EventPackage, Feature, Gate, Platform, Profile, Profiles, Server,
    XsiCommand,
};

const BUILTIN: &[&str] = &[
    "r22",
    "r22-unpatched",
    "r23",
    "r23-unpatched",
    "r24",
    "r24-unpatched",
];

fn get(name: &str) -> Profile {
    Profiles::builtin().get(name).unwrap().clone()
}

#[test]
fn every_builtin_loads() {
    let profiles = Profiles::builtin();
    assert_eq!(profiles.names(), BUILTIN);
    for name in BUILTIN {
        let p = profiles.get(name).unwrap();
        assert_eq!(p.name(), *name);
        assert!(!p.description().is_empty(), "{name} has no description");
        assert!(p.source().starts_with("builtin:"), "{name}: {}", p.source());
        assert!(
            p.suppressed().is_empty(),
            "{name} switches on features without prerequisites: {:?}",
            p.suppressed()
        );
        assert!(p.allows_platform(p.platform()));
    }
}

#[test]
fn patched_profiles_document_every_feature() {
    let profiles = Profiles::builtin();
    for name in ["r22", "r23", "r24"] {
        let p = profiles.get(name).unwrap();
        assert!(p.extends().is_empty(), "{name} should stand alone");
        for feature in Feature::ALL {
            assert!(
                p.feature_info(*feature).is_some(),
                "{name} says nothing about {feature}"
            );
        }
    }
}

#[test]
fn unpatched_variants_extend_their_release() {
    for release in ["r22", "r23", "r24"] {
        let p = get(&format!("{release}-unpatched"));
        assert_eq!(p.extends(), [release.to_owned()]);
        let base = get(release);
        assert_eq!(p.build(), base.build());
        assert_eq!(p.platform(), base.platform());
        assert!(p.inventory().is_empty());
        // Unpatched never has more than patched.
        assert!(
            p.features().difference(base.features()).is_empty(),
            "{release}"
        );
        // …and the Xsi interface of the base release stays.
        for f in [
            Feature::XsiPushNotificationRegistrations,
            Feature::XsiProfileTimeZone,
        ] {
            assert!(p.supports(f), "{release}-unpatched lost {f}");
        }
    }
}

#[test]
fn ci_token_validation() {
    assert!(get("r22").supports(Feature::CiTokenValidation));
    assert!(!get("r22-unpatched").supports(Feature::CiTokenValidation));
    assert!(get("r23").supports(Feature::CiTokenValidation));
    assert!(!get("r23-unpatched").supports(Feature::CiTokenValidation));
    // R24 needs no patch.
    assert!(get("r24").supports(Feature::CiTokenValidation));
    assert!(get("r24-unpatched").supports(Feature::CiTokenValidation));
    let r22 = get("r22");
    let gates: Vec<String> = r22
        .gates(Feature::CiTokenValidation)
        .map(Gate::to_string)
        .collect();
    assert_eq!(gates, ["platform:ap376508", "xsp:ap376508", "xsp:ap368601"]);
    assert_eq!(get("r24").gates(Feature::CiTokenValidation).count(), 0);
}

#[test]
fn per_webapp_client_auth_only_on_r24() {
    for name in BUILTIN {
        let expected = name.starts_with("r24");
        assert_eq!(
            get(name).supports(Feature::AuthserviceWebappClientAuth),
            expected,
            "{name}"
        );
    }
}

#[test]
fn shared_lines_and_extension_dialing_need_r23() {
    for f in [
        Feature::SharedLinesOwnerFlag,
        Feature::ExtensionDialing,
        Feature::EscalateToMeeting,
    ] {
        assert!(!get("r22").supports(f), "r22 {f}");
        assert!(get("r23").supports(f), "r23 {f}");
        assert!(get("r24").supports(f), "r24 {f}");
        assert!(!get("r23-unpatched").supports(f), "r23-unpatched {f}");
    }
}

#[test]
fn platforms() {
    assert_eq!(get("r22").platform(), Platform::Xsp);
    assert!(!get("r22").allows_platform(Platform::Adp));
    let r23 = get("r23");
    assert_eq!(r23.platform(), Platform::Xsp);
    assert!(r23.allows_platform(Platform::Adp));
    assert_eq!(get("r24").platform(), Platform::Adp);
    assert!(get("r24").on_platform(Platform::Xsp).is_none());
}

#[test]
fn r23_gates_follow_the_platform() {
    let xsp = get("r23");
    let adp = xsp.on_platform(Platform::Adp).unwrap();
    assert!(adp.supports(Feature::DndSync));
    let xsp_gates: Vec<String> = xsp.gates(Feature::DndSync).map(Gate::to_string).collect();
    let adp_gates: Vec<String> = adp.gates(Feature::DndSync).map(Gate::to_string).collect();
    assert!(xsp_gates.contains(&"xsp:ap382615".to_owned()));
    assert!(!adp_gates.iter().any(|g| g.starts_with("xsp:")));
    assert!(adp_gates.contains(&"ri:Xsi-Actions-23_2022.03_1.220.bwar".to_owned()));
    // XSP reports xsp patches and no ADP apps; ADP the other way round.
    assert!(
        xsp.installed_patches()
            .iter()
            .any(|p| p.server == Server::Xsp)
    );
    assert!(xsp.installed_ri_apps().is_empty());
    assert!(
        !adp.installed_patches()
            .iter()
            .any(|p| p.server == Server::Xsp)
    );
    let apps: Vec<String> = adp
        .installed_ri_apps()
        .iter()
        .map(ToString::to_string)
        .collect();
    assert!(
        apps.contains(&"Xsi-Events-23_2021.05_1.251.bwar".to_owned()),
        "{apps:?}"
    );
}

#[test]
fn cti_and_call_history() {
    for name in ["r22", "r23", "r24"] {
        let p = get(name);
        assert!(p.supports_all(&[
            Feature::CtiHookStatus,
            Feature::UnifiedCallHistory,
            Feature::DndSync
        ]));
        assert!(p.activatable_features().contains(&25433), "{name}");
    }
    for name in ["r22-unpatched", "r23-unpatched", "r24-unpatched"] {
        let p = get(name);
        assert!(!p.supports(Feature::UnifiedCallHistory), "{name}");
        assert!(!p.activatable_features().contains(&25433), "{name}");
    }
    assert!(!get("r22").supports(Feature::CallerIdDisposition));
    assert!(get("r23").supports(Feature::CallerIdDisposition));
    assert!(get("r24").supports(Feature::UchExecAssistant));
    assert!(!get("r23").supports(Feature::UchExecAssistant));
}

#[test]
fn patch_inventory() {
    let r22 = get("r22");
    let installed: Vec<String> = r22
        .installed_patches()
        .iter()
        .map(ToString::to_string)
        .collect();
    for expected in [
        "AP.as.22.0.1123.ap378585",
        "AP.xsp.22.0.1123.ap368601",
        "AP.xsa.22.0.1123.ap372757",
        "AP.nfm.22.0.1123.ap378391",
        // From the dnd_sync gate, not in the §17.1 minimum list.
        "AP.as.22.0.1123.ap382615",
    ] {
        assert!(
            installed.contains(&expected.to_owned()),
            "{expected} missing from {installed:?}"
        );
    }
    assert!(get("r22-unpatched").installed_patches().is_empty());
    let r24: Vec<String> = get("r24")
        .installed_patches()
        .iter()
        .map(|p| p.short())
        .collect();
    assert!(r24.contains(&"as:ap375100".to_owned()));
    assert!(
        r24.iter().all(|p| p.starts_with("as:")),
        "R24 reports AS patches only: {r24:?}"
    );
}

#[test]
fn xsi_interface_per_release() {
    let (r22, r23, r24) = (get("r22"), get("r23"), get("r24"));
    assert!(r22.has_command(XsiCommand::PushNotificationRegistrations));
    assert!(r22.has_command(XsiCommand::SilentAlerting));
    assert!(!r22.has_command(XsiCommand::Fax));
    assert!(r23.has_command(XsiCommand::Fax));
    assert!(r23.has_command(XsiCommand::PushNotification));
    assert!(!r23.has_command(XsiCommand::PlayMusicOnHold));
    assert!(r24.has_command(XsiCommand::PlayMusicOnHold));
    assert!(!r22.supports(Feature::XsiSystemChannels));
    assert!(r23.supports_all(&[
        Feature::XsiSystemChannels,
        Feature::XsiEventPackageList,
        Feature::XsiSubscriptionClientId
    ]));
    assert!(!r22.supports(Feature::XsiLocationDialingCode));
    assert!(r24.supports(Feature::XsiLocationDialingCode));
    for p in [&r22, &r23, &r24] {
        assert!(p.has_event_package(EventPackage::SilentAlerting));
        assert!(p.has_event_package(EventPackage::DoNotDisturb));
        assert!(!p.has_event_package(EventPackage::CallRecording));
        assert!(!p.has_channel_terminated_reason(ChannelTerminatedReason::MaxChannelsReached));
        assert!(p.has_channel_terminated_reason(ChannelTerminatedReason::Expired));
    }
    assert_eq!(r22.xsi().baseline.to_string(), "22.0");
    assert_eq!(r24.xsi().baseline.to_string(), "24.0");
    assert!(r22.accepts_protocol_version("21.sp1".parse().unwrap()));
    assert!(!r22.accepts_protocol_version("19.sp5".parse().unwrap()));
    assert!(!r22.accepts_protocol_version("23.0".parse().unwrap()));
    assert!(!r24.accepts_protocol_version("21.sp1".parse().unwrap()));
}

#[test]
fn build_numbers() {
    assert_eq!(get("r22").build().to_string(), "22.0.1123");
    assert_eq!(get("r23").build().to_string(), "23.0.1075");
    assert_eq!(get("r24").build().to_string(), "24.0.944");
    assert_eq!(get("r22").build().app_version(), "22.0_1.1123");
}

#[test]
fn diff_r22_r24_reads_well() {
    let diff = Profiles::builtin().diff("r22", "r24").unwrap();
    assert!(
        diff.only_in_b
            .contains(&Feature::AuthserviceWebappClientAuth)
    );
    assert!(diff.only_in_b.contains(&Feature::ExtensionDialing));
    assert!(!diff.only_in_a.contains(&Feature::CiTokenValidation));
    let text = diff.to_string();
    for line in [
        "r22 → r24",
        "  + authservice_webapp_client_auth",
        "  + extension_dialing",
        "  + shared_lines_owner_flag",
        "  + xsi_play_music_on_hold",
        "  ~ platform: xsp → adp",
        "  ~ build: 22.0.1123 → 24.0.944",
        "  ~ xsi.baseline: 22.0 → 24.0",
        "  ~ platforms: 1 only in r22, 1 only in r24",
        "      - xsp",
        "      + adp",
        "  ~ xsi.actions_commands: 13 only in r24",
        "  ~ installed_patches: ",
    ] {
        assert!(
            text.lines().any(|l| l.starts_with(line)),
            "missing line starting {line:?} in\n{text}"
        );
    }
    let member = |sign: &str, m: &str| {
        text.lines().any(|l| {
            l.starts_with(&format!("      {sign} ")) && l.split_whitespace().any(|w| w == m)
        })
    };
    assert!(member("+", "play_music_on_hold"), "{text}");
    assert!(member("-", "xsp:ap368601"), "{text}");
    assert!(member("+", "as:ap375100"), "{text}");
    assert!(
        text.lines()
            .all(|l| l.chars().count() <= 110 || l.starts_with("  + ")),
        "{text}"
    );
    // The patched → unpatched diff only removes.
    let diff = Profiles::builtin().diff("r22", "r22-unpatched").unwrap();
    assert!(diff.only_in_b.is_empty());
    let text = diff.to_string();
    assert!(text.contains("  - ci_token_validation"), "{text}");
    assert!(!text.contains("~ platform"), "{text}");
    // A profile does not differ from itself.
    let same = Profiles::builtin().diff("r23", "r23").unwrap();
    assert!(same.is_empty());
    assert_eq!(same.to_string(), "r23 and r23 behave the same");
}

#[test]
fn matrix_covers_every_profile_and_feature() {
    let matrix = Profiles::builtin().matrix();
    assert_eq!(matrix.profiles, BUILTIN);
    assert_eq!(matrix.features.len(), Feature::ALL.len());
    let text = matrix.to_string();
    assert!(text.lines().any(|l| l.starts_with("ci_token_validation ")));
    let md = matrix.to_markdown();
    assert!(
        md.contains("| `authservice_webapp_client_auth` | – | – | – | – | ✓ | ✓ |"),
        "{md}"
    );
}

#[test]
fn json_shapes() {
    let p = get("r22");
    let json = serde_json::to_value(&p).unwrap();
    assert_eq!(json["name"], "r22");
    assert_eq!(json["platform"], "xsp");
    assert!(
        json["features"]
            .as_array()
            .unwrap()
            .iter()
            .any(|f| f == "ci_token_validation")
    );
    assert!(
        json["installed_patches"]
            .as_array()
            .unwrap()
            .iter()
            .any(|f| f == "AP.as.22.0.1123.ap378585")
    );
    assert_eq!(json["xsi"]["baseline"], "22.0");
    let diff = Profiles::builtin().diff("r22", "r24").unwrap();
    let json = serde_json::to_value(&diff).unwrap();
    assert!(
        json["only_in_b"]
            .as_array()
            .unwrap()
            .iter()
            .any(|f| f == "extension_dialing")
    );
    assert!(
        json["changed"]
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c["setting"] == "platform" && c["kind"] == "value")
    );
}

#[test]
fn show_output_mentions_key_facts() {
    let text = get("r22-unpatched").to_string();
    assert!(text.starts_with("r22-unpatched — "), "{text}");
    assert!(text.contains("extends:   r22"), "{text}");
    assert!(
        text.contains("Installed patches (0, build 22.0.1123):\n    none"),
        "{text}"
    );
    let text = get("r22").to_string();
    assert!(text.contains("✓ ci_token_validation"), "{text}");
    assert!(text.contains("· extension_dialing"), "{text}");
    assert!(
        text.lines()
            .any(|l| l.starts_with("    xsa ") && l.ends_with("ap372757")),
        "{text}"
    );
    assert!(
        text.lines()
            .all(|l| l == l.trim_end() && l.chars().count() <= 100),
        "{text}"
    );
}
