//! RFC 5424 messages for audit events, checkpoints and gaps, and RFC 5425 octet-counting
//! framing. Pure formatting: no I/O.
//!
//! ```text
//! <PRI>1 TIMESTAMP HOSTNAME rampart - MSGID [SD-ID PARAM="VALUE" ...] MSG
//! ```

use std::fmt::{self, Write as _};
use std::str::FromStr;

use rampart_audit::{AuditEvent, Checkpoint, Severity, Timestamp};

use crate::error::ConfigError;

/// The IANA Private Enterprise Number in the SD-IDs: 32473 is the number RFC 5612 reserves for
/// documentation and examples. A deployment that registers its own number changes it here.
pub const ENTERPRISE_NUMBER: u32 = 32473;
/// The SD-ID of an audit event's structured data.
pub const EVENT_SD_ID: &str = "rampart@32473";
/// The SD-ID of a signed checkpoint's structured data.
pub const CHECKPOINT_SD_ID: &str = "rampart-checkpoint@32473";
/// The SD-ID of a gap marker's structured data.
pub const GAP_SD_ID: &str = "rampart-gap@32473";
/// The APP-NAME of every message.
pub const APP_NAME: &str = "rampart";
/// The MSGID of a signed checkpoint (events use their action).
pub const CHECKPOINT_MSGID: &str = "checkpoint";
/// The MSGID of a gap marker.
pub const GAP_MSGID: &str = "gap";

/// The smallest message size limit: room for every event field at its truncated length.
pub const MIN_MESSAGE_LEN: usize = 4096;
/// The default message size limit: what RFC 5425 says receivers should accept and rsyslog's
/// default `maxMessageSize`.
pub const DEFAULT_MESSAGE_LEN: usize = 8192;
/// The largest message size limit.
pub const MAX_MESSAGE_LEN: usize = 1 << 20;

/// How long MSG may be, in characters.
const MSG_CHARS: usize = 160;
/// How long each free-text SD value may be, in bytes, when a message must shrink to fit.
const SHORT_VALUE: usize = 256;

/// A syslog facility (RFC 5424 section 6.2.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Facility {
    /// 0: kernel messages.
    Kern,
    /// 1: user-level messages.
    User,
    /// 2: mail system.
    Mail,
    /// 3: system daemons.
    Daemon,
    /// 4: security/authorization messages.
    Auth,
    /// 5: messages generated internally by syslogd.
    Syslog,
    /// 6: line printer subsystem.
    Lpr,
    /// 7: network news subsystem.
    News,
    /// 8: UUCP subsystem.
    Uucp,
    /// 9: clock daemon.
    Cron,
    /// 10: security/authorization messages (private).
    Authpriv,
    /// 11: FTP daemon.
    Ftp,
    /// 12: NTP subsystem.
    Ntp,
    /// 13: log audit.
    LogAudit,
    /// 14: log alert.
    LogAlert,
    /// 15: clock daemon.
    Clock,
    /// 16..=23: local use 0 to 7 (the value is 0..=7; a larger value counts as 7).
    Local(u8),
}

const FACILITY_NAMES: [&str; 16] = [
    "kern", "user", "mail", "daemon", "auth", "syslog", "lpr", "news", "uucp", "cron", "authpriv",
    "ftp", "ntp", "logaudit", "logalert", "clock",
];

impl Facility {
    /// The facility with this number, 0..=23.
    pub fn from_code(code: u8) -> Option<Facility> {
        Some(match code {
            0 => Facility::Kern,
            1 => Facility::User,
            2 => Facility::Mail,
            3 => Facility::Daemon,
            4 => Facility::Auth,
            5 => Facility::Syslog,
            6 => Facility::Lpr,
            7 => Facility::News,
            8 => Facility::Uucp,
            9 => Facility::Cron,
            10 => Facility::Authpriv,
            11 => Facility::Ftp,
            12 => Facility::Ntp,
            13 => Facility::LogAudit,
            14 => Facility::LogAlert,
            15 => Facility::Clock,
            16..=23 => Facility::Local(code - 16),
            _ => return None,
        })
    }

    /// The number, 0..=23.
    pub fn code(self) -> u8 {
        match self {
            Facility::Kern => 0,
            Facility::User => 1,
            Facility::Mail => 2,
            Facility::Daemon => 3,
            Facility::Auth => 4,
            Facility::Syslog => 5,
            Facility::Lpr => 6,
            Facility::News => 7,
            Facility::Uucp => 8,
            Facility::Cron => 9,
            Facility::Authpriv => 10,
            Facility::Ftp => 11,
            Facility::Ntp => 12,
            Facility::LogAudit => 13,
            Facility::LogAlert => 14,
            Facility::Clock => 15,
            Facility::Local(n) => 16 + n.min(7),
        }
    }

