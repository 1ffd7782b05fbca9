//! The registry of checks and the plan: which checks run against which targets.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use crate::evidence::Evidence;
use crate::robustness::RobustnessOptions;
use crate::target::{Scheme, Target};

/// One check: what it is, where it applies, what it bears on and how long it may take.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CheckSpec {
    /// A stable id, e.g. `tls-versions`.
    pub id: &'static str,
    /// The target schemes it applies to.
    pub schemes: &'static [Scheme],
    /// The IEC 62443-4-2 requirements it bears on (catalog ids).
    pub requirements: &'static [&'static str],
    /// The longest it may run against one target; past it the check is abandoned and its
    /// outcome is `not_tested`.
    pub bound: Duration,
    /// Whether it changes the target (writes, locks, loads); such a check runs only when the
    /// plan allows intrusive checks.
    pub intrusive: bool,
    /// Whether it needs a Modbus session: against `modbus-tls://` it runs only when the plan
    /// has a client certificate ([`ClientIdentity`]).
    pub session: bool,
    /// What it does, for people and the documentation.
    pub summary: &'static str,
    /// What a `not_met` outcome means, as the assessment shows it.
    pub failure: &'static str,
}

const TLS_SCHEMES: &[Scheme] = &[Scheme::ModbusTls, Scheme::Https, Scheme::Tls];

/// The largest `OpenAPI` document a plan takes (`--openapi`).
pub const MAX_OPENAPI_BYTES: usize = 8 << 20;

