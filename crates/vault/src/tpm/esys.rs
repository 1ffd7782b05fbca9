//! The TPM 2.0 side of [`super::TpmKek`], through tss-esapi (the TCG Enhanced System API of
//! tpm2-tss). Every command that carries a secret runs in a session salted with the parent
//! key (ECDH on P-256) with parameter encryption (AES-128-CFB): the KEK crosses the bus
//! encrypted, in `TPM2_Create` and in `TPM2_Unseal`'s response.

use std::str::FromStr as _;

use tss_esapi::Context;
use tss_esapi::attributes::{ObjectAttributesBuilder, SessionAttributesBuilder};
use tss_esapi::constants::response_code::Tss2ResponseCodeKind;
use tss_esapi::constants::{CapabilityType, PropertyTag, SessionType};
use tss_esapi::handles::{KeyHandle, ObjectHandle, PersistentTpmHandle, TpmHandle};
use tss_esapi::interface_types::algorithm::{HashingAlgorithm, PublicAlgorithm};
use tss_esapi::interface_types::dynamic_handles::Persistent;
use tss_esapi::interface_types::ecc::EccCurve;
use tss_esapi::interface_types::resource_handles::{Hierarchy, Provision};
use tss_esapi::interface_types::session_handles::{AuthSession, PolicySession};
use tss_esapi::structures::{
    Auth, CapabilityData, Digest, EccParameter, EccPoint, EccScheme, EccSignature, HashScheme,
    HashcheckTicket, KeyedHashScheme, Nonce, PcrSelectionListBuilder, PcrSlot, Private, Public,
    PublicBuffer, PublicBuilder, PublicEccParametersBuilder, PublicKeyedHashParameters,
    SensitiveData, Signature, SignatureScheme, SymmetricDefinition, SymmetricDefinitionObject,
};
use tss_esapi::tcti_ldr::TctiNameConf;
use tss_esapi::traits::{Marshall as _, UnMarshall as _};
use zeroize::Zeroizing;

use super::policy::{self, PcrSelection};

/// The first persistent handle tried for a new parent key; the next 63 after it are tried too.
pub const FIRST_HANDLE: u32 = 0x8101_7000;
const HANDLES_TRIED: u32 = 64;

/// A TPM failure: what was being done and the TPM's or the stack's answer.
#[derive(Debug)]
pub struct TpmError {
    /// What was being done.
    pub action: String,
    /// The TPM's response code kind, when the TPM answered.
    pub kind: Option<Tss2ResponseCodeKind>,
    /// The message.
    pub message: String,
}

impl std::fmt::Display for TpmError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.action, self.message)
    }
}

impl TpmError {
    /// Whether the TPM answered that it is in dictionary-attack lockout.
    pub fn is_lockout(&self) -> bool {
        self.kind == Some(Tss2ResponseCodeKind::Lockout)
    }

    fn new(action: &str, message: impl Into<String>) -> TpmError {
        TpmError {
            action: action.to_owned(),
            kind: None,
            message: message.into(),
        }
    }
}

type Result<T> = std::result::Result<T, TpmError>;

fn tss(action: &str) -> impl Fn(tss_esapi::Error) -> TpmError + '_ {
    move |e| TpmError {
        action: action.to_owned(),
        kind: match e {
            tss_esapi::Error::Tss2Error(rc) => rc.kind(),
            tss_esapi::Error::WrapperError(_) => None,
        },
        message: e.to_string(),
    }
}

/// A connection to a TPM.
pub struct Tpm {
    context: Context,
    tcti: String,
}

impl std::fmt::Debug for Tpm {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Tpm({})", self.tcti)
    }
}

/// What the TPM says about itself and its dictionary-attack protection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TpmInfo {
    /// The manufacturer's four-letter code (`IBM `, `INTC`, …).
    pub manufacturer: String,
    /// The firmware version, as the two 32-bit words in hex.
    pub firmware: String,
    /// Authorisation failures before lockout (`TPM_PT_MAX_AUTH_FAIL`).
    pub max_auth_fail: u32,
    /// Seconds before one failure is forgotten (`TPM_PT_LOCKOUT_INTERVAL`).
    pub lockout_interval: u32,
    /// Seconds before a lockout of the lockout authorisation ends (`TPM_PT_LOCKOUT_RECOVERY`).
    pub lockout_recovery: u32,
    /// Failures counted now (`TPM_PT_LOCKOUT_COUNTER`).
    pub lockout_counter: u32,
}

/// A sealed object: its `TPM2B_PUBLIC` and `TPM2B_PRIVATE`, as tpm2-tools writes them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SealedBlob {
    /// `TPM2B_PUBLIC` (`tpm2_create -u`).
    pub public: Vec<u8>,
    /// `TPM2B_PRIVATE` (`tpm2_create -r`): encrypted by the parent, no secret in clear.
    pub private: Vec<u8>,
}

