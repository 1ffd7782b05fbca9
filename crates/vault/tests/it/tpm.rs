//! The TPM 2.0 KEK provider against a real software TPM (`swtpm`, started by each test on a
//! loopback port), with `tpm2-tools` as an independent second party. `scripts/test` installs
//! both and runs these with `--features tpm -- --include-ignored`.

use std::os::unix::fs::PermissionsExt as _;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use rampart_vault::at_rest::{KekProvider as _, TpmConfig};
use rampart_vault::tpm::esys::{SealedBlob, Tpm};
use rampart_vault::tpm::{TpmKek, policy};

use crate::swtpm::Swtpm;

/// A data directory's `keys/tpm` with PCR 16 (resettable, extendable from software).
fn provider(tpm: &Swtpm, root: &Path) -> TpmKek {
    TpmKek::new(
        root.join("keys/tpm"),
        TpmConfig {
            tcti: Some(tpm.tcti()),
            pcrs: Some(vec![16]),
        },
    )
}

/// The data directory's KEK configuration: this swtpm, PCR 16.
fn kek_config(tpm: &Swtpm) -> rampart_vault::at_rest::KekConfig {
    rampart_vault::at_rest::KekConfig::Tpm(TpmConfig {
        tcti: Some(tpm.tcti()),
        pcrs: Some(vec![16]),
    })
}

fn private_dir() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("keys")).unwrap();
    for d in [dir.path().to_owned(), dir.path().join("keys")] {
        std::fs::set_permissions(d, std::fs::Permissions::from_mode(0o700)).unwrap();
    }
    dir
}

fn median(mut samples: Vec<Duration>) -> Duration {
    samples.sort();
    samples[samples.len() / 2]
}

#[test]
#[ignore = "needs swtpm: run scripts/test"]
fn a_kek_seals_once_and_unseals_100_times_and_100_secrets_seal_and_unseal() {
    let tpm = Swtpm::start();
    let dir = private_dir();
    let kek = provider(&tpm, dir.path());
    let enrolled = kek.load_or_create().unwrap();
    assert_eq!(enrolled.kind().as_str(), "tpm");
    // No KEK in clear among the files: the sealed blob is encrypted by the parent.
    let mut unseal_times = Vec::new();
    for _ in 0..100 {
        let start = Instant::now();
        let again = kek.load().unwrap().unwrap();
        unseal_times.push(start.elapsed());
        assert_eq!(again.id_hex(), enrolled.id_hex());
    }
    // 100 further secrets sealed under the same parent and policy, each unsealed.
    let settings = kek.settings().unwrap().unwrap();
    let policy_file = kek.policy().unwrap();
    let point = hex::decode(
        std::fs::read_to_string(dir.path().join("keys/tpm/authority.pub"))
            .unwrap()
            .trim(),
    )
    .unwrap();
    let mut session = Tpm::connect(&tpm.tcti()).unwrap();
    let auth_policy = policy::policy_authorize_digest(&session.authority_name(&point).unwrap());
    for n in 0..100u8 {
        let secret = [n; 32];
        let blob = session
            .seal(
                settings.handle,
                &settings.parent_name,
                &secret,
                Some(&auth_policy),
                None,
            )
            .unwrap();
        assert!(!blob.private.windows(32).any(|w| w == secret));
        let back = session
            .unseal_authorized(
                settings.handle,
                &settings.parent_name,
                &blob,
                &policy_file.pcrs,
                &policy_file.approved[0],
                &point,
            )
            .unwrap();
        assert_eq!(back.as_slice(), secret);
    }
    eprintln!(
        "TPM KEK unseal (load): median {:?} over 100",
        median(unseal_times)
    );
}

