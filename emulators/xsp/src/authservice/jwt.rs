//! The AuthService RSA key set, RS256 JWTs (compact serialisation, RFC 7515/7519), and the
//! encryption of a token for a caller's public key (JWE compact serialisation, RFC 7516).
//!
//! The key pair is generated with the `rsa` crate (PKCS#8 export) the first time a token is
//! issued or a `?key=` request arrives, then handed to *ring* for signing and verification.
//! Cloning an [`AuthKeys`] shares the pair: give the same handle to every XSP of a farm
//! (the "exportKeys/importKeys" state) or a fresh one per node (the "non-shared keys" fault).
//! [`AuthKeys::export_pem_file`] / [`AuthKeys::import_pem_file`] move the pair between labs
//! through PKCS#8 PEM files, as `KeyManagement> exportKeys` / `importKeys` do between nodes.
//!
//! A JWT is far longer than one RSA block (at most 190 bytes with OAEP-SHA-256 and a
//! 2048-bit key), so "the token encrypted with the caller's public key" is a hybrid: a fresh
//! AES-256-GCM key encrypts the JWT, and RSA-OAEP with SHA-256 (and MGF1-SHA-256) wraps that
//! key for the caller — JWE `alg` `RSA-OAEP-256`, `enc` `A256GCM`, `cty` `JWT`. OAEP rather
//! than PKCS#1 v1.5: v1.5 encryption padding is open to padding-oracle attacks and JOSE
//! discourages it (RFC 8725 §3.2); the sources name no padding.

