//! Executing one scenario on one profile.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::Arc;
use std::time::Duration;

use bwlab_appserver::{EventFault, EventPackage, FaultScope};
use bwlab_core::{Entry, Filter, Kind};
use bwlab_dns::{DnsFault, RecordType};
use bwlab_net::faults::{NetFaultId, ToxicRule};
use bwlab_net::http_faults::HttpFaultId;
use bwlab_scenario::fault::{DnsReply, FaultRule};
use bwlab_scenario::scenario::ReferenceClient;
use bwlab_scenario::timeline::{ClockAction, DataAction, NodeAction, SutAction};
use bwlab_scenario::{Expectation, Scenario, Step};
use bwlab_xsp::{XspEventFault, XspFaultId};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::time::Instant;

use super::matcher;
use super::support;
use super::{CaseResult, Outcome, RunOptions};
use crate::Lab;
use crate::reference::{
    CloudClient, CloudClientOptions, CloudRunner, CtiOptions, TlsVersion, WebexApp, WebexAppHandle,
    WebexAppOptions,
};

/// Real time a paused-time case may take before it is stopped (see `RunOptions::wall_limit`).
const CASE_WALL_LIMIT: Duration = Duration::from_secs(300);
/// Journal node of a `command:` SUT's output.
const SUT_NODE: &str = "sut";
/// Near-misses printed per failed expectation.
const NEAR_MISSES: usize = 3;
/// Journal entries kept per case for the HTML report.
const TRACE_LIMIT: usize = 2000;

/// Runs `scenario` (loaded from a file in `base_dir`, if any) on `profile`.
///
/// With a reference SUT everything in the case runs in this process, so the case runs on
/// its own current-thread runtime with paused tokio time: timers fire as soon as nothing
/// else can happen, and a scenario of ten lab minutes takes seconds. `command:` and `url:`
/// SUTs live in real time, and so does their case.
pub async fn run_case(
    scenario: &Scenario,
    file: Option<&Path>,
    profile: &str,
    opts: &RunOptions,
) -> CaseResult {
    if scenario.sut.reference.is_none() || opts.real_time {
        return run_case_here(scenario, file, profile, opts).await;
    }
    let (s, f, p, o) = (
        scenario.clone(),
        file.map(Path::to_path_buf),
        profile.to_owned(),
        opts.clone(),
    );
    let started = std::time::Instant::now();
    let limit = opts.wall_limit.unwrap_or(CASE_WALL_LIMIT);
    let joined = tokio::task::spawn_blocking(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .start_paused(true)
            .build()
            .map_err(|e| e.to_string())?;
        // On paused time a case that never ends would spin through lab time for ever (the
        // lab's periodic timers keep it busy): a real-time watchdog ends it.
        let (done, finished) = std::sync::mpsc::channel::<()>();
        let (cancel, cancelled) = tokio::sync::oneshot::channel::<()>();
        std::thread::spawn(move || {
            if let Err(std::sync::mpsc::RecvTimeoutError::Timeout) = finished.recv_timeout(limit) {
                let _ = cancel.send(());
            }
        });
        let r = rt.block_on(async {
            tokio::select! {
                r = run_case_here(&s, f.as_deref(), &p, &o) => Some(r),
                _ = cancelled => None,
            }
        });
        let _ = done.send(());
        rt.shutdown_timeout(Duration::from_secs(2));
        r.ok_or_else(|| format!("the case ran longer than {limit:?} of real time and was stopped"))
    })
    .await;
    match joined {
        Ok(Ok(r)) => r,
        Ok(Err(e)) => broken(scenario, file, profile, started, e),
        Err(e) => broken(
            scenario,
            file,
            profile,
            started,
            format!("the case panicked: {e}"),
        ),
    }
}

fn broken(
    scenario: &Scenario,
    file: Option<&Path>,
    profile: &str,
    started: std::time::Instant,
    message: String,
) -> CaseResult {
    CaseResult {
        scenario: super::label(file, scenario),
        name: scenario.name.clone(),
        file: file.map(Path::to_path_buf),
        profile: profile.to_owned(),
        outcome: Outcome::Fail(message),
        seconds: started.elapsed().as_secs_f64(),
        log: Vec::new(),
        trace: Vec::new(),
    }
}

async fn run_case_here(
    scenario: &Scenario,
    file: Option<&Path>,
    profile: &str,
    opts: &RunOptions,
) -> CaseResult {
    let started = std::time::Instant::now();
    let mut log = Vec::new();
    let mut trace = Vec::new();
    let outcome = match support::unsupported(scenario) {
        Some(reason) => Outcome::Skip(reason),
        None => {
            let base = file.and_then(Path::parent).map(Path::to_path_buf);
            match run(scenario, base, profile, opts, &mut log, &mut trace).await {
                Ok(()) => Outcome::Pass,
                Err(Stop::Fail(m)) => Outcome::Fail(m),
                Err(Stop::Skip(m)) => Outcome::Skip(format!("unsupported: {m}")),
            }
        }
    };
    CaseResult {
        scenario: super::label(file, scenario),
        name: scenario.name.clone(),
        file: file.map(Path::to_path_buf),
        profile: profile.to_owned(),
        outcome,
        seconds: started.elapsed().as_secs_f64(),
        log,
        trace,
    }
}

enum Stop {
    Fail(String),
    /// Found unsupported while running (checked up front where possible).
    Skip(String),
}

fn fail(m: impl Into<String>) -> Stop {
    Stop::Fail(m.into())
}

/// A fault as the lab knows it, for `revert`.
enum Handle {
    Net(String, NetFaultId),
    Xsp(String, XspFaultId),
    As(bwlab_appserver::FaultId),
    Dns(bwlab_dns::FaultId),
    /// An HTTP fault on an XSP or a cloud host.
    Http(String, HttpFaultId),
    /// A run-time setting of an XSP, reverted to its configured value.
    Drift(String, Drift),
    /// A fault on the SUT's own side (its client certificate, its TLS versions).
    Sut(SutFault),
}

#[derive(Clone, Copy, Debug)]
enum Drift {
    AuthKeys,
    CallControlName,
    AuthServiceUrl,
    TrustAnchors,
    Identity,
    TlsVersions,
    ClockSkew,
}

