//! [`TpmKek`]: the [`KekProvider`] of a KEK sealed in a TPM 2.0 (module docs: [`super`]).

use std::fs;
use std::os::unix::fs::DirBuilderExt as _;
use std::path::{Path, PathBuf};

use zeroize::Zeroizing;

use super::esys::{SealedBlob, Tpm, TpmError, TpmInfo};
use super::policy::{self, Approved, PcrSelection, PolicyFile};
use super::{DEFAULT_TCTI, TpmConfig};
use crate::VaultError;
use crate::at_rest::{self, Kek, KekProvider, ProviderKind};
use crate::crypto::{self, signature::EcdsaP256SigningKey};

const SETTINGS_HEADER: &str = "rampart-tpm 1";
/// The logical name of the sealed authority key.
const AUTHORITY_KEY_NAME: &str = "keys/tpm/authority.key";

/// What `keys/tpm/settings` records at enrolment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TpmSettings {
    /// The TCTI used at enrolment.
    pub tcti: String,
    /// The PCRs the policy binds.
    pub pcrs: PcrSelection,
    /// The persistent handle of the parent key.
    pub handle: u32,
    /// The parent key's TPM name.
    pub parent_name: Vec<u8>,
}

impl TpmSettings {
    fn to_text(&self) -> String {
        format!(
            "{SETTINGS_HEADER}\ntcti {}\npcrs {}\nhandle {:#010x}\nparent-name {}\n",
            self.tcti,
            self.pcrs.to_text(),
            self.handle,
            hex::encode(&self.parent_name)
        )
    }

    fn parse(text: &str) -> Result<TpmSettings, String> {
        let mut lines = text.lines();
        if lines.next() != Some(SETTINGS_HEADER) {
            return Err(format!("the first line is not {SETTINGS_HEADER:?}"));
        }
        let field = |key: &str| {
            text.lines()
                .find_map(|l| l.strip_prefix(key).and_then(|v| v.strip_prefix(' ')))
                .ok_or_else(|| format!("no `{key}` line"))
        };
        let handle = field("handle")?;
        Ok(TpmSettings {
            tcti: field("tcti")?.to_owned(),
            pcrs: PcrSelection::from_text(field("pcrs")?)?,
            handle: handle
                .strip_prefix("0x")
                .and_then(|h| u32::from_str_radix(h, 16).ok())
                .ok_or_else(|| format!("handle {handle:?} is not a hex handle"))?,
            parent_name: hex::decode(field("parent-name")?)
                .map_err(|_| "parent-name is not hex".to_owned())?,
        })
    }
}

/// The TPM 2.0 KEK provider of one data directory, its files in `dir` (`DATA/keys/tpm`).
#[derive(Debug, Clone)]
pub struct TpmKek {
    dir: PathBuf,
    config: TpmConfig,
}

#[allow(clippy::needless_pass_by_value)] // the shape `map_err` hands over
fn tpm_error(e: TpmError) -> VaultError {
    VaultError::Kek(format!("tpm: {e}"))
}

impl TpmKek {
    /// The provider keeping its files in `dir`, with the configuration's TCTI and PCRs.
    pub fn new(dir: PathBuf, config: TpmConfig) -> TpmKek {
        TpmKek { dir, config }
    }

    fn file(&self, name: &str) -> PathBuf {
        self.dir.join(name)
    }

    fn read(&self, name: &str, cap: u64) -> Result<Vec<u8>, VaultError> {
        let path = self.file(name);
        crate::data_dir::require_private(&path, 0o600)?;
        crate::read_capped(&path, cap)
            .map_err(|e| VaultError::Kek(format!("{}: {e}", path.display())))
    }

    fn read_text(&self, name: &str, cap: u64) -> Result<String, VaultError> {
        String::from_utf8(self.read(name, cap)?)
            .map_err(|_| VaultError::Kek(format!("{}: not UTF-8", self.file(name).display())))
    }

