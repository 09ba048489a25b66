//! What this slice of the runner can execute. Anything else makes the scenario × profile
//! result `skipped` with the reason; nothing is silently ignored.

use bwlab_scenario::fault::{FaultFamily, FaultRule};
use bwlab_scenario::scenario::{BuiltinTopology, TopologySpec};
use bwlab_scenario::timeline::DataAction;
use bwlab_scenario::{Expectation, Scenario};

/// XSP nodes of the layouts the lab builds today.
pub(crate) fn xsp_nodes(layout: Layout) -> &'static [&'static str] {
    match layout {
        Layout::SingleXsp => &["xsp1"],
        Layout::Option1 => &["xsp1", "xsp2"],
        Layout::Option2 => &["xsp1", "xsp2", "xsp-mtls1", "xsp-mtls2"],
    }
}

/// How a scenario topology maps onto the lab.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Layout {
    /// The option 1 lab with xsp2 taken out of the farm's DNS names.
    SingleXsp,
    Option1,
    Option2,
}

pub(crate) fn layout(s: &Scenario) -> Result<Layout, String> {
    match &s.topology {
        None | Some(TopologySpec::Builtin(BuiltinTopology::SingleXsp)) => Ok(Layout::SingleXsp),
        // The default lab is exactly this: XSPs published directly, a round-robin A record
        // for the cloud and prioritised SRV records for the App.
        Some(TopologySpec::Builtin(BuiltinTopology::Option1 | BuiltinTopology::InternetFacing)) => {
            Ok(Layout::Option1)
        }
        Some(TopologySpec::Builtin(BuiltinTopology::Option2)) => Ok(Layout::Option2),
        Some(TopologySpec::Builtin(b)) => Err(format!("topology {}", b.name())),
        Some(TopologySpec::Explicit(_)) => Err("explicit topology".into()),
    }
}

/// The first reason this scenario cannot run yet, if any.
pub(crate) fn unsupported(s: &Scenario) -> Option<String> {
    reason(s).err().map(|r| format!("unsupported: {r}"))
}

fn reason(s: &Scenario) -> Result<(), String> {
    let layout = layout(s)?;
    if !s.subscribers.is_empty() {
        return Err("inline subscribers".into());
    }
    if let Some(sys) = s.data.as_ref().and_then(|d| d.system.as_ref()) {
        system(sys)?;
    }
    if !s.sut.flags.is_empty() {
        return Err("Webex-side feature flags (sut.flags)".into());
    }
    for f in &s.faults {
        fault(f, layout)?;
    }
    for step in &s.timeline {
        if let Some(faults) = &step.fault {
            for f in faults.iter() {
                fault(f, layout)?;
            }
        }
        if let Some(n) = &step.node
            && !xsp_nodes(layout).contains(&n.node())
        {
            return Err(format!("node action on {}", n.node()));
        }
        if let Some(d) = &step.data {
            match d {
                DataAction::AddUser(_) => return Err("data action add_user".into()),
                DataAction::System(sys) => system(sys)?,
                _ => {}
            }
        }
        if step.sut.is_some() && s.sut.reference.is_none() {
            return Err("sut actions for a command or url SUT".into());
        }
        if let Some(c) = &step.when {
            expectation(&c.expect)?;
        }
        if let Some(e) = &step.expect {
            for e in e.iter() {
                expectation(e)?;
            }
        }
    }
    for e in &s.expect {
        expectation(e)?;
    }
    Ok(())
}

fn system(sys: &bwlab_scenario::scenario::SystemSettings) -> Result<(), String> {
    if sys.password_warning_days.is_some() {
        return Err("system setting password_warning_days".into());
    }
    if sys.lockout_threshold.is_some() {
        return Err("system setting lockout_threshold".into());
    }
    Ok(())
}

fn fault(f: &FaultRule, layout: Layout) -> Result<(), String> {
    let kinds = f.kinds();
    let kind = kinds.first().copied().unwrap_or("?");
    let family = FaultRule::KINDS
        .iter()
        .find(|(k, _)| *k == kind)
        .map(|(_, fam)| *fam);
    let on_xsp = || match f.on.as_deref() {
        Some(n) if xsp_nodes(layout).contains(&n) => Ok(()),
        Some(n) => Err(format!("fault {kind} on {n}")),
        None => Err(format!("fault {kind} without `on`")),
    };
    match family {
        Some(FaultFamily::Transport) => on_xsp(),
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
        Some(FaultFamily::Dns) => match f.on.as_deref() {
            None | Some("dns") => Ok(()),
            Some(other) => Err(format!("dns fault on {other}")),
        },
        _ => Err(format!("fault {kind}")),
    }
}

fn expectation(e: &Expectation) -> Result<(), String> {
    let mut all = vec![e];
    all.extend(e.overrides().into_iter().map(|(_, o)| o));
    for e in all {
        if e.request.as_ref().is_some_and(|r| r.via.is_some())
            || e.channel_open.as_ref().is_some_and(|c| c.via.is_some())
        {
            return Err("expectation via a load balancer".into());
        }
    }
    Ok(())
}
