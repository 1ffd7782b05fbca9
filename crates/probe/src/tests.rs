use std::collections::BTreeSet;

use rampart_catalog::{Catalog, RequirementId};

use crate::checks::{CHECKS, Plan, PlanError};
use crate::evidence::{CheckResult, Evidence, EvidenceError, Outcome};
use crate::legacy::{self, Answer};
use crate::target::{Scheme, Target, TargetError};

fn targets(list: &[&str]) -> Vec<Target> {
    list.iter().map(|t| t.parse().unwrap()).collect()
}

#[test]
fn targets_are_scheme_host_and_port_and_nothing_else() {
    let check = |text: &str, scheme: Scheme, host: &str, port: u16, shown: &str| {
        let t: Target = text.parse().unwrap_or_else(|e| panic!("{text}: {e}"));
        assert_eq!(
            (t.scheme(), t.host(), t.port()),
            (scheme, host, port),
            "{text}"
        );
        assert_eq!(t.to_string(), shown);
    };
    check(
        "modbus-tls://127.0.0.1:8020",
        Scheme::ModbusTls,
        "127.0.0.1",
        8020,
        "modbus-tls://127.0.0.1:8020",
    );
    check(
        "modbus://plc.example",
        Scheme::Modbus,
        "plc.example",
        502,
        "modbus://plc.example:502",
    );
    check(
        "MODBUS-TLS://Gw.Example/",
        Scheme::ModbusTls,
        "gw.example",
        802,
        "modbus-tls://gw.example:802",
    );
    check(
        "https://[::1]:8443",
        Scheme::Https,
        "::1",
        8443,
        "https://[::1]:8443",
    );
    check(
        "https://[::1]",
        Scheme::Https,
        "::1",
        443,
        "https://[::1]:443",
    );
    check(
        "tls://10.0.0.1:6514",
        Scheme::Tls,
        "10.0.0.1",
        6514,
        "tls://10.0.0.1:6514",
    );
    for bad in [
        "127.0.0.1:502",
        "ftp://h:21",
        "tls://h",
        "modbus://h:0",
        "modbus://h:70000",
        "modbus://h:x",
        "https://h:1/path",
        "https://user@h:1",
        "https://h:1?q",
        "modbus://:502",
        "https://[::1",
        "https://[nope]:1",
        "modbus://h h:1",
        "modbus://",
    ] {
        let error = bad.parse::<Target>().expect_err(bad);
        assert!(matches!(error, TargetError::Malformed { .. }), "{bad}");
        assert!(error.to_string().contains(bad), "{error}");
    }
}

#[test]
fn every_check_names_catalog_requirements_a_bound_and_an_implementation() {
    let catalog = Catalog::builtin();
    let mut ids = BTreeSet::new();
    for spec in CHECKS {
        assert!(ids.insert(spec.id), "duplicate {}", spec.id);
        assert!(!spec.requirements.is_empty(), "{}", spec.id);
        for r in spec.requirements {
            let id: RequirementId = r
                .parse()
                .unwrap_or_else(|e| panic!("{}: {r}: {e}", spec.id));
            assert!(
                catalog.get(id).is_some(),
                "{}: {r} is not in the catalog",
                spec.id
            );
        }
        assert!(
            !spec.bound.is_zero() && spec.bound.as_secs() <= 120,
            "{}",
            spec.id
        );
        assert!(!spec.schemes.is_empty(), "{}", spec.id);
        assert!(
            crate::run::IMPLEMENTED.contains(&spec.id),
            "{} has no implementation",
            spec.id
        );
        assert_eq!(
            spec.intrusive,
            spec.summary.starts_with("INTRUSIVE"),
            "{}",
            spec.id
        );
    }
    assert_eq!(crate::run::IMPLEMENTED.len(), CHECKS.len());
    for scheme in Scheme::ALL {
        assert!(
            CHECKS.iter().any(|c| c.schemes.contains(&scheme)),
            "{scheme}"
        );
    }
}

