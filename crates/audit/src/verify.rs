//! Verification: recompute the chain, check the signatures, and say exactly what is proven.

use std::collections::{BTreeMap, VecDeque};
use std::fmt;
use std::path::{Path, PathBuf};

use rampart_vault::DevicePublicKey;
use rusqlite::types::ValueRef;
use rusqlite::{Connection, OptionalExtension};

use crate::chain::{AuditEntryHash, Encoder};
use crate::checkpoint::{checkpoint_message, prune_message, signed_by_any};
use crate::clock::Timestamp;
use crate::db::{self, EVENT_COLUMNS, HASH_COLUMN, seq_of, sqlite_error};
use crate::error::{StoreError, VerifyError};

/// What kind of tampering a finding shows.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum FindingKind {
    /// An event's content (or its stored hash) differs from what was chained.
    Modified,
    /// Events are missing: a gap in the sequence, or events deleted and the rest renumbered.
    Missing,
    /// Events that were never part of the chain were inserted (later events renumbered).
    Inserted,
    /// Events of the chain are stored at the wrong positions.
    Reordered,
    /// A checkpoint whose signature does not verify with the trusted key(s): forged or damaged.
    ForgedCheckpoint,
    /// A validly signed checkpoint whose hash does not match the chain: the events it covers
    /// were rewritten (hashes recomputed), or the checkpoint belongs to another store.
    CheckpointMismatch,
    /// A signed checkpoint covers events that are no longer stored: the tail was cut off.
    Truncated,
    /// A prune record whose signature does not verify, or a gap between prune records.
    ForgedPruneRecord,
}

impl FindingKind {
    /// A short name, e.g. `modified`.
    pub fn as_str(self) -> &'static str {
        match self {
            FindingKind::Modified => "modified",
            FindingKind::Missing => "missing",
            FindingKind::Inserted => "inserted",
            FindingKind::Reordered => "reordered",
            FindingKind::ForgedCheckpoint => "forged_checkpoint",
            FindingKind::CheckpointMismatch => "checkpoint_mismatch",
            FindingKind::Truncated => "truncated",
            FindingKind::ForgedPruneRecord => "forged_prune_record",
        }
    }
}

impl fmt::Display for FindingKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One piece of evidence of tampering, located by sequence numbers.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Finding {
    kind: FindingKind,
    first_seq: u64,
    last_seq: u64,
    detail: String,
}

impl Finding {
    /// What kind of tampering.
    pub fn kind(&self) -> FindingKind {
        self.kind
    }

    /// The first affected sequence number: the first bad one.
    pub fn first_seq(&self) -> u64 {
        self.first_seq
    }

    /// The last affected sequence number (equal to `first_seq` for a single event). For a
    /// [`FindingKind::CheckpointMismatch`] the range is every event the checkpoint covers that no
    /// earlier checkpoint proves: the rewrite happened somewhere in it.
    pub fn last_seq(&self) -> u64 {
        self.last_seq
    }

    /// A sentence for people.
    pub fn detail(&self) -> &str {
        &self.detail
    }
}

impl fmt::Display for Finding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.first_seq == self.last_seq {
            write!(
                f,
                "{} at seq {}: {}",
                self.kind, self.first_seq, self.detail
            )
        } else {
            write!(
                f,
                "{} at seq {}..={}: {}",
                self.kind, self.first_seq, self.last_seq, self.detail
            )
        }
    }
}

/// The result of [`verify`]: whether the store is intact and exactly what that proves.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VerifyReport {
    path: PathBuf,
    pruned_through: Option<u64>,
    first_seq: Option<u64>,
    last_seq: Option<u64>,
    events_checked: u64,
    checkpoints_verified: u64,
    signed_through: Option<u64>,
    findings: Vec<Finding>,
}

impl VerifyReport {
    /// Whether no tampering was found. See [`VerifyReport::statement`] for what that proves.
    pub fn is_intact(&self) -> bool {
        self.findings.is_empty()
    }

    /// The evidence of tampering, in sequence order; verification stops at the first broken
    /// link of the chain, so later damage may not be listed.
    pub fn findings(&self) -> &[Finding] {
        &self.findings
    }

    /// The first problem, if any.
    pub fn first_problem(&self) -> Option<&Finding> {
        self.findings.first()
    }

