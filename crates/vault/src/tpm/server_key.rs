//! Keys held by the TPM (CR 1.9 RE 1): the TLS server key (`[vault] tls_key = "tpm"`) and the
//! device key (`[vault] device_key = "tpm"`). Each is an ECDSA P-256 key generated inside the
//! TPM under the KEK's parent key, whose private part never exists outside it. rustls signs
//! each handshake through [`TpmSigningKey`]; the device key signs through
//! [`TpmSigningKey::sign_fixed`].
//!
//! `DATA/pki/server.key` (or `DATA/keys/device.key`) then holds, sealed under the KEK like every
//! stored secret, a [`TpmKeyFile`]: the TPM, the parent, the key's blob (its private part encrypted by the
//! parent, loadable in this TPM only) and its authorisation value. A copy of the file is of
//! no use without the KEK, and with it, of no use without this TPM.
//!
//! One thread of the process talks to the TPM for every such key: it loads a key at its
//! first signature, keeps the connection while signatures come, and lets it go (flushing the
//! keys) after [`IDLE`] without one, so that other users of a TPM that serves one connection
//! at a time (swtpm, the erase) are not locked out, and on [`release`], which a process calls
//! before it exits. Callers wait at most [`SIGN_TIMEOUT`], and at most
//! [`QUEUE`] signatures wait: a handshake storm cannot pile up work.

use std::collections::HashMap;
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, SyncSender, TrySendError};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use rustls::pki_types::SubjectPublicKeyInfoDer;
use rustls::sign::{Signer, SigningKey};
use rustls::{SignatureAlgorithm, SignatureScheme};
use zeroize::Zeroizing;

use super::esys::{LoadedSigningKey, SealedBlob, Tpm};
use super::{KEY_FILE_HEADER, TpmSettings};
use crate::VaultError;
use crate::crypto;

/// How long the TPM thread keeps its connection without a signature to make.
pub const IDLE: Duration = Duration::from_secs(1);
/// How long a handshake waits for its signature.
pub const SIGN_TIMEOUT: Duration = Duration::from_secs(10);
/// How many signatures may wait for the TPM.
pub const QUEUE: usize = 64;

/// The contents of a TPM-held key's file (sealed under the KEK).
#[derive(Clone, PartialEq, Eq)]
pub struct TpmKeyFile {
    /// The TCTI the key was made through (the KEK's, when the process has one).
    pub tcti: String,
    /// The persistent handle of the parent key.
    pub handle: u32,
    /// The parent key's TPM name.
    pub parent_name: Vec<u8>,
    /// The key's `TPM2B_PUBLIC` and `TPM2B_PRIVATE`.
    pub blob: SealedBlob,
    /// The public point, uncompressed.
    pub point: Vec<u8>,
    /// The authorisation value (32 random bytes).
    pub auth: Zeroizing<Vec<u8>>,
}

impl std::fmt::Debug for TpmKeyFile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TpmKeyFile")
            .field("tcti", &self.tcti)
            .field("handle", &format_args!("{:#010x}", self.handle))
            .field("point", &hex::encode(&self.point))
            .finish_non_exhaustive()
    }
}

impl TpmKeyFile {
    /// The file's text (a secret: the authorisation value is in it).
    pub fn to_text(&self) -> Zeroizing<String> {
        Zeroizing::new(format!(
            "{KEY_FILE_HEADER}\nalgorithm ecdsa-p256-sha256\ntcti {}\nhandle {:#010x}\n\
             parent-name {}\npublic {}\nprivate {}\npoint {}\nauth {}\n",
            self.tcti,
            self.handle,
            hex::encode(&self.parent_name),
            hex::encode(&self.blob.public),
            hex::encode(&self.blob.private),
            hex::encode(&self.point),
            Zeroizing::new(hex::encode(self.auth.as_slice())).as_str(),
        ))
    }

