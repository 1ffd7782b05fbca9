//! Admission of connections that have not authenticated yet (CR 7.1, CR 7.2), shared by the
//! data plane and the management plane.
//!
//! Anyone who can reach a listener can open connections that never authenticate: bare TCP
//! that sends nothing, a TLS handshake that stalls, HTTP headers that trickle. Such a
//! connection costs its sender nothing but a socket, so it must not hold a slot that an
//! authenticated client needs. Two pieces keep them apart:
//!
//! - [`PreAuthBudget`]: a separate, smaller budget for connections before authentication,
//!   with a cap per source address. When it is full, a newcomer from a source that holds
//!   fewer of its slots than the source that holds the most takes the slot of that source's
//!   oldest pending connection, which is told to close ([`PreAuthSlot::evicted`]). A flood
//!   from a few sources therefore cannot keep another source from starting a handshake,
//!   and the budget stays fair between sources. A connection leaves the budget when it has
//!   authenticated (then it needs a slot of the authenticated budget, kept by the caller)
//!   or closes.
//! - [`RefusalLog`]: refusals, which an attacker causes at will, are audited once per
//!   source, kind and interval: the first at once, the rest counted and reported as one
//!   summary per interval by [`RefusalLog::drain`], so that every refusal is accounted for
//!   without an attacker flooding the trail (CR 2.8, CR 2.9).
//!
//! [`PerSourceLimit`] caps the connections one source address holds open, authenticated or
//! not, and [`admit_connection`] is the check both planes' listeners make at accept, after
//! their allow-list: a place in the per-source limit, then one in the [`PreAuthBudget`].
//! [`TokenBucket`] is the request-rate bucket of both planes.
//!
//! Both are bounded: the budget by its size, the log by [`MAX_TRACKED_REFUSALS`] keys, past
//! which refusals are counted under one "other sources" key.

use std::collections::{HashMap, VecDeque};
use std::net::IpAddr;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use tokio::sync::oneshot;

/// Why [`PreAuthBudget::admit`] refused a connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PreAuthRefusal {
    /// The source address holds its share of unauthenticated connections already.
    PerSource {
        /// The cap per source address.
        limit: usize,
    },
    /// The budget is full and no source holds more than its fair share.
    Full {
        /// The size of the budget.
        limit: usize,
    },
}

impl std::fmt::Display for PreAuthRefusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            PreAuthRefusal::PerSource { limit } => write!(
                f,
                "the source address has {limit} unauthenticated connections open, its limit \
                 (CR 7.1)"
            ),
            PreAuthRefusal::Full { limit } => write!(
                f,
                "all {limit} slots for unauthenticated connections are taken, shared fairly \
                 between sources (CR 7.1)"
            ),
        }
    }
}

/// Connections that have not authenticated yet: at most `max` at once, at most
/// `max_per_source` from one address, shared fairly between sources (see the module docs).
#[derive(Debug, Clone)]
pub struct PreAuthBudget {
    inner: Arc<Mutex<BudgetInner>>,
    max: usize,
    max_per_source: usize,
}

#[derive(Debug, Default)]
struct BudgetInner {
    next_id: u64,
    /// Each admitted connection, with the means to tell it to close.
    entries: HashMap<u64, Entry>,
    /// The connections of each source, oldest first.
    per_source: HashMap<IpAddr, VecDeque<u64>>,
}

#[derive(Debug)]
struct Entry {
    source: IpAddr,
    evict: oneshot::Sender<()>,
}

impl PreAuthBudget {
    /// A budget of `max` connections, `max_per_source` from one address (both at least 1).
    pub fn new(max: usize, max_per_source: usize) -> PreAuthBudget {
        PreAuthBudget {
            inner: Arc::new(Mutex::new(BudgetInner::default())),
            max: max.max(1),
            max_per_source: max_per_source.max(1),
        }
    }

    /// The size of the budget.
    pub fn limit(&self) -> usize {
        self.max
    }

    /// The cap per source address.
    pub fn limit_per_source(&self) -> usize {
        self.max_per_source
    }

    /// Unauthenticated connections held now.
    pub fn len(&self) -> usize {
        self.lock().entries.len()
    }

