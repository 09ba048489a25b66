//! The reference clients against a real lab: the Webex App's discovery, channel,
//! heartbeat rule and no fail-back; the cloud microservice's first IP, tries and blocked
//! list. Paused tokio time throughout: the lab's timers and the clients' run together, and
//! nothing sleeps to synchronise — the journal says when something happened.

use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use bwlab::core::{Entry, Filter, Kind};
use bwlab::dns::{RecordData, Srv};
use bwlab::net::faults::{Toxic, ToxicRule};
use bwlab::net::http_faults::{HttpFaultAction, HttpFaultRule};
use bwlab::pki::{BadCert, CaId};
use bwlab::reference::{
    AppLogin, Auth, CloudClient, CloudClientOptions, CloudError, CtiOptions, TlsVersion, WebexApp,
    WebexAppError, WebexAppOptions,
};
use bwlab::xsp::XspEventFault;
use bwlab::{Lab, XspLayout};

const ALICE_PW: &str = "Alice-pw1";
const PROFILE: &str = "user/alice@lab.example/profile";

fn sut_app(action: &str) -> Filter {
    Filter::kind(Kind::Sut)
        .node("webex-app")
        .attr("action", action)
}

fn sut_cloud(action: &str) -> Filter {
    Filter::kind(Kind::Sut)
        .node("webex-cloud")
        .attr("action", action)
}

/// The first entry matching `filter`; on a miss, the client's journal lines for the
/// failure message.
async fn wait(lab: &Lab, filter: &Filter) -> Arc<Entry> {
    match lab
        .journal()
        .wait_for(filter, Duration::from_secs(600))
        .await
    {
        Some(e) => e,
        None => {
            let lines: Vec<String> = lab
                .journal()
                .query(&Filter::kind(Kind::Sut))
                .iter()
                .map(|e| e.to_string())
                .collect();
            panic!("no entry for {filter:?}; SUT lines:\n{}", lines.join("\n"))
        }
    }
}

fn ip_of(lab: &Lab, node: &str) -> IpAddr {
    lab.xsp(node).unwrap().https_addr().ip()
}

// ----- Webex App ------------------------------------------------------------------------

/// Sign-in: SRV discovery (priority 10 first), channel on xsp1 with the cookie, the
/// packages subscribed, a call's events received and acknowledged, heartbeats on xsp1.
#[tokio::test(start_paused = true)]
async fn app_signs_in_on_xsp1_and_follows_a_call() {
    let lab = Lab::builder().start().await.unwrap();
    let app = WebexApp::sign_in(&lab, "alice", ALICE_PW, WebexAppOptions::default())
        .await
        .unwrap();
    assert_eq!(app.user(), "alice@lab.example");
    let hosts: Vec<(&str, u16)> = app
        .hosts()
        .iter()
        .map(|h| (h.name.as_str(), h.priority))
        .collect();
    assert_eq!(hosts, [("xsp1.lab.example", 10), ("xsp2.lab.example", 20)]);
    assert_eq!(app.hosts()[0].addr, lab.xsp("xsp1").unwrap().https_addr());
    assert_eq!(app.current_host().as_deref(), Some("xsp1.lab.example"));
    assert_eq!(app.current_node().as_deref(), Some("xsp1"));
    let channel = app.channel_id().expect("a channel");

    let opened = wait(&lab, &sut_app("channel-opened")).await;
    assert_eq!(opened.attr("xsp"), Some("xsp1"));
    assert_eq!(opened.attr("channel"), Some(channel.as_str()));
    // The Webex login: Bearer JWT, so no Basic session cookie to carry.
    assert!(opened.attr("cookie").is_some());
    let subscribed = lab.journal().query(&sut_app("subscribed"));
    let packages: Vec<&str> = subscribed
        .iter()
        .filter_map(|e| e.attr("package"))
        .collect();
    assert_eq!(packages, ["Advanced Call", "Do Not Disturb"]);

    let (_call, script) = lab
        .call("bob", "alice")
        .answer_after(Duration::from_secs(2))
        .release_after(Duration::from_secs(3))
        .start()
        .unwrap();
    script.await.unwrap();
    let released = wait(
        &lab,
        &sut_app("event").attr("event_type", "CallReleasedEvent"),
    )
    .await;
    assert_eq!(released.attr("xsp"), Some("xsp1"));
    assert_eq!(released.attr("channel"), Some(channel.as_str()));
    let calls: Vec<String> = app
        .event_types()
        .into_iter()
        .filter(|t| t.starts_with("Call") && t != "CallSubscriptionEvent")
        .collect();
    assert_eq!(
        calls,
        [
            "CallReceivedEvent",
            "CallAnsweredEvent",
            "CallReleasedEvent"
        ]
    );
    // Every event acknowledged, on the host of the channel.
    let events = lab.journal().query(&sut_app("event"));
    assert_eq!(events.len() as u64, app.events_received());
    assert!(events.iter().all(|e| e.attr("ack") == Some("ok")));
    assert_eq!(lab.app_server().stats().ack_timeouts, 0);

    // Heartbeats every 15 s on xsp1, answered.
    let second = wait(
        &lab,
        &sut_app("heartbeat").since(wait(&lab, &sut_app("heartbeat")).await.seq + 1),
    )
    .await;
    assert_eq!(second.attr("xsp"), Some("xsp1"));
    assert_eq!(second.attr("outcome"), Some("ok"));
    assert!(app.heartbeats_ok() >= 2);
    assert_eq!(app.reinitialisations(), 0);

    app.stop().await;
    wait(&lab, &sut_app("signed-out")).await;
    lab.shutdown().await;
}

