//! Function codes as a policy names them: numbers, names, presets, and sub-functions.

use std::fmt;

use rampart_modbus::diagnostics;

/// Every public function code of the Modbus application protocol, with its policy name.
pub const PUBLIC_FUNCTIONS: [(u8, &str); 19] = [
    (1, "read-coils"),
    (2, "read-discrete-inputs"),
    (3, "read-holding-registers"),
    (4, "read-input-registers"),
    (5, "write-single-coil"),
    (6, "write-single-register"),
    (7, "read-exception-status"),
    (8, "diagnostics"),
    (11, "get-comm-event-counter"),
    (12, "get-comm-event-log"),
    (15, "write-multiple-coils"),
    (16, "write-multiple-registers"),
    (17, "report-server-id"),
    (20, "read-file-record"),
    (21, "write-file-record"),
    (22, "mask-write-register"),
    (23, "read-write-multiple-registers"),
    (24, "read-fifo-queue"),
    (43, "encapsulated-interface-transport"),
];

/// Presets of function codes; vendor-specific and user-defined codes are in none of them.
///
/// FC 8 (diagnostics) in a preset stands for the sub-functions of [`PRESET_DIAGNOSTICS`]
/// only: the ones that read counters or echo data. The sub-functions that restart the
/// device's communications, silence it or change or clear its state are allowed only where a
/// rule names them (`"8/1"`) or names FC 8 itself (`8`, `"diagnostics"`).
pub const PRESETS: [(&str, &[u8]); 4] = [
    // Reads of the four data tables.
    ("read-only", &[1, 2, 3, 4]),
    // Plus the writes to coils and holding registers.
    ("read-write", &[1, 2, 3, 4, 5, 6, 15, 16, 22, 23]),
    // Plus file records and the FIFO queue, which engineering tools use to move programs
    // and configuration.
    (
        "programming",
        &[1, 2, 3, 4, 5, 6, 15, 16, 20, 21, 22, 23, 24],
    ),
    // Every public code, diagnostics and identification included.
    (
        "all",
        &[
            1, 2, 3, 4, 5, 6, 7, 8, 11, 12, 15, 16, 17, 20, 21, 22, 23, 24, 43,
        ],
    ),
];

/// The FC 8 sub-functions a preset allows: return query data (0), return diagnostic
/// register (2) and the counters (11 to 18). Each reads or echoes and changes nothing.
///
/// Left out on purpose: restart communications option (1) and force listen only mode (4),
/// the classic Modbus denial-of-service commands ([`DISRUPTIVE_DIAGNOSTICS`]); change ASCII
/// input delimiter (3), which changes the serial configuration; clear counters and
/// diagnostic register (10) and clear overrun counter and flag (20), which erase the evidence
/// of an attack; and every reserved sub-function.
pub const PRESET_DIAGNOSTICS: [u16; 10] = [
    diagnostics::RETURN_QUERY_DATA,
    diagnostics::RETURN_DIAGNOSTIC_REGISTER,
    0x0B,
    0x0C,
    0x0D,
    0x0E,
    0x0F,
    0x10,
    0x11,
    0x12,
];

/// FC 8 sub-functions that take a device off the bus: restart communications option (1) and
/// force listen only mode (4). No preset holds them; `lint` warns about every rule that
/// allows them.
pub const DISRUPTIVE_DIAGNOSTICS: [u16; 2] = [
    diagnostics::RESTART_COMMUNICATIONS,
    diagnostics::FORCE_LISTEN_ONLY_MODE,
];

/// The policy name of a public function code.
pub fn function_name(code: u8) -> Option<&'static str> {
    PUBLIC_FUNCTIONS
        .iter()
        .find(|(c, _)| *c == code)
        .map(|(_, name)| *name)
}

/// Whether `code` is a function code of the public specification.
pub fn is_public(code: u8) -> bool {
    function_name(code).is_some()
}

/// One entry of a rule's `functions`: a code, optionally narrowed to one sub-function
/// (FC 8 diagnostics sub-function, FC 43 MEI type).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct FunctionKey {
    /// The function code, 1..=127.
    pub code: u8,
    /// The sub-function, for FC 8 and FC 43 only; `None` allows every sub-function.
    pub sub: Option<u16>,
}

impl fmt::Display for FunctionKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.sub {
            Some(sub) => write!(f, "{}/{sub}", self.code),
            None => write!(f, "{}", self.code),
        }
    }
}

/// Describes a function code for people: `write single register (FC 6)`.
pub fn describe(code: u8) -> String {
    match function_name(code) {
        Some(name) => format!("{} (FC {code})", name.replace('-', " ")),
        None if matches!(code, 65..=72 | 100..=110) => format!("user-defined function FC {code}"),
        None if code == 90 => "vendor function FC 90 (Schneider UMAS)".to_owned(),
        None => format!("non-public function FC {code}"),
    }
}

/// The keys a preset's codes stand for: each code with every sub-function, except FC 8,
/// which stands for the sub-functions of [`PRESET_DIAGNOSTICS`] only.
pub fn preset_keys(codes: &[u8]) -> Vec<FunctionKey> {
    let mut keys = Vec::with_capacity(codes.len() + PRESET_DIAGNOSTICS.len());
    for &code in codes {
        if code == 8 {
            keys.extend(PRESET_DIAGNOSTICS.iter().map(|&sub| FunctionKey {
                code,
                sub: Some(sub),
            }));
        } else {
            keys.push(FunctionKey { code, sub: None });
        }
    }
    keys
}

