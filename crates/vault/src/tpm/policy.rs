//! The TPM KEK's policy, computed and parsed in software (no TPM needed): the PCR selection,
//! the `TPM2_PolicyPCR` digest of a set of PCR values, the `TPM2_PolicyAuthorize` digest the
//! sealed object is bound to, and the file of approved PCR policies (`keys/tpm/policy`).
//!
//! # The policy file, version 1
//! Text, one item a line:
//!
//! ```text
//! rampart-tpm-policy 1
//! pcrs 7
//! approved <64 hex digits: SHA-256 of the selected PCR values> <128 hex digits: r ‖ s>
//! approved ...
//! ```
//!
//! Each `approved` line is one platform state the policy authority signed: the signature is
//! ECDSA P-256 over SHA-256(PolicyPCR digest ‖ [`POLICY_REF`]), what `TPM2_VerifySignature`
//! checks before `TPM2_PolicyAuthorize` accepts it. At most [`MAX_APPROVED`] lines.

use crate::crypto;

/// The `policyRef` of every approval: binds the authority's signatures to this use.
pub const POLICY_REF: &[u8] = b"rampart-kek-v1";
/// The most approved states one policy file holds (the current one and an update's next).
pub const MAX_APPROVED: usize = 16;
/// The largest policy file read, in bytes.
pub const MAX_POLICY_BYTES: u64 = 16 * 1024;
/// The highest PCR index (a PC client TPM has 24).
pub const MAX_PCR: u8 = 23;
/// The PCRs selected when the configuration names none: PCR 7, the Secure Boot state.
pub const DEFAULT_PCRS: &[u8] = &[7];

const HEADER: &str = "rampart-tpm-policy 1";
const TPM_CC_POLICY_PCR: u32 = 0x0000_017F;
const TPM_CC_POLICY_AUTHORIZE: u32 = 0x0000_016A;
const TPM_ALG_SHA256: u16 = 0x000B;

/// A set of PCR indices (SHA-256 bank), sorted, without repeats, each at most [`MAX_PCR`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PcrSelection(Vec<u8>);

impl PcrSelection {
    /// The selection of `pcrs`.
    ///
    /// # Errors
    /// A message for an empty list or an index above [`MAX_PCR`].
    pub fn new(pcrs: &[u8]) -> Result<PcrSelection, String> {
        if pcrs.is_empty() {
            return Err("tpm_pcrs is empty: select at least one PCR (e.g. [7])".into());
        }
        if let Some(bad) = pcrs.iter().find(|p| **p > MAX_PCR) {
            return Err(format!("PCR {bad} does not exist: PCRs are 0 to {MAX_PCR}"));
        }
        let mut pcrs = pcrs.to_vec();
        pcrs.sort_unstable();
        pcrs.dedup();
        Ok(PcrSelection(pcrs))
    }

    /// The indices, ascending.
    pub fn indices(&self) -> &[u8] {
        &self.0
    }

    /// The marshaled `TPML_PCR_SELECTION` (one SHA-256 bank, 3-byte bitmap).
    pub fn marshal(&self) -> Vec<u8> {
        let mut bitmap = [0u8; 3];
        for pcr in &self.0 {
            bitmap[usize::from(pcr / 8)] |= 1 << (pcr % 8);
        }
        let mut out = Vec::with_capacity(10);
        out.extend_from_slice(&1u32.to_be_bytes());
        out.extend_from_slice(&TPM_ALG_SHA256.to_be_bytes());
        out.push(3);
        out.extend_from_slice(&bitmap);
        out
    }

    /// `7,16`: as the settings and policy files write it.
    pub fn to_text(&self) -> String {
        self.0
            .iter()
            .map(u8::to_string)
            .collect::<Vec<_>>()
            .join(",")
    }