    /// Parses a file's text.
    ///
    /// # Errors
    /// A message naming the first field that is missing or malformed.
    pub fn parse(bytes: &[u8]) -> Result<TpmKeyFile, String> {
        let text = std::str::from_utf8(bytes).map_err(|_| "not UTF-8".to_owned())?;
        let mut lines = text.lines();
        if lines.next() != Some(KEY_FILE_HEADER) {
            return Err(format!("the first line is not {KEY_FILE_HEADER:?}"));
        }
        let field = |key: &str| {
            text.lines()
                .find_map(|l| l.strip_prefix(key).and_then(|v| v.strip_prefix(' ')))
                .ok_or_else(|| format!("no `{key}` line"))
        };
        let bytes = |key: &str| hex::decode(field(key)?).map_err(|_| format!("`{key}` is not hex"));
        if field("algorithm")? != "ecdsa-p256-sha256" {
            return Err("`algorithm` is not ecdsa-p256-sha256".into());
        }
        let handle = field("handle")?;
        let point = bytes("point")?;
        if point.len() != 65 || point[0] != 4 {
            return Err("`point` is not an uncompressed P-256 point".into());
        }
        Ok(TpmKeyFile {
            tcti: field("tcti")?.to_owned(),
            handle: handle
                .strip_prefix("0x")
                .and_then(|h| u32::from_str_radix(h, 16).ok())
                .ok_or_else(|| format!("handle {handle:?} is not a hex handle"))?,
            parent_name: bytes("parent-name")?,
            blob: SealedBlob {
                public: bytes("public")?,
                private: bytes("private")?,
            },
            point,
            auth: Zeroizing::new(bytes("auth")?),
        })
    }

    /// The key's `SubjectPublicKeyInfo` (DER), as a certificate for it carries it.
    pub fn spki_der(&self) -> Vec<u8> {
        let mut der = crypto::signature::P256_SPKI_PREFIX.to_vec();
        der.extend_from_slice(&self.point);
        der
    }

    fn id(&self) -> [u8; 32] {
        crypto::sha256(&self.blob.public)
    }
}

/// Creates a TLS server key in the TPM under the parent of `settings` (the KEK's).
///
/// # Errors
/// [`VaultError::Kek`]: the TPM refused or cannot be reached.
pub fn create(settings: &TpmSettings) -> Result<TpmKeyFile, VaultError> {
    let mut auth = Zeroizing::new(vec![0u8; 32]);
    crypto::fill_random(&mut auth).map_err(|e| VaultError::Kek(format!("randomness: {e}")))?;
    let tpm_error = |e: super::esys::TpmError| VaultError::Kek(format!("tpm: {e}"));
    let mut tpm = Tpm::connect(&settings.tcti).map_err(tpm_error)?;
    let (blob, point) = tpm
        .create_signing_key(settings.handle, &settings.parent_name, &auth)
        .map_err(tpm_error)?;
    Ok(TpmKeyFile {
        tcti: settings.tcti.clone(),
        handle: settings.handle,
        parent_name: settings.parent_name.clone(),
        blob,
        point,
        auth,
    })
}

/// A rustls signing key whose private key is in the TPM.
#[derive(Debug)]
pub struct TpmSigningKey {
    file: Arc<TpmKeyFile>,
    spki: Vec<u8>,
}

impl TpmSigningKey {
    /// The signing key of a key file.
    pub fn new(file: TpmKeyFile) -> TpmSigningKey {
        let spki = file.spki_der();
        TpmSigningKey {
            file: Arc::new(file),
            spki,
        }
    }

    /// Signs `message` (ECDSA P-256 with SHA-256) in the TPM: the signature in DER.
    ///
    /// # Errors
    /// As [`TpmSigningKey::sign_fixed`].
    pub fn sign(&self, message: &[u8]) -> Result<Vec<u8>, String> {
        self.sign_fixed(message).map(|raw| ecdsa_der(&raw))
    }

    /// The public point, uncompressed (`04 ‖ x ‖ y`).
    pub fn point(&self) -> &[u8] {
        &self.file.point
    }

    /// Signs `message` (ECDSA P-256 with SHA-256) in the TPM: `r ‖ s`, 32 bytes each.
    ///
    /// # Errors
    /// A message: the TPM refused, is busy past [`QUEUE`], or did not answer in
    /// [`SIGN_TIMEOUT`].
    pub fn sign_fixed(&self, message: &[u8]) -> Result<[u8; 64], String> {
        let digest = crypto::sha256(message);
        let (reply, answer) = mpsc::sync_channel(1);
        let job = Job {
            file: Arc::clone(&self.file),
            digest,
            reply,
        };
        let sender = worker();
        match sender.try_send(Request::Sign(job)) {
            Ok(()) => {}
            Err(TrySendError::Full(_)) => {
                return Err(format!("the TPM has {QUEUE} signatures waiting already"));
            }
            Err(TrySendError::Disconnected(_)) => return Err("the TPM thread has ended".into()),
        }
        answer
            .recv_timeout(SIGN_TIMEOUT)
            .map_err(|_| format!("the TPM did not sign within {SIGN_TIMEOUT:?}"))?
    }
}

