//! Expectations evaluated against the lab journal, and the near-misses shown when one fails.

use std::collections::HashMap;
use std::sync::Arc;

use bwlab_core::{Entry, Kind};
use bwlab_scenario::Expectation;

/// Resolves user names the way the lab does (`alice` → `alice@lab.example`).
pub(crate) type UserId<'a> = &'a dyn Fn(&str) -> String;

/// Channel id → (owner, node), from the XSPs' "channel opened" entries.
pub(crate) fn channel_map(entries: &[Arc<Entry>]) -> HashMap<String, (String, String)> {
    entries
        .iter()
        .filter(|e| e.kind == Kind::Event && e.attr("channel_set").is_some())
        .filter_map(|e| {
            Some((
                e.attr("channel")?.to_owned(),
                (e.attr("owner")?.to_owned(), e.node.to_string()),
            ))
        })
        .collect()
}

/// One criterion of an expectation, checked against one entry.
struct Check {
    key: &'static str,
    want: String,
    got: Option<String>,
    ok: bool,
}

/// `*` matches any run of characters.
pub(crate) fn glob(pattern: &str, text: &str) -> bool {
    let parts: Vec<&str> = pattern.split('*').collect();
    if parts.len() == 1 {
        return pattern == text;
    }
    let mut rest = text;
    for (i, part) in parts.iter().enumerate() {
        if i == 0 {
            let Some(r) = rest.strip_prefix(part) else {
                return false;
            };
            rest = r;
        } else if i == parts.len() - 1 {
            return rest.ends_with(part);
        } else {
            match rest.find(part) {
                Some(at) => rest = &rest[at + part.len()..],
                None => return false,
            }
        }
    }
    true
}

struct Ctx<'a> {
    user_id: UserId<'a>,
    channels: &'a HashMap<String, (String, String)>,
    lbs: Lbs<'a>,
}

/// Load balancers by name.
pub(crate) type Lbs<'a> = &'a HashMap<String, LbAddr>;

/// What the matcher needs to know of a load balancer.
#[derive(Clone, Copy, Debug)]
pub(crate) struct LbAddr {
    /// The address its backend connections come from (its own).
    pub ip: std::net::IpAddr,
    /// Pass-through LBs see no HTTP: their requests are known only by that address.
    pub passthrough: bool,
}

impl Ctx<'_> {
    /// The LB at `ip`, or the address itself.
    fn lb_named(&self, ip: std::net::IpAddr) -> String {
        self.lbs
            .iter()
            .find(|(_, a)| a.ip == ip)
            .map_or_else(|| ip.to_string(), |(n, _)| n.clone())
    }

    fn user_of_channel(&self, channel: Option<&str>) -> Option<String> {
        channel.and_then(|c| self.channels.get(c).map(|(u, _)| u.clone()))
    }
}

fn check(key: &'static str, want: &Option<impl ToString>, got: Option<String>) -> Option<Check> {
    let want = want.as_ref()?.to_string();
    let ok = got.as_deref() == Some(want.as_str());
    Some(Check { key, want, got, ok })
}

fn check_with(
    key: &'static str,
    want: &Option<String>,
    got: Option<String>,
    eq: impl Fn(&str, &str) -> bool,
) -> Option<Check> {
    let want = want.clone()?;
    let ok = got.as_deref().is_some_and(|g| eq(&want, g));
    Some(Check { key, want, got, ok })
}

/// The channel id in `/com.broadsoft.xsi-events/v2.0/channel/{id}/heartbeat`.
fn heartbeat_channel(path: &str) -> Option<&str> {
    let rest = path.strip_suffix("/heartbeat")?;
    rest.rsplit('/').next()
}