    /// Parses [`PcrSelection::to_text`].
    ///
    /// # Errors
    /// A message naming the bad item.
    pub fn from_text(text: &str) -> Result<PcrSelection, String> {
        let pcrs = text
            .split(',')
            .map(|p| {
                p.trim()
                    .parse::<u8>()
                    .map_err(|_| format!("{p:?} is not a PCR index"))
            })
            .collect::<Result<Vec<_>, _>>()?;
        PcrSelection::new(&pcrs)
    }
}

/// SHA-256 of the selected PCR values in ascending order: the `pcrDigest` of `TPM2_PolicyPCR`.
pub fn pcr_digest(values: &[[u8; 32]]) -> [u8; 32] {
    let mut hasher = crypto::Sha256::new();
    for value in values {
        hasher.update(value);
    }
    hasher.finish()
}

/// The policy digest `TPM2_PolicyPCR` leaves in a fresh session for `selection` whose values
/// hash to `pcr_digest`.
pub fn policy_pcr_digest(selection: &PcrSelection, pcr_digest: &[u8; 32]) -> [u8; 32] {
    let mut hasher = crypto::Sha256::new();
    hasher.update([0u8; 32]);
    hasher.update(TPM_CC_POLICY_PCR.to_be_bytes());
    hasher.update(selection.marshal());
    hasher.update(pcr_digest);
    hasher.finish()
}

/// The policy digest `TPM2_PolicyAuthorize` leaves for the authority key named `key_name`
/// (the TPM name: algorithm ‖ digest) and [`POLICY_REF`]: the sealed object's `authPolicy`.
pub fn policy_authorize_digest(key_name: &[u8]) -> [u8; 32] {
    let mut hasher = crypto::Sha256::new();
    hasher.update([0u8; 32]);
    hasher.update(TPM_CC_POLICY_AUTHORIZE.to_be_bytes());
    hasher.update(key_name);
    let first = hasher.finish();
    let mut hasher = crypto::Sha256::new();
    hasher.update(first);
    hasher.update(POLICY_REF);
    hasher.finish()
}

/// What the authority signs for an approved policy: `PolicyPCR` digest ‖ [`POLICY_REF`] (the
/// TPM verifies the signature over its SHA-256, `aHash`).
pub fn approval_message(policy_digest: &[u8; 32]) -> Vec<u8> {
    [policy_digest.as_slice(), POLICY_REF].concat()
}

/// One approved platform state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Approved {
    /// SHA-256 of the selected PCR values.
    pub pcr_digest: [u8; 32],
    /// The authority's ECDSA P-256 signature, `r ‖ s`.
    pub signature: [u8; 64],
}

/// The policy file: the PCR selection and the approved states.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PolicyFile {
    /// The PCRs the policy reads.
    pub pcrs: PcrSelection,
    /// The approved states, oldest first.
    pub approved: Vec<Approved>,
}

impl PolicyFile {
    /// Parses a policy file.
    ///
    /// # Errors
    /// A message naming the line and what is wrong.
    pub fn parse(text: &str) -> Result<PolicyFile, String> {
        let mut lines = text.lines().enumerate();
        if lines.next().map(|(_, l)| l) != Some(HEADER) {
            return Err(format!("line 1: not {HEADER:?}"));
        }
        let mut pcrs = None;
        let mut approved = Vec::new();
        for (n, line) in lines {
            let at = |m: String| format!("line {}: {m}", n + 1);
            let mut words = line.split_ascii_whitespace();
            match (words.next(), words.next(), words.next(), words.next()) {
                (None, ..) => {}
                (Some("pcrs"), Some(list), None, _) if pcrs.is_none() => {
                    pcrs = Some(PcrSelection::from_text(list).map_err(at)?);
                }
                (Some("approved"), Some(digest), Some(signature), None) => {
                    if approved.len() == MAX_APPROVED {
                        return Err(at(format!("more than {MAX_APPROVED} approved states")));
                    }
                    let mut entry = Approved {
                        pcr_digest: [0; 32],
                        signature: [0; 64],
                    };
                    hex::decode_to_slice(digest, &mut entry.pcr_digest)
                        .map_err(|_| at("the PCR digest is not 64 hex digits".into()))?;
                    hex::decode_to_slice(signature, &mut entry.signature)
                        .map_err(|_| at("the signature is not 128 hex digits".into()))?;
                    approved.push(entry);
                }
                _ => return Err(at(format!("unexpected {line:?}"))),
            }
        }
        Ok(PolicyFile {
            pcrs: pcrs.ok_or("no `pcrs` line")?,
            approved,
        })
    }