/// What the reference SUT is told to do wrong, by fault.
#[derive(Clone, Copy, Debug, PartialEq)]
enum SutFault {
    ClientCertificate(bwlab_scenario::fault::BadCertificate),
    TlsMax(bwlab_scenario::fault::TlsVersion),
}

enum SutState {
    None,
    App(WebexAppHandle),
    Cloud(CloudRunner),
    Process(tokio::process::Child),
}

struct Runner<'a> {
    scenario: &'a Scenario,
    profile: &'a str,
    opts: &'a RunOptions,
    lab: Lab,
    t0: Instant,
    faults: Vec<(String, Handle)>,
    /// Nodes taken down with `node: {down}`, and the toxic that does it.
    down: HashMap<String, NetFaultId>,
    sut: SutState,
    seed: u64,
    state_dir: Option<PathBuf>,
    log: &'a mut Vec<String>,
    /// Load balancers and the address they connect to backends from (for `via`).
    lb_ips: HashMap<String, matcher::LbAddr>,
}

async fn run(
    scenario: &Scenario,
    base: Option<PathBuf>,
    profile: &str,
    opts: &RunOptions,
    log: &mut Vec<String>,
    trace: &mut Vec<super::TraceEntry>,
) -> Result<(), Stop> {
    let seed = opts.seed.or(scenario.seed).unwrap_or(super::DEFAULT_SEED);
    let mut b = Lab::builder()
        .profile(profile)
        .topology(support::topology(scenario))
        .seed(seed)
        .app_server_settings(bwlab_appserver::AsSettings {
            seed,
            ..Default::default()
        });
    if let Some(file) = scenario.data.as_ref().and_then(|d| d.file.as_ref()) {
        let p = PathBuf::from(file);
        let p = match (&base, p.is_relative()) {
            (Some(dir), true) => dir.join(p),
            _ => p,
        };
        b = b.data_file(p);
    }
    let state_dir = if scenario.sut.command.is_some() {
        let dir = std::env::temp_dir().join(format!(
            "bwlab-run-{}-{}",
            std::process::id(),
            STATE_SEQ.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
        ));
        b = b.state_dir(dir.clone());
        Some(dir)
    } else {
        None
    };
    let lab = match b.start().await {
        Ok(lab) => lab,
        Err(e) => {
            if let Some(dir) = &state_dir {
                let _ = std::fs::remove_dir_all(dir);
            }
            return Err(fail(format!("the lab did not start: {e}")));
        }
    };
    if let Some(sys) = scenario.data.as_ref().and_then(|d| d.system.as_ref()) {
        apply_system(&lab, sys);
    }
    for (flag, on) in &scenario.sut.flags {
        if flag == "w4bwks-password-expiry-fail-login" {
            lab.cloud().set_password_expiry_fail_login(None, *on);
        }
    }
    // Every random choice of the run follows the scenario's seed.
    for (_, x) in lab.xsps() {
        x.net_faults().reseed(seed);
        x.http_faults().reseed(seed);
    }
    for (_, l) in lab.lbs() {
        l.net_faults().reseed(seed);
    }
    let lb_ips = lb_ips(&lab);
    // `via` tells LBs apart by the address they connect from: only possible when every
    // node has its own (not on a 127.0.0.1-only host).
    let shared_ip = lb_ips
        .values()
        .any(|lb| lab.plan().nodes.iter().filter(|n| n.ip == lb.ip).count() > 1);
    if shared_ip && support::uses_via(scenario) {
        let _ = tokio::time::timeout(Duration::from_secs(2), lab.shutdown()).await;
        if let Some(dir) = &state_dir {
            let _ = std::fs::remove_dir_all(dir);
        }
        return Err(Stop::Skip(
            "`via` expectations on a host where nodes share one address (no 127.77.0.x aliases)"
                .into(),
        ));
    }
    let mut r = Runner {
        lb_ips,
        scenario,
        profile,
        opts,
        lab,
        t0: Instant::now(),
        faults: Vec::new(),
        down: HashMap::new(),
        sut: SutState::None,
        seed,
        state_dir,
        log,
    };
    // Inline subscribers before anything else; a bad one fails the case after a clean
    // shutdown like any other failure.
    let added = scenario
        .subscribers
        .iter()
        .try_for_each(|sub| add_subscriber(&r.lab, sub).map_err(fail));
    let result = match added {
        Ok(()) => r.drive(base).await,
        Err(e) => Err(e),
    };
    *trace = r.trace();
    r.finish().await;
    result
}

static STATE_SEQ: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

/// `data.system` (or a `data: {system: …}` step): the AS's system settings.
fn apply_system(lab: &Lab, sys: &bwlab_scenario::scenario::SystemSettings) {
    let store = lab.data();
    let mut policy = store.policy();
    if let Some(on) = sys.enforce_password_change_on_expiry {
        policy.enforce_password_change_on_expiry = on;
    }
    if let Some(days) = sys.password_warning_days {
        policy.warning_days = i64::from(days);
    }
    if let Some(n) = sys.lockout_threshold {
        policy.lockout_threshold = n;
    }
    store.set_policy(&policy);
}

/// An inline `subscribers:` entry (or an `add_user` step): a user in the lab's first
/// group, with its services assigned.
fn add_subscriber(lab: &Lab, sub: &bwlab_scenario::scenario::Subscriber) -> Result<(), String> {
    let store = lab.data();
    let group = store
        .groups()
        .first()
        .ok_or("the lab data has no group to add users to")?;
    let user_id = if sub.user.contains('@') {
        sub.user.clone()
    } else {
        format!("{}@{}", sub.user, lab.topology().domain)
    };
    let local = user_id.split('@').next().unwrap_or(&user_id).to_owned();
    let mut first = local.clone();
    if let Some(c) = first.get_mut(0..1) {
        c.make_ascii_uppercase();
    }
    let spec = bwlab_model::spec::UserSpec {
        user_id: user_id.clone(),
        enterprise: Some(group.enterprise_id.to_string()),
        group: group.id.to_string(),
        first_name: first,
        last_name: "Scenario".into(),
        password: sub.password.clone(),
        number: sub.number.clone(),
        extension: sub.extension.clone(),
        password_expires_in_days: sub.password_expires_in_days,
        ..Default::default()
    };
    let user = store
        .add_user(spec)
        .map_err(|e| format!("subscriber {}: {e}", sub.user))?;
    for service in &sub.services {
        let kind = bwlab_model::ServiceKind::from_name(service)
            .ok_or_else(|| format!("subscriber {}: unknown service {service}", sub.user))?;
        store
            .assign_service(user.idx, kind)
            .map_err(|e| format!("subscriber {}: {e}", sub.user))?;
    }
    Ok(())
}