/// Two consecutive heartbeat failures (xsp1 resets every connection) re-initialise the
/// channel on the next host, in the same channel set and without subscribing again; the
/// events follow. When xsp1 recovers the App stays on xsp2, and DNS is not asked again.
#[tokio::test(start_paused = true)]
async fn two_heartbeat_failures_move_the_channel_to_xsp2_without_fail_back() {
    let lab = Lab::builder().start().await.unwrap();
    let app = WebexApp::sign_in(&lab, "alice", ALICE_PW, WebexAppOptions::default())
        .await
        .unwrap();
    assert_eq!(app.current_node().as_deref(), Some("xsp1"));
    let first_channel = app.channel_id().unwrap();
    let srv_queries = || {
        lab.journal()
            .query(&Filter::kind(Kind::Dns).attr("qtype", "SRV"))
            .len()
    };
    assert_eq!(srv_queries(), 1, "one SRV query at sign-in");

    let xsp1 = lab.xsp("xsp1").unwrap();
    let since = lab.journal().next_seq();
    let reset = xsp1
        .net_faults()
        .add(ToxicRule::new(Toxic::ResetPeer { timeout: 0 }));

    let reinit = wait(&lab, &sut_app("channel-reinitialised").since(since)).await;
    assert_eq!(reinit.attr("xsp"), Some("xsp2"), "{reinit}");
    assert_eq!(reinit.attr("host"), Some("xsp2.lab.example"));
    assert_eq!(reinit.attr("previous_host"), Some("xsp1.lab.example"));
    let failures = lab
        .journal()
        .query(&sut_app("heartbeat-failed").since(since));
    let consecutive: Vec<(&str, &str, &str)> = failures
        .iter()
        .map(|e| {
            (
                e.attr("xsp").unwrap(),
                e.attr("consecutive").unwrap(),
                e.attr("failure").unwrap(),
            )
        })
        .collect();
    assert_eq!(
        consecutive,
        [("xsp1", "1", "host"), ("xsp1", "2", "host")],
        "re-initialised after exactly two failures"
    );
    assert!(failures[1].seq < reinit.seq);
    // The channel set is the same; the subscriptions survived (they live in the AS).
    let opened = wait(&lab, &sut_app("channel-opened").since(since)).await;
    assert_eq!(opened.attr("xsp"), Some("xsp2"));
    assert_eq!(opened.attr("channel_set"), Some("webex-app-alice"));
    assert!(
        lab.journal()
            .query(&sut_app("subscribed").since(since))
            .is_empty()
    );
    assert_eq!(app.current_node().as_deref(), Some("xsp2"));
    assert_ne!(app.channel_id().unwrap(), first_channel);
    assert_eq!(app.reinitialisations(), 1);

    // Events keep coming, now on xsp2.
    let (_call, script) = lab
        .call("bob", "alice")
        .answer_after(Duration::from_secs(2))
        .release_after(Duration::from_secs(3))
        .start()
        .unwrap();
    script.await.unwrap();
    let released = wait(
        &lab,
        &sut_app("event")
            .attr("event_type", "CallReleasedEvent")
            .since(since),
    )
    .await;
    assert_eq!(released.attr("xsp"), Some("xsp2"));
    assert_eq!(released.attr("ack"), Some("ok"));

    // xsp1 recovers: a minute of heartbeats later the App is still on xsp2.
    assert!(xsp1.net_faults().remove(reset));
    let recovered = lab.journal().next_seq();
    let mut from = recovered;
    for _ in 0..4 {
        let hb = wait(&lab, &sut_app("heartbeat").since(from)).await;
        assert_eq!(hb.attr("xsp"), Some("xsp2"), "{hb}");
        from = hb.seq + 1;
    }
    assert!(
        lab.journal()
            .query(&sut_app("channel-opened").since(recovered))
            .is_empty(),
        "no fail-back"
    );
    assert_eq!(app.current_node().as_deref(), Some("xsp2"));
    assert_eq!(
        srv_queries(),
        1,
        "DNS is not asked again before a new sign-in"
    );

    app.stop().await;
    lab.shutdown().await;
}

