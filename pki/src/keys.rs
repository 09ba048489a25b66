//! Key generation, and a rustls signer for RSA keys that *ring* refuses.
//!
//! ECDSA keys come from rcgen/*ring*. RSA keys come from the `rsa` crate because rcgen can only
//! generate RSA keys with aws-lc-rs, which this workspace does not build. *ring* loads RSA keys of
//! 2048 bits and more, but refuses 1024-bit ones, both for signing and for verifying: the
//! `rsa-1024` bad variant therefore has its certificate built from the public key only (the
//! issuing CA signs it), and a lab server that must present it signs handshakes with the `rsa`
//! crate through [`RsaCrateSigningKey`].

use std::sync::Arc;

use rsa::pkcs8::{EncodePrivateKey, EncodePublicKey};
use rsa::rand_core::{CryptoRng, RngCore};
use rustls::pki_types::{PrivateKeyDer, PrivatePkcs8KeyDer, SubjectPublicKeyInfoDer};
use rustls::sign::{Signer, SigningKey};
use rustls::{SignatureAlgorithm, SignatureScheme};

use crate::config::KeyAlgorithm;
use crate::error::{PkiError, TlsError};

/// A freshly generated key: PKCS#8 private key and the DER SubjectPublicKeyInfo.
pub(crate) struct GeneratedKey {
    pub(crate) algorithm: KeyAlgorithm,
    pub(crate) pkcs8: Vec<u8>,
    /// Present for ECDSA keys (and RSA-2048): the rcgen key pair usable for self-signing.
    pub(crate) rcgen: Option<rcgen::KeyPair>,
    pub(crate) spki: Vec<u8>,
}

impl GeneratedKey {
    pub(crate) fn generate(algorithm: KeyAlgorithm) -> Result<Self, PkiError> {
        match algorithm {
            KeyAlgorithm::EcdsaP256 => Self::ecdsa(&rcgen::PKCS_ECDSA_P256_SHA256, algorithm),
            KeyAlgorithm::EcdsaP384 => Self::ecdsa(&rcgen::PKCS_ECDSA_P384_SHA384, algorithm),
            KeyAlgorithm::Rsa2048 => Self::rsa(2048, algorithm),
            KeyAlgorithm::Rsa1024 => Self::rsa(1024, algorithm),
        }
    }

    fn ecdsa(
        alg: &'static rcgen::SignatureAlgorithm,
        algorithm: KeyAlgorithm,
    ) -> Result<Self, PkiError> {
        let kp = rcgen::KeyPair::generate_for(alg)?;
        Ok(GeneratedKey {
            algorithm,
            pkcs8: kp.serialize_der(),
            spki: rcgen::PublicKeyData::subject_public_key_info(&kp),
            rcgen: Some(kp),
        })
    }

    fn rsa(bits: usize, algorithm: KeyAlgorithm) -> Result<Self, PkiError> {
        let key = rsa::RsaPrivateKey::new(&mut RingRng, bits)
            .map_err(|e| PkiError::Rsa(e.to_string()))?;
        let pkcs8 = key
            .to_pkcs8_der()
            .map_err(|e| PkiError::Rsa(e.to_string()))?
            .as_bytes()
            .to_vec();
        let spki = key
            .to_public_key()
            .to_public_key_der()
            .map_err(|e| PkiError::Rsa(e.to_string()))?
            .into_vec();
        // *ring* accepts RSA keys of 2048 bits or more; for smaller ones only the public key is
        // needed to build the certificate (the issuer signs it).
        let rcgen = if bits >= 2048 {
            Some(rcgen::KeyPair::from_pkcs8_der_and_sign_algo(
                &PrivatePkcs8KeyDer::from(pkcs8.as_slice()),
                &rcgen::PKCS_RSA_SHA256,
            )?)
        } else {
            None
        };
        Ok(GeneratedKey {
            algorithm,
            pkcs8,
            rcgen,
            spki,
        })
    }

    /// The public key in the form rcgen needs to put it into a certificate.
    pub(crate) fn public_key(&self) -> Result<rcgen::SubjectPublicKeyInfo, PkiError> {
        Ok(rcgen::SubjectPublicKeyInfo::from_der(&self.spki)?)
    }
}

/// Adapts *ring*'s system random generator to the `rand_core` traits the `rsa` crate wants,
/// so no extra RNG crate is needed.
struct RingRng;

impl RngCore for RingRng {
    fn next_u32(&mut self) -> u32 {
        let mut b = [0u8; 4];
        self.fill_bytes(&mut b);
        u32::from_le_bytes(b)
    }

    fn next_u64(&mut self) -> u64 {
        let mut b = [0u8; 8];
        self.fill_bytes(&mut b);
        u64::from_le_bytes(b)
    }

