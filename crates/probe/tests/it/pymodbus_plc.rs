//! A plain pymodbus server on loopback — an unauthenticated PLC made by someone else: clear
//! text, data for anyone, a write accepted from anyone (which the probe leaves as it found
//! it), and malformed frames answered by silence or by an exception that lost its function
//! code. The legacy-PLC profile claiming SL 1 loses it on this evidence.

use std::process::{Command, Stdio};

use rampart_assess::live::ReportComponent;
use rampart_assess::{Options, Profile};
use rampart_catalog::{Catalog, Fr};
use rampart_probe::Outcome;

use crate::util::{Peer, expect, free_port, have, probe, result, wait_listening};

/// A pymodbus 3 TCP server: unit 1, every table 100 registers of 17 from address 0.
const SERVER: &str = r#"
import sys
from pymodbus.server import StartTcpServer
from pymodbus.datastore import ModbusDeviceContext, ModbusSequentialDataBlock, ModbusServerContext
# pymodbus 3 data blocks count from 1 for protocol address 0.
block = lambda: ModbusSequentialDataBlock(1, [17] * 100)
device = ModbusDeviceContext(di=block(), co=block(), hr=block(), ir=block())
StartTcpServer(context=ModbusServerContext(devices={1: device}, single=False),
               address=("127.0.0.1", int(sys.argv[1])))
"#;

#[tokio::test(flavor = "multi_thread")]
#[ignore = "needs pymodbus: run scripts/test"]
async fn a_pymodbus_plc_serves_anyone_and_loses_the_sl_its_profile_claims() {
    assert!(have("python3"), "python3 is needed");
    let port = free_port();
    let _server = Peer(
        Command::new("python3")
            .args(["-c", SERVER, &port.to_string()])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    wait_listening(([127, 0, 0, 1], port).into()).await;
    let target = format!("modbus://127.0.0.1:{port}");
    let evidence = probe(std::slice::from_ref(&target), &[], true).await;
    expect(&evidence, "modbus-plaintext", &target, Outcome::NotMet);
    let reads = expect(
        &evidence,
        "modbus-unauthenticated-access",
        &target,
        Outcome::NotMet,
    );
    for fc in ["FC 1", "FC 2", "FC 3", "FC 4", "FC 43/14"] {
        assert!(reads.contains(fc), "{reads}");
    }
    // A stock server answers diagnostics and its id to anyone (CR 7.7).
    let functions = expect(&evidence, "modbus-function-codes", &target, Outcome::NotMet);
    assert!(functions.contains("FC 8/0"), "{functions}");
    // Silence for a bad protocol id, and an exception without its function code for a
    // quantity over the limit: neither is the deterministic answer the check asks for.
    let malformed = expect(
        &evidence,
        "modbus-malformed-frames",
        &target,
        Outcome::NotMet,
    );
    assert!(malformed.contains("protocol id 1: hung"), "{malformed}");
    let write = expect(
        &evidence,
        "modbus-unauthenticated-write",
        &target,
        Outcome::NotMet,
    );
    assert!(write.contains("the value 17 it held"), "{write}");
    let details = &result(&evidence, "modbus-unauthenticated-write", &target).details;
    assert_eq!(details["restored"], "unchanged", "{details:?}");

    // The profile claims SL 1 everywhere; the evidence takes FR2 (anyone may read and
    // write), FR3 and FR4 (clear text) and FR7 (malformed frames hang it) to 0.
    let catalog = Catalog::builtin();
    let path =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/legacy-plc.toml");
    let profile = Profile::from_file(&path, catalog).unwrap();
    let component = profile.component();
    let live = evidence.live_evaluation(
        "pymodbus.json",
        ReportComponent {
            vendor: component.vendor.clone(),
            product: component.product.clone(),
            version: component.version.clone(),
            component_type: component.component_type,
        },
    );
    let measured = rampart_assess::assess(
        catalog,
        &profile,
        &Options {
            sl_t: None,
            waivers: None,
            live: Some(&live),
            now: jiff::Timestamp::from_second(1_800_000_000).unwrap(),
        },
    );
    assert!(!measured.passed);
    for fr in [Fr::Uc, Fr::Si, Fr::Dc, Fr::Ra] {
        assert_eq!(measured.sl_c.get(fr), 0, "{fr:?}: {:?}", measured.sl_c);
    }
}
