//! Oracles of the fuzz target `integrity_manifest` (`fuzz/fuzzers/integrity_manifest.rs`): an
//! integrity manifest and a measurement log from an untrusted disk. No panic, no unbounded
//! work; nothing passes the signature check of a fixed key; what parses writes back to what
//! parses equal; a log that replays has consecutive indexes and a stable running digest.

use super::{Expected, SignedManifest, check, replay};
use rampart_vault::DeviceKey;

/// Parses `data` as a manifest (and checks it against a fixed key with no measurements) and
/// as a measurement log (replayed).
pub fn manifest_and_log(data: &[u8]) {
    if let Ok(manifest) = SignedManifest::parse(data, "fuzz") {
        let key = DeviceKey::danger_insecure_from_seed(&[7; 32]).public_key();
        assert!(
            !manifest.signature_verifies(key),
            "a fuzzed manifest verified"
        );
        let findings = check(
            &manifest,
            &Expected {
                key,
                floor: Some(u64::MAX),
                slot: None,
            },
            &[],
        );
        assert!(!findings.is_empty(), "a fuzzed manifest passed the check");
        if let Ok(bytes) = manifest.to_bytes() {
            let again = SignedManifest::parse(&bytes, "fuzz again");
            assert!(
                again.is_ok_and(|again| again == manifest),
                "the round trip changed it"
            );
        }
    }
    if let Ok(text) = std::str::from_utf8(data)
        && let Ok(replayed) = replay(text)
    {
        for pair in replayed.lines.windows(2) {
            assert_eq!(pair[0].index.checked_add(1), Some(pair[1].index));
            assert_eq!(pair[0].running, pair[1].prev);
        }
        if let Some(last) = replayed.lines.last() {
            assert_eq!(last.running, replayed.running);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_oracle_holds_on_seeds_and_junk() {
        let f = std::fs::read_dir(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../fuzz/seeds/integrity_manifest"
        ))
        .unwrap();
        let mut seeds = 0;
        for entry in f {
            manifest_and_log(&std::fs::read(entry.unwrap().path()).unwrap());
            seeds += 1;
        }
        assert!(seeds >= 2);
        for junk in [&b""[..], b"{", b"\xff\xfe", b"{\"signed\":{}}", b"\n\n\n"] {
            manifest_and_log(junk);
        }
    }
}