    fn fill_bytes(&mut self, dest: &mut [u8]) {
        // The OS RNG failing is not recoverable and `RngCore::fill_bytes` has no error channel;
        // `try_fill_bytes` below is the fallible path the `rsa` crate may use.
        if let Err(e) = self.try_fill_bytes(dest) {
            panic!("system random generator failed: {e}");
        }
    }

    fn try_fill_bytes(&mut self, dest: &mut [u8]) -> Result<(), rsa::rand_core::Error> {
        use ring::rand::SecureRandom;
        ring::rand::SystemRandom::new()
            .fill(dest)
            .map_err(|_| rsa::rand_core::Error::from(std::num::NonZeroU32::MIN))
    }
}

impl CryptoRng for RingRng {}

/// Loads a PKCS#8 key for rustls: through the provider when it can, through the `rsa` crate for
/// RSA keys the provider refuses (1024-bit).
pub(crate) fn signing_key(
    provider: &rustls::crypto::CryptoProvider,
    pkcs8: &[u8],
) -> Result<Arc<dyn SigningKey>, TlsError> {
    let der = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(pkcs8.to_vec()));
    match provider.key_provider.load_private_key(der) {
        Ok(k) => Ok(k),
        Err(first) => match RsaCrateSigningKey::from_pkcs8(pkcs8) {
            Some(k) => Ok(Arc::new(k)),
            None => Err(TlsError::Key(first.to_string())),
        },
    }
}

/// A rustls [`SigningKey`] backed by the `rsa` crate, used only for RSA keys *ring* will not
/// load. It offers PKCS#1 v1.5 signatures, which TLS 1.2 allows and TLS 1.3 does not: a server
/// holding such a key is effectively TLS 1.2 only.
#[derive(Debug)]
pub(crate) struct RsaCrateSigningKey {
    key: Arc<rsa::RsaPrivateKey>,
    spki: Vec<u8>,
}

impl RsaCrateSigningKey {
    /// Parses an RSA PKCS#8 private key; `None` if it is not one.
    pub(crate) fn from_pkcs8(pkcs8: &[u8]) -> Option<Self> {
        use rsa::pkcs8::DecodePrivateKey;
        let key = rsa::RsaPrivateKey::from_pkcs8_der(pkcs8).ok()?;
        let spki = key.to_public_key().to_public_key_der().ok()?.into_vec();
        Some(RsaCrateSigningKey {
            key: Arc::new(key),
            spki,
        })
    }
}

impl SigningKey for RsaCrateSigningKey {
    fn choose_scheme(&self, offered: &[SignatureScheme]) -> Option<Box<dyn Signer>> {
        [
            SignatureScheme::RSA_PKCS1_SHA256,
            SignatureScheme::RSA_PKCS1_SHA384,
            SignatureScheme::RSA_PKCS1_SHA512,
        ]
        .into_iter()
        .find(|s| offered.contains(s))
        .map(|scheme| {
            Box::new(RsaCrateSigner {
                key: Arc::clone(&self.key),
                scheme,
            }) as Box<dyn Signer>
        })
    }

    fn public_key(&self) -> Option<SubjectPublicKeyInfoDer<'_>> {
        Some(SubjectPublicKeyInfoDer::from(self.spki.as_slice()))
    }

    fn algorithm(&self) -> SignatureAlgorithm {
        SignatureAlgorithm::RSA
    }
}

#[derive(Debug)]
struct RsaCrateSigner {
    key: Arc<rsa::RsaPrivateKey>,
    scheme: SignatureScheme,
}

// DER DigestInfo prefixes from RFC 8017 section 9.2, note 1.
const SHA256_PREFIX: &[u8] = &[
    0x30, 0x31, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x01, 0x05,
    0x00, 0x04, 0x20,
];
const SHA384_PREFIX: &[u8] = &[
    0x30, 0x41, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x02, 0x05,
    0x00, 0x04, 0x30,
];
const SHA512_PREFIX: &[u8] = &[
    0x30, 0x51, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x03, 0x05,
    0x00, 0x04, 0x40,
];

impl Signer for RsaCrateSigner {
    fn sign(&self, message: &[u8]) -> Result<Vec<u8>, rustls::Error> {
        let (alg, prefix) = match self.scheme {
            SignatureScheme::RSA_PKCS1_SHA384 => (&ring::digest::SHA384, SHA384_PREFIX),
            SignatureScheme::RSA_PKCS1_SHA512 => (&ring::digest::SHA512, SHA512_PREFIX),
            _ => (&ring::digest::SHA256, SHA256_PREFIX),
        };
        let digest = ring::digest::digest(alg, message);
        let padding = rsa::Pkcs1v15Sign {
            hash_len: Some(alg.output_len()),
            prefix: prefix.into(),
        };
        self.key
            .sign_with_rng(&mut RingRng, padding, digest.as_ref())
            .map_err(|e| rustls::Error::General(format!("RSA signing failed: {e}")))
    }

    fn scheme(&self) -> SignatureScheme {
        self.scheme
    }
}
