//! Every fault kind (and every action and expectation kind) survives
//! value → YAML → parser → value.

use bwlab_scenario::expect::*;
use bwlab_scenario::fault::*;
use bwlab_scenario::scenario::{ReferenceClient, Sut};
use bwlab_scenario::timeline::*;
use bwlab_scenario::{LabDuration, OneOrMany, Scenario, parse_str};

fn d(text: &str) -> LabDuration {
    LabDuration::parse(text).unwrap()
}

fn rule(f: impl FnOnce(&mut FaultRule)) -> FaultRule {
    let mut r = FaultRule::default();
    f(&mut r);
    r
}

fn every_fault_kind() -> Vec<FaultRule> {
    vec![
        rule(|r| {
            r.latency = Some(Latency {
                latency: d("500ms"),
                jitter: Some(d("50ms")),
            });
            r.stream = Some(Stream::Upstream);
            r.toxicity = Some(0.5);
            r.on = Some("xsp1".into());
        }),
        rule(|r| r.bandwidth = Some(Bandwidth { rate: 64 })),
        rule(|r| r.slow_close = Some(SlowClose { delay: d("2s") })),
        rule(|r| r.timeout = Some(Timeout { timeout: d("0s") })),
        rule(|r| {
            r.reset_peer = Some(ResetPeer {
                timeout: Some(d("1s")),
            })
        }),
        rule(|r| {
            r.slicer = Some(Slicer {
                average_size: 64,
                size_variation: 32,
                delay: d("10ms"),
            })
        }),
        rule(|r| r.limit_data = Some(LimitData { bytes: 1024 })),
        rule(|r| {
            r.http_fault = Some(WireMockFault::ConnectionResetByPeer);
            r.route = Some(RouteMatch {
                method: Some("GET".into()),
                path: Some("/com.broadsoft.xsi-actions/*".into()),
            });
            r.probability = Some(0.25);
        }),
        rule(|r| r.http_fault = Some(WireMockFault::EmptyResponse)),
        rule(|r| r.http_fault = Some(WireMockFault::MalformedResponseChunk)),
        rule(|r| r.http_fault = Some(WireMockFault::RandomDataThenClose)),
        rule(|r| r.response_delay = Some(ResponseDelay::Fixed(d("2s")))),
        rule(|r| {
            r.response_delay = Some(ResponseDelay::Uniform {
                lower: d("1s"),
                upper: d("3s"),
            })
        }),
        rule(|r| {
            r.response_delay = Some(ResponseDelay::Lognormal {
                median: d("1s"),
                sigma: 0.4,
            })
        }),
        rule(|r| {
            r.chunked_dribble = Some(ChunkedDribble {
                chunks: 5,
                total: d("2s"),
            })
        }),
        rule(|r| {
            r.http_status = Some(HttpStatus {
                status: 503,
                body: Some("busy".into()),
                retry_after: Some(d("30s")),
            })
        }),
        rule(|r| {
            r.http_redirect = Some(HttpRedirect {
                to: "xsp1".into(),
                status: Some(307),
            })
        }),
        rule(|r| r.drop_heartbeats = Some(ChannelScope::default())),
        rule(|r| {
            r.drop_heartbeats = Some(ChannelScope {
                user: Some("alice".into()),
                channel: None,
            })
        }),
        rule(|r| {
            r.stall_stream = Some(ChannelScope {
                user: None,
                channel: Some("ch-1".into()),
            })
        }),
        rule(|r| {
            r.kill_channel = Some(KillChannel {
                user: Some("bob".into()),
                channel: None,
                reason: Some("ExplicitDelete".into()),
            })
        }),
        rule(|r| r.event_queue_size = Some(EventQueueSize { size: 0 })),
        rule(|r| {
            r.lose_events = Some(EventScope {
                user: Some("alice".into()),
                package: Some("Basic Call".into()),
            })
        }),
        rule(|r| {
            r.delay_events = Some(DelayEvents {
                delay: d("3s"),
                user: None,
                package: None,
            })
        }),
        rule(|r| r.duplicate_events = Some(EventScope::default())),
        rule(|r| {
            r.reorder_events = Some(ReorderEvents {
                hold: d("2s"),
                user: None,
                package: Some("Do Not Disturb".into()),
            })
        }),
        rule(|r| {
            r.dns = Some(DnsFaultSpec {
                name: Some("_xsi-client._tcp.lab.example".into()),
                record_type: Some("SRV".into()),
                reply: DnsReply::Nxdomain,
            })
        }),
        rule(|r| {
            r.dns = Some(DnsFaultSpec {
                name: None,
                record_type: None,
                reply: DnsReply::Delay { ms: 500 },
            })
        }),
        rule(|r| {
            r.dns = Some(DnsFaultSpec {
                name: None,
                record_type: Some("A".into()),
                reply: DnsReply::NoAnswer,
            })
        }),
        rule(|r| {
            r.bad_certificate = Some(BadCertificate::Rsa1024);
            r.on = Some("xsp2".into());
        }),
        rule(|r| {
            r.bad_certificate = Some(BadCertificate::ClientWithSan);
            r.on = Some("sut".into());
        }),
        rule(|r| {
            r.tls = Some(TlsVersions {
                min_version: None,
                max_version: Some(TlsVersion::Tls11),
            });
            r.on = Some("sut".into());
        }),
        rule(|r| {
            r.clock_skew = Some(ClockSkew {
                ahead: None,
                behind: Some(d("10m")),
            });
            r.on = Some("xsp1".into());
        }),
        rule(|r| {
            r.config_drift = Some(ConfigDrift::NonSharedAuthserviceKeys);
            r.on = Some("xsp2".into());
            r.id = Some("keys".into());
        }),
        rule(|r| {
            r.config_drift = Some(ConfigDrift::CallControlApplicationName("other".into()));
            r.on = Some("xsp2".into());
        }),
        rule(|r| {
            r.config_drift = Some(ConfigDrift::MissingAuthserviceUrl);
            r.on = Some("xsp1".into());
        }),
        rule(|r| {
            r.config_drift = Some(ConfigDrift::MissingTrustAnchor(TrustAnchor::GodaddyG2));
            r.on = Some("xsp1".into());
        }),
    ]
}