/// Heartbeats swallowed by xsp1 (answered 200, no effect): the XSP closes the channel after
/// `eventTimeout`, the next heartbeats find it gone (404), and after two of those the App
/// re-initialises — on the same host, which answers fine.
#[tokio::test(start_paused = true)]
async fn dropped_heartbeats_reinitialise_the_channel_on_the_same_host() {
    let lab = Lab::builder().start().await.unwrap();
    let app = WebexApp::sign_in(&lab, "alice", ALICE_PW, WebexAppOptions::default())
        .await
        .unwrap();
    let first_channel = app.channel_id().unwrap();
    let since = lab.journal().next_seq();
    lab.xsp("xsp1")
        .unwrap()
        .inject_event_fault(XspEventFault::DropHeartbeats { channel: None })
        .unwrap();

    let reinit = wait(&lab, &sut_app("channel-reinitialised").since(since)).await;
    assert_eq!(reinit.attr("xsp"), Some("xsp1"), "{reinit}");
    let failures = lab
        .journal()
        .query(&sut_app("heartbeat-failed").since(since));
    assert_eq!(failures.len(), 2);
    for (i, f) in failures.iter().enumerate() {
        assert_eq!(f.attr("failure"), Some("channel"), "{f}");
        assert_eq!(f.attr("consecutive"), Some((i + 1).to_string().as_str()));
        assert!(f.attr("error").unwrap().contains("404"), "{f}");
    }
    // The XSP closed the first channel for want of heartbeats.
    let closed = Filter::kind(Kind::Event)
        .node("xsp1")
        .attr("channel", first_channel.as_str())
        .attr("reason", "heartbeat timeout");
    assert!(!lab.journal().query(&closed).is_empty());
    assert_ne!(app.channel_id().unwrap(), first_channel);
    app.stop().await;
    lab.shutdown().await;
}

/// xsp1 unreachable at sign-in: the App moves to the next SRV host at once.
#[tokio::test(start_paused = true)]
async fn app_skips_a_failing_host_at_sign_in() {
    let lab = Lab::builder().start().await.unwrap();
    lab.xsp("xsp1")
        .unwrap()
        .net_faults()
        .add(ToxicRule::new(Toxic::ResetPeer { timeout: 0 }));
    let start = tokio::time::Instant::now();
    // Basic login: the lab's IdP proxy checks credentials on xsp1 only, which is down here.
    let opts = WebexAppOptions {
        login: AppLogin::XsiBasic,
        ..WebexAppOptions::default()
    };
    let app = WebexApp::sign_in(&lab, "alice", ALICE_PW, opts)
        .await
        .unwrap();
    assert!(start.elapsed() < Duration::from_secs(1), "no waiting");
    assert_eq!(app.current_node().as_deref(), Some("xsp2"));
    let failed = wait(&lab, &sut_app("host-failed")).await;
    assert_eq!(failed.attr("xsp"), Some("xsp1"));
    assert_eq!(failed.attr("failure"), Some("host"));
    app.stop().await;
    lab.shutdown().await;
}

/// No SRV for the Xsi host: its A record, one address. A wrong password is a refusal, not a
/// host failure: sign-in fails without trying the other hosts.
#[tokio::test(start_paused = true)]
async fn app_falls_back_to_the_a_record_and_reports_a_refusal() {
    let lab = Lab::builder().start().await.unwrap();
    let opts = WebexAppOptions {
        xsi_host: Some("xsp2.lab.example".into()),
        login: AppLogin::XsiBasic,
        ..WebexAppOptions::default()
    };
    let app = WebexApp::sign_in(&lab, "alice", ALICE_PW, opts)
        .await
        .unwrap();
    assert_eq!(app.hosts().len(), 1);
    assert_eq!(app.current_node().as_deref(), Some("xsp2"));
    wait(&lab, &sut_app("srv-missing")).await;
    // Basic credentials: the XSP's session cookie is carried on every command.
    let opened = wait(&lab, &sut_app("channel-opened")).await;
    assert_eq!(opened.attr("cookie"), Some("yes"));
    app.stop().await;

    let basic = WebexAppOptions {
        login: AppLogin::XsiBasic,
        ..WebexAppOptions::default()
    };
    match WebexApp::sign_in(&lab, "alice", "wrong", basic).await {
        Err(WebexAppError::Refused { host, .. }) => assert_eq!(host, "xsp1.lab.example"),
        Err(e) => panic!("{e}"),
        Ok(_) => panic!("signed in with a wrong password"),
    }
    // The Webex login: the IdP proxy refuses before any Xsi-Events request.
    match WebexApp::sign_in(&lab, "alice", "wrong", WebexAppOptions::default()).await {
        Err(WebexAppError::LoginRefused { status, message }) => {
            assert_eq!(status, 401);
            assert!(message.contains("Error code 100006"), "{message}");
        }
        Err(e) => panic!("{e}"),
        Ok(_) => panic!("signed in with a wrong password"),
    }
    lab.shutdown().await;
}

// ----- cloud microservice ---------------------------------------------------------------

