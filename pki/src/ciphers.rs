//! Cipher-suite policies, and parsing of the IANA names BroadWorks operators configure.
//!
//! Three notions are kept apart (as the deployment guide does): what Cisco calls *compliant*
//! (ECDHE or DHE key exchange, AES of at least 128 bits, GCM or SHA-2 CBC), what a BroadWorks
//! interface has *configured*, and what this lab can actually *implement*. rustls implements
//! only ECDHE key exchange with AES-GCM or ChaCha20-Poly1305 in TLS 1.2, and the three standard
//! AEAD suites in TLS 1.3. DHE, static RSA/ECDH, PSK and every CBC suite are therefore
//! recognised by name (so a configuration that lists them is understood) but cannot be served.
//!
//! [`CipherPolicy::CiscoCompliant`] is the intersection of the Cisco rule and rustls: ECDHE +
//! AES-GCM in TLS 1.2, AES-GCM in TLS 1.3 (whose key exchange is always ephemeral). ChaCha20 is
//! left out because the rule asks for AES.

use std::collections::HashMap;
use std::sync::OnceLock;

use rustls::crypto::ring::cipher_suite as ring_suites;
use rustls::{CipherSuite, ProtocolVersion, SupportedCipherSuite};
use serde::{Deserialize, Serialize};

/// Which TLS versions a configuration enables.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum TlsVersions {
    /// TLS 1.2 only: what many BroadWorks interfaces are set to, and the floor Webex requires.
    Tls12Only,
    /// TLS 1.2 and 1.3 (1.3 preferred).
    #[default]
    Tls12And13,
    /// TLS 1.3 only.
    Tls13Only,
}

impl TlsVersions {
    pub(crate) fn wanted(self) -> &'static [ProtocolVersion] {
        match self {
            TlsVersions::Tls12Only => &[ProtocolVersion::TLSv1_2],
            TlsVersions::Tls12And13 => &[ProtocolVersion::TLSv1_3, ProtocolVersion::TLSv1_2],
            TlsVersions::Tls13Only => &[ProtocolVersion::TLSv1_3],
        }
    }
}

/// Which cipher suites a lab endpoint offers.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum CipherPolicy {
    /// The Cisco rule as far as rustls can follow it: ECDHE + AES-GCM (TLS 1.2), AES-GCM (TLS 1.3).
    CiscoCompliant,
    /// Every suite of the rustls *ring* provider (adds ChaCha20-Poly1305).
    #[default]
    Default,
    /// Exactly these IANA names, in this order of preference (like a BroadWorks `Ciphers` list).
    Named(Vec<String>),
}

/// Why a cipher configuration cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CipherError {
    /// An OpenSSL-style name such as `ECDHE-ECDSA-AES128-GCM-SHA256`; BroadWorks wants IANA names.
    #[error("{name:?} is an OpenSSL-style cipher name; use the IANA name{}", match .iana { Some(i) => format!(" ({i})"), None => String::new() })]
    OpenSslName {
        /// The name as given.
        name: String,
        /// The IANA equivalent, when known.
        iana: Option<String>,
    },
    /// Not a cipher-suite name at all.
    #[error("{0:?} is not a known IANA cipher-suite name")]
    UnknownName(String),
    /// Nothing implementable is left for the enabled TLS versions.
    #[error("no cipher suite available{}", describe_unimplementable(.not_implementable))]
    NoCipherSuiteAvailable {
        /// Names that were recognised but cannot be served by rustls, with the reason.
        not_implementable: Vec<Unimplementable>,
    },
}

fn describe_unimplementable(list: &[Unimplementable]) -> String {
    if list.is_empty() {
        return String::new();
    }
    let parts: Vec<String> = list
        .iter()
        .map(|u| format!("{} ({})", u.name, u.reason))
        .collect();
    format!(
        ": recognised but not implementable in rustls: {}",
        parts.join("; ")
    )
}

/// A recognised IANA name rustls cannot serve, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Unimplementable {
    /// The IANA name.
    pub name: String,
    /// Why rustls cannot serve it.
    pub reason: &'static str,
}

/// The outcome of parsing one name.
#[derive(Debug, Clone, PartialEq)]
pub enum ParsedCipher {
    /// A suite rustls can negotiate.
    Supported(SupportedCipherSuite),
    /// A real IANA suite rustls does not implement.
    NotImplementable(Unimplementable),
}

/// A policy resolved against rustls: the suites to configure and the names that were skipped.
#[derive(Debug, Clone)]
pub struct ResolvedCiphers {
    /// Suites in preference order, restricted to the enabled TLS versions.
    pub suites: Vec<SupportedCipherSuite>,
    /// Recognised names that rustls cannot serve (only for [`CipherPolicy::Named`]).
    pub skipped: Vec<Unimplementable>,
    /// The versions that have at least one suite.
    pub versions: Vec<ProtocolVersion>,
}