/// Every check, in the order they run.
pub static CHECKS: &[CheckSpec] = &[
    CheckSpec {
        id: "tls-versions",
        schemes: TLS_SCHEMES,
        requirements: &["CR 3.1", "CR 4.1", "CR 4.3"],
        bound: Duration::from_secs(45),
        intrusive: false,
        session: false,
        summary: "which protocol versions the server accepts: SSL 3.0, TLS 1.0 and 1.1 by a \
                  hand-built ClientHello, TLS 1.2 and 1.3 by rustls; met when only TLS 1.2 \
                  and newer are accepted",
        failure: "the TLS service accepts protocol versions older than TLS 1.2, or neither 1.2 \
                  nor 1.3",
    },
    CheckSpec {
        id: "tls-cipher-suites",
        schemes: TLS_SCHEMES,
        requirements: &["CR 3.1", "CR 4.1", "CR 4.3"],
        bound: Duration::from_mins(2),
        intrusive: false,
        session: false,
        summary: "every TLS 1.2/1.3 suite rustls implements, offered one at a time, and the \
                  weak suites (no forward secrecy or no AEAD: RSA key exchange, CBC, 3DES, \
                  RC4, NULL, export) offered in a hand-built ClientHello until the server \
                  refuses; met when no weak suite is accepted",
        failure: "the TLS service accepts cipher suites without forward secrecy or without \
                  authenticated encryption",
    },
    CheckSpec {
        id: "tls-compression-renegotiation",
        schemes: TLS_SCHEMES,
        requirements: &["CR 3.1", "CR 4.3"],
        bound: Duration::from_secs(10),
        intrusive: false,
        session: false,
        summary: "one hand-built TLS 1.2 ClientHello offering DEFLATE before null compression \
                  and the renegotiation SCSV: met when the server picks no compression and \
                  signals secure renegotiation (RFC 5746), or speaks only TLS 1.3",
        failure: "the TLS service accepts compression (CRIME) or does not signal secure \
                  renegotiation",
    },
    CheckSpec {
        id: "tls-certificate",
        schemes: TLS_SCHEMES,
        requirements: &["CR 1.9", "CR 4.3"],
        bound: Duration::from_secs(15),
        intrusive: false,
        session: false,
        summary: "the server's certificate chain: key type and size, signature algorithm, \
                  validity, names, the Modbus/TCP Security role extension; met when the key \
                  is RSA >= 2048 bits, EC >= 256 bits or Ed25519, no certificate is signed \
                  with MD5 or SHA-1, the leaf is valid now and names the target host",
        failure: "the server certificate is weak, expired or does not name the host",
    },
    CheckSpec {
        id: "tls-client-certificate",
        schemes: &[Scheme::ModbusTls],
        requirements: &["CR 1.2", "CR 2.1"],
        bound: Duration::from_secs(15),
        intrusive: false,
        session: false,
        summary: "a handshake without a client certificate, then one read request (FC 3): met \
                  when the server refuses the handshake or the connection, as Modbus/TCP \
                  Security requires",
        failure: "the Modbus/TCP Security service serves a client without a certificate",
    },
    CheckSpec {
        id: "tls-groups",
        schemes: TLS_SCHEMES,
        requirements: &["CR 3.1", "CR 4.1", "CR 4.3"],
        bound: Duration::from_mins(1),
        intrusive: false,
        session: false,
        summary: "which key-exchange groups the server accepts, one group per hand-built \
                  ClientHello: in TLS 1.3 every registered group (a HelloRetryRequest naming \
                  it is acceptance), in TLS 1.2 every elliptic curve with the ECDHE suites \
                  (the curve used read from the ServerKeyExchange) and the DHE prime sizes; \
                  met when no elliptic curve under 224 bits, no finite-field group or DHE \
                  prime under 2048 bits and no explicit curve is accepted",
        failure: "the TLS service accepts key-exchange groups weaker than 224-bit elliptic \
                  curves or 2048-bit finite fields",
    },
    CheckSpec {
        id: "tls-resumption-after-alert",
        schemes: TLS_SCHEMES,
        requirements: &["CR 3.1"],
        bound: Duration::from_secs(45),
        intrusive: false,
        session: true,
        summary: "per TLS version (over Modbus/TCP Security with --client-cert), a full \
                  handshake and its session ticket, a clean close and a resumption attempt \
                  (the control), then a new session broken by one unauthenticable record \
                  (the server ends it with a fatal bad_record_mac) and a resumption attempt: \
                  met when the session ended by the alert is not resumed (or the server \
                  resumes nothing)",
        failure: "the TLS service resumes a session that a fatal alert ended, which \
                  Modbus/TCP Security forbids",
    },
    CheckSpec {
        id: "tls-client-renegotiation",
        schemes: TLS_SCHEMES,
        requirements: &["CR 3.1", "CR 7.1"],
        bound: Duration::from_secs(20),
        intrusive: false,
        session: true,
        summary: "a TLS 1.2 handshake of the probe's own (ECDHE with AES-256-GCM or \
                  ChaCha20-Poly1305; over Modbus/TCP Security with --client-cert), then a \
                  second ClientHello inside the session (with RFC 5746 renegotiation_info when \
                  the server signalled it): met when the server refuses it (an alert, a closed \
                  connection, or no answer within 5 s); not met when it answers with a \
                  ServerHello",
        failure: "the TLS service accepts client-initiated renegotiation (a denial-of-service \
                  lever; without RFC 5746 also CVE-2009-3555)",
    },
    CheckSpec {
        id: "modbus-plaintext",
        schemes: &[Scheme::Modbus, Scheme::ModbusTls],
        requirements: &["CR 3.1", "CR 4.1"],
        bound: Duration::from_secs(10),
        intrusive: false,
        session: false,
        summary: "one read request (FC 3, address 0, quantity 1) in clear text: met when no \
                  Modbus answer comes back (nothing listens, or the port speaks only TLS)",
        failure: "the target answers Modbus/TCP in clear text, without integrity or \
                  confidentiality protection",
    },
    CheckSpec {
        id: "modbus-unauthenticated-access",
        schemes: &[Scheme::Modbus],
        requirements: &["CR 1.2", "CR 2.1"],
        bound: Duration::from_secs(25),
        intrusive: false,
        session: true,
        summary: "the public read functions without authentication: FC 1, 2, 3, 4 at address \
                  0 quantity 1 and FC 43/14 (device identification), unit 1; met when none \
                  is answered with data",
        failure: "the target serves data to a client that did not authenticate",
    },
    CheckSpec {
        id: "modbus-function-codes",
        schemes: &[Scheme::Modbus, Scheme::ModbusTls],
        requirements: &["CR 7.7"],
        bound: Duration::from_secs(30),
        intrusive: false,
        session: true,
        summary: "the public diagnostic and maintenance functions, read-only, unit 1: FC 7 \
                  (exception status), FC 8/0 (diagnostics: return query data), FC 11 and 12 \
                  (communication event counter and log), FC 17 (report server id), FC 24 \
                  (FIFO queue at 0); met when none is answered with data (least \
                  functionality: a client that only reads and writes process data needs none)",
        failure: "the target serves diagnostic and maintenance functions nobody needs for the \
                  process",
    },
    CheckSpec {
        id: "modbus-malformed-frames",
        schemes: &[Scheme::Modbus, Scheme::ModbusTls],
        requirements: &["CR 3.5", "CR 7.1"],
        bound: Duration::from_secs(30),
        intrusive: false,
        session: true,
        summary: "three malformed frames, each on its own connection (over Modbus/TCP \
                  Security with --client-cert) — protocol id 1, MBAP length 1024, FC 3 \
                  quantity 126 — then one valid read: met when each gets an \
                  exception or a closed connection within 3 s (never a hang or data) and the \
                  target still answers afterwards as it did before",
        failure: "the target answers malformed frames with data, hangs on them, or stops \
                  answering after them",
    },
    CheckSpec {
        id: "modbus-unauthenticated-write",
        schemes: &[Scheme::Modbus],
        requirements: &["CR 2.1", "NDR 5.2"],
        bound: Duration::from_secs(20),
        intrusive: true,
        session: true,
        summary: "INTRUSIVE: reads holding register 0 of unit 1 (FC 3) and writes the value \
                  it read back to it (FC 6) without authentication, then reads it again \
                  (restoring the value read if it changed); met when the write is refused",
        failure: "the target accepts a write from a client that did not authenticate",
    },
    CheckSpec {
        id: "modbus-role-write",
        schemes: &[Scheme::ModbusTls],
        requirements: &["CR 2.1", "NDR 5.2"],
        bound: Duration::from_secs(20),
        intrusive: true,
        session: true,
        summary: "INTRUSIVE, with --client-cert: over Modbus/TCP Security with the given client \
                  certificate (give one whose role may not write), reads holding register 0 \
                  of unit 1 and writes the value it read back to it (FC 6), then reads it \
                  again (restoring the value read if it changed); met when the write is \
                  refused",
        failure: "the target accepts a write from a role that should not write",
    },
    CheckSpec {
        id: "https-security-headers",
        schemes: &[Scheme::Https],
        requirements: &["CR 3.1", "CR 4.1"],
        bound: Duration::from_secs(15),
        intrusive: false,
        session: false,
        summary: "GET /login (else /): Strict-Transport-Security, Content-Security-Policy, \
                  X-Content-Type-Options: nosniff, X-Frame-Options or CSP frame-ancestors, \
                  Referrer-Policy; met when all are present",
        failure: "the management interface omits security headers",
    },
    CheckSpec {
        id: "https-cookie-attributes",
        schemes: &[Scheme::Https],
        requirements: &["CR 3.8", "CR 4.1"],
        bound: Duration::from_secs(20),
        intrusive: false,
        session: false,
        summary: "the cookies GET /login and GET / set before any login and, with \
                  --login-account and --login-password-file, the cookies one login with the \
                  account sets (the session cookie): met when each has Secure, HttpOnly and \
                  SameSite=Strict or Lax; not tested when none is set",
        failure: "the management interface sets cookies without Secure, HttpOnly or SameSite",
    },
    CheckSpec {
        id: "https-anonymous-api",
        schemes: &[Scheme::Https],
        requirements: &["CR 1.1", "CR 2.1"],
        bound: Duration::from_mins(1),
        intrusive: false,
        session: false,
        summary: "GET without credentials on /api/v1/status, /api/v1/config-report, \
                  /api/v1/users, /api/v1/audit, /api/v1/policy, and on the GET routes \
                  (without parameters, not marked public, at most 20) of an OpenAPI document \
                  at /api/v1/openapi.json when that is readable without credentials: met \
                  when every route that exists answers 401 or 403 (or redirects to a login)",
        failure: "the management API serves a protected route to an anonymous caller",
    },
    CheckSpec {
        id: "https-use-notification",
        schemes: &[Scheme::Https],
        requirements: &["CR 1.12"],
        bound: Duration::from_secs(15),
        intrusive: false,
        session: false,
        summary: "GET /login (else /): met when the page shown before authentication carries \
                  a system use notification (an element marked banner/notice/warning, or \
                  text such as \"authorized use only\" or \"monitored\"); not met when it \
                  shows a login form without one",
        failure: "the management interface shows no system use notification before login",
    },
    CheckSpec {
        id: "https-authenticator-feedback",
        schemes: &[Scheme::Https],
        requirements: &["CR 1.10"],
        bound: Duration::from_secs(40),
        intrusive: false,
        session: false,
        summary: "the login form's password input is type=password, and one failed login (a \
                  random non-existent user, a random password; the target audits it) is \
                  answered without saying whether the user exists or which part was wrong; \
                  with --intrusive --login-account NAME also a wrong password for NAME (one \
                  failure towards its lockout), answered exactly alike",
        failure: "the management interface shows the password, or its failed logins tell \
                  whether the user exists or which part was wrong",
    },
    CheckSpec {
        id: "https-lockout",
        schemes: &[Scheme::Https],
        requirements: &["CR 1.11"],
        bound: Duration::from_mins(2),
        intrusive: true,
        session: false,
        summary: "INTRUSIVE, with --login-account NAME (a throw-away account; its password is \
                  never needed): random wrong passwords for NAME through the login form, one \
                  every 300 ms at most, until the answer shows a lockout (423, 429, another \
                  status, Retry-After, a new \"locked\" message) or 20 attempts; LOCKS THE \
                  ACCOUNT (unlock it afterwards); met when it locks after at most \
                  --lockout-max failures (default 10)",
        failure: "the management interface does not lock an account after the allowed \
                  number of failed logins",
    },
    CheckSpec {
        id: "storm-connections",
        schemes: &Scheme::ALL,
        requirements: &["CR 7.1", "CR 7.1 RE 1", "CR 7.2"],
        bound: crate::robustness::STORM_BOUND,
        intrusive: true,
        session: false,
        summary: "INTRUSIVE, loads the target for 10 s: 100 TCP connection attempts a second, \
                  each held open 2 s without a byte sent (at most 256 at once), while the \
                  essential function (--monitor) is polled every 100 ms; met when no poll is \
                  missed, the p99 latency stays within 5x the unloaded p99 and the target is \
                  still up",
        failure: "the target's essential function is lost or slowed by a storm of connection \
                  attempts",
    },
    CheckSpec {
        id: "storm-tls-handshakes",
        schemes: TLS_SCHEMES,
        requirements: &["CR 7.1", "CR 7.2"],
        bound: crate::robustness::STORM_BOUND,
        intrusive: true,
        session: false,
        summary: "INTRUSIVE, loads the target for 10 s: 25 full TLS handshakes a second (at \
                  most 8 at once), while the essential function (--monitor) is polled every \
                  100 ms; met as for storm-connections",
        failure: "the target's essential function is lost or slowed by a storm of TLS \
                  handshakes",
    },
    CheckSpec {
        id: "storm-slow-requests",
        schemes: &Scheme::ALL,
        requirements: &["CR 7.1", "CR 7.2"],
        bound: crate::robustness::STORM_BOUND,
        intrusive: true,
        session: false,
        summary: "INTRUSIVE, loads the target for 10 s: 64 connections each sending one byte \
                  a second of a request it never finishes (HTTP headers after the handshake \
                  on https, a Modbus frame on modbus, the ClientHello itself on TLS without a \
                  session), while the essential function (--monitor) is polled every 100 ms; \
                  met as for storm-connections",
        failure: "the target's essential function is lost or slowed by slow requests \
                  (slowloris)",
    },
    CheckSpec {
        id: "storm-malformed-frames",
        schemes: &[Scheme::Modbus, Scheme::ModbusTls],
        requirements: &["CR 3.5", "CR 7.1", "NDR 5.2"],
        bound: crate::robustness::STORM_BOUND,
        intrusive: true,
        session: true,
        summary: "INTRUSIVE, loads the target for 10 s: 100 malformed Modbus frames a second \
                  over 4 sessions (bad protocol id, MBAP length 0, 1 and 1024, quantity 0 and \
                  126, an unassigned function code), while the essential function \
                  (--monitor) is polled every 100 ms; met as for storm-connections, and no \
                  malformed frame answered with data",
        failure: "the target answers malformed frames with data, or its essential function \
                  is lost or slowed by them",
    },
    CheckSpec {
        id: "storm-pipelined-requests",
        schemes: &[Scheme::Modbus, Scheme::ModbusTls],
        requirements: &["CR 7.1", "CR 7.1 RE 1", "CR 7.2"],
        bound: crate::robustness::STORM_BOUND,
        intrusive: true,
        session: true,
        summary: "INTRUSIVE, loads the target for 10 s: 4 sessions each sending 6 bursts a \
                  second of 16 pipelined reads (FC 3) in one write, while the essential \
                  function (--monitor) is polled every 100 ms; met as for storm-connections",
        failure: "the target's essential function is lost or slowed by bursts of pipelined \
                  requests",
    },
    CheckSpec {
        id: "storm-udp-flood",
        schemes: &Scheme::ALL,
        requirements: &["CR 7.1", "CR 7.2"],
        bound: crate::robustness::STORM_BOUND,
        intrusive: true,
        session: false,
        summary: "INTRUSIVE, loads the target for 10 s: 2000 UDP datagrams of 64 random bytes \
                  a second to the target's port (needs no privilege), while the essential \
                  function (--monitor) is polled every 100 ms; met as for storm-connections",
        failure: "the target's essential function is lost or slowed by a UDP flood",
    },
    CheckSpec {
        id: "storm-icmp-flood",
        schemes: &Scheme::ALL,
        requirements: &["CR 7.1", "CR 7.2"],
        bound: crate::robustness::STORM_BOUND,
        intrusive: true,
        session: false,
        summary: "INTRUSIVE, loads the target for 10 s: 1000 ICMP echo requests a second on a \
                  raw socket (needs CAP_NET_RAW: root, or unshare -rn; else not tested), \
                  while the essential function (--monitor) is polled every 100 ms; met as for \
                  storm-connections",
        failure: "the target's essential function is lost or slowed by an ICMP flood",
    },
    CheckSpec {
        id: "storm-syn-flood",
        schemes: &Scheme::ALL,
        requirements: &["CR 7.1", "CR 7.2"],
        bound: crate::robustness::STORM_BOUND,
        intrusive: true,
        session: false,
        summary: "INTRUSIVE, loads the target for 10 s: 2000 TCP SYN segments a second to the \
                  target's port, each from another source port, on a raw socket (needs \
                  CAP_NET_RAW: root, or unshare -rn; else not tested), while the essential \
                  function (--monitor) is polled every 100 ms; met as for storm-connections",
        failure: "the target's essential function is lost or slowed by a SYN flood",
    },
];

