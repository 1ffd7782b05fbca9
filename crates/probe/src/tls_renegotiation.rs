//! The `tls-client-renegotiation` check: does the server accept a renegotiation the client
//! starts? Each one costs the server a full handshake (public-key operations) for a few
//! bytes from the client, a lever for exhausting it (CR 7.1); a legacy renegotiation
//! (without RFC 5746) also lets a man in the middle splice his traffic in front of the
//! client's (CVE-2009-3555, CR 3.1). rustls never renegotiates, so the probe carries out a
//! TLS 1.2 handshake of its own:
//!
//! 1. A `ClientHello` offering the ECDHE suites with 256-bit AEAD keys of the backend
//!    (AES-256-GCM, ChaCha20-Poly1305) and the groups X25519, P-256 and P-384, with the
//!    renegotiation SCSV. The server's flight up to `ServerHelloDone` is read (at most
//!    [`MAX_FLIGHT_BYTES`]); its signature over the key exchange is not checked — nothing
//!    that matters is exchanged, as with every inspecting probe.
//! 2. Its certificate request is answered with the user's client certificate
//!    (`--client-cert`, signed with its key) or with none; the key exchange, the change of
//!    cipher spec and the `Finished` message follow, and the server's `Finished` is checked.
//! 3. Inside the session, a second `ClientHello`: with `renegotiation_info` carrying the
//!    client's `verify_data` when the server signalled RFC 5746, else without it (legacy).
//!    A `ServerHello` in answer is acceptance; an alert (`no_renegotiation`), a closed
//!    connection or silence for [`RENEGOTIATION_WAIT`] is refusal.
//!
//! The cryptography is the backend's, through rustls's provider interface (key exchange,
//! the TLS 1.2 PRF, the record AEAD, the transcript hash, the client key's signature); the
//! probe writes the messages. Suites whose AEAD key is not 256 bits are not offered: the
//! provider interface takes only 256-bit keys.

use std::sync::Arc;
use std::time::Duration;

use rustls::crypto::cipher::{
    AeadKey, InboundOpaqueMessage, MessageDecrypter, MessageEncrypter, OutboundChunks,
    OutboundPlainMessage,
};
use rustls::crypto::{ActiveKeyExchange, CryptoProvider, SupportedKxGroup};
use rustls::{
    ClientConfig, ContentType, ProtocolVersion, SignatureScheme, SupportedCipherSuite,
    Tls12CipherSuite,
};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::TcpStream;

use crate::evidence::Outcome;
use crate::legacy::{self, ClientHello, Renegotiation};
use crate::net::{self, Context, HANDSHAKE_TIMEOUT};
use crate::run::Finding;
use crate::target::Target;

/// The most of the server's first flight read (certificate chains included).
pub(crate) const MAX_FLIGHT_BYTES: usize = 256 * 1024;
/// The largest TLS record body accepted (2^14 plus the AEAD's expansion allowance).
const MAX_RECORD_BYTES: usize = (1 << 14) + 2048;
/// How long the probe waits for the answer to its renegotiating `ClientHello`.
const RENEGOTIATION_WAIT: Duration = Duration::from_secs(5);
/// The groups offered: those of the backend that TLS 1.2 servers use.
const GROUPS: &[u16] = &[0x001D, 0x0017, 0x0018];
/// `verify_data` is 12 bytes in every TLS 1.2 suite.
const VERIFY_DATA_LEN: usize = 12;

/// What the server's first flight says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ServerHello {
    pub(crate) version: u16,
    pub(crate) random: [u8; 32],
    pub(crate) suite: u16,
    pub(crate) compression: u8,
    /// The `renegotiation_info` extension's data, if the server sent it (RFC 5746).
    pub(crate) renegotiation_info: Option<Vec<u8>>,
    /// Whether it agreed to the extended master secret (RFC 7627), which is not offered.
    pub(crate) extended_master_secret: bool,
}

/// A little-endian-free reader of handshake bodies: every read is bounds-checked.
struct Reader<'a>(&'a [u8]);

