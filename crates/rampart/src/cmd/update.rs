//! `rampart update …` and `rampart launch`: the maker's TUF repository and bundles, the
//! device's A/B slots, and the launcher that verifies a slot before it runs it (FR3). The work
//! is done by `rampart_update`; this module parses, audits and prints. docs/update.md has the
//! model and the threat list.

use std::fs::File;
use std::io::{BufReader, Write as _};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::Context as _;
use rampart_audit::{Category, NewEvent, Outcome as AuditOutcome, Severity};
use rampart_update::bundle::{self, BundleFile, FileRole, Release};
use rampart_update::device::{Channel, ChannelError, Device};
use rampart_update::repo::{InitOptions, MakerRepo, ReleaseKeys, RepoError, Role, Threshold};
use rampart_update::slots::{DEFAULT_MAX_ATTEMPTS, InstallOptions, SlotName, Slots, UpdateError};
use rampart_vault::{DevicePublicKey, Entry};

use crate::component::Component;
use crate::output::{self, Style, Table};
use crate::{BadInput, Outcome};

#[derive(clap::Subcommand)]
pub(crate) enum Command {
    /// The maker's side: a TUF repository of update bundles (keys, metadata, targets).
    #[command(subcommand)]
    Repo(RepoCommand),
    /// Build an update bundle: the binary, its SBOM and release notes, and a manifest signed
    /// by the repository's release key.
    Bundle(BundleArgs),
    /// Provision a device with the supplier's trust: the TUF root and the release keys that
    /// sign bundle manifests (pinned; replacing them needs --replace).
    Trust(TrustArgs),
    /// Refresh the TUF metadata of the configured repository (and of the owner's approval
    /// repository, when an owner root is pinned) and report the newest bundle this device
    /// may install. Exit 0 whether or not one is available; 1 when a repository fails
    /// verification (rollback, freeze, signatures): nothing from it is trusted.
    Check(DataArg),
    /// Check, then download the newest installable bundle through TUF (length and hashes
    /// verified as it streams) into DATA/update/downloads/.
    Download(DataArg),
    /// Install a bundle into the slot that is not committed, as a trial the launcher boots
    /// (or, with --commit, as the committed slot of a device's first install). Without
    /// --bundle, the bundle `update download` fetched.
    Install(InstallArgs),
    /// The slots, the boot state and its history.
    Status(StatusArgs),
    /// Commit the slot on trial: it becomes the known-good slot and the security-version
    /// floor rises to its security version. The running gateway does this itself after its
    /// health check holds.
    Commit(CommitArgs),
    /// Abandon the slot on trial, or return to the previous slot (never below the floor).
    Rollback(DataArg),
    /// The same on a running gateway, through its management API (GET /api/v1/update and
    /// POST /api/v1/update/…; check, download, install, rollback and restart need
    /// update.install).
    #[command(subcommand)]
    Live(LiveCommand),
}

#[derive(clap::Subcommand)]
pub(crate) enum LiveCommand {
    /// Slots, boot state, repository, last check, downloaded bundle.
    Status(crate::cmd::ids::Gateway),
    /// Check the repository for a newer bundle.
    Check(crate::cmd::ids::Gateway),
    /// Download the newest installable bundle.
    Download(crate::cmd::ids::Gateway),
    /// Install the downloaded bundle as a trial; --restart restarts the gateway into it.
    Install {
        #[command(flatten)]
        gateway: crate::cmd::ids::Gateway,
        /// Restart into the new slot right away.
        #[arg(long)]
        restart: bool,
        /// Accept a release older than the committed one (never below the security version).
        #[arg(long)]
        allow_downgrade: bool,
    },
    /// Abandon the trial, or return to the previous slot.
    Rollback(crate::cmd::ids::Gateway),
    /// Restart the gateway (clean stop, exit code 75, for the service manager to restart).
    Restart(crate::cmd::ids::Gateway),
}

#[derive(clap::Subcommand)]
pub(crate) enum RepoCommand {
    /// Create the keys (Ed25519, one file per key, 0600) and a repository: root version 1,
    /// empty targets, snapshot and timestamp, and trust/ for provisioning devices.
    Init(RepoInitArgs),
    /// Add a bundle as a target (checked against the release key) and re-sign.
    Add(RepoAddArgs),
    /// Re-sign targets, snapshot and timestamp with new versions and fresh expiries.
    Sign(RepoArgs),
    /// Replace the keys of a role; a root change is signed by the old and the new root keys.
    Rotate(RepoRotateArgs),
    /// Copy the repository to a served directory: targets, metadata, timestamp last.
    Publish(RepoPublishArgs),
    /// Versions, expiries, keys and targets.
    Status(RepoStatusArgs),
}

#[derive(clap::Args)]
pub(crate) struct RepoArgs {
    /// The repository directory.
    #[arg(long, value_name = "DIR")]
    repo: PathBuf,
    /// The key directory (keep it off the web server; root keys offline).
    #[arg(long, value_name = "DIR")]
    keys: PathBuf,
}

#[derive(clap::Args)]
pub(crate) struct RepoInitArgs {
    #[command(flatten)]
    repo: RepoArgs,
    /// Keys and signatures a role needs, ROLE=N (N keys, all N must sign) or ROLE=K/N
    /// (K of N); repeatable. Default one key per role.
    #[arg(long, value_name = "ROLE=K/N")]
    threshold: Vec<String>,
    /// How long a role's metadata is valid, ROLE=DAYS; repeatable. Defaults: root 365,
    /// targets 90, snapshot 7, timestamp 1.
    #[arg(long, value_name = "ROLE=DAYS")]
    expiry: Vec<String>,
}