impl CheckSpec {
    /// Whether it loads the target while the essential function is watched.
    pub fn is_storm(&self) -> bool {
        self.id.starts_with("storm-")
    }
}

/// The check with `id`.
pub fn spec(id: &str) -> Option<&'static CheckSpec> {
    CHECKS.iter().find(|c| c.id == id)
}

/// Why a plan cannot be made.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PlanError {
    /// A check name that is not in the registry.
    #[error("unknown check '{name}'{}; the checks are: {}", suggestion_text(.suggestion.as_deref()), known())]
    UnknownCheck {
        /// The name given.
        name: String,
        /// The nearest known id, when one is close.
        suggestion: Option<String>,
    },
    /// An intrusive check named without consent.
    #[error("'{id}' is intrusive ({summary}); it runs only with --intrusive")]
    IntrusiveWithoutConsent {
        /// The check.
        id: &'static str,
        /// What it would do.
        summary: &'static str,
    },
    /// No target was given.
    #[error("no target: name at least one, e.g. modbus-tls://127.0.0.1:8020")]
    NoTarget,
    /// The selection leaves nothing to run against any target.
    #[error(
        "none of the selected checks applies to the targets given (Modbus checks on \
         modbus-tls:// targets need a client certificate: --client-cert and --client-key)"
    )]
    NothingToRun,
    /// The client certificate or key cannot be used.
    #[error("client certificate: {0}")]
    Identity(String),
    /// A storm named without an essential function to watch.
    #[error(
        "'{0}' loads the target while an essential function is watched, and there is none: \
         name a modbus:// target (or a modbus-tls:// one with --client-cert), or --monitor"
    )]
    NoEssentialFunction(&'static str),
    /// The essential function cannot be polled as given.
    #[error("--monitor: {0}")]
    Monitor(String),
    /// The login account or its lockout maximum cannot be used.
    #[error("login account: {0}")]
    LoginAccount(String),
    /// The `OpenAPI` document given cannot be used.
    #[error("--openapi: {0}")]
    OpenApi(String),
}