/// First IP of the A record; xsp1 resetting → blocked, xsp2 at once in the same request;
/// later requests skip xsp1; a 4xx is an answer (no further try, nothing blocked).
#[tokio::test(start_paused = true)]
async fn cloud_client_fails_over_and_blocks_the_failed_ip() {
    let lab = Lab::builder().start().await.unwrap();
    let (ip1, ip2) = (ip_of(&lab, "xsp1"), ip_of(&lab, "xsp2"));
    assert_ne!(ip1, ip2, "the default plan gives each node its own address");
    let client = CloudClient::new(&lab, CloudClientOptions::default());
    assert_eq!(client.host(), "xsp.lab.example");
    let alice = Auth::basic("alice@lab.example", ALICE_PW);

    let r = client.get(PROFILE, &alice).await.unwrap();
    assert_eq!((r.status, r.ip, r.tries), (200, ip1, 1), "{}", r.text());
    assert!(r.text().contains("<Profile"), "{}", r.text());

    let reset = lab
        .xsp("xsp1")
        .unwrap()
        .net_faults()
        .add(ToxicRule::new(Toxic::ResetPeer { timeout: 0 }));
    let since = lab.journal().next_seq();
    let r = client.get(PROFILE, &alice).await.unwrap();
    assert_eq!((r.status, r.ip, r.tries), (200, ip2, 2));
    let blocked = wait(&lab, &sut_cloud("blocked").since(since)).await;
    assert_eq!(blocked.attr("ip"), Some(ip1.to_string().as_str()));
    assert_eq!(blocked.attr("xsp"), Some("xsp1"));
    assert_eq!(client.blocked(), [ip1]);

    // Blocked: xsp1 is not even tried, though it has recovered.
    lab.xsp("xsp1").unwrap().net_faults().remove(reset);
    let r = client.get(PROFILE, &alice).await.unwrap();
    assert_eq!((r.ip, r.tries), (ip2, 1));

    // A 4xx reaches the caller at once and blocks nothing.
    let r = client
        .get(PROFILE, &Auth::basic("alice@lab.example", "wrong"))
        .await
        .unwrap();
    assert_eq!((r.status, r.tries), (401, 1));
    let r = client
        .get(PROFILE, &Auth::bearer("not-a-token"))
        .await
        .unwrap();
    assert_eq!((r.status, r.tries), (401, 1));
    assert_eq!(client.blocked(), [ip1]);

    // The block expires: the first IP is used again.
    tokio::time::sleep(CloudClientOptions::default().block_for).await;
    let r = client.get(PROFILE, &alice).await.unwrap();
    assert_eq!((r.ip, r.tries), (ip1, 1));
    assert!(client.blocked().is_empty());
    wait(&lab, &sut_cloud("block-expired")).await;
    lab.shutdown().await;
}

/// No answer within 2 s counts as a failure: blocked, next IP.
#[tokio::test(start_paused = true)]
async fn cloud_client_gives_each_try_two_seconds() {
    let lab = Lab::builder().start().await.unwrap();
    let (ip1, ip2) = (ip_of(&lab, "xsp1"), ip_of(&lab, "xsp2"));
    let client = CloudClient::new(&lab, CloudClientOptions::default());
    lab.xsp("xsp1")
        .unwrap()
        .net_faults()
        .add(ToxicRule::new(Toxic::Timeout { timeout: 0 }));
    let start = tokio::time::Instant::now();
    let r = client
        .get(PROFILE, &Auth::basic("alice@lab.example", ALICE_PW))
        .await
        .unwrap();
    let took = start.elapsed();
    assert_eq!((r.status, r.ip, r.tries), (200, ip2, 2));
    assert!(
        took >= Duration::from_secs(2) && took < Duration::from_secs(3),
        "{took:?}"
    );
    let blocked = wait(&lab, &sut_cloud("blocked")).await;
    assert_eq!(blocked.attr("ip"), Some(ip1.to_string().as_str()));
    assert!(blocked.attr("error").unwrap().contains("no answer"));
    lab.shutdown().await;
}

