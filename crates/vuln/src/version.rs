//! Vendor version schemes and version ranges.
//!
//! A [`Version`] is read from the strings vendors print: `V2.50`, `R3.10.00`, `FW11`,
//! `4.8.488.0`, `1.9-40`, `V1.5 SP3 Update 2`, `1.0.0-rc.1`, `B.06.18`. A [`Range`] is read
//! from `vers:` URIs, comparison operators joined by `|` and the free text of CISA's
//! advisories ("All versions < V1.5 SP3 Update 2", "prior to 4.1", "all versions").
//!
//! Comparison is partial: two versions of different schemes (`B.06.18` against `A.01`,
//! `SR540` against `6.9`) are not ordered, and [`Range::contains`] then answers
//! [`Containment::Unknown`] — the matcher turns that into `under_investigation`, never into
//! "not affected".

use std::cmp::Ordering;
use std::fmt;

/// The longest version or range text accepted; longer text is [`Range::Unparsed`].
const MAX_TEXT: usize = 256;
/// The most range bounds (`<`, `<=`, `>=`, `>`) compared for one containment; more (only an
/// OSV record could have them) make it [`Containment::Unknown`].
const MAX_BOUNDS: usize = 512;

/// Qualifier slots after the numeric release, in comparison order.
const SLOT_SP: usize = 0;
const SLOT_UPDATE: usize = 1;
const SLOT_PATCH: usize = 2;
const SLOT_BUILD: usize = 3;
const SLOTS: usize = 4;

/// A version in one of the vendor schemes above, parsed so that versions of one scheme compare.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Version {
    text: String,
    /// A leading letter tag that is part of the scheme (`B` in `B.06.18`), upper-cased;
    /// versions compare only when their tags are equal.
    tag: String,
    /// The numeric release: `[2, 50]` for `V2.50`.
    release: Vec<u64>,
    /// Service pack, update, patch/hotfix and build numbers; 0 when absent.
    slots: [u64; SLOTS],
    /// A pre-release (`-rc.1`, `beta 2`): rank of the label and its number; sorts before the
    /// release itself.
    pre: Option<(u8, u64)>,
    /// `2.x`: any version whose release starts with `release`.
    wildcard: bool,
}

impl Version {
    /// Parses a version string; `None` when it is not a version of a known scheme
    /// (`January 2019`, `MCE_3.x`, `NE843_S comcode 150042936`).
    pub fn parse(text: &str) -> Option<Version> {
        let trimmed = text.trim();
        if trimmed.is_empty() || trimmed.len() > MAX_TEXT {
            return None;
        }
        let tokens = tokenize(trimmed);
        let mut tokens = tokens.iter().peekable();
        let mut tag = String::new();
        // A leading word: a known prefix (V, R, FW, version, …) is dropped; a single other
        // letter directly followed by the number is the scheme's tag (B.06.18, H5692448).
        if let Some(Token::Word(word)) = tokens.peek() {
            let lower = word.to_ascii_lowercase();
            if matches!(
                lower.as_str(),
                "v" | "ver"
                    | "version"
                    | "r"
                    | "rel"
                    | "release"
                    | "rev"
                    | "fw"
                    | "firmware"
                    | "sv"
            ) {
                tokens.next();
            } else if word.len() == 1 {
                tag = word.to_ascii_uppercase();
                tokens.next();
            } else {
                return None;
            }
        }
        let mut release = Vec::new();
        let mut wildcard = false;
        while let Some(Token::Number(n)) = tokens.peek() {
            release.push(*n);
            tokens.next();
            if matches!(tokens.peek(), Some(Token::Word(w)) if w == "x" || w == "X" || w == "*") {
                wildcard = true;
                tokens.next();
                break;
            }
        }
        if release.is_empty() {
            return None;
        }
        let mut slots = [0; SLOTS];
        let mut pre = None;
        while let Some(token) = tokens.next() {
            let Token::Word(word) = token else {
                // A number after a qualifier was consumed with it; a bare one is not a scheme.
                return None;
            };
            let lower = word.to_ascii_lowercase();
            let (slot, inline) = qualifier(&lower)?;
            let number = match inline {
                Some(n) => n,
                None => match tokens.peek() {
                    Some(Token::Number(n)) => {
                        let n = *n;
                        tokens.next();
                        n
                    }
                    _ => 0,
                },
            };
            match slot {
                Qualifier::Slot(slot) => slots[slot] = number,
                Qualifier::Pre(rank) => {
                    if pre.is_some() {
                        return None;
                    }
                    pre = Some((rank, number));
                }
            }
        }
        Some(Version {
            text: trimmed.to_owned(),
            tag,
            release,
            slots,
            pre,
            wildcard,
        })
    }

