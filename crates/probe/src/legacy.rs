//! Legacy TLS by hand: a `ClientHello` rustls would never send (SSL 3.0, TLS 1.0, TLS 1.1, or
//! TLS 1.2 offering only weak suites), built byte by byte — protocol framing, no crypto —
//! and the server's first answer read with `tls-parser`.
//!
//! The probe stops after the `ServerHello` or the alert: it never completes a legacy
//! handshake, so it needs no legacy cryptography.

#[cfg(test)]
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

/// The test oracle of [`WEAK_SUITES`]: whether a suite lacks forward secrecy or authenticated encryption, or is otherwise
/// broken (NULL, export, DES, 3DES, RC4, anonymous). TLS 1.3 suites are never weak.
#[cfg(test)]
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
    let mut body = Vec::with_capacity(256);
    body.extend_from_slice(&version.to_be_bytes());
    body.extend_from_slice(random);
    body.push(0); // no session id
    let mut offered: Vec<u16> = suites.to_vec();
    offered.push(0x00FF); // TLS_EMPTY_RENEGOTIATION_INFO_SCSV
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
        // supported_groups: x25519, secp256r1, secp384r1, secp521r1.
        extension(
            &mut extensions,
            0x000A,
            &[0, 8, 0, 0x1D, 0, 0x17, 0, 0x18, 0, 0x19],
        );
        // ec_point_formats: uncompressed.
        extension(&mut extensions, 0x000B, &[1, 0]);
        if version >= TLS12 {
            // signature_algorithms: ECDSA and RSA (PSS and PKCS#1) with SHA-2, then SHA-1.
            let schemes: [u16; 10] = [
                0x0403, 0x0503, 0x0603, 0x0804, 0x0805, 0x0806, 0x0401, 0x0501, 0x0601, 0x0201,
            ];
            let mut data = Vec::new();
            push_u16(&mut data, schemes.len() * 2);
            for scheme in schemes {
                data.extend_from_slice(&scheme.to_be_bytes());
            }
            extension(&mut extensions, 0x000D, &data);
        }
        // renegotiation_info: initial handshake.
        extension(&mut extensions, 0xFF01, &[0]);
        push_u16(&mut body, extensions.len());
        body.extend_from_slice(&extensions);
    }
    let mut handshake = Vec::with_capacity(body.len() + 4);
    handshake.push(1); // client_hello
    let len = body.len();
    handshake.extend_from_slice(&[
        u8::try_from(len >> 16).unwrap_or(0),
        u8::try_from((len >> 8) & 0xFF).unwrap_or(0),
        u8::try_from(len & 0xFF).unwrap_or(0),
    ]);
    handshake.extend_from_slice(&body);
    let mut record = Vec::with_capacity(handshake.len() + 5);
    record.push(22); // handshake
    // The record layer says TLS 1.0 (or SSL 3.0), as every client does for compatibility.
    record.extend_from_slice(&version.min(TLS10).to_be_bytes());
    push_u16(&mut record, handshake.len());
    record.extend_from_slice(&handshake);
    record
}

fn push_u16(out: &mut Vec<u8>, value: usize) {
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
                        let secure_renegotiation = hello
                            .ext
                            .and_then(|ext| tls_parser::parse_tls_server_hello_extensions(ext).ok())
                            .is_some_and(|(_, extensions)| {
                                extensions.iter().any(|e| {
                                    matches!(e, tls_parser::TlsExtension::RenegotiationInfo(_))
                                })
                            });
                        return Answer::ServerHello {
                            version: hello.version.0,
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
    let mut rest = bytes;
    let mut handshake = Vec::new();
    while let Ok((after, record)) = tls_parser::parse_tls_raw_record(rest) {
        if record.hdr.record_type != TlsRecordType::Handshake {
            break;
        }
        handshake.extend_from_slice(record.data);
        rest = after;
    }
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