fn base() -> Scenario {
    Scenario {
        name: "round trip".into(),
        description: Some("every kind".into()),
        profiles: vec!["r22".into(), "r24".into()],
        topology: Some(bwlab_scenario::TopologySpec::Builtin(
            bwlab_scenario::BuiltinTopology::Option1,
        )),
        subscribers: Vec::new(),
        data: None,
        sut: Sut {
            reference: Some(ReferenceClient::WebexApp),
            ..Sut::default()
        },
        seed: Some(9),
        faults: Vec::new(),
        timeline: Vec::new(),
        expect: Vec::new(),
    }
}

fn round_trip(s: &Scenario) {
    let yaml = serde_saphyr::to_string(s).unwrap();
    let back = parse_str(&yaml, "rt.yaml").unwrap_or_else(|e| panic!("{e}\n---\n{yaml}"));
    assert_eq!(&back, s, "\n---\n{yaml}");
}

#[test]
fn every_fault_kind_round_trips() {
    let rules = every_fault_kind();
    let covered: std::collections::BTreeSet<&str> = rules.iter().flat_map(|r| r.kinds()).collect();
    let all: std::collections::BTreeSet<&str> = FaultRule::KINDS.iter().map(|(k, _)| *k).collect();
    assert_eq!(covered, all, "a fault kind is missing from this test");
    // As top-level rules, and as step rules (a single one and a first-match list).
    let mut s = base();
    s.faults = rules.clone();
    round_trip(&s);
    for r in &rules {
        let mut s = base();
        s.timeline = vec![Step {
            at: Some(d("1s")),
            fault: Some(OneOrMany(vec![r.clone()])),
            ..Step::default()
        }];
        round_trip(&s);
    }
    let mut s = base();
    s.timeline = vec![Step {
        after: Some(d("1s")),
        fault: Some(OneOrMany(rules)),
        ..Step::default()
    }];
    round_trip(&s);
}

