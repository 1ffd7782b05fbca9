//! Counts per FR, per kind and per SL, as compiled in the reference data's SOURCES.md and
//! recomputed from its requirements.csv.

use rampart_catalog::{Catalog, Kind, Selection};

use crate::util::{component_type, fr, sl};

#[test]
fn rows_per_fr_and_kind_match_the_reference() {
    let catalog = Catalog::builtin();
    // (FR, base rows incl. type-specific, RE rows)
    let expected = [
        (1, 14, 10),
        (2, 17, 15),
        (3, 27, 15),
        (4, 3, 2),
        (5, 3, 3),
        (6, 2, 1),
        (7, 7, 3),
    ];
    for (n, base, re) in expected {
        let rows = catalog.select(&Selection {
            fr: Some(fr(n)),
            ..Selection::default()
        });
        let count = |kind| rows.iter().filter(|r| r.kind() == kind).count();
        assert_eq!((count(Kind::Cr), count(Kind::Re)), (base, re), "FR{n}");
    }
    let count = |kind| {
        catalog
            .requirements()
            .iter()
            .filter(|r| r.kind() == kind)
            .count()
    };
    assert_eq!(
        (count(Kind::Cr), count(Kind::Re), count(Kind::Ccsc)),
        (73, 49, 4)
    );
    assert_eq!(catalog.requirements().len(), 126);
}

#[test]
fn rows_per_sl_match_the_reference() {
    let catalog = Catalog::builtin();
    // Rows required per SL 1/2/3/4, all component types together.
    let expected = [
        (1, [10, 16, 23, 24]),
        (2, [12, 23, 29, 32]),
        (3, [16, 36, 40, 42]),
        (4, [2, 3, 5, 5]),
        (5, [3, 4, 6, 6]),
        (6, [1, 2, 3, 3]),
        (7, [6, 9, 10, 10]),
    ];
    for (n, per_level) in expected {
        for (i, want) in per_level.into_iter().enumerate() {
            let level = sl(u8::try_from(i).unwrap() + 1);
            let got = catalog
                .select(&Selection {
                    fr: Some(fr(n)),
                    level: Some(level),
                    ..Selection::default()
                })
                .len();
            assert_eq!(got, want, "FR{n} SL{level}");
        }
    }
}

#[test]
fn required_sets_per_component_type_and_level() {
    let catalog = Catalog::builtin();
    // Per type and SL: the size of the set per FR1..FR7.
    let expected = [
        ("SAR", 1, [8, 9, 7, 2, 1, 1, 6]),
        ("SAR", 2, [13, 14, 11, 3, 1, 2, 9]),
        ("EDR", 2, [13, 15, 18, 3, 1, 2, 9]),
        ("EDR", 4, [20, 22, 22, 5, 1, 3, 10]),
        ("HDR", 3, [19, 19, 21, 5, 1, 3, 10]),
        ("NDR", 1, [10, 9, 9, 2, 3, 1, 6]),
        ("NDR", 2, [16, 15, 18, 3, 4, 2, 9]),
        ("NDR", 3, [23, 19, 20, 5, 6, 3, 10]),
        ("NDR", 4, [24, 22, 22, 5, 6, 3, 10]),
    ];
    for (code, level, per_fr) in expected {
        let set = catalog.required(component_type(code), sl(level));
        let got: Vec<usize> = set.by_fr.values().map(Vec::len).collect();
        assert_eq!(got, per_fr, "{code} SL{level}");
        assert_eq!(set.constraints.len(), 4, "CCSCs apply at every level");
        assert_eq!(set.len(), per_fr.iter().sum::<usize>() + 4);
    }
}

#[test]
fn required_sets_are_cumulative_and_hold_their_parents() {
    let catalog = Catalog::builtin();
    for t in rampart_catalog::ComponentType::ALL {
        for pair in rampart_catalog::SecurityLevel::ALL.windows(2) {
            let lower = catalog.required(t, pair[0]);
            let higher = catalog.required(t, pair[1]);
            for (fr, rows) in &lower.by_fr {
                for r in rows {
                    assert!(
                        higher.by_fr[fr].contains(r),
                        "{} dropped at {t} SL{}",
                        r.id(),
                        pair[1]
                    );
                }
            }
            for rows in higher.by_fr.values() {
                for r in rows {
                    if let Some(parent) = r.parent() {
                        assert!(
                            rows.iter().any(|p| p.id() == parent),
                            "{} without {parent}",
                            r.id()
                        );
                    }
                }
            }
        }
    }
}