impl<'a> Reader<'a> {
    fn take(&mut self, count: usize) -> Result<&'a [u8], String> {
        if self.0.len() < count {
            return Err(format!(
                "a field of {count} bytes where {} remain",
                self.0.len()
            ));
        }
        let (head, rest) = self.0.split_at(count);
        self.0 = rest;
        Ok(head)
    }

    fn u8(&mut self) -> Result<u8, String> {
        Ok(self.take(1)?[0])
    }

    fn u16(&mut self) -> Result<u16, String> {
        let bytes = self.take(2)?;
        Ok(u16::from_be_bytes([bytes[0], bytes[1]]))
    }

    fn vector8(&mut self) -> Result<&'a [u8], String> {
        let len = usize::from(self.u8()?);
        self.take(len)
    }

    fn vector16(&mut self) -> Result<&'a [u8], String> {
        let len = usize::from(self.u16()?);
        self.take(len)
    }
}

/// Reads a `ServerHello` body.
pub(crate) fn parse_server_hello(body: &[u8]) -> Result<ServerHello, String> {
    let mut r = Reader(body);
    let version = r.u16()?;
    let mut random = [0u8; 32];
    random.copy_from_slice(r.take(32)?);
    let _session_id = r.vector8()?;
    let suite = r.u16()?;
    let compression = r.u8()?;
    let mut renegotiation_info = None;
    let mut extended_master_secret = false;
    if !r.0.is_empty() {
        let mut extensions = Reader(r.vector16()?);
        while !extensions.0.is_empty() {
            let kind = extensions.u16()?;
            let data = extensions.vector16()?;
            match kind {
                0xFF01 => {
                    let mut info = Reader(data);
                    renegotiation_info = Some(info.vector8()?.to_vec());
                }
                0x0017 => extended_master_secret = true,
                _ => {}
            }
        }
    }
    Ok(ServerHello {
        version,
        random,
        suite,
        compression,
        renegotiation_info,
        extended_master_secret,
    })
}

/// Reads the named group and the public point of an ECDHE `ServerKeyExchange` body (the
/// signature after them is not read).
pub(crate) fn parse_ecdhe_params(body: &[u8]) -> Result<(u16, Vec<u8>), String> {
    let mut r = Reader(body);
    let curve_type = r.u8()?;
    if curve_type != 3 {
        return Err(format!(
            "an ECDHE key exchange with curve type {curve_type}, not a named curve"
        ));
    }
    let group = r.u16()?;
    let point = r.vector8()?;
    if point.is_empty() {
        return Err("an empty ECDHE public point".to_owned());
    }
    Ok((group, point.to_vec()))
}

/// Reads the signature schemes of a TLS 1.2 `CertificateRequest` body.
pub(crate) fn parse_certificate_request(body: &[u8]) -> Result<Vec<u16>, String> {
    let mut r = Reader(body);
    let _types = r.vector8()?;
    let mut schemes = Reader(r.vector16()?);
    let mut out = Vec::new();
    while !schemes.0.is_empty() {
        out.push(schemes.u16()?);
    }
    Ok(out)
}

/// Handshake messages reassembled across records, within [`MAX_FLIGHT_BYTES`].
#[derive(Debug, Default)]
pub(crate) struct Messages {
    buffer: Vec<u8>,
    taken: usize,
}

impl Messages {
    /// Adds a record's handshake bytes.
    ///
    /// # Errors
    /// More than [`MAX_FLIGHT_BYTES`] in all.
    pub(crate) fn push(&mut self, data: &[u8]) -> Result<(), String> {
        if self.taken + self.buffer.len() + data.len() > MAX_FLIGHT_BYTES {
            return Err(format!(
                "the server's handshake messages exceed {} KiB",
                MAX_FLIGHT_BYTES / 1024
            ));
        }
        self.buffer.extend_from_slice(data);
        Ok(())
    }

    /// The next whole message (type, length and body), if one has arrived.
    pub(crate) fn next_message(&mut self) -> Option<Vec<u8>> {
        let header = self.buffer.get(..4)?;
        let len =
            usize::from(header[1]) << 16 | usize::from(header[2]) << 8 | usize::from(header[3]);
        if self.buffer.len() < 4 + len {
            return None;
        }
        self.taken += 4 + len;
        Some(self.buffer.drain(..4 + len).collect())
    }
}

/// A TLS connection as records.
struct Records {
    tcp: TcpStream,
}

/// How reading a record ended without one.
enum NoRecord {
    Closed,
    Silent,
    Broken(String),
}

