//! The TLS checks: versions, cipher suites, the certificate chain, client authentication.

use std::sync::Arc;

use rustls::pki_types::{CertificateDer, ServerName};
use rustls::{ClientConfig, SupportedProtocolVersion};
use serde_json::{Value, json};
use tokio::io::AsyncWriteExt as _;
use tokio::net::TcpStream;
use tokio_rustls::client::TlsStream;
use x509_parser::prelude::{FromDer as _, GeneralName, X509Certificate};
use x509_parser::public_key::PublicKey;

use crate::evidence::Outcome;
use crate::legacy::{self, Answer};
use crate::net::{self, ANSWER_TIMEOUT, Context, HANDSHAKE_TIMEOUT, Read};
use crate::run::Finding;
use crate::target::Target;

/// How a handshake ended.
#[derive(Debug)]
pub(crate) enum Handshake {
    Done(Box<TlsStream<TcpStream>>),
    /// The TCP connection could not be made.
    Unreachable(String),
    /// The server (or the client) ended the handshake.
    Refused(String),
    /// The server neither finished nor ended the handshake in time.
    Silent(String),
}

pub(crate) async fn handshake(
    context: &Context,
    target: &Target,
    config: Arc<ClientConfig>,
) -> Handshake {
    let tcp = match context.connect(target).await {
        Ok(tcp) => tcp,
        Err(e) => return Handshake::Unreachable(net::describe_io(&e)),
    };
    // A host the server-name rules refuse (an underscore, say) is sent no SNI.
    let name = ServerName::try_from(target.host().to_owned())
        .unwrap_or(ServerName::IpAddress(std::net::Ipv4Addr::LOCALHOST.into()));
    match tokio::time::timeout(
        HANDSHAKE_TIMEOUT,
        tokio_rustls::TlsConnector::from(config).connect(name, tcp),
    )
    .await
    {
        Err(_) => Handshake::Silent(format!(
            "no complete handshake within {} s",
            HANDSHAKE_TIMEOUT.as_secs()
        )),
        Ok(Err(e)) => Handshake::Refused(describe_tls_error(&e)),
        Ok(Ok(stream)) => Handshake::Done(Box::new(stream)),
    }
}

/// The rustls error inside an I/O error, described as the alert or failure it was.
pub(crate) fn describe_tls_error(error: &std::io::Error) -> String {
    match error
        .get_ref()
        .and_then(|inner| inner.downcast_ref::<rustls::Error>())
    {
        Some(rustls::Error::AlertReceived(alert)) => {
            format!("alert {}", legacy::alert_name(u8::from(*alert)))
        }
        Some(other) => other.to_string(),
        None if error.kind() == std::io::ErrorKind::UnexpectedEof => {
            "the server closed the connection".to_owned()
        }
        None => net::describe_io(error),
    }
}

