use std::path::PathBuf;

use rampart_inspect::{Inspector, Options, Report};

pub(crate) fn pcap(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../testdata/pcaps")
        .join(name)
}

pub(crate) const ALL: [&str; 12] = [
    "digitalbond_modbus_test_data_part1.pcap",
    "digitalbond_modbus_test_data_part2.pcap",
    "iti_modbus_test.pcap",
    "iti_modicon_test_umas_fc90.pcap",
    "suricata-verify_modbus.pcap",
    "zeek_4SICS-GeekLounge-151022-min.pcap",
    "zeek_fuzz-1011.pcap",
    "zeek_fuzz-72.pcap",
    "zeek_modbus-and-non-modbus-p502.pcap",
    "zeek_modbus-eit.pcap",
    "zeek_modbusBig.pcap",
    "zeek_modbusSmall.pcap",
];

pub(crate) fn inspect(name: &str, options: Options) -> Report {
    let mut inspector = Inspector::new(options, None);
    inspector.inspect_file(&pcap(name), |_| {}).unwrap();
    inspector.finish().0
}
