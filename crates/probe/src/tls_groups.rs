//! The `tls-groups` check: which key-exchange groups the server accepts, per version, by
//! hand-built `ClientHello`s offering one group at a time (protocol framing, no crypto).
//!
//! - TLS 1.3: the TLS 1.3 suites, `supported_groups` naming one group and an empty
//!   `key_share`. A server that accepts the group answers a `HelloRetryRequest` naming it;
//!   one that does not ends the handshake. No key is ever exchanged, so every registered
//!   group can be asked about, including those no Rust crypto backend implements.
//! - TLS 1.2 (and the older versions the server picks below it): every ECDHE suite with one
//!   elliptic-curve group, the group the server really used read from its
//!   `ServerKeyExchange`; every DHE suite with one finite-field group (RFC 7919), then with
//!   none, the size of the prime the server sent read from its `ServerKeyExchange` (most
//!   servers ignore RFC 7919 in TLS 1.2 and send their own parameters).

use crate::evidence::Outcome;
use crate::legacy::{self, Answer, KeyExchange};
use crate::net::Context;
use crate::run::Finding;
use crate::target::Target;
use crate::tls;

/// What a group is, for judging its strength.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    /// An elliptic curve of this many bits (x25519 counts as 256, as the RFCs rate it).
    Ec(u16),
    /// A finite-field group (RFC 7919) with a prime of this many bits.
    Ff(u16),
    /// A post-quantum or hybrid KEM (TLS 1.3 only).
    Kem,
    /// Explicit curve parameters: of unknown strength, never acceptable.
    Explicit,
}

/// The supported-groups registry (IANA), with the names OpenSSL and sslyze use.
pub(crate) const GROUPS: &[(u16, &str, Kind)] = &[
    (1, "sect163k1", Kind::Ec(163)),
    (2, "sect163r1", Kind::Ec(163)),
    (3, "sect163r2", Kind::Ec(163)),
    (4, "sect193r1", Kind::Ec(193)),
    (5, "sect193r2", Kind::Ec(193)),
    (6, "sect233k1", Kind::Ec(233)),
    (7, "sect233r1", Kind::Ec(233)),
    (8, "sect239k1", Kind::Ec(239)),
    (9, "sect283k1", Kind::Ec(283)),
    (10, "sect283r1", Kind::Ec(283)),
    (11, "sect409k1", Kind::Ec(409)),
    (12, "sect409r1", Kind::Ec(409)),
    (13, "sect571k1", Kind::Ec(571)),
    (14, "sect571r1", Kind::Ec(571)),
    (15, "secp160k1", Kind::Ec(160)),
    (16, "secp160r1", Kind::Ec(160)),
    (17, "secp160r2", Kind::Ec(160)),
    (18, "secp192k1", Kind::Ec(192)),
    (19, "secp192r1", Kind::Ec(192)),
    (20, "secp224k1", Kind::Ec(224)),
    (21, "secp224r1", Kind::Ec(224)),
    (22, "secp256k1", Kind::Ec(256)),
    (23, "secp256r1", Kind::Ec(256)),
    (24, "secp384r1", Kind::Ec(384)),
    (25, "secp521r1", Kind::Ec(521)),
    (26, "brainpoolP256r1", Kind::Ec(256)),
    (27, "brainpoolP384r1", Kind::Ec(384)),
    (28, "brainpoolP512r1", Kind::Ec(512)),
    (29, "X25519", Kind::Ec(256)),
    (30, "X448", Kind::Ec(448)),
    (31, "brainpoolP256r1tls13", Kind::Ec(256)),
    (32, "brainpoolP384r1tls13", Kind::Ec(384)),
    (33, "brainpoolP512r1tls13", Kind::Ec(512)),
    (41, "curveSM2", Kind::Ec(256)),
    (0x0100, "ffdhe2048", Kind::Ff(2048)),
    (0x0101, "ffdhe3072", Kind::Ff(3072)),
    (0x0102, "ffdhe4096", Kind::Ff(4096)),
    (0x0103, "ffdhe6144", Kind::Ff(6144)),
    (0x0104, "ffdhe8192", Kind::Ff(8192)),
    (0x0200, "MLKEM512", Kind::Kem),
    (0x0201, "MLKEM768", Kind::Kem),
    (0x0202, "MLKEM1024", Kind::Kem),
    (0x11EB, "SecP256r1MLKEM768", Kind::Kem),
    (0x11EC, "X25519MLKEM768", Kind::Kem),
    (0x11ED, "SecP384r1MLKEM1024", Kind::Kem),
    (0xFF01, "arbitrary_explicit_prime_curves", Kind::Explicit),
    (0xFF02, "arbitrary_explicit_char2_curves", Kind::Explicit),
];

/// The groups offered when a TLS 1.2 probe is about something else: the common curves.
pub(crate) const TLS12_COMMON_GROUPS: &[u16] = &[29, 23, 24, 25, 30, 26, 27, 28];
/// The groups offered when a TLS 1.3 probe is about something else: the common curves and
/// finite-field groups.
pub(crate) const TLS13_COMMON_GROUPS: &[u16] = &[
    29, 23, 24, 25, 30, 31, 32, 33, 0x0100, 0x0101, 0x0102, 0x0103, 0x0104, 0x11EC,
];