pub(crate) fn inspecting(
    versions: &[&'static SupportedProtocolVersion],
    suites: Option<&[rustls::CipherSuite]>,
) -> Result<Arc<ClientConfig>, String> {
    rampart_vault::tls::danger_inspecting_client_config(versions, suites, &[])
        .map_err(|e| e.to_string())
}

/// One hand-built `ClientHello`: the server's first answer.
async fn legacy_hello(
    context: &Context,
    target: &Target,
    version: u16,
    suites: &[u16],
) -> Result<Answer, String> {
    legacy_hello_with(context, target, version, suites, &[0]).await
}

/// As [`legacy_hello`], offering the compression methods `compression`.
async fn legacy_hello_with(
    context: &Context,
    target: &Target,
    version: u16,
    suites: &[u16],
    compression: &[u8],
) -> Result<Answer, String> {
    let read = send_hello(
        context,
        target,
        |random, server_name| {
            legacy::client_hello(version, suites, compression, server_name, random)
        },
        |bytes| legacy::parse_answer(bytes) != Answer::Incomplete,
    )
    .await?;
    Ok(answer_of(read))
}

/// One hand-built `ClientHello` offering `version`, `suites` and the groups `groups`: the
/// server's first answer ([`legacy::TLS13`] asks for a `HelloRetryRequest`).
pub(crate) async fn hello_with_groups(
    context: &Context,
    target: &Target,
    version: u16,
    suites: &[u16],
    groups: &[u16],
) -> Result<Answer, String> {
    let read = send_hello(
        context,
        target,
        |random, server_name| {
            legacy::client_hello_with_groups(version, suites, &[0], server_name, groups, random)
        },
        |bytes| legacy::parse_answer(bytes) != Answer::Incomplete,
    )
    .await?;
    Ok(answer_of(read))
}

/// One hand-built TLS 1.2 `ClientHello` offering `suites` (all ECDHE, or all DHE when
/// `dhe`) and the groups `groups`: the server's first answer and, when it chose a suite, its
/// key exchange read from the `ServerKeyExchange`.
pub(crate) async fn hello_key_exchange(
    context: &Context,
    target: &Target,
    suites: &[u16],
    groups: &[u16],
    dhe: bool,
) -> Result<(Answer, Option<legacy::KeyExchange>), String> {
    let read = send_hello(
        context,
        target,
        |random, server_name| {
            legacy::client_hello_with_groups(
                legacy::TLS12,
                suites,
                &[0],
                server_name,
                groups,
                random,
            )
        },
        |bytes| {
            legacy::through_key_exchange(bytes)
                || matches!(
                    legacy::parse_answer(bytes),
                    Answer::Alert { .. } | Answer::NotTls(_) | Answer::HelloRetryRequest { .. }
                )
        },
    )
    .await?;
    let bytes = match &read {
        Read::Complete(bytes) | Read::Closed(bytes, _) | Read::Silent(bytes) => bytes.clone(),
    };
    Ok((answer_of(read), legacy::server_key_exchange(&bytes, dhe)))
}

/// Sends the `ClientHello` `build` makes (from a fresh client random and the server name, for
/// a host name) on a new connection and reads the answer until `enough` says so.
async fn send_hello(
    context: &Context,
    target: &Target,
    build: impl FnOnce(&[u8; 32], Option<&str>) -> Vec<u8>,
    enough: impl FnMut(&[u8]) -> bool,
) -> Result<Read, String> {
    let mut random = [0u8; 32];
    rampart_vault::crypto::fill_random(&mut random).map_err(|e| e.to_string())?;
    let server_name = target
        .host()
        .parse::<std::net::IpAddr>()
        .is_err()
        .then_some(target.host());
    let hello = build(&random, server_name);
    let mut tcp = context
        .connect(target)
        .await
        .map_err(|e| net::describe_io(&e))?;
    tcp.write_all(&hello)
        .await
        .map_err(|e| format!("sending the ClientHello: {}", net::describe_io(&e)))?;
    Ok(net::read_answer(
        &mut tcp,
        HANDSHAKE_TIMEOUT,
        legacy::MAX_ANSWER_BYTES,
        enough,
    )
    .await)
}

/// The server's first answer in what was read.
fn answer_of(read: Read) -> Answer {
    match read {
        Read::Complete(bytes) => legacy::parse_answer(&bytes),
        Read::Closed(bytes, _) if bytes.is_empty() => {
            Answer::NotTls("closed without an answer".into())
        }
        Read::Silent(bytes) if bytes.is_empty() => Answer::NotTls(format!(
            "no answer within {} s",
            HANDSHAKE_TIMEOUT.as_secs()
        )),
        Read::Closed(bytes, _) | Read::Silent(bytes) => match legacy::parse_answer(&bytes) {
            Answer::Incomplete => Answer::NotTls("an incomplete TLS answer".into()),
            answer => answer,
        },
    }
}

/// Whether a legacy version is accepted, in words, and `true` when it is.
fn judge_legacy(version: u16, answer: &Result<Answer, String>) -> (String, bool) {
    match answer {
        Ok(Answer::ServerHello {
            version: chosen,
            suite,
            ..
        }) if *chosen == version => (format!("accepted ({})", legacy::suite_name(*suite)), true),
        Ok(Answer::ServerHello {
            version: chosen, ..
        }) => (
            format!(
                "refused (the server answered {})",
                legacy::version_name(*chosen)
            ),
            false,
        ),
        Ok(Answer::Alert { description, .. }) => (format!("refused ({description})"), false),
        Ok(Answer::NotTls(what)) => (format!("refused ({what})"), false),
        Ok(Answer::Incomplete) => ("refused (an incomplete answer)".to_owned(), false),
        Ok(Answer::HelloRetryRequest { .. }) => (
            "refused (the server asked for a TLS 1.3 retry)".to_owned(),
            false,
        ),
        Err(e) => (format!("not tested ({e})"), false),
    }
}

pub(crate) async fn versions(context: &Context, target: &Target) -> Finding {
    let mut details = serde_json::Map::new();
    let mut legacy_accepted = Vec::new();
    let mut unreachable = None;
    for version in [legacy::SSL3, legacy::TLS10, legacy::TLS11] {
        let answer = legacy_hello(context, target, version, legacy::LEGACY_SUITES).await;
        if let Err(e) = &answer {
            unreachable = Some(e.clone());
        }
        let (text, accepted) = judge_legacy(version, &answer);
        if accepted {
            legacy_accepted.push(legacy::version_name(version));
        }
        details.insert(legacy::version_name(version), Value::String(text));
    }
    let mut modern_accepted = Vec::new();
    // TLS 1.2 by hand as well: a server that requires a client certificate ends the TLS 1.2
    // handshake only after its ServerHello has accepted the version.
    let answer = legacy_hello(context, target, legacy::TLS12, legacy::TLS12_SUITES).await;
    let (text, accepted) = judge_legacy(legacy::TLS12, &answer);
    if accepted {
        modern_accepted.push("TLS 1.2".to_owned());
    }
    details.insert("TLS 1.2".to_owned(), Value::String(text));
    // TLS 1.3 by rustls: its client finishes the handshake before the server judges a
    // client certificate, so a refusal here is a refusal of the version (or of every suite).
    for (name, version) in [("TLS 1.3", &rustls::version::TLS13)] {
        let text = match inspecting(&[version], None) {
            Err(e) => format!("not tested ({e})"),
            Ok(config) => match handshake(context, target, config).await {
                Handshake::Done(stream) => {
                    modern_accepted.push(name.to_owned());
                    let suite = stream
                        .get_ref()
                        .1
                        .negotiated_cipher_suite()
                        .map_or_else(|| "?".to_owned(), |s| format!("{:?}", s.suite()));
                    format!("accepted ({suite})")
                }
                Handshake::Refused(why) => format!("refused ({why})"),
                Handshake::Unreachable(why) | Handshake::Silent(why) => {
                    unreachable = Some(why.clone());
                    format!("not tested ({why})")
                }
            },
        };
        details.insert(name.to_owned(), Value::String(text));
    }
    let summary = |list: &[String]| {
        if list.is_empty() {
            "none".to_owned()
        } else {
            list.join(", ")
        }
    };
    let (outcome, observation) = if !legacy_accepted.is_empty() {
        (
            Outcome::NotMet,
            format!(
                "accepts {} (and {})",
                legacy_accepted.join(", "),
                summary(&modern_accepted)
            ),
        )
    } else if !modern_accepted.is_empty() {
        (
            Outcome::Met,
            format!(
                "accepts {} only; SSL 3.0, TLS 1.0 and 1.1 refused",
                modern_accepted.join(" and ")
            ),
        )
    } else if let Some(why) = unreachable {
        (Outcome::NotTested, format!("could not connect: {why}"))
    } else {
        (
            Outcome::NotMet,
            "no TLS version accepted: not a working TLS service".to_owned(),
        )
    };
    Finding {
        outcome,
        observation,
        details,
    }
}

pub(crate) async fn cipher_suites(context: &Context, target: &Target) -> Finding {
    let mut accepted: Vec<String> = Vec::new();
    let mut unreachable = None;
    // The first connection that fails or stalls ends the survey: the target is not there.
    // TLS 1.3 suites by rustls handshakes; TLS 1.2 suites by hand-built `ClientHello`s, whose
    // `ServerHello` shows the suite even when the server then asks for a client certificate.
    'survey: {
        for suite in rampart_vault::tls::inspectable_cipher_suites(&rustls::version::TLS13) {
            let Ok(config) = inspecting(&[&rustls::version::TLS13], Some(&[suite])) else {
                continue;
            };
            match handshake(context, target, config).await {
                Handshake::Done(_) => accepted.push(format!("{suite:?}")),
                Handshake::Refused(_) => {}
                Handshake::Unreachable(why) | Handshake::Silent(why) => {
                    unreachable = Some(why);
                    break 'survey;
                }
            }
        }
        for suite in rampart_vault::tls::inspectable_cipher_suites(&rustls::version::TLS12) {
            let id = u16::from(suite);
            match legacy_hello(context, target, legacy::TLS12, &[id]).await {
                Ok(Answer::ServerHello {
                    version,
                    suite: chosen,
                    ..
                }) if version == legacy::TLS12 && chosen == id => {
                    accepted.push(format!("{suite:?}"));
                }
                Ok(_) => {}
                Err(why) => {
                    unreachable = Some(why);
                    break 'survey;
                }
            }
        }
    }
    // Weak suites, TLS 1.2 as the highest version: the server picks one it accepts (at its
    // own highest version up to 1.2), which is then left out of the next offer.
    let mut weak: Vec<String> = Vec::new();
    let mut offer: Vec<u16> = legacy::WEAK_SUITES.to_vec();
    let mut last_answer = String::new();
    for _ in 0..if unreachable.is_some() { 0 } else { 12 } {
        match legacy_hello(context, target, legacy::TLS12, &offer).await {
            Ok(Answer::ServerHello { version, suite, .. }) if offer.contains(&suite) => {
                weak.push(format!(
                    "{} ({})",
                    legacy::suite_name(suite),
                    legacy::version_name(version)
                ));
                offer.retain(|s| *s != suite);
                if offer.is_empty() {
                    break;
                }
            }
            Ok(Answer::ServerHello { suite, .. }) => {
                last_answer = format!("chose {} which was not offered", legacy::suite_name(suite));
                break;
            }
            Ok(Answer::Alert { description, .. }) => {
                last_answer = description;
                break;
            }
            Ok(other) => {
                last_answer = format!("{other:?}");
                break;
            }
            Err(e) => {
                unreachable = Some(e);
                break;
            }
        }
    }
    // Every suite of the IANA registry, per version, as sslyze and OpenSSL enumerate them.
    let mut by_version = serde_json::Map::new();
    if unreachable.is_none() {
        match enumerate_per_version(context, target).await {
            Ok(found) => {
                for (version, suites) in found {
                    for id in &suites {
                        let entry = format!(
                            "{} ({})",
                            legacy::suite_name(*id),
                            legacy::version_name(version)
                        );
                        if legacy::is_weak(*id) && !weak.contains(&entry) {
                            weak.push(entry);
                        }
                    }
                    by_version.insert(
                        legacy::version_name(version),
                        Value::from(
                            suites
                                .iter()
                                .map(|id| legacy::suite_name(*id))
                                .collect::<Vec<_>>(),
                        ),
                    );
                }
            }
            Err(why) => unreachable = Some(why),
        }
    }
    let finding = if !weak.is_empty() {
        Finding::new(
            Outcome::NotMet,
            format!("accepts weak suites: {}", weak.join(", ")),
        )
    } else if !accepted.is_empty() {
        Finding::new(
            Outcome::Met,
            format!(
                "accepts {} suite(s), none weak: {}",
                accepted.len(),
                accepted.join(", ")
            ),
        )
    } else if let Some(why) = unreachable {
        Finding::new(Outcome::NotTested, format!("could not connect: {why}"))
    } else {
        Finding::new(
            Outcome::NotTested,
            "no cipher suite accepted: not a working TLS service (or only suites rustls does \
             not implement and no weak one)",
        )
    };
    finding
        .with("accepted", accepted)
        .with("weak_accepted", weak)
        .with("weak_refused_with", last_answer)
        .with("accepted_by_version", by_version)
}