impl Records {
    async fn read(&mut self, wait: Duration) -> Result<(u8, Vec<u8>), NoRecord> {
        let read = async {
            let mut header = [0u8; 5];
            match self.tcp.read_exact(&mut header).await {
                Ok(_) => {}
                Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => {
                    return Err(NoRecord::Closed);
                }
                Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => {
                    return Err(NoRecord::Closed);
                }
                Err(e) => return Err(NoRecord::Broken(net::describe_io(&e))),
            }
            let len = usize::from(u16::from_be_bytes([header[3], header[4]]));
            if header[1] != 3 || len > MAX_RECORD_BYTES {
                return Err(NoRecord::Broken(format!(
                    "not a TLS record (header {header:02x?})"
                )));
            }
            let mut body = vec![0u8; len];
            self.tcp.read_exact(&mut body).await.map_err(|e| {
                if e.kind() == std::io::ErrorKind::UnexpectedEof {
                    NoRecord::Closed
                } else {
                    NoRecord::Broken(net::describe_io(&e))
                }
            })?;
            Ok((header[0], body))
        };
        tokio::time::timeout(wait, read)
            .await
            .unwrap_or(Err(NoRecord::Silent))
    }

    async fn write(&mut self, kind: u8, body: &[u8]) -> Result<(), String> {
        let mut record = Vec::with_capacity(body.len() + 5);
        record.push(kind);
        record.extend_from_slice(&legacy::TLS12.to_be_bytes());
        legacy::push_u16(&mut record, body.len());
        record.extend_from_slice(body);
        self.tcp
            .write_all(&record)
            .await
            .map_err(|e| format!("sending a record: {}", net::describe_io(&e)))
    }
}

/// The name sent in `server_name`: the target's host, unless it is an address.
fn server_name(target: &Target) -> Option<&str> {
    target
        .host()
        .parse::<std::net::IpAddr>()
        .is_err()
        .then_some(target.host())
}

/// The probe's TLS 1.2 session: what it needs to renegotiate.
struct Session {
    records: Records,
    encrypter: Box<dyn MessageEncrypter>,
    decrypter: Box<dyn MessageDecrypter>,
    write_seq: u64,
    read_seq: u64,
    client_verify_data: Vec<u8>,
    server: ServerHello,
    suite: &'static Tls12CipherSuite,
    client_certificate: Option<bool>,
}

/// How a handshake of the probe's own ended before a session.
enum NoSession {
    /// The server refused the first `ClientHello` (an alert, or it closed): what it said.
    Refused(String),
    /// Anything else that keeps the check from a verdict.
    Failed(String),
}

/// The backend's TLS 1.2 suites with 256-bit AEAD keys and ECDHE, and its groups offered.
fn offer(
    provider: &CryptoProvider,
) -> (
    Vec<&'static Tls12CipherSuite>,
    Vec<&'static dyn SupportedKxGroup>,
) {
    let suites = provider
        .cipher_suites
        .iter()
        .filter_map(|s| match s {
            SupportedCipherSuite::Tls12(suite)
                if suite.aead_alg.key_block_shape().enc_key_len == AEAD_KEY_LEN
                    && suite.kx == rustls::crypto::KeyExchangeAlgorithm::ECDHE =>
            {
                Some(*suite)
            }
            _ => None,
        })
        .collect();
    let groups = provider
        .kx_groups
        .iter()
        .copied()
        .filter(|g| GROUPS.contains(&u16::from(g.name())))
        .collect();
    (suites, groups)
}

/// The key length the provider interface takes ([`AeadKey`] from 32 bytes).
const AEAD_KEY_LEN: usize = 32;

/// `PRF(secret, label, seed)` of `len` bytes with the suite's PRF.
fn prf(
    suite: &Tls12CipherSuite,
    secret: &[u8],
    label: &[u8],
    seed: &[u8],
    len: usize,
) -> zeroize::Zeroizing<Vec<u8>> {
    let mut out = zeroize::Zeroizing::new(vec![0u8; len]);
    suite.prf_provider.for_secret(&mut out, secret, label, seed);
    out
}

fn alert_text(body: &[u8]) -> String {
    match body {
        [level, description, ..] => format!(
            "{} alert {}",
            if *level == 2 { "fatal" } else { "warning" },
            legacy::alert_name(*description)
        ),
        _ => "a truncated alert".to_owned(),
    }
}

/// The client configuration whose provider (and client certificate, over Modbus/TCP
/// Security) the handshake uses.
fn client_config(context: &Context) -> Result<Arc<ClientConfig>, String> {
    match &context.identity {
        Some(identity) => Ok(Arc::clone(identity)),
        None => rampart_vault::tls::danger_inspecting_client_config(
            &[&rustls::version::TLS12],
            None,
            &[],
        )
        .map_err(|e| e.to_string()),
    }
}

