//! Secrets at rest (CR 4.1, CR 4.3) and erase (CR 4.2) end to end: after `rampart up` has
//! provisioned a new data directory and a user has enrolled TOTP, no private key (PEM body or
//! DER), TOTP seed or KEK-protected secret is anywhere in the directory's raw bytes; `rampart
//! erase` refuses without confirmation and destroys everything with it; `rampart crypto`
//! lists the sealed keys; a running gateway's memory reaches no core dump (CR 4.2 RE 1).

use std::path::{Path, PathBuf};

use rampart_identity::{AccountName, NewAccount, Origin, Password};

use crate::util::{FREE_PORTS, ok, rampart, stderr, stdout, up};

/// Every regular file under `dir`.
fn files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            out.extend(files(&path));
        } else if path.is_file() {
            out.push(path);
        }
    }
    out
}

/// The files of `dir` (outside `pki/clients/`, whose keys are issued to clients in PEM by
/// design) that hold `needle`.
fn holders(dir: &Path, needle: &[u8]) -> Vec<PathBuf> {
    files(dir)
        .into_iter()
        .filter(|f| !f.starts_with(dir.join("pki/clients")))
        .filter(|f| {
            let bytes = std::fs::read(f).unwrap();
            bytes.windows(needle.len()).any(|w| w == needle)
        })
        .collect()
}

/// A minimal standard base64 decoder (PEM bodies), so the DER can be searched too.
fn base64(text: &str) -> Vec<u8> {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = Vec::new();
    let (mut acc, mut bits) = (0u32, 0);
    for c in text
        .bytes()
        .filter(|c| *c != b'=' && !c.is_ascii_whitespace())
    {
        let v = ALPHABET.iter().position(|a| *a == c).unwrap();
        acc = (acc << 6) | u32::try_from(v).unwrap();
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push(u8::try_from((acc >> bits) & 0xff).unwrap());
        }
    }
    out
}

fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    bytes
        .iter()
        .flat_map(|b| [DIGITS[usize::from(b >> 4)], DIGITS[usize::from(b & 0xf)]])
        .map(char::from)
        .collect()
}

fn base32(text: &str) -> Vec<u8> {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
    let mut out = Vec::new();
    let (mut acc, mut bits) = (0u64, 0);
    for c in text.bytes().filter(|c| *c != b'=') {
        let v = ALPHABET.iter().position(|a| *a == c).unwrap();
        acc = (acc << 5) | u64::try_from(v).unwrap();
        bits += 5;
        if bits >= 8 {
            bits -= 8;
            out.push(u8::try_from((acc >> bits) & 0xff).unwrap());
        }
    }
    out
}

/// CR 4.2 RE 1: a running gateway writes no core dump (its core limit, read from outside in
/// `/proc/PID/limits`, is 0 soft and hard) and is not dumpable (it says so in its live
/// configuration report; `live_assess` checks the live check on it).
#[test]
fn a_running_gateway_keeps_its_memory_from_core_dumps_and_other_processes() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let config = dir.path().join("rampart.toml");
    std::fs::write(&config, FREE_PORTS).unwrap();
    let (up, _) = up(&data, &config);
    let limits = std::fs::read_to_string(format!("/proc/{}/limits", up.0.id())).unwrap();
    let core = limits
        .lines()
        .find(|l| l.starts_with("Max core file size"))
        .unwrap();
    assert_eq!(
        core.split_whitespace().skip(4).take(2).collect::<Vec<_>>(),
        ["0", "0"],
        "{core}"
    );
    // The offline report of the same directory comes from a process that protects itself
    // the same way.
    let report: serde_json::Value = serde_json::from_str(&ok(&[
        "config-report",
        "--data",
        data.to_str().unwrap(),
        "--format",
        "json",
    ]))
    .unwrap();
    let protected = report["settings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["id"] == "process.memory_protected")
        .unwrap();
    assert_eq!(protected["value"], true, "{protected}");
}

