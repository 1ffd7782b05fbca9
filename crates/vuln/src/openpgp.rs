//! The `OpenPGP` signatures of a CSAF trusted provider (CSAF 2.0 requirement 19 of the
//! `csaf_trusted_provider` role, section 7.1.19): a small, hand-written subset of `OpenPGP`
//! (RFC 4880, RFC 9580), version 4 packets only.
//!
//! - The maker's certificate ([`certificate`]): a v4 public key packet of algorithm 22
//!   (`EdDSALegacy`, curve Ed25519, OID `1.3.6.1.4.1.11591.15.1`, the point as the MPI
//!   `0x40 ‖ point`) — the form `GnuPG` 2.2 and 2.4 and the `csaf` tools read — a user ID
//!   packet, and a positive certification (type 0x13, SHA-256) with key flags "certify, sign",
//!   the creation time and the issuer fingerprint hashed, the issuer key id unhashed.
//! - A detached signature of a binary document ([`sign_detached`], type 0x00, SHA-256), as
//!   the `DOC.json.asc` next to each published document.
//! - The verifier ([`PublicKey::from_armored`], [`verify_detached`]): ASCII armor with its
//!   CRC-24, packets with bounded lengths (no partial or indeterminate lengths), v4 only,
//!   algorithm 22 only, SHA-256 (`GnuPG` 2.2's choice for Ed25519) or SHA-512 (some signers' choice)
//!   only; anything else is a clear error. A key file must carry a valid self-certification
//!   of a user ID and no valid key revocation; Ed25519 signing subkeys count when bound (a
//!   binding signature with the "sign" flag and the subkey's back-signature) and not revoked;
//!   expiry of the key or the signature is checked against the caller's clock.
//!
//! Why not an `OpenPGP` crate: rpgp and sequoia bring their own generation of the `RustCrypto`
//! primitives, a second copy of what the vault already links. The crypto seam
//! (ARCHITECTURE.md: only `rampart-vault` names a crypto crate) keeps every primitive in one
//! place: Ed25519 signing is [`rampart_vault::DeviceKey`], verification
//! [`rampart_vault::DevicePublicKey`], the digests `rampart_vault::crypto` (SHA-1 only for the
//! v4 fingerprint, as RFC 9580 section 5.5.4.2 defines it).
//!
//! Pure: no I/O, no clock (the caller passes the time).

use rampart_vault::crypto::{Sha256, signature::Sha512};
use rampart_vault::{DeviceKey, DevicePublicKey};

/// The DER body of the curve OID of Ed25519 in `OpenPGP` (`1.3.6.1.4.1.11591.15.1`).
pub const ED25519_OID: [u8; 9] = [0x2B, 0x06, 0x01, 0x04, 0x01, 0xDA, 0x47, 0x0F, 0x01];
/// Public-key algorithm 22, `EdDSALegacy`.
const ALG_EDDSA: u8 = 22;
/// Hash algorithm 8, SHA-256.
const HASH_SHA256: u8 = 8;
/// Hash algorithm 10, SHA-512.
const HASH_SHA512: u8 = 10;
/// The most bytes of armored or binary input read (a key with many third-party certifications
/// stays well below).
pub const MAX_INPUT_BYTES: usize = 1 << 20;
/// The most packets read from one input.
const MAX_PACKETS: usize = 4096;

const TAG_SIGNATURE: u8 = 2;
const TAG_SECRET_KEY: u8 = 5;
const TAG_PUBLIC_KEY: u8 = 6;
const TAG_SECRET_SUBKEY: u8 = 7;
const TAG_USER_ID: u8 = 13;
const TAG_PUBLIC_SUBKEY: u8 = 14;
const TAG_USER_ATTRIBUTE: u8 = 17;

/// What is wrong with a key or signature.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct Error(String);

fn err<T>(message: impl Into<String>) -> Result<T, Error> {
    Err(Error(message.into()))
}

/// A v4 `EdDSA` (Ed25519) public key: its point, creation time and fingerprint, and the user
/// IDs its valid self-certifications bind.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PublicKey {
    point: [u8; 32],
    created: u32,
    fingerprint: [u8; 20],
    user_ids: Vec<String>,
    expires: Option<u64>,
    subkeys: Vec<PublicKey>,
}

impl PublicKey {
    /// The public key of `key`, created at `created` (seconds since 1970, UTC), without user
    /// IDs.
    pub fn of(key: &DeviceKey, created: u32) -> PublicKey {
        let point = key.public_bytes();
        let fingerprint = fingerprint(&key_body(&point, created));
        PublicKey {
            point,
            created,
            fingerprint,
            user_ids: Vec::new(),
            expires: None,
            subkeys: Vec::new(),
        }
    }

    /// The Ed25519 signing subkeys bound to this key (binding signature with the "sign" key
    /// flag and the subkey's back-signature, not revoked).
    pub fn signing_subkeys(&self) -> &[PublicKey] {
        &self.subkeys
    }

