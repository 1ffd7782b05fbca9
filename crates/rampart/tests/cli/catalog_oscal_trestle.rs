//! The OSCAL catalog is accepted by a real OSCAL consumer, compliance-trestle.

use crate::util::{have, ok, trestle};

#[test]
#[ignore = "needs compliance-trestle: run scripts/test"]
fn trestle_imports_and_validates_the_oscal_catalog() {
    assert!(
        have("trestle"),
        "trestle is not installed: run scripts/test"
    );
    let workspace = tempfile::tempdir().unwrap();
    // trestle refuses to import a file from inside its own workspace.
    let exports = tempfile::tempdir().unwrap();
    let run = |args: &[&str]| trestle(workspace.path(), args);
    run(&["init"]);
    for (name, args) in [
        ("iec62443-4-2", vec!["catalog", "--format", "oscal"]),
        (
            "ndr-sl2",
            vec!["catalog", "--format", "oscal", "--type", "NDR", "--sl", "2"],
        ),
    ] {
        let file = exports.path().join(format!("{name}.json"));
        std::fs::write(&file, ok(&args)).unwrap();
        run(&["import", "-f", file.to_str().unwrap(), "-o", name]);
        run(&["validate", "-f", &format!("catalogs/{name}/catalog.json")]);
    }
}
