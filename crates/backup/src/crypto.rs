//! Key derivation, the segmented AEAD, and hashing readers and writers, over the vault's
//! crypto seam (argon2id, XChaCha20-Poly1305 and SHA-256 of a `CryptoProvider`).

use std::io::{Read, Write};

use rampart_vault::crypto::{AEAD_NONCE_LEN, AEAD_TAG_LEN, Argon2Params, CryptoProvider, Sha256};
use zeroize::Zeroizing;

use crate::format::{self, Header, NONCE_PREFIX, SEGMENT, TAG};
use crate::{BackupError, KdfParams, Passphrase};

/// Derives the 32-byte key from the passphrase (argon2id with the header's parameters).
///
/// # Errors
/// [`BackupError::KdfBounds`]/[`BackupError::Header`] for parameters out of bounds (checked
/// before argon2 allocates), [`BackupError::Crypto`] if argon2 fails.
pub(crate) fn derive_key(
    passphrase: &Passphrase,
    kdf: &KdfParams,
) -> Result<Zeroizing<[u8; 32]>, BackupError> {
    kdf.check()?;
    let salt = kdf.salt_bytes()?;
    let params = Argon2Params {
        m_kib: kdf.m_kib,
        t: kdf.t,
        p: kdf.p,
        output_len: Some(32),
    };
    params
        .check()
        .map_err(|e| BackupError::Crypto(format!("argon2id parameters: {e}")))?;
    CryptoProvider::process_default()
        .derive_key(&params, passphrase.as_bytes(), &salt)
        .map_err(|e| BackupError::Crypto(e.to_string()))
}

fn nonce(
    prefix: &[u8; NONCE_PREFIX],
    index: u64,
    last: bool,
) -> Result<[u8; AEAD_NONCE_LEN], BackupError> {
    let index = u32::try_from(index)
        .map_err(|_| BackupError::Header("too many segments for the nonce counter".into()))?;
    let mut bytes = [0u8; AEAD_NONCE_LEN];
    bytes[..NONCE_PREFIX].copy_from_slice(prefix);
    bytes[NONCE_PREFIX..NONCE_PREFIX + 4].copy_from_slice(&index.to_be_bytes());
    bytes[23] = u8::from(last);
    Ok(bytes)
}

/// Seals plaintext written to it into segments and writes them to `out`.
pub(crate) struct Sealer<W: Write> {
    out: W,
    key: Zeroizing<[u8; 32]>,
    aad: Vec<u8>,
    nonce_prefix: [u8; NONCE_PREFIX],
    total: u64,
    written: u64,
    index: u64,
    buf: Vec<u8>,
}

impl<W: Write> Sealer<W> {
    pub(crate) fn new(
        out: W,
        key: &[u8; 32],
        prefix: &[u8],
        header: &Header,
    ) -> Result<Sealer<W>, BackupError> {
        Ok(Sealer {
            out,
            key: Zeroizing::new(*key),
            aad: prefix.to_vec(),
            nonce_prefix: header.aead.nonce_prefix_bytes()?,
            total: header.plaintext_size,
            written: 0,
            index: 0,
            buf: Vec::with_capacity(SEGMENT + TAG),
        })
    }

    /// Adds plaintext.
    pub(crate) fn write(&mut self, mut data: &[u8]) -> Result<(), BackupError> {
        if self.written + data.len() as u64 > self.total {
            return Err(BackupError::Crypto(
                "more plaintext than the header announces (a file grew while it was read)".into(),
            ));
        }
        while !data.is_empty() {
            let take = (SEGMENT - self.buf.len()).min(data.len());
            self.buf.extend_from_slice(&data[..take]);
            self.written += take as u64;
            data = &data[take..];
            if self.buf.len() == SEGMENT {
                self.seal()?;
            }
        }
        Ok(())
    }

    fn seal(&mut self) -> Result<(), BackupError> {
        let last = self.written == self.total;
        let nonce = nonce(&self.nonce_prefix, self.index, last)?;
        let tag = CryptoProvider::process_default()
            .seal(&self.key, &nonce, &self.aad, self.buf.as_mut_slice())
            .map_err(|_| BackupError::Crypto("encryption failed".into()))?;
        self.out
            .write_all(&self.buf)
            .and_then(|()| self.out.write_all(&tag))
            .map_err(BackupError::io("writing the backup"))?;
        self.buf.clear();
        self.index += 1;
        Ok(())
    }

    /// Seals the last segment and returns the output.
    pub(crate) fn finish(mut self) -> Result<W, BackupError> {
        if !self.buf.is_empty() {
            self.seal()?;
        }
        if self.written != self.total {
            return Err(BackupError::Crypto(format!(
                "the archive has {} bytes, not the {} announced (a file changed while it was read)",
                self.written, self.total
            )));
        }
        Ok(self.out)
    }
}

