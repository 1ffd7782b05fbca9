//! Where a component key lives: `[vault] tls_key` (the TLS server key) and `[vault]
//! device_key` (the device key).

/// Where a key of the component lives.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum KeyStore {
    /// Whatever the data directory holds; a new key: [`KeyStore::File`].
    #[default]
    Recorded,
    /// A software key in a file of the data directory, sealed under the KEK.
    File,
    /// A key generated in the TPM that never leaves it (CR 1.9 RE 1); needs the TPM KEK
    /// provider. The key's file then holds its TPM blob, sealed under the KEK.
    Tpm,
}

impl KeyStore {
    /// Parses `file` or `tpm`.
    ///
    /// # Errors
    /// A message naming the accepted values.
    pub fn parse(text: &str) -> Result<KeyStore, String> {
        match text {
            "file" => Ok(KeyStore::File),
            "tpm" => Ok(KeyStore::Tpm),
            other => Err(format!("{other:?}: expected \"file\" or \"tpm\"")),
        }
    }

    /// `recorded`, `file` or `tpm`.
    pub const fn as_str(self) -> &'static str {
        match self {
            KeyStore::Recorded => "recorded",
            KeyStore::File => "file",
            KeyStore::Tpm => "tpm",
        }
    }
}