/// Every IP failing: three tries (the last two random picks among blocked IPs), then the
/// error reaches the caller. Once a node answers again, a random pick that hits it
/// unblocks it.
#[tokio::test(start_paused = true)]
async fn cloud_client_picks_a_blocked_ip_at_random_when_all_are_blocked() {
    let lab = Lab::builder().start().await.unwrap();
    let ips = [ip_of(&lab, "xsp1"), ip_of(&lab, "xsp2")];
    let client = CloudClient::new(&lab, CloudClientOptions::default());
    let alice = Auth::basic("alice@lab.example", ALICE_PW);
    let faults: Vec<_> = ["xsp1", "xsp2"]
        .iter()
        .map(|n| {
            let f = lab.xsp(n).unwrap().net_faults();
            (*n, f.add(ToxicRule::new(Toxic::ResetPeer { timeout: 0 })))
        })
        .collect();

    match client.get(PROFILE, &alice).await {
        Err(CloudError::Failed { tries, .. }) => assert_eq!(tries, 3),
        other => panic!("expected the error after three tries: {other:?}"),
    }
    let tried: Vec<String> = lab
        .journal()
        .query(&sut_cloud("blocked"))
        .iter()
        .map(|e| e.attr("xsp").unwrap().to_owned())
        .collect();
    assert_eq!(tried.len(), 3);
    assert_eq!(&tried[..2], ["xsp1", "xsp2"], "first IP, then the next");
    assert_eq!(lab.journal().query(&sut_cloud("random-pick")).len(), 1);
    wait(&lab, &sut_cloud("failed")).await;
    assert_eq!(client.blocked().len(), 2);

    // Both recover; every IP is still blocked, so a random one is tried — and unblocked.
    for (n, id) in faults {
        lab.xsp(n).unwrap().net_faults().remove(id);
    }
    let since = lab.journal().next_seq();
    let r = client.get(PROFILE, &alice).await.unwrap();
    assert_eq!((r.status, r.tries), (200, 1));
    assert!(ips.contains(&r.ip));
    let pick = wait(&lab, &sut_cloud("random-pick").since(since)).await;
    assert_eq!(pick.attr("ip"), Some(r.ip.to_string().as_str()));
    let unblocked = wait(&lab, &sut_cloud("unblocked").since(since)).await;
    assert_eq!(unblocked.attr("ip"), Some(r.ip.to_string().as_str()));
    assert_eq!(client.blocked().len(), 1);
    assert!(!client.blocked().contains(&r.ip));
    lab.shutdown().await;
}

// ----- Webex sign-in path -----------------------------------------------------------------

/// Sets alice's password to expire at `now + offset` (negative: expired).
fn expire_alice(lab: &Lab, offset: time::Duration) {
    let store = lab.data();
    let alice = store.find_user("alice@lab.example").unwrap();
    store
        .set_password_expiry(alice.idx, Some(store.now() + offset))
        .unwrap();
}

/// The Webex login: credentials to the IdP proxy, a CI token, a BroadWorks token from
/// AuthService (the XSP journals it), then the channel and heartbeats with that token.
#[tokio::test(start_paused = true)]
async fn app_webex_login_gets_a_broadworks_token_and_uses_it() {
    let lab = Lab::builder().start().await.unwrap();
    let app = WebexApp::sign_in(&lab, "alice", ALICE_PW, WebexAppOptions::default())
        .await
        .unwrap();
    let login = wait(&lab, &sut_app("idp-login")).await;
    let token = wait(&lab, &sut_app("token")).await;
    assert!(login.seq < token.seq);
    // AuthService issued alice's token (what `token: {user: alice}` matches).
    let issued = wait(
        &lab,
        &Filter::kind(Kind::Http)
            .attr("token", "issued")
            .attr("sub", "alice@lab.example"),
    )
    .await;
    assert_eq!(issued.node.as_ref(), "xsp1");
    let opened = wait(&lab, &sut_app("channel-opened")).await;
    assert!(token.seq < opened.seq);
    assert_eq!(opened.attr("xsp"), Some("xsp1"));
    // The heartbeats authenticate with the JWT (no Basic credentials anywhere).
    let hb = wait(&lab, &sut_app("heartbeat")).await;
    assert_eq!(hb.attr("outcome"), Some("ok"));
    assert!(app.heartbeats_ok() >= 1);
    app.stop().await;
    lab.shutdown().await;
}

/// Expired password with `enforcePasswordChangeOnExpiry`: the IdP proxy's 100006 text is
/// journalled and sign-in fails before any Xsi-Events request.
#[tokio::test(start_paused = true)]
async fn app_login_with_an_expired_enforced_password_is_refused() {
    let lab = Lab::builder().start().await.unwrap();
    lab.data().set_enforce_password_change_on_expiry(true);
    expire_alice(&lab, -time::Duration::days(3));
    match WebexApp::sign_in(&lab, "alice", ALICE_PW, WebexAppOptions::default()).await {
        Err(WebexAppError::LoginRefused { status, message }) => {
            assert_eq!(status, 401);
            assert!(message.contains("Error code 100006"), "{message}");
        }
        Err(e) => panic!("{e}"),
        Ok(_) => panic!("signed in with an expired password"),
    }
    let refused = wait(&lab, &sut_app("login-refused")).await;
    assert!(refused.summary.contains("Error code 100006"), "{refused}");
    assert!(lab.journal().query(&sut_app("channel-opened")).is_empty());
    lab.shutdown().await;
}

/// A password expiring within the warning period: signed in, with the warning journalled.
#[tokio::test(start_paused = true)]
async fn app_login_warns_when_the_password_expires_soon() {
    let lab = Lab::builder().start().await.unwrap();
    expire_alice(&lab, time::Duration::days(7) + time::Duration::hours(12));
    let app = WebexApp::sign_in(&lab, "alice", ALICE_PW, WebexAppOptions::default())
        .await
        .unwrap();
    let warning = wait(&lab, &sut_app("password-warning")).await;
    assert!(
        warning.summary.contains("password expires in 7 days"),
        "{warning}"
    );
    app.stop().await;
    lab.shutdown().await;
}

