//! The profile registry: built-in profiles, loading user files, resolving `extends`.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::path::Path;
use std::sync::OnceLock;

use serde::Deserialize;
use toml::Spanned;

use crate::diff::{ProfileDiff, diff};
use crate::error::{Location, ProfileError};
use crate::feature::{Feature, FeatureSet};
use crate::matrix::FeatureMatrix;
use crate::names::{join, suggest};
use crate::profile::{FeatureInfo, Profile, Suppressed, TlsSettings, XsiSettings};
use crate::types::{
    Build, ChannelTerminatedReason, EventPackage, Gate, Patch, Platform, Release, RiApp,
    XsiCommand, XsiVersion,
};

/// The embedded profile files, in the order they are loaded.
const BUILTIN: &[(&str, &str)] = &[
    ("r22.toml", include_str!("../profiles/r22.toml")),
    (
        "r22-unpatched.toml",
        include_str!("../profiles/r22-unpatched.toml"),
    ),
    ("r23.toml", include_str!("../profiles/r23.toml")),
    (
        "r23-unpatched.toml",
        include_str!("../profiles/r23-unpatched.toml"),
    ),
    ("r24.toml", include_str!("../profiles/r24.toml")),
    (
        "r24-unpatched.toml",
        include_str!("../profiles/r24-unpatched.toml"),
    ),
];

/// The source text of a built-in profile file, by file name (`r22.toml`), for `bwlab` to show
/// or for users to copy.
pub fn builtin_source(file: &str) -> Option<&'static str> {
    BUILTIN
        .iter()
        .find(|(name, _)| *name == file)
        .map(|(_, text)| *text)
}

/// Refuse absurd inputs before handing them to the parser.
const MAX_FILE_BYTES: usize = 1 << 20;

// ---------------------------------------------------------------------------------------------
// File format
// ---------------------------------------------------------------------------------------------

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawProfile {
    name: Spanned<String>,
    extends: Option<Spanned<String>>,
    description: Option<String>,
    release: Option<Release>,
    build: Option<Build>,
    platform: Option<Platform>,
    platforms: Option<BTreeSet<Platform>>,
    patches: Option<Vec<Patch>>,
    ri_apps: Option<Vec<RiApp>>,
    xsi: Option<RawXsi>,
    tls: Option<RawTls>,
    #[serde(default)]
    features: BTreeMap<Spanned<String>, RawFeature>,
}

/// `[tls]`: the XSP|ADP HTTP interfaces' TLS configuration.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawTls {
    ciphers: Option<Vec<Spanned<String>>>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawXsi {
    baseline: Option<XsiVersion>,
    oldest_protocol_version: Option<XsiVersion>,
    actions_commands: Option<BTreeSet<XsiCommand>>,
    event_packages: Option<BTreeSet<EventPackage>>,
    channel_terminated_reasons: Option<BTreeSet<ChannelTerminatedReason>>,
}

/// `name = true` or `[features.name] enabled = …, gates = […], …`.
#[derive(Debug, Clone)]
enum RawFeature {
    Flag(bool),
    Table(RawFeatureTable),
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFeatureTable {
    enabled: Option<bool>,
    gates: Option<Vec<Gate>>,
    xsp_gates: Option<Vec<Gate>>,
    adp_gates: Option<Vec<Gate>>,
    note: Option<String>,
}

impl<'de> Deserialize<'de> for RawFeature {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> serde::de::Visitor<'de> for V {
            type Value = RawFeature;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("`true`, `false` or a table with `enabled`, `gates`, `xsp_gates`, `adp_gates`, `note`")
            }
            fn visit_bool<E: serde::de::Error>(self, v: bool) -> Result<RawFeature, E> {
                Ok(RawFeature::Flag(v))
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                map: A,
            ) -> Result<RawFeature, A::Error> {
                RawFeatureTable::deserialize(serde::de::value::MapAccessDeserializer::new(map))
                    .map(RawFeature::Table)
            }
        }
        d.deserialize_any(V)
    }
}

/// One parsed file: names checked, positions kept for later errors.
#[derive(Debug, Clone)]
struct Definition {
    name: String,
    name_location: Location,
    source: String,
    extends: Option<(String, Location)>,
    raw: RawProfile,
    features: Vec<(Feature, RawFeature)>,
    /// `tls.ciphers`, checked and upper-cased.
    ciphers: Option<Vec<String>>,
}

