//! A software TPM for tests: `swtpm` on a free loopback port pair, killed when dropped, and
//! tpm2-tools run against it. Shared by the vault's and the management plane's TPM tests
//! (`#[path]`), which `scripts/test` runs with the feature `tpm` after installing both.

// Each user of this file takes what it needs.
#![allow(dead_code)]

use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

/// A swtpm on 127.0.0.1, killed and its state removed when dropped.
pub(crate) struct Swtpm {
    child: Child,
    port: u16,
    _state: tempfile::TempDir,
}

impl Swtpm {
    /// Starts swtpm on a free pair of ports (server P, control P+1), waiting at most 10 s for
    /// it to answer.
    pub(crate) fn start() -> Swtpm {
        for _ in 0..20 {
            let Some(port) = free_port_pair() else {
                continue;
            };
            let state = tempfile::tempdir().unwrap();
            let mut child = Command::new("swtpm")
                .args(["socket", "--tpm2", "--server"])
                .arg(format!("type=tcp,port={port},bindaddr=127.0.0.1"))
                .arg("--ctrl")
                .arg(format!("type=tcp,port={},bindaddr=127.0.0.1", port + 1))
                .args(["--flags", "not-need-init,startup-clear", "--tpmstate"])
                .arg(format!("dir={}", state.path().display()))
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .expect("swtpm is not installed: run scripts/test");
            let deadline = Instant::now() + Duration::from_secs(10);
            while Instant::now() < deadline {
                if let Ok(Some(_)) = child.try_wait() {
                    break; // the port was taken meanwhile: try another
                }
                if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
                    return Swtpm {
                        child,
                        port,
                        _state: state,
                    };
                }
                std::thread::sleep(Duration::from_millis(20));
            }
            let _ = child.kill();
            let _ = child.wait();
        }
        panic!("swtpm did not start");
    }

    /// Its TCTI.
    pub(crate) fn tcti(&self) -> String {
        format!("swtpm:host=127.0.0.1,port={}", self.port)
    }

    /// Runs a tpm2-tools command against it.
    pub(crate) fn tool(&self, program: &str, args: &[&str]) -> Output {
        Command::new(program)
            .args(args)
            .env("TPM2TOOLS_TCTI", self.tcti())
            .output()
            .unwrap_or_else(|e| panic!("{program}: {e} (tpm2-tools: run scripts/test)"))
    }

    /// Runs a tpm2-tools command that must succeed; its standard output.
    pub(crate) fn tool_ok(&self, program: &str, args: &[&str]) -> String {
        let out = self.tool(program, args);
        assert!(
            out.status.success(),
            "{program} {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// Extends PCR `pcr` (SHA-256 bank) with `byte` repeated, as a boot stage would.
    pub(crate) fn extend(&self, pcr: u8, byte: u8) {
        let digest = format!("{byte:02x}").repeat(32);
        self.tool_ok("tpm2_pcrextend", &[&format!("{pcr}:sha256={digest}")]);
    }
}

impl Drop for Swtpm {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port_pair() -> Option<u16> {
    let first = std::net::TcpListener::bind("127.0.0.1:0").ok()?;
    let port = first.local_addr().ok()?.port();
    let second = std::net::TcpListener::bind(("127.0.0.1", port.checked_add(1)?)).ok()?;
    drop((first, second));
    Some(port)
}
