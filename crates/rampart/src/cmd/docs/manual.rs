//! The security manual's content, as a small document model rendered to Markdown and to one
//! self-contained HTML file (inline CSS and SVG; no script, no external resource).
//!
//! Every table is generated: the compliance matrix and the compensating countermeasures from
//! the assessment of the profile, the hardening settings from the live checks
//! (`crates/assess/data/live-checks.toml`), the roles from `rampart_identity::builtin_roles`,
//! the IDS detectors from `rampart_conduit::Detector` (an exhaustive match: a new detector
//! does not build until it is described here), and the third-party components from the SBOM.

use std::fmt::Write as _;

use anyhow::Context as _;
use rampart_assess::Assessment;
use rampart_assess::Status;
use rampart_assess::live::{ConfigReport, Effect, LiveChecks};
use rampart_assess::report::escape_xml as esc;
use rampart_assess::report::matrix::{self, Matrix};
use rampart_conduit::Detector;

/// One block of the manual.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Block {
    /// A heading of level 2 or 3 with its anchor.
    Heading(u8, String, String),
    /// A paragraph; text between backticks is code.
    Para(String),
    /// A bulleted list; items as paragraphs.
    List(Vec<String>),
    /// A table; cells as paragraphs.
    Table(Vec<String>, Vec<Vec<String>>),
    /// Pre-rendered content: the diagram and the matrix.
    Raw {
        /// The Markdown.
        markdown: String,
        /// The HTML.
        html: String,
    },
}

/// The manual.
#[derive(Clone, Debug)]
pub(crate) struct Manual {
    title: String,
    meta: String,
    blocks: Vec<Block>,
    /// The compliance matrix (also rendered inside `blocks`).
    pub(crate) matrix: Matrix,
}

/// A detector with what it means for the operator.
fn detector(d: Detector) -> (&'static str, &'static str) {
    match d {
        Detector::PolicyViolation => (
            "A request the conduit policy denied",
            "Check whether the client's role or the policy is wrong before widening the policy; repeated denials from one client suggest misuse.",
        ),
        Detector::MalformedFrame => (
            "A frame that is not valid Modbus/TCP",
            "Find the sender: a broken client or a fuzzing attempt.",
        ),
        Detector::Reconnaissance => (
            "A function used to learn about a device (FC 8, 17, 43/14)",
            "Treat as discovery activity unless a maintenance task explains it.",
        ),
        Detector::AddressScan => (
            "Many distinct addresses, or illegal-address exceptions, from one client",
            "A register scan: isolate the client if unexpected.",
        ),
        Detector::UnitScan => (
            "Many distinct unit ids, or gateway-path exceptions, from one client",
            "A unit scan: isolate the client if unexpected.",
        ),
        Detector::HostScan => (
            "Requests to many distinct servers from one client",
            "A sweep for Modbus devices: isolate the client.",
        ),
        Detector::WriteBurst => (
            "Many writes in a short time",
            "Confirm with the process engineer; consider island mode if writes are not explained.",
        ),
        Detector::ExceptionStorm => (
            "Many exception responses to one client",
            "A misconfigured client or probing.",
        ),
        Detector::RequestFlood => (
            "More requests than the flood threshold",
            "A denial-of-service attempt or a runaway client; the gateway rate-limits, find the source.",
        ),
        Detector::UnusualFunction => (
            "A function code the client did not use while its baseline was learned",
            "New behaviour: confirm a change was planned.",
        ),
        Detector::NewTalker => (
            "A client the baseline does not know, or a known client talking to a new server",
            "An unknown device in the conduit: verify it.",
        ),
        Detector::RoleReversal => (
            "A device seen only as a server sends requests",
            "A PLC acting as a client may be compromised: investigate.",
        ),
        Detector::NewUnit => (
            "A unit id the client did not use while the baseline was learned",
            "Confirm a change was planned.",
        ),
        Detector::NewWriteTarget => (
            "A write outside the ranges the client wrote while the baseline was learned",
            "Confirm with the process engineer.",
        ),
        Detector::RateAnomaly => (
            "A request rate outside the learned band",
            "Check the client and the network.",
        ),
        Detector::Unanswered => (
            "More requests left unanswered than the baseline allows",
            "The PLC or the PLC-zone network may be failing or overloaded.",
        ),
        Detector::ResponseTimeDrift => (
            "Response times far above the learned ones",
            "The PLC may be overloaded or under attack.",
        ),
    }
}

