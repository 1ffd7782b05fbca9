//! `rampart backup create|verify|restore`: encrypted, signed backups of the data directory and
//! verified restore (CR 7.3 RE 1, CR 7.4, CR 3.4). The format and the threat model are in
//! docs/backup.md; the work is done by `rampart_backup`.

use std::fmt::Write as _;
use std::fs::File;
use std::io::{BufRead as _, BufReader, IsTerminal as _, Read as _, Write as _};
use std::path::{Path, PathBuf};

use anyhow::Context as _;
use rampart_audit::{Category, NewEvent, Outcome};
use rampart_backup::{BackupError, CreateOptions, Passphrase, RestoreOptions};
use rampart_identity::Password;
use rampart_vault::{DataDir, DevicePublicKey};
use zeroize::{Zeroize as _, Zeroizing};

use crate::component::Component;
use crate::output;
use crate::{BadInput, Outcome as Exit};

#[derive(clap::Subcommand)]
pub(crate) enum Command {
    /// Write an encrypted backup of the data directory, signed by the device key.
    ///
    /// Consistent while the gateway runs. Asks for a passphrase twice unless
    /// --passphrase-stdin; it must meet the account password policy (by default at least 15
    /// characters, not easy to guess). Prints the device key and the backup's SHA-256:
    /// keep the device key off the device, a restore onto a wiped device needs it.
    Create {
        /// The backup file to write (mode 0600).
        file: PathBuf,
        /// The data directory.
        #[arg(long, value_name = "DIR", default_value = "rampart-data")]
        data: PathBuf,
        /// Read the passphrase from the first line of stdin instead of prompting twice.
        #[arg(long)]
        passphrase_stdin: bool,
        /// Replace FILE if it exists.
        #[arg(long)]
        force: bool,
    },
    /// Check a backup's signature (no passphrase needed) and, with the passphrase, decrypt it
    /// and check every file against the manifest. Writes nothing.
    ///
    /// Exit 0 ok, 1 bad backup (wrong device, bad signature, wrong passphrase or tampered,
    /// manifest mismatch), 2 bad input.
    Verify {
        /// The backup file.
        file: PathBuf,
        /// Trust the device key of this data directory.
        #[arg(
            long,
            value_name = "DIR",
            default_value = "rampart-data",
            conflicts_with = "device_key"
        )]
        data: PathBuf,
        /// Trust this device public key instead (PEM file such as keys/device.pub, or 64 hex
        /// digits as printed by `backup create`).
        #[arg(long, value_name = "PUBKEY")]
        device_key: Option<String>,
        /// Read the passphrase from the first line of stdin and check the contents too.
        #[arg(long)]
        passphrase_stdin: bool,
        /// Prompt for the passphrase on the terminal and check the contents too.
        #[arg(long, conflicts_with = "passphrase_stdin")]
        decrypt: bool,
    },
    /// Restore a backup into a data directory after verifying everything; the current
    /// directory is kept as DIR.replaced-<time>.
    ///
    /// The backup must be signed by the device key of DIR; if DIR is gone (a wiped device),
    /// give that key with --device-key. Refused while a gateway runs on DIR.
    Restore {
        /// The backup file.
        file: PathBuf,
        /// The data directory to restore.
        #[arg(long, value_name = "DIR")]
        data: PathBuf,
        /// The device public key (PEM file such as keys/device.pub kept off the device, or 64
        /// hex digits as printed by `backup create`); required when DIR has no device key.
        #[arg(long, value_name = "PUBKEY")]
        device_key: Option<String>,
        /// Read the passphrase from the first line of stdin instead of prompting.
        #[arg(long)]
        passphrase_stdin: bool,
        /// Do not ask for confirmation.
        #[arg(long)]
        yes: bool,
    },
}

pub(crate) fn run(command: &Command) -> anyhow::Result<Exit> {
    match command {
        Command::Create {
            file,
            data,
            passphrase_stdin,
            force,
        } => create(file, data, *passphrase_stdin, *force),
        Command::Verify {
            file,
            data,
            device_key,
            passphrase_stdin,
            decrypt,
        } => verify(
            file,
            data,
            device_key.as_deref(),
            *passphrase_stdin,
            *decrypt,
        ),
        Command::Restore {
            file,
            data,
            device_key,
            passphrase_stdin,
            yes,
        } => restore(file, data, device_key.as_deref(), *passphrase_stdin, *yes),
    }
}