#[derive(clap::Args)]
pub(crate) struct RepoAddArgs {
    #[command(flatten)]
    repo: RepoArgs,
    /// The bundle file (from `rampart update bundle`).
    #[arg(long, value_name = "FILE")]
    bundle: PathBuf,
    /// The target name; default rampart-VERSION-TARGET.bundle.
    #[arg(long)]
    name: Option<String>,
    /// Check the bundle against these release keys instead of this repository's own: how an
    /// asset owner approves the supplier's bundle in the owner's repository (NDR 3.13).
    #[arg(long, value_name = "FILE")]
    release_keys: Option<PathBuf>,
}

#[derive(clap::Args)]
pub(crate) struct RepoRotateArgs {
    #[command(flatten)]
    repo: RepoArgs,
    /// The role whose keys to replace: root, targets, snapshot, timestamp or release.
    #[arg(long)]
    role: String,
}

#[derive(clap::Args)]
pub(crate) struct RepoPublishArgs {
    /// The repository directory.
    #[arg(long, value_name = "DIR")]
    repo: PathBuf,
    /// The directory the web server serves.
    #[arg(long, value_name = "DIR")]
    to: PathBuf,
}

#[derive(clap::Args)]
pub(crate) struct RepoStatusArgs {
    /// The repository directory.
    #[arg(long, value_name = "DIR")]
    repo: PathBuf,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Table)]
    format: Format,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum Format {
    /// For a terminal.
    Table,
    /// JSON.
    Json,
}

#[derive(clap::Args)]
pub(crate) struct BundleArgs {
    /// The key directory holding the release key.
    #[arg(long, value_name = "DIR")]
    keys: PathBuf,
    /// The `rampart` binary to ship.
    #[arg(long, value_name = "FILE")]
    binary: PathBuf,
    /// The release version (semantic versioning).
    #[arg(long)]
    version: String,
    /// The security version: raise it when a release fixes a vulnerability, so devices
    /// refuse every older bundle.
    #[arg(long)]
    security_version: u64,
    /// The target triple the binary was built for; default this build's architecture and OS.
    #[arg(long)]
    target: Option<String>,
    /// The SBOM (CycloneDX JSON) of the binary.
    #[arg(long, value_name = "FILE")]
    sbom: Option<PathBuf>,
    /// Release notes.
    #[arg(long, value_name = "FILE")]
    notes: Option<PathBuf>,
    /// The bundle file to write.
    #[arg(long, value_name = "FILE")]
    out: PathBuf,
}

#[derive(clap::Args)]
pub(crate) struct DataArg {
    /// The data directory.
    #[arg(long, value_name = "DIR", default_value = "rampart-data")]
    data: PathBuf,
}

#[derive(clap::Args)]
pub(crate) struct TrustArgs {
    #[command(flatten)]
    data: DataArg,
    /// The supplier's TUF root (trust/root.json of the repository).
    #[arg(long, value_name = "FILE")]
    root: PathBuf,
    /// The release keys (trust/release-keys.json of the repository).
    #[arg(long, value_name = "FILE")]
    release_keys: PathBuf,
    /// The supplier's repository: BASE serving BASE/metadata/ and BASE/targets/ (https://,
    /// http:// or file://).
    #[arg(long, value_name = "URL")]
    repository: Option<String>,
    /// The asset owner's TUF root: every update must then also be listed, with the same
    /// length and hashes, in the owner's repository (NDR 3.13).
    #[arg(long, value_name = "FILE", requires = "owner_repository")]
    owner_root: Option<PathBuf>,
    /// The asset owner's approval repository (same layout as --repository).
    #[arg(long, value_name = "URL", requires = "owner_root")]
    owner_repository: Option<String>,
    /// A CA certificate for https repositories.
    #[arg(long, value_name = "FILE")]
    ca: Option<PathBuf>,
    /// Replace trust that is already provisioned (audited at high severity).
    #[arg(long)]
    replace: bool,
}

#[derive(clap::Args)]
pub(crate) struct InstallArgs {
    #[command(flatten)]
    data: DataArg,
    /// The bundle file; default the one `rampart update download` fetched.
    #[arg(long, value_name = "FILE")]
    bundle: Option<PathBuf>,
    /// Commit at once: only for a device's first install, when no slot is committed.
    #[arg(long)]
    commit: bool,
    /// Accept a release older than the committed one (never below the security version).
    #[arg(long)]
    allow_downgrade: bool,
    /// Boot attempts the trial slot gets before the launcher falls back.
    #[arg(long, default_value_t = DEFAULT_MAX_ATTEMPTS, value_parser = clap::value_parser!(u32).range(1..=10))]
    max_attempts: u32,
}

#[derive(clap::Args)]
pub(crate) struct StatusArgs {
    #[command(flatten)]
    data: DataArg,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Table)]
    format: Format,
}

#[derive(clap::Args)]
pub(crate) struct CommitArgs {
    #[command(flatten)]
    data: DataArg,
    /// The slot to commit; default the one on trial.
    #[arg(long)]
    slot: Option<SlotName>,
}

#[derive(clap::Args)]
pub(crate) struct LaunchArgs {
    /// The data directory.
    #[arg(long, value_name = "DIR", default_value = "rampart-data")]
    data: PathBuf,
    /// What to run the slot's binary with; default `up --data DIR`.
    #[arg(last = true)]
    args: Vec<String>,
}

