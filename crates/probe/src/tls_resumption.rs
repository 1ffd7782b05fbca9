//! The `tls-resumption-after-alert` check: Modbus/TCP Security requires that a TLS session
//! ended by a fatal alert cannot be resumed.
//!
//! Per version (TLS 1.3, then TLS 1.2; over Modbus/TCP Security the one the server picks with
//! the user's client certificate), with rustls and a session store of the probe's own:
//!
//! 1. **Control**: a full handshake, a wait of [`TICKET_WAIT`] for the server's session
//!    ticket (TLS 1.3) or the session id/ticket of the handshake (TLS 1.2), a clean
//!    `close_notify`, and a second handshake offering that session. Not resumed: the server
//!    does not resume at all (met, said so).
//! 2. **After a fatal alert**: a new full handshake and ticket, then one TLS record of random
//!    bytes written on the raw socket under the session, which the server cannot
//!    authenticate: it must end the connection with a fatal `bad_record_mac`. A second
//!    handshake offers that session: resumed is not met; a full handshake is met.
//!
//! The probe writes no TLS record cryptography: the broken record is random bytes in a record
//! header, and everything else is rustls.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use rustls::client::{ClientSessionMemoryCache, ClientSessionStore, Resumption};
use rustls::pki_types::ServerName;
use rustls::{ClientConfig, HandshakeKind, NamedGroup};
use tokio::io::AsyncWriteExt as _;

use crate::evidence::Outcome;
use crate::net::{self, ANSWER_TIMEOUT, Context, Read};
use crate::run::Finding;
use crate::target::{Scheme, Target};
use crate::tls::{self, Handshake};

/// How long the probe waits for a TLS 1.3 session ticket after the handshake.
const TICKET_WAIT: Duration = Duration::from_millis(1500);

/// A session store that counts what rustls stores in it and takes from it, so the probe
/// knows a session was there to offer.
#[derive(Debug)]
struct CountingStore {
    inner: ClientSessionMemoryCache,
    stored: AtomicUsize,
    offered: AtomicUsize,
}

impl CountingStore {
    fn new() -> CountingStore {
        CountingStore {
            inner: ClientSessionMemoryCache::new(8),
            stored: AtomicUsize::new(0),
            offered: AtomicUsize::new(0),
        }
    }
}

impl ClientSessionStore for CountingStore {
    fn set_kx_hint(&self, server_name: ServerName<'static>, group: NamedGroup) {
        self.inner.set_kx_hint(server_name, group);
    }

    fn kx_hint(&self, server_name: &ServerName<'_>) -> Option<NamedGroup> {
        self.inner.kx_hint(server_name)
    }

    fn set_tls12_session(
        &self,
        server_name: ServerName<'static>,
        value: rustls::client::Tls12ClientSessionValue,
    ) {
        self.stored.fetch_add(1, Ordering::SeqCst);
        self.inner.set_tls12_session(server_name, value);
    }

    fn tls12_session(
        &self,
        server_name: &ServerName<'_>,
    ) -> Option<rustls::client::Tls12ClientSessionValue> {
        let value = self.inner.tls12_session(server_name);
        if value.is_some() {
            self.offered.fetch_add(1, Ordering::SeqCst);
        }
        value
    }

    fn remove_tls12_session(&self, server_name: &ServerName<'static>) {
        self.inner.remove_tls12_session(server_name);
    }

    fn insert_tls13_ticket(
        &self,
        server_name: ServerName<'static>,
        value: rustls::client::Tls13ClientSessionValue,
    ) {
        self.stored.fetch_add(1, Ordering::SeqCst);
        self.inner.insert_tls13_ticket(server_name, value);
    }

    fn take_tls13_ticket(
        &self,
        server_name: &ServerName<'static>,
    ) -> Option<rustls::client::Tls13ClientSessionValue> {
        let value = self.inner.take_tls13_ticket(server_name);
        if value.is_some() {
            self.offered.fetch_add(1, Ordering::SeqCst);
        }
        value
    }
}