/// Opens the segments read from `input` one at a time: memory is one segment.
pub(crate) struct Opener<R: Read> {
    input: R,
    key: Zeroizing<[u8; 32]>,
    aad: Vec<u8>,
    nonce_prefix: [u8; NONCE_PREFIX],
    total: u64,
    segments: u64,
    next: u64,
    buf: Vec<u8>,
    pos: usize,
    offset: u64,
}

impl<R: Read> Opener<R> {
    pub(crate) fn new(
        input: R,
        key: &[u8; 32],
        prefix: &[u8],
        header: &Header,
    ) -> Result<Opener<R>, BackupError> {
        Ok(Opener {
            input,
            key: Zeroizing::new(*key),
            aad: prefix.to_vec(),
            nonce_prefix: header.aead.nonce_prefix_bytes()?,
            total: header.plaintext_size,
            segments: header.segments(),
            next: 0,
            buf: Vec::with_capacity(SEGMENT + TAG),
            pos: 0,
            offset: prefix.len() as u64,
        })
    }

    /// Loads the next segment once the current one is used up; false at the end.
    fn fill(&mut self) -> Result<bool, BackupError> {
        if self.pos < self.buf.len() {
            return Ok(true);
        }
        if self.next == self.segments {
            return Ok(false);
        }
        let last = self.next + 1 == self.segments;
        let plain = if last {
            self.total - self.next * SEGMENT as u64
        } else {
            SEGMENT as u64
        };
        // At most SEGMENT + TAG: the header's size was bounded and segments() derived from it.
        let len = usize::try_from(plain).unwrap_or(SEGMENT) + TAG;
        self.buf.resize(len, 0);
        format::read_full(
            &mut self.input,
            &mut self.buf,
            "the ciphertext",
            self.offset,
        )?;
        self.offset += len as u64;
        let split = len - TAG;
        let tag: [u8; AEAD_TAG_LEN] = self.buf[split..]
            .try_into()
            .map_err(|_| BackupError::Crypto("tag length".into()))?;
        let nonce = nonce(&self.nonce_prefix, self.next, last)?;
        let opened = CryptoProvider::process_default().open(
            &self.key,
            &nonce,
            &self.aad,
            &mut self.buf[..split],
            &tag,
        );
        if opened.is_err() {
            self.buf.clear();
            self.pos = 0;
            return Err(if self.next == 0 {
                BackupError::WrongPassphrase
            } else {
                BackupError::Tampered { segment: self.next }
            });
        }
        self.buf.truncate(split);
        self.pos = 0;
        self.next += 1;
        Ok(true)
    }

    /// Fills `out` with plaintext.
    pub(crate) fn read_exact(&mut self, out: &mut [u8]) -> Result<(), BackupError> {
        let mut filled = 0;
        while filled < out.len() {
            if !self.fill()? {
                return Err(BackupError::Manifest(
                    "the archive ends before its last entry".into(),
                ));
            }
            let take = (self.buf.len() - self.pos).min(out.len() - filled);
            out[filled..filled + take].copy_from_slice(&self.buf[self.pos..self.pos + take]);
            self.pos += take;
            filled += take;
        }
        Ok(())
    }

    /// Passes the next `len` bytes of plaintext to `sink`, a segment at a time.
    pub(crate) fn copy(
        &mut self,
        mut len: u64,
        sink: &mut dyn FnMut(&[u8]) -> Result<(), BackupError>,
    ) -> Result<(), BackupError> {
        while len > 0 {
            if !self.fill()? {
                return Err(BackupError::Manifest(
                    "the archive ends before its last entry".into(),
                ));
            }
            let available = self.buf.len() - self.pos;
            let take = usize::try_from(len).map_or(available, |l| l.min(available));
            sink(&self.buf[self.pos..self.pos + take])?;
            self.pos += take;
            len -= take as u64;
        }
        Ok(())
    }

    /// Checks that every byte of plaintext was consumed and returns the input.
    pub(crate) fn finish(mut self) -> Result<R, BackupError> {
        if self.fill()? {
            return Err(BackupError::Manifest(
                "the archive has data after its last entry".into(),
            ));
        }
        Ok(self.input)
    }
}

/// A reader that hashes what passes through.
pub(crate) struct HashingReader<R> {
    pub(crate) inner: R,
    pub(crate) hasher: Sha256,
}

impl<R: Read> Read for HashingReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.hasher.update(&buf[..n]);
        Ok(n)
    }
}

/// A writer that hashes what passes through: `signed` until [`HashingWriter::stop_signed`],
/// `file` always.
pub(crate) struct HashingWriter<W> {
    pub(crate) inner: W,
    pub(crate) signed: Option<Sha256>,
    pub(crate) file: Sha256,
    pub(crate) count: u64,
}

