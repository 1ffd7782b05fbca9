//! The self-contained HTML report: one file with inline CSS and an inline SVG chart, no
//! scripts and no external resources, so that it opens offline and prints as it shows.

use std::fmt::Write as _;

use rampart_catalog::Fr;

use super::escape_xml as esc;
use crate::engine::{Assessment, Gap, RequirementResult};
use crate::live::Outcome;
use crate::profile::{Evidence, Status};

/// The report's stylesheet (also used by the security manual, which shares its look).
pub const STYLE: &str = r"
:root { --ok: #1b7f3b; --bad: #b42318; --warn: #b54708; --muted: #5b6270; --line: #d0d5dd; }
* { box-sizing: border-box; }
body { font: 14px/1.45 system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif; color: #101828;
  margin: 0 auto; max-width: 1180px; padding: 24px; }
h1 { font-size: 22px; margin: 0 0 4px; } h2 { font-size: 17px; margin: 28px 0 8px; }
.meta { color: var(--muted); margin: 0 0 16px; }
.verdict { padding: 10px 14px; border-radius: 6px; font-weight: 600; margin: 12px 0; }
.verdict.pass { background: #ecfdf3; color: var(--ok); border: 1px solid #abefc6; }
.verdict.fail { background: #fef3f2; color: var(--bad); border: 1px solid #fecdca; }
table { border-collapse: collapse; width: 100%; margin: 6px 0 12px; }
th, td { border-bottom: 1px solid var(--line); padding: 5px 8px; text-align: left; vertical-align: top; }
th { background: #f2f4f7; font-weight: 600; }
tr { page-break-inside: avoid; }
td.id { white-space: nowrap; font-weight: 600; }
.status { display: inline-block; padding: 1px 7px; border-radius: 10px; font-size: 12px; white-space: nowrap; }
.s-met { background: #dcfae6; color: var(--ok); } .s-not-applicable { background: #eaecf0; color: #344054; }
.s-partial, .s-compensated { background: #fef0c7; color: var(--warn); }
.s-not-met, .s-unverified { background: #fee4e2; color: var(--bad); }
.re td.id { padding-left: 22px; font-weight: 500; }
ul.ev { margin: 0; padding-left: 16px; } code { font-size: 12px; }
.small { color: var(--muted); font-size: 12px; }
svg text { font-family: system-ui, sans-serif; }
@media print { body { padding: 0; max-width: none; } a { color: inherit; text-decoration: none; }
  h2 { page-break-after: avoid; } }
";

/// The HTML report.
pub fn html(a: &Assessment) -> String {
    let mut out = String::with_capacity(64 << 10);
    let c = &a.component;
    let title = format!("IEC 62443-4-2 assessment: {} {}", c.product, c.version);
    let _ = write!(
        out,
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <title>{}</title>\n<style>{STYLE}</style>\n</head>\n<body>\n<h1>{}</h1>\n",
        esc(&title),
        esc(&title)
    );
    let _ = writeln!(
        out,
        "<p class=\"meta\">{} · {} ({}) · profile <code>{}</code> (SHA-256 <code>{}</code>) · {} catalog {} · generated {} by {} {}</p>",
        esc(&c.vendor),
        c.component_type,
        c.component_type.name(),
        esc(&a.profile.path),
        esc(&a.profile.sha256[..16.min(a.profile.sha256.len())]),
        esc(&a.catalog.standard),
        esc(&a.catalog.version),
        esc(&a.generated_at),
        esc(&a.tool.name),
        esc(&a.tool.version)
    );
    if let Some(d) = &c.description {
        let _ = writeln!(out, "<p>{}</p>", esc(d));
    }
    let (class, verdict) = if a.passed {
        (
            "pass",
            format!("PASS: SL-C {} reaches SL-T {}", a.sl_c, a.sl_t),
        )
    } else {
        (
            "fail",
            format!(
                "FAIL: SL-C {} does not reach SL-T {} — {} gap(s)",
                a.sl_c,
                a.sl_t,
                a.gaps.len()
            ),
        )
    };
    let waived = if a.waived.is_empty() {
        String::new()
    } else {
        format!(" · {} gap(s) waived", a.waived.len())
    };
    let _ = writeln!(
        out,
        "<div class=\"verdict {class}\">{}{}</div>",
        esc(&verdict),
        esc(&waived)
    );

    out.push_str("<h2>SL-T and SL-C per foundational requirement</h2>\n");
    out.push_str(&chart(a));
    out.push_str("<table>\n<tr><th>FR</th><th>name</th><th>SL-T</th><th>SL-C</th><th>with countermeasures</th><th>gaps</th></tr>\n");
    for fr in Fr::ALL {
        let gaps = a.gaps.iter().filter(|g| g.fr == fr).count();
        let _ = writeln!(
            out,
            "<tr><td class=\"id\">{fr} {}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{gaps}</td></tr>",
            fr.abbreviation(),
            fr.name(),
            a.sl_t.get(fr),
            a.sl_c.get(fr),
            a.sl_c_with_countermeasures.get(fr)
        );
    }
    out.push_str("</table>\n<p class=\"small\">SL-C counts only what the component meets by itself; \
        \"with countermeasures\" also counts requirements met by a compensating countermeasure (CCSC 2).</p>\n");

    gap_table(&mut out, "Gaps", &a.gaps);
    gap_table(&mut out, "Waived gaps", &a.waived);

    if let Some(t) = &a.test_results {
        let ids = |ids: &[rampart_catalog::RequirementId]| {
            ids.iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join(", ")
        };
        let _ = writeln!(
            out,
            "<h2>Test results</h2>\n<p class=\"meta\">From <code>{}</code> ({} test cases): {} met claims verified by their tests; unverified (count as not met): {}.</p>",
            esc(&t.sources.join(", ")),
            t.testcases,
            t.verified.len(),
            esc(&if t.unverified.is_empty() {
                "none".to_owned()
            } else {
                ids(&t.unverified)
            })
        );
    }

    if let Some(live) = &a.live {
        let _ = writeln!(
            out,
            "<h2>Live evidence</h2>\n<p class=\"meta\">From <code>{}</code>, reported {} by {} {} {}.</p>",
            esc(&live.source),
            esc(&live.generated_at),
            esc(&live.component.product),
            esc(&live.component.version),
            live.component.component_type
        );
        out.push_str("<table>\n<tr><th>requirement</th><th>check</th><th>subject</th><th>expected</th><th>observed</th><th>outcome</th></tr>\n");
        for f in &live.findings {
            let class = match (f.outcome, f.decides_not_met()) {
                (Outcome::Pass, _) => "s-met",
                (_, true) => "s-not-met",
                _ => "s-partial",
            };
            let _ = writeln!(
                out,
                "<tr><td class=\"id\">{}</td><td>{}</td><td><code>{}</code></td><td>{}</td><td><code>{}</code></td><td><span class=\"status {class}\">{}</span>{}</td></tr>",
                f.requirement,
                esc(&f.check),
                esc(&f.subject),
                esc(&f.expected),
                esc(&f.observed),
                f.outcome,
                if f.outcome == Outcome::Pass {
                    String::new()
                } else {
                    format!(" {}", esc(&f.message))
                }
            );
        }
        out.push_str("</table>\n");
    }

    out.push_str("<h2>Requirement matrix</h2>\n<table>\n<tr><th>requirement</th><th>title</th><th>SL</th><th>status</th><th>evidence and notes</th></tr>\n");
    for r in a.constraints.iter().chain(&a.requirements) {
        matrix_row(&mut out, r);
    }
    out.push_str("</table>\n</body>\n</html>\n");
    out
}

fn gap_table(out: &mut String, title: &str, gaps: &[Gap]) {
    if gaps.is_empty() {
        return;
    }
    let _ = writeln!(out, "<h2>{title} ({})</h2>", gaps.len());
    out.push_str("<table>\n<tr><th>FR</th><th>level</th><th>requirement</th><th>status</th><th>why</th><th>waiver</th></tr>\n");
    for g in gaps {
        let waiver = g.waiver.as_ref().map_or_else(String::new, |w| {
            format!(
                "{} until {}{}",
                esc(&w.justification),
                w.expires,
                if w.expired { " (expired)" } else { "" }
            )
        });
        let _ = writeln!(
            out,
            "<tr><td>{}</td><td>SL {}</td><td class=\"id\">{} <span class=\"small\">{}</span></td><td>{}</td><td>{}</td><td>{waiver}</td></tr>",
            g.fr,
            g.level,
            g.id,
            esc(&g.title),
            badge(g.status),
            esc(&g.reason)
        );
    }
    out.push_str("</table>\n");
}

fn badge(status: Status) -> String {
    format!("<span class=\"status s-{status}\">{status}</span>")
}

fn matrix_row(out: &mut String, r: &RequirementResult) {
    let levels: Vec<String> = r.levels.iter().map(ToString::to_string).collect();
    let mut cells = String::new();
    if !r.evidence.is_empty() {
        cells.push_str("<ul class=\"ev\">");
        for e in &r.evidence {
            let item = match e {
                Evidence::Url(u) => format!("<a href=\"{}\">{}</a>", esc(u), esc(u)),
                other => format!("{} <code>{}</code>", other.kind(), esc(other.value())),
            };
            let _ = write!(cells, "<li>{item}</li>");
        }
        cells.push_str("</ul>");
    }
    for (label, text) in [
        ("justification", &r.justification),
        ("countermeasure", &r.countermeasure),
        ("notes", &r.notes),
    ] {
        if let Some(text) = text {
            let _ = write!(cells, "<div><b>{label}:</b> {}</div>", esc(text));
        }
    }
    if let (false, Some(reason)) = (r.counts, &r.reason) {
        let _ = write!(cells, "<div class=\"small\">{}</div>", esc(reason));
    }
    for f in r.live.iter().filter(|f| f.outcome != Outcome::Pass) {
        let _ = write!(
            cells,
            "<div class=\"small\">live {} {}: <code>{}</code> = <code>{}</code> — {}</div>",
            esc(&f.check),
            f.outcome,
            esc(&f.subject),
            esc(&f.observed),
            esc(&f.message)
        );
    }
    let status = if r.declared.is_none() {
        format!("{} <span class=\"small\">absent</span>", badge(r.status))
    } else {
        badge(r.status)
    };
    let class = if r.kind == rampart_catalog::Kind::Re {
        " class=\"re\""
    } else {
        ""
    };
    let _ = writeln!(
        out,
        "<tr{class}><td class=\"id\">{}</td><td>{}</td><td>{}</td><td>{status}</td><td>{cells}</td></tr>",
        r.id,
        esc(&r.title),
        levels.join(",")
    );
}

/// Grouped bars per FR: SL-T (outline), SL-C (solid) and SL-C with countermeasures (light).
#[allow(clippy::many_single_char_names)] // Plot coordinates read best short.
fn chart(a: &Assessment) -> String {
    const WIDTH: u32 = 760;
    const HEIGHT: u32 = 250;
    const LEFT: u32 = 40;
    const TOP: u32 = 16;
    const PLOT_H: u32 = 180;
    const GROUP: u32 = 100;
    const BAR: u32 = 22;
    let y = |level: u8| TOP + PLOT_H - u32::from(level) * PLOT_H / 4;
    let mut s = String::new();
    let _ = writeln!(
        s,
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{WIDTH}\" height=\"{HEIGHT}\" viewBox=\"0 0 {WIDTH} {HEIGHT}\" role=\"img\" aria-label=\"SL-T and SL-C per FR\">"
    );
    for level in 0..=4u8 {
        let _ = writeln!(
            s,
            "<line x1=\"{LEFT}\" x2=\"{}\" y1=\"{}\" y2=\"{}\" stroke=\"#d0d5dd\"/><text x=\"{}\" y=\"{}\" font-size=\"11\" text-anchor=\"end\" fill=\"#5b6270\">SL {level}</text>",
            LEFT + 7 * GROUP,
            y(level),
            y(level),
            LEFT - 4,
            y(level) + 4
        );
    }
    for (i, fr) in (0u32..).zip(Fr::ALL) {
        let x0 = LEFT + i * GROUP + 14;
        let (t, c, cm) = (
            a.sl_t.get(fr),
            a.sl_c.get(fr),
            a.sl_c_with_countermeasures.get(fr),
        );
        let colour = if c >= t { "#1b7f3b" } else { "#b42318" };
        // A level of 0 still gets a 2-pixel sliver, so that "none" reads as a value.
        let bar = |x: u32, level: u8, style: &str, label: &str| {
            let height = (y(0) - y(level)).max(2);
            format!(
                "<rect x=\"{x}\" y=\"{}\" width=\"{BAR}\" height=\"{height}\" {style}><title>{fr} {label}: {level}</title></rect>",
                y(0) - height
            )
        };
        s.push_str(&bar(
            x0,
            t,
            "fill=\"#ffffff\" stroke=\"#344054\" stroke-width=\"2\" stroke-dasharray=\"4 2\"",
            "SL-T",
        ));
        s.push_str(&bar(x0 + BAR + 4, c, &format!("fill=\"{colour}\""), "SL-C"));
        s.push_str(&bar(
            x0 + 2 * (BAR + 4),
            cm,
            "fill=\"#98a2b3\"",
            "SL-C with countermeasures",
        ));
        let _ = writeln!(
            s,
            "<text x=\"{}\" y=\"{}\" font-size=\"12\" text-anchor=\"middle\" fill=\"#101828\">{fr} {}</text>",
            x0 + u32::midpoint(3 * BAR, 8),
            y(0) + 18,
            fr.abbreviation()
        );
    }
    let legend_y = HEIGHT - 12;
    let _ = writeln!(
        s,
        "<rect x=\"{LEFT}\" y=\"{}\" width=\"12\" height=\"12\" fill=\"#fff\" stroke=\"#344054\" stroke-dasharray=\"4 2\"/><text x=\"{}\" y=\"{legend_y}\" font-size=\"12\">SL-T (target)</text>\
         <rect x=\"{}\" y=\"{}\" width=\"12\" height=\"12\" fill=\"#1b7f3b\"/><text x=\"{}\" y=\"{legend_y}\" font-size=\"12\">SL-C (red: below SL-T)</text>\
         <rect x=\"{}\" y=\"{}\" width=\"12\" height=\"12\" fill=\"#98a2b3\"/><text x=\"{}\" y=\"{legend_y}\" font-size=\"12\">with compensating countermeasures</text>",
        legend_y - 10,
        LEFT + 16,
        LEFT + 130,
        legend_y - 10,
        LEFT + 146,
        LEFT + 330,
        legend_y - 10,
        LEFT + 346
    );
    s.push_str("</svg>\n");
    s
}