impl Tpm {
    /// Connects through `tcti` (`device:/dev/tpmrm0`, `swtpm:host=127.0.0.1,port=2321`).
    ///
    /// # Errors
    /// [`TpmError`] for a malformed TCTI or an unreachable TPM.
    pub fn connect(tcti: &str) -> Result<Tpm> {
        let action = format!("TPM at {tcti}");
        let conf = TctiNameConf::from_str(tcti).map_err(|_| {
            TpmError::new(
                &action,
                "not a TCTI: expected device:PATH or swtpm:host=HOST,port=PORT",
            )
        })?;
        let context = Context::new(conf).map_err(|e| {
            TpmError::new(&action, format!("cannot connect ({e}); is the TPM there?"))
        })?;
        Ok(Tpm {
            context,
            tcti: tcti.to_owned(),
        })
    }

    /// The TCTI it was connected through.
    pub fn tcti(&self) -> &str {
        &self.tcti
    }

    /// The manufacturer, firmware and dictionary-attack parameters.
    ///
    /// # Errors
    /// [`TpmError`].
    pub fn info(&mut self) -> Result<TpmInfo> {
        // Not `get_tpm_property`: it caches, and the lockout counter changes.
        let mut get = |tag: PropertyTag| -> Result<u32> {
            let (data, _) = self
                .context
                .execute_without_session(|c| {
                    c.get_capability(CapabilityType::TpmProperties, tag.into(), 1)
                })
                .map_err(tss("TPM2_GetCapability"))?;
            Ok(match data {
                CapabilityData::TpmProperties(props) => props
                    .into_iter()
                    .find(|p| p.property() == tag)
                    .map_or(0, |p| p.value()),
                _ => 0,
            })
        };
        let manufacturer = get(PropertyTag::Manufacturer)?;
        let firmware = format!(
            "{:08x}.{:08x}",
            get(PropertyTag::FirmwareVersion1)?,
            get(PropertyTag::FirmwareVersion2)?
        );
        Ok(TpmInfo {
            manufacturer: String::from_utf8_lossy(&manufacturer.to_be_bytes())
                .trim_end_matches(['\0', ' '])
                .to_owned(),
            firmware,
            max_auth_fail: get(PropertyTag::MaxAuthFail)?,
            lockout_interval: get(PropertyTag::LockoutInterval)?,
            lockout_recovery: get(PropertyTag::LockoutRecovery)?,
            lockout_counter: get(PropertyTag::LockoutCounter)?,
        })
    }

    /// Reads the SHA-256 bank's values of `selection`, in ascending order.
    ///
    /// # Errors
    /// [`TpmError`].
    pub fn pcr_values(&mut self, selection: &PcrSelection) -> Result<Vec<[u8; 32]>> {
        let mut values = Vec::new();
        // TPM2_PCR_Read returns at most 8 digests: read one PCR at a time.
        for pcr in selection.indices() {
            let list = pcr_list(&[*pcr])?;
            let (_, _, digests) = self
                .context
                .execute_without_session(|c| c.pcr_read(list))
                .map_err(tss("TPM2_PCR_Read"))?;
            let digest = digests.value().first().ok_or_else(|| {
                TpmError::new("TPM2_PCR_Read", format!("PCR {pcr} has no SHA-256 bank"))
            })?;
            let value: [u8; 32] = digest.value().try_into().map_err(|_| {
                TpmError::new("TPM2_PCR_Read", format!("PCR {pcr}: not a SHA-256 value"))
            })?;
            values.push(value);
        }
        Ok(values)
    }

    /// Creates the parent storage key and makes it persistent at the first free handle from
    /// [`FIRST_HANDLE`]: an ECC P-256 primary key of the owner hierarchy from the TCG SRK
    /// template, whose `unique` field holds 32 random bytes drawn from the TPM and never
    /// stored — so the key cannot be derived again: evicting it destroys it. Returns the
    /// handle and its name.
    ///
    /// # Errors
    /// [`TpmError`]; no free handle.
    pub fn create_parent(&mut self) -> Result<(u32, Vec<u8>)> {
        let unique = self
            .context
            .execute_without_session(|c| c.get_random(32))
            .map_err(tss("TPM2_GetRandom"))?;
        let x = EccParameter::try_from(unique.value().to_vec())
            .map_err(tss("the parent's template"))?;
        let template = srk_template(EccPoint::new(x, EccParameter::default()))?;
        let primary = self
            .context
            .execute_with_session(Some(AuthSession::Password), |c| {
                c.create_primary(Hierarchy::Owner, template, None, None, None, None)
            })
            .map_err(tss("TPM2_CreatePrimary (owner hierarchy)"))?
            .key_handle;
        let mut result = Err(TpmError::new(
            "TPM2_EvictControl",
            format!(
                "no free persistent handle from {FIRST_HANDLE:#010x} to {:#010x}",
                FIRST_HANDLE + HANDLES_TRIED - 1
            ),
        ));
        let taken = self.persistent_handles()?;
        for handle in FIRST_HANDLE..FIRST_HANDLE + HANDLES_TRIED {
            if taken.contains(&handle) {
                continue;
            }
            let persistent = PersistentTpmHandle::new(handle)
                .map_err(tss("a persistent handle"))
                .map(Persistent::Persistent)?;
            result = self
                .context
                .execute_with_session(Some(AuthSession::Password), |c| {
                    c.evict_control(Provision::Owner, primary.into(), persistent)
                })
                .map_err(tss("TPM2_EvictControl (persist the parent key)"))
                .map(|_| handle);
            break;
        }
        let _ = self.context.flush_context(primary.into());
        let handle = result?;
        let name = self.parent(handle, None)?.1;
        Ok((handle, name))
    }