    /// The first bad sequence number, if any.
    pub fn first_bad_seq(&self) -> Option<u64> {
        self.first_problem().map(Finding::first_seq)
    }

    /// The database file verified.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The last sequence number deleted by pruning under the capacity policy, if any; the chain
    /// is verified from the signed hash at that cut.
    pub fn pruned_through(&self) -> Option<u64> {
        self.pruned_through
    }

    /// The first stored sequence number.
    pub fn first_seq(&self) -> Option<u64> {
        self.first_seq
    }

    /// The last stored sequence number.
    pub fn last_seq(&self) -> Option<u64> {
        self.last_seq
    }

    /// How many events were hashed.
    pub fn events_checked(&self) -> u64 {
        self.events_checked
    }

    /// How many checkpoint signatures verified and matched the chain.
    pub fn checkpoints_verified(&self) -> u64 {
        self.checkpoints_verified
    }

    /// The highest sequence number up to which the chain is intact and covered by a valid
    /// signature (a checkpoint, or the prune record at the cut).
    pub fn signed_through(&self) -> Option<u64> {
        self.signed_through
    }

    /// Events after [`VerifyReport::signed_through`] that are intact as a chain but covered by
    /// no signature (0 when tampering was found: nothing after the first problem is proven).
    pub fn unsigned_events(&self) -> u64 {
        if !self.is_intact() {
            return 0;
        }
        match (self.last_seq, self.signed_through) {
            (Some(last), Some(signed)) => last.saturating_sub(signed),
            (Some(last), None) => last - self.first_seq.unwrap_or(1) + 1,
            (None, _) => 0,
        }
    }

    /// Exactly what was proven, in one paragraph.
    pub fn statement(&self) -> String {
        self.to_string()
    }
}

impl fmt::Display for VerifyReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let pruned = match self.pruned_through {
            Some(p) => format!(
                " Events 1..={p} were pruned under the capacity policy (signed prune record); the \
                 chain is verified from the signed hash at that cut."
            ),
            None => String::new(),
        };
        let signed = match self.signed_through {
            Some(s) => format!("signed up to seq {s}"),
            None => "signed nowhere".to_owned(),
        };
        if let Some(problem) = self.first_problem() {
            write!(
                f,
                "TAMPERED: first bad seq {}: {problem}. Proven: the chain is intact before seq {}, \
                 {signed}; nothing from seq {} on is proven.{pruned}",
                problem.first_seq, problem.first_seq, problem.first_seq
            )?;
            if self.findings.len() > 1 {
                write!(f, " {} more finding(s).", self.findings.len() - 1)?;
            }
            return Ok(());
        }
        let Some(last) = self.last_seq else {
            return write!(f, "intact: the store holds no events.{pruned}");
        };
        let first = self.first_seq.unwrap_or(1);
        let unsigned = self.unsigned_events();
        match self.signed_through {
            Some(s) if unsigned == 0 => write!(
                f,
                "intact and signed up to seq {s} (events {first}..={last}).{pruned} Events \
                 deleted after seq {s} together with the checkpoints that signed them cannot be \
                 detected from this file alone."
            ),
            Some(s) => write!(
                f,
                "intact and signed up to seq {s}; {unsigned} event(s) after it ({}..={last}) are \
                 chained but unsigned; deletion of trailing events after seq {s} cannot be \
                 detected.{pruned}",
                s + 1
            ),
            None => write!(
                f,
                "intact but unsigned: {unsigned} event(s) ({first}..={last}) are chained but no \
                 checkpoint signs them; deletion of trailing events cannot be detected.{pruned}"
            ),
        }
    }
}

/// Verifies the store in `dir` against the component's public key (CR 3.9, CR 2.8).
///
/// Recomputes every link of the hash chain, checks every checkpoint and prune record signature,
/// and compares each checkpoint with the chain. Reads one consistent snapshot, so it can run
/// while the store is being written.
///
/// # Security
/// `key` must come from a trusted place (the component's key store, the operator), never from
/// the file being verified.
///
/// # Errors
/// [`VerifyError`] when the store cannot be read at all (missing, not an audit store, I/O).
/// Tampering is not an error: it is reported in the [`VerifyReport`].
pub fn verify(dir: &Path, key: &DevicePublicKey) -> Result<VerifyReport, VerifyError> {
    verify_with_keys(dir, std::slice::from_ref(key))
}