impl Runner<'_> {
    fn note(&mut self, text: String) {
        let at = self.t0.elapsed();
        self.log.push(format!("{:>8.3}s {text}", at.as_secs_f64()));
    }

    async fn drive(&mut self, base: Option<PathBuf>) -> Result<(), Stop> {
        let scenario = self.scenario;
        for f in &scenario.faults {
            self.inject(f)?;
        }
        let explicit_sign_in = scenario
            .timeline
            .iter()
            .any(|s| s.sut == Some(SutAction::SignIn));
        if scenario.sut.command.is_some() {
            self.start_command(base.as_deref())?;
        } else if scenario.sut.reference.is_some() && !explicit_sign_in {
            self.sign_in().await;
        }
        let mut prev_time = Instant::now();
        let mut prev_seq = 0u64;
        for (i, step) in scenario.timeline.iter().enumerate() {
            let label = step
                .name
                .clone()
                .unwrap_or_else(|| format!("timeline[{i}]"));
            // A step's window starts where the previous step began; the first step begins
            // with the run (the SUT may have logged before the first step's time).
            let step_seq = if i == 0 {
                0
            } else {
                self.lab.journal().next_seq()
            };
            if let Some(at) = &step.at {
                tokio::time::sleep_until(self.t0 + at.0).await;
            } else if let Some(after) = &step.after {
                tokio::time::sleep_until(prev_time + after.0).await;
            } else if let Some(cond) = &step.when {
                let limit = self.opts.when_limit.unwrap_or(Duration::from_secs(600));
                let exp = cond.expect.for_profile(self.profile);
                if let Err(m) = self
                    .await_expectation(&exp, 0, Instant::now() + limit)
                    .await
                {
                    return Err(fail(format!(
                        "{label}: the condition `{}` never held within {limit:?}\n{m}",
                        cond.text.clone().unwrap_or_else(|| matcher::describe(&exp))
                    )));
                }
            }
            if let Some(within) = &step.within {
                let deadline = prev_time + within.0;
                let exps: Vec<Expectation> = step
                    .expect
                    .iter()
                    .flat_map(|e| e.iter())
                    .map(|e| e.for_profile(self.profile))
                    .collect();
                for e in &exps {
                    self.await_expectation(e, prev_seq, deadline)
                        .await
                        .map_err(|m| fail(format!("{label} (within {within}): {m}")))?;
                }
                self.note(format!("{label}: expectations held"));
            } else {
                self.act(step, &label, prev_seq).await?;
            }
            prev_time = Instant::now();
            prev_seq = step_seq;
        }
        for (i, e) in scenario.expect.iter().enumerate() {
            let e = e.for_profile(self.profile);
            self.check_now(&e, 0)
                .map_err(|m| fail(format!("expect[{i}]: {m}")))?;
        }
        Ok(())
    }

    /// Runs the action of a step that has no `within`.
    async fn act(&mut self, step: &Step, label: &str, prev_seq: u64) -> Result<(), Stop> {
        if let Some(faults) = &step.fault {
            for f in faults.iter() {
                self.inject(f)?;
            }
        }
        if let Some(id) = &step.revert {
            self.revert(id);
        }
        if let Some(n) = &step.node {
            self.node(n);
        }
        if let Some(ClockAction::Advance(d)) = &step.clock {
            self.lab.clock().advance(d.0);
            self.note(format!("{label}: lab clock advanced by {d}"));
        }
        if let Some(d) = &step.data {
            self.data(d)?;
        }
        if let Some(c) = &step.call {
            let mut call = self.lab.call(&c.from, &c.to);
            if let Some(a) = &c.answer_after {
                call = call.answer_after(a.0);
            }
            if let Some(r) = &c.release_after {
                call = call.release_after(r.0);
            }
            match call.start() {
                Ok(_) => self.note(format!("{label}: call {} → {}", c.from, c.to)),
                Err(e) => return Err(fail(format!("{label}: the call did not start: {e}"))),
            }
        }
        if let Some(a) = step.sut {
            match a {
                SutAction::SignIn => self.sign_in().await,
                SutAction::SignOut => self.sign_out().await,
                SutAction::Restart => {
                    self.sign_out().await;
                    self.sign_in().await;
                }
            }
        }
        if let Some(exps) = &step.expect {
            for e in exps.iter() {
                let e = e.for_profile(self.profile);
                self.check_now(&e, prev_seq)
                    .map_err(|m| fail(format!("{label}: {m}")))?;
            }
        }
        Ok(())
    }

    /// Checks `exp` over the entries since `since`, now.
    fn check_now(&self, exp: &Expectation, since: u64) -> Result<(), String> {
        check_on(&self.lab, &self.lb_ips, exp, since)
    }

    /// Waits until `exp` holds over the entries since `since`, at the latest at `deadline`.
    async fn await_expectation(
        &self,
        exp: &Expectation,
        since: u64,
        deadline: Instant,
    ) -> Result<(), String> {
        await_with(&self.lab, &self.lb_ips, exp, since, deadline).await
    }

    // ----- faults -----------------------------------------------------------------------

    fn inject(&mut self, f: &FaultRule) -> Result<(), Stop> {
        let kind = f.kinds().first().copied().unwrap_or("fault");
        let id = f.id.clone().unwrap_or_else(|| kind.to_owned());
        let on = f.on.clone().unwrap_or_default();
        let xsp = |lab: &Lab| {
            lab.xsp(&on)
                .map(|_| on.clone())
                .ok_or_else(|| Stop::Skip(format!("fault {kind} on {on}")))
        };
        let handle = if let Some(json) = f.toxiproxy_json() {
            let rule: ToxicRule =
                serde_json::from_value(json).map_err(|e| fail(format!("fault {id}: {e}")))?;
            let faults = self
                .net_faults(&on)
                .ok_or_else(|| Stop::Skip(format!("fault {kind} on {on}")))?;
            Handle::Net(on.clone(), faults.add(rule))
        } else if f.drop_heartbeats.is_some()
            || f.stall_stream.is_some()
            || f.kill_channel.is_some()
            || f.event_queue_size.is_some()
        {
            let name = xsp(&self.lab)?;
            let scope = f
                .drop_heartbeats
                .as_ref()
                .or(f.stall_stream.as_ref())
                .map(|s| (s.user.clone(), s.channel.clone()))
                .or_else(|| {
                    f.kill_channel
                        .as_ref()
                        .map(|k| (k.user.clone(), k.channel.clone()))
                })
                .unwrap_or_default();
            let channels = self.channels_for(&name, scope);
            let make = |channel: Option<String>| -> XspEventFault {
                if f.drop_heartbeats.is_some() {
                    XspEventFault::DropHeartbeats { channel }
                } else if f.stall_stream.is_some() {
                    XspEventFault::StallStream { channel }
                } else if f.kill_channel.is_some() {
                    XspEventFault::KillChannel { channel }
                } else {
                    XspEventFault::EventQueueSize {
                        size: f.event_queue_size.as_ref().map_or(0, |q| q.size as usize),
                    }
                }
            };
            let node = self.lab.xsp(&name).ok_or_else(|| fail("no such node"))?;
            for c in channels {
                let fid = node
                    .inject_event_fault(make(c))
                    .ok_or_else(|| fail(format!("{name} does not serve Xsi-Events")))?;
                self.faults
                    .push((id.clone(), Handle::Xsp(name.clone(), fid)));
            }
            self.note(format!("fault {id} ({kind}) injected on {name}"));
            return Ok(());
        } else if let Some(fault) = self.as_fault(f) {
            Handle::As(self.lab.app_server().inject_fault(fault?))
        } else if let Some(d) = &f.dns {
            let rtype = match d.record_type.as_deref() {
                None => None,
                Some(t) => Some(
                    t.parse::<RecordType>()
                        .map_err(|_| fail(format!("fault {id}: unknown record type {t}")))?,
                ),
            };
            let reply = match d.reply {
                DnsReply::Nxdomain => DnsFault::NxDomain,
                DnsReply::Servfail => DnsFault::ServFail,
                DnsReply::Refused => DnsFault::Refused,
                DnsReply::NoAnswer => DnsFault::NoAnswer,
                DnsReply::Delay { ms } => DnsFault::Delay { ms },
                DnsReply::Truncate => DnsFault::Truncate,
                DnsReply::Drop => DnsFault::Drop,
            };
            let name = d.name.clone().unwrap_or_else(|| "*".into());
            Handle::Dns(self.lab.dns().inject(&name, rtype, reply))
        } else if let Some(h) = self.http_fault(f, &on, &id)? {
            h
        } else if let Some(h) = self.drift_fault(f, &on, &id)? {
            h
        } else {
            return Err(Stop::Skip(format!("fault {kind}")));
        };
        self.note(format!("fault {id} ({kind}) injected"));
        self.faults.push((id, handle));
        Ok(())
    }

    /// The channels a user-scoped XSP event fault applies to: the user's channels open on
    /// `node` now; every channel of the node when the user has none (or no user is named).
    fn channels_for(
        &self,
        node: &str,
        (user, channel): (Option<String>, Option<String>),
    ) -> Vec<Option<String>> {
        if let Some(c) = channel {
            return vec![Some(c)];
        }
        let Some(user) = user else {
            return vec![None];
        };
        let uid = self.lab.user_id(&user);
        let all = self.lab.journal().entries();
        let closed: Vec<&str> = all
            .iter()
            .filter(|e| e.kind == Kind::Event && e.attr("outcome") == Some("closed"))
            .filter_map(|e| e.attr("channel"))
            .collect();
        let open: Vec<Option<String>> = matcher::channel_map(&all)
            .into_iter()
            .filter(|(c, (owner, n))| {
                n == node && self.lab.user_id(owner) == uid && !closed.contains(&c.as_str())
            })
            .map(|(c, _)| Some(c))
            .collect();
        if open.is_empty() { vec![None] } else { open }
    }

    fn as_fault(&self, f: &FaultRule) -> Option<Result<EventFault, Stop>> {
        let probability = f.probability.unwrap_or(1.0);
        let scope = |user: &Option<String>, package: &Option<String>| -> Result<FaultScope, Stop> {
            Ok(FaultScope {
                user: user.as_ref().map(|u| self.lab.user_id(u)),
                package: match package {
                    None => None,
                    Some(p) => Some(
                        p.parse::<EventPackage>()
                            .map_err(|_| Stop::Skip(format!("event package {p}")))?,
                    ),
                },
            })
        };
        if let Some(s) = &f.lose_events {
            return Some(
                scope(&s.user, &s.package).map(|scope| EventFault::Lose { probability, scope }),
            );
        }
        if let Some(s) = &f.duplicate_events {
            return Some(
                scope(&s.user, &s.package)
                    .map(|scope| EventFault::Duplicate { probability, scope }),
            );
        }
        if let Some(s) = &f.delay_events {
            return Some(scope(&s.user, &s.package).map(|scope| EventFault::Delay {
                delay: s.delay.0,
                probability,
                scope,
            }));
        }
        if let Some(s) = &f.reorder_events {
            return Some(scope(&s.user, &s.package).map(|scope| EventFault::Reorder {
                hold: s.hold.0,
                probability,
                scope,
            }));
        }
        None
    }

    /// The SUT-side faults in force (applied at the SUT's next sign-in).
    fn sut_faults(&self) -> Vec<SutFault> {
        self.faults
            .iter()
            .filter_map(|(_, h)| match h {
                Handle::Sut(f) => Some(*f),
                _ => None,
            })
            .collect()
    }

    /// HTTP faults (WireMock vocabulary) on an XSP or a cloud host.
    fn http_fault(&self, f: &FaultRule, on: &str, id: &str) -> Result<Option<Handle>, Stop> {
        use bwlab_net::http_faults::{DelayDist, HttpFaultAction as A, HttpFaultRule, RouteMatch};
        use bwlab_scenario::fault::{ResponseDelay, WireMockFault};
        let action = if let Some(w) = &f.http_fault {
            match w {
                WireMockFault::ConnectionResetByPeer => A::Reset,
                WireMockFault::EmptyResponse => A::EmptyResponse,
                WireMockFault::MalformedResponseChunk => A::MalformedChunk,
                WireMockFault::RandomDataThenClose => A::RandomDataThenClose,
            }
        } else if let Some(d) = &f.response_delay {
            A::Delay(match d {
                ResponseDelay::Fixed(d) => DelayDist::Fixed(d.0),
                ResponseDelay::Uniform { lower, upper } => DelayDist::Uniform {
                    lower: lower.0,
                    upper: upper.0,
                },
                ResponseDelay::Lognormal { median, sigma } => DelayDist::Lognormal {
                    median: median.0,
                    sigma: *sigma,
                },
            })
        } else if let Some(d) = &f.chunked_dribble {
            A::ChunkedDribble {
                chunks: d.chunks,
                total: d.total.0,
            }
        } else if let Some(st) = &f.http_status {
            A::Status {
                status: st.status,
                body: st.body.clone(),
                retry_after: st.retry_after.as_ref().map(|d| d.0),
            }
        } else if let Some(r) = &f.http_redirect {
            // A node name redirects to that node's own URL.
            let location = match self.lab.xsp(&r.to) {
                Some(x) => format!(
                    "https://{}:{}/com.broadsoft.xsi-actions/v2.0",
                    self.lab.topology().fqdn(&r.to),
                    x.https_addr().port()
                ),
                None => r.to.clone(),
            };
            A::Redirect {
                location,
                status: r.status.unwrap_or(302),
            }
        } else {
            return Ok(None);
        };
        let mut route = RouteMatch::any();
        if let Some(m) = f.route.as_ref() {
            route.method = m.method.clone();
            route.path = m.path.clone();
        }
        let rule = HttpFaultRule::new(action)
            .route(route)
            .probability(f.probability.unwrap_or(1.0));
        let faults = self
            .lab
            .xsp(on)
            .map(|x| x.http_faults())
            .or_else(|| self.lab.cloud().http_faults(on))
            .ok_or_else(|| Stop::Skip(format!("HTTP fault {id} on {on}")))?;
        faults.reseed(self.seed);
        Ok(Some(Handle::Http(on.to_owned(), faults.add(rule))))
    }

    /// Certificates, TLS versions, clock skew and configuration drift: run-time settings of
    /// one XSP, or (`on: sut`) what the reference SUT presents.
    fn drift_fault(&self, f: &FaultRule, on: &str, id: &str) -> Result<Option<Handle>, Stop> {
        use bwlab_scenario::fault::{ConfigDrift, TlsVersion, TrustAnchor};
        if on == "sut" {
            if let Some(b) = f.bad_certificate {
                return Ok(Some(Handle::Sut(SutFault::ClientCertificate(b))));
            }
            if let Some(t) = &f.tls {
                let max = t.max_version.unwrap_or(TlsVersion::Tls13);
                return Ok(Some(Handle::Sut(SutFault::TlsMax(max))));
            }
            return Ok(None);
        }
        let Some(x) = self.lab.xsp(on) else {
            return Ok(None);
        };
        let tls_err = |e: bwlab_xsp::XspError| fail(format!("fault {id} on {on}: {e}"));
        let drift = if let Some(b) = f.bad_certificate {
            let kind: bwlab_pki::BadCert = serde_json::to_value(b)
                .and_then(serde_json::from_value)
                .map_err(|e| fail(format!("fault {id}: {e}")))?;
            let bad = self
                .lab
                .pki()
                .bad_cert_for_names(
                    kind,
                    &self.lab.topology().fqdn(on),
                    &self.lab.topology().certificate_names(on),
                )
                .map_err(|e| fail(format!("fault {id}: {e}")))?;
            x.set_server_identity(Some(bad.identity)).map_err(tls_err)?;
            Drift::Identity
        } else if let Some(t) = &f.tls {
            use bwlab_pki::TlsVersions as V;
            let min = t.min_version.unwrap_or(TlsVersion::Tls12);
            let max = t.max_version.unwrap_or(TlsVersion::Tls13);
            let versions = match (min, max) {
                (TlsVersion::Tls13, _) => V::Tls13Only,
                (_, TlsVersion::Tls12) => V::Tls12Only,
                (_, TlsVersion::Tls13) => V::Tls12And13,
                _ => {
                    return Err(Stop::Skip(format!(
                        "fault {id}: an XSP below TLS 1.2 (the lab's TLS library has no TLS 1.0/1.1)"
                    )));
                }
            };
            x.set_tls_versions(Some(versions)).map_err(tls_err)?;
            Drift::TlsVersions
        } else if let Some(c) = &f.clock_skew {
            let ahead = c.ahead.as_ref().map_or(0, |d| d.0.as_secs() as i64);
            let behind = c.behind.as_ref().map_or(0, |d| d.0.as_secs() as i64);
            x.set_clock_skew(time::Duration::seconds(ahead - behind));
            Drift::ClockSkew
        } else if let Some(d) = &f.config_drift {
            match d {
                ConfigDrift::NonSharedAuthserviceKeys => {
                    x.set_own_auth_keys(Some(bwlab_xsp::AuthKeys::new()));
                    Drift::AuthKeys
                }
                ConfigDrift::CallControlApplicationName(name) => {
                    if !x.set_call_control_application_name(Some(name.clone())) {
                        return Err(fail(format!("fault {id}: {on} serves no Xsi-Events")));
                    }
                    Drift::CallControlName
                }
                ConfigDrift::MissingAuthserviceUrl => {
                    x.set_authservice_url_configured(false);
                    Drift::AuthServiceUrl
                }
                ConfigDrift::MissingTrustAnchor(a) => {
                    let ca = match a {
                        TrustAnchor::WebexCa => bwlab_pki::CaId::WebexClient,
                        TrustAnchor::Identrust => bwlab_pki::CaId::IdenTrust,
                        TrustAnchor::GodaddyG2 => bwlab_pki::CaId::GoDaddyG2,
                    };
                    let anchors = self
                        .lab
                        .pki()
                        .trust_anchors_without(&x.client_trust_anchors(), ca);
                    x.set_client_trust_anchors(Some(anchors)).map_err(tls_err)?;
                    Drift::TrustAnchors
                }
            }
        } else {
            return Ok(None);
        };
        Ok(Some(Handle::Drift(on.to_owned(), drift)))
    }

    /// The transport-fault layer under a node's listeners (an XSP or a load balancer).
    fn net_faults(&self, node: &str) -> Option<&bwlab_net::faults::NetFaults> {
        self.lab
            .xsp(node)
            .map(|x| x.net_faults())
            .or_else(|| self.lab.lb(node).map(|l| l.net_faults()))
    }

    fn revert(&mut self, id: &str) {
        let (gone, keep): (Vec<_>, Vec<_>) = std::mem::take(&mut self.faults)
            .into_iter()
            .partition(|(fid, _)| id == "all" || fid == id);
        self.faults = keep;
        for (_, h) in &gone {
            self.revert_handle(h);
        }
        self.note(format!("revert {id}: {} fault(s)", gone.len()));
    }

    fn revert_handle(&self, h: &Handle) {
        match h {
            Handle::Net(node, id) => {
                if let Some(f) = self.net_faults(node) {
                    f.remove(*id);
                }
            }
            Handle::Xsp(node, id) => {
                if let Some(x) = self.lab.xsp(node) {
                    x.revert_event_fault(*id);
                }
            }
            Handle::As(id) => {
                self.lab.app_server().revert_fault(*id);
            }
            Handle::Dns(id) => {
                self.lab.dns().revert(*id);
            }
            Handle::Http(on, id) => {
                if let Some(f) = self
                    .lab
                    .xsp(on)
                    .map(|x| x.http_faults())
                    .or_else(|| self.lab.cloud().http_faults(on))
                {
                    f.remove(*id);
                }
            }
            Handle::Drift(on, d) => {
                if let Some(x) = self.lab.xsp(on) {
                    match d {
                        Drift::AuthKeys => x.set_own_auth_keys(None),
                        Drift::CallControlName => {
                            x.set_call_control_application_name(None);
                        }
                        Drift::AuthServiceUrl => x.set_authservice_url_configured(true),
                        Drift::TrustAnchors => {
                            let _ = x.set_client_trust_anchors(None);
                        }
                        Drift::Identity => {
                            let _ = x.set_server_identity(None);
                        }
                        Drift::TlsVersions => {
                            let _ = x.set_tls_versions(None);
                        }
                        Drift::ClockSkew => x.set_clock_skew(time::Duration::ZERO),
                    }
                }
            }
            // The SUT picks these up at its next sign-in.
            Handle::Sut(_) => {}
        }
    }

    /// `down`: every connection to the node is reset at once (a `reset_peer` toxic with
    /// timeout 0, on open connections too); `up` removes it; `restart` restarts the node's
    /// Xsi-Events web app (every channel drops, subscriptions survive).
    fn node(&mut self, n: &NodeAction) {
        let Some(faults) = self.net_faults(n.node()).cloned() else {
            return;
        };
        match n {
            NodeAction::Down(name) => {
                if !self.down.contains_key(name) {
                    let id = faults.add(ToxicRule::new(bwlab_net::faults::Toxic::ResetPeer {
                        timeout: 0,
                    }));
                    self.down.insert(name.clone(), id);
                }
            }
            NodeAction::Up(name) => {
                if let Some(id) = self.down.remove(name) {
                    faults.remove(id);
                }
            }
            NodeAction::Restart(name) => {
                if let Some(x) = self.lab.xsp(name) {
                    x.restart_events();
                } else if let Some(id) = self.down.remove(name) {
                    // A load balancer "restarts": it comes back up (its persistence and
                    // health tables are kept).
                    faults.remove(id);
                }
            }
        }
        let what = match n {
            NodeAction::Down(_) => "down",
            NodeAction::Up(_) => "up",
            NodeAction::Restart(_) => "restarted",
        };
        self.lab
            .journal()
            .record("lab", Kind::Lab, format!("node {} {what}", n.node()))
            .attr("node", n.node().to_owned())
            .attr("action", what)
            .commit();
        self.note(format!("node {} {what}", n.node()));
    }

    fn data(&mut self, d: &DataAction) -> Result<(), Stop> {
        let store = self.lab.data();
        let user = |name: &str| {
            store
                .find_user(&self.lab.user_id(name))
                .ok_or_else(|| fail(format!("data: no user {name}")))
        };
        let now = store.now();
        let dur = |d: &bwlab_scenario::LabDuration| {
            time::Duration::try_from(d.0).unwrap_or(time::Duration::ZERO)
        };
        match d {
            DataAction::ExpirePassword(e) => {
                let u = user(&e.user)?;
                let at = match (&e.ago, &e.within) {
                    (Some(ago), _) => now - dur(ago),
                    (None, Some(within)) => now + dur(within),
                    (None, None) => now,
                };
                store
                    .set_password_expiry(u.idx, Some(at))
                    .map_err(|e| fail(format!("data: {e}")))?;
            }
            DataAction::ChangePassword(c) => {
                let u = user(&c.user)?;
                store
                    .reset_password(u.idx, &c.password, now)
                    .map_err(|e| fail(format!("data: {e}")))?;
            }
            DataAction::AssignService(s) | DataAction::RemoveService(s) => {
                let u = user(&s.user)?;
                let kind = bwlab_model::ServiceKind::from_name(&s.service)
                    .ok_or_else(|| Stop::Skip(format!("service {}", s.service)))?;
                let r = if matches!(d, DataAction::AssignService(_)) {
                    store.assign_service(u.idx, kind)
                } else {
                    store.unassign_service(u.idx, kind)
                };
                r.map_err(|e| fail(format!("data: {e}")))?;
            }
            DataAction::System(sys) => apply_system(&self.lab, sys),
            DataAction::AddUser(sub) => add_subscriber(&self.lab, sub).map_err(fail)?,
        }
        self.note(format!(
            "data: {}",
            serde_json::to_string(d).unwrap_or_default()
        ));
        Ok(())
    }

    // ----- the SUT ----------------------------------------------------------------------

    fn sut_user(&self) -> (String, String) {
        let name = self
            .scenario
            .sut
            .user
            .clone()
            .unwrap_or_else(|| "alice".into());
        let id = self.lab.user_id(&name);
        let password = self
            .lab
            .data()
            .find_user(&id)
            .map(|u| u.password_state().portal)
            .unwrap_or_default();
        (id, password)
    }

    fn sut_line(&self, node: &str, action: &str, text: String) {
        self.lab
            .journal()
            .record(node.to_owned(), Kind::Sut, text)
            .attr("action", action)
            .commit();
    }

    async fn sign_in(&mut self) {
        let (user, password) = self.sut_user();
        match self.scenario.sut.reference {
            Some(ReferenceClient::WebexApp) => {
                self.sign_out().await;
                let opts = WebexAppOptions {
                    seed: self.seed,
                    ..WebexAppOptions::default()
                };
                match WebexApp::sign_in(&self.lab, &user, &password, opts).await {
                    Ok(h) => {
                        self.note(format!("webex-app: {user} signed in"));
                        self.sut = SutState::App(h);
                    }
                    Err(e) => {
                        self.note(format!("webex-app: sign-in failed: {e}"));
                        self.sut_line(
                            crate::reference::APP_NODE,
                            "sign-in-failed",
                            format!("sign-in failed: {e}"),
                        );
                    }
                }
            }
            Some(ReferenceClient::WebexCloud) => {
                self.sign_out().await;
                let faults = self.sut_faults();
                let bad_cert = faults.iter().find_map(|f| match f {
                    SutFault::ClientCertificate(b) => serde_json::to_value(b)
                        .and_then(serde_json::from_value::<bwlab_pki::BadCert>)
                        .ok(),
                    _ => None,
                });
                let tls_max = faults.iter().find_map(|f| match f {
                    SutFault::TlsMax(v) => Some(match v {
                        bwlab_scenario::fault::TlsVersion::Tls10 => TlsVersion::V1_0,
                        bwlab_scenario::fault::TlsVersion::Tls11 => TlsVersion::V1_1,
                        bwlab_scenario::fault::TlsVersion::Tls12 => TlsVersion::V1_2,
                        bwlab_scenario::fault::TlsVersion::Tls13 => TlsVersion::V1_3,
                    }),
                    _ => None,
                });
                // The CTI microservice connects where CTI has a farm of its own (layout
                // option 2), or when the scenario is about its client certificate.
                let mtls_farm = self
                    .lab
                    .topology()
                    .farms
                    .iter()
                    .any(|f| f.kind == crate::Farm::Mtls);
                let cti = (mtls_farm || bad_cert.is_some()).then(|| CtiOptions {
                    bad_certificate: bad_cert,
                    ..CtiOptions::default()
                });
                let client = CloudClient::new(
                    &self.lab,
                    CloudClientOptions {
                        seed: self.seed,
                        cti,
                        tls_max_version: tls_max,
                        ..CloudClientOptions::default()
                    },
                );
                let runner = client.start(&user, Some(&password));
                self.note(format!("webex-cloud: working for {user}"));
                self.sut = SutState::Cloud(runner);
            }
            None => {}
        }
    }

    async fn sign_out(&mut self) {
        match std::mem::replace(&mut self.sut, SutState::None) {
            SutState::App(h) => {
                h.stop().await;
                self.note("webex-app: signed out".into());
            }
            SutState::Process(mut child) => {
                let _ = child.kill().await;
            }
            SutState::Cloud(runner) => {
                runner.stop().await;
                self.note("webex-cloud: stopped".into());
            }
            SutState::None => {}
        }
    }

    /// Starts a `command:` SUT with the lab's coordinates in its environment; every line
    /// of its stdout and stderr goes to the journal (`Kind::Sut`, node `sut`).
    fn start_command(&mut self, base: Option<&Path>) -> Result<(), Stop> {
        let Some(cmd) = &self.scenario.sut.command else {
            return Ok(());
        };
        let Some((program, args)) = cmd.argv.split_first() else {
            return Err(fail("sut.command.argv is empty"));
        };
        let (user, password) = self.sut_user();
        let (first, xsp1) = self
            .lab
            .xsps()
            .next()
            .map(|(n, x)| (n.to_owned(), x.https_addr()))
            .ok_or_else(|| fail("the lab has no XSP"))?;
        let host = self.lab.topology().fqdn(&first);
        let mut c = tokio::process::Command::new(program);
        c.args(args)
            .env("BWLAB_DNS", self.lab.dns_addr().to_string())
            .env(
                "BWLAB_XSI_ACTIONS_URL",
                format!(
                    "https://{host}:{}/com.broadsoft.xsi-actions/v2.0",
                    xsp1.port()
                ),
            )
            .env(
                "BWLAB_XSI_EVENTS_URL",
                format!(
                    "https://{host}:{}/com.broadsoft.xsi-events/v2.0",
                    xsp1.port()
                ),
            )
            .env("BWLAB_XSP_ADDR", xsp1.to_string())
            .env("BWLAB_USER", &user)
            .env("BWLAB_PASSWORD", &password)
            .env("BWLAB_PROFILE", self.profile)
            .envs(&cmd.env)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true);
        for (name, x) in self.lab.xsps() {
            c.env(
                format!("BWLAB_{}_ADDR", name.to_ascii_uppercase().replace('-', "_")),
                x.https_addr().to_string(),
            );
        }
        if let Some(ca) = self.lab.ca_bundle_path() {
            c.env("BWLAB_CA_BUNDLE", ca);
        }
        if let Some(dir) = cmd.cwd.as_ref() {
            let p = PathBuf::from(dir);
            c.current_dir(match base {
                Some(b) if p.is_relative() => b.join(p),
                _ => p,
            });
        } else if let Some(b) = base {
            c.current_dir(b);
        }
        let mut child = c
            .spawn()
            .map_err(|e| fail(format!("cannot start {program}: {e}")))?;
        let journal = self.lab.journal().clone();
        for (stream, reader) in [
            (
                "stdout",
                child
                    .stdout
                    .take()
                    .map(|s| Box::new(s) as Box<dyn tokio::io::AsyncRead + Send + Unpin>),
            ),
            (
                "stderr",
                child
                    .stderr
                    .take()
                    .map(|s| Box::new(s) as Box<dyn tokio::io::AsyncRead + Send + Unpin>),
            ),
        ] {
            let Some(reader) = reader else { continue };
            let journal = journal.clone();
            tokio::spawn(async move {
                let mut lines = BufReader::new(reader).lines();
                while let Ok(Some(line)) = lines.next_line().await {
                    journal
                        .record(SUT_NODE, Kind::Sut, line)
                        .attr("stream", stream)
                        .commit();
                }
            });
        }
        self.note(format!("sut: started {}", cmd.argv.join(" ")));
        self.sut = SutState::Process(child);
        Ok(())
    }

    /// The journal as the HTML report draws it (at most `TRACE_LIMIT` entries), timed in
    /// milliseconds since the run started, like the log.
    fn trace(&self) -> Vec<super::TraceEntry> {
        // Lab clock advances, in order: (tokio seconds when made, by how much). The log has
        // one "lab clock advanced" line per advance actually made, in timeline order.
        let made: Vec<f64> = self
            .log
            .iter()
            .filter(|l| l.contains(": lab clock advanced by "))
            .filter_map(|l| l.trim_start().split('s').next()?.parse().ok())
            .collect();
        let advances: Vec<(time::Duration, time::Duration)> = self
            .scenario
            .timeline
            .iter()
            .filter_map(|s| match &s.clock {
                Some(ClockAction::Advance(d)) => time::Duration::try_from(d.0).ok(),
                _ => None,
            })
            .zip(made)
            .map(|(by, at)| (time::Duration::seconds_f64(at), by))
            .collect();
        let advanced: time::Duration = advances.iter().map(|(_, by)| *by).sum();
        let elapsed = time::Duration::try_from(self.t0.elapsed()).unwrap_or_default();
        // Lab wall time at `t0`.
        let origin = self.lab.clock().now() - elapsed - advanced;
        let ms = |at: time::OffsetDateTime| {
            let mut rel = at - origin;
            for (when, by) in &advances {
                if rel >= *when + *by {
                    rel -= *by;
                }
            }
            u64::try_from(rel.whole_milliseconds().max(0)).unwrap_or(0)
        };
        self.lab
            .journal()
            .entries()
            .iter()
            .filter(|e| match e.kind {
                Kind::Http | Kind::Event | Kind::Dns | Kind::Sut | Kind::Fault | Kind::Lab => true,
                Kind::Tls => e.attr("outcome") != Some("accepted"),
                _ => false,
            })
            .take(TRACE_LIMIT)
            .map(|e| super::TraceEntry {
                ms: ms(e.at),
                seq: e.seq,
                node: e.node.to_string(),
                kind: e.kind.to_string(),
                summary: e.summary.lines().next().unwrap_or_default().to_owned(),
                direction: e.attr("direction").map(str::to_owned),
                peer: e.peer.map(|p| p.to_string()),
                attrs: e
                    .attrs
                    .iter()
                    .map(|(k, v)| (k.to_string(), v.clone()))
                    .collect(),
            })
            .collect()
    }

    async fn finish(mut self) {
        self.sign_out().await;
        for (_, h) in std::mem::take(&mut self.faults) {
            self.revert_handle(&h);
        }
        let _ = tokio::time::timeout(Duration::from_secs(2), self.lab.shutdown()).await;
        if let Some(dir) = self.state_dir.take() {
            let _ = std::fs::remove_dir_all(dir);
        }
    }
}