    /// The persistent handles in use from [`FIRST_HANDLE`] on (asked, not probed: a probe of a
    /// free handle makes the stack log an error).
    fn persistent_handles(&mut self) -> Result<Vec<u32>> {
        self.handles_from(FIRST_HANDLE, "TPM2_GetCapability (persistent handles)")
    }

    /// The handles in use among the [`HANDLES_TRIED`] from `first` (persistent objects or NV
    /// indices, by `first`'s range).
    fn handles_from(&mut self, first: u32, action: &str) -> Result<Vec<u32>> {
        let (data, _) = self
            .context
            .execute_without_session(|c| {
                c.get_capability(CapabilityType::Handles, first, HANDLES_TRIED)
            })
            .map_err(tss(action))?;
        Ok(match data {
            CapabilityData::Handles(handles) => handles
                .into_inner()
                .into_iter()
                .map(u32::from)
                .filter(|h| (first..first + HANDLES_TRIED).contains(h))
                .collect(),
            _ => Vec::new(),
        })
    }

    /// The persistent object at `handle`.
    fn persistent(&mut self, handle: u32) -> Result<ObjectHandle> {
        let tpm_handle = PersistentTpmHandle::new(handle)
            .map(TpmHandle::Persistent)
            .map_err(tss("a persistent handle"))?;
        self.context
            .execute_without_session(|c| c.tr_from_tpm_public(tpm_handle))
            .map_err(tss("the persistent parent key"))
    }

    /// The parent key at `handle` and its name; with `expected`, refuses another key there (a
    /// substitute would receive the session salt).
    fn parent(&mut self, handle: u32, expected: Option<&[u8]>) -> Result<(KeyHandle, Vec<u8>)> {
        let object = self.persistent(handle).map_err(|e| TpmError {
            message: format!(
                "no key at persistent handle {handle:#010x} ({}): the TPM object was evicted \
                 (erase) or the TPM cleared, so this KEK cannot be loaded",
                e.message
            ),
            ..e
        })?;
        let key = KeyHandle::from(object);
        let (_, name, _) = self
            .context
            .execute_without_session(|c| c.read_public(key))
            .map_err(tss("TPM2_ReadPublic (parent key)"))?;
        let name = name.value().to_vec();
        if let Some(expected) = expected
            && !crate::crypto::ct_eq(&name, expected)
        {
            return Err(TpmError::new(
                "the parent key",
                format!(
                    "persistent handle {handle:#010x} holds another key than the one recorded \
                     at enrolment (name {}, recorded {})",
                    hex::encode(&name),
                    hex::encode(expected)
                ),
            ));
        }
        Ok((key, name))
    }

    /// Evicts the persistent parent key at `handle` (if it is the recorded one): every object
    /// sealed under it, and every copy of their blobs, can no longer be loaded. Returns whether
    /// there was one.
    ///
    /// # Errors
    /// [`TpmError`]: another key at the handle, or the TPM refused.
    pub fn evict_parent(&mut self, handle: u32, expected: &[u8]) -> Result<bool> {
        if !self.persistent_handles()?.contains(&handle) {
            return Ok(false);
        }
        let (key, _) = self.parent(handle, Some(expected))?;
        let persistent = PersistentTpmHandle::new(handle)
            .map_err(tss("a persistent handle"))
            .map(Persistent::Persistent)?;
        self.context
            .execute_with_session(Some(AuthSession::Password), |c| {
                c.evict_control(Provision::Owner, key.into(), persistent)
            })
            .map_err(tss("TPM2_EvictControl (evict the parent key)"))?;
        Ok(true)
    }

    /// A salted session (ECDH with the parent key) with parameter encryption both ways.
    fn salted_session(&mut self, parent: KeyHandle, kind: SessionType) -> Result<AuthSession> {
        let session = self
            .context
            .start_auth_session(
                Some(parent),
                None,
                None,
                kind,
                SymmetricDefinition::AES_128_CFB,
                HashingAlgorithm::Sha256,
            )
            .map_err(tss("TPM2_StartAuthSession (salted)"))?
            .ok_or_else(|| TpmError::new("TPM2_StartAuthSession", "no session returned"))?;
        let (attributes, mask) = SessionAttributesBuilder::new()
            .with_decrypt(true)
            .with_encrypt(true)
            .build();
        self.context
            .tr_sess_set_attributes(session, attributes, mask)
            .map_err(tss("TPM2_StartAuthSession (attributes)"))?;
        Ok(session)
    }

