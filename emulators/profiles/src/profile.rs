//! A resolved release profile.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use serde::Serialize;

use crate::feature::{Category, Feature, FeatureSet};
use crate::names::{join, pack};
use crate::types::{
    Build, ChannelTerminatedReason, EventPackage, Gate, Patch, Platform, Release, RiApp, Server,
    XsiCommand, XsiVersion,
};

/// What a profile file says about one feature: whether it is on and, for documentation and
/// the reported inventory, what it takes on that release.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct FeatureInfo {
    /// Whether the file switches it on. The profile may still not
    /// [support](Profile::supports) it when a prerequisite is off.
    pub enabled: bool,
    /// Patches, apps, activatable features and settings needed on every platform.
    pub gates: Vec<Gate>,
    /// Additionally needed when the profile's platform is XSP.
    pub xsp_gates: Vec<Gate>,
    /// Additionally needed when the profile's platform is ADP.
    pub adp_gates: Vec<Gate>,
    /// Free-text remark (version constraints, ambiguities in the sources).
    pub note: Option<String>,
}

impl FeatureInfo {
    /// The gates that apply on `platform`.
    pub fn gates_on(&self, platform: Platform) -> impl Iterator<Item = &Gate> {
        let extra = match platform {
            Platform::Xsp => &self.xsp_gates,
            Platform::Adp => &self.adp_gates,
        };
        self.gates.iter().chain(extra)
    }
}

/// Xsi-Actions and Xsi-Events settings that differ between releases.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct XsiSettings {
    /// What `GET /versions` reports as `commands/baseline`, and the version assumed when a
    /// request carries no `X-BroadWorks-Protocol-Version`.
    pub baseline: XsiVersion,
    /// The oldest `X-BroadWorks-Protocol-Version` still accepted; older ones get "method not
    /// supported".
    pub oldest_protocol_version: XsiVersion,
    /// Which of the post-R21 Xsi-Actions resources the release serves.
    pub actions_commands: BTreeSet<XsiCommand>,
    /// Event packages a subscription may name.
    pub event_packages: BTreeSet<EventPackage>,
    /// Reasons a `ChannelTerminatedEvent` can carry.
    pub channel_terminated_reasons: BTreeSet<ChannelTerminatedReason>,
}

/// TLS settings of the XSP|ADP HTTP interfaces (`[tls]` in a profile file).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct TlsSettings {
    /// `tls.ciphers`: the cipher suites the interfaces have configured, IANA names in order of
    /// preference (`…/Interface/Http/SSLCommonSettings/Ciphers`). Names are checked to be IANA
    /// names when the profile loads (OpenSSL-style names are refused); whether the lab can
    /// serve each suite is decided when a node starts. `None`: the file sets no list, and
    /// nodes use their TLS library's defaults.
    pub ciphers: Option<Vec<String>>,
}

/// A feature the profile file switches on but that is off because a prerequisite is off.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Suppressed {
    /// The feature.
    pub feature: Feature,
    /// The prerequisites that are off.
    pub missing: Vec<Feature>,
}

/// One release's behaviour: which [`Feature`]s it has and the settings that are not yes/no.
///
/// Obtained from [`Profiles`](crate::Profiles); immutable. Cheap to query:
/// [`supports`](Profile::supports) is a single bit test.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Profile {
    pub(crate) name: String,
    pub(crate) description: String,
    pub(crate) source: String,
    pub(crate) extends: Vec<String>,
    pub(crate) release: Release,
    pub(crate) build: Build,
    pub(crate) platform: Platform,
    pub(crate) platforms: BTreeSet<Platform>,
    pub(crate) features: FeatureSet,
    pub(crate) feature_info: BTreeMap<Feature, FeatureInfo>,
    pub(crate) suppressed: Vec<Suppressed>,
    pub(crate) patches: Vec<Patch>,
    pub(crate) ri_apps: Vec<RiApp>,
    pub(crate) xsi: XsiSettings,
    pub(crate) tls: TlsSettings,
}

