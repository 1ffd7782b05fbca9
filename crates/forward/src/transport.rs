//! The connection to the collector: the [`Connector`] and [`Transport`] seams and their TLS
//! implementation, [`TlsCollector`] (RFC 5425).

use std::fmt;
use std::io::{self, Read as _, Write as _};
use std::net::{IpAddr, Shutdown, SocketAddr, TcpStream, ToSocketAddrs as _};
use std::path::Path;
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use rustls::pki_types::ServerName;
use rustls::{ClientConfig, ClientConnection};

use crate::error::ConfigError;

/// Opens connections to the collector.
pub trait Connector: Send {
    /// A new connection, handshake done.
    ///
    /// # Errors
    /// Why it failed: name resolution, refused, timed out, or the TLS handshake (an untrusted
    /// certificate, a rejected client certificate).
    fn connect(&mut self) -> io::Result<Box<dyn Transport>>;

    /// The collector, for messages and the cursor file name (e.g. `siem.example.org:6514`).
    fn collector(&self) -> String;
}

/// One open connection to the collector.
///
/// Syslog over TLS has no acknowledgement: [`Transport::send`] succeeding only means the bytes
/// left this process. [`Transport::probe`] and [`Transport::finish`] are the evidence the
/// forwarder has that they arrived.
pub trait Transport: Send {
    /// Writes all of `bytes` and flushes them to the network.
    ///
    /// # Errors
    /// The connection is broken (it is then discarded).
    fn send(&mut self, bytes: &[u8]) -> io::Result<()>;

    /// Checks without blocking that the collector has not closed or reset the connection.
    ///
    /// # Errors
    /// The connection is closed or broken.
    fn probe(&mut self) -> io::Result<()>;

    /// Closes gracefully and waits up to `timeout` for the collector to close its side.
    /// `Ok` means the collector closed cleanly after our close, which it does only after it
    /// has read every byte before it.
    ///
    /// # Errors
    /// The collector did not confirm: it reset the connection, or the timeout passed.
    fn finish(&mut self, timeout: Duration) -> io::Result<()>;
}

/// A collector address, `HOST:PORT`, with IPv6 literals in brackets (`[2001:db8::1]:6514`).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct CollectorAddress {
    host: String,
    port: u16,
}

impl CollectorAddress {
    /// The host: a DNS name or an IP address (without brackets).
    pub fn host(&self) -> &str {
        &self.host
    }

    /// The TCP port.
    pub fn port(&self) -> u16 {
        self.port
    }
}

impl fmt::Display for CollectorAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.host.contains(':') {
            write!(f, "[{}]:{}", self.host, self.port)
        } else {
            write!(f, "{}:{}", self.host, self.port)
        }
    }
}

impl FromStr for CollectorAddress {
    type Err = ConfigError;

    fn from_str(s: &str) -> Result<CollectorAddress, ConfigError> {
        let bad = |reason| ConfigError::Address {
            value: s.to_owned(),
            reason,
        };
        let (host, port) = if let Some(rest) = s.strip_prefix('[') {
            let (host, port) = rest
                .split_once("]:")
                .ok_or_else(|| bad("no ']:PORT' after an IPv6 address"))?;
            host.parse::<std::net::Ipv6Addr>()
                .map_err(|_| bad("not an IPv6 address in brackets"))?;
            (host, port)
        } else {
            let (host, port) = s.rsplit_once(':').ok_or_else(|| bad("no port"))?;
            if host.contains(':') {
                return Err(bad("an IPv6 address needs brackets"));
            }
            (host, port)
        };
        if host.is_empty() {
            return Err(bad("no host"));
        }
        if host.len() > 253
            || !host
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b'_' | b':'))
        {
            return Err(bad("the host is not a DNS name or IP address"));
        }
        let port: u16 = port
            .parse()
            .map_err(|_| bad("the port is not a number in 1..=65535"))?;
        if port == 0 {
            return Err(bad("the port is not a number in 1..=65535"));
        }
        Ok(CollectorAddress {
            host: host.to_owned(),
            port,
        })
    }
}