pub(crate) fn run(command: &Command) -> anyhow::Result<Outcome> {
    match command {
        Command::Repo(command) => repo(command),
        Command::Bundle(args) => make_bundle(args),
        Command::Trust(args) => trust(args),
        Command::Check(args) => check(args),
        Command::Download(args) => download(args),
        Command::Install(args) => install(args),
        Command::Status(args) => status(args),
        Command::Commit(args) => commit(args),
        Command::Rollback(args) => rollback(args),
        Command::Live(command) => live(command),
    }
}

fn now() -> jiff::Timestamp {
    rampart_audit::Clock::now(&rampart_audit::SystemClock::new())
}

fn repo_error(e: RepoError) -> anyhow::Error {
    match e {
        RepoError::State(_) | RepoError::Bundle(_) => BadInput(e.to_string()).into(),
        _ => anyhow::Error::new(e),
    }
}

fn repo(command: &RepoCommand) -> anyhow::Result<Outcome> {
    let status = match command {
        RepoCommand::Init(args) => {
            let mut options = InitOptions::new(now());
            for spec in &args.threshold {
                let (role, threshold) = parse_threshold(spec)?;
                options.thresholds.insert(role, threshold);
            }
            for spec in &args.expiry {
                let (role, days) = spec
                    .split_once('=')
                    .and_then(|(r, d)| Some((r.parse::<Role>().ok()?, d.parse::<i64>().ok()?)))
                    .filter(|(_, d)| (1..=3650).contains(d))
                    .ok_or_else(|| {
                        BadInput(format!(
                            "--expiry '{spec}': expected ROLE=DAYS with DAYS in 1..=3650"
                        ))
                    })?;
                options
                    .expiry
                    .insert(role, jiff::SignedDuration::from_hours(24 * days));
            }
            MakerRepo::new(&args.repo.repo, &args.repo.keys)
                .init(&options)
                .map_err(repo_error)?
        }
        RepoCommand::Add(args) => {
            let repo = MakerRepo::new(&args.repo.repo, &args.repo.keys);
            let added = match &args.release_keys {
                // An owner approving the supplier's bundle in the owner's repository.
                Some(path) => {
                    let keys = rampart_update::repo::read_release_keys(path).map_err(BadInput)?;
                    repo.add_bundle_signed_by(&args.bundle, args.name.as_deref(), &keys, now())
                }
                None => repo.add_bundle(&args.bundle, args.name.as_deref(), now()),
            };
            let (name, verified, status) = added.map_err(repo_error)?;
            println!(
                "added {name}: version {}, security version {}",
                verified.manifest.version, verified.manifest.security_version
            );
            status
        }
        RepoCommand::Sign(args) => MakerRepo::new(&args.repo, &args.keys)
            .sign(now())
            .map_err(repo_error)?,
        RepoCommand::Rotate(args) => {
            let role = args.role.parse::<Role>().map_err(BadInput)?;
            MakerRepo::new(&args.repo.repo, &args.repo.keys)
                .rotate(role, now())
                .map_err(repo_error)?
        }
        RepoCommand::Publish(args) => {
            let written = MakerRepo::new(&args.repo, PathBuf::new())
                .publish(&args.to)
                .map_err(repo_error)?;
            println!(
                "published to {} ({written} files written)",
                args.to.display()
            );
            return Ok(Outcome::Ok);
        }
        RepoCommand::Status(args) => {
            let status = MakerRepo::new(&args.repo, PathBuf::new())
                .status()
                .map_err(repo_error)?;
            if args.format == Format::Json {
                println!("{}", serde_json::to_string_pretty(&status)?);
                return Ok(Outcome::Ok);
            }
            status
        }
    };
    let mut table = Table::new(["role", "version", "expires", "keys", "threshold"]);
    for role in ["root", "targets", "snapshot", "timestamp"] {
        let (keys, threshold) = status.keys.get(role).cloned().unwrap_or_default();
        table.row(vec![
            role.into(),
            status
                .versions
                .get(role)
                .map_or_else(String::new, ToString::to_string),
            status
                .expires
                .get(role)
                .map_or_else(String::new, ToString::to_string),
            keys.iter()
                .map(|k| k.get(..12).unwrap_or(k))
                .collect::<Vec<_>>()
                .join(" "),
            threshold.to_string(),
        ]);
    }
    output::print(&table.render(Style::new(output::colour_stdout())))?;
    for (name, target) in &status.targets {
        println!(
            "target {name}: {} bytes, sha256 {}",
            target.length, target.sha256
        );
    }
    Ok(Outcome::Ok)
}

fn parse_threshold(spec: &str) -> anyhow::Result<(Role, Threshold)> {
    let bad = || {
        BadInput(format!(
            "--threshold '{spec}': expected ROLE=N or ROLE=K/N (1 <= K <= N <= 16)"
        ))
    };
    let (role, counts) = spec.split_once('=').ok_or_else(bad)?;
    let role = role.parse::<Role>().map_err(BadInput)?;
    let (k, n) = match counts.split_once('/') {
        Some((k, n)) => (k.parse::<u32>(), n.parse::<u32>()),
        None => (counts.parse::<u32>(), counts.parse::<u32>()),
    };
    let (Ok(threshold), Ok(keys)) = (k, n) else {
        return Err(bad().into());
    };
    if threshold == 0 || threshold > keys || keys > 16 {
        return Err(bad().into());
    }
    Ok((role, Threshold { keys, threshold }))
}