    /// The settings recorded at enrolment; `None` before.
    ///
    /// # Errors
    /// [`VaultError::Kek`] for a malformed file.
    pub fn settings(&self) -> Result<Option<TpmSettings>, VaultError> {
        if !self.file("settings").exists() {
            return Ok(None);
        }
        let text = self.read_text("settings", 4096)?;
        TpmSettings::parse(&text)
            .map(Some)
            .map_err(|e| VaultError::Kek(format!("{}: {e}", self.file("settings").display())))
    }

    fn tcti(&self, settings: Option<&TpmSettings>) -> String {
        self.config
            .tcti
            .clone()
            .or_else(|| settings.map(|s| s.tcti.clone()))
            .unwrap_or_else(|| DEFAULT_TCTI.to_owned())
    }

    /// Connects to the TPM (the configured TCTI, else the recorded one, else the default).
    ///
    /// # Errors
    /// [`VaultError::Kek`].
    pub fn connect(&self) -> Result<Tpm, VaultError> {
        let settings = self.settings()?;
        Tpm::connect(&self.tcti(settings.as_ref())).map_err(tpm_error)
    }

    /// The TPM's manufacturer, firmware and dictionary-attack parameters.
    ///
    /// # Errors
    /// [`VaultError::Kek`].
    pub fn info(&self) -> Result<TpmInfo, VaultError> {
        self.connect()?.info().map_err(tpm_error)
    }

    /// The current values of the recorded PCRs.
    ///
    /// # Errors
    /// [`VaultError::Kek`], also before enrolment.
    pub fn current_pcr_values(&self) -> Result<Vec<[u8; 32]>, VaultError> {
        let settings = self.enrolled()?;
        self.connect()?
            .pcr_values(&settings.pcrs)
            .map_err(tpm_error)
    }

    fn enrolled(&self) -> Result<TpmSettings, VaultError> {
        self.settings()?.ok_or_else(|| {
            VaultError::Kek(format!("{}: no TPM KEK enrolled here", self.dir.display()))
        })
    }

    fn blob(&self) -> Result<SealedBlob, VaultError> {
        Ok(SealedBlob {
            public: self.read("kek.pub", 4096)?,
            private: self.read("kek.priv", 4096)?,
        })
    }

    fn authority_point(&self) -> Result<Vec<u8>, VaultError> {
        let text = self.read_text("authority.pub", 1024)?;
        hex::decode(text.trim()).map_err(|_| {
            VaultError::Kek(format!(
                "{}: not a hex P-256 point",
                self.file("authority.pub").display()
            ))
        })
    }

    /// The approved PCR states.
    ///
    /// # Errors
    /// [`VaultError::Kek`] for a missing or malformed policy file.
    pub fn policy(&self) -> Result<PolicyFile, VaultError> {
        let text = self.read_text("policy", policy::MAX_POLICY_BYTES)?;
        PolicyFile::parse(&text)
            .map_err(|e| VaultError::Kek(format!("{}: {e}", self.file("policy").display())))
    }

    /// The policy authority's private key, opened with the (unsealed) KEK.
    ///
    /// # Errors
    /// [`VaultError`].
    pub fn authority_key(&self, kek: &Kek) -> Result<EcdsaP256SigningKey, VaultError> {
        let sealed = self.read("authority.key", 4096)?;
        let pkcs8 = at_rest::open(kek, AUTHORITY_KEY_NAME, &sealed).map_err(|source| {
            VaultError::Sealed {
                path: self.file("authority.key"),
                source,
            }
        })?;
        EcdsaP256SigningKey::from_pkcs8(&pkcs8).map_err(VaultError::Kek)
    }

