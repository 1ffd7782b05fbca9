//! Oracles of the fuzz target `tuf_metadata` (`fuzz/fuzzers/tuf_metadata.rs`): metadata from an
//! untrusted repository, parsed as every role, checked, and verified against a fixed key set;
//! path patterns and hash bins over arbitrary text. No panic, no unbounded work.

use std::collections::BTreeMap;

use super::metadata::{self, Envelope, MetaList, RoleKeys, Root, Targets};

/// Parses `data` as each role's metadata and runs the checks a client runs on it.
pub fn metadata(data: &[u8]) {
    let no_keys = BTreeMap::new();
    let role_keys = RoleKeys {
        keyids: vec!["00".repeat(32)],
        threshold: 1,
    };
    for role in ["root", "timestamp", "snapshot", "targets", "a/b"] {
        let Ok(envelope) = Envelope::parse(role, data.to_vec()) else {
            continue;
        };
        // No key is known: nothing can meet a threshold of one.
        assert!(envelope.verify(role, &no_keys, &role_keys).is_err());
        match role {
            "root" => {
                if let Ok(root) = envelope.signed::<Root>(role, "root")
                    && root.check().is_ok()
                {
                    let _ = envelope.verify(role, &root.keys, root.role("root"));
                    for key in root.keys.values() {
                        let _ = key.verifying_key();
                    }
                }
            }
            "timestamp" | "snapshot" => {
                if let Ok(list) = envelope.signed::<MetaList>(role, role) {
                    let _ = list.snapshot_meta();
                    let _ = super::parse_expires(role, &list.expires);
                }
            }
            _ => {
                if let Ok(targets) = envelope.signed::<Targets>(role, "targets")
                    && targets.check(role).is_ok()
                    && let Some(delegations) = &targets.delegations
                {
                    for name in targets.targets.keys().take(16) {
                        for delegated in delegations.roles.iter().flatten().take(16) {
                            let _ = delegated.matches(name);
                        }
                        if let Some(bins) = &delegations.succinct_roles {
                            let _ = bins.bin_for(name);
                        }
                    }
                }
            }
        }
    }
    // The canonical form of any JSON value is stable: canonicalising it again changes nothing.
    if let Ok(value) = serde_json::from_slice::<serde_json::Value>(data)
        && let Ok(canonical) = metadata::canonical_json(&value)
        && let Ok(again) = serde_json::from_slice::<serde_json::Value>(&canonical)
    {
        assert_eq!(metadata::canonical_json(&again).ok(), Some(canonical));
    }
    // Pattern matching over text: the first line is a pattern, the others are paths.
    if let Ok(text) = std::str::from_utf8(data) {
        let mut lines = text.lines();
        if let Some(pattern) = lines.next() {
            for path in lines.take(64) {
                let _ = metadata::path_matches(pattern, path);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_oracle_accepts_samples_without_panicking() {
        for sample in [
            &b""[..],
            b"{}",
            b"*\na\nb/c",
            br#"{"signed": {"_type": "targets", "spec_version": "1.0.0", "version": 1,
                "expires": "2030-01-01T00:00:00Z", "targets": {"a": {"length": 1,
                "hashes": {}}}, "delegations": {"keys": {}, "succinct_roles": {"keyids": [],
                "threshold": 1, "bit_length": 32, "name_prefix": "b"}}}, "signatures": []}"#,
            br#"{"signed": {"_type": "root", "spec_version": "1.0", "version": 1,
                "expires": "x", "keys": {}, "roles": {}}, "signatures": [{"keyid": "a",
                "sig": "zz"}]}"#,
        ] {
            super::metadata(sample);
        }
    }
}