#[test]
#[ignore = "needs swtpm: run scripts/test"]
fn unsealing_is_refused_after_a_pcr_extend_until_a_signed_policy_approves_the_new_state() {
    let tpm = Swtpm::start();
    let dir = private_dir();
    let kek = provider(&tpm, dir.path());
    let enrolled = kek.load_or_create().unwrap();
    let blob_before = (
        std::fs::read(dir.path().join("keys/tpm/kek.pub")).unwrap(),
        std::fs::read(dir.path().join("keys/tpm/kek.priv")).unwrap(),
    );
    // The platform state changes (a new boot stage measured into PCR 16).
    tpm.extend(16, 0xab);
    let err = kek.load().unwrap_err().to_string();
    assert!(
        err.contains("TPM2_PolicyAuthorize") && err.contains("not the approved ones"),
        "{err}"
    );
    // A simulated update: before its reboot, the running gateway (which holds the KEK)
    // approves the state the update will measure, signed by the policy authority.
    let authority = kek.authority_key(&enrolled).unwrap();
    let new_state = kek.current_pcr_values().unwrap();
    kek.approve(&authority, &new_state).unwrap();
    let after = kek.load().unwrap().unwrap();
    assert_eq!(
        after.id_hex(),
        enrolled.id_hex(),
        "the same KEK, not re-enrolled"
    );
    assert_eq!(
        blob_before,
        (
            std::fs::read(dir.path().join("keys/tpm/kek.pub")).unwrap(),
            std::fs::read(dir.path().join("keys/tpm/kek.priv")).unwrap(),
        ),
        "the sealed object is untouched"
    );
    assert_eq!(kek.policy().unwrap().approved.len(), 2);
    // A policy signed by another key is refused by the TPM.
    tpm.extend(16, 0xcd);
    let forger = rampart_vault::crypto::signature::EcdsaP256SigningKey::generate().unwrap();
    kek.approve(&forger, &kek.current_pcr_values().unwrap())
        .unwrap();
    let err = kek.load().unwrap_err().to_string();
    assert!(err.contains("TPM2_VerifySignature"), "{err}");
}

#[test]
#[ignore = "needs swtpm: run scripts/test"]
fn dictionary_attack_lockout_engages_after_repeated_wrong_authorisations() {
    let tpm = Swtpm::start();
    tpm.tool_ok(
        "tpm2_dictionarylockout",
        &[
            "--setup-parameters",
            "--max-tries=3",
            "--recovery-time=600",
            "--lockout-recovery-time=600",
        ],
    );
    let mut session = Tpm::connect(&tpm.tcti()).unwrap();
    let info = session.info().unwrap();
    assert_eq!(info.max_auth_fail, 3);
    assert_eq!(info.lockout_interval, 600);
    let (handle, name) = session.create_parent().unwrap();
    let blob = session
        .seal(handle, &name, b"da-protected", None, Some(b"right"))
        .unwrap();
    assert_eq!(
        session
            .unseal_with_auth(handle, &blob, b"right")
            .unwrap()
            .as_slice(),
        b"da-protected"
    );
    for _ in 0..3 {
        let err = session
            .unseal_with_auth(handle, &blob, b"wrong")
            .unwrap_err();
        assert!(!err.is_lockout(), "{err}");
    }
    // Locked out: even the right value is refused now.
    let err = session
        .unseal_with_auth(handle, &blob, b"right")
        .unwrap_err();
    assert!(err.is_lockout(), "{err}");
    // tpm2-tools agrees: the TPM is in lockout.
    let variable = tpm.tool_ok("tpm2_getcap", &["properties-variable"]);
    assert!(session.info().unwrap().lockout_counter >= 3);
    assert!(
        variable.contains("inLockout:                 1") || variable.contains("inLockout: 1"),
        "{variable}"
    );
}

