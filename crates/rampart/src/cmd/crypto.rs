//! `rampart crypto`: the cryptographic inventory (CR 4.3), from `rampart_mgmt::crypto_inventory`;
//! the running gateway serves the JSON form at `GET /api/v1/crypto`.

use std::path::PathBuf;

use anyhow::Context as _;
use rampart_mgmt::crypto_inventory;
use rampart_vault::DataDir;

use crate::output::print;
use crate::{BadInput, Outcome};

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum Format {
    /// One line per algorithm or key.
    Table,
    /// A JSON array, one object per algorithm or key.
    Json,
    /// A CycloneDX 1.6 cryptographic bill of materials (CBOM).
    Cyclonedx,
}

/// List every algorithm and key in use: length or curve, where the key lives (encrypted
/// file, TPM, plain file issued to a client), purpose and the requirements it serves.
#[derive(clap::Args)]
pub(crate) struct Args {
    /// A data directory whose keys to list; without it, the algorithms of this build.
    #[arg(long, value_name = "DIR")]
    data: Option<PathBuf>,
    /// Output format.
    #[arg(long, value_enum, default_value = "table")]
    format: Format,
}

pub(crate) fn run(args: &Args) -> anyhow::Result<Outcome> {
    let data = match &args.data {
        Some(path) => Some(DataDir::open(path).map_err(|e| BadInput(format!("--data: {e}")))?),
        None => None,
    };
    let server_key = data.as_ref().and_then(crypto_inventory::server_key_held);
    let assets = crypto_inventory::inventory(data.as_ref(), server_key);
    let text = match args.format {
        Format::Table => crypto_inventory::to_table(&assets),
        Format::Json => serde_json::to_string_pretty(&crypto_inventory::to_json(&assets))? + "\n",
        Format::Cyclonedx => {
            serde_json::to_string_pretty(&crypto_inventory::to_cyclonedx(&assets))? + "\n"
        }
    };
    print(&text).context("writing to stdout")?;
    Ok(Outcome::Ok)
}