impl<W: Write> HashingWriter<W> {
    pub(crate) fn new(inner: W) -> HashingWriter<W> {
        HashingWriter {
            inner,
            signed: Some(Sha256::new()),
            file: Sha256::new(),
            count: 0,
        }
    }

    /// The digest of everything written so far, for the signature; later writes are not in it.
    pub(crate) fn stop_signed(&mut self) -> [u8; 32] {
        self.signed.take().map(Sha256::finish).unwrap_or_default()
    }
}

impl<W: Write> Write for HashingWriter<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let n = self.inner.write(buf)?;
        if let Some(signed) = &mut self.signed {
            signed.update(&buf[..n]);
        }
        self.file.update(&buf[..n]);
        self.count += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::format::{AeadParams, LAYOUT};

    fn header(size: u64) -> Header {
        Header {
            created: "2026-11-28T06:00:00Z".into(),
            device_key: "00".repeat(32),
            layout: LAYOUT.into(),
            producer: "test".into(),
            kdf: KdfParams::new(KdfParams::MIN_M_KIB, 1, 1).unwrap(),
            aead: AeadParams::new_random(CryptoProvider::process_default()).unwrap(),
            plaintext_size: size,
        }
    }

    fn seal(key: &[u8; 32], h: &Header, data: &[u8]) -> Vec<u8> {
        let mut sealer = Sealer::new(Vec::new(), key, b"aad", h).unwrap();
        // Odd write sizes exercise the buffering.
        for chunk in data.chunks(7_777) {
            sealer.write(chunk).unwrap();
        }
        sealer.finish().unwrap()
    }

    #[test]
    fn segments_round_trip_at_every_boundary() {
        let key = [7u8; 32];
        for size in [1usize, 100, SEGMENT - 1, SEGMENT, SEGMENT + 1, 3 * SEGMENT] {
            let data: Vec<u8> = (0..size).map(|i| u8::try_from(i % 251).unwrap()).collect();
            let h = header(size as u64);
            let sealed = seal(&key, &h, &data);
            assert_eq!(sealed.len() as u64, h.ciphertext_size());
            let mut opener = Opener::new(sealed.as_slice(), &key, b"aad", &h).unwrap();
            let mut back = vec![0u8; size];
            opener.read_exact(&mut back).unwrap();
            assert_eq!(back, data);
            assert!(opener.finish().unwrap().is_empty());
        }
    }

    #[test]
    fn reordered_truncated_or_rebound_segments_fail() {
        let key = [7u8; 32];
        let size = 2 * SEGMENT + 10;
        let h = header(size as u64);
        let sealed = seal(&key, &h, &vec![1u8; size]);
        let seg = SEGMENT + TAG;
        // Swap the first two segments.
        let mut swapped = sealed.clone();
        swapped[..seg].copy_from_slice(&sealed[seg..2 * seg]);
        swapped[seg..2 * seg].copy_from_slice(&sealed[..seg]);
        let mut out = vec![0u8; size];
        let err = Opener::new(swapped.as_slice(), &key, b"aad", &h)
            .unwrap()
            .read_exact(&mut out)
            .unwrap_err();
        assert!(matches!(err, BackupError::WrongPassphrase), "{err}");
        // Drop the last segment and claim the shorter size: the last flag does not match.
        let mut short = h.clone();
        short.plaintext_size = 2 * SEGMENT as u64;
        let mut out = vec![0u8; 2 * SEGMENT];
        let err = Opener::new(&sealed[..2 * seg], &key, b"aad", &short)
            .unwrap()
            .read_exact(&mut out)
            .unwrap_err();
        assert!(matches!(err, BackupError::Tampered { segment: 1 }), "{err}");
        // Other associated data.
        let err = Opener::new(sealed.as_slice(), &key, b"AAD", &h)
            .unwrap()
            .read_exact(&mut out)
            .unwrap_err();
        assert!(matches!(err, BackupError::WrongPassphrase), "{err}");
    }

    #[test]
    fn the_key_depends_on_passphrase_and_salt() {
        let kdf = KdfParams::new(KdfParams::MIN_M_KIB, 1, 1).unwrap();
        let a = Passphrase::new("correct horse battery").unwrap();
        let b = Passphrase::new("correct horse batterY").unwrap();
        assert_eq!(
            *derive_key(&a, &kdf).unwrap(),
            *derive_key(&a, &kdf).unwrap()
        );
        assert_ne!(
            *derive_key(&a, &kdf).unwrap(),
            *derive_key(&b, &kdf).unwrap()
        );
        let other = KdfParams::new(KdfParams::MIN_M_KIB, 1, 1).unwrap();
        assert_ne!(
            *derive_key(&a, &kdf).unwrap(),
            *derive_key(&a, &other).unwrap()
        );
    }
}