    /// Seals `secret` under the parent at `handle` (name `parent_name`) in a sealed data object
    /// whose only authorisation is the policy `auth_policy` (no `userWithAuth`) and which is
    /// dictionary-attack protected (no `noDA`); or, with `auth`, one that also takes that
    /// authorisation value (for tests of the lockout, and objects shared with tpm2-tools).
    ///
    /// # Errors
    /// [`TpmError`].
    pub fn seal(
        &mut self,
        handle: u32,
        parent_name: &[u8],
        secret: &[u8],
        auth_policy: Option<&[u8; 32]>,
        auth: Option<&[u8]>,
    ) -> Result<SealedBlob> {
        let (parent, _) = self.parent(handle, Some(parent_name))?;
        let attributes = ObjectAttributesBuilder::new()
            .with_fixed_tpm(true)
            .with_fixed_parent(true)
            .with_no_da(false)
            .with_user_with_auth(auth.is_some())
            .with_admin_with_policy(auth_policy.is_some())
            .build()
            .map_err(tss("the sealed object's attributes"))?;
        let mut builder = PublicBuilder::new()
            .with_public_algorithm(PublicAlgorithm::KeyedHash)
            .with_name_hashing_algorithm(HashingAlgorithm::Sha256)
            .with_object_attributes(attributes)
            .with_keyed_hash_parameters(PublicKeyedHashParameters::new(KeyedHashScheme::Null))
            .with_keyed_hash_unique_identifier(Digest::default());
        if let Some(policy) = auth_policy {
            builder = builder.with_auth_policy(
                Digest::try_from(policy.to_vec()).map_err(tss("the policy digest"))?,
            );
        }
        let public = builder
            .build()
            .map_err(tss("the sealed object's template"))?;
        let data = SensitiveData::try_from(secret.to_vec()).map_err(tss("the sealed data"))?;
        let auth = auth
            .map(|a| Auth::try_from(a.to_vec()))
            .transpose()
            .map_err(tss("the authorisation value"))?;
        let session = self.salted_session(parent, SessionType::Hmac)?;
        let created = self
            .context
            .execute_with_session(Some(session), |c| {
                c.create(parent, public, auth, Some(data), None, None)
            })
            .map_err(tss("TPM2_Create (seal)"));
        self.flush_session(session);
        let created = created?;
        blob_of(created.out_public, &created.out_private)
    }

    fn flush_session(&mut self, session: AuthSession) {
        let handle = tss_esapi::handles::SessionHandle::from(session);
        let _ = self.context.flush_context(handle.into());
    }

    /// Loads `blob` under the parent at `handle`.
    fn load(&mut self, parent: KeyHandle, blob: &SealedBlob) -> Result<KeyHandle> {
        let public = PublicBuffer::unmarshall(&blob.public)
            .and_then(Public::try_from)
            .map_err(tss("the sealed object's TPM2B_PUBLIC"))?;
        let private = blob
            .private
            .get(2..)
            .filter(|p| blob.private[..2] == u16::try_from(p.len()).unwrap_or(0).to_be_bytes())
            .ok_or_else(|| TpmError::new("the sealed object's TPM2B_PRIVATE", "malformed"))?;
        let private = Private::try_from(private.to_vec())
            .map_err(tss("the sealed object's TPM2B_PRIVATE"))?;
        self.context
            .execute_with_session(Some(AuthSession::Password), |c| {
                c.load(parent, private, public)
            })
            .map_err(tss("TPM2_Load (the sealed object)"))
    }

    /// The TPM name of a sealed blob's public area (as `tpm2_readpublic` prints it).
    ///
    /// # Errors
    /// [`TpmError`].
    pub fn blob_name(
        &mut self,
        handle: u32,
        parent_name: &[u8],
        blob: &SealedBlob,
    ) -> Result<Vec<u8>> {
        let (parent, _) = self.parent(handle, Some(parent_name))?;
        let object = self.load(parent, blob)?;
        let name = self
            .context
            .execute_without_session(|c| c.read_public(object))
            .map(|(_, name, _)| name.value().to_vec())
            .map_err(tss("TPM2_ReadPublic"));
        let _ = self.context.flush_context(object.into());
        name
    }

    /// Loads the authority's public key (uncompressed P-256 point) into the owner hierarchy
    /// and returns it with its TPM name.
    fn load_authority(&mut self, point: &[u8]) -> Result<(KeyHandle, Vec<u8>)> {
        let public = authority_public(point)?;
        let key = self
            .context
            .execute_without_session(|c| c.load_external_public(public, Hierarchy::Owner))
            .map_err(tss("TPM2_LoadExternal (policy authority)"))?;
        let name = self
            .context
            .execute_without_session(|c| c.read_public(key))
            .map(|(_, name, _)| name.value().to_vec());
        match name {
            Ok(name) => Ok((key, name)),
            Err(e) => {
                let _ = self.context.flush_context(key.into());
                Err(tss("TPM2_ReadPublic (policy authority)")(e))
            }
        }
    }

    /// The TPM name of the authority's public key (what the sealed object's policy names).
    ///
    /// # Errors
    /// [`TpmError`].
    pub fn authority_name(&mut self, point: &[u8]) -> Result<Vec<u8>> {
        let (key, name) = self.load_authority(point)?;
        let _ = self.context.flush_context(key.into());
        Ok(name)
    }

