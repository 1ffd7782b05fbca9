//! `rampart user|role|session`: local administration of accounts, roles and sessions on the
//! data directory (CR 1.3, 1.4, 1.5, 2.1, 2.6). Every change is audited with the local OS user
//! as actor.

use std::fmt::Write as _;
use std::io::{BufRead as _, IsTerminal as _};
use std::path::PathBuf;

use anyhow::Context as _;
use rampart_identity::{
    AccountName, AuthenticatedPrincipal, Identity, IdentityError, NewAccount, Password, Permission,
    RoleName,
};

use crate::component::Component;
use crate::output::{self, Style, Table};
use crate::{BadInput, Outcome};

/// Table for people or JSON for programs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum Format {
    /// Aligned table.
    Table,
    /// JSON.
    Json,
}

#[derive(clap::Args)]
pub(crate) struct Data {
    /// The data directory.
    #[arg(
        long,
        value_name = "DIR",
        default_value = "rampart-data",
        global = true
    )]
    data: PathBuf,
}

#[derive(clap::Subcommand)]
pub(crate) enum UserCommand {
    /// Create a human user with an initial password, to be changed at first login; with
    /// `--process`, a process account (no password; it authenticates by API token or
    /// certificate, CR 1.2).
    Add {
        /// The account name (unique, never reused).
        name: String,
        /// The role to give it, e.g. operator.
        #[arg(long)]
        role: String,
        /// Read the password from the first line of stdin instead of prompting twice.
        #[arg(long)]
        password_stdin: bool,
        /// Create a process account (for an integration): no password, no interactive login;
        /// administrators may make API tokens for it.
        #[arg(long, conflicts_with = "password_stdin")]
        process: bool,
    },
    /// List the accounts.
    List {
        /// Output format (`json`: an array of user objects with `name`).
        #[arg(long, value_enum, default_value_t = Format::Table)]
        format: Format,
    },
    /// Show one account.
    Show {
        /// The account name.
        name: String,
        /// Output format.
        #[arg(long, value_enum, default_value_t = Format::Table)]
        format: Format,
    },
    /// Disable an account (it keeps its name; it cannot log in).
    Disable {
        /// The account name.
        name: String,
    },
    /// Enable a disabled account.
    Enable {
        /// The account name.
        name: String,
    },
    /// Remove an account; its name stays reserved.
    Remove {
        /// The account name.
        name: String,
    },
    /// Set a new initial password for an account (to be changed at next login).
    Passwd {
        /// The account name.
        name: String,
        /// Read the password from the first line of stdin instead of prompting twice.
        #[arg(long)]
        password_stdin: bool,
    },
    /// Unlock an account locked after failed logins.
    Unlock {
        /// The account name.
        name: String,
    },
    /// Reset an account's MFA: it enrols a new authenticator at next login.
    Mfa {
        /// The account name.
        name: String,
    },
}

#[derive(clap::Subcommand)]
pub(crate) enum RoleCommand {
    /// List the roles with their permissions.
    List {
        /// Output format.
        #[arg(long, value_enum, default_value_t = Format::Table)]
        format: Format,
    },
    /// Show one role.
    Show {
        /// The role name.
        name: String,
        /// Output format.
        #[arg(long, value_enum, default_value_t = Format::Table)]
        format: Format,
    },
    /// Grant a permission to a role, e.g. `rampart role grant operator audit.read`.
    Grant {
        /// The role name.
        role: String,
        /// The permission.
        permission: String,
    },
    /// Revoke a permission from a role.
    Revoke {
        /// The role name.
        role: String,
        /// The permission.
        permission: String,
    },
}

#[derive(clap::Subcommand)]
pub(crate) enum SessionCommand {
    /// List the open sessions.
    List {
        /// Only this account's sessions.
        #[arg(long)]
        user: Option<String>,
        /// Output format.
        #[arg(long, value_enum, default_value_t = Format::Table)]
        format: Format,
    },
    /// Terminate a session by its handle (CR 2.6).
    Kill {
        /// The session handle from `session list`.
        handle: i64,
    },
}

