//! Semantic checks that types alone cannot express: one-of rules, ranges, references to
//! users, nodes, profiles and fault ids, and the order of the timeline.

use std::collections::BTreeSet;

use crate::de::hint_for;
use crate::expect::Expectation;
use crate::fault::{FaultFamily, FaultRule};
use crate::load::LoadOptions;
use crate::scenario::{
    DataSpec, ExplicitTopology, LbMode, Scenario, Subscriber, Sut, TopologySpec,
};
use crate::timeline::{DataAction, Step};

/// The built-in lab data (users alice, bob, carol…) used when a scenario names none.
const DEFAULT_DATA: &str = include_str!("../../harness/data/default-lab.yaml");

/// What decoding produced, list items with their index in the file.
#[derive(Default)]
pub(crate) struct Decoded {
    pub name: Option<String>,
    pub description: Option<String>,
    pub profiles: Option<Vec<String>>,
    pub topology: Option<TopologySpec>,
    pub subscribers: Vec<(usize, Subscriber)>,
    pub data: Option<DataSpec>,
    pub sut: Option<Sut>,
    pub seed: Option<u64>,
    pub faults: Vec<(usize, FaultRule)>,
    pub timeline: Vec<(usize, Step)>,
    pub expect: Vec<(usize, Expectation)>,
    /// Decoding reported errors (some items may be missing).
    pub poisoned_any: bool,
}

impl Decoded {
    pub fn into_scenario(self) -> Option<Scenario> {
        if self.poisoned_any {
            return None;
        }
        Some(Scenario {
            name: self.name?,
            description: self.description,
            profiles: self.profiles.unwrap_or_default(),
            topology: self.topology,
            subscribers: strip(self.subscribers),
            data: self.data,
            sut: self.sut?,
            seed: self.seed,
            faults: strip(self.faults),
            timeline: strip(self.timeline),
            expect: strip(self.expect),
        })
    }
}

/// Drops the file indices of decoded list items.
fn strip<T>(items: Vec<(usize, T)>) -> Vec<T> {
    items.into_iter().map(|(_, x)| x).collect()
}

/// A semantic problem, placed by field path.
pub(crate) struct Issue {
    pub path: String,
    pub message: String,
    pub hint: Option<String>,
    /// Point at the key of `path` rather than its value.
    pub at_key: bool,
}

struct Checker<'a> {
    issues: Vec<Issue>,
    profiles: Vec<String>,
    known_profiles: Vec<String>,
    nodes: BTreeSet<String>,
    lbs: BTreeSet<String>,
    users: Vec<String>,
    options: &'a LoadOptions,
}

impl Checker<'_> {
    fn err(&mut self, path: impl Into<String>, message: impl Into<String>, hint: Option<String>) {
        self.issues.push(Issue {
            path: path.into(),
            message: message.into(),
            hint,
            at_key: false,
        });
    }

    fn err_key(
        &mut self,
        path: impl Into<String>,
        message: impl Into<String>,
        hint: Option<String>,
    ) {
        self.issues.push(Issue {
            path: path.into(),
            message: message.into(),
            hint,
            at_key: true,
        });
    }

    fn user(&mut self, path: String, user: &str) {
        let known = self.users.iter().any(|u| {
            u == "*"
                || u.eq_ignore_ascii_case(user)
                || u.split('@')
                    .next()
                    .is_some_and(|local| local.eq_ignore_ascii_case(user))
        });
        if !known {
            let locals: Vec<&str> = self
                .users
                .iter()
                .filter_map(|u| u.split('@').next())
                .collect();
            let hint = match crate::error::did_you_mean(user, locals.iter().copied()) {
                Some(h) => Some(format!("did you mean `{h}`?")),
                None if locals.is_empty() => Some("add the user under `subscribers:`".into()),
                None => Some(format!("known users: {}", locals.join(", "))),
            };
            self.err(path, format!("unknown user `{user}`"), hint);
        }
    }

    fn node(&mut self, path: String, node: &str, allow: &[&str]) {
        if self.nodes.contains(node) || allow.contains(&node) {
            return;
        }
        let mut names: Vec<&str> = self.nodes.iter().map(String::as_str).collect();
        names.extend_from_slice(allow);
        self.err(
            path,
            format!("unknown node `{node}` (not in the topology)"),
            hint_for(node, &names),
        );
    }

    fn lb(&mut self, path: String, lb: &str) {
        if !self.lbs.contains(lb) {
            let names: Vec<&str> = self.lbs.iter().map(String::as_str).collect();
            let hint = if names.is_empty() {
                Some("this topology has no load balancer".into())
            } else {
                hint_for(lb, &names)
            };
            self.err(path, format!("unknown load balancer `{lb}`"), hint);
        }
    }

    fn fraction(&mut self, path: String, v: Option<f64>) {
        if let Some(v) = v
            && !(0.0..=1.0).contains(&v)
        {
            self.err(
                path,
                format!("{v} is outside 0–1"),
                Some("0 never, 1 always, 0.25 one in four".into()),
            );
        }
    }
}

