//! `GET /authService/token?key=…` answers the token encrypted for the caller's RSA public
//! key (JWE, RSA-OAEP-256 + A256GCM), and AuthService key pairs move between nodes through
//! PEM files (`exportKeys` / `importKeys`).

mod common;

use std::sync::Arc;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use bwlab_xsp::{
    AuthKeys, AuthServiceSettings, StaticCiValidator, XspHandle, XspNode, XspSettings,
};
use common::jwe::Caller;
use common::{Client, Lab, LabOptions, user_path};
use serde_json::Value;

const TOKEN_PATH: &str = "/authService/token";

fn validator() -> Arc<StaticCiValidator> {
    let v = StaticCiValidator::new();
    v.insert(
        "ci-alice",
        bwlab_xsp::CiIdentity {
            user: "alice@acme.example".into(),
            org_id: "11111111-2222-3333-4444-555555555555".into(),
            scopes: vec!["broadworks-connector:user".into()],
        },
    );
    Arc::new(v)
}

fn settings(keys: AuthKeys) -> XspSettings {
    XspSettings {
        authservice: Some(AuthServiceSettings::ci(keys, validator())),
        ..Default::default()
    }
}

async fn lab_with(keys: AuthKeys) -> Lab {
    Lab::start_with(LabOptions {
        settings: settings(keys),
        ..Default::default()
    })
    .await
}

async fn token_reply(c: &mut Client, query: &str) -> common::Reply {
    c.get_with(
        &format!("{TOKEN_PATH}{query}"),
        &[("authorization", "Bearer ci-alice")],
    )
    .await
}

fn json(r: &common::Reply) -> Value {
    serde_json::from_slice(&r.body).unwrap_or_else(|e| panic!("{e}: {r:?}"))
}

async fn profile_status(c: &mut Client, jwt: &str) -> u16 {
    c.get_with(
        &user_path("alice@lab.example", "profile"),
        &[("authorization", &format!("Bearer {jwt}"))],
    )
    .await
    .status
}

#[tokio::test]
async fn token_is_encrypted_for_the_callers_key() {
    let lab = lab_with(AuthKeys::new()).await;
    let mut c = lab.client().await;
    let caller = Caller::new();

    let r = token_reply(&mut c, &format!("?key={}", caller.key_param())).await;
    assert_eq!(r.status, 200, "{r:?}");
    let body = json(&r);
    assert_eq!(body["encryption"], "RSA-OAEP-256+A256GCM");
    assert_eq!(body["tokenType"], "Bearer");
    assert_eq!(body["userId"], "alice@lab.example");
    let jwe = body["token"].as_str().unwrap();
    assert_eq!(jwe.split('.').count(), 5, "{jwe}");
    // The JWE itself is no bearer token; the JWT inside it is.
    assert_eq!(profile_status(&mut c, jwe).await, 401);
    let jwt = caller.decrypt(jwe).expect("decrypts with the caller's key");
    assert_eq!(jwt.split('.').count(), 3);
    assert_eq!(profile_status(&mut c, &jwt).await, 200);
    // Nobody else can open it.
    assert!(Caller::new().decrypt(jwe).is_err());
    // Padded base64url works too; without `key` the answer is the plain JWT.
    let padded = format!("{}==", caller.key_param());
    let r = token_reply(&mut c, &format!("?key={padded}")).await;
    assert!(caller.decrypt(json(&r)["token"].as_str().unwrap()).is_ok());
    let r = token_reply(&mut c, "").await;
    let plain = json(&r);
    assert!(plain.get("encryption").is_none(), "{plain}");
    assert_eq!(plain["token"].as_str().unwrap().split('.').count(), 3);

    // Keys that are not RSA public keys, or too small, are refused before authentication.
    let small = {
        use rsa::pkcs8::EncodePublicKey;
        let k = rsa::RsaPrivateKey::new(&mut common::jwe::Rng, 1024).unwrap();
        B64.encode(
            rsa::RsaPublicKey::from(&k)
                .to_public_key_der()
                .unwrap()
                .as_bytes(),
        )
    };
    for (key, text) in [
        (B64.encode(b"client public key bytes"), "DER RSA public key"),
        (small, "1024-bit"),
        ("***".to_owned(), "base64url"),
    ] {
        let r = c.get(&format!("{TOKEN_PATH}?key={key}")).await;
        assert_eq!(r.status, 400, "{r:?}");
        assert!(r.text().contains("<ErrorInfo"), "{r:?}");
        assert!(r.text().contains(text), "{text}: {r:?}");
    }
}