/// Load balancers of the lab and the address they connect to backends from (for `via`).
fn lb_ips(lab: &Lab) -> HashMap<String, matcher::LbAddr> {
    lab.lbs()
        .map(|(n, l)| {
            let addr = matcher::LbAddr {
                ip: l.addr().ip(),
                passthrough: l.mode() == bwlab_lb::Mode::Passthrough,
            };
            (n.to_owned(), addr)
        })
        .collect()
}

/// Checks `exp` over the journal entries since `since`, now.
fn check_on(
    lab: &Lab,
    lbs: &HashMap<String, matcher::LbAddr>,
    exp: &Expectation,
    since: u64,
) -> Result<(), String> {
    let all = lab.journal().entries();
    let window: Vec<Arc<Entry>> = all.iter().filter(|e| e.seq >= since).cloned().collect();
    let uid = |n: &str| lab.user_id(n);
    let ev = matcher::evaluate(exp, &window, &all, &uid, lbs);
    if ev.ok {
        return Ok(());
    }
    let count = ev.count;
    let mut text = format!(
        "expected {} — {count} matching entr{}",
        matcher::describe(exp),
        if count == 1 { "y" } else { "ies" }
    );
    let misses = matcher::near_misses(exp, &window, &all, &uid, lbs, NEAR_MISSES);
    if misses.is_empty() {
        text.push_str("\n  no journal entry of that kind");
    } else {
        text.push_str("\n  closest journal entries:");
        for m in misses {
            text.push_str("\n    ");
            text.push_str(&m);
        }
    }
    Err(text)
}