    /// The v4 fingerprint, 40 upper-case hex digits (as CSAF's `public_openpgp_keys` and
    /// `GnuPG` show it).
    pub fn fingerprint(&self) -> String {
        hex_upper(&self.fingerprint)
    }

    /// The key id: the last 8 bytes of the fingerprint.
    pub fn key_id(&self) -> [u8; 8] {
        let mut id = [0; 8];
        id.copy_from_slice(&self.fingerprint[12..]);
        id
    }

    /// The creation time (seconds since 1970, UTC).
    pub fn created(&self) -> u32 {
        self.created
    }

    /// The user IDs bound by a valid self-certification.
    pub fn user_ids(&self) -> &[String] {
        &self.user_ids
    }

    /// When the key expires (seconds since 1970), if its self-certification says so.
    pub fn expires(&self) -> Option<u64> {
        self.expires
    }

    /// Whether this is the public half of `key`.
    pub fn belongs_to(&self, key: &DeviceKey) -> bool {
        rampart_vault::crypto::ct_eq(&key.public_bytes(), &self.point)
    }

    /// Reads an armored public key block (`-----BEGIN PGP PUBLIC KEY BLOCK-----`).
    ///
    /// # Errors
    /// [`Error`] naming what is wrong: the armor, its checksum, a packet, a key that is not
    /// a v4 Ed25519 key, no valid self-certification, a revoked key.
    pub fn from_armored(text: &str) -> Result<PublicKey, Error> {
        Self::from_packets(&dearmor(text, "PUBLIC KEY BLOCK")?)
    }

    /// Reads a binary (transferable) public key: the key packet, user IDs and their
    /// signatures; subkeys and user attributes are skipped.
    ///
    /// # Errors
    /// As [`PublicKey::from_armored`].
    pub fn from_packets(data: &[u8]) -> Result<PublicKey, Error> {
        let packets = packets(data)?;
        let Some(first) = packets.first() else {
            return err("no packet");
        };
        match first.tag {
            TAG_PUBLIC_KEY => {}
            TAG_SECRET_KEY | TAG_SECRET_SUBKEY => {
                return err("this is a secret key: give the public key (gpg --export --armor)");
            }
            other => {
                return err(format!(
                    "the first packet is of type {other}, not a public key (6)"
                ));
            }
        }
        let (point, created) = parse_key_body(first.body)?;
        let body = first.body;
        let mut key = PublicKey {
            point,
            created,
            fingerprint: fingerprint(body),
            user_ids: Vec::new(),
            expires: None,
            subkeys: Vec::new(),
        };
        let mut user_id: Option<&[u8]> = None;
        let mut in_subkey = false;
        // The subkey being read: its packet body, the key, and whether it is bound, revoked.
        let mut subkey: Option<(&[u8], PublicKey)> = None;
        let mut bound: Vec<(PublicKey, bool)> = Vec::new();
        let mut newest_certification = None;
        for packet in &packets[1..] {
            match packet.tag {
                TAG_PUBLIC_KEY => {
                    return err("more than one key: give one key per file");
                }
                TAG_PUBLIC_SUBKEY => {
                    in_subkey = true;
                    // Subkeys of other algorithms (an encryption subkey) are skipped.
                    subkey = parse_key_body(packet.body).ok().map(|(point, created)| {
                        (
                            packet.body,
                            PublicKey {
                                point,
                                created,
                                fingerprint: fingerprint(packet.body),
                                user_ids: Vec::new(),
                                expires: None,
                                subkeys: Vec::new(),
                            },
                        )
                    });
                }
                TAG_SECRET_SUBKEY => {
                    in_subkey = true;
                    subkey = None;
                }
                TAG_SIGNATURE if in_subkey => {
                    let Some((sub_body, sub)) = &subkey else {
                        continue;
                    };
                    let Ok(signature) = Signature::parse(packet.body) else {
                        continue;
                    };
                    if !signature.may_be_by(&key) {
                        continue;
                    }
                    let prefix = [key_prefix(body), key_prefix(sub_body)].concat();
                    match signature.sig_type {
                        0x18 if signature.verify(&key, &[&prefix]).is_ok()
                            && signature.key_flags() & 0x02 != 0
                            && signature.back_signature_by(sub, &prefix) =>
                        {
                            let mut sub = sub.clone();
                            sub.expires = signature
                                .key_expiration()
                                .filter(|&e| e != 0)
                                .map(|e| u64::from(sub.created) + u64::from(e));
                            bound.push((sub, false));
                        }
                        0x28 if signature.verify(&key, &[&prefix]).is_ok() => {
                            bound.push((sub.clone(), true));
                        }
                        _ => {}
                    }
                }
                TAG_USER_ID if !in_subkey => user_id = Some(packet.body),
                TAG_USER_ATTRIBUTE => user_id = None,
                TAG_SIGNATURE if !in_subkey => {
                    // Third-party certifications may use any algorithm: skipped unless they
                    // parse and are made by this key.
                    let Ok(signature) = Signature::parse(packet.body) else {
                        continue;
                    };
                    if !signature.may_be_by(&key) {
                        continue;
                    }
                    match (signature.sig_type, user_id) {
                        (0x10..=0x13, Some(uid)) => {
                            let mut prefix = key_prefix(body);
                            prefix.push(0xB4);
                            prefix.extend_from_slice(&len32(uid.len())?);
                            prefix.extend_from_slice(uid);
                            if signature.verify(&key, &[&prefix]).is_ok() {
                                let uid = String::from_utf8_lossy(uid).into_owned();
                                if !key.user_ids.contains(&uid) {
                                    key.user_ids.push(uid);
                                }
                                let created = signature.created().unwrap_or(0);
                                if newest_certification.is_none_or(|(c, _)| created >= c) {
                                    newest_certification =
                                        Some((created, signature.key_expiration()));
                                }
                            }
                        }
                        (0x20, _) if signature.verify(&key, &[&key_prefix(body)]).is_ok() => {
                            return err(format!(
                                "the key {} is revoked by its owner",
                                key.fingerprint()
                            ));
                        }
                        _ => {}
                    }
                }
                _ => {}
            }
        }
        let Some((_, expiration)) = newest_certification else {
            return err(format!(
                "no valid self-certification binds a user ID to the key {}",
                key.fingerprint()
            ));
        };
        key.expires = expiration
            .filter(|&e| e != 0)
            .map(|e| u64::from(created) + u64::from(e));
        let revoked: Vec<[u8; 20]> = bound
            .iter()
            .filter(|(_, revoked)| *revoked)
            .map(|(k, _)| k.fingerprint)
            .collect();
        for (sub, is_revocation) in bound {
            if !is_revocation
                && !revoked.contains(&sub.fingerprint)
                && !key.subkeys.iter().any(|k| k.fingerprint == sub.fingerprint)
            {
                key.subkeys.push(sub);
            }
        }
        Ok(key)
    }
}