/// The name of a group, or its number.
pub(crate) fn group_name(id: u16) -> String {
    GROUPS
        .iter()
        .find(|(g, _, _)| *g == id)
        .map_or_else(|| format!("0x{id:04X}"), |(_, name, _)| (*name).to_owned())
}

/// Whether a group is weaker than the bound: an elliptic curve under 224 bits, a
/// finite-field group under 2048 bits, explicit curve parameters.
pub(crate) fn is_weak(kind: Kind) -> bool {
    match kind {
        Kind::Ec(bits) => bits < 224,
        Kind::Ff(bits) => bits < 2048,
        Kind::Kem => false,
        Kind::Explicit => true,
    }
}

/// What the survey found so far.
#[derive(Default)]
struct Survey {
    tls13: Vec<String>,
    tls12: Vec<String>,
    dhe: Vec<String>,
    weak: Vec<String>,
    notes: Vec<String>,
}

pub(crate) async fn groups(context: &Context, target: &Target) -> Finding {
    let mut survey = Survey::default();
    if let Err(why) = survey_groups(context, target, &mut survey).await {
        return Finding::new(Outcome::NotTested, format!("could not connect: {why}"));
    }
    let list = |l: &[String]| {
        if l.is_empty() {
            "none".to_owned()
        } else {
            l.join(", ")
        }
    };
    let described = format!(
        "TLS 1.3: {}; TLS 1.2: {}{}",
        list(&survey.tls13),
        list(&survey.tls12),
        if survey.dhe.is_empty() {
            String::new()
        } else {
            format!("; DHE: {}", survey.dhe.join(", "))
        }
    );
    let finding = if !survey.weak.is_empty() {
        Finding::new(
            Outcome::NotMet,
            format!(
                "accepts groups weaker than 224-bit EC / 2048-bit FF: {} ({described})",
                survey.weak.join(", ")
            ),
        )
    } else if survey.tls13.is_empty() && survey.tls12.is_empty() && survey.dhe.is_empty() {
        Finding::new(
            Outcome::NotTested,
            format!(
                "no key-exchange group accepted in TLS 1.3 or with an ECDHE/DHE suite in TLS \
                 1.2 (RSA key exchange only, or not a working TLS service): {}",
                survey.notes.join("; ")
            ),
        )
    } else {
        Finding::new(
            Outcome::Met,
            format!("no group weaker than 224-bit EC / 2048-bit FF accepted: {described}"),
        )
    };
    finding
        .with("TLS 1.3", survey.tls13)
        .with("TLS 1.2", survey.tls12)
        .with("dhe", survey.dhe)
        .with("weak", survey.weak)
        .with("notes", survey.notes)
}

/// An answer in words, for the notes.
fn describe(answer: &Answer) -> String {
    match answer {
        Answer::ServerHello { version, suite, .. } => format!(
            "{} with {}",
            legacy::version_name(*version),
            legacy::suite_name(*suite)
        ),
        Answer::HelloRetryRequest { suite, .. } => {
            format!("a HelloRetryRequest for {}", legacy::suite_name(*suite))
        }
        Answer::Alert { description, .. } => format!("alert {description}"),
        Answer::NotTls(what) => what.clone(),
        Answer::Incomplete => "an incomplete answer".to_owned(),
    }
}

