//! X.509 certificates as identities of software processes and devices (CR 1.2, 1.8, 1.9), and
//! the Modbus/TCP Security role extension.
//!
//! Chain building, signature checks and revocation belong to the TLS layer (rustls-webpki with
//! the configured trust anchors and CRLs); this module reads what a validated certificate says
//! about *who* and *which role*, and offers a validity-period and key-usage check.

use std::fmt::Write as _;

use jiff::Timestamp;
use rampart_vault::crypto::sha256;
use x509_parser::asn1_rs::FromDer as _;
use x509_parser::prelude::X509Certificate;

use crate::error::CertificateError;
use crate::names::RoleName;

/// The OID of the Modbus/TCP Security role extension: an ASN.1 `UTF8String` naming the role.
pub const ROLE_EXTENSION_OID: &str = "1.3.6.1.4.1.50316.802.1";

/// The largest certificate accepted, in bytes: bounded input.
pub const MAX_CERTIFICATE_BYTES: usize = 64 * 1024;

/// What a certificate says about its holder: fingerprint, subject, role and validity.
///
/// Built only by [`CertificateIdentity::from_der`], so a value always comes from a
/// well-formed certificate with at most one role.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CertificateIdentity {
    fingerprint: [u8; 32],
    subject: String,
    role: Option<RoleName>,
    not_before: Timestamp,
    not_after: Timestamp,
    usage_problem: Option<String>,
}

impl CertificateIdentity {
    /// Parses a DER-encoded X.509 certificate.
    ///
    /// The role comes from the Modbus/TCP Security extension ([`ROLE_EXTENSION_OID`]): none
    /// gives the NULL role (`None`), which authorises nothing; exactly one gives that role;
    /// more than one is an error.
    ///
    /// # Errors
    /// [`CertificateError::Malformed`] for anything that is not one DER certificate of at most
    /// 64 KiB; [`CertificateError::MultipleRoles`] and [`CertificateError::MalformedRole`]
    /// for a bad role extension.
    pub fn from_der(der: &[u8]) -> Result<Self, CertificateError> {
        if der.len() > MAX_CERTIFICATE_BYTES {
            return Err(CertificateError::Malformed(format!(
                "{} bytes; the limit is {MAX_CERTIFICATE_BYTES}",
                der.len()
            )));
        }
        let (rest, cert) = X509Certificate::from_der(der)
            .map_err(|e| CertificateError::Malformed(e.to_string()))?;
        if !rest.is_empty() {
            return Err(CertificateError::Malformed(format!(
                "{} bytes after the certificate",
                rest.len()
            )));
        }
        let role = role_of(&cert)?;
        let to_ts = |t: &x509_parser::time::ASN1Time| {
            Timestamp::from_second(t.timestamp())
                .map_err(|e| CertificateError::Malformed(format!("validity out of range: {e}")))
        };
        let validity = cert.validity();
        Ok(Self {
            fingerprint: sha256(der),
            subject: cert.subject().to_string(),
            role,
            not_before: to_ts(&validity.not_before)?,
            not_after: to_ts(&validity.not_after)?,
            usage_problem: client_usage_problem(&cert),
        })
    }

    /// The SHA-256 fingerprint of the DER encoding.
    pub fn fingerprint(&self) -> &[u8; 32] {
        &self.fingerprint
    }

    /// The fingerprint as lower-case hex.
    pub fn fingerprint_hex(&self) -> String {
        hex(&self.fingerprint)
    }

    /// The subject distinguished name, RFC 4514 style.
    pub fn subject(&self) -> &str {
        &self.subject
    }

    /// The role from the Modbus/TCP Security extension; `None` is the NULL role.
    pub fn role(&self) -> Option<&RoleName> {
        self.role.as_ref()
    }

    /// Start of the validity period.
    pub fn not_before(&self) -> Timestamp {
        self.not_before
    }

    /// End of the validity period.
    pub fn not_after(&self) -> Timestamp {
        self.not_after
    }

    /// Checks that the certificate is within its validity period at `now` and that its key
    /// usage and extended key usage, when present, allow TLS client authentication
    /// (`digitalSignature`; `clientAuth` or `anyExtendedKeyUsage`).
    ///
    /// # Errors
    /// [`CertificateError::NotYetValid`], [`CertificateError::Expired`] or
    /// [`CertificateError::KeyUsage`].
    pub fn check_client_use(&self, now: Timestamp) -> Result<(), CertificateError> {
        if now < self.not_before {
            return Err(CertificateError::NotYetValid {
                not_before: self.not_before,
            });
        }
        if now > self.not_after {
            return Err(CertificateError::Expired {
                not_after: self.not_after,
            });
        }
        match &self.usage_problem {
            Some(p) => Err(CertificateError::KeyUsage(p.clone())),
            None => Ok(()),
        }
    }
}

/// The role a DER certificate carries: `None` for the NULL role.
///
/// # Errors
/// As [`CertificateIdentity::from_der`].
pub fn role_from_der(der: &[u8]) -> Result<Option<RoleName>, CertificateError> {
    CertificateIdentity::from_der(der).map(|c| c.role)
}

fn role_of(cert: &X509Certificate<'_>) -> Result<Option<RoleName>, CertificateError> {
    let found: Vec<_> = cert
        .extensions()
        .iter()
        .filter(|e| e.oid.to_id_string() == ROLE_EXTENSION_OID)
        .collect();
    match found.as_slice() {
        [] => Ok(None),
        [ext] => {
            let (rest, text) = <&str>::from_der(ext.value)
                .map_err(|e| CertificateError::MalformedRole(format!("not a UTF8String: {e}")))?;
            if !rest.is_empty() {
                return Err(CertificateError::MalformedRole(format!(
                    "{} bytes after the UTF8String",
                    rest.len()
                )));
            }
            RoleName::parse(text)
                .map(Some)
                .map_err(|e| CertificateError::MalformedRole(e.to_string()))
        }
        more => Err(CertificateError::MultipleRoles { count: more.len() }),
    }
}

fn client_usage_problem(cert: &X509Certificate<'_>) -> Option<String> {
    match cert.key_usage() {
        Err(e) => return Some(format!("unreadable key usage: {e}")),
        Ok(Some(ku)) if !ku.value.digital_signature() => {
            return Some(format!("key usage {} lacks digitalSignature", ku.value));
        }
        Ok(_) => {}
    }
    match cert.extended_key_usage() {
        Err(e) => Some(format!("unreadable extended key usage: {e}")),
        Ok(Some(eku)) if !(eku.value.client_auth || eku.value.any) => {
            Some("extended key usage lacks clientAuth".into())
        }
        Ok(_) => None,
    }
}

/// Lower-case hex of `bytes`.
pub(crate) fn hex(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        // Writing to a String cannot fail.
        let _ = write!(out, "{b:02x}");
    }
    out
}
