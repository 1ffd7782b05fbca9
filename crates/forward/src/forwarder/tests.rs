//! The delivery guarantee against a scripted collector: outages at chosen moments, a collector
//! that loses what it had not yet processed when it dies, forwarder crashes, and time that
//! only moves when the test says so.

use std::collections::BTreeMap;
use std::sync::Mutex;

use rampart_audit::{Capacity, StoreConfig};

use super::*;
use crate::fixture::Trail;
use crate::syslog::{CHECKPOINT_SD_ID, EVENT_SD_ID, Facility, GAP_SD_ID, Hostname};
use crate::testing::{Message, parse_message, split_frames};
use crate::timer::ManualTimer;

/// What the scripted collector does and has.
struct Script {
    timer: ManualTimer,
    /// Time each send takes (the clock advances by it).
    send_cost: Duration,
    /// A send younger than this when the collector dies is lost with it.
    lag: Duration,
    /// Kill the collector when these send numbers (1-based, over all connections) arrive.
    kills: Vec<usize>,
    /// Refuse this many connection attempts after a kill.
    down_for: u32,
    /// Refuse every connection attempt.
    always_down: bool,
    /// Whether the collector closes its side after the forwarder's graceful close.
    confirms_close: bool,
    sends: usize,
    refusing: u32,
    /// What the collector wrote to its file.
    persisted: Vec<u8>,
    /// Received but not yet written: (time received, bytes), per live connection.
    pending: Vec<(Duration, Vec<u8>)>,
    /// The generation of the live connection; older ones are dead.
    generation: u64,
    connects: u32,
}

#[derive(Clone)]
struct Collector(Arc<Mutex<Script>>);

impl Collector {
    fn new(timer: &ManualTimer) -> Collector {
        Collector(Arc::new(Mutex::new(Script {
            timer: timer.clone(),
            send_cost: Duration::from_secs(1),
            lag: Duration::from_secs(2),
            kills: Vec::new(),
            down_for: 0,
            always_down: false,
            confirms_close: true,
            sends: 0,
            refusing: 0,
            persisted: Vec::new(),
            pending: Vec::new(),
            generation: 0,
            connects: 0,
        })))
    }

    fn script(&self) -> std::sync::MutexGuard<'_, Script> {
        self.0.lock().unwrap()
    }

    /// Every message the collector wrote, parsed.
    fn messages(&self) -> Vec<Message> {
        let script = self.script();
        split_frames(&script.persisted)
            .unwrap()
            .into_iter()
            .map(|frame| parse_message(frame).unwrap())
            .collect()
    }
}

impl Script {
    /// The collector dies: what it processed is kept, what it had received within `lag` is
    /// lost, and the connection is dead.
    fn kill(&mut self) {
        let now = self.timer.now();
        for (at, bytes) in self.pending.drain(..) {
            if now.saturating_sub(at) >= self.lag {
                self.persisted.extend_from_slice(&bytes);
            }
        }
        self.generation += 1;
        self.refusing = self.down_for;
    }

    fn flush(&mut self) {
        for (_, bytes) in self.pending.drain(..) {
            self.persisted.extend_from_slice(&bytes);
        }
    }
}

impl Connector for Collector {
    fn connect(&mut self) -> io::Result<Box<dyn Transport>> {
        let mut script = self.script();
        if script.always_down || script.refusing > 0 {
            script.refusing = script.refusing.saturating_sub(1);
            return Err(io::ErrorKind::ConnectionRefused.into());
        }
        // A new connection: what the collector holds from the old one is processed by now.
        script.flush();
        script.generation += 1;
        script.connects += 1;
        Ok(Box::new(Connection {
            collector: self.clone(),
            generation: script.generation,
            buffered_after_death: false,
        }))
    }

    fn collector(&self) -> String {
        "scripted:6514".into()
    }
}

struct Connection {
    collector: Collector,
    generation: u64,
    /// The first write after the peer died still "succeeds" (into the kernel buffer).
    buffered_after_death: bool,
}

impl Connection {
    fn dead(&self, script: &Script) -> bool {
        script.generation != self.generation
    }
}

impl Transport for Connection {
    fn send(&mut self, bytes: &[u8]) -> io::Result<()> {
        let mut script = self.collector.script();
        let cost = script.send_cost;
        script.timer.advance(cost);
        if self.dead(&script) {
            if self.buffered_after_death {
                return Err(io::ErrorKind::BrokenPipe.into());
            }
            self.buffered_after_death = true;
            return Ok(());
        }
        script.sends += 1;
        let now = script.timer.now();
        script.pending.push((now, bytes.to_vec()));
        if script.kills.contains(&script.sends) {
            script.kill();
        }
        Ok(())
    }