#[derive(clap::Subcommand)]
pub(crate) enum TokenCommand {
    /// Create an API token for a program (CR 1.14): one role, expiring. The token is printed
    /// once, alone on standard output; it is stored only as a hash.
    Create {
        /// The account the token acts for; it must hold the role.
        #[arg(long)]
        account: String,
        /// The one role the token carries.
        #[arg(long)]
        role: String,
        /// What the token is for (shown in lists and the audit trail).
        #[arg(long)]
        label: String,
        /// Lifetime in days (at most the configured maximum).
        #[arg(long, default_value_t = 30)]
        days: u32,
    },
    /// List API tokens (never their secrets).
    List {
        /// Only this account's tokens.
        #[arg(long)]
        user: Option<String>,
        /// Output format.
        #[arg(long, value_enum, default_value_t = Format::Table)]
        format: Format,
    },
    /// Revoke an API token by its id.
    Revoke {
        /// The token id from `token list`.
        id: i64,
    },
}

/// Opens the component and the console principal (the local OS user).
fn open(data: &Data) -> anyhow::Result<(Component, Identity, AuthenticatedPrincipal)> {
    let component = Component::open(&data.data)?;
    let identity = component.identity()?;
    let principal = identity.local_console(&component.os_user).map_err(input)?;
    Ok((component, identity, principal))
}

/// Identity errors that name something the user typed are bad input (exit 2).
fn input(error: IdentityError) -> anyhow::Error {
    match error {
        IdentityError::Storage(_) | IdentityError::AuditUnavailable(_) => anyhow::Error::new(error),
        other => BadInput(other.to_string()).into(),
    }
}

fn account(name: &str) -> anyhow::Result<AccountName> {
    AccountName::parse(name).map_err(|e| BadInput(e.to_string()).into())
}

fn role_name(name: &str) -> anyhow::Result<RoleName> {
    RoleName::parse(name).map_err(|e| BadInput(e.to_string()).into())
}

fn permission(text: &str) -> anyhow::Result<Permission> {
    text.parse::<Permission>()
        .map_err(|e| BadInput(e.to_string()).into())
}

/// Reads a new password: one line of stdin, or twice from the terminal without echo.
fn read_password(from_stdin: bool) -> anyhow::Result<Password> {
    if from_stdin {
        let mut line = String::new();
        std::io::stdin()
            .lock()
            .read_line(&mut line)
            .context("reading the password from stdin")?;
        let trimmed = line.trim_end_matches(['\r', '\n']).to_owned();
        zeroize::Zeroize::zeroize(&mut line);
        if trimmed.is_empty() {
            return Err(BadInput("--password-stdin: stdin held no password".into()).into());
        }
        return Ok(Password::new(trimmed));
    }
    if !std::io::stdin().is_terminal() {
        return Err(BadInput(
            "no terminal to prompt for the password on: use --password-stdin".into(),
        )
        .into());
    }
    let first = rpassword::prompt_password("New password: ").context("reading the password")?;
    let mut second = rpassword::prompt_password("Repeat it: ").context("reading the password")?;
    let same = first == second;
    zeroize::Zeroize::zeroize(&mut second);
    if !same {
        return Err(BadInput("the two passwords differ".into()).into());
    }
    Ok(Password::new(first))
}