/// [`super::await_expectation`]: waits for `exp` until `deadline`.
pub(crate) async fn await_on(
    lab: &Lab,
    exp: &Expectation,
    since: u64,
    deadline: Instant,
) -> Result<(), String> {
    await_with(lab, &lb_ips(lab), exp, since, deadline).await
}

/// Waits until `exp` holds over the entries since `since`, at the latest at `deadline`.
/// Expectations with an upper bound (`count`, `at_most`) are judged at the deadline.
async fn await_with(
    lab: &Lab,
    lbs: &HashMap<String, matcher::LbAddr>,
    exp: &Expectation,
    since: u64,
    deadline: Instant,
) -> Result<(), String> {
    let journal = lab.journal().clone();
    if matcher::has_upper_bound(exp) {
        tokio::time::sleep_until(deadline).await;
        return check_on(lab, lbs, exp, since);
    }
    loop {
        let next = journal.next_seq();
        if check_on(lab, lbs, exp, since).is_ok() {
            return Ok(());
        }
        let now = Instant::now();
        if now >= deadline {
            return check_on(lab, lbs, exp, since);
        }
        // Wake on the next journal entry (or at the deadline).
        let any = Filter::default().since(next);
        let _ = journal.wait_for(&any, deadline - now).await;
    }
}
