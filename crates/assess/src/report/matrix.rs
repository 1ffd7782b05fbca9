//! The compliance matrix: one row for every requirement and RE of the catalog that applies to
//! the component type, with its status, the lowest SL at which it is required, **how** the
//! component meets it (the profile's notes, countermeasure or justification), **which
//! setting** enables it (the live checks that read a config-report setting or self-test for
//! it), **which tests prove it** (the profile's test evidence and test files) and, when the
//! assessment read a running component, the live evidence.
//!
//! The rows come from an [`Assessment`], which already lists every applicable requirement in
//! the standard's order (absent ones as `not-met`), so the matrix has no row of its own to
//! forget. Rendered as Markdown (for repositories) and as an HTML table (for the manual and
//! a standalone page).

use std::fmt::Write as _;

use rampart_catalog::{Fr, Kind, RequirementId};
use serde::Serialize;

use super::escape_xml as esc;
use crate::engine::{Assessment, RequirementResult};
use crate::live::LiveChecks;
use crate::profile::{Evidence, Status};

/// A setting (or self-test) of the config report that a live check maps to a requirement.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct MatrixSetting {
    /// The config-report setting id, or `self-test <id>`, or `config report`.
    pub id: String,
    /// The secure value the live check expects, e.g. `= true`.
    pub secure: String,
}

/// One requirement's row.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Row {
    /// The requirement.
    pub id: RequirementId,
    /// CR or RE (NDR-specific requirements are CRs of the NDR kind in the catalog).
    pub kind: Kind,
    /// Its foundational requirement.
    pub fr: Option<Fr>,
    /// Its title.
    pub title: String,
    /// The lowest security level at which it is required.
    pub sl: u8,
    /// The status after live evidence; absent from the profile counts as not met.
    pub status: Status,
    /// Whether the profile lists it at all.
    pub claimed: bool,
    /// How the component meets it (or why not, or what compensates it).
    pub how: Option<String>,
    /// The settings that enable it.
    pub settings: Vec<MatrixSetting>,
    /// The tests that prove it: test ids and test files named in the profile.
    pub tests: Vec<String>,
    /// Other evidence files and URLs named in the profile.
    pub documents: Vec<String>,
    /// Live findings, `subject = observed (outcome)`.
    pub live: Vec<String>,
}

impl Row {
    /// The status as a reader says it: `met`, `partial`, `not met`, `compensated`,
    /// `not applicable`, `unverified` (claimed met, its tests did not all run and pass).
    pub fn status_words(&self) -> &'static str {
        status_words(self.status)
    }
}

/// `status` as a reader says it (`not met` where a profile says `not-met`).
pub fn status_words(status: Status) -> &'static str {
    match status {
        Status::Met => "met",
        Status::Unverified => "unverified",
        Status::Partial => "partial",
        Status::NotMet => "not met",
        Status::Compensated => "compensated",
        Status::NotApplicable => "not applicable",
    }
}

/// The matrix of one assessment.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Matrix {
    /// `product version (type)`.
    pub component: String,
    /// Where the live evidence came from, when there was some.
    pub live_source: Option<String>,
    /// One row per applicable requirement and RE, in the standard's order.
    pub rows: Vec<Row>,
}

impl Matrix {
    /// How many `met` rows name no test.
    pub fn untested_met(&self) -> usize {
        self.rows
            .iter()
            .filter(|r| r.status == Status::Met && r.tests.is_empty())
            .count()
    }

    /// How many rows have `status`.
    pub fn count(&self, status: Status) -> usize {
        self.rows.iter().filter(|r| r.status == status).count()
    }
}

/// Whether a profile evidence file is a test (a file under a `tests/` directory or a fuzz
/// target).
pub(crate) fn is_test_file(path: &str) -> bool {
    path.starts_with("tests/") || path.contains("/tests/") || path.starts_with("fuzz/")
}

/// Builds the matrix of `assessment`, taking the setting of each requirement from `checks`.
pub fn build(assessment: &Assessment, checks: &LiveChecks) -> Matrix {
    let c = &assessment.component;
    Matrix {
        component: format!("{} {} ({})", c.product, c.version, c.component_type),
        live_source: assessment.live.as_ref().map(|l| l.source.clone()),
        rows: assessment
            .requirements
            .iter()
            .map(|r| row(r, checks))
            .collect(),
    }
}

