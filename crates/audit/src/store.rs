//! The durable store: one writer thread, group commit, checkpoints, capacity.
//!
//! Callers on any thread hand events to the writer over a channel. The writer takes everything
//! queued (up to a batch limit), appends it in one transaction, commits with one fsync, and only
//! then acknowledges each append. While one batch is being fsynced the next one queues, so the
//! cost of an fsync is shared by every event that arrived during the previous one.

use std::collections::VecDeque;
use std::future::Future;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::task::{Context, Poll, Waker};
use std::thread::JoinHandle;
use std::time::Duration;

use crossbeam_channel::{Receiver, RecvTimeoutError, Sender};
use rusqlite::{Connection, OptionalExtension, params};
use serde_json::json;

use crate::chain::{AuditEntryHash, Encoder};
use crate::checkpoint::{CheckpointSigner, checkpoint_message, prune_message};
use crate::clock::{Clock, Timestamp};
use crate::db::{self, seq_of, sqlite_error};
use crate::error::StoreError;
use crate::event::{Actor, Category, NewEvent, Severity};
use crate::query::AuditReader;
use crate::writers::{self, Census, Registration};

/// What the store does when it holds its maximum number of events (CR 2.9, CR 2.10).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
#[non_exhaustive]
pub enum OnFull {
    /// Delete the oldest events and record a signed prune record stating the deleted range and
    /// the chain hash at the cut, plus an `audit.pruned` event. Recording never stops.
    #[default]
    OverwriteOldest,
    /// Refuse appends that are not essential with [`StoreError::Full`], and raise an alarm
    /// (an `audit.capacity.full` event from the reserve, and the alarm callback). Nothing old is
    /// lost; new routine events are refused, loudly.
    Stop,
}

/// Storage capacity and the response to running out of it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Capacity {
    max_events: u64,
    warn_percent: u8,
    on_full: OnFull,
    reserve: u64,
    prune_batch: u64,
}

impl Capacity {
    /// At most `max_events` events, with the defaults: warn at 80 %, overwrite the oldest when
    /// full, prune 1 % at a time, keep a reserve of 1 % (at least 16) for essential events.
    ///
    /// # Errors
    /// [`StoreError::Config`] when `max_events` is zero.
    pub fn new(max_events: u64) -> Result<Capacity, StoreError> {
        if max_events == 0 {
            return Err(StoreError::Config(
                "capacity max_events must be at least 1".into(),
            ));
        }
        Ok(Capacity {
            max_events,
            warn_percent: 80,
            on_full: OnFull::OverwriteOldest,
            reserve: (max_events / 100).max(16),
            prune_batch: (max_events / 100).max(1),
        })
    }

    /// Warns (event and callback) when the store reaches `percent` of its maximum.
    ///
    /// # Errors
    /// [`StoreError::Config`] unless `1 <= percent <= 100`.
    pub fn warn_at_percent(mut self, percent: u8) -> Result<Capacity, StoreError> {
        if !(1..=100).contains(&percent) {
            return Err(StoreError::Config(format!(
                "capacity warning threshold {percent} % is not within 1..=100"
            )));
        }
        self.warn_percent = percent;
        Ok(self)
    }

    /// The response when full.
    #[must_use]
    pub fn on_full(mut self, on_full: OnFull) -> Capacity {
        self.on_full = on_full;
        self
    }

    /// How many of the oldest events one prune deletes under [`OnFull::OverwriteOldest`].
    ///
    /// # Errors
    /// [`StoreError::Config`] unless `1 <= events <= max_events`.
    pub fn prune_batch(mut self, events: u64) -> Result<Capacity, StoreError> {
        if events == 0 || events > self.max_events {
            return Err(StoreError::Config(format!(
                "prune batch {events} is not within 1..={}",
                self.max_events
            )));
        }
        self.prune_batch = events;
        Ok(self)
    }

    /// How many events beyond the maximum essential events (and the store's own alarms) may
    /// use under [`OnFull::Stop`].
    #[must_use]
    pub fn essential_reserve(mut self, events: u64) -> Capacity {
        self.reserve = events;
        self
    }

    /// The maximum number of events.
    pub fn max_events(&self) -> u64 {
        self.max_events
    }

    /// The response when full.
    pub fn policy(&self) -> OnFull {
        self.on_full
    }
}

impl Default for Capacity {
    /// Ten million events (a few GB), the other settings as [`Capacity::new`].
    fn default() -> Capacity {
        Capacity {
            max_events: 10_000_000,
            warn_percent: 80,
            on_full: OnFull::OverwriteOldest,
            reserve: 100_000,
            prune_batch: 100_000,
        }
    }
}

/// A capacity notification, given to the alarm callback as it happens (CR 2.9, CR 2.10).
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum CapacityAlarm {
    /// The store reached the warning threshold.
    Threshold {
        /// Events stored.
        stored: u64,
        /// The maximum.
        max: u64,
        /// The threshold in percent.
        percent: u8,
    },
    /// The oldest events were deleted under [`OnFull::OverwriteOldest`].
    Pruned {
        /// The first deleted sequence number.
        first_seq: u64,
        /// The last deleted sequence number.
        last_seq: u64,
    },
    /// The store is full under [`OnFull::Stop`]; routine events are now refused.
    Full {
        /// Events stored.
        stored: u64,
        /// The maximum.
        max: u64,
    },
}

/// The alarm callback. It runs on the writer thread: it must return quickly and must not wait
/// for an append to this store (that would deadlock).
pub type AlarmHook = Arc<dyn Fn(&CapacityAlarm) + Send + Sync>;

