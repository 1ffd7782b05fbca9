//! Audit trails for the unit tests: a store in a temporary directory with a clock the test
//! controls.

use std::sync::Arc;
use std::time::Duration;

use rampart_audit::testing::{insecure_signing_key, sample_event};
use rampart_audit::{AuditEvent, AuditStore, ManualClock, NewEvent, StoreConfig, Timestamp};
use tempfile::TempDir;

/// 2024-01-01T00:00:00Z.
pub(crate) const START: i64 = 1_704_067_200_000_000;

pub(crate) struct Trail {
    pub(crate) dir: TempDir,
    pub(crate) clock: ManualClock,
    pub(crate) store: AuditStore,
}

impl Trail {
    /// An open store without lifecycle events (event `n` is sample `n`), a checkpoint every
    /// `checkpoint_every` events.
    pub(crate) fn new(config: StoreConfig) -> Trail {
        let dir = tempfile::tempdir().unwrap();
        let clock = ManualClock::new(Timestamp::from_unix_micros(START).unwrap());
        let store = AuditStore::open(
            &dir.path().join("audit"),
            config.lifecycle_events(false),
            Arc::new(clock.clone()),
            Arc::new(insecure_signing_key(1)),
        )
        .unwrap();
        Trail { dir, clock, store }
    }

    pub(crate) fn with_checkpoints(every: u64) -> Trail {
        Trail::new(StoreConfig::default().checkpoint_every(every).unwrap())
    }

    pub(crate) fn audit_dir(&self) -> std::path::PathBuf {
        self.dir.path().join("audit")
    }

    /// Appends samples `from..=to`, one millisecond apart.
    pub(crate) fn append_samples(&self, from: u64, to: u64) {
        for i in from..=to {
            self.append(sample_event(i));
        }
    }

    pub(crate) fn append(&self, event: NewEvent) -> AuditEvent {
        self.clock.advance(Duration::from_millis(1));
        let seq = self.store.append(event).unwrap().seq();
        self.store.reader().unwrap().event(seq).unwrap().unwrap()
    }
}