/// This build's architecture and OS, as a bundle's target triple must name them.
fn device_target() -> String {
    format!("{}-{}", std::env::consts::ARCH, std::env::consts::OS)
}

fn make_bundle(args: &BundleArgs) -> anyhow::Result<Outcome> {
    let version: semver::Version = args
        .version
        .parse()
        .map_err(|e| BadInput(format!("--version '{}': {e}", args.version)))?;
    let key = MakerRepo::new(PathBuf::new(), &args.keys)
        .release_key()
        .map_err(repo_error)?;
    let target = args.target.clone().unwrap_or_else(|| {
        format!(
            "{}-unknown-{}-gnu",
            std::env::consts::ARCH,
            std::env::consts::OS
        )
    });
    let opener = |path: PathBuf| -> Box<dyn Fn() -> std::io::Result<Box<dyn std::io::Read>>> {
        Box::new(move || Ok(Box::new(BufReader::new(File::open(&path)?)) as _))
    };
    for path in std::iter::once(&args.binary)
        .chain(args.sbom.as_ref())
        .chain(args.notes.as_ref())
    {
        if !path.is_file() {
            return Err(BadInput(format!("{}: not a file", path.display())).into());
        }
    }
    let mut files = vec![BundleFile {
        name: "rampart".into(),
        role: FileRole::Binary,
        open: opener(args.binary.clone()),
    }];
    if let Some(sbom) = &args.sbom {
        files.push(BundleFile {
            name: "sbom.cdx.json".into(),
            role: FileRole::Sbom,
            open: opener(sbom.clone()),
        });
    }
    if let Some(notes) = &args.notes {
        files.push(BundleFile {
            name: "RELEASE-NOTES.md".into(),
            role: FileRole::ReleaseNotes,
            open: opener(notes.clone()),
        });
    }
    let release = Release {
        version,
        security_version: args.security_version,
        target,
        created: now(),
    };
    let temp = args.out.with_extension("bundle.partial");
    let written = (|| -> anyhow::Result<bundle::VerifiedManifest> {
        let mut out = std::io::BufWriter::new(
            File::create(&temp).with_context(|| format!("create {}", temp.display()))?,
        );
        let verified = bundle::write_bundle(&mut out, &release, &files, &key)?;
        let file = out
            .into_inner()
            .map_err(std::io::IntoInnerError::into_error)?;
        file.sync_all()?;
        std::fs::rename(&temp, &args.out)
            .with_context(|| format!("rename to {}", args.out.display()))?;
        Ok(verified)
    })();
    let verified = match written {
        Ok(v) => v,
        Err(e) => {
            let _ = std::fs::remove_file(&temp);
            return Err(e);
        }
    };
    println!(
        "{}: rampart {} (security version {}) for {}, {} files, manifest sha256 {}",
        args.out.display(),
        verified.manifest.version,
        verified.manifest.security_version,
        verified.manifest.target,
        verified.manifest.files.len(),
        verified.digest()
    );
    Ok(Outcome::Ok)
}

fn update_dir(component: &Component) -> anyhow::Result<PathBuf> {
    Ok(component.data.dir(Entry::Update)?)
}

/// The release keys pinned on this device.
pub(crate) fn pinned_release_keys(update: &Path) -> anyhow::Result<Vec<DevicePublicKey>> {
    rampart_update::repo::read_release_keys(&update.join("trust").join("release-keys.json"))
        .map_err(|e| BadInput(e).into())
}

fn trust(args: &TrustArgs) -> anyhow::Result<Outcome> {
    let read = |path: &Path| -> anyhow::Result<Vec<u8>> {
        rampart_vault::read_capped(path, 1024 * 1024)
            .map_err(|e| BadInput(format!("{}: {e}", path.display())).into())
    };
    let root = read(&args.root)?;
    let root_json: serde_json::Value = serde_json::from_slice(&root)
        .map_err(|e| BadInput(format!("{}: not JSON: {e}", args.root.display())))?;
    if root_json["signed"]["_type"] != "root" {
        return Err(BadInput(format!("{}: not TUF root metadata", args.root.display())).into());
    }
    let release = read(&args.release_keys)?;
    let record: ReleaseKeys = serde_json::from_slice(&release)
        .map_err(|e| BadInput(format!("{}: {e}", args.release_keys.display())))?;
    let keys = record
        .public_keys()
        .map_err(|e| BadInput(format!("{}: {e}", args.release_keys.display())))?;
    if keys.is_empty() {
        return Err(BadInput(format!("{}: no keys", args.release_keys.display())).into());
    }
    let component = Component::open(&args.data.data)?;
    let trust_dir = update_dir(&component)?.join("trust");
    let existing = trust_dir.join("release-keys.json").exists();
    if existing && !args.replace {
        component.close()?;
        return Err(BadInput(format!(
            "{} holds pinned trust already; --replace to replace it",
            trust_dir.display()
        ))
        .into());
    }
    let owner_root = match &args.owner_root {
        Some(path) => {
            let bytes = read(path)?;
            let json: serde_json::Value = serde_json::from_slice(&bytes)
                .map_err(|e| BadInput(format!("{}: not JSON: {e}", path.display())))?;
            if json["signed"]["_type"] != "root" {
                return Err(BadInput(format!("{}: not TUF root metadata", path.display())).into());
            }
            Some(bytes)
        }
        None => None,
    };
    let device = device(&component)?;
    if let Some(repository) = &args.repository {
        let channel = Channel {
            format: "rampart-update-channel".into(),
            supplier: repository.clone(),
            owner: args.owner_repository.clone(),
            ca: args.ca.clone(),
        };
        channel.check().map_err(BadInput)?;
        device.set_channel(&channel).map_err(channel_error)?;
    }
    std::fs::create_dir_all(&trust_dir)
        .with_context(|| format!("create {}", trust_dir.display()))?;
    rampart_vault::write_atomic(&trust_dir.join("root.json"), &root, 0o644)?;
    rampart_vault::write_atomic(&trust_dir.join("release-keys.json"), &release, 0o644)?;
    match &owner_root {
        Some(bytes) => {
            rampart_vault::write_atomic(&trust_dir.join("owner-root.json"), bytes, 0o644)?;
        }
        None => {
            let _ = std::fs::remove_file(trust_dir.join("owner-root.json"));
        }
    }
    // Trust changed: the TUF client starts again from the pinned roots.
    let _ = std::fs::remove_dir_all(update_dir(&component)?.join("tuf"));
    component.record(
        NewEvent::builder(
            Category::ConfigurationChange,
            "update.trust_provisioned",
            component.actor()?,
        )
        .interface("cli")
        .target(trust_dir.display().to_string())
        .outcome(AuditOutcome::Success)
        .severity(if existing {
            Severity::Warning
        } else {
            Severity::Notice
        })
        .details(serde_json::json!({
            "root_version": root_json["signed"]["version"],
            "root_sha256": rampart_vault::crypto::sha256_hex(&root),
            "release_keys": record.keys,
            "replaced": existing,
            "repository": args.repository,
            "owner_root_sha256": owner_root.as_ref().map(rampart_vault::crypto::sha256_hex),
            "owner_repository": args.owner_repository,
        }))
        .build()?,
    )?;
    component.close()?;
    println!(
        "pinned the supplier's root (version {}) and {} release key(s)",
        root_json["signed"]["version"],
        keys.len()
    );
    Ok(Outcome::Ok)
}