/// How the store runs: checkpoint cadence, capacity, batching.
#[derive(Clone)]
pub struct StoreConfig {
    checkpoint_every: u64,
    checkpoint_interval: Duration,
    capacity: Capacity,
    max_batch: usize,
    lifecycle_events: bool,
    alarm: Option<AlarmHook>,
}

impl std::fmt::Debug for StoreConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StoreConfig")
            .field("checkpoint_every", &self.checkpoint_every)
            .field("checkpoint_interval", &self.checkpoint_interval)
            .field("capacity", &self.capacity)
            .field("max_batch", &self.max_batch)
            .field("lifecycle_events", &self.lifecycle_events)
            .field("alarm", &self.alarm.is_some())
            .finish()
    }
}

impl Default for StoreConfig {
    /// A checkpoint every 10,000 events or 60 s, [`Capacity::default`], batches of up to 8,192
    /// events, lifecycle events on, no alarm callback.
    fn default() -> StoreConfig {
        StoreConfig {
            checkpoint_every: 10_000,
            checkpoint_interval: Duration::from_mins(1),
            capacity: Capacity::default(),
            max_batch: 8192,
            lifecycle_events: true,
            alarm: None,
        }
    }
}

impl StoreConfig {
    /// Signs a checkpoint after every `events` events.
    ///
    /// # Errors
    /// [`StoreError::Config`] when `events` is zero.
    pub fn checkpoint_every(mut self, events: u64) -> Result<StoreConfig, StoreError> {
        if events == 0 {
            return Err(StoreError::Config(
                "checkpoint_every must be at least 1".into(),
            ));
        }
        self.checkpoint_every = events;
        Ok(self)
    }

    /// Signs a checkpoint when `interval` has passed since the last one and events are
    /// unsigned, even if fewer than `checkpoint_every` arrived.
    ///
    /// # Errors
    /// [`StoreError::Config`] when `interval` is zero.
    pub fn checkpoint_interval(mut self, interval: Duration) -> Result<StoreConfig, StoreError> {
        if interval.is_zero() {
            return Err(StoreError::Config(
                "checkpoint_interval must not be zero".into(),
            ));
        }
        self.checkpoint_interval = interval;
        Ok(self)
    }

    /// The capacity and its policy.
    #[must_use]
    pub fn capacity(mut self, capacity: Capacity) -> StoreConfig {
        self.capacity = capacity;
        self
    }

    /// The most events one transaction holds.
    ///
    /// # Errors
    /// [`StoreError::Config`] when `events` is zero.
    pub fn max_batch(mut self, events: usize) -> Result<StoreConfig, StoreError> {
        if events == 0 {
            return Err(StoreError::Config("max_batch must be at least 1".into()));
        }
        self.max_batch = events;
        Ok(self)
    }

    /// Whether the store records its own start (`audit.opened`, saying whether the previous
    /// run ended cleanly) and stop (`audit.closed`). On by default.
    #[must_use]
    pub fn lifecycle_events(mut self, on: bool) -> StoreConfig {
        self.lifecycle_events = on;
        self
    }

    /// Calls `hook` for every capacity notification (threshold, prune, full).
    #[must_use]
    pub fn on_alarm(mut self, hook: AlarmHook) -> StoreConfig {
        self.alarm = Some(hook);
        self
    }
}

/// Proof that an event is durable: the store committed it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Receipt {
    seq: u64,
    timestamp: Timestamp,
    hash: AuditEntryHash,
}

impl Receipt {
    /// The event's sequence number.
    pub fn seq(&self) -> u64 {
        self.seq
    }

    /// The event's timestamp.
    pub fn timestamp(&self) -> Timestamp {
        self.timestamp
    }

    /// The chain hash after the event.
    pub fn hash(&self) -> AuditEntryHash {
        self.hash
    }
}

/// A snapshot of the store's state.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct StoreStatus {
    /// The first stored sequence number (`None` when empty).
    pub first_seq: Option<u64>,
    /// The last stored sequence number (`None` when empty).
    pub last_seq: Option<u64>,
    /// Events stored.
    pub stored: u64,
    /// The configured maximum.
    pub max_events: u64,
    /// The sequence number of the last signed checkpoint, if any.
    pub last_checkpoint: Option<u64>,
    /// Whether the warning threshold has been reached.
    pub threshold_reached: bool,
    /// Whether the store is full under [`OnFull::Stop`] and refusing routine events.
    pub refusing: bool,
    /// What the store does when full.
    pub on_full: OnFull,
    /// A signed checkpoint every this many events.
    pub checkpoint_every: u64,
}

/// An append on its way: wait for it with [`Pending::wait`] or `.await` it.
///
/// Submitting many appends before waiting lets one thread keep the writer's batches full; the
/// order of submission from one thread is the order of the sequence numbers.
#[must_use = "an append is acknowledged only when waited for"]
#[derive(Debug)]
pub struct Pending {
    slot: Arc<Slot>,
}

impl Pending {
    /// Blocks until the event is committed (or refused).
    ///
    /// # Errors
    /// As [`AuditStore::append`].
    pub fn wait(self) -> Result<Receipt, StoreError> {
        let mut state = self.slot.lock();
        loop {
            if let Some(result) = state.result.take() {
                return result;
            }
            state = self
                .slot
                .ready
                .wait(state)
                .unwrap_or_else(PoisonError::into_inner);
        }
    }
}

impl Future for Pending {
    type Output = Result<Receipt, StoreError>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let mut state = self.slot.lock();
        if let Some(result) = state.result.take() {
            Poll::Ready(result)
        } else {
            state.waker = Some(cx.waker().clone());
            Poll::Pending
        }
    }
}

#[derive(Debug, Default)]
struct Slot {
    state: Mutex<SlotState>,
    ready: Condvar,
}