/// Steps 1 and 2: a TLS 1.2 session of the probe's own.
async fn establish(context: &Context, target: &Target) -> Result<Session, NoSession> {
    let failed = |e: String| NoSession::Failed(e);
    let config = client_config(context).map_err(failed)?;
    let provider = Arc::clone(config.crypto_provider());
    let (suites, groups) = offer(&provider);
    if suites.is_empty() || groups.is_empty() {
        return Err(failed(
            "the TLS backend offers no ECDHE suite with a 256-bit AEAD key".to_owned(),
        ));
    }
    let suite_ids: Vec<u16> = suites.iter().map(|s| u16::from(s.common.suite)).collect();
    let group_ids: Vec<u16> = groups.iter().map(|g| u16::from(g.name())).collect();
    let (client_random, client_hello) = tls12_client_hello(
        &suite_ids,
        &group_ids,
        server_name(target),
        Renegotiation::Initial,
    )
    .map_err(failed)?;
    let tcp = context
        .connect(target)
        .await
        .map_err(|e| failed(format!("could not connect: {}", net::describe_io(&e))))?;
    let mut records = Records { tcp };
    records.write(22, &client_hello).await.map_err(failed)?;
    let mut transcript = client_hello;

    // The server's flight.
    let mut messages = Messages::default();
    let mut server: Option<ServerHello> = None;
    let mut params: Option<(u16, Vec<u8>)> = None;
    let mut requested: Option<Vec<u16>> = None;
    'flight: loop {
        let (kind, body) = match records.read(HANDSHAKE_TIMEOUT).await {
            Ok(record) => record,
            Err(NoRecord::Closed) => {
                return Err(NoSession::Refused("closed the connection".to_owned()));
            }
            Err(NoRecord::Silent) => {
                return Err(failed(format!(
                    "no complete answer to the ClientHello within {} s",
                    HANDSHAKE_TIMEOUT.as_secs()
                )));
            }
            Err(NoRecord::Broken(e)) => return Err(failed(e)),
        };
        match kind {
            21 => return Err(NoSession::Refused(alert_text(&body))),
            22 => messages.push(&body).map_err(failed)?,
            other => {
                return Err(failed(format!(
                    "a record of type {other} in the server's first flight"
                )));
            }
        }
        while let Some(message) = messages.next_message() {
            let body = &message[4..];
            match message[0] {
                2 => {
                    let hello = parse_server_hello(body)
                        .map_err(|e| failed(format!("ServerHello: {e}")))?;
                    if hello.version != legacy::TLS12 {
                        return Err(NoSession::Refused(format!(
                            "answered with {} instead of TLS 1.2",
                            legacy::version_name(hello.version)
                        )));
                    }
                    if !suite_ids.contains(&hello.suite)
                        || hello.compression != 0
                        || hello.extended_master_secret
                    {
                        return Err(failed(format!(
                            "the ServerHello picks what was not offered (suite {}, compression {}{})",
                            legacy::suite_name(hello.suite),
                            hello.compression,
                            if hello.extended_master_secret {
                                ", extended master secret"
                            } else {
                                ""
                            }
                        )));
                    }
                    server = Some(hello);
                }
                12 => {
                    params = Some(
                        parse_ecdhe_params(body)
                            .map_err(|e| failed(format!("ServerKeyExchange: {e}")))?,
                    );
                }
                13 => {
                    requested = Some(
                        parse_certificate_request(body)
                            .map_err(|e| failed(format!("CertificateRequest: {e}")))?,
                    );
                }
                _ => {}
            }
            let done = message[0] == 14;
            transcript.extend_from_slice(&message);
            if done {
                break 'flight;
            }
        }
    }
    let (Some(server), Some((group, server_point))) = (server, params) else {
        return Err(failed(
            "the server's flight lacks a ServerHello or an ECDHE ServerKeyExchange".to_owned(),
        ));
    };
    let Some(suite) = suites
        .iter()
        .copied()
        .find(|s| u16::from(s.common.suite) == server.suite)
    else {
        return Err(failed("the suite picked is not one offered".to_owned()));
    };
    let Some(kx_group) = groups.iter().find(|g| u16::from(g.name()) == group) else {
        return Err(failed(format!(
            "the server picked group {group:#06x}, not one offered"
        )));
    };

    // The client's flight.
    let mut client_certificate = None;
    let mut signer = None;
    if let Some(schemes) = &requested {
        let offered: Vec<SignatureScheme> =
            schemes.iter().map(|s| SignatureScheme::from(*s)).collect();
        let certified = context
            .identity
            .as_ref()
            .and_then(|_| config.client_auth_cert_resolver.resolve(&[], &offered));
        let mut chain = Vec::new();
        if let Some(certified) = &certified {
            for cert in &certified.cert {
                let len = cert.len();
                chain.extend_from_slice(&u32::try_from(len).unwrap_or(0).to_be_bytes()[1..]);
                chain.extend_from_slice(cert.as_ref());
            }
            signer = certified.key.choose_scheme(&offered);
        }
        let mut body = u32::try_from(chain.len()).unwrap_or(0).to_be_bytes()[1..].to_vec();
        body.extend_from_slice(&chain);
        let message = legacy::handshake_message(11, &body);
        records.write(22, &message).await.map_err(failed)?;
        transcript.extend_from_slice(&message);
        client_certificate = Some(signer.is_some());
    }
    let active: Box<dyn ActiveKeyExchange> = kx_group.start().map_err(|e| failed(e.to_string()))?;
    let mut key_exchange = vec![u8::try_from(active.pub_key().len()).unwrap_or(0)];
    key_exchange.extend_from_slice(active.pub_key());
    let message = legacy::handshake_message(16, &key_exchange);
    records.write(22, &message).await.map_err(failed)?;
    transcript.extend_from_slice(&message);
    if let Some(signer) = signer {
        let signature = signer
            .sign(&transcript)
            .map_err(|e| failed(format!("signing with the client key: {e}")))?;
        let mut body = u16::from(signer.scheme()).to_be_bytes().to_vec();
        legacy::push_u16(&mut body, signature.len());
        body.extend_from_slice(&signature);
        let message = legacy::handshake_message(15, &body);
        records.write(22, &message).await.map_err(failed)?;
        transcript.extend_from_slice(&message);
    }
    let mut master = zeroize::Zeroizing::new([0u8; 48]);
    let seed = [client_random.as_slice(), server.random.as_slice()].concat();
    suite
        .prf_provider
        .for_key_exchange(&mut master, active, &server_point, b"master secret", &seed)
        .map_err(|e| failed(format!("the key exchange: {e}")))?;
    let shape = suite.aead_alg.key_block_shape();
    let block_len = 2 * shape.enc_key_len + 2 * shape.fixed_iv_len + shape.explicit_nonce_len;
    let seed = [server.random.as_slice(), client_random.as_slice()].concat();
    let block = prf(suite, master.as_slice(), b"key expansion", &seed, block_len);
    let (client_key, rest) = block.split_at(shape.enc_key_len);
    let (server_key, rest) = rest.split_at(shape.enc_key_len);
    let (client_iv, rest) = rest.split_at(shape.fixed_iv_len);
    let (server_iv, extra) = rest.split_at(shape.fixed_iv_len);
    let key = |bytes: &[u8]| {
        let mut buf = [0u8; AEAD_KEY_LEN];
        buf.copy_from_slice(bytes);
        AeadKey::from(buf)
    };
    let mut encrypter = suite.aead_alg.encrypter(key(client_key), client_iv, extra);
    let mut decrypter = suite.aead_alg.decrypter(key(server_key), server_iv);
    records.write(20, &[1]).await.map_err(failed)?;
    let hash = suite.common.hash_provider.hash(&transcript);
    let client_verify_data = prf(
        suite,
        master.as_slice(),
        b"client finished",
        hash.as_ref(),
        VERIFY_DATA_LEN,
    )
    .to_vec();
    let finished = legacy::handshake_message(20, &client_verify_data);
    let sealed = seal(&mut *encrypter, 0, &finished).map_err(failed)?;
    records.write(22, &sealed).await.map_err(failed)?;
    transcript.extend_from_slice(&finished);

    // The server's change of cipher spec and Finished.
    let mut changed = false;
    loop {
        let (kind, mut body) = match records.read(HANDSHAKE_TIMEOUT).await {
            Ok(record) => record,
            Err(NoRecord::Closed) => {
                return Err(failed(client_refusal(
                    client_certificate,
                    "closed the connection",
                )));
            }
            Err(NoRecord::Silent) => return Err(failed("no Finished from the server".to_owned())),
            Err(NoRecord::Broken(e)) => return Err(failed(e)),
        };
        match (kind, changed) {
            (20, false) => changed = true,
            (21, false) => {
                return Err(failed(client_refusal(
                    client_certificate,
                    &alert_text(&body),
                )));
            }
            (21, true) => {
                let plain = open(&mut *decrypter, 0, 21, &mut body).map_err(failed)?;
                return Err(failed(client_refusal(
                    client_certificate,
                    &alert_text(&plain),
                )));
            }
            (22, true) => {
                let plain = open(&mut *decrypter, 0, 22, &mut body).map_err(failed)?;
                let hash = suite.common.hash_provider.hash(&transcript);
                let expected = prf(
                    suite,
                    master.as_slice(),
                    b"server finished",
                    hash.as_ref(),
                    VERIFY_DATA_LEN,
                );
                let mut wanted = vec![20, 0, 0, 12];
                wanted.extend_from_slice(&expected);
                if !rampart_vault::crypto::ct_eq(&plain, &wanted) {
                    return Err(failed("the server's Finished does not verify".to_owned()));
                }
                break;
            }
            (other, _) => {
                return Err(failed(format!(
                    "a record of type {other} where the server's Finished belongs"
                )));
            }
        }
    }
    Ok(Session {
        records,
        encrypter,
        decrypter,
        write_seq: 1,
        read_seq: 1,
        client_verify_data,
        server,
        suite,
        client_certificate,
    })
}

