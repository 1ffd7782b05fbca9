//! Legacy TLS by hand: a `ClientHello` rustls would never send (SSL 3.0, TLS 1.0, TLS 1.1, or
//! TLS 1.2 offering only weak suites), built byte by byte — protocol framing, no crypto —
//! and the server's first answer read with `tls-parser`.
//!
//! The probe stops after the `ServerHello` or the alert: it never completes a legacy
//! handshake, so it needs no legacy cryptography.

use tls_parser::{TlsCipherAu, TlsCipherEnc, TlsCipherKx, TlsCipherMac};
use tls_parser::{TlsCipherSuite, TlsMessage, TlsMessageHandshake, TlsRecordType};

/// The most of a server's answer that is read: the largest TLS record and its header.
pub(crate) const MAX_ANSWER_BYTES: usize = 5 + (1 << 14) + 2048;

/// SSL 3.0.
pub(crate) const SSL3: u16 = 0x0300;
/// TLS 1.0.
pub(crate) const TLS10: u16 = 0x0301;
/// TLS 1.1.
pub(crate) const TLS11: u16 = 0x0302;
/// TLS 1.2.
pub(crate) const TLS12: u16 = 0x0303;
/// TLS 1.3 (offered in `supported_versions`; the hello itself says TLS 1.2).
pub(crate) const TLS13: u16 = 0x0304;

/// The groups offered unless a probe asks for others: x25519, secp256r1, secp384r1, secp521r1.
pub(crate) const DEFAULT_GROUPS: &[u16] = &[0x1D, 0x17, 0x18, 0x19];

/// The TLS 1.3 suites (RFC 8446): AES-GCM, ChaCha20-Poly1305, AES-CCM and AES-CCM-8.
pub(crate) const TLS13_SUITES: &[u16] = &[0x1302, 0x1301, 0x1303, 0x1304, 0x1305];

/// The random of a `HelloRetryRequest` (RFC 8446 section 4.1.3): SHA-256 of
/// `HelloRetryRequest`.
const HELLO_RETRY_RANDOM: [u8; 32] = [
    0xCF, 0x21, 0xAD, 0x74, 0xE5, 0x9A, 0x61, 0x11, 0xBE, 0x1D, 0x8C, 0x02, 0x1E, 0x65, 0xB8, 0x91,
    0xC2, 0xA2, 0x11, 0x16, 0x7A, 0xBB, 0x8C, 0x5E, 0x07, 0x9E, 0x09, 0xE2, 0xC8, 0xA8, 0x33, 0x9C,
];

/// The suites offered when asking whether an old protocol version is accepted: what servers
/// of that era negotiate (ECDHE, DHE and RSA key exchange; AES, Camellia, 3DES, RC4).
pub(crate) const LEGACY_SUITES: &[u16] = &[
    0xC014, 0xC013, 0xC00A, 0xC009, 0x0039, 0x0033, 0x0035, 0x002F, 0x0084, 0x0041, 0x000A, 0xC012,
    0x0016, 0x0005, 0x0004,
];

/// The strong TLS 1.2 suites (ECDHE or DHE with AEAD), offered when asking whether TLS 1.2
/// is accepted at all: a server that requires a client certificate ends a TLS 1.2 handshake
/// without one, but only after its `ServerHello`, which is what this probe reads.
pub(crate) const TLS12_SUITES: &[u16] = &[
    0xC02C, 0xC02B, 0xC030, 0xC02F, 0xCCA9, 0xCCA8, 0x009F, 0x009E, 0xC0AD, 0xC0AC,
];

