//! The store built from Rust and from YAML: lookups by every key, services, logs,
//! voice messages, devices, administrators, run-time additions.

use std::sync::Arc;

use bwlab_core::clock::LabClock;
use bwlab_model::services::{
    BusyLampField, CallForwardingAlways, CallWaiting, DoNotDisturb, SimultaneousRingPersonal,
};
use bwlab_model::spec::{DeviceSpec, LineSpec, UserSpec};
use bwlab_model::{
    AdminType, CallLogKind, DeviceLevel, EndpointType, LabData, NewCallLog, NewVoiceMessage,
    PushRegistration, PushToken, Registration, ServiceKind, ServiceSettings, Store, StoreError,
    synthetic_lab_yaml,
};
use time::macros::datetime;

fn clock() -> LabClock {
    LabClock::frozen_at(datetime!(2026-01-01 9:00 UTC))
}

/// A two-group enterprise and a service provider, built in Rust.
fn built() -> Store {
    LabData::builder()
        .system(|s| s.lockout_threshold(3).call_log_limit(2))
        .enterprise("ent1", |e| {
            e.name("Enterprise One")
                .time_zone("Europe/Berlin")
                .group("grp1", |g| {
                    g.ldc("12")
                        .user("alice@lab.example", |u| {
                            u.name("Alice", "Liddell")
                                .number("+15550100")
                                .extension("100")
                                .password("s3cret!")
                                .alternate_id("alice@corp.example")
                                .email("alice@corp.example")
                                .mobile("+15559990100")
                                .service(DoNotDisturb {
                                    active: true,
                                    ring_splash: false,
                                })
                                .assign(ServiceKind::VoiceMessaging)
                                .assign(ServiceKind::SharedCallAppearance)
                                .service(BusyLampField {
                                    list_uri: Some("sip:blf@lab.example".into()),
                                    monitored_users: vec!["bob@lab.example".into()],
                                    enable_call_park_notification: false,
                                })
                        })
                        .user("bob@lab.example", |u| {
                            u.name("Bob", "Li").extension("101").password("pw-bob")
                        })
                })
                .group("grp2", |g| {
                    g.ldc("34")
                        .time_zone("Asia/Tokyo")
                        .user("carol@lab.example", |u| {
                            u.name("Carol", "Ng").extension("100").password("pw-carol")
                        })
                })
        })
        .service_provider("sp1", |e| {
            e.group("grp1", |g| {
                g.user("dave@sp.example", |u| {
                    u.name("Dave", "Jones").password("pw-dave")
                })
            })
        })
        .device("alice-8851", "Cisco 8851", |d| {
            d.mac("00:1b:44:11:3a:b7")
                .line("alice_1@lab.example", "alice@lab.example")
                .shared_line("alice_2@lab.example", "alice@lab.example")
        })
        .device("bob-app", "Business Communicator - PC", |d| {
            d.line("bob_1@lab.example", "bob@lab.example")
        })
        .admin("sys@lab.example", "admin", |a| a)
        .admin("prov@lab.example", "prov", |a| a.provisioning())
        .admin("ent1-admin@lab.example", "x", |a| a.enterprise("ent1"))
        .admin("grp2-admin@lab.example", "x", |a| {
            a.group("ent1", "grp2").read_only(true)
        })
        .build(clock())
        .unwrap_or_else(|e| panic!("{e}"))
}

