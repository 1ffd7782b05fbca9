//! What normal traffic looks like, learned per client and per (client, unit, function):
//! the baseline the IDS's anomaly detectors compare traffic with.
//!
//! A [`Baseline`] holds, for every client seen while learning: the servers it talked to, the
//! units and function codes it used, the address ranges it read and wrote per table, its
//! request rate per counting window (all requests, and per unit and function), its exception
//! responses per window, the response times of its requests and the requests left
//! unanswered. Every address seen on the server side is kept too, so that a device that only
//! ever answered and now sends requests (a role reversal, a rogue master) stands out.
//!
//! Counts per window are kept as a [`Band`]: samples, mean, standard deviation, minimum and
//! maximum. Only windows in which the client (or the function) was active are counted: a
//! quiet client is not an anomaly, and a client's first and last windows are partial. The
//! band's upper edge is generous on purpose (twice the largest window seen, or six standard
//! deviations above the mean, whichever is higher, plus a little for small counts): a plant's
//! routine varies, and an alarm that fires on routine is switched off.
//!
//! The file format (JSON, `"format": "rampart-ids-baseline"`, version 1) is documented in
//! `docs/ids.md`; [`Baseline::from_json`] checks it before anything uses it. Memory is
//! bounded: at most [`MAX_BASELINE_CLIENTS`] clients, [`MAX_FUNCTIONS`] (unit, function)
//! pairs per client and [`MAX_RANGES`] address ranges per table and direction (nearest ranges
//! are merged beyond that, which only widens what counts as known).

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use rampart_modbus::{Request, Span, Table};
use serde::{Deserialize, Serialize};

/// The `format` field of a baseline file.
pub const BASELINE_FORMAT: &str = "rampart-ids-baseline";
/// The version of the baseline format this build reads and writes.
pub const BASELINE_VERSION: u32 = 1;
/// The largest baseline file read.
pub const MAX_BASELINE_BYTES: u64 = 64 * 1024 * 1024;
/// Clients kept in a baseline.
pub const MAX_BASELINE_CLIENTS: usize = 10_000;
/// (unit, function) pairs kept per client.
pub const MAX_FUNCTIONS: usize = 512;
/// Address ranges kept per (unit, table) and direction.
pub const MAX_RANGES: usize = 64;

/// Whether a baseline keeps learning after its learning period.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Adaptation {
    /// Fixed once learned: nothing an attacker does later becomes normal.
    #[default]
    Frozen,
    /// Rates and response times inside their band keep moving the band slowly (an
    /// exponentially weighted average, weight [`ADAPTIVE_WEIGHT`]); new talkers, units,
    /// functions and write targets never become normal by themselves.
    Adaptive,
}

/// The weight of a new window in an adaptive baseline.
pub const ADAPTIVE_WEIGHT: f64 = 0.01;

impl fmt::Display for Adaptation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Adaptation::Frozen => "frozen",
            Adaptation::Adaptive => "adaptive",
        })
    }
}

/// Running statistics of a count per window or of a duration.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Band {
    /// How many values were seen.
    pub samples: u64,
    /// Their mean.
    pub mean: f64,
    /// Their (sample) standard deviation.
    pub sd: f64,
    /// The smallest.
    pub min: f64,
    /// The largest.
    pub max: f64,
}

impl Band {
    /// Adds a value (Welford's update).
    pub fn add(&mut self, value: f64) {
        let n = approx(self.samples);
        let m2 = if self.samples > 1 {
            self.sd * self.sd * (n - 1.0)
        } else {
            0.0
        };
        if self.samples == 0 {
            self.min = value;
            self.max = value;
        } else {
            self.min = self.min.min(value);
            self.max = self.max.max(value);
        }
        self.samples += 1;
        let delta = value - self.mean;
        self.mean += delta / (n + 1.0);
        let m2 = m2 + delta * (value - self.mean);
        self.sd = if self.samples > 1 {
            (m2 / n).max(0.0).sqrt()
        } else {
            0.0
        };
    }