/// The IANA name of a suite (`TLS_AES_128_GCM_SHA256` rather than rustls' `TLS13_` spelling).
pub fn iana_name(suite: CipherSuite) -> String {
    match suite.as_str() {
        Some(n) => match n.strip_prefix("TLS13_") {
            Some(rest) => format!("TLS_{rest}"),
            None => n.to_string(),
        },
        None => format!("0x{:04X}", u16::from(suite)),
    }
}

/// Every IANA name rustls knows, mapped to its code point. Built once from rustls' own
/// `CipherSuite` table, so the list of recognised names follows the rustls version.
fn registry() -> &'static HashMap<String, CipherSuite> {
    static REG: OnceLock<HashMap<String, CipherSuite>> = OnceLock::new();
    REG.get_or_init(|| {
        (0..=u16::MAX)
            .map(CipherSuite::from)
            .filter(|s| s.as_str().is_some())
            .map(|s| (iana_name(s), s))
            .collect()
    })
}

/// OpenSSL names operators commonly paste, with their IANA equivalents (for the error hint).
const OPENSSL_TO_IANA: &[(&str, &str)] = &[
    (
        "ECDHE-ECDSA-AES128-GCM-SHA256",
        "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256",
    ),
    (
        "ECDHE-ECDSA-AES256-GCM-SHA384",
        "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384",
    ),
    (
        "ECDHE-RSA-AES128-GCM-SHA256",
        "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256",
    ),
    (
        "ECDHE-RSA-AES256-GCM-SHA384",
        "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384",
    ),
    (
        "ECDHE-ECDSA-CHACHA20-POLY1305",
        "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256",
    ),
    (
        "ECDHE-RSA-CHACHA20-POLY1305",
        "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256",
    ),
    (
        "DHE-RSA-AES128-GCM-SHA256",
        "TLS_DHE_RSA_WITH_AES_128_GCM_SHA256",
    ),
    (
        "DHE-RSA-AES256-GCM-SHA384",
        "TLS_DHE_RSA_WITH_AES_256_GCM_SHA384",
    ),
    (
        "ECDHE-ECDSA-AES128-SHA256",
        "TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA256",
    ),
    (
        "ECDHE-ECDSA-AES256-SHA384",
        "TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA384",
    ),
    (
        "ECDHE-RSA-AES128-SHA256",
        "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA256",
    ),
    (
        "ECDHE-RSA-AES256-SHA384",
        "TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA384",
    ),
    ("AES128-GCM-SHA256", "TLS_RSA_WITH_AES_128_GCM_SHA256"),
    ("AES256-GCM-SHA384", "TLS_RSA_WITH_AES_256_GCM_SHA384"),
    ("AES128-SHA256", "TLS_RSA_WITH_AES_128_CBC_SHA256"),
    ("AES256-SHA256", "TLS_RSA_WITH_AES_256_CBC_SHA256"),
];

/// Why rustls cannot serve a recognised suite, judged from its IANA name.
fn unimplementable_reason(name: &str) -> &'static str {
    let kx = name
        .strip_prefix("TLS_")
        .and_then(|r| r.split("_WITH_").next())
        .unwrap_or("");
    if kx.contains("PSK") {
        "pre-shared-key suites are not implemented by rustls"
    } else if kx.starts_with("DHE_") || kx.starts_with("DH_") {
        "finite-field (DHE) key exchange is not implemented by rustls"
    } else if kx.starts_with("ECDH_") {
        "static ECDH key exchange is not implemented by rustls"
    } else if kx == "RSA" {
        "static RSA key exchange (no forward secrecy) is not implemented by rustls"
    } else if name.contains("_CBC_") {
        "CBC-mode suites are not implemented by rustls"
    } else {
        "this suite is not implemented by rustls"
    }
}

/// Parses one configured cipher name.
///
/// Accepts IANA names case-insensitively, rustls' `TLS13_` spelling of the TLS 1.3 suites, and
/// the guide's short `TLS_ECDHE_{ECDSA,RSA}_WITH_CHACHA20_POLY1305` (without `_SHA256`) as an
/// alias. OpenSSL names are refused with a hint; anything else is an unknown name.
pub fn parse_cipher_name(name: &str) -> Result<ParsedCipher, CipherError> {
    let trimmed = name.trim();
    let upper = trimmed.to_ascii_uppercase();
    let mut key = match upper.strip_prefix("TLS13_") {
        Some(rest) => format!("TLS_{rest}"),
        None => upper.clone(),
    };
    if key.ends_with("_WITH_CHACHA20_POLY1305") {
        key.push_str("_SHA256");
    }

    let Some(&suite) = registry().get(&key) else {
        let looks_openssl = !upper.starts_with("TLS_")
            && trimmed.contains('-')
            && trimmed
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-');
        if looks_openssl {
            let iana = OPENSSL_TO_IANA
                .iter()
                .find(|(o, _)| *o == upper)
                .map(|(_, i)| (*i).to_string());
            return Err(CipherError::OpenSslName {
                name: trimmed.to_string(),
                iana,
            });
        }
        return Err(CipherError::UnknownName(trimmed.to_string()));
    };

    match rustls::crypto::ring::ALL_CIPHER_SUITES
        .iter()
        .find(|s| s.suite() == suite)
    {
        Some(s) => Ok(ParsedCipher::Supported(*s)),
        None => Ok(ParsedCipher::NotImplementable(Unimplementable {
            reason: unimplementable_reason(&key),
            name: key,
        })),
    }
}

