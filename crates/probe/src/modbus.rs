//! The Modbus/TCP checks: clear text, unauthenticated reads, malformed frames and (with
//! consent) a write without authentication or with a given role. Requests are encoded and answers decoded by
//! `rampart-modbus`; malformed frames are valid encodings with one field changed.

use rampart_modbus::{AddressRange, ReadDeviceIdCode, Request, RequestPdu, ResponsePdu};
use serde_json::Value;
use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt as _};

use crate::evidence::Outcome;
use crate::net::{self, ANSWER_TIMEOUT, Context, Read};
use crate::run::Finding;
use crate::target::Target;

/// The unit the probes address.
const UNIT: u8 = 1;
/// The largest Modbus/TCP ADU (and so the most of one answer that is read).
pub(crate) const MAX_ADU: usize = 260;

/// The ADU of `pdu` to [`UNIT`] with transaction id `tid`.
fn encode(tid: u16, pdu: RequestPdu<'_>) -> Vec<u8> {
    let mut bytes = Vec::new();
    // Every request built here is within the codec's limits (quantity 1, address 0).
    let _ = Request::new(tid, UNIT, pdu).encode(&mut bytes);
    bytes
}

/// FC 3 at address 0, quantity `quantity` (at most 125).
pub(crate) fn read_request(tid: u16, quantity: u16) -> Vec<u8> {
    match AddressRange::new(0, quantity.clamp(1, 125)) {
        Ok(range) => encode(tid, RequestPdu::ReadHoldingRegisters(range)),
        Err(_) => Vec::new(),
    }
}

/// Whether `bytes` hold one whole ADU by its MBAP length (valid or not).
pub(crate) fn adu_complete(bytes: &[u8]) -> bool {
    match bytes.get(4..6) {
        Some(&[hi, lo]) => bytes.len() >= 6 + usize::from(u16::from_be_bytes([hi, lo])),
        _ => false,
    }
}

/// What an answer was.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Reply {
    /// A normal response (data or an echo).
    Data(String),
    /// An exception response with this code.
    Exception(u8, String),
    /// The connection was closed (with the reason, if any).
    Closed(Option<String>),
    /// Nothing within the time allowed.
    Silent,
    /// Bytes that are no Modbus answer.
    Garbage(String),
}

impl Reply {
    fn describe(&self) -> String {
        match self {
            Reply::Data(what) => format!("answered with data ({what})"),
            Reply::Exception(_, what) => format!("answered {what}"),
            Reply::Closed(None) => "closed the connection".to_owned(),
            Reply::Closed(Some(why)) => format!("closed the connection ({why})"),
            Reply::Silent => format!("no answer within {} s", ANSWER_TIMEOUT.as_secs()),
            Reply::Garbage(what) => format!("answered something else ({what})"),
        }
    }

    fn is_modbus(&self) -> bool {
        matches!(self, Reply::Data(_) | Reply::Exception(..))
    }
}

fn classify(bytes: &[u8]) -> Reply {
    match rampart_modbus::decode_response(bytes) {
        Ok(response) => match response.pdu() {
            ResponsePdu::Exception { function, code } => Reply::Exception(
                code.value(),
                format!(
                    "exception 0x{:02X} ({}) to FC {}",
                    code.value(),
                    code.name().unwrap_or("unassigned"),
                    function.value()
                ),
            ),
            pdu => Reply::Data(format!("FC {}", pdu.function_code().value())),
        },
        Err(e) => Reply::Garbage(e.to_string()),
    }
}

/// An answer, described for observations.
pub(crate) fn describe_answer(bytes: &[u8]) -> String {
    classify(bytes).describe()
}

