//! The TLS policy of Modbus/TCP Security (CR 4.3 use of cryptography, CR 1.2 and CR 1.8
//! mutual authentication with X.509 certificates).
//!
//! This module is the one place the workspace chooses a TLS crypto backend: [`provider`] is
//! *aws-lc-rs*, restricted to what the Modbus/TCP Security Protocol Specification v36 (2021) allows:
//!
//! - TLS 1.3 with `TLS13_AES_256_GCM_SHA384` and `TLS13_AES_128_GCM_SHA256`;
//! - TLS 1.2 with ECDHE and AES-GCM only: `TLS_ECDHE_ECDSA_WITH_AES_{256,128}_GCM_SHA{384,256}`
//!   and `TLS_ECDHE_RSA_WITH_AES_{256,128}_GCM_SHA{384,256}`;
//! - key exchange groups X25519, P-256 and P-384.
//!
//! The RSA key exchange and CBC suites that v21 (2018) mandated are not offered (rustls does
//! not implement them, rightly); neither is ChaCha20-Poly1305, which v36 does not list. TLS
//! 1.1 and older are never negotiated.
//!
//! [`server_config`] builds the listener's configuration with mandatory client
//! authentication: the client chain must lead to one of the configured trust anchors, be
//! within its validity period, and not be revoked by the configured CRLs. A client that sends
//! no certificate, an expired or revoked one, or one from another CA fails the handshake with
//! a fatal alert. [`client_config`] is the matching client side, for tests, probes and the
//! benchmark load generator.
//!
//! # Security
//! Private keys are read only here and in [`crate::pki`]: key files must be mode 0600 or
//! stricter, and their bytes go straight into rustls.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use rustls::crypto::CryptoProvider;
use rustls::crypto::aws_lc_rs as backend;
use rustls::pki_types::pem::PemObject as _;
use rustls::pki_types::{CertificateDer, CertificateRevocationListDer, PrivateKeyDer};
use rustls::server::WebPkiClientVerifier;
use rustls::{ClientConfig, RootCertStore, ServerConfig, SupportedProtocolVersion};

use crate::VaultError;
use crate::pki::Pki;

/// The protocol versions offered: TLS 1.3, then TLS 1.2. Never older.
pub static PROTOCOL_VERSIONS: &[&SupportedProtocolVersion] =
    &[&rustls::version::TLS13, &rustls::version::TLS12];

/// Errors of building a TLS configuration.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TlsError {
    /// A key file failed the permission check or could not be read.
    #[error(transparent)]
    Vault(#[from] VaultError),
    /// A certificate, key or CRL file cannot be used.
    #[error("{path}: {reason}")]
    File {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// rustls refused the configuration (for example a key that does not match the
    /// certificate, or a CRL it cannot parse).
    #[error("TLS configuration: {0}")]
    Config(String),
}

/// The crypto provider of every Rampart TLS endpoint: *aws-lc-rs*, restricted to the Modbus/TCP
/// Security v36 cipher suites and to the X25519, P-256 and P-384 groups.
pub fn provider() -> CryptoProvider {
    use backend::cipher_suite as cs;
    use backend::kx_group as kx;
    CryptoProvider {
        cipher_suites: vec![
            cs::TLS13_AES_256_GCM_SHA384,
            cs::TLS13_AES_128_GCM_SHA256,
            cs::TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,
            cs::TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
            cs::TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,
            cs::TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,
        ],
        kx_groups: vec![kx::X25519, kx::SECP256R1, kx::SECP384R1],
        ..backend::default_provider()
    }
}

/// A one-line description of the TLS policy, for start-up output and the crypto inventory.
pub fn describe() -> String {
    let provider = provider();
    let suites: Vec<String> = provider
        .cipher_suites
        .iter()
        .map(|s| format!("{:?}", s.suite()))
        .collect();
    let groups: Vec<String> = provider
        .kx_groups
        .iter()
        .map(|g| format!("{:?}", g.name()))
        .collect();
    format!(
        "TLS 1.3 and 1.2; suites {}; groups {}",
        suites.join(", "),
        groups.join(", ")
    )
}

/// Where the listener's TLS material comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerSources {
    /// The server certificate chain, PEM (leaf first).
    pub cert_chain: PathBuf,
    /// The server private key, PKCS#8 (or SEC1/PKCS#1) PEM, mode 0600.
    pub key: PathBuf,
    /// Trust anchors for client certificates, PEM (each file may hold several).
    pub trust_anchors: Vec<PathBuf>,
    /// CRLs, PEM. With none, revocation is not checked.
    pub crls: Vec<PathBuf>,
}

