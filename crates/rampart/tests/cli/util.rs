//! Running the `rampart` binary from tests.

use std::io::{BufRead as _, BufReader};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

/// Runs `rampart` with `args`, without a terminal (so without colour).
pub(crate) fn rampart(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_rampart"))
        .args(args)
        .env_remove("NO_COLOR")
        .output()
        .expect("the rampart binary runs")
}

/// Runs `rampart` with `args` and `input` on its standard input (which it may not read if
/// it refuses first).
pub(crate) fn with_stdin(args: &[&str], input: &str) -> Output {
    use std::io::Write as _;
    let mut child = Command::new(env!("CARGO_BIN_EXE_rampart"))
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // A command that refuses before reading stdin closes it: a broken pipe is fine here.
    let _ = child.stdin.take().unwrap().write_all(input.as_bytes());
    child.wait_with_output().unwrap()
}

pub(crate) fn stdout(output: &Output) -> String {
    String::from_utf8(output.stdout.clone()).expect("stdout is UTF-8")
}

pub(crate) fn stderr(output: &Output) -> String {
    String::from_utf8(output.stderr.clone()).expect("stderr is UTF-8")
}

/// Asserts that the command succeeded and returns its stdout.
pub(crate) fn ok(args: &[&str]) -> String {
    let output = rampart(args);
    assert!(
        output.status.success(),
        "{args:?} failed: {}",
        stderr(&output)
    );
    stdout(&output)
}

/// Whether a program is on the PATH.
pub(crate) fn have(program: &str) -> bool {
    Command::new("sh")
        .args(["-c", &format!("command -v {program}")])
        .output()
        .is_ok_and(|o| o.status.success())
}

/// A gateway configuration that listens on free ports, so tests do not collide.
pub(crate) const FREE_PORTS: &str =
    "[secure]\nlisten = \"127.0.0.1:0\"\n[management]\nlisten = \"127.0.0.1:0\"\n";

/// A running `rampart up`, killed when dropped.
pub(crate) struct Up(pub(crate) Child);

impl Drop for Up {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Starts `rampart up` and returns it with the management address it printed.
pub(crate) fn up(data: &std::path::Path, config: &std::path::Path) -> (Up, String) {
    let (up, lines) = up_lines(data, config);
    let management =
        address(&lines, "management (HTTPS)").expect("rampart up printed its management address");
    (up, format!("https://{management}"))
}

/// The address `rampart up` printed on the line starting with `label`, e.g.
/// `Modbus/TCP Security` or `plain Modbus/TCP`.
pub(crate) fn address(lines: &[String], label: &str) -> Option<String> {
    lines.iter().find_map(|line| {
        let rest = line.trim().strip_prefix(label)?;
        let word = rest.split_whitespace().next()?;
        let word = word.strip_prefix("https://").unwrap_or(word);
        Some(word.trim_end_matches('/').to_owned())
    })
}

/// Starts `rampart up` and returns it with the lines it printed up to the end of its start-up
/// summary.
pub(crate) fn up_lines(data: &std::path::Path, config: &std::path::Path) -> (Up, Vec<String>) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_rampart"))
        .args([
            "up",
            "--data",
            data.to_str().unwrap(),
            "--config",
            config.to_str().unwrap(),
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let mut seen = Vec::new();
    let deadline = Instant::now() + Duration::from_mins(1);
    while Instant::now() < deadline {
        let Some(Ok(line)) = lines.next() else { break };
        let done = line.contains("SIGHUP reloads the policy");
        seen.push(line);
        if done {
            break;
        }
    }
    // Keep draining stdout so the gateway never blocks on a full pipe.
    std::thread::spawn(move || for _ in lines.map_while(Result::ok) {});
    (Up(child), seen)
}

/// Runs compliance-trestle with `args` in `workspace` and asserts that it succeeded.
pub(crate) fn trestle(workspace: &std::path::Path, args: &[&str]) {
    let output = Command::new("trestle")
        .args(args)
        .current_dir(workspace)
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "trestle {args:?} failed:\n{}\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}

/// Runs `rampart ARGS` and checks it is refused as bad input: exit code 2, a message that
/// contains `needle`, no panic.
pub(crate) fn assert_bad_input(args: &[&str], needle: &str) {
    let output = rampart(args);
    assert_eq!(
        output.status.code(),
        Some(2),
        "{args:?}: {}",
        stderr(&output)
    );
    assert!(
        stderr(&output).contains(needle),
        "{args:?}: {}",
        stderr(&output)
    );
    assert!(!stderr(&output).contains("panicked"), "{args:?}");
}

/// A headless Chromium screenshot (1280 × 2000) of the local page `html` into `png`, as the
/// machine's notes say to start it (no background networking, a fresh profile): the PNG's
/// bytes, checked to be a PNG of a rendered page (a blank one compresses to a few kilobytes).
pub(crate) fn chromium_screenshot(html: &std::path::Path, png: &std::path::Path) -> Vec<u8> {
    let chromium = std::path::Path::new("/usr/bin/chromium");
    assert!(
        chromium.exists(),
        "chromium is not installed: run scripts/test"
    );
    let _ = std::fs::remove_file(png);
    let profile_dir = tempfile::tempdir().unwrap();
    let html = html.canonicalize().unwrap();
    let run = std::process::Command::new(chromium)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            &format!("--user-data-dir={}", profile_dir.path().display()),
            &format!("--screenshot={}", png.display()),
            "--window-size=1280,2000",
            &format!("file://{}", html.display()),
        ])
        .output()
        .unwrap();
    assert!(
        run.status.success(),
        "chromium failed: {}",
        String::from_utf8_lossy(&run.stderr)
    );
    let bytes =
        std::fs::read(png).unwrap_or_else(|e| panic!("no screenshot at {}: {e}", png.display()));
    assert_eq!(&bytes[..8], b"\x89PNG\r\n\x1a\n", "not a PNG");
    assert!(
        bytes.len() > 50_000,
        "screenshot is only {} bytes",
        bytes.len()
    );
    bytes
}

/// An API token for an `auditor` process account `assessor` of the data directory `data`
/// (`rampart user add --process`, `rampart token create`), for `assess --live`.
pub(crate) fn assessor_token(data: &std::path::Path) -> String {
    // Tokens for another account are for process accounts only: one for the assessment.
    process_token(data.to_str().unwrap(), "assessor", "auditor", "assess")
}

/// A process account `account` holding `role` in the data directory `data`, and an API token
/// for it labelled `label`, valid for a day.
pub(crate) fn process_token(data: &str, account: &str, role: &str, label: &str) -> String {
    ok(&[
        "user",
        "add",
        "--data",
        data,
        "--process",
        account,
        "--role",
        role,
    ]);
    ok(&[
        "token",
        "create",
        "--data",
        data,
        "--account",
        account,
        "--role",
        role,
        "--label",
        label,
        "--days",
        "1",
    ])
    .trim()
    .to_owned()
}