fn parse_definition(source: &str, text: &str) -> Result<Definition, ProfileError> {
    if text.len() > MAX_FILE_BYTES {
        return Err(ProfileError::Syntax {
            location: Location::at(source, text, 0),
            message: format!("file is larger than {MAX_FILE_BYTES} bytes"),
        });
    }
    let mut raw: RawProfile = toml::from_str(text).map_err(|e| ProfileError::Syntax {
        location: Location::at(source, text, e.span().map_or(0, |s| s.start)),
        message: e.message().trim().to_owned(),
    })?;
    let name_location = Location::at(source, text, raw.name.span().start);
    let name = raw.name.get_ref().clone();
    if let Err(message) = check_profile_name(&name) {
        return Err(ProfileError::Invalid {
            location: name_location,
            profile: name,
            message,
        });
    }
    let extends = raw.extends.as_ref().map(|e| {
        (
            e.get_ref().clone(),
            Location::at(source, text, e.span().start),
        )
    });
    let ciphers = match raw.tls.as_ref().and_then(|t| t.ciphers.as_ref()) {
        None => None,
        Some(list) => {
            if list.is_empty() {
                return Err(ProfileError::Invalid {
                    location: name_location,
                    profile: name,
                    message: "`tls.ciphers` is empty: an interface needs at least one cipher suite"
                        .to_owned(),
                });
            }
            let mut names = Vec::with_capacity(list.len());
            for entry in list {
                match check_cipher_name(entry.get_ref()) {
                    Ok(n) => names.push(n),
                    Err(message) => {
                        return Err(ProfileError::Invalid {
                            location: Location::at(source, text, entry.span().start),
                            profile: name,
                            message,
                        });
                    }
                }
            }
            Some(names)
        }
    };
    let mut features = Vec::new();
    for (key, value) in std::mem::take(&mut raw.features) {
        let location = Location::at(source, text, key.span().start);
        let feature =
            key.get_ref()
                .parse::<Feature>()
                .map_err(|e| ProfileError::UnknownFeature {
                    location,
                    name: e.name,
                    suggestion: e.suggestion.map(str::to_owned),
                })?;
        features.push((feature, value));
    }
    Ok(Definition {
        name,
        name_location,
        source: source.to_owned(),
        extends,
        raw,
        features,
        ciphers,
    })
}

/// A `tls.ciphers` entry must be an IANA cipher-suite name (`TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256`),
/// as the XSP|ADP CLI requires: OpenSSL-style names (`ECDHE-RSA-AES128-GCM-SHA256`) are refused
/// with a hint, anything else that is not `TLS_` + letters, digits and `_` too. Returns the name
/// upper-cased. Whether the lab can serve the suite is decided when a node starts (bwlab-pki).
fn check_cipher_name(name: &str) -> Result<String, String> {
    let trimmed = name.trim();
    let upper = trimmed.to_ascii_uppercase();
    let iana_like = upper.len() > 4
        && upper.starts_with("TLS_")
        && upper
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_');
    if iana_like {
        return Ok(upper);
    }
    let openssl_like = !trimmed.is_empty()
        && trimmed.contains('-')
        && trimmed
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-');
    if openssl_like {
        Err(format!(
            "`{trimmed}` in tls.ciphers is an OpenSSL-style cipher name; BroadWorks accepts only IANA names (`TLS_<key exchange>_WITH_<cipher>_<hash>`, e.g. `TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256`)"
        ))
    } else {
        Err(format!(
            "`{trimmed}` in tls.ciphers is not an IANA cipher-suite name (`TLS_<key exchange>_WITH_<cipher>_<hash>`)"
        ))
    }
}

