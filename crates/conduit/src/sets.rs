//! Sets of unit ids and of addresses, as rules allow them.

use std::fmt;

/// A set of unit ids (0..=255).
#[derive(Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct UnitSet([u64; 4]);

impl UnitSet {
    /// Every unit id.
    pub const ALL: UnitSet = UnitSet([u64::MAX; 4]);

    /// Adds `first..=last`.
    pub fn insert_range(&mut self, first: u8, last: u8) {
        for unit in first..=last {
            self.0[usize::from(unit / 64)] |= 1 << (unit % 64);
        }
    }

    /// Whether `unit` is in the set.
    pub fn contains(&self, unit: u8) -> bool {
        self.0[usize::from(unit / 64)] & (1 << (unit % 64)) != 0
    }

    /// Whether the set is empty.
    pub fn is_empty(&self) -> bool {
        self.0 == [0; 4]
    }

    /// Whether every unit of `self` is in `other`.
    pub fn is_subset(&self, other: &UnitSet) -> bool {
        self.0.iter().zip(other.0).all(|(a, b)| a & !b == 0)
    }

    /// Whether the sets share a unit.
    pub fn intersects(&self, other: &UnitSet) -> bool {
        self.0.iter().zip(other.0).any(|(a, b)| a & b != 0)
    }

    /// The units, ascending.
    pub fn iter(&self) -> impl Iterator<Item = u8> + '_ {
        (0..=255u8).filter(|u| self.contains(*u))
    }
}

impl fmt::Display for UnitSet {
    /// `*` for all, else ranges: `1, 3-5`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if *self == UnitSet::ALL {
            return f.write_str("*");
        }
        let mut first = true;
        let mut iter = self.iter().peekable();
        while let Some(start) = iter.next() {
            let mut end = start;
            while iter.peek() == Some(&end.wrapping_add(1)) && end < 255 {
                end = iter.next().unwrap_or(end);
            }
            if !first {
                f.write_str(", ")?;
            }
            first = false;
            if start == end {
                write!(f, "{start}")?;
            } else {
                write!(f, "{start}-{end}")?;
            }
        }
        Ok(())
    }
}

impl fmt::Debug for UnitSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "UnitSet({self})")
    }
}

/// A set of addresses (0..=65535) as sorted, disjoint, non-adjacent inclusive intervals.
///
/// Invariant: intervals are sorted, `start <= end`, and neither overlap nor touch, so a
/// contiguous request range is allowed exactly when one interval contains it.
#[derive(Clone, PartialEq, Eq, Hash, Default)]
pub struct AddressSet(Vec<(u16, u16)>);

impl AddressSet {
    /// The whole address space.
    pub fn all() -> AddressSet {
        AddressSet(vec![(0, u16::MAX)])
    }

    /// The set of the given inclusive intervals, merged.
    pub fn from_intervals(intervals: impl IntoIterator<Item = (u16, u16)>) -> AddressSet {
        let mut intervals: Vec<(u16, u16)> = intervals.into_iter().collect();
        intervals.sort_unstable();
        let mut merged: Vec<(u16, u16)> = Vec::with_capacity(intervals.len());
        for (start, end) in intervals {
            match merged.last_mut() {
                Some(last) if u32::from(start) <= u32::from(last.1) + 1 => {
                    last.1 = last.1.max(end);
                }
                _ => merged.push((start, end)),
            }
        }
        AddressSet(merged)
    }

    /// Whether every address of `first..=last` is in the set.
    pub fn contains_range(&self, first: u16, last: u16) -> bool {
        // The interval that could contain `first` is the last one starting at or before it.
        let i = self.0.partition_point(|&(start, _)| start <= first);
        i > 0 && self.0[i - 1].1 >= last
    }

    /// Whether the set is empty.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Whether the set is the whole address space.
    pub fn is_all(&self) -> bool {
        self.0 == [(0, u16::MAX)]
    }

    /// Whether every address of `self` is in `other`.
    pub fn is_subset(&self, other: &AddressSet) -> bool {
        self.0.iter().all(|&(a, b)| other.contains_range(a, b))
    }

    /// Whether the sets share an address.
    pub fn intersects(&self, other: &AddressSet) -> bool {
        self.0
            .iter()
            .any(|&(a, b)| other.0.iter().any(|&(c, d)| a <= d && c <= b))
    }

    /// The intervals, ascending.
    pub fn intervals(&self) -> &[(u16, u16)] {
        &self.0
    }
}

impl fmt::Display for AddressSet {
    /// `none`, `*`, or ranges: `0-19, 100`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0.is_empty() {
            return f.write_str("none");
        }
        if self.is_all() {
            return f.write_str("*");
        }
        for (i, (start, end)) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str(", ")?;
            }
            if start == end {
                write!(f, "{start}")?;
            } else {
                write!(f, "{start}-{end}")?;
            }
        }
        Ok(())
    }
}

impl fmt::Debug for AddressSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "AddressSet({self})")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn address_sets_merge_and_answer_containment() {
        let set = AddressSet::from_intervals([(10, 19), (0, 9), (30, 39), (35, 50)]);
        assert_eq!(set.intervals(), [(0, 19), (30, 50)]);
        assert!(set.contains_range(0, 19));
        assert!(set.contains_range(5, 5));
        assert!(!set.contains_range(15, 30));
        assert!(!set.contains_range(20, 20));
        assert!(set.contains_range(50, 50));
        assert!(!set.contains_range(51, 51));
        assert!(AddressSet::all().contains_range(0, u16::MAX));
        assert!(!AddressSet::default().contains_range(0, 0));
        assert_eq!(set.to_string(), "0-19, 30-50");
    }

    #[test]
    fn address_sets_compare() {
        let small = AddressSet::from_intervals([(2, 3)]);
        let big = AddressSet::from_intervals([(0, 9)]);
        assert!(small.is_subset(&big));
        assert!(!big.is_subset(&small));
        assert!(small.intersects(&big));
        assert!(!small.intersects(&AddressSet::from_intervals([(4, 4)])));
        assert!(AddressSet::default().is_subset(&small));
    }

    #[test]
    fn unit_sets_display_as_ranges() {
        let mut set = UnitSet::default();
        set.insert_range(1, 1);
        set.insert_range(3, 5);
        set.insert_range(255, 255);
        assert_eq!(set.to_string(), "1, 3-5, 255");
        assert!(set.contains(4) && !set.contains(2));
        assert_eq!(UnitSet::ALL.to_string(), "*");
        let mut sub = UnitSet::default();
        sub.insert_range(3, 4);
        assert!(sub.is_subset(&set) && sub.intersects(&set));
    }
}
