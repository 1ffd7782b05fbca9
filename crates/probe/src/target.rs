//! Targets: what the user names, and the only endpoints a probe contacts.

use std::fmt;
use std::str::FromStr;

/// How a target is spoken to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Scheme {
    /// Modbus/TCP Security: Modbus/TCP inside mutually authenticated TLS (default port 802).
    ModbusTls,
    /// Modbus/TCP in clear text (default port 502).
    Modbus,
    /// An HTTPS management interface (default port 443).
    Https,
    /// Any TLS service (the port is required).
    Tls,
}

impl Scheme {
    /// Every scheme, in the order of the documentation.
    pub const ALL: [Scheme; 4] = [
        Scheme::ModbusTls,
        Scheme::Modbus,
        Scheme::Https,
        Scheme::Tls,
    ];

    /// The URL scheme, e.g. `modbus-tls`.
    pub const fn as_str(self) -> &'static str {
        match self {
            Scheme::ModbusTls => "modbus-tls",
            Scheme::Modbus => "modbus",
            Scheme::Https => "https",
            Scheme::Tls => "tls",
        }
    }

    /// The port used when the URL names none; `tls://` has no default.
    pub const fn default_port(self) -> Option<u16> {
        match self {
            Scheme::ModbusTls => Some(802),
            Scheme::Modbus => Some(502),
            Scheme::Https => Some(443),
            Scheme::Tls => None,
        }
    }

    /// Whether the service speaks TLS.
    pub const fn is_tls(self) -> bool {
        !matches!(self, Scheme::Modbus)
    }
}

impl fmt::Display for Scheme {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A target the user named: scheme, host and port. Built only by parsing.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Target {
    scheme: Scheme,
    host: String,
    port: u16,
}

/// A target URL that cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TargetError {
    /// Not `SCHEME://HOST[:PORT]` with one of the known schemes.
    #[error(
        "'{text}': expected modbus-tls://HOST:PORT, modbus://HOST:PORT, https://HOST:PORT or \
         tls://HOST:PORT ({reason})"
    )]
    Malformed {
        /// The text given.
        text: String,
        /// What is wrong with it.
        reason: String,
    },
}

impl Target {
    /// The scheme.
    pub fn scheme(&self) -> Scheme {
        self.scheme
    }

    /// The host: a name or an IP address (without brackets).
    pub fn host(&self) -> &str {
        &self.host
    }

    /// The port.
    pub fn port(&self) -> u16 {
        self.port
    }
}

impl fmt::Display for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.host.contains(':') {
            write!(f, "{}://[{}]:{}", self.scheme, self.host, self.port)
        } else {
            write!(f, "{}://{}:{}", self.scheme, self.host, self.port)
        }
    }
}

impl FromStr for Target {
    type Err = TargetError;

    /// `SCHEME://HOST[:PORT][/]`: an IPv6 host in brackets, a port of 1-65535 (required for
    /// `tls://`), no user, path, query or fragment.
    fn from_str(text: &str) -> Result<Target, TargetError> {
        let bad = |reason: &str| TargetError::Malformed {
            text: text.to_owned(),
            reason: reason.to_owned(),
        };
        let (scheme, rest) = text.split_once("://").ok_or_else(|| bad("no scheme"))?;
        let scheme = Scheme::ALL
            .into_iter()
            .find(|s| s.as_str().eq_ignore_ascii_case(scheme))
            .ok_or_else(|| bad(&format!("unknown scheme '{scheme}'")))?;
        let authority = rest.strip_suffix('/').unwrap_or(rest);
        if authority.contains(['/', '?', '#', '@']) || authority.chars().any(char::is_whitespace) {
            return Err(bad("only HOST:PORT may follow the scheme"));
        }
        let (host, port) = if let Some(bracketed) = authority.strip_prefix('[') {
            let (host, after) = bracketed
                .split_once(']')
                .ok_or_else(|| bad("unclosed '[' in the host"))?;
            if host.parse::<std::net::Ipv6Addr>().is_err() {
                return Err(bad("not an IPv6 address in brackets"));
            }
            let port = match after {
                "" => None,
                p => Some(p.strip_prefix(':').ok_or_else(|| bad("junk after ']'"))?),
            };
            (host, port)
        } else {
            match authority.split_once(':') {
                Some((host, port)) => (host, Some(port)),
                None => (authority, None),
            }
        };
        if host.is_empty() {
            return Err(bad("no host"));
        }
        if !host.starts_with('[')
            && !host.contains(':')
            && !host
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_'))
        {
            return Err(bad("the host is not a name or an address"));
        }
        let port = match port {
            Some(p) => p
                .parse::<u16>()
                .ok()
                .filter(|p| *p != 0)
                .ok_or_else(|| bad(&format!("port '{p}' is not 1-65535")))?,
            None => scheme
                .default_port()
                .ok_or_else(|| bad("tls:// needs a port"))?,
        };
        Ok(Target {
            scheme,
            host: host.to_ascii_lowercase(),
            port,
        })
    }
}