/// The key material of a v4 public key packet: version, creation time, algorithm 22, the
/// Ed25519 OID and the point.
fn key_body(point: &[u8; 32], created: u32) -> Vec<u8> {
    let mut body = vec![4];
    body.extend_from_slice(&created.to_be_bytes());
    body.push(ALG_EDDSA);
    body.push(byte(ED25519_OID.len()));
    body.extend_from_slice(&ED25519_OID);
    let mut native = vec![0x40];
    native.extend_from_slice(point);
    body.extend_from_slice(&mpi(&native));
    body
}

fn parse_key_body(body: &[u8]) -> Result<([u8; 32], u32), Error> {
    let mut r = Reader::new(body, "the public key packet");
    let version = r.u8()?;
    if version != 4 {
        return err(format!(
            "public key version {version}: only version 4 keys are supported"
        ));
    }
    let created = r.u32()?;
    let algorithm = r.u8()?;
    if algorithm != ALG_EDDSA {
        return err(format!(
            "public key algorithm {algorithm} ({}): only EdDSA (22) with Ed25519 is supported",
            algorithm_name(algorithm)
        ));
    }
    let oid_len = usize::from(r.u8()?);
    let oid = r.take(oid_len)?;
    if oid != ED25519_OID {
        return err("the EdDSA key's curve is not Ed25519 (OID 1.3.6.1.4.1.11591.15.1)");
    }
    let point = r.mpi()?;
    if point.len() != 33 || point[0] != 0x40 {
        return err("the Ed25519 point is not 0x40 followed by 32 bytes");
    }
    r.end()?;
    let mut out = [0; 32];
    out.copy_from_slice(&point[1..]);
    DevicePublicKey::from_bytes(&out).map_err(|e| Error(format!("the Ed25519 point: {e}")))?;
    Ok((out, created))
}

fn algorithm_name(algorithm: u8) -> &'static str {
    match algorithm {
        1..=3 => "RSA",
        16 => "Elgamal",
        17 => "DSA",
        18 => "ECDH",
        19 => "ECDSA",
        22 => "EdDSA",
        25 => "X25519",
        27 => "Ed25519 of RFC 9580 (v6 style)",
        28 => "Ed448",
        _ => "unknown",
    }
}

fn key_prefix(body: &[u8]) -> Vec<u8> {
    let mut prefix = vec![0x99];
    // A key body is at most a few hundred bytes (checked by the packet reader's bounds).
    prefix.extend_from_slice(&(u16::try_from(body.len()).unwrap_or(u16::MAX)).to_be_bytes());
    prefix.extend_from_slice(body);
    prefix
}