/// As [`verify`], accepting signatures by any of `keys` (e.g. across a key rotation).
///
/// # Errors
/// As [`verify`].
pub fn verify_with_keys(dir: &Path, keys: &[DevicePublicKey]) -> Result<VerifyReport, VerifyError> {
    let path = db::store_path(dir);
    if !path.is_file() {
        return Err(VerifyError::NotFound(path));
    }
    let (conn, path) = db::open_reader(dir)?;
    // One read transaction: every query below sees the same snapshot.
    conn.execute_batch("BEGIN")
        .map_err(sqlite_error(&path, "starting a read transaction"))?;
    let result = Verifier {
        conn: &conn,
        path: &path,
        dir,
        keys,
    }
    .run();
    let _ = conn.execute_batch("COMMIT");
    result.map_err(VerifyError::from)
}

struct Verifier<'a> {
    conn: &'a Connection,
    path: &'a Path,
    dir: &'a Path,
    keys: &'a [DevicePublicKey],
}

struct StoredCheckpoint {
    hash: Option<AuditEntryHash>,
    signature_ok: bool,
}

/// How many earlier links classification looks back, and how many rows it reads ahead.
const LOOK_BACK: usize = 16;
const LOOK_AHEAD: usize = 4096;

impl Verifier<'_> {
    fn run(&self) -> Result<VerifyReport, StoreError> {
        let mut findings = Vec::new();
        let (base_seq, base_hash) = self.prunes(&mut findings)?;
        let checkpoints = self.checkpoints(base_seq)?;
        let mut report = VerifyReport {
            path: self.path.to_path_buf(),
            pruned_through: (base_seq > 0).then_some(base_seq),
            first_seq: None,
            last_seq: None,
            events_checked: 0,
            checkpoints_verified: 0,
            signed_through: (base_seq > 0 && findings.is_empty()).then_some(base_seq),
            findings: Vec::new(),
        };
        // One aggregate per subquery, so SQLite answers each from the rowid b-tree.
        let extent: (Option<i64>, Option<i64>) = self
            .conn
            .query_row(
                "SELECT (SELECT min(seq) FROM events WHERE seq > ?1), \
                        (SELECT max(seq) FROM events WHERE seq > ?1)",
                [i64::try_from(base_seq).unwrap_or(i64::MAX)],
                |row| Ok((row.get(0)?, row.get(1)?)),
            )
            .map_err(sqlite_error(self.path, "reading the extent"))?;
        report.first_seq = extent.0.map(seq_of);
        report.last_seq = extent.1.map(seq_of);
        let below: Option<i64> = self
            .conn
            .query_row(
                "SELECT min(seq) FROM events WHERE seq <= ?1",
                [i64::try_from(base_seq).unwrap_or(i64::MAX)],
                |row| row.get(0),
            )
            .map_err(sqlite_error(self.path, "reading pruned range"))?;
        if let Some(seq) = below {
            findings.push(Finding {
                kind: FindingKind::Inserted,
                first_seq: seq_of(seq),
                last_seq: seq_of(seq),
                detail: format!(
                    "an event is stored in the range 1..={base_seq} that a signed prune record \
                     says was deleted"
                ),
            });
        }
        let last = report.last_seq.unwrap_or(base_seq).max(base_seq);
        let outcome = self.chain(base_seq, base_hash, last, &checkpoints)?;
        report.events_checked = outcome.events_checked;
        report.checkpoints_verified = outcome.checkpoints_verified;
        report.signed_through = outcome.signed_through.or(report.signed_through);
        findings.extend(outcome.findings);
        // Checkpoints beyond the last stored event: the tail was cut off.
        if let Some((&cp_seq, cp)) = checkpoints.range(last + 1..).next() {
            findings.push(if cp.signature_ok {
                Finding {
                    kind: FindingKind::Truncated,
                    first_seq: last + 1,
                    last_seq: cp_seq,
                    detail: format!(
                        "a signed checkpoint covers events up to seq {cp_seq} but the store ends \
                         at seq {last}: events {}..={cp_seq} were deleted",
                        last + 1
                    ),
                }
            } else {
                forged_checkpoint(cp_seq)
            });
        }
        findings.sort_by_key(|f| (f.first_seq, f.last_seq));
        if let Some(first_bad) = findings.first().map(|f| f.first_seq) {
            report.signed_through = report.signed_through.filter(|s| *s < first_bad);
        }
        report.findings = findings;
        Ok(report)
    }

    /// Checks the prune records; returns the base of the chain (seq and hash at the last cut).
    fn prunes(&self, findings: &mut Vec<Finding>) -> Result<(u64, AuditEntryHash), StoreError> {
        let mut stmt = self
            .conn
            .prepare(
                "SELECT first_seq, last_seq, hash, ts, signature FROM prunes ORDER BY last_seq",
            )
            .map_err(sqlite_error(self.path, "reading prune records"))?;
        let rows = stmt
            .query_map([], |row| {
                Ok((
                    seq_of(row.get(0)?),
                    seq_of(row.get(1)?),
                    row.get::<_, Vec<u8>>(2)?,
                    row.get::<_, i64>(3)?,
                    row.get::<_, Vec<u8>>(4)?,
                ))
            })
            .map_err(sqlite_error(self.path, "reading prune records"))?;
        let mut base = (0, AuditEntryHash::genesis());
        for row in rows {
            let (first, last, hash, ts, signature) =
                row.map_err(sqlite_error(self.path, "reading prune records"))?;
            let hash = AuditEntryHash::from_slice(&hash);
            let valid = match (
                hash,
                Timestamp::from_unix_micros(ts),
                <[u8; 64]>::try_from(signature),
            ) {
                (Some(hash), Ok(at), Ok(sig)) => {
                    signed_by_any(&prune_message(first, last, &hash, at), &sig, self.keys)
                }
                _ => false,
            };
            if !valid {
                findings.push(Finding {
                    kind: FindingKind::ForgedPruneRecord,
                    first_seq: first,
                    last_seq: last,
                    detail: "the prune record's signature does not verify with the trusted key"
                        .into(),
                });
            } else if first != base.0 + 1 {
                findings.push(Finding {
                    kind: FindingKind::ForgedPruneRecord,
                    first_seq: base.0 + 1,
                    last_seq: first.saturating_sub(1).max(base.0 + 1),
                    detail: format!(
                        "prune records do not join up: the previous one ends at seq {}, the next \
                         starts at seq {first}",
                        base.0
                    ),
                });
            }
            base = (last, hash.unwrap_or_else(AuditEntryHash::genesis));
        }
        Ok(base)
    }

    fn checkpoints(&self, base_seq: u64) -> Result<BTreeMap<u64, StoredCheckpoint>, StoreError> {
        let mut stmt = self
            .conn
            .prepare("SELECT seq, hash, ts, signature FROM checkpoints WHERE seq > ?1 ORDER BY seq")
            .map_err(sqlite_error(self.path, "reading checkpoints"))?;
        let rows = stmt
            .query_map([i64::try_from(base_seq).unwrap_or(i64::MAX)], |row| {
                Ok((
                    seq_of(row.get(0)?),
                    row.get::<_, Vec<u8>>(1)?,
                    row.get::<_, i64>(2)?,
                    row.get::<_, Vec<u8>>(3)?,
                ))
            })
            .map_err(sqlite_error(self.path, "reading checkpoints"))?;
        let mut out = BTreeMap::new();
        for row in rows {
            let (seq, hash, ts, signature) =
                row.map_err(sqlite_error(self.path, "reading checkpoints"))?;
            let hash = AuditEntryHash::from_slice(&hash);
            let signature_ok = match (
                hash,
                Timestamp::from_unix_micros(ts),
                <[u8; 64]>::try_from(signature),
            ) {
                (Some(hash), Ok(at), Ok(sig)) => {
                    signed_by_any(&checkpoint_message(seq, &hash, at), &sig, self.keys)
                }
                _ => false,
            };
            out.insert(seq, StoredCheckpoint { hash, signature_ok });
        }
        Ok(out)
    }

    /// Verifies the chain from the base to `last`: on two threads (two connections, second
    /// half on the second) when the store is large, re-checking the second half here if it
    /// found anything, so the result is always that of one snapshot.
    fn chain(
        &self,
        base_seq: u64,
        base_hash: AuditEntryHash,
        last: u64,
        checkpoints: &BTreeMap<u64, StoredCheckpoint>,
    ) -> Result<ChunkOutcome, StoreError> {
        let threads = std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get);
        if threads < 2 || last - base_seq < PARALLEL_MIN_EVENTS {
            return self.scan(base_seq, last, base_hash, base_seq, checkpoints);
        }
        let mid = base_seq + (last - base_seq) / 2;
        let mid_hash = self
            .stored_hash(mid)?
            .unwrap_or_else(AuditEntryHash::genesis);
        let signed_from = checkpoints
            .range(..=mid)
            .next_back()
            .map_or(base_seq, |(s, _)| *s);
        let (dir, keys) = (self.dir, self.keys);
        let (first, second) = std::thread::scope(|scope| {
            let second = scope.spawn(move || -> Result<ChunkOutcome, StoreError> {
                let (conn, path) = db::open_reader(dir)?;
                conn.execute_batch("BEGIN")
                    .map_err(sqlite_error(&path, "starting a read"))?;
                let verifier = Verifier {
                    conn: &conn,
                    path: &path,
                    dir,
                    keys,
                };
                let outcome = verifier.scan(mid, last, mid_hash, signed_from, checkpoints);
                let _ = conn.execute_batch("COMMIT");
                outcome
            });
            let first = self.scan(base_seq, mid, base_hash, base_seq, checkpoints);
            // A panicked thread counts as a failed half, which is re-checked below.
            let second = second.join().unwrap_or(Err(StoreError::Closed));
            (first, second)
        });
        let first = first?;
        let second = match second {
            Ok(outcome) if outcome.findings.is_empty() => outcome,
            // The other connection may have seen a later snapshot: decide on this one.
            _ => self.scan(mid, last, mid_hash, signed_from, checkpoints)?,
        };
        let clean = first.findings.is_empty();
        Ok(ChunkOutcome {
            signed_through: if clean {
                second.signed_through.or(first.signed_through)
            } else {
                first.signed_through
            },
            events_checked: first.events_checked + if clean { second.events_checked } else { 0 },
            checkpoints_verified: first.checkpoints_verified
                + if clean {
                    second.checkpoints_verified
                } else {
                    0
                },
            findings: if clean {
                second.findings
            } else {
                first.findings
            },
        })
    }

    fn stored_hash(&self, seq: u64) -> Result<Option<AuditEntryHash>, StoreError> {
        let blob: Option<Vec<u8>> = self
            .conn
            .query_row(
                "SELECT hash FROM events WHERE seq = ?1",
                [i64::try_from(seq).unwrap_or(i64::MAX)],
                |row| row.get(0),
            )
            .optional()
            .map_err(sqlite_error(self.path, "reading a hash"))?;
        Ok(blob.and_then(|b| AuditEntryHash::from_slice(&b)))
    }

    /// Checks the links of events `after + 1 ..= through`, starting from `prev` (the hash after
    /// event `after`), and each checkpoint in that range; stops at the first problem.
    /// `signed_from` is the last checkpointed sequence number at or before `after`.
    fn scan(
        &self,
        after: u64,
        through: u64,
        mut prev: AuditEntryHash,
        mut signed_from: u64,
        checkpoints: &BTreeMap<u64, StoredCheckpoint>,
    ) -> Result<ChunkOutcome, StoreError> {
        let mut out = ChunkOutcome::default();
        let read = |e| sqlite_error(self.path, "reading events")(e);
        let sql =
            format!("SELECT {EVENT_COLUMNS} FROM events WHERE seq > ?1 AND seq <= ?2 ORDER BY seq");
        let mut stmt = self.conn.prepare(&sql).map_err(read)?;
        let bound = |seq: u64| i64::try_from(seq).unwrap_or(i64::MAX);
        let mut rows = stmt.query([bound(after), bound(through)]).map_err(read)?;
        let mut pending = checkpoints.range(after + 1..=through).peekable();
        let mut encoder = Encoder::with_capacity(1024);
        let mut recent: VecDeque<(u64, AuditEntryHash)> = VecDeque::with_capacity(LOOK_BACK + 1);
        let mut expected = after + 1;
        recent.push_back((after, prev));
        while let Some(row) = rows.next().map_err(read)? {
            let seq = match row.get_ref(0).map_err(read)? {
                ValueRef::Integer(i) => seq_of(i),
                _ => expected,
            };
            // Checkpoints for sequence numbers that are not stored (deleted rows).
            while let Some((&cp_seq, cp)) = pending.next_if(|(s, _)| **s < seq) {
                if !cp.signature_ok {
                    out.findings.push(forged_checkpoint(cp_seq));
                    return Ok(out);
                }
            }
            if seq != expected {
                out.findings.push(missing(expected, seq - 1));
                return Ok(out);
            }
            encoder.clear();
            encoder.version();
            for column in 0..HASH_COLUMN {
                encoder.value(row.get_ref(column).map_err(read)?);
            }
            let computed = prev.next(encoder.as_bytes());
            let stored = match row.get_ref(HASH_COLUMN).map_err(read)? {
                ValueRef::Blob(b) => AuditEntryHash::from_slice(b),
                _ => None,
            };
            if stored != Some(computed) {
                let classifier = Classifier {
                    verifier: self,
                    recent: &recent,
                };
                out.findings.push(classifier.classify(seq, prev)?);
                return Ok(out);
            }
            out.events_checked += 1;
            if let Some((&cp_seq, cp)) = pending.next_if(|(s, _)| **s == seq) {
                if !cp.signature_ok {
                    out.findings.push(forged_checkpoint(cp_seq));
                    return Ok(out);
                }
                if cp.hash != Some(computed) {
                    out.findings.push(Finding {
                        kind: FindingKind::CheckpointMismatch,
                        first_seq: signed_from + 1,
                        last_seq: seq,
                        detail: format!(
                            "the signed checkpoint at seq {seq} does not match the chain: events \
                             {}..={seq} were rewritten with recomputed hashes (or the checkpoint \
                             belongs to another store)",
                            signed_from + 1
                        ),
                    });
                    return Ok(out);
                }
                out.checkpoints_verified += 1;
                signed_from = seq;
                out.signed_through = Some(seq);
            }
            if recent.len() > LOOK_BACK {
                recent.pop_front();
            }
            recent.push_back((seq, computed));
            prev = computed;
            expected = seq + 1;
        }
        if expected <= through {
            out.findings.push(missing(expected, through));
        }
        Ok(out)
    }
}

