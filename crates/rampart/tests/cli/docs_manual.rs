//! `rampart docs manual`: the security manual and its compliance matrix, the committed copy in
//! `docs/manual/`, and the renderings a reader sees (PDF through weasyprint, the HTML in
//! headless Chromium).
//!
//! The committed manual is regenerated with `SOURCE_DATE_EPOCH` fixed; a difference fails
//! with the command that refreshes it: `RAMPART_UPDATE_MANUAL=1 cargo test -p rampart --test
//! cli docs_manual`.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use rampart_catalog::{Catalog, ComponentType, Kind};

use crate::util::{have, stderr, stdout, trestle};

/// The timestamp of the committed manual (2026-12-01T00:00:00Z).
const MANUAL_EPOCH: &str = "1796083200";

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// Runs `rampart docs manual ARGS` from the repository root with a fixed timestamp.
fn manual(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_rampart"))
        .args(["docs", "manual"])
        .args(args)
        .current_dir(repo())
        .env("SOURCE_DATE_EPOCH", MANUAL_EPOCH)
        .output()
        .expect("the rampart binary runs")
}

fn ndr_requirements() -> Vec<String> {
    Catalog::builtin()
        .requirements()
        .iter()
        .filter(|r| r.kind() != Kind::Ccsc && r.applies_to(ComponentType::Ndr))
        .map(|r| r.id().oscal_id())
        .collect()
}

#[test]
fn writes_a_self_contained_manual_with_a_row_per_ndr_requirement() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("manual");
    let output = manual(&["-o", out.to_str().unwrap()]);
    assert!(output.status.success(), "{}", stderr(&output));
    let expected = ndr_requirements();
    assert!(
        stdout(&output).contains(&format!("{} requirements and REs apply", expected.len())),
        "{}",
        stdout(&output)
    );
    let html = std::fs::read_to_string(out.join("security-manual.html")).unwrap();
    let md = std::fs::read_to_string(out.join("security-manual.md")).unwrap();
    // Self-contained: nothing is fetched from elsewhere.
    for needle in [
        "src=\"http",
        "src='http",
        "href=\"http",
        "href='http",
        "url(http",
        "<script",
        "<link",
        "@import",
    ] {
        assert!(!html.contains(needle), "the HTML refers outside: {needle}");
    }
    assert!(
        html.contains("<svg"),
        "the zone/conduit diagram is inline SVG"
    );
    // 100 % of the NDR-applicable requirements and REs have a row, in both formats.
    for id in &expected {
        assert!(
            html.contains(&format!("<tr id=\"{id}\""))
                || html.contains(&format!("<tr class=\"re\" id=\"{id}\"")),
            "no HTML row for {id}"
        );
    }
    // Hardening: secure value and the default configuration's value (MFA is off by default).
    assert!(md.contains("| Setting | Secure value | Default | Requirement | If weaker |"));
    assert!(md.contains("| `identity.mfa.required_for_all` | `= true` | `false` |"));
    let rows = md.lines().filter(|l| l.starts_with("| **")).count();
    assert_eq!(rows, expected.len(), "Markdown matrix rows");
    // The matrix as OSCAL: one implemented requirement per claimed requirement.
    let oscal: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(out.join("component-definition.json")).unwrap(),
    )
    .unwrap();
    assert!(oscal["component-definition"]["components"][0]["control-implementations"][0]
        ["implemented-requirements"]
        .as_array()
        .is_some_and(|a| !a.is_empty()));
    // No PDF unless asked for.
    assert!(!out.join("security-manual.pdf").exists());
}

#[test]
fn a_bad_profile_is_bad_input() {
    let dir = tempfile::tempdir().unwrap();
    let profile = dir.path().join("p.toml");
    std::fs::write(&profile, "format = 1\n[component]\n").unwrap();
    let out = dir.path().join("out");
    let output = manual(&[
        "--profile",
        profile.to_str().unwrap(),
        "-o",
        out.to_str().unwrap(),
    ]);
    assert_eq!(output.status.code(), Some(2), "{}", stderr(&output));
    assert!(stderr(&output).contains("p.toml"), "{}", stderr(&output));
    assert!(!out.join("security-manual.html").exists());
}

#[test]
fn the_committed_manual_is_current() {
    let committed = repo().join("docs/manual");
    let dir = tempfile::tempdir().unwrap();
    let fresh = dir.path();
    // The release's manual: the components matched against the RustSec snapshot in the tree.
    let output = manual(&[
        "--rustsec",
        "supply-chain/rustsec-advisory-db",
        "-o",
        fresh.to_str().unwrap(),
    ]);
    assert!(output.status.success(), "{}", stderr(&output));
    let markdown = std::fs::read_to_string(fresh.join("security-manual.md")).unwrap();
    assert!(
        markdown.contains("against the RustSec advisory database (")
            && !markdown.contains("| not checked |"),
        "every component has a vulnerability status"
    );
    let update = std::env::var_os("RAMPART_UPDATE_MANUAL").is_some();
    let mut stale = Vec::new();
    for file in [
        "security-manual.md",
        "security-manual.html",
        "component-definition.json",
    ] {
        let new = std::fs::read_to_string(fresh.join(file)).unwrap();
        let path = committed.join(file);
        if update {
            std::fs::create_dir_all(&committed).unwrap();
            std::fs::write(&path, &new).unwrap();
        } else if std::fs::read_to_string(&path).ok().as_deref() != Some(new.as_str()) {
            stale.push(file);
        }
    }
    assert!(
        stale.is_empty(),
        "docs/manual/{stale:?} differ from what `rampart docs manual` generates now: regenerate \
         with `RAMPART_UPDATE_MANUAL=1 cargo test -p rampart --test cli docs_manual` and commit"
    );
}

