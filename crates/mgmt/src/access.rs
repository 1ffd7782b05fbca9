//! Access from untrusted networks (NDR 1.13 RE 1).
//!
//! The plane's `trusted` networks (default loopback) are served as ever. From any other allowed
//! source, with `untrusted_access = "approve"`, a login whose credentials (and TOTP code) are
//! right, or a request with a valid API token, opens nothing: an access request is recorded
//! (`access.request`) and the client gets 403 `access-request-pending` naming it. A holder of
//! `access.approve`, from a trusted network and never for their own account, approves or
//! denies it (`access.approve`, `access.deny`). An approval is bound to the account and the
//! source address and lasts `access_approval_ttl`: the next login from that address opens one
//! session, the only session accepted from there, and API tokens of the account are accepted
//! from there until then. Requests and approvals that run out are recorded as `access.expired`.
//!
//! The table lives in memory (a restart forgets every request and approval, which fails
//! closed) and is bounded: pending requests per source and in total are capped, a repeat of a
//! pending request answers with the same id, and finished entries are kept only for a short
//! history.

use std::net::IpAddr;
use std::sync::{Mutex, PoisonError};

use axum::http::{HeaderValue, StatusCode};
use axum::response::Response;
use jiff::Timestamp;
use rampart_gateway::config::UntrustedAccess;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::config::ManagementConfig;
use crate::error::ApiError;

/// The header that names the access request a refused request created or joined.
pub const ACCESS_REQUEST_HEADER: &str = "x-rampart-access-request";

/// Finished entries (denied, expired) kept for the list.
const HISTORY: usize = 64;

/// The state of an access request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum RequestState {
    /// Waiting for a decision.
    Pending,
    /// Approved: the account may come in from the address until the approval expires.
    Approved,
    /// Denied.
    Denied,
    /// Expired undecided, or its approval ran out.
    Expired,
}

/// An access request as the API lists it.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct AccessRequestView {
    /// The request id (random, 128 bits, hex).
    pub id: String,
    /// The account that asked.
    pub account: String,
    /// The source address it came from.
    pub source: String,
    /// The interface (`https-api` or `web-ui`).
    pub interface: String,
    /// What was held: `login` or `api-token`.
    pub kind: String,
    /// When it was made (RFC 3339).
    pub requested_at: String,
    /// When it expires undecided, or when its approval runs out (RFC 3339).
    pub expires_at: String,
    /// Its state.
    pub state: RequestState,
    /// Who decided it.
    pub decided_by: Option<String>,
    /// Whether an approval was used to open a session.
    pub session_opened: bool,
}

/// What the requester may see of its request (no account name, no decider).
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct AccessRequestStatus {
    /// The request id.
    pub id: String,
    /// Its state.
    pub state: RequestState,
    /// When it expires, or its approval runs out (RFC 3339).
    pub expires_at: String,
}

/// An entry that ran out, for the audit trail.
#[derive(Debug, Clone)]
pub(crate) struct Expired {
    pub(crate) id: String,
    pub(crate) account: String,
    pub(crate) source: IpAddr,
    pub(crate) was: RequestState,
}

#[derive(Debug, Clone)]
struct Entry {
    id: String,
    account: String,
    source: IpAddr,
    interface: &'static str,
    kind: &'static str,
    requested_at: Timestamp,
    expires_at: Timestamp,
    state: RequestState,
    decided_by: Option<String>,
    /// The CSRF tag (an HMAC) of the session the approval opened; never the session id.
    session: Option<String>,
}

impl Entry {
    fn view(&self) -> AccessRequestView {
        AccessRequestView {
            id: self.id.clone(),
            account: self.account.clone(),
            source: self.source.to_string(),
            interface: self.interface.to_owned(),
            kind: self.kind.to_owned(),
            requested_at: self.requested_at.to_string(),
            expires_at: self.expires_at.to_string(),
            state: self.state,
            decided_by: self.decided_by.clone(),
            session_opened: self.session.is_some(),
        }
    }
}