    fn probe(&mut self) -> io::Result<()> {
        let script = self.collector.script();
        if self.dead(&script) {
            Err(io::ErrorKind::ConnectionReset.into())
        } else {
            Ok(())
        }
    }

    fn finish(&mut self, _timeout: Duration) -> io::Result<()> {
        let mut script = self.collector.script();
        if self.dead(&script) {
            return Err(io::ErrorKind::ConnectionReset.into());
        }
        script.flush();
        script.generation += 1;
        if script.confirms_close {
            Ok(())
        } else {
            Err(io::ErrorKind::TimedOut.into())
        }
    }
}

fn config(timer: &ManualTimer) -> ForwardConfig {
    let mut config = ForwardConfig::new(SyslogFormat::new(
        Facility::Local(0),
        Hostname::new("gw-1").unwrap(),
    ));
    config.batch_size = 10;
    config.settle = Duration::from_secs(5);
    config.backoff = Backoff::new(Duration::from_millis(500), Duration::from_secs(4));
    config.retry_for = Duration::from_secs(30);
    config.timer = Arc::new(timer.clone());
    config
}

fn forwarder(trail: &Trail, collector: &Collector, config: ForwardConfig) -> Forwarder {
    Forwarder::open(
        &trail.audit_dir(),
        &trail.dir.path().join("collector.cursor"),
        Box::new(collector.clone()),
        config,
    )
    .unwrap()
}

/// For each event sequence number, whether each copy the collector holds was marked, in order.
fn copies(messages: &[Message]) -> BTreeMap<u64, Vec<bool>> {
    let mut copies: BTreeMap<u64, Vec<bool>> = BTreeMap::new();
    for m in messages {
        if let Some(seq) = m.param(EVENT_SD_ID, "seq") {
            let resent = m.param(EVENT_SD_ID, "resent") == Some("1");
            copies.entry(seq.parse().unwrap()).or_default().push(resent);
        }
    }
    copies
}

/// The guarantee: every event `1..=last` is there, and every copy after the first is marked.
fn check_guarantee(messages: &[Message], last: u64) -> BTreeMap<u64, Vec<bool>> {
    let copies = copies(messages);
    let seqs: Vec<u64> = copies.keys().copied().collect();
    assert_eq!(
        seqs,
        (1..=last).collect::<Vec<_>>(),
        "every event, none extra"
    );
    for (seq, marks) in &copies {
        assert!(
            marks[1..].iter().all(|resent| *resent),
            "event {seq}: an unmarked duplicate in {marks:?}"
        );
    }
    copies
}

#[test]
fn drain_sends_everything_once_and_confirms_on_close() {
    let trail = Trail::with_checkpoints(5);
    trail.append_samples(1, 23);
    let timer = ManualTimer::new();
    let collector = Collector::new(&timer);
    let mut f = forwarder(&trail, &collector, config(&timer));
    let report = f.drain(&Stop::new()).unwrap();
    let messages = collector.messages();
    let copies = check_guarantee(&messages, 23);
    assert!(copies.values().all(|c| c == &[false]), "no resent marks");
    assert_eq!(report.events_sent, 23);
    assert_eq!(report.events_resent, 0);
    assert_eq!(report.connections, 1);
    assert_eq!((report.delivered, report.unconfirmed), (23, 0));
    let cursor = f.cursor();
    assert_eq!((cursor.delivered(), cursor.sent()), (23, 23));
    assert_eq!(cursor.checkpoint_delivered(), 20);
    // The checkpoint follows the events it covers.
    let checkpoint_at = messages
        .iter()
        .position(|m| m.param(CHECKPOINT_SD_ID, "seq").is_some())
        .unwrap();
    let before = copies_before(&messages[..checkpoint_at]);
    assert!(before >= 20, "checkpoint 20 after event {before}");
    assert!(timer.sleeps().is_empty(), "no waiting without failures");

    // Nothing new: the collector is not contacted.
    let report = f.drain(&Stop::new()).unwrap();
    assert_eq!((report.connections, report.events_sent), (0, 0));
    assert_eq!(collector.script().connects, 1);
}

fn copies_before(messages: &[Message]) -> u64 {
    messages
        .iter()
        .filter_map(|m| m.param(EVENT_SD_ID, "seq")?.parse().ok())
        .max()
        .unwrap_or(0)
}