/// The settings (and self-tests) the live checks read for requirement `id`, with the secure
/// value each expects.
pub fn settings(id: RequirementId, checks: &LiveChecks) -> Vec<MatrixSetting> {
    let mut settings: Vec<MatrixSetting> = checks
        .checks()
        .iter()
        .filter(|c| c.requirement == id)
        .map(|c| MatrixSetting {
            id: match (&c.setting, &c.self_test) {
                (Some(s), _) => s.clone(),
                (None, Some(t)) => format!("self-test {t}"),
                (None, None) => "config report".to_owned(),
            },
            secure: if c.setting.is_some() {
                c.expect.describe()
            } else {
                "passes".to_owned()
            },
        })
        .collect();
    settings.dedup();
    settings
}

fn row(r: &RequirementResult, checks: &LiveChecks) -> Row {
    let how = match r.status {
        Status::Compensated => r.countermeasure.clone().or_else(|| r.notes.clone()),
        Status::NotApplicable => r.justification.clone().or_else(|| r.notes.clone()),
        _ => r.notes.clone(),
    }
    .or_else(|| r.reason.clone());
    let settings = settings(r.id, checks);
    let mut tests = Vec::new();
    let mut documents = Vec::new();
    for e in &r.evidence {
        match e {
            Evidence::Test(t) => tests.push(t.clone()),
            Evidence::File(f) if is_test_file(f) => tests.push(f.clone()),
            Evidence::File(f) | Evidence::Url(f) => documents.push(f.clone()),
            Evidence::Live(_) => {}
        }
    }
    let live = r
        .live
        .iter()
        .map(|f| format!("{} = {} ({})", f.subject, f.observed, f.outcome))
        .collect();
    Row {
        id: r.id,
        kind: r.kind,
        fr: r.fr,
        title: r.title.clone(),
        sl: r.lowest_level(),
        status: r.status,
        claimed: r.declared.is_some(),
        // Without notes, the documents the profile names say how.
        how: how
            .or_else(|| (!documents.is_empty()).then(|| format!("See {}.", documents.join(", ")))),
        settings,
        tests,
        documents,
        live,
    }
}

/// Text for a Markdown table cell: no pipe or line break breaks the table.
fn cell(text: &str) -> String {
    text.replace('\\', "\\\\")
        .replace('|', "\\|")
        .replace(['\n', '\r'], " ")
}

fn code_list(items: &[String]) -> String {
    items
        .iter()
        .map(|i| format!("`{}`", cell(i).replace('`', "'")))
        .collect::<Vec<_>>()
        .join("<br>")
}

/// What a `met` row without a named test says in the tests column: the claim rests on
/// documents alone.
pub const NO_TEST: &str = "none named";

fn tests_md(r: &Row) -> String {
    if r.tests.is_empty() && r.status == Status::Met {
        format!("*{NO_TEST}*")
    } else {
        code_list(&r.tests)
    }
}

fn tests_html(r: &Row) -> String {
    if r.tests.is_empty() && r.status == Status::Met {
        format!("<span class=\"small\">{NO_TEST}</span>")
    } else {
        html_list(&r.tests)
    }
}

/// The summary line: how many rows of each status.
pub fn summary(m: &Matrix) -> String {
    format!(
        "{} requirements and REs apply to {}: {} met, {} partial, {} not met, {} compensated, {} not applicable.",
        m.rows.len(),
        m.component,
        m.count(Status::Met),
        m.count(Status::Partial),
        m.count(Status::NotMet),
        m.count(Status::Compensated),
        m.count(Status::NotApplicable),
    ) + &match m.untested_met() {
        0 => String::new(),
        n => format!(" {n} met row(s) name no test ({NO_TEST})."),
    }
}