    /// The PRI value of a message of this facility at `severity`.
    pub fn pri(self, severity: Severity) -> u8 {
        self.code() * 8 + severity.code()
    }
}

impl Default for Facility {
    /// `local0`: a facility reserved for local use, so the collector can route Rampart's stream
    /// on its own. `authpriv` is the usual alternative.
    fn default() -> Facility {
        Facility::Local(0)
    }
}

impl fmt::Display for Facility {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Facility::Local(n) => write!(f, "local{}", n.min(&7)),
            other => f.write_str(FACILITY_NAMES[usize::from(other.code())]),
        }
    }
}

impl FromStr for Facility {
    type Err = ConfigError;

    /// A name (`local0`, `authpriv`, …; `security` for `auth`) or a number 0..=23.
    fn from_str(s: &str) -> Result<Facility, ConfigError> {
        let lower = s.to_ascii_lowercase();
        if let Some(code) = FACILITY_NAMES.iter().position(|name| *name == lower) {
            return Facility::from_code(u8::try_from(code).unwrap_or(u8::MAX))
                .ok_or_else(|| ConfigError::Facility(s.to_owned()));
        }
        if lower == "security" {
            return Ok(Facility::Auth);
        }
        if let Some(n) = lower.strip_prefix("local")
            && let Ok(n) = n.parse::<u8>()
            && n <= 7
        {
            return Ok(Facility::Local(n));
        }
        s.parse::<u8>()
            .ok()
            .and_then(Facility::from_code)
            .ok_or_else(|| ConfigError::Facility(s.to_owned()))
    }
}

/// The HOSTNAME field: 1 to 255 printable US-ASCII characters, or the NILVALUE `-`.
///
/// A SIEM identifies the device by it: duplicates are dropped by (HOSTNAME, seq), so every
/// forwarding device needs its own.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Hostname(String);

impl Hostname {
    /// Validates `name`.
    ///
    /// # Errors
    /// [`ConfigError::Hostname`] when it is empty, longer than 255 bytes, or holds a character
    /// outside `!`..=`~`.
    pub fn new(name: impl Into<String>) -> Result<Hostname, ConfigError> {
        let name = name.into();
        let reason = if name.is_empty() {
            Some("empty")
        } else if name.len() > 255 {
            Some("longer than 255 bytes")
        } else if !name.bytes().all(is_print_us_ascii) {
            Some("holds a space, control or non-ASCII character")
        } else {
            None
        };
        match reason {
            Some(reason) => Err(ConfigError::Hostname {
                value: name,
                reason,
            }),
            None => Ok(Hostname(name)),
        }
    }

    /// The NILVALUE: no hostname. A SIEM can then only tell devices apart by connection.
    pub fn nil() -> Hostname {
        Hostname("-".to_owned())
    }

    /// This machine's host name (Linux: `/proc/sys/kernel/hostname`, else `/etc/hostname`), or
    /// the NILVALUE when neither holds a usable one.
    pub fn from_system() -> Hostname {
        ["/proc/sys/kernel/hostname", "/etc/hostname"]
            .iter()
            .filter_map(|path| std::fs::read_to_string(path).ok())
            .find_map(|text| Hostname::new(text.trim()).ok())
            .unwrap_or_else(Hostname::nil)
    }

    /// The text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Hostname {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// PRINTUSASCII: `%d33-126`.
fn is_print_us_ascii(b: u8) -> bool {
    (33..=126).contains(&b)
}

/// How messages are formatted: facility, HOSTNAME and the size limit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyslogFormat {
    facility: Facility,
    hostname: Hostname,
    max_len: usize,
}

/// One SD-PARAM: a name from this module and a value to escape.
type Param<'a> = (&'static str, std::borrow::Cow<'a, str>);

impl SyslogFormat {
    /// A format with the [default size limit](DEFAULT_MESSAGE_LEN).
    pub fn new(facility: Facility, hostname: Hostname) -> SyslogFormat {
        SyslogFormat {
            facility,
            hostname,
            max_len: DEFAULT_MESSAGE_LEN,
        }
    }

    /// Limits each message (without its frame) to `max_len` bytes.
    ///
    /// # Errors
    /// [`ConfigError::Range`] unless [`MIN_MESSAGE_LEN`]` <= max_len <= `[`MAX_MESSAGE_LEN`].
    pub fn max_len(mut self, max_len: usize) -> Result<SyslogFormat, ConfigError> {
        if !(MIN_MESSAGE_LEN..=MAX_MESSAGE_LEN).contains(&max_len) {
            return Err(ConfigError::Range {
                setting: "max message length",
                value: max_len as u64,
                min: MIN_MESSAGE_LEN as u64,
                max: MAX_MESSAGE_LEN as u64,
            });
        }
        self.max_len = max_len;
        Ok(self)
    }

