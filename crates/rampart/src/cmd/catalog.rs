//! `rampart catalog`: browse and export the IEC 62443-4-2 requirement catalog.

use std::fmt::Write as _;

use anyhow::Context as _;
use rampart_catalog::{
    Catalog, ComponentType, Fr, Kind, Requirement, SecurityLevel, Selection, oscal,
};

use crate::output::{self, Style, Table};
use crate::{BadInput, Outcome};

/// Output formats of `rampart catalog`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum Format {
    /// Aligned table for people, with a count per FR.
    Table,
    /// JSON array, one object per requirement (documented in docs/catalog.md).
    Json,
    /// CSV with a header row.
    Csv,
    /// OSCAL 1.2.1 catalog (JSON).
    Oscal,
}

#[derive(clap::Args)]
pub(crate) struct Args {
    /// Only requirements that apply to this component type: SAR, EDR, HDR or NDR.
    #[arg(long = "type", value_name = "TYPE", value_parser = parse_component_type)]
    component_type: Option<ComponentType>,
    /// Only requirements in the SL-C requirement set of this level (1..4).
    #[arg(long, value_name = "LEVEL", value_parser = parse_level)]
    sl: Option<SecurityLevel>,
    /// Only one foundational requirement: FR1..FR7 or IAC, UC, SI, DC, RDF, TRE, RA.
    #[arg(long, value_name = "FR", value_parser = parse_fr)]
    fr: Option<Fr>,
    /// Show one requirement with its enhancements, e.g. "CR 1.1" or "NDR 5.2".
    #[arg(long, value_name = "ID", conflicts_with_all = ["component_type", "sl", "fr"])]
    id: Option<String>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Table)]
    format: Format,
}

fn parse_component_type(text: &str) -> Result<ComponentType, rampart_catalog::ParseError> {
    text.parse()
}

fn parse_level(text: &str) -> Result<SecurityLevel, rampart_catalog::ParseError> {
    text.parse()
}

fn parse_fr(text: &str) -> Result<Fr, rampart_catalog::ParseError> {
    text.parse()
}

pub(crate) fn run(args: &Args) -> anyhow::Result<Outcome> {
    let catalog = Catalog::builtin();
    let style = Style::new(args.format == Format::Table && output::colour_stdout());
    let text = if let Some(id) = &args.id {
        let requirement = catalog
            .find(id)
            .map_err(|e| BadInput(format!("--id: {e}")))?;
        let mut rows = vec![requirement];
        rows.extend(catalog.enhancements(requirement.id()));
        match args.format {
            Format::Table => detail(catalog, requirement, style),
            Format::Json => json(&rows)?,
            Format::Csv => csv(&rows)?,
            Format::Oscal => {
                return Err(BadInput(
                    "--format oscal exports a catalog; use it with --type/--sl/--fr, not --id"
                        .into(),
                )
                .into());
            }
        }
    } else {
        let selection = Selection {
            component_type: args.component_type,
            level: args.sl,
            fr: args.fr,
        };
        let rows = catalog.select(&selection);
        match args.format {
            Format::Table => table(&rows, selection, style),
            Format::Json => json(&rows)?,
            Format::Csv => csv(&rows)?,
            Format::Oscal => {
                let mut text = serde_json::to_string_pretty(&oscal::catalog_document_for(
                    catalog, &selection,
                ))?;
                text.push('\n');
                text
            }
        }
    };
    output::print(&text).context("writing to stdout")?;
    Ok(Outcome::Ok)
}