async fn call<S: AsyncRead + AsyncWrite + Unpin>(stream: &mut S, request: &[u8]) -> Reply {
    if let Err(e) = stream.write_all(request).await {
        return Reply::Closed(Some(net::describe_io(&e)));
    }
    match net::read_answer(stream, ANSWER_TIMEOUT, MAX_ADU, adu_complete).await {
        Read::Complete(bytes) => classify(&bytes),
        Read::Closed(bytes, why) if bytes.is_empty() => Reply::Closed(why),
        Read::Silent(bytes) if bytes.is_empty() => Reply::Silent,
        Read::Closed(bytes, _) | Read::Silent(bytes) => match crate::legacy::parse_answer(&bytes) {
            // A port that speaks only TLS answers clear text with an alert.
            crate::legacy::Answer::Alert { description, .. } => {
                Reply::Garbage(format!("a TLS alert, {description}: the port speaks TLS"))
            }
            _ => Reply::Garbage(format!("{} bytes of an incomplete answer", bytes.len())),
        },
    }
}

/// A Modbus session: plain TCP, or TLS for Modbus/TCP Security.
pub(crate) trait Session: AsyncRead + AsyncWrite + Unpin + Send {}

impl<S: AsyncRead + AsyncWrite + Unpin + Send> Session for S {}

/// A Modbus session with `target`: for `modbus-tls://`, a TLS session authenticated with the
/// plan's client certificate (the plan runs session checks there only when it has one).
pub(crate) async fn open(context: &Context, target: &Target) -> std::io::Result<Box<dyn Session>> {
    let tcp = context.connect(target).await?;
    if target.scheme() != crate::target::Scheme::ModbusTls {
        return Ok(Box::new(tcp));
    }
    let config = context.identity.clone().ok_or_else(|| {
        std::io::Error::other("a Modbus/TCP Security session needs a client certificate")
    })?;
    let name = rustls::pki_types::ServerName::try_from(target.host().to_owned()).unwrap_or(
        rustls::pki_types::ServerName::IpAddress(std::net::Ipv4Addr::LOCALHOST.into()),
    );
    let tls = tokio::time::timeout(
        net::HANDSHAKE_TIMEOUT,
        tokio_rustls::TlsConnector::from(config).connect(name, tcp),
    )
    .await
    .map_err(|_| std::io::Error::new(std::io::ErrorKind::TimedOut, "no TLS handshake within 5 s"))?
    .map_err(|e| {
        std::io::Error::other(format!(
            "TLS handshake: {}",
            crate::tls::describe_tls_error(&e)
        ))
    })?;
    Ok(Box::new(tls))
}

/// A connection to `target`, or the finding when there is none: refused means nothing
/// listens (met: `absent` says what is absent), anything else means not tested.
async fn connect(
    context: &Context,
    target: &Target,
    absent: &str,
) -> Result<Box<dyn Session>, Finding> {
    open(context, target).await.map_err(|e| {
        if e.kind() == std::io::ErrorKind::ConnectionRefused {
            Finding::new(
                Outcome::Met,
                format!("nothing accepts TCP connections there: {absent}"),
            )
        } else {
            Finding::new(
                Outcome::NotTested,
                format!("could not connect: {}", net::describe_io(&e)),
            )
        }
    })
}

pub(crate) async fn plaintext(context: &Context, target: &Target) -> Finding {
    // Clear text on purpose, whatever the scheme.
    let mut tcp = match context.connect(target).await {
        Ok(tcp) => tcp,
        Err(e) if e.kind() == std::io::ErrorKind::ConnectionRefused => {
            return Finding::new(
                Outcome::Met,
                "nothing accepts TCP connections there: no clear-text Modbus",
            );
        }
        Err(e) => {
            return Finding::new(
                Outcome::NotTested,
                format!("could not connect: {}", net::describe_io(&e)),
            );
        }
    };
    let reply = call(&mut tcp, &read_request(1, 1)).await;
    let finding = if reply.is_modbus() {
        Finding::new(
            Outcome::NotMet,
            format!(
                "speaks Modbus/TCP in clear text: a read (FC 3) {}",
                reply.describe()
            ),
        )
    } else {
        Finding::new(
            Outcome::Met,
            format!(
                "no clear-text Modbus answer: a read (FC 3) {}",
                reply.describe()
            ),
        )
    };
    finding.with("reply", reply.describe())
}