impl CipherPolicy {
    /// The suites of the policy before version filtering.
    fn candidates(&self) -> Result<(Vec<SupportedCipherSuite>, Vec<Unimplementable>), CipherError> {
        match self {
            CipherPolicy::Default => Ok((rustls::crypto::ring::ALL_CIPHER_SUITES.to_vec(), vec![])),
            CipherPolicy::CiscoCompliant => Ok((
                vec![
                    ring_suites::TLS13_AES_256_GCM_SHA384,
                    ring_suites::TLS13_AES_128_GCM_SHA256,
                    ring_suites::TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,
                    ring_suites::TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,
                    ring_suites::TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
                    ring_suites::TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,
                ],
                vec![],
            )),
            CipherPolicy::Named(names) => {
                let mut suites: Vec<SupportedCipherSuite> = Vec::new();
                let mut skipped = Vec::new();
                for n in names {
                    match parse_cipher_name(n)? {
                        ParsedCipher::Supported(s) => {
                            if !suites.iter().any(|x| x.suite() == s.suite()) {
                                suites.push(s);
                            }
                        }
                        ParsedCipher::NotImplementable(u) => skipped.push(u),
                    }
                }
                Ok((suites, skipped))
            }
        }
    }

    /// Resolves the policy for the enabled TLS versions.
    ///
    /// Fails on OpenSSL-style or unknown names, and with
    /// [`CipherError::NoCipherSuiteAvailable`] when nothing servable remains (for instance a list
    /// of DHE and CBC suites only, or TLS 1.3 suites with TLS 1.2 only).
    pub fn resolve(&self, versions: TlsVersions) -> Result<ResolvedCiphers, CipherError> {
        let (candidates, skipped) = self.candidates()?;
        let wanted = versions.wanted();
        let suites: Vec<SupportedCipherSuite> = candidates
            .into_iter()
            .filter(|s| wanted.contains(&s.version().version))
            .collect();
        let versions: Vec<ProtocolVersion> = wanted
            .iter()
            .copied()
            .filter(|v| suites.iter().any(|s| s.version().version == *v))
            .collect();
        if suites.is_empty() {
            return Err(CipherError::NoCipherSuiteAvailable {
                not_implementable: skipped,
            });
        }
        Ok(ResolvedCiphers {
            suites,
            skipped,
            versions,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn supported(name: &str) -> CipherSuite {
        match parse_cipher_name(name) {
            Ok(ParsedCipher::Supported(s)) => s.suite(),
            other => panic!("{name}: {other:?}"),
        }
    }

    #[test]
    fn iana_names_map_to_rustls_suites() {
        assert_eq!(
            supported("TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256"),
            CipherSuite::TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256
        );
        assert_eq!(
            supported("tls_ecdhe_rsa_with_aes_256_gcm_sha384"),
            CipherSuite::TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384
        );
        assert_eq!(
            supported("TLS_AES_128_GCM_SHA256"),
            CipherSuite::TLS13_AES_128_GCM_SHA256
        );
        assert_eq!(
            supported("TLS13_AES_256_GCM_SHA384"),
            CipherSuite::TLS13_AES_256_GCM_SHA384
        );
    }

    #[test]
    fn short_chacha_alias_is_accepted() {
        assert_eq!(
            supported("TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305"),
            CipherSuite::TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256
        );
    }

    #[test]
    fn openssl_names_are_refused_with_a_hint() {
        let err = parse_cipher_name("ECDHE-ECDSA-AES128-GCM-SHA256").unwrap_err();
        assert_eq!(
            err,
            CipherError::OpenSslName {
                name: "ECDHE-ECDSA-AES128-GCM-SHA256".into(),
                iana: Some("TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256".into()),
            }
        );
        assert!(err.to_string().contains("OpenSSL-style"));
        assert!(
            err.to_string()
                .contains("TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256")
        );
        assert!(matches!(
            parse_cipher_name("ECDHE-ECDSA-CHACHA20-POLY1305"),
            Err(CipherError::OpenSslName { iana: Some(_), .. })
        ));
        assert!(matches!(
            parse_cipher_name("CAMELLIA-WHATEVER"),
            Err(CipherError::OpenSslName { iana: None, .. })
        ));
    }

    #[test]
    fn unknown_names_are_refused() {
        for n in ["", "  ", "TLS_FOO_WITH_BAR", "hello world", "TLS_ECDHE"] {
            assert!(
                matches!(parse_cipher_name(n), Err(CipherError::UnknownName(_))),
                "{n:?}"
            );
        }
    }

    #[test]
    fn recognised_but_unimplementable_names_say_why() {
        let cases = [
            ("TLS_DHE_RSA_WITH_AES_256_GCM_SHA384", "DHE"),
            ("TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA384", "CBC"),
            ("TLS_DHE_PSK_WITH_AES_256_CBC_SHA384", "pre-shared-key"),
            ("TLS_RSA_WITH_AES_128_GCM_SHA256", "static RSA"),
            ("TLS_ECDH_RSA_WITH_AES_128_GCM_SHA256", "static ECDH"),
        ];
        for (name, why) in cases {
            match parse_cipher_name(name) {
                Ok(ParsedCipher::NotImplementable(u)) => {
                    assert_eq!(u.name, name);
                    assert!(u.reason.contains(why), "{name}: {}", u.reason);
                }
                other => panic!("{name}: {other:?}"),
            }
        }
    }

    #[test]
    fn only_unimplementable_names_is_an_error() {
        let policy = CipherPolicy::Named(vec![
            "TLS_DHE_RSA_WITH_AES_256_GCM_SHA384".into(),
            "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA256".into(),
        ]);
        let err = policy.resolve(TlsVersions::Tls12And13).unwrap_err();
        let text = err.to_string();
        assert!(text.starts_with("no cipher suite available"), "{text}");
        assert!(
            text.contains("TLS_DHE_RSA_WITH_AES_256_GCM_SHA384"),
            "{text}"
        );
        assert!(text.contains("CBC"), "{text}");
    }

    #[test]
    fn mixed_lists_keep_what_works() {
        let policy = CipherPolicy::Named(vec![
            "TLS_DHE_RSA_WITH_AES_256_GCM_SHA384".into(),
            "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384".into(),
            "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384".into(),
        ]);
        let r = policy.resolve(TlsVersions::Tls12And13).expect("resolves");
        assert_eq!(r.suites.len(), 1);
        assert_eq!(r.skipped.len(), 1);
        assert_eq!(r.versions, vec![ProtocolVersion::TLSv1_2]);
    }

    #[test]
    fn version_filtering() {
        let tls13_only_names = CipherPolicy::Named(vec!["TLS_AES_128_GCM_SHA256".into()]);
        assert!(matches!(
            tls13_only_names.resolve(TlsVersions::Tls12Only),
            Err(CipherError::NoCipherSuiteAvailable { .. })
        ));
        let r = CipherPolicy::CiscoCompliant
            .resolve(TlsVersions::Tls12Only)
            .expect("resolves");
        assert_eq!(r.suites.len(), 4);
        assert!(r.suites.iter().all(|s| {
            let n = iana_name(s.suite());
            n.starts_with("TLS_ECDHE_") && n.contains("_AES_") && n.contains("_GCM_")
        }));
    }

    #[test]
    fn cisco_compliant_has_no_chacha() {
        let r = CipherPolicy::CiscoCompliant
            .resolve(TlsVersions::Tls12And13)
            .expect("resolves");
        assert!(
            r.suites
                .iter()
                .all(|s| !iana_name(s.suite()).contains("CHACHA"))
        );
        assert_eq!(
            r.versions,
            vec![ProtocolVersion::TLSv1_3, ProtocolVersion::TLSv1_2]
        );
    }

    #[test]
    fn every_cisco_supported_name_is_recognised() {
        // A sample of the guide's "supported" list: all must be understood (served or not).
        for n in [
            "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384",
            "TLS_DHE_RSA_WITH_CHACHA20_POLY1305_SHA256",
            "TLS_RSA_PSK_WITH_AES_256_GCM_SHA384",
            "TLS_ECDHE_PSK_WITH_CHACHA20_POLY1305_SHA256",
            "TLS_PSK_WITH_AES_128_CBC_SHA",
            "TLS_DHE_DSS_WITH_AES_128_GCM_SHA256",
            "TLS_ECDH_ECDSA_WITH_AES_128_CBC_SHA256",
        ] {
            assert!(parse_cipher_name(n).is_ok(), "{n}");
        }
    }

    proptest::proptest! {
        #[test]
        fn parser_never_panics(s in "\\PC*") {
            let _ = parse_cipher_name(&s);
        }

        #[test]
        fn parser_never_panics_on_name_like_input(s in "[A-Za-z0-9_-]{0,60}") {
            let _ = parse_cipher_name(&s);
        }
    }
}