    /// Whether none is held.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, BudgetInner> {
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Admits a connection from `source`, evicting the oldest pending connection of the
    /// source that holds the most when the budget is full and that source holds at least two
    /// more than `source` does. Work is bounded by the number of sources in the budget.
    ///
    /// # Errors
    /// [`PreAuthRefusal`] when `source` has its share or the budget is full and fair.
    pub fn admit(&self, source: IpAddr) -> Result<PreAuthSlot, PreAuthRefusal> {
        let source = source.to_canonical();
        let mut inner = self.lock();
        let held = inner.per_source.get(&source).map_or(0, VecDeque::len);
        if held >= self.max_per_source {
            return Err(PreAuthRefusal::PerSource {
                limit: self.max_per_source,
            });
        }
        if inner.entries.len() >= self.max {
            let greediest = inner
                .per_source
                .iter()
                .max_by_key(|(_, ids)| ids.len())
                .map(|(ip, ids)| (*ip, ids.len()));
            match greediest {
                Some((victim, count)) if count > held + 1 => inner.evict_oldest(victim),
                _ => return Err(PreAuthRefusal::Full { limit: self.max }),
            }
        }
        let id = inner.next_id;
        inner.next_id += 1;
        let (evict, evicted) = oneshot::channel();
        inner.entries.insert(id, Entry { source, evict });
        inner.per_source.entry(source).or_default().push_back(id);
        Ok(PreAuthSlot {
            inner: Arc::clone(&self.inner),
            id,
            evicted,
        })
    }
}

impl BudgetInner {
    fn evict_oldest(&mut self, source: IpAddr) {
        let Some(ids) = self.per_source.get_mut(&source) else {
            return;
        };
        let oldest = ids.pop_front();
        if ids.is_empty() {
            self.per_source.remove(&source);
        }
        if let Some(entry) = oldest.and_then(|id| self.entries.remove(&id)) {
            // The connection may have closed already; then there is nobody to tell.
            let _ = entry.evict.send(());
        }
    }

    fn release(&mut self, id: u64) {
        let Some(entry) = self.entries.remove(&id) else {
            // Evicted: its place went to the connection that evicted it.
            return;
        };
        if let Some(ids) = self.per_source.get_mut(&entry.source) {
            ids.retain(|i| *i != id);
            if ids.is_empty() {
                self.per_source.remove(&entry.source);
            }
        }
    }
}

/// One connection's place in a [`PreAuthBudget`]; given back on drop.
#[derive(Debug)]
pub struct PreAuthSlot {
    inner: Arc<Mutex<BudgetInner>>,
    id: u64,
    evicted: oneshot::Receiver<()>,
}

impl PreAuthSlot {
    /// Resolves when a newcomer took this slot: the connection must close. Cancel safe.
    /// Also resolves once the slot was given back through a [`PreAuthRelease`], so a caller
    /// that uses one tells the two apart by its own record of authentication.
    pub async fn evicted(&mut self) {
        // The sender is dropped by an eviction (after sending), by a release, or by this
        // slot's drop.
        let _ = (&mut self.evicted).await;
    }

    /// A handle that gives this slot back from elsewhere, at once: for a connection whose
    /// authentication is decided in another task than the one holding the slot (the
    /// management plane's request guard), so that the slot is free before the answer that
    /// lets the client open its next connection is sent.
    pub fn releaser(&self) -> PreAuthRelease {
        PreAuthRelease {
            inner: Arc::clone(&self.inner),
            id: self.id,
        }
    }
}

/// Gives a [`PreAuthSlot`] back before the slot is dropped (see [`PreAuthSlot::releaser`]).
/// Releasing twice, or after an eviction or the slot's drop, does nothing.
#[derive(Debug, Clone)]
pub struct PreAuthRelease {
    inner: Arc<Mutex<BudgetInner>>,
    id: u64,
}

impl PreAuthRelease {
    /// Gives the slot back now.
    pub fn release(&self) {
        self.inner
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .release(self.id);
    }
}

impl Drop for PreAuthSlot {
    fn drop(&mut self) {
        self.inner
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .release(self.id);
    }
}

/// Connections open per source address (CR 7.1), authenticated or not, in both planes. The
/// address is counted as the caller gives it: the management plane gives its canonical form
/// (an IPv4-mapped IPv6 address as IPv4), the data plane the address as accepted.
#[derive(Debug, Clone, Default)]
pub struct PerSourceLimit {
    open: Arc<Mutex<HashMap<IpAddr, usize>>>,
}

