//! What runs around the handlers, one concern a file. From the outside in: the security
//! [`headers`] of every answer, the per-source [`rate_limit`], and per route the request
//! [`size_limit`] filter and then the [`guard`] (authentication, CSRF, dual approval,
//! authorisation). [`crate::router`] puts them in that order.

pub(crate) mod guard;
pub(crate) mod headers;
pub(crate) mod rate_limit;
pub(crate) mod size_limit;

pub use guard::{APPROVAL_HEADER, Access, CSRF_HEADER, SESSION_COOKIE};
pub(crate) use guard::{Caller, Rule};
