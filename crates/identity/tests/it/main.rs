//! Integration tests of the identity crate, one module per IEC 62443-4-2 requirement.

mod audit_fail_closed;
mod cr_1_10_authenticator_feedback;
mod cr_1_11_lockout;
mod cr_1_12_system_use_notification;
mod cr_1_14_api_tokens;
mod cr_1_1_human_authentication;
mod cr_1_1_re_2_mfa;
mod cr_1_2_process_identity;
mod cr_1_3_account_management;
mod cr_1_4_identifier_management;
mod cr_1_5_authenticator_management;
mod cr_1_7_password_strength;
mod cr_2_1_authorization;
mod cr_2_1_re_3_supervisor_override;
mod cr_2_1_re_4_dual_approval;
mod cr_2_5_session_lock;
mod cr_2_6_remote_session_termination;
mod cr_2_7_concurrent_session_control;
mod cr_3_8_session_integrity;
mod cr_4_1_sealed_totp_seeds;
mod privilege_escalation_via_another_account;
mod storage;
mod util;