/// Parses one `functions` entry: a number (`6`), a name (`write-single-register`), a
/// sub-function (`43/14`, `8/0`) or a preset (`read-only`, `read-write`, `programming`,
/// `all`; see [`preset_keys`] for what FC 8 in a preset allows).
///
/// # Errors
/// A message naming the entry and what is valid.
pub fn parse_entry(text: &str) -> Result<Vec<FunctionKey>, String> {
    let text = text.trim();
    if let Some((_, codes)) = PRESETS.iter().find(|(name, _)| *name == text) {
        return Ok(preset_keys(codes));
    }
    if let Some((code, _)) = PUBLIC_FUNCTIONS.iter().find(|(_, name)| *name == text) {
        return Ok(vec![FunctionKey {
            code: *code,
            sub: None,
        }]);
    }
    let (code_text, sub_text) = match text.split_once('/') {
        Some((c, s)) => (c, Some(s)),
        None => (text, None),
    };
    let code = code_text
        .parse::<u8>()
        .ok()
        .filter(|c| (1..=127).contains(c))
        .ok_or_else(|| {
            format!(
                "unknown function '{text}': use a code 1..127, a name such as \
             'read-holding-registers', 'CODE/SUB' for FC 8 and 43, or a preset: {}",
                PRESETS.map(|(name, _)| name).join(", ")
            )
        })?;
    let sub = match sub_text {
        None => None,
        Some(s) => {
            let sub = s
                .parse::<u16>()
                .map_err(|_| format!("function '{text}': sub-function '{s}' is not a number"))?;
            match code {
                8 => Some(sub),
                43 if sub == 13 || sub == 14 => Some(sub),
                43 => {
                    return Err(format!(
                        "function '{text}': FC 43 has MEI types 13 (CANopen) and 14 (device identification)"
                    ));
                }
                _ => {
                    return Err(format!(
                        "function '{text}': only FC 8 (diagnostics) and FC 43 have sub-functions"
                    ));
                }
            }
        }
    };
    Ok(vec![FunctionKey { code, sub }])
}

/// Whether the function code reads one of the four data tables, and so needs `read` ranges.
pub fn reads_table(code: u8) -> bool {
    matches!(code, 1..=4 | 23 | 24)
}

/// Whether the function code writes one of the four data tables, and so needs `write`
/// ranges.
pub fn writes_table(code: u8) -> bool {
    matches!(code, 5 | 6 | 15 | 16 | 22 | 23)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_parse_as_numbers_names_subs_and_presets() {
        let key = |code, sub| FunctionKey { code, sub };
        assert_eq!(parse_entry("6").unwrap(), [key(6, None)]);
        assert_eq!(
            parse_entry("write-single-register").unwrap(),
            [key(6, None)]
        );
        assert_eq!(parse_entry("43/14").unwrap(), [key(43, Some(14))]);
        assert_eq!(parse_entry("8/0").unwrap(), [key(8, Some(0))]);
        assert_eq!(parse_entry("90").unwrap(), [key(90, None)]);
        assert_eq!(parse_entry("read-only").unwrap().len(), 4);
        assert!(
            parse_entry("all")
                .unwrap()
                .iter()
                .all(|k| is_public(k.code))
        );
    }

    #[test]
    fn fc8_in_a_preset_holds_only_the_harmless_sub_functions() {
        for (preset, _) in PRESETS {
            let keys = parse_entry(preset).unwrap();
            assert!(
                keys.iter().all(|k| k.code != 8 || k.sub.is_some()),
                "{preset}: FC 8 with every sub-function"
            );
            for sub in DISRUPTIVE_DIAGNOSTICS
                .into_iter()
                .chain([3, 10, 20, 19, 21])
            {
                assert!(
                    !keys.contains(&FunctionKey {
                        code: 8,
                        sub: Some(sub)
                    }),
                    "{preset} holds 8/{sub}"
                );
            }
        }
        let all = parse_entry("all").unwrap();
        let subs: Vec<u16> = all
            .iter()
            .filter(|k| k.code == 8)
            .filter_map(|k| k.sub)
            .collect();
        assert_eq!(subs, PRESET_DIAGNOSTICS);
        // Named explicitly, they are allowed.
        let key = |code, sub| FunctionKey { code, sub };
        assert_eq!(parse_entry("8/1").unwrap(), [key(8, Some(1))]);
        assert_eq!(parse_entry("8/4").unwrap(), [key(8, Some(4))]);
        assert_eq!(parse_entry("diagnostics").unwrap(), [key(8, None)]);
    }

    #[test]
    fn bad_entries_say_what_is_valid() {
        for (text, message) in [
            ("0", "unknown function '0'"),
            ("128", "unknown function '128'"),
            (
                "read-everything",
                "preset: read-only, read-write, programming, all",
            ),
            ("3/1", "only FC 8 (diagnostics) and FC 43"),
            ("43/15", "MEI types 13"),
            ("8/x", "is not a number"),
        ] {
            let err = parse_entry(text).unwrap_err();
            assert!(err.contains(message), "{text}: {err}");
        }
    }

    #[test]
    fn descriptions_name_the_code() {
        assert_eq!(describe(6), "write single register (FC 6)");
        assert_eq!(describe(90), "vendor function FC 90 (Schneider UMAS)");
        assert_eq!(describe(66), "user-defined function FC 66");
    }
}
