//! The local PKI of the Modbus/TCP Security listener (CR 1.8 public key infrastructure
//! certificates, CR 1.9 strength of public key authentication, CR 4.3 use of cryptography).
//!
//! On first start [`Pki::open_or_init`] creates, inside the data directory:
//!
//! ```text
//! DATA/pki/ca.crt                  local CA certificate (ECDSA P-256), the clients' trust anchor
//! DATA/pki/ca.key                  its private key (PKCS#8 PEM, 0600)
//! DATA/pki/ca.crl                  the CA's CRL, signed, empty until a certificate is revoked
//! DATA/pki/server.crt              the Modbus/TCP Security listener's certificate
//!                                  (SAN 127.0.0.1 and localhost)
//! DATA/pki/server.key              its private key (0600)
//! DATA/pki/clients/<role>.crt      demo client certificates for operator, engineer and viewer,
//! DATA/pki/clients/<role>.key      carrying the Modbus/TCP Security role extension (0600 keys)
//! ```
//!
//! The layout is fixed so that scripts and documentation can rely on it. Every file is written
//! atomically ([`crate::write_atomic`]); keys are PKCS#8 PEM with mode 0600 and are never
//! replaced once written, except the server key when the server certificate is renewed.
//!
//! The role is the Modbus/TCP Security extension [`ROLE_EXTENSION_OID`] (1.3.6.1.4.1.50316.802.1),
//! a non-critical extension whose value is one DER `UTF8String`. A certificate without it
//! carries the NULL role.
//!
//! # Security
//! - Keys are ECDSA P-256 from the *aws-lc-rs* random source; serial numbers are 128 random bits.
//! - Initialisation is idempotent: a crash half-way is completed by the next start, and an
//!   existing CA is never regenerated (a CA certificate without its key is an error when
//!   something must be issued, not a reason to make a new CA the clients do not trust).
//! - Revocation re-signs `ca.crl` with a higher CRL number; a running listener sees it once its
//!   TLS configuration is rebuilt.
//! - Two processes issuing or revoking at the same moment can lose one CRL update; issue and
//!   revoke from one place at a time.

use std::fs;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use rcgen::{
    BasicConstraints, CertificateParams, CertificateRevocationListParams, CustomExtension, DnType,
    ExtendedKeyUsagePurpose, IsCa, Issuer, KeyIdMethod, KeyPair, KeyUsagePurpose, RevocationReason,
    RevokedCertParams, SerialNumber,
};
use rustls::pki_types::pem::PemObject as _;
use rustls::pki_types::{CertificateDer, CertificateRevocationListDer};
use time::OffsetDateTime;
use x509_parser::prelude::{FromDer as _, X509Certificate};
use x509_parser::revocation_list::CertificateRevocationList;
use zeroize::Zeroizing;

use crate::{DataDir, VaultError};

/// The OID of the Modbus/TCP Security role extension, as arcs.
pub const ROLE_EXTENSION_OID: &[u64] = &[1, 3, 6, 1, 4, 1, 50316, 802, 1];

/// The roles that get a demo client certificate on first start: the roles of the default
/// conduit policy.
pub const DEMO_ROLES: [&str; 3] = ["operator", "engineer", "viewer"];

/// The subject alternative names of the server certificate made on first start.
pub const DEFAULT_SERVER_NAMES: [&str; 2] = ["127.0.0.1", "localhost"];

/// The longest client or role name accepted, in bytes.
pub const MAX_NAME_LEN: usize = 64;

/// How long the local CA is valid.
const CA_VALIDITY: Duration = Duration::from_hours(10 * 365 * 24);
/// How long a server certificate is valid.
const SERVER_VALIDITY: Duration = Duration::from_hours(825 * 24);
/// How long a client certificate is valid unless the caller says otherwise.
pub const CLIENT_VALIDITY: Duration = Duration::from_hours(365 * 24);
/// The server certificate is renewed at start when it expires within this time.
const SERVER_RENEW_BEFORE: Duration = Duration::from_hours(30 * 24);
/// The `nextUpdate` of a CRL, from its `thisUpdate`.
const CRL_VALIDITY: Duration = Duration::from_hours(365 * 24);
/// Certificates are valid from this long before issue, to tolerate small clock differences.
const BACKDATE: Duration = Duration::from_hours(1);