/// The weak suites offered in TLS 1.2: no forward secrecy (RSA key exchange) or no AEAD
/// (CBC with HMAC, RC4, NULL), 3DES and export ciphers.
pub(crate) const WEAK_SUITES: &[u16] = &[
    // ECDHE with CBC.
    0xC028, 0xC027, 0xC024, 0xC023, 0xC014, 0xC013, 0xC00A, 0xC009, 0xC012, 0xC008,
    // DHE with CBC.
    0x006B, 0x0067, 0x0039, 0x0033, 0x0016, // RSA key exchange: GCM, CBC, 3DES.
    0x009D, 0x009C, 0x003D, 0x003C, 0x0035, 0x002F, 0x0084, 0x0041, 0x000A,
    // RC4, NULL, export, single DES.
    0x0005, 0x0004, 0x0002, 0x0001, 0x003B, 0x0003, 0x0006, 0x0009, 0x0008,
];

/// The name of a protocol version.
pub(crate) fn version_name(version: u16) -> String {
    match version {
        0x0200 => "SSL 2.0".to_owned(),
        SSL3 => "SSL 3.0".to_owned(),
        TLS10 => "TLS 1.0".to_owned(),
        TLS11 => "TLS 1.1".to_owned(),
        TLS12 => "TLS 1.2".to_owned(),
        0x0304 => "TLS 1.3".to_owned(),
        other => format!("0x{other:04x}"),
    }
}

/// The IANA name of a cipher suite, or its number.
pub(crate) fn suite_name(id: u16) -> String {
    TlsCipherSuite::from_id(id).map_or_else(|| format!("0x{id:04X}"), |s| s.name.to_owned())
}

/// Every TLS 1.2-and-older suite of the IANA registry (as `tls-parser` knows it), by number:
/// what the per-version enumeration offers. Signalling values (the renegotiation and fallback
/// SCSVs) and the TLS 1.3 suites are left out.
pub(crate) fn every_legacy_suite() -> Vec<u16> {
    let mut ids: Vec<u16> = tls_parser::CIPHERS
        .values()
        .filter(|s| s.kx != tls_parser::TlsCipherKx::Tls13 && s.id.0 != 0x00FF && s.id.0 != 0x5600)
        .map(|s| s.id.0)
        .collect();
    ids.sort_unstable();
    ids.dedup();
    ids
}

/// The suites of the IANA registry whose key exchange is `kx` (ECDHE or DHE), by number.
pub(crate) fn suites_with_kx(kx: tls_parser::TlsCipherKx) -> Vec<u16> {
    let mut ids: Vec<u16> = tls_parser::CIPHERS
        .values()
        .filter(|s| s.kx == kx)
        .map(|s| s.id.0)
        .collect();
    ids.sort_unstable();
    ids
}

/// Whether a suite lacks forward secrecy or authenticated encryption, or is otherwise broken
/// (NULL, export, DES, 3DES, RC4, anonymous); an unknown number counts as weak. TLS 1.3 suites
/// are never weak. Also the test oracle of [`WEAK_SUITES`].
pub(crate) fn is_weak(id: u16) -> bool {
    match TlsCipherSuite::from_id(id) {
        None => true,
        Some(s) if s.kx == TlsCipherKx::Tls13 => false,
        Some(s) => {
            !matches!(s.kx, TlsCipherKx::Ecdhe | TlsCipherKx::Dhe)
                || s.mac != TlsCipherMac::Aead
                || matches!(
                    s.enc,
                    TlsCipherEnc::Null
                        | TlsCipherEnc::Des
                        | TlsCipherEnc::TripleDes
                        | TlsCipherEnc::Rc4
                )
                || s.au == TlsCipherAu::Null
        }
    }
}

/// A `ClientHello` record offering `version` (as the highest), `suites` (and the
/// renegotiation SCSV), the compression methods `compression` in that order (0 null, 1
/// DEFLATE), and for TLS the extensions servers of every era expect: server name (for a host
/// name), groups, point formats, signature algorithms (TLS 1.2) and secure renegotiation.
/// `random` is the client random.
pub(crate) fn client_hello(
    version: u16,
    suites: &[u16],
    compression: &[u8],
    server_name: Option<&str>,
    random: &[u8; 32],
) -> Vec<u8> {
    client_hello_with_groups(
        version,
        suites,
        compression,
        server_name,
        DEFAULT_GROUPS,
        random,
    )
}