fn update_error(e: UpdateError) -> anyhow::Error {
    match e {
        UpdateError::Io { .. } => anyhow::Error::new(e),
        other => BadInput(other.to_string()).into(),
    }
}

fn install(args: &InstallArgs) -> anyhow::Result<Outcome> {
    let component = Component::open(&args.data.data)?;
    let update = update_dir(&component)?;
    let trusted = pinned_release_keys(&update)?;
    let slots = Slots::new(&update);
    if args.commit
        && slots
            .boot_state()
            .map_err(update_error)?
            .committed()
            .is_some()
    {
        component.close()?;
        return Err(BadInput(
            "--commit is for a device's first install; this device has a committed slot, so a \
             new bundle is tried first and commits itself (or `rampart update commit`)"
                .into(),
        )
        .into());
    }
    let bundle = match &args.bundle {
        Some(path) => path.clone(),
        None => device(&component)?.downloaded().ok_or_else(|| {
            BadInput("no bundle given and none downloaded (`rampart update download`)".into())
        })?,
    };
    let mut file = BufReader::new(
        File::open(&bundle).map_err(|e| BadInput(format!("{}: {e}", bundle.display())))?,
    );
    let options = InstallOptions {
        allow_downgrade: args.allow_downgrade,
        commit: args.commit,
        max_attempts: args.max_attempts,
        device_target: Some(device_target()),
        now: now(),
    };
    let result = slots.install(&mut file, &trusted, &options);
    let target = bundle.display().to_string();
    if result.is_ok() && args.bundle.is_none() {
        device(&component)?.clear_downloads();
    }
    match result {
        Ok(installed) => {
            component.record(
                NewEvent::builder(
                    Category::ConfigurationChange,
                    "update.installed",
                    component.actor()?,
                )
                .interface("cli")
                .target(target)
                .outcome(AuditOutcome::Success)
                .severity(Severity::Notice)
                .details(serde_json::json!({
                    "slot": installed.slot.as_str(),
                    "version": installed.manifest.version.to_string(),
                    "security_version": installed.manifest.security_version,
                    "committed": installed.committed,
                }))
                .build()?,
            )?;
            component.close()?;
            println!(
                "installed rampart {} (security version {}) into slot {}{}",
                installed.manifest.version,
                installed.manifest.security_version,
                installed.slot,
                if installed.committed {
                    ", committed"
                } else {
                    "; the launcher boots it next as a trial"
                }
            );
            Ok(Outcome::Ok)
        }
        Err(error) => {
            let rollback = matches!(
                error,
                UpdateError::SecurityVersionRollback { .. } | UpdateError::Downgrade { .. }
            );
            component.record(
                NewEvent::builder(
                    Category::ConfigurationChange,
                    "update.install_refused",
                    component.actor()?,
                )
                .interface("cli")
                .target(target)
                .outcome(AuditOutcome::Failure)
                .severity(if rollback || matches!(error, UpdateError::Bundle(_)) {
                    Severity::Alert
                } else {
                    Severity::Warning
                })
                .details(serde_json::json!({ "error": error.to_string() }))
                .build()?,
            )?;
            component.close()?;
            Err(update_error(error))
        }
    }
}

fn device(component: &Component) -> anyhow::Result<Device> {
    Ok(Device::new(
        update_dir(component)?,
        Arc::new(rampart_audit::SystemClock::new()),
    ))
}

fn channel_error(e: ChannelError) -> anyhow::Error {
    match e {
        ChannelError::NotProvisioned(_)
        | ChannelError::Nothing(_)
        | ChannelError::NotApproved(_) => BadInput(e.to_string()).into(),
        other => anyhow::Error::new(other),
    }
}