fn suggestion_text(suggestion: Option<&str>) -> String {
    suggestion.map_or_else(String::new, |s| format!(" (did you mean '{s}'?)"))
}

fn known() -> String {
    CHECKS.iter().map(|c| c.id).collect::<Vec<_>>().join(", ")
}

/// A client certificate and key for Modbus/TCP Security sessions: with one, the Modbus
/// session checks also run against `modbus-tls://` targets, with its role.
#[derive(Clone, Debug)]
pub struct ClientIdentity(Arc<rustls::ClientConfig>);

impl ClientIdentity {
    pub(crate) fn config(&self) -> Arc<rustls::ClientConfig> {
        Arc::clone(&self.0)
    }

    /// Reads the certificate chain `cert` (PEM) and its key `key` (PEM, mode 0600).
    ///
    /// # Errors
    /// [`PlanError::Identity`] for unreadable or unusable files, or a key others can read.
    pub fn from_files(cert: &Path, key: &Path) -> Result<ClientIdentity, PlanError> {
        rampart_vault::tls::danger_inspecting_client_config_with_identity(cert, key)
            .map(ClientIdentity)
            .map_err(|e| PlanError::Identity(e.to_string()))
    }
}

/// The checks to run against each target. Made only by [`Plan::new`], so a plan never holds
/// an intrusive check the caller did not consent to.
#[derive(Debug, Clone)]
pub struct Plan {
    pub(crate) targets: Vec<Target>,
    pub(crate) runs: Vec<(usize, &'static CheckSpec)>,
    pub(crate) intrusive: bool,
    pub(crate) identity: Option<Arc<rustls::ClientConfig>>,
    pub(crate) robustness: RobustnessOptions,
    /// The throw-away account of the HTTPS login checks (`--login-account`).
    pub(crate) login: Option<crate::LoginAccount>,
    /// The `OpenAPI` document of the `https://` targets (`--openapi`).
    pub(crate) openapi: Option<Arc<[u8]>>,
}

impl Plan {
    /// Plans `checks` (every check when `None`) against `targets`; a check runs against the
    /// targets whose scheme it applies to.
    ///
    /// Without `intrusive`, the default selection leaves intrusive checks out and naming one
    /// is an error; with it, the default selection includes them.
    ///
    /// # Errors
    /// [`PlanError`] for no target, an unknown check name, an intrusive check named without
    /// `intrusive`, and a selection that applies to none of the targets.
    pub fn new(
        targets: Vec<Target>,
        checks: Option<&[String]>,
        intrusive: bool,
    ) -> Result<Plan, PlanError> {
        Plan::with_identity(targets, checks, intrusive, None)
    }

