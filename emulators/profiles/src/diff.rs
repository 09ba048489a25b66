//! Differences between two profiles.

use std::collections::BTreeSet;
use std::fmt;

use serde::Serialize;

use crate::feature::Feature;
use crate::names::{join, pack};
use crate::profile::Profile;

/// What changes from profile `a` to profile `b` (`bwlab profiles diff A B`).
///
/// `Display` prints one line per difference: `- feature` (only in A), `+ feature` (only in B),
/// `~ setting: a → b`, and for set-valued settings indented `-`/`+` lines with the members
/// (one per line, or packed when there are many).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ProfileDiff {
    /// Name of profile A.
    pub a: String,
    /// Name of profile B.
    pub b: String,
    /// Features A supports and B does not.
    pub only_in_a: Vec<Feature>,
    /// Features B supports and A does not.
    pub only_in_b: Vec<Feature>,
    /// Settings that differ.
    pub changed: Vec<SettingChange>,
}

/// One setting that differs between two profiles.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum SettingChange {
    /// A single value changed.
    Value {
        /// Setting name as in the profile file (`platform`, `xsi.baseline`, …).
        setting: &'static str,
        /// Value in A.
        a: String,
        /// Value in B.
        b: String,
    },
    /// A set of values changed.
    Set {
        /// Setting name (`xsi.actions_commands`, `installed_patches`, …).
        setting: &'static str,
        /// Members only A has.
        only_in_a: Vec<String>,
        /// Members only B has.
        only_in_b: Vec<String>,
    },
}

impl SettingChange {
    /// The setting's name.
    pub fn setting(&self) -> &'static str {
        match self {
            SettingChange::Value { setting, .. } | SettingChange::Set { setting, .. } => setting,
        }
    }
}

impl ProfileDiff {
    /// Whether the two profiles behave the same.
    pub fn is_empty(&self) -> bool {
        self.only_in_a.is_empty() && self.only_in_b.is_empty() && self.changed.is_empty()
    }
}

/// What changes from `a` to `b`. Features are compared as supported (after prerequisites);
/// patches by server and number, so the same fix on two builds counts as the same.
pub fn diff(a: &Profile, b: &Profile) -> ProfileDiff {
    let fa = a.features();
    let fb = b.features();
    let mut changed = Vec::new();
    let mut value = |setting: &'static str, x: String, y: String| {
        if x != y {
            changed.push(SettingChange::Value {
                setting,
                a: x,
                b: y,
            });
        }
    };
    value("release", a.release().to_string(), b.release().to_string());
    value("build", a.build().to_string(), b.build().to_string());
    value(
        "platform",
        a.platform().to_string(),
        b.platform().to_string(),
    );
    value(
        "xsi.baseline",
        a.xsi().baseline.to_string(),
        b.xsi().baseline.to_string(),
    );
    value(
        "xsi.oldest_protocol_version",
        a.xsi().oldest_protocol_version.to_string(),
        b.xsi().oldest_protocol_version.to_string(),
    );
    value(
        "tls.ciphers",
        a.tls()
            .ciphers
            .as_deref()
            .map_or_else(|| "default".to_owned(), |c| c.join(" ")),
        b.tls()
            .ciphers
            .as_deref()
            .map_or_else(|| "default".to_owned(), |c| c.join(" ")),
    );

    // Members keep the order they come in (each type's natural order).
    let mut set = |setting: &'static str, x: Vec<String>, y: Vec<String>| {
        let (xs, ys): (BTreeSet<&String>, BTreeSet<&String>) =
            (x.iter().collect(), y.iter().collect());
        if xs != ys {
            changed.push(SettingChange::Set {
                setting,
                only_in_a: x.iter().filter(|m| !ys.contains(m)).cloned().collect(),
                only_in_b: y.iter().filter(|m| !xs.contains(m)).cloned().collect(),
            });
        }
    };
    fn strings<T: ToString>(items: impl IntoIterator<Item = T>) -> Vec<String> {
        items.into_iter().map(|i| i.to_string()).collect()
    }
    set("platforms", strings(a.platforms()), strings(b.platforms()));
    set(
        "xsi.actions_commands",
        strings(&a.xsi().actions_commands),
        strings(&b.xsi().actions_commands),
    );
    set(
        "xsi.event_packages",
        strings(&a.xsi().event_packages),
        strings(&b.xsi().event_packages),
    );
    set(
        "xsi.channel_terminated_reasons",
        strings(&a.xsi().channel_terminated_reasons),
        strings(&b.xsi().channel_terminated_reasons),
    );
    set(
        "installed_patches",
        a.installed_patches().iter().map(|p| p.short()).collect(),
        b.installed_patches().iter().map(|p| p.short()).collect(),
    );
    set(
        "installed_ri_apps",
        strings(a.installed_ri_apps()),
        strings(b.installed_ri_apps()),
    );
    set(
        "activatable_features",
        a.activatable_features()
            .iter()
            .map(|id| format!("{id:05}"))
            .collect(),
        b.activatable_features()
            .iter()
            .map(|id| format!("{id:05}"))
            .collect(),
    );

    ProfileDiff {
        a: a.name().to_owned(),
        b: b.name().to_owned(),
        only_in_a: fa.difference(fb).iter().collect(),
        only_in_b: fb.difference(fa).iter().collect(),
        changed,
    }
}