/// What a login or a request from a source gets.
#[derive(Debug)]
pub(crate) enum Gate {
    /// Go on (trusted source, `allow`, or an approval that covers it).
    Pass,
    /// A login covered by the approval `id`: open the session, then [`AccessRequests::bind`].
    Approved(String),
    /// Held: the request `id` (new: record `access.request`).
    Held { id: String, new: bool },
    /// Refused without a request (`deny`, a table that is full, a session from elsewhere).
    Refused(ApiError),
}

/// The access requests of the plane.
pub(crate) struct AccessRequests {
    entries: Mutex<Vec<Entry>>,
}

/// Canonical form of an address (IPv4-mapped IPv6 as IPv4).
fn canonical(ip: IpAddr) -> IpAddr {
    ip.to_canonical()
}

impl AccessRequests {
    pub(crate) fn new() -> AccessRequests {
        AccessRequests {
            entries: Mutex::new(Vec::new()),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<Entry>> {
        self.entries.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Whether `source` is on a trusted network of the plane.
    pub(crate) fn trusted(config: &ManagementConfig, source: IpAddr) -> bool {
        config.trusted.allows(source)
    }

    /// Marks what ran out at `now` as expired and returns it, for the audit trail; trims
    /// the history.
    pub(crate) fn sweep(&self, now: Timestamp) -> Vec<Expired> {
        let mut entries = self.lock();
        let mut expired = Vec::new();
        for e in entries.iter_mut() {
            if matches!(e.state, RequestState::Pending | RequestState::Approved)
                && e.expires_at <= now
            {
                expired.push(Expired {
                    id: e.id.clone(),
                    account: e.account.clone(),
                    source: e.source,
                    was: e.state,
                });
                e.state = RequestState::Expired;
            }
        }
        let finished = entries
            .iter()
            .filter(|e| matches!(e.state, RequestState::Denied | RequestState::Expired))
            .count();
        let mut drop = finished.saturating_sub(HISTORY);
        entries.retain(|e| {
            if drop > 0 && matches!(e.state, RequestState::Denied | RequestState::Expired) {
                drop -= 1;
                false
            } else {
                true
            }
        });
        expired
    }

    /// The gate for a login of `account` from `source` whose credentials were right.
    pub(crate) fn login_gate(
        &self,
        config: &ManagementConfig,
        account: &str,
        source: IpAddr,
        interface: &'static str,
        now: Timestamp,
    ) -> Result<Gate, rampart_vault::crypto::CryptoError> {
        let source = canonical(source);
        match config.untrusted_access {
            _ if Self::trusted(config, source) => return Ok(Gate::Pass),
            UntrustedAccess::Allow => return Ok(Gate::Pass),
            UntrustedAccess::Deny => return Ok(Gate::Refused(denied())),
            UntrustedAccess::Approve => {}
        }
        let mut entries = self.lock();
        if let Some(e) = entries.iter_mut().find(|e| {
            e.account == account
                && e.source == source
                && e.state == RequestState::Approved
                && e.session.is_none()
                && e.expires_at > now
        }) {
            // Spent at once, so that two logins at the same moment do not both use it; the
            // empty tag matches no session until `bind` names the one opened.
            e.session = Some(String::new());
            return Ok(Gate::Approved(e.id.clone()));
        }
        Self::hold(
            &mut entries,
            config,
            account,
            source,
            interface,
            "login",
            now,
        )
    }

    /// The gate for an authenticated request of `account` from `source`: by API token
    /// (`session` is `None`) or with a session whose CSRF tag is `session`.
    pub(crate) fn request_gate(
        &self,
        config: &ManagementConfig,
        account: &str,
        source: IpAddr,
        session: Option<&str>,
        now: Timestamp,
    ) -> Result<Gate, rampart_vault::crypto::CryptoError> {
        let source = canonical(source);
        match config.untrusted_access {
            _ if Self::trusted(config, source) => return Ok(Gate::Pass),
            UntrustedAccess::Allow => return Ok(Gate::Pass),
            UntrustedAccess::Deny => return Ok(Gate::Refused(denied())),
            UntrustedAccess::Approve => {}
        }
        let mut entries = self.lock();
        let approved = |e: &&Entry| {
            e.account == account
                && e.source == source
                && e.state == RequestState::Approved
                && e.expires_at > now
        };
        let Some(tag) = session else {
            if entries.iter().any(|e| approved(&e)) {
                return Ok(Gate::Pass);
            }
            return Self::hold(
                &mut entries,
                config,
                account,
                source,
                "https-api",
                "api-token",
                now,
            );
        };
        let bound = entries.iter().filter(approved).any(|e| {
            e.session
                .as_deref()
                .is_some_and(|s| rampart_vault::crypto::ct_eq(s.as_bytes(), tag.as_bytes()))
        });
        Ok(if bound {
            Gate::Pass
        } else {
            Gate::Refused(ApiError::new(
                StatusCode::FORBIDDEN,
                "untrusted-network",
                "this session was not opened from this address, which is outside the \
                 trusted networks: log in from here and have the access request approved",
            ))
        })
    }

    /// The pending request of `account` from `source`, or a new one if the caps allow.
    fn hold(
        entries: &mut Vec<Entry>,
        config: &ManagementConfig,
        account: &str,
        source: IpAddr,
        interface: &'static str,
        kind: &'static str,
        now: Timestamp,
    ) -> Result<Gate, rampart_vault::crypto::CryptoError> {
        let pending = |e: &&Entry| e.state == RequestState::Pending && e.expires_at > now;
        if let Some(e) = entries
            .iter()
            .filter(pending)
            .find(|e| e.account == account && e.source == source)
        {
            return Ok(Gate::Held {
                id: e.id.clone(),
                new: false,
            });
        }
        let from_source = entries
            .iter()
            .filter(pending)
            .filter(|e| e.source == source)
            .count();
        if from_source >= config.max_access_requests_per_ip {
            return Ok(Gate::Refused(full(
                "too many pending access requests from this address",
            )));
        }
        let active = entries
            .iter()
            .filter(|e| matches!(e.state, RequestState::Pending | RequestState::Approved))
            .count();
        if active >= config.max_access_requests {
            return Ok(Gate::Refused(full("too many pending access requests")));
        }
        let mut raw = [0u8; 16];
        rampart_vault::crypto::fill_random(&mut raw)?;
        let id = hex::encode(raw);
        entries.push(Entry {
            id: id.clone(),
            account: account.to_owned(),
            source,
            interface,
            kind,
            requested_at: now,
            expires_at: plus(now, config.access_request_ttl),
            state: RequestState::Pending,
            decided_by: None,
            session: None,
        });
        Ok(Gate::Held { id, new: true })
    }

    /// Binds the session an approval opened (its CSRF tag) to the approval: the approval is
    /// spent for further logins, and that session is the one accepted from the address.
    pub(crate) fn bind(&self, id: &str, session_tag: String) {
        if let Some(e) = self.lock().iter_mut().find(|e| e.id == id) {
            e.session = Some(session_tag);
        }
    }

    /// Approves (`approve`) or denies request `id` as `approver`.
    ///
    /// # Errors
    /// 404 for an unknown id, 409 when it is not pending, 403 for the requester's own.
    pub(crate) fn decide(
        &self,
        config: &ManagementConfig,
        id: &str,
        approver: &str,
        approve: bool,
        now: Timestamp,
    ) -> Result<AccessRequestView, ApiError> {
        let mut entries = self.lock();
        let Some(e) = entries
            .iter_mut()
            .find(|e| rampart_vault::crypto::ct_eq(e.id.as_bytes(), id.as_bytes()))
        else {
            return Err(ApiError::not_found("no such access request"));
        };
        if e.account == approver {
            return Err(ApiError::new(
                StatusCode::FORBIDDEN,
                "self-approval",
                "nobody may decide an access request for their own account",
            ));
        }
        if e.state != RequestState::Pending || e.expires_at <= now {
            let state = if e.state == RequestState::Pending {
                "expired"
            } else {
                state_text(e.state)
            };
            return Err(ApiError::conflict(format!(
                "the access request is {state}, not pending"
            )));
        }
        e.decided_by = Some(approver.to_owned());
        if approve {
            e.state = RequestState::Approved;
            e.expires_at = plus(now, config.access_approval_ttl);
        } else {
            e.state = RequestState::Denied;
        }
        Ok(e.view())
    }

    /// Every request, newest first.
    pub(crate) fn list(&self) -> Vec<AccessRequestView> {
        let mut list: Vec<AccessRequestView> = self.lock().iter().map(Entry::view).collect();
        list.reverse();
        list
    }

    /// The status of request `id` for a client at `source`; `None` when there is no such
    /// request from that address (ids are not confirmed to anyone else).
    pub(crate) fn status(&self, id: &str, source: IpAddr) -> Option<AccessRequestStatus> {
        let source = canonical(source);
        self.lock()
            .iter()
            .find(|e| {
                e.source == source && rampart_vault::crypto::ct_eq(e.id.as_bytes(), id.as_bytes())
            })
            .map(|e| AccessRequestStatus {
                id: e.id.clone(),
                state: e.state,
                expires_at: e.expires_at.to_string(),
            })
    }
}

/// `t` + `d`, at most the latest representable time.
fn plus(t: Timestamp, d: std::time::Duration) -> Timestamp {
    t.checked_add(d).unwrap_or(Timestamp::MAX)
}

/// `pending`, `approved`, …
pub(crate) fn state_text(state: RequestState) -> &'static str {
    match state {
        RequestState::Pending => "pending",
        RequestState::Approved => "approved",
        RequestState::Denied => "denied",
        RequestState::Expired => "expired",
    }
}

fn denied() -> ApiError {
    ApiError::new(
        StatusCode::FORBIDDEN,
        "untrusted-network",
        "access from this address, which is outside the trusted networks, is denied \
         (management.untrusted_access = \"deny\")",
    )
}

fn full(message: &str) -> ApiError {
    ApiError::new(
        StatusCode::TOO_MANY_REQUESTS,
        "access-requests-full",
        format!("{message}; try again when the pending ones are decided or expired"),
    )
}

/// The 403 of a held request: the id in the message and in `X-Rampart-Access-Request`, the
/// status URL in the message and in `Location`.
pub(crate) fn held_error(id: &str) -> ApiError {
    ApiError::new(
        StatusCode::FORBIDDEN,
        "access-request-pending",
        format!(
            "access from outside the trusted networks needs an approval: access request {id} \
             is pending; its status: GET {}",
            status_url(id)
        ),
    )
}

/// The status URL of request `id`.
pub(crate) fn status_url(id: &str) -> String {
    format!("/api/v1/access-requests/{id}/status")
}

/// Adds the access request's headers to `response`.
pub(crate) fn add_headers(response: &mut Response, id: &str) {
    if let Ok(value) = HeaderValue::from_str(id) {
        response.headers_mut().insert(ACCESS_REQUEST_HEADER, value);
    }
    if let Ok(value) = HeaderValue::from_str(&status_url(id)) {
        response
            .headers_mut()
            .insert(axum::http::header::LOCATION, value);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rampart_gateway::config::AllowList;
    use std::time::Duration;

    fn config(mode: UntrustedAccess) -> ManagementConfig {
        ManagementConfig {
            trusted: AllowList::parse(&["10.0.0.0/8"]).unwrap(),
            untrusted_access: mode,
            max_access_requests: 3,
            max_access_requests_per_ip: 2,
            ..ManagementConfig::default()
        }
    }

    fn at(s: u64) -> Timestamp {
        plus(Timestamp::UNIX_EPOCH, Duration::from_secs(1_000_000 + s))
    }

    const TRUSTED: [u8; 4] = [10, 1, 2, 3];
    const OUTSIDE: [u8; 4] = [192, 0, 2, 7];

    #[test]
    fn trusted_sources_and_allow_mode_pass() {
        let table = AccessRequests::new();
        let c = config(UntrustedAccess::Approve);
        let g = table
            .login_gate(&c, "ann", IpAddr::from(TRUSTED), "https-api", at(0))
            .unwrap();
        assert!(matches!(g, Gate::Pass));
        let c = config(UntrustedAccess::Allow);
        let g = table
            .login_gate(&c, "ann", IpAddr::from(OUTSIDE), "https-api", at(0))
            .unwrap();
        assert!(matches!(g, Gate::Pass));
        let c = config(UntrustedAccess::Deny);
        let g = table
            .request_gate(&c, "ann", IpAddr::from(OUTSIDE), None, at(0))
            .unwrap();
        assert!(matches!(g, Gate::Refused(e) if e.status == StatusCode::FORBIDDEN));
    }

    #[test]
    fn a_held_login_is_approved_once_then_bound_to_its_session() {
        let table = AccessRequests::new();
        let c = config(UntrustedAccess::Approve);
        let src = IpAddr::from(OUTSIDE);
        let Gate::Held { id, new: true } =
            table.login_gate(&c, "ann", src, "web-ui", at(0)).unwrap()
        else {
            panic!("held")
        };
        // The same again joins the same request.
        let Gate::Held {
            id: again,
            new: false,
        } = table.login_gate(&c, "ann", src, "web-ui", at(1)).unwrap()
        else {
            panic!("held again")
        };
        assert_eq!(id, again);
        assert_eq!(
            table.decide(&c, &id, "ann", true, at(2)).unwrap_err().code,
            "self-approval"
        );
        table.decide(&c, &id, "bob", true, at(2)).unwrap();
        assert_eq!(
            table
                .decide(&c, &id, "bob", false, at(3))
                .unwrap_err()
                .status,
            StatusCode::CONFLICT
        );
        let Gate::Approved(granted) = table.login_gate(&c, "ann", src, "web-ui", at(3)).unwrap()
        else {
            panic!("approved")
        };
        assert!(
            matches!(
                table.login_gate(&c, "ann", src, "web-ui", at(3)).unwrap(),
                Gate::Held { new: true, .. }
            ),
            "a second login before the first is bound does not use the approval"
        );
        table.bind(&granted, "tag".to_owned());
        assert!(matches!(
            table
                .request_gate(&c, "ann", src, Some("tag"), at(4))
                .unwrap(),
            Gate::Pass
        ));
        assert!(matches!(
            table
                .request_gate(&c, "ann", src, Some("other"), at(4))
                .unwrap(),
            Gate::Refused(_)
        ));
        // Another address, or the same address for another account, is not covered.
        assert!(matches!(
            table
                .request_gate(&c, "ann", IpAddr::from([192, 0, 2, 8]), Some("tag"), at(4))
                .unwrap(),
            Gate::Refused(_)
        ));
        assert!(matches!(
            table.login_gate(&c, "eve", src, "web-ui", at(4)).unwrap(),
            Gate::Held { new: true, .. }
        ));
        // A second login needs a new approval (the one held above).
        assert!(matches!(
            table.login_gate(&c, "ann", src, "web-ui", at(5)).unwrap(),
            Gate::Held { new: false, .. }
        ));
        // The approval runs out.
        let later = at(5 + c.access_approval_ttl.as_secs());
        let expired = table.sweep(later);
        assert!(
            expired
                .iter()
                .any(|e| e.id == granted && e.was == RequestState::Approved)
        );
        assert!(matches!(
            table
                .request_gate(&c, "ann", src, Some("tag"), later)
                .unwrap(),
            Gate::Refused(_)
        ));
    }

    #[test]
    fn pending_requests_expire_and_cannot_be_decided() {
        let table = AccessRequests::new();
        let c = config(UntrustedAccess::Approve);
        let src = IpAddr::from(OUTSIDE);
        let Gate::Held { id, .. } = table
            .login_gate(&c, "ann", src, "https-api", at(0))
            .unwrap()
        else {
            panic!("held")
        };
        let late = at(c.access_request_ttl.as_secs());
        assert_eq!(
            table.decide(&c, &id, "bob", true, late).unwrap_err().status,
            StatusCode::CONFLICT
        );
        assert_eq!(table.sweep(late).len(), 1);
        assert_eq!(table.status(&id, src).unwrap().state, RequestState::Expired);
        assert!(table.status(&id, IpAddr::from(TRUSTED)).is_none());
    }

    #[test]
    fn a_flood_is_capped_per_source_and_in_total() {
        let table = AccessRequests::new();
        let c = config(UntrustedAccess::Approve);
        let src = IpAddr::from(OUTSIDE);
        let mut held = 0;
        for i in 0..50 {
            match table
                .login_gate(&c, &format!("user{i}"), src, "https-api", at(0))
                .unwrap()
            {
                Gate::Held { .. } => held += 1,
                Gate::Refused(e) => assert_eq!(e.status, StatusCode::TOO_MANY_REQUESTS),
                other => panic!("{other:?}"),
            }
        }
        assert_eq!(held, 2);
        for i in 0..50u8 {
            let _ = table.login_gate(
                &c,
                "ann",
                IpAddr::from([198, 51, 100, i]),
                "https-api",
                at(0),
            );
        }
        assert_eq!(table.list().len(), 3);
        // Finished entries are trimmed to the history.
        for round in 0..100u64 {
            table.sweep(at(round * 10_000));
            let _ = table.login_gate(&c, "ann", src, "https-api", at(round * 10_000 + 1));
        }
        assert!(table.list().len() <= HISTORY + 3);
    }

    /// Whatever the order of operations, no account reaches the plane from an untrusted
    /// address without an approval for exactly that account and address by someone else.
    #[test]
    fn no_actor_gets_in_without_someone_elses_approval() {
        let c = config(UntrustedAccess::Approve);
        let accounts = ["ann", "bob", "eve"];
        let sources = [IpAddr::from([192, 0, 2, 1]), IpAddr::from([192, 0, 2, 2])];
        let mut seed = 0x9e37_79b9_7f4a_7c15_u64;
        let mut next = move |n: usize| {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            usize::try_from(seed % n as u64).unwrap()
        };
        for _ in 0..200 {
            let table = AccessRequests::new();
            // (account, source) pairs someone else approved.
            let mut approved: Vec<(String, IpAddr)> = Vec::new();
            for step in 0..40u64 {
                let account = accounts[next(3)];
                let source = sources[next(2)];
                if next(3) == 0 {
                    {
                        let ids: Vec<AccessRequestView> = table.list();
                        if let Some(r) =
                            ids.get(next(ids.len().max(1)).min(ids.len().saturating_sub(1)))
                        {
                            let decider = accounts[next(3)];
                            if let Ok(v) = table.decide(&c, &r.id, decider, true, at(step)) {
                                assert_ne!(v.account, decider, "self-approval");
                                approved.push((v.account.clone(), r.source.parse().unwrap()));
                            }
                        }
                    }
                } else {
                    {
                        let gate = table
                            .login_gate(&c, account, source, "https-api", at(step))
                            .unwrap();
                        if matches!(gate, Gate::Pass | Gate::Approved(_)) {
                            assert!(
                                approved.iter().any(|(a, s)| a == account && *s == source),
                                "{account} from {source} got in without an approval"
                            );
                        }
                        if let Gate::Approved(id) = gate {
                            table.bind(&id, format!("s{step}"));
                        }
                    }
                }
            }
        }
    }
}