/// Expired but not enforced: allowed by BroadWorks, refused by the IdP proxy when the
/// Webex flag is on for the partner — "password expired 3 days ago".
#[tokio::test(start_paused = true)]
async fn cloud_sign_in_with_the_expiry_flag_on_refuses_an_expired_password() {
    let lab = Lab::builder().start().await.unwrap();
    expire_alice(&lab, -time::Duration::days(3) - time::Duration::hours(1));
    let client = CloudClient::new(&lab, CloudClientOptions::default());
    // Flag off: allowed.
    let ok = client.sign_in("alice", ALICE_PW).await.unwrap();
    assert!(!ok.bw_token.is_empty());
    lab.cloud().set_password_expiry_fail_login(None, true);
    match client.sign_in("alice", ALICE_PW).await {
        Err(CloudError::LoginRefused { status, message }) => {
            assert_eq!(status, 401);
            assert!(message.contains("password expired 3 days ago"), "{message}");
        }
        other => panic!("expected a refusal: {other:?}"),
    }
    let refused = wait(&lab, &sut_cloud("login-refused")).await;
    assert!(
        refused.summary.contains("password expired 3 days ago"),
        "{refused}"
    );
    lab.shutdown().await;
}

// ----- one SRV target, several addresses ---------------------------------------------------

/// The App's SRV target resolves to both XSPs: every new connection asks DNS again and
/// takes a (seeded) random address, so commands land on the XSP that does not host the
/// channel, which refuses them and tears the channel down; heartbeats get 404 and the App
/// re-initialises.
#[tokio::test(start_paused = true)]
async fn app_heartbeat_on_another_address_of_its_srv_target_gets_404() {
    let lab = Lab::builder().start().await.unwrap();
    let port = lab.xsp("xsp1").unwrap().https_addr().port();
    lab.dns()
        .records()
        .add(
            "_xsi-client._tcp.rr.lab.example",
            RecordData::Srv(Srv::new(10, 10, port, "xsp.lab.example")),
        )
        .unwrap();
    let opts = WebexAppOptions {
        xsi_host: Some("rr.lab.example".into()),
        seed: 7,
        ..WebexAppOptions::default()
    };
    let app = WebexApp::sign_in(&lab, "alice", ALICE_PW, opts)
        .await
        .unwrap();
    assert_eq!(app.hosts().len(), 1, "one host per SRV target");
    assert_eq!(app.hosts()[0].addrs.len(), 2);
    let failed = wait(&lab, &sut_app("heartbeat-failed")).await;
    assert!(failed.attr("error").unwrap().contains("404"), "{failed}");
    assert_eq!(failed.attr("status"), Some("404"));
    // The XSP that answered 404 journalled a heartbeat request with that status: what
    // `heartbeat: {user: alice, status: 404}` matches.
    let refused: Vec<_> = lab
        .journal()
        .query(&Filter::kind(Kind::Http).attr("status", "404"))
        .into_iter()
        .filter(|e| e.attr("path").is_some_and(|p| p.ends_with("/heartbeat")))
        .collect();
    assert!(!refused.is_empty());
    let picked: std::collections::HashSet<String> = lab
        .journal()
        .query(&sut_app("address-picked"))
        .iter()
        .map(|e| e.attr("xsp").unwrap().to_owned())
        .collect();
    assert_eq!(picked.len(), 2, "both addresses used: {picked:?}");
    wait(&lab, &sut_app("channel-reinitialised")).await;
    app.stop().await;
    lab.shutdown().await;
}

// ----- redirects --------------------------------------------------------------------------

/// A redirect is never followed: the App counts the host as failed and opens the channel
/// on the next one; the cloud client blocks the address and tries the next.
#[tokio::test(start_paused = true)]
async fn redirects_are_not_followed() {
    let lab = Lab::builder().start().await.unwrap();
    let (ip1, ip2) = (ip_of(&lab, "xsp1"), ip_of(&lab, "xsp2"));
    lab.xsp("xsp1")
        .unwrap()
        .http_faults()
        .add(HttpFaultRule::new(HttpFaultAction::Redirect {
            location: "https://elsewhere.lab.example/".into(),
            status: 302,
        }));
    let opts = WebexAppOptions {
        login: AppLogin::XsiBasic,
        ..WebexAppOptions::default()
    };
    let app = WebexApp::sign_in(&lab, "alice", ALICE_PW, opts)
        .await
        .unwrap();
    assert_eq!(app.current_node().as_deref(), Some("xsp2"));
    let failed = wait(&lab, &sut_app("host-failed")).await;
    assert!(failed.summary.contains("redirect"), "{failed}");
    app.stop().await;

    let client = CloudClient::new(&lab, CloudClientOptions::default());
    let r = client
        .get(PROFILE, &Auth::basic("alice@lab.example", ALICE_PW))
        .await
        .unwrap();
    assert_eq!((r.status, r.ip, r.tries), (200, ip2, 2));
    let blocked = wait(&lab, &sut_cloud("blocked")).await;
    assert_eq!(blocked.attr("ip"), Some(ip1.to_string().as_str()));
    assert!(blocked.summary.contains("redirect"), "{blocked}");
    assert!(
        blocked.summary.contains("https://elsewhere.lab.example/"),
        "{blocked}"
    );
    lab.shutdown().await;
}

