//! Signed checkpoints and prune records: the statements that fix the chain at a sequence
//! number with the component's device key (CR 3.9: protection of audit information).
//!
//! Signed messages (all integers big-endian):
//!
//! ```text
//! checkpoint = "rampart-audit/v1/checkpoint" || seq (8) || hash_seq (32) || time µs (8)
//! prune      = "rampart-audit/v1/prune" || first pruned seq (8) || last pruned seq (8)
//!              || hash_last (32) || time µs (8)
//! ```

use rampart_vault::{DeviceKey, DevicePublicKey, DeviceSigningKey};

use crate::chain::AuditEntryHash;
use crate::clock::Timestamp;

/// Signs checkpoints with the component's device key.
///
/// Key storage is not this crate's job: the component's key store implements this trait (or
/// hands over the vault's [`DeviceSigningKey`] or [`DeviceKey`], which implement it) and the
/// store calls it on its writer thread, once per checkpoint.
pub trait CheckpointSigner: Send + Sync + 'static {
    /// The 64-byte signature of `message` (Ed25519, or ECDSA P-256 `r ‖ s` for a key held in
    /// a TPM).
    ///
    /// # Errors
    /// Why the key could not sign (a TPM that is unreachable, busy or refuses); the store
    /// keeps the events chained and signs them at a later checkpoint.
    fn sign(&self, message: &[u8]) -> Result<[u8; 64], String>;

    /// The public key that verifies the signatures.
    fn public_key(&self) -> DevicePublicKey;
}

impl CheckpointSigner for DeviceKey {
    fn sign(&self, message: &[u8]) -> Result<[u8; 64], String> {
        Ok(DeviceKey::sign(self, message))
    }

    fn public_key(&self) -> DevicePublicKey {
        DeviceKey::public_key(self)
    }
}

impl CheckpointSigner for DeviceSigningKey {
    fn sign(&self, message: &[u8]) -> Result<[u8; 64], String> {
        DeviceSigningKey::sign(self, message).map_err(|e| e.to_string())
    }

    fn public_key(&self) -> DevicePublicKey {
        DeviceSigningKey::public_key(self)
    }
}

/// A signed statement that the chain hash after event `seq` is `hash`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Checkpoint {
    pub(crate) seq: u64,
    pub(crate) hash: AuditEntryHash,
    pub(crate) timestamp: Timestamp,
    pub(crate) signature: [u8; 64],
}

impl Checkpoint {
    /// The sequence number of the last event it covers.
    pub fn seq(&self) -> u64 {
        self.seq
    }

    /// The chain hash after that event.
    pub fn hash(&self) -> AuditEntryHash {
        self.hash
    }

    /// When it was made.
    pub fn timestamp(&self) -> Timestamp {
        self.timestamp
    }

    /// The Ed25519 signature over [`Checkpoint::message`].
    pub fn signature(&self) -> &[u8; 64] {
        &self.signature
    }

    /// The signed bytes.
    pub fn message(&self) -> Vec<u8> {
        checkpoint_message(self.seq, &self.hash, self.timestamp)
    }

    /// Whether one of `keys` signed it.
    pub fn is_signed_by_any(&self, keys: &[DevicePublicKey]) -> bool {
        signed_by_any(&self.message(), &self.signature, keys)
    }
}

pub(crate) fn checkpoint_message(seq: u64, hash: &AuditEntryHash, at: Timestamp) -> Vec<u8> {
    let mut message = Vec::with_capacity(27 + 48);
    message.extend_from_slice(b"rampart-audit/v1/checkpoint");
    message.extend_from_slice(&seq.to_be_bytes());
    message.extend_from_slice(hash.as_bytes());
    message.extend_from_slice(&at.unix_micros().to_be_bytes());
    message
}

pub(crate) fn prune_message(
    first: u64,
    last: u64,
    hash: &AuditEntryHash,
    at: Timestamp,
) -> Vec<u8> {
    let mut message = Vec::with_capacity(22 + 56);
    message.extend_from_slice(b"rampart-audit/v1/prune");
    message.extend_from_slice(&first.to_be_bytes());
    message.extend_from_slice(&last.to_be_bytes());
    message.extend_from_slice(hash.as_bytes());
    message.extend_from_slice(&at.unix_micros().to_be_bytes());
    message
}

pub(crate) fn signed_by_any(
    message: &[u8],
    signature: &[u8; 64],
    keys: &[DevicePublicKey],
) -> bool {
    // Strict verification: no malleable signatures, no small-order keys.
    DevicePublicKey::any_verifies(keys, message, signature)
}

#[cfg(test)]
mod tests;