fn fingerprint(body: &[u8]) -> [u8; 20] {
    rampart_vault::crypto::sha1(key_prefix(body))
}

fn len32(len: usize) -> Result<[u8; 4], Error> {
    u32::try_from(len)
        .map(u32::to_be_bytes)
        .or_else(|_| err("too long"))
}

/// A multiprecision integer: the bit count (two bytes) and the bytes without leading zeros.
fn mpi(bytes: &[u8]) -> Vec<u8> {
    let start = bytes.iter().position(|&b| b != 0).unwrap_or(bytes.len());
    let bytes = &bytes[start..];
    let bits = match bytes.first() {
        Some(first) => (bytes.len() - 1) * 8 + (8 - first.leading_zeros() as usize),
        None => 0,
    };
    let mut out = be16(bits).to_vec();
    out.extend_from_slice(bytes);
    out
}

fn hex_upper(bytes: &[u8]) -> String {
    use std::fmt::Write as _;
    bytes.iter().fold(String::new(), |mut s, b| {
        let _ = write!(s, "{b:02X}");
        s
    })
}

// ---------------------------------------------------------------------------------------
// Writing

/// `n` as a byte, `n` as two and four big-endian bytes: every length written here is bounded
/// by construction (a user ID of at most 1,024 bytes, fixed subpackets, 64-byte signatures),
/// so the saturation never happens; a document's length is only hashed, never written.
fn byte(n: usize) -> u8 {
    u8::try_from(n).unwrap_or(u8::MAX)
}

fn be16(n: usize) -> [u8; 2] {
    u16::try_from(n).unwrap_or(u16::MAX).to_be_bytes()
}

fn be32(n: usize) -> [u8; 4] {
    u32::try_from(n).unwrap_or(u32::MAX).to_be_bytes()
}

fn subpacket(kind: u8, data: &[u8]) -> Vec<u8> {
    // Every subpacket written here is shorter than 192 bytes: a one-octet length.
    let mut out = vec![byte(data.len() + 1), kind];
    out.extend_from_slice(data);
    out
}

/// A packet with a new-format header (RFC 9580 section 4.2.1).
pub fn packet(tag: u8, body: &[u8]) -> Vec<u8> {
    let mut out = vec![0xC0 | tag];
    let len = body.len();
    if len < 192 {
        out.push(byte(len));
    } else if len < 8384 {
        let l = len - 192;
        out.push(byte((l >> 8) + 192));
        out.push(byte(l & 0xFF));
    } else {
        out.push(0xFF);
        out.extend_from_slice(&be32(len));
    }
    out.extend_from_slice(body);
    out
}

/// A v4 signature packet body by `key` (whose public half is `public`) over `prefix` parts
/// followed by the signature's hashed part and trailer, SHA-256.
fn make_signature(
    key: &DeviceKey,
    public: &PublicKey,
    sig_type: u8,
    extra_hashed: &[u8],
    created: u32,
    prefix: &[&[u8]],
) -> Vec<u8> {
    let mut fpr = vec![4];
    fpr.extend_from_slice(&public.fingerprint);
    let mut hashed = subpacket(2, &created.to_be_bytes());
    hashed.extend_from_slice(extra_hashed);
    hashed.extend_from_slice(&subpacket(33, &fpr));
    let mut hashed_part = vec![4, sig_type, ALG_EDDSA, HASH_SHA256];
    hashed_part.extend_from_slice(&be16(hashed.len()));
    hashed_part.extend_from_slice(&hashed);
    let mut state = Sha256::new();
    for part in prefix {
        state.update(part);
    }
    state.update(&hashed_part);
    state.update([4, 0xFF]);
    state.update(be32(hashed_part.len()));
    let digest = state.finish();
    // EdDSA in OpenPGP signs the digest (RFC 9580 section 5.2.3.3).
    let signature = key.sign(&digest);
    let unhashed = subpacket(16, &public.key_id());
    let mut body = hashed_part;
    body.extend_from_slice(&be16(unhashed.len()));
    body.extend_from_slice(&unhashed);
    body.extend_from_slice(&digest[..2]);
    body.extend_from_slice(&mpi(&signature[..32]));
    body.extend_from_slice(&mpi(&signature[32..]));
    body
}