pub(crate) fn check(d: &Decoded, options: &LoadOptions) -> Vec<Issue> {
    let known_profiles: Vec<String> = bwlab_profiles::Profiles::builtin()
        .names()
        .into_iter()
        .map(str::to_string)
        .collect();
    let mut c = Checker {
        issues: Vec::new(),
        profiles: Vec::new(),
        known_profiles,
        nodes: BTreeSet::new(),
        lbs: BTreeSet::new(),
        users: Vec::new(),
        options,
    };

    // Profiles.
    match &d.profiles {
        Some(list) => {
            for (i, p) in list.iter().enumerate() {
                if !c.known_profiles.contains(p) {
                    let names: Vec<&str> = c.known_profiles.iter().map(String::as_str).collect();
                    let hint = hint_for(p, &names);
                    c.err(
                        format!("profiles[{i}]"),
                        format!("unknown profile `{p}`"),
                        hint,
                    );
                } else if list[..i].contains(p) {
                    c.err(
                        format!("profiles[{i}]"),
                        format!("profile `{p}` is listed twice"),
                        None,
                    );
                }
            }
            if list.is_empty() {
                c.err(
                    "profiles",
                    "the profile list is empty",
                    Some("leave `profiles:` out to run on r22, r23 and r24".into()),
                );
            }
            c.profiles = list.clone();
        }
        None => c.profiles = vec!["r22".into(), "r23".into(), "r24".into()],
    }

    // Topology: collect names, check the explicit form.
    let topo = d
        .topology
        .as_ref()
        .map(TopologySpec::expand)
        .unwrap_or_else(|| crate::scenario::BuiltinTopology::SingleXsp.expand());
    for fixed in ["dns", "as", "ci-us-a", "ci-eu", "ci-us-b", "idp-proxy"] {
        c.nodes.insert(fixed.into());
    }
    if let Some(TopologySpec::Explicit(t)) = &d.topology {
        check_topology(&mut c, t);
    }
    for f in &topo.farms {
        c.nodes.extend(f.nodes.iter().cloned());
    }
    for lb in &topo.load_balancers {
        c.nodes.insert(lb.name.clone());
        c.lbs.insert(lb.name.clone());
    }
    for n in &topo.nodes {
        c.nodes.insert(n.name.clone());
    }

    // Users: inline, data file, or the built-in data.
    for (i, s) in &d.subscribers {
        if c.users.iter().any(|u| u.eq_ignore_ascii_case(&s.user)) {
            c.err(
                format!("subscribers[{i}].user"),
                format!("user `{}` is listed twice", s.user),
                None,
            );
        }
        c.users.push(s.user.clone());
        for (j, svc) in s.services.iter().enumerate() {
            check_service(&mut c, format!("subscribers[{i}].services[{j}]"), svc);
        }
    }
    let data_file = d.data.as_ref().and_then(|x| x.file.as_deref());
    if let Some(file) = data_file {
        load_data_users(&mut c, file);
    }
    if d.subscribers.is_empty()
        && data_file.is_none()
        && let Ok(data) = bwlab_model::parse_lab_yaml(DEFAULT_DATA, "<built-in lab data>")
    {
        c.users.extend(data.users.into_iter().map(|u| u.user_id));
    }

    // SUT.
    if let Some(sut) = &d.sut {
        check_sut(&mut c, sut);
    }

    // Faults active from the start.
    let mut ids: Vec<String> = Vec::new();
    for (i, f) in &d.faults {
        check_fault(&mut c, &format!("faults[{i}]"), f, &mut ids);
    }

    // Timeline.
    let mut last_at = None;
    for (pos, (i, s)) in d.timeline.iter().enumerate() {
        let p = format!("timeline[{i}]");
        let timings = s.timings();
        match timings.as_slice() {
            [] => c.err(
                &p,
                "the step has no timing",
                Some("start it with `at: 5s`, `after: 2s`, `within: 30s` or `when: …`".into()),
            ),
            [_] => {}
            many => c.err_key(
                format!("{p}.{}", many[1]),
                format!("a step has one timing, this one has {}", quoted(many)),
                Some("split it into two steps".into()),
            ),
        }
        let actions = s.actions();
        match actions.as_slice() {
            [] => c.err(
                &p,
                "the step does nothing",
                Some(format!("give it one of {}", quoted(Step::ACTIONS))),
            ),
            [_] => {}
            many => c.err_key(
                format!("{p}.{}", many[1]),
                format!("a step has one action, this one has {}", quoted(many)),
                Some(
                    "split it into steps; `after: 0s` runs a step right after the previous one"
                        .into(),
                ),
            ),
        }
        if s.within.is_some() {
            if pos == 0 {
                c.err(
                    format!("{p}.within"),
                    "`within` counts from the previous step, and this is the first",
                    Some("use `at:` for the first step".into()),
                );
            }
            if s.expect.is_none() {
                c.err(
                    format!("{p}.within"),
                    "`within` is a deadline for an expectation",
                    Some("use `after:` to run an action later".into()),
                );
            }
        }
        if let Some(at) = s.at {
            if let Some(prev) = last_at
                && at < prev
            {
                c.err(
                    format!("{p}.at"),
                    format!("`at: {at}` is earlier than a previous step's `at: {prev}`"),
                    Some("keep `at:` times in order, or use `after:`".into()),
                );
            }
            last_at = Some(at);
        }
        if let Some(w) = &s.when {
            check_expectation(&mut c, &format!("{p}.when"), &w.expect, true);
        }
        if let Some(rules) = &s.fault {
            for (j, f) in rules.iter().enumerate() {
                let fp = match rules.0.len() {
                    1 => format!("{p}.fault"),
                    _ => format!("{p}.fault[{j}]"),
                };
                check_fault(&mut c, &fp, f, &mut ids);
            }
        }
        if let Some(r) = &s.revert
            && r != "all"
            && !ids.contains(r)
        {
            let names: Vec<&str> = ids.iter().map(String::as_str).collect();
            let hint = hint_for(r, &names).or(Some(
                "`revert:` takes the `id` (or kind) of a fault injected earlier, or `all`".into(),
            ));
            c.err(
                format!("{p}.revert"),
                format!("no fault `{r}` was injected before this step"),
                hint,
            );
        }
        if let Some(n) = &s.node {
            c.node(format!("{p}.node"), n.node(), &[]);
        }
        if let Some(a) = &s.data {
            check_data_action(&mut c, &format!("{p}.data"), a);
        }
        if let Some(call) = &s.call {
            c.user(format!("{p}.call.from"), &call.from);
            let to = call.to.trim_start_matches('+');
            if !to.bytes().all(|b| b.is_ascii_digit()) {
                c.user(format!("{p}.call.to"), &call.to);
            }
        }
        if let Some(ex) = &s.expect {
            let many = ex.0.len() > 1;
            for (j, e) in ex.iter().enumerate() {
                let ep = if many {
                    format!("{p}.expect[{j}]")
                } else {
                    format!("{p}.expect")
                };
                check_expectation(&mut c, &ep, e, false);
            }
        }
    }

    for (i, e) in &d.expect {
        check_expectation(&mut c, &format!("expect[{i}]"), e, false);
    }
    c.issues
}