use std::fmt;
use std::sync::{Arc, OnceLock};

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use ring::signature::{self, KeyPair, RsaKeyPair, UnparsedPublicKey};
use rsa::pkcs1::{DecodeRsaPrivateKey, DecodeRsaPublicKey};
use rsa::pkcs8::{DecodePrivateKey, DecodePublicKey, EncodePrivateKey, LineEnding};
use rsa::rand_core::{CryptoRng, RngCore};
use rsa::traits::PublicKeyParts;
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

    /// A key set from a PEM private key: PKCS#8 (`-----BEGIN PRIVATE KEY-----`, what
    /// [`to_pem`](Self::to_pem) writes) or PKCS#1 (`-----BEGIN RSA PRIVATE KEY-----`).
    pub fn from_pem(pem: &str) -> Result<Self, String> {
        let key = rsa::RsaPrivateKey::from_pkcs8_pem(pem)
            .or_else(|_| rsa::RsaPrivateKey::from_pkcs1_pem(pem))
            .map_err(|_| {
                "not an RSA private key in PEM (expected PRIVATE KEY or RSA PRIVATE KEY)".to_owned()
            })?;
        let der = key.to_pkcs8_der().map_err(|e| e.to_string())?;
        Self::from_pkcs8(der.as_bytes())
    }

    /// The private key as PKCS#8 PEM (`exportKeys`), creating the pair if needed.
    pub fn to_pem(&self) -> Result<String, String> {
        let der = self.export_pkcs8()?;
        let key = rsa::RsaPrivateKey::from_pkcs8_der(&der).map_err(|e| e.to_string())?;
        key.to_pkcs8_pem(LineEnding::LF)
            .map(|z| z.to_string())
            .map_err(|e| e.to_string())
    }

    /// Writes the pair as PKCS#8 PEM to `path` (created or replaced; owner-only permissions
    /// on Unix), creating the pair if needed: `KeyManagement> exportKeys`.
    pub fn export_pem_file(&self, path: &std::path::Path) -> Result<(), String> {
        let pem = self.to_pem()?;
        let mut opts = std::fs::OpenOptions::new();
        opts.write(true).create(true).truncate(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut opts, 0o600);
        let mut f = opts
            .open(path)
            .map_err(|e| format!("{}: {e}", path.display()))?;
        std::io::Write::write_all(&mut f, pem.as_bytes())
            .map_err(|e| format!("{}: {e}", path.display()))
    }

    /// Reads a pair exported by [`export_pem_file`](Self::export_pem_file) (or any RSA PEM
    /// private key): `KeyManagement> importKeys`.
    pub fn import_pem_file(path: &std::path::Path) -> Result<Self, String> {
        let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
        Self::from_pem(&text).map_err(|e| format!("{}: {e}", path.display()))
    }

    /// The farm-wide key file: imports `path` when it exists, otherwise creates a pair and
    /// exports it there (so the next lab, or another process, shares it). Returns the keys
    /// and whether this call created the file.
    pub fn load_or_create(path: &std::path::Path) -> Result<(Self, bool), String> {
        if path.exists() {
            return Ok((Self::import_pem_file(path)?, false));
        }
        let keys = Self::new();
        keys.export_pem_file(path)?;
        Ok((keys, true))
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

/// Algorithms of the encrypted-token answer (JWE `alg` and `enc`).
pub(crate) const TOKEN_ENCRYPTION: &str = "RSA-OAEP-256+A256GCM";

/// Smallest and largest accepted modulus of a caller's `?key=`.
const CALLER_KEY_BITS: std::ops::RangeInclusive<usize> = 2048..=8192;

/// A caller's RSA public key, from the DER behind `?key=`: SubjectPublicKeyInfo (`PUBLIC
/// KEY`, what most libraries export) or PKCS#1 `RSAPublicKey`.
pub(crate) fn parse_caller_key(der: &[u8]) -> Result<rsa::RsaPublicKey, String> {
    let key = rsa::RsaPublicKey::from_public_key_der(der)
        .or_else(|_| rsa::RsaPublicKey::from_pkcs1_der(der))
        .map_err(|_| {
            "key must be a base64url DER RSA public key (SubjectPublicKeyInfo or PKCS#1)".to_owned()
        })?;
    let bits = key.n().bits();
    if !CALLER_KEY_BITS.contains(&bits) {
        return Err(format!(
            "key is a {bits}-bit RSA key; {} to {} bits are accepted",
            CALLER_KEY_BITS.start(),
            CALLER_KEY_BITS.end()
        ));
    }
    Ok(key)
}

/// `token` as a JWE compact serialisation for `key` (see the module docs): protected header
/// `{"alg":"RSA-OAEP-256","enc":"A256GCM","cty":"JWT"}`, a random 256-bit content key
/// wrapped with RSA-OAEP-256, a random 96-bit IV, AAD = the encoded header.
pub(crate) fn encrypt_for(key: &rsa::RsaPublicKey, token: &str) -> Result<String, String> {
    use ring::aead::{AES_256_GCM, Aad, LessSafeKey, Nonce, UnboundKey};
    use ring::rand::SecureRandom;
    let rng = ring::rand::SystemRandom::new();
    let mut cek = [0u8; 32];
    let mut iv = [0u8; 12];
    rng.fill(&mut cek)
        .and_then(|()| rng.fill(&mut iv))
        .map_err(|_| "system random generator failed".to_owned())?;
    let wrapped = key
        .encrypt(&mut RingRng, rsa::Oaep::new::<rsa::sha2::Sha256>(), &cek)
        .map_err(|e| format!("RSA-OAEP: {e}"))?;
    let header = B64.encode(r#"{"alg":"RSA-OAEP-256","enc":"A256GCM","cty":"JWT"}"#);
    let sealing = LessSafeKey::new(
        UnboundKey::new(&AES_256_GCM, &cek).map_err(|_| "AES-256-GCM key".to_owned())?,
    );
    let mut data = token.as_bytes().to_vec();
    let tag = sealing
        .seal_in_place_separate_tag(
            Nonce::assume_unique_for_key(iv),
            Aad::from(header.as_bytes()),
            &mut data,
        )
        .map_err(|_| "AES-256-GCM encryption failed".to_owned())?;
    Ok(format!(
        "{header}.{}.{}.{}.{}",
        B64.encode(wrapped),
        B64.encode(iv),
        B64.encode(data),
        B64.encode(tag.as_ref())
    ))
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

    /// Decrypts a JWE made by [`encrypt_for`] with the caller's private key.
    fn decrypt(private: &rsa::RsaPrivateKey, jwe: &str) -> String {
        use ring::aead::{AES_256_GCM, Aad, LessSafeKey, Nonce, UnboundKey};
        let p: Vec<&str> = jwe.split('.').collect();
        assert_eq!(p.len(), 5);
        let header: Value = serde_json::from_slice(&B64.decode(p[0]).unwrap()).unwrap();
        assert_eq!(header["alg"], "RSA-OAEP-256");
        assert_eq!(header["enc"], "A256GCM");
        let cek = private
            .decrypt(
                rsa::Oaep::new::<rsa::sha2::Sha256>(),
                &B64.decode(p[1]).unwrap(),
            )
            .unwrap();
        let iv: [u8; 12] = B64.decode(p[2]).unwrap().try_into().unwrap();
        let mut data = B64.decode(p[3]).unwrap();
        data.extend(B64.decode(p[4]).unwrap());
        let key = LessSafeKey::new(UnboundKey::new(&AES_256_GCM, &cek).unwrap());
        let plain = key
            .open_in_place(
                Nonce::assume_unique_for_key(iv),
                Aad::from(p[0].as_bytes()),
                &mut data,
            )
            .unwrap();
        String::from_utf8(plain.to_vec()).unwrap()
    }

    #[test]
    fn token_encrypted_for_the_callers_key() {
        let caller = rsa::RsaPrivateKey::new(&mut RingRng, 2048).unwrap();
        let public = rsa::RsaPublicKey::from(&caller);
        let spki = rsa::pkcs8::EncodePublicKey::to_public_key_der(&public).unwrap();
        let pkcs1 = rsa::pkcs1::EncodeRsaPublicKey::to_pkcs1_der(&public).unwrap();
        for der in [spki.as_bytes(), pkcs1.as_bytes()] {
            let key = parse_caller_key(der).unwrap();
            let jwe = encrypt_for(&key, "a.b.c").unwrap();
            assert_eq!(decrypt(&caller, &jwe), "a.b.c");
        }
        assert!(parse_caller_key(b"not a key").is_err());
        let small = rsa::RsaPrivateKey::new(&mut RingRng, 1024).unwrap();
        let small =
            rsa::pkcs8::EncodePublicKey::to_public_key_der(&rsa::RsaPublicKey::from(&small))
                .unwrap();
        assert!(
            parse_caller_key(small.as_bytes())
                .unwrap_err()
                .contains("1024-bit")
        );
    }

    #[test]
    fn pem_export_import() {
        let keys = created();
        let pem = keys.to_pem().unwrap();
        assert!(pem.starts_with("-----BEGIN PRIVATE KEY-----"));
        let back = AuthKeys::from_pem(&pem).unwrap();
        assert_eq!(back.key_id(), keys.key_id());
        let key = rsa::RsaPrivateKey::from_pkcs8_pem(&pem).unwrap();
        let pkcs1 = rsa::pkcs1::EncodeRsaPrivateKey::to_pkcs1_pem(&key, LineEnding::LF).unwrap();
        assert_eq!(AuthKeys::from_pem(&pkcs1).unwrap().key_id(), keys.key_id());
        assert!(AuthKeys::from_pem("-----BEGIN NOTHING-----").is_err());
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("authService.keys");
        let (made, created_now) = AuthKeys::load_or_create(&path).unwrap();
        assert!(created_now && made.is_created());
        let (again, created_now) = AuthKeys::load_or_create(&path).unwrap();
        assert!(!created_now);
        assert_eq!(again.key_id(), made.key_id());
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
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