    /// The text the version was read from.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// Compares two versions; `None` when they are of different schemes (other tags) or one
    /// is a wildcard that the other neither lies within nor outside of (`2.x` against `2`).
    pub fn compare(&self, other: &Version) -> Option<Ordering> {
        if self.tag != other.tag {
            return None;
        }
        if self.wildcard || other.wildcard {
            let prefix = if self.wildcard {
                self.release.len()
            } else {
                other.release.len()
            };
            let a = padded(&self.release, prefix);
            let b = padded(&other.release, prefix);
            return Some(cmp_release(&a, &b));
        }
        let width = self.release.len().max(other.release.len());
        let ordering = cmp_release(
            &padded(&self.release, width),
            &padded(&other.release, width),
        )
        .then_with(|| self.slots.cmp(&other.slots))
        .then_with(|| match (self.pre, other.pre) {
            (None, None) => Ordering::Equal,
            (Some(_), None) => Ordering::Less,
            (None, Some(_)) => Ordering::Greater,
            (Some(a), Some(b)) => a.cmp(&b),
        });
        Some(ordering)
    }
}

impl fmt::Display for Version {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

fn padded(release: &[u64], width: usize) -> Vec<u64> {
    let mut out: Vec<u64> = release.iter().copied().take(width).collect();
    out.resize(width, 0);
    out
}

fn cmp_release(a: &[u64], b: &[u64]) -> Ordering {
    a.cmp(b)
}

enum Qualifier {
    Slot(usize),
    Pre(u8),
}

/// A qualifier word and, when the number is part of the word (`SP3`, `HF1`), that number.
fn qualifier(lower: &str) -> Option<(Qualifier, Option<u64>)> {
    const WORDS: &[(&str, Qualifier)] = &[
        ("servicepack", Qualifier::Slot(SLOT_SP)),
        ("sp", Qualifier::Slot(SLOT_SP)),
        ("update", Qualifier::Slot(SLOT_UPDATE)),
        ("upd", Qualifier::Slot(SLOT_UPDATE)),
        ("u", Qualifier::Slot(SLOT_UPDATE)),
        ("hotfix", Qualifier::Slot(SLOT_PATCH)),
        ("hf", Qualifier::Slot(SLOT_PATCH)),
        ("patch", Qualifier::Slot(SLOT_PATCH)),
        ("p", Qualifier::Slot(SLOT_PATCH)),
        ("build", Qualifier::Slot(SLOT_BUILD)),
        ("b", Qualifier::Slot(SLOT_BUILD)),
        ("alpha", Qualifier::Pre(0)),
        ("a", Qualifier::Pre(0)),
        ("beta", Qualifier::Pre(1)),
        ("pre", Qualifier::Pre(2)),
        ("preview", Qualifier::Pre(2)),
        ("rc", Qualifier::Pre(3)),
    ];
    let letters: String = lower
        .chars()
        .take_while(char::is_ascii_alphabetic)
        .collect();
    let digits = &lower[letters.len()..];
    let inline = if digits.is_empty() {
        None
    } else {
        Some(digits.parse().ok()?)
    };
    WORDS
        .iter()
        .find(|(word, _)| *word == letters)
        .map(|(_, q)| {
            let q = match q {
                Qualifier::Slot(s) => Qualifier::Slot(*s),
                Qualifier::Pre(r) => Qualifier::Pre(*r),
            };
            (q, inline)
        })
}

#[derive(Debug, PartialEq, Eq)]
enum Token {
    Number(u64),
    Word(String),
}

/// Splits version text into numbers and words; separators are `.`, `-`, `_`, `+`, spaces
/// and the boundary between a letter run and a digit run that starts a word (`V2` → `V`,
/// `2`), while a letter run followed by digits stays one word when the word is a qualifier
/// (`SP3`). Numbers too large for `u64` make the text a word, so it does not parse.
fn tokenize(text: &str) -> Vec<Token> {
    let mut tokens = Vec::new();
    let chars: Vec<char> = text.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c.is_ascii_digit() {
            let start = i;
            while i < chars.len() && chars[i].is_ascii_digit() {
                i += 1;
            }
            let digits: String = chars[start..i].iter().collect();
            match digits.parse() {
                Ok(n) => tokens.push(Token::Number(n)),
                Err(_) => tokens.push(Token::Word(digits)),
            }
        } else if c.is_alphabetic() || c == '*' {
            let start = i;
            while i < chars.len() && (chars[i].is_alphabetic()) {
                i += 1;
            }
            if c == '*' {
                i += 1;
            }
            let mut word: String = chars[start..i].iter().collect();
            // `SP3`, `HF1`, `U2`: a qualifier keeps its number; `V2`, `R3`, `FW11`, `B` do not.
            let lower = word.to_ascii_lowercase();
            let joins_number = i < chars.len()
                && chars[i].is_ascii_digit()
                && matches!(lower.as_str(), "sp" | "hf" | "u" | "upd" | "rc" | "p");
            if joins_number && !tokens.is_empty() {
                while i < chars.len() && chars[i].is_ascii_digit() {
                    word.push(chars[i]);
                    i += 1;
                }
            }
            tokens.push(Token::Word(word));
        } else {
            i += 1;
        }
    }
    tokens
}

