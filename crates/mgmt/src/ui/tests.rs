use axum::http::{StatusCode, Uri, header};

use super::{approval_in_query, auth::qr_svg, field_of, refusal};
use crate::error::ApiError;

fn location(response: &axum::response::Response) -> Option<&str> {
    response
        .headers()
        .get(header::LOCATION)
        .and_then(|v| v.to_str().ok())
}

#[test]
fn form_fields_are_read_raw_and_exactly_by_name() {
    let body = b"text=a%26b&csrf=00ff&xcsrf=11";
    assert_eq!(field_of(body, "csrf").as_deref(), Some("00ff"));
    assert_eq!(field_of(body, "nope"), None);
    assert_eq!(field_of(b"\xff\xfe", "csrf"), None, "not UTF-8");
    let uri: Uri = "/policy/apply?approval=12".parse().unwrap();
    assert_eq!(approval_in_query(&uri).as_deref(), Some("12"));
    let uri: Uri = "/policy/apply".parse().unwrap();
    assert_eq!(approval_in_query(&uri), None);
}

#[test]
fn refusals_of_pages_redirect_or_render_html() {
    let check = |error: ApiError, cookie: bool, to: Option<&str>, status: StatusCode| {
        let response = refusal(&error, cookie);
        assert_eq!(response.status(), status, "{error:?}");
        assert_eq!(location(&response), to, "{error:?}");
    };
    check(
        ApiError::unauthenticated(),
        false,
        Some("/login"),
        StatusCode::SEE_OTHER,
    );
    check(
        ApiError::unauthenticated(),
        true,
        Some("/login?ended=1"),
        StatusCode::SEE_OTHER,
    );
    let pending = |code| ApiError::new(StatusCode::FORBIDDEN, code, "first");
    check(
        pending("password-change-required"),
        true,
        Some("/password"),
        StatusCode::SEE_OTHER,
    );
    check(
        pending("mfa-enrolment-required"),
        true,
        Some("/totp"),
        StatusCode::SEE_OTHER,
    );
    let response = refusal(&ApiError::forbidden("not allowed: no role grants it"), true);
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    assert_eq!(
        response.headers()[header::CONTENT_SECURITY_POLICY],
        super::CSP
    );
}

#[test]
fn the_qr_code_is_inline_svg_with_a_label() {
    let svg =
        qr_svg("otpauth://totp/Rampart:admin?secret=JBSWY3DPEHPK3PXP&issuer=Rampart").unwrap();
    assert!(svg.starts_with("<svg role=\"img\" aria-labelledby=\"qr-caption\" "));
    assert!(!svg.contains("<?xml"));
    assert!(
        !svg.contains("style="),
        "no inline style: the CSP forbids it"
    );
}