    /// The facility.
    pub fn facility(&self) -> Facility {
        self.facility
    }

    /// The HOSTNAME.
    pub fn hostname(&self) -> &Hostname {
        &self.hostname
    }

    /// The message of an audit event: PRI from the facility and the event's severity, the
    /// event's timestamp, MSGID its action, and structured data `rampart@32473` with `seq`,
    /// `resent="1"` when `resent`, `category`, `action`, `actor_kind`, `actor`, `outcome`,
    /// `source`, `interface`, `target` (when set), `time_source`, `clock_sync`, `hash` and
    /// `details` (the JSON object).
    ///
    /// When the message would exceed the size limit, `details` is replaced by
    /// `details_omitted="<bytes>"`; if it still does not fit, the free-text values are cut to
    /// 256 bytes and `truncated="1"` is added. The stored event stays complete, and its
    /// `hash` identifies it.
    pub fn event(&self, event: &AuditEvent, resent: bool) -> Vec<u8> {
        let details = serde_json::Value::Object(event.details().clone()).to_string();
        let mut last = Vec::new();
        for shrink in [Shrink::None, Shrink::OmitDetails, Shrink::Truncate] {
            last = self.event_with(event, resent, &details, shrink);
            if last.len() <= self.max_len {
                break;
            }
        }
        last
    }

    fn event_with(
        &self,
        event: &AuditEvent,
        resent: bool,
        details: &str,
        shrink: Shrink,
    ) -> Vec<u8> {
        let short = |text: &str| -> String {
            if shrink == Shrink::Truncate {
                truncate_bytes(text, SHORT_VALUE).to_owned()
            } else {
                text.to_owned()
            }
        };
        let mut params: Vec<Param<'_>> = vec![("seq", event.seq().to_string().into())];
        if resent {
            params.push(("resent", "1".into()));
        }
        params.push(("category", event.category().as_str().into()));
        params.push(("action", event.action().into()));
        params.push(("actor_kind", event.actor().kind().as_str().into()));
        params.push(("actor", short(event.actor().name()).into()));
        params.push(("outcome", event.outcome().as_str().into()));
        if let Some(source) = event.source_address() {
            params.push(("source", short(source).into()));
        }
        if let Some(interface) = event.interface() {
            params.push(("interface", interface.into()));
        }
        if let Some(target) = event.target() {
            params.push(("target", short(target).into()));
        }
        params.push(("time_source", event.time_source().as_str().into()));
        params.push(("clock_sync", event.clock_sync().as_str().into()));
        params.push(("hash", event.hash().to_string().into()));
        match shrink {
            Shrink::None => params.push(("details", details.into())),
            Shrink::OmitDetails | Shrink::Truncate => {
                params.push(("details_omitted", details.len().to_string().into()));
            }
        }
        if shrink == Shrink::Truncate {
            params.push(("truncated", "1".into()));
        }
        let mut text = format!(
            "{}: {} by {}",
            event.outcome(),
            event.action(),
            event.actor()
        );
        if let Some(target) = event.target() {
            let _ = write!(text, " on {target}");
        }
        if let Some(source) = event.source_address() {
            let _ = write!(text, " from {source}");
        }
        self.message(
            self.facility.pri(event.severity()),
            event.timestamp(),
            &msgid(event.action()),
            EVENT_SD_ID,
            &params,
            &text,
        )
    }

    /// The message of a signed checkpoint: MSGID `checkpoint`, severity notice, structured data
    /// `rampart-checkpoint@32473` with `seq`, `resent="1"` when `resent`, `hash`, `ts_us` (the
    /// signed time in microseconds since the Unix epoch), `signature` (Ed25519, hex) and `key`
    /// (the public key the trail records, hex; verify against a trusted copy, never this one).
    ///
    /// The signed bytes are `"rampart-audit/v1/checkpoint" || seq (u64 BE) || hash (32 bytes)
    /// || ts_us (i64 BE)`, so a SIEM can verify the checkpoint with the device's public key and
    /// hold the device to every event up to `seq` (evidence against truncation of the local
    /// trail).
    pub fn checkpoint(
        &self,
        checkpoint: &Checkpoint,
        public_key: Option<&str>,
        resent: bool,
    ) -> Vec<u8> {
        let mut params: Vec<Param<'_>> = vec![("seq", checkpoint.seq().to_string().into())];
        if resent {
            params.push(("resent", "1".into()));
        }
        params.push(("hash", checkpoint.hash().to_string().into()));
        params.push((
            "ts_us",
            checkpoint.timestamp().unix_micros().to_string().into(),
        ));
        params.push(("signature", hex(checkpoint.signature()).into()));
        if let Some(key) = public_key {
            params.push(("key", key.into()));
        }
        let text = format!(
            "signed checkpoint of the audit trail: events up to {} have chain hash {}",
            checkpoint.seq(),
            checkpoint.hash()
        );
        self.message(
            self.facility.pri(Severity::Notice),
            checkpoint.timestamp(),
            CHECKPOINT_MSGID,
            CHECKPOINT_SD_ID,
            &params,
            &text,
        )
    }