#[derive(Debug, Default)]
struct SlotState {
    result: Option<Result<Receipt, StoreError>>,
    waker: Option<Waker>,
}

impl Slot {
    fn lock(&self) -> MutexGuard<'_, SlotState> {
        // A panic while holding this lock cannot leave the state half-written.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn complete(&self, result: Result<Receipt, StoreError>) {
        let waker = {
            let mut state = self.lock();
            state.result = Some(result);
            state.waker.take()
        };
        self.ready.notify_all();
        if let Some(waker) = waker {
            waker.wake();
        }
    }
}

/// The writer's handle on one append's slot. Dropping it unanswered (a bug, or a panic on the
/// writer thread) answers [`StoreError::Closed`], so no caller ever waits forever.
#[derive(Debug)]
struct Ack(Option<Arc<Slot>>);

impl Ack {
    fn complete(mut self, result: Result<Receipt, StoreError>) {
        if let Some(slot) = self.0.take() {
            slot.complete(result);
        }
    }
}

impl Drop for Ack {
    fn drop(&mut self) {
        if let Some(slot) = self.0.take() {
            slot.complete(Err(StoreError::Closed));
        }
    }
}

enum Command {
    Append(NewEvent, Ack),
    Checkpoint(Sender<Result<Option<u64>, StoreError>>),
    Close(Sender<Result<(), StoreError>>),
}

/// The tamper-evident audit store (CR 2.8, CR 2.9, CR 2.10, CR 3.9).
///
/// Share it between threads by reference or `Arc`. Every method that appends waits for (or
/// returns a [`Pending`] for) a durable commit. No method modifies or deletes an event; the
/// only removal is pruning under [`OnFull::OverwriteOldest`], which is signed and recorded.
pub struct AuditStore {
    dir: PathBuf,
    commands: Sender<Command>,
    status: Arc<Mutex<StoreStatus>>,
    writer: Mutex<Option<JoinHandle<()>>>,
}

impl std::fmt::Debug for AuditStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AuditStore")
            .field("dir", &self.dir)
            .finish_non_exhaustive()
    }
}

impl AuditStore {
    /// Opens the store in `dir` (created with mode 0700 if missing; the database file is
    /// `dir/audit.sqlite3`, mode 0600) and starts its writer thread.
    ///
    /// With lifecycle events on, the first event recorded is `audit.opened`, whose details say
    /// whether the previous run closed cleanly: `previous_shutdown` is `none (new store)`,
    /// `clean`, `unclean (crash or kill): …` (a writer ended without closing; with the count
    /// in `writers_ended_uncleanly` when its registration was found), or `not applicable: …`
    /// when another writer holds the trail open now (`running_writers`). Each open store holds
    /// a lock file in `dir/writers/` for as long as it runs, which is how the next open tells
    /// a crash from a live writer; only a writer that appends needs to open the store, readers
    /// use [`AuditReader`] and [`crate::verify`], which never write.
    ///
    /// # Errors
    /// [`StoreError`] when the directory or file cannot be created or opened, or the file is
    /// not an audit store of this format.
    pub fn open(
        dir: &Path,
        config: StoreConfig,
        clock: Arc<dyn Clock>,
        signer: Arc<dyn CheckpointSigner>,
    ) -> Result<AuditStore, StoreError> {
        let conn = db::open_writer(dir, &signer.public_key().to_bytes())?;
        let path = db::store_path(dir);
        let lifecycle = config.lifecycle_events;
        // Count the writers registered before this one, then read the shutdown flag: a crashed
        // writer's registration is found here, a live writer's is left alone.
        let (registration, census) = writers::register(dir)?;
        let writer = match Writer::recover(conn, path, config, clock, signer, census) {
            Ok(writer) => writer.registered(registration),
            Err(e) => {
                let _ = registration.withdraw();
                return Err(e);
            }
        };
        let status = Arc::new(Mutex::new(writer.status()));
        // Bounded: under overload, submitters wait for the writer instead of growing memory.
        let (commands, receiver) = crossbeam_channel::bounded(QUEUE_LIMIT);
        let previous = writer.previous;
        let last_seq_before = writer.next_seq - 1;
        let thread = {
            let status = Arc::clone(&status);
            std::thread::Builder::new()
                .name("rampart-audit-writer".into())
                .spawn(move || writer.run(&receiver, &status))
                .map_err(|e| StoreError::Io {
                    path: dir.to_path_buf(),
                    context: "starting the writer thread",
                    source: Arc::new(e),
                })?
        };
        let store = AuditStore {
            dir: dir.to_path_buf(),
            commands,
            status,
            writer: Mutex::new(Some(thread)),
        };
        if lifecycle {
            let mut details = json!({
                "previous_shutdown": previous.describe(),
                "last_seq": last_seq_before,
            });
            match previous {
                Previous::Unclean { writers } if writers > 0 => {
                    details["writers_ended_uncleanly"] = json!(writers);
                }
                Previous::StillOpen { writers } => details["running_writers"] = json!(writers),
                _ => {}
            }
            let opened =
                NewEvent::builder(Category::AuditLog, "audit.opened", Actor::audit_store())
                    .severity(if matches!(previous, Previous::Unclean { .. }) {
                        Severity::Warning
                    } else {
                        Severity::Notice
                    })
                    .details(details)
                    .essential()
                    .build()
                    .map_err(|e| StoreError::Config(e.to_string()))?;
            match store.append(opened) {
                // A full store must not stop the component from starting; the refusal has
                // already raised the alarm.
                Ok(_) | Err(StoreError::Full { .. } | StoreError::ReserveExhausted { .. }) => {}
                Err(e) => return Err(e),
            }
        }
        Ok(store)
    }

