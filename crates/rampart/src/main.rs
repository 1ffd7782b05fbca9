//! `rampart`: the command line of Rampart, an implementation of IEC 62443-4-2.
//!
//! This binary is argument parsing and glue: each subcommand lives in `cmd/` and calls the
//! library crates. Exit codes: 0 ok, 1 a check failed (or the command could not finish),
//! 2 bad input (flags, files, values).

#![forbid(unsafe_code)]
// Doc comments here are clap's help text for people at a terminal, where backticks show.
#![allow(clippy::doc_markdown)]

mod api_client;
mod cmd;
mod component;
mod output;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// Rampart: IEC 62443-4-2 for industrial components — a secure Modbus/TCP gateway and the
/// toolchain to evaluate components against the standard.
#[derive(Parser)]
#[command(name = "rampart", version, about, long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the secure Modbus/TCP gateway (Modbus/TCP Security, DPI, IDS, audit) in the
    /// foreground; with no configuration it starts on the embedded default.
    Up(cmd::up::Args),
    /// Island mode: stop (on) or resume (off) all traffic across the conduit.
    Island(cmd::up::IslandArgs),
    /// Client certificates of the local PKI: issue one with a Modbus/TCP Security role,
    /// list them, revoke a lost one (the running gateway applies the CRL at once)
    #[command(subcommand)]
    Pki(cmd::pki::Command),
    /// Browse the IEC 62443-4-2 requirement catalog (CRs, REs, NDR/EDR/HDR/SAR, CCSCs).
    Catalog(cmd::catalog::Args),
    /// Assess a component profile: SL-C per FR, the gap to SL-T, reports (table, HTML, JSON,
    /// OSCAL, SARIF, JUnit); `assess diff` compares two JSON reports.
    Assess(cmd::assess::Args),
    /// Generated documentation: `docs manual` writes the security manual and compliance matrix
    /// (HTML, Markdown, PDF).
    #[command(subcommand)]
    Docs(cmd::docs::Command),
    /// Vulnerability management: match an SBOM against CSAF 2.0, OSV and RustSec advisories
    /// (fail-closed), or this build's own SBOM (`vuln self`).
    #[command(subcommand)]
    Vuln(cmd::vuln::Command),
    /// Secure updates (FR3): the maker's TUF repository and bundles; a device's trust, A/B
    /// slots, install, commit and rollback.
    #[command(subcommand)]
    Update(cmd::update::Command),
    /// Run the committed (or trial) slot's binary after verifying it: signature of its
    /// manifest, every file's hash, boot attempts and fallback. The first stage of a device.
    Launch(cmd::update::LaunchArgs),
    /// Start-up and run-time integrity (CR 3.4): seal the binary, configuration, policy and
    /// trust anchors with the device key, verify them, replay the measurement log.
    #[command(subcommand)]
    Integrity(cmd::integrity::Command),
    /// Probe live components over the network (TLS, Modbus/TCP, HTTPS) requirement by
    /// requirement; the evidence feeds `assess --evidence`. Read-only unless --intrusive.
    Probe(cmd::probe::Args),
    /// Check, lint and learn conduit policies (the Modbus DPI rules per role).
    #[command(subcommand)]
    Policy(cmd::policy::Command),
    /// Inspect Modbus/TCP captures: decode every PDU, apply a policy, raise IDS alerts.
    Inspect(cmd::inspect::Args),
    /// IDS baselines of normal traffic: learn one from captures, show one.
    #[command(subcommand)]
    Ids(cmd::ids::Command),
    /// The tamper-evident audit trail: verify, query, tail, export, append, forward.
    #[command(subcommand)]
    Audit(cmd::audit::Command),
    /// Every security-relevant setting and the self-tests, machine-readable (CR 7.6 RE 1);
    /// the running gateway serves the same at GET /api/v1/config-report.
    ConfigReport(cmd::config_report::Args),
    /// The cryptographic inventory: every algorithm and key, where it lives, what it is for
    /// (CR 4.3); table, JSON or a CycloneDX 1.6 CBOM.
    Crypto(cmd::crypto::Args),
    /// Secure erase of a data directory for decommissioning (CR 4.2).
    Erase(cmd::erase::Args),
    /// Encrypted, signed backups of the data directory: create, verify, restore.
    #[command(subcommand)]
    Backup(cmd::backup::Command),
    /// Local administration of user accounts (create, disable, passwords, MFA reset).
    User {
        #[command(flatten)]
        data: cmd::identity::Data,
        #[command(subcommand)]
        command: cmd::identity::UserCommand,
    },
    /// Roles and their permissions.
    Role {
        #[command(flatten)]
        data: cmd::identity::Data,
        #[command(subcommand)]
        command: cmd::identity::RoleCommand,
    },
    /// API tokens for programs (CR 1.14): create (shown once), list, revoke.
    Token {
        #[command(flatten)]
        data: cmd::identity::Data,
        #[command(subcommand)]
        command: cmd::identity::TokenCommand,
    },
    /// Open management sessions: list and terminate.
    Session {
        #[command(flatten)]
        data: cmd::identity::Data,
        #[command(subcommand)]
        command: cmd::identity::SessionCommand,
    },
}

