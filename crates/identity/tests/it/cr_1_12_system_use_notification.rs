//! CR 1.12 system use notification: a configurable banner shown before login.

use rampart_identity::{DEFAULT_BANNER, IdentityError};

use crate::util::{GOOD, Harness};

#[test]
fn cr_1_12_banner_has_a_default_and_can_be_configured() {
    let h = Harness::new();
    assert_eq!(h.id.banner().unwrap(), DEFAULT_BANNER);
    h.id.set_banner(&h.root, "Property of Example Water. Authorised staff only.")
        .unwrap();
    assert_eq!(
        h.id.banner().unwrap(),
        "Property of Example Water. Authorised staff only."
    );
    assert_eq!(h.audit.with_action("banner-set").len(), 1);
    assert!(matches!(
        h.id.set_banner(&h.root, "  "),
        Err(IdentityError::Invalid(_))
    ));
    assert!(h.id.set_banner(&h.root, &"x".repeat(4097)).is_err());
}

#[test]
fn cr_1_12_only_configuration_managers_change_the_banner() {
    let h = Harness::new();
    h.user("vic", &["viewer"], GOOD);
    let vic = h.login("vic", GOOD);
    assert!(matches!(
        h.id.set_banner(&vic, "hello"),
        Err(IdentityError::Denied(_))
    ));
}