/// The matrix as a Markdown table, preceded by its summary (no heading: the caller places it).
pub fn markdown(m: &Matrix) -> String {
    let mut out = String::with_capacity(64 << 10);
    let _ = writeln!(out, "{}\n", summary(m));
    if let Some(source) = &m.live_source {
        let _ = writeln!(out, "Live evidence from `{}`.\n", cell(source));
    }
    let live = m.live_source.is_some();
    out.push_str("| Requirement | SL | Status | How | Setting (secure value) | Tests |");
    out.push_str(if live { " Live |\n" } else { "\n" });
    out.push_str("|---|---|---|---|---|---|");
    out.push_str(if live { "---|\n" } else { "\n" });
    for r in &m.rows {
        let settings: Vec<String> = r
            .settings
            .iter()
            .map(|s| format!("{} {}", s.id, s.secure))
            .collect();
        let status = if r.claimed {
            r.status_words().to_owned()
        } else {
            format!("{} (not claimed)", r.status_words())
        };
        let _ = write!(
            out,
            "| **{}** {} | {} | {} | {} | {} | {} |",
            r.id,
            cell(&r.title),
            r.sl,
            status,
            r.how.as_deref().map(cell).unwrap_or_default(),
            code_list(&settings),
            tests_md(r),
        );
        if live {
            let _ = write!(out, " {} |", cell(&r.live.join("; ")));
        }
        out.push('\n');
    }
    out
}

fn html_list(items: &[String]) -> String {
    if items.is_empty() {
        return String::new();
    }
    let mut out = String::from("<ul class=\"ev\">");
    for i in items {
        let _ = write!(out, "<li><code>{}</code></li>", esc(i));
    }
    out.push_str("</ul>");
    out
}