#[test]
fn intrusive_checks_need_consent_and_the_default_is_read_only() {
    let all = targets(&["modbus://127.0.0.1:502", "https://127.0.0.1:8443"]);
    let plan = Plan::new(all.clone(), None, false).unwrap();
    assert!(plan.runs().all(|(_, spec)| !spec.intrusive));
    assert!(
        plan.runs()
            .any(|(t, s)| t.scheme() == Scheme::Modbus && s.id == "modbus-plaintext")
    );
    assert!(plan.runs().all(|(t, s)| s.schemes.contains(&t.scheme())));
    let names = vec!["modbus-unauthenticated-write".to_owned()];
    let error = Plan::new(all.clone(), Some(&names), false).unwrap_err();
    assert!(matches!(
        error,
        PlanError::IntrusiveWithoutConsent {
            id: "modbus-unauthenticated-write",
            ..
        }
    ));
    assert!(
        error.to_string().contains("--intrusive") && error.to_string().contains("writes"),
        "{error}"
    );
    let plan = Plan::new(all.clone(), Some(&names), true).unwrap();
    assert_eq!(plan.runs().count(), 1);
    let plan = Plan::new(all.clone(), None, true).unwrap();
    assert!(plan.runs().any(|(_, s)| s.intrusive));
    // Session checks need a client certificate against modbus-tls:// targets.
    let tls = targets(&["modbus-tls://127.0.0.1:802"]);
    let plan = Plan::new(tls, None, true).unwrap();
    assert!(plan.runs().all(|(_, s)| !s.session), "{plan:?}");
    assert!(plan.bound() >= std::time::Duration::from_mins(1));
}

#[test]
fn plans_refuse_unknown_checks_and_empty_selections() {
    let all = targets(&["modbus://127.0.0.1:502"]);
    let error = Plan::new(all.clone(), Some(&["tls-version".to_owned()]), false).unwrap_err();
    assert_eq!(
        error,
        PlanError::UnknownCheck {
            name: "tls-version".into(),
            suggestion: Some("tls-versions".into())
        }
    );
    assert!(
        error.to_string().contains("did you mean 'tls-versions'"),
        "{error}"
    );
    assert!(matches!(
        Plan::new(all.clone(), Some(&["zzz".to_owned()]), false),
        Err(PlanError::UnknownCheck {
            suggestion: None,
            ..
        })
    ));
    assert_eq!(
        Plan::new(all, Some(&["tls-versions".to_owned()]), false).unwrap_err(),
        PlanError::NothingToRun
    );
    assert_eq!(
        Plan::new(Vec::new(), None, false).unwrap_err(),
        PlanError::NoTarget
    );
}

#[test]
fn legacy_client_hellos_are_well_formed_tls() {
    for version in [legacy::SSL3, legacy::TLS10, legacy::TLS11, legacy::TLS12] {
        let hello = legacy::client_hello(
            version,
            legacy::LEGACY_SUITES,
            &[0],
            Some("plc.example"),
            &[7; 32],
        );
        let (rest, record) = tls_parser::parse_tls_plaintext(&hello).unwrap();
        assert!(rest.is_empty());
        assert_eq!(record.hdr.version.0, version.min(legacy::TLS10));
        let [tls_parser::TlsMessage::Handshake(tls_parser::TlsMessageHandshake::ClientHello(ch))] =
            record.msg.as_slice()
        else {
            panic!("one ClientHello: {record:?}");
        };
        assert_eq!(ch.version.0, version);
        let suites: Vec<u16> = ch.ciphers.iter().map(|c| c.0).collect();
        assert_eq!(&suites[..suites.len() - 1], legacy::LEGACY_SUITES);
        assert_eq!(suites.last(), Some(&0x00FF), "the renegotiation SCSV");
        let has_sni = ch
            .ext
            .is_some_and(|e| e.windows(b"plc.example".len()).any(|w| w == b"plc.example"));
        assert_eq!(has_sni, version > legacy::SSL3, "{version:x}");
    }
}

/// A `ServerHello` record for `version` and `suite`.
fn server_hello(version: u16, suite: u16) -> Vec<u8> {
    let mut body = Vec::new();
    body.extend_from_slice(&version.to_be_bytes());
    body.extend_from_slice(&[9; 32]);
    body.push(0);
    body.extend_from_slice(&suite.to_be_bytes());
    body.push(0);
    let mut handshake = vec![2, 0, 0, u8::try_from(body.len()).unwrap()];
    handshake.extend_from_slice(&body);
    let mut record = vec![22, 3, 1, 0, u8::try_from(handshake.len()).unwrap()];
    record.extend_from_slice(&handshake);
    record
}