fn check_profile_name(name: &str) -> Result<(), String> {
    if name.is_empty() || name.len() > 64 {
        return Err("a profile name has 1 to 64 characters".to_owned());
    }
    if !name
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
    {
        return Err(format!(
            "profile name `{name}` may contain only letters, digits, `-`, `_` and `.`"
        ));
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Resolution
// ---------------------------------------------------------------------------------------------

/// Field values accumulated from the root of an `extends` chain to its leaf.
#[derive(Default)]
struct Merged {
    description: Option<String>,
    release: Option<Release>,
    build: Option<Build>,
    platform: Option<Platform>,
    platforms: Option<BTreeSet<Platform>>,
    patches: Option<Vec<Patch>>,
    ri_apps: Option<Vec<RiApp>>,
    xsi: RawXsi,
    ciphers: Option<Vec<String>>,
    features: BTreeMap<Feature, RawFeatureTable>,
}

fn replace<T>(slot: &mut Option<T>, value: &Option<T>)
where
    T: Clone,
{
    if value.is_some() {
        slot.clone_from(value);
    }
}

impl Merged {
    fn apply(&mut self, def: &Definition) {
        let raw = &def.raw;
        replace(&mut self.description, &raw.description);
        replace(&mut self.release, &raw.release);
        replace(&mut self.build, &raw.build);
        replace(&mut self.platform, &raw.platform);
        replace(&mut self.platforms, &raw.platforms);
        replace(&mut self.patches, &raw.patches);
        replace(&mut self.ri_apps, &raw.ri_apps);
        replace(&mut self.ciphers, &def.ciphers);
        if let Some(xsi) = &raw.xsi {
            replace(&mut self.xsi.baseline, &xsi.baseline);
            replace(
                &mut self.xsi.oldest_protocol_version,
                &xsi.oldest_protocol_version,
            );
            replace(&mut self.xsi.actions_commands, &xsi.actions_commands);
            replace(&mut self.xsi.event_packages, &xsi.event_packages);
            replace(
                &mut self.xsi.channel_terminated_reasons,
                &xsi.channel_terminated_reasons,
            );
        }
        for (feature, value) in &def.features {
            let entry = self.features.entry(*feature).or_default();
            match value {
                RawFeature::Flag(on) => entry.enabled = Some(*on),
                RawFeature::Table(t) => {
                    replace(&mut entry.enabled, &t.enabled);
                    replace(&mut entry.gates, &t.gates);
                    replace(&mut entry.xsp_gates, &t.xsp_gates);
                    replace(&mut entry.adp_gates, &t.adp_gates);
                    replace(&mut entry.note, &t.note);
                }
            }
        }
    }
}

type Definitions = BTreeMap<String, Vec<Definition>>;

/// The chain of definitions for `name`, leaf first. A definition that extends its own name
/// extends the definition of that name loaded before it (so a user file can amend `r22`).
fn chain<'a>(defs: &'a Definitions, name: &str) -> Result<Vec<&'a Definition>, ProfileError> {
    let mut out: Vec<&Definition> = Vec::new();
    let mut seen: Vec<(&str, usize)> = Vec::new();
    let Some(stack) = defs.get(name) else {
        return Err(unknown_profile(defs, name));
    };
    let mut at = (name, stack.len() - 1);
    loop {
        let def = &defs[at.0][at.1];
        seen.push(at);
        out.push(def);
        let Some((parent, location)) = &def.extends else {
            return Ok(out);
        };
        let next = if *parent == def.name {
            (at.1 > 0).then(|| (def.name.as_str(), at.1 - 1))
        } else {
            match defs.get(parent) {
                Some(stack) => Some((parent.as_str(), stack.len() - 1)),
                None => {
                    let available: Vec<String> =
                        defs.keys().filter(|n| **n != def.name).cloned().collect();
                    return Err(ProfileError::UnknownParent {
                        location: location.clone(),
                        profile: def.name.clone(),
                        parent: parent.clone(),
                        suggestion: suggest(parent, available.iter().map(String::as_str))
                            .map(str::to_owned),
                        available,
                    });
                }
            }
        };
        match next {
            Some(next) if !seen.contains(&next) => at = next,
            Some(next) => {
                // Point at the `extends` of the profile where the loop starts: when resolving a
                // newly loaded profile first, that is the new file.
                let start = seen.iter().position(|s| *s == next).unwrap_or(0);
                let first = &defs[seen[start].0][seen[start].1];
                let location = first.extends.as_ref().map_or(location, |(_, l)| l).clone();
                let mut names: Vec<String> =
                    seen[start..].iter().map(|(n, _)| (*n).to_owned()).collect();
                names.push(next.0.to_owned());
                return Err(ProfileError::ExtendsCycle {
                    location,
                    chain: names,
                });
            }
            None => {
                return Err(ProfileError::ExtendsCycle {
                    location: location.clone(),
                    chain: vec![def.name.clone(), def.name.clone()],
                });
            }
        }
    }
}

