//! Normalisation of vendor and product names, and the vendor aliases kept as data
//! (`data/vendor-aliases.toml`).

use std::collections::BTreeMap;
use std::sync::OnceLock;

/// Legal-form words dropped from the end of a vendor name (after punctuation became spaces):
/// `Siemens AG`, `Digi International, Inc.`, `Phoenix Contact GmbH & Co. KG`.
const LEGAL_SUFFIXES: &[&str] = &[
    "inc",
    "incorporated",
    "corp",
    "corporation",
    "co",
    "company",
    "ltd",
    "limited",
    "llc",
    "lp",
    "llp",
    "gmbh",
    "mbh",
    "ag",
    "kg",
    "kgaa",
    "se",
    "sa",
    "sas",
    "sarl",
    "spa",
    "srl",
    "bv",
    "nv",
    "plc",
    "oy",
    "ab",
    "as",
    "asa",
    "pty",
    "kk",
    "gk",
    "sl",
    "holding",
    "holdings",
    "group",
];

/// Lower case; every run of characters that are not letters or digits becomes one space.
pub fn normalize(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    let mut space = false;
    for c in name.chars() {
        if c.is_alphanumeric() {
            if space && !out.is_empty() {
                out.push(' ');
            }
            space = false;
            out.extend(c.to_lowercase());
        } else {
            space = true;
        }
    }
    out
}

/// A vendor name normalised ([`normalize`], legal suffixes dropped) and mapped to its
/// canonical name through the aliases.
pub fn vendor_key(name: &str) -> String {
    let base = strip_legal(&normalize(name));
    match aliases().get(&base) {
        Some(canonical) => canonical.clone(),
        None => base,
    }
}

fn strip_legal(normalized: &str) -> String {
    let mut words: Vec<&str> = normalized.split(' ').filter(|w| !w.is_empty()).collect();
    // Drop legal forms spelled with dots (`S.A.`, `B.V.`, `S.r.l.`, `S.p.A.`: a run of
    // single letters at the end), then single legal words.
    while words.len() > 1 {
        let n = words.len();
        let letters = words
            .iter()
            .rev()
            .take_while(|w| w.chars().count() == 1)
            .count();
        let dotted = letters >= 2 && letters < n && {
            let joined: String = words[n - letters..].concat();
            LEGAL_SUFFIXES.contains(&joined.as_str())
        };
        if dotted {
            words.truncate(n - letters);
        } else if LEGAL_SUFFIXES.contains(&words[n - 1]) {
            words.truncate(n - 1);
        } else {
            break;
        }
    }
    words.join(" ")
}

/// The alias table: every normalised name (canonical or alias) to the canonical one.
fn aliases() -> &'static BTreeMap<String, String> {
    static TABLE: OnceLock<BTreeMap<String, String>> = OnceLock::new();
    TABLE.get_or_init(|| {
        let mut table = BTreeMap::new();
        // The data is compiled in and checked by a test; should it not parse, matching
        // proceeds without aliases rather than failing.
        let Ok(file) = toml::from_str::<AliasFile>(include_str!("../data/vendor-aliases.toml"))
        else {
            return table;
        };
        if file.format != 1 {
            return table;
        }
        for (canonical, names) in file.aliases {
            let key = strip_legal(&normalize(&canonical));
            for name in names {
                table.insert(strip_legal(&normalize(&name)), key.clone());
            }
            table.insert(key.clone(), key);
        }
        table
    })
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct AliasFile {
    format: u32,
    aliases: BTreeMap<String, Vec<String>>,
}

/// Parses the alias data; for the test that keeps it valid.
#[cfg(test)]
pub(crate) fn alias_data_parses() -> Result<usize, toml::de::Error> {
    toml::from_str::<AliasFile>(include_str!("../data/vendor-aliases.toml"))
        .map(|f| f.aliases.len())
}

/// A product name normalised, with the vendor's own words dropped from its front
/// (`Digi RealPort for Windows` by `Digi International` → `realport for windows`) and a
/// parenthesised part removed (`POWER METER SICAM Q100 (7KG9501-0AA31-2AA1)`).
pub fn product_key(name: &str, vendor: Option<&str>) -> String {
    let without_parens = strip_parens(name);
    let mut key = normalize(&without_parens);
    if let Some(vendor) = vendor {
        let vendor_words = strip_legal(&normalize(vendor));
        for candidate in [vendor_words.clone(), first_word(&vendor_words)] {
            if candidate.is_empty() {
                continue;
            }
            if let Some(rest) = key.strip_prefix(&candidate)
                && rest.starts_with(' ')
            {
                key = rest.trim_start().to_owned();
                break;
            }
        }
    }
    key
}

fn first_word(s: &str) -> String {
    s.split(' ').next().unwrap_or_default().to_owned()
}

fn strip_parens(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    let mut depth = 0usize;
    for c in name.chars() {
        match c {
            '(' => depth += 1,
            ')' => depth = depth.saturating_sub(1),
            _ if depth == 0 => out.push(c),
            _ => {}
        }
    }
    out
}

/// Words that say a product name stands for a set of models (`PT-7528 series`).
pub const SERIES_WORDS: &[&str] = &["series", "family", "products", "product", "line"];

/// The product key without a trailing series word, and whether one was dropped.
pub fn strip_series(key: &str) -> (String, bool) {
    let words: Vec<&str> = key.split(' ').collect();
    if words.len() > 1 && SERIES_WORDS.contains(words.last().unwrap_or(&"")) {
        (words[..words.len() - 1].join(" "), true)
    } else {
        (key.to_owned(), false)
    }
}

/// A model number compared: upper case, without spaces; CSAF allows `*` (any run) and `?`
/// (one character) in `model_numbers`.
pub fn model_matches(pattern: &str, model: &str) -> bool {
    let norm = |s: &str| -> Vec<char> {
        s.chars()
            .filter(|c| !c.is_whitespace())
            .flat_map(char::to_uppercase)
            .collect()
    };
    glob(&norm(pattern), &norm(model))
}

fn glob(pattern: &[char], text: &[char]) -> bool {
    // Iterative wildcard match with backtracking to the last `*`: linear in practice,
    // O(n·m) at worst, no recursion.
    let (mut p, mut t) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while t < text.len() {
        if p < pattern.len() && (pattern[p] == '?' || pattern[p] == text[t]) {
            p += 1;
            t += 1;
        } else if p < pattern.len() && pattern[p] == '*' {
            star = Some((p, t));
            p += 1;
        } else if let Some((sp, st)) = star {
            p = sp + 1;
            t = st + 1;
            star = Some((sp, st + 1));
        } else {
            return false;
        }
    }
    while p < pattern.len() && pattern[p] == '*' {
        p += 1;
    }
    p == pattern.len()
}