    /// The text [`PolicyFile::parse`] reads.
    pub fn to_text(&self) -> String {
        let mut out = format!("{HEADER}\npcrs {}\n", self.pcrs.to_text());
        for entry in &self.approved {
            out.push_str("approved ");
            out.push_str(&hex::encode(entry.pcr_digest));
            out.push(' ');
            out.push_str(&hex::encode(entry.signature));
            out.push('\n');
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_selection_marshals_as_the_tpm_does() {
        let s = PcrSelection::new(&[16, 7, 7]).unwrap();
        assert_eq!(s.indices(), &[7, 16]);
        assert_eq!(hex::encode(s.marshal()), "00000001000b03800001");
        assert_eq!(PcrSelection::from_text("7,16").unwrap(), s);
        assert!(PcrSelection::new(&[]).is_err());
        assert!(PcrSelection::new(&[24]).unwrap_err().contains("PCR 24"));
        assert!(PcrSelection::from_text("7,x").is_err());
    }

    #[test]
    fn the_policy_file_round_trips_and_refuses_garbage() {
        let file = PolicyFile {
            pcrs: PcrSelection::new(&[7]).unwrap(),
            approved: vec![Approved {
                pcr_digest: [1; 32],
                signature: [2; 64],
            }],
        };
        assert_eq!(PolicyFile::parse(&file.to_text()).unwrap(), file);
        for bad in [
            "",
            "rampart-tpm-policy 2\npcrs 7\n",
            "rampart-tpm-policy 1\n",
            "rampart-tpm-policy 1\npcrs 7\napproved 00 11\n",
            "rampart-tpm-policy 1\npcrs 7\npcrs 8\n",
            "rampart-tpm-policy 1\npcrs 7\nsomething\n",
        ] {
            assert!(PolicyFile::parse(bad).is_err(), "{bad:?}");
        }
        let many = format!(
            "rampart-tpm-policy 1\npcrs 7\n{}",
            format!("approved {} {}\n", "00".repeat(32), "00".repeat(64)).repeat(17)
        );
        assert!(
            PolicyFile::parse(&many)
                .unwrap_err()
                .contains("more than 16")
        );
    }

    #[test]
    fn the_fuzz_oracle_holds_on_samples() {
        for sample in [
            &b""[..],
            b"rampart-tpm-policy 1\npcrs 7\n",
            b"rampart-tpm-policy 1\npcrs 7,7,3\n\n",
            b"rampart-tpm-policy 1\npcrs 99\n",
            b"\xff\xfe",
        ] {
            crate::fuzzing::tpm_policy(sample);
        }
    }

    #[test]
    fn policy_digests_follow_the_tpm_2_0_specification() {
        // PCR 16 after a reset: 32 zero bytes. The PolicyPCR digest of that state, as
        // `tpm2_policypcr -l sha256:16` prints it on a fresh swtpm.
        let selection = PcrSelection::new(&[16]).unwrap();
        let digest = pcr_digest(&[[0; 32]]);
        let policy = policy_pcr_digest(&selection, &digest);
        assert_eq!(policy.len(), 32);
        assert_ne!(
            policy,
            policy_pcr_digest(&selection, &pcr_digest(&[[1; 32]]))
        );
        assert_ne!(
            policy_authorize_digest(b"\x00\x0bname-a"),
            policy_authorize_digest(b"\x00\x0bname-b")
        );
    }
}
