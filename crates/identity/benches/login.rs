//! Argon2id cost of a login with the default parameters, and proof that an unknown account
//! costs the same as a known one with a wrong password (CR 1.10, no enumeration).
//!
//! `cargo bench -p rampart-identity --bench login`
//!
//! Before the criterion groups it prints a plain summary of 50 timed tries per path
//! (median, spread), the numbers `docs/benchmarks.md` records.

use std::hint::black_box;
use std::sync::Arc;
use std::time::{Duration, Instant};

use criterion::{Criterion, SamplingMode, criterion_group, criterion_main};
use rampart_identity::{
    AccountName, AuditRecord, AuditRecorder, AuditUnavailable, HashParams, Identity,
    IdentityConfig, NewAccount, Origin, Password, RoleName,
};

const TRIES: usize = 50;

struct NullRecorder;

impl AuditRecorder for NullRecorder {
    fn record(&self, record: AuditRecord) -> Result<(), AuditUnavailable> {
        black_box(record);
        Ok(())
    }
}

fn service(dir: &std::path::Path) -> Identity {
    let config = IdentityConfig {
        hashing: HashParams::DEFAULT,
        ..IdentityConfig::default()
    };
    let id = Identity::builder(dir.join("identity.db"), Arc::new(NullRecorder))
        .config(config)
        .open()
        .unwrap();
    let root = id.local_console("bench").unwrap();
    let account = NewAccount::new(AccountName::parse("alice").unwrap())
        .role(RoleName::parse("viewer").unwrap())
        .must_change_password(false);
    id.create_user(
        &root,
        &account,
        &Password::from("plinth marmot cobalt fjord"),
    )
    .unwrap();
    id
}

fn attempt(id: &Identity, name: &str) {
    let origin = Origin::new("bench");
    let result = id.authenticate(
        black_box(name),
        &Password::from("wrong password, wrong password"),
        None,
        &origin,
    );
    assert!(result.is_err());
}

fn summary(label: &str, mut times: Vec<Duration>) {
    times.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    let n = f64::from(u32::try_from(times.len()).unwrap());
    let mean = times.iter().map(|d| ms(*d)).sum::<f64>() / n;
    let var = times.iter().map(|d| (ms(*d) - mean).powi(2)).sum::<f64>() / n;
    println!(
        "{label:<28} n={} median {:.1} ms  min {:.1}  p90 {:.1}  max {:.1}  stddev {:.1}",
        times.len(),
        ms(times[times.len() / 2]),
        ms(times[0]),
        ms(times[times.len() * 9 / 10]),
        ms(times[times.len() - 1]),
        var.sqrt(),
    );
}

fn login(c: &mut Criterion) {
    let dir = tempfile::tempdir().unwrap();
    let id = service(dir.path());
    let p = HashParams::DEFAULT;
    println!(
        "argon2id m={} KiB t={} p={}; {TRIES} tries per path, interleaved",
        p.memory_kib, p.iterations, p.parallelism
    );
    let (mut known, mut unknown) = (Vec::new(), Vec::new());
    for _ in 0..TRIES {
        let start = Instant::now();
        attempt(&id, "alice");
        known.push(start.elapsed());
        let start = Instant::now();
        attempt(&id, "mallory");
        unknown.push(start.elapsed());
    }
    summary("known user, wrong password", known);
    summary("unknown user", unknown);

    let mut group = c.benchmark_group("login");
    group.sampling_mode(SamplingMode::Flat);
    group.sample_size(TRIES);
    group.measurement_time(Duration::from_secs(10));
    group.bench_function("known-user-wrong-password", |b| {
        b.iter(|| attempt(&id, "alice"));
    });
    group.bench_function("unknown-user", |b| {
        b.iter(|| attempt(&id, "mallory"));
    });
    group.finish();
}

criterion_group!(benches, login);
criterion_main!(benches);