const DETECTORS: [Detector; 17] = [
    Detector::PolicyViolation,
    Detector::MalformedFrame,
    Detector::Reconnaissance,
    Detector::AddressScan,
    Detector::UnitScan,
    Detector::HostScan,
    Detector::WriteBurst,
    Detector::ExceptionStorm,
    Detector::RequestFlood,
    Detector::UnusualFunction,
    Detector::NewTalker,
    Detector::RoleReversal,
    Detector::NewUnit,
    Detector::NewWriteTarget,
    Detector::RateAnomaly,
    Detector::Unanswered,
    Detector::ResponseTimeDrift,
];

/// The zone and conduit model as an inline SVG.
fn diagram_svg() -> String {
    let mut s = String::from(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 860 330\" width=\"860\" height=\"330\" role=\"img\" aria-labelledby=\"zc-title\">\n<title id=\"zc-title\">Zones and conduits: control network zone, conduit through the Rampart gateway, PLC zone, management zone</title>\n<defs><marker id=\"arrow\" viewBox=\"0 0 10 10\" refX=\"9\" refY=\"5\" markerWidth=\"7\" markerHeight=\"7\" orient=\"auto-start-reverse\"><path d=\"M0,0 L10,5 L0,10 z\" fill=\"#344054\"/></marker></defs>\n",
    );
    let zone = |s: &mut String,
                x: u32,
                y: u32,
                w: u32,
                h: u32,
                fill: &str,
                title: &str,
                lines: &[&str]| {
        let _ = writeln!(
            s,
            "<rect x=\"{x}\" y=\"{y}\" width=\"{w}\" height=\"{h}\" rx=\"8\" fill=\"{fill}\" stroke=\"#667085\" stroke-dasharray=\"6 4\"/>\n<text x=\"{}\" y=\"{}\" font-size=\"14\" font-weight=\"600\" fill=\"#101828\">{}</text>",
            x + 10,
            y + 22,
            esc(title)
        );
        for (i, line) in lines.iter().enumerate() {
            let _ = writeln!(
                s,
                "<text x=\"{}\" y=\"{}\" font-size=\"12\" fill=\"#344054\">{}</text>",
                x + 10,
                y + 46 + 18 * u32::try_from(i).unwrap_or(0),
                esc(line)
            );
        }
    };
    zone(
        &mut s,
        10,
        150,
        230,
        160,
        "#eff8ff",
        "Control network zone",
        &[
            "SCADA / HMI clients",
            "engineering workstations",
            "each with its own X.509",
            "certificate (role from it)",
        ],
    );
    zone(
        &mut s,
        620,
        150,
        230,
        160,
        "#fef6ee",
        "PLC zone",
        &[
            "PLCs and field devices",
            "plain Modbus/TCP",
            "reachable only through",
            "the gateway",
        ],
    );
    zone(
        &mut s,
        300,
        10,
        260,
        100,
        "#f4f3ff",
        "Management zone",
        &["administrators (HTTPS, MFA)", "SIEM (syslog over TLS)"],
    );
    let _ = writeln!(
        s,
        "<rect x=\"315\" y=\"170\" width=\"230\" height=\"120\" rx=\"8\" fill=\"#ecfdf3\" stroke=\"#1b7f3b\" stroke-width=\"2\"/>\n<text x=\"430\" y=\"196\" font-size=\"14\" font-weight=\"700\" text-anchor=\"middle\" fill=\"#101828\">Rampart gateway (NDR)</text>\n<text x=\"430\" y=\"218\" font-size=\"12\" text-anchor=\"middle\" fill=\"#344054\">conduit: per-role Modbus DPI</text>\n<text x=\"430\" y=\"236\" font-size=\"12\" text-anchor=\"middle\" fill=\"#344054\">IDS, audit trail, island mode</text>\n<text x=\"430\" y=\"254\" font-size=\"12\" text-anchor=\"middle\" fill=\"#344054\">default deny</text>"
    );
    let arrow = |s: &mut String,
                 x1: u32,
                 y1: u32,
                 x2: u32,
                 y2: u32,
                 label: &str,
                 lx: u32,
                 ly: u32| {
        let _ = writeln!(
            s,
            "<line x1=\"{x1}\" y1=\"{y1}\" x2=\"{x2}\" y2=\"{y2}\" stroke=\"#344054\" stroke-width=\"2\" marker-end=\"url(#arrow)\"/>\n<text x=\"{lx}\" y=\"{ly}\" font-size=\"11\" text-anchor=\"middle\" fill=\"#344054\">{}</text>",
            esc(label)
        );
    };
    arrow(&mut s, 240, 250, 313, 250, "Modbus/TCP", 277, 226);
    let _ = writeln!(
        s,
        "<text x=\"277\" y=\"240\" font-size=\"11\" text-anchor=\"middle\" fill=\"#344054\">Security (TLS)</text>"
    );
    arrow(&mut s, 545, 250, 618, 250, "Modbus/TCP", 582, 240);
    arrow(
        &mut s,
        430,
        110,
        430,
        168,
        "HTTPS management API (allow-listed)",
        430,
        140,
    );
    s.push_str("</svg>\n");
    s
}