fn resolve(defs: &Definitions, name: &str) -> Result<Profile, ProfileError> {
    let chain = chain(defs, name)?;
    let leaf = chain[0];
    let mut merged = Merged::default();
    for def in chain.iter().rev() {
        merged.apply(def);
    }
    let invalid = |message: String| ProfileError::Invalid {
        location: leaf.name_location.clone(),
        profile: leaf.name.clone(),
        message,
    };
    let missing = |key: &str| {
        invalid(format!(
            "`{key}` is not set here nor in a profile it extends"
        ))
    };

    let release = merged.release.ok_or_else(|| missing("release"))?;
    let build = merged.build.ok_or_else(|| missing("build"))?;
    let platform = merged.platform.ok_or_else(|| missing("platform"))?;
    let platforms = merged
        .platforms
        .unwrap_or_else(|| BTreeSet::from([platform]));
    let xsi = XsiSettings {
        baseline: merged.xsi.baseline.ok_or_else(|| missing("xsi.baseline"))?,
        oldest_protocol_version: merged
            .xsi
            .oldest_protocol_version
            .ok_or_else(|| missing("xsi.oldest_protocol_version"))?,
        actions_commands: merged.xsi.actions_commands.unwrap_or_default(),
        event_packages: merged
            .xsi
            .event_packages
            .ok_or_else(|| missing("xsi.event_packages"))?,
        channel_terminated_reasons: merged
            .xsi
            .channel_terminated_reasons
            .ok_or_else(|| missing("xsi.channel_terminated_reasons"))?,
    };

    if build.release != release {
        return Err(invalid(format!(
            "build {build} is not a build of release {release}"
        )));
    }
    if !platforms.contains(&platform) {
        return Err(invalid(format!(
            "platform `{platform}` is not among the allowed platforms ({})",
            join(&platforms, ", ")
        )));
    }
    if xsi.oldest_protocol_version > xsi.baseline {
        return Err(invalid(format!(
            "xsi.oldest_protocol_version {} is newer than xsi.baseline {}",
            xsi.oldest_protocol_version, xsi.baseline
        )));
    }

    let mut feature_info = BTreeMap::new();
    let mut written = FeatureSet::EMPTY;
    for (feature, table) in merged.features {
        let enabled = table.enabled.ok_or_else(|| {
            invalid(format!(
                "feature `{feature}` has no `enabled` value here nor in a profile it extends"
            ))
        })?;
        if enabled {
            written.insert(feature);
        }
        feature_info.insert(
            feature,
            FeatureInfo {
                enabled,
                gates: table.gates.unwrap_or_default(),
                xsp_gates: table.xsp_gates.unwrap_or_default(),
                adp_gates: table.adp_gates.unwrap_or_default(),
                note: table.note,
            },
        );
    }

    // A feature that groups Xsi resources needs those resources listed.
    for feature in written.iter() {
        for command in XsiCommand::ALL.iter().filter(|c| c.gate() == Some(feature)) {
            if !xsi.actions_commands.contains(command) {
                return Err(invalid(format!(
                    "feature `{feature}` is on but its command `{command}` is not in xsi.actions_commands"
                )));
            }
        }
        for package in EventPackage::ALL
            .iter()
            .filter(|p| p.gate() == Some(feature))
        {
            if !xsi.event_packages.contains(package) {
                return Err(invalid(format!(
                    "feature `{feature}` is on but its package `{package}` is not in xsi.event_packages"
                )));
            }
        }
    }

    // Switch off features whose prerequisites are off, until nothing changes.
    let mut features = written;
    loop {
        let before = features;
        for feature in before.iter() {
            if feature.requires().iter().any(|r| !features.contains(*r)) {
                features.remove(feature);
            }
        }
        if features == before {
            break;
        }
    }
    let suppressed = written
        .difference(features)
        .iter()
        .map(|feature| Suppressed {
            feature,
            missing: feature
                .requires()
                .iter()
                .copied()
                .filter(|r| !features.contains(*r))
                .collect(),
        })
        .collect();

    Ok(Profile {
        name: leaf.name.clone(),
        description: merged.description.unwrap_or_default(),
        source: leaf.source.clone(),
        extends: chain[1..].iter().map(|d| d.name.clone()).collect(),
        release,
        build,
        platform,
        platforms,
        features,
        feature_info,
        suppressed,
        patches: merged
            .patches
            .unwrap_or_default()
            .into_iter()
            .map(|p| p.or_build(build))
            .collect(),
        ri_apps: merged.ri_apps.unwrap_or_default(),
        xsi,
        tls: TlsSettings {
            ciphers: merged.ciphers,
        },
    })
}

fn unknown_profile(defs: &Definitions, name: &str) -> ProfileError {
    let available: Vec<String> = defs.keys().cloned().collect();
    ProfileError::UnknownProfile {
        name: name.to_owned(),
        suggestion: suggest(name, available.iter().map(String::as_str)).map(str::to_owned),
        available,
    }
}

// ---------------------------------------------------------------------------------------------
// Registry
// ---------------------------------------------------------------------------------------------