    /// As [`Plan::new`], with a client certificate for the Modbus session checks against
    /// `modbus-tls://` targets (without one they do not apply there).
    ///
    /// # Errors
    /// As [`Plan::new`].
    pub fn with_identity(
        targets: Vec<Target>,
        checks: Option<&[String]>,
        intrusive: bool,
        identity: Option<ClientIdentity>,
    ) -> Result<Plan, PlanError> {
        Plan::with_robustness(
            targets,
            checks,
            intrusive,
            identity,
            RobustnessOptions::default(),
        )
    }

    /// As [`Plan::with_identity`], with the essential function the storms are watched by
    /// and the address they are sent from. A storm runs only with an essential function:
    /// the default selection leaves the storms out without one, and naming one is an error.
    ///
    /// # Errors
    /// As [`Plan::new`]; [`PlanError::NoEssentialFunction`] for a storm named without an
    /// essential function, [`PlanError::Monitor`] for an essential function that is not
    /// read through a `modbus://` target, or a `modbus-tls://` one with a client
    /// certificate.
    pub fn with_robustness(
        targets: Vec<Target>,
        checks: Option<&[String]>,
        intrusive: bool,
        identity: Option<ClientIdentity>,
        robustness: RobustnessOptions,
    ) -> Result<Plan, PlanError> {
        if let Some(function) = &robustness.monitor {
            match function.target.scheme() {
                Scheme::Modbus => {}
                Scheme::ModbusTls
                    if identity.is_some() || robustness.monitor_identity.is_some() => {}
                Scheme::ModbusTls => {
                    return Err(PlanError::Monitor(format!(
                        "{} needs a client certificate (--client-cert, --client-key) to be \
                         polled",
                        function.target
                    )));
                }
                Scheme::Https | Scheme::Tls => {
                    return Err(PlanError::Monitor(format!(
                        "{} is not a Modbus target: the essential function is a register \
                         read through modbus:// or modbus-tls://",
                        function.target
                    )));
                }
            }
        }
        if targets.is_empty() {
            return Err(PlanError::NoTarget);
        }
        let selected: Vec<&'static CheckSpec> = match checks {
            None => CHECKS
                .iter()
                .filter(|c| intrusive || !c.intrusive)
                .filter(|c| !c.is_storm() || robustness.monitor.is_some())
                .collect(),
            Some(names) => {
                let mut selected = Vec::new();
                for name in names {
                    let name = name.trim();
                    let spec = spec(name).ok_or_else(|| PlanError::UnknownCheck {
                        name: name.to_owned(),
                        suggestion: CHECKS
                            .iter()
                            .map(|c| (strsim::levenshtein(name, c.id), c.id))
                            .filter(|(d, _)| *d <= 4)
                            .min()
                            .map(|(_, id)| id.to_owned()),
                    })?;
                    if spec.intrusive && !intrusive {
                        return Err(PlanError::IntrusiveWithoutConsent {
                            id: spec.id,
                            summary: spec.summary,
                        });
                    }
                    if spec.is_storm() && robustness.monitor.is_none() {
                        return Err(PlanError::NoEssentialFunction(spec.id));
                    }
                    if !selected.contains(&spec) {
                        selected.push(spec);
                    }
                }
                // Registry order, whatever order the names came in.
                CHECKS.iter().filter(|c| selected.contains(c)).collect()
            }
        };
        let mut runs = Vec::new();
        for (index, target) in targets.iter().enumerate() {
            for spec in &selected {
                let needs_identity = spec.session && target.scheme() == Scheme::ModbusTls;
                if spec.schemes.contains(&target.scheme())
                    && !(needs_identity && identity.is_none())
                {
                    runs.push((index, *spec));
                }
            }
        }
        if runs.is_empty() {
            return Err(PlanError::NothingToRun);
        }
        Ok(Plan {
            targets,
            runs,
            intrusive,
            identity: identity.map(|i| i.0),
            robustness,
            login: None,
            openapi: None,
        })
    }