fn table(rows: &[&Requirement], selection: Selection, style: Style) -> String {
    let mut table = Table::new(["ID", "FR", "TYPES", "SL-C", "TITLE"]);
    for r in rows {
        let indent = if r.kind() == Kind::Re { "  " } else { "" };
        table.row(vec![
            format!("{indent}{}", r.id()),
            r.fr().map_or_else(|| "-".to_owned(), |fr| fr.to_string()),
            r.component_types().to_string(),
            r.sl().to_string(),
            r.title().to_owned(),
        ]);
    }
    let mut out = table.render(style);
    let mut scope = Vec::new();
    if let Some(t) = selection.component_type {
        scope.push(format!("{t}"));
    }
    if let Some(level) = selection.level {
        scope.push(format!("SL {level}"));
    }
    if let Some(fr) = selection.fr {
        scope.push(fr.to_string());
    }
    let scope = if scope.is_empty() {
        String::new()
    } else {
        format!(" ({})", scope.join(", "))
    };
    let mut counts = Vec::new();
    for fr in Fr::ALL {
        let n = rows.iter().filter(|r| r.fr() == Some(fr)).count();
        if n > 0 {
            counts.push(format!("{fr} {n}"));
        }
    }
    let ccsc = rows.iter().filter(|r| r.kind() == Kind::Ccsc).count();
    if ccsc > 0 {
        counts.push(format!("CCSC {ccsc}"));
    }
    let _ = writeln!(
        out,
        "\n{}{} requirements{scope}{}: {}",
        style.bold,
        rows.len(),
        style.reset,
        counts.join(", ")
    );
    let _ = writeln!(
        out,
        "{}SL-C: the levels at which a requirement is in the set (·: not required).{}",
        style.dim, style.reset
    );
    out
}

fn detail(catalog: &Catalog, r: &Requirement, style: Style) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{}{}  {}{}",
        style.bold,
        r.id(),
        r.title(),
        style.reset
    );
    let fr = r.fr().map_or_else(
        || "none (a common component security constraint applies with every FR)".to_owned(),
        |fr| format!("{fr} {} – {}", fr.abbreviation(), fr.name()),
    );
    let _ = writeln!(out, "  kind:        {}", r.kind());
    let _ = writeln!(out, "  FR:          {fr}");
    if let Some(parent) = r.parent() {
        let _ = writeln!(out, "  enhances:    {parent}");
    }
    let types: Vec<String> = r
        .component_types()
        .iter()
        .map(|t| format!("{t} ({})", t.name()))
        .collect();
    let _ = writeln!(out, "  applies to:  {}", types.join(", "));
    let levels: Vec<String> = r.sl().levels().map(|l| l.to_string()).collect();
    let _ = writeln!(out, "  required at: SL-C {}", levels.join(", "));
    let confidence = match r.confidence() {
        rampart_catalog::Confidence::High => "high",
        rampart_catalog::Confidence::Medium => "medium",
    };
    let _ = writeln!(
        out,
        "  confidence:  {confidence} (sources: {})",
        r.sources().join(", ")
    );
    if let Some(decision) = r.decision() {
        out.push_str("  decision:\n");
        out.push_str(&output::wrap(decision, 90, "    "));
    }
    out.push('\n');
    out.push_str(&output::wrap(r.summary(), 90, "  "));
    let enhancements: Vec<&Requirement> = catalog.enhancements(r.id()).collect();
    if !enhancements.is_empty() {
        let _ = writeln!(out, "\n{}Enhancements{}", style.bold, style.reset);
        let mut table = Table::new(["ID", "SL-C", "TITLE"]);
        for re in &enhancements {
            table.row(vec![
                re.id().to_string(),
                re.sl().to_string(),
                re.title().to_owned(),
            ]);
        }
        for line in table.render(Style::new(false)).lines() {
            let _ = writeln!(out, "  {line}");
        }
    }
    out
}

fn json(rows: &[&Requirement]) -> anyhow::Result<String> {
    let mut text = serde_json::to_string_pretty(rows)?;
    text.push('\n');
    Ok(text)
}

fn csv(rows: &[&Requirement]) -> anyhow::Result<String> {
    let mut writer = ::csv::Writer::from_writer(Vec::new());
    writer.write_record([
        "id",
        "kind",
        "fr",
        "parent",
        "component_types",
        "title",
        "sl1",
        "sl2",
        "sl3",
        "sl4",
        "summary",
    ])?;
    for r in rows {
        let mut record = vec![
            r.id().to_string(),
            r.kind().to_string(),
            r.fr().map(|fr| fr.to_string()).unwrap_or_default(),
            r.parent().map(|p| p.to_string()).unwrap_or_default(),
            r.component_types()
                .iter()
                .map(ComponentType::code)
                .collect::<Vec<_>>()
                .join("|"),
            r.title().to_owned(),
        ];
        record.extend(
            SecurityLevel::ALL
                .iter()
                .map(|l| u8::from(r.sl().required_at(*l)).to_string()),
        );
        record.push(r.summary().to_owned());
        writer.write_record(&record)?;
    }
    Ok(String::from_utf8(writer.into_inner()?)?)
}