/// The suites accepted per version (SSL 3.0 to TLS 1.3), by hand-built `ClientHello`s: every
/// suite of the IANA registry offered at once, the one the server picks (at exactly that
/// version) left out of the next offer, until it refuses. TLS 1.3 is asked with an empty key
/// share, so its `HelloRetryRequest` names the suite. A version the server does not accept
/// yields an empty list. At most one connection per suite accepted, plus one per version.
async fn enumerate_per_version(
    context: &Context,
    target: &Target,
) -> Result<Vec<(u16, Vec<u16>)>, String> {
    let mut found = Vec::new();
    for version in [
        legacy::SSL3,
        legacy::TLS10,
        legacy::TLS11,
        legacy::TLS12,
        legacy::TLS13,
    ] {
        let mut offer = if version == legacy::TLS13 {
            legacy::TLS13_SUITES.to_vec()
        } else {
            legacy::every_legacy_suite()
        };
        let groups: &[u16] = if version == legacy::TLS13 {
            crate::tls_groups::TLS13_COMMON_GROUPS
        } else {
            crate::tls_groups::TLS12_COMMON_GROUPS
        };
        let mut accepted = Vec::new();
        for _ in 0..=offer.len() {
            let chosen = match hello_with_groups(context, target, version, &offer, groups).await? {
                Answer::ServerHello {
                    version: chosen,
                    suite,
                    ..
                } if chosen == version && version != legacy::TLS13 => suite,
                Answer::HelloRetryRequest { suite, .. } if version == legacy::TLS13 => suite,
                _ => break,
            };
            if !offer.contains(&chosen) {
                break;
            }
            accepted.push(chosen);
            offer.retain(|s| *s != chosen);
            if offer.is_empty() {
                break;
            }
        }
        found.push((version, accepted));
    }
    Ok(found)
}

