//! Forwarding to a real rsyslog (imtcp, gtls stream driver, mutual TLS with x509/certvalid)
//! through a collector killed with SIGKILL mid-stream and a forwarder killed with SIGKILL:
//! every event arrives, every duplicate is marked, and rsyslog's own RFC 5424 parser agrees
//! with ours on every message.
//!
//! Needs the Debian packages `rsyslog` and `rsyslog-gnutls` (scripts/test installs them). The
//! test runs its own rsyslogd (`-n -f CONF -i PIDFILE`) with its own work directory on a free
//! loopback port; the system's rsyslog configuration is never read.

use std::io::ErrorKind;
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use rampart_audit::testing::insecure_signing_key;
use rampart_forward::testing::{Message, parse_message};
use rampart_forward::{CHECKPOINT_SD_ID, EVENT_SD_ID, Stop};
use rampart_vault::{DevicePublicKey, Signature};

use crate::util::{Pki, Trail, check_guarantee, config};

const CHILD_DATA: &str = "RAMPART_FORWARD_CHILD_DATA";
const CHILD_PKI: &str = "RAMPART_FORWARD_CHILD_PKI";
const CHILD_PORT: &str = "RAMPART_FORWARD_CHILD_PORT";

/// An rsyslogd of the test's own, listening for syslog over TLS on a loopback port and
/// writing every `rampart` message raw to `raw.log` and as it parsed it to `parsed.log`.
struct Rsyslog {
    dir: tempfile::TempDir,
    port: u16,
    child: Option<Child>,
}

