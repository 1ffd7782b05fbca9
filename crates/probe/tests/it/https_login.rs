//! The HTTPS login checks against Rampart's management plane, started in-process with a
//! throw-away account: its login page shows the system use notification, a failed login says
//! nothing of why (for an existing account exactly as for a non-existent user), and the
//! lockout check locks the account — which Rampart does without telling (CR 1.10), so the
//! probe reports it cannot decide, and the test sees the account locked.

use std::sync::Arc;

use rampart_gateway::component::Component;
use rampart_gateway::{AuditSink, Gateway, GatewayConfig, RunningGateway};
use rampart_identity::{
    AccountName, HashParams, Identity, IdentityConfig, NewAccount, Password, RoleName,
};
use rampart_probe::{LoginAccount, Outcome, Plan, PlanError, Target};

use crate::util::{expect, now, probe, result};

/// The throw-away account.
const ACCOUNT: &str = "probe-throwaway";

struct Management {
    _temp: tempfile::TempDir,
    identity: Arc<Identity>,
    _gateway: Arc<RunningGateway>,
    mgmt: rampart_mgmt::RunningManagement,
}

impl Management {
    async fn start() -> Management {
        let temp = tempfile::tempdir().unwrap();
        let (component, _) = Component::open_with(
            &temp.path().join("data"),
            &rampart_vault::at_rest::KekConfig::Recorded,
        )
        .unwrap();
        let identity = Arc::new(
            component
                .identity(IdentityConfig {
                    hashing: HashParams::danger_insecure_fast(),
                    ..IdentityConfig::default()
                })
                .unwrap(),
        );
        let Component { data, audit, .. } = component;
        let mut config = GatewayConfig::default();
        config.secure.listen = "127.0.0.1:0".parse().unwrap();
        config.management.listen = "127.0.0.1:0".parse().unwrap();
        let gateway = Arc::new(
            Gateway::start_with_audit(config, &data, Arc::clone(&audit) as Arc<dyn AuditSink>)
                .await
                .unwrap(),
        );
        let mgmt = rampart_mgmt::start(
            rampart_mgmt::ManagementConfig {
                listen: "127.0.0.1:0".parse().unwrap(),
                ..rampart_mgmt::ManagementConfig::default()
            },
            rampart_mgmt::Services {
                identity: Arc::clone(&identity),
                audit,
                gateway: Arc::clone(&gateway),
                data,
                launched_slot: None,
            },
        )
        .await
        .unwrap();
        // The throw-away account, made by the local console as `rampart user add` would.
        let root = identity.local_console("probe-test").unwrap();
        identity
            .create_user(
                &root,
                &NewAccount::new(AccountName::parse(ACCOUNT).unwrap())
                    .role(RoleName::parse("viewer").unwrap())
                    .must_change_password(false),
                &Password::from("plinth marmot cobalt fjord"),
            )
            .unwrap();
        Management {
            _temp: temp,
            identity,
            _gateway: gateway,
            mgmt,
        }
    }

    fn target(&self) -> String {
        format!("https://{}", self.mgmt.local_addr())
    }

