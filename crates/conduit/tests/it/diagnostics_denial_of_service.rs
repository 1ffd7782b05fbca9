//! Threat: a role allowed a preset takes the PLC off the bus with FC 8 sub-function 1 (restart
//! communications option) or 4 (force listen only mode), the classic Modbus denial-of-service
//! commands. A preset holds only the diagnostics that read or echo; the disruptive ones pass
//! only where a rule names them, and `lint` warns about every rule that does.

use rampart_conduit::{Level, Policy, lint};
use rampart_modbus::RequestPdu;

use crate::util::{check, compile, default_policy};

fn diagnostics(sub_function: u16) -> RequestPdu<'static> {
    // Restart communications accepts 0xFF00 (clear the log too); the others 0x0000.
    let data: &'static [u8] = if sub_function == 1 {
        &[0xFF, 0]
    } else {
        &[0, 0]
    };
    RequestPdu::Diagnostics { sub_function, data }
}

/// Sub-functions that change or stop the device, and reserved ones: in no preset.
const NOT_IN_PRESETS: [u16; 8] = [1, 3, 4, 10, 20, 19, 21, 0xFFFF];
/// Sub-functions that read counters or echo: in the presets that hold FC 8.
const IN_PRESETS: [u16; 10] = [0, 2, 11, 12, 13, 14, 15, 16, 17, 18];

#[test]
fn the_all_preset_refuses_restart_and_listen_only() {
    let p = default_policy();
    let engineer = Some("engineer");
    for sub in NOT_IN_PRESETS {
        let denial = check(&p, engineer, 1, diagnostics(sub))
            .unwrap_or_else(|| panic!("'all' let 8/{sub} through"));
        assert_eq!(
            denial,
            format!("role 'engineer' may not use sub-function {sub} of diagnostics (FC 8)")
        );
    }
    for sub in IN_PRESETS {
        assert_eq!(check(&p, engineer, 1, diagnostics(sub)), None, "8/{sub}");
    }
}

#[test]
fn disruptive_sub_functions_pass_only_where_a_rule_names_them() {
    let p = compile(
        "version = 1\n\
         [[role]]\nname = \"maint\"\n\
         [[role.rule]]\nunits = 1\nfunctions = [\"all\", \"8/4\"]\nread = \"*\"\nwrite = \"*\"\n\
         [[role]]\nname = \"diag\"\n\
         [[role.rule]]\nunits = 1\nfunctions = \"diagnostics\"\n",
    );
    // `all` plus 8/4 named: listen-only passes, restart does not.
    assert_eq!(check(&p, Some("maint"), 1, diagnostics(4)), None);
    assert!(check(&p, Some("maint"), 1, diagnostics(1)).is_some());
    assert_eq!(check(&p, Some("maint"), 1, diagnostics(0)), None);
    // FC 8 named by itself allows every sub-function, as documented.
    for sub in [0, 1, 4, 10] {
        assert_eq!(
            check(&p, Some("diag"), 1, diagnostics(sub)),
            None,
            "8/{sub}"
        );
    }
}

#[test]
fn lint_warns_about_every_rule_allowing_them_and_not_about_presets() {
    let default = Policy::parse(rampart_conduit::DEFAULT_POLICY, "default.toml").unwrap();
    assert!(
        lint(&default)
            .iter()
            .all(|f| f.code != "disruptive-diagnostics"),
        "the default policy"
    );
    let policy = Policy::parse(
        "version = 1\n\
         [[role]]\nname = \"a\"\n\
         [[role.rule]]\nunits = 1\nfunctions = \"all\"\nread = \"*\"\nwrite = \"0-9\"\n\
         [[role.rule]]\nunits = 2\nfunctions = [\"8/1\"]\n\
         [[role]]\nname = \"b\"\n\
         [[role.rule]]\nunits = 3\nfunctions = 8\n",
        "t.toml",
    )
    .unwrap();
    let warned: Vec<(usize, Level)> = lint(&policy)
        .into_iter()
        .filter(|f| f.code == "disruptive-diagnostics")
        .map(|f| (f.line, f.level))
        .collect();
    assert_eq!(warned, [(9, Level::Warning), (14, Level::Warning)]);
}