    /// Moves the band towards `value` with `weight` (adaptive baselines; only values inside
    /// the band are given).
    pub fn adapt(&mut self, value: f64, weight: f64) {
        if self.samples == 0 {
            self.add(value);
            return;
        }
        let delta = value - self.mean;
        self.mean += weight * delta;
        let variance = (1.0 - weight) * (self.sd * self.sd + weight * delta * delta);
        self.sd = variance.max(0.0).sqrt();
        self.min = self.min.min(value);
        self.max = self.max.max(value);
        self.samples = self.samples.saturating_add(1);
    }

    /// The highest count per window that is still routine: twice the largest seen or six
    /// standard deviations above the mean, whichever is higher, plus `slack` for the noise
    /// of small counts. With fewer than three windows learned, three times the largest.
    pub fn upper(&self, slack: f64) -> f64 {
        if self.samples < 3 {
            return self.max * 3.0 + slack;
        }
        (self.max * 2.0).max(self.mean + 6.0 * self.sd) + slack
    }

    /// The lowest count per window that is still routine, for a steady source (six windows
    /// or more, at least ten per window on average): half the smallest seen, or six standard
    /// deviations below the mean, whichever is lower. `None` where no lower edge is known.
    pub fn lower(&self) -> Option<f64> {
        if self.samples < 6 || self.mean < 10.0 || self.min <= 0.0 {
            return None;
        }
        Some((self.min / 2.0).min(self.mean - 6.0 * self.sd)).filter(|lower| *lower > 0.0)
    }
}

/// A count or a duration as a float: exact below 2^53, far beyond any count or
/// microsecond duration kept here.
#[allow(clippy::cast_precision_loss)]
pub(crate) fn approx(value: u64) -> f64 {
    value as f64
}

/// The smallest count at or above `value`, saturating at the ends of `u32` (bands are
/// finite and not negative: [`Baseline::from_json`] checks it).
#[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
pub(crate) fn count_ceiling(value: f64) -> u32 {
    if value.is_nan() || value <= 0.0 {
        0
    } else if value >= f64::from(u32::MAX) {
        u32::MAX
    } else {
        value.ceil() as u32
    }
}

/// A data table, as written in a baseline file.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum TableName {
    /// Coils.
    Coils,
    /// Discrete inputs.
    DiscreteInputs,
    /// Input registers.
    InputRegisters,
    /// Holding registers.
    HoldingRegisters,
}

impl From<Table> for TableName {
    fn from(table: Table) -> TableName {
        match table {
            Table::Coils => TableName::Coils,
            Table::DiscreteInputs => TableName::DiscreteInputs,
            Table::InputRegisters => TableName::InputRegisters,
            Table::HoldingRegisters => TableName::HoldingRegisters,
        }
    }
}

/// The address ranges one client read and wrote in one table of one unit, inclusive
/// `[first, last]` pairs, sorted and disjoint.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TableRanges {
    /// The unit id.
    pub unit: u8,
    /// The table.
    pub table: TableName,
    /// Ranges read.
    pub read: Vec<[u16; 2]>,
    /// Ranges written.
    pub written: Vec<[u16; 2]>,
}

/// What one client did with one function code on one unit.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FunctionBaseline {
    /// The unit id.
    pub unit: u8,
    /// The function code.
    pub function: u8,
    /// Requests seen.
    pub requests: u64,
    /// The largest quantity of coils or registers one request read or wrote.
    pub max_quantity: u32,
    /// Requests per window, over the windows in which it was used.
    pub rate: Band,
    /// Response times in microseconds.
    pub latency_us: Band,
    /// Requests left unanswered per window, over the windows in which it was used.
    pub unanswered: Band,
}

/// Everything learned about one client.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClientBaseline {
    /// Requests seen.
    pub requests: u64,
    /// The servers it sent requests to (may be empty when the traffic came with no server
    /// named).
    pub servers: BTreeSet<String>,
    /// Requests per window, over its active windows.
    pub rate: Band,
    /// Exception responses per window, over its active windows.
    pub exceptions: Band,
    /// Per (unit, function), sorted.
    pub functions: Vec<FunctionBaseline>,
    /// Per (unit, table), sorted.
    pub ranges: Vec<TableRanges>,
}