/// The matrix as an HTML fragment (summary and table) using the report stylesheet's classes
/// ([`super::html::STYLE`]).
pub fn html_table(m: &Matrix) -> String {
    let mut out = String::with_capacity(128 << 10);
    let _ = writeln!(out, "<p>{}</p>", esc(&summary(m)));
    if let Some(source) = &m.live_source {
        let _ = writeln!(
            out,
            "<p class=\"small\">Live evidence from <code>{}</code>.</p>",
            esc(source)
        );
    }
    let live = m.live_source.is_some();
    out.push_str(
        "<table class=\"matrix\">\n<thead><tr><th>Requirement</th><th>SL</th><th>Status</th><th>How</th><th>Setting (secure value)</th><th>Tests</th>",
    );
    out.push_str(if live {
        "<th>Live</th></tr></thead>\n<tbody>\n"
    } else {
        "</tr></thead>\n<tbody>\n"
    });
    for r in &m.rows {
        let settings: Vec<String> = r
            .settings
            .iter()
            .map(|s| format!("{} {}", s.id, s.secure))
            .collect();
        let class = if r.kind == Kind::Re {
            " class=\"re\""
        } else {
            ""
        };
        let _ = write!(
            out,
            "<tr{class} id=\"{}\"><td class=\"id\">{}</td><td>{}</td><td><span class=\"status s-{}\">{}</span>{}</td><td>{}</td><td>{}</td><td>{}</td>",
            esc(&r.id.oscal_id()),
            esc(&format!("{} {}", r.id, r.title)),
            r.sl,
            r.status.as_str(),
            r.status_words(),
            if r.claimed {
                ""
            } else {
                "<br><span class=\"small\">not claimed</span>"
            },
            esc(r.how.as_deref().unwrap_or_default()),
            html_list(&settings),
            tests_html(r),
        );
        if live {
            let _ = write!(out, "<td>{}</td>", html_list(&r.live));
        }
        out.push_str("</tr>\n");
    }
    out.push_str("</tbody>\n</table>\n");
    out
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use rampart_catalog::{Catalog, ComponentType, Kind};

    use super::*;
    use crate::{Options, Profile, assess};

    const PROFILE: &str = r#"
format = 1
[component]
vendor = "V"
product = "P|x"
version = "1"
type = "NDR"
[target]
sl_t = [1, 1, 1, 1, 1, 1, 1]
[requirement."CR 1.1"]
status = "met"
notes = "Passwords <hashed> | argon2id"
evidence = [{ test = "a::b" }, { file = "crates/x/tests/it/cr_1_1.rs" }, { file = "docs/x.md" }]
[requirement."CR 1.1 RE 2"]
status = "compensated"
countermeasure = "A jump host with MFA"
[requirement."CR 1.2"]
status = "not-applicable"
justification = "No devices"
"#;

    fn matrix() -> Matrix {
        let catalog = Catalog::builtin();
        let profile = Profile::parse(PROFILE, "p.toml", catalog).unwrap();
        let a = assess(
            catalog,
            &profile,
            &Options {
                sl_t: None,
                waivers: None,
                live: None,
                now: jiff::Timestamp::UNIX_EPOCH,
            },
        );
        build(&a, &LiveChecks::builtin())
    }

    #[test]
    fn one_row_per_applicable_requirement_and_re() {
        let m = matrix();
        let expected = Catalog::builtin()
            .requirements()
            .iter()
            .filter(|r| r.kind() != Kind::Ccsc && r.applies_to(ComponentType::Ndr))
            .count();
        assert_eq!(m.rows.len(), expected);
        assert!(m.rows.iter().any(|r| r.id.to_string().starts_with("NDR")));
    }

    #[test]
    fn how_setting_and_tests_come_from_profile_and_live_checks() {
        let m = matrix();
        let row = |id: &str| m.rows.iter().find(|r| r.id.to_string() == id).unwrap();
        let cr11 = row("CR 1.1");
        assert_eq!(cr11.status, Status::Met);
        assert_eq!(cr11.tests, ["a::b", "crates/x/tests/it/cr_1_1.rs"]);
        assert_eq!(cr11.documents, ["docs/x.md"]);
        let mfa = row("CR 1.1 RE 2");
        assert_eq!(mfa.how.as_deref(), Some("A jump host with MFA"));
        assert!(
            mfa.settings
                .iter()
                .any(|s| s.id == "identity.mfa.required_for_all" && s.secure == "= true")
        );
        assert_eq!(row("CR 1.2").how.as_deref(), Some("No devices"));
        assert!(!row("CR 2.1").claimed);
    }

    #[test]
    fn markdown_keeps_the_table_intact() {
        let m = matrix();
        let md = markdown(&m);
        let table: Vec<&str> = md.lines().filter(|l| l.starts_with('|')).collect();
        assert_eq!(table.len(), m.rows.len() + 2);
        // Every row has the header's number of unescaped pipes.
        let pipes = |l: &str| l.replace("\\|", "").matches('|').count();
        assert!(table.iter().all(|l| pipes(l) == pipes(table[0])));
        assert!(md.contains("argon2id"));
    }

    #[test]
    fn html_escapes_and_has_a_row_each() {
        let m = matrix();
        let html = html_table(&m);
        assert_eq!(html.matches("<tr").count(), m.rows.len() + 1);
        assert!(html.contains("&lt;hashed&gt;"));
        assert!(!html.contains("<hashed>"));
    }

    #[test]
    fn the_oscal_component_definition_carries_settings_and_tests() {
        let catalog = Catalog::builtin();
        let profile = Profile::parse(PROFILE, "p.toml", catalog).unwrap();
        let a = assess(
            catalog,
            &profile,
            &Options {
                sl_t: None,
                waivers: None,
                live: None,
                now: jiff::Timestamp::UNIX_EPOCH,
            },
        );
        let doc =
            crate::report::oscal::document(&a, crate::report::oscal::Document::ComponentDefinition);
        let items = doc["component-definition"]["components"][0]["control-implementations"][0]
            ["implemented-requirements"]
            .as_array()
            .unwrap();
        let props = |id: &str, name: &str| -> Vec<String> {
            let item = items.iter().find(|i| i["control-id"] == id).unwrap();
            item["props"]
                .as_array()
                .unwrap()
                .iter()
                .filter(|p| p["name"] == name)
                .map(|p| p["value"].as_str().unwrap().to_owned())
                .collect()
        };
        assert_eq!(
            props("cr-1.1-re-2", "setting"),
            ["identity.mfa.required_for_all = true"]
        );
        assert_eq!(
            props("cr-1.1", "evidence-test"),
            ["a::b", "crates/x/tests/it/cr_1_1.rs"]
        );
        assert_eq!(props("cr-1.1", "lowest-level"), ["1"]);
    }
}