    fn locked(&self) -> bool {
        let root = self.identity.local_console("probe-test").unwrap();
        self.identity
            .account(&root, &AccountName::parse(ACCOUNT).unwrap())
            .unwrap()
            .locked
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn rampart_shows_its_notification_and_a_failed_login_tells_nothing() {
    let m = Management::start().await;
    let target = m.target();
    let evidence = probe(
        std::slice::from_ref(&target),
        &["https-use-notification", "https-authenticator-feedback"],
        false,
    )
    .await;
    let banner = expect(&evidence, "https-use-notification", &target, Outcome::Met);
    assert!(
        banner.contains("GET /login (200)") && banner.contains("Authorised use only"),
        "{banner}"
    );
    let details = &result(&evidence, "https-use-notification", &target).details;
    assert!(
        details["notification"]
            .as_str()
            .unwrap()
            .contains(rampart_identity::DEFAULT_BANNER),
        "{details:?}"
    );
    let feedback = expect(
        &evidence,
        "https-authenticator-feedback",
        &target,
        Outcome::Met,
    );
    assert!(
        feedback.contains("type=password") && feedback.contains("HTTP 401"),
        "{feedback}"
    );
    // Read-only: the throw-away account was not touched.
    assert!(!m.locked());
}

#[tokio::test(flavor = "multi_thread")]
async fn the_lockout_check_locks_the_throw_away_account_and_says_what_it_could_see() {
    let m = Management::start().await;
    let target = m.target();
    let checks = [
        "https-authenticator-feedback".to_owned(),
        "https-lockout".to_owned(),
    ];
    let plan = Plan::new(vec![target.parse().unwrap()], Some(&checks), true)
        .unwrap()
        .with_login_account(LoginAccount::new(ACCOUNT, 10).unwrap());
    let bound = plan.bound();
    let evidence = tokio::time::timeout(bound, plan.run(now())).await.unwrap();
    // A wrong password for the account is answered exactly as a non-existent user.
    let feedback = expect(
        &evidence,
        "https-authenticator-feedback",
        &target,
        Outcome::Met,
    );
    assert!(
        feedback.contains(&format!("exactly as the existing account '{ACCOUNT}'")),
        "{feedback}"
    );
    // Rampart answers every failed login alike, locked or not (CR 1.10): the probe cannot
    // decide CR 1.11 from outside, and says so.
    let lockout = expect(&evidence, "https-lockout", &target, Outcome::NotTested);
    assert!(
        lockout.contains("alike") && lockout.contains("may now be locked"),
        "{lockout}"
    );
    let details = &result(&evidence, "https-lockout", &target).details;
    assert_eq!(details["failed_logins"], 21, "{details:?}");
    // It did lock the account (5 failures by default).
    assert!(m.locked());
}

/// `https-lockout` against Rampart with the account's password and the maximum `max`, and
/// Rampart's `OpenAPI` document (it serves it only to an authenticated caller).
async fn lockout_with_password(m: &Management, max: u32) -> rampart_probe::Evidence {
    let checks = ["https-lockout".to_owned()];
    let account = LoginAccount::new(ACCOUNT, max)
        .unwrap()
        .with_password(zeroize::Zeroizing::new(
            "plinth marmot cobalt fjord".to_owned(),
        ));
    let plan = Plan::new(vec![m.target().parse().unwrap()], Some(&checks), true)
        .unwrap()
        .with_login_account(account)
        .with_openapi_document(rampart_mgmt::openapi_json().as_bytes())
        .unwrap();
    tokio::time::timeout(plan.bound(), plan.run(now()))
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn with_the_password_the_lockout_of_a_silent_target_is_decided() {
    // Rampart locks after 5 failures by default, answering as to any wrong password: within
    // a maximum of 10, the right password is refused afterwards.
    let m = Management::start().await;
    let target = m.target();
    let evidence = lockout_with_password(&m, 10).await;
    let lockout = expect(&evidence, "https-lockout", &target, Outcome::Met);
    assert!(
        lockout.contains("refused the right password") && lockout.contains("after 10"),
        "{lockout}"
    );
    assert!(m.locked());
    let answers = result(&evidence, "https-lockout", &target).details["answers"]
        .as_array()
        .unwrap()
        .len();
    assert_eq!(
        answers, 12,
        "one login with the password, 10 wrong, one more with it"
    );
    // Locked through the login form, the account is locked for the JSON login operation its
    // OpenAPI document declares too.
    assert!(
        lockout.contains(
            "the lock holds on the other login route(s) too: POST /api/v1/auth/login (JSON)"
        ),
        "{lockout}"
    );
    let details = &result(&evidence, "https-lockout", &target).details;
    assert_eq!(details["login_route"], "the login form");
    assert_eq!(
        details["other_routes"][0]["verdict"], "refused the right password",
        "{details:?}"
    );
    assert_eq!(details["failed_logins"], 11);
}

#[tokio::test(flavor = "multi_thread")]
async fn with_the_password_the_session_cookie_set_at_login_is_judged() {
    let m = Management::start().await;
    let target = m.target();
    let checks = ["https-cookie-attributes".to_owned()];
    let account = LoginAccount::new(ACCOUNT, 10)
        .unwrap()
        .with_password(zeroize::Zeroizing::new(
            "plinth marmot cobalt fjord".to_owned(),
        ));
    let plan = Plan::new(vec![target.parse().unwrap()], Some(&checks), true)
        .unwrap()
        .with_login_account(account);
    let evidence = tokio::time::timeout(plan.bound(), plan.run(now()))
        .await
        .unwrap();
    // Nothing before the login; the session cookie at it, with every attribute.
    let cookies = expect(&evidence, "https-cookie-attributes", &target, Outcome::Met);
    assert!(
        cookies.contains("1 cookie(s), each Secure, HttpOnly and SameSite"),
        "{cookies}"
    );
    let details = &result(&evidence, "https-cookie-attributes", &target).details;
    assert_eq!(
        details["cookies"][0], "a login through the login form: __Host-rampart-session",
        "{details:?}"
    );
    assert!(!m.locked());

    // A wrong password logs nobody in: the check says why it could not judge.
    let account = LoginAccount::new(ACCOUNT, 10)
        .unwrap()
        .with_password(zeroize::Zeroizing::new("not the password".to_owned()));
    let plan = Plan::new(vec![target.parse().unwrap()], Some(&checks), true)
        .unwrap()
        .with_login_account(account);
    let evidence = tokio::time::timeout(plan.bound(), plan.run(now()))
        .await
        .unwrap();
    let why = expect(
        &evidence,
        "https-cookie-attributes",
        &target,
        Outcome::NotTested,
    );
    assert!(
        why.contains(&format!(
            "a login of '{ACCOUNT}' through the login form set no cookie"
        )),
        "{why}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn with_the_password_a_lockout_later_than_the_maximum_is_not_met() {
    // A maximum of 3 below Rampart's 5: after 3 failures the right password still works.
    let m = Management::start().await;
    let target = m.target();
    let evidence = lockout_with_password(&m, 3).await;
    let lockout = expect(&evidence, "https-lockout", &target, Outcome::NotMet);
    assert!(
        lockout.contains("accepted the right password") && lockout.contains("after 3"),
        "{lockout}"
    );
    assert!(!m.locked());
}

#[tokio::test(flavor = "multi_thread")]
async fn the_lockout_check_needs_consent_and_an_account() {
    let target: Target = "https://127.0.0.1:1".parse().unwrap();
    let checks = ["https-lockout".to_owned()];
    match Plan::new(vec![target.clone()], Some(&checks), false) {
        Err(PlanError::IntrusiveWithoutConsent { id, summary }) => {
            assert_eq!(id, "https-lockout");
            assert!(summary.contains("LOCKS THE ACCOUNT"), "{summary}");
        }
        other => panic!("{other:?}"),
    }
    // With consent but no account: nothing to lock, not tested (no connection is made).
    let evidence = Plan::new(vec![target], Some(&checks), true)
        .unwrap()
        .run(now())
        .await;
    let r = &evidence.checks[0];
    assert_eq!(r.outcome, Outcome::NotTested);
    assert!(
        r.observation.contains("--login-account"),
        "{}",
        r.observation
    );
    assert!(LoginAccount::new("x", 0).is_err());
}