/// What one pair of handshakes showed.
#[derive(Debug)]
enum Attempt {
    /// The first handshake was refused: the version (or the client) is not accepted.
    NotAccepted(String),
    /// The server issued no session to resume.
    NoSession(String),
    /// The second handshake, offering the session of the first.
    Second {
        version: String,
        offered: bool,
        resumed: bool,
        /// How the first connection ended.
        ended: String,
    },
}

async fn attempt(
    context: &Context,
    target: &Target,
    base: &ClientConfig,
    with_alert: bool,
) -> Result<Attempt, String> {
    let store = Arc::new(CountingStore::new());
    let mut config = base.clone();
    config.resumption = Resumption::store(store.clone());
    let config = Arc::new(config);
    let mut stream = match tls::handshake(context, target, config.clone()).await {
        Handshake::Done(stream) => stream,
        Handshake::Refused(why) => return Ok(Attempt::NotAccepted(why)),
        Handshake::Unreachable(why) | Handshake::Silent(why) => return Err(why),
    };
    let version = stream.get_ref().1.protocol_version().map_or_else(
        || "?".to_owned(),
        |v| crate::legacy::version_name(u16::from(v)),
    );
    if store.stored.load(Ordering::SeqCst) == 0 {
        // TLS 1.3 tickets come after the handshake: read (nothing is sent) to take them in.
        let read = net::read_answer(&mut *stream, TICKET_WAIT, 4096, |_| {
            store.stored.load(Ordering::SeqCst) > 0
        })
        .await;
        if let Read::Closed(_, Some(why)) = read
            && store.stored.load(Ordering::SeqCst) == 0
        {
            return Err(format!(
                "the server ended the {version} connection after the handshake: {why}"
            ));
        }
    }
    if store.stored.load(Ordering::SeqCst) == 0 {
        return Ok(Attempt::NoSession(version));
    }
    let ended = if with_alert {
        // An application-data record of random bytes: no key authenticates it.
        let mut record = vec![23, 3, 3, 0, 32];
        let mut noise = [0u8; 32];
        rampart_vault::crypto::fill_random(&mut noise).map_err(|e| e.to_string())?;
        record.extend_from_slice(&noise);
        let raw = &mut *stream.get_mut().0;
        raw.write_all(&record)
            .await
            .map_err(|e| format!("writing the broken record: {}", net::describe_io(&e)))?;
        match net::read_answer(&mut *stream, ANSWER_TIMEOUT, 4096, |_| false).await {
            Read::Closed(_, Some(why)) => format!("the server ended it with {why}"),
            Read::Closed(_, None) => "the server closed it without an alert".to_owned(),
            Read::Complete(_) | Read::Silent(_) => format!(
                "the server neither answered nor closed within {} s",
                ANSWER_TIMEOUT.as_secs()
            ),
        }
    } else {
        let _ = stream.shutdown().await;
        "closed cleanly (close_notify)".to_owned()
    };
    drop(stream);
    let offered_before = store.offered.load(Ordering::SeqCst);
    match tls::handshake(context, target, config).await {
        Handshake::Done(second) => Ok(Attempt::Second {
            version,
            offered: store.offered.load(Ordering::SeqCst) > offered_before,
            resumed: second.get_ref().1.handshake_kind() == Some(HandshakeKind::Resumed),
            ended,
        }),
        Handshake::Refused(why) => {
            Err(format!("the second {version} handshake was refused: {why}"))
        }
        Handshake::Unreachable(why) | Handshake::Silent(why) => Err(why),
    }
}