/// The maker's certificate, armored: the v4 Ed25519 public key of `key` created at `created`,
/// the user ID, and its positive self-certification (key flags certify and sign, preferred
/// hash SHA-256).
///
/// # Errors
/// [`Error`] for an empty or over-long user ID (at most 1,024 bytes).
pub fn certificate(key: &DeviceKey, user_id: &str, created: u32) -> Result<String, Error> {
    if user_id.trim().is_empty() || user_id.len() > 1024 {
        return err("a user ID is 1 to 1024 bytes, e.g. \"Maker PSIRT <psirt@maker.example>\"");
    }
    let public = PublicKey::of(key, created);
    let body = key_body(&public.point, created);
    let mut uid_prefix = vec![0xB4];
    uid_prefix.extend_from_slice(&len32(user_id.len())?);
    let mut extra = subpacket(27, &[0x03]);
    extra.extend_from_slice(&subpacket(21, &[HASH_SHA256]));
    let signature = make_signature(
        key,
        &public,
        0x13,
        &extra,
        created,
        &[&key_prefix(&body), &uid_prefix, user_id.as_bytes()],
    );
    let mut data = packet(TAG_PUBLIC_KEY, &body);
    data.extend_from_slice(&packet(TAG_USER_ID, user_id.as_bytes()));
    data.extend_from_slice(&packet(TAG_SIGNATURE, &signature));
    Ok(armor("PUBLIC KEY BLOCK", &data))
}

/// A detached signature (type 0x00, binary document, SHA-256) of `document` by `key`, whose
/// certificate is `public`, made at `created`; armored, for `DOC.asc`.
///
/// # Errors
/// [`Error`] if `public` is not the public half of `key`.
pub fn sign_detached(
    key: &DeviceKey,
    public: &PublicKey,
    document: &[u8],
    created: u32,
) -> Result<String, Error> {
    if !public.belongs_to(key) {
        return err(format!(
            "the private key is not the key of the public key {}",
            public.fingerprint()
        ));
    }
    let body = make_signature(key, public, 0x00, &[], created, &[document]);
    Ok(armor("SIGNATURE", &packet(TAG_SIGNATURE, &body)))
}

// ---------------------------------------------------------------------------------------
// Reading

struct Reader<'a> {
    data: &'a [u8],
    at: usize,
    what: &'static str,
}

impl<'a> Reader<'a> {
    fn new(data: &'a [u8], what: &'static str) -> Reader<'a> {
        Reader { data, at: 0, what }
    }

    fn take(&mut self, n: usize) -> Result<&'a [u8], Error> {
        let end = self.at.checked_add(n).filter(|&e| e <= self.data.len());
        let Some(end) = end else {
            return err(format!("{} is truncated", self.what));
        };
        let out = &self.data[self.at..end];
        self.at = end;
        Ok(out)
    }

    fn u8(&mut self) -> Result<u8, Error> {
        Ok(self.take(1)?[0])
    }

    fn u16(&mut self) -> Result<u16, Error> {
        let b = self.take(2)?;
        Ok(u16::from_be_bytes([b[0], b[1]]))
    }

    fn u32(&mut self) -> Result<u32, Error> {
        let b = self.take(4)?;
        Ok(u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
    }

    fn mpi(&mut self) -> Result<&'a [u8], Error> {
        let bits = usize::from(self.u16()?);
        self.take(bits.div_ceil(8))
    }

    fn end(&self) -> Result<(), Error> {
        if self.at == self.data.len() {
            Ok(())
        } else {
            err(format!("{} has trailing bytes", self.what))
        }
    }
}

/// One packet: its tag and body.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Packet<'a> {
    /// The packet tag (2 signature, 6 public key, 13 user ID, ...).
    pub tag: u8,
    /// The body.
    pub body: &'a [u8],
}

/// Splits binary `OpenPGP` data into packets (old and new format headers).
///
/// # Errors
/// [`Error`]: a byte that is not a packet header, a length past the end, a partial or
/// indeterminate length (never used by keys and signatures), more than 4,096 packets.
pub fn packets(data: &[u8]) -> Result<Vec<Packet<'_>>, Error> {
    if data.len() > MAX_INPUT_BYTES {
        return err(format!("more than {MAX_INPUT_BYTES} bytes"));
    }
    let mut r = Reader::new(data, "a packet");
    let mut out = Vec::new();
    while r.at < data.len() {
        if out.len() >= MAX_PACKETS {
            return err(format!("more than {MAX_PACKETS} packets"));
        }
        let offset = r.at;
        let header = r.u8()?;
        if header & 0x80 == 0 {
            return err(format!(
                "byte {offset}: 0x{header:02x} is not a packet header"
            ));
        }
        let (tag, len) = if header & 0x40 != 0 {
            let tag = header & 0x3F;
            let first = r.u8()?;
            let len = match first {
                0..=191 => usize::from(first),
                192..=223 => (usize::from(first) - 192) * 256 + usize::from(r.u8()?) + 192,
                255 => r.u32()? as usize,
                _ => {
                    return err(format!(
                        "byte {offset}: a partial body length, which keys and signatures never use"
                    ));
                }
            };
            (tag, len)
        } else {
            let tag = (header >> 2) & 0x0F;
            let len = match header & 0x03 {
                0 => usize::from(r.u8()?),
                1 => usize::from(r.u16()?),
                2 => r.u32()? as usize,
                _ => {
                    return err(format!(
                        "byte {offset}: an indeterminate length, which keys and signatures never use"
                    ));
                }
            };
            (tag, len)
        };
        let body = r.take(len).map_err(|_| {
            Error(format!(
                "byte {offset}: the packet's length runs past the end"
            ))
        })?;
        out.push(Packet { tag, body });
    }
    Ok(out)
}