/// What one stretch of the chain showed.
#[derive(Debug, Default)]
struct ChunkOutcome {
    findings: Vec<Finding>,
    events_checked: u64,
    checkpoints_verified: u64,
    signed_through: Option<u64>,
}

/// Below this many events one thread verifies; above, the second half runs on a second one.
const PARALLEL_MIN_EVENTS: u64 = 100_000;

fn missing(first: u64, last: u64) -> Finding {
    Finding {
        kind: FindingKind::Missing,
        first_seq: first,
        last_seq: last,
        detail: format!(
            "the sequence jumps from {} to {}: {} event(s) deleted",
            first - 1,
            last + 1,
            last - first + 1
        ),
    }
}

fn forged_checkpoint(seq: u64) -> Finding {
    Finding {
        kind: FindingKind::ForgedCheckpoint,
        first_seq: seq,
        last_seq: seq,
        detail: format!(
            "the checkpoint at seq {seq} is not signed by the trusted key (forged or damaged)"
        ),
    }
}

/// A row re-encodable at any sequence number.
struct Candidate {
    /// The canonical encoding without the version byte and the seq field.
    rest: Vec<u8>,
    hash: Option<AuditEntryHash>,
}

impl Candidate {
    /// Whether this row's stored hash is `SHA-256(prev || canonical(row at seq))`.
    fn links(&self, prev: &AuditEntryHash, seq: u64, encoder: &mut Encoder) -> bool {
        let Some(hash) = self.hash else {
            return false;
        };
        encoder.clear();
        encoder.version();
        encoder.int(i64::try_from(seq).unwrap_or(i64::MAX));
        encoder.raw(&self.rest);
        prev.next(encoder.as_bytes()) == hash
    }
}

