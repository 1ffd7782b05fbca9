//! CR 4.1 (data at rest): TOTP seeds are sealed under the data directory's KEK, bound to
//! their account; seeds an earlier release stored plain are sealed when the store opens.

use std::path::Path;
use std::sync::Arc;

use rampart_identity::{AuditOutcome, Identity, totp};
use rampart_vault::at_rest::{Kek, ProviderKind};

use crate::util::{GOOD, Harness, config, web};

fn kek() -> Arc<Kek> {
    let key = rampart_vault::crypto::random_key().unwrap();
    Arc::new(Kek::from_key(ProviderKind::File, key, "test-kek".into()))
}

fn raw_seed(base32: &str) -> Vec<u8> {
    data_encoding::BASE32_NOPAD
        .decode(base32.trim_end_matches('=').as_bytes())
        .unwrap()
}

/// Every byte of every file in `dir` (the store, its WAL and shared memory).
fn contains_anywhere(dir: &Path, needle: &[u8]) -> bool {
    std::fs::read_dir(dir).unwrap().any(|entry| {
        let bytes = std::fs::read(entry.unwrap().path()).unwrap_or_default();
        bytes.windows(needle.len()).any(|w| w == needle)
    })
}

fn reopen_sealing(h: &mut Harness, kek: &Arc<Kek>) {
    h.id = Identity::builder(h.db_path(), h.audit.clone())
        .config(config())
        .clock(h.clock.clone())
        .sealing(Arc::clone(kek))
        .open()
        .unwrap();
}

#[test]
fn cr_4_1_totp_seeds_are_sealed_and_still_verify() {
    let kek = kek();
    let mut h = Harness::new();
    reopen_sealing(&mut h, &kek);
    h.user("alice", &["viewer"], GOOD);
    let p = h.login("alice", GOOD);
    let enrolment = h.id.begin_totp_enrolment(&p).unwrap();
    let secret = enrolment.expose_secret_base32().to_owned();
    let seed = raw_seed(&secret);
    assert!(
        !contains_anywhere(h.dir.path(), &seed),
        "pending seed in clear"
    );
    let code = totp::code_at(&secret, h.clock.now()).unwrap();
    h.id.confirm_totp_enrolment(&p, &code).unwrap();
    assert!(!contains_anywhere(h.dir.path(), &seed), "seed in clear");
    h.advance(jiff::SignedDuration::from_secs(60));
    let code = totp::code_at(&secret, h.clock.now()).unwrap();
    h.id.authenticate(
        "alice",
        &rampart_identity::Password::from(GOOD),
        Some(&code),
        &web(),
    )
    .unwrap();

    // Without the KEK the seed cannot be used: the login fails as a storage error, never
    // by treating the sealed bytes as a seed.
    h.reopen(config());
    h.advance(jiff::SignedDuration::from_secs(60));
    let code = totp::code_at(&secret, h.clock.now()).unwrap();
    let err =
        h.id.authenticate(
            "alice",
            &rampart_identity::Password::from(GOOD),
            Some(&code),
            &web(),
        )
        .unwrap_err();
    assert!(err.to_string().contains("key-encryption key"), "{err}");
}

#[test]
fn cr_4_1_plain_seeds_of_an_earlier_release_are_sealed_once_and_audited() {
    let mut h = Harness::new();
    h.user("alice", &["viewer"], GOOD);
    let p = h.login("alice", GOOD);
    let enrolment = h.id.begin_totp_enrolment(&p).unwrap();
    let secret = enrolment.expose_secret_base32().to_owned();
    let code = totp::code_at(&secret, h.clock.now()).unwrap();
    h.id.confirm_totp_enrolment(&p, &code).unwrap();
    // Stored plain without a KEK, as an earlier release did.
    let seed = raw_seed(&secret);
    assert!(contains_anywhere(h.dir.path(), &seed));

    let kek = kek();
    reopen_sealing(&mut h, &kek);
    let sealed: Vec<_> = h
        .records()
        .into_iter()
        .filter(|r| r.action == "vault-sealed")
        .collect();
    assert_eq!(sealed.len(), 1, "one event for the store");
    assert_eq!(sealed[0].outcome, AuditOutcome::Success);
    assert_eq!(sealed[0].details["count"], 1);
    assert!(!sealed[0].details.to_string().contains(&secret));
    reopen_sealing(&mut h, &kek);
    assert_eq!(
        h.records()
            .iter()
            .filter(|r| r.action == "vault-sealed")
            .count(),
        1,
        "nothing left to seal"
    );
    // Checkpoint the WAL so the old page is gone from the files, then scan.
    let path = h.db_path();
    drop(h.id);
    assert!(rusqlite_free_checkpoint(&path), "checkpoint");
    assert!(!contains_anywhere(h.dir.path(), &seed), "plain seed left");
}

/// Opens the store once more through the crate (which checkpoints on open) and closes it.
fn rusqlite_free_checkpoint(path: &Path) -> bool {
    let recorder = Arc::new(rampart_identity::MemoryRecorder::new());
    Identity::builder(path, recorder)
        .config(config())
        .open()
        .is_ok()
}
