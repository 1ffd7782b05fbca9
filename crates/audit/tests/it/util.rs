use std::io::{BufRead as _, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::mpsc;
use std::time::Duration;

use rampart_audit::testing::{insecure_signing_key, sample_event};
use rampart_audit::{
    AuditStore, FindingKind, ManualClock, StoreConfig, Timestamp, VerifyReport, store_path, verify,
};
use rampart_vault::DeviceKey;
use rampart_vault::crypto::Sha256;
use rusqlite::Connection;
use rusqlite::types::ValueRef;
use tempfile::TempDir;

/// A store directory, the component key, and a clock the test controls.
pub(crate) struct Fixture {
    pub(crate) dir: TempDir,
    pub(crate) key: DeviceKey,
    pub(crate) clock: ManualClock,
}

/// 2024-01-01T00:00:00Z.
pub(crate) const START: i64 = 1_704_067_200_000_000;

impl Fixture {
    pub(crate) fn new() -> Fixture {
        Fixture {
            dir: tempfile::tempdir().unwrap(),
            key: insecure_signing_key(1),
            clock: ManualClock::new(Timestamp::from_unix_micros(START).unwrap()),
        }
    }

    /// No lifecycle events (so event `n` is sample `n`), a checkpoint every 25 events.
    pub(crate) fn config() -> StoreConfig {
        StoreConfig::default()
            .lifecycle_events(false)
            .checkpoint_every(25)
            .unwrap()
    }

    pub(crate) fn open(&self, config: StoreConfig) -> AuditStore {
        AuditStore::open(
            self.dir.path(),
            config,
            Arc::new(self.clock.clone()),
            Arc::new(insecure_signing_key(1)),
        )
        .unwrap()
    }

    /// Appends samples `from..to`, one millisecond apart.
    pub(crate) fn append_samples(&self, store: &AuditStore, from: u64, to: u64) {
        for i in from..to {
            self.clock.advance(Duration::from_millis(1));
            store.append(sample_event(i)).unwrap();
        }
    }

    /// A closed store holding samples 1..=n as events 1..=n, checkpoints at 25, 50, ... and n.
    pub(crate) fn with_events(n: u64) -> Fixture {
        let fixture = Fixture::new();
        let store = fixture.open(Fixture::config());
        fixture.append_samples(&store, 1, n + 1);
        store.close().unwrap();
        fixture
    }

    /// A closed store of `n` events appended with many in flight, a checkpoint every 10,000.
    pub(crate) fn with_many(n: u64) -> Fixture {
        let fixture = Fixture::new();
        let store = fixture.open(Fixture::config().checkpoint_every(10_000).unwrap());
        let mut in_flight = std::collections::VecDeque::new();
        for i in 1..=n {
            if in_flight.len() == 512 {
                let pending: rampart_audit::Pending = in_flight.pop_front().unwrap();
                pending.wait().unwrap();
            }
            in_flight.push_back(store.submit(sample_event(i)));
        }
        for pending in in_flight {
            pending.wait().unwrap();
        }
        store.close().unwrap();
        fixture
    }

    pub(crate) fn path(&self) -> &Path {
        self.dir.path()
    }

    pub(crate) fn verify(&self) -> VerifyReport {
        verify(self.path(), &self.key.public_key()).unwrap()
    }

    /// A direct connection to the file, as an attacker would open it.
    pub(crate) fn sqlite(&self) -> Connection {
        Connection::open(store_path(self.path())).unwrap()
    }

    pub(crate) fn tamper(&self, sql: &str) {
        self.sqlite().execute_batch(sql).unwrap();
    }

    /// The stored hash of event `seq`.
    pub(crate) fn stored_hash(&self, seq: u64) -> [u8; 32] {
        let blob: Vec<u8> = self
            .sqlite()
            .query_row(
                "SELECT hash FROM events WHERE seq = ?1",
                [seq as i64],
                |r| r.get(0),
            )
            .unwrap();
        blob.try_into().unwrap()
    }

    /// Recomputes the stored hash of every event from `from` on, as an attacker who knows the
    /// (public) format would after changing an event.
    pub(crate) fn rechain_from(&self, from: u64) {
        let conn = self.sqlite();
        let mut prev = self.stored_hash(from - 1);
        let seqs: Vec<i64> = conn
            .prepare("SELECT seq FROM events WHERE seq >= ?1 ORDER BY seq")
            .unwrap()
            .query_map([from as i64], |r| r.get(0))
            .unwrap()
            .map(Result::unwrap)
            .collect();
        for seq in seqs {
            let hash = chain_hash(&prev, &canonical_row(&conn, seq));
            conn.execute(
                "UPDATE events SET hash = ?1 WHERE seq = ?2",
                rusqlite::params![hash.as_slice(), seq],
            )
            .unwrap();
            prev = hash;
        }
    }

    /// Signs a checkpoint with the component key, as only the component can.
    pub(crate) fn signed_checkpoint(&self, seq: u64, hash: &[u8; 32], ts: i64) -> [u8; 64] {
        self.key.sign(&checkpoint_message(seq, hash, ts))
    }
}

/// The checkpoint message as the crate documents it.
pub(crate) fn checkpoint_message(seq: u64, hash: &[u8; 32], ts: i64) -> Vec<u8> {
    let mut message = b"rampart-audit/v1/checkpoint".to_vec();
    message.extend_from_slice(&seq.to_be_bytes());
    message.extend_from_slice(hash);
    message.extend_from_slice(&ts.to_be_bytes());
    message
}

/// The canonical encoding of a stored row, written from the crate's documentation (not its
/// code), so these tests also pin the documented format.
pub(crate) fn canonical_row(conn: &Connection, seq: i64) -> Vec<u8> {
    let columns = "seq, ts, time_source, clock_sync, actor_kind, actor, source, interface, \
                   category, action, target, outcome, severity, details";
    conn.query_row(
        &format!("SELECT {columns} FROM events WHERE seq = ?1"),
        [seq],
        |row| {
            let mut out = vec![0x01];
            for i in 0..14 {
                match row.get_ref(i)? {
                    ValueRef::Null => out.push(0x00),
                    ValueRef::Integer(v) => {
                        out.push(0x01);
                        out.extend_from_slice(&v.to_be_bytes());
                    }
                    ValueRef::Text(t) => {
                        out.push(0x02);
                        out.extend_from_slice(&(t.len() as u32).to_be_bytes());
                        out.extend_from_slice(t);
                    }
                    other => panic!("unexpected column type {other:?}"),
                }
            }
            Ok(out)
        },
    )
    .unwrap()
}

pub(crate) fn chain_hash(prev: &[u8; 32], canonical: &[u8]) -> [u8; 32] {
    let mut hasher = Sha256::new();
    hasher.update(prev);
    hasher.update(canonical);
    hasher.finish()
}

/// One tampering scenario on a fresh store of 100 events (checkpoints at 25, 50, 75, 100).
pub(crate) struct Case {
    pub(crate) name: &'static str,
    pub(crate) tamper: &'static str,
    pub(crate) kind: FindingKind,
    pub(crate) first: u64,
    pub(crate) last: u64,
}

/// Runs each case and checks verification reports the kind and location, naming the case on
/// failure.
pub(crate) fn check(cases: &[Case]) {
    for case in cases {
        let fixture = Fixture::with_events(100);
        assert!(
            fixture.verify().is_intact(),
            "{}: intact before tampering",
            case.name
        );
        fixture.tamper(case.tamper);
        expect_finding(
            &fixture.verify(),
            case.kind,
            case.first,
            case.last,
            case.name,
        );
    }
}

pub(crate) fn expect_finding(
    report: &VerifyReport,
    kind: FindingKind,
    first: u64,
    last: u64,
    name: &str,
) {
    let finding = report
        .first_problem()
        .unwrap_or_else(|| panic!("{name}: no finding: {report}"));
    assert_eq!(
        (finding.kind(), finding.first_seq(), finding.last_seq()),
        (kind, first, last),
        "{name}: {report}"
    );
    assert_eq!(report.first_bad_seq(), Some(first), "{name}");
    assert!(
        report
            .statement()
            .starts_with(&format!("TAMPERED: first bad seq {first}")),
        "{name}"
    );
}

/// Set for the child process of [`OtherWriter`]: the store directory it opens.
pub(crate) const OTHER_WRITER_DIR: &str = "RAMPART_AUDIT_OTHER_WRITER_DIR";

/// A writer in another process (this test binary, started again) that holds the store open
/// until it is killed: a running gateway next to the test, or one that crashes.
pub(crate) struct OtherWriter(Child);

impl OtherWriter {
    /// Starts the child and waits (at most a minute) until its store is open.
    pub(crate) fn start(dir: &Path) -> OtherWriter {
        let mut child = Command::new(std::env::current_exe().unwrap())
            .args([
                "misreported_shutdown::child_holding_the_trail_open",
                "--exact",
                "--nocapture",
            ])
            .env(OTHER_WRITER_DIR, dir)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let (opened, is_open) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if line == "OPEN" {
                    let _ = opened.send(());
                }
            }
        });
        is_open
            .recv_timeout(Duration::from_mins(1))
            .expect("the other writer opened the store");
        OtherWriter(child)
    }

    /// SIGKILL: the writer ends without closing.
    pub(crate) fn kill(mut self) {
        self.0.kill().unwrap();
        self.0.wait().unwrap();
    }
}

impl Drop for OtherWriter {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}