#[test]
fn builder_round_trip() {
    let s = built();
    assert_eq!(s.user_count(), 4);
    let alice = s.find_user("alice@lab.example").unwrap();
    assert_eq!(alice.display_name(), "Alice Liddell");
    assert_eq!(alice.email.as_deref(), Some("alice@corp.example"));
    assert_eq!(alice.mobile.as_ref().unwrap().as_str(), "+15559990100");
    assert_eq!(alice.time_zone.name, "Europe/Berlin", "from the enterprise");
    assert_eq!(alice.time_zone.display_name, "(GMT+01:00) Europe/Berlin");
    assert_eq!(&*alice.group_id, "grp1");
    assert_eq!(&*alice.enterprise_id, "ent1");
    assert!(alice.is_enterprise);
    assert_eq!(alice.country_code(), Some("1"));
    assert_eq!(alice.clid_first_name(), "Alice");
    assert_eq!(
        alice.calling_line_id.number.as_ref().unwrap().as_str(),
        "+15550100"
    );
    assert_eq!(&*alice.language, "English");
    let carol = s.find_user("carol@lab.example").unwrap();
    assert_eq!(
        carol.time_zone.name, "Asia/Tokyo",
        "group wins over enterprise"
    );
    let dave = s.find_user("dave@sp.example").unwrap();
    assert!(!dave.is_enterprise);
    assert_eq!(dave.time_zone.name, "UTC");

    // The same lab written as data, serialised and read back as YAML, gives the same store.
    let data = LabData::builder()
        .enterprise("e", |e| {
            e.group("g", |g| {
                g.user("x@lab.example", |u| u.name("X", "Y").password("pw"))
            })
        })
        .data();
    assert_eq!(data.users[0].enterprise.as_deref(), Some("e"));
    assert_eq!(data.users[0].group, "g");
}

#[test]
fn lookups_by_every_key() {
    let s = built();
    let alice = s.find_user("alice@lab.example").unwrap();
    for login in [
        "alice@lab.example",
        "ALICE@LAB.EXAMPLE",
        "alice@corp.example",
        "Alice@Corp.Example",
    ] {
        assert_eq!(s.find_user(login).unwrap().idx, alice.idx, "{login}");
    }
    assert!(s.find_user("alice").is_none());
    for n in ["+15550100", "15550100", "tel:+1 555 0100", "+1-555-0100"] {
        assert_eq!(s.find_by_number(n).unwrap().idx, alice.idx, "{n}");
    }
    assert!(
        s.find_by_number("+15559990100").is_none(),
        "mobile numbers are not DNs"
    );
    let grp1 = s.find_group("ent1", "grp1").unwrap().idx;
    let grp2 = s.find_group("ent1", "grp2").unwrap().idx;
    assert_eq!(s.find_by_extension(grp1, "100").unwrap().idx, alice.idx);
    let carol = s.find_by_extension(grp2, "100").unwrap();
    assert_eq!(
        carol.user_id, "carol@lab.example",
        "same extension, other group"
    );
    let ent1 = s.find_enterprise("ent1").unwrap().idx;
    assert_eq!(
        s.find_by_location_code(ent1, "12100").unwrap().idx,
        alice.idx
    );
    assert_eq!(
        s.find_by_location_code(ent1, "34100").unwrap().idx,
        carol.idx
    );
    assert!(s.find_by_location_code(ent1, "99100").is_none());
    // Dialling from Alice: own group first, then LDC + extension, then numbers.
    assert_eq!(s.dial(&alice, "101").unwrap().user_id, "bob@lab.example");
    assert_eq!(
        s.dial(&alice, "34100").unwrap().user_id,
        "carol@lab.example"
    );
    assert_eq!(s.dial(&carol, "100").unwrap().user_id, "carol@lab.example");
    assert_eq!(
        s.dial(&carol, "+15550100").unwrap().user_id,
        "alice@lab.example"
    );
    // Listings.
    assert_eq!(s.group_users(grp1).len(), 2);
    assert_eq!(s.enterprise_users(ent1).len(), 3);
    assert_eq!(s.user(alice.idx).unwrap().user_id, alice.user_id);
    assert_eq!(s.users().count(), 4);
}