/// A subpacket of a signature.
#[derive(Debug, Clone)]
struct Subpacket<'a> {
    kind: u8,
    critical: bool,
    data: &'a [u8],
}

fn subpackets(data: &[u8]) -> Result<Vec<Subpacket<'_>>, Error> {
    let mut r = Reader::new(data, "a signature subpacket");
    let mut out = Vec::new();
    while r.at < data.len() {
        let first = r.u8()?;
        let len = match first {
            0..=191 => usize::from(first),
            192..=254 => (usize::from(first) - 192) * 256 + usize::from(r.u8()?) + 192,
            255 => r.u32()? as usize,
        };
        let body = r.take(len)?;
        let Some((&kind, data)) = body.split_first() else {
            return err("an empty signature subpacket");
        };
        out.push(Subpacket {
            kind: kind & 0x7F,
            critical: kind & 0x80 != 0,
            data,
        });
    }
    Ok(out)
}

/// The hashed subpackets a signature may mark critical and this reader understands.
const KNOWN_CRITICAL: [u8; 9] = [2, 3, 9, 16, 21, 25, 27, 32, 33];

/// A parsed v4 `EdDSA` signature packet.
#[derive(Debug, Clone)]
struct Signature<'a> {
    sig_type: u8,
    hash: u8,
    hashed_part: &'a [u8],
    hashed: Vec<Subpacket<'a>>,
    unhashed: Vec<Subpacket<'a>>,
    left16: [u8; 2],
    value: [u8; 64],
}

impl<'a> Signature<'a> {
    fn parse(body: &'a [u8]) -> Result<Signature<'a>, Error> {
        let mut r = Reader::new(body, "the signature packet");
        let version = r.u8()?;
        if version != 4 {
            return err(format!(
                "signature version {version}: only version 4 signatures are supported"
            ));
        }
        let sig_type = r.u8()?;
        let algorithm = r.u8()?;
        let hash = r.u8()?;
        if algorithm != ALG_EDDSA {
            return err(format!(
                "signature algorithm {algorithm} ({}): only EdDSA (22) is supported",
                algorithm_name(algorithm)
            ));
        }
        if hash != HASH_SHA256 && hash != HASH_SHA512 {
            return err(format!(
                "hash algorithm {hash}: only SHA-256 (8) and SHA-512 (10) are supported"
            ));
        }
        let hashed_len = usize::from(r.u16()?);
        let hashed_data = r.take(hashed_len)?;
        let hashed_part = &body[..r.at];
        let unhashed_len = usize::from(r.u16()?);
        let unhashed_data = r.take(unhashed_len)?;
        let left = r.take(2)?;
        let mut value64 = [0; 64];
        for half in 0..2 {
            let value = r.mpi()?;
            if value.len() > 32 {
                return err("an EdDSA signature value is longer than 32 bytes");
            }
            let end = half * 32 + 32;
            value64[end - value.len()..end].copy_from_slice(value);
        }
        r.end()?;
        let hashed = subpackets(hashed_data)?;
        if let Some(s) = hashed
            .iter()
            .find(|s| s.critical && !KNOWN_CRITICAL.contains(&s.kind))
        {
            return err(format!(
                "the signature has a critical subpacket of type {} this reader does not know",
                s.kind
            ));
        }
        Ok(Signature {
            sig_type,
            hash,
            hashed_part,
            hashed,
            unhashed: subpackets(unhashed_data)?,
            left16: [left[0], left[1]],
            value: value64,
        })
    }

    fn hashed_u32(&self, kind: u8) -> Option<u32> {
        self.hashed
            .iter()
            .find(|s| s.kind == kind)
            .and_then(|s| <[u8; 4]>::try_from(s.data).ok())
            .map(u32::from_be_bytes)
    }

    fn created(&self) -> Option<u32> {
        self.hashed_u32(2)
    }

    fn key_expiration(&self) -> Option<u32> {
        self.hashed_u32(9)
    }

    /// The first byte of the hashed key flags (0 without them).
    fn key_flags(&self) -> u8 {
        self.hashed
            .iter()
            .find(|s| s.kind == 27)
            .and_then(|s| s.data.first().copied())
            .unwrap_or(0)
    }

    /// Whether the signature carries a valid primary key binding signature (type 0x19,
    /// embedded signature subpacket 32) by the signing subkey `sub` over `prefix` (RFC 9580
    /// section 5.2.1: a signing subkey must sign back).
    fn back_signature_by(&self, sub: &PublicKey, prefix: &[u8]) -> bool {
        self.hashed.iter().chain(&self.unhashed).any(|s| {
            s.kind == 32
                && Signature::parse(s.data)
                    .is_ok_and(|back| back.sig_type == 0x19 && back.verify(sub, &[prefix]).is_ok())
        })
    }

    /// Whether the signature names `key` as its issuer, or names no issuer at all.
    fn may_be_by(&self, key: &PublicKey) -> bool {
        let mut named = false;
        for s in self.hashed.iter().chain(&self.unhashed) {
            match s.kind {
                33 if s.data.len() == 21 && s.data[0] == 4 => {
                    if s.data[1..] == key.fingerprint {
                        return true;
                    }
                    named = true;
                }
                16 if s.data.len() == 8 => {
                    if s.data == key.key_id() {
                        return true;
                    }
                    named = true;
                }
                _ => {}
            }
        }
        !named
    }

    fn verify(&self, key: &PublicKey, prefix: &[&[u8]]) -> Result<(), Error> {
        let Some(created) = self.created() else {
            return err("the signature has no hashed creation time");
        };
        if created < key.created {
            return err("the signature is older than the key");
        }
        let len = len32(self.hashed_part.len())?;
        let digest: Vec<u8> = if self.hash == HASH_SHA256 {
            let mut h = Sha256::new();
            for p in prefix {
                h.update(p);
            }
            h.update(self.hashed_part);
            h.update([4, 0xFF]);
            h.update(len);
            h.finish().to_vec()
        } else {
            let mut h = Sha512::new();
            for p in prefix {
                h.update(p);
            }
            h.update(self.hashed_part);
            h.update([4, 0xFF]);
            h.update(len);
            h.finish().to_vec()
        };
        let public = DevicePublicKey::from_bytes(&key.point).map_err(Error)?;
        // The left 16 bits are a quick check only; the signature decides.
        if digest[..2] != self.left16 || !public.verify(&digest, &self.value) {
            return err(format!(
                "the signature by {} does not match",
                key.fingerprint()
            ));
        }
        Ok(())
    }
}

/// A valid detached signature: by which key, made when.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verified {
    /// The signing key's fingerprint.
    pub fingerprint: String,
    /// When the signature was made (seconds since 1970, UTC).
    pub created: u32,
}

