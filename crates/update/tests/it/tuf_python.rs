//! python-tuf (PyPI `tuf`) as an independent second signer: `tests/tuf_python_repo.py` builds a
//! repository with ed25519, ECDSA P-256 and RSA-PSS keys, consistent snapshots, sha256+sha512
//! target hashes, a delegated role and a root rotation; `rampart-tuf-client` must accept it
//! through `file://` and through `python3 -m http.server` on loopback, and refuse a tampered
//! target.

use std::net::{Ipv4Addr, TcpListener, TcpStream};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const NEEDS: &str = "needs python tuf: run scripts/test";

fn client(args: &[&str]) -> i32 {
    let output = Command::new(env!("CARGO_BIN_EXE_rampart-tuf-client"))
        .args(args)
        .output()
        .unwrap();
    if !output.status.success() {
        eprintln!("{}", String::from_utf8_lossy(&output.stderr));
    }
    output.status.code().unwrap_or(-1)
}

fn generate(out: &Path) -> serde_json::Map<String, serde_json::Value> {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/tuf_python_repo.py");
    let status = Command::new("python3")
        .arg(script)
        .arg(out)
        .status()
        .unwrap();
    assert!(status.success(), "{NEEDS}");
    let expected = std::fs::read(out.join("expected.json")).unwrap();
    serde_json::from_slice(&expected).unwrap()
}

/// Downloads every expected target with the client and checks the stored bytes.
fn download_all(
    base: &Path,
    metadata_url: &str,
    target_url: &str,
    expected: &serde_json::Map<String, serde_json::Value>,
) {
    let metadata = base.join("client-metadata");
    let targets = base.join("client-targets");
    let root = base.join("repo/metadata/1.root.json");
    let m = metadata.to_str().unwrap();
    assert_eq!(
        client(&["--metadata-dir", m, "init", root.to_str().unwrap()]),
        0
    );
    assert_eq!(
        client(&[
            "--metadata-dir",
            m,
            "--metadata-url",
            metadata_url,
            "refresh"
        ]),
        0
    );
    let mut args = vec!["--metadata-dir", m, "--metadata-url", metadata_url];
    for name in expected.keys() {
        args.extend(["--target-name", name.as_str()]);
    }
    args.extend([
        "--target-base-url",
        target_url,
        "--target-dir",
        targets.to_str().unwrap(),
        "download",
    ]);
    assert_eq!(client(&args), 0);
    for (name, hex) in expected {
        let stored = std::fs::read(targets.join(rampart_update::tuf::encode_name(name))).unwrap();
        assert_eq!(
            crate::tuf_repo::hex(&stored),
            hex.as_str().unwrap(),
            "{name}"
        );
    }
    // The rotated root, byte for byte as served.
    assert_eq!(
        std::fs::read(metadata.join("root.json")).unwrap(),
        std::fs::read(base.join("repo/metadata/2.root.json")).unwrap()
    );
}

#[test]
#[ignore = "needs python tuf: run scripts/test"]
fn python_tuf_repository_through_file_urls() {
    let dir = tempfile::tempdir().unwrap();
    let expected = generate(&dir.path().join("repo"));
    let base = dir.path().join("repo");
    download_all(
        dir.path(),
        &format!("file://{}/metadata", base.display()),
        &format!("file://{}/targets", base.display()),
        &expected,
    );
}

struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn serve(dir: &Path) -> (Server, u16) {
    let port = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let child = Command::new("python3")
        .args([
            "-m",
            "http.server",
            &port.to_string(),
            "--bind",
            "127.0.0.1",
            "--directory",
        ])
        .arg(dir)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let server = Server(child);
    let deadline = Instant::now() + Duration::from_secs(10);
    while TcpStream::connect((Ipv4Addr::LOCALHOST, port)).is_err() {
        assert!(
            Instant::now() < deadline,
            "http.server did not start on {port}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    (server, port)
}

#[test]
#[ignore = "needs python tuf: run scripts/test"]
fn python_tuf_repository_over_http_and_a_tampered_target() {
    let dir = tempfile::tempdir().unwrap();
    let expected = generate(&dir.path().join("repo"));
    let (_server, port) = serve(&dir.path().join("repo"));
    let metadata_url = format!("http://127.0.0.1:{port}/metadata/");
    let target_url = format!("http://127.0.0.1:{port}/targets/");
    download_all(dir.path(), &metadata_url, &target_url, &expected);

    // Every served copy of file.txt replaced: the stored copy is kept (cached), and a fresh
    // target directory gets nothing.
    for entry in std::fs::read_dir(dir.path().join("repo/targets")).unwrap() {
        let path = entry.unwrap().path();
        if path.to_string_lossy().ends_with(".file.txt") {
            std::fs::write(&path, b"a target signed by python-tuX\n").unwrap();
        }
    }
    let fresh = dir.path().join("fresh-targets");
    let m = dir.path().join("client-metadata");
    let code = client(&[
        "--metadata-dir",
        m.to_str().unwrap(),
        "--metadata-url",
        &metadata_url,
        "--target-name",
        "file.txt",
        "--target-base-url",
        &target_url,
        "--target-dir",
        fresh.to_str().unwrap(),
        "download",
    ]);
    assert_eq!(code, 1);
    assert_eq!(std::fs::read_dir(&fresh).unwrap().count(), 0);
}