#[test]
fn services_assign_get_put_unassign() {
    let s = built();
    let alice = s.find_user("alice@lab.example").unwrap().idx;
    let dnd: DoNotDisturb = s.service(alice).unwrap();
    assert!(dnd.active);
    s.put_service(
        alice,
        DoNotDisturb {
            active: false,
            ring_splash: true,
        },
    )
    .unwrap();
    assert!(s.service::<DoNotDisturb>(alice).unwrap().ring_splash);

    assert_eq!(
        s.service::<CallWaiting>(alice),
        Err(StoreError::NotAssigned(ServiceKind::CallWaiting))
    );
    assert_eq!(
        s.put_service(alice, CallWaiting { active: false }),
        Err(StoreError::NotAssigned(ServiceKind::CallWaiting))
    );
    assert_eq!(s.assign_service(alice, ServiceKind::CallWaiting), Ok(true));
    assert_eq!(s.assign_service(alice, ServiceKind::CallWaiting), Ok(false));
    assert!(s.service::<CallWaiting>(alice).unwrap().active, "defaults");

    // Settings are checked on PUT.
    let bad = CallForwardingAlways {
        active: true,
        forward_to_phone_number: None,
        ring_splash: false,
    };
    assert_eq!(
        s.assign_service(alice, ServiceKind::CallForwardingAlways),
        Ok(true)
    );
    match s.put_service(alice, bad) {
        Err(StoreError::InvalidSettings(p)) => {
            assert_eq!(
                p[0].to_string(),
                "forwardToPhoneNumber: required when active is true"
            )
        }
        other => panic!("{other:?}"),
    }
    let blf = BusyLampField {
        monitored_users: vec!["nobody@lab.example".into()],
        ..Default::default()
    };
    assert!(matches!(
        s.put_service(alice, blf),
        Err(StoreError::InvalidSettings(_))
    ));

    // Simultaneous Ring and Remote Office are assignable at run time.
    let sim = SimultaneousRingPersonal {
        active: true,
        ..Default::default()
    };
    assert_eq!(s.assign_service_with(alice, sim.clone()), Ok(true));
    assert_eq!(s.service::<SimultaneousRingPersonal>(alice).unwrap(), sim);
    assert_eq!(s.assign_service(alice, ServiceKind::RemoteOffice), Ok(true));

    let kinds = s.assigned_services(alice).unwrap();
    assert!(kinds.windows(2).all(|w| w[0] < w[1]), "sorted");
    assert_eq!(
        s.unassign_service(alice, ServiceKind::DoNotDisturb),
        Ok(true)
    );
    assert_eq!(
        s.unassign_service(alice, ServiceKind::DoNotDisturb),
        Ok(false)
    );
    assert!(
        !s.find_user("alice@lab.example")
            .unwrap()
            .has_service(ServiceKind::DoNotDisturb)
    );
    // Dynamic access by kind.
    assert!(matches!(
        s.service_settings(alice, ServiceKind::CallWaiting),
        Ok(ServiceSettings::CallWaiting(_))
    ));
}

#[test]
fn update_service_is_read_modify_write_under_the_user_lock() {
    let s = built();
    let alice = s.find_user("alice@lab.example").unwrap().idx;
    // Two fields changed by two sets of threads: with a read-then-put, one side's last
    // write would overwrite the other's field; under update_service both survive.
    s.put_service(
        alice,
        DoNotDisturb {
            active: false,
            ring_splash: false,
        },
    )
    .unwrap();
    std::thread::scope(|scope| {
        for i in 0..8 {
            let s = &s;
            scope.spawn(move || {
                for _ in 0..200 {
                    s.update_service(alice, |d: &mut DoNotDisturb| {
                        if i % 2 == 0 {
                            d.active = !d.active;
                        } else {
                            d.ring_splash = !d.ring_splash;
                        }
                        Ok::<_, StoreError>(())
                    })
                    .unwrap();
                }
            });
        }
    });
    // Each field was toggled 4 × 200 times: an even count leaves both false.
    let d: DoNotDisturb = s.service(alice).unwrap();
    assert!(!d.active && !d.ring_splash, "{d:?}");

    // The closure's value comes back; its error leaves the settings alone.
    let before: DoNotDisturb = s.service(alice).unwrap();
    let r = s.update_service(alice, |d: &mut DoNotDisturb| {
        d.active = true;
        Err::<(), _>(StoreError::NoSuchUser)
    });
    assert_eq!(r, Err(StoreError::NoSuchUser));
    assert_eq!(s.service::<DoNotDisturb>(alice).unwrap(), before);
    assert_eq!(
        s.update_service(alice, |d: &mut DoNotDisturb| Ok::<_, StoreError>(d.active)),
        Ok(false)
    );
    // Invalid results are refused and not stored; unassigned services are refused.
    s.assign_service(alice, ServiceKind::CallForwardingAlways)
        .unwrap();
    let r = s.update_service(alice, |c: &mut CallForwardingAlways| {
        c.active = true;
        Ok::<_, StoreError>(())
    });
    assert!(matches!(r, Err(StoreError::InvalidSettings(_))), "{r:?}");
    assert!(!s.service::<CallForwardingAlways>(alice).unwrap().active);
    assert_eq!(
        s.update_service(alice, |_: &mut CallWaiting| Ok::<_, StoreError>(())),
        Err(StoreError::NotAssigned(ServiceKind::CallWaiting))
    );
}

