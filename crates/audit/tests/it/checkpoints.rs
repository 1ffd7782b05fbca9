//! Checkpoint cadence (every N events, every T seconds, at clean shutdown), the store's own
//! lifecycle events, and the store's guarantees across restarts.

use std::future::Future;
use std::os::unix::fs::PermissionsExt;
use std::pin::pin;
use std::sync::Arc;
use std::task::{Context, Poll, Wake, Waker};
use std::time::{Duration, Instant};

use rampart_audit::testing::{insecure_signing_key, sample_event};
use rampart_audit::{
    AuditReader, Severity, StoreConfig, StoreError, VerifyError, store_path, verify,
};

use crate::util::{Fixture, OtherWriter};

fn checkpoint_seqs(fixture: &Fixture) -> Vec<i64> {
    fixture
        .sqlite()
        .prepare("SELECT seq FROM checkpoints ORDER BY seq")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .map(Result::unwrap)
        .collect()
}

#[test]
fn a_checkpoint_every_n_events_and_one_at_clean_shutdown() {
    let fixture = Fixture::new();
    let store = fixture.open(Fixture::config().checkpoint_every(10).unwrap());
    fixture.append_samples(&store, 0, 35);
    assert_eq!(checkpoint_seqs(&fixture), [10, 20, 30]);
    assert_eq!(store.status().last_checkpoint, Some(30));
    store.close().unwrap();
    assert_eq!(checkpoint_seqs(&fixture), [10, 20, 30, 35]);
}

