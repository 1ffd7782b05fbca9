//! CR 1.2 software process and device identification, CR 1.8 / 1.9 public-key
//! authentication: certificates bound to accounts, and the Modbus/TCP Security role
//! extension (OID 1.3.6.1.4.1.50316.802.1).

use rampart_identity::{
    ActorKind, AuthMethod, CertificateError, CertificateIdentity, IdentityError, NewAccount,
    Permission, x509,
};

use crate::util::{CertSpec, Harness, acct, certificate, role, utf8_string, web};

#[test]
fn cr_1_2_role_extension_none_one_or_many() {
    let none = certificate(&CertSpec::default());
    assert_eq!(x509::role_from_der(&none).unwrap(), None);

    let one = certificate(&CertSpec {
        roles: vec![utf8_string("Operator")],
        ..CertSpec::default()
    });
    assert_eq!(x509::role_from_der(&one).unwrap(), Some(role("operator")));

    let two = certificate(&CertSpec {
        roles: vec![utf8_string("operator"), utf8_string("engineer")],
        ..CertSpec::default()
    });
    assert_eq!(
        x509::role_from_der(&two).unwrap_err(),
        CertificateError::MultipleRoles { count: 2 }
    );

    // Not a UTF8String (a PrintableString): refused.
    let printable = certificate(&CertSpec {
        roles: vec![vec![0x13, 0x02, b'o', b'p']],
        ..CertSpec::default()
    });
    assert!(matches!(
        x509::role_from_der(&printable),
        Err(CertificateError::MalformedRole(_))
    ));
}

#[test]
fn cr_1_2_identity_has_fingerprint_subject_and_validity() {
    let der = certificate(&CertSpec::default());
    let c = CertificateIdentity::from_der(&der).unwrap();
    assert_eq!(c.fingerprint_hex().len(), 64);
    assert!(c.subject().contains("CN=plc-client-1"), "{}", c.subject());
    c.check_client_use(crate::util::start()).unwrap();
    assert!(CertificateIdentity::from_der(&der[..der.len() - 1]).is_err());
    let mut trailing = der.clone();
    trailing.push(0);
    assert!(matches!(
        CertificateIdentity::from_der(&trailing),
        Err(CertificateError::Malformed(_))
    ));
}

#[test]
fn cr_1_9_validity_period_and_key_usage_are_checked() {
    let expired = certificate(&CertSpec {
        not_before: (2010, 1, 1),
        not_after: (2015, 1, 1),
        ..CertSpec::default()
    });
    let c = CertificateIdentity::from_der(&expired).unwrap();
    assert!(matches!(
        c.check_client_use(crate::util::start()),
        Err(CertificateError::Expired { .. })
    ));
    let future = certificate(&CertSpec {
        not_before: (2039, 1, 1),
        ..CertSpec::default()
    });
    assert!(matches!(
        CertificateIdentity::from_der(&future)
            .unwrap()
            .check_client_use(crate::util::start()),
        Err(CertificateError::NotYetValid { .. })
    ));
    let server_only = certificate(&CertSpec {
        client_auth: false,
        ..CertSpec::default()
    });
    assert!(matches!(
        CertificateIdentity::from_der(&server_only)
            .unwrap()
            .check_client_use(crate::util::start()),
        Err(CertificateError::KeyUsage(_))
    ));
}

#[test]
fn cr_1_2_unbound_certificate_gets_its_role_or_the_null_role() {
    let h = Harness::new();
    let with_role = certificate(&CertSpec {
        roles: vec![utf8_string("operator")],
        ..CertSpec::default()
    });
    let p = h.id.authenticate_certificate(&with_role, &web()).unwrap();
    assert_eq!(p.kind(), ActorKind::Certificate);
    assert_eq!(p.method(), AuthMethod::Certificate);
    assert_eq!(p.roles(), &[role("operator")]);
    h.id.authorize(&p, Permission::IslandMode).unwrap();

    let without = certificate(&CertSpec::default());
    let p = h.id.authenticate_certificate(&without, &web()).unwrap();
    assert!(p.roles().is_empty());
    assert!(p.permissions().is_empty());
    for perm in Permission::ALL {
        assert!(
            h.id.authorize(&p, *perm).is_err(),
            "NULL role must not get {perm}"
        );
    }
    assert_eq!(h.audit.with_action("certificate-login").len(), 2);
}

#[test]
fn cr_1_2_bound_certificate_identifies_a_process_account() {
    let h = Harness::new();
    h.id.create_process_account(
        &h.root,
        &NewAccount::new(acct("historian")).role(role("viewer")),
    )
    .unwrap();
    let der = certificate(&CertSpec {
        subject: "historian-01",
        ..CertSpec::default()
    });
    let binding =
        h.id.bind_certificate(&h.root, &der, &acct("historian"), Some(&role("viewer")))
            .unwrap();
    assert_eq!(binding.account, "historian");
    let p = h.id.authenticate_certificate(&der, &web()).unwrap();
    assert_eq!(p.kind(), ActorKind::Process);
    assert_eq!(p.name(), "historian");
    h.id.authorize(&p, Permission::MetricsRead).unwrap();
    assert!(h.id.authorize(&p, Permission::PolicyApply).is_err());

    // Binding twice is refused; a disabled account no longer authenticates.
    assert!(matches!(
        h.id.bind_certificate(&h.root, &der, &acct("historian"), None),
        Err(IdentityError::CertificateAlreadyBound { .. })
    ));
    h.id.disable_account(&h.root, &acct("historian")).unwrap();
    assert!(matches!(
        h.id.authenticate_certificate(&der, &web()),
        Err(IdentityError::AuthenticationFailed)
    ));
    let listed = h.id.list_certificates(&h.root).unwrap();
    assert_eq!(listed.len(), 1);
    h.id.unbind_certificate(&h.root, &binding.fingerprint)
        .unwrap();
    assert!(h.id.list_certificates(&h.root).unwrap().is_empty());
}

#[test]
fn cr_1_2_binding_role_must_match_the_certificate_role() {
    let h = Harness::new();
    h.id.create_process_account(
        &h.root,
        &NewAccount::new(acct("scada"))
            .role(role("viewer"))
            .role(role("operator")),
    )
    .unwrap();
    let der = certificate(&CertSpec {
        roles: vec![utf8_string("operator")],
        ..CertSpec::default()
    });
    let err =
        h.id.bind_certificate(&h.root, &der, &acct("scada"), Some(&role("viewer")))
            .unwrap_err();
    assert!(
        matches!(
            err,
            IdentityError::Certificate(CertificateError::RoleMismatch { .. })
        ),
        "{err}"
    );
    // A process account has no password to log in with.
    let p = h.id.authenticate(
        "scada",
        &rampart_identity::Password::from("anything at all here"),
        None,
        &web(),
    );
    assert!(p.is_err());
}