impl PerSourceLimit {
    /// No connection counted yet.
    pub fn new() -> PerSourceLimit {
        PerSourceLimit::default()
    }

    /// Counts a connection from `source` unless `limit` are open from it already.
    pub fn admit(&self, source: IpAddr, limit: usize) -> Option<SourceSlot> {
        let mut open = self.open.lock().unwrap_or_else(PoisonError::into_inner);
        let count = open.entry(source).or_insert(0);
        if *count >= limit {
            return None;
        }
        *count += 1;
        Some(SourceSlot {
            open: Arc::clone(&self.open),
            source,
        })
    }
}

/// One connection counted in a [`PerSourceLimit`]; uncounted on drop.
#[derive(Debug)]
pub struct SourceSlot {
    open: Arc<Mutex<HashMap<IpAddr, usize>>>,
    source: IpAddr,
}

impl Drop for SourceSlot {
    fn drop(&mut self) {
        let mut open = self.open.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(count) = open.get_mut(&self.source) {
            *count -= 1;
            if *count == 0 {
                // Only sources with connections open are kept: the table stays bounded.
                open.remove(&self.source);
            }
        }
    }
}

/// Why [`admit_connection`] refused a connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConnectionRefusal {
    /// The source address has `limit` connections open already.
    PerSource {
        /// The cap per source address.
        limit: usize,
    },
    /// No place in the budget of unauthenticated connections.
    PreAuth(PreAuthRefusal),
}

impl std::fmt::Display for ConnectionRefusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ConnectionRefusal::PerSource { limit } => write!(
                f,
                "the limit of {limit} connections per source address is reached (CR 7.1)"
            ),
            ConnectionRefusal::PreAuth(refusal) => refusal.fmt(f),
        }
    }
}

/// The places a connection holds from accept on: one in its source's limit for as long as it
/// is open, and one in the unauthenticated budget until it authenticates.
#[derive(Debug)]
pub struct Admitted {
    /// The place in the per-source limit.
    pub source: SourceSlot,
    /// The place in the unauthenticated budget.
    pub preauth: PreAuthSlot,
}

/// Admits a connection just accepted from `source` (already allowed by the listener's
/// allow-list): a place in `per_source` (at most `limit` per address), then one in
/// `unauthenticated`. Both planes' listeners admit this way (CR 7.1, CR 7.2).
///
/// # Errors
/// [`ConnectionRefusal`] when either is full; nothing is held then.
pub fn admit_connection(
    per_source: &PerSourceLimit,
    limit: usize,
    unauthenticated: &PreAuthBudget,
    source: IpAddr,
) -> Result<Admitted, ConnectionRefusal> {
    let slot = per_source
        .admit(source, limit)
        .ok_or(ConnectionRefusal::PerSource { limit })?;
    let preauth = unauthenticated
        .admit(source)
        .map_err(ConnectionRefusal::PreAuth)?;
    Ok(Admitted {
        source: slot,
        preauth,
    })
}

/// A token bucket (CR 7.1): `rate` tokens a second, at most `burst` saved, full when new. The
/// one bucket of both planes: the data plane keeps one per client identity (the policy's
/// request rate), the management plane one per source address.
#[derive(Debug, Clone, Default)]
pub struct TokenBucket {
    tokens: Option<f64>,
    last: Option<Instant>,
}

impl TokenBucket {
    /// A full bucket.
    pub fn new() -> TokenBucket {
        TokenBucket::default()
    }

    /// The tokens saved at `now` (a rate below one per thousand seconds counts as that).
    fn level(&self, now: Instant, rate: f64, burst: f64) -> f64 {
        let elapsed = self.last.map_or(0.0, |last| {
            now.saturating_duration_since(last).as_secs_f64()
        });
        self.tokens
            .map_or(burst, |t| (t + elapsed * rate).min(burst))
    }

    /// Takes one token, or says how long until one is there.
    ///
    /// # Errors
    /// The wait until the next token, when the bucket is empty.
    pub fn take(
        &mut self,
        now: Instant,
        rate: impl Into<f64>,
        burst: impl Into<f64>,
    ) -> Result<(), Duration> {
        let rate = rate.into().max(0.001);
        let burst = burst.into().max(1.0);
        let tokens = self.level(now, rate, burst);
        self.last = Some(now);
        if tokens >= 1.0 {
            self.tokens = Some(tokens - 1.0);
            Ok(())
        } else {
            self.tokens = Some(tokens);
            Err(Duration::from_secs_f64((1.0 - tokens) / rate))
        }
    }

