//! CR 1.4 identifier management: identifiers are unique and never reused.

use rampart_identity::{AccountName, IdentityError, NewAccount, Password, PermissionSet, RoleName};

use crate::util::{GOOD, Harness, acct, role};

#[test]
fn cr_1_4_removed_account_names_are_never_reused() {
    let h = Harness::new();
    h.user("alice", &["viewer"], GOOD);
    h.id.remove_account(&h.root, &acct("alice")).unwrap();
    let err =
        h.id.create_user(
            &h.root,
            &NewAccount::new(acct("alice")),
            &Password::from(GOOD),
        )
        .unwrap_err();
    assert!(matches!(err, IdentityError::NameReserved { .. }), "{err}");
    assert!(err.to_string().contains("never reused"), "{err}");
    // Also not as a process account.
    assert!(matches!(
        h.id.create_process_account(&h.root, &NewAccount::new(acct("Alice"))),
        Err(IdentityError::NameReserved { .. })
    ));
}

#[test]
fn cr_1_4_deleted_role_names_are_never_reused() {
    let h = Harness::new();
    h.id.create_role(&h.root, &role("historian"), "", PermissionSet::EMPTY)
        .unwrap();
    h.id.delete_role(&h.root, &role("historian")).unwrap();
    assert!(matches!(
        h.id.create_role(&h.root, &role("historian"), "", PermissionSet::EMPTY),
        Err(IdentityError::NameReserved { .. })
    ));
    // Built-in names are reserved from the start.
    assert!(matches!(
        h.id.create_role(&h.root, &role("admin"), "", PermissionSet::EMPTY),
        Err(IdentityError::AlreadyExists { .. })
    ));
}

#[test]
fn cr_1_4_names_are_parsed_with_reasons() {
    let e = AccountName::parse("bob smith").unwrap_err();
    assert_eq!(
        e.to_string(),
        "invalid account name 'bob smith': it contains ' '; allowed are letters a-z, digits 0-9, '.', '_' and '-'"
    );
    assert!(RoleName::parse(&"r".repeat(65)).is_err());
    assert_eq!(
        AccountName::parse("Bob").unwrap(),
        AccountName::parse("bob").unwrap()
    );
}