impl ServerSources {
    /// The local PKI's server certificate, key, CA and CRL.
    pub fn from_pki(pki: &Pki) -> ServerSources {
        ServerSources {
            cert_chain: pki.server_cert_path(),
            key: pki.server_key_path(),
            trust_anchors: vec![pki.ca_cert_path()],
            crls: vec![pki.crl_path()],
        }
    }
}

/// The listener's TLS configuration: TLS 1.2/1.3 with [`provider`], the server certificate,
/// and mandatory client authentication against the trust anchors and CRLs of `sources`.
///
/// # Errors
/// [`TlsError`] for unreadable or unusable files, a key readable by others, no trust anchor,
/// or a key that does not match the certificate.
///
/// # Security
/// Unauthenticated clients are never allowed; revocation is checked for the whole chain and
/// an unknown revocation status (a CRL that does not cover the chain) fails the handshake.
pub fn server_config(sources: &ServerSources) -> Result<Arc<ServerConfig>, TlsError> {
    let provider = Arc::new(provider());
    let mut roots = RootCertStore::empty();
    for path in &sources.trust_anchors {
        for cert in read_certs(path)? {
            roots.add(cert).map_err(|e| TlsError::File {
                path: path.clone(),
                reason: format!("not a usable trust anchor: {e}"),
            })?;
        }
    }
    let mut crls = Vec::new();
    for path in &sources.crls {
        for crl in
            CertificateRevocationListDer::pem_file_iter(path).map_err(|e| file_error(path, &e))?
        {
            crls.push(crl.map_err(|e| file_error(path, &e))?);
        }
    }
    let verifier = WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider.clone())
        .with_crls(crls)
        .build()
        .map_err(|e| TlsError::Config(format!("client certificate verifier: {e}")))?;
    let certified = certified_key(&sources.cert_chain, &sources.key, &provider)?;
    let mut config = ServerConfig::builder_with_provider(provider)
        .with_protocol_versions(PROTOCOL_VERSIONS)
        .map_err(|e| TlsError::Config(e.to_string()))?
        .with_client_cert_verifier(verifier)
        .with_cert_resolver(certified);
    without_resumption(&mut config);
    Ok(Arc::new(config))
}

/// The management plane's TLS configuration (HTTPS): TLS 1.2/1.3 with [`provider`], the
/// server certificate of `cert_chain`/`key`, no client certificate (people log in with
/// passwords and TOTP, programs with API tokens), ALPN `http/1.1` only.
///
/// # Errors
/// As [`server_config`].
pub fn web_server_config(cert_chain: &Path, key: &Path) -> Result<Arc<ServerConfig>, TlsError> {
    let provider = Arc::new(provider());
    let certified = certified_key(cert_chain, key, &provider)?;
    let mut config = ServerConfig::builder_with_provider(provider)
        .with_protocol_versions(PROTOCOL_VERSIONS)
        .map_err(|e| TlsError::Config(e.to_string()))?
        .with_no_client_auth()
        .with_cert_resolver(certified);
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    without_resumption(&mut config);
    Ok(Arc::new(config))
}

/// Turns session resumption off: no session cache, no TLS 1.3 tickets (stateless tickets
/// are off unless a ticketer is set, and none is).
///
/// Every handshake is a full one, so (1) a session that ended with a fatal alert can never
/// be resumed, as Modbus/TCP Security requires — rustls' cache cannot forget a session when
/// its connection fails, and a probe found both listeners resuming such sessions; (2) every
/// connection's client certificate is verified against the CRLs of the moment, so a
/// certificate revoked since cannot come back through a resumed session. The cost is one
/// ECDHE and one signature per connection: Modbus sessions are long-lived, and the
/// management plane's browsers reuse their connections.
fn without_resumption(config: &mut ServerConfig) {
    config.session_storage = Arc::new(rustls::server::NoServerSessionStorage {});
    config.send_tls13_tickets = 0;
}

/// A client configuration that trusts the CA certificates in `ca` and, when `identity` is
/// `(certificate chain, key)`, authenticates with that certificate.
///
/// # Errors
/// As [`server_config`].
pub fn client_config(
    ca: &Path,
    identity: Option<(&Path, &Path)>,
) -> Result<Arc<ClientConfig>, TlsError> {
    client_config_with_versions(ca, identity, PROTOCOL_VERSIONS)
}