/// Errors of the PKI.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PkiError {
    /// A file or the data directory failed.
    #[error(transparent)]
    Vault(#[from] VaultError),
    /// A certificate, key or CRL file cannot be read as one.
    #[error("{path}: {reason}")]
    BadFile {
        /// The file.
        path: PathBuf,
        /// What is wrong with it.
        reason: String,
    },
    /// Generating or signing failed.
    #[error("cannot generate {what}: {reason}")]
    Generate {
        /// What was being made.
        what: String,
        /// The cause.
        reason: String,
    },
    /// A client or role name that cannot be used.
    #[error("{kind} name {value:?} is not valid: {problem}")]
    BadName {
        /// `client` or `role`.
        kind: &'static str,
        /// The name given.
        value: String,
        /// The rule it breaks.
        problem: String,
    },
    /// A validity period that ends before it starts.
    #[error("the validity period ends ({not_after:?}) before it starts ({not_before:?})")]
    Validity {
        /// Start.
        not_before: SystemTime,
        /// End.
        not_after: SystemTime,
    },
    /// A certificate this CA did not issue.
    #[error("{what} was not issued by this CA ({ca_subject}); its issuer is {issuer}")]
    ForeignCertificate {
        /// The certificate, as given.
        what: String,
        /// Its issuer.
        issuer: String,
        /// The CA's subject.
        ca_subject: String,
    },
    /// The CA certificate exists but its key does not, so nothing can be issued.
    #[error(
        "{cert} exists but its key {key} does not: cannot issue or revoke; restore the key \
         or move the pki directory away to start a new CA"
    )]
    MissingCaKey {
        /// The CA certificate.
        cert: PathBuf,
        /// The missing key.
        key: PathBuf,
    },
}

/// What [`Pki::open_or_init`] made.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct InitReport {
    /// Files created, in order.
    pub created: Vec<PathBuf>,
    /// Whether the server certificate was renewed because it expired or was about to.
    pub renewed_server: bool,
    /// Where the server key was moved to (a new key and certificate), when the configuration
    /// asked for another [`ServerKeyStore`] than the directory held.
    pub server_key_moved_to: Option<ServerKeyStore>,
}

/// Where the TLS server key lives (`[vault] tls_key`): a [`KeyStore`].
pub use crate::KeyStore as ServerKeyStore;

impl InitReport {
    /// Whether nothing was created or renewed.
    pub fn is_empty(&self) -> bool {
        self.created.is_empty() && !self.renewed_server
    }
}

/// What to put in a client certificate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientSpec {
    name: String,
    roles: Vec<String>,
    not_before: Option<SystemTime>,
    not_after: Option<SystemTime>,
}

impl ClientSpec {
    /// A client certificate named `name` (its common name and file name) with the NULL role,
    /// valid for [`CLIENT_VALIDITY`] from now.
    pub fn new(name: impl Into<String>) -> ClientSpec {
        ClientSpec {
            name: name.into(),
            roles: Vec::new(),
            not_before: None,
            not_after: None,
        }
    }

    /// Carries `role` in the role extension (replacing any role set before).
    #[must_use]
    pub fn role(mut self, role: impl Into<String>) -> ClientSpec {
        self.roles = vec![role.into()];
        self
    }

    /// Valid from `not_before` to `not_after` instead of the default period.
    #[must_use]
    pub fn validity(mut self, not_before: SystemTime, not_after: SystemTime) -> ClientSpec {
        self.not_before = Some(not_before);
        self.not_after = Some(not_after);
        self
    }

    /// Adds a further role extension.
    ///
    /// # Security
    /// Modbus/TCP Security allows at most one role per certificate, and a conforming server
    /// refuses a certificate with more. This exists to test that refusal; never issue such a
    /// certificate to a real client.
    #[must_use]
    pub fn danger_extra_role(mut self, role: impl Into<String>) -> ClientSpec {
        self.roles.push(role.into());
        self
    }

    /// The client name.
    pub fn name(&self) -> &str {
        &self.name
    }
}

/// A client certificate just issued.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IssuedClient {
    /// The client name.
    pub name: String,
    /// The roles carried (empty: the NULL role).
    pub roles: Vec<String>,
    /// The serial number, lower-case hex.
    pub serial_hex: String,
    /// `DATA/pki/clients/<name>.crt`.
    pub cert_path: PathBuf,
    /// `DATA/pki/clients/<name>.key`.
    pub key_path: PathBuf,
    /// End of the validity period.
    pub not_after: SystemTime,
}

/// A client certificate found in `DATA/pki/clients/`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientCertificate {
    /// The client name (the file's stem).
    pub name: String,
    /// The certificate, DER (its role extension is read by the caller).
    pub der: CertificateDer<'static>,
    /// The serial number, lower-case hex.
    pub serial_hex: String,
    /// End of the validity period.
    pub not_after: SystemTime,
    /// Whether the CRL lists it.
    pub revoked: bool,
}

/// A revocation just recorded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Revocation {
    /// The serial number revoked, lower-case hex.
    pub serial_hex: String,
    /// The subject of the revoked certificate.
    pub subject: String,
    /// Whether it was already on the CRL (then the CRL is unchanged).
    pub already_revoked: bool,
    /// The CRL number of the CRL now in force.
    pub crl_number: u64,
}