/// The verdict for one client configuration (one version, or the one the server picks).
async fn judge(
    context: &Context,
    target: &Target,
    base: &ClientConfig,
    label: &str,
) -> Result<(Option<Outcome>, String), String> {
    let control = attempt(context, target, base, false).await?;
    match control {
        Attempt::NotAccepted(why) => return Ok((None, format!("{label}: not accepted ({why})"))),
        Attempt::NoSession(version) => {
            return Ok((
                Some(Outcome::Met),
                format!("{version}: no session ticket or id issued (resumption not supported)"),
            ));
        }
        Attempt::Second {
            version,
            offered: false,
            ..
        } => {
            return Ok((
                Some(Outcome::NotTested),
                format!("{version}: the client had no session to offer after a clean close"),
            ));
        }
        Attempt::Second {
            version,
            resumed: false,
            ..
        } => {
            return Ok((
                Some(Outcome::Met),
                format!(
                    "{version}: not resumed even after a clean close (resumption not supported)"
                ),
            ));
        }
        Attempt::Second { .. } => {}
    }
    match attempt(context, target, base, true).await? {
        Attempt::Second {
            version,
            offered: true,
            resumed,
            ended,
        } => {
            // The alert itself may be lost when the server resets the connection at once.
            let session = if ended.contains("alert ") {
                "a session ended by a fatal alert"
            } else {
                "a session it ended on a record it could not authenticate"
            };
            Ok(if resumed {
                (
                    Some(Outcome::NotMet),
                    format!(
                        "{version}: resumed {session} ({ended}); resumed after a clean close \
                         too"
                    ),
                )
            } else {
                (
                    Some(Outcome::Met),
                    format!(
                        "{version}: refused to resume {session} ({ended}) — a full handshake \
                         — while it resumes after a clean close"
                    ),
                )
            })
        }
        Attempt::Second { version, ended, .. } => Ok((
            Some(Outcome::NotTested),
            format!("{version}: the client had no session to offer after the alert ({ended})"),
        )),
        Attempt::NotAccepted(why) => Err(format!("{label}: refused the second time ({why})")),
        Attempt::NoSession(version) => Ok((
            Some(Outcome::NotTested),
            format!("{version}: no session issued the second time"),
        )),
    }
}

pub(crate) async fn resumption_after_alert(context: &Context, target: &Target) -> Finding {
    let mut configs: Vec<(String, Arc<ClientConfig>)> = Vec::new();
    match (&context.identity, target.scheme()) {
        // Modbus/TCP Security serves only a client with a certificate.
        (Some(identity), Scheme::ModbusTls) => {
            configs.push(("with the client certificate".to_owned(), identity.clone()));
        }
        (None, Scheme::ModbusTls) => {
            return Finding::new(
                Outcome::NotTested,
                "needs a client certificate (--client-cert) to complete a Modbus/TCP Security \
                 session",
            );
        }
        _ => {
            for (label, version) in [
                ("TLS 1.3", &rustls::version::TLS13),
                ("TLS 1.2", &rustls::version::TLS12),
            ] {
                match tls::inspecting(&[version], None) {
                    Ok(config) => configs.push((label.to_owned(), config)),
                    Err(e) => return Finding::new(Outcome::NotTested, e),
                }
            }
        }
    }
    let mut outcomes = Vec::new();
    let mut observations = Vec::new();
    for (label, config) in &configs {
        match judge(context, target, config, label).await {
            Ok((outcome, observation)) => {
                if let Some(outcome) = outcome {
                    outcomes.push(outcome);
                }
                observations.push(observation);
            }
            Err(why) => {
                outcomes.push(Outcome::NotTested);
                observations.push(format!("{label}: not tested ({why})"));
            }
        }
    }
    if outcomes.is_empty() {
        return Finding::new(
            Outcome::NotTested,
            format!(
                "no TLS 1.2 or 1.3 handshake completed: {}",
                observations.join("; ")
            ),
        );
    }
    // Strictest first: a version resumed after an alert, then a version not measured.
    let outcome = if outcomes.contains(&Outcome::NotMet) {
        Outcome::NotMet
    } else if outcomes.contains(&Outcome::NotTested) {
        Outcome::NotTested
    } else {
        Outcome::Met
    };
    Finding::new(outcome, observations.join("; ")).with("per_version", observations)
}