/// Why the handshake ended after the client's flight: a server that wanted a certificate
/// and got none says so.
fn client_refusal(client_certificate: Option<bool>, what: &str) -> String {
    match client_certificate {
        Some(false) => format!(
            "the server {what} after the handshake without a client certificate (it asked \
             for one: give --client-cert)"
        ),
        _ => format!("the server {what} at the end of the handshake"),
    }
}

fn seal(encrypter: &mut dyn MessageEncrypter, seq: u64, plain: &[u8]) -> Result<Vec<u8>, String> {
    let message = OutboundPlainMessage {
        typ: ContentType::Handshake,
        version: ProtocolVersion::TLSv1_2,
        payload: OutboundChunks::Single(plain),
    };
    let record = encrypter
        .encrypt(message, seq)
        .map_err(|e| format!("encrypting: {e}"))?
        .encode();
    Ok(record.get(5..).unwrap_or_default().to_vec())
}

fn open(
    decrypter: &mut dyn MessageDecrypter,
    seq: u64,
    kind: u8,
    body: &mut [u8],
) -> Result<Vec<u8>, String> {
    let message =
        InboundOpaqueMessage::new(ContentType::from(kind), ProtocolVersion::TLSv1_2, body);
    decrypter
        .decrypt(message, seq)
        .map(|plain| plain.payload.to_vec())
        .map_err(|e| format!("a record from the server does not decrypt: {e}"))
}

