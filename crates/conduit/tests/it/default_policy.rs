//! The default policy of `rampart up`, role by role (issue: "The default policy").

use rampart_modbus::{Bits, FunctionCode, ReadDeviceIdCode, Registers, RequestPdu};

use crate::util::{check, default_policy, range};

const REGS: [u8; 4] = [0, 1, 0, 2];

fn write_regs(start: u16) -> RequestPdu<'static> {
    RequestPdu::WriteMultipleRegisters {
        range: range(start, 2),
        values: Registers::new(&REGS).unwrap(),
    }
}

#[test]
fn viewer_reads_everything_and_writes_nothing() {
    let p = default_policy();
    let viewer = Some("viewer");
    assert_eq!(
        check(
            &p,
            viewer,
            1,
            RequestPdu::ReadHoldingRegisters(range(0, 125))
        ),
        None
    );
    assert_eq!(
        check(
            &p,
            viewer,
            1,
            RequestPdu::ReadInputRegisters(range(65_000, 100))
        ),
        None
    );
    assert_eq!(
        check(&p, viewer, 1, RequestPdu::ReadCoils(range(0, 2000))),
        None
    );
    assert_eq!(
        check(&p, viewer, 1, RequestPdu::ReadDiscreteInputs(range(7, 1))),
        None
    );
    assert_eq!(
        check(
            &p,
            viewer,
            1,
            RequestPdu::WriteSingleRegister {
                address: 0,
                value: 1
            }
        )
        .as_deref(),
        Some("role 'viewer' may not use write single register (FC 6) on unit 1")
    );
    assert_eq!(
        check(&p, viewer, 2, RequestPdu::ReadHoldingRegisters(range(0, 1))).as_deref(),
        Some("role 'viewer' may not address unit 2")
    );
}

#[test]
fn operator_writes_setpoints_and_valves_only() {
    let p = default_policy();
    let op = Some("operator");
    assert_eq!(
        check(
            &p,
            op,
            1,
            RequestPdu::WriteSingleRegister {
                address: 19,
                value: 5
            }
        ),
        None
    );
    assert_eq!(check(&p, op, 1, write_regs(18)), None);
    assert_eq!(
        check(
            &p,
            op,
            1,
            RequestPdu::WriteSingleCoil {
                address: 15,
                value: true
            }
        ),
        None
    );
    assert_eq!(
        check(&p, op, 1, write_regs(19)).as_deref(),
        Some("role 'operator' may not write holding registers 19-20 (allowed: 0-19)")
    );
    assert_eq!(
        check(
            &p,
            op,
            1,
            RequestPdu::WriteSingleCoil {
                address: 16,
                value: false
            }
        )
        .as_deref(),
        Some("role 'operator' may not write coils 16-16 (allowed: 0-15)")
    );
    let coils = [0xFFu8, 0x01];
    let many = RequestPdu::WriteMultipleCoils {
        range: range(8, 9),
        values: Bits::new(&coils, 9).unwrap(),
    };
    assert!(
        check(&p, op, 1, many).is_some(),
        "coils 8-16 cross the allowed 0-15"
    );
    assert!(
        check(
            &p,
            op,
            1,
            RequestPdu::Diagnostics {
                sub_function: 0,
                data: &[0, 0]
            }
        )
        .is_some()
    );
}

#[test]
fn engineer_uses_every_public_function_but_no_vendor_one() {
    let p = default_policy();
    let eng = Some("engineer");
    assert_eq!(
        check(
            &p,
            eng,
            1,
            RequestPdu::Diagnostics {
                sub_function: 0,
                data: &[0x12, 0x34]
            }
        ),
        None
    );
    assert_eq!(check(&p, eng, 1, RequestPdu::ReportServerId), None);
    assert_eq!(
        check(
            &p,
            eng,
            1,
            RequestPdu::ReadDeviceIdentification {
                code: ReadDeviceIdCode::Basic,
                object_id: 0
            }
        ),
        None
    );
    assert_eq!(check(&p, eng, 1, write_regs(60_000)), None);
    let umas = RequestPdu::Other {
        function: FunctionCode::new(90).unwrap(),
        data: &[0, 2],
    };
    assert_eq!(
        check(&p, eng, 1, umas).as_deref(),
        Some("role 'engineer' may not use vendor function FC 90 (Schneider UMAS) on unit 1")
    );
}

#[test]
fn null_and_unknown_roles_are_denied_everything() {
    let p = default_policy();
    assert_eq!(
        check(&p, None, 1, RequestPdu::ReadHoldingRegisters(range(0, 1))).as_deref(),
        Some("the NULL role (a certificate without a role) may not address unit 1")
    );
    assert_eq!(
        check(
            &p,
            Some("superuser"),
            1,
            RequestPdu::ReadHoldingRegisters(range(0, 1))
        )
        .as_deref(),
        Some("a role the policy does not name is denied everything")
    );
    // Role names are matched exactly: no case folding, no prefix matching.
    assert!(
        check(
            &p,
            Some("Viewer"),
            1,
            RequestPdu::ReadHoldingRegisters(range(0, 1))
        )
        .is_some()
    );
    assert!(
        check(
            &p,
            Some("viewer "),
            1,
            RequestPdu::ReadHoldingRegisters(range(0, 1))
        )
        .is_some()
    );
}

#[test]
fn the_default_policy_lints_clean() {
    let policy =
        rampart_conduit::Policy::parse(rampart_conduit::DEFAULT_POLICY, "default.toml").unwrap();
    let findings = rampart_conduit::lint(&policy);
    // The engineer may write everything by design; nothing else is flagged.
    let codes: Vec<&str> = findings.iter().map(|f| f.code).collect();
    assert_eq!(codes, ["write-everything"], "{findings:#?}");
}