#[test]
fn a_checkpoint_after_the_interval_even_without_traffic() {
    let fixture = Fixture::new();
    let config = Fixture::config()
        .checkpoint_every(1000)
        .unwrap()
        .checkpoint_interval(Duration::from_secs(10))
        .unwrap();
    let store = fixture.open(config);
    fixture.append_samples(&store, 0, 3);
    assert_eq!(store.status().last_checkpoint, None);
    fixture.clock.advance(Duration::from_secs(11));
    store.append(sample_event(3)).unwrap();
    assert_eq!(
        store.status().last_checkpoint,
        Some(4),
        "due at the end of the batch"
    );

    store.append(sample_event(4)).unwrap();
    fixture.clock.advance(Duration::from_secs(11));
    // The idle writer wakes at least once a second to check.
    let deadline = Instant::now() + Duration::from_secs(5);
    while store.status().last_checkpoint != Some(5) {
        assert!(
            Instant::now() < deadline,
            "no idle checkpoint: {:?}",
            store.status()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    assert_eq!(store.checkpoint().unwrap(), Some(5), "nothing new to sign");
    assert_eq!(checkpoint_seqs(&fixture), [4, 5]);
}

#[test]
fn lifecycle_events_record_starts_stops_and_crashes() {
    let fixture = Fixture::new();
    let config = StoreConfig::default();
    let store = fixture.open(config.clone());
    fixture.append_samples(&store, 0, 2);
    store.close().unwrap();
    // A crash: another process opens the store and is killed (no close, no final checkpoint).
    OtherWriter::start(fixture.path()).kill();
    let store = fixture.open(config);
    store.close().unwrap();

    let events = AuditReader::open(fixture.path())
        .unwrap()
        .tail(100)
        .unwrap();
    let summary: Vec<(&str, Severity, Option<&str>)> = events
        .iter()
        .map(|e| {
            (
                e.action(),
                e.severity(),
                e.details()
                    .get("previous_shutdown")
                    .and_then(|v| v.as_str()),
            )
        })
        .collect();
    let unclean = "unclean (crash or kill): events after the last checkpoint are unsigned";
    assert_eq!(
        summary,
        [
            ("audit.opened", Severity::Notice, Some("none (new store)")),
            ("modbus.write", Severity::Warning, None),
            ("modbus.write", Severity::Informational, None),
            ("audit.closed", Severity::Notice, None),
            ("audit.opened", Severity::Notice, Some("clean")),
            ("audit.opened", Severity::Warning, Some(unclean)),
            ("audit.closed", Severity::Notice, None),
        ]
    );
    assert_eq!(
        events
            .iter()
            .map(rampart_audit::AuditEvent::seq)
            .collect::<Vec<_>>(),
        [1, 2, 3, 4, 5, 6, 7]
    );
    let report = fixture.verify();
    assert!(report.is_intact(), "{report}");
    assert_eq!(report.signed_through(), Some(7));
}

#[test]
fn a_closed_store_refuses_appends_and_closing_twice_is_harmless() {
    let fixture = Fixture::new();
    let store = fixture.open(Fixture::config());
    store.close().unwrap();
    store.close().unwrap();
    assert!(matches!(
        store.append(sample_event(0)),
        Err(StoreError::Closed)
    ));
    assert!(matches!(store.checkpoint(), Err(StoreError::Closed)));
}

struct ThreadWaker(std::thread::Thread);

impl Wake for ThreadWaker {
    fn wake(self: Arc<Self>) {
        self.0.unpark();
    }
}

/// A minimal executor: async callers need no particular runtime.
fn block_on<F: Future>(future: F) -> F::Output {
    let waker = Waker::from(Arc::new(ThreadWaker(std::thread::current())));
    let mut cx = Context::from_waker(&waker);
    let mut future = pin!(future);
    loop {
        if let Poll::Ready(output) = future.as_mut().poll(&mut cx) {
            return output;
        }
        std::thread::park();
    }
}

#[test]
fn appends_can_be_awaited() {
    let fixture = Fixture::new();
    let store = fixture.open(Fixture::config());
    let receipts = block_on(async {
        let first = store.submit(sample_event(0));
        let second = store.submit(sample_event(1));
        (first.await.unwrap(), second.await.unwrap())
    });
    assert_eq!((receipts.0.seq(), receipts.1.seq()), (1, 2));
    let stored = store.reader().unwrap().event(2).unwrap().unwrap();
    assert_eq!(stored.hash(), receipts.1.hash());
    assert_eq!(stored.timestamp(), receipts.1.timestamp());
}

#[test]
fn the_chain_continues_across_restarts() {
    let fixture = Fixture::new();
    for round in 0..3 {
        let store = fixture.open(Fixture::config());
        fixture.append_samples(&store, round * 10, round * 10 + 10);
        store.close().unwrap();
    }
    let report = fixture.verify();
    assert!(report.is_intact(), "{report}");
    assert_eq!(
        (report.events_checked(), report.signed_through()),
        (30, Some(30))
    );
}

#[test]
fn files_are_private_to_the_owner() {
    let fixture = Fixture::new();
    let dir = fixture.path().join("audit");
    let store = rampart_audit::AuditStore::open(
        &dir,
        Fixture::config(),
        Arc::new(fixture.clock.clone()),
        Arc::new(insecure_signing_key(1)),
    )
    .unwrap();
    let mode = |p: &std::path::Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(&dir), 0o700);
    assert_eq!(mode(&store_path(&dir)), 0o600);
    store.close().unwrap();
}

#[test]
fn bad_input_is_an_error_not_a_report() {
    let fixture = Fixture::new();
    let key = fixture.key.public_key();
    assert!(matches!(
        verify(fixture.path(), &key),
        Err(VerifyError::NotFound(_))
    ));

    let conn = rusqlite::Connection::open(store_path(fixture.path())).unwrap();
    conn.execute_batch("CREATE TABLE events (x); INSERT INTO events VALUES (1);")
        .unwrap();
    drop(conn);
    let err = verify(fixture.path(), &key).unwrap_err();
    assert!(
        err.to_string()
            .contains("is not an audit store of format version 1"),
        "{err}"
    );
    let err = rampart_audit::AuditStore::open(
        fixture.path(),
        Fixture::config(),
        Arc::new(fixture.clock.clone()),
        Arc::new(insecure_signing_key(1)),
    )
    .unwrap_err();
    assert!(matches!(err, StoreError::UnsupportedFormat { .. }), "{err}");
}

/// A signer that fails while `failing` is set, as a TPM-held device key whose TPM does not
/// answer.
struct FlakySigner {
    key: rampart_vault::DeviceKey,
    failing: std::sync::atomic::AtomicBool,
}

impl rampart_audit::CheckpointSigner for FlakySigner {
    fn sign(&self, message: &[u8]) -> Result<[u8; 64], String> {
        if self.failing.load(std::sync::atomic::Ordering::SeqCst) {
            return Err("the TPM did not answer".into());
        }
        Ok(self.key.sign(message))
    }

    fn public_key(&self) -> rampart_vault::DevicePublicKey {
        self.key.public_key()
    }
}

/// While the device key cannot sign, appends still succeed and stay chained (a due checkpoint
/// is skipped, not the batch); an explicit checkpoint reports the failure; due checkpoints wait
/// a minute before the next try; once the key signs again, the next checkpoint covers every
/// event and the trail verifies intact.
#[test]
fn a_signer_that_fails_loses_no_event_and_the_next_checkpoint_covers_them() {
    let fixture = Fixture::new();
    let signer = Arc::new(FlakySigner {
        key: insecure_signing_key(1),
        failing: std::sync::atomic::AtomicBool::new(false),
    });
    let store = rampart_audit::AuditStore::open(
        fixture.dir.path(),
        Fixture::config().checkpoint_every(10).unwrap(),
        Arc::new(fixture.clock.clone()),
        Arc::clone(&signer) as Arc<dyn rampart_audit::CheckpointSigner>,
    )
    .unwrap();
    fixture.append_samples(&store, 0, 12);
    assert_eq!(checkpoint_seqs(&fixture), [10]);

    signer
        .failing
        .store(true, std::sync::atomic::Ordering::SeqCst);
    fixture.append_samples(&store, 12, 45);
    assert_eq!(store.status().last_seq, Some(45), "every append stands");
    assert_eq!(checkpoint_seqs(&fixture), [10], "none signed while failing");
    let err = store.checkpoint().unwrap_err();
    assert!(
        matches!(err, StoreError::Signing { .. }) && err.to_string().contains("did not answer"),
        "{err}"
    );

    // Signing works again, but due checkpoints wait out the minute after the last failure.
    signer
        .failing
        .store(false, std::sync::atomic::Ordering::SeqCst);
    fixture.append_samples(&store, 45, 47);
    assert_eq!(checkpoint_seqs(&fixture), [10], "paused after a failure");
    fixture.clock.advance(Duration::from_secs(61));
    fixture.append_samples(&store, 47, 48);
    assert_eq!(
        checkpoint_seqs(&fixture),
        [10, 48],
        "the next one covers all"
    );
    store.close().unwrap();
    let report = verify(fixture.dir.path(), &insecure_signing_key(1).public_key()).unwrap();
    assert!(report.is_intact(), "{report:?}");
    assert_eq!(report.signed_through(), Some(48));
}