#[test]
fn every_action_and_expectation_round_trips() {
    let exp = |f: fn(&mut Expectation)| {
        let mut e = Expectation::default();
        f(&mut e);
        e
    };
    let expectations = vec![
        exp(|e| {
            e.request = Some(RequestMatch {
                node: Some("xsp1".into()),
                via: None,
                method: Some("GET".into()),
                path: Some("/x/*".into()),
                status: Some(200),
                user: Some("alice".into()),
            })
        }),
        exp(|e| {
            e.channel_open = Some(ChannelMatch {
                user: "alice".into(),
                node: Some("xsp2".into()),
                via: None,
            });
            e.at_least = Some(2);
            e.r22 = Some(Box::new(Expectation {
                count: Some(0),
                ..Expectation::default()
            }));
        }),
        exp(|e| {
            e.channel_closed = Some(ChannelClosedMatch {
                user: Some("bob".into()),
                node: None,
                reason: Some("NonResponsiveChannel".into()),
            })
        }),
        exp(|e| {
            e.event = Some(EventMatch {
                event_type: Some("CallReceivedEvent".into()),
                user: Some("bob".into()),
                package: Some("Basic Call".into()),
                node: None,
            })
        }),
        exp(|e| {
            e.heartbeat = Some(HeartbeatMatch {
                user: None,
                node: Some("xsp1".into()),
                status: Some(404),
            });
            e.at_most = Some(3);
        }),
        exp(|e| {
            e.token = Some(TokenMatch {
                user: Some("alice".into()),
                node: Some("xsp1".into()),
            })
        }),
        exp(|e| {
            e.dns_query = Some(DnsQueryMatch {
                name: Some("x.lab.example".into()),
                record_type: Some("A".into()),
                rcode: Some("NXDOMAIN".into()),
            })
        }),
        exp(|e| {
            e.sut_log = Some(LogMatch {
                contains: "Error code 100006".into(),
            });
            e.count = Some(1);
        }),
    ];
    let covered: Vec<&str> = expectations.iter().flat_map(|e| e.kinds()).collect();
    assert_eq!(covered, Expectation::KINDS);
    let step = |f: fn(&mut Step)| {
        let mut s = Step {
            after: Some(d("1s")),
            ..Step::default()
        };
        f(&mut s);
        s
    };
    let mut s = base();
    s.faults = vec![rule(|r| {
        r.id = Some("slow".into());
        r.latency = Some(Latency {
            latency: d("1s"),
            jitter: None,
        });
    })];
    s.timeline = vec![
        step(|s| s.node = Some(NodeAction::Down("xsp1".into()))),
        step(|s| s.node = Some(NodeAction::Up("xsp1".into()))),
        step(|s| s.node = Some(NodeAction::Restart("xsp2".into()))),
        step(|s| s.clock = Some(ClockAction::Advance(d("11d")))),
        step(|s| s.revert = Some("slow".into())),
        step(|s| {
            s.data = Some(DataAction::ExpirePassword(ExpirePassword {
                user: "alice".into(),
                ago: None,
                within: Some(d("7d")),
            }))
        }),
        step(|s| {
            s.data = Some(DataAction::ChangePassword(ChangePassword {
                user: "alice".into(),
                password: "n3w!".into(),
            }))
        }),
        step(|s| {
            s.data = Some(DataAction::AssignService(ServiceChange {
                user: "bob".into(),
                service: "doNotDisturb".into(),
            }))
        }),
        step(|s| {
            s.data = Some(DataAction::RemoveService(ServiceChange {
                user: "bob".into(),
                service: "doNotDisturb".into(),
            }))
        }),
        step(|s| {
            s.data = Some(DataAction::AddUser(bwlab_scenario::scenario::Subscriber {
                user: "dan@lab.example".into(),
                password: "pw".into(),
                number: Some("+15550100999".into()),
                extension: None,
                password_expires_in_days: Some(-2),
                services: vec!["callWaiting".into()],
            }))
        }),
        step(|s| {
            s.data = Some(DataAction::System(
                bwlab_scenario::scenario::SystemSettings {
                    enforce_password_change_on_expiry: Some(true),
                    password_warning_days: Some(10),
                    lockout_threshold: None,
                },
            ))
        }),
        step(|s| {
            s.call = Some(Call {
                from: "alice".into(),
                to: "bob".into(),
                answer_after: Some(d("2s")),
                release_after: Some(d("10s")),
            })
        }),
        step(|s| s.sut = Some(SutAction::SignIn)),
        step(|s| s.sut = Some(SutAction::SignOut)),
        step(|s| s.sut = Some(SutAction::Restart)),
        Step {
            within: Some(d("5s")),
            expect: Some(OneOrMany(expectations.clone())),
            ..Step::default()
        },
        Step {
            when: Some(Condition {
                expect: bwlab_scenario::timeline::parse_condition("3rd heartbeat of alice")
                    .unwrap(),
                text: Some("3rd heartbeat of alice".into()),
            }),
            clock: Some(ClockAction::Advance(d("1h"))),
            ..Step::default()
        },
        Step {
            when: Some(Condition {
                expect: expectations[1].for_profile("r24"),
                text: None,
            }),
            sut: Some(SutAction::SignIn),
            ..Step::default()
        },
    ];
    s.expect = expectations;
    round_trip(&s);
}