/// How the server answered the renegotiating `ClientHello`.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Reply {
    ServerHello,
    Alert(String, u8),
    Closed,
    Silent,
}

/// A TLS 1.2 `ClientHello` handshake message (no compression) with a fresh client random,
/// for the first handshake and for the renegotiation inside it: the random and the message.
fn tls12_client_hello(
    suites: &[u16],
    groups: &[u16],
    server_name: Option<&str>,
    renegotiation: Renegotiation<'_>,
) -> Result<([u8; 32], Vec<u8>), String> {
    let hello = ClientHello {
        version: legacy::TLS12,
        suites,
        compression: &[0],
        server_name,
        groups,
    };
    let mut random = [0u8; 32];
    rampart_vault::crypto::fill_random(&mut random).map_err(|e| e.to_string())?;
    let message = hello.message(&random, renegotiation);
    Ok((random, message))
}

/// Step 3: the second `ClientHello`, and the answer.
async fn renegotiate(mut session: Session, target: &Target) -> Result<(Reply, bool), String> {
    let secure = session.server.renegotiation_info.is_some();
    let suite_ids = [u16::from(session.suite.common.suite)];
    let renegotiation = if secure {
        Renegotiation::Secure(&session.client_verify_data)
    } else {
        Renegotiation::Legacy
    };
    let (_, message) = tls12_client_hello(&suite_ids, GROUPS, server_name(target), renegotiation)?;
    let sealed = seal(&mut *session.encrypter, session.write_seq, &message)?;
    session.write_seq += 1;
    session.records.write(22, &sealed).await?;
    let deadline = tokio::time::Instant::now() + RENEGOTIATION_WAIT;
    loop {
        let left = deadline.saturating_duration_since(tokio::time::Instant::now());
        let (kind, mut body) = match session.records.read(left).await {
            Ok(record) => record,
            Err(NoRecord::Closed) => return Ok((Reply::Closed, secure)),
            Err(NoRecord::Silent) => return Ok((Reply::Silent, secure)),
            Err(NoRecord::Broken(e)) => return Err(e),
        };
        let plain = open(&mut *session.decrypter, session.read_seq, kind, &mut body)?;
        session.read_seq += 1;
        match kind {
            21 => {
                let description = plain.get(1).copied().unwrap_or(0);
                return Ok((Reply::Alert(alert_text(&plain), description), secure));
            }
            22 if plain.first() == Some(&2) => return Ok((Reply::ServerHello, secure)),
            // Application data or a HelloRequest: keep waiting for the answer.
            _ => {}
        }
    }
}