/// Set members are listed one per line up to this many; longer lists are packed.
const ONE_PER_LINE_UP_TO: usize = 8;
const PACKED_WIDTH: usize = 96;

fn push_members(lines: &mut Vec<String>, sign: char, members: &[String]) {
    let width = if members.len() <= ONE_PER_LINE_UP_TO {
        0
    } else {
        PACKED_WIDTH
    };
    lines.extend(
        pack(members, " ", width)
            .into_iter()
            .map(|l| format!("      {sign} {l}")),
    );
}

impl fmt::Display for ProfileDiff {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.is_empty() {
            return write!(f, "{} and {} behave the same", self.a, self.b);
        }
        writeln!(
            f,
            "{} → {}   (- only in {}, + only in {}, ~ changed)",
            self.a, self.b, self.a, self.b
        )?;
        let width = self
            .only_in_a
            .iter()
            .chain(&self.only_in_b)
            .map(|f| f.as_str().len())
            .max()
            .unwrap_or(0);
        let mut lines = Vec::new();
        if !self.only_in_a.is_empty() || !self.only_in_b.is_empty() {
            lines.push("features:".to_owned());
            for (sign, list) in [('-', &self.only_in_a), ('+', &self.only_in_b)] {
                for feature in list {
                    lines.push(format!(
                        "  {sign} {:<width$}  {}",
                        feature.as_str(),
                        feature.description()
                    ));
                }
            }
        }
        if !self.changed.is_empty() {
            lines.push("settings:".to_owned());
            for change in &self.changed {
                match change {
                    SettingChange::Value { setting, a, b } => {
                        lines.push(format!("  ~ {setting}: {a} → {b}"))
                    }
                    SettingChange::Set {
                        setting,
                        only_in_a,
                        only_in_b,
                    } => {
                        let mut counts = Vec::new();
                        if !only_in_a.is_empty() {
                            counts.push(format!("{} only in {}", only_in_a.len(), self.a));
                        }
                        if !only_in_b.is_empty() {
                            counts.push(format!("{} only in {}", only_in_b.len(), self.b));
                        }
                        lines.push(format!("  ~ {setting}: {}", counts.join(", ")));
                        push_members(&mut lines, '-', only_in_a);
                        push_members(&mut lines, '+', only_in_b);
                    }
                }
            }
        }
        write!(f, "{}", join(lines.iter().map(|l| l.trim_end()), "\n"))
    }
}