#[test]
fn an_outage_resends_the_uncertain_window_marked() {
    let trail = Trail::with_checkpoints(25);
    trail.append_samples(1, 100);
    let timer = ManualTimer::new();
    let collector = Collector::new(&timer);
    {
        let mut script = collector.script();
        script.kills = vec![6];
        script.down_for = 2;
    }
    let mut f = forwarder(&trail, &collector, config(&timer));
    let report = f.drain(&Stop::new()).unwrap();
    let copies = check_guarantee(&collector.messages(), 100);
    let duplicated = copies.values().filter(|c| c.len() > 1).count();
    assert!(duplicated > 0, "the test must exercise a resend");
    assert_eq!(report.disconnects, 1);
    assert_eq!(report.connections, 2);
    let marked = copies.values().flatten().filter(|resent| **resent).count();
    assert!(report.events_resent >= u64::try_from(marked).unwrap());
    assert_eq!(report.delivered, 100);
    // Broken connection, then two refused attempts: 0.5 s, 1 s, 2 s.
    assert_eq!(
        timer.sleeps(),
        [500, 1000, 2000].map(Duration::from_millis).to_vec()
    );
}

#[test]
fn events_only_the_dead_collector_held_are_never_skipped() {
    // Five deaths, each losing what the collector received in its last 3 s (settle is 5 s):
    // the cursor must never pass an event the collector did not keep.
    let trail = Trail::with_checkpoints(1000);
    trail.append_samples(1, 200);
    let timer = ManualTimer::new();
    let collector = Collector::new(&timer);
    {
        let mut script = collector.script();
        script.lag = Duration::from_secs(3);
        script.kills = vec![4, 9, 14, 19, 24];
    }
    // Nothing settles between these deaths, so the backoff grows; give it time.
    let mut config = config(&timer);
    config.retry_for = Duration::from_mins(5);
    let report = forwarder(&trail, &collector, config)
        .drain(&Stop::new())
        .unwrap();
    assert_eq!(report.disconnects, 5);
    check_guarantee(&collector.messages(), 200);
}

#[test]
fn a_collector_losing_more_than_settle_defeats_the_heuristic() {
    // The documented limit: without an application acknowledgement, a collector that keeps
    // the connection open while losing data older than `settle` loses it for good.
    let trail = Trail::with_checkpoints(1000);
    trail.append_samples(1, 100);
    let timer = ManualTimer::new();
    let collector = Collector::new(&timer);
    {
        let mut script = collector.script();
        script.lag = Duration::from_mins(1);
        script.kills = vec![8];
    }
    forwarder(&trail, &collector, config(&timer))
        .drain(&Stop::new())
        .unwrap();
    let held = copies(&collector.messages());
    assert!(
        held.len() < 100,
        "events confirmed by the heuristic were lost"
    );
}

#[test]
fn a_restarted_forwarder_marks_what_the_crashed_one_may_have_sent() {
    let trail = Trail::with_checkpoints(1000);
    trail.append_samples(1, 30);
    let timer = ManualTimer::new();
    let collector = Collector::new(&timer);
    let mut slow = config(&timer);
    slow.settle = Duration::from_hours(1);
    let mut crashed = forwarder(&trail, &collector, slow);
    assert!(crashed.connect(&Stop::new()));
    while crashed.step(None).ok().is_some_and(|n| n > 0) {}
    assert_eq!(crashed.cursor().sent(), 30);
    assert_eq!(crashed.cursor().delivered(), 0, "nothing settled");
    drop(crashed); // no graceful close: a crash

    trail.append_samples(31, 40);
    let mut restarted = forwarder(&trail, &collector, config(&timer));
    let report = restarted.drain(&Stop::new()).unwrap();
    assert_eq!(report.events_resent, 30);
    let copies = check_guarantee(&collector.messages(), 40);
    for seq in 1..=30 {
        assert_eq!(copies[&seq], [false, true], "event {seq}");
    }
    for seq in 31..=40 {
        assert_eq!(copies[&seq], [false], "event {seq} was never sent before");
    }
}

#[test]
fn a_collector_that_never_confirms_a_close_is_confirmed_by_settling() {
    let trail = Trail::with_checkpoints(1000);
    trail.append_samples(1, 15);
    let timer = ManualTimer::new();
    let collector = Collector::new(&timer);
    collector.script().confirms_close = false;
    let mut f = forwarder(&trail, &collector, config(&timer));
    let report = f.drain(&Stop::new()).unwrap();
    assert_eq!((report.delivered, report.unconfirmed), (15, 0));
    assert_eq!(report.connections, 2);
    let copies = check_guarantee(&collector.messages(), 15);
    assert!(copies.values().all(|c| c == &[false, true]), "{copies:?}");
    // One backoff before the second connection, then polls until the 5 s settle passed.
    let sleeps = timer.sleeps();
    assert_eq!(sleeps[0], Duration::from_millis(500));
    assert!(
        sleeps[1..].iter().all(|s| *s == Duration::from_secs(1)),
        "{sleeps:?}"
    );
}

