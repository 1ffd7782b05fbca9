//! Package URLs and CPE names: the parts that identify a product.

use std::fmt;

/// A package URL (`pkg:type/namespace/name@version`), reduced to what matching compares.
/// Qualifiers and subpath are dropped; names are compared as the type's rules say (case-
/// insensitive for most types, PyPI's `_`/`.` equal to `-`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Purl {
    /// The package type (`cargo`, `npm`, `pypi`, `generic`, …), lower case.
    pub ty: String,
    /// The namespace (Maven group, npm scope, vendor for `generic`), percent-decoded.
    pub namespace: Option<String>,
    /// The package name, percent-decoded.
    pub name: String,
    /// The version, percent-decoded.
    pub version: Option<String>,
}

impl Purl {
    /// Parses a package URL; `None` when it is not one.
    pub fn parse(text: &str) -> Option<Purl> {
        let rest = text.trim().strip_prefix("pkg:")?;
        let rest = rest.trim_start_matches('/');
        let rest = rest.split('#').next().unwrap_or_default();
        let rest = rest.split('?').next().unwrap_or_default();
        let (path, version) = match rest.rsplit_once('@') {
            // An `@` in the namespace (npm scope `%40scope`) is percent-encoded, so the last
            // `@` after the last `/` starts the version.
            Some((path, version)) if !version.contains('/') => (path, Some(decode(version)?)),
            _ => (rest, None),
        };
        let mut segments: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
        if segments.len() < 2 {
            return None;
        }
        let ty = segments.remove(0).to_ascii_lowercase();
        if ty.is_empty()
            || !ty
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || ".+-".contains(c))
        {
            return None;
        }
        let name = decode(segments.pop()?)?;
        if name.is_empty() {
            return None;
        }
        let namespace = if segments.is_empty() {
            None
        } else {
            let parts: Option<Vec<String>> = segments.iter().map(|s| decode(s)).collect();
            Some(parts?.join("/"))
        };
        Some(Purl {
            ty,
            namespace,
            name,
            version: version.filter(|v| !v.is_empty()),
        })
    }

    /// Whether two package URLs name the same package (versions aside).
    pub fn same_package(&self, other: &Purl) -> bool {
        self.ty == other.ty
            && key(&self.ty, self.namespace.as_deref().unwrap_or_default())
                == key(&other.ty, other.namespace.as_deref().unwrap_or_default())
            && key(&self.ty, &self.name) == key(&other.ty, &other.name)
    }
}

impl fmt::Display for Purl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "pkg:{}/", self.ty)?;
        if let Some(ns) = &self.namespace {
            write!(f, "{ns}/")?;
        }
        f.write_str(&self.name)?;
        if let Some(v) = &self.version {
            write!(f, "@{v}")?;
        }
        Ok(())
    }
}

fn key(ty: &str, s: &str) -> String {
    let lower = s.to_lowercase();
    if ty == "pypi" {
        lower.replace(['_', '.'], "-")
    } else {
        lower
    }
}

fn decode(s: &str) -> Option<String> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = s.get(i + 1..i + 3)?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

/// A CPE name (2.3 formatted string or 2.2 URI), reduced to vendor, product and version.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cpe {
    /// The part: `a`, `o` or `h`.
    pub part: String,
    /// The vendor, unescaped, lower case.
    pub vendor: String,
    /// The product, unescaped, lower case.
    pub product: String,
    /// The version; `None` for `*` (any) and `-` (not applicable).
    pub version: Option<String>,
}

impl Cpe {
    /// Parses `cpe:2.3:a:vendor:product:version:…` or `cpe:/a:vendor:product:version`.
    pub fn parse(text: &str) -> Option<Cpe> {
        let text = text.trim();
        let fields: Vec<String> = if let Some(rest) = text.strip_prefix("cpe:2.3:") {
            split_escaped(rest)
        } else if let Some(rest) = text.strip_prefix("cpe:/") {
            rest.split(':')
                .map(|f| decode(f).unwrap_or_else(|| f.to_owned()))
                .collect()
        } else {
            return None;
        };
        let part = fields.first()?.to_ascii_lowercase();
        if !matches!(part.as_str(), "a" | "o" | "h" | "*") {
            return None;
        }
        let vendor = fields.get(1)?.to_lowercase();
        let product = fields.get(2)?.to_lowercase();
        if vendor.is_empty() || product.is_empty() {
            return None;
        }
        let version = fields
            .get(3)
            .filter(|v| !v.is_empty() && *v != "*" && *v != "-")
            .cloned();
        Some(Cpe {
            part,
            vendor,
            product,
            version,
        })
    }
}

/// Splits a CPE 2.3 formatted string at unescaped colons and removes the escapes.
fn split_escaped(text: &str) -> Vec<String> {
    let mut fields = vec![String::new()];
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => {
                if let (Some(next), Some(last)) = (chars.next(), fields.last_mut()) {
                    last.push(next);
                }
            }
            ':' => fields.push(String::new()),
            _ => {
                if let Some(last) = fields.last_mut() {
                    last.push(c);
                }
            }
        }
    }
    fields
}