fn quoted(keys: &[&str]) -> String {
    crate::de::one_of(keys)
}

/// Nodes every lab has: a topology cannot reuse their names.
const BUILT_IN_NODES: [&str; 5] = ["dns", "ci-us-a", "ci-eu", "ci-us-b", "idp-proxy"];

fn check_topology(c: &mut Checker<'_>, t: &ExplicitTopology) {
    let mut names: Vec<(String, String)> = BUILT_IN_NODES
        .iter()
        .map(|n| ((*n).to_string(), "the lab's built-in nodes".to_string()))
        .collect();
    let mut unique = |c: &mut Checker<'_>, path: String, name: &str| {
        if let Some((_, first)) = names.iter().find(|(n, _)| n == name) {
            c.err(
                path,
                format!("the name `{name}` is already used at {first}"),
                None,
            );
        } else {
            names.push((name.to_string(), path));
        }
    };
    let site = |c: &mut Checker<'_>, path: String, site: &Option<String>| {
        if let Some(s) = site
            && !t.sites.contains(s)
        {
            let list: Vec<&str> = t.sites.iter().map(String::as_str).collect();
            let hint = if list.is_empty() {
                Some(format!("add `sites: [{s}]` to the topology"))
            } else {
                hint_for(s, &list)
            };
            c.err(path, format!("unknown site `{s}`"), hint);
        }
    };
    for (i, f) in t.farms.iter().enumerate() {
        unique(c, format!("topology.farms[{i}].name"), &f.name);
        site(c, format!("topology.farms[{i}].site"), &f.site);
        if f.nodes.is_empty() {
            c.err(
                format!("topology.farms[{i}].nodes"),
                "a farm needs at least one node",
                None,
            );
        }
        for (j, n) in f.nodes.iter().enumerate() {
            unique(c, format!("topology.farms[{i}].nodes[{j}]"), n);
        }
    }
    for (i, lb) in t.load_balancers.iter().enumerate() {
        let p = format!("topology.load_balancers[{i}]");
        unique(c, format!("{p}.name"), &lb.name);
        site(c, format!("{p}.site"), &lb.site);
        if !t.farms.iter().any(|f| f.name == lb.farm) {
            let list: Vec<&str> = t.farms.iter().map(|f| f.name.as_str()).collect();
            c.err(
                format!("{p}.farm"),
                format!("unknown farm `{}`", lb.farm),
                hint_for(&lb.farm, &list),
            );
        }
        if lb.mode == LbMode::PassThrough && lb.cookie_affinity {
            c.err(
                format!("{p}.mode"),
                "a pass-through load balancer cannot read the session cookie",
                Some("set `cookie_affinity: false`, or `mode: tls-terminating`".into()),
            );
        }
        if let Some(h) = &lb.health_check
            && h.interval.0.is_zero()
        {
            c.err(
                format!("{p}.health_check.interval"),
                "the health-check interval must be more than 0s",
                None,
            );
        }
    }
    for (i, n) in t.nodes.iter().enumerate() {
        unique(c, format!("topology.nodes[{i}].name"), &n.name);
        site(c, format!("topology.nodes[{i}].site"), &n.site);
    }
    let mut all: BTreeSet<&str> = names.iter().map(|(n, _)| n.as_str()).collect();
    all.extend(BUILT_IN_NODES);
    for (i, r) in t.dns.iter().enumerate() {
        let p = format!("topology.dns[{i}]");
        let set: Vec<&str> = [
            ("a", r.a.is_some()),
            ("srv", r.srv.is_some()),
            ("cname", r.cname.is_some()),
        ]
        .into_iter()
        .filter(|(_, s)| *s)
        .map(|(k, _)| k)
        .collect();
        if set.len() != 1 {
            c.err(
                &p,
                format!(
                    "a DNS record has exactly one of `a`, `srv`, `cname`; this one has {}",
                    if set.is_empty() {
                        "none".into()
                    } else {
                        quoted(&set)
                    }
                ),
                None,
            );
        }
        for (j, v) in r.a.iter().flatten().enumerate() {
            if v.parse::<std::net::Ipv4Addr>().is_err() && !all.contains(v.as_str()) {
                let list: Vec<&str> = all.iter().copied().collect();
                c.err(
                    format!("{p}.a[{j}]"),
                    format!("`{v}` is neither an IPv4 address nor a node"),
                    hint_for(v, &list),
                );
            }
        }
        for (j, s) in r.srv.iter().flatten().enumerate() {
            if s.port == 0 {
                c.err(format!("{p}.srv[{j}].port"), "port 0 is not a port", None);
            }
        }
    }
}