/// As [`client_hello`], offering the groups `groups` (IANA numbers) in `supported_groups`.
/// For [`TLS13`] the hello says TLS 1.2 and offers TLS 1.3 in `supported_versions`, with an
/// empty `key_share`: a TLS 1.3 server that accepts a suite and a group offered answers a
/// `HelloRetryRequest` naming both, before any key is exchanged.
pub(crate) fn client_hello_with_groups(
    version: u16,
    suites: &[u16],
    compression: &[u8],
    server_name: Option<&str>,
    groups: &[u16],
    random: &[u8; 32],
) -> Vec<u8> {
    let hello = ClientHello {
        version,
        suites,
        compression,
        server_name,
        groups,
    };
    let handshake = hello.message(random, Renegotiation::Initial);
    let mut record = Vec::with_capacity(handshake.len() + 5);
    record.push(22); // handshake
    // The record layer says TLS 1.0 (or SSL 3.0), as every client does for compatibility.
    record.extend_from_slice(&version.min(TLS10).to_be_bytes());
    push_u16(&mut record, handshake.len());
    record.extend_from_slice(&handshake);
    record
}

/// What a `ClientHello` says of renegotiation (RFC 5746).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Renegotiation<'a> {
    /// A first handshake: the SCSV and an empty `renegotiation_info`.
    Initial,
    /// A renegotiation of a session whose server signalled RFC 5746: `renegotiation_info`
    /// carrying the client's `Finished` `verify_data`, no SCSV.
    Secure(&'a [u8]),
    /// A renegotiation of a session whose server did not: neither (legacy renegotiation).
    Legacy,
}

/// The offer of a `ClientHello`: the highest `version`, the `suites`, the compression
/// methods in order (0 null, 1 DEFLATE), the server name, the groups (IANA numbers).
#[derive(Debug, Clone, Copy)]
pub(crate) struct ClientHello<'a> {
    pub(crate) version: u16,
    pub(crate) suites: &'a [u16],
    pub(crate) compression: &'a [u8],
    pub(crate) server_name: Option<&'a str>,
    pub(crate) groups: &'a [u16],
}

impl ClientHello<'_> {
    /// The handshake message (type, length, body; no record header) with the client random
    /// `random`.
    pub(crate) fn message(&self, random: &[u8; 32], renegotiation: Renegotiation<'_>) -> Vec<u8> {
        let ClientHello {
            version,
            suites,
            compression,
            server_name,
            groups,
        } = *self;
        let mut body = Vec::with_capacity(256);
        body.extend_from_slice(&version.min(TLS12).to_be_bytes());
        body.extend_from_slice(random);
        body.push(0); // no session id
        let mut offered: Vec<u16> = suites.to_vec();
        if renegotiation == Renegotiation::Initial {
            offered.push(0x00FF); // TLS_EMPTY_RENEGOTIATION_INFO_SCSV
        }
        push_u16(&mut body, offered.len() * 2);
        for suite in offered {
            body.extend_from_slice(&suite.to_be_bytes());
        }
        body.push(u8::try_from(compression.len()).unwrap_or(1));
        body.extend_from_slice(compression.get(..255).unwrap_or(compression));
        if version > SSL3 {
            let mut extensions = Vec::new();
            if let Some(name) = server_name.filter(|n| n.len() <= 255) {
                let mut list = Vec::new();
                list.push(0); // host_name
                push_u16(&mut list, name.len());
                list.extend_from_slice(name.as_bytes());
                let mut data = Vec::new();
                push_u16(&mut data, list.len());
                data.extend_from_slice(&list);
                extension(&mut extensions, 0x0000, &data);
            }
            // supported_groups.
            let mut data = Vec::new();
            push_u16(&mut data, groups.len().min(0x7FFF) * 2);
            for group in groups.iter().take(0x7FFF) {
                data.extend_from_slice(&group.to_be_bytes());
            }
            extension(&mut extensions, 0x000A, &data);
            // ec_point_formats: uncompressed.
            extension(&mut extensions, 0x000B, &[1, 0]);
            if version >= TLS12 {
                // signature_algorithms: ECDSA and RSA (PSS and PKCS#1) with SHA-2, Ed25519,
                // then SHA-1.
                let schemes: [u16; 11] = [
                    0x0403, 0x0503, 0x0603, 0x0804, 0x0805, 0x0806, 0x0807, 0x0401, 0x0501, 0x0601,
                    0x0201,
                ];
                let mut data = Vec::new();
                push_u16(&mut data, schemes.len() * 2);
                for scheme in schemes {
                    data.extend_from_slice(&scheme.to_be_bytes());
                }
                extension(&mut extensions, 0x000D, &data);
            }
            if version >= TLS13 {
                // supported_versions: TLS 1.3 only; key_share: no share (ask for a retry).
                extension(&mut extensions, 0x002B, &[2, 0x03, 0x04]);
                extension(&mut extensions, 0x0033, &[0, 0]);
            }
            match renegotiation {
                Renegotiation::Initial => extension(&mut extensions, 0xFF01, &[0]),
                Renegotiation::Secure(verify_data) => {
                    let mut data = vec![u8::try_from(verify_data.len()).unwrap_or(0)];
                    data.extend_from_slice(verify_data.get(..255).unwrap_or(verify_data));
                    extension(&mut extensions, 0xFF01, &data);
                }
                Renegotiation::Legacy => {}
            }
            push_u16(&mut body, extensions.len());
            body.extend_from_slice(&extensions);
        }
        handshake_message(1, &body) // client_hello
    }
}