const DIAGRAM_TEXT: &str = "```text
                 +------------------------------+
                 | Management zone              |
                 | administrators (HTTPS, MFA)  |
                 | SIEM (syslog over TLS)       |
                 +--------------+---------------+
                                | HTTPS management API (allow-listed)
                                v
+----------------------+   +------------------------+   +----------------------+
| Control network zone |   | Rampart gateway (NDR)  |   | PLC zone             |
| SCADA / HMI clients  |-->| conduit: per-role DPI  |-->| PLCs, field devices  |
| engineering stations |   | IDS, audit, island     |   | plain Modbus/TCP     |
| X.509 per client     |   | default deny           |   | only via the gateway |
+----------------------+   +------------------------+   +----------------------+
      Modbus/TCP Security (TLS, mutual auth)        Modbus/TCP
```
";

/// A component of the SBOM: name, version, licence.
fn sbom_components(sbom: &str) -> anyhow::Result<Vec<[String; 3]>> {
    let value: serde_json::Value =
        serde_json::from_str(sbom).context("reading the embedded SBOM")?;
    let mut out = Vec::new();
    for c in value["components"]
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or_default()
    {
        let text = |v: &serde_json::Value| v.as_str().unwrap_or_default().to_owned();
        let licenses: Vec<String> = c["licenses"]
            .as_array()
            .map(Vec::as_slice)
            .unwrap_or_default()
            .iter()
            .filter_map(|l| {
                l["expression"]
                    .as_str()
                    .or_else(|| l["license"]["id"].as_str())
                    .or_else(|| l["license"]["name"].as_str())
                    .map(str::to_owned)
            })
            .collect();
        out.push([
            text(&c["name"]),
            text(&c["version"]),
            if licenses.is_empty() {
                "not stated".to_owned()
            } else {
                licenses.join(" AND ")
            },
        ]);
    }
    out.sort();
    Ok(out)
}

fn heading(blocks: &mut Vec<Block>, level: u8, anchor: &str, text: &str) {
    blocks.push(Block::Heading(level, anchor.to_owned(), text.to_owned()));
}

fn para(blocks: &mut Vec<Block>, text: impl Into<String>) {
    blocks.push(Block::Para(text.into()));
}

/// The third-party components' vulnerability status, from an advisory database.
pub(crate) struct Vulnerabilities {
    /// What was matched against, for the reader.
    source: String,
    /// Open advisories by component (name, version): `ID (status)`.
    open: std::collections::BTreeMap<(String, String), Vec<String>>,
}

impl Vulnerabilities {
    /// Matches this build's SBOM against the RustSec advisories under `dir`, as
    /// `rampart vuln self --rustsec DIR` does.
    pub(crate) fn from_rustsec(dir: &std::path::Path) -> anyhow::Result<Vulnerabilities> {
        let inventory =
            rampart_vuln::Inventory::from_json(rampart_mgmt::SBOM_JSON, "the embedded SBOM")
                .context("reading this build's SBOM")?;
        let advisories = rampart_vuln::load::rustsec(dir)
            .map_err(|e| crate::BadInput(format!("--rustsec: {e}")))?;
        let matches = rampart_vuln::match_inventory(
            &inventory,
            &advisories,
            &rampart_vuln::Options::default(),
        );
        let mut open: std::collections::BTreeMap<(String, String), Vec<String>> =
            std::collections::BTreeMap::new();
        for m in matches.iter().filter(|m| m.is_open()) {
            open.entry((
                m.component_name.clone(),
                m.component_version.clone().unwrap_or_default(),
            ))
            .or_default()
            .push(format!("{} ({})", m.advisory, m.status.as_str()));
        }
        Ok(Vulnerabilities {
            source: format!(
                "the RustSec advisory database ({} advisories)",
                advisories.len()
            ),
            open,
        })
    }

    fn status(&self, name: &str, version: &str) -> String {
        self.open
            .get(&(name.to_owned(), version.to_owned()))
            .map_or_else(|| "no known advisory".to_owned(), |ids| ids.join(", "))
    }
}

/// Builds the manual of the component assessed in `a`.
pub(crate) fn build(
    a: &Assessment,
    checks: &LiveChecks,
    defaults: Option<&ConfigReport>,
    sbom: &str,
    vulnerabilities: Option<&Vulnerabilities>,
) -> anyhow::Result<Manual> {
    let c = &a.component;
    let compliance = matrix::build(a, checks);
    let mut doc = Vec::new();

    heading(
        &mut doc,
        2,
        "intended-use",
        "1 Intended use and the zone/conduit model",
    );
    para(
        &mut doc,
        format!(
            "{} {} by {} is an IEC 62443-4-2 {} ({}). {}",
            c.product,
            c.version,
            c.vendor,
            c.component_type,
            c.component_type.name(),
            c.description.clone().unwrap_or_default()
        ),
    );
    para(
        &mut doc,
        "It is the conduit between a control network zone and a PLC zone (IEC 62443-3-2 zones and conduits): clients in the control network reach the PLCs only through the gateway, over Modbus/TCP Security (TLS 1.2/1.3 with mutual X.509 authentication, the role taken from the client certificate); the gateway inspects every request against the client's role (default deny), raises IDS alerts, and forwards allowed requests to the PLCs over plain Modbus/TCP inside the PLC zone. It is managed over HTTPS from a management zone, and its audit trail is forwarded to a SIEM. It is not a firewall for other protocols, and it does not protect a PLC that is reachable by another path.",
    );
    doc.push(Block::Raw { markdown: DIAGRAM_TEXT.to_owned(), html: format!("<figure class=\"diagram\">{}<figcaption>The zone and conduit model Rampart assumes.</figcaption></figure>\n", diagram_svg()) });
    para(
        &mut doc,
        format!(
            "Target security level (SL-T) of this profile: `{}`; capability security level reached by the component itself (SL-C): `{}`; with the countermeasures of the environment (section 2): `{}` (FR order FR1 to FR7).",
            a.sl_t, a.sl_c, a.sl_c_with_countermeasures
        ),
    );

    heading(
        &mut doc,
        2,
        "defense-in-depth",
        "2 Defense-in-depth measures expected of the environment",
    );
    para(
        &mut doc,
        "Rampart is one layer. The environment must provide the measures below: each is a requirement the component meets only with a compensating countermeasure (CCSC 2), or does not meet by itself.",
    );
    let compensated: Vec<Vec<String>> = compliance
        .rows
        .iter()
        .filter(|r| r.status == Status::Compensated)
        .map(|r| {
            vec![
                format!("{} {}", r.id, r.title),
                r.how.clone().unwrap_or_default(),
            ]
        })
        .collect();
    if compensated.is_empty() {
        para(&mut doc, "The profile names no compensated requirement.");
    } else {
        doc.push(Block::Table(
            vec![
                "Requirement".into(),
                "Countermeasure the environment provides".into(),
            ],
            compensated,
        ));
    }
    let open: Vec<Vec<String>> = compliance
        .rows
        .iter()
        .filter(|r| {
            matches!(r.status, Status::Partial | Status::NotMet)
                && r.fr.is_some_and(|fr| r.sl <= a.sl_t.get(fr))
        })
        .map(|r| {
            vec![
                format!("{} {}", r.id, r.title),
                format!("SL {}", r.sl),
                rampart_assess::report::matrix::status_words(r.status).to_owned(),
                r.how.clone().unwrap_or_default(),
            ]
        })
        .collect();
    if !open.is_empty() {
        para(
            &mut doc,
            "Requirements within the SL-T that the component does not (fully) meet by itself; the environment must cover them:",
        );
        doc.push(Block::Table(
            vec![
                "Requirement".into(),
                "SL".into(),
                "Status".into(),
                "Notes".into(),
            ],
            open,
        ));
    }
    doc.push(Block::List(vec![
        "Place the PLCs in a zone that only the gateway can reach (no other route, no dual-homed hosts).".into(),
        "Restrict the management API to the management zone (`management.allow_list`) and the Modbus/TCP Security listener to the control network (`modbus_security.allow_list`).".into(),
        "Physically protect the device; keep its data directory on storage only the gateway's user can read.".into(),
        "Forward the audit trail to a SIEM that is monitored (section 4.4).".into(),
    ]));

    heading(&mut doc, 2, "hardening", "3 Security hardening");
    let live = a.live.is_some();
    para(
        &mut doc,
        "Every setting below is read by a live check of `rampart assess --live`; the gateway reports its current values in the configuration report (`rampart config-report`, `GET /api/v1/config-report`; every setting with its description in `docs/config-report.md`). Set each to its secure value; the default is the value of the default configuration on a new data directory, and the \"if weaker\" column says what a weaker value costs.",
    );
    if !live {
        para(
            &mut doc,
            "This manual was generated without a running gateway: pass `--live URL` or `--live-report FILE` to add each setting's value in your configuration.",
        );
    }
    let mut head = vec!["Setting".to_owned(), "Secure value".into()];
    if defaults.is_some() {
        head.push("Default".into());
    }
    head.extend(["Requirement".into(), "If weaker".into()]);
    if live {
        head.push("This configuration".into());
    }
    let findings = a
        .live
        .as_ref()
        .map(|l| l.findings.as_slice())
        .unwrap_or_default();
    let rows: Vec<Vec<String>> = checks
        .checks()
        .iter()
        .filter_map(|check| {
            let setting = check.setting.as_ref()?;
            let cost = match check.effect {
                Effect::NotMet => format!("{}: {} is not met", check.message, check.requirement),
                Effect::Note => format!("{} (recorded with {})", check.message, check.requirement),
            };
            let mut row = vec![
                format!("`{setting}`"),
                format!("`{}`", check.expect.describe()),
            ];
            if let Some(report) = defaults {
                row.push(
                    report
                        .settings
                        .iter()
                        .find(|s| &s.id == setting)
                        .map_or_else(|| "not reported".to_owned(), |s| format!("`{}`", s.value)),
                );
            }
            row.extend([check.requirement.to_string(), cost]);
            if live {
                row.push(findings.iter().find(|f| f.check == check.id).map_or_else(
                    || "not reported".to_owned(),
                    |f| format!("`{}` ({})", f.observed, f.outcome),
                ));
            }
            Some(row)
        })
        .collect();
    doc.push(Block::Table(head, rows));
    let self_tests: Vec<String> = checks
        .checks()
        .iter()
        .filter_map(|c| {
            c.self_test
                .as_ref()
                .map(|t| format!("`{t}` must pass ({})", c.requirement))
        })
        .collect();
    if !self_tests.is_empty() {
        para(
            &mut doc,
            "Self-tests the configuration report carries (CR 3.3), each expected to pass:",
        );
        doc.push(Block::List(self_tests));
    }
    para(
        &mut doc,
        "Check a configuration before deployment with `rampart config-report --config FILE --data DIR`, and a running gateway with `rampart assess profiles/rampart-gateway.toml --live URL --token @FILE --ca CA`.",
    );

    heading(&mut doc, 2, "operation", "4 Secure operation");
    heading(&mut doc, 3, "updates", "4.1 Updates");
    para(
        &mut doc,
        "Updates are signed bundles delivered through TUF (`docs/update.md`): provision the supplier's trust once (`rampart update trust`), then `rampart update check`, `rampart update download` and `rampart update install` into the inactive slot; the launcher boots it as a trial and the gateway commits it after its health check (`rampart update commit`, `rampart update rollback`). The security-version floor prevents rollback to a vulnerable release. Check advisories for this release with `rampart vuln self` (section 7).",
    );
    heading(&mut doc, 3, "backups", "4.2 Backups");
    para(
        &mut doc,
        "`rampart backup create` writes an encrypted backup of the data directory signed by the device key; `rampart backup verify` checks it; `rampart backup restore` verifies everything before restoring and keeps the replaced directory (`docs/backup.md`). Keep backups offline and test a restore regularly.",
    );
    heading(&mut doc, 3, "keys", "4.3 Key and credential rotation");
    doc.push(Block::List(vec![
        "API tokens: create per program with an expiry (`rampart token create`), revoke unused ones (`rampart token revoke`; `docs/users.md`).".into(),
        "Passwords and second factors: `rampart user` (password reset, MFA reset); sessions can be listed and terminated (`rampart session`).".into(),
        "Update signing keys (the maker's side): `rampart update repo rotate` (`docs/update.md`).".into(),
        "Client certificates and the data at rest: see `docs/vault.md`; the cryptographic inventory of every key is `rampart crypto`.".into(),
    ]));
    heading(&mut doc, 3, "audit", "4.4 Audit forwarding");
    para(
        &mut doc,
        "Forward the tamper-evident audit trail to a SIEM with `rampart audit forward` (RFC 5424 syslog over TLS, resuming from a persistent cursor; `docs/forward.md`). Verify the chain with `rampart audit verify`; query with `rampart audit query`.",
    );
    heading(
        &mut doc,
        3,
        "incident-response",
        "4.5 Incident response: the alerts the gateway raises",
    );
    para(
        &mut doc,
        "The IDS (`docs/ids.md`) raises the alerts below into the audit trail and the SIEM. On an unexplained alert: preserve the audit trail (`rampart audit export`), consider island mode (`rampart island on`, which stops all traffic across the conduit without writing to the PLCs), find the source, and restore from a known-good backup or update if the gateway itself is in doubt (`rampart integrity verify`).",
    );
    doc.push(Block::Table(
        vec!["Detector".into(), "Raised on".into(), "What to do".into()],
        DETECTORS
            .iter()
            .map(|d| {
                let (what, todo) = detector(*d);
                vec![format!("`{d}`"), what.to_owned(), todo.to_owned()]
            })
            .collect(),
    ));

    heading(&mut doc, 2, "accounts", "5 Account management");
    para(
        &mut doc,
        "Every person has their own account (no shared accounts); programs use API tokens. Accounts, roles, sessions and tokens are managed with `rampart user`, `rampart role`, `rampart session` and `rampart token` or the management API (`docs/users.md`). Give each person the least-privileged role that fits. The built-in roles:",
    );
    doc.push(Block::Table(
        vec!["Role".into(), "Purpose".into(), "Permissions".into()],
        rampart_identity::builtin_roles()
            .into_iter()
            .map(|(name, purpose, perms)| {
                vec![
                    format!("`{name}`"),
                    purpose.to_owned(),
                    perms
                        .iter()
                        .map(rampart_identity::Permission::as_str)
                        .collect::<Vec<_>>()
                        .join(", "),
                ]
            })
            .collect(),
    ));
    let identity: Vec<String> = checks
        .checks()
        .iter()
        .filter_map(|c| {
            let s = c.setting.as_ref()?;
            s.starts_with("identity.")
                .then(|| format!("`{s}` `{}` ({})", c.expect.describe(), c.requirement))
        })
        .collect();
    para(
        &mut doc,
        "Password policy, lockout after failed logins, MFA (TOTP) and session limits are settings of the identity service; their secure values (section 3):",
    );
    doc.push(Block::List(identity));

    heading(&mut doc, 2, "disposal", "6 Secure disposal");
    para(
        &mut doc,
        "Before a device leaves service, run `rampart erase --data DIR` (CR 4.2, `docs/vault.md`): the erase is recorded (and sent to the SIEM when asked) first, then the key-encryption key is destroyed, every file overwritten and removed, and the result verified. With a TPM, the sealed key is cleared too. A running gateway can be erased through the management API (`POST /api/v1/erase`, permission `vault.erase`), which always needs a second administrator's approval; it then exits with code 3, which its service manager must not restart (`RestartPreventExitStatus=3`). Physically destroy storage that held the data directory if it cannot be erased.",
    );

    heading(&mut doc, 2, "components", "7 Third-party components");
    let components = sbom_components(sbom)?;
    let status_note = match vulnerabilities {
        Some(v) => format!(
            "Vulnerability status: matched when this manual was generated against {}, as `rampart vuln self --rustsec DIR` does; {} component(s) with an open advisory. Advisories appear after a release: check again with `rampart vuln self` against current advisories (`--rustsec DIR`, `--osv`, `--csaf`), or on a running gateway with `rampart vuln self --live` (`docs/vulnerabilities.md`).",
            v.source,
            v.open.len()
        ),
        None => "Vulnerability status: no advisory database was given (`--rustsec DIR`), so each component is listed as not checked; check them against current advisories with `rampart vuln self --rustsec DIR` (a RustSec advisory database checkout), `--osv` or `--csaf`, or on a running gateway with `rampart vuln self --live` (`docs/vulnerabilities.md`).".to_owned(),
    };
    para(
        &mut doc,
        format!(
            "The {} components of this build, from its SBOM (`crates/mgmt/sbom/rampart.cdx.json`, CycloneDX 1.6, served by the gateway). {status_note}",
            components.len()
        ),
    );
    doc.push(Block::Table(
        vec![
            "Component".into(),
            "Version".into(),
            "Licence".into(),
            "Vulnerability status".into(),
        ],
        components
            .into_iter()
            .map(|[n, v, l]| {
                let status =
                    vulnerabilities.map_or_else(|| "not checked".to_owned(), |x| x.status(&n, &v));
                vec![n, v, l, status]
            })
            .collect(),
    ));

    heading(&mut doc, 2, "matrix", "8 Compliance matrix");
    para(
        &mut doc,
        format!(
            "Every IEC 62443-4-2 requirement and RE that applies to a {} at SL 1 to 4: its status, the lowest SL at which it is required, how the component meets it, the setting that enables it (with its secure value), and the tests that prove it. The same rows as an OSCAL 1.2.1 component definition (each implemented requirement with its status, how, `setting` and `evidence-test` properties) are in `component-definition.json` next to this manual, and from `rampart assess PROFILE --format oscal-component`.",
            c.component_type
        ),
    );
    doc.push(Block::Raw {
        markdown: matrix::markdown(&compliance),
        html: matrix::html_table(&compliance),
    });

    Ok(Manual {
        title: format!("Security manual: {} {}", c.product, c.version),
        meta: format!(
            "{} · {} ({}) · profile `{}` (SHA-256 `{}`) · {} catalog {} · generated {} by {} {}",
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
        ),
        blocks: doc,
        matrix: compliance,
    })
}

/// Escapes text for a Markdown table cell.
fn md_cell(text: &str) -> String {
    text.replace('|', "\\|").replace(['\n', '\r'], " ")
}

/// The manual as Markdown.
pub(crate) fn markdown(doc: &Manual) -> String {
    let mut out = String::with_capacity(256 << 10);
    let _ = writeln!(out, "# {}\n\n{}\n", doc.title, doc.meta);
    out.push_str("<!-- Generated by `rampart docs manual`; do not edit (docs/manual.md). -->\n\n");
    for block in &doc.blocks {
        match block {
            Block::Heading(level, _, text) => {
                let _ = writeln!(out, "{} {text}\n", "#".repeat(usize::from(*level)));
            }
            Block::Para(text) => {
                let _ = writeln!(out, "{text}\n");
            }
            Block::List(items) => {
                for i in items {
                    let _ = writeln!(out, "- {i}");
                }
                out.push('\n');
            }
            Block::Table(head, rows) => {
                let _ = writeln!(out, "| {} |", head.join(" | "));
                let _ = writeln!(out, "|{}", "---|".repeat(head.len()));
                for row in rows {
                    let cells: Vec<String> = row.iter().map(|c| md_cell(c)).collect();
                    let _ = writeln!(out, "| {} |", cells.join(" | "));
                }
                out.push('\n');
            }
            Block::Raw { markdown, .. } => {
                out.push_str(markdown);
                out.push('\n');
            }
        }
    }
    while out.ends_with("\n\n") {
        out.pop();
    }
    out
}

/// Inline text as HTML: escaped, with text between backticks as `<code>`.
fn inline(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 16);
    for (i, part) in text.split('`').enumerate() {
        if i % 2 == 1 {
            let _ = write!(out, "<code>{}</code>", esc(part));
        } else {
            out.push_str(&esc(part));
        }
    }
    out
}

