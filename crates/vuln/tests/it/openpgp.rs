//! The `OpenPGP` signatures of a trusted provider against `GnuPG`, the independent peer: `GnuPG`
//! verifies what Rampart signs with the certificate Rampart publishes, and Rampart verifies
//! what `GnuPG` signs with an Ed25519 key `GnuPG` made.

use std::path::Path;
use std::process::Command;

use rampart_vault::DeviceKey;
use rampart_vuln::openpgp::{self, PublicKey};

const CREATED: u32 = 1_780_000_000;

/// A `GnuPG` home directory that stops its agent when dropped.
struct Gpg {
    home: tempfile::TempDir,
}

impl Gpg {
    fn new() -> Gpg {
        Gpg {
            home: tempfile::tempdir().unwrap(),
        }
    }

    fn run(&self, args: &[&str]) -> std::process::Output {
        Command::new("gpg")
            .arg("--homedir")
            .arg(self.home.path())
            .args([
                "--batch",
                "--no-tty",
                "--pinentry-mode",
                "loopback",
                "--passphrase",
                "",
            ])
            .args(args)
            .output()
            .unwrap_or_else(|e| panic!("gpg: {e}"))
    }

    fn ok(&self, args: &[&str]) -> String {
        let output = self.run(args);
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
        assert!(output.status.success(), "gpg {args:?}: {text}");
        text
    }

    fn path(&self, name: &str) -> String {
        self.home.path().join(name).display().to_string()
    }
}

impl Drop for Gpg {
    fn drop(&mut self) {
        let _ = Command::new("gpgconf")
            .arg("--homedir")
            .arg(self.home.path())
            .args(["--kill", "gpg-agent"])
            .status();
    }
}

fn write(path: &str, bytes: &[u8]) {
    std::fs::write(Path::new(path), bytes).unwrap();
}

fn now() -> u64 {
    u64::from(CREATED) + 1000
}

#[test]
#[ignore = "needs gnupg: run scripts/test"]
fn gnupg_verifies_our_signature_with_our_certificate() {
    let gpg = Gpg::new();
    let key = DeviceKey::danger_insecure_from_seed(&[42; 32]);
    let certificate =
        openpgp::certificate(&key, "Maker PSIRT <psirt@maker.example>", CREATED).unwrap();
    let public = PublicKey::from_armored(&certificate).unwrap();
    write(&gpg.path("key.asc"), certificate.as_bytes());
    gpg.ok(&["--import", &gpg.path("key.asc")]);
    let listed = gpg.ok(&["--with-colons", "--fingerprint", "--list-keys"]);
    assert!(listed.contains(&public.fingerprint()), "{listed}");
    assert!(
        listed.contains("Maker PSIRT <psirt@maker.example>"),
        "{listed}"
    );

    let document = b"{\"document\": {\"csaf_version\": \"2.0\"}}\n";
    let signature = openpgp::sign_detached(&key, &public, document, CREATED + 60).unwrap();
    write(&gpg.path("doc.json"), document);
    write(&gpg.path("doc.json.asc"), signature.as_bytes());
    let verified = gpg.ok(&["--verify", &gpg.path("doc.json.asc"), &gpg.path("doc.json")]);
    assert!(verified.contains("Good signature"), "{verified}");

    write(
        &gpg.path("doc.json"),
        b"{\"document\": {\"csaf_version\": \"2.1\"}}\n",
    );
    let output = gpg.run(&["--verify", &gpg.path("doc.json.asc"), &gpg.path("doc.json")]);
    assert!(!output.status.success());
    assert!(String::from_utf8_lossy(&output.stderr).contains("BAD signature"));
}