fn check_service(c: &mut Checker<'_>, path: String, name: &str) {
    if bwlab_model::ServiceKind::from_name(name).is_none() {
        c.err(
            path,
            format!("unknown service `{name}`"),
            hint_for(name, bwlab_model::ServiceKind::YAML_NAMES),
        );
    }
}

fn load_data_users(c: &mut Checker<'_>, file: &str) {
    let Some(base) = c.options.base_dir.clone() else {
        // Not told where the scenario lives: references to users cannot be checked.
        c.users.push("*".into());
        return;
    };
    let path = base.join(file);
    match std::fs::read_to_string(&path) {
        Ok(text) => match bwlab_model::parse_lab_yaml(&text, &path.display().to_string()) {
            Ok(data) => c.users.extend(data.users.into_iter().map(|u| u.user_id)),
            Err(e) => {
                let first = e.to_string().lines().next().unwrap_or_default().to_string();
                c.err(
                    "data.file",
                    format!("the data file has errors: {first}"),
                    Some("`bwlab up --data FILE` lists them all".into()),
                );
                c.users.push("*".into());
            }
        },
        Err(e) => {
            c.err(
                "data.file",
                format!("cannot read {}: {e}", path.display()),
                Some("the path is relative to the scenario file".into()),
            );
            c.users.push("*".into());
        }
    }
}

