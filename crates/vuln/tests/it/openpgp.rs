//! The `OpenPGP` signatures of a trusted provider against GnuPG, the independent peer: GnuPG
//! verifies what Rampart signs with the certificate Rampart publishes, and Rampart verifies
//! what GnuPG signs with an Ed25519 key GnuPG made.

use std::path::Path;
use std::process::Command;

use rampart_vault::DeviceKey;
use rampart_vuln::openpgp::{self, PublicKey};

const CREATED: u32 = 1_780_000_000;

/// A GnuPG home directory that stops its agent when dropped.
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
    // SHA-256 as Rampart signs, and GnuPG's own choice of digest for an EdDSA key.
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
