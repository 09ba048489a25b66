//! PEM encoding and decoding.
//!
//! Encoding is a few lines over `base64`; decoding uses rustls-pki-types so certificates read
//! from an operator's file go through the same parser rustls itself uses.

use base64::Engine;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};

use crate::error::PkiError;

/// Encodes one DER blob as a PEM block with the given label (`CERTIFICATE`, `PRIVATE KEY`, ...).
pub fn encode(label: &str, der: &[u8]) -> String {
    let b64 = base64::engine::general_purpose::STANDARD.encode(der);
    let mut out = String::with_capacity(b64.len() + b64.len() / 64 + 2 * label.len() + 40);
    out.push_str("-----BEGIN ");
    out.push_str(label);
    out.push_str("-----\n");
    // base64 output is ASCII, so splitting on byte boundaries is fine.
    for line in b64.as_bytes().chunks(64) {
        out.push_str(&String::from_utf8_lossy(line));
        out.push('\n');
    }
    out.push_str("-----END ");
    out.push_str(label);
    out.push_str("-----\n");
    out
}

/// Encodes certificates as concatenated `CERTIFICATE` blocks, in the order given.
pub fn encode_certs<'a, 'b: 'a>(certs: impl IntoIterator<Item = &'a CertificateDer<'b>>) -> String {
    certs
        .into_iter()
        .map(|c| encode("CERTIFICATE", c.as_ref()))
        .collect()
}

/// Reads every `CERTIFICATE` block of a PEM text (other blocks are skipped).
///
/// Fails if the text holds no certificate at all, so an empty or mistyped trust file is noticed.
pub fn decode_certs(pem: &str) -> Result<Vec<CertificateDer<'static>>, PkiError> {
    let certs = CertificateDer::pem_slice_iter(pem.as_bytes())
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| PkiError::Parse(e.to_string()))?;
    if certs.is_empty() {
        return Err(PkiError::EmptyPem("certificate"));
    }
    Ok(certs)
}

/// Reads the first private key (PKCS#8, PKCS#1 or SEC1) of a PEM text.
pub fn decode_private_key(pem: &str) -> Result<PrivateKeyDer<'static>, PkiError> {
    PrivateKeyDer::from_pem_slice(pem.as_bytes()).map_err(|e| match e {
        rustls::pki_types::pem::Error::NoItemsFound => PkiError::EmptyPem("private key"),
        other => PkiError::Parse(other.to_string()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip() {
        let der = CertificateDer::from((0u8..=200).collect::<Vec<_>>());
        let pem = encode_certs([&der, &der]);
        assert!(pem.lines().all(|l| l.len() <= 64));
        let back = decode_certs(&pem).expect("decodes");
        assert_eq!(back, vec![der.clone(), der]);
    }

    #[test]
    fn empty_is_an_error() {
        assert!(matches!(
            decode_certs("nothing here"),
            Err(PkiError::EmptyPem(_))
        ));
        assert!(matches!(decode_private_key(""), Err(PkiError::EmptyPem(_))));
    }
}