impl SigningKey for TpmSigningKey {
    fn choose_scheme(&self, offered: &[SignatureScheme]) -> Option<Box<dyn Signer>> {
        offered
            .contains(&SignatureScheme::ECDSA_NISTP256_SHA256)
            .then(|| {
                Box::new(TpmSigner {
                    file: Arc::clone(&self.file),
                    spki: self.spki.clone(),
                }) as Box<dyn Signer>
            })
    }

    fn public_key(&self) -> Option<SubjectPublicKeyInfoDer<'_>> {
        Some(SubjectPublicKeyInfoDer::from(self.spki.as_slice()))
    }

    fn algorithm(&self) -> SignatureAlgorithm {
        SignatureAlgorithm::ECDSA
    }
}

#[derive(Debug)]
struct TpmSigner {
    file: Arc<TpmKeyFile>,
    spki: Vec<u8>,
}

impl Signer for TpmSigner {
    fn sign(&self, message: &[u8]) -> Result<Vec<u8>, rustls::Error> {
        TpmSigningKey {
            file: Arc::clone(&self.file),
            spki: self.spki.clone(),
        }
        .sign(message)
        .map_err(|e| rustls::Error::General(format!("TPM signature: {e}")))
    }

    fn scheme(&self) -> SignatureScheme {
        SignatureScheme::ECDSA_NISTP256_SHA256
    }
}

struct Job {
    file: Arc<TpmKeyFile>,
    digest: [u8; 32],
    reply: SyncSender<Result<[u8; 64], String>>,
}

/// What the TPM thread is asked: a signature, or to let the TPM go now.
enum Request {
    Sign(Job),
    Release(SyncSender<()>),
}

/// The sender to the process's TPM thread, once a first signature started it.
static WORKER: OnceLock<Mutex<SyncSender<Request>>> = OnceLock::new();

/// The sender to the process's TPM thread, started at the first signature.
fn worker() -> SyncSender<Request> {
    WORKER
        .get_or_init(|| {
            let (sender, jobs) = mpsc::sync_channel(QUEUE);
            // If the thread cannot start, every send fails with "ended": no panic here.
            let _ = std::thread::Builder::new()
                .name("rampart-tpm-signer".into())
                .spawn(move || serve(&jobs));
            Mutex::new(sender)
        })
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .clone()
}

/// Flushes the keys the TPM thread holds loaded and closes its connection, waiting at most
/// [`SIGN_TIMEOUT`]. A process calls it before it exits: a TPM without a resource manager
/// (swtpm, a bare `/dev/tpm0`) keeps a loaded object until it is flushed, so a key left loaded
/// by a process that exits would hold one of its few object slots (three in swtpm) for good.
/// (The kernel's resource manager, `/dev/tpmrm0`, flushes them when the process ends.) A
/// later signature loads the keys again.
pub fn release() {
    let Some(worker) = WORKER.get() else {
        return; // nothing was ever signed here
    };
    let sender = worker
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .clone();
    let (ack, done) = mpsc::sync_channel(1);
    if sender.try_send(Request::Release(ack)).is_ok() {
        let _ = done.recv_timeout(SIGN_TIMEOUT);
    }
}

/// The TPM thread: one connection, the keys loaded in it, dropped after [`IDLE`] or on
/// [`release`].
fn serve(jobs: &Receiver<Request>) {
    let mut open: Option<(Tpm, HashMap<[u8; 32], LoadedSigningKey>)> = None;
    loop {
        let job = match jobs.recv_timeout(IDLE) {
            Ok(Request::Sign(job)) => job,
            Ok(Request::Release(ack)) => {
                close(open.take());
                let _ = ack.try_send(());
                continue;
            }
            Err(RecvTimeoutError::Timeout) => {
                close(open.take());
                continue;
            }
            Err(RecvTimeoutError::Disconnected) => {
                close(open.take());
                return;
            }
        };
        let result = sign_in(&mut open, &job);
        if result.is_err() {
            // A stale connection or key (a TPM restart): start afresh at the next one.
            close(open.take());
        }
        let _ = job.reply.try_send(result);
    }
}