/// A comparison operator of a range constraint.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    /// `<`
    Lt,
    /// `<=`
    Le,
    /// `=`
    Eq,
    /// `!=`
    Ne,
    /// `>=`
    Ge,
    /// `>`
    Gt,
}

impl Op {
    fn symbol(self) -> &'static str {
        match self {
            Op::Lt => "<",
            Op::Le => "<=",
            Op::Eq => "=",
            Op::Ne => "!=",
            Op::Ge => ">=",
            Op::Gt => ">",
        }
    }
}

/// One constraint of a range: an operator and a version (or text that is not one).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Constraint {
    /// The operator.
    pub op: Op,
    /// The version text as written.
    pub text: String,
    /// The parsed version; `None` when the text is not a version of a known scheme.
    pub version: Option<Version>,
}

/// A set of versions, as an advisory states it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Range {
    /// Every version (`vers:all/*`, "all versions", a product without a version).
    All,
    /// Constraints joined by `|`, evaluated as `vers:` does: `=` and `!=` first, then the
    /// others sorted into intervals (`>= a | <= b` is the interval from a to b).
    Constraints(Vec<Constraint>),
    /// Every version outside these semver requirements (RustSec: a version is affected when
    /// it matches no `patched` and no `unaffected` requirement).
    SemverOutside(Vec<semver::VersionReq>),
    /// Text that is not a range of a known form (`<= January 2019`).
    Unparsed(String),
}

/// Whether a version lies in a [`Range`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Containment {
    /// It does.
    Yes,
    /// It does not.
    No,
    /// It cannot be decided (a scheme or text Rampart cannot compare).
    Unknown,
}