#[test]
fn call_logs_and_voice_messages() {
    let s = built();
    let alice = s.find_user("alice@lab.example").unwrap().idx;
    let t = datetime!(2026-01-01 9:00 UTC);
    for i in 0..3 {
        s.append_call_log(
            alice,
            NewCallLog {
                kind: CallLogKind::Missed,
                name: format!("Caller {i}"),
                number: "+442079460000".into(),
                time: t + time::Duration::minutes(i),
            },
        )
        .unwrap();
    }
    let missed = s.call_logs(alice, Some(CallLogKind::Missed)).unwrap();
    assert_eq!(missed.len(), 2, "callLogLimit 2");
    assert_eq!(missed[0].name, "Caller 2");
    assert_eq!(missed[0].country_code.as_deref(), Some("44"));
    assert_eq!(missed[0].phone_number, "2079460000");
    assert!(
        s.delete_call_log(alice, CallLogKind::Missed, &missed[0].call_log_id)
            .unwrap()
    );
    s.clear_call_logs(alice, None).unwrap();
    assert!(s.call_logs(alice, None).unwrap().is_empty());

    let m = s
        .deposit_voice_message(
            alice,
            NewVoiceMessage {
                duration_ms: Some(4000),
                urgent: true,
                content: Some(Arc::from(&b"RIFF"[..])),
                ..Default::default()
            },
        )
        .unwrap();
    assert_eq!(m.time, t, "defaults to lab time");
    assert_eq!(s.message_summary(alice).unwrap().new_urgent_messages, 1);
    assert!(s.mark_voice_message(alice, &m.id, true).unwrap());
    assert_eq!(s.message_summary(alice).unwrap().old_urgent_messages, 1);
    s.mark_all_voice_messages(alice, false).unwrap();
    assert_eq!(
        s.voice_message(alice, &m.id)
            .unwrap()
            .unwrap()
            .content
            .as_deref(),
        Some(&b"RIFF"[..])
    );
    assert!(s.delete_voice_message(alice, &m.id).unwrap());
    assert!(s.voice_messages(alice).unwrap().is_empty());
    // Without Voice Messaging there is no mailbox.
    let bob = s.find_user("bob@lab.example").unwrap().idx;
    assert_eq!(
        s.deposit_voice_message(bob, NewVoiceMessage::default()),
        Err(StoreError::NotAssigned(ServiceKind::VoiceMessaging))
    );
}

#[test]
fn push_registrations_per_user() {
    let s = built();
    let alice = s.find_user("alice@lab.example").unwrap().idx;
    let reg = |id: &str, token: &str| PushRegistration {
        application_id: "com.example.app".into(),
        registration_id: id.into(),
        tokens: vec![PushToken {
            token: token.into(),
            token_type: Some("VoIP".into()),
            ..Default::default()
        }],
        ..Default::default()
    };
    assert!(s.push_registrations(alice).unwrap().is_empty());
    assert!(!s.add_push_registration(alice, reg("r1", "t1")).unwrap());
    assert!(!s.add_push_registration(alice, reg("r2", "t2")).unwrap());
    assert!(s.add_push_registration(alice, reg("r1", "t3")).unwrap());
    let list = s.push_registrations(alice).unwrap();
    assert_eq!(list.len(), 2);
    assert_eq!(list[0].tokens[0].token, "t3");
    assert_eq!(
        s.delete_push_registration(alice, None, Some("t2")).unwrap(),
        1
    );
    assert_eq!(
        s.delete_push_registration(alice, Some("r1"), None).unwrap(),
        1
    );
    assert!(s.push_registrations(alice).unwrap().is_empty());
}

