//! Load and lookup speed of the subscriber store.
//!
//! The target: a 100,000-user lab file parses, validates and indexes in under a second
//! (release build, 2 cores), and lookups stay O(1). The file is generated once with
//! `synthetic_lab_yaml` (compact `userTable` form). For comparison, a 10,000-user file in
//! the ordinary mapping form is loaded too, showing the per-token cost that made the
//! compact form necessary.
//!
//! Set `BWLAB_BENCH_USERS` to change the size of the main file.

use std::hint::black_box;
use std::time::Duration;

use bwlab_core::clock::LabClock;
use bwlab_model::{Store, synthetic_lab_yaml};
use criterion::{Criterion, criterion_group, criterion_main};
use time::macros::datetime;

fn users() -> usize {
    std::env::var("BWLAB_BENCH_USERS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(100_000)
}

/// The same users written as one mapping per user (the readable form).
fn mapping_form_yaml(n: usize) -> String {
    use std::fmt::Write as _;
    let groups = n.div_ceil(1000).max(1);
    let mut s = String::from("enterprises:\n  - id: synth\n    groups:\n");
    for g in 0..groups {
        let _ = writeln!(
            s,
            "      - {{id: g{g}, locationDialingCode: \"{:02}\"}}",
            g + 1
        );
    }
    s.push_str("users:\n");
    for i in 0..n {
        let _ = write!(
            s,
            "  - userId: u{i}@synth.example\n    group: g{}\n    firstName: First{i}\n    lastName: Last{i}\n    number: \"+1555{i:07}\"\n    extension: \"{}\"\n    password: pw{i}-secret\n    alternateIds: [alt{i}@corp.example]\n    services: [doNotDisturb, callWaiting, basicCallLogs]\n",
            i / 1000,
            1000 + i % 1000
        );
    }
    s
}

fn bench(c: &mut Criterion) {
    let n = users();
    let clock = LabClock::frozen_at(datetime!(2026-01-01 0:00 UTC));
    let yaml = synthetic_lab_yaml(n);

    let mut g = c.benchmark_group("load");
    g.sample_size(10).measurement_time(Duration::from_secs(20));
    // Dropping a store is not part of loading it: keep it out of the measurement.
    g.bench_function(format!("table_{n}_users"), |b| {
        b.iter_with_large_drop(|| {
            let store = Store::from_yaml_str(black_box(&yaml), "synthetic.yaml", clock.clone())
                .expect("synthetic lab loads");
            assert_eq!(store.user_count(), n);
            store
        });
    });
    let small = 10_000;
    let mapping = mapping_form_yaml(small);
    g.bench_function(format!("mapping_{small}_users"), |b| {
        b.iter_with_large_drop(|| {
            Store::from_yaml_str(black_box(&mapping), "mapping.yaml", clock.clone())
                .expect("mapping lab loads")
        });
    });
    g.finish();

    // The same lookups on a 1,000-user and on the full store: O(1) means the two columns
    // match, whatever the size.
    lookups(
        c,
        "lookup_1000_users",
        &synthetic_lab_yaml(1_000),
        1_000,
        &clock,
    );
    lookups(c, &format!("lookup_{n}_users"), &yaml, n, &clock);
}

fn lookups(c: &mut Criterion, group_name: &str, yaml: &str, n: usize, clock: &LabClock) {
    let store = Store::from_yaml_str(yaml, "synthetic.yaml", clock.clone()).expect("loads");
    let probe = n / 2;
    let group = store
        .find_user(&format!("u{probe}@synth.example"))
        .expect("user")
        .group;
    let enterprise = store.find_enterprise("synth").expect("enterprise").idx;
    let ldc = store
        .group(group)
        .and_then(|g| g.location_dialing_code.clone())
        .expect("ldc");
    let user_id = format!("u{probe}@synth.example");
    let alt_id = format!("ALT{probe}@corp.example");
    let number = format!("+1555{probe:07}");
    let ext = format!("{}", 1000 + probe % 1000);
    let ldc_ext = format!("{ldc}{ext}");

    let mut g = c.benchmark_group(group_name);
    g.bench_function("user_id", |b| {
        b.iter(|| store.find_user(black_box(&user_id)))
    });
    g.bench_function("alternate_id_mixed_case", |b| {
        b.iter(|| store.find_user(black_box(&alt_id)))
    });
    g.bench_function("number", |b| {
        b.iter(|| store.find_by_number(black_box(&number)))
    });
    g.bench_function("extension_in_group", |b| {
        b.iter(|| store.find_by_extension(group, black_box(&ext)))
    });
    g.bench_function("ldc_extension_in_enterprise", |b| {
        b.iter(|| store.find_by_location_code(enterprise, black_box(&ldc_ext)))
    });
    let password = format!("pw{probe}-secret");
    g.bench_function("authenticate", |b| {
        let now = clock.now();
        b.iter(|| store.authenticate(black_box(&user_id), black_box(&password), now))
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