#[test]
fn after_up_no_secret_is_in_clear_and_erase_destroys_everything() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let config = dir.path().join("rampart.toml");
    std::fs::write(&config, FREE_PORTS).unwrap();
    {
        let _up = up(&data, &config);
    }

    // A user enrols TOTP (through the component layer, as the management plane does).
    let (component, _) = rampart_gateway::component::Component::open(&data).unwrap();
    let identity = component
        .identity(rampart_identity::IdentityConfig::default())
        .unwrap();
    let root = identity.local_console("test").unwrap();
    let name = AccountName::parse("canary").unwrap();
    let password = "plinth marmot cobalt fjord";
    identity
        .create_user(
            &root,
            &NewAccount::new(name).must_change_password(false),
            &Password::from(password),
        )
        .unwrap();
    let principal = identity
        .authenticate(
            "canary",
            &Password::from(password),
            None,
            &Origin::new("test"),
        )
        .unwrap();
    let enrolment = identity.begin_totp_enrolment(&principal).unwrap();
    let seed_base32 = enrolment.expose_secret_base32().to_owned();
    let code = rampart_identity::totp::code_at(&seed_base32, identity.now()).unwrap();
    identity.confirm_totp_enrolment(&principal, &code).unwrap();
    drop(identity);
    let data_dir = component.data.clone();
    component.close().unwrap();

    // The canaries: each private key's PEM lines and DER, the TOTP seed raw and in base32.
    let mut canaries: Vec<(String, Vec<u8>)> = Vec::new();
    for name in rampart_vault::SEALED_FILES {
        let pem = rampart_vault::at_rest::read_secret(&data.join(name)).unwrap();
        let pem = String::from_utf8(pem.to_vec()).unwrap();
        assert!(pem.contains("PRIVATE KEY"), "{name}");
        let body: String = pem.lines().filter(|l| !l.starts_with("-----")).collect();
        let der = base64(&body);
        // The secret itself: the 32-byte private scalar (EC: `02 01 01 04 20`, ECPrivateKey
        // version 1 and its OCTET STRING) or seed (Ed25519: `04 22 04 20`). The PEM lines are
        // not canaries on their own: those covering the public key also occur in the
        // certificate.
        let secret = [
            &[0x02, 0x01, 0x01, 0x04, 0x20][..],
            &[0x04, 0x22, 0x04, 0x20][..],
        ]
        .iter()
        .find_map(|prefix| {
            der.windows(prefix.len())
                .position(|w| w == *prefix)
                .map(|at| der[at + prefix.len()..at + prefix.len() + 32].to_vec())
        })
        .unwrap_or_else(|| panic!("{name}: no private scalar found"));
        canaries.push((format!("{name} private scalar"), secret.clone()));
        canaries.push((
            format!("{name} private scalar, hex"),
            hex(&secret).into_bytes(),
        ));
        canaries.push((format!("{name} PEM body"), body.into_bytes()));
        canaries.push((format!("{name} DER"), der));
    }
    let seed = base32(&seed_base32);
    assert_eq!(seed.len(), 20);
    canaries.push(("TOTP seed".into(), seed));
    canaries.push(("TOTP seed base32".into(), seed_base32.as_bytes().to_vec()));
    let kek_hex = std::fs::read_to_string(data.join("keys/kek")).unwrap();
    let kek_hex = kek_hex.lines().nth(1).unwrap().to_owned();
    for (what, needle) in &canaries {
        let found = holders(&data, needle);
        assert!(found.is_empty(), "{what} in clear in {found:?}");
    }
    // The KEK itself is only in its own file.
    assert_eq!(
        holders(&data, kek_hex.as_bytes()),
        vec![data.join("keys/kek")]
    );
    // The demo client keys stay plain PEM by design.
    let client = std::fs::read_to_string(data.join("pki/clients/operator.key")).unwrap();
    assert!(client.starts_with("-----BEGIN PRIVATE KEY-----"));

    // The inventory sees them.
    let json: serde_json::Value = serde_json::from_str(&ok(&[
        "crypto",
        "--data",
        data.to_str().unwrap(),
        "--format",
        "json",
    ]))
    .unwrap();
    let location = |id: &str| {
        json.as_array()
            .unwrap()
            .iter()
            .find(|a| a["id"] == id)
            .map(|a| a["location"].as_str().unwrap().to_owned())
    };
    assert_eq!(
        location("crypto/key/server").as_deref(),
        Some("encrypted-file")
    );
    assert_eq!(
        location("crypto/key/totp-seeds").as_deref(),
        Some("encrypted-column")
    );
    assert_eq!(
        location("crypto/key/client/operator").as_deref(),
        Some("plain-file (issued to client)")
    );

    // Erase: no terminal and no --yes is refused (exit 2), nothing changed.
    let refused = rampart(&["erase", "--data", data.to_str().unwrap()]);
    assert_eq!(refused.status.code(), Some(2), "{}", stderr(&refused));
    assert!(stderr(&refused).contains("--yes"), "{}", stderr(&refused));
    assert!(data.join("keys/kek").exists());
    let erased = rampart(&["erase", "--data", data.to_str().unwrap(), "--yes"]);
    assert!(erased.status.success(), "{}", stderr(&erased));
    let text = stdout(&erased);
    assert!(
        text.contains("vault.erase") && text.contains("nothing remains"),
        "{text}"
    );
    assert!(!data.exists());
    drop(data_dir);
    // A second erase is bad input: there is nothing to erase.
    let again = rampart(&["erase", "--data", data.to_str().unwrap(), "--yes"]);
    assert_eq!(again.status.code(), Some(2));
}