/// A handshake message: its type, the 24-bit length and `body`.
pub(crate) fn handshake_message(kind: u8, body: &[u8]) -> Vec<u8> {
    let len = body.len().min(0xFF_FFFF);
    let mut message = Vec::with_capacity(len + 4);
    message.push(kind);
    message.extend_from_slice(&u32::try_from(len).unwrap_or(0).to_be_bytes()[1..]);
    message.extend_from_slice(body.get(..len).unwrap_or(body));
    message
}

pub(crate) fn push_u16(out: &mut Vec<u8>, value: usize) {
    out.extend_from_slice(&u16::try_from(value).unwrap_or(u16::MAX).to_be_bytes());
}

fn extension(out: &mut Vec<u8>, kind: u16, data: &[u8]) {
    out.extend_from_slice(&kind.to_be_bytes());
    push_u16(out, data.len());
    out.extend_from_slice(data);
}

/// The server's first answer to a `ClientHello`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Answer {
    /// More bytes are needed to decide.
    Incomplete,
    /// A `ServerHello`: the version and suite the server chose.
    ServerHello {
        /// The negotiated version.
        version: u16,
        /// The chosen suite.
        suite: u16,
        /// The chosen compression method (0: none).
        compression: u8,
        /// Whether the server signalled secure renegotiation (RFC 5746, `renegotiation_info`).
        secure_renegotiation: bool,
    },
    /// A TLS 1.3 `HelloRetryRequest`: the server accepts TLS 1.3, the suite and the group it
    /// names, and asks for a key share of that group.
    HelloRetryRequest {
        /// The chosen suite.
        suite: u16,
        /// The group of the `key_share` extension (absent when the server asks for a retry
        /// for another reason).
        group: Option<u16>,
    },
    /// An alert instead.
    Alert {
        /// 1 warning, 2 fatal.
        level: u8,
        /// The alert's name (or number).
        description: String,
    },
    /// Something that is not a TLS answer to a `ClientHello`.
    NotTls(String),
}