const EXTRA_STYLE: &str = "
nav ul { columns: 2; list-style: none; padding-left: 0; } figure.diagram { margin: 12px 0; } figure.diagram svg { max-width: 100%; height: auto; }
figcaption { color: var(--muted); font-size: 12px; } table.matrix { table-layout: fixed; } table.matrix td { font-size: 12px; }
table.matrix td.id { white-space: normal; }
table.matrix th:nth-child(1) { width: 19%; } table.matrix th:nth-child(2) { width: 4%; }
table.matrix th:nth-child(3) { width: 9%; } table.matrix th:nth-child(4) { width: 30%; }
table.matrix th:nth-child(5) { width: 17%; } table.matrix th:nth-child(6) { width: 21%; }
td code { overflow-wrap: anywhere; } td:first-child code { overflow-wrap: normal; white-space: nowrap; }
@page { size: A4 landscape; margin: 14mm; }
";

/// The manual as one self-contained HTML file.
pub(crate) fn html(doc: &Manual) -> String {
    let mut out = String::with_capacity(512 << 10);
    let _ = write!(
        out,
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n<title>{}</title>\n<style>{}{EXTRA_STYLE}</style>\n</head>\n<body>\n<h1>{}</h1>\n<p class=\"meta\">{}</p>\n<nav><ul>\n",
        esc(&doc.title),
        rampart_assess::report::html::STYLE,
        esc(&doc.title),
        inline(&doc.meta)
    );
    for block in &doc.blocks {
        if let Block::Heading(2, anchor, text) = block {
            let _ = writeln!(
                out,
                "<li><a href=\"#{}\">{}</a></li>",
                esc(anchor),
                esc(text)
            );
        }
    }
    out.push_str("</ul></nav>\n");
    for block in &doc.blocks {
        match block {
            Block::Heading(level, anchor, text) => {
                let _ = writeln!(
                    out,
                    "<h{level} id=\"{}\">{}</h{level}>",
                    esc(anchor),
                    esc(text)
                );
            }
            Block::Para(text) => {
                let _ = writeln!(out, "<p>{}</p>", inline(text));
            }
            Block::List(items) => {
                out.push_str("<ul>\n");
                for i in items {
                    let _ = writeln!(out, "<li>{}</li>", inline(i));
                }
                out.push_str("</ul>\n");
            }
            Block::Table(head, rows) => {
                out.push_str("<table>\n<thead><tr>");
                for h in head {
                    let _ = write!(out, "<th>{}</th>", esc(h));
                }
                out.push_str("</tr></thead>\n<tbody>\n");
                for row in rows {
                    out.push_str("<tr>");
                    for c in row {
                        let _ = write!(out, "<td>{}</td>", inline(c));
                    }
                    out.push_str("</tr>\n");
                }
                out.push_str("</tbody>\n</table>\n");
            }
            Block::Raw { html, .. } => out.push_str(html),
        }
    }
    out.push_str("</body>\n</html>\n");
    out
}