/// The wrapped content key is standard RSA-OAEP with SHA-256 (and MGF1-SHA-256): OpenSSL
/// unwraps it with the caller's private key.
#[tokio::test]
async fn openssl_unwraps_the_content_key() {
    if std::process::Command::new("openssl")
        .arg("version")
        .output()
        .is_err()
    {
        println!("skip: openssl is not on PATH");
        return;
    }
    let lab = lab_with(AuthKeys::new()).await;
    let mut c = lab.client().await;
    let caller = Caller::new();
    let r = token_reply(&mut c, &format!("?key={}", caller.key_param())).await;
    let jwe = json(&r)["token"].as_str().unwrap().to_owned();
    let parts: Vec<&str> = jwe.split('.').collect();
    let dir = tempfile::tempdir().unwrap();
    let key_pem = {
        use rsa::pkcs8::EncodePrivateKey;
        caller
            .private
            .to_pkcs8_pem(rsa::pkcs8::LineEnding::LF)
            .unwrap()
            .to_string()
    };
    std::fs::write(dir.path().join("caller.pem"), key_pem).unwrap();
    std::fs::write(dir.path().join("cek.bin"), B64.decode(parts[1]).unwrap()).unwrap();
    let out = std::process::Command::new("openssl")
        .current_dir(dir.path())
        .args([
            "pkeyutl",
            "-decrypt",
            "-inkey",
            "caller.pem",
            "-in",
            "cek.bin",
            "-pkeyopt",
            "rsa_padding_mode:oaep",
            "-pkeyopt",
            "rsa_oaep_md:sha256",
            "-pkeyopt",
            "rsa_mgf1_md:sha256",
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(out.stdout.len(), 32, "a 256-bit AES key");
}

async fn node(lab: &Lab, name: &str, keys: AuthKeys) -> XspHandle {
    let mut s = settings(keys);
    s.client_trust_anchors = lab.pki.webex_trust_anchors();
    XspNode::builder(name)
        .identity(lab.pki.node("xsp1").unwrap().clone())
        .store(lab.store.clone())
        .profile(
            bwlab_profiles::Profiles::builtin()
                .get("r24")
                .unwrap()
                .clone(),
        )
        .journal(lab.journal.clone())
        .clock(lab.clock.clone())
        .settings(s)
        .start()
        .await
        .unwrap()
}

/// Node A exports its pair to a PEM file; node B imports it and accepts A's tokens; node C
/// with its own pair refuses them. A file that is not a key is refused with its name.
#[tokio::test]
async fn key_pair_shared_through_a_pem_file() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("authService.keys");
    let (keys_a, created) = AuthKeys::load_or_create(&file).unwrap();
    assert!(created);
    assert!(
        std::fs::read_to_string(&file)
            .unwrap()
            .starts_with("-----BEGIN PRIVATE KEY-----")
    );
    let lab = lab_with(keys_a).await;
    let mut a = lab.client().await;
    let jwt = json(&token_reply(&mut a, "").await)["token"]
        .as_str()
        .unwrap()
        .to_owned();

    let b = node(&lab, "xsp2", AuthKeys::import_pem_file(&file).unwrap()).await;
    let mut cb = Client::connect(b.https_addr(), lab.client_config(None))
        .await
        .unwrap();
    assert_eq!(profile_status(&mut cb, &jwt).await, 200);
    let c = node(&lab, "xsp3", AuthKeys::new()).await;
    let mut cc = Client::connect(c.https_addr(), lab.client_config(None))
        .await
        .unwrap();
    assert_eq!(profile_status(&mut cc, &jwt).await, 401);

    let junk = dir.path().join("junk.keys");
    std::fs::write(&junk, "not a key").unwrap();
    let e = AuthKeys::import_pem_file(&junk).unwrap_err();
    assert!(e.contains("junk.keys") && e.contains("PEM"), "{e}");
    assert!(AuthKeys::import_pem_file(&dir.path().join("missing")).is_err());
}