    /// Unseals `blob` (sealed under the parent at `handle`) in a salted policy session:
    /// `TPM2_PolicyPCR` over `pcrs` (the TPM reads the values itself), then
    /// `TPM2_VerifySignature` of `approved` by the authority key `authority_point` and
    /// `TPM2_PolicyAuthorize`. The TPM refuses unless the current PCR values are the approved
    /// ones. The secret comes back encrypted on the bus and is zeroized when dropped.
    ///
    /// # Errors
    /// [`TpmError`]: the TPM refused (another platform state, an evicted parent, a lockout).
    pub fn unseal_authorized(
        &mut self,
        handle: u32,
        parent_name: &[u8],
        blob: &SealedBlob,
        pcrs: &PcrSelection,
        approved: &policy::Approved,
        authority_point: &[u8],
    ) -> Result<Zeroizing<Vec<u8>>> {
        let (parent, _) = self.parent(handle, Some(parent_name))?;
        let object = self.load(parent, blob)?;
        let session = match self.salted_session(parent, SessionType::Policy) {
            Ok(session) => session,
            Err(e) => {
                let _ = self.context.flush_context(object.into());
                return Err(e);
            }
        };
        let result = self.policy_and_unseal(object, session, pcrs, approved, authority_point);
        self.flush_session(session);
        let _ = self.context.flush_context(object.into());
        result
    }

    fn policy_and_unseal(
        &mut self,
        object: KeyHandle,
        session: AuthSession,
        pcrs: &PcrSelection,
        approved: &policy::Approved,
        authority_point: &[u8],
    ) -> Result<Zeroizing<Vec<u8>>> {
        let policy_session = PolicySession::try_from(session).map_err(tss("the policy session"))?;
        let list = pcr_list(pcrs.indices())?;
        self.context
            .execute_without_session(|c| c.policy_pcr(policy_session, Digest::default(), list))
            .map_err(tss("TPM2_PolicyPCR"))?;
        let approved_policy = policy::policy_pcr_digest(pcrs, &approved.pcr_digest);
        let a_hash = crate::crypto::sha256(policy::approval_message(&approved_policy));
        let (authority, name) = self.load_authority(authority_point)?;
        let signature = ecdsa_signature(&approved.signature)?;
        let ticket = self
            .context
            .execute_without_session(|c| {
                c.verify_signature(
                    authority,
                    Digest::try_from(a_hash.to_vec()).unwrap_or_default(),
                    signature,
                )
            })
            .map_err(tss("TPM2_VerifySignature (the approved policy)"));
        let _ = self.context.flush_context(authority.into());
        let ticket = ticket?;
        let name =
            tss_esapi::structures::Name::try_from(name).map_err(tss("the authority name"))?;
        self.context
            .execute_without_session(|c| {
                c.policy_authorize(
                    policy_session,
                    Digest::try_from(approved_policy.to_vec()).unwrap_or_default(),
                    Nonce::try_from(policy::POLICY_REF.to_vec()).unwrap_or_default(),
                    &name,
                    ticket,
                )
            })
            .map_err(|e| {
                let mut e = tss("TPM2_PolicyAuthorize")(e);
                e.message = format!(
                    "{}: the current values of PCRs {} are not the approved ones",
                    e.message,
                    pcrs.to_text()
                );
                e
            })?;
        let data = self
            .context
            .execute_with_session(Some(session), |c| c.unseal(object.into()))
            .map_err(tss("TPM2_Unseal"))?;
        Ok(Zeroizing::new(data.value().to_vec()))
    }

    /// Unseals `blob` (under the persistent key at `handle`) with its authorisation value in a
    /// salted HMAC session: for objects made by `tpm2_create`, and the lockout test.
    ///
    /// # Errors
    /// [`TpmError`]: a wrong value (counted by the dictionary-attack protection), lockout.
    pub fn unseal_with_auth(
        &mut self,
        handle: u32,
        blob: &SealedBlob,
        auth: &[u8],
    ) -> Result<Zeroizing<Vec<u8>>> {
        let (parent, _) = self.parent(handle, None)?;
        let object = self.load(parent, blob)?;
        let result = (|| {
            let auth = Auth::try_from(auth.to_vec()).map_err(tss("the authorisation value"))?;
            self.context
                .tr_set_auth(object.into(), auth)
                .map_err(tss("the authorisation value"))?;
            let session = self.salted_session(parent, SessionType::Hmac)?;
            let data = self
                .context
                .execute_with_session(Some(session), |c| c.unseal(object.into()))
                .map_err(tss("TPM2_Unseal"));
            self.flush_session(session);
            data.map(|d| Zeroizing::new(d.value().to_vec()))
        })();
        let _ = self.context.flush_context(object.into());
        result
    }
}

/// A signing key loaded in the TPM, with the salted HMAC session that authorises its use
/// (the key's authorisation value never crosses the bus in clear). Flushed by
/// [`Tpm::unload_signing_key`].
#[derive(Debug)]
pub struct LoadedSigningKey {
    key: KeyHandle,
    session: AuthSession,
}

