use std::os::unix::fs::PermissionsExt as _;
use std::time::Duration;

use x509_parser::prelude::{FromDer as _, X509Certificate};

use super::*;

fn init() -> (tempfile::TempDir, DataDir, Pki, InitReport) {
    let temp = tempfile::tempdir().unwrap();
    let (data, _) = DataDir::open_or_init(&temp.path().join("data")).unwrap();
    let (pki, report) = Pki::open_or_init(&data).unwrap();
    (temp, data, pki, report)
}

fn mode(path: &Path) -> u32 {
    fs::metadata(path).unwrap().permissions().mode() & 0o777
}

/// The role extension values of a PEM certificate file.
fn roles(path: &Path) -> Vec<String> {
    let der = read_cert(path).unwrap();
    let (_, cert) = X509Certificate::from_der(&der).unwrap();
    let oid = ROLE_EXTENSION_OID
        .iter()
        .map(u64::to_string)
        .collect::<Vec<_>>()
        .join(".");
    cert.extensions()
        .iter()
        .filter(|e| e.oid.to_id_string() == oid)
        .map(|e| {
            assert!(!e.critical, "the role extension is not critical");
            assert_eq!(e.value[0], 0x0c, "a UTF8String");
            String::from_utf8(e.value[2..].to_vec()).unwrap()
        })
        .collect()
}

#[test]
fn first_start_creates_the_documented_layout() {
    let (_temp, data, pki, report) = init();
    let root = data.root().join("pki");
    for file in ["ca.crt", "ca.key", "ca.crl", "server.crt", "server.key"] {
        assert!(root.join(file).is_file(), "{file}");
    }
    for role in DEMO_ROLES {
        let cert = root.join("clients").join(format!("{role}.crt"));
        let key = root.join("clients").join(format!("{role}.key"));
        assert_eq!(mode(&key), 0o600, "{role}.key");
        assert!(
            fs::read_to_string(&cert)
                .unwrap()
                .starts_with("-----BEGIN CERTIFICATE-----")
        );
        assert!(
            fs::read_to_string(&key)
                .unwrap()
                .starts_with("-----BEGIN PRIVATE KEY-----")
        );
        assert_eq!(roles(&cert), [role]);
    }
    for key in ["ca.key", "server.key"] {
        assert_eq!(mode(&root.join(key)), 0o600, "{key}");
    }
    assert!(
        fs::read_to_string(root.join("ca.crl"))
            .unwrap()
            .contains("BEGIN X509 CRL")
    );
    assert_eq!(report.created.len(), 2 + 1 + 2 + 2 * DEMO_ROLES.len());
    assert!(pki.revoked_serials().unwrap().is_empty());
}

#[test]
fn second_start_keeps_everything() {
    let (_temp, data, pki, _) = init();
    let ca = fs::read(pki.ca_cert_path()).unwrap();
    let viewer = fs::read(pki.client_cert_path("viewer").unwrap()).unwrap();
    let (_, report) = Pki::open_or_init(&data).unwrap();
    assert!(report.is_empty(), "{report:?}");
    assert_eq!(fs::read(pki.ca_cert_path()).unwrap(), ca);
    assert_eq!(
        fs::read(pki.client_cert_path("viewer").unwrap()).unwrap(),
        viewer
    );
}

#[test]
fn a_missing_demo_certificate_is_issued_again_by_the_same_ca() {
    let (_temp, data, pki, _) = init();
    let ca = fs::read(pki.ca_cert_path()).unwrap();
    fs::remove_file(pki.client_cert_path("operator").unwrap()).unwrap();
    let (_, report) = Pki::open_or_init(&data).unwrap();
    assert_eq!(report.created.len(), 2);
    assert_eq!(fs::read(pki.ca_cert_path()).unwrap(), ca);
}

#[test]
fn a_ca_certificate_without_its_key_cannot_issue() {
    let (_temp, _data, pki, _) = init();
    fs::remove_file(pki.ca_key_path()).unwrap();
    let err = pki.issue_client(&ClientSpec::new("x")).unwrap_err();
    assert!(matches!(err, PkiError::MissingCaKey { .. }), "{err}");
}

#[test]
fn issued_certificates_carry_zero_one_or_several_roles() {
    let (_temp, _data, pki, _) = init();
    let none = pki.issue_client(&ClientSpec::new("anonymous")).unwrap();
    assert!(roles(&none.cert_path).is_empty());
    let two = pki
        .issue_client(
            &ClientSpec::new("greedy")
                .role("viewer")
                .danger_extra_role("engineer"),
        )
        .unwrap();
    assert_eq!(roles(&two.cert_path), ["viewer", "engineer"]);
    assert_eq!(mode(&two.key_path), 0o600);
}

#[test]
fn names_that_could_leave_the_directory_are_refused() {
    let (_temp, _data, pki, _) = init();
    for name in ["", "../x", "a/b", ".hidden", "x y", &"a".repeat(65)] {
        let err = pki.issue_client(&ClientSpec::new(name)).unwrap_err();
        assert!(
            matches!(err, PkiError::BadName { kind: "client", .. }),
            "{name:?}: {err}"
        );
    }
    let err = pki
        .issue_client(&ClientSpec::new("ok").role("no role"))
        .unwrap_err();
    assert!(
        matches!(err, PkiError::BadName { kind: "role", .. }),
        "{err}"
    );
}

#[test]
fn validity_must_not_end_before_it_starts() {
    let (_temp, _data, pki, _) = init();
    let now = rampart_clock::Clock::read(&rampart_clock::SystemClock::new())
        .at
        .to_system_time();
    let err = pki
        .issue_client(&ClientSpec::new("x").validity(now, now - Duration::from_secs(1)))
        .unwrap_err();
    assert!(matches!(err, PkiError::Validity { .. }), "{err}");
}

#[test]
fn revocation_lists_the_serial_and_raises_the_crl_number() {
    let (_temp, _data, pki, _) = init();
    let issued = pki
        .issue_client(&ClientSpec::new("lost").role("operator"))
        .unwrap();
    let first = pki.revoke_file(&issued.cert_path).unwrap();
    assert_eq!(first.serial_hex, issued.serial_hex);
    assert!(!first.already_revoked);
    assert_eq!(first.crl_number, 2);
    assert!(first.subject.contains("CN=lost"), "{}", first.subject);
    let again = pki.revoke_file(&issued.cert_path).unwrap();
    assert!(again.already_revoked);
    assert_eq!(again.crl_number, 2);
    let viewer = pki
        .revoke_file(&pki.client_cert_path("viewer").unwrap())
        .unwrap();
    assert_eq!(viewer.crl_number, 3);
    assert_eq!(
        pki.revoked_serials().unwrap(),
        [issued.serial_hex, viewer.serial_hex]
    );
}

#[test]
fn certificates_of_another_ca_cannot_be_revoked_here() {
    let (_temp, _data, pki, _) = init();
    let (_other_temp, _other_data, other, _) = init();
    let err = pki
        .revoke_file(&other.client_cert_path("viewer").unwrap())
        .unwrap_err();
    assert!(matches!(err, PkiError::ForeignCertificate { .. }), "{err}");
}

#[test]
fn utf8_string_uses_the_long_length_form_when_needed() {
    assert_eq!(utf8_string("ab"), [0x0c, 2, b'a', b'b']);
    let long = "x".repeat(200);
    let der = utf8_string(&long);
    assert_eq!(&der[..3], &[0x0c, 0x81, 200]);
    assert_eq!(der.len(), 203);
}