/// Checks the armored detached signature `armored` of `document` against the trusted `keys`
/// at `now` (seconds since 1970): at least one signature packet in it must be a v4 binary
/// document signature (type 0x00) by one of the keys or one of their signing subkeys, valid,
/// unexpired, made by an unexpired key; [`Verified::fingerprint`] is the trusted key's.
///
/// # Errors
/// [`Error`] naming why: the armor or packets, an unsupported version or algorithm, a
/// signature by a key not in `keys`, a signature that does not match the document, expiry.
pub fn verify_detached(
    keys: &[PublicKey],
    document: &[u8],
    armored: &str,
    now: u64,
) -> Result<Verified, Error> {
    let data = dearmor(armored, "SIGNATURE")?;
    let packets = packets(&data)?;
    if packets.is_empty() {
        return err("no signature packet");
    }
    let mut last = Error("no signature packet".into());
    for packet in packets {
        if packet.tag != TAG_SIGNATURE {
            return err(format!(
                "a packet of type {} in a detached signature",
                packet.tag
            ));
        }
        match verify_one(keys, document, packet.body, now) {
            Ok(verified) => return Ok(verified),
            Err(e) => last = e,
        }
    }
    Err(last)
}

fn verify_one(
    keys: &[PublicKey],
    document: &[u8],
    body: &[u8],
    now: u64,
) -> Result<Verified, Error> {
    let signature = Signature::parse(body)?;
    if signature.sig_type != 0x00 {
        return err(format!(
            "signature type 0x{:02x}: only signatures of a binary document (0x00) are accepted",
            signature.sig_type
        ));
    }
    // (the trusted key, the key that signs: itself or one of its signing subkeys)
    let candidates: Vec<(&PublicKey, &PublicKey)> = keys
        .iter()
        .flat_map(|k| std::iter::once((k, k)).chain(k.subkeys.iter().map(move |s| (k, s))))
        .filter(|(_, signer)| signature.may_be_by(signer))
        .collect();
    let Some((first, _)) = candidates.first() else {
        return err("the signature is not by any of the trusted keys");
    };
    let mut last = None;
    for (key, signer) in &candidates {
        match signature.verify(signer, &[document]) {
            Ok(()) => {
                let created = signature.created().unwrap_or(0);
                if let Some(valid_for) = signature.hashed_u32(3).filter(|&v| v != 0)
                    && u64::from(created) + u64::from(valid_for) <= now
                {
                    return err(format!(
                        "the signature by {} has expired",
                        key.fingerprint()
                    ));
                }
                if let Some(expires) = key.expires.into_iter().chain(signer.expires).min()
                    && expires <= now
                {
                    return err(format!("the key {} has expired", key.fingerprint()));
                }
                return Ok(Verified {
                    fingerprint: key.fingerprint(),
                    created,
                });
            }
            Err(e) => last = Some(e),
        }
    }
    Err(last.unwrap_or_else(|| Error(format!("no signature by {}", first.fingerprint()))))
}