impl Tpm {
    /// Creates an ECDSA P-256/SHA-256 signing key under the parent at `handle` (name
    /// `parent_name`): generated inside the TPM (`sensitiveDataOrigin`), bound to it
    /// (`fixedTPM`, `fixedParent`), dictionary-attack protected, usable with `auth` only.
    /// Returns its blob (the private part encrypted by the parent) and its public point,
    /// uncompressed. The private key never exists outside the TPM.
    ///
    /// # Errors
    /// [`TpmError`].
    pub fn create_signing_key(
        &mut self,
        handle: u32,
        parent_name: &[u8],
        auth: &[u8],
    ) -> Result<(SealedBlob, Vec<u8>)> {
        let (parent, _) = self.parent(handle, Some(parent_name))?;
        let attributes = ObjectAttributesBuilder::new()
            .with_fixed_tpm(true)
            .with_fixed_parent(true)
            .with_sensitive_data_origin(true)
            .with_user_with_auth(true)
            .with_no_da(false)
            .with_sign_encrypt(true)
            .build()
            .map_err(tss("the signing key's attributes"))?;
        let public = ecdsa_p256_signing(attributes, EccPoint::default(), "the signing key")?;
        let auth = Auth::try_from(auth.to_vec()).map_err(tss("the authorisation value"))?;
        // Salted, with parameter encryption: the authorisation value is sent encrypted.
        let session = self.salted_session(parent, SessionType::Hmac)?;
        let created = self
            .context
            .execute_with_session(Some(session), |c| {
                c.create(parent, public, Some(auth), None, None, None)
            })
            .map_err(tss("TPM2_Create (signing key)"));
        self.flush_session(session);
        let created = created?;
        let point = match &created.out_public {
            Public::Ecc { unique, .. } => {
                let (x, y) = (unique.x().value(), unique.y().value());
                if x.len() > 32 || y.len() > 32 {
                    return Err(TpmError::new("TPM2_Create", "not a P-256 public point"));
                }
                let mut point = vec![4u8; 65];
                point[1..33].fill(0);
                point[33 - x.len()..33].copy_from_slice(x);
                point[33..].fill(0);
                point[65 - y.len()..].copy_from_slice(y);
                point
            }
            _ => return Err(TpmError::new("TPM2_Create", "not an ECC key")),
        };
        Ok((blob_of(created.out_public, &created.out_private)?, point))
    }

    /// Loads a signing key made by [`Tpm::create_signing_key`] and opens the salted session
    /// its signatures run in.
    ///
    /// # Errors
    /// [`TpmError`]: another parent key at `handle`, a blob that does not load.
    pub fn load_signing_key(
        &mut self,
        handle: u32,
        parent_name: &[u8],
        blob: &SealedBlob,
        auth: &[u8],
    ) -> Result<LoadedSigningKey> {
        let (parent, _) = self.parent(handle, Some(parent_name))?;
        let key = self.load(parent, blob)?;
        let ready = (|| {
            let auth = Auth::try_from(auth.to_vec()).map_err(tss("the authorisation value"))?;
            self.context
                .tr_set_auth(key.into(), auth)
                .map_err(tss("the authorisation value"))?;
            self.salted_session(parent, SessionType::Hmac)
        })();
        match ready {
            Ok(session) => Ok(LoadedSigningKey { key, session }),
            Err(e) => {
                let _ = self.context.flush_context(key.into());
                Err(e)
            }
        }
    }

    /// Signs a SHA-256 `digest` with a loaded signing key: the signature's `r` and `s`,
    /// 32 bytes each.
    ///
    /// # Errors
    /// [`TpmError`]: the TPM refused (a lockout, a flushed key).
    pub fn sign_digest(&mut self, key: &LoadedSigningKey, digest: &[u8; 32]) -> Result<[u8; 64]> {
        let digest = Digest::try_from(digest.to_vec()).map_err(tss("the digest"))?;
        let validation = tss_esapi::tss2_esys::TPMT_TK_HASHCHECK {
            tag: tss_esapi::constants::tss::TPM2_ST_HASHCHECK,
            hierarchy: tss_esapi::constants::tss::TPM2_RH_NULL,
            digest: tss_esapi::tss2_esys::TPM2B_DIGEST::default(),
        };
        let validation = HashcheckTicket::try_from(validation).map_err(tss("a null ticket"))?;
        let signature = self
            .context
            .execute_with_session(Some(key.session), |c| {
                c.sign(
                    key.key,
                    digest,
                    SignatureScheme::EcDsa {
                        hash_scheme: HashScheme::new(HashingAlgorithm::Sha256),
                    },
                    validation,
                )
            })
            .map_err(tss("TPM2_Sign"))?;
        let Signature::EcDsa(signature) = signature else {
            return Err(TpmError::new("TPM2_Sign", "not an ECDSA signature"));
        };
        let mut raw = [0u8; 64];
        for (half, value) in [
            (0, signature.signature_r().value()),
            (32, signature.signature_s().value()),
        ] {
            if value.len() > 32 {
                return Err(TpmError::new("TPM2_Sign", "not a P-256 signature"));
            }
            raw[half + 32 - value.len()..half + 32].copy_from_slice(value);
        }
        Ok(raw)
    }