impl ClientBaseline {
    /// What it did with `function` on `unit`.
    pub fn function(&self, unit: u8, function: u8) -> Option<&FunctionBaseline> {
        self.functions
            .binary_search_by_key(&(unit, function), |f| (f.unit, f.function))
            .ok()
            .and_then(|i| self.functions.get(i))
    }

    fn function_mut(&mut self, unit: u8, function: u8) -> Option<&mut FunctionBaseline> {
        match self
            .functions
            .binary_search_by_key(&(unit, function), |f| (f.unit, f.function))
        {
            Ok(i) => self.functions.get_mut(i),
            Err(i) if self.functions.len() < MAX_FUNCTIONS => {
                self.functions.insert(
                    i,
                    FunctionBaseline {
                        unit,
                        function,
                        requests: 0,
                        max_quantity: 0,
                        rate: Band::default(),
                        latency_us: Band::default(),
                        unanswered: Band::default(),
                    },
                );
                self.functions.get_mut(i)
            }
            Err(_) => None,
        }
    }

    /// Whether it used `unit` at all.
    pub fn uses_unit(&self, unit: u8) -> bool {
        self.functions.iter().any(|f| f.unit == unit)
    }

    /// Whether it used `function` on any unit.
    pub fn uses_function(&self, function: u8) -> bool {
        self.functions.iter().any(|f| f.function == function)
    }

    /// The ranges it read and wrote in `table` of `unit`.
    pub fn ranges(&self, unit: u8, table: Table) -> Option<&TableRanges> {
        let key = (unit, TableName::from(table));
        self.ranges
            .binary_search_by_key(&key, |r| (r.unit, r.table))
            .ok()
            .and_then(|i| self.ranges.get(i))
    }

    fn ranges_mut(&mut self, unit: u8, table: Table) -> &mut TableRanges {
        let key = (unit, TableName::from(table));
        let index = match self
            .ranges
            .binary_search_by_key(&key, |r| (r.unit, r.table))
        {
            Ok(i) => i,
            Err(i) => {
                self.ranges.insert(
                    i,
                    TableRanges {
                        unit,
                        table: key.1,
                        read: Vec::new(),
                        written: Vec::new(),
                    },
                );
                i
            }
        };
        &mut self.ranges[index]
    }
}

/// How a write compares with what its client did while the baseline was learned.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WriteTarget {
    /// Inside a range it wrote.
    Known,
    /// Outside the ranges it wrote, but inside (or next to) a range it routinely reads or
    /// writes in that table: an operator's rarer command looks like this.
    NearRoutine,
    /// Somewhere the client never read or wrote.
    Unknown,
}

/// Addresses within this distance of a range the client used count as next to it.
const NEAR: u32 = 16;

impl TableRanges {
    /// How the write of `span` compares with the ranges learned.
    pub fn classify_write(&self, span: Span) -> WriteTarget {
        let (first, last) = (span.range.start(), span.range.last());
        if self.written.iter().any(|[a, b]| *a <= first && last <= *b) {
            return WriteTarget::Known;
        }
        let near = |ranges: &[[u16; 2]]| {
            ranges.iter().any(|[a, b]| {
                u32::from(first) + NEAR >= u32::from(*a) && u32::from(last) <= u32::from(*b) + NEAR
            })
        };
        if near(&self.written) || near(&self.read) {
            WriteTarget::NearRoutine
        } else {
            WriteTarget::Unknown
        }
    }
}

