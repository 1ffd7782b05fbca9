//! `rampart up` on a data directory whose KEK is sealed in a TPM 2.0 (a swtpm started here):
//! the KEK is in the TPM, no secret is in clear in the directory, `rampart crypto` locates the
//! KEK in the TPM, and after `rampart erase` a copy of the sealed KEK taken before no longer
//! loads. Built with the feature `tpm` (scripts/test).

use std::os::unix::fs::PermissionsExt as _;
use std::path::{Path, PathBuf};

use rampart_vault::at_rest::{KekProvider as _, TpmConfig};

use crate::util::{FREE_PORTS, ok, rampart, stderr, stdout, up, with_stdin};

#[path = "../../../vault/tests/it/swtpm.rs"]
mod swtpm;

fn holders(dir: &Path, needle: &[u8]) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            out.extend(holders(&path, needle));
        } else if path.is_file() && !path.starts_with(dir.join("pki/clients")) {
            let bytes = std::fs::read(&path).unwrap();
            if bytes.windows(needle.len()).any(|w| w == needle) {
                out.push(path);
            }
        }
    }
    out
}

#[test]
#[ignore = "needs swtpm: run scripts/test"]
fn up_seals_the_kek_in_the_tpm_and_erase_makes_it_unloadable() {
    let tpm = swtpm::Swtpm::start();
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let data_s = data.to_str().unwrap();
    let config = dir.path().join("rampart.toml");
    std::fs::write(
        &config,
        format!(
            "{FREE_PORTS}[vault]\nkek_provider = \"tpm\"\ntpm_tcti = \"{}\"\ntpm_pcrs = [16]\n",
            tpm.tcti()
        ),
    )
    .unwrap();
    {
        let _up = up(&data, &config);
    }
    assert!(!data.join("keys/kek").exists(), "no software KEK");
    assert!(data.join("keys/tpm/kek.priv").exists());
    let record = std::fs::read_to_string(data.join("keys/kek-provider")).unwrap();
    assert!(record.contains("provider tpm"), "{record}");

    // The secrets open (through the TPM) and none is in the directory in clear.
    let opened = rampart_vault::DataDir::open(&data).unwrap();
    assert_eq!(opened.kek().unwrap().kind().as_str(), "tpm");
    for name in rampart_vault::SEALED_FILES {
        let pem = rampart_vault::at_rest::read_secret(&data.join(name)).unwrap();
        let pem = String::from_utf8(pem.to_vec()).unwrap();
        assert!(pem.contains("PRIVATE KEY"), "{name}");
        for line in pem.lines().filter(|l| !l.starts_with("-----")).skip(1) {
            // The lines after the first carry the private scalar (and, for EC keys, the
            // public point, which the certificate repeats): the scalar's lines must be absent.
            if line.len() == 64 {
                let found = holders(&data, line.as_bytes());
                assert!(
                    found
                        .iter()
                        .all(|f| f.extension().is_some_and(|e| e == "crt")),
                    "{name}: a PEM line in clear in {found:?}"
                );
            }
        }
    }
    drop(opened);

    // The inventory locates the KEK in the TPM.
    let json: serde_json::Value =
        serde_json::from_str(&ok(&["crypto", "--data", data_s, "--format", "json"])).unwrap();
    let kek = json
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["id"] == "crypto/key/kek")
        .unwrap();
    assert_eq!(kek["location"], "tpm", "{kek}");

    // Erase, a copy of the sealed KEK kept aside first (a disk image made earlier).
    let aside = dir.path().join("aside");
    std::fs::create_dir(&aside).unwrap();
    std::fs::set_permissions(&aside, std::fs::Permissions::from_mode(0o700)).unwrap();
    for f in ["kek.pub", "kek.priv", "settings", "policy", "authority.pub"] {
        std::fs::copy(data.join("keys/tpm").join(f), aside.join(f)).unwrap();
    }
    let erased = rampart(&["erase", "--data", data_s, "--yes"]);
    assert!(erased.status.success(), "{}", stderr(&erased));
    assert!(
        stdout(&erased).contains("nothing remains"),
        "{}",
        stdout(&erased)
    );
    assert!(!data.exists());
    let err = rampart_vault::tpm::TpmKek::new(
        aside,
        TpmConfig {
            tcti: Some(tpm.tcti()),
            pcrs: None,
        },
    )
    .load()
    .unwrap_err()
    .to_string();
    assert!(err.contains("evicted"), "{err}");
}