    /// The directory the store lives in.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Appends `event` and waits until it is durable.
    ///
    /// # Errors
    /// [`StoreError::Full`] / [`StoreError::ReserveExhausted`] under [`OnFull::Stop`];
    /// [`StoreError::Sqlite`] when the commit failed (nothing of its batch was recorded);
    /// [`StoreError::Closed`] after [`AuditStore::close`].
    pub fn append(&self, event: NewEvent) -> Result<Receipt, StoreError> {
        self.submit(event).wait()
    }

    /// Hands `event` to the writer without waiting; the [`Pending`] resolves once it is
    /// durable. Use it to keep many appends in flight from one thread or task. Blocks only
    /// when 65,536 appends are already queued, until the writer catches up.
    pub fn submit(&self, event: NewEvent) -> Pending {
        let slot = Arc::new(Slot::default());
        // If the writer is gone the command comes back in the error and is dropped, and its
        // `Ack` answers `Closed`.
        let _ = self
            .commands
            .send(Command::Append(event, Ack(Some(Arc::clone(&slot)))));
        Pending { slot }
    }

    /// Signs a checkpoint now if any event is unsigned; returns its sequence number.
    ///
    /// # Errors
    /// [`StoreError`] when the commit failed or the store is closed.
    pub fn checkpoint(&self) -> Result<Option<u64>, StoreError> {
        let (reply, answer) = crossbeam_channel::bounded(1);
        self.commands
            .send(Command::Checkpoint(reply))
            .map_err(|_| StoreError::Closed)?;
        answer.recv().map_err(|_| StoreError::Closed)?
    }

    /// The store's state after the last committed batch.
    pub fn status(&self) -> StoreStatus {
        *self.status.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// A reader on the store for queries (its own `SQLite` connection).
    ///
    /// # Errors
    /// [`StoreError`] when the file cannot be opened.
    pub fn reader(&self) -> Result<AuditReader, StoreError> {
        AuditReader::open(&self.dir)
    }

    /// Records `audit.closed` (with lifecycle events on), signs a final checkpoint, marks the
    /// shutdown clean and stops the writer. Appends after this fail with
    /// [`StoreError::Closed`]. Calling it again does nothing. Dropping the store closes it too,
    /// but ignores errors.
    ///
    /// # Errors
    /// [`StoreError`] when the final commit failed.
    pub fn close(&self) -> Result<(), StoreError> {
        let mut writer = self.writer.lock().unwrap_or_else(PoisonError::into_inner);
        let Some(thread) = writer.take() else {
            return Ok(());
        };
        let (reply, answer) = crossbeam_channel::bounded(1);
        let result = match self.commands.send(Command::Close(reply)) {
            Ok(()) => answer.recv().unwrap_or(Err(StoreError::Closed)),
            Err(_) => Err(StoreError::Closed),
        };
        // The writer exits right after replying; a panic there has already failed the reply.
        let _ = thread.join();
        result
    }
}

impl Drop for AuditStore {
    fn drop(&mut self) {
        let _ = self.close();
    }
}

/// How many commands may wait for the writer.
const QUEUE_LIMIT: usize = 65_536;

/// The head of the chain as the database holds it.
struct StoredHead {
    next_seq: u64,
    last_hash: AuditEntryHash,
    first_seq: u64,
    last_checkpoint: u64,
    last_checkpoint_at: Timestamp,
}

/// Reads the head of the chain. Called at open and again inside every write transaction, after
/// `BEGIN IMMEDIATE` holds the write lock, so that several processes (the gateway and a CLI
/// command) can append to one trail and the chain stays one chain.
fn read_head(conn: &Connection, path: &Path, now: Timestamp) -> Result<StoredHead, StoreError> {
    let path = path.to_path_buf();
    let read = |context| sqlite_error(&path, context);
    let last: Option<(i64, Vec<u8>)> = conn
        .query_row(
            "SELECT seq, hash FROM events ORDER BY seq DESC LIMIT 1",
            [],
            |row| Ok((row.get(0)?, row.get(1)?)),
        )
        .optional()
        .map_err(read("reading the last event"))?;
    let first: Option<i64> = conn
        .query_row(
            "SELECT seq FROM events ORDER BY seq ASC LIMIT 1",
            [],
            |row| row.get(0),
        )
        .optional()
        .map_err(read("reading the first event"))?;
    let pruned: Option<(i64, Vec<u8>)> = conn
        .query_row(
            "SELECT last_seq, hash FROM prunes ORDER BY last_seq DESC LIMIT 1",
            [],
            |row| Ok((row.get(0)?, row.get(1)?)),
        )
        .optional()
        .map_err(read("reading the last prune record"))?;
    let checkpoint: Option<(i64, i64)> = conn
        .query_row(
            "SELECT seq, ts FROM checkpoints ORDER BY seq DESC LIMIT 1",
            [],
            |row| Ok((row.get(0)?, row.get(1)?)),
        )
        .optional()
        .map_err(read("reading the last checkpoint"))?;
    let corrupt = |column: &'static str, seq: u64| StoreError::Corrupt {
        path: path.clone(),
        seq,
        column,
        value: "not a 32-byte hash".into(),
    };
    let pruned_through = pruned.as_ref().map_or(0, |(seq, _)| seq_of(*seq));
    let (next_seq, last_hash) = match (last, pruned) {
        (Some((seq, hash)), _) => {
            let seq = seq_of(seq);
            (
                seq + 1,
                AuditEntryHash::from_slice(&hash).ok_or_else(|| corrupt("hash", seq))?,
            )
        }
        (None, Some((seq, hash))) => {
            let seq = seq_of(seq);
            (
                seq + 1,
                AuditEntryHash::from_slice(&hash).ok_or_else(|| corrupt("prune hash", seq))?,
            )
        }
        (None, None) => (1, AuditEntryHash::genesis()),
    };
    let (last_checkpoint, last_checkpoint_at) = match checkpoint {
        Some((seq, ts)) => (seq_of(seq), Timestamp::from_unix_micros(ts).unwrap_or(now)),
        None => (0, now),
    };
    // A prune record signs the chain at its cut, so it counts as a checkpoint.
    let last_checkpoint = last_checkpoint.max(pruned_through);
    Ok(StoredHead {
        next_seq,
        last_hash,
        first_seq: first.map_or(next_seq, seq_of),
        last_checkpoint,
        last_checkpoint_at,
    })
}