pub(crate) fn user(data: &Data, command: &UserCommand) -> anyhow::Result<Outcome> {
    let (component, identity, console) = open(data)?;
    let text = match command {
        UserCommand::Add {
            name,
            role,
            process: true,
            ..
        } => {
            let new = NewAccount::new(account(name)?).role(role_name(role)?);
            let info = identity
                .create_process_account(&console, &new)
                .map_err(input)?;
            format!(
                "created process account {} with role {}; it authenticates by API token \
                 (rampart token create) or certificate\n",
                info.name,
                info.roles.join(", ")
            )
        }
        UserCommand::Add {
            name,
            role,
            password_stdin,
            process: false,
        } => {
            let new = NewAccount::new(account(name)?).role(role_name(role)?);
            let password = read_password(*password_stdin)?;
            let info = identity
                .create_user(&console, &new, &password)
                .map_err(input)?;
            format!(
                "created user {} with role {}; the password must be changed at first login\n",
                info.name,
                info.roles.join(", ")
            )
        }
        UserCommand::List { format } => {
            let accounts = identity.list_accounts(&console).map_err(input)?;
            match format {
                Format::Json => json(&accounts)?,
                Format::Table => {
                    let mut table = Table::new([
                        "NAME", "KIND", "ROLES", "ENABLED", "LOCKED", "MFA", "EXPIRES",
                    ]);
                    for a in &accounts {
                        table.row(vec![
                            a.name.clone(),
                            format!("{:?}", a.kind).to_lowercase(),
                            a.roles.join(","),
                            yes(a.enabled),
                            yes(a.locked),
                            yes(a.mfa_enrolled),
                            a.expires_at.map_or_else(|| "-".into(), |t| t.to_string()),
                        ]);
                    }
                    table.render(Style::new(output::colour_stdout()))
                }
            }
        }
        UserCommand::Show { name, format } => {
            let info = identity.account(&console, &account(name)?).map_err(input)?;
            match format {
                Format::Json => json(&info)?,
                Format::Table => {
                    let value = serde_json::to_value(&info)?;
                    let mut out = String::new();
                    if let Some(fields) = value.as_object() {
                        for (key, value) in fields {
                            let _ = writeln!(
                                out,
                                "{key:<22} {}",
                                value
                                    .as_str()
                                    .map_or_else(|| value.to_string(), str::to_owned)
                            );
                        }
                    }
                    out
                }
            }
        }
        UserCommand::Disable { name } => {
            identity
                .disable_account(&console, &account(name)?)
                .map_err(input)?;
            format!("disabled {name}\n")
        }
        UserCommand::Enable { name } => {
            identity
                .enable_account(&console, &account(name)?)
                .map_err(input)?;
            format!("enabled {name}\n")
        }
        UserCommand::Remove { name } => {
            identity
                .remove_account(&console, &account(name)?)
                .map_err(input)?;
            format!("removed {name}; the name stays reserved\n")
        }
        UserCommand::Passwd {
            name,
            password_stdin,
        } => {
            let name = account(name)?;
            let password = read_password(*password_stdin)?;
            identity
                .set_password(&console, &name, &password, true)
                .map_err(input)?;
            format!("new initial password set for {name}; it must be changed at next login\n")
        }
        UserCommand::Unlock { name } => {
            identity
                .unlock_account(&console, &account(name)?)
                .map_err(input)?;
            format!("unlocked {name}\n")
        }
        UserCommand::Mfa { name } => {
            identity
                .reset_mfa(&console, &account(name)?)
                .map_err(input)?;
            format!("MFA reset for {name}; a new authenticator is enrolled at next login\n")
        }
    };
    output::print(&text).context("writing to stdout")?;
    component.close()?;
    Ok(Outcome::Ok)
}

pub(crate) fn role(data: &Data, command: &RoleCommand) -> anyhow::Result<Outcome> {
    let (component, identity, console) = open(data)?;
    let text = match command {
        RoleCommand::List { format } => {
            let roles = identity.list_roles(&console).map_err(input)?;
            match format {
                Format::Json => json(&roles)?,
                Format::Table => {
                    let mut table =
                        Table::new(["ROLE", "BUILT-IN", "MFA", "MEMBERS", "PERMISSIONS"]);
                    for r in &roles {
                        table.row(vec![
                            r.name.to_string(),
                            yes(r.builtin),
                            yes(r.mfa_required),
                            r.members.len().to_string(),
                            r.permissions
                                .iter()
                                .map(Permission::as_str)
                                .collect::<Vec<_>>()
                                .join(" "),
                        ]);
                    }
                    table.render(Style::new(output::colour_stdout()))
                }
            }
        }
        RoleCommand::Show { name, format } => {
            let info = identity.role(&console, &role_name(name)?).map_err(input)?;
            match format {
                Format::Json => json(&info)?,
                Format::Table => {
                    let mut out = format!("{}  {}\n", info.name, info.description);
                    let _ = writeln!(out, "  built-in:    {}", yes(info.builtin));
                    let _ = writeln!(
                        out,
                        "  MFA:         {}",
                        if info.mfa_required {
                            "required"
                        } else {
                            "optional"
                        }
                    );
                    let _ = writeln!(
                        out,
                        "  members:     {}",
                        if info.members.is_empty() {
                            "-".to_owned()
                        } else {
                            info.members.join(", ")
                        }
                    );
                    out.push_str("  permissions:\n");
                    for p in info.permissions.iter() {
                        let _ = writeln!(out, "    {p}");
                    }
                    out
                }
            }
        }
        RoleCommand::Grant {
            role,
            permission: p,
        } => {
            let info = identity
                .grant_permission(&console, &role_name(role)?, permission(p)?)
                .map_err(input)?;
            format!("granted {p} to {}\n", info.name)
        }
        RoleCommand::Revoke {
            role,
            permission: p,
        } => {
            let info = identity
                .revoke_permission(&console, &role_name(role)?, permission(p)?)
                .map_err(input)?;
            format!("revoked {p} from {}\n", info.name)
        }
    };
    output::print(&text).context("writing to stdout")?;
    component.close()?;
    Ok(Outcome::Ok)
}

