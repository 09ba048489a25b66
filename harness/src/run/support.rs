//! What the runner can execute, and the lab topology a scenario asks for. Anything the
//! runner cannot do makes the scenario × profile result `skipped` with the reason before the
//! lab starts; nothing is silently ignored.

use bwlab_core::addr::Role;
use bwlab_scenario::fault::{FaultFamily, FaultRule};
use bwlab_scenario::scenario::{
    Balancing, BuiltinTopology, ExplicitTopology, LbMisconfiguration, LbMode, NodeRole,
    TopologySpec,
};
use bwlab_scenario::{Expectation, Scenario};

use crate::topology::{Farm, TopoFarm, TopoLb, TopoRecord, TopoRecordData, Topology, XspLayout};

/// Health checks probe this path unless the scenario names another.
const XSI_ACTIONS_ROOT: &str = "/com.broadsoft.xsi-actions/v2.0/";

/// The lab zone scenarios run in.
pub(crate) const DOMAIN: &str = "lab.example";

/// Webex-side feature flags the lab's cloud understands (`sut.flags`).
pub(crate) const KNOWN_FLAGS: &[&str] = &["w4bwks-password-expiry-fail-login"];

/// The lab topology of a scenario (`single-xsp` when it names none).
pub(crate) fn topology(s: &Scenario) -> Topology {
    match &s.topology {
        None | Some(TopologySpec::Builtin(BuiltinTopology::SingleXsp)) => {
            Topology::single_xsp(DOMAIN)
        }
        // The default lab is exactly this: XSPs published directly, a round-robin A record
        // for the cloud and prioritised SRV records for the App.
        Some(TopologySpec::Builtin(BuiltinTopology::Option1 | BuiltinTopology::InternetFacing)) => {
            Topology::with_layout(DOMAIN, XspLayout::Option1)
        }
        Some(TopologySpec::Builtin(BuiltinTopology::Option2)) => {
            Topology::with_layout(DOMAIN, XspLayout::Option2)
        }
        Some(TopologySpec::Builtin(BuiltinTopology::DualSite)) => Topology::dual_site(DOMAIN),
        Some(TopologySpec::Explicit(e)) => explicit(e),
    }
}

/// An explicit scenario topology as a lab topology.
pub(crate) fn explicit(e: &ExplicitTopology) -> Topology {
    let farms = e
        .farms
        .iter()
        .map(|f| TopoFarm {
            name: f.name.clone(),
            site: f.site.clone(),
            nodes: f.nodes.clone(),
            kind: if f.mtls { Farm::Mtls } else { Farm::Combined },
        })
        .collect();
    let lbs = e
        .load_balancers
        .iter()
        .map(|l| {
            let misconfigured = |m| l.misconfigurations.contains(&m);
            TopoLb {
                name: l.name.clone(),
                site: l.site.clone(),
                farm: l.farm.clone(),
                passthrough: l.mode == LbMode::PassThrough,
                random: l.balancing == Balancing::Random,
                affinity: l.cookie_affinity && !misconfigured(LbMisconfiguration::NoAffinity),
                // Probed over HTTPS (the Xsi-Actions root unless a path is given): a node
                // taken down resets connections after accepting them, which a bare TCP
                // connect would not notice.
                health: l.health_check.as_ref().map(|h| {
                    (
                        h.interval.0,
                        Some(
                            h.path
                                .clone()
                                .unwrap_or_else(|| XSI_ACTIONS_ROOT.to_owned()),
                        ),
                    )
                }),
                redirect: misconfigured(LbMisconfiguration::Redirect),
            }
        })
        .collect();
    let records = e
        .dns
        .iter()
        .filter_map(|r| {
            let data = if let Some(a) = &r.a {
                TopoRecordData::A(a.clone())
            } else if let Some(srv) = &r.srv {
                TopoRecordData::Srv(
                    srv.iter()
                        .map(|t| (t.target.clone(), t.priority, t.weight, t.port))
                        .collect(),
                )
            } else {
                TopoRecordData::Cname(r.cname.clone()?)
            };
            Some(TopoRecord {
                name: r.name.clone(),
                data,
                ttl: r.ttl,
            })
        })
        .collect();
    let planned: Vec<(String, Role)> = e
        .nodes
        .iter()
        .map(|n| {
            let role = match n.role {
                NodeRole::Xsp => Role::Xsp,
                NodeRole::As => Role::As,
                NodeRole::Ns => Role::Ns,
                NodeRole::Ps => Role::Ps,
                NodeRole::Nps => Role::Nps,
                NodeRole::Cloud => Role::Cloud,
            };
            (n.name.clone(), role)
        })
        .collect();
    Topology::from_parts(DOMAIN, e.sites.clone(), farms, lbs, records, &planned)
}