impl Profile {
    /// Whether the release has `feature`. One bit test: fine on every request.
    #[inline]
    pub fn supports(&self, feature: Feature) -> bool {
        self.features.contains(feature)
    }

    /// Whether the release has every one of `features`.
    pub fn supports_all(&self, features: &[Feature]) -> bool {
        features.iter().all(|f| self.supports(*f))
    }

    /// The supported features.
    pub fn features(&self) -> FeatureSet {
        self.features
    }

    /// Profile name, e.g. `r22-unpatched`.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// One-line description.
    pub fn description(&self) -> &str {
        &self.description
    }

    /// Where the profile was defined: `builtin:r22.toml`, a file path, or the name given to
    /// [`Profiles::load_str`](crate::Profiles::load_str).
    pub fn source(&self) -> &str {
        &self.source
    }

    /// The profiles this one extends, nearest first (`["r22"]` for `r22-unpatched`).
    pub fn extends(&self) -> &[String] {
        &self.extends
    }

    /// The BroadWorks release, e.g. `22.0`. For display and reports: behaviour is asked for
    /// with [`supports`](Profile::supports), not derived from this.
    pub fn release(&self) -> Release {
        self.release
    }

    /// The build, e.g. `22.0.1123`, used in patch IDs and the AuthService version string.
    pub fn build(&self) -> Build {
        self.build
    }

    /// The platform the lab runs the webapps on.
    pub fn platform(&self) -> Platform {
        self.platform
    }

    /// Platforms this release can run on (the lab may be switched to any of them).
    pub fn platforms(&self) -> &BTreeSet<Platform> {
        &self.platforms
    }

    /// Whether the release can run on `platform`.
    pub fn allows_platform(&self, platform: Platform) -> bool {
        self.platforms.contains(&platform)
    }

    /// A copy of this profile running on another allowed platform (R23 runs on XSP or ADP).
    /// `None` if the release does not run there.
    pub fn on_platform(&self, platform: Platform) -> Option<Profile> {
        self.allows_platform(platform).then(|| Profile {
            platform,
            ..self.clone()
        })
    }

    /// What the profile file says about `feature` (gates, note, switch as written), if it
    /// says anything.
    pub fn feature_info(&self, feature: Feature) -> Option<&FeatureInfo> {
        self.feature_info.get(&feature)
    }

    /// The gates of `feature` that apply on this profile's platform.
    pub fn gates(&self, feature: Feature) -> impl Iterator<Item = &Gate> {
        self.feature_info(feature)
            .into_iter()
            .flat_map(|i| i.gates_on(self.platform))
    }

    /// Features switched on in the file but off because a prerequisite is off.
    pub fn suppressed(&self) -> &[Suppressed] {
        &self.suppressed
    }

    /// The "patch current" inventory as written in the profile (short forms completed with
    /// this profile's build).
    pub fn inventory(&self) -> &[Patch] {
        &self.patches
    }

    /// Every patch the profile reports as installed: the inventory plus the patch gates of
    /// each supported feature on this platform, sorted, without duplicates. On ADP, `xsp`
    /// patches are left out: ADP takes release-independent apps instead.
    pub fn installed_patches(&self) -> Vec<Patch> {
        let mut all: BTreeSet<Patch> = self.patches.iter().copied().collect();
        for feature in self.features.iter() {
            for gate in self.gates(feature) {
                if let Gate::Patch(p) = gate {
                    all.insert(p.or_build(self.build));
                }
            }
        }
        if self.platform == Platform::Adp {
            all.retain(|p| p.server != Server::Xsp);
        }
        all.into_iter().collect()
    }

    /// Release-independent ADP apps the profile reports as deployed: the listed ones plus the
    /// app gates of each supported feature. Empty on XSP, which does not run `.bwar` apps.
    pub fn installed_ri_apps(&self) -> Vec<RiApp> {
        if self.platform != Platform::Adp {
            return Vec::new();
        }
        let mut all: BTreeSet<RiApp> = self.ri_apps.iter().cloned().collect();
        for feature in self.features.iter() {
            for gate in self.gates(feature) {
                if let Gate::RiApp(app) = gate {
                    all.insert(app.clone());
                }
            }
        }
        all.into_iter().collect()
    }

