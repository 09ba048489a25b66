//! The caller's side of `GET /authService/token?key=…`: an RSA key pair, the `key`
//! parameter, and decryption of the JWE answer (RSA-OAEP-256 + A256GCM).

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use ring::aead::{AES_256_GCM, Aad, LessSafeKey, Nonce, UnboundKey};
use rsa::pkcs8::EncodePublicKey;
use rsa::rand_core::{CryptoRng, RngCore};
use serde_json::Value;

/// *ring*'s system RNG for the `rsa` crate.
pub struct Rng;

impl RngCore for Rng {
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
        use ring::rand::SecureRandom;
        ring::rand::SystemRandom::new().fill(dest).expect("random");
    }
    fn try_fill_bytes(&mut self, dest: &mut [u8]) -> Result<(), rsa::rand_core::Error> {
        self.fill_bytes(dest);
        Ok(())
    }
}

impl CryptoRng for Rng {}

/// A caller (e.g. the Webex microservice) with its RSA key pair.
pub struct Caller {
    pub private: rsa::RsaPrivateKey,
}

impl Caller {
    pub fn new() -> Caller {
        Caller {
            private: rsa::RsaPrivateKey::new(&mut Rng, 2048).expect("RSA key"),
        }
    }

    /// `BASE64URL(SubjectPublicKeyInfo DER)`, the `key` query value.
    pub fn key_param(&self) -> String {
        let der = rsa::RsaPublicKey::from(&self.private)
            .to_public_key_der()
            .expect("SPKI");
        B64.encode(der.as_bytes())
    }

    /// The JWT inside a JWE compact serialisation addressed to this caller.
    pub fn decrypt(&self, jwe: &str) -> Result<String, String> {
        let p: Vec<&str> = jwe.split('.').collect();
        if p.len() != 5 {
            return Err(format!("{} parts, expected 5", p.len()));
        }
        let d = |s: &str| B64.decode(s).map_err(|e| e.to_string());
        let header: Value = serde_json::from_slice(&d(p[0])?).map_err(|e| e.to_string())?;
        if header["alg"] != "RSA-OAEP-256" || header["enc"] != "A256GCM" {
            return Err(format!("header {header}"));
        }
        let cek = self
            .private
            .decrypt(rsa::Oaep::new::<rsa::sha2::Sha256>(), &d(p[1])?)
            .map_err(|e| e.to_string())?;
        let iv: [u8; 12] = d(p[2])?.try_into().map_err(|_| "IV length")?;
        let mut data = d(p[3])?;
        data.extend(d(p[4])?);
        let key = LessSafeKey::new(UnboundKey::new(&AES_256_GCM, &cek).map_err(|_| "CEK")?);
        let plain = key
            .open_in_place(
                Nonce::assume_unique_for_key(iv),
                Aad::from(p[0].as_bytes()),
                &mut data,
            )
            .map_err(|_| "AES-GCM tag mismatch")?;
        String::from_utf8(plain.to_vec()).map_err(|e| e.to_string())
    }
}