/// How the trail was left before this store opened it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Previous {
    /// A new store.
    New,
    /// The last writer closed it.
    Clean,
    /// A writer ended without closing: `writers` registrations found, or 0 when only the
    /// stored flag says so (a store from before the registry, or restored from a backup).
    Unclean { writers: usize },
    /// Other writers hold it open now, so there is no previous shutdown to report.
    StillOpen { writers: usize },
}

impl Previous {
    fn describe(self) -> &'static str {
        match self {
            Previous::New => "none (new store)",
            Previous::Clean => "clean",
            Previous::Unclean { .. } => {
                "unclean (crash or kill): events after the last checkpoint are unsigned"
            }
            Previous::StillOpen { .. } => {
                "not applicable: the trail is held open by another running writer"
            }
        }
    }
}

/// The writer thread's state: the head of the chain and the capacity bookkeeping.
struct Writer {
    conn: Connection,
    path: PathBuf,
    config: StoreConfig,
    clock: Arc<dyn Clock>,
    signer: Arc<dyn CheckpointSigner>,
    head: Head,
    previous: Previous,
    /// This writer's entry in the registry, until it closes.
    registration: Option<Registration>,
    encoder: Encoder,
    /// When the signer last failed (a TPM that did not answer): due checkpoints wait
    /// [`SIGNING_RETRY`] from then, so that a missing TPM does not hold every batch for its
    /// timeout. An explicit checkpoint request still tries at once.
    signing_failed_at: Option<Timestamp>,
}

/// How long due checkpoints wait after the signer failed.
const SIGNING_RETRY: Duration = Duration::from_mins(1);

/// Everything a failed transaction must roll back.
#[derive(Clone, Copy, Debug)]
struct Head {
    next_seq: u64,
    last_hash: AuditEntryHash,
    first_seq: u64,
    last_checkpoint: u64,
    last_checkpoint_at: Timestamp,
    warned: bool,
    refusing: bool,
}

impl std::ops::Deref for Writer {
    type Target = Head;
    fn deref(&self) -> &Head {
        &self.head
    }
}

impl Writer {
    fn recover(
        conn: Connection,
        path: PathBuf,
        config: StoreConfig,
        clock: Arc<dyn Clock>,
        signer: Arc<dyn CheckpointSigner>,
        census: Census,
    ) -> Result<Writer, StoreError> {
        let now = clock.read().at;
        let stored = read_head(&conn, &path, now)?;
        let flag = db::meta(&conn, &path, "clean_shutdown")?;
        let previous = if census.ended_uncleanly > 0 {
            Previous::Unclean {
                writers: census.ended_uncleanly,
            }
        } else if census.live > 0 {
            Previous::StillOpen {
                writers: census.live,
            }
        } else {
            match flag.as_deref() {
                None if stored.next_seq == 1 => Previous::New,
                Some("1") => Previous::Clean,
                _ => Previous::Unclean { writers: 0 },
            }
        };
        db::set_meta(&conn, &path, "clean_shutdown", "0")?;
        Ok(Writer {
            conn,
            path,
            config,
            clock,
            signer,
            head: Head {
                next_seq: stored.next_seq,
                last_hash: stored.last_hash,
                first_seq: stored.first_seq,
                last_checkpoint: stored.last_checkpoint,
                last_checkpoint_at: stored.last_checkpoint_at,
                warned: false,
                refusing: false,
            },
            previous,
            registration: None,
            encoder: Encoder::with_capacity(1024),
            signing_failed_at: None,
        })
    }

    fn registered(mut self, registration: Registration) -> Writer {
        self.registration = Some(registration);
        self
    }

    fn stored(&self) -> u64 {
        self.next_seq - self.first_seq
    }

    fn status(&self) -> StoreStatus {
        let last = self.next_seq - 1;
        StoreStatus {
            first_seq: (self.stored() > 0).then_some(self.first_seq),
            last_seq: (self.stored() > 0).then_some(last),
            stored: self.stored(),
            max_events: self.config.capacity.max_events,
            on_full: self.config.capacity.on_full,
            checkpoint_every: self.config.checkpoint_every,
            last_checkpoint: (self.last_checkpoint > 0).then_some(self.last_checkpoint),
            threshold_reached: self.warned,
            refusing: self.refusing,
        }
    }