/// Nodes a fault or a node action can name: XSPs and load balancers.
fn targetable(t: &Topology, node: &str) -> bool {
    t.xsp_nodes().any(|n| n.name == node) || t.lbs.iter().any(|l| l.name == node)
}

fn is_lb(t: &Topology, node: &str) -> bool {
    t.lbs.iter().any(|l| l.name == node)
}

fn is_cloud_host(t: &Topology, host: &str) -> bool {
    t.nodes.iter().any(|n| n.hosts.iter().any(|h| h == host))
}

/// The first reason this scenario cannot run yet, if any.
pub(crate) fn unsupported(s: &Scenario) -> Option<String> {
    reason(s).err().map(|r| format!("unsupported: {r}"))
}

fn reason(s: &Scenario) -> Result<(), String> {
    let t = topology(s);
    if let Some(n) = t.nodes.iter().find(|n| !n.implemented) {
        return Err(format!("node {} (role {})", n.name, n.role));
    }
    if let Some(sys) = s.data.as_ref().and_then(|d| d.system.as_ref()) {
        system(sys)?;
    }
    for flag in s.sut.flags.keys() {
        if !KNOWN_FLAGS.contains(&flag.as_str()) {
            return Err(format!(
                "Webex flag {flag} (known: {})",
                KNOWN_FLAGS.join(", ")
            ));
        }
    }
    for f in &s.faults {
        fault(f, &t, s)?;
    }
    for step in &s.timeline {
        if let Some(faults) = &step.fault {
            for f in faults.iter() {
                fault(f, &t, s)?;
            }
        }
        if let Some(n) = &step.node
            && !targetable(&t, n.node())
        {
            return Err(format!("node action on {}", n.node()));
        }
        if let Some(bwlab_scenario::timeline::DataAction::System(sys)) = &step.data {
            system(sys)?;
        }
        if step.sut.is_some() && s.sut.reference.is_none() {
            return Err("sut actions for a command or url SUT".into());
        }
        if let Some(c) = &step.when {
            expectation(&c.expect, &t)?;
        }
        if let Some(e) = &step.expect {
            for e in e.iter() {
                expectation(e, &t)?;
            }
        }
    }
    for e in &s.expect {
        expectation(e, &t)?;
    }
    Ok(())
}

fn system(_sys: &bwlab_scenario::scenario::SystemSettings) -> Result<(), String> {
    Ok(())
}

