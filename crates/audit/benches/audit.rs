//! Benchmarks of the audit trail: durable append with 4 concurrent writers against plain
//! `SQLite` inserts of the same rows without the chain (same durability settings), and
//! verification throughput.

use std::hint::black_box;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use rampart_audit::testing::{insecure_signing_key, sample_event};
use rampart_audit::{AuditStore, NewEvent, StoreConfig, SystemClock, verify};
use rusqlite::{Connection, params};

/// Events per measured iteration of the append benchmarks.
const EVENTS: u64 = 40_000;
/// Writer threads.
const WRITERS: u64 = 4;
/// Appends each writer keeps in flight (a gateway has one per connection or task).
const WINDOW: usize = 256;
/// Events in the store the verification benchmark reads.
const VERIFY_EVENTS: u64 = 500_000;

fn open(dir: &Path) -> AuditStore {
    AuditStore::open(
        dir,
        StoreConfig::default(),
        Arc::new(SystemClock::new()),
        Arc::new(insecure_signing_key(1)),
    )
    .expect("open store")
}

/// `WRITERS` threads append `EVENTS` events in total, each keeping `window` in flight.
fn append_concurrently(store: &AuditStore, events: &[NewEvent], window: usize) -> Duration {
    let per_writer = events.len() / usize::try_from(WRITERS).expect("small");
    let start = Instant::now();
    std::thread::scope(|scope| {
        for chunk in events.chunks(per_writer) {
            scope.spawn(move || {
                let mut in_flight = std::collections::VecDeque::with_capacity(window);
                for event in chunk {
                    if in_flight.len() == window {
                        let pending: rampart_audit::Pending =
                            in_flight.pop_front().expect("non-empty");
                        pending.wait().expect("append");
                    }
                    in_flight.push_back(store.submit(event.clone()));
                }
                for pending in in_flight {
                    pending.wait().expect("append");
                }
            });
        }
    });
    start.elapsed()
}

fn plain_connection(path: &Path) -> Connection {
    let conn = Connection::open(path).expect("open");
    conn.query_row("PRAGMA journal_mode = WAL", [], |_| Ok(()))
        .expect("wal");
    conn.pragma_update(None, "synchronous", "FULL")
        .expect("synchronous");
    conn.execute_batch(
        "CREATE TABLE IF NOT EXISTS events (
            seq INTEGER PRIMARY KEY, ts INTEGER NOT NULL, time_source TEXT NOT NULL,
            clock_sync TEXT NOT NULL, actor_kind TEXT NOT NULL, actor TEXT NOT NULL, source TEXT,
            interface TEXT, category TEXT NOT NULL, action TEXT NOT NULL, target TEXT,
            outcome TEXT NOT NULL, severity INTEGER NOT NULL, details TEXT NOT NULL);
         CREATE INDEX IF NOT EXISTS events_ts ON events (ts);",
    )
    .expect("schema");
    conn
}

/// The same rows, inserted by one thread in transactions of `batch` rows, no chain.
fn plain_inserts(
    conn: &Connection,
    rows: &[PlainRow],
    batch: usize,
    next_seq: &mut i64,
) -> Duration {
    let start = Instant::now();
    for chunk in rows.chunks(batch) {
        conn.execute_batch("BEGIN IMMEDIATE").expect("begin");
        {
            let mut stmt = conn
                .prepare_cached(
                    "INSERT INTO events (seq, ts, time_source, clock_sync, actor_kind, actor, source, \
                     interface, category, action, target, outcome, severity, details) \
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14)",
                )
                .expect("prepare");
            for row in chunk {
                *next_seq += 1;
                stmt.execute(params![
                    *next_seq,
                    1_700_000_000_000_000_i64 + *next_seq,
                    "system",
                    "unknown",
                    "certificate",
                    row.actor,
                    row.source,
                    "conduit:plc-1",
                    row.category,
                    "modbus.write",
                    row.target,
                    row.outcome,
                    row.severity,
                    row.details,
                ])
                .expect("insert");
            }
        }
        conn.execute_batch("COMMIT").expect("commit");
    }
    start.elapsed()
}

struct PlainRow {
    actor: String,
    source: String,
    category: &'static str,
    target: String,
    outcome: &'static str,
    severity: u8,
    details: String,
}

fn plain_rows(n: u64) -> Vec<PlainRow> {
    (0..n)
        .map(|i| {
            let event = sample_event(i);
            PlainRow {
                actor: format!("CN=hmi-{},O=Plant", i % 8),
                source: format!("192.0.2.{}:50211", i % 250),
                category: event.category().as_str(),
                target: format!("unit 1 holding registers {}..{}", i % 1000, i % 1000 + 4),
                outcome: if i.is_multiple_of(3) {
                    "denied"
                } else {
                    "success"
                },
                severity: event.severity().code(),
                details: format!(
                    "{{\"function_code\":16,\"quantity\":4,\"request\":{i},\"role\":\"operator\"}}"
                ),
            }
        })
        .collect()
}

fn append(c: &mut Criterion) {
    let mut group = c.benchmark_group("append");
    group
        .sample_size(10)
        .measurement_time(Duration::from_secs(20));
    group.throughput(Throughput::Elements(EVENTS));
    let events: Vec<NewEvent> = (0..EVENTS).map(sample_event).collect();

    let dir = tempfile::tempdir().expect("tempdir");
    let store = open(dir.path());
    group.bench_function("audit_store_4_writers_window_256", |b| {
        b.iter_custom(|iters| {
            (0..iters)
                .map(|_| append_concurrently(&store, &events, WINDOW))
                .sum()
        });
    });
    store.close().expect("close");

    let dir = tempfile::tempdir().expect("tempdir");
    let store = open(dir.path());
    group.bench_function("audit_store_4_writers_window_1", |b| {
        b.iter_custom(|iters| {
            (0..iters)
                .map(|_| append_concurrently(&store, &events[..4000], 1) * 10)
                .sum()
        });
    });
    store.close().expect("close");

    let dir = tempfile::tempdir().expect("tempdir");
    let conn = plain_connection(&dir.path().join("plain.sqlite3"));
    let rows = plain_rows(EVENTS);
    let mut next_seq = 0;
    group.bench_function("plain_sqlite_batch_1024", |b| {
        b.iter_custom(|iters| {
            (0..iters)
                .map(|_| plain_inserts(&conn, &rows, 1024, &mut next_seq))
                .sum()
        });
    });
    group.finish();
}

fn verification(c: &mut Criterion) {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = open(dir.path());
    let events: Vec<NewEvent> = (0..VERIFY_EVENTS - 2).map(sample_event).collect();
    for chunk in events.chunks(40_000) {
        append_concurrently(&store, chunk, WINDOW);
    }
    store.close().expect("close");
    let key = insecure_signing_key(1).public_key();
    let report = verify(dir.path(), &key).expect("verify");
    assert!(report.is_intact(), "{report}");
    assert_eq!(report.events_checked(), VERIFY_EVENTS);

    let mut group = c.benchmark_group("verify");
    group
        .sample_size(10)
        .measurement_time(Duration::from_secs(20));
    group.throughput(Throughput::Elements(VERIFY_EVENTS));
    group.bench_function("verify_500k_events", |b| {
        b.iter(|| black_box(verify(dir.path(), &key).expect("verify")));
    });
    group.finish();
}

criterion_group!(benches, append, verification);
criterion_main!(benches);