// ----- cloud microservice: AuthService, polling, CTI, TLS ---------------------------------

/// A release with CI token validation: the user's CI token goes to the TLS farm's
/// AuthService, which issues the BroadWorks token.
#[tokio::test(start_paused = true)]
async fn cloud_sign_in_uses_ci_token_validation_on_r24() {
    let lab = Lab::builder().profile("r24").start().await.unwrap();
    let client = CloudClient::new(&lab, CloudClientOptions::default());
    let s = client.sign_in("alice", ALICE_PW).await.unwrap();
    assert_eq!(s.mode, "ci");
    assert_eq!(s.node.as_deref(), Some("xsp1"));
    let issued = wait(
        &lab,
        &Filter::kind(Kind::Http)
            .node("xsp1")
            .attr("token", "issued")
            .attr("mode", "ci"),
    )
    .await;
    assert_eq!(issued.attr("sub"), Some("alice@lab.example"));
    // The token works for Xsi-Actions.
    let r = client
        .get(PROFILE, &Auth::bearer(s.bw_token))
        .await
        .unwrap();
    assert_eq!(r.status, 200);
    lab.shutdown().await;
}

/// Without CI token validation (`r22-unpatched`) the microservice goes to the mTLS
/// AuthService of the mTLS farm with the Webex client certificate, which issues the token.
#[tokio::test(start_paused = true)]
async fn cloud_sign_in_uses_the_mtls_authservice_without_ci_validation() {
    let lab = Lab::builder()
        .profile("r22-unpatched")
        .xsp_layout(XspLayout::Option2)
        .start()
        .await
        .unwrap();
    let client = CloudClient::new(&lab, CloudClientOptions::default());
    let since = lab.journal().next_seq();
    let result = client.sign_in("alice", ALICE_PW).await;
    // The request reached an mTLS-farm node's AuthService (with the client certificate).
    let asked: Vec<_> = lab
        .journal()
        .query(
            &Filter::kind(Kind::Http)
                .attr("token", "issued")
                .since(since),
        )
        .into_iter()
        .chain(
            lab.journal().query(
                &Filter::kind(Kind::Http)
                    .attr("token", "refused")
                    .since(since),
            ),
        )
        .collect();
    assert!(!asked.is_empty());
    assert!(
        asked.iter().all(|e| e.node.starts_with("xsp-mtls")),
        "{asked:?}"
    );
    let s = result.unwrap();
    assert_eq!(s.mode, "mtls");
    assert!(s.node.as_deref().unwrap().starts_with("xsp-mtls"), "{s:?}");
    let issued = wait(
        &lab,
        &Filter::kind(Kind::Http)
            .attr("token", "issued")
            .attr("mode", "mtls"),
    )
    .await;
    assert!(issued.node.starts_with("xsp-mtls"), "{issued}");
    assert_eq!(issued.attr("sub"), Some("alice@lab.example"));
    assert!(
        lab.journal()
            .query(&sut_cloud("mtls-auth-misconfigured"))
            .is_empty()
    );

    // The mTLS farm no longer trusts the Webex client CA: the handshake fails, and the
    // microservice reports the misconfiguration.
    for (name, x) in lab.xsps().filter(|(n, _)| n.starts_with("xsp-mtls")) {
        let anchors = lab
            .pki()
            .trust_anchors_without(&x.client_trust_anchors(), CaId::WebexClient);
        x.set_client_trust_anchors(Some(anchors))
            .unwrap_or_else(|e| panic!("{name}: {e}"));
    }
    let since = lab.journal().next_seq();
    match client.sign_in("alice", ALICE_PW).await {
        Err(CloudError::Failed { .. }) => {}
        other => panic!("expected the mTLS AuthService to fail: {other:?}"),
    }
    let line = wait(&lab, &sut_cloud("mtls-auth-misconfigured").since(since)).await;
    assert!(line.summary.contains("mTLS Auth Misconfigured"), "{line}");
    lab.shutdown().await;
}