fn fault(f: &FaultRule, t: &Topology, s: &Scenario) -> Result<(), String> {
    let kinds = f.kinds();
    let kind = kinds.first().copied().unwrap_or("?");
    let family = FaultRule::KINDS
        .iter()
        .find(|(k, _)| *k == kind)
        .map(|(_, fam)| *fam);
    let on = f.on.as_deref();
    let on_xsp = || match on {
        Some(n) if t.xsp_nodes().any(|x| x.name == n) => Ok(()),
        Some(n) => Err(format!("fault {kind} on {n}")),
        None => Err(format!("fault {kind} without `on`")),
    };
    match family {
        Some(FaultFamily::Transport) => match on {
            Some(n) if targetable(t, n) => Ok(()),
            Some(n) => Err(format!("fault {kind} on {n}")),
            None => Err(format!("fault {kind} without `on`")),
        },
        Some(FaultFamily::Http) => match on {
            Some(n) if is_lb(t, n) => Err(format!("HTTP fault {kind} on a load balancer")),
            Some(n) if targetable(t, n) || is_cloud_host(t, n) => Ok(()),
            Some(n) => Err(format!("fault {kind} on {n}")),
            None => Err(format!("fault {kind} without `on`")),
        },
        Some(FaultFamily::Events) => {
            if f.kill_channel.as_ref().is_some_and(|k| k.reason.is_some()) {
                return Err("fault kill_channel with a reason".into());
            }
            if f.drop_heartbeats.is_some()
                || f.stall_stream.is_some()
                || f.kill_channel.is_some()
                || f.event_queue_size.is_some()
            {
                on_xsp()
            } else {
                // AS faults: a package must be one the AS knows.
                let package = f
                    .lose_events
                    .as_ref()
                    .and_then(|s| s.package.clone())
                    .or_else(|| f.duplicate_events.as_ref().and_then(|s| s.package.clone()))
                    .or_else(|| f.delay_events.as_ref().and_then(|s| s.package.clone()))
                    .or_else(|| f.reorder_events.as_ref().and_then(|s| s.package.clone()));
                if let Some(p) = package
                    && p.parse::<bwlab_appserver::EventPackage>().is_err()
                {
                    return Err(format!("event package {p}"));
                }
                Ok(())
            }
        }
        Some(FaultFamily::Dns) => match on {
            None | Some("dns") => Ok(()),
            Some(other) => Err(format!("dns fault on {other}")),
        },
        Some(FaultFamily::Tls) => match on {
            Some("sut")
                if s.sut.reference
                    != Some(bwlab_scenario::scenario::ReferenceClient::WebexCloud) =>
            {
                Err(format!(
                    "fault {kind} on sut: only the webex-cloud reference SUT takes client-side TLS faults"
                ))
            }
            Some("sut") if f.tls.as_ref().is_some_and(|t| t.max_version.is_none()) => {
                Err("fault tls on sut without max_version".into())
            }
            Some("sut") => Ok(()),
            _ if f.bad_certificate.is_some_and(|b| b.is_client()) => {
                Err("a client certificate fault belongs `on: sut`".into())
            }
            _ => on_xsp(),
        },
        Some(FaultFamily::Node) | Some(FaultFamily::Config) => on_xsp(),
        None => Err(format!("fault {kind}")),
    }
}

fn expectation(e: &Expectation, t: &Topology) -> Result<(), String> {
    let mut all = vec![e];
    all.extend(e.overrides().into_iter().map(|(_, o)| o));
    for e in all {
        let via = e
            .request
            .as_ref()
            .and_then(|r| r.via.as_deref())
            .or_else(|| e.channel_open.as_ref().and_then(|c| c.via.as_deref()));
        if let Some(v) = via
            && !is_lb(t, v)
        {
            return Err(format!(
                "`via: {v}`: the topology has no such load balancer"
            ));
        }
    }
    Ok(())
}

/// Whether any expectation of the scenario (or a per-profile override) names a `via`.
pub(crate) fn uses_via(s: &Scenario) -> bool {
    let mut all: Vec<&Expectation> = s.expect.iter().collect();
    for step in &s.timeline {
        if let Some(c) = &step.when {
            all.push(&c.expect);
        }
        if let Some(e) = &step.expect {
            all.extend(e.iter());
        }
    }
    all.iter().any(|e| {
        std::iter::once(*e)
            .chain(e.overrides().into_iter().map(|(_, o)| o))
            .any(|e| {
                e.request.as_ref().is_some_and(|r| r.via.is_some())
                    || e.channel_open.as_ref().is_some_and(|c| c.via.is_some())
            })
    })
}
