//! The layout of a data directory: every file and directory Rampart keeps in it, named once.
//!
//! [`DataDir::file`](crate::DataDir::file) and [`DataDir::dir`](crate::DataDir::dir) take an
//! [`Entry`], so no crate invents a path of its own; the table in docs/data-directory.md is
//! checked against [`Entry::ALL`] by a test.

use std::fmt;

/// One file or directory of a data directory.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Entry {
    /// `LAYOUT`: the layout version marker.
    LayoutMarker,
    /// `keys/`: the device key pair.
    Keys,
    /// `keys/device.key`: the device's Ed25519 signing key (PKCS#8 PEM, 0600).
    DeviceKey,
    /// `keys/device.pub`: its public key (SPKI PEM), for verifiers.
    DevicePublicKey,
    /// `keys/kek`: the software key-encryption key (`file` provider, unless the
    /// configuration keeps it elsewhere).
    Kek,
    /// `keys/kek-provider`: where the KEK lives (provider, location, id); no secret.
    KekProvider,
    /// `keys/tpm/`: the TPM 2.0 KEK provider's files (sealed blob, policy; no secret in clear).
    Tpm,
    /// `keys/tpm/settings`: the TCTI, PCR selection and parent key handle of enrolment.
    TpmSettings,
    /// `keys/tpm/kek.pub`: the sealed KEK object's `TPM2B_PUBLIC`.
    TpmKekPublic,
    /// `keys/tpm/kek.priv`: its `TPM2B_PRIVATE`, encrypted by the TPM's parent key.
    TpmKekPrivate,
    /// `keys/tpm/authority.pub`: the policy authority's public key (P-256 point).
    TpmAuthorityPublic,
    /// `keys/tpm/authority.key`: the policy authority's private key, sealed under the KEK.
    TpmAuthorityKey,
    /// `keys/tpm/policy`: the approved PCR states and the authority's signatures.
    TpmPolicy,
    /// `keys/tpm/counter`: the anti-rollback NV counter's index and base, sealed under the KEK.
    TpmCounter,
    /// `pki/`: the local CA, the server certificate and key, the CRL.
    Pki,
    /// `pki/clients/`: certificates and keys issued to Modbus clients (exported to them).
    PkiClients,
    /// `audit/`: the audit trail (`SQLite`) and its writers' lock files.
    Audit,
    /// `audit.toml`: the audit trail's capacity and checkpoint cadence (optional).
    AuditSettings,
    /// `identity.db`: accounts, roles, sessions, tokens, approvals.
    Identity,
    /// `policy.toml`: the conduit policy in force (unless the configuration names another).
    Policy,
    /// `gateway/`: the data plane's state.
    Gateway,
    /// `gateway/island`: island mode, kept across restarts.
    Island,
    /// `gateway/ids-baseline.json`: the IDS baseline learned live, kept across restarts.
    IdsBaseline,
    /// `mgmt/`: the management plane's state.
    Management,
    /// `mgmt/staged-policy.json`: a policy staged for review before it is applied.
    StagedPolicy,
    /// `forward/`: the audit forwarding cursors, one per collector.
    Forward,
    /// `advisories/`: security advisories and VEX statements this component's own inventory
    /// is checked against (`csaf/`, `osv/`, `rustsec/`, `vex/`).
    Advisories,
    /// `update/`: secure updates — the pinned trust (`trust/`), TUF metadata, the A/B slots
    /// (`slots/a`, `slots/b`) and the boot state the launcher reads.
    Update,
    /// `integrity/`: start-up and run-time integrity (docs/integrity.md).
    Integrity,
    /// `integrity/manifest.json`: the signed integrity manifest of what the component starts
    /// from (binary, configuration, policy, trust anchors).
    IntegrityManifest,
    /// `integrity/measurements.log`: the measurement event log (rotated to `.1`).
    MeasurementLog,
}