    /// IDs the AS accepts in `System/ActivatableFeature> activate`: those the supported
    /// features' gates name. (A feature not listed is built into the release or absent.)
    pub fn activatable_features(&self) -> BTreeSet<u32> {
        self.features
            .iter()
            .flat_map(|f| self.gates(f))
            .filter_map(|g| match g {
                Gate::ActivatableFeature(id) => Some(*id),
                _ => None,
            })
            .collect()
    }

    /// Xsi settings.
    pub fn xsi(&self) -> &XsiSettings {
        &self.xsi
    }

    /// TLS settings of the XSP|ADP HTTP interfaces.
    pub fn tls(&self) -> &TlsSettings {
        &self.tls
    }

    /// Whether Xsi-Actions serves `command`: the release lists it and, when the command
    /// belongs to a feature group, that feature is supported.
    pub fn has_command(&self, command: XsiCommand) -> bool {
        self.xsi.actions_commands.contains(&command)
            && command.gate().is_none_or(|f| self.supports(f))
    }

    /// Whether a subscription may name `package` (same rule as [`has_command`](Profile::has_command)).
    pub fn has_event_package(&self, package: EventPackage) -> bool {
        self.xsi.event_packages.contains(&package)
            && package.gate().is_none_or(|f| self.supports(f))
    }

    /// Whether a `ChannelTerminatedEvent` may carry `reason`.
    pub fn has_channel_terminated_reason(&self, reason: ChannelTerminatedReason) -> bool {
        self.xsi.channel_terminated_reasons.contains(&reason)
    }

    /// Whether a request with this `X-BroadWorks-Protocol-Version` is served (from the
    /// oldest accepted version up to the baseline).
    pub fn accepts_protocol_version(&self, version: XsiVersion) -> bool {
        (self.xsi.oldest_protocol_version..=self.xsi.baseline).contains(&version)
    }
}

/// The JSON shape of a profile (`bwlab profiles show NAME --json`).
impl Serialize for Profile {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        #[derive(Serialize)]
        struct Json<'a> {
            name: &'a str,
            description: &'a str,
            source: &'a str,
            extends: &'a [String],
            release: Release,
            build: Build,
            platform: Platform,
            platforms: &'a BTreeSet<Platform>,
            features: FeatureSet,
            suppressed: &'a [Suppressed],
            feature_info: &'a BTreeMap<Feature, FeatureInfo>,
            installed_patches: Vec<Patch>,
            installed_ri_apps: Vec<RiApp>,
            activatable_features: BTreeSet<u32>,
            xsi: &'a XsiSettings,
            tls: &'a TlsSettings,
        }
        Json {
            name: &self.name,
            description: &self.description,
            source: &self.source,
            extends: &self.extends,
            release: self.release,
            build: self.build,
            platform: self.platform,
            platforms: &self.platforms,
            features: self.features,
            suppressed: &self.suppressed,
            feature_info: &self.feature_info,
            installed_patches: self.installed_patches(),
            installed_ri_apps: self.installed_ri_apps(),
            activatable_features: self.activatable_features(),
            xsi: &self.xsi,
            tls: &self.tls,
        }
        .serialize(s)
    }
}