    /// Whether the bucket has refilled to `burst` by `now`: its owner has been idle, and the
    /// bucket can be forgotten without changing what it would allow.
    pub fn is_full(&self, now: Instant, rate: impl Into<f64>, burst: impl Into<f64>) -> bool {
        let rate = rate.into().max(0.001);
        let burst = burst.into().max(1.0);
        self.level(now, rate, burst) >= burst
    }
}

/// The most keys (source, kind) a [`RefusalLog`] tracks; refusals past it are counted
/// together under no source.
pub const MAX_TRACKED_REFUSALS: usize = 4096;

/// Refusals aggregated per source and kind for the audit trail (see the module docs).
///
/// `T` is what the caller needs to write the summary of a key (e.g. the event of its first
/// refusal). Call [`RefusalLog::note`] for every refusal and record the refusal only when it
/// returns `true`; call [`RefusalLog::drain`] once per interval and record each summary.
#[derive(Debug)]
pub struct RefusalLog<T> {
    inner: Mutex<HashMap<RefusalKey, Tally<T>>>,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct RefusalKey {
    source: Option<IpAddr>,
    kind: String,
}

#[derive(Debug)]
struct Tally<T> {
    template: T,
    /// Refusals noted since the last drain and not recorded one by one.
    pending: u64,
    /// Created since the last drain: kept through the next one even without refusals.
    fresh: bool,
}

/// Refusals of one source and kind counted during an interval.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefusalSummary<T> {
    /// The source; `None`: sources past [`MAX_TRACKED_REFUSALS`], together.
    pub source: Option<IpAddr>,
    /// What the caller stored with the key's first refusal.
    pub template: T,
    /// Refusals not recorded one by one since the previous summary.
    pub count: u64,
}

impl<T> Default for RefusalLog<T> {
    fn default() -> RefusalLog<T> {
        RefusalLog {
            inner: Mutex::new(HashMap::new()),
        }
    }
}

impl<T: Clone> RefusalLog<T> {
    /// An empty log.
    pub fn new() -> RefusalLog<T> {
        RefusalLog::default()
    }

    /// Notes a refusal of `source` of `kind` (e.g. action and reason; digits are ignored,
    /// so that reasons naming times or counts aggregate). Returns `true` when it is the
    /// first of its key since the key was last quiet for a whole interval: the caller
    /// records it now. Otherwise it is counted for the next summary. `template` is called
    /// only for a new key.
    pub fn note(&self, source: IpAddr, kind: &str, template: impl FnOnce() -> T) -> bool {
        let mut key = RefusalKey {
            source: Some(source.to_canonical()),
            kind: normalise(kind),
        };
        let mut inner = self.inner.lock().unwrap_or_else(PoisonError::into_inner);
        if !inner.contains_key(&key) && inner.len() >= MAX_TRACKED_REFUSALS {
            key.source = None;
        }
        if let Some(tally) = inner.get_mut(&key) {
            tally.pending += 1;
            return false;
        }
        inner.insert(
            key,
            Tally {
                template: template(),
                pending: 0,
                fresh: true,
            },
        );
        true
    }

    /// The refusals counted since the last drain, one summary per key that had any. A key
    /// quiet for a whole interval is forgotten: its next refusal is recorded at once again.
    /// So a sustained flood gives one event per source, kind and interval, and the counts of
    /// the events of a key add up to its refusals.
    pub fn drain(&self) -> Vec<RefusalSummary<T>> {
        let mut inner = self.inner.lock().unwrap_or_else(PoisonError::into_inner);
        let mut out = Vec::new();
        inner.retain(|key, tally| {
            let fresh = std::mem::take(&mut tally.fresh);
            if tally.pending == 0 {
                return fresh;
            }
            out.push(RefusalSummary {
                source: key.source,
                template: tally.template.clone(),
                count: std::mem::take(&mut tally.pending),
            });
            true
        });
        out
    }

    /// Keys tracked now.
    pub fn len(&self) -> usize {
        self.inner
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .len()
    }

    /// Whether no key is tracked.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// The kind without digits, at most 160 characters.
fn normalise(kind: &str) -> String {
    kind.chars()
        .filter(|c| !c.is_ascii_digit())
        .take(160)
        .collect()
}

#[cfg(test)]
mod tests;
