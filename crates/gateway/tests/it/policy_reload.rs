//! Policy reload without dropping connections, audited with old and new hashes; a policy
//! that does not load leaves the old one in force.

use rampart_conduit::DEFAULT_POLICY;
use rampart_gateway::PolicyUpdate;
use rampart_modbus::ExceptionCode;

use crate::util::{TestGateway, write_policy};

/// The default policy, with the viewer reduced to input registers.
fn stricter() -> String {
    DEFAULT_POLICY.replacen(
        "units = [1]\nfunctions = \"read-only\"\nread = \"*\"",
        "units = [1]\nfunctions = [\"read-input-registers\"]\nread = \"*\"",
        1,
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reload_applies_to_open_connections_without_closing_them() {
    let gw = TestGateway::start().await;
    let mut viewer = gw.client("viewer").await.unwrap();
    assert_eq!(viewer.read_holding(0, 1).await.unwrap(), Ok(vec![500]));
    let before = gw.gateway.status().policy.sha256;

    let text = stricter();
    assert_ne!(text, DEFAULT_POLICY, "the replacement matched");
    let change = gw
        .gateway
        .reload_policy(PolicyUpdate::Text {
            text,
            origin: "test upload".into(),
        })
        .await
        .unwrap();
    assert_eq!(change.old_sha256, before);
    assert_ne!(change.new_sha256, before);
    assert_eq!(gw.gateway.status().policy.sha256, change.new_sha256);
    assert_eq!(gw.gateway.status().policy.origin, "test upload");

    // Same connection, new decisions.
    assert_eq!(
        viewer.read_holding(0, 1).await.unwrap(),
        Err(ExceptionCode::ILLEGAL_FUNCTION)
    );
    assert!(viewer.read_input(0, 1).await.unwrap().is_ok());
    assert_eq!(gw.events("policy.reload"), 1);
    assert_eq!(gw.gateway.status().counters.connections_accepted, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_policy_that_does_not_load_leaves_the_old_one_in_force() {
    let gw = TestGateway::start().await;
    let mut viewer = gw.client("viewer").await.unwrap();
    let before = gw.gateway.status().policy.sha256;
    let bad = write_policy(
        gw.temp.path(),
        "bad.toml",
        "version = 1\n[[role]]\nnam = \"x\"\n",
    );
    let err = gw
        .gateway
        .reload_policy(PolicyUpdate::File(bad))
        .await
        .unwrap_err();
    assert!(err.to_string().contains("bad.toml:3"), "{err}");
    assert_eq!(gw.gateway.status().policy.sha256, before);
    assert_eq!(viewer.read_holding(0, 1).await.unwrap(), Ok(vec![500]));
    assert_eq!(gw.events("policy.reload"), 1, "the failure is recorded too");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_configured_file_is_read_again() {
    let gw = TestGateway::start().await;
    let path = gw.data.file(rampart_vault::Entry::Policy);
    assert_eq!(std::fs::read_to_string(&path).unwrap(), DEFAULT_POLICY);
    std::fs::write(&path, stricter()).unwrap();
    let change = gw
        .gateway
        .reload_policy(PolicyUpdate::Configured)
        .await
        .unwrap();
    assert_eq!(change.origin, path.display().to_string());
    let mut viewer = gw.client("viewer").await.unwrap();
    assert_eq!(
        viewer.read_holding(0, 1).await.unwrap(),
        Err(ExceptionCode::ILLEGAL_FUNCTION)
    );
}

/// Moved from conduit, which no longer reads files: the gateway reads the policy, capped.
#[test]
fn oversized_and_unreadable_files_are_refused() {
    let err = rampart_gateway::read_policy_file(std::path::Path::new("/nonexistent/policy.toml"))
        .unwrap_err();
    assert!(err.to_string().contains("cannot read the policy"), "{err}");
    let err = rampart_gateway::read_policy_file(std::path::Path::new("/dev/zero")).unwrap_err();
    assert!(err.to_string().contains("larger than the"), "{err}");
}