#[test]
fn answers_to_a_client_hello_are_read_whole_fragmented_or_not_at_all() {
    let hello = server_hello(legacy::TLS10, 0xC014);
    let expected = Answer::ServerHello {
        version: legacy::TLS10,
        suite: 0xC014,
        compression: 0,
        secure_renegotiation: false,
    };
    assert_eq!(legacy::parse_answer(&hello), expected);
    for cut in 0..hello.len() {
        assert_eq!(
            legacy::parse_answer(&hello[..cut]),
            Answer::Incomplete,
            "cut at {cut}"
        );
    }
    // The same handshake message split over two records.
    let message = &hello[5..];
    let mut split = vec![22, 3, 1, 0, 10];
    split.extend_from_slice(&message[..10]);
    split.extend_from_slice(&[22, 3, 1, 0, u8::try_from(message.len() - 10).unwrap()]);
    split.extend_from_slice(&message[10..]);
    assert_eq!(legacy::parse_answer(&split), expected);
    // A fatal protocol_version alert.
    assert_eq!(
        legacy::parse_answer(&[21, 3, 3, 0, 2, 2, 70]),
        Answer::Alert {
            level: 2,
            description: "protocol_version".into()
        }
    );
    assert_eq!(legacy::alert_name(40), "handshake_failure");
    assert_eq!(legacy::alert_name(250), "alert 250");
    // Plain text, an HTTP answer, a record that is too long.
    assert!(matches!(
        legacy::parse_answer(b"HTTP/1.1 400 Bad Request\r\n\r\n"),
        Answer::NotTls(_)
    ));
    assert!(matches!(
        legacy::parse_answer(&[22, 3, 1, 0xFF, 0xFF, 0]),
        Answer::NotTls(_)
    ));
    assert!(matches!(
        legacy::parse_answer(&[23, 3, 3, 0, 1, 0]),
        Answer::NotTls(_)
    ));
}

#[test]
fn the_server_hello_tells_compression_and_secure_renegotiation() {
    // A TLS 1.2 ServerHello with DEFLATE and an empty renegotiation_info extension.
    let mut body = Vec::new();
    body.extend_from_slice(&legacy::TLS12.to_be_bytes());
    body.extend_from_slice(&[9; 32]);
    body.push(0);
    body.extend_from_slice(&0xC02F_u16.to_be_bytes());
    body.push(1);
    body.extend_from_slice(&[0, 5, 0xFF, 0x01, 0, 1, 0]);
    let mut handshake = vec![2, 0, 0, u8::try_from(body.len()).unwrap()];
    handshake.extend_from_slice(&body);
    let mut record = vec![22, 3, 3, 0, u8::try_from(handshake.len()).unwrap()];
    record.extend_from_slice(&handshake);
    assert_eq!(
        legacy::parse_answer(&record),
        Answer::ServerHello {
            version: legacy::TLS12,
            suite: 0xC02F,
            compression: 1,
            secure_renegotiation: true,
        }
    );
    // The hello offers DEFLATE first when asked to.
    let hello = legacy::client_hello(legacy::TLS12, &[0xC02F], &[1, 0], None, &[7; 32]);
    let (_, record) = tls_parser::parse_tls_plaintext(&hello).unwrap();
    let [tls_parser::TlsMessage::Handshake(tls_parser::TlsMessageHandshake::ClientHello(ch))] =
        record.msg.as_slice()
    else {
        panic!("one ClientHello");
    };
    assert_eq!(ch.comp.iter().map(|c| c.0).collect::<Vec<_>>(), [1, 0]);
}

#[test]
fn the_certificate_chain_is_read_after_the_server_hello_across_records() {
    let u24 = |n: usize| {
        [
            0,
            u8::try_from(n >> 8).unwrap(),
            u8::try_from(n & 0xFF).unwrap(),
        ]
    };
    let (leaf, ca) = (vec![0x30; 300], vec![0x31; 20]);
    let mut list = Vec::new();
    for cert in [&leaf, &ca] {
        list.extend_from_slice(&u24(cert.len()));
        list.extend_from_slice(cert);
    }
    let mut message = vec![11];
    message.extend_from_slice(&u24(list.len() + 3));
    message.extend_from_slice(&u24(list.len()));
    message.extend_from_slice(&list);
    // The ServerHello record, then the Certificate message split over two records.
    let mut answer = server_hello(legacy::TLS12, 0xC02F);
    for part in [&message[..100], &message[100..]] {
        answer.extend_from_slice(&[22, 3, 3]);
        answer.extend_from_slice(&u16::try_from(part.len()).unwrap().to_be_bytes());
        answer.extend_from_slice(part);
    }
    assert_eq!(legacy::certificate_chain(&answer), Some(vec![leaf, ca]));
    assert_eq!(legacy::certificate_chain(&answer[..answer.len() - 1]), None);
    assert_eq!(
        legacy::certificate_chain(&server_hello(legacy::TLS12, 0xC02F)),
        None
    );
    assert_eq!(legacy::certificate_chain(&[21, 3, 3, 0, 2, 2, 40]), None);
}