/// `rampart assess --live` of Rampart's own profile against a running gateway configured as
/// `config` (a token for a process account): the JSON report.
fn assess_live(dir: &Path, data: &Path, config: &Path) -> serde_json::Value {
    let (_up, url) = up(data, config);
    let token = crate::util::assessor_token(data);
    let token_file = dir.join("token");
    std::fs::write(&token_file, token).unwrap();
    let profile = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../profiles/rampart-gateway.toml"
    );
    let out = rampart(&[
        "assess",
        profile,
        "--live",
        &url,
        "--token",
        &format!("@{}", token_file.display()),
        "--ca",
        data.join("pki/ca.crt").to_str().unwrap(),
        "--sl-t",
        "3",
        "--format",
        "json",
    ]);
    assert!(matches!(out.status.code(), Some(0 | 1)), "{}", stderr(&out));
    serde_json::from_str(&stdout(&out)).unwrap()
}

fn status_of(report: &serde_json::Value, id: &str) -> String {
    report["requirements"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["id"] == id)
        .map_or_else(
            || panic!("no {id}"),
            |r| r["status"].as_str().unwrap().to_owned(),
        )
}

/// The hardware and SL 3 requirements of FR1 and FR4, decided live on the same profile: a
/// gateway hardened to level 3 with its KEK, TLS server key and device key in a TPM reaches FR1 SL-C 3 and
/// FR4 SL-C 2 by live evidence; the same configuration on the file provider does not, with the
/// hardware requirements reported not met.
#[test]
#[ignore = "needs swtpm: run scripts/test"]
fn a_tpm_backed_gateway_hardened_to_level_3_reaches_fr1_sl_c_3_live_and_a_file_kek_does_not() {
    const HARDWARE: [&str; 3] = ["CR 1.5 RE 1", "CR 1.9 RE 1", "CR 1.14 RE 1"];
    let hardened = "[hardening]\nlevel = 3\n";
    let tpm = swtpm::Swtpm::start();
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let config = dir.path().join("rampart.toml");
    std::fs::write(
        &config,
        format!(
            "{FREE_PORTS}{hardened}[vault]\nkek_provider = \"tpm\"\ntpm_tcti = \"{}\"\n\
             tpm_pcrs = [16]\ntls_key = \"tpm\"\ndevice_key = \"tpm\"\n",
            tpm.tcti()
        ),
    )
    .unwrap();
    let report = assess_live(dir.path(), &data, &config);
    for id in HARDWARE.iter().chain(&[
        "CR 1.1 RE 2",
        "CR 1.7 RE 1",
        "NDR 1.13 RE 1",
        "CR 4.2",
        "CR 4.2 RE 1",
        "CR 4.2 RE 2",
    ]) {
        assert_eq!(status_of(&report, id), "met", "{id} on the TPM gateway");
    }
    assert!(
        report["sl_c"]["FR1"].as_u64().unwrap() >= 3,
        "{}",
        report["sl_c"]
    );
    assert!(
        report["sl_c"]["FR4"].as_u64().unwrap() >= 2,
        "{}",
        report["sl_c"]
    );

    // The same hardening on the file provider: the hardware REs are not met, FR1 stays below 3.
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let config = dir.path().join("rampart.toml");
    std::fs::write(&config, format!("{FREE_PORTS}{hardened}")).unwrap();
    let report = assess_live(dir.path(), &data, &config);
    for id in HARDWARE {
        assert_eq!(
            status_of(&report, id),
            "not-met",
            "{id} on the file provider"
        );
    }
    assert!(
        report["sl_c"]["FR1"].as_u64().unwrap() < 3,
        "{}",
        report["sl_c"]
    );
}