#[test]
fn devices_and_endpoints() {
    let s = built();
    let alice = s.find_user("alice@lab.example").unwrap();
    let d = s.find_device_by_mac("001B44113AB7").unwrap();
    assert_eq!(d.name, "alice-8851");
    assert_eq!(d.mac.unwrap().to_string(), "001B44113AB7");
    assert_eq!(d.level, DeviceLevel::Group);
    assert_eq!(d.group, Some(alice.group));
    assert!(!d.is_soft_client());
    assert!(s.find_device("bob-app").unwrap().is_soft_client());
    let eps = s.user_endpoints(alice.idx).unwrap();
    assert_eq!(eps.len(), 2);
    assert_eq!(eps[0].0.lines[eps[0].1].endpoint, EndpointType::Primary);
    assert!(eps[0].0.lines[eps[0].1].owner);
    assert_eq!(
        eps[1].0.lines[eps[1].1].endpoint,
        EndpointType::SharedCallAppearance
    );
    assert!(!eps[1].0.lines[eps[1].1].owner);
    let (dev, line) = s.find_endpoint("ALICE_2@lab.example").unwrap();
    assert!(dev.lines[line].allow_termination());
    assert!(s.set_allow_termination("alice_2@lab.example", false));
    assert!(!dev.lines[line].allow_termination());
    assert!(!s.set_allow_termination("nope@lab.example", false));

    // Adding a device at run time.
    let spec = DeviceSpec {
        name: "carol-8845".into(),
        device_type: "Cisco 8845".into(),
        mac: Some("00:1b:44:11:3a:b9".into()),
        lines: vec![LineSpec {
            line_port: "carol_1@lab.example".into(),
            user: "carol@lab.example".into(),
            endpoint: EndpointType::Primary,
            owner: None,
            auth_username: Some("carol".into()),
            auth_password: Some("sip".into()),
            allow_termination: true,
        }],
        ..Default::default()
    };
    let d = s.add_device(&spec).unwrap();
    assert_eq!(s.find_device_by_mac("001b44113ab9").unwrap().idx, d.idx);
    let carol = s.find_user("carol@lab.example").unwrap();
    assert_eq!(s.user_endpoints(carol.idx).unwrap().len(), 1);
    let again = s.add_device(&spec).unwrap_err();
    let text: Vec<String> = again.errors().iter().map(ToString::to_string).collect();
    assert_eq!(
        text,
        [
            "device.name: device name \"carol-8845\" is already used",
            "device.mac: MAC 001B44113AB9 is already used",
            "device.lines[0].linePort: line port \"carol_1@lab.example\" is already used",
            "device.lines[0].endpoint: carol_1@lab.example already has a primary endpoint",
        ]
    );
}

#[test]
fn registrations_per_line_with_expiry() {
    let s = built();
    let alice = s.find_user("alice@lab.example").unwrap().idx;
    let now = s.now();
    let mut reg = Registration::new(
        "sip:alice_1@198.51.100.7:5061;transport=tls",
        now + time::Duration::hours(1),
    );
    reg.user_agent = Some("Cisco-CP8851/14.2".into());
    reg.public_addr = Some("198.51.100.7:5061".parse().unwrap());
    assert!(s.register("ALICE_1@lab.example", reg.clone()));
    assert!(s.register(
        "alice_2@lab.example",
        Registration::new("sip:alice_2@10.0.0.9", now + time::Duration::minutes(5))
    ));
    assert!(!s.register("nobody@lab.example", reg.clone()));
    // Same contact again replaces; an expired binding is not listed.
    let mut again = reg.clone();
    again.expires_at = now + time::Duration::hours(2);
    assert!(s.register("alice_1@lab.example", again.clone()));
    assert!(s.register(
        "alice_1@lab.example",
        Registration::new("sip:old@10.0.0.1", now - time::Duration::seconds(1))
    ));
    let regs = s.user_registrations(alice).unwrap();
    assert_eq!(regs.len(), 2, "{regs:?}");
    assert_eq!(regs[0].0.name, "alice-8851");
    assert_eq!(regs[0].2, again);
    assert_eq!(regs[1].2.uri, "sip:alice_2@10.0.0.9");
    let bob = s.find_user("bob@lab.example").unwrap().idx;
    assert!(s.user_registrations(bob).unwrap().is_empty());
    // Unregister one contact, then all.
    assert_eq!(s.unregister("alice_2@lab.example", Some("sip:other")), 0);
    assert_eq!(
        s.unregister("alice_2@lab.example", Some("sip:alice_2@10.0.0.9")),
        1
    );
    assert_eq!(s.unregister("alice_1@lab.example", None), 1);
    assert!(s.user_registrations(alice).unwrap().is_empty());
}