/// Works out what kind of tampering broke the link at a sequence number, by testing which
/// explanations the stored hashes support. Runs only on the failure path.
struct Classifier<'a, 'v> {
    verifier: &'a Verifier<'v>,
    /// The last verified links, oldest first, ending with the one before the break.
    recent: &'a VecDeque<(u64, AuditEntryHash)>,
}

impl Classifier<'_, '_> {
    fn classify(&self, n: u64, prev: AuditEntryHash) -> Result<Finding, StoreError> {
        let rows = self.read_from(n)?;
        let mut encoder = Encoder::with_capacity(1024);
        let finding = |kind, first_seq, last_seq, detail: String| Finding {
            kind,
            first_seq,
            last_seq,
            detail,
        };
        let Some(here) = rows.first() else {
            return Ok(finding(
                FindingKind::Modified,
                n,
                n,
                format!("event {n} cannot be read"),
            ));
        };

        // 1. The row here belongs k places earlier: k events were inserted before it (with
        //    hashes that chain, which is why the break shows only now).
        for (k, (seq, hash)) in self.recent.iter().rev().skip(1).enumerate() {
            if here.links(hash, seq + 1, &mut encoder) {
                let k = k as u64 + 1;
                return Ok(finding(
                    FindingKind::Inserted,
                    n - k,
                    n - 1,
                    format!(
                        "{k} event(s) at seq {}..={} are not part of the chain; the original event \
                         {} follows them, renumbered",
                        n - k,
                        n - 1,
                        n - k
                    ),
                ));
            }
        }

        // 2. The original event n is stored further on.
        for (j, candidate) in rows.iter().enumerate().skip(1) {
            if !candidate.links(&prev, n, &mut encoder) {
                continue;
            }
            let j = j as u64;
            let moved_here = |before: Option<AuditEntryHash>, seq: u64, enc: &mut Encoder| {
                before.is_some_and(|before| here.links(&before, seq, enc))
            };
            // Swapped with the row at n + j, or rotated (the row here is the original n + 1).
            let before_j = rows
                .get(usize::try_from(j - 1).unwrap_or(0))
                .and_then(|r| r.hash);
            let swapped = if j == 1 { candidate.hash } else { before_j };
            if moved_here(swapped, n + j, &mut encoder)
                || moved_here(candidate.hash, n + 1, &mut encoder)
            {
                return Ok(finding(
                    FindingKind::Reordered,
                    n,
                    n + j,
                    format!(
                        "the original event {n} is stored at seq {}; events {n}..={} are out of order",
                        n + j,
                        n + j
                    ),
                ));
            }
            return Ok(finding(
                FindingKind::Inserted,
                n,
                n + j - 1,
                format!(
                    "{j} event(s) at seq {n}..={} are not part of the chain; the original event {n} \
                     follows them, renumbered",
                    n + j - 1
                ),
            ));
        }

        // 3. Events were deleted and the rest renumbered down: the next row links to this one
        //    only at a sequence number k higher.
        if let Some(next) = rows.get(1)
            && let Some(here_hash) = here.hash
        {
            for k in 1..=LOOK_BACK as u64 {
                if next.links(&here_hash, n + 1 + k, &mut encoder) {
                    return Ok(finding(
                        FindingKind::Missing,
                        n,
                        n + k - 1,
                        format!(
                            "{k} event(s) from seq {n} were deleted and the later events renumbered \
                             to hide the gap"
                        ),
                    ));
                }
            }
        }

        Ok(finding(
            FindingKind::Modified,
            n,
            n,
            format!(
                "event {n} does not match the chain: its content or stored hash was changed (if the \
                 hash of event {} was recomputed after changing it, the change is there)",
                n.saturating_sub(1)
            ),
        ))
    }