impl Range {
    /// An exact version, as a CSAF `product_version` states it.
    pub fn exact(text: &str) -> Range {
        let text = text.trim();
        if is_all(&text.to_ascii_lowercase()) {
            return Range::All;
        }
        if text
            .get(..5)
            .is_some_and(|h| h.eq_ignore_ascii_case("vers:"))
        {
            return Range::parse(text);
        }
        Range::Constraints(vec![Constraint {
            op: Op::Eq,
            text: text.to_owned(),
            version: Version::parse(text),
        }])
    }

    /// Reads a range: `vers:` URIs, operator constraints joined by `|`, and free-text forms
    /// ("All versions < V1.5 SP3 Update 2", "prior to 4.1", "4.0 and earlier", "all
    /// versions"). Text of no known form is [`Range::Unparsed`], never an error: the matcher
    /// reports it as `under_investigation`.
    pub fn parse(text: &str) -> Range {
        let original = text.trim();
        if original.len() > MAX_TEXT {
            return Range::Unparsed(original.chars().take(MAX_TEXT).collect());
        }
        let mut body = original.to_owned();
        // `vers:<scheme>/<constraints>`.
        if body
            .get(..5)
            .is_some_and(|head| head.eq_ignore_ascii_case("vers:"))
        {
            match body[5..].split_once('/') {
                Some((_, rest)) => body = rest.to_owned(),
                None => return Range::Unparsed(original.to_owned()),
            }
        }
        let lower = body.to_ascii_lowercase();
        if is_all(&lower) {
            return Range::All;
        }
        let mut constraints = Vec::new();
        for part in body.split(['|', ';']) {
            let part = part.trim();
            if part.is_empty() {
                continue;
            }
            match constraints_of(part) {
                Some(mut c) => constraints.append(&mut c),
                None => return Range::Unparsed(original.to_owned()),
            }
        }
        if constraints.is_empty() {
            return Range::Unparsed(original.to_owned());
        }
        Range::Constraints(constraints)
    }

    /// Whether `version` (the text of a component's version) lies in the range.
    pub fn contains(&self, version: &str) -> Containment {
        match self {
            Range::All => Containment::Yes,
            Range::Unparsed(_) => Containment::Unknown,
            Range::SemverOutside(reqs) => match semver::Version::parse(version.trim()) {
                Ok(v) => {
                    if reqs.iter().any(|r| r.matches(&v)) {
                        Containment::No
                    } else {
                        Containment::Yes
                    }
                }
                Err(_) => Containment::Unknown,
            },
            Range::Constraints(constraints) => contains(constraints, version),
        }
    }

    /// Whether every version the range names is one Rampart can compare (else some
    /// versions will be [`Containment::Unknown`]).
    pub fn is_comparable(&self) -> bool {
        match self {
            Range::All | Range::SemverOutside(_) => true,
            Range::Unparsed(_) => false,
            Range::Constraints(constraints) => constraints.iter().all(|c| c.version.is_some()),
        }
    }

    /// The version of a range that is one upper bound (`< V34.014`, `<= 2.3`) and nothing
    /// else: the form in which advisories give one range per release line.
    pub fn upper_bound(&self) -> Option<&Version> {
        match self {
            Range::Constraints(constraints) => match constraints.as_slice() {
                [
                    Constraint {
                        op: Op::Lt | Op::Le,
                        version: Some(version),
                        ..
                    },
                ] if !version.wildcard => Some(version),
                _ => None,
            },
            _ => None,
        }
    }

    /// Whether the range is the set of all versions.
    pub fn is_all(&self) -> bool {
        matches!(self, Range::All)
    }
}