    fn run(mut self, commands: &Receiver<Command>, status: &Mutex<StoreStatus>) {
        // Wake at least this often when idle, so the time-based checkpoint happens without
        // traffic.
        let tick = self.config.checkpoint_interval.min(Duration::from_secs(1));
        let mut batch = Vec::with_capacity(self.config.max_batch);
        loop {
            match commands.recv_timeout(tick) {
                Ok(command) => batch.push(command),
                Err(RecvTimeoutError::Timeout) => {
                    if self.checkpoint_due() {
                        // A failure here is retried at the next tick; there is no caller to
                        // tell, and the events stay chained.
                        let _ = self.transaction(|w| w.checkpoint().map(|_| ()));
                        *status.lock().unwrap_or_else(PoisonError::into_inner) = self.status();
                    }
                    continue;
                }
                Err(RecvTimeoutError::Disconnected) => {
                    let _ = self.shutdown();
                    return;
                }
            }
            while batch.len() < self.config.max_batch {
                match commands.try_recv() {
                    Ok(command) => batch.push(command),
                    Err(_) => break,
                }
            }
            let close = self.process(&mut batch, status);
            if let Some(reply) = close {
                let result = self.shutdown();
                *status.lock().unwrap_or_else(PoisonError::into_inner) = self.status();
                let _ = reply.send(result);
                // Anything queued behind the close is refused, not dropped silently.
                for command in commands.try_iter() {
                    refuse(command);
                }
                return;
            }
        }
    }

    /// Runs one batch in one transaction; returns the close request if the batch held one. The
    /// status is updated before any append is acknowledged, so a caller that got its receipt
    /// sees the state that includes its event.
    fn process(
        &mut self,
        batch: &mut Vec<Command>,
        status: &Mutex<StoreStatus>,
    ) -> Option<Sender<Result<(), StoreError>>> {
        let mut acks: Vec<(Ack, Result<Receipt, StoreError>)> = Vec::with_capacity(batch.len());
        let mut checkpoint_replies = Vec::new();
        let mut checkpointed = Ok(None);
        let mut close = None;
        let mut queue: VecDeque<Command> = batch.drain(..).collect();
        let result = self.transaction(|w| {
            while let Some(command) = queue.pop_front() {
                match command {
                    Command::Append(event, slot) => match w.append(&event) {
                        Ok(receipt) => acks.push((slot, Ok(receipt))),
                        Err(
                            e @ (StoreError::Full { .. } | StoreError::ReserveExhausted { .. }),
                        ) => {
                            acks.push((slot, Err(e)));
                        }
                        Err(e) => {
                            acks.push((slot, Err(e.clone())));
                            return Err(e);
                        }
                    },
                    Command::Checkpoint(reply) => checkpoint_replies.push(reply),
                    Command::Close(reply) => close = Some(reply),
                }
            }
            if !checkpoint_replies.is_empty() || w.checkpoint_due() {
                match w.checkpoint() {
                    Ok(signed) => checkpointed = Ok(signed),
                    // The key could not sign: the events stay chained and are signed at a
                    // later checkpoint; the appends of this batch stand, and only a caller
                    // who asked for the checkpoint hears of it.
                    Err(error @ StoreError::Signing { .. }) => checkpointed = Err(error),
                    Err(error) => return Err(error),
                }
            }
            Ok(())
        });
        match result {
            Ok(()) => {
                for reply in checkpoint_replies {
                    let _ = reply.send(checkpointed.clone());
                }
            }
            Err(error) => {
                for (_, ack) in &mut acks {
                    if ack.is_ok() {
                        *ack = Err(error.clone());
                    }
                }
                for reply in checkpoint_replies {
                    let _ = reply.send(Err(error.clone()));
                }
                // Commands after the failure never ran: they fail with the same error.
                for command in queue {
                    match command {
                        Command::Append(_, ack) => acks.push((ack, Err(error.clone()))),
                        Command::Checkpoint(reply) => {
                            let _ = reply.send(Err(error.clone()));
                        }
                        Command::Close(reply) => close = Some(reply),
                    }
                }
            }
        }
        *status.lock().unwrap_or_else(PoisonError::into_inner) = self.status();
        for (ack, result) in acks {
            ack.complete(result);
        }
        close
    }

    /// Runs `body` in a transaction; on failure rolls back both `SQLite` and the chain head.
    fn transaction(
        &mut self,
        body: impl FnOnce(&mut Writer) -> Result<(), StoreError>,
    ) -> Result<(), StoreError> {
        let saved = self.head;
        let begin = self.conn.execute_batch("BEGIN IMMEDIATE");
        begin.map_err(sqlite_error(&self.path, "beginning a transaction"))?;
        // Another process may have appended since our last transaction: continue its chain.
        let refreshed = read_head(&self.conn, &self.path, self.clock.read().at).map(|stored| {
            self.head.next_seq = stored.next_seq;
            self.head.last_hash = stored.last_hash;
            self.head.first_seq = stored.first_seq;
            // Only another process's newer checkpoint moves the interval timer.
            if stored.last_checkpoint > self.head.last_checkpoint {
                self.head.last_checkpoint = stored.last_checkpoint;
                self.head.last_checkpoint_at = stored.last_checkpoint_at;
            }
        });
        let result = refreshed.and_then(|()| body(self)).and_then(|()| {
            self.conn
                .execute_batch("COMMIT")
                .map_err(sqlite_error(&self.path, "committing"))
        });
        if result.is_err() {
            let _ = self.conn.execute_batch("ROLLBACK");
            self.head = saved;
        }
        result
    }

    fn append(&mut self, event: &NewEvent) -> Result<Receipt, StoreError> {
        let capacity = self.config.capacity;
        if self.stored() >= capacity.max_events {
            match capacity.on_full {
                OnFull::OverwriteOldest => self.prune()?,
                OnFull::Stop => {
                    self.raise_full()?;
                    if !event.essential {
                        return Err(StoreError::Full {
                            stored: self.stored(),
                            max: capacity.max_events,
                        });
                    }
                }
            }
        }
        self.check_reserve()?;
        let receipt = self.insert(event)?;
        self.after_insert()?;
        Ok(receipt)
    }