pub(crate) fn session(data: &Data, command: &SessionCommand) -> anyhow::Result<Outcome> {
    let (component, identity, console) = open(data)?;
    let text = match command {
        SessionCommand::List { user, format } => {
            let user = user.as_deref().map(account).transpose()?;
            let sessions = identity
                .list_sessions(&console, user.as_ref())
                .map_err(input)?;
            match format {
                Format::Json => json(&sessions)?,
                Format::Table => {
                    let mut table = Table::new([
                        "HANDLE",
                        "ACCOUNT",
                        "SOURCE",
                        "CREATED",
                        "LAST SEEN",
                        "EXPIRES",
                    ]);
                    for s in &sessions {
                        table.row(vec![
                            s.handle.to_string(),
                            s.account.clone(),
                            s.source.map_or_else(|| "-".into(), |a| a.to_string()),
                            s.created_at.to_string(),
                            s.last_seen_at.to_string(),
                            s.expires_at.to_string(),
                        ]);
                    }
                    table.render(Style::new(output::colour_stdout()))
                }
            }
        }
        SessionCommand::Kill { handle } => {
            identity
                .terminate_session(&console, *handle)
                .map_err(input)?;
            format!("terminated session {handle}\n")
        }
    };
    output::print(&text).context("writing to stdout")?;
    component.close()?;
    Ok(Outcome::Ok)
}

pub(crate) fn token(data: &Data, command: &TokenCommand) -> anyhow::Result<Outcome> {
    let (component, identity, console) = open(data)?;
    let text = match command {
        TokenCommand::Create {
            account: owner,
            role,
            label,
            days,
        } => {
            if *days == 0 {
                return Err(BadInput("--days must be at least 1".into()).into());
            }
            let created = identity
                .create_token(
                    &console,
                    &account(owner)?,
                    &role_name(role)?,
                    label,
                    jiff::SignedDuration::from_hours(i64::from(*days) * 24),
                )
                .map_err(input)?;
            eprintln!(
                "API token {} for {} (role {}), expires {}; shown only now:",
                created.info.id, created.info.account, created.info.role, created.info.expires_at
            );
            format!("{}\n", created.token.expose_secret())
        }
        TokenCommand::List { user, format } => {
            let user = user.as_deref().map(account).transpose()?;
            let tokens = identity
                .list_tokens(&console, user.as_ref())
                .map_err(input)?;
            match format {
                Format::Json => json(&tokens)?,
                Format::Table => {
                    let mut table =
                        Table::new(["ID", "ACCOUNT", "ROLE", "LABEL", "EXPIRES", "REVOKED"]);
                    for t in &tokens {
                        table.row(vec![
                            t.id.to_string(),
                            t.account.clone(),
                            t.role.clone(),
                            t.label.clone(),
                            t.expires_at.to_string(),
                            t.revoked_at.map_or_else(|| "-".into(), |r| r.to_string()),
                        ]);
                    }
                    table.render(Style::new(output::colour_stdout()))
                }
            }
        }
        TokenCommand::Revoke { id } => {
            identity.revoke_token(&console, *id).map_err(input)?;
            format!("revoked API token {id}\n")
        }
    };
    output::print(&text).context("writing to stdout")?;
    component.close()?;
    Ok(Outcome::Ok)
}

fn yes(flag: bool) -> String {
    if flag { "yes" } else { "no" }.to_owned()
}

fn json<T: serde::Serialize + ?Sized>(value: &T) -> anyhow::Result<String> {
    let mut text = serde_json::to_string_pretty(value)?;
    text.push('\n');
    Ok(text)
}
