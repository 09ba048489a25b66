//! Release behaviour profiles (R22, R23, R24 and unpatched variants) as data.
//!
//! A [`Profile`] says how one BroadWorks release (with or without the Webex-for-BroadWorks
//! patches) behaves: which [`Feature`]s it has, on which [`Platform`], which Xsi resources,
//! event packages and channel-termination reasons exist, and which patches it reports as
//! installed. Emulator code asks [`Profile::supports`] — never for a release number.
//!
//! The built-in profiles are TOML files embedded in the crate (`profiles/*.toml`); users add or
//! override profiles with files in the same format ([`Profiles::load_file`]). See
//! `docs/profiles.md` for the format and the feature table.
//!
//! ```
//! use bwlab_profiles::{Feature, Profiles};
//!
//! let profiles = Profiles::builtin();
//! let r24 = profiles.get("r24")?;
//! assert!(r24.supports(Feature::AuthserviceWebappClientAuth));
//! let diff = profiles.diff("r22", "r24")?;
//! assert!(diff.only_in_b.contains(&Feature::ExtensionDialing));
//! println!("{diff}");
//! # Ok::<(), bwlab_profiles::ProfileError>(())
//! ```

mod diff;
mod error;
mod feature;
mod matrix;
mod names;
mod profile;
mod registry;
mod types;

pub use diff::{ProfileDiff, SettingChange, diff};
pub use error::{Location, ProfileError};
pub use feature::{Category, Feature, FeatureSet};
pub use matrix::FeatureMatrix;
pub use names::UnknownName;
pub use profile::{FeatureInfo, Profile, Suppressed, TlsSettings, XsiSettings};
pub use registry::{Profiles, builtin_source};
pub use types::{
    Build, ChannelTerminatedReason, EventPackage, Gate, InvalidValue, MinorVersion, Patch,
    Platform, Release, RiApp, Server, XsiCommand, XsiVersion,
};

/// Runs the Rust examples of the user guide as doctests.
#[cfg(doctest)]
#[doc = include_str!("../../../docs/profiles.md")]
mod user_guide {}
