//! SL vectors: one security level (0..=4) per foundational requirement.

use std::fmt;
use std::str::FromStr;

use rampart_catalog::Fr;
use serde::de::{self, MapAccess, SeqAccess, Visitor};
use serde::ser::SerializeMap;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// One level per FR, in the order {IAC, UC, SI, DC, RDF, TRE, RA}. Level 0 means "none": an
/// SL-C of 0 says not even SL 1 is reached; an SL-T of 0 asks for nothing in that FR.
///
/// Invariant: every level is 0..=4.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct SlVector([u8; 7]);

impl SlVector {
    /// The vector with `level` in every FR, if `level` is 0..=4.
    pub fn uniform(level: u8) -> Option<SlVector> {
        (level <= 4).then_some(SlVector([level; 7]))
    }

    /// The vector from seven levels, if each is 0..=4.
    pub fn from_levels(levels: [u8; 7]) -> Option<SlVector> {
        levels.iter().all(|l| *l <= 4).then_some(SlVector(levels))
    }

    /// The level of one FR.
    pub fn get(self, fr: Fr) -> u8 {
        self.0[usize::from(fr.number() - 1)]
    }

    /// Sets the level of one FR; levels above 4 are clamped (callers pass computed levels).
    pub(crate) fn set(&mut self, fr: Fr, level: u8) {
        self.0[usize::from(fr.number() - 1)] = level.min(4);
    }

    /// The seven levels in FR order.
    pub fn levels(self) -> [u8; 7] {
        self.0
    }

    /// Whether every FR of `self` is at least the level of `other`.
    pub fn covers(self, other: SlVector) -> bool {
        self.0.iter().zip(other.0).all(|(a, b)| *a >= b)
    }
}

impl fmt::Display for SlVector {
    /// The standard's notation: `{2 2 1 2 2 1 1}`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("{")?;
        for (i, level) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str(" ")?;
            }
            write!(f, "{level}")?;
        }
        f.write_str("}")
    }
}

/// A level or vector that is not 0..=4 or has the wrong number of entries.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "'{0}' is not an SL vector: give one level 0..4 for every FR (e.g. 2) or seven comma-separated levels in FR order (e.g. 3,3,2,2,3,2,2)"
)]
pub struct SlVectorError(pub String);

impl FromStr for SlVector {
    type Err = SlVectorError;

    /// Accepts `2`, `SL2`, or seven levels separated by commas or spaces, optionally in braces.
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let bad = || SlVectorError(text.to_owned());
        let inner = text.trim().trim_start_matches('{').trim_end_matches('}');
        let parts: Vec<&str> = inner
            .split(|c: char| c == ',' || c.is_whitespace())
            .filter(|p| !p.is_empty())
            .collect();
        let level = |p: &str| -> Option<u8> {
            let p = p.trim();
            let digits = p
                .strip_prefix("SL")
                .or_else(|| p.strip_prefix("sl"))
                .unwrap_or(p)
                .trim();
            digits.parse::<u8>().ok().filter(|l| *l <= 4)
        };
        match parts.as_slice() {
            [one] => level(one).and_then(SlVector::uniform).ok_or_else(bad),
            seven if seven.len() == 7 => {
                let mut levels = [0; 7];
                for (slot, p) in levels.iter_mut().zip(seven) {
                    *slot = level(p).ok_or_else(bad)?;
                }
                Ok(SlVector(levels))
            }
            _ => Err(bad()),
        }
    }
}

impl Serialize for SlVector {
    /// An object keyed `FR1`..`FR7`, as the JSON report documents.
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(7))?;
        for fr in Fr::ALL {
            map.serialize_entry(&fr.to_string(), &self.get(fr))?;
        }
        map.end()
    }
}

impl<'de> Deserialize<'de> for SlVector {
    /// Accepts one level, an array of seven, or an object keyed `FR1`..`FR7` (all seven).
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = SlVector;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a level 0..4, an array of seven levels, or a table FR1..FR7")
            }

            fn visit_i64<E: de::Error>(self, v: i64) -> Result<SlVector, E> {
                u8::try_from(v)
                    .ok()
                    .and_then(SlVector::uniform)
                    .ok_or_else(|| E::custom(format!("SL {v} is out of range (valid: 0..4)")))
            }

            fn visit_u64<E: de::Error>(self, v: u64) -> Result<SlVector, E> {
                u8::try_from(v)
                    .ok()
                    .and_then(SlVector::uniform)
                    .ok_or_else(|| E::custom(format!("SL {v} is out of range (valid: 0..4)")))
            }

            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<SlVector, A::Error> {
                let mut levels = Vec::with_capacity(7);
                while let Some(level) = seq.next_element::<u8>()? {
                    levels.push(level);
                }
                let levels: [u8; 7] = levels.try_into().map_err(|l: Vec<u8>| {
                    de::Error::custom(format!(
                        "an SL vector has 7 levels (FR1..FR7), this one has {}",
                        l.len()
                    ))
                })?;
                SlVector::from_levels(levels)
                    .ok_or_else(|| de::Error::custom("every level must be 0..4"))
            }

            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<SlVector, A::Error> {
                let mut levels = [None; 7];
                while let Some((key, level)) = map.next_entry::<String, u8>()? {
                    let fr: Fr = key.parse().map_err(de::Error::custom)?;
                    if level > 4 {
                        return Err(de::Error::custom(format!(
                            "{fr}: SL {level} is out of range (valid: 0..4)"
                        )));
                    }
                    levels[usize::from(fr.number() - 1)] = Some(level);
                }
                let mut out = [0; 7];
                for (i, (slot, level)) in out.iter_mut().zip(levels).enumerate() {
                    *slot = level
                        .ok_or_else(|| de::Error::custom(format!("FR{} is missing", i + 1)))?;
                }
                Ok(SlVector(out))
            }
        }
        deserializer.deserialize_any(V)
    }
}