#[test]
fn admins_scope_and_auth() {
    let s = built();
    let now = s.now();
    let alice = s.find_user("alice@lab.example").unwrap();
    let carol = s.find_user("carol@lab.example").unwrap();
    let dave = s.find_user("dave@sp.example").unwrap();
    let sys = s.find_admin("SYS@lab.example").unwrap();
    assert!(sys.can_access_user(&alice) && sys.can_access_user(&dave));
    let ent = s.find_admin("ent1-admin@lab.example").unwrap();
    assert!(ent.can_access_user(&carol) && !ent.can_access_user(&dave));
    let grp = s.find_admin("grp2-admin@lab.example").unwrap();
    assert!(grp.can_access_user(&carol) && !grp.can_access_user(&alice));
    assert!(!grp.can_modify_user(&carol) && !grp.can_reset_password(&carol));
    assert!(ent.can_modify_user(&carol));
    assert_eq!(
        s.find_admin("prov@lab.example").unwrap().admin_type,
        AdminType::Provisioning
    );
    assert!(
        s.authenticate_admin("prov@lab.example", "prov", now)
            .is_allowed()
    );
    assert!(
        !s.authenticate_admin("prov@lab.example", "nope", now)
            .is_allowed()
    );
    assert_eq!(
        s.authenticate_admin("nobody", "x", now).name(),
        "unknown-user"
    );
    // Admins are not users and users are not admins.
    assert!(s.find_user("sys@lab.example").is_none());
    assert!(s.find_admin("alice@lab.example").is_none());
}

fn new_user(id: &str, ext: &str) -> UserSpec {
    UserSpec {
        user_id: id.into(),
        enterprise: Some("ent1".into()),
        group: "grp1".into(),
        first_name: "New".into(),
        last_name: "User".into(),
        password: "pw".into(),
        extension: Some(ext.into()),
        ..Default::default()
    }
}

#[test]
fn add_user_at_run_time() {
    let s = built();
    let u = s.add_user(new_user("erin@lab.example", "102")).unwrap();
    assert_eq!(u.idx.get(), 4);
    assert_eq!(s.find_user("ERIN@lab.example").unwrap().idx, u.idx);
    let grp1 = s.find_group("ent1", "grp1").unwrap().idx;
    assert_eq!(s.find_by_extension(grp1, "102").unwrap().idx, u.idx);
    let ent1 = s.find_enterprise("ent1").unwrap().idx;
    assert_eq!(s.find_by_location_code(ent1, "12102").unwrap().idx, u.idx);
    assert_eq!(s.group_users(grp1).len(), 3);
    assert!(
        s.authenticate("erin@lab.example", "pw", s.now())
            .is_allowed()
    );
    // Clashes with loaded data are refused.
    let e = s
        .add_user(new_user("alice@corp.example", "100"))
        .unwrap_err();
    let text: Vec<String> = e.errors().iter().map(ToString::to_string).collect();
    assert_eq!(
        text,
        [
            "user.userId: \"alice@corp.example\" is already a login id of alice@lab.example",
            "user.extension: extension \"100\" is already used in group grp1 by alice@lab.example",
        ]
    );
    let e = s.add_user(new_user("sys@lab.example", "103")).unwrap_err();
    assert!(e.to_string().contains("already an administrator login"));
}