impl fmt::Display for Range {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Range::All => f.write_str("all versions"),
            Range::Unparsed(text) => f.write_str(text),
            Range::SemverOutside(reqs) => {
                let parts: Vec<String> = reqs.iter().map(ToString::to_string).collect();
                write!(f, "not ({})", parts.join(" | "))
            }
            Range::Constraints(constraints) => {
                let parts: Vec<String> = constraints
                    .iter()
                    .map(|c| format!("{}{}", c.op.symbol(), c.text))
                    .collect();
                f.write_str(&parts.join(" | "))
            }
        }
    }
}

fn is_all(lower: &str) -> bool {
    let words: Vec<&str> = lower
        .split(|c: char| !c.is_alphanumeric() && c != '*')
        .filter(|w| !w.is_empty())
        .collect();
    matches!(
        words.as_slice(),
        ["*" | "all" | "any"] | ["all", "versions" | "version" | "firmware" | "releases"]
    ) || lower.trim() == "*"
}

// Leading phrases that mean an operator.
const LEADING: &[(&str, Op)] = &[
    ("prior to and including", Op::Le),
    ("up to and including", Op::Le),
    ("up to but not including", Op::Lt),
    ("prior to", Op::Lt),
    ("before", Op::Lt),
    ("earlier than", Op::Lt),
    ("older than", Op::Lt),
    ("lower than", Op::Lt),
    ("below", Op::Lt),
    ("up to", Op::Le),
    ("through", Op::Le),
    ("later than", Op::Gt),
    ("newer than", Op::Gt),
    ("after", Op::Gt),
    ("since", Op::Ge),
    ("from", Op::Ge),
];

// Trailing phrases: "4.0 and earlier", "4.1 or later", "4.1+".
const TRAILING: &[(&str, Op)] = &[
    ("and earlier", Op::Le),
    ("or earlier", Op::Le),
    ("and prior", Op::Le),
    ("and older", Op::Le),
    ("and below", Op::Le),
    ("and lower", Op::Le),
    ("and later", Op::Ge),
    ("or later", Op::Ge),
    ("and newer", Op::Ge),
    ("or newer", Op::Ge),
    ("and above", Op::Ge),
    ("or higher", Op::Ge),
    ("and higher", Op::Ge),
];

/// The constraints of one `|`-separated part.
fn constraints_of(part: &str) -> Option<Vec<Constraint>> {
    let mut text = part.trim().to_owned();
    // Words that say nothing about the range.
    for prefix in [
        "all versions",
        "all version",
        "versions",
        "version",
        "firmware versions",
        "firmware version",
        "firmware",
        "all",
    ] {
        let head = text.get(..prefix.len()).unwrap_or_default();
        let next = text[head.len()..].chars().next();
        if head.eq_ignore_ascii_case(prefix) && !next.is_some_and(char::is_alphanumeric) {
            text = text[head.len()..].trim_start().to_owned();
            break;
        }
    }
    let lower = text.to_ascii_lowercase();
    for (phrase, op) in LEADING {
        if lower.starts_with(phrase) && lower[phrase.len()..].starts_with([' ', 'v', 'V']) {
            return Some(vec![constraint(*op, &text[phrase.len()..])]);
        }
    }
    for (phrase, op) in TRAILING {
        if lower.ends_with(phrase) {
            return Some(vec![constraint(*op, &text[..text.len() - phrase.len()])]);
        }
    }
    if let Some(stripped) = text.strip_suffix('+') {
        return Some(vec![constraint(Op::Ge, stripped)]);
    }
    // An operator first: `< V1.5 SP3`, `<=05`, `≤ 2.0`.
    if let Some((op, rest)) = leading_op(&text) {
        return Some(vec![constraint(op, rest)]);
    }
    // `A < B` / `A <= B` / `A - B` / `A to B`: an interval from A.
    for (sep, op) in [
        (" <= ", Op::Le),
        (" < ", Op::Lt),
        (" to ", Op::Le),
        (" through ", Op::Le),
        (" - ", Op::Le),
    ] {
        if let Some(at) = lower.find(sep) {
            let (low, high) = (&text[..at], &text[at + sep.len()..]);
            let low = constraint(Op::Ge, low);
            let high = constraint(op, high);
            if low.version.is_some() && high.version.is_some() {
                return Some(vec![low, high]);
            }
            return None;
        }
    }
    // A bare version is an exact one.
    let exact = constraint(Op::Eq, &text);
    if exact.text.is_empty() {
        return None;
    }
    Some(vec![exact])
}