/// The CTI channel with the Webex client certificate opens; with a certificate lacking
/// the BroadWorks EKU OID the XSP refuses it, the client journals why, and the XSP sees no
/// Xsi-Events request.
#[tokio::test(start_paused = true)]
async fn cloud_cti_channel_needs_the_right_client_certificate() {
    let lab = Lab::builder()
        .xsp_layout(XspLayout::Option2)
        .start()
        .await
        .unwrap();
    let good = CloudClient::new(
        &lab,
        CloudClientOptions {
            poll_interval: None,
            cti: Some(CtiOptions::default()),
            ..CloudClientOptions::default()
        },
    );
    let runner = good.start("alice", None);
    let opened = wait(&lab, &sut_cloud("cti-channel-opened")).await;
    assert!(
        opened.attr("xsp").unwrap().starts_with("xsp-mtls"),
        "{opened}"
    );
    wait(&lab, &sut_cloud("cti-subscribed")).await;
    assert!(runner.cti_open());
    runner.stop().await;

    let since = lab.journal().next_seq();
    let bad = CloudClient::new(
        &lab,
        CloudClientOptions {
            poll_interval: None,
            cti: Some(CtiOptions {
                bad_certificate: Some(BadCert::ClientNoEkuOid),
                ..CtiOptions::default()
            }),
            ..CloudClientOptions::default()
        },
    );
    let runner = bad.start("alice", None);
    let refused = wait(&lab, &sut_cloud("cti-refused").since(since)).await;
    assert!(refused.summary.contains("certificate"), "{refused}");
    let events: Vec<_> = lab
        .journal()
        .query(&Filter::kind(Kind::Http).since(since))
        .into_iter()
        .filter(|e| e.attr("path").is_some_and(|p| p.contains("xsi-events")))
        .collect();
    assert!(events.is_empty(), "{events:?}");
    assert!(!runner.cti_open());
    runner.stop().await;
    lab.shutdown().await;
}

/// A client that offers at most TLS 1.1: the XSP answers the ClientHello with a
/// protocol_version alert, the client journals it and never sends its HTTP request.
#[tokio::test(start_paused = true)]
async fn cloud_client_limited_to_tls_1_1_is_refused() {
    let lab = Lab::builder().start().await.unwrap();
    let client = CloudClient::new(
        &lab,
        CloudClientOptions {
            tls_max_version: Some(TlsVersion::V1_1),
            ..CloudClientOptions::default()
        },
    );
    let since = lab.journal().next_seq();
    match client
        .get(PROFILE, &Auth::basic("alice@lab.example", ALICE_PW))
        .await
    {
        Err(CloudError::Failed { tries, last }) => {
            assert_eq!(tries, 3);
            assert!(last.contains("protocol version"), "{last}");
        }
        other => panic!("expected a TLS failure: {other:?}"),
    }
    let blocked = wait(&lab, &sut_cloud("blocked").since(since)).await;
    assert!(blocked.summary.contains("protocol version"), "{blocked}");
    // Sign-in fails the same way at the IdP proxy.
    assert!(client.sign_in("alice", ALICE_PW).await.is_err());
    let requests = lab
        .journal()
        .query(&Filter::kind(Kind::Http).since(since))
        .into_iter()
        .filter(|e| e.attr("path").is_some())
        .count();
    assert_eq!(requests, 0, "no HTTP request reached any server");

    // TLS 1.2 as the maximum works.
    let client = CloudClient::new(
        &lab,
        CloudClientOptions {
            tls_max_version: Some(TlsVersion::V1_2),
            ..CloudClientOptions::default()
        },
    );
    let r = client
        .get(PROFILE, &Auth::basic("alice@lab.example", ALICE_PW))
        .await
        .unwrap();
    assert_eq!(r.status, 200);
    lab.shutdown().await;
}

/// A started microservice polls the user's profile every 5 s with its BroadWorks token;
/// when xsp1 goes down the polls move to xsp2.
#[tokio::test(start_paused = true)]
async fn cloud_polling_moves_to_the_next_ip_when_a_node_goes_down() {
    let lab = Lab::builder().start().await.unwrap();
    let (ip1, ip2) = (ip_of(&lab, "xsp1"), ip_of(&lab, "xsp2"));
    let client = CloudClient::new(&lab, CloudClientOptions::default());
    let runner = client.start("alice", Some(ALICE_PW));
    let first = wait(
        &lab,
        &sut_cloud("response").attr(
            "path",
            format!("/com.broadsoft.xsi-actions/v2.0/{PROFILE}").as_str(),
        ),
    )
    .await;
    assert_eq!(first.attr("ip"), Some(ip1.to_string().as_str()));
    assert_eq!(first.attr("status"), Some("200"));
    assert!(runner.signed_in().is_some());

    let reset = lab
        .xsp("xsp1")
        .unwrap()
        .net_faults()
        .add(ToxicRule::new(Toxic::ResetPeer { timeout: 0 }));
    let since = lab.journal().next_seq();
    let blocked = wait(&lab, &sut_cloud("blocked").since(since)).await;
    assert_eq!(blocked.attr("xsp"), Some("xsp1"));
    let moved = wait(
        &lab,
        &sut_cloud("response")
            .attr("ip", ip2.to_string().as_str())
            .since(since),
    )
    .await;
    assert_eq!(moved.attr("status"), Some("200"));
    assert_eq!(runner.last_ip(), Some(ip2));
    let (polls, ok) = runner.polls();
    assert!(polls >= 2 && ok >= 2, "{polls} {ok}");
    lab.xsp("xsp1").unwrap().net_faults().remove(reset);
    runner.stop().await;
    wait(&lab, &sut_cloud("stopped")).await;
    lab.shutdown().await;
}