pub(crate) async fn client_renegotiation(context: &Context, target: &Target) -> Finding {
    let session = match establish(context, target).await {
        Ok(session) => session,
        Err(NoSession::Refused(why)) => {
            return Finding::new(
                Outcome::NotTested,
                format!(
                    "the server refused a TLS 1.2 handshake with ECDHE and AES-256-GCM or \
                     ChaCha20-Poly1305 ({why}): if it speaks only TLS 1.3 there is no \
                     renegotiation (tls-versions tells)"
                ),
            );
        }
        Err(NoSession::Failed(why)) => return Finding::new(Outcome::NotTested, why),
    };
    let suite = format!("{:?}", session.suite.common.suite);
    let certificate = session.client_certificate;
    let (reply, secure) = match renegotiate(session, target).await {
        Ok(answer) => answer,
        Err(why) => {
            return Finding::new(
                Outcome::NotTested,
                format!(
                    "after a TLS 1.2 handshake ({suite}), the renegotiation could not be asked: {why}"
                ),
            );
        }
    };
    let kind = if secure {
        "a secure renegotiation (RFC 5746)"
    } else {
        "a legacy renegotiation (the server does not signal RFC 5746)"
    };
    let finding = match &reply {
        Reply::ServerHello => Finding::new(
            Outcome::NotMet,
            format!(
                "accepts client-initiated renegotiation: after a TLS 1.2 handshake ({suite}), \
                 {kind} asked by the client was answered with a ServerHello{}",
                if secure {
                    " — each one costs the server a full handshake (denial of service)"
                } else {
                    " — open to CVE-2009-3555 (a man in the middle prefixes his traffic) and to \
                     denial of service"
                }
            ),
        ),
        Reply::Alert(text, _) => Finding::new(
            Outcome::Met,
            format!(
                "refuses client-initiated renegotiation: {kind} was answered with a {text} ({suite})"
            ),
        ),
        Reply::Closed => Finding::new(
            Outcome::Met,
            format!(
                "refuses client-initiated renegotiation: {kind} ended the connection ({suite})"
            ),
        ),
        Reply::Silent => Finding::new(
            Outcome::Met,
            format!(
                "refuses client-initiated renegotiation: {kind} got no answer within {} s ({suite})",
                RENEGOTIATION_WAIT.as_secs()
            ),
        ),
    };
    finding
        .with("suite", suite)
        .with("secure_renegotiation", secure)
        .with(
            "client_certificate",
            match certificate {
                None => "not asked for",
                Some(true) => "sent",
                Some(false) => "asked for, none sent",
            },
        )
        .with(
            "answer",
            match reply {
                Reply::ServerHello => "ServerHello".to_owned(),
                Reply::Alert(text, _) => text,
                Reply::Closed => "closed".to_owned(),
                Reply::Silent => "silent".to_owned(),
            },
        )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn server_hellos_are_read_with_their_renegotiation_info() {
        let mut body = vec![3, 3];
        body.extend_from_slice(&[7; 32]);
        body.extend_from_slice(&[2, 0xAA, 0xBB]); // session id
        body.extend_from_slice(&[0xC0, 0x2C, 0]); // suite, no compression
        body.extend_from_slice(&[0, 9, 0xFF, 0x01, 0, 1, 0, 0x00, 0x17, 0, 0]);
        let hello = parse_server_hello(&body).unwrap();
        assert_eq!(hello.suite, 0xC02C);
        assert_eq!(hello.renegotiation_info, Some(Vec::new()));
        assert!(hello.extended_master_secret);
        // Without extensions: no RFC 5746.
        let bare = parse_server_hello(&body[..40]).unwrap();
        assert_eq!(bare.renegotiation_info, None);
        // Every truncation is an error, never a panic.
        for len in 0..body.len() {
            if len != 40 {
                assert!(parse_server_hello(&body[..len]).is_err(), "{len}");
            }
        }
    }

    #[test]
    fn key_exchange_parameters_and_certificate_requests_are_read() {
        let params = [3, 0x00, 0x1D, 3, 1, 2, 3, 0xFF];
        assert_eq!(parse_ecdhe_params(&params).unwrap(), (0x1D, vec![1, 2, 3]));
        assert!(parse_ecdhe_params(&[1, 0, 0x1D, 1, 1]).is_err());
        assert!(parse_ecdhe_params(&[3, 0, 0x1D, 0]).is_err());
        let request = [1, 64, 0, 4, 4, 3, 8, 4, 0, 0];
        assert_eq!(
            parse_certificate_request(&request).unwrap(),
            [0x0403, 0x0804]
        );
        assert!(parse_certificate_request(&[1, 64, 0, 3, 4, 3, 8]).is_err());
    }

    #[test]
    fn handshake_messages_are_reassembled_across_records_within_the_bound() {
        let mut messages = Messages::default();
        let one = legacy::handshake_message(2, &[1, 2, 3]);
        let two = legacy::handshake_message(14, &[]);
        let both = [one.clone(), two.clone()].concat();
        messages.push(&both[..2]).unwrap();
        assert_eq!(messages.next_message(), None);
        messages.push(&both[2..]).unwrap();
        assert_eq!(messages.next_message(), Some(one));
        assert_eq!(messages.next_message(), Some(two));
        assert_eq!(messages.next_message(), None);
        let mut large = Messages::default();
        assert!(large.push(&vec![0; MAX_FLIGHT_BYTES]).is_ok());
        assert!(large.push(&[0]).is_err());
    }

    /// The cipher suites and the `renegotiation_info` data of a `ClientHello` message, read
    /// back with rusticata's parser.
    fn offered(message: &[u8]) -> (Vec<u16>, Option<Vec<u8>>) {
        let mut record = vec![22, 3, 1];
        legacy::push_u16(&mut record, message.len());
        record.extend_from_slice(message);
        let (_, plaintext) = tls_parser::parse_tls_plaintext(&record).unwrap();
        let tls_parser::TlsMessage::Handshake(tls_parser::TlsMessageHandshake::ClientHello(hello)) =
            &plaintext.msg[0]
        else {
            panic!("not a ClientHello");
        };
        let suites = hello.ciphers.iter().map(|c| c.0).collect();
        let (_, extensions) =
            tls_parser::parse_tls_client_hello_extensions(hello.ext.unwrap()).unwrap();
        let info = extensions.iter().find_map(|e| match e {
            tls_parser::TlsExtension::RenegotiationInfo(data) => Some(data.to_vec()),
            _ => None,
        });
        (suites, info)
    }

    #[test]
    fn renegotiating_hellos_carry_the_verify_data_or_nothing() {
        let hello = ClientHello {
            version: legacy::TLS12,
            suites: &[0xC02C],
            compression: &[0],
            server_name: Some("plc.example"),
            groups: GROUPS,
        };
        let random = [9u8; 32];
        let (suites, info) = offered(&hello.message(&random, Renegotiation::Initial));
        assert_eq!((suites, info), (vec![0xC02C, 0x00FF], Some(Vec::new())));
        let verify_data = [5u8; VERIFY_DATA_LEN];
        let (suites, info) = offered(&hello.message(&random, Renegotiation::Secure(&verify_data)));
        assert_eq!((suites, info), (vec![0xC02C], Some(verify_data.to_vec())));
        let (suites, info) = offered(&hello.message(&random, Renegotiation::Legacy));
        assert_eq!((suites, info), (vec![0xC02C], None));
    }

    #[test]
    fn the_backend_offers_256_bit_aead_suites_with_ecdhe() {
        let config = rampart_vault::tls::danger_inspecting_client_config(
            &[&rustls::version::TLS12],
            None,
            &[],
        )
        .unwrap();
        let (suites, groups) = offer(config.crypto_provider());
        let names: Vec<String> = suites
            .iter()
            .map(|s| format!("{:?}", s.common.suite))
            .collect();
        assert!(
            names.contains(&"TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384".to_owned())
                && names.contains(&"TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256".to_owned()),
            "{names:?}"
        );
        assert!(names.iter().all(|n| !n.contains("AES_128")), "{names:?}");
        assert_eq!(groups.len(), 3);
    }
}