fn check_sut(c: &mut Checker<'_>, sut: &Sut) {
    let set: Vec<&str> = [
        ("reference", sut.reference.is_some()),
        ("command", sut.command.is_some()),
        ("url", sut.url.is_some()),
    ]
    .into_iter()
    .filter(|(_, s)| *s)
    .map(|(k, _)| k)
    .collect();
    match set.as_slice() {
        [] => c.err("sut", "the SUT is not named", Some("add `reference: webex-app`, `reference: webex-cloud`, `command: {argv: [...]}` or `url: https://…`".into())),
        [_] => {}
        many => c.err_key(format!("sut.{}", many[1]), format!("a SUT is one of `reference`, `command`, `url`; this one has {}", quoted(many)), None),
    }
    if let Some(cmd) = &sut.command {
        if cmd.argv.is_empty() || cmd.argv[0].is_empty() {
            c.err(
                "sut.command.argv",
                "the command is empty",
                Some("`argv: [./my-client, --flag]`".into()),
            );
        }
        if let (Some(cwd), Some(base)) = (&cmd.cwd, &c.options.base_dir)
            && !base.join(cwd).is_dir()
        {
            c.err(
                "sut.command.cwd",
                format!("`{cwd}` is not a directory"),
                Some("the path is relative to the scenario file".into()),
            );
        }
    }
    if let Some(u) = &sut.url
        && !(u.starts_with("http://") || u.starts_with("https://"))
    {
        c.err("sut.url", format!("`{u}` is not an http(s) URL"), None);
    }
    if let Some(u) = &sut.user {
        c.user("sut.user".into(), u);
    }
}