fn leading_op(text: &str) -> Option<(Op, &str)> {
    const OPS: &[(&str, Op)] = &[
        ("<=", Op::Le),
        (">=", Op::Ge),
        ("!=", Op::Ne),
        ("==", Op::Eq),
        ("=<", Op::Le),
        ("=>", Op::Ge),
        ("≤", Op::Le),
        ("≥", Op::Ge),
        ("<", Op::Lt),
        (">", Op::Gt),
        ("=", Op::Eq),
    ];
    OPS.iter()
        .find_map(|(symbol, op)| text.strip_prefix(symbol).map(|rest| (*op, rest)))
}

fn constraint(op: Op, text: &str) -> Constraint {
    let text = text.trim();
    Constraint {
        op,
        text: text.to_owned(),
        version: Version::parse(text),
    }
}

/// The `vers` containment algorithm over possibly non-normalised constraints: an exact
/// match or exclusion decides first; the remaining constraints, sorted, form intervals (a
/// lower bound opens one, an upper bound closes it; an upper bound with none open starts at
/// the lowest version, a lower bound left open reaches the highest). Constraints in an order
/// `vers` would refuse are read as the wider set (fail-closed).
fn contains(constraints: &[Constraint], version_text: &str) -> Containment {
    let trimmed = version_text.trim();
    let version = Version::parse(trimmed);
    let mut unknown = false;
    let mut ranged = Vec::new();
    for c in constraints {
        let ordering = match (&version, &c.version) {
            (Some(v), Some(cv)) => v.compare(cv),
            _ => None,
        };
        let textually_equal = c.text.eq_ignore_ascii_case(trimmed);
        match c.op {
            Op::Eq => {
                if textually_equal || ordering == Some(Ordering::Equal) {
                    return Containment::Yes;
                }
                if ordering.is_none() {
                    unknown = true;
                }
            }
            Op::Ne => {
                if textually_equal || ordering == Some(Ordering::Equal) {
                    return Containment::No;
                }
                if ordering.is_none() {
                    unknown = true;
                }
            }
            _ => match (&version, &c.version) {
                (Some(_), Some(cv)) if ordering.is_some() => ranged.push((c.op, cv, ordering)),
                _ => unknown = true,
            },
        }
    }
    if ranged.is_empty() {
        // Only `=`/`!=`: outside the listed versions unless something could not be compared;
        // a `!=`-only set holds everything else.
        let only_ne = constraints.iter().all(|c| c.op == Op::Ne);
        return if unknown {
            Containment::Unknown
        } else if only_ne {
            Containment::Yes
        } else {
            Containment::No
        };
    }
    // Sort the bounds by version; bounds that do not compare with each other make the set
    // undecidable. `Version::compare` is partial and, with wildcards (`2.x`), not
    // transitive, so the standard sort (which may panic on a comparison that is not a total
    // order) is not used: an insertion sort that gives up on any incomparable pair, over a
    // bounded number of bounds.
    if ranged.len() > MAX_BOUNDS {
        return Containment::Unknown;
    }
    for i in 1..ranged.len() {
        let mut j = i;
        while j > 0 {
            match ranged[j - 1].1.compare(ranged[j].1) {
                Some(Ordering::Greater) => ranged.swap(j - 1, j),
                Some(_) => break,
                None => return Containment::Unknown,
            }
            j -= 1;
        }
    }
    let mut inside = false;
    let mut open: Option<(Op, Option<Ordering>)> = None;
    for (op, _, ordering) in &ranged {
        // `ordering` is the tested version against this bound.
        let ordering = ordering.unwrap_or(Ordering::Equal);
        match op {
            Op::Ge | Op::Gt => {
                if open.is_none() {
                    open = Some((*op, Some(ordering)));
                }
            }
            Op::Le | Op::Lt => {
                let below_upper = match op {
                    Op::Le => ordering != Ordering::Greater,
                    _ => ordering == Ordering::Less,
                };
                let above_lower = match open {
                    None => true,
                    Some((Op::Ge, Some(o))) => o != Ordering::Less,
                    Some((_, Some(o))) => o == Ordering::Greater,
                    Some((_, None)) => false,
                };
                if below_upper && above_lower {
                    inside = true;
                }
                open = None;
            }
            Op::Eq | Op::Ne => {}
        }
    }
    if let Some((op, Some(o))) = open {
        let above = match op {
            Op::Ge => o != Ordering::Less,
            _ => o == Ordering::Greater,
        };
        if above {
            inside = true;
        }
    }
    if inside {
        Containment::Yes
    } else if unknown {
        Containment::Unknown
    } else {
        Containment::No
    }
}