    /// Flushes a loaded signing key and its session from the TPM.
    #[allow(clippy::needless_pass_by_value)] // consumed: the handles are gone afterwards
    pub fn unload_signing_key(&mut self, key: LoadedSigningKey) {
        self.flush_session(key.session);
        let _ = self.context.flush_context(key.key.into());
    }
}

/// The first NV index tried for an anti-rollback counter; the next 63 after it are tried too.
pub const FIRST_NV_INDEX: u32 = 0x0150_7000;

impl Tpm {
    /// The NV indices in use from [`FIRST_NV_INDEX`] on.
    fn nv_indices(&mut self) -> Result<Vec<u32>> {
        self.handles_from(FIRST_NV_INDEX, "TPM2_GetCapability (NV indices)")
    }

    fn nv_handle(&mut self, index: u32) -> Result<tss_esapi::handles::NvIndexHandle> {
        let tpm_handle = tss_esapi::handles::NvIndexTpmHandle::new(index)
            .map(TpmHandle::NvIndex)
            .map_err(tss("an NV index"))?;
        self.context
            .execute_without_session(|c| c.tr_from_tpm_public(tpm_handle))
            .map(tss_esapi::handles::NvIndexHandle::from)
            .map_err(|e| {
                let mut e = tss("the anti-rollback counter")(e);
                e.message = format!(
                    "no NV index {index:#010x} ({}): the counter was undefined or the TPM \
                     cleared",
                    e.message
                );
                e
            })
    }

    /// Defines a monotonic NV counter (`TPM_NT_COUNTER`, owner-authorised) at the first free
    /// index from [`FIRST_NV_INDEX`] and counts it once, which sets it to at least the highest
    /// value any counter of this TPM ever had. Returns the index and that value.
    ///
    /// # Errors
    /// [`TpmError`]; no free index.
    pub fn define_counter(&mut self) -> Result<(u32, u64)> {
        let taken = self.nv_indices()?;
        let index = (FIRST_NV_INDEX..FIRST_NV_INDEX + HANDLES_TRIED)
            .find(|i| !taken.contains(i))
            .ok_or_else(|| {
                TpmError::new(
                    "TPM2_NV_DefineSpace",
                    format!(
                        "no free NV index from {FIRST_NV_INDEX:#010x} to {:#010x}",
                        FIRST_NV_INDEX + HANDLES_TRIED - 1
                    ),
                )
            })?;
        let attributes = tss_esapi::attributes::NvIndexAttributesBuilder::new()
            .with_nv_index_type(tss_esapi::constants::NvIndexType::Counter)
            .with_owner_write(true)
            .with_owner_read(true)
            .with_no_da(true)
            .build()
            .map_err(tss("the counter's attributes"))?;
        let public = tss_esapi::structures::NvPublicBuilder::new()
            .with_nv_index(
                tss_esapi::handles::NvIndexTpmHandle::new(index).map_err(tss("an NV index"))?,
            )
            .with_index_name_algorithm(HashingAlgorithm::Sha256)
            .with_index_attributes(attributes)
            .with_data_area_size(8)
            .build()
            .map_err(tss("the counter's public area"))?;
        self.context
            .execute_with_session(Some(AuthSession::Password), |c| {
                c.nv_define_space(Provision::Owner, None, public)
            })
            .map_err(tss("TPM2_NV_DefineSpace (anti-rollback counter)"))?;
        let value = self.increment_counter(index)?;
        Ok((index, value))
    }

    /// The counter's value.
    ///
    /// # Errors
    /// [`TpmError`]: no such index.
    pub fn read_counter(&mut self, index: u32) -> Result<u64> {
        let handle = self.nv_handle(index)?;
        let data = self
            .context
            .execute_with_session(Some(AuthSession::Password), |c| {
                c.nv_read(
                    tss_esapi::interface_types::resource_handles::NvAuth::Owner,
                    handle,
                    8,
                    0,
                )
            })
            .map_err(tss("TPM2_NV_Read (anti-rollback counter)"))?;
        let bytes: [u8; 8] = data
            .value()
            .try_into()
            .map_err(|_| TpmError::new("TPM2_NV_Read", "the counter is not 8 bytes"))?;
        Ok(u64::from_be_bytes(bytes))
    }

    /// Counts the counter once; its new value.
    ///
    /// # Errors
    /// [`TpmError`].
    pub fn increment_counter(&mut self, index: u32) -> Result<u64> {
        let handle = self.nv_handle(index)?;
        self.context
            .execute_with_session(Some(AuthSession::Password), |c| {
                c.nv_increment(
                    tss_esapi::interface_types::resource_handles::NvAuth::Owner,
                    handle,
                )
            })
            .map_err(tss("TPM2_NV_Increment (anti-rollback counter)"))?;
        self.read_counter(index)
    }