#[test]
fn readers_are_not_blocked_by_additions() {
    let s = built();
    let writer = {
        let s = s.clone();
        std::thread::spawn(move || {
            for i in 0..2000 {
                s.add_user(new_user(
                    &format!("bulk{i}@lab.example"),
                    &format!("{}", 5000 + i),
                ))
                .unwrap();
            }
        })
    };
    let readers: Vec<_> = (0..2)
        .map(|_| {
            let s = s.clone();
            std::thread::spawn(move || {
                let mut seen = 0;
                for _ in 0..20_000 {
                    assert!(s.find_user("alice@lab.example").is_some());
                    assert!(s.find_by_number("+15550100").is_some());
                    let n = s.user_count();
                    if let Some(u) = s.user(bwlab_model::UserIdx::from_index(n.saturating_sub(1))) {
                        // A user visible by index is fully built and findable soon after.
                        assert!(u.user_id.contains('@'));
                    }
                    seen = seen.max(n);
                }
                seen
            })
        })
        .collect();
    writer.join().unwrap();
    for r in readers {
        r.join().unwrap();
    }
    assert_eq!(s.user_count(), 2004);
    assert!(s.find_user("bulk1999@lab.example").is_some());
}

#[test]
fn synthetic_lab_loads_and_is_indexed() {
    let yaml = synthetic_lab_yaml(2500);
    let s =
        Store::from_yaml_str(&yaml, "synthetic.yaml", clock()).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(s.user_count(), 2500);
    assert_eq!(s.groups().len(), 3);
    let u = s.find_user("ALT1234@corp.example").unwrap();
    assert_eq!(u.user_id, "u1234@synth.example");
    assert_eq!(s.find_by_number("+15550001234").unwrap().idx, u.idx);
    assert_eq!(s.find_by_extension(u.group, "1234").unwrap().idx, u.idx);
    let ldc = s
        .group(u.group)
        .unwrap()
        .location_dialing_code
        .clone()
        .unwrap();
    assert_eq!(
        s.find_by_location_code(u.enterprise, &format!("{ldc}1234"))
            .unwrap()
            .idx,
        u.idx
    );
    assert!(u.has_service(ServiceKind::DoNotDisturb));
    assert!(
        s.authenticate("u1234@synth.example", "pw1234-secret", s.now())
            .is_allowed()
    );
    assert_eq!(s.device_count(), 10);
    assert_eq!(s.admins().len(), 1);
}

#[test]
fn builder_data_survives_a_yaml_round_trip() {
    use bwlab_model::services::{CallRecording, RecordingMode};
    let data = LabData::builder()
        .system(|s| {
            s.enforce_password_change_on_expiry(true)
                .default_time_zone("Europe/Paris")
        })
        .enterprise("e", |e| {
            e.group("g", |g| {
                g.ldc("7").user("a@lab.example", |u| {
                    u.name("A", "B")
                        .password("true")
                        .number("+15550100")
                        .extension("0100")
                        .service(CallRecording {
                            recording_mode: RecordingMode::OnDemand,
                            ..Default::default()
                        })
                        .assign(ServiceKind::DirectedCallPickup)
                        .assign(ServiceKind::VoiceMessaging)
                        .call_log(
                            CallLogKind::Missed,
                            "Bob",
                            "+15550101",
                            datetime!(2026-01-01 8:00 UTC),
                        )
                        .voice_message(
                            "Bob",
                            "tel:+15550101",
                            datetime!(2026-01-01 8:01 UTC),
                            5000,
                            false,
                        )
                })
            })
        })
        .device("d", "Cisco 8851", |d| {
            d.mac("001b44113ab7").line("l@lab.example", "a@lab.example")
        })
        .admin("adm", "pw", |a| a.group("e", "g").read_only(true))
        .data();
    let yaml = serde_saphyr::to_string(&data).unwrap();
    let back = bwlab_model::parse_lab_yaml(&yaml, "round-trip.yaml")
        .unwrap_or_else(|e| panic!("{e}\n{yaml}"));
    assert_eq!(back, data, "{yaml}");
    let store =
        Store::from_yaml_str(&yaml, "round-trip.yaml", clock()).unwrap_or_else(|e| panic!("{e}"));
    let a = store.find_user("a@lab.example").unwrap();
    assert_eq!(a.extension.as_deref(), Some("0100"), "leading zero kept");
    assert!(
        store
            .authenticate("a@lab.example", "true", store.now())
            .is_allowed()
    );
    assert_eq!(store.voice_messages(a.idx).unwrap().len(), 1);
}