/// Reads the server's first answer from `bytes` (what arrived so far): the first handshake
/// message, across records if it is fragmented, or the first alert.
///
/// # Security
/// `bytes` come from the network: every length is checked by `tls-parser`, nothing panics,
/// and at most [`MAX_ANSWER_BYTES`] are ever given.
pub(crate) fn parse_answer(bytes: &[u8]) -> Answer {
    let mut rest = bytes;
    let mut handshake = Vec::new();
    loop {
        if rest.is_empty() {
            return Answer::Incomplete;
        }
        let (after, record) = match tls_parser::parse_tls_raw_record(rest) {
            Ok(parsed) => parsed,
            Err(tls_parser::nom::Err::Incomplete(_)) => return Answer::Incomplete,
            Err(_) => return Answer::NotTls(format!("not a TLS record: {}", hex_prefix(rest))),
        };
        rest = after;
        match record.hdr.record_type {
            TlsRecordType::Alert => {
                return match tls_parser::parse_tls_message_alert(record.data) {
                    Ok((_, TlsMessage::Alert(alert))) => Answer::Alert {
                        level: alert.severity.0,
                        description: alert_name(alert.code.0),
                    },
                    _ => Answer::NotTls("a malformed alert".to_owned()),
                };
            }
            TlsRecordType::Handshake => {
                handshake.extend_from_slice(record.data);
                match tls_parser::parse_tls_message_handshake(&handshake) {
                    Ok((_, TlsMessage::Handshake(TlsMessageHandshake::ServerHello(hello)))) => {
                        let extensions = hello
                            .ext
                            .and_then(|ext| tls_parser::parse_tls_server_hello_extensions(ext).ok())
                            .map(|(_, extensions)| extensions)
                            .unwrap_or_default();
                        let secure_renegotiation = extensions
                            .iter()
                            .any(|e| matches!(e, tls_parser::TlsExtension::RenegotiationInfo(_)));
                        // TLS 1.3 says its version in `supported_versions`.
                        let version = extensions
                            .iter()
                            .find_map(|e| match e {
                                tls_parser::TlsExtension::SupportedVersions(v) => {
                                    v.first().map(|v| v.0)
                                }
                                _ => None,
                            })
                            .unwrap_or(hello.version.0);
                        if hello.random == HELLO_RETRY_RANDOM {
                            let group = extensions.iter().find_map(|e| match e {
                                tls_parser::TlsExtension::KeyShare(share) => {
                                    <[u8; 2]>::try_from(*share).ok().map(u16::from_be_bytes)
                                }
                                _ => None,
                            });
                            return Answer::HelloRetryRequest {
                                suite: hello.cipher.0,
                                group,
                            };
                        }
                        return Answer::ServerHello {
                            version,
                            suite: hello.cipher.0,
                            compression: hello.compression.0,
                            secure_renegotiation,
                        };
                    }
                    Ok((_, other)) => {
                        return Answer::NotTls(format!(
                            "a handshake message other than ServerHello first: {}",
                            message_kind(&other)
                        ));
                    }
                    Err(tls_parser::nom::Err::Incomplete(_)) => {}
                    Err(_) => return Answer::NotTls("a malformed ServerHello".to_owned()),
                }
            }
            other => {
                return Answer::NotTls(format!("a record of type {} first", other.0));
            }
        }
    }
}

/// The server's certificate chain (DER, leaf first) from its answer to a TLS 1.2 (or older)
/// `ClientHello`: the `Certificate` message that follows the `ServerHello`, read across
/// records. `None` while it is incomplete, and when the answer holds none (an alert, another
/// record, a malformed message).
///
/// # Security
/// As [`parse_answer`]: every length is checked by `tls-parser`, at most
/// [`MAX_ANSWER_BYTES`] are given.
pub(crate) fn certificate_chain(bytes: &[u8]) -> Option<Vec<Vec<u8>>> {
    let handshake = handshake_bytes(bytes);
    let mut messages = handshake.as_slice();
    while let Ok((after, message)) = tls_parser::parse_tls_message_handshake(messages) {
        if let TlsMessage::Handshake(TlsMessageHandshake::Certificate(certificate)) = message {
            return Some(
                certificate
                    .cert_chain
                    .iter()
                    .map(|c| c.data.to_vec())
                    .collect(),
            );
        }
        messages = after;
    }
    None
}