#[test]
#[ignore = "needs gnupg: run scripts/test"]
fn we_verify_what_gnupg_signs_with_its_ed25519_key() {
    let gpg = Gpg::new();
    gpg.ok(&[
        "--quick-gen-key",
        "Peer PSIRT <peer@example.org>",
        "ed25519",
        "sign",
        "never",
    ]);
    let exported = gpg.ok(&["--armor", "--export", "peer@example.org"]);
    let public = PublicKey::from_armored(&exported).unwrap();
    assert_eq!(public.user_ids(), ["Peer PSIRT <peer@example.org>"]);
    let listed = gpg.ok(&["--with-colons", "--fingerprint", "--list-keys"]);
    assert!(listed.contains(&public.fingerprint()), "{listed}");

    let document = b"{\"document\": {\"title\": \"signed by GnuPG\"}}\n";
    write(&gpg.path("doc.json"), document);
    // SHA-256 as Rampart signs, and `GnuPG`'s own choice of digest for an EdDSA key.
    for digest in [Some("SHA256"), None] {
        let out = gpg.path("doc.json.asc");
        let _ = std::fs::remove_file(&out);
        let mut args = vec!["--armor", "--detach-sign", "-o", &out];
        if let Some(d) = digest {
            args.extend(["--digest-algo", d]);
        }
        let doc_path = gpg.path("doc.json");
        args.push(&doc_path);
        gpg.ok(&args);
        let signature = std::fs::read_to_string(&out).unwrap();
        let verified = openpgp::verify_detached(
            std::slice::from_ref(&public),
            document,
            &signature,
            u64::from(u32::MAX),
        )
        .unwrap();
        assert_eq!(verified.fingerprint, public.fingerprint());

        let e = openpgp::verify_detached(
            std::slice::from_ref(&public),
            b"{\"document\": {\"title\": \"signed by GnuPG!\"}}\n",
            &signature,
            u64::from(u32::MAX),
        )
        .unwrap_err();
        assert!(e.to_string().contains("does not match"), "{e}");
        // A changed signature byte (base64 of the last MPI) is refused too.
        let lines: Vec<&str> = signature.lines().collect();
        let at = lines.iter().position(|l| l.starts_with('=')).unwrap() - 1;
        let mut line = lines[at].to_owned();
        let c = if line.starts_with('A') { "B" } else { "A" };
        line.replace_range(0..1, c);
        let mut changed = lines.clone();
        changed[at] = &line;
        let changed = changed.join("\n");
        assert!(
            openpgp::verify_detached(
                std::slice::from_ref(&public),
                document,
                &changed,
                u64::from(u32::MAX)
            )
            .is_err()
        );
    }
    // A key that is not trusted.
    let other = DeviceKey::danger_insecure_from_seed(&[1; 32]);
    let other = PublicKey::from_armored(&openpgp::certificate(&other, "O <o@e>", CREATED).unwrap())
        .unwrap();
    let signature = std::fs::read_to_string(gpg.path("doc.json.asc")).unwrap();
    assert!(openpgp::verify_detached(&[other], document, &signature, now()).is_err());
}

/// A trusted provider's directory written to disk: the directory, the feed's path, the
/// document's path and the signing key's certificate.
fn trusted_directory() -> (
    tempfile::TempDir,
    std::path::PathBuf,
    std::path::PathBuf,
    PublicKey,
) {
    use rampart_vuln::publish;
    let source = publish::read_source(
        &std::fs::read_to_string(crate::util::data("advisory-source.toml")).unwrap(),
        "advisory-source.toml",
    )
    .unwrap();
    let now: jiff::Timestamp = "2026-12-07T10:00:00Z".parse().unwrap();
    let text = publish::write_advisory(&source, now).unwrap();
    let published = publish::Published::from_document(&text, "sa").unwrap();
    let key = DeviceKey::danger_insecure_from_seed(&[5; 32]);
    let certificate = openpgp::certificate(&key, "Maker <psirt@maker.example>", CREATED).unwrap();
    let public = PublicKey::from_armored(&certificate).unwrap();
    let provider = publish::Provider {
        base_url: "https://maker.example".into(),
        publisher: "Maker".into(),
        namespace: "https://maker.example".into(),
    };
    let signer = publish::Signer {
        key: &key,
        certificate: &certificate,
        public: &public,
    };
    let dir = tempfile::tempdir().unwrap();
    for (relative, bytes) in
        publish::trusted_provider_files(&provider, &[published], now, Some(&signer)).unwrap()
    {
        let path = dir.path().join(relative);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, bytes).unwrap();
    }
    let csaf = dir.path().join(".well-known/csaf");
    let feed = csaf.join("white/white-feed.json");
    let doc = std::fs::read_dir(csaf.join("white/2026"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.extension().is_some_and(|e| e == "json"))
        .unwrap();
    (dir, feed, doc, public)
}

#[test]
fn documents_read_with_trusted_keys_need_a_valid_signature_by_one_of_them() {
    use rampart_vuln::load::{self, Signatures};
    let (dir, feed, doc, public) = trusted_directory();
    let trusted = Signatures {
        keys: vec![public],
        now: now(),
    };
    let csaf_dir = dir.path().join(".well-known/csaf");
    assert_eq!(load::csaf_signed(&feed, &trusted).unwrap().len(), 1);
    assert_eq!(load::csaf_signed(&csaf_dir, &trusted).unwrap().len(), 1);
    assert_eq!(load::csaf_signed(&doc, &trusted).unwrap().len(), 1);

    // Another key is trusted: refused, naming the document.
    let other = DeviceKey::danger_insecure_from_seed(&[6; 32]);
    let other = Signatures {
        keys: vec![
            PublicKey::from_armored(&openpgp::certificate(&other, "O <o@e>", CREATED).unwrap())
                .unwrap(),
        ],
        now: now(),
    };
    for path in [&feed, &csaf_dir, &doc] {
        let e = load::csaf_signed(path, &other).unwrap_err().to_string();
        assert!(
            e.contains(&doc.display().to_string()) && e.contains("not by any of the trusted keys"),
            "{e}"
        );
    }
    // Without trusted keys, as before: signatures are not looked at.
    assert_eq!(load::csaf(&feed).unwrap().len(), 1);

    // A changed document whose hash files were changed with it: the signature catches it.
    let mut text = std::fs::read_to_string(&doc).unwrap();
    text = text.replace("\"title\": \"", "\"title\": \"Changed: ");
    std::fs::write(&doc, &text).unwrap();
    let name = doc.file_name().unwrap().to_string_lossy().into_owned();
    std::fs::remove_file(doc.with_file_name(format!("{name}.sha256"))).unwrap();
    std::fs::remove_file(doc.with_file_name(format!("{name}.sha512"))).unwrap();
    assert!(load::csaf(&feed).is_ok());
    let e = load::csaf_signed(&feed, &trusted).unwrap_err().to_string();
    assert!(e.contains("does not match"), "{e}");

    // No signature at all.
    std::fs::remove_file(doc.with_file_name(format!("{name}.asc"))).unwrap();
    let e = load::csaf_signed(&feed, &trusted).unwrap_err().to_string();
    assert!(e.contains("no OpenPGP signature"), "{e}");
}