fn create(file: &Path, data: &Path, passphrase_stdin: bool, force: bool) -> anyhow::Result<Exit> {
    if !force && std::fs::symlink_metadata(file).is_ok() {
        return Err(BadInput(format!(
            "{} exists; give --force to replace it",
            file.display()
        ))
        .into());
    }
    // Back up an existing data directory only: never initialise one just to archive it.
    DataDir::open(data).map_err(|e| BadInput(format!("--data: {e}")))?;
    let text = read_passphrase_text(passphrase_stdin, true)?;
    let passphrase = Passphrase::new(text.as_str()).map_err(|e| BadInput(e.to_string()))?;
    let component = Component::open(data)?;
    // The backup holds every private key and can be guessed at offline: its passphrase meets
    // the account password policy of this data directory (CR 1.7, CR 7.3).
    let strength = component
        .identity()?
        .check_passphrase_strength(&Password::from(text.as_str()));
    drop(text);
    if let Err(reason) = strength {
        component.close()?;
        return Err(BadInput(format!(
            "the backup passphrase does not meet the password policy: {reason} (the backup \
             holds every private key of the device; a phrase of several unrelated words works \
             well)"
        ))
        .into());
    }
    let result = rampart_backup::create_file(
        &component.data,
        &passphrase,
        &CreateOptions::default(),
        file,
        force,
    );
    let name = file.display().to_string();
    let summary = match result {
        Ok(summary) => summary,
        Err(error) => {
            component.record(
                NewEvent::builder(Category::BackupRestore, "backup.create", component.actor()?)
                    .interface("cli")
                    .target(name)
                    .outcome(Outcome::Failure)
                    .details(serde_json::json!({ "error": error.to_string() }))
                    .build()?,
            )?;
            component.close()?;
            return Err(anyhow::Error::new(error).context("writing the backup"));
        }
    };
    component.record(
        NewEvent::builder(Category::BackupRestore, "backup.create", component.actor()?)
            .interface("cli")
            .target(name)
            .outcome(Outcome::Success)
            .details(serde_json::json!({
                "sha256": summary.sha256,
                "size": summary.size,
                "entries": summary.entries,
                "created": summary.created,
                "device_key": summary.device_key.to_hex(),
            }))
            .build()?,
    )?;
    component.close()?;
    output::print(&format!(
        "backup written: {} ({} bytes, {} files and directories)\n  \
         device key: {}\n  sha256:     {}\n  created:    {}\n\
         Keep the device key off the device: restoring onto a wiped device needs it \
         (rampart backup restore FILE --data DIR --device-key {}).\n",
        file.display(),
        summary.size,
        summary.entries,
        summary.device_key.to_hex(),
        summary.sha256,
        summary.created,
        summary.device_key.to_hex(),
    ))
    .context("writing to stdout")?;
    Ok(Exit::Ok)
}

fn verify(
    file: &Path,
    data: &Path,
    device_key: Option<&str>,
    passphrase_stdin: bool,
    decrypt: bool,
) -> anyhow::Result<Exit> {
    let trusted = match device_key {
        Some(text) => parse_key(text)?,
        None => rampart_backup::trusted_key_of(data)
            .map_err(|e| BadInput(format!("--data: {e}")))?
            .ok_or_else(|| {
                BadInput(format!(
                    "{} has no device key to check the backup against; give --device-key",
                    data.display()
                ))
            })?,
    };
    let input = open_backup(file)?;
    let passphrase = if passphrase_stdin || decrypt {
        Some(read_passphrase(passphrase_stdin, false)?)
    } else {
        None
    };
    let text = match passphrase {
        None => {
            let signed = rampart_backup::check_origin(input, trusted).map_err(failed)?;
            format!(
                "signature OK: made by device {} at {}\n  sha256: {}\n\
                 The contents were not decrypted; give --passphrase-stdin or --decrypt to check \
                 every file.\n",
                trusted.to_hex(),
                signed.header().created,
                signed.sha256(),
            )
        }
        Some(passphrase) => {
            let verified = rampart_backup::verify(input, trusted, &passphrase).map_err(failed)?;
            let signed = verified.signed();
            format!(
                "backup OK: made by device {} at {}; {} files and directories ({} bytes) \
                 decrypted and match the manifest\n  sha256: {}\n",
                trusted.to_hex(),
                signed.header().created,
                verified.manifest().entries.len(),
                verified.manifest().content_size(),
                signed.sha256(),
            )
        }
    };
    output::print(&text).context("writing to stdout")?;
    Ok(Exit::Ok)
}