/// Audit severity of a failed check or download: a verification failure of a repository
/// (rollback, freeze, mix-and-match, signatures, endless data) is an attack until shown
/// otherwise.
fn channel_severity(e: &ChannelError) -> Severity {
    if e.is_verification_failure() {
        Severity::Alert
    } else {
        Severity::Warning
    }
}

fn check(args: &DataArg) -> anyhow::Result<Outcome> {
    let component = Component::open(&args.data)?;
    let device = device(&component)?;
    let state = device.slots().boot_state().map_err(update_error)?;
    let result = device.check(&device_target(), &state);
    let event = NewEvent::builder(
        Category::ConfigurationChange,
        "update.checked",
        component.actor()?,
    )
    .interface("cli");
    let event = match &result {
        Ok(checked) => event
            .outcome(AuditOutcome::Success)
            .details(checked.audit_details()),
        Err(e) => event
            .outcome(AuditOutcome::Failure)
            .severity(channel_severity(e))
            .details(serde_json::json!({ "error": e.to_string() })),
    };
    component.record(event.build()?)?;
    component.close()?;
    let checked = match result {
        Ok(checked) => checked,
        Err(e @ ChannelError::Tuf { .. }) => {
            eprintln!("error: {e}");
            return Ok(Outcome::CheckFailed);
        }
        Err(e) => return Err(channel_error(e)),
    };
    match &checked.available {
        Some(c) => println!(
            "available: {} — rampart {} (security version {}), {} bytes",
            c.name, c.version, c.security_version, c.length
        ),
        None => println!("up to date: no newer bundle for this device"),
    }
    for name in &checked.awaiting_approval {
        println!("awaiting the owner's approval: {name}");
    }
    println!(
        "supplier metadata: root v{}, timestamp v{}, expires {}",
        checked.supplier_versions.root,
        checked.supplier_versions.timestamp.unwrap_or(0),
        checked
            .supplier_versions
            .timestamp_expires
            .as_deref()
            .unwrap_or("-")
    );
    Ok(Outcome::Ok)
}

fn download(args: &DataArg) -> anyhow::Result<Outcome> {
    let component = Component::open(&args.data)?;
    let device = device(&component)?;
    let state = device.slots().boot_state().map_err(update_error)?;
    let result = device.download(&device_target(), &state);
    let event = NewEvent::builder(
        Category::ConfigurationChange,
        "update.downloaded",
        component.actor()?,
    )
    .interface("cli");
    let event = match &result {
        Ok((candidate, path)) => event
            .target(path.display().to_string())
            .outcome(AuditOutcome::Success)
            .details(serde_json::json!({ "bundle": candidate })),
        Err(e) => event
            .outcome(AuditOutcome::Failure)
            .severity(channel_severity(e))
            .details(serde_json::json!({ "error": e.to_string() })),
    };
    component.record(event.build()?)?;
    component.close()?;
    match result {
        Ok((candidate, path)) => {
            println!(
                "downloaded {} (rampart {}, security version {}) to {}; install it with                  `rampart update install`",
                candidate.name,
                candidate.version,
                candidate.security_version,
                path.display()
            );
            Ok(Outcome::Ok)
        }
        Err(e @ ChannelError::Tuf { .. }) => {
            eprintln!("error: {e}");
            Ok(Outcome::CheckFailed)
        }
        Err(e) => Err(channel_error(e)),
    }
}

fn live(command: &LiveCommand) -> anyhow::Result<Outcome> {
    use hyper::Method;
    let (gateway, method, path, body) = match command {
        LiveCommand::Status(g) => (g, Method::GET, "/api/v1/update", None),
        LiveCommand::Check(g) => (
            g,
            Method::POST,
            "/api/v1/update/check",
            Some(serde_json::json!({})),
        ),
        LiveCommand::Download(g) => (
            g,
            Method::POST,
            "/api/v1/update/download",
            Some(serde_json::json!({})),
        ),
        LiveCommand::Install {
            gateway,
            restart,
            allow_downgrade,
        } => (
            gateway,
            Method::POST,
            "/api/v1/update/install",
            Some(serde_json::json!({ "restart": restart, "allow_downgrade": allow_downgrade })),
        ),
        LiveCommand::Rollback(g) => (
            g,
            Method::POST,
            "/api/v1/update/rollback",
            Some(serde_json::json!({})),
        ),
        LiveCommand::Restart(g) => (
            g,
            Method::POST,
            "/api/v1/update/restart",
            Some(serde_json::json!({})),
        ),
    };
    let client = crate::api_client::ApiClient::new(&gateway.live, &gateway.token, &gateway.ca)?;
    let (status, answer) = client.call(&method, path, body.as_ref(), 4 << 20)?;
    let text = String::from_utf8_lossy(&answer).into_owned();
    match status.as_u16() {
        200 | 202 => {
            if !text.is_empty() {
                println!("{text}");
            }
            Ok(Outcome::Ok)
        }
        401 | 403 => Err(BadInput(format!(
            "the gateway refused the token (HTTP {}): {text}",
            status.as_u16()
        ))
        .into()),
        400 | 409 => Err(BadInput(format!("{}: {text}", client.url(path))).into()),
        502 => {
            eprintln!("error: {}: {text}", client.url(path));
            Ok(Outcome::CheckFailed)
        }
        other => Err(anyhow::anyhow!(
            "{}: HTTP {other}: {text}",
            client.url(path)
        )),
    }
}