#[test]
#[ignore = "needs swtpm: run scripts/test"]
fn objects_made_by_rampart_are_used_by_tpm2_tools_and_the_other_way_round() {
    let tpm = Swtpm::start();
    let dir = private_dir();
    let work = dir.path().join("work");
    std::fs::create_dir(&work).unwrap();
    let kek = provider(&tpm, dir.path());
    kek.load_or_create().unwrap();
    let settings = kek.settings().unwrap().unwrap();
    let handle = format!("{:#010x}", settings.handle);
    let w = |name: &str| -> String { work.join(name).to_str().unwrap().to_owned() };
    let t = |name: &str| -> String {
        dir.path()
            .join("keys/tpm")
            .join(name)
            .to_str()
            .unwrap()
            .to_owned()
    };

    // Rampart → tools: the persistent parent as tpm2_readpublic names it.
    let public = tpm.tool_ok("tpm2_readpublic", &["-c", &handle]);
    assert!(
        public.contains(&format!("name: {}", hex::encode(&settings.parent_name))),
        "{public}"
    );
    // The sealed KEK object loads with tpm2_load from Rampart's files; its policy is the
    // PolicyAuthorize digest and it is DA-protected (no noda).
    tpm.tool_ok(
        "tpm2_load",
        &[
            "-C",
            &handle,
            "-u",
            &t("kek.pub"),
            "-r",
            &t("kek.priv"),
            "-c",
            &w("kek.ctx"),
        ],
    );
    let sealed = tpm.tool_ok("tpm2_readpublic", &["-c", &w("kek.ctx")]);
    // swtpm has no resource manager: what the tools loaded stays loaded until flushed.
    tpm.tool_ok("tpm2_flushcontext", &["-t"]);
    let point = hex::decode(std::fs::read_to_string(t("authority.pub")).unwrap().trim()).unwrap();
    let mut session = Tpm::connect(&tpm.tcti()).unwrap();
    let expected = policy::policy_authorize_digest(&session.authority_name(&point).unwrap());
    assert!(sealed.contains(&hex::encode(expected)), "{sealed}");
    assert!(
        sealed.contains("fixedtpm") && !sealed.contains("noda"),
        "{sealed}"
    );
    assert!(!sealed.contains("userwithauth"), "policy only: {sealed}");
    // A secret Rampart seals (with an authorisation value) is unsealed by tpm2_unseal.
    let blob = session
        .seal(
            settings.handle,
            &settings.parent_name,
            b"from rampart",
            None,
            Some(b"pw1"),
        )
        .unwrap();
    std::fs::write(w("r.pub"), &blob.public).unwrap();
    std::fs::write(w("r.priv"), &blob.private).unwrap();
    tpm.tool_ok(
        "tpm2_load",
        &[
            "-C",
            &handle,
            "-u",
            &w("r.pub"),
            "-r",
            &w("r.priv"),
            "-c",
            &w("r.ctx"),
        ],
    );
    let out = tpm.tool_ok("tpm2_unseal", &["-c", &w("r.ctx"), "-p", "pw1"]);
    assert_eq!(out, "from rampart");
    tpm.tool_ok("tpm2_flushcontext", &["-t"]);

    // Tools → Rampart: an object tpm2_create seals under Rampart's parent is unsealed by
    // Rampart.
    std::fs::write(w("secret"), b"from tpm2-tools").unwrap();
    tpm.tool_ok(
        "tpm2_create",
        &[
            "-C",
            &handle,
            "-i",
            &w("secret"),
            "-p",
            "pw2",
            "-u",
            &w("t.pub"),
            "-r",
            &w("t.priv"),
        ],
    );
    let blob = SealedBlob {
        public: std::fs::read(w("t.pub")).unwrap(),
        private: std::fs::read(w("t.priv")).unwrap(),
    };
    let out = session
        .unseal_with_auth(settings.handle, &blob, b"pw2")
        .unwrap();
    assert_eq!(out.as_slice(), b"from tpm2-tools");
    // And the names agree: the object tpm2_readpublic reads is the one Rampart loads.
    tpm.tool_ok(
        "tpm2_load",
        &[
            "-C",
            &handle,
            "-u",
            &w("t.pub"),
            "-r",
            &w("t.priv"),
            "-c",
            &w("t.ctx"),
            "-n",
            &w("t.name"),
        ],
    );
    let tool_name = std::fs::read(w("t.name")).unwrap();
    tpm.tool_ok("tpm2_flushcontext", &["-t"]);
    let our_name = session
        .blob_name(settings.handle, &settings.parent_name, &blob)
        .unwrap();
    assert_eq!(tool_name, our_name);
}