fn check_fault(c: &mut Checker<'_>, p: &str, f: &FaultRule, ids: &mut Vec<String>) {
    let kinds = f.kinds();
    let family = match kinds.as_slice() {
        [] => {
            let names: Vec<&str> = FaultRule::KINDS.iter().map(|(k, _)| *k).collect();
            c.err(
                p,
                "the fault rule names no fault",
                Some(format!("add one of {}", quoted(&names))),
            );
            return;
        }
        [k] => FaultRule::KINDS
            .iter()
            .find(|(n, _)| n == k)
            .map(|(_, f)| *f),
        many => {
            c.err_key(
                format!("{p}.{}", many[1]),
                format!("a rule has one fault, this one has {}", quoted(many)),
                Some(
                    "use a list of rules (`fault: [{…}, {…}]`): the first that matches applies"
                        .into(),
                ),
            );
            return;
        }
    };
    let Some(family) = family else { return };
    let kind = kinds[0];
    let id = f.id.clone().unwrap_or_else(|| kind.to_string());
    if f.id.is_some() && ids.contains(&id) {
        c.err(
            format!("{p}.id"),
            format!("fault id `{id}` is already used"),
            None,
        );
    }
    ids.push(id);
    c.fraction(format!("{p}.probability"), f.probability);
    c.fraction(format!("{p}.toxicity"), f.toxicity);
    if family != FaultFamily::Transport {
        if f.stream.is_some() {
            c.err_key(
                format!("{p}.stream"),
                format!("`stream` applies to transport faults, not `{kind}`"),
                None,
            );
        }
        if f.toxicity.is_some() {
            c.err_key(
                format!("{p}.toxicity"),
                format!("`toxicity` applies to transport faults, not `{kind}`"),
                Some("use `probability`".into()),
            );
        }
    }
    if family != FaultFamily::Http && f.route.is_some() {
        c.err_key(
            format!("{p}.route"),
            format!("`route` applies to HTTP faults, not `{kind}`"),
            None,
        );
    }
    if let Some(on) = &f.on {
        c.node(format!("{p}.on"), on, &["sut"]);
    }
    let kp = format!("{p}.{kind}");
    if let Some(s) = &f.slicer
        && s.size_variation >= s.average_size
    {
        c.err(
            format!("{kp}.size_variation"),
            "`size_variation` must be smaller than `average_size`",
            None,
        );
    }
    if let Some(s) = &f.slicer
        && s.average_size == 0
    {
        c.err(
            format!("{kp}.average_size"),
            "`average_size` must be at least 1 byte",
            None,
        );
    }
    if let Some(crate::fault::ResponseDelay::Uniform { lower, upper }) = &f.response_delay
        && lower > upper
    {
        c.err(
            format!("{kp}.uniform"),
            format!("`lower` ({lower}) is above `upper` ({upper})"),
            None,
        );
    }
    if let Some(crate::fault::ResponseDelay::Lognormal { sigma, .. }) = &f.response_delay
        && !(*sigma > 0.0 && sigma.is_finite())
    {
        c.err(
            format!("{kp}.lognormal.sigma"),
            "`sigma` must be more than 0",
            None,
        );
    }
    if let Some(d) = &f.chunked_dribble
        && d.chunks == 0
    {
        c.err(format!("{kp}.chunks"), "at least 1 chunk", None);
    }
    if let Some(s) = &f.http_status
        && !(100..=599).contains(&s.status)
    {
        c.err(
            format!("{kp}.status"),
            format!("{} is not an HTTP status (100–599)", s.status),
            None,
        );
    }
    if let Some(r) = &f.http_redirect {
        if let Some(s) = r.status
            && !(300..=399).contains(&s)
        {
            c.err(
                format!("{kp}.status"),
                format!("{s} is not a redirect status (300–399)"),
                None,
            );
        }
        if !r.to.contains("://") {
            c.node(format!("{kp}.to"), &r.to, &[]);
        }
    }
    for (user, sub) in [
        (
            f.drop_heartbeats.as_ref().and_then(|s| s.user.as_ref()),
            "drop_heartbeats",
        ),
        (
            f.stall_stream.as_ref().and_then(|s| s.user.as_ref()),
            "stall_stream",
        ),
        (
            f.kill_channel.as_ref().and_then(|s| s.user.as_ref()),
            "kill_channel",
        ),
        (
            f.lose_events.as_ref().and_then(|s| s.user.as_ref()),
            "lose_events",
        ),
        (
            f.duplicate_events.as_ref().and_then(|s| s.user.as_ref()),
            "duplicate_events",
        ),
        (
            f.delay_events.as_ref().and_then(|s| s.user.as_ref()),
            "delay_events",
        ),
        (
            f.reorder_events.as_ref().and_then(|s| s.user.as_ref()),
            "reorder_events",
        ),
    ] {
        if let Some(u) = user {
            c.user(format!("{p}.{sub}.user"), u);
        }
    }
    for package in [
        f.lose_events.as_ref().and_then(|s| s.package.as_ref()),
        f.duplicate_events.as_ref().and_then(|s| s.package.as_ref()),
        f.delay_events.as_ref().and_then(|s| s.package.as_ref()),
        f.reorder_events.as_ref().and_then(|s| s.package.as_ref()),
    ]
    .into_iter()
    .flatten()
    {
        check_package(c, format!("{kp}.package"), package);
    }
    if let Some(reason) = f.kill_channel.as_ref().and_then(|k| k.reason.as_ref())
        && serde_json::from_value::<bwlab_profiles::ChannelTerminatedReason>(
            serde_json::Value::String(reason.clone()),
        )
        .is_err()
    {
        c.err(
            format!("{kp}.reason"),
            format!("unknown channel termination reason `{reason}`"),
            hint_for(reason, TERMINATION_REASONS),
        );
    }
    if let Some(b) = f.bad_certificate {
        let on_sut = f.on.as_deref() == Some("sut");
        if b.is_client() && !on_sut {
            c.err(
                format!("{p}.bad_certificate"),
                "a client certificate fault applies to the certificate the SUT is given",
                Some("add `on: sut`".into()),
            );
        } else if !b.is_client() && on_sut {
            c.err(
                format!("{p}.on"),
                "the SUT is given client certificates; this is a server certificate fault",
                Some("name the node that presents it, e.g. `on: xsp1`".into()),
            );
        }
    }
    if let Some(t) = &f.tls
        && let (Some(min), Some(max)) = (t.min_version, t.max_version)
        && min > max
    {
        c.err(
            format!("{kp}.min_version"),
            "`min_version` is above `max_version`",
            None,
        );
    }
    if let Some(s) = &f.clock_skew
        && s.ahead.is_some() == s.behind.is_some()
    {
        c.err(
            &kp,
            "give exactly one of `ahead`, `behind`",
            Some("`clock_skew: {ahead: 10m}`".into()),
        );
    }
    if matches!(family, FaultFamily::Node | FaultFamily::Config) && f.on.is_none() {
        c.err(
            p,
            format!("`{kind}` needs the node it applies to"),
            Some("add `on: xsp2`".into()),
        );
    }
    if f.dns.is_some() && f.on.as_deref().is_some_and(|o| o != "dns") {
        c.err(
            format!("{p}.on"),
            "DNS faults apply to the lab DNS server",
            Some("leave `on:` out, or write `on: dns`".into()),
        );
    }
}