    /// Undefines the counter at `index` (decommissioning); whether there was one.
    ///
    /// # Errors
    /// [`TpmError`].
    pub fn undefine_counter(&mut self, index: u32) -> Result<bool> {
        if !self.nv_indices()?.contains(&index) {
            return Ok(false);
        }
        let handle = self.nv_handle(index)?;
        self.context
            .execute_with_session(Some(AuthSession::Password), |c| {
                c.nv_undefine_space(Provision::Owner, handle)
            })
            .map_err(tss("TPM2_NV_UndefineSpace"))?;
        Ok(true)
    }
}

fn pcr_list(pcrs: &[u8]) -> Result<tss_esapi::structures::PcrSelectionList> {
    let slots = pcrs
        .iter()
        .map(|p| PcrSlot::try_from(1u32 << p))
        .collect::<std::result::Result<Vec<_>, _>>()
        .map_err(tss("a PCR selection"))?;
    PcrSelectionListBuilder::new()
        .with_selection(HashingAlgorithm::Sha256, &slots)
        .build()
        .map_err(tss("a PCR selection"))
}

/// The TCG storage root key template for ECC P-256 (restricted decryption, AES-128-CFB),
/// with `unique`.
fn srk_template(unique: EccPoint) -> Result<Public> {
    let attributes = ObjectAttributesBuilder::new()
        .with_fixed_tpm(true)
        .with_fixed_parent(true)
        .with_sensitive_data_origin(true)
        .with_user_with_auth(true)
        .with_no_da(true)
        .with_restricted(true)
        .with_decrypt(true)
        .build()
        .map_err(tss("the parent's attributes"))?;
    PublicBuilder::new()
        .with_public_algorithm(PublicAlgorithm::Ecc)
        .with_name_hashing_algorithm(HashingAlgorithm::Sha256)
        .with_object_attributes(attributes)
        .with_ecc_parameters(
            PublicEccParametersBuilder::new_restricted_decryption_key(
                SymmetricDefinitionObject::AES_128_CFB,
                EccCurve::NistP256,
            )
            .build()
            .map_err(tss("the parent's parameters"))?,
        )
        .with_ecc_unique_identifier(unique)
        .build()
        .map_err(tss("the parent's template"))
}

/// The public area of the policy authority: an unrestricted ECDSA P-256/SHA-256 signing key.
fn authority_public(point: &[u8]) -> Result<Public> {
    let bad = || TpmError::new("the policy authority", "not an uncompressed P-256 point");
    if point.len() != 65 || point[0] != 4 {
        return Err(bad());
    }
    let x = EccParameter::try_from(point[1..33].to_vec()).map_err(|_| bad())?;
    let y = EccParameter::try_from(point[33..].to_vec()).map_err(|_| bad())?;
    let attributes = ObjectAttributesBuilder::new()
        .with_user_with_auth(true)
        .with_sign_encrypt(true)
        .build()
        .map_err(tss("the authority's attributes"))?;
    ecdsa_p256_signing(attributes, EccPoint::new(x, y), "the authority")
}

/// The public area of an unrestricted ECDSA P-256/SHA-256 signing key with `attributes`;
/// `unique` is its point (empty in a template for the TPM to fill).
fn ecdsa_p256_signing(
    attributes: tss_esapi::attributes::ObjectAttributes,
    unique: EccPoint,
    what: &str,
) -> Result<Public> {
    PublicBuilder::new()
        .with_public_algorithm(PublicAlgorithm::Ecc)
        .with_name_hashing_algorithm(HashingAlgorithm::Sha256)
        .with_object_attributes(attributes)
        .with_ecc_parameters(
            PublicEccParametersBuilder::new_unrestricted_signing_key(
                EccScheme::EcDsa(HashScheme::new(HashingAlgorithm::Sha256)),
                EccCurve::NistP256,
            )
            .build()
            .map_err(tss(what))?,
        )
        .with_ecc_unique_identifier(unique)
        .build()
        .map_err(tss(what))
}

/// What `TPM2_Create` made, as tpm2-tools writes it: `TPM2B_PUBLIC` and `TPM2B_PRIVATE`.
fn blob_of(public: Public, private: &Private) -> Result<SealedBlob> {
    let public = PublicBuffer::try_from(public)
        .and_then(|b| b.marshall())
        .map_err(tss("TPM2B_PUBLIC"))?;
    let mut sized = u16::try_from(private.value().len())
        .unwrap_or(u16::MAX)
        .to_be_bytes()
        .to_vec();
    sized.extend_from_slice(private.value());
    Ok(SealedBlob {
        public,
        private: sized,
    })
}

fn ecdsa_signature(raw: &[u8; 64]) -> Result<Signature> {
    let r = EccParameter::try_from(raw[..32].to_vec()).map_err(tss("the signature"))?;
    let s = EccParameter::try_from(raw[32..].to_vec()).map_err(tss("the signature"))?;
    EccSignature::create(HashingAlgorithm::Sha256, r, s)
        .map(Signature::EcDsa)
        .map_err(tss("the signature"))
}