    fn read_from(&self, n: u64) -> Result<Vec<Candidate>, StoreError> {
        let path = self.verifier.path;
        let sql =
            format!("SELECT {EVENT_COLUMNS} FROM events WHERE seq >= ?1 ORDER BY seq LIMIT ?2");
        let mut stmt = self
            .verifier
            .conn
            .prepare(&sql)
            .map_err(sqlite_error(path, "reading events"))?;
        let mut rows = stmt
            .query([
                i64::try_from(n).unwrap_or(i64::MAX),
                i64::try_from(LOOK_AHEAD).unwrap_or(i64::MAX),
            ])
            .map_err(sqlite_error(path, "reading events"))?;
        let mut out = Vec::new();
        let mut encoder = Encoder::with_capacity(1024);
        while let Some(row) = rows.next().map_err(sqlite_error(path, "reading events"))? {
            encoder.clear();
            for column in 1..HASH_COLUMN {
                encoder.value(
                    row.get_ref(column)
                        .map_err(sqlite_error(path, "reading events"))?,
                );
            }
            let hash = match row
                .get_ref(HASH_COLUMN)
                .map_err(sqlite_error(path, "reading events"))?
            {
                ValueRef::Blob(b) => AuditEntryHash::from_slice(b),
                _ => None,
            };
            out.push(Candidate {
                rest: encoder.as_bytes().to_vec(),
                hash,
            });
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests;