fn status(args: &StatusArgs) -> anyhow::Result<Outcome> {
    let data = rampart_vault::DataDir::open(&args.data.data)
        .map_err(|e| BadInput(format!("{}: {e}", args.data.data.display())))?;
    let slots = Slots::new(data.file(Entry::Update));
    let state = slots.boot_state().map_err(update_error)?;
    if args.format == Format::Json {
        println!("{}", serde_json::to_string_pretty(&state)?);
        return Ok(Outcome::Ok);
    }
    let mut table = Table::new([
        "slot",
        "state",
        "version",
        "security",
        "attempts",
        "installed",
    ]);
    for (slot, record) in &state.slots {
        table.row(vec![
            slot.to_string(),
            format!("{:?}", record.state).to_lowercase(),
            record.version.to_string(),
            record.security_version.to_string(),
            format!("{}/{}", record.attempts, record.max_attempts),
            record.installed.to_string(),
        ]);
    }
    output::print(&table.render(Style::new(output::colour_stdout())))?;
    println!("security-version floor: {}", state.security_version_floor);
    for entry in state.history.iter().rev().take(10) {
        println!(
            "{}  {:<20} slot {} {}{}",
            entry.at,
            entry.event,
            entry.slot,
            entry.version,
            entry
                .reason
                .as_deref()
                .map_or_else(String::new, |r| format!(": {r}"))
        );
    }
    Ok(Outcome::Ok)
}

fn commit(args: &CommitArgs) -> anyhow::Result<Outcome> {
    let component = Component::open(&args.data.data)?;
    let slots = Slots::new(update_dir(&component)?);
    let slot = match args.slot {
        Some(slot) => slot,
        None => slots
            .boot_state()
            .map_err(update_error)?
            .trial()
            .ok_or_else(|| BadInput("no slot is on trial: nothing to commit".into()))?,
    };
    let record = slots.commit(slot, now()).map_err(update_error)?;
    component.record(
        NewEvent::builder(
            Category::ConfigurationChange,
            "update.committed",
            component.actor()?,
        )
        .interface("cli")
        .target(format!("slot {slot}"))
        .outcome(AuditOutcome::Success)
        .severity(Severity::Notice)
        .details(serde_json::json!({
            "slot": slot.as_str(),
            "version": record.version.to_string(),
            "security_version": record.security_version,
        }))
        .build()?,
    )?;
    component.close()?;
    println!(
        "committed slot {slot}: rampart {} (security version {})",
        record.version, record.security_version
    );
    Ok(Outcome::Ok)
}

fn rollback(data: &DataArg) -> anyhow::Result<Outcome> {
    let component = Component::open(&data.data)?;
    let slots = Slots::new(update_dir(&component)?);
    let result = slots.rollback(now());
    let (outcome, details) = match &result {
        Ok((slot, record)) => (
            AuditOutcome::Success,
            serde_json::json!({ "slot": slot.as_str(), "version": record.version.to_string() }),
        ),
        Err(e) => (
            AuditOutcome::Failure,
            serde_json::json!({ "error": e.to_string() }),
        ),
    };
    component.record(
        NewEvent::builder(
            Category::ConfigurationChange,
            "update.rolled_back",
            component.actor()?,
        )
        .interface("cli")
        .outcome(outcome)
        .severity(Severity::Notice)
        .details(details)
        .build()?,
    )?;
    component.close()?;
    let (slot, record) = result.map_err(update_error)?;
    println!(
        "rolled back: slot {slot} (rampart {}) boots next",
        record.version
    );
    Ok(Outcome::Ok)
}

/// `rampart launch`: verifies the slot to run and replaces this process with its binary,
/// executed from the very descriptor that was hashed. Returns only on failure.
pub(crate) fn launch(args: &LaunchArgs) -> anyhow::Result<Outcome> {
    use std::os::fd::AsRawFd as _;
    use std::os::unix::process::CommandExt as _;

    let component = Component::open(&args.data)?;
    let update = update_dir(&component)?;
    let trusted = match pinned_release_keys(&update) {
        Ok(keys) => keys,
        Err(e) => {
            component.close()?;
            return Err(e);
        }
    };
    let slots = Slots::new(&update);
    let boot = match slots.choose_boot(&trusted, now()) {
        Ok(boot) => boot,
        Err(error) => {
            component.record(
                NewEvent::builder(
                    Category::ControlSystem,
                    "update.boot_refused",
                    component.actor()?,
                )
                .interface("cli")
                .outcome(AuditOutcome::Failure)
                .severity(Severity::Critical)
                .details(serde_json::json!({ "error": error.to_string() }))
                .build()?,
            )?;
            component.close()?;
            return Err(update_error(error));
        }
    };
    if let Some((slot, reason)) = &boot.fell_back {
        component.record(
            NewEvent::builder(
                Category::ControlSystem,
                "update.boot_fallback",
                component.actor()?,
            )
            .interface("cli")
            .target(format!("slot {slot}"))
            .outcome(AuditOutcome::Failure)
            .severity(Severity::Alert)
            .details(serde_json::json!({
                "abandoned_slot": slot.as_str(),
                "reason": reason,
                "booting": boot.slot.as_str(),
                "version": boot.manifest.version.to_string(),
            }))
            .build()?,
        )?;
        eprintln!(
            "rampart launch: slot {slot} abandoned: {reason}; booting slot {}",
            boot.slot
        );
    }
    component.record(
        NewEvent::builder(Category::ControlSystem, "update.boot", component.actor()?)
            .interface("cli")
            .target(format!("slot {}", boot.slot))
            .outcome(AuditOutcome::Success)
            .details(serde_json::json!({
                "slot": boot.slot.as_str(),
                "version": boot.manifest.version.to_string(),
                "security_version": boot.manifest.security_version,
                "trial_attempt": boot.trial_attempt.map(|(n, of)| format!("{n}/{of}")),
            }))
            .build()?,
    )?;
    component.close()?;
    let slot_args: Vec<String> = if args.args.is_empty() {
        vec![
            "up".into(),
            "--data".into(),
            args.data.display().to_string(),
        ]
    } else {
        args.args.clone()
    };
    let fd = boot.binary.as_raw_fd();
    let mut command = std::process::Command::new(format!("/proc/self/fd/{fd}"));
    command
        .arg0("rampart")
        .args(&slot_args)
        .env("RAMPART_SLOT", boot.slot.as_str())
        .env("RAMPART_UPDATE_DIR", &update);
    match boot.trial_attempt {
        Some((n, of)) => command.env("RAMPART_BOOT_TRIAL", format!("{n}/{of}")),
        None => command.env_remove("RAMPART_BOOT_TRIAL"),
    };
    let _ = std::io::stdout().flush();
    let error = command.exec();
    Err(anyhow::Error::new(error).context(format!("executing slot {}'s binary", boot.slot)))
}