/// The public read requests: FC 1, 2, 3, 4 at address 0 quantity 1, FC 43/14 basic.
fn public_reads() -> Vec<(&'static str, Vec<u8>)> {
    let one = AddressRange::from_single(0);
    vec![
        ("FC 1 read coils", encode(1, RequestPdu::ReadCoils(one))),
        (
            "FC 2 read discrete inputs",
            encode(2, RequestPdu::ReadDiscreteInputs(one)),
        ),
        (
            "FC 3 read holding registers",
            encode(3, RequestPdu::ReadHoldingRegisters(one)),
        ),
        (
            "FC 4 read input registers",
            encode(4, RequestPdu::ReadInputRegisters(one)),
        ),
        (
            "FC 43/14 read device identification",
            encode(
                5,
                RequestPdu::ReadDeviceIdentification {
                    code: ReadDeviceIdCode::Basic,
                    object_id: 0,
                },
            ),
        ),
    ]
}

/// Sends each of `requests` on `session` and returns each reply; a session the target closed
/// (or left silent, or answered with something else) is reopened, paced, for the next one.
async fn ask_each(
    context: &Context,
    target: &Target,
    mut session: Box<dyn Session>,
    requests: Vec<(&'static str, Vec<u8>)>,
) -> Vec<(&'static str, Reply)> {
    let mut replies = Vec::new();
    let mut closed = false;
    for (name, request) in requests {
        let reply = if closed {
            match open(context, target).await {
                Ok(fresh) => {
                    session = fresh;
                    closed = false;
                    call(&mut session, &request).await
                }
                Err(e) => Reply::Closed(Some(net::describe_io(&e))),
            }
        } else {
            call(&mut session, &request).await
        };
        if matches!(reply, Reply::Closed(_) | Reply::Silent | Reply::Garbage(_)) {
            closed = true;
        }
        replies.push((name, reply));
    }
    replies
}

pub(crate) async fn unauthenticated_access(context: &Context, target: &Target) -> Finding {
    let session = match connect(context, target, "no unauthenticated Modbus").await {
        Ok(session) => session,
        Err(finding) => return finding,
    };
    let replies = ask_each(context, target, session, public_reads()).await;
    let answered: Vec<&str> = replies
        .iter()
        .filter(|(_, reply)| matches!(reply, Reply::Data(_)))
        .map(|(name, _)| *name)
        .collect();
    let finding = if answered.is_empty() {
        Finding::new(
            Outcome::Met,
            "no public read function answered with data without authentication",
        )
    } else {
        Finding::new(
            Outcome::NotMet,
            format!(
                "served data without authentication: {}",
                answered.join(", ")
            ),
        )
    };
    Finding {
        details: describe_replies(&replies),
        ..finding
    }
}

fn describe_replies(replies: &[(&'static str, Reply)]) -> serde_json::Map<String, Value> {
    replies
        .iter()
        .map(|(name, reply)| ((*name).to_owned(), Value::String(reply.describe())))
        .collect()
}

/// The public diagnostic and maintenance functions, read-only: FC 7, FC 8 sub-function 0
/// (return query data: an echo), FC 11, FC 12, FC 17 and FC 24 (the FIFO at address 0).
fn maintenance_functions() -> Vec<(&'static str, Vec<u8>)> {
    vec![
        (
            "FC 7 read exception status",
            encode(41, RequestPdu::ReadExceptionStatus),
        ),
        (
            "FC 8/0 diagnostics: return query data",
            encode(
                42,
                RequestPdu::Diagnostics {
                    sub_function: 0,
                    data: &[0xA5, 0x5A],
                },
            ),
        ),
        (
            "FC 11 get communication event counter",
            encode(43, RequestPdu::GetCommEventCounter),
        ),
        (
            "FC 12 get communication event log",
            encode(44, RequestPdu::GetCommEventLog),
        ),
        (
            "FC 17 report server id",
            encode(45, RequestPdu::ReportServerId),
        ),
        (
            "FC 24 read FIFO queue",
            encode(46, RequestPdu::ReadFifoQueue { address: 0 }),
        ),
    ]
}

/// Which diagnostic and maintenance functions the target serves (least functionality).
pub(crate) async fn function_codes(context: &Context, target: &Target) -> Finding {
    let who = if target.scheme() == crate::target::Scheme::ModbusTls {
        "to the client certificate's role"
    } else {
        "without authentication"
    };
    let session = match connect(context, target, "no Modbus functions served").await {
        Ok(session) => session,
        Err(finding) => return finding,
    };
    let replies = ask_each(context, target, session, maintenance_functions()).await;
    let served: Vec<&str> = replies
        .iter()
        .filter(|(_, reply)| matches!(reply, Reply::Data(_)))
        .map(|(name, _)| *name)
        .collect();
    let finding = if served.is_empty() {
        Finding::new(
            Outcome::Met,
            format!(
                "serves none of the diagnostic and maintenance functions {who} (FC 7, 8, 11, \
                 12, 17, 24: each refused, with an exception or a close)"
            ),
        )
    } else {
        Finding::new(
            Outcome::NotMet,
            format!(
                "serves diagnostic and maintenance functions {who}: {}",
                served.join(", ")
            ),
        )
    };
    Finding {
        details: describe_replies(&replies),
        ..finding
    }
}

/// The malformed frames: a valid FC 3 read with one field broken.
fn malformed_frame_set() -> Vec<(&'static str, Vec<u8>)> {
    let mut protocol = read_request(11, 1);
    if let Some(id) = protocol.get_mut(2..4) {
        id.copy_from_slice(&1u16.to_be_bytes());
    }
    let mut length = read_request(12, 1);
    if let Some(len) = length.get_mut(4..6) {
        len.copy_from_slice(&1024u16.to_be_bytes());
    }
    let mut quantity = read_request(13, 1);
    if let Some(q) = quantity.get_mut(10..12) {
        q.copy_from_slice(&126u16.to_be_bytes());
    }
    vec![
        ("protocol id 1", protocol),
        ("MBAP length 1024", length),
        ("FC 3 quantity 126", quantity),
    ]
}

pub(crate) async fn malformed_frames(context: &Context, target: &Target) -> Finding {
    // Before: does a valid read get an answer at all?
    let before = match open(context, target).await {
        Ok(mut tcp) => call(&mut tcp, &read_request(10, 1)).await,
        Err(e) => {
            return Finding::new(
                Outcome::NotTested,
                format!("could not connect: {}", net::describe_io(&e)),
            );
        }
    };
    let mut details = serde_json::Map::new();
    details.insert("valid read before".into(), Value::String(before.describe()));
    if matches!(before, Reply::Closed(_)) {
        // A target that closes even a valid read (a refused handshake, a revoked
        // certificate, no session) would pass every malformed frame by closing: nothing to
        // judge. (One that hangs on everything still hangs on the malformed frames.)
        return Finding {
            details,
            ..Finding::new(
                Outcome::NotTested,
                format!(
                    "a valid read (FC 3) was not answered ({}): the malformed frames would be \
                     judged against nothing",
                    before.describe()
                ),
            )
        };
    }
    let mut problems = Vec::new();
    for (name, frame) in malformed_frame_set() {
        let reply = match open(context, target).await {
            Ok(mut tcp) => call(&mut tcp, &frame).await,
            Err(e) => Reply::Closed(Some(net::describe_io(&e))),
        };
        match &reply {
            Reply::Exception(..) | Reply::Closed(_) => {}
            Reply::Silent => problems.push(format!("{name}: hung ({})", reply.describe())),
            Reply::Data(_) | Reply::Garbage(_) => {
                problems.push(format!("{name}: {}", reply.describe()));
            }
        }
        details.insert(name.to_owned(), Value::String(reply.describe()));
    }
    let after = match open(context, target).await {
        Ok(mut tcp) => call(&mut tcp, &read_request(14, 1)).await,
        Err(e) => Reply::Closed(Some(net::describe_io(&e))),
    };
    details.insert("valid read after".into(), Value::String(after.describe()));
    if before.is_modbus() && !after.is_modbus() {
        problems.push(format!(
            "a valid read answered before no longer is ({})",
            after.describe()
        ));
    }
    let finding = if problems.is_empty() {
        Finding::new(
            Outcome::Met,
            "each malformed frame got an exception or a closed connection within 3 s, and the \
             target answered as before",
        )
    } else {
        Finding::new(Outcome::NotMet, problems.join("; "))
    };
    Finding { details, ..finding }
}

/// The intrusive write of the value just read: without authentication on `modbus://`, with
/// the plan's client certificate (its role) on `modbus-tls://`.
pub(crate) async fn write_back(context: &Context, target: &Target) -> Finding {
    let who = if target.scheme() == crate::target::Scheme::ModbusTls {
        "with the client certificate's role"
    } else {
        "without authentication"
    };
    let mut tcp = match connect(context, target, "no write possible").await {
        Ok(tcp) => tcp,
        Err(finding) => return finding,
    };
    let Some(original) = read_register(&mut tcp, 21).await else {
        return Finding::new(
            Outcome::Met,
            format!("holding register 0 cannot be read {who}, so nothing was written"),
        );
    };
    let write = encode(
        22,
        RequestPdu::WriteSingleRegister {
            address: 0,
            value: original,
        },
    );
    let reply = call(&mut tcp, &write).await;
    let finding = match &reply {
        Reply::Data(_) => Finding::new(
            Outcome::NotMet,
            format!(
                "accepted a write (FC 6) {who} of holding register 0 (the value {original} it held)"
            ),
        ),
        _ => Finding::new(
            Outcome::Met,
            format!("refused a write (FC 6) {who}: {}", reply.describe()),
        ),
    }
    .with("value_read", original)
    .with("write", reply.describe());
    // The value written was the one read; if the register changed meanwhile, put back what
    // was read (the probe restores what it may have changed).
    if matches!(reply, Reply::Data(_)) {
        let Ok(mut tcp) = open(context, target).await else {
            return finding.with("restored", "not checked (no connection)");
        };
        match read_register(&mut tcp, 23).await {
            Some(now) if now == original => return finding.with("restored", "unchanged"),
            Some(_) => {
                let restore = encode(
                    24,
                    RequestPdu::WriteSingleRegister {
                        address: 0,
                        value: original,
                    },
                );
                let restored = call(&mut tcp, &restore).await;
                return finding.with("restored", format!("written back: {}", restored.describe()));
            }
            None => return finding.with("restored", "not checked (the read back failed)"),
        }
    }
    finding
}

/// The value of holding register 0, if the target serves it.
async fn read_register<S: AsyncRead + AsyncWrite + Unpin>(stream: &mut S, tid: u16) -> Option<u16> {
    if stream.write_all(&read_request(tid, 1)).await.is_err() {
        return None;
    }
    let Read::Complete(bytes) =
        net::read_answer(stream, ANSWER_TIMEOUT, MAX_ADU, adu_complete).await
    else {
        return None;
    };
    match rampart_modbus::decode_response(&bytes).ok()?.pdu() {
        ResponsePdu::ReadHoldingRegisters(registers) => registers.get(0),
        _ => None,
    }
}

#[cfg(test)]
pub(crate) fn test_malformed_frames() -> Vec<(&'static str, Vec<u8>)> {
    malformed_frame_set()
}
