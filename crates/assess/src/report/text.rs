//! The report for a terminal and as Markdown.

use std::fmt::Write as _;

use rampart_catalog::Fr;

use crate::engine::{Assessment, Gap};

/// Text styles for the terminal report; all empty for plain text.
#[derive(Clone, Copy, Debug, Default)]
pub struct Style {
    /// Starts bold text.
    pub bold: &'static str,
    /// Starts text that stands out as bad.
    pub bad: &'static str,
    /// Starts text that stands out as good.
    pub good: &'static str,
    /// Ends any of them.
    pub reset: &'static str,
}

impl Style {
    /// ANSI colours.
    pub fn ansi() -> Style {
        Style {
            bold: "\x1b[1m",
            bad: "\x1b[31m",
            good: "\x1b[32m",
            reset: "\x1b[0m",
        }
    }
}

/// The terminal report: SL-T against SL-C per FR, the gap list and the verdict.
pub fn terminal(a: &Assessment, style: Style) -> String {
    let mut out = String::new();
    let c = &a.component;
    let _ = writeln!(
        out,
        "{}{} {}{} ({}) — {} {}",
        style.bold,
        c.product,
        c.version,
        style.reset,
        c.vendor,
        c.component_type,
        c.component_type.name()
    );
    let _ = writeln!(
        out,
        "profile {} · {} (catalog {}) · {}",
        a.profile.path, a.catalog.standard, a.catalog.version, a.generated_at
    );
    if let Some(live) = &a.live {
        let failed = live.findings.iter().filter(|f| f.decides_not_met()).count();
        let _ = writeln!(
            out,
            "live evidence from {} ({} checks, {failed} decide not met)",
            live.source,
            live.findings.len()
        );
    }
    if let Some(line) = test_results_line(a) {
        let _ = writeln!(out, "{line}");
    }
    out.push('\n');
    let rows: Vec<[String; 6]> = Fr::ALL
        .iter()
        .map(|&fr| {
            let (t, c, cm) = (
                a.sl_t.get(fr),
                a.sl_c.get(fr),
                a.sl_c_with_countermeasures.get(fr),
            );
            let gaps = a.gaps.iter().filter(|g| g.fr == fr).count();
            [
                format!("{fr} {}", fr.abbreviation()),
                fr.name().to_owned(),
                t.to_string(),
                c.to_string(),
                cm.to_string(),
                if c >= t {
                    "ok".to_owned()
                } else {
                    format!("{gaps} gap{}", if gaps == 1 { "" } else { "s" })
                },
            ]
        })
        .collect();
    let header = ["FR", "NAME", "SL-T", "SL-C", "WITH CM", "RESULT"];
    let mut widths = header.map(str::len);
    for row in &rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let line = |cells: &[String; 6]| {
        let mut s = String::new();
        for (i, cell) in cells.iter().enumerate() {
            s.push_str(cell);
            if i + 1 < cells.len() {
                s.extend(std::iter::repeat_n(
                    ' ',
                    widths[i] - cell.chars().count() + 2,
                ));
            }
        }
        s
    };
    let _ = writeln!(
        out,
        "{}{}{}",
        style.bold,
        line(&header.map(String::from)),
        style.reset
    );
    for row in &rows {
        let colour = if row[5] == "ok" {
            style.good
        } else {
            style.bad
        };
        let text = line(row);
        let split = text.len() - row[5].len();
        let _ = writeln!(out, "{}{colour}{}{}", &text[..split], row[5], style.reset);
    }
    let _ = writeln!(
        out,
        "\nSL-T {}  SL-C {}  with countermeasures {}",
        a.sl_t, a.sl_c, a.sl_c_with_countermeasures
    );

    gap_section(&mut out, "Gaps", &a.gaps, style);
    gap_section(&mut out, "Waived", &a.waived, style);
    let unverified: Vec<_> = a
        .constraints
        .iter()
        .chain(&a.requirements)
        .filter(|r| r.status == crate::profile::Status::Unverified)
        .collect();
    if !unverified.is_empty() {
        let _ = writeln!(
            out,
            "\n{}Unverified met claims ({}){}: count as not met",
            style.bold,
            unverified.len(),
            style.reset
        );
        for r in unverified {
            let _ = writeln!(
                out,
                "  {} {} — {}",
                r.id,
                r.title,
                r.reason.as_deref().unwrap_or_default()
            );
        }
    }
    let unmet: Vec<String> = a
        .constraints
        .iter()
        .filter(|r| !r.counts)
        .map(|r| format!("{} ({})", r.id, r.status))
        .collect();
    if !unmet.is_empty() {
        let _ = writeln!(
            out,
            "\nConstraints not met (outside the SL vector): {}",
            unmet.join(", ")
        );
    }
    out.push('\n');
    out.push_str(&verdict(a, style));
    out.push('\n');
    out
}

/// `test results from …: V of N met claims verified by their tests`, with --test-results.
fn test_results_line(a: &Assessment) -> Option<String> {
    let t = a.test_results.as_ref()?;
    let claims = t.verified.len() + t.unverified.len();
    Some(format!(
        "test results from {} ({} test cases): {} of {claims} met claims verified by their tests, {} unverified",
        t.sources.join(", "),
        t.testcases,
        t.verified.len(),
        t.unverified.len()
    ))
}