#[test]
fn explicit_topology_round_trips() {
    use bwlab_scenario::scenario::*;
    let mut s = base();
    s.topology = Some(bwlab_scenario::TopologySpec::Explicit(ExplicitTopology {
        sites: vec!["a".into()],
        farms: vec![Farm {
            name: "f".into(),
            site: Some("a".into()),
            nodes: vec!["xsp1".into(), "xsp2".into()],
            mtls: true,
        }],
        load_balancers: vec![LoadBalancer {
            name: "lb1".into(),
            site: Some("a".into()),
            farm: "f".into(),
            mode: LbMode::TlsTerminating,
            balancing: Balancing::Random,
            cookie_affinity: false,
            health_check: Some(HealthCheck {
                interval: d("5s"),
                path: Some("/health".into()),
            }),
            misconfigurations: vec![LbMisconfiguration::Redirect, LbMisconfiguration::NoAffinity],
        }],
        nodes: vec![NodeSpec {
            name: "nps1".into(),
            role: NodeRole::Nps,
            site: None,
        }],
        dns: vec![
            DnsRecord {
                name: "xsp.lab.example".into(),
                a: Some(vec!["lb1".into(), "192.0.2.1".into()]),
                srv: None,
                cname: None,
                ttl: Some(60),
            },
            DnsRecord {
                name: "_xsi-client._tcp.lab.example".into(),
                a: None,
                srv: Some(vec![SrvTarget {
                    target: "xsp.lab.example".into(),
                    priority: 10,
                    weight: 5,
                    port: 443,
                }]),
                cname: None,
                ttl: None,
            },
        ],
    }));
    s.sut = Sut {
        reference: None,
        command: Some(SutCommand {
            argv: vec!["./client".into(), "--x".into()],
            env: [("A".to_string(), "1".to_string())].into(),
            cwd: None,
        }),
        url: None,
        user: Some("alice".into()),
        flags: [("w4bwks-password-expiry-fail-login".to_string(), true)].into(),
    };
    round_trip(&s);
}