/// The facts of one certificate.
fn certificate_facts(
    der: &CertificateDer<'_>,
    now: jiff::Timestamp,
) -> Result<(Value, Vec<String>), String> {
    let (_, cert) =
        X509Certificate::from_der(der.as_ref()).map_err(|e| format!("not a certificate: {e}"))?;
    let mut problems = Vec::new();
    let registry = x509_parser::objects::oid_registry();
    let signature = x509_parser::objects::oid2sn(&cert.signature_algorithm.algorithm, registry)
        .map_or_else(
            |_| cert.signature_algorithm.algorithm.to_id_string(),
            str::to_owned,
        );
    let lower = signature.to_ascii_lowercase();
    if lower.contains("md5") || lower.contains("sha1") || lower.contains("sha-1") {
        problems.push(format!("signed with {signature}"));
    }
    let (key_type, key_bits) = match cert.public_key().parsed() {
        Ok(PublicKey::RSA(rsa)) => {
            let modulus: Vec<u8> = rsa
                .modulus
                .iter()
                .copied()
                .skip_while(|b| *b == 0)
                .collect();
            let bits = modulus.first().map_or(0, |first| {
                (modulus.len() - 1) * 8 + (8 - first.leading_zeros() as usize)
            });
            if bits < 2048 {
                problems.push(format!("RSA key of {bits} bits"));
            }
            ("RSA".to_owned(), bits)
        }
        Ok(PublicKey::EC(point)) => {
            let bits = point.key_size();
            if bits < 256 {
                problems.push(format!("EC key of {bits} bits"));
            }
            ("EC".to_owned(), bits)
        }
        _ => {
            let algorithm =
                x509_parser::objects::oid2sn(&cert.public_key().algorithm.algorithm, registry)
                    .map_or_else(
                        |_| cert.public_key().algorithm.algorithm.to_id_string(),
                        str::to_owned,
                    );
            if algorithm.eq_ignore_ascii_case("ed25519") {
                ("Ed25519".to_owned(), 256)
            } else {
                problems.push(format!("key type {algorithm}"));
                (algorithm, 0)
            }
        }
    };
    let validity = cert.validity();
    let not_before = jiff::Timestamp::from_second(validity.not_before.timestamp()).ok();
    let not_after = jiff::Timestamp::from_second(validity.not_after.timestamp()).ok();
    match (not_before, not_after) {
        (Some(from), Some(to)) if from <= now && now <= to => {}
        (Some(from), Some(to)) => {
            problems.push(format!("not valid now (valid {from} to {to})"));
        }
        _ => problems.push("a validity period out of range".to_owned()),
    }
    let mut names = Vec::new();
    if let Ok(Some(san)) = cert.subject_alternative_name() {
        for name in &san.value.general_names {
            match name {
                GeneralName::DNSName(dns) => names.push((*dns).to_owned()),
                GeneralName::IPAddress(bytes) => {
                    if let Ok(v4) = <[u8; 4]>::try_from(*bytes) {
                        names.push(std::net::Ipv4Addr::from(v4).to_string());
                    } else if let Ok(v6) = <[u8; 16]>::try_from(*bytes) {
                        names.push(std::net::Ipv6Addr::from(v6).to_string());
                    }
                }
                _ => {}
            }
        }
    }
    let role = match rampart_identity::x509::role_from_der(der.as_ref()) {
        Ok(Some(role)) => Value::String(role.as_str().to_owned()),
        Ok(None) => Value::Null,
        Err(e) => Value::String(format!("invalid: {e}")),
    };
    Ok((
        json!({
            "subject": cert.subject().to_string(),
            "issuer": cert.issuer().to_string(),
            "key_type": key_type,
            "key_bits": key_bits,
            "signature_algorithm": signature,
            "not_before": not_before.map(|t| t.to_string()),
            "not_after": not_after.map(|t| t.to_string()),
            "names": names,
            "is_ca": cert.is_ca(),
            "modbus_role": role,
        }),
        problems,
    ))
}