/// For one expectation kind: whether `e` is of the kind at all, and the criteria.
fn checks(exp: &Expectation, e: &Entry, ctx: &Ctx<'_>) -> Option<Vec<Check>> {
    let same_user = |want: &str, got: &str| (ctx.user_id)(want) == (ctx.user_id)(got);
    let node = || Some(e.node.to_string());
    let attr = |k: &str| e.attr(k).map(str::to_owned);
    let mut out: Vec<Option<Check>> = Vec::new();
    if let Some(r) = &exp.request {
        if e.kind != Kind::Http || e.attr("path").is_none() {
            return None;
        }
        // Each request counts once. A proxied one is the server's entry, which names the
        // LB as its peer (LBs connect from their own address; pass-through LBs journal no
        // HTTP at all). An LB's own entry counts only when the LB answered by itself (a
        // redirect, no backend, a backend error), with `via` set.
        let lb_entry = ctx.lbs.contains_key(&*e.node);
        let answered_itself = lb_entry
            && (e.attr("fault").is_some()
                || e.attr("error").is_some()
                || e.attr("backend").is_none_or(|b| b == "none"));
        match &r.via {
            Some(via) => {
                if lb_entry {
                    if !answered_itself {
                        return None;
                    }
                    out.push(check("via", &Some(via.clone()), node()));
                    out.push(check("node", &r.node, attr("backend")));
                } else {
                    // A TLS-terminating LB names itself in `Via` (its health probes do
                    // not); a pass-through one is known by its address.
                    let named = e.attr("via").is_some_and(|v| {
                        v.split([',', ';'])
                            .any(|p| p.trim().ends_with(via.as_str()))
                    });
                    let from = e.peer.map(|p| p.ip());
                    let by_addr = e.attr("via").is_none()
                        && ctx
                            .lbs
                            .get(via)
                            .is_some_and(|lb| lb.passthrough && from == Some(lb.ip));
                    out.push(Some(Check {
                        key: "via",
                        want: via.clone(),
                        got: e
                            .attr("via")
                            .map(str::to_owned)
                            .or_else(|| from.map(|ip| ctx.lb_named(ip))),
                        ok: named || by_addr,
                    }));
                    out.push(check("node", &r.node, node()));
                }
            }
            None => {
                if lb_entry {
                    return None;
                }
                out.push(check("node", &r.node, node()));
            }
        }
        out.push(check_with("method", &r.method, attr("method"), |w, g| {
            w.eq_ignore_ascii_case(g)
        }));
        out.push(check_with("path", &r.path, attr("path"), glob));
        out.push(check("status", &r.status, attr("status")));
        out.push(check_with(
            "user",
            &r.user,
            attr("user").or_else(|| attr("login")),
            same_user,
        ));
    } else if let Some(c) = &exp.channel_open {
        if e.kind != Kind::Event || e.attr("channel_set").is_none() {
            return None;
        }
        out.push(check_with(
            "user",
            &Some(c.user.clone()),
            attr("owner"),
            same_user,
        ));
        out.push(check("node", &c.node, node()));
        if let Some(via) = &c.via {
            // The XSP saw the LB as its peer (LBs connect from their own address).
            let from = e.peer.map(|p| p.ip());
            let lb = ctx.lbs.get(via).map(|l| l.ip);
            out.push(Some(Check {
                key: "via",
                want: via.clone(),
                got: from.map(|ip| ctx.lb_named(ip)),
                ok: lb.is_some() && from == lb,
            }));
        }
    } else if let Some(c) = &exp.channel_closed {
        if e.kind != Kind::Event || e.attr("outcome") != Some("closed") {
            return None;
        }
        out.push(check_with(
            "user",
            &c.user,
            ctx.user_of_channel(e.attr("channel")),
            same_user,
        ));
        out.push(check("node", &c.node, node()));
        out.push(check_with("reason", &c.reason, attr("reason"), |w, g| {
            g.to_ascii_lowercase().contains(&w.to_ascii_lowercase())
        }));
    } else if let Some(ev) = &exp.event {
        if e.kind != Kind::Event || e.attr("event_type").is_none() || e.attr("owner").is_none() {
            return None;
        }
        out.push(check("type", &ev.event_type, attr("event_type")));
        out.push(check_with(
            "user",
            &ev.user,
            attr("target").or_else(|| attr("owner")),
            same_user,
        ));
        out.push(check("package", &ev.package, attr("package")));
        out.push(check("node", &ev.node, node()));
    } else if let Some(h) = &exp.heartbeat {
        let path = e.attr("path")?;
        if e.kind != Kind::Http || heartbeat_channel(path).is_none() {
            return None;
        }
        let user = ctx
            .user_of_channel(heartbeat_channel(path))
            .or_else(|| attr("user"));
        out.push(check_with("user", &h.user, user, same_user));
        out.push(check("node", &h.node, node()));
        out.push(check("status", &h.status, attr("status")));
    } else if let Some(t) = &exp.token {
        if e.kind != Kind::Http || e.attr("token").is_none() {
            return None;
        }
        out.push(Some(Check {
            key: "token",
            want: "issued".into(),
            got: attr("token"),
            ok: e.attr("token") == Some("issued"),
        }));
        out.push(check_with("user", &t.user, attr("sub"), same_user));
        out.push(check("node", &t.node, node()));
    } else if let Some(d) = &exp.dns_query {
        if e.kind != Kind::Dns || e.attr("qname").is_none() {
            return None;
        }
        let norm = |s: &str| s.trim_end_matches('.').to_ascii_lowercase();
        out.push(check_with("name", &d.name, attr("qname"), |w, g| {
            norm(w) == norm(g)
        }));
        out.push(check_with("type", &d.record_type, attr("qtype"), |w, g| {
            w.eq_ignore_ascii_case(g)
        }));
        out.push(check_with("rcode", &d.rcode, attr("rcode"), |w, g| {
            w.eq_ignore_ascii_case(g)
        }));
    } else if let Some(l) = &exp.sut_log {
        if e.kind != Kind::Sut {
            return None;
        }
        let text = std::iter::once(e.summary.clone())
            .chain(e.attrs.iter().map(|(_, v)| v.clone()))
            .collect::<Vec<_>>()
            .join(" ");
        out.push(Some(Check {
            key: "contains",
            want: l.contains.clone(),
            ok: text.contains(&l.contains),
            got: None,
        }));
    } else {
        return None;
    }
    Some(out.into_iter().flatten().collect())
}