#[test]
fn an_unreachable_collector_fails_after_retry_for_with_capped_backoff() {
    let trail = Trail::with_checkpoints(1000);
    trail.append_samples(1, 3);
    let timer = ManualTimer::new();
    let collector = Collector::new(&timer);
    collector.script().always_down = true;
    let mut config = config(&timer);
    config.retry_for = Duration::from_secs(10);
    let notices = Arc::new(Mutex::new(Vec::new()));
    let seen = Arc::clone(&notices);
    config.observer = Some(Arc::new(move |n: &Notice| {
        seen.lock().unwrap().push(n.to_string());
    }));
    let mut f = forwarder(&trail, &collector, config);
    let err = f.drain(&Stop::new()).unwrap_err();
    let notices = notices.lock().unwrap();
    assert!(notices[0].ends_with("retrying in 0.5 s"), "{notices:?}");
    assert!(
        notices.last().unwrap().ends_with("giving up"),
        "{notices:?}"
    );
    let ForwardError::Unreachable {
        attempts,
        waited,
        last_error,
        ..
    } = &err
    else {
        panic!("{err}");
    };
    // The next attempt would start at 11.5 s, past retry_for: it gives up at 7.5 s.
    assert_eq!(
        timer.sleeps(),
        [500, 1000, 2000, 4000].map(Duration::from_millis).to_vec()
    );
    assert_eq!(*attempts, 5);
    assert_eq!(*waited, Duration::from_millis(7500));
    assert!(last_error.contains("refused"), "{last_error}");
    assert_eq!(f.cursor().sent(), 0, "nothing was sent");
}

#[test]
fn a_stop_during_backoff_returns_promptly() {
    let trail = Trail::with_checkpoints(1000);
    trail.append_samples(1, 3);
    let timer = ManualTimer::new();
    let collector = Collector::new(&timer);
    collector.script().always_down = true;
    let stop = Stop::new();
    let mut config = config(&timer);
    let raise = stop.clone();
    config.observer = Some(Arc::new(move |_: &Notice| raise.raise()));
    let report = forwarder(&trail, &collector, config).drain(&stop).unwrap();
    assert!(report.stopped);
    assert_eq!(report.unconfirmed, 0);
}

#[test]
fn events_pruned_before_forwarding_are_announced_by_a_gap_marker() {
    let capacity = Capacity::new(20).unwrap().prune_batch(10).unwrap();
    let trail = Trail::new(
        StoreConfig::default()
            .capacity(capacity)
            .checkpoint_every(1000)
            .unwrap(),
    );
    trail.append_samples(1, 40);
    let first = trail
        .store
        .reader()
        .unwrap()
        .extent()
        .unwrap()
        .first_seq
        .unwrap();
    assert!(first > 1, "the store pruned");
    let timer = ManualTimer::new();
    let collector = Collector::new(&timer);
    let notices = Arc::new(Mutex::new(Vec::new()));
    let mut config = config(&timer);
    let seen = Arc::clone(&notices);
    config.observer = Some(Arc::new(move |n: &Notice| {
        seen.lock().unwrap().push(n.clone());
    }));
    let report = forwarder(&trail, &collector, config)
        .drain(&Stop::new())
        .unwrap();
    let messages = collector.messages();
    assert_eq!(messages[0].param(GAP_SD_ID, "first"), Some("1"));
    assert_eq!(
        messages[0].param(GAP_SD_ID, "last"),
        Some((first - 1).to_string().as_str())
    );
    assert_eq!(
        messages[1].param(EVENT_SD_ID, "seq"),
        Some(first.to_string().as_str())
    );
    assert_eq!(report.gaps_sent, 1);
    assert!(notices.lock().unwrap().contains(&Notice::Gap {
        first: 1,
        last: first - 1
    }));
}