pub(crate) async fn certificate(context: &Context, target: &Target) -> Finding {
    let config = match inspecting(rampart_vault::tls::PROTOCOL_VERSIONS, None) {
        Ok(config) => config,
        Err(e) => return Finding::new(Outcome::NotTested, e),
    };
    let (chain, source): (Vec<CertificateDer<'static>>, &str) =
        match handshake(context, target, config).await {
            Handshake::Done(stream) => (
                stream
                    .get_ref()
                    .1
                    .peer_certificates()
                    .map(|c| c.iter().map(|d| d.clone().into_owned()).collect())
                    .unwrap_or_default(),
                "a TLS 1.3/1.2 handshake",
            ),
            Handshake::Refused(why) => {
                // A server that requires a client certificate in TLS 1.2 (Modbus/TCP Security
                // v21) ends the handshake, but only after sending its chain: read it from the
                // answer to a hand-built `ClientHello`.
                match legacy_chain(context, target).await {
                    Some(chain) if !chain.is_empty() => (
                        chain.into_iter().map(CertificateDer::from).collect(),
                        "the answer to a TLS 1.2 ClientHello",
                    ),
                    _ => {
                        return Finding::new(
                            Outcome::NotTested,
                            format!(
                                "no handshake to read the certificate from: {why}; no chain in \
                                 the answer to a TLS 1.2 ClientHello either"
                            ),
                        );
                    }
                }
            }
            Handshake::Unreachable(why) | Handshake::Silent(why) => {
                return Finding::new(Outcome::NotTested, format!("could not connect: {why}"));
            }
        };
    if chain.is_empty() {
        return Finding::new(Outcome::NotMet, "the server sent no certificate");
    }
    let mut facts = Vec::new();
    let mut problems = Vec::new();
    for (i, der) in chain.iter().enumerate() {
        match certificate_facts(der, context.now) {
            Ok((value, found)) => {
                facts.push(value);
                problems.extend(found.into_iter().map(|p| format!("certificate {i}: {p}")));
            }
            Err(e) => problems.push(format!("certificate {i}: {e}")),
        }
    }
    let leaf_names: Vec<String> = facts
        .first()
        .and_then(|f| f["names"].as_array())
        .map(|a| {
            a.iter()
                .filter_map(|n| n.as_str().map(str::to_ascii_lowercase))
                .collect()
        })
        .unwrap_or_default();
    if !leaf_names.iter().any(|n| name_matches(n, target.host())) {
        problems.push(format!(
            "the certificate names {} but not {}",
            if leaf_names.is_empty() {
                "nothing".to_owned()
            } else {
                leaf_names.join(", ")
            },
            target.host()
        ));
    }
    let leaf_facts = facts.first().cloned().unwrap_or(Value::Null);
    let describe = format!(
        "{} {} bits, {}, valid to {}, names [{}]{}",
        leaf_facts["key_type"].as_str().unwrap_or("?"),
        leaf_facts["key_bits"],
        leaf_facts["signature_algorithm"].as_str().unwrap_or("?"),
        leaf_facts["not_after"].as_str().unwrap_or("?"),
        leaf_names.join(", "),
        match leaf_facts["modbus_role"].as_str() {
            Some(role) => format!(", Modbus role '{role}'"),
            None => String::new(),
        }
    );
    let finding = if problems.is_empty() {
        Finding::new(
            Outcome::Met,
            format!("chain of {}: {describe}", chain.len()),
        )
    } else {
        Finding::new(
            Outcome::NotMet,
            format!("{} ({describe})", problems.join("; ")),
        )
    };
    finding
        .with("chain", facts)
        .with("problems", problems)
        .with("read_from", source)
}

/// The chain in the answer to a hand-built TLS 1.2 `ClientHello` (strong and legacy suites).
async fn legacy_chain(context: &Context, target: &Target) -> Option<Vec<Vec<u8>>> {
    let mut suites = legacy::TLS12_SUITES.to_vec();
    suites.extend_from_slice(legacy::LEGACY_SUITES);
    let mut random = [0u8; 32];
    rampart_vault::crypto::fill_random(&mut random).ok()?;
    let server_name = target
        .host()
        .parse::<std::net::IpAddr>()
        .is_err()
        .then_some(target.host());
    let hello = legacy::client_hello(legacy::TLS12, &suites, &[0], server_name, &random);
    let mut tcp = context.connect(target).await.ok()?;
    tcp.write_all(&hello).await.ok()?;
    let read = net::read_answer(
        &mut tcp,
        HANDSHAKE_TIMEOUT,
        legacy::MAX_ANSWER_BYTES,
        |bytes| {
            legacy::certificate_chain(bytes).is_some()
                || matches!(
                    legacy::parse_answer(bytes),
                    Answer::Alert { .. } | Answer::NotTls(_)
                )
        },
    )
    .await;
    let (Read::Complete(bytes) | Read::Closed(bytes, _) | Read::Silent(bytes)) = read;
    legacy::certificate_chain(&bytes)
}

/// Why the probe does not measure whether a client-initiated renegotiation is accepted.
const CLIENT_RENEGOTIATION: &str = "not asked here: tls-client-renegotiation asks for one \
    inside a session of the probe's own";

pub(crate) async fn compression_renegotiation(context: &Context, target: &Target) -> Finding {
    // TLS 1.2 (or the server's highest below), DEFLATE offered before null compression.
    let mut suites = legacy::TLS12_SUITES.to_vec();
    suites.extend_from_slice(legacy::LEGACY_SUITES);
    let answer = legacy_hello_with(context, target, legacy::TLS12, &suites, &[1, 0]).await;
    match answer {
        Ok(Answer::ServerHello {
            version,
            compression,
            secure_renegotiation,
            ..
        }) => {
            let mut problems = Vec::new();
            if compression != 0 {
                problems.push(format!(
                    "accepts TLS compression (method {compression}: CRIME)"
                ));
            }
            if !secure_renegotiation {
                problems.push(
                    "does not signal secure renegotiation (no renegotiation_info, RFC 5746)"
                        .to_owned(),
                );
            }
            let finding = if problems.is_empty() {
                Finding::new(
                    Outcome::Met,
                    format!(
                        "{}: no compression, secure renegotiation signalled (whether a client may \
                         renegotiate: tls-client-renegotiation)",
                        legacy::version_name(version)
                    ),
                )
            } else {
                Finding::new(
                    Outcome::NotMet,
                    format!("{}: {}", legacy::version_name(version), problems.join("; ")),
                )
            };
            finding
                .with("version", legacy::version_name(version))
                .with("compression", compression)
                .with("secure_renegotiation", secure_renegotiation)
                .with("client_renegotiation", CLIENT_RENEGOTIATION)
        }
        Ok(Answer::Alert { description, .. }) => Finding::new(
            Outcome::Met,
            format!(
                "refuses TLS 1.2 and older ({description}): TLS 1.3 has neither compression \
                 nor renegotiation"
            ),
        ),
        Ok(other) => Finding::new(
            Outcome::NotTested,
            format!("no TLS answer to a TLS 1.2 ClientHello: {other:?}"),
        ),
        Err(why) => Finding::new(Outcome::NotTested, format!("could not connect: {why}")),
    }
}

/// Whether a certificate name covers `host` (one leading wildcard label at most).
fn name_matches(name: &str, host: &str) -> bool {
    let host = host.to_ascii_lowercase();
    if name == host {
        return true;
    }
    match name.strip_prefix("*.") {
        Some(suffix) => host
            .split_once('.')
            .is_some_and(|(label, rest)| !label.is_empty() && rest == suffix),
        None => false,
    }
}

pub(crate) async fn client_certificate(context: &Context, target: &Target) -> Finding {
    let config = match inspecting(rampart_vault::tls::PROTOCOL_VERSIONS, None) {
        Ok(config) => config,
        Err(e) => return Finding::new(Outcome::NotTested, e),
    };
    let mut stream = match handshake(context, target, config).await {
        Handshake::Done(stream) => stream,
        Handshake::Refused(why) => {
            return Finding::new(
                Outcome::Met,
                format!("refused the handshake without a client certificate: {why}"),
            )
            .with("stage", "handshake");
        }
        Handshake::Unreachable(why) | Handshake::Silent(why) => {
            return Finding::new(Outcome::NotTested, format!("could not connect: {why}"));
        }
    };
    // TLS 1.3 finishes the client's side of the handshake before the server judges the
    // (empty) client certificate: its verdict comes with the first read.
    let request = crate::modbus::read_request(1, 1);
    if let Err(e) = stream.write_all(&request).await {
        return Finding::new(
            Outcome::Met,
            format!(
                "refused the connection without a client certificate: {}",
                describe_tls_error(&e)
            ),
        )
        .with("stage", "after the handshake");
    }
    let read = net::read_answer(
        &mut stream,
        ANSWER_TIMEOUT,
        512,
        crate::modbus::adu_complete,
    )
    .await;
    match read {
        Read::Complete(bytes) => Finding::new(
            Outcome::NotMet,
            format!(
                "served a Modbus request without a client certificate: {}",
                crate::modbus::describe_answer(&bytes)
            ),
        )
        .with("stage", "served"),
        Read::Closed(_, why) => {
            let why = why.unwrap_or_else(|| "closed".to_owned());
            Finding::new(
                Outcome::Met,
                format!("refused the connection without a client certificate after the handshake ({why})"),
            )
            .with("stage", "after the handshake")
        }
        Read::Silent(_) => Finding::new(
            Outcome::NotTested,
            format!(
                "completed the handshake without a client certificate and neither answered nor \
                 closed within {} s",
                ANSWER_TIMEOUT.as_secs()
            ),
        ),
    }
}

#[cfg(test)]
pub(crate) fn test_name_matches(name: &str, host: &str) -> bool {
    name_matches(name, host)
}
