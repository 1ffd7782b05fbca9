//! TOTP enrolment for multi-factor authentication (CR 1.1 RE 2).

use rusqlite::{OptionalExtension, params};
use serde_json::json;
use zeroize::Zeroizing;

use crate::audit::{AuditCategory, AuditOutcome};
use crate::error::{DbResult, IdentityError};
use crate::principal::{AuthMethod, AuthenticatedPrincipal};
use crate::service::Identity;
use crate::totp::{self, TotpEnrolment};

impl Identity {
    /// Starts TOTP enrolment for the principal's own account: generates a 160-bit secret,
    /// keeps it pending, and returns the `otpauth://` URI (and base32 secret) to show once.
    /// Enrolment takes effect with [`Identity::confirm_totp_enrolment`]. Allowed for a
    /// principal that must enrol before anything else; an existing enrolment can only be
    /// replaced after an administrator's [`Identity::reset_mfa`].
    ///
    /// # Errors
    /// [`IdentityError::AuthenticationFailed`] for principals without a human account (or
    /// authenticated by API token); [`IdentityError::Invalid`] when already enrolled; audit,
    /// storage and random-number errors.
    pub fn begin_totp_enrolment(
        &self,
        principal: &AuthenticatedPrincipal,
    ) -> Result<TotpEnrolment, IdentityError> {
        let (id, name) = self_account(principal)?;
        let secret = Self::random_bytes(totp::SECRET_BYTES)?;
        let mut conn = self.db();
        let tx = conn.transaction().db()?;
        let row = Self::load_account_by_id(&tx, id)?.ok_or(IdentityError::AuthenticationFailed)?;
        if !row.human {
            return Err(IdentityError::NotHuman(name));
        }
        if row.totp_secret.is_some() {
            return Err(IdentityError::Invalid(format!(
                "'{name}' is already enrolled; an administrator must reset MFA first"
            )));
        }
        let stored = self.seal_totp(id, &secret)?;
        tx.execute(
            "UPDATE accounts SET totp_pending = ?2 WHERE id = ?1",
            params![id, stored],
        )
        .db()?;
        self.record_for(
            principal,
            AuditCategory::ConfigurationChange,
            "mfa-enrol",
            Some(&name),
            AuditOutcome::Success,
            json!({ "stage": "started", "factor": "totp" }),
        )?;
        tx.commit().db()?;
        Ok(TotpEnrolment::new(&self.config.mfa.issuer, &name, &secret))
    }

    /// Completes TOTP enrolment with a code from the authenticator app, proving it holds the
    /// secret. The code's step counts as used.
    ///
    /// # Errors
    /// [`IdentityError::NoPendingEnrolment`], [`IdentityError::TotpCodeRejected`],
    /// [`IdentityError::AuthenticationFailed`]; audit and storage errors.
    pub fn confirm_totp_enrolment(
        &self,
        principal: &AuthenticatedPrincipal,
        code: &str,
    ) -> Result<(), IdentityError> {
        let (id, name) = self_account(principal)?;
        let now = self.now();
        let mut conn = self.db();
        let tx = conn.transaction().db()?;
        let pending: Option<Zeroizing<Vec<u8>>> = tx
            .query_row(
                "SELECT totp_pending FROM accounts WHERE id = ?1",
                [id],
                |r| r.get::<_, Option<Vec<u8>>>(0),
            )
            .optional()
            .db()?
            .flatten()
            .map(Zeroizing::new);
        let Some(pending) = pending else {
            return Err(IdentityError::NoPendingEnrolment(name));
        };
        let pending = self.open_totp(id, &pending)?;
        let Some(step) = totp::verify(&pending, code, now, None) else {
            let _ = self.record_for(
                principal,
                AuditCategory::ConfigurationChange,
                "mfa-verify",
                Some(&name),
                AuditOutcome::Failure,
                json!({ "stage": "enrolment" }),
            );
            return Err(IdentityError::TotpCodeRejected);
        };
        tx.execute(
            "UPDATE accounts SET totp_secret = totp_pending, totp_pending = NULL,
                                 totp_last_step = ?2 WHERE id = ?1",
            params![id, step],
        )
        .db()?;
        self.record_for(
            principal,
            AuditCategory::ConfigurationChange,
            "mfa-enrol",
            Some(&name),
            AuditOutcome::Success,
            json!({ "stage": "confirmed", "factor": "totp" }),
        )?;
        tx.commit().db()?;
        Ok(())
    }
}

fn self_account(principal: &AuthenticatedPrincipal) -> Result<(i64, String), IdentityError> {
    match (principal.account_id, &principal.account) {
        (Some(id), Some(name)) if principal.method != AuthMethod::ApiToken => {
            Ok((id, name.to_string()))
        }
        _ => Err(IdentityError::AuthenticationFailed),
    }
}