fn restore(
    file: &Path,
    data: &Path,
    device_key: Option<&str>,
    passphrase_stdin: bool,
    yes: bool,
) -> anyhow::Result<Exit> {
    let given = device_key.map(parse_key).transpose()?;
    let options = RestoreOptions { device_key: given };
    // What is about to happen, checked before anything is asked for.
    let trusted = rampart_backup::restore_trust(data, given).map_err(failed)?;
    let signed = rampart_backup::check_origin(open_backup(file)?, trusted);
    let signed = match signed {
        Ok(signed) => signed,
        Err(error) => {
            record_refused(data, file, &error);
            return Err(failed(error));
        }
    };
    let passphrase = read_passphrase(passphrase_stdin, false)?;
    if !yes {
        let question = format!(
            "Restore the backup made by device {} at {} into {}?{}\nType yes to continue: ",
            trusted.to_hex(),
            signed.header().created,
            data.display(),
            if data.exists() {
                " The current directory is kept beside it as a .replaced-<time> copy."
            } else {
                ""
            }
        );
        if !confirm(&question)? {
            return Err(BadInput("restore cancelled; nothing was changed".into()).into());
        }
    }
    let summary = match rampart_backup::restore(open_backup(file)?, data, &passphrase, &options) {
        Ok(summary) => summary,
        Err(error) => {
            record_refused(data, file, &error);
            return Err(failed(error));
        }
    };
    drop(passphrase);
    // The restored trail continues: the restore is its next event.
    let restored_but =
        "the backup was restored, but recording backup.restore in its audit trail failed";
    let component = Component::open(data).context(restored_but)?;
    let seq = component.record(
        NewEvent::builder(
            Category::BackupRestore,
            "backup.restore",
            component.actor()?,
        )
        .interface("cli")
        .target(file.display().to_string())
        .outcome(Outcome::Success)
        .details(serde_json::json!({
            "sha256": summary.sha256,
            "created": summary.created,
            "device_key": summary.device_key.to_hex(),
            "entries": summary.entries,
            "replaced": summary.replaced.as_ref().map(|p| p.display().to_string()),
            "last_event_in_backup": summary.audit_events,
        }))
        .build()?,
    )?;
    component.close()?;
    let mut text = format!(
        "restored {} from the backup made at {} ({} files and directories)\n  sha256: {}\n  \
         audit trail continues: event {seq} records the restore (check with: rampart audit \
         verify --data {})\n",
        data.display(),
        summary.created,
        summary.entries,
        summary.sha256,
        data.display(),
    );
    if let Some(replaced) = &summary.replaced {
        let _ = writeln!(
            text,
            "  the replaced directory is kept at {}: it holds the audit events recorded after \
             the backup; export or forward them before removing it",
            replaced.display()
        );
    }
    output::print(&text).context("writing to stdout")?;
    Ok(Exit::Ok)
}

/// A refused restore onto an existing data directory is recorded in that directory's trail.
/// A directory held by a running gateway is left alone (its own process records).
fn record_refused(data: &Path, file: &Path, error: &BackupError) {
    if matches!(error, BackupError::InUse { .. }) || !data.join("LAYOUT").is_file() {
        return;
    }
    let recorded = Component::open(data).and_then(|component| {
        component.record(
            NewEvent::builder(
                Category::BackupRestore,
                "backup.restore",
                component.actor()?,
            )
            .interface("cli")
            .target(file.display().to_string())
            .outcome(Outcome::Failure)
            .details(serde_json::json!({ "error": error.to_string() }))
            .build()?,
        )?;
        component.close()
    });
    if let Err(e) = recorded {
        eprintln!("warning: could not record the refused restore in the audit trail: {e:#}");
    }
}