fn sign_in(
    open: &mut Option<(Tpm, HashMap<[u8; 32], LoadedSigningKey>)>,
    job: &Job,
) -> Result<[u8; 64], String> {
    // The TCTI this process reached the key's parent through when it unsealed the KEK (the
    // configured device may have moved since the key was made), else the one recorded.
    let tcti = super::in_use()
        .filter(|s| s.handle == job.file.handle && s.parent_name == job.file.parent_name)
        .map_or_else(|| job.file.tcti.clone(), |s| s.tcti);
    if open.as_ref().is_some_and(|(tpm, _)| tpm.tcti() != tcti) {
        close(open.take());
    }
    if open.is_none() {
        *open = Some((
            Tpm::connect(&tcti).map_err(|e| e.to_string())?,
            HashMap::new(),
        ));
    }
    let Some((tpm, keys)) = open.as_mut() else {
        return Err("no TPM connection".into());
    };
    let key = match keys.entry(job.file.id()) {
        std::collections::hash_map::Entry::Occupied(loaded) => loaded.into_mut(),
        std::collections::hash_map::Entry::Vacant(slot) => slot.insert(
            tpm.load_signing_key(
                job.file.handle,
                &job.file.parent_name,
                &job.file.blob,
                &job.file.auth,
            )
            .map_err(|e| e.to_string())?,
        ),
    };
    tpm.sign_digest(key, &job.digest).map_err(|e| e.to_string())
}

fn close(open: Option<(Tpm, HashMap<[u8; 32], LoadedSigningKey>)>) {
    if let Some((mut tpm, keys)) = open {
        for (_, key) in keys {
            tpm.unload_signing_key(key);
        }
    }
}

/// An ECDSA signature's `r ‖ s` as the DER `Ecdsa-Sig-Value` TLS carries.
fn ecdsa_der(raw: &[u8; 64]) -> Vec<u8> {
    let integer = |half: &[u8]| {
        let start = half.iter().position(|b| *b != 0).unwrap_or(half.len() - 1);
        let digits = &half[start..];
        let mut out = vec![0x02];
        let pad = digits.first().is_some_and(|b| b & 0x80 != 0);
        out.push(u8::try_from(digits.len() + usize::from(pad)).unwrap_or(0));
        if pad {
            out.push(0);
        }
        out.extend_from_slice(digits);
        out
    };
    let (r, s) = (integer(&raw[..32]), integer(&raw[32..]));
    let mut der = vec![0x30, u8::try_from(r.len() + s.len()).unwrap_or(0)];
    der.extend(r);
    der.extend(s);
    der
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ecdsa_signatures_are_der_integers_without_leading_zeros_and_with_a_sign_pad() {
        let mut raw = [0u8; 64];
        raw[31] = 1; // r = 1
        raw[32] = 0x80; // s has its high bit set
        let der = ecdsa_der(&raw);
        assert_eq!(&der[..5], &[0x30, 3 + 35, 0x02, 1, 1]);
        assert_eq!(&der[5..8], &[0x02, 33, 0]);
        assert_eq!(der.len(), 2 + 3 + 35);
    }

    #[test]
    fn key_files_round_trip_and_bad_ones_name_the_field() {
        let file = TpmKeyFile {
            tcti: "swtpm:port=2321".into(),
            handle: 0x8101_7000,
            parent_name: vec![0, 11, 1, 2],
            blob: SealedBlob {
                public: vec![1, 2, 3],
                private: vec![0, 1, 9],
            },
            point: std::iter::once(4).chain([7u8; 64]).collect(),
            auth: Zeroizing::new(vec![5; 32]),
        };
        let text = file.to_text();
        assert_eq!(TpmKeyFile::parse(text.as_bytes()).unwrap(), file);
        assert!(!format!("{file:?}").contains("0505"), "no secret in Debug");
        let spki = file.spki_der();
        assert_eq!(spki.len(), 91);
        for (broken, field) in [
            (text.replace("handle 0x", "handle "), "handle"),
            (text.replace("point 04", "point 05"), "point"),
            (text.replace("auth ", "auth zz"), "auth"),
            (
                text.replace("algorithm ecdsa-p256-sha256", "algorithm rsa"),
                "algorithm",
            ),
        ] {
            let err = TpmKeyFile::parse(broken.as_bytes()).unwrap_err();
            assert!(err.contains(field), "{err}");
        }
        assert!(TpmKeyFile::parse(b"-----BEGIN PRIVATE KEY-----").is_err());
    }
}