/// Input the user must fix: reported as one line and exit code 2.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub(crate) struct BadInput(pub(crate) String);

/// What a command reports when it finishes without an error.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Outcome {
    /// Everything asked for was done and every check passed.
    Ok,
    /// A check failed (lint warnings, denied requests or alerts, a verification).
    CheckFailed,
    /// The gateway stopped so that it is started again (into a new slot): exit code 75.
    Restart,
    /// The gateway erased its data directory (`POST /api/v1/erase`, the event's sequence
    /// number) and stopped for good: exit code 3, so that a service manager does not start it
    /// again on a fresh directory.
    Erased { seq: u64 },
}

fn main() -> ExitCode {
    // Before any secret is read: no core dumps, no ptrace or /proc/PID/mem by other processes
    // (CR 4.2 RE 1). The configuration report says whether the kernel agreed.
    rampart_vault::memory::protect();
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Up(args) => cmd::up::run(&args),
        Command::Island(args) => cmd::up::island(&args),
        Command::Pki(command) => cmd::pki::run(&command),
        Command::Catalog(args) => cmd::catalog::run(&args),
        Command::ConfigReport(args) => cmd::config_report::run(&args),
        Command::Assess(args) => cmd::assess::run(&args),
        Command::Docs(command) => cmd::docs::run(&command),
        Command::Probe(args) => cmd::probe::run(&args),
        Command::Policy(command) => cmd::policy::run(&command),
        Command::Vuln(command) => cmd::vuln::run(&command),
        Command::Update(command) => cmd::update::run(&command),
        Command::Launch(args) => cmd::update::launch(&args),
        Command::Integrity(command) => cmd::integrity::run(&command),
        Command::Inspect(args) => cmd::inspect::run(&args),
        Command::Ids(command) => cmd::ids::run(&command),
        Command::Audit(command) => cmd::audit::run(&command),
        Command::Backup(command) => cmd::backup::run(&command),
        Command::Crypto(args) => cmd::crypto::run(&args),
        Command::Erase(args) => cmd::erase::run(&args),
        Command::User { data, command } => cmd::identity::user(&data, &command),
        Command::Role { data, command } => cmd::identity::role(&data, &command),
        Command::Session { data, command } => cmd::identity::session(&data, &command),
        Command::Token { data, command } => cmd::identity::token(&data, &command),
    };
    // A TPM without a resource manager keeps what a process left loaded in it.
    rampart_vault::tpm::release_keys();
    match result {
        Ok(Outcome::Ok) => ExitCode::SUCCESS,
        Ok(Outcome::CheckFailed) => ExitCode::from(1),
        Ok(Outcome::Restart) => ExitCode::from(75),
        Ok(Outcome::Erased { .. }) => ExitCode::from(rampart_mgmt::api::erase::ERASED_EXIT_CODE),
        Err(error) if output::is_broken_pipe(&error) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {}", describe(&error));
            if error.chain().any(<dyn std::error::Error>::is::<BadInput>) {
                ExitCode::from(2)
            } else {
                ExitCode::from(1)
            }
        }
    }
}

/// The error and its causes on one line, each cause once: libraries often repeat their
/// source in their own message, and printing both would say it twice.
fn describe(error: &anyhow::Error) -> String {
    let mut text = error.to_string();
    for cause in error.chain().skip(1) {
        let cause = cause.to_string();
        if !text.contains(&cause) {
            text.push_str(": ");
            text.push_str(&cause);
        }
    }
    text
}