#[test]
#[ignore = "needs gnupg: run scripts/test"]
fn gnupg_verifies_a_published_trusted_provider_directory() {
    let (_dir, _feed, doc, public) = trusted_directory();
    let gpg = Gpg::new();
    let csaf = doc.parent().unwrap().parent().unwrap().parent().unwrap();
    let key_file = csaf.join(format!("openpgp/{}.asc", public.fingerprint()));
    gpg.ok(&["--import", &key_file.display().to_string()]);
    let signature = format!("{}.asc", doc.display());
    let verified = gpg.ok(&["--verify", &signature, &doc.display().to_string()]);
    assert!(verified.contains("Good signature"), "{verified}");
    let metadata = csaf.join("provider-metadata.json");
    let verified = gpg.ok(&[
        "--verify",
        &format!("{}.asc", metadata.display()),
        &metadata.display().to_string(),
    ]);
    assert!(verified.contains("Good signature"), "{verified}");
}

#[test]
#[ignore = "needs csaf (PyPI) and gnupg: run scripts/test"]
fn the_pypi_csaf_tool_accepts_the_signatures_of_a_trusted_provider_directory() {
    let (_dir, _feed, doc, public) = trusted_directory();
    let csaf = doc.parent().unwrap().parent().unwrap().parent().unwrap();
    let key_file = csaf.join(format!("openpgp/{}.asc", public.fingerprint()));
    let output = Command::new("csaf")
        .args(["relate", "sign", "--verbose", "--key"])
        .arg(&key_file)
        .arg(&doc)
        .output()
        .unwrap_or_else(|e| panic!("csaf: {e}"));
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success() && stdout.contains("TRUE"),
        "{stdout}{}",
        String::from_utf8_lossy(&output.stderr)
    );
}

#[test]
#[ignore = "needs gnupg: run scripts/test"]
fn we_verify_what_gnupg_signs_with_an_ed25519_signing_subkey() {
    let gpg = Gpg::new();
    gpg.ok(&[
        "--quick-gen-key",
        "Sub PSIRT <sub@example.org>",
        "ed25519",
        "cert",
        "never",
    ]);
    let listed = gpg.ok(&["--with-colons", "--fingerprint", "--list-keys"]);
    let primary = listed
        .lines()
        .find(|l| l.starts_with("fpr:"))
        .and_then(|l| l.split(':').nth(9))
        .unwrap()
        .to_owned();
    gpg.ok(&["--quick-add-key", &primary, "ed25519", "sign", "never"]);
    let exported = gpg.ok(&["--armor", "--export", "sub@example.org"]);
    let public = PublicKey::from_armored(&exported).unwrap();
    assert_eq!(public.fingerprint(), primary);
    assert_eq!(public.signing_subkeys().len(), 1);

    let document = b"{\"document\": {\"title\": \"signed by a subkey\"}}\n";
    write(&gpg.path("doc.json"), document);
    let out = gpg.path("doc.json.asc");
    gpg.ok(&[
        "--armor",
        "--detach-sign",
        "-o",
        &out,
        &gpg.path("doc.json"),
    ]);
    let signature = std::fs::read_to_string(&out).unwrap();
    let verified = openpgp::verify_detached(
        std::slice::from_ref(&public),
        document,
        &signature,
        now() * 2,
    )
    .unwrap();
    assert_eq!(verified.fingerprint, primary);
    assert!(
        openpgp::verify_detached(
            std::slice::from_ref(&public),
            b"other",
            &signature,
            now() * 2
        )
        .is_err()
    );

    // A revoked subkey no longer counts (gpg --edit-key: key 1, revkey).
    let mut edit = Command::new("gpg")
        .arg("--homedir")
        .arg(gpg.home.path())
        .args(["--batch", "--pinentry-mode", "loopback", "--passphrase", ""])
        .args(["--command-fd", "0", "--edit-key", &primary])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    {
        use std::io::Write as _;
        let mut stdin = edit.stdin.take().unwrap();
        stdin
            .write_all(b"key 1\nrevkey\ny\n0\n\ny\nsave\n")
            .unwrap();
    }
    assert!(edit.wait().unwrap().success());
    let exported = gpg.ok(&["--armor", "--export", "sub@example.org"]);
    let revoked = PublicKey::from_armored(&exported).unwrap();
    assert!(revoked.signing_subkeys().is_empty());
    let e = openpgp::verify_detached(&[revoked], document, &signature, now() * 2).unwrap_err();
    assert!(
        e.to_string().contains("not by any of the trusted keys"),
        "{e}"
    );
}