/// The local PKI in `DATA/pki`.
#[derive(Debug, Clone)]
pub struct Pki {
    dir: PathBuf,
    /// Seals the CA and server keys; `None` for a directory of an earlier release opened
    /// before its first start with this release (then they are written plain, and sealed by
    /// the next start).
    kek: Option<std::sync::Arc<crate::at_rest::Kek>>,
    /// Where a new server key goes.
    server_key: ServerKeyStore,
}

impl Pki {
    /// Opens the PKI of `data`, creating whatever is missing: the CA, the CRL, the server
    /// certificate (also renewed when it expires within 30 days) and the demo client
    /// certificates of [`DEMO_ROLES`].
    ///
    /// # Errors
    /// [`PkiError`] for I/O, unreadable files, a CA certificate without its key when
    /// something must be issued, and signing failures.
    pub fn open_or_init(data: &DataDir) -> Result<(Pki, InitReport), PkiError> {
        Pki::open_or_init_with(data, ServerKeyStore::Recorded)
    }

    /// [`Pki::open_or_init`] with the server key kept where `server_key` says: a key held
    /// elsewhere is replaced by a new one there, with a new server certificate.
    ///
    /// # Errors
    /// As [`Pki::open_or_init`]; [`ServerKeyStore::Tpm`] without a TPM KEK.
    pub fn open_or_init_with(
        data: &DataDir,
        server_key: ServerKeyStore,
    ) -> Result<(Pki, InitReport), PkiError> {
        let dir = data.dir(crate::layout::Entry::Pki)?;
        data.dir(crate::layout::Entry::PkiClients)?;
        let pki = Pki {
            dir,
            kek: data.kek().cloned(),
            server_key,
        };
        let mut report = InitReport::default();
        let now = wall_clock();
        let mut ca = None;
        if !pki.ca_cert_path().exists() {
            pki.create_ca(now, &mut report)?;
        }
        if !pki.crl_path().exists() {
            let ca = pki.ca_loaded(&mut ca)?;
            pki.write_crl(ca, now, 1, Vec::new())?;
            report.created.push(pki.crl_path());
        }
        let server = pki.server_cert_path();
        let renew = match fs::read(&server) {
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
            Err(e) => return Err(VaultError::io(&server)(e).into()),
            Ok(_) => {
                let not_after = not_after_of(&read_cert(&server)?, &server)?;
                Some(not_after < now + SERVER_RENEW_BEFORE)
            }
        };
        let held = pki.server_key_held()?;
        let moved = match (server_key, held) {
            (ServerKeyStore::File | ServerKeyStore::Tpm, Some(held)) if held != server_key => {
                Some(server_key)
            }
            _ => None,
        };
        if renew != Some(false) || moved.is_some() {
            let ca = pki.ca_loaded(&mut ca)?;
            pki.write_server(ca, &DEFAULT_SERVER_NAMES, now)?;
            if moved.is_some() {
                report.server_key_moved_to = moved;
            } else if renew == Some(true) {
                report.renewed_server = true;
            } else {
                report.created.push(pki.server_key_path());
                report.created.push(server);
            }
        }
        for role in DEMO_ROLES {
            if !pki.client_cert_path(role)?.exists() {
                let ca = pki.ca_loaded(&mut ca)?;
                let issued = pki.write_client(ca, &ClientSpec::new(role).role(role), now)?;
                report.created.push(issued.key_path);
                report.created.push(issued.cert_path);
            }
        }
        Ok((pki, report))
    }

    /// Opens an existing PKI without creating anything.
    ///
    /// # Errors
    /// [`PkiError::BadFile`] when `DATA/pki/ca.crt` does not exist.
    pub fn open(data: &DataDir) -> Result<Pki, PkiError> {
        let pki = Pki {
            dir: data.root().join("pki"),
            kek: data.kek().cloned(),
            server_key: ServerKeyStore::Recorded,
        };
        if !pki.ca_cert_path().exists() {
            return Err(PkiError::BadFile {
                path: pki.ca_cert_path(),
                reason: "no CA certificate; start the gateway once to create the PKI".into(),
            });
        }
        Ok(pki)
    }

    /// `DATA/pki`.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// `DATA/pki/ca.crt`: the trust anchor clients verify the server with, and the server
    /// verifies clients with.
    pub fn ca_cert_path(&self) -> PathBuf {
        self.dir.join("ca.crt")
    }

    /// `DATA/pki/ca.key`.
    pub fn ca_key_path(&self) -> PathBuf {
        self.dir.join("ca.key")
    }