    fn check_reserve(&self) -> Result<(), StoreError> {
        let capacity = self.config.capacity;
        if capacity.on_full == OnFull::Stop
            && self.stored() >= capacity.max_events.saturating_add(capacity.reserve)
        {
            return Err(StoreError::ReserveExhausted {
                stored: self.stored(),
                max: capacity.max_events,
                reserve: capacity.reserve,
            });
        }
        Ok(())
    }

    /// Capacity bookkeeping after an event went in: threshold warning, full alarm, checkpoint.
    fn after_insert(&mut self) -> Result<(), StoreError> {
        let capacity = self.config.capacity;
        let threshold = capacity
            .max_events
            .saturating_mul(u64::from(capacity.warn_percent))
            .div_ceil(100);
        if !self.warned && self.stored() >= threshold {
            self.head.warned = true;
            let (stored, max, percent) =
                (self.stored(), capacity.max_events, capacity.warn_percent);
            self.alarm(&CapacityAlarm::Threshold {
                stored,
                max,
                percent,
            });
            self.internal_event(
                "audit.capacity.threshold",
                Severity::Warning,
                json!({ "stored": stored, "max_events": max, "threshold_percent": percent }),
            )?;
        } else if self.warned && self.stored() < threshold {
            self.head.warned = false;
        }
        if capacity.on_full == OnFull::Stop && self.stored() >= capacity.max_events {
            self.raise_full()?;
        }
        self.checkpoint_by_count()
    }

    fn raise_full(&mut self) -> Result<(), StoreError> {
        if self.refusing {
            return Ok(());
        }
        self.head.refusing = true;
        let (stored, max) = (self.stored(), self.config.capacity.max_events);
        self.alarm(&CapacityAlarm::Full { stored, max });
        if self.check_reserve().is_ok() {
            self.internal_event(
                "audit.capacity.full",
                Severity::Alert,
                json!({
                    "stored": stored,
                    "max_events": max,
                    "policy": "stop",
                    "effect": "events not marked essential are refused",
                }),
            )?;
        }
        Ok(())
    }

    fn alarm(&self, alarm: &CapacityAlarm) {
        if let Some(hook) = &self.config.alarm {
            hook(alarm);
        }
    }

    /// An event of the store itself; it bypasses the capacity checks except the reserve.
    fn internal_event(
        &mut self,
        action: &'static str,
        severity: Severity,
        details: serde_json::Value,
    ) -> Result<(), StoreError> {
        let event = NewEvent::builder(Category::AuditLog, action, Actor::audit_store())
            .severity(severity)
            .details(details)
            .essential()
            .build()
            .map_err(|e| StoreError::Config(format!("internal event {action}: {e}")))?;
        self.insert(&event)?;
        self.checkpoint_by_count()
    }

    fn insert(&mut self, event: &NewEvent) -> Result<Receipt, StoreError> {
        let reading = self.clock.read();
        let seq = self.next_seq;
        let seq_sql = i64::try_from(seq).map_err(|_| {
            StoreError::Config(format!(
                "sequence number {seq} exceeds the SQLite integer range"
            ))
        })?;
        let ts = reading.at.unix_micros();
        self.encoder.clear();
        self.encoder.version();
        self.encoder.int(seq_sql);
        self.encoder.int(ts);
        self.encoder.text(reading.source.as_str());
        self.encoder.text(reading.sync.as_str());
        self.encoder.raw(&event.body);
        let hash = self.head.last_hash.next(self.encoder.as_bytes());
        let mut stmt = self
            .conn
            .prepare_cached(
                "INSERT INTO events (seq, ts, time_source, clock_sync, actor_kind, actor, source, \
                 interface, category, action, target, outcome, severity, details, hash) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15)",
            )
            .map_err(sqlite_error(&self.path, "preparing the insert"))?;
        stmt.execute(params![
            seq_sql,
            ts,
            reading.source.as_str(),
            reading.sync.as_str(),
            event.actor.kind().as_str(),
            event.actor.name(),
            event.source,
            event.interface,
            event.category.as_str(),
            event.action,
            event.target,
            event.outcome.as_str(),
            event.severity.code(),
            event.details,
            hash.as_bytes(),
        ])
        .map_err(sqlite_error(&self.path, "inserting an event"))?;
        self.head.next_seq += 1;
        self.head.last_hash = hash;
        Ok(Receipt {
            seq,
            timestamp: reading.at,
            hash,
        })
    }

    /// Deletes the oldest `prune_batch` events under a signed prune record, then records an
    /// `audit.pruned` event.
    fn prune(&mut self) -> Result<(), StoreError> {
        // Free at least enough room for the `audit.pruned` event and the event being appended.
        let needed = (self.stored() + 2).saturating_sub(self.config.capacity.max_events);
        let count = self
            .config
            .capacity
            .prune_batch
            .max(needed)
            .min(self.stored());
        if count == 0 {
            return Ok(());
        }
        let first = self.first_seq;
        let last = first + count - 1;
        let last_sql = to_sql_seq(last)?;
        let cut: Vec<u8> = self
            .conn
            .prepare_cached("SELECT hash FROM events WHERE seq = ?1")
            .and_then(|mut stmt| stmt.query_row([last_sql], |row| row.get(0)))
            .map_err(sqlite_error(
                &self.path,
                "reading the hash at the prune cut",
            ))?;
        let cut = AuditEntryHash::from_slice(&cut).ok_or_else(|| StoreError::Corrupt {
            path: self.path.clone(),
            seq: last,
            column: "hash",
            value: "not a 32-byte hash".into(),
        })?;
        let at = self.clock.read().at;
        let signature = self.sign(&prune_message(first, last, &cut, at))?;
        let path = self.path.clone();
        self.conn
            .execute("DELETE FROM events WHERE seq <= ?1", [last_sql])
            .map_err(sqlite_error(&path, "pruning events"))?;
        self.conn
            .execute("DELETE FROM checkpoints WHERE seq <= ?1", [last_sql])
            .map_err(sqlite_error(&path, "pruning checkpoints"))?;
        self.conn
            .execute(
                "INSERT INTO prunes (last_seq, first_seq, hash, ts, signature) VALUES (?1, ?2, ?3, ?4, ?5)",
                params![last_sql, to_sql_seq(first)?, cut.as_bytes(), at.unix_micros(), signature.as_slice()],
            )
            .map_err(sqlite_error(&path, "recording the prune"))?;
        self.head.first_seq = last + 1;
        if self.last_checkpoint < last {
            // The prune record signs the chain at the cut, so it stands in for a checkpoint.
            self.head.last_checkpoint = last;
        }
        self.alarm(&CapacityAlarm::Pruned {
            first_seq: first,
            last_seq: last,
        });
        self.internal_event(
            "audit.pruned",
            Severity::Warning,
            json!({
                "first_seq": first,
                "last_seq": last,
                "hash_at_cut": cut.to_string(),
                "reason": "capacity",
                "max_events": self.config.capacity.max_events,
            }),
        )
    }

