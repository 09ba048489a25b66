//! The reference clients against a real lab: the Webex App's discovery, channel,
//! heartbeat rule and no fail-back; the cloud microservice's first IP, tries and blocked
//! list. Paused tokio time throughout: the lab's timers and the clients' run together, and
//! nothing sleeps to synchronise — the journal says when something happened.

use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use bwlab::Lab;
use bwlab::core::{Entry, Filter, Kind};
use bwlab::net::faults::{Toxic, ToxicRule};
use bwlab::reference::{
    Auth, CloudClient, CloudClientOptions, CloudError, WebexApp, WebexAppError, WebexAppOptions,
};
use bwlab::xsp::XspEventFault;

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
    assert_eq!(opened.attr("cookie"), Some("yes"));
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
    let app = WebexApp::sign_in(&lab, "alice", ALICE_PW, WebexAppOptions::default())
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
        ..WebexAppOptions::default()
    };
    let app = WebexApp::sign_in(&lab, "alice", ALICE_PW, opts)
        .await
        .unwrap();
    assert_eq!(app.hosts().len(), 1);
    assert_eq!(app.current_node().as_deref(), Some("xsp2"));
    wait(&lab, &sut_app("srv-missing")).await;
    app.stop().await;

    match WebexApp::sign_in(&lab, "alice", "wrong", WebexAppOptions::default()).await {
        Err(WebexAppError::Refused { host, .. }) => assert_eq!(host, "xsp1.lab.example"),
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