/// The server's key exchange in its answer to a TLS 1.2 (or older) `ClientHello`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum KeyExchange {
    /// ECDHE on the named group (IANA number); explicit curves are `0xFF01`/`0xFF02`.
    Ec(u16),
    /// DHE with a prime of this many bits.
    Dh(usize),
}

/// The concatenated handshake messages at the start of `bytes` (records of other types end
/// them).
fn handshake_bytes(bytes: &[u8]) -> Vec<u8> {
    let mut rest = bytes;
    let mut handshake = Vec::new();
    while let Ok((after, record)) = tls_parser::parse_tls_raw_record(rest) {
        if record.hdr.record_type != TlsRecordType::Handshake {
            break;
        }
        handshake.extend_from_slice(record.data);
        rest = after;
    }
    handshake
}

/// The server's key exchange from its `ServerKeyExchange` (`dhe`: the chosen suite is DHE,
/// else ECDHE), read across records. `None` while it is incomplete and when the answer holds
/// none (an alert, RSA key exchange, a malformed message).
///
/// # Security
/// As [`parse_answer`]: every length is checked, at most [`MAX_ANSWER_BYTES`] are given.
pub(crate) fn server_key_exchange(bytes: &[u8], dhe: bool) -> Option<KeyExchange> {
    let handshake = handshake_bytes(bytes);
    let mut messages = handshake.as_slice();
    while let Ok((after, message)) = tls_parser::parse_tls_message_handshake(messages) {
        if let TlsMessage::Handshake(TlsMessageHandshake::ServerKeyExchange(ske)) = message {
            let parameters = ske.parameters;
            if dhe {
                let (_, params) = tls_parser::parse_dh_params(parameters).ok()?;
                let prime: Vec<u8> = params
                    .dh_p
                    .iter()
                    .copied()
                    .skip_while(|b| *b == 0)
                    .collect();
                let bits = prime.first().map_or(0, |first| {
                    (prime.len() - 1) * 8 + (8 - first.leading_zeros() as usize)
                });
                return Some(KeyExchange::Dh(bits));
            }
            return match parameters {
                [3, high, low, ..] => Some(KeyExchange::Ec(u16::from_be_bytes([*high, *low]))),
                [1, ..] => Some(KeyExchange::Ec(0xFF01)),
                [2, ..] => Some(KeyExchange::Ec(0xFF02)),
                _ => None,
            };
        }
        messages = after;
    }
    None
}

/// Whether the answer to a TLS 1.2 `ClientHello` holds everything up to the
/// `ServerHelloDone` (or a `ServerKeyExchange`), so that nothing more need be read.
pub(crate) fn through_key_exchange(bytes: &[u8]) -> bool {
    let handshake = handshake_bytes(bytes);
    let mut messages = handshake.as_slice();
    while let Ok((after, message)) = tls_parser::parse_tls_message_handshake(messages) {
        if matches!(
            message,
            TlsMessage::Handshake(
                TlsMessageHandshake::ServerKeyExchange(_) | TlsMessageHandshake::ServerDone(_)
            )
        ) {
            return true;
        }
        messages = after;
    }
    false
}