impl Entry {
    /// Every entry, parents before children.
    pub const ALL: &'static [Entry] = &[
        Entry::LayoutMarker,
        Entry::Keys,
        Entry::DeviceKey,
        Entry::DevicePublicKey,
        Entry::Kek,
        Entry::KekProvider,
        Entry::Tpm,
        Entry::TpmSettings,
        Entry::TpmKekPublic,
        Entry::TpmKekPrivate,
        Entry::TpmAuthorityPublic,
        Entry::TpmAuthorityKey,
        Entry::TpmPolicy,
        Entry::TpmCounter,
        Entry::Pki,
        Entry::PkiClients,
        Entry::Audit,
        Entry::AuditSettings,
        Entry::Identity,
        Entry::Policy,
        Entry::Gateway,
        Entry::Island,
        Entry::IdsBaseline,
        Entry::Management,
        Entry::StagedPolicy,
        Entry::Forward,
        Entry::Advisories,
        Entry::Update,
        Entry::Integrity,
        Entry::IntegrityManifest,
        Entry::MeasurementLog,
    ];

    /// The path relative to the data directory.
    pub const fn relative_path(self) -> &'static str {
        match self {
            Entry::LayoutMarker => "LAYOUT",
            Entry::Keys => "keys",
            Entry::DeviceKey => "keys/device.key",
            Entry::DevicePublicKey => "keys/device.pub",
            Entry::Kek => "keys/kek",
            Entry::KekProvider => "keys/kek-provider",
            Entry::Tpm => "keys/tpm",
            Entry::TpmSettings => "keys/tpm/settings",
            Entry::TpmKekPublic => "keys/tpm/kek.pub",
            Entry::TpmKekPrivate => "keys/tpm/kek.priv",
            Entry::TpmAuthorityPublic => "keys/tpm/authority.pub",
            Entry::TpmAuthorityKey => "keys/tpm/authority.key",
            Entry::TpmPolicy => "keys/tpm/policy",
            Entry::TpmCounter => "keys/tpm/counter",
            Entry::Pki => "pki",
            Entry::PkiClients => "pki/clients",
            Entry::Audit => "audit",
            Entry::AuditSettings => "audit.toml",
            Entry::Identity => "identity.db",
            Entry::Policy => "policy.toml",
            Entry::Gateway => "gateway",
            Entry::Island => "gateway/island",
            Entry::IdsBaseline => "gateway/ids-baseline.json",
            Entry::Management => "mgmt",
            Entry::StagedPolicy => "mgmt/staged-policy.json",
            Entry::Forward => "forward",
            Entry::Advisories => "advisories",
            Entry::Update => "update",
            Entry::Integrity => "integrity",
            Entry::IntegrityManifest => "integrity/manifest.json",
            Entry::MeasurementLog => "integrity/measurements.log",
        }
    }

    /// Whether it is a directory.
    pub fn is_dir(self) -> bool {
        matches!(
            self,
            Entry::Keys
                | Entry::Tpm
                | Entry::Pki
                | Entry::PkiClients
                | Entry::Audit
                | Entry::Gateway
                | Entry::Management
                | Entry::Forward
                | Entry::Advisories
                | Entry::Update
                | Entry::Integrity
        )
    }
}

impl fmt::Display for Entry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.relative_path())?;
        if self.is_dir() {
            f.write_str("/")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_entry_is_listed_once_with_its_parent_first() {
        let mut seen = std::collections::HashSet::new();
        for entry in Entry::ALL {
            assert!(seen.insert(entry.relative_path()), "{entry} twice");
            if let Some((parent, _)) = entry.relative_path().rsplit_once('/') {
                let parent = Entry::ALL
                    .iter()
                    .find(|e| e.relative_path() == parent)
                    .unwrap_or_else(|| panic!("{entry}: no entry for its parent {parent}"));
                assert!(
                    parent.is_dir(),
                    "{entry}: its parent {parent} is not a directory"
                );
                assert!(
                    seen.contains(parent.relative_path()),
                    "{entry} before its parent"
                );
            }
        }
    }

    #[test]
    fn the_documented_layout_is_the_layout() {
        let doc = include_str!("../../../docs/data-directory.md");
        for entry in Entry::ALL {
            assert!(
                doc.contains(&format!("| `{entry}` |")),
                "docs/data-directory.md has no row for {entry}"
            );
        }
    }
}