#[cfg(test)]
mod tests {
    use rampart_assess::{Options, Profile};
    use rampart_catalog::{Catalog, ComponentType, Kind};

    use super::*;

    fn manual() -> Manual {
        let catalog = Catalog::builtin();
        let profile = Profile::parse(
            crate::cmd::docs::DEFAULT_PROFILE,
            crate::cmd::docs::DEFAULT_PROFILE_NAME,
            catalog,
        )
        .unwrap();
        let a = rampart_assess::assess(
            catalog,
            &profile,
            &Options {
                sl_t: None,
                waivers: None,
                live: None,
                now: jiff::Timestamp::UNIX_EPOCH,
            },
        );
        build(
            &a,
            &LiveChecks::builtin(),
            None,
            rampart_mgmt::SBOM_JSON,
            None,
        )
        .unwrap()
    }

    #[test]
    fn every_ndr_requirement_has_a_matrix_row() {
        let doc = manual();
        let expected = Catalog::builtin()
            .requirements()
            .iter()
            .filter(|r| r.kind() != Kind::Ccsc && r.applies_to(ComponentType::Ndr))
            .count();
        assert_eq!(doc.matrix.rows.len(), expected);
        let html = html(&doc);
        for r in &doc.matrix.rows {
            assert!(
                html.contains(&format!("id=\"{}\"", r.id.oscal_id())),
                "{}",
                r.id
            );
        }
    }