fn message_kind(message: &TlsMessage<'_>) -> &'static str {
    match message {
        TlsMessage::Handshake(TlsMessageHandshake::HelloRetryRequest(_)) => "HelloRetryRequest",
        TlsMessage::Handshake(TlsMessageHandshake::Certificate(_)) => "Certificate",
        TlsMessage::Handshake(_) => "handshake",
        TlsMessage::ChangeCipherSpec => "ChangeCipherSpec",
        TlsMessage::Alert(_) => "Alert",
        TlsMessage::ApplicationData(_) => "ApplicationData",
        TlsMessage::Heartbeat(_) => "Heartbeat",
    }
}

/// The name of an alert description, e.g. `protocol_version`.
pub(crate) fn alert_name(code: u8) -> String {
    let name = tls_parser::TlsAlertDescription(code).to_string();
    if name.chars().all(|c| c.is_ascii_digit()) || name.starts_with("TlsAlertDescription") {
        return format!("alert {code}");
    }
    // CamelCase to snake_case, as the RFCs write them.
    let mut out = String::new();
    for (i, c) in name.chars().enumerate() {
        if c.is_ascii_uppercase() && i > 0 {
            out.push('_');
        }
        out.push(c.to_ascii_lowercase());
    }
    out
}

fn hex_prefix(bytes: &[u8]) -> String {
    use std::fmt::Write as _;
    // The record header only: a decision must not change as more bytes arrive after it.
    bytes.iter().take(5).fold(String::new(), |mut out, b| {
        let _ = write!(out, "{b:02x}");
        out
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A handshake message of `kind` with `body`.
    fn message(kind: u8, body: &[u8]) -> Vec<u8> {
        let len = u32::try_from(body.len()).unwrap().to_be_bytes();
        let mut out = vec![kind, len[1], len[2], len[3]];
        out.extend_from_slice(body);
        out
    }

    /// `messages` in one handshake record.
    fn record(messages: &[u8]) -> Vec<u8> {
        let mut out = vec![22, 3, 3];
        out.extend_from_slice(&u16::try_from(messages.len()).unwrap().to_be_bytes());
        out.extend_from_slice(messages);
        out
    }

    fn server_hello_body(random: &[u8; 32], suite: u16, extensions: &[u8]) -> Vec<u8> {
        let mut body = vec![3, 3];
        body.extend_from_slice(random);
        body.push(0);
        body.extend_from_slice(&suite.to_be_bytes());
        body.push(0);
        body.extend_from_slice(&u16::try_from(extensions.len()).unwrap().to_be_bytes());
        body.extend_from_slice(extensions);
        body
    }

    #[test]
    fn a_tls13_hello_offers_one_version_no_key_share_and_the_groups_asked_for() {
        let hello = client_hello_with_groups(
            TLS13,
            TLS13_SUITES,
            &[0],
            Some("plc.example"),
            &[0x0100, 29],
            &[7; 32],
        );
        let (rest, plaintext) = tls_parser::parse_tls_plaintext(&hello).unwrap();
        assert!(rest.is_empty());
        let [TlsMessage::Handshake(TlsMessageHandshake::ClientHello(ch))] =
            plaintext.msg.as_slice()
        else {
            panic!("one ClientHello");
        };
        assert_eq!(ch.version.0, TLS12, "the hello itself says TLS 1.2");
        let (_, extensions) =
            tls_parser::parse_tls_client_hello_extensions(ch.ext.unwrap()).unwrap();
        let versions = extensions.iter().find_map(|e| match e {
            tls_parser::TlsExtension::SupportedVersions(v) => Some(v.clone()),
            _ => None,
        });
        assert_eq!(versions, Some(vec![tls_parser::TlsVersion(TLS13)]));
        let groups = extensions.iter().find_map(|e| match e {
            tls_parser::TlsExtension::EllipticCurves(g) => Some(g.clone()),
            _ => None,
        });
        assert_eq!(
            groups,
            Some(vec![
                tls_parser::NamedGroup(0x0100),
                tls_parser::NamedGroup(29)
            ])
        );
        assert!(
            extensions.iter().any(
                |e| matches!(e, tls_parser::TlsExtension::KeyShare(share) if *share == [0, 0])
            )
        );
    }

    #[test]
    fn a_hello_retry_request_names_its_suite_and_group_and_a_tls13_server_hello_its_version() {
        // key_share with the group secp384r1 only, supported_versions TLS 1.3.
        let extensions = [0, 0x33, 0, 2, 0, 24, 0, 0x2B, 0, 2, 3, 4];
        let retry = record(&message(
            2,
            &server_hello_body(&HELLO_RETRY_RANDOM, 0x1302, &extensions),
        ));
        let expected = Answer::HelloRetryRequest {
            suite: 0x1302,
            group: Some(24),
        };
        assert_eq!(parse_answer(&retry), expected);
        for cut in 0..retry.len() {
            assert_eq!(
                parse_answer(&retry[..cut]),
                Answer::Incomplete,
                "cut at {cut}"
            );
        }
        // Any other random: a ServerHello, whose version is the one supported_versions says.
        let hello = record(&message(
            2,
            &server_hello_body(&[9; 32], 0x1301, &extensions[6..]),
        ));
        assert!(matches!(
            parse_answer(&hello),
            Answer::ServerHello {
                version: TLS13,
                suite: 0x1301,
                ..
            }
        ));
    }

    #[test]
    fn the_key_exchange_is_read_from_the_server_key_exchange_across_records() {
        let hello = message(2, &server_hello_body(&[9; 32], 0xC02F, &[]));
        // ECDHE: named curve secp192r1, a 1-byte point, a signature.
        let ecdhe = message(12, &[3, 0, 19, 1, 4, 4, 1, 0, 2, 0xAA, 0xBB]);
        let done = message(14, &[]);
        let mut messages = hello.clone();
        messages.extend_from_slice(&ecdhe);
        messages.extend_from_slice(&done);
        let whole = record(&messages);
        assert_eq!(
            server_key_exchange(&whole, false),
            Some(KeyExchange::Ec(19))
        );
        assert!(through_key_exchange(&whole));
        // Split over two records, and cut short: nothing until it is whole.
        let (first, second) = messages.split_at(hello.len() + 3);
        let mut split = record(first);
        split.extend_from_slice(&record(second));
        assert_eq!(
            server_key_exchange(&split, false),
            Some(KeyExchange::Ec(19))
        );
        let short = record(first);
        assert_eq!(server_key_exchange(&short, false), None);
        assert!(!through_key_exchange(&short));
        // DHE: a 1024-bit prime (leading zero bytes do not count), generator 2, a public value.
        let mut dh = vec![0, 129, 0, 0x80];
        dh.extend_from_slice(&[0xFF; 127]);
        dh.extend_from_slice(&[0, 1, 2, 0, 1, 5]);
        let mut messages = hello;
        messages.extend_from_slice(&message(12, &dh));
        assert_eq!(
            server_key_exchange(&record(&messages), true),
            Some(KeyExchange::Dh(1024))
        );
        // Explicit curves, an alert: as they are.
        let explicit = record(&message(12, &[1, 5, 5, 5]));
        assert_eq!(
            server_key_exchange(&explicit, false),
            Some(KeyExchange::Ec(0xFF01))
        );
        assert_eq!(server_key_exchange(&[21, 3, 3, 0, 2, 2, 40], false), None);
        // The fuzz oracle holds on these samples and every cut of them.
        for sample in [&whole, &split, &explicit, &record(&messages)] {
            for cut in 0..=sample.len() {
                crate::fuzzing::server_key_exchange(&sample[..cut]);
                crate::fuzzing::server_answer(&sample[..cut]);
            }
        }
    }

    #[test]
    fn the_registry_enumeration_leaves_out_signals_and_tls13_suites() {
        let every = every_legacy_suite();
        assert!(every.len() > 300, "{}", every.len());
        for left_out in [0x00FF, 0x5600, 0x1301, 0x1302] {
            assert!(!every.contains(&left_out), "{left_out:04x}");
        }
        for kept in [0x0005, 0xC02F, 0x00BF, 0xCCA8] {
            assert!(every.contains(&kept), "{kept:04x}");
        }
        let ecdhe = suites_with_kx(TlsCipherKx::Ecdhe);
        assert!(ecdhe.contains(&0xC02F) && !ecdhe.contains(&0x009E));
        // Anonymous suites are weak, now that the probe can find them.
        assert!(is_weak(0x00BF));
    }
}
