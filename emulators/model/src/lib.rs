//! BroadWorks subscriber data model for the lab: service providers / enterprises → groups →
//! users, their services, devices, call logs, voice messages, passwords, and
//! administrators.
//!
//! The [`Store`] is the Application Server's source of truth. Later emulators (Xsi-Actions,
//! Xsi-Events, the IdP proxy, DMS) read and change it concurrently, so it is a cheap
//! `Arc` handle with lock-free indexed lookups and per-user locks.
//!
//! A lab is described either in Rust ([`LabData::builder`]) or in a YAML lab file
//! ([`Store::from_yaml_str`], format in `docs/lab-data.md`). Both go through the same
//! validation, which reports *every* problem with its field path — and, for files, with
//! `file:line:column`.
//!
//! ```
//! use bwlab_core::clock::LabClock;
//! use bwlab_model::{AuthOutcome, Store};
//! use time::macros::datetime;
//!
//! let yaml = r#"
//! enterprises:
//!   - id: ent1
//!     groups:
//!       - {id: grp1, locationDialingCode: "12"}
//! users:
//!   - userId: alice@lab.example
//!     group: grp1
//!     firstName: Alice
//!     lastName: Liddell
//!     password: s3cret!
//!     number: "+15550100"
//!     extension: "100"
//!     alternateIds: [alice@corp.example]
//!     passwordExpiresInDays: 7
//!     services:
//!       doNotDisturb: {active: true}
//! "#;
//! let clock = LabClock::frozen_at(datetime!(2026-01-01 0:00 UTC));
//! let store = Store::from_yaml_str(yaml, "lab.yaml", clock.clone()).unwrap();
//!
//! let alice = store.find_user("Alice@Corp.Example").unwrap();
//! assert_eq!(store.find_by_number("+15550100").unwrap().idx, alice.idx);
//! assert_eq!(store.find_by_location_code(alice.enterprise, "12100").unwrap().idx, alice.idx);
//!
//! match store.authenticate("alice@lab.example", "s3cret!", clock.now()) {
//!     AuthOutcome::Ok { days_to_expiry, expiring_soon, .. } => {
//!         assert_eq!(days_to_expiry, Some(7));
//!         assert!(expiring_soon);
//!     }
//!     other => panic!("unexpected {}", other.name()),
//! }
//!
//! // A bad file reports each problem with its position and field path.
//! let err = Store::from_yaml_str("users:\n  - userId: bob\n", "bad.yaml", clock).unwrap_err();
//! assert!(err.to_string().contains("bad.yaml:2:5: users[0]"));
//! ```

#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod admin;
pub mod builder;
mod de;
pub mod device;
pub mod error;
pub mod ids;
mod index;
pub mod logs;
pub mod org;
pub mod password;
pub mod push;
pub mod services;
pub mod spec;
pub mod store;
pub mod tz;
mod tz_data;
pub mod user;
mod validate;
mod yaml;

pub use admin::{Admin, AdminScope, AdminType};
pub use builder::LabBuilder;
pub use device::{Device, DeviceLevel, EndpointType, Line, Registration};
pub use error::{ErrorKind, LabError, LabErrors, SourcePos};
pub use ids::{AdminIdx, DeviceIdx, E164, EnterpriseIdx, GroupIdx, Mac, UserIdx};
pub use logs::{
    CallLogEntry, CallLogKind, CallingParty, MailboxFull, MediaType, MessageSummary, NewCallLog,
    NewVoiceMessage, VoiceMessage,
};
pub use org::{Enterprise, Group};
pub use password::{
    AuthEncoding, AuthOutcome, BasicAuthError, BasicCredentials, PasswordError, PasswordPolicy,
    decode_basic, encode_basic,
};
pub use push::{PushEvent, PushParam, PushRegistration, PushToken};
pub use services::{Service, ServiceKind, ServiceSettings, Services};
pub use spec::LabData;
pub use store::{Store, StoreError};
pub use tz::TimeZone;
pub use user::User;
pub use validate::SystemSettings;
pub use yaml::{parse_lab_yaml, synthetic_lab_yaml};

/// The Rust snippets of `docs/lab-data.md` run as doc-tests, so the guide stays true.
#[doc = include_str!("../../../docs/lab-data.md")]
#[cfg(doctest)]
pub struct LabDataGuide;