    #[test]
    fn html_is_self_contained() {
        let html = html(&manual());
        for attr in ["src=\"http", "href=\"http", "url(http", "<script", "<link"] {
            assert!(!html.contains(attr), "{attr}");
        }
        assert!(html.contains("<svg"));
        assert_eq!(
            html.matches("<table").count(),
            html.matches("</table>").count()
        );
    }

    #[test]
    fn sections_and_generated_tables_are_there() {
        let doc = manual();
        let md = markdown(&doc);
        for section in [
            "Intended use",
            "Defense-in-depth",
            "hardening",
            "Secure operation",
            "Account management",
            "Secure disposal",
            "Third-party components",
            "Compliance matrix",
        ] {
            assert!(md.contains(section), "{section}");
        }
        for d in DETECTORS {
            assert!(md.contains(&format!("`{d}`")), "{d}");
        }
        assert!(md.contains("`security-admin`"));
        assert!(md.contains("`identity.mfa.required_for_all`"));
        assert!(md.contains("| aead | 0.6.1 | MIT OR Apache-2.0 | not checked |"));
        assert!(md.contains("rampart erase"));
    }

    #[test]
    fn inline_code_is_escaped() {
        assert_eq!(inline("a `<b>` c"), "a <code>&lt;b&gt;</code> c");
    }
}