    /// Whether the signer failed less than [`SIGNING_RETRY`] ago.
    fn signing_paused(&self, now: Timestamp) -> bool {
        self.signing_failed_at
            .is_some_and(|failed| now.duration_since(failed) < SIGNING_RETRY)
    }

    /// The checkpoint every `checkpoint_every` events. A key that cannot sign leaves the
    /// events chained for a later checkpoint: the append that made it due stands.
    fn checkpoint_by_count(&mut self) -> Result<(), StoreError> {
        let unsigned = self.next_seq - 1 - self.last_checkpoint;
        if unsigned < self.config.checkpoint_every || self.signing_paused(self.clock.read().at) {
            return Ok(());
        }
        match self.checkpoint() {
            Ok(_) | Err(StoreError::Signing { .. }) => Ok(()),
            Err(error) => Err(error),
        }
    }

    fn checkpoint_due(&self) -> bool {
        let unsigned = self.next_seq - 1 - self.last_checkpoint;
        let now = self.clock.read().at;
        if self.signing_paused(now) {
            return false;
        }
        unsigned > 0
            && (unsigned >= self.config.checkpoint_every
                || now.duration_since(self.last_checkpoint_at) >= self.config.checkpoint_interval)
    }

    /// The signer's signature of `message`; a failure pauses due checkpoints.
    fn sign(&mut self, message: &[u8]) -> Result<[u8; 64], StoreError> {
        let at = self.clock.read().at;
        self.signer
            .sign(message)
            .inspect(|_| self.signing_failed_at = None)
            .map_err(|reason| {
                self.signing_failed_at = Some(at);
                StoreError::Signing {
                    path: self.path.clone(),
                    reason,
                }
            })
    }

    /// Signs the head of the chain if any event is unsigned; returns the signed seq.
    fn checkpoint(&mut self) -> Result<Option<u64>, StoreError> {
        let seq = self.next_seq - 1;
        if seq == 0 || seq == self.last_checkpoint || self.stored() == 0 {
            return Ok((self.last_checkpoint > 0).then_some(self.last_checkpoint));
        }
        let at = self.clock.read().at;
        let signature = self.sign(&checkpoint_message(seq, &self.last_hash, at))?;
        self.conn
            .prepare_cached(
                "INSERT INTO checkpoints (seq, hash, ts, signature) VALUES (?1, ?2, ?3, ?4)",
            )
            .and_then(|mut stmt| {
                stmt.execute(params![
                    to_sql_seq(seq).unwrap_or(i64::MAX),
                    self.head.last_hash.as_bytes(),
                    at.unix_micros(),
                    signature.as_slice()
                ])
            })
            .map_err(sqlite_error(&self.path, "recording a checkpoint"))?;
        self.head.last_checkpoint = seq;
        self.head.last_checkpoint_at = at;
        Ok(Some(seq))
    }

    /// Records `audit.closed`, signs a final checkpoint and withdraws the registration; the
    /// last writer to leave marks the store closed cleanly. On failure the registration stays,
    /// so the next open reports the shutdown as unclean.
    fn shutdown(&mut self) -> Result<(), StoreError> {
        match self.registration.take() {
            Some(registration) => registration.close(|last| self.final_commit(last)),
            // Already shut down.
            None => Ok(()),
        }
    }

    fn final_commit(&mut self, last: bool) -> Result<(), StoreError> {
        let lifecycle = self.config.lifecycle_events;
        self.transaction(|w| {
            if lifecycle {
                let _ = w
                    .check_reserve()
                    .and_then(|()| w.internal_event("audit.closed", Severity::Notice, json!({})));
            }
            w.checkpoint()?;
            if last {
                let path = w.path.clone();
                db::set_meta(&w.conn, &path, "clean_shutdown", "1")?;
            }
            Ok(())
        })
    }
}

fn to_sql_seq(seq: u64) -> Result<i64, StoreError> {
    i64::try_from(seq).map_err(|_| {
        StoreError::Config(format!(
            "sequence number {seq} exceeds the SQLite integer range"
        ))
    })
}

fn refuse(command: Command) {
    match command {
        Command::Append(_, ack) => ack.complete(Err(StoreError::Closed)),
        Command::Checkpoint(reply) => {
            let _ = reply.send(Err(StoreError::Closed));
        }
        Command::Close(reply) => {
            let _ = reply.send(Ok(()));
        }
    }
}

#[cfg(test)]
mod tests;
