//! Fuzzing oracles (not part of the API): the parsers of untrusted input in this crate.

/// The answer to a hand-built `ClientHello`, as a hostile server may send it: parsing never
/// panics, and an answer only grows more complete as bytes are added.
pub fn server_answer(data: &[u8]) {
    let data = data.get(..crate::legacy::MAX_ANSWER_BYTES).unwrap_or(data);
    let answer = crate::legacy::parse_answer(data);
    if answer != crate::legacy::Answer::Incomplete {
        let mut longer = data.to_vec();
        longer.extend_from_slice(&[0x16, 0x03, 0x03, 0x00, 0x01, 0x00]);
        assert_eq!(
            crate::legacy::parse_answer(&longer),
            answer,
            "decided answers are stable"
        );
    }
}

/// The `ServerKeyExchange` of a TLS 1.2 answer, as a hostile server may send it: reading
/// the curve or the prime never panics, and once the answer reaches its key exchange the
/// key exchange read stays the same as bytes are added.
pub fn server_key_exchange(data: &[u8]) {
    let data = data.get(..crate::legacy::MAX_ANSWER_BYTES).unwrap_or(data);
    for dhe in [false, true] {
        let exchange = crate::legacy::server_key_exchange(data, dhe);
        if exchange.is_some() {
            let mut longer = data.to_vec();
            longer.extend_from_slice(&[0x16, 0x03, 0x03, 0x00, 0x04, 0x0E, 0, 0, 0]);
            assert_eq!(
                crate::legacy::server_key_exchange(&longer, dhe),
                exchange,
                "a key exchange read is stable"
            );
        }
    }
    let _ = crate::legacy::through_key_exchange(data);
}

/// An evidence file as a user may hand it to `assess --evidence`: parsing never panics, and
/// what parses reads back the same after writing.
pub fn evidence(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(evidence) = crate::Evidence::parse(text, "fuzz") {
        let back = crate::Evidence::parse(&evidence.to_json(), "fuzz");
        assert_eq!(back.as_ref(), Ok(&evidence), "evidence reads back");
        let _ = evidence.live_evaluation(
            "fuzz",
            rampart_assess::live::ReportComponent {
                vendor: String::new(),
                product: String::new(),
                version: String::new(),
                component_type: rampart_catalog::ComponentType::Ndr,
            },
        );
    }
}

/// A page a hostile management plane shows before a login, and its answer to a failed one:
/// scanning never panics and stays within its bounds, the form found is posted on the target
/// only, and the text checks of the login checks run over anything.
pub fn login_page(data: &[u8]) {
    use crate::https::{login, page};
    let scanned = page::scan(data);
    assert!(scanned.forms.len() <= page::MAX_FORMS, "forms bounded");
    assert!(scanned.text.len() <= page::MAX_TEXT_CHARS, "text bounded");
    for form in &scanned.forms {
        assert!(form.inputs.len() <= page::MAX_INPUTS, "inputs bounded");
        for input in &form.inputs {
            assert!(
                input.name.chars().count() <= page::MAX_VALUE_CHARS,
                "names bounded"
            );
            assert!(
                input.value.chars().count() <= page::MAX_VALUE_CHARS,
                "values bounded"
            );
        }
    }
    assert_eq!(page::scan(data), scanned, "scanning is deterministic");
    let text = String::from_utf8_lossy(data);
    let _ = login::notification(&scanned);
    let _ = login::telling_phrase(&text);
    let _ = login::normalize(&text, "probe-user");
    if let Some(form) = scanned.login_form() {
        let _ = login::form_body(form, "probe-user", "p@ss word");
        if let Ok(target) = "https://127.0.0.1:8443".parse::<crate::Target>()
            && let Ok(path) = login::action_path(form.action.as_deref(), "/login", &target)
        {
            assert!(
                path.starts_with('/'),
                "a form posts to a path of the target: {path}"
            );
        }
    }
}

/// An `OpenAPI` document a hostile management plane serves: reading its protected routes and
/// its JSON login operations never panics, and every login found is a bounded number of
/// plain paths of the target with two distinct property names.
pub fn openapi_document(data: &[u8]) {
    for route in crate::https::openapi_protected_gets(data) {
        assert!(route.starts_with('/'), "a route is a path: {route}");
    }
    if let Some(logins) = crate::https::login_route::openapi_json_logins(data) {
        assert!(
            logins.len() <= crate::https::login_route::MAX_JSON_LOGINS,
            "logins bounded"
        );
        for login in logins {
            assert!(
                login.path.starts_with('/')
                    && !login.path.contains('{')
                    && !login.path.chars().any(char::is_whitespace),
                "a login is a plain path: {}",
                login.path
            );
            assert_ne!(login.user_property, login.password_property);
        }
    }
}

/// The handshake messages a hostile server sends the probe's own TLS 1.2 client
/// (`tls-client-renegotiation`): reassembly stays within its bound and yields whole
/// messages, and reading a `ServerHello`, an ECDHE `ServerKeyExchange` or a
/// `CertificateRequest` never panics.
pub fn renegotiation_handshake(data: &[u8]) {
    use crate::tls_renegotiation as reneg;
    let mut messages = reneg::Messages::default();
    for chunk in data.chunks(97) {
        if messages.push(chunk).is_err() {
            break;
        }
        while let Some(message) = messages.next_message() {
            assert!(message.len() >= 4, "a message has its header");
            let body = &message[4..];
            let _ = reneg::parse_server_hello(body);
            let _ = reneg::parse_ecdhe_params(body);
            let _ = reneg::parse_certificate_request(body);
        }
    }
    let _ = reneg::parse_server_hello(data);
    let _ = reneg::parse_ecdhe_params(data);
    let _ = reneg::parse_certificate_request(data);
}
