//! `GET /versions` (§3.5.16.1): the baseline release and the patched commands and event
//! packages an XSP serves.

use super::read::{expect_root, non_empty, once, required};
use super::{DocError, XsiDocument};
use crate::xml::Element;

/// A `version`: one value with optional feature names.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct VersionInfo {
    /// Version value, e.g. `22.0`.
    pub value: String,
    /// Features added by the patch.
    pub features: Vec<String>,
}

/// A patched command (`uri`) or event package (`name`) and its versions.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Patched {
    /// `uri` of a command (placeholder style, `/v2.0/user/%userid%/...`) or `name` of an
    /// event package.
    pub id: String,
    /// At least one version.
    pub versions: Vec<VersionInfo>,
}

/// `commands` or `eventPackages`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct VersionSet {
    /// Baseline release, e.g. `23.0`.
    pub baseline: String,
    /// Patched entries.
    pub patched: Vec<Patched>,
}

impl VersionSet {
    /// A baseline without patches.
    pub fn baseline(baseline: impl Into<String>) -> Self {
        VersionSet {
            baseline: baseline.into(),
            patched: Vec::new(),
        }
    }

    fn to_element(&self, name: &'static str, item: &'static str, id: &'static str) -> Element {
        let mut el = Element::new(name);
        el.put("baseline", self.baseline.as_str());
        for p in &self.patched {
            let mut e = Element::new(item);
            e.put(id, p.id.as_str());
            for v in &p.versions {
                let mut ve = Element::new("version");
                ve.put("value", v.value.as_str());
                for f in &v.features {
                    ve.put("feature", f.as_str());
                }
                e.push(ve);
            }
            el.push(e);
        }
        el
    }

    fn read(
        el: &Element,
        name: &'static str,
        item: &'static str,
        id: &'static str,
    ) -> Result<Self, DocError> {
        let mut baseline = None;
        let mut patched = Vec::new();
        for c in &el.children {
            if c.name == "baseline" {
                once(&mut baseline, "baseline", non_empty(c, "baseline")?)?;
            } else if c.name == item {
                let mut pid = None;
                let mut versions = Vec::new();
                for cc in &c.children {
                    if cc.name == id {
                        once(&mut pid, id, non_empty(cc, id)?)?;
                    } else if cc.name == "version" {
                        let mut value = None;
                        let mut features = Vec::new();
                        for v in &cc.children {
                            match &*v.name {
                                "value" => once(&mut value, "value", non_empty(v, "value")?)?,
                                "feature" => features.push(non_empty(v, "feature")?),
                                _ => {}
                            }
                        }
                        versions.push(VersionInfo {
                            value: required(value, "version", "value")?,
                            features,
                        });
                    }
                }
                patched.push(Patched {
                    id: required(pid, item, id)?,
                    versions,
                });
            }
        }
        Ok(VersionSet {
            baseline: required(baseline, name, "baseline")?,
            patched,
        })
    }
}

/// The `Versions` document.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Versions {
    /// Command versions.
    pub commands: VersionSet,
    /// Event package versions.
    pub event_packages: Option<VersionSet>,
}

impl XsiDocument for Versions {
    const ROOT: &'static str = "Versions";

    fn to_element(&self) -> Element {
        let mut el = Element::new(Self::ROOT);
        el.push(
            self.commands
                .to_element("commands", "patchedCommand", "uri"),
        );
        if let Some(ev) = &self.event_packages {
            el.push(ev.to_element("eventPackages", "patchedEventPackage", "name"));
        }
        el
    }

    fn from_element(el: &Element) -> Result<Self, DocError> {
        expect_root(el, Self::ROOT)?;
        let (mut commands, mut events) = (None, None);
        for c in &el.children {
            match &*c.name {
                "commands" => once(
                    &mut commands,
                    "commands",
                    VersionSet::read(c, "commands", "patchedCommand", "uri")?,
                )?,
                "eventPackages" => once(
                    &mut events,
                    "eventPackages",
                    VersionSet::read(c, "eventPackages", "patchedEventPackage", "name")?,
                )?,
                _ => {}
            }
        }
        Ok(Versions {
            commands: required(commands, Self::ROOT, "commands")?,
            event_packages: events,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::documents::test_util::{names, round_trip};

    #[test]
    fn versions() {
        let v = Versions {
            commands: VersionSet {
                baseline: "23.0".into(),
                patched: vec![Patched {
                    id: "/v2.0/user/%userid%/profile/device".into(),
                    versions: vec![VersionInfo {
                        value: "23.0".into(),
                        features: vec!["allowTermination".into(), "endpointType".into()],
                    }],
                }],
            },
            event_packages: Some(VersionSet::baseline("23.0")),
        };
        let el = v.to_element();
        assert_eq!(names(&el), ["commands", "eventPackages"]);
        assert_eq!(names(&el.children[0]), ["baseline", "patchedCommand"]);
        assert_eq!(names(&el.children[0].children[1]), ["uri", "version"]);
        assert_eq!(
            names(&el.children[0].children[1].children[1]),
            ["value", "feature", "feature"]
        );
        round_trip(&v);

        let minimal = Versions {
            commands: VersionSet::baseline("24.0"),
            event_packages: None,
        };
        assert!(minimal.to_xml().ends_with(
            b"<Versions xmlns=\"http://schema.broadsoft.com/xsi\"><commands><baseline>24.0</baseline></commands></Versions>"
        ));
        round_trip(&minimal);
    }
}
