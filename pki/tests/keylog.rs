//! `SSLKEYLOGFILE` is honoured by both the server and the client configurations.
//!
//! This is the only test in its binary because it sets an environment variable.

mod common;

use bwlab_pki::{ClientOptions, LabPki, PkiConfig, ServerOptions, client_config, server_config};

#[tokio::test]
async fn sslkeylogfile_receives_session_secrets() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("keys.log");
    // SAFETY: this binary holds this single test, and the variable is set before any config
    // (the only reader) is built, so no other thread reads the environment concurrently.
    unsafe { std::env::set_var("SSLKEYLOGFILE", &path) };

    let pki = LabPki::generate(PkiConfig::example(common::now())).expect("generate");
    let xsp1 = pki.node("xsp1").expect("xsp1");
    let server = server_config(xsp1, &ServerOptions::default()).expect("server");
    let client = client_config(&ClientOptions::new(pki.lab_trust_bundle())).expect("client");
    let out = common::handshake(server, client, "xsp1.lab.example").await;
    out.client.expect("client");
    out.server.expect("server");

    let log = std::fs::read_to_string(&path).expect("key log written");
    // Both endpoints log the same TLS 1.3 secrets, so each label appears twice.
    assert!(
        log.matches("CLIENT_HANDSHAKE_TRAFFIC_SECRET").count() >= 2,
        "{log}"
    );
    assert!(log.contains("SERVER_TRAFFIC_SECRET_0"), "{log}");

    // Turning key logging off stops the writes.
    let before = log.len();
    let quiet_server = server_config(
        xsp1,
        &ServerOptions {
            key_log: false,
            ..ServerOptions::default()
        },
    )
    .expect("server");
    let quiet_client = client_config(&ClientOptions {
        key_log: false,
        ..ClientOptions::new(pki.lab_trust_bundle())
    })
    .expect("client");
    common::handshake(quiet_server, quiet_client, "xsp1.lab.example")
        .await
        .client
        .expect("client");
    let after = std::fs::read_to_string(&path).expect("read").len();
    assert_eq!(before, after);
}
