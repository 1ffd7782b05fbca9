//! Permission checks per second: the allowed fast path and an audited denial.
//!
//! `cargo bench -p rampart-identity --bench authorize`

use std::hint::black_box;
use std::sync::Arc;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use rampart_identity::{
    AccountName, AuditRecord, AuditRecorder, AuditUnavailable, HashParams, Identity,
    IdentityConfig, NewAccount, Origin, Password, Permission, RoleName,
};

/// Discards records, so the bench measures the decision, not a growing vector.
struct NullRecorder;

impl AuditRecorder for NullRecorder {
    fn record(&self, record: AuditRecord) -> Result<(), AuditUnavailable> {
        black_box(record);
        Ok(())
    }
}

fn authorize(c: &mut Criterion) {
    let dir = tempfile::tempdir().unwrap();
    let id = Identity::builder(dir.path().join("identity.db"), Arc::new(NullRecorder))
        .config(IdentityConfig {
            hashing: HashParams::danger_insecure_fast(),
            ..IdentityConfig::default()
        })
        .open()
        .unwrap();
    let root = id.local_console("bench").unwrap();
    let account = NewAccount::new(AccountName::parse("eng").unwrap())
        .role(RoleName::parse("engineer").unwrap())
        .must_change_password(false);
    let password = "plinth marmot cobalt fjord";
    id.create_user(&root, &account, &Password::from(password))
        .unwrap();
    let eng = id
        .authenticate(
            "eng",
            &Password::from(password),
            None,
            &Origin::new("bench"),
        )
        .unwrap();

    let mut group = c.benchmark_group("authorize");
    group.throughput(Throughput::Elements(1));
    group.bench_function("allowed", |b| {
        b.iter(|| id.authorize(black_box(&eng), black_box(Permission::PolicyApply)));
    });
    group.bench_function("denied-and-audited", |b| {
        b.iter(|| id.authorize(black_box(&eng), black_box(Permission::UserManage)));
    });
    group.finish();
}

criterion_group!(benches, authorize);
criterion_main!(benches);