#[test]
fn erase_checks_the_siem_files_first_and_refuses_foreign_and_running_directories() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let data_s = data.to_str().unwrap();
    ok(&[
        "audit",
        "append",
        "--data",
        data_s,
        "--category",
        "control_system",
        "--action",
        "x",
    ]);
    let bad = rampart(&[
        "erase",
        "--data",
        data_s,
        "--yes",
        "--forward-to",
        "127.0.0.1:6514",
        "--forward-ca",
        "/nonexistent/ca.pem",
    ]);
    assert_eq!(bad.status.code(), Some(2), "{}", stderr(&bad));
    assert!(data.join("keys/kek").exists(), "nothing erased");
    let trail = ok(&["audit", "query", "--data", data_s, "--format", "json"]);
    assert!(!trail.contains("vault.erase"), "nothing recorded: {trail}");
    // Not a data directory at all.
    let foreign = dir.path().join("home");
    std::fs::create_dir(&foreign).unwrap();
    let refused = rampart(&["erase", "--data", foreign.to_str().unwrap(), "--yes"]);
    assert_eq!(refused.status.code(), Some(2));
    assert!(foreign.exists());
    // A directory a running gateway holds.
    let config = dir.path().join("rampart.toml");
    std::fs::write(&config, FREE_PORTS).unwrap();
    let _up = up(&data, &config);
    let busy = rampart(&["erase", "--data", data_s, "--yes"]);
    assert_eq!(busy.status.code(), Some(2), "{}", stderr(&busy));
    assert!(stderr(&busy).contains("in use"), "{}", stderr(&busy));
    assert!(data.join("keys/kek").exists());
}

/// A one-connection RFC 5425 collector over TLS with the data directory's own server
/// certificate: returns its port and a channel with everything it received.
pub(crate) fn collector(data: &Path) -> (u16, std::sync::mpsc::Receiver<Vec<u8>>) {
    use std::io::{Read as _, Write as _};
    use std::sync::Arc;

    use rustls::pki_types::pem::PemObject as _;
    use rustls::pki_types::{CertificateDer, PrivateKeyDer};
    let opened = rampart_vault::DataDir::open(data).unwrap();
    let pki = rampart_vault::pki::Pki::open(&opened).unwrap();
    let chain: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(pki.server_cert_path())
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    let key = PrivateKeyDer::from_pem_slice(
        &rampart_vault::at_rest::read_secret(&pki.server_key_path()).unwrap(),
    )
    .unwrap();
    let config =
        rustls::ServerConfig::builder_with_provider(Arc::new(rampart_vault::tls::provider()))
            .with_protocol_versions(rampart_vault::tls::PROTOCOL_VERSIONS)
            .unwrap()
            .with_no_client_auth()
            .with_single_cert(chain, key)
            .unwrap();
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let (sender, receiver) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let (stream, _) = listener.accept().unwrap();
        stream
            .set_read_timeout(Some(std::time::Duration::from_secs(20)))
            .unwrap();
        let connection = rustls::ServerConnection::new(Arc::new(config)).unwrap();
        let mut tls = rustls::StreamOwned::new(connection, stream);
        let mut stream_bytes = Vec::new();
        let _ = tls.read_to_end(&mut stream_bytes);
        tls.conn.send_close_notify();
        let _ = tls.flush();
        let _ = sender.send(stream_bytes);
    });
    (port, receiver)
}

#[test]
fn erase_delivers_its_event_to_the_siem_before_destroying_the_trail() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let config = dir.path().join("rampart.toml");
    std::fs::write(&config, FREE_PORTS).unwrap();
    {
        let _up = up(&data, &config);
    }
    let (port, received) = collector(&data);
    let ca = dir.path().join("ca.crt");
    std::fs::copy(data.join("pki/ca.crt"), &ca).unwrap();
    let erased = rampart(&[
        "erase",
        "--data",
        data.to_str().unwrap(),
        "--yes",
        "--forward-to",
        &format!("127.0.0.1:{port}"),
        "--forward-ca",
        ca.to_str().unwrap(),
    ]);
    assert!(erased.status.success(), "{}", stderr(&erased));
    assert!(!data.exists());
    let stream = received
        .recv_timeout(std::time::Duration::from_secs(30))
        .unwrap();
    let frames = rampart_forward::testing::split_frames(&stream).unwrap();
    let erase = frames
        .iter()
        .map(|f| rampart_forward::testing::parse_message(f).unwrap())
        .find(|m| m.msgid == "vault.erase")
        .unwrap_or_else(|| panic!("no vault.erase among {} messages", frames.len()));
    let param = |name: &str| erase.param("rampart@32473", name).map(str::to_owned);
    assert_eq!(param("action").as_deref(), Some("vault.erase"));
    assert_eq!(param("outcome").as_deref(), Some("success"));
}