/// Adds `[first, last]` to sorted, disjoint `ranges`, merging what touches it; beyond
/// [`MAX_RANGES`] the two ranges with the smallest gap are merged.
fn add_range(ranges: &mut Vec<[u16; 2]>, first: u16, last: u16) {
    // The common case, a range read or written before: nothing to do.
    if ranges.iter().any(|[a, b]| *a <= first && last <= *b) {
        return;
    }
    let (mut first, mut last) = (first, last);
    ranges.retain(|[a, b]| {
        let touches = u32::from(*a) <= u32::from(last) + 1 && u32::from(first) <= u32::from(*b) + 1;
        if touches {
            first = first.min(*a);
            last = last.max(*b);
        }
        !touches
    });
    let at = ranges.partition_point(|[a, _]| *a < first);
    ranges.insert(at, [first, last]);
    while ranges.len() > MAX_RANGES {
        let narrowest = ranges
            .windows(2)
            .enumerate()
            .min_by_key(|(_, pair)| u32::from(pair[1][0]) - u32::from(pair[0][1]))
            .map(|(i, _)| i);
        let Some(i) = narrowest else { break };
        let next = ranges.remove(i + 1);
        ranges[i][1] = next[1];
    }
}

/// What a baseline file says is wrong with it.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum BaselineError {
    /// Not JSON of the baseline format; the text names the line and column.
    Syntax(String),
    /// Another format or version.
    Format(String),
    /// A value out of its range or an ordering broken; the text names where.
    Invalid(String),
}

impl fmt::Display for BaselineError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BaselineError::Syntax(why) => write!(f, "not a baseline file: {why}"),
            BaselineError::Format(why) | BaselineError::Invalid(why) => f.write_str(why),
        }
    }
}

impl std::error::Error for BaselineError {}

/// What normal traffic looks like (see the module documentation).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Baseline {
    /// Always [`BASELINE_FORMAT`].
    pub format: String,
    /// Always [`BASELINE_VERSION`].
    pub version: u32,
    /// The counting window of the rates, in seconds.
    pub window_s: u64,
    /// Whether it keeps adapting.
    pub adaptation: Adaptation,
    /// The first observation learned, in the caller's microseconds.
    pub learned_from_us: u64,
    /// The end of the learning period.
    pub learned_until_us: u64,
    /// Requests learned.
    pub requests: u64,
    /// Every address seen on the server side.
    pub servers: BTreeSet<String>,
    /// Per client (as the IDS names it: an address, a certificate subject).
    pub clients: BTreeMap<String, ClientBaseline>,
}

impl Baseline {
    /// An empty baseline counting in windows of `window_s` seconds.
    pub fn new(window_s: u64, adaptation: Adaptation) -> Baseline {
        Baseline {
            format: BASELINE_FORMAT.to_owned(),
            version: BASELINE_VERSION,
            window_s: window_s.max(1),
            adaptation,
            learned_from_us: 0,
            learned_until_us: 0,
            requests: 0,
            servers: BTreeSet::new(),
            clients: BTreeMap::new(),
        }
    }

    /// Reads and checks a baseline file's text.
    ///
    /// # Errors
    /// [`BaselineError`] naming what is wrong and where.
    pub fn from_json(text: &str) -> Result<Baseline, BaselineError> {
        let baseline: Baseline =
            serde_json::from_str(text).map_err(|e| BaselineError::Syntax(format!("{e}")))?;
        baseline.check()?;
        Ok(baseline)
    }

    /// The baseline as pretty JSON, ending with a newline.
    pub fn to_json(&self) -> String {
        let mut text = serde_json::to_string_pretty(self).unwrap_or_default();
        text.push('\n');
        text
    }

