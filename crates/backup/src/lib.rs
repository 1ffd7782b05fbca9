//! Encrypted, signed backup and verified restore of a Rampart data directory
//! (IEC 62443-4-2 CR 7.3 RE 1, CR 7.4, CR 3.4).
//!
//! - [`create`] (to any writer) and [`create_file`] (atomically, mode 0600): a consistent
//!   snapshot of the data directory (`SQLite` stores through the online backup API, so a
//!   running gateway keeps running), archived with a manifest (path, type, mode, size,
//!   SHA-256), encrypted with a key derived from a [`Passphrase`] (argon2id) with
//!   XChaCha20-Poly1305, and signed by the device key (encrypt-then-sign).
//! - [`check_origin`] and [`verify`]: whether a backup was made by a given device (no
//!   passphrase needed), and with the passphrase whether every manifest entry decrypts intact.
//!   Nothing is written.
//! - [`restore`]: everything [`verify`] checks, plus that the stores open and the audit trail in
//!   the backup verifies, written into a staging directory beside the target and only then
//!   swapped in with one atomic `renameat2(RENAME_EXCHANGE)`. [`trusted_key_of`] gives the key
//!   a backup restored onto a directory must be signed by; [`in_use`] tells whether a process
//!   holds the directory's stores open.
//!
//! The file format is specified byte for byte in `docs/backup.md` and in [`format`](mod@format).
//!
//! # Security model
//! - **Confidentiality** (CR 4.1 for data at rest off the device): only someone with the
//!   passphrase reads a backup. The key is argon2id of the passphrase with a fresh 32-byte salt,
//!   so every backup has its own key; segments are sealed with XChaCha20-Poly1305 and the header
//!   is their associated data, so no header field can be changed without detection.
//! - **Origin and integrity** (CR 3.4): the device key signs everything before the signature.
//!   A backup made elsewhere, or changed after signing, is refused before the passphrase is
//!   used and before anything is written. Trust comes from the caller: the key of the data
//!   directory being restored, or a public key the operator kept off the device, never from
//!   the file itself.
//! - **Hostile input:** every length read from a file is checked against a limit in [`limits`]
//!   before anything is allocated, and no input makes this crate panic.
//! - **Secrets:** the passphrase and the derived key are zeroized when dropped and never
//!   formatted; errors and [`BackupSummary`] never contain them.
//!
//! # What a restore does not do
//! It does not record its own audit event: the caller appends `backup.restore` to the restored
//! trail once [`restore`] returns (the CLI does this through its audit store), because only the
//! caller knows who the actor is.

#![forbid(unsafe_code)]
// Input from the network and from files never panics the component: errors are returned.
#![deny(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
#![deny(missing_docs)]

mod archive;
mod create;
mod crypto;
mod error;
pub mod format;
mod passphrase;
mod restore;
mod snapshot;
pub mod staged;
mod verify;

pub use archive::{Entry, EntryKind, Manifest};
pub use create::{BackupSummary, CreateOptions, create, create_file};
pub use error::BackupError;
pub use format::{Header, KdfParams};
pub use passphrase::Passphrase;
pub use restore::{RestoreOptions, RestoreSummary, in_use, restore, restore_trust, trusted_key_of};
pub use verify::{SignedBackup, VerifiedBackup, check_origin, verify};

/// Limits on what a backup may contain, enforced when reading and when creating.
///
/// Memory while reading is bounded by the larger of [`MAX_HEADER`](limits::MAX_HEADER),
/// [`MAX_MANIFEST`](limits::MAX_MANIFEST) and one segment
/// ([`SEGMENT`](format::SEGMENT)), plus the argon2id memory, itself at most
/// [`KdfParams::MAX_M_KIB`] KiB.
pub mod limits {
    /// Largest header, in bytes.
    pub const MAX_HEADER: u32 = 64 * 1024;
    /// Largest manifest (JSON), in bytes.
    pub const MAX_MANIFEST: u32 = 8 * 1024 * 1024;
    /// Most entries (files and directories) in one backup.
    pub const MAX_ENTRIES: usize = 100_000;
    /// Longest path of an entry, in bytes.
    pub const MAX_PATH: usize = 1024;
    /// Largest archive (manifest and contents), in bytes: 64 GiB, far above a full audit trail
    /// at its default capacity.
    pub const MAX_ARCHIVE: u64 = 64 * 1024 * 1024 * 1024;
}

/// Entry points for the fuzz targets in `fuzz/`; not part of the API.
#[doc(hidden)]
pub mod fuzzing {
    use std::io::Cursor;

    /// A fixed, valid Ed25519 public key (RFC 8032 test 1); no input a fuzzer finds is signed
    /// by it.
    const KEY: [u8; 32] = [
        0xd7, 0x5a, 0x98, 0x01, 0x82, 0xb1, 0x0a, 0xb7, 0xd5, 0x4b, 0xfe, 0xd3, 0xc9, 0x64, 0x07,
        0x3a, 0x0e, 0xe1, 0x72, 0xf3, 0xda, 0xa6, 0x23, 0x25, 0xaf, 0x02, 0x1a, 0x68, 0xf7, 0x07,
        0x51, 0x1a,
    ];

    /// Parses `data` as a backup file (framing, header, KDF bounds, signature against a fixed
    /// key) and as a manifest. Never panics; never accepts the input as signed.
    ///
    /// # Panics
    /// If an input passes the signature check, which would mean a forgery.
    pub fn backup_file(data: &[u8]) {
        let _ = crate::format::parse_prefix(&mut Cursor::new(data));
        let _ = crate::archive::Manifest::from_json(data);
        if let Ok(key) = rampart_vault::DevicePublicKey::from_bytes(&KEY) {
            let result = crate::check_origin(Cursor::new(data), key);
            assert!(
                result.is_err(),
                "an unsigned input passed the signature check"
            );
        }
    }
}

/// The time backups and staged restores are stamped with, from the one clock.
pub(crate) fn wall_clock() -> jiff::Timestamp {
    use rampart_clock::Clock as _;
    rampart_clock::SystemClock::new().now()
}
