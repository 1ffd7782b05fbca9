use std::time::Duration;

use rampart_modbus::{
    AddressRange, ExceptionCode, Request, RequestPdu, ResponsePdu, decode_response,
};

use super::*;
use crate::server::respond;

/// Serves one request against `tank` and returns the response PDU's bytes (after MBAP).
fn serve(tank: &mut Tank, pdu: RequestPdu<'_>) -> Vec<u8> {
    let mut out = Vec::new();
    respond(tank, &Request::new(7, SIM_UNIT, pdu), &mut out);
    let response = decode_response(&out).unwrap();
    assert_eq!(response.transaction_id(), 7);
    out
}

fn exception_of(bytes: &[u8]) -> Option<ExceptionCode> {
    match decode_response(bytes).unwrap().pdu() {
        ResponsePdu::Exception { code, .. } => Some(*code),
        _ => None,
    }
}

#[test]
fn auto_mode_brings_the_level_to_the_setpoint() {
    let mut tank = Tank::new();
    assert_eq!(tank.level_permille(), 400);
    for _ in 0..600 {
        tank.tick(Duration::from_secs(1));
    }
    let level = i32::from(tank.level_permille());
    assert!((level - 500).abs() <= 20, "level {level} near setpoint 500");
    assert!(
        tank.input_registers()[1] > 0,
        "inflow while holding the level"
    );
}

#[test]
fn manual_mode_with_the_inflow_closed_drains_the_tank_and_raises_the_low_alarm() {
    let mut tank = Tank::new();
    tank.write_registers(HR_MODE, &[0]).unwrap();
    tank.write_registers(HR_OUTFLOW_VALVE, &[1000]).unwrap();
    for _ in 0..600 {
        tank.tick(Duration::from_secs(1));
    }
    assert!(tank.level_permille() < 100);
    let inputs = tank.discrete_inputs();
    assert!(inputs[1], "low level alarm");
    assert!(inputs[7], "not acknowledged");
    assert!(!inputs[5], "manual mode");
    tank.write_coils(3, &[true]).unwrap();
    tank.tick(Duration::from_millis(100));
    assert!(!tank.discrete_inputs()[7], "acknowledged");
    assert!(!tank.coils()[3], "the acknowledge coil resets itself");
    assert_eq!(tank.input_registers()[7], 1);
}

#[test]
fn values_out_of_range_and_addresses_past_the_map_are_refused() {
    let mut tank = Tank::new();
    assert_eq!(
        tank.write_registers(HR_MODE, &[2]),
        Err(ExceptionCode::ILLEGAL_DATA_VALUE)
    );
    assert_eq!(
        tank.write_registers(HR_LEVEL_SETPOINT, &[1001]),
        Err(ExceptionCode::ILLEGAL_DATA_VALUE)
    );
    assert_eq!(
        tank.write_registers(19, &[1, 2]),
        Err(ExceptionCode::ILLEGAL_DATA_ADDRESS)
    );
    let bytes = serve(
        &mut tank,
        RequestPdu::ReadHoldingRegisters(AddressRange::new(15, 10).unwrap()),
    );
    assert_eq!(
        exception_of(&bytes),
        Some(ExceptionCode::ILLEGAL_DATA_ADDRESS)
    );
    let bytes = serve(&mut tank, RequestPdu::ReportServerId);
    assert_eq!(exception_of(&bytes), Some(ExceptionCode::ILLEGAL_FUNCTION));
}

#[test]
fn reads_and_writes_go_through_the_modbus_functions() {
    let mut tank = Tank::new();
    let bytes = serve(
        &mut tank,
        RequestPdu::WriteSingleRegister {
            address: HR_LEVEL_SETPOINT,
            value: 700,
        },
    );
    assert_eq!(exception_of(&bytes), None);
    let bytes = serve(
        &mut tank,
        RequestPdu::ReadHoldingRegisters(AddressRange::new(0, 4).unwrap()),
    );
    match decode_response(&bytes).unwrap().pdu() {
        ResponsePdu::ReadHoldingRegisters(registers) => {
            assert_eq!(registers.iter().collect::<Vec<_>>(), [700, 900, 100, 1]);
        }
        other => panic!("{other:?}"),
    }
    let bytes = serve(
        &mut tank,
        RequestPdu::ReadDiscreteInputs(AddressRange::new(0, 16).unwrap()),
    );
    match decode_response(&bytes).unwrap().pdu() {
        ResponsePdu::ReadDiscreteInputs(bits) => {
            assert_eq!(bits.as_bytes().len(), 2);
            assert_eq!(bits.get(5), Some(true), "auto mode");
        }
        other => panic!("{other:?}"),
    }
    let bytes = serve(
        &mut tank,
        RequestPdu::MaskWriteRegister {
            address: 8,
            and_mask: 0x00FF,
            or_mask: 0x1200,
        },
    );
    assert_eq!(exception_of(&bytes), None);
    assert_eq!(tank.holding_registers()[8], 0x1200);
}