    fn check(&self) -> Result<(), BaselineError> {
        if self.format != BASELINE_FORMAT {
            return Err(BaselineError::Format(format!(
                "format is \"{}\", expected \"{BASELINE_FORMAT}\"",
                self.format
            )));
        }
        if self.version != BASELINE_VERSION {
            return Err(BaselineError::Format(format!(
                "baseline version {} is not supported (this build reads version {BASELINE_VERSION})",
                self.version
            )));
        }
        if self.window_s == 0 || self.window_s > 86_400 {
            return Err(BaselineError::Invalid(format!(
                "window_s is {}, expected 1 to 86400",
                self.window_s
            )));
        }
        if self.clients.len() > MAX_BASELINE_CLIENTS {
            return Err(BaselineError::Invalid(format!(
                "{} clients, at most {MAX_BASELINE_CLIENTS} are kept",
                self.clients.len()
            )));
        }
        for (name, client) in &self.clients {
            let at = |what: String| BaselineError::Invalid(format!("clients.\"{name}\": {what}"));
            if client.functions.len() > MAX_FUNCTIONS {
                return Err(at(format!("more than {MAX_FUNCTIONS} functions")));
            }
            if !client
                .functions
                .windows(2)
                .all(|w| (w[0].unit, w[0].function) < (w[1].unit, w[1].function))
            {
                return Err(at(
                    "functions are not sorted by (unit, function) without repeats".into(),
                ));
            }
            if !client
                .ranges
                .windows(2)
                .all(|w| (w[0].unit, w[0].table) < (w[1].unit, w[1].table))
            {
                return Err(at(
                    "ranges are not sorted by (unit, table) without repeats".into()
                ));
            }
            for ranges in &client.ranges {
                for (direction, list) in [("read", &ranges.read), ("written", &ranges.written)] {
                    let sorted = list.iter().all(|[a, b]| a <= b)
                        && list
                            .windows(2)
                            .all(|w| u32::from(w[0][1]) + 1 < u32::from(w[1][0]));
                    if list.len() > MAX_RANGES || !sorted {
                        return Err(at(format!(
                            "unit {} {:?} {direction}: at most {MAX_RANGES} sorted, disjoint [first, last] ranges expected",
                            ranges.unit, ranges.table
                        )));
                    }
                }
            }
            let bands = std::iter::once(("rate", &client.rate))
                .chain(std::iter::once(("exceptions", &client.exceptions)))
                .chain(client.functions.iter().flat_map(|f| {
                    [
                        ("rate", &f.rate),
                        ("latency_us", &f.latency_us),
                        ("unanswered", &f.unanswered),
                    ]
                }));
            for (what, band) in bands {
                let finite = [band.mean, band.sd, band.min, band.max]
                    .iter()
                    .all(|v| v.is_finite() && *v >= 0.0);
                if !finite || band.min > band.max {
                    return Err(at(format!(
                        "{what}: mean, sd, min and max must be finite, not negative, min <= max"
                    )));
                }
            }
        }
        Ok(())
    }

    /// The client, if it was learned.
    pub fn client(&self, name: &str) -> Option<&ClientBaseline> {
        self.clients.get(name)
    }

    /// Learns one request of `client` to `server`.
    pub fn learn_request(
        &mut self,
        time_us: u64,
        client: &str,
        server: Option<&str>,
        request: &Request<'_>,
    ) {
        if self.requests == 0 {
            self.learned_from_us = time_us;
        }
        self.requests += 1;
        if let Some(server) = server
            && self.servers.len() < MAX_BASELINE_CLIENTS
            && !self.servers.contains(server)
        {
            self.servers.insert(server.to_owned());
        }
        // Looked up by `&str` first: the key is allocated only for a new client.
        if !self.clients.contains_key(client) {
            if self.clients.len() >= MAX_BASELINE_CLIENTS {
                return;
            }
            self.clients
                .insert(client.to_owned(), ClientBaseline::default());
        }
        let Some(learned) = self.clients.get_mut(client) else {
            return;
        };
        learned.requests += 1;
        if let Some(server) = server
            && learned.servers.len() < 64
            && !learned.servers.contains(server)
        {
            learned.servers.insert(server.to_owned());
        }
        let unit = request.unit_id();
        let access = request.access();
        if let Some(function) = learned.function_mut(unit, request.function_code().value()) {
            function.requests += 1;
            let quantity = [access.read(), access.write()]
                .into_iter()
                .flatten()
                .map(|span| span.range.count())
                .max()
                .unwrap_or(0);
            function.max_quantity = function.max_quantity.max(quantity);
        }
        if let Some(span) = access.read() {
            add_range(
                &mut learned.ranges_mut(unit, span.table).read,
                span.range.start(),
                span.range.last(),
            );
        }
        if let Some(span) = access.write() {
            add_range(
                &mut learned.ranges_mut(unit, span.table).written,
                span.range.start(),
                span.range.last(),
            );
        }
    }