/// A data directory on the TPM provider: opened as a component opens it, no secret in clear
/// in its files, then erased — the TPM object evicted, and a copy of the sealed blob taken
/// before the erase no longer loads.
#[test]
#[ignore = "needs swtpm: run scripts/test"]
fn a_tpm_backed_data_directory_keeps_no_secret_in_clear_and_erase_makes_its_kek_unloadable() {
    let tpm = Swtpm::start();
    let parent = tempfile::tempdir().unwrap();
    let root = parent.path().join("data");
    let config = kek_config(&tpm);
    let (data, _) = rampart_vault::DataDir::open_or_init_with(&root, &config).unwrap();
    let kek = std::sync::Arc::clone(data.kek().unwrap());
    assert_eq!(kek.kind().as_str(), "tpm");
    let record = rampart_vault::kek_record(&root).unwrap().unwrap();
    assert_eq!(record.provider, "tpm");
    assert_eq!(record.location, root.join("keys/tpm"));
    // A second open (the next start) unseals the same KEK, with the recorded settings only.
    drop(data);
    let data = rampart_vault::DataDir::open(&root).unwrap();
    assert_eq!(data.kek().unwrap().id_hex(), kek.id_hex());

    // Canaries: the device key's PKCS#8 and the authority key are only in sealed form.
    let device_pem = rampart_vault::at_rest::read_secret(&root.join("keys/device.key")).unwrap();
    let device_pem = String::from_utf8(device_pem.to_vec()).unwrap();
    let body: String = device_pem
        .lines()
        .filter(|l| !l.starts_with("-----"))
        .collect();
    let provider = TpmKek::new(root.join("keys/tpm"), TpmConfig::default());
    let authority = provider.authority_key(&kek).unwrap();
    for (what, needle) in [
        ("device key PEM body", body.as_bytes().to_vec()),
        ("authority key PKCS#8", authority.pkcs8().to_vec()),
    ] {
        let found = holders(&root, &needle);
        assert!(found.is_empty(), "{what} in clear in {found:?}");
    }
    assert!(!root.join("keys/kek").exists(), "no software KEK file");

    // Erase, with a copy of the sealed blob kept aside first (a disk image made earlier).
    let aside = parent.path().join("aside");
    std::fs::create_dir(&aside).unwrap();
    for f in ["kek.pub", "kek.priv", "settings", "policy", "authority.pub"] {
        std::fs::copy(root.join("keys/tpm").join(f), aside.join(f)).unwrap();
    }
    let lock = data.try_lock().unwrap();
    let report = rampart_vault::erase::erase(&data).unwrap();
    drop(lock);
    assert_eq!(report.kek.as_ref().map(|k| k.0.as_str()), Some("tpm"));
    assert!(!root.exists());
    let settings = provider_at(&aside).settings().unwrap().unwrap();
    let out = tpm.tool(
        "tpm2_readpublic",
        &["-c", &format!("{:#010x}", settings.handle)],
    );
    assert!(!out.status.success(), "the parent key is evicted");
    // The copy does not load: its parent key is gone from the TPM.
    std::fs::set_permissions(&aside, std::fs::Permissions::from_mode(0o700)).unwrap();
    let err = TpmKek::new(
        aside.clone(),
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

fn provider_at(dir: &Path) -> TpmKek {
    TpmKek::new(dir.to_owned(), TpmConfig::default())
}

/// The files under `dir` that hold `needle`.
fn holders(dir: &Path, needle: &[u8]) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            out.extend(holders(&path, needle));
        } else if path.is_file() {
            let bytes = std::fs::read(&path).unwrap();
            if bytes.windows(needle.len()).any(|w| w == needle) {
                out.push(path);
            }
        }
    }
    out
}

/// The policy digests Rampart computes in software (to approve a state before it exists) are
/// those the TPM computes: `tpm2_policypcr` in a trial session, over a PCR with a value.
#[test]
#[ignore = "needs swtpm: run scripts/test"]
fn the_software_policy_pcr_digest_is_the_tpms() {
    let tpm = Swtpm::start();
    tpm.extend(16, 0x42);
    tpm.extend(23, 0x17);
    let dir = tempfile::tempdir().unwrap();
    let file = |n: &str| dir.path().join(n).to_str().unwrap().to_owned();
    for (spec, pcrs) in [("sha256:16", vec![16]), ("sha256:7,16,23", vec![23, 7, 16])] {
        tpm.tool_ok("tpm2_startauthsession", &["-S", &file("s.ctx")]);
        tpm.tool_ok(
            "tpm2_policypcr",
            &["-S", &file("s.ctx"), "-l", spec, "-L", &file("policy")],
        );
        tpm.tool_ok("tpm2_flushcontext", &[&file("s.ctx")]);
        let selection = policy::PcrSelection::new(&pcrs).unwrap();
        let values = Tpm::connect(&tpm.tcti())
            .unwrap()
            .pcr_values(&selection)
            .unwrap();
        assert_eq!(
            std::fs::read(file("policy")).unwrap(),
            policy::policy_pcr_digest(&selection, &policy::pcr_digest(&values)),
            "{spec}"
        );
    }
}