    /// `DATA/pki/ca.crl`.
    pub fn crl_path(&self) -> PathBuf {
        self.dir.join("ca.crl")
    }

    /// `DATA/pki/server.crt`.
    pub fn server_cert_path(&self) -> PathBuf {
        self.dir.join("server.crt")
    }

    /// `DATA/pki/server.key`.
    pub fn server_key_path(&self) -> PathBuf {
        self.dir.join("server.key")
    }

    /// `DATA/pki/clients/<name>.crt`.
    ///
    /// # Errors
    /// [`PkiError::BadName`] for a name that is not 1-64 letters, digits, `.`, `_` or `-`
    /// starting with a letter or digit (so it cannot leave the directory).
    pub fn client_cert_path(&self, name: &str) -> Result<PathBuf, PkiError> {
        check_name("client", name)?;
        Ok(self.dir.join("clients").join(format!("{name}.crt")))
    }

    /// `DATA/pki/clients/<name>.key`.
    ///
    /// # Errors
    /// As [`Pki::client_cert_path`].
    pub fn client_key_path(&self, name: &str) -> Result<PathBuf, PkiError> {
        check_name("client", name)?;
        Ok(self.dir.join("clients").join(format!("{name}.key")))
    }

    /// The CA certificate, DER.
    ///
    /// # Errors
    /// [`PkiError::BadFile`] when it cannot be read.
    pub fn ca_cert(&self) -> Result<CertificateDer<'static>, PkiError> {
        read_cert(&self.ca_cert_path())
    }

    /// The CRL, DER.
    ///
    /// # Errors
    /// [`PkiError::BadFile`] when it cannot be read.
    pub fn crl(&self) -> Result<CertificateRevocationListDer<'static>, PkiError> {
        let path = self.crl_path();
        CertificateRevocationListDer::from_pem_file(&path).map_err(|e| PkiError::BadFile {
            path,
            reason: format!("not a PEM CRL: {e}"),
        })
    }

    /// Issues a client certificate and its key as `DATA/pki/clients/<name>.{crt,key}`,
    /// replacing files of that name.
    ///
    /// # Errors
    /// [`PkiError::BadName`] for a bad client or role name, [`PkiError::Validity`], and the
    /// errors of loading the CA and writing files.
    pub fn issue_client(&self, spec: &ClientSpec) -> Result<IssuedClient, PkiError> {
        let ca = self.load_ca()?;
        self.write_client(&ca, spec, wall_clock())
    }

    /// Issues a new server certificate and key for the names given (IP addresses or DNS
    /// names), replacing `server.crt` and `server.key`.
    ///
    /// # Errors
    /// As [`Pki::issue_client`].
    pub fn issue_server(&self, names: &[&str]) -> Result<(), PkiError> {
        let ca = self.load_ca()?;
        self.write_server(&ca, names, wall_clock())
    }

    /// The CRL number of `DATA/pki/ca.crl` (0 when it carries none).
    ///
    /// # Errors
    /// [`PkiError::BadFile`] when the CRL cannot be read or parsed.
    pub fn crl_number(&self) -> Result<u64, PkiError> {
        self.read_crl().map(|(number, _)| number)
    }

    /// The client certificates in `DATA/pki/clients/`, by name, each with whether the CRL
    /// lists it.
    ///
    /// # Errors
    /// The errors of reading the directory, a certificate or the CRL.
    pub fn clients(&self) -> Result<Vec<ClientCertificate>, PkiError> {
        let (_, revoked) = self.read_crl()?;
        let dir = self.dir.join("clients");
        let entries = match fs::read_dir(&dir) {
            Ok(entries) => entries,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => {
                return Err(PkiError::BadFile {
                    path: dir,
                    reason: e.to_string(),
                });
            }
        };
        let mut clients = Vec::new();
        for entry in entries.flatten() {
            let path = entry.path();
            if path.extension().is_none_or(|e| e != "crt") {
                continue;
            }
            let Some(name) = path.file_stem().map(|s| s.to_string_lossy().into_owned()) else {
                continue;
            };
            let der = read_cert(&path)?;
            let (_, parsed) = X509Certificate::from_der(&der).map_err(|e| PkiError::BadFile {
                path: path.clone(),
                reason: format!("not an X.509 certificate: {e}"),
            })?;
            let serial = parsed.raw_serial().to_vec();
            let not_after = not_after_of(&der, &path)?;
            clients.push(ClientCertificate {
                name,
                serial_hex: hex::encode(&serial),
                not_after,
                revoked: revoked
                    .iter()
                    .any(|r| r.serial_number.as_ref() == serial.as_slice()),
                der,
            });
        }
        clients.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(clients)
    }

    /// Revokes the certificate in the PEM file `path` and re-signs the CRL.
    ///
    /// # Errors
    /// [`PkiError::BadFile`] for an unreadable certificate, [`PkiError::ForeignCertificate`]
    /// for one this CA did not sign, and the errors of signing and writing the CRL.
    pub fn revoke_file(&self, path: &Path) -> Result<Revocation, PkiError> {
        let cert = read_cert(path)?;
        self.revoke(&cert, &path.display().to_string())
    }

    /// Revokes `cert` (DER) and re-signs the CRL; `what` names it in errors.
    ///
    /// # Errors
    /// As [`Pki::revoke_file`].
    pub fn revoke(&self, cert: &CertificateDer<'_>, what: &str) -> Result<Revocation, PkiError> {
        let ca = self.load_ca()?;
        let ca_der = self.ca_cert()?;
        let (_, ca_parsed) = X509Certificate::from_der(&ca_der).map_err(|e| PkiError::BadFile {
            path: self.ca_cert_path(),
            reason: format!("not an X.509 certificate: {e}"),
        })?;
        let (_, parsed) = X509Certificate::from_der(cert).map_err(|e| PkiError::BadFile {
            path: PathBuf::from(what),
            reason: format!("not an X.509 certificate: {e}"),
        })?;
        let foreign = || PkiError::ForeignCertificate {
            what: what.to_owned(),
            issuer: parsed.issuer().to_string(),
            ca_subject: ca_parsed.subject().to_string(),
        };
        if parsed.issuer().as_raw() != ca_parsed.subject().as_raw() {
            return Err(foreign());
        }
        parsed
            .verify_signature(Some(ca_parsed.public_key()))
            .map_err(|_| foreign())?;
        let serial = parsed.raw_serial().to_vec();
        let subject = parsed.subject().to_string();
        let (number, mut revoked) = self.read_crl()?;
        let already_revoked = revoked.iter().any(|r| r.serial_number.as_ref() == serial);
        let crl_number = if already_revoked {
            number
        } else {
            let now = wall_clock();
            revoked.push(RevokedCertParams {
                serial_number: SerialNumber::from_slice(&serial),
                revocation_time: OffsetDateTime::from(now),
                reason_code: Some(RevocationReason::Unspecified),
                invalidity_date: None,
            });
            self.write_crl(&ca, now, number + 1, revoked)?;
            number + 1
        };
        Ok(Revocation {
            serial_hex: hex::encode(&serial),
            subject,
            already_revoked,
            crl_number,
        })
    }

    /// The serial numbers on the CRL, lower-case hex.
    ///
    /// # Errors
    /// [`PkiError::BadFile`] when the CRL cannot be read.
    pub fn revoked_serials(&self) -> Result<Vec<String>, PkiError> {
        let (_, revoked) = self.read_crl()?;
        Ok(revoked
            .iter()
            .map(|r| hex::encode(r.serial_number.as_ref()))
            .collect())
    }

    fn create_ca(&self, now: SystemTime, report: &mut InitReport) -> Result<(), PkiError> {
        let key_path = self.ca_key_path();
        let key = if key_path.exists() {
            // A crash after the key was written and before the certificate: finish the job.
            load_key(&key_path)?
        } else {
            let key = generate_key("the CA key")?;
            self.write_key(&key_path, "pki/ca.key", &key, true)?;
            report.created.push(key_path);
            key
        };
        let mut params = CertificateParams::default();
        params.distinguished_name = rcgen::DistinguishedName::new();
        params
            .distinguished_name
            .push(DnType::CommonName, "Rampart local CA");
        params.distinguished_name.push(
            DnType::OrganizationalUnitName,
            format!("CA {}", &hex::encode(random_serial()?)[..12]),
        );
        params
            .distinguished_name
            .push(DnType::OrganizationName, "Rampart");
        params.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
        params.key_usages = vec![
            KeyUsagePurpose::KeyCertSign,
            KeyUsagePurpose::CrlSign,
            KeyUsagePurpose::DigitalSignature,
        ];
        params.key_identifier_method = KeyIdMethod::Sha256;
        params.serial_number = Some(SerialNumber::from_slice(&random_serial()?));
        set_validity(&mut params, now - BACKDATE, now + CA_VALIDITY);
        let cert = params
            .self_signed(&key)
            .map_err(|e| generate_error("the CA certificate", &e))?;
        crate::write_atomic(&self.ca_cert_path(), cert.pem().as_bytes(), 0o644)?;
        report.created.push(self.ca_cert_path());
        Ok(())
    }

    fn ca_loaded<'c>(
        &self,
        slot: &'c mut Option<Issuer<'static, KeyPair>>,
    ) -> Result<&'c Issuer<'static, KeyPair>, PkiError> {
        if slot.is_none() {
            *slot = Some(self.load_ca()?);
        }
        // Filled just above.
        slot.as_ref().ok_or_else(|| PkiError::Generate {
            what: "the CA".into(),
            reason: "not loaded".into(),
        })
    }

    fn load_ca(&self) -> Result<Issuer<'static, KeyPair>, PkiError> {
        let key_path = self.ca_key_path();
        if !key_path.exists() {
            return Err(PkiError::MissingCaKey {
                cert: self.ca_cert_path(),
                key: key_path,
            });
        }
        let key = load_key(&key_path)?;
        let cert = self.ca_cert()?;
        Issuer::from_ca_cert_der(&cert, key).map_err(|e| PkiError::BadFile {
            path: self.ca_cert_path(),
            reason: format!("cannot use as an issuer: {e}"),
        })
    }

    fn write_server(
        &self,
        ca: &Issuer<'_, KeyPair>,
        names: &[&str],
        now: SystemTime,
    ) -> Result<(), PkiError> {
        let names: Vec<String> = names.iter().map(|n| (*n).to_owned()).collect();
        let mut params =
            CertificateParams::new(names).map_err(|e| generate_error("the server names", &e))?;
        params.distinguished_name = rcgen::DistinguishedName::new();
        params
            .distinguished_name
            .push(DnType::CommonName, "Rampart gateway");
        params
            .distinguished_name
            .push(DnType::OrganizationName, "Rampart");
        params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
        params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
        params.use_authority_key_identifier_extension = true;
        params.serial_number = Some(SerialNumber::from_slice(&random_serial()?));
        set_validity(&mut params, now - BACKDATE, now + SERVER_VALIDITY);
        let store = match self.server_key {
            ServerKeyStore::Recorded => self.server_key_held()?.unwrap_or(ServerKeyStore::File),
            chosen => chosen,
        };
        // Key first: a crash in between leaves a new key with the old certificate, which the
        // next start detects as a mismatch only at the handshake; renewing again fixes it.
        let cert = if store == ServerKeyStore::Tpm {
            let (public, file_text) = self.tpm_server_key()?;
            let cert = params
                .signed_by(&public, ca)
                .map_err(|e| generate_error("the server certificate", &e))?;
            let kek = self.kek.as_ref().ok_or_else(|| PkiError::BadFile {
                path: self.server_key_path(),
                reason: "a TPM-held key needs the data directory's KEK".into(),
            })?;
            crate::at_rest::write_secret(
                kek,
                &self.server_key_path(),
                "pki/server.key",
                file_text.as_bytes(),
                false,
            )?;
            cert
        } else {
            let key = generate_key("the server key")?;
            let cert = params
                .signed_by(&key, ca)
                .map_err(|e| generate_error("the server certificate", &e))?;
            self.write_key(&self.server_key_path(), "pki/server.key", &key, false)?;
            cert
        };
        crate::write_atomic(&self.server_cert_path(), cert.pem().as_bytes(), 0o644)?;
        Ok(())
    }

    /// Where the current server key is held; `None` when there is none.
    ///
    /// # Errors
    /// [`PkiError`] for an unreadable key file.
    pub fn server_key_held(&self) -> Result<Option<ServerKeyStore>, PkiError> {
        let path = self.server_key_path();
        if !path.exists() {
            return Ok(None);
        }
        let contents = crate::at_rest::read_secret(&path)?;
        Ok(Some(if crate::tpm::is_tpm_key(&contents) {
            ServerKeyStore::Tpm
        } else {
            ServerKeyStore::File
        }))
    }

    /// A new server key in the TPM of this process's KEK: its public key and its file.
    #[cfg(feature = "tpm")]
    fn tpm_server_key(
        &self,
    ) -> Result<(rcgen::SubjectPublicKeyInfo, zeroize::Zeroizing<String>), PkiError> {
        let no_tpm = || PkiError::BadFile {
            path: self.server_key_path(),
            reason: "tls_key = \"tpm\" needs kek_provider = \"tpm\": the key is made under \
                     the KEK's parent key in the same TPM"
                .into(),
        };
        if self.kek.as_ref().map(|k| k.kind()) != Some(crate::at_rest::ProviderKind::Tpm) {
            return Err(no_tpm());
        }
        let root = self.dir.parent().unwrap_or(&self.dir);
        let settings =
            crate::tpm::settings_of(&root.join(crate::layout::Entry::Tpm.relative_path()))?;
        let file = crate::tpm::server_key::create(&settings)?;
        let public = rcgen::SubjectPublicKeyInfo::from_der(&file.spki_der())
            .map_err(|e| generate_error("the TPM key's public key", &e))?;
        Ok((public, file.to_text()))
    }

    #[cfg(not(feature = "tpm"))]
    fn tpm_server_key(
        &self,
    ) -> Result<(rcgen::SubjectPublicKeyInfo, zeroize::Zeroizing<String>), PkiError> {
        Err(PkiError::BadFile {
            path: self.server_key_path(),
            reason: "tls_key = \"tpm\": this binary was built without TPM support (cargo \
                     feature `tpm`)"
                .into(),
        })
    }

    fn write_client(
        &self,
        ca: &Issuer<'_, KeyPair>,
        spec: &ClientSpec,
        now: SystemTime,
    ) -> Result<IssuedClient, PkiError> {
        let cert_path = self.client_cert_path(&spec.name)?;
        let key_path = self.client_key_path(&spec.name)?;
        for role in &spec.roles {
            check_name("role", role)?;
        }
        let not_before = spec.not_before.unwrap_or(now - BACKDATE);
        let not_after = spec.not_after.unwrap_or(now + CLIENT_VALIDITY);
        if not_after <= not_before {
            return Err(PkiError::Validity {
                not_before,
                not_after,
            });
        }
        let mut params = CertificateParams::default();
        params.distinguished_name = rcgen::DistinguishedName::new();
        params
            .distinguished_name
            .push(DnType::CommonName, spec.name.as_str());
        params
            .distinguished_name
            .push(DnType::OrganizationName, "Rampart");
        params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
        params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
        params.use_authority_key_identifier_extension = true;
        let serial = random_serial()?;
        params.serial_number = Some(SerialNumber::from_slice(&serial));
        set_validity(&mut params, not_before, not_after);
        for role in &spec.roles {
            params
                .custom_extensions
                .push(CustomExtension::from_oid_content(
                    ROLE_EXTENSION_OID,
                    utf8_string(role),
                ));
        }
        let key = generate_key("a client key")?;
        let cert = params
            .signed_by(&key, ca)
            .map_err(|e| generate_error("the client certificate", &e))?;
        crate::write_atomic(
            &key_path,
            Zeroizing::new(key.serialize_pem()).as_bytes(),
            0o600,
        )?;
        crate::write_atomic(&cert_path, cert.pem().as_bytes(), 0o644)?;
        Ok(IssuedClient {
            name: spec.name.clone(),
            roles: spec.roles.clone(),
            serial_hex: hex::encode(serial),
            cert_path,
            key_path,
            not_after,
        })
    }

    /// Writes a private key of the component (CA, server) sealed under the KEK.
    fn write_key(
        &self,
        path: &Path,
        name: &str,
        key: &KeyPair,
        new_only: bool,
    ) -> Result<(), PkiError> {
        let pem = Zeroizing::new(key.serialize_pem());
        match &self.kek {
            Some(kek) => {
                crate::at_rest::write_secret(kek, path, name, pem.as_bytes(), new_only)?;
            }
            // A directory of an earlier release, sealed by its next start.
            None if new_only => crate::write_new_atomic(path, pem.as_bytes(), 0o600)?,
            None => crate::write_atomic(path, pem.as_bytes(), 0o600)?,
        }
        Ok(())
    }

    /// The CRL number and revoked entries of the current CRL.
    fn read_crl(&self) -> Result<(u64, Vec<RevokedCertParams>), PkiError> {
        let path = self.crl_path();
        let der = self.crl()?;
        let bad = |reason: String| PkiError::BadFile {
            path: path.clone(),
            reason,
        };
        let (_, crl) = CertificateRevocationList::from_der(&der)
            .map_err(|e| bad(format!("not an X.509 CRL: {e}")))?;
        let number = match crl.crl_number() {
            None => 0,
            Some(n) => {
                let bytes = n.to_bytes_be();
                if bytes.len() > 8 {
                    return Err(bad(format!("CRL number {n} is too large")));
                }
                bytes.iter().fold(0u64, |acc, b| (acc << 8) | u64::from(*b))
            }
        };
        let revoked = crl
            .iter_revoked_certificates()
            .map(|r| {
                let time = OffsetDateTime::from_unix_timestamp(r.revocation_date.timestamp())
                    .map_err(|e| bad(format!("revocation date out of range: {e}")))?;
                Ok(RevokedCertParams {
                    serial_number: SerialNumber::from_slice(r.raw_serial()),
                    revocation_time: time,
                    reason_code: Some(RevocationReason::Unspecified),
                    invalidity_date: None,
                })
            })
            .collect::<Result<Vec<_>, PkiError>>()?;
        Ok((number, revoked))
    }

    fn write_crl(
        &self,
        ca: &Issuer<'_, KeyPair>,
        now: SystemTime,
        number: u64,
        revoked: Vec<RevokedCertParams>,
    ) -> Result<(), PkiError> {
        let params = CertificateRevocationListParams {
            this_update: OffsetDateTime::from(now - BACKDATE),
            next_update: OffsetDateTime::from(now + CRL_VALIDITY),
            crl_number: SerialNumber::from_slice(&number.to_be_bytes()),
            issuing_distribution_point: None,
            revoked_certs: revoked,
            key_identifier_method: KeyIdMethod::Sha256,
        };
        let crl = params
            .signed_by(ca)
            .map_err(|e| generate_error("the CRL", &e))?;
        let pem = crl.pem().map_err(|e| generate_error("the CRL", &e))?;
        crate::write_atomic(&self.crl_path(), pem.as_bytes(), 0o644)?;
        Ok(())
    }
}