/// The result of checking one expectation over a window of the journal.
pub(crate) struct Evaluation {
    pub count: u32,
    pub ok: bool,
}

/// Whether the bounds of `exp` allow `count` matches.
pub(crate) fn bounds_ok(exp: &Expectation, count: u32) -> bool {
    if let Some(n) = exp.count {
        return count == n;
    }
    let min = exp
        .at_least
        .unwrap_or(if exp.at_most.is_some() { 0 } else { 1 });
    count >= min && exp.at_most.is_none_or(|m| count <= m)
}

/// Whether `exp` has an upper bound (then it is judged at the end of its window).
pub(crate) fn has_upper_bound(exp: &Expectation) -> bool {
    exp.count.is_some() || exp.at_most.is_some()
}

pub(crate) fn evaluate(
    exp: &Expectation,
    window: &[Arc<Entry>],
    all: &[Arc<Entry>],
    user_id: UserId<'_>,
    lbs: Lbs<'_>,
) -> Evaluation {
    let channels = channel_map(all);
    let ctx = Ctx {
        user_id,
        channels: &channels,
        lbs,
    };
    let count = window
        .iter()
        .filter(|e| checks(exp, e, &ctx).is_some_and(|c| c.iter().all(|c| c.ok)))
        .count();
    let count = u32::try_from(count).unwrap_or(u32::MAX);
    Evaluation {
        count,
        ok: bounds_ok(exp, count),
    }
}

/// What an expectation asks for, in one line.
pub(crate) fn describe(exp: &Expectation) -> String {
    let mut v = serde_json::to_value(exp).unwrap_or_default();
    if let Some(m) = v.as_object_mut() {
        m.retain(|k, _| !k.starts_with('r') || k == "request");
    }
    let text = serde_json::to_string(&v).unwrap_or_default();
    if exp.count.is_none() && exp.at_least.is_none() && exp.at_most.is_none() {
        format!("{text} (at least 1)")
    } else {
        text
    }
}

/// `text` on one line, at most 200 characters.
fn short(text: &str) -> String {
    let line = text.split_whitespace().collect::<Vec<_>>().join(" ");
    if line.chars().count() > 200 {
        format!("{}…", line.chars().take(200).collect::<String>())
    } else {
        line
    }
}

/// The entries of the same kind that matched the most criteria, best first.
pub(crate) fn near_misses(
    exp: &Expectation,
    window: &[Arc<Entry>],
    all: &[Arc<Entry>],
    user_id: UserId<'_>,
    lbs: Lbs<'_>,
    limit: usize,
) -> Vec<String> {
    let channels = channel_map(all);
    let ctx = Ctx {
        user_id,
        channels: &channels,
        lbs,
    };
    let mut scored: Vec<(usize, u64, String)> = window
        .iter()
        .filter_map(|e| {
            let checks = checks(exp, e, &ctx)?;
            let score = checks.iter().filter(|c| c.ok).count();
            let diffs: Vec<String> = checks
                .iter()
                .filter(|c| !c.ok)
                .map(|c| {
                    format!(
                        "{}={} (want {})",
                        c.key,
                        c.got.as_deref().unwrap_or("-"),
                        c.want
                    )
                })
                .collect();
            let diff = if diffs.is_empty() {
                "matches".to_owned()
            } else {
                format!("differs: {}", diffs.join(", "))
            };
            Some((
                score,
                e.seq,
                format!(
                    "#{} [{} {}] {} — {diff}",
                    e.seq,
                    e.node,
                    e.kind,
                    short(&e.summary)
                ),
            ))
        })
        .collect();
    scored.sort_by(|a, b| b.0.cmp(&a.0).then(b.1.cmp(&a.1)));
    scored.into_iter().take(limit).map(|(_, _, s)| s).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn globs() {
        assert!(glob("/a/*", "/a/b/c"));
        assert!(glob("/a/*/heartbeat", "/a/x/heartbeat"));
        assert!(!glob("/a/*/heartbeat", "/a/x/other"));
        assert!(glob("/a", "/a"));
        assert!(!glob("/a", "/ab"));
    }

    #[test]
    fn bounds() {
        let e = Expectation::default();
        assert!(!bounds_ok(&e, 0));
        assert!(bounds_ok(&e, 3));
        let e = Expectation {
            count: Some(0),
            ..Expectation::default()
        };
        assert!(bounds_ok(&e, 0) && !bounds_ok(&e, 1));
        let e = Expectation {
            at_most: Some(2),
            ..Expectation::default()
        };
        assert!(bounds_ok(&e, 0) && !bounds_ok(&e, 3));
    }
}
