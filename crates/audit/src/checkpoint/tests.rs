use rampart_vault::DeviceKey;

use super::*;
use crate::testing::insecure_signing_key;

#[test]
fn a_signing_key_signs_checkpoints_that_verify() {
    let key = insecure_signing_key(7);
    let component: &dyn CheckpointSigner = &key;
    assert_eq!(component.public_key(), key.public_key());
    let checkpoint = Checkpoint {
        seq: 42,
        hash: AuditEntryHash::genesis().next(b"x"),
        timestamp: Timestamp::from_unix_micros(1_700_000_000_000_000).unwrap(),
        signature: [0; 64],
    };
    let signed = Checkpoint {
        signature: component.sign(&checkpoint.message()).unwrap(),
        ..checkpoint.clone()
    };
    assert!(signed.is_signed_by_any(&[key.public_key()]));
    assert!(!checkpoint.is_signed_by_any(&[key.public_key()]));
    let other = insecure_signing_key(8).public_key();
    assert!(!signed.is_signed_by_any(&[other]));
    assert!(signed.is_signed_by_any(&[other, key.public_key()]));
    let moved = Checkpoint {
        seq: 43,
        ..signed.clone()
    };
    assert!(!moved.is_signed_by_any(&[key.public_key()]));
}

#[test]
fn messages_have_the_documented_layout() {
    let hash = AuditEntryHash::genesis();
    let at = Timestamp::from_unix_micros(5).unwrap();
    let message = checkpoint_message(0x0102, &hash, at);
    assert_eq!(&message[..27], b"rampart-audit/v1/checkpoint");
    assert_eq!(&message[27..35], &0x0102u64.to_be_bytes());
    assert_eq!(&message[35..67], hash.as_bytes());
    assert_eq!(&message[67..], &5i64.to_be_bytes());

    let message = prune_message(1, 9, &hash, at);
    assert_eq!(&message[..22], b"rampart-audit/v1/prune");
    assert_eq!(&message[22..30], &1u64.to_be_bytes());
    assert_eq!(&message[30..38], &9u64.to_be_bytes());
    assert_eq!(message.len(), 22 + 8 + 8 + 32 + 8);
}

#[test]
fn the_insecure_test_key_is_deterministic() {
    assert_eq!(
        insecure_signing_key(1).public_key(),
        DeviceKey::danger_insecure_from_seed(&[1; 32]).public_key()
    );
}