/// Checks a client or role name: 1-64 ASCII letters, digits, `.`, `_` or `-`, starting with
/// a letter or digit.
fn check_name(kind: &'static str, value: &str) -> Result<(), PkiError> {
    let bad = |problem: &str| PkiError::BadName {
        kind,
        value: value.to_owned(),
        problem: problem.to_owned(),
    };
    if value.is_empty() || value.len() > MAX_NAME_LEN {
        return Err(bad("it must be 1 to 64 bytes long"));
    }
    if !value.starts_with(|c: char| c.is_ascii_alphanumeric()) {
        return Err(bad("it must start with a letter or a digit"));
    }
    if !value
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))
    {
        return Err(bad("allowed are ASCII letters, digits, '.', '_' and '-'"));
    }
    Ok(())
}

/// The DER encoding of `text` as an ASN.1 `UTF8String`.
fn utf8_string(text: &str) -> Vec<u8> {
    let bytes = text.as_bytes();
    let mut out = vec![0x0c];
    let len = bytes.len();
    if len < 0x80 {
        // Short form: the length fits in 7 bits.
        out.push(u8::try_from(len).unwrap_or(0x7f));
    } else {
        let len_bytes: Vec<u8> = len
            .to_be_bytes()
            .into_iter()
            .skip_while(|b| *b == 0)
            .collect();
        out.push(0x80 | u8::try_from(len_bytes.len()).unwrap_or(0));
        out.extend_from_slice(&len_bytes);
    }
    out.extend_from_slice(bytes);
    out
}