impl Rsyslog {
    fn start(pki: &Pki) -> Rsyslog {
        let dir = tempfile::tempdir().unwrap();
        let port = free_port();
        std::fs::create_dir(dir.path().join("work")).unwrap();
        let path = |name: &str| dir.path().join(name).display().to_string();
        let pki_path = |name: &str| pki.path(name).display().to_string();
        let conf = format!(
            r#"global(
  workDirectory="{work}"
  defaultNetstreamDriver="gtls"
  defaultNetstreamDriverCAFile="{ca}"
  defaultNetstreamDriverCertFile="{cert}"
  defaultNetstreamDriverKeyFile="{key}"
)
module(load="imtcp" streamDriver.name="gtls" streamDriver.mode="1"
       streamDriver.authMode="x509/certvalid")
input(type="imtcp" port="{port}" address="127.0.0.1")
template(name="raw" type="string" string="%rawmsg%\n")
template(name="parsed" type="string"
         string="%pri%\t%hostname%\t%app-name%\t%procid%\t%msgid%\t%structured-data%\n")
if $app-name == "rampart" then {{
  action(type="omfile" file="{raw}" template="raw")
  action(type="omfile" file="{parsed}" template="parsed")
  stop
}}
action(type="omfile" file="{other}")
"#,
            work = path("work"),
            ca = pki_path("ca.pem"),
            cert = pki_path("server.pem"),
            key = pki_path("server.key"),
            raw = path("raw.log"),
            parsed = path("parsed.log"),
            other = path("rsyslog-internal.log"),
        );
        std::fs::write(dir.path().join("rsyslog.conf"), conf).unwrap();
        let mut rsyslog = Rsyslog {
            dir,
            port,
            child: None,
        };
        rsyslog.restart();
        rsyslog
    }

    /// Starts rsyslogd (again) on the same port and waits until it listens.
    fn restart(&mut self) {
        assert!(self.child.is_none(), "already running");
        let pidfile = self.dir.path().join("rsyslogd.pid");
        let _ = std::fs::remove_file(&pidfile);
        let child = Command::new(rsyslogd())
            .arg("-n")
            .arg("-f")
            .arg(self.dir.path().join("rsyslog.conf"))
            .arg("-i")
            .arg(&pidfile)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(self.dir.path().join("rsyslogd.stderr")).unwrap())
            .spawn()
            .unwrap();
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(15);
        while TcpStream::connect(("127.0.0.1", self.port)).is_err() {
            if let Some(status) = self.child.as_mut().unwrap().try_wait().unwrap() {
                panic!("rsyslogd exited with {status}: {}", self.internal_log());
            }
            assert!(Instant::now() < deadline, "rsyslogd does not listen");
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// SIGKILL: whatever rsyslog received but had not written yet is lost.
    fn kill(&mut self) {
        let mut child = self.child.take().unwrap();
        child.kill().unwrap();
        child.wait().unwrap();
    }

    /// SIGTERM, and wait for a clean exit (rsyslog flushes its files).
    fn stop(&mut self) {
        let Some(mut child) = self.child.take() else {
            return;
        };
        // The shell's kill builtin: no dependency on procps.
        let status = Command::new("sh")
            .args(["-c", &format!("kill -TERM {}", child.id())])
            .status()
            .unwrap();
        assert!(status.success());
        let deadline = Instant::now() + Duration::from_secs(15);
        while child.try_wait().unwrap().is_none() {
            if Instant::now() > deadline {
                child.kill().unwrap();
                panic!("rsyslogd ignored SIGTERM");
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    fn lines(&self, name: &str) -> Vec<String> {
        match std::fs::read_to_string(self.dir.path().join(name)) {
            Ok(text) => text.lines().map(str::to_owned).collect(),
            Err(e) if e.kind() == ErrorKind::NotFound => Vec::new(),
            Err(e) => panic!("{name}: {e}"),
        }
    }

    /// rsyslogd's own messages and standard error, for failure messages.
    fn internal_log(&self) -> String {
        let mut lines = self.lines("rsyslog-internal.log");
        lines.extend(self.lines("rsyslogd.stderr"));
        lines.join("\n")
    }

    /// Waits until rsyslog has written event `seq`.
    fn wait_for(&self, seq: u64) {
        let needle = format!("[rampart@32473 seq=\"{seq}\"");
        let deadline = Instant::now() + Duration::from_secs(30);
        while !self.lines("raw.log").iter().any(|l| l.contains(&needle)) {
            assert!(
                Instant::now() < deadline,
                "rsyslog never wrote event {seq}; its log: {}",
                self.internal_log()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Rsyslog {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

fn rsyslogd() -> PathBuf {
    let on_path = std::env::var_os("PATH")
        .into_iter()
        .flat_map(|p| std::env::split_paths(&p).collect::<Vec<_>>())
        .map(|dir| dir.join("rsyslogd"))
        .find(|p| p.is_file());
    on_path
        .or_else(|| Some(PathBuf::from("/usr/sbin/rsyslogd")).filter(|p| p.is_file()))
        .expect("rsyslogd not found: apt-get install rsyslog rsyslog-gnutls (scripts/test does)")
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// The child side of the forwarder crash: does nothing unless started by
/// `rsyslog_receives_every_event_through_outages_and_crashes`. Forwards with a settle time
/// that never passes, so nothing it sends is ever confirmed, until it is killed.
#[test]
fn child_forwarding_until_killed() {
    let (Ok(data), Ok(pki), Ok(port)) = (
        std::env::var(CHILD_DATA),
        std::env::var(CHILD_PKI),
        std::env::var(CHILD_PORT),
    ) else {
        return;
    };
    let pki = Pki::at(Path::new(&pki));
    let address = format!("127.0.0.1:{port}").parse().unwrap();
    let mut config = config();
    config.settle = Duration::from_hours(1);
    let trail = Trail::at(Path::new(&data));
    let mut forwarder = trail.forwarder(pki.collector(address, "ca.pem", true), config);
    forwarder.follow(&Stop::new()).unwrap();
}

#[test]
#[ignore = "needs rsyslog: run scripts/test"]
fn rsyslog_receives_every_event_through_outages_and_crashes() {
    let started = Instant::now();
    let pki = Pki::generate();
    let mut rsyslog = Rsyslog::start(&pki);
    let address = format!("127.0.0.1:{}", rsyslog.port).parse().unwrap();
    let collector = || pki.collector(address, "ca.pem", true);
    let mut settle_1s = config();
    settle_1s.settle = Duration::from_secs(1);
    let trail = Trail::new(100);

    // 1. A running forwarder sends the backlog, then the collector dies mid-stream.
    trail.append(1, 300);
    let mut forwarder = trail.forwarder(collector(), settle_1s.clone());
    let stop = Stop::new();
    let worker = {
        let stop = stop.clone();
        std::thread::spawn(move || {
            let report = forwarder.follow(&stop);
            (report, forwarder)
        })
    };
    rsyslog.wait_for(300);
    // On an open connection, sent events count as delivered once they have settled.
    wait_for_cursor(&trail.cursor(), 300);
    trail.append(301, 450);
    rsyslog.wait_for(450);
    rsyslog.kill();
    // 2. Events keep coming while the collector is down; it comes back on the same port.
    trail.append(451, 600);
    std::thread::sleep(Duration::from_millis(800));
    rsyslog.restart();
    rsyslog.wait_for(600);
    stop.raise();
    let (report, forwarder) = worker.join().unwrap();
    let report = report.unwrap();
    eprintln!("phase 1-2: {report}");
    assert!(report.disconnects >= 1, "{report:?}");
    assert!(
        report.events_resent > 0,
        "the outage must force a resend: {report:?}"
    );
    assert_eq!((report.delivered, report.unconfirmed), (600, 0));
    drop(forwarder);

    // 3. A new forwarder (a restart) resumes from the cursor.
    trail.append(601, 700);
    let report = trail
        .forwarder(collector(), settle_1s.clone())
        .drain(&Stop::new())
        .unwrap();
    eprintln!("phase 3: {report}");
    assert_eq!((report.events_sent, report.events_resent), (100, 0));
    assert_eq!(report.delivered, 700);

    // 4. A forwarder killed with SIGKILL after sending: its successor re-sends, marked.
    trail.append(701, 800);
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args([
            "rsyslog_interop::child_forwarding_until_killed",
            "--exact",
            "--nocapture",
        ])
        .env(CHILD_DATA, &trail.dir)
        .env(CHILD_PKI, &pki.dir)
        .env(CHILD_PORT, rsyslog.port.to_string())
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    rsyslog.wait_for(800);
    child.kill().unwrap();
    child.wait().unwrap();
    trail.append(801, 820);
    let report = trail
        .forwarder(collector(), settle_1s)
        .drain(&Stop::new())
        .unwrap();
    eprintln!("phase 4: {report}");
    assert_eq!((report.events_sent, report.events_resent), (120, 100));
    assert_eq!(report.delivered, 820);
    rsyslog.stop();

    // What rsyslog wrote: every message is RFC 5424, every event is there, duplicates marked.
    let raw = rsyslog.lines("raw.log");
    let messages: Vec<Message> = raw
        .iter()
        .map(|line| parse_message(line.as_bytes()).unwrap_or_else(|e| panic!("{e}: {line}")))
        .collect();
    let copies = check_guarantee(&messages, 820);
    for seq in 1..=300 {
        assert_eq!(
            copies[&seq],
            [false],
            "event {seq} was confirmed before the outage"
        );
    }
    for seq in 701..=800 {
        assert_eq!(
            copies[&seq],
            [false, true],
            "event {seq} after the forwarder crash"
        );
    }
    let resent_in_outage = (301..=600).filter(|s| copies[s].len() > 1).count();
    assert!(resent_in_outage > 0, "the collector outage re-sent nothing");
    for m in &messages {
        assert_eq!(
            (m.app_name.as_str(), m.hostname.as_str()),
            ("rampart", "gw-test")
        );
    }

    // rsyslog's own parser read the same PRI, HOSTNAME, APP-NAME, MSGID and SD as ours.
    let parsed = rsyslog.lines("parsed.log");
    assert_eq!(parsed.len(), raw.len());
    for (line, m) in parsed.iter().zip(&messages) {
        let fields: Vec<&str> = line.split('\t').collect();
        assert_eq!(fields.len(), 6, "{line}");
        assert_eq!(fields[0], m.pri.to_string(), "{line}");
        assert_eq!(fields[1], m.hostname);
        assert_eq!(fields[2], "rampart");
        assert_eq!(fields[4], m.msgid);
        assert!(fields[5].starts_with("[rampart"), "{line}");
    }

    // The signed checkpoints reached the SIEM and verify with the device key.
    let checkpoints: Vec<&Message> = messages
        .iter()
        .filter(|m| m.param(CHECKPOINT_SD_ID, "seq").is_some())
        .collect();
    let key = insecure_signing_key(7).public_key();
    for m in &checkpoints {
        verify_checkpoint(m, &key);
    }
    let seqs: std::collections::BTreeSet<u64> = checkpoints
        .iter()
        .map(|m| m.param(CHECKPOINT_SD_ID, "seq").unwrap().parse().unwrap())
        .collect();
    // The latest checkpoint goes out once the events it covers have: 300 after the backlog,
    // 700 after phase 3, 800 (the last one the trail has) after phase 4.
    for seq in [300, 700, 800] {
        assert!(
            seqs.contains(&seq),
            "checkpoint {seq} missing from {seqs:?}"
        );
    }
    assert!(
        messages
            .iter()
            .all(|m| m.param(EVENT_SD_ID, "hash").is_some()
                || m.param(CHECKPOINT_SD_ID, "hash").is_some())
    );
    assert!(started.elapsed() < Duration::from_mins(2));
}

/// Waits until the cursor file records `seq` as delivered.
fn wait_for_cursor(path: &Path, seq: u64) {
    let needle = format!("\ndelivered {seq}\n");
    let deadline = Instant::now() + Duration::from_secs(10);
    while !std::fs::read_to_string(path).is_ok_and(|c| c.contains(&needle)) {
        assert!(Instant::now() < deadline, "event {seq} never confirmed");
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// What a SIEM does with a checkpoint message: rebuild the signed bytes and verify them.
fn verify_checkpoint(m: &Message, key: &DevicePublicKey) {
    let p = |name| m.param(CHECKPOINT_SD_ID, name).unwrap();
    let mut signed = b"rampart-audit/v1/checkpoint".to_vec();
    signed.extend_from_slice(&p("seq").parse::<u64>().unwrap().to_be_bytes());
    signed.extend_from_slice(&hex(p("hash")));
    signed.extend_from_slice(&p("ts_us").parse::<i64>().unwrap().to_be_bytes());
    let signature = Signature::from_slice(&hex(p("signature"))).unwrap();
    assert!(
        key.verify_signature(&signed, &signature),
        "checkpoint {}: signature does not verify",
        p("seq")
    );
}

fn hex(text: &str) -> Vec<u8> {
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&text[i..i + 2], 16).unwrap())
        .collect()
}