/// Like [`client_config`], offering only `versions` (for tests of each version).
///
/// # Errors
/// As [`server_config`].
pub fn client_config_with_versions(
    ca: &Path,
    identity: Option<(&Path, &Path)>,
    versions: &[&'static SupportedProtocolVersion],
) -> Result<Arc<ClientConfig>, TlsError> {
    let mut roots = RootCertStore::empty();
    for cert in read_certs(ca)? {
        roots.add(cert).map_err(|e| TlsError::File {
            path: ca.to_owned(),
            reason: format!("not a usable trust anchor: {e}"),
        })?;
    }
    let builder = ClientConfig::builder_with_provider(Arc::new(provider()))
        .with_protocol_versions(versions)
        .map_err(|e| TlsError::Config(e.to_string()))?
        .with_root_certificates(roots);
    let config = match identity {
        None => builder.with_no_client_auth(),
        Some((cert, key)) => builder
            .with_client_auth_cert(read_certs(cert)?, read_key(key)?)
            .map_err(|e| TlsError::Config(format!("client certificate and key: {e}")))?,
    };
    Ok(Arc::new(config))
}

/// Every cipher suite the backend implements for `version` (TLS 1.2 or 1.3), strongest
/// first: what [`danger_inspecting_client_config`] can offer one at a time to learn which
/// suites a server accepts. Wider than [`provider`] on purpose (it adds ChaCha20-Poly1305):
/// an inspection must see what the server allows, not only what Rampart would.
pub fn inspectable_cipher_suites(
    version: &'static SupportedProtocolVersion,
) -> Vec<rustls::CipherSuite> {
    backend::default_provider()
        .cipher_suites
        .iter()
        .filter(|s| s.version() == version)
        .map(rustls::SupportedCipherSuite::suite)
        .collect()
}

/// A client configuration for *inspecting* a TLS server, not for talking to it: it offers
/// `versions` and, when given, only the cipher suites `suites` (else every suite of the
/// backend), ALPN `alpn`, no client certificate, and it accepts **any** server certificate
/// chain (the handshake signature is still checked with the backend, so the server proves it
/// holds the key of the certificate it sent). The caller reads the chain, the version and
/// the suite from the connection and judges them itself.
///
/// Used by the conformance probes (`rampart probe`), which must see a server whose
/// certificate nobody trusts yet. Never use it to exchange data that matters.
///
/// # Errors
/// [`TlsError::Config`] when `versions` or `suites` leave nothing to offer.
///
/// # Security
/// A connection made with it authenticates nobody: anyone on the path can stand in for the
/// server. Hence the name.
pub fn danger_inspecting_client_config(
    versions: &[&'static SupportedProtocolVersion],
    suites: Option<&[rustls::CipherSuite]>,
    alpn: &[&[u8]],
) -> Result<Arc<ClientConfig>, TlsError> {
    let mut inspection = backend::default_provider();
    if let Some(wanted) = suites {
        inspection
            .cipher_suites
            .retain(|s| wanted.contains(&s.suite()));
        if inspection.cipher_suites.is_empty() {
            return Err(TlsError::Config(format!(
                "none of the cipher suites {wanted:?} is implemented"
            )));
        }
    }
    inspecting_config(inspection, versions, alpn, None)
}

/// Like [`danger_inspecting_client_config`] (TLS 1.3 and 1.2, every suite of the backend,
/// any server certificate), authenticating with the client certificate chain `cert` and its
/// key `key` (mode 0600): for probes that test what a given role may do over Modbus/TCP
/// Security.
///
/// # Errors
/// As [`client_config`], for the certificate and key files.
///
/// # Security
/// The server is not authenticated: it learns the client certificate (public) and receives
/// a signature by the key over this handshake only. Use a certificate made for testing.
pub fn danger_inspecting_client_config_with_identity(
    cert: &Path,
    key: &Path,
) -> Result<Arc<ClientConfig>, TlsError> {
    let identity = (read_certs(cert)?, read_key(key)?);
    inspecting_config(
        backend::default_provider(),
        PROTOCOL_VERSIONS,
        &[],
        Some(identity),
    )
}

fn inspecting_config(
    provider: CryptoProvider,
    versions: &[&'static SupportedProtocolVersion],
    alpn: &[&[u8]],
    identity: Option<(Vec<CertificateDer<'static>>, PrivateKeyDer<'static>)>,
) -> Result<Arc<ClientConfig>, TlsError> {
    let provider = Arc::new(provider);
    let builder = ClientConfig::builder_with_provider(provider.clone())
        .with_protocol_versions(versions)
        .map_err(|e| TlsError::Config(e.to_string()))?
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(AcceptAnyServerCertificate(provider)));
    let mut config = match identity {
        None => builder.with_no_client_auth(),
        Some((chain, key)) => builder
            .with_client_auth_cert(chain, key)
            .map_err(|e| TlsError::Config(format!("client certificate and key: {e}")))?,
    };
    config.alpn_protocols = alpn.iter().map(|p| p.to_vec()).collect();
    config.resumption = rustls::client::Resumption::disabled();
    Ok(Arc::new(config))
}

/// The verifier of [`danger_inspecting_client_config`]: any chain is accepted, handshake
/// signatures are verified with the provider's algorithms.
#[derive(Debug)]
struct AcceptAnyServerCertificate(Arc<CryptoProvider>);

impl rustls::client::danger::ServerCertVerifier for AcceptAnyServerCertificate {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &rustls::pki_types::ServerName<'_>,
        _ocsp_response: &[u8],
        _now: rustls::pki_types::UnixTime,
    ) -> Result<rustls::client::danger::ServerCertVerified, rustls::Error> {
        Ok(rustls::client::danger::ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

fn read_certs(path: &Path) -> Result<Vec<CertificateDer<'static>>, TlsError> {
    let certs = CertificateDer::pem_file_iter(path)
        .map_err(|e| file_error(path, &e))?
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| file_error(path, &e))?;
    if certs.is_empty() {
        return Err(TlsError::File {
            path: path.to_owned(),
            reason: "holds no PEM certificate".into(),
        });
    }
    Ok(certs)
}

fn read_key(path: &Path) -> Result<PrivateKeyDer<'static>, TlsError> {
    match read_server_key(path)? {
        ServerKey::Pem(key) => Ok(key),
        ServerKey::Tpm(_) => Err(TlsError::File {
            path: path.to_owned(),
            reason: "a TPM-held key cannot sign as a client here".into(),
        }),
    }
}

/// A server's private key: PEM bytes, or a key that lives in the TPM.
enum ServerKey {
    Pem(PrivateKeyDer<'static>),
    #[cfg_attr(not(feature = "tpm"), allow(dead_code))]
    Tpm(Box<dyn rustls::sign::SigningKey>),
}

fn read_server_key(path: &Path) -> Result<ServerKey, TlsError> {
    // The one read of a key file: sealed (CA, server) or plain (issued to a client, or a key
    // the configuration names).
    let contents = crate::at_rest::read_secret(path)?;
    if crate::tpm::is_tpm_key(&contents) {
        return tpm_key(path, &contents);
    }
    PrivateKeyDer::from_pem_slice(&contents)
        .map(ServerKey::Pem)
        .map_err(|e| file_error(path, &e))
}

#[cfg(feature = "tpm")]
fn tpm_key(path: &Path, contents: &[u8]) -> Result<ServerKey, TlsError> {
    let file =
        crate::tpm::server_key::TpmKeyFile::parse(contents).map_err(|reason| TlsError::File {
            path: path.to_owned(),
            reason: format!("a TPM-held key: {reason}"),
        })?;
    Ok(ServerKey::Tpm(Box::new(
        crate::tpm::server_key::TpmSigningKey::new(file),
    )))
}

#[cfg(not(feature = "tpm"))]
fn tpm_key(path: &Path, _contents: &[u8]) -> Result<ServerKey, TlsError> {
    Err(TlsError::File {
        path: path.to_owned(),
        reason: "holds a key that lives in a TPM, and this binary was built without TPM \
                 support (cargo feature `tpm`)"
            .into(),
    })
}

/// The certificate chain of `cert_chain` with the key of `key` (PEM, or held by the TPM),
/// checked to belong together.
fn certified_key(
    cert_chain: &Path,
    key: &Path,
    provider: &CryptoProvider,
) -> Result<Arc<rustls::sign::SingleCertAndKey>, TlsError> {
    let chain = read_certs(cert_chain)?;
    let mismatch = |e: rustls::Error| TlsError::Config(format!("server certificate and key: {e}"));
    let certified = match read_server_key(key)? {
        ServerKey::Pem(der) => {
            rustls::sign::CertifiedKey::from_der(chain, der, provider).map_err(mismatch)?
        }
        ServerKey::Tpm(signing) => {
            let certified = rustls::sign::CertifiedKey::new(chain, Arc::from(signing));
            certified.keys_match().map_err(mismatch)?;
            certified
        }
    };
    Ok(Arc::new(rustls::sign::SingleCertAndKey::from(certified)))
}

fn file_error(path: &Path, error: &rustls::pki_types::pem::Error) -> TlsError {
    TlsError::File {
        path: path.to_owned(),
        reason: error.to_string(),
    }
}

#[cfg(test)]
mod tests;