#[test]
fn weak_suites_are_those_without_forward_secrecy_or_aead() {
    for weak in legacy::WEAK_SUITES {
        assert!(legacy::is_weak(*weak), "{}", legacy::suite_name(*weak));
    }
    for strong in [0xC02B_u16, 0xC02F, 0xCCA8, 0x009E, 0x1301, 0x1302, 0x1303] {
        assert!(!legacy::is_weak(strong), "{}", legacy::suite_name(strong));
    }
    assert_eq!(legacy::suite_name(0x002F), "TLS_RSA_WITH_AES_128_CBC_SHA");
    assert_eq!(legacy::version_name(0x0302), "TLS 1.1");
}

#[test]
fn security_headers_and_cookie_attributes_are_judged_as_browsers_read_them() {
    let mut headers = hyper::HeaderMap::new();
    assert_eq!(crate::https::missing_headers(&headers).len(), 5);
    headers.insert("strict-transport-security", "max-age=0".parse().unwrap());
    headers.insert(
        "content-security-policy",
        "default-src 'self'; frame-ancestors 'none'"
            .parse()
            .unwrap(),
    );
    headers.insert("x-content-type-options", "nosniff".parse().unwrap());
    headers.insert("referrer-policy", "no-referrer".parse().unwrap());
    assert_eq!(
        crate::https::missing_headers(&headers),
        ["Strict-Transport-Security"]
    );
    headers.insert(
        "strict-transport-security",
        "max-age=63072000; includeSubDomains".parse().unwrap(),
    );
    assert!(crate::https::missing_headers(&headers).is_empty());
    headers.insert(
        "content-security-policy",
        "default-src 'self'".parse().unwrap(),
    );
    assert_eq!(
        crate::https::missing_headers(&headers),
        ["X-Frame-Options or CSP frame-ancestors"]
    );

    assert!(
        crate::https::cookie_problems("s=1; Path=/; Secure; HttpOnly; SameSite=Strict").is_empty()
    );
    assert!(crate::https::cookie_problems("s=1; secure; httponly; samesite=Lax").is_empty());
    assert_eq!(
        crate::https::cookie_problems("session=abc; Path=/"),
        ["no Secure", "no HttpOnly", "no SameSite=Strict or Lax"]
    );
    assert_eq!(
        crate::https::cookie_problems("s=Secure; HttpOnly; SameSite=None; Secure"),
        ["no SameSite=Strict or Lax"]
    );
}

#[test]
fn an_openapi_document_names_the_get_routes_to_ask_for_anonymously() {
    let document = br#"{
        "openapi": "3.1.0",
        "paths": {
            "/api/v1/items": {"get": {}, "post": {}},
            "/api/v1/health": {"get": {"security": []}},
            "/api/v1/items/{id}": {"get": {}},
            "/api/v1/login": {"post": {}},
            "/api/v1/admin": {"get": {"security": [{"bearer": []}]}}
        }
    }"#;
    assert_eq!(
        crate::https::openapi_protected_gets(document),
        ["/api/v1/admin", "/api/v1/items"]
    );
    // A document whose default is public: only operations that ask for security count.
    let public = br#"{"security": [], "paths": {"/a": {"get": {}}, "/b": {"get": {"security": [{"k": []}]}}}}"#;
    assert_eq!(crate::https::openapi_protected_gets(public), ["/b"]);
    assert!(crate::https::openapi_protected_gets(b"<html>").is_empty());
    assert!(crate::https::openapi_protected_gets(b"{\"paths\": 3}").is_empty());
}

