//! The probes' network primitives: paced connections and bounded waits.

use std::io;
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncReadExt as _};
use tokio::net::TcpStream;
use tokio::sync::Mutex;
use tokio::time::Instant;

use crate::target::Target;

/// The least time between two connection attempts to one target: at most 10 a second.
pub const MIN_CONNECTION_INTERVAL: Duration = Duration::from_millis(100);
/// The longest a TCP connection attempt may take.
pub(crate) const CONNECT_TIMEOUT: Duration = Duration::from_secs(3);
/// The longest a TLS handshake may take.
pub(crate) const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(5);
/// The longest the probe waits for an answer to one request.
pub(crate) const ANSWER_TIMEOUT: Duration = Duration::from_secs(3);

/// Paces the connection attempts of one run: one per [`MIN_CONNECTION_INTERVAL`].
#[derive(Debug)]
pub(crate) struct Pacer {
    last: Mutex<Option<Instant>>,
}

impl Pacer {
    pub(crate) fn new() -> Pacer {
        Pacer {
            last: Mutex::new(None),
        }
    }

    /// Waits until the next connection attempt is allowed.
    pub(crate) async fn wait(&self) {
        let mut last = self.last.lock().await;
        if let Some(at) = *last {
            tokio::time::sleep_until(at + MIN_CONNECTION_INTERVAL).await;
        }
        *last = Some(Instant::now());
    }
}

/// What the probes share while they run: the pacer, the time, the client identity.
#[derive(Debug)]
pub(crate) struct Context {
    pub(crate) pacer: Pacer,
    pub(crate) now: jiff::Timestamp,
    /// The TLS client configuration with the user's certificate, for Modbus sessions with
    /// `modbus-tls://` targets.
    pub(crate) identity: Option<std::sync::Arc<rustls::ClientConfig>>,
    /// The essential function and the storms' source address.
    pub(crate) robustness: crate::robustness::RobustnessOptions,
    /// The throw-away account of the HTTPS login checks, and the failed logins made.
    pub(crate) login: crate::https::login::LoginContext,
    /// The `OpenAPI` document of the `https://` targets the user gave (`--openapi`), for a
    /// target that serves none without credentials.
    pub(crate) openapi: Option<std::sync::Arc<[u8]>>,
}

impl Context {
    /// The settings of the essential-function monitor, which runs beside the checks: a
    /// pacer of its own, and its own client certificate when it has one.
    pub(crate) fn for_monitor(&self) -> Context {
        Context {
            pacer: Pacer::new(),
            now: self.now,
            identity: self
                .robustness
                .monitor_identity
                .as_ref()
                .map(crate::checks::ClientIdentity::config)
                .or_else(|| self.identity.clone()),
            robustness: self.robustness.clone(),
            // The monitor never logs in.
            login: crate::https::login::LoginContext::default(),
            openapi: None,
        }
    }

    /// A paced TCP connection to `target`, within [`CONNECT_TIMEOUT`].
    pub(crate) async fn connect(&self, target: &Target) -> io::Result<TcpStream> {
        self.pacer.wait().await;
        let stream = tokio::time::timeout(
            CONNECT_TIMEOUT,
            TcpStream::connect((target.host(), target.port())),
        )
        .await
        .map_err(|_| {
            io::Error::new(
                io::ErrorKind::TimedOut,
                format!("no connection within {} s", CONNECT_TIMEOUT.as_secs()),
            )
        })??;
        let _ = stream.set_nodelay(true);
        Ok(stream)
    }
}

/// How a read of an answer ended.
#[derive(Debug)]
pub(crate) enum Read {
    /// `done` said the bytes are complete (or the cap was reached).
    Complete(Vec<u8>),
    /// The peer closed the connection after these bytes: cleanly (`None`) or with the error
    /// described (a reset, a TLS alert).
    Closed(Vec<u8>, Option<String>),
    /// Nothing more came within the time allowed.
    Silent(Vec<u8>),
}

/// Reads from `stream` until `done(bytes)` says the answer is complete, the peer closes,
/// `cap` bytes arrived, or `wait` passed.
pub(crate) async fn read_answer<S: AsyncRead + Unpin>(
    stream: &mut S,
    wait: Duration,
    cap: usize,
    mut done: impl FnMut(&[u8]) -> bool,
) -> Read {
    let deadline = Instant::now() + wait;
    let mut bytes = Vec::new();
    let mut chunk = [0u8; 4096];
    loop {
        if done(&bytes) || bytes.len() >= cap {
            return Read::Complete(bytes);
        }
        match tokio::time::timeout_at(deadline, stream.read(&mut chunk)).await {
            Err(_) => return Read::Silent(bytes),
            Ok(Ok(0)) => return Read::Closed(bytes, None),
            Ok(Ok(n)) => bytes.extend_from_slice(chunk.get(..n).unwrap_or_default()),
            Ok(Err(e)) => return Read::Closed(bytes, Some(crate::tls::describe_tls_error(&e))),
        }
    }
}

/// A short description of an I/O error for observations.
pub(crate) fn describe_io(error: &io::Error) -> String {
    if error.kind() == io::ErrorKind::ConnectionRefused {
        "connection refused".to_owned()
    } else {
        error.to_string()
    }
}