/// A multi-line summary for a terminal (`bwlab profiles show NAME`).
impl fmt::Display for Profile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        const WIDTH: usize = 100;
        writeln!(f, "{} — {}", self.name, self.description)?;
        writeln!(f, "  source:    {}", self.source)?;
        if !self.extends.is_empty() {
            writeln!(f, "  extends:   {}", join(&self.extends, " → "))?;
        }
        writeln!(f, "  release:   {} (build {})", self.release, self.build)?;
        writeln!(
            f,
            "  platform:  {} (allowed: {})",
            self.platform,
            join(&self.platforms, ", ")
        )?;
        writeln!(
            f,
            "  Xsi:       baseline {}, accepts protocol versions {} to {}",
            self.xsi.baseline, self.xsi.oldest_protocol_version, self.xsi.baseline
        )?;
        match &self.tls.ciphers {
            Some(c) => {
                writeln!(f, "  TLS:       {} cipher suites configured:", c.len())?;
                for line in pack(c, " ", WIDTH - 4) {
                    writeln!(f, "    {line}")?;
                }
            }
            None => writeln!(f, "  TLS:       no cipher list (library defaults)")?,
        }
        let name_width = Feature::ALL
            .iter()
            .map(|f| f.as_str().len())
            .max()
            .unwrap_or(0);
        let indent = " ".repeat(name_width + 6);
        for category in Category::ALL {
            writeln!(f, "\n{category}")?;
            for feature in Feature::ALL.iter().filter(|x| x.category() == *category) {
                let on = self.supports(*feature);
                let mark = if on { "✓" } else { "·" };
                let detail: Vec<String> =
                    match self.suppressed.iter().find(|s| s.feature == *feature) {
                        Some(s) => {
                            vec![format!("switched on but needs {}", join(&s.missing, ", "))]
                        }
                        None if on => pack(
                            self.gates(*feature).map(Gate::to_string),
                            ", ",
                            WIDTH - indent.len(),
                        ),
                        None => Vec::new(),
                    };
                let first = format!(
                    "  {mark} {:<name_width$}  {}",
                    feature.as_str(),
                    detail.first().map_or("", |s| s)
                );
                writeln!(f, "{}", first.trim_end())?;
                for more in detail.iter().skip(1) {
                    writeln!(f, "{indent}{more}")?;
                }
            }
        }
        writeln!(f, "\nXsi-Actions resources added since R21:")?;
        let commands: Vec<&str> = XsiCommand::ALL
            .iter()
            .filter(|c| self.has_command(**c))
            .map(|c| c.path())
            .collect();
        for line in pack_or_none(&commands, WIDTH - 4) {
            writeln!(f, "    {line}")?;
        }
        let packages = EventPackage::ALL
            .iter()
            .filter(|p| self.has_event_package(**p))
            .count();
        writeln!(
            f,
            "Xsi-Events packages: {packages} of {}",
            EventPackage::ALL.len()
        )?;
        writeln!(f, "ChannelTerminatedEvent reasons:")?;
        let reasons: Vec<&str> = self
            .xsi
            .channel_terminated_reasons
            .iter()
            .map(|r| r.as_str())
            .collect();
        for line in pack_or_none(&reasons, WIDTH - 4) {
            writeln!(f, "    {line}")?;
        }
        let patches = self.installed_patches();
        writeln!(
            f,
            "Installed patches ({}, build {}):",
            patches.len(),
            self.build
        )?;
        if patches.is_empty() {
            writeln!(f, "    none")?;
        }
        for server in Server::ALL {
            let numbers: Vec<String> = patches
                .iter()
                .filter(|p| p.server == *server)
                .map(|p| match p.build {
                    Some(b) if b != self.build => p.to_string(),
                    _ => format!("ap{:06}", p.number),
                })
                .collect();
            for (i, line) in pack(&numbers, " ", WIDTH - 14).iter().enumerate() {
                let label = if i == 0 { server.as_str() } else { "" };
                writeln!(f, "    {label:<9} {line}")?;
            }
        }
        writeln!(f, "ADP apps:")?;
        let apps: Vec<String> = self
            .installed_ri_apps()
            .iter()
            .map(RiApp::to_string)
            .collect();
        for line in pack_or_none(&apps, WIDTH - 4) {
            writeln!(f, "    {line}")?;
        }
        let ids: Vec<String> = self
            .activatable_features()
            .iter()
            .map(|id| format!("{id:05}"))
            .collect();
        write!(f, "Activatable features: {}", none_or(&ids))
    }
}

fn pack_or_none<T: AsRef<str>>(items: &[T], width: usize) -> Vec<String> {
    if items.is_empty() {
        vec!["none".to_owned()]
    } else {
        pack(items, ", ", width)
    }
}

fn none_or<T: AsRef<str>>(items: &[T]) -> String {
    if items.is_empty() {
        "none".to_owned()
    } else {
        join(items.iter().map(AsRef::as_ref), ", ")
    }
}
