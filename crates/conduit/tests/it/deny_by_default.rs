//! Deny by default, rule by rule: each dimension of a rule restricts on its own.

use rampart_modbus::{FunctionCode, Registers, RequestPdu};

use crate::util::{check, compile, range};

const POLICY: &str = r#"
version = 1

[[role]]
name = "r"

[[role.rule]]
units = ["10-12"]
functions = [3, 23, "8/0", "43/14"]
read = ["100-199", "300"]
write = ["500-509"]
max_quantity = 50
"#;

#[test]
fn every_dimension_of_a_rule_restricts() {
    let p = compile(POLICY);
    let r = Some("r");
    assert_eq!(
        check(&p, r, 11, RequestPdu::ReadHoldingRegisters(range(100, 50))),
        None
    );
    assert_eq!(
        check(&p, r, 12, RequestPdu::ReadHoldingRegisters(range(300, 1))),
        None
    );
    let cases: Vec<(u8, RequestPdu<'static>, &str)> = vec![
        (
            9,
            RequestPdu::ReadHoldingRegisters(range(100, 1)),
            "may not address unit 9",
        ),
        (
            10,
            RequestPdu::ReadInputRegisters(range(100, 1)),
            "may not use read input registers (FC 4)",
        ),
        (
            10,
            RequestPdu::ReadHoldingRegisters(range(99, 2)),
            "may not read holding registers 99-100 (allowed: 100-199, 300)",
        ),
        (
            10,
            RequestPdu::ReadHoldingRegisters(range(199, 2)),
            "may not read holding registers 199-200",
        ),
        (
            10,
            RequestPdu::ReadHoldingRegisters(range(100, 51)),
            "at most 50 coils or registers per request, not 51",
        ),
        (
            10,
            RequestPdu::Diagnostics {
                sub_function: 4,
                data: &[0, 0],
            },
            "may not use sub-function 4 of diagnostics (FC 8)",
        ),
        (
            10,
            RequestPdu::Other {
                function: FunctionCode::new(65).unwrap(),
                data: &[],
            },
            "user-defined function FC 65",
        ),
    ];
    for (unit, pdu, expected) in cases {
        let denial = check(&p, r, unit, pdu).unwrap_or_else(|| panic!("{expected}: allowed"));
        assert!(denial.contains(expected), "{denial:?} lacks {expected:?}");
    }
    assert_eq!(
        check(
            &p,
            r,
            10,
            RequestPdu::Diagnostics {
                sub_function: 0,
                data: &[1, 2]
            }
        ),
        None
    );
}

#[test]
fn read_write_multiple_needs_both_ranges_from_one_rule() {
    let regs = [0u8, 1];
    let rw = |read, write| RequestPdu::ReadWriteMultipleRegisters {
        read: range(read, 1),
        write: range(write, 1),
        values: Registers::new(&regs).unwrap(),
    };
    let p = compile(POLICY);
    assert_eq!(check(&p, Some("r"), 10, rw(100, 500)), None);
    assert!(
        check(&p, Some("r"), 10, rw(100, 510))
            .unwrap()
            .contains("may not write holding registers 510-510")
    );
    assert!(
        check(&p, Some("r"), 10, rw(99, 500))
            .unwrap()
            .contains("may not read")
    );

    // Two rules, one allowing the read and the other the write, do not add up for FC 23.
    let split = compile(
        "version = 1\n[[role]]\nname = \"s\"\n\
         [[role.rule]]\nunits = 1\nfunctions = 23\nread = \"0-9\"\n\
         [[role.rule]]\nunits = 1\nfunctions = 23\nwrite = \"0-9\"\n",
    );
    let denial = check(
        &split,
        Some("s"),
        1,
        RequestPdu::ReadWriteMultipleRegisters {
            read: range(0, 1),
            write: range(0, 1),
            values: Registers::new(&regs).unwrap(),
        },
    );
    assert!(
        denial.is_some(),
        "FC 23 needs one rule that allows both its read and its write"
    );
}

#[test]
fn rules_that_differ_only_in_ranges_combine_for_single_range_requests() {
    let p = compile(
        "version = 1\n[[role]]\nname = \"m\"\n\
         [[role.rule]]\nunits = 1\nfunctions = 3\nread = \"0-9\"\n\
         [[role.rule]]\nunits = 1\nfunctions = 3\nread = \"10-19\"\n",
    );
    assert_eq!(
        check(
            &p,
            Some("m"),
            1,
            RequestPdu::ReadHoldingRegisters(range(5, 10))
        ),
        None
    );
    assert!(
        check(
            &p,
            Some("m"),
            1,
            RequestPdu::ReadHoldingRegisters(range(5, 20))
        )
        .is_some()
    );
}

#[test]
fn a_policy_without_roles_denies_everything() {
    let p = compile("version = 1");
    for role in [None, Some("viewer")] {
        assert!(check(&p, role, 1, RequestPdu::ReadCoils(range(0, 1))).is_some());
    }
}
