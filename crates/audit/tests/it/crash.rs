//! Threat: a crash or kill loses acknowledged events or breaks the chain (CR 2.8, CR 3.9).
//!
//! The test starts this test binary again as a child that appends at full speed and prints
//! `ACK <seq> <run> <n>` (flushed) after each acknowledged append, kills it with SIGKILL at a
//! random moment, then checks that the store verifies and holds every acknowledged event.
//! `RAMPART_AUDIT_CRASH_KILLS` sets the number of kills (default 10).

use std::collections::{HashMap, VecDeque};
use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::mpsc;
use std::time::Duration;

use rampart_audit::testing::insecure_signing_key;
use rampart_audit::{
    Actor, AuditReader, AuditStore, Category, NewEvent, Pending, Query, StoreConfig, SystemClock,
    verify,
};
use serde_json::json;

const CHILD_DIR: &str = "RAMPART_AUDIT_CRASH_CHILD_DIR";
const CHILD_RUN: &str = "RAMPART_AUDIT_CRASH_RUN";
const KILLS: &str = "RAMPART_AUDIT_CRASH_KILLS";

/// The child side: does nothing unless started by `acknowledged_appends_survive_sigkill`.
#[test]
fn child_appending_until_killed() {
    let Ok(dir) = std::env::var(CHILD_DIR) else {
        return;
    };
    let run: u64 = std::env::var(CHILD_RUN).unwrap().parse().unwrap();
    let config = StoreConfig::default().checkpoint_every(1000).unwrap();
    let store = AuditStore::open(
        dir.as_ref(),
        config,
        Arc::new(SystemClock::new()),
        Arc::new(insecure_signing_key(1)),
    )
    .unwrap();
    let mut out = std::io::stdout().lock();
    let mut in_flight: VecDeque<(u64, Pending)> = VecDeque::new();
    for n in 0.. {
        if in_flight.len() == 64 {
            let (m, pending) = in_flight.pop_front().unwrap();
            let receipt = pending.wait().unwrap();
            writeln!(out, "ACK {} {run} {m}", receipt.seq()).unwrap();
            out.flush().unwrap();
        }
        let event = NewEvent::builder(
            Category::ControlSystem,
            "modbus.write",
            Actor::process("child").unwrap(),
        )
        .details(json!({ "run": run, "n": n }))
        .build()
        .unwrap();
        in_flight.push_back((n, store.submit(event)));
    }
}

#[test]
fn acknowledged_appends_survive_sigkill() {
    let kills: u64 = std::env::var(KILLS).map_or(10, |k| k.parse().unwrap());
    let dir = tempfile::tempdir().unwrap();
    let key = insecure_signing_key(1).public_key();
    let exe = std::env::current_exe().unwrap();
    let mut all_acks: Vec<(u64, u64, u64)> = Vec::new();
    for run in 0..kills {
        let mut child = Command::new(&exe)
            .args([
                "crash::child_appending_until_killed",
                "--exact",
                "--nocapture",
            ])
            .env(CHILD_DIR, dir.path())
            .env(CHILD_RUN, run.to_string())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let (first_ack, started) = mpsc::channel();
        let lines = std::thread::spawn(move || {
            let mut acks = Vec::new();
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                let fields: Vec<&str> = line.split(' ').collect();
                // A line cut by the kill is not an acknowledgement the child finished printing.
                if let ["ACK", seq, run, n] = fields[..]
                    && let (Ok(seq), Ok(run), Ok(n)) = (seq.parse(), run.parse(), n.parse())
                {
                    if acks.is_empty() {
                        let _ = first_ack.send(());
                    }
                    acks.push((seq, run, n));
                }
            }
            acks
        });
        started
            .recv_timeout(Duration::from_mins(1))
            .expect("child acknowledged nothing");
        std::thread::sleep(Duration::from_millis(random_below(300)));
        child.kill().unwrap(); // SIGKILL
        child.wait().unwrap();
        let acks: Vec<(u64, u64, u64)> = lines.join().unwrap();

        let report = verify(dir.path(), &key).unwrap();
        assert!(report.is_intact(), "run {run}: {report}");
        let stored = events_by_seq(dir.path(), acks[0].0, acks.last().unwrap().0);
        for (seq, run, n) in &acks {
            assert_eq!(
                stored.get(seq),
                Some(&(*run, *n)),
                "run {run}: acknowledged seq {seq} lost"
            );
        }
        all_acks.extend(acks);
    }
    // Nothing acknowledged in an earlier run was lost by a later crash and recovery.
    let stored = events_by_seq(dir.path(), 1, u64::MAX);
    for (seq, run, n) in &all_acks {
        assert_eq!(
            stored.get(seq),
            Some(&(*run, *n)),
            "acknowledged seq {seq} lost later"
        );
    }
    let report = verify(dir.path(), &key).unwrap();
    eprintln!(
        "{kills} kills, {} acknowledged appends all present; {report}",
        all_acks.len()
    );
}

/// `seq -> (run, n)` for the child's events in `first..=last`.
fn events_by_seq(dir: &std::path::Path, first: u64, last: u64) -> HashMap<u64, (u64, u64)> {
    let reader = AuditReader::open(dir).unwrap();
    reader
        .iter(&Query::new().seq_range(first..=last).actor("child"))
        .map(|e| {
            let e = e.unwrap();
            let d = e.details();
            (
                e.seq(),
                (d["run"].as_u64().unwrap(), d["n"].as_u64().unwrap()),
            )
        })
        .collect()
}

/// A random number below `bound`, from the vault's random source.
fn random_below(bound: u64) -> u64 {
    let mut bytes = [0u8; 8];
    rampart_vault::random_bytes(&mut bytes).unwrap();
    u64::from_le_bytes(bytes) % bound
}
