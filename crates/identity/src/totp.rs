//! Time-based one-time passwords (RFC 6238) for multi-factor authentication (CR 1.1 RE 2).
//!
//! HMAC-SHA-1, 6 digits, 30-second steps, one step of clock skew either way. A code is
//! accepted only for a step later than the last one used, so a code cannot be replayed.

use std::fmt;
use std::fmt::Write as _;

use jiff::Timestamp;
use rampart_vault::crypto::{ct_eq, hmac_sha1};
use secrecy::{ExposeSecret, SecretString};
use zeroize::Zeroizing;

/// Seconds per step.
pub const STEP_SECONDS: i64 = 30;
/// Digits per code.
pub const DIGITS: u32 = 6;
/// Bytes of a generated secret (160 bits, as RFC 4226 recommends).
pub(crate) const SECRET_BYTES: usize = 20;

/// The RFC 4226 HOTP value for `counter`, truncated to `digits` decimal digits.
pub(crate) fn hotp(key: &[u8], counter: u64, digits: u32) -> u32 {
    let digest = hmac_sha1(key, &counter.to_be_bytes());
    // Dynamic truncation (RFC 4226 section 5.3): the low nibble of the last byte picks the
    // offset of four bytes; a SHA-1 digest has 20 bytes, so offset + 3 <= 18.
    let offset = usize::from(digest[19] & 0x0f);
    let binary = u32::from_be_bytes([
        digest[offset] & 0x7f,
        digest[offset + 1],
        digest[offset + 2],
        digest[offset + 3],
    ]);
    binary % 10u32.pow(digits)
}

/// The step number of `at`.
pub(crate) fn step_of(at: Timestamp) -> i64 {
    at.as_second().div_euclid(STEP_SECONDS)
}

/// The code for the step containing `at`, zero-padded to 6 digits.
fn code_for_step(key: &[u8], step: i64) -> Zeroizing<String> {
    // Steps before 1970 do not occur for a real clock; clamp them to step 0.
    let counter = u64::try_from(step).unwrap_or(0);
    Zeroizing::new(format!(
        "{:0width$}",
        hotp(key, counter, DIGITS),
        width = DIGITS as usize
    ))
}

/// Checks `code` against the steps around `now`; returns the matching step if it is later
/// than `last_used`. All candidate steps are computed and compared in constant time.
pub(crate) fn verify(
    key: &[u8],
    code: &str,
    now: Timestamp,
    last_used: Option<i64>,
) -> Option<i64> {
    let code = code.trim();
    if code.len() != DIGITS as usize || !code.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let current = step_of(now);
    let mut matched = None;
    for step in [current - 1, current, current + 1] {
        let expected = code_for_step(key, step);
        let equal = ct_eq(expected.as_bytes(), code.as_bytes());
        if equal && matched.is_none() && last_used.is_none_or(|last| step > last) {
            matched = Some(step);
        }
    }
    matched
}

/// The current code for a base32 secret as shown at enrolment, for tests and tooling.
///
/// Returns `None` when `secret_base32` is not base32.
pub fn code_at(secret_base32: &str, at: Timestamp) -> Option<String> {
    let key = Zeroizing::new(
        data_encoding::BASE32_NOPAD
            .decode(secret_base32.trim_end_matches('=').as_bytes())
            .ok()?,
    );
    Some(code_for_step(&key, step_of(at)).to_string())
}

/// What a user needs to set up an authenticator app: shown once, never stored elsewhere.
///
/// # Security
/// Both values contain the shared secret. `Debug` redacts them.
pub struct TotpEnrolment {
    uri: SecretString,
    secret: SecretString,
}

impl TotpEnrolment {
    pub(crate) fn new(issuer: &str, account: &str, key: &[u8]) -> Self {
        let secret = Zeroizing::new(data_encoding::BASE32_NOPAD.encode(key));
        let issuer_enc = percent_encode(issuer);
        let uri = Zeroizing::new(format!(
            "otpauth://totp/{issuer_enc}:{account}?secret={}&issuer={issuer_enc}&algorithm=SHA1&digits={DIGITS}&period={STEP_SECONDS}",
            secret.as_str(),
            account = percent_encode(account),
        ));
        Self {
            uri: SecretString::from(uri.as_str()),
            secret: SecretString::from(secret.as_str()),
        }
    }

    /// The `otpauth://` URI to render as a QR code.
    pub fn expose_uri(&self) -> &str {
        self.uri.expose_secret()
    }

    /// The secret in base32, for typing in by hand.
    pub fn expose_secret_base32(&self) -> &str {
        self.secret.expose_secret()
    }
}

impl fmt::Debug for TotpEnrolment {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("TotpEnrolment(<redacted>)")
    }
}

/// Percent-encodes everything but RFC 3986 unreserved characters.
fn percent_encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for b in text.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(b));
        } else {
            // Writing to a String cannot fail.
            let _ = write!(out, "%{b:02X}");
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const RFC_KEY: &[u8] = b"12345678901234567890";

    /// RFC 6238 Appendix B, SHA-1 rows.
    const RFC_VECTORS: &[(i64, &str)] = &[
        (59, "94287082"),
        (1_111_111_109, "07081804"),
        (1_111_111_111, "14050471"),
        (1_234_567_890, "89005924"),
        (2_000_000_000, "69279037"),
        (20_000_000_000, "65353130"),
    ];

    #[test]
    fn cr_1_1_re_2_totp_matches_rfc_6238_vectors() {
        for (time, expected) in RFC_VECTORS {
            let step = u64::try_from(time / STEP_SECONDS).unwrap();
            assert_eq!(
                format!("{:08}", hotp(RFC_KEY, step, 8)),
                *expected,
                "T={time}"
            );
            // The 6-digit code is the last six digits of the 8-digit one.
            let at = Timestamp::from_second(*time).unwrap();
            let b32 = data_encoding::BASE32_NOPAD.encode(RFC_KEY);
            assert_eq!(code_at(&b32, at).unwrap(), expected[2..], "T={time}");
        }
    }

    #[test]
    fn verify_accepts_one_step_of_skew_and_refuses_replay() {
        let at = Timestamp::from_second(1_111_111_111).unwrap();
        let step = step_of(at);
        let b32 = data_encoding::BASE32_NOPAD.encode(RFC_KEY);
        let code = code_at(&b32, at).unwrap();
        assert_eq!(verify(RFC_KEY, &code, at, None), Some(step));
        let later = Timestamp::from_second(1_111_111_111 + 30).unwrap();
        assert_eq!(verify(RFC_KEY, &code, later, None), Some(step));
        let much_later = Timestamp::from_second(1_111_111_111 + 61).unwrap();
        assert_eq!(verify(RFC_KEY, &code, much_later, None), None);
        // Same step or earlier: replay.
        assert_eq!(verify(RFC_KEY, &code, at, Some(step)), None);
        assert_eq!(verify(RFC_KEY, &code, at, Some(step + 1)), None);
        assert_eq!(verify(RFC_KEY, "12345", at, None), None);
        assert_eq!(verify(RFC_KEY, "abcdef", at, None), None);
    }

    #[test]
    fn enrolment_uri_has_the_standard_fields() {
        let e = TotpEnrolment::new("Rampart Lab", "alice", RFC_KEY);
        assert_eq!(
            e.expose_uri(),
            "otpauth://totp/Rampart%20Lab:alice?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ&issuer=Rampart%20Lab&algorithm=SHA1&digits=6&period=30"
        );
        assert_eq!(format!("{e:?}"), "TotpEnrolment(<redacted>)");
    }
}