async fn survey_groups(
    context: &Context,
    target: &Target,
    survey: &mut Survey,
) -> Result<(), String> {
    // TLS 1.3: first whether it is spoken at all (with every group), then group by group.
    let every: Vec<u16> = GROUPS.iter().map(|(g, _, _)| *g).collect();
    let first =
        tls::hello_with_groups(context, target, legacy::TLS13, legacy::TLS13_SUITES, &every)
            .await?;
    let speaks_tls13 = matches!(first, Answer::HelloRetryRequest { .. });
    if speaks_tls13 {
        for (id, name, kind) in GROUPS {
            if *kind == Kind::Explicit {
                continue;
            }
            let answer = tls::hello_with_groups(
                context,
                target,
                legacy::TLS13,
                legacy::TLS13_SUITES,
                &[*id],
            )
            .await?;
            match answer {
                Answer::HelloRetryRequest {
                    group: Some(group), ..
                } if group == *id => {
                    survey.tls13.push((*name).to_owned());
                    if is_weak(*kind) {
                        survey.weak.push(format!("{name} (TLS 1.3)"));
                    }
                }
                Answer::HelloRetryRequest {
                    group: Some(other), ..
                } => survey.notes.push(format!(
                    "TLS 1.3 offered {name} only, the server asked for {}",
                    group_name(other)
                )),
                _ => {}
            }
        }
    } else {
        survey.notes.push(format!(
            "TLS 1.3 not accepted (no HelloRetryRequest: {})",
            describe(&first)
        ));
    }
    // TLS 1.2: the elliptic curves with every ECDHE suite.
    let ecdhe = legacy::suites_with_kx(tls_parser::TlsCipherKx::Ecdhe);
    let curves: Vec<u16> = GROUPS
        .iter()
        .filter(|(_, _, k)| matches!(k, Kind::Ec(_) | Kind::Explicit))
        .map(|(g, _, _)| *g)
        .collect();
    let (first, _) = tls::hello_key_exchange(context, target, &ecdhe, &curves, false).await?;
    if matches!(first, Answer::ServerHello { suite, .. } if ecdhe.contains(&suite)) {
        for (id, name, kind) in GROUPS {
            if !matches!(kind, Kind::Ec(_) | Kind::Explicit) {
                continue;
            }
            let (answer, exchange) =
                tls::hello_key_exchange(context, target, &ecdhe, &[*id], false).await?;
            let Answer::ServerHello { version, suite, .. } = answer else {
                continue;
            };
            if !ecdhe.contains(&suite) {
                continue;
            }
            let used = match exchange {
                Some(KeyExchange::Ec(used)) => used,
                // No readable ServerKeyExchange: the hello's acceptance is the acceptance.
                _ => *id,
            };
            let used_kind = GROUPS
                .iter()
                .find(|(g, _, _)| *g == used)
                .map_or(Kind::Explicit, |(_, _, k)| *k);
            if used != *id {
                survey.notes.push(format!(
                    "{} offered {name} only, the server used {}",
                    legacy::version_name(version),
                    group_name(used)
                ));
            }
            let entry = group_name(used);
            if !survey.tls12.contains(&entry) {
                if is_weak(used_kind) {
                    survey
                        .weak
                        .push(format!("{entry} ({})", legacy::version_name(version)));
                }
                survey.tls12.push(entry);
            }
        }
    } else {
        survey.notes.push(format!(
            "no ECDHE suite accepted in TLS 1.2 or older ({})",
            describe(&first)
        ));
    }
    // TLS 1.2: DHE with each finite-field group, then with none (the server's own prime).
    let dhe = legacy::suites_with_kx(tls_parser::TlsCipherKx::Dhe);
    let mut offers: Vec<(String, Vec<u16>)> = GROUPS
        .iter()
        .filter(|(_, _, k)| matches!(k, Kind::Ff(_)))
        .map(|(g, name, _)| ((*name).to_owned(), vec![*g]))
        .collect();
    offers.insert(
        0,
        (
            "no finite-field group".to_owned(),
            TLS12_COMMON_GROUPS.to_vec(),
        ),
    );
    for (index, (offered, groups)) in offers.iter().enumerate() {
        let (answer, exchange) =
            tls::hello_key_exchange(context, target, &dhe, groups, true).await?;
        let Answer::ServerHello { version, suite, .. } = answer else {
            if index == 0 {
                survey.notes.push(format!(
                    "no DHE suite accepted in TLS 1.2 or older ({})",
                    describe(&answer)
                ));
                break;
            }
            continue;
        };
        if !dhe.contains(&suite) {
            continue;
        }
        let entry = match exchange {
            Some(KeyExchange::Dh(bits)) => {
                let entry = format!("{bits}-bit prime");
                if bits < 2048 && !survey.dhe.contains(&entry) {
                    survey
                        .weak
                        .push(format!("DHE {entry} ({})", legacy::version_name(version)));
                }
                entry
            }
            _ => "a prime of unread size".to_owned(),
        };
        survey
            .notes
            .push(format!("DHE offering {offered}: {entry}"));
        if !survey.dhe.contains(&entry) {
            survey.dhe.push(entry);
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_bound_is_224_bit_curves_and_2048_bit_fields() {
        let weak: Vec<&str> = GROUPS
            .iter()
            .filter(|(_, _, kind)| is_weak(*kind))
            .map(|(_, name, _)| *name)
            .collect();
        assert_eq!(
            weak,
            [
                "sect163k1",
                "sect163r1",
                "sect163r2",
                "sect193r1",
                "sect193r2",
                "secp160k1",
                "secp160r1",
                "secp160r2",
                "secp192k1",
                "secp192r1",
                "arbitrary_explicit_prime_curves",
                "arbitrary_explicit_char2_curves"
            ]
        );
        assert!(!is_weak(Kind::Ec(224)) && is_weak(Kind::Ff(1024)) && !is_weak(Kind::Ff(2048)));
        assert_eq!(group_name(0x11EC), "X25519MLKEM768");
        assert_eq!(group_name(0x7777), "0x7777");
        // Numbers are unique, and the common offers name registered groups.
        for (i, (id, _, _)) in GROUPS.iter().enumerate() {
            assert!(GROUPS[i + 1..].iter().all(|(other, _, _)| other != id));
        }
        for id in TLS12_COMMON_GROUPS.iter().chain(TLS13_COMMON_GROUPS) {
            assert!(!group_name(*id).starts_with("0x"), "{id}");
        }
    }
}