fn gap_section(out: &mut String, title: &str, gaps: &[Gap], style: Style) {
    if gaps.is_empty() {
        return;
    }
    let _ = writeln!(
        out,
        "\n{}{title} ({}){}",
        style.bold,
        gaps.len(),
        style.reset
    );
    let id_width = gaps
        .iter()
        .map(|g| g.id.to_string().len())
        .max()
        .unwrap_or(0);
    for g in gaps {
        let _ = writeln!(
            out,
            "  {} SL{}  {:<id_width$}  {} — {}{}",
            g.fr,
            g.level,
            g.id.to_string(),
            g.title,
            g.reason,
            waiver_note(g)
        );
    }
}

fn waiver_note(g: &Gap) -> String {
    match &g.waiver {
        Some(w) if w.expired => format!(" [waiver expired {}]", w.expires),
        Some(w) => format!(" [waived until {}: {}]", w.expires, w.justification),
        None => String::new(),
    }
}

fn verdict(a: &Assessment, style: Style) -> String {
    if a.passed && a.waived.is_empty() {
        format!(
            "{}PASS{}: SL-C {} reaches SL-T {}",
            style.good, style.reset, a.sl_c, a.sl_t
        )
    } else if a.passed {
        format!(
            "{}PASS{} with {} waived gap(s): SL-C {} is below SL-T {} only where waived",
            style.good,
            style.reset,
            a.waived.len(),
            a.sl_c,
            a.sl_t
        )
    } else {
        format!(
            "{}FAIL{}: SL-C {} does not reach SL-T {}: {} gap(s)",
            style.bad,
            style.reset,
            a.sl_c,
            a.sl_t,
            a.gaps.len()
        )
    }
}

/// The report as Markdown: summary, gaps and the full requirement matrix.
pub fn markdown(a: &Assessment) -> String {
    let mut out = String::new();
    let c = &a.component;
    let _ = writeln!(
        out,
        "# IEC 62443-4-2 assessment: {} {}\n",
        c.product, c.version
    );
    let _ = writeln!(
        out,
        "{} — {} ({}). Profile `{}` (SHA-256 `{}`), {} catalog {}, generated {} by {} {}.\n",
        c.vendor,
        c.component_type,
        c.component_type.name(),
        a.profile.path,
        &a.profile.sha256[..16.min(a.profile.sha256.len())],
        a.catalog.standard,
        a.catalog.version,
        a.generated_at,
        a.tool.name,
        a.tool.version
    );
    if let Some(d) = &c.description {
        let _ = writeln!(out, "{}\n", md_cell(d));
    }
    let _ = writeln!(out, "**{}**\n", verdict(a, Style::default()));
    if let Some(line) = test_results_line(a) {
        let _ = writeln!(out, "{}.\n", md_cell(&line));
    }
    out.push_str("| FR | SL-T | SL-C | with countermeasures | gaps |\n|---|---|---|---|---|\n");
    for fr in Fr::ALL {
        let _ = writeln!(
            out,
            "| {fr} {} | {} | {} | {} | {} |",
            fr.abbreviation(),
            a.sl_t.get(fr),
            a.sl_c.get(fr),
            a.sl_c_with_countermeasures.get(fr),
            a.gaps.iter().filter(|g| g.fr == fr).count()
        );
    }
    for (title, gaps) in [("Gaps", &a.gaps), ("Waived gaps", &a.waived)] {
        if gaps.is_empty() {
            continue;
        }
        let _ = writeln!(
            out,
            "\n## {title}\n\n| FR | level | requirement | status | why |\n|---|---|---|---|---|"
        );
        for g in gaps {
            let _ = writeln!(
                out,
                "| {} | SL {} | {} {} | {} | {}{} |",
                g.fr,
                g.level,
                g.id,
                md_cell(&g.title),
                g.status,
                md_cell(&g.reason),
                md_cell(&waiver_note(g))
            );
        }
    }
    out.push_str("\n## Requirements\n\n| requirement | SL | status | evidence and notes |\n|---|---|---|---|\n");
    for r in a.constraints.iter().chain(&a.requirements) {
        let levels: Vec<String> = r.levels.iter().map(ToString::to_string).collect();
        let mut notes: Vec<String> = r
            .evidence
            .iter()
            .map(|e| format!("{}: `{}`", e.kind(), e.value()))
            .collect();
        for text in [&r.justification, &r.countermeasure, &r.notes, &r.reason]
            .into_iter()
            .flatten()
        {
            notes.push(text.clone());
        }
        for f in r
            .live
            .iter()
            .filter(|f| f.outcome != crate::live::Outcome::Pass)
        {
            notes.push(format!(
                "live {} {}: {} = {}",
                f.check, f.outcome, f.subject, f.observed
            ));
        }
        let status = if r.declared.is_some() {
            r.status.to_string()
        } else {
            format!("{} (absent)", r.status)
        };
        let _ = writeln!(
            out,
            "| {} {} | {} | {} | {} |",
            r.id,
            md_cell(&r.title),
            levels.join(","),
            status,
            md_cell(&notes.join("; "))
        );
    }
    out
}

fn md_cell(text: &str) -> String {
    text.replace('|', "\\|").replace('\n', " ")
}