    /// The marker for events `first..=last` that are not in the audit trail (pruned under the
    /// capacity policy before they could be forwarded, or deleted): MSGID `gap`, severity
    /// warning, structured data `rampart-gap@32473` with `first`, `last` and `resent="1"` when
    /// `resent`. `at` is the timestamp of the first event after the gap.
    pub fn gap(&self, first: u64, last: u64, at: Timestamp, resent: bool) -> Vec<u8> {
        let mut params: Vec<Param<'_>> = vec![
            ("first", first.to_string().into()),
            ("last", last.to_string().into()),
        ];
        if resent {
            params.push(("resent", "1".into()));
        }
        let text = format!(
            "events {first}..={last} are not in the audit trail (pruned or deleted before they \
             were forwarded); they were never sent"
        );
        self.message(
            self.facility.pri(Severity::Warning),
            at,
            GAP_MSGID,
            GAP_SD_ID,
            &params,
            &text,
        )
    }

    fn message(
        &self,
        pri: u8,
        at: Timestamp,
        msgid: &str,
        sd_id: &str,
        params: &[Param<'_>],
        text: &str,
    ) -> Vec<u8> {
        let mut out = String::with_capacity(512);
        // Timestamp's Display is RFC 3339 in UTC with exactly six fractional digits, which is
        // what RFC 5424 TIMESTAMP allows at most.
        let _ = write!(
            out,
            "<{pri}>1 {at} {} {APP_NAME} - {msgid} [{sd_id}",
            self.hostname
        );
        for (name, value) in params {
            out.push(' ');
            out.push_str(name);
            out.push_str("=\"");
            escape_param_value(value, &mut out);
            out.push('"');
        }
        out.push(']');
        let text = readable(text);
        if !text.is_empty() {
            out.push(' ');
            if !text.is_ascii() {
                // RFC 5424 section 6.4: UTF-8 MSG starts with the byte order mark.
                out.push('\u{FEFF}');
            }
            out.push_str(&text);
        }
        out.into_bytes()
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Shrink {
    None,
    OmitDetails,
    Truncate,
}

/// Escapes an SD-PARAM value (RFC 5424 section 6.3.3): `"`, `\` and `]` get a backslash.
pub fn escape_param_value(value: &str, out: &mut String) {
    for c in value.chars() {
        if matches!(c, '"' | '\\' | ']') {
            out.push('\\');
        }
        out.push(c);
    }
}

/// Appends `message` to `out` with RFC 5425 octet-counting framing: `MSG-LEN SP SYSLOG-MSG`.
pub fn frame(message: &[u8], out: &mut Vec<u8>) {
    out.extend_from_slice(message.len().to_string().as_bytes());
    out.push(b' ');
    out.extend_from_slice(message);
}

/// A MSGID (1 to 32 PRINTUSASCII) for `action`: characters outside that set become `_`, and
/// longer actions are cut. The full action is always in the `action` parameter.
fn msgid(action: &str) -> String {
    let id: String = action
        .chars()
        .take(32)
        .map(|c| {
            if c.is_ascii() && is_print_us_ascii(c as u8) {
                c
            } else {
                '_'
            }
        })
        .collect();
    if id.is_empty() { "-".to_owned() } else { id }
}

/// MSG text: control characters become spaces, and at most [`MSG_CHARS`] characters are kept.
fn readable(text: &str) -> String {
    let mut out: String = text
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .take(MSG_CHARS)
        .collect();
    if text.chars().count() > MSG_CHARS {
        out.pop();
        out.push('…');
    }
    out
}

/// The longest prefix of `text` of at most `max` bytes that ends on a character boundary.
fn truncate_bytes(text: &str, max: usize) -> &str {
    if text.len() <= max {
        return text;
    }
    let mut end = max;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    &text[..end]
}

fn hex(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        let _ = write!(out, "{b:02x}");
    }
    out
}

#[cfg(test)]
mod tests;
