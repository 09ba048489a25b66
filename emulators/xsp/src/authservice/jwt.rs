//! The AuthService RSA key set and RS256 JWTs (compact serialisation, RFC 7515/7519).
//!
//! The key pair is generated with the `rsa` crate (PKCS#8 export) the first time a token is
//! issued or a `?key=` request arrives, then handed to *ring* for signing and verification.
//! Cloning an [`AuthKeys`] shares the pair: give the same handle to every XSP of a farm
//! (the "exportKeys/importKeys" state) or a fresh one per node (the "non-shared keys" fault).

use std::fmt;
use std::sync::{Arc, OnceLock};

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use ring::signature::{self, KeyPair, RsaKeyPair, UnparsedPublicKey};
use rsa::pkcs8::EncodePrivateKey;
use rsa::rand_core::{CryptoRng, RngCore};
use serde_json::{Value, json};
use time::OffsetDateTime;

/// Modulus size of the AuthService key pair.
pub const AUTH_KEY_BITS: usize = 2048;

struct Pair {
    signer: RsaKeyPair,
    /// PKCS#1 `RSAPublicKey` DER, the form *ring* verifies with.
    public: Vec<u8>,
    pkcs8: Vec<u8>,
    kid: String,
}

struct Inner {
    pair: OnceLock<Result<Pair, String>>,
}

/// An AuthService RSA key set, created lazily on first need. Cheap to clone; clones share
/// the same key pair.
#[derive(Clone)]
pub struct AuthKeys(Arc<Inner>);

impl Default for AuthKeys {
    fn default() -> Self {
        Self::new()
    }
}

impl fmt::Debug for AuthKeys {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AuthKeys")
            .field("created", &self.is_created())
            .field("kid", &self.key_id())
            .finish()
    }
}

impl AuthKeys {
    /// An empty key set; the pair is generated when first needed.
    pub fn new() -> Self {
        AuthKeys(Arc::new(Inner {
            pair: OnceLock::new(),
        }))
    }

    /// A key set from an exported PKCS#8 RSA private key (`importKeys`).
    pub fn from_pkcs8(der: &[u8]) -> Result<Self, String> {
        let pair = Pair::from_pkcs8(der.to_vec())?;
        let keys = Self::new();
        let _ = keys.0.pair.set(Ok(pair));
        Ok(keys)
    }

    /// Whether the pair exists yet.
    pub fn is_created(&self) -> bool {
        matches!(self.0.pair.get(), Some(Ok(_)))
    }

    /// Key id (`kid` header): hex of the first 8 bytes of SHA-256 over the public key;
    /// `None` until the pair exists.
    pub fn key_id(&self) -> Option<String> {
        match self.0.pair.get() {
            Some(Ok(p)) => Some(p.kid.clone()),
            _ => None,
        }
    }

    /// Creates the pair if needed (slow: RSA key generation; call off the async runtime).
    /// Returns whether this call created it.
    pub fn ensure(&self) -> Result<bool, String> {
        let mut created = false;
        let r = self.0.pair.get_or_init(|| {
            created = true;
            Pair::generate()
        });
        r.as_ref().map(|_| created).map_err(Clone::clone)
    }

    /// The PKCS#8 DER of the private key (`exportKeys`), creating the pair if needed.
    pub fn export_pkcs8(&self) -> Result<Vec<u8>, String> {
        self.ensure()?;
        Ok(self.pair()?.pkcs8.clone())
    }

    /// The public key as PKCS#1 `RSAPublicKey` DER, creating the pair if needed.
    pub fn public_key_der(&self) -> Result<Vec<u8>, String> {
        self.ensure()?;
        Ok(self.pair()?.public.clone())
    }

    fn pair(&self) -> Result<&Pair, String> {
        match self.0.pair.get() {
            Some(Ok(p)) => Ok(p),
            Some(Err(e)) => Err(e.clone()),
            None => Err("AuthService key pair not created yet".into()),
        }
    }

    /// Signs `claims` as an RS256 JWT. The pair must exist ([`ensure`](Self::ensure)).
    pub(crate) fn sign(&self, claims: &Value) -> Result<String, String> {
        let pair = self.pair()?;
        let header = json!({"alg": "RS256", "typ": "JWT", "kid": pair.kid});
        let mut input = B64.encode(header.to_string());
        input.push('.');
        input.push_str(&B64.encode(claims.to_string()));
        let mut sig = vec![0u8; pair.signer.public().modulus_len()];
        pair.signer
            .sign(
                &signature::RSA_PKCS1_SHA256,
                &ring::rand::SystemRandom::new(),
                input.as_bytes(),
                &mut sig,
            )
            .map_err(|_| "RSA signing failed".to_owned())?;
        input.push('.');
        input.push_str(&B64.encode(sig));
        Ok(input)
    }