    /// Learns the counts of one closed window of `client`.
    pub(crate) fn learn_window(&mut self, client: &str, window: &WindowCounts) {
        self.learn_scaled_window(client, window, 1.0);
    }

    /// Learns the counts of a part of a window, multiplied by `scale` to a whole one.
    pub(crate) fn learn_scaled_window(&mut self, client: &str, window: &WindowCounts, scale: f64) {
        self.update_bands(client, window, true, |band, value| band.add(value * scale));
    }

    /// Moves the bands of `client` towards a window that raised nothing (adaptive only).
    pub(crate) fn adapt_window(&mut self, client: &str, window: &WindowCounts) {
        self.update_bands(client, window, false, |band, value| {
            band.adapt(value, ADAPTIVE_WEIGHT);
        });
    }

    /// Applies `update` to every band of `client` a window counts; `add_functions`: a
    /// function new to the baseline gets its bands (learning), or is left out (adapting).
    fn update_bands(
        &mut self,
        client: &str,
        window: &WindowCounts,
        add_functions: bool,
        mut update: impl FnMut(&mut Band, f64),
    ) {
        let Some(learned) = self.clients.get_mut(client) else {
            return;
        };
        update(&mut learned.rate, f64::from(window.requests));
        update(&mut learned.exceptions, f64::from(window.exceptions));
        for count in &window.functions {
            let key = (count.unit, count.function);
            let function = if add_functions {
                learned.function_mut(count.unit, count.function)
            } else {
                learned
                    .functions
                    .binary_search_by_key(&key, |f| (f.unit, f.function))
                    .ok()
                    .and_then(|i| learned.functions.get_mut(i))
            };
            if let Some(function) = function {
                update(&mut function.rate, f64::from(count.requests));
                update(&mut function.unanswered, f64::from(count.unanswered));
            }
        }
    }

    /// Learns one response time.
    pub(crate) fn learn_latency(&mut self, client: &str, unit: u8, function: u8, latency_us: u64) {
        if let Some(learned) = self.clients.get_mut(client)
            && let Some(function) = learned.function_mut(unit, function)
        {
            function.latency_us.add(approx(latency_us));
        }
    }
}

/// One (unit, function)'s counts in the current window.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct FunctionCount {
    pub(crate) unit: u8,
    pub(crate) function: u8,
    pub(crate) requests: u32,
    pub(crate) unanswered: u32,
    pub(crate) latency_sum_us: u64,
    pub(crate) latency_samples: u32,
    /// The highest rate alert raised for it in this window (0 none, 1 medium, 2 high).
    pub(crate) rate_level: u8,
}

/// A client's counts in the current window, for the rate, exception, unanswered and
/// response-time bands.
#[derive(Clone, Debug, Default)]
pub(crate) struct WindowCounts {
    pub(crate) requests: u32,
    pub(crate) exceptions: u32,
    pub(crate) functions: Vec<FunctionCount>,
    /// Whether an alert was raised for the client in this window (an adaptive baseline
    /// learns only from windows that raised nothing).
    pub(crate) alerted: bool,
    /// The highest rate alert raised for all its requests in this window.
    pub(crate) rate_level: u8,
}

/// (unit, function) pairs counted per window; more are not counted (the unit-scan and
/// address-scan detectors see a client that sweeps).
const MAX_WINDOW_FUNCTIONS: usize = 64;

