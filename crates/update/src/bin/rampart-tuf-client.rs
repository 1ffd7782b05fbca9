//! `rampart-tuf-client`: the TUF conformance suite's client-under-test contract, on the same
//! verification code as `rampart update` (`rampart_update::tuf`).
//!
//! ```text
//! rampart-tuf-client --metadata-dir DIR init TRUSTED_ROOT_FILE
//! rampart-tuf-client --metadata-dir DIR --metadata-url URL refresh
//! rampart-tuf-client --metadata-dir DIR --metadata-url URL --target-name NAME \
//!     [--target-name NAME2 ...] --target-base-url URL --target-dir DIR download
//! ```
//!
//! Exit status 0 on success, 1 on any failure (usage errors included, as the suite expects).
//! URLs are `http://`, `https://` (with `--ca FILE`, the CA certificates to trust) or
//! `file://`. The clock is the system clock.

#![forbid(unsafe_code)]

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::{Context as _, bail};
use clap::{Parser, Subcommand};
use rampart_update::fetch::{AnyFetcher, FileFetcher, HttpFetcher};
use rampart_update::tuf::{self, Repository};

/// A TUF 1.0 client for the tuf-conformance suite.
#[derive(Debug, Parser)]
#[command(name = "rampart-tuf-client", version)]
struct Cli {
    /// The directory of the trusted metadata.
    #[arg(long, value_name = "DIR")]
    metadata_dir: PathBuf,
    /// The base URL of the repository's metadata.
    #[arg(long, value_name = "URL")]
    metadata_url: Option<String>,
    /// A target path to download (repeatable).
    #[arg(long, value_name = "NAME")]
    target_name: Vec<String>,
    /// The base URL of the repository's targets.
    #[arg(long, value_name = "URL")]
    target_base_url: Option<String>,
    /// The directory downloaded targets are stored in (under their URL-encoded names).
    #[arg(long, value_name = "DIR")]
    target_dir: Option<PathBuf>,
    /// PEM CA certificates to trust for https:// URLs.
    #[arg(long, value_name = "FILE")]
    ca: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Trusts the given root: stores it as root.json in the metadata directory.
    Init {
        /// The initial trusted root.json.
        trusted_root: PathBuf,
    },
    /// Updates the top-level metadata from the repository.
    Refresh,
    /// Refreshes, then downloads and verifies the named targets.
    Download,
}

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            return if e.use_stderr() {
                ExitCode::from(1)
            } else {
                ExitCode::SUCCESS
            };
        }
    };
    match run(&cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("rampart-tuf-client: {e:#}");
            ExitCode::from(1)
        }
    }
}

fn run(cli: &Cli) -> anyhow::Result<()> {
    match &cli.command {
        Command::Init { trusted_root } => {
            let bytes = rampart_vault::read_capped(trusted_root, tuf::DEFAULT_ROOT_MAX)
                .with_context(|| format!("reading {}", trusted_root.display()))?;
            Repository::<FileFetcher>::init(&cli.metadata_dir, &bytes)?;
            Ok(())
        }
        Command::Refresh => {
            open(cli, "")?.refresh()?;
            Ok(())
        }
        Command::Download => download(cli),
    }
}

fn open(cli: &Cli, target_url: &str) -> anyhow::Result<Repository<AnyFetcher>> {
    let Some(metadata_url) = &cli.metadata_url else {
        bail!("--metadata-url is required");
    };
    let http = if let Some(ca) = &cli.ca {
        let tls = rampart_vault::tls::client_config(ca, None)
            .with_context(|| format!("the CA certificates in {}", ca.display()))?;
        HttpFetcher::with_tls(tls)
    } else {
        HttpFetcher::plain()
    };
    let fetcher = AnyFetcher { http };
    Ok(Repository::load(
        &cli.metadata_dir,
        metadata_url,
        target_url,
        fetcher,
        Arc::new(rampart_clock::SystemClock::new()),
    )?)
}

fn download(cli: &Cli) -> anyhow::Result<()> {
    let (Some(target_url), Some(target_dir)) = (&cli.target_base_url, &cli.target_dir) else {
        bail!("download needs --target-base-url and --target-dir");
    };
    if cli.target_name.is_empty() {
        bail!("download needs at least one --target-name");
    }
    let mut repository = open(cli, target_url)?;
    repository.refresh()?;
    std::fs::create_dir_all(target_dir)
        .with_context(|| format!("creating {}", target_dir.display()))?;
    for name in &cli.target_name {
        let info = repository
            .target(name)?
            .with_context(|| format!("no trusted role lists the target {name:?}"))?;
        let path = target_dir.join(tuf::encode_name(name));
        if let Ok(bytes) = rampart_vault::read_capped(&path, info.length)
            && tuf::verify_target(name, &info, &bytes).is_ok()
        {
            // Already here with the right length and hashes: not fetched again.
            continue;
        }
        store_target(&repository, &info, name, &path)?;
    }
    Ok(())
}

/// Downloads into a temporary file beside `path` and renames it over `path` only once the
/// length and hashes are verified.
fn store_target(
    repository: &Repository<AnyFetcher>,
    info: &tuf::TargetInfo,
    name: &str,
    path: &Path,
) -> anyhow::Result<()> {
    let mut temp_name = path.file_name().unwrap_or_default().to_os_string();
    temp_name.push(format!(".tmp-{}", std::process::id()));
    let temp = path.with_file_name(temp_name);
    let result = (|| -> anyhow::Result<()> {
        let file =
            std::fs::File::create(&temp).with_context(|| format!("creating {}", temp.display()))?;
        let mut writer = std::io::BufWriter::new(file);
        repository.download_target(info, name, &mut writer)?;
        writer.flush()?;
        writer
            .into_inner()
            .map_err(std::io::IntoInnerError::into_error)?
            .sync_all()?;
        std::fs::rename(&temp, path).with_context(|| format!("storing {}", path.display()))?;
        if let Some(dir) = path.parent() {
            std::fs::File::open(dir)?.sync_all()?;
        }
        Ok(())
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&temp);
    }
    result
}