/// The set of known profiles: the built-in ones plus any loaded from files.
///
/// ```
/// use bwlab_profiles::{Feature, Profiles};
///
/// let profiles = Profiles::builtin();
/// let r22 = profiles.get("r22")?;
/// assert!(r22.supports(Feature::CiTokenValidation));
/// assert!(!profiles.get("r22-unpatched")?.supports(Feature::CiTokenValidation));
/// # Ok::<(), bwlab_profiles::ProfileError>(())
/// ```
#[derive(Debug, Clone)]
pub struct Profiles {
    definitions: Definitions,
    resolved: BTreeMap<String, Profile>,
}

impl Profiles {
    /// The built-in profiles: `r22`, `r23`, `r24` and their `-unpatched` variants.
    pub fn builtin() -> Profiles {
        static BUILTIN_PROFILES: OnceLock<Profiles> = OnceLock::new();
        BUILTIN_PROFILES
            // The embedded files are checked by this crate's tests; failing here is a build
            // defect, not bad input.
            .get_or_init(|| Self::try_builtin().expect("the built-in profile files are valid"))
            .clone()
    }

    fn try_builtin() -> Result<Profiles, ProfileError> {
        let mut definitions = Definitions::new();
        for (file, text) in BUILTIN {
            let def = parse_definition(&format!("builtin:{file}"), text)?;
            definitions.entry(def.name.clone()).or_default().push(def);
        }
        let resolved = resolve_all(&definitions)?;
        Ok(Profiles {
            definitions,
            resolved,
        })
    }

    /// The built-in profiles amended by the profile file at `path` (see
    /// [`load_file`](Profiles::load_file)).
    pub fn with_overrides(path: impl AsRef<Path>) -> Result<Profiles, ProfileError> {
        let mut profiles = Profiles::builtin();
        profiles.load_file(path)?;
        Ok(profiles)
    }

    /// Loads one profile from a TOML file and returns it. A profile with a new name is added;
    /// one with an existing name replaces it (and, with `extends` set to its own name, builds
    /// on the definition it replaces). Profiles extending a replaced one see the new
    /// definition. On error nothing changes.
    pub fn load_file(&mut self, path: impl AsRef<Path>) -> Result<&Profile, ProfileError> {
        let path = path.as_ref();
        let text = std::fs::read_to_string(path).map_err(|source| ProfileError::Io {
            path: path.to_owned(),
            source,
        })?;
        self.load_str(&path.display().to_string(), &text)
    }

    /// Like [`load_file`](Profiles::load_file) for text already in memory; `source_name` is
    /// what error messages call the file.
    pub fn load_str(&mut self, source_name: &str, text: &str) -> Result<&Profile, ProfileError> {
        let def = parse_definition(source_name, text)?;
        let name = def.name.clone();
        let mut definitions = self.definitions.clone();
        definitions.entry(name.clone()).or_default().push(def);
        // The new profile first, so that problems in its own chain are reported against it.
        resolve(&definitions, &name)?;
        self.resolved = resolve_all(&definitions)?;
        self.definitions = definitions;
        self.get(&name)
    }

    /// The profile called `name`, or an error listing the available names.
    pub fn get(&self, name: &str) -> Result<&Profile, ProfileError> {
        self.resolved
            .get(name)
            .ok_or_else(|| unknown_profile(&self.definitions, name))
    }

    /// Whether a profile called `name` exists.
    pub fn contains(&self, name: &str) -> bool {
        self.resolved.contains_key(name)
    }

    /// Every profile name, sorted.
    pub fn names(&self) -> Vec<&str> {
        self.resolved.keys().map(String::as_str).collect()
    }

    /// Every profile, sorted by name.
    pub fn iter(&self) -> impl Iterator<Item = &Profile> {
        self.resolved.values()
    }

    /// What changes from profile `a` to profile `b`.
    pub fn diff(&self, a: &str, b: &str) -> Result<ProfileDiff, ProfileError> {
        Ok(diff(self.get(a)?, self.get(b)?))
    }

    /// Features × profiles, for `bwlab profiles` and the documentation.
    pub fn matrix(&self) -> FeatureMatrix {
        FeatureMatrix::new(self.iter())
    }
}

fn resolve_all(definitions: &Definitions) -> Result<BTreeMap<String, Profile>, ProfileError> {
    definitions
        .keys()
        .map(|name| resolve(definitions, name).map(|p| (name.clone(), p)))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtin_files_parse() {
        Profiles::try_builtin().unwrap();
        assert!(builtin_source("r22.toml").is_some());
        assert!(builtin_source("r99.toml").is_none());
    }
}