/// A trial boot in progress: this process was started by `rampart launch` from a slot that is
/// not committed yet, and commits it once its health check has held for `hold`.
pub(crate) struct TrialBoot {
    slot: SlotName,
    update_dir: PathBuf,
    started: std::time::Instant,
    hold: std::time::Duration,
}

impl TrialBoot {
    /// The trial the launcher announced in the environment, if any.
    pub(crate) fn from_env(hold: std::time::Duration) -> Option<TrialBoot> {
        std::env::var_os("RAMPART_BOOT_TRIAL")?;
        let slot = std::env::var("RAMPART_SLOT").ok()?.parse().ok()?;
        let update_dir = PathBuf::from(std::env::var_os("RAMPART_UPDATE_DIR")?);
        Some(TrialBoot {
            slot,
            update_dir,
            started: std::time::Instant::now(),
            hold,
        })
    }

    /// Whether the health check has held for the whole window.
    pub(crate) fn due(&self) -> bool {
        self.started.elapsed() >= self.hold
    }

    /// Commits the slot if the gateway is healthy: both listeners bound, a policy in force,
    /// and the audit trail writable (the health record itself is the write test). Every
    /// outcome is audited; a failure leaves the slot on trial, so the launcher falls back.
    pub(crate) fn commit_if_healthy(
        &self,
        component: &Component,
        status: &rampart_gateway::Status,
        management: std::net::SocketAddr,
    ) {
        let actor = match rampart_audit::Actor::process("rampart") {
            Ok(actor) => actor,
            Err(e) => {
                eprintln!("update: cannot name the process as actor: {e}");
                return;
            }
        };
        let mut problems = Vec::new();
        if status.secure_addr.port() == 0 || management.port() == 0 {
            problems.push("a listener is not bound");
        }
        if status.policy.sha256.is_empty() {
            problems.push("no policy is in force");
        }
        let health = NewEvent::builder(
            Category::ControlSystem,
            "update.health_check",
            actor.clone(),
        )
        .target(format!("slot {}", self.slot))
        .outcome(if problems.is_empty() {
            AuditOutcome::Success
        } else {
            AuditOutcome::Failure
        })
        .details(serde_json::json!({
            "slot": self.slot.as_str(),
            "held_seconds": self.hold.as_secs(),
            "problems": problems,
        }))
        .build()
        .map_err(anyhow::Error::new)
        .and_then(|event| component.record(event));
        if let Err(e) = &health {
            eprintln!(
                "update: the audit trail is not writable ({e}); slot {} stays on trial",
                self.slot
            );
            return;
        }
        if !problems.is_empty() {
            eprintln!(
                "update: health check failed ({}); slot {} stays on trial",
                problems.join(", "),
                self.slot
            );
            return;
        }
        let result = Slots::new(&self.update_dir).commit(self.slot, now());
        let (outcome, details) = match &result {
            Ok(record) => (
                AuditOutcome::Success,
                serde_json::json!({
                    "slot": self.slot.as_str(),
                    "version": record.version.to_string(),
                    "security_version": record.security_version,
                    "by": "health check",
                }),
            ),
            Err(e) => (
                AuditOutcome::Failure,
                serde_json::json!({ "slot": self.slot.as_str(), "error": e.to_string() }),
            ),
        };
        let event = NewEvent::builder(Category::ConfigurationChange, "update.committed", actor)
            .target(format!("slot {}", self.slot))
            .outcome(outcome)
            .severity(Severity::Notice)
            .details(details)
            .build();
        if let Err(e) = event
            .map_err(anyhow::Error::new)
            .and_then(|e| component.record(e))
        {
            eprintln!("update: could not audit the commit: {e}");
        }
        match result {
            Ok(record) => say_line(&format!(
                "update: slot {} (rampart {}) committed after its health check\n",
                self.slot, record.version
            )),
            Err(e) => eprintln!("update: slot {} not committed: {e}", self.slot),
        }
    }
}

fn say_line(text: &str) {
    print!("{text}");
    let _ = std::io::stdout().flush();
}
