//! `decide` on the hot path: one request against a 200-rule policy.
//!
//! Run: `cargo bench -p rampart-conduit --bench decide`.

// criterion's macros generate undocumented items.
#![allow(missing_docs)]

use std::fmt::Write as _;
use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use rampart_conduit::{CompiledPolicy, Policy};
use rampart_modbus::{AddressRange, Request, RequestPdu};

/// Ten roles of twenty rules each: per rule a unit, a pair of functions and a register block.
fn policy_200_rules() -> String {
    let mut text = String::from("version = 1\n");
    for role in 0..10 {
        let _ = writeln!(text, "[[role]]\nname = \"role-{role}\"");
        for rule in 0..20u32 {
            let unit = rule % 16 + 1;
            let base = rule * 500;
            let _ = writeln!(
                text,
                "[[role.rule]]\nunits = [{unit}]\nfunctions = [3, 16]\nread = \"{base}-{}\"\nwrite = \"{}-{}\"\nmax_quantity = 100",
                base + 199,
                base + 200,
                base + 299
            );
        }
    }
    text
}

fn bench_decide(c: &mut Criterion) {
    let text = policy_200_rules();
    let policy = CompiledPolicy::compile(Policy::parse(&text, "bench").unwrap());
    assert_eq!(
        policy
            .policy()
            .roles
            .iter()
            .map(|r| r.rules.len())
            .sum::<usize>(),
        200
    );
    let role = policy.resolve(Some("role-7"));
    let allowed = Request::new(
        1,
        8,
        RequestPdu::ReadHoldingRegisters(AddressRange::new(3_510, 50).unwrap()),
    );
    let denied_range = Request::new(
        1,
        8,
        RequestPdu::ReadHoldingRegisters(AddressRange::new(3_690, 50).unwrap()),
    );
    let denied_unit = Request::new(
        1,
        200,
        RequestPdu::ReadHoldingRegisters(AddressRange::new(0, 1).unwrap()),
    );
    assert!(policy.decide(role, &allowed).is_allowed());
    assert!(!policy.decide(role, &denied_range).is_allowed());

    let mut group = c.benchmark_group("decide");
    group.throughput(Throughput::Elements(1));
    group.bench_function("allow/200-rules", |b| {
        b.iter(|| {
            policy
                .decide(black_box(role), black_box(&allowed))
                .is_allowed()
        });
    });
    group.bench_function("deny-range/200-rules", |b| {
        b.iter(|| {
            policy
                .decide(black_box(role), black_box(&denied_range))
                .is_allowed()
        });
    });
    group.bench_function("deny-unit/200-rules", |b| {
        b.iter(|| {
            policy
                .decide(black_box(role), black_box(&denied_unit))
                .is_allowed()
        });
    });
    group.finish();
}

criterion_group!(benches, bench_decide);
criterion_main!(benches);