    /// Approves the platform state whose selected PCR values are `pcr_values` (ascending PCR
    /// order), signed by `authority`: after it, the TPM unseals the KEK in that state too,
    /// without re-enrolment. What a signed update does before it reboots into new firmware.
    /// The file keeps the [`policy::MAX_APPROVED`] newest states.
    ///
    /// # Errors
    /// [`VaultError`]; a wrong number of values.
    pub fn approve(
        &self,
        authority: &EcdsaP256SigningKey,
        pcr_values: &[[u8; 32]],
    ) -> Result<(), VaultError> {
        let mut file = self.policy()?;
        if pcr_values.len() != file.pcrs.indices().len() {
            return Err(VaultError::Kek(format!(
                "{} PCR values for the {} PCRs {}",
                pcr_values.len(),
                file.pcrs.indices().len(),
                file.pcrs.to_text()
            )));
        }
        let entry = approval(authority, &file.pcrs, pcr_values)?;
        file.approved.retain(|a| a.pcr_digest != entry.pcr_digest);
        if file.approved.len() == policy::MAX_APPROVED {
            file.approved.remove(0);
        }
        file.approved.push(entry);
        crate::write_atomic(&self.file("policy"), file.to_text().as_bytes(), 0o600)
    }

    fn unseal(&self, settings: &TpmSettings) -> Result<Kek, VaultError> {
        if let Some(pcrs) = &self.config.pcrs {
            let configured = PcrSelection::new(pcrs).map_err(VaultError::Kek)?;
            if configured != settings.pcrs {
                return Err(VaultError::Kek(format!(
                    "tpm_pcrs [{}] is not the selection enrolled, [{}]: a KEK's PCR selection \
                     is fixed at enrolment",
                    configured.to_text(),
                    settings.pcrs.to_text()
                )));
            }
        }
        let file = self.policy()?;
        let blob = self.blob()?;
        let authority = self.authority_point()?;
        let mut tpm = self.connect()?;
        let values = tpm.pcr_values(&file.pcrs).map_err(tpm_error)?;
        let digest = policy::pcr_digest(&values);
        // The approval of the current state; else the newest, and the TPM itself refuses.
        let approved = file
            .approved
            .iter()
            .find(|a| a.pcr_digest == digest)
            .or_else(|| file.approved.last())
            .ok_or_else(|| {
                VaultError::Kek(format!(
                    "{}: no approved platform state",
                    self.file("policy").display()
                ))
            })?;
        let secret = tpm
            .unseal_authorized(
                settings.handle,
                &settings.parent_name,
                &blob,
                &file.pcrs,
                approved,
                &authority,
            )
            .map_err(tpm_error)?;
        let mut key = Zeroizing::new([0u8; 32]);
        if secret.len() != key.len() {
            return Err(VaultError::Kek(format!(
                "tpm: the sealed KEK is {} bytes, not 32",
                secret.len()
            )));
        }
        key.copy_from_slice(&secret);
        if let Ok(info) = tpm.info() {
            super::set_description(&info, settings);
        }
        super::set_in_use(TpmSettings {
            tcti: tpm.tcti().to_owned(),
            ..settings.clone()
        });
        Ok(Kek::from_key(ProviderKind::Tpm, key, self.dir.clone()))
    }