/// Timeouts of the TLS connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct Timeouts {
    /// TCP connect, per resolved address.
    pub connect: Duration,
    /// The TLS handshake.
    pub handshake: Duration,
    /// One blocked write: a collector that stops reading for this long is taken as gone.
    pub write: Duration,
}

impl Default for Timeouts {
    /// Connect 10 s, handshake 10 s, write 30 s.
    fn default() -> Timeouts {
        Timeouts {
            connect: Duration::from_secs(10),
            handshake: Duration::from_secs(10),
            write: Duration::from_secs(30),
        }
    }
}

/// A syslog collector reached over TLS (RFC 5425): TLS 1.3 or 1.2 with the workspace's crypto
/// provider (`rampart_vault::tls`), the collector's certificate verified against the given CA
/// for the server name, and optionally a client certificate for mutual TLS.
#[derive(Debug, Clone)]
pub struct TlsCollector {
    address: CollectorAddress,
    server_name: ServerName<'static>,
    config: Arc<ClientConfig>,
    timeouts: Timeouts,
}

impl TlsCollector {
    /// A collector at `address` whose certificate must chain to a CA in the PEM file `ca` and
    /// name the address's host; with `identity` = (certificate chain, key) the forwarder
    /// authenticates with that certificate (the key file must be mode 0600 or stricter).
    ///
    /// # Errors
    /// [`ConfigError::Tls`] for unreadable or unusable files; [`ConfigError::ServerName`]
    /// when the host is not a valid name to verify.
    pub fn from_files(
        address: CollectorAddress,
        ca: &Path,
        identity: Option<(&Path, &Path)>,
    ) -> Result<TlsCollector, ConfigError> {
        let config = rampart_vault::tls::client_config(ca, identity)?;
        TlsCollector::new(address, config)
    }

    /// A collector at `address` with a ready client configuration.
    ///
    /// # Errors
    /// [`ConfigError::ServerName`] when the host is not a valid name to verify.
    pub fn new(
        address: CollectorAddress,
        config: Arc<ClientConfig>,
    ) -> Result<TlsCollector, ConfigError> {
        let server_name = parse_server_name(address.host())?;
        Ok(TlsCollector {
            address,
            server_name,
            config,
            timeouts: Timeouts::default(),
        })
    }

    /// Verifies the collector's certificate for `name` instead of the address's host (for a
    /// collector reached by IP address whose certificate names its DNS name).
    ///
    /// # Errors
    /// [`ConfigError::ServerName`] when `name` is neither a DNS name nor an IP address.
    pub fn server_name(mut self, name: &str) -> Result<TlsCollector, ConfigError> {
        self.server_name = parse_server_name(name)?;
        Ok(self)
    }

    /// Replaces the timeouts.
    #[must_use]
    pub fn timeouts(mut self, timeouts: Timeouts) -> TlsCollector {
        self.timeouts = timeouts;
        self
    }

    /// The address.
    pub fn address(&self) -> &CollectorAddress {
        &self.address
    }

    fn open_tcp(&self) -> io::Result<TcpStream> {
        let addresses: Vec<SocketAddr> = match self.address.host.parse::<IpAddr>() {
            Ok(ip) => vec![SocketAddr::new(ip, self.address.port)],
            Err(_) => (self.address.host.as_str(), self.address.port)
                .to_socket_addrs()?
                .collect(),
        };
        let mut last = io::Error::new(
            io::ErrorKind::NotFound,
            format!("{} resolves to no address", self.address.host),
        );
        for address in addresses {
            match TcpStream::connect_timeout(&address, self.timeouts.connect) {
                Ok(stream) => return Ok(stream),
                Err(e) => last = io::Error::new(e.kind(), format!("{address}: {e}")),
            }
        }
        Err(last)
    }
}

fn parse_server_name(name: &str) -> Result<ServerName<'static>, ConfigError> {
    ServerName::try_from(name.to_owned()).map_err(|_| ConfigError::ServerName(name.to_owned()))
}