// ---------------------------------------------------------------------------------------
// ASCII armor (RFC 9580 section 6)

/// The CRC-24 of the armor checksum (RFC 4880 section 6.1).
pub fn crc24(data: &[u8]) -> u32 {
    let mut crc: u32 = 0x00B7_04CE;
    for &byte in data {
        crc ^= u32::from(byte) << 16;
        for _ in 0..8 {
            crc <<= 1;
            if crc & 0x0100_0000 != 0 {
                crc ^= 0x0186_4CFB;
            }
        }
    }
    crc & 0x00FF_FFFF
}

const BASE64: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

fn base64(data: &[u8]) -> String {
    let mut out = String::with_capacity(data.len().div_ceil(3) * 4);
    for chunk in data.chunks(3) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |n, (i, &b)| n | u32::from(b) << (16 - 8 * i));
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(char::from(BASE64[(n >> (18 - 6 * i)) as usize & 63]));
            } else {
                out.push('=');
            }
        }
    }
    out
}

fn unbase64(text: &str) -> Result<Vec<u8>, Error> {
    let mut out = Vec::with_capacity(text.len() / 4 * 3);
    let mut n: u32 = 0;
    let mut bits = 0;
    let mut padding = 0;
    for c in text.bytes() {
        if c.is_ascii_whitespace() {
            continue;
        }
        if c == b'=' {
            padding += 1;
            continue;
        }
        if padding > 0 {
            return err("base64 continues after its padding");
        }
        let Some(value) = BASE64.iter().position(|&b| b == c) else {
            return err(format!("'{}' is not base64", char::from(c)));
        };
        n = (n << 6) | u32::from(byte(value));
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push(((n >> bits) & 0xFF).to_be_bytes()[3]);
            n &= (1 << bits) - 1;
        }
    }
    if padding > 2 {
        return err("too much base64 padding");
    }
    Ok(out)
}

/// `data` ASCII-armored with the label (`SIGNATURE`, `PUBLIC KEY BLOCK`) and its CRC-24.
pub fn armor(label: &str, data: &[u8]) -> String {
    use std::fmt::Write as _;
    let mut out = format!("-----BEGIN PGP {label}-----\n\n");
    let body = base64(data);
    for line in body.as_bytes().chunks(64) {
        out.push_str(&String::from_utf8_lossy(line));
        out.push('\n');
    }
    let crc = crc24(data).to_be_bytes();
    out.push('=');
    out.push_str(&base64(&crc[1..]));
    let _ = write!(out, "\n-----END PGP {label}-----\n");
    out
}

/// The binary data of the ASCII armor with `label` in `text`: armor headers are skipped, the
/// CRC-24 line, when there is one (RFC 9580 makes it optional), must match.
///
/// # Errors
/// [`Error`]: no such armor, no end line, bad base64, a checksum that does not match.
pub fn dearmor(text: &str, label: &str) -> Result<Vec<u8>, Error> {
    if text.len() > MAX_INPUT_BYTES * 2 {
        return err(format!("more than {} bytes", MAX_INPUT_BYTES * 2));
    }
    let begin = format!("-----BEGIN PGP {label}-----");
    let end = format!("-----END PGP {label}-----");
    let mut lines = text.lines().map(str::trim_end);
    if !lines.by_ref().any(|l| l == begin) {
        if text.contains("-----BEGIN PGP ") {
            return err(format!("not an armored {}", label.to_lowercase()));
        }
        return err(format!("no '{begin}' line"));
    }
    let mut in_headers = true;
    let mut body = String::new();
    let mut checksum = None;
    let mut ended = false;
    for line in lines {
        if line == end {
            ended = true;
            break;
        }
        if in_headers {
            if line.is_empty() {
                in_headers = false;
                continue;
            }
            if line.contains(": ") {
                continue;
            }
            in_headers = false;
        }
        if let Some(crc) = line.strip_prefix('=') {
            checksum = Some(crc.to_owned());
        } else if checksum.is_some() {
            return err("armor data after the checksum line");
        } else {
            body.push_str(line);
        }
    }
    if !ended {
        return err(format!("no '{end}' line"));
    }
    let data = unbase64(&body)?;
    if let Some(crc) = checksum {
        let stated = unbase64(&crc)?;
        let computed = crc24(&data).to_be_bytes();
        if stated.len() != 3 || stated != computed[1..] {
            return err("the armor checksum (CRC-24) does not match: the data was changed");
        }
    }
    Ok(data)
}

#[cfg(test)]
mod tests;