    /// The same plan with a throw-away account for the HTTPS login checks: with
    /// `intrusive`, `https-authenticator-feedback` compares its failed login with a
    /// non-existent user's, and `https-lockout` sends it wrong passwords until it locks.
    #[must_use]
    pub fn with_login_account(mut self, account: crate::LoginAccount) -> Plan {
        self.login = Some(account);
        self
    }

    /// The same plan with the `OpenAPI` 3 document (JSON) of its `https://` targets, for
    /// targets that serve none without credentials (as a maker hands it to an assessor): the
    /// login checks take their JSON login operations from it, and `https-anonymous-api` asks
    /// for its protected `GET` routes too.
    ///
    /// # Errors
    /// [`PlanError::OpenApi`] when it is not an `OpenAPI` 3 document in JSON, or larger than
    /// [`MAX_OPENAPI_BYTES`].
    pub fn with_openapi_document(mut self, document: &[u8]) -> Result<Plan, PlanError> {
        if document.len() > MAX_OPENAPI_BYTES {
            return Err(PlanError::OpenApi(format!(
                "{} bytes, more than the {MAX_OPENAPI_BYTES} read",
                document.len()
            )));
        }
        if crate::https::login_route::openapi_json_logins(document).is_none() {
            return Err(PlanError::OpenApi(
                "not an OpenAPI 3 document in JSON (an object with \"openapi\": \"3.x\" and \
                 \"paths\")"
                    .to_owned(),
            ));
        }
        self.openapi = Some(Arc::from(document));
        Ok(self)
    }

    /// The targets, as given.
    pub fn targets(&self) -> &[Target] {
        &self.targets
    }

    /// Each run: the target and the check, in the order they run.
    pub fn runs(&self) -> impl Iterator<Item = (&Target, &'static CheckSpec)> {
        self.runs.iter().map(|(i, spec)| (&self.targets[*i], *spec))
    }

    /// The essential function and the storms' source address.
    pub fn robustness(&self) -> &RobustnessOptions {
        &self.robustness
    }

    /// The longest the plan may take: the sum of the bounds of its runs.
    pub fn bound(&self) -> Duration {
        self.runs.iter().map(|(_, spec)| spec.bound).sum()
    }

    /// Runs every check of the plan, one after the other, and returns the evidence stamped
    /// with `now` (the caller reads the clock). Each check is abandoned at its bound.
    pub async fn run(&self, now: jiff::Timestamp) -> Evidence {
        crate::run::run(self, now).await
    }
}