/// The release lines of sibling products that an advisory bounds one line at a time.
///
/// ICSA-25-035-02 lists the `GuardLogix 5580` controller four times, affected `<V33.017`, `<V34.014`,
/// `<V35.013` and `<V36.011`: each bound is the fix of its own release line (33.x, 34.x, …),
/// and 34.015, fixed in its line, is still below V36.011. Read on their own the ranges call
/// it affected. Here the bounds are split into lines: the shortest prefix of their release
/// numbers that tells them apart (one number here), provided each bound has more numbers
/// than that (a line has versions below its fix). A version of one of those lines is decided
/// by its own line's bound only; a version of no listed line (older than all of them, or
/// between two) keeps every bound, so nothing is read as outside that the ranges alone would
/// read as inside, except by its own line's fix.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReleaseLines {
    tag: String,
    depth: usize,
    prefixes: Vec<Vec<u64>>,
}

impl ReleaseLines {
    /// The lines of `bounds` (the upper bounds of sibling products, in their order); `None`
    /// unless there are at least two, of one scheme, that split into distinct lines.
    pub fn of(bounds: &[&Version]) -> Option<ReleaseLines> {
        let [first, ..] = bounds else {
            return None;
        };
        if bounds.len() < 2
            || bounds.len() > MAX_BOUNDS
            || bounds
                .iter()
                .any(|b| b.tag != first.tag || b.release.is_empty())
        {
            return None;
        }
        let shortest = bounds.iter().map(|b| b.release.len()).min()?;
        (1..shortest).find_map(|depth| {
            let prefixes: Vec<Vec<u64>> =
                bounds.iter().map(|b| b.release[..depth].to_vec()).collect();
            let distinct = prefixes
                .iter()
                .enumerate()
                .all(|(i, p)| !prefixes[..i].contains(p));
            distinct.then(|| ReleaseLines {
                tag: first.tag.clone(),
                depth,
                prefixes,
            })
        })
    }

    /// The index (into the bounds given to [`ReleaseLines::of`]) of the line `version`
    /// belongs to, if it belongs to one of them.
    pub fn line_of(&self, version: &Version) -> Option<usize> {
        if version.wildcard || version.tag != self.tag || version.release.len() < self.depth {
            return None;
        }
        let prefix = &version.release[..self.depth];
        self.prefixes.iter().position(|p| p == prefix)
    }

    /// The line `index` as text (`33.x`).
    pub fn describe(&self, index: usize) -> String {
        let numbers: Vec<String> = self
            .prefixes
            .get(index)
            .map(|p| p.iter().map(u64::to_string).collect())
            .unwrap_or_default();
        format!("{}.x", numbers.join("."))
    }
}

#[cfg(test)]
mod tests;