    /// Checks the signature of a compact JWT and returns its claims. Does not look at
    /// the claims themselves.
    pub(crate) fn verify(&self, token: &str) -> Result<Value, JwtError> {
        let mut parts = token.split('.');
        let (Some(h), Some(c), Some(s), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(JwtError::Malformed);
        };
        let header: Value = decode_json(h)?;
        if header.get("alg").and_then(Value::as_str) != Some("RS256") {
            return Err(JwtError::Malformed);
        }
        let sig = B64.decode(s).map_err(|_| JwtError::Malformed)?;
        let claims = decode_json(c)?;
        let Ok(pair) = self.pair() else {
            // No pair on this node: nothing it could have signed.
            return Err(JwtError::BadSignature);
        };
        let signed = &token[..h.len() + 1 + c.len()];
        UnparsedPublicKey::new(&signature::RSA_PKCS1_2048_8192_SHA256, &pair.public)
            .verify(signed.as_bytes(), &sig)
            .map_err(|_| JwtError::BadSignature)?;
        Ok(claims)
    }
}

fn decode_json(part: &str) -> Result<Value, JwtError> {
    let bytes = B64.decode(part).map_err(|_| JwtError::Malformed)?;
    let v: Value = serde_json::from_slice(&bytes).map_err(|_| JwtError::Malformed)?;
    if v.is_object() {
        Ok(v)
    } else {
        Err(JwtError::Malformed)
    }
}

/// Why a JWT was not accepted.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum JwtError {
    Malformed,
    BadSignature,
}

impl Pair {
    fn generate() -> Result<Pair, String> {
        let key =
            rsa::RsaPrivateKey::new(&mut RingRng, AUTH_KEY_BITS).map_err(|e| e.to_string())?;
        let der = key.to_pkcs8_der().map_err(|e| e.to_string())?;
        Pair::from_pkcs8(der.as_bytes().to_vec())
    }

    fn from_pkcs8(pkcs8: Vec<u8>) -> Result<Pair, String> {
        let signer = RsaKeyPair::from_pkcs8(&pkcs8).map_err(|e| e.to_string())?;
        let public = signer.public_key().as_ref().to_vec();
        let digest = ring::digest::digest(&ring::digest::SHA256, &public);
        let kid = digest.as_ref()[..8]
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        Ok(Pair {
            signer,
            public,
            pkcs8,
            kid,
        })
    }
}

/// *ring*'s system RNG behind the `rand_core` traits the `rsa` crate expects.
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
        if self.try_fill_bytes(dest).is_err() {
            panic!("system random generator failed");
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

/// 16 random bytes as 32 hex digits (`jti`, SSO tokens).
pub(crate) fn random_hex() -> String {
    use ring::rand::SecureRandom;
    let mut b = [0u8; 16];
    if ring::rand::SystemRandom::new().fill(&mut b).is_err() {
        let t = OffsetDateTime::now_utc()
            .unix_timestamp_nanos()
            .to_le_bytes();
        b.copy_from_slice(&t[..16]);
    }
    b.iter().map(|x| format!("{x:02x}")).collect()
}

/// Decodes base64url with or without padding (the `?key=` parameter).
pub(crate) fn decode_b64url(s: &str) -> Option<Vec<u8>> {
    B64.decode(s.trim_end_matches('=')).ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn created() -> AuthKeys {
        static KEYS: OnceLock<AuthKeys> = OnceLock::new();
        KEYS.get_or_init(|| {
            let k = AuthKeys::new();
            k.ensure().unwrap();
            k
        })
        .clone()
    }

    proptest! {
        #[test]
        fn verify_never_panics(s in "\\PC{0,300}", parts in proptest::collection::vec("[A-Za-z0-9_=-]{0,60}", 0..5)) {
            let keys = created();
            let _ = keys.verify(&s);
            let _ = keys.verify(&parts.join("."));
            let header = B64.encode(r#"{"alg":"RS256"}"#);
            let _ = keys.verify(&format!("{header}.{}", parts.join(".")));
        }
    }

    #[test]
    fn sign_verify_and_tamper() {
        let keys = AuthKeys::new();
        assert!(!keys.is_created());
        assert!(keys.ensure().unwrap());
        assert!(!keys.ensure().unwrap());
        let t = keys.sign(&json!({"sub": "a"})).unwrap();
        assert_eq!(keys.verify(&t).unwrap()["sub"], "a");
        let clone = keys.clone();
        assert!(clone.verify(&t).is_ok());
        let imported = AuthKeys::from_pkcs8(&keys.export_pkcs8().unwrap()).unwrap();
        assert!(imported.verify(&t).is_ok());
        let i = t.len() - 20;
        let c = if &t[i..=i] == "A" { "B" } else { "A" };
        let bad = format!("{}{c}{}", &t[..i], &t[i + 1..]);
        assert_eq!(keys.verify(&bad), Err(JwtError::BadSignature));
        assert_eq!(keys.verify("a.b"), Err(JwtError::Malformed));
        assert_eq!(AuthKeys::new().verify(&t), Err(JwtError::BadSignature));
    }
}
