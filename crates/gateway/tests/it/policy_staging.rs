//! NDR 5.2, CR 3.4: a policy is staged, reviewed and applied only as the version reviewed;
//! one the gateway refuses changes nothing; an applied policy is in force at once and written
//! to the policy file so that it survives a restart.

use rampart_conduit::DEFAULT_POLICY;
use rampart_gateway::staging::StagingError;
use rampart_modbus::ExceptionCode;

use crate::util::TestGateway;

/// The default policy, with the viewer reduced to input registers.
fn stricter() -> String {
    DEFAULT_POLICY.replacen(
        "units = [1]\nfunctions = \"read-only\"\nread = \"*\"",
        "units = [1]\nfunctions = [\"read-input-registers\"]\nread = \"*\"",
        1,
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_the_reviewed_staged_policy_is_applied() {
    let gw = TestGateway::start().await;
    let gateway = &gw.gateway;
    assert!(gateway.staged_policy().unwrap().is_none());
    assert!(matches!(
        gateway.discard_staged_policy(),
        Err(StagingError::NothingStaged)
    ));
    assert!(matches!(
        gateway.stage_policy("[[role]\n".into(), "eng1", "2026-01-01T00:00:00Z"),
        Err(StagingError::Invalid(_))
    ));

    let text = stricter();
    assert_ne!(text, DEFAULT_POLICY, "the replacement matched");
    let staged = gateway
        .stage_policy(text.clone(), "eng1", "2026-01-01T00:00:00Z")
        .unwrap();
    assert_eq!(gateway.staged_policy().unwrap().as_ref(), Some(&staged));
    let diff = gateway.staged_policy_diff().unwrap();
    assert_eq!(diff.staged_sha256, staged.sha256);
    assert!(
        diff.unified
            .contains("+functions = [\"read-input-registers\"]"),
        "{}",
        diff.unified
    );

    // Another version than the one reviewed is refused, and nothing changes.
    let before = gateway.status().policy.sha256;
    assert!(matches!(
        gateway.apply_staged_policy(&before).await,
        Err(StagingError::Changed { .. })
    ));
    assert_eq!(gateway.status().policy.sha256, before);

    let change = gateway.apply_staged_policy(&staged.sha256).await.unwrap();
    assert_eq!(
        (change.old_sha256.as_str(), change.new_sha256.as_str()),
        (before.as_str(), staged.sha256.as_str())
    );
    assert_eq!(gateway.status().policy.sha256, staged.sha256);
    assert_eq!(
        std::fs::read_to_string(gateway.policy_path()).unwrap(),
        text
    );
    assert!(
        gateway.staged_policy().unwrap().is_none(),
        "the staging area is cleared"
    );
    let mut viewer = gw.client("viewer").await.unwrap();
    assert_eq!(
        viewer.read_holding(0, 1).await.unwrap(),
        Err(ExceptionCode::ILLEGAL_FUNCTION),
        "in force at once"
    );
}