/// 16 random bytes with the top bit clear: a positive 128-bit serial number.
fn random_serial() -> Result<[u8; 16], PkiError> {
    let mut serial = [0u8; 16];
    crate::random_bytes(&mut serial)?;
    serial[0] &= 0x7f;
    // A leading zero byte would be dropped by the DER encoding; keep 16 significant bytes.
    serial[0] |= 0x01;
    Ok(serial)
}

fn generate_key(what: &str) -> Result<KeyPair, PkiError> {
    KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).map_err(|e| generate_error(what, &e))
}

fn generate_error(what: &str, error: &rcgen::Error) -> PkiError {
    PkiError::Generate {
        what: what.to_owned(),
        reason: error.to_string(),
    }
}

fn set_validity(params: &mut CertificateParams, not_before: SystemTime, not_after: SystemTime) {
    params.not_before = OffsetDateTime::from(not_before);
    params.not_after = OffsetDateTime::from(not_after);
}

fn load_key(path: &Path) -> Result<KeyPair, PkiError> {
    let pem = crate::at_rest::read_secret(path)?;
    let pem = std::str::from_utf8(&pem).map_err(|_| PkiError::BadFile {
        path: path.to_owned(),
        reason: "not PEM text".into(),
    })?;
    KeyPair::from_pem(pem).map_err(|e| PkiError::BadFile {
        path: path.to_owned(),
        reason: format!("not a PKCS#8 PEM private key: {e}"),
    })
}

fn read_cert(path: &Path) -> Result<CertificateDer<'static>, PkiError> {
    CertificateDer::from_pem_file(path).map_err(|e| PkiError::BadFile {
        path: path.to_owned(),
        reason: format!("not a PEM certificate: {e}"),
    })
}

fn not_after_of(cert: &CertificateDer<'_>, path: &Path) -> Result<SystemTime, PkiError> {
    let (_, parsed) = X509Certificate::from_der(cert).map_err(|e| PkiError::BadFile {
        path: path.to_owned(),
        reason: format!("not an X.509 certificate: {e}"),
    })?;
    let seconds = parsed.validity().not_after.timestamp();
    Ok(match u64::try_from(seconds) {
        Ok(s) => SystemTime::UNIX_EPOCH + Duration::from_secs(s),
        Err(_) => SystemTime::UNIX_EPOCH,
    })
}

/// The time certificates and CRLs are issued at, from the one clock.
fn wall_clock() -> SystemTime {
    use rampart_clock::Clock as _;
    rampart_clock::SystemClock::new().read().at.to_system_time()
}

#[cfg(test)]
mod tests;