impl Connector for TlsCollector {
    fn connect(&mut self) -> io::Result<Box<dyn Transport>> {
        let mut sock = self.open_tcp()?;
        sock.set_nodelay(true)?;
        sock.set_read_timeout(Some(self.timeouts.handshake))?;
        sock.set_write_timeout(Some(self.timeouts.handshake))?;
        let mut conn = ClientConnection::new(Arc::clone(&self.config), self.server_name.clone())
            .map_err(tls_error)?;
        while conn.is_handshaking() {
            conn.complete_io(&mut sock).map_err(|e| {
                io::Error::new(
                    e.kind(),
                    format!("TLS handshake with {}: {e}", self.address),
                )
            })?;
        }
        sock.set_read_timeout(None)?;
        sock.set_write_timeout(Some(self.timeouts.write))?;
        tracing::debug!(
            collector = %self.address,
            tls.version = ?conn.protocol_version(),
            tls.suite = ?conn.negotiated_cipher_suite().map(|s| s.suite()),
            "connected"
        );
        Ok(Box::new(TlsTransport { conn, sock }))
    }

    fn collector(&self) -> String {
        self.address.to_string()
    }
}

fn tls_error(error: rustls::Error) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, error)
}

/// An established TLS connection. Blocking socket with a write timeout; reads happen only in
/// [`Transport::probe`] (non-blocking) and [`Transport::finish`] (with a timeout): a syslog
/// collector sends nothing but TLS records of its own (session tickets, alerts).
struct TlsTransport {
    conn: ClientConnection,
    sock: TcpStream,
}

impl TlsTransport {
    fn write_pending(&mut self) -> io::Result<()> {
        while self.conn.wants_write() {
            if self.conn.write_tls(&mut self.sock)? == 0 {
                return Err(io::ErrorKind::WriteZero.into());
            }
        }
        self.sock.flush()
    }

    /// Reads what the collector sent, until the socket would block (or times out).
    /// `Ok(true)` when the collector closed (TCP FIN or TLS `close_notify`).
    fn read_incoming(&mut self) -> io::Result<bool> {
        loop {
            match self.conn.read_tls(&mut self.sock) {
                Ok(0) => return Ok(true),
                Ok(_) => {
                    let state = self.conn.process_new_packets().map_err(tls_error)?;
                    let mut sink = [0u8; 1024];
                    // A collector has nothing to say; discard any application data.
                    while self.conn.reader().read(&mut sink).is_ok_and(|n| n > 0) {}
                    if state.peer_has_closed() {
                        return Ok(true);
                    }
                    self.write_pending()?;
                }
                Err(e)
                    if matches!(
                        e.kind(),
                        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
                    ) =>
                {
                    return Ok(false);
                }
                Err(e) => return Err(e),
            }
        }
    }
}

impl Transport for TlsTransport {
    fn send(&mut self, mut bytes: &[u8]) -> io::Result<()> {
        while !bytes.is_empty() {
            let n = self.conn.writer().write(bytes)?;
            bytes = &bytes[n..];
            self.write_pending()?;
        }
        Ok(())
    }

    fn probe(&mut self) -> io::Result<()> {
        self.sock.set_nonblocking(true)?;
        let closed = self.read_incoming();
        self.sock.set_nonblocking(false)?;
        if closed? {
            Err(io::Error::new(
                io::ErrorKind::ConnectionAborted,
                "the collector closed the connection",
            ))
        } else {
            Ok(())
        }
    }

    fn finish(&mut self, timeout: Duration) -> io::Result<()> {
        self.conn.send_close_notify();
        self.write_pending()?;
        self.sock.shutdown(Shutdown::Write)?;
        self.sock
            .set_read_timeout(Some(timeout.max(Duration::from_millis(1))))?;
        match self.read_incoming() {
            Ok(true) => Ok(()),
            // A collector that closes without close_notify still closed after reading all.
            Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => Ok(()),
            Ok(false) => Err(io::Error::new(
                io::ErrorKind::TimedOut,
                format!("the collector did not close its side within {timeout:?}"),
            )),
            Err(e) => Err(e),
        }
    }
}

#[cfg(test)]
mod tests;