/// `device_key = "tpm"`: `rampart up` makes the device key in the TPM (ECDSA P-256), and what
/// the device key signs verifies against the published `keys/device.pub`: the audit trail's
/// checkpoints (`rampart audit verify`), a backup (`rampart backup verify --device-key`) and
/// the integrity manifest (`rampart integrity verify`). The inventory locates the key in the
/// TPM; another key does not verify the trail; asking for a file key later is exit 2.
#[test]
#[ignore = "needs swtpm: run scripts/test"]
fn a_device_key_made_in_the_tpm_signs_the_trail_backups_and_the_integrity_manifest() {
    let tpm = swtpm::Swtpm::start();
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let data_s = data.to_str().unwrap();
    let config = dir.path().join("rampart.toml");
    let vault = format!(
        "[vault]\nkek_provider = \"tpm\"\ntpm_tcti = \"{}\"\ntpm_pcrs = [16]\n",
        tpm.tcti()
    );
    std::fs::write(
        &config,
        format!("{FREE_PORTS}{vault}device_key = \"tpm\"\n"),
    )
    .unwrap();
    let config_s = config.to_str().unwrap();
    {
        let _up = up(&data, &config);
    }
    let public = std::fs::read_to_string(data.join("keys/device.pub")).unwrap();
    let key = rampart_vault::DevicePublicKey::parse(&public).unwrap();
    assert_eq!(
        key.algorithm(),
        rampart_vault::DeviceKeyAlgorithm::EcdsaP256Sha256
    );
    let opened = rampart_vault::DataDir::open(&data).unwrap();
    assert_eq!(
        opened.device_key_held().unwrap(),
        Some(rampart_vault::KeyStore::Tpm),
        "a TPM key file"
    );
    drop(opened);

    // A backup: made by a CLI process (whose clean close also signs a final checkpoint of
    // the trail in the TPM), verified with the published key alone.
    let backup = dir.path().join("backup.rbk");
    let backup_s = backup.to_str().unwrap();
    let made = with_stdin(
        &[
            "backup",
            "create",
            backup_s,
            "--data",
            data_s,
            "--passphrase-stdin",
        ],
        "a passphrase for the test\n",
    );
    assert!(made.status.success(), "{}", stderr(&made));
    let pub_path = data.join("keys/device.pub");
    let verified = rampart(&[
        "backup",
        "verify",
        backup_s,
        "--device-key",
        pub_path.to_str().unwrap(),
    ]);
    assert!(verified.status.success(), "{}", stderr(&verified));

    // The trail: every checkpoint signature verifies with the TPM key, and not with another.
    let report = ok(&["audit", "verify", "--data", data_s, "--key", &key.to_hex()]);
    assert!(report.contains("intact"), "{report}");
    let other = rampart_vault::DeviceKey::generate().unwrap().public_key();
    let forged = rampart(&[
        "audit",
        "verify",
        "--data",
        data_s,
        "--key",
        &other.to_hex(),
    ]);
    assert_eq!(forged.status.code(), Some(1), "{}", stdout(&forged));

    // The integrity manifest, sealed at the first start with the TPM key.
    let integrity = rampart(&[
        "integrity",
        "verify",
        "--data",
        data_s,
        "--config",
        config_s,
    ]);
    assert!(
        integrity.status.success(),
        "{}{}",
        stdout(&integrity),
        stderr(&integrity)
    );

    // The inventory locates the device key in the TPM, as ECDSA P-256.
    let json: serde_json::Value =
        serde_json::from_str(&ok(&["crypto", "--data", data_s, "--format", "json"])).unwrap();
    let device = json
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["id"] == "crypto/key/device")
        .unwrap()
        .to_string();
    assert!(
        device.contains("\"tpm\"") && device.contains("ECDSA P-256"),
        "{device}"
    );

    // The place is fixed: a file key asked for later is refused, naming the key.
    std::fs::write(
        &config,
        format!("{FREE_PORTS}{vault}device_key = \"file\"\n"),
    )
    .unwrap();
    let refused = rampart(&["up", "--data", data_s, "--config", config_s]);
    assert_eq!(refused.status.code(), Some(2), "{}", stderr(&refused));
    assert!(
        stderr(&refused).contains("never moved"),
        "{}",
        stderr(&refused)
    );
}