/// Bad input stays exit 2; everything else about a backup is a failed check (exit 1).
fn failed(error: BackupError) -> anyhow::Error {
    match error {
        BackupError::NoTrustAnchor { .. }
        | BackupError::KeyMismatch { .. }
        | BackupError::TargetNotDataDir(_)
        | BackupError::WeakPassphrase(_) => BadInput(error.to_string()).into(),
        error if error.is_bad_backup() => {
            anyhow::Error::new(error).context("the backup is refused")
        }
        error => anyhow::Error::new(error),
    }
}

fn parse_key(text: &str) -> anyhow::Result<DevicePublicKey> {
    let text = if Path::new(text).is_file() {
        std::fs::read_to_string(text).map_err(|e| BadInput(format!("--device-key {text}: {e}")))?
    } else {
        text.to_owned()
    };
    DevicePublicKey::parse(&text).map_err(|e| BadInput(format!("--device-key: {e}")).into())
}

fn open_backup(file: &Path) -> anyhow::Result<BufReader<File>> {
    let opened = File::open(file).map_err(|e| BadInput(format!("{}: {e}", file.display())))?;
    Ok(BufReader::with_capacity(1 << 20, opened))
}

/// Reads the passphrase: one line of stdin, or from the terminal without echo (twice when
/// `new`, so a typo cannot lock the backup away).
fn read_passphrase(from_stdin: bool, new: bool) -> anyhow::Result<Passphrase> {
    let text = read_passphrase_text(from_stdin, new)?;
    Passphrase::new(text.as_str()).map_err(|e| BadInput(e.to_string()).into())
}

/// The passphrase as typed, zeroized when dropped.
fn read_passphrase_text(from_stdin: bool, new: bool) -> anyhow::Result<Zeroizing<String>> {
    let text = if from_stdin {
        let mut line = String::new();
        std::io::stdin()
            .lock()
            .take(Passphrase::MAX_BYTES as u64 + 2)
            .read_line(&mut line)
            .context("reading the passphrase from stdin")?;
        let trimmed = line.trim_end_matches(['\r', '\n']).to_owned();
        line.zeroize();
        if trimmed.is_empty() {
            return Err(BadInput("--passphrase-stdin: stdin held no passphrase".into()).into());
        }
        trimmed
    } else {
        if !std::io::stdin().is_terminal() {
            return Err(BadInput(
                "no terminal to prompt for the passphrase on: use --passphrase-stdin".into(),
            )
            .into());
        }
        let first =
            rpassword::prompt_password("Backup passphrase: ").context("reading the passphrase")?;
        if new {
            let mut second =
                rpassword::prompt_password("Repeat it: ").context("reading the passphrase")?;
            let same = first == second;
            second.zeroize();
            if !same {
                let mut first = first;
                first.zeroize();
                return Err(BadInput("the two passphrases differ".into()).into());
            }
        }
        first
    };
    Ok(Zeroizing::new(text))
}

/// Asks on the controlling terminal (stdin may be carrying the passphrase); without a person
/// at a terminal, --yes is required.
fn confirm(question: &str) -> anyhow::Result<bool> {
    if !std::io::stderr().is_terminal() {
        return Err(BadInput("no terminal to confirm the restore on: give --yes".into()).into());
    }
    let tty = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open("/dev/tty")
        .map_err(|_| BadInput("no terminal to confirm the restore on: give --yes".into()))?;
    let mut writer = &tty;
    writer
        .write_all(question.as_bytes())
        .and_then(|()| writer.flush())
        .context("asking for confirmation")?;
    let mut answer = String::new();
    BufReader::new(&tty)
        .take(64)
        .read_line(&mut answer)
        .context("reading the confirmation")?;
    Ok(answer.trim().eq_ignore_ascii_case("yes"))
}