/// Runs one TLS handshake in memory between `client` and `server`; the error of the side that
/// failed, if one did.
fn handshake(
    client: &std::sync::Arc<rustls::ClientConfig>,
    server: &std::sync::Arc<rustls::ServerConfig>,
) -> Result<(), String> {
    let name = rustls::pki_types::ServerName::try_from("localhost").unwrap();
    let mut client = rustls::ClientConnection::new(client.clone(), name).unwrap();
    let mut server = rustls::ServerConnection::new(server.clone()).unwrap();
    for _ in 0..20 {
        if !client.is_handshaking() && !server.is_handshaking() {
            return Ok(());
        }
        let mut wire = Vec::new();
        while client.wants_write() {
            client.write_tls(&mut wire).unwrap();
        }
        server.read_tls(&mut wire.as_slice()).unwrap();
        server
            .process_new_packets()
            .map_err(|e| format!("server: {e}"))?;
        let mut wire = Vec::new();
        while server.wants_write() {
            server.write_tls(&mut wire).unwrap();
        }
        client.read_tls(&mut wire.as_slice()).unwrap();
        client
            .process_new_packets()
            .map_err(|e| format!("client: {e}"))?;
    }
    Err("the handshake did not finish".into())
}

/// `tls_key = "tpm"`: the server key is generated in the TPM and every handshake's signature
/// is made there (the client verifies it against the certificate the CA issued for the TPM's
/// public key); the key file holds no private scalar, only the sealed TPM blob; a move back to
/// a file issues a new key and certificate; and after erase the key cannot sign any more.
#[test]
#[ignore = "needs swtpm: run scripts/test"]
fn a_tls_server_key_made_in_the_tpm_signs_every_handshake_there() {
    use rampart_vault::pki::{Pki, ServerKeyStore};
    let tpm = Swtpm::start();
    let parent = tempfile::tempdir().unwrap();
    let root = parent.path().join("data");
    let config = kek_config(&tpm);
    let (data, _) = rampart_vault::DataDir::open_or_init_with(&root, &config).unwrap();
    let (pki, report) = Pki::open_or_init_with(&data, ServerKeyStore::Tpm).unwrap();
    assert_eq!(
        report.server_key_moved_to, None,
        "a new directory: made there"
    );
    assert_eq!(pki.server_key_held().unwrap(), Some(ServerKeyStore::Tpm));
    let key_file = rampart_vault::at_rest::read_secret(&pki.server_key_path()).unwrap();
    assert!(rampart_vault::tpm::is_tpm_key(&key_file));
    let parsed = rampart_vault::tpm::server_key::TpmKeyFile::parse(&key_file).unwrap();
    // The raw file is sealed: neither the blob nor the authorisation value is in clear.
    for needle in [hex::encode(&parsed.auth), hex::encode(&parsed.blob.private)] {
        assert!(holders(&root, needle.as_bytes()).is_empty());
    }
    assert!(holders(&root, parsed.auth.as_slice()).is_empty());

    let server =
        rampart_vault::tls::web_server_config(&pki.server_cert_path(), &pki.server_key_path())
            .unwrap();
    let client = rampart_vault::tls::client_config(&pki.ca_cert_path(), None).unwrap();
    let mut took = Vec::new();
    for _ in 0..20 {
        let started = Instant::now();
        handshake(&client, &server).unwrap();
        took.push(started.elapsed());
    }
    eprintln!(
        "TLS 1.3 handshake with the key in swtpm: median {:?} (debug build)",
        median(took)
    );
    // The Modbus/TCP Security listener's configuration takes the same key.
    let sources = rampart_vault::tls::ServerSources::from_pki(&pki);
    rampart_vault::tls::server_config(&sources).unwrap();

    // A key file whose public point is not the certificate's is refused up front.
    let mut other = parsed.clone();
    other.point[40] ^= 1;
    let kek = std::sync::Arc::clone(data.kek().unwrap());
    // (The logical name a sealed file is bound to is its path's last two parts.)
    let swapped = parent.path().join("swapped/pki/server.key");
    std::fs::create_dir_all(swapped.parent().unwrap()).unwrap();
    rampart_vault::at_rest::write_secret(
        &kek,
        &swapped,
        "pki/server.key",
        other.to_text().as_bytes(),
        true,
    )
    .unwrap();
    let err = rampart_vault::tls::web_server_config(&pki.server_cert_path(), &swapped)
        .unwrap_err()
        .to_string();
    assert!(err.contains("server certificate and key"), "{err}");

    // Back to a software key: a new key and certificate.
    let (pki, report) = Pki::open_or_init_with(&data, ServerKeyStore::File).unwrap();
    assert_eq!(report.server_key_moved_to, Some(ServerKeyStore::File));
    assert_eq!(pki.server_key_held().unwrap(), Some(ServerKeyStore::File));
    let server =
        rampart_vault::tls::web_server_config(&pki.server_cert_path(), &pki.server_key_path())
            .unwrap();
    handshake(&client, &server).unwrap();
    // And into the TPM again; then erase: the parent key is evicted, so the key cannot sign.
    let (pki, report) = Pki::open_or_init_with(&data, ServerKeyStore::Tpm).unwrap();
    assert_eq!(report.server_key_moved_to, Some(ServerKeyStore::Tpm));
    let server =
        rampart_vault::tls::web_server_config(&pki.server_cert_path(), &pki.server_key_path())
            .unwrap();
    handshake(&client, &server).unwrap();
    std::thread::sleep(rampart_vault::tpm::server_key::IDLE * 2); // the signer lets the TPM go
    let lock = data.try_lock().unwrap();
    rampart_vault::erase::erase(&data).unwrap();
    drop(lock);
    std::thread::sleep(rampart_vault::tpm::server_key::IDLE * 2);
    let err = handshake(&client, &server).unwrap_err();
    assert!(err.contains("server"), "{err}");
}