    fn enrol(&self) -> Result<Kek, VaultError> {
        let pcrs = PcrSelection::new(self.config.pcrs.as_deref().unwrap_or(policy::DEFAULT_PCRS))
            .map_err(VaultError::Kek)?;
        fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(&self.dir)
            .map_err(VaultError::io(&self.dir))?;
        crate::data_dir::require_private(&self.dir, 0o700)?;
        // A half-done enrolment (a crash before `kek.priv`): its parent key goes first.
        if self.settings()?.is_some() {
            self.destroy()?;
            fs::DirBuilder::new()
                .mode(0o700)
                .create(&self.dir)
                .map_err(VaultError::io(&self.dir))?;
        }
        let tcti = self.tcti(None);
        let mut tpm = Tpm::connect(&tcti).map_err(tpm_error)?;
        let (handle, parent_name) = tpm.create_parent().map_err(tpm_error)?;
        let settings = TpmSettings {
            tcti,
            pcrs,
            handle,
            parent_name,
        };
        let write = |name: &str, bytes: &[u8]| crate::write_atomic(&self.file(name), bytes, 0o600);
        write("settings", settings.to_text().as_bytes())?;
        let kek = crypto::random_key().map_err(|e| VaultError::Random(e.to_string()))?;
        let authority =
            EcdsaP256SigningKey::generate().map_err(|e| VaultError::Random(e.to_string()))?;
        let point = authority.public_point();
        let authority_name = tpm.authority_name(&point).map_err(tpm_error)?;
        let auth_policy = policy::policy_authorize_digest(&authority_name);
        let blob = tpm
            .seal(
                handle,
                &settings.parent_name,
                kek.as_ref(),
                Some(&auth_policy),
                None,
            )
            .map_err(tpm_error)?;
        let values = tpm.pcr_values(&settings.pcrs).map_err(tpm_error)?;
        let file = PolicyFile {
            pcrs: settings.pcrs.clone(),
            approved: vec![approval(&authority, &settings.pcrs, &values)?],
        };
        write(
            "authority.pub",
            format!("{}\n", hex::encode(&point)).as_bytes(),
        )?;
        write("policy", file.to_text().as_bytes())?;
        write("kek.pub", &blob.public)?;
        let in_memory = Kek::from_key(ProviderKind::Tpm, kek, self.dir.clone());
        at_rest::write_secret(
            &in_memory,
            &self.file("authority.key"),
            AUTHORITY_KEY_NAME,
            authority.pkcs8(),
            false,
        )?;
        // Last: its presence marks a finished enrolment.
        write("kek.priv", &blob.private)?;
        drop(tpm);
        // The KEK as the TPM gives it back, so a sealing that does not unseal fails now.
        let unsealed = self.unseal(&settings)?;
        if unsealed.id_hex() != in_memory.id_hex() {
            return Err(VaultError::Kek(
                "tpm: the KEK unsealed is not the one sealed".into(),
            ));
        }
        Ok(unsealed)
    }
}

fn approval(
    authority: &EcdsaP256SigningKey,
    pcrs: &PcrSelection,
    values: &[[u8; 32]],
) -> Result<Approved, VaultError> {
    let pcr_digest = policy::pcr_digest(values);
    let message = policy::approval_message(&policy::policy_pcr_digest(pcrs, &pcr_digest));
    let signature = authority
        .sign(&message)
        .map_err(|e| VaultError::Random(e.to_string()))?;
    let signature: [u8; 64] = signature
        .as_slice()
        .try_into()
        .map_err(|_| VaultError::Kek("an ECDSA P-256 signature is not 64 bytes".into()))?;
    Ok(Approved {
        pcr_digest,
        signature,
    })
}

impl KekProvider for TpmKek {
    fn kind(&self) -> ProviderKind {
        ProviderKind::Tpm
    }

    fn location(&self) -> &Path {
        &self.dir
    }

    fn load_or_create(&self) -> Result<Kek, VaultError> {
        match self.load()? {
            Some(kek) => Ok(kek),
            None => self.enrol(),
        }
    }

    fn load(&self) -> Result<Option<Kek>, VaultError> {
        if !self.file("kek.priv").exists() {
            return Ok(None);
        }
        let settings = self.enrolled()?;
        self.unseal(&settings).map(Some)
    }

    fn destroy(&self) -> Result<bool, VaultError> {
        let Some(settings) = self.settings()? else {
            return Ok(false);
        };
        let mut tpm = self.connect()?;
        // The anti-rollback counter goes with the directory (it holds no secret).
        if let Some(index) = crate::anti_rollback::recorded_index(&self.dir) {
            tpm.undefine_counter(index).map_err(tpm_error)?;
        }
        tpm.evict_parent(settings.handle, &settings.parent_name)
            .map_err(tpm_error)?;
        drop(tpm);
        for entry in fs::read_dir(&self.dir).map_err(VaultError::io(&self.dir))? {
            let path = entry.map_err(VaultError::io(&self.dir))?.path();
            at_rest::shred_file(&path)?;
        }
        fs::remove_dir(&self.dir).map_err(VaultError::io(&self.dir))?;
        Ok(true)
    }
}