impl WindowCounts {
    pub(crate) fn function(&mut self, unit: u8, function: u8) -> Option<&mut FunctionCount> {
        let index = match self
            .functions
            .iter()
            .position(|f| f.unit == unit && f.function == function)
        {
            Some(i) => i,
            None if self.functions.len() < MAX_WINDOW_FUNCTIONS => {
                self.functions.push(FunctionCount {
                    unit,
                    function,
                    ..FunctionCount::default()
                });
                self.functions.len() - 1
            }
            None => return None,
        };
        self.functions.get_mut(index)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn band_matches_the_textbook_mean_and_deviation() {
        let mut band = Band::default();
        for v in [2.0, 4.0, 4.0, 4.0, 5.0, 5.0, 7.0, 9.0] {
            band.add(v);
        }
        assert_eq!(band.samples, 8);
        assert!((band.mean - 5.0).abs() < 1e-9);
        // Sample standard deviation of the classic example: sqrt(32 / 7).
        assert!((band.sd - (32.0f64 / 7.0).sqrt()).abs() < 1e-9);
        assert_eq!((band.min, band.max), (2.0, 9.0));
        assert!(band.upper(5.0) >= 18.0);
        assert_eq!(band.lower(), None, "a mean under 10 has no lower edge");
    }

    #[test]
    fn a_steady_band_has_a_lower_edge() {
        let mut band = Band::default();
        for v in [240.0, 250.0, 245.0, 238.0, 252.0, 247.0] {
            band.add(v);
        }
        let lower = band.lower().unwrap_or_default();
        assert!(lower > 0.0 && lower <= 119.0, "{lower}");
    }

    #[test]
    fn ranges_merge_and_stay_bounded() {
        let mut ranges = Vec::new();
        add_range(&mut ranges, 10, 19);
        add_range(&mut ranges, 20, 29);
        add_range(&mut ranges, 0, 4);
        assert_eq!(ranges, vec![[0, 4], [10, 29]]);
        for i in 0..200u16 {
            add_range(&mut ranges, 1000 + i * 10, 1000 + i * 10);
        }
        assert_eq!(ranges.len(), MAX_RANGES);
        assert!(ranges.windows(2).all(|w| w[0][1] < w[1][0]));
        // Merging only widens: every address added is still covered.
        assert!(ranges.iter().any(|[a, b]| *a <= 2990 && 2990 <= *b));
    }

    #[test]
    fn the_fuzzing_oracle_runs_on_a_real_baseline() {
        let mut baseline = Baseline::new(10, Adaptation::Frozen);
        let request = [0u8, 1, 0, 0, 0, 6, 1, 3, 0, 0, 0, 4];
        let decoded = rampart_modbus::decode_request(&request).unwrap_or_else(|e| panic!("{e}"));
        baseline.learn_request(1, "10.0.0.5", Some("10.0.0.20"), &decoded);
        let text = baseline.to_json();
        let mut input = u16::try_from(text.len())
            .unwrap_or(0)
            .to_be_bytes()
            .to_vec();
        input.extend_from_slice(text.as_bytes());
        for _ in 0..30 {
            input.push(12);
            input.extend_from_slice(&request);
        }
        input.push(12);
        input.extend_from_slice(&[0, 2, 0, 0, 0, 6, 1, 6, 0, 9, 0, 1]);
        crate::fuzzing::baseline(&input);
    }

    #[test]
    fn a_file_that_lies_is_refused_with_the_place() {
        let mut baseline = Baseline::new(10, Adaptation::Frozen);
        baseline.clients.insert(
            "10.0.0.5".into(),
            ClientBaseline {
                ranges: vec![TableRanges {
                    unit: 1,
                    table: TableName::Coils,
                    read: vec![[5, 1]],
                    written: vec![],
                }],
                ..ClientBaseline::default()
            },
        );
        let error = Baseline::from_json(&baseline.to_json())
            .err()
            .map(|e| e.to_string());
        assert!(
            error
                .as_deref()
                .is_some_and(|e| e.contains("clients.\"10.0.0.5\"") && e.contains("read")),
            "{error:?}"
        );
        let wrong = baseline
            .to_json()
            .replace("\"version\": 1", "\"version\": 7");
        assert!(Baseline::from_json(&wrong).is_err());
        assert!(matches!(
            Baseline::from_json("{"),
            Err(BaselineError::Syntax(_))
        ));
    }
}
