//! Oracle of the fuzz target `update_bundle` (`fuzz/fuzzers/update_bundle.rs`): a bundle from
//! an untrusted source (a repository, a USB stick), read as a device reads it. No panic, no
//! allocation beyond the caps, nothing accepted without the trusted key's signature.

use std::io::Cursor;

use rampart_vault::DeviceKey;

use super::{Manifest, read_header_unverified, verify_bundle, verify_manifest};

/// The release key the oracle trusts (the seeds are signed with it).
pub fn trusted_key() -> DeviceKey {
    DeviceKey::danger_insecure_from_seed(&[0x42; 32])
}

/// Reads `data` as a bundle: header, manifest, signature, files.
pub fn bundle(data: &[u8]) {
    let trusted = [trusted_key().public_key()];
    if let Ok(verified) = verify_bundle(&mut Cursor::new(data), &trusted) {
        // Accepted: it must be signed by the trusted key and describe itself consistently.
        assert!(verified.manifest.check().is_ok());
        assert_eq!(verified.keyid, super::key_id(trusted[0]));
        let total: u64 = verified.manifest.files.iter().map(|f| f.length).sum();
        assert!(total <= data.len() as u64);
    }
    if let Ok((manifest, signature)) = read_header_unverified(&mut Cursor::new(data)) {
        assert!(manifest.len() <= super::MANIFEST_MAX as usize);
        assert!(signature.len() <= usize::from(super::SIGNATURE_MAX));
        let _ = verify_manifest(&manifest, &signature, &trusted);
        // The manifest's own checks never panic, whoever signed it.
        if let Ok(parsed) = serde_json::from_slice::<Manifest>(&manifest) {
            let _ = parsed.check();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bundle::{BundleFile, FileRole, Release, write_bundle};

    fn seed() -> Vec<u8> {
        let mut out = Vec::new();
        write_bundle(
            &mut out,
            &Release {
                version: "1.0.0".parse().unwrap(),
                security_version: 1,
                target: "x86_64-unknown-linux-gnu".into(),
                created: "2026-12-07T00:00:00Z".parse().unwrap(),
            },
            &[BundleFile {
                name: "rampart".into(),
                role: FileRole::Binary,
                open: Box::new(|| Ok(Box::new(&b"binary"[..]) as _)),
            }],
            &trusted_key(),
        )
        .unwrap();
        out
    }

    #[test]
    fn the_oracle_accepts_the_seed_and_survives_every_truncation_and_bit_flip() {
        let seed = seed();
        bundle(&seed);
        for cut in 0..seed.len() {
            bundle(&seed[..cut]);
        }
        for at in (0..seed.len()).step_by(7) {
            let mut flipped = seed.clone();
            flipped[at] ^= 0x55;
            bundle(&flipped);
        }
    }

    #[test]
    fn the_committed_seed_is_a_valid_bundle() {
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../fuzz/seeds/update_bundle/signed.bundle"
        );
        // `RAMPART_WRITE_SEEDS=1` writes it anew (bundle format changes).
        if std::env::var_os("RAMPART_WRITE_SEEDS").is_some() {
            std::fs::write(path, seed()).unwrap();
        }
        let committed = std::fs::read(path).unwrap();
        let trusted = [trusted_key().public_key()];
        assert!(verify_bundle(&mut Cursor::new(&committed[..]), &trusted).is_ok());
    }
}