const TERMINATION_REASONS: &[&str] = &[
    "DuplicateChannelSet",
    "UserDeleted",
    "NonResponsiveChannel",
    "ExplicitDelete",
    "Expired",
    "UnknownChannel",
    "maxChannelsReached",
];

fn check_package(c: &mut Checker<'_>, path: String, package: &str) {
    if serde_json::from_value::<bwlab_profiles::EventPackage>(serde_json::Value::String(
        package.to_string(),
    ))
    .is_err()
    {
        c.err(
            path,
            format!("unknown event package `{package}`"),
            Some(
                "event packages are named as in Xsi-Events, e.g. `Basic Call`, `Do Not Disturb`"
                    .into(),
            ),
        );
    }
}

fn check_data_action(c: &mut Checker<'_>, p: &str, a: &DataAction) {
    match a {
        DataAction::ExpirePassword(e) => {
            c.user(format!("{p}.expire_password.user"), &e.user);
            if e.ago.is_some() && e.within.is_some() {
                c.err(
                    format!("{p}.expire_password"),
                    "give `ago` or `in`, not both",
                    None,
                );
            }
        }
        DataAction::ChangePassword(x) => {
            c.user(format!("{p}.change_password.user"), &x.user);
            if x.password.is_empty() {
                c.err(
                    format!("{p}.change_password.password"),
                    "the new password is empty",
                    None,
                );
            }
        }
        DataAction::AssignService(x) | DataAction::RemoveService(x) => {
            let k = if matches!(a, DataAction::AssignService(_)) {
                "assign_service"
            } else {
                "remove_service"
            };
            c.user(format!("{p}.{k}.user"), &x.user);
            check_service(c, format!("{p}.{k}.service"), &x.service);
        }
        DataAction::AddUser(s) => {
            if c.users.iter().any(|u| u.eq_ignore_ascii_case(&s.user)) {
                c.err(
                    format!("{p}.add_user.user"),
                    format!("user `{}` already exists", s.user),
                    None,
                );
            }
            c.users.push(s.user.clone());
        }
        DataAction::System(_) => {}
    }
}