#[test]
fn a_cursor_that_does_not_match_the_trail_is_refused() {
    let trail = Trail::with_checkpoints(1000);
    trail.append_samples(1, 5);
    let timer = ManualTimer::new();
    let collector = Collector::new(&timer);
    let cursor = trail.dir.path().join("collector.cursor");
    let open = || {
        Forwarder::open(
            &trail.audit_dir(),
            &cursor,
            Box::new(collector.clone()),
            config(&timer),
        )
    };
    let write = |delivered: u64, hash: &str, sent: u64| {
        std::fs::write(
            &cursor,
            format!(
                "rampart-forward-cursor 1\ndelivered {delivered}\ndelivered-hash {hash}\n\
                 sent {sent}\ncheckpoint-delivered 0\ncheckpoint-sent 0\n"
            ),
        )
        .unwrap();
    };
    write(5, "-", 9);
    assert!(matches!(
        open(),
        Err(ForwardError::CursorAhead {
            sent: 9,
            last: 5,
            ..
        })
    ));
    write(3, &"ab".repeat(32), 3);
    assert!(matches!(
        open(),
        Err(ForwardError::ChainMismatch { seq: 3, .. })
    ));
    let real = trail
        .store
        .reader()
        .unwrap()
        .event(3)
        .unwrap()
        .unwrap()
        .hash();
    write(3, &real.to_string(), 4);
    let mut f = open().unwrap();
    f.drain(&Stop::new()).unwrap();
    let copies = copies(&collector.messages());
    assert_eq!(copies.keys().copied().collect::<Vec<_>>(), [4, 5]);
    assert_eq!(copies[&4], [true], "4 may have been sent before");
    assert_eq!(copies[&5], [false]);
}

#[test]
fn one_forwarder_per_cursor() {
    let trail = Trail::with_checkpoints(1000);
    trail.append_samples(1, 1);
    let timer = ManualTimer::new();
    let collector = Collector::new(&timer);
    let _first = forwarder(&trail, &collector, config(&timer));
    let second = Forwarder::open(
        &trail.audit_dir(),
        &trail.dir.path().join("collector.cursor"),
        Box::new(collector.clone()),
        config(&timer),
    );
    assert!(matches!(second, Err(ForwardError::Busy { .. })));
}

#[test]
fn batch_size_is_bounded() {
    let trail = Trail::with_checkpoints(1000);
    let timer = ManualTimer::new();
    for bad in [0, MAX_BATCH + 1] {
        let mut config = config(&timer);
        config.batch_size = bad;
        let result = Forwarder::open(
            &trail.audit_dir(),
            &trail.dir.path().join(format!("{bad}.cursor")),
            Box::new(Collector::new(&timer)),
            config,
        );
        assert!(matches!(
            result,
            Err(ForwardError::Config(ConfigError::Range { .. }))
        ));
    }
}

#[test]
fn marks_stay_few_at_any_rate() {
    let mut marks = VecDeque::new();
    let settle = Duration::from_secs(8);
    for ms in 0..20_000u64 {
        record_mark(&mut marks, settle, Duration::from_millis(ms), ms, None, 0);
    }
    assert!(marks.len() <= 21, "{} marks for 20 s", marks.len());
    for pair in marks.iter().collect::<Vec<_>>().windows(2) {
        assert!(pair[0].seq < pair[1].seq);
        assert!(pair[0].written < pair[1].created);
    }
    // A mark is never confirmed earlier than its last write allows.
    let last = marks.back().unwrap();
    assert_eq!(last.seq, 19_999);
    assert_eq!(last.written, Duration::from_millis(19_999));
}

#[test]
fn follow_forwards_new_events_until_stopped() {
    let trail = Trail::with_checkpoints(1000);
    trail.append_samples(1, 5);
    let collector = Collector::new(&ManualTimer::new());
    let mut config = config(&ManualTimer::new());
    config.timer = Arc::new(crate::timer::SystemTimer::new());
    config.poll_interval = Duration::from_millis(5);
    config.settle = Duration::from_millis(20);
    let mut f = forwarder(&trail, &collector, config);
    let stop = Stop::new();
    let worker = {
        let stop = stop.clone();
        std::thread::spawn(move || f.follow(&stop).map(|r| (r, f.cursor())))
    };
    let wait_for = |n: usize| {
        for _ in 0..2000 {
            let pending = collector.script().pending.len();
            let held = pending + collector.messages().len();
            if held >= n {
                return;
            }
            std::thread::sleep(Duration::from_millis(5));
        }
        panic!("the collector never got {n} sends/messages");
    };
    wait_for(1);
    trail.append_samples(6, 12);
    std::thread::sleep(Duration::from_millis(100));
    stop.raise();
    let (report, cursor) = worker.join().unwrap().unwrap();
    assert!(report.stopped);
    check_guarantee(&collector.messages(), 12);
    assert_eq!((cursor.delivered(), report.unconfirmed), (12, 0));
}