#[test]
#[ignore = "needs weasyprint and poppler-utils: run scripts/test"]
fn the_pdf_renders() {
    let out = repo().join("target/test-output/manual");
    let _ = std::fs::remove_dir_all(&out);
    let output = manual(&["--format", "pdf", "-o", out.to_str().unwrap()]);
    assert!(
        output.status.success(),
        "weasyprint is installed by scripts/test: {}",
        stderr(&output)
    );
    let pdf = out.join("security-manual.pdf");
    let bytes = std::fs::read(&pdf).unwrap();
    assert!(bytes.starts_with(b"%PDF-"), "not a PDF");
    let page = out.join("page");
    let run = Command::new("pdftoppm")
        .args(["-png", "-f", "1", "-l", "1", "-singlefile"])
        .arg(&pdf)
        .arg(&page)
        .output()
        .expect("pdftoppm (poppler-utils) runs");
    assert!(
        run.status.success(),
        "pdftoppm: {}",
        String::from_utf8_lossy(&run.stderr)
    );
    let png = std::fs::read(out.join("page.png")).unwrap();
    assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n", "not a PNG");
    assert!(
        png.len() > 20_000,
        "page 1 is only {} bytes: blank?",
        png.len()
    );
}

#[test]
#[ignore = "needs chromium: run scripts/test"]
fn chromium_renders_the_html_manual() {
    let out = repo().join("target/test-output/manual-html");
    let _ = std::fs::remove_dir_all(&out);
    let output = manual(&["--format", "html", "-o", out.to_str().unwrap()]);
    assert!(output.status.success(), "{}", stderr(&output));
    crate::util::chromium_screenshot(
        &out.join("security-manual.html"),
        &out.join("security-manual.png"),
    );
}

#[test]
#[ignore = "needs compliance-trestle: run scripts/test"]
fn trestle_validates_the_committed_component_definition() {
    assert!(
        have("trestle"),
        "trestle is not installed: run scripts/test"
    );
    let workspace = tempfile::tempdir().unwrap();
    // trestle refuses to import a file from inside its own workspace.
    let exports = tempfile::tempdir().unwrap();
    let file = exports.path().join("component-definition.json");
    std::fs::copy(repo().join("docs/manual/component-definition.json"), &file).unwrap();
    trestle(workspace.path(), &["init"]);
    trestle(
        workspace.path(),
        &[
            "import",
            "-f",
            file.to_str().unwrap(),
            "-o",
            "rampart-gateway",
        ],
    );
    trestle(
        workspace.path(),
        &[
            "validate",
            "-f",
            "component-definitions/rampart-gateway/component-definition.json",
        ],
    );
}

#[test]
fn live_evidence_fills_the_current_values_and_the_live_column() {
    let dir = tempfile::tempdir().unwrap();
    let output = manual(&[
        "--live-report",
        "crates/assess/tests/fixtures/config-report.json",
        "--format",
        "markdown",
        "-o",
        dir.path().to_str().unwrap(),
    ]);
    assert!(output.status.success(), "{}", stderr(&output));
    let md = std::fs::read_to_string(dir.path().join("security-manual.md")).unwrap();
    assert!(
        md.contains("| This configuration |"),
        "hardening has the current values"
    );
    assert!(md.contains("Live evidence from `crates/assess/tests/fixtures/config-report.json`"));
    assert!(md.contains("| Live |"), "the matrix has the live column");
    // The fixture's MFA setting is read and shown where the requirement is.
    let mfa = md
        .lines()
        .find(|l| l.starts_with("| **CR 1.1 RE 2**"))
        .unwrap();
    assert!(mfa.contains("identity.mfa.required_for_all = "), "{mfa}");
    assert!(!dir.path().join("security-manual.html").exists());
}

#[test]
fn pdf_without_weasyprint_is_a_clear_error_and_leaves_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let empty = tempfile::tempdir().unwrap();
    let output = Command::new(env!("CARGO_BIN_EXE_rampart"))
        .args(["docs", "manual", "--format", "pdf", "-o"])
        .arg(dir.path())
        .env("PATH", empty.path())
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1), "{}", stderr(&output));
    assert!(
        stderr(&output).contains("weasyprint"),
        "{}",
        stderr(&output)
    );
    let left: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();
    assert!(left.is_empty(), "left behind: {left:?}");
}