fn check_expectation(c: &mut Checker<'_>, p: &str, e: &Expectation, condition: bool) {
    let kinds = e.kinds();
    match kinds.as_slice() {
        [] => c.err(
            p,
            "the expectation names nothing to look for",
            Some(format!("add one of {}", quoted(Expectation::KINDS))),
        ),
        [_] => {}
        many => c.err_key(
            format!("{p}.{}", many[1]),
            format!("an expectation has one kind, this one has {}", quoted(many)),
            Some("write a list of expectations: `expect: [{…}, {…}]`".into()),
        ),
    }
    if e.count.is_some() && (e.at_least.is_some() || e.at_most.is_some()) {
        c.err_key(
            format!("{p}.count"),
            "`count` is exact; it does not combine with `at_least`/`at_most`",
            None,
        );
    }
    if let (Some(lo), Some(hi)) = (e.at_least, e.at_most)
        && lo > hi
    {
        c.err(
            format!("{p}.at_least"),
            format!("`at_least: {lo}` is above `at_most: {hi}`"),
            None,
        );
    }
    check_expectation_refs(c, p, e);
    for (profile, o) in e.overrides() {
        let op = format!("{p}.{profile}");
        if condition {
            c.err_key(&op, "a `when:` condition cannot differ per profile", None);
            continue;
        }
        if !c.profiles.iter().any(|x| x == profile) {
            c.err_key(
                &op,
                format!("override for `{profile}`, but the scenario does not run on it"),
                Some(format!(
                    "the scenario's profiles: {}",
                    c.profiles.join(", ")
                )),
            );
        }
        if !o.overrides().is_empty() {
            c.err(&op, "overrides do not nest", None);
        }
        if o.kinds().len() > 1 {
            c.err(&op, "an override replaces the kind with one kind", None);
        }
        check_expectation_refs(c, &op, o);
    }
}

fn check_expectation_refs(c: &mut Checker<'_>, p: &str, e: &Expectation) {
    let user = |c: &mut Checker<'_>, k: &str, u: &Option<String>| {
        if let Some(u) = u {
            c.user(format!("{p}.{k}.user"), u);
        }
    };
    let node = |c: &mut Checker<'_>, k: &str, n: &Option<String>| {
        if let Some(n) = n {
            c.node(format!("{p}.{k}.node"), n, &["sut"]);
        }
    };
    if let Some(r) = &e.request {
        user(c, "request", &r.user);
        node(c, "request", &r.node);
        if let Some(v) = &r.via {
            c.lb(format!("{p}.request.via"), v);
        }
        if let Some(s) = r.status
            && !(100..=599).contains(&s)
        {
            c.err(
                format!("{p}.request.status"),
                format!("{s} is not an HTTP status"),
                None,
            );
        }
    }
    if let Some(ch) = &e.channel_open {
        user(c, "channel_open", &Some(ch.user.clone()));
        node(c, "channel_open", &ch.node);
        if let Some(v) = &ch.via {
            c.lb(format!("{p}.channel_open.via"), v);
        }
    }
    if let Some(ch) = &e.channel_closed {
        user(c, "channel_closed", &ch.user);
        node(c, "channel_closed", &ch.node);
        if let Some(r) = &ch.reason
            && serde_json::from_value::<bwlab_profiles::ChannelTerminatedReason>(
                serde_json::Value::String(r.clone()),
            )
            .is_err()
        {
            c.err(
                format!("{p}.channel_closed.reason"),
                format!("unknown channel termination reason `{r}`"),
                hint_for(r, TERMINATION_REASONS),
            );
        }
    }
    if let Some(ev) = &e.event {
        user(c, "event", &ev.user);
        node(c, "event", &ev.node);
        if let Some(pk) = &ev.package {
            check_package(c, format!("{p}.event.package"), pk);
        }
    }
    if let Some(h) = &e.heartbeat {
        user(c, "heartbeat", &h.user);
        node(c, "heartbeat", &h.node);
    }
    if let Some(t) = &e.token {
        user(c, "token", &t.user);
        node(c, "token", &t.node);
    }
    if let Some(q) = &e.dns_query
        && let Some(r) = &q.rcode
        && !["NOERROR", "NXDOMAIN", "SERVFAIL", "REFUSED"].contains(&r.as_str())
    {
        c.err(
            format!("{p}.dns_query.rcode"),
            format!("unknown response code `{r}`"),
            hint_for(r, &["NOERROR", "NXDOMAIN", "SERVFAIL", "REFUSED"]),
        );
    }
    if let Some(l) = &e.sut_log
        && l.contains.is_empty()
    {
        c.err(
            format!("{p}.sut_log.contains"),
            "empty text matches every line",
            None,
        );
    }
}