/// An ECDSA signature's `r ‖ s` as the DER `Ecdsa-Sig-Value` OpenSSL reads.
fn ecdsa_der(raw: &[u8; 64]) -> Vec<u8> {
    let integer = |half: &[u8]| {
        let start = half.iter().position(|b| *b != 0).unwrap_or(half.len() - 1);
        let mut digits = half[start..].to_vec();
        if digits[0] & 0x80 != 0 {
            digits.insert(0, 0);
        }
        let mut out = vec![0x02, u8::try_from(digits.len()).unwrap()];
        out.extend(digits);
        out
    };
    let (r, s) = (integer(&raw[..32]), integer(&raw[32..]));
    let mut der = vec![0x30, u8::try_from(r.len() + s.len()).unwrap()];
    der.extend(r);
    der.extend(s);
    der
}

/// `device_key = "tpm"`: the device key is generated in the TPM (ECDSA P-256) and every
/// signature is made there; OpenSSL, an independent verifier, checks them against the
/// published `keys/device.pub`; the key file holds only the sealed TPM blob; the key's place
/// is never moved (asking for a file key later is refused); after erase it cannot sign.
#[test]
#[ignore = "needs swtpm: run scripts/test"]
fn a_device_key_made_in_the_tpm_signs_there_and_openssl_verifies_its_signatures() {
    use rampart_vault::{DeviceKeyAlgorithm, KeyStore};
    let tpm = Swtpm::start();
    let parent = tempfile::tempdir().unwrap();
    let root = parent.path().join("data");
    let config = kek_config(&tpm);
    let (data, _) =
        rampart_vault::DataDir::open_or_init_keys(&root, &config, KeyStore::Tpm).unwrap();
    assert_eq!(data.device_key_held().unwrap(), Some(KeyStore::Tpm));
    let key = data.device_key().unwrap();
    assert_eq!(key.held(), KeyStore::Tpm);
    let public = key.public_key();
    assert_eq!(public.algorithm(), DeviceKeyAlgorithm::EcdsaP256Sha256);
    let published = std::fs::read_to_string(data.device_public_key_path()).unwrap();
    assert_eq!(
        rampart_vault::DevicePublicKey::parse(&published).unwrap(),
        public
    );

    // The sealed file is a TPM key file; neither its blob nor its authorisation is in clear.
    let key_file = rampart_vault::at_rest::read_secret(&root.join("keys/device.key")).unwrap();
    assert!(rampart_vault::tpm::is_tpm_key(&key_file));
    let parsed = rampart_vault::tpm::server_key::TpmKeyFile::parse(&key_file).unwrap();
    for needle in [hex::encode(&parsed.auth), hex::encode(&parsed.blob.private)] {
        assert!(holders(&root, needle.as_bytes()).is_empty());
    }
    assert!(holders(&root, parsed.auth.as_slice()).is_empty());

    // Signatures made in the TPM verify here and in OpenSSL against keys/device.pub.
    let mut took = Vec::new();
    for i in 0..20u8 {
        let message = [b"rampart-audit/v1/checkpoint".as_slice(), &[i; 48]].concat();
        let started = Instant::now();
        let signature = key.sign(&message).unwrap();
        took.push(started.elapsed());
        assert!(public.verify(&message, &signature));
        let mut tampered = message.clone();
        tampered[40] ^= 1;
        assert!(!public.verify(&tampered, &signature));
        if i < 3 {
            let work = parent.path().join(format!("sig{i}"));
            std::fs::create_dir(&work).unwrap();
            std::fs::write(work.join("message"), &message).unwrap();
            std::fs::write(work.join("signature.der"), ecdsa_der(&signature)).unwrap();
            let out = std::process::Command::new("openssl")
                .args(["dgst", "-sha256", "-verify"])
                .arg(data.device_public_key_path())
                .arg("-signature")
                .arg(work.join("signature.der"))
                .arg(work.join("message"))
                .output()
                .unwrap();
            assert!(
                out.status.success()
                    && String::from_utf8_lossy(&out.stdout).contains("Verified OK"),
                "openssl: {}{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            );
        }
    }
    eprintln!(
        "device key signature in swtpm: median {:?} (debug build)",
        median(took)
    );

    // The place is fixed when the key is made: a file key is refused, not silently made.
    drop(data);
    let err = rampart_vault::DataDir::open_or_init_keys(&root, &config, KeyStore::File)
        .unwrap_err()
        .to_string();
    assert!(err.contains("never moved") && err.contains("TPM"), "{err}");
    let (data, _) =
        rampart_vault::DataDir::open_or_init_keys(&root, &config, KeyStore::Recorded).unwrap();
    assert_eq!(data.device_key().unwrap().public_key(), public);

    // After erase the parent key is evicted: the key cannot sign any more.
    std::thread::sleep(rampart_vault::tpm::server_key::IDLE * 2); // the signer lets the TPM go
    let lock = data.try_lock().unwrap();
    rampart_vault::erase::erase(&data).unwrap();
    drop(lock);
    std::thread::sleep(rampart_vault::tpm::server_key::IDLE * 2);
    assert!(key.sign(b"after erase").is_err());
}

/// Without a TPM KEK, `device_key = "tpm"` is refused with a reason, and nothing is made.
#[test]
fn a_tpm_device_key_needs_the_tpm_kek() {
    let parent = tempfile::tempdir().unwrap();
    let root = parent.path().join("data");
    let err = rampart_vault::DataDir::open_or_init_keys(
        &root,
        &rampart_vault::at_rest::KekConfig::Recorded,
        rampart_vault::KeyStore::Tpm,
    )
    .unwrap_err()
    .to_string();
    assert!(err.contains("kek_provider = \"tpm\""), "{err}");
    assert!(!root.join("keys/device.key").exists());
}