#[test]
fn a_plan_takes_only_an_openapi_3_document_of_bounded_size() {
    let plan = || {
        Plan::new(
            targets(&["https://127.0.0.1:8443"]),
            Some(&["https-anonymous-api".to_owned()]),
            false,
        )
        .unwrap()
    };
    let document = br#"{"openapi": "3.1.0", "paths": {}}"#;
    assert!(plan().with_openapi_document(document).is_ok());
    for (bad, why) in [
        (&b"<html></html>"[..], "not an OpenAPI 3 document"),
        (
            br#"{"swagger": "2.0", "paths": {}}"#,
            "not an OpenAPI 3 document",
        ),
    ] {
        match plan().with_openapi_document(bad) {
            Err(e @ PlanError::OpenApi(_)) => assert!(e.to_string().contains(why), "{e}"),
            other => panic!("{other:?}"),
        }
    }
    let mut large = br#"{"openapi": "3.1.0", "paths": {}, "x": ""#.to_vec();
    large.resize(crate::MAX_OPENAPI_BYTES + 1, b' ');
    match plan().with_openapi_document(&large) {
        Err(e @ PlanError::OpenApi(_)) => {
            assert!(e.to_string().starts_with("--openapi: 8388609 bytes"), "{e}");
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn malformed_frames_break_exactly_one_field_of_a_valid_read() {
    let valid = crate::modbus::read_request(7, 1);
    assert!(rampart_modbus::decode_request(&valid).is_ok());
    assert!(crate::modbus::adu_complete(&valid));
    assert!(!crate::modbus::adu_complete(&valid[..valid.len() - 1]));
    for (name, frame) in crate::modbus::test_malformed_frames() {
        assert_eq!(frame.len(), valid.len(), "{name}");
        // The transaction id (bytes 0-1) differs by design; one field besides it.
        let differing = frame[2..]
            .iter()
            .zip(&valid[2..])
            .filter(|(a, b)| a != b)
            .count();
        assert!((1..=2).contains(&differing), "{name}");
        assert!(
            rampart_modbus::decode_request(&frame).is_err(),
            "{name} is malformed"
        );
    }
    assert!(crate::tls::test_name_matches("*.example", "plc.example"));
    assert!(!crate::tls::test_name_matches("*.example", "a.plc.example"));
    assert!(crate::tls::test_name_matches("127.0.0.1", "127.0.0.1"));
}

fn result(id: &str, outcome: Outcome, requirements: &[&str]) -> CheckResult {
    CheckResult {
        id: id.into(),
        target: "modbus://127.0.0.1:502".into(),
        requirements: requirements.iter().map(|r| (*r).to_owned()).collect(),
        outcome,
        observation: format!("observed {outcome}"),
        details: serde_json::Map::new(),
        elapsed_ms: 1,
        bound_ms: 10_000,
    }
}

fn sample() -> Evidence {
    let mut evidence = Evidence::new(
        jiff::Timestamp::from_second(1_800_000_000).unwrap(),
        false,
        vec!["modbus://127.0.0.1:502".into()],
    );
    evidence.checks = vec![
        result("modbus-plaintext", Outcome::NotMet, &["CR 3.1", "CR 4.1"]),
        result(
            "modbus-malformed-frames",
            Outcome::Met,
            &["CR 3.5", "CR 7.1"],
        ),
        result(
            "modbus-unauthenticated-access",
            Outcome::NotTested,
            &["CR 1.2"],
        ),
    ];
    evidence
}

#[test]
fn evidence_reads_back_and_refuses_other_formats_and_unknown_requirements() {
    let evidence = sample();
    let text = evidence.to_json();
    assert_eq!(Evidence::parse(&text, "e.json").unwrap(), evidence);
    assert!(evidence.any_not_met());
    let mut value: serde_json::Value = serde_json::from_str(&text).unwrap();
    value["version"] = 2.into();
    assert!(matches!(
        Evidence::parse(&value.to_string(), "e.json"),
        Err(EvidenceError::Version { version: 2, .. })
    ));
    let mut value: serde_json::Value = serde_json::from_str(&text).unwrap();
    value["checks"][0]["requirements"][0] = "CR 9.9".into();
    let error = Evidence::parse(&value.to_string(), "e.json").unwrap_err();
    assert!(error.to_string().contains("CR 9.9"), "{error}");
    let error = Evidence::parse("{\"format\": 1", "e.json").unwrap_err();
    assert!(
        matches!(error, EvidenceError::Malformed { line: 1, .. }),
        "{error}"
    );
    let mut value: serde_json::Value = serde_json::from_str(&text).unwrap();
    value["checks"][0]["outcome"] = "maybe".into();
    assert!(Evidence::parse(&value.to_string(), "e.json").is_err());
}

#[test]
fn evidence_becomes_live_findings_that_decide_requirements() {
    use rampart_assess::live::{Effect, Outcome as Live, ReportComponent};
    let live = sample().live_evaluation(
        "e.json",
        ReportComponent {
            vendor: "v".into(),
            product: "p".into(),
            version: "1".into(),
            component_type: rampart_catalog::ComponentType::Edr,
        },
    );
    assert_eq!(
        live.findings.len(),
        5,
        "one finding per check and requirement"
    );
    let of = |r: &str| -> Vec<(String, Live)> {
        live.for_requirement(r.parse().unwrap())
            .map(|f| (f.check.clone(), f.outcome))
            .collect()
    };
    assert_eq!(
        of("CR 3.1"),
        [("probe:modbus-plaintext".to_owned(), Live::Fail)]
    );
    assert_eq!(
        of("CR 7.1"),
        [("probe:modbus-malformed-frames".to_owned(), Live::Pass)]
    );
    assert_eq!(
        of("CR 1.2"),
        [(
            "probe:modbus-unauthenticated-access".to_owned(),
            Live::Unknown
        )]
    );
    let failing: Vec<_> = live
        .findings
        .iter()
        .filter(|f| f.decides_not_met())
        .collect();
    assert_eq!(failing.len(), 2);
    assert!(failing.iter().all(|f| f.effect == Effect::NotMet
        && f.message.contains("clear text")
        && f.subject == "modbus://127.0.0.1:502"));
}

#[test]
fn the_table_and_sarif_carry_every_check_with_its_requirements() {
    let evidence = sample();
    let table = crate::report::table(&evidence);
    assert!(
        table.contains("not_met") && table.contains("CR 3.1, CR 4.1"),
        "{table}"
    );
    assert!(table.contains("1 met, 1 not met, 1 not tested"), "{table}");
    let sarif = crate::report::sarif(&evidence);
    let results = sarif["runs"][0]["results"].as_array().unwrap();
    assert_eq!(results.len(), 3);
    assert_eq!(results[0]["kind"], "fail");
    assert_eq!(results[0]["properties"]["requirements"][0], "CR 3.1");
    assert!(
        results
            .iter()
            .all(|r| r["message"]["text"].as_str().unwrap().contains("CR "))
    );
}

#[test]
fn junit_has_one_case_per_check_failures_for_not_met_and_escapes_text() {
    let mut evidence = sample();
    evidence.checks[0].observation = "a <b> & \"c\"\u{1}".into();
    let xml = crate::report::junit(&evidence);
    assert!(xml.starts_with("<?xml version=\"1.0\""), "{xml}");
    assert!(
        xml.contains("tests=\"3\" failures=\"1\" errors=\"0\" skipped=\"1\""),
        "{xml}"
    );
    assert!(
        xml.contains("name=\"modbus-plaintext [CR 3.1, CR 4.1]\""),
        "{xml}"
    );
    assert!(xml.contains("a &lt;b&gt; &amp; &quot;c&quot; \""), "{xml}");
    assert!(!xml.contains('\u{1}'));
    assert_eq!(xml.matches("<testcase ").count(), 3);
    assert_eq!(xml.matches("</testcase>").count(), 3);
    assert_eq!(xml.matches("<testsuite ").count(), 1);
}

#[test]
fn hostile_answers_never_panic_the_parsers() {
    // A deterministic stream of inputs: random bytes, and valid answers with bytes flipped,
    // cut or extended (the fuzz target explores further; this runs in every `cargo test`).
    let mut state = 0x9E37_79B9_7F4A_7C15_u64;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    let valid = [
        server_hello(legacy::TLS12, 0xC02F),
        vec![21, 3, 3, 0, 2, 2, 70],
        sample().to_json().into_bytes(),
    ];
    for round in 0..3000 {
        let mut input = if round % 2 == 0 {
            let len = usize::try_from(next() % 64).unwrap();
            (0..len)
                .map(|_| u8::try_from(next() & 0xFF).unwrap())
                .collect()
        } else {
            valid[round % valid.len()].clone()
        };
        if !input.is_empty() {
            let at = usize::try_from(next()).unwrap() % input.len();
            input[at] ^= u8::try_from(next() & 0xFF).unwrap();
            input.truncate(at + 1 + usize::try_from(next() % 8).unwrap());
        }
        crate::fuzzing::server_answer(&input);
        crate::fuzzing::evidence(&input);
        let _ = legacy::certificate_chain(&input);
    }
}

#[test]
fn the_fuzz_oracles_hold_on_samples() {
    crate::fuzzing::server_answer(&server_hello(legacy::TLS12, 0x002F));
    crate::fuzzing::server_answer(&[21, 3, 3, 0, 2, 2, 70]);
    crate::fuzzing::server_answer(b"\x16\x03");
    crate::fuzzing::evidence(sample().to_json().as_bytes());
    crate::fuzzing::evidence(b"{}");
}
